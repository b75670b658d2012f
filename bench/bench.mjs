// bench.mjs: `make bench` — speed of trit's wasm builds (and the native build of the same C) on random
// ternary models of real shapes (bench/make_models.py), against the memory-bandwidth roofline measured
// by a streaming kernel inside the same wasm module in the same run. Writes bench/results.json and
// prints a table (docs/bench.md explains every figure).
//
//   node bench/bench.mjs [--models build/bench] [--out bench/results.json] [--shapes 700m,2b]
//                        [--types tq2_0,tq1_0,i2_s] [--builds scalar,simd,simd-mt,relaxed,relaxed-mt,native]
//                        [--full] [--browser]
//
// --browser: the wasm builds in headless chromium instead of Node (module Workers of a cross-origin
// isolated page, the same measurement, bench/measure.mjs); writes bench/results-chromium.json.
//
// Every (model, build) runs in a child process (`--child`), so that load time and peak memory are its
// own. Speed is measured as best-of or totals inside one run; nothing here asserts timings. To stay
// within `make bench`'s 15 minutes, the scalar build runs the 2b shape in TQ2_0 only (all of 700m) and
// the native reference (the same C, gcc) the TQ2_0 models only; --full runs every combination.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { arg, benchContext, benchPage } from './lib.mjs';
import { N_CTX, PLAN, measureModel } from './measure.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');

const now = () => performance.now();

// TRIT_DOT_ADD=0|1: the relaxed build's dot-add batch kernel off / on (default: js/wasm.mjs's known-answer test)
const dotAddEnv = () => (process.env.TRIT_DOT_ADD === undefined ? undefined : process.env.TRIT_DOT_ADD === '1');

// ---- child: one model on one wasm build (the measurement itself is bench/measure.mjs) ------------

async function child() {
    const { loadTrit } = await import(path.join(ROOT, 'js', 'wasm.mjs'));
    const file = arg('--model'), build = arg('--build'), threads = Number(arg('--threads', '1'));
    const T = await loadTrit({ build, threads, dotAdd: dotAddEnv() });
    // the scalar run also times the simd build step for step in the same process (measure.mjs: pair), so
    // that the SIMD / scalar ratio is not two runs minutes apart on a shared host
    const P = build === 'scalar' ? await pairEngine(loadTrit, file, 'simd') : null;
    // TRIT_TL_DOT_MIN=N: batches of >= N tokens take the dot-product kernel (99: the table lookups only)
    const out = await measureModel(T, file, PLAN[build === 'scalar' ? 'slow' : 'fast'],
        { dotMin: Number(process.env.TRIT_TL_DOT_MIN) || 0, pair: P });
    T.close();
    if (P) P.close();
    process.stdout.write(JSON.stringify(out) + '\n');
}

