/* unicode.c: code point classes, UTF-8 decoding and the BPE pre-tokenizer splits, written to give the
 * same words as llama.cpp's unicode.cpp (c392e50): its hand-written splitters for the GPT-2 and
 * llama-3 regexes (including their quirks), and, for the "default" pre-tokenizer, the std::regex
 * passes over its "collapsed" text, which reduce to the character-class scans below. */
#include <stdlib.h>
#include "unicode.h"
#include "unicode_data.h"

#define N_RANGES (sizeof unicode_ranges / sizeof unicode_ranges[0])
#define OUT_OF_RANGE 0xFFFFFFFFu

int unicode_category(uint32_t cp) {
    if (cp > 0x10FFFF) return UNICODE_C;
    size_t lo = 0, hi = N_RANGES;          /* find the last range whose start is <= cp */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if ((unicode_ranges[mid] >> 3) <= cp) lo = mid;
        else hi = mid;
    }
    return (int)(unicode_ranges[lo] & 7);
}

static int is_space(uint32_t cp) {
    if (cp < 0x80) return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20;
    for (size_t i = 0; i < sizeof unicode_whitespace / sizeof unicode_whitespace[0]; i++)
        if (unicode_whitespace[i] == cp) return 1;
    return 0;
}

unsigned unicode_flags(uint32_t cp) {
    static const unsigned cat_flag[7] = {0, UNICODE_F_LETTER, UNICODE_F_NUMBER, UNICODE_F_PUNCT, 0, 0, 0};
    return cat_flag[unicode_category(cp)] | (is_space(cp) ? UNICODE_F_SPACE : 0u) | UNICODE_F_ANY;
}

uint32_t unicode_tolower_ascii(uint32_t cp) {
    if (cp >= 'A' && cp <= 'Z') return cp + 32;
    for (size_t i = 0; i < sizeof unicode_lower_ascii / sizeof unicode_lower_ascii[0]; i++)
        if (unicode_lower_ascii[i][0] == cp) return unicode_lower_ascii[i][1];
    return cp;
}

uint32_t unicode_decode(const uint8_t *s, size_t n, size_t *adv) {
    uint8_t b = s[0];
    uint32_t cp;
    if (b < 0x80) { *adv = 1; return b; }
    if (!(b & 0x40)) goto bad;                              /* continuation byte as lead */
    if (!(b & 0x20)) {
        if (n < 2 || (s[1] & 0xC0) != 0x80) goto bad;
        *adv = 2;
        return ((uint32_t)(b & 0x1F) << 6) | (s[1] & 0x3F);
    }
    if (!(b & 0x10)) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80) goto bad;
        *adv = 3;
        return ((uint32_t)(b & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) | (s[2] & 0x3F);
    }
    if (!(b & 0x08)) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80) goto bad;
        cp = ((uint32_t)(b & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) | ((uint32_t)(s[2] & 0x3F) << 6) |
             (s[3] & 0x3F);
        if (cp > 0x10FFFF) goto bad;
        *adv = 4;
        return cp;
    }
bad:
    *adv = 1;
    return 0xFFFD;
}

size_t unicode_encode(uint32_t cp, uint8_t out[4]) {
    if (cp < 0x80) { out[0] = (uint8_t)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | ((cp >> 18) & 0x07));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- splitters ------------------------------------------------------------------------------------
 * Each takes segments (lengths in code points) and refines them into out[], returning the count. Within
 * a segment [ini, end), F(p) is the flags at p or 0 past the end and CP(p) the code point or
 * OUT_OF_RANGE, as llama.cpp's _get_flags/_get_cpt. ADD(e) closes the word [prev, e) if non-empty. */

#define F(p) ((p) < end ? (unsigned)fl[p] : 0u)
#define CP(p) ((p) < end ? cp[p] : OUT_OF_RANGE)
#define ADD(e) do { size_t e_ = (e); if (e_ > prev) out[k++] = e_ - prev; prev = e_; } while (0)
#define SLN (UNICODE_F_SPACE | UNICODE_F_LETTER | UNICODE_F_NUMBER)

/* Length (2 or 3) of an English contraction ('s 't 'm 'd 're 've 'll) starting at pos, else 0;
 * ci: case-insensitive (llama-3's (?i:...)). */
static size_t contraction(const uint32_t *cp, size_t pos, size_t end, int ci) {
    if (cp[pos] != '\'' || pos + 1 >= end) return 0;
    const uint32_t n1 = ci ? unicode_tolower_ascii(cp[pos + 1]) : cp[pos + 1];
    if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') return 2;
    if (pos + 2 >= end) return 0;
    const uint32_t n2 = ci ? unicode_tolower_ascii(cp[pos + 2]) : cp[pos + 2];
    return ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) ? 3 : 0;
}

