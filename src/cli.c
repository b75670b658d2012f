/* cli.c: the native `trit` command line (the wasm CLI, js/cli.js, takes the same flags).
 *
 *   trit info       -m MODEL
 *   trit tokenize   -m MODEL -p TEXT                      -> ids, space-separated, one line
 *   trit logits     -m MODEL -p TEXT -o FILE [--kv f16|f32] -> float32 LE [n_tokens][n_vocab]
 *   (logits and generate take --tokens "ID ID ..." instead of -p to skip tokenization)
 *   trit generate   -m MODEL -p TEXT -n N [--temp T --top-k K --top-p P --min-p P
 *                   --repeat-penalty R --seed S] [--ids] [--kv f16|f32]
 *   trit perplexity -m MODEL -f FILE -c CTX [--kv f16|f32]
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trit.h"

typedef struct {
    const char *cmd, *model, *prompt, *out, *file, *tokens;
    int n_predict, ctx, top_k, ids, kv_f32, batch, parse_special, threads;
    float temp, top_p, min_p, repeat_penalty;
    unsigned long long seed;
} args_t;

static void usage(void) {
    fprintf(stderr,
            "usage: trit COMMAND -m MODEL.gguf [options]\n"
            "commands:\n"
            "  info                                 architecture, hyperparameters, tensors\n"
            "  tokenize   -p TEXT                   token ids, space-separated\n"
            "  logits     -p TEXT -o FILE           float32 [n_tokens][n_vocab], every prompt position\n"
            "  generate   -p TEXT -n N              continue TEXT by N tokens\n"
            "  perplexity -f FILE -c CTX            perplexity as llama-perplexity computes it\n"
            "options: --kv f16|f32 (KV cache type, default f16)  --temp T (0 = greedy, default)\n"
            "         --top-k K  --top-p P  --min-p P  --repeat-penalty R  --seed S\n"
            "         --ids (generate: print token ids instead of text)  --special (parse special tokens)\n"
            "         --tokens \"ID ID ...\" (logits/generate: the prompt as token ids)  -b N (batch size)\n"
            "         -t N (threads, default 1)\n");
}

static int parse_args(int argc, char **argv, args_t *a) {
    memset(a, 0, sizeof *a);
    a->n_predict = 32; a->top_p = 1.0f; a->repeat_penalty = 1.0f;
    if (argc < 2) return -1;
    a->cmd = argv[1];
    for (int i = 2; i < argc; i++) {
        const char *k = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) { fprintf(stderr, "error: %s needs a value\n", k); return -1; } i++; } while (0)
        if (!strcmp(k, "-m") || !strcmp(k, "--model")) { NEEDV(); a->model = v; }
        else if (!strcmp(k, "-p") || !strcmp(k, "--prompt")) { NEEDV(); a->prompt = v; }
        else if (!strcmp(k, "-o") || !strcmp(k, "--output")) { NEEDV(); a->out = v; }
        else if (!strcmp(k, "--tokens")) { NEEDV(); a->tokens = v; }
        else if (!strcmp(k, "-f") || !strcmp(k, "--file")) { NEEDV(); a->file = v; }
        else if (!strcmp(k, "-n") || !strcmp(k, "--n-predict")) { NEEDV(); a->n_predict = atoi(v); }
        else if (!strcmp(k, "-c") || !strcmp(k, "--ctx-size")) { NEEDV(); a->ctx = atoi(v); }
        else if (!strcmp(k, "-b") || !strcmp(k, "--batch-size")) { NEEDV(); a->batch = atoi(v); }
        else if (!strcmp(k, "-t") || !strcmp(k, "--threads")) { NEEDV(); a->threads = atoi(v); }
        else if (!strcmp(k, "--temp")) { NEEDV(); a->temp = strtof(v, NULL); }
        else if (!strcmp(k, "--top-k")) { NEEDV(); a->top_k = atoi(v); }
        else if (!strcmp(k, "--top-p")) { NEEDV(); a->top_p = strtof(v, NULL); }
        else if (!strcmp(k, "--min-p")) { NEEDV(); a->min_p = strtof(v, NULL); }
        else if (!strcmp(k, "--repeat-penalty")) { NEEDV(); a->repeat_penalty = strtof(v, NULL); }
        else if (!strcmp(k, "--seed")) { NEEDV(); a->seed = strtoull(v, NULL, 10); }
        else if (!strcmp(k, "--kv")) {
            NEEDV();
            if (!strcmp(v, "f32")) a->kv_f32 = 1;
            else if (strcmp(v, "f16")) { fprintf(stderr, "error: --kv must be f16 or f32\n"); return -1; }
        }
        else if (!strcmp(k, "--ids")) a->ids = 1;
        else if (!strcmp(k, "--special")) a->parse_special = 1;
        else if (!strcmp(k, "-h") || !strcmp(k, "--help")) return -1;
        else { fprintf(stderr, "error: unknown option '%s'\n", k); return -1; }
#undef NEEDV
    }
    if (!a->model) { fprintf(stderr, "error: -m MODEL is required\n"); return -1; }
    return 0;
}

/* The model file, mapped read-only (the model keeps views into it). */
typedef struct { uint8_t *data; size_t size; int mapped; } file_t;

