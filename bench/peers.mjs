// peers.mjs: `make bench-peers` — the two peers trit is compared against, on the same GGUF files the
// wasm benchmark generates (bench/make_models.py, build/bench), then trit's own relaxed / relaxed-mt
// builds on the same files in the same session (bench/bench.mjs), so that ours / peer is a ratio taken
// within one run. Writes bench/peers.json and prints a table; docs/bench.md ("Peers") explains it.
//
//   node bench/peers.mjs [--models build/bench,build/bench-peers] [--out bench/peers.json] [--peers nlc,wllama]
//                        [--nlc-models 700m.tq2_0,...] [--wllama-models 700m.tq2_0,...] [--threads 1,2]
//                        [--nlc-decode 32] [--wllama-decode 8] [--no-ours]
//
// --threads defaults to 1: on the shared 2-vCPU host the 2-thread rows compare one side's luck with the
// other's (docs/bench.md, "Peers"), and the 1-thread set keeps `make bench` within its 15 minutes;
// `--threads 1,2` (or PEERS_ARGS="--threads 1,2") adds them.
//
// Peers (installed by `make bench-peers` into bench/peers/node_modules, not the root package):
//  - node-llama-cpp: llama.cpp's prebuilt native CPU binary (@node-llama-cpp/linux-x64), loaded with
//    build 'never' / skipDownload / gpu false, so it never builds, downloads or offloads. Each (model,
//    threads) runs in its own child process (`--child-nlc`): load (useMmap false: the file is read into
//    memory, as trit's loader does), a 16-token prompt, then greedy decoding (temperature 0) of N tokens.
//  - @wllama/wllama: llama.cpp compiled to wasm, in headless chromium (playwright-core, /usr/bin/chromium)
//    on a page (bench/peers/wllama.html) served from 127.0.0.1 with COOP/COEP (tools/serve.mjs), so its
//    pthread build runs with n_threads 2; n_threads 1 runs without pthreads. Requests to anything but the
//    local server are aborted (and counted). Figures are llama.cpp's own server timings
//    (prompt_per_second, predicted_per_second) of one createCompletion with ignore_eos, cache_prompt false.
// Both: context 256, llama.cpp's defaults otherwise (flash attention auto, F16 KV). The prompt is a
// 12-letter string that these models' vocabulary tokenizes into 15 byte tokens + BOS = 16 tokens.
// llama.cpp has neither bitnet.cpp's I2_S type nor its `bitnet-b1.58` arch: such files are tried once
// (load only) and recorded with llama.cpp's error; the `2b-bitnet` shape (the 2b tensors under arch
// `bitnet`; in build/bench-peers, so that the other benchmarks, which take every build/bench/*.gguf, do
// not run it) is the 2b comparison. --models lists directories, searched in order. Random models: the generated tokens are arbitrary; throughput is what
// is measured. Nothing here asserts timings.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { arg, median } from './lib.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const PEERS = path.join(HERE, 'peers');
const NM = path.join(PEERS, 'node_modules');

const N_CTX = 256;
const PROMPT = 'abcdefghijkl';   // <s> + '▁' (3 byte tokens) + 12 byte tokens = 16 tokens
const PROMPT_TOKENS = 16;

const list = (name, dflt) => arg(name, dflt).split(',').filter(Boolean);
const now = () => performance.now();
const pkgVersion = dir => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;

// ---- child: node-llama-cpp, one model, one thread count ---------------------------------------------

