/* trit.h: the one public header of trit's C core, and its manual.
 *
 *   #include "trit.h"
 *   // the caller owns the file bytes; the model keeps views into them (no copy of the weights)
 *   trit_model *m; trit_ctx *c; int32_t toks[256];
 *   if (trit_model_load(buf, size, &m) != TRIT_OK) { fprintf(stderr, "%s\n", trit_last_error()); ... }
 *   trit_ctx_params cp = trit_ctx_default_params();            // n_ctx from the model, F16 KV cache
 *   if (trit_ctx_init(m, &cp, &c) != TRIT_OK) { ... }
 *   int32_t n = trit_tokenize(m, "Once upon a time", -1, toks, 256, TRIT_TOK_ADD_SPECIAL);
 *   float *logits = malloc(sizeof(float) * trit_model_n_vocab(m));
 *   trit_ctx_decode(c, toks, n, logits, TRIT_LOGITS_LAST);    // prefill: positions 0..n-1
 *   trit_sampler_params sp = trit_sampler_default_params();   // temperature 0 = greedy
 *   trit_sampler *s = trit_sampler_init(&sp);
 *   for (int i = 0; i < 32; i++) {
 *       int32_t t = trit_sampler_sample(s, logits, trit_model_n_vocab(m));
 *       if (trit_token_is_eog(m, t)) break;
 *       char piece[64]; int32_t k = trit_token_to_piece(m, t, piece, sizeof piece);
 *       fwrite(piece, 1, k, stdout);                           // see trit_detok for UTF-8 safety
 *       trit_ctx_decode(c, &t, 1, logits, TRIT_LOGITS_LAST);  // next position
 *   }
 *   trit_sampler_free(s); trit_ctx_free(c); trit_model_free(m); // then free buf
 *
 * Conventions. Every call that can fail returns a trit_status (0 = TRIT_OK, negative = error) or a
 * count that is negative on error; the message of the last error on this thread is trit_last_error().
 * Library code never prints or exits. Matrices are row-major with ggml's dimension names: a weight
 * with ne = [n_in, n_out] is n_out rows of n_in values, and y = W x has n_out entries.
 * Nothing allocates during trit_ctx_decode(): the context allocates its KV cache and scratch at init.
 */
#ifndef TRIT_H
#define TRIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    TRIT_OK = 0,
    TRIT_ERR_ARG = -1,          /* invalid argument (NULL, out of range); no state changed */
    TRIT_ERR_NOMEM = -2,        /* allocation failed; no state changed */
    TRIT_ERR_FORMAT = -3,       /* malformed or truncated file: the message names key/tensor and problem */
    TRIT_ERR_UNSUPPORTED = -4,  /* well-formed but not supported (arch, tensor type, hparam combination) */
    TRIT_ERR_CTX_FULL = -5,     /* decode would pass n_ctx; the context is unchanged */
    TRIT_ERR_IO = -6,           /* file could not be read (CLI helpers only) */
    TRIT_ERR_MISMATCH = -7,     /* data made for another model/vocabulary (saved logits); nothing changed */
} trit_status;

/* Message for the last error on the calling thread ("" if none). Valid until the next failing call. */
const char *trit_last_error(void);

/* ---- model -------------------------------------------------------------------------------------- */

typedef struct trit_model trit_model;

typedef enum { TRIT_ARCH_BITNET = 0, TRIT_ARCH_BITNET_B158 = 1, TRIT_ARCH_LLAMA = 2 } trit_arch;

/* Parses a GGUF file held in buf[size] and binds the weights as views into it: the caller keeps buf
 * alive and unchanged until trit_model_free(). Checks every header field and that all tensors the
 * architecture needs exist with the right shapes and supported types.
 * Errors: TRIT_ERR_FORMAT (malformed), TRIT_ERR_UNSUPPORTED (unknown arch/type), TRIT_ERR_NOMEM.
 * On error *out is NULL. */
trit_status trit_model_load(const uint8_t *buf, uint64_t size, trit_model **out);
void trit_model_free(trit_model *m);

