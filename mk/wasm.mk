# mk/wasm.mk: the WebAssembly build (emcc 3.1.6), included by the Makefile. docs/wasm.md explains it.
#   make wasm        build/wasm/trit-simd.wasm (SIMD128 kernels) + build/wasm/trit-scalar.wasm (reference)
#   make test-wasm   kernel-vs-reference test under node, wasm-vs-native equality, conformance on wasm
# Standalone .wasm files (no emscripten JS glue), loaded by js/wasm.mjs.
EMCC ?= emcc
NODE ?= node
# emcc runs node while linking; Debian's emscripten needs its modules on NODE_PATH
WASM_ENV := NODE_PATH=/usr/share/nodejs
WASM_SRC := $(CORE_SRC) src/wasm_api.c
WASM_OPT_SRC := src/kernels_simd128.c
WASM_DIR := build/wasm

# The JS side calls exactly these (trit.h + the helpers of src/wasm_api.c + malloc/free).
WASM_EXPORTS := trit_last_error trit_model_load trit_model_free trit_model_get_info trit_model_n_vocab \
  trit_model_n_tensors trit_model_tensor trit_model_meta trit_tokenize trit_token_to_piece trit_token_is_eog \
  trit_token_id trit_detok_init trit_detok_push trit_detok_flush trit_ctx_default_params trit_ctx_init \
  trit_ctx_free trit_ctx_decode trit_ctx_pos trit_ctx_n_ctx trit_ctx_truncate trit_sampler_default_params \
  trit_sampler_init trit_sampler_free trit_sampler_probs trit_sampler_sample trit_sampler_draw \
  trit_sampler_uniform trit_sampler_accept trit_sampler_reset \
  trit_wasm_model_load trit_wasm_ctx_init trit_wasm_sampler_init trit_wasm_model_info trit_wasm_detok_new \
  trit_wasm_nll trit_wasm_exp trit_wasm_opt_kernels trit_wasm_set_force_ref malloc realloc free \
  trit_wasm_tensor_view trit_wasm_rope_freq_scale
WASM_COMMA := ,
WASM_EXPORT_FLAG := -sEXPORTED_FUNCTIONS=$(subst $() ,$(WASM_COMMA),$(strip $(patsubst %,_%,$(WASM_EXPORTS))))

WASM_CFLAGS := $(CFLAGS_COMMON) -O3
WASM_LDFLAGS := --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB \
  -sINITIAL_MEMORY=16MB
WASM_SIMD := -msimd128 -DTRIT_OPT_KERNELS

.PHONY: wasm test-wasm test-wasm-kernels

wasm: $(WASM_DIR)/trit-simd.wasm $(WASM_DIR)/trit-scalar.wasm   ## wasm build: build/wasm/trit-{simd,scalar}.wasm (emcc)

$(WASM_DIR)/trit-simd.wasm: $(WASM_SRC) $(WASM_OPT_SRC) $(CORE_HDR) mk/wasm.mk
	@mkdir -p $(WASM_DIR)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) $(WASM_SIMD) $(WASM_LDFLAGS) $(WASM_EXPORT_FLAG) -o $@ $(WASM_SRC) $(WASM_OPT_SRC)

$(WASM_DIR)/trit-scalar.wasm: $(WASM_SRC) $(CORE_HDR) mk/wasm.mk
	@mkdir -p $(WASM_DIR)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) $(WASM_LDFLAGS) $(WASM_EXPORT_FLAG) -o $@ $(WASM_SRC)

# kernel test: a standalone wasm program (main) run by node through js/wasm.mjs's WASI shim
$(WASM_DIR)/test_kernels_wasm.wasm: tests/test_kernels_wasm.c $(WASM_SRC) $(WASM_OPT_SRC) $(CORE_HDR) tests/testlib.h mk/wasm.mk
	@mkdir -p $(WASM_DIR)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) $(WASM_SIMD) -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB \
	  -o $@ $(CORE_SRC) $(WASM_OPT_SRC) $<

test-wasm-kernels: $(WASM_DIR)/test_kernels_wasm.wasm   ## SIMD128 kernels == scalar _ref on random inputs (node)
	$(NODE) tests/wasm/run_wasi.mjs $<

test-wasm: wasm build/trit test-wasm-kernels         ## wasm tests: kernels, wasm == native, conformance under node
	$(PY) -m pytest -q tests/test_wasm.py
	TRIT_BIN="$(NODE) $(abspath js/cli.js)" $(PY) -m pytest -q tests/test_conformance.py tests/test_models.py
