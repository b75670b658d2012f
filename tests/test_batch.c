/* test_batch.c: decoding N tokens in one call gives the same logits, bit for bit, as N one-token calls
 * (speculative decoding's greedy identity rests on it: the verification pass must score exactly what
 * decoding would), for batch sizes 2..16 (every kernel path) at two positions, after rollbacks, in chunks, and on
 * 1 or 2 threads. Models: the oracle's TQ1_0 / TQ2_0 / F16 / F32 files and the I2_S bitnet-b1.58 model
 * that tests/wasm/make_models.py writes (paths on the command line, else the oracle ones only).
 * Loaded with trit_model_load_inplace, so the wasm SIMD build (tests/wasm/run_wasi.mjs) checks its TL
 * kernels; the native build (ASan/UBSan) checks the reference kernels and the pthread pool.
 *   test_batch [MODEL.gguf ...]     prints "N passed, M failed" */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "trit.h"

#if defined(__wasm__)
/* emscripten's standalone libc has no files: tests/wasm/run_wasi.mjs supplies these two imports */
__attribute__((import_module("env"), import_name("trit_test_file_size"))) int32_t trit_test_file_size(const char *path);
__attribute__((import_module("env"), import_name("trit_test_file_read"))) int32_t trit_test_file_read(const char *path, void *dst);

static unsigned char *read_file(const char *path, size_t *size) {
    const int32_t n = trit_test_file_size(path);
    unsigned char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!b || trit_test_file_read(path, b) != n) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    *size = (size_t)n;
    return b;
}
#else
static unsigned char *read_file(const char *path, size_t *size) { return read_file_or_exit(path, size, ""); }
#endif

static trit_ctx *ctx(const trit_model *m, int n_ctx, int n_batch, int threads) {
    trit_ctx_params p = trit_ctx_default_params();
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    p.n_threads = threads;
    trit_ctx *c = NULL;
    if (trit_ctx_init(m, &p, &c)) { fprintf(stderr, "ctx: %s\n", trit_last_error()); exit(2); }
    return c;
}

#define MAXK 16

static void test_model(const char *path, int threads) {
    size_t n;
    unsigned char *buf = read_file(path, &n);
    trit_model *m = NULL;
    if (trit_model_load_inplace(buf, n, &m)) { fprintf(stderr, "load %s: %s\n", path, trit_last_error()); exit(2); }
    const int V = trit_model_n_vocab(m);
    int32_t toks[48];
    for (int i = 0; i < 48; i++) toks[i] = 1 + (int32_t)((i * 7919 + 13) % (V - 1));
    float *one = malloc(sizeof(float) * (size_t)V * MAXK), *all = malloc(sizeof(float) * (size_t)V * MAXK);
    trit_ctx *c = ctx(m, 64, 64, threads);
    int bad = 0, checks = 0;
    static const int ks[] = {1, 2, 3, 4, 5, 7, 8, 12, 16};   /* every kernel path: 1, tails of 4, full groups */
    for (int pos = 0; pos <= 9; pos += 9) {         /* verification at two cache lengths */
        trit_ctx_truncate(c, 0);
        if (pos) trit_ctx_decode(c, toks, pos, NULL, TRIT_LOGITS_NONE);
        for (int k = 0; k < MAXK; k++) {             /* the reference: one token per call */
            trit_ctx_decode(c, &toks[pos + k], 1, one + (size_t)k * V, TRIT_LOGITS_LAST);
        }
        for (size_t ki = 0; ki < sizeof ks / sizeof *ks; ki++) {
            const int K = ks[ki];
            trit_ctx_truncate(c, pos);              /* the rollback of a rejected draft */
            if (trit_ctx_decode(c, &toks[pos], K, all, TRIT_LOGITS_ALL)) { bad++; continue; }
            checks++;
            if (memcmp(all, one, sizeof(float) * (size_t)V * K)) {
                bad++;
                for (int k = 0; k < K; k++)
                    if (memcmp(all + (size_t)k * V, one + (size_t)k * V, sizeof(float) * V)) {
                        fprintf(stderr, "  %s: pos %d K %d: row %d differs\n", path, pos, K, k);
                        break;
                    }
            }
        }
    }
    CHECK(!bad, "%s (%d thread%s): %d of %d batched verifications differ from one-token decodes", path, threads,
          threads > 1 ? "s" : "", bad, checks);
    /* a prompt decoded in chunks of 5 (n_batch) gives the rows of one batched call */
    trit_ctx *c5 = ctx(m, 64, 5, threads);
    trit_ctx_truncate(c, 0);
    trit_ctx_decode(c, toks, MAXK, all, TRIT_LOGITS_ALL);
    trit_ctx_decode(c5, toks, MAXK, one, TRIT_LOGITS_ALL);
    CHECK(!memcmp(all, one, sizeof(float) * (size_t)V * MAXK), "%s: chunks of 5 == one batch", path);
    trit_ctx_free(c5);
    trit_ctx_free(c);
    /* the same bits on 1 and 2 threads */
    if (threads > 1) {
        trit_ctx *c1 = ctx(m, 64, 64, 1);
        trit_ctx_decode(c1, toks, MAXK, one, TRIT_LOGITS_ALL);
        CHECK(!memcmp(all, one, sizeof(float) * (size_t)V * MAXK), "%s: %d threads == 1 thread", path, threads);
        trit_ctx_free(c1);
    }
    /* a buffer rearranged in place cannot be loaded twice (it would read garbage) */
    trit_model *m2 = NULL;
    const trit_status rc = trit_model_load_inplace(buf, n, &m2);
    CHECK(rc == TRIT_OK || (rc == TRIT_ERR_ARG && strstr(trit_last_error(), "only once")), "%s: second load: %s", path,
          trit_last_error());
    trit_model_free(m2);
    free(one); free(all);
    trit_model_free(m);
    free(buf);
}

int main(int argc, char **argv) {
    static const char *oracle[] = {"models/bitnet-tiny-spm.tq2_0.gguf", "models/bitnet-tiny-spm.tq1_0.gguf",
                                   "models/llama-tiny-spm.tq2_0.gguf", "models/llama-tiny-spm.f16.gguf",
                                   "models/bitnet-tiny-spm.f32.gguf"};
    const int threads = getenv("TRIT_TEST_THREADS") ? atoi(getenv("TRIT_TEST_THREADS")) : 2;
    char path[1024];
    for (size_t i = 0; i < sizeof oracle / sizeof *oracle; i++) {
        snprintf(path, sizeof path, "%s/%s", oracle_dir(), oracle[i]);
        test_model(path, threads);
    }
    for (int i = 1; i < argc; i++) test_model(argv[i], threads);
    (void)read_oracle;
    return test_summary();
}
