/* test_core.c: the public API's contracts on the oracle models: batching and rollback do not change
 * results, a full context or a bad token leaves the context unchanged, load errors name what is wrong,
 * the sampler is seeded and its transforms behave, the streaming detokenizer never splits UTF-8.
 * Built and run by `make test-c` (ASan/UBSan). */
#include <math.h>
#include <stdint.h>

#include "trit.h"
#include "testlib.h"

static const int32_t k_toks[12] = {1, 589, 337, 505, 351, 321, 381, 365, 706, 363, 325, 334};

static trit_model *load(const char *rel, unsigned char **buf) {
    size_t n;
    *buf = read_oracle(rel, &n);
    trit_model *m = NULL;
    if (trit_model_load(*buf, n, &m)) { fprintf(stderr, "load %s: %s\n", rel, trit_last_error()); exit(2); }
    return m;
}

static trit_ctx *ctx(const trit_model *m, int n_ctx, int n_batch) {
    trit_ctx_params p = trit_ctx_default_params();
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    trit_ctx *c = NULL;
    if (trit_ctx_init(m, &p, &c)) { fprintf(stderr, "ctx: %s\n", trit_last_error()); exit(2); }
    return c;
}

static void test_batching_and_rollback(const char *rel) {
    unsigned char *buf;
    trit_model *m = load(rel, &buf);
    const int V = trit_model_n_vocab(m), N = 12;
    float *a = malloc(sizeof(float) * V * N), *b = malloc(sizeof(float) * V * N), *one = malloc(sizeof(float) * V);
    trit_ctx *c1 = ctx(m, 64, 64), *c2 = ctx(m, 64, 5);
    CHECK(trit_ctx_decode(c1, k_toks, N, a, TRIT_LOGITS_ALL) == TRIT_OK, "decode all");
    CHECK(trit_ctx_decode(c2, k_toks, N, b, TRIT_LOGITS_ALL) == TRIT_OK, "decode in chunks of 5");
    CHECK(memcmp(a, b, sizeof(float) * V * N) == 0, "%s: chunked batch == one batch (bitwise)", rel);
    /* token by token gives the same rows */
    trit_ctx_truncate(c2, 0);
    int same = 1;
    for (int i = 0; i < N; i++) {
        trit_ctx_decode(c2, &k_toks[i], 1, one, TRIT_LOGITS_LAST);
        same &= memcmp(one, a + (size_t)i * V, sizeof(float) * V) == 0;
    }
    CHECK(same, "%s: one token at a time == batched (bitwise)", rel);
    /* rollback: truncate to 5 and re-decode 5..11 */
    CHECK(trit_ctx_truncate(c1, 5) == TRIT_OK && trit_ctx_pos(c1) == 5, "truncate to 5");
    CHECK(trit_ctx_decode(c1, k_toks + 5, N - 5, b, TRIT_LOGITS_ALL) == TRIT_OK, "re-decode");
    CHECK(memcmp(b, a + (size_t)5 * V, sizeof(float) * V * (N - 5)) == 0, "%s: rollback + re-decode == original", rel);
    /* rollback after a different continuation (speculative rejection) */
    trit_ctx_truncate(c1, 5);
    int32_t wrong[3] = {7, 8, 9};
    trit_ctx_decode(c1, wrong, 3, NULL, TRIT_LOGITS_NONE);
    trit_ctx_truncate(c1, 5);
    trit_ctx_decode(c1, k_toks + 5, N - 5, b, TRIT_LOGITS_ALL);
    CHECK(memcmp(b, a + (size_t)5 * V, sizeof(float) * V * (N - 5)) == 0, "rejected tokens leave no trace");
    /* LAST equals the last row of ALL */
    trit_ctx_truncate(c1, 0);
    trit_ctx_decode(c1, k_toks, N, one, TRIT_LOGITS_LAST);
    CHECK(memcmp(one, a + (size_t)(N - 1) * V, sizeof(float) * V) == 0, "LAST == last row of ALL");
    CHECK(trit_ctx_truncate(c1, N + 1) == TRIT_ERR_ARG, "truncate beyond pos is an error");
    trit_ctx_free(c1); trit_ctx_free(c2);
    free(a); free(b); free(one);
    trit_model_free(m); free(buf);
}

