/*
 * parloop: the floor for running a command many times with J of them in
 * flight - start J, and each time one ends start the next - with nothing
 * else (no queue, no record of anything).  queue-bench.sh compares the
 * drover queue against it.
 *
 *	parloop [-f] [-n N] [-j J] [CMD [ARG...]]
 *
 * Runs CMD (default /bin/true) N times (default 10000), J at once
 * (default 2), with posix_spawn() (or, with -f, fork() and execv(): the
 * classic loop the queue's target is stated against) and waitpid(-1), and
 * prints "parloop: N runs, J in flight, S s, R runs/s".  Exit status 1 if
 * a run failed.
 */
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

extern char **environ;

int
main(int argc, char **argv)
{
	static char *deflt[] = { "/bin/true", NULL };
	char **cmd = deflt;
	long n = 10000, j = 2, started = 0, running = 0, bad = 0;
	double t0, dt;
	int c, use_fork = 0;

	while ((c = getopt(argc, argv, "+fn:j:")) != -1) {
		switch (c) {
		case 'f':
			use_fork = 1;
			break;
		case 'n':
			n = strtol(optarg, NULL, 10);
			break;
		case 'j':
			j = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: parloop [-f] [-n N] [-j J] [CMD...]\n");
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

			if (use_fork) {
				if ((pid = fork()) == -1) {
					perror("fork");
					return 1;
				}
				if (pid == 0) {
					execv(cmd[0], cmd);
					_exit(127);
				}
			} else if (posix_spawn(&pid, cmd[0], NULL, NULL, cmd,
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
