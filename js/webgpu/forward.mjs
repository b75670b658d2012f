// forward.mjs: the WebGPU forward engine. It takes a model the wasm core has loaded, uploads its
// weights once in packed form, and runs the whole forward pass on the GPU: one command encoder and
// one submit per forward chunk (1..16 tokens), only the logits (or the greedy token) read back, every
// buffer, uniform and bind group made at create time (nothing is allocated per token).
//
//   import { loadTrit } from '../wasm.mjs';
//   import { WebGPUForward } from './webgpu/index.mjs';
//   const T = await loadTrit(); const f = await T.fetchModel(url);
//   const m = T.exports.trit_wasm_model_load(f.ptr, f.size) >>> 0;
//   const gpu = await WebGPUForward.create(T, m, { nCtx: 2048 });   // kv: 'auto' | 'f16' | 'f32'
//   const logits = await gpu.decode(promptIds, 'last');              // Float32Array [n_vocab]
//   const all = await gpu.decode(ids, 'all');                        // [ids.length * n_vocab]
//   const tok = await gpu.decode([t], 'argmax');                     // Int32Array [1]: greedy token
//   gpu.truncate(pos); gpu.pos; gpu.destroy();
//
// Semantics are trit_ctx_decode's: tokens go to positions pos..pos+n-1 of this context's KV cache.
// The wasm model must outlive the engine only during create() (weights are copied to the GPU then).
import * as K from './kernels.mjs';
import { describeAdapter, fail, getGPU, requestAdapter, requestDevice, WebGPUError } from './device.mjs';
import { describeModel, FORMATS, layoutBytes, repack, TT, typeName } from './model.mjs';

const U = 'uniform', R = 'read-only-storage', RW = 'storage';
const MB = K.MAXB;

// binding types per kernel kind (index = binding number; null = unused)
const LAYOUTS = {
    matmul: [U, U, R, R, R, R, RW, R],
    quant: [U, null, R, RW, RW],
    rmsnorm: [U, U, R, R, RW],
    embed: [U, null, R, R, R, RW],
    rope: [U, U, R, RW, RW, R, RW, RW],
    attention: [U, U, R, R, R, RW, RW],
    argmax: [U, null, R, RW],
};

const ACT_OF = t => FORMATS[t].act;

/** Sizes the engine would allocate for this model and options; used to check adapter limits. */
export function planBuffers(plan, o) {
    const hp = plan.hp;
    const nq = hp.n_head * hp.head_dim, kvr = hp.n_head_kv * hp.head_dim;
    const hmax = Math.max(hp.n_embd, nq, hp.n_ff);
    const esz = o.kv16 ? 2 : 4;
    const big = {   // buffers that cannot be split
        kvLayer: o.nCtx * kvr * esz, scores: MB * hp.n_head * o.nCtx * 4, logits: MB * hp.n_vocab * 4,
        h: MB * hmax * 4, act: MB * hmax * 2, rope: o.nCtx * hp.n_rot * 4,
    };
    let weights = 0, maxRow = 0;
    const mats = [plan.embd, ...(plan.output !== plan.embd ? [plan.output] : [])];
    for (const L of plan.layers) mats.push(L.wq, L.wk, L.wv, L.wo, L.wgate, L.wup, L.wdown);
    for (const t of mats) {
        const b = layoutBytes(t.type, t.n_in, t.n_out);
        weights += b.w + b.wd;
        maxRow = Math.max(maxRow, b.rowW);
    }
    const kv = 2 * hp.n_layer * big.kvLayer;
    const scratch = Object.values(big).reduce((a, b) => a + b, 0) - big.kvLayer + 4 * MB * (hp.n_embd * 2 + nq * 2 + kvr * 2 + hp.n_ff);
    return { big, weights, maxRow, kv, scratch, total: weights + kv + scratch };
}

/**
 * Does this model fit this adapter? Returns { ok, reason, bytes }. opts.maxBytes: a memory budget the
 * caller knows (WebGPU does not expose the adapter's memory size); opts.maxBindingBytes: pretend the
 * binding limit is this small (tests use it to force split tensors).
 */
