/* eval.c: perplexity with saved logits, KL divergence against them, and multiple-choice scoring.
 * trit.h documents the API; docs/eval.md the file format, the statistics and the task layouts.
 *
 * Numerics. Per position the log-softmax is computed exactly as `trit perplexity` always did (max in
 * float, sum of exp in double, NLL = -((l[t] - max) - log(sum))), so the perplexity printed by every
 * path is the same to the last digit. Saved rows hold the exact NLL (f64) plus 16-bit codes of every
 * log-probability relative to the top one (step = min(span, 32 nats) / 65534, code 0 = below the range,
 * treated as probability 0). KL divergence renormalises the decoded base distribution, so a model
 * compared with its own saved logits gives ~1e-9 (the quantisation floor) instead of llama.cpp's
 * first-order rounding noise, and the base PPL is exact instead of re-derived from clipped codes.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "internal.h"

#define LOGITS_MAGIC "TRITLOGP"
#define LOGITS_VERSION 1u
#define LOGITS_RANGE 32.0f      /* nats below the top log-prob that the codes cover */
#define ROW_HEAD 24             /* f64 nll, f32 lp_top, f32 step, i32 top, u32 reserved */
#define PIECE 32                /* positions per decode call when logits are needed */

/* ---- little-endian bytes -------------------------------------------------------------------------- */

static void put_u32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void put_u64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> 8 * i); }
static void put_f32(uint8_t *p, float f) { uint32_t v; memcpy(&v, &f, 4); put_u32(p, v); }
static void put_f64(uint8_t *p, double f) { uint64_t v; memcpy(&v, &f, 8); put_u64(p, v); }
static uint32_t get_u32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t get_u64(const uint8_t *p) { return (uint64_t)get_u32(p) | (uint64_t)get_u32(p + 4) << 32; }
static float get_f32(const uint8_t *p) { uint32_t v = get_u32(p); float f; memcpy(&f, &v, 4); return f; }
static double get_f64(const uint8_t *p) { uint64_t v = get_u64(p); double f; memcpy(&f, &v, 8); return f; }

static uint64_t row_bytes_for(uint64_t n_vocab) { return (ROW_HEAD + 2 * n_vocab + 7) & ~(uint64_t)7; }

/* ---- per-position log-softmax --------------------------------------------------------------------- */

typedef struct { float mx; double lse; int32_t top; } lsm;

static lsm row_lsm(const float *row, int32_t V) {
    lsm s = {row[0], 0, 0};
    for (int32_t i = 1; i < V; i++) if (row[i] > s.mx) { s.mx = row[i]; s.top = i; }
    double se = 0;
    for (int32_t i = 0; i < V; i++) se += exp((double)(row[i] - s.mx));
    s.lse = log(se);
    return s;
}

static double row_nll(const float *row, lsm s, int32_t tok) { return -((double)(row[tok] - s.mx) - s.lse); }

static void row_encode(uint8_t *dst, size_t row_bytes, const float *row, int32_t V, lsm s, double nll) {
    float mn = row[0];
    for (int32_t i = 1; i < V; i++) if (row[i] < mn) mn = row[i];
    const double span = (double)s.mx - (double)mn;
    const float step = (float)((span < LOGITS_RANGE ? span : LOGITS_RANGE) / 65534.0);
    put_f64(dst, nll);
    put_f32(dst + 8, (float)-s.lse);
    put_f32(dst + 12, step);
    put_u32(dst + 16, (uint32_t)s.top);
    put_u32(dst + 20, 0);
    uint8_t *q = dst + ROW_HEAD;
    for (int32_t i = 0; i < V; i++) {
        uint32_t code = 65535;
        if (step > 0) {
            const double r = floor(((double)s.mx - (double)row[i]) / step + 0.5);
            code = r > 65534 ? 0 : 65535u - (uint32_t)r;
        }
        q[2 * i] = (uint8_t)code;
        q[2 * i + 1] = (uint8_t)(code >> 8);
    }
    memset(q + 2 * (size_t)V, 0, row_bytes - ROW_HEAD - 2 * (size_t)V);
}

static uint32_t row_code(const uint8_t *row, int32_t i) { return row[ROW_HEAD + 2 * i] | (uint32_t)row[ROW_HEAD + 2 * i + 1] << 8; }

/* A row is usable if its numbers are finite and its top token carries the top code. */
static int row_check(const uint8_t *row, int32_t V) {
    const double nll = get_f64(row);
    const float step = get_f32(row + 12);
    const uint32_t top = get_u32(row + 16);
    return isfinite(nll) && nll > -1e-3 && isfinite(step) && step >= 0 && isfinite(get_f32(row + 8)) &&
           top < (uint32_t)V && row_code(row, (int32_t)top) == 65535;
}

/* KL(base || Q) with the decoded base distribution renormalised over the codes in range. */
static double row_kld(const uint8_t *row, int32_t V, const float *lg, lsm s) {
    const double step = get_f32(row + 12);
    double z = 0;
    for (int32_t i = 0; i < V; i++) {
        const uint32_t c = row_code(row, i);
        if (c) z += exp(-(double)(65535 - c) * step);
    }
    const double logz = log(z);
    double kl = 0;
    for (int32_t i = 0; i < V; i++) {
        const uint32_t c = row_code(row, i);
        if (!c) continue;
        const double lp = -(double)(65535 - c) * step - logz;
        const double lq = (double)(lg[i] - s.mx) - s.lse;
        kl += exp(lp) * (lp - lq);
    }
    return kl;
}

