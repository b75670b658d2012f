// Cancellation: an AbortSignal (or breaking out of the stream) stops a request mid-stream with an
// error named AbortError; nothing leaks (no pending worker calls, the cache mirror stays exact, the
// wasm heap stops growing, no listeners left on the caller's signal) and the engine stays usable.
import test from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { createEngine } from '../../js/index-node.mjs';
import { model, PROMPTS } from './helpers.mjs';

const LONG = { prompt: PROMPTS[0], max_tokens: 200, temperature: 0, return_token_ids: true };

async function settled(engine) {
    const st = await engine._debugState();
    for (const [role, s] of Object.entries(st)) {
        assert.equal(s.pending, 0, `${role}: no worker call is pending`);
        assert.equal(s.cached, s.mirror, `${role}: the engine's mirror of the KV cache is exact`);
    }
    return st;
}

for (const withDraft of [false, true]) {
    test(`abort mid-stream${withDraft ? ' (speculative, pipelined)' : ''}: AbortError, no leak, engine reusable`, async () => {
        const opts = { model: model('bitnet-tiny-spm.f32.gguf') };
        if (withDraft) opts.draft = model('bitnet-tiny-spm.tq2_0.gguf');
        const engine = await createEngine(opts);
        try {
            const want = (await engine.completions.create({ ...LONG, max_tokens: 24 })).choices[0].token_ids;
            let heap0 = null;
            for (let cycle = 0; cycle < 12; cycle++) {
                const ac = new AbortController();
                const stream = await engine.completions.create({ ...LONG, stream: true }, { signal: ac.signal });
                let got = 0, err = null;
                try {
                    for await (const c of stream) {
                        got += c.choices[0].token_ids.length;
                        if (got >= 3) ac.abort();
                    }
                } catch (e) { err = e; }
                assert.ok(err, 'the stream threw');
                assert.equal(err.name, 'AbortError');
                assert.ok(got >= 3 && got < 200);
                assert.equal(getEventListeners(ac.signal, 'abort').length, 0, 'no listener left on the signal');
                const st = await settled(engine);
                if (cycle === 2) heap0 = st.target.heap_bytes;
                if (cycle > 2) assert.equal(st.target.heap_bytes, heap0, 'the wasm heap does not grow');
            }
            // usable, and the results are those of a fresh engine
            const again = await engine.completions.create({ ...LONG, max_tokens: 24 });
            assert.deepEqual(again.choices[0].token_ids, want);
        } finally {
            await engine.unload();
        }
    });
}

test('non-streaming abort, abort before start, abort while queued, break out of a stream', async () => {
    const engine = await createEngine({ model: model('bitnet-tiny-spm.f32.gguf') });
    try {
        const want = (await engine.completions.create({ ...LONG, max_tokens: 16 })).choices[0].token_ids;
        // non-streaming: abort after a few tokens' time
        const ac = new AbortController();
        const p = engine.completions.create(LONG, { signal: ac.signal });
        setTimeout(() => ac.abort(), 30);
        await assert.rejects(p, e => e.name === 'AbortError');
        // already aborted
        await assert.rejects(engine.completions.create(LONG, { signal: AbortSignal.abort() }), e => e.name === 'AbortError');
        // queued behind another request, aborted while waiting: the first completes, the second rejects
        const ac2 = new AbortController();
        const first = engine.completions.create({ ...LONG, max_tokens: 16 });
        const second = engine.completions.create(LONG, { signal: ac2.signal });
        ac2.abort();
        assert.deepEqual((await first).choices[0].token_ids, want);
        await assert.rejects(second, e => e.name === 'AbortError');
        // the stream's own controller, and breaking out of the loop (no error, the turn is released)
        const s = await engine.completions.create({ ...LONG, stream: true });
        let n = 0;
        await assert.rejects((async () => { for await (const c of s) { if (++n === 2) s.controller.abort(); } })(), e => e.name === 'AbortError');
        const s2 = await engine.completions.create({ ...LONG, stream: true });
        for await (const c of s2) { if (c.choices[0].token_ids.length) break; }
        await settled(engine);
        assert.deepEqual((await engine.completions.create({ ...LONG, max_tokens: 16 })).choices[0].token_ids, want);
        // a stream that is never iterated does not block the engine
        await engine.completions.create({ ...LONG, stream: true });
        assert.deepEqual((await engine.completions.create({ ...LONG, max_tokens: 16 })).choices[0].token_ids, want);
    } finally {
        await engine.unload();
    }
});
