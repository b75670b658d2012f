// demo.test.mjs: the offline chat demo (web/) in headless Debian chromium, driven like a person would:
// keyboard and clicks on the real page, served by the real server (tools/serve.mjs, as `make demo`),
// the real package, wasm and service worker. The steps run in order on one browser profile:
//   load (service worker, cross-origin isolation, installability, labels) -> a streamed answer ->
//   stop -> stats (speculative on/off, fixed K) -> a GGUF from a URL -> a dropped GGUF file -> corrupt
//   files show an error and the app keeps working -> offline: the server is shut down and the context
//   set offline, the page reloads from the service worker and still answers (built-in pair, and the
//   URL model from the package's cache) -> delete stored models -> screenshots (desktop, phone).
// Models: the demo's own pair as tools/build_web.mjs picks it (models/ when it has the embedded pair,
// else two oracle test models); the URL/drop/corrupt cases use other oracle files.
// Screenshots land in build/screenshots/ (not committed): demo-desktop, demo-phone,
// demo-phone-settings, demo-error. Look at them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ISOLATION_HEADERS, launchChromium, startServer } from './lib.mjs';
import { buildWeb, ORACLE } from '../../tools/build_web.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const SHOTS = path.join(ROOT, 'build/screenshots');
const FIXTURES = path.join(ORACLE, 'models');
const URL_MODEL = 'bitnet-tiny-bpe.tq2_0.gguf';       // loaded by URL
const DROP_MODEL = 'bitnet-tiny-spm.tq1_0.gguf';      // dropped as a file
const STEP_MS = 60000;

let web, srv, b, page, tmp, builtinLine;
const requests = [];

/** The page's state as the app reports it on <body data-state>. */
const waitReady = (ms = STEP_MS) => page.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: ms });

async function visibleError() {
    return page.evaluate(() => {
        const e = document.getElementById('error');
        return e.hidden ? null : { title: document.getElementById('error-title').textContent, text: document.getElementById('error-text').textContent };
    });
}

/**
 * Types a prompt and sends it with Enter; resolves when the answer is complete with
 * {text, meta, finish, updates (text changes seen while streaming)}. opts.stopAfter: press Stop (or
 * Escape with opts.key) once this many updates were seen.
 */
async function ask(prompt, opts = {}) {
    const before = await page.locator('.msg.assistant').count();
    await page.evaluate(({ stopAfter, key }) => {
        // count the text changes of the next answer while it streams; with stopAfter, stop it (the Stop
        // button, or the key on the focused element) at that update, from inside the page: the embedded
        // models decode their whole 256-token context faster than a round trip from the test would take
        window.__updates = 0;
        let stopped = false;
        window.__obs && window.__obs.disconnect();
        window.__obs = new MutationObserver(() => {
            const last = [...document.querySelectorAll('.msg.assistant')].pop();
            if (last && last.classList.contains('streaming') && last.querySelector('.text').textContent) window.__updates++;
            if (stopAfter && !stopped && window.__updates >= stopAfter) {
                stopped = true;
                if (key) (document.activeElement || document.body).dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true }));
                else document.getElementById('stop').click();
            }
        });
        window.__obs.observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
    }, { stopAfter: opts.stopAfter || 0, key: opts.key || null });
    await page.focus('#prompt');
    await page.keyboard.type(prompt);
    await page.keyboard.press('Enter');
    await page.waitForFunction(n => document.querySelectorAll('.msg.assistant').length > n, before, { timeout: STEP_MS });
    await page.waitForFunction(() => {
        const last = [...document.querySelectorAll('.msg.assistant')].pop();
        return last && last.dataset.finish && document.body.dataset.state === 'ready';
    }, null, { timeout: STEP_MS });
    return page.evaluate(() => {
        const last = [...document.querySelectorAll('.msg.assistant')].pop();
        return { text: last.querySelector('.text').textContent, meta: last.querySelector('.meta').textContent,
            finish: last.dataset.finish, updates: window.__updates };
    });
}

const stats = () => page.evaluate(() => Object.fromEntries(['speed', 'tokens', 'accept', 'route']
    .map(k => [k, document.getElementById(`stat-${k}`).textContent])));

async function setSelect(id, value) {
    await page.selectOption(`#${id}`, value);
}

