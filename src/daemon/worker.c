/*
 * A session worker: one process per session, started by the daemon as
 * `drover daemon --worker ID` in a process session of its own.  It enters
 * the job's and the step's environments once, runs tasks of its step one
 * after the other (the one the daemon assigned, then more it claims
 * itself), and exits the environments.  Every result goes straight into
 * the store, so a worker finishes its task and records it even if the
 * daemon dies meanwhile.
 *
 * Signals from the daemon: SIGTERM = look at the store for a cancel
 * request of the running task and carry it out with the task's cancelation
 * method; SIGUSR1 = end the session after the running task (drain, stop).
 * A byte written to fd $DROVER_NOTIFY_FD after each change wakes the
 * daemon (if it is still there).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "daemon/attach.h"
#include "daemon/config.h"
#include "daemon/daemon.h"
#include "daemon/home.h"
#include "model/job.h"
#include "model/space.h"
#include "session/session.h"
#include "store/queue.h"
#include "store/store.h"

struct worker {
	struct store	*st;
	int64_t		 sid;
	int64_t		 job;
	int		 step;
	int		 priority;
	struct job	*jb;
	json_t		*doc;
	struct session	*ss;
	char		*home;
	char		*logs;		/* $DROVER_HOME/logs */
	int		 notify_fd;
	int		 max_tasks;
	int64_t		 log_max;
	/* the running task */
	int64_t		 task;
	int64_t		 attempt;
	int64_t		 log_bytes;	/* of the running attempt */
	int		 log_cut;
	int		 sess_fd;	/* the session's log file */
	struct buf	 pending;	/* log lines not written yet */
	int64_t		 pending_since;	/* ms, when the first was added */
	time_t		 stamp_sec;	/* the second stamp_text shows */
	char		 stamp_text[32];
	char		*sess_log;	/* its path */
	int64_t		 log_off;	/* its size */
	int64_t		 task_off;	/* where the running attempt began */
	int64_t		 last_progress;	/* ms, when progress was last written */
	double		 progress_written; /* that value, -1: none yet */
	double		 progress_final;	/* the ended task's last progress
					 * if not written yet, else -1 */
	int		 canceling;
	pid_t		 action_pid;	/* running task action, pgid not stored */
	int64_t		 last_look;	/* drain / priority checked, ms */
	int64_t		 action_start;
	struct attach_worker *aw;	/* job attachments, or NULL */
	char		*cap_msg;	/* why capturing outputs failed */
};

static int sig_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_term, got_usr1;

