// protocol.mjs: the one worker protocol (versioned) between the engine and its model workers, and
// the inline twin that runs the same handlers in the calling thread.
//
// Messages (structured-cloned; ArrayBuffers listed in a transfer list move instead of being copied):
//   engine -> worker  {v, id, kind: 'call', method, args}      run handlers[method](...args)
//                     {v, id, kind: 'cancel'}                   abort the signal of call `id`
//   worker -> engine  {v, kind: 'ready'}                        the worker's module has loaded
//                     {v, id, kind: 'result', value, ms}        call `id` returned value after ms
//                     {v, id, kind: 'throw', error, ms}         call `id` threw (serializeError)
//                     {v, id, kind: 'event', name, data}        e.g. 'progress' during a load
// `v` is PROTOCOL_VERSION; a message with another version is answered with a PROTOCOL error.
// A handler receives (...args, ctx) with ctx = {signal, emit(name, data)} and may return
// transfer(value, [buffers]) to move buffers back.
//
// A worker that dies (uncaught error, exit, terminate) fails every pending call with a TritError
// WORKER_CRASHED; the client is dead afterwards and the engine makes a new worker to reload.

import { TritError, serializeError, deserializeError, abortError } from './errors.mjs';

export const PROTOCOL_VERSION = 1;

class Transfer {
    constructor(value, list) { this.value = value; this.list = list; }
}

/** Marks a value to be sent with its ArrayBuffers transferred (moved) rather than copied. */
export function transfer(value, list) { return new Transfer(value, list); }

const now = () => (typeof performance !== 'undefined' ? performance.now() : Date.now());

/**
 * Client side over a port {post(msg, transferList), onMessage(fn), onCrash(fn), terminate()}.
 * call() returns a promise of {value, ms}.
 */
export class RpcClient {
    constructor(port, { name = 'worker' } = {}) {
        this.port = port;
        this.name = name;
        this.nextId = 1;
        this.pending = new Map();
        this.listeners = new Map();
        this.dead = null;
        this.ready = new Promise((resolve, reject) => { this._ready = resolve; this._readyFail = reject; });
        this.ready.catch(() => {});
        port.onMessage(msg => this._onMessage(msg));
        port.onCrash(err => this._crash(err));
        // Node: an idle worker must not keep the process alive; a pending call must (see _settle)
        if (port.unref) port.unref();
    }

    _settled() {
        if (this.pending.size === 0 && this.port.unref && !this.dead) this.port.unref();
    }

    _onMessage(msg) {
        if (!msg || typeof msg !== 'object') return;
        if (msg.v !== PROTOCOL_VERSION) {
            this._crash(new TritError('PROTOCOL', `${this.name} speaks protocol v${msg.v}, expected v${PROTOCOL_VERSION}`));
            return;
        }
        if (msg.kind === 'ready') { this._ready(); return; }
        if (msg.kind === 'event') {
            const p = this.pending.get(msg.id);
            if (p && p.onEvent) p.onEvent(msg.name, msg.data);
            return;
        }
        const p = this.pending.get(msg.id);
        if (!p) return;
        this.pending.delete(msg.id);
        if (p.cleanup) p.cleanup();
        this._settled();
        if (msg.kind === 'result') p.resolve({ value: msg.value, ms: msg.ms });
        else if (msg.kind === 'throw') p.reject(deserializeError(msg.error));
        else p.reject(new TritError('PROTOCOL', `unknown reply kind '${msg.kind}' from ${this.name}`));
    }

    _crash(err) {
        if (this.dead) return;
        const reason = err && err.message ? err.message : String(err || 'it exited');
        this.dead = err instanceof TritError ? err
            : new TritError('WORKER_CRASHED', `the ${this.name} crashed: ${reason}`, { cause: err });
        this._readyFail(this.dead);
        for (const [, p] of this.pending) {
            if (p.cleanup) p.cleanup();
            p.reject(this.dead);
        }
        this.pending.clear();
        try { this.port.terminate(); } catch { /* already gone */ }
    }

