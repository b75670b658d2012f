/* test_eval.c: src/eval.c and src/eval_task.c through trit.h: task lines (strict JSON with column
 * numbers, the HellaSwag/ARC/MMLU conversions), the saved-logits format (header checks, round trip,
 * corrupt rows), perplexity/KLD contracts on an oracle model, and multiple-choice log-likelihoods with
 * the shared KV cache equal to a fresh decode of each whole sequence. Built and run by `make test-eval`
 * (ASan/UBSan). */
#include <math.h>
#include <stdint.h>

#include "trit.h"
#include "testlib.h"

static trit_model *load(const char *rel, unsigned char **buf) {
    size_t n;
    *buf = read_oracle(rel, &n);
    trit_model *m = NULL;
    if (trit_model_load(*buf, n, &m)) { fprintf(stderr, "load %s: %s\n", rel, trit_last_error()); exit(2); }
    return m;
}

/* trit_mc_convert of a line: the status, and the output or the error message in out */
static int convert(const char *line, char *out, int cap) {
    int32_t n = trit_mc_convert(line, -1, out, cap);
    if (n < 0) snprintf(out, (size_t)cap, "%s", trit_last_error());
    return n < 0 ? n : 0;
}

static void expect_error(const char *line, const char *want) {
    char out[1024];
    int rc = convert(line, out, sizeof out);
    CHECK(rc == TRIT_ERR_FORMAT && strstr(out, want), "line %s: want error containing '%s', got %d '%s'", line, want, rc, out);
}

static void expect_json(const char *line, const char *want) {
    char out[2048];
    int rc = convert(line, out, sizeof out);
    CHECK(rc == 0 && !strcmp(out, want), "line %s:\n  got  %s\n  want %s", line, out, want);
}

static void test_json(void) {
    expect_json("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 1}",
                "{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 1}");
    /* escapes, surrogate pairs, extra keys ignored, whitespace anywhere, delimiter kept */
    expect_json(" {\"id\": [1, {\"x\": null}], \"context\" :\"q\\u00e9\\ud83d\\ude00\\n\\\"\\t\" , \"choices\":[\"\\/x\",\"y\"],"
                "\"label\":0, \"delimiter\": \"\\n\", \"ok\": true, \"no\": false, \"f\": -1.5e3}\r",
                "{\"context\": \"q\xc3\xa9\xf0\x9f\x98\x80\\n\\\"\\t\", \"choices\": [\"/x\", \"y\"], \"label\": 0, "
                "\"delimiter\": \"\\n\"}");
    expect_json("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": \"1\"}",
                "{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 1}");
    expect_json("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 1.0}",
                "{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 1}");
    expect_error("", "empty line");
    expect_error("   ", "empty line");
    expect_error("[1]", "column 1: expected a JSON object");
    expect_error("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 1", "column 51: expected ',' or '}' (the line ends here)");
    expect_error("{\"context\": \"a\" \"choices\": 1}", "column 17: expected ',' or '}'");
    expect_error("{\"context\": \"a\", }", "column 18: expected a member name");
    expect_error("{\"context\": [1, ]}", "column 17: expected a value");
    expect_error("{\"context\": \"a\\x\"}", "column 15: unknown escape");
    expect_error("{\"context\": \"a\\u12\"}", "bad \\u escape");
    expect_error("{\"context\": \"\\ud800x\"}", "without its low surrogate");
    expect_error("{\"context\": \"\\udc00\"}", "lone low surrogate");
    expect_error("{\"context\": \"\\u0000\"}", "NUL");
    expect_error("{\"context\": \"a\tb\"}", "control character");
    expect_error("{\"context\": \"\xc3(\"}", "invalid UTF-8");
    expect_error("{\"context\": \"\xed\xa0\x80\"}", "invalid UTF-8");          /* encoded surrogate */
    expect_error("{\"context\": \"\xc0\x80\"}", "invalid UTF-8");              /* overlong */
    expect_error("{\"context\": \"abc", "unterminated string");
    expect_error("{\"label\": 01}", "expected ',' or '}'");
    expect_error("{\"label\": 1.}", "digits must follow '.'");
    expect_error("{\"label\": -}", "bad number");
    expect_error("{\"label\": tru}", "expected a value");
    expect_error("{\"a\": 1, \"a\": 2}", "column 10: duplicate key \"a\"");
    expect_error("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 1} x", "unexpected text after the JSON object");
    char deep[300] = "{\"a\": ";
    for (int i = 0; i < 70; i++) strcat(deep, "[");
    expect_error(deep, "nesting deeper than 64");
    /* layout errors name the key */
    expect_error("{\"foo\": 1}", "unknown layout");
    expect_error("{\"context\": 1, \"choices\": [\"b\", \"c\"], \"label\": 1}", "\"context\" must be a string, not a number");
    expect_error("{\"context\": \"a\", \"choices\": [\"b\"], \"label\": 0}", "at least 2 choices");
    expect_error("{\"context\": \"a\", \"choices\": [\"b\", 2], \"label\": 0}", "\"choices\"[1] must be a string");
    expect_error("{\"context\": \"a\", \"choices\": [\"b\", \"c\"]}", "missing key \"label\"");
    expect_error("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 2}", "integer in 0..1");
    expect_error("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": -1}", "integer in 0..1");
    expect_error("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 0.5}", "integer in 0..1");
    expect_error("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": \"x\"}", "must be a choice index");
    expect_error("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": true}", "integer choice index, not true");
}

