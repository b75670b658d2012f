// lib.mjs: reusable plumbing for browser tests (headless Debian chromium driven by playwright-core).
//
//   import { startServer, launchChromium } from '../browser/lib.mjs';
//   const srv = await startServer({ root: repoRoot, mounts: { '/oracle/': oracleDir } });
//   const { browser, page, close } = await launchChromium({ webgpu: true });
//   await page.goto(srv.url + '/tests/browser/some-page.html');
//   ...; await close(); await srv.close();
//
// The server binds 127.0.0.1 on a free port and sends COOP/COEP headers (so pages are cross-origin
// isolated: SharedArrayBuffer and wasm threads work) and no-store caching. chromium runs with a fresh
// user-data-dir that close() removes. `webgpu: true` adds --enable-unsafe-webgpu, which gives a
// SwiftShader adapter headless (pages must come from http://127.0.0.1, not about:blank).
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const MIME = {
    '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8',
    '.mjs': 'text/javascript; charset=utf-8', '.json': 'application/json', '.wasm': 'application/wasm',
    '.css': 'text/css', '.txt': 'text/plain; charset=utf-8', '.gguf': 'application/octet-stream',
    '.svg': 'image/svg+xml', '.png': 'image/png', '.webmanifest': 'application/manifest+json',
};

/**
 * Static file server on 127.0.0.1. opts.root: directory served at '/'; opts.mounts: { '/prefix/': dir }
 * for extra trees (e.g. the oracle fixtures); opts.headers: extra response headers;
 * opts.isolate (default true): COOP same-origin + COEP require-corp; opts.handler(req, res): called
 * first, return true when it answered. Returns { url, port, close() }.
 */
export async function startServer(opts = {}) {
    const root = path.resolve(opts.root || process.cwd());
    const mounts = Object.entries(opts.mounts || {}).map(([p, d]) => [p, path.resolve(d)]);
    const isolate = opts.isolate !== false;
    const server = http.createServer(async (req, res) => {
        try {
            if (opts.handler && await opts.handler(req, res)) return;
            const u = new URL(req.url, 'http://127.0.0.1');
            let rel = decodeURIComponent(u.pathname), base = root;
            for (const [p, d] of mounts) if (rel.startsWith(p)) { base = d; rel = rel.slice(p.length - 1); break; }
            const file = path.join(base, path.normalize(rel));
            if (!file.startsWith(base)) { res.writeHead(403).end(); return; }
            let st;
            try { st = fs.statSync(file); } catch { res.writeHead(404).end('not found'); return; }
            if (!st.isFile()) { res.writeHead(404).end('not a file'); return; }
            const headers = {
                'content-type': MIME[path.extname(file)] || 'application/octet-stream',
                'content-length': st.size, 'cache-control': 'no-store', ...(opts.headers || {}),
            };
            if (isolate) {
                headers['cross-origin-opener-policy'] = 'same-origin';
                headers['cross-origin-embedder-policy'] = 'require-corp';
                headers['cross-origin-resource-policy'] = 'same-origin';
            }
            res.writeHead(200, headers);
            if (req.method === 'HEAD') { res.end(); return; }
            fs.createReadStream(file).pipe(res);
        } catch (e) {
            if (!res.headersSent) res.writeHead(500);
            res.end(String(e));
        }
    });
    await new Promise((resolve, reject) => { server.once('error', reject); server.listen(0, '127.0.0.1', resolve); });
    const port = server.address().port;
    return {
        url: `http://127.0.0.1:${port}`, port, server,
        close: () => new Promise(r => { server.closeAllConnections?.(); server.close(() => r()); }),
    };
}

/** The flags every test uses (see docs/webgpu.md); `webgpu` adds --enable-unsafe-webgpu. */
export function chromiumArgs({ webgpu = false, extra = [] } = {}) {
    const a = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
        '--disable-background-networking', '--disable-component-update', '--disable-sync'];
    if (webgpu) a.push('--enable-unsafe-webgpu');
    return a.concat(extra);
}

/**
 * Launches headless chromium with a fresh user-data-dir. Returns { browser, context, page, close,
 * logs } where logs collects the page's console lines and errors (handy in assertion messages).
 * opts.timeout: default page timeout in ms (default 60 s).
 */
export async function launchChromium(opts = {}) {
    const { chromium } = await import('playwright-core');
    const userDir = fs.mkdtempSync(path.join(os.tmpdir(), 'trit-chromium-'));
    const context = await chromium.launchPersistentContext(userDir, {
        executablePath: CHROMIUM, headless: true, args: chromiumArgs(opts),
        ignoreDefaultArgs: ['--enable-automation'],
    });
    const page = context.pages()[0] || await context.newPage();
    page.setDefaultTimeout(opts.timeout || 60000);
    const logs = [];
    page.on('console', m => logs.push(`[${m.type()}] ${m.text()}`));
    page.on('pageerror', e => logs.push(`[pageerror] ${e.message}`));
    const close = async () => {
        try { await context.close(); } finally { fs.rmSync(userDir, { recursive: true, force: true }); }
    };
    return { browser: context.browser(), context, page, close, logs };
}
