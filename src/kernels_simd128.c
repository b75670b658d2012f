/* kernels_simd128.c: WebAssembly SIMD128 kernels behind kernels.h (dispatch in kernels.c):
 *   - TL layout TQ2_0 / I2_S (the repacked ternary matrices): 16-row table lookups, see kernels.h;
 *   - GGUF layout TQ2_0 / TQ1_0 / I2_S (matrices that were not repacked, and TQ1_0 always);
 *   - F16 and F32 (LM heads, float models);
 *   - the attention's q.k and p.v (F16 and F32 KV cache).
 * Compiled with -msimd128 -DTRIT_OPT_KERNELS into build/wasm/trit-simd*.wasm; with -mrelaxed-simd
 * (clang-19: trit-relaxed.wasm) the table lookups use i8x16.relaxed_swizzle, which is exact for our
 * indices (all < 16), so every build computes the same bits. Without SIMD128 every entry declines.
 *
 * Exactness: the ternary results equal the scalar _ref kernels bit for bit. The integer part of every
 * dot product is exact in any order; the float part is evaluated with the same operations in the same
 * order as the reference: per (row, token) sumf += (float)sumi_block * (y.d * fp16(x.d)) block after
 * block (TQ*), or ((float)dot - (float)sum) / scale * w_scale once per row (I2_S). Vector lanes hold
 * different rows or tokens, never parts of one sum, so every lane computes the reference's sequence.
 * F16/F32 accumulate in f32 lanes (the reference sums in double): not bit-equal to the reference, but
 * each (row, token) is computed by the same operation sequence whatever the batch size and row range,
 * so decoding N tokens at once gives the same bits as N single-token steps.
 *
 * GGUF layout method (TQ2_0, I2_S; TQ1_0 multiplies trit prefixes instead, see mm_tq1_prefix): weights
 * are unpacked to i16 lanes (ternary value t - 1 in {-1, 0, 1} for TQ2_0,
 * code 0..2 for I2_S) with 16-bit shifts and masks, the int8 activations are sign-extended on load
 * (v128.load8x8_s), and i32x4.dot_i16x8_s multiplies and adds pairs. Decode (n_tok = 1) works on tiles
 * of 4 rows whose block sums are reduced together and accumulated as f32x4 (lane = row); batches
 * (n_tok >= 2) unpack each weight block once and reuse it for all tokens (lanes = 4 tokens). */
#include "internal.h"
#include "kernels.h"
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

INLINE v128_t f16x4(uint16_t a, uint16_t b, uint16_t c, uint16_t d);   /* below, with the Q8_0 kernels */

/* ---- TQ1_0 x Q8_K by trit prefixes (kernels.h) ----
 * Per 8 bytes: P = (b * 3^(l+1)) >> 8 in u16 lanes (b * 243 < 2^16), then i32x4.dot_i16x8_s with 8
 * transformed activations: 3 ops (+ the add) per 8 weights, where extracting the trits took ~8. P[v]
 * multiplies elements 8v..8v+7 of the block: v = 4l + k (qs[8k..8k+7], trit l), 20 + 2l + k (qs[32 +
 * 8k..], trit l), 30 / 31 (the qh bytes, trits 0-1 / 2-3). */
INLINE v128_t tq1_p(v128_t b, v128_t p3) { return wasm_u16x8_shr(wasm_i16x8_mul(b, p3), 8); }

INLINE void tq1_prefixes(const block_tq1_0 *b, v128_t P[32]) {
    static const int16_t p3[5] = {3, 9, 27, 81, 243};
    v128_t x[6];
    for (int k = 0; k < 6; k++) x[k] = wasm_u16x8_load8x8(b->qs + 8 * k);
    for (int l = 0; l < 5; l++) {
        const v128_t p = wasm_i16x8_splat(p3[l]);
        for (int k = 0; k < 4; k++) P[4 * l + k] = tq1_p(x[k], p);
        for (int k = 0; k < 2; k++) P[20 + 2 * l + k] = tq1_p(x[4 + k], p);
    }
    const v128_t h = wasm_u16x8_extend_low_u8x16(wasm_v128_load32_splat(b->qh));   /* qh0..3 qh0..3 */
    P[30] = tq1_p(h, wasm_i16x8_make(3, 3, 3, 3, 9, 9, 9, 9));
    P[31] = tq1_p(h, wasm_i16x8_make(27, 27, 27, 27, 81, 81, 81, 81));
}

/* i32x4 partial sums of sum_e P * a' over one block (a': 256 int16) */
INLINE v128_t tq1_pdot(const v128_t P[32], const int16_t *ap) {
    v128_t s0 = wasm_i32x4_splat(0), s1 = s0;
    for (int v = 0; v < 32; v += 2) {
        s0 = wasm_i32x4_add(s0, wasm_i32x4_dot_i16x8(P[v], wasm_v128_load(ap + 8 * v)));
        s1 = wasm_i32x4_add(s1, wasm_i32x4_dot_i16x8(P[v + 1], wasm_v128_load(ap + 8 * v + 8)));
    }
    return wasm_i32x4_add(s0, s1);
}

/* decode: one block's prefixes and their dot */
INLINE v128_t tq1_block_pdot(const block_tq1_0 *b, const int16_t *ap) {
    v128_t P[32];
    tq1_prefixes(b, P);
    return tq1_pdot(P, ap);
}

INLINE int32_t q8k_block_sum(const block_q8_K *b) {   /* sum of the block's 256 activations */
    const v128_t s = wasm_i32x4_add(wasm_i32x4_extadd_pairwise_i16x8(wasm_v128_load(b->bsums)),
                                    wasm_i32x4_extadd_pairwise_i16x8(wasm_v128_load(b->bsums + 8)));
    return hsum1(s);
}

/* sumi = sum t a - sum a = sum (t - 1) a per block; then the reference's float steps */
static void mm_tq1_prefix(const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0, int32_t r1) {
    const int32_t nb = w->n_in / QK_K, n_out = w->n_out;
    const block_q8_K *a = act;        /* [n_tok][nb] */
    const int16_t *aps = (const int16_t *)((const uint8_t *)act + tl_table_offset(TT_TQ1_0, w->n_in, n_tok));
    if (n_tok == 1) {
        int32_t r = r0;
        for (; r + 4 <= r1; r += 4) {   /* 4 rows: lane = row */
            const block_tq1_0 *wr[4];
            for (int j = 0; j < 4; j++) wr[j] = (const block_tq1_0 *)(w->data + (size_t)(r + j) * w->row_bytes);
            v128_t sumf = wasm_f32x4_splat(0.0f);
            for (int32_t i = 0; i < nb; i++) {
                v128_t acc[4];
                for (int j = 0; j < 4; j++) {
                    /* a compiler barrier: without it clang hoists the block's 32 activation loads out of
                     * this row loop, V8 has no 32 registers for them and spills them (32 stores and 32
                     * reloads a block); with it each row reads them straight from the prepared array
                     * (kernel bench, 1536 x 4096 decode: 0.083 against 0.093 ns a weight, with f16x4) */
                    __asm__ volatile("" ::: "memory");
                    acc[j] = tq1_block_pdot(&wr[j][i], aps + (size_t)i * QK_K);
                }
                const v128_t si = wasm_i32x4_sub(hsum4(acc[0], acc[1], acc[2], acc[3]), wasm_i32x4_splat(q8k_block_sum(&a[i])));
                const v128_t xd = f16x4(wr[0][i].d, wr[1][i].d, wr[2][i].d, wr[3][i].d);
                sumf = wasm_f32x4_add(sumf, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(si), wasm_f32x4_mul(xd, wasm_f32x4_splat(a[i].d))));
            }
            wasm_v128_store(y + r, sumf);
        }
        for (; r < r1; r++) {
            const block_tq1_0 *wr = (const block_tq1_0 *)(w->data + (size_t)r * w->row_bytes);
            float sumf = 0.0f;
            for (int32_t i = 0; i < nb; i++) {
                const int32_t sumi = hsum1(tq1_block_pdot(&wr[i], aps + (size_t)i * QK_K)) - q8k_block_sum(&a[i]);
                sumf += (float)sumi * (trit_fp16_to_fp32(wr[i].d) * a[i].d);
            }
            y[r] = sumf;
        }
        return;
    }
    /* batches: a block's prefixes once per row for up to 16 tokens */
    for (int32_t r = r0; r < r1; r++) {
        const block_tq1_0 *wr = (const block_tq1_0 *)(w->data + (size_t)r * w->row_bytes);
        for (int32_t t0 = 0; t0 < n_tok; t0 += 16) {
            const int32_t T = n_tok - t0 < 16 ? n_tok - t0 : 16;
            float sumf[16] = {0};
            for (int32_t i = 0; i < nb; i++) {
                v128_t P[32];
                tq1_prefixes(&wr[i], P);
                const float xd = trit_fp16_to_fp32(wr[i].d);
                for (int32_t t = 0; t < T; t++) {
                    const block_q8_K *at = &a[(size_t)(t0 + t) * nb + i];
                    const int32_t sumi = hsum1(tq1_pdot(P, aps + ((size_t)(t0 + t) * nb + i) * QK_K)) - q8k_block_sum(at);
                    sumf[t] += (float)sumi * (xd * at->d);
                }
            }
            for (int32_t t = 0; t < T; t++) y[(size_t)(t0 + t) * n_out + r] = sumf[t];
        }
    }
}

/* ---- TQ2_0 x Q8_K (GGUF layout) ---- */

INLINE float tq2_d(const uint8_t *blk) { return trit_fp16_to_fp32(((const block_tq2_0 *)blk)->d); }

