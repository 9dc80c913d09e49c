/*
 * The queue daemon: one per user, a single-threaded libuv event loop that
 * serves clients on $DROVER_HOME/drover.sock, keeps the store, and runs
 * sessions.  Each session is a worker process (`drover daemon --worker
 * ID`, in its own process session) that runs tasks of one step with the
 * session runtime and records their results in the store itself, so a
 * worker outlives a daemon that dies: a restarted daemon re-adopts the
 * workers that are still alive and fails the tasks of those that are not.
 *
 * Files in $DROVER_HOME: drover.sock, drover.pid (locked while a daemon
 * runs: a stale one never blocks a restart), drover.db, daemon.log,
 * logs/<job>/..., sessions/<session dirs>.
 */
#ifndef DROVER_DAEMON_H
#define DROVER_DAEMON_H

#include <stdint.h>
#include <sys/types.h>

struct daemon_opts {
	int		 foreground;	/* no detaching, log to stderr */
	int		 slots;		/* 0: config, else CPU count */
	int		 max_tasks;	/* -1: config */
	const char	*home;		/* NULL: home_dir() */
};

/*
 * Runs the daemon until it is stopped; returns the exit code.  Unless
 * foreground, detaches first (double fork, setsid) and reports readiness
 * on the descriptor named by $DROVER_READY_FD ("ok\n", or a message).
 */
int	daemon_main(const struct daemon_opts *);

/* Runs one session worker (see above); returns the exit code. */
int	worker_main(int64_t session);

/* Start time of a process (/proc/PID/stat field 22), or -1. */
int64_t	proc_start_time(pid_t pid);
/* 1 if pid is alive and started at start (0: do not check). */
int	proc_alive(pid_t pid, int64_t start);

/* The log file of a task attempt, relative to logs/ (malloc'd). */
char	*daemon_attempt_log(int64_t job, int step, int64_t task, int attempt);

#endif
