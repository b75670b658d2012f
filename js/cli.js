#!/usr/bin/env node
// cli.js: `node js/cli.js COMMAND ...`, the wasm build's CLI (js/cli.mjs has it all). Written to run
// both as CommonJS and as an ES module (only a dynamic import, no require/import/export statements),
// so it works with or without a "type": "module" package.json above it.
import('./cli.mjs').then(cli => cli.main(process.argv.slice(2))).then(
    code => { process.exitCode = code; },
    e => { process.stderr.write(`error: ${e && e.stack || e}\n`); process.exitCode = 1; });
