/* test_kernels_wasm.c: the SIMD128 kernels (src/kernels_simd128.c, behind mat_mul_rows_opt) equal the
 * scalar _ref kernels bit for bit, on random weights and activations, for TQ2_0, TQ1_0 and I2_S, many
 * shapes, n_tok 1..16 (and larger batches), and row ranges [r0, r1). Built to wasm with -msimd128
 * -DTRIT_OPT_KERNELS by `make test-wasm-kernels` and run under node (tests/wasm/run_wasi.mjs); prints
 * "N passed, M failed".   `... test_kernels_wasm.wasm bench` times opt vs ref kernels instead. */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include "internal.h"
#include "quant.h"
#include "testlib.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 16); }
static float frnd(void) { return (float)rnd() / 4294967296.0f * 2.0f - 1.0f; }

static size_t row_bytes(uint32_t type, int32_t n_in) {
    switch (type) {
    case TT_TQ2_0: return (size_t)(n_in / QK_K) * sizeof(block_tq2_0);
    case TT_TQ1_0: return (size_t)(n_in / QK_K) * sizeof(block_tq1_0);
    default: return (size_t)n_in / 4;   /* I2_S */
    }
}

/* random weights: any byte pattern is a valid block; fp16 scales finite and of both signs */
static uint8_t *make_weights(uint32_t type, int32_t n_in, int32_t n_out, trit_mat *w) {
    const size_t rb = row_bytes(type, n_in), n = rb * (size_t)n_out + 32;
    uint8_t *data = malloc(n);
    for (size_t i = 0; i < n; i++) data[i] = (uint8_t)rnd();
    if (type != TT_I2_S) {
        const size_t bs = type == TT_TQ2_0 ? sizeof(block_tq2_0) : sizeof(block_tq1_0);
        for (size_t b = 0; b < rb * (size_t)n_out / bs; b++) {
            uint16_t d = trit_fp32_to_fp16(frnd() * 0.1f);
            memcpy(data + b * bs + bs - 2, &d, 2);
        }
    }
    w->data = data;
    w->type = type;
    w->n_in = n_in;
    w->n_out = n_out;
    w->row_bytes = rb;
    w->scale = type == TT_I2_S ? 0.01f + fabsf(frnd()) : 1.0f;
    return data;
}

/* activations with some structure: plain random, one zero token (d = 0), and large outliers */
static void make_x(float *x, int32_t n_in, int32_t n_tok) {
    for (int32_t t = 0; t < n_tok; t++) {
        const int kind = (int)(rnd() % 5);
        for (int32_t i = 0; i < n_in; i++) {
            float v = frnd() * (kind == 1 ? 100.0f : 1.0f);
            if (kind == 2) v = 0;
            if (kind == 3 && rnd() % 64 == 0) v *= 1000.0f;
            x[(size_t)t * n_in + i] = v;
        }
    }
}

static int check_case(uint32_t type, int32_t n_in, int32_t n_out, int32_t n_tok, int32_t r0, int32_t r1) {
    trit_mat w;
    uint8_t *data = make_weights(type, n_in, n_out, &w);
    float *x = malloc(sizeof(float) * (size_t)n_in * n_tok);
    make_x(x, n_in, n_tok);
    void *act = malloc(mat_act_bytes(type, n_in, n_tok));
    mat_quantize_act(&w, x, n_tok, act);
    const size_t ny = (size_t)n_out * n_tok;
    float *y_ref = malloc(sizeof(float) * ny), *y_opt = malloc(sizeof(float) * ny);
    for (size_t i = 0; i < ny; i++) y_ref[i] = y_opt[i] = -12345.0f;   /* rows outside [r0, r1) stay */
    trit_force_ref = 1;
    mat_mul_rows(&w, act, x, n_tok, y_ref, r0, r1);
    trit_force_ref = 0;
    mat_mul_rows(&w, act, x, n_tok, y_opt, r0, r1);
    int same = memcmp(y_ref, y_opt, sizeof(float) * ny) == 0;
    if (!same) {
        for (size_t i = 0; i < ny; i++)
            if (memcmp(&y_ref[i], &y_opt[i], 4)) {
                fprintf(stderr, "  first difference at token %d row %d: ref %.9g opt %.9g\n", (int)(i / n_out),
                        (int)(i % n_out), y_ref[i], y_opt[i]);
                break;
            }
    }
    CHECK(same, "%s n_in %d n_out %d n_tok %d rows [%d, %d): opt != ref", tt_name(type), n_in, n_out, n_tok, r0, r1);
    free(data); free(x); free(act); free(y_ref); free(y_opt);
    return same;
}

