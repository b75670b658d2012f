/* kernels_simd128.c: WebAssembly SIMD128 twins of the ternary matmul kernels of quant.c (TQ2_0, TQ1_0,
 * I2_S), behind the mat_mul_rows_opt() hook of quant.h. Compiled with -msimd128 -DTRIT_OPT_KERNELS
 * into build/wasm/trit-simd.wasm; without SIMD128 the hook declines every call (returns -1).
 *
 * Exactness: the results equal the scalar _ref kernels bit for bit. The integer part of every dot
 * product is exact in any order; the float part is evaluated with the same operations in the same
 * order as the reference: per (row, token) sumf += (float)sumi_block * (y.d * fp16(x.d)) block after
 * block (TQ*), or ((float)dot - (float)sum) / scale * w_scale once per row (I2_S). Vector lanes hold
 * different rows or tokens, never parts of one sum, so every lane computes the reference's sequence.
 *
 * Method: SIMD128 has no u8 x i8 multiply-add (x86 pmaddubsw). Weights are unpacked to i16 lanes
 * (ternary value t - 1 in {-1, 0, 1} for TQ*, code 0..2 for I2_S) with 16-bit shifts and masks, the
 * int8 activations are sign-extended on load (v128.load8x8_s), and i32x4.dot_i16x8_s multiplies and
 * adds pairs (x86: pmovsxbw + pmaddwd + paddd per 8 weights). Decode (n_tok = 1) works on tiles of
 * 4 rows whose block sums are reduced together and accumulated as f32x4 (lane = row); batches
 * (n_tok >= 2) unpack each weight block once and reuse it for all tokens (lanes = 4 tokens). */
#include "internal.h"
#include "quant.h"

#if defined(__wasm_simd128__)
#include <wasm_simd128.h>

#define INLINE static inline __attribute__((always_inline))

/* [sum(a), sum(b), sum(c), sum(d)] of four i32x4 */
INLINE v128_t hsum4(v128_t a, v128_t b, v128_t c, v128_t d) {
    v128_t ab = wasm_i32x4_add(wasm_i32x4_shuffle(a, b, 0, 4, 1, 5), wasm_i32x4_shuffle(a, b, 2, 6, 3, 7));
    v128_t cd = wasm_i32x4_add(wasm_i32x4_shuffle(c, d, 0, 4, 1, 5), wasm_i32x4_shuffle(c, d, 2, 6, 3, 7));
    return wasm_i32x4_add(wasm_i32x4_shuffle(ab, cd, 0, 1, 4, 5), wasm_i32x4_shuffle(ab, cd, 2, 3, 6, 7));
}

INLINE int32_t hsum1(v128_t v) {
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
    v = wasm_i32x4_add(v, wasm_i32x4_shuffle(v, v, 1, 0, 3, 2));
    return wasm_i32x4_extract_lane(v, 0);
}

/* sum_{e < 8n} s[e] * q[e] as i32x4 partial sums (s: n vectors of i16x8, q: int8) */
INLINE v128_t dot_i16(const v128_t *s, const int8_t *q, int n) {
    v128_t a0 = wasm_i32x4_splat(0), a1 = wasm_i32x4_splat(0);
    for (int v = 0; v < n; v += 2) {
        a0 = wasm_i32x4_add(a0, wasm_i32x4_dot_i16x8(s[v], wasm_i16x8_load8x8(q + 8 * v)));
        a1 = wasm_i32x4_add(a1, wasm_i32x4_dot_i16x8(s[v + 1], wasm_i16x8_load8x8(q + 8 * v + 8)));
    }
    return wasm_i32x4_add(a0, a1);
}

/* ---- unpacking one weight block to i16 lanes, in activation order ---- */

