// router.mjs: where a model runs. detectCapabilities() reports what this runtime offers (wasm,
// SIMD128, threads / cross-origin isolation, memory, WebGPU presence); chooseRoute() picks the best
// local backend, or the remote OpenAI-compatible endpoint when (and only when) the caller configured
// one and the model cannot run here. Without a configured `remote`, nothing is ever sent anywhere
// but to the model's own URL.
//
// Backends: 'webgpu' (js/webgpu/: the forward on the GPU, the wasm core for loading, tokenizing and
// sampling) first when an adapter exists (a hardware one: software fallbacks such as SwiftShader are
// slower than wasm, unless webgpu.allowFallbackAdapter), else 'wasm' (build 'simd' where SIMD128
// validates, else 'scalar'). The model worker makes the final check against the adapter's limits
// and stays on wasm when the model does not fit (describe().backend / .fallback say so); a forced
// backend ('webgpu' or 'wasm', per model with {target, draft}) never falls back. engine.info.route
// says what was chosen and why; every completion's usage.extra.backend what ran.

import { simdSupported } from './wasm.mjs';
import { BACKENDS } from './backends.mjs';
import { TritError } from './errors.mjs';

export const WASM_MAX_BYTES = 4 * 2 ** 30;      // wasm32 memory limit (one per worker)
const OVERHEAD_BYTES = 64 * 2 ** 20;           // code, stack, scratch, sampler buffers
const MAX_AUTO_THREADS = 4;                     // decode is memory-bound: more threads than this rarely help

export async function detectCapabilities(platform, opts = {}) {
    const c = platform.capabilities();
    c.wasm = typeof WebAssembly === 'object' && typeof WebAssembly.instantiate === 'function';
    c.simd = c.wasm && simdSupported();
    // a threaded wasm build needs shared memory, which browsers only give cross-origin-isolated pages
    c.threads = c.wasm && c.sharedArrayBuffer && c.crossOriginIsolated;
    c.wasmMaxBytes = WASM_MAX_BYTES;
    c.backends = Object.keys(BACKENDS);
    c.webgpuAdapter = null;
    // Node has WebGPU only through the npm `webgpu` package (Dawn); it is probed only when the caller
    // asks for WebGPU (backend 'webgpu' or a webgpu option), since loading Dawn costs time and it
    // warns on stderr where no Vulkan driver is installed
    const b = opts.backend, wantsGpu = !!opts.webgpu || b === 'webgpu' || (b && typeof b === 'object' && Object.values(b).includes('webgpu'));
    c.webgpuProbed = !!(c.webgpu || (platform.isNode && wantsGpu));
    if (c.webgpuProbed) {
        const { requestAdapter, describeAdapter } = await import('./webgpu/device.mjs');
        const a = await requestAdapter();
        c.webgpu = !!a;
        if (a) {
            c.webgpuAdapter = {
                name: describeAdapter(a), fallback: !!(a.isFallbackAdapter || (a.info && a.info.isFallbackAdapter) ||
                    /swiftshader|llvmpipe|lavapipe/i.test(describeAdapter(a))),
                maxStorageBufferBindingSize: a.limits.maxStorageBufferBindingSize, shaderF16: a.features.has('shader-f16'),
            };
        }
    }
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
    const asked = opts.backend && typeof opts.backend === 'object' ? opts.backend : { target: opts.backend, draft: opts.backend };
    const backends = {}, forced = {}, gpuWhy = [];
    const webgpuOk = caps.webgpu && caps.webgpuAdapter && (!caps.webgpuAdapter.fallback || (opts.webgpu && opts.webgpu.allowFallbackAdapter));
    for (const role of ['target', 'draft']) {
        const b = asked[role] || 'auto';
        if (b !== 'auto' && !BACKENDS[b]) throw new TritError('BAD_ARGUMENT', `unknown backend '${b}' (known: auto, ${Object.keys(BACKENDS).join(', ')})`);
        forced[role] = b !== 'auto';
        backends[role] = b !== 'auto' ? b : webgpuOk ? 'webgpu' : 'wasm';
    }
    if (!caps.webgpu) gpuWhy.push(caps.webgpuProbed === false && caps.platform === 'node' ?
        "WebGPU not probed (Node: ask with backend 'webgpu' or the webgpu option)" : 'no WebGPU adapter');
    else if (!webgpuOk) gpuWhy.push(`WebGPU adapter '${caps.webgpuAdapter.name}' is a software fallback (wasm is faster)`);
    const backend = backends.target;
    if (!caps.wasm) problems.push('this runtime has no WebAssembly');
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
    // the wasm build: as asked, else the best this runtime runs (js/wasm.mjs picks; info.route.build
    // is replaced by the build really loaded)
    const build = typeof opts.wasm === 'string' ? opts.wasm : null;
    const why = [];
    for (const role of draft ? ['target', 'draft'] : ['target']) {
        why.push(`${role}: ${backends[role]}${forced[role] ? ' (forced)' : ''}`);
    }
    if (backends.target === 'webgpu' || backends.draft === 'webgpu') {
        why.push(`WebGPU adapter ${caps.webgpuAdapter ? caps.webgpuAdapter.name : 'unknown'} (the worker checks its limits against the model)`);
    } else if (gpuWhy.length) why.push(gpuWhy.join('; '));
    why.push(`wasm ${build || (caps.simd ? 'simd' : 'scalar')}`);
    if (!caps.simd) why.push('no SIMD128 in this runtime');
    // matmul threads for the target: what was asked, else one per core (at most MAX_AUTO_THREADS) where
    // shared memory exists. The loader takes the -mt twin of the build for n > 1 and falls back to the
    // single-thread build where the package does not ship one; engine.info.route.threads/nThreads then
    // say what was really loaded.
    const nThreads = opts.threads || (caps.threads ? Math.max(1, Math.min(caps.hardwareConcurrency || 1, MAX_AUTO_THREADS)) : 1);
    why.push(caps.threads ? `threads available (asking for ${nThreads})` : 'no threads (needs cross-origin isolation)');
    return { kind: 'local', backend, backends, forced, build, threads: false, nThreads, reason: why.join('; '), capabilities: caps, sizes };
}

function mb(n) { return Math.round(n / 2 ** 20); }
