/* test_vocab.c: the tokenizer against llama.cpp's ids (oracle fixtures), plus round trips, special-token
 * parsing, invalid UTF-8, the pre-tokenizer splits, malformed vocabularies and load time.
 *
 * Build and run from the repository root (the oracle dir is $TRIT_ORACLE or ../shared/oracle):
 *   gcc -std=c11 -Wall -Wextra -O1 -g -fsanitize=address,undefined -Isrc -o build/test_vocab \
 *       src/gguf.c src/quant.c src/vocab.c src/unicode.c src/error.c tests/test_vocab.c -lm && build/test_vocab
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "gguf.h"
#include "internal.h"
#include "trit.h"
#include "unicode.h"
#include "vocab.h"
#include "testlib.h"

/* ---- a tiny JSON reader (enough for the fixtures) -------------------------------------------------- */

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct jv {
    int type;
    double num;
    char *str; size_t slen;              /* J_STR (NUL-terminated too) */
    struct jv *items; char **keys; size_t n;   /* J_ARR / J_OBJ */
} jv;

typedef struct { const char *p, *end; int err; } jparser;

static void jws(jparser *j) { while (j->p < j->end && (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')) j->p++; }

static void put_utf8(char **o, uint32_t cp) {
    uint8_t u[4];
    size_t n = unicode_encode(cp, u);
    memcpy(*o, u, n);
    *o += n;
}

static unsigned hex4(jparser *j) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        char c = j->p < j->end ? *j->p++ : 0;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) { j->err = 1; return 0; }
        v = v * 16 + (unsigned)d;
    }
    return v;
}

