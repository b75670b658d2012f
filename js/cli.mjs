// cli.mjs: the wasm build's command line, a line-by-line twin of the native src/cli.c: the same
// subcommands, flags, stdout formats and exit codes (0 ok, 1 runtime error, 2 usage).
//
//   node js/cli.js info       -m MODEL
//   node js/cli.js tokenize   -m MODEL -p TEXT                 -> ids, space-separated, one line
//   node js/cli.js logits     -m MODEL -p TEXT -o FILE [--kv f16|f32] -> float32 LE [n_tokens][n_vocab]
//   node js/cli.js generate   -m MODEL -p TEXT -n N [--temp T --top-k K --top-p P --min-p P
//                             --repeat-penalty R --seed S] [--ids] [--kv f16|f32]
//   node js/cli.js perplexity -m MODEL -f FILE -c CTX [--kv f16|f32] [--chunks N]
//   node js/cli.js eval ppl|kld|mc ...                     (js/eval.mjs; docs/eval.md)
//
// Without -m, MODEL is the embedded target model of the package (eval.mjs: defaultModelPath).
// Environment: TRIT_WASM=simd|scalar|PATH.wasm picks the build (default simd where supported);
// TRIT_FORCE_REF=1 runs the scalar reference kernels inside the simd build.
import fs from 'node:fs';
import { loadTrit, writeAllSync } from './wasm.mjs';
import { evalMain, defaultModelPath } from './eval.mjs';
import { modelInfo } from './model-wasm.mjs';

const TRIT_TOK_ADD_SPECIAL = 1, TRIT_TOK_PARSE_SPECIAL = 2;
const TRIT_LOGITS_LAST = 1, TRIT_LOGITS_ALL = 2;

class Exit extends Error { constructor(code) { super(`exit ${code}`); this.code = code; } }

// where stdout / stderr bytes go: the process's fds, or main()'s io argument (tests/wasm/cli_server.mjs)
const STDIO = { out: b => writeAllSync(fs, 1, b), err: b => writeAllSync(fs, 2, b) };
let io = STDIO;
const out = b => io.out(typeof b === 'string' ? Buffer.from(b, 'utf8') : b);
const err = s => io.err(Buffer.from(s, 'utf8'));

function usage() {
    err('usage: trit COMMAND -m MODEL.gguf [options]\n' +
        '  (without -m: the embedded target model, ../models/trit-target.tq2_0.gguf beside this build)\n' +
        'commands:\n' +
        '  info                                 architecture, hyperparameters, tensors\n' +
        '  tokenize   -p TEXT                   token ids, space-separated\n' +
        '  logits     -p TEXT -o FILE           float32 [n_tokens][n_vocab], every prompt position\n' +
        '  generate   -p TEXT -n N              continue TEXT by N tokens\n' +
        '  perplexity -f FILE -c CTX            perplexity as llama-perplexity computes it\n' +
        '  eval ppl   -f FILE -c CTX [--save-logits OUT]  perplexity; OUT keeps every distribution\n' +
        '  eval kld   --base FILE                 KL divergence vs saved logits (tokens come from FILE)\n' +
        '  eval mc    -f TASK.jsonl [--limit N]   multiple-choice acc / acc_norm (--convert: print\n' +
        '                                       the task in trit\'s layout, no model needed)\n' +
        '  serve      [--port N ...]            OpenAI-compatible HTTP server (trit serve --help)\n' +
        'options: --kv f16|f32 (KV cache type, default f16)  --temp T (0 = greedy, default)\n' +
        '         --top-k K  --top-p P  --min-p P  --repeat-penalty R  --seed S\n' +
        '         --ids (generate: print token ids instead of text)  --special (parse special tokens)\n' +
        '         --tokens "ID ID ..." (logits/generate: the prompt as token ids)  -b N (batch size)\n' +
        '         -t N (threads, default 1)\n' +
        '         --chunks N (perplexity: first N chunks)  --json (eval: one JSON object on stdout)\n' +
        '         --progress / --no-progress (eval: progress bar on stderr; default: on a terminal)\n' +
        '         --details OUT.jsonl (eval mc: label, predictions and log-likelihoods per question)\n' +
        'environment: TRIT_WASM=simd|scalar (wasm build)  TRIT_FORCE_REF=1 (reference kernels)\n');
}

