// wasm.test.mjs: the relaxed build's dot-add kernels (src/kernels.h: tl_dot_add, the TL4 layout) where
// they are used: headless chromium. The loader's known-answer test must pass there (js/wasm.mjs:
// relaxedDotAddWorks; Node 20 fails it, see mk/wasm_kern.mk); with it on, a load repacks the ternary
// matrices as TL4 (decode and batches through dot-adds), with it off as TL (lookups); a batch decode
// (all logits) and one-token decode steps give the same bits on, off and in the plain SIMD build, on a
// TQ2_0 and an I2_S model.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';
import { launchChromium, startServer } from './lib.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ORACLE = process.env.TRIT_ORACLE || path.resolve(ROOT, '../shared/oracle');
const MODELS = ['/oracle/models/bitnet-tiny-spm.tq2_0.gguf', '/build/test-models/b158.i2_s.gguf'];

test('relaxed build: dot-add batch kernel in chromium == without it == simd build', async () => {
    for (const m of MODELS.filter(u => u.startsWith('/build/'))) assert.ok(fs.existsSync(path.join(ROOT, m)), `${m} missing (make build/test-models)`);
    const srv = await startServer({ root: ROOT, mounts: { '/oracle/': ORACLE } });
    const b = await launchChromium({ timeout: 120000 });
    try {
        await b.page.goto(`${srv.url}/tests/browser/wasm.html`);
        const r = await b.page.evaluate(async models => {
            const w = await import('/js/wasm.mjs');
            const out = { kat: w.relaxedDotAddWorks(), runs: [] };
            const run = async (build, dotAdd, url) => {
                const T = await w.loadTrit({ build, dotAdd });
                const X = T.exports;
                const f = await T.fetchModel(url);
                const m = X.trit_wasm_model_load(f.ptr, f.size) >>> 0;
                if (!m) throw new Error(`${url}: ${T.lastError()}`);
                const c = X.trit_wasm_ctx_init(m, 0, 0, 0) >>> 0;
                const V = X.trit_model_n_vocab(m), n = 12;
                const toks = T.malloc(4 * n), logits = T.malloc(4 * V * n);
                T.i32.set(Array.from({ length: n }, (_, i) => 1 + (i * 37) % (V - 1)), toks >>> 2);
                if (X.trit_ctx_decode(c, toks, n, logits, 2)) throw new Error(T.lastError());   // all logits
                const bits = Array.from(new Uint32Array(T.memory.buffer, logits, V * n));
                X.trit_ctx_truncate(c, 0);   // the same tokens one call each (decode steps)
                const steps = [];
                for (let i = 0; i < n; i++) {
                    if (X.trit_ctx_decode(c, toks + 4 * i, 1, logits, 1)) throw new Error(T.lastError());
                    steps.push(...new Uint32Array(T.memory.buffer, logits, V));
                }
                const res = { build: T.build, url, dot_add: X.trit_wasm_tl_dot_add(-1), bits, steps,
                              tl: X.trit_wasm_model_n_layout(m, 1), tl4: X.trit_wasm_model_n_layout(m, 3) };
                // back to the GGUF layout in place (what the WebGPU backend asks for), and the last step again
                res.restored = X.trit_wasm_model_gguf_layout(m);
                res.left = X.trit_wasm_model_n_layout(m, 1) + X.trit_wasm_model_n_layout(m, 3);
                X.trit_ctx_truncate(c, n - 1);
                if (X.trit_ctx_decode(c, toks + 4 * (n - 1), 1, logits, 1)) throw new Error(T.lastError());
                res.after = Array.from(new Uint32Array(T.memory.buffer, logits, V));
                X.trit_ctx_free(c); X.trit_model_free(m); T.close();
                return res;
            };
            for (const url of models)
                for (const [build, dotAdd] of [['relaxed', true], ['relaxed', false], ['simd', false]]) out.runs.push(await run(build, dotAdd, url));
            return out;
        }, MODELS);
        assert.equal(r.kat, true, 'chromium computes i32x4.relaxed_dot_i8x16_i7x16_add_s right (the known-answer test)');
        for (const url of MODELS) {
            const [on, off, simd] = r.runs.filter(x => x.url === url);
            assert.deepEqual([on.build, on.dot_add, off.dot_add, simd.build, simd.dot_add], ['relaxed', 1, 0, 'simd', -1], url);
            assert.ok(on.tl4 > 0 && on.tl === 0 && off.tl4 === 0 && off.tl === on.tl4 && simd.tl === on.tl4, `${url}: layouts ${JSON.stringify([on.tl, on.tl4, off.tl, off.tl4, simd.tl])}`);
            assert.ok(on.bits.length > 1000 && on.bits.some(v => v !== 0), `${url}: logits`);
            assert.ok(on.bits.every((v, i) => v === off.bits[i]), `${url}: dot-add on == off, bit for bit`);
            assert.ok(on.bits.every((v, i) => v === simd.bits[i]), `${url}: relaxed == simd build, bit for bit`);
            assert.ok(on.steps.length === on.bits.length, `${url}: steps`);
            assert.ok(on.steps.every((v, i) => v === off.steps[i] && v === simd.steps[i]), `${url}: decode steps on == off == simd, bit for bit`);
            assert.ok(on.steps.every((v, i) => v === on.bits[i]), `${url}: decode steps == the batch, bit for bit`);
            for (const x of [on, off]) {   // GGUF layout restored from TL4 / TL: every matrix, the same logits after
                assert.deepEqual([x.restored, x.left], [x.tl + x.tl4, 0], `${url}: restore`);
                const last = x.steps.slice(-x.after.length);
                assert.ok(x.after.every((v, i) => v === last[i]), `${url}: the GGUF layout gives the same logits`);
            }
        }
        assert.ok(!b.logs.some(l => l.startsWith('[pageerror]')), b.logs.join('\n'));
    } finally {
        await b.close();
        await srv.close();
    }
});