typedef struct {
    trit_arch arch;
    const char *arch_name;      /* general.architecture as stored ("bitnet", "bitnet-b1.58", ...) */
    int32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, head_dim, n_ff, n_rot;
    float rms_eps, rope_base;
    int32_t ffn_act;            /* 0 = SiLU-gated, 1 = ReLU^2-gated */
    int32_t rope_neox;          /* 1 = NEOX pairs (i, i+d/2), 0 = NORM pairs (2i, 2i+1) */
    int32_t tied_output;        /* 1 = LM head is token_embd */
    int32_t bos, eos, eot;      /* -1 if none */
    int32_t add_bos;
    uint64_t n_params;          /* weights counted from tensor shapes */
    uint64_t weight_bytes;      /* bytes of all tensor data */
} trit_model_info;

void trit_model_get_info(const trit_model *m, trit_model_info *out);
int32_t trit_model_n_vocab(const trit_model *m);
/* Iterate tensors for `trit info`: returns 0 and fills name/type/ne for i < n, else -1. */
int32_t trit_model_n_tensors(const trit_model *m);
int32_t trit_model_tensor(const trit_model *m, int32_t i, const char **name, const char **type_name,
                          int64_t ne[4], uint64_t *nbytes);
/* A GGUF metadata value rendered as text (strings as is, numbers in decimal, arrays as "[N items]").
 * Returns the full length (writes at most len-1 bytes plus NUL), or -1 if the key is absent. */
int32_t trit_model_meta(const trit_model *m, const char *key, char *buf, int32_t len);

/* ---- tokenizer (from the GGUF's tokenizer.ggml.* keys) ------------------------------------------ */

enum {
    TRIT_TOK_ADD_SPECIAL = 1,   /* add BOS (and EOS) as the model's add_bos/add_eos keys say */
    TRIT_TOK_PARSE_SPECIAL = 2, /* recognise special/control token texts like "<|eot_id|>" in text */
};

/* Tokenizes text[len] (len < 0: NUL-terminated). Writes at most max ids to out and returns the total
 * number of tokens (call again with a larger buffer if it exceeds max); negative on error. */
int32_t trit_tokenize(const trit_model *m, const char *text, int32_t len, int32_t *out, int32_t max,
                      int32_t flags);
/* The bytes of one token as it would appear in the text (SPM: '▁' -> ' ', byte tokens -> the byte;
 * BPE: byte-level decoding). Control tokens give "" unless TRIT_TOK_PARSE_SPECIAL is passed in flags.
 * Returns the full length; writes at most len bytes (no NUL). Negative if the id is out of range. */
int32_t trit_token_to_piece(const trit_model *m, int32_t token, char *buf, int32_t len, int32_t flags);
int32_t trit_token_is_eog(const trit_model *m, int32_t token);   /* EOS, EOT or other end-of-generation */
int32_t trit_token_id(const trit_model *m, const char *text);      /* exact vocab lookup, -1 if none */

/* Streaming detokenizer that never splits a UTF-8 sequence: trit_detok_push appends the token's bytes
 * to an internal buffer and returns how many complete bytes are ready in *out (valid until next call).
 * Incomplete trailing sequences are held back until completed (or flushed as U+FFFD by _flush). */
typedef struct { uint8_t pending[8]; int32_t n_pending; char out[256]; } trit_detok;
void trit_detok_init(trit_detok *d);
int32_t trit_detok_push(trit_detok *d, const trit_model *m, int32_t token, const char **out);
int32_t trit_detok_flush(trit_detok *d, const char **out);

/* ---- context: KV cache + scratch for one sequence ---------------------------------------------- */

typedef struct trit_ctx trit_ctx;

typedef enum { TRIT_KV_F16 = 0, TRIT_KV_F32 = 1 } trit_kv_type;
typedef enum { TRIT_LOGITS_NONE = 0, TRIT_LOGITS_LAST = 1, TRIT_LOGITS_ALL = 2 } trit_logits_mode;

typedef struct {
    int32_t n_ctx;              /* KV positions; 0 = the model's context_length */
    int32_t n_batch;            /* tokens per internal forward chunk (scratch size); 0 = 64 */
    trit_kv_type kv_type;       /* F16 is llama.cpp's default */
    int32_t n_threads;          /* reserved for the threaded build; 0 = 1 */
} trit_ctx_params;

