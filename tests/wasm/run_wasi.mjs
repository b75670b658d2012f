// run_wasi.mjs: runs a standalone wasm program (a C main built with emcc -sSTANDALONE_WASM) under node
// with js/wasm.mjs's minimal WASI: `node tests/wasm/run_wasi.mjs PROGRAM.wasm [ARGS...]`. Its exit
// status is the program's.
import path from 'node:path';
import { loadTrit, WasiExit } from '../../js/wasm.mjs';

const [file, ...args] = process.argv.slice(2);
if (!file) {
    process.stderr.write('usage: node tests/wasm/run_wasi.mjs PROGRAM.wasm [ARGS...]\n');
    process.exit(2);
}
const T = await loadTrit({ build: path.resolve(file), args: [path.basename(file), ...args] });
try {
    T.exports._start();
    process.exitCode = 0;
} catch (e) {
    if (e instanceof WasiExit) process.exitCode = e.code;
    else throw e;
}
