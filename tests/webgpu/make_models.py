"""Small GGUF models for the WebGPU tests, in the formats the oracle fixtures do not cover, written
with tools/gguf_writer.py from the oracle's bitnet-tiny weights (same vocab, same shapes):

  b158-i2s.gguf        bitnet-b1.58 (ReLU^2 FFN), I2_S matrices, F16 token_embd
  bitnet-q8e.gguf      bitnet, Q8_0 attention matrices, Q6_K FFN matrices, Q8_0 token_embd
  bitnet-q6e.gguf      bitnet, TQ1_0 matrices with separate .scale tensors, Q6_K token_embd
  llama-bias.gguf      llama arch (NORM rope) with q/k/v/o biases, TQ2_0 matrices, untied F16 output

usage: python3 tests/webgpu/make_models.py OUT_DIR
"""
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import gguf_writer as gw  # noqa: E402

ORACLE = Path(__import__("os").environ.get("TRIT_ORACLE", ROOT.parent / "shared" / "oracle"))
PROJ = ("attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down")


def ternarize(w):
    s = max(float(np.abs(w).mean()), 1e-5)
    return np.clip(np.rint(w / s), -1, 1).astype(np.float32), s


def write(path, W, arch, types, extra=(), src_name="bitnet-tiny-spm.f32.gguf"):
    src = gw.read_gguf(ORACLE / "models" / src_name)
    old_arch = src.value("general.architecture")
    w = gw.GGUFWriter()
    for key, kv in src.kv.items():
        k = key.replace(old_arch + ".", arch + ".", 1) if key.startswith(old_arch + ".") else key
        v = arch if key == "general.architecture" else kv.value
        if kv.type == gw.GGUF_TYPE_ARRAY:
            w.add_kv(k, v, gw.GGUF_TYPE_ARRAY, kv.elem_type)
        else:
            w.add_kv(k, v, kv.type)
    for name, arr in W.items():
        w.add_tensor(name, arr.astype(np.float32), gw.GGML_TYPE_F32 if arr.ndim == 1 else types(name))
    for name, arr, ty in extra:
        w.add_tensor(name, arr, ty)
    w.write(path)


def main(out):
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    base = dict(np.load(ORACLE / "models" / "weights_bitnet-tiny.npz"))
    rng = np.random.default_rng(7)

    W = dict(base)
    for l in range(2):
        for p in PROJ:
            n = f"blk.{l}.{p}.weight"
            t, s = ternarize(W[n])
            W[n] = t * np.float32(s)
    write(out / "b158-i2s.gguf", W, "bitnet-b1.58",
          lambda n: gw.GGML_TYPE_F16 if n == "token_embd.weight" else gw.GGML_TYPE_I2_S)

    def q8e(n):
        if n == "token_embd.weight" or ".attn_" in n:
            return gw.GGML_TYPE_Q8_0
        return gw.GGML_TYPE_Q6_K
    write(out / "bitnet-q8e.gguf", dict(base), "bitnet", q8e)

    W, extra = dict(base), []
    for l in range(2):
        for p in PROJ:
            n = f"blk.{l}.{p}.weight"
            t, s = ternarize(W[n])
            W[n] = t
            extra.append((f"blk.{l}.{p}.scale", np.array([s], np.float32), gw.GGML_TYPE_F32))
    write(out / "bitnet-q6e.gguf", W, "bitnet",
          lambda n: gw.GGML_TYPE_Q6_K if n == "token_embd.weight" else gw.GGML_TYPE_TQ1_0, extra)

    L = dict(np.load(ORACLE / "models" / "weights_llama-tiny.npz"))
    extra = []
    for l in range(2):
        for p, n_out in (("attn_q", 256), ("attn_k", 128), ("attn_v", 128), ("attn_output", 256)):
            extra.append((f"blk.{l}.{p}.bias", (rng.standard_normal(n_out) * 0.1).astype(np.float32), gw.GGML_TYPE_F32))
    write(out / "llama-bias.gguf", L, "llama",
          lambda n: gw.GGML_TYPE_F16 if n in ("token_embd.weight", "output.weight") else gw.GGML_TYPE_TQ2_0,
          extra, src_name="llama-tiny-spm.f32.gguf")


if __name__ == "__main__":
    main(sys.argv[1])
