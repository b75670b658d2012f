// speculative.mjs: the decoding loops. Target-only decoding, and speculative decoding with a draft
// model: the draft proposes up to K tokens, the target verifies them in one batched decode, both
// caches roll back to the accepted prefix (model-wasm.mjs does accept/reject next to the logits:
// greedy = exact match, sampling = rejection sampling with the draft's q vectors).
//
// Greedy speculative output is token-for-token the target's own greedy output, because the core
// gives bit-identical logits for a token whether it is decoded alone or inside a batch. With
// temperature > 0 the output distribution is the target's (accept with min(1, p/q), else draw from
// norm(max(0, p - q)); one bonus token when all K are accepted).
//
// Concurrency ("pipeline"): while the target verifies a proposal, the draft already continues it as
// if every token were accepted and the target's next token were the draft's own next guess. When
// that turns out true, the continuation is the next proposal, ready without waiting; otherwise it
// is dropped. Only worth it when draft and target run in different threads (workers).
//
// K adapts to the observed acceptance rate α: with per-token draft time t_d and verify time t_v(K),
// it picks the K in 1..maxK maximising E[tokens per round] / (K t_d + t_v(K)), where
// E = (1 - α^(K+1)) / (1 - α); a draft too poor to pay for itself falls back to K = 0 (target-only
// steps), re-probed now and then.

import { TritError, throwIfAborted } from './errors.mjs';

const PREFILL_CHUNK = 128;                   // tokens per prefill call: abort/progress granularity

/** Longest common prefix of a and b, at most max. */
export function commonPrefix(a, b, max = Infinity) {
    const n = Math.min(a.length, b.length, max);
    let i = 0;
    while (i < n && a[i] === b[i]) i++;
    return i;
}

/**
 * A main-thread handle on one model session (in a worker or inline): forwards calls, keeps the
 * mirror of the tokens in its KV cache (`cached`) and adds up the time spent in the model.
 */
export class ModelHandle {
    constructor(client, info, role) {
        this.client = client;
        this.info = info;
        this.role = role;
        this.cached = [];                     // tokens in the model's KV cache
        this.ms = 0;                          // time spent in calls (measured inside the model)
    }

    async call(method, args, opts) {
        try {
            const { value, ms } = await this.client.call(method, args, opts);
            this.ms += ms || 0;
            this.lastMs = ms || 0;
            return value;
        } catch (e) {
            // after a failed call the cache state is unknown: forget the mirror (the next call cuts to 0)
            this.cached = [];
            throw e;
        }
    }

    get nCtx() { return this.info.n_ctx; }

    /** Decodes prompt[0..len-1) (all but the last token) reusing the cached prefix. */
    async prefill(prompt, signal, onChunk) {
        const end = prompt.length - 1;
        let pos = commonPrefix(this.cached, prompt, end);
        if (pos < this.cached.length) this.cached.length = pos;   // the next call cuts the cache to pos
        let keep = pos;
        while (pos < end) {
            throwIfAborted(signal);
            const n = Math.min(PREFILL_CHUNK, end - pos);
            const chunk = prompt.slice(pos, pos + n);
            await this.call('feed', [keep, chunk]);
            this.cached.push(...chunk);
            pos += n;
            keep = pos;
            if (onChunk) onChunk(pos, end);
        }
        return pos;
    }
}

/** K chooser (see the header). */
export class AdaptiveK {
    constructor({ k = 4, maxK = 8, adaptive = true } = {}) {
        this.k = k;
        this.maxK = Math.max(1, maxK);
        this.adaptive = adaptive;
        this.succ = 2; this.trials = 3;        // prior: α = 2/3
        this.td = null;                        // ms per draft token
        this.tv = new Map();                   // K -> ms per verify (EMA)
        this.t1 = null;                        // ms per target-only step
        this.rounds = 0;
        this.offRounds = 0;
    }

    get alpha() { return Math.min(0.99, this.succ / this.trials); }

    _verifyCost(K) {
        if (this.tv.has(K)) return this.tv.get(K);
        // scale the nearest measured K by the typical batched-verify cost (1 + 0.2 per extra token)
        let best = null;
        for (const [k, t] of this.tv) if (best === null || Math.abs(k - K) < Math.abs(best[0] - K)) best = [k, t];
        if (!best) return null;
        return best[1] * (1 + 0.2 * K) / (1 + 0.2 * best[0]);
    }

    choose() {
        if (!this.adaptive) return this.k;
        if (this.td === null || this.tv.size === 0) return this.k;     // measure first
        const a = this.alpha;
        // target-only: measured, or estimated from the cheapest verify (a 1-token decode)
        const t1 = this.t1 !== null ? this.t1 : this._verifyCost(0);
        let bestK = 0, best = t1 ? 1 / t1 : 0;
        for (let K = 1; K <= this.maxK; K++) {
            const tv = this._verifyCost(K);
            const e = (1 - a ** (K + 1)) / (1 - a);
            const rate = e / (K * this.td + tv);
            if (rate > best) { best = rate; bestK = K; }
        }
        if (bestK === 0) {
            // target-only; probe speculation again every 16 rounds (the text may have become easier)
            if (++this.offRounds % 16 === 0) return 1;
            return 0;
        }
        this.offRounds = 0;
        return bestK;
    }

