#!/usr/bin/env node
// ab.mjs: A/B timing of two wasm builds of the core on one model, in one process, interleaved token
// by token, so that the shared host's load drift hits both alike (docs/bench.md: on this 2-vCPU host
// two identical `make bench` runs differ by up to 30%, more than most kernel changes).
//
//   node --experimental-wasm-relaxed-simd bench/ab.mjs --model build/bench/2b.tq2_0.gguf \
//        --a /tmp/old.wasm --b build/wasm/trit-relaxed.wasm [--tokens 24] [--k 4] [--rounds 6]
//
// Both builds load the model (two copies in memory). Per round: one decode step on A, one on B, ...
// (--tokens each), then a K-token verification (all logits, rolled back) on A and on B. Prints the
// median per-step times and B/A, and the same as JSON on the last line. Nothing asserts timings.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, median } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { loadTrit } = await import(path.join(ROOT, 'js', 'wasm.mjs'));
const model = arg('--model'), files = { a: arg('--a'), b: arg('--b') };
if (!model || !files.a || !files.b) {
    process.stderr.write('usage: bench/ab.mjs --model F.gguf --a A.wasm --b B.wasm [--tokens N] [--k K] [--rounds R]\n');
    process.exit(2);
}
const tokens = Number(arg('--tokens', '24')), K = Number(arg('--k', '4')), rounds = Number(arg('--rounds', '6'));
const now = () => performance.now();

async function open(file) {
    const T = await loadTrit({ url: path.resolve(file), threads: 1 });
    const X = T.exports;
    const buf = T.readModelFile(model);
    const m = X.trit_wasm_model_load(buf.ptr, buf.size) >>> 0;
    if (!m) throw new Error(`${file}: load: ${T.lastError()}`);
    const c = X.trit_wasm_ctx_init(m, 512, 64, 0) >>> 0;
    if (!c) throw new Error(`${file}: ctx: ${T.lastError()}`);
    T.attachPool(c);
    const logits = T.malloc(4 * 32000 * 16 * 2);
    const toks = T.malloc(4 * 64);
    T.i32.set(Array.from({ length: 64 }, (_, i) => 1 + ((i * 7919) % 31000)), toks >>> 2);
    const run = (n, mode) => { if (X.trit_ctx_decode(c, toks, n, logits, mode)) throw new Error(`decode: ${T.lastError()}`); };
    run(8, 1);   // a short prompt, and the engine's tier-up
    return { X, c, run };
}

const E = { a: await open(files.a), b: await open(files.b) };
const t = { a: { decode: [], verify: [] }, b: { decode: [], verify: [] } };
for (let r = 0; r < rounds; r++) {
    for (const k of ['a', 'b']) E[k].X.trit_ctx_truncate(E[k].c, 8);
    for (let i = 0; i < tokens / rounds; i++)
        for (const k of (i % 2 ? ['b', 'a'] : ['a', 'b'])) {
            const s = now();
            E[k].run(1, 1);
            t[k].decode.push(now() - s);
        }
    for (const k of (r % 2 ? ['b', 'a'] : ['a', 'b'])) {
        const pos = E[k].X.trit_ctx_pos(E[k].c), s = now();
        E[k].run(K, 2);
        t[k].verify.push(now() - s);
        E[k].X.trit_ctx_truncate(E[k].c, pos);
    }
}
const out = { model: path.basename(model), a: files.a, b: files.b, tokens, K, rounds };
for (const k of ['a', 'b']) out[k + '_ms'] = { decode: median(t[k].decode), verify: median(t[k].verify) };
out.b_over_a = { decode: out.b_ms.decode / out.a_ms.decode, verify: out.b_ms.verify / out.a_ms.verify };
out.verify_rel = { a: out.a_ms.verify / out.a_ms.decode, b: out.b_ms.verify / out.b_ms.decode };
console.log(`${out.model}: decode ms A ${out.a_ms.decode.toFixed(1)} B ${out.b_ms.decode.toFixed(1)} (B/A ${out.b_over_a.decode.toFixed(3)}); ` +
    `verify K=${K} ms A ${out.a_ms.verify.toFixed(1)} B ${out.b_ms.verify.toFixed(1)} (B/A ${out.b_over_a.verify.toFixed(3)}); ` +
    `K=${K}/decode A ${out.verify_rel.a.toFixed(2)} B ${out.verify_rel.b.toFixed(2)}`);
console.log(JSON.stringify(out));
