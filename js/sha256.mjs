// sha256.mjs: incremental SHA-256 (FIPS 180-4) in plain JS, for verifying streamed downloads in
// browsers (WebCrypto's digest() is one-shot and would need the whole file as one more copy).
// Node uses node:crypto instead (platform-node.mjs); tests check the two agree.
//
//   const h = new Sha256(); h.update(chunk1); h.update(chunk2); h.hex() -> '9f86d0...'

const K = new Int32Array([
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
]);

export class Sha256 {
    constructor() {
        this.h = new Int32Array([0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c,
            0x1f83d9ab, 0x5be0cd19]);
        this.w = new Int32Array(64);
        this.buf = new Uint8Array(64);
        this.nbuf = 0;
        this.len = 0;            // bytes hashed (a double: exact up to 2^53)
        this.done = false;
    }

    /** Feeds bytes (Uint8Array or any ArrayBufferView). */
    update(data) {
        if (this.done) throw new Error('Sha256: update after digest');
        const b = data instanceof Uint8Array ? data : new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
        let i = 0;
        const n = b.length;
        this.len += n;
        if (this.nbuf) {
            const take = Math.min(64 - this.nbuf, n);
            this.buf.set(b.subarray(0, take), this.nbuf);
            this.nbuf += take;
            i = take;
            if (this.nbuf < 64) return this;
            this._block(this.buf, 0);
            this.nbuf = 0;
        }
        const full = i + ((n - i) & ~63);
        if (full > i) blocks(this.h, this.w, b, i, full);
        i = full;
        if (i < n) { this.buf.set(b.subarray(i), 0); this.nbuf = n - i; }
        return this;
    }

    _block(b, o) { blocks(this.h, this.w, b, o, o + 64); }

    /** The digest as 32 bytes (ends the hash). */
    digest() {
        if (!this.done) {
            const bits = this.len * 8;
            const pad = new Uint8Array(((this.nbuf < 56 ? 56 : 120) - this.nbuf) + 8);
            pad[0] = 0x80;
            const hi = Math.floor(bits / 0x100000000), lo = bits >>> 0;
            const p = pad.length - 8;
            pad[p] = hi >>> 24; pad[p + 1] = hi >>> 16; pad[p + 2] = hi >>> 8; pad[p + 3] = hi;
            pad[p + 4] = lo >>> 24; pad[p + 5] = lo >>> 16; pad[p + 6] = lo >>> 8; pad[p + 7] = lo;
            const len = this.len;
            this.update(pad);
            this.len = len;
            this.done = true;
        }
        const out = new Uint8Array(32);
        for (let i = 0; i < 8; i++) {
            const v = this.h[i];
            out[4 * i] = v >>> 24; out[4 * i + 1] = v >>> 16; out[4 * i + 2] = v >>> 8; out[4 * i + 3] = v;
        }
        return out;
    }

    /** The digest as 64 lowercase hex digits (ends the hash). */
    hex() {
        return Array.from(this.digest(), x => x.toString(16).padStart(2, '0')).join('');
    }
}

/** Compresses the 64-byte blocks b[o..end) into the state h (w: 64-word schedule scratch). */
function blocks(h, w, b, o, end) {
    let h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3], h4 = h[4], h5 = h[5], h6 = h[6], h7 = h[7];
    for (; o + 64 <= end; o += 64) {
        for (let t = 0; t < 16; t++) {
            const j = o + 4 * t;
            w[t] = (b[j] << 24) | (b[j + 1] << 16) | (b[j + 2] << 8) | b[j + 3];
        }
        for (let t = 16; t < 64; t++) {
            const x = w[t - 15], y = w[t - 2];
            const s0 = ((x >>> 7) | (x << 25)) ^ ((x >>> 18) | (x << 14)) ^ (x >>> 3);
            const s1 = ((y >>> 17) | (y << 15)) ^ ((y >>> 19) | (y << 13)) ^ (y >>> 10);
            w[t] = (w[t - 16] + s0 + w[t - 7] + s1) | 0;
        }
        let a = h0, bb = h1, c = h2, d = h3, e = h4, f = h5, g = h6, hh = h7;
        for (let t = 0; t < 64; t++) {
            const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
            const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[t] + w[t]) | 0;
            const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
            const t2 = (S0 + ((a & bb) ^ (a & c) ^ (bb & c))) | 0;
            hh = g; g = f; f = e; e = (d + t1) | 0; d = c; c = bb; bb = a; a = (t1 + t2) | 0;
        }
        h0 = (h0 + a) | 0; h1 = (h1 + bb) | 0; h2 = (h2 + c) | 0; h3 = (h3 + d) | 0;
        h4 = (h4 + e) | 0; h5 = (h5 + f) | 0; h6 = (h6 + g) | 0; h7 = (h7 + hh) | 0;
    }
    h[0] = h0; h[1] = h1; h[2] = h2; h[3] = h3; h[4] = h4; h[5] = h5; h[6] = h6; h[7] = h7;
}
