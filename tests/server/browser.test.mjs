// The browser router's remote route against the real server, in a real browser (Debian's chromium
// driven by playwright-core): a page on another origin asks for a model too big for the device, the
// router falls back to the configured server, and the answer equals the engine's own. The server's
// --cors list decides which origins may call it: a page from an origin not on it gets a NETWORK error.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import os from 'node:os';
import { chromium } from 'playwright-core';
import { startServer, directEngine, ROOT } from './helpers.mjs';

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'];

/** A static server for the package's js/ and a test page, on 127.0.0.1 (port 0). */
async function pageServer() {
    const page = '<!doctype html><meta charset="utf-8"><title>trit remote</title><script type="module">' +
        "import * as trit from '/js/index-browser.mjs'; window.trit = trit; window.tritReady = true;</script>";
    const s = http.createServer((req, res) => {
        const u = new URL(req.url, 'http://x');
        if (u.pathname === '/') { res.writeHead(200, { 'content-type': 'text/html' }); res.end(page); return; }
        const f = path.join(ROOT, path.normalize(u.pathname));
        if (!u.pathname.startsWith('/js/') || !f.startsWith(ROOT) || !fs.existsSync(f)) { res.writeHead(404); res.end(); return; }
        res.writeHead(200, { 'content-type': 'text/javascript' });
        res.end(fs.readFileSync(f));
    });
    await new Promise(r => s.listen(0, '127.0.0.1', r));
    return { url: `http://127.0.0.1:${s.address().port}`, close: () => new Promise(r => s.close(r)) };
}

test('browser: the router falls back to trit serve across origins (CORS), answers as the engine does', { skip: !fs.existsSync(CHROMIUM) && 'no chromium' }, async t => {
    const allowed = await pageServer();
    const other = await pageServer();
    t.after(() => Promise.all([allowed.close(), other.close()]));
    const srv = await startServer(['--api-key', 'browser-key', '--cors', allowed.url]);
    t.after(() => srv.stop());
    const direct = await directEngine();
    t.after(() => direct.unload());
    const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trit-chromium-'));
    const ctx = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, args: ARGS, headless: true });
    t.after(async () => { await ctx.close(); fs.rmSync(userDataDir, { recursive: true, force: true }); });

    const body = { messages: [{ role: 'user', content: 'Tell me about mountains.' }], max_tokens: 10, temperature: 0 };
    const want = (await direct.chat.completions.create(body)).choices[0].message.content;

    // in the page: a 6 GB model cannot run in wasm, so the router takes the configured remote
    const inPage = async (origin) => {
        const page = await ctx.newPage();
        try {
            await page.goto(origin + '/');
            await page.waitForFunction(() => window.tritReady === true);
            return await page.evaluate(async ({ base, body }) => {
                const { createEngine } = window.trit;
                try {
                    const engine = await createEngine({ model: { url: '/huge.gguf', size: 6 * 2 ** 30 }, remote: { baseURL: base, apiKey: 'browser-key' } });
                    const r = await engine.chat.completions.create(body);
                    let streamed = '';
                    for await (const c of await engine.chat.completions.create({ ...body, stream: true })) {
                        streamed += (c.choices[0] && c.choices[0].delta.content) || '';
                    }
                    return { route: engine.info.route.kind, reason: engine.info.route.reason, text: r.choices[0].message.content, streamed };
                } catch (e) {
                    return { error: e.code || e.name, message: e.message };
                }
            }, { base: srv.base, body });
        } finally {
            await page.close();
        }
    };

    const ok = await inPage(allowed.url);
    assert.equal(ok.error, undefined, ok.message);
    assert.equal(ok.route, 'remote');
    assert.match(ok.reason, /4 GB/);
    assert.equal(ok.text, want);
    assert.equal(ok.streamed, want);

    const refused = await inPage(other.url);
    assert.equal(refused.error, 'NETWORK', JSON.stringify(refused));
    // the server is fine, and the allowed origin still works
    const again = await inPage(allowed.url);
    assert.equal(again.text, want);
});