// C's atoi / strtof / strtoull on a prefix of the string (0 when nothing parses)
const atoi = v => { const m = /^\s*[+-]?\d+/.exec(v); return m ? Number(BigInt.asIntN(32, BigInt(m[0].trim()))) : 0; };
const strtof = v => {
    const m = /^\s*([+-]?)(inf(inity)?|nan|(\d+\.?\d*|\.\d+)(e[+-]?\d+)?)/i.exec(v);
    if (!m) return 0;
    const body = m[2].toLowerCase();
    const x = body.startsWith('inf') ? Infinity : body === 'nan' ? NaN : parseFloat(body);
    return Math.fround(m[1] === '-' ? -x : x);
};
const strtoull = v => {
    const m = /^\s*([+-]?)(\d+)/.exec(v);
    if (!m) return 0n;
    let x = BigInt(m[2]);
    if (x > 0xffffffffffffffffn) return 0xffffffffffffffffn;
    return m[1] === '-' ? BigInt.asUintN(64, -x) : x;
};

function parseArgs(argv) {
    const a = { cmd: null, model: null, prompt: null, out: null, file: null, tokens: null, n_predict: 32, ctx: 0,
        top_k: 0, ids: 0, kv_f32: 0, batch: 0, parse_special: 0, threads: 0, temp: 0, top_p: 1, min_p: 0,
        repeat_penalty: 1, seed: 0n };
    if (argv.length < 1) return null;
    a.cmd = argv[0];
    for (let i = 1; i < argv.length; i++) {
        const k = argv[i];
        const v = i + 1 < argv.length ? argv[i + 1] : null;
        const needv = () => { if (v === null) { err(`error: ${k} needs a value\n`); return false; } i++; return true; };
        const set = (key, f) => { if (!needv()) return false; a[key] = f(v); return true; };
        let ok = true;
        switch (k) {
        case '-m': case '--model': ok = set('model', String); break;
        case '-p': case '--prompt': ok = set('prompt', String); break;
        case '-o': case '--output': ok = set('out', String); break;
        case '--tokens': ok = set('tokens', String); break;
        case '-f': case '--file': ok = set('file', String); break;
        case '-n': case '--n-predict': ok = set('n_predict', atoi); break;
        case '-c': case '--ctx-size': ok = set('ctx', atoi); break;
        case '-b': case '--batch-size': ok = set('batch', atoi); break;
        case '-t': case '--threads': ok = set('threads', atoi); break;
        case '--temp': ok = set('temp', strtof); break;
        case '--top-k': ok = set('top_k', atoi); break;
        case '--top-p': ok = set('top_p', strtof); break;
        case '--min-p': ok = set('min_p', strtof); break;
        case '--repeat-penalty': ok = set('repeat_penalty', strtof); break;
        case '--seed': ok = set('seed', strtoull); break;
        case '--kv':
            if (!needv()) return null;
            if (v === 'f32') a.kv_f32 = 1;
            else if (v !== 'f16') { err('error: --kv must be f16 or f32\n'); return null; }
            break;
        case '--ids': a.ids = 1; break;
        case '--special': a.parse_special = 1; break;
        case '-h': case '--help': return null;
        default: err(`error: unknown option '${k}'\n`); return null;
        }
        if (!ok) return null;
    }
    if (!a.model && !(a.model = defaultModelPath())) { err('error: -m MODEL is required\n'); return null; }
    return a;
}

// C's printf %g (precision 6) of a double
function fmtG(x) {
    if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : (x < 0 ? '-inf' : 'inf');
    if (x === 0) return Object.is(x, -0) ? '-0' : '0';
    const [mant, e] = x.toExponential(5).split('e');
    const X = Number(e);
    const strip = s => s.includes('.') ? s.replace(/0+$/, '').replace(/\.$/, '') : s;
    if (X < -4 || X >= 6) {
        const ae = Math.abs(X);
        return `${strip(mant)}e${X < 0 ? '-' : '+'}${ae < 10 ? '0' : ''}${ae}`;
    }
    return strip(x.toFixed(5 - X));
}

