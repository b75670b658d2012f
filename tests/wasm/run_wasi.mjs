// run_wasi.mjs: runs a standalone wasm program (a C main built with emcc -sSTANDALONE_WASM) under node:
// `node tests/wasm/run_wasi.mjs PROGRAM.wasm [ARGS...]`. Its exit status is the program's. WASI is
// node:wasi; the environment passes TRIT_ORACLE and TRIT_TEST_* through. Emscripten's standalone libc
// has no file system, so test programs read files through two imports of ours (tests/test_batch.c):
// env.trit_test_file_size(path) and env.trit_test_file_read(path, dst), -1 on error.
import fs from 'node:fs';
import path from 'node:path';
import { WASI } from 'node:wasi';

const [file, ...args] = process.argv.slice(2);
if (!file) {
    process.stderr.write('usage: node tests/wasm/run_wasi.mjs PROGRAM.wasm [ARGS...]\n');
    process.exit(2);
}
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => k === 'TRIT_ORACLE' || k.startsWith('TRIT_TEST_')));
// relative paths in ARGS and TRIT_ORACLE resolve against the current directory
const abs = p => (p && !path.isAbsolute(p) && !p.startsWith('-') && fs.existsSync(p) ? path.resolve(p) : p);
if (env.TRIT_ORACLE) env.TRIT_ORACLE = path.resolve(env.TRIT_ORACLE);
else env.TRIT_ORACLE = path.resolve('../shared/oracle');
const wasi = new WASI({ version: 'preview1', args: [path.basename(file), ...args.map(abs)], env, preopens: { '/': '/' }, returnOnExit: true });
const module = await WebAssembly.compile(fs.readFileSync(file));
let instance = null;
const cpath = p => { const u = new Uint8Array(instance.exports.memory.buffer); let e = p; while (u[e]) e++; return Buffer.from(u.subarray(p, e)).toString(); };
instance = await WebAssembly.instantiate(module, {
    wasi_snapshot_preview1: wasi.wasiImport,
    env: {
        emscripten_notify_memory_growth() {},
        trit_test_file_size(p) { try { return fs.statSync(cpath(p)).size; } catch { return -1; } },
        trit_test_file_read(p, dst) {
            try {
                const b = fs.readFileSync(cpath(p));
                new Uint8Array(instance.exports.memory.buffer, dst >>> 0, b.length).set(b);
                return b.length;
            } catch { return -1; }
        },
    },
});
process.exitCode = wasi.start(instance);
