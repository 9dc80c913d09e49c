/*
 * The floor under a re-snapshot: list every directory of a tree and
 * fstatat() every entry, on N threads sharing a stack of directories, and
 * nothing else (no hash cache, no manifest).  A re-snapshot must at least
 * do this to notice changed files, so bench/hash-bench.sh prints it (plus
 * drover's start-up) next to the re-snapshot's time.
 *
 * Usage: hash-statwalk DIR [THREADS]   prints "<files> <seconds>"
 */
#define _GNU_SOURCE
#include <sys/stat.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "cas/pool.h"
#include "common/xmalloc.h"

struct walk {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		*stack;		/* directory fds to read */
	size_t		 n, alloc;
	size_t		 busy;		/* workers reading a directory */
	unsigned long	 files[64];
};

static void
walk_push(struct walk *w, int fd)
{
	pthread_mutex_lock(&w->mu);
	ALLOC_GROW(w->stack, w->n + 1, w->alloc);
	w->stack[w->n++] = fd;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

static void
walk_dir(struct walk *w, int fd, int worker)
{
	struct dirent *de;
	struct stat st;
	DIR *dp = fdopendir(fd);

	if (dp == NULL) {
		close(fd);
		return;
	}
	while ((de = readdir(dp)) != NULL) {
		const char *nm = de->d_name;

		if (nm[0] == '.' && (nm[1] == '\0' || (nm[1] == '.' &&
		    nm[2] == '\0')))
			continue;
		if (de->d_type == DT_DIR) {
			int sub = openat(dirfd(dp), nm, O_RDONLY | O_DIRECTORY |
			    O_CLOEXEC | O_NOFOLLOW);

			if (sub != -1)
				walk_push(w, sub);
			continue;
		}
		if (fstatat(dirfd(dp), nm, &st, AT_SYMLINK_NOFOLLOW) == 0)
			w->files[worker]++;
	}
	closedir(dp);
}

static void
worker_main(void *arg, size_t i, int worker)
{
	struct walk *w = arg;
	int fd;

	(void)i;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (w->n == 0 && w->busy > 0)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->n == 0) {
			pthread_cond_broadcast(&w->cv);
			pthread_mutex_unlock(&w->mu);
			return;
		}
		fd = w->stack[--w->n];
		w->busy++;
		pthread_mutex_unlock(&w->mu);
		walk_dir(w, fd, worker);
		pthread_mutex_lock(&w->mu);
		if (--w->busy == 0 && w->n == 0)
			pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
}

int
main(int argc, char **argv)
{
	struct walk w;
	unsigned long total = 0;
	double t0;
	int threads, fd;

	if (argc < 2) {
		fprintf(stderr, "usage: hash-statwalk DIR [THREADS]\n");
		return 2;
	}
	threads = argc > 2 ? atoi(argv[2]) : cas_ncpu();
	if (threads < 1 || threads > 64)
		threads = 2;
	memset(&w, 0, sizeof(w));
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.cv, NULL);
	t0 = cas_mono();
	if ((fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		perror(argv[1]);
		return 1;
	}
	walk_push(&w, fd);
	cas_pool_run_each(threads, worker_main, &w);
	for (int k = 0; k < threads; k++)
		total += w.files[k];
	printf("%lu %.4f\n", total, cas_mono() - t0);
	free(w.stack);
	pthread_mutex_destroy(&w.mu);
	pthread_cond_destroy(&w.cv);
	return 0;
}
