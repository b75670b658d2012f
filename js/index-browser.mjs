// index-browser.mjs: the package's entry in browsers (package.json "exports" -> "browser"/"default").
// A page can also import this file directly (<script type="module">, no bundler): everything it
// loads is relative (workers: ./worker.mjs, wasm: ../build/wasm/*.wasm). docs/js.md is the reference.
import { platform } from './platform-browser.mjs';
import { createEngineOn } from './engine.mjs';
import { detectCapabilities as detect } from './router.mjs';

/** See docs/js.md: createEngine({model, draft, onProgress, signal, ...}) -> engine. */
export function createEngine(opts) { return createEngineOn(platform, opts); }
/** What this runtime offers (wasm, SIMD, threads, memory, WebGPU). */
export function detectCapabilities() { return detect(platform); }
export { TritError, ERROR_CODES, isAbortError } from './errors.mjs';
export { TEMPLATES, detectTemplate } from './templates.mjs';
export { PROTOCOL_VERSION } from './protocol.mjs';
