#!/usr/bin/env node
// build_web.mjs: assembles the offline chat demo into one self-contained directory (default build/web)
// that any static host can serve, and that `make demo` serves with tools/serve.mjs:
//
//   index.html app/*.mjs style.css manifest.webmanifest   copied from web/
//   sw.js                      web/sw.js with the precache list and a content version filled in
//   icons/*.png                generated here (tools/icons.mjs)
//   js/**/*.mjs                the npm package's browser modules, unchanged (the app imports ./js/index-browser.mjs)
//   build/wasm/trit-*.wasm     the wasm builds, where js/wasm.mjs looks for them (../build/wasm/ from js/)
//   models/*.gguf, models.json the embedded model pair (or the fallback, see below) with sizes and SHA-256
//
//   node tools/build_web.mjs [--out build/web] [--quiet]
//
// The embedded pair's file names live here and only here (EMBEDDED). While models/ lacks them, the
// demo ships FALLBACK instead: two random-weight test models from ../shared/oracle that share one
// vocabulary (meaningless text, but loading, streaming, stop, speculative stats and offline use all
// work), and models.json says so (`embedded: false`, `note`), which the app shows.
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeIcons } from './icons.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** The embedded model pair (issue 7): target and speculative draft, relative to the repository root. */
export const EMBEDDED = { target: 'models/trit-target.tq2_0.gguf', draft: 'models/trit-draft.tq2_0.gguf' };
/** Used while EMBEDDED is missing: oracle test models (random weights, one SentencePiece vocabulary). */
export const FALLBACK = { target: 'llama-tiny-spm.tq2_0.gguf', draft: 'bitnet-tiny-spm.tq2_0.gguf' };
export const ORACLE = process.env.TRIT_ORACLE || path.resolve(ROOT, '../shared/oracle');

// package modules that only Node uses (the browser never requests them)
const NODE_ONLY = new Set(['index-node.mjs', 'platform-node.mjs', 'worker-node.mjs', 'workers-node.mjs', 'cli.mjs']);

/** Which model files the demo ships: {embedded, note, target: abs path, draft: abs path}. */
export function demoModels() {
    const emb = { target: path.join(ROOT, EMBEDDED.target), draft: path.join(ROOT, EMBEDDED.draft) };
    if (fs.existsSync(emb.target) && fs.existsSync(emb.draft)) return { embedded: true, note: null, ...emb };
    const fb = { target: path.join(ORACLE, 'models', FALLBACK.target), draft: path.join(ORACLE, 'models', FALLBACK.draft) };
    for (const f of Object.values(fb)) {
        if (!fs.existsSync(f)) throw new Error(`neither the embedded pair (${EMBEDDED.target}, ${EMBEDDED.draft}) nor the fallback ${f} exists`);
    }
    return {
        embedded: false, ...fb,
        note: `The embedded model pair (${EMBEDDED.target}, ${EMBEDDED.draft}) is not in this checkout yet, so the demo ` +
            `serves two random-weight test models from ${path.relative(ROOT, path.join(ORACLE, 'models')) || ORACLE}: ` +
            'their text is meaningless, but loading, streaming, stop, speculative stats and offline use all work.',
    };
}

function copyFile(src, dst) {
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(src, dst);
}

function copyTree(src, dst, keep = () => true) {
    for (const e of fs.readdirSync(src, { withFileTypes: true })) {
        const s = path.join(src, e.name), d = path.join(dst, e.name);
        if (e.isDirectory()) copyTree(s, d, keep);
        else if (e.isFile() && keep(e.name, s)) copyFile(s, d);
    }
}

function sha256File(f) {
    return crypto.createHash('sha256').update(fs.readFileSync(f)).digest('hex');
}

function listFiles(dir, base = dir) {
    const out = [];
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.isDirectory()) out.push(...listFiles(p, base));
        else out.push(path.relative(base, p).split(path.sep).join('/'));
    }
    return out.sort();
}

