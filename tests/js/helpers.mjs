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
