/* api.c: the public tokenizer calls and the UTF-8-safe streaming detokenizer. */
#include <string.h>

#include "internal.h"
#include "model.h"

int32_t trit_tokenize(const trit_model *m, const char *text, int32_t len, int32_t *out, int32_t max, int32_t flags) {
    if (!m || !text || (max > 0 && !out) || max < 0) return trit_err(TRIT_ERR_ARG, "trit_tokenize: bad arguments");
    size_t n = len < 0 ? strlen(text) : (size_t)len;
    return vocab_tokenize(m->vocab, text, n, flags, out, max);
}

int32_t trit_token_to_piece(const trit_model *m, int32_t token, char *buf, int32_t len, int32_t flags) {
    if (!m || len < 0 || (len > 0 && !buf)) return trit_err(TRIT_ERR_ARG, "trit_token_to_piece: bad arguments");
    if (token < 0 || token >= m->info.n_vocab) return trit_err(TRIT_ERR_ARG, "token %d is out of range", token);
    return vocab_piece(m->vocab, token, buf, len, flags);
}

int32_t trit_token_is_eog(const trit_model *m, int32_t token) { return m && vocab_is_eog(m->vocab, token); }

int32_t trit_token_id(const trit_model *m, const char *text) {
    if (!m || !text) return -1;
    return vocab_find(m->vocab, text, strlen(text));
}

void trit_detok_init(trit_detok *d) { memset(d, 0, sizeof *d); }

/* length of the UTF-8 sequence a lead byte starts (1 for invalid leads: passed through as is) */
static int utf8_len(uint8_t c) {
    if (c < 0x80) return 1;
    if ((c & 0xe0) == 0xc0) return 2;
    if ((c & 0xf0) == 0xe0) return 3;
    if ((c & 0xf8) == 0xf0) return 4;
    return 1;
}

int32_t trit_detok_push(trit_detok *d, const trit_model *m, int32_t token, const char **out) {
    char piece[sizeof d->out];
    int32_t k = trit_token_to_piece(m, token, piece, (int32_t)sizeof piece - 8, 0);
    if (k < 0) { *out = d->out; return k; }
    if (k > (int32_t)sizeof piece - 8) k = (int32_t)sizeof piece - 8;   /* pieces are short; clamp */
    uint8_t buf[sizeof d->out + 8];
    int32_t n = 0;
    memcpy(buf, d->pending, (size_t)d->n_pending);
    n = d->n_pending;
    memcpy(buf + n, piece, (size_t)k);
    n += k;
    /* find the start of a trailing incomplete sequence */
    int32_t cut = n;
    for (int32_t i = n - 1; i >= 0 && i >= n - 4; i--) {
        uint8_t c = buf[i];
        if ((c & 0xc0) == 0x80) continue;            /* continuation byte: keep looking for the lead */
        if (c >= 0xc0 && i + utf8_len(c) > n) cut = i;
        break;
    }
    int32_t ready = cut < (int32_t)sizeof d->out ? cut : (int32_t)sizeof d->out;
    memcpy(d->out, buf, (size_t)ready);
    d->n_pending = n - cut;
    if (d->n_pending > (int32_t)sizeof d->pending) d->n_pending = 0;
    memcpy(d->pending, buf + cut, (size_t)d->n_pending);
    *out = d->out;
    return ready;
}

int32_t trit_detok_flush(trit_detok *d, const char **out) {
    int32_t n = 0;
    if (d->n_pending) { memcpy(d->out, "\xef\xbf\xbd", 3); n = 3; }
    d->n_pending = 0;
    *out = d->out;
    return n;
}