export function fitsAdapter(plan, limits, opts = {}) {
    const nCtx = opts.nCtx || plan.hp.n_ctx_train;
    const kv16 = opts.kv16 || false;
    const p = planBuffers(plan, { nCtx, kv16 });
    const bind = Math.min(limits.maxStorageBufferBindingSize, limits.maxBufferSize, opts.maxBindingBytes || Infinity);
    for (const [k, v] of Object.entries(p.big))
        if (v > bind) return { ok: false, reason: `buffer '${k}' needs ${v} bytes > the adapter's binding limit ${bind}`, bytes: p.total };
    if (p.maxRow > bind) return { ok: false, reason: `a weight row needs ${p.maxRow} bytes > binding limit ${bind}`, bytes: p.total };
    if (opts.maxBytes && p.total > opts.maxBytes)
        return { ok: false, reason: `the model needs ~${p.total} bytes on the GPU > the budget ${opts.maxBytes}`, bytes: p.total };
    return { ok: true, reason: '', bytes: p.total };
}

/** True for software adapters (SwiftShader, llvmpipe/lavapipe, WARP): they get the one-thread kernels. */
export function isCpuAdapter(adapter) {
    if (!adapter) return false;
    if (adapter.isFallbackAdapter || (adapter.info && adapter.info.isFallbackAdapter)) return true;
    return /swiftshader|llvmpipe|lavapipe|software|warp|\bcpu\b/i.test(describeAdapter(adapter));
}

export class WebGPUForward {
    /**
     * opts: nCtx (default the model's n_ctx_train), kv ('auto' = f16 where the device has shader-f16,
     * else f32; or 'f16' / 'f32': f16 is stored packed in u32, so it works on every adapter), adapter /
     * device (else one is requested), maxBindingBytes (split tensors above this, default the limit),
     * maxBytes (memory budget for the fit check), dot4 (false: never use dot4I8Packed).
     * Errors (WebGPUError .code): NO_ADAPTER, UNSUPPORTED, DOES_NOT_FIT, GPU_ERROR.
     */
    static async create(T, model, opts = {}) {
        const plan = describeModel(T, model, fail);
        let device = opts.device, adapter = opts.adapter || null;
        const gpu = opts.gpu || await getGPU();
        if (!device) {
            if (!adapter) adapter = await requestAdapter(gpu);
            if (!adapter) throw fail('NO_ADAPTER', 'no WebGPU adapter');
        }
        const limits = device ? device.limits : adapter.limits;
        const hasF16 = device ? device.features.has('shader-f16') : adapter.features.has('shader-f16');
        const kv16 = opts.kv === 'f16' || ((opts.kv || 'auto') === 'auto' && hasF16);
        const nCtx = Math.min(opts.nCtx || plan.hp.n_ctx_train, 1 << 20);
        const fit = fitsAdapter(plan, limits, { nCtx, kv16, maxBindingBytes: opts.maxBindingBytes, maxBytes: opts.maxBytes });
        if (!fit.ok) throw fail('DOES_NOT_FIT', `model does not fit this WebGPU adapter: ${fit.reason}`);
        if (!device) device = await requestDevice(adapter);
        const lf = gpu && gpu.wgslLanguageFeatures;
        const cpu = opts.lanes ? opts.lanes === 'cpu' : isCpuAdapter(adapter);
        const dot4 = opts.dot4 !== false && !!(lf && lf.has('packed_4x8_integer_dot_product'));
        const e = new WebGPUForward(T, plan, device, adapter, { ...opts, kv16, nCtx, dot4, cpu });
        try {
            await e._init(T);
        } catch (err) {
            e.destroy();
            throw err instanceof WebGPUError ? err : fail('GPU_ERROR', `WebGPU setup failed: ${err.message}`, err);
        }
        return e;
    }