/* 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static size_t split_gpt2(const uint32_t *cp, const uint8_t *fl, const size_t *seg, size_t nseg, size_t *out) {
    size_t k = 0, start = 0;
    for (size_t s = 0; s < nseg; s++) {
        const size_t ini = start, end = start + seg[s];
        size_t pos = ini, prev = ini;
        start = end;
        while (pos < end) {
            const uint32_t c = cp[pos];
            const unsigned f = fl[pos];
            const size_t nc = contraction(cp, pos, end, 0);           /* 's|'t|'re|'ve|'m|'ll|'d */
            if (nc) { pos += nc; ADD(pos); continue; }
            unsigned f2 = c == ' ' ? F(pos + 1) : f;
            if (f2 & UNICODE_F_LETTER) {                       /* ' ?\p{L}+' */
                pos += (c == ' ');
                while (F(pos) & UNICODE_F_LETTER) pos++;
                ADD(pos); continue;
            }
            if (f2 & UNICODE_F_NUMBER) {                       /* ' ?\p{N}+' */
                pos += (c == ' ');
                while (F(pos) & UNICODE_F_NUMBER) pos++;
                ADD(pos); continue;
            }
            if (!(f2 & SLN) && f2) {                           /* ' ?[^\s\p{L}\p{N}]+' */
                pos += (c == ' ');
                while (!(F(pos) & SLN) && F(pos)) pos++;
                ADD(pos); continue;
            }
            size_t nws = 0;
            while (F(pos + nws) & UNICODE_F_SPACE) nws++;
            if (nws > 1 && CP(pos + nws) != OUT_OF_RANGE) {  /* '\s+(?!\S)': leave the last one */
                pos += nws - 1; ADD(pos); continue;
            }
            if (nws > 0) { pos += nws; ADD(pos); continue; }   /* '\s+' */
            pos++; ADD(pos);                                   /* no match: one code point */
        }
    }
    return k;
}

/* (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|
 * \s+(?!\S)|\s+ */
static size_t split_llama3(const uint32_t *cp, const uint8_t *fl, const size_t *seg, size_t nseg, size_t *out) {
    size_t k = 0, start = 0;
    for (size_t s = 0; s < nseg; s++) {
        const size_t ini = start, end = start + seg[s];
        size_t pos = ini, prev = ini;
        start = end;
        while (pos < end) {
            const uint32_t c = cp[pos];
            const unsigned f = fl[pos];
            const size_t nc = contraction(cp, pos, end, 1);           /* (?i:'s|'t|'re|'ve|'m|'ll|'d) */
            if (nc) { pos += nc; ADD(pos); continue; }
            if (!(c == '\r' || c == '\n' || (f & UNICODE_F_NUMBER))) {    /* [^\r\n\p{L}\p{N}]?\p{L}+ */
                if ((f & UNICODE_F_LETTER) || (F(pos + 1) & UNICODE_F_LETTER)) {
                    pos++;
                    while (F(pos) & UNICODE_F_LETTER) pos++;
                    ADD(pos); continue;
                }
            }
            if (f & UNICODE_F_NUMBER) {                                    /* \p{N}{1,3} */
                size_t i0 = pos;
                while (F(pos) & UNICODE_F_NUMBER) {
                    if (++pos - i0 >= 3) { ADD(pos); i0 = pos; }
                }
                ADD(pos); continue;
            }
            /* ' ?[^\s\p{L}\p{N}]+[\r\n]*'; llama.cpp tests the flags of c itself (not of the next code
             * point) for "inside the text", so a lone trailing ' ' becomes a word here too */
            unsigned f2 = c == ' ' ? F(pos + 1) : f;
            if (!(f2 & SLN) && f) {
                pos += (c == ' ');
                while (!(F(pos) & SLN) && F(pos)) pos++;
                while (CP(pos) == '\r' || CP(pos) == '\n') pos++;
                ADD(pos); continue;
            }
            size_t nws = 0, last_rn = 0;
            while (F(pos + nws) & UNICODE_F_SPACE) {
                const uint32_t c2 = cp[pos + nws];
                if (c2 == '\r' || c2 == '\n') last_rn = pos + nws + 1;
                nws++;
            }
            if (last_rn > 0) { pos = last_rn; ADD(pos); continue; }        /* \s*[\r\n]+ */
            if (nws > 1 && CP(pos + nws) != OUT_OF_RANGE) {               /* \s+(?!\S) */
                pos += nws - 1; ADD(pos); continue;
            }
            if (nws > 0) { pos += nws; ADD(pos); continue; }               /* \s+ */
            pos++; ADD(pos);
        }
    }
    return k;
}

