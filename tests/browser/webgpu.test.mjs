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
