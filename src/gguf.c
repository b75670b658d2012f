/* gguf.c: GGUF v2/v3 header parser over a caller-supplied buffer. See gguf.h for the contract. */
#include "gguf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "quant.h"

typedef struct {
    const uint8_t *p, *end, *start;
    char *err; size_t errlen;
} rd;

#define FAIL(code, ...) do { snprintf(r->err, r->errlen, __VA_ARGS__); return (code); } while (0)

static uint64_t left(const rd *r) { return (uint64_t)(r->end - r->p); }

static int rd_bytes(rd *r, void *dst, uint64_t n, const char *what) {
    if (left(r) < n) FAIL(TRIT_ERR_FORMAT, "truncated file: %s needs %llu bytes at offset %llu, %llu left",
                          what, (unsigned long long)n, (unsigned long long)(r->p - r->start),
                          (unsigned long long)left(r));
    memcpy(dst, r->p, (size_t)n);
    r->p += n;
    return 0;
}

static int rd_u32(rd *r, uint32_t *v, const char *what) { return rd_bytes(r, v, 4, what); }
static int rd_u64(rd *r, uint64_t *v, const char *what) { return rd_bytes(r, v, 8, what); }

static int utf8_valid(const uint8_t *s, uint64_t n) {
    uint64_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        int k; uint32_t cp;
        if (c < 0x80) { i++; continue; }
        else if ((c & 0xe0) == 0xc0) { k = 1; cp = c & 0x1f; }
        else if ((c & 0xf0) == 0xe0) { k = 2; cp = c & 0x0f; }
        else if ((c & 0xf8) == 0xf0) { k = 3; cp = c & 0x07; }
        else return 0;
        if (n - i <= (uint64_t)k) return 0;
        for (int j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80) return 0;
            cp = (cp << 6) | (s[i + j] & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
        i += (uint64_t)k + 1;
    }
    return 1;
}

/* A string: u64 length + bytes, as a view. */
static int rd_str(rd *r, gguf_str *s, const char *what) {
    uint64_t n;
    if (rd_u64(r, &n, what)) return TRIT_ERR_FORMAT;
    if (n > left(r)) FAIL(TRIT_ERR_FORMAT, "%s: string length %llu exceeds the %llu bytes left in the file",
                          what, (unsigned long long)n, (unsigned long long)left(r));
    s->ptr = (const char *)r->p; s->len = n;
    r->p += n;
    return 0;
}

