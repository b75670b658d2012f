// main.mjs: the trit chat demo. One engine at a time (the package's createEngine: the built-in
// target + draft pair by default, or a GGUF from a URL, a file, or this device's storage), a chat
// that streams tokens as they come, stop, new chat, settings, live stats, and the service worker that
// makes it all work offline (web/sw.js). docs/demo.md describes the pieces.
//
// Models without a chat template (the built-in pair is a story model) run as text continuation: the
// conversation is one growing text, sent through completions.create; models with a template the
// package knows use chat.completions.create.
import { createEngine, detectCapabilities, detectTemplate, isAbortError } from '../js/index-browser.mjs';
import * as words from './words.mjs';
import * as store from './store.mjs';

const $ = id => document.getElementById(id);
const el = (tag, props = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(props)) {
        if (k === 'class') e.className = v;
        else if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
        else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? '' : v);
    }
    for (const k of kids) if (k !== null && k !== undefined) e.append(k);
    return e;
};
const now = () => performance.now();
const EMPTY = $('empty');                // the empty conversation's placeholder

// ---- state ---------------------------------------------------------------------------------------

const SETTINGS_KEY = 'trit-demo-settings-v1';
const DEFAULTS = { temperature: 0.7, maxTokens: 128, speculative: true, k: 'auto', backend: 'auto' };

const state = {
    builtin: null,          // models.json: {embedded, note, target, draft}
    caps: null,
    engine: null,
    source: null,           // what the engine runs: {kind: 'builtin'|'url'|'file'|'stored', label, model, draft?, size, id?}
    mode: 'text',           // 'chat' (the model's template) | 'text' (continuation)
    messages: [],           // [{role, content}]
    busy: null,             // null | 'loading' | 'generating'
    abort: null,            // AbortController of the running load or generation
    settings: loadSettings(),
    offline: 'unknown',
};
window.tritDemo = {       // read-only view for people poking at the console (and the browser tests)
    get engine() { return state.engine; },
    get state() { return { busy: state.busy, mode: state.mode, source: state.source && state.source.label, offline: state.offline,
        messages: state.messages.length, route: state.engine ? state.engine.info.route : null }; },
};

function loadSettings() {
    try {
        return { ...DEFAULTS, ...JSON.parse(localStorage.getItem(SETTINGS_KEY) || '{}') };
    } catch {
        return { ...DEFAULTS };
    }
}

function saveSettings() {
    try { localStorage.setItem(SETTINGS_KEY, JSON.stringify(state.settings)); } catch { /* private mode */ }
}

const idleWaiters = [];
/** Resolves when nothing runs (after a generation or load ends). */
const idle = () => (state.busy ? new Promise(r => idleWaiters.push(r)) : Promise.resolve());

function setBusy(b) {
    state.busy = b;
    if (!b) { for (const r of idleWaiters.splice(0)) r(); }
    document.body.dataset.state = b || (state.engine ? 'ready' : 'idle');
    $('send').disabled = !!b || !state.engine;
    $('send').hidden = b === 'generating';
    $('stop').hidden = b !== 'generating';
    $('load-cancel').hidden = b !== 'loading';
    for (const id of ['url-load', 'model-file', 'use-builtin', 'backend']) $(id).disabled = !!b;
    for (const b2 of document.querySelectorAll('#stored button')) b2.disabled = !!b;
}

// ---- errors and notices ----------------------------------------------------------------------------

function showError(e, doing) {
    const w = words.explain(e, doing);
    $('error-title').textContent = w.title;
    $('error-text').textContent = w.text;
    $('error-detail').textContent = w.detail;
    $('error-more').hidden = !w.detail || w.detail === w.text;
    $('error').hidden = false;
    if (!(e && e.code)) console.error(e);
}

function clearError() { $('error').hidden = true; }

function notice(text) {
    $('notice-text').textContent = text || '';
    $('notice').hidden = !text;
}

// ---- progress ------------------------------------------------------------------------------------

const PHASE = { download: 'downloading', cache: 'reading from this device', read: 'reading the file', ready: 'ready' };

