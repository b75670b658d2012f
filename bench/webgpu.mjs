// webgpu.mjs: WebGPU backend benchmark: prefill and decode tokens/s (and the cost of verifying K
// tokens in one pass), per model, labelled with the adapter that ran it. Writes JSON and a table.
//
//   node bench/webgpu.mjs [--chromium] [--node] [--model PATH]... [--prefill N] [--decode N]
//                         [--seconds S] [--out FILE] [--lanes gpu|cpu]
//
// Default: both environments where they work (headless chromium with --enable-unsafe-webgpu; Node
// with the npm `webgpu` package), models: the oracle's tiny TQ2_0/TQ1_0 files, the generated I2_S
// model (tests/webgpu/make_models.py) and every build/bench/*.gguf (the wasm bench's real shapes).
// SwiftShader (what a machine without a GPU gets) proves correctness only: its numbers are CPU
// emulation, and models over 64 MB (the real shapes) are skipped on it (recorded as `skipped`): on this
// host they took many minutes each inside `make bench`. On a machine with a GPU and its Vulkan driver, run the same benchmark in Node with:
//   npm ci && make wasm && node bench/webgpu.mjs --node --model path/to/model.gguf
// (without the VK_ICD_FILENAMES override mk/webgpu.mk sets, so Dawn picks the real driver).
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORACLE = process.env.TRIT_ORACLE || path.resolve(ROOT, '../shared/oracle');

/** One model, self-contained so it runs in Node and (serialized by playwright) in a page.
 * a: { base (URL or file URL prefix of the repo), model (URL or path), prefill, decode, seconds, lanes, node } */
async function benchModel(a) {
    const { loadTrit } = await import(a.base + 'js/wasm.mjs');
    const { WebGPUForward, requestAdapter, describeAdapter, isCpuAdapter } = await import(a.base + 'js/webgpu/index.mjs');
    const now = () => performance.now();
    const adapter = await requestAdapter();
    if (!adapter) return { error: 'no WebGPU adapter' };
    // a software adapter (SwiftShader: CPU emulation, correctness only) would take many minutes on the
    // wasm bench's real shapes and say nothing about GPUs: those run on a real adapter only
    if (isCpuAdapter(adapter) && a.size > 64 * 2 ** 20)
        return { adapter: describeAdapter(adapter), skipped: `software adapter: ${Math.round(a.size / 2 ** 20)} MB model skipped (real shapes run on a GPU)` };
    const T = await loadTrit();
    const t0 = now();
    const f = a.node ? T.readModelFile(a.model) : await T.fetchModel(a.model);
    const m = T.exports.trit_wasm_model_load(f.ptr, f.size) >>> 0;
    if (!m) throw new Error(`${a.model}: ${T.lastError()}`);
    const tLoad = now() - t0;
    const nPre = a.prefill, nDec = a.decode;
    const g = await WebGPUForward.create(T, m, { adapter, nCtx: nPre + nDec + 64, lanes: a.lanes });
    const tUpload = now() - t0 - tLoad;
    const V = T.exports.trit_model_n_vocab(m);
    const ids = Array.from({ length: nPre }, (_, i) => 1 + (i * 7919) % (V - 1));
    await g.decode(ids.slice(0, 4), 'argmax');     // warm up: shader compilation, first dispatches
    g.truncate(0);
    let t = now();
    await g.decode(ids, 'argmax');
    const prefill = nPre / ((now() - t) / 1000);
    // decode: one token per forward, greedy token read back (4 bytes), until N tokens or the time budget
    let tok = 5, n = 0;
    t = now();
    while (n < nDec && now() - t < a.seconds * 1000) { tok = (await g.decode([tok], 'argmax'))[0]; n++; }
    const decode = n / ((now() - t) / 1000);
    // the same with the whole logits row read back (what sampling with temperature needs)
    let nl = 0;
    t = now();
    while (nl < Math.min(nDec, 8) && now() - t < a.seconds * 500) { await g.decode([tok], 'last'); nl++; }
    const decodeLogits = nl / ((now() - t) / 1000);
    // verifying K drafted tokens in one pass, relative to one decode
    const verify = {};
    for (const K of [1, 2, 4, 8]) {
        const p = g.pos;
        let reps = 0;
        t = now();
        while (reps < 3 && now() - t < a.seconds * 300) { await g.decode(ids.slice(0, K), 'argmax-all'); g.truncate(p); reps++; }
        verify[K] = (now() - t) / reps;
    }
    for (const K of [2, 4, 8]) verify[K] = +(verify[K] / verify[1]).toFixed(2);
    verify[1] = 1;
    const info = g.info();
    g.destroy();
    T.exports.trit_model_free(m);
    return {
        adapter: describeAdapter(adapter), kv: info.kv, dot4: info.dot4, lanes: g.cpu ? 'cpu' : 'gpu',
        weight_bytes: info.weightBytes, load_ms: Math.round(tLoad), upload_ms: Math.round(tUpload),
        prefill_tok_s: +prefill.toFixed(2), prefill_tokens: nPre, decode_tok_s: +decode.toFixed(2), decode_tokens: n,
        decode_logits_tok_s: +decodeLogits.toFixed(2), verify_cost_vs_1: verify,
    };
}

