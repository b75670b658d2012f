// wasm.mjs: the small own loader of trit's standalone WebAssembly builds (build/wasm/trit-*.wasm).
// No emscripten JS glue: it instantiates the module, supplies the few imports (a memory-growth
// notification and a minimal WASI for test programs), keeps typed-array views fresh as memory grows,
// and puts model files straight into wasm memory (Node: read in chunks into the heap; browser:
// streamed from fetch into the heap), so no second full copy of the weights exists in JS.
//
//   import { loadTrit } from './wasm.mjs';
//   const T = await loadTrit({ threads: 2 });         // best build the engine runs (see pickBuild)
//   const file = await T.readModelFile('model.gguf'); // Node; browser: await T.fetchModel(url)
//   const m = T.exports.trit_wasm_model_load(file.ptr, file.size) >>> 0;   // SIMD builds repack in place
//   if (!m) throw new Error(T.lastError());
//   const c = T.exports.trit_wasm_ctx_init(m, 0, 0, 0) >>> 0;
//   T.attachPool(c);                                  // matmuls on T.threads threads (no-op with 1)
//   ...; T.close();                                   // stops the worker threads
//
// Builds: 'relaxed' (relaxed SIMD, clang-19), 'simd' (SIMD128), 'scalar', and the threads twins
// 'relaxed-mt' / 'simd-mt' (atomics, a shared imported memory). Threads need SharedArrayBuffer: in a
// browser, a cross-origin-isolated page (COOP/COEP headers); in Node, always. The -mt module is
// instantiated again in every worker (js/wasm-worker.mjs) on the same memory, each with its own
// stack, and the workers run the C pool's loop (trit_pool_work), sleeping in memory.atomic.wait32.
//
// Pointers are unsigned: always read them as `x >>> 0` (addresses above 2 GB come back negative).

const isNode = typeof process !== 'undefined' && !!(process.versions && process.versions.node);

// Tiny modules whose one function returns a v128: they validate only where the engine has SIMD128
// (v128.const) or relaxed SIMD (i8x16.relaxed_swizzle of two v128.const).
function probe(body) {   // a module with one function () -> v128 whose code is `body`
    const code = [0, ...body, 11];
    return new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
        10, code.length + 2, 1, code.length, ...code]);
}
const V128_CONST = [253, 12, ...new Array(16).fill(0)];
const SIMD_PROBE = probe(V128_CONST);
const RELAXED_PROBE = probe([...V128_CONST, ...V128_CONST, 253, 128, 2]);   // i8x16.relaxed_swizzle

export function simdSupported() {
    try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

export function relaxedSimdSupported() {
    try { return WebAssembly.validate(RELAXED_PROBE); } catch { return false; }
}

// Known-answer test of i32x4.relaxed_dot_i8x16_i7x16_add_s, which the relaxed build's batch dot kernel can
// use (src/kernels.h: tl_dot_add). Node 20 validates it but computes it wrongly in its baseline tier
// (Liftoff); chromium 156 computes it right in both tiers (docs/bench.md). A module with one memory and
// one function f() { mem[48..64) = dot_add(mem[0..16), mem[16..32), mem[32..48)) }, run on varied inputs
// many times (so that engines that tier up do so during the test); it passes only if every result is
// the exact integer one. Run once per process.
const DOT_ADD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0,
    1, 4, 1, 96, 0, 0,                                  // type: () -> ()
    3, 2, 1, 0,                                         // func 0: type 0
    5, 3, 1, 0, 1,                                      // memory: 1 page
    7, 9, 2, 1, 109, 2, 0, 1, 102, 0, 0,                // export "m" memory 0, "f" func 0
    10, 31, 1, 29, 0,                                   // code: 1 body of 29 bytes, no locals
    65, 48, 65, 0, 253, 0, 4, 0, 65, 0, 253, 0, 4, 16, 65, 0, 253, 0, 4, 32,   // 48, load 0, load 16, load 32
    253, 147, 2, 253, 11, 4, 0, 11]);                   // i32x4.relaxed_dot_i8x16_i7x16_add_s, v128.store
