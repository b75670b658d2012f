// cases.mjs: the WebGPU-vs-wasm conformance checks, written once and run both in Node (npm `webgpu`,
// Dawn) and in headless chromium (tests/browser/webgpu.test.mjs serves tests/browser/webgpu.html,
// which imports this file). Every check compares the WebGPU engine against the wasm core on the same
// model, with the same KV type and the same activation quantization, and (for the oracle files)
// against llama.cpp's stored logits and greedy tokens.
//
// env: { loadTrit, WebGPUForward, fitsAdapter, json(rel), text(rel), f32(rel), model(T, rel) -> {ptr, size} }
//   rel paths: 'oracle/...' (../shared/oracle) or 'gen/...' (models from tests/webgpu/make_models.py).
// runAll(env, opts) -> [{ name, ok, msg, metrics }]; opts.only: substring filter; opts.log(line).

export const ORACLE_FILES = ['bitnet-tiny-spm', 'bitnet-tiny-bpe', 'llama-tiny-spm']
    .flatMap(f => ['f32', 'f16', 'tq2_0', 'tq1_0'].map(t => `${f}.${t}`));
export const GEN_FILES = ['b158-i2s', 'bitnet-q8e', 'bitnet-q6e', 'llama-bias'];

// bars (docs/webgpu.md lists what we measure against them)
const BAR = {
    f32: { max: 1e-3 },                     // f32 weights, f32 KV: float math only
    f16: { rms: 0.005, max: 0.05 },         // f16 weights round activations to f16 (flip-sensitive)
    ternary: { rms: 0.02 },                 // TQ1_0/TQ2_0/I2_S, same Q8_K / int8 activations as wasm
    other: { rms: 0.02 },                   // Q8_0/Q6_K matrices
    kvF16: { rms: 0.02 },                   // any weights with the f16 KV cache (q and p rounded to f16)
};

const TOK_ADD_SPECIAL = 1, LOGITS_ALL = 2, LOGITS_LAST = 1;

function compare(a, b, V) {
    let ss = 0, mx = 0, top = 0, nan = false;
    const n = a.length / V;
    for (let t = 0; t < n; t++) {
        let ia = 0, ib = 0;
        for (let i = 0; i < V; i++) {
            const d = Math.abs(a[t * V + i] - b[t * V + i]);
            ss += d * d;
            if (d > mx) mx = d;
            else if (d !== d) nan = true;
            if (a[t * V + i] > a[t * V + ia]) ia = i;
            if (b[t * V + i] > b[t * V + ib]) ib = i;
        }
        if (ia === ib) top++;
    }
    return { max: nan ? NaN : mx, rms: Math.sqrt(ss / a.length), top1: top / n };
}

function top2(row) {
    let a = 0, b = -1;
    for (let i = 1; i < row.length; i++) {
        if (row[i] > row[a]) { b = a; a = i; } else if (b < 0 || row[i] > row[b]) b = i;
    }
    return { tok: a, margin: row[a] - row[b] };
}

/** The wasm core: model + context helpers used by the checks. */
class Wasm {
    constructor(T, m) { this.T = T; this.m = m; this.X = T.exports; this.V = this.X.trit_model_n_vocab(m); }
    tokenize(text) {
        const T = this.T, s = T.bytesIn(text), out = T.malloc(4 * 4096);
        try {
            const n = this.X.trit_tokenize(this.m, s.ptr, s.len, out, 4096, TOK_ADD_SPECIAL);
            if (n < 0) throw new Error(T.lastError());
            return Array.from(T.i32.subarray(out / 4, out / 4 + n));
        } finally { T.free(s.ptr); T.free(out); }
    }
    ctx(nCtx, kv) {
        const c = this.X.trit_wasm_ctx_init(this.m, nCtx, 0, kv === 'f32' ? 1 : 0) >>> 0;
        if (!c) throw new Error(this.T.lastError());
        return c;
    }
    decode(c, ids, all) {
        const T = this.T, V = this.V, n = ids.length;
        const ip = T.malloc(n * 4), lp = T.malloc((all ? n : 1) * V * 4);
        try {
            T.i32.set(ids, ip / 4);
            if (this.X.trit_ctx_decode(c, ip, n, lp, all ? LOGITS_ALL : LOGITS_LAST) !== 0) throw new Error(T.lastError());
            return T.f32.slice(lp / 4, lp / 4 + (all ? n : 1) * V);
        } finally { T.free(ip); T.free(lp); }
    }
}

