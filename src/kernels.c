/* kernels.c: the portable half of the optimised kernels (kernels.h): dispatch, the in-place TL repack,
 * the lookup-table builder and the scalar twin of the TL kernels. Compiled with -DTRIT_OPT_KERNELS
 * together with kernels_simd128.c (which declines everything when not built for SIMD128). */
#include "kernels.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model.h"

/* ---- TL layout ---- */

static int32_t tl_block(uint32_t type) { return type == TT_TQ2_0 ? QK_K : QK_I2_S; }
/* bytes of one 16-row group of one block (= 16 blocks of the GGUF layout) */
static size_t tl_group_bytes(uint32_t type) { return type == TT_TQ2_0 ? TL_ROWS * sizeof(block_tq2_0) : TL_ROWS * 32; }

int mat_tl_supported(const trit_mat *w) {
    return (w->type == TT_TQ2_0 || w->type == TT_I2_S) && w->layout == TT_LAYOUT_GGUF && w->n_out % TL_ROWS == 0 &&
           w->n_out > 0 && w->n_in > 0 && w->n_in % tl_block(w->type) == 0;
}

static int tl_layout(uint32_t layout) { return layout == TT_LAYOUT_TL || layout == TT_LAYOUT_TL4; }

/* A row's 4 codes c0..c3 of weights 4q..4q+3 as the bytes of a word <-> its TL byte
 * (4 c0 + c1) | (4 c2 + c3) << 4 */
static uint8_t tl_pack_codes(uint32_t c) {
    return (uint8_t)(((c & 3) << 2) | ((c >> 8) & 3) | ((c >> 10) & 0xc0) | ((c >> 20) & 0x30));
}
static uint32_t tl_unpack_codes(uint32_t x) { return (x >> 2 & 3) | (x & 3) << 8 | (x >> 6 & 3) << 16 | (x >> 4 & 3) << 24; }

/* TL4 (kernels.h): byte 4r'+i of idx vector q holds in field k (bits 2k, 2k+1) the code of weight
 * 4q+i of row 4k+r'; the 32-bit word at 4r' is the 4 codes of row 4k+r' in field k of its bytes. */
static uint32_t tl4_codes(const uint8_t *v, int r) {   /* row r's codes c0..c3 of vector v, one a byte */
    uint32_t x;
    memcpy(&x, v + 4 * (r % 4), 4);
    return x >> (2 * (r / 4)) & 0x03030303u;
}
/* the TL byte of row `lane` of a group's idx vector q, from either layout */
static int tl_byte(const trit_mat *w, const uint8_t *g, int q, int lane) {
    return w->layout == TT_LAYOUT_TL4 ? tl_pack_codes(tl4_codes(g + q * TL_ROWS, lane)) : g[q * TL_ROWS + lane];
}

int tl_code(const trit_mat *w, int32_t r, int32_t e) {
    const int32_t bk = tl_block(w->type), b = e / bk, eb = e % bk, q = eb / 4, s = eb % 4;
    const uint8_t *g = w->data + (size_t)(r / TL_ROWS) * TL_ROWS * w->row_bytes + (size_t)b * tl_group_bytes(w->type);
    const int nib = (tl_byte(w, g, q, r % TL_ROWS) >> (s < 2 ? 0 : 4)) & 15;
    return s % 2 ? nib & 3 : nib >> 2;
}

/* One tile: the 16 GGUF rows in src (row_bytes apart) -> TL groups at dst. A function per tile (called
 * thousands of times) so that the engine optimises it early. Pair byte for weights 4q..4q+3 of a block:
 * TQ2_0 holds them in the 4 bytes at 32*(q/32) + 4*(q%8), field (q%32)/8; I2_S in the bytes at
 * 4*(q%8), field 3 - q/8. One 32-bit load gives all four codes (one per byte). */
