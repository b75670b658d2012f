#!/usr/bin/env python3
"""model_card.py: export the trained pair into models/ and write its model card from measurements.

    /usr/bin/python3 tools/train/model_card.py --run /work/train-out            # everything below
    /usr/bin/python3 tools/train/model_card.py --run OUT --skip-export --skip-eval   # card only

Steps (each reads what the previous wrote, so a step can be re-run alone):
  1. export   OUT/<model>/<ckpt> (hf-best by default: the lowest validation loss) -> models/trit-<model>.tq2_0.gguf
              (tools/convert, TQ2_0 projections, Q8_0 token_embd)
  2. eval     tools/train/evaluate.py: held-out perplexity of both GGUFs by build/trit perplexity and by
              PyTorch (same procedure), the draft's greedy acceptance against the target, and the
              perplexity of the first TEST_STORIES held-out stories that tools/train/test_shipped_models.py
              re-measures -> models/metrics.json
              and (last in the same step) `build/trit eval mc` on tools/eval/tinystories-next-sentence.jsonl
              (docs/eval.md: the held-out story's true next sentence among 4) -> metrics.json "story_task"
              (each model's entry kept while its GGUF is unchanged)
  3. plot     OUT/<model>/log.jsonl -> models/loss.png (tools/train/plot.py)
  4. card     models/README.md from metrics.json, the logs, the configs and greedy/sampled outputs of
              build/trit generate
Every number in the card comes from a file written by these steps; nothing is typed in by hand.
"""
import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "convert"))
sys.path.insert(0, os.path.join(HERE, "..", "bpe"))

import cpu_env  # noqa: E402,F401
import numpy as np  # noqa: E402

import data as data_mod  # noqa: E402

MODELS = os.path.join(ROOT, "models")
TRIT = os.path.join(ROOT, "build", "trit")
TEST_STORIES = 6           # held-out stories whose perplexity tools/train/test_shipped_models.py re-measures
NAMES = ("target", "draft")
# training phases per shipped model, in order (OUT/<phase>/): the draft may be continued by distillation
# from the trained target (configs/draft-distill.json); the last phase that exists is the one exported
PHASES = {"target": ("target",), "draft": ("draft", "draft-distill")}


def phases(run, n):
    return [p for p in PHASES[n] if os.path.isdir(os.path.join(run, p))]


def src_dir(run, n, ckpt):
    return os.path.join(run, phases(run, n)[-1], ckpt)
SAMPLE_PROMPTS = ["once upon a time", "one day, a little dog named max", "lily and tom went to the park.",
                  "the sun was hot, so"]


def gguf_path(models_dir, name):
    return os.path.join(models_dir, "trit-%s.tq2_0.gguf" % name)


def export(run, models_dir, ckpt="hf-best"):
    import convert
    os.makedirs(models_dir, exist_ok=True)
    for n in NAMES:
        convert.convert(src_dir(run, n, ckpt), gguf_path(models_dir, n), outtype="tq2_0", embd="q8_0",
                        name="trit-" + n)


