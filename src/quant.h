/* quant.h: ggml tensor types the core reads, their block layouts, and the matmul kernel interface.
 *
 * Every kernel that has an optimised twin keeps a plain scalar `_ref` version here; tests require the
 * two to be equal bit for bit where the math is integer. Per-format code lives in quant.c. */
#ifndef TRIT_QUANT_H
#define TRIT_QUANT_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

enum trit_ggml_type {           /* ggml type ids as stored in GGUF */
    TT_F32 = 0, TT_F16 = 1, TT_Q8_0 = 8, TT_Q6_K = 14, TT_Q8_K = 15 /* activations only */,
    TT_BF16 = 30, TT_TQ1_0 = 34, TT_TQ2_0 = 35, TT_I2_S = 36 /* bitnet.cpp */
};

#define QK8_0 32
typedef struct { uint16_t d; int8_t qs[QK8_0]; } block_q8_0;                 /* 34 bytes */
#define QK_K 256
typedef struct { uint8_t qs[QK_K / 4]; uint16_t d; } block_tq2_0;             /* 66 bytes */
typedef struct { uint8_t qs[(QK_K - 4 * QK_K / 64) / 5]; uint8_t qh[QK_K / 64]; uint16_t d; } block_tq1_0; /* 54 */
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; uint16_t d; } block_q6_K; /* 210 */
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;  /* activations */
#define QK_I2_S 128             /* I2_S: 128 weights in 32 bytes; one fp32 scale per tensor after the data */

static_assert(sizeof(block_q8_0) == 34, "q8_0 block");
static_assert(sizeof(block_tq2_0) == 66, "tq2_0 block");
static_assert(sizeof(block_tq1_0) == 54, "tq1_0 block");
static_assert(sizeof(block_q6_K) == 210, "q6_K block");

/* Name ("F32", "TQ2_0", ...) or NULL if the type is not one we read. */
const char *tt_name(uint32_t type);
/* Bytes of a tensor with these dims (ggml ne order), or 0 with *err set to a reason if the row length
 * is not a multiple of the block size or the size overflows. I2_S: n/4 + 32. */
uint64_t tt_nbytes(uint32_t type, const int64_t ne[4], const char **err);

/* One weight matrix: n_out rows of n_in values, as a view into the model file. */
typedef struct {
    const uint8_t *data;
    uint32_t type;
    int32_t n_in, n_out;        /* ne[0], ne[1] */
    size_t row_bytes;           /* bytes per row (I2_S: n_in / 4) */
    float scale;                /* I2_S: the per-tensor scale; else 1 */
    uint32_t layout;            /* TT_LAYOUT_GGUF, or what the optimised kernels made of it (kernels.h) */
    const uint8_t *aux;         /* optimised kernels' side data (TT_LAYOUT_F16_SCANNED), owned by the model */
} trit_mat;

enum { TT_LAYOUT_GGUF = 0, TT_LAYOUT_TL = 1, TT_LAYOUT_F16_SCANNED = 2, TT_LAYOUT_TL4 = 3 };

/* Scratch the activation quantizer needs for n_tok tokens of width n_in (bytes): the reference
 * activations (mat_act_ref_bytes) and, in builds with optimised kernels, what they add (tables). */
size_t mat_act_bytes(uint32_t type, int32_t n_in, int32_t n_tok);
size_t mat_act_ref_bytes(uint32_t type, int32_t n_in, int32_t n_tok);

/* y[t][r] = sum_c W[r][c] * x[t][c] for t < n_tok, r < n_out, with the activation quantization that
 * the format's reference uses (TQ*: Q8_K per 256-block; I2_S: per-token int8 absmax; F16: x rounded to
 * f16; Q8_0: Q8_0 blocks; Q6_K: Q8_K; F32/BF16: float). x is [n_tok][n_in], y is [n_tok][n_out].
 * act is scratch of mat_act_bytes(). rows [r0, r1) only (threads split rows). */
void mat_mul(const trit_mat *w, const float *x, int32_t n_tok, float *y, void *act);
void mat_quantize_act(const trit_mat *w, const float *x, int32_t n_tok, void *act);
void mat_mul_rows(const trit_mat *w, const void *act, const float *x, int32_t n_tok, float *y,
                  int32_t r0, int32_t r1);

/* Optimised kernels (src/kernels.c + kernels_simd128.c, compiled when TRIT_OPT_KERNELS is defined; see
 * kernels.h): the same contract as mat_mul_rows. Return 0 when handled, -1 when this type/shape has no
 * optimised kernel (mat_mul_rows then runs the scalar reference). Must equal the reference bit for bit
 * where the math is integer. trit_force_ref != 0 makes them run their scalar twins (a matrix in the TL
 * layout has no GGUF-layout reference) or decline (kernel tests compare the two). */
int mat_mul_rows_opt(const trit_mat *w, const void *act, const float *x, int32_t n_tok, float *y, int32_t r0,
                     int32_t r1);
size_t mat_opt_act_bytes(uint32_t type, int32_t n_in, int32_t n_tok);
void mat_opt_prepare(const trit_mat *w, void *act, int32_t n_tok);   /* after mat_quantize_act's reference part */
extern int trit_force_ref;

/* ---- attention: the gqa query heads that share one KV head, for one token (forward.c) ---- */
typedef struct {
    const float *qs;                /* [gqa][hd] the queries (rounded to f16 with an F16 cache) */
    const void *k, *v;              /* this KV head's cache rows: element (j, i) at [j * row + i], f16 or f32 */
    const uint8_t *kflags, *vflags; /* per row j: nonzero if its halves include a subnormal, inf or NaN
                                     * (builds with optimised kernels; NULL: not known) */
    size_t row;
    int32_t n_kv, hd, gqa, f16;
    float kq_scale;
    float *scores;                  /* [gqa][n_kv]: q.k * kq_scale, then (the caller) the probabilities */
    float *out;                     /* [gqa][hd]: sum_j p_j v_j */
} attn_args;
void attn_qk_ref(const attn_args *a);
void attn_pv_ref(const attn_args *a);
/* optimised twins (kernels_simd128.c): 0 when done, -1 to fall back to the reference */
int attn_qk_opt(const attn_args *a);
int attn_pv_opt(const attn_args *a);

/* Row r of an embedding-like matrix dequantized to float (n_in values). */
void mat_get_row(const trit_mat *w, int32_t r, float *out);

/* ---- scalar reference kernels (exposed for the kernel tests) ---- */
void quantize_row_q8_K_ref(const float *x, block_q8_K *y, int64_t k);
void quantize_row_q8_0_ref(const float *x, block_q8_0 *y, int64_t k);
/* per-token absmax int8 (bitnet.cpp quantize_row_i8_s): returns act_scale = 127/max, *sum = sum q */
float quantize_row_i8_s_ref(const float *x, int8_t *q, int64_t n, int32_t *sum);
float vec_dot_tq2_0_q8_K_ref(int n, const block_tq2_0 *x, const block_q8_K *y);
float vec_dot_tq1_0_q8_K_ref(int n, const block_tq1_0 *x, const block_q8_K *y);
float vec_dot_q6_K_q8_K_ref(int n, const block_q6_K *x, const block_q8_K *y);
float vec_dot_q8_0_q8_0_ref(int n, const block_q8_0 *x, const block_q8_0 *y);
int32_t vec_dot_i2_s_i8_ref(int n, const uint8_t *w, const int8_t *q);  /* sum code*q (codes 0..2) */

#endif
