#!/usr/bin/env node
// ab.mjs: A/B timing of two wasm builds of the core on one model, in one process, interleaved token
// by token, so that the shared host's load drift hits both alike (docs/bench.md: on this 2-vCPU host
// two identical `make bench` runs differ by up to 30%, more than most kernel changes).
//
//   node --experimental-wasm-relaxed-simd bench/ab.mjs --model build/bench/2b.tq2_0.gguf \
//        --a /tmp/old.wasm --b build/wasm/trit-relaxed.wasm [--tokens 24] [--k 4] [--rounds 6]
//        [--a-dot-add 0|1] [--b-dot-add 0|1] [--a-dot-min N] [--b-dot-min N] [--b-model F.gguf] [--browser]
//
// Both builds load the model (two copies in memory). Per round: one decode step on A, one on B, ...
// (--tokens each), then a K-token verification (all logits, rolled back) on A and on B. Prints the
// median per-step times and B/A, the median B/A of adjacent pairs ("paired": drift between pairs
// cancels), and the same as JSON on the last line. Nothing asserts timings.
// --a / --b: a .wasm path or a build name (relaxed, simd, ...). --x-dot-add: the relaxed build's
// dot-add batch kernel off / on (default: js/wasm.mjs's known-answer test; never 1 in Node 20, whose
// baseline tier computes it wrongly). --x-dot-min N: batches of >= N tokens take the dot kernel
// (trit_wasm_tl_dot_min; default the build's). --a-model / --b-model: that side decodes another file
// (two formats of one shape, say; --a and --b may then name the same build). --cpu-prof F.cpuprofile (with --browser):
// the page's CPU profile to F and the top self times to stderr (link the build without --strip-debug for
// function names). --threads N (Node): both sides with N threads (give -mt builds). --browser: the same in headless chromium (its page, one thread;
// paths are served from 127.0.0.1).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { arg, benchPage } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const model = arg('--model'), files = { a: arg('--a'), b: arg('--b') };
if (!model || !files.a || !files.b) {
    process.stderr.write('usage: bench/ab.mjs --model F.gguf --a A.wasm|BUILD --b B.wasm|BUILD [--tokens N] [--k K] [--rounds R] [--a-dot-add 0|1] [--b-dot-add 0|1] [--a-model F] [--b-model F] [--browser]\n');
    process.exit(2);
}
const flag = name => { const v = arg(name); return v === undefined ? undefined : v === '1'; };

/** The A/B itself; self-contained so that it also runs (serialized) in a page. o: { base (URL of the
 * repo root), model (path or URL), a, b ({ build } or { url }, dotAdd), tokens, K, rounds } */
async function abCore(o) {
    const { loadTrit } = await import(o.base + 'js/wasm.mjs');
    const { benchContext, median } = await import(o.base + 'bench/lib.mjs');
    const now = () => performance.now();
    const open = async side => {
        const T = await loadTrit({ ...side.load, threads: o.threads || 1, dotAdd: side.dotAdd });
        const X = T.exports;
        if (side.dotMin) X.trit_wasm_tl_dot_min(side.dotMin);
        const file = side.model || o.model;
        const buf = T._fs ? T.readModelFile(file) : await T.fetchModel(file);
        const m = X.trit_wasm_model_load(buf.ptr, buf.size) >>> 0;
        if (!m) throw new Error(`${side.name}: load: ${T.lastError()}`);
        const { c, decode: run } = benchContext(T, m, 512, 32);
        run(8, 1);   // a short prompt, and the engine's tier-up
        return { T, X, c, run, build: T.build, dotAdd: X.trit_wasm_tl_dot_add ? X.trit_wasm_tl_dot_add(-1) : null };
    };
    const E = { a: await open(o.a), b: await open(o.b) };
    const t = { a: { decode: [], verify: [] }, b: { decode: [], verify: [] } };
    for (let r = 0; r < o.rounds; r++) {
        for (const k of ['a', 'b']) E[k].X.trit_ctx_truncate(E[k].c, 8);
        for (let i = 0; i < o.tokens / o.rounds; i++)
            for (const k of (i % 2 ? ['b', 'a'] : ['a', 'b'])) {
                const s = now();
                E[k].run(1, 1);
                t[k].decode.push(now() - s);
            }
        for (const k of (r % 2 ? ['b', 'a'] : ['a', 'b'])) {
            const pos = E[k].X.trit_ctx_pos(E[k].c), s = now();
            E[k].run(o.K, 2);
            t[k].verify.push(now() - s);
            E[k].X.trit_ctx_truncate(E[k].c, pos);
        }
    }
    for (const k of ['a', 'b']) E[k].T.close();   // (the -mt builds' workers would keep Node running)
    const out = { a_build: E.a.build, a_dot_add: E.a.dotAdd, b_build: E.b.build, b_dot_add: E.b.dotAdd };
    for (const k of ['a', 'b']) out[k + '_ms'] = { decode: median(t[k].decode), verify: median(t[k].verify) };
    // the median of B/A over the adjacent pairs (a decode step on each side, one right after the other): drift of the
    // host's load between pairs cancels
    const paired = kind => median(t.b[kind].map((x, i) => x / t.a[kind][i]));
    out.paired = { decode: paired('decode'), verify: paired('verify') };
    return out;
}

