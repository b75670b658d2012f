// workers-node.mjs: the thin node:worker_threads adapter. createNodeWorker() gives the engine a port
// {post, onMessage, onCrash, terminate, ref, unref} over a Worker whose entry is worker-node.mjs
// (which serves the model handlers of worker.mjs on parentPort).

import { Worker } from 'node:worker_threads';
import { nodeWorkerExecArgv } from './wasm.mjs';

const ENTRY = new URL('./worker-node.mjs', import.meta.url);

export function createNodeWorker(name = 'trit model worker') {
    const w = new Worker(ENTRY, { workerData: { tritModelWorker: true }, name, execArgv: nodeWorkerExecArgv() });
    let crashFn = null, gone = false;
    const crash = e => { if (!gone) { gone = true; if (crashFn) crashFn(e); } };
    w.on('error', e => crash(e));
    w.on('messageerror', e => crash(e));
    w.on('exit', code => crash(new Error(`it exited with code ${code}`)));
    return {
        post: (m, t) => w.postMessage(m, t),
        onMessage: fn => w.on('message', fn),
        onCrash: fn => { crashFn = fn; },
        terminate: () => { gone = true; return w.terminate(); },
        ref: () => w.ref(),
        unref: () => w.unref(),
    };
}
