#!/usr/bin/python3
"""make_corrupt.py: small GGUF inputs for the GGUF reader's fuzzer and corruption tests.

    /usr/bin/python3 tools/make_corrupt.py OUT_DIR [--oracle DIR]

Writes to OUT_DIR a seed corpus of small, *valid* GGUF files (every KV type, every tensor type the core
reads, alignment 1/32/64, version 2 and 3, the oracle fixture's KVs with a shortened vocab) plus a
few hand-corrupted variants. Seeds stay under 256 KiB so that libFuzzer's -max_len=262144 sees them
whole; the model_* seeds load and run. Nothing is written inside the repo unless OUT_DIR points there (use build/...)."""

import os
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gguf_writer as gw  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def all_kv_types(w):
    w.add_string("general.architecture", "bitnet")
    w.add_uint8("t.u8", 1)
    w.add_int8("t.i8", -1)
    w.add_uint16("t.u16", 2)
    w.add_int16("t.i16", -2)
    w.add_uint32("t.u32", 3)
    w.add_int32("t.i32", -3)
    w.add_uint64("t.u64", 4)
    w.add_int64("t.i64", -4)
    w.add_float32("t.f32", 0.5)
    w.add_float64("t.f64", 0.25)
    w.add_bool("t.bool", True)
    w.add_array("t.strs", ["a", "bc", ""], gw.GGUF_TYPE_STRING)
    w.add_array("t.i32s", [1, 2, 3], gw.GGUF_TYPE_INT32)
    w.add_array("t.f32s", [0.5], gw.GGUF_TYPE_FLOAT32)
    w.add_array("t.empty", [], gw.GGUF_TYPE_UINT8)


def all_tensor_types(w, rng):
    x = (rng.integers(-1, 2, size=(2, 256)) * 0.03).astype(np.float32)
    for t in (gw.GGML_TYPE_F32, gw.GGML_TYPE_F16, gw.GGML_TYPE_BF16, gw.GGML_TYPE_Q8_0, gw.GGML_TYPE_Q6_K,
              gw.GGML_TYPE_TQ1_0, gw.GGML_TYPE_TQ2_0, gw.GGML_TYPE_I2_S):
        w.add_tensor("w." + gw.type_name(t), x, t)
    w.add_tensor("norm", np.ones(8, np.float32))
    w.add_tensor("cube", np.zeros((2, 3, 4, 5), np.float32))