async function childNlc() {
    const file = arg('--model'), threads = Number(arg('--threads', '1')), nDecode = Number(arg('--decode', '32'));
    const rounds = Number(arg('--rounds', '1')), capMs = Number(arg('--decode-cap-s', '10')) * 1e3;
    const { getLlama, LlamaLogLevel } = await import(pathToFileURL(path.join(NM, 'node-llama-cpp', 'dist', 'index.js')).href);
    const logs = [];
    let t = now();
    const llama = await getLlama({
        gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false,
        maxThreads: 0,   // 0: a context's `threads` is the number of threads used, not a hint
        // debug: the line naming the CPU backend variant ggml picked is below info
        logLevel: LlamaLogLevel.debug,
        logger: (level, msg) => { if (process.env.PEERS_DEBUG) process.stderr.write(`${level}: ${msg}\n`); if ((level === 'error' || /CPU backend/.test(msg)) && logs.length < 200) logs.push(`${level}: ${msg}`); },
    });
    const initS = (now() - t) / 1e3;
    const env = { init_s: initS, gpu: llama.gpu, build_type: llama.buildType, llama_cpp_release: llama.llamaCppRelease, system_info: llama.systemInfo.trim() };
    // the CPU variant ggml picked (the log line may arrive after getLlama resolved: read at the end)
    const backend = () => { const m = logs.join('\n').match(/loaded CPU backend from (\S+)/); return m ? path.basename(m[1]) : null; };
    let model;
    t = now();
    try {
        model = await llama.loadModel({ modelPath: file, gpuLayers: 0, useMmap: false });
    } catch (e) {
        await new Promise(r => setTimeout(r, 500));   // llama.cpp's log lines arrive after the rejection
        const why = [...new Set(logs.filter(l => l.startsWith('error:')).map(l => l.slice(7).trim()))];
        process.stdout.write(JSON.stringify({ ...env, cpu_backend: backend(), error: why.length ? why.join(' | ') : String(e.message || e) }) + '\n');
        return;
    }
    const loadS = (now() - t) / 1e3;
    const ctx = await model.createContext({ contextSize: N_CTX, threads: { ideal: threads, min: threads } });
    const seq = ctx.getSequence();
    const prompt = [model.tokens.bos, ...model.tokenize(PROMPT)];
    // prefill = the 16-token prompt up to the first sampled token; decode = the intervals between the
    // following tokens (one llama_decode of one token + greedy sampling each). `rounds` times, the
    // sequence cleared in between; cpu_over_wall = process CPU time / wall time while decoding (2 when
    // both threads really ran, less when the shared host took a vCPU away)
    const rs = [];
    let tokens;
    for (let r = 0; r < rounds; r++) {
        await seq.clearHistory();
        const stamps = [];
        tokens = [];
        let c0;
        t = now();
        for await (const tok of seq.evaluate(prompt, { temperature: 0 })) {
            stamps.push(now());
            if (!c0) c0 = process.cpuUsage();
            tokens.push(tok);
            // a round decodes nDecode tokens or stops after capMs (a starved 2-thread run: see docs/bench.md)
            if (tokens.length >= nDecode + 1 || stamps[stamps.length - 1] - stamps[0] > capMs) break;
        }
        const c = process.cpuUsage(c0);
        const decodeS = (stamps[stamps.length - 1] - stamps[0]) / 1e3;
        rs.push({ prefill_tok_s: prompt.length / ((stamps[0] - t) / 1e3), decode_tok_s: (tokens.length - 1) / decodeS, decode_tokens: tokens.length - 1,
            cpu_over_wall: (c.user + c.system) / 1e6 / decodeS });
    }
    const out = {
        ...env, cpu_backend: backend(), threads: ctx.currentThreads, load_s: loadS, flash_attention: ctx.flashAttention,
        prefill_tokens: prompt.length, decode_tokens: tokens.length - 1, ...summarize(rs),
        first_tokens: tokens.slice(0, 8), max_rss_mb: process.resourceUsage().maxRSS / 1024,
        proc_cpu_s: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
    };
    await ctx.dispose();
    await model.dispose();
    await llama.dispose();
    process.stdout.write(JSON.stringify(out) + '\n');
}

