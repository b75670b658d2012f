#!/usr/bin/env python3
"""spec_models.py: the random model pair of `make bench-spec` (not committed; written to build/bench-spec).

  target: BitNet b1.58 2B4T shapes (arch bitnet-b1.58, n_embd 2560, 30 layers, n_ff 6912, 20/5 heads), TQ2_0
  draft:  a small model of the same arch and vocabulary (n_embd 512, 4 layers, n_ff 1536, 8/8 heads), TQ2_0
  both:   the same synthetic 32000-token SentencePiece-style vocabulary, F16 token_embd (tied head)

Random ternary codes are packed directly (quantizing billions of floats in numpy would take minutes)
with block scales 1/sqrt(n_in), so activations stay O(1). The two models are unrelated, so a draft's
proposals are rarely accepted: the pair measures the coordinator's costs at a real size, not a speedup.
Usage: spec_models.py OUTDIR
"""
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))
import gguf_writer as gw  # noqa: E402

N_VOCAB, N_CTX = 32000, 4096
SHAPES = {
    "target-2b": dict(n_embd=2560, n_layer=30, n_ff=6912, n_head=20, n_head_kv=5, seed=1),
    "draft-small": dict(n_embd=512, n_layer=4, n_ff=1536, n_head=8, n_head_kv=8, seed=2),
}
# bytes whose four 2-bit fields are all ternary codes 0..2
CODE_BYTES = np.array([a | b << 2 | c << 4 | d << 6 for a in range(3) for b in range(3) for c in range(3) for d in range(3)], np.uint8)


def tq2_0(rng, n_in, n_out):
    nb = n_in * n_out // 256
    out = np.empty((nb, 66), np.uint8)
    out[:, :64] = CODE_BYTES[rng.integers(0, 81, (nb, 64), dtype=np.uint8)]
    out[:, 64:] = np.frombuffer(np.float16(1.0 / np.sqrt(n_in)).tobytes(), np.uint8)
    return out.reshape(-1)


def write(path, name, hp):
    rng = np.random.default_rng(hp["seed"])
    E, F, L, H, HKV = hp["n_embd"], hp["n_ff"], hp["n_layer"], hp["n_head"], hp["n_head_kv"]
    hd, arch = E // H, "bitnet-b1.58"
    w = gw.GGUFWriter()
    w.add_string("general.architecture", arch)
    w.add_string("general.name", "random-" + name)
    for k, v in (("context_length", N_CTX), ("embedding_length", E), ("block_count", L), ("feed_forward_length", F),
                 ("attention.head_count", H), ("attention.head_count_kv", HKV), ("vocab_size", N_VOCAB)):
        w.add_uint32("%s.%s" % (arch, k), v)
    w.add_float32(arch + ".attention.layer_norm_rms_epsilon", 1e-5)
    w.add_float32(arch + ".rope.freq_base", 500000.0)
    toks = ["<unk>", "<s>", "</s>"] + ["<0x%02X>" % b for b in range(256)]
    toks += ["\u2581t%d" % i for i in range(N_VOCAB - len(toks))]
    w.add_string("tokenizer.ggml.model", "llama")
    w.add_array("tokenizer.ggml.tokens", toks, gw.GGUF_TYPE_STRING)
    w.add_array("tokenizer.ggml.scores", np.linspace(0, -10, N_VOCAB).astype(np.float32), gw.GGUF_TYPE_FLOAT32)
    w.add_array("tokenizer.ggml.token_type", np.array([2, 3, 3] + [6] * 256 + [1] * (N_VOCAB - 259), np.int32), gw.GGUF_TYPE_INT32)
    w.add_uint32("tokenizer.ggml.bos_token_id", 1)
    w.add_uint32("tokenizer.ggml.eos_token_id", 2)
    w.add_uint32("tokenizer.ggml.unknown_token_id", 0)
    emb = (rng.standard_normal((N_VOCAB, E), np.float32) * np.float32(0.02)).astype(np.float16)
    w.add_tensor_raw("token_embd.weight", emb.view(np.uint8).reshape(-1), [E, N_VOCAB], gw.GGML_TYPE_F16)
    ones = lambda n: np.ones(n, np.float32)
    w.add_tensor("output_norm.weight", ones(E), gw.GGML_TYPE_F32)
    for l in range(L):
        p = "blk.%d." % l
        for nm, n in (("attn_norm", E), ("attn_sub_norm", E), ("ffn_norm", E), ("ffn_sub_norm", F)):
            w.add_tensor(p + nm + ".weight", ones(n), gw.GGML_TYPE_F32)
        for nm, n_in, n_out in (("attn_q", E, E), ("attn_k", E, HKV * hd), ("attn_v", E, HKV * hd), ("attn_output", E, E),
                                ("ffn_gate", E, F), ("ffn_up", E, F), ("ffn_down", F, E)):
            w.add_tensor_raw(p + nm + ".weight", tq2_0(rng, n_in, n_out), [n_in, n_out], gw.GGML_TYPE_TQ2_0)
    return w.write(path)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    for name, hp in SHAPES.items():
        path = out / ("%s.tq2_0.gguf" % name)
        if not path.exists():
            n = write(path.with_suffix(".tmp"), name, hp)
            path.with_suffix(".tmp").rename(path)
            print("wrote %s (%.0f MB)" % (path, n / 1e6), flush=True)


if __name__ == "__main__":
    main()
