// engine.mjs: createEngine() and the OpenAI-shaped engine (chat.completions, completions, tokenize,
// detokenize, unload). Platform-neutral: index-node.mjs / index-browser.mjs pass in the platform.
//
//   const engine = await createEngine({ model: 'target.gguf', draft: 'draft.gguf' });
//   const r = await engine.chat.completions.create({ messages: [{ role: 'user', content: 'Hi' }] });
//   for await (const c of await engine.chat.completions.create({ messages, stream: true }))
//       process.stdout.write(c.choices[0]?.delta?.content || '');
//   await engine.unload();
//
// Requests run one at a time (a FIFO queue); the KV cache keeps the last request's tokens so that a
// chat's next turn only decodes what is new. docs/js.md is the reference.

import { TritError, abortError, isAbortError, throwIfAborted } from './errors.mjs';
import { RpcClient, InlineClient } from './protocol.mjs';
import { modelHandlers } from './worker.mjs';
import { normalizeSource } from './loader.mjs';
import { resolveTemplate, normalizeMessages } from './templates.mjs';
import { Generation, ModelHandle, AdaptiveK } from './speculative.mjs';
import { Vocab, TextStream } from './text.mjs';
import { detectCapabilities, chooseRoute } from './router.mjs';
import { RemoteEngine } from './remote.mjs';

const ENGINE_OPTIONS = new Set(['model', 'draft', 'onProgress', 'signal', 'workers', 'backend', 'wasm', 'threads', 'contextLength',
    'kvType', 'batch', 'chatTemplate', 'speculative', 'cache', 'name', 'remote', 'route', 'webgpu', 'onEvent']);

function randomId(prefix) {
    const b = new Uint8Array(12);
    if (globalThis.crypto && globalThis.crypto.getRandomValues) globalThis.crypto.getRandomValues(b);
    else for (let i = 0; i < b.length; i++) b[i] = (Math.random() * 256) | 0;
    return prefix + Array.from(b, x => x.toString(16).padStart(2, '0')).join('');
}

function randomSeed() {
    const b = new Uint32Array(1);
    if (globalThis.crypto && globalThis.crypto.getRandomValues) globalThis.crypto.getRandomValues(b);
    else b[0] = (Math.random() * 2 ** 32) >>> 0;
    return b[0];
}

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/** The embedded model pair (models/, shipped in the package): createEngine's default. URLs relative to
 *  this module, so they resolve to files in Node and to same-origin URLs in a page. */
export const EMBEDDED = Object.freeze({
    target: new URL('../models/trit-target.tq2_0.gguf', import.meta.url),
    draft: new URL('../models/trit-draft.tq2_0.gguf', import.meta.url),
});

/**
 * Creates an engine: routes (local backend or a configured remote endpoint), loads the model (and
 * draft) into workers, checks that the draft shares the target's vocabulary. See docs/js.md.
 */
export async function createEngineOn(platform, opts = {}) {
    if (!opts || typeof opts !== 'object') throw new TritError('BAD_ARGUMENT', 'createEngine takes an options object');
    for (const k of Object.keys(opts)) {
        if (!ENGINE_OPTIONS.has(k)) throw new TritError('BAD_ARGUMENT', `unknown option '${k}' (known: ${[...ENGINE_OPTIONS].join(', ')})`);
    }
    throwIfAborted(opts.signal);
    const caps = await detectCapabilities(platform, opts);
    const env = { isNode: platform.isNode };
    // No `model` and no `remote`: the embedded pair that ships with the package (models/, its card is
    // models/README.md), with its draft unless `draft` is given (null/false: target only).
    const embedded = opts.model === undefined && !opts.remote;
    const modelOpt = embedded ? EMBEDDED.target : opts.model;
    const draftOpt = embedded && opts.draft === undefined ? EMBEDDED.draft : opts.draft;
    const target = modelOpt !== undefined && modelOpt !== null ? normalizeSource(modelOpt, env) : null;
    const draft = draftOpt !== undefined && draftOpt !== null && draftOpt !== false ? normalizeSource(draftOpt, env) : null;
    const route = await chooseRoute({ platform, caps, target, draft, opts });
    if (route.kind === 'remote') return new RemoteEngine(opts.remote, route);
    const engine = new LocalEngine(platform, opts, target, draft, route);
    await engine._start(opts.signal);
    return engine;
}

