/* quant.c: per-format code: type traits, activation quantizers, scalar reference dot kernels,
 * row dequantization and the matmul dispatch. Numerics follow the references named per function
 * (llama.cpp c392e50 ggml-quants.c for TQ1_0/TQ2_0/Q8_0/Q6_K/Q8_K; bitnet.cpp for I2_S). */
#include "quant.h"

#include <math.h>
#include <string.h>

#include "internal.h"

const char *tt_name(uint32_t type) {
    switch (type) {
    case TT_F32: return "F32";
    case TT_F16: return "F16";
    case TT_Q8_0: return "Q8_0";
    case TT_Q6_K: return "Q6_K";
    case TT_BF16: return "BF16";
    case TT_TQ1_0: return "TQ1_0";
    case TT_TQ2_0: return "TQ2_0";
    case TT_I2_S: return "I2_S";
    default: return NULL;
    }
}

static void type_block(uint32_t type, uint64_t *blck, uint64_t *size) {
    switch (type) {
    case TT_F32: *blck = 1; *size = 4; break;
    case TT_F16: case TT_BF16: *blck = 1; *size = 2; break;
    case TT_Q8_0: *blck = QK8_0; *size = sizeof(block_q8_0); break;
    case TT_Q6_K: *blck = QK_K; *size = sizeof(block_q6_K); break;
    case TT_TQ1_0: *blck = QK_K; *size = sizeof(block_tq1_0); break;
    case TT_TQ2_0: *blck = QK_K; *size = sizeof(block_tq2_0); break;
    case TT_I2_S: *blck = 4; *size = 1; break;   /* 4 weights a byte, + 32-byte trailer per tensor */
    default: *blck = 0; *size = 0;
    }
}

uint64_t tt_nbytes(uint32_t type, const int64_t ne[4], const char **err) {
    uint64_t blck, size;
    type_block(type, &blck, &size);
    if (!blck) { *err = "unknown type"; return 0; }
    uint64_t n0 = (uint64_t)ne[0];
    if (type == TT_I2_S && n0 % QK_I2_S) { *err = "row length is not a multiple of 128 (I2_S)"; return 0; }
    if (n0 % blck) { *err = "row length is not a multiple of the block size"; return 0; }
    uint64_t bytes = n0 / blck * size;
    for (int d = 1; d < 4; d++) {
        if (ne[d] <= 0) { *err = "non-positive dimension"; return 0; }
        if (bytes > UINT64_MAX / (uint64_t)ne[d] || bytes * (uint64_t)ne[d] > ((uint64_t)1 << 48)) {
            *err = "size overflows"; return 0;
        }
        bytes *= (uint64_t)ne[d];
    }
    if (type == TT_I2_S) bytes += 32;
    return bytes;
}

/* ggml's nearest_int: round half to even for |x| < 2^22 */
static inline int nearest_int(float fval) {
    float val = fval + 12582912.f;
    int i;
    memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

/* ---- activation quantizers ---- */

void quantize_row_q8_K_ref(const float *x, block_q8_K *y, int64_t k) {
    const int64_t nb = k / QK_K;
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float max = 0, amax = 0;
        for (int j = 0; j < QK_K; ++j) {
            float ax = fabsf(x[j]);
            if (ax > amax) { amax = ax; max = x[j]; }
        }
        if (!amax) {
            y[i].d = 0;
            memset(y[i].qs, 0, QK_K);
            memset(y[i].bsums, 0, sizeof y[i].bsums);
            continue;
        }
        const float iscale = -127.f / max;
        for (int j = 0; j < QK_K; ++j) {
            int v = nearest_int(iscale * x[j]);
            y[i].qs[j] = (int8_t)(v < 127 ? v : 127);
        }
        for (int j = 0; j < QK_K / 16; ++j) {
            int sum = 0;
            for (int ii = 0; ii < 16; ++ii) sum += y[i].qs[j * 16 + ii];
            y[i].bsums[j] = (int16_t)sum;
        }
        y[i].d = 1 / iscale;
    }
}

