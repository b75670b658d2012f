// index-node.mjs: the package's entry in Node (package.json "exports" -> "node"). The API is the same
// as in browsers (index-browser.mjs); only the platform differs (node:worker_threads, files, a
// directory cache). docs/js.md is the reference.
import { platform } from './platform-node.mjs';
import { createEngineOn } from './engine.mjs';
import { detectCapabilities as detect } from './router.mjs';
import { cacheApiStore } from './loader.mjs';

/** See docs/js.md: createEngine({model, draft, onProgress, signal, ...}) -> engine. */
export function createEngine(opts) { return createEngineOn(platform, opts); }
/** What this runtime offers (wasm, SIMD, threads, memory, WebGPU). */
export function detectCapabilities(opts) { return detect(platform, opts); }
export { TritError, ERROR_CODES, isAbortError } from './errors.mjs';
export { TEMPLATES, detectTemplate } from './templates.mjs';
export { PROTOCOL_VERSION } from './protocol.mjs';
/** Node only: perplexity (+ saved logits), KL divergence, multiple choice; docs/eval.md. */
export { evaluate } from './eval.mjs';
/** The Cache API cache of URL downloads (browsers; null where there is no Cache API, as in Node 20). */
export function modelCache(name) { return cacheApiStore(name); }