uint64_t trit_model_vocab_hash(const trit_model *m) {
    if (!m) return 0;
    uint64_t h = 1469598103934665603ull;
    char small[256];
    const int32_t V = trit_model_n_vocab(m);
    for (int32_t t = 0; t < V; t++) {
        int32_t n = trit_token_to_piece(m, t, small, (int32_t)sizeof small, TRIT_TOK_PARSE_SPECIAL);
        char *p = small, *big = NULL;
        if (n > (int32_t)sizeof small && (big = malloc((size_t)n))) {
            trit_token_to_piece(m, t, big, n, TRIT_TOK_PARSE_SPECIAL);
            p = big;
        } else if (n > (int32_t)sizeof small) n = (int32_t)sizeof small;
        if (n < 0) n = 0;
        uint8_t len[4];
        put_u32(len, (uint32_t)n);
        for (int i = 0; i < 4; i++) h = (h ^ len[i]) * 1099511628211ull;
        for (int32_t i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 1099511628211ull;
        free(big);
    }
    return h;
}

/* ---- chunks: shared by perplexity and KL divergence ----------------------------------------------- */

static trit_status make_ctx(const trit_model *m, const trit_ctx_params *cp, int32_t n_ctx, trit_ctx **c) {
    trit_ctx_params p = cp ? *cp : trit_ctx_default_params();
    p.n_ctx = n_ctx;
    if (p.n_batch <= 0) p.n_batch = n_ctx > 0 ? n_ctx : 64;   /* `trit perplexity` used one batch per chunk */
    return trit_ctx_init(m, &p, c);
}

typedef void (*pos_fn)(void *user, int32_t j, const float *row);

/* Decodes chunk[0..n_ctx-1) from position 0: positions < first without logits, then first..n_ctx-2 in
 * pieces of PIECE with logits (lg holds PIECE rows), calling fn for every scored position. The logits
 * are bit-identical to one batched call (every op of the forward pass is row-independent). */
static trit_status chunk_run(trit_ctx *c, const int32_t *chunk, int32_t n_ctx, int32_t first, float *lg, int32_t V,
                             pos_fn fn, void *user) {
    trit_status rc = trit_ctx_truncate(c, 0);
    if (!rc && first > 0) rc = trit_ctx_decode(c, chunk, first, NULL, TRIT_LOGITS_NONE);
    for (int32_t j = first; !rc && j < n_ctx - 1; j += PIECE) {
        const int32_t n = n_ctx - 1 - j < PIECE ? n_ctx - 1 - j : PIECE;
        rc = trit_ctx_decode(c, chunk + j, n, lg, TRIT_LOGITS_ALL);
        for (int32_t k = 0; !rc && k < n; k++) fn(user, j + k, lg + (size_t)k * V);
    }
    return rc;
}

/* ---- perplexity ------------------------------------------------------------------------------------- */

struct trit_ppl {
    const trit_model *m;
    trit_ctx *c;
    int32_t V, n_ctx, first, n_chunk, done;
    int32_t *tokens;            /* [n_chunk][n_ctx] as fed: BOS first when the model adds it */
    float *lg;                  /* [PIECE][V] */
    int64_t n_scored;
    double nll, nll2;
    int save;
    uint8_t *header, *rows;     /* saved-logits header; rows of the last chunk [n_ctx-1-first][row_bytes] */
    size_t header_bytes, row_bytes;
    /* per-chunk accumulation (committed when the chunk succeeds) */
    const int32_t *cur;
    double c_nll, c_nll2;
};

static void ppl_pos(void *user, int32_t j, const float *row) {
    trit_ppl *p = user;
    const lsm s = row_lsm(row, p->V);
    const double nll = row_nll(row, s, p->cur[j + 1]);
    p->c_nll += nll;
    p->c_nll2 += nll * nll;
    if (p->save) row_encode(p->rows + (size_t)(j - p->first) * p->row_bytes, p->row_bytes, row, p->V, s, nll);
}

void trit_ppl_free(trit_ppl *p) {
    if (!p) return;
    trit_ctx_free(p->c);
    free(p->tokens);
    free(p->lg);
    free(p->header);
    free(p->rows);
    free(p);
}

trit_status trit_ppl_init(const trit_model *m, const trit_ctx_params *cp, const int32_t *tokens, int32_t n_tokens,
                          int32_t n_ctx, int32_t max_chunks, int32_t save_logits, trit_ppl **out) {
    if (!out) return trit_err(TRIT_ERR_ARG, "trit_ppl_init: out is NULL");
    *out = NULL;
    if (!m || (n_tokens > 0 && !tokens) || n_tokens < 0) return trit_err(TRIT_ERR_ARG, "trit_ppl_init: bad arguments");
    if (n_ctx < 4) return trit_err(TRIT_ERR_ARG, "perplexity needs a context of at least 4 tokens, not %d", n_ctx);
    int32_t n_chunk = n_tokens / n_ctx;
    if (n_chunk == 0) return trit_err(TRIT_ERR_ARG, "%d tokens are fewer than one chunk of %d", n_tokens, n_ctx);
    if (max_chunks > 0 && max_chunks < n_chunk) n_chunk = max_chunks;
    const int32_t V = trit_model_n_vocab(m);
    for (int32_t i = 0; i < n_chunk * n_ctx; i++)
        if (tokens[i] < 0 || tokens[i] >= V)
            return trit_err(TRIT_ERR_ARG, "token %d at index %d is outside the vocabulary (0..%d)", tokens[i], i, V - 1);
    trit_ppl *p = calloc(1, sizeof *p);
    if (!p) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    p->m = m;
    p->V = V;
    p->n_ctx = n_ctx;
    p->first = n_ctx / 2;
    p->n_chunk = n_chunk;
    p->save = save_logits != 0;
    trit_model_info hp;
    trit_model_get_info(m, &hp);
    p->tokens = malloc(sizeof(int32_t) * (size_t)n_chunk * (size_t)n_ctx);
    p->lg = malloc(sizeof(float) * PIECE * (size_t)V);
    if (!p->tokens || !p->lg) { trit_ppl_free(p); return trit_err(TRIT_ERR_NOMEM, "out of memory"); }
    memcpy(p->tokens, tokens, sizeof(int32_t) * (size_t)n_chunk * (size_t)n_ctx);
    if (hp.add_bos && hp.bos >= 0)
        for (int32_t k = 0; k < n_chunk; k++) p->tokens[(size_t)k * n_ctx] = hp.bos;
    if (p->save) {
        p->row_bytes = (size_t)row_bytes_for((uint64_t)V);
        p->header_bytes = TRIT_LOGITS_FIXED_BYTES + sizeof(int32_t) * (size_t)n_chunk * (size_t)n_ctx;
        p->header = calloc(1, p->header_bytes);
        p->rows = malloc(p->row_bytes * (size_t)(n_ctx - 1 - p->first));
        if (!p->header || !p->rows) { trit_ppl_free(p); return trit_err(TRIT_ERR_NOMEM, "out of memory for saved logits"); }
        uint8_t *h = p->header;
        memcpy(h, LOGITS_MAGIC, 8);
        put_u32(h + 8, LOGITS_VERSION);
        put_u32(h + 12, (uint32_t)V);
        put_u32(h + 16, (uint32_t)n_ctx);
        put_u32(h + 20, (uint32_t)n_chunk);
        put_u32(h + 24, (uint32_t)p->first);
        put_u32(h + 28, (uint32_t)p->row_bytes);
        put_u64(h + 32, trit_model_vocab_hash(m));
        put_f32(h + 40, LOGITS_RANGE);
        for (size_t i = 0; i < (size_t)n_chunk * (size_t)n_ctx; i++) put_u32(h + TRIT_LOGITS_FIXED_BYTES + 4 * i, (uint32_t)p->tokens[i]);
    }
    trit_status rc = make_ctx(m, cp, n_ctx, &p->c);
    if (rc) { trit_ppl_free(p); return rc; }
    *out = p;
    return TRIT_OK;
}

trit_status trit_ppl_next(trit_ppl *p) {
    if (!p) return trit_err(TRIT_ERR_ARG, "trit_ppl_next: NULL");
    if (p->done >= p->n_chunk) return trit_err(TRIT_ERR_ARG, "all %d chunks are done", p->n_chunk);
    p->cur = p->tokens + (size_t)p->done * p->n_ctx;
    p->c_nll = p->c_nll2 = 0;
    trit_status rc = chunk_run(p->c, p->cur, p->n_ctx, p->first, p->lg, p->V, ppl_pos, p);
    if (rc) return rc;
    p->nll += p->c_nll;
    p->nll2 += p->c_nll2;
    p->n_scored += p->n_ctx - 1 - p->first;
    p->done++;
    return TRIT_OK;
}

/* llama-perplexity's final estimate: PPL = exp(mean), ± PPL * sqrt(var / (count - 1)). */
static void ppl_of(double sum, double sum2, int64_t count, double *ppl, double *err) {
    if (count <= 0) { *ppl = *err = 0; return; }
    const double mean = sum / (double)count;
    double var = sum2 / (double)count - mean * mean;
    *ppl = exp(mean);
    *err = var > 0 && count > 1 ? *ppl * sqrt(var / (double)(count - 1)) : 0;
}

void trit_ppl_get(const trit_ppl *p, trit_ppl_result *out) {
    memset(out, 0, sizeof *out);
    if (!p) return;
    out->n_chunk = p->n_chunk;
    out->n_done = p->done;
    out->n_scored = p->n_scored;
    out->nll_sum = p->nll;
    out->nll2_sum = p->nll2;
    ppl_of(p->nll, p->nll2, p->n_scored, &out->ppl, &out->ppl_err);
}

const uint8_t *trit_ppl_header(const trit_ppl *p, size_t *size) {
    if (size) *size = p && p->save ? p->header_bytes : 0;
    return p && p->save ? p->header : NULL;
}

const uint8_t *trit_ppl_rows(const trit_ppl *p, size_t *size) {
    const int ok = p && p->save && p->done > 0;
    if (size) *size = ok ? p->row_bytes * (size_t)(p->n_ctx - 1 - p->first) : 0;
    return ok ? p->rows : NULL;
}

/* ---- saved-logits header ---------------------------------------------------------------------------- */

trit_status trit_logits_info_parse(const uint8_t *b, size_t size, trit_logits_info *o) {
    if (!b || !o) return trit_err(TRIT_ERR_ARG, "trit_logits_info_parse: NULL");
    memset(o, 0, sizeof *o);
    if (size < TRIT_LOGITS_FIXED_BYTES || memcmp(b, LOGITS_MAGIC, 8))
        return trit_err(TRIT_ERR_FORMAT, "not a trit saved-logits file (no \"%s\" header; make one with "
                                         "`trit eval ppl --save-logits`)", LOGITS_MAGIC);
    o->version = get_u32(b + 8);
    if (o->version != LOGITS_VERSION)
        return trit_err(TRIT_ERR_FORMAT, "saved-logits version %u is not supported (this build reads %u)", o->version, LOGITS_VERSION);
    o->n_vocab = get_u32(b + 12);
    o->n_ctx = get_u32(b + 16);
    o->n_chunk = get_u32(b + 20);
    o->first = get_u32(b + 24);
    o->row_bytes = get_u32(b + 28);
    o->vocab_hash = get_u64(b + 32);
    o->range = get_f32(b + 40);
    if (o->n_vocab < 1 || o->n_vocab > (1u << 24)) return trit_err(TRIT_ERR_FORMAT, "saved logits: n_vocab %u is out of range", o->n_vocab);
    if (o->n_ctx < 4 || o->n_ctx > (1u << 24)) return trit_err(TRIT_ERR_FORMAT, "saved logits: n_ctx %u is out of range", o->n_ctx);
    if (o->n_chunk < 1) return trit_err(TRIT_ERR_FORMAT, "saved logits: no chunks");
    if (o->first > o->n_ctx - 2) return trit_err(TRIT_ERR_FORMAT, "saved logits: first scored position %u >= n_ctx - 1", o->first);
    if (o->row_bytes != row_bytes_for(o->n_vocab))
        return trit_err(TRIT_ERR_FORMAT, "saved logits: row size %llu does not fit n_vocab %u", (unsigned long long)o->row_bytes, o->n_vocab);
    if (!(o->range > 0) || !isfinite(o->range)) return trit_err(TRIT_ERR_FORMAT, "saved logits: bad code range");
    const uint64_t n_tok = (uint64_t)o->n_ctx * o->n_chunk;
    if (n_tok > (1ull << 29)) return trit_err(TRIT_ERR_FORMAT, "saved logits: %llu tokens is too many", (unsigned long long)n_tok);
    o->header_bytes = TRIT_LOGITS_FIXED_BYTES + 4 * n_tok;
    o->chunk_bytes = o->row_bytes * (o->n_ctx - 1 - o->first);
    o->file_bytes = o->header_bytes + o->chunk_bytes * o->n_chunk;
    if (o->header_bytes > SIZE_MAX / 2 || o->chunk_bytes > SIZE_MAX / 2)
        return trit_err(TRIT_ERR_FORMAT, "saved logits: too large for this build's address space");
    return TRIT_OK;
}

/* ---- KL divergence ----------------------------------------------------------------------------------- */

typedef struct {
    double nll, nll2, nllb, nllb2, nll_nllb, kld, kld2, dp, dp2, dp4;
    int64_t same, count;
} kld_sums;

struct trit_kld {
    const trit_model *m;
    trit_ctx *c;
    trit_logits_info info;
    int32_t V, done;
    int32_t *tokens;
    float *lg;
    double *kld, *dp;           /* per position, in order */
    kld_sums s, cs;             /* totals; the chunk being run */
    const uint8_t *rows;
    const int32_t *cur;
    int64_t base;               /* index of the chunk's first position in kld/dp */
};

static void kld_pos(void *user, int32_t j, const float *lg) {
    trit_kld *k = user;
    const int32_t i = j - (int32_t)k->info.first;
    const uint8_t *row = k->rows + (size_t)i * k->info.row_bytes;
    const lsm s = row_lsm(lg, k->V);
    const double nll = row_nll(lg, s, k->cur[j + 1]), nllb = get_f64(row);
    const double kl = row_kld(row, k->V, lg, s);
    const double dp = exp(-nll) - exp(-nllb);
    kld_sums *c = &k->cs;
    c->nll += nll; c->nll2 += nll * nll;
    c->nllb += nllb; c->nllb2 += nllb * nllb;
    c->nll_nllb += nll * nllb;
    c->kld += kl; c->kld2 += kl * kl;
    c->dp += dp; c->dp2 += dp * dp; c->dp4 += dp * dp * dp * dp;
    c->same += s.top == (int32_t)get_u32(row + 16);
    c->count++;
    k->kld[k->base + i] = kl;
    k->dp[k->base + i] = dp;
}

void trit_kld_free(trit_kld *k) {
    if (!k) return;
    trit_ctx_free(k->c);
    free(k->tokens);
    free(k->lg);
    free(k->kld);
    free(k->dp);
    free(k);
}

trit_status trit_kld_init(const trit_model *m, const trit_ctx_params *cp, const uint8_t *header, size_t size,
                          trit_kld **out) {
    if (!out) return trit_err(TRIT_ERR_ARG, "trit_kld_init: out is NULL");
    *out = NULL;
    if (!m || !header) return trit_err(TRIT_ERR_ARG, "trit_kld_init: bad arguments");
    trit_logits_info info;
    trit_status rc = trit_logits_info_parse(header, size, &info);
    if (rc) return rc;
    if (size < info.header_bytes)
        return trit_err(TRIT_ERR_FORMAT, "saved logits: header truncated (%zu of %llu bytes)", size, (unsigned long long)info.header_bytes);
    const int32_t V = trit_model_n_vocab(m);
    if ((int64_t)info.n_vocab != V)
        return trit_err(TRIT_ERR_MISMATCH, "vocabulary mismatch: the base logits were saved with a vocabulary of %u tokens, "
                                           "this model has %d", info.n_vocab, V);
    const uint64_t h = trit_model_vocab_hash(m);
    if (h != info.vocab_hash)
        return trit_err(TRIT_ERR_MISMATCH, "vocabulary mismatch: both have %d tokens but they differ (fingerprint %016llx "
                                           "in the file, %016llx for this model)", V, (unsigned long long)info.vocab_hash,
                        (unsigned long long)h);
    const size_t n_tok = (size_t)info.n_ctx * info.n_chunk, n_pos = (size_t)(info.n_ctx - 1 - info.first) * info.n_chunk;
    trit_kld *k = calloc(1, sizeof *k);
    if (!k) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    k->m = m;
    k->info = info;
    k->V = V;
    k->tokens = malloc(sizeof(int32_t) * n_tok);
    k->lg = malloc(sizeof(float) * PIECE * (size_t)V);
    k->kld = malloc(sizeof(double) * n_pos);
    k->dp = malloc(sizeof(double) * n_pos);
    if (!k->tokens || !k->lg || !k->kld || !k->dp) { trit_kld_free(k); return trit_err(TRIT_ERR_NOMEM, "out of memory"); }
    for (size_t i = 0; i < n_tok; i++) {
        const uint32_t t = get_u32(header + TRIT_LOGITS_FIXED_BYTES + 4 * i);
        if (t >= (uint32_t)V) {
            trit_kld_free(k);
            return trit_err(TRIT_ERR_FORMAT, "saved logits: token %u at position %zu is outside the vocabulary", t, i);
        }
        k->tokens[i] = (int32_t)t;
    }
    if ((rc = make_ctx(m, cp, (int32_t)info.n_ctx, &k->c))) { trit_kld_free(k); return rc; }
    *out = k;
    return TRIT_OK;
}

trit_status trit_kld_next(trit_kld *k, const uint8_t *rows, size_t size) {
    if (!k || !rows) return trit_err(TRIT_ERR_ARG, "trit_kld_next: bad arguments");
    if (k->done >= (int32_t)k->info.n_chunk) return trit_err(TRIT_ERR_ARG, "all %u chunks are done", k->info.n_chunk);
    if (size != k->info.chunk_bytes)
        return trit_err(TRIT_ERR_ARG, "chunk %d: got %zu bytes of saved logits, a chunk has %llu", k->done + 1, size,
                        (unsigned long long)k->info.chunk_bytes);
    const int32_t n_pos = (int32_t)(k->info.n_ctx - 1 - k->info.first);
    for (int32_t i = 0; i < n_pos; i++)
        if (!row_check(rows + (size_t)i * k->info.row_bytes, k->V))
            return trit_err(TRIT_ERR_FORMAT, "saved logits: chunk %d, row %d is corrupt", k->done + 1, i);
    k->rows = rows;
    k->cur = k->tokens + (size_t)k->done * k->info.n_ctx;
    k->base = (int64_t)k->done * n_pos;
    memset(&k->cs, 0, sizeof k->cs);
    trit_status rc = chunk_run(k->c, k->cur, (int32_t)k->info.n_ctx, (int32_t)k->info.first, k->lg, k->V, kld_pos, k);
    if (rc) return rc;
    kld_sums *s = &k->s, *c = &k->cs;
    s->nll += c->nll; s->nll2 += c->nll2; s->nllb += c->nllb; s->nllb2 += c->nllb2; s->nll_nllb += c->nll_nllb;
    s->kld += c->kld; s->kld2 += c->kld2; s->dp += c->dp; s->dp2 += c->dp2; s->dp4 += c->dp4;
    s->same += c->same; s->count += c->count;
    k->done++;
    return TRIT_OK;
}

/* llama-perplexity's mean_and_uncertainty and covariance */
static void mean_unc(double sum, double sum2, int64_t n, double *f, double *df) {
    if (n < 1) { *f = *df = 0; return; }
    *f = sum / (double)n;
    double v = sum2 / (double)n - *f * *f;
    *df = v > 0 && n > 10 ? sqrt(v / (double)(n - 1)) : 0;
}

static double covariance(double a, double b, double ab, int64_t n) {
    if (n < 10) return 0;
    return (ab / (double)n - (a / (double)n) * (b / (double)n)) / (double)(n - 1);
}

static int cmp_double(const void *a, const void *b) {
    const double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* values sorted ascending; linear interpolation at fraction * (n - 1), as llama-perplexity */
static double percentile(const double *v, int64_t n, double fraction) {
    if (fraction <= 0) return v[0];
    if (fraction >= 1) return v[n - 1];
    double p = fraction * (double)(n - 1);
    int64_t ip = (int64_t)p;
    p -= (double)ip;
    return (1 - p) * v[ip] + p * v[ip + 1 < n ? ip + 1 : n - 1];
}

static double median(const double *v, int64_t n) { return n % 2 ? v[n / 2] : 0.5 * (v[n / 2] + v[n / 2 - 1]); }

trit_status trit_kld_get(trit_kld *k, trit_kld_result *r) {
    if (!k || !r) return trit_err(TRIT_ERR_ARG, "trit_kld_get: NULL");
    memset(r, 0, sizeof *r);
    const kld_sums *s = &k->s;
    const int64_t n = s->count;
    r->n_chunk = (int32_t)k->info.n_chunk;
    r->n_done = k->done;
    r->n = n;
    if (n < 1) return TRIT_OK;
    double lp, dlp, lb, dlb;
    mean_unc(s->nll, s->nll2, n, &lp, &dlp);
    mean_unc(s->nllb, s->nllb2, n, &lb, &dlb);
    r->ppl = exp(lp);
    r->ppl_err = r->ppl * dlp;
    r->ppl_base = exp(lb);
    r->ppl_base_err = r->ppl_base * dlb;
    const double cov = covariance(s->nll, s->nllb, s->nll_nllb, n);
    r->ppl_cor = dlp > 0 && dlb > 0 ? cov / (dlp * dlb) : 0;
    r->ln_ppl_ratio = lp - lb;
    const double v = dlp * dlp + dlb * dlb - 2 * cov;
    r->ln_ppl_ratio_err = v > 0 ? sqrt(v) : 0;
    r->ppl_ratio = exp(r->ln_ppl_ratio);
    r->ppl_ratio_err = r->ppl_ratio * r->ln_ppl_ratio_err;
    r->ppl_diff = r->ppl - r->ppl_base;
    const double vd = r->ppl_err * r->ppl_err + r->ppl_base_err * r->ppl_base_err - 2 * r->ppl * r->ppl_base * cov;
    r->ppl_diff_err = vd > 0 ? sqrt(vd) : 0;
    mean_unc(s->kld, s->kld2, n, &r->kld_mean, &r->kld_err);
    mean_unc(s->dp, s->dp2, n, &r->dp_mean, &r->dp_err);
    double mse, dmse;
    mean_unc(s->dp2, s->dp4, n, &mse, &dmse);
    r->dp_rms = sqrt(mse);
    r->dp_rms_err = r->dp_rms > 0 ? 0.5 / r->dp_rms * dmse : 0;
    r->same_top = (double)s->same / (double)n;
    r->same_top_err = n > 1 ? sqrt(r->same_top * (1 - r->same_top) / (double)(n - 1)) : 0;
    double *a = malloc(sizeof(double) * (size_t)n), *b = malloc(sizeof(double) * (size_t)n);
    if (!a || !b) { free(a); free(b); return trit_err(TRIT_ERR_NOMEM, "out of memory sorting %lld values", (long long)n); }
    memcpy(a, k->kld, sizeof(double) * (size_t)n);
    memcpy(b, k->dp, sizeof(double) * (size_t)n);
    qsort(a, (size_t)n, sizeof(double), cmp_double);
    qsort(b, (size_t)n, sizeof(double), cmp_double);
    r->kld_max = a[n - 1];
    r->kld_p999 = percentile(a, n, 0.999);
    r->kld_p99 = percentile(a, n, 0.99);
    r->kld_median = median(a, n);
    r->kld_p10 = percentile(a, n, 0.10);
    r->kld_p5 = percentile(a, n, 0.05);
    r->kld_p1 = percentile(a, n, 0.01);
    r->kld_min = a[0];
    r->dp_max = b[n - 1];
    r->dp_p999 = percentile(b, n, 0.999);
    r->dp_p99 = percentile(b, n, 0.99);
    r->dp_p95 = percentile(b, n, 0.95);
    r->dp_p90 = percentile(b, n, 0.90);
    r->dp_p75 = percentile(b, n, 0.75);
    r->dp_median = median(b, n);
    r->dp_p25 = percentile(b, n, 0.25);
    r->dp_p10 = percentile(b, n, 0.10);
    r->dp_p5 = percentile(b, n, 0.05);
    r->dp_p1 = percentile(b, n, 0.01);
    r->dp_p001 = percentile(b, n, 0.001);
    r->dp_min = b[0];
    free(a);
    free(b);
    return TRIT_OK;
}

/* ---- multiple choice ------------------------------------------------------------------------------- */

struct trit_mc {
    const trit_model *m;
    trit_ctx *c;
    int32_t V, bos, add_bos;
    float *first, *lg;          /* [V] logits after the context; [PIECE][V] */
    int32_t n, n_acc, n_acc_norm;
    double chance;
    int32_t last_n, last_label, last_pred, last_pred_norm, last_cap;
    double *last_ll;
};

trit_status trit_mc_init(const trit_model *m, const trit_ctx_params *cp, trit_mc **out) {
    if (!out) return trit_err(TRIT_ERR_ARG, "trit_mc_init: out is NULL");
    *out = NULL;
    if (!m) return trit_err(TRIT_ERR_ARG, "trit_mc_init: model is NULL");
    trit_mc *mc = calloc(1, sizeof *mc);
    if (!mc) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    trit_model_info hp;
    trit_model_get_info(m, &hp);
    mc->m = m;
    mc->V = hp.n_vocab;
    mc->bos = hp.bos;
    mc->add_bos = hp.add_bos && hp.bos >= 0;
    mc->last_n = -1;
    mc->first = malloc(sizeof(float) * (size_t)mc->V);
    mc->lg = malloc(sizeof(float) * PIECE * (size_t)mc->V);
    if (!mc->first || !mc->lg) { trit_mc_free(mc); return trit_err(TRIT_ERR_NOMEM, "out of memory"); }
    trit_ctx_params p = cp ? *cp : trit_ctx_default_params();
    if (p.n_ctx <= 0) p.n_ctx = hp.n_ctx_train;
    trit_status rc = make_ctx(m, &p, p.n_ctx, &mc->c);
    if (rc) { trit_mc_free(mc); return rc; }
    *out = mc;
    return TRIT_OK;
}

void trit_mc_free(trit_mc *mc) {
    if (!mc) return;
    trit_ctx_free(mc->c);
    free(mc->first);
    free(mc->lg);
    free(mc->last_ll);
    free(mc);
}

trit_status trit_mc_loglik(trit_mc *mc, const int32_t *ctx, int32_t n_ctx_tokens, const int32_t *cont,
                           const int32_t *off, int32_t n_choices, double *loglik, int32_t *greedy) {
    if (!mc || !ctx || !cont || !off || !loglik || n_choices < 1) return trit_err(TRIT_ERR_ARG, "trit_mc_loglik: bad arguments");
    if (n_ctx_tokens < 1) return trit_err(TRIT_ERR_ARG, "the context is empty (a continuation needs at least one token before it)");
    int32_t longest = 0;
    for (int32_t i = 0; i < n_choices; i++) {
        const int32_t len = off[i + 1] - off[i];
        if (off[i] < 0 || len < 1) return trit_err(TRIT_ERR_ARG, "choice %d has no tokens", i);
        if (len > longest) longest = len;
    }
    const int32_t n_ctx = trit_ctx_n_ctx(mc->c);
    if ((int64_t)n_ctx_tokens + longest - 1 > n_ctx)
        return trit_err(TRIT_ERR_CTX_FULL, "the question needs %d positions (context %d + longest choice %d - 1) but the "
                                           "context holds %d (raise -c)", n_ctx_tokens + longest - 1, n_ctx_tokens,
                        longest, n_ctx);
    trit_status rc = trit_ctx_truncate(mc->c, 0);
    if (!rc) rc = trit_ctx_decode(mc->c, ctx, n_ctx_tokens, mc->first, TRIT_LOGITS_LAST);
    if (rc) return rc;
    const lsm s0 = row_lsm(mc->first, mc->V);
    for (int32_t i = 0; i < n_choices; i++) {
        const int32_t *t = cont + off[i], len = off[i + 1] - off[i];
        double ll = -row_nll(mc->first, s0, t[0]);
        int32_t g = s0.top == t[0];
        /* tokens t[0..len-2] are fed; the logits of t[k-1] score t[k] */
        for (int32_t k = 1; k < len; k += PIECE) {
            const int32_t n = len - k < PIECE ? len - k : PIECE;
            if ((rc = trit_ctx_decode(mc->c, t + k - 1, n, mc->lg, TRIT_LOGITS_ALL))) break;
            for (int32_t r = 0; r < n; r++) {
                const float *row = mc->lg + (size_t)r * mc->V;
                const lsm s = row_lsm(row, mc->V);
                ll -= row_nll(row, s, t[k + r]);
                g &= s.top == t[k + r];
            }
        }
        trit_status rt = trit_ctx_truncate(mc->c, n_ctx_tokens);
        if (rc) return rc;
        if (rt) return rt;
        loglik[i] = ll;
        if (greedy) greedy[i] = g;
    }
    return TRIT_OK;
}

/* tokens of text[0..len) without special handling; BOS first when the model adds it */
static int32_t *tok_text(const trit_mc *mc, const char *text, size_t len, int32_t *n_out) {
    if (len > INT32_MAX) { trit_err(TRIT_ERR_ARG, "text too long"); return NULL; }
    const int32_t n = trit_tokenize(mc->m, text, (int32_t)len, NULL, 0, 0);
    if (n < 0) return NULL;
    int32_t *t = malloc(sizeof(int32_t) * (size_t)(n + 2));
    if (!t) { trit_err(TRIT_ERR_NOMEM, "out of memory"); return NULL; }
    int32_t k = 0;
    if (mc->add_bos) t[k++] = mc->bos;
    trit_tokenize(mc->m, text, (int32_t)len, t + k, n, 0);
    *n_out = n + k;
    return t;
}

static int32_t utf8_code_points(const char *s) {
    int32_t n = 0;
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) n += (*u & 0xc0) != 0x80;
    return n;
}

static int is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

trit_status trit_mc_add(trit_mc *mc, const char *line, int32_t len) {
    if (!mc || !line) return trit_err(TRIT_ERR_ARG, "trit_mc_add: bad arguments");
    mc_item it;
    trit_status rc = mc_item_parse(line, len < 0 ? strlen(line) : (size_t)len, &it);
    if (rc) return rc;
    const int32_t nc = it.n_choices;
    int32_t *ctx = NULL, *cont = NULL, *off = calloc((size_t)nc + 1, sizeof(int32_t)), n_ctx_tok = 0, cap = 0;
    double *ll = calloc((size_t)nc, sizeof(double));
    char *text = NULL;
    if (!off || !ll) { rc = trit_err(TRIT_ERR_NOMEM, "out of memory"); goto done; }
    /* lm-evaluation-harness _encode_pair: trailing whitespace of the context moves to the continuation;
     * whole = tok(context + continuation), continuation tokens = whole[len(tok(context)):] */
    size_t clen = strlen(it.context), spaces = 0;
    while (spaces < clen && is_space(it.context[clen - 1 - spaces])) spaces++;
    clen -= spaces;
    ctx = tok_text(mc, it.context, clen, &n_ctx_tok);
    if (!ctx) { rc = TRIT_ERR_ARG; goto done; }
    if (n_ctx_tok < 1) { rc = trit_err(TRIT_ERR_ARG, "the context is empty and the model adds no BOS to condition on"); goto done; }
    size_t dlen = strlen(it.delim), maxc = 0;
    for (int32_t i = 0; i < nc; i++) if (strlen(it.choice[i]) > maxc) maxc = strlen(it.choice[i]);
    text = malloc(clen + spaces + dlen + maxc + 1);
    if (!text) { rc = trit_err(TRIT_ERR_NOMEM, "out of memory"); goto done; }
    for (int32_t i = 0; i < nc; i++) {
        if (!it.choice[i][0]) { rc = trit_err(TRIT_ERR_FORMAT, "choice %d is empty", i); goto done; }
        const size_t chl = strlen(it.choice[i]), tl = clen + spaces + dlen + chl;
        memcpy(text, it.context, clen + spaces);
        memcpy(text + clen + spaces, it.delim, dlen);
        memcpy(text + clen + spaces + dlen, it.choice[i], chl);
        int32_t nw;
        int32_t *whole = tok_text(mc, text, tl, &nw);
        if (!whole) { rc = TRIT_ERR_ARG; goto done; }
        const int32_t k = nw - n_ctx_tok;
        if (k < 1) { free(whole); rc = trit_err(TRIT_ERR_FORMAT, "choice %d adds no tokens after the context", i); goto done; }
        if (off[i] + k > cap) {
            cap = (off[i] + k) * 2;
            int32_t *nb = realloc(cont, sizeof(int32_t) * (size_t)cap);
            if (!nb) { free(whole); rc = trit_err(TRIT_ERR_NOMEM, "out of memory"); goto done; }
            cont = nb;
        }
        memcpy(cont + off[i], whole + n_ctx_tok, sizeof(int32_t) * (size_t)k);
        off[i + 1] = off[i] + k;
        free(whole);
    }
    if ((rc = trit_mc_loglik(mc, ctx, n_ctx_tok, cont, off, nc, ll, NULL))) goto done;
    int32_t pred = 0, pred_norm = 0;
    double best = ll[0], best_norm = ll[0] / utf8_code_points(it.choice[0]);
    for (int32_t i = 1; i < nc; i++) {
        const double v = ll[i] / utf8_code_points(it.choice[i]);
        if (ll[i] > best) { best = ll[i]; pred = i; }
        if (v > best_norm) { best_norm = v; pred_norm = i; }
    }
    if (nc > mc->last_cap) {
        double *nb = realloc(mc->last_ll, sizeof(double) * (size_t)nc);
        if (!nb) { rc = trit_err(TRIT_ERR_NOMEM, "out of memory"); goto done; }
        mc->last_ll = nb;
        mc->last_cap = nc;
    }
    memcpy(mc->last_ll, ll, sizeof(double) * (size_t)nc);
    mc->last_n = nc;
    mc->last_label = it.label;
    mc->last_pred = pred;
    mc->last_pred_norm = pred_norm;
    mc->n++;
    mc->n_acc += pred == it.label;
    mc->n_acc_norm += pred_norm == it.label;
    mc->chance += 1.0 / nc;
done:
    free(text);
    free(ctx);
    free(cont);
    free(off);
    free(ll);
    mc_item_free(&it);
    return rc;
}

void trit_mc_get(const trit_mc *mc, trit_mc_result *r) {
    memset(r, 0, sizeof *r);
    if (!mc || mc->n < 1) return;
    r->n = mc->n;
    r->n_acc = mc->n_acc;
    r->n_acc_norm = mc->n_acc_norm;
    r->acc = (double)mc->n_acc / mc->n;
    r->acc_norm = (double)mc->n_acc_norm / mc->n;
    r->acc_stderr = mc->n > 1 ? sqrt(r->acc * (1 - r->acc) / (mc->n - 1)) : 0;
    r->acc_norm_stderr = mc->n > 1 ? sqrt(r->acc_norm * (1 - r->acc_norm) / (mc->n - 1)) : 0;
    r->chance = mc->chance / mc->n;
}

int32_t trit_mc_last(const trit_mc *mc, int32_t *label, int32_t *pred, int32_t *pred_norm, double *loglik, int32_t max) {
    if (!mc || mc->last_n < 0) return -1;
    if (label) *label = mc->last_label;
    if (pred) *pred = mc->last_pred;
    if (pred_norm) *pred_norm = mc->last_pred_norm;
    for (int32_t i = 0; loglik && i < max && i < mc->last_n; i++) loglik[i] = mc->last_ll[i];
    return mc->last_n;
}

int32_t trit_mc_convert(const char *line, int32_t len, char *out, int32_t cap) {
    if (!line || (cap > 0 && !out) || cap < 0) return trit_err(TRIT_ERR_ARG, "trit_mc_convert: bad arguments");
    mc_item it;
    trit_status rc = mc_item_parse(line, len < 0 ? strlen(line) : (size_t)len, &it);
    if (rc) return rc;
    const int32_t n = mc_item_to_json(&it, out, cap);
    mc_item_free(&it);
    return n;
}
