#!/usr/bin/env python3
"""convert.py: Hugging Face-style BitNet b1.58 checkpoint (config.json + *.safetensors + tokenizer.json)
-> GGUF for trit / llama.cpp (arch "bitnet", or "bitnet-b1.58" for a ReLU^2 FFN). numpy only.

    python3 tools/convert/convert.py build/train/target/hf -o build/train/target.tq2_0.gguf
    python3 tools/convert/convert.py DIR -o OUT.gguf --outtype tq1_0 --embd q8_0

Accepted checkpoint styles (detected per tensor):
  * unpacked float weights (trit's trainer, 1bitLLM/bitnet_b1_58-*): every projection is quantized
    with absmean, exactly as BitNet b1.58 / llama.cpp's BitnetModel.weight_quant:
        s = mean(|W|) (per tensor, clamped to >= 1e-5);  Q = clamp(round(W / s), -1, 1)
    If config.json says "trit_weight_scale": "fp16" (trit's trainer), s is first rounded to fp16,
    as the trainer's forward pass does, so that the GGUF reproduces the trained weights bit for bit.
  * packed ternary (microsoft/bitnet-b1.58-2B-4T): uint8 weight of shape (out/4, in) plus a
    `weight_scale` tensor. Packing as in transformers' integrations/bitnet.py (pack_weights /
    unpack_weights): the 2-bit code of row r = i*(out/4) + p (i < 4) sits in bits 2i..2i+1 of
    packed[p, :], and the value is code - 1 (codes 0, 1, 2 = -1, 0, +1). BitLinear.forward divides the
    integer matmul by weight_scale, so the real weight is Q / weight_scale.

How the ternary scale is stored (default: folded): the GGUF projection holds Q * s. TQ1_0/TQ2_0 then
store the codes Q and, per 256-block, d = the block absmax = s (fp16), so the engine computes with
exactly Q * fp16(s) (= the trained weights when the trainer rounded s to fp16; a block whose weights
are all 0 gets d = 0, which is also exact). With --scale-tensors the projections hold Q (d = 1) and s
goes into a 1-element F32 `blk.N.<proj>.scale` tensor that llama.cpp's bitnet graph (and trit)
multiply after the matmul. Folded is the default because it needs no optional tensors (bitnet.cpp's
I2_S path and other loaders ignore `.scale`), costs no extra op per projection and, with fp16 scales,
loses nothing.

q/k weights are NOT permuted: arch bitnet uses NEOX rope, which is HF's rotate_half convention
(llama.cpp's BitnetModel converter does not permute either; LlamaModel does, for NORM rope).
"""
import argparse
import glob
import json
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "bpe"))
sys.path.insert(0, HERE)

import gguf_writer as gw          # noqa: E402
from safetensors_np import read_safetensors   # noqa: E402
import bpe                        # noqa: E402

PROJ = {  # HF suffix -> GGUF name
    "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
    "self_attn.o_proj": "attn_output", "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up",
    "mlp.down_proj": "ffn_down",
}
NORMS = {
    "input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm",
    "self_attn.inner_attn_ln": "attn_sub_norm", "self_attn.attn_sub_norm": "attn_sub_norm",
    "mlp.ffn_layernorm": "ffn_sub_norm", "mlp.ffn_sub_norm": "ffn_sub_norm",
}
OUTTYPES = {"f32": gw.GGML_TYPE_F32, "f16": gw.GGML_TYPE_F16, "tq1_0": gw.GGML_TYPE_TQ1_0,
            "tq2_0": gw.GGML_TYPE_TQ2_0, "i2_s": gw.GGML_TYPE_I2_S}
FILE_TYPES = {"f32": 0, "f16": 1, "tq1_0": 36, "tq2_0": 37, "i2_s": 40}
EMBD_TYPES = {"f32": gw.GGML_TYPE_F32, "f16": gw.GGML_TYPE_F16, "q8_0": gw.GGML_TYPE_Q8_0}

SCALE_MIN = 1e-5


class ConvertError(Exception):
    pass


# ---- ternary weights -----------------------------------------------------------------------------

