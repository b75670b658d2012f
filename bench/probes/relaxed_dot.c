/* relaxed_dot.c: does this engine compute i32x4.relaxed_dot_i8x16_i7x16_add_s right, and how fast is it
 * against the two-instruction forms the kernels use? Built and run by relaxed_dot.mjs (Node and headless
 * chromium). 8 independent accumulators, 4 KB of data in L1, `reps` passes; each function returns the
 * sum of all products (the caller checks it). docs/bench.md, "In chromium", has what it measured. */
#include <stdint.h>
#include <wasm_simd128.h>
#define EXPORT __attribute__((visibility("default")))
#define N 4096
static int8_t A[N], B[N];
EXPORT int8_t *buf_a(void) { return A; }
EXPORT int8_t *buf_b(void) { return B; }
#define R8(X) X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7)
static int32_t hsum(v128_t s) {
    return wasm_i32x4_extract_lane(s, 0) + wasm_i32x4_extract_lane(s, 1) + wasm_i32x4_extract_lane(s, 2) + wasm_i32x4_extract_lane(s, 3);
}
/* one instruction per 16 products: i32x4.relaxed_dot_i8x16_i7x16_add_s */
EXPORT int32_t dot_add(int reps) {
#define D(k) v128_t c##k = wasm_i32x4_splat(0);
    R8(D)
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < N; i += 128) {
            const v128_t b = wasm_v128_load(B + i);
#define S(k) c##k = wasm_i32x4_relaxed_dot_i8x16_i7x16_add(wasm_v128_load(A + i + 16 * k), b, c##k);
            R8(S)
        }
    return hsum(wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_add(c0, c1), wasm_i32x4_add(c2, c3)),
                               wasm_i32x4_add(wasm_i32x4_add(c4, c5), wasm_i32x4_add(c6, c7))));
}
/* i16x8.relaxed_dot_i8x16_i7x16 + i32x4.dot_i16x8 with ones (widening every 2) */
EXPORT int32_t dot_i16_i32(int reps) {
    v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
    const v128_t one = wasm_i16x8_splat(1);
    for (int r = 0; r < reps; r++)
        for (int i = 0; i < N; i += 128) {
            const v128_t b = wasm_v128_load(B + i);
#define P(k) const v128_t p##k = wasm_i16x8_relaxed_dot_i8x16_i7x16(wasm_v128_load(A + i + 16 * k), b);
            R8(P)
            a0 = wasm_i32x4_add(a0, wasm_i32x4_dot_i16x8(wasm_i16x8_add(p0, p1), one));
            a1 = wasm_i32x4_add(a1, wasm_i32x4_dot_i16x8(wasm_i16x8_add(p2, p3), one));
            a2 = wasm_i32x4_add(a2, wasm_i32x4_dot_i16x8(wasm_i16x8_add(p4, p5), one));
            a3 = wasm_i32x4_add(a3, wasm_i32x4_dot_i16x8(wasm_i16x8_add(p6, p7), one));
        }
    return hsum(wasm_i32x4_add(wasm_i32x4_add(a0, a1), wasm_i32x4_add(a2, a3)));
}
