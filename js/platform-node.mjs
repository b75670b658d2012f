// platform-node.mjs: what the engine needs from Node: files, SHA-256, a directory cache, workers
// (node:worker_threads through workers-node.mjs) and the capability facts the router reads.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { createNodeWorker } from './workers-node.mjs';
import { TritError } from './errors.mjs';

function sha256() {
    const h = crypto.createHash('sha256');
    return { update(b) { h.update(b); return this; }, hex() { return h.digest('hex'); } };
}

async function openFile(p) {
    const fh = await fs.promises.open(p, 'r');
    const st = await fh.stat();
    if (!st.isFile()) { await fh.close(); throw new Error('not a regular file'); }
    return {
        size: st.size,
        async read(view, position) {
            const { bytesRead } = await fh.read(view, 0, view.length, position);
            return bytesRead;
        },
        close: () => fh.close(),
    };
}

/** The default cache directory: $XDG_CACHE_HOME/trit or ~/.cache/trit. */
export function defaultCacheDir() {
    const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
    return path.join(base, 'trit');
}

/**
 * A cache store in a directory: <h>.gguf holds the bytes and <h>.json what they are (h = SHA-256 of
 * the key). A download streams into a temporary file that is renamed into place only on commit, so
 * an interrupted or rejected download leaves nothing behind.
 */
export function dirStore(dir) {
    const name = key => crypto.createHash('sha256').update(key).digest('hex').slice(0, 40);
    const files = key => { const h = name(key); return { bin: path.join(dir, `${h}.gguf`), meta: path.join(dir, `${h}.json`) }; };
    return {
        kind: 'dir', dir,
        async get(key) {
            const f = files(key);
            let meta;
            try { meta = JSON.parse(await fs.promises.readFile(f.meta, 'utf8')); } catch { return null; }
            if (meta.key !== key) return null;
            let st;
            try { st = await fs.promises.stat(f.bin); } catch { return null; }
            if (st.size !== meta.size) return null;
            return {
                size: meta.size, sha256: meta.sha256 || null,
                async read(sink, hasher, report, signal) {
                    const fh = await openFile(f.bin);
                    try {
                        sink.reserve(fh.size);
                        for (let off = 0; off < fh.size;) {
                            if (signal && signal.aborted) throw signal.reason;
                            const view = sink.target(Math.min(1 << 22, fh.size - off));
                            const n = await fh.read(view, off);
                            if (n <= 0) throw new Error('short read from the cache');
                            if (hasher) hasher.update(view.subarray(0, n));
                            sink.advance(n);
                            off += n;
                            report(off, fh.size);
                        }
                        report(fh.size, fh.size, true);
                        return { size: fh.size };
                    } finally {
                        await fh.close();
                    }
                },
            };
        },
        async writer(key, meta) {
            await fs.promises.mkdir(dir, { recursive: true });
            const f = files(key);
            const tmp = `${f.bin}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.part`;
            const fh = await fs.promises.open(tmp, 'w');
            let closed = false;
            const close = async () => { if (!closed) { closed = true; await fh.close(); } };
            return {
                async write(chunk) { await fh.write(chunk); },
                async commit({ size }) {
                    await close();
                    await fs.promises.rename(tmp, f.bin);
                    await fs.promises.writeFile(f.meta, JSON.stringify({ key, url: meta.url, sha256: meta.sha256, size,
                        stored: new Date().toISOString() }));
                },
                async abort() {
                    await close();
                    await fs.promises.rm(tmp, { force: true });
                },
            };
        },
        async delete(key) {
            const f = files(key);
            await fs.promises.rm(f.meta, { force: true });
            await fs.promises.rm(f.bin, { force: true });
        },
        async keys() {
            let names;
            try { names = await fs.promises.readdir(dir); } catch { return []; }
            const out = [];
            for (const n of names.filter(x => x.endsWith('.json'))) {
                try { out.push(JSON.parse(await fs.promises.readFile(path.join(dir, n), 'utf8')).key); } catch { /* skip */ }
            }
            return out;
        },
    };
}

/** cache option -> store: true = the default directory, a string or {dir} = that directory, false = none. */
function cacheStore(opt) {
    if (!opt) return null;
    if (opt === true) return dirStore(defaultCacheDir());
    if (typeof opt === 'string') return dirStore(opt);
    if (typeof opt === 'object' && typeof opt.dir === 'string') return dirStore(opt.dir);
    throw new TritError('BAD_ARGUMENT', 'cache must be true, false, a directory or {dir}');
}

async function statSize(p) {
    try { return (await fs.promises.stat(p)).size; } catch { return null; }
}

function capabilities() {
    return {
        platform: 'node', node: process.versions.node,
        hardwareConcurrency: os.availableParallelism ? os.availableParallelism() : os.cpus().length,
        memoryBytes: os.totalmem(), freeMemoryBytes: os.freemem(),
        crossOriginIsolated: true,                  // Node has SharedArrayBuffer without headers
        sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
        webgpu: typeof navigator !== 'undefined' && !!navigator.gpu,
        workers: true,
    };
}

export const platform = {
    name: 'node',
    isNode: true,
    sha256,
    openFile,
    statSize,
    cacheStore,
    defaultCache: false,            // Node caches URL downloads only when asked (cache: true | dir)
    createWorker: createNodeWorker,
    capabilities,
    exit: code => process.exit(code),
};
