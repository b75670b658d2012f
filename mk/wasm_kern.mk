# mk/wasm_kern.mk: the kernel test in the relaxed-SIMD build (clang-19 + wasm-ld-19, as trit-relaxed.wasm),
# so the relaxed kernels (relaxed swizzle lookups, i16x8.relaxed_dot_i8x16_i7x16 batches) are checked
# against the scalar reference too. Node 20 needs --experimental-wasm-relaxed-simd.
ifneq ($(and $(CLANG19),$(WASMLD19)),)
R_TEST_LDFLAGS := -L$(R_LIBDIR) $(R_LIBDIR)/crt1.o -lstandalonewasm-memgrow -lstubs -lc -ldlmalloc -lcompiler_rt \
  --import-undefined --strip-debug -z stack-size=5242880 --initial-memory=16777216 --max-memory=4294967296 \
  --global-base=1024
R_TEST_OBJ := $(patsubst src/%.c,$(WASM_DIR)/relaxed/%.o,$(CORE_SRC) $(WASM_OPT_SRC))

$(WASM_DIR)/relaxed/test_kernels_wasm.o: tests/test_kernels_wasm.c $(CORE_HDR) src/kernels.h tests/testlib.h mk/wasm_kern.mk
	@mkdir -p $(@D)
	$(CLANG19) $(R_CFLAGS) -c -o $@ $<

$(WASM_DIR)/test_kernels_relaxed.wasm: $(R_TEST_OBJ) $(WASM_DIR)/relaxed/test_kernels_wasm.o
	$(WASMLD19) -o $@ $^ $(R_TEST_LDFLAGS)

.PHONY: test-kern-relaxed
test-kern-relaxed: $(WASM_DIR)/test_kernels_relaxed.wasm   ## kernel test in the relaxed-SIMD build (== scalar _ref)
	$(NODE) --no-warnings --experimental-wasm-relaxed-simd tests/wasm/run_wasi.mjs $<
TESTS += test-kern-relaxed
endif
