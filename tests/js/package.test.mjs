// What ships: `npm pack --dry-run` lists only the whitelisted runtime files (no tests, sources,
// test or debug wasm builds), stays small, every relative import of a shipped module resolves to a
// shipped file, there are no runtime dependencies, and the exports map resolves per condition.
import test from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { ROOT } from './helpers.mjs';

const MAX_PACKED = 5 * 2 ** 20;     // the embedded model pair (2.5 MB) ships too
const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));

test('npm pack ships the whitelisted runtime files only, and small', () => {
    const out = JSON.parse(execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: ROOT, encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'] }))[0];
    const files = out.files.map(f => f.path);
    const allowed = [/^js\/[\w-]+\.mjs$/, /^js\/webgpu\/[\w-]+\.mjs$/, /^js\/index\.d\.ts$/, /^js\/cli\.js$/, /^build\/wasm\/trit-[\w-]+\.wasm$/, /^docs\/js\.md$/, /^models\/trit-(target|draft)\.tq2_0\.gguf$/, /^models\/README\.md$/,
        /^README\.md$/, /^LICENSE$/, /^package\.json$/];
    for (const f of files) assert.ok(allowed.some(r => r.test(f)), `${f} must not ship`);
    assert.ok(!files.some(f => /test|debug|asan|prof/i.test(f)), 'no test or debug builds');
    for (const f of ['js/index-node.mjs', 'js/index-browser.mjs', 'js/worker.mjs', 'js/worker-node.mjs', 'js/index.d.ts',
        'build/wasm/trit-simd.wasm', 'build/wasm/trit-scalar.wasm',
        'models/trit-target.tq2_0.gguf', 'models/trit-draft.tq2_0.gguf']) assert.ok(files.includes(f), `${f} ships`);
    assert.ok(out.size < MAX_PACKED, `packed size ${out.size} bytes`);
    // every relative import in a shipped module points at a shipped file
    for (const f of files.filter(x => x.endsWith('.mjs'))) {
        // (comment lines may show usage examples: skip them)
        const src = fs.readFileSync(path.join(ROOT, f), 'utf8').split('\n').filter(l => !/^\s*(\/\/|\*|\/\*)/.test(l)).join('\n');
        for (const m of src.matchAll(/(?:import|export)\s[^'"]*?from\s+['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)|new URL\(\s*['"](\.\.?\/[^'"]+)['"]\s*,\s*import\.meta\.url/g)) {
            const rel = m[1] || m[2] || m[3];
            const target = path.posix.normalize(path.posix.join(path.posix.dirname(f), rel));
            if (/\$\{/.test(rel)) continue;
            assert.ok(files.includes(target), `${f} imports ${rel}, which does not ship`);
        }
    }
    assert.ok(!pkg.dependencies || Object.keys(pkg.dependencies).length === 0, 'no runtime dependencies');
});

test('the exports map resolves per condition', async () => {
    const resolve = cond => execFileSync(process.execPath, [...(cond ? [`--conditions=${cond}`] : []), '--input-type=module', '-e',
        "console.log(import.meta.resolve('trit'))"], { cwd: ROOT, encoding: 'utf8' }).trim();
    assert.match(resolve(null), /js\/index-node\.mjs$/);
    assert.match(resolve('browser'), /js\/index-browser\.mjs$/);
    const mod = await import('trit');
    assert.equal(typeof mod.createEngine, 'function');
    assert.equal(typeof mod.TritError, 'function');
    const browser = await import('../../js/index-browser.mjs');
    assert.deepEqual(Object.keys(browser).sort(), Object.keys(mod).sort(), 'the same API in both entries');
    assert.equal(typeof (await import('trit/server')).createServer, 'function', 'trit/server is the OpenAI-compatible server');
    await assert.rejects(browser.evaluate({ kind: 'ppl' }), e => e.code === 'UNSUPPORTED', 'evaluate is Node-only');
    const dts = fs.readFileSync(path.join(ROOT, 'js/index.d.ts'), 'utf8');
    for (const name of Object.keys(mod)) assert.match(dts, new RegExp(`export (declare )?(function|class|const|type|interface) ${name}\\b`), `${name} is typed`);
});
