// kernels.mjs: the WGSL compute kernels of the WebGPU backend, as source strings.
//
// Every kernel mirrors one step of src/forward.c / src/quant.c, with the same integer activation
// quantization per format, so that the two backends agree closely (docs/webgpu.md lists the
// remaining float differences: f32 instead of double sums, GPU exp/division):
//   embed_<fmt>      x[t] = row tokens[t] of token_embd, dequantized (mat_get_row)
//   rmsnorm          y[t] = x[t] / sqrt(mean(x[t]^2) + eps) * w
//   quant_q8k        Q8_K per 256-block (TQ1_0/TQ2_0/Q6_K): signed max, iscale = -127/max, round-half-even
//   quant_q80        Q8_0 per 32-block (x86 ggml): d = fp16(amax/127), q = round(x * 127/amax)
//   quant_i8s        per-token absmax int8 (I2_S, bitnet.cpp): s = 127/max(|x|, 1e-5), clamp -128..127
//   matmul_<fmt>     y[t][r] = sum_c W[r][c] x[t][c] for t < n_tok (1..16), weights read once for all
//                    tokens, with an epilogue: store, add into y (residual), or gate (y = act(y) * v)
//   rope_kv          RoPE (NEOX or NORM pairs) on q and k, then k/v into the KV cache (f32 or packed f16)
//   attention        softmax(q k^T * scale) v over the cache, causal, grouped-query heads
//   argmax           greedy token of a logits row (lowest id on ties)
//
// Weight layouts on the GPU (repacked at upload, same size as in the file, see weights.mjs):
// W = the block's integer payload as u32 words, WD = the per-block fp16 scales packed two per u32.
//   TQ2_0: 16 words (qs) per 256 weights;  TQ1_0: 13 words (qs[48] + qh[4]);  Q6_K: 52 words
//   (ql[128] qh[64] scales[16]);  Q8_0: 8 words per 32;  I2_S: 8 words per 128 (no WD: one scale per
//   tensor);  F16: 2 values per word;  F32: 1 value per word.
// f16 rounding uses pack2x16float (quantizeToF16 truncates on SwiftShader).
// Activations: AQ = int8 values packed four per u32 ([t][n_in/4]), AD = their scales ([t][blocks]).
//
// Integer dots use dot4I8Packed (WGSL packed_4x8_integer_dot_product) where the adapter has it, else
// a shift-and-multiply twin (`dot4` below): both are exact. Ternary codes c in 0..2 are turned into
// signed bytes c-1 four at a time: (c + 0x7f7f7f7f) ^ 0x80808080 (no carries between bytes).

export const WG = 64;          // threads per workgroup of the matmul, quant and attention kernels
export const MAXB = 16;        // tokens per forward chunk (prefill chunks, speculative verification)

/** WGSL helpers shared by several kernels. dot4 = dot4I8Packed or its exact emulation. */
function common(opts) {
    const dot = opts.dot4 ? 'return dot4I8Packed(a, b);' :
        `var s = 0i;
    for (var k = 0u; k < 32u; k += 8u) { s += (bitcast<i32>(a << (24u - k)) >> 24u) * (bitcast<i32>(b << (24u - k)) >> 24u); }
    return s;`;
    return /* wgsl */ `
fn dot4(a: u32, b: u32) -> i32 { ${dot} }
// ternary codes 0..2 (four bytes) -> signed bytes -1..1
fn sgn2(c: u32) -> u32 { return (c + 0x7f7f7f7fu) ^ 0x80808080u; }
// 6-bit codes 0..63 (Q6_K, four bytes) -> signed bytes -32..31
fn sgn6(c: u32) -> u32 { return (c + 0x60606060u) ^ 0x80808080u; }
// TQ1_0: trit l of each of the four bytes ((byte * 3^l) & 255) * 3 >> 8, as four bytes; p = 3^l
fn trits(w: u32, p: u32) -> u32 {
  let e = ((w & 0x00ff00ffu) * p) & 0x00ff00ffu;
  let o = (((w >> 8u) & 0x00ff00ffu) * p) & 0x00ff00ffu;
  return (((e * 3u) >> 8u) & 0x00030003u) | ((((o * 3u) >> 8u) & 0x00030003u) << 8u);
}
// round to f16 and back, to nearest even (quantizeToF16 truncates on SwiftShader; pack2x16float rounds)
fn r16(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2f(x, 0.0))).x; }
// fp16 number i of an array of packed pairs
fn f16at(i: u32) -> f32 { return unpack2x16float(WD[i >> 1u])[i & 1u]; }
`;
}