// best and median of rounds: { prefill_tok_s, decode_tok_s (the best), *_median, rounds: [...] }
function summarize(rs) {
    const o = { rounds: rs };
    for (const k of ['prefill_tok_s', 'decode_tok_s']) {
        const v = rs.map(r => r[k]).filter(x => Number.isFinite(x));
        o[k] = v.length ? Math.max(...v) : null;
        o[k.replace('_tok_s', '_median_tok_s')] = v.length ? median(v) : null;
    }
    return o;
}

function runNlc(file, threads, nDecode, rounds = 1) {
    const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--child-nlc', '--model', file,
        '--threads', String(threads), '--decode', String(nDecode), '--rounds', String(rounds)],
        { encoding: 'utf8', timeout: 600e3, env: { ...process.env, NODE_LLAMA_CPP_SKIP_DOWNLOAD: 'true' } });
    const last = (r.stdout || '').trim().split('\n').pop();
    if (r.status !== 0 || !last || last[0] !== '{')
        return { error: `exit ${r.status}: ` + (r.stderr || String(r.error || '')).trim().split('\n').slice(-3).join(' | ') };
    return JSON.parse(last);
}

// ---- wllama in headless chromium --------------------------------------------------------------------

async function runWllama(models, threadsList, nDecode, rounds, dirs) {
    const { startServer } = await import(pathToFileURL(path.join(ROOT, 'tools', 'serve.mjs')).href);
    const { launchChromium } = await import(pathToFileURL(path.join(ROOT, 'tests', 'browser', 'lib.mjs')).href);
    const srv = await startServer({
        root: PEERS, mounts: { '/wllama/': path.join(NM, '@wllama', 'wllama'), ...Object.fromEntries(dirs.map((d, i) => [`/models${i}/`, d])) },
    });
    const out = [];
    let chromium = null;
    try {
        for (const key of models)
            for (const threads of threadsList) {
                const file = findModel(dirs, key);
                const row = { peer: 'wllama', model: key, threads };
                if (!file) { out.push({ ...row, skipped: `missing ${key}.gguf` }); continue; }
                process.stderr.write(`wllama ${key} ${threads}t ... `);
                const cpu0 = hostCpu(), t0 = now();
                // a fresh browser per run: its memory (the model is copied into the wasm heap) is its own
                const { context, page, close, logs } = await launchChromium({ timeout: 600e3 });
                const blocked = [];
                await context.route('**/*', r => {
                    if (r.request().url().startsWith(srv.url + '/')) return r.continue();
                    blocked.push(r.request().url());
                    return r.abort();
                });
                try {
                    chromium = context.browser() ? context.browser().version() : chromium;
                    await page.goto(`${srv.url}/wllama.html`);
                    await page.waitForFunction(() => window.benchReady === true);
                    const isolated = await page.evaluate(() => crossOriginIsolated);
                    const r = await page.evaluate(a => window.benchWllama(a),
                        { model: `/models${dirs.indexOf(path.dirname(file))}/${key}.gguf`, threads, nCtx: N_CTX, decode: nDecode, prompt: PROMPT, rounds });
                    const rs = r.runs.map(x => ({
                        prefill_tok_s: x.timings.prompt_per_second, decode_tok_s: x.timings.predicted_per_second,
                        prefill_tokens: x.timings.prompt_n, decode_tokens: x.timings.predicted_n, wall_s: x.wall_ms / 1e3,
                    }));
                    const s = summarize(rs);
                    out.push({
                        ...row, threads_used: r.info.threads, multithread: r.info.multithread, cross_origin_isolated: isolated,
                        libllama: r.info.libllama, fetch_s: r.fetch_ms / 1e3, load_s: r.load_ms / 1e3,
                        prefill_tokens: rs[0].prefill_tokens, decode_tokens: rs[0].decode_tokens, ...s, blocked_requests: blocked.length,
                        host_cpu_s: hostCpuSince(cpu0, t0),
                    });
                    process.stderr.write(`${fmt(s.decode_tok_s)} tok/s\n`);
                } catch (e) {
                    out.push({ ...row, error: String(e.message || e).split('\n')[0], log_tail: logs.slice(-5) });
                    process.stderr.write(`error: ${String(e.message || e).split('\n')[0]}\n`);
                } finally {
                    await close();
                }
            }
    } finally {
        await srv.close();
    }
    return { runs: out, chromium };
}

