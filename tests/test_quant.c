/* test_quant.c: the per-format code in src/quant.c: fp16 conversion, activation quantizers, the
 * scalar reference dot kernels against dequantized rows, TQ1_0 == TQ2_0, and the I2_S layout.
 * Built and run by `make test-c` (ASan/UBSan). */
#include <math.h>
#include <stdint.h>

#include "gguf.h"
#include "internal.h"
#include "quant.h"
#include "testlib.h"

static uint64_t rng = 0x1234567887654321ull;
static uint32_t rnd(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return (uint32_t)(rng >> 16); }
static float frnd(void) { return (float)rnd() / 4294967296.0f * 2.0f - 1.0f; }

static void test_fp16(void) {
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) continue;   /* NaN payloads */
        if (trit_fp32_to_fp16(trit_fp16_to_fp32((uint16_t)h)) != h) bad++;
    }
    CHECK(bad == 0, "fp16 round trip failed for %d values", bad);
    CHECK(trit_fp32_to_fp16(1.0f + 1.0f / 2048) == 0x3c00, "tie rounds to even (down)");
    CHECK(trit_fp32_to_fp16(1.0f + 3.0f / 2048) == 0x3c02, "tie rounds to even (up)");
    CHECK(trit_fp32_to_fp16(65520.0f) == 0x7c00, "overflow to inf");
    CHECK(trit_fp16_to_fp32(0x0001) == ldexpf(1, -24), "smallest subnormal");
}

static void test_q8_K(void) {
    float x[QK_K];
    block_q8_K y;
    for (int i = 0; i < QK_K; i++) x[i] = frnd() * 3;
    quantize_row_q8_K_ref(x, &y, QK_K);
    float maxerr = 0;
    int bs_ok = 1;
    for (int i = 0; i < QK_K; i++) maxerr = fmaxf(maxerr, fabsf(y.d * y.qs[i] - x[i]));
    for (int j = 0; j < 16; j++) {
        int s = 0;
        for (int i = 0; i < 16; i++) s += y.qs[j * 16 + i];
        bs_ok &= s == y.bsums[j];
    }
    CHECK(maxerr <= fabsf(y.d) * 0.5001f, "q8_K error %g > d/2 (d=%g)", maxerr, y.d);
    CHECK(bs_ok, "q8_K bsums");
    memset(x, 0, sizeof x);
    quantize_row_q8_K_ref(x, &y, QK_K);
    CHECK(y.d == 0 && y.qs[0] == 0, "q8_K of zeros");
}

static void test_i8_s(void) {
    float x[8] = {127, 2.5f, -2.5f, 3.5f, 0.49f, -127, 1, 0};
    int8_t q[8];
    int32_t sum;
    float s = quantize_row_i8_s_ref(x, q, 8, &sum);
    CHECK(s == 1.0f, "scale 127/max = 1, got %g", s);
    CHECK(q[1] == 2 && q[2] == -2 && q[3] == 4 && q[4] == 0, "round half to even: %d %d %d %d", q[1], q[2], q[3], q[4]);
    CHECK(sum == 127 + 2 - 2 + 4 + 0 - 127 + 1 + 0, "act sum %d", sum);
}

/* The worked example of shared/oracle/bitnet-b1.58-i2s.md: t[j] = (j mod 3) - 1, scale 0.5 */
static void test_i2_s_layout(void) {
    uint8_t buf[64] = {0};
    const uint8_t pat[3] = {0x24, 0x49, 0x92};
    for (int i = 0; i < 32; i++) buf[i] = pat[i % 3];
    const float half = 0.5f;
    memcpy(buf + 32, &half, 4);
    trit_mat w = {buf, TT_I2_S, 128, 1, 32, 0.5f, 0, NULL};
    float row[128];
    mat_get_row(&w, 0, row);
    int ok = 1;
    for (int j = 0; j < 128; j++) ok &= row[j] == 0.5f * (float)(j % 3 - 1);
    CHECK(ok, "I2_S worked example decodes to (j mod 3 - 1) * 0.5");
    int8_t q[128];
    int32_t want = 0;
    for (int j = 0; j < 128; j++) { q[j] = (int8_t)(rnd() % 255 - 127); want += (j % 3) * q[j]; }
    CHECK(vec_dot_i2_s_i8_ref(128, buf, q) == want, "I2_S integer dot uses codes 0..2");
    /* full matmul: ((dot - sum) / s) * scale equals the float dot of the dequantized row when x is integer */
    float x[128], y;
    for (int j = 0; j < 128; j++) x[j] = (float)(int)(rnd() % 255 - 127);
    x[0] = 127;
    unsigned char act[512];
    mat_mul(&w, x, 1, &y, act);
    double ref = 0;
    for (int j = 0; j < 128; j++) ref += (double)row[j] * x[j];
    CHECK(fabs(y - ref) < 1e-3, "I2_S matmul %g vs float %g", y, ref);
}