class LocalEngine {
    constructor(platform, opts, target, draft, route) {
        this.platform = platform;
        this.opts = opts;
        this.sources = { target, draft };
        this.route = route;
        this.useWorkers = opts.workers !== undefined ? !!opts.workers : true;
        const sp = opts.speculative || {};
        this.spec = {
            k: sp.k !== undefined ? sp.k : 4, maxK: sp.maxK !== undefined ? sp.maxK : 8,
            adaptive: sp.adaptive !== undefined ? !!sp.adaptive : true,
            pipeline: sp.pipeline !== undefined ? !!sp.pipeline : this.useWorkers,
            enabled: sp.enabled !== undefined ? !!sp.enabled : true,
        };
        checkSpec(this.spec, 'speculative');
        this.state = 'loading';
        this._queue = Promise.resolve();
        this.models = { target: null, draft: null };
        this.chat = { completions: { create: (body, o) => this._create('chat', body, o) } };
        this.completions = { create: (body, o) => this._create('text', body, o) };
        this._template = undefined;
        this._adaptiveK = null;
        this.lastStats = null;
    }

    // ---- loading ---------------------------------------------------------------------------------

    _client(role) {
        const name = `${role} model worker`;
        if (!this.useWorkers) return new InlineClient(modelHandlers(this.platform), { name: `${role} model` });
        return new RpcClient(this.platform.createWorker(name), { name });
    }

    async _loadOne(role, src, signal, contextLength) {
        const client = this._client(role);
        const onEvent = (name, data) => {
            if (name === 'progress' && this.opts.onProgress) {
                try { this.opts.onProgress({ model: role, ...data }); } catch { /* the callback's problem */ }
            }
        };
        if (src.consumed) {
            client.close();
            throw new TritError('LOAD_FAILED', `the ${role} model was given as an ArrayBuffer, which was transferred to its ` +
                'worker; reload needs a URL, path, File or Blob');
        }
        const loadOpts = {
            backend: (this.route.backends || {})[role] || this.route.backend, build: this.route.build,
            forced: !!(this.route.forced || {})[role], role, webgpu: this.opts.webgpu,
            // matmul threads for the target (a threaded wasm build; the draft stays single-threaded)
            threads: role === 'target' ? this.opts.threads || this.route.nThreads || 1 : 1,
            contextLength, kvType: this.opts.kvType, batch: this.opts.batch,
            cache: this.opts.cache !== undefined ? this.opts.cache : this.platform.defaultCache,
        };
        const xfer = this.useWorkers && src.kind === 'buffer' ? [src.buffer] : [];
        try {
            const { value: info } = await client.call('load', [src, loadOpts], { transfer: xfer, signal, onEvent });
            if (xfer.length) src.consumed = true;
            const handle = new ModelHandle(client, info, role);
            handle.vocab = new Vocab(await handle.call('vocab', []));
            return handle;
        } catch (e) {
            if (xfer.length) src.consumed = true;
            client.close();
            throw e;
        }
    }

    async _start(signal) {
        const { target, draft } = this.sources;
        if (!target) throw new TritError('BAD_ARGUMENT', 'createEngine needs a model');
        const ctxLen = this.opts.contextLength;
        if (ctxLen !== undefined && !(Number.isInteger(ctxLen) && ctxLen > 0)) {
            throw new TritError('BAD_ARGUMENT', 'contextLength must be a positive integer');
        }
        const th = this.opts.threads;
        if (th !== undefined && !(Number.isInteger(th) && th >= 1 && th <= 64)) {
            throw new TritError('BAD_ARGUMENT', 'threads must be an integer in 1..64');
        }
        const loads = [this._loadOne('target', target, signal, ctxLen)];
        if (draft) loads.push(this._loadOne('draft', draft, signal, ctxLen));
        const settled = await Promise.allSettled(loads);
        const failed = settled.find(s => s.status === 'rejected');
        if (failed) {
            for (const s of settled) if (s.status === 'fulfilled') s.value.client.close();
            this.state = 'unloaded';
            throw failed.reason;
        }
        const T = settled[0].value, D = draft ? settled[1].value : null;
        if (D) {
            if (D.vocab.digest !== T.vocab.digest) {
                T.client.close(); D.client.close();
                this.state = 'unloaded';
                throw new TritError('VOCAB_MISMATCH', `the draft model's vocabulary (${D.info.n_vocab} tokens, ` +
                    `${D.info.tokenizer_model}) is not the target's (${T.info.n_vocab} tokens, ${T.info.tokenizer_model}); ` +
                    'speculative decoding needs the same tokenizer', { details: { target: T.vocab.digest, draft: D.vocab.digest } });
            }
            if (D.info.n_ctx !== T.info.n_ctx) D.info = await D.call('resize', [T.info.n_ctx]);
        }
        this.models = { target: T, draft: D };
        // what was really loaded: the wasm build, and whether its matmuls run on more than one thread
        this.route = { ...this.route, build: T.info.build, threads: (T.info.threads || 1) > 1, nThreads: T.info.threads || 1 };
        this.state = 'ready';
        if (this.opts.onProgress) {
            try { this.opts.onProgress({ model: 'engine', phase: 'ready', loaded: 1, total: 1, rate: 0 }); } catch { /* ignore */ }
        }
    }

