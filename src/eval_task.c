/* eval_task.c: lines of multiple-choice task files (JSONL) -> mc_item, for trit_mc (eval.c).
 *
 * A small strict JSON parser (RFC 8259: objects, arrays, strings with every escape incl. surrogate
 * pairs, numbers, literals; UTF-8 checked; duplicate keys and nesting deeper than 64 are errors), then
 * one builder per layout, each reproducing what lm-evaluation-harness feeds the model for that task:
 *   trit       {"context": str, "choices": [str, ...], "label": int, "delimiter": str (default " ")}
 *   hellaswag  {"activity_label", "ctx_a", "ctx_b", "endings": [4], "label": int or "2"}   (hellaswag/utils.py)
 *   arc        {"question": str | {"stem", "choices"}, "choices": {"text": [..], "label": [..]}, "answerKey"}
 *   mmlu       {"question", "choices": [..], "answer": int or "B", "subject"?}     (mmlu default template)
 * Errors name the column (1-based byte offset in the line) or the key that is wrong.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h"
#include "internal.h"

/* ---- JSON ----------------------------------------------------------------------------------------- */

enum { J_NULL, J_FALSE, J_TRUE, J_NUM, J_STR, J_ARR, J_OBJ };

typedef struct {
    uint8_t type;
    int32_t key, key_len;       /* member name (offsets into sb), -1 for array elements / the root */
    int32_t s, s_len;           /* J_STR: decoded bytes in sb */
    double num;                 /* J_NUM */
    int32_t first, next, n;     /* J_ARR/J_OBJ: first child, child count; every node: next sibling */
} jnode;

typedef struct {
    const char *src;
    size_t len, pos;
    jnode *nodes;
    int32_t n_nodes, cap;
    char *sb;                   /* decoded strings (escapes only shrink, so len + 1 bytes suffice) */
    size_t sb_len;
    int depth;
    int nomem;
} jparser;

#define JSON_MAX_DEPTH 64

static int jfail(jparser *p, const char *what) {
    if (p->pos >= p->len) return trit_err(TRIT_ERR_FORMAT, "column %zu: %s (the line ends here)", p->pos + 1, what);
    unsigned char c = (unsigned char)p->src[p->pos];
    if (c >= 0x20 && c < 0x7f) return trit_err(TRIT_ERR_FORMAT, "column %zu: %s, found '%c'", p->pos + 1, what, c);
    return trit_err(TRIT_ERR_FORMAT, "column %zu: %s, found byte 0x%02x", p->pos + 1, what, c);
}

static void jws(jparser *p) {
    while (p->pos < p->len) {
        char c = p->src[p->pos];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n') break;
        p->pos++;
    }
}

static int32_t jnew(jparser *p, uint8_t type) {
    if (p->n_nodes == p->cap) {
        int32_t cap = p->cap ? p->cap * 2 : 64;
        jnode *nn = realloc(p->nodes, sizeof(jnode) * (size_t)cap);
        if (!nn) { p->nomem = 1; return -1; }
        p->nodes = nn;
        p->cap = cap;
    }
    jnode *n = &p->nodes[p->n_nodes];
    memset(n, 0, sizeof *n);
    n->type = type;
    n->key = n->first = n->next = -1;
    return p->n_nodes++;
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int jhex4(jparser *p, uint32_t *out) {
    if (p->len - p->pos < 4) return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval(p->src[p->pos + (size_t)i]);
        if (h < 0) return -1;
        v = v << 4 | (uint32_t)h;
    }
    p->pos += 4;
    *out = v;
    return 0;
}

static void sb_utf8(jparser *p, uint32_t cp) {
    char *o = p->sb + p->sb_len;
    if (cp < 0x80) { o[0] = (char)cp; p->sb_len += 1; }
    else if (cp < 0x800) { o[0] = (char)(0xc0 | cp >> 6); o[1] = (char)(0x80 | (cp & 0x3f)); p->sb_len += 2; }
    else if (cp < 0x10000) {
        o[0] = (char)(0xe0 | cp >> 12); o[1] = (char)(0x80 | (cp >> 6 & 0x3f)); o[2] = (char)(0x80 | (cp & 0x3f));
        p->sb_len += 3;
    } else {
        o[0] = (char)(0xf0 | cp >> 18); o[1] = (char)(0x80 | (cp >> 12 & 0x3f));
        o[2] = (char)(0x80 | (cp >> 6 & 0x3f)); o[3] = (char)(0x80 | (cp & 0x3f));
        p->sb_len += 4;
    }
}

