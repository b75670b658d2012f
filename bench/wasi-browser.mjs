// wasi-browser.mjs: runs a standalone wasm program (a C main, as tests/wasm/run_wasi.mjs runs them in
// Node) in a headless chromium page, for the kernel bench where chromium's engine differs from Node's
// (the relaxed dot-add: one instruction in chromium, three in Node 20):
//
//   TRIT_TEST_DOT_ADD=1 TRIT_TEST_BENCH="2560 6912" TRIT_TEST_BENCH_ONLY="1 1" \
//     node bench/wasi-browser.mjs build/wasm/test_kernels_relaxed.wasm
//
// The program's stdout and stderr come back on stdout; the exit status is the program's. Its
// environment is TRIT_TEST_* of this process; no files (the kernel bench needs none).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { benchPage } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const file = process.argv[2];
if (!file) {
    process.stderr.write('usage: node bench/wasi-browser.mjs PROGRAM.wasm [ARGS...] (inside the repository)\n');
    process.exit(2);
}
const rel = path.relative(ROOT, path.resolve(file));
if (rel.startsWith('..')) throw new Error(`${file}: not inside the repository`);
const env = Object.entries(process.env).filter(([k]) => k.startsWith('TRIT_TEST_')).map(([k, v]) => `${k}=${v}`);

// runs in the page: a minimal WASI preview1 (args, environ, clock, fd_write to a buffer, proc_exit)
async function runInPage({ url, args, env }) {
    const text = [];
    let mem = null, code = 0;
    class Exit { constructor(c) { this.code = c; } }
    const enc = new TextEncoder(), dec = new TextDecoder();
    const strs = list => list.map(s => enc.encode(s + '\0'));
    const sizes = list => (cnt, len) => {
        const v = new DataView(mem.buffer), b = strs(list);
        v.setUint32(cnt, b.length, true);
        v.setUint32(len, b.reduce((n, x) => n + x.length, 0), true);
        return 0;
    };
    const fill = list => (ptrs, buf) => {
        const v = new DataView(mem.buffer), u = new Uint8Array(mem.buffer);
        for (const b of strs(list)) { v.setUint32(ptrs, buf, true); ptrs += 4; u.set(b, buf); buf += b.length; }
        return 0;
    };
    const wasi = {
        args_sizes_get: sizes(args), args_get: fill(args), environ_sizes_get: sizes(env), environ_get: fill(env),
        clock_time_get(id, prec, out) {
            new DataView(mem.buffer).setBigUint64(out, BigInt(Math.round(performance.now() * 1e6)), true);
            return 0;
        },
        fd_write(fd, iovs, n, out) {
            const v = new DataView(mem.buffer);
            let w = 0;
            for (let i = 0; i < n; i++) {
                const p = v.getUint32(iovs + 8 * i, true), l = v.getUint32(iovs + 8 * i + 4, true);
                text.push(dec.decode(new Uint8Array(mem.buffer, p, l)));
                w += l;
            }
            v.setUint32(out, w, true);
            return 0;
        },
        fd_close: () => 0, fd_seek: () => 70 /* ESPIPE */, proc_exit(c) { throw new Exit(c); },
    };
    const { instance } = await WebAssembly.instantiateStreaming(fetch(url), {
        wasi_snapshot_preview1: wasi, env: { emscripten_notify_memory_growth() {} } });
    mem = instance.exports.memory;
    try { instance.exports._start(); } catch (e) { if (e instanceof Exit) code = e.code; else throw e; }
    return { code, out: text.join('') };
}

const b = await benchPage();
try {
    const r = await b.page.evaluate(runInPage, { url: `${b.url}/${rel}`, args: [path.basename(file), ...process.argv.slice(3)], env });
    process.stdout.write(r.out);
    process.exitCode = r.code;
} finally {
    await b.close();
}
