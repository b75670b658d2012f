// server.mjs: `trit serve`, a self-hosted OpenAI-compatible HTTP server over the package's engine
// (node:http only, no dependencies). It is what the router's remote route (remote.mjs) talks to when
// a device cannot run the model itself, and it speaks the standard protocol, so any OpenAI client
// works with it. docs/server.md is the reference.
//
//   POST /v1/chat/completions   POST /v1/completions   (JSON, or server-sent events with stream: true)
//   GET  /v1/models   GET /v1/models/{id}   GET /health
//
// Concurrency: `parallel` engines, each with its own model workers (and KV cache), serve one request
// at a time each; a request that finds every engine busy waits in a bounded FIFO queue, and one that
// finds the queue full gets 429 with Retry-After. While the models load (and while shutting down)
// /v1/* answers 503 with Retry-After. A client that disconnects (mid-stream, or while queued) aborts
// its generation and frees its engine. Every error is OpenAI's JSON shape
// {"error": {"message", "type", "param", "code"}} with a fitting status; a request never takes the
// server down.
//
//   import { createServer } from './server.mjs';
//   const srv = await createServer({ model: 'target.gguf', port: 0 });   // listening, models loading
//   await srv.ready;                                                   // engines loaded
//   console.log(srv.url);                                              // http://127.0.0.1:PORT
//   await srv.close();

import http from 'node:http';
import path from 'node:path';
import fs from 'node:fs';
import os from 'node:os';
import crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createEngine, TritError, isAbortError, TEMPLATES } from './index-node.mjs';
import { EMBEDDED as EMBEDDED_URLS } from './engine.mjs';


/** The embedded model pair (issue 7): `trit serve` without -m serves it, and the tests prefer it. */
export const EMBEDDED = Object.freeze({ target: fileURLToPath(EMBEDDED_URLS.target), draft: fileURLToPath(EMBEDDED_URLS.draft) });

export const DEFAULTS = Object.freeze({
    host: '127.0.0.1',
    port: 8080,
    parallel: 1,
    queue: 64,                       // requests that may wait for an engine
    maxBodyBytes: 1 << 20,           // request bodies larger than this get 413
});

const SERVER_OPTIONS = new Set(['model', 'draft', 'host', 'port', 'apiKey', 'parallel', 'queue', 'maxBodyBytes', 'name',
    'chatTemplate', 'contextLength', 'cors', 'log', 'debug', 'engine']);

// Request fields. Everything else is a 400 (unknown_parameter), so typos do not go unnoticed. The
// engine validates values and rejects features it lacks (n > 1, logprobs, tools, ...) as UNSUPPORTED.
const COMMON_FIELDS = ['model', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p',
    'stop', 'seed', 'n', 'logprobs', 'top_logprobs', 'presence_penalty', 'frequency_penalty', 'logit_bias',
    // accepted and ignored: they change nothing about the output
    'user', 'metadata', 'store', 'service_tier',
    // trit extensions (docs/js.md)
    'top_k', 'min_p', 'repetition_penalty', 'repeat_penalty', 'return_token_ids', 'speculative'];
const FIELDS = {
    chat: new Set([...COMMON_FIELDS, 'messages', 'tools', 'tool_choice', 'functions', 'function_call', 'response_format',
        'parallel_tool_calls']),
    text: new Set([...COMMON_FIELDS, 'prompt', 'best_of', 'echo', 'suffix']),
};

// engine error code -> [HTTP status, OpenAI error type, error code]
const STATUS = {
    BAD_ARGUMENT: [400, 'invalid_request_error', 'invalid_value'],
    UNSUPPORTED: [400, 'invalid_request_error', 'unsupported_parameter'],
    CONTEXT_LENGTH_EXCEEDED: [400, 'invalid_request_error', 'context_length_exceeded'],
    CHAT_TEMPLATE: [400, 'invalid_request_error', 'chat_template_unavailable'],
    VOCAB_MISMATCH: [500, 'server_error', 'server_error'],
    OUT_OF_MEMORY: [500, 'server_error', 'out_of_memory'],
    WORKER_CRASHED: [500, 'server_error', 'worker_crashed'],
};

