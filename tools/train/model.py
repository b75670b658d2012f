"""model.py: BitNet b1.58 decoder in PyTorch, computing exactly llama.cpp's `bitnet` arch graph
(shared/oracle/README.md, "Forward pass as llama.cpp computes it"):

    x = tok_embd[tokens]
    per layer:  h = rms_norm(x) * attn_norm
                q, k, v = Wq h, Wk h, Wv h;  q, k = rope_neox(q), rope_neox(k)
                a = softmax(q k^T / sqrt(hd) + causal) v      (GQA: q-head h uses kv-head h // (n_head/n_head_kv))
                x = x + Wo (rms_norm(a) * attn_sub_norm)
                h = rms_norm(x) * ffn_norm
                x = x + Wdown (rms_norm(silu(Wgate h) * (Wup h)) * ffn_sub_norm)   (ffn_act "relu2": relu(.)^2,
                                                                    arch bitnet-b1.58 = BitNet 2B4T)
    logits = tok_embd . (rms_norm(x) * output_norm)           (tied LM head)

Every projection is a BitLinear (quantization-aware training with straight-through estimators):
  * weights: absmean ternary, per tensor: s = mean|W| (taken in float64, then rounded to fp16 so that
    a TQ1_0/TQ2_0 block scale holds it exactly), W_q = clamp(round(W / s), -1, 1) * s.
    (weight_quant "absmean": s not rounded, as 1bitLLM; "none": the weights are used as they are,
    for checkpoints whose weights are already ternary * scale, e.g. unpacked 2B4T ones.)
  * activations: int8 absmax. act_quant="token" (BitNet b1.58): one scale per token,
    x_q = clamp(round(x * 127/max|x|), -128, 127) * max|x|/127. act_quant="block256": one scale per
    256-block of the row, the way llama.cpp's Q8_K quantizes the activations of TQ1_0/TQ2_0 matmuls
    (identical to "token" when the input dim is 256). act_quant="none": float activations.
Embeddings and norms stay in float.

Model.emulate_engine=True changes the eval forward to what trit/llama.cpp compute on a TQ2_0 GGUF with
an F16 token_embd and an F16 KV cache: Q8_K activations (per 256-block, round half to even), fp16
embedding rows and LM head (activation rounded to fp16 too), K, V, Q and the softmax probabilities
rounded to fp16. It is only for comparing logits with the engine.
"""
import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

SCALE_MIN = 1e-5


def weight_scale(w):
    """absmean scale: float64 mean (same value as the converter's numpy mean), clamped, rounded to fp16."""
    s = w.detach().abs().double().mean().float().clamp(min=SCALE_MIN)
    return s.half().float()


def weight_quant(w, fp16_scale=True):
    s = weight_scale(w) if fp16_scale else w.detach().abs().double().mean().float().clamp(min=SCALE_MIN)
    return (w.detach() / s).round().clamp(-1, 1) * s


WEIGHT_QUANT = {            # config "weight_quant"
    "absmean_fp16": weight_quant,                            # trit's trainer (default)
    "absmean": lambda w: weight_quant(w, fp16_scale=False),  # BitNet b1.58 / 1bitLLM as published
    "none": lambda w: w.detach(),                            # weights already ternary * scale (packed checkpoints)
}


def act_quant_token(x):
    amax = x.detach().abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
    s = 127.0 / amax
    return (x.detach() * s).round().clamp(-128, 127) / s


