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
 * outlive the model). The SIMD builds rearrange the ternary weights in buf in place (see
 * trit_model_load_inplace): load a buffer once. NULL on error: see trit_last_error(). */
trit_model *trit_wasm_model_load(uint8_t *buf, uint32_t size) {
    trit_model *m = NULL;
    return trit_model_load_inplace(buf, size, &m) == TRIT_OK ? m : NULL;
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

/* ---- threads (the -mt builds; elsewhere a pool just runs everything on the caller) ---- */

/* trit_pool_init without the out-pointer: the pool, or NULL (see trit_last_error()). */
trit_pool *trit_wasm_pool_init(int32_t n_threads) {
    trit_pool *p = NULL;
    return trit_pool_init(n_threads, &p) == TRIT_OK ? p : NULL;
}

/* 1 in builds compiled with atomics (shared memory: workers can join a pool). */
int32_t trit_wasm_threads(void) {
#if defined(__wasm_atomics__)
    return 1;
#else
    return 0;
#endif
}

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

/* Puts every weight matrix that the SIMD builds rearranged at load (the TL layout, src/kernels.h) back
 * into its GGUF layout, in place, so that the tensor views above read GGUF bytes again. The WebGPU
 * backend calls it before uploading weights; CPU decoding stays correct (on slower kernels). Returns how
 * many matrices were restored (0 in builds that never rearrange), or -1 (out of memory, see
 * trit_last_error). */
#include "internal.h"
#ifdef TRIT_OPT_KERNELS
#include "kernels.h"
#endif

int32_t trit_wasm_model_gguf_layout(trit_model *m) {
    if (!m) return -1;
#ifdef TRIT_OPT_KERNELS
    const int32_t n = kernels_restore_model(m);
    if (n < 0) trit_err(TRIT_ERR_NOMEM, "cannot restore the GGUF layout of the weights: out of memory");
    return n;
#else
    return 0;
#endif
}

/* The model's rope frequency scale (1 / rope.scaling.factor) as the forward pass uses it. */
float trit_wasm_rope_freq_scale(const trit_model *m) { return m ? m->rope_freq_scale : 1.0f; }

/* ---- trit eval (src/eval.c): struct-free wrappers for js/eval.mjs ------------------------------------- */
#include <stddef.h>

static trit_ctx_params eval_params(int32_t n_ctx, int32_t n_batch, int32_t kv_type) {
    trit_ctx_params p = trit_ctx_default_params();
    p.n_ctx = n_ctx;
    p.n_batch = n_batch;
    p.kv_type = (trit_kv_type)kv_type;
    return p;
}

/* The evaluators' inits with the context's n_ctx/n_batch/kv_type as plain ints: they return the status
 * and store the object in *out (NULL on error, see trit_last_error). */
int32_t trit_wasm_ppl_init(const trit_model *m, const int32_t *tokens, int32_t n_tokens, int32_t n_ctx,
                           int32_t max_chunks, int32_t save_logits, int32_t n_batch, int32_t kv_type, trit_ppl **out) {
    trit_ctx_params p = eval_params(0, n_batch, kv_type);
    return trit_ppl_init(m, &p, tokens, n_tokens, n_ctx, max_chunks, save_logits, out);
}

/* trit_ppl_result as 7 doubles: n_chunk, n_done, n_scored, nll_sum, nll2_sum, ppl, ppl_err */
void trit_wasm_ppl_get(const trit_ppl *p, double *out) {
    trit_ppl_result r;
    trit_ppl_get(p, &r);
    const double v[7] = {r.n_chunk, r.n_done, (double)r.n_scored, r.nll_sum, r.nll2_sum, r.ppl, r.ppl_err};
    memcpy(out, v, sizeof v);
}

/* trit_logits_info_parse; out (12 doubles): version, n_vocab, n_ctx, n_chunk, first, range, header_bytes,
 * row_bytes, chunk_bytes, file_bytes, vocab_hash low 32 bits, high 32 bits. Returns the status. */
int32_t trit_wasm_logits_info(const uint8_t *buf, uint32_t size, double *out) {
    trit_logits_info i;
    trit_status rc = trit_logits_info_parse(buf, size, &i);
    if (rc) return rc;
    const double v[12] = {i.version, i.n_vocab, i.n_ctx, i.n_chunk, i.first, i.range, (double)i.header_bytes,
                          (double)i.row_bytes, (double)i.chunk_bytes, (double)i.file_bytes,
                          (double)(uint32_t)i.vocab_hash, (double)(uint32_t)(i.vocab_hash >> 32)};
    memcpy(out, v, sizeof v);
    return TRIT_OK;
}

int32_t trit_wasm_kld_init(const trit_model *m, const uint8_t *header, uint32_t size, int32_t n_batch, int32_t kv_type,
                           trit_kld **out) {
    trit_ctx_params p = eval_params(0, n_batch, kv_type);
    return trit_kld_init(m, &p, header, size, out);
}

/* trit_kld_get as 43 doubles: n_chunk, n_done, n, then every double of trit_kld_result in declaration
 * order (ppl ... same_top_err). Returns the status. */
int32_t trit_wasm_kld_get(trit_kld *k, double *out) {
    _Static_assert(offsetof(trit_kld_result, same_top_err) - offsetof(trit_kld_result, ppl) == 39 * sizeof(double),
                   "trit_kld_result: 40 consecutive doubles from ppl to same_top_err");
    trit_kld_result r;
    trit_status rc = trit_kld_get(k, &r);
    if (rc) return rc;
    out[0] = r.n_chunk;
    out[1] = r.n_done;
    out[2] = (double)r.n;
    memcpy(out + 3, &r.ppl, 40 * sizeof(double));
    return TRIT_OK;
}

int32_t trit_wasm_mc_init(const trit_model *m, int32_t n_ctx, int32_t n_batch, int32_t kv_type, trit_mc **out) {
    trit_ctx_params p = eval_params(n_ctx, n_batch, kv_type);
    return trit_mc_init(m, &p, out);
}

/* trit_mc_result as 8 doubles: n, n_acc, n_acc_norm, acc, acc_stderr, acc_norm, acc_norm_stderr, chance */
void trit_wasm_mc_get(const trit_mc *mc, double *out) {
    trit_mc_result r;
    trit_mc_get(mc, &r);
    const double v[8] = {r.n, r.n_acc, r.n_acc_norm, r.acc, r.acc_stderr, r.acc_norm, r.acc_norm_stderr, r.chance};
    memcpy(out, v, sizeof v);
}
