// router-cases.mjs: the package's router and the WebGPU backend together (createEngine end to end),
// run in chromium (tests/browser/webgpu.test.mjs) and in Node (tests/webgpu/node.test.mjs).
//
// env: { createEngine, model(name) -> source for createEngine (URL in a page, path in Node),
//        software: the adapter is a software one (SwiftShader), noAdapter: runtime without an adapter }
// runRouter(env) -> [{ name, ok, msg }]

const PROMPT = 'Once upon a time, in a small village by the sea,';

async function greedy(engine, n = 16) {
    const r = await engine.completions.create({ prompt: PROMPT, max_tokens: n, temperature: 0, return_token_ids: true });
    return { ids: r.choices[0].token_ids, usage: r.usage };
}

const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);

export async function runRouter(env, opts = {}) {
    const out = [];
    const log = opts.log || (() => {});
    const push = r => { out.push(r); log(`${r.ok ? 'ok  ' : 'FAIL'} router: ${r.name} ${r.msg || ''}`); };
    const check = async (name, fn) => {
        try { await fn(); } catch (e) { push({ name, ok: false, msg: `threw ${e && e.stack || e}` }); }
    };
    const { createEngine } = env;
    const target = env.model('bitnet-tiny-spm.f32'), draft = env.model('bitnet-tiny-spm.tq2_0');
    const gpuOpts = { allowFallbackAdapter: true };
    let wasmIds = null;

    await check('forced wasm', async () => {
        const e = await createEngine({ model: target, backend: 'wasm', kvType: 'f32' });
        try {
            const g = await greedy(e);
            wasmIds = g.ids;
            push({ name: 'forced wasm', ok: e.info.route.backend === 'wasm' && e.info.model.backend === 'wasm' && g.usage.extra.backend.target === 'wasm',
                msg: `${e.info.route.reason}` });
        } finally { await e.unload(); }
    });

    if (env.noAdapter) {
        await check('no adapter -> wasm', async () => {
            const e = await createEngine({ model: target, kvType: 'f32', webgpu: gpuOpts });
            try {
                const g = await greedy(e);
                push({ name: 'no adapter -> wasm', ok: e.info.route.backend === 'wasm' && e.info.model.backend === 'wasm' &&
                    /no WebGPU adapter/.test(e.info.route.reason) && same(g.ids, wasmIds), msg: e.info.route.reason });
                let code = null;
                try { await createEngine({ model: target, backend: 'webgpu' }); } catch (err) { code = err.code; }
                push({ name: 'no adapter + forced webgpu -> NO_ROUTE', ok: code === 'NO_ROUTE', msg: `code ${code}` });
            } finally { await e.unload(); }
        });
        return out;
    }

    await check('forced webgpu', async () => {
        const e = await createEngine({ model: target, backend: 'webgpu', kvType: 'f32' });
        try {
            const g = await greedy(e);
            push({ name: 'forced webgpu: same greedy tokens as wasm', ok: e.info.model.backend === 'webgpu' && g.usage.extra.backend.target === 'webgpu' &&
                same(g.ids, wasmIds), msg: `${e.info.model.webgpu && e.info.model.webgpu.adapter}; ${g.ids.length} tokens` });
        } finally { await e.unload(); }
    });

    if (env.software) {
        await check('auto with a software adapter -> wasm', async () => {
            const e = await createEngine({ model: target, kvType: 'f32' });
            try {
                push({ name: 'auto, software adapter -> wasm', ok: e.info.model.backend === 'wasm' && /software fallback/.test(e.info.route.reason),
                    msg: e.info.route.reason });
            } finally { await e.unload(); }
        });
    }

    await check('auto -> webgpu', async () => {
        const e = await createEngine({ model: target, kvType: 'f32', webgpu: gpuOpts });
        try {
            const g = await greedy(e, 8);
            push({ name: 'auto, adapter fits -> webgpu', ok: e.info.route.backend === 'webgpu' && e.info.model.backend === 'webgpu' &&
                same(g.ids, wasmIds.slice(0, 8)), msg: e.info.route.reason });
        } finally { await e.unload(); }
    });

    await check('limits too small -> wasm', async () => {
        const e = await createEngine({ model: target, kvType: 'f32', webgpu: { ...gpuOpts, maxBindingBytes: 4096 } });
        try {
            const g = await greedy(e, 8);
            const fb = e.info.model.fallback || '';
            push({ name: 'adapter limits too small -> wasm', ok: e.info.model.backend === 'wasm' && /binding limit/.test(fb) &&
                g.usage.extra.backend.target === 'wasm' && same(g.ids, wasmIds.slice(0, 8)), msg: fb });
            let code = null;
            try { await createEngine({ model: target, backend: 'webgpu', webgpu: { maxBindingBytes: 4096 } }); } catch (err) { code = err.code; }
            push({ name: 'limits too small + forced webgpu -> NO_ROUTE', ok: code === 'NO_ROUTE', msg: `code ${code}` });
        } finally { await e.unload(); }
    });

    await check('device loss', async () => {
        const events = [];
        const e = await createEngine({ model: target, backend: 'webgpu', kvType: 'f32', onEvent: ev => events.push(ev) });
        try {
            const stream = await e.completions.create({ prompt: PROMPT, max_tokens: 24, temperature: 0, stream: true, return_token_ids: true });
            let got = 0, code = null;
            try {
                for await (const c of stream) {
                    got += (c.choices[0].token_ids || []).length;
                    if (got >= 2 && got < 100) { await e._debugLoseDevice('target'); got = 100; }
                }
            } catch (err) { code = err.code; }
            push({ name: 'device loss: that request fails with DEVICE_LOST', ok: code === 'DEVICE_LOST', msg: `code ${code}` });
            const g = await greedy(e);
            const ev = events.find(x => x.type === 'backend-fallback');
            push({ name: 'device loss: next request on wasm, with an event', ok: !!ev && ev.to === 'wasm' && e.info.model.backend === 'wasm' &&
                g.usage.extra.backend.target === 'wasm' && same(g.ids, wasmIds), msg: JSON.stringify(ev || null) });
        } finally { await e.unload(); }
    });

    await check('speculative', async () => {
        const solo = await createEngine({ model: target, backend: 'webgpu', kvType: 'f32' });
        let ref;
        try { ref = await greedy(solo, 24); } finally { await solo.unload(); }
        for (const mix of [{ target: 'webgpu', draft: 'wasm' }, { target: 'webgpu', draft: 'webgpu' }, { target: 'wasm', draft: 'webgpu' }]) {
            const e = await createEngine({ model: target, draft, backend: mix, kvType: 'f32' });
            try {
                const g = await greedy(e, 24);
                const s = g.usage.extra.speculative;
                push({ name: `speculative ${mix.draft} draft + ${mix.target} target == target-only`, ok: same(g.ids, ref.ids) &&
                    g.usage.extra.backend.target === mix.target && g.usage.extra.backend.draft === mix.draft && !!s && s.rounds > 0,
                    msg: `accepted ${s && s.accepted}/${s && s.proposed}` });
            } finally { await e.unload(); }
        }
    });
    return out;
}
