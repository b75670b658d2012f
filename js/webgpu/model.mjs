// model.mjs: what the WebGPU backend needs to know about a model the wasm core has loaded (hparams,
// tensor views), the GPU layouts of the weight formats, and the repacking into them.
//
// The wasm module keeps parsing the GGUF (and does tokenization and sampling); this file reads its
// tensor views through two small exports of src/wasm_api.c (trit_wasm_tensor_view,
// trit_wasm_rope_freq_scale) and never copies a whole tensor in JS: repack() writes straight into a
// GPU buffer's mapped range.

export const TT = { F32: 0, F16: 1, Q8_0: 8, Q6_K: 14, BF16: 30, TQ1_0: 34, TQ2_0: 35, I2_S: 36 };

// GPU layout per ggml type. blk: weights per block; bytes: file bytes per block; words: u32 words per
// block in W; payload: [byte offset, length] of the block part that goes to W; d: byte offset of the
// fp16 block scale that goes to WD (none: no WD); act: activation quantization the matmul reads.
export const FORMATS = {
    [TT.F32]: { name: 'f32', blk: 1, bytes: 4, act: 'f32' },
    [TT.F16]: { name: 'f16', blk: 2, bytes: 4, act: 'f16' },
    [TT.Q8_0]: { name: 'q8_0', blk: 32, bytes: 34, words: 8, payload: [2, 32], d: 0, act: 'q80' },
    [TT.Q6_K]: { name: 'q6_k', blk: 256, bytes: 210, words: 52, payload: [0, 208], d: 208, act: 'q8k' },
    [TT.TQ1_0]: { name: 'tq1_0', blk: 256, bytes: 54, words: 13, payload: [0, 52], d: 52, act: 'q8k' },
    [TT.TQ2_0]: { name: 'tq2_0', blk: 256, bytes: 66, words: 16, payload: [0, 64], d: 64, act: 'q8k' },
    [TT.I2_S]: { name: 'i2_s', blk: 128, bytes: 32, act: 'i8s' },
};

const TYPE_NAMES = { 0: 'F32', 1: 'F16', 8: 'Q8_0', 14: 'Q6_K', 30: 'BF16', 34: 'TQ1_0', 35: 'TQ2_0', 36: 'I2_S' };
export const typeName = t => TYPE_NAMES[t] || `type ${t}`;

/** Bytes of W and WD for n_rows rows of n_in weights. */
export function layoutBytes(type, n_in, n_rows) {
    const f = FORMATS[type];
    const nb = n_in / f.blk;
    const w = nb * n_rows * (f.words ? f.words * 4 : f.bytes);
    const wd = f.d === undefined ? 0 : Math.ceil(nb * n_rows / 2) * 4;
    return { w, wd, rowW: nb * (f.words ? f.words * 4 : f.bytes), rowWD: f.d === undefined ? 0 : nb * 2 };
}

function f32bits(i) { const b = new ArrayBuffer(4); new Int32Array(b)[0] = i; return new Float32Array(b)[0]; }

/**
 * Reads hyperparameters and tensor views of a model loaded by the wasm core. Returns
 * { hp, tensors: Map(name -> {name, type, ne, nbytes, ptr}), layers: [...], embd, output, outputNorm,
 *   ropeFreqs, ropeFreqScale }. Throws (with a `code` from the caller's error helper) for what the
 *   WebGPU backend does not support.
 */
export function describeModel(T, m, fail) {
    const X = T.exports;
    const p = T.malloc(96);
    try {
        X.trit_wasm_model_info(m, p);
        const I = T.i32.subarray(p / 4, p / 4 + 24);
        const hp = {
            arch: I[0], archName: T.cstr(I[1] >>> 0), n_vocab: I[2], n_ctx_train: I[3], n_embd: I[4],
            n_layer: I[5], n_head: I[6], n_head_kv: I[7], head_dim: I[8], n_ff: I[9], n_rot: I[10],
            rms_eps: f32bits(I[11]), rope_base: f32bits(I[12]), ffn_act: I[13], rope_neox: I[14],
            tied_output: I[15],
        };
        const tensors = new Map();
        const n = X.trit_model_n_tensors(m);
        for (let i = 0; i < n; i++) {
            if (X.trit_wasm_tensor_view(m, i, p) !== 0) break;
            const v = T.i32.subarray(p / 4, p / 4 + 10);
            const name = T.cstr(v[8] >>> 0, v[9]);
            tensors.set(name, {
                name, type: v[0], ne: [v[1], v[2], v[3], v[4]],
                nbytes: (v[5] >>> 0) + (v[6] >>> 0) * 2 ** 32, ptr: v[7] >>> 0,
            });
        }
        const ropeFreqScale = X.trit_wasm_rope_freq_scale(m);
        return buildPlan(T, hp, tensors, ropeFreqScale, fail);
    } finally {
        T.free(p);
    }
}

