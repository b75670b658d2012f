// wasm.mjs: the small own loader of trit's standalone WebAssembly build (build/wasm/trit-*.wasm).
// No emscripten JS glue: it instantiates the module, supplies the few imports (a memory-growth
// notification and a minimal WASI for test programs), keeps typed-array views fresh as memory grows,
// and puts model files straight into wasm memory (Node: read in chunks into the heap; browser:
// streamed from fetch into the heap), so no second full copy of the weights exists in JS.
//
//   import { loadTrit } from './wasm.mjs';
//   const T = await loadTrit();                       // 'simd' where supported, else 'scalar'
//   const file = await T.readModelFile('model.gguf'); // Node; browser: await T.fetchModel(url)
//   const m = T.exports.trit_wasm_model_load(file.ptr, file.size) >>> 0;
//   if (!m) throw new Error(T.lastError());
//
// Pointers are unsigned: always read them as `x >>> 0` (addresses above 2 GB come back negative).

const isNode = typeof process !== 'undefined' && !!(process.versions && process.versions.node);

// A tiny module whose one function returns a v128.const: validates only where SIMD128 is supported.
const SIMD_PROBE = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1,
  20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]);

export function simdSupported() {
    try { return WebAssembly.validate(SIMD_PROBE); } catch { return false; }
}

/** Thrown by the WASI proc_exit of test programs. */
export class WasiExit extends Error {
    constructor(code) { super(`exit ${code}`); this.code = code; }
}

function pickBuild(build) {
    if (!build && isNode) build = process.env.TRIT_WASM;
    if (!build) build = simdSupported() ? 'simd' : 'scalar';
    return build;
}

async function wasmBytesOrResponse(build, url) {
    if (!url) url = /\.wasm$/.test(build) ? build : new URL(`../build/wasm/trit-${build}.wasm`, import.meta.url);
    if (isNode) {
        const fs = await import('node:fs');
        const { fileURLToPath } = await import('node:url');
        const path = url instanceof URL ? fileURLToPath(url) : String(url);
        return fs.readFileSync(path);
    }
    return fetch(url);
}

/** Minimal WASI preview1 for standalone test programs: stdout/stderr, args, clock, exit. */
function makeWasi(getMemory, args, write) {
    const enc = new TextEncoder();
    const argv = args.map(a => enc.encode(a + '\0'));
    const dv = () => new DataView(getMemory().buffer);
    const ENOSYS = 52, EBADF = 8;
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
        args_sizes_get(pc, pb) {
            const d = dv();
            d.setUint32(pc, argv.length, true);
            d.setUint32(pb, argv.reduce((s, a) => s + a.length, 0), true);
            return 0;
        },
        args_get(pv, pb) {
            const d = dv(), u8 = new Uint8Array(getMemory().buffer);
            for (const a of argv) { d.setUint32(pv, pb, true); u8.set(a, pb); pv += 4; pb += a.length; }
            return 0;
        },
        environ_sizes_get(pc, pb) { const d = dv(); d.setUint32(pc, 0, true); d.setUint32(pb, 0, true); return 0; },
        environ_get() { return 0; },
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

/**
 * Instantiates trit's wasm build.
 * opts.build: 'simd' | 'scalar' | a path/URL of a .wasm (default: $TRIT_WASM in Node, else 'simd'
 *   where SIMD128 validates, else 'scalar'); opts.url: where to fetch it from (browser);
 * opts.args: argv for WASI test programs; opts.write(fd, bytes): their stdout/stderr.
 */
export async function loadTrit(opts = {}) {
    const build = pickBuild(opts.build);
    let memory = null;
    const getMemory = () => memory;
    let nodeFs = null;
    if (isNode) nodeFs = await import('node:fs');
    const write = opts.write || (isNode ? (fd, b) => writeAllSync(nodeFs, fd, b) : consoleWrite);
    const imports = {
        env: { emscripten_notify_memory_growth() { /* views are re-created lazily (see view()) */ } },
        wasi_snapshot_preview1: makeWasi(getMemory, opts.args || ['trit'], write),
    };
    const src = await wasmBytesOrResponse(build, opts.url);
    let instance;
    if (typeof Response !== 'undefined' && src instanceof Response) {
        if (WebAssembly.instantiateStreaming) ({ instance } = await WebAssembly.instantiateStreaming(src, imports));
        else ({ instance } = await WebAssembly.instantiate(await src.arrayBuffer(), imports));
    } else {
        ({ instance } = await WebAssembly.instantiate(src, imports));
    }
    const ex = instance.exports;
    memory = ex.memory;
    if (ex._initialize) ex._initialize();
    return new Trit(ex, memory, build, nodeFs);
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
    constructor(exports, memory, build, nodeFs) {
        this.exports = exports;
        this.memory = memory;
        this.build = build;
        this._fs = nodeFs;
        this._buf = null;
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
        return utf8d.decode(u8.subarray(ptr, end));
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
