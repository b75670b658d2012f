# mk/webgpu.mk: the WebGPU backend (js/webgpu/, docs/webgpu.md), included by the Makefile.
#   make test-webgpu    WebGPU vs wasm conformance: full set in headless chromium (SwiftShader), quick
#                       set in Node on the npm `webgpu` package (Dawn)
#   make bench-webgpu   decode/prefill tok/s per adapter -> bench/webgpu-results.json
# Dawn needs a Vulkan driver; without a GPU we point it at the SwiftShader that chromium ships.
WEBGPU_SWIFTSHADER := LD_LIBRARY_PATH=/usr/lib/chromium VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
WEBGPU_MODELS := build/webgpu/.models

.PHONY: test-webgpu bench-webgpu

$(WEBGPU_MODELS): tests/webgpu/make_models.py tools/gguf_writer.py
	$(PY) tests/webgpu/make_models.py build/webgpu
	@touch $@

test-webgpu: wasm $(WEBGPU_MODELS)                ## WebGPU backend vs wasm (chromium full, Node quick)
	$(NODE) --test tests/browser/webgpu.test.mjs
	TRIT_WEBGPU_QUICK=1 $(WEBGPU_SWIFTSHADER) $(NODE) --test tests/webgpu/node.test.mjs

bench-webgpu: wasm $(WEBGPU_MODELS) $(NPM_STAMP)               ## WebGPU decode/prefill tok/s (chromium + Node; labelled by adapter)
	$(WEBGPU_SWIFTSHADER) $(NODE) bench/webgpu.mjs $(BENCH_WEBGPU_ARGS)

TESTS += test-webgpu
