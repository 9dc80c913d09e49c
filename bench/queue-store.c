/*
 * queue-store: the store's cost per task, alone: claim + start + end of
 * N tasks of one step, as a session worker does it (the end of one task
 * and the claim and start of the next in one transaction and one batch;
 * no processes run).  Prints microseconds per task.
 *
 *	queue-store [-n N] DIR
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "store/queue.h"
#include "store/store.h"
#include "bench.h"

int
main(int argc, char **argv)
{
	struct store *st;
	char *err = NULL, *path;
	long n = 10000;
	int c;
	int64_t id, task, attempt = -1, prev = -1;
	struct queue_step_spec sp = { "S", 0, NULL, 0, NULL };
	struct queue_job_spec js = { .name = "bench", .job_json = "{}",
		.submitter = "bench", .priority = 50, .steps = &sp, .nsteps = 1 };
	struct queue_result r = { TASK_SUCCEEDED, 0, NULL, REASON_NONE, NULL,
		100 };
	double t0, dt;

	while ((c = getopt(argc, argv, "n:")) != -1)
		if (c == 'n')
			n = strtol(optarg, NULL, 10);
	if (optind >= argc) {
		fprintf(stderr, "usage: queue-store [-n N] DIR\n");
		return 2;
	}
	log_init("queue-store", LOG_LVL_WARN);
	path = xasprintf("%s/bench.db", argv[optind]);
	unlink(path);
	if (store_open(&st, path, STORE_CREATE | STORE_MIGRATE, &err) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	sp.task_count = n;
	if (queue_submit(st, &js, &id, &err) == -1) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	t0 = now();
	for (;;) {
		int got;

		store_begin(st);
		queue_batch_begin(st);
		if (prev >= 0)
			queue_task_end(st, id, 0, prev, attempt, &r);
		got = queue_claim(st, id, 0, 1, &task);
		if (got == 1)
			queue_task_start(st, id, 0, task, 1, path, 0, &attempt);
		queue_batch_end(st);
		if (store_commit(st) == -1) {
			fprintf(stderr, "commit failed\n");
			return 1;
		}
		if (got != 1)
			break;
		prev = task;
	}
	dt = now() - t0;
	printf("queue-store: %ld tasks, %.1f us per task (claim + start + end)\n",
	    n, dt * 1e6 / (double)n);
	store_close(st);
	unlink(path);
	free(path);
	return 0;
}
