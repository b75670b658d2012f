# mk/bench.mk: `make bench-wasm` (part of `make bench`, not of `make test`): random ternary models of real shapes (not
# committed, in build/bench), every wasm build + the native build of the same C, bench/results.json and a
# table. docs/bench.md explains the figures. BENCH_ARGS passes options to bench/bench.mjs
# (e.g. BENCH_ARGS="--shapes 700m --builds simd,native").
BENCH_DIR := build/bench
BENCH_SHAPES ?= 700m 2b
BENCH_NATIVE_CFLAGS := $(CFLAGS_COMMON) -O3 -march=native

.PHONY: bench bench-wasm bench-chromium bench-models bench-peers bench-peers-models

bench-models: tools/gguf_writer.py bench/make_models.py     ## the benchmark's random GGUF models (build/bench)
	$(PY) bench/make_models.py $(BENCH_DIR) $(BENCH_SHAPES)

$(BENCH_DIR)/trit_bench_native: bench/bench_native.c $(CORE_SRC) $(CORE_HDR)
	@mkdir -p $(BENCH_DIR)
	$(CC) $(BENCH_NATIVE_CFLAGS) -o $@ $(CORE_SRC) bench/bench_native.c -lm

# make bench = the three benchmarks, each writing its JSON: the kernels/builds (bench-wasm,
# bench/results.json), speculative decoding (bench-spec, bench/speculative.json; mk/js.mk) and WebGPU
# (bench-webgpu, bench/webgpu-results.json; mk/webgpu.mk), and the peers (bench-peers, bench/peers.json).
# < 15 min together from a clean clone without bench-peers; bench-peers adds ~10 min (and a ~750 MB npm install
# into bench/peers/node_modules the first time).
bench: bench-wasm bench-spec bench-webgpu bench-peers            ## all benchmarks: bench/{results,speculative,webgpu-results,peers}.json

bench-wasm: wasm $(BENCH_DIR)/trit_bench_native bench-models   ## builds x shapes x formats: bench/results.json + a table
	$(NODE) bench/bench.mjs --models $(BENCH_DIR) --out bench/results.json $(BENCH_ARGS)

# the same measurement in headless chromium (its V8; the relaxed build's dot-add kernel is on there), the
# SIMD builds on the TQ2_0 and I2_S models: bench/results-chromium.json (~1.5 min; not in `make bench`,
# which stays within its 15 minutes)
bench-chromium: wasm bench-models $(NPM_STAMP)   ## wasm builds in headless chromium: bench/results-chromium.json
	$(NODE) bench/bench.mjs --browser --models $(BENCH_DIR) --types tq2_0,i2_s --builds simd,relaxed,relaxed-mt --out bench/results-chromium.json $(BENCH_ARGS)

# make bench-peers: node-llama-cpp (native llama.cpp) and @wllama/wllama (llama.cpp in wasm, headless chromium)
# on the same random models, then our relaxed / relaxed-mt builds on the same files in the same run:
# bench/peers.json + a table (docs/bench.md, "Peers"). The peers are installed from bench/peers/package.json
# + its lockfile into bench/peers/node_modules (not the root package: `npm ci` at the root, which `make test`
# needs, does not fetch them). NODE_LLAMA_CPP_SKIP_DOWNLOAD: node-llama-cpp's postinstall (where npm runs it)
# must not download or build llama.cpp; its prebuilt @node-llama-cpp/linux-x64 binary is what runs.
# `npm install --no-save` (the lockfile's versions, the lockfile untouched), not `npm ci`: npm 11 writes a
# lockfile without the other platforms' optional @node-llama-cpp/* packages and then `npm ci` rejects it.
# PEERS_ARGS passes options to bench/peers.mjs (e.g. PEERS_ARGS="--peers nlc --no-ours").
BENCH_PEERS_DIR := build/bench-peers
PEERS_STAMP := bench/peers/node_modules/.package-lock.json

$(PEERS_STAMP): bench/peers/package.json bench/peers/package-lock.json
	cd bench/peers && NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install --no-save --no-audit --no-fund

# the 2b shape under arch bitnet (upstream llama.cpp has no bitnet-b1.58 arch; bench/make_models.py), not in
# build/bench: bench-webgpu takes every build/bench/*.gguf
bench-peers-models: tools/gguf_writer.py bench/make_models.py
	$(PY) bench/make_models.py $(BENCH_PEERS_DIR) 2b-bitnet --types tq2_0,tq1_0

bench-peers: wasm bench-models bench-peers-models $(PEERS_STAMP) $(NPM_STAMP)   ## node-llama-cpp and wllama vs ours on the same files: bench/peers.json
	$(NODE) bench/peers.mjs --models $(BENCH_DIR),$(BENCH_PEERS_DIR) --out bench/peers.json $(PEERS_ARGS)
