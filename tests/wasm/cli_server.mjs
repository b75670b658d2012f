// cli_server.mjs SOCKET: runs js/cli.mjs's main() for tests/wasm/cli_client.py, one request at a time,
// in one long-lived node process, so that the conformance suites can run ~250 CLI calls on the wasm
// build without ~0.3 s of node startup each (make test-wasm-py; tests/test_wasm.py runs the real
// `node js/cli.js`). Every request loads a fresh wasm instance (main() does), gets its own cwd and
// TRIT_* variables, and its stdout, stderr and exit status go back to the client. Protocol (little-
// endian): request = u32 count, then count strings (u32 length + bytes): cwd, env ("K=V" or "K=" to
// unset) until an empty string, then argv; reply = u32 status, u32 n + stdout, u32 n + stderr.
import fs from 'node:fs';
import net from 'node:net';

import { main } from '../../js/cli.mjs';

const sock = process.argv[2];
if (!sock) { process.stderr.write('usage: node tests/wasm/cli_server.mjs SOCKET\n'); process.exit(2); }
try { fs.unlinkSync(sock); } catch { /* none yet */ }

function parse(buf) {
    const n = buf.readUInt32LE(0), strs = [];
    for (let i = 0, off = 4; i < n; i++) {
        const len = buf.readUInt32LE(off);
        strs.push(buf.subarray(off + 4, off + 4 + len).toString('utf8'));
        off += 4 + len;
    }
    const cwd = strs[0], env = [];
    let i = 1;
    for (; i < strs.length && strs[i] !== ''; i++) env.push(strs[i]);
    return { cwd, env, argv: strs.slice(i + 1) };
}

let queue = Promise.resolve();
const server = net.createServer({ allowHalfOpen: true }, conn => {
    const chunks = [];
    conn.on('data', d => chunks.push(d));
    conn.on('end', () => {
        queue = queue.then(async () => {
            const req = parse(Buffer.concat(chunks));
            const outs = [], errs = [], saved = {};
            for (const kv of req.env) {
                const k = kv.slice(0, kv.indexOf('=')), v = kv.slice(kv.indexOf('=') + 1);
                saved[k] = process.env[k];
                if (v === '') delete process.env[k]; else process.env[k] = v;
            }
            const dir = process.cwd();
            let status;
            try {
                process.chdir(req.cwd);
                status = await main(req.argv, { out: b => outs.push(Buffer.from(b)), err: b => errs.push(Buffer.from(b)) });
            } catch (e) {
                errs.push(Buffer.from(`error: ${e && e.stack || e}\n`));
                status = 1;
            } finally {
                process.chdir(dir);
                for (const [k, v] of Object.entries(saved)) { if (v === undefined) delete process.env[k]; else process.env[k] = v; }
            }
            const o = Buffer.concat(outs), e = Buffer.concat(errs), head = Buffer.alloc(8), mid = Buffer.alloc(4);
            head.writeUInt32LE(status, 0);
            head.writeUInt32LE(o.length, 4);
            mid.writeUInt32LE(e.length, 0);
            conn.end(Buffer.concat([head, o, mid, e]));
        });
    });
});
server.listen(sock, () => process.stdout.write(`listening on ${sock}\n`));
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => { server.close(); try { fs.unlinkSync(sock); } catch { /* gone */ } process.exit(0); });