/* TQ2_0: element h*128 + l*32 + k is bits 2l of qs[h*32 + k]; s = code - 1 */
INLINE void unpack_tq2_0(const block_tq2_0 *b, v128_t s[32]) {
    const v128_t m3 = wasm_i16x8_splat(3), one = wasm_i16x8_splat(1);
    for (int h = 0; h < 2; h++)
        for (int kc = 0; kc < 4; kc++) {
            const v128_t x = wasm_u16x8_load8x8(b->qs + h * 32 + kc * 8);
            s[h * 16 + 0 + kc] = wasm_i16x8_sub(wasm_v128_and(x, m3), one);
            s[h * 16 + 4 + kc] = wasm_i16x8_sub(wasm_v128_and(wasm_u16x8_shr(x, 2), m3), one);
            s[h * 16 + 8 + kc] = wasm_i16x8_sub(wasm_v128_and(wasm_u16x8_shr(x, 4), m3), one);
            s[h * 16 + 12 + kc] = wasm_i16x8_sub(wasm_u16x8_shr(x, 6), one);
        }
}

/* TQ1_0 trit of byte b at power p = 3^l: ((b * p mod 256) * 3) >> 8, minus 1 */
INLINE v128_t tq1_s(v128_t b, v128_t p) {
    const v128_t q = wasm_v128_and(wasm_i16x8_mul(b, p), wasm_i16x8_splat(0xff));
    return wasm_i16x8_sub(wasm_u16x8_shr(wasm_i16x8_mul(q, wasm_i16x8_splat(3)), 8), wasm_i16x8_splat(1));
}

/* TQ1_0: elements l*32 + m from qs[m] (l < 5), 160 + l*16 + m from qs[32 + m] (l < 5),
 * 240 + l*4 + j from qh[j] (l < 4) */
INLINE void unpack_tq1_0(const block_tq1_0 *b, v128_t s[32]) {
    static const int16_t pw[5] = {1, 3, 9, 27, 81};
    for (int mc = 0; mc < 4; mc++) {
        const v128_t x = wasm_u16x8_load8x8(b->qs + mc * 8);
        for (int l = 0; l < 5; l++) s[l * 4 + mc] = tq1_s(x, wasm_i16x8_splat(pw[l]));
    }
    for (int mc = 0; mc < 2; mc++) {
        const v128_t x = wasm_u16x8_load8x8(b->qs + 32 + mc * 8);
        for (int l = 0; l < 5; l++) s[20 + l * 2 + mc] = tq1_s(x, wasm_i16x8_splat(pw[l]));
    }
    const v128_t h = wasm_u16x8_extend_low_u8x16(wasm_v128_load32_splat(b->qh));   /* qh0..3 qh0..3 */
    s[30] = tq1_s(h, wasm_i16x8_make(1, 1, 1, 1, 3, 3, 3, 3));
    s[31] = tq1_s(h, wasm_i16x8_make(9, 9, 9, 9, 27, 27, 27, 27));
}

/* I2_S (128 weights in 32 bytes): element g*32 + k is bits 6-2g of w[k]; codes 0..2 */
INLINE void unpack_i2_s(const uint8_t *w, v128_t s[16]) {
    const v128_t m3 = wasm_i16x8_splat(3);
    for (int kc = 0; kc < 4; kc++) {
        const v128_t x = wasm_u16x8_load8x8(w + kc * 8);
        s[0 + kc] = wasm_u16x8_shr(x, 6);
        s[4 + kc] = wasm_v128_and(wasm_u16x8_shr(x, 4), m3);
        s[8 + kc] = wasm_v128_and(wasm_u16x8_shr(x, 2), m3);
        s[12 + kc] = wasm_v128_and(x, m3);
    }
}

INLINE void unpack_tq(uint32_t type, const uint8_t *blk, v128_t s[32]) {
    if (type == TT_TQ2_0) unpack_tq2_0((const block_tq2_0 *)blk, s);
    else unpack_tq1_0((const block_tq1_0 *)blk, s);
}

INLINE float tq_d(uint32_t type, const uint8_t *blk) {
    return trit_fp16_to_fp32(type == TT_TQ2_0 ? ((const block_tq2_0 *)blk)->d : ((const block_tq1_0 *)blk)->d);
}

/* ---- TQ2_0 / TQ1_0 x Q8_K ---- */

