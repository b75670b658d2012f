"""The wasm CLI's `eval` (node js/cli.js, js/eval.mjs) is a twin of the native one: the same stdout,
stderr and exit code byte for byte, and the same saved-logits and --details files, for every eval
command and its errors. (tests/test_eval.py runs its whole acceptance suite on either CLI through TRIT_BIN;
this checks the twins against each other cheaply.) Run by `make test-eval` (TRIT_EVAL_SUITE=1).
"""
import json
import os
import subprocess

import pytest

from conftest import ORACLE, ROOT, model_path

if not os.environ.get("TRIT_EVAL_SUITE"):
    pytest.skip("run by `make test-eval`", allow_module_level=True)

NATIVE = [str(ROOT / "build" / "trit")]
WASM = ["node", str(ROOT / "js" / "cli.js")]
PPL_TXT = ORACLE / "ppl.txt"


def both(*args, env=None, usage=False, out=None):
    """Runs the two CLIs; usage=True compares only the first line of stderr (the usage text below it
    names each build's own environment variables). An argument "@OUT" becomes out.native / out.wasm, and
    the two files must be equal too."""
    def argv(tag):
        return [str(out) + "." + tag if a == "@OUT" else str(a) for a in args]
    e = dict(os.environ, **(env or {}))
    n = subprocess.run(NATIVE + argv("native"), capture_output=True, timeout=300)
    w = subprocess.run(WASM + argv("wasm"), capture_output=True, timeout=300, env=e)
    cut = (lambda b: b.decode().split("\n")[0]) if usage else (lambda b: b.decode())
    assert (w.returncode, w.stdout.decode(), cut(w.stderr)) == (n.returncode, n.stdout.decode(), cut(n.stderr)), args
    if out is not None:
        assert open(f"{out}.wasm", "rb").read() == open(f"{out}.native", "rb").read(), f"{args}: the files differ"
    return n


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("twin")
    task = d / "task.jsonl"
    task.write_text("\n".join(json.dumps(q) for q in [
        {"context": "Once upon a time there was a", "choices": ["little girl", "purple elephant", "xqz"], "label": 0},
        {"context": "The answer is ", "choices": ["yes", "no"], "label": 1},
        {"question": "Which is a gas?", "choices": {"text": ["ice", "steam"], "label": ["A", "B"]}, "answerKey": "B"},
        {"question": "2+2?", "subject": "math", "choices": ["3", "4", "5", "6"], "answer": "B"},
    ]) + "\n")
    return d, task


def test_ppl_and_saved_logits(files):
    d, _ = files
    n = both("eval", "ppl", "-m", model_path("bitnet-tiny-spm", "f32"), "-f", PPL_TXT, "-c", 128, "--chunks", 3,
             "--save-logits", "@OUT", out=d / "base.logits")
    assert n.returncode == 0
    both("perplexity", "-m", model_path("llama-tiny-spm", "tq2_0"), "-f", PPL_TXT, "-c", 64, "--chunks", 4)


def test_kld(files):
    d, _ = files
    base = d / "base.logits.native"
    if not base.exists():
        pytest.skip("needs test_ppl_and_saved_logits")
    both("eval", "kld", "-m", model_path("bitnet-tiny-spm", "tq2_0"), "--base", base)
    both("eval", "kld", "-m", model_path("bitnet-tiny-spm", "tq2_0"), "--base", base, "--json", env={"TRIT_WASM": "scalar"})
    r = both("eval", "kld", "-m", model_path("bitnet-tiny-bpe", "f32"), "--base", base)
    assert r.returncode == 1 and b"vocabulary mismatch" in r.stderr
    (d / "trunc").write_bytes(base.read_bytes()[:-1])
    assert both("eval", "kld", "-m", model_path("bitnet-tiny-spm", "f32"), "--base", d / "trunc").returncode == 1


def test_mc(files):
    d, task = files
    m = model_path("bitnet-tiny-spm", "tq2_0")
    n = both("eval", "mc", "-m", m, "-f", task, "--json", "--details", "@OUT", out=d / "details.jsonl")
    assert json.loads(n.stdout)["n"] == 4 and len((d / "details.jsonl.native").read_text().splitlines()) == 4
    both("eval", "mc", "-f", task, "--convert", "--limit", 3)
    bad = d / "bad.jsonl"
    bad.write_text(task.read_text() + '{"context": "x", "choices": ["a"], "label": 0}\n')
    assert both("eval", "mc", "-m", m, "-f", bad).returncode == 1
    assert both("eval", "mc", "-m", m, "-f", bad, "--limit", 4, "-c", 8).returncode == 1   # too long for 8 positions


def test_usage_errors():
    m = model_path("llama-tiny-spm", "tq2_0")
    for args in (["eval"], ["eval", "ppl", "-m", m, "--bogus"], ["eval", "mc", "--convert"]):
        assert both(*args, usage=True).returncode == 2, args
    for args in (["eval", "kld", "-m", m], ["eval", "nope", "-m", m], ["eval", "ppl", "--convert", "-f", PPL_TXT],
                 ["eval", "mc", "-m", m, "-f", "/nonexistent.jsonl"], ["perplexity", "-m", m, "-f", PPL_TXT]):
        assert both(*args).returncode in (1, 2), args
