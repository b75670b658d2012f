# mk/bench.mk: `make bench-wasm` (part of `make bench`, not of `make test`): random ternary models of real shapes (not
# committed, in build/bench), every wasm build + the native build of the same C, bench/results.json and a
# table. docs/bench.md explains the figures. BENCH_ARGS passes options to bench/bench.mjs
# (e.g. BENCH_ARGS="--shapes 700m --builds simd,native").
BENCH_DIR := build/bench
BENCH_SHAPES ?= 700m 2b
BENCH_NATIVE_CFLAGS := $(CFLAGS_COMMON) -O3 -march=native

.PHONY: bench bench-wasm bench-models

bench-models: tools/gguf_writer.py bench/make_models.py     ## the benchmark's random GGUF models (build/bench)
	$(PY) bench/make_models.py $(BENCH_DIR) $(BENCH_SHAPES)

$(BENCH_DIR)/trit_bench_native: bench/bench_native.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_NATIVE_CFLAGS) -o $@ $(CORE_SRC) bench/bench_native.c -lm

# make bench = the three benchmarks, each writing its JSON: the kernels/builds (bench-wasm,
# bench/results.json), speculative decoding (bench-spec, bench/speculative.json; mk/js.mk) and WebGPU
# (bench-webgpu, bench/webgpu-results.json; mk/webgpu.mk). < 15 min together from a clean clone.
bench: bench-wasm bench-spec bench-webgpu            ## all benchmarks: bench/{results,speculative,webgpu-results}.json

bench-wasm: wasm $(BENCH_DIR)/trit_bench_native bench-models   ## builds x shapes x formats: bench/results.json + a table
	$(NODE) bench/bench.mjs --models $(BENCH_DIR) --out bench/results.json $(BENCH_ARGS)