static int file_open(const char *path, file_t *f) {
    memset(f, 0, sizeof *f);
    int fd = open(path, O_RDONLY);
    if (fd < 0) { fprintf(stderr, "error: cannot open '%s': %s\n", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fd, &st) || !S_ISREG(st.st_mode)) { fprintf(stderr, "error: '%s' is not a regular file\n", path); close(fd); return -1; }
    f->size = (size_t)st.st_size;
    if (f->size == 0) { f->data = malloc(1); close(fd); return f->data ? 0 : -1; }
    void *p = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (p == MAP_FAILED) { fprintf(stderr, "error: cannot map '%s': %s\n", path, strerror(errno)); return -1; }
    f->data = p;
    f->mapped = 1;
    return 0;
}

static void file_close(file_t *f) {
    if (f->mapped) munmap(f->data, f->size);
    else free(f->data);
}

static char *read_text(const char *path, size_t *n) {
    FILE *fp = fopen(path, "rb");
    if (!fp) { fprintf(stderr, "error: cannot open '%s': %s\n", path, strerror(errno)); return NULL; }
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap + 1);
    size_t k;
    while (buf && (k = fread(buf + len, 1, cap - len, fp)) > 0) {
        len += k;
        if (len == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) { free(buf); buf = NULL; break; }
            buf = nb; cap *= 2;
        }
    }
    fclose(fp);
    if (!buf) { fprintf(stderr, "error: out of memory reading '%s'\n", path); return NULL; }
    buf[len] = 0;
    *n = len;
    return buf;
}

static int32_t *tokenize(const trit_model *m, const char *text, int32_t len, int flags, int32_t *n_out) {
    if (!text) return NULL;
    int32_t n = trit_tokenize(m, text, len, NULL, 0, flags);
    if (n < 0) { fprintf(stderr, "error: tokenize: %s\n", trit_last_error()); return NULL; }
    int32_t *t = malloc(sizeof(int32_t) * (size_t)(n + 1));
    if (!t) return NULL;
    trit_tokenize(m, text, len, t, n, flags);
    *n_out = n;
    return t;
}

/* The prompt as token ids: --tokens "1 2 3" if given, else -p TEXT tokenized with BOS. */
static int32_t *prompt_tokens(const trit_model *m, const args_t *a, int32_t *n_out) {
    if (a->tokens) {
        size_t cap = strlen(a->tokens) / 2 + 2;
        int32_t *t = malloc(sizeof(int32_t) * cap), n = 0;
        const char *p = a->tokens;
        char *end;
        while (t && *p) {
            long v = strtol(p, &end, 10);
            if (end == p) { p++; continue; }
            t[n++] = (int32_t)v;
            p = end;
        }
        *n_out = n;
        return t;
    }
    if (!a->prompt) { fprintf(stderr, "error: %s needs -p TEXT (or --tokens IDS)\n", a->cmd); return NULL; }
    return tokenize(m, a->prompt, -1, TRIT_TOK_ADD_SPECIAL | (a->parse_special ? TRIT_TOK_PARSE_SPECIAL : 0), n_out);
}