    /**
     * Calls a handler in the worker. opts: {transfer: [ArrayBuffer], signal, onEvent(name, data)}.
     * With a signal, aborting sends a 'cancel' (the handler sees its ctx.signal abort) and rejects
     * with AbortError once the worker has answered.
     */
    call(method, args = [], opts = {}) {
        if (this.dead) return Promise.reject(this.dead);
        const id = this.nextId++;
        return new Promise((resolve, reject) => {
            const entry = { resolve, reject, onEvent: opts.onEvent, cleanup: null };
            if (opts.signal) {
                const onAbort = () => { if (!this.dead) this.port.post({ v: PROTOCOL_VERSION, id, kind: 'cancel' }, []); };
                if (opts.signal.aborted) queueMicrotask(onAbort);
                else opts.signal.addEventListener('abort', onAbort, { once: true });
                entry.cleanup = () => opts.signal.removeEventListener('abort', onAbort);
            }
            if (this.pending.size === 0 && this.port.ref) this.port.ref();
            this.pending.set(id, entry);
            try {
                this.port.post({ v: PROTOCOL_VERSION, id, kind: 'call', method, args }, opts.transfer || []);
            } catch (e) {
                this.pending.delete(id);
                if (entry.cleanup) entry.cleanup();
                this._settled();
                reject(new TritError('BAD_ARGUMENT', `cannot send '${method}' to the ${this.name}: ${e.message}`, { cause: e }));
            }
        });
    }

    get busy() { return this.pending.size; }

    close() {
        if (!this.dead) this.dead = new TritError('UNLOADED', `the ${this.name} was unloaded`);
        for (const [, p] of this.pending) p.reject(this.dead);
        this.pending.clear();
        try { this.port.terminate(); } catch { /* ignore */ }
    }
}

/**
 * Worker side: answers calls on scope {post(msg, transferList), onMessage(fn)} with handlers.
 */
export function serveRpc(scope, handlers) {
    const running = new Map();
    scope.onMessage(async msg => {
        if (!msg || typeof msg !== 'object') return;
        if (msg.v !== PROTOCOL_VERSION) {
            scope.post({ v: PROTOCOL_VERSION, id: msg.id, kind: 'throw', ms: 0,
                error: serializeError(new TritError('PROTOCOL', `protocol v${msg.v} is not v${PROTOCOL_VERSION}`)) }, []);
            return;
        }
        if (msg.kind === 'cancel') {
            const ac = running.get(msg.id);
            if (ac) ac.abort(abortError(null));
            return;
        }
        if (msg.kind !== 'call') return;
        const { id, method, args } = msg;
        const t0 = now();
        const ac = new AbortController();
        running.set(id, ac);
        try {
            const h = handlers[method];
            if (typeof h !== 'function') throw new TritError('PROTOCOL', `unknown method '${method}'`);
            const ctx = { signal: ac.signal, emit: (name, data) => scope.post({ v: PROTOCOL_VERSION, id, kind: 'event', name, data }, []) };
            let value = await h(...(args || []), ctx);
            let list = [];
            if (value instanceof Transfer) { list = value.list; value = value.value; }
            scope.post({ v: PROTOCOL_VERSION, id, kind: 'result', value, ms: now() - t0 }, list);
        } catch (e) {
            scope.post({ v: PROTOCOL_VERSION, id, kind: 'throw', error: serializeError(e), ms: now() - t0 }, []);
        } finally {
            running.delete(id);
        }
    });
    scope.post({ v: PROTOCOL_VERSION, kind: 'ready' }, []);
}

/**
 * The same interface as RpcClient, calling the handlers directly in this thread (no worker).
 * Values are passed by reference; errors keep their class.
 */
export class InlineClient {
    constructor(handlers, { name = 'model' } = {}) {
        this.handlers = handlers;
        this.name = name;
        this.dead = null;
        this.ready = Promise.resolve();
        this.inflight = 0;
    }

    async call(method, args = [], opts = {}) {
        if (this.dead) throw this.dead;
        const h = this.handlers[method];
        if (typeof h !== 'function') throw new TritError('PROTOCOL', `unknown method '${method}'`);
        const t0 = now();
        this.inflight++;
        try {
            const ctx = { signal: opts.signal || new AbortController().signal, emit: (name, data) => opts.onEvent && opts.onEvent(name, data) };
            let value = await h(...args, ctx);
            if (value instanceof Transfer) value = value.value;
            return { value, ms: now() - t0 };
        } finally {
            this.inflight--;
        }
    }

    get busy() { return this.inflight; }

    close() {
        if (!this.dead) this.dead = new TritError('UNLOADED', `the ${this.name} was unloaded`);
        if (this.handlers.free) { try { this.handlers.free(); } catch { /* ignore */ } }
    }
}
