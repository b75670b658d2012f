/* fuzz_gguf.c: libFuzzer entry point for the GGUF reader and, when a file parses, the whole model
 * loader (hyperparameters, tensor binding, tokenizer) plus a tokenize and one decode step.
 *
 *   make fuzz   (or: clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/*.c minus cli.c \
 *         tests/fuzz_gguf.c -lm -o build/fuzz_gguf
 *   mkdir -p build/fuzz_corpus && build/fuzz_gguf build/fuzz_corpus \
 *         ../shared/oracle/models/bitnet-tiny-spm.tq2_0.gguf -max_len=65536 -max_total_time=30
 *
 * (The seed file is larger than max_len; libFuzzer uses its first max_len bytes, i.e. the header.)
 * On success every view must lie inside the input; we touch each one so ASan checks it. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gguf.h"
#include "trit.h"

static volatile uint8_t sink;

static void touch(const void *p, uint64_t n) {
    const uint8_t *b = (const uint8_t *)p;
    if (n) sink ^= b[0] ^ b[n - 1];
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    gguf_ctx g;
    char err[256];
    if (gguf_parse(data, size, &g, err, sizeof err) == 0) {
        for (uint64_t i = 0; i < g.n_kv; i++) {
            const gguf_kv *kv = &g.kv[i];
            touch(kv->key.ptr, kv->key.len);
            if (kv->type == GGUF_TYPE_STRING) touch(kv->str.ptr, kv->str.len);
            if (kv->type == GGUF_TYPE_ARRAY && kv->arr_type != GGUF_TYPE_STRING && kv->arr_n) {
                (void)gguf_arr_f64(kv, kv->arr_n - 1);
                (void)gguf_arr_i64(kv, 0);   /* saturates on NaN/huge floats */
            }
            if (kv->type == GGUF_TYPE_ARRAY && kv->arr_type == GGUF_TYPE_STRING && kv->arr_n <= size / 8) {
                static gguf_str s[8192];
                if (kv->arr_n <= 8192 && gguf_arr_strings(kv, s) == 0)
                    for (uint64_t j = 0; j < kv->arr_n; j++) touch(s[j].ptr, s[j].len);
            }
        }
        for (uint64_t i = 0; i < g.n_tensors; i++) {
            touch(g.tensors[i].name.ptr, g.tensors[i].name.len);
            touch(g.tensors[i].data, g.tensors[i].nbytes);
        }
        uint32_t u;
        gguf_str s;
        (void)gguf_get_u32(&g, "general.alignment", &u);
        (void)gguf_get_str(&g, "general.architecture", &s);
        (void)gguf_find_tensor(&g, "token_embd.weight");
    }
    gguf_free(&g);
    trit_model *m = NULL;
    if (trit_model_load(data, size, &m) == TRIT_OK) {
        int32_t toks[64];
        int32_t n = trit_tokenize(m, "Hello world 123 \xe2\x96\x81<s> caf\xc3\xa9\xff", -1, toks, 64, TRIT_TOK_ADD_SPECIAL);
        char piece[64];
        for (int32_t i = 0; i < n && i < 64; i++) (void)trit_token_to_piece(m, toks[i], piece, sizeof piece, 0);
        trit_ctx_params cp = trit_ctx_default_params();
        cp.n_ctx = 4;
        trit_ctx *c = NULL;
        static float logits[1 << 16];
        if (trit_model_n_vocab(m) <= (1 << 16) && trit_ctx_init(m, &cp, &c) == TRIT_OK) {
            int32_t t = 0;
            (void)trit_ctx_decode(c, &t, 1, logits, TRIT_LOGITS_LAST);
            trit_ctx_free(c);
        }
        trit_model_free(m);
    }
    return 0;
}
