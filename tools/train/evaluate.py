#!/usr/bin/env python3
"""evaluate.py: held-out perplexity (engine and PyTorch, the same procedure) and the draft's greedy
acceptance rate against the target (engine), as the model card reports them.

    # perplexity of a GGUF on the held-out split, by build/trit perplexity and by the PyTorch model
    /usr/bin/python3 tools/train/evaluate.py ppl --gguf models/trit-target.tq2_0.gguf --hf OUT/target/hf
    # greedy acceptance of a draft along the target's greedy path, on held-out prompts
    /usr/bin/python3 tools/train/evaluate.py accept --target models/trit-target.tq2_0.gguf \\
        --draft models/trit-draft.tq2_0.gguf
    # both, as JSON (what tools/train/model_card.py reads)
    /usr/bin/python3 tools/train/evaluate.py all --target ... --draft ... --target-hf ... --draft-hf ... -o m.json

Held-out text: the validation split of data.py (tinystories-v1-valid-head.txt, 999 stories that are in
no training file), normalized exactly as for training (lower case, ASCII punctuation), stories joined
by a blank line. (Training saw <|eos|><|bos|> between stories; a text file has no special tokens, so
each story boundary here costs the model a little.)

Perplexity procedure: llama-perplexity's (src/cli.c cmd_perplexity): BOS + the text's tokens, cut
into chunks of CTX tokens (the tail that does not fill a chunk is dropped), the first token of each
chunk replaced by BOS, and the mean NLL taken over the second half of each chunk (positions
CTX/2 .. CTX-2 predicting the next token). torch_ppl computes the same on the same token ids with the
PyTorch QAT model (float arithmetic, per-token int8 activations), so the two agree up to the engine's
numerics (Q8_K activations, F16 embedding and KV cache). The trainer's logged val_loss is a
different average (64 windows, every position) of the same split.

Acceptance: for each prompt (BOS + the first PROMPT tokens of a held-out story) the target's greedy
continuation of N tokens (build/trit generate, temperature 0); then the draft's logits on prompt +
continuation in one pass (build/trit logits). `agreement` is the fraction of continuation positions
where the draft's argmax equals the target's token: the per-token acceptance probability of greedy
speculative decoding. `accept_rate_k` simulates drafting K tokens per round along that path
(accepted / drafted; the round ends at the first mismatch, which the target then corrects), and
`tokens_per_round_k` is the tokens each target verification pass yields.
"""
import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "convert"))
sys.path.insert(0, os.path.join(HERE, "..", "bpe"))

import cpu_env  # noqa: E402,F401  (before numpy)
import numpy as np  # noqa: E402

import data as data_mod  # noqa: E402
from compare import engine_greedy, engine_logits  # noqa: E402

DEFAULT_TRIT = os.path.join(ROOT, "build", "trit")


def heldout_stories(corpus=data_mod.DEFAULT_CORPUS, n_stories=None):
    st = data_mod.load_stories(corpus, data_mod.VAL_FILES)
    return st[:n_stories] if n_stories else st


def heldout_text(corpus=data_mod.DEFAULT_CORPUS, n_stories=None):
    return "\n\n".join(heldout_stories(corpus, n_stories)) + "\n"


def _cmd(trit):
    return list(trit) if isinstance(trit, (list, tuple)) else [trit]