// ---- parent -----------------------------------------------------------------------------------------

// the host's CPU time while a run ran, from /proc/stat: the other tenants' share shows as steal (VM
// neighbours) or nice (the background training job); seconds summed over both vCPUs
function hostCpu() {
    try {
        const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
        return { user: f[0], nice: f[1], system: f[2], idle: f[3], steal: f[7] || 0 };
    } catch { return null; }
}
function hostCpuSince(a, t) {
    const b = hostCpu(), hz = 100;   // USER_HZ
    if (!a || !b) return null;
    const d = k => +((b[k] - a[k]) / hz).toFixed(2);
    return { wall: +((now() - t) / 1e3).toFixed(2), user: d('user'), nice: d('nice'), system: d('system'), idle: d('idle'), steal: d('steal') };
}
function withHostCpu(fn) {
    const a = hostCpu(), t = now();
    const r = fn();
    return { ...r, host_cpu_s: hostCpuSince(a, t) };
}

const findModel = (dirs, key) => dirs.map(d => path.join(d, `${key}.gguf`)).find(f => fs.existsSync(f));

function fmt(x, d = 2) { return x === undefined || x === null || Number.isNaN(x) ? '-' : Number(x).toFixed(d); }

function machine() {
    let cpu = '';
    try { cpu = (fs.readFileSync('/proc/cpuinfo', 'utf8').match(/model name\s*:\s*(.*)/) || [])[1] || ''; } catch { /* not Linux */ }
    return { cpu, cpus: os.cpus().length, node: process.version, background_cpus_start: backgroundCpus() };
}

// vCPUs busy with other tenants' work while this process sleeps 2 s (the shared host: 0 = idle machine)
function backgroundCpus() {
    const a = hostCpu(), t = now();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 2000);
    const d = hostCpuSince(a, t);
    return d ? +((d.user + d.nice + d.system) / d.wall).toFixed(2) : null;
}

function gitRev() {
    const r = spawnSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout.trim() : null;
}