let dotAddResult = null;
export function relaxedDotAddWorks() {
    if (dotAddResult !== null) return dotAddResult;
    dotAddResult = false;
    try {
        const inst = new WebAssembly.Instance(new WebAssembly.Module(DOT_ADD_PROBE), {});
        const m = new Uint8Array(inst.exports.m.buffer), f = inst.exports.f;
        const a = new Int8Array(m.buffer, 0, 16), b = m.subarray(16, 32), c = new Int32Array(m.buffer, 32, 4), r = new Int32Array(m.buffer, 48, 4);
        let seed = 12345;
        const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16;
        for (let it = 0; it < 4000; it++) {
            for (let i = 0; i < 16; i++) { a[i] = (next() & 255) - 128; b[i] = next() & 127; }
            for (let k = 0; k < 4; k++) c[k] = (next() << 8) - (1 << 22);
            f();
            for (let k = 0; k < 4; k++) {
                let want = c[k];
                for (let j = 0; j < 4; j++) want += a[4 * k + j] * b[4 * k + j];
                if (r[k] !== want) return false;
            }
        }
        dotAddResult = true;
    } catch { /* not validated: no relaxed SIMD */ }
    return dotAddResult;
}

// Whether the engine's dot-add is also fast: engines lower it to one x86 vpdpbusd (AVX-VNNI; chromium 156
// on this project's Sapphire Rapids host) or to a few instructions, where the TL4 layout decodes ~1.3x
// slower than the table lookups (Node 20 with --no-liftoff). Times the two decode inner loops in the
// module itself (trit_wasm_dot_add_probe: variant 0 lookups, 1 TL4 dot-adds, in cache), interleaved,
// best of several calls after warm-up calls (so that tiering engines measure optimised code); TL4 must
// take < 0.9x the lookups' time. A few ms, once per process.
let dotAddFast = null;
export function relaxedDotAddFast(ex) {
    if (dotAddFast !== null) return dotAddFast;
    if (!ex || !ex.trit_wasm_dot_add_probe) return false;
    const now = () => performance.now();
    let reps = 16;
    for (let i = 0; i < 12; i++) { ex.trit_wasm_dot_add_probe(0, 4); ex.trit_wasm_dot_add_probe(1, 4); }
    // ~1 ms a call (timers may be coarse: 0.1 ms in pages that are not cross-origin isolated)
    for (let t = 0; t < 8; t++) {
        const s = now();
        ex.trit_wasm_dot_add_probe(0, reps);
        if (now() - s > 0.5) break;
        reps *= 2;
    }
    const best = [Infinity, Infinity];
    for (let r = 0; r < 5; r++)
        for (const v of r % 2 ? [1, 0] : [0, 1]) {
            const s = now();
            ex.trit_wasm_dot_add_probe(v, reps);
            best[v] = Math.min(best[v], now() - s);
        }
    dotAddFast = best[1] < 0.9 * best[0];
    return dotAddFast;
}

/** Node: the execArgv option for a worker_threads Worker. Workers inherit process.execArgv, and one
 * flag there makes them fail: --input-type ("can only be used with string input"), so an engine started
 * from `node --input-type=module -e ...` could not start its workers. Then: the parent's flags without
 * it. Otherwise undefined (inherit): flags given explicitly are validated for workers, and per-process
 * ones such as --expose-gc, which are fine inherited, would fail ("invalid execArgv flags"). */
export function nodeWorkerExecArgv() {
    const a = (typeof process !== 'undefined' && process.execArgv) || [];
    if (!a.some(x => x.startsWith('--input-type'))) return undefined;
    return a.filter((x, i) => !x.startsWith('--input-type') && a[i - 1] !== '--input-type');
}

/** Shared wasm memory is available: Node, or a cross-origin-isolated page. */
export function threadsSupported() {
    if (typeof SharedArrayBuffer === 'undefined') return false;
    if (!isNode && !globalThis.crossOriginIsolated) return false;
    try { return new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer; } catch { return false; }
}

// The shared memory of the -mt builds: as the module declares it (mk/wasm.mk: 16 MB initial, 4 GB max).
const MT_INITIAL_PAGES = 256, MT_MAX_PAGES = 65536;
const WORKER_STACK = 1 << 20;

/** Thrown by the WASI proc_exit of test programs. */
export class WasiExit extends Error {
    constructor(code) { super(`exit ${code}`); this.code = code; }
}

/** Builds to try, best first: an explicit name or path, else by engine features (and $TRIT_WASM). */
export function pickBuilds(build, threads = 1) {
    if (!build && isNode) build = process.env.TRIT_WASM;
    if (build) return [build];
    const mt = threads > 1 && threadsSupported();
    const names = [];
    if (relaxedSimdSupported()) names.push('relaxed');
    if (simdSupported()) names.push('simd');
    const out = [];
    for (const n of names) { if (mt) out.push(`${n}-mt`); out.push(n); }
    out.push('scalar');
    return out;
}

function buildUrl(build) {
    return /\.wasm$/.test(build) ? build : new URL(`../build/wasm/trit-${build}.wasm`, import.meta.url);
}

