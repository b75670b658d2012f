#!/usr/bin/env python3
"""make_story_task.py: the project's own multiple-choice task, "which sentence comes next in this story?",
from the held-out split the trainer never sees (shared/corpus/tinystories-v1-valid-head.txt, loaded and
normalised exactly as tools/train/data.py does: lower case, ASCII quotes and dashes).

For each validation story (in file order) with at least 4 sentences: the context is its first k
sentences as they stand in the story (paragraph breaks kept; k drawn in 2 .. n-1, as long as the
context stays within MAX_CONTEXT characters), the right answer is sentence k+1 (with "delimiter": "\n"
when it starts a paragraph), and the 3 distractors are sentences of *other* validation stories of similar
length (0.67x .. 1.5x characters, so that length alone gives nothing away) that appear nowhere in this
story. The right answer's position is uniform over the 4 slots. Chance level: 25%.

Deterministic (random.Random(SEED), file order), so the committed JSONL can be checked by
regenerating it (tests/test_eval.py does). Output lines are trit's own layout (docs/eval.md):
  {"id": "valid-17", "context": "...", "choices": ["...", "...", "...", "..."], "label": 2}

The text is TinyStories (Eldan & Li, 2023), CDLA-Sharing-1.0: the JSONL stays under that license.

  /usr/bin/python3 tools/eval/make_story_task.py              # writes tools/eval/tinystories-next-sentence.jsonl
  /usr/bin/python3 tools/eval/make_story_task.py --out X --n 100 --corpus DIR
"""
import argparse
import json
import os
import random
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "train"))
import data  # noqa: E402  (the trainer's corpus loading and normalisation)

SEED = 20261201
N_QUESTIONS = 400
N_CHOICES = 4
MAX_CONTEXT = 600        # characters (~160 tokens at 3.8 bytes/token: context + choice fit in 256)
DEFAULT_OUT = os.path.join(HERE, "tinystories-next-sentence.jsonl")

# A sentence ends at . ! or ? (optionally followed by closing quotes) before whitespace.
_SENT_END = re.compile(r'(?<=[.!?])["\']*\s+')


def sentences(story):
    """[(separator, sentence)]: the separator before each sentence is "\n" where a paragraph starts,
    " " inside a paragraph and "" for the first one, so that joining them gives the story back."""
    out = []
    for para in story.split("\n"):
        sep = "\n" if out else ""
        pos = 0
        for m in list(_SENT_END.finditer(para)) + [None]:
            end = m.end() if m else len(para)
            s = para[pos:end].strip()
            if s:
                out.append((sep, s))
                sep = " "
            pos = end
    return out


def make(stories, n_questions=N_QUESTIONS, seed=SEED):
    rng = random.Random(seed)
    parts = [sentences(s) for s in stories]
    pool = [(i, s) for i, ps in enumerate(parts) for _, s in ps[1:] if 12 <= len(s) <= 200]
    items = []
    for i, ps in enumerate(parts):
        if len(items) == n_questions:
            break
        ss = [s for _, s in ps]
        if len(ss) < 4:
            continue
        prefix = lambda k: "".join(sep + s for sep, s in ps[:k])
        ks = [k for k in range(2, len(ss)) if len(prefix(k)) <= MAX_CONTEXT and 12 <= len(ss[k]) <= 200]
        if not ks:
            continue
        k = rng.choice(ks)
        right = ss[k]
        own = set(ss)
        lo, hi = 0.67 * len(right), 1.5 * len(right)
        distractors = []
        while len(distractors) < N_CHOICES - 1:
            j, s = pool[rng.randrange(len(pool))]
            if j != i and lo <= len(s) <= hi and s not in own and s not in distractors:
                distractors.append(s)
        label = rng.randrange(N_CHOICES)
        choices = distractors[:label] + [right] + distractors[label:]
        item = {"id": "valid-%d" % i, "context": prefix(k), "choices": choices, "label": label}
        if ps[k][0] != " ":
            item["delimiter"] = ps[k][0]      # the answer starts a new paragraph
        items.append(item)
    return items


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--n", type=int, default=N_QUESTIONS)
    ap.add_argument("--corpus", default=data.DEFAULT_CORPUS)
    a = ap.parse_args(argv)
    items = make(data.load_stories(a.corpus, data.VAL_FILES), a.n)
    with open(a.out, "w", encoding="utf-8", newline="\n") as f:
        for it in items:
            f.write(json.dumps(it, ensure_ascii=False) + "\n")
    print("%d questions -> %s" % (len(items), a.out))


if __name__ == "__main__":
    main()
