/* vocab.c: the tokenizer, built from a GGUF's tokenizer.ggml.* keys, giving the token ids llama.cpp
 * (c392e50, src/llama-vocab.cpp) gives. Two models:
 *   SPM ("llama"): the text (with a leading space if add_space_prefix) has ' ' replaced by U+2581, is
 *     cut into UTF-8 characters, and adjacent symbols whose concatenation is a token are merged, highest
 *     token score first (ties: leftmost first); symbols that are not tokens become <0xXX> byte tokens.
 *   BPE ("gpt2"): the pre-tokenizer (unicode.c) splits the text into words; each word is mapped through
 *     GPT-2's byte-to-unicode table and merged by merge rank, lowest first (ties: leftmost first).
 * Before either, special tokens are split out of the text (llama.cpp's tokenizer_st_partition): always
 * the USER_DEFINED ones, and the CONTROL/UNKNOWN ones too with TRIT_TOK_PARSE_SPECIAL.
 * Token texts are views into the GGUF buffer. Lookups are hash tables built at load. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"
#include "unicode.h"
#include "vocab.h"

enum { VOCAB_SPM = 1, VOCAB_BPE = 2 };

enum {                                  /* llama_token_attr bits */
    ATTR_UNKNOWN = 1 << 0, ATTR_UNUSED = 1 << 1, ATTR_NORMAL = 1 << 2, ATTR_CONTROL = 1 << 3,
    ATTR_USER_DEFINED = 1 << 4, ATTR_BYTE = 1 << 5, ATTR_LSTRIP = 1 << 7, ATTR_RSTRIP = 1 << 8,
};
#define ATTR_SPECIAL (ATTR_UNKNOWN | ATTR_CONTROL)

#define MAX_TOKEN_BYTES 65536u          /* longest token text accepted at load */
#define MAX_TEXT_BYTES (1u << 28)       /* longest text vocab_tokenize accepts (keeps counts in int32) */

typedef struct { const char *p; uint32_t n; } tok_text;

/* the special token ids llama.cpp reads from tokenizer.ggml.<name>_token_id (and detects by text) */
enum { SP_BOS, SP_EOS, SP_EOT, SP_EOM, SP_UNK, SP_SEP, SP_PAD, SP_MASK, SP_FIM_PRE, SP_FIM_SUF, SP_FIM_MID,
       SP_FIM_PAD, SP_FIM_REP, SP_FIM_SEP, SP_COUNT };

struct trit_vocab {
    int type;                   /* VOCAB_SPM / VOCAB_BPE */
    unicode_pre pre;
    int32_t n;                  /* tokens */
    tok_text *text;             /* [n] */
    float *score;               /* [n] */
    uint16_t *attr;             /* [n] ATTR_* */
    char *names;                /* storage for "[EMPTY_i]" names of empty tokens */
    int32_t *tok_slot;          /* [tok_mask + 1] token text hash table: id or -1 */
    uint32_t *tok_hash;         /* [tok_mask + 1] */
    uint32_t tok_mask;
    uint64_t *mg_key;           /* [mg_mask + 1] (left id << 32 | right id) + 1, 0 = empty */
    int32_t *mg_rank;
    uint32_t mg_mask;
    int32_t sp[SP_COUNT];       /* -1 = none */
    int add_bos, add_eos, add_space_prefix, ignore_merges;
    int32_t *special;           /* ids with CONTROL/USER_DEFINED/UNKNOWN attr, longest text first */
    int32_t n_special;
    int32_t *eog;               /* sorted end-of-generation ids */
    int32_t n_eog;
    uint8_t byte_enc[256][3];   /* GPT-2 byte -> UTF-8 of its code point: [0] = length, then bytes */
    int16_t cp_byte[324];       /* the inverse: code point -> byte, -1 if not in the table */
};

/* ---- hashing ------------------------------------------------------------------------------------- */

static uint32_t hash_str(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ull;                 /* FNV-1a */
    for (size_t i = 0; i < n; i++) { h ^= (uint8_t)s[i]; h *= 1099511628211ull; }
    return (uint32_t)(h ^ (h >> 32));
}

static uint32_t hash_u64(uint64_t x) {
    x ^= x >> 33; x *= 0xff51afd7ed558ccdull; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53ull; x ^= x >> 33;
    return (uint32_t)x;
}

static uint32_t table_size(uint64_t n) {                /* power of two >= 2n, >= 16 */
    uint32_t s = 16;
    while (s < 2 * n) s <<= 1;
    return s;
}

int32_t vocab_find(const trit_vocab *v, const char *text, size_t len) {
    if (!v || (!text && len)) return -1;
    uint32_t h = hash_str(text, len), i = h & v->tok_mask;
    int32_t id;
    while ((id = v->tok_slot[i]) >= 0) {
        if (v->tok_hash[i] == h && v->text[id].n == len && memcmp(v->text[id].p, text, len) == 0) return id;
        i = (i + 1) & v->tok_mask;
    }
    return -1;
}

static int32_t merge_rank(const trit_vocab *v, int32_t l, int32_t r) {
    if (!v->mg_key) return -1;
    uint64_t key = (((uint64_t)(uint32_t)l << 32) | (uint32_t)r) + 1;
    uint32_t i = hash_u64(key) & v->mg_mask;
    while (v->mg_key[i]) {
        if (v->mg_key[i] == key) return v->mg_rank[i];
        i = (i + 1) & v->mg_mask;
    }
    return -1;
}

/* ---- growable buffers ------------------------------------------------------------------------------ */

typedef struct { int32_t *a; size_t n, cap; int oom; } idbuf;

static void ids_push(idbuf *b, int32_t id) {
    if (b->oom) return;
    if (b->n == b->cap) {
        size_t cap = b->cap ? 2 * b->cap : 64;
        int32_t *a = realloc(b->a, cap * sizeof *a);
        if (!a) { b->oom = 1; return; }
        b->a = a; b->cap = cap;
    }
    b->a[b->n++] = id;
}

