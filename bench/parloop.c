/*
 * parloop: the floor for running a command many times with J of them in
 * flight - start J, and each time one ends start the next - with nothing
 * else (no queue, no record of anything).  queue-bench.sh compares the
 * drover queue against it.
 *
 *	parloop [-n N] [-j J] [CMD [ARG...]]
 *
 * Runs CMD (default /bin/true) N times (default 10000), J at once
 * (default 2), with posix_spawn() and waitpid(-1), and prints "parloop:
 * N runs, J in flight, S s, R runs/s".  Exit status 1 if a run failed.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(int argc, char **argv)
{
	static char *deflt[] = { "/bin/true", NULL };
	char **cmd = deflt;
	long n = 10000, j = 2, started = 0, running = 0, bad = 0;
	double t0, dt;
	int c;

	while ((c = getopt(argc, argv, "+n:j:")) != -1) {
		switch (c) {
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 'j':
			j = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: parloop [-n N] [-j J] [CMD...]\n");
			return 2;
		}
	}
	if (optind < argc)
		cmd = argv + optind;
	if (n < 1 || j < 1) {
		fprintf(stderr, "parloop: N and J must be positive\n");
		return 2;
	}
	t0 = now();
	while (started < n || running > 0) {
		int st;

		while (running < j && started < n) {
			pid_t pid;

			if (posix_spawn(&pid, cmd[0], NULL, NULL, cmd,
			    environ) != 0) {
				perror("posix_spawn");
				return 1;
			}
			started++;
			running++;
		}
		if (waitpid(-1, &st, 0) > 0) {
			running--;
			if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
				bad++;
		}
	}
	dt = now() - t0;
	printf("parloop: %ld runs, %ld in flight, %.3f s, %.0f runs/s\n", n, j,
	    dt, (double)n / dt);
	return bad ? 1 : 0;
}
