/* model.c: GGUF -> hyperparameters and weight views for the architectures trit runs:
 *   bitnet        llama.cpp's 1bitLLM arch: SiLU-gated FFN, attn/ffn sub-norms, NEOX rope, tied head,
 *                 optional per-projection `.scale` tensors
 *   bitnet-b1.58  bitnet.cpp's BitNet b1.58 2B4T arch (also "bitnet-25"): ReLU^2-gated FFN, sub-norms,
 *                 NEOX rope, head always token_embd, optional q/k/v/o biases
 *   llama         NORM rope, no sub-norms, optional output.weight, optional biases
 * Weights are views into the caller's buffer; nothing is copied. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "model.h"
#ifdef TRIT_OPT_KERNELS
#include "kernels.h"
#endif

/* What trit_model_load_inplace writes over the GGUF magic once it has rearranged a buffer. */
static const char k_used_magic[4] = {'T', 'R', 'I', 'T'};

static int get_hp_u32(const gguf_ctx *g, const char *arch, const char *suffix, int required, uint32_t dflt,
                      uint32_t *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int rc = gguf_get_u32(g, key, out);
    if (rc == -1) {
        if (required) return trit_err(TRIT_ERR_FORMAT, "missing required key '%s'", key);
        *out = dflt;
        return 0;
    }
    if (rc == -2) {
        const gguf_kv *kv = gguf_find(g, key);
        if (kv && kv->type == GGUF_TYPE_ARRAY)
            return trit_err(TRIT_ERR_UNSUPPORTED, "key '%s' is a per-layer array; only one value is supported", key);
        return trit_err(TRIT_ERR_FORMAT, "key '%s' has the wrong type or is out of range", key);
    }
    return 0;
}

static int get_hp_f32(const gguf_ctx *g, const char *arch, const char *suffix, int required, float dflt, float *out) {
    char key[160];
    snprintf(key, sizeof key, "%s.%s", arch, suffix);
    int rc = gguf_get_f32(g, key, out);
    if (rc == -1) {
        if (required) return trit_err(TRIT_ERR_FORMAT, "missing required key '%s'", key);
        *out = dflt;
        return 0;
    }
    if (rc == -2) return trit_err(TRIT_ERR_FORMAT, "key '%s' has the wrong type", key);
    return 0;
}

/* Finds a tensor and checks its shape; returns NULL (with the error set in *rc) when required and missing. */
static const gguf_tensor *need(const trit_model *m, const char *name, int64_t ne0, int64_t ne1, int required, int *rc) {
    const gguf_tensor *t = gguf_find_tensor(&m->g, name);
    if (!t) {
        if (required) *rc = trit_err(TRIT_ERR_FORMAT, "missing tensor '%s' (required by arch %s)", name, m->arch_name);
        return NULL;
    }
    int64_t e1 = t->n_dims >= 2 ? t->ne[1] : 1;
    if (t->ne[0] != ne0 || e1 != ne1 || t->ne[2] != 1 || t->ne[3] != 1) {
        *rc = trit_err(TRIT_ERR_FORMAT, "tensor '%s' has shape [%lld, %lld, %lld, %lld], expected [%lld, %lld]", name,
                       (long long)t->ne[0], (long long)t->ne[1], (long long)t->ne[2], (long long)t->ne[3],
                       (long long)ne0, (long long)ne1);
        return NULL;
    }
    if ((uintptr_t)t->data % 4) {
        *rc = trit_err(TRIT_ERR_FORMAT, "tensor '%s': data is not 4-byte aligned in memory (general.alignment too small)", name);
        return NULL;
    }
    return t;
}

static int bind_vec(trit_model *m, const char *name, int64_t n, int required, const float **out) {
    int rc = 0;
    *out = NULL;
    const gguf_tensor *t = need(m, name, n, 1, required, &rc);
    if (!t) return rc;
    if (t->type != TT_F32)
        return trit_err(TRIT_ERR_UNSUPPORTED, "tensor '%s' has type %s; norms and biases must be F32", name, tt_name(t->type));
    *out = (const float *)t->data;
    return 0;
}

