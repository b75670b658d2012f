// model-wasm.mjs: one model on the wasm backend (the C core through js/wasm.mjs), as a "model session":
// the weights, one KV cache (one sequence), and the samplers. It runs wherever it is created: inside
// a model worker (js/worker.mjs) or inline in the calling thread; the engine talks to it through the
// same method calls either way (protocol.mjs carries them across the worker boundary).
//
// Sequence state: `seq` mirrors the tokens in the KV cache. Every generating call takes
// {keep, append}: the cache is first cut back to `keep` tokens, then `append` is decoded, so the
// coordinator can roll back (speculative decoding) and reuse a shared prompt prefix with one call.
//
// Sampling: a request's parameters are installed with begin(). Two C samplers are used: `probsS`
// computes the sampling distribution (trit_sampler_probs, with the repetition-penalty history rebuilt
// from `seq` so that rollbacks are exact) and `rngS` holds the request's seeded RNG (draws, uniforms).

import { loadTrit } from './wasm.mjs';
import { TritError } from './errors.mjs';
import { readModel } from './loader.mjs';

const TOK_ADD_SPECIAL = 1, TOK_PARSE_SPECIAL = 2;
const LOGITS_NONE = 0, LOGITS_LAST = 1, LOGITS_ALL = 2;
const ERR = { '-1': 'BAD_ARGUMENT', '-2': 'OUT_OF_MEMORY', '-3': 'BAD_MODEL', '-4': 'BAD_MODEL', '-5': 'CONTEXT_LENGTH_EXCEEDED' };
const REPEAT_LAST_N = 64;                 // trit_wasm_sampler_init keeps the core's default

/** Sampling parameters as the engine passes them (already validated). */
function isGreedy(s) { return !(s.temperature > 0); }

export class WasmModel {
    /**
     * Loads the wasm build and the model. opts: {source, build?, contextLength?, kvType?, batch?,
     * onProgress?, signal?, platform, cache?}. Throws TritError (BAD_MODEL, OUT_OF_MEMORY, ...).
     */
    static async create(opts) {
        // threads > 1 takes a threaded build where the wasm loader has one (and shared memory exists)
        const T = await loadTrit({ build: opts.build || undefined, threads: opts.threads || 1 });
        const self = new this(T, opts);     // a subclass (js/webgpu/model-webgpu.mjs) gets its options too
        try {
            await self._load(opts);
        } catch (e) {
            self.free();
            throw e;
        }
        return self;
    }

    constructor(T) {
        this.T = T;
        this.X = T.exports;
        this.m = 0; this.c = 0; this.file = 0;
        this.probsS = 0; this.rngS = 0;
        this.seq = new Int32Array(0);
        this.n = 0;                          // tokens in the KV cache (= valid prefix of seq)
        this.bufs = {};                       // named heap buffers, grown on demand
        this.sampling = { temperature: 0, top_k: 0, top_p: 1, min_p: 0, repeat_penalty: 1 };
    }

    async _load(opts) {
        const T = this.T, X = this.X;
        const sink = heapSink(T);
        const got = await readModel(opts.source, sink, { onProgress: opts.onProgress, signal: opts.signal,
            platform: opts.platform, cache: opts.cache });
        const { ptr, size } = sink.finish();
        this.file = ptr;
        this.loadInfo = got;
        const m = X.trit_wasm_model_load(ptr, size) >>> 0;
        if (!m) throw new TritError('BAD_MODEL', `cannot load the model: ${T.lastError()}`);
        this.m = m;
        this.hp = modelInfo(T, m);
        const V = this.hp.n_vocab;
        const want = opts.contextLength > 0 ? opts.contextLength : Math.min(this.hp.n_ctx_train, 4096);
        const nCtx = Math.max(1, Math.min(want, 1 << 20));
        this.V = V;
        this.ctxOpts = { batch: opts.batch > 0 ? opts.batch : 64, kv: opts.kvType === 'f32' ? 1 : 0 };
        await this._initContext(nCtx, opts);
        this._buf('probs', 4 * V);
        this.begin({ temperature: 0, seed: 0 });
    }

