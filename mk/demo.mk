# mk/demo.mk: the offline PWA chat demo (web/, docs/demo.md), included by the Makefile.
#   make demo        builds what is missing (wasm, build/web) and serves the demo on http://127.0.0.1:8000
#                    with COOP/COEP (DEMO_PORT=... to change; the next free port if it is taken)
#   make web         only assembles build/web: a self-contained tree any static host can serve
#   make test-demo   the demo in headless chromium (playwright-core): chat, stop, stats, URL/file/corrupt
#                    models, offline reload; screenshots in build/screenshots/ (~1-2 min)
# The model files the demo ships are named in tools/build_web.mjs (EMBEDDED, and FALLBACK from
# ../shared/oracle while models/ lacks the embedded pair).
NODE ?= node
DEMO_PORT ?= 8000
WEB_DIR := build/web
WEB_STAMP := build/.web-stamp
# (wasm.mk, included after this file, builds the wasm files; their paths are spelled out here)
WEB_INPUTS := $(shell find web -type f) tools/build_web.mjs tools/icons.mjs $(wildcard js/*.mjs js/*/*.mjs) \
  $(wildcard models/*.gguf) build/wasm/trit-simd.wasm build/wasm/trit-scalar.wasm build/wasm/trit-simd-mt.wasm

.PHONY: demo web test-demo

TESTS += test-demo

$(WEB_STAMP): $(WEB_INPUTS)
	$(NODE) tools/build_web.mjs --out $(WEB_DIR)
	@touch $@

web: $(WEB_STAMP)                             ## assemble the chat demo into build/web (app, package, wasm, models, service worker)

demo: $(WEB_STAMP)                            ## build and serve the offline chat demo on 127.0.0.1 (COOP/COEP), printing the URL
	@$(NODE) tools/build_web.mjs --describe --out $(WEB_DIR)
	$(NODE) tools/serve.mjs $(WEB_DIR) --port $(DEMO_PORT)

test-demo: wasm                               ## browser tests of the demo (chromium + playwright-core), screenshots in build/screenshots
	$(NODE) --test tests/browser/demo.test.mjs