/* writes what fits of a piece into buf[cap], counting the full length */
typedef struct { char *buf; size_t cap, n; } piece_out;

static void piece_put(piece_out *o, const void *s, size_t n) {
    if (o->n < o->cap) {
        size_t k = o->cap - o->n < n ? o->cap - o->n : n;
        memcpy(o->buf + o->n, s, k);
    }
    o->n += n;
}

/* ---- load ------------------------------------------------------------------------------------------ */

void vocab_free(trit_vocab *v) {
    if (!v) return;
    free(v->text); free(v->score); free(v->attr); free(v->names);
    free(v->tok_slot); free(v->tok_hash); free(v->mg_key); free(v->mg_rank);
    free(v->special); free(v->eog);
    free(v);
}

static int str_is(gguf_str s, const char *c) { return gguf_str_eq(s, c); }

static void build_byte_maps(trit_vocab *v) {
    int extra = 0;
    for (int i = 0; i < 324; i++) v->cp_byte[i] = -1;
    for (int b = 0; b < 256; b++) {
        int printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
        uint32_t cp = printable ? (uint32_t)b : 256u + (uint32_t)extra++;
        v->byte_enc[b][0] = (uint8_t)unicode_encode(cp, &v->byte_enc[b][1]);
        v->cp_byte[cp] = (int16_t)b;
    }
}

/* tokens, scores, token types and the text -> id table */
static int load_tokens(trit_vocab *v, const gguf_ctx *g) {
    const gguf_kv *kv = gguf_find(g, "tokenizer.ggml.tokens");
    if (!kv) return trit_err(TRIT_ERR_FORMAT, "tokenizer: missing tokenizer.ggml.tokens");
    if (kv->type != GGUF_TYPE_ARRAY || kv->arr_type != GGUF_TYPE_STRING)
        return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.tokens is not a string array");
    if (kv->arr_n < 1 || kv->arr_n > (1u << 24))
        return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.tokens has %llu entries",
                        (unsigned long long)kv->arr_n);
    const int32_t n = (int32_t)kv->arr_n;
    v->n = n;

    const gguf_kv *ks = gguf_find(g, "tokenizer.ggml.scores");
    if (ks && (ks->type != GGUF_TYPE_ARRAY || ks->arr_type == GGUF_TYPE_STRING || ks->arr_type == GGUF_TYPE_BOOL))
        return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.scores is not a numeric array");
    if (ks && ks->arr_n != (uint64_t)n)
        return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.scores has %llu entries for %d tokens",
                        (unsigned long long)ks->arr_n, n);
    const gguf_kv *kt = gguf_find(g, "tokenizer.ggml.token_type");
    if (kt && (kt->type != GGUF_TYPE_ARRAY || kt->arr_type == GGUF_TYPE_STRING || kt->arr_type == GGUF_TYPE_BOOL ||
               kt->arr_type == GGUF_TYPE_FLOAT32 || kt->arr_type == GGUF_TYPE_FLOAT64))
        return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.token_type is not an integer array");
    if (kt && kt->arr_n != (uint64_t)n)
        return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.token_type has %llu entries for %d tokens",
                        (unsigned long long)kt->arr_n, n);

    gguf_str *strs = malloc((size_t)n * sizeof *strs);
    v->text = malloc((size_t)n * sizeof *v->text);
    v->score = malloc((size_t)n * sizeof *v->score);
    v->attr = malloc((size_t)n * sizeof *v->attr);
    if (!strs || !v->text || !v->score || !v->attr) { free(strs); return trit_err(TRIT_ERR_NOMEM, "tokenizer: out of memory"); }
    gguf_arr_strings(kv, strs);

    size_t n_empty = 0;
    for (int32_t i = 0; i < n; i++) {
        if (strs[i].len > MAX_TOKEN_BYTES) {
            unsigned long long l = (unsigned long long)strs[i].len;
            free(strs);
            return trit_err(TRIT_ERR_FORMAT, "tokenizer: token %d is %llu bytes long (at most %u accepted)", i, l,
                            MAX_TOKEN_BYTES);
        }
        n_empty += strs[i].len == 0;
    }
    if (n_empty) {                          /* llama.cpp names an empty token "[EMPTY_<id>]" */
        v->names = malloc(n_empty * 20);
        if (!v->names) { free(strs); return trit_err(TRIT_ERR_NOMEM, "tokenizer: out of memory"); }
    }
    char *nm = v->names;
    for (int32_t i = 0; i < n; i++) {
        if (strs[i].len == 0) {
            int k = snprintf(nm, 20, "[EMPTY_%d]", (int)i);
            v->text[i].p = nm; v->text[i].n = (uint32_t)k;
            nm += k;
        } else {
            v->text[i].p = strs[i].ptr; v->text[i].n = (uint32_t)strs[i].len;
        }
        v->score[i] = ks ? (float)gguf_arr_f64(ks, (uint64_t)i) : 0.0f;
        uint16_t a = ATTR_NORMAL;
        if (kt) {
            switch (gguf_arr_i64(kt, (uint64_t)i)) {   /* llama_token_type */
                case 1: a = ATTR_NORMAL; break;
                case 2: a = ATTR_UNKNOWN; break;
                case 3: a = ATTR_CONTROL; break;
                case 4: a = ATTR_USER_DEFINED; break;
                case 5: a = ATTR_UNUSED; break;
                case 6: a = ATTR_BYTE; break;
                default: a = 0; break;                 /* UNDEFINED */
            }
        }
        v->attr[i] = a;
    }
    free(strs);

    uint32_t size = table_size((uint64_t)n);
    v->tok_mask = size - 1;
    v->tok_slot = malloc(size * sizeof *v->tok_slot);
    v->tok_hash = malloc(size * sizeof *v->tok_hash);
    if (!v->tok_slot || !v->tok_hash) return trit_err(TRIT_ERR_NOMEM, "tokenizer: out of memory");
    memset(v->tok_slot, 0xff, size * sizeof *v->tok_slot);
    for (int32_t id = 0; id < n; id++) {
        uint32_t h = hash_str(v->text[id].p, v->text[id].n), i = h & v->tok_mask;
        int32_t o;
        while ((o = v->tok_slot[i]) >= 0) {
            if (v->tok_hash[i] == h && v->text[o].n == v->text[id].n &&
                memcmp(v->text[o].p, v->text[id].p, v->text[id].n) == 0)   /* llama.cpp asserts on this */
                return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokens %d and %d have the same text", o, id);
            i = (i + 1) & v->tok_mask;
        }
        v->tok_slot[i] = id;
        v->tok_hash[i] = h;
    }
    return TRIT_OK;
}

