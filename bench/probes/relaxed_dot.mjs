#!/usr/bin/env node
// relaxed_dot.mjs: builds relaxed_dot.c (clang-19 -c + wasm-ld-19: the clang driver's own link step would
// run Debian's old binaryen wasm-opt, which breaks the dot-add opcode) and runs it in Node and in
// headless chromium: per function, whether the first (baseline-tier) call and how many of 6 later ones
// (the engine tiers up between calls) give the right sum, and the best ns per byte. `node --experimental-wasm-relaxed-simd bench/probes/relaxed_dot.mjs [--no-chromium]`
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trit-probe-'));
execFileSync('clang-19', ['--target=wasm32', '-O2', '-msimd128', '-mrelaxed-simd', '-c', '-o', path.join(tmp, 'p.o'), path.join(HERE, 'relaxed_dot.c')]);
execFileSync('wasm-ld-19', ['--no-entry', '--export-dynamic', '-o', path.join(tmp, 'p.wasm'), path.join(tmp, 'p.o')]);
const bytes = fs.readFileSync(path.join(tmp, 'p.wasm'));

// runs in Node and (serialized) in the page
async function probe(bytes) {
    const { instance } = await WebAssembly.instantiate(bytes, {});
    const e = instance.exports, mem = new Int8Array(e.memory.buffer), N = 4096, reps = 100000;
    const A = e.buf_a(), B = e.buf_b();
    let one = 0;
    for (let i = 0; i < N; i++) { mem[A + i] = (i * 37 % 255) - 127; mem[B + i] = (i * 13) % 4; one += mem[A + i] * mem[B + i]; }
    const out = {};
    for (const f of ['dot_add', 'dot_i16_i32']) {
        const first = e[f](1) === one;   // the first call: the baseline tier
        let best = Infinity, right = 0;
        for (let r = 0; r < 6; r++) {
            const t = performance.now(), v = e[f](reps);
            best = Math.min(best, performance.now() - t);
            right += v === Math.imul(one, reps);
        }
        out[f] = { first_call_right: first, later_calls_right: `${right}/6`, ns_per_byte: +(best * 1e6 / (N * reps)).toFixed(4) };
    }
    return out;
}

console.log('node', process.version, JSON.stringify(await probe(bytes)));
if (!process.argv.includes('--no-chromium')) {
    const { launchChromium } = await import(pathToFileURL(path.join(ROOT, 'tests/browser/lib.mjs')).href);
    const b = await launchChromium({ timeout: 120e3 });
    try {
        const r = await b.page.evaluate(async ([src, b64]) => { const f = new Function('return ' + src)(); return f(Uint8Array.from(atob(b64), c => c.charCodeAt(0))); },
            [probe.toString(), bytes.toString('base64')]);
        console.log('chromium', b.browser ? b.browser.version() : '', JSON.stringify(r));
    } finally { await b.close(); }
}
fs.rmSync(tmp, { recursive: true, force: true });