/* Length of the valid UTF-8 sequence at s[0..n), or 0 if invalid (overlong, surrogate, > U+10FFFF). */
static int utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    if (c < 0x80) return 1;
    int k;
    uint32_t cp, min;
    if ((c & 0xe0) == 0xc0) { k = 2; cp = c & 0x1f; min = 0x80; }
    else if ((c & 0xf0) == 0xe0) { k = 3; cp = c & 0x0f; min = 0x800; }
    else if ((c & 0xf8) == 0xf0) { k = 4; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if ((size_t)k > n) return 0;
    for (int i = 1; i < k; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return k;
}

/* Parses a string at p->pos (on the opening quote) into sb; *off and *len give the decoded bytes. */
static int jstring(jparser *p, int32_t *off, int32_t *len) {
    p->pos++;
    *off = (int32_t)p->sb_len;
    for (;;) {
        if (p->pos >= p->len) return jfail(p, "unterminated string");
        unsigned char c = (unsigned char)p->src[p->pos];
        if (c == '"') { p->pos++; break; }
        if (c < 0x20) return jfail(p, "control character in a string (escape it)");
        if (c == '\\') {
            p->pos++;
            if (p->pos >= p->len) return jfail(p, "unterminated escape");
            char e = p->src[p->pos++];
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                static const char map[] = "\"\\/\b\f\n\r\t";
                p->sb[p->sb_len++] = map[simple - "\"\\/bfnrt"];
            } else if (e == 'u') {
                uint32_t cp, lo;
                p->pos -= 2;
                size_t at = p->pos;
                p->pos += 2;
                if (jhex4(p, &cp)) { p->pos = at; return jfail(p, "bad \\u escape (needs 4 hex digits)"); }
                if (cp >= 0xdc00 && cp <= 0xdfff) { p->pos = at; return jfail(p, "lone low surrogate in \\u escape"); }
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    if (p->len - p->pos < 6 || p->src[p->pos] != '\\' || p->src[p->pos + 1] != 'u') {
                        p->pos = at;
                        return jfail(p, "high surrogate \\u escape without its low surrogate");
                    }
                    p->pos += 2;
                    if (jhex4(p, &lo) || lo < 0xdc00 || lo > 0xdfff) {
                        p->pos = at;
                        return jfail(p, "high surrogate \\u escape without its low surrogate");
                    }
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (cp == 0) { p->pos = at; return jfail(p, "\\u0000 (NUL) is not allowed in task text"); }
                sb_utf8(p, cp);
            } else {
                p->pos -= 2;
                return jfail(p, "unknown escape in a string");
            }
            continue;
        }
        int k = utf8_len((const unsigned char *)p->src + p->pos, p->len - p->pos);
        if (!k) return jfail(p, "invalid UTF-8 in a string");
        memcpy(p->sb + p->sb_len, p->src + p->pos, (size_t)k);
        p->sb_len += (size_t)k;
        p->pos += (size_t)k;
    }
    *len = (int32_t)p->sb_len - *off;
    p->sb[p->sb_len++] = 0;
    return 0;
}

static int jnumber(jparser *p, double *out) {
    *out = 0;
    size_t s = p->pos, i = s;
    const char *t = p->src;
    if (i < p->len && t[i] == '-') i++;
    if (i < p->len && t[i] == '0') i++;
    else if (i < p->len && t[i] >= '1' && t[i] <= '9') while (i < p->len && t[i] >= '0' && t[i] <= '9') i++;
    else { p->pos = i; return jfail(p, "bad number"); }
    if (i < p->len && t[i] == '.') {
        i++;
        if (!(i < p->len && t[i] >= '0' && t[i] <= '9')) { p->pos = i; return jfail(p, "bad number: digits must follow '.'"); }
        while (i < p->len && t[i] >= '0' && t[i] <= '9') i++;
    }
    if (i < p->len && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < p->len && (t[i] == '+' || t[i] == '-')) i++;
        if (!(i < p->len && t[i] >= '0' && t[i] <= '9')) { p->pos = i; return jfail(p, "bad number: digits must follow the exponent"); }
        while (i < p->len && t[i] >= '0' && t[i] <= '9') i++;
    }
    char tmp[64];
    size_t n = i - s;
    if (n >= sizeof tmp) { *out = strtod("inf", NULL); }     /* absurdly long: caught as "not an integer" */
    else { memcpy(tmp, t + s, n); tmp[n] = 0; *out = strtod(tmp, NULL); }
    p->pos = i;
    return 0;
}

