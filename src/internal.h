/* internal.h: helpers shared by the core's .c files (not part of the public API). */
#ifndef TRIT_INTERNAL_H
#define TRIT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "trit.h"

/* Thread-local storage (the last error). In WebAssembly, API calls come from one thread (the workers of
 * a threads build only run kernels) and real TLS would need per-instance setup: plain globals there. */
#if defined(__wasm__)
#define TRIT_THREAD_LOCAL
#else
#define TRIT_THREAD_LOCAL _Thread_local
#endif

/* Records the message for trit_last_error() (thread-local) and returns code, so that error paths read
 * `return trit_err(TRIT_ERR_FORMAT, "tensor '%s': ...", name);`. */
int trit_err(int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* IEEE half <-> float, exact (round to nearest even on the way down), as ggml's reference. */
static inline float trit_fp16_to_fp32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
    if (exp == 0) {
        if (man == 0) bits = sign;
        else {                                 /* subnormal: normalise */
            int e = -1;
            do { e++; man <<= 1; } while (!(man & 0x400));
            bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
        }
    } else if (exp == 31) bits = sign | 0x7f800000u | (man << 13);
    else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    float f; memcpy(&f, &bits, 4); return f;
}

static inline uint16_t trit_fp32_to_fp16(float f) {
    uint32_t x; memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000, ax = x & 0x7fffffffu;
    if (ax > 0x7f800000u) return (uint16_t)(sign | 0x7e00);            /* NaN */
    if (ax >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);           /* overflow -> inf */
    if (ax < 0x38800000u) {                                            /* subnormal or zero */
        if (ax < 0x33000000u) return (uint16_t)sign;
        uint32_t e = ax >> 23, m = (ax & 0x7fffff) | 0x800000, shift = 126 - e;
        uint32_t r = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (r & 1))) r++;
        return (uint16_t)(sign | r);
    }
    uint32_t r = ((ax >> 13) - ((127 - 15) << 10)), rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (r & 1))) r++;
    return (uint16_t)(sign | r);
}

/* The fixed order in which 8 float lanes are summed (lane = index mod 8) by the F16/F32 dot products and
 * the attention scores: what two f32x4 accumulators give, so SIMD twins match the scalar code bitwise. */
static inline float trit_sum8(const float a[8]) {
    return ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
}

static inline float trit_bf16_to_fp32(uint16_t h) {
    uint32_t bits = (uint32_t)h << 16; float f; memcpy(&f, &bits, 4); return f;
}

#endif
