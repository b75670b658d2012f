# mk/js.mk: the npm package (js/): its tests and the speculative-decoding benchmark. docs/js.md
# explains the package. Included by the Makefile.
#   make test-js      node:test suites in tests/js (API, workers, speculative decoding, loader, router)
#   make bench-spec   speculative vs target-only decoding -> bench/speculative.json (not in make test)
NODE ?= node
JS_TESTS := $(sort $(wildcard tests/js/*.test.mjs))

.PHONY: test-js bench-spec

TESTS += test-js

test-js: wasm                                 ## npm package tests (node:test, ~3 min): API, workers, speculative, loader, router
	$(NODE) --test $(JS_TESTS)

bench-spec: wasm                              ## speculative vs target-only decoding: tok/s, speedup, acceptance -> bench/speculative.json
	$(NODE) bench/speculative.mjs