static char *jstring(jparser *j, size_t *len) {
    j->p++;                                         /* opening quote */
    char *s = malloc((size_t)(j->end - j->p) + 1), *o = s;
    while (j->p < j->end && *j->p != '"') {
        char c = *j->p++;
        if (c != '\\') { *o++ = c; continue; }
        if (j->p >= j->end) break;
        c = *j->p++;
        switch (c) {
            case 'n': *o++ = '\n'; break;
            case 't': *o++ = '\t'; break;
            case 'r': *o++ = '\r'; break;
            case 'b': *o++ = '\b'; break;
            case 'f': *o++ = '\f'; break;
            case 'u': {
                uint32_t cp = hex4(j);
                if (cp >= 0xD800 && cp < 0xDC00 && j->p + 6 <= j->end && j->p[0] == '\\' && j->p[1] == 'u') {
                    j->p += 2;
                    uint32_t lo = hex4(j);
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                put_utf8(&o, cp);
                break;
            }
            default: *o++ = c; break;
        }
    }
    if (j->p >= j->end) j->err = 1;
    j->p++;
    *o = 0;
    *len = (size_t)(o - s);
    return s;
}

static void jvalue(jparser *j, jv *v) {
    memset(v, 0, sizeof *v);
    jws(j);
    if (j->p >= j->end) { j->err = 1; return; }
    char c = *j->p;
    if (c == '"') { v->type = J_STR; v->str = jstring(j, &v->slen); return; }
    if (c == '[' || c == '{') {
        int obj = c == '{';
        v->type = obj ? J_OBJ : J_ARR;
        j->p++;
        size_t cap = 0;
        for (;;) {
            jws(j);
            if (j->p < j->end && *j->p == (obj ? '}' : ']')) { j->p++; return; }
            if (v->n == cap) {
                cap = cap ? 2 * cap : 8;
                v->items = realloc(v->items, cap * sizeof *v->items);
                if (obj) v->keys = realloc(v->keys, cap * sizeof *v->keys);
            }
            if (obj) {
                size_t kl;
                if (j->p >= j->end || *j->p != '"') { j->err = 1; return; }
                v->keys[v->n] = jstring(j, &kl);
                jws(j);
                if (j->p >= j->end || *j->p != ':') { j->err = 1; return; }
                j->p++;
            }
            jvalue(j, &v->items[v->n++]);
            if (j->err) return;
            jws(j);
            if (j->p < j->end && *j->p == ',') j->p++;
        }
    }
    if (c == 't' || c == 'f') { v->type = J_BOOL; v->num = c == 't'; j->p += c == 't' ? 4 : 5; return; }
    if (c == 'n') { v->type = J_NULL; j->p += 4; return; }
    char *e;
    v->type = J_NUM;
    v->num = strtod(j->p, &e);
    if (e == j->p) j->err = 1;
    j->p = e;
}

static void jfree(jv *v) {
    for (size_t i = 0; i < v->n; i++) { jfree(&v->items[i]); if (v->keys) free(v->keys[i]); }
    free(v->items); free(v->keys); free(v->str);
}

static const jv *jget(const jv *o, const char *key) {
    if (!o || o->type != J_OBJ) return NULL;
    for (size_t i = 0; i < o->n; i++) if (strcmp(o->keys[i], key) == 0) return &o->items[i];
    return NULL;
}

static int read_json(const char *rel, jv *out) {
    size_t n;
    unsigned char *b = read_oracle(rel, &n);
    jparser j = {(const char *)b, (const char *)b + n, 0};
    jvalue(&j, out);
    free(b);
    if (j.err) fprintf(stderr, "bad JSON in %s\n", rel);
    return j.err ? -1 : 0;
}

/* ---- models ---------------------------------------------------------------------------------------- */

typedef struct { unsigned char *buf; gguf_ctx g; trit_vocab *v; } model;

static int model_open(model *m, const char *file) {
    char rel[256], err[256];
    size_t n;
    snprintf(rel, sizeof rel, "models/%s", file);
    m->buf = read_oracle(rel, &n);
    if (gguf_parse(m->buf, n, &m->g, err, sizeof err) != 0) { fprintf(stderr, "%s: %s\n", file, err); free(m->buf); return -1; }
    if (vocab_load(&m->g, &m->v) != 0) {
        fprintf(stderr, "%s: %s\n", file, trit_last_error());
        gguf_free(&m->g); free(m->buf); return -1;
    }
    return 0;
}

static void model_close(model *m) { vocab_free(m->v); gguf_free(&m->g); free(m->buf); }

/* tokenizes into a malloc'd array (*n tokens) */
static int32_t *tok(const trit_vocab *v, const char *s, size_t len, int32_t flags, int32_t *n) {
    int32_t k = vocab_tokenize(v, s, len, flags, NULL, 0);
    *n = k;
    if (k < 0) return NULL;
    int32_t *ids = malloc(((size_t)k + 1) * sizeof *ids);
    int32_t k2 = vocab_tokenize(v, s, len, flags, ids, k);
    if (k2 != k) *n = -1;
    return ids;
}

/* concatenated pieces of ids[from..n) into a malloc'd string */
static char *detok(const trit_vocab *v, const int32_t *ids, int32_t from, int32_t n, int32_t flags, size_t *len) {
    size_t cap = 64, o = 0;
    char *s = malloc(cap);
    for (int32_t i = from; i < n; i++) {
        int32_t k = vocab_piece(v, ids[i], NULL, 0, flags);
        if (k < 0) { *len = (size_t)-1; return s; }
        while (o + (size_t)k + 1 > cap) { cap *= 2; s = realloc(s, cap); }
        int32_t k2 = vocab_piece(v, ids[i], s + o, k, flags);
        if (k2 != k) { *len = (size_t)-1; return s; }
        o += (size_t)k;
    }
    s[o] = 0;
    *len = o;
    return s;
}

static int ids_eq_json(const int32_t *ids, int32_t n, const jv *arr) {
    if (!arr || arr->type != J_ARR || (size_t)n != arr->n) return 0;
    for (int32_t i = 0; i < n; i++) if ((double)ids[i] != arr->items[i].num) return 0;
    return 1;
}

static void print_ids(const char *what, const int32_t *ids, int32_t n) {
    fprintf(stderr, "  %s:", what);
    for (int32_t i = 0; i < n && i < 64; i++) fprintf(stderr, " %d", ids[i]);
    fputc('\n', stderr);
}

static void hex_of(const char *s, size_t n, char *out) {
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", (unsigned char)s[i]);
    out[2 * n] = 0;
}

/* ---- 1. tokenizer fixtures (tokenizer/spm.json, bpe.json) ------------------------------------------------ */

static void test_fixture(const char *rel) {
    jv d;
    if (read_json(rel, &d)) { CHECK(0, "%s unreadable", rel); return; }
    const jv *mf = jget(&d, "model"), *cases = jget(&d, "cases");
    model m;
    if (!mf || !cases || model_open(&m, mf->str)) { CHECK(0, "%s: cannot load model", rel); jfree(&d); return; }
    const int spm = strstr(mf->str, "spm") != NULL;
    for (size_t c = 0; c < cases->n; c++) {
        const jv *t = jget(&cases->items[c], "text"), *want = jget(&cases->items[c], "ids");
        int32_t n;
        int32_t *ids = tok(m.v, t->str, t->slen, TRIT_TOK_ADD_SPECIAL, &n);
        int ok = ids && ids_eq_json(ids, n, want);
        CHECK(ok, "%s case %zu '%s': ids differ from llama.cpp", rel, c, t->str);
        if (!ok && ids) print_ids("got", ids, n);
        /* round trip: pieces after BOS give the text back (SPM: after the add_space_prefix space) */
        if (ids && n >= 1) {
            size_t len;
            char *back = detok(m.v, ids, 1, n, 0, &len);
            const char *exp = t->str;
            size_t elen = t->slen;
            int rt = len != (size_t)-1;
            if (rt && spm && elen > 0) rt = len == elen + 1 && back[0] == ' ' && memcmp(back + 1, exp, elen) == 0;
            else if (rt) rt = len == elen && memcmp(back, exp, elen) == 0;
            CHECK(rt, "%s case %zu: round trip gives '%s'", rel, c, back);
            free(back);
        }
        free(ids);
    }
    model_close(&m);
    jfree(&d);
}

/* ---- 2. prompt tokens + pieces of every reference run ---------------------------------------------------- */

static void test_refs(void) {
    static const char *fams[] = {"bitnet-tiny-spm", "bitnet-tiny-bpe", "llama-tiny-spm"};
    static const char *types[] = {"f32", "f16", "tq2_0", "tq1_0"};
    size_t plen;
    unsigned char *pbuf = read_oracle("prompts.txt", &plen);
    char *prompts[3] = {0};
    char *p = (char *)pbuf, *end = p + plen;
    for (int i = 0; i < 3 && p < end; i++) {     /* one prompt a line */
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = nl ? (size_t)(nl - p) : (size_t)(end - p);
        prompts[i] = malloc(l + 1);
        memcpy(prompts[i], p, l);
        prompts[i][l] = 0;
        p += l + 1;
    }
    for (int f = 0; f < 3; f++) for (int t = 0; t < 4; t++) {
        char file[128];
        snprintf(file, sizeof file, "%s.%s.gguf", fams[f], types[t]);
        model m;
        if (model_open(&m, file)) { CHECK(0, "cannot load %s", file); continue; }
        for (int i = 0; i < 3; i++) {
            char rel[256];
            snprintf(rel, sizeof rel, "ref/%s.%s/kv_f16/p%d.json", fams[f], types[t], i);
            jv d;
            if (read_json(rel, &d)) { CHECK(0, "%s unreadable", rel); continue; }
            const jv *pr = jget(&d, "prompt");
            CHECK(prompts[i] && pr && strcmp(pr->str, prompts[i]) == 0, "%s: prompt differs from prompts.txt line %d", rel, i);
            int32_t n;
            int32_t *ids = tok(m.v, prompts[i] ? prompts[i] : "", prompts[i] ? strlen(prompts[i]) : 0,
                               TRIT_TOK_ADD_SPECIAL, &n);
            int ok = ids && ids_eq_json(ids, n, jget(&d, "prompt_tokens"));
            CHECK(ok, "%s: prompt_tokens differ", rel);
            if (!ok && ids) print_ids("got", ids, n);
            /* pieces (special tokens shown) of the prompt and of the greedy tokens; EOG flags */
            static const char *pk[2][2] = {{"prompt_tokens", "prompt_pieces_hex"}, {"greedy_tokens", "greedy_pieces_hex"}};
            for (int w = 0; w < 2; w++) {
                const jv *tk = jget(&d, pk[w][0]), *ph = jget(&d, pk[w][1]);
                if (!tk || !ph || tk->n != ph->n) { CHECK(0, "%s: %s missing", rel, pk[w][1]); continue; }
                int bad = 0;
                for (size_t k = 0; k < tk->n; k++) {
                    char piece[512], hex[1100];
                    int32_t pl = vocab_piece(m.v, (int32_t)tk->items[k].num, piece, sizeof piece, TRIT_TOK_PARSE_SPECIAL);
                    if (pl < 0 || pl > (int32_t)sizeof piece) { bad++; continue; }
                    hex_of(piece, (size_t)pl, hex);
                    if (strcmp(hex, ph->items[k].str) != 0) {
                        if (!bad) fprintf(stderr, "  token %d: piece %s, want %s\n", (int)tk->items[k].num, hex, ph->items[k].str);
                        bad++;
                    }
                }
                CHECK(bad == 0, "%s: %d %s differ", rel, bad, pk[w][1]);
            }
            const jv *gt = jget(&d, "greedy_tokens"), *ge = jget(&d, "greedy_is_eog");
            if (gt && ge && ge->type == J_ARR && ge->n == gt->n) {
                int bad = 0;
                for (size_t k = 0; k < gt->n; k++)
                    bad += vocab_is_eog(m.v, (int32_t)gt->items[k].num) != (ge->items[k].num != 0);
                CHECK(bad == 0, "%s: greedy_is_eog differs for %d tokens", rel, bad);
            }
            free(ids);
            jfree(&d);
        }
        model_close(&m);
    }
    for (int i = 0; i < 3; i++) free(prompts[i]);
    free(pbuf);
}

/* ---- 3. specials, flags, invalid UTF-8, pieces ------------------------------------------------------------ */

static int has_u2581(const char *s, size_t n) {
    for (size_t i = 0; i + 3 <= n; i++) if (memcmp(s + i, "\xe2\x96\x81", 3) == 0) return 1;
    return 0;
}

static void test_behaviour(void) {
    model spm, bpe;
    if (model_open(&spm, "bitnet-tiny-spm.f32.gguf") || model_open(&bpe, "bitnet-tiny-bpe.f32.gguf")) {
        CHECK(0, "cannot load the f32 models");
        return;
    }
    const trit_vocab *sv = spm.v, *bv = bpe.v;
    CHECK(vocab_n_tokens(sv) == 1000 && vocab_n_tokens(bv) == 1000, "n_tokens");
    CHECK(vocab_bos(sv) == 1 && vocab_eos(sv) == 2 && vocab_eot(sv) == -1 && vocab_add_bos(sv) == 1, "spm specials");
    CHECK(vocab_bos(bv) == 998 && vocab_eos(bv) == 999 && vocab_eot(bv) == -1 && vocab_add_bos(bv) == 1, "bpe specials");
    CHECK(vocab_is_eog(sv, 2) && !vocab_is_eog(sv, 1) && !vocab_is_eog(sv, -1) && !vocab_is_eog(sv, 5000), "spm eog");
    CHECK(vocab_is_eog(bv, 999) && !vocab_is_eog(bv, 998), "bpe eog");
    CHECK(vocab_find(sv, "<s>", 3) == 1 && vocab_find(sv, "nope-not-a-token", 16) == -1, "vocab_find");
    CHECK(vocab_find(bv, "<|end_of_text|>", 15) == 999, "vocab_find bpe");

    /* empty input: BOS only with ADD_SPECIAL, nothing without */
    int32_t one[4];
    CHECK(vocab_tokenize(sv, "", 0, TRIT_TOK_ADD_SPECIAL, one, 4) == 1 && one[0] == 1, "spm empty");
    CHECK(vocab_tokenize(sv, NULL, 0, 0, NULL, 0) == 0, "spm empty no special");
    CHECK(vocab_tokenize(bv, "", 0, TRIT_TOK_ADD_SPECIAL, one, 4) == 1 && one[0] == 998, "bpe empty");
    CHECK(vocab_tokenize(bv, "", 0, 0, one, 4) == 0, "bpe empty no special");
    CHECK(vocab_tokenize(sv, NULL, 5, 0, NULL, 0) == TRIT_ERR_ARG, "NULL text with a length");
    CHECK(vocab_tokenize(sv, "abc", 3, 0, NULL, 4) == TRIT_ERR_ARG, "NULL out with max > 0");
    /* a short buffer gets the first max ids and the full count */
    {
        int32_t n, small[3] = {-7, -7, -7};
        int32_t *all = tok(sv, "hello world", 11, TRIT_TOK_ADD_SPECIAL, &n);
        CHECK(vocab_tokenize(sv, "hello world", 11, TRIT_TOK_ADD_SPECIAL, small, 2) == n && n > 2 &&
              small[0] == all[0] && small[1] == all[1] && small[2] == -7, "truncated output");
        free(all);
    }

    /* special tokens: split out only with PARSE_SPECIAL; SPM adds the space prefix after one */
    {
        int32_t na, nb, nc;
        int32_t *a = tok(sv, "<s>hello</s>", 12, TRIT_TOK_ADD_SPECIAL | TRIT_TOK_PARSE_SPECIAL, &na);
        int32_t *b = tok(sv, "hello", 5, 0, &nb);
        int ok = na == nb + 3 && a[0] == 1 && a[1] == 1 && a[na - 1] == 2 && memcmp(a + 2, b, (size_t)nb * sizeof *b) == 0;
        CHECK(ok, "spm parse_special");
        int32_t *c = tok(sv, "<s>hello</s>", 12, TRIT_TOK_ADD_SPECIAL, &nc);
        int has = 0;
        for (int32_t i = 1; i < nc; i++) has |= c[i] == 1 || c[i] == 2;
        CHECK(nc > 3 && !has, "spm: without PARSE_SPECIAL '<s>' is text");
        free(a); free(b); free(c);
        a = tok(sv, "a<unk>b", 7, TRIT_TOK_PARSE_SPECIAL, &na);
        has = 0;
        for (int32_t i = 0; i < na; i++) has |= a[i] == 0;
        CHECK(has, "spm: <unk> (UNKNOWN type) parsed with PARSE_SPECIAL");
        free(a);
    }
    {
        int32_t na, nb;
        const char *s = "<|begin_of_text|>hi there<|end_of_text|>";
        int32_t *a = tok(bv, s, strlen(s), TRIT_TOK_ADD_SPECIAL | TRIT_TOK_PARSE_SPECIAL, &na);
        int32_t *b = tok(bv, "hi there", 8, 0, &nb);
        CHECK(na == nb + 3 && a[0] == 998 && a[1] == 998 && a[na - 1] == 999 &&
              memcmp(a + 2, b, (size_t)nb * sizeof *b) == 0, "bpe parse_special");
        free(a); free(b);
        a = tok(bv, s, strlen(s), 0, &na);
        int has = 0;
        for (int32_t i = 0; i < na; i++) has |= a[i] == 998 || a[i] == 999;
        CHECK(na > 10 && !has, "bpe: without PARSE_SPECIAL the texts are text");
        free(a);
    }

    /* pieces: control tokens are "" unless PARSE_SPECIAL; byte tokens; out of range; short buffer */
    {
        char b[16];
        CHECK(vocab_piece(sv, 1, b, sizeof b, 0) == 0, "spm <s> piece without special");
        CHECK(vocab_piece(sv, 1, b, sizeof b, TRIT_TOK_PARSE_SPECIAL) == 3 && memcmp(b, "<s>", 3) == 0, "spm <s> piece");
        CHECK(vocab_piece(sv, 0, b, sizeof b, 0) == 0, "spm <unk> piece");
        CHECK(vocab_piece(sv, 3 + 0x41, b, sizeof b, 0) == 1 && b[0] == 'A', "spm <0x41> piece");
        CHECK(vocab_piece(sv, 3 + 0xE2, b, sizeof b, 0) == 1 && (uint8_t)b[0] == 0xE2, "spm <0xE2> piece");
        CHECK(vocab_piece(sv, 337, b, sizeof b, 0) == 1 && b[0] == ' ', "spm U+2581 piece");
        CHECK(vocab_piece(sv, 1000, b, sizeof b, 0) < 0 && vocab_piece(sv, -1, b, sizeof b, 0) < 0, "piece range");
        CHECK(vocab_piece(bv, 999, b, sizeof b, 0) == 0, "bpe control piece without special");
        CHECK(vocab_piece(bv, 999, b, 4, TRIT_TOK_PARSE_SPECIAL) == 15 && memcmp(b, "<|en", 4) == 0, "short buffer");
        int32_t ta = vocab_find(bv, "A", 1);
        CHECK(ta >= 0 && vocab_piece(bv, ta, b, sizeof b, 0) == 1 && b[0] == 'A', "bpe 'A' piece");
        int32_t sp = vocab_find(bv, "\xc4\xa0", 2);          /* U+0120 = byte 0x20 */
        CHECK(sp >= 0 && vocab_piece(bv, sp, b, sizeof b, 0) == 1 && b[0] == ' ', "bpe space piece");
        for (int32_t t = 0; t < 1000; t++) {                 /* every token, every flag, tiny buffers */
            char tiny[2];
            int32_t k1 = vocab_piece(sv, t, tiny, 0, TRIT_TOK_PARSE_SPECIAL);
            int32_t k2 = vocab_piece(bv, t, tiny, 1, 0);
            if (k1 < 0 || k2 < 0) { CHECK(0, "piece of token %d failed", t); break; }
        }
    }

    /* invalid UTF-8 and odd bytes: no crash; SPM round-trips any bytes through byte fallback */
    {
        static const struct { const char *s; size_t n; } odd[] = {
            {"\xff", 1}, {"\xe2\x80", 2}, {"\x80\x80\x80", 3}, {"a\xc3", 2}, {"\xf0\x9f\x98", 3}, {"\xc0\xaf", 2},
            {"\xed\xa0\x80", 3}, {"\xf7\xbf\xbf\xbf", 4}, {"\xf4\x90\x80\x80 x", 6}, {"\0\0a\0", 4},
            {"\xfe\xfe\xfe\xff  \xff", 7}, {"<s\xff>", 5}, {"\xe2\x96\x81\xe2\x96", 5},
            {" \t\r\n\v\f \xc2\x85\xc2\xa0\xe3\x80\x80", 13},
        };
        for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
            for (int fl = 0; fl < 4; fl++) {
                int32_t ns, nb;
                int32_t *a = tok(sv, odd[i].s, odd[i].n, fl, &ns);
                int32_t *b = tok(bv, odd[i].s, odd[i].n, fl, &nb);
                CHECK(ns >= 0 && nb >= 0, "odd input %zu flags %d", i, fl);
                if (ns > 0 && fl == 0 && !has_u2581(odd[i].s, odd[i].n)) {   /* U+2581 reads back as ' ' */
                    size_t len;
                    char *back = detok(sv, a, 0, ns, 0, &len);
                    CHECK(len == odd[i].n + 1 && back[0] == ' ' && memcmp(back + 1, odd[i].s, odd[i].n) == 0,
                          "spm round trip of odd input %zu", i);
                    free(back);
                }
                free(a); free(b);
            }
        }
        /* BPE: an invalid byte is a U+FFFD (llama.cpp >= Feb 2025), so "\xe2\x80" reads as two of them */
        int32_t n;
        int32_t *a = tok(bv, "\xe2\x80", 2, 0, &n);
        size_t len;
        char *back = detok(bv, a, 0, n, 0, &len);
        CHECK(len == 6 && memcmp(back, "\xef\xbf\xbd\xef\xbf\xbd", 6) == 0, "bpe invalid UTF-8 -> U+FFFD");
        free(back); free(a);

        /* random bytes (biased to UTF-8 lead/continuation bytes, spaces and '<'): never an error */
        uint64_t x = 88172645463325252ull;
        int bad = 0;
        for (int it = 0; it < 1500; it++) {
            char r[96];
            size_t rn = (size_t)(it % 96);
            for (size_t i = 0; i < rn; i++) {
                x ^= x << 13; x ^= x >> 7; x ^= x << 17;
                static const char pick[] = " <s>|'\n\xc3\xa9\xe2\x96\x81\xf0\x9f\x98\x80\xff";
                r[i] = (x >> 40) % 3 ? pick[(x >> 8) % (sizeof pick - 1)] : (char)(x >> 24);
            }
            for (int fl = 0; fl < 4; fl++) {
                int32_t na = vocab_tokenize(sv, r, rn, fl, NULL, 0), nb = vocab_tokenize(bv, r, rn, fl, NULL, 0);
                bad += na < 0 || nb < 0;
            }
        }
        CHECK(bad == 0, "random bytes: %d failures", bad);
    }

    /* BPE round trip of valid UTF-8 through all byte-level paths */
    {
        const char *s = "Mixed: \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 'S 'LL 're\r\n\r\n  \t x1234567 \xd9\xa3\xd9\xa4";
        int32_t n;
        int32_t *a = tok(bv, s, strlen(s), 0, &n);
        size_t len;
        char *back = detok(bv, a, 0, n, 0, &len);
        CHECK(len == strlen(s) && memcmp(back, s, len) == 0, "bpe round trip: '%s'", back);
        free(back); free(a);
    }
    model_close(&spm);
    model_close(&bpe);
}