export function buildWeb({ out = path.join(ROOT, 'build/web'), quiet = false } = {}) {
    const log = quiet ? () => {} : m => console.log(m);
    const wasmDir = path.join(ROOT, 'build/wasm');
    const wasm = fs.existsSync(wasmDir) ? fs.readdirSync(wasmDir).filter(f => /^trit-.*\.wasm$/.test(f)) : [];
    if (!wasm.includes('trit-simd.wasm') || !wasm.includes('trit-scalar.wasm')) {
        throw new Error('build/wasm/trit-simd.wasm and trit-scalar.wasm are missing: run `make wasm` first');
    }
    const models = demoModels();
    fs.rmSync(out, { recursive: true, force: true });
    fs.mkdirSync(out, { recursive: true });

    copyTree(path.join(ROOT, 'web'), out, name => name !== 'sw.js');
    copyTree(path.join(ROOT, 'js'), path.join(out, 'js'), name => name.endsWith('.mjs') && !NODE_ONLY.has(name));
    for (const f of wasm) copyFile(path.join(wasmDir, f), path.join(out, 'build/wasm', f));
    writeIcons(path.join(out, 'icons'));

    const desc = {};
    for (const role of ['target', 'draft']) {
        const src = models[role], name = path.basename(src);
        copyFile(src, path.join(out, 'models', name));
        desc[role] = { url: `models/${name}`, name: name.replace(/\.gguf$/, ''), size: fs.statSync(src).size, sha256: sha256File(src) };
    }
    fs.writeFileSync(path.join(out, 'models.json'), JSON.stringify({ embedded: models.embedded, note: models.note, ...desc }, null, 1) + '\n');

    // the service worker: every file of the tree is precached; the version changes with any content
    const files = listFiles(out);
    const h = crypto.createHash('sha256');
    for (const f of files) h.update(f).update('\0').update(fs.readFileSync(path.join(out, f)));
    const sw = fs.readFileSync(path.join(ROOT, 'web/sw.js'), 'utf8');
    const marker = 'const PRECACHE = null; // filled in by tools/build_web.mjs';
    if (!sw.includes(marker)) throw new Error(`web/sw.js lacks the line '${marker}'`);
    h.update(sw);
    // [path, bytes, content hash]: the hash lets a new version reuse an unchanged file (the models)
    const entries = files.map(f => {
        const b = fs.readFileSync(path.join(out, f));
        return [f, b.length, crypto.createHash('sha256').update(b).digest('hex').slice(0, 16)];
    });
    const precache = { version: h.digest('hex').slice(0, 16), files: entries };
    fs.writeFileSync(path.join(out, 'sw.js'), sw.replace(marker, `const PRECACHE = ${JSON.stringify(precache)};`));

    const bytes = files.reduce((s, f) => s + fs.statSync(path.join(out, f)).size, 0);
    log(`demo built in ${path.relative(process.cwd(), out) || out}: ${files.length + 1} files, ${(bytes / 2 ** 20).toFixed(1)} MB, version ${precache.version}`);
    log(`models: ${desc.target.name} (${(desc.target.size / 2 ** 20).toFixed(1)} MB) + draft ${desc.draft.name} (${(desc.draft.size / 2 ** 20).toFixed(1)} MB)`);
    if (models.note) log(`note: ${models.note}`);
    return { out, files, models: desc, embedded: models.embedded, note: models.note, version: precache.version };
}

/** Prints which models a built tree serves (`make demo` says it before serving). */
function describe(out) {
    const m = JSON.parse(fs.readFileSync(path.join(out, 'models.json'), 'utf8'));
    const mb = n => `${(n / 2 ** 20).toFixed(1)} MB`;
    console.log(`models: ${m.target.name} (${mb(m.target.size)}) + draft ${m.draft.name} (${mb(m.draft.size)})` +
        (m.embedded ? ', the embedded pair' : ''));
    if (m.note) console.log(`NOTE: ${m.note}`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
    const a = process.argv.slice(2);
    const opt = { quiet: a.includes('--quiet') };
    const i = a.indexOf('--out');
    if (i >= 0) opt.out = path.resolve(a[i + 1]);
    try {
        if (a.includes('--describe')) describe(opt.out || path.join(ROOT, 'build/web'));
        else buildWeb(opt);
    } catch (e) {
        console.error(`build_web: ${e.message}`);
        process.exit(1);
    }
}
