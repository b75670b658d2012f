// eval.mjs: `trit eval` (perplexity with saved logits, KL divergence, multiple choice) on the wasm build.
//
//   import { evaluate } from './eval.mjs';            // Node; the package re-exports it
//   const r = await evaluate({ model: 'model.gguf', kind: 'ppl', file: 'text.txt', ctx: 512 });
//   r.ppl                                              // the object `trit eval ppl --json` prints
//
// and evalMain(argv), the wasm CLI's `eval` command (node js/cli.js eval ppl|kld|mc ...): a twin of
// src/cli.c's eval commands with the same flags, stdout and exit codes (0 ok, 1 error, 2 usage). All the
// computation is the C core's (src/eval.c, through the struct-free helpers of src/wasm_api.c); this file
// only reads and writes files, draws the progress bar and prints. docs/eval.md has the definitions.
import fs from 'node:fs';
import { loadTrit, writeAllSync } from './wasm.mjs';
import { TritError, throwIfAborted } from './errors.mjs';

const TRIT_TOK_ADD_SPECIAL = 1;
const LOGITS_FIXED_BYTES = 64;
// trit_status -> the package's error codes. TRIT_ERR_FORMAT is BAD_DATA (a task line, a saved-logits
// file) except where a model is being loaded (BAD_MODEL).
const STATUS = { '-1': 'BAD_ARGUMENT', '-2': 'OUT_OF_MEMORY', '-3': 'BAD_DATA', '-4': 'UNSUPPORTED',
    '-5': 'CONTEXT_LENGTH_EXCEEDED', '-6': 'LOAD_FAILED', '-7': 'VOCAB_MISMATCH' };

/** evaluate() throws the package's TritError: code BAD_DATA (a malformed task line: details.line; a
 *  bad saved-logits file), VOCAB_MISMATCH (saved logits of another vocabulary), CONTEXT_LENGTH_EXCEEDED,
 *  LOAD_FAILED, BAD_MODEL, BAD_ARGUMENT, OUT_OF_MEMORY; or an AbortError. */
const fail = (code, message, details) => new TritError(code, message, details ? { details } : {});

// ---- printf twins (exact decimal rounding, ties to even, as glibc) ------------------------------------

function special(x) { return Number.isNaN(x) ? 'nan' : (x < 0 ? '-inf' : 'inf'); }

/** The significant digits of |x| rounded to `sig` (half to even on the exact binary value) and the exponent. */
function roundSig(x, sig) {
    const [mant, es] = Math.abs(x).toExponential(100).split('e');
    const all = mant.replace('.', '');
    let exp = Number(es);
    let head = BigInt(all.slice(0, sig));
    const rest = all.slice(sig);
    if (rest[0] > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || head % 2n === 1n))) head += 1n;
    let s = head.toString();
    if (s.length > sig) { s = s.slice(0, sig); exp += 1; }
    return { s, exp };
}

/** printf("%.{d}f", x) */
export function fmtF(x, d) {
    if (!Number.isFinite(x)) return special(x);
    const neg = x < 0 || Object.is(x, -0);
    if (Math.abs(x) >= 1e21) return x.toFixed(d);
    const [ip, fp] = Math.abs(x).toFixed(100).split('.');
    let digits = BigInt(ip + fp.slice(0, d));
    const rest = fp.slice(d);
    if (rest[0] > '5' || (rest[0] === '5' && (/[1-9]/.test(rest.slice(1)) || digits % 2n === 1n))) digits += 1n;
    let s = digits.toString().padStart(d + 1, '0');
    if (d > 0) s = `${s.slice(0, s.length - d)}.${s.slice(s.length - d)}`;
    return (neg ? '-' : '') + s;
}