def act_quant_block(x, block=256):
    """Q8_K as llama.cpp's quantize_row_q8_K_ref: per block, the signed max m with the largest |x|,
    iscale = -127/m, q = min(127, round_half_even(iscale*x)), value = q * (1/iscale)."""
    shp = x.shape
    n = shp[-1]
    if n % block:
        return act_quant_token(x)
    xb = x.detach().reshape(*shp[:-1], n // block, block)
    idx = xb.abs().argmax(dim=-1, keepdim=True)
    m = torch.gather(xb, -1, idx)
    iscale = torch.where(m != 0, -127.0 / m, torch.zeros_like(m))
    q = torch.clamp(torch.round(iscale * xb), max=127)
    d = torch.where(iscale != 0, 1.0 / iscale, torch.zeros_like(iscale))
    return (q * d).reshape(shp)


class _STE(torch.autograd.Function):
    """Straight-through estimator: forward q(x), backward the identity. One op instead of the
    x + (q(x) - x).detach() idiom, which costs two extra full-size passes forward and backward."""

    @staticmethod
    def forward(ctx, x, fn):
        return fn(x)

    @staticmethod
    def backward(ctx, g):
        return g, None


def act_quant(x, mode):
    """Fake-quantized activations with a straight-through gradient ("none": x itself)."""
    if mode == "token":
        return _STE.apply(x, act_quant_token)
    if mode == "block256":
        return _STE.apply(x, act_quant_block)
    return x


# How BitLinear matmuls run in training. "f32": fake-quantized float32 operands (exact reference).
# "bf16": the integer operands (int8 activation codes, ternary weight codes; both exact in bf16) go
# through a bf16 matmul, the scales are applied after (_TernaryMatmul). On CPUs with AMX-BF16 that
# matmul is 4-8x faster than float32 sgemm (measured: 240-640 vs 63-86 GFLOP/s on one core). The
# products accumulate in float32 inside oneDNN, but torch 1.13 returns a bf16 result, so the output
# (and the gradients) carry one bf16 rounding (relative error <= 2^-9): ordinary mixed-precision
# training. Evaluation and the engine comparison always use "f32" (Model.eval() selects it).
# train.py sets it from the config's train.matmul ("auto": bf16 when the CPU has amx_bf16).
MATMUL = "f32"


class _TernaryMatmul(torch.autograd.Function):
    """y = act_quant_token(x) @ (Q * s)^T as bf16 integer matmuls; s_col: the weight scale of each
    output row (one value per concatenated sub-matrix). Straight-through gradients for both
    quantizers: dx = (g * s) @ Q, dW = (g * sx)^T @ x_codes."""

    @staticmethod
    def forward(ctx, x, w, s_col):
        amax = x.abs().amax(dim=-1, keepdim=True).clamp(min=1e-5)
        xi = (x * (127.0 / amax)).round_().clamp_(-128, 127).to(torch.bfloat16)
        sx = amax / 127.0
        q = (w / s_col[:, None]).round_().clamp_(-1, 1).to(torch.bfloat16)
        y = torch.matmul(xi, q.t()).float().mul_(sx).mul_(s_col)
        ctx.save_for_backward(xi, sx, q, s_col)
        return y

    @staticmethod
    def backward(ctx, g):
        xi, sx, q, s_col = ctx.saved_tensors
        gx = torch.matmul((g * s_col).to(torch.bfloat16), q).float()
        gs = (g * sx).to(torch.bfloat16)
        gw = torch.matmul(gs.reshape(-1, gs.shape[-1]).t(), xi.reshape(-1, xi.shape[-1])).float()
        return gx, gw, None


def _int_path(layer):
    return MATMUL == "bf16" and layer.training and layer.mode() == "token" and layer.wq_name != "none"


class BitLinear(nn.Linear):
    def __init__(self, in_features, out_features, act_quant="token", weight_quant="absmean_fp16"):
        super().__init__(in_features, out_features, bias=False)
        self.act_quant = act_quant
        self.wq_name = weight_quant
        self.wq_fn = WEIGHT_QUANT[weight_quant]
        self.emulate = False

    def mode(self):
        return "block256" if self.emulate else self.act_quant

    def qweight(self):
        return _STE.apply(self.weight, self.wq_fn)

    def scale(self):
        w = self.weight
        return weight_scale(w) if self.wq_name == "absmean_fp16" else \
            w.detach().abs().double().mean().float().clamp(min=SCALE_MIN)

    def forward(self, x):
        if _int_path(self):
            return _TernaryMatmul.apply(x, self.weight, self.scale().expand(self.out_features))
        return F.linear(act_quant(x, self.mode()), self.qweight())


def bitlinear_shared(layers, x):
    """Several BitLinears on the same input (q/k/v, gate/up): the activations are quantized once and
    the projections run as one matmul over the concatenated ternary weights (each keeps its own
    scale). Same values as calling each layer, less work."""
    sizes = [l.out_features for l in layers]
    if _int_path(layers[0]):
        s_col = torch.cat([l.scale().expand(l.out_features) for l in layers])
        y = _TernaryMatmul.apply(x, torch.cat([l.weight for l in layers], 0), s_col)
    else:
        y = F.linear(act_quant(x, layers[0].mode()), torch.cat([l.qweight() for l in layers], 0))
    return y.split(sizes, dim=-1)


class _RMSNormFn(torch.autograd.Function):
    """rms_norm(x) * w with a hand-written backward (autograd's keeps more intermediates; this is
    ~25% faster for the pair). Forward values are the same expression, bit for bit."""

    @staticmethod
    def forward(ctx, x, w, eps):
        r = torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)
        xh = x * r
        ctx.save_for_backward(xh, w, r)
        return xh * w

    @staticmethod
    def backward(ctx, g):
        xh, w, r = ctx.saved_tensors
        gw = (g * xh).reshape(-1, xh.shape[-1]).sum(0)
        gx = g * w
        gx = r * (gx - xh * (gx * xh).mean(-1, keepdim=True))
        return gx, gw, None