static const uint64_t k_type_size[GGUF_TYPE_COUNT] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
static const char *const k_type_name[GGUF_TYPE_COUNT] = {
    "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};

static void scalar_read(uint32_t type, const uint8_t *p, gguf_kv *kv) {
    switch (type) {
    case GGUF_TYPE_UINT8: kv->num.u64 = p[0]; break;
    case GGUF_TYPE_INT8: kv->num.i64 = (int8_t)p[0]; break;
    case GGUF_TYPE_BOOL: kv->num.u64 = p[0] != 0; break;
    case GGUF_TYPE_UINT16: { uint16_t v; memcpy(&v, p, 2); kv->num.u64 = v; break; }
    case GGUF_TYPE_INT16: { int16_t v; memcpy(&v, p, 2); kv->num.i64 = v; break; }
    case GGUF_TYPE_UINT32: { uint32_t v; memcpy(&v, p, 4); kv->num.u64 = v; break; }
    case GGUF_TYPE_INT32: { int32_t v; memcpy(&v, p, 4); kv->num.i64 = v; break; }
    case GGUF_TYPE_FLOAT32: { float v; memcpy(&v, p, 4); kv->num.f64 = v; break; }
    case GGUF_TYPE_UINT64: { uint64_t v; memcpy(&v, p, 8); kv->num.u64 = v; break; }
    case GGUF_TYPE_INT64: { int64_t v; memcpy(&v, p, 8); kv->num.i64 = v; break; }
    case GGUF_TYPE_FLOAT64: { double v; memcpy(&v, p, 8); kv->num.f64 = v; break; }
    default: break;
    }
}

static int cmp_str(const void *a, const void *b) {
    const gguf_str *x = *(const gguf_str *const *)a, *y = *(const gguf_str *const *)b;
    uint64_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->ptr, y->ptr, (size_t)n);
    if (c) return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* Printable, truncated copy of a (possibly hostile) name for messages. */
static const char *show(gguf_str s, char *buf, size_t n) {
    size_t k = 0;
    for (uint64_t i = 0; i < s.len && k + 1 < n; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        buf[k++] = (c >= 32 && c < 127) ? (char)c : '?';
    }
    buf[k] = 0;
    return buf;
}

static int parse_kv(rd *r, gguf_kv *kv, uint64_t idx) {
    char nb[80];
    char what[64];
    snprintf(what, sizeof what, "key #%llu", (unsigned long long)idx);
    int rc = rd_str(r, &kv->key, what);
    if (rc) return rc;
    if (kv->key.len == 0) FAIL(TRIT_ERR_FORMAT, "key #%llu: empty key name", (unsigned long long)idx);
    if (kv->key.len > 65535)
        FAIL(TRIT_ERR_FORMAT, "key #%llu: key name of %llu bytes is too long", (unsigned long long)idx,
             (unsigned long long)kv->key.len);
    if (!utf8_valid((const uint8_t *)kv->key.ptr, kv->key.len))
        FAIL(TRIT_ERR_FORMAT, "key #%llu ('%s'): key name is not valid UTF-8", (unsigned long long)idx,
             show(kv->key, nb, sizeof nb));
    show(kv->key, nb, sizeof nb);
    if (rd_u32(r, &kv->type, "kv type")) FAIL(TRIT_ERR_FORMAT, "key '%s': truncated before its type", nb);
    if (kv->type >= GGUF_TYPE_COUNT) FAIL(TRIT_ERR_FORMAT, "key '%s': unknown value type %u", nb, kv->type);
    if (kv->type == GGUF_TYPE_STRING) {
        if (rd_str(r, &kv->str, nb)) return TRIT_ERR_FORMAT;
    } else if (kv->type == GGUF_TYPE_ARRAY) {
        if (rd_u32(r, &kv->arr_type, nb) || rd_u64(r, &kv->arr_n, nb))
            FAIL(TRIT_ERR_FORMAT, "key '%s': truncated array header", nb);
        if (kv->arr_type >= GGUF_TYPE_COUNT || kv->arr_type == GGUF_TYPE_ARRAY)
            FAIL(TRIT_ERR_FORMAT, "key '%s': array element type %u is not allowed", nb, kv->arr_type);
        kv->arr_data = r->p;
        if (kv->arr_type == GGUF_TYPE_STRING) {
            /* each element needs at least its 8-byte length */
            if (kv->arr_n > left(r) / 8)
                FAIL(TRIT_ERR_FORMAT, "key '%s': array of %llu strings cannot fit in the %llu bytes left", nb,
                     (unsigned long long)kv->arr_n, (unsigned long long)left(r));
            for (uint64_t i = 0; i < kv->arr_n; i++) {
                gguf_str s;
                char w[120];
                snprintf(w, sizeof w, "key '%s' element %llu", nb, (unsigned long long)i);
                if (rd_str(r, &s, w)) return TRIT_ERR_FORMAT;
            }
        } else {
            uint64_t es = k_type_size[kv->arr_type];
            if (kv->arr_n > left(r) / es)
                FAIL(TRIT_ERR_FORMAT, "key '%s': array of %llu %s needs more than the %llu bytes left", nb,
                     (unsigned long long)kv->arr_n, k_type_name[kv->arr_type], (unsigned long long)left(r));
            r->p += kv->arr_n * es;
        }
    } else {
        uint64_t es = k_type_size[kv->type];
        if (left(r) < es) FAIL(TRIT_ERR_FORMAT, "key '%s': truncated %s value", nb, k_type_name[kv->type]);
        if (kv->type == GGUF_TYPE_BOOL && r->p[0] > 1) FAIL(TRIT_ERR_FORMAT, "key '%s': bool value %u is not 0 or 1", nb, r->p[0]);
        scalar_read(kv->type, r->p, kv);
        r->p += es;
    }
    return 0;
}

static int parse_tensor(rd *r, gguf_tensor *t, uint64_t idx) {
    char nb[80], what[64];
    snprintf(what, sizeof what, "tensor info #%llu", (unsigned long long)idx);
    if (rd_str(r, &t->name, what)) return TRIT_ERR_FORMAT;
    show(t->name, nb, sizeof nb);
    if (t->name.len == 0 || t->name.len > 255)
        FAIL(TRIT_ERR_FORMAT, "tensor #%llu: name length %llu is outside 1..255", (unsigned long long)idx,
             (unsigned long long)t->name.len);
    if (rd_u32(r, &t->n_dims, nb)) FAIL(TRIT_ERR_FORMAT, "tensor '%s': truncated before n_dims", nb);
    if (t->n_dims < 1 || t->n_dims > 4) FAIL(TRIT_ERR_FORMAT, "tensor '%s': n_dims %u is outside 1..4", nb, t->n_dims);
    for (int d = 0; d < 4; d++) t->ne[d] = 1;
    for (uint32_t d = 0; d < t->n_dims; d++) {
        uint64_t v;
        if (rd_u64(r, &v, nb)) FAIL(TRIT_ERR_FORMAT, "tensor '%s': truncated in its dims", nb);
        if (v == 0 || v > ((uint64_t)1 << 40))
            FAIL(TRIT_ERR_FORMAT, "tensor '%s': dimension %u is %llu (must be 1..2^40)", nb, d, (unsigned long long)v);
        t->ne[d] = (int64_t)v;
    }
    if (rd_u32(r, &t->type, nb)) FAIL(TRIT_ERR_FORMAT, "tensor '%s': truncated before its type", nb);
    if (rd_u64(r, &t->offset, nb)) FAIL(TRIT_ERR_FORMAT, "tensor '%s': truncated before its offset", nb);
    if (!tt_name(t->type)) FAIL(TRIT_ERR_UNSUPPORTED, "tensor '%s': ggml type %u is not supported", nb, t->type);
    const char *why = NULL;
    t->nbytes = tt_nbytes(t->type, t->ne, &why);
    if (!t->nbytes) FAIL(TRIT_ERR_FORMAT, "tensor '%s' (%s): %s", nb, tt_name(t->type), why);
    return 0;
}

static int parse(const uint8_t *buf, uint64_t size, gguf_ctx *g, char *err, size_t errlen);

int gguf_parse(const uint8_t *buf, uint64_t size, gguf_ctx *g, char *err, size_t errlen) {
    char dummy[8];
    if (!err || errlen == 0) { err = dummy; errlen = sizeof dummy; }
    err[0] = 0;
    memset(g, 0, sizeof *g);
    if (!buf) { snprintf(err, errlen, "no buffer"); return TRIT_ERR_ARG; }
    int rc = parse(buf, size, g, err, errlen);
    if (rc) memset(g, 0, sizeof *g);   /* on failure nothing is left to free or read */
    return rc;
}

static int parse(const uint8_t *buf, uint64_t size, gguf_ctx *g, char *err, size_t errlen) {
    rd rr = {buf, buf + size, buf, err, errlen}, *r = &rr;
    uint32_t magic;
    if (size < 4 || (memcpy(&magic, buf, 4), magic != 0x46554747u)) /* "GGUF" */
        FAIL(TRIT_ERR_FORMAT, "not a GGUF file (bad magic)");
    r->p += 4;
    if (rd_u32(r, &g->version, "version")) return TRIT_ERR_FORMAT;
    if (g->version != 2 && g->version != 3)
        FAIL(g->version == 1 ? TRIT_ERR_UNSUPPORTED : TRIT_ERR_FORMAT, "GGUF version %u is not supported (2 or 3)",
             g->version);
    if (rd_u64(r, &g->n_tensors, "tensor count") || rd_u64(r, &g->n_kv, "kv count")) return TRIT_ERR_FORMAT;
    /* each kv needs >= 8 (key len) + 4 (type) + 1 bytes; each tensor info >= 8 + 4 + 8 + 4 + 8 */
    if (g->n_kv > left(r) / 13) FAIL(TRIT_ERR_FORMAT, "kv count %llu cannot fit in the file", (unsigned long long)g->n_kv);
    if (g->n_tensors > left(r) / 32)
        FAIL(TRIT_ERR_FORMAT, "tensor count %llu cannot fit in the file", (unsigned long long)g->n_tensors);
    g->buf = buf; g->size = size;
    g->kv = calloc(g->n_kv ? g->n_kv : 1, sizeof *g->kv);
    g->tensors = calloc(g->n_tensors ? g->n_tensors : 1, sizeof *g->tensors);
    void **sorted = NULL;
    int rc;
    if (!g->kv || !g->tensors) { snprintf(err, errlen, "out of memory for the GGUF index"); rc = TRIT_ERR_NOMEM; goto fail; }
    for (uint64_t i = 0; i < g->n_kv; i++)
        if ((rc = parse_kv(r, &g->kv[i], i))) goto fail;
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if ((rc = parse_tensor(r, &g->tensors[i], i))) goto fail;

    /* duplicate key or tensor names: sort views of the names and compare neighbours */
    uint64_t nmax = g->n_kv > g->n_tensors ? g->n_kv : g->n_tensors;
    sorted = malloc((nmax ? nmax : 1) * sizeof *sorted);
    if (!sorted) { snprintf(err, errlen, "out of memory"); rc = TRIT_ERR_NOMEM; goto fail; }
    for (int pass = 0; pass < 2; pass++) {
        const uint64_t n = pass ? g->n_tensors : g->n_kv;
        for (uint64_t i = 0; i < n; i++) sorted[i] = pass ? &g->tensors[i].name : &g->kv[i].key;
        qsort(sorted, (size_t)n, sizeof *sorted, cmp_str);
        for (uint64_t i = 1; i < n; i++)
            if (!cmp_str(&sorted[i - 1], &sorted[i])) {
                char nb[80];
                snprintf(err, errlen, "duplicate %s '%s'", pass ? "tensor" : "key", show(*(const gguf_str *)sorted[i], nb, sizeof nb));
                rc = TRIT_ERR_FORMAT; goto fail;
            }
    }
    free(sorted); sorted = NULL;

    g->alignment = 32;
    const gguf_kv *al = gguf_find(g, "general.alignment");
    if (al) {
        if (al->type != GGUF_TYPE_UINT32 && al->type != GGUF_TYPE_UINT64) {
            snprintf(err, errlen, "general.alignment has type %s, expected u32", k_type_name[al->type]);
            rc = TRIT_ERR_FORMAT; goto fail;
        }
        uint64_t a = al->num.u64;
        if (a == 0 || (a & (a - 1)) || a > 65536) {
            snprintf(err, errlen, "general.alignment = %llu is not a power of two in 1..65536", (unsigned long long)a);
            rc = TRIT_ERR_FORMAT; goto fail;
        }
        g->alignment = a;
    }
    uint64_t off = (uint64_t)(r->p - buf);
    off = (off + g->alignment - 1) / g->alignment * g->alignment;
    if (g->n_tensors && off > size) {
        snprintf(err, errlen, "truncated file: the tensor data section would start at %llu, past the end (%llu)",
                 (unsigned long long)off, (unsigned long long)size);
        rc = TRIT_ERR_FORMAT; goto fail;
    }
    g->data_offset = off;
    uint64_t avail = size >= off ? size - off : 0;
    for (uint64_t i = 0; i < g->n_tensors; i++) {
        gguf_tensor *t = &g->tensors[i];
        char nb[80];
        show(t->name, nb, sizeof nb);
        if (t->offset % g->alignment) {
            snprintf(err, errlen, "tensor '%s': data offset %llu is not a multiple of the alignment %llu", nb,
                     (unsigned long long)t->offset, (unsigned long long)g->alignment);
            rc = TRIT_ERR_FORMAT; goto fail;
        }
        if (t->offset > avail || t->nbytes > avail - t->offset) {
            snprintf(err, errlen, "tensor '%s': data [%llu, +%llu) lies outside the %llu-byte data section "
                     "(truncated file or bad offset)", nb, (unsigned long long)t->offset,
                     (unsigned long long)t->nbytes, (unsigned long long)avail);
            rc = TRIT_ERR_FORMAT; goto fail;
        }
        t->data = buf + off + t->offset;
    }
    return 0;
fail:
    free(sorted);
    gguf_free(g);
    return rc;
}

void gguf_free(gguf_ctx *g) {
    if (!g) return;
    free(g->kv); free(g->tensors);
    g->kv = NULL; g->tensors = NULL; g->n_kv = g->n_tensors = 0;
}

int gguf_str_eq(gguf_str s, const char *c) {
    size_t n = strlen(c);
    return s.len == n && memcmp(s.ptr, c, n) == 0;
}

const gguf_kv *gguf_find(const gguf_ctx *g, const char *key) {
    for (uint64_t i = 0; i < g->n_kv; i++)
        if (gguf_str_eq(g->kv[i].key, key)) return &g->kv[i];
    return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_ctx *g, const char *name) {
    for (uint64_t i = 0; i < g->n_tensors; i++)
        if (gguf_str_eq(g->tensors[i].name, name)) return &g->tensors[i];
    return NULL;
}

static int is_int_type(uint32_t t) {
    return t == GGUF_TYPE_UINT8 || t == GGUF_TYPE_INT8 || t == GGUF_TYPE_UINT16 || t == GGUF_TYPE_INT16 ||
           t == GGUF_TYPE_UINT32 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_UINT64 || t == GGUF_TYPE_INT64 ||
           t == GGUF_TYPE_BOOL;
}
static int is_signed_type(uint32_t t) {
    return t == GGUF_TYPE_INT8 || t == GGUF_TYPE_INT16 || t == GGUF_TYPE_INT32 || t == GGUF_TYPE_INT64;
}

/* integer kv as (negative?, magnitude) */
static int kv_int(const gguf_kv *kv, int64_t lo, uint64_t hi, int64_t *out) {
    if (!is_int_type(kv->type)) return -2;
    if (is_signed_type(kv->type)) {
        if (kv->num.i64 < lo || (kv->num.i64 >= 0 && (uint64_t)kv->num.i64 > hi)) return -2;
        *out = kv->num.i64;
    } else {
        if (kv->num.u64 > hi) return -2;
        *out = (int64_t)kv->num.u64;
    }
    return 0;
}

int gguf_get_u32(const gguf_ctx *g, const char *key, uint32_t *out) {
    const gguf_kv *kv = gguf_find(g, key);
    int64_t v;
    if (!kv) return -1;
    if (kv_int(kv, 0, UINT32_MAX, &v)) return -2;
    *out = (uint32_t)v;
    return 0;
}

int gguf_get_i32(const gguf_ctx *g, const char *key, int32_t *out) {
    const gguf_kv *kv = gguf_find(g, key);
    int64_t v;
    if (!kv) return -1;
    if (kv_int(kv, INT32_MIN, INT32_MAX, &v)) return -2;
    *out = (int32_t)v;
    return 0;
}

int gguf_get_f32(const gguf_ctx *g, const char *key, float *out) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv) return -1;
    if (kv->type == GGUF_TYPE_FLOAT32 || kv->type == GGUF_TYPE_FLOAT64) { *out = (float)kv->num.f64; return 0; }
    int64_t v;
    if (kv_int(kv, INT32_MIN, INT32_MAX, &v)) return -2;
    *out = (float)v;
    return 0;
}

