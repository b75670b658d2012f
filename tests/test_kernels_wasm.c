/* test_kernels_wasm.c: the optimised kernels (src/kernels*.c, behind mat_mul_rows_opt) equal the
 * scalar _ref kernels bit for bit, on random weights and activations, for TQ2_0, TQ1_0, I2_S, F16 and
 * F32, in the GGUF layout and (TQ2_0, I2_S) after the in-place TL repack, many shapes, n_tok 1..16 (and
 * larger batches), and row ranges [r0, r1) as threads get them. Built to wasm with -msimd128
 * -DTRIT_OPT_KERNELS by `make test-wasm-kernels` and run under node (tests/wasm/run_wasi.mjs); the same
 * source built natively with -DTRIT_OPT_KERNELS checks the portable half (repack, TL scalar twin) under
 * ASan. Prints "N passed, M failed".   `... test_kernels_wasm.wasm bench` times opt vs ref instead. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "kernels.h"
#include "quant.h"
#include "testlib.h"

#ifndef TRIT_TEST_EXPECT_SIMD
#if defined(__wasm_simd128__)
#define TRIT_TEST_EXPECT_SIMD 1
#else
#define TRIT_TEST_EXPECT_SIMD 0
#endif
#endif

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 16); }
static float frnd(void) { return (float)rnd() / 4294967296.0f * 2.0f - 1.0f; }

/* bytes of one row: quant.c's sizes (tt_nbytes of a 1-row tensor; I2_S without its per-tensor trailer) */
static size_t row_bytes(uint32_t type, int32_t n_in) {
    if (type == TT_I2_S) return (size_t)n_in / 4;
    const int64_t ne[4] = {n_in, 1, 1, 1};
    const char *err = NULL;
    return (size_t)tt_nbytes(type, ne, &err);
}

/* TRIT_TEST_DOT_ADD=1 (relaxed build, run with node --no-liftoff: Node 20's baseline tier computes the
 * instruction wrongly): TL batches also through the dot-add variant of the dot kernel */
static int g_dot_add;

/* F16 weights: 0 = random finite bit patterns (many zeros/subnormals), 1 = normal halves only,
 * 2 = as a real matrix: N(0, 0.02) rounded to f16 (a few in a thousand subnormal) */
static int g_f16_kind, g_f16_scan = 1;

/* random weights: any byte pattern is a valid ternary block; fp16 scales finite and of both signs;
 * F16/F32 finite values of mixed magnitudes */
static uint8_t *make_weights(uint32_t type, int32_t n_in, int32_t n_out, trit_mat *w) {
    const size_t rb = row_bytes(type, n_in), n = rb * (size_t)n_out + 32;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++) data[i] = (uint8_t)rnd();
    if (type == TT_TQ2_0 || type == TT_TQ1_0 || type == TT_Q6_K || type == TT_Q8_0) {   /* any qs / ql / qh / scales bytes */
        const size_t bs = type == TT_TQ2_0 ? sizeof(block_tq2_0) : type == TT_TQ1_0 ? sizeof(block_tq1_0)
                        : type == TT_Q6_K ? sizeof(block_q6_K) : sizeof(block_q8_0);
        const size_t at = type == TT_Q8_0 ? 0 : bs - 2;   /* where the block's fp16 scale is */
        for (size_t b = 0; b < rb * (size_t)n_out / bs; b++) {
            uint16_t d = trit_fp32_to_fp16(frnd() * 0.1f);
            const uint32_t odd = rnd() % 64;   /* some subnormal, zero and infinite scales: the exact paths */
            if (odd < 2) d = (uint16_t)((rnd() & 0x8000) | (1 + rnd() % 0x3ff));
            else if (odd == 2) d = (uint16_t)(rnd() & 0x8000);
            else if (odd == 3 && (type == TT_TQ2_0 || type == TT_TQ1_0)) d = (uint16_t)((rnd() & 0x8000) | 0x7c00);
            memcpy(data + b * bs + at, &d, 2);
        }
    } else if (type == TT_F16) {
        for (size_t i = 0; i < (size_t)n_in * n_out; i++) {
            uint16_t h = (uint16_t)(rnd() & 0xffff);
            if ((h & 0x7c00) == 0x7c00) h &= 0xbfff;   /* no inf/NaN */
            if (g_f16_kind == 1 || rnd() % 4) h = (uint16_t)((h & 0x83ff) | (uint16_t)((10 + rnd() % 8) << 10));   /* mostly ~1e-2..1 */
            if (g_f16_kind == 2) h = trit_fp32_to_fp16(0.02f * (frnd() + frnd() + frnd()));
            memcpy(data + 2 * i, &h, 2);
        }
    } else if (type == TT_F32) {
        for (size_t i = 0; i < (size_t)n_in * n_out; i++) {
            float f = frnd() * (rnd() % 8 == 0 ? 30.0f : 0.5f);
            memcpy(data + 4 * i, &f, 4);
        }
    }
    memset(w, 0, sizeof *w);
    w->data = data;
    w->type = type;
    w->n_in = n_in;
    w->n_out = n_out;
    w->row_bytes = rb;
    w->scale = type == TT_I2_S ? 0.01f + fabsf(frnd()) : 1.0f;
    return data;
}

