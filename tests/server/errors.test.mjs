// Bad input: each malformed request gets the documented status and OpenAI-style error JSON, and the
// good request after it succeeds (the server keeps serving, with the right answer).
import test from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import OpenAI from 'openai';
import { startServer, directEngine, request, until } from './helpers.mjs';

const JSON_H = { 'content-type': 'application/json' };

test('bad requests: documented errors, and the server keeps serving', async t => {
    const srv = await startServer(['--max-body', '65536']);
    t.after(() => srv.stop());
    const direct = await directEngine();
    t.after(() => direct.unload());
    const client = new OpenAI({ baseURL: srv.base, apiKey: 'unused', maxRetries: 0 });
    const models = await client.models.list();
    const nCtx = models.data[0].trit.n_ctx;
    const goodBody = { prompt: 'Once upon a time', max_tokens: 6, temperature: 0 };
    const want = (await direct.completions.create(goodBody)).choices[0].text;
    let goods = 0;
    const good = async () => {
        const r = await client.completions.create(goodBody);
        assert.equal(r.choices[0].text, want);
        goods++;
    };

    /** sends, checks status/code (and param), then a good request */
    const check = async (name, send, status, code, { param, headers } = {}) => {
        await t.test(`${name} -> ${status} ${code}`, async () => {
            const r = await send();
            assert.equal(r.status, status, r.body);
            assert.ok(r.json && r.json.error, `OpenAI error shape: ${r.body}`);
            const e = r.json.error;
            assert.equal(typeof e.message, 'string');
            assert.ok(e.message.length > 5);
            assert.ok('type' in e && 'param' in e && 'code' in e);
            assert.equal(e.code, code, e.message);
            if (param !== undefined) assert.equal(e.param, param);
            for (const [k, v] of Object.entries(headers || {})) assert.match(String(r.headers[k]), v, k);
            await good();
        });
    };
    const post = (path, body, headers = JSON_H) => () => request(`${srv.base}${path}`, { headers, body });
    const postJson = (path, obj) => post(path, JSON.stringify(obj));
    const long = 'hello '.repeat(nCtx + 10);

    await check('invalid JSON', post('/completions', '{"prompt": "x",'), 400, 'invalid_json');
    await check('empty body', post('/completions', ''), 400, 'invalid_json');
    await check('JSON that is not an object', post('/chat/completions', '[1, 2]'), 400, 'invalid_json');
    await check('an unknown field', postJson('/completions', { prompt: 'x', max_tokenz: 5 }), 400, 'unknown_parameter', { param: 'max_tokenz' });
    await check('a field of the wrong type', postJson('/completions', { prompt: 'x', stream: 'yes' }), 400, 'invalid_type', { param: 'stream' });
    await check('temperature out of range', postJson('/completions', { prompt: 'x', temperature: -1 }), 400, 'invalid_value', { param: 'temperature' });
    await check('max_tokens not an integer', postJson('/completions', { prompt: 'x', max_tokens: 2.5 }), 400, 'invalid_value', { param: 'max_tokens' });
    await check('n > 1 (unsupported)', postJson('/completions', { prompt: 'x', n: 2 }), 400, 'unsupported_parameter', { param: 'n' });
    await check('tools (unsupported)', postJson('/chat/completions', { messages: [{ role: 'user', content: 'x' }],
        tools: [{ type: 'function', function: { name: 'f' } }] }), 400, 'unsupported_parameter');
    await check('no messages', postJson('/chat/completions', { max_tokens: 3 }), 400, 'invalid_value');
    await check('a message with an unknown role', postJson('/chat/completions', { messages: [{ role: 'wizard', content: 'x' }] }), 400, 'invalid_value');
    await check('prompt token ids out of range', postJson('/completions', { prompt: [1, 1e6] }), 400, 'invalid_value');
    await check('a prompt longer than the context (text)', postJson('/completions', { prompt: long, max_tokens: 2 }), 400, 'context_length_exceeded');
    await check('a prompt longer than the context (token ids)', postJson('/completions', { prompt: Array(nCtx + 1).fill(5) }), 400, 'context_length_exceeded');
    await check('a chat longer than the context', postJson('/chat/completions', { messages: [{ role: 'user', content: long }], max_tokens: 2 }),
        400, 'context_length_exceeded');
    await check('a chat longer than the context, streaming (still a status, not an event)',
        postJson('/chat/completions', { messages: [{ role: 'user', content: long }], stream: true }), 400, 'context_length_exceeded');
    const big = JSON.stringify({ prompt: 'x'.repeat(200000) });
    await check('a body over --max-body', post('/completions', big), 413, 'request_too_large');
    await check('a body over --max-body, chunked (no length)', () => request(`${srv.base}/completions`, { headers: JSON_H, body: big, chunked: true }),
        413, 'request_too_large');
    await check('a body over --max-body with Expect: 100-continue', async () => {
        // curl's way for large bodies: the server refuses before the body is sent
        const s = net.connect(new URL(srv.url).port, '127.0.0.1');
        s.write(`POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${big.length}\r\n` +
            'expect: 100-continue\r\n\r\n');
        let text = '';
        for await (const b of s) text += b;
        const [head, body] = text.split('\r\n\r\n');
        return { status: Number(head.split(' ')[1]), headers: {}, body, json: JSON.parse(body) };
    }, 413, 'request_too_large');
    await check('not JSON (a form post)', post('/completions', 'prompt=x', { 'content-type': 'application/x-www-form-urlencoded' }),
        415, 'unsupported_media_type');
    await check('an unknown endpoint', post('/engines/x/completions', '{}'), 404, 'not_found');
    await check('GET on a POST endpoint', () => request(`${srv.base}/completions`, { method: 'GET' }), 405, 'method_not_allowed',
        { headers: { allow: /POST/ } });
    await check('a model that is not served', () => request(`${srv.base}/models/gpt-9`, { method: 'GET' }), 404, 'model_not_found');

    await t.test('garbage instead of HTTP -> 400, and the server lives on', async () => {
        const s = net.connect(new URL(srv.url).port, '127.0.0.1');
        s.write('HELLO THERE\r\n\x00\x01\x02\r\n\r\n');
        let text = '';
        for await (const b of s) text += b;
        assert.match(text, /^HTTP\/1\.1 400/);
        assert.match(text, /"error"/);
        await good();
    });

    await t.test('a client that vanishes halfway through its body, and one mid-stream over a raw socket', async () => {
        const s = net.connect(new URL(srv.url).port, '127.0.0.1');
        await new Promise(r => s.once('connect', r));
        s.write('POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{"prompt": "Once');
        await new Promise(r => setTimeout(r, 100));
        s.destroy();
        const before = (await srv.state()).stats.aborted;
        const s2 = net.connect(new URL(srv.url).port, '127.0.0.1');
        const body = JSON.stringify({ prompt: 'Once upon a time', max_tokens: 200, temperature: 0, stream: true });
        s2.write(`POST /v1/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n${body}`);
        await new Promise(r => s2.once('data', r));
        s2.destroy();
        await until(async () => { const st = await srv.state(); return st.active === 0 && st.stats.aborted === before + 1; }, 'the abort');
        await good();
    });

    await t.test('every good request in between succeeded, and nothing is left running', async () => {
        assert.ok(goods >= 25, `${goods} good requests`);
        const st = await srv.state();
        assert.equal(st.active, 0);
        assert.equal(st.busy, 0);
        assert.equal(st.stats.errors, 0, 'no 5xx');
        assert.equal(srv.proc.exitCode, null, 'still running');
    });
});

