/* sampler.c: greedy, repetition penalty, top-k, top-p, min-p and temperature with a seeded RNG.
 * The chain runs in llama.cpp's default order: penalties -> top-k -> top-p -> min-p -> temperature,
 * and trit_sampler_probs exposes the final distribution (speculative sampling needs p and q). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HIST_MAX 1024

struct trit_sampler {
    trit_sampler_params p;
    uint64_t s[4];                 /* xoshiro256** state */
    int32_t hist[HIST_MAX];
    int32_t n_hist, hist_pos;
    float *work;                   /* [cap] logits copy */
    int32_t *idx;                  /* [cap] sort order */
    float *probs;                  /* [cap] distribution for trit_sampler_sample */
    int32_t cap;
};

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static uint64_t next_u64(trit_sampler *s) {
    uint64_t *st = s->s, r = rotl(st[1] * 5, 7) * 9, t = st[1] << 17;
    st[2] ^= st[0]; st[3] ^= st[1]; st[1] ^= st[2]; st[0] ^= st[3]; st[2] ^= t; st[3] = rotl(st[3], 45);
    return r;
}

double trit_sampler_uniform(trit_sampler *s) { return (double)(next_u64(s) >> 11) * (1.0 / 9007199254740992.0); }

trit_sampler_params trit_sampler_default_params(void) {
    trit_sampler_params p = {0.0f, 0, 1.0f, 0.0f, 1.0f, 64, 0};
    return p;
}

void trit_sampler_reset(trit_sampler *s) {
    uint64_t x = s->p.seed;
    for (int i = 0; i < 4; i++) s->s[i] = splitmix64(&x);
    s->n_hist = s->hist_pos = 0;
}

trit_sampler *trit_sampler_init(const trit_sampler_params *p) {
    trit_sampler *s = calloc(1, sizeof *s);
    if (!s) { trit_err(TRIT_ERR_NOMEM, "out of memory"); return NULL; }
    s->p = p ? *p : trit_sampler_default_params();
    if (s->p.repeat_last_n > HIST_MAX) s->p.repeat_last_n = HIST_MAX;
    trit_sampler_reset(s);
    return s;
}

void trit_sampler_free(trit_sampler *s) {
    if (!s) return;
    free(s->work); free(s->idx); free(s->probs); free(s);
}

void trit_sampler_accept(trit_sampler *s, int32_t token) {
    s->hist[s->hist_pos] = token;
    s->hist_pos = (s->hist_pos + 1) % HIST_MAX;
    if (s->n_hist < HIST_MAX) s->n_hist++;
}

static int ensure(trit_sampler *s, int32_t n) {
    if (n <= s->cap) return 0;
    float *w = realloc(s->work, sizeof(float) * (size_t)n);
    if (!w) return -1;
    s->work = w;
    int32_t *ix = realloc(s->idx, sizeof(int32_t) * (size_t)n);
    if (!ix) return -1;
    s->idx = ix;
    float *pr = realloc(s->probs, sizeof(float) * (size_t)n);
    if (!pr) return -1;
    s->probs = pr;
    s->cap = n;
    return 0;
}

static const float *g_sort_keys;
static int cmp_desc(const void *a, const void *b) {
    float x = g_sort_keys[*(const int32_t *)a], y = g_sort_keys[*(const int32_t *)b];
    if (x != y) return x < y ? 1 : -1;
    return *(const int32_t *)a - *(const int32_t *)b;
}

static int32_t argmax(const float *v, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

trit_status trit_sampler_probs(trit_sampler *s, const float *logits, int32_t n, float *probs) {
    if (!s || !logits || !probs || n <= 0) return trit_err(TRIT_ERR_ARG, "trit_sampler_probs: bad arguments");
    if (ensure(s, n)) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    float *w = s->work;
    memcpy(w, logits, sizeof(float) * (size_t)n);
    const trit_sampler_params *p = &s->p;
    if (p->repeat_penalty != 1.0f && p->repeat_last_n > 0) {
        int32_t k = s->n_hist < p->repeat_last_n ? s->n_hist : p->repeat_last_n;
        for (int32_t i = 0; i < k; i++) {
            int32_t t = s->hist[(s->hist_pos - 1 - i + HIST_MAX) % HIST_MAX];
            if (t < 0 || t >= n) continue;
            /* apply once per distinct token: mark by checking earlier occurrences */
            int seen = 0;
            for (int32_t j = 0; j < i; j++)
                if (s->hist[(s->hist_pos - 1 - j + HIST_MAX) % HIST_MAX] == t) { seen = 1; break; }
            if (seen) continue;
            w[t] = w[t] > 0 ? w[t] / p->repeat_penalty : w[t] * p->repeat_penalty;
        }
    }
    if (p->temperature <= 0) {
        memset(probs, 0, sizeof(float) * (size_t)n);
        probs[argmax(w, n)] = 1.0f;
        return TRIT_OK;
    }
    /* sort candidates by logit, descending */
    int32_t *ix = s->idx;
    for (int32_t i = 0; i < n; i++) ix[i] = i;
    g_sort_keys = w;
    qsort(ix, (size_t)n, sizeof *ix, cmp_desc);
    int32_t keep = n;
    if (p->top_k > 0 && p->top_k < keep) keep = p->top_k;
    /* softmax over the kept candidates (untempered) for top-p / min-p */
    double sum = 0;
    const float mx = w[ix[0]];
    for (int32_t i = 0; i < keep; i++) sum += exp((double)w[ix[i]] - mx);
    if (p->top_p < 1.0f) {
        double cum = 0;
        for (int32_t i = 0; i < keep; i++) {
            cum += exp((double)w[ix[i]] - mx) / sum;
            if (cum >= p->top_p) { keep = i + 1; break; }
        }
    }
    if (p->min_p > 0) {
        const double thr = log(p->min_p);   /* p_i / p_max >= min_p  <=> l_i - l_max >= log(min_p) */
        int32_t k = 1;
        while (k < keep && (double)w[ix[k]] - mx >= thr) k++;
        keep = k;
    }
    memset(probs, 0, sizeof(float) * (size_t)n);
    sum = 0;
    for (int32_t i = 0; i < keep; i++) sum += exp(((double)w[ix[i]] - mx) / p->temperature);
    for (int32_t i = 0; i < keep; i++) probs[ix[i]] = (float)(exp(((double)w[ix[i]] - mx) / p->temperature) / sum);
    return TRIT_OK;
}

int32_t trit_sampler_draw(trit_sampler *s, const float *probs, int32_t n) {
    double total = 0;
    for (int32_t i = 0; i < n; i++) total += probs[i];
    double r = trit_sampler_uniform(s) * total, acc = 0;
    int32_t last = -1;
    for (int32_t i = 0; i < n; i++) {
        if (probs[i] <= 0) continue;
        acc += probs[i];
        last = i;
        if (r < acc) return i;
    }
    return last >= 0 ? last : 0;
}

int32_t trit_sampler_sample(trit_sampler *s, const float *logits, int32_t n) {
    if (!s || !logits || n <= 0) return trit_err(TRIT_ERR_ARG, "trit_sampler_sample: bad arguments");
    if (ensure(s, n)) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    int32_t t;
    if (s->p.temperature <= 0 && (s->p.repeat_penalty == 1.0f || s->p.repeat_last_n <= 0)) {
        t = argmax(logits, n);
    } else {
        trit_status rc = trit_sampler_probs(s, logits, n, s->probs);
        t = rc ? rc : trit_sampler_draw(s, s->probs, n);
    }
    if (t >= 0) trit_sampler_accept(s, t);
    return t;
}