static int fail(const char *what) {
    fprintf(stderr, "error: %s: %s\n", what, trit_last_error());
    return 1;
}

static trit_ctx *make_ctx(const trit_model *m, const args_t *a, int32_t n_ctx, int32_t n_batch) {
    trit_ctx_params cp = trit_ctx_default_params();
    cp.n_ctx = n_ctx;
    cp.n_batch = n_batch;
    cp.kv_type = a->kv_f32 ? TRIT_KV_F32 : TRIT_KV_F16;
    cp.n_threads = a->threads;
    trit_ctx *c = NULL;
    if (trit_ctx_init(m, &cp, &c)) { fail("context"); return NULL; }
    return c;
}

static int cmd_info(const trit_model *m) {
    trit_model_info hp;
    trit_model_get_info(m, &hp);
    char name[256] = "";
    trit_model_meta(m, "general.name", name, sizeof name);
    printf("name        %s\narch        %s\nn_vocab     %d\nn_ctx_train %d\nn_embd      %d\nn_layer     %d\n"
           "n_head      %d\nn_head_kv   %d\nhead_dim    %d\nn_rot       %d\nn_ff        %d\nrms_eps     %g\n"
           "rope_base   %g\nrope        %s\nffn         %s\nlm_head     %s\nbos/eos/eot %d/%d/%d\n"
           "params      %llu\nbytes       %llu\n",
           name, hp.arch_name, hp.n_vocab, hp.n_ctx_train, hp.n_embd, hp.n_layer, hp.n_head, hp.n_head_kv, hp.head_dim,
           hp.n_rot, hp.n_ff, hp.rms_eps, hp.rope_base, hp.rope_neox ? "neox" : "norm",
           hp.ffn_act ? "relu^2 gated" : "silu gated", hp.tied_output ? "token_embd (tied)" : "output.weight",
           hp.bos, hp.eos, hp.eot, (unsigned long long)hp.n_params, (unsigned long long)hp.weight_bytes);
    printf("tensors     %d\n", trit_model_n_tensors(m));
    for (int32_t i = 0; i < trit_model_n_tensors(m); i++) {
        const char *tn, *ty;
        int64_t ne[4];
        uint64_t nb;
        trit_model_tensor(m, i, &tn, &ty, ne, &nb);
        printf("  %-32s %-6s [%lld, %lld, %lld, %lld] %llu bytes\n", tn, ty, (long long)ne[0], (long long)ne[1],
               (long long)ne[2], (long long)ne[3], (unsigned long long)nb);
    }
    return 0;
}

static int cmd_tokenize(const trit_model *m, const args_t *a) {
    if (!a->prompt) { fprintf(stderr, "error: tokenize needs -p TEXT\n"); return 2; }
    int32_t n;
    int32_t *t = tokenize(m, a->prompt, -1, TRIT_TOK_ADD_SPECIAL | (a->parse_special ? TRIT_TOK_PARSE_SPECIAL : 0), &n);
    if (!t) return 1;
    for (int32_t i = 0; i < n; i++) printf(i ? " %d" : "%d", t[i]);
    printf("\n");
    free(t);
    return 0;
}