trit_ctx_params trit_ctx_default_params(void);
/* Allocates the KV cache (2 * n_layer * n_ctx * n_head_kv * head_dim values) and all scratch. */
trit_status trit_ctx_init(const trit_model *m, const trit_ctx_params *p, trit_ctx **out);
void trit_ctx_free(trit_ctx *c);

/* Runs tokens[0..n) at positions pos..pos+n-1 where pos = trit_ctx_pos(c), appending them to the KV
 * cache. Prefill and speculative verification are the same call. logits (may be NULL with
 * TRIT_LOGITS_NONE) receives n_vocab floats (LAST) or n * n_vocab floats (ALL, row i = token i).
 * Errors: TRIT_ERR_CTX_FULL if pos + n > n_ctx, TRIT_ERR_ARG for a token id out of range; in both cases
 * the context is unchanged. */
trit_status trit_ctx_decode(trit_ctx *c, const int32_t *tokens, int32_t n, float *logits,
                            trit_logits_mode mode);
int32_t trit_ctx_pos(const trit_ctx *c);                  /* tokens in the cache */
int32_t trit_ctx_n_ctx(const trit_ctx *c);
/* Forgets positions >= pos (speculative decoding's rollback). TRIT_ERR_ARG if pos > trit_ctx_pos. */
trit_status trit_ctx_truncate(trit_ctx *c, int32_t pos);

/* ---- sampling ----------------------------------------------------------------------------------- */

typedef struct {
    float temperature;          /* <= 0: greedy (argmax, lowest id on ties) */
    int32_t top_k;              /* <= 0: off */
    float top_p;                /* >= 1: off */
    float min_p;                /* <= 0: off */
    float repeat_penalty;       /* 1: off; llama.cpp's rule: logit>0 ? /pen : *pen over the last repeat_last_n */
    int32_t repeat_last_n;
    uint64_t seed;
} trit_sampler_params;

typedef struct trit_sampler trit_sampler;

trit_sampler_params trit_sampler_default_params(void);
trit_sampler *trit_sampler_init(const trit_sampler_params *p);     /* NULL on allocation failure */
void trit_sampler_free(trit_sampler *s);
/* Writes the sampling distribution after penalties, temperature, top-k, top-p and min-p into
 * probs[n_vocab] (zeros for removed tokens; one-hot for greedy). Uses the history of accepted tokens. */
trit_status trit_sampler_probs(trit_sampler *s, const float *logits, int32_t n_vocab, float *probs);
/* Samples one token from logits and records it in the history (for the repetition penalty). */
int32_t trit_sampler_sample(trit_sampler *s, const float *logits, int32_t n_vocab);
/* Draws one index from a probability vector with the sampler's RNG (speculative decoding uses it). */
int32_t trit_sampler_draw(trit_sampler *s, const float *probs, int32_t n);
double trit_sampler_uniform(trit_sampler *s);            /* uniform in [0, 1) from the seeded RNG */
void trit_sampler_accept(trit_sampler *s, int32_t token); /* add a token to the history */
void trit_sampler_reset(trit_sampler *s);                  /* clear history, reseed */

/* ---- evaluation: perplexity, saved logits, KL divergence, multiple choice (src/eval.c) ---------- */
/* docs/eval.md defines the saved-logits file, the statistics and the task layouts. Each evaluator owns
 * a context built from the model and *cp (NULL = trit_ctx_default_params(); its n_ctx is replaced as
 * each init says) and keeps a pointer to the model, which must outlive it. None of them prints or
 * touches files: the caller reads and writes the bytes (the CLIs and js/eval.mjs do).
 *
 *   trit_ppl *p;   trit_ppl_init(m, NULL, toks, n, 512, 0, 1, &p);      // 1 = also make saved-logits rows
 *   fwrite(header) ... while (trit_ppl_next(p) == TRIT_OK) { rows = trit_ppl_rows(p, &k); fwrite(rows) }
 *   trit_kld *k;   trit_kld_init(m2, NULL, header, header_size, &k);    // tokens and n_ctx come from it
 *   for each chunk: trit_kld_next(k, rows, chunk_bytes);  trit_kld_get(k, &result);
 *   trit_mc *mc;   trit_mc_init(m, NULL, &mc);  for each line: trit_mc_add(mc, line, len);  trit_mc_get(...)
 */

