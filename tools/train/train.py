#!/usr/bin/env python3
"""train.py: BitNet b1.58 quantization-aware training of trit's target and draft models.

    # both models at once, one process and one thread each; resumes from OUT/<model>/ckpt.pt if present
    /usr/bin/python3 tools/train/train.py --models target,draft --time-limit 3600
    # one model
    /usr/bin/python3 tools/train/train.py --models target --time-limit 600
    # re-export the HF-style checkpoint from ckpt.pt (no training)
    /usr/bin/python3 tools/train/train.py --models target --export-only

Layout under --out (default build/train):
    tokenizer.json                   byte-level BPE (tools/bpe), trained on the first run if missing
    train.<sha>.npy, val.<sha>.npy   token streams (cache, keyed by the tokenizer's hash)
    <model>/ckpt.pt                  model + AdamW state + step + sampler position + RNG states
    <model>/log.jsonl                one JSON object per line: kind "train" (loss, lr, tok_s) or "eval"
    <model>/hf/                      HF-style export of the latest weights: config.json,
                                     model.safetensors, tokenizer.json, tokenizer_config.json, README.md
    <model>/hf-best/                 the same for the lowest validation loss seen

A run stops at max_steps (the schedule's length, from the config), at --time-limit seconds, at
--stop-at-step, or on SIGINT/SIGTERM; in every case it finishes the current step, writes the
checkpoint and the export, and a later run with the same arguments continues exactly where it
stopped (same batches, same optimizer state: a resumed run reproduces an uninterrupted one).
"""
import argparse
import json
import math
import os
import random
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)

import cpu_env  # noqa: E402  (threads + OPENBLAS_CORETYPE: before numpy and torch)
import numpy as np  # noqa: E402
sys.path.insert(0, os.path.join(HERE, "..", "convert"))
sys.path.insert(0, os.path.join(HERE, "..", "bpe"))

import data as data_mod  # noqa: E402
from safetensors_np import write_safetensors  # noqa: E402

MODEL_CARD = """# {name}

A {n_params:.2f}M-parameter BitNet b1.58 (ternary weights, 8-bit activations) language model trained by
trit's tools/train/train.py (step {step}, validation loss {val} nats/token).
Architecture: llama.cpp `bitnet` (1bitLLM BitnetForCausalLM): {n_layer} layers, n_embd {n_embd},
{n_head} heads ({n_head_kv} KV heads), SiLU-gated FFN {n_ff}, attn/ffn sub-norms, NEOX rope, tied
embeddings, context {n_ctx}. Tokenizer: byte-level BPE, {n_vocab} tokens, trained on the same lower-cased text.

Training data: TinyStories (Eldan and Li, 2023), lower-cased. Credit: "TinyStories: How Small Can Language
Models Be and Still Speak Coherent English?, Ronen Eldan and Yuanzhi Li, 2023". The data is licensed
CDLA-Sharing-1.0.
"""


def log_print(name, msg):
    print("[%s] %s" % (name, msg), flush=True)


def load_config(spec):
    path = spec if spec.endswith(".json") else os.path.join(HERE, "configs", spec + ".json")
    with open(path) as f:
        cfg = json.load(f)
    cfg.setdefault("name", os.path.splitext(os.path.basename(path))[0])
    return cfg, os.path.splitext(os.path.basename(path))[0]


def lr_at(step, t):
    """Linear warmup, then cosine decay to min_lr_frac * lr at max_steps."""
    lr, w, n = t["lr"], t["warmup_steps"], t["max_steps"]
    if step < w:
        return lr * (step + 1) / w
    p = min(1.0, (step - w) / max(1, n - w))
    return lr * (t["min_lr_frac"] + (1 - t["min_lr_frac"]) * 0.5 * (1 + math.cos(math.pi * p)))