def seeds(oracle):
    rng = np.random.default_rng(0)
    out = {}
    for align in (32, 1, 64):
        for version in (3, 2):
            w = gw.GGUFWriter(alignment=align, version=version)
            all_kv_types(w)
            all_tensor_types(w, rng)
            out["types_a%d_v%d.gguf" % (align, version)] = w.to_bytes()
    out["empty.gguf"] = gw.GGUFWriter().to_bytes()
    w = gw.GGUFWriter()
    all_kv_types(w)
    out["kv_only.gguf"] = w.to_bytes()
    path = os.path.join(oracle, "models", "bitnet-tiny-spm.tq2_0.gguf")
    if os.path.exists(path):
        f = gw.read_gguf(path)
        w = gw.GGUFWriter()
        for k, kv in f.kv.items():
            v = kv.value[:24] if kv.type == gw.GGUF_TYPE_ARRAY else kv.value
            w.add_kv(k, v, kv.type, kv.elem_type)
        for t in f.tensors[:6]:          # small shapes, same types
            x = f.tensor_array(t.name)
            w.add_tensor(t.name, x[:2] if x.ndim == 2 else x, t.type)
        out["oracle_small.gguf"] = w.to_bytes()
    # a few corrupted variants of the first seed
    base = out["types_a32_v3.gguf"]
    out["bad_magic.gguf"] = b"GGUX" + base[4:]
    out["bad_version.gguf"] = base[:4] + struct.pack("<I", 7) + base[8:]
    out["huge_n_kv.gguf"] = base[:16] + struct.pack("<Q", 2**64 - 1) + base[24:]
    out["truncated.gguf"] = base[:len(base) // 2]
    return out


def tiny_models(oracle):
    """Small models that load and run, so the fuzzer reaches the model loader, tokenizers and forward:
    each arch, several weight types, SPM and BPE vocabularies cut to their first 300 tokens."""
    out = {}
    rng = np.random.default_rng(1)
    for vocab_src in ("bitnet-tiny-spm", "bitnet-tiny-bpe"):
        src = gw.read_gguf(os.path.join(oracle, "models", vocab_src + ".f32.gguf"))
        V = 300
        toks = src.value("tokenizer.ggml.tokens")[:V]
        for arch, E, wtype, etype in (("bitnet", 32, gw.GGML_TYPE_F32, gw.GGML_TYPE_F16),
                                      ("llama", 64, gw.GGML_TYPE_Q8_0, gw.GGML_TYPE_Q8_0),
                                      ("bitnet-b1.58", 128, gw.GGML_TYPE_I2_S, gw.GGML_TYPE_F16),
                                      ("bitnet", 256, gw.GGML_TYPE_TQ2_0, gw.GGML_TYPE_Q8_0)):
            if arch != "bitnet" and vocab_src.endswith("bpe"):
                continue
            F, H = E, 2
            w = gw.GGUFWriter()
            w.add_string("general.architecture", arch)
            for k, v in (("context_length", 64), ("embedding_length", E), ("block_count", 1),
                         ("feed_forward_length", F), ("attention.head_count", H), ("attention.head_count_kv", 1)):
                w.add_uint32(arch + "." + k, v)
            w.add_float32(arch + ".attention.layer_norm_rms_epsilon", 1e-5)
            for key, kv in src.kv.items():
                if not key.startswith("tokenizer."):
                    continue
                v = kv.value
                if kv.type == gw.GGUF_TYPE_ARRAY:
                    if key == "tokenizer.ggml.merges":
                        have = set(toks)
                        v = [m for m in v if all(p in have for p in m.split(" ", 1)) and m.replace(" ", "") in have]
                    else:
                        v = v[:V]
                    w.add_kv(key, v, gw.GGUF_TYPE_ARRAY, kv.elem_type)
                else:
                    w.add_kv(key, v if not key.endswith("_token_id") else min(int(v), V - 1), kv.type)
            w.add_tensor("token_embd.weight", rng.standard_normal((V, E)).astype(np.float32), etype)
            w.add_tensor("output_norm.weight", np.ones(E, np.float32))
            D = E // H
            shapes = {"attn_q": (E, E), "attn_k": (D, E), "attn_v": (D, E), "attn_output": (E, E),
                      "ffn_gate": (F, E), "ffn_up": (F, E), "ffn_down": (E, F)}
            for n, shp in shapes.items():
                m = rng.integers(-1, 2, shp).astype(np.float32) * 0.05
                w.add_tensor("blk.0.%s.weight" % n, m, wtype)
            for n, k in (("attn_norm", E), ("ffn_norm", E), ("attn_sub_norm", E), ("ffn_sub_norm", F)):
                if arch == "llama" and "sub" in n:
                    continue
                w.add_tensor("blk.0.%s.weight" % n, np.ones(k, np.float32))
            out["model_%s_%s_%s.gguf" % (arch, gw.type_name(wtype), vocab_src[-3:])] = w.to_bytes()
    return out


def main(argv):
    if len(argv) < 2:
        print(__doc__)
        return 2
    outdir = argv[1]
    oracle = os.environ.get("TRIT_ORACLE") or os.path.join(os.path.dirname(REPO), "shared", "oracle")
    if "--oracle" in argv:
        oracle = argv[argv.index("--oracle") + 1]
    os.makedirs(outdir, exist_ok=True)
    for name, data in {**seeds(oracle), **tiny_models(oracle)}.items():
        assert len(data) <= 262144, name
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
