/* cli.c: the native `trit` command line (the wasm CLI, js/cli.js, takes the same flags).
 *
 *   trit info       -m MODEL
 *   trit tokenize   -m MODEL -p TEXT                      -> ids, space-separated, one line
 *   trit logits     -m MODEL -p TEXT -o FILE [--kv f16|f32] -> float32 LE [n_tokens][n_vocab]
 *   (logits and generate take --tokens "ID ID ..." instead of -p to skip tokenization)
 *   trit generate   -m MODEL -p TEXT -n N [--temp T --top-k K --top-p P --min-p P
 *                   --repeat-penalty R --seed S] [--ids] [--kv f16|f32]
 *   trit perplexity -m MODEL -f FILE -c CTX [--kv f16|f32] [--chunks N]
 *   trit eval ppl   -m MODEL -f FILE -c CTX [--save-logits OUT] [--chunks N] [--json]   (docs/eval.md)
 *   trit eval kld   -m MODEL --base FILE [--json]
 *   trit eval mc    -m MODEL -f TASK.jsonl [-c CTX] [--limit N] [--json] [--details OUT.jsonl]
 *   trit eval mc    -f TASK.jsonl --convert           (the task in trit's own layout; no model)
 * Without -m, MODEL is the embedded target model beside the build (find_default_model).
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
    /* trit eval */
    const char *sub, *save_logits, *base, *details;
    int chunks, limit, json, progress, convert;     /* progress: -1 auto (a terminal), 0 off, 1 on */
    float temp, top_p, min_p, repeat_penalty;
    unsigned long long seed;
} args_t;

static void usage(void) {
    fprintf(stderr,
            "usage: trit COMMAND -m MODEL.gguf [options]\n"
            "  (without -m: the embedded target model, ../models/trit-target.tq2_0.gguf beside this build)\n"
            "commands:\n"
            "  info                                 architecture, hyperparameters, tensors\n"
            "  tokenize   -p TEXT                   token ids, space-separated\n"
            "  logits     -p TEXT -o FILE           float32 [n_tokens][n_vocab], every prompt position\n"
            "  generate   -p TEXT -n N              continue TEXT by N tokens\n"
            "  perplexity -f FILE -c CTX            perplexity as llama-perplexity computes it\n"
            "  eval ppl   -f FILE -c CTX [--save-logits OUT]  perplexity; OUT keeps every distribution\n"
            "  eval kld   --base FILE                 KL divergence vs saved logits (tokens come from FILE)\n"
            "  eval mc    -f TASK.jsonl [--limit N]   multiple-choice acc / acc_norm (--convert: print\n"
            "                                       the task in trit's layout, no model needed)\n"
            "options: --kv f16|f32 (KV cache type, default f16)  --temp T (0 = greedy, default)\n"
            "         --top-k K  --top-p P  --min-p P  --repeat-penalty R  --seed S\n"
            "         --ids (generate: print token ids instead of text)  --special (parse special tokens)\n"
            "         --tokens \"ID ID ...\" (logits/generate: the prompt as token ids)  -b N (batch size)\n"
            "         -t N (threads, default 1)\n"
            "         --chunks N (perplexity: first N chunks)  --json (eval: one JSON object on stdout)\n"
            "         --progress / --no-progress (eval: progress bar on stderr; default: on a terminal)\n"
            "         --details OUT.jsonl (eval mc: label, predictions and log-likelihoods per question)\n");
}