static int bind_mat(trit_model *m, const char *name, int64_t n_in, int64_t n_out, int required, trit_mat *out) {
    int rc = 0;
    memset(out, 0, sizeof *out);
    const gguf_tensor *t = need(m, name, n_in, n_out, required, &rc);
    if (!t) return rc;
    switch (t->type) {
    case TT_TQ1_0: case TT_TQ2_0: case TT_Q6_K:
        if (n_in % QK_K) return trit_err(TRIT_ERR_FORMAT, "tensor '%s': row length %lld is not a multiple of 256", name, (long long)n_in);
        break;
    case TT_I2_S:
        if (n_in % QK_I2_S) return trit_err(TRIT_ERR_FORMAT, "tensor '%s': row length %lld is not a multiple of 128", name, (long long)n_in);
        break;
    default: break;
    }
    out->data = t->data;
    out->type = t->type;
    out->n_in = (int32_t)n_in;
    out->n_out = (int32_t)n_out;
    out->row_bytes = t->type == TT_I2_S ? (size_t)(n_in / 4) : (size_t)((t->nbytes) / (uint64_t)n_out);
    out->scale = 1.0f;
    if (t->type == TT_I2_S) {
        memcpy(&out->scale, t->data + (size_t)(n_in / 4) * (size_t)n_out, 4);
        if (!isfinite(out->scale))
            return trit_err(TRIT_ERR_FORMAT, "tensor '%s': I2_S scale is not finite", name);
    }
    return 0;
}

/* Optional 1-element `.scale` tensor -> value (1 if absent). */
static int bind_scale(trit_model *m, const char *name, float *out) {
    int rc = 0;
    *out = 1.0f;
    const gguf_tensor *t = gguf_find_tensor(&m->g, name);
    if (!t) return 0;
    if (!(t = need(m, name, 1, 1, 1, &rc))) return rc;
    if (t->type == TT_F32) memcpy(out, t->data, 4);
    else if (t->type == TT_F16) { uint16_t h; memcpy(&h, t->data, 2); *out = trit_fp16_to_fp32(h); }
    else return trit_err(TRIT_ERR_UNSUPPORTED, "tensor '%s': scale must be F32 or F16", name);
    return 0;
}

static int load_hparams(trit_model *m) {
    const gguf_ctx *g = &m->g;
    trit_model_info *hp = &m->info;
    const char *a = m->arch_name;
    uint32_t n_ctx, n_embd, n_layer, n_ff, n_head, n_head_kv, n_rot, key_len, val_len;
    int rc;
    if ((rc = get_hp_u32(g, a, "context_length", 1, 0, &n_ctx)) ||
        (rc = get_hp_u32(g, a, "embedding_length", 1, 0, &n_embd)) ||
        (rc = get_hp_u32(g, a, "block_count", 1, 0, &n_layer)) ||
        (rc = get_hp_u32(g, a, "feed_forward_length", 1, 0, &n_ff)) ||
        (rc = get_hp_u32(g, a, "attention.head_count", 1, 0, &n_head)))
        return rc;
    if ((rc = get_hp_u32(g, a, "attention.head_count_kv", 0, n_head, &n_head_kv))) return rc;
    if (n_embd == 0 || n_embd > 65536 || n_layer == 0 || n_layer > 1024 || n_ff == 0 || n_ff > 1 << 20 ||
        n_head == 0 || n_head > 1024 || n_head_kv == 0 || n_head % n_head_kv || n_embd % n_head)
        return trit_err(TRIT_ERR_FORMAT, "inconsistent hyperparameters: n_embd %u, n_layer %u, n_ff %u, n_head %u, n_head_kv %u",
                        n_embd, n_layer, n_ff, n_head, n_head_kv);
    if ((rc = get_hp_u32(g, a, "attention.key_length", 0, n_embd / n_head, &key_len)) ||
        (rc = get_hp_u32(g, a, "attention.value_length", 0, n_embd / n_head, &val_len)))
        return rc;
    if (key_len != val_len || key_len == 0 || key_len > 1024 || key_len % 2)
        return trit_err(TRIT_ERR_UNSUPPORTED, "attention key_length %u / value_length %u not supported", key_len, val_len);
    if ((rc = get_hp_u32(g, a, "rope.dimension_count", 0, key_len, &n_rot))) return rc;
    if (n_rot == 0 || n_rot > key_len || n_rot % 2)
        return trit_err(TRIT_ERR_FORMAT, "rope.dimension_count %u is invalid for head_dim %u", n_rot, key_len);
    if ((rc = get_hp_f32(g, a, "attention.layer_norm_rms_epsilon", 1, 0, &hp->rms_eps)) ||
        (rc = get_hp_f32(g, a, "rope.freq_base", 0, 10000.0f, &hp->rope_base)))
        return rc;
    if (!(hp->rms_eps > 0 && hp->rms_eps < 1) || !(hp->rope_base > 0) || !isfinite(hp->rope_base))
        return trit_err(TRIT_ERR_FORMAT, "invalid rms epsilon %g or rope base %g", hp->rms_eps, hp->rope_base);
    float factor = 1.0f;
    char key[160];
    snprintf(key, sizeof key, "%s.rope.scaling.type", a);
    gguf_str st;
    if (gguf_get_str(g, key, &st) == 0 && !gguf_str_eq(st, "linear") && !gguf_str_eq(st, "none"))
        return trit_err(TRIT_ERR_UNSUPPORTED, "rope scaling type '%.*s' is not supported", (int)(st.len > 32 ? 32 : st.len), st.ptr);
    if ((rc = get_hp_f32(g, a, "rope.scaling.factor", 0, 1.0f, &factor))) return rc;
    if (!(factor > 0) || !isfinite(factor)) return trit_err(TRIT_ERR_FORMAT, "invalid rope.scaling.factor %g", factor);
    m->rope_freq_scale = 1.0f / factor;
    hp->n_ctx_train = (int32_t)(n_ctx ? n_ctx : 4096);
    hp->n_embd = (int32_t)n_embd;
    hp->n_layer = (int32_t)n_layer;
    hp->n_ff = (int32_t)n_ff;
    hp->n_head = (int32_t)n_head;
    hp->n_head_kv = (int32_t)n_head_kv;
    hp->head_dim = (int32_t)key_len;
    hp->n_rot = (int32_t)n_rot;
    return 0;
}