/** WGSL of a tree reduction of arr[0..n) into arr[0] over n lanes (nothing when n == 1). */
function tree(n, stmt) {
    if (n === 1) return '';
    return `workgroupBarrier();
  for (var s = ${n / 2}u; s > 0u; s >>= 1u) {
    if (lid < s) { ${stmt} }
    workgroupBarrier();
  }`;
}

const STEP = /* wgsl */ `
struct Step { n_tok: u32, pos0: u32, n_out: u32, out_first: u32 }
@group(0) @binding(1) var<uniform> S: Step;
`;

// ---- matmul ------------------------------------------------------------------------------------

const MM_PARAMS = /* wgsl */ `
struct MM {
  n_in: u32, n_rows: u32, row0: u32, ldy: u32,
  nb: u32, grid_x: u32, mode: u32, act: u32,
  scale: f32, wscale: f32, has_bias: u32, tok_sel: u32,
}
@group(0) @binding(0) var<uniform> P: MM;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read> WD: array<u32>;
@group(0) @binding(4) var<storage, read> AQ: array<u32>;
@group(0) @binding(5) var<storage, read> AD: array<f32>;
@group(0) @binding(6) var<storage, read_write> Y: array<f32>;
@group(0) @binding(7) var<storage, read> BIAS: array<f32>;
`;