static int parse_args(int argc, char **argv, args_t *a) {
    memset(a, 0, sizeof *a);
    a->n_predict = 32; a->top_p = 1.0f; a->repeat_penalty = 1.0f; a->progress = -1;
    if (argc < 2) return -1;
    a->cmd = argv[1];
    int i0 = 2;
    if (!strcmp(a->cmd, "eval")) {
        if (argc < 3 || argv[2][0] == '-') { fprintf(stderr, "error: eval needs a subcommand: ppl, kld or mc\n"); return -1; }
        a->sub = argv[2];
        i0 = 3;
    }
    for (int i = i0; i < argc; i++) {
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
        else if (!strcmp(k, "--save-logits")) { NEEDV(); a->save_logits = v; }
        else if (!strcmp(k, "--base")) { NEEDV(); a->base = v; }
        else if (!strcmp(k, "--details")) { NEEDV(); a->details = v; }
        else if (!strcmp(k, "--chunks")) { NEEDV(); a->chunks = atoi(v); }
        else if (!strcmp(k, "--limit")) { NEEDV(); a->limit = atoi(v); }
        else if (!strcmp(k, "--json")) a->json = 1;
        else if (!strcmp(k, "--progress")) a->progress = 1;
        else if (!strcmp(k, "--no-progress")) a->progress = 0;
        else if (!strcmp(k, "--convert")) a->convert = 1;
        else if (!strcmp(k, "--ids")) a->ids = 1;
        else if (!strcmp(k, "--special")) a->parse_special = 1;
        else if (!strcmp(k, "-h") || !strcmp(k, "--help")) return -1;
        else { fprintf(stderr, "error: unknown option '%s'\n", k); return -1; }
#undef NEEDV
    }
    return 0;
}

/* Without -m: the embedded target model, models/trit-target.tq2_0.gguf of the tree this binary was
 * built in (build/trit -> build/../models/...), found from /proc/self/exe or else argv[0]; NULL when
 * there is none (then -m is required). js/cli.mjs does the same relative to the package. */
static char default_model[4096];
static const char *find_default_model(const char *argv0) {
    char exe[sizeof default_model - 64];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) exe[n] = 0;
    else if (argv0 && strlen(argv0) < sizeof exe) strcpy(exe, argv0);
    else return NULL;
    char *slash = strrchr(exe, '/');
    if (!slash) return NULL;
    *slash = 0;
    snprintf(default_model, sizeof default_model, "%s/../models/trit-target.tq2_0.gguf", exe);
    return access(default_model, R_OK) == 0 ? default_model : NULL;
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

/* ---- trit eval (and perplexity): the computation is in src/eval.c; here only files and printing ---- */

/* Progress bar on stderr: on by --progress, or by default when stderr is a terminal (and stdout is not
 * the same terminal printing running values). Redrawn at most ~10 times a second. */
typedef struct { int on, drawn; const char *what; int64_t total; struct timespec t0, last; } progress_t;

static double secs_since(const struct timespec *t) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + 1e-9 * (double)(now.tv_nsec - t->tv_nsec);
}

static void progress_init(progress_t *p, const args_t *a, const char *what, int64_t total, int stdout_running) {
    memset(p, 0, sizeof *p);
    p->on = a->progress > 0 || (a->progress < 0 && isatty(2) && !(stdout_running && isatty(1)));
    p->what = what;
    p->total = total;
    clock_gettime(CLOCK_MONOTONIC, &p->t0);
}

static void progress_step(progress_t *p, int64_t done) {
    if (!p->on) return;
    if (done < p->total && p->drawn && secs_since(&p->last) < 0.1) return;
    clock_gettime(CLOCK_MONOTONIC, &p->last);
    const double el = secs_since(&p->t0), rate = el > 0 ? (double)done / el : 0;
    const int W = 30, fill = p->total > 0 ? (int)(W * done / p->total) : W;
    char bar[32];
    for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
    bar[W] = 0;
    fprintf(stderr, "\r%s [%s] %lld/%lld  %.1f/s  ETA %.0fs ", p->what, bar, (long long)done, (long long)p->total, rate,
            rate > 0 ? (double)(p->total - done) / rate : 0.0);
    p->drawn = 1;
    fflush(stderr);
}

static void progress_end(progress_t *p) {
    if (p->on && p->drawn) fputc('\n', stderr);
}

/* Closes a file we wrote (if open); -1 with a message if the data did not make it to disk. */
static int close_written(FILE **fp, const char *path) {
    if (!*fp) return 0;
    int bad = fclose(*fp);
    *fp = NULL;
    if (bad) fprintf(stderr, "error: cannot write '%s'\n", path);
    return bad ? -1 : 0;
}