async function setMaxTokens(n) {
    await page.fill('#max-tokens', String(n));
    await page.dispatchEvent('#max-tokens', 'change');
}

async function openPanelIfNarrow() {
    if (await page.isVisible('#panel-toggle') && !(await page.getAttribute('#panel-toggle', 'aria-expanded') === 'true')) await page.click('#panel-toggle');
}

/** Sends a file in 20 pieces 80 ms apart (so a download's progress can be watched). */
function slowly(res, file) {
    const data = fs.readFileSync(file);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': data.length, ...ISOLATION_HEADERS });
    const n = 20, step = Math.ceil(data.length / n);
    let i = 0;
    const next = () => {
        if (res.destroyed) return;
        if (i * step >= data.length) { res.end(); return; }
        res.write(data.subarray(i * step, (i + 1) * step));
        i++;
        setTimeout(next, 80);
    };
    next();
    return true;
}

const storedNames = () => page.$$eval('#stored li .name', ns => ns.map(n => n.textContent));

describe('chat demo in chromium', () => {
    before(async () => {
        tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'trit-demo-test-'));
        // a tree of its own, so a `make demo` serving build/web is not disturbed
        web = buildWeb({ out: path.join(ROOT, 'build/test-web'), quiet: true });
        console.log(`demo models: ${web.models.target.name} + ${web.models.draft.name}${web.embedded ? ' (embedded pair)' : ' (oracle fallback: models/ lacks the embedded pair)'}`);
        const good = fs.readFileSync(path.join(FIXTURES, URL_MODEL));
        fs.writeFileSync(path.join(tmp, 'truncated.gguf'), good.subarray(0, Math.floor(good.length * 0.6)));
        srv = await startServer({
            root: web.out, mounts: { '/fixtures/': FIXTURES },
            handler: (req, res) => {
                requests.push(req.url);
                return req.url.startsWith('/slow/') && slowly(res, path.join(FIXTURES, path.basename(req.url)));
            },
        });
        b = await launchChromium({ timeout: STEP_MS });
        page = b.page;
        await page.setViewportSize({ width: 1280, height: 860 });
    });

    after(async () => {
        if (b) await b.close();
        if (srv) await srv.close();
        if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
    });

    it('loads: service worker saves the app, the page is cross-origin isolated, installable, controls labelled', async () => {
        await page.goto(`${srv.url}/`);
        await waitReady();
        assert.equal(await page.title(), 'trit chat');
        builtinLine = await page.textContent('#model-line');
        const s = await page.evaluate(() => ({ coi: crossOriginIsolated, sab: typeof SharedArrayBuffer === 'function',
            controlled: !!navigator.serviceWorker.controller, ...window.tritDemo.state }));
        assert.equal(s.coi, true, 'crossOriginIsolated under the demo server');
        assert.equal(s.sab, true);
        assert.equal(s.controlled, true, 'the service worker controls the page after the first visit');
        assert.equal(s.offline, 'ready');
        assert.equal(s.route.kind, 'local');
        assert.equal(s.route.backend, 'wasm');
        assert.equal(s.route.capabilities.threads, true, 'threads are possible (SharedArrayBuffer + isolation)');
        // The route must say threads exactly when the package ships a threaded build (the -mt twins of
        // mk/wasm.mk: trit-simd-mt.wasm, trit-relaxed-mt.wasm), and then they must be used.
        const threadedBuild = web.files.some(f => /^build\/wasm\/trit-[a-z]+-mt\.wasm$/.test(f));
        assert.ok(threadedBuild, 'build/web ships a threaded wasm build');
        assert.equal(s.route.threads, threadedBuild, `route: ${s.route.reason}`);
        console.log(`route: ${s.route.reason}`);
        const routeText = await page.textContent('#stat-route');
        assert.match(routeText, threadedBuild ? /threads/ : /single-thread/);
        // "dot-add" exactly where the core took those kernels (the loader's speed check decides)
        const kernels = await page.evaluate(() => window.tritDemo.engine.info.model.kernels);
        assert.equal(/dot-add/.test(routeText), !!(kernels && kernels.dot_add), JSON.stringify(kernels));
        console.log(`kernels: ${JSON.stringify(kernels)}; shown: ${routeText}`);
        // the models were downloaded once (by the service worker), not a second time by the engine
        const modelGets = requests.filter(u => u.startsWith('/models/'));
        assert.deepEqual(modelGets.sort(), [`/${web.models.draft.url}`, `/${web.models.target.url}`].sort());
        // installability as chromium judges it (manifest, icons, service worker with fetch handler)
        const cdp = await page.context().newCDPSession(page);
        const { installabilityErrors } = await cdp.send('Page.getInstallabilityErrors');
        assert.deepEqual(installabilityErrors, []);
        const manifest = await cdp.send('Page.getAppManifest');
        assert.deepEqual(manifest.errors, []);
        // every form control has a label, every button a name
        const unlabelled = await page.evaluate(() => [
            ...[...document.querySelectorAll('input, select, textarea')].filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.id),
            ...[...document.querySelectorAll('button')].filter(e => !e.textContent.trim() && !e.getAttribute('aria-label')).map(e => e.id),
        ]);
        assert.deepEqual(unlabelled, []);
        assert.ok(!b.logs.some(l => l.startsWith('[pageerror]')), b.logs.join('\n'));
    });

    it('a prompt gets a streamed answer', async () => {
        await setMaxTokens(48);
        const r = await ask('once upon a time');
        assert.ok(r.text.length > 0, 'an answer');
        assert.ok(r.updates >= 3, `the answer arrived in pieces (${r.updates} updates)`);
        assert.match(r.meta, /\d+ tokens/);
        assert.ok(['length', 'stop'].includes(r.finish), r.finish);
        assert.equal(await visibleError(), null);
    });

    it('stop ends the answer early (button and Escape), and the next prompt works', async () => {
        await setMaxTokens(4096);
        for (const key of [undefined, 'Escape']) {
            // the toy model sometimes ends its answer (EOS, finish 'stop') within a few tokens, before the
            // stop reaches the worker: such a try proves nothing either way, so up to 3 tries; a stop that
            // does not work fails every one
            let r = null;
            for (let t = 0; t < 3 && (!r || r.finish === 'stop'); t++) r = await ask(' and then', { stopAfter: 4, key });
            assert.equal(r.finish, 'stopped', key || 'Stop button');
            assert.match(r.meta, /stopped/);
            const n = Number(/(\d+) tokens?/.exec(r.meta)[1]);
            assert.ok(n > 0 && n < 200, `stopped after ${n} tokens`);
        }
        assert.equal(await page.isVisible('#stop'), false);
        assert.equal(await page.isEnabled('#send'), true);
        await setMaxTokens(32);
        const r = await ask(' the end');
        assert.notEqual(r.finish, 'stopped');
    });

    it('long conversations keep working: the start is left out when the context is full', async () => {
        const nCtx = await page.evaluate(() => window.tritDemo.engine.info.model.n_ctx);
        await setMaxTokens(Math.min(4096, Math.floor(nCtx / 2)));
        await page.click('#new-chat');
        let r = null;
        for (let turn = 0; turn < 12; turn++) {
            r = await ask(turn ? ' and then' : 'once upon a time');
            assert.equal(await visibleError(), null, `turn ${turn}`);
            assert.ok(r.text.length > 0, `turn ${turn} answered`);
            if (/left out/.test(r.meta)) break;
        }
        assert.match(r.meta, new RegExp(`the start of the conversation was left out \\(the model sees ${nCtx} tokens\\)`));
    });

    it('stats show speed, tokens, acceptance and route; speculative settings apply', async () => {
        await openPanelIfNarrow();
        await page.check('#speculative');
        await setSelect('spec-k', '2');
        await setMaxTokens(40);
        await page.click('#new-chat');
        let r = await ask('a little dog');
        let s = await stats();
        assert.match(s.speed, /^\d+(\.\d)? tok\/s$/);
        assert.ok(Number(s.tokens) > 0);
        assert.match(s.accept, /^\d+% of \d+ draft tokens \(K 2\)$/, 'fixed K=2');
        assert.match(s.route, /^wasm (SIMD|SIMD \(relaxed\)|scalar) · (single-thread|threads)/);
        assert.match(r.meta, /accepted \d+%/);
        await page.uncheck('#speculative');
        r = await ask(' ran');
        s = await stats();
        assert.equal(s.accept, 'speculative off');
        await page.check('#speculative');
        await setSelect('spec-k', 'auto');
        r = await ask(' home');
        s = await stats();
        assert.match(s.accept, /adaptive/);
        // the backend setting reloads the engine on that build, keeping the conversation
        const n = await page.locator('.msg').count();
        await setSelect('backend', 'wasm:scalar');
        await page.waitForFunction(() => window.tritDemo.state.route.build === 'scalar', null, { timeout: STEP_MS });
        await waitReady();
        assert.equal(await page.locator('.msg').count(), n);
        r = await ask(' again');
        assert.ok(r.text.length > 0);
        assert.match((await stats()).route, /^wasm scalar/);
        await setSelect('backend', 'auto');
        // auto: the best SIMD build the page runs (relaxed where it validates; the -mt twin when isolated)
        await page.waitForFunction(() => /^(simd|relaxed)(-mt)?$/.test(window.tritDemo.state.route.build), null, { timeout: STEP_MS });
        await waitReady();
    });

    it('a GGUF loaded from a URL works and is remembered with its size', async () => {
        const before = requests.length;
        await page.fill('#model-url', `${srv.url}/slow/${URL_MODEL}`);
        await page.click('#url-load');
        // the download's progress shows while it runs
        await page.waitForFunction(() => {
            const p = document.querySelector('#progress-list progress');
            return p && p.value > 0 && p.value < p.max;
        }, null, { timeout: STEP_MS });
        assert.match(await page.textContent('#progress-list'), /downloading · [\d.]+ KB of 836 KB/);
        await waitReady();
        assert.equal(await page.isHidden('#loading'), true);
        assert.equal(await visibleError(), null);
        assert.ok(requests.slice(before).includes(`/slow/${URL_MODEL}`));
        assert.match(await page.textContent('#model-line'), /bitnet-tiny-bpe/);
        assert.equal(await page.isDisabled('#speculative'), true, 'no draft for a URL model');
        const r = await ask('hello');
        assert.ok(r.text.length > 0);
        assert.equal((await stats()).accept, 'no draft');
        const size = fs.statSync(path.join(FIXTURES, URL_MODEL)).size;
        const row = page.locator('#stored li', { hasText: URL_MODEL });
        await row.waitFor();
        assert.match(await row.textContent(), new RegExp(`${Math.round(size / 1024)} KB`));
    });

    it('a GGUF dropped on the page (while it answers) works and is remembered', async () => {
        // a long answer is running when the file is dropped: it stops, then the new model loads
        await setMaxTokens(4096);
        const bytes = fs.readFileSync(path.join(FIXTURES, DROP_MODEL)).toString('base64');
        // the drop happens from inside the page at the answer's first streamed text (the embedded
        // models fill their 256-token context faster than a round trip from the test)
        await page.evaluate(({ bytes, name }) => {
            const bin = Uint8Array.from(atob(bytes), c => c.charCodeAt(0));
            window.__dropObs && window.__dropObs.disconnect();
            window.__droppedWhile = null;
            window.__dropObs = new MutationObserver(() => {
                const last = [...document.querySelectorAll('.msg.assistant')].pop();
                if (!(last && last.classList.contains('streaming') && last.querySelector('.text').textContent.length > 0)) return;
                window.__dropObs.disconnect();
                window.__droppedWhile = document.body.dataset.state;
                const dt = new DataTransfer();
                dt.items.add(new File([bin], name, { type: 'application/octet-stream' }));
                for (const type of ['dragenter', 'dragover', 'drop']) {
                    document.querySelector('#messages').dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
                }
            });
            window.__dropObs.observe(document.getElementById('messages'), { subtree: true, childList: true, characterData: true });
        }, { bytes, name: DROP_MODEL });
        await page.fill('#prompt', 'tell me more');
        await page.press('#prompt', 'Enter');
        await page.waitForFunction(() => /bitnet-tiny-spm/.test(document.getElementById('model-line').textContent), null, { timeout: STEP_MS });
        await waitReady();
        assert.equal(await visibleError(), null);
        assert.ok(await page.evaluate(() => window.__droppedWhile) !== null, 'the file was dropped while the answer streamed');
        assert.equal(await page.$$eval('.msg', ms => ms.length), 0, 'a new model starts a new chat');
        await setMaxTokens(32);
        assert.equal(await page.isHidden('#drop'), true, 'the drop overlay is gone');
        const r = await ask('hello');
        assert.ok(r.text.length > 0);
        await page.locator('#stored li', { hasText: `${DROP_MODEL} (file)` }).waitFor();
    });

    it('corrupt files show an error in plain words and the app keeps working', async () => {
        const line = await page.textContent('#model-line');
        const cases = [
            { name: 'notes.gguf', buffer: Buffer.from('this is not a model, just some text\n'.repeat(100)) },
            { name: 'truncated.gguf', buffer: fs.readFileSync(path.join(tmp, 'truncated.gguf')) },
        ];
        for (const c of cases) {
            await page.setInputFiles('#model-file', { name: c.name, mimeType: 'application/octet-stream', buffer: c.buffer });
            await page.waitForFunction(() => !document.getElementById('error').hidden && document.body.dataset.state === 'ready', null, { timeout: STEP_MS });
            const e = await visibleError();
            assert.equal(e.title, 'This file is not a model the app can run', `${c.name}: ${JSON.stringify(e)}`);
            assert.equal(await page.textContent('#model-line'), line, 'the previous model stays');
            if (c === cases[0]) {
                fs.mkdirSync(SHOTS, { recursive: true });
                await page.screenshot({ path: path.join(SHOTS, 'demo-error.png') });
            }
            await page.click('#error-close');
            const r = await ask(' more');
            assert.ok(r.text.length > 0, `answers after ${c.name}`);
        }
        assert.ok(!(await storedNames()).some(n => /notes|truncated/.test(n)), 'broken files are not remembered');
        // an address that does not exist
        await page.fill('#model-url', `${srv.url}/fixtures/no-such-model.gguf`);
        await page.click('#url-load');
        await page.waitForFunction(() => !document.getElementById('error').hidden && document.body.dataset.state === 'ready', null, { timeout: STEP_MS });
        assert.equal((await visibleError()).title, 'The model could not be downloaded');
        assert.equal(await page.textContent('#model-line'), line);
        await page.click('#error-close');
    });

    it('works offline: no server, network off, reload, still answers (built-in and saved models)', async () => {
        await srv.close();
        srv = null;
        await page.context().setOffline(true);
        await page.reload();
        await waitReady();
        const s = await page.evaluate(() => ({ coi: crossOriginIsolated, controlled: !!navigator.serviceWorker.controller, ...window.tritDemo.state }));
        assert.equal(s.controlled, true);
        assert.equal(s.coi, true, 'still cross-origin isolated from the service worker\'s cached responses');
        assert.equal(await page.textContent('#model-line'), builtinLine, 'the built-in pair again');
        await setMaxTokens(24);
        const r = await ask('once upon a time');
        assert.ok(r.text.length > 0, 'an answer offline');
        // the model loaded by URL comes from the package's cache
        await openPanelIfNarrow();
        await page.locator('#stored li', { hasText: URL_MODEL }).getByRole('button', { name: `Use ${URL_MODEL}` }).click();
        await waitReady();
        assert.equal(await visibleError(), null);
        assert.match(await page.textContent('#model-line'), /bitnet-tiny-bpe/);
        const r2 = await ask('hello');
        assert.ok(r2.text.length > 0, 'the saved URL model answers offline');
        // screenshots of a chat at desktop and phone width
        await page.click('#use-builtin');
        await waitReady();
        await ask('once upon a time');
        await ask(' and then');
        fs.mkdirSync(SHOTS, { recursive: true });
        await page.evaluate(() => { document.getElementById('panel').scrollTop = 0; });
        await page.screenshot({ path: path.join(SHOTS, 'demo-desktop.png') });
        await page.setViewportSize({ width: 390, height: 844 });
        const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
        assert.ok(overflow <= 0, `no horizontal scrolling at phone width (${overflow}px too wide)`);
        await page.screenshot({ path: path.join(SHOTS, 'demo-phone.png') });
        await page.click('#panel-toggle');
        assert.equal(await page.getAttribute('#panel-toggle', 'aria-expanded'), 'true');
        assert.equal(await page.isVisible('#temperature'), true);
        await page.screenshot({ path: path.join(SHOTS, 'demo-phone-settings.png') });
        await page.keyboard.press('Escape');
        assert.equal(await page.isVisible('#temperature'), false, 'Escape closes the panel');
        await page.setViewportSize({ width: 1280, height: 860 });
    });

    it('stored models can be deleted', async () => {
        for (const name of [URL_MODEL, DROP_MODEL]) {
            await page.getByRole('button', { name: `Delete ${name}` }).click();
            await page.waitForFunction(n => ![...document.querySelectorAll('#stored .name')].some(e => e.textContent.startsWith(n)), name);
        }
        const left = await page.evaluate(async () => (await (await caches.open('trit-demo-files-v1')).keys()).length +
            (await (await caches.open('trit-models-v1')).keys()).length);
        assert.equal(left, 0, 'the device storage is empty again');
        assert.ok(!b.logs.some(l => l.startsWith('[pageerror]')), b.logs.filter(l => l.startsWith('[pageerror]')).join('\n'));
    });
});