/* A std::regex "[class]+" pass: runs of code points in the class become words, and so does each gap
 * between runs. */
static size_t split_runs(const uint32_t *cp, const uint8_t *fl, int (*in_class)(uint32_t, unsigned),
                         const size_t *seg, size_t nseg, size_t *out) {
    size_t k = 0, start = 0;
    for (size_t s = 0; s < nseg; s++) {
        const size_t ini = start, end = start + seg[s];
        size_t pos = ini, prev = ini;
        start = end;
        while (pos < end) {
            if (in_class(cp[pos], fl[pos])) {
                ADD(pos);                                   /* the gap before the run */
                while (pos < end && in_class(cp[pos], fl[pos])) pos++;
                ADD(pos);
            } else {
                pos++;
            }
        }
        ADD(end);
    }
    return k;
}

/* The "[0-9][0-9][0-9]" pass: leftmost non-overlapping triples of ASCII digits. */
static size_t split_digit3(const uint32_t *cp, const size_t *seg, size_t nseg, size_t *out) {
    size_t k = 0, start = 0;
    for (size_t s = 0; s < nseg; s++) {
        const size_t ini = start, end = start + seg[s];
        size_t pos = ini, prev = ini;
        start = end;
#define DIG(p) (cp[p] >= '0' && cp[p] <= '9')
        while (pos < end) {
            if (pos + 3 <= end && DIG(pos) && DIG(pos + 1) && DIG(pos + 2)) {
                ADD(pos);
                pos += 3;
                ADD(pos);
            } else {
                pos++;
            }
        }
#undef DIG
        ADD(end);
    }
    return k;
}

/* In the collapsed text, an ASCII code point stays itself and any other becomes 0x0B if whitespace, a
 * class byte if \p{N}/\p{L}/\p{P}, else 0xD0; so "[\p{P}\$\+<=>\^~\|]" matches the ASCII punctuation
 * and symbols but '`', and non-ASCII non-space \p{P}. "\p{N}" matches 0-9 and non-ASCII \p{N}. */
static int class_punct(uint32_t c, unsigned f) {
    if (c < 0x80) return c > 0x20 && c < 0x7F && c != '`' && !((c >= '0' && c <= '9') ||
                         (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
    return (f & UNICODE_F_PUNCT) && !(f & UNICODE_F_SPACE);
}

static int class_number(uint32_t c, unsigned f) {
    if (c < 0x80) return c >= '0' && c <= '9';
    return (f & UNICODE_F_NUMBER) && !(f & UNICODE_F_SPACE);
}

ptrdiff_t unicode_pretokenize(unicode_pre pre, const uint32_t *cps, size_t n, size_t *lens) {
    if (n == 0) return 0;
    uint8_t *fl = malloc(n);
    if (!fl) return -1;
    for (size_t i = 0; i < n; i++) fl[i] = (uint8_t)unicode_flags(cps[i]);
    size_t k;
    const size_t whole = n;
    if (pre == UNICODE_PRE_LLAMA3) {
        k = split_llama3(cps, fl, &whole, 1, lens);
    } else if (pre == UNICODE_PRE_GPT2) {
        k = split_gpt2(cps, fl, &whole, 1, lens);
    } else {
        size_t *tmp = malloc(n * sizeof *tmp);
        if (!tmp) { free(fl); return -1; }
        k = split_runs(cps, fl, class_punct, &whole, 1, tmp);
        k = split_gpt2(cps, fl, tmp, k, lens);
        k = split_runs(cps, fl, class_number, lens, k, tmp);
        k = split_digit3(cps, tmp, k, lens);
        free(tmp);
    }
    free(fl);
    return (ptrdiff_t)k;
}
