#!/usr/bin/env node
// bench/speculative.mjs: speculative vs target-only decoding through the package's engine (model
// workers, greedy, the real coordinator): decode tok/s, speedup, acceptance rate, mean accepted
// length, and the target's cost of verifying K tokens relative to one decode. `make bench-spec`.
//
// Pairs: the embedded pair (models/trit-target + trit-draft, when present) and a random-weight 2b-shape
// target with a random small draft (bench/spec_models.py writes them into build/bench-spec). Greedy
// outputs are checked to be identical to target-only decoding. Writes bench/speculative.json.
//
//   node bench/speculative.mjs [--pairs embedded,random-2b] [--tokens N] [--out FILE]
//                              [--pair NAME=TARGET.gguf,DRAFT.gguf] [--threads N]

import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { createEngine } from '../js/index-node.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };

const PAIRS = {
    embedded: {
        target: path.join(ROOT, 'models/trit-target.tq2_0.gguf'), draft: path.join(ROOT, 'models/trit-draft.tq2_0.gguf'),
        prompts: ['once upon a time', 'the little dog wanted to', 'one day, a girl named lily'], tokens: 128, contextLength: 512,
        configs: ['target', 'adaptive', 'k2', 'k4', 'k4-nopipe'],
    },
    'random-2b': {
        target: path.join(ROOT, 'build/bench-spec/target-2b.tq2_0.gguf'), draft: path.join(ROOT, 'build/bench-spec/draft-small.tq2_0.gguf'),
        prompts: ['Once upon a time'], tokens: 16, contextLength: 512, configs: ['target', 'adaptive', 'k4'], verifyCost: true,
    },
};
for (const a of args.filter((x, i) => args[i - 1] === '--pair')) {
    const [name, files] = a.split('=');
    const [target, draft] = files.split(',');
    PAIRS[name] = { target, draft, prompts: ['Once upon a time'], tokens: 64, contextLength: 512, configs: ['target', 'adaptive', 'k2', 'k4'], verifyCost: true };
}
const CONFIGS = {
    target: false,
    adaptive: { adaptive: true },
    k2: { k: 2, adaptive: false, pipeline: true },
    k4: { k: 4, adaptive: false, pipeline: true },
    'k4-nopipe': { k: 4, adaptive: false, pipeline: false },
};

async function verifyCost(engine) {
    // the target's time for one decode (K=0) and for verifying K draft tokens (K+1 tokens in one batch)
    const T = engine.models.target;
    const base = T.cached.length;
    const out = {};
    for (const k of [0, 1, 2, 4, 8]) {
        const times = [];
        for (let rep = 0; rep < 2; rep++) {
            if (k === 0) await T.call('next', [base, [5]]);
            else await T.call('verify', [base, [5], Int32Array.from({ length: k }, (_, i) => 300 + i), null]);
            times.push(T.lastMs);
            await T.call('feed', [base, []]);
            T.cached.length = base;
        }
        out[k] = Math.min(...times);
    }
    const rel = {};
    for (const k of [1, 2, 4, 8]) rel[`k${k}`] = Math.round(out[k] / out[0] * 100) / 100;
    return { decode_ms: Math.round(out[0]), verify_ms: Object.fromEntries([1, 2, 4, 8].map(k => [`k${k}`, Math.round(out[k])])), relative: rel };
}

