"""`trit eval` through the CLI (TRIT_BIN: native by default, "node js/cli.js" for the wasm build):
  * eval ppl prints what `trit perplexity` prints, and matches llama-perplexity's running PPL;
  * eval kld of the oracle tq2_0 models against their f32 twins' saved logits agrees with
    llama-perplexity --kl-divergence (mean KLD within 10%, same-top rate, PPL ratio), a model against its
    own saved logits gives 0, and a file written in Python from docs/eval.md gives the KL numpy computes;
  * eval mc: a task whose answers are known by construction (a unigram model built here), log-likelihoods
    equal to whole-sequence logits, acc/acc_norm as documented, the layouts' conversions, and clear
    errors (line numbers) for malformed lines, mismatched vocabularies and bad files;
  * the committed corpus task regenerates byte for byte, and the embedded models score it (when models/
    holds them).
Run by `make test-eval` (TRIT_EVAL_SUITE=1); `make test-py` skips this module. TRIT_EVAL_CHUNKS=25 compares
the whole ppl.txt instead of its first 10 chunks.
"""
import json
import math
import os
import struct
import subprocess
import sys

import numpy as np
import pytest

from conftest import ORACLE, ROOT, TRIT, logits, model_path, trit

if not os.environ.get("TRIT_EVAL_SUITE"):
    pytest.skip("run by `make test-eval`", allow_module_level=True)

sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "eval"))
import gguf_writer as gw  # noqa: E402

SUMMARY = json.load(open(ORACLE / "ppl" / "summary.json"))
PPL_TXT = ORACLE / "ppl.txt"
N_CHUNKS = int(os.environ.get("TRIT_EVAL_CHUNKS", "10"))
KLD_FAMILIES = ("bitnet-tiny-spm", "llama-tiny-spm")
STORY_TASK = ROOT / "tools" / "eval" / "tinystories-next-sentence.jsonl"


def run(*args, check=True):
    return trit(*args, check=check)


def jrun(*args):
    return json.loads(run(*args, "--json").stdout)


def llama_running(name, chunk):
    """llama-perplexity --kl-divergence's running line after `chunk` chunks: (ppl, kld, same_top %)."""
    for line in open(ORACLE / "ppl" / f"{name}.kld.txt", encoding="utf-8"):
        t = line.split()
        if len(t) == 18 and t[0] == str(chunk) and t[2] == "±":
            return float(t[1]), float(t[7]), float(t[14])
    raise AssertionError(f"no chunk {chunk} line in {name}.kld.txt")


@pytest.fixture(scope="module")
def base_logits(tmp_path_factory):
    """f32 logits of the two families, saved by `eval ppl --save-logits` (first N_CHUNKS chunks)."""
    d = tmp_path_factory.mktemp("base")
    out = {}
    for fam in KLD_FAMILIES:
        f = d / f"{fam}.f32.logits"
        r = run("eval", "ppl", "-m", model_path(fam, "f32"), "-f", PPL_TXT, "-c", 128, "--chunks", N_CHUNKS,
                "--save-logits", f)
        out[fam] = (f, r.stdout)
    return out


# ---- perplexity ------------------------------------------------------------------------------------