    /** Replaces the model workers (after a crash, or to start fresh) and loads the models again. */
    async reload({ signal } = {}) {
        if (this.state === 'unloaded' && this._unloadedByUser) throw new TritError('UNLOADED', 'the engine was unloaded');
        return this._exclusive(async () => {
            this._closeModels();
            this.state = 'loading';
            await this._start(signal);
        });
    }

    _closeModels() {
        for (const m of [this.models.target, this.models.draft]) if (m) m.client.close();
        this.models = { target: null, draft: null };
    }

    /** Terminates the workers; every later call throws UNLOADED. */
    async unload() {
        this._unloadedByUser = true;
        this.state = 'unloaded';
        this._closeModels();
    }

    get info() {
        const T = this.models.target, D = this.models.draft;
        return {
            model: T ? { ...T.info } : null, draft: D ? { ...D.info } : null, route: this.route,
            workers: this.useWorkers, speculative: { ...this.spec }, state: this.state,
        };
    }

    // ---- requests --------------------------------------------------------------------------------

    /** Runs fn after every earlier request finished (one request at a time). */
    _exclusive(fn) {
        const run = this._queue.then(fn, fn);
        this._queue = run.then(() => {}, () => {});
        return run;
    }

    async _ready() {
        if (this.state === 'unloaded') throw new TritError('UNLOADED', 'the engine was unloaded');
        if (this.state === 'ready' && [this.models.target, this.models.draft].some(m => m && m.client.dead)) {
            this.state = 'crashed';                  // a worker died while idle
        }
        if (this.state === 'crashed') {
            // a worker died during an earlier request: start fresh workers with the same sources
            this._closeModels();
            this.state = 'loading';
            try {
                await this._start(undefined);
            } catch (e) {
                this.state = 'crashed';
                throw e;
            }
        }
        if (this.state !== 'ready') throw new TritError('INTERNAL', `engine state '${this.state}'`);
        if (this._refreshInfo) {
            this._refreshInfo = false;
            for (const m of [this.models.target, this.models.draft]) if (m) m.info = await m.call('describe', []);
        }
    }

    _noteError(e) {
        if (e && e.code === 'WORKER_CRASHED') this.state = 'crashed';
        if (e && e.code === 'DEVICE_LOST') {
            // the worker moved that model to wasm already; refresh its info before the next request
            this._refreshInfo = true;
            this._event({ type: 'backend-fallback', model: (e.details && e.details.role) || 'target', from: 'webgpu', to: 'wasm', reason: e.message });
        }
    }

    _event(ev) {
        if (!this.opts.onEvent) return;
        try { this.opts.onEvent(ev); } catch { /* the callback's problem */ }
    }

    /** Test hook: loses the WebGPU device of a model worker for real (device.destroy()). */
    async _debugLoseDevice(role = 'target') {
        const m = this.models[role];
        if (!m) throw new TritError('BAD_ARGUMENT', `no ${role} model`);
        return m.call('loseDevice', []);
    }

