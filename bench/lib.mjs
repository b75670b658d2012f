// lib.mjs: the little the benchmark scripts share (bench.mjs, ab.mjs, peers.mjs).

/** The value after `name` on the command line, or dflt. */
export function arg(name, dflt) {
    const i = process.argv.indexOf(name);
    return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : dflt;
}

/** Median of a non-empty array of numbers (the mean of the two middle ones for an even length). */
export function median(v) {
    const s = [...v].sort((x, y) => x - y), h = s.length >> 1;
    return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}
