/* pool.c: see pool.h. The job is published with a sequence lock: seq is odd while the caller writes
 * the job's fields and even (2 * job) once they are complete; a worker copies the fields between two
 * reads of seq and retries if they differ. Chunks are claimed with a CAS on ticket = job << 32 | next,
 * so a worker holding a stale job can never claim a chunk of a newer one. done counts finished
 * chunks; the caller returns when done == n_chunks, after which no worker touches the job's fields. */
#if !defined(__wasm__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE   /* sched_yield */
#endif
#include "pool.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "internal.h"

#if defined(__wasm__)
#define POOL_NATIVE 0
#else
#define POOL_NATIVE 1
#include <pthread.h>
#include <sched.h>
#endif

#define SPIN_WORKER 20000   /* polls of seq before an idle worker sleeps (~tens of microseconds) */
#define SPIN_CALLER 2000    /* polls of done between yields while the caller waits for the others */

struct trit_pool {
    _Atomic uint32_t seq;           /* 2 * job when published, odd while being written */
    _Atomic uint64_t ticket;        /* job << 32 | next chunk to claim */
    _Atomic int32_t done;           /* chunks of the current job finished */
    _Atomic(pool_fn) fn;            /* the job: written by the caller between seq odd and seq even */
    _Atomic(void *) arg;
    _Atomic int32_t n_chunks;
    _Atomic int32_t stop;
    _Atomic int32_t n_joined;       /* workers inside their loop */
    _Atomic int32_t n_sleeping;     /* workers asleep (or about to) on seq */
    _Atomic int32_t caller_waits;   /* the caller sleeps on done (wasm) */
    int32_t n_threads;
#if POOL_NATIVE
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int32_t n_started;
    pthread_t th[];
#endif
};

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

/* claims and runs chunks of job `job` until none is left */
static void work_on(trit_pool *p, uint64_t job, pool_fn fn, void *arg, int32_t n) {
    uint64_t t = atomic_load_explicit(&p->ticket, memory_order_acquire);
    while ((t >> 32) == job && (int64_t)(t & 0xffffffffu) < n) {
        if (atomic_compare_exchange_weak_explicit(&p->ticket, &t, t + 1, memory_order_acq_rel, memory_order_acquire)) {
            fn(arg, (int32_t)(t & 0xffffffffu));
            if (atomic_fetch_add(&p->done, 1) + 1 == n && atomic_load(&p->caller_waits)) {
#if defined(__wasm_atomics__)
                __builtin_wasm_memory_atomic_notify((int *)&p->done, 1);
#endif
            }
            t = atomic_load_explicit(&p->ticket, memory_order_acquire);
        }
    }
}

static void wake_workers(trit_pool *p) {
    if (!atomic_load(&p->n_sleeping)) return;
#if POOL_NATIVE
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
#elif defined(__wasm_atomics__)
    __builtin_wasm_memory_atomic_notify((int *)&p->seq, (unsigned)-1);
#endif
}

/* an idle worker: sleep until seq is no longer `last` (or stop) */
static void sleep_on(trit_pool *p, uint32_t last) {
    atomic_fetch_add(&p->n_sleeping, 1);   /* seq_cst, paired with the caller's store of seq */
#if POOL_NATIVE
    pthread_mutex_lock(&p->mu);
    while (atomic_load(&p->seq) == last && !atomic_load(&p->stop)) pthread_cond_wait(&p->cv, &p->mu);
    pthread_mutex_unlock(&p->mu);
#elif defined(__wasm_atomics__)
    while (atomic_load(&p->seq) == last && !atomic_load(&p->stop))
        __builtin_wasm_memory_atomic_wait32((int *)&p->seq, (int)last, 100000000 /* ns */);
#endif
    atomic_fetch_sub(&p->n_sleeping, 1);
}

void trit_pool_work(trit_pool *p) {
    if (!p) return;
    atomic_fetch_add(&p->n_joined, 1);
    uint32_t last = atomic_load(&p->seq) & ~1u;
    for (;;) {
        uint32_t s1;
        for (int spin = 0;; spin++) {
            s1 = atomic_load_explicit(&p->seq, memory_order_acquire);
            if (atomic_load_explicit(&p->stop, memory_order_relaxed)) goto out;
            if (s1 != last && !(s1 & 1)) break;
            if (spin >= SPIN_WORKER) { sleep_on(p, s1); spin = 0; }
            else cpu_relax();
        }
        const pool_fn fn = atomic_load_explicit(&p->fn, memory_order_relaxed);
        void *const arg = atomic_load_explicit(&p->arg, memory_order_relaxed);
        const int32_t n = atomic_load_explicit(&p->n_chunks, memory_order_relaxed);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&p->seq, memory_order_relaxed) != s1) continue;   /* torn: retry */
        last = s1;
        work_on(p, s1 / 2, fn, arg, n);
    }
