// openai-server.mjs: a minimal OpenAI-compatible HTTP server over an engine, for the router's remote
// route tests (issue 6 builds the real `trit serve`). POST /v1/chat/completions and /v1/completions,
// JSON or server-sent events; errors as {error: {message, type, code}}.
import http from 'node:http';

export function startOpenAIServer(engine, { host = '127.0.0.1' } = {}) {
    const requests = [];
    const server = http.createServer(async (req, res) => {
        requests.push({ method: req.method, url: req.url, auth: req.headers.authorization || null });
        const fail = (status, message, code) => {
            if (res.headersSent) { res.end(); return; }
            res.writeHead(status, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', code: code || null } }));
        };
        if (req.method !== 'POST' || !['/v1/chat/completions', '/v1/completions'].includes(req.url)) return fail(404, 'not found');
        let body;
        try {
            const chunks = [];
            for await (const c of req) chunks.push(c);
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
            return fail(400, 'the body is not JSON');
        }
        const ac = new AbortController();
        res.on('close', () => { if (!res.writableEnded) ac.abort(); });
        const api = req.url === '/v1/chat/completions' ? engine.chat.completions : engine.completions;
        try {
            const out = await api.create(body, { signal: ac.signal });
            if (!body.stream) {
                res.writeHead(200, { 'content-type': 'application/json' });
                res.end(JSON.stringify(out));
                return;
            }
            res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
            for await (const chunk of out) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
            res.end('data: [DONE]\n\n');
        } catch (e) {
            if (e.name === 'AbortError') { res.destroy(); return; }
            fail(e.code === 'BAD_ARGUMENT' || e.code === 'UNSUPPORTED' ? 400 : 500, e.message, e.code);
        }
    });
    return new Promise(resolve => server.listen(0, host, () => {
        resolve({ server, requests, baseURL: `http://${host}:${server.address().port}/v1`, close: () => new Promise(r => server.close(r)) });
    }));
}