static void test_layouts(void) {
    /* HellaSwag: activity_label + ": " + ctx_a + " " + ctx_b.capitalize(), then preprocess():
     * " [title]" -> ". ", "[...]" removed (not across a newline), "  " -> " " */
    expect_json("{\"activity_label\": \"Baking cookies\", \"ctx_a\": \"A woman [header] stirs.\", \"ctx_b\": \"sHE adds\","
                " \"endings\": [\" flour [title] Then  bakes.\", \"sugar [x\\n] too\", \"  eggs   \", \"x\"], \"label\": \"2\"}",
                "{\"context\": \"Baking cookies: A woman stirs. She adds\", \"choices\": [\"flour. Then bakes.\", "
                "\"sugar [x\\n] too\", \"eggs\", \"x\"], \"label\": 2}");
    expect_error("{\"activity_label\": \"a\", \"ctx_a\": \"b\", \"ctx_b\": \"c\", \"endings\": [\"x\", \"y\"], \"label\": \"\"}",
                 "hellaswag layout: \"label\" must be a choice index");
    /* ARC, Hub layout and the original one */
    expect_json("{\"id\": \"x\", \"question\": \"Which is a gas?\", \"choices\": {\"text\": [\"ice\", \"steam\", \"rock\"],"
                " \"label\": [\"A\", \"B\", \"C\"]}, \"answerKey\": \"B\"}",
                "{\"context\": \"Question: Which is a gas?\\nAnswer:\", \"choices\": [\"ice\", \"steam\", \"rock\"], \"label\": 1}");
    expect_json("{\"question\": {\"stem\": \"2+2?\", \"choices\": [{\"text\": \"3\", \"label\": \"1\"}, {\"text\": \"4\", "
                "\"label\": \"2\"}]}, \"answerKey\": \"2\"}",
                "{\"context\": \"Question: 2+2?\\nAnswer:\", \"choices\": [\"3\", \"4\"], \"label\": 1}");
    expect_error("{\"question\": \"q\", \"choices\": {\"text\": [\"a\", \"b\"], \"label\": [\"A\"]}, \"answerKey\": \"A\"}",
                 "arc layout: \"choices.label\" needs at least 2");
    expect_error("{\"question\": \"q\", \"choices\": {\"text\": [\"a\", \"b\"], \"label\": [\"A\", \"B\"]}, \"answerKey\": \"C\"}",
                 "arc layout: answerKey \"C\" is not one of the choice labels");
    /* MMLU: description from the subject, letters as choices, answer as index or letter */
    expect_json("{\"question\": \"  What is 1+1? \", \"subject\": \"high_school_math\", \"choices\": [\"1\", \"2\", \"3\"], \"answer\": 1}",
                "{\"context\": \"The following are multiple choice questions (with answers) about high school math.\\n\\n"
                "What is 1+1?\\nA. 1\\nB. 2\\nC. 3\\nAnswer:\", \"choices\": [\"A\", \"B\", \"C\"], \"label\": 1}");
    expect_json("{\"question\": \"Q\", \"choices\": [\"x\", \"y\"], \"answer\": \"B\"}",
                "{\"context\": \"Q\\nA. x\\nB. y\\nAnswer:\", \"choices\": [\"A\", \"B\"], \"label\": 1}");
    expect_error("{\"question\": \"Q\", \"choices\": [\"x\", \"y\"], \"answer\": \"C\"}", "mmlu layout: \"answer\" is \"C\"");
    /* a small output buffer gets a truncated, NUL-terminated prefix and the full length */
    char small[8];
    int32_t n = trit_mc_convert("{\"context\": \"a\", \"choices\": [\"b\", \"c\"], \"label\": 1}", -1, small, sizeof small);
    CHECK(n == 51 && strlen(small) == 7 && !memcmp(small, "{\"conte", 7), "convert into a small buffer: %d '%s'", n, small);
}