def test_ppl_equals_perplexity(base_logits):
    fam = "bitnet-tiny-spm"
    path, eval_out = base_logits[fam]
    plain = run("perplexity", "-m", model_path(fam, "f32"), "-f", PPL_TXT, "-c", 128, "--chunks", N_CHUNKS).stdout
    assert eval_out == plain, "eval ppl --save-logits must print exactly what `trit perplexity` prints"
    lines = plain.strip().splitlines()
    got = float(lines[-1].split("=")[1])
    want = SUMMARY[f"{fam}.f32"]["running_ppl_after_each_chunk"][N_CHUNKS - 1]
    assert abs(got / want - 1) < 0.005, (got, want)
    assert len(lines[-2].rstrip(",").split(",")) == N_CHUNKS
    # the file is exactly as large as the format says (docs/eval.md): header, tokens, rows
    n_vocab, rows = 1000, N_CHUNKS * (128 - 1 - 64)
    assert path.stat().st_size == 64 + 4 * 128 * N_CHUNKS + rows * ((24 + 2 * n_vocab + 7) // 8 * 8)


def test_ppl_json():
    j = jrun("eval", "ppl", "-m", model_path("llama-tiny-spm", "tq2_0"), "-f", PPL_TXT, "-c", 128, "--chunks", 3)
    want = SUMMARY["llama-tiny-spm.tq2_0"]["running_ppl_after_each_chunk"][2]
    assert j["command"] == "ppl" and j["n_chunk"] == 3 and j["n_scored"] == 3 * 63 and j["n_ctx"] == 128
    assert abs(j["ppl"] / want - 1) < 0.005 and j["ppl_err"] > 0 and j["save_logits"] is None
    assert math.isclose(math.exp(j["nll_mean"]), j["ppl"], rel_tol=1e-9)


# ---- KL divergence -----------------------------------------------------------------------------------

@pytest.mark.parametrize("fam", KLD_FAMILIES)
def test_kld_tq2_vs_f32_matches_llama(base_logits, fam):
    path, _ = base_logits[fam]
    j = jrun("eval", "kld", "-m", model_path(fam, "tq2_0"), "--base", path)
    ppl_q, kld, same = llama_running(f"{fam}.tq2_0", N_CHUNKS)
    run_f32 = SUMMARY[f"{fam}.f32"]["running_ppl_after_each_chunk"][N_CHUNKS - 1]
    run_tq2 = SUMMARY[f"{fam}.tq2_0"]["running_ppl_after_each_chunk"][N_CHUNKS - 1]
    print(f"{fam}: mean KLD {j['kld']['mean']:.6f} (llama.cpp {kld}), same top {100 * j['same_top']:.2f}% ({same}%), "
          f"PPL ratio {j['ppl_ratio']:.6f} (llama.cpp's two runs: {run_tq2 / run_f32:.6f})")
    assert j["n"] == N_CHUNKS * 63 and j["n_chunk"] == N_CHUNKS
    assert abs(j["kld"]["mean"] - kld) <= 0.10 * kld + 5e-6, (j["kld"]["mean"], kld)
    assert abs(100 * j["same_top"] - same) <= 3.0, (j["same_top"], same)
    # PPL(base) is the f32 run's exact perplexity, so the ratio compares like with like (measured: 0.0016 off
    # after 10 chunks, 0.0003 over the whole file; each PPL is within the conformance bar of llama.cpp's)
    assert abs(j["ppl_ratio"] - run_tq2 / run_f32) <= 0.002, (j["ppl_ratio"], run_tq2 / run_f32)
    assert abs(j["ppl"] / ppl_q - 1) < 0.005 and abs(j["ppl_base"] / run_f32 - 1) < 0.005
    k = j["kld"]
    assert 0 <= k["min"] <= k["p1"] <= k["p5"] <= k["p10"] <= k["median"] <= k["p99"] <= k["p99.9"] <= k["max"]
    if N_CHUNKS == SUMMARY[f"{fam}.tq2_0"]["n_chunks"]:   # the whole file: summary.json's own numbers
        s = SUMMARY[f"{fam}.tq2_0"]["kld_vs_f32"]
        assert abs(k["mean"] / s["mean_kld"] - 1) <= 0.10, (k["mean"], s["mean_kld"])


def test_kld_self_is_zero(base_logits):
    fam = "llama-tiny-spm"
    path, _ = base_logits[fam]
    r = run("eval", "kld", "-m", model_path(fam, "f32"), "--base", path)
    assert "Mean    KLD:   0.000000 ±   0.000000" in r.stdout and "Same top p: 100.000 ± 0.000 %" in r.stdout
    j = jrun("eval", "kld", "-m", model_path(fam, "f32"), "--base", path)
    assert j["kld"]["max"] < 1e-7 and abs(j["kld"]["mean"]) < 1e-7     # the 16-bit code floor is ~3e-9
    assert j["same_top"] == 1 and j["ppl_ratio"] == 1 and j["ppl_diff"] == 0 and j["dp"]["rms"] == 0
    assert j["ppl"] == j["ppl_base"]


def write_logits_file(path, tokens, n_ctx, first, rows, n_vocab, vocab_hash, version=1):
    """A saved-logits file written from docs/eval.md alone: rows = [(nll, logits_f64[V])] per position."""
    n_chunk = len(tokens) // n_ctx
    row_bytes = (24 + 2 * n_vocab + 7) // 8 * 8
    with open(path, "wb") as f:
        f.write(b"TRITLOGP" + struct.pack("<6I", version, n_vocab, n_ctx, n_chunk, first, row_bytes))
        f.write(struct.pack("<QfI", vocab_hash, 32.0, 0) + bytes(16))
        f.write(np.asarray(tokens, "<i4").tobytes())
        for nll, lg in rows:
            lp = lg - lg.max() - np.log(np.exp(lg - lg.max()).sum())
            top = int(np.argmax(lg))
            step = np.float32(min(lg.max() - lg.min(), 32.0) / 65534)
            d = np.floor((lg.max() - lg) / np.float64(step) + 0.5) if step > 0 else np.zeros(n_vocab)
            codes = np.where(d > 65534, 0, 65535 - np.minimum(d, 65535)).astype("<u2")
            row = struct.pack("<dffiI", nll, lp[top], step, top, 0) + codes.tobytes()
            f.write(row + bytes(row_bytes - len(row)))


def vocab_hash_of(base_file):
    return struct.unpack_from("<Q", open(base_file, "rb").read(64), 32)[0]


def test_kld_of_a_file_written_from_the_docs(tmp_path, base_logits):
    """Base distributions made in numpy (the f32 model's logits, perturbed), encoded as docs/eval.md says:
    trit's KL, same-top rate and PPL(base) equal numpy's computation of the documented definitions."""
    fam, n_ctx, first = "llama-tiny-spm", 16, 8
    vh = vocab_hash_of(base_logits[fam][0])
    toks = [int(t) for t in run("tokenize", "-m", model_path(fam, "f32"), "-p", open(PPL_TXT).read()[:400]).stdout.split()]
    chunks = [toks[:n_ctx], toks[n_ctx:2 * n_ctx]]
    rng = np.random.default_rng(7)
    rows, want_kl, want_same, nll_b = [], [], [], []
    for ch in chunks:
        ch = [1] + ch[1:]
        q = logits(model_path(fam, "f32"), ch[:-1], tmp_path, kv="f16").reshape(n_ctx - 1, -1).astype(np.float64)
        for j in range(first, n_ctx - 1):
            base = q[j] + rng.normal(0, 0.3, q.shape[1])
            lpb = base - base.max() - np.log(np.exp(base - base.max()).sum())
            nll = -lpb[ch[j + 1]]
            rows.append((nll, base))
            # decoded base distribution as trit decodes it: codes -> renormalised log-probs
            step = np.float64(np.float32(min(base.max() - base.min(), 32.0) / 65534))
            d = np.floor((base.max() - base) / step + 0.5)
            lpt = -d * step
            lpt -= np.log(np.exp(lpt).sum())
            lq = q[j] - q[j].max() - np.log(np.exp(q[j] - q[j].max()).sum())
            want_kl.append(float((np.exp(lpt) * (lpt - lq)).sum()))
            want_same.append(int(np.argmax(q[j]) == np.argmax(base)))
            nll_b.append(nll)
    f = tmp_path / "docs.logits"
    write_logits_file(f, [t for ch in chunks for t in [1] + ch[1:]], n_ctx, first, rows, 1000, vh)
    j = jrun("eval", "kld", "-m", model_path(fam, "f32"), "--base", f)
    assert j["n"] == len(rows)
    assert abs(j["kld"]["mean"] - np.mean(want_kl)) < 1e-6 * max(1, np.mean(want_kl)), (j["kld"]["mean"], np.mean(want_kl))
    assert abs(j["kld"]["max"] - max(want_kl)) < 1e-5 and abs(j["kld"]["min"] - min(want_kl)) < 1e-5
    assert abs(j["kld"]["median"] - np.median(want_kl)) < 1e-5
    assert math.isclose(j["same_top"], np.mean(want_same), rel_tol=1e-9)
    assert math.isclose(j["ppl_base"], math.exp(np.mean(nll_b)), rel_tol=1e-9)


def test_kld_errors(tmp_path, base_logits):
    path, _ = base_logits["bitnet-tiny-spm"]
    # same vocabulary size, different tokens
    r = run("eval", "kld", "-m", model_path("bitnet-tiny-bpe", "f32"), "--base", path, check=False)
    assert r.returncode == 1 and "vocabulary mismatch: both have 1000 tokens but they differ" in r.stderr
    # another vocabulary size (a small file written from the docs)
    small = tmp_path / "v500.logits"
    write_logits_file(small, list(range(1, 9)), 8, 4, [(1.0, np.linspace(0, 1, 500))] * 3, 500, 1)
    r = run("eval", "kld", "-m", model_path("bitnet-tiny-spm", "f32"), "--base", small, check=False)
    assert r.returncode == 1 and "saved with a vocabulary of 500 tokens, this model has 1000" in r.stderr
    # truncated, too long, not ours, a future version, missing
    data = path.read_bytes()
    for name, blob, msg in [("trunc", data[:-10], "is truncated"), ("long", data + b"x", "longer than its header says"),
                            ("text", b"hello world" * 10, "not a trit saved-logits file"),
                            ("tiny", b"TRIT", "shorter than its 64-byte header"),
                            ("v2", data[:8] + b"\x02" + data[9:], "version 2 is not supported")]:
        (tmp_path / name).write_bytes(blob)
        r = run("eval", "kld", "-m", model_path("bitnet-tiny-spm", "f32"), "--base", tmp_path / name, check=False)
        assert r.returncode == 1 and msg in r.stderr, (name, r.stderr)
    r = run("eval", "kld", "-m", model_path("bitnet-tiny-spm", "f32"), "--base", tmp_path / "nope", check=False)
    assert r.returncode == 1 and "cannot open" in r.stderr
    r = run("eval", "kld", "-m", model_path("bitnet-tiny-spm", "f32"), check=False)
    assert r.returncode == 2 and "--base FILE" in r.stderr


# ---- multiple choice -----------------------------------------------------------------------------------

def tokens_of(model, text):
    return [int(t) for t in run("tokenize", "-m", model, "-p", text).stdout.split()]


def harness_pair(model, context, delim, choice):
    """lm-evaluation-harness _encode_pair: context whitespace moves to the continuation; continuation tokens
    are whole[len(context tokens):]."""
    n = len(context) - len(context.rstrip())
    cont = context[len(context) - n:] + delim + choice
    ctx = context[:len(context) - n]
    c, w = tokens_of(model, ctx), tokens_of(model, ctx + cont)
    return c, w[len(c):]


def write_task(path, items):
    path.write_text("".join(json.dumps(it) + "\n" for it in items), encoding="utf-8")


def mc_details(model, task, tmp_path, *extra):
    det = tmp_path / "details.jsonl"
    j = jrun("eval", "mc", "-m", model, "-f", task, "--details", det, *extra)
    return j, [json.loads(l) for l in det.read_text().splitlines()]


def unigram_model(path, L):
    """llama arch, F32: every token embeds to the same vector, attention and FFN outputs are zero, so every
    position's logits are output.weight . 1 = L (context-free by construction)."""
    src = gw.read_gguf(model_path("llama-tiny-spm", "f32"))
    w = gw.GGUFWriter()
    for key, kv in src.kv.items():
        w.add_kv(key, kv.value, kv.type, kv.elem_type)
    for t in src.tensors:
        a = src.tensor_array(t.name).astype(np.float32)
        if t.name == "token_embd.weight":
            a[:] = 0.5
        elif t.name.endswith(("attn_output.weight", "ffn_down.weight")):
            a[:] = 0
        elif t.name == "output_norm.weight":
            a[:] = 1
        elif t.name == "output.weight":
            a = np.repeat((np.asarray(L, np.float32) / a.shape[1])[:, None], a.shape[1], axis=1)
        w.add_tensor(t.name, a, gw.GGML_TYPE_F32)
    w.write(path)


def test_mc_known_by_construction(tmp_path):
    """A unigram model: log p(token) is the same fixed vector at every position, so each choice's
    log-likelihood is a sum we know in advance. Short choices win acc, long ones acc_norm, except where
    the tokens of "blue sky" (logit 20) or "the end of the story" (+15) are boosted."""
    rng = np.random.default_rng(3)
    L = rng.normal(0, 1.0, 1000)
    src = model_path("llama-tiny-spm", "f32")               # the same vocabulary as the model built here
    L[tokens_of(src, "the end of the story")[1:]] += 15     # (its tokens overlap: blue sky's win ties)
    L[tokens_of(src, "blue sky")[1:]] = 20                  # wins by both measures
    model = tmp_path / "unigram.gguf"
    unigram_model(model, L)
    lg = logits(model, [1, 500, 20, 7], tmp_path, kv="f32").reshape(4, -1).astype(np.float64)
    assert np.abs(lg - lg[0]).max() == 0 and np.abs(lg[0] - L).max() < 1e-3, "the model is unigram"
    lp = lg[0] - lg[0].max() - np.log(np.exp(lg[0] - lg[0].max()).sum())
    contexts = ["Once upon a time", "The cat sat on the", "She said: ", "x"]
    words = ["dog", "house", "a very long answer indeed", "it", "blue sky", "the end of the story", "z"]
    items, want_acc, want_norm = [], [], []
    for i, ctx in enumerate(contexts * 3):
        choices = [words[(i + k) % len(words)] for k in range(3 + i % 2)]
        ll = []
        for c in choices:
            _, cont = harness_pair(model, ctx, " ", c)
            ll.append(float(lp[cont].sum()))
        acc = int(np.argmax(ll))
        norm = int(np.argmax(np.array(ll) / [len(c) for c in choices]))
        items.append({"context": ctx, "choices": choices, "label": acc})   # the answer is acc's argmax by construction
        want_acc.append(ll)
        want_norm.append(norm == acc)
    task = tmp_path / "known.jsonl"
    write_task(task, items)
    j, det = mc_details(model, task, tmp_path)
    assert j["n"] == len(items) and j["acc"] == 1.0 and j["n_acc"] == len(items)
    assert j["n_acc_norm"] == sum(want_norm) and 0 < j["acc_norm"] < 1, "acc_norm must differ from acc here"
    assert abs(j["chance"] - np.mean([1 / len(it["choices"]) for it in items])) < 1e-9
    for d, ll in zip(det, want_acc):
        assert np.allclose(d["loglik"], ll, atol=1e-4), (d, ll)


SAMPLES = [
    ({"context": "Once upon a time there was a", "choices": ["little girl", "purple elephant", "xqz"], "label": 0},
     None),
    ({"context": "The answer is ", "choices": ["yes", "no"], "label": 1}, None),    # trailing space moves to the choice
    ({"context": "Line one.", "choices": ["Line two.", "Other"], "label": 0, "delimiter": "\n"}, None),
    ({"activity_label": "Removing ice from car", "ctx_a": "Then, the man writes over the snow covering the window of a car,"
      " and a woman wearing winter clothes smiles.", "ctx_b": "then", "endings": [", the man adds wax to the windshield and "
      "cuts it.", ", a person board a ski lift.", ", the man puts on a christmas coat, knitted with netting.",
      ", the man continues removing the snow on his car."], "label": "3"},
     {"context": "Removing ice from car: Then, the man writes over the snow covering the window of a car, and a woman "
      "wearing winter clothes smiles. Then", "choices": [", the man adds wax to the windshield and cuts it.",
      ", a person board a ski lift.", ", the man puts on a christmas coat, knitted with netting.",
      ", the man continues removing the snow on his car."], "label": 3}),
    ({"id": "Mercury_7175875", "question": "Which is the most likely effect of this increase in rotation?",
      "choices": {"text": ["Planetary density will decrease.", "Planetary days will become shorter."], "label": ["A", "B"]},
      "answerKey": "B"},
     {"context": "Question: Which is the most likely effect of this increase in rotation?\nAnswer:",
      "choices": ["Planetary density will decrease.", "Planetary days will become shorter."], "label": 1}),
    ({"question": "Find the degree of Q(sqrt(2)) over Q.", "subject": "abstract_algebra", "choices": ["0", "4", "2", "6"],
      "answer": 2},
     {"context": "The following are multiple choice questions (with answers) about abstract algebra.\n\nFind the degree of "
      "Q(sqrt(2)) over Q.\nA. 0\nB. 4\nC. 2\nD. 6\nAnswer:", "choices": ["A", "B", "C", "D"], "label": 2}),
]


def test_mc_convert(tmp_path):
    task = tmp_path / "samples.jsonl"
    write_task(task, [s for s, _ in SAMPLES])
    out = run("eval", "mc", "-f", task, "--convert").stdout.splitlines()      # no model needed
    assert len(out) == len(SAMPLES)
    for line, (src, want) in zip(out, SAMPLES):
        got = json.loads(line)
        want = want or {k: v for k, v in src.items()}
        assert got == want, (got, want)


def test_mc_matches_whole_sequence_logits(tmp_path):
    """Shared-context scoring == logits of each whole sequence (`trit logits`, one batch, fresh context)."""
    model = model_path("bitnet-tiny-spm", "tq2_0")
    task = tmp_path / "samples.jsonl"
    write_task(task, [s for s, _ in SAMPLES])
    j, det = mc_details(model, task, tmp_path)
    conv = [json.loads(l) for l in run("eval", "mc", "-f", task, "--convert").stdout.splitlines()]
    n_acc = n_norm = 0
    for d, it in zip(det, conv):
        ll = []
        for c in it["choices"]:
            ctx, cont = harness_pair(model, it["context"], it.get("delimiter", " "), c)
            seq = ctx + cont
            lg = logits(model, seq[:-1], tmp_path).reshape(len(seq) - 1, -1).astype(np.float64)
            rows = lg[len(ctx) - 1:]
            lse = rows.max(1) + np.log(np.exp(rows - rows.max(1, keepdims=True)).sum(1))
            ll.append(float((rows[np.arange(len(cont)), cont] - lse).sum()))
        assert np.allclose(d["loglik"], ll, rtol=1e-6, atol=1e-5), (d["loglik"], ll)
        pred = int(np.argmax(ll))
        norm = int(np.argmax(np.array(ll) / [len(c) for c in it["choices"]]))
        assert (d["label"], d["pred"], d["pred_norm"]) == (it["label"], pred, norm)
        n_acc += pred == it["label"]
        n_norm += norm == it["label"]
    assert (j["n"], j["n_acc"], j["n_acc_norm"]) == (len(SAMPLES), n_acc, n_norm)


def test_mc_errors_name_the_line(tmp_path):
    model = model_path("llama-tiny-spm", "tq2_0")
    good = json.dumps(SAMPLES[0][0])
    for bad, msg in [('{"context": "a", "choices": ["b", "c"], "label": 1', "column 51: expected ',' or '}'"),
                     ('{"context": "a", "choices": ["b", "c"], "label": 5}', '"label" is 5 but must be an integer in 0..1'),
                     ("", "empty line"), ("not json", "expected a JSON object"),
                     ('{"question": "q", "choices": ["a", "b"]}', "unknown layout"),
                     ('{"activity_label": "a", "ctx_a": "b", "endings": ["x", "y"], "label": 0}',
                      'hellaswag layout: missing key "ctx_b"')]:
        task = tmp_path / "bad.jsonl"
        task.write_text(f"{good}\n{good}\n{bad}\n{good}\n", encoding="utf-8")
        r = run("eval", "mc", "-m", model, "-f", task, check=False)
        assert r.returncode == 1 and f"{task}:3: " in r.stderr and msg in r.stderr, r.stderr
        assert r.stdout == "", "no result when a line is bad"
        r = run("eval", "mc", "-m", model, "-f", task, "--limit", 2)      # the first two lines are fine
        assert "mc: 2 questions" in r.stdout
    task.write_text("", encoding="utf-8")
    r = run("eval", "mc", "-m", model, "-f", task, check=False)
    assert r.returncode == 1 and "has no questions" in r.stderr
    task.write_text(json.dumps({"context": "once " * 200, "choices": ["a", "b"], "label": 0}) + "\n")
    r = run("eval", "mc", "-m", model, "-f", task, "-c", 64, check=False)
    assert r.returncode == 1 and ":1: the question needs" in r.stderr and "context holds 64" in r.stderr


def test_mc_progress_and_limit(tmp_path):
    task = tmp_path / "t.jsonl"
    write_task(task, [SAMPLES[0][0]] * 3)
    r = trit("eval", "mc", "-m", model_path("llama-tiny-spm", "tq2_0"), "-f", task, "--limit", 2, "--progress", "--json",
             text=False)
    assert json.loads(r.stdout)["n"] == 2
    assert b"\rmc [" in r.stderr and b"2/2" in r.stderr
    r = run("eval", "mc", "-m", model_path("llama-tiny-spm", "tq2_0"), "-f", task, "--json")
    assert json.loads(r.stdout)["n"] == 3 and r.stderr == "", "no bar when stderr is not a terminal"


# ---- the corpus task ---------------------------------------------------------------------------------

def test_story_task_regenerates(tmp_path):
    out = tmp_path / "task.jsonl"
    subprocess.run([sys.executable, str(ROOT / "tools" / "eval" / "make_story_task.py"), "--out", str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == STORY_TASK.read_bytes(), "tools/eval/make_story_task.py no longer makes the committed task"
    items = [json.loads(l) for l in out.read_text().splitlines()]
    assert len(items) == 400 and all(len(it["choices"]) == 4 for it in items)
    labels = np.bincount([it["label"] for it in items], minlength=4)
    assert labels.min() > 70, labels          # the answer's slot is spread evenly
    conv = run("eval", "mc", "-f", out, "--convert").stdout.splitlines()
    assert len(conv) == 400


def embedded(kind):
    for name in (f"{kind}.tq2_0.gguf", f"{kind}.gguf", f"trit-{kind}.gguf"):
        p = ROOT / "models" / name
        if p.exists():
            return p
    return None


@pytest.mark.skipif(not (embedded("target") and embedded("draft")), reason="the embedded models are not in models/ yet")
def test_story_task_scores_embedded_models():
    n = 100
    t = jrun("eval", "mc", "-m", embedded("target"), "-f", STORY_TASK, "--limit", n)
    d = jrun("eval", "mc", "-m", embedded("draft"), "-f", STORY_TASK, "--limit", n)
    print(f"story task, first {n}: target acc {t['acc']:.2f} acc_norm {t['acc_norm']:.2f}; draft acc {d['acc']:.2f} "
          f"acc_norm {d['acc_norm']:.2f}; chance {t['chance']:.2f}")
    assert t["acc"] >= t["chance"] + 3 * t["acc_stderr"], "the target must score clearly above chance"
    assert d["acc"] < t["acc"]
