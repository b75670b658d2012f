/* forward.c: the per-sequence context (KV cache + scratch) and the batched forward pass.
 *
 * Numerics follow llama.cpp's CPU backend (c392e50) so that logits agree within its own spread:
 * rms_norm sums squares in double and scales in float; RoPE angles come from theta *= base^(-2/n_rot)
 * repeated in float; with an F16 KV cache, K and V are stored as f16 and Q and the softmax
 * probabilities are rounded to f16 for the two attention products (accumulation in f32/f64). */
#if defined(TRIT_PROFILE) && !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L   /* clock_gettime */
#endif
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model.h"
#include "pool.h"

struct trit_ctx {
    const trit_model *m;
    int32_t n_ctx, n_batch, pos;
    trit_kv_type kv_type;
    size_t kv_row;                  /* n_head_kv * head_dim */
    void *k_cache, *v_cache;        /* [n_layer][n_ctx][kv_row], f16 or f32 */
    /* scratch, sized for n_batch tokens */
    float *x;                       /* [B][n_embd] residual stream */
    float *h;                       /* [B][max(n_embd, n_q)] normed input */
    float *q;                       /* [B][n_head*head_dim] */
    float *k, *v;                   /* [B][kv_row] */
    float *att;                     /* [B][n_head*head_dim] */
    float *o;                       /* [B][n_embd] */
    float *g, *u;                   /* [B][n_ff] */
    float *scores;                  /* [n_head][n_ctx] attention scores / probabilities */
    float *rope_cs;                 /* [B][n_rot] cos/sin pairs per token */
    float *qf;                      /* [n_head][head_dim] q as the attention reads it (f16-rounded) */
    uint8_t *kv_flags;              /* [2][n_layer][n_head_kv][n_ctx]: K/V rows with subnormal/inf/NaN halves */
    void *act;                      /* activation quantization scratch */
    trit_pool *pool;                /* matmul threads (NULL: the caller only) */
    trit_pool *own_pool;            /* made by trit_ctx_init for n_threads > 1 */
};

trit_ctx_params trit_ctx_default_params(void) {
    trit_ctx_params p = {0, 0, TRIT_KV_F16, 0};
    return p;
}

static size_t max_sz(size_t a, size_t b) { return a > b ? a : b; }

static size_t act_need(const trit_model *m, int32_t B) {
    const trit_model_info *hp = &m->info;
    size_t need = mat_act_bytes(m->output.type, m->output.n_in, B);
    for (int i = 0; i < hp->n_layer; i++) {
        const trit_layer *L = &m->layers[i];
        const trit_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wgate, &L->wup, &L->wdown};
        for (int j = 0; j < 7; j++) need = max_sz(need, mat_act_bytes(ms[j]->type, ms[j]->n_in, B));
    }
    return need;
}

void trit_ctx_free(trit_ctx *c) {
    if (!c) return;
    free(c->k_cache); free(c->v_cache);
    free(c->x); free(c->h); free(c->q); free(c->k); free(c->v); free(c->att); free(c->o);
    free(c->g); free(c->u); free(c->scores); free(c->rope_cs); free(c->qf); free(c->kv_flags); free(c->act);
    trit_pool_free(c->own_pool);
    free(c);
}

void trit_ctx_set_pool(trit_ctx *c, trit_pool *p) { if (c) c->pool = p; }

