// The router: capabilities, the local route it takes (and reports), the scalar build giving the
// same tokens as SIMD, and the remote route: taken only when configured and the model cannot run
// here, speaking OpenAI's HTTP protocol (checked against a real HTTP server that the official
// `openai` client also talks to); without a configured remote, nothing goes over the network.
import test from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import OpenAI from 'openai';
import { createEngine, detectCapabilities } from '../../js/index-node.mjs';
import { startOpenAIServer } from './openai-server.mjs';
import { model, PROMPTS } from './helpers.mjs';

const TINY = model('bitnet-tiny-spm.tq2_0.gguf');

test('capabilities and the local route', async () => {
    const caps = await detectCapabilities();
    assert.equal(caps.platform, 'node');
    assert.equal(caps.wasm, true);
    assert.equal(caps.simd, true);
    assert.equal(typeof caps.webgpu, 'boolean');
    assert.ok(caps.memoryBytes > 0);
    assert.ok(caps.backends.includes('wasm'));
    const e = await createEngine({ model: TINY });
    const s = await createEngine({ model: TINY, wasm: 'scalar' });
    try {
        assert.equal(e.info.route.kind, 'local');
        assert.equal(e.info.route.backend, 'wasm');
        assert.match(e.info.route.build, /simd|relaxed/);
        assert.equal(e.info.route.build, e.info.model.build);
        assert.match(e.info.route.reason, /wasm simd/);
        assert.equal(e.info.route.sizes.target, (await import('node:fs')).statSync(TINY).size);
        assert.equal(s.info.route.build, 'scalar');
        assert.equal(s.info.model.build, 'scalar');
        // the SIMD kernels are exact twins of the scalar ones: the same greedy tokens
        const body = { prompt: PROMPTS[0], max_tokens: 16, temperature: 0, return_token_ids: true };
        assert.deepEqual((await s.completions.create(body)).choices[0].token_ids, (await e.completions.create(body)).choices[0].token_ids);
    } finally {
        await e.unload(); await s.unload();
    }
    await assert.rejects(createEngine({ model: TINY, backend: 'cuda' }), err => err.code === 'BAD_ARGUMENT' && /unknown backend/.test(err.message));
});

test('remote route: only when configured and the model cannot run here; OpenAI protocol', async t => {
    // the "remote" is a real HTTP server over a local engine with a chat template
    const local = await createEngine({ model: TINY, chatTemplate: 'chatml' });
    const srv = await startOpenAIServer(local);
    // a model URL on a server that counts requests (it must see none)
    let modelRequests = 0;
    const modelHost = http.createServer((req, res) => { modelRequests++; res.writeHead(404); res.end(); });
    await new Promise(r => modelHost.listen(0, '127.0.0.1', r));
    const hugeURL = `http://127.0.0.1:${modelHost.address().port}/huge.gguf`;
    t.after(async () => { await srv.close(); modelHost.close(); await local.unload(); });
    const huge = { url: hugeURL, size: 6 * 2 ** 30 };

    // no remote configured: a clear NO_ROUTE error and no request anywhere
    await assert.rejects(createEngine({ model: huge }), e => e.code === 'NO_ROUTE' && /4 GB/.test(e.message) && /no remote/.test(e.message));
    assert.equal(modelRequests, 0);
    assert.equal(srv.requests.length, 0);

    // configured: the same API, served remotely
    const remote = await createEngine({ model: huge, remote: { baseURL: srv.baseURL, apiKey: 'sk-test', model: 'tiny' } });
    assert.equal(remote.info.route.kind, 'remote');
    assert.match(remote.info.route.reason, /4 GB/);
    assert.equal(modelRequests, 0, 'the too-large model is never downloaded');
    const messages = [{ role: 'user', content: 'Hello there' }];
    const body = { messages, max_tokens: 8, temperature: 0 };
    const want = await local.chat.completions.create(body);
    const got = await remote.chat.completions.create(body);
    assert.equal(got.object, 'chat.completion');
    assert.equal(got.choices[0].message.content, want.choices[0].message.content);
    assert.equal(got.usage.completion_tokens, want.usage.completion_tokens);
    assert.equal(srv.requests[srv.requests.length - 1].auth, 'Bearer sk-test');
    let text = '', chunks = 0;
    for await (const c of await remote.chat.completions.create({ ...body, stream: true })) {
        assert.equal(c.object, 'chat.completion.chunk');
        text += c.choices[0]?.delta?.content || '';
        chunks++;
    }
    assert.ok(chunks >= 3);
    assert.equal(text, want.choices[0].message.content);
    const tc = await remote.completions.create({ prompt: PROMPTS[1], max_tokens: 6, temperature: 0 });
    assert.equal(tc.choices[0].text, (await local.completions.create({ prompt: PROMPTS[1], max_tokens: 6, temperature: 0 })).choices[0].text);
    // errors and aborts keep their shape
    await assert.rejects(remote.chat.completions.create({ messages, temperature: -3 }), e => e.code === 'REMOTE' && /400/.test(e.message) && /temperature/.test(e.message));
    const ac = new AbortController();
    await assert.rejects((async () => {
        let n = 0;
        for await (const c of await remote.chat.completions.create({ messages, max_tokens: 200, temperature: 0, stream: true }, { signal: ac.signal })) {
            if (++n === 2) ac.abort();
        }
    })(), e => e.name === 'AbortError');
    await assert.rejects(remote.tokenize('x'), e => e.code === 'UNSUPPORTED');
    // route: 'local' never goes remote; route: 'remote' always does
    await assert.rejects(createEngine({ model: huge, remote: { baseURL: srv.baseURL }, route: 'local' }), e => e.code === 'NO_ROUTE');
    const forced = await createEngine({ model: TINY, remote: { baseURL: srv.baseURL }, route: 'remote' });
    assert.equal(forced.info.route.kind, 'remote');
    // a model that fits runs locally even with a remote configured
    const fits = await createEngine({ model: TINY, remote: { baseURL: srv.baseURL } });
    assert.equal(fits.info.route.kind, 'local');
    await fits.unload();
    await remote.unload();
    await assert.rejects(remote.chat.completions.create(body), e => e.code === 'UNLOADED');
});

test('the official openai client talks to the same server (the protocol is OpenAI\'s)', async t => {
    const local = await createEngine({ model: TINY, chatTemplate: 'chatml' });
    const srv = await startOpenAIServer(local);
    t.after(async () => { await srv.close(); await local.unload(); });
    const client = new OpenAI({ baseURL: srv.baseURL, apiKey: 'sk-test', maxRetries: 0 });
    const messages = [{ role: 'user', content: 'Hello there' }];
    const want = await local.chat.completions.create({ messages, max_tokens: 8, temperature: 0 });
    const r = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 8, temperature: 0 });
    assert.equal(r.choices[0].message.content, want.choices[0].message.content);
    let text = '';
    const stream = await client.chat.completions.create({ model: 'tiny', messages, max_tokens: 8, temperature: 0, stream: true,
        stream_options: { include_usage: true } });
    let usage = null;
    for await (const c of stream) { text += c.choices[0]?.delta?.content || ''; if (c.usage) usage = c.usage; }
    assert.equal(text, want.choices[0].message.content);
    assert.equal(usage.completion_tokens, want.usage.completion_tokens);
});
