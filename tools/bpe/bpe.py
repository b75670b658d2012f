#!/usr/bin/env python3
"""bpe.py: byte-level BPE tokenizer trainer and encoder that tokenizes exactly as llama.cpp (c392e50)
does for a GGUF with tokenizer.ggml.model = "gpt2" and tokenizer.ggml.pre = "llama-bpe".

No dependencies beyond the standard library.

    python3 tools/bpe/bpe.py train --vocab-size 2048 --out build/train/tokenizer.json FILE...
    python3 tools/bpe/bpe.py encode --tokenizer build/train/tokenizer.json "once upon a time"

What llama.cpp does, and what this file mirrors:
  1. Pre-tokenization: the llama-3 regex
       (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|
       \\s*[\\r\\n]+|\\s+(?!\\S)|\\s+
     as llama.cpp's hand-written unicode_regex_split_custom_llama3 evaluates it (pretokenize() below is
     a line-by-line port, quirks included). \\p{L} / \\p{N} come from unicodedata's general category;
     \\s is the Unicode White_Space set (the 25 code points in WHITESPACE), as in src/unicode_data.h.
  2. Each pre-token's UTF-8 bytes are mapped to printable characters with GPT-2's bytes_to_unicode().
  3. "llama-bpe" sets ignore_merges: a pre-token that is itself a vocabulary entry is emitted as is.
  4. Otherwise the symbols (one per byte) are merged pairwise: always the adjacent pair with the
     lowest merge rank, the leftmost one on ties, one merge at a time (llama.cpp's priority queue).
  5. A final symbol that is not in the vocabulary is emitted byte by byte (never happens with a
     vocabulary this trainer writes, which holds all 256 byte symbols and every merge result).
BOS is prepended when add_bos (tokenizer.ggml.add_bos_token = true); special tokens are never parsed
out of text (llama.cpp's default parse_special = false for prompts).

The trainer only creates merges whose result is a new token, so a pair that contains token t always
ranks after the merge that created t. (This keeps rank order and creation order consistent: with it,
GPT-2's "merge every occurrence" and llama.cpp's "leftmost first" give the same segmentation.)

The tokenizer is saved as a Hugging Face tokenizer.json (model.type "BPE", ignore_merges true,
byte-level, llama-3 split regex): the format the converter (tools/convert/convert.py) reads.
"""
import argparse
import collections
import heapq
import json
import sys
import unicodedata

LLAMA3_REGEX = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# Unicode White_Space (what \s matches in llama.cpp's tables, src/unicode_data.h)
WHITESPACE = frozenset([0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680] + list(range(0x2000, 0x200B)) +
                       [0x2028, 0x2029, 0x202F, 0x205F, 0x3000])
# code points whose lower case is an ASCII letter (besides A-Z), for the case-insensitive contractions
LOWER_ASCII = {0x130: "i", 0x212A: "k"}

F_LETTER, F_NUMBER, F_SPACE, F_ANY = 1, 2, 4, 8   # F_ANY: every code point (0 = past the end)

_flag_cache = {}


def _flags(ch):
    f = _flag_cache.get(ch)
    if f is None:
        cat = unicodedata.category(ch)
        f = (F_LETTER if cat[0] == "L" else 0) | (F_NUMBER if cat[0] == "N" else 0) | \
            (F_SPACE if ord(ch) in WHITESPACE else 0) | F_ANY
        _flag_cache[ch] = f
    return f


def _lower(ch):
    if "A" <= ch <= "Z":
        return chr(ord(ch) + 32)
    return LOWER_ASCII.get(ord(ch), ch)