trit_status trit_ctx_init(const trit_model *m, const trit_ctx_params *p, trit_ctx **out) {
    if (!out) return trit_err(TRIT_ERR_ARG, "trit_ctx_init: out is NULL");
    *out = NULL;
    if (!m) return trit_err(TRIT_ERR_ARG, "trit_ctx_init: model is NULL");
    trit_ctx_params d = trit_ctx_default_params();
    if (!p) p = &d;
    const trit_model_info *hp = &m->info;
    int32_t n_ctx = p->n_ctx > 0 ? p->n_ctx : hp->n_ctx_train;
    int32_t B = p->n_batch > 0 ? p->n_batch : 64;
    if (n_ctx <= 0 || n_ctx > (1 << 20)) return trit_err(TRIT_ERR_ARG, "n_ctx %d is out of range", n_ctx);
    if (B > 4096) return trit_err(TRIT_ERR_ARG, "n_batch %d is out of range (1..4096)", B);
    if (B > n_ctx) B = n_ctx;
    if (p->kv_type != TRIT_KV_F16 && p->kv_type != TRIT_KV_F32) return trit_err(TRIT_ERR_ARG, "unknown kv_type %d", p->kv_type);
    if (p->n_threads < 0 || p->n_threads > 256) return trit_err(TRIT_ERR_ARG, "n_threads %d is out of range (0..256)", p->n_threads);
    trit_ctx *c = calloc(1, sizeof *c);
    if (!c) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    c->m = m;
    c->n_ctx = n_ctx;
    c->n_batch = B;
    c->kv_type = p->kv_type;
    c->kv_row = (size_t)hp->n_head_kv * hp->head_dim;
    const size_t nq = (size_t)hp->n_head * hp->head_dim, E = (size_t)hp->n_embd, F = (size_t)hp->n_ff;
    const size_t esz = p->kv_type == TRIT_KV_F16 ? 2 : 4;
    const size_t kv_bytes = (size_t)hp->n_layer * (size_t)n_ctx * c->kv_row * esz;
    c->k_cache = malloc(kv_bytes);
    c->v_cache = malloc(kv_bytes);
    c->x = malloc(sizeof(float) * B * E);
    c->h = malloc(sizeof(float) * B * max_sz(max_sz(E, nq), F));
    c->q = malloc(sizeof(float) * B * nq);
    c->k = malloc(sizeof(float) * B * c->kv_row);
    c->v = malloc(sizeof(float) * B * c->kv_row);
    c->att = malloc(sizeof(float) * B * nq);
    c->o = malloc(sizeof(float) * B * E);
    c->g = malloc(sizeof(float) * B * F);
    c->u = malloc(sizeof(float) * B * F);
    c->scores = malloc(sizeof(float) * (size_t)hp->n_head * (size_t)n_ctx);
    c->rope_cs = malloc(sizeof(float) * (size_t)B * (size_t)hp->n_rot);
    c->qf = malloc(sizeof(float) * nq);
    c->kv_flags = calloc(2 * (size_t)hp->n_layer * (size_t)hp->n_head_kv * (size_t)n_ctx, 1);
    c->act = malloc(act_need(m, B));
    if (!c->k_cache || !c->v_cache || !c->x || !c->h || !c->q || !c->k || !c->v || !c->att || !c->o || !c->g ||
        !c->u || !c->scores || !c->rope_cs || !c->qf || !c->kv_flags || !c->act) {
        trit_ctx_free(c);
        return trit_err(TRIT_ERR_NOMEM, "out of memory for a context of %d positions (KV cache %zu MB)", n_ctx,
                        2 * kv_bytes >> 20);
    }
    if (p->n_threads > 1) {
        trit_status rc = trit_pool_init(p->n_threads, &c->own_pool);
        if (rc) { trit_ctx_free(c); return rc; }
        c->pool = c->own_pool;
    }
    *out = c;
    return TRIT_OK;
}

int32_t trit_ctx_pos(const trit_ctx *c) { return c->pos; }
int32_t trit_ctx_n_ctx(const trit_ctx *c) { return c->n_ctx; }

trit_status trit_ctx_truncate(trit_ctx *c, int32_t pos) {
    if (!c || pos < 0 || pos > c->pos)
        return trit_err(TRIT_ERR_ARG, "truncate(%d): position must be in 0..%d", pos, c ? c->pos : 0);
    c->pos = pos;
    return TRIT_OK;
}

/* ---- matmuls, rows split across the context's pool ---- */

typedef struct {
    const trit_mat *w[3];
    float *y[3];
    int32_t first[4];               /* chunk index where matrix k starts; first[n] = all chunks */
    int32_t rows;                   /* rows per chunk (a multiple of 16: the TL kernels' tiles) */
    const void *act;
    const float *x;
    int32_t n_tok;
} mm_job;

static void mm_chunk(void *arg, int32_t ci) {
    const mm_job *j = arg;
    int k = 0;
    while (ci >= j->first[k + 1]) k++;
    const int32_t r0 = (ci - j->first[k]) * j->rows, n_out = j->w[k]->n_out;
    mat_mul_rows(j->w[k], j->act, j->x, j->n_tok, j->y[k], r0, r0 + j->rows < n_out ? r0 + j->rows : n_out);
}

