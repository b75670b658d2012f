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

/** Node: a headless chromium page on a blank document served from the repository root over 127.0.0.1
 * with COOP/COEP (tools/serve.mjs: cross-origin isolated), for the benchmarks that run in the browser.
 * mounts: extra directories, as tools/serve.mjs takes them. Returns { page, url, version, close }. */
export async function benchPage(mounts = {}) {
    const path = await import('node:path'), fs = await import('node:fs'), { fileURLToPath, pathToFileURL } = await import('node:url');
    const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
    const { startServer, launchChromium } = await import(pathToFileURL(path.join(root, 'tests/browser/lib.mjs')).href);
    const srv = await startServer({ root, mounts });
    const b = await launchChromium({ timeout: 1800e3 });
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