/** An error with its HTTP answer (a TritError like every error of the package; details.http says how). */
function httpError(status, type, code, message, { param = null, headers } = {}) {
    return new TritError(status >= 500 ? 'INTERNAL' : 'BAD_ARGUMENT', message, { details: { http: { status, type, code, param, headers } } });
}

/** {status, headers, body} of OpenAI's error shape for any thrown value. */
function errorAnswer(e) {
    const h = e && e.details && e.details.http;
    if (h) return { status: h.status, headers: h.headers || {}, body: errBody(e.message, h.type, h.code, h.param) };
    if (e instanceof TritError) {
        const [status, type, code] = STATUS[e.code] || [500, 'server_error', 'server_error'];
        let msg = e.message;
        if (e.code === 'CHAT_TEMPLATE' && /no tokenizer\.chat_template|pass chatTemplate/.test(msg)) {
            msg = `this server's model has no chat template it knows; start the server with --chat-template ` +
                `(${Object.keys(TEMPLATES).join(', ')}) or use /v1/completions`;
        }
        let param = null;
        const m = /^(\w+) must|^(\w+)=/.exec(msg);
        if (m) param = m[1] || m[2];
        if (e.code === 'CONTEXT_LENGTH_EXCEEDED') param = 'messages';
        return { status, headers: {}, body: errBody(msg, type, code, param) };
    }
    return { status: 500, headers: {}, body: errBody(`internal error: ${(e && e.message) || e}`, 'server_error', 'server_error', null) };
}

function errBody(message, type, code, param) {
    return { error: { message, type, param, code } };
}

/**
 * The engines and the bounded queue in front of them. acquire() gives an idle engine (FIFO among the
 * waiters), rejects with 429 when `maxQueue` requests already wait, and drops a waiter whose signal
 * aborts; release() hands the engine to the next waiter.
 */
class EnginePool {
    constructor(engines, maxQueue) {
        this.engines = engines;
        this.idle = engines.slice();
        this.waiters = [];
        this.maxQueue = maxQueue;
        this.serviceMs = null;            // EMA of how long a request holds an engine
        this.closed = false;
    }

    get busy() { return this.engines.length - this.idle.length; }
    get queued() { return this.waiters.length; }

    /** Seconds a client turned away should wait: the queue ahead of it, drained by the engines. */
    retryAfter() {
        const ms = this.serviceMs === null ? 1000 : this.serviceMs;
        return Math.min(60, Math.max(1, Math.ceil(ms * (this.waiters.length / this.engines.length + 1) / 1000)));
    }

    acquire(signal) {
        if (this.closed) return Promise.reject(unavailable('the server is shutting down', 'shutting_down', 1));
        if (signal.aborted) return Promise.reject(signal.reason);
        if (this.idle.length) return Promise.resolve(this._take(this.idle.pop()));
        if (this.waiters.length >= this.maxQueue) {
            return Promise.reject(httpError(429, 'rate_limit_error', 'queue_full',
                `all ${this.engines.length} engines are busy and ${this.waiters.length} requests are waiting; retry later`,
                { headers: { 'retry-after': String(this.retryAfter()) } }));
        }
        return new Promise((resolve, reject) => {
            const w = { resolve, reject, signal };
            w.onAbort = () => {
                const i = this.waiters.indexOf(w);
                if (i >= 0) this.waiters.splice(i, 1);
                reject(signal.reason);
            };
            signal.addEventListener('abort', w.onAbort, { once: true });
            this.waiters.push(w);
        });
    }

    _take(engine) {
        return { engine, t0: performance.now() };
    }

    release(lease) {
        const ms = performance.now() - lease.t0;
        this.serviceMs = this.serviceMs === null ? ms : 0.8 * this.serviceMs + 0.2 * ms;
        const w = this.waiters.shift();
        if (w) {
            w.signal.removeEventListener('abort', w.onAbort);
            w.resolve(this._take(lease.engine));
        } else {
            this.idle.push(lease.engine);
        }
    }

    /** Rejects every waiter (shutdown). */
    close() {
        this.closed = true;
        for (const w of this.waiters.splice(0)) {
            w.signal.removeEventListener('abort', w.onAbort);
            w.reject(unavailable('the server is shutting down', 'shutting_down', 1));
        }
    }
}

