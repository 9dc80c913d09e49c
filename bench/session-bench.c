/*
 * session-bench: drover running a step of N tasks of /bin/true in one
 * session, against plain C loops starting /bin/true N times (forkloop),
 * interleaved round by round in the same run so that machine noise hits
 * all of them alike.
 *
 *	session-bench [-n N] [-r ROUNDS] DROVER FORKLOOP
 *
 * Per round, in this order: `forkloop -m fork`, `forkloop -m spawn`,
 * `drover run` of a generated template (output to /dev/null), and the
 * session library alone (session_run_task() N times in this process).
 * Each is timed as a whole (process start included).  Prints the median
 * of each, drover's throughput as a ratio of the fork loop's (target
 * >= 0.9) and of the spawn loop's, and the per-task overhead in
 * microseconds; then the CPU time the parent spends per task in the
 * library and in a spawn loop run in-process (children excluded: a
 * measure machine noise hardly moves).  Defaults: N = 2000, ROUNDS = 3.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "session/session.h"
#include "bench.h"

extern char **environ;

/* Runs argv with stdout/stderr to /dev/null; seconds taken, or -1. */
static double
timed_run(char **argv)
{
	posix_spawn_file_actions_t fa;
	double t0 = now();
	pid_t pid;
	int st, rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0) {
		fprintf(stderr, "session-bench: cannot run %s: %s\n", argv[0],
		    strerror(rc));
		return -1;
	}
	while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
		;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, "session-bench: %s failed\n", argv[0]);
		return -1;
	}
	return now() - t0;
}

/* The session library alone: n tasks of /bin/true in one session. */
static double
lib_run(long n, const char *root)
{
	struct session_config cfg;
	struct session *s;
	struct session_task_param p = { "I", "INT", NULL };
	json_t *script = json_pack("{s:{s:{s:s}}}", "actions", "onRun",
	    "command", "/bin/true");
	char *err = NULL, num[32];
	double t0 = now();
	long bad = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.root_dir = root;
	if ((s = session_new(&cfg, &err)) == NULL) {
		fprintf(stderr, "session-bench: %s\n", err);
		free(err);
		json_decref(script);
		return -1;
	}
	for (long i = 0; i < n; i++) {
		snprintf(num, sizeof(num), "%ld", i + 1);
		p.value = num;
		if (session_run_task(s, "Bench", script, &p, 1, NULL) != 0)
			bad++;
	}
	session_free(s);
	json_decref(script);
	return bad ? -1 : now() - t0;
}

/* CPU time (user + system) this process has used, in seconds. */
static double
self_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	    (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* The spawn loop in this process, for its CPU cost (children excluded). */
static double
spawn_loop_cpu(long n)
{
	char *argv[] = { "/bin/true", NULL };
	double c0 = self_cpu();

	for (long i = 0; i < n; i++) {
		pid_t pid;
		int st;

		if (posix_spawn(&pid, argv[0], NULL, NULL, argv, environ) != 0)
			return -1;
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
	}
	return self_cpu() - c0;
}

static int
dbl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double
median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), dbl_cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int
main(int argc, char **argv)
{
	long n = 2000;
	int rounds = 3, opt;
	char dir[] = "/tmp/session-bench-XXXXXX", tmpl[128], count[32];
	double *t[4], m[4], cpu_loop = 0, cpu_lib = 0;
	static const char *const names[4] = { "fork loop", "spawn loop",
	    "drover run", "session lib" };
	FILE *fp;

	while ((opt = getopt(argc, argv, "n:r:")) != -1) {
		if (opt == 'n')
			n = strtol(optarg, NULL, 10);
		else if (opt == 'r')
			rounds = atoi(optarg);
		else
			goto usage;
	}
	if (argc - optind != 2 || n < 1 || rounds < 1)
		goto usage;
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(tmpl, sizeof(tmpl), "%s/bench.yaml", dir);
	snprintf(count, sizeof(count), "%ld", n);
	if ((fp = fopen(tmpl, "w")) == NULL) {
		perror(tmpl);
		return 1;
	}
	fprintf(fp, "specificationVersion: jobtemplate-2023-09\n"
	    "name: session-bench\n"
	    "steps:\n"
	    "- name: Bench\n"
	    "  parameterSpace:\n"
	    "    taskParameterDefinitions:\n"
	    "    - name: I\n"
	    "      type: INT\n"
	    "      range: \"1-%ld\"\n"
	    "  script:\n"
	    "    actions:\n"
	    "      onRun:\n"
	    "        command: /bin/true\n", n);
	fclose(fp);
	for (int k = 0; k < 4; k++)
		t[k] = calloc((size_t)rounds, sizeof(double));
	for (int r = 0; r < rounds; r++) {
		char *fork_argv[] = { argv[optind + 1], "-n", count, "-m",
		    "fork", NULL };
		char *spawn_argv[] = { argv[optind + 1], "-n", count, "-m",
		    "spawn", NULL };
		char *drover_argv[] = { argv[optind], "run", tmpl, NULL };

		double c0;

		if ((t[0][r] = timed_run(fork_argv)) < 0 ||
		    (t[1][r] = timed_run(spawn_argv)) < 0 ||
		    (t[2][r] = timed_run(drover_argv)) < 0)
			return 1;
		c0 = self_cpu();
		if ((t[3][r] = lib_run(n, dir)) < 0)
			return 1;
		cpu_lib += self_cpu() - c0;
		cpu_loop += spawn_loop_cpu(n);
		printf("round %d:", r + 1);
		for (int k = 0; k < 4; k++)
			printf("  %s %.3f s", names[k], t[k][r]);
		printf("\n");
		fflush(stdout);
	}
	for (int k = 0; k < 4; k++) {
		m[k] = median(t[k], rounds);
		printf("%-12s %ld tasks in %.3f s (median of %d): %6.0f tasks/s"
		    "\n", names[k], n, m[k], rounds, (double)n / m[k]);
	}
	printf("drover run throughput: %.2fx the fork loop (target >= 0.9), "
	    "%.2fx the spawn loop\n", m[0] / m[2], m[1] / m[2]);
	printf("per-task overhead of drover run: %+.0f us vs the fork loop, "
	    "%+.0f us vs the spawn loop; session library alone: %+.0f us vs "
	    "the spawn loop\n", (m[2] - m[0]) / (double)n * 1e6,
	    (m[2] - m[1]) / (double)n * 1e6, (m[3] - m[1]) / (double)n * 1e6);
	printf("CPU time of the parent process per task (children excluded, "
	    "less noisy than wall time): spawn loop %.0f us, session library "
	    "%.0f us\n", cpu_loop / rounds / (double)n * 1e6,
	    cpu_lib / rounds / (double)n * 1e6);
	unlink(tmpl);
	rmdir(dir);
	for (int k = 0; k < 4; k++)
		free(t[k]);
	return 0;
usage:
	fprintf(stderr, "usage: session-bench [-n N] [-r ROUNDS] DROVER "
	    "FORKLOOP\n");
	return 2;
}
