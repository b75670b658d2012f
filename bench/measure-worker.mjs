// measure-worker.mjs: bench.mjs --browser runs measure.mjs here, in a module Worker of a chromium page
// (a Worker, as the package runs models: the -mt builds' pool may block, which a page's main thread
// must not). Message in: { build, threads, model (URL), plan, dotMin, dotAdd }; out: { result } or { error }.
import { loadTrit } from '../js/wasm.mjs';
import { measureModel } from './measure.mjs';

self.onmessage = async ({ data: a }) => {
    let T = null;
    try {
        T = await loadTrit({ build: a.build, threads: a.threads, dotAdd: a.dotAdd });
        self.postMessage({ result: await measureModel(T, a.model, a.plan, { dotMin: a.dotMin }) });
    } catch (e) {
        self.postMessage({ error: String(e && e.stack || e) });
    } finally {
        if (T) T.close();
    }
};