/* Perplexity exactly as llama-perplexity computes it: tokens[0..n_tokens) is the whole text as
 * trit_tokenize(..., TRIT_TOK_ADD_SPECIAL) gives it; chunk k is tokens[k*n_ctx .. (k+1)*n_ctx) with its
 * first token replaced by BOS when the model adds BOS; positions n_ctx/2 .. n_ctx-2 of each chunk predict
 * the next token. PPL = exp(mean NLL). The tokens are copied. */
typedef struct trit_ppl trit_ppl;

typedef struct {
    int32_t n_chunk;            /* chunks that will be scored: min(n_tokens / n_ctx, max_chunks) */
    int32_t n_done;             /* chunks scored so far */
    int64_t n_scored;           /* positions scored so far */
    double nll_sum, nll2_sum;   /* sums of -log p(next token) and of its square */
    double ppl, ppl_err;        /* exp(mean NLL) and llama-perplexity's uncertainty (ppl * stderr) */
} trit_ppl_result;

/* n_ctx >= 4; max_chunks <= 0: all. save_logits = 1 makes trit_ppl_header/trit_ppl_rows available.
 * Errors: TRIT_ERR_ARG (bad n_ctx, fewer tokens than one chunk, a token id out of range), TRIT_ERR_NOMEM,
 * and trit_ctx_init's. On error *out is NULL. */
trit_status trit_ppl_init(const trit_model *m, const trit_ctx_params *cp, const int32_t *tokens, int32_t n_tokens,
                          int32_t n_ctx, int32_t max_chunks, int32_t save_logits, trit_ppl **out);
/* Scores the next chunk. TRIT_ERR_ARG once all chunks are done (message "all N chunks are done"). */
trit_status trit_ppl_next(trit_ppl *p);
void trit_ppl_get(const trit_ppl *p, trit_ppl_result *out);
/* Saved-logits file (save_logits = 1; else NULL): the header (whole, tokens included; valid from init on),
 * and the rows of the chunk trit_ppl_next last scored (valid until the next call). A file is the header
 * followed by the rows of every chunk in order. */
const uint8_t *trit_ppl_header(const trit_ppl *p, size_t *size);
const uint8_t *trit_ppl_rows(const trit_ppl *p, size_t *size);
void trit_ppl_free(trit_ppl *p);

/* The fixed part of a saved-logits header (its first TRIT_LOGITS_FIXED_BYTES bytes), checked. */
#define TRIT_LOGITS_FIXED_BYTES 64
typedef struct {
    uint32_t version, n_vocab, n_ctx, n_chunk, first;   /* scored positions: first .. n_ctx-2 of each chunk */
    uint64_t vocab_hash;        /* FNV-1a 64 of every token's bytes (trit_model_vocab_hash) */
    float range;                /* log-prob range the 16-bit codes cover below the top token */
    uint64_t header_bytes;      /* fixed part + n_chunk * n_ctx int32 tokens */
    uint64_t row_bytes, chunk_bytes, file_bytes;         /* chunk_bytes = (n_ctx - 1 - first) * row_bytes */
} trit_logits_info;

/* TRIT_ERR_FORMAT if buf is not a trit saved-logits header (magic, version, sizes that disagree). */
trit_status trit_logits_info_parse(const uint8_t *buf, size_t size, trit_logits_info *out);
/* Fingerprint of the vocabulary (token id -> bytes, trit_token_to_piece with TRIT_TOK_PARSE_SPECIAL). */
uint64_t trit_model_vocab_hash(const trit_model *m);

/* KL divergence of this model against saved base logits, as llama-perplexity --kl-divergence reports
 * it. header[size] is the whole header (trit_logits_info.header_bytes). Errors: TRIT_ERR_FORMAT (bad
 * header, token ids out of range), TRIT_ERR_MISMATCH (the file was made with another vocabulary: the
 * message gives both sizes and fingerprints), TRIT_ERR_NOMEM, trit_ctx_init's. */
typedef struct trit_kld trit_kld;
trit_status trit_kld_init(const trit_model *m, const trit_ctx_params *cp, const uint8_t *header, size_t size,
                          trit_kld **out);
