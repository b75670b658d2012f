// The real server (`trit serve` in a child process) driven by the official `openai` npm client:
// chat and text completions (answers equal the engine's own), streaming, abort mid-stream (the
// generation stops and the engine is free again), /v1/models, seeds, stops, the API key.
import test from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startServer, directEngine, until, collect, request, MODEL_ID, DRAFT } from './helpers.mjs';

const MESSAGES = [{ role: 'system', content: 'You are brief.' }, { role: 'user', content: 'Tell me a story about a cat.' }];

test('openai client against trit serve', async t => {
    const srv = await startServer();
    t.after(() => srv.stop());
    const direct = await directEngine();
    t.after(() => direct.unload());
    const client = new OpenAI({ baseURL: srv.base, apiKey: 'unused', maxRetries: 0 });

    await t.test('GET /v1/models lists the served model; retrieve by id; 404 for another', async () => {
        const list = await client.models.list();
        assert.deepEqual(list.data.map(m => m.id), [MODEL_ID]);
        assert.equal(list.data[0].object, 'model');
        assert.equal(list.data[0].owned_by, 'trit');
        const m = await client.models.retrieve(MODEL_ID);
        assert.equal(m.id, MODEL_ID);
        await assert.rejects(client.models.retrieve('no-such-model'), e => e.status === 404 && e.code === 'model_not_found');
    });

    await t.test('chat completion: the engine\'s own greedy answer, usage, ids', async () => {
        const body = { messages: MESSAGES, max_tokens: 12, temperature: 0 };
        const want = await direct.chat.completions.create(body);
        const r = await client.chat.completions.create({ model: MODEL_ID, ...body });
        assert.equal(r.object, 'chat.completion');
        assert.match(r.id, /^chatcmpl-/);
        assert.equal(r.model, MODEL_ID);
        assert.equal(r.choices.length, 1);
        assert.equal(r.choices[0].message.role, 'assistant');
        assert.equal(r.choices[0].message.content, want.choices[0].message.content);
        assert.equal(r.choices[0].finish_reason, want.choices[0].finish_reason);
        assert.equal(r.usage.prompt_tokens, want.usage.prompt_tokens);
        assert.equal(r.usage.completion_tokens, want.usage.completion_tokens);
        assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
        assert.ok(r.usage.completion_tokens > 0 && r.usage.completion_tokens <= 12);
    });

    await t.test('text completion with stop: the engine\'s answer; stop strings end it', async () => {
        const body = { prompt: 'Once upon a time', max_tokens: 16, temperature: 0 };
        const want = await direct.completions.create(body);
        const r = await client.completions.create({ model: MODEL_ID, ...body });
        assert.equal(r.object, 'text_completion');
        assert.equal(r.choices[0].text, want.choices[0].text);
        assert.equal(r.usage.completion_tokens, 16);
        assert.equal(r.choices[0].finish_reason, 'length');
        const text = r.choices[0].text;
        assert.ok(text.length >= 6, text);
        const stop = text.slice(3, 6);
        const s = await client.completions.create({ model: MODEL_ID, ...body, stop: [stop] });
        assert.equal(s.choices[0].text, text.slice(0, text.indexOf(stop)));
        assert.equal(s.choices[0].finish_reason, 'stop');
    });

    await t.test('seeded sampling: same seed same text (and the engine\'s), another seed differs', async () => {
        const body = { prompt: 'The quick brown fox', max_tokens: 16, temperature: 1, top_p: 0.95, seed: 11 };
        const a = await client.completions.create(body);
        const b = await client.completions.create(body);
        const want = await direct.completions.create(body);
        assert.equal(a.choices[0].text, b.choices[0].text);
        assert.equal(a.choices[0].text, want.choices[0].text);
        const texts = new Set();
        for (const seed of [12, 13, 14]) texts.add((await client.completions.create({ ...body, seed })).choices[0].text);
        texts.add(a.choices[0].text);
        assert.ok(texts.size >= 2, 'different seeds give different samples');
    });

    await t.test('streaming chat: chunks carry the non-stream text, usage on request, then [DONE]', async () => {
        const body = { messages: MESSAGES, max_tokens: 12, temperature: 0 };
        const want = await direct.chat.completions.create(body);
        const stream = await client.chat.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
        const chunks = await collect(stream);
        assert.ok(chunks.length >= 3);
        assert.ok(chunks.every(c => c.object === 'chat.completion.chunk' && c.id === chunks[0].id && c.model === MODEL_ID));
        assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '' });
        const withChoice = chunks.filter(c => c.choices.length);
        assert.equal(withChoice.map(c => c.choices[0].delta.content || '').join(''), want.choices[0].message.content);
        assert.equal(withChoice[withChoice.length - 1].choices[0].finish_reason, want.choices[0].finish_reason);
        const last = chunks[chunks.length - 1];
        assert.deepEqual(last.choices, []);
        assert.equal(last.usage.completion_tokens, want.usage.completion_tokens);
        // the raw wire format: SSE events, the last one [DONE]
        const raw = await request(`${srv.base}/chat/completions`, { headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ ...body, max_tokens: 3, stream: true }) });
        assert.equal(raw.status, 200);
        assert.match(raw.headers['content-type'], /^text\/event-stream/);
        const events = raw.body.split('\n\n').filter(Boolean);
        assert.ok(events.every(e => e.startsWith('data: ')));
        assert.equal(events[events.length - 1], 'data: [DONE]');
    });

    await t.test('streaming text completion equals the non-stream one', async () => {
        const body = { prompt: 'In a small village', max_tokens: 20, temperature: 0.8, seed: 5 };
        const one = await client.completions.create(body);
        const chunks = await collect(await client.completions.create({ ...body, stream: true }));
        assert.equal(chunks.map(c => c.choices[0].text).join(''), one.choices[0].text);
        assert.equal(chunks[chunks.length - 1].choices[0].finish_reason, 'length');
    });

    await t.test('abort mid-stream: the generation stops, the engine is free, the next request is right', async () => {
        const before = (await srv.state()).stats;
        const ac = new AbortController();
        const stream = await client.chat.completions.create({ messages: MESSAGES, max_tokens: 200, temperature: 0, stream: true },
            { signal: ac.signal });
        let n = 0;
        // (the openai client ends the iteration quietly when its request is aborted; chunks that arrived
        // in the same read as the third may still be yielded after the abort, and are not counted)
        for await (const c of stream) {
            if (ac.signal.aborted) continue;
            if (c.choices[0] && c.choices[0].delta.content) n++;
            if (n === 3) ac.abort();
        }
        assert.equal(n, 3);
        const st = await until(async () => { const s = await srv.state(); return s.active === 0 && s.busy === 0 && s.stats.aborted > before.aborted && s; },
            'the server to notice the abort');
        assert.equal(st.stats.aborted, before.aborted + 1);
        assert.equal(st.stats.streamed, before.streamed, 'the aborted stream did not run to its end');
        assert.ok(st.stats.last_aborted.chunks < 200, `stopped after ${st.stats.last_aborted.chunks} chunks, not 200`);
        assert.ok(st.engines.every(e => e.target.pending === 0));
        // breaking out of the loop (the client's own way to stop) does the same
        const s2 = await client.completions.create({ prompt: 'Once upon a time', max_tokens: 200, temperature: 0, stream: true });
        for await (const c of s2) if (c.choices[0].text) break;
        await until(async () => { const s = await srv.state(); return s.active === 0 && s.stats.aborted === before.aborted + 2; }, 'the second abort');
        const body = { messages: MESSAGES, max_tokens: 12, temperature: 0 };
        const want = await direct.chat.completions.create(body);
        const r = await client.chat.completions.create(body);
        assert.equal(r.choices[0].message.content, want.choices[0].message.content);
    });

    await t.test('a client that disconnects before its answer (non-stream) cancels it too', async () => {
        const before = (await srv.state()).stats;
        const ac = new AbortController();
        const p = client.completions.create({ prompt: 'Once upon a time', max_tokens: 200, temperature: 0 }, { signal: ac.signal });
        // polled fast: 200 tokens of the tiny test model take well under 100 ms (2 matmul threads)
        await until(async () => (await srv.state()).busy === 1, 'the request to start', 15000, 1);
        ac.abort();
        await assert.rejects(p);
        await until(async () => { const s = await srv.state(); return s.busy === 0 && s.stats.aborted === before.aborted + 1; }, 'the abort');
        assert.equal((await srv.state()).stats.completions, before.completions);
    });
});