static int jvalue(jparser *p, int32_t *out);

static int jcontainer(jparser *p, int obj, int32_t *out) {
    if (++p->depth > JSON_MAX_DEPTH) return jfail(p, "nesting deeper than 64 levels");
    int32_t self = jnew(p, obj ? J_OBJ : J_ARR), last = -1;
    if (self < 0) return TRIT_ERR_NOMEM;
    p->pos++;
    jws(p);
    if (p->pos < p->len && p->src[p->pos] == (obj ? '}' : ']')) { p->pos++; p->depth--; *out = self; return 0; }
    for (;;) {
        int32_t key = -1, key_len = 0, child;
        if (obj) {
            if (p->pos >= p->len || p->src[p->pos] != '"') return jfail(p, "expected a member name in double quotes");
            size_t at = p->pos;
            int rc = jstring(p, &key, &key_len);
            if (rc) return rc;
            for (int32_t c = p->nodes[self].first; c >= 0; c = p->nodes[c].next)
                if (p->nodes[c].key_len == key_len && !memcmp(p->sb + p->nodes[c].key, p->sb + key, (size_t)key_len)) {
                    p->pos = at;
                    return trit_err(TRIT_ERR_FORMAT, "column %zu: duplicate key \"%s\"", at + 1, p->sb + key);
                }
            jws(p);
            if (p->pos >= p->len || p->src[p->pos] != ':') return jfail(p, "expected ':' after the member name");
            p->pos++;
            jws(p);
        }
        int rc = jvalue(p, &child);
        if (rc) return rc;
        p->nodes[child].key = key;
        p->nodes[child].key_len = key_len;
        if (last < 0) p->nodes[self].first = child;
        else p->nodes[last].next = child;
        last = child;
        p->nodes[self].n++;
        jws(p);
        if (p->pos < p->len && p->src[p->pos] == ',') { p->pos++; jws(p); continue; }
        if (p->pos < p->len && p->src[p->pos] == (obj ? '}' : ']')) { p->pos++; break; }
        return jfail(p, obj ? "expected ',' or '}'" : "expected ',' or ']'");
    }
    p->depth--;
    *out = self;
    return 0;
}

static int jvalue(jparser *p, int32_t *out) {
    jws(p);
    if (p->pos >= p->len) return jfail(p, "expected a value");
    char c = p->src[p->pos];
    if (c == '{' || c == '[') return jcontainer(p, c == '{', out);
    if (c == '"') {
        int32_t n = jnew(p, J_STR);
        if (n < 0) return TRIT_ERR_NOMEM;
        int32_t off, len;
        int rc = jstring(p, &off, &len);
        if (rc) return rc;
        p->nodes[n].s = off;
        p->nodes[n].s_len = len;
        *out = n;
        return 0;
    }
    if (c == '-' || (c >= '0' && c <= '9')) {
        int32_t n = jnew(p, J_NUM);
        if (n < 0) return TRIT_ERR_NOMEM;
        double v;
        int rc = jnumber(p, &v);
        if (rc) return rc;
        p->nodes[n].num = v;
        *out = n;
        return 0;
    }
    static const struct { const char *w; uint8_t t; } lit[] = {{"true", J_TRUE}, {"false", J_FALSE}, {"null", J_NULL}};
    for (int i = 0; i < 3; i++) {
        size_t k = strlen(lit[i].w);
        if (p->len - p->pos >= k && !memcmp(p->src + p->pos, lit[i].w, k)) {
            int32_t n = jnew(p, lit[i].t);
            if (n < 0) return TRIT_ERR_NOMEM;
            p->pos += k;
            *out = n;
            return 0;
        }
    }
    return jfail(p, "expected a value (object, array, string, number, true, false or null)");
}

static void jfree(jparser *p) { free(p->nodes); free(p->sb); }