/* merges "left right": rank = index; both sides must be tokens; a repeated pair keeps its first rank */
static int load_merges(trit_vocab *v, const gguf_ctx *g) {
    const gguf_kv *kv = gguf_find(g, "tokenizer.ggml.merges");
    if (!kv) return trit_err(TRIT_ERR_FORMAT, "tokenizer: gpt2 tokenizer without tokenizer.ggml.merges");
    if (kv->type != GGUF_TYPE_ARRAY || kv->arr_type != GGUF_TYPE_STRING)
        return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.merges is not a string array");
    if (kv->arr_n > (1u << 26))
        return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.merges has %llu entries",
                        (unsigned long long)kv->arr_n);
    const size_t nm = (size_t)kv->arr_n;
    uint32_t size = table_size(nm);
    v->mg_mask = size - 1;
    v->mg_key = calloc(size, sizeof *v->mg_key);
    v->mg_rank = malloc(size * sizeof *v->mg_rank);
    if (!v->mg_key || !v->mg_rank) return trit_err(TRIT_ERR_NOMEM, "tokenizer: out of memory");

    const uint8_t *p = kv->arr_data;      /* string array layout checked by gguf_parse: u64 len, bytes */
    for (size_t r = 0; r < nm; r++) {
        uint64_t len;
        memcpy(&len, p, 8);
        const char *s = (const char *)p + 8;
        p += 8 + len;
        const char *sp = len > 1 ? memchr(s + 1, ' ', (size_t)len - 1) : NULL;   /* word.find(' ', 1) */
        if (!sp)
            return trit_err(TRIT_ERR_FORMAT, "tokenizer: merge %zu ('%.*s') has no space", r,
                            (int)(len < 64 ? len : 64), s);
        int32_t l = vocab_find(v, s, (size_t)(sp - s));
        int32_t rt = vocab_find(v, sp + 1, (size_t)(s + len - sp - 1));
        if (l < 0 || rt < 0)
            return trit_err(TRIT_ERR_FORMAT, "tokenizer: merge %zu ('%.*s') uses a text that is not a token", r,
                            (int)(len < 64 ? len : 64), s);
        uint64_t key = (((uint64_t)(uint32_t)l << 32) | (uint32_t)rt) + 1;
        uint32_t i = hash_u64(key) & v->mg_mask;
        while (v->mg_key[i] && v->mg_key[i] != key) i = (i + 1) & v->mg_mask;
        if (!v->mg_key[i]) { v->mg_key[i] = key; v->mg_rank[i] = (int32_t)r; }
    }
    return TRIT_OK;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

typedef struct { uint32_t len; int32_t id; } len_id;

static int cmp_special(const void *a, const void *b) {   /* longer text first, then lower id */
    const len_id *x = a, *y = b;
    if (x->len != y->len) return x->len > y->len ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);
}

/* 1 if the ASCII-lower-cased s contains sub (lower case) */
static int contains_lower(gguf_str s, const char *sub) {
    const size_t m = strlen(sub);
    for (uint64_t i = 0; i + m <= s.len; i++) {
        size_t j = 0;
        while (j < m) {
            char c = s.ptr[i + j];
            if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
            if (c != sub[j]) break;
            j++;
        }
        if (j == m) return 1;
    }
    return 0;
}

static int32_t find_cstr(const trit_vocab *v, const char *s) { return vocab_find(v, s, strlen(s)); }

/* the first of texts[] (in list order) that is a token, or -1 */
static int32_t find_any(const trit_vocab *v, const char *const *texts) {
    for (; *texts; texts++) {
        int32_t id = find_cstr(v, *texts);
        if (id >= 0) return id;
    }
    return -1;
}