async function benchPair(name, p, tokensOverride) {
    for (const f of [p.target, p.draft]) if (!fs.existsSync(f)) return { name, skipped: `${path.relative(ROOT, f)} does not exist` };
    const tokens = tokensOverride || p.tokens;
    const t0 = performance.now();
    const engine = await createEngine({ model: p.target, draft: p.draft, contextLength: p.contextLength,
        ...(opt('threads') ? { threads: Number(opt('threads')) } : {}) });
    const loadMs = performance.now() - t0;
    const res = { name, target: path.relative(ROOT, p.target), draft: path.relative(ROOT, p.draft), tokens, prompts: p.prompts.length,
        load_ms: Math.round(loadMs), target_params: engine.info.model.n_params, draft_params: engine.info.draft.n_params, configs: {} };
    try {
        await engine.completions.create({ prompt: p.prompts[0], max_tokens: 2, temperature: 0 });      // warm up
        const ref = {};
        for (const c of p.configs) {
            let decodeMs = 0, n = 0, acc = 0, prop = 0, rounds = 0, identical = true, totalMs = 0;
            for (const prompt of p.prompts) {
                const r = await engine.completions.create({ prompt, max_tokens: tokens, temperature: 0, return_token_ids: true,
                    speculative: CONFIGS[c] });
                const x = r.usage.extra;
                decodeMs += x.decode_ms;
                totalMs += x.total_ms;
                n += Math.max(0, r.usage.completion_tokens - 1);
                if (c === 'target') ref[prompt] = r.choices[0].token_ids.join();
                else identical = identical && ref[prompt] === r.choices[0].token_ids.join();
                if (x.speculative) { acc += x.speculative.accepted; prop += x.speculative.proposed; rounds += x.speculative.rounds; }
            }
            const tps = decodeMs > 0 ? n / (decodeMs / 1000) : 0;
            res.configs[c] = {
                decode_tokens_per_s: Math.round(tps * 100) / 100, total_ms: Math.round(totalMs),
                ...(c === 'target' ? {} : {
                    speedup: res.configs.target ? Math.round(tps / res.configs.target.decode_tokens_per_s * 100) / 100 : null,
                    acceptance_rate: prop ? Math.round(acc / prop * 1000) / 1000 : 0,
                    mean_accepted_length: rounds ? Math.round(acc / rounds * 100) / 100 : 0,
                    identical_to_target: identical,
                }),
            };
            console.error(`  ${name} ${c}: ${JSON.stringify(res.configs[c])}`);
        }
        if (p.verifyCost) res.verify_cost = await verifyCost(engine);
    } finally {
        await engine.unload();
    }
    return res;
}

const want = (opt('pairs', Object.keys(PAIRS).join(','))).split(',');
const tokens = opt('tokens') ? Number(opt('tokens')) : null;
const out = opt('out', path.join(ROOT, 'bench/speculative.json'));
const results = { date: new Date().toISOString(), host: { cpus: os.cpus().length, model: os.cpus()[0] && os.cpus()[0].model,
    load_avg: os.loadavg().map(x => Math.round(x * 100) / 100), node: process.version }, pairs: [] };
for (const name of want) {
    if (!PAIRS[name]) { console.error(`unknown pair ${name}`); process.exit(2); }
    console.error(`pair ${name}`);
    results.pairs.push(await benchPair(name, PAIRS[name], tokens));
}
fs.writeFileSync(out, JSON.stringify(results, null, 2) + '\n');
// the table
const rows = [['pair', 'config', 'tok/s', 'speedup', 'accept', 'mean acc', 'identical']];
for (const p of results.pairs) {
    if (p.skipped) { rows.push([p.name, `skipped: ${p.skipped}`, '', '', '', '', '']); continue; }
    for (const [c, r] of Object.entries(p.configs)) {
        rows.push([p.name, c, r.decode_tokens_per_s.toFixed(2), r.speedup != null ? `${r.speedup.toFixed(2)}x` : '',
            r.acceptance_rate != null ? r.acceptance_rate.toFixed(3) : '', r.mean_accepted_length != null ? String(r.mean_accepted_length) : '',
            r.identical_to_target === undefined ? '' : String(r.identical_to_target)]);
    }
    if (p.verify_cost) rows.push([p.name, `verify K=1/2/4/8 vs one decode (${p.verify_cost.decode_ms} ms)`,
        Object.values(p.verify_cost.relative).map(x => `${x}x`).join(' / '), '', '', '', '']);
}
const w = rows[0].map((_, i) => Math.max(...rows.map(r => r[i].length)));
for (const r of rows) console.log(r.map((x, i) => x.padEnd(w[i])).join('  ').trimEnd());
console.log(`wrote ${path.relative(ROOT, out)}`);
