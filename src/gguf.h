/* gguf.h: internal GGUF v2/v3 reader over a caller-supplied buffer (no copies).
 *
 * gguf_parse() validates the whole header up front: every count, length, offset and size is
 * bounds- and overflow-checked against the buffer, so that after it returns GGUF_OK every view it
 * hands out (key names, string values, arrays, tensor data) lies inside the buffer. Nothing in the
 * buffer is modified or copied; the index tables (kv[], tensors[]) are the only allocations.
 *
 * All multi-byte values in GGUF are little-endian; we assume a little-endian host (x86, wasm). */
#ifndef TRIT_GGUF_H
#define TRIT_GGUF_H

#include <stddef.h>
#include <stdint.h>

enum gguf_type {            /* KV value types, numbering from the GGUF spec */
    GGUF_TYPE_UINT8 = 0, GGUF_TYPE_INT8 = 1, GGUF_TYPE_UINT16 = 2, GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4, GGUF_TYPE_INT32 = 5, GGUF_TYPE_FLOAT32 = 6, GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8, GGUF_TYPE_ARRAY = 9, GGUF_TYPE_UINT64 = 10, GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12, GGUF_TYPE_COUNT
};

typedef struct { const char *ptr; uint64_t len; } gguf_str;   /* NOT NUL-terminated: a view */

typedef struct {
    gguf_str key;
    uint32_t type;              /* enum gguf_type */
    /* scalars: */
    union { uint64_t u64; int64_t i64; double f64; } num;   /* every numeric/bool scalar, widened */
    gguf_str str;               /* type == STRING */
    /* arrays (type == ARRAY): */
    uint32_t arr_type;          /* element type (never ARRAY: nested arrays are rejected) */
    uint64_t arr_n;             /* element count */
    const uint8_t *arr_data;    /* first element; for string arrays the first u64 length prefix */
} gguf_kv;

typedef struct {
    gguf_str name;
    uint32_t n_dims;            /* 1..4 */
    int64_t ne[4];              /* ggml order: ne[0] is the fastest (row length, "in"), unused = 1 */
    uint32_t type;              /* ggml type id (see quant.h), validated as known */
    uint64_t offset;            /* relative to data section start, as stored */
    uint64_t nbytes;            /* computed from type and shape (I2_S: n/4 + 32) */
    const uint8_t *data;        /* = buf + data_offset + offset, checked to lie in the buffer */
} gguf_tensor;

typedef struct {
    uint32_t version;           /* 2 or 3 */
    uint64_t n_kv, n_tensors;
    gguf_kv *kv;                /* [n_kv] */
    gguf_tensor *tensors;       /* [n_tensors] */
    uint64_t alignment;         /* general.alignment or 32 */
    uint64_t data_offset;       /* start of tensor data in the buffer */
    const uint8_t *buf;
    uint64_t size;
} gguf_ctx;

/* Returns 0 on success; on failure a negative code (TRIT_ERR_* from trit.h) and a message in
 * err[errlen] that names the key/tensor and what is wrong. On failure nothing needs freeing. */
int gguf_parse(const uint8_t *buf, uint64_t size, gguf_ctx *out, char *err, size_t errlen);
void gguf_free(gguf_ctx *g);

const gguf_kv *gguf_find(const gguf_ctx *g, const char *key);          /* NULL if absent */
const gguf_tensor *gguf_find_tensor(const gguf_ctx *g, const char *name);

/* Typed getters: return 0 and store the value if the key exists and its type converts without loss
 * (any integer type to the requested one if in range; f32/f64 to double; bool to int), -1 if absent,
 * -2 if present with an incompatible type or out of range. */
int gguf_get_u32(const gguf_ctx *g, const char *key, uint32_t *out);
int gguf_get_i32(const gguf_ctx *g, const char *key, int32_t *out);
int gguf_get_f32(const gguf_ctx *g, const char *key, float *out);
int gguf_get_bool(const gguf_ctx *g, const char *key, int *out);
int gguf_get_str(const gguf_ctx *g, const char *key, gguf_str *out);

/* String arrays: fill out[0..kv->arr_n) with views (caller allocates). 0 or -2 if not a string array. */
int gguf_arr_strings(const gguf_kv *kv, gguf_str *out);
/* Numeric arrays: element i converted to double / int64 (caller checks i < arr_n and arr_type). */
double gguf_arr_f64(const gguf_kv *kv, uint64_t i);
int64_t gguf_arr_i64(const gguf_kv *kv, uint64_t i);

int gguf_str_eq(gguf_str s, const char *c);   /* 1 if equal */

#endif