/** Runs one model: every prompt, prompt logits and greedy continuation, GPU vs wasm (and llama.cpp). */
async function checkModel(env, T, rel, o, push) {
    const file = await env.model(T, rel);
    const X = T.exports;
    const m = X.trit_wasm_model_load(file.ptr, file.size) >>> 0;
    if (!m) throw new Error(`load ${rel}: ${T.lastError()}`);
    const W = new Wasm(T, m), V = W.V;
    const base = rel.split('/').pop().replace('.gguf', '');
    const wtype = base.split('.')[1] || '';
    let gpu = null;
    try {
        gpu = await env.WebGPUForward.create(T, m, { nCtx: 128, kv: o.kv, ...(o.engine || {}) });
        const prompts = o.prompts;
        for (const pi of prompts) {
            const name = `${base}${o.tag ? ' ' + o.tag : ''} kv_${o.kv} p${pi}`;
            let ids, ref = null;
            if (rel.startsWith('oracle/')) {
                ref = await env.json(`oracle/ref/${base}/kv_${o.kv}/p${pi}.json`);
                const text = (await env.text('oracle/prompts.txt')).split('\n')[pi];
                ids = W.tokenize(text);
                const same = ids.length === ref.prompt_tokens.length && ids.every((t, i) => t === ref.prompt_tokens[i]);
                push({ name: `${name}: prompt ids`, ok: same, msg: same ? `${ids.length} ids = llama.cpp` : `ids ${ids} != ${ref.prompt_tokens}` });
            } else {
                ids = W.tokenize(['The quick brown fox jumps over the lazy dog.', 'Once upon a time, in a small village',
                    'You may obtain a copy of the License at'][pi]);
            }
            // prompt logits, all positions, in one decode call (chunks of 16 on the GPU)
            const c = W.ctx(128, o.kv);
            const want = W.decode(c, ids, true);
            gpu.truncate(0);
            const got = await gpu.decode(ids, 'all');
            const d = compare(got, want, V);
            const bar = o.kv === 'f16' ? BAR.kvF16 : wtype === 'f32' ? BAR.f32 : wtype === 'f16' ? BAR.f16 :
                /tq|i2s/.test(base) ? BAR.ternary : BAR.other;
            const ok = (bar.max === undefined || d.max <= bar.max) && (bar.rms === undefined || d.rms <= bar.rms) && d.max === d.max;
            push({ name: `${name}: logits vs wasm`, ok, metrics: d,
                msg: `max ${d.max.toExponential(2)} rms ${d.rms.toExponential(2)} top1 ${(100 * d.top1).toFixed(0)}% (bar ${JSON.stringify(bar)})` });
            let errRef = 0;
            if (ref && wtype === 'f32' && o.kv === 'f32') {   // f32 weights + f32 KV vs llama.cpp itself
                const lc = await env.f32(`oracle/ref/${base}/kv_f32/p${pi}.prompt_logits.f32`);
                const dr = compare(got, lc, V);
                errRef = dr.max;
                push({ name: `${name}: logits vs llama.cpp`, ok: dr.max <= 1e-3, metrics: dr, msg: `max ${dr.max.toExponential(2)}` });
            }
            // greedy continuation: GPU vs wasm while the wasm margin exceeds the measured error, and
            // vs llama.cpp's greedy tokens while its stored margin does
            const tol = Math.max(2 * d.max, 1e-4);
            const tolRef = Math.max(2 * Math.max(d.max, errRef), o.kv === 'f16' || wtype !== 'f32' ? 0.06 : 1e-3);
            let wl = want.subarray((ids.length - 1) * V), gl = got.subarray((ids.length - 1) * V);
            let same = 0, checked = 0, stop = '', refSame = 0, refChecked = 0, refStop = '';
            const nGen = o.nGreedy;
            for (let k = 0; k < nGen; k++) {
                const w = top2(wl), g = top2(gl);
                if (!stop) {
                    if (w.margin <= tol) stop = `stopped at step ${k}: margin ${w.margin.toExponential(2)} <= ${tol.toExponential(2)}`;
                    else { checked++; if (w.tok === g.tok) same++; else stop = `DIVERGED at step ${k}: gpu ${g.tok} wasm ${w.tok} (margin ${w.margin.toFixed(4)})`; }
                }
                if (ref && !refStop) {
                    if (ref.greedy_top1_top2_margin[k] <= tolRef) refStop = `stopped at step ${k}`;
                    else { refChecked++; if (ref.greedy_tokens[k] === g.tok) refSame++; else refStop = `DIVERGED at step ${k}: gpu ${g.tok} llama.cpp ${ref.greedy_tokens[k]}`; }
                }
                if (k === nGen - 1 || (stop && (!ref || refStop))) break;
                // both continue with the GPU's token so the two stay on one sequence while compared
                wl = W.decode(c, [g.tok], false);
                gl = await gpu.decode([g.tok], 'last');
            }
            X.trit_ctx_free(c);
            push({ name: `${name}: greedy vs wasm`, ok: same === checked, msg: `${same}/${checked} equal ${stop}` });
            if (ref) push({ name: `${name}: greedy vs llama.cpp`, ok: refSame === refChecked, msg: `${refSame}/${refChecked} equal ${refStop}` });
        }
        // a batch of N tokens gives the same logits as N one-token calls (speculative verification)
        if (o.batchCheck) {
            const ids = W.tokenize('Once upon a time, in a small village by the sea');
            gpu.truncate(0);
            const a = await gpu.decode(ids, 'all');
            gpu.truncate(0);
            const b = new Float32Array(a.length);
            for (let i = 0; i < ids.length; i++) b.set(await gpu.decode([ids[i]], 'last'), i * V);
            const d = compare(a, b, V);
            push({ name: `${base} kv_${o.kv}: batch == one by one`, ok: d.max === 0, msg: `max ${d.max}` });
            gpu.truncate(3);
            const am = await gpu.decode(ids.slice(3, 7), 'argmax-all');
            const want = [3, 4, 5, 6].map(i => top2(b.subarray(i * V, (i + 1) * V)).tok);
            push({ name: `${base}: argmax readback after truncate`, ok: want.every((t, i) => t === am[i]), msg: `${Array.from(am)} vs ${want}` });
        }
        if (o.compareTo) {   // another engine config must give bit-identical logits (dot4 emulation, splits)
            const ids = W.tokenize('The quick brown fox jumps over the lazy dog.');
            gpu.truncate(0);
            const a = await gpu.decode(ids, 'all');
            const other = await env.WebGPUForward.create(T, m, { nCtx: 128, kv: o.kv, ...o.compareTo.engine });
            try {
                const b = await other.decode(ids, 'all');
                const d = compare(a, b, V);
                const bar = o.compareTo.max ?? 0;
                push({ name: `${base} ${o.compareTo.tag}`, ok: d.max <= bar, msg: `max ${d.max.toExponential(2)} (bar ${bar}) ${JSON.stringify(other.info())}` });
            } finally { other.destroy(); }
        }
    } finally {
        if (gpu) gpu.destroy();
        X.trit_model_free(m);
        T.free(file.ptr);
    }
}