__attribute__((noinline)) static void repack_tile(uint32_t type, const uint8_t *src, size_t row_bytes, int32_t nb, uint8_t *dst,
                                                  int tl4) {
    const int tq2 = type == TT_TQ2_0, nq = tq2 ? 64 : 32;
    const size_t bsz = tq2 ? sizeof(block_tq2_0) : 32, gb = tl_group_bytes(type);
    for (int32_t b = 0; b < nb; b++) {
        uint8_t *g = dst + (size_t)b * gb;
        if (tl4) memset(g, 0, (size_t)nq * TL_ROWS);   /* TL4 ORs each row's codes into its fields */
        for (int r = 0; r < TL_ROWS; r++) {
            const uint8_t *blk = src + (size_t)r * row_bytes + (size_t)b * bsz;
            for (int q = 0; q < nq; q++) {
                uint32_t wd;
                memcpy(&wd, blk + (tq2 ? 32 * (q / 32) : 0) + 4 * (q % 8), 4);
                const int shift = tq2 ? 2 * ((q % 32) / 8) : 6 - 2 * (q / 8);
                wd = (wd >> shift) & 0x03030303u;   /* bytes: c0 c1 c2 c3 */
                if (tl4) {   /* field r / 4 of the 4 bytes at 4 (r % 4) */
                    uint8_t *o = g + q * TL_ROWS + 4 * (r % 4);
                    uint32_t v;
                    memcpy(&v, o, 4);
                    v |= wd << (2 * (r / 4));
                    memcpy(o, &v, 4);
                } else
                    g[q * TL_ROWS + r] = tl_pack_codes(wd);
            }
            if (tq2) memcpy(g + 1024 + 2 * r, &((const block_tq2_0 *)blk)->d, 2);
        }
    }
}

int mat_tl_repack(trit_mat *w) {
    return mat_tl_repack_layout(w, tl_dot_add && simd128_dot_add_built() ? TT_LAYOUT_TL4 : TT_LAYOUT_TL);
}

int mat_tl_repack_layout(trit_mat *w, uint32_t layout) {
    if (!mat_tl_supported(w) || (layout != TT_LAYOUT_TL && layout != TT_LAYOUT_TL4)) return -1;
    const size_t tile = TL_ROWS * w->row_bytes;
    uint8_t *tmp = malloc(tile);
    if (!tmp) return -1;
    uint8_t *data = (uint8_t *)w->data;   /* the caller of trit_model_load_inplace gave it to us writable */
    for (int32_t t = 0; t < w->n_out / TL_ROWS; t++) {
        memcpy(tmp, data + (size_t)t * tile, tile);
        repack_tile(w->type, tmp, w->row_bytes, w->n_in / tl_block(w->type), data + (size_t)t * tile, layout == TT_LAYOUT_TL4);
    }
    free(tmp);
    w->layout = layout;
    return 0;
}

/* The inverse of repack_tile: TL groups at src -> the 16 GGUF rows at dst (row_bytes apart). */
static void unpack_tile(uint32_t type, const uint8_t *src, int32_t nb, size_t row_bytes, uint8_t *dst, int tl4) {
    const int tq2 = type == TT_TQ2_0, nq = tq2 ? 64 : 32;
    const size_t bsz = tq2 ? sizeof(block_tq2_0) : 32, gb = tl_group_bytes(type);
    for (int r = 0; r < TL_ROWS; r++) memset(dst + (size_t)r * row_bytes, 0, (size_t)nb * bsz);
    for (int32_t b = 0; b < nb; b++) {
        const uint8_t *g = src + (size_t)b * gb;
        for (int r = 0; r < TL_ROWS; r++) {
            uint8_t *blk = dst + (size_t)r * row_bytes + (size_t)b * bsz;
            for (int q = 0; q < nq; q++) {
                const uint32_t wd = tl4 ? tl4_codes(g + q * TL_ROWS, r) : tl_unpack_codes(g[q * TL_ROWS + r]);
                const int shift = tq2 ? 2 * ((q % 32) / 8) : 6 - 2 * (q / 8);
                uint8_t *o = blk + (tq2 ? 32 * (q / 32) : 0) + 4 * (q % 8);
                uint32_t v;
                memcpy(&v, o, 4);
                v |= wd << shift;
                memcpy(o, &v, 4);
            }
            if (tq2) memcpy(&((block_tq2_0 *)blk)->d, g + 1024 + 2 * r, 2);
        }
    }
}

int mat_tl_unpack(trit_mat *w) {
    if (!tl_layout(w->layout)) return -1;
    const size_t tile = TL_ROWS * w->row_bytes;
    uint8_t *tmp = malloc(tile);
    if (!tmp) return -1;
    uint8_t *data = (uint8_t *)w->data;
    for (int32_t t = 0; t < w->n_out / TL_ROWS; t++) {
        memcpy(tmp, data + (size_t)t * tile, tile);
        unpack_tile(w->type, tmp, w->n_in / tl_block(w->type), w->row_bytes, data + (size_t)t * tile, w->layout == TT_LAYOUT_TL4);
    }
    free(tmp);
    w->layout = TT_LAYOUT_GGUF;
    return 0;
}