/* -DTRIT_PROFILE: seconds spent per part of the forward pass, for profiling builds (docs/wasm.md):
 * [0] activation quantization + tables, [1] matmul rows (not F16), [2] attention, [4] F16 matmuls */
#ifdef TRIT_PROFILE
#include <time.h>
double trit_prof[8];
static double prof_now(void) { struct timespec ts; clock_gettime(CLOCK_MONOTONIC, &ts); return ts.tv_sec + 1e-9 * ts.tv_nsec; }
double *trit_prof_get(void) { return trit_prof; }
#define PROF_START double prof_t0 = prof_now()
#define PROF_END(i) trit_prof[i] += prof_now() - prof_t0
#else
#define PROF_START
#define PROF_END(i)
#endif

/* Chunks per thread of a threaded matmul job: 4 since the seventh session (8 before). Longer chunks are
 * longer memory streams for the decode kernels' lockstep tiles: 2 threads decode in 0.78x the time (2b
 * I2_S), 0.94x (2b TQ2_0), 0.89x (700m TQ2_0) of 8 chunks (bench/ab.mjs --threads 2, relaxed-mt, both
 * orders); 2 chunks did about as well (0.76x / 0.95x / 0.95x) with less room to balance a busy host. */
#ifndef TRIT_CHUNKS_PER_THREAD
#define TRIT_CHUNKS_PER_THREAD 4
#endif

/* matrices that read the same quantized activations */
static int same_act(const trit_mat *a, const trit_mat *b) {
    return a->type == b->type && a->n_in == b->n_in && a->layout == b->layout;
}

/* y_k = W_k x for k < n (n <= 3; x is [B][n_in] for all): one activation quantization for each run of
 * matrices that agree, then one pool job over all their rows. */
static void matmul(trit_ctx *c, int n, const trit_mat *const *ws, float *const *ys, const float *x, int32_t B) {
    const int32_t threads = pool_threads(c->pool);
    for (int k0 = 0, k1; k0 < n; k0 = k1) {
        int32_t total = ws[k0]->n_out, widest = ws[k0]->n_out;
        for (k1 = k0 + 1; k1 < n && same_act(ws[k0], ws[k1]); k1++) {
            total += ws[k1]->n_out;
            if (ws[k1]->n_out > widest) widest = ws[k1]->n_out;
        }
        PROF_START;
        mat_quantize_act(ws[k0], x, B, c->act);
        PROF_END(0);
        mm_job j;
        j.act = c->act;
        j.x = x;
        j.n_tok = B;
        /* one chunk per matrix on one thread; else ~TRIT_CHUNKS_PER_THREAD per thread for dynamic balance */
        j.rows = threads == 1 ? widest
                              : ((total + TRIT_CHUNKS_PER_THREAD * threads - 1) / (TRIT_CHUNKS_PER_THREAD * threads) + 15) / 16 * 16;
        j.first[0] = 0;
        for (int k = k0; k < k1; k++) {
            j.w[k - k0] = ws[k];
            j.y[k - k0] = ys[k];
            j.first[k - k0 + 1] = j.first[k - k0] + (ws[k]->n_out + j.rows - 1) / j.rows;
        }
        {
            PROF_START;
            pool_run(c->pool, mm_chunk, &j, j.first[k1 - k0]);
            PROF_END(ws[k0]->type == TT_F16 ? 4 : 1);
        }
    }
}

/* y = x / sqrt(mean(x^2) + eps) * w  (ggml: sum in double, scale in float, then a separate multiply) */
static void rms_norm(float *y, const float *x, const float *w, int32_t n, float eps) {
    double sum = 0;
    for (int32_t i = 0; i < n; i++) sum += (double)(x[i] * x[i]);
    const float mean = (float)(sum / n);
    const float scale = 1.0f / sqrtf(mean + eps);
    for (int32_t i = 0; i < n; i++) y[i] = (x[i] * scale) * w[i];
}

