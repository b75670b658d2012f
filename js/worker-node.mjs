// worker-node.mjs: the model worker's entry in Node (a node:worker_threads thread started by
// workers-node.mjs): serves worker.mjs's model handlers on parentPort with the Node platform.
import { parentPort } from 'node:worker_threads';
import { serveModel } from './worker.mjs';
import { platform } from './platform-node.mjs';

serveModel({ post: (m, t) => parentPort.postMessage(m, t), onMessage: fn => parentPort.on('message', fn) }, platform);
