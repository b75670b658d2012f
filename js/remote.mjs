// remote.mjs: the router's remote route. The same engine interface, spoken to an OpenAI-compatible
// HTTP endpoint (POST {baseURL}/chat/completions and /completions, JSON, streaming as server-sent
// events "data: {...}" ... "data: [DONE]"). Used only when the caller configured `remote`.

import { TritError, abortError, isAbortError, throwIfAborted } from './errors.mjs';

export class RemoteEngine {
    /** remote: {baseURL, apiKey?, model?, headers?} */
    constructor(remote, route) {
        this.remote = { ...remote, baseURL: remote.baseURL.replace(/\/+$/, '') };
        this.route = route;
        this.state = 'ready';
        this.chat = { completions: { create: (body, o) => this._create('/chat/completions', body, o) } };
        this.completions = { create: (body, o) => this._create('/completions', body, o) };
        this.lastStats = null;
    }

    get info() {
        return { model: null, draft: null, route: this.route, remote: { baseURL: this.remote.baseURL, model: this.remote.model || null },
            state: this.state };
    }

    async _create(path, body, reqOpts = {}) {
        if (this.state === 'unloaded') throw new TritError('UNLOADED', 'the engine was unloaded');
        if (!body || typeof body !== 'object') throw new TritError('BAD_ARGUMENT', 'create() takes a request object');
        const signal = (reqOpts && reqOpts.signal) || body.signal;
        throwIfAborted(signal);
        const { signal: _drop, ...payload } = body;
        if (this.remote.model) payload.model = this.remote.model;
        if (!payload.model) payload.model = 'default';
        const headers = { 'content-type': 'application/json', accept: payload.stream ? 'text/event-stream' : 'application/json',
            ...(this.remote.headers || {}) };
        if (this.remote.apiKey) headers.authorization = `Bearer ${this.remote.apiKey}`;
        const controller = new AbortController();
        const onAbort = () => controller.abort(signal.reason);
        if (signal) signal.addEventListener('abort', onAbort, { once: true });
        const url = this.remote.baseURL + path;
        let resp;
        try {
            resp = await fetch(url, { method: 'POST', headers, body: JSON.stringify(payload), signal: controller.signal });
        } catch (e) {
            if (signal) signal.removeEventListener('abort', onAbort);
            if (isAbortError(e) || controller.signal.aborted) throw abortError(signal);
            throw new TritError('NETWORK', `POST ${url}: ${e.message}`, { cause: e });
        }
        if (!resp.ok) {
            if (signal) signal.removeEventListener('abort', onAbort);
            let msg = `${resp.status} ${resp.statusText || ''}`.trim();
            try { const j = await resp.json(); if (j && j.error && j.error.message) msg += `: ${j.error.message}`; } catch { /* not JSON */ }
            throw new TritError('REMOTE', `POST ${url}: ${msg}`, { details: { status: resp.status } });
        }
        if (!payload.stream) {
            try {
                return await resp.json();
            } catch (e) {
                if (isAbortError(e) || controller.signal.aborted) throw abortError(signal);
                throw new TritError('REMOTE', `POST ${url}: the answer is not JSON: ${e.message}`);
            } finally {
                if (signal) signal.removeEventListener('abort', onAbort);
            }
        }
        const stream = {
            controller,
            async *[Symbol.asyncIterator]() {
                try {
                    for await (const data of sseData(resp.body)) {
                        if (data === '[DONE]') return;
                        let chunk;
                        try { chunk = JSON.parse(data); } catch { throw new TritError('REMOTE', `a stream event is not JSON: ${data.slice(0, 80)}`); }
                        if (chunk && chunk.error) throw new TritError('REMOTE', `the server reported: ${chunk.error.message || JSON.stringify(chunk.error)}`);
                        yield chunk;
                    }
                } catch (e) {
                    if (isAbortError(e) || controller.signal.aborted) throw abortError(signal);
                    throw e;
                } finally {
                    if (signal) signal.removeEventListener('abort', onAbort);
                    controller.abort();
                }
            },
        };
        return stream;
    }

    async tokenize() { throw new TritError('UNSUPPORTED', 'tokenize is not available on the remote route'); }
    async detokenize() { throw new TritError('UNSUPPORTED', 'detokenize is not available on the remote route'); }
    applyChatTemplate() { throw new TritError('UNSUPPORTED', 'chat templates are applied by the remote server'); }
    async reload() { if (this.state === 'unloaded') throw new TritError('UNLOADED', 'the engine was unloaded'); }
    async unload() { this.state = 'unloaded'; }
}

/** The `data:` payloads of a server-sent-events body (events joined across lines, comments skipped). */
export async function* sseData(body) {
    const reader = body.getReader();
    const dec = new TextDecoder();
    let buf = '', data = [];
    try {
        for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            buf += dec.decode(value, { stream: true });
            let i;
            while ((i = buf.search(/\r\n|\r|\n/)) >= 0) {
                const line = buf.slice(0, i);
                buf = buf.slice(i + (buf[i] === '\r' && buf[i + 1] === '\n' ? 2 : 1));
                if (line === '') {
                    if (data.length) { yield data.join('\n'); data = []; }
                } else if (line.startsWith('data:')) {
                    data.push(line.slice(line[5] === ' ' ? 6 : 5));
                }
            }
        }
        if (data.length) yield data.join('\n');
    } finally {
        try { reader.releaseLock(); } catch { /* ignore */ }
    }
}
