# mk/wasm_kern.mk: the kernel test in the relaxed-SIMD build (clang-19 + wasm-ld-19, as trit-relaxed.wasm),
# so the relaxed kernels (relaxed swizzle lookups, i16x8.relaxed_dot_i8x16_i7x16 batches) are checked
# against the scalar reference too. Node 20 needs --experimental-wasm-relaxed-simd. The second run also
# takes the batch kernel's dot-add variant (kernels.h: tl_dot_add) with --no-liftoff: Node 20's baseline
# tier computes i32x4.relaxed_dot_i8x16_i7x16_add_s wrongly, its optimising tier right. The browser test
# (tests/browser/wasm.test.mjs) checks the variant where it is used: chromium, whole model, against it off.
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
test-kern-relaxed: $(WASM_DIR)/test_kernels_relaxed.wasm wasm $(TEST_MODELS)   ## kernel test in the relaxed-SIMD build (== scalar _ref), + chromium
	$(NODE) --no-warnings --experimental-wasm-relaxed-simd tests/wasm/run_wasi.mjs $<
	TRIT_TEST_DOT_ADD=1 $(NODE) --no-warnings --experimental-wasm-relaxed-simd --no-liftoff tests/wasm/run_wasi.mjs $<
	@test -d node_modules/playwright-core || { echo "test-kern-relaxed's browser part needs the dev dependencies: run npm ci"; exit 1; }
	$(NODE) --test tests/browser/wasm.test.mjs
TESTS += test-kern-relaxed
endif