// Per format: the loop over the row's units (u = lid, lid + WG, ...), accumulating acc[t] for t < nt.
// `aw` = first activation word of token t's row; r = row within this part of the matrix.
const MM_BODY = {
    // 256 weights = 16 words; word j (half h = j/8, bytes 4*(j%8)..+3) holds for n < 4 the codes of
    // weights 128h + 32n + 4(j%8) + 0..3 in bits 2n..2n+1 of each byte.
    tq2_0: { units: 'P.nb', body: /* wgsl */ `
    let b = u;
    var ws: array<u32, 16>;
    for (var j = 0u; j < 16u; j++) { ws[j] = W[(r * P.nb + b) * 16u + j]; }
    let dw = f16at(r * P.nb + b);
    for (var t = 0u; t < MAXB; t++) { if (t >= nt) { break; }
      let a = t * (P.n_in / 4u) + b * 64u;
      var s = 0i;
      for (var j = 0u; j < 16u; j++) {
        let w = ws[j]; let o = a + (j / 8u) * 32u + (j % 8u);
        s += dot4(sgn2(w & 0x03030303u), AQ[o]) + dot4(sgn2((w >> 2u) & 0x03030303u), AQ[o + 8u])
           + dot4(sgn2((w >> 4u) & 0x03030303u), AQ[o + 16u]) + dot4(sgn2((w >> 6u) & 0x03030303u), AQ[o + 24u]);
      }
      acc[t] += f32(s) * (AD[t * P.nb + b] * dw);
    }` },
    // 256 weights = 13 words: words 0..7 = qs[0..31] (trit l of byte m: weight 32l + m), 8..11 =
    // qs[32..47] (160 + 16l + m), 12 = qh[0..3] (240 + 4l + j, 4 trits).
    tq1_0: { units: 'P.nb', body: /* wgsl */ `
    let b = u;
    var cs: array<u32, 64>;
    for (var j = 0u; j < 13u; j++) {
      let w = W[(r * P.nb + b) * 13u + j];
      var p = 1u;
      for (var l = 0u; l < 5u; l++) {
        let c = sgn2(trits(w, p)); p *= 3u;
        if (j < 8u) { cs[8u * l + j] = c; } else if (j < 12u) { cs[40u + 4u * l + (j - 8u)] = c; } else if (l < 4u) { cs[60u + l] = c; }
      }
    }
    let dw = f16at(r * P.nb + b);
    for (var t = 0u; t < MAXB; t++) { if (t >= nt) { break; }
      let a = t * (P.n_in / 4u) + b * 64u;
      var s = 0i;
      for (var k = 0u; k < 64u; k++) { s += dot4(cs[k], AQ[a + k]); }
      acc[t] += f32(s) * (dw * AD[t * P.nb + b]);
    }` },
    // 128 weights = 8 words; weight 32g + m (m < 32) has code (byte m >> (6 - 2g)) & 3. Integer over
    // the whole row (one scale per tensor, one per token).
    i2_s: { units: 'P.nb * 8u', int: true, body: /* wgsl */ `
    let b = u / 8u; let j = u % 8u;
    let w = W[r * P.nb * 8u + u];
    let c0 = sgn2((w >> 6u) & 0x03030303u); let c1 = sgn2((w >> 4u) & 0x03030303u);
    let c2 = sgn2((w >> 2u) & 0x03030303u); let c3 = sgn2(w & 0x03030303u);
    let o = b * 32u + j;
    for (var t = 0u; t < MAXB; t++) { if (t >= nt) { break; }
      let a = t * (P.n_in / 4u) + o;
      acc[t] += dot4(c0, AQ[a]) + dot4(c1, AQ[a + 8u]) + dot4(c2, AQ[a + 16u]) + dot4(c3, AQ[a + 24u]);
    }` },
    // 32 weights = 8 words of int8, fp16 d per block; activations Q8_0 (d per 32)
    q8_0: { units: 'P.nb', body: /* wgsl */ `
    let b = u;
    let wb = (r * P.nb + b) * 8u;
    let dw = f16at(r * P.nb + b);
    var ws: array<u32, 8>;
    for (var k = 0u; k < 8u; k++) { ws[k] = W[wb + k]; }
    for (var t = 0u; t < MAXB; t++) { if (t >= nt) { break; }
      let a = t * (P.n_in / 4u) + b * 8u;
      var s = 0i;
      for (var k = 0u; k < 8u; k++) { s += dot4(ws[k], AQ[a + k]); }
      acc[t] += f32(s) * (dw * AD[t * P.nb + b]);
    }` },
    // 256 weights = 52 words: ql (32 words), qh (16), scales (4). Word (n, q) of 4 consecutive l gives
    // elements 128n + 32k + 4q + 0..3 for k < 4; scale of element e is scales[e / 16].
    q6_k: { units: 'P.nb', body: /* wgsl */ `
    let b = u;
    let base = (r * P.nb + b) * 52u;
    var cs: array<u32, 64>;
    for (var n = 0u; n < 2u; n++) {
      for (var q = 0u; q < 8u; q++) {
        let A = W[base + n * 16u + q]; let B = W[base + n * 16u + 8u + q]; let H = W[base + 32u + n * 8u + q];
        let o = n * 32u + q;
        cs[o] = sgn6((A & 0x0f0f0f0fu) | ((H & 0x03030303u) << 4u));
        cs[o + 8u] = sgn6((B & 0x0f0f0f0fu) | (((H >> 2u) & 0x03030303u) << 4u));
        cs[o + 16u] = sgn6(((A >> 4u) & 0x0f0f0f0fu) | (((H >> 4u) & 0x03030303u) << 4u));
        cs[o + 24u] = sgn6(((B >> 4u) & 0x0f0f0f0fu) | (((H >> 6u) & 0x03030303u) << 4u));
      }
    }
    var sc: array<i32, 16>;
    for (var k = 0u; k < 16u; k++) { sc[k] = bitcast<i32>(W[base + 48u + k / 4u] << (24u - 8u * (k % 4u))) >> 24u; }
    let dw = f16at(r * P.nb + b);
    for (var t = 0u; t < MAXB; t++) { if (t >= nt) { break; }
      let a = t * (P.n_in / 4u) + b * 64u;
      var s = 0i;
      for (var g = 0u; g < 16u; g++) {
        let o = a + 4u * g;
        s += sc[g] * (dot4(cs[4u * g], AQ[o]) + dot4(cs[4u * g + 1u], AQ[o + 1u]) + dot4(cs[4u * g + 2u], AQ[o + 2u]) + dot4(cs[4u * g + 3u], AQ[o + 3u]));
      }
      acc[t] += f32(s) * (dw * AD[t * P.nb + b]);
    }` },
    // activations rounded to f16 first (ggml's F16 vec_dot_type): AQ holds them as f16 pairs
    f16: { units: 'P.n_in / 2u', body: /* wgsl */ `
    let wv = unpack2x16float(W[r * (P.n_in / 2u) + u]);
    for (var t = 0u; t < MAXB; t++) { if (t >= nt) { break; }
      let av = unpack2x16float(AQ[t * (P.n_in / 2u) + u]);
      acc[t] += wv.x * av.x + wv.y * av.y;
    }` },
    f32: { units: 'P.n_in', body: /* wgsl */ `
    let wv = bitcast<f32>(W[r * P.n_in + u]);
    for (var t = 0u; t < MAXB; t++) { if (t >= nt) { break; } acc[t] += wv * bitcast<f32>(AQ[t * P.n_in + u]); }` },
};