    constructor(T, plan, device, adapter, o) {
        this.plan = plan;
        this.hp = plan.hp;
        this.device = device;
        this.adapter = adapter;
        this.adapterName = adapter ? describeAdapter(adapter) : 'device given by the caller';
        this.kv16 = o.kv16;
        this.nCtx = o.nCtx;
        this.opts = o;
        this.bind = Math.min(device.limits.maxStorageBufferBindingSize, device.limits.maxBufferSize, o.maxBindingBytes || Infinity);
        this._pos = 0;
        this._buffers = [];
        this._lost = null;
        this._gpuError = null;
        this._queue = Promise.resolve();
        this.onDeviceLost = null;   // optional callback(info)
        device.lost.then(info => {
            this._lost = info;
            if (this.onDeviceLost) this.onDeviceLost(info);
        });
        if (device.addEventListener) device.addEventListener('uncapturederror', ev => { this._gpuError = ev.error; });
        this.dot4 = o.dot4;
        // threads per reduction: GPUs want wide workgroups; CPU adapters (SwiftShader) run barriers
        // very slowly, so there every reduction is one thread's loop and a matmul thread owns a row
        this.cpu = o.cpu;
        this.g = o.cpu ? { tpr: 1, rpw: 64, norm: 1, q8k: 1, q80: 1, i8s: 1, att: 1, rope: 1, argmax: 1 }
            : { tpr: 32, rpw: 2, norm: 256, q8k: 64, q80: 32, i8s: 256, att: 64, rope: 64, argmax: 256 };
        this.stats = { forwards: 0, tokens: 0 };
    }

    get pos() { return this._pos; }
    get kvType() { return this.kv16 ? 'f16' : 'f32'; }

    /** Forgets positions >= pos (speculative decoding's rollback). */
    truncate(pos) {
        if (!Number.isInteger(pos) || pos < 0 || pos > this._pos) throw fail('ARG', `truncate(${pos}): position must be in 0..${this._pos}`);
        this._pos = pos;
    }

    destroy() {
        if (this._destroyed) return;
        this._destroyed = true;
        for (const b of this._buffers) try { b.destroy(); } catch { /* already gone */ }
        this._buffers = [];
        if (!this.opts.device) try { this.device.destroy(); } catch { /* lost */ }
    }

    // ---- setup ----