/** printf("%.{p}g", x) */
export function fmtG(x, p = 10) {
    if (!Number.isFinite(x)) return special(x);
    if (x === 0) return Object.is(x, -0) ? '-0' : '0';
    const sign = x < 0 ? '-' : '';
    const { s, exp } = roundSig(x, p);
    const strip = t => (t.includes('.') ? t.replace(/0+$/, '').replace(/\.$/, '') : t);
    if (exp < -4 || exp >= p) {
        const ae = Math.abs(exp);
        return `${sign}${strip(`${s[0]}.${s.slice(1)}`)}e${exp < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
    }
    const t = exp >= 0 ? `${s.slice(0, exp + 1)}.${s.slice(exp + 1)}` : `0.${'0'.repeat(-exp - 1)}${s}`;
    return sign + strip(t);
}

const w = (s, n) => s.padStart(n);                     // %Nx: right-aligned in N columns
const F = (x, n, d) => w(fmtF(x, d), n);

const ERRNO = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory', ENOSPC: 'No space left on device', EROFS: 'Read-only file system' };
const strerror = e => ERRNO[e.code] || e.message;

// ---- the wasm session --------------------------------------------------------------------------------

class Session {
    constructor(T) {
        this.T = T;
        this.X = T.exports;
        this.m = 0;
        this.file = null;
        this.scratch = T.malloc(16 * 8);       // out-params: pointers, sizes, result vectors
        this.vec = T.malloc(64 * 8);
    }
    static async open(opts = {}) { return new Session(await loadTrit(opts.build ? { build: opts.build } : {})); }
    /** Loads a model from a path or bytes; throws TritError with the CLI's wording. */
    loadModel(model) {
        const T = this.T;
        if (typeof model === 'string') {
            try {
                this.file = T.readModelFile(model);
            } catch (e) {
                if (e.code === 'EISDIR') throw fail('LOAD_FAILED', `'${model}' is not a regular file`);
                throw fail('LOAD_FAILED', `cannot open '${model}': ${strerror(e)}`);
            }
        } else {
            const b = model instanceof Uint8Array ? model : new Uint8Array(model);
            const p = T.malloc(b.length || 1);
            T.u8.set(b, p);
            this.file = { ptr: p, size: b.length };
        }
        this.m = this.X.trit_wasm_model_load(this.file.ptr, this.file.size) >>> 0;
        if (!this.m) throw fail('BAD_MODEL', `cannot load '${typeof model === 'string' ? model : 'model'}': ${T.lastError()}`);
    }
    err(prefix, rc, details) {
        const msg = this.T.lastError();
        return fail(STATUS[rc] || 'INTERNAL', prefix ? `${prefix}: ${msg}` : msg, details);
    }
    outPtr() { return this.T.dv.getUint32(this.scratch, true); }
    doubles(n) { return Array.from(new Float64Array(this.T.memory.buffer, this.vec, n)); }
    tokenize(bytes) {
        const T = this.T, X = this.X;
        const txt = T.bytesIn(bytes);
        try {
            const n = X.trit_tokenize(this.m, txt.ptr, txt.len, 0, 0, TRIT_TOK_ADD_SPECIAL);
            if (n < 0) throw this.err('tokenize', n);
            const ids = T.malloc(4 * (n + 1));
            X.trit_tokenize(this.m, txt.ptr, txt.len, ids, n, TRIT_TOK_ADD_SPECIAL);
            return { ptr: ids, n };
        } finally {
            T.free(txt.ptr);
        }
    }
    close() {
        if (this.m) this.X.trit_model_free(this.m);
        if (this.file) this.T.free(this.file.ptr);
        this.T.free(this.scratch);
        this.T.free(this.vec);
        this.m = 0;
        this.file = null;
    }
}

const KLD_FIELDS = ['ppl', 'ppl_err', 'ppl_base', 'ppl_base_err', 'ppl_cor', 'ln_ppl_ratio', 'ln_ppl_ratio_err', 'ppl_ratio',
    'ppl_ratio_err', 'ppl_diff', 'ppl_diff_err', 'kld.mean', 'kld.err', 'kld.max', 'kld.p99.9', 'kld.p99', 'kld.median',
    'kld.p10', 'kld.p5', 'kld.p1', 'kld.min', 'dp.mean', 'dp.err', 'dp.max', 'dp.p99.9', 'dp.p99', 'dp.p95', 'dp.p90',
    'dp.p75', 'dp.median', 'dp.p25', 'dp.p10', 'dp.p5', 'dp.p1', 'dp.p0.1', 'dp.min', 'dp.rms', 'dp.rms_err', 'same_top',
    'same_top_err'];

function kldResult(S, k) {
    const rc = S.X.trit_wasm_kld_get(k, S.vec);
    if (rc) throw S.err('kld', rc);
    const v = S.doubles(43);
    const r = { n_chunk: v[1], n: v[2], kld: {}, dp: {} };
    KLD_FIELDS.forEach((f, i) => {
        const dot = f.indexOf('.');
        if (dot > 0) r[f.slice(0, dot)][f.slice(dot + 1)] = v[3 + i];
        else r[f] = v[3 + i];
    });
    return r;
}

const tick = () => new Promise(resolve => setImmediate(resolve));
const checkAbort = throwIfAborted;

// ---- the three runners (used by evaluate() and by the CLI) --------------------------------------------
// hooks: onStart(info), onChunk(i, result), onProgress(done, total); output only through them.

async function runPpl(S, o, hooks = {}) {
    const T = S.T, X = S.X;
    const t = S.tokenize(o.text);
    let p = 0, fd = null;
    try {
        const rc = X.trit_wasm_ppl_init(S.m, t.ptr, t.n, o.ctx, o.chunks || 0, o.saveLogits ? 1 : 0, o.batch || 0,
            o.kvF32 ? 1 : 0, S.scratch);
        if (rc) throw S.err('perplexity', rc);
        p = S.outPtr();
        X.trit_wasm_ppl_get(p, S.vec);
        const nChunk = S.doubles(1)[0];
        if (o.saveLogits) {
            const hp = X.trit_ppl_header(p, S.scratch) >>> 0, size = T.dv.getUint32(S.scratch, true);
            try {
                fd = fs.openSync(o.saveLogits, 'w');
                writeAllSync(fs, fd, T.u8.slice(hp, hp + size));
            } catch (e) {
                throw fail('BAD_ARGUMENT', `cannot write '${o.saveLogits}': ${strerror(e)}`);
            }
        }
        if (hooks.onStart) hooks.onStart({ n_tokens: t.n, n_chunk: nChunk });
        let r = null;
        for (let ch = 0; ch < nChunk; ch++) {
            checkAbort(o.signal);
            const st = X.trit_ppl_next(p);
            if (st) throw S.err('decode', st);
            if (fd !== null) {
                const rp = X.trit_ppl_rows(p, S.scratch) >>> 0, size = T.dv.getUint32(S.scratch, true);
                try { writeAllSync(fs, fd, T.u8.slice(rp, rp + size)); } catch (e) {
                    throw fail('BAD_ARGUMENT', `cannot write '${o.saveLogits}': ${strerror(e)}`);
                }
            }
            X.trit_wasm_ppl_get(p, S.vec);
            const v = S.doubles(7);
            r = { command: 'ppl', n_tokens: t.n, n_ctx: o.ctx, n_chunk: v[0], n_scored: v[2], ppl: v[5], ppl_err: v[6],
                nll_mean: v[3] / v[2], save_logits: o.saveLogits || null };
            if (hooks.onChunk) hooks.onChunk(ch, r);
            if (hooks.onProgress) hooks.onProgress(ch + 1, nChunk);
            if (o.signal) await tick();
        }
        if (fd !== null) { fs.closeSync(fd); fd = null; }
        return r;
    } catch (e) {
        if (fd !== null) { try { fs.closeSync(fd); fs.unlinkSync(o.saveLogits); } catch { /* already reported */ } }
        throw e;
    } finally {
        if (p) X.trit_ppl_free(p);
        T.free(t.ptr);
    }
}

/** A saved-logits source: a path (read chunk by chunk) or the bytes of a whole file. */
function openBase(base) {
    if (typeof base !== 'string') {
        const b = base instanceof Uint8Array ? base : new Uint8Array(base);
        return { name: 'base', size: b.length, read: (off, n) => b.subarray(off, Math.min(off + n, b.length)), close() {} };
    }
    let fd;
    try { fd = fs.openSync(base, 'r'); } catch (e) { throw fail('LOAD_FAILED', `cannot open '${base}': ${strerror(e)}`); }
    const st = fs.fstatSync(fd);
    if (!st.isFile()) { fs.closeSync(fd); throw fail('LOAD_FAILED', `'${base}' is not a regular file`); }
    return {
        name: base, size: st.size,
        read(off, n) {
            const b = Buffer.alloc(n);
            let got = 0;
            while (got < n) {
                const k = fs.readSync(fd, b, got, n - got, off + got);
                if (k <= 0) break;
                got += k;
            }
            return b.subarray(0, got);
        },
        close() { fs.closeSync(fd); },
    };
}

async function runKld(S, o, hooks = {}) {
    const T = S.T, X = S.X;
    const src = openBase(o.base);
    let k = 0, hp = 0, rows = 0;
    try {
        const fixed = src.read(0, LOGITS_FIXED_BYTES);
        if (fixed.length < LOGITS_FIXED_BYTES)
            throw fail('BAD_DATA', `'${src.name}': not a trit saved-logits file (shorter than its ${LOGITS_FIXED_BYTES}-byte header)`);
        hp = T.malloc(LOGITS_FIXED_BYTES);
        T.u8.set(fixed, hp);
        let rc = X.trit_wasm_logits_info(hp, LOGITS_FIXED_BYTES, S.vec);
        if (rc) throw S.err(`'${src.name}'`, rc);
        const [, , nCtx, nChunkFile, first, , headerBytes, , chunkBytes, fileBytes] = S.doubles(12);
        if (src.size !== fileBytes)
            throw fail('BAD_DATA', `'${src.name}' is ${src.size < fileBytes ? 'truncated' : 'longer than its header says'}: ` +
                `${src.size} bytes, but its header describes ${nChunkFile} chunks in ${fileBytes} bytes`);
        T.free(hp);
        hp = T.malloc(headerBytes);
        T.u8.set(src.read(0, headerBytes), hp);
        rows = T.malloc(chunkBytes);
        rc = X.trit_wasm_kld_init(S.m, hp, headerBytes, o.batch || 0, o.kvF32 ? 1 : 0, S.scratch);
        if (rc) throw S.err(`'${src.name}'`, rc);
        k = S.outPtr();
        const nChunk = o.chunks > 0 && o.chunks < nChunkFile ? o.chunks : nChunkFile;
        if (hooks.onStart) hooks.onStart({ n_chunk: nChunk, n_ctx: nCtx, first, base: src.name });
        for (let ch = 0; ch < nChunk; ch++) {
            checkAbort(o.signal);
            const b = src.read(headerBytes + ch * chunkBytes, chunkBytes);
            if (b.length !== chunkBytes) throw fail('LOAD_FAILED', `cannot read chunk ${ch + 1} of '${src.name}'`);
            T.u8.set(b, rows);
            rc = X.trit_kld_next(k, rows, chunkBytes);
            if (rc) throw S.err(`'${src.name}'`, rc);
            if (hooks.onChunk) hooks.onChunk(ch, () => kldResult(S, k));
            if (hooks.onProgress) hooks.onProgress(ch + 1, nChunk);
            if (o.signal) await tick();
        }
        return Object.assign({ command: 'kld', base: typeof o.base === 'string' ? o.base : null }, kldResult(S, k));
    } finally {
        if (k) X.trit_kld_free(k);
        T.free(hp);
        T.free(rows);
        src.close();
    }
}

/** Task lines as byte arrays: a final newline does not start another line. */
function splitLines(bytes) {
    const out = [];
    for (let i = 0; i < bytes.length;) {
        let j = bytes.indexOf(10, i);
        if (j < 0) j = bytes.length;
        out.push(bytes.subarray(i, j));
        i = j + 1;
    }
    return out;
}

const utf8 = new TextEncoder();

function taskLines(task) {
    if (Array.isArray(task)) return task.map(q => utf8.encode(typeof q === 'string' ? q : JSON.stringify(q)));
    return splitLines(typeof task === 'string' ? utf8.encode(task) : task instanceof Uint8Array ? task : new Uint8Array(task));
}

async function runMc(S, o, hooks = {}) {
    const T = S.T, X = S.X;
    let lines = o.lines;
    if (lines.length === 0) throw fail('BAD_DATA', `'${o.name}' has no questions`);
    if (o.limit > 0 && o.limit < lines.length) lines = lines.slice(0, o.limit);
    const lineErr = (i, rc) => S.err(`${o.name}:${i + 1}`, rc, { line: i + 1 });
    if (o.convert) {
        const out = [];
        for (let i = 0; i < lines.length; i++) {
            const l = T.bytesIn(lines[i]);
            try {
                const n = X.trit_mc_convert(l.ptr, l.len, 0, 0);
                if (n < 0) throw lineErr(i, n);
                const buf = T.malloc(n + 1);
                X.trit_mc_convert(l.ptr, l.len, buf, n + 1);
                out.push(T.cstr(buf));
                T.free(buf);
            } finally {
                T.free(l.ptr);
            }
        }
        return out;
    }
    let rc = X.trit_wasm_mc_init(S.m, o.ctx || 0, o.batch || 0, o.kvF32 ? 1 : 0, S.scratch);
    if (rc) throw S.err('mc', rc);
    const mc = S.outPtr();
    const details = o.details ? [] : null;
    try {
        if (hooks.onReady) hooks.onReady();
        for (let i = 0; i < lines.length; i++) {
            checkAbort(o.signal);
            const l = T.bytesIn(lines[i]);
            try {
                rc = X.trit_mc_add(mc, l.ptr, l.len);
                if (rc) throw lineErr(i, rc);
            } finally {
                T.free(l.ptr);
            }
            if (details) {
                const nc = X.trit_mc_last(mc, 0, 0, 0, 0, 0);
                const ll = T.malloc(8 * nc);
                X.trit_mc_last(mc, S.scratch, S.scratch + 4, S.scratch + 8, ll, nc);
                const dv = T.dv;
                const q = { line: i + 1, label: dv.getInt32(S.scratch, true), pred: dv.getInt32(S.scratch + 4, true),
                    pred_norm: dv.getInt32(S.scratch + 8, true), loglik: Array.from(new Float64Array(T.memory.buffer, ll, nc)) };
                T.free(ll);
                details.push(q);
                if (hooks.onQuestion) hooks.onQuestion(q);
            }
            if (hooks.onProgress) hooks.onProgress(i + 1, lines.length);
            if (o.signal) await tick();
        }
        X.trit_wasm_mc_get(mc, S.vec);
        const v = S.doubles(8);
        const r = { command: 'mc', task: o.name, n: v[0], acc: v[3], acc_stderr: v[4], acc_norm: v[5], acc_norm_stderr: v[6],
            chance: v[7], n_acc: v[1], n_acc_norm: v[2] };
        if (details) r.questions = details;
        return r;
    } finally {
        X.trit_mc_free(mc);
    }
}

/**
 * Runs one evaluation in Node on the wasm build and returns what `trit eval <kind> --json` prints.
 *   model        GGUF path, or its bytes (Uint8Array / ArrayBuffer)
 *   kind         'ppl' | 'kld' | 'mc'
 *   ppl:  text (string or bytes) or file (path); ctx (>= 4); chunks (first N); saveLogits (path to write)
 *   kld:  base (path or bytes of a saved-logits file); chunks
 *   mc:   task (path, JSONL string or bytes, or an array of question objects/lines); ctx; limit;
 *         details (true: per-question {line, label, pred, pred_norm, loglik} in .questions)
 *   all:  batch, kv ('f16' default | 'f32'), onProgress({done, total}), signal (AbortSignal), build ('simd'|'scalar')
 * Throws TritError (.code: VOCAB_MISMATCH, BAD_DATA with .details.line for a task line, ...), or an
 * AbortError when the signal fires (checked between chunks / questions).
 */
export async function evaluate(opts = {}) {
    const kind = opts.kind;
    if (!['ppl', 'kld', 'mc'].includes(kind)) throw fail('BAD_ARGUMENT', `evaluate: kind must be 'ppl', 'kld' or 'mc', not ${kind}`);
    if (!opts.model) throw fail('BAD_ARGUMENT', 'evaluate: model (a path or bytes) is required');
    checkAbort(opts.signal);
    const S = await Session.open(opts);
    const hooks = opts.onProgress ? { onProgress: (done, total) => opts.onProgress({ done, total }) } : {};
    const common = { batch: opts.batch, kvF32: opts.kv === 'f32', signal: opts.signal, chunks: opts.chunks };
    try {
        S.loadModel(opts.model);
        if (kind === 'ppl') {
            let text = opts.text;
            if (text === undefined && opts.file) {
                try { text = fs.readFileSync(opts.file); } catch (e) { throw fail('LOAD_FAILED', `cannot open '${opts.file}': ${strerror(e)}`); }
            }
            if (text === undefined || !(opts.ctx >= 4)) throw fail('BAD_ARGUMENT', 'evaluate ppl needs text (or file) and ctx >= 4');
            return await runPpl(S, { ...common, text, ctx: opts.ctx, saveLogits: opts.saveLogits }, hooks);
        }
        if (kind === 'kld') {
            if (!opts.base) throw fail('BAD_ARGUMENT', 'evaluate kld needs base (a saved-logits path or bytes)');
            return await runKld(S, { ...common, base: opts.base }, hooks);
        }
        if (!opts.task) throw fail('BAD_ARGUMENT', 'evaluate mc needs task (a path, JSONL text, or an array of questions)');
        let lines, name = 'task';
        if (typeof opts.task === 'string' && !/[\n{]/.test(opts.task)) {
            name = opts.task;
            try { lines = splitLines(fs.readFileSync(opts.task)); } catch (e) { throw fail('LOAD_FAILED', `cannot open '${opts.task}': ${strerror(e)}`); }
        } else lines = taskLines(opts.task);
        return await runMc(S, { ...common, lines, name, ctx: opts.ctx, limit: opts.limit, details: !!opts.details }, hooks);
    } finally {
        S.close();
    }
}

// ---- the CLI: node js/cli.js eval ppl|kld|mc ... (src/cli.c's twin) -------------------------------------

const VALUE_FLAGS = { '-m': 'model', '--model': 'model', '-p': 'prompt', '--prompt': 'prompt', '-o': 'out', '--output': 'out',
    '--tokens': 'tokens', '-f': 'file', '--file': 'file', '-n': 'n_predict', '--n-predict': 'n_predict', '-c': 'ctx',
    '--ctx-size': 'ctx', '-b': 'batch', '--batch-size': 'batch', '--temp': 'temp', '--top-k': 'top_k', '--top-p': 'top_p',
    '--min-p': 'min_p', '--repeat-penalty': 'repeat_penalty', '--seed': 'seed', '--save-logits': 'save_logits',
    '--base': 'base', '--details': 'details', '--chunks': 'chunks', '--limit': 'limit', '--kv': 'kv' };
const INT_FLAGS = new Set(['ctx', 'batch', 'chunks', 'limit']);
const BOOL_FLAGS = { '--json': 'json', '--progress': ['progress', 1], '--no-progress': ['progress', 0], '--convert': 'convert',
    '--ids': 'ids', '--special': 'special' };
const atoi = v => { const m = /^\s*[+-]?\d+/.exec(v); return m ? Number(BigInt.asIntN(32, BigInt(m[0].trim()))) : 0; };

function parseEvalArgs(argv, err) {
    const a = { progress: -1, ctx: 0, batch: 0, chunks: 0, limit: 0, perplexity: argv[0] === 'perplexity' };
    let i0 = 1;
    if (a.perplexity) a.sub = 'ppl';
    else {
        if (argv.length < 2 || argv[1].startsWith('-')) { err('error: eval needs a subcommand: ppl, kld or mc\n'); return null; }
        a.sub = argv[1];
        i0 = 2;
    }
    for (let i = i0; i < argv.length; i++) {
        const k = argv[i];
        if (k in VALUE_FLAGS) {
            if (i + 1 >= argv.length) { err(`error: ${k} needs a value\n`); return null; }
            const v = argv[++i], key = VALUE_FLAGS[k];
            if (key === 'kv') {
                if (v === 'f32') a.kv_f32 = 1;
                else if (v !== 'f16') { err('error: --kv must be f16 or f32\n'); return null; }
            } else a[key] = INT_FLAGS.has(key) ? atoi(v) : v;
        } else if (k in BOOL_FLAGS) {
            const b = BOOL_FLAGS[k];
            if (Array.isArray(b)) a[b[0]] = b[1];
            else a[b] = 1;
        } else if (k === '-h' || k === '--help') return null;
        else { err(`error: unknown option '${k}'\n`); return null; }
    }
    if (!a.model && !(a.convert && !a.perplexity) && !(a.model = defaultModelPath())) { err('error: -m MODEL is required\n'); return null; }
    return a;
}

/** The CLI's model without -m: the embedded target model shipped in the package (models/, beside js/),
 *  or null where it is missing. src/cli.c does the same relative to its build. */
export function defaultModelPath() {
    const p = decodeURIComponent(new URL('../models/trit-target.tq2_0.gguf', import.meta.url).pathname);
    try { return fs.statSync(p).isFile() ? p : null; } catch { return null; }
}

class Progress {
    constructor(a, what, total, stdoutRunning, err) {
        this.on = a.progress > 0 || (a.progress < 0 && process.stderr.isTTY && !(stdoutRunning && process.stdout.isTTY));
        Object.assign(this, { what, total, err, drawn: false, t0: performance.now(), last: 0 });
    }
    step(done) {
        if (!this.on) return;
        const now = performance.now();
        if (done < this.total && this.drawn && now - this.last < 100) return;
        this.last = now;
        const el = (now - this.t0) / 1000, rate = el > 0 ? done / el : 0, W = 30;
        const fill = this.total > 0 ? Math.trunc(W * done / this.total) : W;
        this.err(`\r${this.what} [${'#'.repeat(fill)}${'.'.repeat(W - fill)}] ${done}/${this.total}  ${fmtF(rate, 1)}/s  ETA ` +
            `${fmtF(rate > 0 ? (this.total - done) / rate : 0, 0)}s `);
        this.drawn = true;
    }
    end() { if (this.on && this.drawn) this.err('\n'); }
}

const jstr = s => `"${String(s).replace(/["\\]/g, c => `\\${c}`).replace(/[\u0000-\u001f]/g, c => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}"`;
const g = x => fmtG(x, 10);