/* ---- 4. pre-tokenizer splits (expected words from Python's `regex` with the same patterns) --------------- */

/* pairs of {text, words joined by \001}, generated with Python's `regex` module and the patterns of
 * unicode.h; "default" simulates llama.cpp's 4 passes (punctuation runs, GPT-2, \p{N}+, [0-9]{3}) */
static const char *const k_pre_llama3[] = {
    "Hello world", "Hello\001 world",
    "  two leading spaces", " \001 two\001 leading\001 spaces",
    "trailing space ", "trailing\001 space\001 ",
    "Hello\012world\012\012new  paragraph\011tab", "Hello\001\012\001world\001\012\012\001new\001 \001 paragraph\001\011tab",
    "Numbers: 3.14159, 2024, 1234567 and -42.", "Numbers\001:\001 \0013\001.\001141\00159\001,\001 \001202\0014\001,\001 \001123\001456\0017\001 and\001 -\00142\001.",
    "I'm you'RE they'll WE'VE it's 'd", "I\001'm\001 you\001'RE\001 they\001'll\001 WE\001'VE\001 it\001's\001 '\001d",
    "caf\303\251 na\303\257ve \303\274ber \303\205ngstr\303\266m", "caf\303\251\001 na\303\257ve\001 \303\274ber\001 \303\205ngstr\303\266m",
    "\346\227\245\346\234\254\350\252\236\343\201\256\343\203\206\343\202\255\343\202\271\343\203\210", "\346\227\245\346\234\254\350\252\236\343\201\256\343\203\206\343\202\255\343\202\271\343\203\210",
    "emoji \360\237\230\200 \360\237\221\215\360\237\217\275", "emoji\001 \360\237\230\200\001 \360\237\221\215\360\237\217\275",
    "a\015\012\015\012 b  \012 c\011\011 d", "a\001\015\012\015\012\001 b\001  \012\001 c\001\011\011\001 d",
    "x   ", "x\001   ",
    "$100+200=<300> ^~| `tick`", "$\001100\001+\001200\001=<\001300\001>\001 ^~|\001 `\001tick\001`",
    "\331\241\331\242\331\243\331\244 \331\245 \342\205\253 \302\275", "\331\241\331\242\331\243\001\331\244\001 \001\331\245\001 \001\342\205\253\001 \001\302\275",
    "\302\240nbsp\343\200\200ideo \342\200\250ls", "\302\240nbsp\001\343\200\200ideo\001 \001\342\200\250ls",
    "...!!!\077\077\077", "...!!!\077\077\077",
    " !", " !",
    "a ,b", "a\001 ,\001b",
    "''s", "''\001s",
    "don't", "don\001't",
    "hello\314\201 wor\314\210ld", "hello\001\314\201\001 wor\001\314\210ld",
    "tab\011x", "tab\001\011x",
    "\012", "\012",
    " \012 ", " \012\001 ",
    "12345678", "123\001456\00178",
    "a1b22c333d4444", "a\0011\001b\00122\001c\001333\001d\001444\0014",
    "--- ---\012\012", "---\001 ---\012\012",
    "\316\225\316\273\316\273\316\267\316\275\316\271\316\272\316\254 \320\232\320\270\321\200\320\270\320\273\320\273\320\270\321\206\320\260", "\316\225\316\273\316\273\316\267\316\275\316\271\316\272\316\254\001 \320\232\320\270\321\200\320\270\320\273\320\273\320\270\321\206\320\260",
    "x\342\200\213q", "x\001\342\200\213q",
    NULL};
