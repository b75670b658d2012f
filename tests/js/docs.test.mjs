// docs/js.md's and README.md's examples run: every ```js block that imports 'trit' is executed with Node (from
// inside the package, so 'trit' resolves through the exports map), with the embedded pair's paths
// pointed at test fixtures when models/ does not have them.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT, model } from './helpers.mjs';

// docs/js.md first (example numbers count there), then the README's
const doc = ['docs/js.md', 'README.md'].map(f => fs.readFileSync(path.join(ROOT, f), 'utf8')).join('\n');
const blocks = [...doc.matchAll(/```js\n([\s\S]*?)```/g)].map(m => m[1]).filter(b => /from 'trit'/.test(b));
const have = f => fs.existsSync(path.join(ROOT, f));
const TARGET = have('models/trit-target.tq2_0.gguf') ? path.join(ROOT, 'models/trit-target.tq2_0.gguf') : model('bitnet-tiny-spm.tq2_0.gguf');
const DRAFT = have('models/trit-draft.tq2_0.gguf') ? path.join(ROOT, 'models/trit-draft.tq2_0.gguf') : model('bitnet-tiny-spm.tq1_0.gguf');

test('docs/js.md has runnable examples', () => assert.ok(blocks.length >= 3, `${blocks.length} examples`));

blocks.forEach((code, i) => {
    test(`docs/js.md example ${i + 1} runs`, () => {
        const dir = path.join(ROOT, 'build', 'docs-examples');
        fs.mkdirSync(dir, { recursive: true });
        const file = path.join(dir, `example-${i + 1}.mjs`);
        fs.writeFileSync(file, code.replaceAll("'models/trit-target.tq2_0.gguf'", JSON.stringify(TARGET))
            .replaceAll("'models/trit-draft.tq2_0.gguf'", JSON.stringify(DRAFT)));
        const out = execFileSync(process.execPath, [file], { cwd: ROOT, encoding: 'utf8', timeout: 120000 });
        assert.ok(out.trim().length > 0, 'it printed something');
    });
});