/* cos/sin for the n_rot/2 rotation pairs at position pos, as ggml_rope_cache_init (ext_factor 0) */
static void rope_cache(const trit_model *m, int32_t pos, float *cs) {
    const trit_model_info *hp = &m->info;
    /* powf/cosf/sinf differ in the last bit between libms (glibc vs the wasm build's musl); the double
     * functions rounded to float agree (and are the correctly rounded float results in all but rare
     * ties), so every build computes the same angles */
    const float theta_scale = (float)pow((double)hp->rope_base, (double)(-2.0f / (float)hp->n_rot));
    float theta = (float)pos;
    for (int32_t i0 = 0; i0 < hp->n_rot; i0 += 2) {
        const float ff = m->rope_freqs ? m->rope_freqs[i0 / 2] : 1.0f;
        const float t = m->rope_freq_scale * (theta / ff);
        cs[i0] = (float)cos((double)t);
        cs[i0 + 1] = (float)sin((double)t);
        theta *= theta_scale;
    }
}

static void rope_apply(const trit_model *m, float *v, int32_t n_heads, const float *cs) {
    const trit_model_info *hp = &m->info;
    const int32_t hd = hp->head_dim, nr = hp->n_rot;
    for (int32_t h = 0; h < n_heads; h++) {
        float *x = v + (size_t)h * hd;
        for (int32_t i0 = 0; i0 < nr; i0 += 2) {
            const float c = cs[i0], s = cs[i0 + 1];
            const int32_t a = hp->rope_neox ? i0 / 2 : i0, b = hp->rope_neox ? i0 / 2 + nr / 2 : i0 + 1;
            const float x0 = x[a], x1 = x[b];
            x[a] = x0 * c - x1 * s;
            x[b] = x0 * s + x1 * c;
        }
    }
}

static void add_bias(float *y, const float *b, int32_t n_tok, int32_t n) {
    if (!b) return;
    for (int32_t t = 0; t < n_tok; t++)
        for (int32_t i = 0; i < n; i++) y[(size_t)t * n + i] += b[i];
}

static void scale_vec(float *y, size_t n, float s) {
    if (s == 1.0f) return;
    for (size_t i = 0; i < n; i++) y[i] *= s;
}

static inline float round16(float x) { return trit_fp16_to_fp32(trit_fp32_to_fp16(x)); }

/* q.k and p.v for the gqa query heads of one KV head. The products and sums follow llama.cpp's CPU
 * backend with an F16 cache: q and the probabilities are rounded to f16, so every product of two halves
 * is exact in float; q.k sums in 8 float lanes (trit_sum8), p.v in position order. The SIMD twins
 * (kernels_simd128.c) compute the same bits. An F32 cache sums in double, in position order (closest
 * to llama.cpp's float sums in any order: float lanes flipped an activation rounding on an oracle
 * prompt, bitnet-tiny-spm p2, which llama.cpp, double sums and the WebGPU backend agree on); the
 * SIMD kernels decline it (F16 is the default cache). */
void attn_qk_ref(const attn_args *a) {
    const int32_t hd = a->hd, hd8 = hd & ~7;
    for (int g = 0; g < a->gqa; g++) {
        const float *qf = a->qs + (size_t)g * hd;
        for (int32_t j = 0; j < a->n_kv; j++) {
            float acc[8] = {0}, s;
            if (a->f16) {
                const uint16_t *kj = (const uint16_t *)a->k + (size_t)j * a->row;
                for (int32_t i = 0; i < hd8; i++) acc[i % 8] += qf[i] * trit_fp16_to_fp32(kj[i]);
                s = trit_sum8(acc);
                for (int32_t i = hd8; i < hd; i++) s += qf[i] * trit_fp16_to_fp32(kj[i]);
            } else {   /* F32 cache: products and sums in double, in position order (see above) */
                const float *kj = (const float *)a->k + (size_t)j * a->row;
                double d = 0;
                for (int32_t i = 0; i < hd; i++) d += (double)qf[i] * (double)kj[i];
                s = (float)d;
            }
            a->scores[(size_t)g * a->n_kv + j] = s * a->kq_scale;
        }
    }
}

