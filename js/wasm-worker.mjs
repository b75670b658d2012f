// wasm-worker.mjs: one thread of trit's -mt wasm builds, as a Web Worker (module worker) or a
// node:worker_threads worker, started by js/wasm.mjs. It instantiates the module on the shared memory,
// moves its stack pointer to its own region, says 'ready', and runs the C pool's worker loop
// (trit_pool_work) until the pool is freed; then it says 'exit'. It calls nothing else in the module:
// only the main instance uses libc (see src/pool.h).
import { makeImports } from './wasm.mjs';

const isNode = typeof process !== 'undefined' && !!(process.versions && process.versions.node);

async function run(post, { module, memory, pool, stackTop }) {
    try {
        const instance = await WebAssembly.instantiate(module, makeImports(() => memory, { memory }));
        const X = instance.exports;
        X.stackRestore(stackTop);
        post({ kind: 'ready' });
        X.trit_pool_work(pool);
        post({ kind: 'exit' });
    } catch (e) {
        post({ kind: 'error', message: String(e && e.message || e) });
    }
}

if (isNode) {
    const { parentPort, workerData } = await import('node:worker_threads');
    run(m => parentPort.postMessage(m), workerData);
} else {
    self.addEventListener('message', e => run(m => self.postMessage(m), e.data), { once: true });
}
