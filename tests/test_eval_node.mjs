// `import { evaluate } from 'trit'` (js/eval.mjs through the package's Node entry): the same numbers as the native
// CLI's --json, inputs as paths, bytes or objects, errors with codes and line numbers, progress, and
// AbortSignal. Run by `make test-eval`: node --test tests/test_eval_node.mjs
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { evaluate, TritError } from 'trit';          // the package, by its name (self-reference)
import { fmtG, fmtF } from '../js/eval.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const ORACLE = process.env.TRIT_ORACLE || path.resolve(ROOT, '..', 'shared', 'oracle');
const model = name => path.join(ORACLE, 'models', `${name}.gguf`);
const PPL = path.join(ORACLE, 'ppl.txt');
const native = (...args) => JSON.parse(execFileSync(path.join(ROOT, 'build', 'trit'), [...args.map(String), '--json']));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trit-eval-'));

// numbers the CLI printed with %.10g against the doubles evaluate() returns
function close(got, want, where = '') {
    if (typeof want === 'number') {
        assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${where}: ${got} vs ${want}`);
    } else if (want && typeof want === 'object') {
        for (const k of Object.keys(want)) close(got[k], want[k], `${where}.${k}`);
    } else assert.equal(got, want, where);
}

test('printf twins round like glibc', () => {
    assert.equal(fmtF(0.03125, 4), '0.0312');        // exact tie: half to even
    assert.equal(fmtF(0.03135, 4), '0.0314');        // not a tie in binary (0.0313500000000000000014)
    assert.equal(fmtF(2.5, 0), '2');
    assert.equal(fmtF(-1.5, 0), '-2');
    assert.equal(fmtF(29802.03776, 4), '29802.0378');
    assert.equal(fmtG(0.2916666666666667), '0.2916666667');
    assert.equal(fmtG(2.455429236e-9), '2.455429236e-09');
    assert.equal(fmtG(1), '1');
    assert.equal(fmtG(123456789012), '1.23456789e+11');
    assert.equal(fmtG(0.0001), '0.0001');
    assert.equal(fmtG(0.00001), '1e-05');
    assert.equal(fmtG(9999999999.5), '1e+10');
});

test('ppl and kld: the native CLI numbers; model and base as bytes', async () => {
    const base = path.join(tmp, 'base.logits');
    const progress = [];
    const r = await evaluate({ model: model('llama-tiny-spm.f32'), kind: 'ppl', file: PPL, ctx: 128, chunks: 2,
        saveLogits: base, onProgress: p => progress.push(p) });
    const want = native('eval', 'ppl', '-m', model('llama-tiny-spm.f32'), '-f', PPL, '-c', 128, '--chunks', 2,
        '--save-logits', path.join(tmp, 'native.logits'));
    close(r, { ...want, save_logits: base });
    assert.deepEqual(progress, [{ done: 1, total: 2 }, { done: 2, total: 2 }]);
    assert.ok(fs.readFileSync(base).equals(fs.readFileSync(path.join(tmp, 'native.logits'))));
    const k = await evaluate({ model: fs.readFileSync(model('llama-tiny-spm.tq2_0')), kind: 'kld', base: fs.readFileSync(base) });
    const kw = native('eval', 'kld', '-m', model('llama-tiny-spm.tq2_0'), '--base', base);
    close(k, { ...kw, base: null });
    assert.ok(k.kld.mean > 0 && k.same_top > 0.8);
    // text as a string, no saved logits
    const t = await evaluate({ model: model('llama-tiny-spm.tq2_0'), kind: 'ppl', text: fs.readFileSync(PPL, 'utf8'), ctx: 64, chunks: 1 });
    close(t, native('eval', 'ppl', '-m', model('llama-tiny-spm.tq2_0'), '-f', PPL, '-c', 64, '--chunks', 1));
});

test('kld: a vocabulary mismatch is a TritError with its code', async () => {
    const base = path.join(tmp, 'base.logits');
    await assert.rejects(evaluate({ model: model('bitnet-tiny-bpe.f32'), kind: 'kld', base }),
        e => e instanceof TritError && e.code === 'VOCAB_MISMATCH' && /vocabulary mismatch/.test(e.message));
    await assert.rejects(evaluate({ model: model('bitnet-tiny-bpe.f32'), kind: 'kld', base: new Uint8Array(10) }),
        e => e.code === 'BAD_DATA' && /not a trit saved-logits file/.test(e.message));
});

const QUESTIONS = [
    { context: 'Once upon a time there was a', choices: ['little girl', 'purple elephant', 'xqz'], label: 0 },
    { question: 'Which is a gas?', choices: { text: ['ice', 'steam'], label: ['A', 'B'] }, answerKey: 'B' },
    { question: '2+2?', choices: ['3', '4', '5'], answer: 1 },
];

test('mc: objects, JSONL text and a path give the native numbers; details', async () => {
    const file = path.join(tmp, 'task.jsonl');
    fs.writeFileSync(file, QUESTIONS.map(q => JSON.stringify(q)).join('\n') + '\n');
    const want = native('eval', 'mc', '-m', model('bitnet-tiny-spm.tq2_0'), '-f', file);
    const a = await evaluate({ model: model('bitnet-tiny-spm.tq2_0'), kind: 'mc', task: QUESTIONS, details: true });
    close(a, { ...want, task: 'task' });
    assert.equal(a.questions.length, 3);
    assert.deepEqual(a.questions.map(q => q.label), [0, 1, 1]);
    for (const q of a.questions) assert.equal(q.pred, q.loglik.indexOf(Math.max(...q.loglik)));
    const b = await evaluate({ model: model('bitnet-tiny-spm.tq2_0'), kind: 'mc', task: fs.readFileSync(file, 'utf8'), limit: 2 });
    assert.equal(b.n, 2);
    close(await evaluate({ model: model('bitnet-tiny-spm.tq2_0'), kind: 'mc', task: file }), want);
});

test('mc: a malformed question names its line', async () => {
    await assert.rejects(
        evaluate({ model: model('bitnet-tiny-spm.tq2_0'), kind: 'mc', task: [QUESTIONS[0], { context: 'x', choices: ['a'], label: 0 }] }),
        e => e instanceof TritError && e.code === 'BAD_DATA' && e.details.line === 2 &&
            /^task:2: "choices" needs at least 2/.test(e.message));
    await assert.rejects(evaluate({ model: model('bitnet-tiny-spm.tq2_0'), kind: 'nope' }), e => e.code === 'BAD_ARGUMENT');
    await assert.rejects(evaluate({ model: path.join(tmp, 'missing.gguf'), kind: 'mc', task: QUESTIONS }),
        e => e.code === 'LOAD_FAILED' && /cannot open/.test(e.message));
    await assert.rejects(evaluate({ model: model('bitnet-tiny-spm.tq2_0'), kind: 'mc', ctx: 8,
        task: [{ context: 'once upon a time there was', choices: ['a', 'b'], label: 0 }] }),
    e => e.code === 'CONTEXT_LENGTH_EXCEEDED' && e.details.line === 1);
});

test('AbortSignal stops an evaluation with an AbortError', async () => {
    const pre = AbortSignal.abort();
    await assert.rejects(evaluate({ model: model('llama-tiny-spm.tq2_0'), kind: 'ppl', file: PPL, ctx: 64, signal: pre }),
        e => e.name === 'AbortError');
    const ac = new AbortController();
    let seen = 0;
    await assert.rejects(evaluate({ model: model('llama-tiny-spm.tq2_0'), kind: 'ppl', file: PPL, ctx: 64, signal: ac.signal,
        onProgress: ({ done }) => { seen = done; if (done === 2) ac.abort(); } }), e => e.name === 'AbortError');
    assert.equal(seen, 2, 'stopped right after the chunk that saw the abort');
});