out:
    atomic_fetch_sub(&p->n_joined, 1);
}

void pool_run(trit_pool *p, pool_fn fn, void *arg, int32_t n_chunks) {
    if (!p || atomic_load_explicit(&p->n_joined, memory_order_relaxed) == 0) {
        for (int32_t i = 0; i < n_chunks; i++) fn(arg, i);
        return;
    }
    const uint32_t s = atomic_load_explicit(&p->seq, memory_order_relaxed);   /* only the caller writes it */
    atomic_store_explicit(&p->seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    atomic_store_explicit(&p->fn, fn, memory_order_relaxed);
    atomic_store_explicit(&p->arg, arg, memory_order_relaxed);
    atomic_store_explicit(&p->n_chunks, n_chunks, memory_order_relaxed);
    atomic_store_explicit(&p->done, 0, memory_order_relaxed);
    const uint64_t job = (s + 2) / 2;
    atomic_store_explicit(&p->ticket, job << 32, memory_order_relaxed);
    atomic_store(&p->seq, s + 2);   /* seq_cst: publishes the job, ordered before reading n_sleeping */
    wake_workers(p);
    work_on(p, job, fn, arg, n_chunks);
#if POOL_NATIVE
    for (int spin = 1; atomic_load_explicit(&p->done, memory_order_acquire) < n_chunks; spin++) {
        cpu_relax();
        if (spin % SPIN_CALLER == 0) sched_yield();
    }
#else
    /* spin a while (the others finish their last chunks), then sleep until the last one notifies */
    for (int spin = 0; atomic_load_explicit(&p->done, memory_order_acquire) < n_chunks; spin++) {
        if (spin < SPIN_CALLER * 10) { cpu_relax(); continue; }
#if defined(__wasm_atomics__)
        atomic_store(&p->caller_waits, 1);   /* seq_cst, paired with the finisher's load */
        const int32_t d = atomic_load(&p->done);
        if (d < n_chunks) __builtin_wasm_memory_atomic_wait32((int *)&p->done, d, 1000000 /* ns */);
        atomic_store(&p->caller_waits, 0);
#endif
    }
#endif
}

int32_t pool_threads(const trit_pool *p) { return p ? p->n_threads : 1; }
int32_t trit_pool_n_threads(const trit_pool *p) { return pool_threads(p); }

#if POOL_NATIVE
static void *thread_main(void *p) {
    trit_pool_work(p);
    return NULL;
}
#endif

trit_status trit_pool_init(int32_t n_threads, trit_pool **out) {
    if (!out) return trit_err(TRIT_ERR_ARG, "trit_pool_init: out is NULL");
    *out = NULL;
    if (n_threads < 1 || n_threads > 256) return trit_err(TRIT_ERR_ARG, "n_threads %d is out of range (1..256)", n_threads);
#if POOL_NATIVE
    trit_pool *p = calloc(1, sizeof *p + sizeof(pthread_t) * (size_t)n_threads);
#else
    trit_pool *p = calloc(1, sizeof *p);
#endif
    if (!p) return trit_err(TRIT_ERR_NOMEM, "out of memory");
    p->n_threads = n_threads;
#if POOL_NATIVE
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    for (int32_t i = 0; i < n_threads - 1; i++) {
        if (pthread_create(&p->th[i], NULL, thread_main, p)) {
            trit_pool_free(p);
            return trit_err(TRIT_ERR_NOMEM, "cannot start thread %d of %d", i + 2, n_threads);
        }
        p->n_started++;
    }
#endif
    *out = p;
    return TRIT_OK;
}

void trit_pool_free(trit_pool *p) {
    if (!p) return;
    atomic_store(&p->stop, 1);
#if POOL_NATIVE
    pthread_mutex_lock(&p->mu);
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int32_t i = 0; i < p->n_started; i++) pthread_join(p->th[i], NULL);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
#else
#if defined(__wasm_atomics__)
    __builtin_wasm_memory_atomic_notify((int *)&p->seq, (unsigned)-1);
#endif
    while (atomic_load(&p->n_joined) > 0) cpu_relax();   /* host workers leave trit_pool_work */
#endif
    free(p);
}