static void test_ctx_full_and_bad_tokens(void) {
    unsigned char *buf;
    trit_model *m = load("models/llama-tiny-spm.tq2_0.gguf", &buf);
    const int V = trit_model_n_vocab(m);
    float *a = malloc(sizeof(float) * V), *b = malloc(sizeof(float) * V);
    trit_ctx *c = ctx(m, 8, 4), *ref = ctx(m, 8, 4);
    CHECK(trit_ctx_decode(c, k_toks, 6, NULL, TRIT_LOGITS_NONE) == TRIT_OK, "6 of 8");
    CHECK(trit_ctx_decode(c, k_toks + 6, 3, a, TRIT_LOGITS_LAST) == TRIT_ERR_CTX_FULL, "9 of 8 -> CTX_FULL");
    CHECK(trit_ctx_pos(c) == 6, "position unchanged after CTX_FULL");
    CHECK(strstr(trit_last_error(), "context full") != NULL, "message: %s", trit_last_error());
    int32_t bad[2] = {3, V};
    CHECK(trit_ctx_decode(c, bad, 2, a, TRIT_LOGITS_LAST) == TRIT_ERR_ARG, "token id == n_vocab -> ARG");
    bad[1] = -1;
    CHECK(trit_ctx_decode(c, bad, 2, a, TRIT_LOGITS_LAST) == TRIT_ERR_ARG, "negative token id -> ARG");
    CHECK(trit_ctx_pos(c) == 6, "position unchanged after bad tokens");
    CHECK(trit_ctx_decode(c, k_toks + 6, 2, a, TRIT_LOGITS_LAST) == TRIT_OK, "fill to 8");
    trit_ctx_decode(ref, k_toks, 8, b, TRIT_LOGITS_LAST);
    CHECK(memcmp(a, b, sizeof(float) * V) == 0, "results after the errors equal a clean run");
    CHECK(trit_ctx_decode(c, k_toks, 1, a, TRIT_LOGITS_LAST) == TRIT_ERR_CTX_FULL, "full context refuses more");
    CHECK(trit_ctx_decode(c, k_toks, 1, NULL, TRIT_LOGITS_LAST) == TRIT_ERR_ARG, "NULL logits with LAST -> ARG");
    trit_ctx_free(c); trit_ctx_free(ref);
    free(a); free(b);
    trit_model_free(m); free(buf);
}

/* Replace the first occurrence of `from` by `to` (same length) in a copy of the file. */
static int load_patched(const char *rel, const char *from, const char *to, char *msg, size_t msglen) {
    size_t n;
    unsigned char *b = read_oracle(rel, &n);
    size_t k = strlen(from);
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(b + i, from, k)) { memcpy(b + i, to, k); break; }
    trit_model *m = NULL;
    int rc = trit_model_load(b, n, &m);
    snprintf(msg, msglen, "%s", trit_last_error());
    trit_model_free(m);
    free(b);
    return rc;
}

static void test_load_errors(void) {
    char msg[512];
    /* the first "bitnet" in the file is the value of general.architecture */
    int rc = load_patched("models/bitnet-tiny-spm.tq2_0.gguf", "bitnet", "bitnix", msg, sizeof msg);
    CHECK(rc == TRIT_ERR_UNSUPPORTED && strstr(msg, "bitnix"), "unknown arch named: %d %s", rc, msg);
    rc = load_patched("models/bitnet-tiny-spm.tq2_0.gguf", "blk.1.ffn_up.weight", "blk.1.ffn_uq.weight", msg, sizeof msg);
    CHECK(rc == TRIT_ERR_FORMAT && strstr(msg, "blk.1.ffn_up.weight"), "missing tensor named: %d %s", rc, msg);
    rc = load_patched("models/llama-tiny-spm.f32.gguf", "llama.block_count", "llama.block_coun7", msg, sizeof msg);
    CHECK(rc == TRIT_ERR_FORMAT && strstr(msg, "block_count"), "missing key named: %d %s", rc, msg);
    size_t n;
    unsigned char *b = read_oracle("models/bitnet-tiny-spm.tq2_0.gguf", &n);
    trit_model *m = (trit_model *)1;
    rc = trit_model_load(b, n - 100, &m);
    CHECK(rc == TRIT_ERR_FORMAT && m == NULL && strstr(trit_last_error(), "outside"), "truncated data: %d %s", rc, trit_last_error());
    rc = trit_model_load(b, 10, &m);
    CHECK(rc == TRIT_ERR_FORMAT, "truncated header: %s", trit_last_error());
    free(b);
}