static void
on_signal(int sig)
{
	int saved = errno;
	char c = (char)sig;

	if (sig == SIGTERM)
		got_term = 1;
	else if (sig == SIGUSR1)
		got_usr1 = 1;
	if (sig_pipe[1] >= 0 && write(sig_pipe[1], &c, 1) < 0) {
		/* the pipe is full: a wake-up is pending anyway */
	}
	errno = saved;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Wakes the daemon.  Routine progress is sent at most every 100 ms (the
 * daemon also looks every second); urgent news (a failure, the session
 * ending) at once.
 */
static void
notify_now(struct worker *w)
{
	if (w->notify_fd >= 0 && write(w->notify_fd, "x", 1) < 0 &&
	    errno != EAGAIN) {
		/* the daemon is gone; the store has everything */
		close(w->notify_fd);
		w->notify_fd = -1;
	}
}

static int64_t last_notify;

static void
notify(struct worker *w)
{
	int64_t now = mono_ms();

	if (now - last_notify >= 100) {
		last_notify = now;
		notify_now(w);
	}
}

/*
 * Log lines are gathered and written in one go when the action ends, when
 * 32 KiB are waiting, or 50 ms after the first waiting line (wait_action
 * looks), so a task costs one write(2), not one per line, and `drover logs
 * -f` still sees output within a fraction of a second.
 */
static void
log_flush(struct worker *w)
{
	size_t off = 0;

	while (off < w->pending.len) {
		ssize_t n = write(w->sess_fd, w->pending.s + off,
		    w->pending.len - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			log_warn("cannot write the session log");
			break;
		}
		off += (size_t)n;
	}
	buf_reset(&w->pending);
}

/* "2024-05-01T10:00:00.123Z text\n", capped at log_max bytes per attempt. */
static void
log_line(struct worker *w, const struct timespec *ts, const char *text,
    int is_task)
{
	struct buf b = BUF_INIT;
	struct tm tm;
	const char *stamp = w->stamp_text;

	if (w->sess_fd < 0)
		return;
	if (ts->tv_sec != w->stamp_sec || !*stamp) {
		gmtime_r(&ts->tv_sec, &tm);
		strftime(w->stamp_text, sizeof(w->stamp_text),
		    "%Y-%m-%dT%H:%M:%S", &tm);
		w->stamp_sec = ts->tv_sec;
	}
	buf_addf(&b, "%s.%03ldZ %s\n", stamp, ts->tv_nsec / 1000000, text);
	if (is_task) {
		if (w->log_cut) {
			buf_release(&b);
			return;
		}
		if (w->log_max > 0 && w->log_bytes + (int64_t)b.len >
		    w->log_max) {
			buf_reset(&b);
			buf_addf(&b, "%s.%03ldZ [drover: log truncated at %"
			    PRId64 " bytes (daemon.task_log_max)]\n", stamp,
			    ts->tv_nsec / 1000000, w->log_max);
			w->log_cut = 1;
		}
		w->log_bytes += (int64_t)b.len;
	}
	if (w->pending.len == 0)
		w->pending_since = mono_ms();
	buf_add(&w->pending, b.s, b.len);
	w->log_off += (int64_t)b.len;
	buf_release(&b);
	if (w->pending.len >= 32768)
		log_flush(w);
}

static void
on_event(void *arg, const struct session_event *ev)
{
	struct worker *w = arg;
	int in_task = ev->action == SESSION_TASK_RUN && w->task >= 0;
	int64_t now;

	switch (ev->type) {
	case SESSION_EV_LOG:
	case SESSION_EV_OUTPUT:
		log_line(w, &ev->ts, ev->text, in_task);
		break;
	case SESSION_EV_ACTION_START:
		/* the group is stored once the action has run a while (see
		 * wait_action): a /bin/true costs no extra write */
		if (in_task && ev->pid > 0) {
			w->action_pid = ev->pid;
			w->action_start = mono_ms();
		}
		break;
	case SESSION_EV_PROGRESS:
		now = mono_ms();
		if (in_task && now - w->last_progress >= 250) {
			w->last_progress = now;
			w->progress_written = ev->progress;
			queue_attempt_progress(w->st, w->attempt, ev->progress,
			    NULL);
			notify(w);
		}
		break;
	case SESSION_EV_STATUS:
		if (in_task)
			queue_attempt_progress(w->st, w->attempt, -1, ev->text);
		break;
	default:
		break;
	}
}

static int
open_log(struct worker *w, const char *rel, char **abs)
{
	char *path = xasprintf("%s/%s", w->logs, rel), *slash;
	int fd;

	slash = strrchr(path, '/');
	*slash = '\0';
	if (mkdir(path, 0700) == -1 && errno != EEXIST)
		log_warn("cannot create '%s'", path);
	*slash = '/';
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1)
		log_warn("cannot open '%s'", path);
	if (abs)
		*abs = path;
	else
		free(path);
	return fd;
}