async function wasmBytesOrResponse(build, url) {
    if (!url) url = buildUrl(build);
    if (isNode) {
        const fs = await import('node:fs');
        const { fileURLToPath } = await import('node:url');
        const path = url instanceof URL ? fileURLToPath(url) : String(url);
        return fs.readFileSync(path);
    }
    return fetch(url);
}

async function compileBuild(build, url) {
    const src = await wasmBytesOrResponse(build, url);
    if (typeof Response !== 'undefined' && src instanceof Response) {
        if (!src.ok) throw new Error(`fetch ${src.url}: HTTP ${src.status}`);
        if (WebAssembly.compileStreaming) return WebAssembly.compileStreaming(src);
        return WebAssembly.compile(await src.arrayBuffer());
    }
    return WebAssembly.compile(src);
}

/** Minimal WASI preview1 for standalone test programs: stdout/stderr, args, clock, exit. */
function makeWasi(getMemory, args, write, environ) {
    const enc = new TextEncoder();
    const argv = args.map(a => enc.encode(a + '\0')), envv = environ.map(a => enc.encode(a + '\0'));
    const dv = () => new DataView(getMemory().buffer);
    const ENOSYS = 52, EBADF = 8;
    // argv / environ: the count and total bytes, then the pointers and the strings
    const sizes = list => (pc, pb) => {
        const d = dv();
        d.setUint32(pc, list.length, true);
        d.setUint32(pb, list.reduce((s, a) => s + a.length, 0), true);
        return 0;
    };
    const fill = list => (pv, pb) => {
        const d = dv(), u8 = new Uint8Array(getMemory().buffer);
        for (const a of list) { d.setUint32(pv, pb, true); u8.set(a, pb); pv += 4; pb += a.length; }
        return 0;
    };
    return {
        fd_write(fd, iovs, iovcnt, nwritten) {
            const d = dv(), u8 = new Uint8Array(getMemory().buffer);
            let n = 0;
            for (let i = 0; i < iovcnt; i++) {
                const p = d.getUint32(iovs + 8 * i, true), len = d.getUint32(iovs + 8 * i + 4, true);
                if (fd !== 1 && fd !== 2) return EBADF;
                write(fd, u8.subarray(p, p + len));
                n += len;
            }
            d.setUint32(nwritten, n, true);
            return 0;
        },
        proc_exit(code) { throw new WasiExit(code); },
        args_sizes_get: sizes(argv),
        args_get: fill(argv),
        environ_sizes_get: sizes(envv),
        environ_get: fill(envv),
        clock_time_get(id, precision, out) {
            const ns = BigInt(Math.round((typeof performance !== 'undefined' ? performance.now() : Date.now()) * 1e6));
            dv().setBigUint64(out, id === 0 ? BigInt(Date.now()) * 1000000n : ns, true);
            return 0;
        },
        fd_close() { return 0; },
        fd_seek() { return ENOSYS; },
        fd_read() { return ENOSYS; },
        fd_fdstat_get(fd, out) { const d = dv(); d.setUint8(out, 2); for (let i = 1; i < 24; i++) d.setUint8(out + i, 0); return 0; },
        random_get(p, n) { const u8 = new Uint8Array(getMemory().buffer, p, n); for (let i = 0; i < n; i++) u8[i] = (Math.random() * 256) | 0; return 0; },
    };
}

function consoleWrite(fd, bytes) {
    (fd === 2 ? console.error : console.log)(new TextDecoder().decode(bytes));
}

/** The import object of trit's modules (main instance and thread workers alike); args, write and environ
 *  ("K=V" strings) are what WASI test programs see. */
export function makeImports(getMemory, { args, write, memory, environ } = {}) {
    const env = { emscripten_notify_memory_growth() { /* views are re-created lazily (see _views()) */ } };
    if (memory) env.memory = memory;
    return { env, wasi_snapshot_preview1: makeWasi(getMemory, args || ['trit'], write || consoleWrite, environ || []) };
}

/**
 * Instantiates trit's wasm build.
 * opts.build: 'relaxed' | 'simd' | 'scalar' | 'relaxed-mt' | 'simd-mt' | a path/URL of a .wasm (default:
 *   $TRIT_WASM in Node, else the best the engine runs, see pickBuilds); opts.url: where to fetch it from
 *   (browser); opts.threads: threads for the matmuls (default 1; > 1 picks an -mt build and starts
 *   threads - 1 workers when shared memory is available, else runs single-threaded: see T.threads);
 * opts.args: argv for WASI test programs; opts.write(fd, bytes): their stdout/stderr.
 * opts.dotAdd: the relaxed build's dot-add kernels (src/kernels.h: tl_dot_add; models loaded with it on
 *   get the TL4 layout, decoded with dot-adds): default on where relaxedDotAddWorks() (chromium; Node 20
 *   fails it) and relaxedDotAddFast() (the engine's dot-add beats the lookups: one x86 vpdpbusd),
 *   off elsewhere; true / false force it (tests, benchmarks). Set before a model loads.
 */
