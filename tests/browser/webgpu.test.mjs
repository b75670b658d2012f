// webgpu.test.mjs: the WebGPU conformance checks (tests/webgpu/cases.mjs) in headless chromium with
// --enable-unsafe-webgpu (a SwiftShader adapter: no GPU needed, no shader-f16, 1 GiB bindings).
// TRIT_WEBGPU_ONLY=substring runs a subset; TRIT_WEBGPU_QUICK=1 the quick set.
import assert from 'node:assert/strict';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchChromium, startServer } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ORACLE = process.env.TRIT_ORACLE || path.resolve(ROOT, '../shared/oracle');

test('WebGPU backend vs wasm in chromium (SwiftShader)', async () => {
    const srv = await startServer({ root: ROOT, mounts: { '/oracle/': ORACLE } });
    const b = await launchChromium({ webgpu: true, timeout: 600000 });
    try {
        b.page.on('console', m => { if (m.type() === 'log') console.log(m.text()); });
        await b.page.goto(`${srv.url}/tests/browser/webgpu.html`);
        await b.page.waitForFunction(() => window.ready === true);
        const info = await b.page.evaluate(() => window.adapterInfo());
        assert.ok(info, `no WebGPU adapter in chromium; page log:\n${b.logs.join('\n')}`);
        console.log(`adapter: ${info.name} shader-f16 ${info.f16} max binding ${info.maxBinding}`);
        const t0 = Date.now();
        const results = await b.page.evaluate(o => window.runWebGPU(o),
            { only: process.env.TRIT_WEBGPU_ONLY, quick: !!process.env.TRIT_WEBGPU_QUICK });
        console.log(`${results.length} checks in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        assert.ok(results.length > 0, 'no checks ran');
        assert.deepEqual(results.filter(r => !r.ok).map(r => `${r.name}: ${r.msg}`), []);
        assert.ok(!b.logs.some(l => l.startsWith('[pageerror]')), b.logs.filter(l => l.startsWith('[pageerror]')).join('\n'));
    } finally {
        await b.close();
        await srv.close();
    }
});

test('WebGPU engine inside a module worker (chromium)', async () => {
    const srv = await startServer({ root: ROOT, mounts: { '/oracle/': ORACLE } });
    const b = await launchChromium({ webgpu: true });
    try {
        await b.page.goto(`${srv.url}/tests/browser/webgpu.html`);
        await b.page.waitForFunction(() => window.ready === true);
        const r = await b.page.evaluate(async () => {
            const url = '/oracle/models/llama-tiny-spm.tq2_0.gguf', ids = [1, 450, 499, 173, 170, 299];
            const w = new Worker('/tests/browser/webgpu-worker.mjs', { type: 'module' });
            const res = await new Promise((resolve, reject) => {
                w.onmessage = e => resolve(e.data);
                w.onerror = e => reject(new Error(e.message));
                w.postMessage({ url, ids });
            });
            w.terminate();
            if (res.error) return { error: res.error };
            // the same ids on the wasm core in the page
            const { loadTrit } = await import('/js/wasm.mjs');
            const T = await loadTrit(), X = T.exports;
            const f = await T.fetchModel(url);
            const m = X.trit_wasm_model_load(f.ptr, f.size) >>> 0;
            const c = X.trit_wasm_ctx_init(m, 64, 0, 1) >>> 0, V = X.trit_model_n_vocab(m);
            const ip = T.malloc(ids.length * 4), lp = T.malloc(ids.length * V * 4);
            T.i32.set(ids, ip / 4);
            X.trit_ctx_decode(c, ip, ids.length, lp, 2);
            const want = T.f32.subarray(lp / 4, lp / 4 + ids.length * V);
            let mx = 0;
            for (let i = 0; i < want.length; i++) mx = Math.max(mx, Math.abs(want[i] - res.logits[i]));
            return { max: mx, n: res.logits.length, info: res.info };
        });
        assert.ok(!r.error, r.error);
        assert.equal(r.n, 6 * 1000);
        assert.ok(r.max <= 1e-3, `worker WebGPU vs page wasm: max ${r.max}`);
        console.log(`worker: max ${r.max.toExponential(2)} on ${r.info.adapter}`);
    } finally {
        await b.close();
        await srv.close();
    }
});

test('router + WebGPU backend through createEngine (chromium)', async () => {
    const srv = await startServer({ root: ROOT, mounts: { '/oracle/': ORACLE } });
    try {
        for (const webgpu of [true, false]) {
            const b = await launchChromium({ webgpu, timeout: 300000 });
            try {
                b.page.on('console', m => { if (m.type() === 'log') console.log(m.text()); });
                await b.page.goto(`${srv.url}/tests/browser/webgpu.html`);
                await b.page.waitForFunction(() => window.ready === true);
                const info = await b.page.evaluate(() => window.adapterInfo());
                assert.equal(!!info, webgpu, `adapter ${JSON.stringify(info)} with --enable-unsafe-webgpu ${webgpu}`);
                const r = await b.page.evaluate(o => window.runRouter(o), { software: true, noAdapter: !webgpu });
                assert.ok(r.length >= (webgpu ? 10 : 3), `only ${r.length} router checks ran`);
                assert.deepEqual(r.filter(x => !x.ok).map(x => `${x.name}: ${x.msg}`), []);
            } finally {
                await b.close();
            }
        }
    } finally {
        await srv.close();
    }
});
