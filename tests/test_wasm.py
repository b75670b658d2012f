"""The wasm builds against the native build of the same C (tests/test_conformance.py and test_models.py
also run on wasm: `make test-wasm` runs them with TRIT_BIN="node js/cli.js").

  * every oracle model and the bitnet-b1.58 test models (I2_S; TQ2_0 with a Q6_K / Q8_0 head): the logits of a prompt are bit-identical to
    the native CLI's, with the F16 KV cache (the default) on the simd, scalar, threaded (simd-mt, 2
    threads) and relaxed-SIMD builds (where built), and with the F32 KV cache on the simd build; greedy
    generations give identical ids;
  * broken files and bad arguments give the native CLI's messages and exit codes; `info` prints the
    same text.
The many calls go through $TRIT_WASM_CLI when make sets it (tests/wasm/cli_client.py: js/cli.mjs's
main() in one long-lived node process, a fresh wasm instance per call); the relaxed build, `info` and
the error cases run the real `node js/cli.js` every time.
"""
import os
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import ORACLE, ROOT

if not os.environ.get("TRIT_WASM_SUITE"):     # it needs the wasm builds: make test-wasm builds them first
    pytest.skip("run by `make test-wasm`", allow_module_level=True)

NODE = os.environ.get("NODE", "node")
NATIVE = [str(ROOT / "build" / "trit")]
CLI = str(ROOT / "js" / "cli.js")
WASM_DIR = ROOT / "build" / "wasm"
I2S_MODEL = ROOT / "build" / "test-models" / "b158.i2_s.gguf"
PROMPT = "1 589 337 505 351 321 381 365 706 363 325 334 337 320 575 326 329"


def node_supports_relaxed():
    probe = "import('%s').then(w => process.exit(w.relaxedSimdSupported() ? 0 : 1))" % (ROOT / "js" / "wasm.mjs").as_uri()
    return subprocess.run([NODE, "--experimental-wasm-relaxed-simd", "-e", probe]).returncode == 0


REAL = [NODE, CLI]
WASM = shlex.split(os.environ["TRIT_WASM_CLI"]) if os.environ.get("TRIT_WASM_CLI") else REAL

# (name, command line prefix, extra args)
BUILDS = [("simd", WASM, []), ("scalar", WASM, []), ("simd-mt", WASM, ["-t", "2"])]
if (WASM_DIR / "trit-relaxed.wasm").exists() and node_supports_relaxed():
    BUILDS.append(("relaxed", [NODE, "--experimental-wasm-relaxed-simd", CLI], []))

MODELS = sorted(p for p in (ORACLE / "models").glob("*.gguf"))
# tests/wasm/make_models.py: I2_S matrices; TQ2_0 matrices with a Q6_K / Q8_0 tied head
MODELS += [p for p in (I2S_MODEL, I2S_MODEL.with_name("b158.tq2_0-q6_k.gguf"), I2S_MODEL.with_name("b158.tq2_0-q8_0.gguf"))
           if p.exists()]


def run(cmd, build=None, check=True):
    env = dict(os.environ)
    env.pop("TRIT_WASM", None)
    if build:
        env["TRIT_WASM"] = build
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    if check and r.returncode:
        raise AssertionError(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr}")
    return r


def logits(cmd, model, out, kv, build=None, extra=()):
    run(cmd + ["logits", "-m", str(model), "--tokens", PROMPT, "-o", str(out), "--kv", kv, *extra], build)
    return np.fromfile(out, dtype="<u4")


@pytest.fixture(scope="module")
def native_logits(tmp_path_factory):
    d = tmp_path_factory.mktemp("native")
    cache = {}

    def get(model, kv):
        if (model, kv) not in cache:
            cache[model, kv] = logits(NATIVE, model, d / f"{model.stem}.{kv}.f32", kv)
        return cache[model, kv]
    return get


@pytest.mark.parametrize("build,cmd,extra", BUILDS, ids=[b[0] for b in BUILDS])
@pytest.mark.parametrize("model", MODELS, ids=[m.stem for m in MODELS])
def test_logits_equal_native(model, build, cmd, extra, native_logits, tmp_path):
    got = logits(cmd, model, tmp_path / "w.f32", "f16", build, extra)
    want = native_logits(model, "f16")
    assert got.shape == want.shape
    assert np.array_equal(got, want), f"{build}: {np.count_nonzero(got != want)} of {got.size} logits differ"