    _buf(size, usage, label) {
        const b = this.device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage, label });
        this._buffers.push(b);
        return b;
    }

    _storage(size, label, extra = 0) { return this._buf(size, GPUBufferUsage.STORAGE | extra, label); }

    _upload(bytesOrFill, size, label) {   // storage buffer filled through its mapped range
        const b = this.device.createBuffer({ size: Math.max(16, Math.ceil(size / 4) * 4), usage: GPUBufferUsage.STORAGE, mappedAtCreation: true, label });
        this._buffers.push(b);
        const dst = new Uint8Array(b.getMappedRange());
        if (typeof bytesOrFill === 'function') bytesOrFill(dst);
        else dst.set(bytesOrFill);
        b.unmap();
        return b;
    }

    _uniform(words) {   // words: array of [value, 'u'|'f']
        const n = Math.ceil(words.length / 4) * 4;
        const b = this.device.createBuffer({ size: n * 4, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
        this._buffers.push(b);
        const ab = b.getMappedRange(), u = new Uint32Array(ab), f = new Float32Array(ab);
        words.forEach(([v, t], i) => { if (t === 'f') f[i] = v; else u[i] = v >>> 0; });
        b.unmap();
        return b;
    }

    _pipeline(kind, key, code) {
        const id = `${kind}:${key}`;
        if (this._pipes.has(id)) return this._pipes.get(id);
        const module = this.device.createShaderModule({ code, label: id });
        const bgl = this._layouts[kind];
        const p = this.device.createComputePipeline({
            label: id, layout: this.device.createPipelineLayout({ bindGroupLayouts: [bgl] }),
            compute: { module, entryPoint: 'main' },
        });
        this._pipes.set(id, p);
        return p;
    }

    _group(kind, buffers) {
        const entries = [];
        LAYOUTS[kind].forEach((t, i) => { if (t) entries.push({ binding: i, resource: { buffer: buffers[i] } }); });
        return this.device.createBindGroup({ layout: this._layouts[kind], entries });
    }

    _vec(t) {   // an F32 vector tensor uploaded as is
        if (!t) return null;
        const key = t.name;
        if (!this._vecs.has(key)) this._vecs.set(key, this._upload(this.T.u8.subarray(t.ptr, t.ptr + t.ne[0] * 4), t.ne[0] * 4, key));
        return this._vecs.get(key);
    }

    _weights(t) {   // matrix -> parts [{w, wd, row0, nrows}], rows split to fit the binding limit
        if (this._mats.has(t.name)) return this._mats.get(t.name);
        const one = layoutBytes(t.type, t.n_in, 1);
        const per = Math.max(1, Math.min(Math.floor(this.bind / one.rowW), one.rowWD ? Math.floor(this.bind / one.rowWD) : Infinity));
        // keep WD parts word aligned: an even number of rows when a row has an odd number of scales
        const step = one.rowWD && (t.n_in / t.fmt.blk) % 2 && per > 1 ? per - (per % 2) : per;
        const parts = [];
        for (let r0 = 0; r0 < t.n_out; r0 += step) {
            const n = Math.min(step, t.n_out - r0);
            const lb = layoutBytes(t.type, t.n_in, n);
            let wdBytes = null;
            const w = this._upload(dst => {
                if (lb.wd) { wdBytes = new Uint8Array(Math.ceil(lb.wd / 4) * 4); repack(this.T, t, r0, n, dst, wdBytes); }
                else repack(this.T, t, r0, n, dst, null);
            }, lb.w, `${t.name}[${r0}..]`);
            const wd = wdBytes ? this._upload(wdBytes, wdBytes.length, `${t.name}.d[${r0}..]`) : this._dummy;
            parts.push({ w, wd, row0: r0, nrows: n });
            this.stats.weightBytes = (this.stats.weightBytes || 0) + lb.w + lb.wd;
        }
        this._mats.set(t.name, parts);
        return parts;
    }

    async _init(T) {
        this.T = T;
        const dev = this.device, hp = this.hp, plan = this.plan;
        dev.pushErrorScope('out-of-memory');
        dev.pushErrorScope('validation');
        this._layouts = {};
        for (const [kind, types] of Object.entries(LAYOUTS)) {
            const entries = [];
            types.forEach((t, i) => { if (t) entries.push({ binding: i, visibility: GPUShaderStage.COMPUTE, buffer: { type: t } }); });
            this._layouts[kind] = dev.createBindGroupLayout({ entries, label: kind });
        }
        this._pipes = new Map();
        this._mats = new Map();
        this._vecs = new Map();
        const E = hp.n_embd, F = hp.n_ff, nq = hp.n_head * hp.head_dim, kvr = hp.n_head_kv * hp.head_dim, V = hp.n_vocab;
        const hmax = Math.max(E, nq, F);
        const S = GPUBufferUsage;
        this._dummy = this._storage(16, 'dummy');
        this._step = this._buf(16, S.UNIFORM | S.COPY_DST, 'step');
        this._tok = this._storage(MB * 4, 'tokens', S.COPY_DST);
        const x = this._storage(MB * E * 4, 'x'), h = this._storage(MB * hmax * 4, 'h');
        const q = this._storage(MB * nq * 4, 'q'), k = this._storage(MB * kvr * 4, 'k'), v = this._storage(MB * kvr * 4, 'v');
        const att = this._storage(MB * nq * 4, 'att'), g = this._storage(MB * F * 4, 'g');
        const aq = this._storage(MB * hmax * 2, 'act.q'), ad = this._storage(MB * Math.ceil(hmax / 32) * 4 + 64, 'act.d');
        const sc = this._storage(MB * hp.n_head * this.nCtx * 4, 'scores');
        this._logits = this._storage(MB * V * 4, 'logits', S.COPY_SRC);
        this._argmax = this._storage(MB * 4, 'argmax', S.COPY_SRC);
        this._readLogits = this._buf(MB * V * 4, S.MAP_READ | S.COPY_DST, 'logits.read');
        this._readArgmax = this._buf(MB * 4, S.MAP_READ | S.COPY_DST, 'argmax.read');
        const esz = this.kv16 ? 2 : 4;
        this._kc = []; this._vc = [];
        for (let l = 0; l < hp.n_layer; l++) {
            this._kc.push(this._storage(this.nCtx * kvr * esz, `k_cache.${l}`));
            this._vc.push(this._storage(this.nCtx * kvr * esz, `v_cache.${l}`));
        }
        // RoPE table [pos][n_rot/2] (cos, sin), computed as src/forward.c rope_cache() does in float
        const half = hp.n_rot / 2, f32 = Math.fround;
        const ts = f32(Math.pow(f32(hp.rope_base), f32(-2 / hp.n_rot)));
        const freqs = plan.ropeFreqs ? new Float32Array(T.u8.slice(plan.ropeFreqs.ptr, plan.ropeFreqs.ptr + half * 4).buffer) : null;
        const rope = this._upload(dst => {
            const rt = new Float32Array(dst.buffer, dst.byteOffset, this.nCtx * half * 2);
            for (let p = 0; p < this.nCtx; p++) {
                let theta = p;
                for (let i = 0; i < half; i++) {
                    const t = f32(f32(plan.ropeFreqScale) * f32(theta / (freqs ? freqs[i] : 1)));
                    rt[(p * half + i) * 2] = Math.cos(t);
                    rt[(p * half + i) * 2 + 1] = Math.sin(t);
                    theta = f32(theta * ts);
                }
            }
        }, this.nCtx * half * 8, 'rope');

        const ops = [];     // {pipe, group, wg(nt, nout) -> [x, y]} in forward order
        this._ops = ops;
        const G = this.g;
        const opts = { dot4: this.dot4, tpr: G.tpr, rpw: G.rpw };
        const ceil = (a, b) => Math.ceil(a / b);

        // embedding
        const et = plan.embd;
        for (const part of this._weights(et)) {
            ops.push({
                pipe: this._pipeline('embed', et.fmt.name, K.embedWGSL(et.fmt.name)),
                group: this._group('embed', [this._uniform([[E, 'u'], [et.wscale, 'f'], [part.row0, 'u'], [part.nrows, 'u']]),
                    null, part.w, part.wd, this._tok, x]),
                wg: nt => [ceil(E, 64), nt],
            });
        }

        let quantized = null;   // (src buffer, act kind, n) currently in aq/ad
        const norm = (src, w, dst, n, sel = 0) => (quantized = null, ops.push({
            pipe: this._pipeline('rmsnorm', '', K.rmsnormWGSL(G.norm)),
            group: this._group('rmsnorm', [this._uniform([[n, 'u'], [sel, 'u'], [hp.rms_eps, 'f']]), this._step, src, this._vec(w), dst]),
            wg: (nt, nout) => [sel ? nout : nt, 1],
        }));
        const quant = (src, act, n, sel = 0) => {
            const key = `${act}:${n}:${sel}`;
            if (quantized && quantized.src === src && quantized.key === key) return;
            quantized = { src, key };
            if (act === 'f32') return;
            const code = act === 'q8k' ? K.quantQ8KWGSL(G.q8k) : act === 'q80' ? K.quantQ80WGSL(G.q80) :
                act === 'f16' ? K.quantF16WGSL() : K.quantI8SWGSL(G.i8s);
            const nbx = act === 'q8k' ? n / 256 : act === 'q80' ? n / 32 : act === 'f16' ? ceil(n / 2, 64) : 1;
            ops.push({
                pipe: this._pipeline('quant', act, code),
                group: this._group('quant', [this._uniform([[n, 'u']]), null, src, aq, ad]),
                wg: (nt, nout) => [nbx, sel ? nout : nt],
            });
        };
        // y = W src (+ epilogue). mode 0 store, 1 add, 2 gate; sel 1 = LM head (n_out tokens)
        const matmul = (t, src, dst, { mode = 0, scale = 1, bias = null, sel = 0 } = {}) => {
            const act = ACT_OF(t.type);
            quant(src, act, t.n_in, sel);
            const actBuf = act === 'f32' ? src : aq;
            const nb = t.n_in / t.fmt.blk;
            for (const part of this._weights(t)) {
                const nwg = ceil(part.nrows, G.rpw), gx = Math.min(nwg, 32768), gy = ceil(nwg, gx);
                const u = this._uniform([[t.n_in, 'u'], [part.nrows, 'u'], [part.row0, 'u'], [t.n_out, 'u'],
                    [nb, 'u'], [gx, 'u'], [mode, 'u'], [hp.ffn_act, 'u'],
                    [scale, 'f'], [t.wscale, 'f'], [bias ? 1 : 0, 'u'], [sel, 'u']]);
                ops.push({
                    pipe: this._pipeline('matmul', t.fmt.name, K.matmulWGSL(t.fmt.name, opts)),
                    group: this._group('matmul', [u, this._step, part.w, part.wd, actBuf, ad, dst, this._vec(bias) || this._dummy]),
                    wg: () => [gx, gy],
                });
            }
        };
        const kvU = this._uniform([[hp.head_dim, 'u'], [hp.n_rot, 'u'], [hp.n_head, 'u'], [hp.n_head_kv, 'u'],
            [hp.rope_neox, 'u'], [kvr, 'u'], [this.nCtx, 'u'], [1 / Math.sqrt(hp.head_dim), 'f']]);
        for (let l = 0; l < hp.n_layer; l++) {
            const L = plan.layers[l];
            norm(x, L.attn_norm, h, E);
            matmul(L.wq, h, q, { scale: L.sq, bias: L.bq });
            matmul(L.wk, h, k, { scale: L.sk, bias: L.bk });
            matmul(L.wv, h, v, { scale: L.sv, bias: L.bv });
            ops.push({
                pipe: this._pipeline('rope', this.kvType, K.ropeKvWGSL(this.kv16, G.rope)),
                group: this._group('rope', [kvU, this._step, rope, q, k, v, this._kc[l], this._vc[l]]),
                wg: nt => [nt, 1],
            });
            ops.push({
                pipe: this._pipeline('attention', this.kvType, K.attentionWGSL(this.kv16, G.att)),
                group: this._group('attention', [kvU, this._step, q, this._kc[l], this._vc[l], sc, att]),
                wg: nt => [hp.n_head, nt],
            });
            quantized = null;
            let a = att;
            if (L.attn_sub_norm) { norm(att, L.attn_sub_norm, h, nq); a = h; }
            matmul(L.wo, a, x, { mode: 1, scale: L.so, bias: L.bo });
            quantized = null;
            norm(x, L.ffn_norm, h, E);
            matmul(L.wgate, h, g, { scale: L.sgate });
            matmul(L.wup, h, g, { mode: 2, scale: L.sup });
            quantized = null;
            let f = g;
            if (L.ffn_sub_norm) { norm(g, L.ffn_sub_norm, h, F); f = h; }
            matmul(L.wdown, f, x, { mode: 1, scale: L.sdown });
            quantized = null;
        }
        this._nBodyOps = ops.length;
        norm(x, plan.outputNorm, h, E, 1);
        matmul(plan.output, h, this._logits, { sel: 1 });
        this._nLogitOps = ops.length;
        ops.push({
            pipe: this._pipeline('argmax', '', K.argmaxWGSL(G.argmax)),
            group: this._group('argmax', [this._uniform([[V, 'u']]), null, this._logits, this._argmax]),
            wg: (nt, nout) => [1, nout],
        });
        const verr = await dev.popErrorScope();
        const merr = await dev.popErrorScope();
        if (verr) throw fail('GPU_ERROR', `WebGPU validation error during setup: ${verr.message}`);
        if (merr) throw fail('DOES_NOT_FIT', `out of GPU memory while uploading the model: ${merr.message}`);
    }

    // ---- forward ----

    /**
     * Runs tokens at positions pos..pos+n-1. mode 'last' -> Float32Array [n_vocab] (logits of the last
     * token), 'all' -> [n * n_vocab], 'none' -> null, 'argmax' -> Int32Array [1] (greedy token of the
     * last position), 'argmax-all' -> Int32Array [n]. Calls are serialized.
     * Errors: ARG, CTX_FULL (nothing changed), DEVICE_LOST, GPU_ERROR, DESTROYED.
     */
    decode(tokens, mode = 'last') {
        const run = this._queue.then(() => this._decode(tokens, mode));
        this._queue = run.catch(() => {});
        return run;
    }

    async _decode(tokens, mode) {
        if (this._destroyed) throw fail('DESTROYED', 'the WebGPU engine was destroyed');
        if (this._lost) throw fail('DEVICE_LOST', `the WebGPU device was lost: ${this._lost.message || this._lost.reason}`);
        if (!['last', 'all', 'none', 'argmax', 'argmax-all'].includes(mode)) throw fail('ARG', `unknown logits mode '${mode}'`);
        const n = tokens.length, V = this.hp.n_vocab;
        if (n === 0) return mode === 'none' ? null : mode.startsWith('argmax') ? new Int32Array(0) : new Float32Array(0);
        if (n > this.nCtx - this._pos) throw fail('CTX_FULL', `context full: ${n} tokens at position ${this._pos} exceed n_ctx ${this.nCtx}`);
        for (let i = 0; i < n; i++)
            if (!Number.isInteger(tokens[i]) || tokens[i] < 0 || tokens[i] >= V)
                throw fail('ARG', `token ${tokens[i]} at index ${i} is outside the vocabulary (0..${V - 1})`);
        const all = mode === 'all' || mode === 'argmax-all';
        const argmax = mode.startsWith('argmax');
        const out = mode === 'none' ? null : argmax ? new Int32Array(all ? n : 1) : new Float32Array(all ? n * V : V);
        const pos0 = this._pos;
        try {
            for (let i = 0; i < n; i += MB) {
                const nt = Math.min(MB, n - i);
                const last = i + nt === n;
                const nout = all ? nt : (last && mode !== 'none' ? 1 : 0);
                const rows = await this._forward(tokens, i, nt, nout, argmax);
                this._pos += nt;
                if (!rows) continue;
                if (argmax) out.set(rows, all ? i : 0);
                else out.set(rows, all ? i * V : 0);
            }
        } catch (e) {
            this._pos = pos0;
            if (e instanceof WebGPUError) throw e;
            if (this._lost) throw fail('DEVICE_LOST', `the WebGPU device was lost: ${this._lost.message || this._lost.reason}`, e);
            throw fail('GPU_ERROR', `WebGPU forward failed: ${e.message}`, e);
        }
        return out;
    }

    async _forward(tokens, i0, nt, nout, argmax) {
        const dev = this.device, V = this.hp.n_vocab;
        const tok = new Uint32Array(MB);
        for (let i = 0; i < nt; i++) tok[i] = tokens[i0 + i];
        dev.queue.writeBuffer(this._tok, 0, tok);
        dev.queue.writeBuffer(this._step, 0, new Uint32Array([nt, this._pos, nout, nt - nout]));
        dev.pushErrorScope('validation');
        const enc = dev.createCommandEncoder();
        const pass = enc.beginComputePass();
        const nOps = nout ? (argmax ? this._ops.length : this._nLogitOps) : this._nBodyOps;
        for (let i = 0; i < nOps; i++) {
            const op = this._ops[i];
            const [gx, gy] = op.wg(nt, nout);
            pass.setPipeline(op.pipe);
            pass.setBindGroup(0, op.group);
            pass.dispatchWorkgroups(gx, gy);
        }
        pass.end();
        const rb = argmax ? this._readArgmax : this._readLogits;
        const bytes = nout ? (argmax ? nout * 4 : nout * V * 4) : 0;
        if (bytes) enc.copyBufferToBuffer(argmax ? this._argmax : this._logits, 0, rb, 0, bytes);
        dev.queue.submit([enc.finish()]);
        const err = await dev.popErrorScope();
        if (err) throw fail('GPU_ERROR', `WebGPU error in the forward pass: ${err.message}`);
        this.stats.forwards++;
        this.stats.tokens += nt;
        if (!bytes) {
            await dev.queue.onSubmittedWorkDone();
            this._checkHealthy();
            return null;
        }
        await rb.mapAsync(GPUMapMode.READ, 0, bytes);
        try {
            this._checkHealthy();
            const src = rb.getMappedRange(0, bytes);
            return argmax ? new Int32Array(src.slice(0)) : new Float32Array(src.slice(0));
        } finally {
            rb.unmap();
        }
    }

    _checkHealthy() {
        if (this._lost) throw fail('DEVICE_LOST', `the WebGPU device was lost: ${this._lost.message || this._lost.reason}`);
        if (this._gpuError) {
            const e = this._gpuError;
            this._gpuError = null;
            throw fail('GPU_ERROR', `WebGPU error: ${e.message}`);
        }
    }

    /** What the engine runs on, for stats: { backend, adapter, kv, dot4, weightBytes, maxBinding }. */
    info() {
        return { backend: 'webgpu', adapter: this.adapterName, kv: this.kvType, dot4: this.dot4, nCtx: this.nCtx,
            weightBytes: this.stats.weightBytes || 0, maxBinding: this.bind };
    }
}

export { TT, typeName };
