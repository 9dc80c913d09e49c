/* The parallel for-loop: an atomic counter hands out indexes. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "cas/fsutil.h"
#include "cas/pool.h"
#include "common/log.h"
#include "common/xmalloc.h"

struct pool {
	cas_pool_fn	*fn;
	void		*arg;
	size_t		 n;
	atomic_size_t	 next;
	int		 each;		/* fn(arg, id, id) once per worker */
};

struct worker {
	struct pool	*p;
	int		 id;
	pthread_t	 tid;
};

static void *
pool_main(void *v)
{
	struct worker *w = v;
	struct pool *p = w->p;
	size_t i;

	if (p->each) {
		p->fn(p->arg, (size_t)w->id, w->id);
		return NULL;
	}
	while ((i = atomic_fetch_add(&p->next, 1)) < p->n)
		p->fn(p->arg, i, w->id);
	return NULL;
}

int
cas_pool_size(size_t n, int threads)
{
	if (threads <= 0)
		threads = cas_ncpu();
	if ((size_t)threads > n)
		threads = n > 0 ? (int)n : 1;
	return threads;
}

static void
pool_start(struct pool *pp, int nw);

void
cas_pool_run(size_t n, int threads, cas_pool_fn *fn, void *arg)
{
	struct pool p;

	p.each = 0;
	p.fn = fn;
	p.arg = arg;
	p.n = n;
	atomic_init(&p.next, 0);
	pool_start(&p, cas_pool_size(n, threads));
}

void
cas_pool_run_each(int threads, cas_pool_fn *fn, void *arg)
{
	struct pool p;

	p.each = 1;
	p.fn = fn;
	p.arg = arg;
	p.n = 0;
	atomic_init(&p.next, 0);
	pool_start(&p, threads > 0 ? threads : cas_ncpu());
}

static void
pool_start(struct pool *p, int nw)
{
	struct worker *w;
	int started;

	w = xcalloc((size_t)nw, sizeof(*w));
	for (started = 1; started < nw; started++) {
		w[started].p = p;
		w[started].id = started;
		if (pthread_create(&w[started].tid, NULL, pool_main,
		    &w[started]) != 0)
			break;	/* run with the workers we have */
	}
	w[0].p = p;
	w[0].id = 0;
	pool_main(&w[0]);
	for (int k = 1; k < started; k++)
		pthread_join(w[k].tid, NULL);
	free(w);
}