const side = (name, f, dotAdd) => ({ name, dotAdd, dotMin: Number(arg(`--${name}-dot-min`, '0')), model: arg(`--${name}-model`),
    load: /\.wasm$/.test(f) ? { url: f } : { build: f } });
const o = { tokens: Number(arg('--tokens', '24')), K: Number(arg('--k', '4')), rounds: Number(arg('--rounds', '6')), threads: Number(arg('--threads', '1')) };
let res;
if (process.argv.includes('--browser')) {
    const url = p => { const r = path.relative(ROOT, path.resolve(p)); if (r.startsWith('..')) throw new Error(`${p}: not inside the repository`); return '/' + r; };
    const sideUrl = (n, f, d) => { const s = side(n, f, d); if (s.load.url) s.load.url = b.url + url(f); if (s.model) s.model = b.url + url(s.model); return s; };
    const b = await benchPage();
    const prof = arg('--cpu-prof');
    try {
        let cdp = null;
        if (prof) {   // the page's CPU profile (both sides together: give them the same build and model)
            cdp = await b.page.context().newCDPSession(b.page);
            await cdp.send('Profiler.enable');
            await cdp.send('Profiler.setSamplingInterval', { interval: 250 });
            await cdp.send('Profiler.start');
        }
        res = await b.page.evaluate(`(${abCore.toString()})(${JSON.stringify({ ...o, base: b.url + '/', model: b.url + url(model),
            a: sideUrl('a', files.a, flag('--a-dot-add')), b: sideUrl('b', files.b, flag('--b-dot-add')) })})`);
        res.engine = `chromium ${b.version || ''}`;
        if (cdp) {
            const { profile } = await cdp.send('Profiler.stop');
            fs.writeFileSync(prof, JSON.stringify(profile));
            const self = new Map();
            let total = 0;
            for (const n of profile.nodes) {
                const k = n.callFrame.functionName || '(anonymous)';
                self.set(k, (self.get(k) || 0) + (n.hitCount || 0));
                total += n.hitCount || 0;
            }
            const top = [...self].sort((x, y) => y[1] - x[1]).slice(0, 14);
            console.error(`cpu profile ${prof} (${total} samples), self time:\n` + top.map(([k, v]) => `  ${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`).join('\n'));
        }
    } finally {
        await b.close();
    }
} else {
    const abs = f => (/\.wasm$/.test(f) ? path.resolve(f) : f);
    res = await abCore({ ...o, base: pathToFileURL(ROOT + '/').href, model,
        a: side('a', abs(files.a), flag('--a-dot-add')), b: side('b', abs(files.b), flag('--b-dot-add')) });
    res.engine = `node ${process.version}`;
}
const out = { model: path.basename(model), a: files.a, b: files.b, tokens: o.tokens, K: o.K, rounds: o.rounds, ...res };
out.b_over_a = { decode: out.b_ms.decode / out.a_ms.decode, verify: out.b_ms.verify / out.a_ms.verify };
out.verify_rel = { a: out.a_ms.verify / out.a_ms.decode, b: out.b_ms.verify / out.b_ms.decode };
console.log(`${out.model} (${out.engine}): decode ms A ${out.a_ms.decode.toFixed(1)} B ${out.b_ms.decode.toFixed(1)} (B/A ${out.b_over_a.decode.toFixed(3)}); ` +
    `verify K=${o.K} ms A ${out.a_ms.verify.toFixed(1)} B ${out.b_ms.verify.toFixed(1)} (B/A ${out.b_over_a.verify.toFixed(3)}); ` +
    `K=${o.K}/decode A ${out.verify_rel.a.toFixed(2)} B ${out.verify_rel.b.toFixed(2)}; ` +
    `paired B/A decode ${out.paired.decode.toFixed(3)} verify ${out.paired.verify.toFixed(3)}`);
console.log(JSON.stringify(out));