async function parent() {
    const dirs = list('--models', 'build/bench,build/bench-peers').map(d => path.resolve(ROOT, d));
    const outFile = path.resolve(arg('--out', path.join(ROOT, 'bench', 'peers.json')));
    const peers = list('--peers', 'nlc,wllama');
    const threadsList = list('--threads', '1').map(Number);
    const nlcDecode = Number(arg('--nlc-decode', '32')), wlDecode = Number(arg('--wllama-decode', '8'));
    const rounds = { 'node-llama-cpp': Number(arg('--nlc-rounds', '3')), wllama: Number(arg('--wllama-rounds', '2')), trit: Number(arg('--ours-rounds', '2')) };
    if (!fs.existsSync(NM)) throw new Error(`${NM} missing: run \`make bench-peers\` (it runs npm install in bench/peers)`);
    const res = {
        date: new Date().toISOString(), machine: machine(), trit_commit: gitRev(), n_ctx: N_CTX,
        prompt: { text: PROMPT, tokens: PROMPT_TOKENS }, decode_tokens: { 'node-llama-cpp': nlcDecode, wllama: wlDecode, trit: 8 }, rounds,
        versions: {
            'node-llama-cpp': pkgVersion(path.join(NM, 'node-llama-cpp')),
            '@node-llama-cpp/linux-x64': pkgVersion(path.join(NM, '@node-llama-cpp', 'linux-x64')),
            '@wllama/wllama': pkgVersion(path.join(NM, '@wllama', 'wllama')),
        },
        runs: [], unsupported: [], ours: [], ratios: [],
    };
    const t0 = now();
    if (peers.includes('nlc')) {
        for (const key of list('--nlc-models', '700m.tq2_0,700m.tq1_0,2b-bitnet.tq2_0,2b-bitnet.tq1_0'))
            for (const threads of threadsList) {
                const file = findModel(dirs, key);
                const row = { peer: 'node-llama-cpp', model: key, threads };
                if (!file) { res.runs.push({ ...row, skipped: `missing ${key}.gguf` }); continue; }
                process.stderr.write(`node-llama-cpp ${key} ${threads}t ... `);
                const r = withHostCpu(() => runNlc(file, threads, nlcDecode, rounds['node-llama-cpp']));
                if (r.system_info) {
                    res.versions.llama_cpp_release = r.llama_cpp_release; res.versions.cpu_backend = r.cpu_backend;
                    res.versions.system_info = r.system_info;
                }
                const { system_info, llama_cpp_release, ...keep } = r;
                res.runs.push({ ...row, ...keep });
                process.stderr.write(r.error ? `error: ${r.error}\n` : `${fmt(r.decode_tok_s)} tok/s\n`);
            }
        // what llama.cpp cannot load: tried once, load only, its error recorded
        for (const key of list('--nlc-unsupported', '2b.tq2_0,700m.i2_s')) {
            const file = findModel(dirs, key);
            if (!file) { res.unsupported.push({ peer: 'node-llama-cpp', model: key, skipped: `missing ${key}.gguf` }); continue; }
            const r = runNlc(file, 1, 1);
            res.unsupported.push({ peer: 'node-llama-cpp', model: key, error: r.error || null, loaded: !r.error });
        }
    }
    if (peers.includes('wllama')) {
        const w = await runWllama(list('--wllama-models', '700m.tq2_0,2b-bitnet.tq2_0'), threadsList, wlDecode, rounds.wllama, dirs);
        res.runs.push(...w.runs);
        res.versions.chromium = w.chromium;
        const lib = w.runs.find(r => r.libllama);
        if (lib) res.versions.wllama_libllama = lib.libllama;
    }
    res.peers_elapsed_s = (now() - t0) / 1e3;
    if (!process.argv.includes('--no-ours')) ours(res, dirs, rounds.trit, threadsList);
    res.machine.background_cpus_end = backgroundCpus();
    res.elapsed_s = (now() - t0) / 1e3;
    fs.writeFileSync(outFile, JSON.stringify(res, null, 1) + '\n');
    printTable(res);
    console.log(`\nwrote ${outFile} (${fmt(res.elapsed_s, 0)} s)`);
}