static const char *const k_pre_gpt2[] = {
    "Hello world", "Hello\001 world",
    "  two leading spaces", " \001 two\001 leading\001 spaces",
    "trailing space ", "trailing\001 space\001 ",
    "Hello\012world\012\012new  paragraph\011tab", "Hello\001\012\001world\001\012\001\012\001new\001 \001 paragraph\001\011\001tab",
    "Numbers: 3.14159, 2024, 1234567 and -42.", "Numbers\001:\001 3\001.\00114159\001,\001 2024\001,\001 1234567\001 and\001 -\00142\001.",
    "I'm you'RE they'll WE'VE it's 'd", "I\001'm\001 you\001'\001RE\001 they\001'll\001 WE\001'\001VE\001 it\001's\001 '\001d",
    "caf\303\251 na\303\257ve \303\274ber \303\205ngstr\303\266m", "caf\303\251\001 na\303\257ve\001 \303\274ber\001 \303\205ngstr\303\266m",
    "\346\227\245\346\234\254\350\252\236\343\201\256\343\203\206\343\202\255\343\202\271\343\203\210", "\346\227\245\346\234\254\350\252\236\343\201\256\343\203\206\343\202\255\343\202\271\343\203\210",
    "emoji \360\237\230\200 \360\237\221\215\360\237\217\275", "emoji\001 \360\237\230\200\001 \360\237\221\215\360\237\217\275",
    "a\015\012\015\012 b  \012 c\011\011 d", "a\001\015\012\015\012\001 b\001  \012\001 c\001\011\011\001 d",
    "x   ", "x\001   ",
    "$100+200=<300> ^~| `tick`", "$\001100\001+\001200\001=<\001300\001>\001 ^~|\001 `\001tick\001`",
    "\331\241\331\242\331\243\331\244 \331\245 \342\205\253 \302\275", "\331\241\331\242\331\243\331\244\001 \331\245\001 \342\205\253\001 \302\275",
    "\302\240nbsp\343\200\200ideo \342\200\250ls", "\302\240\001nbsp\001\343\200\200\001ideo\001 \001\342\200\250\001ls",
    "...!!!\077\077\077", "...!!!\077\077\077",
    " !", " !",
    "a ,b", "a\001 ,\001b",
    "''s", "''\001s",
    "don't", "don\001't",
    "hello\314\201 wor\314\210ld", "hello\001\314\201\001 wor\001\314\210\001ld",
    "tab\011x", "tab\001\011\001x",
    "\012", "\012",
    " \012 ", " \012 ",
    "12345678", "12345678",
    "a1b22c333d4444", "a\0011\001b\00122\001c\001333\001d\0014444",
    "--- ---\012\012", "---\001 ---\001\012\012",
    "\316\225\316\273\316\273\316\267\316\275\316\271\316\272\316\254 \320\232\320\270\321\200\320\270\320\273\320\273\320\270\321\206\320\260", "\316\225\316\273\316\273\316\267\316\275\316\271\316\272\316\254\001 \320\232\320\270\321\200\320\270\320\273\320\273\320\270\321\206\320\260",
    "x\342\200\213q", "x\001\342\200\213\001q",
    NULL};