export async function loadTrit(opts = {}) {
    const threads = Math.max(1, opts.threads | 0 || 1);
    let memory = null;
    const getMemory = () => memory;
    let nodeFs = null;
    if (isNode) nodeFs = await import('node:fs');
    const write = opts.write || (isNode ? (fd, b) => writeAllSync(nodeFs, fd, b) : consoleWrite);
    let module = null, build = null, lastErr = null;
    for (const b of pickBuilds(opts.build, threads)) {
        try { module = await compileBuild(b, opts.url); build = b; break; } catch (e) { lastErr = e; if (opts.build || opts.url) break; }
    }
    if (!module) throw lastErr;
    // -mt builds import their (shared) memory
    const shared = WebAssembly.Module.imports(module).some(i => i.module === 'env' && i.name === 'memory' && i.kind === 'memory');
    const imported = shared ? new WebAssembly.Memory({ initial: MT_INITIAL_PAGES, maximum: MT_MAX_PAGES, shared: true }) : null;
    const instance = await WebAssembly.instantiate(module, makeImports(getMemory, { args: opts.args, write, memory: imported }));
    const ex = instance.exports;
    memory = imported || ex.memory;
    if (ex._initialize) ex._initialize();
    // the relaxed build's dot-add kernels, where the engine computes the instruction right and fast
    // (opts.dotAdd: false never, true always; default: the known-answer test and the speed check decide)
    if (ex.trit_wasm_tl_dot_add && ex.trit_wasm_tl_dot_add(-1) >= 0)
        ex.trit_wasm_tl_dot_add(opts.dotAdd === undefined ? (relaxedDotAddWorks() && relaxedDotAddFast(ex) ? 1 : 0) : (opts.dotAdd ? 1 : 0));
    const T = new Trit(ex, memory, build, nodeFs, module);
    if (shared && threads > 1) await T._startWorkers(threads);
    return T;
}