static int cmd_logits(const trit_model *m, const args_t *a) {
    if (!a->out) { fprintf(stderr, "error: logits needs -o FILE\n"); return 2; }
    int32_t n;
    int32_t *t = prompt_tokens(m, a, &n);
    if (!t) return 1;
    const int32_t V = trit_model_n_vocab(m);
    int32_t n_ctx = a->ctx > 0 ? a->ctx : (n > 0 ? n : 1);
    trit_ctx *c = make_ctx(m, a, n_ctx, a->batch > 0 ? a->batch : (n > 0 ? n : 1));
    float *lg = malloc(sizeof(float) * (size_t)V * (size_t)(n > 0 ? n : 1));
    int rc = 1;
    if (c && lg) {
        if (trit_ctx_decode(c, t, n, lg, TRIT_LOGITS_ALL)) rc = fail("decode");
        else {
            FILE *fp = fopen(a->out, "wb");
            if (!fp || fwrite(lg, sizeof(float), (size_t)V * (size_t)n, fp) != (size_t)V * (size_t)n) {
                fprintf(stderr, "error: cannot write '%s'\n", a->out);
            } else rc = 0;
            if (fp && fclose(fp)) rc = 1;
            if (!rc) fprintf(stderr, "wrote %d x %d logits to %s\n", n, V, a->out);
        }
    }
    free(lg); free(t); trit_ctx_free(c);
    return rc;
}

static int cmd_generate(const trit_model *m, const args_t *a) {
    int32_t n;
    int32_t *t = prompt_tokens(m, a, &n);
    if (!t) return 1;
    if (n == 0) { fprintf(stderr, "error: the prompt gives no tokens\n"); free(t); return 1; }
    trit_model_info hp;
    trit_model_get_info(m, &hp);
    int32_t n_ctx = a->ctx > 0 ? a->ctx : hp.n_ctx_train;
    trit_ctx *c = make_ctx(m, a, n_ctx, a->batch);
    const int32_t V = hp.n_vocab;
    float *lg = malloc(sizeof(float) * (size_t)V);
    trit_sampler_params sp = trit_sampler_default_params();
    sp.temperature = a->temp; sp.top_k = a->top_k; sp.top_p = a->top_p; sp.min_p = a->min_p;
    sp.repeat_penalty = a->repeat_penalty; sp.seed = a->seed;
    trit_sampler *s = trit_sampler_init(&sp);
    int rc = 1;
    if (!c || !lg || !s) goto done;
    for (int32_t i = 0; i < n; i++) trit_sampler_accept(s, t[i]);
    struct timespec t0, t1, t2;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (trit_ctx_decode(c, t, n, lg, TRIT_LOGITS_LAST)) { rc = fail("decode"); goto done; }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    trit_detok d;
    trit_detok_init(&d);
    int32_t gen = 0;
    for (; gen < a->n_predict; gen++) {
        int32_t tok = trit_sampler_sample(s, lg, V);
        if (tok < 0) { rc = fail("sample"); goto done; }
        if (trit_token_is_eog(m, tok)) break;
        if (a->ids) printf(gen ? " %d" : "%d", tok);
        else {
            const char *out;
            int32_t k = trit_detok_push(&d, m, tok, &out);
            if (k > 0) fwrite(out, 1, (size_t)k, stdout);
            fflush(stdout);
        }
        if (gen + 1 == a->n_predict) { gen++; break; }
        if (trit_ctx_decode(c, &tok, 1, lg, TRIT_LOGITS_LAST)) {
            if (trit_ctx_pos(c) >= trit_ctx_n_ctx(c)) { fprintf(stderr, "\nnote: context full (%d tokens)\n", trit_ctx_n_ctx(c)); gen++; break; }
            rc = fail("decode");
            goto done;
        }
    }
    if (!a->ids) {
        const char *out;
        int32_t k = trit_detok_flush(&d, &out);
        if (k > 0) fwrite(out, 1, (size_t)k, stdout);
    }
    printf("\n");
    fflush(stdout);
    clock_gettime(CLOCK_MONOTONIC, &t2);
    double tp = (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec);
    double tg = (double)(t2.tv_sec - t1.tv_sec) + 1e-9 * (double)(t2.tv_nsec - t1.tv_nsec);
    fprintf(stderr, "prompt: %d tokens in %.3f s (%.1f tok/s); generated: %d tokens in %.3f s (%.1f tok/s)\n", n, tp,
            tp > 0 ? n / tp : 0.0, gen, tg, tg > 0 ? gen / tg : 0.0);
    rc = 0;
done:
    trit_sampler_free(s); free(lg); free(t); trit_ctx_free(c);
    return rc;
}