static int load_specials(trit_vocab *v, const gguf_ctx *g, gguf_str pre) {
    static const char *const keys[SP_COUNT] = {
        "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
        "tokenizer.ggml.eom_token_id", "tokenizer.ggml.unknown_token_id", "tokenizer.ggml.seperator_token_id",
        "tokenizer.ggml.padding_token_id", "tokenizer.ggml.mask_token_id", "tokenizer.ggml.fim_pre_token_id",
        "tokenizer.ggml.fim_suf_token_id", "tokenizer.ggml.fim_mid_token_id", "tokenizer.ggml.fim_pad_token_id",
        "tokenizer.ggml.fim_rep_token_id", "tokenizer.ggml.fim_sep_token_id",
    };
    static const struct { const char *key; int sp; } deprecated[] = {
        {"tokenizer.ggml.prefix_token_id", SP_FIM_PRE}, {"tokenizer.ggml.suffix_token_id", SP_FIM_SUF},
        {"tokenizer.ggml.middle_token_id", SP_FIM_MID},
    };
    for (int k = 0; k < SP_COUNT + 3; k++) {
        const char *key = k < SP_COUNT ? keys[k] : deprecated[k - SP_COUNT].key;
        int sp = k < SP_COUNT ? k : deprecated[k - SP_COUNT].sp;
        /* llama.cpp fails on a key of the wrong type and keeps the default id for one out of range; we
         * fail for both on the ids tokenization and generation use, and ignore the others if bad */
        int strict = sp == SP_BOS || sp == SP_EOS || sp == SP_EOT || sp == SP_EOM || sp == SP_UNK;
        uint32_t id;
        int r = gguf_get_u32(g, key, &id);
        if (r == -1) continue;
        if (r == -2 || id >= (uint32_t)v->n) {
            if (!strict) continue;
            if (r == -2) return trit_err(TRIT_ERR_FORMAT, "tokenizer: %s is not a non-negative integer", key);
            return trit_err(TRIT_ERR_FORMAT, "tokenizer: %s = %u is not a token id (%d tokens)", key, id, v->n);
        }
        v->sp[sp] = (int32_t)id;
    }
    for (int k = 0; k < SP_COUNT; k++)     /* a default id (e.g. BPE's 11) that the vocab lacks */
        if (v->sp[k] >= v->n) v->sp[k] = -1;

    int b, rb = gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b);
    if (rb == 0) v->add_bos = b;
    else if (rb == -2) return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.add_bos_token is not a bool");
    rb = gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b);
    if (rb == 0) v->add_eos = b;
    else if (rb == -2) return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.add_eos_token is not a bool");

    /* special tokens detected by text when no key gave them; they become CONTROL */
    static const char *const t_eot[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                        "<EOT>", "<\xef\xbd\x9c" "end\xe2\x96\x81of\xe2\x96\x81sentence\xef\xbd\x9c>",
                                        NULL};
    static const char *const t_eom[] = {"<|eom_id|>", NULL};
    static const char *const t_pre[] = {"<|fim_prefix|>", "<fim-prefix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "begin\xef\xbd\x9c>",
                                        "<PRE>", NULL};
    static const char *const t_suf[] = {"<|fim_suffix|>", "<fim-suffix>", "<\xef\xbd\x9c" "fim\xe2\x96\x81hole\xef\xbd\x9c>",
                                        "<SUF>", NULL};
    static const char *const t_mid[] = {"<|fim_middle|>", "<fim-middle>", "<\xef\xbd\x9c" "fim\xe2\x96\x81" "end\xef\xbd\x9c>",
                                        "<MID>", NULL};
    static const char *const t_pad[] = {"<|fim_pad|>", "<fim-pad>", "<PAD>", NULL};
    static const char *const t_rep[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", NULL};
    static const char *const t_sep[] = {"<|file_sep|>", NULL};
    static const struct { int sp; const char *const *texts; } detect[] = {
        {SP_EOT, t_eot}, {SP_EOM, t_eom}, {SP_FIM_PRE, t_pre}, {SP_FIM_SUF, t_suf}, {SP_FIM_MID, t_mid},
        {SP_FIM_PAD, t_pad}, {SP_FIM_REP, t_rep}, {SP_FIM_SEP, t_sep},
    };
    for (size_t k = 0; k < sizeof detect / sizeof detect[0]; k++) {
        if (v->sp[detect[k].sp] >= 0) continue;
        int32_t id = find_any(v, detect[k].texts);
        if (id >= 0) { v->sp[detect[k].sp] = id; v->attr[id] |= ATTR_CONTROL; }
    }

    /* end-of-generation: FIM pad/repo/sep, the EOG-looking texts, EOS, EOT, EOM */
    static const char *const t_eog[] = {"<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                                        "<|eom_id|>", "<EOT>"};
    int32_t eog[SP_COUNT + 8];
    int32_t ne = 0;
    const int from_sp[] = {SP_FIM_PAD, SP_FIM_REP, SP_FIM_SEP, SP_EOS, SP_EOT, SP_EOM};
    for (size_t k = 0; k < sizeof from_sp / sizeof from_sp[0]; k++)
        if (v->sp[from_sp[k]] >= 0) eog[ne++] = v->sp[from_sp[k]];
    for (size_t k = 0; k < sizeof t_eog / sizeof t_eog[0]; k++) {
        int32_t id = find_cstr(v, t_eog[k]);
        if (id >= 0) { eog[ne++] = id; v->attr[id] |= ATTR_CONTROL; }
    }
    qsort(eog, (size_t)ne, sizeof eog[0], cmp_i32);
    v->eog = malloc(((size_t)ne + 1) * sizeof *v->eog);
    if (!v->eog) return trit_err(TRIT_ERR_NOMEM, "tokenizer: out of memory");
    for (int32_t i = 0; i < ne; i++)
        if (v->n_eog == 0 || v->eog[v->n_eog - 1] != eog[i]) v->eog[v->n_eog++] = eog[i];

    /* special token cache for the partition, longest first (llama.cpp's std::sort leaves the order of
     * equal lengths unspecified; we take lower id first) */
    int32_t ns = 0;
    for (int32_t i = 0; i < v->n; i++) ns += (v->attr[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) != 0;
    len_id *tmp = malloc(((size_t)ns + 1) * sizeof *tmp);
    v->special = malloc(((size_t)ns + 1) * sizeof *v->special);
    if (!tmp || !v->special) { free(tmp); return trit_err(TRIT_ERR_NOMEM, "tokenizer: out of memory"); }
    ns = 0;
    for (int32_t i = 0; i < v->n; i++)
        if (v->attr[i] & (ATTR_CONTROL | ATTR_USER_DEFINED | ATTR_UNKNOWN)) { tmp[ns].len = v->text[i].n; tmp[ns].id = i; ns++; }
    qsort(tmp, (size_t)ns, sizeof *tmp, cmp_special);
    for (int32_t i = 0; i < ns; i++) v->special[i] = tmp[i].id;
    v->n_special = ns;
    free(tmp);

    /* per-model strip attributes, as llama.cpp sets them by pre-tokenizer / model name */
    gguf_str name = {0};
    gguf_get_str(g, "general.name", &name);
    const int phi3 = contains_lower(name, "phi-3") || contains_lower(name, "phi3");
    if (pre.len && (str_is(pre, "jina-v2-de") || str_is(pre, "jina-v2-es") || str_is(pre, "jina-v2-code"))) {
        int32_t id = find_cstr(v, "<mask>");
        if (id >= 0) v->attr[id] |= ATTR_LSTRIP;
    } else if (phi3) {
        for (int32_t i = 0; i < v->n_special; i++) v->attr[v->special[i]] |= ATTR_RSTRIP;
        int32_t id = find_cstr(v, "</s>");
        if (id >= 0) v->attr[id] |= ATTR_RSTRIP;
        static const char *const no_rstrip[] = {"<unk>", "<s>", "<|endoftext|>"};
        for (int k = 0; k < 3; k++)
            if ((id = find_cstr(v, no_rstrip[k])) >= 0) v->attr[id] &= (uint16_t)~ATTR_RSTRIP;
    }
    return TRIT_OK;
}

int vocab_load(const gguf_ctx *g, trit_vocab **out) {
    if (!out) return trit_err(TRIT_ERR_ARG, "vocab_load: out is NULL");
    *out = NULL;
    if (!g) return trit_err(TRIT_ERR_ARG, "vocab_load: gguf is NULL");
    gguf_str model, pre = {0};
    int r = gguf_get_str(g, "tokenizer.ggml.model", &model);
    if (r == -1) return trit_err(TRIT_ERR_FORMAT, "tokenizer: missing tokenizer.ggml.model");
    if (r != 0) return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.model is not a string");
    r = gguf_get_str(g, "tokenizer.ggml.pre", &pre);
    if (r == -2) return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.pre is not a string");

    trit_vocab *v = calloc(1, sizeof *v);
    if (!v) return trit_err(TRIT_ERR_NOMEM, "tokenizer: out of memory");
    for (int k = 0; k < SP_COUNT; k++) v->sp[k] = -1;
    build_byte_maps(v);

    if (str_is(model, "llama")) {
        v->type = VOCAB_SPM;
        v->sp[SP_BOS] = 1; v->sp[SP_EOS] = 2; v->sp[SP_UNK] = 0;
        v->add_space_prefix = 1; v->add_bos = 1; v->add_eos = 0;
        v->pre = UNICODE_PRE_DEFAULT;
    } else if (str_is(model, "gpt2")) {
        v->type = VOCAB_BPE;
        v->sp[SP_BOS] = 11; v->sp[SP_EOS] = 11;
        v->add_space_prefix = 0; v->add_bos = 0; v->add_eos = 0;
        if (pre.len == 0 || str_is(pre, "default")) {
            v->pre = UNICODE_PRE_DEFAULT;
        } else if (str_is(pre, "llama3") || str_is(pre, "llama-v3") || str_is(pre, "llama-bpe") ||
                   str_is(pre, "falcon3")) {
            v->pre = UNICODE_PRE_LLAMA3; v->ignore_merges = 1; v->add_bos = 1;
        } else if (str_is(pre, "dbrx") || str_is(pre, "smaug-bpe")) {
            v->pre = UNICODE_PRE_LLAMA3;
        } else if (str_is(pre, "gpt-2") || str_is(pre, "gpt2") || str_is(pre, "phi-2") || str_is(pre, "jina-es") ||
                   str_is(pre, "jina-de") || str_is(pre, "gigachat") || str_is(pre, "jina-v1-en") ||
                   str_is(pre, "jina-v2-es") || str_is(pre, "jina-v2-de") || str_is(pre, "jina-v2-code") ||
                   str_is(pre, "roberta-bpe") || str_is(pre, "mpt") || str_is(pre, "olmo") || str_is(pre, "jais")) {
            v->pre = UNICODE_PRE_GPT2;                 /* "gpt2" is our alias: llama.cpp knows "gpt-2" */
        } else {
            trit_err(TRIT_ERR_UNSUPPORTED, "tokenizer: pre-tokenizer '%.*s' is not supported",
                     (int)(pre.len < 64 ? pre.len : 64), pre.ptr);
            vocab_free(v);
            return TRIT_ERR_UNSUPPORTED;
        }
    } else {
        trit_err(TRIT_ERR_UNSUPPORTED, "tokenizer: tokenizer.ggml.model '%.*s' is not supported (llama, gpt2)",
                 (int)(model.len < 64 ? model.len : 64), model.ptr);
        vocab_free(v);
        return TRIT_ERR_UNSUPPORTED;
    }
    int b;
    r = gguf_get_bool(g, "tokenizer.ggml.add_space_prefix", &b);
    if (r == 0) v->add_space_prefix = b;
    if (r == -2) {
        vocab_free(v);
        return trit_err(TRIT_ERR_FORMAT, "tokenizer: tokenizer.ggml.add_space_prefix is not a bool");
    }

    if ((r = load_tokens(v, g)) != TRIT_OK ||
        (v->type == VOCAB_BPE && (r = load_merges(v, g)) != TRIT_OK) ||
        (r = load_specials(v, g, pre)) != TRIT_OK) {
        vocab_free(v);
        return r;
    }
    *out = v;
    return TRIT_OK;
}

/* ---- accessors ------------------------------------------------------------------------------------- */

int32_t vocab_n_tokens(const trit_vocab *v) { return v ? v->n : 0; }
int32_t vocab_bos(const trit_vocab *v) { return v ? v->sp[SP_BOS] : -1; }
int32_t vocab_eos(const trit_vocab *v) { return v ? v->sp[SP_EOS] : -1; }
int32_t vocab_eot(const trit_vocab *v) { return v ? v->sp[SP_EOT] : -1; }
int32_t vocab_add_bos(const trit_vocab *v) { return v ? v->add_bos : 0; }

int32_t vocab_is_eog(const trit_vocab *v, int32_t tok) {
    if (!v || tok < 0) return 0;
    int32_t lo = 0, hi = v->n_eog;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (v->eog[mid] == tok) return 1;
        if (v->eog[mid] < tok) lo = mid + 1;
        else hi = mid;
    }
    return 0;
}

/* ---- special-token partition ------------------------------------------------------------------------ */

typedef struct { int32_t tok; size_t off, len; } frag;      /* tok >= 0: a special token, else text */
typedef struct { frag *a; size_t n, cap; } frags;

static int frags_push(frags *f, int32_t tok, size_t off, size_t len) {
    if (f->n == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 16;
        frag *a = realloc(f->a, cap * sizeof *a);
        if (!a) return -1;
        f->a = a; f->cap = cap;
    }
    f->a[f->n++] = (frag){tok, off, len};
    return 0;
}

static const char *find_bytes(const char *hay, size_t n, const char *needle, size_t m) {
    if (m == 0 || m > n) return NULL;
    const char *end = hay + (n - m) + 1;
    for (const char *p = hay; p < end; p++) {
        p = memchr(p, needle[0], (size_t)(end - p));
        if (!p) return NULL;
        if (memcmp(p, needle, m) == 0) return p;
    }
    return NULL;
}

static int is_cspace(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* Splits every text fragment at each occurrence of each special token (longest tokens first). */
static int partition(const trit_vocab *v, const char *text, size_t len, int parse_special, frags *out) {
    frags cur = {0}, nxt = {0};
    if (len > 0 && frags_push(&cur, -1, 0, len)) return -1;
    for (int32_t s = 0; s < v->n_special && cur.n; s++) {
        const int32_t id = v->special[s];
        const uint16_t attr = v->attr[id];
        if (!parse_special && (attr & ATTR_SPECIAL)) continue;
        const char *t = v->text[id].p;
        const size_t tn = v->text[id].n;
        nxt.n = 0;
        for (size_t i = 0; i < cur.n; i++) {
            frag f = cur.a[i];
            if (f.tok >= 0) { if (frags_push(&nxt, f.tok, 0, 0)) goto oom; continue; }
            size_t base = f.off, blen = f.len;
            for (;;) {
                const char *m = find_bytes(text + base, blen, t, tn);
                if (!m) {
                    if (blen > 0 && frags_push(&nxt, -1, base, blen)) goto oom;
                    break;
                }
                size_t mo = (size_t)(m - text), left = mo - base;
                if (attr & ATTR_LSTRIP)
                    while (left > 0 && is_cspace(text[base + left - 1])) left--;
                if (left > 0 && frags_push(&nxt, -1, base, left)) goto oom;
                if (frags_push(&nxt, id, 0, 0)) goto oom;
                size_t roff = mo + tn, rlen = base + blen - roff;
                if (attr & ATTR_RSTRIP)
                    while (rlen > 0 && is_cspace(text[roff])) { roff++; rlen--; }
                base = roff; blen = rlen;
                if (blen == 0) break;
            }
        }
        frags t2 = cur; cur = nxt; nxt = t2;
    }
    free(nxt.a);
    *out = cur;
    return 0;
oom:
    free(cur.a); free(nxt.a);
    return -1;
}

/* ---- SPM ------------------------------------------------------------------------------------------- */

typedef struct { int32_t prev, next; uint32_t off, n; int32_t id; } sym;

typedef struct { float score; int32_t rank; int32_t left, right; uint32_t size; } bigram;

/* binary heap; spm: highest score first, bpe: lowest rank first; ties: lowest left first */
typedef struct { bigram *a; size_t n, cap; int bpe; } heap;

static int bg_before(const heap *h, const bigram *x, const bigram *y) {
    if (h->bpe) return x->rank < y->rank || (x->rank == y->rank && x->left < y->left);
    return x->score > y->score || (x->score == y->score && x->left < y->left);
}

static int heap_push(heap *h, bigram b) {
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 64;
        bigram *a = realloc(h->a, cap * sizeof *a);
        if (!a) return -1;
        h->a = a; h->cap = cap;
    }
    size_t i = h->n++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!bg_before(h, &b, &h->a[p])) break;
        h->a[i] = h->a[p];
        i = p;
    }
    h->a[i] = b;
    return 0;
}