function parse(argv) {
    const a = { envs: [], models: [], prefill: 64, decode: 32, seconds: 20, out: path.join(ROOT, 'bench/webgpu-results.json'), lanes: undefined };
    for (let i = 0; i < argv.length; i++) {
        const k = argv[i], v = argv[i + 1];
        if (k === '--chromium') a.envs.push('chromium');
        else if (k === '--node') a.envs.push('node');
        else if (k === '--model') { a.models.push(path.resolve(v)); i++; }
        else if (k === '--prefill') { a.prefill = +v; i++; }
        else if (k === '--decode') { a.decode = +v; i++; }
        else if (k === '--seconds') { a.seconds = +v; i++; }
        else if (k === '--out') { a.out = path.resolve(v); i++; }
        else if (k === '--lanes') { a.lanes = v; i++; }
        else { console.error(`unknown option ${k}`); process.exit(2); }
    }
    if (!a.envs.length) a.envs = ['chromium', 'node'];
    if (!a.models.length) {
        a.models = ['bitnet-tiny-spm.tq2_0', 'llama-tiny-spm.tq1_0'].map(n => path.join(ORACLE, 'models', n + '.gguf'));
        const gen = path.join(ROOT, 'build/webgpu/b158-i2s.gguf');
        if (fs.existsSync(gen)) a.models.push(gen);
        const bd = path.join(ROOT, 'build/bench');
        if (fs.existsSync(bd)) for (const f of fs.readdirSync(bd).sort()) if (f.endsWith('.gguf')) a.models.push(path.join(bd, f));
    }
    return a;
}

async function runNode(a) {
    const out = [];
    for (const model of a.models) {
        try {
            out.push({ env: 'node', model: path.basename(model), ...await benchModel({ ...a, base: pathToFileURL(ROOT + '/').href, model, node: true, size: fs.statSync(model).size }) });
        } catch (e) {
            out.push({ env: 'node', model: path.basename(model), error: String(e && e.message || e) });
        }
        console.error(JSON.stringify(out[out.length - 1]));
    }
    return out;
}

async function runChromium(a) {
    const { startServer, launchChromium } = await import(pathToFileURL(path.join(ROOT, 'tests/browser/lib.mjs')).href);
    const mounts = { '/oracle/': ORACLE };
    const urlOf = (p, i) => {
        if (p.startsWith(ROOT + '/')) return '/' + path.relative(ROOT, p);
        if (p.startsWith(ORACLE + '/')) return '/oracle/' + path.relative(ORACLE, p);
        mounts[`/m${i}/`] = path.dirname(p);
        return `/m${i}/${path.basename(p)}`;
    };
    const urls = a.models.map(urlOf);
    const srv = await startServer({ root: ROOT, mounts });
    const b = await launchChromium({ webgpu: true, timeout: 3600000 });
    const out = [];
    try {
        fs.writeFileSync(path.join(ROOT, 'build/webgpu/bench.html'), '<!doctype html><meta charset="utf-8"><title>bench</title>');
        await b.page.goto(`${srv.url}/build/webgpu/bench.html`);
        for (let i = 0; i < a.models.length; i++) {
            try {
                const r = await b.page.evaluate(benchModel, { ...a, base: `${srv.url}/`, model: `${srv.url}${urls[i]}`, node: false, size: fs.statSync(a.models[i]).size });
                out.push({ env: 'chromium', model: path.basename(a.models[i]), ...r });
            } catch (e) {
                out.push({ env: 'chromium', model: path.basename(a.models[i]), error: String(e && e.message || e).split('\n')[0] });
            }
            console.error(JSON.stringify(out[out.length - 1]));
        }
    } finally {
        await b.close();
        await srv.close();
    }
    return out;
}

const a = parse(process.argv.slice(2));
fs.mkdirSync(path.join(ROOT, 'build/webgpu'), { recursive: true });
let results = [];
for (const env of a.envs) results = results.concat(env === 'node' ? await runNode(a) : await runChromium(a));
const doc = {
    note: 'SwiftShader rows are CPU emulation of a GPU: they prove correctness only, not speed.',
    date: new Date().toISOString(), prefill_tokens: a.prefill, results,
};
fs.writeFileSync(a.out, JSON.stringify(doc, null, 2) + '\n');
const cols = ['env', 'model', 'adapter', 'prefill_tok_s', 'decode_tok_s', 'decode_logits_tok_s', 'verify_cost_vs_1', 'upload_ms'];
console.log(cols.join(' | '));
for (const r of results) console.log(cols.map(c => r.error && c === 'adapter' ? `error: ${r.error}` : r.skipped && c === 'prefill_tok_s' ? `skipped: ${r.skipped}` : typeof r[c] === 'object' ? JSON.stringify(r[c]) : r[c] ?? '').join(' | '));
console.log(`wrote ${path.relative(process.cwd(), a.out)}`);
process.exit(0);