    async tokenize(text, { addSpecial = true, parseSpecial = false } = {}) {
        if (typeof text !== 'string') throw new TritError('BAD_ARGUMENT', 'tokenize takes a string');
        // in the request queue, like every call: callers (the demo) rely on tokenize() seeing the engine
        // as the requests before it left it (a reload after a crash, an unload)
        const run = async () => {
            await this._ready();
            try {
                return Array.from(await this.models.target.call('tokenize', [text, !!addSpecial, !!parseSpecial]));
            } catch (e) { this._noteError(e); throw e; }
        };
        return this._exclusive(run);
    }

    async detokenize(ids) {
        if (!Array.isArray(ids) && !ArrayBuffer.isView(ids)) throw new TritError('BAD_ARGUMENT', 'detokenize takes an array of token ids');
        if (this.state === 'unloaded') throw new TritError('UNLOADED', 'the engine was unloaded');
        const v = (this.models.target || {}).vocab;
        if (!v) await this._ready();
        try {
            return this.models.target.vocab.decode(Array.from(ids));
        } catch (e) {
            throw new TritError('BAD_ARGUMENT', e.message);
        }
    }

    _templateFor() {
        if (this._template === undefined) {
            const T = this.models.target;
            this._template = resolveTemplate(this.opts.chatTemplate, T.info.chat_template,
                { bos: T.info.bos_text, eos: T.info.eos_text });
        }
        return this._template;
    }

    /** The prompt text a chat renders to (no BOS: the tokenizer adds it). */
    applyChatTemplate(messages, { addGenerationPrompt = true } = {}) {
        if (this.state === 'unloaded') throw new TritError('UNLOADED', 'the engine was unloaded');
        return this._templateFor().render(normalizeMessages(messages), addGenerationPrompt);
    }

    async _promptTokens(kind, body) {
        const T = this.models.target;
        if (kind === 'chat') {
            const tmpl = this._templateFor();
            const text = tmpl.render(normalizeMessages(body.messages), true);
            const ids = Array.from(await T.call('tokenize', [text, true, true]));
            // turn-end texts of the template that are single tokens end generation too
            const stopIds = [];
            for (const s of tmpl.stop) {
                const t = await T.call('tokenize', [s, false, true]);
                if (t.length === 1) stopIds.push(t[0]);
            }
            return { ids, stopIds };
        }
        const p = body.prompt;
        if (typeof p === 'string') return { ids: Array.from(await T.call('tokenize', [p, true, false])), stopIds: [] };
        if (Array.isArray(p) && p.length > 0 && p.every(x => Number.isInteger(x))) {
            for (const x of p) if (x < 0 || x >= T.info.n_vocab) throw new TritError('BAD_ARGUMENT', `prompt token ${x} is out of range`);
            return { ids: p.slice(), stopIds: [] };
        }
        if (Array.isArray(p) && p.length === 1 && typeof p[0] === 'string') {
            return { ids: Array.from(await T.call('tokenize', [p[0], true, false])), stopIds: [] };
        }
        throw new TritError('BAD_ARGUMENT', 'prompt must be a string or an array of token ids');
    }

    /**
     * chat.completions.create / completions.create. Returns a promise of the completion, or (stream:
     * true) of an AsyncIterable of chunks. reqOpts: {signal}.
     */
    async _create(kind, body, reqOpts = {}) {
        if (!body || typeof body !== 'object') throw new TritError('BAD_ARGUMENT', 'create() takes a request object');
        const p = parseParams(kind, body);
        const signal = (reqOpts && reqOpts.signal) || body.signal;
        throwIfAborted(signal);
        const controller = new AbortController();
        const onOuterAbort = () => controller.abort(signal.reason);
        if (signal) {
            if (signal.aborted) controller.abort(signal.reason);
            else signal.addEventListener('abort', onOuterAbort, { once: true });
        }
        const release = () => { if (signal) signal.removeEventListener('abort', onOuterAbort); };
        const meta = { id: randomId(kind === 'chat' ? 'chatcmpl-' : 'cmpl-'), created: Math.floor(Date.now() / 1000) };
        const run = () => this._generate(kind, p, controller.signal, meta);
        if (!p.stream) {
            try {
                return await this._exclusive(async () => {
                    let text = '', finish = null, ids = [], result = null;
                    for await (const ev of run()) {
                        if (ev.text) text += ev.text;
                        if (ev.ids) ids.push(...ev.ids);
                        if (ev.done) { finish = ev.finish; result = ev; }
                    }
                    return this._completionObject(kind, meta, text, finish, ids, result, p);
                });
            } finally {
                release();
            }
        }
        // streaming: the request takes its turn when iteration starts
        const self = this;
        return new CompletionStream(controller, async function* () {
            let gen = null;
            let releaseTurn;
            const turn = new Promise(r => { releaseTurn = r; });
            const started = new Promise(r => { self._exclusive(() => { r(); return turn; }); });
            try {
                await started;
                gen = run();
                let first = true;
                for await (const ev of gen) {
                    if (first && kind === 'chat') yield self._chunk(kind, meta, { role: true, p });
                    first = false;
                    if (ev.text || (ev.ids && ev.ids.length && p.returnTokenIds)) yield self._chunk(kind, meta, { text: ev.text, ids: ev.ids, p });
                    if (ev.done) {
                        yield self._chunk(kind, meta, { finish: ev.finish, usage: ev.usage, p });
                        if (p.includeUsage) yield { ...self._chunk(kind, meta, {}), choices: [], usage: ev.usage };
                    }
                }
            } finally {
                if (gen) await gen.return();
                releaseTurn();
                release();
            }
        });
    }