def absmean_scale(w, fp16_scale=False):
    """Per-tensor absmean scale, as float32. The mean is taken in float64 (the trainer does the same),
    so the trainer and the converter agree to the last bit."""
    s = np.float32(max(float(np.abs(np.asarray(w, np.float64)).mean()), SCALE_MIN))
    if fp16_scale:
        s = np.float32(np.float16(s))
    return s


def absmean_ternary(w, fp16_scale=False):
    """W (float) -> (Q int8 in {-1,0,1}, s float32) with Q = clamp(round(W / s), -1, 1)."""
    w = np.asarray(w, np.float32)
    s = absmean_scale(w, fp16_scale)
    q = np.clip(np.round(w / s), -1, 1).astype(np.int8)     # float32 division, round half to even
    return q, s


def unpack_2b4t(packed, out_features):
    """transformers' unpack_weights: uint8 (out/4, in) -> int8 (out, in) in {-1, 0, 1}."""
    packed = np.asarray(packed, np.uint8)
    rows = packed.shape[0]
    if rows * 4 != out_features:
        raise ConvertError("packed weight has %d rows, expected out_features/4 = %d/4" % (rows, out_features))
    out = np.empty((4 * rows,) + packed.shape[1:], np.int8)
    for i in range(4):
        out[i * rows:(i + 1) * rows] = ((packed >> (2 * i)) & 3).astype(np.int8) - 1
    if (out > 1).any():
        raise ConvertError("packed weight holds code 3 (not a ternary value)")
    return out


def pack_2b4t(q):
    """Inverse of unpack_2b4t (transformers' pack_weights), for tests: int8 (out, in) -> uint8 (out/4, in)."""
    q = np.asarray(q, np.int8)
    rows = q.shape[0] // 4
    codes = (q + 1).astype(np.uint8)
    packed = np.zeros((rows,) + q.shape[1:], np.uint8)
    for i in range(4):
        packed |= codes[i * rows:(i + 1) * rows] << (2 * i)
    return packed


# ---- checkpoint loading --------------------------------------------------------------------------

def load_checkpoint(path):
    """Reads config.json, every *.safetensors, tokenizer.json (+ tokenizer_config.json) from a directory."""
    if not os.path.isdir(path):
        raise ConvertError("%s is not a directory" % path)
    with open(os.path.join(path, "config.json")) as f:
        cfg = json.load(f)
    files = sorted(glob.glob(os.path.join(path, "*.safetensors")))
    if not files:
        raise ConvertError("no *.safetensors in %s" % path)
    tensors = {}
    for fn in files:
        t, _ = read_safetensors(fn)
        tensors.update(t)
    tok = None
    tj = os.path.join(path, "tokenizer.json")
    if os.path.exists(tj):
        tc = None
        tcp = os.path.join(path, "tokenizer_config.json")
        if os.path.exists(tcp):
            with open(tcp) as f:
                tc = json.load(f)
        tok = bpe.Tokenizer.load(tj, tc)
    return cfg, tensors, tok


