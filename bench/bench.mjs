// bench.mjs: `make bench` — speed of trit's wasm builds (and the native build of the same C) on random
// ternary models of real shapes (bench/make_models.py), against the memory-bandwidth roofline measured
// by a streaming kernel inside the same wasm module in the same run. Writes bench/results.json and
// prints a table (docs/bench.md explains every figure).
//
//   node bench/bench.mjs [--models build/bench] [--out bench/results.json] [--shapes 700m,2b]
//                        [--types tq2_0,tq1_0,i2_s] [--builds scalar,simd,simd-mt,relaxed,relaxed-mt,native]
//                        [--full]
//
// Every (model, build) runs in a child process (`--child`), so that load time and peak memory are its
// own. Speed is measured as best-of or totals inside one run; nothing here asserts timings. To stay
// within `make bench`'s 15 minutes, the slow builds (scalar, native) run the 2b shape in TQ2_0 only
// (all of 700m); --full runs every combination.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, median } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

const N_CTX = 256;
const KV_BYTES = (hp, nCtx) => 2 * hp.n_layer * nCtx * hp.n_head_kv * hp.head_dim * 2;   // F16 K and V

// tokens per measurement (the prompt is also the prefill measurement): the scalar reference kernels
// are ~40x slower than the SIMD ones and the native build of the same C ~5x, so they measure fewer.
// Decode tok/s is 1 / the median of the per-step times (the shared host's bursts of other work hit a
// few steps hard; a mean over 8 steps moved by 30% between identical runs); the mean is kept too.
const PLAN = {
    fast: { prompt: 16, decode: 16, verifyReps: 2, streamReps: 5 },
    native: { prompt: 4, decode: 2, verifyReps: 1, streamReps: 5 },
    slow: { prompt: 4, decode: 2, verifyReps: 1, streamReps: 3 },
};
const VERIFY_K = [1, 2, 4, 8];


const now = () => performance.now();

// ---- child: one model on one wasm build -----------------------------------------------------------

async function child() {
    const { loadTrit } = await import(path.join(ROOT, 'js', 'wasm.mjs'));
    const file = arg('--model'), build = arg('--build'), threads = Number(arg('--threads', '1'));
    const plan = PLAN[build === 'scalar' ? 'slow' : 'fast'];
    const T = await loadTrit({ build, threads });
    const X = T.exports;
    // TRIT_TL_DOT_MIN=N: batches of >= N tokens take the dot-product kernel (99: the table lookups only)
    if (process.env.TRIT_TL_DOT_MIN && X.trit_wasm_tl_dot_min) X.trit_wasm_tl_dot_min(Number(process.env.TRIT_TL_DOT_MIN));
    const t0 = now();
    const buf = T.readModelFile(file);
    const m = X.trit_wasm_model_load(buf.ptr, buf.size) >>> 0;
    if (!m) throw new Error(`load: ${T.lastError()}`);
    const loadMs = now() - t0;
    const info = modelInfo(T, m);
    const weightBytes = X.trit_wasm_weight_bytes(m);
    // the roofline: the best of a few streaming reads over the model's own bytes (1 thread)
    const stream = () => {
        let best = Infinity;
        for (let r = 0; r < plan.streamReps; r++) {
            const s = now();
            X.trit_wasm_stream(buf.ptr, buf.size & ~63);
            best = Math.min(best, now() - s);
        }
        return (buf.size & ~63) / (best / 1e3);
    };
    const bw0 = stream();
    const c = X.trit_wasm_ctx_init(m, N_CTX, 64, 0) >>> 0;
    if (!c) throw new Error(`ctx: ${T.lastError()}`);
    T.attachPool(c);
    const V = info.n_vocab;
    const logits = T.malloc(4 * V * 8);
    const toks = T.malloc(4 * 64);
    const ids = Array.from({ length: 64 }, (_, i) => 1 + ((i * 7919) % (V - 1)));
    T.i32.set(ids, toks >>> 2);
    const decode = (n, mode) => { if (X.trit_ctx_decode(c, toks, n, logits, mode)) throw new Error(`decode: ${T.lastError()}`); };
    // prefill: one call over the prompt (LOGITS_LAST)
    let s = now();
    decode(plan.prompt, 1);
    const prefillS = (now() - s) / 1e3;
    // decode: one token per call, as generation does
    const steps = [];
    for (let i = 0; i < plan.decode; i++) { s = now(); decode(1, 1); steps.push((now() - s) / 1e3); }
    const decodeS = steps.reduce((a, b) => a + b, 0);
    const medianS = median(steps);
    const pos = X.trit_ctx_pos(c);
    // verification of K draft tokens: one call with LOGITS_ALL at the same position, rolled back
    const verify = {};
    for (const K of VERIFY_K) {
        let best = Infinity;
        for (let r = 0; r < plan.verifyReps; r++) {
            X.trit_ctx_truncate(c, pos);
            const v = now();
            decode(K, 2);
            best = Math.min(best, now() - v);
        }
        verify[K] = best / 1e3;
    }
    const bw = Math.max(bw0, stream());
    const decodeTps = 1 / medianS;
    const out = {
        build: T.build, threads: T.threads, tl_dot_min: X.trit_wasm_tl_dot_min ? X.trit_wasm_tl_dot_min(0) : null, load_s: loadMs / 1e3, file_bytes: buf.size,
        weight_bytes_per_token: weightBytes, kv_bytes: KV_BYTES(info, N_CTX), peak_bytes: T.memory.buffer.byteLength,
        prefill_tokens: plan.prompt, prefill_tok_s: plan.prompt / prefillS,
        decode_tokens: plan.decode, decode_tok_s: decodeTps, decode_mean_tok_s: plan.decode / decodeS,
        verify_s: verify, verify_rel: Object.fromEntries(VERIFY_K.map(K => [K, verify[K] / verify[1]])),
        stream_bytes_s: bw, roofline: weightBytes * decodeTps / bw,
    };
    X.trit_ctx_free(c);
    X.trit_model_free(m);
    T.close();
    process.stdout.write(JSON.stringify(out) + '\n');
}

