# mk/bench.mk: `make bench` (not part of `make test`): random ternary models of real shapes (not
# committed, in build/bench), every wasm build + the native build of the same C, bench/results.json and a
# table. docs/bench.md explains the figures. BENCH_ARGS passes options to bench/bench.mjs
# (e.g. BENCH_ARGS="--shapes 700m --builds simd,native").
BENCH_DIR := build/bench
BENCH_SHAPES ?= 700m 2b
BENCH_NATIVE_CFLAGS := $(CFLAGS_COMMON) -O3 -march=native

.PHONY: bench bench-models

bench-models: tools/gguf_writer.py bench/make_models.py     ## the benchmark's random GGUF models (build/bench)
	$(PY) bench/make_models.py $(BENCH_DIR) $(BENCH_SHAPES)

$(BENCH_DIR)/trit_bench_native: bench/bench_native.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_NATIVE_CFLAGS) -o $@ $(CORE_SRC) bench/bench_native.c -lm

bench: wasm $(BENCH_DIR)/trit_bench_native bench-models   ## benchmark: bench/results.json + a table (< 15 min)
	$(NODE) bench/bench.mjs --models $(BENCH_DIR) --out bench/results.json $(BENCH_ARGS)