static void mm_tq2_0(const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0, int32_t r1) {
    const int32_t nb = w->n_in / QK_K, n_out = w->n_out;
    const size_t bsz = sizeof(block_tq2_0);
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
                    unpack_tq2_0((const block_tq2_0 *)(wr[j] + i * bsz), s[j]);
                    acc[j] = dot_i16(s[j], a[i].qs, 32);
                }
                const v128_t xd = wasm_f32x4_make(tq2_d(wr[0] + i * bsz), tq2_d(wr[1] + i * bsz),
                                                  tq2_d(wr[2] + i * bsz), tq2_d(wr[3] + i * bsz));
                const v128_t d = wasm_f32x4_mul(wasm_f32x4_splat(a[i].d), xd);
                sumf = wasm_f32x4_add(sumf, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(hsum4(acc[0], acc[1], acc[2], acc[3])), d));
            }
            wasm_v128_store(y + r, sumf);
        }
        for (; r < r1; r++) {
            const uint8_t *wr = w->data + (size_t)r * w->row_bytes;
            float sumf = 0.0f;
            for (int32_t i = 0; i < nb; i++) {
                unpack_tq2_0((const block_tq2_0 *)(wr + i * bsz), s[0]);
                const int32_t sumi = hsum1(dot_i16(s[0], a[i].qs, 32));
                sumf += (float)sumi * (a[i].d * tq2_d(wr + i * bsz));
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
                unpack_tq2_0((const block_tq2_0 *)(wr + i * bsz), s[0]);
                const float xd = tq2_d(wr + i * bsz);
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

/* ---- TL layout (kernels.h): 16 rows per v128 of pair codes, table lookups ---- */

#ifdef __wasm_relaxed_simd__
#define SWZ wasm_i8x16_relaxed_swizzle   /* indices are < 16: the same result as i8x16.swizzle */
#else
#define SWZ wasm_i8x16_swizzle
#endif

/* bytes (lo[i], hi[i]) -> int16 lanes: rows 0..7 and rows 8..15 */
#define ILO(l, h) wasm_i8x16_shuffle(l, h, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define IHI(l, h) wasm_i8x16_shuffle(l, h, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)

/* halves -> f32, 4 lanes (s: the halves sign-extended to i32). fast: normal halves (and zeros) give
 * w * 2^-112 with two integer ops; exact: any half, the reference's trit_fp16_to_fp32 */
INLINE v128_t f16_fast4(v128_t s) {   /* s: sign-extended halves -> w * 2^-112 */
    return wasm_v128_and(wasm_i32x4_shl(s, 13), wasm_i32x4_splat((int32_t)0x8FFFE000u));
}

INLINE v128_t f16_exact4(v128_t s) {   /* -> w */
    const v128_t mag = wasm_i32x4_shl(wasm_v128_and(s, wasm_i32x4_splat(0x7fff)), 13);
    const v128_t norm = wasm_i32x4_add(mag, wasm_i32x4_splat(112 << 23));
    /* subnormal m * 2^-24 = f32(2^-14 + m * 2^-24) - 2^-14, exact; zero gives 0 */
    const v128_t sub = wasm_f32x4_sub(wasm_i32x4_add(mag, wasm_i32x4_splat(113 << 23)), wasm_f32x4_splat(0x1p-14f));
    v128_t v = wasm_v128_bitselect(norm, sub, wasm_i32x4_gt(mag, wasm_i32x4_splat(0x7fffff)));
    /* inf / NaN: all exponent bits, the mantissa kept */
    v = wasm_v128_bitselect(wasm_v128_or(mag, wasm_i32x4_splat(0x7f800000)), v, wasm_i32x4_gt(mag, wasm_i32x4_splat((0x7c00 << 13) - 1)));
    return wasm_v128_or(v, wasm_v128_and(s, wasm_i32x4_splat((int32_t)0x80000000u)));
}

/* a TQ2_0 TL group's 16 row scales (fp16, row order) as xd[k] = rows 4k..4k+3, exactly
 * trit_fp16_to_fp32 of each, in vector ops: the fast conversion times 2^112 (exact for normal halves and
 * zeros) unless one of the 16 is subnormal (exact that way too, but a denormal operand makes an x86
 * multiply take a microcode assist), inf or NaN. Was 16 scalar conversions per 16 rows x 256 weights:
 * the TL TQ2_0 decode kernel in cache took 0.051 instead of 0.057-0.060 ns a weight (test_kernels_wasm
 * bench, 2560 x 2560). */
INLINE void tl_row_scales(const uint16_t *d16, v128_t xd[4]) {
    const v128_t v0 = wasm_v128_load(d16), v1 = wasm_v128_load(d16 + 8);
    const v128_t one = wasm_i16x8_splat(1), top = wasm_i16x8_splat(0x3ff), big = wasm_i16x8_splat(0x7bff);
    const v128_t m0 = wasm_v128_and(v0, wasm_i16x8_splat(0x7fff)), m1 = wasm_v128_and(v1, wasm_i16x8_splat(0x7fff));
    /* magnitude 1..0x3ff: subnormal; above 0x7bff: inf / NaN */
    const v128_t odd = wasm_v128_or(wasm_v128_or(wasm_u16x8_lt(wasm_i16x8_sub(m0, one), top), wasm_i16x8_gt(m0, big)),
                                    wasm_v128_or(wasm_u16x8_lt(wasm_i16x8_sub(m1, one), top), wasm_i16x8_gt(m1, big)));
    const v128_t s[4] = {wasm_i32x4_extend_low_i16x8(v0), wasm_i32x4_extend_high_i16x8(v0),
                         wasm_i32x4_extend_low_i16x8(v1), wasm_i32x4_extend_high_i16x8(v1)};
    if (!wasm_v128_any_true(odd))
        for (int k = 0; k < 4; k++) xd[k] = wasm_f32x4_mul(f16_fast4(s[k]), wasm_f32x4_splat(0x1p112f));
    else
        for (int k = 0; k < 4; k++) xd[k] = f16_exact4(s[k]);
}

/* si[0..3] += rows 0-3, 4-7 (lo) and 8-11, 12-15 (hi) of two int16 row sums, widened */
INLINE void widen_add(v128_t si[4], v128_t lo, v128_t hi) {
    si[0] = wasm_i32x4_add(si[0], wasm_i32x4_extend_low_i16x8(lo));
    si[1] = wasm_i32x4_add(si[1], wasm_i32x4_extend_high_i16x8(lo));
    si[2] = wasm_i32x4_add(si[2], wasm_i32x4_extend_low_i16x8(hi));
    si[3] = wasm_i32x4_add(si[3], wasm_i32x4_extend_high_i16x8(hi));
}

/* Sums over 32 index vectors (64 pairs) of one 16-row group, for T tokens: si[t][k] += rows 4k..4k+3.
 * Each int16 lane adds 64 entries of |v| <= 508: no overflow. */
INLINE void tl_chunk(const uint8_t *idx, const uint8_t *const *tab, int T, v128_t si[][4]) {
    const v128_t m4 = wasm_i8x16_splat(15);
    v128_t lo[4], hi[4];
    for (int t = 0; t < T; t++) lo[t] = hi[t] = wasm_i16x8_splat(0);
    for (int q = 0; q < 32; q++) {
        const v128_t x = wasm_v128_load(idx + q * TL_ROWS);
        const v128_t i0 = wasm_v128_and(x, m4), i1 = wasm_v128_and(wasm_u16x8_shr(x, 4), m4);
        for (int t = 0; t < T; t++) {
            const uint8_t *tb = tab[t] + q * 64;
            const v128_t l0 = SWZ(wasm_v128_load(tb), i0), h0 = SWZ(wasm_v128_load(tb + 16), i0);
            const v128_t l1 = SWZ(wasm_v128_load(tb + 32), i1), h1 = SWZ(wasm_v128_load(tb + 48), i1);
            lo[t] = wasm_i16x8_add(lo[t], wasm_i16x8_add(ILO(l0, h0), ILO(l1, h1)));
            hi[t] = wasm_i16x8_add(hi[t], wasm_i16x8_add(IHI(l0, h0), IHI(l1, h1)));
        }
    }
    for (int t = 0; t < T; t++) widen_add(si[t], lo[t], hi[t]);
}

/* One 16-row tile for T <= 4 tokens: out[t][16]. tab[t]: token t's tables; act: reference activations. */
INLINE void tl_tile(const uint32_t type, const trit_mat *w, const uint8_t *tile, const uint8_t *const *tab0,
                    const void *act, const int32_t *toks, int T, int32_t n_tok, float out[][TL_ROWS]) {
    const int32_t n = w->n_in;
    const uint8_t *tab[4];
    if (type == TT_TQ2_0) {
        const int32_t nb = n / QK_K;
        v128_t sf[4][4];
        for (int t = 0; t < T; t++) for (int k = 0; k < 4; k++) sf[t][k] = wasm_f32x4_splat(0.0f);
        for (int32_t b = 0; b < nb; b++) {
            const uint8_t *g = tile + (size_t)b * (TL_ROWS * sizeof(block_tq2_0));
            v128_t si[4][4];
            for (int t = 0; t < T; t++) for (int k = 0; k < 4; k++) si[t][k] = wasm_i32x4_splat(0);
            for (int h = 0; h < 2; h++) {
                for (int t = 0; t < T; t++) tab[t] = tab0[t] + ((size_t)b * 128 + h * 64) * 32;
                tl_chunk(g + h * 32 * TL_ROWS, tab, T, si);
            }
            v128_t xd[4];
            tl_row_scales((const uint16_t *)(g + 64 * TL_ROWS), xd);
            for (int t = 0; t < T; t++) {
                const v128_t yd = wasm_f32x4_splat(((const block_q8_K *)act)[(size_t)toks[t] * nb + b].d);
                for (int k = 0; k < 4; k++)   /* sumf += (float)sumi * (y.d * x.d), as the reference */
                    sf[t][k] = wasm_f32x4_add(sf[t][k], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(si[t][k]), wasm_f32x4_mul(yd, xd[k])));
            }
        }
        for (int t = 0; t < T; t++) for (int k = 0; k < 4; k++) wasm_v128_store(out[t] + 4 * k, sf[t][k]);
    } else {   /* I2_S: one integer dot per row; dot = sum(entries) + sum(a) */
        const int32_t nb = n / QK_I2_S;
        const float *scales = (const float *)((const int8_t *)act + (size_t)n * n_tok);
        const int32_t *sums = (const int32_t *)(scales + n_tok);
        v128_t si[4][4];
        for (int t = 0; t < T; t++) for (int k = 0; k < 4; k++) si[t][k] = wasm_i32x4_splat(0);
        for (int32_t b = 0; b < nb; b++) {
            for (int t = 0; t < T; t++) tab[t] = tab0[t] + (size_t)b * 64 * 32;
            tl_chunk(tile + (size_t)b * 32 * TL_ROWS, tab, T, si);
        }
        for (int t = 0; t < T; t++) {
            const v128_t sum = wasm_f32x4_splat((float)sums[toks[t]]), sc = wasm_f32x4_splat(scales[toks[t]]);
            const v128_t ws = wasm_f32x4_splat(w->scale), isum = wasm_i32x4_splat(sums[toks[t]]);
            for (int k = 0; k < 4; k++) {
                const v128_t dot = wasm_f32x4_convert_i32x4(wasm_i32x4_add(si[t][k], isum));
                wasm_v128_store(out[t] + 4 * k, wasm_f32x4_mul(wasm_f32x4_div(wasm_f32x4_sub(dot, sum), sc), ws));
            }
        }
    }
}

/* ---- TL layout, decode (one token): TL_STREAMS tiles at once ----
 * Measured on the 2-vCPU x86 host (docs/bench.md): a kernel reading one sequential stream from memory
 * does not overlap its compute with the memory latency (the matrix streams at ~4 GB/s where the same
 * kernel runs at ~7 GB/s in cache and a plain read at ~9 GB/s: the times add up), while reading
 * several streams at once does (more lines in flight). So decode walks TL_STREAMS tiles that lie far
 * apart in the row range in lockstep; they also share every table load. Same integers, same float
 * steps per row as tl_tile: the same bits. Measured with bench/ab.mjs (2b TQ2_0, relaxed build, both
 * builds interleaved token by token in one process): 2 streams decode in 0.82x / 0.87x the time of 1;
 * 4 streams spill registers (slower in cache, no better from memory in the kernel bench). That was the
 * plain build's lookups (whose swizzles need a range fix-up each); the relaxed build's take 4 since
 * the seventh session: in Node, decode in 0.85x the time of 2 (2b I2_S), 0.94x (2b TQ2_0), 0.63x (700m
 * I2_S), 0.93x (700m TQ2_0), paired, both orders. The plain build's take 3: 0.81x / 0.79x (700m I2_S /
 * TQ2_0), 0.97x / 1.04x (2b); 4 there: no better than 3 (0.95-1.07x). Streams whose distance is a
 * multiple of 4 KB (I2_S rows are n_in / 4 bytes; 700m TQ2_0's runs happen to be) gained the most.
 * TL4 decode (the dot-adds, chromium) walks TL4_STREAMS = 4: its inner loop needs fewer registers, and
 * with 2 its I2_S matrices read from memory at 4.5 GB/s where the same kernel runs at 12 GB/s in cache
 * (TQ2_0: 7.4; the kernel bench's memory mode in chromium, bench/wasi-browser.mjs); with 4, 9.5-10.3
 * (TQ2_0 8.1-8.9), and a 2b I2_S model decodes in 0.50x the time (TQ2_0 0.89-0.96x; docs/bench.md). */
#ifndef TL_STREAMS
#ifdef __wasm_relaxed_simd__
#define TL_STREAMS 4   /* the relaxed lookups (no swizzle fix-up) have the registers for 4: see above */
#else
#define TL_STREAMS 3
#endif
#endif
#ifndef TL4_STREAMS
#define TL4_STREAMS 4
#endif
#define TL_STREAMS_MAX (TL_STREAMS > TL4_STREAMS ? TL_STREAMS : TL4_STREAMS)

INLINE void tl_chunk_ns(const uint8_t *const *idx, const uint8_t *tb, int NS, v128_t si[][4]) {
    const v128_t m4 = wasm_i8x16_splat(15);
    v128_t lo[TL_STREAMS_MAX], hi[TL_STREAMS_MAX];
    for (int s = 0; s < NS; s++) lo[s] = hi[s] = wasm_i16x8_splat(0);
    for (int q = 0; q < 32; q++) {
        const uint8_t *t = tb + q * 64;
        const v128_t t0 = wasm_v128_load(t), t1 = wasm_v128_load(t + 16), t2 = wasm_v128_load(t + 32), t3 = wasm_v128_load(t + 48);
        for (int s = 0; s < NS; s++) {
            const v128_t x = wasm_v128_load(idx[s] + q * TL_ROWS);
            const v128_t i0 = wasm_v128_and(x, m4), i1 = wasm_v128_and(wasm_u16x8_shr(x, 4), m4);
            const v128_t l0 = SWZ(t0, i0), h0 = SWZ(t1, i0), l1 = SWZ(t2, i1), h1 = SWZ(t3, i1);
            lo[s] = wasm_i16x8_add(lo[s], wasm_i16x8_add(ILO(l0, h0), ILO(l1, h1)));
            hi[s] = wasm_i16x8_add(hi[s], wasm_i16x8_add(IHI(l0, h0), IHI(l1, h1)));
        }
    }
    for (int s = 0; s < NS; s++) widen_add(si[s], lo[s], hi[s]);
}

INLINE void tl4_chunk_ns(const uint8_t *const *idx, const int8_t *a, int nq, int NS, v128_t si[][4]);   /* below */

/* NS tiles, one token: out[s][16] (the float part as tl_tile's for T = 1). tl4: a TL4 matrix (kernels.h),
 * its dot-adds instead of the lookups, the same integers per block (TQ2_0: sum c a - sum a, I2_S: sum
 * c a, where the lookups sum (c - 1) a) and the same float steps: the same bits */
INLINE void tl_tiles_ns(const uint32_t type, const int tl4, const trit_mat *w, const uint8_t *const *tiles, int NS,
                        const uint8_t *tab0, const void *act, float out[][TL_ROWS]) {
    const int32_t n = w->n_in;
    const uint8_t *idx[TL_STREAMS_MAX];
    v128_t si[TL_STREAMS_MAX][4];
    if (type == TT_TQ2_0) {
        const int32_t nb = n / QK_K;
        v128_t sf[TL_STREAMS_MAX][4];
        for (int s = 0; s < NS; s++) for (int k = 0; k < 4; k++) sf[s][k] = wasm_f32x4_splat(0.0f);
        for (int32_t b = 0; b < nb; b++) {
            const size_t go = (size_t)b * (TL_ROWS * sizeof(block_tq2_0));
            const block_q8_K *ab = (const block_q8_K *)act + b;
            const v128_t s0 = wasm_i32x4_splat(tl4 ? -q8k_block_sum(ab) : 0);
            for (int s = 0; s < NS; s++) for (int k = 0; k < 4; k++) si[s][k] = s0;
            if (tl4) {
                for (int s = 0; s < NS; s++) idx[s] = tiles[s] + go;
                tl4_chunk_ns(idx, ab->qs, 64, NS, si);
            } else
                for (int h = 0; h < 2; h++) {
                    for (int s = 0; s < NS; s++) idx[s] = tiles[s] + go + h * 32 * TL_ROWS;
                    tl_chunk_ns(idx, tab0 + ((size_t)b * 128 + h * 64) * 32, NS, si);
                }
            const v128_t yd = wasm_f32x4_splat(ab->d);
            for (int s = 0; s < NS; s++) {
                v128_t xd[4];
                tl_row_scales((const uint16_t *)(tiles[s] + go + 64 * TL_ROWS), xd);
                for (int k = 0; k < 4; k++)   /* sumf += (float)sumi * (y.d * x.d), as the reference */
                    sf[s][k] = wasm_f32x4_add(sf[s][k], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(si[s][k]), wasm_f32x4_mul(yd, xd[k])));
            }
        }
        for (int s = 0; s < NS; s++) for (int k = 0; k < 4; k++) wasm_v128_store(out[s] + 4 * k, sf[s][k]);
    } else {   /* I2_S: one integer dot per row; lookups: dot = sum(entries) + sum(a) */
        const int32_t nb = n / QK_I2_S;
        const float *scales = (const float *)((const int8_t *)act + (size_t)n);
        const int32_t *sums = (const int32_t *)(scales + 1);
        for (int s = 0; s < NS; s++) for (int k = 0; k < 4; k++) si[s][k] = wasm_i32x4_splat(0);
        for (int32_t b = 0; b < nb; b++) {
            for (int s = 0; s < NS; s++) idx[s] = tiles[s] + (size_t)b * 32 * TL_ROWS;
            if (tl4) tl4_chunk_ns(idx, (const int8_t *)act + (size_t)b * QK_I2_S, 32, NS, si);
            else tl_chunk_ns(idx, tab0 + (size_t)b * 64 * 32, NS, si);
        }
        const v128_t sum = wasm_f32x4_splat((float)sums[0]), sc = wasm_f32x4_splat(scales[0]);
        const v128_t ws = wasm_f32x4_splat(w->scale), isum = wasm_i32x4_splat(tl4 ? 0 : sums[0]);
        for (int s = 0; s < NS; s++)
            for (int k = 0; k < 4; k++) {
                const v128_t dot = wasm_f32x4_convert_i32x4(wasm_i32x4_add(si[s][k], isum));
                wasm_v128_store(out[s] + 4 * k, wasm_f32x4_mul(wasm_f32x4_div(wasm_f32x4_sub(dot, sum), sc), ws));
            }
    }
}

