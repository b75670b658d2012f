// Small parts on their own: SHA-256 against node:crypto, the text stream (UTF-8 split across
// tokens, stop strings across tokens, surrogate pairs), the worker protocol's version check,
// source normalisation, errors.
import test from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { Sha256 } from '../../js/sha256.mjs';
import { Vocab, TextStream } from '../../js/text.mjs';
import { RpcClient, serveRpc, PROTOCOL_VERSION, transfer } from '../../js/protocol.mjs';
import { normalizeSource, cacheKey } from '../../js/loader.mjs';
import { TritError, abortError, serializeError, deserializeError } from '../../js/errors.mjs';

test('SHA-256 equals node:crypto for every length around the block size, fed in random pieces', () => {
    const rnd = (n, seed) => { const b = Buffer.alloc(n); let x = seed; for (let i = 0; i < n; i++) { x = (x * 1103515245 + 12345) >>> 0; b[i] = x >>> 24; } return b; };
    for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000, 65536 + 7]) {
        const b = rnd(n, n + 1);
        const h = new Sha256();
        for (let i = 0; i < n;) { const k = Math.min(n - i, 1 + ((i * 7919) % 97)); h.update(b.subarray(i, i + k)); i += k; }
        assert.equal(h.hex(), crypto.createHash('sha256').update(b).digest('hex'), `n=${n}`);
    }
    assert.equal(new Sha256().update(new TextEncoder().encode('abc')).hex(), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
});

function vocabOf(pieces) {
    const bytes = pieces.map(p => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)));
    const offsets = new Int32Array(bytes.length + 1);
    let o = 0;
    bytes.forEach((b, i) => { offsets[i] = o; o += b.length; });
    offsets[bytes.length] = o;
    return new Vocab({ bytes: new Uint8Array(Buffer.concat(bytes)), offsets, eog: new Int32Array([]), digest: 'x' });
}

test('text stream: UTF-8 split across tokens, stop strings across tokens', () => {
    const euro = Buffer.from('€', 'utf8');                       // 3 bytes
    const v = vocabOf(['Hel', 'lo', ' wor', 'ld', [euro[0]], [euro[1], euro[2]], '!', '😀', '<', 'stop', '>', 'x']);
    const s = new TextStream(v);
    assert.equal(s.push([0, 1]), 'Hello');
    assert.equal(s.push([4]), '');                               // incomplete sequence held back
    assert.equal(s.push([5, 6]), '€!');
    assert.equal(s.end(), '');
    assert.equal(v.decode([0, 1, 2, 3, 4, 5]), 'Hello world€');
    // a stop string split over three tokens, and text before it in the same token
    const t = new TextStream(v, ['<stop>']);
    let out = t.push([0, 1, 2, 3]);
    out += t.push([8]);
    assert.equal(t.stopped, false);
    out += t.push([9]);
    out += t.push([10, 11]);
    assert.equal(t.stopped, true);
    assert.equal(out, 'Hello world');
    assert.equal(t.push([0]), '');
    // held-back text comes out when it can no longer start a stop string, and at the end
    const u = new TextStream(v, ['<stop>']);
    assert.equal(u.push([0, 1, 8]), 'Hello');
    assert.equal(u.push([11]), '<x');
    assert.equal(u.end(), '');
    // a surrogate pair is never split by the hold-back
    const w = new TextStream(v, ['xyz']);
    const a = w.push([7]);
    assert.ok(!/[\ud800-\udbff]$/.test(a));
    assert.equal(a + w.end(), '😀');
});