/* JSON string (for file names in --json output) */
static void json_print_str(FILE *fp, const char *s) {
    fputc('"', fp);
    for (const unsigned char *u = (const unsigned char *)s; *u; u++) {
        if (*u == '"' || *u == '\\') fprintf(fp, "\\%c", *u);
        else if (*u < 0x20) fprintf(fp, "\\u%04x", *u);
        else fputc(*u, fp);
    }
    fputc('"', fp);
}

/* As llama-perplexity: tokenize BOS + text, cut into chunks of CTX tokens, put BOS first in each chunk,
 * score positions CTX/2 .. CTX-2 predicting the next token; PPL = exp(mean NLL). `trit perplexity` is
 * this without the eval options. */
static int cmd_eval_ppl(const trit_model *m, const args_t *a) {
    if (!a->file || a->ctx < 4) { fprintf(stderr, "error: %s needs -f FILE and -c CTX (>= 4)\n", a->sub ? "eval ppl" : "perplexity"); return 2; }
    size_t len;
    char *text = read_text(a->file, &len);
    if (!text) return 1;
    if (len > INT32_MAX) { fprintf(stderr, "error: file too large\n"); free(text); return 1; }
    int32_t n;
    int32_t *t = tokenize(m, text, (int32_t)len, TRIT_TOK_ADD_SPECIAL, &n);
    free(text);
    if (!t) return 1;
    trit_ctx_params cp = trit_ctx_default_params();
    cp.n_batch = a->batch;
    cp.kv_type = a->kv_f32 ? TRIT_KV_F32 : TRIT_KV_F16;
    trit_ppl *p = NULL;
    trit_status st = trit_ppl_init(m, &cp, t, n, a->ctx, a->chunks, a->save_logits != NULL, &p);
    free(t);
    if (st) return fail("perplexity");
    trit_ppl_result r;
    trit_ppl_get(p, &r);
    int rc = 1;
    FILE *out = NULL;
    if (a->save_logits) {
        size_t hb;
        const uint8_t *h = trit_ppl_header(p, &hb);
        out = fopen(a->save_logits, "wb");
        if (!out || fwrite(h, 1, hb, out) != hb) { fprintf(stderr, "error: cannot write '%s': %s\n", a->save_logits, strerror(errno)); goto done; }
    }
    fprintf(stderr, "perplexity: %d tokens, %d chunks of %d\n", n, r.n_chunk, a->ctx);
    progress_t pg;
    progress_init(&pg, a, "ppl", r.n_chunk, !a->json);
    for (int32_t ch = 0; ch < r.n_chunk; ch++) {
        if (trit_ppl_next(p)) { progress_end(&pg); fail("decode"); goto done; }
        if (out) {
            size_t rb;
            const uint8_t *rows = trit_ppl_rows(p, &rb);
            if (fwrite(rows, 1, rb, out) != rb) { progress_end(&pg); fprintf(stderr, "error: cannot write '%s': %s\n", a->save_logits, strerror(errno)); goto done; }
        }
        trit_ppl_get(p, &r);
        if (!a->json) { printf("[%d]%.4f,", ch + 1, r.ppl); fflush(stdout); }
        progress_step(&pg, ch + 1);
    }
    progress_end(&pg);
    if (close_written(&out, a->save_logits)) goto done;
    if (a->json) {
        printf("{\"command\": \"ppl\", \"n_tokens\": %d, \"n_ctx\": %d, \"n_chunk\": %d, \"n_scored\": %lld, "
               "\"ppl\": %.10g, \"ppl_err\": %.10g, \"nll_mean\": %.10g, \"save_logits\": ",
               n, a->ctx, r.n_chunk, (long long)r.n_scored, r.ppl, r.ppl_err, r.nll_sum / (double)r.n_scored);
        if (a->save_logits) json_print_str(stdout, a->save_logits);
        else printf("null");
        printf("}\n");
    } else printf("\nppl = %.4f\n", r.ppl);
    rc = 0;
done:
    if (out) { fclose(out); if (rc) remove(a->save_logits); }
    trit_ppl_free(p);
    return rc;
}

static int read_exact(FILE *fp, void *buf, size_t n) { return fread(buf, 1, n, fp) == n ? 0 : -1; }