// another build on the same model, its prompt decoded and warmed up: step() times one decode step
async function pairEngine(loadTrit, file, build) {
    const T = await loadTrit({ build, threads: 1 });
    const X = T.exports;
    const buf = T.readModelFile(file);
    const m = X.trit_wasm_model_load(buf.ptr, buf.size) >>> 0;
    if (!m) throw new Error(`pair ${build}: ${T.lastError()}`);
    const { c, decode: run } = benchContext(T, m, N_CTX, 1);
    const decode = n => run(n, 1);
    decode(PLAN.slow.prompt);
    for (let i = 0; i < 3; i++) decode(1);   // the engine's tier-up
    return {
        build,
        step() { const s = now(); decode(1); return (now() - s) / 1e3; },
        close() { X.trit_ctx_free(c); X.trit_model_free(m); T.close(); },
    };
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

// --browser: the same measurement (measure.mjs) in a module Worker of a headless chromium page served
// from 127.0.0.1 with COOP/COEP (cross-origin isolated: the -mt builds get their threads), one fresh
// Worker (own wasm memory) per run. The engine is chromium's V8, newer than Node's.
async function browserSession(modelsDir) {
    const inRoot = modelsDir.startsWith(ROOT + path.sep);
    const b = await benchPage(inRoot ? {} : { '/models/': modelsDir });
    const isolated = await b.page.evaluate(() => self.crossOriginIsolated);
    const run = async (file, build, threads) => {
        const model = b.url + (inRoot ? '/' + path.relative(ROOT, file) : '/models/' + path.basename(file));
        const args = { worker: `${b.url}/bench/measure-worker.mjs`, build, threads, model, plan: PLAN[build === 'scalar' ? 'slow' : 'fast'],
            dotMin: Number(process.env.TRIT_TL_DOT_MIN) || 0, dotAdd: dotAddEnv() };
        try {
            const r = await b.page.evaluate(a => new Promise(resolve => {
                const w = new Worker(a.worker, { type: 'module' });
                w.onmessage = e => { w.terminate(); resolve(e.data); };
                w.onerror = e => { w.terminate(); resolve({ error: e.message || 'worker error' }); };
                w.postMessage(a);
            }), args);
            return r.error ? { error: r.error.split('\n').slice(0, 3).join(' | ') } : r.result;
        } catch (e) {
            return { error: String(e && e.message || e).split('\n')[0] };
        }
    };
    return { run, info: { chromium: b.version, cross_origin_isolated: isolated }, close: b.close };
}

function fmt(x, d = 2) { return x === undefined || x === null || Number.isNaN(x) ? '-' : Number(x).toFixed(d); }

async function parent() {
    const models = path.resolve(arg('--models', path.join(ROOT, 'build', 'bench')));
    const browser = process.argv.includes('--browser');
    const out = path.resolve(arg('--out', path.join(ROOT, 'bench', browser ? 'results-chromium.json' : 'results.json')));
    const shapes = arg('--shapes', '700m,2b').split(',');
    const types = arg('--types', 'tq2_0,tq1_0,i2_s').split(',');
    const wanted = arg('--builds', 'scalar,simd,simd-mt,relaxed,relaxed-mt,native').split(',');
    const have = b => b === 'native' ? fs.existsSync(path.join(ROOT, 'build', 'bench', 'trit_bench_native'))
        : fs.existsSync(path.join(ROOT, 'build', 'wasm', `trit-${b}.wasm`));
    // (build, threads) runs: the -mt builds with 2 threads, native with 1 and 2
    const runs = [];
    for (const b of wanted) {
        if (!have(b)) { console.error(`skipping ${b}: not built`); continue; }
        if (browser && b === 'native') continue;
        if (b === 'native') runs.push(['native', 1], ['native', 2]);
        else runs.push([b, b.endsWith('-mt') ? 2 : 1]);
    }
    const results = { machine: machine(), date: new Date().toISOString(), n_ctx: N_CTX, models: {} };
    const session = browser ? await browserSession(models) : null;
    if (session) results.browser = session.info;
    const t0 = now();
    for (const shape of shapes)
        for (const ty of types) {
            const file = path.join(models, `${shape}.${ty}.gguf`);
            if (!fs.existsSync(file)) { console.error(`missing ${file}`); continue; }
            const key = `${shape}.${ty}`;
            results.models[key] = { file_bytes: fs.statSync(file).size, runs: {} };
            for (const [b, th] of runs) {
                const name = `${b}/${th}t`;
                if (!process.argv.includes('--full')) {
                    if (b === 'scalar' && shape !== '700m' && ty !== 'tq2_0') {
                        results.models[key].runs[name] = { skipped: 'time budget: the scalar build runs 2b in TQ2_0 only (--full for all)' };
                        continue;
                    }
                    if (b === 'native' && ty !== 'tq2_0') {
                        results.models[key].runs[name] = { skipped: 'time budget: the native reference runs the TQ2_0 models only (--full for all)' };
                        continue;
                    }
                }
                process.stderr.write(`${key} ${name} ... `);
                const r = session ? await session.run(file, b, th) : runChild(file, b, th);
                results.models[key].runs[name] = r;
                process.stderr.write(r.error ? `error: ${r.error}\n` : `${fmt(r.decode_tok_s)} tok/s\n`);
            }
        }
    if (session) await session.close();
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
            // >= 8: the step-for-step pairs of the scalar run (bench.mjs pairEngine) where it has them
            simd_over_scalar: scalar && scalar.paired ? scalar.paired.speedup : simd && scalar ? simd.decode_tok_s / scalar.decode_tok_s : null,
            simd_over_scalar_runs: simd && scalar ? simd.decode_tok_s / scalar.decode_tok_s : null,  // the two runs' decode tok/s
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