int mat_f16_scan(trit_mat *w) {
    if (w->type != TT_F16 || w->layout != TT_LAYOUT_GGUF || w->n_in % 128) return -1;
    const size_t per_row = (size_t)w->n_in / 16, nchunk = (size_t)w->n_out * per_row;
    uint8_t *bits = calloc((nchunk + 7) / 8, 1);
    if (!bits) return -1;
    size_t marked = 0;
    for (size_t k = 0; k < nchunk; k++) {
        const uint16_t *h = (const uint16_t *)(w->data + (k / per_row) * w->row_bytes) + (k % per_row) * 16;
        int any = 0;
        for (int j = 0; j < 16; j++) {
            const int e = h[j] & 0x7c00;
            any |= (e == 0 && (h[j] & 0x3ff)) || e == 0x7c00;   /* subnormal, inf or NaN */
        }
        if (any) { bits[k / 8] |= (uint8_t)(1u << (k % 8)); marked++; }
    }
    if (!marked) { free(bits); bits = NULL; }
    w->aux = bits;
    w->layout = TT_LAYOUT_F16_SCANNED;
    return 0;
}

static int cmp_range(const void *a, const void *b) {
    const uintptr_t x = ((const uintptr_t *)a)[0], y = ((const uintptr_t *)b)[0];
    return x < y ? -1 : x > y;
}

int32_t kernels_repack_model(trit_model *m) {
    /* tensors whose bytes overlap (legal only in malformed files) must not be rearranged twice */
    const uint64_t n = m->g.n_tensors;
    uintptr_t *r = malloc(sizeof(uintptr_t) * 2 * (n ? n : 1));
    if (!r) return 0;
    for (uint64_t i = 0; i < n; i++) {
        r[2 * i] = (uintptr_t)m->g.tensors[i].data;
        r[2 * i + 1] = (uintptr_t)m->g.tensors[i].data + (uintptr_t)m->g.tensors[i].nbytes;
    }
    qsort(r, n, 2 * sizeof(uintptr_t), cmp_range);
    int overlap = 0;
    for (uint64_t i = 1; i < n; i++) overlap |= r[2 * i] < r[2 * i - 1];
    free(r);
    if (overlap) return 0;
    int32_t done = 0;
    for (int32_t l = 0; l < m->info.n_layer; l++) {
        trit_layer *L = &m->layers[l];
        trit_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wgate, &L->wup, &L->wdown};
        for (int j = 0; j < 7; j++) {
            if (mat_tl_repack(ms[j]) == 0) done++;
            else mat_f16_scan(ms[j]);
        }
    }
    /* never token_embd's data (mat_get_row reads it); a tied head (a copy of it) may be scanned */
    if (m->output.data != m->tok_embd.data && mat_tl_repack(&m->output) == 0) done++;
    mat_f16_scan(&m->output);
    return done;
}

int32_t kernels_restore_model(trit_model *m) {
    int32_t done = 0;
    for (int32_t l = 0; m->layers && l < m->info.n_layer; l++) {
        trit_layer *L = &m->layers[l];
        trit_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wgate, &L->wup, &L->wdown};
        for (int j = 0; j < 7; j++)
            if (tl_layout(ms[j]->layout)) {
                if (mat_tl_unpack(ms[j])) return -1;
                done++;
            }
    }
    if (tl_layout(m->output.layout)) {
        if (mat_tl_unpack(&m->output)) return -1;
        done++;
    }
    return done;
}

void kernels_free_model(trit_model *m) {
    for (int32_t l = 0; m->layers && l < m->info.n_layer; l++) {
        trit_layer *L = &m->layers[l];
        trit_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wgate, &L->wup, &L->wdown};
        for (int j = 0; j < 7; j++) { free((void *)ms[j]->aux); ms[j]->aux = NULL; }
    }
    free((void *)m->output.aux);
    m->output.aux = NULL;
}