static void print_kld_report(const trit_kld_result *r) {
    printf("====== Perplexity statistics ======\n");
    printf("Mean PPL(Q)                   : %10.6f ± %10.6f\n", r->ppl, r->ppl_err);
    printf("Mean PPL(base)                : %10.6f ± %10.6f\n", r->ppl_base, r->ppl_base_err);
    printf("Cor(ln(PPL(Q)), ln(PPL(base))): %6.2f%%\n", 100.0 * r->ppl_cor);
    printf("Mean ln(PPL(Q)/PPL(base))     : %10.6f ± %10.6f\n", r->ln_ppl_ratio, r->ln_ppl_ratio_err);
    printf("Mean PPL(Q)/PPL(base)         : %10.6f ± %10.6f\n", r->ppl_ratio, r->ppl_ratio_err);
    printf("Mean PPL(Q)-PPL(base)         : %10.6f ± %10.6f\n\n", r->ppl_diff, r->ppl_diff_err);
    printf("====== KL divergence statistics ======\n");
    printf("Mean    KLD: %10.6f ± %10.6f\n", r->kld_mean, r->kld_err);
    printf("Maximum KLD: %10.6f\n99.9%%   KLD: %10.6f\n99.0%%   KLD: %10.6f\nMedian  KLD: %10.6f\n", r->kld_max,
           r->kld_p999, r->kld_p99, r->kld_median);
    printf("10.0%%   KLD: %10.6f\n 5.0%%   KLD: %10.6f\n 1.0%%   KLD: %10.6f\nMinimum KLD: %10.6f\n\n", r->kld_p10,
           r->kld_p5, r->kld_p1, r->kld_min);
    printf("====== Token probability statistics ======\n");
    printf("Mean    Δp: %6.3f ± %5.3f %%\n", 100.0 * r->dp_mean, 100.0 * r->dp_err);
    const double dq[] = {r->dp_max, r->dp_p999, r->dp_p99, r->dp_p95, r->dp_p90, r->dp_p75, r->dp_median, r->dp_p25,
                         r->dp_p10, r->dp_p5, r->dp_p1, r->dp_p001, r->dp_min};
    static const char *dn[] = {"Maximum", "99.9%  ", "99.0%  ", "95.0%  ", "90.0%  ", "75.0%  ", "Median ", "25.0%  ",
                               "10.0%  ", " 5.0%  ", " 1.0%  ", " 0.1%  ", "Minimum"};
    for (int i = 0; i < 13; i++) printf("%s Δp: %6.3f%%\n", dn[i], 100.0 * dq[i]);
    printf("RMS Δp    : %6.3f ± %5.3f %%\n", 100.0 * r->dp_rms, 100.0 * r->dp_rms_err);
    printf("Same top p: %6.3f ± %5.3f %%\n", 100.0 * r->same_top, 100.0 * r->same_top_err);
}

