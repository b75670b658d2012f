#!/usr/bin/env python3
"""make_models.py OUTDIR: test models the oracle does not ship, for tests/test_batch.c and
tests/test_wasm.py: the oracle's bitnet-tiny weights ternarized into a bitnet-b1.58 model with I2_S
matrices (bitnet.cpp's format; written exactly as tests/test_models.py does), and the same ternary weights
as TQ2_0 matrices with a Q6_K or a Q8_0 token_embd (the tied head; the types llama.cpp-quantized files
carry it in), so that the wasm Q6_K / Q8_0 kernels are compared with the native reference end to end."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tools"))
import gguf_writer as gw  # noqa: E402
from test_models import PROJ, ternarize, weights, write_model  # noqa: E402


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    W = weights()
    for l in range(2):
        for p in PROJ:
            n = f"blk.{l}.{p}.weight"
            t, s = ternarize(W[n])
            W[n] = t * s
    path = out / "b158.i2_s.gguf"
    write_model(path, W, "bitnet-b1.58",
                lambda n: gw.GGML_TYPE_F16 if n == "token_embd.weight" else gw.GGML_TYPE_I2_S)
    print(path)
    for name, head in (("q6_k", gw.GGML_TYPE_Q6_K), ("q8_0", gw.GGML_TYPE_Q8_0)):
        path = out / f"b158.tq2_0-{name}.gguf"
        write_model(path, W, "bitnet-b1.58",
                    lambda n, head=head: head if n == "token_embd.weight" else gw.GGML_TYPE_TQ2_0)
        print(path)


if __name__ == "__main__":
    main()