@pytest.mark.parametrize("model", MODELS, ids=[m.stem for m in MODELS])
def test_kv_f32_and_greedy(model, native_logits, tmp_path):
    got = logits(WASM, model, tmp_path / "w.f32", "f32", "simd")
    want = native_logits(model, "f32")
    assert np.array_equal(got, want), f"{np.count_nonzero(got != want)} of {got.size} logits differ"
    gen = ["generate", "-m", str(model), "--tokens", PROMPT, "-n", "24", "--ids"]
    assert run(WASM + gen, "simd").stdout == run(NATIVE + gen).stdout


@pytest.mark.parametrize("model", [ORACLE / "models" / "bitnet-tiny-bpe.tq1_0.gguf", I2S_MODEL], ids=["tq1_0", "i2_s"])
def test_real_cli(model, native_logits, tmp_path):
    """`node js/cli.js` itself (not through the server): logits, info, and a sampled generation."""
    if not model.exists():
        pytest.skip(f"{model} not built")
    assert np.array_equal(logits(REAL, model, tmp_path / "w.f32", "f16"), native_logits(model, "f16"))
    assert run(REAL + ["info", "-m", str(model)]).stdout == run(NATIVE + ["info", "-m", str(model)]).stdout
    gen = ["generate", "-m", str(model), "-p", "Once upon a time", "-n", "16", "--temp", "0.8", "--top-k", "40",
           "--seed", "7"]
    assert run(REAL + gen).stdout == run(NATIVE + gen).stdout


def test_errors_match_native(tmp_path):
    good = ORACLE / "models" / "bitnet-tiny-spm.tq2_0.gguf"
    bad = tmp_path / "truncated.gguf"
    bad.write_bytes(good.read_bytes()[:5000])
    cases = [
        ["tokenize", "-m", str(bad), "-p", "hi"],                       # malformed file: 1
        ["tokenize", "-m", str(tmp_path / "missing.gguf"), "-p", "hi"],  # missing file: 1
        ["tokenize", "-m", str(good)],                                  # no -p: 2
        ["frobnicate", "-m", str(good)],                                # unknown command: 2
        ["generate", "-m", str(good), "--tokens", "1 99999", "-n", "2"],  # token out of range: 1
        ["generate", "-m", str(good), "-p", "hi", "-t", "999"],        # threads out of range: 1
    ]
    for args in cases:
        n, w = run(NATIVE + args, check=False), run([NODE, CLI] + args, "simd", check=False)
        assert (w.returncode, w.stdout) == (n.returncode, n.stdout), args
        assert n.returncode != 0
        assert w.stderr.splitlines()[:1] == n.stderr.splitlines()[:1], args


def test_default_model_is_the_embedded_target(tmp_path):
    """Without -m both CLIs use models/trit-target.tq2_0.gguf beside their build (the npm package ships
    it); where there is none, -m is required, with the same message and exit code in both."""
    target = ROOT / "models" / "trit-target.tq2_0.gguf"
    for cli in (NATIVE, REAL):
        for cmd in (["tokenize", "-p", "once upon a time"], ["generate", "-p", "the little dog", "-n", "6", "--ids"]):
            assert run(cli + cmd).stdout == run(cli + cmd[:1] + ["-m", str(target)] + cmd[1:]).stdout, (cli, cmd)
    assert run(REAL + ["perplexity", "-f", str(ROOT / "models" / "README.md"), "-c", "64", "--chunks", "1"]).stdout == \
        run(NATIVE + ["perplexity", "-m", str(target), "-f", str(ROOT / "models" / "README.md"), "-c", "64", "--chunks", "1"]).stdout
    # a copy of each build in a tree without models/
    (tmp_path / "bin").mkdir()
    lone = tmp_path / "bin" / "trit"
    lone.write_bytes((ROOT / "build" / "trit").read_bytes())
    lone.chmod(0o755)
    (tmp_path / "build" / "wasm").mkdir(parents=True)
    (tmp_path / "build" / "wasm" / "trit-simd.wasm").write_bytes((WASM_DIR / "trit-simd.wasm").read_bytes())
    (tmp_path / "js").mkdir()
    for f in (ROOT / "js").glob("*.mjs"):
        (tmp_path / "js" / f.name).write_bytes(f.read_bytes())
    (tmp_path / "js" / "cli.js").write_bytes((ROOT / "js" / "cli.js").read_bytes())
    for cli in ([str(lone)], [NODE, str(tmp_path / "js" / "cli.js")]):
        r = run(cli + ["tokenize", "-p", "hi"], "simd", check=False)
        assert r.returncode == 2 and r.stdout == "", cli
        assert r.stderr.splitlines()[0] == "error: -m MODEL is required", cli