    /** The KV cache of nCtx positions (a hook: the WebGPU backend keeps its cache on the GPU). */
    async _initContext(nCtx) {
        const T = this.T, X = this.X;
        const c = X.trit_wasm_ctx_init(this.m, nCtx, this.ctxOpts.batch, this.ctxOpts.kv) >>> 0;
        if (!c) {
            const msg = T.lastError();
            throw new TritError(/memory/.test(msg) ? 'OUT_OF_MEMORY' : 'BAD_ARGUMENT', `cannot create a context of ${nCtx} tokens: ${msg}`);
        }
        this.c = c;
        if (T.attachPool) T.attachPool(c);               // the threaded build's pool (no-op without one)
        this.nCtx = X.trit_ctx_n_ctx(c);
        this.seq = new Int32Array(this.nCtx);
    }

    /** Replaces the context with one of nCtx positions (the cache starts empty). Returns describe(). */
    resize(nCtx) {
        const X = this.X;
        const c = X.trit_wasm_ctx_init(this.m, nCtx, this.ctxOpts.batch, this.ctxOpts.kv) >>> 0;
        if (!c) throw new TritError('OUT_OF_MEMORY', `cannot create a context of ${nCtx} tokens: ${this.T.lastError()}`);
        X.trit_ctx_free(this.c);
        this.c = c;
        if (this.T.attachPool) this.T.attachPool(c);
        this.nCtx = X.trit_ctx_n_ctx(c);
        this.seq = new Int32Array(this.nCtx);
        this.n = 0;
        return this.describe();
    }

    /** The text of a (control) token as written in prompts, e.g. '<s>' ('' for none). */
    tokenText(id) {
        if (id < 0) return '';
        const p = this._buf('piece', 256);
        const n = this.X.trit_token_to_piece(this.m, id, p, 256, TOK_PARSE_SPECIAL);
        return n > 0 ? this.T.cstr(p, Math.min(n, 256)) : '';
    }

    /** A named heap buffer of at least `bytes` (contents not preserved on growth). */
    _buf(name, bytes) {
        const b = this.bufs[name];
        if (b && b.cap >= bytes) return b.ptr;
        if (b) this.T.free(b.ptr);
        const cap = Math.max(bytes, b ? b.cap * 2 : 0, 64);
        const ptr = this.X.malloc(cap) >>> 0;
        if (!ptr) { delete this.bufs[name]; throw new TritError('OUT_OF_MEMORY', `out of wasm memory (${cap} bytes for ${name})`); }
        this.bufs[name] = { ptr, cap };
        return ptr;
    }

    free() {
        const X = this.X;
        if (this.probsS) X.trit_sampler_free(this.probsS);
        if (this.rngS) X.trit_sampler_free(this.rngS);
        for (const k of Object.keys(this.bufs)) this.T.free(this.bufs[k].ptr);
        this.bufs = {};
        if (this.c) X.trit_ctx_free(this.c);
        if (this.m) X.trit_model_free(this.m);
        if (this.file) this.T.free(this.file);
        this.c = this.m = this.file = this.probsS = this.rngS = 0;
        if (this.T.close) this.T.close();                 // the threaded build's workers
    }

    // ---- description ----------------------------------------------------------------------------

    meta(key) {
        const T = this.T, X = this.X;
        const k = T.bytesIn(key);
        try {
            const n = X.trit_model_meta(this.m, k.ptr, 0, 0);
            if (n < 0) return null;
            const p = this._buf('meta', n + 1);
            X.trit_model_meta(this.m, k.ptr, p, n + 1);
            return T.cstr(p, n);
        } finally {
            T.free(k.ptr);
        }
    }

    /** What the engine needs to know about the model (plain data). */
    describe() {
        const hp = this.hp;
        return {
            backend: 'wasm', build: this.T.build, threads: this.T.threads || 1, arch: hp.arch_name, name: this.meta('general.name'),
            n_vocab: hp.n_vocab, n_ctx_train: hp.n_ctx_train, n_ctx: this.nCtx, n_embd: hp.n_embd,
            n_layer: hp.n_layer, n_head: hp.n_head, n_head_kv: hp.n_head_kv, n_ff: hp.n_ff,
            bos: hp.bos, eos: hp.eos, eot: hp.eot, add_bos: hp.add_bos,
            bos_text: this.tokenText(hp.bos), eos_text: this.tokenText(hp.eos),
            n_params: Number(hp.n_params), weight_bytes: Number(hp.weight_bytes),
            file_bytes: this.loadInfo.size, sha256: this.loadInfo.sha256 || null, from_cache: !!this.loadInfo.fromCache,
            chat_template: this.meta('tokenizer.chat_template'),
            tokenizer_model: this.meta('tokenizer.ggml.model'), tokenizer_pre: this.meta('tokenizer.ggml.pre'),
            heap_bytes: this.T.memory.buffer.byteLength,
            kernels: this.kernels(),
        };
    }