function kldReport(r) {
    let s = '====== Perplexity statistics ======\n';
    s += `Mean PPL(Q)                   : ${F(r.ppl, 10, 6)} ± ${F(r.ppl_err, 10, 6)}\n`;
    s += `Mean PPL(base)                : ${F(r.ppl_base, 10, 6)} ± ${F(r.ppl_base_err, 10, 6)}\n`;
    s += `Cor(ln(PPL(Q)), ln(PPL(base))): ${F(100 * r.ppl_cor, 6, 2)}%\n`;
    s += `Mean ln(PPL(Q)/PPL(base))     : ${F(r.ln_ppl_ratio, 10, 6)} ± ${F(r.ln_ppl_ratio_err, 10, 6)}\n`;
    s += `Mean PPL(Q)/PPL(base)         : ${F(r.ppl_ratio, 10, 6)} ± ${F(r.ppl_ratio_err, 10, 6)}\n`;
    s += `Mean PPL(Q)-PPL(base)         : ${F(r.ppl_diff, 10, 6)} ± ${F(r.ppl_diff_err, 10, 6)}\n\n`;
    const k = r.kld;
    s += '====== KL divergence statistics ======\n';
    s += `Mean    KLD: ${F(k.mean, 10, 6)} ± ${F(k.err, 10, 6)}\n`;
    s += `Maximum KLD: ${F(k.max, 10, 6)}\n99.9%   KLD: ${F(k['p99.9'], 10, 6)}\n99.0%   KLD: ${F(k.p99, 10, 6)}\n` +
        `Median  KLD: ${F(k.median, 10, 6)}\n`;
    s += `10.0%   KLD: ${F(k.p10, 10, 6)}\n 5.0%   KLD: ${F(k.p5, 10, 6)}\n 1.0%   KLD: ${F(k.p1, 10, 6)}\n` +
        `Minimum KLD: ${F(k.min, 10, 6)}\n\n`;
    const d = r.dp;
    s += '====== Token probability statistics ======\n';
    s += `Mean    Δp: ${F(100 * d.mean, 6, 3)} ± ${F(100 * d.err, 5, 3)} %\n`;
    const rows = [['Maximum', 'max'], ['99.9%  ', 'p99.9'], ['99.0%  ', 'p99'], ['95.0%  ', 'p95'], ['90.0%  ', 'p90'],
        ['75.0%  ', 'p75'], ['Median ', 'median'], ['25.0%  ', 'p25'], ['10.0%  ', 'p10'], [' 5.0%  ', 'p5'], [' 1.0%  ', 'p1'],
        [' 0.1%  ', 'p0.1'], ['Minimum', 'min']];
    for (const [label, key] of rows) s += `${label} Δp: ${F(100 * d[key], 6, 3)}%\n`;
    s += `RMS Δp    : ${F(100 * d.rms, 6, 3)} ± ${F(100 * d.rms_err, 5, 3)} %\n`;
    s += `Same top p: ${F(100 * r.same_top, 6, 3)} ± ${F(100 * r.same_top_err, 5, 3)} %\n`;
    return s;
}