/* TQ1_0 and TQ2_0 of the same weights: identical rows and bit-identical dots (oracle: identical logits) */
static void test_tq_equivalence(void) {
    size_t n1, n2;
    unsigned char *b1 = read_oracle("models/bitnet-tiny-spm.tq1_0.gguf", &n1);
    unsigned char *b2 = read_oracle("models/bitnet-tiny-spm.tq2_0.gguf", &n2);
    gguf_ctx g1, g2;
    char err[256];
    CHECK(gguf_parse(b1, n1, &g1, err, sizeof err) == 0, "parse tq1_0: %s", err);
    CHECK(gguf_parse(b2, n2, &g2, err, sizeof err) == 0, "parse tq2_0: %s", err);
    int tensors = 0, rows_ok = 1, dots_ok = 1;
    float x[512], r1[512], r2[512];
    for (int i = 0; i < 512; i++) x[i] = frnd() * (i % 7 ? 1.0f : 9.0f);
    block_q8_K act[2];
    for (uint64_t i = 0; i < g1.n_tensors; i++) {
        const gguf_tensor *t1 = &g1.tensors[i];
        if (t1->type != TT_TQ1_0) continue;
        char name[128];
        snprintf(name, sizeof name, "%.*s", (int)t1->name.len, t1->name.ptr);
        const gguf_tensor *t2 = gguf_find_tensor(&g2, name);
        if (!t2 || t2->type != TT_TQ2_0) { CHECK(0, "no tq2_0 twin for %s", name); continue; }
        tensors++;
        const int n_in = (int)t1->ne[0], n_out = (int)t1->ne[1];
        trit_mat m1 = {t1->data, TT_TQ1_0, n_in, n_out, t1->nbytes / (uint64_t)n_out, 1, 0, NULL};
        trit_mat m2 = {t2->data, TT_TQ2_0, n_in, n_out, t2->nbytes / (uint64_t)n_out, 1, 0, NULL};
        quantize_row_q8_K_ref(x, act, n_in);
        for (int r = 0; r < n_out; r++) {
            mat_get_row(&m1, r, r1);
            mat_get_row(&m2, r, r2);
            rows_ok &= memcmp(r1, r2, sizeof(float) * (size_t)n_in) == 0;
            float d1 = vec_dot_tq1_0_q8_K_ref(n_in, (const block_tq1_0 *)(m1.data + (size_t)r * m1.row_bytes), act);
            float d2 = vec_dot_tq2_0_q8_K_ref(n_in, (const block_tq2_0 *)(m2.data + (size_t)r * m2.row_bytes), act);
            dots_ok &= d1 == d2;
            /* the dot equals the dequantized row times the dequantized activations (exact integer sum) */
            double ref = 0;
            for (int b = 0; b < n_in / QK_K; b++) {
                double s = 0;
                for (int k = 0; k < QK_K; k++) s += (double)r2[b * QK_K + k] * act[b].qs[k];
                ref += s * act[b].d;
            }
            if (fabs(ref - d2) > 1e-4 * (1 + fabs(ref))) { CHECK(0, "%s row %d: dot %g vs dequant %g", name, r, d2, ref); break; }
        }
    }
    CHECK(tensors == 14, "found %d ternary tensors", tensors);
    CHECK(rows_ok, "TQ1_0 and TQ2_0 rows dequantize identically");
    CHECK(dots_ok, "TQ1_0 and TQ2_0 dots are bit-identical");
    gguf_free(&g1); gguf_free(&g2);
    free(b1); free(b2);
}

/* Q6_K: the dot kernel and the row dequantizer agree on random blocks (scale-group mapping) */
static void test_q6_K(void) {
    block_q6_K w[2];
    for (int b = 0; b < 2; b++) {
        for (size_t i = 0; i < sizeof w[b].ql; i++) w[b].ql[i] = (uint8_t)rnd();
        for (size_t i = 0; i < sizeof w[b].qh; i++) w[b].qh[i] = (uint8_t)rnd();
        for (size_t i = 0; i < 16; i++) w[b].scales[i] = (int8_t)(rnd() % 255 - 127);
        w[b].d = trit_fp32_to_fp16(0.001f * (float)(1 + b));
    }
    float x[512], row[512];
    for (int i = 0; i < 512; i++) x[i] = frnd();
    block_q8_K act[2];
    quantize_row_q8_K_ref(x, act, 512);
    trit_mat m = {(const uint8_t *)w, TT_Q6_K, 512, 1, sizeof w, 1, 0, NULL};
    mat_get_row(&m, 0, row);
    double ref = 0;
    for (int b = 0; b < 2; b++)
        for (int k = 0; k < QK_K; k++) ref += (double)row[b * QK_K + k] * act[b].qs[k] * act[b].d;
    float got = vec_dot_q6_K_q8_K_ref(512, w, act);
    CHECK(fabs(got - ref) <= 1e-4 * (1 + fabs(ref)), "q6_K dot %g vs dequant %g", got, ref);
}

static void test_q8_0(void) {
    float x[64], y[64];
    for (int i = 0; i < 64; i++) { x[i] = frnd(); y[i] = frnd() * 2; }
    block_q8_0 qx[2], qy[2];
    quantize_row_q8_0_ref(x, qx, 64);
    quantize_row_q8_0_ref(y, qy, 64);
    trit_mat m = {(const uint8_t *)qx, TT_Q8_0, 64, 1, sizeof qx, 1, 0, NULL};
    float row[64];
    mat_get_row(&m, 0, row);
    double e = 0, ref = 0;
    for (int i = 0; i < 64; i++) { e = fmax(e, fabs(row[i] - x[i])); ref += (double)x[i] * y[i]; }
    CHECK(e < 1.0 / 127, "q8_0 dequant error %g", e);
    CHECK(fabs(vec_dot_q8_0_q8_0_ref(64, qx, qy) - ref) < 0.05, "q8_0 dot close to float");
}

int main(void) {
    test_fp16();
    test_q8_K();
    test_i8_s();
    test_i2_s_layout();
    test_tq_equivalence();
    test_q6_K();
    test_q8_0();
    return test_summary();
}
