// Speculative sampling (temperature > 0) draws from the target's distribution: the joint
// distribution of the first three generated tokens, over many fixed seeds, fits the exact target
// distribution (chi-square, p > 0.01), with a good draft, an unrelated draft (same vocabulary), and
// drafts whose distributions are deliberately too flat or too peaked. Target-only sampling is
// checked against the same exact distribution, and the exact distribution against itself
// (probabilities sum to 1).
import test from 'node:test';
import assert from 'node:assert/strict';
import { createEngine } from '../../js/index-node.mjs';
import { model, chiSquare } from './helpers.mjs';

const N = Number(process.env.TRIT_STAT_N || 250);
const SAMPLING = { temperature: 1.0, top_k: 3 };
const PROMPT = 'The quick brown fox';
const DEPTH = 3;                                   // tokens whose joint distribution is tested

/** Exact P(x1, x2, x3) under the target: a Map 'x1,x2,x3' -> probability. */
async function exactJoint(engine, prompt) {
    const out = new Map();
    const walk = async (prefix, p, depth, key) => {
        if (depth === DEPTH) { out.set(key.join(','), p); return; }
        const dist = await engine._debugDistribution(prefix, SAMPLING);
        for (let t = 0; t < dist.length; t++) {
            if (dist[t] > 0) await walk(prefix.concat([t]), p * dist[t], depth + 1, key.concat([t]));
        }
    };
    await walk(prompt, 1, 0, []);
    return out;
}

async function sample(engine, body, n) {
    const counts = new Map();
    for (let seed = 1; seed <= n; seed++) {
        const r = await engine.completions.create({ ...body, seed });
        const key = r.choices[0].token_ids.slice(0, DEPTH).join(',');
        counts.set(key, (counts.get(key) || 0) + 1);
    }
    return counts;
}

test('speculative sampling keeps the target distribution (chi-square over the first 3 tokens)', async t => {
    // the target, and drafts that share its vocabulary: the same weights sampled differently (a good
    // draft at T=0.7, a too flat one, a too peaked one) and an unrelated model
    const target = model('bitnet-tiny-spm.tq2_0.gguf');
    const same = await createEngine({ model: target, draft: model('bitnet-tiny-spm.tq1_0.gguf') });
    const unrelated = await createEngine({ model: target, draft: model('llama-tiny-spm.tq2_0.gguf') });
    t.after(() => Promise.all([same.unload(), unrelated.unload()]));
    const prompt = await same.tokenize(PROMPT);
    const exact = await exactJoint(same, prompt);
    const total = [...exact.values()].reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(total - 1) < 1e-5, `exact joint sums to ${total}`);
    assert.equal(exact.size, 27);
    // max_tokens DEPTH + 1 with K = DEPTH: the tested tokens all come from the first round's
    // accept/reject decisions (and the bonus token when all are accepted)
    const base = { prompt, max_tokens: DEPTH + 1, ...SAMPLING, return_token_ids: true };
    const K = { k: DEPTH, adaptive: false, pipeline: false };
    const cases = [
        ['target only', same, { speculative: false }],
        ['good draft (T=0.7)', same, { speculative: { ...K, draftSampling: { temperature: 0.7 } } }],
        ['good draft, pipelined, K=2', same, { speculative: { ...K, k: 2, pipeline: true, draftSampling: { temperature: 0.7 } } }],
        ['too flat draft (T=3, no top-k)', same, { speculative: { ...K, draftSampling: { temperature: 3, top_k: 0 } } }],
        ['too peaked draft (T=0.25)', same, { speculative: { ...K, draftSampling: { temperature: 0.25 } } }],
        ['greedy draft (one-hot q)', same, { speculative: { ...K, draftSampling: { temperature: 0 } } }],
        ['unrelated draft', unrelated, { speculative: K }],
    ];
    const rates = {};
    for (const [name, engine, extra] of cases) {
        const counts = await sample(engine, { ...base, ...extra }, N);
        const r = chiSquare(counts, exact);
        console.log(`# ${name}: chi2 ${r.chi2.toFixed(2)} df ${r.df} p ${r.p.toFixed(4)} (n ${r.n}, ${r.pooled} cells pooled)`);
        assert.equal(r.impossible, 0, `${name}: a sequence of probability 0 was generated`);
        assert.ok(r.p > 0.01, `${name}: p = ${r.p}`);
        if (extra.speculative) {
            const st = (await engine.completions.create({ ...base, ...extra, max_tokens: 30, seed: 1 })).usage.extra.speculative;
            rates[name] = st.acceptance_rate;
        }
    }
    console.log(`# acceptance rates: ${JSON.stringify(rates)}`);
    assert.ok(rates['good draft (T=0.7)'] > rates['unrelated draft'], JSON.stringify(rates));
});

test('the test has power: samples at temperature 2 are rejected against the exact distribution at 1', async () => {
    const e = await createEngine({ model: model('bitnet-tiny-spm.tq2_0.gguf') });
    try {
        const prompt = await e.tokenize(PROMPT);
        const exact = await exactJoint(e, prompt);
        const counts = await sample(e, { prompt, max_tokens: DEPTH, temperature: 2, top_k: 3, return_token_ids: true, speculative: false }, N);
        const r = chiSquare(counts, exact);
        console.log(`# temperature 2 against the exact joint at temperature 1: chi2 ${r.chi2.toFixed(2)} df ${r.df} p ${r.p.toExponential(2)}`);
        assert.ok(r.p < 0.01, `temperature 2 vs 1 must be detected (p = ${r.p})`);
    } finally {
        await e.unload();
    }
});