function kldJson(r, base) {
    const obj = (o, keys) => `{${keys.map(k => `${jstr(k)}: ${g(o[k])}`).join(', ')}}`;
    return `{"command": "kld", "base": ${jstr(base)}, "n_chunk": ${r.n_chunk}, "n": ${r.n}, ` +
        ['ppl', 'ppl_err', 'ppl_base', 'ppl_base_err', 'ppl_cor', 'ln_ppl_ratio', 'ln_ppl_ratio_err', 'ppl_ratio',
            'ppl_ratio_err', 'ppl_diff', 'ppl_diff_err'].map(k => `"${k}": ${g(r[k])}, `).join('') +
        `"kld": ${obj(r.kld, ['mean', 'err', 'max', 'p99.9', 'p99', 'median', 'p10', 'p5', 'p1', 'min'])}, ` +
        `"dp": ${obj(r.dp, ['mean', 'err', 'max', 'p99.9', 'p99', 'p95', 'p90', 'p75', 'median', 'p25', 'p10', 'p5', 'p1',
            'p0.1', 'min', 'rms', 'rms_err'])}, ` +
        `"same_top": ${g(r.same_top)}, "same_top_err": ${g(r.same_top_err)}}\n`;
}

/**
 * `node js/cli.js eval ...` and `node js/cli.js perplexity ...` (= eval ppl): argv starts with 'eval' or
 * 'perplexity'. usage() prints the CLI's usage text. Returns the
 * exit code. Output and messages are those of src/cli.c's eval commands, byte for byte. sink (optional):
 * {out(bytes), err(bytes)} instead of fds 1 and 2 (js/cli.mjs's main() passes its own).
 */
