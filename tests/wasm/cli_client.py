"""cli_client.py SOCKET ARGS...: the wasm CLI through tests/wasm/cli_server.mjs (see there): sends cwd,
the TRIT_WASM / TRIT_FORCE_REF variables and ARGS, writes back the command's stdout and stderr and exits
with its status. Run with `python3 -S` (no site import: ~10 ms of startup)."""
import os
import socket
import struct
import sys

ENV = ("TRIT_WASM", "TRIT_FORCE_REF")


def main():
    path, args = sys.argv[1], sys.argv[2:]
    strs = [os.getcwd()] + ["%s=%s" % (k, os.environ.get(k, "")) for k in ENV] + [""] + args
    data = struct.pack("<I", len(strs)) + b"".join(
        struct.pack("<I", len(b)) + b for b in (s.encode("utf-8", "surrogateescape") for s in strs))
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(data)
    s.shutdown(socket.SHUT_WR)
    reply = b""
    while True:
        chunk = s.recv(1 << 20)
        if not chunk:
            break
        reply += chunk
    status, n_out = struct.unpack_from("<II", reply, 0)
    out = reply[8:8 + n_out]
    (n_err,) = struct.unpack_from("<I", reply, 8 + n_out)
    err = reply[12 + n_out:12 + n_out + n_err]
    sys.stdout.buffer.write(out)
    sys.stdout.buffer.flush()
    sys.stderr.buffer.write(err)
    sys.exit(status)


if __name__ == "__main__":
    main()