/* The tiles of rows [r0, r1) in S interleaved runs: stream s takes tiles ta + s*run + i (run = the
 * runs' length); step i's tiles (at most S) and their indices, returns how many */
INLINE int32_t tl_runs(int32_t r0, int32_t r1, int S) {
    const int32_t nt = (r1 + TL_ROWS - 1) / TL_ROWS - r0 / TL_ROWS;
    return (nt + S - 1) / S;
}
INLINE int tl_run_tiles(const trit_mat *w, int32_t r0, int32_t r1, int S, int32_t i, const uint8_t **tiles, int32_t *tix) {
    const int32_t ta = r0 / TL_ROWS, nt = (r1 + TL_ROWS - 1) / TL_ROWS - ta, run = tl_runs(r0, r1, S);
    int NS = 0;
    for (int s = 0; s < S; s++)
        if (s * run + i < nt) { tix[NS] = ta + s * run + i; tiles[NS] = w->data + (size_t)tix[NS] * TL_ROWS * w->row_bytes; NS++; }
    return NS;
}

/* decode over rows [r0, r1): the range's tiles in S interleaved runs (tl4: a TL4 matrix, S = TL4_STREAMS;
 * else TL_STREAMS) */
INLINE void mm_tl_decode_s(const uint32_t type, const int tl4, const trit_mat *w, const void *act, float *y, int32_t r0,
                           int32_t r1, const int S) {
    const uint8_t *tab = (const uint8_t *)act + tl_table_offset(type, w->n_in, 1);
    for (int32_t i = 0, run = tl_runs(r0, r1, S); i < run; i++) {
        const uint8_t *tiles[TL_STREAMS_MAX];
        int32_t tix[TL_STREAMS_MAX];
        const int NS = tl_run_tiles(w, r0, r1, S, i, tiles, tix);
        float out[TL_STREAMS_MAX][TL_ROWS];
        if (NS == S) tl_tiles_ns(type, tl4, w, tiles, S, tab, act, out);
        else for (int s = 0; s < NS; s++) tl_tiles_ns(type, tl4, w, tiles + s, 1, tab, act, out + s);
        for (int s = 0; s < NS; s++) {
            const int32_t rt = tix[s] * TL_ROWS, a = rt < r0 ? r0 : rt, e = rt + TL_ROWS > r1 ? r1 : rt + TL_ROWS;
            memcpy(y + a, &out[s][a - rt], sizeof(float) * (size_t)(e - a));
        }
    }
}
INLINE void mm_tl_decode(const uint32_t type, const int tl4, const trit_mat *w, const void *act, float *y, int32_t r0,
                         int32_t r1) {
    if (tl4) mm_tl_decode_s(type, 1, w, act, y, r0, r1, TL4_STREAMS);
    else mm_tl_decode_s(type, 0, w, act, y, r0, r1, TL_STREAMS);
}

/* ---- TL layout, batches of >= tl_dot_min_tokens tokens: integer dot products instead of lookups ----
 * Each 16-row group's pair codes are unpacked once into code vectors (below), then for every token of
 * the batch the group costs one multiply-add per 16 (relaxed) or 8 (plain) weight x row products and
 * one add: no per-token lookup chain. Lanes are rows, as in the lookups, and the per-row block sums
 * are the same integers, so the float part (tl_tile's) and the results are the same bits.
 * The codes (0..3) multiply the activations; TQ2_0's ternary value is code - 1, so its block sum
 * subtracts the block's activation sum (Q8_K's bsums); I2_S's reference sums code * a already. */
#define TLD_TOKENS 16       /* tokens per unpacked group (stack: sf[16][4] + the code vectors) */
/* TLD_PAR: tokens per pass over the code vectors (they share its loads); measured: 4 in the relaxed
 * build (2 accumulators a token), 2 in the plain one (4 accumulators a token: 4 tokens spill) */
#ifndef TLD_PAR
#ifdef __wasm_relaxed_simd__
#define TLD_PAR 4
#else
#define TLD_PAR 2
#endif
#endif