export async function evalMain(argv, usage, sink) {
    const io = sink || { out: b => writeAllSync(fs, 1, b), err: b => writeAllSync(fs, 2, b) };
    const out = b => io.out(typeof b === 'string' ? Buffer.from(b, 'utf8') : b);
    const err = s => io.err(Buffer.from(s, 'utf8'));
    const a = parseEvalArgs(argv, err);
    if (!a) { if (usage) usage(); return 2; }
    let S = null;
    try {
        if (a.convert && !a.model && a.sub !== 'mc') { err('error: --convert is an option of eval mc\n'); return 2; }
        S = await Session.open();
        if (!(a.convert && !a.model)) S.loadModel(a.model);
        if (a.sub === 'ppl') return await cliPpl(S, a, out, err);
        if (a.sub === 'kld') return await cliKld(S, a, out, err);
        if (a.sub === 'mc') return await cliMc(S, a, out, err);
        err(`error: unknown eval subcommand '${a.sub}' (ppl, kld or mc)\n`);
        return 2;
    } catch (e) {
        if (!(e instanceof TritError)) throw e;
        err(`error: ${e.message}\n`);
        return 1;
    } finally {
        if (S) S.close();
    }
}

async function cliPpl(S, a, out, err) {
    if (!a.file || a.ctx < 4) { err(`error: ${a.perplexity ? 'perplexity' : 'eval ppl'} needs -f FILE and -c CTX (>= 4)\n`); return 2; }
    let text;
    try { text = fs.readFileSync(a.file); } catch (e) { err(`error: cannot open '${a.file}': ${strerror(e)}\n`); return 1; }
    if (text.length > 0x7fffffff) { err('error: file too large\n'); return 1; }
    let pg = null;
    const r = await runPpl(S, { text, ctx: a.ctx, chunks: a.chunks, saveLogits: a.save_logits, batch: a.batch, kvF32: a.kv_f32 }, {
        onStart: i => { err(`perplexity: ${i.n_tokens} tokens, ${i.n_chunk} chunks of ${a.ctx}\n`); pg = new Progress(a, 'ppl', i.n_chunk, !a.json, err); },
        onChunk: (ch, res) => { if (!a.json) out(`[${ch + 1}]${fmtF(res.ppl, 4)},`); },
        onProgress: done => pg.step(done),
    }).finally(() => { if (pg) pg.end(); });
    if (a.json) {
        out(`{"command": "ppl", "n_tokens": ${r.n_tokens}, "n_ctx": ${r.n_ctx}, "n_chunk": ${r.n_chunk}, "n_scored": ${r.n_scored}, ` +
            `"ppl": ${g(r.ppl)}, "ppl_err": ${g(r.ppl_err)}, "nll_mean": ${g(r.nll_mean)}, "save_logits": ` +
            `${a.save_logits ? jstr(a.save_logits) : 'null'}}\n`);
    } else out(`\nppl = ${fmtF(r.ppl, 4)}\n`);
    return 0;
}