void attn_pv_ref(const attn_args *a) {
    for (int g = 0; g < a->gqa; g++) {
        const float *p = a->scores + (size_t)g * a->n_kv;
        for (int32_t i = 0; i < a->hd; i++) {
            float s = 0;
            if (a->f16) for (int32_t j = 0; j < a->n_kv; j++) s += p[j] * trit_fp16_to_fp32(((const uint16_t *)a->v)[(size_t)j * a->row + i]);
            else {
                double d = 0;
                for (int32_t j = 0; j < a->n_kv; j++) d += (double)p[j] * (double)((const float *)a->v)[(size_t)j * a->row + i];
                s = (float)d;
            }
            a->out[(size_t)g * a->hd + i] = s;
        }
    }
}

/* softmax of scores[0..n) in place (double sum, float probabilities; f16-rounded with an F16 cache) */
static void softmax(float *sc, int32_t n, int f16) {
    float mx = -INFINITY;
    for (int32_t j = 0; j < n; j++) if (sc[j] > mx) mx = sc[j];
    double sum = 0;
    for (int32_t j = 0; j < n; j++) {
        const float e = expf(sc[j] - mx);
        sc[j] = e;
        sum += e;
    }
    const float inv = (float)(1.0 / sum);
    for (int32_t j = 0; j < n; j++) {
        sc[j] *= inv;
        if (f16) sc[j] = round16(sc[j]);
    }
}

typedef struct { trit_ctx *c; int32_t layer, t, pos0; } attn_job;

/* One token, one KV head and its gqa query heads: a chunk of the attention job. */
static void attn_chunk(void *arg, int32_t kvh) {
    const attn_job *J = arg;
    trit_ctx *c = J->c;
    const trit_model_info *hp = &c->m->info;
    const int32_t hd = hp->head_dim, gqa = hp->n_head / hp->n_head_kv, n_kv = J->pos0 + J->t + 1;
    const size_t nq = (size_t)hp->n_head * hd, lofs = (size_t)J->layer * (size_t)c->n_ctx * c->kv_row;
    const size_t head0 = (size_t)kvh * gqa, esz = c->kv_type == TRIT_KV_F16 ? 2 : 4;
    const float *q = c->q + (size_t)J->t * nq + head0 * hd;
    attn_args a;
    a.f16 = c->kv_type == TRIT_KV_F16;
    a.qs = c->qf + head0 * hd;
    for (size_t i = 0; i < (size_t)gqa * hd; i++) c->qf[head0 * hd + i] = a.f16 ? round16(q[i]) : q[i];
    a.k = (const uint8_t *)c->k_cache + (lofs + (size_t)kvh * hd) * esz;
    a.v = (const uint8_t *)c->v_cache + (lofs + (size_t)kvh * hd) * esz;
    const size_t fl = ((size_t)J->layer * hp->n_head_kv + (size_t)kvh) * (size_t)c->n_ctx;
    a.kflags = c->kv_flags + fl;
    a.vflags = c->kv_flags + (size_t)hp->n_layer * hp->n_head_kv * c->n_ctx + fl;
    a.row = c->kv_row;
    a.n_kv = n_kv;
    a.hd = hd;
    a.gqa = gqa;
    a.kq_scale = 1.0f / sqrtf((float)hd);
    a.scores = c->scores + head0 * (size_t)c->n_ctx;
    a.out = c->att + (size_t)J->t * nq + head0 * hd;
    /* scores of head g at scores + g * n_kv (packed for the kernels) */
#ifdef TRIT_OPT_KERNELS
    if (attn_qk_opt(&a))
#endif
        attn_qk_ref(&a);
    for (int g = 0; g < gqa; g++) softmax(a.scores + (size_t)g * n_kv, n_kv, a.f16);
#ifdef TRIT_OPT_KERNELS
    if (attn_pv_opt(&a))
#endif
        attn_pv_ref(&a);
}

/* Attention of B tokens (positions pos0..pos0+B-1) over the cache of one layer: per token, one pool
 * job whose chunks are the KV heads. */
static void attention(trit_ctx *c, int32_t layer, int32_t B, int32_t pos0) {
    for (int32_t t = 0; t < B; t++) {
        attn_job J = {c, layer, t, pos0};
        pool_run(c->pool, attn_chunk, &J, c->m->info.n_head_kv);
    }
}

