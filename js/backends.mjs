// backends.mjs: the seam for compute backends. A backend is a module whose model class has
// `static async create(opts)` and the model-session methods of js/model-wasm.mjs (describe, vocab,
// tokenize, begin, feed, next, propose, verify, distribution, memory, free). The model worker loads
// the backend the router chose by name from this table (a static table, because it is read inside
// workers, where nothing registered on the page would be visible).
//
// To add one (e.g. WebGPU): add an entry here and teach router.mjs when to pick it.

export const BACKENDS = {
    wasm: async () => (await import('./model-wasm.mjs')).WasmModel,
};

export async function loadBackend(name) {
    const f = BACKENDS[name];
    if (!f) {
        const { TritError } = await import('./errors.mjs');
        throw new TritError('UNSUPPORTED', `unknown backend '${name}' (known: ${Object.keys(BACKENDS).join(', ')})`);
    }
    return f();
}