// A static host that cannot send COOP/COEP: the app still works (single-threaded), and from the
// second load on the service worker's responses carry the headers, so the page is isolated.
describe('chat demo on a host without COOP/COEP headers', () => {
    let srv2, b2;
    const seen = [];
    before(async () => {
        if (!web) web = buildWeb({ out: path.join(ROOT, 'build/test-web'), quiet: true });
        srv2 = await startServer({ root: web.out, isolate: false, handler: req => { seen.push(req.url); return false; } });
        b2 = await launchChromium({ timeout: STEP_MS });
    });
    after(async () => {
        if (b2) await b2.close();
        if (srv2) await srv2.close();
    });

    it('answers without isolation, then the service worker isolates the page', async () => {
        const p = b2.page;
        const ready = () => p.waitForFunction(() => document.body.dataset.state === 'ready', null, { timeout: STEP_MS });
        await p.goto(`${srv2.url}/`);
        await ready();
        assert.equal(await p.evaluate(() => crossOriginIsolated), false);
        assert.match(await p.textContent('#backend-hint'), /threads: no/);
        assert.equal(await p.evaluate(() => window.tritDemo.state.route.threads), false);
        await p.fill('#max-tokens', '16');
        await p.dispatchEvent('#max-tokens', 'change');
        await p.fill('#prompt', 'once upon a time');
        await p.press('#prompt', 'Enter');
        await p.waitForFunction(() => document.querySelector('.msg.assistant[data-finish]') && document.body.dataset.state === 'ready',
            null, { timeout: STEP_MS });
        assert.ok((await p.textContent('.msg.assistant .text')).length > 0);
        await p.reload();
        await ready();
        assert.equal(await p.evaluate(() => crossOriginIsolated), true, 'isolated by the service worker');
        assert.ok(!b2.logs.some(l => l.startsWith('[pageerror]')), b2.logs.join('\n'));
    });

    it('an app update reuses the unchanged files (the models are not downloaded again)', async () => {
        const p = b2.page;
        // a new version whose files are all unchanged: only sw.js differs
        const swPath = path.join(web.out, 'sw.js');
        const sw = fs.readFileSync(swPath, 'utf8');
        fs.writeFileSync(swPath, sw.replace(/"version":"([0-9a-f]+)"/, (m, v) => `"version":"${v}-2"`));
        try {
            const n = seen.length;
            const version = await p.evaluate(async () => {
                const reg = await navigator.serviceWorker.getRegistration();
                const changed = new Promise(r => navigator.serviceWorker.addEventListener('controllerchange', r, { once: true }));
                await reg.update();
                await changed;
                const sw = navigator.serviceWorker.controller;         // in control from activation's start
                if (sw.state !== 'activated') await new Promise(r => sw.addEventListener('statechange', () => sw.state === 'activated' && r()));
                return (await caches.keys()).filter(k => k.startsWith('trit-demo-') && k !== 'trit-demo-files-v1');
            });
            assert.equal(version.length, 1, `one app cache after the update: ${version}`);
            assert.match(version[0], /-2$/);
            assert.deepEqual(seen.slice(n).filter(u => u !== '/sw.js'), [], 'nothing but sw.js was fetched');
        } finally {
            fs.writeFileSync(swPath, sw);
        }
    });
});