/* one v128 of pair codes (16 rows x weights 4q..4q+3) -> v[2h + j] = rows 8j..8j+7 of pair h as byte
 * pairs (c(4q+2h), c(4q+2h+1)) per row, codes 0..3 */
INLINE void tld_codes(const uint8_t *idx, v128_t v[4]) {
    const v128_t m3 = wasm_i8x16_splat(3), x = wasm_v128_load(idx);
    const v128_t c0 = wasm_v128_and(wasm_u16x8_shr(x, 2), m3), c1 = wasm_v128_and(x, m3);
    const v128_t c2 = wasm_v128_and(wasm_u16x8_shr(x, 6), m3), c3 = wasm_v128_and(wasm_u16x8_shr(x, 4), m3);
    v[0] = ILO(c0, c1); v[1] = IHI(c0, c1); v[2] = ILO(c2, c3); v[3] = IHI(c2, c3);
}

#ifdef __wasm_relaxed_simd__
/* per q (16 rows x weights 4q..4q+3): cw[4q + 2h + j] = rows 8j..8j+7 of pair h ((4q, 4q+1) or
 * (4q+2, 4q+3)) as byte pairs (c_even, c_odd) per row: i16x8.relaxed_dot_i8x16_i7x16 with the
 * activation pair splat gives a[e]*c(e) + a[e+1]*c(e+1) per row (codes <= 3 are valid i7: exact) */
#define TLD_VPQ 4
INLINE void tld_unpack(const uint8_t *idx, int nq, v128_t *cw) {
    for (int q = 0; q < nq; q++) tld_codes(idx + q * TL_ROWS, cw + 4 * q);
}
/* For P tokens (a[p]: token p's pairs): si[p][k] += rows 4k..4k+3 of sum_q c * a over nq (a multiple
 * of 16) q; the P tokens share the code loads. An int16 lane adds 2 products of |a| <= 128, c <= 3 per
 * q: 16 q stay below 2^15 before widening. */
INLINE void tld_dot(const v128_t *cw, const uint8_t *const *a, const int P, int nq, v128_t si[][4]) {
    for (int q0 = 0; q0 < nq; q0 += 16) {
        v128_t lo[TLD_PAR], hi[TLD_PAR];
        for (int p = 0; p < P; p++) lo[p] = hi[p] = wasm_i16x8_splat(0);
        for (int q = q0; q < q0 + 16; q++) {
            const v128_t *c = cw + 4 * q;
            const v128_t c0 = c[0], c1 = c[1], c2 = c[2], c3 = c[3];
            for (int p = 0; p < P; p++) {
                const v128_t sa = wasm_v128_load32_splat(a[p] + 8 * q), sb = wasm_v128_load32_splat(a[p] + 8 * q + 4);
                lo[p] = wasm_i16x8_add(lo[p], wasm_i16x8_add(wasm_i16x8_relaxed_dot_i8x16_i7x16(sa, c0),
                                                             wasm_i16x8_relaxed_dot_i8x16_i7x16(sb, c2)));
                hi[p] = wasm_i16x8_add(hi[p], wasm_i16x8_add(wasm_i16x8_relaxed_dot_i8x16_i7x16(sa, c1),
                                                             wasm_i16x8_relaxed_dot_i8x16_i7x16(sb, c3)));
            }
        }
        for (int p = 0; p < P; p++) widen_add(si[p], lo[p], hi[p]);
    }
}

/* The i32x4.relaxed_dot_i8x16_i7x16_add_s variant (tl_dot_add, kernels.h; off unless the loader found
 * the engine computing it right): per q, cw[4q + k] = rows 4k..4k+3 x the codes of weights 4q..4q+3 (4
 * bytes a row), so that one dot-add with the splat of 4 activations adds a[4q..4q+3] . c per row into
 * an i32 lane: 16 products and the accumulation in one instruction (x86 vpdpbusd where the engine
 * lowers it so), no int16 stage. Same integers: the same bits. */
INLINE void tld_unpack4(const uint8_t *idx, int nq, v128_t *cw) {
    for (int q = 0; q < nq; q++) {
        v128_t v[4];
        tld_codes(idx + q * TL_ROWS, v);   /* rows 0-7 / 8-15 of pairs (c0, c1) and (c2, c3) */
        cw[4 * q + 0] = wasm_i16x8_shuffle(v[0], v[2], 0, 8, 1, 9, 2, 10, 3, 11);
        cw[4 * q + 1] = wasm_i16x8_shuffle(v[0], v[2], 4, 12, 5, 13, 6, 14, 7, 15);
        cw[4 * q + 2] = wasm_i16x8_shuffle(v[1], v[3], 0, 8, 1, 9, 2, 10, 3, 11);
        cw[4 * q + 3] = wasm_i16x8_shuffle(v[1], v[3], 4, 12, 5, 13, 6, 14, 7, 15);
    }
}
/* P (<= 2: 4 accumulators a token, the 4 code vectors and a splat stay in registers) tokens, a[p]: the
 * token's int8 activations of this block */
INLINE void tld_dot4(const v128_t *cw, const int8_t *const *a, const int P, int nq, v128_t si[][4]) {
    v128_t acc[2][4];
    for (int p = 0; p < P; p++) for (int k = 0; k < 4; k++) acc[p][k] = si[p][k];
    for (int q = 0; q < nq; q++) {
        const v128_t *c = cw + 4 * q;
        for (int p = 0; p < P; p++) {
            const v128_t sa = wasm_v128_load32_splat(a[p] + 4 * q);
            for (int k = 0; k < 4; k++) acc[p][k] = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(sa, c[k], acc[p][k]);
        }
    }
    for (int p = 0; p < P; p++) for (int k = 0; k < 4; k++) si[p][k] = acc[p][k];
}
INLINE void tld_dot4_n(const v128_t *cw, const int8_t *const *a, int np, int nq, v128_t si[][4]) {
    int p = 0;
    for (; p + 2 <= np; p += 2) tld_dot4(cw, a + p, 2, nq, si + p);
    for (; p < np; p++) tld_dot4(cw, a + p, 1, nq, si + p);
}
/* TL4 (kernels.h): the 4 fields of an idx vector, c[k] = rows 4k..4k+3 x 4 codes (7 ops) */
INLINE void tl4_fields(const uint8_t *idx, v128_t c[4]) {
    const v128_t m3 = wasm_i8x16_splat(3), x = wasm_v128_load(idx);
    c[0] = wasm_v128_and(x, m3);
    c[1] = wasm_v128_and(wasm_u16x8_shr(x, 2), m3);
    c[2] = wasm_v128_and(wasm_u16x8_shr(x, 4), m3);
    c[3] = wasm_v128_and(wasm_u16x8_shr(x, 6), m3);
}
/* the code vectors tld_dot4 reads are those fields */
INLINE void tl4_unpack(const uint8_t *idx, int nq, v128_t *cw) {
    for (int q = 0; q < nq; q++) tl4_fields(idx + q * TL_ROWS, cw + 4 * q);
}
/* TL4 decode: NS tiles' idx vectors in lockstep (as tl_chunk_ns), one token: si[s][k] += rows 4k..4k+3
 * of sum code * a over nq q; a: the token's int8 activations for idx[s][0] (4 per q) */
INLINE void tl4_chunk_ns(const uint8_t *const *idx, const int8_t *a, int nq, int NS, v128_t si[][4]) {
    v128_t acc[TL_STREAMS_MAX][4];
    for (int s = 0; s < NS; s++) for (int k = 0; k < 4; k++) acc[s][k] = si[s][k];
    for (int q = 0; q < nq; q++) {
        const v128_t sa = wasm_v128_load32_splat(a + 4 * q);
        for (int s = 0; s < NS; s++) {
            v128_t c[4];
            tl4_fields(idx[s] + q * TL_ROWS, c);
            for (int k = 0; k < 4; k++) acc[s][k] = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(sa, c[k], acc[s][k]);
        }
    }
    for (int s = 0; s < NS; s++) for (int k = 0; k < 4; k++) si[s][k] = acc[s][k];
}
#else
/* plain SIMD128: per q, cw[8q + 4h + k] = rows 4k..4k+3 of pair h as int16 pairs (c_even, c_odd):
 * i32x4.dot_i16x8_s with the splat of the token's int16 activation pair gives the pair's sum per row */
#define TLD_VPQ 8
INLINE void tld_unpack(const uint8_t *idx, int nq, v128_t *cw) {
    for (int q = 0; q < nq; q++, cw += 8) {
        v128_t v[4];
        tld_codes(idx + q * TL_ROWS, v);
        for (int h = 0; h < 2; h++)
            for (int j = 0; j < 2; j++) {
                cw[4 * h + 2 * j] = wasm_u16x8_extend_low_u8x16(v[2 * h + j]);
                cw[4 * h + 2 * j + 1] = wasm_u16x8_extend_high_u8x16(v[2 * h + j]);
            }
    }
}
INLINE void tld_dot(const v128_t *cw, const uint8_t *const *a, const int P, int nq, v128_t si[][4]) {
    v128_t acc[TLD_PAR][4];
    for (int p = 0; p < P; p++) for (int k = 0; k < 4; k++) acc[p][k] = si[p][k];
    for (int q = 0; q < nq; q++) {
        const v128_t *c = cw + 8 * q;
        for (int p = 0; p < P; p++) {
            const v128_t sa = wasm_v128_load32_splat(a[p] + 8 * q), sb = wasm_v128_load32_splat(a[p] + 8 * q + 4);
            for (int k = 0; k < 4; k++)
                acc[p][k] = wasm_i32x4_add(acc[p][k], wasm_i32x4_add(wasm_i32x4_dot_i16x8(c[k], sa), wasm_i32x4_dot_i16x8(c[4 + k], sb)));
        }
    }
    for (int p = 0; p < P; p++) for (int k = 0; k < 4; k++) si[p][k] = acc[p][k];
}
/* no dot-add in the plain build (DOT_ADD is 0): the relaxed build's helpers, declared for the compiler */
INLINE void tld_unpack4(const uint8_t *idx, int nq, v128_t *cw) { (void)idx; (void)nq; (void)cw; }
INLINE void tld_dot4_n(const v128_t *cw, const int8_t *const *a, int np, int nq, v128_t si[][4]) {
    (void)cw; (void)a; (void)np; (void)nq; (void)si;
}
INLINE void tl4_unpack(const uint8_t *idx, int nq, v128_t *cw) { (void)idx; (void)nq; (void)cw; }
INLINE void tl4_chunk_ns(const uint8_t *const *idx, const int8_t *a, int nq, int NS, v128_t si[][4]) {
    (void)idx; (void)a; (void)nq; (void)NS; (void)si;
}
#endif

#ifdef __wasm_relaxed_simd__
#define DOT_ADD tl_dot_add
#else
#define DOT_ADD 0
#endif

/* np <= TLD_PAR tokens: passes of constant width (the token loops unroll) */
INLINE void tld_dot_n(const v128_t *cw, const uint8_t *const *a, int np, int nq, v128_t si[][4]) {
    int p = 0;
#if TLD_PAR >= 4
    for (; p + 4 <= np; p += 4) tld_dot(cw, a + p, 4, nq, si + p);
#endif
    for (; p + 2 <= np; p += 2) tld_dot(cw, a + p, 2, nq, si + p);
    for (; p < np; p++) tld_dot(cw, a + p, 1, nq, si + p);
}