/** Runs one command; returns the exit status. sink (optional): {out(bytes), err(bytes)} instead of fds 1, 2. */
export async function main(argv, sink) {
    io = sink || STDIO;
    try {
        return await main1(argv);
    } finally {
        io = STDIO;
    }
}

async function main1(argv) {
    // js/eval.mjs: trit eval ppl|kld|mc; `perplexity` is `eval ppl` (as in src/cli.c)
    if (argv[0] === 'eval' || argv[0] === 'perplexity') return evalMain(argv, usage, io);
    // `trit serve`: the OpenAI-compatible server (js/server.mjs), a separate program
    if (argv[0] === 'serve') return (await import('./server.mjs')).main(argv.slice(1));
    const a = parseArgs(argv);
    if (!a) { usage(); return 2; }
    if (a.threads < 0 || a.threads > 256) { err(`error: context: n_threads ${a.threads} is out of range (0..256)\n`); return 1; }
    let T;
    try {
        T = await loadTrit({ threads: a.threads });
    } catch (e) {
        err(`error: cannot load the wasm build: ${e.message}\n`);
        return 1;
    }
    try {
        return await run(T, a);
    } finally {
        T.close();
    }
}

async function run(T, a) {
    if (process.env.TRIT_FORCE_REF && process.env.TRIT_FORCE_REF !== '0') T.exports.trit_wasm_set_force_ref(1);
    const X = T.exports;
    let file;
    try {
        file = T.readModelFile(a.model);
    } catch (e) {
        if (e.code === 'EISDIR') err(`error: '${a.model}' is not a regular file\n`);
        else err(`error: cannot open '${a.model}': ${strerror(e)}\n`);
        return 1;
    }
    const m = X.trit_wasm_model_load(file.ptr, file.size) >>> 0;
    if (!m) {
        err(`error: cannot load '${a.model}': ${T.lastError()}\n`);
        return 1;
    }
    try {
        switch (a.cmd) {
        case 'info': return cmdInfo(T, m);
        case 'tokenize': return cmdTokenize(T, m, a);
        case 'logits': return cmdLogits(T, m, a);
        case 'generate': return cmdGenerate(T, m, a);
        default: err(`error: unknown command '${a.cmd}'\n`); usage(); return 2;
        }
    } catch (e) {
        if (e instanceof Exit) return e.code;
        throw e;
    }
}

// C's strerror() text for the errors a file open gives (the native CLI prints those)
const STRERROR = { ENOENT: 'No such file or directory', EACCES: 'Permission denied', EISDIR: 'Is a directory',
    ENOTDIR: 'Not a directory', ELOOP: 'Symbolic link loop', ENAMETOOLONG: 'Filename too long', EMFILE: 'No file descriptors available' };
const strerror = e => STRERROR[e.code] || e.message;

function fail(T, what) {
    err(`error: ${what}: ${T.lastError()}\n`);
    return 1;
}

// The text tokenized: a heap array of ids and its length, or null (message printed).
function tokenize(T, m, bytes, flags) {
    const X = T.exports;
    const txt = T.bytesIn(bytes);
    try {
        const n = X.trit_tokenize(m, txt.ptr, txt.len, 0, 0, flags);
        if (n < 0) { err(`error: tokenize: ${T.lastError()}\n`); return null; }
        const ids = T.malloc(4 * (n + 1));
        X.trit_tokenize(m, txt.ptr, txt.len, ids, n, flags);
        return { ptr: ids, n };
    } finally {
        T.free(txt.ptr);
    }
}

