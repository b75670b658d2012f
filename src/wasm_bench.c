/* wasm_bench.c: what bench/bench.mjs measures inside the wasm module it benchmarks (compiled into the
 * build/wasm/trit-*.wasm files only): the streaming-read bandwidth of this very module, and the bytes
 * of weights one decode step reads. */
#include <stdint.h>

#include "model.h"
#if defined(__wasm_simd128__)
#include <wasm_simd128.h>
#endif

/* Reads n bytes at p (n % 64 == 0) as fast as this build can and returns a checksum (so that nothing
 * is optimised away): the roofline's bandwidth. */
uint32_t trit_wasm_stream(const uint8_t *p, uint32_t n) {
#if defined(__wasm_simd128__)
    v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (uint32_t i = 0; i + 64 <= n; i += 64) {
        a0 = wasm_i32x4_add(a0, wasm_v128_load(p + i));
        a1 = wasm_i32x4_add(a1, wasm_v128_load(p + i + 16));
        a2 = wasm_i32x4_add(a2, wasm_v128_load(p + i + 32));
        a3 = wasm_i32x4_add(a3, wasm_v128_load(p + i + 48));
    }
    a0 = wasm_i32x4_add(wasm_i32x4_add(a0, a1), wasm_i32x4_add(a2, a3));
    return (uint32_t)(wasm_i32x4_extract_lane(a0, 0) ^ wasm_i32x4_extract_lane(a0, 1) ^
                      wasm_i32x4_extract_lane(a0, 2) ^ wasm_i32x4_extract_lane(a0, 3));
#else
    uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    const uint64_t *q = (const uint64_t *)p;
    for (uint32_t i = 0; i + 8 <= n / 8; i += 8) {
        a0 += q[i] + q[i + 4];
        a1 += q[i + 1] + q[i + 5];
        a2 += q[i + 2] + q[i + 6];
        a3 += q[i + 3] + q[i + 7];
    }
    const uint64_t s = a0 ^ a1 ^ a2 ^ a3;
    return (uint32_t)(s ^ (s >> 32));
#endif
}

/* Bytes of matrix data one decode step reads (every layer matrix and the LM head), as a double. */
double trit_wasm_weight_bytes(const trit_model *m) {
    double b = (double)m->output.row_bytes * m->output.n_out;
    for (int32_t l = 0; l < m->info.n_layer; l++) {
        const trit_layer *L = &m->layers[l];
        const trit_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wgate, &L->wup, &L->wdown};
        for (int j = 0; j < 7; j++) b += (double)ms[j]->row_bytes * ms[j]->n_out;
    }
    return b;
}

#ifdef TRIT_OPT_KERNELS
#include "kernels.h"
#endif
/* The batch size from which TL matrices take the dot-product kernel instead of the table lookups
 * (kernels.h: tl_dot_min_tokens): sets it if n > 0 and returns the value before (0 in builds without
 * the optimised kernels). The benchmark times both paths in one build (bench.mjs: TRIT_TL_DOT_MIN). */
int32_t trit_wasm_tl_dot_min(int32_t n) {
#ifdef TRIT_OPT_KERNELS
    const int32_t old = tl_dot_min_tokens;
    if (n > 0) tl_dot_min_tokens = n;
    return old;
#else
    (void)n;
    return 0;
#endif
}

/* The dot-add variant of that kernel (kernels.h: tl_dot_add): sets it if on >= 0 and returns the value
 * before; -1 in builds without relaxed SIMD (where there is no such variant). js/wasm.mjs sets it after
 * its known-answer test of the instruction. */
int32_t trit_wasm_tl_dot_add(int32_t on) {
#if defined(TRIT_OPT_KERNELS) && defined(__wasm_relaxed_simd__)
    const int32_t old = tl_dot_add;
    if (on >= 0) tl_dot_add = on != 0;
    return old;
#else
    (void)on;
    return -1;
#endif
}

/* How many of the model's ternary layer and output matrices have the given layout (quant.h's
 * TT_LAYOUT_*: 1 TL, 3 TL4), for tests and the benchmark: which kernels a load chose. */
int32_t trit_wasm_model_n_layout(const trit_model *m, int32_t layout) {
    if (!m) return -1;
    int32_t n = 0;
    for (int32_t l = 0; m->layers && l < m->info.n_layer; l++) {
        const trit_layer *L = &m->layers[l];
        const trit_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wgate, &L->wup, &L->wdown};
        for (int j = 0; j < 7; j++) n += ms[j]->layout == (uint32_t)layout;
    }
    return n + (m->output.layout == (uint32_t)layout);
}

/* The loader's speed check of the relaxed dot-add (kernels.h: simd128_dot_add_probe; js/wasm.mjs) */
int32_t trit_wasm_dot_add_probe(int32_t variant, int32_t reps) {
#if defined(TRIT_OPT_KERNELS)
    return simd128_dot_add_probe(variant, reps);
#else
    (void)variant; (void)reps;
    return 0;
#endif
}