static int load_tensors(trit_model *m) {
    trit_model_info *hp = &m->info;
    const int64_t E = hp->n_embd, Q = (int64_t)hp->n_head * hp->head_dim, KV = (int64_t)hp->n_head_kv * hp->head_dim,
                  F = hp->n_ff, V = hp->n_vocab;
    const int bitnet = hp->arch != TRIT_ARCH_LLAMA, plain_bitnet = hp->arch == TRIT_ARCH_BITNET;
    int rc;
    if ((rc = bind_mat(m, "token_embd.weight", E, V, 1, &m->tok_embd))) return rc;
    if ((rc = bind_vec(m, "output_norm.weight", E, 1, &m->output_norm))) return rc;
    m->output = m->tok_embd;
    hp->tied_output = 1;
    if (hp->arch == TRIT_ARCH_LLAMA && gguf_find_tensor(&m->g, "output.weight")) {
        if ((rc = bind_mat(m, "output.weight", E, V, 1, &m->output))) return rc;
        hp->tied_output = 0;
    }
    if (gguf_find_tensor(&m->g, "rope_freqs.weight") &&
        (rc = bind_vec(m, "rope_freqs.weight", hp->n_rot / 2, 1, &m->rope_freqs)))
        return rc;
    m->layers = calloc((size_t)hp->n_layer, sizeof *m->layers);
    if (!m->layers) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    for (int i = 0; i < hp->n_layer; i++) {
        trit_layer *L = &m->layers[i];
        char n[96];
#define NAME(s) (snprintf(n, sizeof n, "blk.%d." s, i), n)
        if ((rc = bind_vec(m, NAME("attn_norm.weight"), E, 1, &L->attn_norm)) ||
            (rc = bind_vec(m, NAME("ffn_norm.weight"), E, 1, &L->ffn_norm)) ||
            (rc = bind_mat(m, NAME("attn_q.weight"), E, Q, 1, &L->wq)) ||
            (rc = bind_mat(m, NAME("attn_k.weight"), E, KV, 1, &L->wk)) ||
            (rc = bind_mat(m, NAME("attn_v.weight"), E, KV, 1, &L->wv)) ||
            (rc = bind_mat(m, NAME("attn_output.weight"), Q, E, 1, &L->wo)) ||
            (rc = bind_mat(m, NAME("ffn_gate.weight"), E, F, 1, &L->wgate)) ||
            (rc = bind_mat(m, NAME("ffn_up.weight"), E, F, 1, &L->wup)) ||
            (rc = bind_mat(m, NAME("ffn_down.weight"), F, E, 1, &L->wdown)))
            return rc;
        if (bitnet && ((rc = bind_vec(m, NAME("attn_sub_norm.weight"), Q, 1, &L->attn_sub_norm)) ||
                       (rc = bind_vec(m, NAME("ffn_sub_norm.weight"), F, 1, &L->ffn_sub_norm))))
            return rc;
        L->sq = L->sk = L->sv = L->so = L->sgate = L->sup = L->sdown = 1.0f;
        if (plain_bitnet &&
            ((rc = bind_scale(m, NAME("attn_q.scale"), &L->sq)) || (rc = bind_scale(m, NAME("attn_k.scale"), &L->sk)) ||
             (rc = bind_scale(m, NAME("attn_v.scale"), &L->sv)) || (rc = bind_scale(m, NAME("attn_output.scale"), &L->so)) ||
             (rc = bind_scale(m, NAME("ffn_gate.scale"), &L->sgate)) || (rc = bind_scale(m, NAME("ffn_up.scale"), &L->sup)) ||
             (rc = bind_scale(m, NAME("ffn_down.scale"), &L->sdown))))
            return rc;
        if (!plain_bitnet &&
            ((rc = bind_vec(m, NAME("attn_q.bias"), Q, 0, &L->bq)) || (rc = bind_vec(m, NAME("attn_k.bias"), KV, 0, &L->bk)) ||
             (rc = bind_vec(m, NAME("attn_v.bias"), KV, 0, &L->bv)) || (rc = bind_vec(m, NAME("attn_output.bias"), E, 0, &L->bo))))
            return rc;
#undef NAME
    }
    return 0;
}