function promptTokens(T, m, a) {
    if (a.tokens !== null) {
        const ids = (a.tokens.match(/[+-]?\d+/g) || []).map(atoi);
        const p = T.malloc(4 * (ids.length + 1));
        T.i32.set(ids, p >>> 2);
        return { ptr: p, n: ids.length };
    }
    if (a.prompt === null) { err(`error: ${a.cmd} needs -p TEXT (or --tokens IDS)\n`); return null; }
    return tokenize(T, m, a.prompt, TRIT_TOK_ADD_SPECIAL | (a.parse_special ? TRIT_TOK_PARSE_SPECIAL : 0));
}

function makeCtx(T, m, a, nCtx, nBatch) {
    const c = T.exports.trit_wasm_ctx_init(m, nCtx, nBatch, a.kv_f32 ? 1 : 0) >>> 0;
    if (!c) { fail(T, 'context'); return 0; }
    T.attachPool(c);
    return c;
}

function cmdInfo(T, m) {
    const X = T.exports;
    const hp = modelInfo(T, m);
    const nameBuf = T.malloc(256);
    T.u8[nameBuf] = 0;
    const key = T.bytesIn('general.name');
    X.trit_model_meta(m, key.ptr, nameBuf, 256);
    const name = T.cstr(nameBuf);
    T.free(key.ptr); T.free(nameBuf);
    let s = `name        ${name}\narch        ${hp.arch_name}\nn_vocab     ${hp.n_vocab}\nn_ctx_train ${hp.n_ctx_train}\n` +
        `n_embd      ${hp.n_embd}\nn_layer     ${hp.n_layer}\nn_head      ${hp.n_head}\nn_head_kv   ${hp.n_head_kv}\n` +
        `head_dim    ${hp.head_dim}\nn_rot       ${hp.n_rot}\nn_ff        ${hp.n_ff}\nrms_eps     ${fmtG(hp.rms_eps)}\n` +
        `rope_base   ${fmtG(hp.rope_base)}\nrope        ${hp.rope_neox ? 'neox' : 'norm'}\n` +
        `ffn         ${hp.ffn_act ? 'relu^2 gated' : 'silu gated'}\n` +
        `lm_head     ${hp.tied_output ? 'token_embd (tied)' : 'output.weight'}\n` +
        `bos/eos/eot ${hp.bos}/${hp.eos}/${hp.eot}\nparams      ${hp.n_params}\nbytes       ${hp.weight_bytes}\n`;
    const nt = X.trit_model_n_tensors(m);
    s += `tensors     ${nt}\n`;
    const scratch = T.malloc(8 + 32 + 8);   // name*, type*, ne[4] (i64), nbytes (u64)
    for (let i = 0; i < nt; i++) {
        X.trit_model_tensor(m, i, scratch, scratch + 4, scratch + 8, scratch + 40);
        const dv = T.dv;
        const tn = T.cstr(dv.getUint32(scratch, true)), ty = T.cstr(dv.getUint32(scratch + 4, true));
        const ne = [0, 1, 2, 3].map(k => dv.getBigInt64(scratch + 8 + 8 * k, true));
        const nb = dv.getBigUint64(scratch + 40, true);
        s += `  ${tn.padEnd(32)} ${ty.padEnd(6)} [${ne.join(', ')}] ${nb} bytes\n`;
    }
    T.free(scratch);
    out(s);
    return 0;
}

function cmdTokenize(T, m, a) {
    if (a.prompt === null) { err('error: tokenize needs -p TEXT\n'); return 2; }
    const t = tokenize(T, m, a.prompt, TRIT_TOK_ADD_SPECIAL | (a.parse_special ? TRIT_TOK_PARSE_SPECIAL : 0));
    if (!t) return 1;
    const ids = T.i32.subarray(t.ptr >>> 2, (t.ptr >>> 2) + t.n);
    out(Array.from(ids).join(' ') + '\n');
    T.free(t.ptr);
    return 0;
}

