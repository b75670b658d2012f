/* error.c: the thread-local last-error message behind trit_last_error(). */
#include <stdarg.h>
#include <stdio.h>
#include "internal.h"

static TRIT_THREAD_LOCAL char g_err[512];

int trit_err(int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return code;
}

const char *trit_last_error(void) { return g_err; }