/* activations with some structure: plain random, one zero token (d = 0), and large outliers */
static void make_x(float *x, int32_t n_in, int32_t n_tok) {
    for (int32_t t = 0; t < n_tok; t++) {
        const int kind = (int)(rnd() % 5);
        for (int32_t i = 0; i < n_in; i++) {
            float v = frnd() * (kind == 1 ? 100.0f : 1.0f);
            if (kind == 2) v = 0;
            if (kind == 3 && rnd() % 64 == 0) v *= 1000.0f;
            x[(size_t)t * n_in + i] = v;
        }
    }
}

/* ref (GGUF layout, scalar) vs opt (SIMD, or the TL kernels after a repack of a copy) vs the TL scalar
 * twin: all bit-equal. Rows outside [r0, r1) must stay untouched. */
static int check_case(uint32_t type, int tl, int32_t n_in, int32_t n_out, int32_t n_tok, int32_t r0, int32_t r1) {
    trit_mat w, wt;
    uint8_t *data = make_weights(type, n_in, n_out, &w);
    const size_t nbytes = row_bytes(type, n_in) * (size_t)n_out + 32;
    uint8_t *copy = malloc(nbytes);
    memcpy(copy, data, nbytes);
    wt = w;
    wt.data = copy;
    if (tl && type == TT_F16) {
        CHECK(mat_f16_scan(&wt) == 0 && wt.layout == TT_LAYOUT_F16_SCANNED && (g_f16_kind != 1 || !wt.aux),
              "%d x %d: F16 scan", n_in, n_out);
    } else if (tl) {   /* 1: TL, 2: TL4 (kernels.h) */
        const uint32_t lay = tl == 2 ? TT_LAYOUT_TL4 : TT_LAYOUT_TL;
        CHECK(mat_tl_repack_layout(&wt, lay) == 0 && wt.layout == lay, "%s %d x %d: %s repack", tt_name(type), n_in, n_out,
              tl == 2 ? "TL4" : "TL");
        int same = 1;   /* every code moved where kernels.h says */
        for (int32_t r = 0; r < n_out; r += 1 + n_out / 7)
            for (int32_t e = 0; e < n_in; e += 1 + (int32_t)(rnd() % 7)) {
                const uint8_t *blk = data + (size_t)r * w.row_bytes;
                int c = type == TT_TQ2_0 ? (blk[(e / 256) * 66 + 32 * ((e % 256) / 128) + e % 32] >> (2 * ((e % 128) / 32))) & 3
                                         : (blk[(e / 128) * 32 + e % 32] >> (6 - 2 * ((e % 128) / 32))) & 3;
                same &= tl_code(&wt, r, e) == c;
            }
        CHECK(same, "%s: TL codes", tt_name(type));
    }
    float *x = malloc(sizeof(float) * (size_t)n_in * n_tok);
    make_x(x, n_in, n_tok);
    void *act = malloc(mat_act_bytes(type, n_in, n_tok));
    mat_quantize_act(&wt, x, n_tok, act);   /* the reference part, plus tables for the TL matrix */
    const size_t ny = (size_t)n_out * n_tok;
    float *y_ref = malloc(sizeof(float) * ny), *y_opt = malloc(sizeof(float) * ny), *y_twin = malloc(sizeof(float) * ny);
    for (size_t i = 0; i < ny; i++) y_ref[i] = y_opt[i] = y_twin[i] = -12345.0f;
    trit_force_ref = 1;
    mat_mul_rows(&w, act, x, n_tok, y_ref, r0, r1);
    mat_mul_rows(&wt, act, x, n_tok, y_twin, r0, r1);   /* TL: the scalar twin; GGUF: the reference again */
    trit_force_ref = 0;
    tl_dot_add = wt.layout == TT_LAYOUT_TL4 && g_dot_add;   /* TL4's SIMD kernels run only with it (else the twin) */
    mat_mul_rows(&wt, act, x, n_tok, y_opt, r0, r1);
    tl_dot_add = 0;
    int same = memcmp(y_ref, y_opt, sizeof(float) * ny) == 0 && memcmp(y_ref, y_twin, sizeof(float) * ny) == 0;
    if (same && wt.layout == TT_LAYOUT_TL && n_tok >= 2) {   /* the other batch kernel too (lookups / dot products) */
        const int32_t keep = tl_dot_min_tokens;
        tl_dot_min_tokens = n_tok >= keep ? n_tok + 1 : 2;
        for (size_t i = 0; i < ny; i++) y_opt[i] = -12345.0f;
        mat_mul_rows(&wt, act, x, n_tok, y_opt, r0, r1);
        same = memcmp(y_ref, y_opt, sizeof(float) * ny) == 0;
        if (same && g_dot_add) {   /* and the dot kernel's dot-add variant (kernels.h: tl_dot_add) */
            tl_dot_min_tokens = 2;
            tl_dot_add = 1;
            for (size_t i = 0; i < ny; i++) y_opt[i] = -12345.0f;
            mat_mul_rows(&wt, act, x, n_tok, y_opt, r0, r1);
            tl_dot_add = 0;
            same = memcmp(y_ref, y_opt, sizeof(float) * ny) == 0;
        }
        tl_dot_min_tokens = keep;
    }
    if (!same) {
        for (size_t i = 0; i < ny; i++)
            if (memcmp(&y_ref[i], &y_opt[i], 4) || memcmp(&y_ref[i], &y_twin[i], 4)) {
                fprintf(stderr, "  first difference at token %d row %d: ref %.9g opt %.9g twin %.9g\n", (int)(i / n_out),
                        (int)(i % n_out), y_ref[i], y_opt[i], y_twin[i]);
                break;
            }
    }
    CHECK(same, "%s%s n_in %d n_out %d n_tok %d rows [%d, %d): opt != ref", tt_name(type),
          wt.layout == TT_LAYOUT_TL4 ? " (TL4)" : tl ? " (TL)" : "", n_in, n_out, n_tok, r0, r1);
    if (wt.layout == TT_LAYOUT_TL || wt.layout == TT_LAYOUT_TL4)   /* the WebGPU backend reads the GGUF bytes back (kernels_restore_model) */
        CHECK(mat_tl_unpack(&wt) == 0 && wt.layout == TT_LAYOUT_GGUF && !memcmp(copy, data, w.row_bytes * (size_t)n_out),
              "%s %d x %d: TL unpack restores the GGUF bytes", tt_name(type), n_in, n_out);
    free((void *)wt.aux);
    free(data); free(copy); free(x); free(act); free(y_ref); free(y_opt); free(y_twin);
    return same;
}

