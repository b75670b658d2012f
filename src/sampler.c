/* sampler.c: greedy, repetition penalty, top-k, top-p, min-p and temperature with a seeded RNG.
 * The chain runs in llama.cpp's default order: penalties -> top-k -> top-p -> min-p -> temperature,
 * and trit_sampler_probs exposes the final distribution (speculative sampling needs p and q). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define HIST_MAX 1024

struct cand_ { float v; int32_t i; };   /* a candidate token: logit and id (see below) */

struct trit_sampler {
    trit_sampler_params p;
    uint64_t s[4];                 /* xoshiro256** state */
    int32_t hist[HIST_MAX];
    int32_t n_hist, hist_pos;
    float *work;                   /* [cap] logits copy */
    struct cand_ *cand;            /* [cap] candidates (logit, id) for the truncating samplers */
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
    free(s->work); free(s->cand); free(s->probs); free(s);
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
    struct cand_ *cd = realloc(s->cand, sizeof(*cd) * (size_t)n);
    if (!cd) return -1;
    s->cand = cd;
    float *pr = realloc(s->probs, sizeof(float) * (size_t)n);
    if (!pr) return -1;
    s->probs = pr;
    s->cap = n;
    return 0;
}

/* A candidate token: logit and id. Candidates are ordered by logit, descending, lower id first on
 * ties (a total order, so every truncation below picks the same set as a full sort would). */
typedef struct cand_ cand;

static int cand_before(cand a, cand b) { return a.v > b.v || (a.v == b.v && a.i < b.i); }

static int cmp_cand(const void *a, const void *b) {
    const cand x = *(const cand *)a, y = *(const cand *)b;
    return cand_before(x, y) ? -1 : cand_before(y, x) ? 1 : 0;
}

/* Reorders c[0..n) so that c[0..k) holds the k first candidates (unsorted): quickselect with a
 * median-of-three pivot, O(n) on average. 0 < k <= n. */
static void select_first(cand *c, int32_t n, int32_t k) {
    int32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        const int32_t mid = lo + (hi - lo) / 2;
        cand a = c[lo], b = c[mid], d = c[hi], piv;
        if (cand_before(a, b)) piv = cand_before(b, d) ? b : (cand_before(a, d) ? d : a);
        else piv = cand_before(a, d) ? a : (cand_before(b, d) ? d : b);
        int32_t i = lo, j = hi;
        while (i <= j) {                       /* Hoare partition around the pivot value */
            while (cand_before(c[i], piv)) i++;
            while (cand_before(piv, c[j])) j--;
            if (i <= j) { cand t = c[i]; c[i] = c[j]; c[j] = t; i++; j--; }
        }
        if (k - 1 <= j) hi = j;                /* the k-th candidate is in the left part */
        else if (k - 1 >= i) lo = i;           /* ... or in the right part */
        else return;                           /* ... or equal to the pivot, between them */
    }
}

/* Makes c[0..m) the m first of c[0..n), sorted; c[0..*sorted) already is (and stays) so. */
static void sort_prefix(cand *c, int32_t n, int32_t m, int32_t *sorted) {
    if (m <= *sorted) return;
    if (m < n) select_first(c, n, m);
    qsort(c, (size_t)m, sizeof *c, cmp_cand);
    *sorted = m;
}

static int32_t argmax(const float *v, int32_t n) {
    int32_t best = 0;
    for (int32_t i = 1; i < n; i++)
        if (v[i] > v[best]) best = i;
    return best;
}

/* Penalties -> top-k -> top-p -> min-p -> temperature, as llama.cpp's default chain. Only what a
 * truncation needs is sorted: nothing for plain temperature or min-p, the top k for top-k, and for
 * top-p a growing sorted prefix until it holds the wanted mass (a 32k-128k vocabulary is never fully
 * sorted unless the distribution is that flat). */
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
    const int32_t top = argmax(w, n);
    if (p->temperature <= 0) {
        memset(probs, 0, sizeof(float) * (size_t)n);
        probs[top] = 1.0f;
        return TRIT_OK;
    }
    const float mx = w[top];
    const double temp = p->temperature;
    const int use_k = p->top_k > 0 && p->top_k < n, use_p = p->top_p < 1.0f, use_min = p->min_p > 0;
    if (!use_k && !use_p && !use_min) {        /* plain temperature: softmax over the whole vocabulary */
        double sum = 0;
        for (int32_t i = 0; i < n; i++) {
            const double e = exp(((double)w[i] - mx) / temp);
            sum += e;
            w[i] = (float)e;                   /* one exp per token: w now holds the weights (a float */
        }                                      /* rounding, 6e-8 relative, below the final cast's) */
        for (int32_t i = 0; i < n; i++) probs[i] = (float)(w[i] / sum);
        return TRIT_OK;
    }
    cand *c = s->cand;
    for (int32_t i = 0; i < n; i++) c[i] = (cand){w[i], i};
    int32_t keep = n, sorted = 0;
    if (use_k) { sort_prefix(c, n, p->top_k, &sorted); keep = p->top_k; }
    if (use_p) {                               /* softmax over the kept candidates (untempered) */
        double sum = 0, cum = 0;
        for (int32_t i = 0; i < keep; i++) sum += exp((double)c[i].v - mx);
        int32_t i = 0, m = keep < 64 ? keep : 64;
        for (;;) {
            sort_prefix(c, keep, m, &sorted);
            for (; i < m; i++) {
                cum += exp((double)c[i].v - mx) / sum;
                if (cum >= p->top_p) break;
            }
            if (i < m) { keep = i + 1; break; }
            if (m == keep) break;
            m = m > keep / 4 ? keep : m * 4;
        }
    }
    if (use_min) {
        const double thr = log(p->min_p);   /* p_i / p_max >= min_p  <=> l_i - l_max >= log(min_p) */
        int32_t k = 1;
        if (sorted >= keep) {                  /* a sorted prefix: cut where the bound first fails */
            while (k < keep && (double)c[k].v - mx >= thr) k++;
        } else {                               /* unsorted (no top-k/top-p): the same set, by filter */
            k = 0;
            for (int32_t i = 0; i < keep; i++)
                if ((double)c[i].v - mx >= thr) c[k++] = c[i];
            if (k == 0) { c[0] = (cand){mx, top}; k = 1; }   /* min_p > 1: the top token alone */
        }
        keep = k;
    }
    memset(probs, 0, sizeof(float) * (size_t)n);
    double sum = 0;
    for (int32_t i = 0; i < keep; i++) sum += exp(((double)c[i].v - mx) / temp);
    for (int32_t i = 0; i < keep; i++) probs[c[i].i] = (float)(exp(((double)c[i].v - mx) / temp) / sum);
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