    /** Which kernels the load chose (docs/wasm.md): the dot-add switch and the ternary matrices' layouts */
    kernels() {
        const X = this.T.exports;
        if (!this.m || !X.trit_wasm_model_n_layout) return null;
        return { dot_add: X.trit_wasm_tl_dot_add(-1) === 1, tl: X.trit_wasm_model_n_layout(this.m, 1), tl4: X.trit_wasm_model_n_layout(this.m, 3) };
    }

    /**
     * Every token's bytes (as trit_token_to_piece with special tokens rendered), the end-of-generation
     * ids and a digest of the whole vocabulary: the engine detokenizes in JS from this table and checks
     * that a draft shares the target's vocabulary.
     */
    vocab() {
        const T = this.T, X = this.X, V = this.V;
        const offsets = new Int32Array(V + 1);
        const chunks = [];
        let total = 0;
        const cap = 256, p = this._buf('piece', cap);
        const textPieces = [];
        const eog = [];
        for (let i = 0; i < V; i++) {
            let n = X.trit_token_to_piece(this.m, i, p, cap, 0);
            if (n > cap) n = cap;
            const b = n > 0 ? T.u8.slice(p, p + n) : new Uint8Array(0);
            chunks.push(b);
            offsets[i] = total;
            total += b.length;
            let ns = X.trit_token_to_piece(this.m, i, p, cap, TOK_PARSE_SPECIAL);
            if (ns > cap) ns = cap;
            textPieces.push(ns > 0 ? T.u8.slice(p, p + ns) : null);
            if (X.trit_token_is_eog(this.m, i)) eog.push(i);
        }
        offsets[V] = total;
        const bytes = new Uint8Array(total);
        for (let i = 0; i < V; i++) bytes.set(chunks[i], offsets[i]);
        // digest over the special-rendered pieces (they distinguish control tokens) + the special ids
        let h1 = 0x811c9dc5, h2 = 0x01000193 ^ 0x5bd1e995;
        for (let i = 0; i < V; i++) {
            const b = textPieces[i] || EMPTY;
            for (let j = 0; j < b.length; j++) {
                h1 = Math.imul(h1 ^ b[j], 0x01000193);
                h2 = Math.imul(h2 ^ b[j], 0x5bd1e995) ^ (h2 >>> 15);
            }
            h1 = Math.imul(h1 ^ 0xff, 0x01000193);
            h2 = Math.imul(h2 ^ (i & 0xff), 0x5bd1e995) ^ (h2 >>> 13);
        }
        const hp = this.hp;
        const hex = x => (x >>> 0).toString(16).padStart(8, '0');
        const digest = `${V}:${hp.bos}:${hp.eos}:${hp.eot}:${this.meta('tokenizer.ggml.model')}:${hex(h1)}${hex(h2)}`;
        return { bytes, offsets, eog: Int32Array.from(eog), digest };
    }

    /** Token ids of text (addSpecial: BOS as the model says; parseSpecial: control-token texts). */
    tokenize(text, addSpecial = true, parseSpecial = false) {
        const T = this.T, X = this.X;
        const t = T.bytesIn(text);
        try {
            const flags = (addSpecial ? TOK_ADD_SPECIAL : 0) | (parseSpecial ? TOK_PARSE_SPECIAL : 0);
            const n = X.trit_tokenize(this.m, t.ptr, t.len, 0, 0, flags);
            if (n < 0) throw new TritError('BAD_ARGUMENT', `tokenize: ${T.lastError()}`);
            const p = this._buf('tok', 4 * (n + 1));
            X.trit_tokenize(this.m, t.ptr, t.len, p, n, flags);
            return T.i32.slice(p >>> 2, (p >>> 2) + n);
        } finally {
            T.free(t.ptr);
        }
    }

