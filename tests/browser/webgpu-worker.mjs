// webgpu-worker.mjs: a module worker that runs the WebGPU engine (WebGPU is available in workers,
// where the package runs each model): loads the wasm core and a model, decodes the prompt ids it is
// sent, and posts back the logits of every position (or an error message).
import { loadTrit } from '/js/wasm.mjs';
import { WebGPUForward } from '/js/webgpu/index.mjs';

self.onmessage = async ({ data }) => {
    try {
        const T = await loadTrit();
        const f = await T.fetchModel(data.url);
        const m = T.exports.trit_wasm_model_load(f.ptr, f.size) >>> 0;
        if (!m) throw new Error(T.lastError());
        const g = await WebGPUForward.create(T, m, { nCtx: 64, kv: 'f32' });
        const logits = await g.decode(data.ids, 'all');
        const info = g.info();
        g.destroy();
        self.postMessage({ logits, info }, [logits.buffer]);
    } catch (e) {
        self.postMessage({ error: String(e && e.stack || e) });
    }
};
