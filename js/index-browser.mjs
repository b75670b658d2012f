// index-browser.mjs: the package's entry in browsers (package.json "exports" -> "browser"/"default").
// A page can also import this file directly (<script type="module">, no bundler): everything it
// loads is relative (workers: ./worker.mjs, wasm: ../build/wasm/*.wasm). docs/js.md is the reference.
import { platform } from './platform-browser.mjs';
import { createEngineOn } from './engine.mjs';
import { detectCapabilities as detect } from './router.mjs';
import { cacheApiStore } from './loader.mjs';
import { TritError } from './errors.mjs';

/** See docs/js.md: createEngine({model, draft, onProgress, signal, ...}) -> engine. */
export function createEngine(opts) { return createEngineOn(platform, opts); }
/** What this runtime offers (wasm, SIMD, threads, memory, WebGPU). */
export function detectCapabilities(opts) { return detect(platform, opts); }
export { TritError, ERROR_CODES, isAbortError } from './errors.mjs';
export { TEMPLATES, detectTemplate } from './templates.mjs';
export { PROTOCOL_VERSION } from './protocol.mjs';
/** Node only (it reads model and task files): in browsers it rejects with TritError UNSUPPORTED, so
 *  both entries export the same names. docs/eval.md. */
export async function evaluate() {
    throw new TritError('UNSUPPORTED', 'evaluate() runs in Node only (it reads files); use the Node entry or `trit eval`');
}
/** The Cache API cache of URL downloads (createEngine's `cache` option): list() and delete(key). */
export function modelCache(name) { return cacheApiStore(name); }