function modelInfo(T, m) {
    const p = T.malloc(24 * 4);
    T.exports.trit_wasm_model_info(m, p);
    const i = T.i32.slice(p >>> 2, (p >>> 2) + 24);
    T.free(p);
    return { n_vocab: i[2], n_layer: i[5], n_head_kv: i[7], head_dim: i[8] };
}

// ---- parent: every model x build, the JSON and the table -----------------------------------------

function runChild(file, build, threads) {
    const env = { ...process.env };
    delete env.TRIT_WASM;
    let r;
    if (build === 'native') {
        const p = PLAN.native;
        r = spawnSync(path.join(ROOT, 'build', 'bench', 'trit_bench_native'),
            [file, String(threads), String(N_CTX), String(p.prompt), String(p.decode), String(p.verifyReps)],
            { encoding: 'utf8', env, timeout: 900e3 });
    } else {
        const flags = build.startsWith('relaxed') ? ['--experimental-wasm-relaxed-simd'] : [];
        r = spawnSync(process.execPath, [...flags, fileURLToPath(import.meta.url), '--child', '--model', file, '--build', build,
            '--threads', String(threads)], { encoding: 'utf8', env, timeout: 900e3 });
    }
    if (r.status !== 0) return { error: (r.stderr || r.error || '').toString().trim().split('\n').slice(-3).join(' | ') };
    return JSON.parse(r.stdout.trim().split('\n').pop());
}

function fmt(x, d = 2) { return x === undefined || x === null || Number.isNaN(x) ? '-' : Number(x).toFixed(d); }

async function parent() {
    const models = path.resolve(arg('--models', path.join(ROOT, 'build', 'bench')));
    const out = path.resolve(arg('--out', path.join(ROOT, 'bench', 'results.json')));
    const shapes = arg('--shapes', '700m,2b').split(',');
    const types = arg('--types', 'tq2_0,tq1_0,i2_s').split(',');
    const wanted = arg('--builds', 'scalar,simd,simd-mt,relaxed,relaxed-mt,native').split(',');
    const have = b => b === 'native' ? fs.existsSync(path.join(ROOT, 'build', 'bench', 'trit_bench_native'))
        : fs.existsSync(path.join(ROOT, 'build', 'wasm', `trit-${b}.wasm`));
    // (build, threads) runs: the -mt builds with 2 threads, native with 1 and 2
    const runs = [];
    for (const b of wanted) {
        if (!have(b)) { console.error(`skipping ${b}: not built`); continue; }
        if (b === 'native') runs.push(['native', 1], ['native', 2]);
        else runs.push([b, b.endsWith('-mt') ? 2 : 1]);
    }
    const results = { machine: machine(), date: new Date().toISOString(), n_ctx: N_CTX, models: {} };
    const t0 = now();
    for (const shape of shapes)
        for (const ty of types) {
            const file = path.join(models, `${shape}.${ty}.gguf`);
            if (!fs.existsSync(file)) { console.error(`missing ${file}`); continue; }
            const key = `${shape}.${ty}`;
            results.models[key] = { file_bytes: fs.statSync(file).size, runs: {} };
            for (const [b, th] of runs) {
                const name = `${b}/${th}t`;
                if ((b === 'scalar' || b === 'native') && shape !== '700m' && ty !== 'tq2_0' && !process.argv.includes('--full')) {
                    results.models[key].runs[name] = { skipped: 'time budget: the slow builds run 2b in TQ2_0 only (--full for all)' };
                    continue;
                }
                process.stderr.write(`${key} ${name} ... `);
                const r = runChild(file, b, th);
                results.models[key].runs[name] = r;
                process.stderr.write(r.error ? `error: ${r.error}\n` : `${fmt(r.decode_tok_s)} tok/s\n`);
            }
        }
    results.elapsed_s = (now() - t0) / 1e3;
    results.targets = targets(results);
    fs.writeFileSync(out, JSON.stringify(results, null, 1) + '\n');
    printTable(results);
    console.log(`\nwrote ${out} (${fmt(results.elapsed_s, 0)} s)`);
}