static void test_kernels(void) {
    const uint32_t types[] = {TT_TQ2_0, TT_TQ1_0, TT_I2_S};
    const int32_t n_ins_tq[] = {256, 512, 1280, 2048};
    const int32_t n_ins_i2[] = {128, 384, 1024, 1536};
    const int32_t n_outs[] = {1, 3, 4, 5, 8, 13, 32, 37};
    for (int ti = 0; ti < 3; ti++) {
        const uint32_t type = types[ti];
        for (int a = 0; a < 4; a++) {
            const int32_t n_in = type == TT_I2_S ? n_ins_i2[a] : n_ins_tq[a];
            for (int b = 0; b < 8; b++) {
                const int32_t n_out = n_outs[b];
                for (int32_t n_tok = 1; n_tok <= 16; n_tok++) check_case(type, n_in, n_out, n_tok, 0, n_out);
                check_case(type, n_in, n_out, 17, 0, n_out);
                check_case(type, n_in, n_out, 40, 0, n_out);
                if (n_out > 2) {   /* a sub-range of rows, as a thread would get */
                    check_case(type, n_in, n_out, 1, 1, n_out - 1);
                    check_case(type, n_in, n_out, 5, 1, n_out - 1);
                }
            }
        }
    }
    /* types without an optimised kernel decline */
    trit_mat f = {NULL, TT_F16, 256, 1, 512, 1.0f};
    CHECK(mat_mul_rows_opt(&f, NULL, NULL, 1, NULL, 0, 1) == -1, "F16 has no optimised kernel");
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ns per weight of opt and ref kernels on one matrix */
static void bench(uint32_t type, int32_t n_in, int32_t n_out, int32_t n_tok) {
    trit_mat w;
    uint8_t *data = make_weights(type, n_in, n_out, &w);
    float *x = malloc(sizeof(float) * (size_t)n_in * n_tok), *y = malloc(sizeof(float) * (size_t)n_out * n_tok);
    make_x(x, n_in, n_tok);
    void *act = malloc(mat_act_bytes(type, n_in, n_tok));
    mat_quantize_act(&w, x, n_tok, act);
    double t[2];
    for (int ref = 0; ref < 2; ref++) {
        trit_force_ref = ref;
        mat_mul_rows(&w, act, x, n_tok, y, 0, n_out);   /* warm up (and let the engine tier up) */
        int reps = 0;
        const double t0 = now_s();
        do { mat_mul_rows(&w, act, x, n_tok, y, 0, n_out); reps++; } while (now_s() - t0 < 0.3);
        t[ref] = (now_s() - t0) / reps / ((double)n_in * n_out * n_tok) * 1e9;
    }
    trit_force_ref = 0;
    printf("%-6s %5d x %5d  n_tok %2d: simd %.3f ns/weight/token, ref %.3f  (x%.1f)\n", tt_name(type), n_in, n_out,
           n_tok, t[0], t[1], t[1] / t[0]);
    free(data); free(x); free(y); free(act);
}

int main(int argc, char **argv) {
    (void)read_oracle;
    if (argc > 1 && !strcmp(argv[1], "bench")) {
        const uint32_t types[] = {TT_TQ2_0, TT_TQ1_0, TT_I2_S};
        const int32_t toks[] = {1, 4, 16};
        for (int ti = 0; ti < 3; ti++)
            for (int k = 0; k < 3; k++) bench(types[ti], 1536, 4096, toks[k]);
        return 0;
    }
    test_kernels();
    return test_summary();
}