function unavailable(message, code, retry) {
    return httpError(503, 'server_error', code, message, { headers: { 'retry-after': String(retry) } });
}

const isLoopback = h => h === 'localhost' || h === '::1' || /^127\./.test(h);

/** Checks and completes the options (throws BAD_ARGUMENT with the option's name). */
function normalizeOptions(o) {
    const bad = m => new TritError('BAD_ARGUMENT', m);
    if (!o || typeof o !== 'object') throw bad('createServer takes an options object');
    for (const k of Object.keys(o)) if (!SERVER_OPTIONS.has(k)) throw bad(`unknown option '${k}' (known: ${[...SERVER_OPTIONS].join(', ')})`);
    const r = { ...DEFAULTS, ...o };
    if (r.model === undefined || r.model === null) throw bad('createServer needs a model');
    const posInt = (k, min) => { if (!Number.isInteger(r[k]) || r[k] < min) throw bad(`${k} must be an integer >= ${min}`); };
    posInt('parallel', 1); posInt('queue', 0); posInt('maxBodyBytes', 64);
    if (!Number.isInteger(r.port) || r.port < 0 || r.port > 65535) throw bad('port must be an integer in 0..65535');
    if (typeof r.host !== 'string' || !r.host) throw bad('host must be a string');
    if (r.apiKey !== undefined && r.apiKey !== null && (typeof r.apiKey !== 'string' || !r.apiKey)) throw bad('apiKey must be a non-empty string');
    if (r.cors !== undefined && r.cors !== null) {
        const list = Array.isArray(r.cors) ? r.cors : String(r.cors).split(',');
        r.cors = list.map(s => String(s).trim()).filter(Boolean);
    } else r.cors = [];
    if (r.name === undefined || r.name === null) {
        r.name = typeof r.model === 'string' ? path.basename(r.model).replace(/\.gguf$/i, '') : 'trit';
    }
    if (typeof r.log !== 'function') r.log = r.log === false ? () => {} : line => process.stderr.write(line + '\n');
    return r;
}

/**
 * Starts the server: listens at once (answering 503 while loading) and loads `parallel` engines.
 * Options: {model, draft?, host, port (0 = any free port), apiKey?, parallel, queue, maxBodyBytes,
 * name (the model id), chatTemplate?, contextLength?, cors? (origins, '*'), log? (function | false),
 * debug? (GET /debug/state), engine? (more createEngine options)}. Resolves when listening;
 * `.ready` resolves when the engines are loaded (rejects, and the server closes, if loading fails).
 */
export async function createServer(options) {
    const srv = new TritServer(normalizeOptions(options));
    await srv._listen();
    srv.ready = srv._load();
    srv.ready.catch(() => {});
    return srv;
}

