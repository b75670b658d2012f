/* pool.h: the thread pool behind trit_pool_* (trit.h): one job at a time, split into chunks that the
 * caller and the joined workers claim dynamically, so a slow, descheduled or missing worker never
 * stalls a decode (the others take its share). No allocation and no thread creation per job.
 *
 *   native: trit_pool_init starts n_threads - 1 pthreads running the worker loop;
 *   wasm:   nothing starts threads; the host runs trit_pool_work() on n_threads - 1 Web Workers that
 *           share the module's memory (the threads build: -matomics, shared imported memory), and
 *           idle workers sleep in memory.atomic.wait32. Builds without atomics run every job on the
 *           caller. */
#ifndef TRIT_POOL_H
#define TRIT_POOL_H

#include <stdint.h>

#include "trit.h"

typedef void (*pool_fn)(void *arg, int32_t chunk);

/* Runs fn(arg, i) for every i < n_chunks, on the caller and the pool's workers, and returns when all
 * are done. p may be NULL (everything on the caller). fn must not call pool_run. */
void pool_run(trit_pool *p, pool_fn fn, void *arg, int32_t n_chunks);
/* threads a job may use (1 for NULL) */
int32_t pool_threads(const trit_pool *p);

#endif