test('loading: 503 with Retry-After until the engines are up; /health says so', async t => {
    const srv = await startServer(['--parallel', '2'], { ready: false });
    t.after(() => srv.stop());
    const h = await fetch(`${srv.url}/health`);
    const body = await h.json();
    if (h.status === 503) {
        // caught it while loading (the usual case: loading takes a moment)
        assert.equal(body.status, 'loading');
        assert.ok(Number(h.headers.get('retry-after')) >= 1);
        const r = await request(`${srv.base}/completions`, { headers: JSON_H, body: '{"prompt":"x"}' });
        if (r.status === 503) {
            assert.equal(r.json.error.code, 'model_loading');
            assert.ok(Number(r.headers['retry-after']) >= 1);
        }
    }
    await until(async () => (await fetch(`${srv.url}/health`)).status === 200, 'the engines');
    const client = new OpenAI({ baseURL: srv.base, apiKey: 'unused' });
    const r = await client.completions.create({ prompt: 'Hi', max_tokens: 2 });
    assert.equal(r.usage.completion_tokens, 2);
});

test('a model that cannot load: a clear error and exit code 1', async () => {
    await assert.rejects(startServer([], { model: '/nonexistent/model.gguf' }), e => /cannot load the model/.test(e.message) && /exited \(1\)/.test(e.message));
});

test('a model worker that dies mid-stream: an error event, then the engine reloads and serves', async t => {
    const srv = await startServer(['--quiet']);
    t.after(() => srv.stop());
    const client = new OpenAI({ baseURL: srv.base, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.completions.create({ prompt: 'Once upon a time', max_tokens: 200, temperature: 0, stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    await request(`${srv.url}/debug/crash`, { body: '' });
    await assert.rejects(async () => { for (let r = await it.next(); !r.done; r = await it.next()); },
        e => e.constructor.name === 'APIError' && /worker/i.test(e.message));
    const st = await srv.state();
    assert.equal(st.stats.errors, 1);
    assert.equal(st.active, 0);
    const r = await client.completions.create({ prompt: 'Hi', max_tokens: 3, temperature: 0 });
    assert.equal(r.usage.completion_tokens, 3);
});

test('SIGTERM: running streams end, the process exits 0', async () => {
    const srv = await startServer(['--quiet']);
    const client = new OpenAI({ baseURL: srv.base, apiKey: 'unused', maxRetries: 0 });
    const stream = await client.completions.create({ prompt: 'Once upon a time', max_tokens: 200, temperature: 0, stream: true });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    srv.proc.kill('SIGTERM');
    // the stream ends early (cut off: an error or a quiet end, never a hang)
    let n = 0;
    try { for (let r = await it.next(); !r.done; r = await it.next()) n++; } catch { /* cut off */ }
    assert.ok(n < 200);
    const { code } = await srv.exited;
    assert.equal(code, 0);
    assert.match(srv.stderr(), /shutting down/);
});