def engine_ppl(trit, gguf, text_path, ctx=256, kv="f16"):
    """build/trit perplexity: returns (ppl, n_chunks)."""
    r = subprocess.run(_cmd(trit) + ["perplexity", "-m", gguf, "-f", text_path, "-c", str(ctx), "--kv", kv],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError("trit perplexity failed (%d): %s" % (r.returncode, r.stderr.strip()))
    m = re.search(r"ppl = ([0-9.]+)", r.stdout)
    n = re.search(r"(\d+) chunks of", r.stderr)
    if not m:
        raise RuntimeError("no 'ppl = ' in trit's output: %r" % r.stdout[-200:])
    return float(m.group(1)), int(n.group(1)) if n else None


def chunks_for_ppl(ids, ctx, bos):
    """The chunks llama-perplexity scores: [n_chunk, ctx] with BOS first in each."""
    n_chunk = len(ids) // ctx
    ch = np.array(ids[:n_chunk * ctx], np.int64).reshape(n_chunk, ctx)
    if bos is not None:
        ch[:, 0] = bos
    return ch


def torch_ppl(model, tok, text, ctx=256, batch=16, emulate=False):
    """The same perplexity as engine_ppl, computed by the PyTorch model: returns (ppl, n_chunks)."""
    import torch
    ch = chunks_for_ppl(tok.encode(text), ctx, tok.bos_id if tok.add_bos else None)
    first = ctx // 2
    nll, count = 0.0, 0
    model.set_emulate_engine(emulate)
    try:
        with torch.no_grad():
            for i in range(0, len(ch), batch):
                x = torch.from_numpy(ch[i:i + batch])
                lp = torch.log_softmax(model(x).double(), dim=-1)            # [b, ctx, V]
                tgt = x[:, first + 1:]
                nll -= lp[:, first:ctx - 1].gather(-1, tgt[..., None]).sum().item()
                count += tgt.numel()
    finally:
        model.set_emulate_engine(False)
    return math.exp(nll / count), len(ch)


def acceptance(trit, target, draft, prompts, n_gen=64, ks=(1, 2, 4, 8), kv="f16"):
    """Greedy agreement of the draft with the target along the target's greedy continuations."""
    matches, per_prompt, self_check = [], [], []
    for p in prompts:
        cont = engine_greedy(trit, target, p, n_gen, kv)
        if not cont:
            continue
        seq = list(p) + cont
        dl = engine_logits(trit, draft, seq, kv)
        d_arg = dl[len(p) - 1:len(seq) - 1].argmax(-1)
        m = (d_arg == np.array(cont)).tolist()
        matches.append(m)
        per_prompt.append(sum(m) / len(m))
        tl = engine_logits(trit, target, seq, kv)                # batched target logits reproduce the path?
        self_check.append(float((tl[len(p) - 1:len(seq) - 1].argmax(-1) == np.array(cont)).mean()))
    flat = [x for m in matches for x in m]
    res = {"n_prompts": len(matches), "n_positions": len(flat), "agreement": sum(flat) / max(1, len(flat)),
           "agreement_min_prompt": min(per_prompt) if per_prompt else None,
           "target_batched_vs_sequential": sum(self_check) / max(1, len(self_check))}
    for k in ks:
        acc = drafted = rounds = 0
        for m in matches:
            i = 0
            while i < len(m):
                kk = min(k, len(m) - i)
                a = 0
                while a < kk and m[i + a]:
                    a += 1
                acc += a
                drafted += kk
                rounds += 1
                i += a + 1                                       # accepted tokens + the target's own token
        res["accept_rate_k%d" % k] = acc / max(1, drafted)
        res["tokens_per_round_k%d" % k] = (acc + rounds) / max(1, rounds)
    return res


def heldout_prompts(tok, n=40, prompt_len=24, corpus=data_mod.DEFAULT_CORPUS, skip=0):
    """BOS + the first prompt_len tokens of held-out stories (stories shorter than that are skipped)."""
    out = []
    for s in heldout_stories(corpus)[skip:]:
        ids = tok.encode(s)
        if len(ids) > prompt_len + 1:
            out.append(ids[:prompt_len + 1])
        if len(out) == n:
            break
    return out


def load_tok(path):
    import bpe
    d = path if os.path.isdir(path) else os.path.dirname(path)
    tc = None
    if os.path.exists(os.path.join(d, "tokenizer_config.json")):
        with open(os.path.join(d, "tokenizer_config.json")) as f:
            tc = json.load(f)
    return bpe.Tokenizer.load(os.path.join(d, "tokenizer.json") if os.path.isdir(path) else path, tc)


def ppl_report(trit, gguf, hf, ctx, n_stories=None, corpus=data_mod.DEFAULT_CORPUS):
    text = heldout_text(corpus, n_stories)
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "heldout.txt")
        with open(p, "w", encoding="utf-8") as f:
            f.write(text)
        e_ppl, n_chunk = engine_ppl(trit, gguf, p, ctx)
    res = {"engine_ppl": e_ppl, "ctx": ctx, "n_chunks": n_chunk, "n_stories": n_stories or len(heldout_stories(corpus)),
           "text_bytes": len(text.encode("utf-8"))}
    if hf:
        import torch
        torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
        from compare import load_hf_model
        model = load_hf_model(hf)
        tok = load_tok(hf)
        t_ppl, n2 = torch_ppl(model, tok, text, ctx)
        assert n2 == n_chunk, (n2, n_chunk)
        res["torch_ppl"] = t_ppl
        res["rel_diff"] = e_ppl / t_ppl - 1
    return res


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    a1 = sub.add_parser("ppl", help="held-out perplexity: engine (and PyTorch with --hf)")
    a1.add_argument("--gguf", required=True)
    a1.add_argument("--hf", help="the HF-style checkpoint the GGUF came from (PyTorch perplexity)")
    a2 = sub.add_parser("accept", help="greedy acceptance of a draft against a target (engine)")
    a2.add_argument("--target", required=True)
    a2.add_argument("--draft", required=True)
    a3 = sub.add_parser("all", help="perplexity of both + acceptance, as JSON")
    a3.add_argument("--target", required=True)
    a3.add_argument("--draft", required=True)
    a3.add_argument("--target-hf")
    a3.add_argument("--draft-hf")
    a3.add_argument("-o", "--out")
    for p in (a1, a2, a3):
        p.add_argument("--trit", default=DEFAULT_TRIT)
        p.add_argument("--corpus", default=data_mod.DEFAULT_CORPUS)
    for p in (a1, a3):
        p.add_argument("--ctx", type=int, default=256)
        p.add_argument("--n-stories", type=int, help="only the first N held-out stories (default all)")
    for p in (a2, a3):
        p.add_argument("--prompts", type=int, default=40)
        p.add_argument("--prompt-len", type=int, default=24)
        p.add_argument("--n-gen", type=int, default=64)
        p.add_argument("--tokenizer", help="tokenizer.json (default: the one beside --draft-hf, or OUT's)")
    a = ap.parse_args(argv)
    if a.cmd == "ppl":
        print(json.dumps(ppl_report(a.trit, a.gguf, a.hf, a.ctx, a.n_stories, a.corpus), indent=1))
        return 0
    tok_path = a.tokenizer or (os.path.join(a.draft_hf, "tokenizer.json") if getattr(a, "draft_hf", None)
                               else os.path.join(ROOT, "build", "train", "tokenizer.json"))
    tok = load_tok(tok_path)
    prompts = heldout_prompts(tok, a.prompts, a.prompt_len, a.corpus)
    acc = acceptance(a.trit, a.target, a.draft, prompts, a.n_gen)
    acc.update({"prompt_len": a.prompt_len, "n_gen": a.n_gen})
    if a.cmd == "accept":
        print(json.dumps(acc, indent=1))
        return 0
    res = {"acceptance": acc,
           "target": ppl_report(a.trit, a.target, a.target_hf, a.ctx, a.n_stories, a.corpus),
           "draft": ppl_report(a.trit, a.draft, a.draft_hf, a.ctx, a.n_stories, a.corpus)}
    s = json.dumps(res, indent=1)
    if a.out:
        with open(a.out, "w") as f:
            f.write(s + "\n")
    print(s)
    return 0


if __name__ == "__main__":
    sys.exit(main())