/* measured (docs/bench.md, the kernel bench): the relaxed dot products beat the lookups from 4 tokens on;
 * the plain SIMD128 ones (i32x4.dot_i16x8, 8 products an instruction) at best break even in the kernel
 * bench and made the 2b prefill slower, so the plain build keeps the lookups (its dots stay tested) */
#ifdef __wasm_relaxed_simd__
int32_t tl_dot_min_tokens = 4;
#else
int32_t tl_dot_min_tokens = INT32_MAX;
#endif
int tl_dot_add = 0;   /* kernels.h */

/* ---- activations: lookup tables ---- */

size_t tl_table_offset(uint32_t type, int32_t n_in, int32_t n_tok) {
    return (mat_act_ref_bytes(type, n_in, n_tok) + 15) & ~(size_t)15;
}

size_t tl_table_bytes(int32_t n_in) { return (size_t)n_in * 16; }
size_t tl_pair_bytes(int32_t n_in) { return (size_t)n_in * 2; }

/* TQ1_0 (kernels.h): o[e] = a[e] - 3 a[next(e)], next(e) the element of the next trit of e's byte */
void tq1_prefix_acts(const int8_t *a, int16_t *o) {
    for (int e = 0; e < QK_K; e++) {
        const int nx = e < 128 ? e + 32 : e < 160 ? -1 : e < 224 ? e + 16 : e < 240 ? -1 : e < 252 ? e + 4 : -1;
        o[e] = (int16_t)(a[e] - (nx >= 0 ? 3 * a[nx] : 0));
    }
}

size_t mat_opt_act_bytes(uint32_t type, int32_t n_in, int32_t n_tok) {
    switch (type) {
    case TT_TQ2_0: case TT_I2_S: return (tl_table_bytes(n_in) + tl_pair_bytes(n_in)) * (size_t)n_tok;
    case TT_F16: return (size_t)n_in * 4 * (size_t)n_tok;   /* f32 copies of the f16-rounded activations */
    case TT_TQ1_0: return (size_t)n_in * sizeof(int16_t) * (size_t)n_tok;   /* tq1_prefix_acts() */
    default: return 0;
    }
}

void tl_build_tables_ref(const int8_t *q, int32_t n_in, uint8_t *tab) {
    for (int32_t p = 0; p < n_in / 2; p++, tab += 32)
        for (int k = 0; k < 16; k++) {
            const int v = ((k >> 2) - 1) * q[2 * p] + ((k & 3) - 1) * q[2 * p + 1];
            tab[k] = (uint8_t)(v & 0xff);
            tab[16 + k] = (uint8_t)((v >> 8) & 0xff);
        }
}

static void build_tables(const int8_t *q, int32_t n_in, uint8_t *tab) {
    if (simd128_available()) simd128_build_tables(q, n_in, tab);
    else tl_build_tables_ref(q, n_in, tab);
}

void mat_opt_prepare(const trit_mat *w, void *act, int32_t n_tok) {
    const int32_t n = w->n_in;
    uint8_t *a = act;
    if (w->layout == TT_LAYOUT_TL4) return;   /* its kernels read the reference activations only */
    if (w->layout == TT_LAYOUT_TL) {
        uint8_t *tab = a + tl_table_offset(w->type, n, n_tok);
        for (int32_t t = 0; t < n_tok; t++, tab += tl_table_bytes(n)) {
            if (w->type == TT_I2_S) build_tables((const int8_t *)a + (size_t)t * n, n, tab);
            else
                for (int32_t b = 0; b < n / QK_K; b++)
                    build_tables(((const block_q8_K *)a)[(size_t)t * (n / QK_K) + b].qs, QK_K, tab + (size_t)b * QK_K * 16);
        }
        if (simd128_available())   /* tab = the pair splats of the dot-product kernel, after all tables */
            for (int32_t t = 0; t < n_tok; t++, tab += tl_pair_bytes(n)) {
                if (w->type == TT_I2_S) simd128_build_pairs((const int8_t *)a + (size_t)t * n, n, tab);
                else
                    for (int32_t b = 0; b < n / QK_K; b++)
                        simd128_build_pairs(((const block_q8_K *)a)[(size_t)t * (n / QK_K) + b].qs, QK_K, tab + (size_t)b * QK_K * 2);
            }
    } else if (w->type == TT_TQ1_0 && simd128_available()) {
        int16_t *o = (int16_t *)(a + tl_table_offset(TT_TQ1_0, n, n_tok));
        for (int32_t b = 0; b < n_tok * (n / QK_K); b++) tq1_prefix_acts(((const block_q8_K *)a)[b].qs, o + (size_t)b * QK_K);
    } else if (w->type == TT_F16 && simd128_available()) {
        simd128_prepare_f16((const uint16_t *)a, n * n_tok, (float *)(a + tl_table_offset(TT_F16, n, n_tok)));
    }
}