    // ---- sequence -------------------------------------------------------------------------------

    /** Installs a request's sampling parameters and seeds its RNG (seed: a number or bigint). */
    begin(s) {
        const X = this.X;
        if (this.probsS) X.trit_sampler_free(this.probsS);
        if (this.rngS) X.trit_sampler_free(this.rngS);
        this.probsS = this.rngS = 0;
        this.sampling = {
            temperature: s.temperature > 0 ? s.temperature : 0, top_k: s.top_k > 0 ? s.top_k : 0,
            top_p: s.top_p > 0 && s.top_p < 1 ? s.top_p : 1, min_p: s.min_p > 0 ? s.min_p : 0,
            repeat_penalty: s.repeat_penalty > 0 ? s.repeat_penalty : 1,
        };
        const sp = this.sampling;
        const seed = BigInt.asUintN(64, BigInt(s.seed || 0));
        const lo = Number(seed & 0xffffffffn), hi = Number(seed >> 32n);
        this.probsS = X.trit_wasm_sampler_init(sp.temperature, sp.top_k, sp.top_p, sp.min_p, sp.repeat_penalty, lo, hi) >>> 0;
        this.rngS = X.trit_wasm_sampler_init(0, 0, 1, 0, 1, lo, hi) >>> 0;
        if (!this.probsS || !this.rngS) throw new TritError('OUT_OF_MEMORY', 'cannot allocate a sampler');
        return true;
    }

    /** Cuts the cache back to `keep` tokens and decodes `append`; logits: 'none' | 'last' | 'all'. */
    _feed(keep, append, mode) {
        const X = this.X, T = this.T;
        if (!(keep >= 0 && keep <= this.n)) throw new TritError('INTERNAL', `keep ${keep} is outside the cached ${this.n} tokens`);
        const n = append ? append.length : 0;
        if (keep + n > this.nCtx) {
            throw new TritError('CONTEXT_LENGTH_EXCEEDED', `${keep + n} tokens do not fit into the context of ${this.nCtx}`);
        }
        if (keep < this.n) this._truncate(keep);
        if (n === 0) return 0;
        for (let i = 0; i < n; i++) {
            const t = append[i];
            if (!(Number.isInteger(t) && t >= 0 && t < this.V)) throw new TritError('BAD_ARGUMENT', `token id ${t} is out of range`);
        }
        const tp = this._buf('tok', 4 * n);
        T.i32.set(append, tp >>> 2);
        const rows = mode === 'all' ? n : mode === 'last' ? 1 : 0;
        const lp = rows ? this._buf('logits', 4 * this.V * rows) : 0;
        const rc = X.trit_ctx_decode(this.c, tp, n, lp, mode === 'all' ? LOGITS_ALL : mode === 'last' ? LOGITS_LAST : LOGITS_NONE);
        if (rc !== 0) throw new TritError(ERR[rc] || 'INTERNAL', `decode: ${T.lastError()}`);
        this.seq.set(append, this.n);
        this.n += n;
        return lp;
    }

    /** Forgets cached tokens >= keep. */
    _truncate(keep) {
        this.X.trit_ctx_truncate(this.c, keep);
        this.n = keep;
    }

    /** Decodes without sampling (prefill chunks). Returns the number of cached tokens. */
    async feed(keep, append) {
        await this._feed(keep, append, 'none');
        return this.n;
    }

    /** Cached tokens (for tests and the engine's consistency checks). */
    cached() { return this.n; }

    /**
     * The sampling distribution at a logits row for the position after seq[0..histEnd) into the
     * 'probs' heap buffer. Returns its pointer.
     */
    _probs(row, histEnd) {
        const X = this.X, sp = this.sampling;
        const pp = this._buf('probs', 4 * this.V);
        if (sp.repeat_penalty !== 1) {
            X.trit_sampler_reset(this.probsS);
            for (let i = Math.max(0, histEnd - REPEAT_LAST_N); i < histEnd; i++) X.trit_sampler_accept(this.probsS, this.seq[i]);
        }
        const rc = X.trit_sampler_probs(this.probsS, row, this.V, pp);
        if (rc !== 0) throw new TritError(ERR[rc] || 'INTERNAL', `sampler: ${this.T.lastError()}`);
        return pp;
    }

