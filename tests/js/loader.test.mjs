// The loader against a real HTTP server on 127.0.0.1 serving a fixture: progress events, the cache
// (a second load makes no request), integrity (a wrong SHA-256 is an INTEGRITY error and caches
// nothing), interrupted transfers (resumed with a Range request, or cleanly restarted when the server
// cannot resume), retries, HTTP errors, aborting a download.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import crypto from 'node:crypto';
import { createEngine } from '../../js/index-node.mjs';
import { model } from './helpers.mjs';

const FILE = model('bitnet-tiny-spm.tq2_0.gguf');
const BYTES = fs.readFileSync(FILE);
const SHA = crypto.createHash('sha256').update(BYTES).digest('hex');
const ETAG = `"${SHA.slice(0, 16)}"`;

function startServer() {
    const log = [];
    const seen = new Map();
    const server = http.createServer((req, res) => {
        const url = new URL(req.url, 'http://x');
        const mode = url.pathname.split('/')[1];
        const n = (seen.get(mode) || 0) + 1;
        seen.set(mode, n);
        log.push({ mode, n, range: req.headers.range || null, ifRange: req.headers['if-range'] || null });
        if (mode === 'missing') { res.writeHead(404); res.end('not found'); return; }
        if (mode === 'flaky' && n === 1) { res.writeHead(503); res.end('busy'); return; }
        const body = mode === 'corrupt' ? Buffer.from(BYTES.map((b, i) => (i === 1000 ? b ^ 1 : b))) : BYTES;
        const rangeOk = mode !== 'norange';
        const m = rangeOk && /^bytes=(\d+)-$/.exec(req.headers.range || '');
        const ifRangeOk = !req.headers['if-range'] || req.headers['if-range'] === ETAG;
        let start = 0;
        if (m && ifRangeOk) {
            start = Number(m[1]);
            res.writeHead(206, { 'content-length': body.length - start, 'content-range': `bytes ${start}-${body.length - 1}/${body.length}`,
                etag: ETAG, 'accept-ranges': 'bytes' });
        } else {
            res.writeHead(200, { 'content-length': body.length, etag: ETAG, ...(rangeOk ? { 'accept-ranges': 'bytes' } : {}) });
        }
        const cutAt = (mode === 'cut' || mode === 'norange') && n === 1 ? Math.floor(body.length / 3)
            : mode === 'cutalways' ? start + 50000 : Infinity;
        const slow = mode === 'slow' || mode === 'hang';
        let off = start;
        const step = () => {
            if (off >= body.length) { res.end(); return; }
            if (off >= cutAt) { res.socket.destroy(); return; }
            if (mode === 'hang' && off > 100000) return;                       // stalls: only an abort ends it
            const end = Math.min(body.length, off + 65536, cutAt);
            res.write(body.subarray(off, end));
            off = end;
            if (slow) setTimeout(step, 25); else setImmediate(step);   // slow: ~0.35 s, several progress intervals
        };
        step();
    });
    return new Promise(resolve => server.listen(0, '127.0.0.1', () => {
        const base = `http://127.0.0.1:${server.address().port}`;
        resolve({ server, base, log, count: mode => log.filter(l => l.mode === mode).length });
    }));
}

const tmpCache = () => fs.mkdtempSync(path.join(os.tmpdir(), 'trit-cache-'));
const cacheFiles = dir => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

