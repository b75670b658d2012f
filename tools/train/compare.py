#!/usr/bin/env python3
"""compare.py: the engine's logits (build/trit logits) against the PyTorch forward pass in eval mode.

    /usr/bin/python3 tools/train/compare.py --hf build/train/target/hf --gguf build/train/target.tq2_0.gguf

Feeds the same token ids to both (BOS + the start of n validation stories) and reports, per PyTorch
variant, rms and max |logit difference|, top-1 agreement and the mean KL(torch || engine):
  qat      the training forward (per-token int8 activations, float everything else)
  emulate  the same weights with the engine's arithmetic emulated: Q8_K activations per 256-block,
           F16 token_embd / LM head, F16 K, V, Q and attention probabilities (Model.set_emulate_engine)
The residual differences against "emulate" are float summation order and occasional int8 rounding
flips (shared/oracle/README.md, "Tolerances observed").
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "convert"))
sys.path.insert(0, os.path.join(HERE, "..", "bpe"))


def engine_logits(trit, gguf, tokens, kv="f16"):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "logits.f32")
        cmd = (list(trit) if isinstance(trit, (list, tuple)) else [trit]) + ["logits", "-m", gguf, "--tokens", " ".join(map(str, tokens)), "-o", out, "--kv", kv]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("%s failed (%d): %s" % (" ".join(cmd[:5]), r.returncode, r.stderr.strip()))
        return np.fromfile(out, dtype="<f4").reshape(len(tokens), -1)


def load_hf_model(hf_dir):
    """The PyTorch model of an HF-style BitNet checkpoint, in any layout the converter reads: trit's
    export and 1bitLLM-style float weights (re-quantized by absmean in the forward pass, with the fp16
    scale when config.json says trit_weight_scale fp16), or 2B4T-style packed uint8 + weight_scale
    (unpacked to Q / weight_scale and used as they are). ReLU^2 checkpoints get ffn_act relu2."""
    from convert import load_checkpoint, unpack_2b4t
    from model import Model, config_from_hf
    cfg, sd, _ = load_checkpoint(hf_dir)
    mc = config_from_hf(cfg)
    packed = [n for n, a in sd.items() if a.dtype == np.uint8]
    if packed:
        for n in packed:
            ws = np.asarray(sd[n + "_scale"], np.float32).reshape(-1)[0]
            w = unpack_2b4t(sd[n], 4 * sd[n].shape[0]).astype(np.float32)
            sd[n] = w * (np.float32(1) / ws)            # the converter's folded weight, Q * (1 / ws)
        mc["weight_quant"] = "none"
    m = Model(mc)
    m.load_hf_state_dict(sd)
    m.eval()
    return m


def torch_logits(model, tokens, emulate=False):
    import torch
    model.set_emulate_engine(emulate)
    try:
        with torch.no_grad():
            return model(torch.tensor([tokens], dtype=torch.long))[0].numpy().astype(np.float64)
    finally:
        model.set_emulate_engine(False)


def metrics(ref, eng):
    """ref, eng: [n, V] logits. rms / max abs difference, top-1 agreement, mean KL(ref || eng)."""
    d = eng.astype(np.float64) - ref
    def logsm(x):
        x = x - x.max(-1, keepdims=True)
        return x - np.log(np.exp(x).sum(-1, keepdims=True))
    lr, le = logsm(ref), logsm(eng.astype(np.float64))
    kl = (np.exp(lr) * (lr - le)).sum(-1)
    return {"rms": float(np.sqrt((d ** 2).mean())), "max_abs": float(np.abs(d).max()),
            "top1_agree": float((ref.argmax(-1) == eng.argmax(-1)).mean()), "kl_mean": float(kl.mean()),
            "n_positions": int(ref.shape[0]), "logit_std": float(ref.std())}


def compare(model, gguf, seqs, trit, kv="f16"):
    res = {}
    eng = [engine_logits(trit, gguf, s, kv) for s in seqs]
    for variant, emu in (("qat", False), ("emulate", True)):
        ref = np.concatenate([torch_logits(model, s, emu) for s in seqs])
        res[variant] = metrics(ref, np.concatenate(eng))
    return res


def engine_greedy(trit, gguf, tokens, n, kv="f16"):
    cmd = (list(trit) if isinstance(trit, (list, tuple)) else [trit]) + [
        "generate", "-m", gguf, "--tokens", " ".join(map(str, tokens)), "-n", str(n), "--ids", "--kv", kv]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("trit generate failed (%d): %s" % (r.returncode, r.stderr.strip()))
    return [int(x) for x in r.stdout.split()]


def torch_greedy(model, tokens, n, eos=None, emulate=True):
    """Greedy continuation (recomputing the whole prefix each step) and the top1-top2 margin per step."""
    toks, out, margins = list(tokens), [], []
    for _ in range(n):
        if len(toks) > model.c["n_ctx"]:
            break
        lg = torch_logits(model, toks, emulate)[-1]
        top2 = np.sort(lg)[-2:]
        t = int(lg.argmax())
        if t == eos:
            break
        out.append(t)
        margins.append(float(top2[1] - top2[0]))
        toks.append(t)
    return out, margins


def greedy_agreement(model, gguf, seqs, trit, n, eos=None, kv="f16"):
    """Per prompt: how many greedy tokens the engine and PyTorch (engine-emulating) share before they
    first differ, and the PyTorch top1-top2 margin where they differ."""
    res = []
    for s in seqs:
        e = engine_greedy(trit, gguf, s, n, kv)
        t, margins = torch_greedy(model, s, n, eos)
        k = 0
        while k < min(len(e), len(t)) and e[k] == t[k]:
            k += 1
        res.append({"n": max(len(e), len(t)), "same_prefix": k,
                     "margin_at_divergence": margins[k] if k < min(len(e), len(t)) else None})
    return res


def val_sequences(tok, n, length):
    import data
    stories = data.load_stories(data.DEFAULT_CORPUS, data.VAL_FILES)
    seqs = []
    for s in stories:
        ids = tok.encode(s)                      # BOS + story
        if len(ids) >= length:
            seqs.append(ids[:length])
        if len(seqs) == n:
            break
    return seqs


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hf", required=True, help="HF-style checkpoint directory (train.py's OUT/<model>/hf)")
    ap.add_argument("--gguf", required=True)
    ap.add_argument("--trit", default=os.path.join(ROOT, "build", "trit"))
    ap.add_argument("--n-seq", type=int, default=4)
    ap.add_argument("--len", type=int, default=128, help="tokens per sequence, BOS included")
    ap.add_argument("--kv", default="f16", choices=["f16", "f32"])
    ap.add_argument("--greedy", type=int, default=0, help="also compare N greedy tokens after each prompt's first 16")
    a = ap.parse_args(argv)
    import torch
    torch.set_num_threads(1)
    import bpe
    with open(os.path.join(a.hf, "tokenizer_config.json")) as f:
        tc = json.load(f)
    tok = bpe.Tokenizer.load(os.path.join(a.hf, "tokenizer.json"), tc)
    model = load_hf_model(a.hf)
    seqs = val_sequences(tok, a.n_seq, a.len)
    res = compare(model, a.gguf, seqs, a.trit, a.kv)
    if a.greedy:
        res["greedy"] = greedy_agreement(model, a.gguf, [q[:16] for q in seqs], a.trit, a.greedy, tok.eos_id, a.kv)
    res["gguf"], res["kv"] = a.gguf, a.kv
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
