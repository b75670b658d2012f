/* wasm_api.c: thin, struct-free exports for the JavaScript side of the wasm build (js/wasm.mjs,
 * js/cli.mjs). Every argument and result is an i32/f32/f64 so that JS never needs BigInt or to know
 * the C struct layouts; the rest of the API is exported from trit.h as is.
 * Compiled into the build/wasm/trit-*.wasm files only (not into the native CLI). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "quant.h"
#include "trit.h"

/* Model from a GGUF image the caller placed in wasm memory (buf stays owned by the caller and must
 * outlive the model, as for trit_model_load). NULL on error: see trit_last_error(). */
trit_model *trit_wasm_model_load(const uint8_t *buf, uint32_t size) {
    trit_model *m = NULL;
    return trit_model_load(buf, size, &m) == TRIT_OK ? m : NULL;
}

/* Context with n_ctx positions (0 = the model's), n_batch (0 = 64), kv_type TRIT_KV_F16/F32. NULL on error. */
trit_ctx *trit_wasm_ctx_init(const trit_model *m, int32_t n_ctx, int32_t n_batch, int32_t kv_type) {
    trit_ctx_params p = trit_ctx_default_params();
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    p.kv_type = (trit_kv_type)kv_type;
    trit_ctx *c = NULL;
    return trit_ctx_init(m, &p, &c) == TRIT_OK ? c : NULL;
}

/* Sampler with the CLI's knobs; repeat_last_n keeps its default. seed = seed_hi << 32 | seed_lo. */
trit_sampler *trit_wasm_sampler_init(float temp, int32_t top_k, float top_p, float min_p, float repeat_penalty,
                                     uint32_t seed_lo, uint32_t seed_hi) {
    trit_sampler_params sp = trit_sampler_default_params();
    sp.temperature = temp;
    sp.top_k = top_k;
    sp.top_p = top_p;
    sp.min_p = min_p;
    sp.repeat_penalty = repeat_penalty;
    sp.seed = (uint64_t)seed_hi << 32 | seed_lo;
    return trit_sampler_init(&sp);
}

/* trit_model_info as a flat int32 array of 24 entries (floats stored as their bits, 64-bit counts
 * as lo/hi halves). Index: 0 arch, 1 arch_name (pointer), 2 n_vocab, 3 n_ctx_train, 4 n_embd,
 * 5 n_layer, 6 n_head, 7 n_head_kv, 8 head_dim, 9 n_ff, 10 n_rot, 11 rms_eps (f32), 12 rope_base (f32),
 * 13 ffn_act, 14 rope_neox, 15 tied_output, 16 bos, 17 eos, 18 eot, 19 add_bos, 20/21 n_params,
 * 22/23 weight_bytes. */
void trit_wasm_model_info(const trit_model *m, int32_t *out) {
    trit_model_info hp;
    trit_model_get_info(m, &hp);
    const int32_t ints[] = {(int32_t)hp.arch, (int32_t)(uintptr_t)hp.arch_name, hp.n_vocab, hp.n_ctx_train,
                            hp.n_embd, hp.n_layer, hp.n_head, hp.n_head_kv, hp.head_dim, hp.n_ff, hp.n_rot};
    memcpy(out, ints, sizeof ints);
    memcpy(out + 11, &hp.rms_eps, 4);
    memcpy(out + 12, &hp.rope_base, 4);
    const int32_t rest[] = {hp.ffn_act, hp.rope_neox, hp.tied_output, hp.bos, hp.eos, hp.eot, hp.add_bos,
                            (int32_t)(uint32_t)hp.n_params, (int32_t)(uint32_t)(hp.n_params >> 32),
                            (int32_t)(uint32_t)hp.weight_bytes, (int32_t)(uint32_t)(hp.weight_bytes >> 32)};
    memcpy(out + 13, rest, sizeof rest);
}

/* A streaming detokenizer on the heap (release with free). */
trit_detok *trit_wasm_detok_new(void) {
    trit_detok *d = malloc(sizeof *d);
    if (d) trit_detok_init(d);
    return d;
}

/* Negative log-likelihood of `target` under softmax(row[0..n)), exactly as the native CLI's perplexity
 * computes it (double sums, this libm), so that the wasm and native outputs print the same digits. */
double trit_wasm_nll(const float *row, int32_t n, int32_t target) {
    float mx = row[0];
    for (int32_t i = 1; i < n; i++) if (row[i] > mx) mx = row[i];
    double se = 0;
    for (int32_t i = 0; i < n; i++) se += exp((double)(row[i] - mx));
    return -((double)(row[target] - mx) - log(se));
}

/* exp() of this build's libm (the CLI prints exp(mean NLL) as the native CLI does). */
double trit_wasm_exp(double x) { return exp(x); }

/* 1 when this build has the optimised (SIMD128) kernels; trit_force_ref = on makes it use the _ref ones. */
int32_t trit_wasm_opt_kernels(void) {
#ifdef TRIT_OPT_KERNELS
    return 1;
#else
    return 0;
#endif
}

void trit_wasm_set_force_ref(int32_t on) { trit_force_ref = on; }

/* ---- tensor views for the WebGPU backend (js/webgpu/) -------------------------------------------- */
#include "model.h"

/* Tensor i of the GGUF as a flat int32 array of 10 entries: 0 ggml type id, 1..4 ne[0..3] (each fits
 * in int32 for every model we load), 5/6 nbytes lo/hi, 7 data address in wasm memory, 8 name address
 * (not NUL-terminated), 9 name length. Returns 0, or -1 if i is out of range. The views stay valid
 * while the model lives. */
int32_t trit_wasm_tensor_view(const trit_model *m, int32_t i, int32_t *out) {
    if (!m || i < 0 || (uint64_t)i >= m->g.n_tensors) return -1;
    const gguf_tensor *t = &m->g.tensors[i];
    out[0] = (int32_t)t->type;
    for (int d = 0; d < 4; d++) out[1 + d] = (int32_t)t->ne[d];
    out[5] = (int32_t)(uint32_t)t->nbytes;
    out[6] = (int32_t)(uint32_t)(t->nbytes >> 32);
    out[7] = (int32_t)(uintptr_t)t->data;
    out[8] = (int32_t)(uintptr_t)t->name.ptr;
    out[9] = (int32_t)t->name.len;
    return 0;
}

/* The model's rope frequency scale (1 / rope.scaling.factor) as the forward pass uses it. */
float trit_wasm_rope_freq_scale(const trit_model *m) { return m ? m->rope_freq_scale : 1.0f; }