static void test_tables(void) {
    int8_t q[512];
    uint8_t a[512 * 16], b[512 * 16];
    for (int i = 0; i < 512; i++) q[i] = (int8_t)(i < 4 ? (i % 2 ? 127 : -127) : (int)(rnd() % 255) - 127);
    tl_build_tables_ref(q, 512, a);
    simd128_build_tables(q, 512, b);
    CHECK(!memcmp(a, b, sizeof a), "SIMD tables == scalar tables");
    int ok = 1;
    for (int p = 0; p < 256; p++)
        for (int k = 0; k < 16; k++) {
            int16_t v = (int16_t)(a[p * 32 + k] | a[p * 32 + 16 + k] << 8);
            ok &= v == ((k >> 2) - 1) * q[2 * p] + ((k & 3) - 1) * q[2 * p + 1];
        }
    CHECK(ok, "table entries");
}

/* attention q.k / p.v: SIMD twins == forward.c's references, F16 (halves of every kind, rows flagged
 * or not) and F32 caches, head sizes and GQA groups of the real models */
static void test_attention(void) {
    const int32_t hds[] = {64, 96, 128}, gqas[] = {1, 2, 4, 5}, nkvs[] = {1, 3, 17, 64};
    for (int f16 = 0; f16 < 2; f16++)
        for (int a_ = 0; a_ < 3; a_++)
            for (int b = 0; b < 4; b++)
                for (int c = 0; c < 4; c++) {
                    const int32_t hd = hds[a_], gqa = gqas[b], n_kv = nkvs[c], row = hd * 3 + 8;
                    float *q = malloc(sizeof(float) * gqa * hd), *s1 = malloc(sizeof(float) * gqa * n_kv),
                          *s2 = malloc(sizeof(float) * gqa * n_kv), *o1 = malloc(sizeof(float) * gqa * hd),
                          *o2 = malloc(sizeof(float) * gqa * hd);
                    void *k = malloc((size_t)n_kv * row * 4), *v = malloc((size_t)n_kv * row * 4);
                    uint8_t *kf = malloc((size_t)n_kv), *vf = malloc((size_t)n_kv);
                    for (int32_t i = 0; i < gqa * hd; i++) q[i] = f16 ? trit_fp16_to_fp32(trit_fp32_to_fp16(frnd() * 3)) : frnd() * 3;
                    for (int32_t j = 0; j < n_kv; j++) {
                        kf[j] = vf[j] = 0;
                        for (int32_t i = 0; i < row; i++) {
                            float x = frnd() * (rnd() % 16 ? 2.0f : 1e-6f);   /* some tiny: f16 subnormals */
                            if (rnd() % 32 == 0) x = 0;
                            float y = frnd() * (rnd() % 16 ? 2.0f : 1e-6f);
                            if (f16) {
                                const uint16_t hk = trit_fp32_to_fp16(x), hv = trit_fp32_to_fp16(y);
                                ((uint16_t *)k)[(size_t)j * row + i] = hk;
                                ((uint16_t *)v)[(size_t)j * row + i] = hv;
                                kf[j] |= (hk & 0x7c00) == 0 && (hk & 0x3ff);
                                vf[j] |= (hv & 0x7c00) == 0 && (hv & 0x3ff);
                            } else {
                                ((float *)k)[(size_t)j * row + i] = x;
                                ((float *)v)[(size_t)j * row + i] = y;
                            }
                        }
                    }
                    for (int flags = 0; flags < 2; flags++) {
                        attn_args a = {q, k, v, flags ? kf : NULL, flags ? vf : NULL, (size_t)row, n_kv, hd, gqa, f16,
                                       0.125f, s1, o1};
                        attn_qk_ref(&a);
                        a.scores = s2;
                        const int rc = attn_qk_opt(&a);
                        CHECK(rc == (TRIT_TEST_EXPECT_SIMD && f16 ? 0 : -1), "attn_qk_opt handled (F16 cache only)");
                        if (rc) attn_qk_ref(&a);
                        CHECK(!memcmp(s1, s2, sizeof(float) * gqa * n_kv), "q.k f16 %d hd %d gqa %d n_kv %d flags %d", f16, hd,
                              gqa, n_kv, flags);
                        for (int32_t j = 0; j < gqa * n_kv; j++)   /* probabilities as the softmax gives them */
                            s1[j] = s2[j] = f16 ? trit_fp16_to_fp32(trit_fp32_to_fp16(fabsf(frnd()) / n_kv)) : fabsf(frnd()) / n_kv;
                        a.scores = s1;
                        a.out = o1;
                        attn_pv_ref(&a);
                        a.out = o2;
                        if (attn_pv_opt(&a)) attn_pv_ref(&a);
                        CHECK(!memcmp(o1, o2, sizeof(float) * gqa * hd), "p.v f16 %d hd %d gqa %d n_kv %d flags %d", f16, hd,
                              gqa, n_kv, flags);
                    }
                    free(q); free(s1); free(s2); free(o1); free(o2); free(k); free(v); free(kf); free(vf);
                }
}