static const char *const k_pre_default[] = {
    "Hello world", "Hello\001 world",
    "  two leading spaces", " \001 two\001 leading\001 spaces",
    "trailing space ", "trailing\001 space\001 ",
    "Hello\012world\012\012new  paragraph\011tab", "Hello\001\012\001world\001\012\001\012\001new\001 \001 paragraph\001\011\001tab",
    "Numbers: 3.14159, 2024, 1234567 and -42.", "Numbers\001:\001 \0013\001.\001141\00159\001,\001 \001202\0014\001,\001 \001123\001456\0017\001 and\001 \001-\00142\001.",
    "I'm you'RE they'll WE'VE it's 'd", "I\001'\001m\001 you\001'\001RE\001 they\001'\001ll\001 WE\001'\001VE\001 it\001'\001s\001 \001'\001d",
    "caf\303\251 na\303\257ve \303\274ber \303\205ngstr\303\266m", "caf\303\251\001 na\303\257ve\001 \303\274ber\001 \303\205ngstr\303\266m",
    "\346\227\245\346\234\254\350\252\236\343\201\256\343\203\206\343\202\255\343\202\271\343\203\210", "\346\227\245\346\234\254\350\252\236\343\201\256\343\203\206\343\202\255\343\202\271\343\203\210",
    "emoji \360\237\230\200 \360\237\221\215\360\237\217\275", "emoji\001 \360\237\230\200\001 \360\237\221\215\360\237\217\275",
    "a\015\012\015\012 b  \012 c\011\011 d", "a\001\015\012\015\012\001 b\001  \012\001 c\001\011\011\001 d",
    "x   ", "x\001   ",
    "$100+200=<300> ^~| `tick`", "$\001100\001+\001200\001=<\001300\001>\001 \001^~|\001 `\001tick\001`",
    "\331\241\331\242\331\243\331\244 \331\245 \342\205\253 \302\275", "\331\241\331\242\331\243\331\244\001 \001\331\245\001 \001\342\205\253\001 \001\302\275",
    "\302\240nbsp\343\200\200ideo \342\200\250ls", "\302\240\001nbsp\001\343\200\200\001ideo\001 \001\342\200\250\001ls",
    "...!!!\077\077\077", "...!!!\077\077\077",
    " !", " \001!",
    "a ,b", "a\001 \001,\001b",
    "''s", "''\001s",
    "don't", "don\001'\001t",
    "hello\314\201 wor\314\210ld", "hello\001\314\201\001 wor\001\314\210\001ld",
    "tab\011x", "tab\001\011\001x",
    "\012", "\012",
    " \012 ", " \012 ",
    "12345678", "123\001456\00178",
    "a1b22c333d4444", "a\0011\001b\00122\001c\001333\001d\001444\0014",
    "--- ---\012\012", "---\001 \001---\001\012\012",
    "\316\225\316\273\316\273\316\267\316\275\316\271\316\272\316\254 \320\232\320\270\321\200\320\270\320\273\320\273\320\270\321\206\320\260", "\316\225\316\273\316\273\316\267\316\275\316\271\316\272\316\254\001 \320\232\320\270\321\200\320\270\320\273\320\273\320\270\321\206\320\260",
    "x\342\200\213q", "x\001\342\200\213\001q",
    NULL};