/* ---- the scalar twin of the TL kernels ---- */

void mat_mul_rows_tl_ref(const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0, int32_t r1) {
    const int32_t n = w->n_in, nb = n / tl_block(w->type), n_out = w->n_out;
    const size_t gb = tl_group_bytes(w->type);
    for (int32_t r = r0; r < r1; r++) {
        const uint8_t *tile = w->data + (size_t)(r / TL_ROWS) * TL_ROWS * w->row_bytes;
        const int lane = r % TL_ROWS;
        for (int32_t t = 0; t < n_tok; t++) {
            float v;
            if (w->type == TT_TQ2_0) {
                const block_q8_K *a = (const block_q8_K *)act + (size_t)t * nb;
                float sumf = 0.0f;
                for (int32_t b = 0; b < nb; b++) {
                    const uint8_t *g = tile + (size_t)b * gb;
                    int32_t sumi = 0;
                    for (int q = 0; q < 64; q++) {
                        const int x = tl_byte(w, g, q, lane);
                        sumi += ((x >> 2 & 3) - 1) * a[b].qs[4 * q] + ((x & 3) - 1) * a[b].qs[4 * q + 1] +
                                ((x >> 6 & 3) - 1) * a[b].qs[4 * q + 2] + ((x >> 4 & 3) - 1) * a[b].qs[4 * q + 3];
                    }
                    uint16_t d;
                    memcpy(&d, g + 1024 + 2 * lane, 2);
                    sumf += (float)sumi * (a[b].d * trit_fp16_to_fp32(d));
                }
                v = sumf;
            } else {
                const int8_t *q = (const int8_t *)act + (size_t)t * n;
                const float *scales = (const float *)((const int8_t *)act + (size_t)n * n_tok);
                const int32_t *sums = (const int32_t *)(scales + n_tok);
                int32_t dot = 0;
                for (int32_t b = 0; b < nb; b++) {
                    const uint8_t *g = tile + (size_t)b * gb;
                    const int8_t *qb = q + b * QK_I2_S;
                    for (int k = 0; k < 32; k++) {
                        const int x = tl_byte(w, g, k, lane);
                        dot += (x >> 2 & 3) * qb[4 * k] + (x & 3) * qb[4 * k + 1] + (x >> 6 & 3) * qb[4 * k + 2] +
                               (x >> 4 & 3) * qb[4 * k + 3];
                    }
                }
                v = ((float)dot - (float)sums[t]) / scales[t] * w->scale;
            }
            y[(size_t)t * n_out + r] = v;
        }
    }
}

/* ---- dispatch (quant.h's hook) ---- */

int mat_mul_rows_opt(const trit_mat *w, const void *act, const float *x, int32_t n_tok, float *y, int32_t r0,
                     int32_t r1) {
    if (w->layout == TT_LAYOUT_TL4) {   /* its SIMD kernels are dot-adds: only where the engine computes them right */
        if (trit_force_ref || !tl_dot_add || !simd128_dot_add_built()) mat_mul_rows_tl_ref(w, act, n_tok, y, r0, r1);
        else simd128_mul_rows_tl(w, act, n_tok, y, r0, r1);
        return 0;
    }
    if (w->layout == TT_LAYOUT_TL) {
        if (trit_force_ref || !simd128_available()) mat_mul_rows_tl_ref(w, act, n_tok, y, r0, r1);
        else simd128_mul_rows_tl(w, act, n_tok, y, r0, r1);
        return 0;
    }
    if (trit_force_ref) return -1;
    return simd128_mul_rows(w, act, x, n_tok, y, r0, r1);
}

int attn_qk_opt(const attn_args *a) { return trit_force_ref ? -1 : simd128_attn_qk(a); }
int attn_pv_opt(const attn_args *a) { return trit_force_ref ? -1 : simd128_attn_pv(a); }
