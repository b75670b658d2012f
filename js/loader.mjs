// loader.mjs: gets a model file's bytes into a sink (the wasm heap of the model's worker), from a
// URL (streamed, with progress, cache, integrity check and resume), a File/Blob, an ArrayBuffer or,
// in Node, a path. It runs inside the model worker, so the bytes go straight from the network or disk
// into the heap that keeps them: no second full copy exists in JS.
//
// A model source is normalised on the calling side by normalizeSource() into plain data that can be
// posted to a worker: {kind: 'url'|'path'|'blob'|'buffer', url|path|blob|buffer, sha256?, size?, name}.
//
// Cache: a store (platform.cacheStore(): the Cache API in browsers, a directory in Node) keyed by the
// URL and, when given, the expected SHA-256. A download is written to the cache as it streams and
// committed only once complete and verified; an integrity failure caches nothing.
//
// Resume: when the connection drops mid-transfer, the loader asks for the rest with a Range request
// (If-Range: the first response's strong ETag or Last-Modified). A 206 continues where it stopped; a
// 200 (the server cannot resume or the file changed) restarts cleanly from byte 0. At most `retries`
// (default 3) attempts follow the first, with a short backoff.

import { TritError, abortError, throwIfAborted, isAbortError } from './errors.mjs';

const PROGRESS_INTERVAL_MS = 50;

function isBlob(x) { return typeof Blob !== 'undefined' && x instanceof Blob; }

/**
 * Normalises what the caller passed as a model into a postable descriptor.
 * model: URL string | URL | File | Blob | ArrayBuffer | typed array | path (Node) |
 *        {url|path|blob|buffer|data, sha256?, size?, name?}
 * env: {isNode, baseURL?}
 */
export function normalizeSource(model, env = {}) {
    let extra = {};
    if (model && typeof model === 'object' && !(model instanceof URL) && !isBlob(model) && !ArrayBuffer.isView(model) &&
        !(model instanceof ArrayBuffer)) {
        const { url, path, blob, buffer, data, ...rest } = model;
        extra = rest;
        model = url ?? path ?? blob ?? buffer ?? data;
        if (path !== undefined && typeof path === 'string') return finish({ kind: 'path', path, name: basename(path) }, extra);
        if (model === undefined) throw new TritError('BAD_ARGUMENT', 'a model source needs one of url, path, blob or buffer');
    }
    if (typeof model === 'string' || model instanceof URL) {
        const s = String(model);
        if (/^file:/i.test(s)) {
            if (!env.isNode) throw new TritError('BAD_ARGUMENT', 'file: URLs need Node');
            return finish({ kind: 'path', path: decodeURIComponent(new URL(s).pathname), name: basename(s) }, extra);
        }
        if (/^(https?|blob|data):/i.test(s)) return finish({ kind: 'url', url: s, name: basename(s) }, extra);
        if (env.isNode) return finish({ kind: 'path', path: s, name: basename(s) }, extra);
        const base = env.baseURL || (typeof location !== 'undefined' ? location.href : undefined);
        return finish({ kind: 'url', url: new URL(s, base).href, name: basename(s) }, extra);
    }
    if (isBlob(model)) return finish({ kind: 'blob', blob: model, size: model.size, name: model.name || 'blob' }, extra);
    if (model instanceof ArrayBuffer) return finish({ kind: 'buffer', buffer: model, size: model.byteLength, name: 'buffer' }, extra);
    if (ArrayBuffer.isView(model)) {
        const v = model;
        const buffer = v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && !(v.buffer instanceof SharedArrayBufferOrNone())
            ? v.buffer : v.buffer.slice(v.byteOffset, v.byteOffset + v.byteLength);
        return finish({ kind: 'buffer', buffer, size: buffer.byteLength, name: 'buffer' }, extra);
    }
    throw new TritError('BAD_ARGUMENT', `cannot load a model from ${model === null ? 'null' : typeof model}`);
}

function SharedArrayBufferOrNone() { return typeof SharedArrayBuffer === 'function' ? SharedArrayBuffer : class {}; }