    /** The generation as events {text, ids} ... {done, finish, usage}. Runs inside the request's turn. */
    async *_generate(kind, p, signal, meta) {
        await this._ready();
        const T = this.models.target, D = this.models.draft;
        const t0 = now();
        let gen = null;
        try {
            const { ids: prompt, stopIds } = await this._promptTokens(kind, p.body);
            const eog = T.vocab.eog;
            const stopSet = new Set(stopIds);
            const isEog = t => eog.has(t) || stopSet.has(t);
            const cachedBefore = commonPrefixLen(T.cached, prompt);
            const spec = { ...this.spec, ...(p.speculative || {}) };
            if (p.speculative === false) spec.enabled = false;
            if (spec.adaptive && D) {
                if (!this._adaptiveK) this._adaptiveK = new AdaptiveK({ k: spec.k, maxK: spec.maxK, adaptive: true });
                spec.adaptiveK = this._adaptiveK;
            }
            gen = new Generation({
                target: T, draft: spec.enabled ? D : null, prompt, maxTokens: p.maxTokens, sampling: p.sampling, isEog,
                signal, spec,
            });
            const ts = new TextStream(T.vocab, p.stop);
            let finish = null;
            for await (const toks of gen.run()) {
                const text = ts.push(toks);
                yield { text, ids: toks };
                if (ts.stopped) { finish = 'stop'; break; }
            }
            if (!ts.stopped) {
                const rest = ts.end();
                if (rest) yield { text: rest, ids: [] };
            }
            if (!finish) finish = gen.finish || 'stop';
            const usage = this._usage(gen.stats, cachedBefore, now() - t0);
            this.lastStats = usage.extra;
            yield { done: true, finish, usage };
        } catch (e) {
            this._noteError(e);
            if (isAbortError(e)) throw abortError(signal);
            throw e;
        }
    }

    _usage(st, cached, totalMs) {
        const s = st.speculative;
        const decodeS = st.decode_ms / 1000, prefillS = st.prefill_ms / 1000;
        const extra = {
            prefill_ms: round(st.prefill_ms), decode_ms: round(st.decode_ms), total_ms: round(totalMs),
            prefill_tokens_per_s: prefillS > 0 ? round((st.prompt_tokens - cached) / prefillS) : 0,
            // decode rate counts tokens after the first (the first comes with the prefill)
            decode_tokens_per_s: decodeS > 0 && st.completion_tokens > 1 ? round((st.completion_tokens - 1) / decodeS) : 0,
            tokens_per_s: totalMs > 0 ? round(st.completion_tokens / (totalMs / 1000)) : 0,
            backend: { target: this.models.target ? this.models.target.info.backend : null,
                draft: this.models.draft ? this.models.draft.info.backend : null },
            speculative: s ? {
                k: s.k, adaptive: s.adaptive, pipeline: s.pipeline, rounds: s.rounds, target_only_steps: s.target_only_steps,
                proposed: s.proposed, accepted: s.accepted, acceptance_rate: round(s.acceptance_rate, 4),
                mean_accepted_length: round(s.mean_accepted_length, 3), tokens_per_round: round(s.tokens_per_round, 3),
                pipeline_hits: s.pipeline_hits, draft_ms: round(s.draft_ms), target_ms: round(s.target_ms), k_hist: s.k_hist,
            } : null,
        };
        return {
            prompt_tokens: st.prompt_tokens, completion_tokens: st.completion_tokens,
            total_tokens: st.prompt_tokens + st.completion_tokens,
            prompt_tokens_details: { cached_tokens: cached },
            extra,
        };
    }