export const MATMUL_FORMATS = Object.keys(MM_BODY);

/** opts: dot4 (use dot4I8Packed), tpr (threads per row, power of 2), rpw (rows per workgroup).
 * GPUs: tpr 32, rpw 2; CPU adapters (SwiftShader), where barriers are very slow: tpr 1, rpw 64. */
export function matmulWGSL(fmt, opts) {
    const f = MM_BODY[fmt];
    if (!f) throw new Error(`no WebGPU matmul for ${fmt}`);
    const tpr = opts.tpr, rpw = opts.rpw, wg = tpr * rpw;
    const T = f.int ? 'i32' : 'f32', zero = f.int ? '0i' : '0.0';
    const sum = tpr > 1 ? `red[t * WG + rb]` : 'acc[t]';
    const fin = f.int ? `(f32(${sum}) / AD[t]) * P.wscale` : sum;
    const reduce = tpr > 1 ? `
  for (var t = 0u; t < nt; t++) { red[t * WG + lid] = acc[t]; }
  workgroupBarrier();
  for (var s = TPR / 2u; s > 0u; s >>= 1u) {
    if (lane < s) { for (var t = 0u; t < nt; t++) { red[t * WG + lid] += red[t * WG + lid + s]; } }
    workgroupBarrier();
  }` : '';
    return MM_PARAMS + STEP + common(opts) + /* wgsl */ `
const TPR = ${tpr}u;
const MAXB = ${MAXB}u;
const WG = ${wg}u;
${tpr > 1 ? `var<workgroup> red: array<${T}, ${wg * MAXB}>;` : ''}
@compute @workgroup_size(${wg})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let lane = lid % TPR;
  let rb = lid - lane;
  let r = (wid.y * P.grid_x + wid.x) * ${rpw}u + lid / TPR;
  let live = r < P.n_rows;
  let nt = select(S.n_tok, S.n_out, P.tok_sel == 1u);
  var acc: array<${T}, ${MAXB}>;
  for (var t = 0u; t < ${MAXB}u; t++) { acc[t] = ${zero}; }
  if (live) {
    for (var u = lane; u < ${f.units}; u += TPR) {${f.body}
    }
  }${reduce}
  if (!live) { return; }
  for (var t = lane; t < nt; t += TPR) {
    var v = ${fin} * P.scale;
    let row = P.row0 + r;
    if (P.has_bias == 1u) { v = v + BIAS[row]; }
    let i = t * P.ldy + row;
    if (P.mode == 0u) { Y[i] = v; }
    else if (P.mode == 1u) { Y[i] = Y[i] + v; }
    else {
      let g = Y[i];
      var a: f32;
      if (P.act == 1u) { let z = max(g, 0.0); a = z * z; } else { a = g / (1.0 + exp(-g)); }
      Y[i] = a * v;
    }
  }
}
`;
}

// ---- activation quantizers ------------------------------------------------------------------------

const Q_PARAMS = /* wgsl */ `
struct QP { n_in: u32, tok_sel: u32, _a: u32, _b: u32 }
@group(0) @binding(0) var<uniform> P: QP;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read_write> AQ: array<u32>;
@group(0) @binding(4) var<storage, read_write> AD: array<f32>;
fn pack4(a: i32, b: i32, c: i32, d: i32) -> u32 {
  return (bitcast<u32>(a) & 0xffu) | ((bitcast<u32>(b) & 0xffu) << 8u) | ((bitcast<u32>(c) & 0xffu) << 16u) | (bitcast<u32>(d) << 24u);
}
`;

/** Q8_K: dispatch (n_in/256, n_tok); `lanes` threads (64 or 1) share a block, 256/lanes elements each. */
export function quantQ8KWGSL(lanes) {
    const per = 256 / lanes;
    return Q_PARAMS + /* wgsl */ `
var<workgroup> am: array<f32, ${lanes}>;
var<workgroup> ai: array<u32, ${lanes}>;
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let nb = P.n_in / 256u;
  let t = wid.y; let b = wid.x;
  let base = t * P.n_in + b * 256u;
  let e0 = ${per}u * lid;
  var m = 0.0; var mi = 0u;
  for (var k = 0u; k < ${per}u; k++) {
    let x = abs(X[base + e0 + k]);
    if (x > m) { m = x; mi = e0 + k; }
  }
  am[lid] = m; ai[lid] = mi;
  ${tree(lanes, `// the larger |x|; on ties the lower index (the CPU loop keeps the first)
      let m2 = am[lid + s]; let i2 = ai[lid + s];
      if (m2 > am[lid] || (m2 == am[lid] && i2 < ai[lid])) { am[lid] = m2; ai[lid] = i2; }`)}
  let amax = am[0];
  var iscale = 0.0;
  if (amax > 0.0) { iscale = -127.0 / X[base + ai[0]]; }
  for (var w = 0u; w < ${per / 4}u; w++) {
    var q: array<i32, 4>;
    for (var k = 0u; k < 4u; k++) { q[k] = min(127, i32(round(iscale * X[base + e0 + 4u * w + k]))); }
    AQ[(base + e0) / 4u + w] = pack4(q[0], q[1], q[2], q[3]);
  }
  if (lid == 0u) { AD[t * nb + b] = select(0.0, 1.0 / iscale, amax > 0.0); }
}
`;
}