    /** One speculative round: k proposed, n accepted, verify time, draft time per token. */
    update(k, n, verifyMs, draftMsPerToken) {
        const d = 0.85;
        this.succ = d * this.succ + n;
        this.trials = d * this.trials + (n < k ? n + 1 : k);
        if (draftMsPerToken > 0) this.td = this.td === null ? draftMsPerToken : 0.8 * this.td + 0.2 * draftMsPerToken;
        const old = this.tv.get(k);
        this.tv.set(k, old === undefined ? verifyMs : 0.8 * old + 0.2 * verifyMs);
        this.rounds++;
    }

    updateTargetOnly(ms) { this.t1 = this.t1 === null ? ms : 0.8 * this.t1 + 0.2 * ms; }
}

/**
 * One generation: an async iterator of token arrays (as accepted), then `stats` and `finish`
 * ('stop' = end-of-generation token, 'length' = max_tokens or the context is full).
 *
 * opts: {target, draft?, prompt (ids), maxTokens, sampling {temperature, top_k, top_p, min_p,
 * repeat_penalty, seed}, isEog(id), signal, spec {k, maxK, adaptive, pipeline, draftSampling}}
 */
export class Generation {
    constructor(opts) {
        this.o = opts;
        this.finish = null;
        this.stats = {
            prompt_tokens: opts.prompt.length, completion_tokens: 0, prefill_ms: 0, decode_ms: 0,
            speculative: null,
        };
    }

    async *run() {
        const o = this.o;
        if (o.prompt.length === 0) throw new TritError('BAD_ARGUMENT', 'the prompt has no tokens');
        const nCtx = o.target.nCtx;
        if (o.prompt.length >= nCtx) {
            throw new TritError('CONTEXT_LENGTH_EXCEEDED', `the prompt has ${o.prompt.length} tokens; the context holds ${nCtx} ` +
                '(one more is needed to generate)');
        }
        if (o.maxTokens <= 0) { this.finish = 'length'; return; }
        const useDraft = !!o.draft && o.spec.enabled !== false;
        if (useDraft) yield* this._speculative();
        else yield* this._targetOnly();
    }

    async _begin(model, sampling) {
        await model.call('begin', [sampling]);
    }

    async *_targetOnly() {
        const o = this.o, T = o.target, nCtx = T.nCtx;
        const t0 = now();
        await this._begin(T, o.sampling);
        await T.prefill(o.prompt, o.signal);
        let pending = [o.prompt[o.prompt.length - 1]];
        let generated = 0, first = true;
        const tDecode0 = { t: 0 };
        for (;;) {
            throwIfAborted(o.signal);
            const keep = T.cached.length;
            if (keep + pending.length > nCtx) { this.finish = 'length'; break; }
            const tok = await T.call('next', [keep, pending]);
            T.cached.push(...pending);
            if (first) { this.stats.prefill_ms = now() - t0; tDecode0.t = now(); first = false; }
            if (o.isEog(tok)) { this.finish = 'stop'; break; }
            generated++;
            this.stats.completion_tokens = generated;
            yield [tok];
            if (generated >= o.maxTokens) { this.finish = 'length'; break; }
            pending = [tok];
        }
        this.stats.decode_ms = first ? 0 : now() - tDecode0.t;
    }