def pretokenize(text):
    """Splits text into the words llama.cpp's llama-3 pre-tokenizer gives (a list of str that joins
    back to text). A port of unicode_regex_split_custom_llama3 (llama.cpp unicode.cpp)."""
    n = len(text)
    fl = [_flags(c) for c in text]
    SLN = F_SPACE | F_LETTER | F_NUMBER
    out = []
    pos = 0

    def F(p):                       # flags, or 0 past the end (llama.cpp's _get_flags)
        return fl[p] if p < n else 0

    def CP(p):
        return text[p] if p < n else None

    while pos < n:
        c = text[pos]
        f = fl[pos]
        start = pos
        # (?i:'s|'t|'re|'ve|'m|'ll|'d)
        if c == "'" and pos + 1 < n:
            n1 = _lower(text[pos + 1])
            if n1 in ("s", "t", "m", "d"):
                pos += 2
                out.append(text[start:pos])
                continue
            if pos + 2 < n:
                n2 = _lower(text[pos + 2])
                if (n1, n2) in (("r", "e"), ("v", "e"), ("l", "l")):
                    pos += 3
                    out.append(text[start:pos])
                    continue
        # [^\r\n\p{L}\p{N}]?\p{L}+
        if not (c == "\r" or c == "\n" or (f & F_NUMBER)):
            if (f & F_LETTER) or (F(pos + 1) & F_LETTER):
                pos += 1
                while F(pos) & F_LETTER:
                    pos += 1
                out.append(text[start:pos])
                continue
        # \p{N}{1,3}
        if f & F_NUMBER:
            i0 = pos
            while F(pos) & F_NUMBER:
                pos += 1
                if pos - i0 >= 3:
                    out.append(text[i0:pos])
                    i0 = pos
            if pos > i0:
                out.append(text[i0:pos])
            continue
        # ' ?[^\s\p{L}\p{N}]+[\r\n]*' (llama.cpp tests "inside the text" on c's own flags)
        f2 = F(pos + 1) if c == " " else f
        if not (f2 & SLN) and f:
            pos += 1 if c == " " else 0
            while not (F(pos) & SLN) and F(pos):
                pos += 1
            while CP(pos) in ("\r", "\n"):
                pos += 1
            out.append(text[start:pos])
            continue
        nws = 0
        last_rn = 0
        while F(pos + nws) & F_SPACE:
            c2 = text[pos + nws]
            if c2 in ("\r", "\n"):
                last_rn = pos + nws + 1
            nws += 1
        if last_rn > 0:                                  # \s*[\r\n]+
            pos = last_rn
        elif nws > 1 and CP(pos + nws) is not None:     # \s+(?!\S)
            pos += nws - 1
        elif nws > 0:                                    # \s+
            pos += nws
        else:
            pos += 1
        out.append(text[start:pos])
    return out


