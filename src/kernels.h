/* kernels.h: the optimised kernels' internal interface (builds with TRIT_OPT_KERNELS: the wasm SIMD
 * builds; kernels.c is portable C, kernels_simd128.c the SIMD128 code). quant.c calls them through the
 * hooks declared in quant.h; model.c through kernels_repack_model().
 *
 * TL layout ("table lookup", after T-MAC / bitnet.cpp's TL1). SIMD128 has no u8 x i8 multiply-add
 * (x86 pmaddubsw), but it has a 16-entry byte table lookup (i8x16.swizzle, x86 pshufb). For every pair
 * of activations (a0, a1) of a token we precompute the 16 sums (c0-1)*a0 + (c1-1)*a1 for all 2-bit code
 * pairs (c0, c1) (codes 0..2 are the ternary -1/0/+1; code 3, which valid files never contain, reads as
 * +2 exactly as the reference kernels read it). The weights of 16 consecutive rows are rearranged so
 * that one v128 holds the 4-bit pair codes of those 16 rows for two activation pairs: one swizzle then
 * looks up a pair for 16 rows at once (a table entry needs 9 bits, so two swizzles, low and high byte).
 *
 * The repack is in place and keeps every byte count: a TL matrix occupies exactly the bytes of the
 * GGUF tensor (16 rows x 2 bits x 256 weights = 1 KB + 16 fp16 scales = 16 TQ2_0 blocks). It needs
 * n_out % 16 == 0 and applies to TQ2_0 and I2_S (TQ1_0's 1.6 bits per weight leave no room for 4-bit
 * pair codes; it keeps the GGUF layout).
 *
 *   tile t = rows 16t..16t+15, at byte 16*t*row_bytes (where those 16 rows were), made of groups:
 *   TQ2_0: one group per 256-weight block i (1056 bytes):  idx[64][16], then d[16] (fp16, row order)
 *   I2_S:  one group per 128-weight block i (512 bytes):   idx[32][16]
 *   idx[q][r] = (4*c(r, 4q) + c(r, 4q+1)) | (4*c(r, 4q+2) + c(r, 4q+3)) << 4
 *   where c(r, e) is the 2-bit code of weight e of the block in row r (TQ2_0: (qs[32*(e/128) + e%32] >>
 *   2*((e%128)/32)) & 3; I2_S: (w[e%32] >> (6 - 2*(e/32))) & 3).
 *
 * Tables (built by mat_opt_prepare after the reference activations, at act + tl_table_offset()): per
 * token n_in/2 pairs of 32 bytes: lo[16] then hi[16], entry k = 4*c0 + c1 holding the int16
 * (c0-1)*a[2p] + (c1-1)*a[2p+1] (TQ2_0: a = the Q8_K qs; I2_S: the int8 activations). |entry| <= 508,
 * so an int16 lane may add 64 entries (the kernels widen to int32 every 64 pairs). I2_S's reference
 * sums code*a: dot = sum(entries) + sum(a), with sum(a) stored by the quantizer.
 *
 * F16 (TT_LAYOUT_F16_SCANNED): the data is untouched; aux is a bitmap with one bit per 64 weights of
 * a row (bit r * n_in/64 + c/64) set where one of them is a zero, subnormal, inf or NaN half, or NULL
 * if there is none. Elsewhere the kernel converts a half by adding 112 to its exponent (exact for normal halves,
 * and no denormal f32 ever reaches a multiply: those cost ~20x on x86); marked chunks take an exact
 * select path. A GGUF-layout F16 matrix (trit_model_load) takes the exact path everywhere.
 *
 * TL4 layout (TT_LAYOUT_TL4; relaxed build where tl_dot_add is on when the model loads): the same tiles,
 * groups, scales and byte count as TL, only each idx vector (16 rows x weights 4q..4q+3, 64 codes) is
 * permuted for i32x4.relaxed_dot_i8x16_i7x16_add_s:
 *   idx[q][4r'+i] = sum_k c(4k+r', 4q+i) << 2k     (r' = 0..3, i = 0..3, k = 0..3)
 * so field k of the vector, (x >> 2k) & 3, holds rows 4k..4k+3 (one i32 lane each) x the 4 codes of
 * weights 4q..4q+3, and one dot-add with the splat of activations 4q..4q+3 adds those rows' 4 products
 * into their lanes: 4 shifts/masks and 4 dot-adds per 64 weights and token, no tables (mat_opt_prepare
 * builds none for it) and no per-call unpacking. Its kernels are dot-adds only (there is no lookup form),
 * so mat_mul_rows_opt takes the scalar twin for a TL4 matrix whenever tl_dot_add is off.
 *
 * Batches of >= tl_dot_min_tokens tokens (relaxed build) read the same TL bytes with integer dot
 * products instead (kernels_simd128.c, tld_tile): per token of the batch the activation pairs as 4 bytes
 * each (simd128_build_pairs) at act + tl_table_offset() + tl_table_bytes(n_in) * n_tok.
 *
 * Float results use the reference's operations in the reference's order per (row, token), so they are
 * equal bit for bit whatever the batch size or the rows a thread gets. */
#ifndef TRIT_KERNELS_H
#define TRIT_KERNELS_H

#include "quant.h"

#define TL_ROWS 16

struct trit_model;

/* Repacks the model's layer matrices (not token_embd) into the TL layout in place, and scans F16 ones.
 * Skips matrices of other types or shapes, and all of them if any two tensors' data overlap. Returns
 * how many were rearranged (TL). kernels_free_model() releases the side data (trit_model_free calls it). */