/** Q8_0: dispatch (n_in/32, n_tok); `lanes` threads (32 or 1), 32/lanes elements each. */
export function quantQ80WGSL(lanes) {
    const per = 32 / lanes;
    return Q_PARAMS + /* wgsl */ `
var<workgroup> am: array<f32, ${lanes}>;
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let nb = P.n_in / 32u;
  let t = wid.y; let b = wid.x;
  let base = t * P.n_in + b * 32u;
  var m = 0.0;
  for (var k = 0u; k < ${per}u; k++) { m = max(m, abs(X[base + ${per}u * lid + k])); }
  am[lid] = m;
  ${tree(lanes, 'am[lid] = max(am[lid], am[lid + s]);')}
  let amax = am[0];
  let id = select(0.0, 127.0 / amax, amax != 0.0);
  for (var w = lid; w < 8u; w += ${lanes}u) {
    var q: array<i32, 4>;
    for (var k = 0u; k < 4u; k++) { q[k] = i32(round(X[base + 4u * w + k] * id)); }
    AQ[base / 4u + w] = pack4(q[0], q[1], q[2], q[3]);
  }
  if (lid == 0u) { AD[t * nb + b] = unpack2x16float(pack2x16float(vec2f(amax / 127.0, 0.0))).x; }
}
`;
}

/** f16 activations (F16 weights): dispatch (ceil(n_in/2 / 64), n_tok); pack2x16float rounds to nearest even. */
export function quantF16WGSL() {
    return Q_PARAMS + /* wgsl */ `
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let w = gid.x; let t = gid.y;
  if (w >= P.n_in / 2u) { return; }
  let b = t * P.n_in + 2u * w;
  AQ[b / 2u] = pack2x16float(vec2f(X[b], X[b + 1u]));
}
`;
}

/** per-token int8 (I2_S): dispatch (1, n_tok), `lanes` threads (256 or 1); AD[t] = 127 / max(|x|, 1e-5). */
export function quantI8SWGSL(lanes) {
    return Q_PARAMS + /* wgsl */ `
var<workgroup> am: array<f32, ${lanes}>;
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.y;
  let base = t * P.n_in;
  var m = 1e-5;
  for (var i = lid; i < P.n_in; i += ${lanes}u) { m = max(m, abs(X[base + i])); }
  am[lid] = m;
  ${tree(lanes, 'am[lid] = max(am[lid], am[lid + s]);')}
  let sc = 127.0 / am[0];
  for (var w = lid; w < P.n_in / 4u; w += ${lanes}u) {
    var q: array<i32, 4>;
    for (var k = 0u; k < 4u; k++) { q[k] = clamp(i32(round(X[base + 4u * w + k] * sc)), -128, 127); }
    AQ[base / 4u + w] = pack4(q[0], q[1], q[2], q[3]);
  }
  if (lid == 0u) { AD[t] = sc; }
}
`;
}

// ---- rmsnorm, embedding -----------------------------------------------------------------------------

/** dispatch (n rows), `lanes` threads (256 or 1); sel 0: rows t < n_tok of X; sel 1: rows
 * out_first + t for t < n_out. */