static void test_sampler(void) {
    float lg[6] = {0.5f, 2.0f, 1.0f, 2.0f, -1.0f, 0.0f}, p[6];
    trit_sampler_params sp = trit_sampler_default_params();
    trit_sampler *s = trit_sampler_init(&sp);
    CHECK(trit_sampler_sample(s, lg, 6) == 1, "greedy picks the lowest id among ties");
    trit_sampler_free(s);
    sp.temperature = 1.0f;
    sp.seed = 42;
    trit_sampler *s1 = trit_sampler_init(&sp), *s2 = trit_sampler_init(&sp);
    int same = 1, hist[6] = {0};
    for (int i = 0; i < 2000; i++) {
        int32_t a = trit_sampler_sample(s1, lg, 6), b = trit_sampler_sample(s2, lg, 6);
        same &= a == b;
        hist[a]++;
    }
    CHECK(same, "same seed, same draws");
    /* frequency of token 1 should be near softmax(lg)[1] */
    double z = 0;
    for (int i = 0; i < 6; i++) z += exp(lg[i]);
    CHECK(fabs(hist[1] / 2000.0 - exp(2.0) / z) < 0.05, "draw frequency %g vs p %g", hist[1] / 2000.0, exp(2.0) / z);
    trit_sampler_probs(s1, lg, 6, p);
    double sum = 0;
    for (int i = 0; i < 6; i++) sum += p[i];
    CHECK(fabs(sum - 1) < 1e-6, "probs sum to 1");
    trit_sampler_free(s1); trit_sampler_free(s2);
    sp.top_k = 2;
    s = trit_sampler_init(&sp);
    trit_sampler_probs(s, lg, 6, p);
    CHECK(p[1] > 0 && p[3] > 0 && p[0] == 0 && p[2] == 0 && fabsf(p[1] - 0.5f) < 1e-6, "top-k 2 keeps the two best");
    trit_sampler_free(s);
    sp.top_k = 0; sp.min_p = 0.3f;
    s = trit_sampler_init(&sp);
    trit_sampler_probs(s, lg, 6, p);
    CHECK(p[1] > 0 && p[2] > 0 && p[0] == 0, "min-p 0.3 keeps logits within log(1/0.3) of the max");
    trit_sampler_free(s);
    sp.min_p = 0; sp.top_p = 0.5f;
    s = trit_sampler_init(&sp);
    trit_sampler_probs(s, lg, 6, p);
    CHECK(p[1] > 0 && p[3] > 0 && p[2] == 0, "top-p 0.5 keeps the two tied best (each ~0.36)");
    trit_sampler_free(s);
    sp = trit_sampler_default_params();
    sp.repeat_penalty = 2.0f;
    s = trit_sampler_init(&sp);
    trit_sampler_accept(s, 1);
    CHECK(trit_sampler_sample(s, lg, 6) == 3, "repetition penalty demotes a seen token");
    trit_sampler_free(s);
}

/* The sampling chain computed the plain way (sort the whole vocabulary, then cut), to check that
 * trit_sampler_probs, which sorts only what each truncation needs, keeps exactly the same tokens. */
static const float *g_ref_keys;
static int ref_cmp(const void *a, const void *b) {
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    if (g_ref_keys[x] != g_ref_keys[y]) return g_ref_keys[x] < g_ref_keys[y] ? 1 : -1;
    return x - y;
}

static void ref_probs(const float *w, int32_t n, const trit_sampler_params *p, float *probs, int32_t *ix) {
    for (int32_t i = 0; i < n; i++) ix[i] = i;
    g_ref_keys = w;
    qsort(ix, (size_t)n, sizeof *ix, ref_cmp);
    int32_t keep = p->top_k > 0 && p->top_k < n ? p->top_k : n;
    const double mx = w[ix[0]];
    double sum = 0;
    for (int32_t i = 0; i < keep; i++) sum += exp(w[ix[i]] - mx);
    if (p->top_p < 1) {
        double cum = 0;
        for (int32_t i = 0; i < keep; i++) {
            cum += exp(w[ix[i]] - mx) / sum;
            if (cum >= p->top_p) { keep = i + 1; break; }
        }
    }
    if (p->min_p > 0) {
        int32_t k = 1;
        while (k < keep && w[ix[k]] - mx >= log(p->min_p)) k++;
        keep = k;
    }
    memset(probs, 0, sizeof(float) * (size_t)n);
    sum = 0;
    for (int32_t i = 0; i < keep; i++) sum += exp((w[ix[i]] - mx) / p->temperature);
    for (int32_t i = 0; i < keep; i++) probs[ix[i]] = (float)(exp((w[ix[i]] - mx) / p->temperature) / sum);
}