static int check_split(unicode_pre pre, const char *text, const char *want) {
    size_t n = strlen(text), ncp = 0;
    uint32_t *cps = malloc((n + 1) * sizeof *cps);
    size_t *lens = malloc((n + 1) * sizeof *lens);
    for (size_t off = 0; off < n;) {
        size_t adv;
        cps[ncp++] = unicode_decode((const uint8_t *)text + off, n - off, &adv);
        off += adv;
    }
    ptrdiff_t k = unicode_pretokenize(pre, cps, ncp, lens);
    char *got = malloc(2 * n + 2), *o = got;
    size_t c0 = 0;
    for (ptrdiff_t i = 0; i < k; i++) {
        if (i) *o++ = '\001';
        for (size_t j = c0; j < c0 + lens[i]; j++) {
            uint8_t u[4];
            size_t ul = unicode_encode(cps[j], u);
            memcpy(o, u, ul);
            o += ul;
        }
        c0 += lens[i];
    }
    *o = 0;
    int ok = c0 == ncp && strcmp(got, want) == 0;
    if (!ok) {
        fprintf(stderr, "  split of '%s':\n    got  ", text);
        for (char *q = got; *q; q++) fputs(*q == '\001' ? "|" : (char[2]){*q, 0}, stderr);
        fprintf(stderr, "\n    want ");
        for (const char *q = want; *q; q++) fputs(*q == '\001' ? "|" : (char[2]){*q, 0}, stderr);
        fputc('\n', stderr);
    }
    free(cps); free(lens); free(got);
    return ok;
}