static void print_kld_json(const trit_kld_result *r, const char *base) {
    printf("{\"command\": \"kld\", \"base\": ");
    json_print_str(stdout, base);
    printf(", \"n_chunk\": %d, \"n\": %lld, \"ppl\": %.10g, \"ppl_err\": %.10g, \"ppl_base\": %.10g, \"ppl_base_err\": %.10g, "
           "\"ppl_cor\": %.10g, \"ln_ppl_ratio\": %.10g, \"ln_ppl_ratio_err\": %.10g, \"ppl_ratio\": %.10g, "
           "\"ppl_ratio_err\": %.10g, \"ppl_diff\": %.10g, \"ppl_diff_err\": %.10g, ",
           r->n_done, (long long)r->n, r->ppl, r->ppl_err, r->ppl_base, r->ppl_base_err, r->ppl_cor, r->ln_ppl_ratio,
           r->ln_ppl_ratio_err, r->ppl_ratio, r->ppl_ratio_err, r->ppl_diff, r->ppl_diff_err);
    printf("\"kld\": {\"mean\": %.10g, \"err\": %.10g, \"max\": %.10g, \"p99.9\": %.10g, \"p99\": %.10g, \"median\": %.10g, "
           "\"p10\": %.10g, \"p5\": %.10g, \"p1\": %.10g, \"min\": %.10g}, ",
           r->kld_mean, r->kld_err, r->kld_max, r->kld_p999, r->kld_p99, r->kld_median, r->kld_p10, r->kld_p5, r->kld_p1,
           r->kld_min);
    printf("\"dp\": {\"mean\": %.10g, \"err\": %.10g, \"max\": %.10g, \"p99.9\": %.10g, \"p99\": %.10g, \"p95\": %.10g, "
           "\"p90\": %.10g, \"p75\": %.10g, \"median\": %.10g, \"p25\": %.10g, \"p10\": %.10g, \"p5\": %.10g, \"p1\": %.10g, "
           "\"p0.1\": %.10g, \"min\": %.10g, \"rms\": %.10g, \"rms_err\": %.10g}, ",
           r->dp_mean, r->dp_err, r->dp_max, r->dp_p999, r->dp_p99, r->dp_p95, r->dp_p90, r->dp_p75, r->dp_median,
           r->dp_p25, r->dp_p10, r->dp_p5, r->dp_p1, r->dp_p001, r->dp_min, r->dp_rms, r->dp_rms_err);
    printf("\"same_top\": %.10g, \"same_top_err\": %.10g}\n", r->same_top, r->same_top_err);
}

static int cmd_eval_kld(const trit_model *m, const args_t *a) {
    if (!a->base) { fprintf(stderr, "error: eval kld needs --base FILE (from `trit eval ppl --save-logits FILE`)\n"); return 2; }
    FILE *fp = fopen(a->base, "rb");
    if (!fp) { fprintf(stderr, "error: cannot open '%s': %s\n", a->base, strerror(errno)); return 1; }
    int rc = 1;
    uint8_t fixed[TRIT_LOGITS_FIXED_BYTES], *header = NULL, *rows = NULL;
    trit_kld *k = NULL;
    trit_logits_info info;
    struct stat st;
    if (fstat(fileno(fp), &st) || !S_ISREG(st.st_mode)) { fprintf(stderr, "error: '%s' is not a regular file\n", a->base); goto done; }
    if (read_exact(fp, fixed, sizeof fixed)) {
        fprintf(stderr, "error: '%s': not a trit saved-logits file (shorter than its %d-byte header)\n", a->base, TRIT_LOGITS_FIXED_BYTES);
        goto done;
    }
    if (trit_logits_info_parse(fixed, sizeof fixed, &info)) { fprintf(stderr, "error: '%s': %s\n", a->base, trit_last_error()); goto done; }
    if ((uint64_t)st.st_size != info.file_bytes) {
        fprintf(stderr, "error: '%s' is %s: %lld bytes, but its header describes %u chunks in %llu bytes\n", a->base,
                (uint64_t)st.st_size < info.file_bytes ? "truncated" : "longer than its header says", (long long)st.st_size,
                info.n_chunk, (unsigned long long)info.file_bytes);
        goto done;
    }
    header = malloc(info.header_bytes);
    rows = malloc(info.chunk_bytes);
    if (!header || !rows) { fprintf(stderr, "error: out of memory\n"); goto done; }
    memcpy(header, fixed, sizeof fixed);
    if (read_exact(fp, header + sizeof fixed, info.header_bytes - sizeof fixed)) { fprintf(stderr, "error: cannot read '%s'\n", a->base); goto done; }
    trit_ctx_params cp = trit_ctx_default_params();
    cp.n_batch = a->batch;
    cp.kv_type = a->kv_f32 ? TRIT_KV_F32 : TRIT_KV_F16;
    if (trit_kld_init(m, &cp, header, info.header_bytes, &k)) { fprintf(stderr, "error: '%s': %s\n", a->base, trit_last_error()); goto done; }
    int32_t n_chunk = (int32_t)info.n_chunk;
    if (a->chunks > 0 && a->chunks < n_chunk) n_chunk = a->chunks;
    fprintf(stderr, "kld: %d chunks of %u, positions %u..%u of each, base '%s'\n", n_chunk, info.n_ctx, info.first, info.n_ctx - 2, a->base);
    progress_t pg;
    progress_init(&pg, a, "kld", n_chunk, !a->json);
    trit_kld_result r;
    for (int32_t ch = 0; ch < n_chunk; ch++) {
        if (read_exact(fp, rows, info.chunk_bytes)) { progress_end(&pg); fprintf(stderr, "error: cannot read chunk %d of '%s'\n", ch + 1, a->base); goto done; }
        if (trit_kld_next(k, rows, info.chunk_bytes)) { progress_end(&pg); fprintf(stderr, "error: '%s': %s\n", a->base, trit_last_error()); goto done; }
        if (!a->json) {
            if (trit_kld_get(k, &r)) { progress_end(&pg); fail("kld"); goto done; }
            printf("[%d]%.6f,", ch + 1, r.kld_mean);
            fflush(stdout);
        }
        progress_step(&pg, ch + 1);
    }
    progress_end(&pg);
    if (trit_kld_get(k, &r)) { fail("kld"); goto done; }
    if (a->json) print_kld_json(&r, a->base);
    else { printf("\n\n"); print_kld_report(&r); }
    rc = 0;
done:
    fclose(fp);
    free(header);
    free(rows);
    trit_kld_free(k);
    return rc;
}

