#!/usr/bin/env python3
"""plot.py: loss curves from train.py's log.jsonl files as a PNG, with numpy and zlib only (no
matplotlib: the machines and CI have none). A small line-chart rasterizer with a 5x7 bitmap font.

    /usr/bin/python3 tools/train/plot.py OUT/target/log.jsonl OUT/draft/log.jsonl -o models/loss.png

Per log: the training loss (mean over each logged interval of log_every steps, lightly smoothed) and
the validation loss (eval records), against training tokens. A resumed run's log is one file with
continuing step/token counts; records of an earlier schedule that was restarted with --fresh are in
log.<time>.jsonl files and are not read.
"""
import argparse
import json
import struct
import sys
import zlib

import numpy as np

# 5x7 glyphs: 7 rows of 5 columns, "#" = ink
_FONT = """
0 .###. #...# #..## #.#.# ##..# #...# .###.
1 ..#.. .##.. ..#.. ..#.. ..#.. ..#.. .###.
2 .###. #...# ....# ...#. ..#.. .#... #####
3 ####. ....# ....# .###. ....# ....# ####.
4 ...#. ..##. .#.#. #..#. ##### ...#. ...#.
5 ##### #.... ####. ....# ....# #...# .###.
6 ..##. .#... #.... ####. #...# #...# .###.
7 ##### ....# ...#. ..#.. .#... .#... .#...
8 .###. #...# #...# .###. #...# #...# .###.
9 .###. #...# #...# .#### ....# ...#. .##..
. ..... ..... ..... ..... ..... .##.. .##..
, ..... ..... ..... ..... .##.. ..#.. .#...
- ..... ..... ..... .###. ..... ..... .....
: ..... .##.. .##.. ..... .##.. .##.. .....
( ...#. ..#.. .#... .#... .#... ..#.. ...#.
) .#... ..#.. ...#. ...#. ...#. ..#.. .#...
/ ....# ...#. ...#. ..#.. .#... .#... #....
a ..... ..... .###. ....# .#### #...# .####
b #.... #.... ####. #...# #...# #...# ####.
c ..... ..... .###. #.... #.... #...# .###.
d ....# ....# .#### #...# #...# #...# .####
e ..... ..... .###. #...# ##### #.... .###.
f ..##. .#... ####. .#... .#... .#... .#...
g ..... .#### #...# #...# .#### ....# .###.
h #.... #.... ####. #...# #...# #...# #...#
i ..#.. ..... .##.. ..#.. ..#.. ..#.. .###.
j ...#. ..... ..##. ...#. ...#. #..#. .##..
k #.... #.... #..#. #.#.. ##... #.#.. #..#.
l .##.. ..#.. ..#.. ..#.. ..#.. ..#.. .###.
m ..... ..... ##.#. #.#.# #.#.# #.#.# #.#.#
n ..... ..... ####. #...# #...# #...# #...#
o ..... ..... .###. #...# #...# #...# .###.
p ..... ..... ####. #...# ####. #.... #....
q ..... ..... .#### #...# .#### ....# ....#
r ..... ..... #.##. ##..# #.... #.... #....
s ..... ..... .#### #.... .###. ....# ####.
t .#... .#... ####. .#... .#... .#..# ..##.
u ..... ..... #...# #...# #...# #..## .##.#
v ..... ..... #...# #...# #...# .#.#. ..#..
w ..... ..... #...# #...# #.#.# #.#.# .#.#.
x ..... ..... #...# .#.#. ..#.. .#.#. #...#
y ..... ..... #...# #...# .#### ....# .###.
z ..... ..... ##### ...#. ..#.. .#... #####
"""
_GLYPHS = {" ": "." * 35}
for _line in _FONT.strip().splitlines():
    _ch, _rows = _line[0], _line[2:].split()
    assert len(_rows) == 7 and all(len(r) == 5 for r in _rows), _line
    _GLYPHS[_ch] = "".join(_rows)

COLORS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (148, 103, 189), (255, 127, 14), (23, 190, 207)]


