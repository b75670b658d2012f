// loader.test.mjs: js/wasm.mjs on its own (node --test): build choice, threads (workers join, give the
// single-thread bits, stop cleanly, and a pool without workers still works), model bytes into the heap
// from a file and from a fetch stream (real HTTP on 127.0.0.1), views after memory growth, and the
// one-load-per-buffer rule of the in-place repack.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import test from 'node:test';
import { fileURLToPath } from 'node:url';

import { loadTrit, pickBuilds, relaxedSimdSupported, simdSupported, threadsSupported } from '../../js/wasm.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ORACLE = process.env.TRIT_ORACLE || path.resolve(ROOT, '../shared/oracle');
const MODEL = path.join(ORACLE, 'models', 'llama-tiny-spm.tq2_0.gguf');   // untied TQ2_0 head: all kernels
const TOKENS = [1, 589, 337, 505, 351, 321, 381, 365, 706, 363, 325, 334];

// logits [n][V] of TOKENS in one batched call (LOGITS_ALL), as bytes
function run(T, file) {
    const X = T.exports;
    const m = X.trit_wasm_model_load(file.ptr, file.size) >>> 0;
    assert.ok(m, T.lastError());
    const c = X.trit_wasm_ctx_init(m, 64, 64, 0) >>> 0;
    T.attachPool(c);
    const V = X.trit_model_n_vocab(m), n = TOKENS.length;
    const toks = T.malloc(4 * n), lg = T.malloc(4 * n * V);
    T.i32.set(TOKENS, toks >>> 2);
    assert.equal(X.trit_ctx_decode(c, toks, n, lg, 2), 0, T.lastError());
    const out = T.u8.slice(lg, lg + 4 * n * V);
    X.trit_ctx_free(c);
    X.trit_model_free(m);
    T.free(toks); T.free(lg);
    return out;
}

test('build choice follows the engine', () => {
    assert.equal(simdSupported(), true);
    const one = pickBuilds(undefined, 1), two = pickBuilds(undefined, 2);
    assert.deepEqual(one.slice(-2), ['simd', 'scalar']);
    assert.equal(one.includes('simd-mt'), false);
    assert.equal(two[0], relaxedSimdSupported() ? 'relaxed-mt' : 'simd-mt');
    assert.deepEqual(pickBuilds('scalar', 2), ['scalar']);
});

test('threads: 2 workers join, give the single-thread bits, and stop', { skip: !threadsSupported() }, async () => {
    const T1 = await loadTrit({ build: 'simd' });
    const want = run(T1, T1.readModelFile(MODEL));
    const T3 = await loadTrit({ build: 'simd-mt', threads: 3 });
    assert.equal(T3.threads, 3);
    assert.ok(T3.pool);
    assert.equal(T3.memory.buffer instanceof SharedArrayBuffer, true);
    const got = run(T3, T3.readModelFile(MODEL));
    assert.deepEqual(got, want);
    T3.close();   // returns only after the workers have left the pool loop
    assert.equal(T3.threads, 1);
    assert.equal(T3.pool, 0);
    // after close the instance still works, single-threaded
    assert.deepEqual(run(T3, T3.readModelFile(MODEL)), want);
});

test('a pool whose workers never come runs everything on the caller', async () => {
    const T = await loadTrit({ build: 'simd-mt' });
    const want = run(T, T.readModelFile(MODEL));
    const pool = T.exports.trit_wasm_pool_init(4) >>> 0;
    assert.ok(pool);
    T.pool = pool;   // attach contexts to a pool no worker has joined
    assert.deepEqual(run(T, T.readModelFile(MODEL)), want);
    T.exports.trit_pool_free(pool);
    T.pool = 0;
});

test('the same bits on every build', async () => {
    const builds = ['scalar', 'simd'];
    if (relaxedSimdSupported() && fs.existsSync(path.join(ROOT, 'build/wasm/trit-relaxed.wasm'))) builds.push('relaxed');
    let want = null;
    for (const b of builds) {
        const T = await loadTrit({ build: b });
        assert.equal(T.build, b);
        const got = run(T, T.readModelFile(MODEL));
        if (want) assert.deepEqual(got, want, b);
        want = got;
    }
});

