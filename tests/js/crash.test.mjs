// Worker crashes: a model worker that dies (an uncaught error, or the thread exiting) fails the
// pending request with a TritError WORKER_CRASHED; reload() (or simply the next request) starts
// fresh workers from the same sources and the results are right again. unload() ends everything.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../js/index-node.mjs';
import { model, PROMPTS } from './helpers.mjs';

const BODY = { prompt: PROMPTS[1], max_tokens: 200, temperature: 0, return_token_ids: true };

async function crashMidStream(engine, role, how) {
    const stream = await engine.completions.create({ ...BODY, stream: true });
    let n = 0;
    try {
        for await (const c of stream) {
            n += c.choices[0].token_ids.length;
            if (n >= 2 && n < 100) { await engine._debugCrash(role, how); n = 100; }
        }
    } catch (e) {
        return e;
    }
    return null;
}

test('target worker crash mid-stream -> WORKER_CRASHED; reload() recovers', async () => {
    const engine = await createEngine({ model: model('bitnet-tiny-spm.f32.gguf') });
    try {
        const want = (await engine.completions.create({ ...BODY, max_tokens: 20 })).choices[0].token_ids;
        const err = await crashMidStream(engine, 'target', 'throw');
        assert.ok(err, 'the pending request failed');
        assert.equal(err.code, 'WORKER_CRASHED');
        assert.match(err.message, /target model worker crashed/);
        assert.equal(engine.info.state, 'crashed');
        await engine.reload();
        assert.equal(engine.info.state, 'ready');
        assert.deepEqual((await engine.completions.create({ ...BODY, max_tokens: 20 })).choices[0].token_ids, want);
    } finally {
        await engine.unload();
    }
});

test('draft worker exits during speculative decoding -> WORKER_CRASHED; the next request reloads by itself', async () => {
    const engine = await createEngine({ model: model('bitnet-tiny-spm.f32.gguf'), draft: model('bitnet-tiny-spm.tq2_0.gguf') });
    try {
        const want = (await engine.completions.create({ ...BODY, max_tokens: 20 })).choices[0].token_ids;
        const err = await crashMidStream(engine, 'draft', 'exit');
        assert.ok(err);
        assert.equal(err.code, 'WORKER_CRASHED');
        assert.match(err.message, /draft model worker crashed/);
        const r = await engine.completions.create({ ...BODY, max_tokens: 20 });
        assert.deepEqual(r.choices[0].token_ids, want);
        assert.ok(r.usage.extra.speculative.rounds > 0, 'speculative decoding is back');
        // a crash while idle is noticed before the next request
        await engine._debugCrash('target', 'exit');
        await new Promise(r => setTimeout(r, 200));
        assert.deepEqual((await engine.completions.create({ ...BODY, max_tokens: 20 })).choices[0].token_ids, want);
    } finally {
        await engine.unload();
    }
});

test('unload() fails a pending request with UNLOADED and every later call', async () => {
    const engine = await createEngine({ model: model('bitnet-tiny-spm.f32.gguf') });
    const stream = await engine.completions.create({ ...BODY, stream: true });
    let err = null;
    try {
        for await (const c of stream) { if (c.choices[0].token_ids.length) await engine.unload(); }
    } catch (e) { err = e; }
    assert.equal(err && err.code, 'UNLOADED');
    await assert.rejects(engine.completions.create(BODY), e => e.code === 'UNLOADED');
    await assert.rejects(engine.tokenize('x'), e => e.code === 'UNLOADED');
    await assert.rejects(engine.reload(), e => e.code === 'UNLOADED');
});