static bigram heap_pop(heap *h) {
    bigram top = h->a[0], last = h->a[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && bg_before(h, &h->a[c + 1], &h->a[c])) c++;
        if (!bg_before(h, &h->a[c], &last)) break;
        h->a[i] = h->a[c];
        i = c;
    }
    if (h->n) h->a[i] = last;
    return top;
}

typedef struct {                 /* scratch shared by the fragments of one vocab_tokenize call */
    char *buf; size_t buf_cap;
    sym *syms; size_t syms_cap;
    heap heap;
    uint32_t *cps; size_t cps_cap;
    size_t *lens; size_t lens_cap;
} scratch;

static int grow(void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 0;
    size_t cap2 = *cap ? *cap : 64;
    while (cap2 < need) cap2 *= 2;
    void *q = realloc(*p, cap2 * elem);
    if (!q) return -1;
    *p = q; *cap = cap2;
    return 0;
}

/* the token for byte c: <0xXX>, else the 1-byte text, else (llama.cpp would throw) the unknown token */
static int32_t spm_byte_token(const trit_vocab *v, uint8_t c) {
    static const char hex[] = "0123456789ABCDEF";
    char b[6] = {'<', '0', 'x', hex[c >> 4], hex[c & 15], '>'};
    int32_t id = vocab_find(v, b, 6);
    if (id < 0) id = vocab_find(v, (const char *)&c, 1);
    if (id < 0) id = v->sp[SP_UNK];
    return id;
}