def export_hf(model, tok, out_dir, meta):
    """HF-style directory: model.safetensors (float32 latent weights, 1bitLLM names), config.json,
    tokenizer.json, tokenizer_config.json, README.md. Written to a temp dir, then renamed."""
    tmp = out_dir + ".tmp"
    os.makedirs(tmp, exist_ok=True)
    write_safetensors(os.path.join(tmp, "model.safetensors"), model.hf_state_dict(),
                      metadata={"format": "pt", "trit_step": str(meta["step"])})
    cfg = model.hf_config(tok.bos_id, tok.eos_id)
    cfg["_name_or_path"] = meta["name"]
    with open(os.path.join(tmp, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)
    tok.save(os.path.join(tmp, "tokenizer.json"))
    with open(os.path.join(tmp, "tokenizer_config.json"), "w") as f:
        json.dump(tok.tokenizer_config(), f, indent=1)
    c = model.c
    with open(os.path.join(tmp, "README.md"), "w") as f:
        f.write(MODEL_CARD.format(name=meta["name"], n_params=model.n_params() / 1e6, step=meta["step"],
                                  val=("%.4f" % meta["val_loss"]) if meta.get("val_loss") is not None else "n/a",
                                  **c))
    if os.path.isdir(out_dir):
        for fn in os.listdir(out_dir):
            os.remove(os.path.join(out_dir, fn))
        os.rmdir(out_dir)
    os.replace(tmp, out_dir)


def matmul_mode(t):
    """train.matmul: "f32", "bf16", or "auto" (default): bf16 where the CPU has AMX-BF16 (model.MATMUL)."""
    m = t.get("matmul", "auto")
    if m == "auto":
        m = "bf16" if "amx_bf16" in cpu_env.cpu_flags() else "f32"
    if m not in ("f32", "bf16"):
        raise SystemExit("train.matmul must be f32, bf16 or auto, not %r" % m)
    return m


def build_model(cfg, n_vocab):
    import torch  # noqa: F401
    import model as model_mod
    from model import Model
    model_mod.MATMUL = matmul_mode(cfg["train"])
    mc = dict(cfg["model"])
    mc["n_vocab"] = n_vocab
    return Model(mc)


def resolve(path, out_root):
    """Config paths may start with {out} (train.py's --out)."""
    return path.replace("{out}", out_root)


def load_hf_weights(hf_dir, cfg, n_vocab):
    """State dict of a model with cfg's shape, from an HF-style export (train.py's <model>/hf)."""
    import torch  # noqa: F401
    from compare import load_hf_model
    src = load_hf_model(hf_dir)
    want = dict(cfg["model"], n_vocab=n_vocab)
    got = {k: src.c[k] for k in want if k in src.c}
    if any(got.get(k) != v for k, v in want.items() if k not in ("init_std",)):
        raise SystemExit("%s: its model config %s is not %s" % (hf_dir, got, want))
    return src.state_dict()


def load_teacher(hf_dir, n_vocab):
    """The distillation teacher, frozen. It runs in train mode under no_grad so that its BitLinears use
    the same (fast) matmul path as the student; the model has no dropout, so the values are those of
    eval mode up to matmul rounding."""
    from compare import load_hf_model
    m = load_hf_model(hf_dir)
    if m.c["n_vocab"] != n_vocab:
        raise SystemExit("%s: teacher vocabulary %d != %d" % (hf_dir, m.c["n_vocab"], n_vocab))
    m.train()
    for p in m.parameters():
        p.requires_grad_(False)
    return m


def distill_loss(logits, ce, teacher, x, dist):
    """(1 - w) * cross-entropy on the data + w * T^2 * KL(teacher_T || student_T) per token
    (Hinton et al.: soft targets at temperature T)."""
    import torch
    import torch.nn.functional as F
    w, T = dist.get("weight", 1.0), dist.get("temperature", 1.0)
    with torch.no_grad():
        tl = teacher(x)
    V = logits.shape[-1]
    kl = F.kl_div(F.log_softmax(logits.reshape(-1, V) / T, -1), F.log_softmax(tl.reshape(-1, V) / T, -1),
                  reduction="batchmean", log_target=True) * (T * T)
    return (1 - w) * ce + w * kl


def make_optimizer(model, t):
    import torch
    decay = [p for n, p in model.named_parameters() if p.dim() >= 2]
    nodecay = [p for n, p in model.named_parameters() if p.dim() < 2]
    return torch.optim.AdamW([{"params": decay, "weight_decay": t["weight_decay"]},
                              {"params": nodecay, "weight_decay": 0.0}],
                             lr=t["lr"], betas=(t["beta1"], t["beta2"]), eps=1e-8)


def evaluate(model, windows, batch_size):
    import torch
    model.eval()
    tot, n = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(windows), batch_size):
            w = torch.from_numpy(windows[i:i + batch_size])
            _, loss = model(w[:, :-1], w[:, 1:])
            tot += loss.item() * w.shape[0]
            n += w.shape[0]
    model.train()
    return tot / max(1, n)