def bytes_to_unicode():
    """GPT-2's reversible byte -> printable unicode character map."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    k = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + k)
            k += 1
    return dict(zip(bs, (chr(c) for c in cs)))


BYTE_ENC = bytes_to_unicode()
BYTE_DEC = {v: k for k, v in BYTE_ENC.items()}


def byte_encode(s):
    return "".join(BYTE_ENC[b] for b in s.encode("utf-8"))


class Tokenizer:
    """A byte-level BPE vocabulary: tokens (list of byte-level strings, index = id), merges (list of
    (left, right) string pairs, index = rank), special tokens (name -> id) and their roles."""

    def __init__(self, tokens, merges, special=None, bos="<|bos|>", eos="<|eos|>", add_bos=True):
        self.tokens = list(tokens)
        self.merges = [tuple(m) for m in merges]
        self.special = dict(special or {})
        self.token_to_id = {t: i for i, t in enumerate(self.tokens)}
        self.ranks = {m: r for r, m in enumerate(self.merges)}
        self.bos_id = self.special.get(bos) if bos else None
        self.eos_id = self.special.get(eos) if eos else None
        self.bos_token, self.eos_token = bos, eos
        self.add_bos = add_bos
        self._cache = {}

    @property
    def vocab_size(self):
        return len(self.tokens)

    def token_types(self):
        """GGUF tokenizer.ggml.token_type: 1 normal, 3 control (the special tokens)."""
        sp = set(self.special.values())
        return [3 if i in sp else 1 for i in range(len(self.tokens))]

    def _bpe(self, word):
        """Ids of one pre-token (already byte-level encoded), exactly as llama.cpp's BPE session."""
        tid = self.token_to_id.get(word)
        if tid is not None:                                 # llama-bpe: ignore_merges
            return [tid]
        syms = list(word)
        ranks = self.ranks
        while len(syms) > 1:
            best = None
            best_i = -1
            for i in range(len(syms) - 1):
                r = ranks.get((syms[i], syms[i + 1]))
                if r is not None and (best is None or r < best):
                    best, best_i = r, i
            if best is None:
                break
            syms[best_i:best_i + 2] = [syms[best_i] + syms[best_i + 1]]
        ids = []
        for s in syms:
            t = self.token_to_id.get(s)
            if t is not None:
                ids.append(t)
            else:                                           # byte fallback (llama.cpp: per byte)
                ids.extend(self.token_to_id[ch] for ch in s)
        return ids

    def encode_word(self, w):
        ids = self._cache.get(w)
        if ids is None:
            ids = self._bpe(byte_encode(w))
            if len(self._cache) < 1_000_000:
                self._cache[w] = ids
        return ids

    def encode(self, text, add_bos=None):
        ids = []
        if (self.add_bos if add_bos is None else add_bos) and self.bos_id is not None:
            ids.append(self.bos_id)
        for w in pretokenize(text):
            ids.extend(self.encode_word(w))
        return ids

    def decode_bytes(self, ids, skip_special=True):
        sp = set(self.special.values())
        out = bytearray()
        for i in ids:
            if i in sp:
                if not skip_special:
                    out += self.tokens[i].encode("utf-8")
                continue
            out += bytes(BYTE_DEC[c] for c in self.tokens[i])
        return bytes(out)

    def decode(self, ids, skip_special=True):
        return self.decode_bytes(ids, skip_special).decode("utf-8", "replace")

    # ---- Hugging Face tokenizer.json ----
    def to_hf_json(self):
        sp = sorted(self.special.items(), key=lambda kv: kv[1])
        return {
            "version": "1.0",
            "truncation": None,
            "padding": None,
            "added_tokens": [{"id": i, "content": t, "single_word": False, "lstrip": False, "rstrip": False,
                              "normalized": False, "special": True} for t, i in sp],
            "normalizer": None,
            "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
                {"type": "Split", "pattern": {"Regex": LLAMA3_REGEX}, "behavior": "Isolated", "invert": False},
                {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]},
            "post_processor": {"type": "TemplateProcessing",
                               "single": ([{"SpecialToken": {"id": self.bos_token, "type_id": 0}}] if self.add_bos else []) +
                                         [{"Sequence": {"id": "A", "type_id": 0}}],
                               "pair": [{"Sequence": {"id": "A", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}}],
                               "special_tokens": ({self.bos_token: {"id": self.bos_token, "ids": [self.bos_id],
                                                                    "tokens": [self.bos_token]}}
                                                  if self.add_bos else {})},
            "decoder": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            "model": {"type": "BPE", "dropout": None, "unk_token": None, "continuing_subword_prefix": None,
                      "end_of_word_suffix": None, "fuse_unk": False, "byte_fallback": False,
                      "ignore_merges": True,
                      "vocab": {t: i for i, t in enumerate(self.tokens)},
                      "merges": ["%s %s" % m for m in self.merges]},
        }

    def tokenizer_config(self):
        return {"bos_token": self.bos_token, "eos_token": self.eos_token, "add_bos_token": self.add_bos,
                "add_eos_token": False, "model_max_length": 256, "tokenizer_class": "PreTrainedTokenizerFast",
                "clean_up_tokenization_spaces": False}

    def save(self, path):
        with open(path, "w", encoding="utf-8") as f:
            json.dump(self.to_hf_json(), f, ensure_ascii=False, indent=1)

    @classmethod
    def from_hf_json(cls, d, bos=None, eos=None, add_bos=True):
        m = d["model"]
        if m.get("type") != "BPE":
            raise ValueError("tokenizer.json: model.type %r is not BPE" % m.get("type"))
        vocab = dict(m["vocab"])
        special = {}
        for a in d.get("added_tokens", []):
            vocab[a["content"]] = a["id"]
            if a.get("special"):
                special[a["content"]] = a["id"]
        n = max(vocab.values()) + 1
        tokens = [None] * n
        for t, i in vocab.items():
            tokens[i] = t
        for i, t in enumerate(tokens):
            if t is None:                                   # holes: llama.cpp's converter pads them
                tokens[i] = "[PAD%d]" % i
        merges = [tuple(x.split(" ", 1)) if isinstance(x, str) else tuple(x) for x in m["merges"]]
        if bos is None:
            bos = next((t for t in special if "bos" in t or t in ("<s>", "<|begin_of_text|>")), None)
        if eos is None:
            eos = next((t for t in special if "eos" in t or t in ("</s>", "<|end_of_text|>", "<|endoftext|>")),
                       None)
        return cls(tokens, merges, special, bos=bos, eos=eos, add_bos=add_bos)

    @classmethod
    def load(cls, path, tokenizer_config=None):
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
        bos = eos = None
        add_bos = True
        if tokenizer_config:
            bos = _tok_name(tokenizer_config.get("bos_token"))
            eos = _tok_name(tokenizer_config.get("eos_token"))
            add_bos = bool(tokenizer_config.get("add_bos_token", True))
        return cls.from_hf_json(d, bos=bos, eos=eos, add_bos=add_bos)


def _tok_name(v):
    if isinstance(v, dict):
        return v.get("content")
    return v