    /** argmax of a logits row (lowest id on ties, as the core's greedy sampler). */
    _argmax(row) {
        const f = this.T.f32, o = row >>> 2, V = this.V;
        let best = 0, bv = f[o];
        for (let i = 1; i < V; i++) if (f[o + i] > bv) { bv = f[o + i]; best = i; }
        return best;
    }

    /** The token chosen at a logits row under the request's sampling (histEnd: see _probs). */
    _choose(row, histEnd) {
        const sp = this.sampling;
        if (isGreedy(sp) && sp.repeat_penalty === 1) return this._argmax(row);
        const pp = this._probs(row, histEnd);
        if (isGreedy(sp)) return this._argmaxProbs(pp);
        return this.X.trit_sampler_draw(this.rngS, pp, this.V);
    }

    _argmaxProbs(pp) {
        const f = this.T.f32, o = pp >>> 2;
        let best = 0;
        for (let i = 1; i < this.V; i++) if (f[o + i] > f[o + best]) best = i;
        return best;
    }

    /** Target-only step: cut to keep, decode append, return the next token. */
    async next(keep, append) {
        const lp = await this._feed(keep, append, 'last');
        if (!lp) throw new TritError('INTERNAL', 'next() needs at least one token to decode');
        return this._choose(lp, this.n);
    }

    /**
     * Draft proposal: cut to keep, decode append, then propose up to k tokens autoregressively. The
     * last proposed token is not decoded (the next call appends it if it is accepted). With
     * wantProbs, the draft distribution q of each proposed position comes back too ([k][V]).
     * Stops early after an end-of-generation token.
     */
    async propose(keep, append, k, wantProbs) {
        const V = this.V, T = this.T;
        let lp = await this._feed(keep, append, 'last');
        if (!lp) throw new TritError('INTERNAL', 'propose() needs at least one token to decode');
        const toks = [];
        const q = wantProbs ? new Float32Array(k * V) : null;
        const sp = this.sampling;
        for (let i = 0; i < k; i++) {
            let t;
            if (wantProbs && !isGreedy(sp)) {
                const pp = this._probs(lp, this.n);
                q.set(T.f32.subarray(pp >>> 2, (pp >>> 2) + V), i * V);
                t = this.X.trit_sampler_draw(this.rngS, pp, V);
            } else {
                t = this._choose(lp, this.n);
                if (q) q[i * V + t] = 1;                       // a greedy draft's q is one-hot
            }
            toks.push(t);
            if (i === k - 1 || this.X.trit_token_is_eog(this.m, t) || this.n + 1 >= this.nCtx) break;
            lp = await this._feed(this.n, [t], 'last');
        }
        const tokens = Int32Array.from(toks);
        return { tokens, q: q && toks.length < k ? q.slice(0, toks.length * V) : q };
    }

    /**
     * Target verification of draft tokens in one batched decode. Cuts to keep, decodes append (its
     * last token together with the draft), then walks the rows: greedy accepts draft[i] iff it is the
     * target's choice; sampling accepts with probability min(1, p/q) and on rejection draws from
     * norm(max(0, p - q)). Returns {n: accepted draft tokens, token: the correction or, when all were
     * accepted, the bonus token}. The cache keeps append + the accepted draft tokens.
     */
    async verify(keep, append, draft, q) {
        const X = this.X, T = this.T, V = this.V, K = draft.length;
        if (!append || append.length === 0) throw new TritError('INTERNAL', 'verify() needs at least one token to append');
        if (append.length > 1) await this._feed(keep, append.subarray ? append.subarray(0, append.length - 1) : append.slice(0, -1), 'none');
        else await this._feed(keep, null, 'none');
        const base = this.n;                                     // position of append's last token
        const batch = new Int32Array(K + 1);
        batch[0] = append[append.length - 1];
        batch.set(draft, 1);
        const lp = await this._feed(this.n, batch, 'all');
        const sp = this.sampling;
        const rowAt = i => lp + 4 * V * i;
        let n = 0, token = -1;
        if (isGreedy(sp) || !q) {
            for (; n < K; n++) {
                const t = this._choose(rowAt(n), base + 1 + n);
                if (t !== draft[n]) { token = t; break; }
            }
            if (n === K) token = this._choose(rowAt(K), base + 1 + K);
        } else {
            for (; n < K; n++) {
                const x = draft[n];
                const pp = this._probs(rowAt(n), base + 1 + n);
                const f = T.f32, po = pp >>> 2;
                const px = f[po + x], qx = q[n * V + x];
                const u = X.trit_sampler_uniform(this.rngS);
                if (px >= qx || u * qx < px) continue;           // accepted with probability min(1, p/q)
                // rejected: draw from the residual max(0, p - q), written over p in the heap
                const qo = n * V;
                let sum = 0;
                for (let i = 0; i < V; i++) {
                    const r = f[po + i] - q[qo + i];
                    const v = r > 0 ? r : 0;
                    f[po + i] = v;
                    sum += v;
                }
                token = sum > 0 ? X.trit_sampler_draw(this.rngS, pp, V) : this._choose(rowAt(n), base + 1 + n);
                break;
            }
            if (n === K) token = this._choose(rowAt(K), base + 1 + K);
        }
        // keep append + accepted draft tokens in the cache
        const keepTo = base + 1 + n;
        if (keepTo < this.n) this._truncate(keepTo);
        return { n, token };
    }