function finish(d, extra) {
    if (extra.sha256 !== undefined) {
        if (typeof extra.sha256 !== 'string' || !/^[0-9a-fA-F]{64}$/.test(extra.sha256)) {
            throw new TritError('BAD_ARGUMENT', 'sha256 must be 64 hex digits');
        }
        d.sha256 = extra.sha256.toLowerCase();
    }
    if (extra.size !== undefined) d.size = extra.size;
    if (extra.name !== undefined) d.name = String(extra.name);
    if (extra.headers !== undefined) d.headers = { ...extra.headers };
    if (extra.retries !== undefined) d.retries = extra.retries;
    return d;
}

function basename(s) {
    const m = /([^/\\?#]+)(?:[?#].*)?$/.exec(String(s));
    return m ? m[1] : String(s);
}

/** The cache key of a URL download: the URL and, when given, the expected SHA-256. */
export function cacheKey(url, sha256) {
    return sha256 ? `${url}#sha256=${sha256}` : url;
}

/** Progress reporting: {phase, loaded, total, rate (bytes/s)}, throttled, with the final event always sent. */
function progressReporter(onProgress, phase, base = {}) {
    const t0 = now();
    let last = 0;
    return (loaded, total, force = false) => {
        if (!onProgress) return;
        const t = now();
        if (!force && t - last < PROGRESS_INTERVAL_MS && !(total && loaded >= total)) return;
        last = t;
        const dt = (t - t0) / 1000;
        try {
            onProgress({ ...base, phase, loaded, total: total || null, rate: dt > 0 ? loaded / dt : 0 });
        } catch { /* a throwing callback must not break loading */ }
    };
}

function now() { return typeof performance !== 'undefined' ? performance.now() : Date.now(); }

/**
 * Reads a normalised source into sink. opts: {onProgress, signal, platform, cache (a store or null)}.
 * Returns {size, sha256 (when computed), fromCache}.
 */
export async function readModel(src, sink, opts = {}) {
    const { signal, platform } = opts;
    throwIfAborted(signal);
    const hasher = src.sha256 ? platform.sha256() : null;
    let res;
    switch (src.kind) {
    case 'path': res = await readPath(src, sink, hasher, opts); break;
    case 'blob': res = await readStream(src.blob.stream(), src.blob.size, sink, hasher, progressReporter(opts.onProgress, 'read', { name: src.name }), signal); break;
    case 'buffer': {
        const b = new Uint8Array(src.buffer);
        sink.reserve(b.length);
        if (hasher) hasher.update(b);
        sink.write(b);
        progressReporter(opts.onProgress, 'read', { name: src.name })(b.length, b.length, true);
        res = { size: b.length };
        break;
    }
    case 'url': return readURL(src, sink, opts);
    default: throw new TritError('BAD_ARGUMENT', `unknown model source kind '${src.kind}'`);
    }
    if (hasher) checkDigest(src, hasher.hex());
    return { ...res, sha256: src.sha256 || null, fromCache: false };
}

function checkDigest(src, got) {
    if (got !== src.sha256) {
        throw new TritError('INTEGRITY', `${src.name || src.url || 'model'}: SHA-256 is ${got}, expected ${src.sha256}`,
            { details: { expected: src.sha256, actual: got } });
    }
}

async function readPath(src, sink, hasher, opts) {
    const { platform, signal } = opts;
    if (!platform || !platform.openFile) throw new TritError('UNSUPPORTED', 'loading from a path needs Node');
    let f;
    try {
        f = await platform.openFile(src.path);
    } catch (e) {
        throw new TritError('LOAD_FAILED', `cannot open '${src.path}': ${e.message}`, { cause: e });
    }
    const report = progressReporter(opts.onProgress, 'read', { name: src.name });
    try {
        const size = f.size;
        sink.reserve(size);
        const CHUNK = 1 << 22;
        for (let off = 0; off < size;) {
            throwIfAborted(signal);
            const want = Math.min(CHUNK, size - off);
            const view = sink.target(want);
            const n = await f.read(view, off);
            if (n <= 0) throw new TritError('LOAD_FAILED', `'${src.path}': short read at byte ${off} of ${size}`);
            if (hasher) hasher.update(view.subarray(0, n));
            sink.advance(n);
            off += n;
            report(off, size);
        }
        report(size, size, true);
        return { size };
    } finally {
        await f.close();
    }
}

async function readStream(stream, total, sink, hasher, report, signal) {
    const reader = stream.getReader();
    if (total) sink.reserve(total);
    let n = 0;
    try {
        for (;;) {
            throwIfAborted(signal);
            const { done, value } = await reader.read();
            if (done) break;
            if (hasher) hasher.update(value);
            sink.write(value);
            n += value.length;
            report(n, total);
        }
    } catch (e) {
        if (isAbortError(e) || e instanceof TritError) throw e;
        throw new TritError('LOAD_FAILED', `reading the model failed after ${n} bytes: ${e.message}`, { cause: e });
    } finally {
        try { reader.releaseLock(); } catch { /* ignore */ }
    }
    report(n, total || n, true);
    return { size: n };
}

const sleep = (ms, signal) => new Promise((resolve, reject) => {
    const t = setTimeout(() => { if (signal) signal.removeEventListener('abort', onAbort); resolve(); }, ms);
    const onAbort = () => { clearTimeout(t); reject(abortError(signal)); };
    if (signal) signal.addEventListener('abort', onAbort, { once: true });
});

async function readURL(src, sink, opts) {
    const { platform, signal } = opts;
    const store = opts.cache || null;
    const key = cacheKey(src.url, src.sha256);
    // 1. the cache
    if (store) {
        let entry = null;
        try { entry = await store.get(key); } catch { entry = null; }
        if (entry) {
            const hasher = src.sha256 ? platform.sha256() : null;
            const report = progressReporter(opts.onProgress, 'cache', { name: src.name, url: src.url });
            try {
                sink.reset();
                const r = await entry.read(sink, hasher, report, signal);
                if (entry.size != null && r.size !== entry.size) throw new Error(`cached ${r.size} bytes, expected ${entry.size}`);
                if (hasher) checkDigest(src, hasher.hex());
                return { size: r.size, sha256: src.sha256 || entry.sha256 || null, fromCache: true };
            } catch (e) {
                if (isAbortError(e)) throw e;
                // a corrupt or unreadable entry: drop it and download again
                try { await store.delete(key); } catch { /* ignore */ }
                sink.reset();
            }
        }
    }
    // 2. the network
    const retries = src.retries !== undefined ? src.retries : 3;
    let hasher = null, writer = null;
    let received = 0, total = null, validator = null, failures = 0, lastError = null;
    const restart = async () => {           // a clean start from byte 0 (also the first attempt)
        received = 0;
        sink.reset();
        hasher = src.sha256 ? platform.sha256() : null;
        if (writer) { await writer.abort(); writer = null; }
    };
    const report = progressReporter(opts.onProgress, 'download', { name: src.name, url: src.url });
    try {
        await restart();
        for (;;) {
            throwIfAborted(signal);
            const headers = { ...(src.headers || {}) };
            if (received > 0) {
                headers.Range = `bytes=${received}-`;
                if (validator) headers['If-Range'] = validator;
            }
            let resp;
            try {
                resp = await fetch(src.url, { signal, headers, cache: 'no-store' });
            } catch (e) {
                if (isAbortError(e) || (signal && signal.aborted)) throw abortError(signal);
                lastError = e;
                if (++failures > retries) break;
                await sleep(backoff(failures), signal);
                continue;
            }
            if (received > 0 && resp.status === 206) {
                const cr = /^bytes (\d+)-(\d+)\/(\d+|\*)/.exec(resp.headers.get('content-range') || '');
                if (!cr || Number(cr[1]) !== received) {           // not the range we asked for: start over
                    await cancelBody(resp);
                    await restart();
                    validator = null;
                    continue;
                }
                if (cr[3] !== '*') total = Number(cr[3]);
            } else if (resp.status === 200) {
                if (received > 0) await restart();                  // the server cannot resume: clean retry
                const len = Number(resp.headers.get('content-length'));
                total = len > 0 && !resp.headers.get('content-encoding') ? len : (src.size || null);
                validator = strongValidator(resp);
                if (store) {
                    try { writer = await store.writer(key, { url: src.url, sha256: src.sha256 || null, size: total }); }
                    catch { writer = null; }
                }
            } else {
                await cancelBody(resp);
                const err = new TritError('NETWORK', `GET ${src.url}: HTTP ${resp.status} ${resp.statusText || ''}`.trim(),
                    { details: { status: resp.status } });
                if (resp.status >= 500 || resp.status === 408 || resp.status === 429) {
                    lastError = err;
                    if (++failures > retries) break;
                    await sleep(backoff(failures), signal);
                    continue;
                }
                throw err;
            }
            if (total) sink.reserve(total);
            // stream the body
            const reader = resp.body.getReader();
            let broke = null;
            try {
                for (;;) {
                    const { done, value } = await reader.read();
                    if (done) break;
                    if (total && received + value.length > total) throw new Error(`the server sent more than ${total} bytes`);
                    sink.write(value);
                    if (hasher) hasher.update(value);
                    if (writer) await writer.write(value);
                    received += value.length;
                    report(received, total);
                }
            } catch (e) {
                if (isAbortError(e) || (signal && signal.aborted)) throw abortError(signal);
                broke = e;
            }
            if (!broke && total && received < total) broke = new Error(`connection closed after ${received} of ${total} bytes`);
            if (!broke) { lastError = null; break; }                 // complete
            lastError = broke;
            if (++failures > retries) break;
            await sleep(backoff(failures), signal);
        }
        if (lastError) {
            throw new TritError('NETWORK', `downloading ${src.url} failed after ${failures} attempts ` +
                `(${received}${total ? ` of ${total}` : ''} bytes): ${lastError.message}`, { cause: lastError });
        }
        report(received, total || received, true);
        const sha = hasher ? hasher.hex() : null;
        if (hasher) checkDigest(src, sha);
        if (writer) {
            try { await writer.commit({ size: received }); } catch { /* caching is best effort */ }
            writer = null;
        }
        return { size: received, sha256: sha, fromCache: false };
    } finally {
        if (writer) { try { await writer.abort(); } catch { /* ignore */ } }
    }
}

function backoff(n) { return Math.min(2000, 100 * 2 ** (n - 1)); }

function strongValidator(resp) {
    const etag = resp.headers.get('etag');
    if (etag && !/^W\//.test(etag)) return etag;
    return resp.headers.get('last-modified') || null;
}

async function cancelBody(resp) {
    try { if (resp.body) await resp.body.cancel(); } catch { /* ignore */ }
}

/**
 * Cache store on the Cache API (browsers, also inside workers). Entries are Responses under a
 * synthetic https URL built from the key (the Cache API ignores URL fragments).
 */
export function cacheApiStore(name = 'trit-models-v1') {
    if (typeof caches === 'undefined') return null;
    const req = key => `https://trit.cache.invalid/model?key=${encodeURIComponent(key)}`;
    return {
        kind: 'cache-api',
        async get(key) {
            const c = await caches.open(name);
            const r = await c.match(req(key));
            if (!r || !r.body) return null;
            const size = Number(r.headers.get('x-trit-size')) || null;
            return {
                size, sha256: r.headers.get('x-trit-sha256') || null,
                read: (sink, hasher, report, signal) => readStream(r.body, size, sink, hasher, report, signal),
            };
        },
        async writer(key, meta) {
            const c = await caches.open(name);
            let ctrl;
            const stream = new ReadableStream({ start(k) { ctrl = k; } });
            const headers = { 'content-type': 'application/octet-stream', 'x-trit-url': meta.url };
            if (meta.sha256) headers['x-trit-sha256'] = meta.sha256;
            if (meta.size) headers['x-trit-size'] = String(meta.size);
            // put() stores the entry only once the body stream has closed; an errored stream stores nothing
            const put = c.put(req(key), new Response(stream, { headers }));
            put.catch(() => {});
            return {
                async write(chunk) { ctrl.enqueue(chunk); },
                async commit() { ctrl.close(); await put; },
                async abort() {
                    try { ctrl.error(new Error('download aborted')); } catch { /* already closed */ }
                    try { await put; } catch { /* expected */ }
                    try { await c.delete(req(key)); } catch { /* ignore */ }
                },
            };
        },
        async delete(key) {
            const c = await caches.open(name);
            await c.delete(req(key));
        },
        async keys() {
            const c = await caches.open(name);
            return (await c.keys()).map(r => decodeURIComponent(new URL(r.url).searchParams.get('key') || '')).filter(Boolean);
        },
    };
}