INLINE void mm_tq(const uint32_t type, const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0,
                  int32_t r1) {
    const int32_t nb = w->n_in / QK_K, n_out = w->n_out;
    const size_t bsz = type == TT_TQ2_0 ? sizeof(block_tq2_0) : sizeof(block_tq1_0);
    const block_q8_K *a = act;        /* [n_tok][nb] */
    v128_t s[4][32];
    if (n_tok == 1) {
        int32_t r = r0;
        for (; r + 4 <= r1; r += 4) {   /* 4 rows: lane = row */
            const uint8_t *wr[4];
            for (int j = 0; j < 4; j++) wr[j] = w->data + (size_t)(r + j) * w->row_bytes;
            v128_t sumf = wasm_f32x4_splat(0.0f);
            for (int32_t i = 0; i < nb; i++) {
                v128_t acc[4];
                for (int j = 0; j < 4; j++) {
                    unpack_tq(type, wr[j] + i * bsz, s[j]);
                    acc[j] = dot_i16(s[j], a[i].qs, 32);
                }
                const v128_t xd = wasm_f32x4_make(tq_d(type, wr[0] + i * bsz), tq_d(type, wr[1] + i * bsz),
                                                  tq_d(type, wr[2] + i * bsz), tq_d(type, wr[3] + i * bsz));
                const v128_t d = wasm_f32x4_mul(wasm_f32x4_splat(a[i].d), xd);
                sumf = wasm_f32x4_add(sumf, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(hsum4(acc[0], acc[1], acc[2], acc[3])), d));
            }
            wasm_v128_store(y + r, sumf);
        }
        for (; r < r1; r++) {
            const uint8_t *wr = w->data + (size_t)r * w->row_bytes;
            float sumf = 0.0f;
            for (int32_t i = 0; i < nb; i++) {
                unpack_tq(type, wr + i * bsz, s[0]);
                const int32_t sumi = hsum1(dot_i16(s[0], a[i].qs, 32));
                sumf += (float)sumi * (a[i].d * tq_d(type, wr + i * bsz));
            }
            y[r] = sumf;
        }
        return;
    }
    /* n_tok >= 2: one row at a time, each weight block unpacked once for up to 16 tokens */
    for (int32_t t0 = 0; t0 < n_tok; t0 += 16) {
        const int32_t T = n_tok - t0 < 16 ? n_tok - t0 : 16, T4 = T & ~3;
        const block_q8_K *at[16];
        for (int32_t t = 0; t < T; t++) at[t] = a + (size_t)(t0 + t) * nb;
        for (int32_t r = r0; r < r1; r++) {
            const uint8_t *wr = w->data + (size_t)r * w->row_bytes;
            v128_t sumv[4] = {wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f), wasm_f32x4_splat(0.0f),
                              wasm_f32x4_splat(0.0f)};
            float sumf[16] = {0};
            for (int32_t i = 0; i < nb; i++) {
                unpack_tq(type, wr + i * bsz, s[0]);
                const float xd = tq_d(type, wr + i * bsz);
                for (int32_t t = 0; t < T4; t += 4) {   /* 4 tokens: lane = token */
                    const v128_t sums = hsum4(dot_i16(s[0], at[t][i].qs, 32), dot_i16(s[0], at[t + 1][i].qs, 32),
                                              dot_i16(s[0], at[t + 2][i].qs, 32), dot_i16(s[0], at[t + 3][i].qs, 32));
                    const v128_t d = wasm_f32x4_mul(
                        wasm_f32x4_make(at[t][i].d, at[t + 1][i].d, at[t + 2][i].d, at[t + 3][i].d), wasm_f32x4_splat(xd));
                    sumv[t / 4] = wasm_f32x4_add(sumv[t / 4], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(sums), d));
                }
                for (int32_t t = T4; t < T; t++) {
                    const int32_t sumi = hsum1(dot_i16(s[0], at[t][i].qs, 32));
                    sumf[t] += (float)sumi * (at[t][i].d * xd);
                }
            }
            for (int32_t t = 0; t < T4; t += 4) wasm_v128_store(sumf + t, sumv[t / 4]);
            for (int32_t t = 0; t < T; t++) y[(size_t)(t0 + t) * n_out + r] = sumf[t];
        }
    }
}

