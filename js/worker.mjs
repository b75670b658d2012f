// worker.mjs: the model worker. One model (one backend session) per worker; the engine drives it
// through protocol.mjs. In a browser this file is the module Web Worker's entry and starts serving
// by itself; in Node, js/workers-node.mjs is the entry and calls serveModel() with the Node platform.
// The same handlers also run inline (protocol.mjs InlineClient) when workers are off.

import { serveRpc, transfer } from './protocol.mjs';
import { TritError } from './errors.mjs';
import { loadBackend } from './backends.mjs';

/** The methods a model worker answers (see js/model-wasm.mjs for what each does). */
export function modelHandlers(platform) {
    let model = null;
    const need = () => {
        if (!model) throw new TritError('INTERNAL', 'no model is loaded in this worker');
        return model;
    };
    return {
        async load(source, opts, ctx) {
            if (model) { model.free(); model = null; }
            const Backend = await loadBackend(opts.backend || 'wasm');
            let cache = null;
            if (source.kind === 'url' && opts.cache) cache = platform.cacheStore(opts.cache);
            model = await Backend.create({
                source, build: opts.build, contextLength: opts.contextLength, kvType: opts.kvType, batch: opts.batch,
                platform, cache, signal: ctx.signal, onProgress: p => ctx.emit('progress', p),
            });
            return model.describe();
        },
        describe: () => need().describe(),
        resize: nCtx => need().resize(nCtx),
        vocab: () => {
            const v = need().vocab();
            return transfer(v, [v.bytes.buffer, v.offsets.buffer, v.eog.buffer]);
        },
        tokenize: (text, addSpecial, parseSpecial) => {
            const t = need().tokenize(text, addSpecial, parseSpecial);
            return transfer(t, [t.buffer]);
        },
        begin: s => need().begin(s),
        feed: (keep, append) => need().feed(keep, append),
        next: (keep, append) => need().next(keep, append),
        propose: (keep, append, k, wantProbs) => {
            const r = need().propose(keep, append, k, wantProbs);
            return transfer(r, r.q ? [r.tokens.buffer, r.q.buffer] : [r.tokens.buffer]);
        },
        verify: (keep, append, draft, q) => need().verify(keep, append, draft, q),
        distribution: (keep, append) => {
            const p = need().distribution(keep, append);
            return transfer(p, [p.buffer]);
        },
        memory: () => need().memory(),
        free: () => {
            if (model) model.free();
            model = null;
            return true;
        },
        /** Test hook: makes this worker die for real, the way a bug would ('throw' or 'exit'). */
        crash: how => {
            if (how === 'exit' && platform.exit) platform.exit(70);
            setTimeout(() => { throw new Error('deliberate crash (test hook)'); }, 0);
            return true;
        },
    };
}

/** Serves the model handlers on a worker scope {post, onMessage}. */
export function serveModel(scope, platform) {
    serveRpc(scope, modelHandlers(platform));
}

// Browser module worker: serve on `self`.
if (typeof WorkerGlobalScope !== 'undefined' && typeof self !== 'undefined' && self instanceof WorkerGlobalScope) {
    const { platform } = await import('./platform-browser.mjs');
    serveModel({
        post: (m, t) => self.postMessage(m, t),
        onMessage: fn => self.addEventListener('message', e => fn(e.data)),
    }, platform);
}