class RMSNorm(nn.Module):
    def __init__(self, n, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.eps = eps

    def forward(self, x):
        return _RMSNormFn.apply(x, self.weight, self.eps)


def rope_cache(head_dim, n_ctx, base):
    inv = base ** (-torch.arange(0, head_dim, 2, dtype=torch.float64) / head_dim)
    ang = torch.arange(n_ctx, dtype=torch.float64)[:, None] * inv[None, :]       # (T, hd/2)
    return torch.cos(ang).float(), torch.sin(ang).float()


def rope_neox(x, cos, sin):
    """x: (B, H, T, hd). Rotates the pairs (i, i + hd/2) (NEOX / HF rotate_half)."""
    h = x.shape[-1] // 2
    x1, x2 = x[..., :h], x[..., h:]
    return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)


def f16(x):
    return x.half().float()


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        E, F_ = c["n_embd"], c["n_ff"]
        self.n_head, self.n_head_kv = c["n_head"], c["n_head_kv"]
        self.hd = E // self.n_head
        q = (c.get("act_quant", "token"), c.get("weight_quant", "absmean_fp16"))
        self.ffn_act = c.get("ffn_act", "silu")
        if self.ffn_act not in ("silu", "relu2"):
            raise ValueError("ffn_act must be silu (arch bitnet) or relu2 (bitnet-b1.58)")
        eps = c["rms_eps"]
        self.attn_norm = RMSNorm(E, eps)
        self.wq = BitLinear(E, self.n_head * self.hd, *q)
        self.wk = BitLinear(E, self.n_head_kv * self.hd, *q)
        self.wv = BitLinear(E, self.n_head_kv * self.hd, *q)
        self.attn_sub_norm = RMSNorm(E, eps)
        self.wo = BitLinear(self.n_head * self.hd, E, *q)
        self.ffn_norm = RMSNorm(E, eps)
        self.w_gate = BitLinear(E, F_, *q)
        self.w_up = BitLinear(E, F_, *q)
        self.ffn_sub_norm = RMSNorm(F_, eps)
        self.w_down = BitLinear(F_, E, *q)
        self.emulate = False

    def forward(self, x, cos, sin, mask):
        B, T, E = x.shape
        h = self.attn_norm(x)
        q, k, v = bitlinear_shared((self.wq, self.wk, self.wv), h)
        q = q.reshape(B, T, self.n_head, self.hd).transpose(1, 2)
        k = k.reshape(B, T, self.n_head_kv, self.hd).transpose(1, 2)
        v = v.reshape(B, T, self.n_head_kv, self.hd).transpose(1, 2)
        q, k = rope_neox(q, cos, sin), rope_neox(k, cos, sin)
        rep = self.n_head // self.n_head_kv
        if rep > 1:
            k = k.repeat_interleave(rep, dim=1)
            v = v.repeat_interleave(rep, dim=1)
        if self.emulate:                                      # F16 KV cache, f16 Q and probabilities
            q, k, v = f16(q), f16(k), f16(v)
        nh = q.shape[1]
        if MATMUL == "bf16" and self.training:
            # training on AMX: both attention matmuls in bf16 (float32 accumulation inside oneDNN; the
            # scores and outputs are rounded to bf16 once), softmax in float32. torch's float32 bmm for
            # these shapes runs at a fraction of sgemm speed (one small gemm per head).
            bf = torch.bfloat16
            att = torch.bmm((q * (1.0 / math.sqrt(self.hd))).to(bf).reshape(B * nh, T, self.hd),
                            k.to(bf).reshape(B * nh, T, self.hd).transpose(1, 2)).float() + mask[:T, :T]
            att = torch.softmax(att, dim=-1)
            a = torch.bmm(att.to(bf), v.to(bf).reshape(B * nh, T, self.hd)).float().view(B, nh, T, self.hd)
        else:
            # scores = mask + q k^T / sqrt(hd) in one batched matmul (mask: 0 or -inf, additive)
            att = torch.baddbmm(mask[:T, :T].expand(B * nh, T, T), q.reshape(B * nh, T, self.hd),
                                k.reshape(B * nh, T, self.hd).transpose(1, 2), alpha=1.0 / math.sqrt(self.hd))
            att = torch.softmax(att, dim=-1)
            if self.emulate:
                att = f16(att)
            a = torch.bmm(att, v.reshape(B * nh, T, self.hd)).view(B, nh, T, self.hd)
        a = a.transpose(1, 2).reshape(B, T, self.n_head * self.hd)
        x = x + self.wo(self.attn_sub_norm(a))
        g, u = bitlinear_shared((self.w_gate, self.w_up), self.ffn_norm(x))
        g = F.silu(g) if self.ffn_act == "silu" else torch.relu(g).square()
        x = x + self.w_down(self.ffn_sub_norm(g * u))
        return x


