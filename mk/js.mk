# mk/js.mk: the npm package (js/): its tests and the speculative-decoding benchmark. docs/js.md
# explains the package. Included by the Makefile.
#   make test-js      node:test suites in tests/js (API, workers, speculative decoding, loader, router)
#   make bench-spec   speculative vs target-only decoding -> bench/speculative.json (not in make test;
#                     BENCH_SPEC_ARGS="--pairs embedded --tokens 64" picks pairs and lengths)
NODE ?= node
JS_TESTS := $(sort $(wildcard tests/js/*.test.mjs))

.PHONY: test-js bench-spec

TESTS += test-js

test-js: wasm                                 ## npm package tests (node:test, ~3 min): API, workers, speculative, loader, router
	@test -d node_modules/openai -a -d node_modules/playwright-core || { echo "test-js needs the dev dependencies: run npm ci"; exit 1; }
	$(NODE) --test $(JS_TESTS)

SPEC_MODELS := build/bench-spec/target-2b.tq2_0.gguf build/bench-spec/draft-small.tq2_0.gguf

$(SPEC_MODELS) &: bench/spec_models.py tools/gguf_writer.py
	$(PY) bench/spec_models.py build/bench-spec

bench-spec: wasm $(SPEC_MODELS)               ## speculative vs target-only decoding: tok/s, speedup, acceptance -> bench/speculative.json
	$(NODE) bench/speculative.mjs $(BENCH_SPEC_ARGS)
