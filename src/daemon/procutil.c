/*
 * Small process helpers shared by the daemon and its workers.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "daemon/daemon.h"

int64_t
proc_start_time(pid_t pid)
{
	char path[64];
	struct buf b = BUF_INIT;
	char *p;
	long long v = -1;
	int field = 2;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (buf_read_file(&b, path) == -1) {
		buf_release(&b);
		return -1;
	}
	/* the command name may hold spaces: skip past its last ')' */
	p = strrchr(b.s, ')');
	if (p == NULL) {
		buf_release(&b);
		return -1;
	}
	for (p++; *p; p++) {
		if (*p == ' ') {
			field++;
			if (field == 22) {
				v = strtoll(p + 1, NULL, 10);
				break;
			}
		}
	}
	buf_release(&b);
	return v;
}

int
proc_alive(pid_t pid, int64_t start)
{
	int64_t st;

	if (pid <= 0)
		return 0;
	if (kill(pid, 0) == -1 && errno != EPERM)
		return 0;
	st = proc_start_time(pid);
	if (st < 0)
		return 0;
	return start <= 0 || st == start;
}

char *
daemon_attempt_log(int64_t job, int step, int64_t task, int attempt)
{
	return xasprintf("%" PRId64 "/%d-%" PRId64 "-%d.log", job, step, task,
	    attempt);
}