static void test_logits_header(void) {
    trit_logits_info info;
    uint8_t h[TRIT_LOGITS_FIXED_BYTES] = {0};
    CHECK(trit_logits_info_parse(h, sizeof h, &info) == TRIT_ERR_FORMAT && strstr(trit_last_error(), "not a trit saved-logits"),
          "zeros: %s", trit_last_error());
    memcpy(h, "TRITLOGP", 8);
    h[8] = 2;
    CHECK(trit_logits_info_parse(h, sizeof h, &info) == TRIT_ERR_FORMAT && strstr(trit_last_error(), "version 2"), "version: %s",
          trit_last_error());
    h[8] = 1;
    h[12] = 100;    /* n_vocab 100 */
    h[16] = 16;     /* n_ctx 16 */
    h[20] = 2;      /* n_chunk 2 */
    h[24] = 8;      /* first 8 */
    h[28] = 224;    /* row bytes: 24 + 200 -> 224 */
    h[43] = 0x42;   /* range 32.0f = 0x42000000 */
    CHECK(trit_logits_info_parse(h, sizeof h, &info) == TRIT_OK, "valid header: %s", trit_last_error());
    CHECK(info.header_bytes == 64 + 4 * 32 && info.chunk_bytes == 7 * 224 && info.file_bytes == 64 + 128 + 2 * 7 * 224,
          "sizes %llu %llu %llu", (unsigned long long)info.header_bytes, (unsigned long long)info.chunk_bytes,
          (unsigned long long)info.file_bytes);
    CHECK(trit_logits_info_parse(h, 63, &info) == TRIT_ERR_FORMAT, "short header");
    h[28] = 226;
    CHECK(trit_logits_info_parse(h, sizeof h, &info) == TRIT_ERR_FORMAT && strstr(trit_last_error(), "row size"), "row size");
    h[28] = 224;
    h[24] = 15;
    CHECK(trit_logits_info_parse(h, sizeof h, &info) == TRIT_ERR_FORMAT, "first beyond n_ctx - 2");
    h[24] = 8;
    h[20] = 0;
    CHECK(trit_logits_info_parse(h, sizeof h, &info) == TRIT_ERR_FORMAT && strstr(trit_last_error(), "no chunks"), "no chunks");
    h[20] = 2;
    h[43] = 0;
    CHECK(trit_logits_info_parse(h, sizeof h, &info) == TRIT_ERR_FORMAT && strstr(trit_last_error(), "range"), "range 0");
}

/* Perplexity with saved rows, then KLD of the same model against them (0), of another model (> 0),
 * and the error contracts. */