test('loader over HTTP', async t => {
    const srv = await startServer();
    t.after(() => srv.server.close());
    const ref = await createEngine({ model: FILE });
    t.after(() => ref.unload());
    const wantIds = await ref.tokenize('Hello world, loaded over HTTP');
    const check = async e => {
        assert.deepEqual(await e.tokenize('Hello world, loaded over HTTP'), wantIds);
        const r = await e.completions.create({ prompt: 'Hi', max_tokens: 4, temperature: 0 });
        assert.equal(r.choices[0].text, (await ref.completions.create({ prompt: 'Hi', max_tokens: 4, temperature: 0 })).choices[0].text);
    };

    await t.test('progress events: bytes, total, rate; the model works', async () => {
        const events = [];
        const e = await createEngine({ model: `${srv.base}/slow/model.gguf`, onProgress: p => events.push(p) });
        const dl = events.filter(p => p.phase === 'download');
        assert.ok(dl.length >= 3, `${dl.length} download events`);
        assert.ok(dl.every(p => p.model === 'target' && p.total === BYTES.length && p.rate >= 0));
        for (let i = 1; i < dl.length; i++) assert.ok(dl[i].loaded >= dl[i - 1].loaded);
        assert.equal(dl[dl.length - 1].loaded, BYTES.length);
        assert.ok(dl[dl.length - 1].rate > 0);
        assert.equal(events[events.length - 1].phase, 'ready');
        await check(e);
        await e.unload();
    });

    await t.test('cache: the second load makes no request and says so', async () => {
        const dir = tmpCache();
        const e1 = await createEngine({ model: `${srv.base}/plain/model.gguf`, cache: dir });
        assert.equal(srv.count('plain'), 1);
        assert.equal(e1.info.model.from_cache, false);
        await e1.unload();
        const events = [];
        const e2 = await createEngine({ model: `${srv.base}/plain/model.gguf`, cache: dir, onProgress: p => events.push(p) });
        assert.equal(srv.count('plain'), 1, 'no second request');
        assert.equal(e2.info.model.from_cache, true);
        assert.ok(events.some(p => p.phase === 'cache' && p.loaded === BYTES.length));
        await check(e2);
        await e2.unload();
        // keyed by URL + SHA-256: with an expected hash it is a different entry, verified, then cached
        const e3 = await createEngine({ model: { url: `${srv.base}/plain/model.gguf`, sha256: SHA }, cache: dir });
        assert.equal(srv.count('plain'), 2);
        assert.equal(e3.info.model.sha256, SHA);
        await e3.unload();
        const e4 = await createEngine({ model: { url: `${srv.base}/plain/model.gguf`, sha256: SHA }, cache: dir });
        assert.equal(srv.count('plain'), 2);
        assert.equal(e4.info.model.from_cache, true);
        await e4.unload();
        assert.equal(cacheFiles(dir).filter(f => f.endsWith('.gguf')).length, 2);
        assert.equal(cacheFiles(dir).filter(f => f.endsWith('.part')).length, 0);
    });

    await t.test('integrity: a wrong SHA-256 is an INTEGRITY error and nothing is cached', async () => {
        const dir = tmpCache();
        await assert.rejects(createEngine({ model: { url: `${srv.base}/corrupt/model.gguf`, sha256: SHA }, cache: dir }),
            e => e.code === 'INTEGRITY' && e.message.includes(SHA));
        assert.deepEqual(cacheFiles(dir), []);
        // a corrupted cache entry is detected and replaced by a fresh download
        const e = await createEngine({ model: { url: `${srv.base}/plain/model.gguf`, sha256: SHA }, cache: dir });
        await e.unload();
        const bin = cacheFiles(dir).find(f => f.endsWith('.gguf'));
        const p = path.join(dir, bin);
        const b = fs.readFileSync(p); b[5000] ^= 0xff; fs.writeFileSync(p, b);
        const before = srv.count('plain');
        const e2 = await createEngine({ model: { url: `${srv.base}/plain/model.gguf`, sha256: SHA }, cache: dir });
        assert.equal(srv.count('plain'), before + 1, 'downloaded again');
        assert.equal(e2.info.model.from_cache, false);
        await check(e2);
        await e2.unload();
        // and with a path source too
        await assert.rejects(createEngine({ model: { path: FILE, sha256: '0'.repeat(64) } }), e => e.code === 'INTEGRITY');
    });

    await t.test('an interrupted transfer resumes with a Range request', async () => {
        const e = await createEngine({ model: { url: `${srv.base}/cut/model.gguf`, sha256: SHA } });
        const reqs = srv.log.filter(l => l.mode === 'cut');
        assert.equal(reqs.length, 2);
        assert.equal(reqs[0].range, null);
        assert.match(reqs[1].range, /^bytes=\d+-$/);
        assert.ok(Number(reqs[1].range.slice(6, -1)) > 0);
        assert.equal(reqs[1].ifRange, ETAG);
        assert.equal(e.info.model.sha256, SHA);
        await check(e);
        await e.unload();
    });

    await t.test('a server that cannot resume: a clean restart from byte 0', async () => {
        const e = await createEngine({ model: { url: `${srv.base}/norange/model.gguf`, sha256: SHA } });
        const reqs = srv.log.filter(l => l.mode === 'norange');
        assert.equal(reqs.length, 2);
        assert.equal(e.info.model.sha256, SHA);
        await check(e);
        await e.unload();
    });

    await t.test('retries: a transient 503 is retried; repeated cuts and a 404 are NETWORK errors', async () => {
        const e = await createEngine({ model: `${srv.base}/flaky/model.gguf` });
        assert.equal(srv.count('flaky'), 2);
        await e.unload();
        await assert.rejects(createEngine({ model: { url: `${srv.base}/cutalways/model.gguf`, retries: 2 } }),
            err => err.code === 'NETWORK' && /after 3 attempts/.test(err.message));
        assert.equal(srv.count('cutalways'), 3);
        await assert.rejects(createEngine({ model: `${srv.base}/missing/model.gguf` }), err => err.code === 'NETWORK' && /404/.test(err.message));
        assert.equal(srv.count('missing'), 1, 'a 404 is not retried');
    });

    await t.test('aborting a download: AbortError, nothing cached', async () => {
        const dir = tmpCache();
        const ac = new AbortController();
        const p = createEngine({ model: `${srv.base}/hang/model.gguf`, cache: dir, signal: ac.signal,
            onProgress: ev => { if (ev.loaded > 0) ac.abort(); } });
        await assert.rejects(p, e => e.name === 'AbortError');
        assert.deepEqual(cacheFiles(dir).filter(f => !f.endsWith('.part')), []);
        await new Promise(r => setTimeout(r, 100));
        assert.deepEqual(cacheFiles(dir), []);
    });
});
