// lib.mjs: reusable plumbing for browser tests (headless Debian chromium driven by playwright-core).
//
//   import { startServer, launchChromium } from '../browser/lib.mjs';
//   const srv = await startServer({ root: repoRoot, mounts: { '/oracle/': oracleDir } });
//   const { browser, page, close } = await launchChromium({ webgpu: true });
//   await page.goto(srv.url + '/tests/browser/some-page.html');
//   ...; await close(); await srv.close();
//
// The server (tools/serve.mjs, the same one `make demo` runs) binds 127.0.0.1 on a free port and sends
// COOP/COEP headers (so pages are cross-origin isolated: SharedArrayBuffer and wasm threads work),
// no-store caching and byte ranges. chromium runs with a fresh user-data-dir that close() removes.
// `webgpu: true` adds --enable-unsafe-webgpu, which gives a SwiftShader adapter headless (pages must
// come from http://127.0.0.1, not about:blank).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export { startServer, ISOLATION_HEADERS } from '../../tools/serve.mjs';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

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
