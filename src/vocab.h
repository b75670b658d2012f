/* vocab.h: internal tokenizer built from a GGUF's tokenizer.ggml.* metadata.
 * Supports tokenizer.ggml.model "llama" (SentencePiece-style: scores, byte fallback <0xXX>,
 * add_space_prefix) and "gpt2" (byte-level BPE with merges; tokenizer.ggml.pre "llama-bpe" (llama-3),
 * "default"/"gpt2" and a missing pre key = "default"), the way llama.cpp (c392e50) tokenizes.
 * Token strings are views into the GGUF buffer (no copies of the vocabulary text). */
#ifndef TRIT_VOCAB_H
#define TRIT_VOCAB_H

#include <stddef.h>
#include <stdint.h>
#include "gguf.h"

typedef struct trit_vocab trit_vocab;

/* On failure returns a negative trit_status and sets trit_last_error() (via trit_err). */
int vocab_load(const gguf_ctx *g, trit_vocab **out);
void vocab_free(trit_vocab *v);

int32_t vocab_n_tokens(const trit_vocab *v);
int32_t vocab_bos(const trit_vocab *v);     /* -1 if none */
int32_t vocab_eos(const trit_vocab *v);
int32_t vocab_eot(const trit_vocab *v);
int32_t vocab_add_bos(const trit_vocab *v);
int32_t vocab_is_eog(const trit_vocab *v, int32_t tok);

/* Same contracts as trit_tokenize / trit_token_to_piece / trit_token_id in trit.h (flags are
 * TRIT_TOK_ADD_SPECIAL / TRIT_TOK_PARSE_SPECIAL). */
int32_t vocab_tokenize(const trit_vocab *v, const char *text, size_t len, int32_t flags,
                       int32_t *out, int32_t max);
int32_t vocab_piece(const trit_vocab *v, int32_t tok, char *buf, int32_t len, int32_t flags);
int32_t vocab_find(const trit_vocab *v, const char *text, size_t len);

#endif