/** Node: synchronous write of all bytes (in order with other writes; retries a full non-blocking pipe). */
export function writeAllSync(fs, fd, bytes) {
    let off = 0;
    while (off < bytes.length) {
        try { off += fs.writeSync(fd, bytes, off, bytes.length - off); }
        catch (e) { if (e.code !== 'EAGAIN') throw e; }
    }
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

class Trit {
    constructor(exports, memory, build, nodeFs, module) {
        this.exports = exports;
        this.memory = memory;
        this.build = build;
        this._fs = nodeFs;
        this._buf = null;
        this._module = module;
        this.threads = 1;     // threads the matmuls of attached contexts run on
        this.pool = 0;        // the C trit_pool (0: none)
        this._workers = [];
    }

    // Starts n - 1 workers on this module and memory, each running the C pool's worker loop.
    async _startWorkers(n) {
        const X = this.exports;
        const pool = X.trit_wasm_pool_init(n) >>> 0;
        if (!pool) throw new Error(`trit_pool_init: ${this.lastError()}`);
        this.pool = pool;
        const url = new URL('./wasm-worker.mjs', import.meta.url);
        const started = [];
        for (let i = 1; i < n; i++) {
            const stack = this.malloc(WORKER_STACK);
            const msg = { module: this._module, memory: this.memory, pool, stackTop: (stack + WORKER_STACK) & ~15 };
            let w;
            if (isNode) {
                const { Worker } = await import('node:worker_threads');
                w = new Worker(url, { workerData: msg, execArgv: nodeWorkerExecArgv() });
                w.unref();   // a worker asleep in the pool never keeps Node alive
            } else {
                w = new Worker(url, { type: 'module' });
                w.postMessage(msg);
            }
            this._workers.push({ w, stack });
            started.push(new Promise((resolve, reject) => {
                const onMsg = m => {
                    const d = isNode ? m : m.data;
                    if (d && d.kind === 'ready') resolve();
                    else if (d && d.kind === 'error') reject(new Error(`trit worker: ${d.message}`));
                };
                if (isNode) { w.on('message', onMsg); w.on('error', reject); }
                else { w.addEventListener('message', onMsg); w.addEventListener('error', e => reject(new Error(`trit worker: ${e.message}`))); }
            }));
        }
        await Promise.all(started);
        this.threads = n;
    }

    /** Runs the context's matmuls on this instance's threads (no-op without workers). */
    attachPool(ctx) {
        if (this.pool && ctx) this.exports.trit_ctx_set_pool(ctx, this.pool);
    }

    /** Stops the worker threads (detach or free the contexts first). */
    close() {
        if (!this.pool) return;
        this.exports.trit_pool_free(this.pool);   // workers leave trit_pool_work before this returns
        this.pool = 0;
        for (const { w, stack } of this._workers) { w.terminate(); this.free(stack); }
        this._workers = [];
        this.threads = 1;
    }
    _views() {
        if (this._buf !== this.memory.buffer) {   // memory grew: the old ArrayBuffer is detached
            const b = this.memory.buffer;
            this._buf = b;
            this._u8 = new Uint8Array(b);
            this._i32 = new Int32Array(b);
            this._f32 = new Float32Array(b);
            this._dv = new DataView(b);
        }
    }
    get u8() { this._views(); return this._u8; }
    get i32() { this._views(); return this._i32; }
    get f32() { this._views(); return this._f32; }
    get dv() { this._views(); return this._dv; }

    malloc(n) {
        const p = this.exports.malloc(n) >>> 0;
        if (!p) throw new Error(`out of wasm memory allocating ${n} bytes`);
        return p;
    }
    free(p) { if (p) this.exports.free(p); }
    lastError() { return this.cstr(this.exports.trit_last_error() >>> 0); }
    /** NUL-terminated UTF-8 at ptr (or len bytes) as a JS string. */
    cstr(ptr, len = -1) {
        const u8 = this.u8;
        let end = ptr;
        if (len < 0) while (u8[end]) end++;
        else end = ptr + len;
        // TextDecoder refuses views of shared memory (the -mt builds): copy those first
        return utf8d.decode(this.memory.buffer instanceof ArrayBuffer ? u8.subarray(ptr, end) : u8.slice(ptr, end));
    }
    /** Copies a string or bytes into a new NUL-terminated heap buffer: {ptr, len} (free with .free). */
    bytesIn(data) {
        const b = typeof data === 'string' ? utf8.encode(data) : data;
        const p = this.malloc(b.length + 1);
        const u8 = this.u8;
        u8.set(b, p);
        u8[p + b.length] = 0;
        return { ptr: p, len: b.length };
    }

    /** Node: reads a file in chunks straight into a heap buffer. Returns {ptr, size}. */
    readModelFile(path, onProgress) {
        const fs = this._fs;
        if (!fs) throw new Error('readModelFile needs Node; use fetchModel in a browser');
        const fd = fs.openSync(path, 'r');
        try {
            const st = fs.fstatSync(fd);
            if (!st.isFile()) throw Object.assign(new Error(`'${path}' is not a regular file`), { code: 'EISDIR' });
            const size = st.size;
            if (size > 0xffffffff) throw new Error(`'${path}' is larger than 4 GB`);
            const ptr = this.malloc(size || 1);
            const CHUNK = 1 << 24;
            for (let off = 0; off < size;) {
                const n = fs.readSync(fd, this.u8, ptr + off, Math.min(CHUNK, size - off), off);
                if (n <= 0) { this.free(ptr); throw new Error(`short read from '${path}'`); }
                off += n;
                if (onProgress) onProgress(off, size);
            }
            return { ptr, size };
        } finally {
            fs.closeSync(fd);
        }
    }

    /** Streams a fetch Response (or a URL) into a heap buffer chunk by chunk. Returns {ptr, size}. */
    async fetchModel(resp, onProgress) {
        if (!(typeof Response !== 'undefined' && resp instanceof Response)) resp = await fetch(resp);
        if (!resp.ok) throw new Error(`fetch ${resp.url}: HTTP ${resp.status}`);
        const total = Number(resp.headers.get('content-length')) || 0;
        const compressed = !!resp.headers.get('content-encoding');
        let cap = total && !compressed ? total : 1 << 24;
        let ptr = this.malloc(cap), size = 0;
        const reader = resp.body.getReader();
        for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (size + value.length > cap) {          // unknown or wrong length: grow in the heap
                while (size + value.length > cap) cap *= 2;
                const p = this.exports.realloc ? this.exports.realloc(ptr, cap) >>> 0 : 0;
                if (!p) { this.free(ptr); throw new Error(`out of wasm memory (${cap} bytes)`); }
                ptr = p;
            }
            this.u8.set(value, ptr + size);
            size += value.length;
            if (onProgress) onProgress(size, total);
        }
        return { ptr, size };
    }
}