/* Runs the next chunk and compares it with rows[size] (size = chunk_bytes) of the file. TRIT_ERR_ARG
 * after the last chunk or for a wrong size, TRIT_ERR_FORMAT for a corrupt row (statistics unchanged). */
trit_status trit_kld_next(trit_kld *k, const uint8_t *rows, size_t size);

typedef struct {
    int32_t n_chunk, n_done;
    int64_t n;                                  /* positions compared */
    /* perplexity: Q = this model, base = the saved one (its exact NLL is stored, not re-quantized) */
    double ppl, ppl_err, ppl_base, ppl_base_err, ppl_cor;
    double ln_ppl_ratio, ln_ppl_ratio_err, ppl_ratio, ppl_ratio_err, ppl_diff, ppl_diff_err;
    /* KL(base || Q) per position, nats */
    double kld_mean, kld_err, kld_max, kld_p999, kld_p99, kld_median, kld_p10, kld_p5, kld_p1, kld_min;
    /* dp = p_Q(next token) - p_base(next token) */
    double dp_mean, dp_err, dp_max, dp_p999, dp_p99, dp_p95, dp_p90, dp_p75, dp_median, dp_p25, dp_p10,
           dp_p5, dp_p1, dp_p001, dp_min, dp_rms, dp_rms_err;
    double same_top, same_top_err;              /* fraction of positions with the same most likely token */
} trit_kld_result;

/* Statistics over the chunks done so far (percentiles need n >= 1; zeros before). */
trit_status trit_kld_get(trit_kld *k, trit_kld_result *out);
void trit_kld_free(trit_kld *k);

/* Multiple choice by log-likelihood, as lm-evaluation-harness scores multiple_choice tasks. For each
 * question the context is decoded once; each choice's continuation is decoded after it and the cache is
 * truncated back (trit_ctx_truncate) before the next choice. acc: argmax of the summed log-likelihood;
 * acc_norm: argmax of log-likelihood / length of the choice in Unicode code points (ties: lowest index).
 * The context gets BOS when the model adds BOS. The context holds cp->n_ctx positions (0 = the model's). */
typedef struct trit_mc trit_mc;
trit_status trit_mc_init(const trit_model *m, const trit_ctx_params *cp, trit_mc **out);
/* Parses one line of a task file (one JSON object, any layout of docs/eval.md), scores it and adds it to
 * the totals. Errors (totals unchanged): TRIT_ERR_FORMAT (malformed JSON or layout: the message gives the
 * column or the key), TRIT_ERR_CTX_FULL (the question does not fit n_ctx), decode errors. */
trit_status trit_mc_add(trit_mc *mc, const char *line, int32_t len);
/* Low level: log-likelihoods of n_choices continuations (tokens cont[off[i] .. off[i+1])) after the
 * context tokens ctx[0..n_ctx_tokens) (BOS not added here; n_ctx_tokens >= 1). greedy may be NULL; else
 * greedy[i] = 1 when every continuation token is the argmax. */
trit_status trit_mc_loglik(trit_mc *mc, const int32_t *ctx, int32_t n_ctx_tokens, const int32_t *cont,
                           const int32_t *off, int32_t n_choices, double *loglik, int32_t *greedy);

typedef struct {
    int32_t n, n_acc, n_acc_norm;               /* questions, correct by acc, correct by acc_norm */
    double acc, acc_stderr, acc_norm, acc_norm_stderr;   /* stderr = sqrt(p(1-p)/(n-1)) as the harness */
    double chance;                              /* mean of 1/n_choices */
} trit_mc_result;
void trit_mc_get(const trit_mc *mc, trit_mc_result *out);
/* The question trit_mc_add last scored: returns n_choices and fills label, pred, pred_norm and up to max
 * log-likelihoods; -1 if none. */
int32_t trit_mc_last(const trit_mc *mc, int32_t *label, int32_t *pred, int32_t *pred_norm, double *loglik,
                     int32_t max);
/* One task line in trit's own layout (what the HellaSwag/ARC/MMLU converters produce), no scoring.
 * Returns the full length (writes at most cap-1 bytes plus NUL) or a negative status (as trit_mc_add). */
int32_t trit_mc_convert(const char *line, int32_t len, char *out, int32_t cap);
void trit_mc_free(trit_mc *mc);

#ifdef __cplusplus
}
#endif
#endif
