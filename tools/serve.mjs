#!/usr/bin/env node
// serve.mjs: the project's one static file server (node:http, no dependencies). `make demo` runs it on
// the built demo (build/web); browser tests use startServer() through tests/browser/lib.mjs.
//
//   node tools/serve.mjs [dir] [--port 8000] [--host 127.0.0.1] [--no-isolate]
//
// It binds 127.0.0.1 by default and sends COOP same-origin + COEP require-corp (+ CORP same-origin), so
// pages are cross-origin isolated (SharedArrayBuffer, wasm threads). GET/HEAD, single byte ranges
// (206/416, If-Range) with a strong ETag and Last-Modified, so the package's loader can resume an
// interrupted model download; '/dir/' serves '/dir/index.html'; no-store caching by default (the demo's
// service worker does the offline caching, a stale HTTP cache only gets in the way while developing).
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const MIME = {
    '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
    '.css': 'text/css; charset=utf-8', '.txt': 'text/plain; charset=utf-8', '.md': 'text/plain; charset=utf-8',
    '.gguf': 'application/octet-stream', '.svg': 'image/svg+xml', '.png': 'image/png', '.ico': 'image/x-icon',
    '.webmanifest': 'application/manifest+json',
};

/** The headers that make a page cross-origin isolated. */
export const ISOLATION_HEADERS = Object.freeze({
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-embedder-policy': 'require-corp',
    'cross-origin-resource-policy': 'same-origin',
});

function inside(base, file) {
    const rel = path.relative(base, file);
    return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Parses a single "bytes=a-b" range against size: {start, end} (inclusive), 'bad' (416) or null (whole). */
function parseRange(h, size) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(h || '');
    if (!m || (m[1] === '' && m[2] === '')) return null;      // absent, multiple ranges, other units: send it all
    let start, end;
    if (m[1] === '') { start = Math.max(0, size - Number(m[2])); end = size - 1; }        // suffix: the last N bytes
    else { start = Number(m[1]); end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1); }
    if (start >= size || start > end) return 'bad';
    return { start, end };
}

/**
 * Static file server on 127.0.0.1 (opts.host to change). opts.root: directory served at '/';
 * opts.mounts: { '/prefix/': dir } for extra trees (e.g. the oracle fixtures); opts.headers: extra
 * response headers; opts.isolate (default true): COOP/COEP/CORP; opts.cacheControl (default 'no-store');
 * opts.handler(req, res): called first, return true when it answered; opts.port (default 0: a free one).
 * Returns { url, port, server, close() }.
 */
export async function startServer(opts = {}) {
    const root = path.resolve(opts.root || process.cwd());
    const mounts = Object.entries(opts.mounts || {}).map(([p, d]) => [p, path.resolve(d)]);
    const isolate = opts.isolate !== false;
    const host = opts.host || '127.0.0.1';
    const server = http.createServer(async (req, res) => {
        try {
            if (opts.handler && await opts.handler(req, res)) return;
            const common = { 'cache-control': opts.cacheControl || 'no-store', ...(isolate ? ISOLATION_HEADERS : {}),
                ...(opts.headers || {}) };
            if (req.method !== 'GET' && req.method !== 'HEAD') {
                res.writeHead(405, { ...common, allow: 'GET, HEAD' }).end();
                return;
            }
            const u = new URL(req.url, 'http://127.0.0.1');
            let rel = decodeURIComponent(u.pathname), base = root;
            for (const [p, d] of mounts) if (rel.startsWith(p)) { base = d; rel = rel.slice(p.length - 1); break; }
            let file = path.join(base, path.normalize(rel));
            if (!inside(base, file)) { res.writeHead(403, common).end(); return; }
            let st;
            try {
                st = fs.statSync(file);
                if (st.isDirectory()) { file = path.join(file, 'index.html'); st = fs.statSync(file); }
            } catch { res.writeHead(404, { ...common, 'content-type': 'text/plain' }).end('not found'); return; }
            if (!st.isFile()) { res.writeHead(404, common).end('not a file'); return; }
            const etag = `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
            const headers = {
                ...common, 'content-type': MIME[path.extname(file)] || 'application/octet-stream',
                'accept-ranges': 'bytes', etag, 'last-modified': st.mtime.toUTCString(),
            };
            const ifRange = req.headers['if-range'];
            let range = parseRange(req.headers.range, st.size);
            if (range && ifRange && ifRange !== etag && ifRange !== headers['last-modified']) range = null;
            if (range === 'bad') {
                res.writeHead(416, { ...headers, 'content-range': `bytes */${st.size}` }).end();
                return;
            }
            const { start, end } = range || { start: 0, end: st.size - 1 };
            if (range) headers['content-range'] = `bytes ${start}-${end}/${st.size}`;
            headers['content-length'] = st.size === 0 ? 0 : end - start + 1;
            res.writeHead(range ? 206 : 200, headers);
            if (req.method === 'HEAD' || st.size === 0) { res.end(); return; }
            fs.createReadStream(file, { start, end }).pipe(res);
        } catch (e) {
            if (!res.headersSent) res.writeHead(500);
            res.end(String(e));
        }
    });
    await new Promise((resolve, reject) => { server.once('error', reject); server.listen(opts.port || 0, host, resolve); });
    const port = server.address().port;
    return {
        url: `http://${host}:${port}`, port, server,
        close: () => new Promise(r => { server.closeAllConnections?.(); server.close(() => r()); }),
    };
}

// ---- command line ---------------------------------------------------------------------------------

async function main(argv) {
    let dir = '.', port = 8000, host = '127.0.0.1', isolate = true, portGiven = false;
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--port') { port = Number(argv[++i]); portGiven = true; }
        else if (a === '--host') host = argv[++i];
        else if (a === '--no-isolate') isolate = false;
        else if (a === '-h' || a === '--help') {
            console.log('usage: node tools/serve.mjs [dir] [--port 8000] [--host 127.0.0.1] [--no-isolate]');
            return;
        } else if (a.startsWith('-')) throw new Error(`unknown option ${a}`);
        else dir = a;
    }
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('--port takes 0..65535');
    if (!fs.existsSync(dir)) throw new Error(`${dir}: no such directory`);
    let srv = null;
    // the default port may be taken (another demo running): try the next few unless a port was given
    for (let p = port, tries = 0; !srv; p++, tries++) {
        try {
            srv = await startServer({ root: dir, port: p, host, isolate });
        } catch (e) {
            if (e.code !== 'EADDRINUSE' || portGiven || tries >= 20) throw e;
        }
    }
    console.log(`serving ${path.resolve(dir)} at ${srv.url}/ (${isolate ? 'COOP/COEP: cross-origin isolated' : 'no COOP/COEP'}); Ctrl-C stops`);
    const stop = () => srv.close().then(() => process.exit(0));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    main(process.argv.slice(2)).catch(e => { console.error(`serve: ${e.message}`); process.exit(1); });
}