def save_checkpoint(path, state):
    import torch
    tmp = path + ".tmp"
    torch.save(state, tmp)
    os.replace(tmp, path)


def train_one(spec, out_root, time_limit=None, stop_at_step=None, max_steps=None, fresh=False, export_only=False,
              threads=1, tokenizer=None, corpus=data_mod.DEFAULT_CORPUS, vocab_size=2048, overrides=None):
    import torch
    torch.set_num_threads(threads)
    cfg, key = load_config(spec)
    for k, v in (overrides or {}).items():            # "train.batch_size" -> cfg["train"]["batch_size"]
        sect, name = k.split(".", 1)
        cfg[sect][name] = v
    t = cfg["train"]
    if max_steps is not None:
        t["max_steps"] = max_steps
    name = cfg["name"]
    out = os.path.join(out_root, key)
    os.makedirs(out, exist_ok=True)
    tok_path = tokenizer or os.path.join(out_root, "tokenizer.json")
    if not os.path.exists(tok_path):
        data_mod.train_tokenizer(corpus, vocab_size, tok_path, log=lambda s: log_print(name, s))
    tok, train_data, val_data = data_mod.prepare(tok_path, corpus, cache_dir=out_root,
                                                 log=lambda s: log_print(name, s))
    ctx = cfg["model"]["n_ctx"]
    torch.manual_seed(t["seed"])
    random.seed(t["seed"])
    model = build_model(cfg, tok.vocab_size)
    opt = make_optimizer(model, t)
    batcher = data_mod.Batcher(train_data, t["batch_size"], ctx, t["seed"])
    vwin = data_mod.val_windows(val_data, ctx, t["eval_windows"])
    ckpt_path = os.path.join(out, "ckpt.pt")
    step, best_val, elapsed_prev, tokens_seen, last_val = 0, float("inf"), 0.0, 0, None
    cpu_prev = 0.0                                          # process CPU seconds of earlier sessions
    acc_loss, acc_n, acc_tok, acc_time = 0.0, 0, 0, 0.0     # the running log interval (kept across resumes)
    if os.path.exists(ckpt_path) and not fresh:
        ck = torch.load(ckpt_path, map_location="cpu")
        if ck["config"]["model"] != cfg["model"]:
            raise SystemExit("%s: checkpoint model config differs from %s (use --fresh to start over)"
                             % (ckpt_path, spec))
        if ck["tokenizer_sha"] != data_mod.file_sha(tok_path):
            raise SystemExit("%s: checkpoint was trained with another tokenizer" % ckpt_path)
        model.load_state_dict(ck["model"])
        opt.load_state_dict(ck["optim"])
        batcher.load_state_dict(ck["batcher"])
        torch.set_rng_state(ck["torch_rng"])
        random.setstate(ck["py_rng"])
        step, best_val, elapsed_prev = ck["step"], ck["best_val"], ck["elapsed_s"]
        tokens_seen, last_val = ck["tokens_seen"], ck.get("last_val")
        cpu_prev = ck.get("cpu_s", 0.0)
        acc_loss, acc_n, acc_tok, acc_time = ck.get("acc", [0.0, 0, 0, 0.0])
        log_print(name, "resumed from %s at step %d (epoch %.2f, best val %.4f)"
                  % (ckpt_path, step, batcher.epoch_fraction(), best_val))
    else:
        if fresh and os.path.exists(os.path.join(out, "log.jsonl")):
            os.rename(os.path.join(out, "log.jsonl"), os.path.join(out, "log.%d.jsonl" % int(time.time())))
        if cfg.get("init"):                                 # start from another run's weights (not its optimizer)
            init = resolve(cfg["init"], out_root)
            model.load_state_dict(load_hf_weights(init, cfg, tok.vocab_size))
            log_print(name, "initialized from %s" % init)
    teacher, dist = None, cfg.get("distill")
    if dist:
        teacher = load_teacher(resolve(dist["teacher"], out_root), tok.vocab_size)
        log_print(name, "distilling from %s (%.2fM params), weight %.2f, temperature %.2f"
                  % (resolve(dist["teacher"], out_root), teacher.n_params() / 1e6, dist.get("weight", 1.0),
                     dist.get("temperature", 1.0)))
    import model as model_mod
    log_print(name, "%.3fM params (%s), %d train / %d val tokens, batch %dx%d, max_steps %d, %d thread(s), %s, "
              "%s BitLinear matmuls" % (model.n_params() / 1e6, json.dumps(cfg["model"]), len(train_data),
                                        len(val_data), t["batch_size"], ctx, t["max_steps"], torch.get_num_threads(),
                                        cpu_env.blas_info() or "BLAS ?", model_mod.MATMUL))

    def state():
        return {"model": model.state_dict(), "optim": opt.state_dict(), "step": step,
                "batcher": batcher.state_dict(), "torch_rng": torch.get_rng_state(), "py_rng": random.getstate(),
                "config": cfg, "tokenizer_sha": data_mod.file_sha(tok_path), "best_val": best_val,
                "last_val": last_val, "elapsed_s": elapsed_prev + (time.time() - t0), "tokens_seen": tokens_seen,
                "cpu_s": cpu_prev + time.process_time() - c0,
                "acc": [acc_loss, acc_n, acc_tok, acc_time]}

    t0, c0 = time.time(), time.process_time()
    if export_only:
        export_hf(model, tok, os.path.join(out, "hf"), {"name": name, "step": step, "val_loss": last_val})
        log_print(name, "exported %s" % os.path.join(out, "hf"))
        return

    stop = {"flag": False}

    def on_signal(signum, frame):
        stop["flag"] = True
        log_print(name, "signal %d: stopping after this step" % signum)
    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    logf = open(os.path.join(out, "log.jsonl"), "a")

    def log(rec):
        rec["time"] = round(time.time(), 3)
        logf.write(json.dumps(rec) + "\n")
        logf.flush()

    model.train()
    last_ckpt = time.time()
    reason = "max_steps"
    try:
        while step < t["max_steps"]:
            if stop["flag"]:
                reason = "signal"
                break
            if time_limit is not None and time.time() - t0 >= time_limit:
                reason = "time limit"
                break
            if stop_at_step is not None and step >= stop_at_step:
                reason = "stop_at_step"
                break
            ts = time.time()
            lr = lr_at(step, t)
            for g in opt.param_groups:
                g["lr"] = lr
            b = torch.from_numpy(batcher.next())
            logits, ce = model(b[:, :-1], b[:, 1:])
            loss = ce if teacher is None else distill_loss(logits, ce, teacher, b[:, :-1], dist)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            gn = torch.nn.utils.clip_grad_norm_(model.parameters(), t["grad_clip"])
            opt.step()
            step += 1
            ntok = b.shape[0] * (b.shape[1] - 1)
            tokens_seen += ntok
            acc_loss += ce.item()                          # logged: the data loss, also when distilling
            acc_n += 1
            acc_tok += ntok
            acc_time += time.time() - ts
            if step % t["log_every"] == 0:
                rec = {"kind": "train", "step": step, "epoch": round(batcher.epoch_fraction(), 4),
                       "loss": round(acc_loss / acc_n, 5), "lr": lr, "grad_norm": round(float(gn), 4),
                       "tok_s": round(acc_tok / acc_time, 1), "tokens": tokens_seen,
                       "elapsed_s": round(elapsed_prev + time.time() - t0, 1),
                       "cpu_s": round(cpu_prev + time.process_time() - c0, 1)}
                log(rec)
                log_print(name, "step %d  loss %.4f  lr %.2e  %.0f tok/s" % (step, rec["loss"], lr, rec["tok_s"]))
                acc_loss, acc_n, acc_tok, acc_time = 0.0, 0, 0, 0.0
            if step % t["eval_every"] == 0 or step == t["max_steps"]:
                te = time.time()
                last_val = evaluate(model, vwin, t["batch_size"])
                log({"kind": "eval", "step": step, "val_loss": round(last_val, 5),
                     "val_ppl": round(math.exp(last_val), 3), "eval_s": round(time.time() - te, 2),
                     "tokens": tokens_seen, "elapsed_s": round(elapsed_prev + time.time() - t0, 1)})
                log_print(name, "step %d  val loss %.4f (ppl %.2f)" % (step, last_val, math.exp(last_val)))
                if last_val < best_val:
                    best_val = last_val
                    export_hf(model, tok, os.path.join(out, "hf-best"), {"name": name, "step": step,
                                                                          "val_loss": last_val})
            if time.time() - last_ckpt >= t["ckpt_every_s"]:
                save_checkpoint(ckpt_path, state())
                last_ckpt = time.time()
    finally:
        save_checkpoint(ckpt_path, state())
        export_hf(model, tok, os.path.join(out, "hf"), {"name": name, "step": step, "val_loss": last_val})
        log({"kind": "session_end", "step": step, "reason": reason, "session_s": round(time.time() - t0, 1)})
        logf.close()
        for s, h in old.items():
            signal.signal(s, h)
        log_print(name, "stopped at step %d (%s); checkpoint %s, export %s"
                  % (step, reason, ckpt_path, os.path.join(out, "hf")))