# ======================================================================================
# Training
# ======================================================================================

def count_words(texts, counter=None):
    """Pre-token frequencies over an iterable of texts."""
    counter = counter if counter is not None else collections.Counter()
    for t in texts:
        counter.update(pretokenize(t))
    return counter


def train(word_counts, vocab_size, special=("<|bos|>", "<|eos|>"), min_freq=2, log=None):
    """Trains byte-level BPE on {pre-token: count}. Returns a Tokenizer with ids 0..255 the byte
    symbols (in byte order), then one token per merge, then the special tokens. Deterministic:
    ties in pair frequency go to the smallest (left id, right id)."""
    n_merges_max = vocab_size - 256 - len(special)
    if n_merges_max < 0:
        raise ValueError("vocab_size %d too small (256 bytes + %d special)" % (vocab_size, len(special)))
    tokens = [BYTE_ENC[b] for b in range(256)]
    tok_id = {t: i for i, t in enumerate(tokens)}
    words = []
    counts = []
    for w, c in sorted(word_counts.items()):
        words.append([tok_id[ch] for ch in byte_encode(w)])
        counts.append(c)
    pair_count = collections.defaultdict(int)
    pair_where = collections.defaultdict(set)
    for wi, (syms, c) in enumerate(zip(words, counts)):
        for a, b in zip(syms, syms[1:]):
            pair_count[(a, b)] += c
            pair_where[(a, b)].add(wi)
    heap = [(-c, p) for p, c in pair_count.items()]
    heapq.heapify(heap)
    merges = []
    banned = set()
    while len(merges) < n_merges_max and heap:
        negc, pair = heapq.heappop(heap)
        c = pair_count.get(pair, 0)
        if -negc != c or c <= 0 or pair in banned:
            if c > 0 and -negc != c and pair not in banned:
                heapq.heappush(heap, (-c, pair))            # stale entry: re-queue with the true count
            continue
        if c < min_freq:
            break
        a, b = pair
        new_str = tokens[a] + tokens[b]
        if new_str in tok_id:                               # would duplicate a token: never merge
            banned.add(pair)
            continue
        new_id = len(tokens)
        tokens.append(new_str)
        tok_id[new_str] = new_id
        merges.append((tokens[a], tokens[b]))
        changed = collections.defaultdict(int)
        for wi in sorted(pair_where.pop(pair, ())):
            syms = words[wi]
            cw = counts[wi]
            i = 0
            out = []
            merged_any = False
            while i < len(syms):
                if i + 1 < len(syms) and syms[i] == a and syms[i + 1] == b:
                    out.append(new_id)
                    i += 2
                    merged_any = True
                else:
                    out.append(syms[i])
                    i += 1
            if not merged_any:
                continue
            for p in zip(syms, syms[1:]):
                changed[p] -= cw
            for p in zip(out, out[1:]):
                changed[p] += cw
                pair_where[p].add(wi)
            words[wi] = out
        for p, d in changed.items():
            if d == 0:
                continue
            pair_count[p] += d
            if pair_count[p] > 0:
                heapq.heappush(heap, (-pair_count[p], p))
        pair_count.pop(pair, None)
        if log and len(merges) % 500 == 0:
            log("merge %d: %r + %r (count %d)" % (len(merges), tokens[a], tokens[b], c))
    sp = {}
    for s in special:
        sp[s] = len(tokens)
        tokens.append(s)
    return Tokenizer(tokens, merges, sp, bos=special[0] if special else None,
                     eos=special[1] if len(special) > 1 else None, add_bos=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("train", help="train a tokenizer on text files (raw, no normalization)")
    t.add_argument("files", nargs="+")
    t.add_argument("--vocab-size", type=int, default=2048)
    t.add_argument("--out", required=True, help="tokenizer.json to write")
    e = sub.add_parser("encode", help="print the ids of a text")
    e.add_argument("--tokenizer", required=True)
    e.add_argument("text")
    a = ap.parse_args(argv)
    if a.cmd == "train":
        wc = collections.Counter()
        for fn in a.files:
            with open(fn, encoding="utf-8") as f:
                count_words([f.read()], wc)
        tok = train(wc, a.vocab_size, log=lambda s: print(s, file=sys.stderr))
        tok.save(a.out)
        print("wrote %s: %d tokens, %d merges" % (a.out, tok.vocab_size, len(tok.merges)))
    else:
        tok = Tokenizer.load(a.tokenizer)
        print(" ".join(map(str, tok.encode(a.text))))


if __name__ == "__main__":
    main()