/* a half the SIMD kernels' 2-op conversion does not handle: subnormal, inf or NaN */
static inline int half_special(uint16_t h) {
    const int e = h & 0x7c00;
    return (e == 0 && (h & 0x3ff)) || e == 0x7c00;
}

static void store_kv(trit_ctx *c, int32_t layer, int32_t B, int32_t pos0) {
    const size_t row = c->kv_row, base = ((size_t)layer * (size_t)c->n_ctx + (size_t)pos0) * row, n = (size_t)B * row;
    if (c->kv_type == TRIT_KV_F16) {
        uint16_t *kd = (uint16_t *)c->k_cache + base, *vd = (uint16_t *)c->v_cache + base;
        for (size_t i = 0; i < n; i++) { kd[i] = trit_fp32_to_fp16(c->k[i]); vd[i] = trit_fp32_to_fp16(c->v[i]); }
        const int32_t nkv = c->m->info.n_head_kv, hd = c->m->info.head_dim;
        const size_t half = (size_t)c->m->info.n_layer * nkv * c->n_ctx;
        for (int32_t t = 0; t < B; t++)
            for (int32_t h = 0; h < nkv; h++) {
                int fk = 0, fv = 0;
                for (int32_t i = 0; i < hd; i++) {
                    fk |= half_special(kd[(size_t)t * row + (size_t)h * hd + i]);
                    fv |= half_special(vd[(size_t)t * row + (size_t)h * hd + i]);
                }
                const size_t f = ((size_t)layer * nkv + (size_t)h) * c->n_ctx + (size_t)(pos0 + t);
                c->kv_flags[f] = (uint8_t)fk;
                c->kv_flags[half + f] = (uint8_t)fv;
            }
    } else {
        memcpy((float *)c->k_cache + base, c->k, n * sizeof(float));
        memcpy((float *)c->v_cache + base, c->v, n * sizeof(float));
    }
}

