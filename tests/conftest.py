"""Shared helpers for the Python test suites: where the oracle fixtures and the CLI are."""
import os
import shlex
import subprocess
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
ORACLE = Path(os.environ.get("TRIT_ORACLE", ROOT.parent / "shared" / "oracle"))
# The CLI under test: the native build by default; TRIT_BIN may be a command line ("node js/cli.js").
TRIT = shlex.split(os.environ.get("TRIT_BIN", str(ROOT / "build" / "trit")))

# Every fixture the oracle holds: ref/<family>.<type>/ with models/<family>.<type>.gguf beside it, so
# that new fixtures are tested without code changes.
VARIANTS = sorted(
    tuple(d.name.rsplit(".", 1)) for d in (ORACLE / "ref").glob("*.*")
    if d.is_dir() and (ORACLE / "models" / f"{d.name}.gguf").exists()
) if (ORACLE / "ref").is_dir() else []
FAMILIES = sorted({f for f, _ in VARIANTS})
FLOAT_TYPES = ("f32", "f16", "bf16")   # compared by max abs; quantized types statistically


def trit(*args, check=True, text=True, input=None):
    r = subprocess.run(TRIT + [str(a) for a in args], capture_output=True, text=text, input=input, timeout=300)
    if check and r.returncode != 0:
        raise AssertionError(f"trit {' '.join(map(str, args))} failed ({r.returncode}): {r.stderr}")
    return r


def model_path(fam, ty):
    return ORACLE / "models" / f"{fam}.{ty}.gguf"


def logits(model, tokens, tmp_path, kv="f16"):
    out = tmp_path / "logits.f32"
    trit("logits", "-m", model, "--tokens", " ".join(map(str, tokens)), "-o", out, "--kv", kv)
    return np.fromfile(out, dtype="<f4")


@pytest.fixture(scope="session", autouse=True)
def _oracle_present():
    if not ORACLE.is_dir():
        pytest.exit(f"oracle fixtures not found at {ORACLE} (set TRIT_ORACLE)", returncode=2)
