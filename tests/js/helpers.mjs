// helpers.mjs: shared by the tests/js suites: where the fixtures are, and small utilities.
import path from 'node:path';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const ORACLE = process.env.TRIT_ORACLE || path.resolve(ROOT, '../shared/oracle');
export const MODELS = path.join(ORACLE, 'models');
export const model = name => path.join(MODELS, name);

/** The oracle's reference record for a model family/type and prompt index. */
export function ref(fam, type, p, kv = 'kv_f16') {
    return JSON.parse(fs.readFileSync(path.join(ORACLE, 'ref', `${fam}.${type}`, kv, `p${p}.json`), 'utf8'));
}

export const PROMPTS = fs.readFileSync(path.join(ORACLE, 'prompts.txt'), 'utf8').split('\n').filter(Boolean);

/** Collects a stream of chunks. */
export async function collect(stream) {
    const out = [];
    for await (const c of stream) out.push(c);
    return out;
}

/**
 * A copy of a GGUF file with string metadata added or replaced (e.g. tokenizer.chat_template): the
 * header is rewritten and the tensor data moved to the new aligned offset.
 */
export function ggufWithMetadata(file, kv) {
    const src = fs.readFileSync(file);
    const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
    let o = 0;
    const u32 = () => { const v = dv.getUint32(o, true); o += 4; return v; };
    const u64 = () => { const v = Number(dv.getBigUint64(o, true)); o += 8; return v; };
    const str = () => { const n = u64(); const s = src.subarray(o, o + n).toString('utf8'); o += n; return s; };
    const SIZES = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
    const skipValue = t => {
        if (t === 8) { str(); return; }
        if (t === 9) { const at = u32(), n = u64(); for (let i = 0; i < n; i++) skipValue(at); return; }
        o += SIZES[t];
    };
    if (u32() !== 0x46554747) throw new Error('not a GGUF file');
    const version = u32(), nTensors = u64(), nKv = u64();
    const kvs = [];
    let alignment = 32;
    for (let i = 0; i < nKv; i++) {
        const start = o, key = str(), t = u32();
        const vstart = o;
        skipValue(t);
        if (key === 'general.alignment') alignment = dv.getUint32(vstart, true);
        kvs.push({ key, bytes: src.subarray(start, o) });
    }
    const tinfoStart = o;
    for (let i = 0; i < nTensors; i++) { str(); const nd = u32(); o += 8 * nd + 4 + 8; }
    const tinfo = src.subarray(tinfoStart, o);
    const dataStart = Math.ceil(o / alignment) * alignment;
    const enc = s => { const b = Buffer.from(s, 'utf8'); const l = Buffer.alloc(8); l.writeBigUint64LE(BigInt(b.length)); return Buffer.concat([l, b]); };
    const kept = kvs.filter(x => !(x.key in kv)).map(x => x.bytes);
    const added = Object.entries(kv).map(([k, v]) => { const t = Buffer.alloc(4); t.writeUint32LE(8); return Buffer.concat([enc(k), t, enc(v)]); });
    const head = Buffer.alloc(24);
    head.writeUint32LE(0x46554747, 0); head.writeUint32LE(version, 4);
    head.writeBigUint64LE(BigInt(nTensors), 8); head.writeBigUint64LE(BigInt(kept.length + added.length), 16);
    const meta = Buffer.concat([head, ...kept, ...added, tinfo]);
    const pad = Buffer.alloc(Math.ceil(meta.length / alignment) * alignment - meta.length);
    return new Uint8Array(Buffer.concat([meta, pad, src.subarray(dataStart)]));
}

/** ln Γ(x) (Lanczos, g = 7). */
function lgamma(x) {
    const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
    if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - lgamma(1 - x);
    x -= 1;
    let a = c[0];
    const t = x + 7.5;
    for (let i = 1; i < 9; i++) a += c[i] / (x + i);
    return 0.5 * Math.log(2 * Math.PI) + (x + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Regularized upper incomplete gamma Q(s, x) (series for x < s + 1, else a continued fraction). */
function gammaQ(s, x) {
    if (x <= 0) return 1;
    if (x < s + 1) {
        let sum = 1 / s, term = sum;
        for (let n = 1; n < 1000; n++) { term *= x / (s + n); sum += term; if (term < sum * 1e-15) break; }
        return 1 - Math.exp(-x + s * Math.log(x) - lgamma(s)) * sum;
    }
    let b = x + 1 - s, c = 1e300, d = 1 / b, h = d;
    for (let i = 1; i < 1000; i++) {
        const an = -i * (i - s);
        b += 2;
        d = an * d + b; if (Math.abs(d) < 1e-300) d = 1e-300;
        c = b + an / c; if (Math.abs(c) < 1e-300) c = 1e-300;
        d = 1 / d;
        const del = d * c;
        h *= del;
        if (Math.abs(del - 1) < 1e-15) break;
    }
    return Math.exp(-x + s * Math.log(x) - lgamma(s)) * h;
}

/**
 * Pearson chi-square goodness of fit of observed counts against expected probabilities (cells with
 * an expected count below 5 are pooled). Returns {chi2, df, p, pooled, impossible} where impossible
 * counts observations in cells of probability 0 (which must not happen at all).
 */
export function chiSquare(observed, probs) {
    const n = [...observed.values()].reduce((a, b) => a + b, 0);
    let impossible = 0;
    for (const [k, o] of observed) if (!(probs.get(k) > 0)) impossible += o;
    const cells = [];
    let poolE = 0, poolO = 0, pooled = 0;
    for (const [k, p] of probs) {
        const e = n * p, o = observed.get(k) || 0;
        if (e < 5) { poolE += e; poolO += o; pooled++; } else cells.push([o, e]);
    }
    if (poolE > 0) cells.push([poolO, poolE]);
    let chi2 = 0;
    for (const [o, e] of cells) chi2 += (o - e) ** 2 / e;
    const df = cells.length - 1;
    return { chi2, df, p: df > 0 ? gammaQ(df / 2, chi2 / 2) : 1, pooled, impossible, n };
}
