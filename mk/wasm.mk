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
  trit_wasm_nll trit_wasm_exp trit_wasm_opt_kernels trit_wasm_set_force_ref malloc realloc free \
  trit_wasm_tensor_view trit_wasm_rope_freq_scale \
  trit_ppl_next trit_ppl_header trit_ppl_rows trit_ppl_free trit_kld_next trit_kld_free trit_mc_add trit_mc_last \
  trit_mc_convert trit_mc_free trit_wasm_ppl_init trit_wasm_ppl_get trit_wasm_logits_info \
  trit_wasm_kld_init trit_wasm_kld_get trit_wasm_mc_init trit_wasm_mc_get
# threads and the benchmark's probes (src/wasm_api.c, src/wasm_bench.c)
WASM_EXPORTS += trit_pool_work trit_pool_free trit_pool_n_threads trit_ctx_set_pool trit_wasm_pool_init \
  trit_wasm_threads trit_wasm_stream trit_wasm_weight_bytes trit_wasm_model_gguf_layout trit_wasm_tl_dot_min trit_wasm_tl_dot_add \
  trit_wasm_model_n_layout trit_wasm_dot_add_probe
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

# Relaxed SIMD (i8x16.relaxed_swizzle for the table lookups) needs clang-19: emcc 3.1.6's clang 14 and
# binaryen predate the final opcodes. The same sources are compiled with clang-19 against emscripten's
# sysroot and linked by wasm-ld-19 with emscripten's prebuilt libc, as emcc would link them (no
# wasm-opt / finalize pass). Built only where clang-19 and wasm-ld-19 exist.
CLANG19 ?= $(shell command -v clang-19 2>/dev/null)
WASMLD19 ?= $(shell command -v wasm-ld-19 2>/dev/null)
EM_SYSROOT ?= $(shell $(WASM_ENV) em-config CACHE 2>/dev/null)/sysroot
ifneq ($(and $(CLANG19),$(WASMLD19)),)
WASM_BUILDS += $(WASM_DIR)/trit-relaxed.wasm $(WASM_DIR)/trit-relaxed-mt.wasm
endif
R_CFLAGS := --target=wasm32-unknown-emscripten --sysroot=$(EM_SYSROOT) -Xclang -iwithsysroot/include/compat \
  -D__EMSCRIPTEN__ -DEMSCRIPTEN -fvisibility=default $(WASM_CFLAGS) $(WASM_SIMD) -mrelaxed-simd
R_LIBDIR := $(EM_SYSROOT)/lib/wasm32-emscripten
R_LDFLAGS := -L$(R_LIBDIR) $(R_LIBDIR)/crt1_reactor.o -lstandalonewasm-memgrow -lstubs -lnoexit -lc -ldlmalloc \
  -lcompiler_rt --import-undefined --strip-debug $(patsubst %,--export-if-defined=%,$(WASM_EXPORTS)) \
  --export=stackSave --export=stackRestore --export=stackAlloc --export=__errno_location --export-table \
  -z stack-size=5242880 --initial-memory=16777216 --entry=_initialize --max-memory=4294967296 --global-base=1024
R_OBJ = $(patsubst src/%.c,$(WASM_DIR)/$(1)/%.o,$(WASM_SRC) $(WASM_OPT_SRC))

$(WASM_DIR)/relaxed/%.o: src/%.c $(CORE_HDR) src/kernels.h src/pool.h mk/wasm.mk
	@mkdir -p $(@D)
	$(CLANG19) $(R_CFLAGS) -c -o $@ $<

$(WASM_DIR)/relaxed-mt/%.o: src/%.c $(CORE_HDR) src/kernels.h src/pool.h mk/wasm.mk
	@mkdir -p $(@D)
	$(CLANG19) $(R_CFLAGS) $(WASM_MT) -c -o $@ $<

$(WASM_DIR)/trit-relaxed.wasm: $(call R_OBJ,relaxed)
	$(WASMLD19) -o $@ $^ $(R_LDFLAGS)

$(WASM_DIR)/trit-relaxed-mt.wasm: $(call R_OBJ,relaxed-mt)
	$(WASMLD19) -o $@ $^ $(R_LDFLAGS) --shared-memory --import-memory --no-check-features

.PHONY: wasm test-wasm test-wasm-kernels test-wasm-py test-batch

wasm: $(WASM_BUILDS)                          ## wasm builds: build/wasm/trit-{scalar,simd,simd-mt,relaxed,relaxed-mt}.wasm

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
TEST_MODELS := build/test-models/b158.i2_s.gguf build/test-models/b158.tq2_0-q6_k.gguf build/test-models/b158.tq2_0-q8_0.gguf
$(TEST_MODELS) &: tests/wasm/make_models.py tests/test_models.py tools/gguf_writer.py
	$(PY) tests/wasm/make_models.py build/test-models

$(WASM_DIR)/test_batch.wasm: tests/test_batch.c $(WASM_DEPS) tests/testlib.h
	@mkdir -p $(WASM_DIR)
	$(WASM_ENV) $(EMCC) $(WASM_CFLAGS) $(WASM_SIMD) -sSTANDALONE_WASM -sALLOW_MEMORY_GROWTH=1 -sMAXIMUM_MEMORY=4GB \
	  -sERROR_ON_UNDEFINED_SYMBOLS=0 -o $@ $(CORE_SRC) $(WASM_OPT_SRC) $<

test-batch: build/test_batch $(WASM_DIR)/test_batch.wasm $(TEST_MODELS)   ## N tokens in one call == N one-token calls, bitwise (native ASan + wasm)
	build/test_batch $(TEST_MODELS)
	$(NODE) --no-warnings tests/wasm/run_wasi.mjs $(WASM_DIR)/test_batch.wasm $(TEST_MODELS)

test-wasm: wasm build/trit test-wasm-kernels test-batch test-wasm-py   ## wasm tests: kernels, batch identity, wasm == native, conformance under node

# Conformance on the wasm build: through one long-lived node process (tests/wasm/cli_server.mjs) that
# runs js/cli.mjs's main() per call, a fresh wasm instance each time; tests/test_wasm.py runs the real
# `node js/cli.js` against the native CLI.
test-wasm-py: wasm build/trit $(TEST_MODELS)
	$(NODE) --test tests/wasm/loader.test.mjs
	@set -e; sock=$$(mktemp -u /tmp/trit-cli.XXXXXX); \
	  $(NODE) tests/wasm/cli_server.mjs $$sock > /dev/null & pid=$$!; trap "kill $$pid" EXIT; \
	  for i in $$(seq 100); do [ -S $$sock ] && break; sleep 0.1; done; \
	  cli="$(PY) -S $(abspath tests/wasm/cli_client.py) $$sock"; \
	  echo "wasm CLI calls through: $$cli"; \
	  TRIT_WASM_SUITE=1 TRIT_WASM_CLI="$$cli" $(PY) -m pytest -q tests/test_wasm.py; \
	  TRIT_BIN="$$cli" $(PY) -m pytest -q tests/test_conformance.py tests/test_models.py
TESTS += test-wasm