void simd128_build_pairs(const int8_t *q, int32_t n_in, uint8_t *out) {   /* kernels.h */
    for (int32_t p = 0; p < n_in / 2; p++, out += 4) {
#ifdef __wasm_relaxed_simd__
        out[0] = out[2] = (uint8_t)q[2 * p];
        out[1] = out[3] = (uint8_t)q[2 * p + 1];
#else
        const int16_t v[2] = {q[2 * p], q[2 * p + 1]};
        memcpy(out, v, 4);
#endif
    }
}

/* one group's code vectors for the batch kernel: TL4's fields, or unpacked from TL for the dot-add
 * variant or the two-instruction dots */
INLINE void tld_unpack_for(const int tl4, const uint8_t *g, int nq, v128_t *cw) {
    if (tl4) tl4_unpack(g, nq, cw);
    else if (DOT_ADD) tld_unpack4(g, nq, cw);
    else tld_unpack(g, nq, cw);
}

/* One 16-row tile for tokens t0..t0+T-1 (T <= TLD_TOKENS): out[t][16], the same bits as tl_tile */
/* TLD_STREAMS: tiles the batch kernel walks in lockstep, as TL_STREAMS for decode. Measured with
 * bench/ab.mjs (2b TQ2_0, verify K = 4, relaxed build): 2 streams 0.95x / 0.99x the time of 1, within
 * the host's noise (the dots are compute-bound), so 1; the code takes either. */
#ifndef TLD_STREAMS
#define TLD_STREAMS 1
#endif
/* NS (<= TLD_STREAMS) tiles for tokens t0..t0+T-1, block by block in lockstep (several memory streams
 * in flight, see mm_tl_decode): out[s][t][16]. Per tile the same steps as one tile alone. */
static void tld_tile(const uint32_t type, const trit_mat *w, const uint8_t *const *tiles, int NS, const void *act,
                     const uint8_t *pairs, int32_t t0, int T, int32_t n_tok, float out[][TLD_TOKENS][TL_ROWS]) {
    const size_t pb = tl_pair_bytes(w->n_in);
    const int32_t n = w->n_in;
    const int tl4 = w->layout == TT_LAYOUT_TL4;
    if (type == TT_TQ2_0) {
        const int32_t nb = n / QK_K;
        const block_q8_K *a = act;
        v128_t cw[64 * TLD_VPQ], sf[TLD_STREAMS][TLD_TOKENS][4];
        for (int s = 0; s < NS; s++) for (int t = 0; t < T; t++) for (int k = 0; k < 4; k++) sf[s][t][k] = wasm_f32x4_splat(0.0f);
        for (int32_t b = 0; b < nb; b++)
            for (int s = 0; s < NS; s++) {
                const uint8_t *g = tiles[s] + (size_t)b * (TL_ROWS * sizeof(block_tq2_0));
                tld_unpack_for(tl4, g, 64, cw);
                v128_t xd[4];
                tl_row_scales((const uint16_t *)(g + 64 * TL_ROWS), xd);
                for (int t = 0; t < T; t += TLD_PAR) {
                    const int np = T - t < TLD_PAR ? T - t : TLD_PAR;
                    v128_t si[TLD_PAR][4];
                    for (int p = 0; p < np; p++) {
                        const int32_t asum = q8k_block_sum(a + (size_t)(t0 + t + p) * nb + b);
                        for (int k = 0; k < 4; k++) si[p][k] = wasm_i32x4_splat(-asum);   /* sum (c - 1) a = sum c a - sum a */
                    }
                    if (tl4 || DOT_ADD) {   /* the activations themselves */
                        const int8_t *aq[TLD_PAR];
                        for (int p = 0; p < np; p++) aq[p] = a[(size_t)(t0 + t + p) * nb + b].qs;
                        tld_dot4_n(cw, aq, np, 64, si);
                    } else {         /* their splatted pairs */
                        const uint8_t *ap[TLD_PAR];
                        for (int p = 0; p < np; p++) ap[p] = pairs + (size_t)(t0 + t + p) * pb + (size_t)b * QK_K * 2;
                        tld_dot_n(cw, ap, np, 64, si);
                    }
                    for (int p = 0; p < np; p++) {
                        const v128_t yd = wasm_f32x4_splat(a[(size_t)(t0 + t + p) * nb + b].d);
                        for (int k = 0; k < 4; k++)   /* sumf += (float)sumi * (y.d * x.d), as the reference */
                            sf[s][t + p][k] = wasm_f32x4_add(sf[s][t + p][k], wasm_f32x4_mul(wasm_f32x4_convert_i32x4(si[p][k]), wasm_f32x4_mul(yd, xd[k])));
                    }
                }
            }
        for (int s = 0; s < NS; s++) for (int t = 0; t < T; t++) for (int k = 0; k < 4; k++) wasm_v128_store(out[s][t] + 4 * k, sf[s][t][k]);
    } else {   /* I2_S: dot = sum code * a per row */
        const int32_t nb = n / QK_I2_S;
        const int8_t *q = act;
        const float *scales = (const float *)(q + (size_t)n * n_tok);
        const int32_t *sums = (const int32_t *)(scales + n_tok);
        v128_t cw[32 * TLD_VPQ], si[TLD_STREAMS][TLD_TOKENS][4];
        for (int s = 0; s < NS; s++) for (int t = 0; t < T; t++) for (int k = 0; k < 4; k++) si[s][t][k] = wasm_i32x4_splat(0);
        for (int32_t b = 0; b < nb; b++)
            for (int s = 0; s < NS; s++) {
                tld_unpack_for(tl4, tiles[s] + (size_t)b * 32 * TL_ROWS, 32, cw);
                for (int t = 0; t < T; t += TLD_PAR) {
                    const int np = T - t < TLD_PAR ? T - t : TLD_PAR;
                    if (tl4 || DOT_ADD) {
                        const int8_t *aq[TLD_PAR];
                        for (int p = 0; p < np; p++) aq[p] = q + (size_t)(t0 + t + p) * n + (size_t)b * QK_I2_S;
                        tld_dot4_n(cw, aq, np, 32, si[s] + t);
                    } else {
                        const uint8_t *ap[TLD_PAR];
                        for (int p = 0; p < np; p++) ap[p] = pairs + (size_t)(t0 + t + p) * pb + (size_t)b * QK_I2_S * 2;
                        tld_dot_n(cw, ap, np, 32, si[s] + t);
                    }
                }
            }
        for (int s = 0; s < NS; s++)
            for (int t = 0; t < T; t++) {
                const int32_t tt = t0 + t;
                const v128_t sum = wasm_f32x4_splat((float)sums[tt]), sc = wasm_f32x4_splat(scales[tt]);
                const v128_t ws = wasm_f32x4_splat(w->scale);
                for (int k = 0; k < 4; k++) {
                    const v128_t dot = wasm_f32x4_convert_i32x4(si[s][t][k]);
                    wasm_v128_store(out[s][t] + 4 * k, wasm_f32x4_mul(wasm_f32x4_div(wasm_f32x4_sub(dot, sum), sc), ws));
                }
            }
    }
}

static void mm_tld(const uint32_t type, const trit_mat *w, const void *act, int32_t t0, int T, int32_t n_tok,
                   float *y, int32_t r0, int32_t r1) {
    const int32_t n_out = w->n_out;
    const uint8_t *pairs = (const uint8_t *)act + tl_table_offset(type, w->n_in, n_tok) + tl_table_bytes(w->n_in) * (size_t)n_tok;
    for (int32_t i = 0, run = tl_runs(r0, r1, TLD_STREAMS); i < run; i++) {
        const uint8_t *tiles[TLD_STREAMS];
        int32_t tix[TLD_STREAMS];
        const int NS = tl_run_tiles(w, r0, r1, TLD_STREAMS, i, tiles, tix);
        float out[TLD_STREAMS][TLD_TOKENS][TL_ROWS];
        tld_tile(type, w, tiles, NS, act, pairs, t0, T, n_tok, out);
        for (int s = 0; s < NS; s++) {
            const int32_t rt = tix[s] * TL_ROWS, a = rt < r0 ? r0 : rt, e = rt + TL_ROWS > r1 ? r1 : rt + TL_ROWS;
            for (int t = 0; t < T; t++) memcpy(y + (size_t)(t0 + t) * n_out + a, &out[s][t][a - rt], sizeof(float) * (size_t)(e - a));
        }
    }
}

/* The loader's speed check of the dot-add (kernels.h: simd128_dot_add_probe): reps passes of the TL
 * decode's inner loop (variant 0: lookups) or TL4's (1: dot-adds) over TL_STREAMS x 16 rows x 1024
 * weights in cache; returns a checksum. Engines lower the instruction to one x86 vpdpbusd (AVX-VNNI)
 * or to 3 instructions, where TL4 decodes ~1.3x slower than the lookups (measured in Node 20). */
int32_t simd128_dot_add_probe(int32_t variant, int32_t reps) {
#ifdef __wasm_relaxed_simd__
    enum { NQ = 256 };
    static uint8_t codes[TL_STREAMS][NQ * TL_ROWS], tab[NQ * 64];
    static int8_t a[NQ * 4];
    static int ready;
    if (!ready) {
        uint32_t x = 2463534242u;
        for (int i = 0; i < TL_STREAMS * NQ * TL_ROWS; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; codes[i / (NQ * TL_ROWS)][i % (NQ * TL_ROWS)] = (uint8_t)(x & 0xAA); }
        for (int i = 0; i < NQ * 4; i++) a[i] = (int8_t)((i * 37) % 255 - 127);
        tl_build_tables_ref(a, NQ * 4, tab);
        ready = 1;
    }
    v128_t si[TL_STREAMS][4];
    for (int st = 0; st < TL_STREAMS; st++) for (int k = 0; k < 4; k++) si[st][k] = wasm_i32x4_splat(0);
    for (int32_t r = 0; r < reps; r++)
        for (int c = 0; c < NQ; c += 32) {
            const uint8_t *idx[TL_STREAMS];
            for (int st = 0; st < TL_STREAMS; st++) idx[st] = codes[st] + c * TL_ROWS;
            if (variant) tl4_chunk_ns(idx, a + 4 * c, 32, TL_STREAMS, si);
            else tl_chunk_ns(idx, tab + (size_t)c * 64, TL_STREAMS, si);
        }
    v128_t t = wasm_i32x4_splat(0);
    for (int st = 0; st < TL_STREAMS; st++) for (int k = 0; k < 4; k++) t = wasm_i32x4_add(t, si[st][k]);
    return wasm_i32x4_extract_lane(t, 0) ^ wasm_i32x4_extract_lane(t, 3);
#else
    (void)variant; (void)reps;
    return 0;
#endif
}

#define TL_TOKENS 4   /* tokens per pass over a tile's pair codes (register budget: 2 accumulators each) */