function cmdLogits(T, m, a) {
    const X = T.exports;
    if (a.out === null) { err('error: logits needs -o FILE\n'); return 2; }
    const t = promptTokens(T, m, a);
    if (!t) return 1;
    const n = t.n, V = X.trit_model_n_vocab(m);
    const nCtx = a.ctx > 0 ? a.ctx : (n > 0 ? n : 1);
    const c = makeCtx(T, m, a, nCtx, a.batch > 0 ? a.batch : (n > 0 ? n : 1));
    if (!c) return 1;
    const lg = T.malloc(4 * V * (n > 0 ? n : 1));
    let rc = 1;
    if (X.trit_ctx_decode(c, t.ptr, n, lg, TRIT_LOGITS_ALL)) rc = fail(T, 'decode');
    else {
        try {
            fs.writeFileSync(a.out, T.u8.subarray(lg, lg + 4 * V * n));   // a view of the heap, no copy
            rc = 0;
            err(`wrote ${n} x ${V} logits to ${a.out}\n`);
        } catch {
            err(`error: cannot write '${a.out}'\n`);
        }
    }
    T.free(lg); T.free(t.ptr); X.trit_ctx_free(c);
    return rc;
}

function cmdGenerate(T, m, a) {
    const X = T.exports;
    const t = promptTokens(T, m, a);
    if (!t) return 1;
    const n = t.n;
    if (n === 0) { err('error: the prompt gives no tokens\n'); T.free(t.ptr); return 1; }
    const hp = modelInfo(T, m);
    const nCtx = a.ctx > 0 ? a.ctx : hp.n_ctx_train;
    const c = makeCtx(T, m, a, nCtx, a.batch);
    if (!c) return 1;
    const V = hp.n_vocab;
    const lg = T.malloc(4 * V);
    const seed = a.seed;
    const s = X.trit_wasm_sampler_init(a.temp, a.top_k, a.top_p, a.min_p, a.repeat_penalty,
        Number(seed & 0xffffffffn), Number(seed >> 32n)) >>> 0;
    const tok = T.malloc(4), outp = T.malloc(4);
    const d = X.trit_wasm_detok_new() >>> 0;
    const done = rc => { X.trit_sampler_free(s); T.free(lg); T.free(t.ptr); T.free(tok); T.free(outp); T.free(d);
        X.trit_ctx_free(c); return rc; };
    if (!s || !d) return done(1);
    for (let i = 0; i < n; i++) X.trit_sampler_accept(s, T.i32[(t.ptr >>> 2) + i]);
    const t0 = performance.now();
    if (X.trit_ctx_decode(c, t.ptr, n, lg, TRIT_LOGITS_LAST)) return done(fail(T, 'decode'));
    const t1 = performance.now();
    let gen = 0;
    for (; gen < a.n_predict; gen++) {
        const id = X.trit_sampler_sample(s, lg, V);
        if (id < 0) return done(fail(T, 'sample'));
        if (X.trit_token_is_eog(m, id)) break;
        if (a.ids) out(gen ? ` ${id}` : `${id}`);
        else {
            const k = X.trit_detok_push(d, m, id, outp);
            if (k > 0) { const p = T.dv.getUint32(outp, true); out(T.u8.subarray(p, p + k)); }
        }
        if (gen + 1 === a.n_predict) { gen++; break; }
        T.i32[tok >>> 2] = id;
        if (X.trit_ctx_decode(c, tok, 1, lg, TRIT_LOGITS_LAST)) {
            if (X.trit_ctx_pos(c) >= X.trit_ctx_n_ctx(c)) {
                err(`\nnote: context full (${X.trit_ctx_n_ctx(c)} tokens)\n`);
                gen++;
                break;
            }
            return done(fail(T, 'decode'));
        }
    }
    if (!a.ids) {
        const k = X.trit_detok_flush(d, outp);
        if (k > 0) { const p = T.dv.getUint32(outp, true); out(T.u8.subarray(p, p + k)); }
    }
    out('\n');
    const t2 = performance.now();
    const tp = (t1 - t0) / 1000, tg = (t2 - t1) / 1000;
    err(`prompt: ${n} tokens in ${tp.toFixed(3)} s (${(tp > 0 ? n / tp : 0).toFixed(1)} tok/s); generated: ${gen} ` +
        `tokens in ${tg.toFixed(3)} s (${(tg > 0 ? gen / tg : 0).toFixed(1)} tok/s)\n`);
    return done(0);
}