trit_status trit_model_load(const uint8_t *buf, uint64_t size, trit_model **out) {
    if (!out) return trit_err(TRIT_ERR_ARG, "trit_model_load: out is NULL");
    *out = NULL;
    if (!buf) return trit_err(TRIT_ERR_ARG, "trit_model_load: buffer is NULL");
    if (size >= 4 && !memcmp(buf, k_used_magic, 4))
        return trit_err(TRIT_ERR_ARG, "this buffer was rearranged by trit_model_load_inplace and can be loaded only once");
    trit_model *m = calloc(1, sizeof *m);
    if (!m) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    char err[400];
    int rc = gguf_parse(buf, size, &m->g, err, sizeof err);
    if (rc) { free(m); return trit_err(rc, "GGUF: %s", err); }
    gguf_str arch;
    if (gguf_get_str(&m->g, "general.architecture", &arch)) {
        rc = trit_err(TRIT_ERR_FORMAT, "missing or non-string key 'general.architecture'");
        goto fail;
    }
    if (arch.len >= sizeof m->arch_name) arch.len = sizeof m->arch_name - 1;
    memcpy(m->arch_name, arch.ptr, (size_t)arch.len);
    m->arch_name[arch.len] = 0;
    trit_model_info *hp = &m->info;
    hp->arch_name = m->arch_name;
    if (!strcmp(m->arch_name, "bitnet")) { hp->arch = TRIT_ARCH_BITNET; hp->ffn_act = 0; hp->rope_neox = 1; }
    else if (!strcmp(m->arch_name, "bitnet-b1.58") || !strcmp(m->arch_name, "bitnet-25") ||
             !strcmp(m->arch_name, "bitnet-1.58")) { hp->arch = TRIT_ARCH_BITNET_B158; hp->ffn_act = 1; hp->rope_neox = 1; }
    else if (!strcmp(m->arch_name, "llama")) { hp->arch = TRIT_ARCH_LLAMA; hp->ffn_act = 0; hp->rope_neox = 0; }
    else {
        rc = trit_err(TRIT_ERR_UNSUPPORTED, "unknown architecture '%s' (supported: bitnet, bitnet-b1.58, bitnet-25, llama)", m->arch_name);
        goto fail;
    }
    if ((rc = load_hparams(m))) goto fail;
    if ((rc = vocab_load(&m->g, &m->vocab))) goto fail;
    hp->n_vocab = vocab_n_tokens(m->vocab);
    hp->bos = vocab_bos(m->vocab);
    hp->eos = vocab_eos(m->vocab);
    hp->eot = vocab_eot(m->vocab);
    hp->add_bos = vocab_add_bos(m->vocab);
    if ((rc = load_tensors(m))) goto fail;
    for (uint64_t i = 0; i < m->g.n_tensors; i++) {
        const gguf_tensor *t = &m->g.tensors[i];
        hp->n_params += (uint64_t)(t->ne[0] * t->ne[1] * t->ne[2] * t->ne[3]);
        hp->weight_bytes += t->nbytes;
    }
    *out = m;
    return TRIT_OK;
fail:
    trit_model_free(m);
    return (trit_status)rc;
}