/* Lines of a task file: starts/lengths; a final newline does not start another line. */
static int32_t split_lines(char *text, size_t len, char ***starts, size_t **lens) {
    int32_t n = 0, cap = 64;
    char **s = malloc(sizeof(char *) * (size_t)cap);
    size_t *l = malloc(sizeof(size_t) * (size_t)cap);
    for (size_t i = 0; s && l && i < len;) {
        size_t j = i;
        while (j < len && text[j] != '\n') j++;
        if (n == cap) {
            cap *= 2;
            char **ns = realloc(s, sizeof(char *) * (size_t)cap);
            size_t *nl = realloc(l, sizeof(size_t) * (size_t)cap);
            if (ns) s = ns;
            if (nl) l = nl;
            if (!ns || !nl) { free(s); free(l); return -1; }
        }
        s[n] = text + i;
        l[n++] = j - i;
        i = j + 1;
    }
    if (!s || !l) { free(s); free(l); return -1; }
    *starts = s;
    *lens = l;
    return n;
}

static int cmd_eval_mc(const trit_model *m, const args_t *a) {
    if (!a->file) { fprintf(stderr, "error: eval mc needs -f TASK.jsonl\n"); return 2; }
    size_t len;
    char *text = read_text(a->file, &len);
    if (!text) return 1;
    char **line;
    size_t *ll;
    int32_t n = split_lines(text, len, &line, &ll);
    if (n < 0) { fprintf(stderr, "error: out of memory\n"); free(text); return 1; }
    if (n == 0) { fprintf(stderr, "error: '%s' has no questions\n", a->file); free(text); free(line); free(ll); return 1; }
    if (a->limit > 0 && a->limit < n) n = a->limit;
    int rc = 1;
    trit_mc *mc = NULL;
    char *buf = NULL;
    FILE *det = NULL;
    if (a->convert) {
        int32_t cap = 0;
        for (int32_t i = 0; i < n; i++) {
            int32_t k = trit_mc_convert(line[i], (int32_t)ll[i], buf, cap);
            if (k >= cap && k >= 0) {
                char *nb = realloc(buf, (size_t)k + 1);
                if (!nb) { fprintf(stderr, "error: out of memory\n"); goto done; }
                buf = nb;
                cap = k + 1;
                k = trit_mc_convert(line[i], (int32_t)ll[i], buf, cap);
            }
            if (k < 0) { fprintf(stderr, "error: %s:%d: %s\n", a->file, i + 1, trit_last_error()); goto done; }
            printf("%s\n", buf);
        }
        rc = 0;
        goto done;
    }
    trit_ctx_params cp = trit_ctx_default_params();
    cp.n_ctx = a->ctx;
    cp.n_batch = a->batch;
    cp.kv_type = a->kv_f32 ? TRIT_KV_F32 : TRIT_KV_F16;
    if (trit_mc_init(m, &cp, &mc)) { fail("mc"); goto done; }
    if (a->details && !(det = fopen(a->details, "w"))) { fprintf(stderr, "error: cannot write '%s': %s\n", a->details, strerror(errno)); goto done; }
    progress_t pg;
    progress_init(&pg, a, "mc", n, 0);
    for (int32_t i = 0; i < n; i++) {
        if (trit_mc_add(mc, line[i], (int32_t)ll[i])) {
            progress_end(&pg);
            fprintf(stderr, "error: %s:%d: %s\n", a->file, i + 1, trit_last_error());
            goto done;
        }
        if (det) {
            int32_t label, pred, pred_norm, nc = trit_mc_last(mc, &label, &pred, &pred_norm, NULL, 0);
            double *lls = malloc(sizeof(double) * (size_t)nc);
            if (!lls) { progress_end(&pg); fprintf(stderr, "error: out of memory\n"); goto done; }
            trit_mc_last(mc, NULL, NULL, NULL, lls, nc);
            fprintf(det, "{\"line\": %d, \"label\": %d, \"pred\": %d, \"pred_norm\": %d, \"loglik\": [", i + 1, label, pred, pred_norm);
            for (int32_t c = 0; c < nc; c++) fprintf(det, c ? ", %.10g" : "%.10g", lls[c]);
            fprintf(det, "]}\n");
            free(lls);
        }
        progress_step(&pg, i + 1);
    }
    progress_end(&pg);
    if (close_written(&det, a->details)) goto done;
    trit_mc_result r;
    trit_mc_get(mc, &r);
    if (a->json) {
        printf("{\"command\": \"mc\", \"task\": ");
        json_print_str(stdout, a->file);
        printf(", \"n\": %d, \"acc\": %.10g, \"acc_stderr\": %.10g, \"acc_norm\": %.10g, \"acc_norm_stderr\": %.10g, "
               "\"chance\": %.10g, \"n_acc\": %d, \"n_acc_norm\": %d}\n",
               r.n, r.acc, r.acc_stderr, r.acc_norm, r.acc_norm_stderr, r.chance, r.n_acc, r.n_acc_norm);
    } else {
        printf("mc: %d questions from %s\n", r.n, a->file);
        printf("acc      = %.4f ± %.4f  (%d correct)\n", r.acc, r.acc_stderr, r.n_acc);
        printf("acc_norm = %.4f ± %.4f  (%d correct)\n", r.acc_norm, r.acc_norm_stderr, r.n_acc_norm);
        printf("chance   = %.4f\n", r.chance);
    }
    rc = 0;
done:
    if (det) fclose(det);
    trit_mc_free(mc);
    free(buf);
    free(line);
    free(ll);
    free(text);
    return rc;
}