static void test_pretokenizers(void) {
    static const struct { const char *name; unicode_pre pre; const char *const *cases; } sets[] = {
        {"llama3", UNICODE_PRE_LLAMA3, k_pre_llama3},
        {"gpt2", UNICODE_PRE_GPT2, k_pre_gpt2},
        {"default", UNICODE_PRE_DEFAULT, k_pre_default},
    };
    for (size_t s = 0; s < sizeof sets / sizeof sets[0]; s++)
        for (size_t i = 0; sets[s].cases[i]; i += 2)
            CHECK(check_split(sets[s].pre, sets[s].cases[i], sets[s].cases[i + 1]), "%s split of case %zu", sets[s].name, i / 2);
    CHECK(unicode_pretokenize(UNICODE_PRE_LLAMA3, NULL, 0, NULL) == 0, "empty split");
    /* the classes the splitters rely on */
    CHECK(unicode_category('a') == UNICODE_L && unicode_category(0x65E5) == UNICODE_L && unicode_category('7') == UNICODE_N &&
          unicode_category(0x2163) == UNICODE_N && unicode_category('!') == UNICODE_P && unicode_category('$') == UNICODE_S &&
          unicode_category(0x301) == UNICODE_M && unicode_category(0xA0) == UNICODE_Z && unicode_category(0xE000) == UNICODE_C &&
          unicode_category(0x10FFFF) == UNICODE_C && unicode_category(0x110000) == UNICODE_C, "categories");
    CHECK((unicode_flags(0x3000) & UNICODE_F_SPACE) && (unicode_flags(0x85) & UNICODE_F_SPACE) &&
          !(unicode_flags(0x1C) & UNICODE_F_SPACE) && !(unicode_flags(0x200B) & UNICODE_F_SPACE), "whitespace");
    size_t adv;
    CHECK(unicode_decode((const uint8_t *)"\xc0\xaf", 2, &adv) == 0x2F && adv == 2, "overlong decodes as llama.cpp");
    CHECK(unicode_decode((const uint8_t *)"\xe2\x80", 2, &adv) == 0xFFFD && adv == 1, "truncated sequence");
    CHECK(unicode_decode((const uint8_t *)"\xf4\x90\x80\x80", 4, &adv) == 0xFFFD && adv == 1, "above U+10FFFF");
}

/* ---- 5. malformed vocabularies and load time (GGUFs built in memory) ------------------------------------ */

typedef struct { uint8_t *b; size_t n, cap; } wbuf;

static void wput(wbuf *w, const void *p, size_t n) {
    while (w->n + n > w->cap) { w->cap = w->cap ? 2 * w->cap : 4096; w->b = realloc(w->b, w->cap); }
    memcpy(w->b + w->n, p, n);
    w->n += n;
}
static void w32(wbuf *w, uint32_t x) { wput(w, &x, 4); }
static void w64(wbuf *w, uint64_t x) { wput(w, &x, 8); }
static void wstr(wbuf *w, const char *s, size_t n) { w64(w, n); wput(w, s, n); }

typedef struct { wbuf kv; uint64_t n_kv; } gbuild;

static void g_str(gbuild *g, const char *key, const char *val) {
    wstr(&g->kv, key, strlen(key)); w32(&g->kv, GGUF_TYPE_STRING); wstr(&g->kv, val, strlen(val)); g->n_kv++;
}
static void g_u32(gbuild *g, const char *key, uint32_t val) {
    wstr(&g->kv, key, strlen(key)); w32(&g->kv, GGUF_TYPE_UINT32); w32(&g->kv, val); g->n_kv++;
}
static void g_i32(gbuild *g, const char *key, int32_t val) {
    wstr(&g->kv, key, strlen(key)); w32(&g->kv, GGUF_TYPE_INT32); w32(&g->kv, (uint32_t)val); g->n_kv++;
}
/* string array from NUL-separated items */
static void g_strs(gbuild *g, const char *key, const char *const *items, size_t n) {
    wstr(&g->kv, key, strlen(key)); w32(&g->kv, GGUF_TYPE_ARRAY); w32(&g->kv, GGUF_TYPE_STRING); w64(&g->kv, n);
    for (size_t i = 0; i < n; i++) wstr(&g->kv, items[i], strlen(items[i]));
    g->n_kv++;
}
static void g_f32s(gbuild *g, const char *key, size_t n) {
    wstr(&g->kv, key, strlen(key)); w32(&g->kv, GGUF_TYPE_ARRAY); w32(&g->kv, GGUF_TYPE_FLOAT32); w64(&g->kv, n);
    for (size_t i = 0; i < n; i++) { float f = -(float)i; wput(&g->kv, &f, 4); }
    g->n_kv++;
}
static void g_i32s(gbuild *g, const char *key, const int32_t *v, size_t n) {
    wstr(&g->kv, key, strlen(key)); w32(&g->kv, GGUF_TYPE_ARRAY); w32(&g->kv, GGUF_TYPE_INT32); w64(&g->kv, n);
    wput(&g->kv, v, n * 4);
    g->n_kv++;
}

/* loads the built KVs as a GGUF; returns the vocab_load status (and the vocab in *out, may be NULL) */
static int g_load(gbuild *g, trit_vocab **out, uint8_t **file) {
    wbuf w = {0};
    wput(&w, "GGUF", 4); w32(&w, 3); w64(&w, 0); w64(&w, g->n_kv);
    wput(&w, g->kv.b, g->kv.n);
    static const uint8_t zero[32] = {0};
    wput(&w, zero, (32 - w.n % 32) % 32);
    gguf_ctx gc;
    char err[256];
    trit_vocab *v = NULL;
    int r = gguf_parse(w.b, w.n, &gc, err, sizeof err);
    if (r != 0) { fprintf(stderr, "  (gguf_parse: %s)\n", err); free(w.b); free(g->kv.b); return -100; }
    r = vocab_load(&gc, &v);
    gguf_free(&gc);
    free(g->kv.b);
    g->kv = (wbuf){0}; g->n_kv = 0;
    if (out) { *out = v; *file = w.b; } else { vocab_free(v); free(w.b); }
    return r;
}