static void test_ppl_kld(void) {
    unsigned char *b1, *b2, *b3;
    trit_model *m = load("models/llama-tiny-spm.tq2_0.gguf", &b1), *f = load("models/llama-tiny-spm.f32.gguf", &b2);
    trit_model *bpe = load("models/bitnet-tiny-bpe.f32.gguf", &b3);
    size_t tn;
    unsigned char *txt = read_oracle("ppl.txt", &tn);
    int32_t toks[512];
    int32_t n = trit_tokenize(m, (const char *)txt, 2000, toks, 512, TRIT_TOK_ADD_SPECIAL);
    CHECK(n > 96, "tokens %d", n);
    if (n > 512) n = 512;
    trit_ppl *p = NULL;
    CHECK(trit_ppl_init(m, NULL, toks, 40, 48, 0, 0, &p) == TRIT_ERR_ARG && !p, "fewer tokens than a chunk");
    CHECK(trit_ppl_init(m, NULL, toks, n, 3, 0, 0, &p) == TRIT_ERR_ARG, "n_ctx 3");
    int32_t bad[64];
    memcpy(bad, toks, sizeof bad);
    bad[7] = 5000;
    CHECK(trit_ppl_init(m, NULL, bad, 64, 32, 0, 0, &p) == TRIT_ERR_ARG && strstr(trit_last_error(), "outside the vocabulary"),
          "bad token");
    CHECK(trit_ppl_init(m, NULL, toks, n, 32, 2, 1, &p) == TRIT_OK, "ppl init: %s", trit_last_error());
    size_t hb, rb;
    const uint8_t *h = trit_ppl_header(p, &hb);
    CHECK(h && hb == 64 + 4 * 64, "header %zu", hb);
    CHECK(!trit_ppl_rows(p, &rb) && rb == 0, "no rows before the first chunk");
    uint8_t *file = malloc(hb + 2 * 15 * 2032);
    memcpy(file, h, hb);
    size_t at = hb;
    for (int ch = 0; ch < 2; ch++) {
        CHECK(trit_ppl_next(p) == TRIT_OK, "chunk %d", ch);
        const uint8_t *rows = trit_ppl_rows(p, &rb);
        CHECK(rows && rb == 15 * 2024, "rows %zu", rb);   /* 32/2 .. 30: 15 rows of 24 + 2000 bytes */
        memcpy(file + at, rows, rb);
        at += rb;
    }
    CHECK(trit_ppl_next(p) == TRIT_ERR_ARG && strstr(trit_last_error(), "all 2 chunks are done"), "after the last chunk");
    trit_ppl_result pr;
    trit_ppl_get(p, &pr);
    CHECK(pr.n_chunk == 2 && pr.n_done == 2 && pr.n_scored == 30 && pr.ppl > 1 && pr.ppl_err > 0, "ppl %g ± %g", pr.ppl, pr.ppl_err);
    /* the header holds the tokens as fed: BOS first in every chunk */
    CHECK(file[64] == 1 && file[64 + 4 * 32] == 1 && (int32_t)(file[64 + 4] | file[65 + 4] << 8) == toks[1], "tokens in the header");
    trit_logits_info info;
    CHECK(trit_logits_info_parse(file, hb, &info) == TRIT_OK && info.file_bytes == at && info.vocab_hash == trit_model_vocab_hash(m),
          "info of our own file");

    /* the same model: KL ~ 0 (quantisation floor), same top everywhere, PPL ratio exactly 1 */
    trit_kld *k = NULL;
    CHECK(trit_kld_init(m, NULL, file, hb - 1, &k) == TRIT_ERR_FORMAT && strstr(trit_last_error(), "truncated"), "short header");
    CHECK(trit_kld_init(m, NULL, file, hb, &k) == TRIT_OK, "kld init: %s", trit_last_error());
    trit_kld_result r;
    CHECK(trit_kld_get(k, &r) == TRIT_OK && r.n == 0 && r.n_chunk == 2, "empty stats");
    CHECK(trit_kld_next(k, file + hb, info.chunk_bytes - 1) == TRIT_ERR_ARG, "wrong chunk size");
    uint8_t *corrupt = malloc(info.chunk_bytes);
    memcpy(corrupt, file + hb, info.chunk_bytes);
    corrupt[3 * info.row_bytes + 16] ^= 0x7;     /* row 3: the top token id no longer carries the top code */
    CHECK(trit_kld_next(k, corrupt, info.chunk_bytes) == TRIT_ERR_FORMAT && strstr(trit_last_error(), "chunk 1, row 3 is corrupt"),
          "corrupt row: %s", trit_last_error());
    CHECK(trit_kld_get(k, &r) == TRIT_OK && r.n == 0 && r.n_done == 0, "a rejected chunk changes nothing");
    for (int ch = 0; ch < 2; ch++)
        CHECK(trit_kld_next(k, file + hb + ch * info.chunk_bytes, info.chunk_bytes) == TRIT_OK, "kld chunk %d: %s", ch, trit_last_error());
    CHECK(trit_kld_next(k, file + hb, info.chunk_bytes) == TRIT_ERR_ARG, "kld after the last chunk");
    CHECK(trit_kld_get(k, &r) == TRIT_OK, "kld get");
    CHECK(r.n == 30 && fabs(r.kld_mean) < 1e-7 && r.kld_max < 1e-7 && r.same_top == 1 && r.ppl_ratio == 1 && r.dp_rms == 0 &&
          r.ppl == pr.ppl, "self: n %lld kld %g max %g same %g ratio %.17g ppl %.17g vs %.17g", (long long)r.n, r.kld_mean,
          r.kld_max, r.same_top, r.ppl_ratio, r.ppl, pr.ppl);
    trit_kld_free(k);

    /* another model with the same vocabulary: positive KL, sorted statistics */
    CHECK(trit_kld_init(f, NULL, file, hb, &k) == TRIT_OK, "kld f32: %s", trit_last_error());
    for (int ch = 0; ch < 2; ch++) trit_kld_next(k, file + hb + ch * info.chunk_bytes, info.chunk_bytes);
    CHECK(trit_kld_get(k, &r) == TRIT_OK && r.n == 30, "kld f32 get");
    CHECK(r.kld_mean > 1e-5 && r.kld_min >= 0 && r.kld_min <= r.kld_p1 && r.kld_p1 <= r.kld_median && r.kld_median <= r.kld_p99 &&
          r.kld_p99 <= r.kld_max && r.dp_min <= r.dp_median && r.dp_median <= r.dp_max && r.same_top > 0.5 && r.same_top <= 1 &&
          fabs(r.ppl_base - pr.ppl) < 1e-9 * pr.ppl,
          "tq2_0 base vs f32: kld %g [%g %g %g %g], same %g", r.kld_mean, r.kld_min, r.kld_median, r.kld_p99, r.kld_max, r.same_top);
    trit_kld_free(k);

    /* another vocabulary of the same size: refused */
    CHECK(trit_kld_init(bpe, NULL, file, hb, &k) == TRIT_ERR_MISMATCH && !k && strstr(trit_last_error(), "vocabulary mismatch") &&
          strstr(trit_last_error(), "both have 1000 tokens"), "bpe vs spm: %s", trit_last_error());
    CHECK(trit_model_vocab_hash(bpe) != trit_model_vocab_hash(m) && trit_model_vocab_hash(f) == trit_model_vocab_hash(m),
          "fingerprints: spm tq2_0 = spm f32 != bpe");
    /* a token id out of range in the header */
    file[64 + 8] = 0xff; file[64 + 9] = 0xff;
    CHECK(trit_kld_init(m, NULL, file, hb, &k) == TRIT_ERR_FORMAT && strstr(trit_last_error(), "outside the vocabulary"), "bad token");
    free(corrupt);
    free(file);
    trit_ppl_free(p);
    free(txt);
    trit_model_free(m); trit_model_free(f); trit_model_free(bpe);
    free(b1); free(b2); free(b3);
}