test('protocol: calls, transfers, events, errors, version mismatch, crash', async () => {
    // a pair of in-process ports wired like a worker and its owner
    const mk = () => {
        let a = null, b = null, crash = null;
        const owner = { post: m => queueMicrotask(() => b && b(structuredClone(m))), onMessage: f => { a = f; }, onCrash: f => { crash = f; }, terminate() {} };
        const worker = { post: m => queueMicrotask(() => a && a(structuredClone(m))), onMessage: f => { b = f; } };
        return { owner, worker, crash: e => crash(e), raw: m => b(m), rawReply: m => a(m) };
    };
    const p = mk();
    serveRpc(p.worker, {
        add: (x, y) => x + y,
        buf: n => { const f = new Float32Array(n); return transfer(f, [f.buffer]); },
        fail: () => { throw new TritError('BAD_MODEL', 'nope'); },
        slow: async (ctx) => { ctx.emit('progress', { loaded: 1 }); await new Promise(r => setTimeout(r, 50)); if (ctx.signal.aborted) throw abortError(); return 1; },
    });
    const c = new RpcClient(p.owner);
    await c.ready;
    assert.equal((await c.call('add', [2, 3])).value, 5);
    assert.equal((await c.call('buf', [4])).value.length, 4);
    await assert.rejects(c.call('fail'), e => e instanceof TritError && e.code === 'BAD_MODEL' && e.message === 'nope');
    await assert.rejects(c.call('nosuch'), e => e.code === 'PROTOCOL');
    const events = [];
    assert.equal((await c.call('slow', [], { onEvent: (n, d) => events.push([n, d]) })).value, 1);
    assert.deepEqual(events, [['progress', { loaded: 1 }]]);
    const ac = new AbortController();
    const pr = c.call('slow', [], { signal: ac.signal });
    ac.abort();
    await assert.rejects(pr, e => e.name === 'AbortError');
    // a message of another protocol version is refused
    const q = mk();
    const d = new RpcClient(q.owner);
    q.rawReply({ v: PROTOCOL_VERSION + 1, kind: 'ready' });
    await assert.rejects(d.call('add', [1, 1]), e => e.code === 'PROTOCOL');
    // a crash fails what is pending and everything after
    const r = mk();
    serveRpc(r.worker, { never: () => new Promise(() => {}) });
    const e = new RpcClient(r.owner, { name: 'test worker' });
    const pending = e.call('never');
    r.crash(new Error('boom'));
    await assert.rejects(pending, err => err.code === 'WORKER_CRASHED' && /test worker crashed: boom/.test(err.message));
    await assert.rejects(e.call('never'), err => err.code === 'WORKER_CRASHED');
});

test('model sources are normalised; errors serialise across the worker boundary', () => {
    assert.deepEqual(normalizeSource('m.gguf', { isNode: true }), { kind: 'path', path: 'm.gguf', name: 'm.gguf' });
    assert.equal(normalizeSource('https://x.org/a/m.gguf?dl=1', { isNode: true }).kind, 'url');
    assert.equal(normalizeSource('models/m.gguf', { isNode: false, baseURL: 'https://x.org/app/' }).url, 'https://x.org/app/models/m.gguf');
    assert.equal(normalizeSource(new URL('file:///tmp/a%20b.gguf'), { isNode: true }).path, '/tmp/a b.gguf');
    const ab = new ArrayBuffer(8);
    assert.equal(normalizeSource(ab).buffer, ab);
    assert.equal(normalizeSource(new Uint8Array(ab, 2, 4)).buffer.byteLength, 4);
    assert.equal(normalizeSource(new Blob(['abc'])).kind, 'blob');
    const s = normalizeSource({ url: 'https://x.org/m.gguf', sha256: 'A'.repeat(64) });
    assert.equal(s.sha256, 'a'.repeat(64));
    assert.throws(() => normalizeSource({ url: 'https://x.org/m.gguf', sha256: 'xyz' }), e => e.code === 'BAD_ARGUMENT');
    assert.throws(() => normalizeSource(42), e => e.code === 'BAD_ARGUMENT');
    assert.notEqual(cacheKey('u', null), cacheKey('u', 'a'.repeat(64)));
    const e = deserializeError(serializeError(new TritError('INTEGRITY', 'bad', { details: { a: 1 } })));
    assert.ok(e instanceof TritError);
    assert.equal(e.code, 'INTEGRITY');
    assert.deepEqual(e.details, { a: 1 });
    assert.equal(deserializeError(serializeError(abortError())).name, 'AbortError');
    assert.equal(deserializeError(serializeError(new RangeError('x'))).code, 'INTERNAL');
});