static int g_quick;   /* `quick`: fewer batch sizes (the native ASan run of the portable half) */

static void test_kernels(void) {
    const uint32_t types[] = {TT_TQ2_0, TT_TQ1_0, TT_I2_S, TT_F16, TT_F32, TT_Q8_0, TT_Q6_K};
    const int32_t n_ins_tq[] = {256, 512, 1280, 2048};
    const int32_t n_ins_q8[] = {32, 96, 256, 1056};
    const int32_t n_ins_i2[] = {128, 384, 1024, 1536};
    const int32_t n_ins_f[] = {8, 128, 264, 1024};
    const int32_t n_outs[] = {1, 3, 4, 5, 8, 13, 32, 37};
    const int32_t n_outs_tl[] = {16, 32, 48, 80};
    for (int ti = 0; ti < 7; ti++) {
        const uint32_t type = types[ti];
        for (int a = 0; a < 4; a++) {
            const int32_t n_in = type == TT_I2_S ? n_ins_i2[a] : type == TT_F16 || type == TT_F32 ? n_ins_f[a]
                               : type == TT_Q8_0 ? n_ins_q8[a] : n_ins_tq[a];
            for (int b = 0; b < 8; b++) {
                const int32_t n_out = n_outs[b];
                for (int32_t n_tok = 1; n_tok <= 16; n_tok += g_quick ? 5 : 1) check_case(type, 0, n_in, n_out, n_tok, 0, n_out);
                check_case(type, 0, n_in, n_out, 17, 0, n_out);
                check_case(type, 0, n_in, n_out, 40, 0, n_out);
                if (n_out > 2) {   /* a sub-range of rows, as a thread would get */
                    check_case(type, 0, n_in, n_out, 1, 1, n_out - 1);
                    check_case(type, 0, n_in, n_out, 5, 1, n_out - 1);
                }
            }
            if (type == TT_F16 && n_in % 128 == 0)   /* scanned: with marked chunks, and without any */
                for (g_f16_kind = 0; g_f16_kind < 2; g_f16_kind++)
                    for (int b = 0; b < 8; b++) {
                        check_case(type, 1, n_in, n_outs[b], 1, 0, n_outs[b]);
                        check_case(type, 1, n_in, n_outs[b], 6, 0, n_outs[b]);
                        if (n_outs[b] > 2) check_case(type, 1, n_in, n_outs[b], 3, 1, n_outs[b] - 1);
                    }
            g_f16_kind = 0;
            if (type != TT_TQ2_0 && type != TT_I2_S) continue;
            /* tl 1: TL; 2: TL4, the scalar twin everywhere, its SIMD (dot-add) kernels under TRIT_TEST_DOT_ADD */
            for (int tl = 1; tl <= 2; tl++)
                for (int b = 0; b < 4; b++) {
                    const int32_t n_out = n_outs_tl[b];
                    for (int32_t n_tok = 1; n_tok <= 16; n_tok += g_quick ? 3 : 1) check_case(type, tl, n_in, n_out, n_tok, 0, n_out);
                    check_case(type, tl, n_in, n_out, 21, 0, n_out);
                    check_case(type, tl, n_in, n_out, 1, 16, n_out);          /* tile-aligned ranges */
                    check_case(type, tl, n_in, n_out, 1, 3, n_out - 5);       /* and unaligned ones */
                    check_case(type, tl, n_in, n_out, 3, 3, n_out - 5);
                    check_case(type, tl, n_in, n_out, 9, 7, 9);
                }
        }
    }
    /* Q8_0 and Q6_K take the SIMD kernels (the bit-equality above is not the reference compared with itself) */
    for (int k = 0; k < 2; k++) {
        trit_mat q;
        const uint32_t ty = k ? TT_Q6_K : TT_Q8_0;
        uint8_t *d = make_weights(ty, 256, 4, &q);
        float x[256], y[4];
        make_x(x, 256, 1);
        void *act = malloc(mat_act_bytes(ty, 256, 1));
        mat_quantize_act(&q, x, 1, act);
        CHECK(mat_mul_rows_opt(&q, act, x, 1, y, 0, 4) == (simd128_available() ? 0 : -1), "%s: optimised kernel %s", tt_name(ty),
              simd128_available() ? "taken" : "declined");
        free(act); free(d);
    }
    /* types without an optimised kernel decline, and so do all when the reference is forced */
    trit_mat f = {NULL, TT_BF16, 256, 1, 512, 1.0f, 0, NULL};
    CHECK(mat_mul_rows_opt(&f, NULL, NULL, 1, NULL, 0, 1) == -1, "BF16 has no optimised kernel");
    trit_mat h = {NULL, TT_F16, 12, 1, 24, 1.0f, 0, NULL};
    CHECK(mat_mul_rows_opt(&h, NULL, NULL, 1, NULL, 0, 1) == -1, "F16 rows not a multiple of 8 decline");
    /* what cannot be repacked stays as it is */
    trit_mat odd;
    uint8_t *d = make_weights(TT_TQ2_0, 256, 24, &odd);
    CHECK(mat_tl_repack(&odd) == -1 && odd.layout == TT_LAYOUT_GGUF, "24 rows: no TL repack");
    free(d);
    d = make_weights(TT_TQ1_0, 256, 32, &odd);
    CHECK(mat_tl_repack(&odd) == -1 && odd.layout == TT_LAYOUT_GGUF, "TQ1_0: no TL repack");
    free(d);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ns per weight of opt and ref kernels on one matrix */
static void bench(uint32_t type, int tl, int32_t n_in, int32_t n_out, int32_t n_tok) {
    trit_mat w;
    uint8_t *data = make_weights(type, n_in, n_out, &w);
    float *x = malloc(sizeof(float) * (size_t)n_in * n_tok), *y = malloc(sizeof(float) * (size_t)n_out * n_tok);
    make_x(x, n_in, n_tok);
    if (tl) mat_tl_repack(&w);
    if (type == TT_F16 && g_f16_scan) mat_f16_scan(&w);
    void *act = malloc(mat_act_bytes(type, n_in, n_tok));
    mat_quantize_act(&w, x, n_tok, act);
    /* modes: 0 the reference; TL matrices: 1 table lookups, 2 dot products (tl_dot_min_tokens), timed in
     * alternation so that a shared host's load hits both alike; others: 1 the optimised kernel */
    const int nm = tl && w.layout == TT_LAYOUT_TL ? 3 : 2;
    const int32_t keep = tl_dot_min_tokens;
    double t[3] = {1e9, 1e9, 1e9};
    for (int pass = 0; pass < 2; pass++) {
        const int m0 = pass == 0 ? 0 : 1, m1 = pass == 0 ? 1 : nm;
        int reps = 0;
        const double t0 = now_s();
        for (int m = m0; m < m1; m++) {   /* warm up (and let the engine tier up) */
            trit_force_ref = m == 0;
            tl_dot_min_tokens = m == 1 ? n_tok + 1 : 1;
            mat_mul_rows(&w, act, x, n_tok, y, 0, n_out);
        }
        do {
            for (int m = m0; m < m1; m++) {
                trit_force_ref = m == 0;
                tl_dot_min_tokens = m == 1 ? n_tok + 1 : 1;
                const double t1 = now_s();
                mat_mul_rows(&w, act, x, n_tok, y, 0, n_out);
                const double dt = now_s() - t1;
                if (dt < t[m]) t[m] = dt;
            }
            reps++;
        } while (now_s() - t0 < (pass ? 1.0 : 0.5) || reps < 3);
    }
    trit_force_ref = 0;
    tl_dot_min_tokens = keep;
    for (int m = 0; m < 3; m++) t[m] = t[m] / ((double)n_in * n_out * n_tok) * 1e9;
    if (nm == 3)
        printf("%-6s%-4s %5d x %5d  n_tok %2d: lookups %.4f, dots %.4f ns/weight/token (dots x%.2f faster), ref %.3f\n",
               tt_name(type), " TL", n_in, n_out, n_tok, t[1], t[2], t[1] / t[2], t[0]);
    else
        printf("%-6s%-4s %5d x %5d  n_tok %2d: opt %.4f ns/weight/token (%.1f GB/s of weights), ref %.3f  (x%.1f)\n",
               tt_name(type), tl ? " TL" : "", n_in, n_out, n_tok, t[1], (double)w.row_bytes * n_out / (t[1] * n_in * n_out * n_tok),
               t[0], t[0] / t[1]);
    free((void *)w.aux);
    free(data); free(x); free(y); free(act);
}

/* TRIT_TEST_BENCH="mem N_IN N_OUT COPIES [i2_s]": one decode pass over COPIES copies of a TL TQ2_0 (or I2_S) matrix
 * (hundreds of MB: from DRAM) against the same matrix in cache and a plain streaming read */
static uint32_t stream_read(const uint8_t *p, size_t n) {
    uint64_t a = 0, b = 0;
    for (size_t i = 0; i + 16 <= n; i += 16) { uint64_t u, v; memcpy(&u, p + i, 8); memcpy(&v, p + i + 8, 8); a += u; b ^= v; }
    return (uint32_t)(a ^ b);
}

static void bench_mem(uint32_t type, int32_t n_in, int32_t n_out, int copies) {
    trit_mat w;
    uint8_t *data = make_weights(type, n_in, n_out, &w);
    mat_tl_repack(&w);
    const size_t nb = w.row_bytes * (size_t)n_out;
    uint8_t *big = malloc(nb * (size_t)copies);
    for (int c = 0; c < copies; c++) memcpy(big + (size_t)c * nb, data, nb);
    float *x = malloc(sizeof(float) * (size_t)n_in), *y = malloc(sizeof(float) * (size_t)n_out);
    make_x(x, n_in, 1);
    void *act = malloc(mat_act_bytes(type, n_in, 1));
    mat_quantize_act(&w, x, 1, act);
    double cache = 1e9, dram = 1e9, str = 1e9;
    volatile uint32_t sink = 0;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        for (int c = 0; c < copies; c++) mat_mul_rows(&w, act, x, 1, y, 0, n_out);
        double t = now_s() - t0;
        if (t < cache) cache = t;
        t0 = now_s();
        for (int c = 0; c < copies; c++) { trit_mat wc = w; wc.data = big + (size_t)c * nb; mat_mul_rows(&wc, act, x, 1, y, 0, n_out); }
        t = now_s() - t0;
        if (t < dram) dram = t;
        t0 = now_s();
        sink ^= stream_read(big, nb * (size_t)copies);
        t = now_s() - t0;
        if (t < str) str = t;
    }
    const double bytes = (double)nb * copies;
    printf("%s %s %d x %d x %d copies (%.0f MB): in cache %.2f GB/s, from memory %.2f GB/s, stream %.2f GB/s"
           " -> roofline %.2f\n", w.layout == TT_LAYOUT_TL4 ? "TL4" : "TL", type == TT_I2_S ? "I2_S" : "TQ2_0", n_in, n_out, copies, bytes / 1e6, bytes / cache / 1e9, bytes / dram / 1e9, bytes / str / 1e9,
           str / dram);
    free(big); free(data); free(x); free(y); free(act);
    (void)sink;
}

