// node.test.mjs: the WebGPU conformance checks (cases.mjs) in Node, on the npm `webgpu` package
// (Dawn). Needs a Vulkan driver: mk/webgpu.mk points Dawn at chromium's SwiftShader. Skips (and says
// why) when the package or an adapter is missing. TRIT_WEBGPU_ONLY=substring runs a subset.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadTrit } from '../../js/wasm.mjs';
import { WebGPUForward, fitsAdapter, requestAdapter } from '../../js/webgpu/index.mjs';
import { runAll } from './cases.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ORACLE = process.env.TRIT_ORACLE || path.resolve(ROOT, '../shared/oracle');
const GEN = path.join(ROOT, 'build/webgpu');
const file = rel => rel.startsWith('oracle/') ? path.join(ORACLE, rel.slice(7)) : path.join(GEN, rel.slice(4));

const env = {
    loadTrit, WebGPUForward, fitsAdapter,
    json: async rel => JSON.parse(fs.readFileSync(file(rel), 'utf8')),
    text: async rel => fs.readFileSync(file(rel), 'utf8'),
    f32: async rel => { const b = fs.readFileSync(file(rel)); return new Float32Array(b.buffer, b.byteOffset, b.length / 4); },
    model: async (T, rel) => T.readModelFile(file(rel)),
};

const adapter = await requestAdapter();

test('WebGPU backend vs wasm in Node (Dawn)', { skip: adapter ? false : 'no WebGPU adapter in Node (npm webgpu missing or no Vulkan driver)' }, async () => {
    const t0 = Date.now();
    const results = await runAll(env, { only: process.env.TRIT_WEBGPU_ONLY, quick: !!process.env.TRIT_WEBGPU_QUICK, log: l => console.log(l) });
    console.log(`${results.length} checks in ${((Date.now() - t0) / 1000).toFixed(1)} s on ${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`);
    assert.ok(results.length > 0, 'no checks ran');
    const bad = results.filter(r => !r.ok);
    assert.deepEqual(bad.map(r => `${r.name}: ${r.msg}`), []);
});
