// platform-browser.mjs: what the engine needs from a browser: module Web Workers, the Cache API,
// SHA-256 (incremental, sha256.mjs) and the capability facts the router reads.

import { Sha256 } from './sha256.mjs';
import { cacheApiStore } from './loader.mjs';
import { TritError } from './errors.mjs';

function createBrowserWorker(name = 'trit model worker') {
    const w = new Worker(new URL('./worker.mjs', import.meta.url), { type: 'module', name });
    let crashFn = null, gone = false;
    const crash = e => { if (!gone) { gone = true; if (crashFn) crashFn(e); } };
    // An uncaught error in a worker does not stop it, but its state can no longer be trusted.
    w.addEventListener('error', e => { e.preventDefault(); crash(new Error(e.message || 'uncaught error in the worker')); });
    w.addEventListener('messageerror', () => crash(new Error('a message could not be deserialized')));
    return {
        post: (m, t) => w.postMessage(m, t),
        onMessage: fn => w.addEventListener('message', e => fn(e.data)),
        onCrash: fn => { crashFn = fn; },
        terminate: () => { gone = true; w.terminate(); },
    };
}

function cacheStore(opt) {
    if (!opt) return null;
    if (opt === true) return cacheApiStore();
    if (typeof opt === 'string') return cacheApiStore(opt);
    if (typeof opt === 'object' && typeof opt.name === 'string') return cacheApiStore(opt.name);
    throw new TritError('BAD_ARGUMENT', 'cache must be true, false, a Cache API cache name or {name}');
}

function capabilities() {
    const nav = typeof navigator !== 'undefined' ? navigator : {};
    return {
        platform: 'browser', userAgent: nav.userAgent || null,
        hardwareConcurrency: nav.hardwareConcurrency || 1,
        // navigator.deviceMemory (GB, rounded, Chromium only) is the best hint a page gets
        memoryBytes: nav.deviceMemory ? nav.deviceMemory * 2 ** 30 : null, freeMemoryBytes: null,
        crossOriginIsolated: typeof crossOriginIsolated !== 'undefined' ? !!crossOriginIsolated : false,
        sharedArrayBuffer: typeof SharedArrayBuffer === 'function',
        webgpu: !!nav.gpu,
        workers: typeof Worker === 'function',
        cacheApi: typeof caches !== 'undefined',
    };
}

export const platform = {
    name: 'browser',
    isNode: false,
    sha256: () => new Sha256(),
    openFile: null,
    statSize: async () => null,
    cacheStore,
    defaultCache: true,             // browsers cache URL downloads in the Cache API unless cache: false
    createWorker: createBrowserWorker,
    capabilities,
    exit: null,
};
