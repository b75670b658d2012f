// Speculative decoding, greedy: token-for-token identical to target-only greedy decoding, for
// several prompts, K in {1, 2, 4, 8}, with and without the pipelined draft, adaptive K, with good
// and bad drafts; the draft must share the target's vocabulary.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../js/index-node.mjs';
import { model, PROMPTS } from './helpers.mjs';

// [target, draft, prompts, tokens, pipeline variants]: a quantized copy of the target (high
// acceptance), an unrelated model with the same SentencePiece vocabulary (acceptance ~0), a llama-arch
// target, and the byte-level BPE vocabulary. Sized for the ~3 min budget of `make test-js`.
const PAIRS = [
    ['bitnet-tiny-spm.f32.gguf', 'bitnet-tiny-spm.tq2_0.gguf', [...PROMPTS, 'Once upon a time'], 24, [false, true]],
    ['bitnet-tiny-spm.tq2_0.gguf', 'llama-tiny-spm.tq2_0.gguf', PROMPTS.slice(0, 2), 12, [false, true]],
    ['llama-tiny-spm.tq2_0.gguf', 'bitnet-tiny-spm.tq1_0.gguf', PROMPTS.slice(2), 12, [true]],
    ['bitnet-tiny-bpe.f32.gguf', 'bitnet-tiny-bpe.tq2_0.gguf', PROMPTS.slice(0, 2), 24, [true]],
];

for (const [tname, dname, prompts, N, pipelines] of PAIRS) {
    test(`greedy speculative == target-only greedy: ${tname} + draft ${dname}`, async () => {
        const e = await createEngine({ model: model(tname), draft: model(dname) });
        try {
            let acc = 0, prop = 0;
            for (const prompt of prompts) {
                const body = { prompt, max_tokens: N, temperature: 0, return_token_ids: true };
                const want = (await e.completions.create({ ...body, speculative: false })).choices[0];
                assert.equal(want.token_ids.length, N);
                for (const k of [1, 2, 4, 8]) {
                    for (const pipeline of pipelines) {
                        const r = await e.completions.create({ ...body, speculative: { k, adaptive: false, pipeline } });
                        assert.deepEqual(r.choices[0].token_ids, want.token_ids, `k=${k} pipeline=${pipeline} prompt=${prompt}`);
                        assert.equal(r.choices[0].text, want.text);
                        const s = r.usage.extra.speculative;
                        assert.ok(s && s.rounds > 0);
                        assert.ok(Object.keys(s.k_hist).every(x => Number(x) <= k));
                        acc += s.accepted; prop += s.proposed;
                    }
                }
                const r = await e.completions.create(body);           // adaptive K (the default)
                assert.deepEqual(r.choices[0].token_ids, want.token_ids, `adaptive, prompt=${prompt}`);
                // streamed
                let ids = [];
                for await (const c of await e.completions.create({ ...body, stream: true, speculative: { k: 3, adaptive: false } })) {
                    ids = ids.concat(c.choices[0].token_ids);
                }
                assert.deepEqual(ids, want.token_ids);
            }
            console.log(`# ${tname} + ${dname}: acceptance ${(acc / prop).toFixed(3)} over ${prop} proposed tokens`);
        } finally {
            await e.unload();
        }
    });
}

test('greedy identity holds with the repetition penalty and at the end of the context', async () => {
    const e = await createEngine({ model: model('bitnet-tiny-spm.f32.gguf'), draft: model('bitnet-tiny-spm.tq2_0.gguf'), contextLength: 40 });
    try {
        for (const rp of [1.3, 0.8]) {
            const body = { prompt: PROMPTS[0], max_tokens: 100, temperature: 0, repetition_penalty: rp, return_token_ids: true };
            const want = (await e.completions.create({ ...body, speculative: false })).choices[0];
            assert.equal(want.finish_reason, 'length');
            for (const k of [1, 8]) {
                const r = await e.completions.create({ ...body, speculative: { k, adaptive: false } });
                assert.deepEqual(r.choices[0].token_ids, want.token_ids, `rp=${rp} k=${k}`);
                assert.equal(r.choices[0].finish_reason, 'length');
            }
        }
    } finally {
        await e.unload();
    }
});

test('inline (no workers) speculative decoding gives the same tokens', async () => {
    const e = await createEngine({ model: model('bitnet-tiny-spm.f32.gguf'), draft: model('bitnet-tiny-spm.tq2_0.gguf'), workers: false });
    const w = await createEngine({ model: model('bitnet-tiny-spm.f32.gguf') });
    try {
        const body = { prompt: PROMPTS[1], max_tokens: 30, temperature: 0, return_token_ids: true };
        const want = (await w.completions.create(body)).choices[0].token_ids;
        assert.deepEqual((await e.completions.create({ ...body, speculative: { k: 4, adaptive: false } })).choices[0].token_ids, want);
    } finally {
        await e.unload(); await w.unload();
    }
});

test('a draft with another vocabulary is refused with VOCAB_MISMATCH', async () => {
    await assert.rejects(createEngine({ model: model('bitnet-tiny-spm.f32.gguf'), draft: model('bitnet-tiny-bpe.tq2_0.gguf') }),
        e => e.code === 'VOCAB_MISMATCH' && /vocabulary/.test(e.message));
});

test('stats: acceptance rate, mean accepted length, draft/target time, tokens/s', async () => {
    const e = await createEngine({ model: model('bitnet-tiny-spm.f32.gguf'), draft: model('bitnet-tiny-spm.tq2_0.gguf') });
    try {
        const r = await e.completions.create({ prompt: PROMPTS[2], max_tokens: 32, temperature: 0, speculative: { k: 4, adaptive: false, pipeline: false } });
        const x = r.usage.extra, s = x.speculative;
        assert.ok(x.decode_tokens_per_s > 0 && x.prefill_tokens_per_s > 0 && x.tokens_per_s > 0);
        assert.ok(s.rounds >= 32 / 5);
        assert.equal(s.proposed, Object.entries(s.k_hist).reduce((a, [k, n]) => a + k * n, 0));
        assert.ok(s.accepted <= s.proposed);
        assert.equal(s.acceptance_rate, Math.round(s.accepted / s.proposed * 1e4) / 1e4);
        assert.ok(Math.abs(s.tokens_per_round - (s.accepted + s.rounds) / s.rounds) < 1e-3);
        assert.ok(s.draft_ms > 0 && s.target_ms > 0);
        assert.ok(s.acceptance_rate > 0.5, `a quantized copy should mostly agree (${s.acceptance_rate})`);
    } finally {
        await e.unload();
    }
});