function progressUI(title) {
    $('loading-title').textContent = title;
    $('progress-list').replaceChildren();
    $('loading').hidden = false;
    const bars = new Map();
    return {
        update(key, label, p) {
            let b = bars.get(key);
            if (!b) {
                const id = `prog-${key}`;
                const text = el('span');
                const bar = el('progress', { id, max: 1 });
                const lab = el('label', { for: id }, el('span', {}, label), text);
                $('progress-list').append(el('div', { class: 'prog' }, lab, bar));
                b = { bar, text };
                bars.set(key, b);
            }
            if (p.total) { b.bar.max = p.total; b.bar.value = Math.min(p.loaded, p.total); } else b.bar.removeAttribute('value');
            const parts = [p.phase ? PHASE[p.phase] || p.phase : ''];
            parts.push(p.total ? `${words.bytes(p.loaded)} of ${words.bytes(p.total)}` : words.bytes(p.loaded));
            if (p.rate > 0 && p.phase === 'download' && (!p.total || p.loaded < p.total)) parts.push(words.rate(p.rate));
            b.text.textContent = parts.filter(Boolean).join(' · ');
        },
        done() { $('loading').hidden = true; },
    };
}

// ---- offline: the service worker -------------------------------------------------------------------

function offlineLine(text) { $('offline-line').textContent = text; }

/**
 * Registers the service worker. On the first visit it resolves once the worker has saved the app
 * (with the models) and controls the page, so the models are downloaded once, not twice.
 */
async function setupOffline() {
    if (!('serviceWorker' in navigator)) {
        state.offline = 'unavailable';
        offlineLine('Offline use is not available here (no service workers: the page must come from https or localhost).');
        return;
    }
    let prog = null;
    navigator.serviceWorker.addEventListener('message', ev => {
        const m = ev.data || {};
        if (m.type !== 'trit-precache') return;
        if (m.error) {
            state.offline = 'failed';
            offlineLine(`Saving the app for offline use failed: ${m.error}`);
        } else if (m.done) {
            state.offline = 'ready';
            offlineLine(`Saved on this device: works offline (version ${m.version}).`);
        } else if (prog) prog.update('offline', 'App and built-in models', { phase: 'download', loaded: m.loaded, total: m.total });
    });
    // listening before register(): a small app can be saved and the page claimed before it resolves
    const claimed = new Promise(resolve => navigator.serviceWorker.addEventListener('controllerchange', resolve, { once: true }));
    let reg;
    try {
        reg = await navigator.serviceWorker.register('sw.js', { scope: './' });
    } catch (e) {
        state.offline = 'failed';
        offlineLine(`Offline use is not available: ${e.message}`);
        return;
    }
    if (navigator.serviceWorker.controller) {
        state.offline = 'ready';
        offlineLine('Saved on this device: works offline.');
        return;
    }
    prog = progressUI('Saving the app for offline use…');
    const w = reg.installing || reg.waiting;
    await Promise.race([claimed, new Promise(resolve => {
        if (w) w.addEventListener('statechange', () => { if (w.state === 'redundant') resolve(); });
        // active but not in control (a hard reload bypasses the worker): it will not claim this page
        else setTimeout(resolve, 2000);
    })]);
    prog.done();
    if (navigator.serviceWorker.controller) {
        state.offline = 'ready';
        if (!/version/.test($('offline-line').textContent)) offlineLine('Saved on this device: works offline.');
    }
}

// ---- engine ----------------------------------------------------------------------------------------

function backendOptions(value) {
    if (value === 'wasm:simd') return { backend: 'wasm', wasm: 'simd' };
    if (value === 'wasm:scalar') return { backend: 'wasm', wasm: 'scalar' };
    if (value && value !== 'auto') return { backend: value };
    return {};
}

/**
 * Loads a model (source: {kind, label, model, draft?, cache?}) into a new engine. The current engine
 * keeps running until the new one is ready, and stays if loading fails.
 */
