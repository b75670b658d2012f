/* model.h: internal model and context structs (see trit.h for the API). */
#ifndef TRIT_MODEL_H
#define TRIT_MODEL_H

#include "gguf.h"
#include "quant.h"
#include "trit.h"
#include "vocab.h"

typedef struct {
    const float *attn_norm;         /* [n_embd] */
    const float *attn_sub_norm;     /* [n_head*head_dim] or NULL (llama) */
    const float *ffn_norm;          /* [n_embd] */
    const float *ffn_sub_norm;      /* [n_ff] or NULL (llama) */
    trit_mat wq;                    /* ne [n_embd, n_head*head_dim] */
    trit_mat wk, wv;                /* ne [n_embd, n_head_kv*head_dim] */
    trit_mat wo;                    /* ne [n_head*head_dim, n_embd] */
    trit_mat wgate, wup;            /* ne [n_embd, n_ff] */
    trit_mat wdown;                 /* ne [n_ff, n_embd] */
    /* bitnet: optional 1-element `.scale` tensors applied after each matmul (1 if absent) */
    float sq, sk, sv, so, sgate, sup, sdown;
    /* optional biases (llama, bitnet-b1.58): added after q/k/v/o matmuls; NULL if absent */
    const float *bq, *bk, *bv, *bo;
} trit_layer;

struct trit_model {
    gguf_ctx g;
    trit_vocab *vocab;
    trit_model_info info;
    char arch_name[64];
    trit_mat tok_embd;              /* ne [n_embd, n_vocab] */
    trit_mat output;                /* ne [n_embd, n_vocab]; = tok_embd when tied */
    const float *output_norm;       /* [n_embd] */
    const float *rope_freqs;        /* [n_rot/2] optional frequency factors, else NULL */
    float rope_freq_scale;          /* 1 / rope.scaling.factor for linear scaling */
    trit_layer *layers;             /* [n_layer] */
};

#endif