INLINE void mm_tl(const uint32_t type, const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0,
                  int32_t r1) {
    const int32_t n = w->n_in, n_out = w->n_out;
    const uint8_t *tabs = (const uint8_t *)act + tl_table_offset(type, n, n_tok);
    const size_t tile_bytes = TL_ROWS * w->row_bytes;
    const int tl4 = w->layout == TT_LAYOUT_TL4;   /* no lookups: decode and every batch take dot-adds */
    if (tl4 && n_tok == 1) { mm_tl_decode(type, 1, w, act, y, r0, r1); return; }
    if (tl4 || n_tok >= tl_dot_min_tokens) {   /* batches: chunks of equal size <= TLD_TOKENS (>= 4 tokens each) */
        const int32_t chunks = (n_tok + TLD_TOKENS - 1) / TLD_TOKENS;
        for (int32_t c = 0, t0 = 0; c < chunks; c++) {
            const int32_t t1 = (int32_t)((int64_t)n_tok * (c + 1) / chunks);
            mm_tld(type, w, act, t0, (int)(t1 - t0), n_tok, y, r0, r1);
            t0 = t1;
        }
        return;
    }
    if (n_tok == 1) { mm_tl_decode(type, 0, w, act, y, r0, r1); return; }
    for (int32_t t0 = 0; t0 < n_tok; t0 += TL_TOKENS) {
        const int T = n_tok - t0 < TL_TOKENS ? (int)(n_tok - t0) : TL_TOKENS;
        const uint8_t *tab[TL_TOKENS];
        int32_t toks[TL_TOKENS];
        for (int t = 0; t < T; t++) { toks[t] = t0 + t; tab[t] = tabs + (size_t)(t0 + t) * tl_table_bytes(n); }
        for (int32_t rt = r0 - r0 % TL_ROWS; rt < r1; rt += TL_ROWS) {
            float out[TL_TOKENS][TL_ROWS];
            const uint8_t *tile = w->data + (size_t)(rt / TL_ROWS) * tile_bytes;
            switch (T) {   /* constant T: the token loops unroll */
            case 1: tl_tile(type, w, tile, tab, act, toks, 1, n_tok, out); break;
            case 2: tl_tile(type, w, tile, tab, act, toks, 2, n_tok, out); break;
            case 3: tl_tile(type, w, tile, tab, act, toks, 3, n_tok, out); break;
            default: tl_tile(type, w, tile, tab, act, toks, 4, n_tok, out); break;
            }
            const int32_t a = rt < r0 ? r0 : rt, e = rt + TL_ROWS > r1 ? r1 : rt + TL_ROWS;
            for (int t = 0; t < T; t++) memcpy(y + (size_t)(t0 + t) * n_out + a, &out[t][a - rt], sizeof(float) * (size_t)(e - a));
        }
    }
}

void simd128_mul_rows_tl(const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0, int32_t r1) {
    if (w->type == TT_TQ2_0) mm_tl(TT_TQ2_0, w, act, n_tok, y, r0, r1);
    else mm_tl(TT_I2_S, w, act, n_tok, y, r0, r1);
}

/* tables for pairs of q[n_in]: entry k = ((k>>2)-1)*q[2p] + ((k&3)-1)*q[2p+1] as lo/hi bytes */
void simd128_build_tables(const int8_t *q, int32_t n_in, uint8_t *tab) {
    const v128_t c0lo = wasm_i16x8_make(-1, -1, -1, -1, 0, 0, 0, 0), c0hi = wasm_i16x8_make(1, 1, 1, 1, 2, 2, 2, 2);
    const v128_t c1 = wasm_i16x8_make(-1, 0, 1, 2, -1, 0, 1, 2);
    for (int32_t p = 0; p < n_in / 2; p++, tab += 32) {
        const v128_t a0 = wasm_i16x8_splat(q[2 * p]), a1 = wasm_i16x8_splat(q[2 * p + 1]);
        const v128_t b1 = wasm_i16x8_mul(a1, c1);
        const v128_t vlo = wasm_i16x8_add(wasm_i16x8_mul(a0, c0lo), b1), vhi = wasm_i16x8_add(wasm_i16x8_mul(a0, c0hi), b1);
        wasm_v128_store(tab, wasm_i8x16_shuffle(vlo, vhi, 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
        wasm_v128_store(tab + 16, wasm_i8x16_shuffle(vlo, vhi, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31));
    }
}

/* ---- F16 and F32: f32 lanes, 2 accumulators per (row, token), summed as quant.c's sum8() ----
 * F16 (kernels.h): the fast path turns a normal half h into the f32 w * 2^-112 with two integer ops,
 * (h_signext << 13) & 0x8FFFE000, and multiplies it by x * 2^56 (prepared once per token): the
 * product is exactly w * x * 2^-56, a normal float (zero halves give +-0, also exact). Chunks of 16
 * with a subnormal, inf or NaN half (the aux bitmap; all of a GGUF-layout matrix) take the exact path: the true w times
 * x * 2^-56, the same product without ever feeding a denormal to a multiply. Scaling by powers of two
 * commutes with every rounding here (all partial sums are multiples of 2^-104 or zero), so the result,
 * times 2^56, equals the reference's float sums bit for bit. */

#define F16_XSCALE 0x1p56f

/* acc + a * b where the product a * b is exact (every F16 and attention product here is one of two
 * halves, scaled by powers of two; F32's are floats in double lanes): fused or not, the one rounding is
 * the add's, so the relaxed build's f32x4.relaxed_madd (x86 vfmadd231ps where the engine has FMA3, else
 * mul + add) gives the reference's bits and saves the multiply. */
#ifdef __wasm_relaxed_simd__
#define MADD_F32(acc, a, b) wasm_f32x4_relaxed_madd(a, b, acc)
#define MADD_F64(acc, a, b) wasm_f64x2_relaxed_madd(a, b, acc)
#else
#define MADD_F32(acc, a, b) wasm_f32x4_add(acc, wasm_f32x4_mul(a, b))
#define MADD_F64(acc, a, b) wasm_f64x2_add(acc, wasm_f64x2_mul(a, b))
#endif

void simd128_prepare_f16(const uint16_t *a16, int32_t n, float *out) {
    for (int32_t i = 0; i < n; i++) out[i] = trit_fp16_to_fp32(a16[i]) * F16_XSCALE;
}

INLINE void f16_w8(const uint16_t *w, int exact, v128_t *lo, v128_t *hi) {
    const v128_t v = wasm_v128_load(w);
    const v128_t a = wasm_i32x4_extend_low_i16x8(v), b = wasm_i32x4_extend_high_i16x8(v);
    if (exact) { *lo = f16_exact4(a); *hi = f16_exact4(b); }
    else { *lo = f16_fast4(a); *hi = f16_fast4(b); }
}

INLINE float fsum(v128_t a, v128_t b) {   /* sum8(): ((a0+a4)+(a1+a5)) + ((a2+a6)+(a3+a7)) */
    const v128_t v = wasm_f32x4_add(a, b);
    return (wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1)) +
           (wasm_f32x4_extract_lane(v, 2) + wasm_f32x4_extract_lane(v, 3));
}

/* acc over columns [c0, c0 + len) for R rows (r, r + rs, ...) x T tokens (R*T <= 4) */
INLINE void float_cols(const int f16, const int exact, const trit_mat *w, const float *xs, int32_t n, int32_t r,
                       int32_t rs, int R, int32_t t0, int T, int32_t c0, int32_t len, v128_t acc[][2]) {
    for (int32_t c = c0; c < c0 + len; c += 8) {
        v128_t wl[4], wh[4];
        for (int i = 0; i < R; i++) {
            const uint8_t *wr = w->data + (size_t)(r + i * rs) * w->row_bytes;
            if (f16) f16_w8((const uint16_t *)wr + c, exact, &wl[i], &wh[i]);
            else { wl[i] = wasm_v128_load((const float *)wr + c); wh[i] = wasm_v128_load((const float *)wr + c + 4); }
        }
        for (int t = 0; t < T; t++) {
            const float *xt = xs + (size_t)(t0 + t) * n + c;
            v128_t xl = wasm_v128_load(xt), xh = wasm_v128_load(xt + 4);
            if (f16 && exact) { xl = wasm_f32x4_mul(xl, wasm_f32x4_splat(0x1p-112f)); xh = wasm_f32x4_mul(xh, wasm_f32x4_splat(0x1p-112f)); }
            for (int i = 0; i < R; i++) {
                acc[i * T + t][0] = MADD_F32(acc[i * T + t][0], wl[i], xl);
                acc[i * T + t][1] = MADD_F32(acc[i * T + t][1], wh[i], xh);
            }
        }
    }
}

/* F16, 16 columns at c where some rows (bit i of ex) need the exact path: per row its own conversion
 * and activation scale, the same products as float_cols */
static void f16_cols_mixed(const trit_mat *w, const float *xs, int32_t n, int32_t r, int32_t rs, int R, int32_t t0,
                           int T, int32_t c0, unsigned ex, v128_t acc[][2]) {
    const v128_t s112 = wasm_f32x4_splat(0x1p-112f);
    for (int32_t c = c0; c < c0 + 16; c += 8)
        for (int i = 0; i < R; i++) {
            const int exact = ex >> i & 1;
            v128_t wl, wh;
            f16_w8((const uint16_t *)(w->data + (size_t)(r + i * rs) * w->row_bytes) + c, exact, &wl, &wh);
            for (int t = 0; t < T; t++) {
                const float *xt = xs + (size_t)(t0 + t) * n + c;
                v128_t xl = wasm_v128_load(xt), xh = wasm_v128_load(xt + 4);
                if (exact) { xl = wasm_f32x4_mul(xl, s112); xh = wasm_f32x4_mul(xh, s112); }
                acc[i * T + t][0] = MADD_F32(acc[i * T + t][0], wl, xl);
                acc[i * T + t][1] = MADD_F32(acc[i * T + t][1], wh, xh);
            }
        }
}

INLINE void mm_float_tile(const int f16, const trit_mat *w, const float *xs, int32_t n, int32_t r, int32_t rs, int R,
                          int32_t t0, int T, float *y, int32_t n_out) {
    v128_t acc[4][2];
    for (int i = 0; i < R * T; i++) acc[i][0] = acc[i][1] = wasm_f32x4_splat(0.0f);
    if (w->layout != TT_LAYOUT_F16_SCANNED) float_cols(1, 1, w, xs, n, r, rs, R, t0, T, 0, n, acc);
    else if (!w->aux) float_cols(1, 0, w, xs, n, r, rs, R, t0, T, 0, n, acc);
    else {
        const int32_t nq = n / 128;   /* one bitmap byte per row and 128 columns */
        for (int32_t q = 0; q < nq; q++) {
            unsigned fl[4], any = 0;
            for (int i = 0; i < R; i++) any |= fl[i] = w->aux[(size_t)(r + i * rs) * (size_t)nq + (size_t)q];
            if (!any) { float_cols(1, 0, w, xs, n, r, rs, R, t0, T, q * 128, 128, acc); continue; }
            for (int j = 0; j < 8; j++) {
                unsigned ex = 0;
                for (int i = 0; i < R; i++) ex |= (fl[i] >> j & 1) << i;
                if (ex) f16_cols_mixed(w, xs, n, r, rs, R, t0, T, q * 128 + j * 16, ex, acc);
                else float_cols(1, 0, w, xs, n, r, rs, R, t0, T, q * 128 + j * 16, 16, acc);
            }
        }
    }
    const float ys = f16 ? 0x1p56f : 1.0f;
    for (int i = 0; i < R; i++)
        for (int t = 0; t < T; t++) y[(size_t)(t0 + t) * n_out + r + i * rs] = fsum(acc[i * T + t][0], acc[i * T + t][1]) * ys;
}

/* F32: double lanes as quant.c's reference (exact products, sum8d); R rows x T tokens, R*T <= 2 */
INLINE void mm_f32_tile(const trit_mat *w, const float *xs, int32_t n, int32_t r, int R, int32_t t0, int T, float *y,
                        int32_t n_out) {
    v128_t acc[2][4];
    for (int i = 0; i < R * T; i++) for (int k = 0; k < 4; k++) acc[i][k] = wasm_f64x2_splat(0.0);
    for (int32_t c = 0; c < n; c += 8) {
        v128_t xd[2][4];
        for (int t = 0; t < T; t++)
            for (int h = 0; h < 2; h++) {
                const v128_t v = wasm_v128_load(xs + (size_t)(t0 + t) * n + c + 4 * h);
                xd[t][2 * h] = wasm_f64x2_promote_low_f32x4(v);
                xd[t][2 * h + 1] = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
            }
        for (int i = 0; i < R; i++) {
            const float *wr = (const float *)(w->data + (size_t)(r + i) * w->row_bytes) + c;
            v128_t wd[4];
            for (int h = 0; h < 2; h++) {
                const v128_t v = wasm_v128_load(wr + 4 * h);
                wd[2 * h] = wasm_f64x2_promote_low_f32x4(v);
                wd[2 * h + 1] = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(v, v, 2, 3, 0, 1));
            }
            for (int t = 0; t < T; t++)
                for (int k = 0; k < 4; k++) acc[i * T + t][k] = MADD_F64(acc[i * T + t][k], wd[k], xd[t][k]);
        }
    }
    for (int i = 0; i < R; i++)
        for (int t = 0; t < T; t++) {   /* lanes [a0 a1] [a2 a3] [a4 a5] [a6 a7]: sum8d() */
            const v128_t *a = acc[i * T + t];
            const v128_t v0 = wasm_f64x2_add(a[0], a[2]), v1 = wasm_f64x2_add(a[1], a[3]);
            const double s = (wasm_f64x2_extract_lane(v0, 0) + wasm_f64x2_extract_lane(v0, 1)) +
                             (wasm_f64x2_extract_lane(v1, 0) + wasm_f64x2_extract_lane(v1, 1));
            y[(size_t)(t0 + t) * n_out + r + i] = (float)s;
        }
}

