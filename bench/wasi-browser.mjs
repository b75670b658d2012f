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

// runs in the page: js/wasm.mjs's WASI imports, stdout / stderr into a buffer
async function runInPage({ base, url, args, env }) {
    const { makeImports, WasiExit } = await import(base + '/js/wasm.mjs');
    const text = [], dec = new TextDecoder();
    let memory = null, code = 0;
    const imports = makeImports(() => memory, { args, environ: env, write: (fd, bytes) => text.push(dec.decode(bytes)) });
    const { instance } = await WebAssembly.instantiateStreaming(fetch(url), imports);
    memory = instance.exports.memory;
    try { instance.exports._start(); } catch (e) { if (e instanceof WasiExit) code = e.code; else throw e; }
    return { code, out: text.join('') };
}

const b = await benchPage();
try {
    const r = await b.page.evaluate(runInPage, { base: b.url, url: `${b.url}/${rel}`, args: [path.basename(file), ...process.argv.slice(3)], env });
    process.stdout.write(r.out);
    process.exitCode = r.code;
} finally {
    await b.close();
}