def main(argv=None):
    ap = argparse.ArgumentParser(description="BitNet b1.58 QAT for trit's target and draft models")
    ap.add_argument("--models", default="target,draft",
                    help="comma-separated config names (tools/train/configs/NAME.json) or .json paths; "
                         "more than one: one process each, in parallel")
    ap.add_argument("--out", default=os.path.join(ROOT, "build", "train"))
    ap.add_argument("--corpus", default=data_mod.DEFAULT_CORPUS)
    ap.add_argument("--tokenizer", help="tokenizer.json (default OUT/tokenizer.json, trained if missing)")
    ap.add_argument("--vocab-size", type=int, default=2048, help="when training the tokenizer")
    ap.add_argument("--time-limit", type=float, help="stop (checkpoint + export) after this many seconds")
    ap.add_argument("--stop-at-step", type=int, help="stop (checkpoint + export) at this step")
    ap.add_argument("--max-steps", type=int, help="override the schedule length of the config")
    ap.add_argument("--set", action="append", default=[], metavar="SECT.KEY=JSON",
                    help="override a config value, e.g. --set train.batch_size=8")
    ap.add_argument("--threads", type=int, default=1, help="torch threads per model (default 1)")
    ap.add_argument("--fresh", action="store_true", help="ignore an existing checkpoint")
    ap.add_argument("--export-only", action="store_true", help="write OUT/<model>/hf from ckpt.pt and exit")
    a = ap.parse_args(argv)
    models = [m for m in a.models.split(",") if m]
    overrides = {}
    for s in a.set:
        k, v = s.split("=", 1)
        overrides[k] = json.loads(v)
    os.makedirs(a.out, exist_ok=True)
    tok_path = a.tokenizer or os.path.join(a.out, "tokenizer.json")
    if not os.path.exists(tok_path):
        data_mod.train_tokenizer(a.corpus, a.vocab_size, tok_path, log=lambda s: log_print("bpe", s))
        data_mod.prepare(tok_path, a.corpus, cache_dir=a.out, log=lambda s: log_print("data", s))
    if len(models) == 1:
        train_one(models[0], a.out, a.time_limit, a.stop_at_step, a.max_steps, a.fresh, a.export_only, a.threads,
                  tok_path, a.corpus, a.vocab_size, overrides)
        return 0
    # several models: one child process each (one thread each), all in parallel
    data_mod.prepare(tok_path, a.corpus, cache_dir=a.out, log=lambda s: log_print("data", s))
    base = [sys.executable, os.path.abspath(__file__), "--out", a.out, "--corpus", a.corpus,
            "--tokenizer", tok_path, "--threads", str(a.threads)]
    for opt, val in (("--time-limit", a.time_limit), ("--stop-at-step", a.stop_at_step),
                     ("--max-steps", a.max_steps)):
        if val is not None:
            base += [opt, str(val)]
    for s in a.set:
        base += ["--set", s]
    if a.fresh:
        base.append("--fresh")
    if a.export_only:
        base.append("--export-only")
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(a.threads), OMP_NUM_THREADS=str(a.threads),
               MKL_NUM_THREADS=str(a.threads))
    procs = [subprocess.Popen(base + ["--models", m], env=env) for m in models]

    def forward(signum, frame):
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)
    signal.signal(signal.SIGINT, forward)
    signal.signal(signal.SIGTERM, forward)
    rcs = [p.wait() for p in procs]
    return max(rcs)


if __name__ == "__main__":
    sys.exit(main())
