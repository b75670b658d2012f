// The package's router remote route (js/remote.mjs) against the real server: the same engine API
// answers like the local engine (chat, text, streaming), aborts reach the server, server errors
// become TritErrors with the status, and the router falls back to the server only when the model
// cannot run here and a remote is configured.
import test from 'node:test';
import assert from 'node:assert/strict';
import { createEngine, TritError } from '../../js/index-node.mjs';
import { startServer, directEngine, until, collect } from './helpers.mjs';

const MESSAGES = [{ role: 'user', content: 'Say something about rivers.' }];

test('router remote route against trit serve', async t => {
    const srv = await startServer(['--api-key', 'k3y']);
    t.after(() => srv.stop());
    const direct = await directEngine();
    t.after(() => direct.unload());
    const remote = { baseURL: srv.base, apiKey: 'k3y' };

    await t.test('route remote: chat, text and streams answer as the local engine does', async () => {
        const engine = await createEngine({ remote, route: 'remote' });
        assert.equal(engine.info.route.kind, 'remote');
        const body = { messages: MESSAGES, max_tokens: 10, temperature: 0 };
        const want = await direct.chat.completions.create(body);
        const r = await engine.chat.completions.create(body);
        assert.equal(r.choices[0].message.content, want.choices[0].message.content);
        assert.equal(r.usage.completion_tokens, want.usage.completion_tokens);
        const chunks = await collect(await engine.chat.completions.create({ ...body, stream: true }));
        assert.equal(chunks.map(c => (c.choices[0] && c.choices[0].delta.content) || '').join(''), want.choices[0].message.content);
        const tb = { prompt: 'The river', max_tokens: 8, temperature: 0.7, seed: 3, return_token_ids: true };
        const tw = await direct.completions.create(tb);
        const tr = await engine.completions.create(tb);
        assert.equal(tr.choices[0].text, tw.choices[0].text);
        assert.deepEqual(tr.choices[0].token_ids, tw.choices[0].token_ids, 'extensions pass through');
        await engine.unload();
    });

    await t.test('route auto: a model too big for this device goes to the configured remote, never elsewhere', async () => {
        // the URL is never fetched: its size is given, and it does not fit into 4 GB of wasm memory
        const huge = { url: 'http://127.0.0.1:9/huge.gguf', size: 6 * 2 ** 30 };
        const engine = await createEngine({ model: huge, remote });
        assert.equal(engine.info.route.kind, 'remote');
        assert.match(engine.info.route.reason, /4 GB/);
        const r = await engine.completions.create({ prompt: 'Hi', max_tokens: 3, temperature: 0 });
        assert.equal(r.usage.completion_tokens, 3);
        await assert.rejects(createEngine({ model: huge }), e => e instanceof TritError && e.code === 'NO_ROUTE');
    });

    await t.test('abort mid-stream on the remote route: AbortError here, the generation stops there', async () => {
        const engine = await createEngine({ remote, route: 'remote' });
        const before = (await srv.state()).stats.aborted;
        const ac = new AbortController();
        const stream = await engine.chat.completions.create({ messages: MESSAGES, max_tokens: 200, temperature: 0, stream: true },
            { signal: ac.signal });
        let n = 0;
        await assert.rejects(async () => {
            for await (const c of stream) {
                if (c.choices[0] && c.choices[0].delta.content) n++;
                if (n === 2) ac.abort();
            }
        }, e => e.name === 'AbortError');
        const st = await until(async () => { const s = await srv.state(); return s.active === 0 && s.stats.aborted === before + 1 && s; }, 'the abort');
        assert.ok(st.stats.last_aborted.chunks < 200);
        const r = await engine.completions.create({ prompt: 'Hi', max_tokens: 2 });
        assert.equal(r.usage.completion_tokens, 2);
        await engine.unload();
    });

    await t.test('server errors arrive as TritError REMOTE with the status and the server\'s message', async () => {
        const engine = await createEngine({ remote, route: 'remote' });
        await assert.rejects(engine.completions.create({ prompt: 'x', temperature: -1 }),
            e => e instanceof TritError && e.code === 'REMOTE' && e.details.status === 400 && /temperature/.test(e.message));
        await assert.rejects(engine.completions.create({ prompt: 'x', frobnicate: true }),
            e => e.code === 'REMOTE' && e.details.status === 400 && /frobnicate/.test(e.message));
        const wrong = await createEngine({ remote: { ...remote, apiKey: 'nope' }, route: 'remote' });
        await assert.rejects(wrong.completions.create({ prompt: 'x' }), e => e.code === 'REMOTE' && e.details.status === 401);
        const r = await engine.completions.create({ prompt: 'Hi', max_tokens: 2 });
        assert.equal(r.usage.completion_tokens, 2);
        await engine.unload(); await wrong.unload();
    });
});

test('remote route and a busy server: waits as Retry-After says, then succeeds; retries: 0 fails with 429', async t => {
    const srv = await startServer(['--parallel', '1', '--queue', '0', '--quiet']);
    t.after(() => srv.stop());
    const remote = { baseURL: srv.base };
    // a stream holds the one engine; with no queue, everything else gets 429 until it ends
    const hold = async () => {
        const ac = new AbortController();
        const holder = await createEngine({ remote, route: 'remote' });
        const s = await holder.completions.create({ prompt: 'Once upon a time', max_tokens: 200, temperature: 0, stream: true }, { signal: ac.signal });
        const it = s[Symbol.asyncIterator]();
        await it.next();
        return () => { ac.abort(); return it.next().catch(() => {}); };
    };
    let release = await hold();
    const strict = await createEngine({ remote: { ...remote, retries: 0 }, route: 'remote' });
    await assert.rejects(strict.completions.create({ prompt: 'Hi', max_tokens: 2 }), e => e.code === 'REMOTE' && e.details.status === 429);
    const patient = await createEngine({ remote, route: 'remote' });
    const before = (await srv.state()).stats.rejected;
    const p = patient.completions.create({ prompt: 'Hi', max_tokens: 2, temperature: 0 });
    await until(async () => (await srv.state()).stats.rejected > before, 'the first 429');
    await release();
    const r = await p;
    assert.equal(r.usage.completion_tokens, 2);
    // an abort while waiting to retry is an AbortError
    release = await hold();
    const ac = new AbortController();
    const q = patient.completions.create({ prompt: 'Hi', max_tokens: 2 }, { signal: ac.signal });
    await until(async () => (await srv.state()).stats.rejected > before + 1, 'another 429');
    ac.abort();
    await assert.rejects(q, e => e.name === 'AbortError');
    await release();
});