class TritServer {
    constructor(o) {
        this.o = o;
        this.state = 'loading';
        this.pool = null;
        this.created = Math.floor(Date.now() / 1000);
        this.active = new Set();          // AbortControllers of requests holding or awaiting an engine
        this.stats = { requests: 0, completions: 0, streamed: 0, aborted: 0, rejected: 0, errors: 0, last_aborted: null };
        this.info = null;
        this.http = http.createServer({ keepAliveTimeout: 5000, requestTimeout: 120000 }, (req, res) => this._handle(req, res));
        this.http.on('checkContinue', (req, res) => this._checkContinue(req, res));
        this.http.on('clientError', (err, socket) => {
            if (socket.writable && !socket.writableEnded) {
                const body = JSON.stringify(errBody(`malformed HTTP request: ${err.code || err.message}`, 'invalid_request_error', 'bad_request', null));
                socket.end(`HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
            } else socket.destroy();
        });
    }

    get url() {
        const a = this.http.address();
        const host = a.family === 'IPv6' ? `[${a.address}]` : a.address;
        return `http://${host}:${a.port}`;
    }

    get port() { return this.http.address().port; }

    _listen() {
        return new Promise((resolve, reject) => {
            const onErr = e => reject(new TritError('BAD_ARGUMENT', `cannot listen on ${this.o.host}:${this.o.port}: ${e.message}`, { cause: e }));
            this.http.once('error', onErr);
            this.http.listen(this.o.port, this.o.host, () => { this.http.off('error', onErr); resolve(); });
        });
    }

    async _load() {
        const o = this.o;
        const eopts = {
            ...(o.engine || {}), model: o.model, name: o.name,
            ...(o.draft ? { draft: o.draft } : {}),
            ...(o.chatTemplate ? { chatTemplate: o.chatTemplate } : {}),
            ...(o.contextLength ? { contextLength: o.contextLength } : {}),
        };
        // matmul threads: the cores shared between the parallel engines (engine.threads overrides)
        if (!eopts.threads) eopts.threads = Math.max(1, Math.min(4, Math.floor((os.availableParallelism ? os.availableParallelism() : os.cpus().length) / o.parallel)));
        const settled = await Promise.allSettled(Array.from({ length: o.parallel }, () => createEngine(eopts)));
        const failed = settled.find(s => s.status === 'rejected');
        if (failed || this.state !== 'loading') {
            await Promise.all(settled.filter(s => s.status === 'fulfilled').map(s => s.value.unload()));
            if (failed) { this.state = 'failed'; await this.close(); throw failed.reason; }
            return;
        }
        const engines = settled.map(s => s.value);
        this.pool = new EnginePool(engines, o.queue);
        const e0 = engines[0];
        let chat = true;
        try { e0.applyChatTemplate([{ role: 'user', content: 'x' }]); } catch { chat = false; }
        const m = e0.info.model, d = e0.info.draft;
        this.info = {
            id: o.name, arch: m.arch, n_ctx: m.n_ctx, n_vocab: m.n_vocab, n_params: m.n_params, chat_template: chat,
            draft: d ? { arch: d.arch, n_params: d.n_params } : null,
        };
        this.state = 'ready';
    }

    /** Stops listening, aborts running generations, unloads the engines. */
    async close() {
        if (this._closing) return this._closing;
        const was = this.state;
        this.state = 'closing';
        this._closing = (async () => {
            if (this.pool) this.pool.close();
            for (const c of this.active) c.abort(abortReason());
            const closed = new Promise(r => this.http.close(() => r()));
            this.http.closeIdleConnections();
            // running requests end as their generations abort; then the last sockets go
            const t = setTimeout(() => this.http.closeAllConnections(), 2000);
            await closed;
            clearTimeout(t);
            if (this.pool) await Promise.all(this.pool.engines.map(e => e.unload()));
            this.state = was === 'failed' ? 'failed' : 'closed';
        })();
        return this._closing;
    }

    // ---- HTTP ------------------------------------------------------------------------------------

    _cors(req, res) {
        const origin = req.headers.origin;
        if (!origin || !this.o.cors.length) return false;
        const any = this.o.cors.includes('*');
        if (!any && !this.o.cors.includes(origin)) return false;
        res.setHeader('access-control-allow-origin', any ? '*' : origin);
        if (!any) res.setHeader('vary', 'origin');
        return true;
    }

    _checkContinue(req, res) {
        // Expect: 100-continue: refuse an oversized body before the client sends it
        const len = Number(req.headers['content-length']);
        if (len > this.o.maxBodyBytes) {
            this._cors(req, res);
            this._send(res, errorAnswer(tooLarge(this.o.maxBodyBytes)), { close: true });
            return;
        }
        res.writeContinue();
        this._handle(req, res);
    }

    _send(res, { status, headers = {}, body }, { close = false } = {}) {
        if (res.headersSent) { res.destroy(); return; }
        const s = JSON.stringify(body);
        const h = { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(s), ...headers };
        if (close) h.connection = 'close';
        res.writeHead(status, h);
        res.end(s);
    }

    async _handle(req, res) {
        const t0 = performance.now();
        let route = '';
        try {
            const url = new URL(req.url, 'http://x');
            route = url.pathname.replace(/\/+$/, '') || '/';
            const cors = this._cors(req, res);
            if (req.method === 'OPTIONS' && cors) {
                res.writeHead(204, {
                    'access-control-allow-methods': 'GET, POST, OPTIONS',
                    'access-control-allow-headers': req.headers['access-control-request-headers'] || 'authorization, content-type',
                    'access-control-max-age': '600', 'content-length': '0',
                });
                res.end();
                return;
            }
            await this._route(req, res, route);
        } catch (e) {
            if (isAbortError(e)) {
                // the client went away (nobody to answer), or the server is closing
                if (!res.headersSent && !res.destroyed) this._send(res, errorAnswer(unavailable('the server is shutting down', 'shutting_down', 1)));
                else if (!res.writableEnded) res.destroy();
            } else {
                const a = errorAnswer(e);
                if (a.status === 429 || a.status === 503) this.stats.rejected++;
                else if (a.status >= 500) {
                    this.stats.errors++;
                    this.o.log(`trit serve: ${req.method} ${route}: ${(e && e.stack) || e}`);
                }
                this._send(res, a);
            }
        } finally {
            if (route.startsWith('/v1/') && req.method === 'POST') {
                this.o.log(`${new Date().toISOString()} ${req.method} ${route} ${res.headersSent ? res.statusCode : '-'}` +
                    `${res.writableFinished ? '' : ' (cut off)'} ` +
                    `${Math.round(performance.now() - t0)}ms`);
            }
        }
    }

    async _route(req, res, route) {
        const get = req.method === 'GET' || req.method === 'HEAD';
        if (route === '/health') {
            if (!get) throw notAllowed('GET');
            const ready = this.state === 'ready';
            const body = { status: ready ? 'ok' : this.state };
            if (ready) Object.assign(body, { model: this.o.name, parallel: this.pool.engines.length, busy: this.pool.busy, queued: this.pool.queued });
            return this._send(res, { status: ready ? 200 : 503, headers: ready ? {} : { 'retry-after': '1' }, body });
        }
        if (route === '/debug/state' && this.o.debug) {
            if (!get) throw notAllowed('GET');
            return this._send(res, { status: 200, body: await this._debugState() });
        }
        if (route === '/debug/crash' && this.o.debug && this.pool) {
            // test hook: makes engine 0's target worker die for real (the crash-recovery path)
            if (req.method !== 'POST') throw notAllowed('POST');
            req.resume();
            await this.pool.engines[0]._debugCrash('target', 'exit');
            return this._send(res, { status: 200, body: { crashed: true } });
        }
        const known = ['/v1/models', '/v1/chat/completions', '/v1/completions'];
        if (!known.includes(route) && !route.startsWith('/v1/models/')) {
            throw httpError(404, 'invalid_request_error', 'not_found', `no such endpoint: ${req.method} ${route} ` +
                '(POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health)');
        }
        this._authorize(req);
        if (this.state !== 'ready') {
            throw this.state === 'loading' ? unavailable('the model is loading', 'model_loading', 2)
                : unavailable('the server is shutting down', 'shutting_down', 1);
        }
        if (route === '/v1/models') {
            if (!get) throw notAllowed('GET');
            return this._send(res, { status: 200, body: { object: 'list', data: [this._modelObject()] } });
        }
        if (route.startsWith('/v1/models/')) {
            if (!get) throw notAllowed('GET');
            let id = route.slice('/v1/models/'.length);
            try { id = decodeURIComponent(id); } catch { /* not %-encoded text: compare it as it is */ }
            if (id !== this.o.name) throw httpError(404, 'invalid_request_error', 'model_not_found', `the model '${id}' does not exist`, { param: 'model' });
            return this._send(res, { status: 200, body: this._modelObject() });
        }
        if (req.method !== 'POST') throw notAllowed('POST');
        const kind = route === '/v1/chat/completions' ? 'chat' : 'text';
        const body = await this._readJson(req, kind);
        return this._complete(req, res, kind, body);
    }

    _authorize(req) {
        const key = this.o.apiKey;
        if (!key) return;
        const m = /^Bearer\s+(.+)$/i.exec(req.headers.authorization || '');
        const given = m ? Buffer.from(m[1].trim()) : Buffer.alloc(0);
        const want = Buffer.from(key);
        // constant time for equal lengths; the length itself is not secret enough to matter
        if (given.length !== want.length || !crypto.timingSafeEqual(given, want)) {
            throw httpError(401, 'invalid_request_error', 'invalid_api_key', m ? 'incorrect API key' :
                'this server needs an API key: send the header Authorization: Bearer KEY', { headers: { 'www-authenticate': 'Bearer' } });
        }
    }

    _modelObject() {
        return { id: this.o.name, object: 'model', created: this.created, owned_by: 'trit', trit: this.info };
    }

    async _readJson(req, kind) {
        const type = String(req.headers['content-type'] || '');
        if (!/^application\/json\s*(;|$)/i.test(type)) {
            req.resume();
            throw httpError(415, 'invalid_request_error', 'unsupported_media_type',
                `the body must be JSON with the header Content-Type: application/json (got '${type.slice(0, 80) || 'none'}')`);
        }
        const raw = await readBody(req, this.o.maxBodyBytes);
        let body;
        try {
            body = JSON.parse(raw.toString('utf8'));
        } catch (e) {
            throw httpError(400, 'invalid_request_error', 'invalid_json', `the body is not valid JSON: ${e.message}`);
        }
        if (!body || typeof body !== 'object' || Array.isArray(body)) {
            throw httpError(400, 'invalid_request_error', 'invalid_json', 'the body must be a JSON object');
        }
        for (const k of Object.keys(body)) {
            if (!FIELDS[kind].has(k)) {
                throw httpError(400, 'invalid_request_error', 'unknown_parameter', `unrecognized request argument supplied: ${k}`, { param: k });
            }
        }
        const type_ = (k, t) => {
            if (body[k] !== undefined && body[k] !== null && typeof body[k] !== t) {
                throw httpError(400, 'invalid_request_error', 'invalid_type', `${k} must be a ${t}`, { param: k });
            }
        };
        type_('model', 'string'); type_('stream', 'boolean'); type_('return_token_ids', 'boolean');
        if (kind === 'chat' && body.function_call !== undefined && body.function_call !== null && body.function_call !== 'none' && body.function_call !== 'auto') {
            throw httpError(400, 'invalid_request_error', 'unsupported_parameter', 'function_call is not supported', { param: 'function_call' });
        }
        return body;
    }

    async _complete(req, res, kind, body) {
        this.stats.requests++;
        const ctl = new AbortController();
        // the client going away (before or during the answer) aborts the request
        const onClose = () => { if (!res.writableFinished) ctl.abort(abortReason()); };
        res.on('close', onClose);
        this.active.add(ctl);
        let lease = null;
        try {
            lease = await this.pool.acquire(ctl.signal);
            const api = kind === 'chat' ? lease.engine.chat.completions : lease.engine.completions;
            const r = await api.create(body, { signal: ctl.signal });
            if (!body.stream) {
                this.stats.completions++;
                return this._send(res, { status: 200, body: r });
            }
            await this._stream(res, r, ctl);
        } catch (e) {
            if (isAbortError(e) || ctl.signal.aborted) {
                this.stats.aborted++;
                throw abortReason();
            }
            throw e;
        } finally {
            res.off('close', onClose);
            this.active.delete(ctl);
            if (lease) this.pool.release(lease);
        }
    }

    /** Server-sent events: the first chunk decides the status (prompt errors are still a 4xx). */
    async _stream(res, stream, ctl) {
        const it = stream[Symbol.asyncIterator]();
        let chunks = 0;
        try {
            let r = await it.next();
            res.writeHead(200, {
                'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-accel-buffering': 'no',
            });
            while (!r.done) {
                chunks++;
                await writeEvent(res, r.value);
                r = await it.next();
            }
            res.end('data: [DONE]\n\n');
            this.stats.streamed++;
        } catch (e) {
            if (!res.headersSent || isAbortError(e) || ctl.signal.aborted) {
                if (ctl.signal.aborted) this.stats.last_aborted = { chunks };
                throw e;
            }
            // a failure mid-stream: an error event (the OpenAI clients raise it), then the end
            this.stats.errors++;
            this.o.log(`trit serve: stream failed: ${(e && e.stack) || e}`);
            try { res.end(`data: ${JSON.stringify(errorAnswer(e).body)}\n\n`); } catch { res.destroy(); }
        } finally {
            await it.return();
        }
    }

    async _debugState() {
        if (typeof globalThis.gc === 'function') globalThis.gc();
        const mem = process.memoryUsage();
        const engines = this.pool ? await Promise.all(this.pool.engines.map(e => e._debugState().catch(err => ({ state: e.info.state, error: err.code }))))
            : [];
        const sockets = await new Promise(r => this.http.getConnections((err, n) => r(err ? -1 : n)));
        return {
            state: this.state, memory: { rss: mem.rss, heapUsed: mem.heapUsed, external: mem.external, arrayBuffers: mem.arrayBuffers },
            engines, busy: this.pool ? this.pool.busy : 0, queued: this.pool ? this.pool.queued : 0, active: this.active.size,
            sockets, stats: { ...this.stats },
        };
    }
}

function abortReason() {
    const e = new Error('the client disconnected');
    e.name = 'AbortError';
    return e;
}

function notAllowed(allow) {
    return httpError(405, 'invalid_request_error', 'method_not_allowed', `use ${allow}`, { headers: { allow } });
}

function tooLarge(limit) {
    return httpError(413, 'invalid_request_error', 'request_too_large', `the request body exceeds ${limit} bytes`);
}

const DRAIN_MAX = 64 << 20;       // bytes of an oversized body read (and dropped) before the connection is cut

/**
 * The request body, at most `limit` bytes; beyond, a 413. The rest of an oversized body is read and
 * dropped (up to DRAIN_MAX), so that the client, still sending, gets to read the answer instead of a
 * connection reset.
 */
function readBody(req, limit) {
    return new Promise((resolve, reject) => {
        const parts = [];
        let n = 0, done = false;
        const fail = e => { if (!done) { done = true; reject(e); } };
        const drain = () => {
            parts.length = 0;
            req.on('data', b => { n += b.length; if (n > DRAIN_MAX) req.socket.destroy(); });
            fail(tooLarge(limit));
        };
        if (Number(req.headers['content-length']) > limit) { drain(); return; }
        const onData = b => {
            n += b.length;
            if (n > limit) { req.off('data', onData); drain(); return; }
            parts.push(b);
        };
        req.on('data', onData);
        req.on('end', () => { if (!done) { done = true; resolve(Buffer.concat(parts, n)); } });
        req.on('error', e => fail(httpError(400, 'invalid_request_error', 'bad_request', `reading the body failed: ${e.message}`)));
        req.on('aborted', () => fail(abortReason()));
    });
}

/** One SSE event; waits while the socket's buffer is full (a slow reader slows its generation). */
function writeEvent(res, obj) {
    if (res.destroyed) return Promise.reject(abortReason());
    if (res.write(`data: ${JSON.stringify(obj)}\n\n`)) return Promise.resolve();
    return new Promise((resolve, reject) => {
        const done = () => { res.off('drain', done); res.off('close', gone); resolve(); };
        const gone = () => { res.off('drain', done); res.off('close', gone); reject(abortReason()); };
        res.on('drain', done);
        res.on('close', gone);
    });
}

// ---- command line ----------------------------------------------------------------------------------

const USAGE = `usage: trit serve -m TARGET.gguf [options]
an OpenAI-compatible server: POST /v1/chat/completions, POST /v1/completions, GET /v1/models, GET /health
options:
  -m, --model FILE        the model (default: the embedded model, ${path.relative(process.cwd(), EMBEDDED.target) || EMBEDDED.target}, if present)
  --draft FILE            a draft model with the same vocabulary (speculative decoding)
  --host HOST             address to bind (default ${DEFAULTS.host}; anything else exposes the server)
  --port N                port (default ${DEFAULTS.port}; 0 = any free port)
  --api-key KEY           require "Authorization: Bearer KEY" on /v1/* (or set TRIT_API_KEY)
  --parallel N            engines (each with its own workers and KV cache) serving at once (default ${DEFAULTS.parallel})
  --queue N               requests that may wait for an engine; more get 429 (default ${DEFAULTS.queue})
  --max-body BYTES        largest request body (default ${DEFAULTS.maxBodyBytes})
  -c, --ctx-size N        context length (default min(n_ctx_train, 4096))
  --chat-template NAME    ${Object.keys(TEMPLATES).join(', ')} (default: the model's own)
  --name ID               the model id clients see (default: the file name without .gguf)
  --cors ORIGINS          allow browser pages of these origins (comma-separated, or *) to call the server
  --quiet                 no request log on stderr
`;

export function parseServeArgs(argv, env = process.env) {
    const o = {};
    const int = (k, v) => {
        if (!/^\d+$/.test(v)) throw new TritError('BAD_ARGUMENT', `${k} needs a non-negative integer, not '${v}'`);
        return Number(v);
    };
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i];
        if (k === '-h' || k === '--help') return { help: true };
        if (k === '--quiet') { o.log = false; continue; }
        if (k === '--debug') { o.debug = true; continue; }      // GET /debug/state (tests)
        const v = argv[i + 1];
        if (v === undefined) throw new TritError('BAD_ARGUMENT', `${k} needs a value`);
        i++;
        switch (k) {
        case '-m': case '--model': o.model = v; break;
        case '--draft': o.draft = v; break;
        case '--host': o.host = v; break;
        case '--port': o.port = int(k, v); break;
        case '--api-key': o.apiKey = v; break;
        case '--parallel': case '-np': o.parallel = int(k, v); break;
        case '--queue': o.queue = int(k, v); break;
        case '--max-body': o.maxBodyBytes = int(k, v); break;
        case '-c': case '--ctx-size': o.contextLength = int(k, v); break;
        case '--chat-template': o.chatTemplate = v; break;
        case '--name': o.name = v; break;
        case '--cors': o.cors = v; break;
        default: throw new TritError('BAD_ARGUMENT', `unknown option '${k}'`);
        }
    }
    if (o.apiKey === undefined && env.TRIT_API_KEY) o.apiKey = env.TRIT_API_KEY;
    if (o.model === undefined && fs.existsSync(EMBEDDED.target)) {
        o.model = EMBEDDED.target;
        if (o.draft === undefined && fs.existsSync(EMBEDDED.draft)) o.draft = EMBEDDED.draft;
    }
    if (o.model === undefined) throw new TritError('BAD_ARGUMENT', '-m MODEL is required (no embedded model in this package)');
    return o;
}

/** `trit serve ...`: runs until SIGINT/SIGTERM. Exit codes as the CLI: 0 ok, 1 runtime error, 2 usage. */
export async function main(argv) {
    const say = s => process.stdout.write(s + '\n');
    const err = s => process.stderr.write(s + '\n');
    let o;
    try {
        o = parseServeArgs(argv);
    } catch (e) {
        err(`error: ${e.message}`);
        process.stderr.write(USAGE);
        return 2;
    }
    if (o.help) { process.stdout.write(USAGE); return 0; }
    let srv;
    try {
        srv = await createServer(o);
    } catch (e) {
        err(`error: ${e.message}`);
        return e.code === 'BAD_ARGUMENT' && !e.cause ? 2 : 1;
    }
    if (!isLoopback(srv.o.host) && !srv.o.apiKey) err(`warning: listening on ${srv.o.host} without --api-key: anyone who can reach it can use it`);
    say(`trit serve: listening on ${srv.url} (model ${srv.o.name}, ${srv.o.parallel} engine${srv.o.parallel > 1 ? 's' : ''}), loading`);
    let stopping = null;
    const stop = sig => {
        if (!stopping) { err(`trit serve: ${sig}, shutting down`); stopping = srv.close(); }
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    try {
        await srv.ready;
    } catch (e) {
        err(`error: cannot load the model: ${e.message}`);
        return 1;
    }
    if (srv.state === 'ready') {
        const i = srv.info;
        say(`trit serve: ready: ${srv.url}/v1 (${i.arch}, ${i.n_params} params, context ${i.n_ctx}` +
            `${i.draft ? `, draft ${i.draft.n_params} params` : ''}${i.chat_template ? '' : ', no chat template: /v1/completions only'})`);
    }
    await new Promise(r => srv.http.once('close', r));
    await srv.close();
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    return 0;
}