static int cmd_eval(const trit_model *m, const args_t *a) {
    if (!strcmp(a->sub, "ppl")) return cmd_eval_ppl(m, a);
    if (!strcmp(a->sub, "kld")) return cmd_eval_kld(m, a);
    if (!strcmp(a->sub, "mc")) return cmd_eval_mc(m, a);
    fprintf(stderr, "error: unknown eval subcommand '%s' (ppl, kld or mc)\n", a->sub);
    return 2;
}

int main(int argc, char **argv) {
    args_t a;
    if (parse_args(argc, argv, &a)) { usage(); return 2; }
    if (!a.model && !(a.sub && a.convert) && !(a.model = find_default_model(argv[0]))) {
        fprintf(stderr, "error: -m MODEL is required\n");
        usage();
        return 2;
    }
    if (a.sub && a.convert && !a.model) {
        if (strcmp(a.sub, "mc")) { fprintf(stderr, "error: --convert is an option of eval mc\n"); return 2; }
        return cmd_eval_mc(NULL, &a);
    }
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
    else if (!strcmp(a.cmd, "perplexity")) rc = cmd_eval_ppl(m, &a);
    else if (!strcmp(a.cmd, "eval")) rc = cmd_eval(m, &a);
    else { fprintf(stderr, "error: unknown command '%s'\n", a.cmd); usage(); rc = 2; }
    trit_model_free(m);
    file_close(&f);
    return rc;
}