/* As ggml's x86 quantize_row_q8_0 (AVX path): d = amax/127 stored as fp16, q = round-half-even(x*127/amax). */
void quantize_row_q8_0_ref(const float *x, block_q8_0 *y, int64_t k) {
    const int64_t nb = k / QK8_0;
    for (int64_t i = 0; i < nb; i++, x += QK8_0) {
        float amax = 0;
        for (int j = 0; j < QK8_0; j++) amax = fmaxf(amax, fabsf(x[j]));
        const float d = amax / 127.f;
        const float id = amax != 0.0f ? 127.f / amax : 0.0f;
        y[i].d = trit_fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; j++) y[i].qs[j] = (int8_t)nearest_int(x[j] * id);
    }
}

float quantize_row_i8_s_ref(const float *x, int8_t *q, int64_t n, int32_t *sum) {
    double max = 1e-5;
    for (int64_t i = 0; i < n; i++) {
        double a = fabs((double)x[i]);
        if (a > max) max = a;
    }
    const float s = (float)(127 / max);
    int32_t acc = 0;
    for (int64_t i = 0; i < n; i++) {
        int v = nearest_int(x[i] * s);
        v = v > 127 ? 127 : (v < -128 ? -128 : v);
        q[i] = (int8_t)v;
        acc += v;
    }
    *sum = acc;
    return s;
}

/* ---- scalar reference dot kernels ---- */

float vec_dot_tq2_0_q8_K_ref(int n, const block_tq2_0 *x, const block_q8_K *y) {
    const int nb = n / QK_K;
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        int32_t sumi = 0;
        for (int j = 0; j < 64; j += 32)
            for (int l = 0; l < 4; ++l)
                for (int k = 0; k < 32; ++k)
                    sumi += y[i].qs[j * 4 + l * 32 + k] * (((x[i].qs[j + k] >> (l * 2)) & 3) - 1);
        const float d = y[i].d * trit_fp16_to_fp32(x[i].d);
        sumf += (float)sumi * d;
    }
    return sumf;
}

static const uint8_t k_pow3[6] = {1, 3, 9, 27, 81, 243};

static inline int tq1_trit(uint8_t byte, int l) {   /* 0..2 */
    uint8_t q = (uint8_t)(byte * k_pow3[l]);
    return ((uint16_t)q * 3) >> 8;
}

float vec_dot_tq1_0_q8_K_ref(int n, const block_tq1_0 *x, const block_q8_K *y) {
    const int nb = n / QK_K;
    float sumf = 0.0f;
    for (int i = 0; i < nb; ++i) {
        int32_t sum = 0;
        for (int l = 0; l < 5; ++l)
            for (int m = 0; m < 32; ++m) sum += (tq1_trit(x[i].qs[m], l) - 1) * y[i].qs[l * 32 + m];
        for (int l = 0; l < 5; ++l)
            for (int m = 0; m < 16; ++m) sum += (tq1_trit(x[i].qs[32 + m], l) - 1) * y[i].qs[160 + l * 16 + m];
        for (int l = 0; l < 4; ++l)
            for (int j = 0; j < 4; ++j) sum += (tq1_trit(x[i].qh[j], l) - 1) * y[i].qs[240 + l * 4 + j];
        sumf += (float)sum * (trit_fp16_to_fp32(x[i].d) * y[i].d);
    }
    return sumf;
}