/* Waits for the running action, carrying out cancel requests. */
static void
wait_action(struct worker *w)
{
	int64_t last_check = mono_ms();

	for (;;) {
		struct pollfd p[2] = {
			{ session_fd(w->ss), POLLIN, 0 },
			{ sig_pipe[0], POLLIN, 0 },
		};
		int check = 0;

		int timeout = 1000;

		if (session_step(w->ss) == 0) {
			w->action_pid = 0;
			log_flush(w);
			return;
		}
		if (w->pending.len) {
			int64_t age = mono_ms() - w->pending_since;

			if (age >= 50)
				log_flush(w);
			else
				timeout = (int)(50 - age);
		}
		if (w->action_pid > 0) {
			int64_t age = mono_ms() - w->action_start;

			if (age >= 20) {
				queue_attempt_pgid(w->st, w->attempt,
				    (long)w->action_pid);
				w->action_pid = 0;
			} else if (20 - age < timeout)
				timeout = (int)(20 - age);
		}
		if (poll(p, 2, timeout) < 0 && errno != EINTR)
			log_warn("poll");
		if (p[1].revents & POLLIN) {
			char buf[64];

			while (read(sig_pipe[0], buf, sizeof(buf)) > 0)
				;
			check = 1;
		}
		if (got_term)
			check = 1;
		if (mono_ms() - last_check >= 1000)
			check = 1;
		if (check && !w->canceling && w->task >= 0) {
			char *why = queue_task_cancel_reason(w->st, w->job,
			    w->step, w->task);

			last_check = mono_ms();
			got_term = 0;
			if (why) {
				log_info("session %" PRId64 ": canceling task "
				    "%" PRId64 " (%s)", w->sid, w->task, why);
				session_cancel(w->ss, 0, 0);
				w->canceling = 1;
				free(why);
			}
		}
	}
}

static int
run_action_blocking(struct worker *w, int kind, const json_t *env,
    struct session_result *res)
{
	int rc = kind == 0 ? session_enter_env_start(w->ss, env, res) :
	    session_exit_env_start(w->ss, res);

	if (rc == -1)
		return -1;
	wait_action(w);
	session_result(w->ss, res);
	return res->state == SESSION_ACTION_SUCCESS ? 0 : -1;
}

/* Enters the job's then the step's environments; -1 with *msg. */
static int
enter_envs(struct worker *w, char **msg)
{
	struct session_result res;
	const json_t *list, *env;
	size_t i;

	for (i = 0; i < job_nenvironments(w->jb); i++) {
		env = job_environment(w->jb, i);
		if (run_action_blocking(w, 0, env, &res) == -1)
			goto fail;
	}
	list = job_step_environments(w->jb, (size_t)w->step);
	json_array_foreach(list, i, env) {
		if (run_action_blocking(w, 0, env, &res) == -1)
			goto fail;
	}
	return 0;
fail:
	*msg = xasprintf("environment '%s' could not be entered: %s",
	    json_string_value(json_object_get(env, "name")) ?
	    json_string_value(json_object_get(env, "name")) : "?",
	    res.message ? res.message : session_action_state_name(res.state));
	return -1;
}

static void
exit_envs(struct worker *w)
{
	struct session_result res;

	while (session_env_depth(w->ss) > 0) {
		if (run_action_blocking(w, 1, NULL, &res) == -1 &&
		    res.state == SESSION_ACTION_NOT_RUN)
			break;
	}
}

/*
 * The next task for this session: one assigned to it, else a new claim.
 * Once the environments are entered (start_now) a claimed task is started
 * in the same move (*started = 1, w->attempt set).
 */
static int
next_task(struct worker *w, int tasks_run, int start_now, int64_t *task,
    int *started)
{
	sqlite3_stmt *s = store_stmt(w->st, "SELECT idx FROM tasks INDEXED "
	    "BY tasks_state WHERE state = 'ASSIGNED' AND state <> 'SUCCEEDED' AND job_id = ? AND "
	    "step = ? AND session_id = ? ORDER BY idx LIMIT 1");
	char *drain;
	int found = 0;

	*started = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, w->job);
	sqlite3_bind_int(s, 2, w->step);
	sqlite3_bind_int64(s, 3, w->sid);
	if (store_step(w->st, s) == SQLITE_ROW) {
		*task = sqlite3_column_int64(s, 0);
		found = 1;
	}
	sqlite3_reset(s);
	if (found)
		return 1;
	if (got_usr1 || (w->max_tasks > 0 && tasks_run >= w->max_tasks))
		return 0;
	/* drain, and a more urgent job waiting for a slot: looked at every
	 * 50 ms, not before each task */
	if (mono_ms() - w->last_look >= 50) {
		w->last_look = mono_ms();
		drain = store_meta_get(w->st, "drain");
		if (drain) {
			free(drain);
			return 0;
		}
		if (queue_higher_waiting(w->st, w->priority))
			return 0;
	}
	if (!start_now)
		return queue_claim(w->st, w->job, w->step, w->sid, task);
	w->task_off = w->log_off;
	found = queue_claim_start(w->st, w->job, w->step, w->sid, w->sess_log,
	    w->log_off, task, &w->attempt);
	*started = found == 1;
	return found;
}