    /**
     * Exact sampling distribution of the next token after `tokens` (test helper for the statistical
     * tests): cut to keep, decode append, return the probability vector.
     */
    async distribution(keep, append) {
        const lp = await this._feed(keep, append, 'last');
        const pp = this._probs(lp, this.n);
        return this.T.f32.slice(pp >>> 2, (pp >>> 2) + this.V);
    }

    /** Memory facts for the engine's leak checks. */
    memory() {
        return { heap_bytes: this.T.memory.buffer.byteLength, cached: this.n };
    }
}

/** A sink for the loader that writes the file straight into the wasm heap (realloc-grown). */
export function heapSink(T) {
    let ptr = 0, cap = 0, size = 0;
    const grow = need => {
        if (need <= cap) return;
        let c = Math.max(cap ? cap * 2 : 1 << 20, need);
        if (c > 0xffff0000) c = need;
        const p = (ptr ? T.exports.realloc(ptr, c) : T.exports.malloc(c)) >>> 0;
        if (!p) throw new TritError('OUT_OF_MEMORY', `out of wasm memory (${c} bytes for the model file)`);
        ptr = p; cap = c;
    };
    return {
        reserve(n) { grow(n); },
        write(chunk) {
            grow(size + chunk.length);
            T.u8.set(chunk, ptr + size);
            size += chunk.length;
        },
        /** A view of the heap to read n bytes from the source into directly (Node fs reads). */
        target(n) { grow(size + n); return T.u8.subarray(ptr + size, ptr + size + n); },
        advance(n) { size += n; },
        reset() { size = 0; },
        size() { return size; },
        bytes() { return T.u8.subarray(ptr, ptr + size); },
        finish() { return { ptr, size }; },
        abandon() { if (ptr) T.free(ptr); ptr = cap = size = 0; },
    };
}

/** The model's hyperparameters and special tokens from the core (trit_wasm_model_info); also the wasm CLI's. */
export function modelInfo(T, m) {
    const p = T.malloc(24 * 4);
    T.exports.trit_wasm_model_info(m, p);
    const i = T.i32.slice(p >>> 2, (p >>> 2) + 24), f = T.f32.slice(p >>> 2, (p >>> 2) + 24);
    T.free(p);
    const u64 = (lo, hi) => (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
    return {
        arch: i[0], arch_name: T.cstr(i[1] >>> 0), n_vocab: i[2], n_ctx_train: i[3], n_embd: i[4], n_layer: i[5],
        n_head: i[6], n_head_kv: i[7], head_dim: i[8], n_ff: i[9], n_rot: i[10], rms_eps: f[11], rope_base: f[12],
        ffn_act: i[13], rope_neox: i[14], tied_output: i[15], bos: i[16], eos: i[17], eot: i[18], add_bos: i[19],
        n_params: u64(i[20], i[21]), weight_bytes: u64(i[22], i[23]),
    };
}

const EMPTY = new Uint8Array(0);
