#!/usr/bin/env python3
"""make_models.py: random ternary GGUF models of real shapes for `make bench`, written with the project's
own writer (tools/gguf_writer.py). Not committed; `make bench` writes them into build/bench.

  700m: arch bitnet (llama.cpp's 1bitLLM graph): n_embd 1536, 24 layers, n_ff 4096, 16/16 heads
  2b:   arch bitnet-b1.58 (BitNet b1.58 2B4T shapes): n_embd 2560, 30 layers, n_ff 6912, 20/5 heads
  2b-bitnet: the 2b shapes under arch bitnet (SiLU-gated FFN, otherwise the same tensors and bytes): for
        `make bench-peers` (into build/bench-peers), since upstream llama.cpp (node-llama-cpp, wllama) has
        no `bitnet-b1.58` arch
  all: vocab 32000 (a synthetic SentencePiece-style vocabulary), F16 token_embd (the tied LM head)

Each in TQ2_0, TQ1_0 and I2_S. The weights are random ternary codes packed directly (quantizing 2B
floats in numpy would take minutes and gigabytes) with block scales 1/sqrt(n_in), so activations stay
O(1) through the layers; token_embd is N(0, 0.02) rounded to f16, like a trained embedding (including
its share of f16 subnormals); a type with a head suffix (`tq2_0+q6_k`, `tq2_0+q8_0`) quantizes it to that
type instead. Usage: make_models.py OUTDIR [SHAPE ...] [--types tq2_0,tq1_0,i2_s]
"""
import argparse
import itertools
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import gguf_writer as gw  # noqa: E402

SHAPES = {
    "700m": dict(arch="bitnet", n_embd=1536, n_layer=24, n_ff=4096, n_head=16, n_head_kv=16, rope_base=10000.0),
    "2b": dict(arch="bitnet-b1.58", n_embd=2560, n_layer=30, n_ff=6912, n_head=20, n_head_kv=5, rope_base=500000.0),
    "2b-bitnet": dict(arch="bitnet", n_embd=2560, n_layer=30, n_ff=6912, n_head=20, n_head_kv=5, rope_base=500000.0),
}
N_VOCAB = 32000
N_CTX = 4096
TYPES = {"tq2_0": gw.GGML_TYPE_TQ2_0, "tq1_0": gw.GGML_TYPE_TQ1_0, "i2_s": gw.GGML_TYPE_I2_S}
# the tied head / token_embd: F16 by default; a type "tq2_0+q6_k" writes it as Q6_K (or Q8_0), the way
# llama.cpp-quantized files often carry it (file 2b.tq2_0+q6_k.gguf)
HEADS = {"f16": gw.GGML_TYPE_F16, "q8_0": gw.GGML_TYPE_Q8_0, "q6_k": gw.GGML_TYPE_Q6_K}