static void
task_params(struct worker *w, int64_t task, struct session_task_param **out,
    char ***vals, size_t *n)
{
	struct space *sp = job_step_space(w->jb, (size_t)w->step);
	size_t k = space_nparams(sp);

	*n = k;
	*out = xcalloc(k ? k : 1, sizeof(**out));
	*vals = xcalloc(k ? k : 1, sizeof(char *));
	if (space_get(sp, (uint64_t)task, *vals) == -1)
		return;
	for (size_t i = 0; i < k; i++) {
		(*out)[i].name = space_param_name(sp, i);
		(*out)[i].type = space_param_type(sp, i);
		(*out)[i].value = (*vals)[i];
	}
}

/* Writes the ended task's last progress if it was not written yet. */
static void
flush_progress(struct worker *w, int64_t attempt)
{
	if (w->progress_final >= 0)
		queue_attempt_progress(w->st, attempt, w->progress_final, NULL);
	w->progress_final = -1;
}

/*
 * Records a result; while the store cannot be written (a full disk...)
 * keeps it and tries again, so the result lands once the store can take
 * it.  The task's processes are already gone; only the record waits.
 */
static void
record_end(struct worker *w, int64_t task, int64_t attempt,
    const struct queue_result *r)
{
	unsigned delay_ms = 100;
	int warned = 0;

	flush_progress(w, attempt);

	while (queue_task_end(w->st, w->job, w->step, task, attempt, r) < 0) {
		struct timespec ts;

		if (!store_error_transient(w->st)) {
			log_error("session %" PRId64 ": cannot record the "
			    "result of task %" PRId64 ": %s", w->sid, task,
			    store_errmsg(w->st));
			return;
		}
		if (!warned++)
			log_error("session %" PRId64 ": the store cannot take "
			    "the result of task %" PRId64 " (%s); retrying",
			    w->sid, task, store_errmsg(w->st));
		ts.tv_sec = delay_ms / 1000;
		ts.tv_nsec = (long)(delay_ms % 1000) * 1000000;
		nanosleep(&ts, NULL);
		if (delay_ms < 5000)
			delay_ms *= 2;
	}
	if (warned)
		log_info("session %" PRId64 ": result of task %" PRId64
		    " recorded", w->sid, task);
}

/*
 * Runs the action of a started task and fills r (strings valid until the
 * next action starts).
 */