async function cliKld(S, a, out, err) {
    if (!a.base) { err('error: eval kld needs --base FILE (from `trit eval ppl --save-logits FILE`)\n'); return 2; }
    let pg = null;
    const r = await runKld(S, { base: a.base, chunks: a.chunks, batch: a.batch, kvF32: a.kv_f32 }, {
        onStart: i => {
            err(`kld: ${i.n_chunk} chunks of ${i.n_ctx}, positions ${i.first}..${i.n_ctx - 2} of each, base '${a.base}'\n`);
            pg = new Progress(a, 'kld', i.n_chunk, !a.json, err);
        },
        onChunk: (ch, get) => { if (!a.json) out(`[${ch + 1}]${fmtF(get().kld.mean, 6)},`); },
        onProgress: done => pg.step(done),
    }).finally(() => { if (pg) pg.end(); });
    if (a.json) out(kldJson(r, a.base));
    else out(`\n\n${kldReport(r)}`);
    return 0;
}

async function cliMc(S, a, out, err) {
    if (!a.file) { err('error: eval mc needs -f TASK.jsonl\n'); return 2; }
    let bytes;
    try { bytes = fs.readFileSync(a.file); } catch (e) { err(`error: cannot open '${a.file}': ${strerror(e)}\n`); return 1; }
    const lines = splitLines(bytes);
    if (a.convert) {
        for (const l of await runMc(S, { lines, name: a.file, limit: a.limit, convert: true })) out(`${l}\n`);
        return 0;
    }
    let det = null, pg = null;
    const n = a.limit > 0 && a.limit < lines.length ? a.limit : lines.length;
    try {
        const r = await runMc(S, { lines, name: a.file, ctx: a.ctx, limit: a.limit, details: !!a.details, batch: a.batch,
            kvF32: a.kv_f32 }, {
            onReady: () => {
                if (a.details) {
                    try { det = fs.openSync(a.details, 'w'); } catch (e) {
                        throw fail('BAD_ARGUMENT', `cannot write '${a.details}': ${strerror(e)}`);
                    }
                }
                pg = new Progress(a, 'mc', n, false, err);
            },
            onQuestion: q => writeAllSync(fs, det, Buffer.from(`{"line": ${q.line}, "label": ${q.label}, "pred": ${q.pred}, ` +
                `"pred_norm": ${q.pred_norm}, "loglik": [${q.loglik.map(g).join(', ')}]}\n`)),
            onProgress: done => pg.step(done),
        });
        if (pg) { pg.end(); pg = null; }
        if (det !== null) { fs.closeSync(det); det = null; }
        if (a.json) {
            out(`{"command": "mc", "task": ${jstr(a.file)}, "n": ${r.n}, "acc": ${g(r.acc)}, "acc_stderr": ${g(r.acc_stderr)}, ` +
                `"acc_norm": ${g(r.acc_norm)}, "acc_norm_stderr": ${g(r.acc_norm_stderr)}, "chance": ${g(r.chance)}, ` +
                `"n_acc": ${r.n_acc}, "n_acc_norm": ${r.n_acc_norm}}\n`);
        } else {
            out(`mc: ${r.n} questions from ${a.file}\n`);
            out(`acc      = ${fmtF(r.acc, 4)} ± ${fmtF(r.acc_stderr, 4)}  (${r.n_acc} correct)\n`);
            out(`acc_norm = ${fmtF(r.acc_norm, 4)} ± ${fmtF(r.acc_norm_stderr, 4)}  (${r.n_acc_norm} correct)\n`);
            out(`chance   = ${fmtF(r.chance, 4)}\n`);
        }
        return 0;
    } finally {
        if (pg) pg.end();
        if (det !== null) fs.closeSync(det);
    }
}
