/*
 * A parallel for-loop on POSIX threads: fn(arg, i, worker) runs once for
 * every i in [0, n), spread over up to `threads` workers that each take the
 * next index (so a few big items and many small ones balance out).  The
 * calling thread is worker 0.  Blocks until every item is done.
 */
#ifndef DROVER_CAS_POOL_H
#define DROVER_CAS_POOL_H

#include <stddef.h>

typedef void cas_pool_fn(void *arg, size_t i, int worker);

/* threads <= 0 means one per online CPU; never more than n. */
void	cas_pool_run(size_t n, int threads, cas_pool_fn *fn, void *arg);
/*
 * Runs fn(arg, w, w) once on each of `threads` workers (w = 0 is the
 * calling thread), for workers that pull their own work from a queue.
 */
void	cas_pool_run_each(int threads, cas_pool_fn *fn, void *arg);
/* The number of workers cas_pool_run(n, threads) will use. */
int	cas_pool_size(size_t n, int threads);

#endif
