# mk/wasm.mk: the WebAssembly builds (emcc 3.1.6), included by the Makefile. docs/wasm.md explains them.
#   make wasm        build/wasm/trit-{scalar,simd,simd-mt}.wasm (+ trit-relaxed{,-mt}.wasm with clang-19)
#   make test-wasm   kernels == reference, wasm == native, batch identity, threads, conformance on wasm
# Standalone .wasm files (no emscripten JS glue), loaded by js/wasm.mjs, which picks one by engine
# features: relaxed SIMD > SIMD128 > scalar, and the -mt twin when threads are asked for and available.
EMCC ?= emcc
NODE ?= node
# emcc runs node while linking; Debian's emscripten needs its modules on NODE_PATH
WASM_ENV := NODE_PATH=/usr/share/nodejs
WASM_SRC := $(CORE_SRC) src/wasm_api.c src/wasm_bench.c
WASM_OPT_SRC := src/kernels.c src/kernels_simd128.c
WASM_DIR := build/wasm

# The JS side calls exactly these (trit.h + the helpers of src/wasm_api.c + malloc/free).
WASM_EXPORTS := trit_last_error trit_model_load trit_model_free trit_model_get_info trit_model_n_vocab \
  trit_model_n_tensors trit_model_tensor trit_model_meta trit_tokenize trit_token_to_piece trit_token_is_eog \
  trit_token_id trit_detok_init trit_detok_push trit_detok_flush trit_ctx_default_params trit_ctx_init \
  trit_ctx_free trit_ctx_decode trit_ctx_pos trit_ctx_n_ctx trit_ctx_truncate trit_sampler_default_params \
  trit_sampler_init trit_sampler_free trit_sampler_probs trit_sampler_sample trit_sampler_draw \
  trit_sampler_uniform trit_sampler_accept trit_sampler_reset \
  trit_wasm_model_load trit_wasm_ctx_init trit_wasm_sampler_init trit_wasm_model_info trit_wasm_detok_new \
  trit_wasm_nll trit_wasm_exp trit_wasm_opt_kernels trit_wasm_set_force_ref malloc realloc free
# threads and the benchmark's probes (src/wasm_api.c, src/wasm_bench.c)
WASM_EXPORTS += trit_pool_work trit_pool_free trit_pool_n_threads trit_ctx_set_pool trit_wasm_pool_init \
  trit_wasm_threads trit_wasm_stream trit_wasm_weight_bytes
WASM_COMMA := ,
WASM_EXPORT_FLAG := -sEXPORTED_FUNCTIONS=$(subst $() ,$(WASM_COMMA),$(strip $(patsubst %,_%,$(WASM_EXPORTS))))

WASM_CFLAGS := $(CFLAGS_COMMON) -O3
# js/wasm.mjs creates the shared memory of the -mt builds with WASM_INITIAL_PAGES (16 MB) pages
WASM_LDFLAGS := --no-entry -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB \
  -sINITIAL_MEMORY=16MB
WASM_SIMD := -msimd128 -DTRIT_OPT_KERNELS
# threads: atomics + bulk memory, one shared memory imported by every instance (main + workers).
# libc is emscripten's single-threaded one (--no-check-features): only the main instance calls it;
# workers run nothing but the pool loop and the kernels (src/pool.h).
WASM_MT := -matomics -mbulk-memory
WASM_MT_LD := -Wl,--shared-memory,--no-check-features,--import-memory

WASM_BUILDS := $(WASM_DIR)/trit-scalar.wasm $(WASM_DIR)/trit-simd.wasm $(WASM_DIR)/trit-simd-mt.wasm
WASM_DEPS := $(WASM_SRC) $(WASM_OPT_SRC) $(CORE_HDR) src/kernels.h src/pool.h mk/wasm.mk

.PHONY: wasm test-wasm test-wasm-kernels test-wasm-py test-batch

wasm: $(WASM_BUILDS)                          ## wasm builds: build/wasm/trit-{scalar,simd,simd-mt}.wasm (emcc)

$(WASM_DIR)/trit-simd.wasm: $(WASM_DEPS)
	@mkdir -p $(WASM_DIR)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) $(WASM_SIMD) $(WASM_LDFLAGS) $(WASM_EXPORT_FLAG) -o $@ $(WASM_SRC) $(WASM_OPT_SRC)

$(WASM_DIR)/trit-simd-mt.wasm: $(WASM_DEPS)
	@mkdir -p $(WASM_DIR)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) $(WASM_SIMD) $(WASM_MT) $(WASM_LDFLAGS) $(WASM_MT_LD) $(WASM_EXPORT_FLAG) \
	  -o $@ $(WASM_SRC) $(WASM_OPT_SRC)

$(WASM_DIR)/trit-scalar.wasm: $(WASM_DEPS)
	@mkdir -p $(WASM_DIR)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) $(WASM_LDFLAGS) $(WASM_EXPORT_FLAG) -o $@ $(WASM_SRC)

# kernel test: a standalone wasm program (main) run by node through js/wasm.mjs's WASI shim
$(WASM_DIR)/test_kernels_wasm.wasm: tests/test_kernels_wasm.c $(WASM_DEPS) tests/testlib.h
	@mkdir -p $(WASM_DIR)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) $(WASM_SIMD) -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB \
	  -o $@ $(CORE_SRC) $(WASM_OPT_SRC) $<

# the portable half of the optimised kernels (TL repack, scalar twins) natively, under ASan/UBSan
build/test_kernels_opt: tests/test_kernels_wasm.c $(CORE_SRC) $(WASM_OPT_SRC) $(CORE_HDR) src/kernels.h tests/testlib.h | build
	$(CC) $(CFLAGS_COMMON) $(SAN) -DTRIT_OPT_KERNELS -o $@ $(CORE_SRC) $(WASM_OPT_SRC) $< -lm

test-wasm-kernels: $(WASM_DIR)/test_kernels_wasm.wasm build/test_kernels_opt   ## optimised kernels == scalar _ref (node + native ASan)
	$(NODE) --no-warnings tests/wasm/run_wasi.mjs $<
	build/test_kernels_opt quick

# models the oracle does not ship (an I2_S bitnet-b1.58 model), written by the project's GGUF writer
TEST_MODELS := build/test-models/b158.i2_s.gguf
$(TEST_MODELS): tests/wasm/make_models.py tests/test_models.py tools/gguf_writer.py
	$(PY) tests/wasm/make_models.py build/test-models

$(WASM_DIR)/test_batch.wasm: tests/test_batch.c $(WASM_DEPS) tests/testlib.h
	@mkdir -p $(WASM_DIR)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) $(WASM_SIMD) -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB \
	  -sERROR_ON_UNDEFINED_SYMBOLS=0 -o $@ $(CORE_SRC) $(WASM_OPT_SRC) $<

test-batch: build/test_batch $(WASM_DIR)/test_batch.wasm $(TEST_MODELS)   ## N tokens in one call == N one-token calls, bitwise (native ASan + wasm)
	build/test_batch $(TEST_MODELS)
	$(NODE) --no-warnings tests/wasm/run_wasi.mjs $(WASM_DIR)/test_batch.wasm $(TEST_MODELS)

test-wasm: wasm build/trit test-wasm-kernels test-batch test-wasm-py   ## wasm tests: kernels, batch identity, wasm == native, conformance under node

test-wasm-py: wasm build/trit
	$(PY) -m pytest -q tests/test_wasm.py
	TRIT_BIN="$(NODE) $(abspath js/cli.js)" $(PY) -m pytest -q tests/test_conformance.py tests/test_models.py