int gguf_get_bool(const gguf_ctx *g, const char *key, int *out) {
    const gguf_kv *kv = gguf_find(g, key);
    int64_t v;
    if (!kv) return -1;
    if (kv_int(kv, 0, 1, &v)) return -2;
    *out = (int)v;
    return 0;
}

int gguf_get_str(const gguf_ctx *g, const char *key, gguf_str *out) {
    const gguf_kv *kv = gguf_find(g, key);
    if (!kv) return -1;
    if (kv->type != GGUF_TYPE_STRING) return -2;
    *out = kv->str;
    return 0;
}

int gguf_arr_strings(const gguf_kv *kv, gguf_str *out) {
    if (kv->type != GGUF_TYPE_ARRAY || kv->arr_type != GGUF_TYPE_STRING) return -2;
    const uint8_t *p = kv->arr_data;   /* bounds were checked by gguf_parse */
    for (uint64_t i = 0; i < kv->arr_n; i++) {
        uint64_t n;
        memcpy(&n, p, 8);
        out[i].ptr = (const char *)p + 8;
        out[i].len = n;
        p += 8 + n;
    }
    return 0;
}

double gguf_arr_f64(const gguf_kv *kv, uint64_t i) {
    gguf_kv tmp = {0};
    scalar_read(kv->arr_type, kv->arr_data + i * k_type_size[kv->arr_type], &tmp);
    if (kv->arr_type == GGUF_TYPE_FLOAT32 || kv->arr_type == GGUF_TYPE_FLOAT64) return tmp.num.f64;
    return is_signed_type(kv->arr_type) ? (double)tmp.num.i64 : (double)tmp.num.u64;
}

int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i) {
    gguf_kv tmp = {0};
    scalar_read(kv->arr_type, kv->arr_data + i * k_type_size[kv->arr_type], &tmp);
    if (kv->arr_type == GGUF_TYPE_FLOAT32 || kv->arr_type == GGUF_TYPE_FLOAT64) {   /* saturate; NaN -> 0 */
        double d = tmp.num.f64;
        if (!(d == d)) return 0;
        if (d >= 9.2e18) return INT64_MAX;
        if (d <= -9.2e18) return INT64_MIN;
        return (int64_t)d;
    }
    return is_signed_type(kv->arr_type) ? tmp.num.i64 : (int64_t)tmp.num.u64;
}
