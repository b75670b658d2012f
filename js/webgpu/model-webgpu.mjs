// model-webgpu.mjs: the package's 'webgpu' backend (js/backends.mjs): a model session with the
// interface of js/model-wasm.mjs whose forward pass runs on the GPU (forward.mjs). The wasm core still
// loads the file, tokenizes and samples; only the KV cache and the decode move to the GPU. It runs
// inside the model's worker (WebGPU exists in workers), behind the same worker protocol.
//
// Fallback rules (what the router relies on):
//   - at load, if there is no adapter, the adapter's limits do not fit the model, or a tensor type has
//     no WGSL kernel: with backend 'auto' the session stays on wasm (describe().backend = 'wasm',
//     describe().fallback = the reason); with backend 'webgpu' forced, load fails with NO_ROUTE /
//     UNSUPPORTED.
//   - if the device is lost (or a GPU error happens) mid-generation, that call fails with DEVICE_LOST
//     and the session moves to wasm for good (a fresh wasm KV cache; the engine's cache mirror is reset
//     by the failed call); describe() then reports backend 'wasm' and the reason.
import { TritError } from '../errors.mjs';
import { WasmModel } from '../model-wasm.mjs';
import { WebGPUForward } from './forward.mjs';
import { getGPU, requestAdapter } from './device.mjs';

export class WebGPUModel extends WasmModel {
    /** opts as WasmModel.create (which constructs this class), plus forced (backend 'webgpu' asked for
     * explicitly), role, webgpu: { allowFallbackAdapter, maxBindingBytes, maxBytes, kv, lanes }. */
    constructor(T, opts = {}) {
        super(T);
        this.gpu = null;
        this.fallback = null;
        this.gpuOpts = { ...(opts.webgpu || {}) };
        this.forced = !!opts.forced;
        this.role = opts.role || 'model';
        this.kvType = opts.kvType;
    }

    /** Tries the GPU first; the wasm context is made only when the session runs on wasm. */
    async _initContext(nCtx) {
        let why = null;
        try {
            const o = this.gpuOpts;
            const adapter = await requestAdapter(await getGPU());
            if (!adapter) throw new TritError('NO_ROUTE', 'no WebGPU adapter', { details: { why: 'no-adapter' } });
            const software = adapter.isFallbackAdapter || (adapter.info && adapter.info.isFallbackAdapter);
            if (software && !this.forced && !o.allowFallbackAdapter) {
                throw new TritError('NO_ROUTE', 'the WebGPU adapter is a software fallback (CPU emulation): wasm is faster',
                    { details: { why: 'software-adapter' } });
            }
            this.gpu = await WebGPUForward.create(this.T, this.m, {
                adapter, nCtx, kv: o.kv || (this.kvType === 'f32' ? 'f32' : 'auto'), lanes: o.lanes,
                maxBindingBytes: o.maxBindingBytes, maxBytes: o.maxBytes,
            });
            this.gpu.onDeviceLost = () => {};   // noticed by the next decode
            this.nCtx = nCtx;
            this.seq = new Int32Array(nCtx);
            this.c = 0;
            return;
        } catch (e) {
            if (this.gpu) { this.gpu.destroy(); this.gpu = null; }
            if (this.forced) throw e instanceof TritError ? e : new TritError('NO_ROUTE', `WebGPU: ${e.message}`, { cause: e });
            why = e.message;
        }
        this.fallback = `WebGPU not used: ${why}`;
        await super._initContext(nCtx);
    }

    /** Moves the session to wasm after a GPU failure (a fresh, empty wasm KV cache). */
    async _toWasm(reason) {
        if (this.gpu) { try { this.gpu.destroy(); } catch { /* lost already */ } }
        this.gpu = null;
        this.fallback = reason;
        this.n = 0;
        await super._initContext(this.nCtx);
    }

    _truncate(keep) {
        if (this.gpu) { this.gpu.truncate(keep); this.n = keep; return; }
        super._truncate(keep);
    }

    /** As WasmModel._feed (returns the heap address of the logits rows), with the decode on the GPU. */
    async _feed(keep, append, mode) {
        if (!this.gpu) return super._feed(keep, append, mode);
        const n = this._check(keep, append);
        if (keep < this.n) this._truncate(keep);
        if (n === 0) return 0;
        const rows = mode === 'all' ? n : mode === 'last' ? 1 : 0;
        const logits = await this._gpuDecode(append, mode);
        let lp = 0;
        if (rows) {
            lp = this._buf('logits', 4 * this.V * rows);
            this.T.f32.set(logits, lp >>> 2);
        }
        this.seq.set(append, this.n);
        this.n += n;
        return lp;
    }

    _check(keep, append) {
        if (!(keep >= 0 && keep <= this.n)) throw new TritError('INTERNAL', `keep ${keep} is outside the cached ${this.n} tokens`);
        const n = append ? append.length : 0;
        if (keep + n > this.nCtx) {
            throw new TritError('CONTEXT_LENGTH_EXCEEDED', `${keep + n} tokens do not fit into the context of ${this.nCtx}`);
        }
        for (let i = 0; i < n; i++) {
            const t = append[i];
            if (!(Number.isInteger(t) && t >= 0 && t < this.V)) throw new TritError('BAD_ARGUMENT', `token id ${t} is out of range`);
        }
        return n;
    }

    async _gpuDecode(append, mode) {
        try {
            return await this.gpu.decode(Array.from(append), mode);
        } catch (e) {
            if (e && (e.code === 'DEVICE_LOST' || e.code === 'GPU_ERROR')) {
                const msg = `the WebGPU device failed during decoding (${e.message}); this request failed and the ${this.role} model continues on wasm`;
                await this._toWasm(msg);
                throw new TritError('DEVICE_LOST', msg, { cause: e, details: { role: this.role, from: 'webgpu', to: 'wasm' } });
            }
            throw e;
        }
    }

    /** Greedy target-only steps read back the chosen token only (4 bytes instead of a logits row). */
    async next(keep, append) {
        const sp = this.sampling;
        if (!this.gpu || sp.temperature > 0 || sp.repeat_penalty !== 1) return super.next(keep, append);
        const n = this._check(keep, append);
        if (n === 0) throw new TritError('INTERNAL', 'next() needs at least one token to decode');
        if (keep < this.n) this._truncate(keep);
        const tok = await this._gpuDecode(append, 'argmax');
        this.seq.set(append, this.n);
        this.n += n;
        return tok[0];
    }

    async resize(nCtx) {
        if (!this.gpu) return super.resize(nCtx);
        const old = this.gpu;
        this.gpu = null;
        old.destroy();
        this.n = 0;
        this.fallback = null;
        await this._initContext(nCtx);
        return this.describe();
    }

    describe() {
        const d = super.describe();
        d.backend = this.gpu ? 'webgpu' : 'wasm';
        d.webgpu = this.gpu ? this.gpu.info() : null;
        d.fallback = this.fallback;
        return d;
    }

    memory() {
        return { ...super.memory(), gpu_bytes: this.gpu ? this.gpu.info().weightBytes : 0, backend: this.gpu ? 'webgpu' : 'wasm' };
    }

    /** Test hook: loses the GPU device for real (device.destroy()); the next decode sees it. */
    loseDevice() {
        if (!this.gpu) return false;
        this.gpu.device.destroy();
        return true;
    }

    free() {
        if (this.gpu) { this.gpu.destroy(); this.gpu = null; }
        super.free();
    }
}