/* Parses the whole line as one JSON object; *root = its node. */
static int jparse(jparser *p, const char *src, size_t len, int32_t *root) {
    memset(p, 0, sizeof *p);
    p->src = src;
    p->len = len;
    p->sb = malloc(len + 1);
    if (!p->sb) return trit_err(TRIT_ERR_NOMEM, "out of memory parsing a line of %zu bytes", len);
    jws(p);
    if (p->pos >= p->len) return trit_err(TRIT_ERR_FORMAT, "empty line (a task file has one JSON object per line)");
    if (p->src[p->pos] != '{') return jfail(p, "expected a JSON object '{'");
    int rc = jvalue(p, root);
    if (p->nomem) return trit_err(TRIT_ERR_NOMEM, "out of memory parsing a line of %zu bytes", len);
    if (rc) return rc;
    jws(p);
    if (p->pos < p->len) return jfail(p, "unexpected text after the JSON object");
    return 0;
}

static const jnode *jget(const jparser *p, int32_t obj, const char *key) {
    size_t kl = strlen(key);
    for (int32_t c = p->nodes[obj].first; c >= 0; c = p->nodes[c].next)
        if ((size_t)p->nodes[c].key_len == kl && !memcmp(p->sb + p->nodes[c].key, key, kl)) return &p->nodes[c];
    return NULL;
}

static const char *jtype_name(const jnode *n) {
    static const char *names[] = {"null", "false", "true", "a number", "a string", "an array", "an object"};
    return names[n->type];
}

/* ---- item building ---------------------------------------------------------------------------------- */

/* A growing string arena; strings are referenced by offset until mc_item_finish fixes the pointers. */
typedef struct { char *b; size_t n, cap; int nomem; } arena;

static size_t ar_put(arena *a, const char *s, size_t n) {
    if (a->n + n + 1 > a->cap) {
        size_t cap = a->cap ? a->cap : 256;
        while (a->n + n + 1 > cap) cap *= 2;
        char *nb = realloc(a->b, cap);
        if (!nb) { a->nomem = 1; return 0; }
        a->b = nb;
        a->cap = cap;
    }
    memcpy(a->b + a->n, s, n);
    size_t at = a->n;
    a->n += n;
    a->b[a->n++] = 0;
    return at;
}

/* Appends to the string that ends the arena (drops its NUL first): strings are built piecewise. */
static void ar_cat(arena *a, const char *s, size_t n) {
    if (a->n) a->n--;
    ar_put(a, s, n);
}

static int is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

/* Python's str.strip() for ASCII whitespace. */
static void strip(const char **s, size_t *n) {
    while (*n && is_ws(**s)) { (*s)++; (*n)--; }
    while (*n && is_ws((*s)[*n - 1])) (*n)--;
}

typedef struct {
    const jparser *p;
    arena a;
    size_t context, delim;
    size_t *choice;
    int32_t n_choices, label;
    const char *layout;
} builder;

static int need_str(const jparser *p, const jnode *n, const char *key, const char **s, size_t *len) {
    *s = "";
    *len = 0;
    if (!n) return trit_err(TRIT_ERR_FORMAT, "missing key \"%s\"", key);
    if (n->type != J_STR) return trit_err(TRIT_ERR_FORMAT, "\"%s\" must be a string, not %s", key, jtype_name(n));
    *s = p->sb + n->s;
    *len = (size_t)n->s_len;
    return 0;
}

static int need_str_array(const jparser *p, const jnode *n, const char *key) {
    if (!n) return trit_err(TRIT_ERR_FORMAT, "missing key \"%s\"", key);
    if (n->type != J_ARR) return trit_err(TRIT_ERR_FORMAT, "\"%s\" must be an array of strings, not %s", key, jtype_name(n));
    if (n->n < 2) return trit_err(TRIT_ERR_FORMAT, "\"%s\" needs at least 2 choices, has %d", key, n->n);
    int32_t i = 0;
    for (int32_t c = n->first; c >= 0; c = p->nodes[c].next, i++)
        if (p->nodes[c].type != J_STR)
            return trit_err(TRIT_ERR_FORMAT, "\"%s\"[%d] must be a string, not %s", key, i, jtype_name(&p->nodes[c]));
    return 0;
}