export function rmsnormWGSL(lanes) {
    // The CPU sums the squares in double; a compensated (two-sum) f32 sum gets the same float mean
    // in practice, which matters because the next step rounds these values to int8.
    return STEP + /* wgsl */ `
struct NP { n: u32, sel: u32, eps: f32, _a: u32 }
@group(0) @binding(0) var<uniform> P: NP;
@group(0) @binding(2) var<storage, read> X: array<f32>;
@group(0) @binding(3) var<storage, read> NW: array<f32>;
@group(0) @binding(4) var<storage, read_write> Yn: array<f32>;
var<workgroup> sh: array<f32, ${lanes}>;
var<workgroup> sl: array<f32, ${lanes}>;
fn two_sum(a: f32, b: f32) -> vec2f { let s = a + b; let bb = s - a; return vec2f(s, (a - (s - bb)) + (b - bb)); }
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  let src = select(t, S.out_first + t, P.sel == 1u) * P.n;
  var hi = 0.0; var lo = 0.0;
  for (var i = lid; i < P.n; i += ${lanes}u) { let v = X[src + i]; let r = two_sum(hi, v * v); hi = r.x; lo += r.y; }
  sh[lid] = hi; sl[lid] = lo;
  ${tree(lanes, 'let r = two_sum(sh[lid], sh[lid + s]); sh[lid] = r.x; sl[lid] = sl[lid] + sl[lid + s] + r.y;')}
  let sum = two_sum(sh[0], sl[0]);
  // mean = (float)(sum / n) with sum = hi + lo: divide the pair, correct with the remainder
  let n = f32(P.n);
  let q = sum.x / n;
  let mean = q + ((sum.x - q * n) + sum.y) / n;
  let scale = 1.0 / sqrt(mean + P.eps);
  for (var i = lid; i < P.n; i += ${lanes}u) { Yn[t * P.n + i] = (X[src + i] * scale) * NW[i]; }
}
`;
}

// element i of row `row` of token_embd, per format (W/WD as in the matmul layouts)
const EMBED_ELEM = {
    f32: 'return bitcast<f32>(W[row * P.n + i]);',
    f16: 'return unpack2x16float(W[(row * P.n + i) / 2u])[i & 1u];',
    q8_0: `let bi = row * (P.n / 32u) + i / 32u;
  return f32(bitcast<i32>(W[bi * 8u + (i % 32u) / 4u] << (24u - 8u * (i % 4u))) >> 24u) * f16at(bi);`,
    tq2_0: `let bi = row * (P.n / 256u) + i / 256u; let e = i % 256u;
  let h = e / 128u; let n = (e % 128u) / 32u; let m = e % 32u;
  let byte = (W[bi * 16u + (32u * h + m) / 4u] >> (8u * (m % 4u))) & 0xffu;
  return f32(i32((byte >> (2u * n)) & 3u) - 1) * f16at(bi);`,
    tq1_0: `let bi = row * (P.n / 256u) + i / 256u; let e = i % 256u;
  var byte: u32; var l: u32;
  if (e < 160u) { byte = e % 32u; l = e / 32u; } else if (e < 240u) { byte = 32u + (e - 160u) % 16u; l = (e - 160u) / 16u; }
  else { byte = 48u + (e - 240u) % 4u; l = (e - 240u) / 4u; }
  let v = (W[bi * 13u + byte / 4u] >> (8u * (byte % 4u))) & 0xffu;
  var p = 1u; for (var k = 0u; k < l; k++) { p *= 3u; }
  return f32(i32((((v * p) & 0xffu) * 3u) >> 8u) - 1) * f16at(bi);`,
    q6_k: `let bi = row * (P.n / 256u) + i / 256u; let e = i % 256u;
  let n = e / 128u; let k = (e % 128u) / 32u; let l = e % 32u;
  let base = bi * 52u;
  let qlb = n * 64u + l + 32u * (k & 1u);
  let ql = (W[base + qlb / 4u] >> (8u * (qlb % 4u))) & 0xffu;
  let qhb = n * 32u + l;
  let qh = (W[base + 32u + qhb / 4u] >> (8u * (qhb % 4u))) & 0xffu;
  let lo = select(ql & 0xfu, ql >> 4u, k >= 2u);
  let q = i32(lo | (((qh >> (2u * k)) & 3u) << 4u)) - 32;
  let si = n * 8u + l / 16u + 2u * k;
  let sc = bitcast<i32>(W[base + 48u + si / 4u] << (24u - 8u * (si % 4u))) >> 24u;
  return (f16at(bi) * f32(sc)) * f32(q);`,
    i2_s: `let j = i % 128u; let byte = (i / 128u) * 32u + j % 32u;
  let c = ((W[row * (P.n / 16u) + byte / 4u] >> (8u * (byte % 4u))) >> (6u - 2u * (j / 32u))) & 3u;
  return select(select(0.0, 1.0, c == 2u), -1.0, c == 0u) * P.wscale;`,
};

export const EMBED_FORMATS = Object.keys(EMBED_ELEM);

