// lib.mjs: the little the benchmark scripts share (bench.mjs, ab.mjs, peers.mjs, measure.mjs). No Node
// imports at the top: measure.mjs also loads it in a browser worker.

/** The value after `name` on the command line, or dflt. */
export function arg(name, dflt) {
    const i = process.argv.indexOf(name);
    return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

/** Median of a non-empty array of numbers (the mean of the two middle ones for an even length). */
export function median(v) {
    const s = [...v].sort((x, y) => x - y), h = s.length >> 1;
    return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

/** A context on model m (trit_wasm_model_load) of a loaded core T (js/wasm.mjs) for timing, fed the
 * benchmark's 64 token ids (bench_native.c uses the same): decode(n, mode) runs trit_ctx_decode over the
 * first n (mode 1: last logits; 2: all, for up to maxLogits tokens). Returns { c, V, decode }. */
export function benchContext(T, m, nCtx, maxLogits) {
    const X = T.exports;
    const c = X.trit_wasm_ctx_init(m, nCtx, 64, 0) >>> 0;
    if (!c) throw new Error(`ctx: ${T.lastError()}`);
    T.attachPool(c);
    const V = X.trit_model_n_vocab(m), logits = T.malloc(4 * V * maxLogits), toks = T.malloc(4 * 64);
    T.i32.set(Array.from({ length: 64 }, (_, i) => 1 + ((i * 7919) % (V - 1))), toks >>> 2);
    return { c, V, decode(n, mode) { if (X.trit_ctx_decode(c, toks, n, logits, mode)) throw new Error(`decode: ${T.lastError()}`); } };
}

/** Node: a headless chromium page on a blank document served from the repository root over 127.0.0.1
 * with COOP/COEP (tools/serve.mjs: cross-origin isolated), for the benchmarks that run in the browser.
 * mounts: extra directories, as tools/serve.mjs takes them. Returns { page, url, version, close }. */
export async function benchPage(mounts = {}) {
    const path = await import('node:path'), fs = await import('node:fs'), { fileURLToPath, pathToFileURL } = await import('node:url');
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const { startServer, launchChromium } = await import(pathToFileURL(path.join(root, 'tests/browser/lib.mjs')).href);
    const srv = await startServer({ root, mounts });
    const b = await launchChromium({ timeout: 1800e3, extra: (process.env.TRIT_CHROMIUM_EXTRA || '').split(' ').filter(Boolean) });
    const close = async () => { await b.close(); await srv.close(); };
    try {
        fs.mkdirSync(path.join(root, 'build', 'bench'), { recursive: true });
        fs.writeFileSync(path.join(root, 'build', 'bench', 'measure.html'), '<!doctype html><meta charset="utf-8"><title>bench</title>');
        await b.page.goto(`${srv.url}/build/bench/measure.html`);
    } catch (e) {
        await close();
        throw e;
    }
    return { page: b.page, url: srv.url, version: b.browser ? b.browser.version() : null, close };
}