/* An integer index from a JSON number (must be integral) or a decimal string ("2"). */
static int need_index(const jparser *p, const jnode *n, const char *key, int32_t n_choices, int32_t *out) {
    if (!n) return trit_err(TRIT_ERR_FORMAT, "missing key \"%s\"", key);
    double v;
    if (n->type == J_NUM) v = n->num;
    else if (n->type == J_STR) {
        const char *s = p->sb + n->s;
        size_t len = (size_t)n->s_len;
        strip(&s, &len);
        if (!len || len > 9) return trit_err(TRIT_ERR_FORMAT, "\"%s\" must be a choice index, not \"%s\"", key, p->sb + n->s);
        v = 0;
        for (size_t i = 0; i < len; i++) {
            if (s[i] < '0' || s[i] > '9') return trit_err(TRIT_ERR_FORMAT, "\"%s\" must be a choice index, not \"%s\"", key, p->sb + n->s);
            v = v * 10 + (s[i] - '0');
        }
    } else return trit_err(TRIT_ERR_FORMAT, "\"%s\" must be an integer choice index, not %s", key, jtype_name(n));
    if (!(v == floor(v)) || v < 0 || v >= n_choices)
        return trit_err(TRIT_ERR_FORMAT, "\"%s\" is %g but must be an integer in 0..%d (there are %d choices)", key, v, n_choices - 1, n_choices);
    *out = (int32_t)v;
    return 0;
}

static int set_choices(builder *b, int32_t n) {
    b->choice = calloc((size_t)n, sizeof(size_t));
    if (!b->choice) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    b->n_choices = n;
    return 0;
}

static int build_trit(builder *b, int32_t root) {
    const jparser *p = b->p;
    const char *s;
    size_t n;
    int rc = need_str(p, jget(p, root, "context"), "context", &s, &n);
    if (rc) return rc;
    b->context = ar_put(&b->a, s, n);
    const jnode *d = jget(p, root, "delimiter");
    if (d) {
        if ((rc = need_str(p, d, "delimiter", &s, &n))) return rc;
        b->delim = ar_put(&b->a, s, n);
    } else b->delim = ar_put(&b->a, " ", 1);
    const jnode *ch = jget(p, root, "choices");
    if ((rc = need_str_array(p, ch, "choices"))) return rc;
    if ((rc = set_choices(b, ch->n))) return rc;
    int32_t i = 0;
    for (int32_t c = ch->first; c >= 0; c = p->nodes[c].next, i++)
        b->choice[i] = ar_put(&b->a, p->sb + p->nodes[c].s, (size_t)p->nodes[c].s_len);
    return need_index(p, jget(p, root, "label"), "label", b->n_choices, &b->label);
}

/* lm-evaluation-harness hellaswag/utils.py preprocess(): strip, " [title]" -> ". ", drop "[...]"
 * (not across a newline, as the regex's '.'), then replace "  " by " " (non-overlapping, left to right). */
static void hs_preprocess(arena *a, const char *s, size_t n) {
    strip(&s, &n);
    char *t = malloc(n * 2 + 1), *u = malloc(n * 2 + 1);
    if (!t || !u) { free(t); free(u); a->nomem = 1; return; }
    size_t k = 0;
    for (size_t i = 0; i < n;) {
        if (n - i >= 8 && !memcmp(s + i, " [title]", 8)) { t[k++] = '.'; t[k++] = ' '; i += 8; }
        else t[k++] = s[i++];
    }
    size_t m = 0;
    for (size_t i = 0; i < k;) {
        if (t[i] == '[') {
            size_t j = i + 1;
            while (j < k && t[j] != ']' && t[j] != '\n') j++;
            if (j < k && t[j] == ']') { i = j + 1; continue; }
        }
        u[m++] = t[i++];
    }
    k = 0;
    for (size_t i = 0; i < m;) {
        if (i + 1 < m && u[i] == ' ' && u[i + 1] == ' ') { t[k++] = ' '; i += 2; }
        else t[k++] = u[i++];
    }
    ar_put(a, t, k);
    free(t);
    free(u);
}