static void q6_K_unpack(const block_q6_K *x, int8_t a[QK_K]) {
    const uint8_t *ql = x->ql, *qh = x->qh;
    for (int n = 0; n < QK_K; n += 128, ql += 64, qh += 32)
        for (int l = 0; l < 32; ++l) {
            a[n + l + 0] = (int8_t)(((ql[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
            a[n + l + 32] = (int8_t)(((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
            a[n + l + 64] = (int8_t)(((ql[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
            a[n + l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
        }
}

float vec_dot_q6_K_q8_K_ref(int n, const block_q6_K *x, const block_q8_K *y) {
    const int nb = n / QK_K;
    float sumf = 0;
    int8_t a[QK_K];
    for (int i = 0; i < nb; ++i) {
        q6_K_unpack(&x[i], a);
        int32_t sum = 0;
        for (int j = 0; j < QK_K / 16; ++j) {
            int32_t s = 0;
            for (int l = 0; l < 16; ++l) s += y[i].qs[j * 16 + l] * a[j * 16 + l];
            sum += x[i].scales[j] * s;
        }
        sumf += trit_fp16_to_fp32(x[i].d) * y[i].d * (float)sum;
    }
    return sumf;
}

float vec_dot_q8_0_q8_0_ref(int n, const block_q8_0 *x, const block_q8_0 *y) {
    const int nb = n / QK8_0;
    float sumf = 0;
    for (int i = 0; i < nb; i++) {
        int32_t s = 0;
        for (int j = 0; j < QK8_0; j++) s += x[i].qs[j] * y[i].qs[j];
        sumf += (float)s * (trit_fp16_to_fp32(x[i].d) * trit_fp16_to_fp32(y[i].d));
    }
    return sumf;
}

int32_t vec_dot_i2_s_i8_ref(int n, const uint8_t *w, const int8_t *q) {
    int32_t sum = 0;
    for (int b = 0; b < n / QK_I2_S; b++, w += 32, q += QK_I2_S)
        for (int j = 0; j < QK_I2_S; j++) sum += ((w[j % 32] >> (6 - 2 * (j / 32))) & 3) * q[j];
    return sum;
}

/* ---- matmul dispatch ---- */

static size_t act_row_bytes(uint32_t type, int32_t n_in) {
    switch (type) {
    case TT_TQ1_0: case TT_TQ2_0: case TT_Q6_K: return (size_t)(n_in / QK_K) * sizeof(block_q8_K);
    case TT_Q8_0: return (size_t)(n_in / QK8_0) * sizeof(block_q8_0);
    case TT_I2_S: return (size_t)n_in;
    case TT_F16: case TT_BF16: return (size_t)n_in * 2;
    default: return 0;
    }
}

size_t mat_act_ref_bytes(uint32_t type, int32_t n_in, int32_t n_tok) {
    /* I2_S keeps per-token scale (float) and sum (int32) after the rows */
    return act_row_bytes(type, n_in) * (size_t)n_tok + (type == TT_I2_S ? (size_t)n_tok * 8 : 0);
}

size_t mat_act_bytes(uint32_t type, int32_t n_in, int32_t n_tok) {
    size_t b = (mat_act_ref_bytes(type, n_in, n_tok) + 15) & ~(size_t)15;
#ifdef TRIT_OPT_KERNELS
    b += mat_opt_act_bytes(type, n_in, n_tok);
#endif
    return b + 64;
}

static inline uint16_t fp32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 64);   /* quiet NaN */
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

void mat_quantize_act(const trit_mat *w, const float *x, int32_t n_tok, void *act) {
    const int32_t n = w->n_in;
    const size_t rb = act_row_bytes(w->type, n);
    uint8_t *a = act;
    for (int32_t t = 0; t < n_tok; t++) {
        const float *xt = x + (size_t)t * n;
        uint8_t *at = a + (size_t)t * rb;
        switch (w->type) {
        case TT_TQ1_0: case TT_TQ2_0: case TT_Q6_K: quantize_row_q8_K_ref(xt, (block_q8_K *)at, n); break;
        case TT_Q8_0: quantize_row_q8_0_ref(xt, (block_q8_0 *)at, n); break;
        case TT_I2_S: {
            float *scales = (float *)(a + rb * (size_t)n_tok);
            int32_t *sums = (int32_t *)(scales + n_tok);
            scales[t] = quantize_row_i8_s_ref(xt, (int8_t *)at, n, &sums[t]);
            break;
        }
        case TT_F16: for (int32_t i = 0; i < n; i++) ((uint16_t *)at)[i] = trit_fp32_to_fp16(xt[i]); break;
        case TT_BF16: for (int32_t i = 0; i < n; i++) ((uint16_t *)at)[i] = fp32_to_bf16(xt[i]); break;
        default: break;
        }
    }
#ifdef TRIT_OPT_KERNELS
    mat_opt_prepare(w, act, n_tok);
#endif
}

int trit_force_ref = 0;

/* F16/F32 dot products accumulate in 8 lanes (lane = column mod 8), combined in a fixed order (trit_sum8):
 * exactly what the SIMD128 kernels compute, so every build gives the same bits. F16: float lanes (the
 * products of two halves are exact in float; llama.cpp's f16 dot accumulates in float too). F32:
 * double lanes of exact products, as precise as a sequential double sum. */
static inline double sum8d(const double a[8]) {
    return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

void mat_mul_rows(const trit_mat *w, const void *act, const float *x, int32_t n_tok, float *y, int32_t r0,
                  int32_t r1) {
#ifdef TRIT_OPT_KERNELS
    if (mat_mul_rows_opt(w, act, x, n_tok, y, r0, r1) == 0) return;
#endif
    const int32_t n = w->n_in, n_out = w->n_out;
    const size_t rb = act_row_bytes(w->type, n);
    const uint8_t *a = act;
    for (int32_t r = r0; r < r1; r++) {
        const uint8_t *wr = w->data + (size_t)r * w->row_bytes;
        for (int32_t t = 0; t < n_tok; t++) {
            const uint8_t *at = a + (size_t)t * rb;
            float v;
            switch (w->type) {
            case TT_TQ2_0: v = vec_dot_tq2_0_q8_K_ref(n, (const block_tq2_0 *)wr, (const block_q8_K *)at); break;
            case TT_TQ1_0: v = vec_dot_tq1_0_q8_K_ref(n, (const block_tq1_0 *)wr, (const block_q8_K *)at); break;
            case TT_Q6_K: v = vec_dot_q6_K_q8_K_ref(n, (const block_q6_K *)wr, (const block_q8_K *)at); break;
            case TT_Q8_0: v = vec_dot_q8_0_q8_0_ref(n, (const block_q8_0 *)wr, (const block_q8_0 *)at); break;
            case TT_I2_S: {
                const float *scales = (const float *)(a + rb * (size_t)n_tok);
                const int32_t *sums = (const int32_t *)(scales + n_tok);
                int32_t dot = vec_dot_i2_s_i8_ref(n, wr, (const int8_t *)at);
                v = ((float)dot - (float)sums[t]) / scales[t] * w->scale;
                break;
            }
            case TT_F16: {
                const uint16_t *wf = (const uint16_t *)wr, *af = (const uint16_t *)at;
                float acc[8] = {0};
                const int32_t n8 = n & ~7;
                for (int32_t i = 0; i < n8; i++) acc[i % 8] += trit_fp16_to_fp32(wf[i]) * trit_fp16_to_fp32(af[i]);
                v = trit_sum8(acc);
                for (int32_t i = n8; i < n; i++) v += trit_fp16_to_fp32(wf[i]) * trit_fp16_to_fp32(af[i]);
                break;
            }
            case TT_BF16: {
                const uint16_t *wf = (const uint16_t *)wr, *af = (const uint16_t *)at;
                double s = 0;
                for (int32_t i = 0; i < n; i++) s += (double)(trit_bf16_to_fp32(wf[i]) * trit_bf16_to_fp32(af[i]));
                v = (float)s;
                break;
            }
            case TT_F32: default: {
                const float *wf = (const float *)wr, *xt = x + (size_t)t * n;
                double acc[8] = {0};
                const int32_t n8 = n & ~7;
                for (int32_t i = 0; i < n8; i++) acc[i % 8] += (double)wf[i] * (double)xt[i];
                double sd = sum8d(acc);
                for (int32_t i = n8; i < n; i++) sd += (double)wf[i] * (double)xt[i];
                v = (float)sd;
                break;
            }
            }
            y[(size_t)t * n_out + r] = v;
        }
    }
}

void mat_mul(const trit_mat *w, const float *x, int32_t n_tok, float *y, void *act) {
    mat_quantize_act(w, x, n_tok, act);
    mat_mul_rows(w, act, x, n_tok, y, 0, w->n_out);
}

void mat_get_row(const trit_mat *w, int32_t r, float *out) {
    const int32_t n = w->n_in;
    const uint8_t *wr = w->data + (size_t)r * w->row_bytes;
    switch (w->type) {
    case TT_F32: memcpy(out, wr, (size_t)n * 4); break;
    case TT_F16: for (int32_t i = 0; i < n; i++) out[i] = trit_fp16_to_fp32(((const uint16_t *)wr)[i]); break;
    case TT_BF16: for (int32_t i = 0; i < n; i++) out[i] = trit_bf16_to_fp32(((const uint16_t *)wr)[i]); break;
    case TT_Q8_0:
        for (int32_t b = 0; b < n / QK8_0; b++) {
            const block_q8_0 *x = (const block_q8_0 *)wr + b;
            const float d = trit_fp16_to_fp32(x->d);
            for (int j = 0; j < QK8_0; j++) out[b * QK8_0 + j] = x->qs[j] * d;
        }
        break;
    case TT_Q6_K:
        for (int32_t b = 0; b < n / QK_K; b++) {
            const block_q6_K *x = (const block_q6_K *)wr + b;
            int8_t a[QK_K];
            q6_K_unpack(x, a);
            const float d = trit_fp16_to_fp32(x->d);
            /* element e of the block belongs to scale group: within each 128-half, l/16 + 2*quarter */
            for (int h = 0; h < 2; h++)
                for (int q = 0; q < 4; q++)
                    for (int l = 0; l < 32; l++) {
                        int e = h * 128 + q * 32 + l;
                        out[b * QK_K + e] = d * x->scales[h * 8 + l / 16 + 2 * q] * a[e];
                    }
        }
        break;
    case TT_TQ2_0:
        for (int32_t b = 0; b < n / QK_K; b++) {
            const block_tq2_0 *x = (const block_tq2_0 *)wr + b;
            const float d = trit_fp16_to_fp32(x->d);
            for (int j = 0; j < 64; j += 32)
                for (int l = 0; l < 4; l++)
                    for (int m = 0; m < 32; m++)
                        out[b * QK_K + j * 4 + l * 32 + m] = (float)(((x->qs[j + m] >> (l * 2)) & 3) - 1) * d;
        }
        break;
    case TT_TQ1_0:
        for (int32_t b = 0; b < n / QK_K; b++) {
            const block_tq1_0 *x = (const block_tq1_0 *)wr + b;
            const float d = trit_fp16_to_fp32(x->d);
            float *o = out + b * QK_K;
            for (int l = 0; l < 5; ++l)
                for (int m = 0; m < 32; ++m) o[l * 32 + m] = (float)(tq1_trit(x->qs[m], l) - 1) * d;
            for (int l = 0; l < 5; ++l)
                for (int m = 0; m < 16; ++m) o[160 + l * 16 + m] = (float)(tq1_trit(x->qs[32 + m], l) - 1) * d;
            for (int l = 0; l < 4; ++l)
                for (int j = 0; j < 4; ++j) o[240 + l * 4 + j] = (float)(tq1_trit(x->qh[j], l) - 1) * d;
        }
        break;
    case TT_I2_S:
        for (int32_t b = 0; b < n / QK_I2_S; b++)
            for (int j = 0; j < QK_I2_S; j++) {
                int c = (wr[b * 32 + j % 32] >> (6 - 2 * (j / 32))) & 3;
                out[b * QK_I2_S + j] = (c == 0 ? -1.f : c == 2 ? 1.f : 0.f) * w->scale;
            }
        break;
    default: memset(out, 0, (size_t)n * 4);
    }
}
