// index-node.mjs: the package's entry in Node (package.json "exports" -> "node"). The API is the same
// as in browsers (index-browser.mjs); only the platform differs (node:worker_threads, files, a
// directory cache). docs/js.md is the reference.
import { platform } from './platform-node.mjs';
import { createEngineOn } from './engine.mjs';
import { detectCapabilities as detect } from './router.mjs';

/** See docs/js.md: createEngine({model, draft, onProgress, signal, ...}) -> engine. */
export function createEngine(opts) { return createEngineOn(platform, opts); }
/** What this runtime offers (wasm, SIMD, threads, memory, WebGPU). */
export function detectCapabilities() { return detect(platform); }
export { TritError, ERROR_CODES, isAbortError } from './errors.mjs';
export { TEMPLATES, detectTemplate } from './templates.mjs';
export { PROTOCOL_VERSION } from './protocol.mjs';