/** dispatch (ceil(n / 64), n_tok), once per part of a split token_embd (rows row0 .. row0 + n_rows) */
export function embedWGSL(fmt) {
    return /* wgsl */ `
struct EP { n: u32, wscale: f32, row0: u32, n_rows: u32 }
@group(0) @binding(0) var<uniform> P: EP;
@group(0) @binding(2) var<storage, read> W: array<u32>;
@group(0) @binding(3) var<storage, read> WD: array<u32>;
@group(0) @binding(4) var<storage, read> TOK: array<u32>;
@group(0) @binding(5) var<storage, read_write> X: array<f32>;
fn f16at(i: u32) -> f32 { return unpack2x16float(WD[i >> 1u])[i & 1u]; }
fn elem(row: u32, i: u32) -> f32 {
  ${EMBED_ELEM[fmt]}
}
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3u) {
  let i = gid.x; let t = gid.y;
  let row = TOK[t];
  if (i >= P.n || row < P.row0 || row >= P.row0 + P.n_rows) { return; }   // another part has this row
  X[t * P.n + i] = elem(row - P.row0, i);
}
`;
}

// ---- rope + KV store, attention ------------------------------------------------------------------------

const KV_PARAMS = /* wgsl */ `
struct AP { hd: u32, n_rot: u32, n_head: u32, n_head_kv: u32, neox: u32, kv_row: u32, n_ctx: u32, kq_scale: f32 }
@group(0) @binding(0) var<uniform> P: AP;
`;

/** dispatch (n_tok), `lanes` threads (64 or 1). RoPE rotates q and k in place (table RT:
 * [pos][n_rot/2] (cos, sin)), then k and v of token t go to cache row pos0 + t. kv16: the cache holds
 * f16 pairs (pack2x16float). */
export function ropeKvWGSL(kv16, lanes) {
    const C = kv16 ? 'u32' : 'f32';
    const store = kv16 ?
        `for (var i = lid; i < P.kv_row / 2u; i += ${lanes}u) {
    let s = t * P.kv_row + 2u * i;
    KC[(pos * P.kv_row) / 2u + i] = pack2x16float(vec2f(K[s], K[s + 1u]));
    VC[(pos * P.kv_row) / 2u + i] = pack2x16float(vec2f(V[s], V[s + 1u]));
  }` :
        `for (var i = lid; i < P.kv_row; i += ${lanes}u) {
    KC[pos * P.kv_row + i] = K[t * P.kv_row + i];
    VC[pos * P.kv_row + i] = V[t * P.kv_row + i];
  }`;
    return KV_PARAMS + STEP + /* wgsl */ `
@group(0) @binding(2) var<storage, read> RT: array<f32>;
@group(0) @binding(3) var<storage, read_write> Q: array<f32>;
@group(0) @binding(4) var<storage, read_write> K: array<f32>;
@group(0) @binding(5) var<storage, read> V: array<f32>;
@group(0) @binding(6) var<storage, read_write> KC: array<${C}>;
@group(0) @binding(7) var<storage, read_write> VC: array<${C}>;
fn rot(base: u32, pair: u32) -> vec2u {
  let half = P.n_rot / 2u;
  let hh = pair / half; let i = pair % half;
  let a = select(2u * i, i, P.neox == 1u);
  let b = select(2u * i + 1u, i + half, P.neox == 1u);
  return vec2u(base + hh * P.hd + a, base + hh * P.hd + b);
}
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.x;
  let pos = S.pos0 + t;
  let half = P.n_rot / 2u;
  let nq = P.n_head * P.hd;
  for (var p = lid; p < P.n_head * half; p += ${lanes}u) {
    let ix = rot(t * nq, p);
    let c = RT[(pos * half + p % half) * 2u]; let s = RT[(pos * half + p % half) * 2u + 1u];
    let x0 = Q[ix.x]; let x1 = Q[ix.y];
    Q[ix.x] = x0 * c - x1 * s; Q[ix.y] = x0 * s + x1 * c;
  }
  for (var p = lid; p < P.n_head_kv * half; p += ${lanes}u) {
    let ix = rot(t * P.kv_row, p);
    let c = RT[(pos * half + p % half) * 2u]; let s = RT[(pos * half + p % half) * 2u + 1u];
    let x0 = K[ix.x]; let x1 = K[ix.y];
    K[ix.x] = x0 * c - x1 * s; K[ix.y] = x0 * s + x1 * c;
  }
  ${lanes > 1 ? 'storageBarrier();' : ''}
  ${store}
}
`;
}