async function loadEngine(source, { newChat = true } = {}) {
    if (state.busy === 'generating') {            // a model picked while it answers: stop the answer first
        state.abort.abort();
        await idle();
    }
    if (state.busy) return false;                 // another model is loading (its Cancel comes first)
    clearError();
    const ac = new AbortController();
    state.abort = ac;
    setBusy('loading');
    const prog = progressUI(`Loading ${source.label}…`);
    const names = { target: source.draft ? 'Model' : source.label, draft: 'Draft model' };
    try {
        const opts = {
            model: source.model, signal: ac.signal, cache: source.cache !== undefined ? source.cache : true,
            onProgress: p => { if (p.model !== 'engine') prog.update(p.model, names[p.model] || p.model, p); },
            ...backendOptions(state.settings.backend),
        };
        if (source.draft) opts.draft = source.draft;
        const engine = await createEngine(opts);
        const old = state.engine;
        state.engine = engine;
        state.source = source;
        const tmpl = engine.info.model.chat_template;
        state.mode = tmpl && detectTemplate(tmpl) ? 'chat' : 'text';
        if (old) old.unload().catch(() => {});
        if (newChat) resetChat();
        describeModel();
        return true;
    } catch (e) {
        if (isAbortError(e)) return false;
        showError(e, 'Loading the model');
        return false;
    } finally {
        prog.done();
        state.abort = null;
        setBusy(null);
    }
}

function builtinSource() {
    const b = state.builtin;
    return {
        kind: 'builtin', label: b.embedded ? 'the built-in model pair' : 'the test model pair',
        // the service worker keeps these with the app; no second copy in the model cache
        model: { url: b.target.url, sha256: b.target.sha256, size: b.target.size, name: b.target.name },
        draft: { url: b.draft.url, sha256: b.draft.sha256, size: b.draft.size, name: b.draft.name },
        cache: false, size: b.target.size + b.draft.size,
    };
}

/** the stats' route line: where the engine runs and which kernels its model took */
function showRoute(e) { $('stat-route').textContent = words.route(e.info.route, e.info.model && e.info.model.kernels); }

function describeModel() {
    const e = state.engine, s = state.source;
    if (!e) { $('model-line').textContent = 'no model loaded'; return; }
    const m = e.info.model, d = e.info.draft;
    const name = m.name || s.label;
    const mode = state.mode === 'chat' ? 'chat' : 'text continuation';
    $('model-line').textContent = `${name}${d ? ` + draft ${d.name || 'model'}` : ''} · ${mode} · ${words.bytes(m.file_bytes + (d ? d.file_bytes : 0))}`;
    $('active-model').textContent = `In use: ${s.kind === 'builtin' ? `${s.label}: ` : ''}${name} (${m.arch}, ${fmtParams(m.n_params)} parameters, ` +
        `${words.bytes(m.file_bytes)})${d ? ` with the draft ${d.name} (${fmtParams(d.n_params)}, ${words.bytes(d.file_bytes)})` : ', no draft'}. ` +
        (state.mode === 'chat' ? 'Chat format from the model.' : 'The model has no chat format, so your messages and its answers form one text it continues.');
    $('use-builtin').hidden = s.kind === 'builtin';
    $('prompt').placeholder = state.mode === 'chat' ? 'Write a message…' : (state.builtin && state.builtin.embedded && s.kind === 'builtin'
        ? 'Start a story, e.g. “once upon a time, a little fox” (the model writes lower-case stories)…' : 'Write the start of a text for the model to continue…');
    showRoute(e);
    updateSpecUI();
    refreshStored();
}