static int spm_add_bigram(const trit_vocab *v, scratch *s, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return 0;
    const sym *a = &s->syms[l], *b = &s->syms[r];
    int32_t id = vocab_find(v, s->buf + a->off, (size_t)a->n + b->n);
    if (id < 0) return 0;
    bigram bg = {v->score[id], 0, l, r, a->n + b->n};
    return heap_push(&s->heap, bg);
}

static int spm_fragment(const trit_vocab *v, scratch *s, const char *text, size_t len, int prefix, idbuf *out) {
    /* escape: optional leading space, ' ' -> U+2581 */
    if (grow((void **)&s->buf, &s->buf_cap, 3 * (len + 1), 1)) return -1;
    size_t n = 0;
    if (prefix) { memcpy(s->buf, "\xe2\x96\x81", 3); n = 3; }
    for (size_t i = 0; i < len; i++) {
        if (text[i] == ' ') { memcpy(s->buf + n, "\xe2\x96\x81", 3); n += 3; }
        else s->buf[n++] = text[i];
    }
    if (n == 0) return 0;
    if (grow((void **)&s->syms, &s->syms_cap, n, sizeof *s->syms)) return -1;
    int32_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t cl = unicode_len_utf8((uint8_t)s->buf[off]);
        if (cl > n - off) cl = n - off;
        s->syms[ns] = (sym){ns - 1, off + cl == n ? -1 : ns + 1, (uint32_t)off, (uint32_t)cl, -1};
        ns++;
        off += cl;
    }
    s->heap.n = 0;
    s->heap.bpe = 0;
    for (int32_t i = 1; i < ns; i++)
        if (spm_add_bigram(v, s, i - 1, i)) return -1;
    while (s->heap.n) {
        bigram bg = heap_pop(&s->heap);
        sym *l = &s->syms[bg.left], *r = &s->syms[bg.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) continue;   /* stale */
        l->n += r->n;
        r->n = 0;
        l->next = r->next;
        if (r->next >= 0) s->syms[r->next].prev = bg.left;
        if (spm_add_bigram(v, s, l->prev, bg.left) || spm_add_bigram(v, s, bg.left, l->next)) return -1;
    }
    for (int32_t i = 0; i != -1; i = s->syms[i].next) {
        const sym *y = &s->syms[i];
        int32_t id = vocab_find(v, s->buf + y->off, y->n);
        if (id >= 0) { ids_push(out, id); continue; }
        for (uint32_t j = 0; j < y->n; j++) {                 /* byte fallback */
            int32_t bt = spm_byte_token(v, (uint8_t)s->buf[y->off + j]);
            if (bt >= 0) ids_push(out, bt);
        }
    }
    return 0;
}