static int build_hellaswag(builder *b, int32_t root) {
    const jparser *p = b->p;
    const char *al, *ca, *cb;
    size_t nal, nca, ncb;
    int rc;
    if ((rc = need_str(p, jget(p, root, "activity_label"), "activity_label", &al, &nal))) return rc;
    if ((rc = need_str(p, jget(p, root, "ctx_a"), "ctx_a", &ca, &nca))) return rc;
    if ((rc = need_str(p, jget(p, root, "ctx_b"), "ctx_b", &cb, &ncb))) return rc;
    /* query = preprocess(activity_label + ": " + ctx_a + " " + ctx_b.capitalize()) */
    char *q = malloc(nal + nca + ncb + 4);
    if (!q) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    size_t k = 0;
    memcpy(q + k, al, nal); k += nal;
    q[k++] = ':'; q[k++] = ' ';
    memcpy(q + k, ca, nca); k += nca;
    q[k++] = ' ';
    for (size_t i = 0; i < ncb; i++) {       /* str.capitalize(): first upper, the rest lower (ASCII) */
        char c = cb[i];
        if (i == 0 && c >= 'a' && c <= 'z') c = (char)(c - 32);
        else if (i > 0 && c >= 'A' && c <= 'Z') c = (char)(c + 32);
        q[k++] = c;
    }
    b->context = b->a.n;
    hs_preprocess(&b->a, q, k);
    free(q);
    b->delim = ar_put(&b->a, " ", 1);
    const jnode *e = jget(p, root, "endings");
    if ((rc = need_str_array(p, e, "endings"))) return rc;
    if ((rc = set_choices(b, e->n))) return rc;
    int32_t i = 0;
    for (int32_t c = e->first; c >= 0; c = p->nodes[c].next, i++) {
        b->choice[i] = b->a.n;
        hs_preprocess(&b->a, p->sb + p->nodes[c].s, (size_t)p->nodes[c].s_len);
    }
    return need_index(p, jget(p, root, "label"), "label", b->n_choices, &b->label);
}

/* ARC (allenai/ai2_arc on the Hub, or the original {"question": {"stem", "choices": [{"text","label"}]}}):
 * "Question: " + question + "\nAnswer:", choices = the texts, label = index of answerKey in the labels. */
static int build_arc(builder *b, int32_t root) {
    const jparser *p = b->p;
    const jnode *q = jget(p, root, "question"), *ch = NULL;
    const char *stem, *key;
    size_t nstem, nkey;
    int rc;
    if (q && q->type == J_OBJ) {
        if ((rc = need_str(p, jget(p, (int32_t)(q - p->nodes), "stem"), "question.stem", &stem, &nstem))) return rc;
        ch = jget(p, (int32_t)(q - p->nodes), "choices");
        if (!ch) return trit_err(TRIT_ERR_FORMAT, "missing key \"question.choices\"");
    } else {
        if ((rc = need_str(p, q, "question", &stem, &nstem))) return rc;
        ch = jget(p, root, "choices");
        if (!ch) return trit_err(TRIT_ERR_FORMAT, "missing key \"choices\"");
    }
    if ((rc = need_str(p, jget(p, root, "answerKey"), "answerKey", &key, &nkey))) return rc;
    b->context = ar_put(&b->a, "Question: ", 10);
    ar_cat(&b->a, stem, nstem);
    ar_cat(&b->a, "\nAnswer:", 8);
    b->delim = ar_put(&b->a, " ", 1);
    /* two shapes: {"text": [..], "label": [..]} or [{"text": .., "label": ..}, ..] */
    int32_t n = 0, found = -1;
    if (ch->type == J_OBJ) {
        const jnode *tx = jget(p, (int32_t)(ch - p->nodes), "text"), *lb = jget(p, (int32_t)(ch - p->nodes), "label");
        if ((rc = need_str_array(p, tx, "choices.text"))) return rc;
        if ((rc = need_str_array(p, lb, "choices.label"))) return rc;
        if (tx->n != lb->n) return trit_err(TRIT_ERR_FORMAT, "\"choices.text\" has %d entries but \"choices.label\" %d", tx->n, lb->n);
        if ((rc = set_choices(b, tx->n))) return rc;
        for (int32_t c = tx->first, l = lb->first; c >= 0; c = p->nodes[c].next, l = p->nodes[l].next, n++) {
            b->choice[n] = ar_put(&b->a, p->sb + p->nodes[c].s, (size_t)p->nodes[c].s_len);
            if (found < 0 && (size_t)p->nodes[l].s_len == nkey && !memcmp(p->sb + p->nodes[l].s, key, nkey)) found = n;
        }
    } else if (ch->type == J_ARR) {
        if (ch->n < 2) return trit_err(TRIT_ERR_FORMAT, "\"choices\" needs at least 2 choices, has %d", ch->n);
        if ((rc = set_choices(b, ch->n))) return rc;
        for (int32_t c = ch->first; c >= 0; c = p->nodes[c].next, n++) {
            if (p->nodes[c].type != J_OBJ) return trit_err(TRIT_ERR_FORMAT, "\"choices\"[%d] must be an object {\"text\", \"label\"}", n);
            const char *t, *l;
            size_t nt, nl;
            if ((rc = need_str(p, jget(p, c, "text"), "choices[].text", &t, &nt))) return rc;
            if ((rc = need_str(p, jget(p, c, "label"), "choices[].label", &l, &nl))) return rc;
            b->choice[n] = ar_put(&b->a, t, nt);
            if (found < 0 && nl == nkey && !memcmp(l, key, nkey)) found = n;
        }
    } else return trit_err(TRIT_ERR_FORMAT, "\"choices\" must be an object {\"text\": [..], \"label\": [..]}, not %s", jtype_name(ch));
    if (found < 0) return trit_err(TRIT_ERR_FORMAT, "answerKey \"%s\" is not one of the choice labels", p->sb + jget(p, root, "answerKey")->s);
    b->label = found;
    return 0;
}