    async *_speculative() {
        const o = this.o, T = o.target, D = o.draft, nCtx = T.nCtx;
        const spec = o.spec;
        const greedy = !(o.sampling.temperature > 0);
        const dSampling = { ...o.sampling, ...(spec.draftSampling || {}), seed: BigInt.asUintN(64, BigInt(o.sampling.seed || 0) + 0x9e3779b97f4a7c15n) };
        const wantProbs = !greedy;
        const ak = spec.adaptiveK || new AdaptiveK({ k: spec.k, maxK: spec.maxK, adaptive: spec.adaptive });
        const st = {
            k: spec.k, adaptive: spec.adaptive !== false, pipeline: !!spec.pipeline, rounds: 0, target_only_steps: 0,
            proposed: 0, accepted: 0, acceptance_rate: 0, mean_accepted_length: 0, tokens_per_round: 0,
            pipeline_hits: 0, draft_ms: 0, target_ms: 0, k_hist: {},
        };
        this.stats.speculative = st;
        const t0 = now();
        const tms0 = T.ms, dms0 = D.ms;
        await Promise.all([this._begin(T, o.sampling), this._begin(D, dSampling)]);
        await Promise.all([T.prefill(o.prompt, o.signal), D.prefill(o.prompt, o.signal)]);
        const conf = o.prompt.slice();
        let generated = 0, first = true, tDec = 0;
        let chain = null;                                         // {tokens, q, at: conf length it follows}
        const V = T.info.n_vocab;
        try {
            for (;;) {
                throwIfAborted(o.signal);
                const remaining = o.maxTokens - generated;
                const room = nCtx - conf.length;                     // draft tokens the target can still take
                if (room < 0) { this.finish = 'length'; break; }
                let K = Math.min(ak.choose(), remaining - 1, room, D.nCtx - conf.length);
                if (K <= 0) {
                    // one target-only step
                    const keep = commonPrefix(T.cached, conf, conf.length - 1);
                    if (keep + conf.length - keep > nCtx) { this.finish = 'length'; break; }
                    const tok = await T.call('next', [keep, conf.slice(keep)]);
                    T.cached = conf.slice();
                    ak.updateTargetOnly(T.lastMs);
                    st.target_only_steps++;
                    chain = null;
                    if (first) { this.stats.prefill_ms = now() - t0; tDec = now(); first = false; }
                    if (o.isEog(tok)) { this.finish = 'stop'; break; }
                    conf.push(tok);
                    generated++;
                    this.stats.completion_tokens = generated;
                    yield [tok];
                    if (generated >= o.maxTokens) { this.finish = 'length'; break; }
                    continue;
                }
                // the proposal: the pipelined continuation if it follows conf, else a fresh one
                let prop;
                let draftMs = 0;
                if (chain && chain.at === conf.length && chain.tokens.length > 0) {
                    const k = Math.min(K, chain.tokens.length);
                    prop = { tokens: chain.tokens.slice(0, k), q: chain.q ? chain.q.slice(0, k * V) : null };
                    draftMs = chain.ms * k / chain.tokens.length;
                    st.pipeline_hits++;
                } else {
                    const dkeep = commonPrefix(D.cached, conf, conf.length - 1);
                    prop = await D.call('propose', [dkeep, conf.slice(dkeep), K, wantProbs]);
                    D.cached = conf.slice(0, conf.length).concat(Array.from(prop.tokens.subarray(0, prop.tokens.length - 1)));
                    draftMs = D.lastMs;
                }
                chain = null;
                const k = prop.tokens.length;
                const lastIsEog = o.isEog(prop.tokens[k - 1]);
                // verify, and (pipeline) let the draft run ahead meanwhile
                const tkeep = commonPrefix(T.cached, conf, conf.length - 1);
                const verifying = T.call('verify', [tkeep, conf.slice(tkeep), prop.tokens, prop.q]);
                let ahead = null;
                const kAhead = Math.min(ak.adaptive ? Math.max(K, 1) : K, D.nCtx - conf.length - k - 1) + 1;
                if (spec.pipeline && !lastIsEog && kAhead >= 2 && remaining - k - 1 > 0) {
                    const akeep = conf.length + k - 1;
                    if (D.cached.length < akeep) throw new TritError('INTERNAL', 'draft cache behind its proposal');
                    ahead = D.call('propose', [akeep, [prop.tokens[k - 1]], kAhead, wantProbs]);
                }
                let v, la = null;
                if (ahead) [v, la] = await Promise.all([verifying, ahead]);
                else v = await verifying;
                if (first) { this.stats.prefill_ms = now() - t0; tDec = now(); first = false; }
                const verifyMs = T.lastMs;
                const acc = Array.from(prop.tokens.subarray(0, v.n));
                T.cached = conf.concat(acc);
                if (la) {
                    D.cached = conf.concat(Array.from(prop.tokens), Array.from(la.tokens.subarray(0, la.tokens.length - 1)));
                    if (v.n === k && la.tokens[0] === v.token && la.tokens.length > 1) {
                        chain = { tokens: la.tokens.slice(1), q: la.q ? la.q.slice(V) : null, at: conf.length + k + 1, ms: D.lastMs };
                    }
                }
                st.rounds++;
                st.proposed += k;
                st.accepted += v.n;
                st.k_hist[k] = (st.k_hist[k] || 0) + 1;
                ak.update(k, v.n, verifyMs, draftMs / Math.max(1, k));
                // emit accepted + the target's token, stopping at an end-of-generation token
                const out = acc.concat([v.token]);
                let stop = false, emit = [];
                for (const t of out) {
                    if (o.isEog(t)) { stop = true; break; }
                    emit.push(t);
                    if (generated + emit.length >= o.maxTokens) break;
                }
                conf.push(...out);
                generated += emit.length;
                this.stats.completion_tokens = generated;
                if (emit.length) yield emit;
                if (stop) { this.finish = 'stop'; break; }
                if (generated >= o.maxTokens) { this.finish = 'length'; break; }
            }
        } finally {
            this.stats.decode_ms = first ? 0 : now() - tDec;
            st.draft_ms = D.ms - dms0;
            st.target_ms = T.ms - tms0;
            st.acceptance_rate = st.proposed ? st.accepted / st.proposed : 0;
            st.mean_accepted_length = st.rounds ? st.accepted / st.rounds : 0;
            st.tokens_per_round = st.rounds ? (st.accepted + st.rounds) / st.rounds : 0;
            st.alpha_estimate = ak.alpha;
        }
    }
}

function now() { return typeof performance !== 'undefined' ? performance.now() : Date.now(); }