/** dispatch (n_head, n_tok), `lanes` threads (64 or 1). Scores go to SC [t][head][n_ctx]. kv16: q
 * and the probabilities are rounded to f16 as ggml does with an F16 cache. */
export function attentionWGSL(kv16, lanes) {
    const C = kv16 ? 'u32' : 'f32';
    const kget = kv16 ? 'unpack2x16float(KC[(j * P.kv_row + ko + i) / 2u])[i & 1u]' : 'KC[j * P.kv_row + ko + i]';
    const vget = kv16 ? 'unpack2x16float(VC[(j * P.kv_row + ko + i) / 2u])[i & 1u]' : 'VC[j * P.kv_row + ko + i]';
    const r16 = kv16 ? 'r16' : '';
    const bar = lanes > 1 ? 'workgroupBarrier();' : '';
    return KV_PARAMS + STEP + /* wgsl */ `
@group(0) @binding(2) var<storage, read> Q: array<f32>;
@group(0) @binding(3) var<storage, read> KC: array<${C}>;
@group(0) @binding(4) var<storage, read> VC: array<${C}>;
@group(0) @binding(5) var<storage, read_write> SC: array<f32>;
@group(0) @binding(6) var<storage, read_write> O: array<f32>;
var<workgroup> qs: array<f32, 256>;
var<workgroup> red: array<f32, ${lanes}>;
fn r16(x: f32) -> f32 { return unpack2x16float(pack2x16float(vec2f(x, 0.0))).x; }
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let h = wid.x; let t = wid.y;
  let nq = P.n_head * P.hd;
  let n_kv = S.pos0 + t + 1u;
  let ko = (h / (P.n_head / P.n_head_kv)) * P.hd;
  let sb = (t * P.n_head + h) * P.n_ctx;
  for (var i = lid; i < P.hd; i += ${lanes}u) { qs[i] = ${r16}(Q[t * nq + h * P.hd + i]); }
  ${bar}
  var mx = -3.4e38;
  for (var j = lid; j < n_kv; j += ${lanes}u) {
    var s = 0.0;
    for (var i = 0u; i < P.hd; i++) { s += qs[i] * ${kget}; }
    let w = s * P.kq_scale;
    SC[sb + j] = w;
    mx = max(mx, w);
  }
  red[lid] = mx;
  ${tree(lanes, 'red[lid] = max(red[lid], red[lid + s]);')}
  let m = red[0];
  ${bar}
  var sum = 0.0;
  for (var j = lid; j < n_kv; j += ${lanes}u) { let e = exp(SC[sb + j] - m); SC[sb + j] = e; sum += e; }
  red[lid] = sum;
  ${lanes > 1 ? 'storageBarrier();' : ''}
  ${tree(lanes, 'red[lid] += red[lid + s];')}
  let inv = 1.0 / red[0];
  for (var i = lid; i < P.hd; i += ${lanes}u) {
    var acc = 0.0;
    for (var j = 0u; j < n_kv; j++) { acc += ${r16}(SC[sb + j] * inv) * ${vget}; }
    O[t * nq + h * P.hd + i] = acc;
  }
}
`;
}

/** dispatch (1, n rows), `lanes` threads (256 or 1): greedy token of each logits row, lowest id on ties. */
export function argmaxWGSL(lanes) {
    return /* wgsl */ `
struct GP { n: u32, _a: u32, _b: u32, _c: u32 }
@group(0) @binding(0) var<uniform> P: GP;
@group(0) @binding(2) var<storage, read> L: array<f32>;
@group(0) @binding(3) var<storage, read_write> OUT: array<u32>;
var<workgroup> bv: array<f32, ${lanes}>;
var<workgroup> bi: array<u32, ${lanes}>;
@compute @workgroup_size(${lanes})
fn main(@builtin(workgroup_id) wid: vec3u, @builtin(local_invocation_index) lid: u32) {
  let t = wid.y;
  var v = -3.4e38; var ix = 0xffffffffu;
  for (var i = lid; i < P.n; i += ${lanes}u) { let x = L[t * P.n + i]; if (x > v) { v = x; ix = i; } }
  bv[lid] = v; bi[lid] = ix;
  ${tree(lanes, `let v2 = bv[lid + s]; let i2 = bi[lid + s];
      if (v2 > bv[lid] || (v2 == bv[lid] && i2 < bi[lid])) { bv[lid] = v2; bi[lid] = i2; }`)}
  if (lid == 0u) { OUT[t] = bi[0]; }
}
`;
}