/* MMLU (cais/mmlu; lm-eval's default template): [description +] question.strip() + "\nA. c0\nB. c1 ...
 * \nAnswer:", choices "A", "B", ...; answer is an index or a letter. The description, when "subject" is
 * given: "The following are multiple choice questions (with answers) about <subject, _ -> space>.\n\n". */
static int build_mmlu(builder *b, int32_t root) {
    const jparser *p = b->p;
    const char *q;
    size_t nq;
    int rc;
    if ((rc = need_str(p, jget(p, root, "question"), "question", &q, &nq))) return rc;
    const jnode *ch = jget(p, root, "choices");
    if ((rc = need_str_array(p, ch, "choices"))) return rc;
    if (ch->n > 26) return trit_err(TRIT_ERR_FORMAT, "\"choices\" has %d entries; MMLU-style letters go to Z (26)", ch->n);
    const jnode *subj = jget(p, root, "subject");
    if (subj && subj->type != J_STR) return trit_err(TRIT_ERR_FORMAT, "\"subject\" must be a string, not %s", jtype_name(subj));
    b->context = ar_put(&b->a, "", 0);
    if (subj && subj->s_len > 0) {
        static const char pre[] = "The following are multiple choice questions (with answers) about ";
        ar_cat(&b->a, pre, sizeof pre - 1);
        for (int32_t i = 0; i < subj->s_len; i++) {
            char c = p->sb[subj->s + i] == '_' ? ' ' : p->sb[subj->s + i];
            ar_cat(&b->a, &c, 1);
        }
        ar_cat(&b->a, ".\n\n", 3);
    }
    strip(&q, &nq);
    ar_cat(&b->a, q, nq);
    int32_t i = 0;
    for (int32_t c = ch->first; c >= 0; c = p->nodes[c].next, i++) {
        char head[4] = {'\n', (char)('A' + i), '.', ' '};
        ar_cat(&b->a, head, 4);
        ar_cat(&b->a, p->sb + p->nodes[c].s, (size_t)p->nodes[c].s_len);
    }
    ar_cat(&b->a, "\nAnswer:", 8);
    b->delim = ar_put(&b->a, " ", 1);
    if ((rc = set_choices(b, ch->n))) return rc;
    for (i = 0; i < ch->n; i++) {
        char letter = (char)('A' + i);
        b->choice[i] = ar_put(&b->a, &letter, 1);
    }
    const jnode *ans = jget(p, root, "answer");
    if (ans && ans->type == J_STR && ans->s_len == 1 && p->sb[ans->s] >= 'A' && p->sb[ans->s] <= 'Z') {
        int32_t l = p->sb[ans->s] - 'A';
        if (l >= ch->n) return trit_err(TRIT_ERR_FORMAT, "\"answer\" is \"%c\" but there are only %d choices", p->sb[ans->s], ch->n);
        b->label = l;
        return 0;
    }
    return need_index(p, ans, "answer", b->n_choices, &b->label);
}