trit_status trit_model_load_inplace(uint8_t *buf, uint64_t size, trit_model **out) {
    trit_status rc = trit_model_load(buf, size, out);
#ifdef TRIT_OPT_KERNELS
    if (rc == TRIT_OK && kernels_repack_model(*out) > 0) memcpy(buf, k_used_magic, 4);
#endif
    return rc;
}

void trit_model_free(trit_model *m) {
    if (!m) return;
#ifdef TRIT_OPT_KERNELS
    kernels_free_model(m);
#endif
    vocab_free(m->vocab);
    free(m->layers);
    gguf_free(&m->g);
    free(m);
}

void trit_model_get_info(const trit_model *m, trit_model_info *out) { *out = m->info; }
int32_t trit_model_n_vocab(const trit_model *m) { return m->info.n_vocab; }
int32_t trit_model_n_tensors(const trit_model *m) { return (int32_t)m->g.n_tensors; }

int32_t trit_model_tensor(const trit_model *m, int32_t i, const char **name, const char **type_name, int64_t ne[4],
                          uint64_t *nbytes) {
    static TRIT_THREAD_LOCAL char nb[256];
    if (i < 0 || (uint64_t)i >= m->g.n_tensors) return -1;
    const gguf_tensor *t = &m->g.tensors[i];
    size_t n = t->name.len < sizeof nb - 1 ? (size_t)t->name.len : sizeof nb - 1;
    memcpy(nb, t->name.ptr, n);
    nb[n] = 0;
    *name = nb;
    *type_name = tt_name(t->type);
    memcpy(ne, t->ne, sizeof t->ne);
    *nbytes = t->nbytes;
    return 0;
}

int32_t trit_model_meta(const trit_model *m, const char *key, char *buf, int32_t len) {
    const gguf_kv *kv = gguf_find(&m->g, key);
    if (!kv) return -1;
    char tmp[64];
    const char *s = tmp;
    size_t n;
    switch (kv->type) {
    case GGUF_TYPE_STRING: s = kv->str.ptr; n = (size_t)kv->str.len; break;
    case GGUF_TYPE_ARRAY: n = (size_t)snprintf(tmp, sizeof tmp, "[%llu items]", (unsigned long long)kv->arr_n); break;
    case GGUF_TYPE_FLOAT32: case GGUF_TYPE_FLOAT64: n = (size_t)snprintf(tmp, sizeof tmp, "%.9g", kv->num.f64); break;
    case GGUF_TYPE_BOOL: n = (size_t)snprintf(tmp, sizeof tmp, "%s", kv->num.u64 ? "true" : "false"); break;
    case GGUF_TYPE_INT8: case GGUF_TYPE_INT16: case GGUF_TYPE_INT32: case GGUF_TYPE_INT64:
        n = (size_t)snprintf(tmp, sizeof tmp, "%lld", (long long)kv->num.i64); break;
    default: n = (size_t)snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)kv->num.u64); break;
    }
    if (n > INT32_MAX - 1) n = INT32_MAX - 1;
    if (buf && len > 0) {
        size_t k = n < (size_t)len - 1 ? n : (size_t)len - 1;
        memcpy(buf, s, k);
        buf[k] = 0;
    }
    return (int32_t)n;
}