function fmtParams(n) {
    if (!n) return '?';
    return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(1)}M` : `${Math.round(n / 1e3)}K`;
}

// ---- chat ------------------------------------------------------------------------------------------

function resetChat() {
    if (state.busy === 'generating' && state.abort) state.abort.abort();
    state.messages = [];
    $('messages').replaceChildren(EMPTY);
    EMPTY.hidden = false;
    for (const id of ['stat-speed', 'stat-tokens', 'stat-accept']) $(id).textContent = '–';
}

function addMessage(role, text) {
    EMPTY.hidden = true;
    const t = el('p', { class: 'text' }, text);
    const meta = el('p', { class: 'meta', hidden: true });
    const node = el('article', { class: `msg ${role}`, 'aria-label': role === 'user' ? 'You' : 'Model' },
        el('p', { class: 'who', 'aria-hidden': 'true' }, role === 'user' ? 'you' : 'model'), t, meta);
    $('messages').append(node);
    node.scrollIntoView({ block: 'end' });
    return { node, text: t, meta };
}

/** The conversation as one text (text-continuation mode). */
function plainText(msgs) {
    let s = '';
    for (const m of msgs) {
        const c = m.content;
        if (m.role === 'user' && s && c && !/\s$/.test(s) && !/^\s/.test(c)) s += ' ';
        s += c;
    }
    return s;
}

/**
 * What to send so that the prompt leaves room for the answer in the model's context: in chat mode
 * the oldest turns are left out, in text mode the start of the text (cut at a token boundary).
 * Returns {messages | prompt, cut: whether something was left out}.
 */
async function fitPrompt(engine, messages, maxTokens) {
    const nCtx = engine.info.model.n_ctx;
    const reserve = Math.min(maxTokens, Math.floor(nCtx / 2));
    if (state.mode === 'chat') {
        const count = async m => (await engine.tokenize(engine.applyChatTemplate(m), { parseSpecial: true })).length;
        const sys = messages[0].role === 'system' ? [messages[0]] : [];
        let rest = messages.slice(sys.length), cut = false;
        while (rest.length > 1 && await count([...sys, ...rest]) + reserve > nCtx) {
            rest = rest.slice(1);
            while (rest.length > 1 && rest[0].role === 'assistant') rest = rest.slice(1);   // start with a user turn
            cut = true;
        }
        return { messages: [...sys, ...rest], cut };
    }
    let text = plainText(messages), cut = false;
    for (let i = 0; i < 3; i++) {                       // detokenizing and tokenizing again may shift by a token
        const ids = await engine.tokenize(text);
        const room = nCtx - reserve;
        if (ids.length <= room) break;
        const body = ids[0] === engine.info.model.bos && engine.info.model.add_bos ? ids.slice(1) : ids;
        text = await engine.detokenize(body.slice(body.length - (room - 1 - i)));
        cut = true;
    }
    return { prompt: text, cut };
}

function speculativeParam() {
    if (!state.engine || !state.engine.info.draft) return undefined;
    if (!state.settings.speculative) return false;
    return state.settings.k === 'auto' ? { enabled: true, adaptive: true } : { enabled: true, adaptive: false, k: Number(state.settings.k) };
}

async function send(text) {
    if (state.busy || !state.engine || !text.trim()) return;
    clearError();
    const engine = state.engine;
    state.messages.push({ role: 'user', content: text });
    addMessage('user', text);
    const out = addMessage('assistant', '');
    out.node.classList.add('streaming');
    out.node.setAttribute('aria-busy', 'true');
    const ac = new AbortController();
    state.abort = ac;
    setBusy('generating');
    let content = '', tokens = 0, tFirst = 0, usage = null, finish = null, stopped = false, cut = false;
    const t0 = now();
    const body = {
        stream: true, max_tokens: state.settings.maxTokens, temperature: state.settings.temperature, top_p: 0.95,
        return_token_ids: true,
    };
    const spec = speculativeParam();
    if (spec !== undefined) body.speculative = spec;
    try {
        const fit = await fitPrompt(engine, state.messages, body.max_tokens);
        cut = fit.cut;
        const stream = state.mode === 'chat'
            ? await engine.chat.completions.create({ ...body, messages: fit.messages }, { signal: ac.signal })
            : await engine.completions.create({ ...body, prompt: fit.prompt }, { signal: ac.signal });
        for await (const chunk of stream) {
            const ch = chunk.choices[0];
            if (chunk.usage) usage = chunk.usage;
            if (!ch) continue;
            const piece = state.mode === 'chat' ? (ch.delta && ch.delta.content) || '' : ch.text || '';
            const n = ch.token_ids ? ch.token_ids.length : 0;
            if (n && !tFirst) tFirst = now();
            tokens += n;
            if (piece) {
                content += piece;
                // a continuation usually starts with the space after the prompt: not worth showing
                out.text.textContent = state.mode === 'text' ? content.replace(/^\s+/, '') : content;
                out.node.scrollIntoView({ block: 'end' });
            }
            if (ch.finish_reason) finish = ch.finish_reason;
            liveStats(tokens, tFirst);
        }
    } catch (e) {
        if (isAbortError(e)) stopped = true;
        else {
            out.node.classList.add('failed');
            showError(e, 'Answering');
        }
    } finally {
        out.node.classList.remove('streaming');
        out.node.removeAttribute('aria-busy');
        state.abort = null;
        // the answer so far stays in the conversation (also when stopped), so the next turn continues it
        if (content || stopped) state.messages.push({ role: 'assistant', content });
        else if (!content) state.messages.pop();
        if (!content) out.text.textContent = stopped ? '' : '(no answer)';
        finalStats(out, { tokens, usage, finish, stopped, cut, ms: now() - t0 });
        setBusy(null);
    }
}

function liveStats(tokens, tFirst) {
    $('stat-tokens').textContent = String(tokens);
    if (tokens > 1 && tFirst) $('stat-speed').textContent = `${((tokens - 1) / ((now() - tFirst) / 1000)).toFixed(1)} tok/s`;
}

function finalStats(out, { tokens, usage, finish, stopped, cut, ms }) {
    const x = usage && usage.extra;
    const parts = [`${tokens} token${tokens === 1 ? '' : 's'}`];
    if (x) {
        const tps = x.decode_tokens_per_s || x.tokens_per_s;
        if (tps) { parts.push(`${tps.toFixed(1)} tok/s`); $('stat-speed').textContent = `${tps.toFixed(1)} tok/s`; }
        const s = x.speculative;
        if (s && s.proposed > 0) {
            const a = `${words.percent(s.acceptance_rate)} of ${s.proposed} draft tokens (K ${s.k}${s.adaptive ? ', adaptive' : ''})`;
            $('stat-accept').textContent = a;
            parts.push(`accepted ${words.percent(s.acceptance_rate)}`);
        } else {
            $('stat-accept').textContent = state.engine && state.engine.info.draft ? 'speculative off' : 'no draft';
        }
    } else if (tokens > 0) {
        parts.push(`${(tokens / (ms / 1000)).toFixed(1)} tok/s`);
    }
    $('stat-tokens').textContent = String(tokens);
    if (stopped) parts.push('stopped');
    else if (finish === 'length') parts.push('reached the token limit');
    if (cut) parts.push(`the start of the conversation was left out (the model sees ${state.engine.info.model.n_ctx} tokens)`);
    out.meta.textContent = parts.join(' · ');
    out.meta.hidden = false;
    out.node.dataset.finish = stopped ? 'stopped' : finish || 'error';
    if (state.engine) showRoute(state.engine);
}

// ---- settings --------------------------------------------------------------------------------------

function initSettings() {
    const s = state.settings;
    const temp = $('temperature'), tout = $('temperature-out');
    temp.value = String(s.temperature);
    tout.textContent = Number(s.temperature).toFixed(2);
    temp.addEventListener('input', () => {
        s.temperature = Number(temp.value);
        tout.textContent = s.temperature.toFixed(2);
        saveSettings();
    });
    const mt = $('max-tokens');
    mt.value = String(s.maxTokens);
    mt.addEventListener('change', () => {
        const v = Math.round(Number(mt.value));
        s.maxTokens = Number.isFinite(v) ? Math.min(4096, Math.max(1, v)) : DEFAULTS.maxTokens;
        mt.value = String(s.maxTokens);
        saveSettings();
    });
    $('speculative').checked = !!s.speculative;
    $('speculative').addEventListener('change', () => { s.speculative = $('speculative').checked; saveSettings(); updateSpecUI(); });
    $('spec-k').value = String(s.k);
    if ($('spec-k').value !== String(s.k)) $('spec-k').value = s.k = 'auto';
    $('spec-k').addEventListener('change', () => { s.k = $('spec-k').value; saveSettings(); });

    const be = $('backend'), caps = state.caps;
    const opts = [['auto', 'Automatic (best available)', true]];
    if (caps.backends.includes('wasm')) {
        opts.push(['wasm:simd', 'WebAssembly SIMD128', caps.simd]);
        opts.push(['wasm:scalar', 'WebAssembly (plain reference build)', caps.wasm]);
    }
    for (const b of caps.backends) if (b !== 'wasm') opts.push([b, b === 'webgpu' ? 'WebGPU' : b, b !== 'webgpu' || caps.webgpu]);
    if (!caps.backends.includes('webgpu')) opts.push(['webgpu', 'WebGPU (not in this build yet)', false]);
    be.replaceChildren(...opts.map(([v, label, ok]) => el('option', { value: v, disabled: !ok }, label)));
    be.value = s.backend;
    if (be.value !== s.backend || be.selectedOptions[0].disabled) be.value = s.backend = 'auto';
    be.addEventListener('change', async () => {
        const prev = s.backend;
        s.backend = be.value;
        saveSettings();
        if (state.source && !(await loadEngine(state.source, { newChat: false }))) {
            s.backend = be.value = prev;
            saveSettings();
        }
    });
    const facts = [caps.simd ? 'SIMD128: yes' : 'SIMD128: no',
        caps.threads ? 'threads: possible (cross-origin isolated)' : 'threads: no (the page is not cross-origin isolated)',
        caps.webgpu ? `WebGPU: in this browser${caps.backends.includes('webgpu') ? '' : ' (no trit backend for it yet)'}` : 'WebGPU: not in this browser'];
    $('backend-hint').textContent = `${facts.join(' · ')}.`;
}

function updateSpecUI() {
    const hasDraft = !!(state.engine && state.engine.info.draft);
    $('speculative').disabled = !hasDraft;
    $('spec-k').disabled = !hasDraft || !state.settings.speculative;
    $('spec-hint').textContent = hasDraft
        ? 'A small draft model proposes K tokens, the main model checks them in one step: the same text, faster. ' +
          'Auto picks K from how often the draft is right.'
        : 'This model runs without a draft model.';
}

// ---- models ----------------------------------------------------------------------------------------

async function refreshStored() {
    const list = $('stored');
    let items = [];
    try { items = await store.listStored(); } catch (e) { console.warn('listing stored models failed', e); }
    const b = state.builtin;
    const rows = [];
    if (b) {
        rows.push(el('li', { class: state.source && state.source.kind === 'builtin' ? 'current' : '' },
            el('span', { class: 'name' }, `${b.target.name} + ${b.draft.name} (built in)`),
            el('span', { class: 'size' }, words.bytes(b.target.size + b.draft.size))));
    }
    for (const it of items) {
        const current = state.source && state.source.id === it.id;
        rows.push(el('li', { class: current ? 'current' : '' },
            el('span', { class: 'name' }, `${it.name}${it.kind === 'file' ? ' (file)' : ''}`),
            el('span', { class: 'size' }, words.bytes(it.size)),
            el('button', { type: 'button', class: 'small', 'aria-label': `Use ${it.name}`, disabled: !!state.busy || current,
                onclick: () => useStored(it) }, 'Use'),
            el('button', { type: 'button', class: 'small', 'aria-label': `Delete ${it.name}`, disabled: !!state.busy,
                onclick: () => deleteStored(it) }, 'Delete')));
    }
    if (!items.length) rows.push(el('li', { class: 'none' }, 'Models you load by URL or from a file are kept here.'));
    list.replaceChildren(...rows);
    const est = await store.storageEstimate();
    $('storage-line').textContent = est ? `This site uses ${words.bytes(est.usage)} of ${words.bytes(est.quota)} the browser allows it.` : '';
}

async function useStored(it) {
    if (it.kind === 'url') return loadEngine({ kind: 'url', id: it.id, label: it.name, model: it.url, cache: true });
    const blob = await store.openFile(it.id);
    if (!blob) { showError(new Error('the saved file is gone'), 'Opening the saved model'); return refreshStored(); }
    return loadEngine({ kind: 'stored', id: it.id, label: it.name, model: { blob, name: it.name }, cache: false });
}

async function deleteStored(it) {
    try {
        await store.deleteStored(it);
    } catch (e) {
        showError(e, 'Deleting the model');
    }
    refreshStored();
}

async function loadURL(url) {
    let u;
    try {
        u = new URL(url, location.href);
        if (!/^https?:$/.test(u.protocol)) throw new Error('only http(s) addresses can be loaded');
    } catch (e) {
        showError(e, 'Reading the address');
        return;
    }
    const name = store.basename(u.href);
    if (await loadEngine({ kind: 'url', id: u.href, label: name, model: u.href, cache: true })) {
        $('model-url').value = '';
        refreshStored();
    }
}

async function loadFile(file) {
    if (!file) return;
    const ok = await loadEngine({ kind: 'file', label: file.name, model: file, cache: false });
    if (!ok) return;
    // remember it (in the background; the model already runs)
    store.saveFile(file).then(id => {
        if (id && state.source && state.source.model === file) state.source = { ...state.source, id };
        refreshStored();
    }).catch(e => showError(e, 'Saving the file on this device'));
}

// ---- wiring ----------------------------------------------------------------------------------------

function wire() {
    const prompt = $('prompt');
    $('composer').addEventListener('submit', ev => {
        ev.preventDefault();
        const t = prompt.value;
        if (!t.trim() || state.busy) return;
        prompt.value = '';
        send(t);
    });
    prompt.addEventListener('keydown', ev => {
        if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
            ev.preventDefault();
            $('composer').requestSubmit();
        }
    });
    $('stop').addEventListener('click', () => { if (state.abort) state.abort.abort(); prompt.focus(); });
    $('load-cancel').addEventListener('click', () => { if (state.abort) state.abort.abort(); });
    $('new-chat').addEventListener('click', () => { resetChat(); clearError(); prompt.focus(); });
    $('error-close').addEventListener('click', () => { clearError(); prompt.focus(); });
    $('notice-close').addEventListener('click', () => { notice(''); prompt.focus(); });
    $('url-form').addEventListener('submit', ev => { ev.preventDefault(); loadURL($('model-url').value.trim()); });
    $('model-file').addEventListener('change', () => {
        const f = $('model-file').files[0];
        $('model-file').value = '';
        loadFile(f);
    });
    $('use-builtin').addEventListener('click', () => loadEngine(builtinSource()));

    // narrow screens: the panel is a drawer over the chat (which is inert while it is open)
    const toggle = $('panel-toggle'), panel = $('panel');
    const narrow = matchMedia('(max-width: 900px)');
    const setPanel = open => {
        panel.classList.toggle('open', open);
        toggle.setAttribute('aria-expanded', String(open));
        toggle.textContent = open ? 'Done' : 'Settings';
        $('chat').inert = open && narrow.matches;
        document.documentElement.style.setProperty('--top-h', `${document.querySelector('.top').offsetHeight}px`);
        if (open) panel.querySelector('h2').focus();
    };
    panel.querySelectorAll('h2').forEach(h => h.setAttribute('tabindex', '-1'));
    toggle.addEventListener('click', () => setPanel(!panel.classList.contains('open')));
    narrow.addEventListener('change', () => setPanel(false));

    document.addEventListener('keydown', ev => {
        if (ev.key === 'Escape') {
            if (state.busy && state.abort) { state.abort.abort(); ev.preventDefault(); }
            else if (panel.classList.contains('open')) { setPanel(false); toggle.focus(); }
        } else if (ev.altKey && (ev.key === 'n' || ev.key === 'N')) {
            ev.preventDefault();
            $('new-chat').click();
        }
    });

    // drag and drop anywhere
    const drop = $('drop');
    let depth = 0;
    const hasFiles = ev => ev.dataTransfer && Array.from(ev.dataTransfer.types || []).includes('Files');
    window.addEventListener('dragenter', ev => { if (!hasFiles(ev)) return; ev.preventDefault(); depth++; drop.hidden = false; });
    window.addEventListener('dragover', ev => { if (!hasFiles(ev)) return; ev.preventDefault(); ev.dataTransfer.dropEffect = 'copy'; });
    window.addEventListener('dragleave', ev => { if (!hasFiles(ev)) return; if (--depth <= 0) { depth = 0; drop.hidden = true; } });
    window.addEventListener('drop', ev => {
        if (!ev.dataTransfer) return;
        ev.preventDefault();
        depth = 0;
        drop.hidden = true;
        const f = ev.dataTransfer.files && ev.dataTransfer.files[0];
        if (f) loadFile(f);
    });
}

async function main() {
    wire();
    setBusy('loading');
    $('about-text').textContent = 'trit runs ternary (1.58-bit, BitNet b1.58) language models with WebAssembly in this page. ' +
        'A small draft model guesses ahead and the main model checks its guesses (speculative decoding). Nothing you type leaves the device.';
    try {
        const r = await fetch('models.json');
        if (!r.ok) throw new Error(`models.json: HTTP ${r.status}`);
        state.builtin = await r.json();
    } catch (e) {
        showError(e, 'Starting the app');
        setBusy(null);
        return;
    }
    if (!state.builtin.embedded) {
        notice('Test models: the built-in model pair is not part of this build yet, so these random-weight ' +
            'models answer with meaningless text (everything else works). See About.');
        $('about-note').textContent = state.builtin.note;
    }
    state.caps = await detectCapabilities();
    initSettings();
    await setupOffline();
    setBusy(null);
    await loadEngine(builtinSource());
    $('prompt').focus();
}

main().catch(e => { showError(e, 'Starting the app'); setBusy(null); });