function machine() {
    let cpu = '';
    try { cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || ''; } catch { /* not Linux */ }
    return { cpu, cores: (globalThis.navigator && navigator.hardwareConcurrency) || null, node: process.version };
}

// The targets, evaluated on what was measured (null where a run is missing).
function targets(res) {
    const t = {};
    const get = (key, run) => {
        const r = res.models[key] && res.models[key].runs[run];
        return r && !r.error && !r.skipped ? r : null;
    };
    const best1 = key => ['relaxed/1t', 'simd/1t'].map(r => get(key, r)).find(Boolean);
    for (const key of Object.keys(res.models)) {
        const simd = get(key, 'simd/1t'), scalar = get(key, 'scalar/1t'), b1 = best1(key);
        const mt = get(key, b1 && b1.build === 'relaxed' ? 'relaxed-mt/2t' : 'simd-mt/2t');
        t[key] = {
            simd_over_scalar: simd && scalar ? simd.decode_tok_s / scalar.decode_tok_s : null,       // >= 8
            roofline_1t: b1 ? b1.roofline : null,                                                    // >= 0.6 (2b.tq2_0)
            best_1t_build: b1 ? b1.build : null,
            verify_k4: b1 ? b1.verify_rel[4] : null,                                                 // <= 1.6
            verify_k8: b1 ? b1.verify_rel[8] : null,                                                 // <= 2.5
            threads_2_over_1: b1 && mt ? mt.decode_tok_s / b1.decode_tok_s : null,                   // >= 1.7
            peak_over_budget_mb: b1 ? (b1.peak_bytes - b1.file_bytes - b1.kv_bytes) / 2 ** 20 : null, // <= 64
        };
    }
    return t;
}

function printTable(res) {
    const cols = ['model', 'run', 'load s', 'peak MB', 'over MB', 'prefill t/s', 'decode t/s', 'K=2', 'K=4', 'K=8', 'GB/s', 'roofline'];
    const rows = [cols];
    for (const [key, mres] of Object.entries(res.models))
        for (const [run, r] of Object.entries(mres.runs)) {
            if (r.error) { rows.push([key, run, 'error: ' + r.error.slice(0, 60)]); continue; }
            if (r.skipped) { rows.push([key, run, 'skipped']); continue; }
            rows.push([key, run, fmt(r.load_s), fmt(r.peak_bytes / 2 ** 20, 0), fmt((r.peak_bytes - r.file_bytes - r.kv_bytes) / 2 ** 20, 0),
                fmt(r.prefill_tok_s), fmt(r.decode_tok_s), fmt(r.verify_rel[2]), fmt(r.verify_rel[4]), fmt(r.verify_rel[8]),
                fmt(r.stream_bytes_s / 1e9, 1), fmt(r.roofline)]);
        }
    const w = cols.map((_, i) => Math.max(...rows.map(r => String(r[i] ?? '').length)));
    for (const r of rows) console.log(r.map((c, i) => String(c ?? '').padEnd(w[i])).join('  '));
    console.log('\ntargets (best single-thread build; see docs/bench.md):');
    for (const [key, t] of Object.entries(res.targets))
        console.log(`  ${key.padEnd(10)} simd/scalar ${fmt(t.simd_over_scalar, 1)} (>= 8)  roofline ${fmt(t.roofline_1t)} (>= 0.6 for 2b.tq2_0)` +
            `  K=4 ${fmt(t.verify_k4)} (<= 1.6)  K=8 ${fmt(t.verify_k8)} (<= 2.5)  2t/1t ${fmt(t.threads_2_over_1)} (>= 1.7)` +
            `  peak-file-KV ${fmt(t.peak_over_budget_mb, 0)} MB (<= 64)`);
}

if (process.argv.includes('--child')) await child();
else await parent();