static void test_malformed(void) {
    static const char *const toks[] = {"<unk>", "<s>", "</s>", "a", "b", "ab", "\xc4\xa0", "\xc4\xa0\x61"};
    const size_t nt = sizeof toks / sizeof toks[0];
    static const char *const merges[] = {"a b", "\xc4\xa0 a"};
    gbuild g = {0};
    int r;

    /* a good one first */
    g_str(&g, "tokenizer.ggml.model", "gpt2"); g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    g_strs(&g, "tokenizer.ggml.merges", merges, 2); g_u32(&g, "tokenizer.ggml.bos_token_id", 1);
    g_u32(&g, "tokenizer.ggml.eos_token_id", 2);
    trit_vocab *v;
    uint8_t *file;
    r = g_load(&g, &v, &file);
    CHECK(r == 0, "synthetic gpt2 vocab loads: %s", trit_last_error());
    if (r == 0) {
        int32_t ids[8];
        /* default pre-tokenizer; no add_bos for "default" */
        int32_t n = vocab_tokenize(v, "ab a", 4, TRIT_TOK_ADD_SPECIAL, ids, 8);
        CHECK(n == 2 && ids[0] == 5 && ids[1] == 7, "synthetic gpt2 tokenize (n=%d)", n);
        vocab_free(v);
        free(file);
    }

    g_str(&g, "tokenizer.ggml.model", "gpt2"); g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    static const char *const bad_merges[] = {"a b", "a zz"};
    g_strs(&g, "tokenizer.ggml.merges", bad_merges, 2);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "merge with an unknown token");

    g_str(&g, "tokenizer.ggml.model", "gpt2"); g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    static const char *const nospace[] = {"ab"};
    g_strs(&g, "tokenizer.ggml.merges", nospace, 1);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "merge without a space");

    g_str(&g, "tokenizer.ggml.model", "gpt2"); g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "gpt2 without merges");

    g_str(&g, "tokenizer.ggml.model", "llama"); g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    g_f32s(&g, "tokenizer.ggml.scores", nt - 1);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "scores shorter than tokens");

    g_str(&g, "tokenizer.ggml.model", "llama"); g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    int32_t types[16] = {2, 3, 3, 1, 1, 1, 1, 1, 1};
    g_i32s(&g, "tokenizer.ggml.token_type", types, nt + 1);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "token_type longer than tokens");

    g_str(&g, "tokenizer.ggml.model", "llama"); g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    g_u32(&g, "tokenizer.ggml.bos_token_id", 8);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "bos id out of range");

    g_str(&g, "tokenizer.ggml.model", "llama"); g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    g_i32(&g, "tokenizer.ggml.eos_token_id", -1);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "negative eos id");

    g_str(&g, "tokenizer.ggml.model", "llama"); g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    g_u32(&g, "tokenizer.ggml.padding_token_id", 99);  /* llama.cpp ignores a bad pad id: so do we */
    CHECK(g_load(&g, NULL, NULL) == 0, "bad padding id is ignored");

    static const char *const dup[] = {"a", "b", "a"};
    g_str(&g, "tokenizer.ggml.model", "llama"); g_strs(&g, "tokenizer.ggml.tokens", dup, 3);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "duplicate token text");

    g_str(&g, "tokenizer.ggml.model", "llama");
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "no tokens");

    g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "no tokenizer.ggml.model");

    g_str(&g, "tokenizer.ggml.model", "bert"); g_strs(&g, "tokenizer.ggml.tokens", toks, nt);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_UNSUPPORTED, "bert is unsupported");

    g_str(&g, "tokenizer.ggml.model", "gpt2"); g_str(&g, "tokenizer.ggml.pre", "qwen2");
    g_strs(&g, "tokenizer.ggml.tokens", toks, nt); g_strs(&g, "tokenizer.ggml.merges", merges, 2);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_UNSUPPORTED, "unknown pre-tokenizer");

    g_str(&g, "tokenizer.ggml.model", "llama"); g_u32(&g, "tokenizer.ggml.tokens", 5);
    CHECK(g_load(&g, NULL, NULL) == TRIT_ERR_FORMAT, "tokens not an array");

    /* SPM with empty tokens, no byte tokens (unk fallback), EOT detection, user-defined tokens */
    static const char *const toks2[] = {"<unk>", "<s>", "</s>", "", "\xe2\x96\x81", "x", "<|eot_id|>", "<user>", "\xe2\x96\x81x"};
    int32_t types2[] = {2, 3, 3, 1, 1, 1, 1, 4, 1};
    g_str(&g, "tokenizer.ggml.model", "llama"); g_strs(&g, "tokenizer.ggml.tokens", toks2, 9);
    g_i32s(&g, "tokenizer.ggml.token_type", types2, 9); g_f32s(&g, "tokenizer.ggml.scores", 9);
    r = g_load(&g, &v, &file);
    CHECK(r == 0, "synthetic spm vocab loads: %s", trit_last_error());
    if (r == 0) {
        int32_t ids[16];
        CHECK(vocab_eot(v) == 6 && vocab_is_eog(v, 6) && vocab_is_eog(v, 2), "eot detected by text");
        CHECK(vocab_find(v, "[EMPTY_3]", 9) == 3, "empty token named as llama.cpp does");
        char b[16];
        CHECK(vocab_piece(v, 6, b, sizeof b, 0) == 0, "detected eot becomes control");
        /* "<user>" is user-defined: split out even without PARSE_SPECIAL; 'q' is no token: unk */
        int32_t n = vocab_tokenize(v, "x<user>xq", 9, 0, ids, 16);
        CHECK(n == 4 && ids[0] == 8 && ids[1] == 7 && ids[2] == 8 && ids[3] == 0,
              "user-defined split + unk fallback (n=%d: %d %d %d %d)", n, ids[0], ids[1], ids[2], ids[3]);
        vocab_free(v);
        free(file);
    }

    /* load time: a llama-3 sized vocabulary, 128256 tokens and 280000 merges */
    {
        const size_t NT = 128256, NM = 280000;
        char **tk = malloc(NT * sizeof *tk);
        for (size_t i = 0; i < NT; i++) { tk[i] = malloc(16); snprintf(tk[i], 16, "t%zx", i); }
        char **mg = malloc(NM * sizeof *mg);
        for (size_t i = 0; i < NM; i++) { mg[i] = malloc(40); snprintf(mg[i], 40, "t%zx t%zx", i % NT, (i * 7919) % NT); }
        g_str(&g, "tokenizer.ggml.model", "gpt2"); g_str(&g, "tokenizer.ggml.pre", "llama-bpe");
        g_strs(&g, "tokenizer.ggml.tokens", (const char *const *)tk, NT);
        g_strs(&g, "tokenizer.ggml.merges", (const char *const *)mg, NM);
        clock_t t0 = clock();
        r = g_load(&g, NULL, NULL);
        double sec = (double)(clock() - t0) / CLOCKS_PER_SEC;
        printf("load of a %zu-token, %zu-merge vocab (incl. GGUF parse): %.3f s\n", NT, NM, sec);
        CHECK(r == 0 && sec < 2.0, "large vocab load (%.3f s, r=%d)", sec, r);
        for (size_t i = 0; i < NT; i++) free(tk[i]);
        for (size_t i = 0; i < NM; i++) free(mg[i]);
        free(tk); free(mg);
    }
}

int main(void) {
    test_fixture("tokenizer/spm.json");
    test_fixture("tokenizer/bpe.json");
    test_refs();
    test_behaviour();
    test_pretokenizers();
    test_malformed();
    return test_summary();
}
