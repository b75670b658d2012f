"""data.py: the training corpus, its deterministic train/validation split, tokenization and batching.

Corpus (shared/corpus/README.md): everything is lower-cased and a few non-ASCII punctuation marks are
folded to ASCII (curly quotes, dashes, ellipsis, guillemets), to match the lower-cased
tinystories-5k.txt. Stories are the unit:
  train  tinystories-5k.txt (stories split on NUL) + tinystories-v2-gpt4-train-head.txt (blank-line
         separated): ~7,200 stories, no overlap with validation
  val    tinystories-v1-valid-head.txt (blank-line separated): 999 held-out TinyStories V1 validation
         stories (a separate upstream split, so the held-out set is fixed and deterministic)
(tinystories-v1-train-head-cased.txt repeats stories of tinystories-5k.txt and is not used;
tinyshakespeare.txt is a different domain and is left out.) Within a story, blank lines are
collapsed so that paragraphs are separated by one "\\n" in every file.

Token stream: for each story, BOS + tokens + EOS, concatenated. Training windows are ctx+1 tokens
(input ctx, target shifted by one): each epoch starts the window grid at a random offset and visits
the windows in a random order, both drawn from numpy's default_rng([seed, epoch]), so the sampler's
whole state is (epoch, position) and a resumed run sees exactly the batches an uninterrupted run
would have seen.
"""
import hashlib
import json
import os
import re
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "bpe"))
import bpe  # noqa: E402

DEFAULT_CORPUS = os.path.abspath(os.path.join(HERE, "..", "..", "..", "shared", "corpus"))
TRAIN_FILES = [("tinystories-5k.txt", "nul"), ("tinystories-v2-gpt4-train-head.txt", "blank")]
VAL_FILES = [("tinystories-v1-valid-head.txt", "blank")]

FOLD = {"\u201c": '"', "\u201d": '"', "\u2018": "'", "\u2019": "'", "\u2013": "-", "\u2014": "-",
        "\u2026": "...", "\u00ab": '"', "\u00bb": '"', "\r": ""}
_FOLD_RE = re.compile("|".join(map(re.escape, FOLD)))


def normalize(text):
    return _FOLD_RE.sub(lambda m: FOLD[m.group(0)], text).lower()


def split_stories(text, sep):
    parts = text.split("\0") if sep == "nul" else re.split(r"\n[ \t]*\n", text)
    out = []
    for p in parts:
        p = re.sub(r"\n[ \t]*(\n[ \t]*)+", "\n", p.strip())      # collapse blank lines inside a story
        if p:
            out.append(p)
    return out


def load_stories(corpus_dir=DEFAULT_CORPUS, files=None):
    stories = []
    for fn, sep in files:
        with open(os.path.join(corpus_dir, fn), encoding="utf-8") as f:
            stories.extend(split_stories(normalize(f.read()), sep))
    return stories


def train_tokenizer(corpus_dir, vocab_size, out_path, log=print):
    stories = load_stories(corpus_dir, TRAIN_FILES)
    wc = bpe.count_words(stories)
    tok = bpe.train(wc, vocab_size, log=log)
    tok.save(out_path)
    log("tokenizer: %d tokens (%d merges) from %d training stories -> %s"
        % (tok.vocab_size, len(tok.merges), len(stories), out_path))
    return tok


def encode_stories(tok, stories):
    ids = []
    for s in stories:
        ids.append(tok.bos_id)
        for w in bpe.pretokenize(s):
            ids.extend(tok.encode_word(w))
        ids.append(tok.eos_id)
    dt = np.uint16 if tok.vocab_size <= 65536 else np.uint32
    return np.array(ids, dtype=dt)


def file_sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()[:16]


def prepare(tokenizer_path, corpus_dir=DEFAULT_CORPUS, cache_dir=None, log=print):
    """Token streams (train, val) as numpy arrays, cached next to the tokenizer keyed by its hash."""
    tok = bpe.Tokenizer.load(tokenizer_path)
    cache_dir = cache_dir or os.path.dirname(os.path.abspath(tokenizer_path))
    key = file_sha(tokenizer_path)
    paths = {s: os.path.join(cache_dir, "%s.%s.npy" % (s, key)) for s in ("train", "val")}
    if all(os.path.exists(p) for p in paths.values()):
        return tok, np.load(paths["train"]), np.load(paths["val"])
    out = {}
    for split, files in (("train", TRAIN_FILES), ("val", VAL_FILES)):
        st = load_stories(corpus_dir, files)
        out[split] = encode_stories(tok, st)
        np.save(paths[split] + ".tmp.npy", out[split])
        os.replace(paths[split] + ".tmp.npy", paths[split])
        nbytes = sum(len(s.encode("utf-8")) for s in st)
        log("%s: %d stories, %d bytes -> %d tokens (%.2f bytes/token)"
            % (split, len(st), nbytes, len(out[split]), nbytes / max(1, len(out[split]) - 2 * len(st))))
    with open(os.path.join(cache_dir, "data.%s.json" % key), "w") as f:
        json.dump({"tokenizer_sha": key, "train_tokens": int(len(out["train"])),
                   "val_tokens": int(len(out["val"]))}, f)
    return tok, out["train"], out["val"]


class Batcher:
    """Deterministic, resumable sampler of (B, T+1) windows from a token stream."""

    def __init__(self, data, batch_size, ctx, seed):
        self.data, self.B, self.T, self.seed = data, batch_size, ctx, seed
        self.epoch, self.pos = 0, 0
        self._order = None

    def _epoch_order(self):
        rng = np.random.default_rng([self.seed, self.epoch])
        shift = int(rng.integers(0, self.T))
        n = (len(self.data) - shift - 1) // self.T
        starts = shift + self.T * np.arange(n)
        return starts[rng.permutation(n)]

    def next(self):
        if self._order is None:
            self._order = self._epoch_order()
        if self.pos + self.B > len(self._order):
            self.epoch += 1
            self.pos = 0
            self._order = self._epoch_order()
        starts = self._order[self.pos:self.pos + self.B]
        self.pos += self.B
        idx = starts[:, None] + np.arange(self.T + 1)[None, :]
        return self.data[idx].astype(np.int64)

    def state_dict(self):
        return {"epoch": self.epoch, "pos": self.pos}

    def load_state_dict(self, s):
        self.epoch, self.pos = int(s["epoch"]), int(s["pos"])
        self._order = None

    def epoch_fraction(self):
        n = (len(self.data) - 1) // self.T
        return self.epoch + self.pos / max(1, n)


def val_windows(data, ctx, n):
    """n fixed windows spread evenly over the validation stream (deterministic)."""
    n_all = (len(data) - 1) // ctx
    n = min(n, n_all)
    starts = (np.arange(n) * (n_all // n)) * ctx
    idx = starts[:, None] + np.arange(ctx + 1)[None, :]
    return data[idx].astype(np.int64)