class Canvas:
    def __init__(self, w, h, bg=(255, 255, 255)):
        self.w, self.h = w, h
        self.px = np.empty((h, w, 3), np.uint8)
        self.px[:] = bg

    def dot(self, x, y, c, r=0):
        x, y = int(round(x)), int(round(y))
        self.px[max(0, y - r):max(0, min(self.h, y + r + 1)), max(0, x - r):max(0, min(self.w, x + r + 1))] = c

    def line(self, x0, y0, x1, y1, c, r=0):
        n = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
        for t in np.linspace(0.0, 1.0, n + 1):
            self.dot(x0 + (x1 - x0) * t, y0 + (y1 - y0) * t, c, r)

    def rect(self, x0, y0, x1, y1, c):
        self.px[int(y0):int(y1), int(x0):int(x1)] = c

    def text(self, x, y, s, c=(0, 0, 0), scale=2, anchor="left"):
        """Draws s with its top at y; anchor left/right/center at x. Unknown characters print as space."""
        width = len(s) * 6 * scale - scale
        if anchor == "right":
            x -= width
        elif anchor == "center":
            x -= width // 2
        for i, ch in enumerate(s.lower()):
            g = _GLYPHS.get(ch, _GLYPHS[" "])
            for k, v in enumerate(g):
                if v == "#":
                    gx, gy = x + (i * 6 + k % 5) * scale, y + (k // 5) * scale
                    self.rect(gx, gy, gx + scale, gy + scale, c)
        return width

    def png(self):
        raw = b"".join(b"\x00" + self.px[y].tobytes() for y in range(self.h))

        def chunk(tag, data):
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", self.w, self.h, 8, 2, 0, 0, 0))
                + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def nice_ticks(lo, hi, n=6):
    span = max(hi - lo, 1e-9)
    raw = span / n
    mag = 10 ** np.floor(np.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    t = np.arange(np.ceil(lo / step) * step, hi + step * 1e-6, step)
    return [float(v) for v in t], step


def fmt_tick(v, step):
    if step >= 1:
        return "%d" % round(v)
    d = max(0, int(-np.floor(np.log10(step) + 1e-9)))
    return "%.*f" % (d, v)


def line_chart(series, title, xlabel, ylabel, w=900, h=540, ylim=None):
    """series: [(label, xs, ys, color, style)] with style "line" or "dots"."""
    cv = Canvas(w, h)
    L, R, T, B = 80, 20, 44, 64
    allx = np.concatenate([np.asarray(s[1], float) for s in series if len(s[1])])
    ally = np.concatenate([np.asarray(s[2], float) for s in series if len(s[2])])
    x0, x1 = 0.0, float(allx.max()) * 1.02
    y0, y1 = ylim if ylim else (float(ally.min()), float(ally.max()))
    pad = (y1 - y0) * 0.04
    y0, y1 = y0 - pad, y1 + pad

    def X(x):
        return L + (x - x0) / (x1 - x0) * (w - L - R)

    def Y(y):
        return h - B - (y - y0) / (y1 - y0) * (h - T - B)
    xt, xs = nice_ticks(x0, x1)
    yt, ys = nice_ticks(y0, y1)
    for v in xt:
        cv.line(X(v), T, X(v), h - B, (228, 228, 228))
        cv.text(int(X(v)), h - B + 8, fmt_tick(v, xs), anchor="center")
    for v in yt:
        cv.line(L, Y(v), w - R, Y(v), (228, 228, 228))
        cv.text(L - 8, int(Y(v)) - 7, fmt_tick(v, ys), anchor="right")
    cv.line(L, T, L, h - B, (0, 0, 0))
    cv.line(L, h - B, w - R, h - B, (0, 0, 0))
    cv.text(w // 2, 12, title, anchor="center")
    cv.text((L + w - R) // 2, h - 26, xlabel, anchor="center")
    cv.text(8, T - 26, ylabel)
    for label, xs_, ys_, c, style in series:
        pts = [(X(a), Y(b)) for a, b in zip(xs_, ys_) if y0 <= b <= y1]
        if style == "dots":
            for p in pts:
                cv.dot(p[0], p[1], c, r=2)
        else:
            for p, q in zip(pts, pts[1:]):
                cv.line(p[0], p[1], q[0], q[1], c, r=1)
    ly = T + 8
    for label, _, _, c, style in series:                     # legend, top right
        wdt = len(label) * 12
        lx = w - R - 16 - wdt - 30
        if style == "dots":
            cv.dot(lx + 12, ly + 7, c, r=2)
        else:
            cv.line(lx, ly + 7, lx + 24, ly + 7, c, r=1)
        cv.text(lx + 32, ly, label)
        ly += 22
    return cv


def read_log(path):
    tr, ev = [], []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            r = json.loads(line)
            if r.get("kind") == "train":
                tr.append(r)
            elif r.get("kind") == "eval":
                ev.append(r)
    return tr, ev


def smooth(y, k=5):
    y = np.asarray(y, float)
    if len(y) < k:
        return y
    c = np.convolve(y, np.ones(k) / k, mode="valid")
    return np.concatenate([y[:k - 1], c])


def loss_chart(logs, names=None, offsets=None, ylim=None):
    """offsets: tokens to add to each log's token counts (a continued run drawn after its start)."""
    series = []
    for i, p in enumerate(logs):
        tr, ev = read_log(p)
        name = names[i] if names else p
        off = offsets[i] if offsets else 0
        c = COLORS[(2 * i) % len(COLORS)]
        cl = tuple(int(v + (255 - v) * 0.55) for v in c)
        series.append(("%s train" % name, [(r["tokens"] + off) / 1e6 for r in tr], smooth([r["loss"] for r in tr]),
                       cl, "line"))
        series.append(("%s val" % name, [(r["tokens"] + off) / 1e6 for r in ev], [r["val_loss"] for r in ev], c,
                       "dots"))
    if ylim is None:
        lo = min(min(s[2]) for s in series if len(s[2]))
        ylim = (np.floor(lo * 4) / 4, min(6.0, max(max(s[2]) for s in series if len(s[2]))))
    return line_chart(series, "bitnet b1.58 qat: loss", "training tokens (millions)", "loss (nats/token)",
                      ylim=ylim)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("logs", nargs="+", help="log.jsonl files (one curve pair each)")
    ap.add_argument("--names", help="comma-separated legend names (default: the paths)")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args(argv)
    cv = loss_chart(a.logs, a.names.split(",") if a.names else None)
    with open(a.out, "wb") as f:
        f.write(cv.png())
    return 0


if __name__ == "__main__":
    sys.exit(main())