/** Errors and limits: clear codes, nothing changed on error, device loss fails fast. */
async function checkErrors(env, T, push) {
    const file = await env.model(T, 'oracle/models/bitnet-tiny-spm.tq2_0.gguf');
    const X = T.exports;
    const m = X.trit_wasm_model_load(file.ptr, file.size) >>> 0;
    const codeOf = async f => { try { await f(); return 'no error'; } catch (e) { return e.code || e.message; } };
    try {
        const g = await env.WebGPUForward.create(T, m, { nCtx: 32, kv: 'f32' });
        await g.decode([1, 2, 3], 'none');
        push({ name: 'errors: CTX_FULL', ok: await codeOf(() => g.decode(new Array(30).fill(5))) === 'CTX_FULL' && g.pos === 3, msg: `pos ${g.pos}` });
        push({ name: 'errors: token out of range', ok: await codeOf(() => g.decode([1000])) === 'ARG' && g.pos === 3 });
        push({ name: 'errors: bad truncate', ok: await codeOf(() => g.truncate(4)) === 'ARG' });
        const l1 = await g.decode([7], 'last');
        g.truncate(3);
        const l2 = await g.decode([7], 'last');
        push({ name: 'rollback: truncate + redo gives the same logits', ok: compare(l1, l2, 1000).max === 0 });
        // device loss mid-use: the next decode fails with DEVICE_LOST (no hang), later calls too
        const lost = new Promise(r => { g.onDeviceLost = r; });
        g.device.destroy();
        const c1 = await codeOf(() => g.decode([8], 'last'));
        await Promise.race([lost, new Promise(r => setTimeout(r, 2000))]);
        const c2 = await codeOf(() => g.decode([8], 'last'));
        push({ name: 'errors: device lost', ok: c1 === 'DEVICE_LOST' && c2 === 'DEVICE_LOST', msg: `${c1}, then ${c2}` });
        g.destroy();
        push({ name: 'errors: destroyed', ok: await codeOf(() => g.decode([1])) === 'DESTROYED' });
        // adapter limits too small for the model -> DOES_NOT_FIT before any allocation
        push({ name: 'limits: tiny binding limit does not fit', ok: await codeOf(() => env.WebGPUForward.create(T, m, { nCtx: 128, maxBindingBytes: 4096 })) === 'DOES_NOT_FIT' });
        push({ name: 'limits: memory budget', ok: await codeOf(() => env.WebGPUForward.create(T, m, { maxBytes: 1 << 20 })) === 'DOES_NOT_FIT' });
    } finally {
        X.trit_model_free(m);
        T.free(file.ptr);
    }
}