INLINE void mm_float(const int f16, const trit_mat *w, const float *xs, int32_t n_tok, float *y, int32_t r0, int32_t r1) {
    const int32_t n = w->n_in, n_out = w->n_out;
    if (!f16) {
        int32_t r = r0;
        if (n_tok == 1)
            for (; r + 2 <= r1; r += 2) mm_f32_tile(w, xs, n, r, 2, 0, 1, y, n_out);
        for (; r < r1; r++) {
            int32_t t = 0;
            for (; t + 2 <= n_tok; t += 2) mm_f32_tile(w, xs, n, r, 1, t, 2, y, n_out);
            for (; t < n_tok; t++) mm_f32_tile(w, xs, n, r, 1, t, 1, y, n_out);
        }
        return;
    }
    if (n_tok == 1) {   /* decode: 4 rows share the activation loads */
        /* rows r, r + q, r + 2q, r + 3q of the range's 4 quarters: 4 memory streams far apart, where 4
         * adjacent rows are one (the head of a model streams from memory; kernel bench, 2560 x 32000
         * halves N(0, 0.02): 0.332 against 0.376 ns a weight, medians of 6 alternated runs) */
        const int32_t q = (r1 - r0) / 4;
        for (int32_t r = r0; r < r0 + q; r++) mm_float_tile(f16, w, xs, n, r, q, 4, 0, 1, y, n_out);
        for (int32_t r = r0 + 4 * q; r < r1; r++) mm_float_tile(f16, w, xs, n, r, 1, 1, 0, 1, y, n_out);
        return;
    }
    for (int32_t r = r0; r < r1; r++) {   /* batches: a row's weights converted once for 4 tokens */
        int32_t t = 0;
        for (; t + 4 <= n_tok; t += 4) mm_float_tile(f16, w, xs, n, r, 1, 1, t, 4, y, n_out);
        for (; t < n_tok; t++) mm_float_tile(f16, w, xs, n, r, 1, 1, t, 1, y, n_out);
    }
}

/* ---- attention (quant.h's attn_args): the q.k scores and the p.v sums of the gqa query heads of one
 * KV head, the same bits as forward.c's attn_qk_ref / attn_pv_ref. F16 cache: halves converted as for
 * the F16 matmuls (fast path on rows whose flag says they hold only normal or zero halves; the
 * operand they meet is scaled by 2^56 and the sums scaled back), and each K/V chunk converted once for
 * all the query heads that read it. */

#define ATTN_MAXQ 2048   /* gqa * head_dim floats of scaled q on the stack */

int simd128_attn_qk(const attn_args *a) {
    if (!a->f16) return -1;   /* F32 cache: the reference sums in double */
    const int32_t hd = a->hd, n_kv = a->n_kv, G = a->gqa;
    if (hd % 8 || G * hd > ATTN_MAXQ) return -1;
    float qh[ATTN_MAXQ], ql[ATTN_MAXQ];   /* q * 2^56 (fast rows), q * 2^-56 (exact rows) */
    const float sh = a->f16 ? 0x1p56f : 1.0f, sl = a->f16 ? 0x1p-56f : 1.0f, back = a->f16 ? 0x1p56f : 1.0f;
    for (int32_t i = 0; i < G * hd; i++) { qh[i] = a->qs[i] * sh; ql[i] = a->qs[i] * sl; }
    for (int g0 = 0; g0 < G; g0 += 4) {
        const int Gn = G - g0 < 4 ? G - g0 : 4;
        for (int32_t j = 0; j < n_kv; j++) {
            v128_t acc[4][2];
            for (int g = 0; g < Gn; g++) acc[g][0] = acc[g][1] = wasm_f32x4_splat(0.0f);
            const int exact = a->f16 && (!a->kflags || a->kflags[j]);
            const float *qq = exact ? ql : qh;
            for (int32_t c = 0; c < hd; c += 8) {
                v128_t kl, kh;
                if (a->f16) f16_w8((const uint16_t *)a->k + (size_t)j * a->row + c, exact, &kl, &kh);
                else { const float *kj = (const float *)a->k + (size_t)j * a->row + c; kl = wasm_v128_load(kj); kh = wasm_v128_load(kj + 4); }
                for (int g = 0; g < Gn; g++) {
                    const float *qg = qq + (size_t)(g0 + g) * hd + c;
                    acc[g][0] = MADD_F32(acc[g][0], wasm_v128_load(qg), kl);
                    acc[g][1] = MADD_F32(acc[g][1], wasm_v128_load(qg + 4), kh);
                }
            }
            for (int g = 0; g < Gn; g++) a->scores[(size_t)(g0 + g) * n_kv + j] = fsum(acc[g][0], acc[g][1]) * back * a->kq_scale;
        }
    }
    return 0;
}

int simd128_attn_pv(const attn_args *a) {
    if (!a->f16) return -1;   /* F32 cache: the reference sums in double */
    const int32_t hd = a->hd, n_kv = a->n_kv, G = a->gqa;
    if (hd % 8) return -1;
    const float sh = a->f16 ? 0x1p56f : 1.0f, sl = a->f16 ? 0x1p-56f : 1.0f, back = a->f16 ? 0x1p56f : 1.0f;
    for (int g0 = 0; g0 < G; g0 += 4) {
        const int Gn = G - g0 < 4 ? G - g0 : 4;
        for (int32_t c = 0; c < hd; c += 8) {
            v128_t acc[4][2];
            for (int g = 0; g < Gn; g++) acc[g][0] = acc[g][1] = wasm_f32x4_splat(0.0f);
            for (int32_t j = 0; j < n_kv; j++) {
                const int exact = a->f16 && (!a->vflags || a->vflags[j]);
                v128_t vl, vh;
                if (a->f16) f16_w8((const uint16_t *)a->v + (size_t)j * a->row + c, exact, &vl, &vh);
                else { const float *vj = (const float *)a->v + (size_t)j * a->row + c; vl = wasm_v128_load(vj); vh = wasm_v128_load(vj + 4); }
                const float s = exact ? sl : sh;
                for (int g = 0; g < Gn; g++) {
                    const v128_t p = wasm_f32x4_splat(a->scores[(size_t)(g0 + g) * n_kv + j] * s);
                    acc[g][0] = MADD_F32(acc[g][0], p, vl);
                    acc[g][1] = MADD_F32(acc[g][1], p, vh);
                }
            }
            for (int g = 0; g < Gn; g++) {
                float *o = a->out + (size_t)(g0 + g) * hd + c;
                wasm_v128_store(o, wasm_f32x4_mul(acc[g][0], wasm_f32x4_splat(back)));
                wasm_v128_store(o + 4, wasm_f32x4_mul(acc[g][1], wasm_f32x4_splat(back)));
            }
        }
    }
    return 0;
}

/* ---- Q8_0 and Q6_K (the output / embedding matrices of llama.cpp-quantized files) ----
 * The reference's integer block sums, computed with SIMD, then its float step per block, in lanes of 4
 * rows (f32x4 with the same operations in the same order as the scalar code per row): the same bits.
 * Tiles of 4 rows x one token at a time; the tile's rows (a few KB) stay in cache across the tokens of
 * a batch, so a batch reads the matrix from memory once. */

/* 4 halves -> f32x4, the exact conversion (trit_fp16_to_fp32's values, subnormals included) */
INLINE v128_t f16x4(uint16_t a, uint16_t b, uint16_t c, uint16_t d) {
    return f16_exact4(wasm_i32x4_make((int16_t)a, (int16_t)b, (int16_t)c, (int16_t)d));
}

/* Q8_0 x Q8_0: block sums of 4 rows for one activation block, as i32x4 (lane = row) */
INLINE v128_t q8_0_sums4(const block_q8_0 *const *x, int32_t i, const block_q8_0 *yb) {
    v128_t y[4], s[4];   /* the activations sign-extended once for the 4 rows */
    for (int v = 0; v < 4; v++) y[v] = wasm_i16x8_load8x8(yb->qs + 8 * v);
    for (int k = 0; k < 4; k++) s[k] = dot_i16(y, x[k][i].qs, 4);
    return hsum4(s[0], s[1], s[2], s[3]);
}

/* Q6_K: 16 vectors of the block's 6-bit values 0..63 (the reference's a + 32), v[j] = elements
 * 16j..16j+15. Per 16 elements: ql nibble | 2 bits of qh shifted to bits 4-5 (16-bit shifts; the
 * masks drop what crosses a byte). */
