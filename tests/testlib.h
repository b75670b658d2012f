/* testlib.h: a minimal test harness for the C tests: CHECK(cond, fmt, ...) counts and reports, and
 * test_summary() prints "N passed, M failed" and returns the exit code. Plus file/oracle helpers. */
#ifndef TRIT_TESTLIB_H
#define TRIT_TESTLIB_H
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_pass, g_fail;
#define CHECK(cond, ...) do { if (cond) g_pass++; else { g_fail++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static int test_summary(void) {
    printf("%d passed, %d failed\n", g_pass, g_fail);
    return g_fail ? 1 : 0;
}

static const char *oracle_dir(void) {
    const char *d = getenv("TRIT_ORACLE");
    return d && *d ? d : "../shared/oracle";
}

/* Reads a whole file into a malloc'd buffer (one spare byte); exits with a message (+ hint) if it cannot. */
static unsigned char *read_file_or_exit(const char *path, size_t *size, const char *hint) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, "cannot open %s%s\n", path, hint); exit(2); }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (!b || fread(b, 1, (size_t)n, f) != (size_t)n) { fprintf(stderr, "cannot read %s\n", path); exit(2); }
    fclose(f);
    *size = (size_t)n;
    return b;
}

/* Reads oracle_dir()/rel into a malloc'd buffer; exits with a message if missing. */
static unsigned char *read_oracle(const char *rel, size_t *size) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", oracle_dir(), rel);
    return read_file_or_exit(path, size, " (set TRIT_ORACLE)");
}
#endif