static void
run_action(struct worker *w, int64_t task, struct queue_result *r)
{
	struct session_task_param *params;
	struct session_result res;
	char **vals, *why;
	size_t n;

	memset(r, 0, sizeof(*r));
	r->state = TASK_FAILED;
	r->exit_code = -1;
	r->log_length = -1;
	w->task = task;
	w->log_bytes = 0;
	w->log_cut = 0;
	w->canceling = 0;
	task_params(w, task, &params, &vals, &n);
	if (session_run_task_start(w->ss, job_step_name(w->jb,
	    (size_t)w->step), job_step_script(w->jb, (size_t)w->step), params,
	    n, &res) == 0) {
		wait_action(w);
		session_result(w->ss, &res);
	}
	/* progress is written at most every 250 ms: keep the last value for
	 * the transaction that records the result */
	w->progress_final = res.progress >= 0 &&
	    res.progress != w->progress_written ? res.progress : -1;
	w->progress_written = -1;
	for (size_t i = 0; i < n; i++)
		free(vals[i]);
	free(vals);
	free(params);

	r->exit_code = res.exit_code;
	r->log_length = w->log_off - w->task_off;
	switch (res.state) {
	case SESSION_ACTION_SUCCESS:
		r->state = TASK_SUCCEEDED;
		break;
	case SESSION_ACTION_CANCELED:
		r->state = TASK_CANCELED;
		why = queue_task_cancel_reason(w->st, w->job, w->step, task);
		r->reason = why && state_reason_parse(why) >= 0 ?
		    state_reason_parse(why) : REASON_CANCELED_BY_USER;
		free(why);
		break;
	case SESSION_ACTION_NOT_RUN:
		r->reason = REASON_INTERNAL_ERROR;
		r->message = res.message ? res.message : "the session refused "
		    "to run the task";
		break;
	default:
		r->reason = REASON_NONZERO_EXIT;
		r->fail_message = res.message;
		break;
	}
	w->task = -1;
}

/* Lines from the job attachments code (daemon/attach.c). */
static void
attach_log(void *arg, int task, const char *line)
{
	struct worker *w = arg;
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	log_line(w, &ts, line, task);
}

/*
 * After a task that succeeded: its outputs go into the store; a task whose
 * declared outputs match nothing fails (docs/attachments.md).
 */
static void
capture_outputs(struct worker *w, struct queue_result *r)
{
	int rc;

	free(w->cap_msg);
	w->cap_msg = NULL;
	rc = attach_worker_capture(w->aw, w->st, w->attempt, &w->cap_msg);
	if (rc != 0) {
		r->state = TASK_FAILED;
		r->reason = rc == 1 ? REASON_UNMATCHED_OUTPUTS :
		    REASON_INTERNAL_ERROR;
		r->message = w->cap_msg;
		r->fail_message = w->cap_msg;
		if (rc == -1)
			log_warnx("session %" PRId64 ": %s", w->sid, w->cap_msg);
	}
	log_flush(w);
	r->log_length = w->log_off - w->task_off;
}

static int
worker_load(struct worker *w, char **err)
{
	sqlite3_stmt *s;
	struct error_list el = ERROR_LIST_INIT;
	char *text, *state = NULL;
	json_error_t je;

	s = store_stmt(w->st, "SELECT job_id, step, state FROM sessions "
	    "WHERE id = ?");
	if (s == NULL) {
		*err = xstrdup("cannot read the store");
		return -1;
	}
	sqlite3_bind_int64(s, 1, w->sid);
	if (store_step(w->st, s) == SQLITE_ROW) {
		w->job = sqlite3_column_int64(s, 0);
		w->step = sqlite3_column_int(s, 1);
		state = xstrdup((const char *)sqlite3_column_text(s, 2));
	}
	sqlite3_reset(s);
	if (state == NULL) {
		*err = xasprintf("no session %" PRId64, w->sid);
		return -1;
	}
	if (strcmp(state, "ENDED") == 0) {
		free(state);
		*err = xasprintf("session %" PRId64 " has already ended",
		    w->sid);
		return -1;
	}
	free(state);
	text = queue_job_document(w->st, w->job, &w->priority);
	if (text == NULL) {
		*err = xasprintf("no job %" PRId64, w->job);
		return -1;
	}
	w->doc = json_loads(text, 0, &je);
	free(text);
	if (w->doc == NULL) {
		*err = xasprintf("job %" PRId64 ": bad document: %s", w->job,
		    je.text);
		return -1;
	}
	w->jb = job_from_json(w->doc, &el);
	if (w->jb == NULL) {
		char *first = error_list_first(&el);

		*err = xasprintf("job %" PRId64 ": %s", w->job,
		    first ? first : "cannot load");
		free(first);
		error_list_release(&el);
		return -1;
	}
	error_list_release(&el);
	if ((size_t)w->step >= job_nsteps(w->jb)) {
		*err = xasprintf("job %" PRId64 " has no step %d", w->job,
		    w->step);
		return -1;
	}
	return 0;
}