int mc_item_parse(const char *line, size_t len, mc_item *it) {
    memset(it, 0, sizeof *it);
    jparser p;
    int32_t root;
    int rc = jparse(&p, line, len, &root);
    builder b;
    memset(&b, 0, sizeof b);
    b.p = &p;
    if (!rc) {
        if (jget(&p, root, "context")) { b.layout = "trit"; rc = build_trit(&b, root); }
        else if (jget(&p, root, "endings")) { b.layout = "hellaswag"; rc = build_hellaswag(&b, root); }
        else if (jget(&p, root, "answerKey")) { b.layout = "arc"; rc = build_arc(&b, root); }
        else if (jget(&p, root, "question") && jget(&p, root, "answer")) { b.layout = "mmlu"; rc = build_mmlu(&b, root); }
        else rc = trit_err(TRIT_ERR_FORMAT, "unknown layout: expected \"context\", \"choices\" and \"label\" "
                                            "(or the HellaSwag, ARC or MMLU layouts of docs/eval.md)");
        if (!rc && b.a.nomem) rc = trit_err(TRIT_ERR_NOMEM, "out of memory");
        if (rc && b.layout && strcmp(b.layout, "trit")) {
            char msg[400];
            snprintf(msg, sizeof msg, "%s", trit_last_error());
            trit_err(rc, "%s layout: %s", b.layout, msg);
        }
    }
    if (!rc) {
        it->choice = malloc(sizeof(char *) * (size_t)b.n_choices);
        if (!it->choice) rc = trit_err(TRIT_ERR_NOMEM, "out of memory");
    }
    if (!rc) {
        it->buf = b.a.b;
        b.a.b = NULL;
        it->layout = b.layout;
        it->context = it->buf + b.context;
        it->delim = it->buf + b.delim;
        it->n_choices = b.n_choices;
        for (int32_t i = 0; i < b.n_choices; i++) it->choice[i] = it->buf + b.choice[i];
        it->label = b.label;
    }
    free(b.a.b);
    free(b.choice);
    jfree(&p);
    return rc;
}

void mc_item_free(mc_item *it) {
    free(it->buf);
    free((void *)it->choice);
    memset(it, 0, sizeof *it);
}

/* JSON string literal of s into out (bounded); returns the bytes it needs. */
static size_t json_str(const char *s, char *out, size_t at, size_t cap) {
    size_t k = at;
#define PUT(ch) do { if (k + 1 < cap) out[k] = (ch); k++; } while (0)
    PUT('"');
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if (*u == '"' || *u == '\\') { PUT('\\'); PUT((char)*u); }
        else if (*u == '\n') { PUT('\\'); PUT('n'); }
        else if (*u == '\t') { PUT('\\'); PUT('t'); }
        else if (*u == '\r') { PUT('\\'); PUT('r'); }
        else if (*u < 0x20) {
            char e[8];
            snprintf(e, sizeof e, "\\u%04x", *u);
            for (int i = 0; e[i]; i++) PUT(e[i]);
        } else PUT((char)*u);
    }
    PUT('"');
#undef PUT
    return k;
}

static size_t put_lit(const char *s, char *out, size_t at, size_t cap) {
    for (; *s; s++, at++) if (at + 1 < cap) out[at] = *s;
    return at;
}

int32_t mc_item_to_json(const mc_item *it, char *out, int32_t cap_) {
    size_t cap = cap_ > 0 ? (size_t)cap_ : 0, k = 0;
    k = put_lit("{\"context\": ", out, k, cap);
    k = json_str(it->context, out, k, cap);
    k = put_lit(", \"choices\": [", out, k, cap);
    for (int32_t i = 0; i < it->n_choices; i++) {
        if (i) k = put_lit(", ", out, k, cap);
        k = json_str(it->choice[i], out, k, cap);
    }
    char lab[32];
    snprintf(lab, sizeof lab, "], \"label\": %d", it->label);
    k = put_lit(lab, out, k, cap);
    if (strcmp(it->delim, " ")) {
        k = put_lit(", \"delimiter\": ", out, k, cap);
        k = json_str(it->delim, out, k, cap);
    }
    k = put_lit("}", out, k, cap);
    if (cap) out[k < cap ? k : cap - 1] = 0;
    return (int32_t)k;
}
