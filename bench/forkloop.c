/*
 * forkloop: the floor for running a command many times from C - start it,
 * wait for it, again - with nothing else.  session-bench compares drover
 * against it.
 *
 *	forkloop [-n N] [-m fork|spawn] [CMD [ARG...]]
 *
 * Runs CMD (default /bin/true) N times (default 2000), one after the
 * other, with fork()+execv()+waitpid() or posix_spawn()+waitpid(), and
 * prints "forkloop MODE: N runs in S s, R runs/s".  Exit status 1 if a run
 * failed.  Needs only libc.
 */
#include <errno.h>
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
	const char *mode = "fork";
	long n = 2000, bad = 0;
	double t0, dt;
	int opt;

	while ((opt = getopt(argc, argv, "+n:m:")) != -1) {
		if (opt == 'n')
			n = strtol(optarg, NULL, 10);
		else if (opt == 'm')
			mode = optarg;
		else {
			fprintf(stderr, "usage: forkloop [-n N] [-m fork|spawn] "
			    "[CMD [ARG...]]\n");
			return 2;
		}
	}
	if (strcmp(mode, "fork") != 0 && strcmp(mode, "spawn") != 0) {
		fprintf(stderr, "forkloop: mode is fork or spawn\n");
		return 2;
	}
	if (optind < argc)
		cmd = argv + optind;
	t0 = now();
	for (long i = 0; i < n; i++) {
		pid_t pid;
		int st;

		if (mode[0] == 'f') {
			if ((pid = fork()) == -1) {
				perror("fork");
				return 1;
			}
			if (pid == 0) {
				execv(cmd[0], cmd);
				_exit(127);
			}
		} else if ((errno = posix_spawn(&pid, cmd[0], NULL, NULL, cmd,
		    environ)) != 0) {
			perror("posix_spawn");
			return 1;
		}
		while (waitpid(pid, &st, 0) == -1 && errno == EINTR)
			;
		if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
			bad++;
	}
	dt = now() - t0;
	printf("forkloop %s: %ld runs in %.3f s, %.0f runs/s\n", mode, n, dt,
	    (double)n / dt);
	return bad ? 1 : 0;
}