/* One chunk of B <= n_batch tokens. logits: NULL, or [B][n_vocab] (all) or [n_vocab] (last only). */
static void forward_chunk(trit_ctx *c, const int32_t *tokens, int32_t B, float *logits, int all) {
    const trit_model *m = c->m;
    const trit_model_info *hp = &m->info;
    const int32_t E = hp->n_embd, F = hp->n_ff, nq = hp->n_head * hp->head_dim, nkv = (int32_t)c->kv_row;
    const int32_t pos0 = c->pos;
    for (int32_t t = 0; t < B; t++) {
        mat_get_row(&m->tok_embd, tokens[t], c->x + (size_t)t * E);
        rope_cache(m, pos0 + t, c->rope_cs + (size_t)t * hp->n_rot);
    }
    for (int32_t l = 0; l < hp->n_layer; l++) {
        const trit_layer *L = &m->layers[l];
        for (int32_t t = 0; t < B; t++) rms_norm(c->h + (size_t)t * E, c->x + (size_t)t * E, L->attn_norm, E, hp->rms_eps);
        {
            const trit_mat *ws[3] = {&L->wq, &L->wk, &L->wv};
            float *ys[3] = {c->q, c->k, c->v};
            matmul(c, 3, ws, ys, c->h, B);
        }
        scale_vec(c->q, (size_t)B * nq, L->sq);
        scale_vec(c->k, (size_t)B * nkv, L->sk);
        scale_vec(c->v, (size_t)B * nkv, L->sv);
        add_bias(c->q, L->bq, B, nq);
        add_bias(c->k, L->bk, B, nkv);
        add_bias(c->v, L->bv, B, nkv);
        for (int32_t t = 0; t < B; t++) {
            const float *cs = c->rope_cs + (size_t)t * hp->n_rot;
            rope_apply(m, c->q + (size_t)t * nq, hp->n_head, cs);
            rope_apply(m, c->k + (size_t)t * nkv, hp->n_head_kv, cs);
        }
        store_kv(c, l, B, pos0);
        {
            PROF_START;
            attention(c, l, B, pos0);
            PROF_END(2);
        }
        const float *a = c->att;
        if (L->attn_sub_norm) {
            for (int32_t t = 0; t < B; t++)
                rms_norm(c->h + (size_t)t * nq, c->att + (size_t)t * nq, L->attn_sub_norm, nq, hp->rms_eps);
            a = c->h;
        }
        {
            const trit_mat *ws[1] = {&L->wo};
            float *ys[1] = {c->o};
            matmul(c, 1, ws, ys, a, B);
        }
        scale_vec(c->o, (size_t)B * E, L->so);
        add_bias(c->o, L->bo, B, E);
        for (size_t i = 0; i < (size_t)B * E; i++) c->x[i] += c->o[i];

        for (int32_t t = 0; t < B; t++) rms_norm(c->h + (size_t)t * E, c->x + (size_t)t * E, L->ffn_norm, E, hp->rms_eps);
        {
            const trit_mat *ws[2] = {&L->wgate, &L->wup};
            float *ys[2] = {c->g, c->u};
            matmul(c, 2, ws, ys, c->h, B);
        }
        scale_vec(c->g, (size_t)B * F, L->sgate);
        scale_vec(c->u, (size_t)B * F, L->sup);
        for (size_t i = 0; i < (size_t)B * F; i++) {
            float gv = c->g[i];
            if (hp->ffn_act == 1) { gv = gv > 0 ? gv : 0; gv = gv * gv; }   /* relu^2 */
            else gv = gv / (1.0f + expf(-gv));                               /* silu */
            c->g[i] = gv * c->u[i];
        }
        const float *f = c->g;
        if (L->ffn_sub_norm) {
            for (int32_t t = 0; t < B; t++)
                rms_norm(c->h + (size_t)t * F, c->g + (size_t)t * F, L->ffn_sub_norm, F, hp->rms_eps);
            f = c->h;
        }
        {
            const trit_mat *ws[1] = {&L->wdown};
            float *ys[1] = {c->o};
            matmul(c, 1, ws, ys, f, B);
        }
        scale_vec(c->o, (size_t)B * E, L->sdown);
        for (size_t i = 0; i < (size_t)B * E; i++) c->x[i] += c->o[i];
    }
    c->pos += B;
    if (!logits) return;
    const int32_t first = all ? 0 : B - 1, n_out = all ? B : 1;
    for (int32_t t = first; t < B; t++)
        rms_norm(c->h + (size_t)(t - first) * E, c->x + (size_t)t * E, m->output_norm, E, hp->rms_eps);
    const trit_mat *ws[1] = {&m->output};
    float *ys[1] = {logits};
    matmul(c, 1, ws, ys, c->h, n_out);
}

trit_status trit_ctx_decode(trit_ctx *c, const int32_t *tokens, int32_t n, float *logits, trit_logits_mode mode) {
    if (!c || (n > 0 && !tokens) || n < 0) return trit_err(TRIT_ERR_ARG, "trit_ctx_decode: bad arguments");
    if (mode != TRIT_LOGITS_NONE && mode != TRIT_LOGITS_LAST && mode != TRIT_LOGITS_ALL)
        return trit_err(TRIT_ERR_ARG, "trit_ctx_decode: unknown logits mode %d", (int)mode);
    if (mode != TRIT_LOGITS_NONE && !logits) return trit_err(TRIT_ERR_ARG, "trit_ctx_decode: logits buffer is NULL");
    if (n == 0) return TRIT_OK;
    if (n > c->n_ctx - c->pos)
        return trit_err(TRIT_ERR_CTX_FULL, "context full: %d tokens at position %d exceed n_ctx %d", n, c->pos, c->n_ctx);
    const int32_t V = c->m->info.n_vocab;
    for (int32_t i = 0; i < n; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return trit_err(TRIT_ERR_ARG, "token %d at index %d is outside the vocabulary (0..%d)", tokens[i], i, V - 1);
    for (int32_t i = 0; i < n; i += c->n_batch) {
        const int32_t B = n - i < c->n_batch ? n - i : c->n_batch;
        float *lg = NULL;
        if (mode == TRIT_LOGITS_ALL) lg = logits + (size_t)i * V;
        else if (mode == TRIT_LOGITS_LAST && i + B == n) lg = logits;
        forward_chunk(c, tokens + i, B, lg, mode == TRIT_LOGITS_ALL);
    }
    return TRIT_OK;
}
