/*
 * Inside the daemon: the state shared by daemon.c (start-up, clients,
 * requests) and sched.c (sessions, dispatch, hooks, recovery).
 */
#ifndef DROVER_DAEMON_INT_H
#define DROVER_DAEMON_INT_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>
#include <uv.h>

#include "daemon/config.h"
#include "daemon/hostreq.h"
#include "daemon/proto.h"

struct store;
struct daemon;

struct dsession {
	struct dsession	*next;
	struct daemon	*d;
	int64_t		 id;
	int64_t		 job;
	int		 step;
	pid_t		 pid;
	int		 adopted;	/* not our child: watched by pidfd */
	int		 pidfd;
	uv_process_t	 proc;
	uv_poll_t	 poll;
	int		 handle_open;
	int		 exited;
	int64_t		 exit_status;
	int		 exit_signal;
	double		*take;		/* host amounts reserved */
	uint64_t	 signaled_at;	/* last SIGTERM for a cancel, ms */
};

struct dclient {
	struct dclient	*next;
	struct daemon	*d;
	uv_pipe_t	 pipe;
	struct proto_reader rd;
	int		 hello;		/* got the client's hello */
	int		 closing;
	/* a wait request in progress */
	json_int_t	 wait_id;
	json_t		*wait_jobs;	/* array of ids, or NULL */
	int		 wait_any;	/* end when any job ends (else all) */
};

struct hook {
	struct hook	*next;
	int64_t		 job;
	uv_process_t	 proc;
	struct daemon	*d;
};

struct daemon {
	uv_loop_t	*loop;
	char		*home;
	char		*sock_path;
	dev_t		 sock_dev;	/* the socket file we bound */
	ino_t		 sock_ino;
	char		*db_path;
	char		*logs_dir;
	char		*sessions_dir;
	char		*exe;
	struct store	*st;
	struct config	 cfg;
	struct host_caps host;
	int		 slots;
	int		 slots_flag;	/* from --slots */
	int		 max_tasks;	/* -1: config */
	uid_t		 owner;
	int		 draining;
	int		 stopping;	/* 1 graceful, 2 now */
	int		 log_fd;
	int		 notify_w;	/* write end given to workers */
	uv_pipe_t	 server;
	uv_pipe_t	 notify;
	uv_signal_t	 sig_term;
	uv_signal_t	 sig_int;
	uv_signal_t	 sig_hup;
	uv_timer_t	 kick;
	uv_timer_t	 tick;
	struct dsession	*sessions;
	struct dclient	*clients;
	struct hook	*hooks;
	char		*blocked;	/* why nothing is dispatched, or NULL */
	uint64_t	 last_event;	/* store_change_mark() pushed to
					   waiters */
	int		 store_ok;	/* 0 after a write failure */
	int		 st_failed;	/* a write failed: probe the store */
	int		 exit_code;
};

/* sched.c */
void	sched_init(struct daemon *);
void	sched_recover(struct daemon *);
/* Asks for a scheduling pass soon (coalesced). */
void	sched_kick(struct daemon *);
void	sched_pass(struct daemon *);
int	sched_live(const struct daemon *);
void	sched_signal_sessions(struct daemon *, const int64_t *ids, size_t n,
	    int sig);
void	sched_signal_all(struct daemon *, int sig);
void	sched_close(struct daemon *);
/* Recomputes the host amounts running sessions hold (after a reload). */
void	sched_rereserve(struct daemon *);

/* daemon.c */
void	daemon_push_waiters(struct daemon *);
void	daemon_maybe_exit(struct daemon *);
void	daemon_reload(struct daemon *);
/*
 * Every tick: if our socket file is gone or replaced (DROVER_HOME removed,
 * say), nobody can reach this daemon any more and its store is not the
 * one clients see: it stops at once, canceling running sessions.
 */
void	daemon_check_home(struct daemon *);

#endif