// trit's relaxed (1 thread) and relaxed-mt (2 threads) builds on the same files, right after the peers
// (bench/bench.mjs once per model; plus 2b TQ2_0, the one docs/bench.md reports)
function ours(res, dirs, rounds, threadsList) {
    const builds = threadsList.map(t => (t === 1 ? 'relaxed' : 'relaxed-mt')).join(',');
    const keys = [...new Set(res.runs.filter(r => !r.error && !r.skipped).map(r => r.model).concat(['2b.tq2_0']))];
    const acc = new Map();   // 'model build' -> { row, rounds: [...] }
    for (let round = 0; round < rounds; round++)
        for (const key of keys) {
            const file = findModel(dirs, key);
            if (!file) continue;
            const dir = path.dirname(file), [shape, type] = key.split('.');
            const tmp = path.join(dir, 'peers-ours.json');
            process.stderr.write(`trit (round ${round + 1}/${rounds}): bench/bench.mjs --models ${path.relative(ROOT, dir)} --shapes ${shape} --types ${type} --builds ${builds}\n`);
            const cpu0 = hostCpu(), t0 = now();
            const r = spawnSync(process.execPath, [path.join(HERE, 'bench.mjs'), '--models', dir, '--out', tmp,
                '--shapes', shape, '--types', type, '--builds', builds],
                { stdio: ['ignore', 'ignore', 'inherit'], timeout: 1200e3 });
            const hostCpuS = hostCpuSince(cpu0, t0);   // both builds of this model together
            if (r.status !== 0 || !fs.existsSync(tmp)) { acc.set(`${key} ?${round}`, { row: { peer: 'trit', model: key, error: `bench.mjs exit ${r.status}` } }); continue; }
            const b = JSON.parse(fs.readFileSync(tmp, 'utf8'));
            fs.rmSync(tmp);
            for (const [k, m] of Object.entries(b.models))
                for (const [run, x] of Object.entries(m.runs)) {
                    const id = `${k} ${run}`;
                    if (x.error || x.skipped) { acc.set(`${id} ?${round}`, { row: { peer: `trit ${run}`, model: k, error: x.error || x.skipped } }); continue; }
                    if (!acc.has(id)) acc.set(id, { row: { peer: `trit ${x.build}`, model: k, threads: x.threads, load_s: x.load_s,
                        prefill_tokens: x.prefill_tokens, decode_tokens: x.decode_tokens }, rounds: [] });
                    acc.get(id).rounds.push({ prefill_tok_s: x.prefill_tok_s, decode_tok_s: x.decode_tok_s, load_s: x.load_s, roofline: x.roofline, host_cpu_s: hostCpuS });
                }
        }
    for (const { row, rounds: rs } of acc.values()) res.ours.push(rs ? { ...row, ...summarize(rs) } : row);
    for (const p of res.runs) {
        if (p.error || p.skipped) continue;
        const o = res.ours.find(x => x.model === p.model && x.threads === p.threads && !x.error);
        if (!o) continue;
        res.ratios.push({
            model: p.model, threads: p.threads, ours: o.peer, peer: p.peer,
            decode: o.decode_tok_s / p.decode_tok_s, prefill: o.prefill_tok_s / p.prefill_tok_s,   // best of rounds
            decode_median: o.decode_median_tok_s / p.decode_median_tok_s, prefill_median: o.prefill_median_tok_s / p.prefill_median_tok_s,
        });
    }
}

function printTable(res) {
    const cols = ['peer', 'model', 'threads', 'load s', 'prefill t/s', '(median)', 'decode t/s', '(median)', 'tokens', 'rounds'];
    const rows = [cols];
    for (const r of [...res.runs, ...res.ours]) {
        if (r.error || r.skipped) { rows.push([r.peer, r.model, r.threads, (r.error ? 'error: ' + r.error : 'skipped: ' + r.skipped).slice(0, 90)]); continue; }
        rows.push([r.peer, r.model, r.threads, fmt(r.load_s), fmt(r.prefill_tok_s), fmt(r.prefill_median_tok_s), fmt(r.decode_tok_s),
            fmt(r.decode_median_tok_s), `${r.prefill_tokens}+${r.decode_tokens}`, r.rounds ? r.rounds.length : '']);
    }
    const w = cols.map((_, i) => Math.max(...rows.map(r => String(r[i] ?? '').length)));
    for (const r of rows) console.log(r.map((c, i) => String(c ?? '').padEnd(w[i])).join('  '));
    if (res.unsupported.length) {
        console.log('\nnot loadable by llama.cpp:');
        for (const u of res.unsupported) console.log(`  ${u.peer} ${u.model}: ${u.error || u.skipped || 'loaded'}`);
    }
    if (res.ratios.length) {
        console.log('\nours / peer (same file, same thread count, this run; best of rounds, median in brackets):');
        for (const q of res.ratios)
            console.log(`  ${q.model.padEnd(16)} ${q.threads}t  ${(q.ours + ' / ' + q.peer).padEnd(32)}  decode x${fmt(q.decode)} (${fmt(q.decode_median)})` +
                `  prefill x${fmt(q.prefill)} (${fmt(q.prefill_median)})`);
    }
    console.log('\n' + Object.entries(res.versions).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('\n'));
}

if (process.argv.includes('--child-nlc')) await childNlc();
else await parent();