def hparams_from_config(cfg):
    n_embd = int(cfg["hidden_size"])
    n_head = int(cfg["num_attention_heads"])
    hp = {
        "n_vocab": int(cfg["vocab_size"]),
        "n_embd": n_embd,
        "n_layer": int(cfg["num_hidden_layers"]),
        "n_head": n_head,
        "n_head_kv": int(cfg.get("num_key_value_heads") or n_head),
        "n_ff": int(cfg["intermediate_size"]),
        "n_ctx": int(cfg.get("max_position_embeddings", 2048)),
        "rms_eps": float(cfg.get("rms_norm_eps", 1e-5)),
        "rope_base": float(cfg.get("rope_theta", 10000.0)),
        "act": cfg.get("hidden_act", "silu"),
        "fp16_scale": cfg.get("trit_weight_scale") == "fp16",
    }
    hp["head_dim"] = int(cfg.get("head_dim") or n_embd // n_head)
    if hp["head_dim"] * n_head != n_embd:
        raise ConvertError("head_dim * n_head != hidden_size: the bitnet graph needs n_embd = n_head * head_dim")
    return hp


def convert(path, out, outtype="tq2_0", embd="f16", scale_tensors=False, arch=None, name=None, pre="llama-bpe",
            log=print):
    cfg, T, tok = load_checkpoint(path)
    hp = hparams_from_config(cfg)
    if arch is None:
        act = hp["act"]
        if act in ("silu", "swish"):
            arch = "bitnet"
        elif act in ("relu2", "relu_squared", "squared_relu"):
            arch = "bitnet-b1.58"
        else:
            raise ConvertError("hidden_act %r: the bitnet archs know silu (bitnet) and relu2 (bitnet-b1.58)" % act)
    wtype = OUTTYPES[outtype]
    if tok is None:
        raise ConvertError("%s has no tokenizer.json (a byte-level BPE tokenizer.json is required)" % path)
    if tok.vocab_size != hp["n_vocab"]:
        raise ConvertError("tokenizer has %d tokens, config.json vocab_size is %d" % (tok.vocab_size, hp["n_vocab"]))

    w = gw.GGUFWriter()
    A = arch
    w.add_string("general.architecture", A)
    w.add_string("general.name", name or cfg.get("_name_or_path") or os.path.basename(os.path.abspath(path)))
    w.add_uint32(A + ".context_length", hp["n_ctx"])
    w.add_uint32(A + ".embedding_length", hp["n_embd"])
    w.add_uint32(A + ".block_count", hp["n_layer"])
    w.add_uint32(A + ".feed_forward_length", hp["n_ff"])
    w.add_uint32(A + ".attention.head_count", hp["n_head"])
    w.add_uint32(A + ".attention.head_count_kv", hp["n_head_kv"])
    w.add_float32(A + ".rope.freq_base", hp["rope_base"])
    w.add_float32(A + ".attention.layer_norm_rms_epsilon", hp["rms_eps"])
    w.add_uint32(A + ".rope.dimension_count", hp["head_dim"])
    w.add_uint32(A + ".vocab_size", hp["n_vocab"])
    w.add_string(A + ".rope.scaling.type", "linear")
    w.add_float32(A + ".rope.scaling.factor", 1.0)
    w.add_string("tokenizer.ggml.model", "gpt2")
    w.add_string("tokenizer.ggml.pre", pre)
    w.add_array("tokenizer.ggml.tokens", tok.tokens, gw.GGUF_TYPE_STRING)
    w.add_array("tokenizer.ggml.token_type", tok.token_types(), gw.GGUF_TYPE_INT32)
    w.add_array("tokenizer.ggml.merges", ["%s %s" % m for m in tok.merges], gw.GGUF_TYPE_STRING)
    if tok.bos_id is not None:
        w.add_uint32("tokenizer.ggml.bos_token_id", tok.bos_id)
    if tok.eos_id is not None:
        w.add_uint32("tokenizer.ggml.eos_token_id", tok.eos_id)
    w.add_bool("tokenizer.ggml.add_bos_token", bool(tok.add_bos))
    w.add_bool("tokenizer.ggml.add_eos_token", False)
    if outtype not in ("f32", "f16"):
        w.add_uint32("general.quantization_version", 2)
    w.add_uint32("general.file_type", FILE_TYPES[outtype])

    used = set()

    def take(n):
        if n not in T:
            raise ConvertError("missing tensor %s" % n)
        used.add(n)
        return T[n]

    def f32(n, shape):
        a = np.asarray(take(n), np.float32)
        if a.shape != tuple(shape):
            raise ConvertError("%s: shape %s, expected %s" % (n, a.shape, tuple(shape)))
        return a

    E, V, F, L = hp["n_embd"], hp["n_vocab"], hp["n_ff"], hp["n_layer"]
    kv = hp["head_dim"] * hp["n_head_kv"]
    emb = f32("model.embed_tokens.weight", (V, E))
    if "lm_head.weight" in T:
        used.add("lm_head.weight")
        if not np.array_equal(np.asarray(T["lm_head.weight"], np.float32), emb):
            raise ConvertError("lm_head.weight differs from embed_tokens: arch %s ties the output to token_embd" % A)
    w.add_tensor("token_embd.weight", emb, EMBD_TYPES[embd])
    w.add_tensor("output_norm.weight", f32("model.norm.weight", (E,)), gw.GGML_TYPE_F32)
    out_features = {"self_attn.q_proj": (E, E), "self_attn.k_proj": (kv, E), "self_attn.v_proj": (kv, E),
                    "self_attn.o_proj": (E, E), "mlp.gate_proj": (F, E), "mlp.up_proj": (F, E),
                    "mlp.down_proj": (E, F)}
    n_packed = n_float = 0
    for i in range(L):
        pre_ = "model.layers.%d." % i
        for hf, gg in NORMS.items():
            if pre_ + hf + ".weight" in T:
                n = F if gg == "ffn_sub_norm" else E
                w.add_tensor("blk.%d.%s.weight" % (i, gg), f32(pre_ + hf + ".weight", (n,)), gw.GGML_TYPE_F32)
        for hf, gg in PROJ.items():
            shape = out_features[hf]
            wn = pre_ + hf + ".weight"
            raw = take(wn)
            if raw.dtype == np.uint8:                               # 2B4T packed
                q = unpack_2b4t(raw, shape[0])
                ws = np.asarray(take(pre_ + hf + ".weight_scale"), np.float32).reshape(-1)
                if ws.size != 1 or not np.isfinite(ws[0]) or ws[0] == 0:
                    raise ConvertError("%s.weight_scale must be one finite non-zero value" % (pre_ + hf))
                s = np.float32(1.0) / ws[0]
                n_packed += 1
            else:
                q, s = absmean_ternary(np.asarray(raw, np.float32), hp["fp16_scale"])
                n_float += 1
            if q.shape != shape:
                raise ConvertError("%s: shape %s, expected %s" % (wn, q.shape, shape))
            if wtype in (gw.GGML_TYPE_TQ1_0, gw.GGML_TYPE_TQ2_0) and shape[1] % 256:
                raise ConvertError("%s: input dim %d is not a multiple of 256, which %s needs (use --outtype f16)"
                                   % (wn, shape[1], outtype))
            gname = "blk.%d.%s" % (i, gg)
            if scale_tensors:
                w.add_tensor(gname + ".weight", q.astype(np.float32), wtype)
                w.add_tensor(gname + ".scale", np.array([s], np.float32), gw.GGML_TYPE_F32)
            else:
                w.add_tensor(gname + ".weight", q.astype(np.float32) * s, wtype)
        for gg in ("attn_norm", "ffn_norm", "attn_sub_norm", "ffn_sub_norm"):
            if not any(pre_ + hf + ".weight" in T for hf, g2 in NORMS.items() if g2 == gg):
                raise ConvertError("layer %d has no %s weight" % (i, gg))
    left = sorted(set(T) - used - {k for k in T if k.endswith("rotary_emb.inv_freq")})
    if left:
        raise ConvertError("unused tensors in the checkpoint (not a bitnet model?): %s" % ", ".join(left[:8]))
    nbytes = w.write(out)
    log("wrote %s: arch %s, %d layers, %s projections (%d unpacked-float, %d packed), embd %s, %.2f MB"
        % (out, A, L, outtype, n_float, n_packed, embd, nbytes / 1e6))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description="HF-style BitNet b1.58 checkpoint -> GGUF")
    ap.add_argument("checkpoint", help="directory with config.json, *.safetensors, tokenizer.json")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--outtype", choices=sorted(OUTTYPES), default="tq2_0", help="projections (default tq2_0)")
    ap.add_argument("--embd", choices=sorted(EMBD_TYPES), default="f16", help="token_embd (default f16)")
    ap.add_argument("--scale-tensors", action="store_true", help="+-1/0 projections plus 1-element .scale tensors")
    ap.add_argument("--arch", choices=["bitnet", "bitnet-b1.58"], help="default: from hidden_act")
    ap.add_argument("--name", help="general.name")
    ap.add_argument("--pre", default="llama-bpe", help="tokenizer.ggml.pre (default llama-bpe)")
    a = ap.parse_args(argv)
    try:
        convert(a.checkpoint, a.out, a.outtype, a.embd, a.scale_tensors, a.arch, a.name, a.pre)
    except ConvertError as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
