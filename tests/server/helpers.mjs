// helpers.mjs: shared by tests/server: which model the tests serve, starting the real server (the
// `trit serve` CLI in a child process on 127.0.0.1, port 0), and small HTTP utilities.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { EMBEDDED } from '../../js/server.mjs';
import { createEngine } from '../../js/index-node.mjs';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ORACLE = process.env.TRIT_ORACLE || path.resolve(ROOT, '../shared/oracle');

// The embedded pair when it exists (issue 7), else the oracle's random models: their text is
// meaningless, but ids, usage, streaming, stops, errors and concurrency are all testable. The oracle
// draft is the target's weights in another quantization (same vocabulary, so speculation runs).
const embedded = fs.existsSync(EMBEDDED.target);
export const MODEL = embedded ? EMBEDDED.target : path.join(ORACLE, 'models', 'bitnet-tiny-bpe.tq2_0.gguf');
export const DRAFT = embedded && fs.existsSync(EMBEDDED.draft) ? EMBEDDED.draft : path.join(ORACLE, 'models', 'bitnet-tiny-bpe.tq1_0.gguf');
export const MODEL_ID = path.basename(MODEL).replace(/\.gguf$/, '');

let chatTemplateArg;
/** ['--chat-template', 'chatml'] when the model has no chat template of its own (the oracle models), else []. */
export async function templateArgs() {
    if (chatTemplateArg === undefined) {
        const e = await createEngine({ model: MODEL, workers: false });
        chatTemplateArg = e.info.model.chat_template ? [] : ['--chat-template', 'chatml'];
        await e.unload();
    }
    return chatTemplateArg;
}

/** A direct (in-process) engine on the same model and template as the served one. */
export async function directEngine() {
    const t = await templateArgs();
    return createEngine({ model: MODEL, ...(t.length ? { chatTemplate: t[1] } : {}) });
}

/**
 * Starts `node js/cli.js serve -m MODEL --port 0 --debug ARGS` (with --expose-gc, so /debug/state
 * measures memory after a collection) and waits until it is ready. Returns {url, base (…/v1), pid,
 * state(), stop(), stderr()}.
 */
export async function startServer(args = [], { model = MODEL, ready = true } = {}) {
    const argv = ['--expose-gc', path.join(ROOT, 'js', 'cli.js'), 'serve', '-m', model, '--port', '0', '--debug',
        ...(await templateArgs()), ...args];
    const proc = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    proc.stderr.on('data', b => { err += b; });
    const exited = new Promise(r => proc.once('exit', (code, sig) => r({ code, sig })));
    const url = await new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`server did not start: ${out}\n${err}`)), 60000);
        proc.stdout.on('data', b => {
            out += b;
            const m = /listening on (http:\/\/\S+)/.exec(out);
            if (m && (!ready || /ready:/.test(out))) { clearTimeout(t); resolve(m[1]); }
        });
        exited.then(({ code }) => { clearTimeout(t); reject(new Error(`server exited (${code}): ${out}\n${err}`)); });
    });
    const s = {
        url, base: `${url}/v1`, pid: proc.pid, proc, exited,
        stdout: () => out, stderr: () => err,
        async state() { return (await fetch(`${url}/debug/state`)).json(); },
        async stop() {
            if (proc.exitCode !== null || proc.signalCode !== null) return exited;
            proc.kill('SIGTERM');
            return exited;
        },
    };
    return s;
}

/** Polls fn every `every` ms until it returns a truthy value (or throws after `ms`). */
export async function until(fn, what, ms = 15000, every = 50) {
    const t0 = Date.now();
    for (;;) {
        const v = await fn();
        if (v) return v;
        if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
        await new Promise(r => setTimeout(r, every));
    }
}

/** A raw HTTP request (for what fetch will not send): resolves {status, headers, body (text), json}. */
export function request(url, { method = 'POST', headers = {}, body, chunked = false } = {}) {
    return new Promise((resolve, reject) => {
        const u = new URL(url);
        const h = { ...headers };
        if (body !== undefined && !chunked) h['content-length'] = Buffer.byteLength(body);
        const req = http.request({ host: u.hostname, port: u.port, path: u.pathname, method, headers: h }, res => {
            let s = '';
            res.setEncoding('utf8');
            res.on('data', d => { s += d; });
            res.on('end', () => {
                let json = null;
                try { json = JSON.parse(s); } catch { /* not JSON */ }
                resolve({ status: res.statusCode, headers: res.headers, body: s, json });
            });
        });
        req.on('error', reject);
        if (body !== undefined) {
            if (chunked) for (let i = 0; i < body.length; i += 65536) req.write(body.slice(i, i + 65536));
            else req.write(body);
        }
        req.end();
    });
}

/** Collects an async iterable. */
export async function collect(it) {
    const out = [];
    for await (const x of it) out.push(x);
    return out;
}