int32_t kernels_repack_model(struct trit_model *m);
void kernels_free_model(struct trit_model *m);
/* F16: builds the bitmap (see above); 0 if done, -1 if it keeps the GGUF layout (n_in % 128, no memory) */
int mat_f16_scan(trit_mat *w);
/* One matrix: 0 if repacked (w->layout = TT_LAYOUT_TL4 where tl_dot_add is on in a build with the dot-add
 * kernels, else TT_LAYOUT_TL), -1 if it keeps its layout. _layout: the given one of the two (tests). */
int mat_tl_repack(trit_mat *w);
int mat_tl_repack_layout(trit_mat *w, uint32_t layout);
int mat_tl_supported(const trit_mat *w);
/* The inverse of mat_tl_repack, in place: 0 if done (w->layout = TT_LAYOUT_GGUF), -1 if not TL / TL4 or no memory. */
int mat_tl_unpack(trit_mat *w);
/* Every TL matrix of the model back to the GGUF layout, in place (for readers of the raw tensor bytes:
 * the WebGPU backend). The optimised kernels keep working on the GGUF layout (slower on the CPU).
 * Returns how many were restored, or -1 if one failed (no memory for its 16-row scratch). */
int32_t kernels_restore_model(struct trit_model *m);

size_t tl_table_offset(uint32_t type, int32_t n_in, int32_t n_tok);   /* bytes from act to the tables */
size_t tl_table_bytes(int32_t n_in);                                  /* per token */
/* per token, after all n_tok tables: the dot kernel's activation pairs (simd128_build_pairs) */
size_t tl_pair_bytes(int32_t n_in);
/* Scalar table builder: tab[p*32 ...] from the int8 activations q[n_in]. */
void tl_build_tables_ref(const int8_t *q, int32_t n_in, uint8_t *tab);
/* Scalar twin of the TL kernels: reads the TL layout and the reference activations (not the tables),
 * equals the GGUF-layout reference kernels on the original matrix bit for bit. */
void mat_mul_rows_tl_ref(const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0, int32_t r1);
/* Code of weight e of row r of a TL matrix (tests). */
int tl_code(const trit_mat *w, int32_t r, int32_t e);

/* TQ1_0 (GGUF layout; kernels_simd128.c): a byte b holds the first 5 base-3 digits t_l of b / 256
 * (quant.c's tq1_trit; 4 for a qh byte). With the prefixes P_l = floor(b * 3^(l+1) / 256) (one multiply
 * and one shift per 8 bytes in u16 lanes; P_l < 243) t_l = P_l - 3 P_(l-1), so
 * sum_l t_l a_l = sum_l P_l (a_l - 3 a_(l+1)) (a_L = 0): the kernel multiplies the prefixes with these
 * transformed activations (int16, |.| <= 509; tq1_prefix_acts(), one block of 256 per call, at act +
 * tl_table_offset()) instead of extracting each trit. Exact integers: the same sums as the reference. */
void tq1_prefix_acts(const int8_t *a, int16_t *o);

/* Batches of at least this many tokens take the TL matrices' dot-product kernel (kernels_simd128.c:
 * codes unpacked once per 16-row group, one multiply-add per token), fewer the table lookups. Both give
 * the same bits; tests and the kernel bench move it to run either path (default in kernels.c). */
extern int32_t tl_dot_min_tokens;
/* Relaxed build: nonzero makes that kernel use i32x4.relaxed_dot_i8x16_i7x16_add_s (16 products and the
 * accumulation in one instruction) instead of i16x8.relaxed_dot + adds. 0 by default: Node 20 computes
 * the instruction wrongly in its baseline tier; js/wasm.mjs turns it on (trit_wasm_tl_dot_add) only where a
 * known-answer test passes (chromium). The same bits either way where the engine is right. */
extern int tl_dot_add;

/* ---- kernels_simd128.c (wasm SIMD128; elsewhere these decline) ---- */
int simd128_available(void);
int simd128_dot_add_built(void);   /* 1 in the relaxed build (the dot-add and TL4 kernels exist) */
/* reps passes of the TL decode loop (variant 0) or TL4's (1) in cache: what js/wasm.mjs times to decide
 * whether the engine's dot-add is fast enough for TL4 (returns a checksum; 0 without relaxed SIMD) */
int32_t simd128_dot_add_probe(int32_t variant, int32_t reps);
/* 0 if handled, -1 otherwise (GGUF layout; same contract as mat_mul_rows) */
int simd128_mul_rows(const trit_mat *w, const void *act, const float *x, int32_t n_tok, float *y, int32_t r0,
                     int32_t r1);
void simd128_mul_rows_tl(const trit_mat *w, const void *act, int32_t n_tok, float *y, int32_t r0, int32_t r1);
void simd128_build_tables(const int8_t *q, int32_t n_in, uint8_t *tab);
/* 4 bytes per activation pair (a0, a1): relaxed build int8 (a0, a1, a0, a1), plain build int16 (a0, a1) */
void simd128_build_pairs(const int8_t *q, int32_t n_in, uint8_t *out);
/* F16 activations: x rounded to f16 (the reference's act) -> f32 * 2^56 at act + tl_table_offset() */
void simd128_prepare_f16(const uint16_t *a16, int32_t n, float *out);
int simd128_attn_qk(const attn_args *a);   /* 0 if done, -1 (head_dim % 8, ...) */
int simd128_attn_pv(const attn_args *a);

#endif