/* ---- BPE ------------------------------------------------------------------------------------------- */

static int bpe_add_bigram(const trit_vocab *v, scratch *s, int32_t l, int32_t r) {
    if (l < 0 || r < 0) return 0;
    const sym *a = &s->syms[l], *b = &s->syms[r];
    if (a->id < 0 || b->id < 0) return 0;
    int32_t rank = merge_rank(v, a->id, b->id);
    if (rank < 0) return 0;
    bigram bg = {0.0f, rank, l, r, a->n + b->n};
    return heap_push(&s->heap, bg);
}

/* one pre-tokenized word, already byte-encoded, at s->buf[0..n) */
static int bpe_word(const trit_vocab *v, scratch *s, size_t n, idbuf *out) {
    const char *w = s->buf;
    if (v->ignore_merges) {
        int32_t id = vocab_find(v, w, n);
        if (id >= 0) { ids_push(out, id); return 0; }
    }
    if (grow((void **)&s->syms, &s->syms_cap, n, sizeof *s->syms)) return -1;
    int32_t ns = 0;
    for (size_t off = 0; off < n;) {
        size_t cl = unicode_len_utf8((uint8_t)w[off]);
        if (cl > n - off) cl = n - off;
        s->syms[ns] = (sym){ns - 1, off + cl == n ? -1 : ns + 1, (uint32_t)off, (uint32_t)cl,
                            vocab_find(v, w + off, cl)};
        ns++;
        off += cl;
    }
    s->heap.n = 0;
    s->heap.bpe = 1;
    for (int32_t i = 1; i < ns; i++)
        if (bpe_add_bigram(v, s, i - 1, i)) return -1;
    while (s->heap.n) {
        bigram bg = heap_pop(&s->heap);
        sym *l = &s->syms[bg.left], *r = &s->syms[bg.right];
        if (l->n == 0 || r->n == 0 || l->n + r->n != bg.size) continue;   /* outdated */
        l->n += r->n;
        r->n = 0;
        l->id = vocab_find(v, w + l->off, l->n);
        l->next = r->next;
        if (r->next >= 0) s->syms[r->next].prev = bg.left;
        if (bpe_add_bigram(v, s, l->prev, bg.left) || bpe_add_bigram(v, s, bg.left, l->next)) return -1;
    }
    for (int32_t i = 0; i < ns; i++) {
        const sym *y = &s->syms[i];
        if (y->n == 0) continue;
        if (y->id >= 0) { ids_push(out, y->id); continue; }
        for (uint32_t j = 0; j < y->n; j++) {      /* llama.cpp: each raw byte, if it is a token */
            int32_t id = vocab_find(v, w + y->off + j, 1);
            if (id >= 0) ids_push(out, id);
        }
    }
    return 0;
}

static int bpe_fragment(const trit_vocab *v, scratch *s, const char *text, size_t len, idbuf *out) {
    if (grow((void **)&s->cps, &s->cps_cap, len, sizeof *s->cps) ||
        grow((void **)&s->lens, &s->lens_cap, len, sizeof *s->lens)) return -1;
    size_t ncp = 0;
    for (size_t off = 0; off < len;) {
        size_t adv;
        s->cps[ncp++] = unicode_decode((const uint8_t *)text + off, len - off, &adv);
        off += adv;
    }
    ptrdiff_t nw = unicode_pretokenize(v->pre, s->cps, ncp, s->lens);
    if (nw < 0) return -1;
    size_t c0 = 0;
    for (ptrdiff_t k = 0; k < nw; k++) {
        const size_t wl = s->lens[k];
        if (grow((void **)&s->buf, &s->buf_cap, 8 * wl, 1)) return -1;
        size_t n = 0;
        for (size_t i = c0; i < c0 + wl; i++) {     /* UTF-8 of each code point, each byte GPT-2 mapped */
            uint8_t u[4];
            size_t ul = unicode_encode(s->cps[i], u);
            for (size_t j = 0; j < ul; j++) {
                const uint8_t *e = v->byte_enc[u[j]];
                memcpy(s->buf + n, e + 1, e[0]);
                n += e[0];
            }
        }
        c0 += wl;
        if (bpe_word(v, s, n, out)) return -1;
    }
    return 0;
}