function buildPlan(T, hp, tensors, ropeFreqScale, fail) {
    const get = (name, required = true) => {
        const t = tensors.get(name);
        if (!t && required) throw fail('UNSUPPORTED', `tensor '${name}' is missing`);
        return t || null;
    };
    const f32vec = name => {
        const t = get(name, false);
        if (!t) return null;
        if (t.type !== TT.F32) throw fail('UNSUPPORTED', `tensor '${name}' is ${typeName(t.type)}; the WebGPU backend reads F32 vectors`);
        return t;
    };
    const scalar = name => {   // optional 1-element .scale tensor (plain bitnet arch), F32 or F16
        const t = tensors.get(name);
        if (!t) return 1;
        if (t.type === TT.F32) return new Float32Array(T.u8.slice(t.ptr, t.ptr + 4).buffer)[0];
        const h = T.u8[t.ptr] | T.u8[t.ptr + 1] << 8;
        return f16ToF32(h);
    };
    const mat = (name, matmul = true) => {
        const t = get(name);
        const f = FORMATS[t.type];
        if (!f || (matmul && t.type === TT.BF16)) throw fail('UNSUPPORTED', `tensor '${name}' has type ${typeName(t.type)}, which the WebGPU backend does not read`);
        const n_in = t.ne[0], n_out = t.ne[1];
        if (n_in % f.blk || n_in % 4) throw fail('UNSUPPORTED', `tensor '${name}': row length ${n_in} does not suit the GPU layout`);
        let wscale = 1;
        if (t.type === TT.I2_S) wscale = new Float32Array(T.u8.slice(t.ptr + n_in / 4 * n_out, t.ptr + n_in / 4 * n_out + 4).buffer)[0];
        return { ...t, fmt: f, n_in, n_out, wscale };
    };
    if (hp.head_dim > 256) throw fail('UNSUPPORTED', `head_dim ${hp.head_dim} > 256`);
    if (hp.n_rot % 2 || hp.head_dim % 2) throw fail('UNSUPPORTED', 'odd head_dim / n_rot');
    const plainBitnet = hp.arch === 0;
    const layers = [];
    for (let l = 0; l < hp.n_layer; l++) {
        const b = s => `blk.${l}.${s}`;
        layers.push({
            attn_norm: f32vec(b('attn_norm.weight')), ffn_norm: f32vec(b('ffn_norm.weight')),
            attn_sub_norm: f32vec(b('attn_sub_norm.weight')), ffn_sub_norm: f32vec(b('ffn_sub_norm.weight')),
            wq: mat(b('attn_q.weight')), wk: mat(b('attn_k.weight')), wv: mat(b('attn_v.weight')),
            wo: mat(b('attn_output.weight')), wgate: mat(b('ffn_gate.weight')), wup: mat(b('ffn_up.weight')),
            wdown: mat(b('ffn_down.weight')),
            sq: plainBitnet ? scalar(b('attn_q.scale')) : 1, sk: plainBitnet ? scalar(b('attn_k.scale')) : 1,
            sv: plainBitnet ? scalar(b('attn_v.scale')) : 1, so: plainBitnet ? scalar(b('attn_output.scale')) : 1,
            sgate: plainBitnet ? scalar(b('ffn_gate.scale')) : 1, sup: plainBitnet ? scalar(b('ffn_up.scale')) : 1,
            sdown: plainBitnet ? scalar(b('ffn_down.scale')) : 1,
            bq: plainBitnet ? null : f32vec(b('attn_q.bias')), bk: plainBitnet ? null : f32vec(b('attn_k.bias')),
            bv: plainBitnet ? null : f32vec(b('attn_v.bias')), bo: plainBitnet ? null : f32vec(b('attn_output.bias')),
        });
        if (!layers[l].attn_norm || !layers[l].ffn_norm) throw fail('UNSUPPORTED', `layer ${l}: norms missing`);
    }
    const embd = mat('token_embd.weight', false);
    if (embd.type === TT.BF16) throw fail('UNSUPPORTED', 'BF16 token_embd is not supported by the WebGPU backend');
    const output = hp.tied_output ? embd : mat('output.weight');
    const outputNorm = f32vec('output_norm.weight');
    const ropeFreqs = f32vec('rope_freqs.weight');
    return { hp, tensors, layers, embd, output, outputNorm, ropeFreqs, ropeFreqScale };
}

export function f16ToF32(h) {
    const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 31, m = h & 1023;
    if (e === 0) return s * m * 2 ** -24;
    if (e === 31) return m ? NaN : s * Infinity;
    return s * (1 + m / 1024) * 2 ** (e - 15);
}

/**
 * Repacks rows [r0, r0 + n) of matrix t (in wasm memory) into w (Uint8Array of layoutBytes().w) and
 * wd (of .wd bytes, or null): the block payloads in order as u32 words, the fp16 scales side by side.
 */
export function repack(T, t, r0, n, w, wd) {
    const f = t.fmt;
    const { rowW } = layoutBytes(t.type, t.n_in, 1);
    if (!f.words) {   // F32, F16, I2_S: rows as stored
        const off = t.ptr + r0 * rowW;
        w.set(T.u8.subarray(off, off + n * rowW));
        return;
    }
    const nb = t.n_in / f.blk, nblk = nb * n;
    const src = T.u8, base = t.ptr + r0 * nb * f.bytes;
    const [po, pl] = f.payload;
    if (base % 2 === 0) {   // u16 copies (block sizes and offsets are even)
        const s16 = new Uint16Array(src.buffer, base, nblk * f.bytes / 2);
        const w16 = new Uint16Array(w.buffer, w.byteOffset, w.byteLength / 2);
        const d16 = new Uint16Array(wd.buffer, wd.byteOffset, wd.byteLength / 2);
        const bs = f.bytes / 2, p0 = po / 2, pn = pl / 2, dd = f.d / 2;
        for (let b = 0, so = 0, wo = 0; b < nblk; b++, so += bs, wo += pn) {
            for (let k = 0; k < pn; k++) w16[wo + k] = s16[so + p0 + k];
            d16[b] = s16[so + dd];
        }
    } else {
        for (let b = 0; b < nblk; b++) {
            const so = base + b * f.bytes;
            w.set(src.subarray(so + po, so + po + pl), b * pl);
            wd[2 * b] = src[so + f.d];
            wd[2 * b + 1] = src[so + f.d + 1];
        }
    }
}
