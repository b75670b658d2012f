// text.mjs: token ids -> text on the engine side, from the vocabulary table the model worker sends
// once (every token's bytes), so streaming needs no round trip per token. UTF-8 sequences split
// across tokens are held back until complete (TextDecoder in stream mode), and stop strings are
// found across token boundaries: the last (longest stop - 1) characters stay unemitted until they
// cannot start a stop string any more.

export class Vocab {
    /** v: {bytes: Uint8Array, offsets: Int32Array (n_vocab + 1), eog: Int32Array, digest} */
    constructor(v) {
        this.bytes = v.bytes;
        this.offsets = v.offsets;
        this.eog = new Set(v.eog);
        this.digest = v.digest;
        this.size = v.offsets.length - 1;
    }

    piece(id) {
        return this.bytes.subarray(this.offsets[id], this.offsets[id + 1]);
    }

    /** The text of ids (control tokens render as nothing), decoded once as a whole. */
    decode(ids) {
        let n = 0;
        for (const id of ids) { this._check(id); n += this.offsets[id + 1] - this.offsets[id]; }
        const out = new Uint8Array(n);
        let o = 0;
        for (const id of ids) { const p = this.piece(id); out.set(p, o); o += p.length; }
        return new TextDecoder().decode(out);
    }

    _check(id) {
        if (!Number.isInteger(id) || id < 0 || id >= this.size) throw new RangeError(`token id ${id} is out of range`);
    }
}

export class TextStream {
    /** stops: strings that end the text (not included in it). */
    constructor(vocab, stops = []) {
        this.vocab = vocab;
        this.dec = new TextDecoder('utf-8');
        this.stops = stops.filter(s => s.length > 0);
        this.hold = this.stops.reduce((m, s) => Math.max(m, s.length - 1), 0);
        this.pending = '';
        this.stopped = false;
        this.text = '';             // everything emitted so far
    }

    /** Adds tokens; returns the text that is now safe to emit ('' if none). Sets .stopped on a stop string. */
    push(ids) {
        if (this.stopped) return '';
        for (const id of ids) this.pending += this.dec.decode(this.vocab.piece(id), { stream: true });
        return this._drain(false);
    }

    /** The rest at the end of generation. */
    end() {
        if (this.stopped) return '';
        this.pending += this.dec.decode();
        return this._drain(true);
    }

    _drain(final) {
        let cut = -1, stopLen = 0;
        for (const s of this.stops) {
            const i = this.pending.indexOf(s);
            if (i >= 0 && (cut < 0 || i < cut)) { cut = i; stopLen = s.length; }
        }
        let out;
        if (cut >= 0) {
            out = this.pending.slice(0, cut);
            this.pending = '';
            this.stopped = true;
            this.stopString = stopLen;
        } else if (final || this.hold === 0) {
            out = this.pending;
            this.pending = '';
        } else {
            let keep = Math.min(this.hold, this.pending.length);
            let at = this.pending.length - keep;
            // never split a surrogate pair
            if (at > 0 && at < this.pending.length) {
                const c = this.pending.charCodeAt(at);
                if (c >= 0xdc00 && c <= 0xdfff) at--;
            }
            out = this.pending.slice(0, at);
            this.pending = this.pending.slice(at);
        }
        this.text += out;
        return out;
    }
}