/* As llama-perplexity: tokenize BOS + text, cut into chunks of CTX tokens, put BOS first in each chunk,
 * score positions CTX/2 .. CTX-2 predicting the next token; PPL = exp(mean NLL). */
static int cmd_perplexity(const trit_model *m, const args_t *a) {
    if (!a->file || a->ctx < 4) { fprintf(stderr, "error: perplexity needs -f FILE and -c CTX (>= 4)\n"); return 2; }
    size_t len;
    char *text = read_text(a->file, &len);
    if (!text) return 1;
    if (len > INT32_MAX) { fprintf(stderr, "error: file too large\n"); free(text); return 1; }
    int32_t n;
    int32_t *t = tokenize(m, text, (int32_t)len, TRIT_TOK_ADD_SPECIAL, &n);
    free(text);
    if (!t) return 1;
    const int32_t C = a->ctx, n_chunk = n / C, V = trit_model_n_vocab(m);
    trit_model_info hp;
    trit_model_get_info(m, &hp);
    if (n_chunk == 0) { fprintf(stderr, "error: %d tokens are fewer than one chunk of %d\n", n, C); free(t); return 1; }
    trit_ctx *c = make_ctx(m, a, C, a->batch > 0 ? a->batch : C);
    float *lg = malloc(sizeof(float) * (size_t)V * (size_t)C);
    int32_t *chunk = malloc(sizeof(int32_t) * (size_t)C);
    int rc = 1;
    if (!c || !lg || !chunk) goto done;
    fprintf(stderr, "perplexity: %d tokens, %d chunks of %d\n", n, n_chunk, C);
    double nll = 0;
    long count = 0;
    const int32_t first = C / 2;
    for (int32_t ch = 0; ch < n_chunk; ch++) {
        memcpy(chunk, t + (size_t)ch * C, sizeof(int32_t) * (size_t)C);
        if (hp.add_bos && hp.bos >= 0) chunk[0] = hp.bos;
        trit_ctx_truncate(c, 0);
        if (trit_ctx_decode(c, chunk, C, lg, TRIT_LOGITS_ALL)) { rc = fail("decode"); goto done; }
        for (int32_t j = first; j < C - 1; j++) {
            const float *row = lg + (size_t)j * V;
            float mx = row[0];
            for (int32_t i = 1; i < V; i++) if (row[i] > mx) mx = row[i];
            double se = 0;
            for (int32_t i = 0; i < V; i++) se += exp((double)(row[i] - mx));
            nll += -((double)(row[chunk[j + 1]] - mx) - log(se));
            count++;
        }
        printf("[%d]%.4f,", ch + 1, exp(nll / (double)count));
        fflush(stdout);
    }
    printf("\nppl = %.4f\n", exp(nll / (double)count));
    rc = 0;
done:
    free(chunk); free(lg); free(t); trit_ctx_free(c);
    return rc;
}

int main(int argc, char **argv) {
    args_t a;
    if (parse_args(argc, argv, &a)) { usage(); return 2; }
    file_t f;
    if (file_open(a.model, &f)) return 1;
    trit_model *m = NULL;
    if (trit_model_load(f.data, f.size, &m)) {
        fprintf(stderr, "error: cannot load '%s': %s\n", a.model, trit_last_error());
        file_close(&f);
        return 1;
    }
    int rc;
    if (!strcmp(a.cmd, "info")) rc = cmd_info(m);
    else if (!strcmp(a.cmd, "tokenize")) rc = cmd_tokenize(m, &a);
    else if (!strcmp(a.cmd, "logits")) rc = cmd_logits(m, &a);
    else if (!strcmp(a.cmd, "generate")) rc = cmd_generate(m, &a);
    else if (!strcmp(a.cmd, "perplexity")) rc = cmd_perplexity(m, &a);
    else { fprintf(stderr, "error: unknown command '%s'\n", a.cmd); usage(); rc = 2; }
    trit_model_free(m);
    file_close(&f);
    return rc;
}