/** Everything; opts: { quick (a subset: one file per weight format, fewer tokens), only, log }.
 * Full: all 12 oracle files with an f32 KV cache (p0: prompt logits + 32 greedy tokens; p1, p2: prompt
 * logits + 8), three with the f16 cache, the generated I2_S/Q8_0/Q6_K/bias models, the GPU-lane
 * kernels, dot4 emulation, split tensors, errors. */
export async function runAll(env, opts = {}) {
    const T = await env.loadTrit();
    const results = [];
    const log = opts.log || (() => {});
    const push = r => { results.push(r); log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.name} ${r.msg || ''}`); };
    const want = n => !opts.only || n.includes(opts.only);
    const q = opts.quick;
    const run = async (rel, o) => {
        if (!want(rel + ' ' + (o.tag || '') + ' kv_' + o.kv)) return;
        try {
            const prompts = o.prompts || [0, 1, 2];
            // the first prompt gets the long greedy run, the others a short one
            if (prompts.length) await checkModel(env, T, rel, { nGreedy: q ? 12 : 32, ...o, prompts: prompts.slice(0, 1) }, push);
            if (prompts.length > 1 && !q) await checkModel(env, T, rel, { nGreedy: 8, ...o, prompts: prompts.slice(1), batchCheck: false, compareTo: null }, push);
            if (!prompts.length) await checkModel(env, T, rel, { nGreedy: 0, ...o, prompts }, push);
        } catch (e) { push({ name: `${rel} ${o.tag || ''} kv_${o.kv}`, ok: false, msg: `threw ${e && e.stack || e}` }); }
    };
    const oracle = q ? ['bitnet-tiny-spm.tq2_0', 'llama-tiny-spm.f32', 'bitnet-tiny-bpe.f16'] : ORACLE_FILES;
    for (const f of oracle) await run(`oracle/models/${f}.gguf`, { kv: 'f32' });
    for (const f of q ? ['bitnet-tiny-bpe.tq1_0'] : ['bitnet-tiny-bpe.tq1_0', 'llama-tiny-spm.f16', 'bitnet-tiny-spm.f32'])
        await run(`oracle/models/${f}.gguf`, { kv: 'f16', prompts: [0], nGreedy: 16, batchCheck: f.endsWith('tq1_0') });
    for (const f of q ? ['b158-i2s', 'bitnet-q8e'] : GEN_FILES) await run(`gen/${f}.gguf`, { kv: 'f32', prompts: [0, 1] });
    // the kernels GPUs get (wide workgroups, tree reductions) must agree with the one-thread ones
    if (!q) {
        await run('gen/bitnet-q6e.gguf', { kv: 'f16', tag: 'gpu-lanes', prompts: [0], nGreedy: 4, engine: { lanes: 'gpu' },
            compareTo: { tag: 'gpu-lanes vs cpu-lanes', engine: { lanes: 'cpu' }, max: 1e-4 } });
        await run('gen/b158-i2s.gguf', { kv: 'f32', tag: 'gpu-lanes', prompts: [0], nGreedy: 4, engine: { lanes: 'gpu' } });
    }
    // dot4I8Packed vs its emulation: integer-exact, so bit-identical logits
    await run('oracle/models/bitnet-tiny-spm.tq2_0.gguf', { kv: 'f32', tag: 'dot4', prompts: [], batchCheck: true,
        compareTo: { tag: 'dot4I8Packed == emulated dot4', engine: { dot4: false }, max: 0 } });
    // tensors split across bindings (rows) give the same logits
    await run('gen/bitnet-q8e.gguf', { kv: 'f32', tag: 'split', prompts: [],
        compareTo: { tag: 'split tensors == whole', engine: { maxBindingBytes: 65536 }, max: 0 } });
    if (want('errors')) {
        try { await checkErrors(env, T, push); }
        catch (e) { push({ name: 'errors', ok: false, msg: `threw ${e && e.stack || e}` }); }
    }
    return results;
}