def evaluate_all(run, models_dir, ckpt="hf-best", trit=TRIT, corpus=data_mod.DEFAULT_CORPUS, prompts=40,
                 n_stories=None, ppl_only=None):
    import evaluate as ev
    res = {"ckpt": ckpt}
    mp = os.path.join(models_dir, "metrics.json")
    old = {}
    if os.path.exists(mp):
        with open(mp) as f:
            old = json.load(f)
    for n in NAMES:
        if ppl_only and n != ppl_only:
            continue
        hf = src_dir(run, n, ckpt)
        sha = data_mod.file_sha(gguf_path(models_dir, n))
        if old.get(n, {}).get("gguf_sha") == sha and old[n].get("n_stories_arg") == n_stories:
            res[n] = old[n]                         # same file, same split: the perplexities stand
            print("[card] %s: unchanged (%s), perplexity kept" % (n, sha), flush=True)
            continue
        r = ev.ppl_report(trit, gguf_path(models_dir, n), hf, 256, n_stories, corpus)
        r["test_subset"] = ev.ppl_report(trit, gguf_path(models_dir, n), None, 256, TEST_STORIES, corpus)
        r["gguf_sha"], r["n_stories_arg"] = sha, n_stories
        res[n] = r
        print("[card] %s: %s" % (n, json.dumps(r)), flush=True)
        with open(mp, "w") as f:                    # keep what is measured so far
            json.dump(dict(old, **res), f, indent=1)
    if ppl_only:
        return res
    tok = ev.load_tok(src_dir(run, "draft", ckpt))
    acc = ev.acceptance(trit, gguf_path(models_dir, "target"), gguf_path(models_dir, "draft"),
                        ev.heldout_prompts(tok, prompts, 24, corpus), 64)
    acc.update({"prompt_len": 24, "n_gen": 64})
    res["acceptance"] = acc
    print("[card] acceptance: %s" % json.dumps(acc), flush=True)
    res["story_task"] = story_task(models_dir, trit, old.get("story_task"))
    with open(mp, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    return res


STORY_TASK = os.path.join(ROOT, "tools", "eval", "tinystories-next-sentence.jsonl")


def story_task(models_dir, trit=TRIT, old=None):
    """Multiple-choice accuracy of both models on the corpus story task; a model's entry in `old`
    (metrics.json's previous "story_task") is kept while its GGUF is unchanged."""
    old = old or {}
    out = {}
    for n in NAMES:
        sha = data_mod.file_sha(gguf_path(models_dir, n))
        if old.get(n, {}).get("gguf_sha") == sha:
            out[n] = old[n]
            continue
        r = subprocess.run([trit, "eval", "mc", "-m", gguf_path(models_dir, n), "-f", STORY_TASK, "--json"],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError("trit eval mc failed: %s" % r.stderr.strip())
        out[n] = dict(json.loads(r.stdout.strip().splitlines()[-1]), gguf_sha=sha)
        out[n]["task"] = os.path.relpath(STORY_TASK, ROOT)
        print("[card] story task %s: %s" % (n, json.dumps(out[n])), flush=True)
    return out


def plot(run, models_dir):
    import plot as plot_mod
    logs, names, offsets = [], [], []
    for n in NAMES:
        off = 0
        for ph in phases(run, n):                  # a later phase's curve continues the earlier one's
            path = os.path.join(run, ph, "log.jsonl")
            logs.append(path)
            names.append(ph.replace("-", " "))
            offsets.append(off)
            off += log_summary(path)["tokens"] or 0
    cv = plot_mod.loss_chart(logs, names, offsets)
    with open(os.path.join(models_dir, "loss.png"), "wb") as f:
        f.write(cv.png())


def generate(trit, gguf, prompt, n=100, extra=()):
    r = subprocess.run([trit, "generate", "-m", gguf, "-p", prompt, "-n", str(n)] + list(extra),
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("trit generate failed: %s" % r.stderr.strip())
    return r.stdout.rstrip("\n")


def log_summary(path):
    import plot as plot_mod
    tr, ev = plot_mod.read_log(path)
    best = min(ev, key=lambda r: r["val_loss"]) if ev else None
    last = tr[-1] if tr else {}
    cpu = [r for r in tr if "cpu_s" in r]
    return {"steps": last.get("step"), "tokens": last.get("tokens"), "elapsed_s": last.get("elapsed_s"),
            "cpu_s": (cpu[-1]["cpu_s"] - (cpu[0]["cpu_s"] if cpu[0] is not tr[0] else 0)) if cpu else None,
            "cpu_from_step": (cpu[0]["step"] if cpu and cpu[0] is not tr[0] else 0),
            "epochs": last.get("epoch"), "best_val": best,
            "last_val": ev[-1] if ev else None, "final_train_loss": last.get("loss")}


def fmt_int(n):
    return "{:,}".format(int(n))


def write_card(run, models_dir, trit=TRIT):
    import gguf_writer as gw
    from safetensors_np import read_safetensors_header
    with open(os.path.join(models_dir, "metrics.json")) as f:
        M = json.load(f)
    info = {}
    for n in NAMES:
        g = gw.read_gguf(gguf_path(models_dir, n))
        A = g.value("general.architecture")
        with open(os.path.join(src_dir(run, n, M["ckpt"]), "config.json")) as f:
            hcfg = json.load(f)
        n_params = sum(int(np.prod(t.ne)) for t in g.tensors)
        n_embd_params = int(np.prod(g.tensor("token_embd.weight").ne))
        info[n] = {"arch": A, "hf": hcfg, "n_params": n_params, "n_embd_params": n_embd_params,
                   "bytes": os.path.getsize(gguf_path(models_dir, n)),
                   "types": sorted({gw.type_name(t.type) for t in g.tensors})}
    rows = []
    for n in NAMES:
        for ph in phases(run, n):
            with open(os.path.join(HERE, "configs", ph + ".json")) as f:
                tcfg = json.load(f)
            rows.append((ph, tcfg, log_summary(os.path.join(run, ph, "log.jsonl")),
                         read_safetensors_header(os.path.join(run, ph, M["ckpt"], "model.safetensors"))[0]
                         ["__metadata__"].get("trit_step")))
    tc = json.load(open(os.path.join(HERE, "configs", "target.json")))["train"]
    tgt = gguf_path(models_dir, "target")
    samples = [(p, "greedy", generate(trit, tgt, p, 100)) for p in SAMPLE_PROMPTS[:3]]
    samples.append((SAMPLE_PROMPTS[3], "temperature 0.8, top-p 0.95, seed 7",
                    generate(trit, tgt, SAMPLE_PROMPTS[3], 100, ["--temp", "0.8", "--top-p", "0.95", "--seed", "7"])))
    draft_sample = generate(trit, gguf_path(models_dir, "draft"), SAMPLE_PROMPTS[0], 100)
    T, D, A = info["target"], info["draft"], M["acceptance"]

    def arch_row(n):
        h = info[n]["hf"]
        return "| %s | %d | %d | %d (%d KV) | %d | %d | %d | %.2fM (%.2fM embedding) | %s |" % (
            n, h["num_hidden_layers"], h["hidden_size"], h["num_attention_heads"], h["num_key_value_heads"],
            h["intermediate_size"], h["max_position_embeddings"], h["vocab_size"], info[n]["n_params"] / 1e6,
            info[n]["n_embd_params"] / 1e6, fmt_int(info[n]["bytes"]))

    def train_row(row):
        ph, tcfg, L, step = row
        t = tcfg["train"]
        cpu = ("%.1f" % (L["cpu_s"] / 3600)) if L.get("cpu_s") else "n/a"
        if L.get("cpu_s") and L["cpu_from_step"]:
            cpu += " (steps %d-%d)" % (L["cpu_from_step"], L["steps"])
        how = "distilled from trit-target (weight %.2f, T %.1f), from `%s`" % (
            tcfg["distill"]["weight"], tcfg["distill"]["temperature"], tcfg["init"].replace("{out}/", "")) \
            if tcfg.get("distill") else "from scratch"
        return "| %s | %s | %s of %d | %s | %.1f | %.1f | %s | %s (step %d) | %s | %g |" % (
            ph, how, fmt_int(L["steps"]), t["max_steps"], fmt_int(L["tokens"]), L["epochs"], L["elapsed_s"] / 3600,
            cpu, "%.3f" % L["best_val"]["val_loss"], L["best_val"]["step"], step, t["lr"])

    def ppl_row(n):
        r = M[n]
        return "| %s | %.3f | %.3f | %+.2f%% | %.3f |" % (n, r["engine_ppl"], r["torch_ppl"], 100 * r["rel_diff"],
                                                      r["test_subset"]["engine_ppl"])

    sample_md = "\n\n".join("%s:\n\n> **%s**%s" % (how, p, out.replace("\n", "\n> ")) for p, how, out in samples)
    card = CARD.format(
        target_row=arch_row("target"), draft_row=arch_row("draft"),
        total_mb=(T["bytes"] + D["bytes"]) / 1e6, types=", ".join(T["types"]),
        train_rows="\n".join(train_row(r) for r in rows),
        ppl_target=ppl_row("target"), ppl_draft=ppl_row("draft"),
        n_chunks=M["target"]["n_chunks"], n_stories=M["target"]["n_stories"], test_stories=TEST_STORIES,
        acc=A["agreement"], acc_min=A["agreement_min_prompt"], n_prompts=A["n_prompts"], n_pos=A["n_positions"],
        k4=A["accept_rate_k4"], tpr4=A["tokens_per_round_k4"], k2=A["accept_rate_k2"], tpr2=A["tokens_per_round_k2"],
        k8=A["accept_rate_k8"], tpr8=A["tokens_per_round_k8"], selfc=A["target_batched_vs_sequential"],
        story_rows="\n".join("| %s | %.3f ± %.3f | %.3f ± %.3f | %.2f |" % (
            n, M["story_task"][n]["acc"], M["story_task"][n]["acc_stderr"], M["story_task"][n]["acc_norm"],
            M["story_task"][n]["acc_norm_stderr"], M["story_task"][n]["chance"]) for n in NAMES),
        story_n=M["story_task"]["target"]["n"],
        samples=sample_md, draft_sample=draft_sample.replace("\n", "\n> "), ckpt=M["ckpt"],
        batch=tc["batch_size"], warmup=tc["warmup_steps"], min_lr=tc["min_lr_frac"], wd=tc["weight_decay"])
    with open(os.path.join(models_dir, "README.md"), "w") as f:
        f.write(card)
    return card


CARD = """# trit's embedded models: trit-target and trit-draft

Two tiny BitNet b1.58 language models (ternary weights, 8-bit activations) trained from scratch by
trit's own pipeline (docs/training.md), shipped in the repo so that the CLI, the npm package, the
server and the demo produce text with no download. `trit-target` is the model; `trit-draft` is its
speculative-decoding draft (same tokenizer and vocabulary). They write short, simple children's
stories in **lower case** and know nothing else: toy models for a runtime, not assistants, with no
facts, no safety tuning and no instruction following.

| model | layers | n_embd | heads | n_ff | context | vocab | params | file bytes |
|---|---|---|---|---|---|---|---|---|
{target_row}
{draft_row}

Files: `trit-target.tq2_0.gguf`, `trit-draft.tq2_0.gguf` ({total_mb:.2f} MB together). GGUF arch `bitnet`
(llama.cpp's 1bitLLM BitNet b1.58 graph: RMSNorm, attention and FFN sub-norms, NEOX rope, SiLU-gated FFN,
tied embeddings, no biases); tensor types {types}: every projection TQ2_0 (the ternary codes and the
trained per-tensor scale, stored exactly), `token_embd` Q8_0 (also the LM head), norms F32. Any
llama.cpp-compatible engine that runs arch `bitnet` with TQ2_0 can read them.

```sh
build/trit generate -m models/trit-target.tq2_0.gguf -p "once upon a time" -n 100
```

## Data and license

TinyStories (Ronen Eldan and Yuanzhi Li, 2023), as copied into `shared/corpus/` (see its README for the
exact files and sources): training text = `tinystories-5k.txt` (the first ~5,500 stories of TinyStories
V1 train, lower-cased) + `tinystories-v2-gpt4-train-head.txt` (1,727 stories of V2 GPT-4 train): 7,238
stories, 5.55 MB, 1,482,225 tokens. Held out: `tinystories-v1-valid-head.txt`, 999 stories of
TinyStories V1's own validation split, in no training file. **All text is lower-cased** and curly
quotes, dashes and ellipses are folded to ASCII before tokenization, so the models only know lower
case: lower-case your prompts.

The TinyStories data is licensed CDLA-Sharing-1.0; credit: "TinyStories: How Small Can Language Models
Be and Still Speak Coherent English?, Ronen Eldan and Yuanzhi Li, 2023". Under that license's terms the
weights trained on the data (its "Results") are not bound by it.

## Tokenizer

Byte-level BPE trained by `tools/bpe/bpe.py` on the training text: 2,048 tokens = 256 byte symbols +
1,790 merges + `<|bos|>` (2046) + `<|eos|>` (2047), 3.78 bytes per token on the training text. In the
GGUF: `tokenizer.ggml.model = gpt2`, `pre = llama-bpe`, BOS added. Training saw every story as
`<|bos|> story <|eos|>`; generation stops at `<|eos|>`.

## Training

BitNet b1.58 quantization-aware training in PyTorch (`tools/train/train.py`): latent float weights,
absmean ternary weight quantization per tensor (scale rounded to fp16, so the GGUF holds the trained
weights exactly), per-token int8 absmax activations, straight-through estimators. AdamW (beta 0.9/0.95,
weight decay {wd} on matrices), peak lr as below with {warmup} warmup steps and cosine decay to {min_lr} of it,
gradient clip 1.0, batch {batch} x 256 tokens, no dropout, one CPU thread per model, both models at once
on a shared 2-core machine at nice 19 (so wall time is far above CPU time).

| run | how | steps | tokens | epochs | wall h | CPU h | best val loss (trainer) | exported step | peak lr |
|---|---|---|---|---|---|---|---|---|---|
{train_rows}

The export is `{ckpt}` (the checkpoint with the lowest validation loss). The trainer's val loss is the
mean over 64 fixed 256-token windows of the held-out stream, every position. "CPU h" is process CPU
time, over the steps shown where the first sessions predate its logging. A run that stopped before
the end of its schedule was continued by the row below it (the draft: distilled from the trained
target, starting from the weights it had reached).

![loss curves](loss.png)

## Held-out perplexity

`build/trit perplexity -c 256` on the held-out text ({n_stories} stories joined by blank lines; {n_chunks}
chunks of 256 tokens, the second half of each chunk scored, as llama-perplexity does), and the same
procedure on the same token ids run by the PyTorch model in float (`tools/train/evaluate.py ppl`).
"test subset": the first {test_stories} held-out stories, which `tools/train/test_shipped_models.py` re-measures
with the engine against a regression bound.

| model | trit perplexity | PyTorch (float QAT) | difference | test subset (trit) |
|---|---|---|---|---|
{ppl_target}
{ppl_draft}

## Draft acceptance

Greedy (temperature 0) on {n_prompts} held-out prompts (BOS + the first 24 tokens of a held-out story): the
target's greedy continuation of 64 tokens by `build/trit generate`, then the draft's logits over the
same sequence by `build/trit logits` (`tools/train/evaluate.py accept`). **Agreement: {acc:.3f}** of
{n_pos} positions have the draft's argmax equal to the target's token (the per-token acceptance
probability of greedy speculative decoding; lowest single prompt {acc_min:.3f}). Simulated along those
paths, drafting K tokens per round: K=2 accepts {k2:.3f} of drafted tokens ({tpr2:.2f} tokens per
target pass), K=4 {k4:.3f} ({tpr4:.2f}), K=8 {k8:.3f} ({tpr8:.2f}). The target's batched logits over
each whole sequence reproduce its token-by-token greedy path at {selfc:.3f} of positions, which is what
makes greedy speculative output identical to the target's own.

## Story task (multiple choice)

`build/trit eval mc -f tools/eval/tinystories-next-sentence.jsonl` ({story_n} items built from held-out
stories by `tools/eval/make_story_task.py`: the true next sentence among 4 candidates; docs/eval.md):
accuracy by summed log-likelihood (`acc`) and per byte (`acc_norm`), ± one standard error.

| model | acc | acc_norm | chance |
|---|---|---|---|
{story_rows}

## Samples (trit-target, build/trit generate -n 100)

{samples}

trit-draft, greedy:

> **once upon a time**{draft_sample}

## Reproduce

```sh
OPENBLAS_NUM_THREADS=1 nice -n 19 /usr/bin/python3 tools/train/train.py --models target,draft --out OUT
/usr/bin/python3 tools/train/model_card.py --run OUT      # export, evaluate, plot, this card
```
"""


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="train.py's --out directory")
    ap.add_argument("--models-dir", default=MODELS)
    ap.add_argument("--ckpt", default="hf-best", choices=["hf-best", "hf"])
    ap.add_argument("--trit", default=TRIT)
    ap.add_argument("--skip-export", action="store_true")
    ap.add_argument("--skip-eval", action="store_true")
    ap.add_argument("--prompts", type=int, default=40, help="held-out prompts for the acceptance rate")
    ap.add_argument("--n-stories", type=int, help="perplexity on the first N held-out stories only (default all)")
    ap.add_argument("--ppl-only", choices=NAMES, help="only measure this model's perplexity (kept in metrics.json)")
    a = ap.parse_args(argv)
    if not a.skip_export:
        export(a.run, a.models_dir, a.ckpt)
    if a.ppl_only:
        evaluate_all(a.run, a.models_dir, a.ckpt, a.trit, n_stories=a.n_stories, ppl_only=a.ppl_only)
        return 0
    if not a.skip_eval:
        evaluate_all(a.run, a.models_dir, a.ckpt, a.trit, prompts=a.prompts, n_stories=a.n_stories)
    plot(a.run, a.models_dir)
    write_card(a.run, a.models_dir, a.trit)
    print("[card] wrote %s" % os.path.join(a.models_dir, "README.md"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