test('fetchModel streams into the heap: the same bytes as the file', async () => {
    const bytes = fs.readFileSync(MODEL);
    const server = http.createServer((req, res) => {
        // chunked (no content-length) for /chunked, else with a length
        if (req.url === '/chunked') res.writeHead(200);
        else res.writeHead(200, { 'content-length': bytes.length });
        let off = 0;
        const push = () => {
            while (off < bytes.length) {
                const n = Math.min(65536, bytes.length - off);
                off += n;
                if (!res.write(bytes.subarray(off - n, off))) return res.once('drain', push);
            }
            res.end();
        };
        push();
    });
    await new Promise(r => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${server.address().port}`;
    try {
        const T = await loadTrit({ build: 'simd' });
        for (const url of [`${base}/model.gguf`, `${base}/chunked`]) {
            let calls = 0;
            const f = await T.fetchModel(url, () => { calls++; });
            assert.equal(f.size, bytes.length);
            assert.ok(calls > 0);
            assert.ok(Buffer.from(T.u8.subarray(f.ptr, f.ptr + f.size)).equals(bytes), url);
            T.free(f.ptr);
        }
        await assert.rejects(T.fetchModel(`${base.replace(/:\d+$/, ':1')}/x`));
    } finally {
        server.close();
    }
});

test('views follow memory growth; a rearranged buffer loads once', async () => {
    const T = await loadTrit({ build: 'simd' });
    const before = T.memory.buffer.byteLength;
    const big = T.malloc(before + (64 << 20));   // grows the memory
    assert.ok(T.memory.buffer.byteLength > before);
    T.u8[big + before + 1] = 7;
    assert.equal(T.u8[big + before + 1], 7);
    T.free(big);
    const file = T.readModelFile(MODEL);
    const m = T.exports.trit_wasm_model_load(file.ptr, file.size) >>> 0;
    assert.ok(m);
    assert.equal(T.exports.trit_wasm_model_load(file.ptr, file.size) >>> 0, 0);
    assert.match(T.lastError(), /loaded only once/);
    T.exports.trit_model_free(m);
});

test('the GGUF layout comes back for raw-byte readers (WebGPU): same tensor bytes, same logits', async () => {
    const orig = fs.readFileSync(MODEL);
    const T = await loadTrit({ build: 'simd' }), X = T.exports;
    const want = run(T, T.readModelFile(MODEL));
    const file = T.readModelFile(MODEL);
    const m = X.trit_wasm_model_load(file.ptr, file.size) >>> 0;
    assert.ok(m, T.lastError());
    const n = X.trit_model_n_tensors(m), v = T.malloc(40);
    const differs = () => {   // tensors whose bytes in the heap are not the file's
        let k = 0;
        for (let i = 0; i < n; i++) {
            assert.equal(X.trit_wasm_tensor_view(m, i, v), 0);
            const t = T.i32.subarray(v >>> 2, (v >>> 2) + 10), ptr = t[7] >>> 0, len = t[5] >>> 0;
            if (Buffer.compare(Buffer.from(T.u8.buffer, ptr, len), orig.subarray(ptr - file.ptr, ptr - file.ptr + len))) k++;
        }
        return k;
    };
    const moved = differs();
    assert.ok(moved > 0, 'the SIMD build rearranges ternary matrices at load');
    assert.equal(X.trit_wasm_model_gguf_layout(m), moved);
    assert.equal(differs(), 0);
    assert.equal(X.trit_wasm_model_gguf_layout(m), 0, 'idempotent');
    // the CPU kernels still give the same bits on the GGUF layout
    const c = X.trit_wasm_ctx_init(m, 64, 64, 0) >>> 0;
    const V = X.trit_model_n_vocab(m), nt = TOKENS.length;
    const toks = T.malloc(4 * nt), lg = T.malloc(4 * nt * V);
    T.i32.set(TOKENS, toks >>> 2);
    assert.equal(X.trit_ctx_decode(c, toks, nt, lg, 2), 0, T.lastError());
    assert.deepEqual(T.u8.slice(lg, lg + 4 * nt * V), want);
    X.trit_ctx_free(c);
    X.trit_model_free(m);
    T.free(v); T.free(toks); T.free(lg);
});