INLINE void q6_k_unpack(const block_q6_K *b, v128_t v[16]) {
    const v128_t m4 = wasm_i8x16_splat(0x0F), m30 = wasm_i8x16_splat(0x30);
    for (int h = 0; h < 2; h++)
        for (int k = 0; k < 2; k++) {
            const v128_t l0 = wasm_v128_load(b->ql + 64 * h + 16 * k), l1 = wasm_v128_load(b->ql + 64 * h + 32 + 16 * k);
            const v128_t qh = wasm_v128_load(b->qh + 32 * h + 16 * k);
            v[8 * h + 0 + k] = wasm_v128_or(wasm_v128_and(l0, m4), wasm_v128_and(wasm_i16x8_shl(qh, 4), m30));
            v[8 * h + 2 + k] = wasm_v128_or(wasm_v128_and(l1, m4), wasm_v128_and(wasm_i16x8_shl(qh, 2), m30));
            v[8 * h + 4 + k] = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l0, 4), m4), wasm_v128_and(qh, m30));
            v[8 * h + 6 + k] = wasm_v128_or(wasm_v128_and(wasm_u16x8_shr(l1, 4), m4), wasm_v128_and(wasm_u16x8_shr(qh, 2), m30));
        }
}

/* sum_j scales[j] * sum_l y * (v - 32) of one block as i32x4 partial sums: the -32 is taken out as
 * 32 * sum_j scales[j] * bsums[j] (Q8_K's group sums). Integers, exact: |pair sums| <= 2*128*63. */
INLINE v128_t q6_k_dot(const block_q6_K *b, const v128_t v[16], const block_q8_K *yb) {
    v128_t acc0 = wasm_i32x4_splat(0), acc1 = acc0;
    for (int j = 0; j < 16; j += 2) {
        const v128_t y0 = wasm_v128_load(yb->qs + 16 * j), y1 = wasm_v128_load(yb->qs + 16 * j + 16);
        const v128_t s0 = wasm_i16x8_splat(b->scales[j]), s1 = wasm_i16x8_splat(b->scales[j + 1]);
#ifdef __wasm_relaxed_simd__   /* activations (i8) first, the values (0..63, valid i7) second */
        acc0 = wasm_i32x4_add(acc0, wasm_i32x4_dot_i16x8(wasm_i16x8_relaxed_dot_i8x16_i7x16(y0, v[j]), s0));
        acc1 = wasm_i32x4_add(acc1, wasm_i32x4_dot_i16x8(wasm_i16x8_relaxed_dot_i8x16_i7x16(y1, v[j + 1]), s1));
#else   /* products <= 128*63 fit i16; the dot with the splat scale sums pairs of them times the scale */
        acc0 = wasm_i32x4_add(acc0, wasm_i32x4_add(
            wasm_i32x4_dot_i16x8(wasm_i16x8_mul(wasm_i16x8_extend_low_i8x16(y0), wasm_u16x8_extend_low_u8x16(v[j])), s0),
            wasm_i32x4_dot_i16x8(wasm_i16x8_mul(wasm_i16x8_extend_high_i8x16(y0), wasm_u16x8_extend_high_u8x16(v[j])), s0)));
        acc1 = wasm_i32x4_add(acc1, wasm_i32x4_add(
            wasm_i32x4_dot_i16x8(wasm_i16x8_mul(wasm_i16x8_extend_low_i8x16(y1), wasm_u16x8_extend_low_u8x16(v[j + 1])), s1),
            wasm_i32x4_dot_i16x8(wasm_i16x8_mul(wasm_i16x8_extend_high_i8x16(y1), wasm_u16x8_extend_high_u8x16(v[j + 1])), s1)));
#endif
    }
    const v128_t sc = wasm_v128_load(b->scales);
    const v128_t corr = wasm_i32x4_add(wasm_i32x4_dot_i16x8(wasm_i16x8_extend_low_i8x16(sc), wasm_v128_load(yb->bsums)),
                                       wasm_i32x4_dot_i16x8(wasm_i16x8_extend_high_i8x16(sc), wasm_v128_load(yb->bsums + 8)));
    return wasm_i32x4_sub(wasm_i32x4_add(acc0, acc1), wasm_i32x4_shl(corr, 5));
}

/* a tile's rows r, r + rs, ... (R <= 4 of them): row k of the tile, missing ones repeat row r (read,
 * never stored) */
INLINE const void *tile_row(const trit_mat *w, int32_t r, int32_t rs, int R, int k) {
    return w->data + (size_t)(r + (k < R ? k : 0) * rs) * w->row_bytes;
}
/* lanes 0..R-1 of v -> y[t][r + k * rs] */
INLINE void store_rows(const trit_mat *w, v128_t v, int32_t r, int32_t rs, int R, int32_t t, float *y) {
    float o[4];
    wasm_v128_store(o, v);
    for (int k = 0; k < R; k++) y[(size_t)t * w->n_out + r + k * rs] = o[k];
}

/* rows r, r + rs, ... (R of them) x token t */
static void mm_q8_0_tile(const trit_mat *w, const block_q8_0 *act, int32_t nb, int32_t r, int32_t rs, int R, int32_t t,
                         float *y) {
    const block_q8_0 *x[4];
    for (int k = 0; k < 4; k++) x[k] = tile_row(w, r, rs, R, k);
    const block_q8_0 *yb = act + (size_t)t * nb;
    v128_t sumf = wasm_f32x4_splat(0.0f);
    for (int32_t i = 0; i < nb; i++) {
        const v128_t s = q8_0_sums4(x, i, yb + i);
        const v128_t dxy = wasm_f32x4_mul(f16x4(x[0][i].d, x[1][i].d, x[2][i].d, x[3][i].d), wasm_f32x4_splat(trit_fp16_to_fp32(yb[i].d)));
        sumf = wasm_f32x4_add(sumf, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(s), dxy));   /* sumf += (float)s * (dx * dy) */
    }
    store_rows(w, sumf, r, rs, R, t, y);
}

static void mm_q6_k_tile(const trit_mat *w, const block_q8_K *act, int32_t nb, int32_t r, int32_t rs, int R, int32_t t,
                         float *y) {
    const block_q6_K *x[4];
    for (int k = 0; k < 4; k++) x[k] = tile_row(w, r, rs, R, k);
    const block_q8_K *yb = act + (size_t)t * nb;
    v128_t sumf = wasm_f32x4_splat(0.0f);
    for (int32_t i = 0; i < nb; i++) {
        v128_t s[4];
        for (int k = 0; k < 4; k++) {
            v128_t v[16];
            q6_k_unpack(&x[k][i], v);
            s[k] = q6_k_dot(&x[k][i], v, yb + i);
        }
        const v128_t dxy = wasm_f32x4_mul(f16x4(x[0][i].d, x[1][i].d, x[2][i].d, x[3][i].d), wasm_f32x4_splat(yb[i].d));
        /* sumf += d * y.d * (float)sum, as the reference */
        sumf = wasm_f32x4_add(sumf, wasm_f32x4_mul(dxy, wasm_f32x4_convert_i32x4(hsum4(s[0], s[1], s[2], s[3]))));
    }
    store_rows(w, sumf, r, rs, R, t, y);
}

INLINE void mm_q8_q6_tile(const trit_mat *w, const void *act, int32_t nb, int32_t r, int32_t rs, int R, int32_t t,
                          float *y) {
    if (w->type == TT_Q8_0) mm_q8_0_tile(w, act, nb, r, rs, R, t, y);
    else mm_q6_k_tile(w, act, nb, r, rs, R, t, y);
}

static void mm_q8_q6(const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0, int32_t r1) {
    const int32_t nb = w->n_in / (w->type == TT_Q8_0 ? QK8_0 : QK_K);
    if (n_tok == 1) {   /* decode: rows a quarter of the range apart (4 memory streams, as the F16 decode;
                           kernel bench 2560 x 32000: Q8_0 0.181 against 0.237, Q6_K 0.187 against 0.377
                           ns a weight, medians of 6 alternated runs) */
        const int32_t q = (r1 - r0) / 4;
        for (int32_t r = r0; r < r0 + q; r++) mm_q8_q6_tile(w, act, nb, r, q, 4, 0, y);
        r0 += 4 * q;
    }
    for (int32_t r = r0; r < r1; r += 4) {
        const int R = r1 - r < 4 ? (int)(r1 - r) : 4;
        for (int32_t t = 0; t < n_tok; t++) mm_q8_q6_tile(w, act, nb, r, 1, R, t, y);
    }
}

/* ---- dispatch ---- */

int simd128_available(void) { return 1; }
#ifdef __wasm_relaxed_simd__
int simd128_dot_add_built(void) { return 1; }
#else
int simd128_dot_add_built(void) { return 0; }
#endif

int simd128_mul_rows(const trit_mat *w, const void *act, const float *x, int32_t n_tok, float *y, int32_t r0,
                     int32_t r1) {
    switch (w->type) {
    case TT_TQ2_0: mm_tq2_0(w, act, n_tok, y, r0, r1); return 0;
    case TT_TQ1_0: mm_tq1_prefix(w, act, n_tok, y, r0, r1); return 0;
    case TT_I2_S: mm_i2_s(w, act, n_tok, y, r0, r1); return 0;
    case TT_Q8_0: case TT_Q6_K: mm_q8_q6(w, act, n_tok, y, r0, r1); return 0;
    case TT_F16:
        if (w->n_in % 8) return -1;
        mm_float(1, w, (const float *)((const uint8_t *)act + tl_table_offset(TT_F16, w->n_in, n_tok)), n_tok, y, r0, r1);
        return 0;
    case TT_F32:
        if (w->n_in % 8) return -1;
        mm_float(0, w, x, n_tok, y, r0, r1);
        return 0;
    default: return -1;
    }
}

#else /* no SIMD128: every call declines (kernels.c then runs the scalar code) */

int simd128_available(void) { return 0; }
int simd128_dot_add_built(void) { return 0; }
int32_t simd128_dot_add_probe(int32_t variant, int32_t reps) { (void)variant; (void)reps; return 0; }
int simd128_mul_rows(const trit_mat *w, const void *act, const float *x, int32_t n_tok, float *y, int32_t r0,
                     int32_t r1) {
    (void)w; (void)act; (void)x; (void)n_tok; (void)y; (void)r0; (void)r1;
    return -1;
}
void simd128_mul_rows_tl(const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0, int32_t r1) {
    mat_mul_rows_tl_ref(w, act, n_tok, y, r0, r1);
}
void simd128_build_tables(const int8_t *q, int32_t n_in, uint8_t *tab) { tl_build_tables_ref(q, n_in, tab); }
void simd128_build_pairs(const int8_t *q, int32_t n_in, uint8_t *out) { (void)q; (void)n_in; (void)out; }
void simd128_prepare_f16(const uint16_t *a16, int32_t n, float *out) { (void)a16; (void)n; (void)out; }
int simd128_attn_qk(const attn_args *a) { (void)a; return -1; }
int simd128_attn_pv(const attn_args *a) { (void)a; return -1; }

#endif