# every byte whose four 2-bit fields are codes 0..2 (TQ2_0, I2_S)
CODE_BYTES = np.array([a | b << 2 | c << 4 | d << 6 for a, b, c, d in itertools.product(range(3), repeat=4)], np.uint8)
# TQ1_0: 5 trits per byte as ceil(v * 256 / 243); the qh bytes hold 4 trits times 3
TQ1_BYTES = np.array([(v * 256 + 242) // 243 for v in range(243)], np.uint8)
TQ1_QH = np.array([(v * 3 * 256 + 242) // 243 for v in range(81)], np.uint8)


def ternary_tensor(rng, ty, n_in, n_out):
    """Encoded bytes of an [n_out, n_in] random ternary matrix of the given type."""
    nb = n_in * n_out // 256
    d = np.frombuffer(np.float16(1.0 / np.sqrt(n_in)).tobytes(), np.uint8)
    if ty == gw.GGML_TYPE_TQ2_0:
        out = np.empty((nb, 66), np.uint8)
        out[:, :64] = CODE_BYTES[rng.integers(0, 81, (nb, 64), dtype=np.uint8)]
        out[:, 64:] = d
    elif ty == gw.GGML_TYPE_TQ1_0:
        out = np.empty((nb, 54), np.uint8)
        out[:, :48] = TQ1_BYTES[rng.integers(0, 243, (nb, 48), dtype=np.uint8)]
        out[:, 48:52] = TQ1_QH[rng.integers(0, 81, (nb, 4), dtype=np.uint8)]
        out[:, 52:] = d
    else:   # I2_S: n/4 code bytes, then the fp32 scale and 28 zero bytes
        out = np.zeros(n_in * n_out // 4 + 32, np.uint8)
        out[:n_in * n_out // 4] = CODE_BYTES[rng.integers(0, 81, n_in * n_out // 4, dtype=np.uint8)]
        out[n_in * n_out // 4:n_in * n_out // 4 + 4] = np.frombuffer(np.float32(1.0 / np.sqrt(n_in)).tobytes(), np.uint8)
    return out.reshape(-1)


def add_vocab(w):
    """A SentencePiece-style vocabulary of N_VOCAB tokens: <unk>, <s>, </s>, 256 byte tokens, words."""
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    toks += ["\u2581t%d" % i for i in range(N_VOCAB - len(toks))]
    types = [2, 3, 3] + [6] * 256 + [1] * (N_VOCAB - 259)
    w.add_string("tokenizer.ggml.model", "llama")
    w.add_array("tokenizer.ggml.tokens", toks, gw.GGUF_TYPE_STRING)
    w.add_array("tokenizer.ggml.scores", np.linspace(0, -10, N_VOCAB).astype(np.float32), gw.GGUF_TYPE_FLOAT32)
    w.add_array("tokenizer.ggml.token_type", np.array(types, np.int32), gw.GGUF_TYPE_INT32)
    w.add_uint32("tokenizer.ggml.bos_token_id", 1)
    w.add_uint32("tokenizer.ggml.eos_token_id", 2)
    w.add_uint32("tokenizer.ggml.unknown_token_id", 0)


def write_model(path, shape, type_name, seed=0):
    hp = SHAPES[shape]
    type_name, _, head = type_name.partition("+")
    ty, head_ty = TYPES[type_name], HEADS[head or "f16"]
    rng = np.random.default_rng(seed)
    E, F, L, H, HKV = hp["n_embd"], hp["n_ff"], hp["n_layer"], hp["n_head"], hp["n_head_kv"]
    hd = E // H
    arch = hp["arch"]
    w = gw.GGUFWriter()
    w.add_string("general.architecture", arch)
    w.add_string("general.name", "random-%s-%s" % (shape, type_name))
    w.add_uint32(arch + ".context_length", N_CTX)
    w.add_uint32(arch + ".embedding_length", E)
    w.add_uint32(arch + ".block_count", L)
    w.add_uint32(arch + ".feed_forward_length", F)
    w.add_uint32(arch + ".attention.head_count", H)
    w.add_uint32(arch + ".attention.head_count_kv", HKV)
    w.add_float32(arch + ".attention.layer_norm_rms_epsilon", 1e-5)
    w.add_float32(arch + ".rope.freq_base", hp["rope_base"])
    w.add_uint32(arch + ".vocab_size", N_VOCAB)
    add_vocab(w)
    emb = (rng.standard_normal((N_VOCAB, E), np.float32) * np.float32(0.02)).astype(np.float16)
    if head_ty == gw.GGML_TYPE_F16:
        w.add_tensor_raw("token_embd.weight", emb.view(np.uint8).reshape(-1), [E, N_VOCAB], gw.GGML_TYPE_F16)
    else:
        w.add_tensor("token_embd.weight", emb.astype(np.float32), head_ty)
    del emb
    ones = lambda n: np.ones(n, np.float32)
    w.add_tensor("output_norm.weight", ones(E), gw.GGML_TYPE_F32)
    for l in range(L):
        p = "blk.%d." % l
        w.add_tensor(p + "attn_norm.weight", ones(E), gw.GGML_TYPE_F32)
        w.add_tensor(p + "attn_sub_norm.weight", ones(E), gw.GGML_TYPE_F32)
        w.add_tensor(p + "ffn_norm.weight", ones(E), gw.GGML_TYPE_F32)
        w.add_tensor(p + "ffn_sub_norm.weight", ones(F), gw.GGML_TYPE_F32)
        for name, n_in, n_out in (("attn_q", E, E), ("attn_k", E, HKV * hd), ("attn_v", E, HKV * hd),
                                  ("attn_output", E, E), ("ffn_gate", E, F), ("ffn_up", E, F), ("ffn_down", F, E)):
            w.add_tensor_raw(p + name + ".weight", ternary_tensor(rng, ty, n_in, n_out), [n_in, n_out], ty)
    return w.write(path)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("outdir")
    ap.add_argument("shapes", nargs="*", default=list(SHAPES))
    ap.add_argument("--types", default=",".join(TYPES))
    a = ap.parse_args()
    out = Path(a.outdir)
    out.mkdir(parents=True, exist_ok=True)
    for shape in a.shapes:
        for t in a.types.split(","):
            path = out / ("%s.%s.gguf" % (shape, t))
            if path.exists():
                continue
            n = write_model(path.with_suffix(".tmp"), shape, t)
            path.with_suffix(".tmp").rename(path)
            print("wrote %s (%.0f MB)" % (path, n / 1e6), flush=True)


if __name__ == "__main__":
    main()
