/* bench_native.c: bench/bench.mjs's child for the native build of the same C core (gcc -O3
 * -march=native, the scalar reference kernels auto-vectorised, pthreads): the same measurements on one
 * model, one JSON line on stdout.   usage: trit_bench_native MODEL.gguf THREADS N_CTX PROMPT DECODE REPS */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "model.h"
#include "trit.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* the roofline's streaming read, as the wasm module's trit_wasm_stream: the compiler vectorises it */
static uint64_t stream(const uint8_t *p, size_t n) {
    const uint64_t *q = (const uint64_t *)p;
    uint64_t a[8] = {0};
    for (size_t i = 0; i + 8 <= n / 8; i += 8)
        for (int j = 0; j < 8; j++) a[j] += q[i + j];
    return a[0] ^ a[1] ^ a[2] ^ a[3] ^ a[4] ^ a[5] ^ a[6] ^ a[7];
}

static void die(const char *what) {
    fprintf(stderr, "%s: %s\n", what, trit_last_error());
    exit(1);
}

int main(int argc, char **argv) {
    if (argc < 7) { fprintf(stderr, "usage: %s MODEL THREADS N_CTX PROMPT DECODE REPS\n", argv[0]); return 2; }
    const int threads = atoi(argv[2]), n_ctx = atoi(argv[3]), prompt = atoi(argv[4]), n_decode = atoi(argv[5]);
    const int reps = atoi(argv[6]), ks[4] = {1, 2, 4, 8};
    if (prompt < 1 || prompt > 64 || n_decode < 1 || reps < 1) { fprintf(stderr, "bad counts\n"); return 2; }
    double t0 = now();
    FILE *f = fopen(argv[1], "rb");
    if (!f) { perror(argv[1]); return 1; }
    fseek(f, 0, SEEK_END);
    const size_t size = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(size);
    if (!buf || fread(buf, 1, size, f) != size) { fprintf(stderr, "read failed\n"); return 1; }
    fclose(f);
    trit_model *m;
    if (trit_model_load(buf, size, &m)) die("load");
    const double load_s = now() - t0;
    double wbytes = (double)m->output.row_bytes * m->output.n_out;
    for (int32_t l = 0; l < m->info.n_layer; l++) {
        const trit_layer *L = &m->layers[l];
        const trit_mat *ms[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->wgate, &L->wup, &L->wdown};
        for (int j = 0; j < 7; j++) wbytes += (double)ms[j]->row_bytes * ms[j]->n_out;
    }
    double bw = 0;
    uint64_t sink = 0;
    for (int r = 0; r < 5; r++) {
        const double s = now();
        sink ^= stream(buf, size);
        const double b = (double)size / (now() - s);
        if (b > bw) bw = b;
    }
    trit_ctx_params cp = trit_ctx_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = 64;
    cp.n_threads = threads;
    trit_ctx *c;
    if (trit_ctx_init(m, &cp, &c)) die("ctx");
    const int32_t V = m->info.n_vocab;
    float *logits = malloc(sizeof(float) * (size_t)V * 8);
    int32_t toks[64];
    for (int i = 0; i < 64; i++) toks[i] = 1 + (int32_t)(((int64_t)i * 7919) % (V - 1));
    double s = now();
    if (trit_ctx_decode(c, toks, prompt, logits, TRIT_LOGITS_LAST)) die("decode");
    const double prefill_s = now() - s;
    s = now();
    for (int i = 0; i < n_decode; i++)
        if (trit_ctx_decode(c, toks, 1, logits, TRIT_LOGITS_LAST)) die("decode");
    const double decode_s = now() - s;
    const int32_t pos = trit_ctx_pos(c);
    double verify[4];
    for (int k = 0; k < 4; k++) {
        verify[k] = 1e30;
        for (int r = 0; r < reps; r++) {
            trit_ctx_truncate(c, pos);
            const double v = now();
            if (trit_ctx_decode(c, toks, ks[k], logits, TRIT_LOGITS_ALL)) die("decode");
            if (now() - v < verify[k]) verify[k] = now() - v;
        }
    }
    for (int r = 0; r < 3; r++) {
        const double s2 = now();
        sink ^= stream(buf, size);
        const double b = (double)size / (now() - s2);
        if (b > bw) bw = b;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const double tps = n_decode / decode_s;
    const double kv = 2.0 * m->info.n_layer * n_ctx * m->info.n_head_kv * m->info.head_dim * 2;
    printf("{\"build\":\"native\",\"threads\":%d,\"load_s\":%.4f,\"file_bytes\":%zu,\"weight_bytes_per_token\":%.0f,"
           "\"kv_bytes\":%.0f,\"peak_bytes\":%.0f,\"prefill_tokens\":%d,\"prefill_tok_s\":%.4f,\"decode_tokens\":%d,"
           "\"decode_tok_s\":%.4f,\"verify_s\":{\"1\":%.6f,\"2\":%.6f,\"4\":%.6f,\"8\":%.6f},"
           "\"verify_rel\":{\"1\":1,\"2\":%.4f,\"4\":%.4f,\"8\":%.4f},\"stream_bytes_s\":%.0f,\"roofline\":%.4f,\"sink\":%llu}\n",
           threads, load_s, size, wbytes, kv, (double)ru.ru_maxrss * 1024, prompt, prompt / prefill_s, n_decode, tps,
           verify[0], verify[1], verify[2], verify[3], verify[1] / verify[0], verify[2] / verify[0], verify[3] / verify[0],
           bw, wbytes * tps / bw, (unsigned long long)(sink & 1));
    trit_ctx_free(c);
    trit_model_free(m);
    free(buf);
    free(logits);
    return 0;
}