static void test_sampler_vs_full_sort(void) {
    enum { N = 5000 };
    static float lg[N], got[N], want[N];
    static int32_t ix[N];
    uint64_t x = 12345;
    const float temps[] = {0.7f, 1.0f, 1.5f};
    const int32_t ks[] = {0, 1, 40, 4999, 5000, 9000};
    const float ps[] = {1.0f, 0.95f, 0.5f, 0.999999f};
    const float mins[] = {0.0f, 0.05f, 0.5f};
    int bad_support = 0, n_cases = 0;
    double worst = 0;
    for (int trial = 0; trial < 6; trial++) {
        for (int i = 0; i < N; i++) {          /* peaked, flat, and heavily tied logits */
            x = x * 6364136223846793005ull + 1442695040888963407ull;
            const double u = (double)(x >> 11) / 9007199254740992.0;
            lg[i] = trial % 3 == 0 ? (float)(8 * u * u * u) : trial % 3 == 1 ? (float)(0.01 * u)
                                                                              : (float)(int)(4 * u);
        }
        for (size_t a = 0; a < sizeof temps / sizeof *temps; a++)
            for (size_t b = 0; b < sizeof ks / sizeof *ks; b++)
                for (size_t c = 0; c < sizeof ps / sizeof *ps; c++)
                    for (size_t d = 0; d < sizeof mins / sizeof *mins; d++) {
                        trit_sampler_params sp = trit_sampler_default_params();
                        sp.temperature = temps[a]; sp.top_k = ks[b]; sp.top_p = ps[c]; sp.min_p = mins[d];
                        trit_sampler *s = trit_sampler_init(&sp);
                        trit_sampler_probs(s, lg, N, got);
                        trit_sampler_free(s);
                        ref_probs(lg, N, &sp, want, ix);
                        n_cases++;
                        for (int i = 0; i < N; i++) {
                            if ((got[i] > 0) != (want[i] > 0)) { bad_support++; break; }
                            const double e = fabs((double)got[i] - want[i]) / (want[i] > 0 ? want[i] : 1);
                            if (e > worst) worst = e;
                        }
                    }
    }
    CHECK(bad_support == 0, "partial-sort sampler keeps the same tokens as a full sort (%d of %d cases differ)",
          bad_support, n_cases);
    CHECK(worst < 1e-5, "and the same probabilities (max relative difference %g)", worst);
}

static void test_detok(void) {
    unsigned char *buf;
    trit_model *m = load("models/bitnet-tiny-spm.f32.gguf", &buf);
    int32_t e2 = trit_token_id(m, "<0xE2>"), x96 = trit_token_id(m, "<0x96>"), x81 = trit_token_id(m, "<0x81>");
    CHECK(e2 >= 0 && x96 >= 0 && x81 >= 0, "byte tokens exist");
    trit_detok d;
    trit_detok_init(&d);
    const char *out;
    CHECK(trit_detok_push(&d, m, e2, &out) == 0, "lead byte is held back");
    CHECK(trit_detok_push(&d, m, x96, &out) == 0, "second byte is held back");
    int32_t k = trit_detok_push(&d, m, x81, &out);
    CHECK(k == 3 && !memcmp(out, "\xe2\x96\x81", 3), "complete sequence released (%d)", k);
    trit_detok_push(&d, m, e2, &out);
    k = trit_detok_flush(&d, &out);
    CHECK(k == 3 && !memcmp(out, "\xef\xbf\xbd", 3), "flush of a partial sequence gives U+FFFD");
    trit_model_free(m);
    free(buf);
}

int main(void) {
    test_batching_and_rollback("models/bitnet-tiny-spm.tq2_0.gguf");
    test_batching_and_rollback("models/llama-tiny-spm.f32.gguf");
    test_ctx_full_and_bad_tokens();
    test_load_errors();
    test_sampler();
    test_sampler_vs_full_sort();
    test_detok();
    return test_summary();
}