/* trit_mc_loglik with the shared context == each whole sequence decoded from scratch */
static void test_mc_loglik(void) {
    unsigned char *buf;
    trit_model *m = load("models/bitnet-tiny-spm.tq2_0.gguf", &buf);
    const int V = trit_model_n_vocab(m);
    trit_ctx_params cp = trit_ctx_default_params();
    cp.n_ctx = 48;
    trit_mc *mc = NULL;
    CHECK(trit_mc_init(m, &cp, &mc) == TRIT_OK, "mc init");
    const int32_t ctxt[7] = {1, 589, 337, 505, 351, 321, 381};
    int32_t cont[80];
    const int32_t off[4] = {0, 1, 5, 45};        /* lengths 1, 4, 40 (40 > PIECE: several decode calls) */
    for (int i = 0; i < 45; i++) cont[i] = 3 + (i * 37) % (V - 3);
    double ll[3];
    int32_t greedy[3];
    CHECK(trit_mc_loglik(mc, ctxt, 7, cont, off, 3, ll, greedy) == TRIT_OK, "loglik: %s", trit_last_error());
    /* reference: a fresh context per choice, one batched decode of context + choice */
    trit_ctx *c = NULL;
    trit_ctx_init(m, &cp, &c);
    float *lg = malloc(sizeof(float) * (size_t)V * 48);
    for (int i = 0; i < 3; i++) {
        int32_t seq[48];
        const int len = off[i + 1] - off[i];
        memcpy(seq, ctxt, sizeof ctxt);
        memcpy(seq + 7, cont + off[i], sizeof(int32_t) * (size_t)len);
        trit_ctx_truncate(c, 0);
        trit_ctx_decode(c, seq, 7 + len - 1, lg, TRIT_LOGITS_ALL);
        double want = 0;
        int g = 1;
        for (int j = 0; j < len; j++) {
            const float *row = lg + (size_t)(6 + j) * V;
            float mx = row[0];
            int top = 0;
            for (int v = 1; v < V; v++) if (row[v] > mx) { mx = row[v]; top = v; }
            double se = 0;
            for (int v = 0; v < V; v++) se += exp((double)(row[v] - mx));
            want += (double)(row[seq[7 + j]] - mx) - log(se);
            g &= top == seq[7 + j];
        }
        CHECK(ll[i] == want && greedy[i] == g, "choice %d: loglik %.17g vs fresh decode %.17g, greedy %d vs %d", i, ll[i], want,
              greedy[i], g);
    }
    /* too long for n_ctx 48: 7 + 45 - 1 positions */
    const int32_t off2[2] = {0, 45};
    CHECK(trit_mc_loglik(mc, ctxt, 7, cont, off2, 1, ll, NULL) == TRIT_ERR_CTX_FULL && strstr(trit_last_error(), "51 positions"),
          "too long: %s", trit_last_error());
    const int32_t off3[3] = {0, 2, 2};
    CHECK(trit_mc_loglik(mc, ctxt, 7, cont, off3, 2, ll, NULL) == TRIT_ERR_ARG && strstr(trit_last_error(), "choice 1 has no tokens"),
          "empty choice");
    CHECK(trit_mc_loglik(mc, ctxt, 0, cont, off, 1, ll, NULL) == TRIT_ERR_ARG, "empty context");

    /* trit_mc_add: acc and acc_norm from the log-likelihoods; totals unchanged by a failing line */
    trit_mc_result r;
    trit_mc_get(mc, &r);
    CHECK(r.n == 0 && trit_mc_last(mc, NULL, NULL, NULL, NULL, 0) == -1, "no questions yet");
    const char *q = "{\"context\": \"Once upon a time\", \"choices\": [\"there was\", \"a b c d e f g h\", \"zq\"], \"label\": 1}";
    CHECK(trit_mc_add(mc, q, -1) == TRIT_OK, "add: %s", trit_last_error());
    int32_t label, pred, pred_norm;
    CHECK(trit_mc_last(mc, &label, &pred, &pred_norm, ll, 3) == 3 && label == 1, "last");
    int32_t ap = 0, an = 0;
    const double len[3] = {9, 15, 2};
    for (int i = 1; i < 3; i++) {
        if (ll[i] > ll[ap]) ap = i;
        if (ll[i] / len[i] > ll[an] / len[an]) an = i;
    }
    CHECK(pred == ap && pred_norm == an, "pred %d/%d, want %d/%d", pred, pred_norm, ap, an);
    CHECK(trit_mc_add(mc, "{\"context\": \"x\", \"choices\": [\"a\"], \"label\": 0}", -1) == TRIT_ERR_FORMAT, "bad line");
    trit_mc_get(mc, &r);
    CHECK(r.n == 1 && r.n_acc == (ap == 1) && r.n_acc_norm == (an == 1) && fabs(r.chance - 1.0 / 3) < 1e-12, "totals after 1");
    CHECK(trit_mc_last(mc, &label, NULL, NULL, NULL, 0) == 3 && label == 1, "last unchanged by the failing line");
    free(lg);
    trit_ctx_free(c);
    trit_mc_free(mc);
    trit_model_free(m);
    free(buf);
}

int main(void) {
    test_json();
    test_layouts();
    test_logits_header();
    test_ppl_kld();
    test_mc_loglik();
    return test_summary();
}