/* ---- I2_S x int8 (per-token scale and sum after the rows of act, see quant.c) ---- */

static void mm_i2_s(const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0, int32_t r1) {
    const int32_t n = w->n_in, nb = n / QK_I2_S, n_out = w->n_out;
    const int8_t *q = act;            /* [n_tok][n] */
    const float *scales = (const float *)(q + (size_t)n * n_tok);
    const int32_t *sums = (const int32_t *)(scales + n_tok);
    v128_t s[16];
    if (n_tok == 1) {
        int32_t r = r0;
        for (; r + 4 <= r1; r += 4) {
            v128_t acc[4] = {wasm_i32x4_splat(0), wasm_i32x4_splat(0), wasm_i32x4_splat(0), wasm_i32x4_splat(0)};
            for (int j = 0; j < 4; j++) {
                const uint8_t *wr = w->data + (size_t)(r + j) * w->row_bytes;
                for (int32_t b = 0; b < nb; b++) {
                    unpack_i2_s(wr + b * 32, s);
                    acc[j] = wasm_i32x4_add(acc[j], dot_i16(s, q + b * QK_I2_S, 16));
                }
            }
            const v128_t dot = wasm_f32x4_convert_i32x4(hsum4(acc[0], acc[1], acc[2], acc[3]));
            const v128_t v = wasm_f32x4_mul(
                wasm_f32x4_div(wasm_f32x4_sub(dot, wasm_f32x4_splat((float)sums[0])), wasm_f32x4_splat(scales[0])),
                wasm_f32x4_splat(w->scale));
            wasm_v128_store(y + r, v);
        }
        for (; r < r1; r++) {
            const uint8_t *wr = w->data + (size_t)r * w->row_bytes;
            v128_t acc = wasm_i32x4_splat(0);
            for (int32_t b = 0; b < nb; b++) {
                unpack_i2_s(wr + b * 32, s);
                acc = wasm_i32x4_add(acc, dot_i16(s, q + b * QK_I2_S, 16));
            }
            y[r] = ((float)hsum1(acc) - (float)sums[0]) / scales[0] * w->scale;
        }
        return;
    }
    for (int32_t t0 = 0; t0 < n_tok; t0 += 16) {
        const int32_t T = n_tok - t0 < 16 ? n_tok - t0 : 16;
        for (int32_t r = r0; r < r1; r++) {
            const uint8_t *wr = w->data + (size_t)r * w->row_bytes;
            v128_t acc[16];
            for (int32_t t = 0; t < T; t++) acc[t] = wasm_i32x4_splat(0);
            for (int32_t b = 0; b < nb; b++) {
                unpack_i2_s(wr + b * 32, s);
                for (int32_t t = 0; t < T; t++)
                    acc[t] = wasm_i32x4_add(acc[t], dot_i16(s, q + (size_t)(t0 + t) * n + b * QK_I2_S, 16));
            }
            for (int32_t t = 0; t < T; t++) {
                const int32_t tt = t0 + t;
                y[(size_t)tt * n_out + r] = ((float)hsum1(acc[t]) - (float)sums[tt]) / scales[tt] * w->scale;
            }
        }
    }
}

int mat_mul_rows_opt(const trit_mat *w, const void *act, const float *x, int32_t n_tok, float *y, int32_t r0,
                     int32_t r1) {
    (void)x;
    switch (w->type) {
    case TT_TQ2_0: mm_tq(TT_TQ2_0, w, act, n_tok, y, r0, r1); return 0;
    case TT_TQ1_0: mm_tq(TT_TQ1_0, w, act, n_tok, y, r0, r1); return 0;
    case TT_I2_S: mm_i2_s(w, act, n_tok, y, r0, r1); return 0;
    default: return -1;
    }
}

#else /* no SIMD128: every call falls back to the scalar reference */

int mat_mul_rows_opt(const trit_mat *w, const void *act, const float *x, int32_t n_tok, float *y, int32_t r0,
                     int32_t r1) {
    (void)w; (void)act; (void)x; (void)n_tok; (void)y; (void)r0; (void)r1;
    return -1;
}

#endif
