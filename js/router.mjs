// router.mjs: where a model runs. detectCapabilities() reports what this runtime offers (wasm,
// SIMD128, threads / cross-origin isolation, memory, WebGPU presence); chooseRoute() picks the best
// local backend, or the remote OpenAI-compatible endpoint when (and only when) the caller configured
// one and the model cannot run here. Without a configured `remote`, nothing is ever sent anywhere
// but to the model's own URL.
//
// Backends today: 'wasm' (build 'simd' where SIMD128 validates, else 'scalar'). A WebGPU backend
// plugs in through backends.mjs; the capability is reported (`webgpu`) but not chosen until one
// exists. engine.info.route says what was chosen and why.

import { simdSupported } from './wasm.mjs';
import { BACKENDS } from './backends.mjs';
import { TritError } from './errors.mjs';

export const WASM_MAX_BYTES = 4 * 2 ** 30;      // wasm32 memory limit (one per worker)
const OVERHEAD_BYTES = 64 * 2 ** 20;           // code, stack, scratch, sampler buffers

export async function detectCapabilities(platform) {
    const c = platform.capabilities();
    c.wasm = typeof WebAssembly === 'object' && typeof WebAssembly.instantiate === 'function';
    c.simd = c.wasm && simdSupported();
    // a threaded wasm build needs shared memory, which browsers only give cross-origin-isolated pages
    c.threads = c.wasm && c.sharedArrayBuffer && c.crossOriginIsolated;
    c.wasmMaxBytes = WASM_MAX_BYTES;
    c.backends = Object.keys(BACKENDS);
    return c;
}

async function sourceSize(platform, src) {
    if (!src) return 0;
    if (typeof src.size === 'number') return src.size;
    if (src.kind === 'path') return platform.statSize(src.path);
    return null;
}

/** Size of a URL's body from a HEAD request (only used when the answer decides local vs remote). */
async function headSize(url, signal) {
    try {
        const r = await fetch(url, { method: 'HEAD', signal });
        const n = Number(r.headers.get('content-length'));
        return r.ok && n > 0 ? n : null;
    } catch {
        return null;
    }
}

/**
 * {platform, caps, target, draft (normalised sources), opts} -> route:
 *   {kind: 'local', backend, build, threads, reason, capabilities, sizes}
 *   {kind: 'remote', baseURL, model, reason, capabilities, sizes}
 */
export async function chooseRoute({ platform, caps, target, draft, opts }) {
    const mode = opts.route || 'auto';
    if (!['auto', 'local', 'remote'].includes(mode)) throw new TritError('BAD_ARGUMENT', "route must be 'auto', 'local' or 'remote'");
    const remote = opts.remote || null;
    if (remote && (typeof remote !== 'object' || typeof remote.baseURL !== 'string')) {
        throw new TritError('BAD_ARGUMENT', 'remote must be {baseURL, apiKey?, model?}');
    }
    const toRemote = reason => ({ kind: 'remote', baseURL: remote.baseURL, model: remote.model || null, reason, capabilities: caps, sizes });
    const sizes = { target: null, draft: null };
    if (mode === 'remote') {
        if (!remote) throw new TritError('BAD_ARGUMENT', "route 'remote' needs the remote option");
        return toRemote('route: remote was requested');
    }
    if (!target) {
        if (remote && mode === 'auto') return toRemote('no local model was given');
        throw new TritError('BAD_ARGUMENT', 'createEngine needs a model (or a remote endpoint)');
    }
    sizes.target = await sourceSize(platform, target);
    sizes.draft = await sourceSize(platform, draft);
    if (remote && mode === 'auto') {
        if (sizes.target === null && target.kind === 'url') sizes.target = await headSize(target.url, opts.signal);
        if (draft && sizes.draft === null && draft.kind === 'url') sizes.draft = await headSize(draft.url, opts.signal);
    }
    // can it run here?
    const problems = [];
    let backend = opts.backend || 'auto';
    if (backend !== 'auto' && !BACKENDS[backend]) throw new TritError('BAD_ARGUMENT', `unknown backend '${backend}' (known: ${Object.keys(BACKENDS).join(', ')})`);
    if (backend === 'auto') backend = 'wasm';       // the one local backend so far (WebGPU: see backends.mjs)
    if (backend === 'wasm' && !caps.wasm) problems.push('this runtime has no WebAssembly');
    const need = s => (s === null ? null : s * 1.1 + OVERHEAD_BYTES);   // + KV cache and scratch, roughly
    for (const role of ['target', 'draft']) {
        const n = need(sizes[role]);
        if (n !== null && n > WASM_MAX_BYTES) problems.push(`the ${role} model (${mb(sizes[role])} MB) does not fit into 4 GB of wasm memory`);
    }
    const total = (need(sizes.target) || 0) + (need(sizes.draft) || 0);
    if (caps.memoryBytes && total > 0.9 * caps.memoryBytes) {
        problems.push(`the models need about ${mb(total)} MB and this device reports ${mb(caps.memoryBytes)} MB`);
    }
    if (problems.length) {
        if (remote && mode === 'auto') return toRemote(problems.join('; '));
        throw new TritError('NO_ROUTE', `${problems.join('; ')}; no remote endpoint is configured`, { details: { capabilities: caps } });
    }
    let build = 'scalar';
    if (typeof opts.wasm === 'string') build = opts.wasm;
    else if (caps.simd) build = 'simd';
    const why = [`wasm ${build}`];
    if (!caps.simd) why.push('no SIMD128 in this runtime');
    why.push(caps.threads ? 'threads available (single-threaded build in use)' : 'no threads (needs cross-origin isolation)');
    if (caps.webgpu) why.push('WebGPU present (no WebGPU backend yet)');
    return { kind: 'local', backend, build, threads: false, reason: why.join('; '), capabilities: caps, sizes };
}

function mb(n) { return Math.round(n / 2 ** 20); }