/* ---- tokenize ----------------------------------------------------------------------------------------- */

int32_t vocab_tokenize(const trit_vocab *v, const char *text, size_t len, int32_t flags, int32_t *out,
                       int32_t max) {
    if (!v) return trit_err(TRIT_ERR_ARG, "tokenize: vocab is NULL");
    if (!text && len) return trit_err(TRIT_ERR_ARG, "tokenize: text is NULL");
    if (max < 0 || (max > 0 && !out)) return trit_err(TRIT_ERR_ARG, "tokenize: bad output buffer");
    if (len > MAX_TEXT_BYTES) return trit_err(TRIT_ERR_ARG, "tokenize: text of %zu bytes is too long", len);
    const int add_special = (flags & TRIT_TOK_ADD_SPECIAL) != 0;
    const int parse_special = (flags & TRIT_TOK_PARSE_SPECIAL) != 0;

    frags fr = {0};
    if (partition(v, text, len, parse_special, &fr)) return trit_err(TRIT_ERR_NOMEM, "tokenize: out of memory");
    idbuf ids = {0};
    scratch s = {0};
    int err = 0;
    if (add_special && v->add_bos && v->sp[SP_BOS] >= 0) ids_push(&ids, v->sp[SP_BOS]);
    int prev_special = 1;                         /* SPM: a space prefix at the start and after specials */
    for (size_t i = 0; i < fr.n && !err; i++) {
        const frag *f = &fr.a[i];
        if (f->tok >= 0) { ids_push(&ids, f->tok); prev_special = 1; continue; }
        if (v->type == VOCAB_SPM) {
            err = spm_fragment(v, &s, text + f->off, f->len, v->add_space_prefix && prev_special, &ids);
            prev_special = 0;
        } else {
            err = bpe_fragment(v, &s, text + f->off, f->len, &ids);
        }
    }
    if (add_special && v->add_eos && v->sp[SP_EOS] >= 0) ids_push(&ids, v->sp[SP_EOS]);
    free(fr.a); free(s.buf); free(s.syms); free(s.heap.a); free(s.cps); free(s.lens);
    if (err || ids.oom) { free(ids.a); return trit_err(TRIT_ERR_NOMEM, "tokenize: out of memory"); }
    size_t k = ids.n < (size_t)max ? ids.n : (size_t)max;
    if (k) memcpy(out, ids.a, k * sizeof *out);
    free(ids.a);
    return (int32_t)ids.n;
}

/* ---- pieces ----------------------------------------------------------------------------------------- */

int32_t vocab_piece(const trit_vocab *v, int32_t tok, char *buf, int32_t len, int32_t flags) {
    if (!v || tok < 0 || tok >= v->n) return trit_err(TRIT_ERR_ARG, "token_to_piece: token %d out of range", (int)tok);
    if (len < 0 || (len > 0 && !buf)) return trit_err(TRIT_ERR_ARG, "token_to_piece: bad buffer");
    const uint16_t attr = v->attr[tok];
    const tok_text t = v->text[tok];
    piece_out o = {buf, (size_t)len, 0};
    if (!(flags & TRIT_TOK_PARSE_SPECIAL) && (attr & ATTR_SPECIAL)) return 0;
    if (attr & (ATTR_SPECIAL | ATTR_USER_DEFINED)) {
        piece_put(&o, t.p, t.n);
    } else if (v->type == VOCAB_SPM) {
        if (attr & ATTR_NORMAL) {                       /* U+2581 -> ' ' */
            uint32_t i = 0, run = 0;
            while (i < t.n) {
                if (i + 3 <= t.n && memcmp(t.p + i, "\xe2\x96\x81", 3) == 0) {
                    piece_put(&o, t.p + run, i - run);
                    piece_put(&o, " ", 1);
                    i += 3; run = i;
                } else {
                    i++;
                }
            }
            piece_put(&o, t.p + run, t.n - run);
        } else if (attr & ATTR_BYTE) {                  /* "<0xXX>": strtol of the 2 chars after "<0x" */
            unsigned val = 0;
            for (uint32_t i = 3; i < 5 && i < t.n; i++) {
                char c = t.p[i];
                int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
                        c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
                if (d < 0) break;
                val = val * 16 + (unsigned)d;
            }
            uint8_t byte = (uint8_t)val;
            piece_put(&o, &byte, 1);
        }
    } else if (attr & ATTR_NORMAL) {                    /* BPE: undo the byte-to-unicode mapping */
        for (uint32_t i = 0; i < t.n;) {
            size_t adv;
            uint32_t cp = unicode_decode((const uint8_t *)t.p + i, t.n - i, &adv);
            if (cp < 324 && v->cp_byte[cp] >= 0) {
                uint8_t byte = (uint8_t)v->cp_byte[cp];
                piece_put(&o, &byte, 1);
            } else {                                    /* llama.cpp's llama_decode_text fallback */
                uint8_t u[4];
                size_t ul = unicode_encode(cp, u);
                char hx[12];
                piece_put(&o, "[UNK_BYTE_0x", 12);
                for (size_t j = 0; j < ul; j++) {
                    snprintf(hx, sizeof hx, "%02x", u[j]);
                    piece_put(&o, hx, 2);
                }
                piece_put(&o, t.p, t.n);
                piece_put(&o, "]", 1);
            }
            i += (uint32_t)adv;
        }
    }
    if (o.n > INT32_MAX) return trit_err(TRIT_ERR_FORMAT, "token_to_piece: piece of token %d too long", (int)tok);
    return (int32_t)o.n;
}
