// The package in a real browser (Debian's chromium through playwright-core): module Web Workers,
// streamed download with progress, the Cache API (a second load makes no request), integrity
// failure caching nothing, a File as the model, speculative decoding; results equal Node's.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { chromium } from 'playwright-core';
import { createEngine } from '../../js/index-node.mjs';
import { ROOT, MODELS, model, PROMPTS } from './helpers.mjs';

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const TYPES = { '.mjs': 'text/javascript', '.js': 'text/javascript', '.wasm': 'application/wasm', '.html': 'text/html', '.gguf': 'application/octet-stream' };

function serve() {
    const hits = new Map();
    const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        let file = null;
        if (url.pathname === '/') {
            res.writeHead(200, { 'content-type': 'text/html', 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
            res.end('<!doctype html><title>trit</title>');
            return;
        }
        if (url.pathname.startsWith('/models/')) file = path.join(MODELS, path.basename(url.pathname));
        else if (/^\/(js|build\/wasm)\//.test(url.pathname)) file = path.join(ROOT, url.pathname);
        hits.set(url.pathname, (hits.get(url.pathname) || 0) + 1);
        if (!file || !fs.existsSync(file)) { res.writeHead(404); res.end(); return; }
        const body = fs.readFileSync(file);
        // a cross-origin-isolated deployment: the worker scripts carry COEP too
        res.writeHead(200, { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream', 'content-length': body.length,
            'cross-origin-resource-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' });
        // models go out in pieces so that progress has something to report
        if (url.pathname.startsWith('/models/')) {
            let o = 0;
            const step = () => { if (o >= body.length) return res.end(); res.write(body.subarray(o, o + 131072)); o += 131072; setTimeout(step, 2); };
            step();
        } else res.end(body);
    });
    return new Promise(r => server.listen(0, '127.0.0.1', () => r({ server, hits, base: `http://127.0.0.1:${server.address().port}` })));
}

test('in chromium: workers, progress, Cache API, integrity, File, speculative decoding', async t => {
    if (!fs.existsSync(CHROMIUM)) { t.skip(`no ${CHROMIUM}`); return; }
    const srv = await serve();
    const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'trit-chromium-'));
    let browser = null;
    t.after(async () => {
        if (browser) await browser.close();
        srv.server.close();
        fs.rmSync(profile, { recursive: true, force: true });
    });
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, timeout: 120000,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'] });
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', e => errors.push(e.message));
    await page.goto(srv.base + '/');

    // what Node computes, to compare with
    const node = await createEngine({ model: model('bitnet-tiny-spm.f32.gguf') });
    const body = { prompt: PROMPTS[0], max_tokens: 16, temperature: 0, return_token_ids: true };
    const want = (await node.completions.create(body)).choices[0].token_ids;
    await node.unload();
    const sha = crypto.createHash('sha256').update(fs.readFileSync(model('bitnet-tiny-spm.f32.gguf'))).digest('hex');

    const r = await page.evaluate(async ({ body, sha }) => {
        const { createEngine, detectCapabilities } = await import('/js/index-browser.mjs');
        const out = { caps: await detectCapabilities() };
        const events = [];
        const e1 = await createEngine({ model: '/models/bitnet-tiny-spm.f32.gguf', onProgress: p => events.push(p) });
        out.first = { ids: (await e1.completions.create(body)).choices[0].token_ids, fromCache: e1.info.model.from_cache,
            download: events.filter(p => p.phase === 'download'), route: e1.info.route.reason, build: e1.info.model.build };
        let text = '';
        for await (const c of await e1.completions.create({ ...body, stream: true })) text += c.choices[0].text;
        out.first.streamText = text;
        await e1.unload();
        const ev2 = [];
        const e2 = await createEngine({ model: '/models/bitnet-tiny-spm.f32.gguf', onProgress: p => ev2.push(p) });
        out.second = { ids: (await e2.completions.create(body)).choices[0].token_ids, fromCache: e2.info.model.from_cache,
            phases: [...new Set(ev2.map(p => p.phase))] };
        await e2.unload();
        try {
            await createEngine({ model: { url: '/models/bitnet-tiny-spm.tq2_0.gguf', sha256: sha } });
            out.integrity = 'no error';
        } catch (err) { out.integrity = err.code; }
        const c = await caches.open('trit-models-v1');
        out.cacheKeys = (await c.keys()).map(k => decodeURIComponent(new URL(k.url).searchParams.get('key')));
        // a File, as drag-and-drop gives it
        const bytes = await (await fetch('/models/bitnet-tiny-spm.f32.gguf')).arrayBuffer();
        const e3 = await createEngine({ model: new File([bytes], 'dropped.gguf'), cache: false });
        out.file = (await e3.completions.create(body)).choices[0].token_ids;
        await e3.unload();
        const e4 = await createEngine({ model: '/models/bitnet-tiny-spm.f32.gguf', draft: '/models/bitnet-tiny-spm.tq2_0.gguf' });
        const r4 = await e4.completions.create({ ...body, speculative: { k: 4, adaptive: false } });
        out.spec = { ids: r4.choices[0].token_ids, stats: r4.usage.extra.speculative, draftFromCache: e4.info.draft.from_cache,
            kernels: e4.info.draft.kernels };
        await e4.unload();
        out.cacheKeysAfter = (await c.keys()).length;
        return out;
    }, { body, sha });

    assert.deepEqual(errors, []);
    // the TQ2_0 draft's matrices: TL4 exactly where the loader turned the dot-add kernels on (a speed
    // check decides that, so either is right here), TL otherwise
    const k = r.spec.kernels;
    assert.ok(k && (k.dot_add ? k.tl4 > 0 && k.tl === 0 : k.tl > 0 && k.tl4 === 0), JSON.stringify(k));
    assert.equal(r.caps.platform, 'browser');
    assert.equal(r.caps.simd, true);
    assert.equal(r.caps.workers, true);
    assert.equal(r.caps.crossOriginIsolated, true);
    assert.equal(r.caps.threads, true);
    assert.equal(r.caps.cacheApi, true);
    assert.match(r.first.build, /simd|relaxed/);
    assert.deepEqual(r.first.ids, want, 'the browser computes what Node computes');
    assert.equal(r.first.fromCache, false);
    assert.ok(r.first.download.length >= 2, `${r.first.download.length} progress events`);
    assert.equal(r.first.download[r.first.download.length - 1].loaded, fs.statSync(model('bitnet-tiny-spm.f32.gguf')).size);
    assert.ok(r.first.streamText.length > 0);
    assert.deepEqual(r.second.ids, want);
    assert.equal(r.second.fromCache, true);
    assert.deepEqual(r.second.phases, ['cache', 'ready']);
    assert.equal(r.integrity, 'INTEGRITY');
    // only the f32 download is cached: the failed (integrity) download of tq2_0 left nothing
    assert.deepEqual(r.cacheKeys, [`${srv.base}/models/bitnet-tiny-spm.f32.gguf`]);
    assert.equal(r.spec.draftFromCache, false);
    assert.equal(r.cacheKeysAfter, 2);
    assert.deepEqual(r.file, want);
    assert.deepEqual(r.spec.ids, want);
    assert.ok(r.spec.stats.rounds > 0);
    // the server saw one download of the f32 model through the engine (the later loads came from
    // the cache), plus the page's own fetch for the File test
    assert.equal(srv.hits.get('/models/bitnet-tiny-spm.f32.gguf'), 2);
});