test('--api-key: 401 without the bearer token, 200 with it; /health stays open', async t => {
    const srv = await startServer(['--api-key', 'sesame']);
    t.after(() => srv.stop());
    const good = new OpenAI({ baseURL: srv.base, apiKey: 'sesame', maxRetries: 0 });
    const bad = new OpenAI({ baseURL: srv.base, apiKey: 'open', maxRetries: 0 });
    await assert.rejects(bad.completions.create({ prompt: 'Hi', max_tokens: 2 }),
        e => e.status === 401 && e.code === 'invalid_api_key' && e.type === 'invalid_request_error');
    await assert.rejects(bad.models.list(), e => e.status === 401);
    const none = await request(`${srv.base}/completions`, { headers: { 'content-type': 'application/json' }, body: '{"prompt":"Hi"}' });
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    assert.match(none.json.error.message, /Authorization: Bearer/);
    const r = await good.completions.create({ prompt: 'Hi', max_tokens: 2, temperature: 0 });
    assert.equal(r.usage.completion_tokens, 2);
    assert.equal((await good.models.list()).data[0].id, MODEL_ID);
    const h = await fetch(`${srv.url}/health`);
    assert.equal(h.status, 200);
    assert.equal((await h.json()).status, 'ok');
});

test('--draft: speculative decoding serves the target\'s own greedy text', async t => {
    const srv = await startServer(['--draft', DRAFT]);
    t.after(() => srv.stop());
    const direct = await directEngine();
    t.after(() => direct.unload());
    const client = new OpenAI({ baseURL: srv.base, apiKey: 'unused', maxRetries: 0 });
    for (const body of [{ messages: MESSAGES, max_tokens: 24, temperature: 0 }, { prompt: 'Once upon a time', max_tokens: 24, temperature: 0 }]) {
        const chat = !!body.messages;
        const want = await (chat ? direct.chat.completions : direct.completions).create(body);
        const r = await (chat ? client.chat.completions : client.completions).create(body);
        const text = x => (chat ? x.choices[0].message.content : x.choices[0].text);
        assert.equal(text(r), text(want));
        assert.equal(r.usage.completion_tokens, want.usage.completion_tokens);
        assert.ok(r.usage.extra.speculative && r.usage.extra.speculative.rounds > 0, 'the draft proposed tokens');
    }
});