    _modelName() {
        const T = this.models.target;
        return this.opts.name || (T && T.info.name) || (this.sources.target && this.sources.target.name) || 'trit';
    }

    _completionObject(kind, meta, text, finish, ids, result, p) {
        const model = this._modelName();
        if (kind === 'chat') {
            const choice = { index: 0, message: { role: 'assistant', content: text }, logprobs: null, finish_reason: finish };
            if (p.returnTokenIds) choice.token_ids = ids;
            return { id: meta.id, object: 'chat.completion', created: meta.created, model, choices: [choice], usage: result.usage };
        }
        const choice = { index: 0, text, logprobs: null, finish_reason: finish };
        if (p.returnTokenIds) choice.token_ids = ids;
        return { id: meta.id, object: 'text_completion', created: meta.created, model, choices: [choice], usage: result.usage };
    }

    _chunk(kind, meta, { role, text, ids, finish, usage, p }) {
        const model = this._modelName();
        if (kind === 'chat') {
            const delta = role ? { role: 'assistant', content: '' } : text !== undefined ? { content: text } : {};
            const choice = { index: 0, delta, logprobs: null, finish_reason: finish || null };
            if (p && p.returnTokenIds) choice.token_ids = ids || [];
            const c = { id: meta.id, object: 'chat.completion.chunk', created: meta.created, model, choices: [choice] };
            if (usage) c.usage = usage;
            return c;
        }
        const choice = { index: 0, text: text || '', logprobs: null, finish_reason: finish || null };
        if (p && p.returnTokenIds) choice.token_ids = ids || [];
        const c = { id: meta.id, object: 'text_completion', created: meta.created, model, choices: [choice] };
        if (usage) c.usage = usage;
        return c;
    }

    /** Test and diagnostics: memory facts of the model workers and pending calls. */
    async _debugState() {
        const out = {};
        for (const role of ['target', 'draft']) {
            const m = this.models[role];
            if (!m) continue;
            out[role] = { ...(await m.call('memory', [])), pending: m.client.busy, mirror: m.cached.length };
        }
        return out;
    }

    /**
     * Test and diagnostics: the exact sampling distribution of the next token after `tokens` under
     * `sampling` (the target's, or the draft's with role 'draft').
     */
    async _debugDistribution(tokens, sampling, role = 'target') {
        return this._exclusive(async () => {
            await this._ready();
            const m = this.models[role];
            await m.call('begin', [{ temperature: 1, seed: 0, ...sampling }]);
            const keep = Math.min(commonPrefixLen(m.cached, tokens), tokens.length - 1);
            const p = await m.call('distribution', [keep, tokens.slice(keep)]);
            m.cached = tokens.slice();
            return p;
        });
    }

    /** Test hook: makes a model worker die for real ('throw' = uncaught error, 'exit' = process exit). */
    async _debugCrash(role = 'target', how = 'throw') {
        const m = this.models[role];
        if (!m) throw new TritError('BAD_ARGUMENT', `no ${role} model`);
        return m.client.call('crash', [how]).catch(() => {});
    }
}

function commonPrefixLen(a, b) {
    const n = Math.min(a.length, b.length - 1);
    let i = 0;
    while (i < n && a[i] === b[i]) i++;
    return Math.max(0, i);
}

function round(x, d = 1) {
    const f = 10 ** d;
    return Math.round(x * f) / f;
}

/** An AsyncIterable of chunks (OpenAI's Stream shape: also has .controller to abort it). */
class CompletionStream {
    constructor(controller, body) {
        this.controller = controller;
        this._body = body;
        this._used = false;
    }

    [Symbol.asyncIterator]() {
        if (this._used) throw new TritError('BAD_ARGUMENT', 'a stream can be iterated once');
        this._used = true;
        return this._body();
    }
}

