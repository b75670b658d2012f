// measure.mjs: one model on one wasm build, the measurement every figure of bench/results.json comes
// from: load, the in-module streaming read (roofline), prefill, per-step decode, verification of K
// tokens. Plain ES module with no Node imports: bench.mjs's child processes run it in Node, and its
// --browser mode runs it in a module Worker of a chromium page (bench/measure-worker.mjs), so both
// engines measure the same code path.

export const N_CTX = 256;
export const VERIFY_K = [1, 2, 4, 8];
// tokens per measurement (the prompt is also the prefill measurement): the scalar reference kernels
// are ~40x slower than the SIMD ones and the native build of the same C ~5x, so they measure fewer.
// Decode tok/s is 1 / the median of the per-step times (the shared host's bursts of other work hit a
// few steps hard; a mean over 8 steps moved by 30% between identical runs); the mean is kept too.
export const PLAN = {
    fast: { prompt: 16, decode: 16, verifyReps: 2, streamReps: 5 },
    native: { prompt: 4, decode: 2, verifyReps: 1, streamReps: 5 },
    slow: { prompt: 4, decode: 2, verifyReps: 1, streamReps: 3 },
};

const KV_BYTES = (hp, nCtx) => 2 * hp.n_layer * nCtx * hp.n_head_kv * hp.head_dim * 2;   // F16 K and V
import { benchContext, median } from './lib.mjs';

const now = () => performance.now();

function modelInfo(T, m) {
    const p = T.malloc(24 * 4);
    T.exports.trit_wasm_model_info(m, p);
    const i = T.i32.slice(p >>> 2, (p >>> 2) + 24);
    T.free(p);
    return { n_vocab: i[2], n_layer: i[5], n_head_kv: i[7], head_dim: i[8] };
}

/** T: a loaded core (js/wasm.mjs loadTrit); model: a path (Node) or URL (browser); plan: PLAN[...];
 * dotMin: batches of >= dotMin tokens take the dot-product kernel (99: the table lookups only);
 * pair: { build, step() -> seconds }, another engine's decode step, run right after each of ours (outside
 * its timing): out.paired = that build's decode speed over ours, the median over adjacent pairs, which
 * the host's drift between steps does not move (bench.mjs: the SIMD / scalar target) */
export async function measureModel(T, model, plan, { dotMin, pair } = {}) {
    const X = T.exports;
    if (dotMin && X.trit_wasm_tl_dot_min) X.trit_wasm_tl_dot_min(dotMin);
    const t0 = now();
    const buf = T._fs ? T.readModelFile(model) : await T.fetchModel(model);
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
    const { c, decode } = benchContext(T, m, N_CTX, Math.max(...VERIFY_K));
    // prefill: one call over the prompt (LOGITS_LAST)
    let s = now();
    decode(plan.prompt, 1);
    const prefillS = (now() - s) / 1e3;
    // decode: one token per call, as generation does
    const steps = [], other = [];
    for (let i = 0; i < plan.decode; i++) {
        s = now(); decode(1, 1); steps.push((now() - s) / 1e3);
        if (pair) other.push(pair.step());
    }
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
        build: T.build, threads: T.threads, tl_dot_min: X.trit_wasm_tl_dot_min ? X.trit_wasm_tl_dot_min(0) : null,
        dot_add: X.trit_wasm_tl_dot_add ? X.trit_wasm_tl_dot_add(-1) : null, load_s: loadMs / 1e3, file_bytes: buf.size,
        weight_bytes_per_token: weightBytes, kv_bytes: KV_BYTES(info, N_CTX), peak_bytes: T.memory.buffer.byteLength,
        prefill_tokens: plan.prompt, prefill_tok_s: plan.prompt / prefillS,
        decode_tokens: plan.decode, decode_tok_s: decodeTps, decode_mean_tok_s: plan.decode / decodeS,
        verify_s: verify, verify_rel: Object.fromEntries(VERIFY_K.map(K => [K, verify[K] / verify[1]])),
        stream_bytes_s: bw, roofline: weightBytes * decodeTps / bw,
    };
    if (pair) out.paired = { build: pair.build, pairs: other.length, speedup: median(steps.map((x, i) => x / other[i])) };
    X.trit_ctx_free(c);
    X.trit_model_free(m);
    return out;
}
