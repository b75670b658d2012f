"""An independent numpy (float64) forward pass of the bitnet / bitnet-b1.58 / llama graphs, written
from the oracle's description (shared/oracle/README.md and bitnet-b1.58-i2s.md), for tests.

Weights are float arrays in PyTorch orientation (out, in), keyed by GGUF tensor name. Options emulate
the parts of the engines' arithmetic that are not plain float math:
  act_quant="i8_s"  per-token absmax int8 activations before every ternary projection (bitnet.cpp I2_S)
  head_f16=True     the LM head's input rounded to f16 (ggml F16 matmul converts activations to f16)
"""
import numpy as np


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def quant_i8_s(x):
    """bitnet.cpp quantize_row_i8_s per row, then dequantized: q / s (float32 semantics as the C code)."""
    x32 = x.astype(np.float32)
    mx = np.maximum(np.abs(x32.astype(np.float64)).max(-1, keepdims=True), 1e-5)
    s = (127.0 / mx).astype(np.float32)
    q = np.clip(np.rint(x32 * s), -128, 127)            # rint = round half to even
    return q.astype(np.float64) / s.astype(np.float64)


def rope(x, pos, n_rot, base, neox):
    """x: [T, H, D]; rotate the first n_rot dims of each head."""
    T, H, D = x.shape
    inv = base ** (-np.arange(0, n_rot, 2, dtype=np.float64) / n_rot)     # [n_rot/2]
    ang = pos[:, None].astype(np.float64) * inv[None, :]                   # [T, n_rot/2]
    c, s = np.cos(ang)[:, None, :], np.sin(ang)[:, None, :]
    y = x.copy()
    if neox:
        a, b = x[..., : n_rot // 2], x[..., n_rot // 2 : n_rot]
        y[..., : n_rot // 2] = a * c - b * s
        y[..., n_rot // 2 : n_rot] = a * s + b * c
    else:
        a, b = x[..., 0:n_rot:2], x[..., 1:n_rot:2]
        y[..., 0:n_rot:2] = a * c - b * s
        y[..., 1:n_rot:2] = a * s + b * c
    return y


def forward(W, hp, tokens, arch="bitnet", act_quant=None, head_f16=False, scales=None):
    """Logits [T, n_vocab] for tokens at positions 0..T-1. scales: optional {tensor name: float}."""
    E, H, Hkv, L = hp["n_embd"], hp["n_head"], hp["n_head_kv"], hp["n_layer"]
    D = E // H
    eps, base = hp.get("rms_eps", 1e-5), hp.get("rope_base", 10000.0)
    neox = arch != "llama"
    sub = arch != "llama"
    scales = scales or {}
    T = len(tokens)
    pos = np.arange(T)

    def mm(name, x):
        xin = quant_i8_s(x) if act_quant == "i8_s" else x
        return (xin @ W[name].astype(np.float64).T) * scales.get(name.replace(".weight", ".scale"), 1.0)

    x = W["token_embd.weight"].astype(np.float64)[tokens]
    mask = np.triu(np.full((T, T), -np.inf), 1)
    for l in range(L):
        p = f"blk.{l}."
        h = rms_norm(x, W[p + "attn_norm.weight"], eps)
        q = mm(p + "attn_q.weight", h).reshape(T, H, D)
        k = mm(p + "attn_k.weight", h).reshape(T, Hkv, D)
        v = mm(p + "attn_v.weight", h).reshape(T, Hkv, D)
        q, k = rope(q, pos, D, base, neox), rope(k, pos, D, base, neox)
        rep = H // Hkv
        k, v = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
        att = np.einsum("thd,shd->hts", q, k) / np.sqrt(D) + mask
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        a = np.einsum("hts,shd->thd", att, v).reshape(T, H * D)
        if sub:
            a = rms_norm(a, W[p + "attn_sub_norm.weight"], eps)
        x = x + mm(p + "attn_output.weight", a)
        h = rms_norm(x, W[p + "ffn_norm.weight"], eps)
        g, u = mm(p + "ffn_gate.weight", h), mm(p + "ffn_up.weight", h)
        f = (np.maximum(g, 0) ** 2 if arch == "bitnet-b1.58" else g / (1 + np.exp(-g))) * u
        if sub:
            f = rms_norm(f, W[p + "ffn_sub_norm.weight"], eps)
        x = x + mm(p + "ffn_down.weight", f)
    h = rms_norm(x, W["output_norm.weight"], eps)
    if head_f16:
        h = h.astype(np.float16).astype(np.float64)
    head = W.get("output.weight", W["token_embd.weight"]) if arch == "llama" else W["token_embd.weight"]
    return h @ head.astype(np.float64).T