class Model(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.c = dict(c)
        if c["n_embd"] % c["n_head"] or c["n_head"] % c["n_head_kv"]:
            raise ValueError("n_embd must be a multiple of n_head, n_head of n_head_kv")
        self.tok_embd = nn.Embedding(c["n_vocab"], c["n_embd"])
        self.layers = nn.ModuleList([Block(c) for _ in range(c["n_layer"])])
        self.output_norm = RMSNorm(c["n_embd"], c["rms_eps"])
        hd = c["n_embd"] // c["n_head"]
        cos, sin = rope_cache(hd, c["n_ctx"], c["rope_base"])
        self.register_buffer("cos", cos, persistent=False)
        self.register_buffer("sin", sin, persistent=False)
        causal = torch.triu(torch.ones(c["n_ctx"], c["n_ctx"], dtype=torch.bool), 1)
        self.register_buffer("mask", torch.zeros(c["n_ctx"], c["n_ctx"]).masked_fill(causal, float("-inf")),
                             persistent=False)
        self.emulate_engine = False
        self.reset_parameters(c.get("init_std", 0.02))

    def reset_parameters(self, std):
        for name, p in self.named_parameters():
            if p.dim() == 2:
                nn.init.normal_(p, 0.0, std)
            else:
                nn.init.ones_(p)

    def set_emulate_engine(self, on):
        self.emulate_engine = on
        for m in self.modules():
            if isinstance(m, (BitLinear, Block)):
                m.emulate = on

    def forward(self, idx, targets=None):
        B, T = idx.shape
        if self.emulate_engine:
            x = f16(self.tok_embd.weight)[idx]
        else:
            x = self.tok_embd(idx)
        cos, sin = self.cos[:T], self.sin[:T]
        for layer in self.layers:
            x = layer(x, cos, sin, self.mask)
        x = self.output_norm(x)
        if self.emulate_engine:
            logits = F.linear(f16(x), f16(self.tok_embd.weight))
        else:
            logits = F.linear(x, self.tok_embd.weight)
        if targets is None:
            return logits
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))
        return logits, loss

    def n_params(self):
        return sum(p.numel() for p in self.parameters())

    # ---- HF-style export (1bitLLM BitnetForCausalLM names, unpacked float weights) ----
    HF_PROJ = {"wq": "self_attn.q_proj", "wk": "self_attn.k_proj", "wv": "self_attn.v_proj",
               "wo": "self_attn.o_proj", "w_gate": "mlp.gate_proj", "w_up": "mlp.up_proj",
               "w_down": "mlp.down_proj"}
    HF_NORM = {"attn_norm": "input_layernorm", "attn_sub_norm": "self_attn.inner_attn_ln",
               "ffn_norm": "post_attention_layernorm", "ffn_sub_norm": "mlp.ffn_layernorm"}

    def hf_state_dict(self):
        """{HF name: float32 numpy array} in 1bitLLM/llama.cpp BitnetForCausalLM naming (tied head)."""
        sd = {"model.embed_tokens.weight": self.tok_embd.weight, "model.norm.weight": self.output_norm.weight}
        for i, L in enumerate(self.layers):
            for a, hf in self.HF_PROJ.items():
                sd["model.layers.%d.%s.weight" % (i, hf)] = getattr(L, a).weight
            for a, hf in self.HF_NORM.items():
                sd["model.layers.%d.%s.weight" % (i, hf)] = getattr(L, a).weight
        return {k: v.detach().cpu().float().numpy() for k, v in sd.items()}

    HF_NORM_ALIASES = {"self_attn.inner_attn_ln": "self_attn.attn_sub_norm",     # 2B4T / transformers names
                       "mlp.ffn_layernorm": "mlp.ffn_sub_norm"}

    def load_hf_state_dict(self, sd):
        """sd: {HF name: float32 array}; projections already unpacked (see compare.load_hf_model)."""
        def get(name):
            if name not in sd:
                for a, b in self.HF_NORM_ALIASES.items():
                    name = name.replace("." + a + ".", "." + b + ".")
            return torch.from_numpy(np.ascontiguousarray(sd[name], np.float32))
        with torch.no_grad():
            self.tok_embd.weight.copy_(get("model.embed_tokens.weight"))
            self.output_norm.weight.copy_(get("model.norm.weight"))
            for i, L in enumerate(self.layers):
                for a, hf in list(self.HF_PROJ.items()) + list(self.HF_NORM.items()):
                    getattr(L, a).weight.copy_(get("model.layers.%d.%s.weight" % (i, hf)))

    def hf_config(self, bos_id=None, eos_id=None):
        c = self.c
        return {
            "architectures": ["BitnetForCausalLM"], "model_type": "bitnet",
            "vocab_size": c["n_vocab"], "hidden_size": c["n_embd"], "intermediate_size": c["n_ff"],
            "num_hidden_layers": c["n_layer"], "num_attention_heads": c["n_head"],
            "num_key_value_heads": c["n_head_kv"], "max_position_embeddings": c["n_ctx"],
            "rms_norm_eps": c["rms_eps"], "rope_theta": c["rope_base"], "hidden_act": "silu",
            "tie_word_embeddings": True, "bos_token_id": bos_id, "eos_token_id": eos_id,
            "torch_dtype": "float32", "weight_bits": 1, "input_bits": 8,
            "trit_weight_scale": "fp16", "trit_act_quant": c.get("act_quant", "token"),
        }


def config_from_hf(cfg):
    act = cfg.get("hidden_act", "silu")
    return {"n_vocab": cfg["vocab_size"], "n_embd": cfg["hidden_size"], "n_ff": cfg["intermediate_size"],
            "n_layer": cfg["num_hidden_layers"], "n_head": cfg["num_attention_heads"],
            "n_head_kv": cfg.get("num_key_value_heads") or cfg["num_attention_heads"],
            "n_ctx": cfg["max_position_embeddings"], "rms_eps": cfg["rms_norm_eps"],
            "rope_base": cfg["rope_theta"], "act_quant": cfg.get("trit_act_quant", "token"),
            "ffn_act": "relu2" if act in ("relu2", "relu_squared", "squared_relu") else "silu",
            "weight_quant": "absmean_fp16" if cfg.get("trit_weight_scale") == "fp16" else "absmean"}