function checkSpec(s, where) {
    if (!(Number.isInteger(s.k) && s.k >= 1 && s.k <= 32)) throw new TritError('BAD_ARGUMENT', `${where}.k must be an integer in 1..32`);
    if (!(Number.isInteger(s.maxK) && s.maxK >= 1 && s.maxK <= 32)) throw new TritError('BAD_ARGUMENT', `${where}.maxK must be an integer in 1..32`);
}

const UNSUPPORTED_FIELDS = {
    n: v => v !== 1, logprobs: v => !!v, top_logprobs: v => !!v, tools: v => Array.isArray(v) && v.length > 0,
    tool_choice: v => v !== 'none' && v !== 'auto', functions: v => Array.isArray(v) && v.length > 0,
    response_format: v => v && v.type !== 'text', presence_penalty: v => v !== 0, frequency_penalty: v => v !== 0,
    logit_bias: v => v && Object.keys(v).length > 0, best_of: v => v !== 1, echo: v => !!v, suffix: v => !!v,
};

/** Validates and normalises request parameters (OpenAI names + a few extensions, see docs/js.md). */
function parseParams(kind, b) {
    const bad = m => new TritError('BAD_ARGUMENT', m);
    for (const [k, f] of Object.entries(UNSUPPORTED_FIELDS)) {
        if (b[k] !== undefined && b[k] !== null && f(b[k])) throw new TritError('UNSUPPORTED', `${k}=${JSON.stringify(b[k])} is not supported`);
    }
    if (kind === 'chat' && b.messages === undefined) throw bad('chat.completions.create needs messages');
    if (kind === 'text' && b.prompt === undefined) throw bad('completions.create needs a prompt');
    const num = (k, lo, hi, dflt) => {
        const v = b[k];
        if (v === undefined || v === null) return dflt;
        if (typeof v !== 'number' || !Number.isFinite(v) || v < lo || v > hi) throw bad(`${k} must be a number in [${lo}, ${hi}]`);
        return v;
    };
    const int = (k, lo, hi, dflt) => {
        const v = b[k];
        if (v === undefined || v === null) return dflt;
        if (!Number.isInteger(v) || v < lo || v > hi) throw bad(`${k} must be an integer in [${lo}, ${hi}]`);
        return v;
    };
    const temperature = num('temperature', 0, 100, 1);
    const maxTokens = b.max_completion_tokens !== undefined && b.max_completion_tokens !== null
        ? int('max_completion_tokens', 0, 1 << 24, Infinity) : int('max_tokens', 0, 1 << 24, kind === 'text' ? 16 : Infinity);
    let seed = b.seed;
    if (seed === undefined || seed === null) seed = randomSeed();
    else if (!(Number.isSafeInteger(seed) || typeof seed === 'bigint')) throw bad('seed must be an integer');
    let stop = b.stop;
    if (stop === undefined || stop === null) stop = [];
    else if (typeof stop === 'string') stop = [stop];
    else if (!Array.isArray(stop) || stop.some(s => typeof s !== 'string') || stop.length > 16) throw bad('stop must be a string or up to 16 strings');
    const rp = b.repetition_penalty !== undefined ? num('repetition_penalty', 0.01, 100, 1) : num('repeat_penalty', 0.01, 100, 1);
    let speculative;
    if (b.speculative === false) speculative = false;
    else if (b.speculative && typeof b.speculative === 'object') {
        speculative = {};
        for (const k of ['k', 'maxK', 'adaptive', 'pipeline', 'enabled', 'draftSampling']) if (b.speculative[k] !== undefined) speculative[k] = b.speculative[k];
        checkSpec({ k: speculative.k ?? 4, maxK: speculative.maxK ?? 8 }, 'speculative');
    } else if (b.speculative !== undefined && b.speculative !== true) throw bad('speculative must be a boolean or an object');
    if (b.stream_options !== undefined && b.stream_options !== null && typeof b.stream_options !== 'object') throw bad('stream_options must be an object');
    return {
        body: b, stream: !!b.stream, maxTokens, stop,
        includeUsage: !!(b.stream_options && b.stream_options.include_usage),
        returnTokenIds: !!b.return_token_ids,
        speculative,
        sampling: {
            temperature, top_p: num('top_p', 0, 1, 1), top_k: int('top_k', 0, 1 << 20, 0), min_p: num('min_p', 0, 1, 0),
            repeat_penalty: rp, seed,
        },
    };
}