int
worker_main(int64_t sid)
{
	struct worker w;
	struct config cfg = CONFIG_INIT;
	struct session_config sc;
	struct sigaction sa;
	char *err = NULL, *dbpath, *sessions, *fdenv, *rel, *msg = NULL;
	int tasks_run = 0, entered = 0, rc = 0, have_prev = 0;
	int64_t task, prev_task = -1, prev_attempt = -1;
	struct queue_result prev;

	memset(&w, 0, sizeof(w));
	w.progress_written = w.progress_final = -1;
	w.sid = sid;
	w.task = -1;
	w.sess_fd = -1;
	buf_init(&w.pending);
	memset(&prev, 0, sizeof(prev));
	w.notify_fd = -1;
	log_init("drover-worker", LOG_LVL_INFO);
	if (pipe(sig_pipe) == -1)
		fatal("pipe");
	fcntl(sig_pipe[0], F_SETFL, O_NONBLOCK);
	fcntl(sig_pipe[1], F_SETFL, O_NONBLOCK);
	fcntl(sig_pipe[0], F_SETFD, FD_CLOEXEC);
	fcntl(sig_pipe[1], F_SETFD, FD_CLOEXEC);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	fdenv = getenv("DROVER_NOTIFY_FD");
	if (fdenv) {
		w.notify_fd = atoi(fdenv);
		fcntl(w.notify_fd, F_SETFL, O_NONBLOCK);
		fcntl(w.notify_fd, F_SETFD, FD_CLOEXEC);
		unsetenv("DROVER_NOTIFY_FD");
	}
	if (config_load(&cfg, &err) == -1) {
		log_warnx("%s (using defaults)", err);
		free(err);
		err = NULL;
		config_release(&cfg);
	}
	w.max_tasks = (int)config_get_int(&cfg, "daemon.max_tasks_per_session",
	    0);
	if (getenv("DROVER_MAX_TASKS"))
		w.max_tasks = atoi(getenv("DROVER_MAX_TASKS"));
	w.log_max = config_get_int(&cfg, "daemon.task_log_max", 64 << 20);
	if ((w.home = home_dir(&err)) == NULL)
		fatalx("%s", err);
	w.logs = home_path(w.home, HOME_LOGS);
	dbpath = home_path(w.home, HOME_DB);
	if (store_open(&w.st, dbpath, 0, &err) == -1)
		fatalx("%s", err);
	free(dbpath);
	if (worker_load(&w, &err) == -1) {
		log_warnx("session %" PRId64 ": %s", sid, err);
		free(err);
		queue_session_end(w.st, sid, REASON_SESSION_FAILED, "worker "
		    "could not load its job");
		notify_now(&w);
		rc = 1;
		goto out;
	}
	queue_session_set_proc(w.st, sid, (long)getpid(), (long)getpgrp(),
	    proc_start_time(getpid()));
	queue_session_running(w.st, sid);
	rel = xasprintf("%" PRId64 "/session-%" PRId64 ".log", w.job, sid);
	w.sess_fd = open_log(&w, rel, &w.sess_log);
	free(rel);
	if (w.sess_fd >= 0) {
		off_t end = lseek(w.sess_fd, 0, SEEK_END);

		w.log_off = end > 0 ? (int64_t)end : 0;
	}

	sessions = home_path(w.home, HOME_SESSIONS);
	memset(&sc, 0, sizeof(sc));
	sc.root_dir = sessions;
	sc.flags = SESSION_REAP_ORPHANS;
	if (job_extensions(w.jb) & TEMPLATE_EXT_REDACTED_ENV_VARS)
		sc.flags |= SESSION_REDACTED_ENV_VARS;
	sc.parameters = json_object_get(w.doc, "parameters");
	sc.max_notify_seconds = (unsigned)config_get_int(&cfg,
	    "daemon.notify_limit", 0);
	sc.event = on_event;
	sc.event_arg = &w;
	if (attach_worker_new(&w.aw, w.st, w.job, w.jb, (size_t)w.step,
	    attach_log, &w, &err) == 0) {
		sc.path_mapping = attach_worker_rules(w.aw);
		if (attach_worker_active(w.aw)) {
			sc.prepare = attach_worker_prepare;
			sc.prepare_arg = w.aw;
		}
		w.ss = session_new(&sc, &err);
	}
	free(sessions);
	if (w.ss == NULL) {
		int dummy;

		if (next_task(&w, 0, 0, &task, &dummy) == 1)
			queue_task_fail_assigned(w.st, w.job, w.step, task, sid,
			    REASON_SESSION_FAILED, err);
		log_warnx("session %" PRId64 ": %s", sid, err);
		free(err);
		queue_session_end(w.st, sid, REASON_SESSION_FAILED, "session "
		    "could not start");
		notify_now(&w);
		rc = 1;
		goto out;
	}
	/*
	 * One write per task in the steady state: the result of a task, the
	 * claim of the next one and its start go in one transaction.
	 */
	for (;;) {
		int got, started = 0;

		if (store_begin(w.st) == -1)
			break;
		queue_batch_begin(w.st);
		if (have_prev) {
			flush_progress(&w, prev_attempt);
			if (queue_task_end(w.st, w.job, w.step, prev_task,
			    prev_attempt, &prev) < 0)
				log_error("session %" PRId64 ": cannot record "
				    "the result of task %" PRId64, sid,
				    prev_task);
		}
		got = next_task(&w, tasks_run, entered, &task, &started);
		if (got == 1 && entered && !started) {
			w.task_off = w.log_off;
			started = queue_task_start(w.st, w.job, w.step, task,
			    sid, w.sess_log, w.log_off, &w.attempt) == 0;
		}
		if (queue_batch_end(w.st) == -1)
			store_rollback(w.st);
		if (store_commit(w.st) == -1) {
			log_error("session %" PRId64 ": cannot write the "
			    "store: %s", sid, store_errmsg(w.st));
			if (have_prev)
				record_end(&w, prev_task, prev_attempt, &prev);
			have_prev = 0;
			break;
		}
		have_prev = 0;
		notify(&w);
		if (got != 1)
			break;
		if (!entered) {
			entered = 1;
			if (enter_envs(&w, &msg) == -1) {
				queue_task_fail_assigned(w.st, w.job, w.step,
				    task, sid, REASON_SESSION_FAILED, msg);
				notify_now(&w);
				free(msg);
				break;
			}
			w.task_off = w.log_off;
			started = queue_task_start(w.st, w.job, w.step, task,
			    sid, w.sess_log, w.log_off, &w.attempt) == 0;
			notify(&w);
		}
		if (!started)
			continue;	/* canceled meanwhile: claim another */
		tasks_run++;
		run_action(&w, task, &prev);
		if (prev.state == TASK_SUCCEEDED && attach_worker_active(w.aw))
			capture_outputs(&w, &prev);
		prev_task = task;
		prev_attempt = w.attempt;
		have_prev = 1;
		if (prev.state != TASK_SUCCEEDED) {
			/* a failure ends the session (the spec) */
			record_end(&w, prev_task, prev_attempt, &prev);
			have_prev = 0;
			notify_now(&w);
			break;
		}
	}
	exit_envs(&w);
	session_free(w.ss);
	queue_session_end(w.st, sid, REASON_NONE, "ended");
	notify_now(&w);
out:
	if (w.sess_fd >= 0) {
		log_flush(&w);
		close(w.sess_fd);
	}
	buf_release(&w.pending);
	free(w.sess_log);
	attach_worker_free(w.aw);
	free(w.cap_msg);
	job_free(w.jb);
	json_decref(w.doc);
	store_close(w.st);
	config_release(&cfg);
	free(w.logs);
	free(w.home);
	return rc;
}