int main(int argc, char **argv) {
    (void)read_oracle;
    g_dot_add = getenv("TRIT_TEST_DOT_ADD") != NULL;
    /* bench [n_in n_out [f16_kind [f16_scan]]] (or TRIT_TEST_BENCH="n_in n_out ..."): 2b FFN shape by default */
    const char *be = getenv("TRIT_TEST_BENCH");
    if (be && !strncmp(be, "mem", 3)) {
        int32_t n_in = 2560, n_out = 6912, copies = 100;
        char ty[8] = "";
        sscanf(be + 3, "%d %d %d %7s", &n_in, &n_out, &copies, ty);
        tl_dot_add = g_dot_add;   /* TRIT_TEST_DOT_ADD: the TL4 layout and its dot-add kernel (chromium, node --no-liftoff) */
        bench_mem(strcmp(ty, "i2_s") ? TT_TQ2_0 : TT_I2_S, n_in, n_out, copies);
        return 0;
    }
    if ((argc > 1 && !strcmp(argv[1], "bench")) || be) {
        int32_t n_in = 2560, n_out = 6912, kind = 2, scan = 1;
        if (be) sscanf(be, "%d %d %d %d", &n_in, &n_out, &kind, &scan);
        else {
            if (argc > 3) { n_in = atoi(argv[2]); n_out = atoi(argv[3]); }
            if (argc > 4) kind = atoi(argv[4]);
            if (argc > 5) scan = atoi(argv[5]);
        }
        const int32_t toks[] = {1, 2, 4, 8, 16};
        tl_dot_add = g_dot_add;   /* time the dot-add variant and TL4 (node --no-liftoff) */
        g_f16_kind = kind;
        g_f16_scan = scan;
        const struct { uint32_t type; int tl; } cases[] = {{TT_TQ2_0, 1}, {TT_I2_S, 1}, {TT_TQ2_0, 0}, {TT_TQ1_0, 0}, {TT_F16, 0},
                                                           {TT_Q8_0, 0}, {TT_Q6_K, 0}};
        /* TRIT_TEST_BENCH_TL: the TL cases only; TRIT_TEST_BENCH_Q: Q8_0 and Q6_K only */
        /* TRIT_TEST_BENCH_ONLY="CASE N_TOK": one case (index into cases[]) at one batch size */
        int c0 = getenv("TRIT_TEST_BENCH_Q") ? 5 : 0, ncases = getenv("TRIT_TEST_BENCH_TL") ? 2 : 7, k0 = 0, k1 = 5;
        const char *only = getenv("TRIT_TEST_BENCH_ONLY");
        int oc = 0, ot = 1;
        if (only && sscanf(only, "%d %d", &oc, &ot) == 2 && oc >= 0 && oc < 7) {
            c0 = oc; ncases = oc + 1;
            for (int k = 0; k < 5; k++) if (toks[k] == ot) { k0 = k; k1 = k + 1; }
        }
        for (int c = c0; c < ncases; c++)
            for (int k = k0; k < k1; k++) bench(cases[c].type, cases[c].tl, n_in, n_out, toks[k]);
        return 0;
    }
    g_quick = argc > 1 && !strcmp(argv[1], "quick");
    CHECK(simd128_available() == TRIT_TEST_EXPECT_SIMD, "SIMD128 kernels %s", TRIT_TEST_EXPECT_SIMD ? "built in" : "absent");
    test_tables();
    test_attention();
    test_kernels();
    return test_summary();
}
