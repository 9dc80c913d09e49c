/*
 * The scheduler: starts session workers for READY tasks up to the slot
 * limit (highest priority first, then submission order), reserves the
 * host amounts a step asks for while its session runs, watches workers
 * (our children through libuv, adopted ones through a pidfd), ends their
 * sessions in the store when they exit, forwards cancel requests as
 * signals, and runs completion hooks.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "daemon/daemon-int.h"
#include "daemon/daemon.h"
#include "model/job.h"
#include "store/queue.h"
#include "store/store.h"

extern char **environ;

static uint64_t
now_ms(void)
{
	return (uint64_t)store_now_ms();
}

/* ---- host requirements per job, cached ---- */

struct reqcache {
	int64_t		 job;
	json_t		*reqs;		/* array, one entry per step (or null) */
};

static struct reqcache rc_cache[64];

static const json_t *
step_reqs(struct daemon *d, int64_t job, int step)
{
	struct reqcache *slot = &rc_cache[(uint64_t)job % 64];
	char *text;
	json_t *doc, *steps, *s;
	size_t i;

	if (slot->reqs == NULL || slot->job != job) {
		json_decref(slot->reqs);
		slot->reqs = json_array();
		slot->job = job;
		text = queue_job_document(d->st, job, NULL);
		doc = text ? json_loads(text, 0, NULL) : NULL;
		free(text);
		steps = json_object_get(doc, "steps");
		json_array_foreach(steps, i, s) {
			json_t *r = json_object_get(s, "hostRequirements");

			json_array_append(slot->reqs, r ? r : json_null());
		}
		json_decref(doc);
	}
	return json_array_get(slot->reqs, (size_t)step);
}

static void
reqcache_clear(void)
{
	for (size_t i = 0; i < 64; i++) {
		json_decref(rc_cache[i].reqs);
		rc_cache[i].reqs = NULL;
	}
}

/* ---- sessions ---- */

static void
session_unlink(struct daemon *d, struct dsession *s)
{
	for (struct dsession **pp = &d->sessions; *pp; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			return;
		}
	}
}

static void
kill_leftovers(struct daemon *d, int64_t sid)
{
	long *pgids;
	size_t n;

	if (queue_session_action_pgids(d->st, sid, &pgids, &n) == -1)
		return;
	for (size_t i = 0; i < n; i++)
		if (pgids[i] > 1 && kill(-(pid_t)pgids[i], SIGKILL) == 0)
			log_info("session %" PRId64 ": killed the process group "
			    "%ld its worker left behind", sid, pgids[i]);
	free(pgids);
}

/* 1 if the worker recorded the end of its session itself. */
static int
session_ended(struct daemon *d, int64_t sid)
{
	sqlite3_stmt *st = store_stmt(d->st, "SELECT state FROM sessions "
	    "WHERE id = ?");
	int ended = 0;

	if (st == NULL)
		return 0;
	sqlite3_bind_int64(st, 1, sid);
	if (store_step(d->st, st) == SQLITE_ROW)
		ended = strcmp((const char *)sqlite3_column_text(st, 0),
		    "ENDED") == 0;
	sqlite3_reset(st);
	return ended;
}

/* status < 0: unknown (an adopted worker, not our child). */
static void
session_finish(struct dsession *s, int64_t status, int sig)
{
	struct daemon *d = s->d;
	char *msg = NULL;

	if (sig || status > 0 || (status < 0 && !session_ended(d, s->id))) {
		msg = sig ? xasprintf("session worker %ld was killed by signal "
		    "%d", (long)s->pid, sig) : status > 0 ?
		    xasprintf("session worker %ld exited with status %" PRId64,
		    (long)s->pid, status) : xasprintf("session worker %ld "
		    "ended without recording its results", (long)s->pid);
		log_warnx("session %" PRId64 ": %s", s->id, msg);
		kill_leftovers(d, s->id);
	}
	if (queue_session_end(d->st, s->id, msg ? REASON_SESSION_FAILED :
	    REASON_NONE, msg ? msg : "ended") == -1)
		log_error("session %" PRId64 ": cannot record its end", s->id);
	free(msg);
	host_give(&d->host, s->take);
	free(s->take);
	free(s);
	sched_kick(d);
}

static void
on_adopted_closed(uv_handle_t *h)
{
	session_finish(h->data, -1, 0);
}

static void
on_worker_closed(uv_handle_t *h)
{
	struct dsession *s = h->data;

	session_finish(s, s->exit_status, s->exit_signal);
}

static void
on_worker_exit(uv_process_t *p, int64_t status, int sig)
{
	struct dsession *s = p->data;

	session_unlink(s->d, s);
	s->exited = 1;
	s->exit_status = status;
	s->exit_signal = sig;
	uv_close((uv_handle_t *)p, on_worker_closed);
}

static void
on_adopted_exit(uv_poll_t *p, int status, int events)
{
	struct dsession *s = p->data;
	(void)status;
	(void)events;

	session_unlink(s->d, s);
	uv_poll_stop(p);
	close(s->pidfd);
	s->pidfd = -1;
	s->exited = 1;
	uv_close((uv_handle_t *)p, on_adopted_closed);
}

int
sched_live(const struct daemon *d)
{
	int n = 0;

	for (const struct dsession *s = d->sessions; s; s = s->next)
		n++;
	return n;
}

static struct dsession *
session_new_d(struct daemon *d, int64_t id, int64_t job, int step)
{
	struct dsession *s = xcalloc(1, sizeof(*s));

	s->d = d;
	s->id = id;
	s->job = job;
	s->step = step;
	s->pidfd = -1;
	s->take = xcalloc(d->host.namounts ? d->host.namounts : 1,
	    sizeof(double));
	host_amounts_needed(&d->host, step_reqs(d, job, step), s->take);
	return s;
}

static int
spawn_worker(struct daemon *d, struct dsession *s, char **err)
{
	uv_process_options_t o;
	uv_stdio_container_t io[4];
	char sidbuf[32], maxbuf[32];
	char *args[5];
	char **env;
	size_t n = 0, k = 0;
	int rc;

	snprintf(sidbuf, sizeof(sidbuf), "%" PRId64, s->id);
	args[0] = d->exe;
	args[1] = "daemon";
	args[2] = "--worker";
	args[3] = sidbuf;
	args[4] = NULL;
	while (environ[n])
		n++;
	env = xcalloc(n + 3, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "DROVER_NOTIFY_FD=", 17) != 0 &&
		    strncmp(environ[i], "DROVER_MAX_TASKS=", 17) != 0)
			env[k++] = environ[i];
	env[k++] = "DROVER_NOTIFY_FD=3";
	if (d->max_tasks >= 0) {
		snprintf(maxbuf, sizeof(maxbuf), "DROVER_MAX_TASKS=%d",
		    d->max_tasks);
		env[k++] = maxbuf;
	}
	memset(&o, 0, sizeof(o));
	memset(io, 0, sizeof(io));
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_INHERIT_FD;
	io[1].data.fd = d->log_fd;
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = d->log_fd;
	io[3].flags = UV_INHERIT_FD;
	io[3].data.fd = d->notify_w;
	o.file = d->exe;
	o.args = args;
	o.env = env;
	o.cwd = d->home;
	o.stdio = io;
	o.stdio_count = 4;
	o.flags = UV_PROCESS_DETACHED;
	o.exit_cb = on_worker_exit;
	s->proc.data = s;
	rc = uv_spawn(d->loop, &s->proc, &o);
	free(env);
	if (rc != 0) {
		*err = xasprintf("cannot start a session worker: %s",
		    uv_strerror(rc));
		return -1;
	}
	s->handle_open = 1;
	s->pid = s->proc.pid;
	return 0;
}

/* Starts a session for (job, step): claims its first task, spawns. */
static int
start_session(struct daemon *d, int64_t job, int step)
{
	struct dsession *s;
	char host[256], *err = NULL;
	int64_t sid, task;
	int rc;

	if (gethostname(host, sizeof(host)) == -1)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	if (store_begin(d->st) == -1)
		return -1;
	sid = queue_session_new(d->st, job, step, host, d->sessions_dir);
	if (sid < 0) {
		store_rollback(d->st);
		return -1;
	}
	rc = queue_claim(d->st, job, step, sid, &task);
	if (rc != 1) {
		store_rollback(d->st);
		if (rc == -1 && store_error_transient(d->st))
			d->st_failed = 1;
		return rc == 0 ? 0 : -1;
	}
	if (store_commit(d->st) == -1) {
		if (store_error_transient(d->st))
			d->st_failed = 1;
		return -1;
	}
	s = session_new_d(d, sid, job, step);
	if (spawn_worker(d, s, &err) == -1) {
		log_error("%s", err);
		free(d->blocked);
		d->blocked = err;
		queue_session_end(d->st, sid, REASON_SESSION_FAILED,
		    "cannot start a session worker");
		free(s->take);
		free(s);
		return -1;
	}
	queue_session_set_proc(d->st, sid, (long)s->pid, (long)s->pid,
	    proc_start_time(s->pid));
	host_take(&d->host, s->take);
	s->next = d->sessions;
	d->sessions = s;
	log_debug("session %" PRId64 ": job %" PRId64 " step %d task %" PRId64
	    ", worker %ld", sid, job, step, task, (long)s->pid);
	return 1;
}

static int
adopt(struct daemon *d, const struct queue_session_info *si)
{
	struct dsession *s;
	int fd = (int)syscall(SYS_pidfd_open, (pid_t)si->pid, 0);

	if (fd < 0)
		return -1;
	s = session_new_d(d, si->id, si->job, si->step);
	s->pid = (pid_t)si->pid;
	s->adopted = 1;
	s->pidfd = fd;
	s->poll.data = s;
	if (uv_poll_init(d->loop, &s->poll, fd) != 0 ||
	    uv_poll_start(&s->poll, UV_READABLE, on_adopted_exit) != 0) {
		close(fd);
		free(s->take);
		free(s);
		return -1;
	}
	s->handle_open = 1;
	host_take(&d->host, s->take);
	s->next = d->sessions;
	d->sessions = s;
	return 0;
}

void
sched_recover(struct daemon *d)
{
	struct queue_session_info *v;
	size_t n;
	int adopted = 0, lost = 0;

	if (queue_sessions_live(d->st, &v, &n) == -1)
		return;
	for (size_t i = 0; i < n; i++) {
		if (v[i].pid > 0 && proc_alive((pid_t)v[i].pid,
		    v[i].proc_start) && adopt(d, &v[i]) == 0) {
			log_info("session %" PRId64 ": re-adopted worker %ld",
			    v[i].id, v[i].pid);
			adopted++;
			continue;
		}
		kill_leftovers(d, v[i].id);
		if (queue_session_end(d->st, v[i].id, REASON_DAEMON_RESTARTED,
		    "daemon restarted") == -1)
			log_error("session %" PRId64 ": cannot end it",
			    v[i].id);
		lost++;
	}
	free(v);
	if (adopted || lost)
		log_info("recovery: %d session(s) re-adopted, %d lost", adopted,
		    lost);
}

void
sched_signal_sessions(struct daemon *d, const int64_t *ids, size_t n, int sig)
{
	for (struct dsession *s = d->sessions; s; s = s->next)
		for (size_t i = 0; i < n; i++)
			if (s->id == ids[i] && s->pid > 0) {
				kill(s->pid, sig);
				s->signaled_at = now_ms();
			}
}

void
sched_signal_all(struct daemon *d, int sig)
{
	for (struct dsession *s = d->sessions; s; s = s->next)
		if (s->pid > 0)
			kill(s->pid, sig);
}

/* ---- hooks ---- */

static void
on_hook_closed(uv_handle_t *p)
{
	free(p->data);
}

static void
on_hook_exit(uv_process_t *p, int64_t status, int sig)
{
	struct hook *h = p->data;
	struct daemon *d = h->d;

	if (status || sig)
		log_warnx("job %" PRId64 ": completion hook exited with %s %d",
		    h->job, sig ? "signal" : "status", sig ? sig : (int)status);
	queue_hook_done(d->st, h->job);
	for (struct hook **pp = &d->hooks; *pp; pp = &(*pp)->next)
		if (*pp == h) {
			*pp = h->next;
			break;
		}
	uv_close((uv_handle_t *)p, on_hook_closed);
	sched_kick(d);
}

static void
run_hook(struct daemon *d, int64_t job)
{
	json_t *j = queue_job_json(d->st, job, 0);
	sqlite3_stmt *s;
	char *cmd = NULL, *cwd = NULL;
	char *args[4], **env, *e[4];
	size_t n = 0, k = 0;
	uv_process_options_t o;
	uv_stdio_container_t io[3];
	struct hook *h;
	int rc;

	if (j == NULL)
		return;
	s = store_stmt(d->st, "SELECT on_complete, cwd FROM jobs WHERE id = ?");
	if (s) {
		sqlite3_bind_int64(s, 1, job);
		if (store_step(d->st, s) == SQLITE_ROW) {
			if (sqlite3_column_text(s, 0))
				cmd = xstrdup((const char *)
				    sqlite3_column_text(s, 0));
			if (sqlite3_column_text(s, 1))
				cwd = xstrdup((const char *)
				    sqlite3_column_text(s, 1));
		}
		sqlite3_reset(s);
	}
	if (cmd == NULL || *cmd == '\0') {
		queue_hook_done(d->st, job);
		goto out;
	}
	e[0] = xasprintf("DROVER_JOB_ID=%" PRId64, job);
	e[1] = xasprintf("DROVER_JOB_NAME=%s",
	    json_string_value(json_object_get(j, "name")));
	e[2] = xasprintf("DROVER_JOB_STATE=%s",
	    json_string_value(json_object_get(j, "state")));
	e[3] = xasprintf("DROVER_JOB_REASON=%s",
	    json_string_value(json_object_get(j, "reason")));
	while (environ[n])
		n++;
	env = xcalloc(n + 5, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "DROVER_JOB_", 11) != 0)
			env[k++] = environ[i];
	for (size_t i = 0; i < 4; i++)
		env[k++] = e[i];
	args[0] = "/bin/sh";
	args[1] = "-c";
	args[2] = cmd;
	args[3] = NULL;
	memset(&o, 0, sizeof(o));
	memset(io, 0, sizeof(io));
	io[0].flags = UV_IGNORE;
	io[1].flags = UV_INHERIT_FD;
	io[1].data.fd = d->log_fd;
	io[2].flags = UV_INHERIT_FD;
	io[2].data.fd = d->log_fd;
	o.file = "/bin/sh";
	o.args = args;
	o.env = env;
	o.cwd = cwd && access(cwd, X_OK) == 0 ? cwd : d->home;
	o.stdio = io;
	o.stdio_count = 3;
	o.flags = UV_PROCESS_DETACHED;
	o.exit_cb = on_hook_exit;
	h = xcalloc(1, sizeof(*h));
	h->job = job;
	h->d = d;
	h->proc.data = h;
	rc = uv_spawn(d->loop, &h->proc, &o);
	if (rc != 0) {
		log_warnx("job %" PRId64 ": cannot run the completion hook: %s",
		    job, uv_strerror(rc));
		queue_hook_done(d->st, job);
		free(h);
	} else {
		log_info("job %" PRId64 ": completion hook started (pid %d)",
		    job, h->proc.pid);
		h->next = d->hooks;
		d->hooks = h;
	}
	for (size_t i = 0; i < 4; i++)
		free(e[i]);
	free(env);
out:
	free(cmd);
	free(cwd);
	json_decref(j);
}

static void
hooks(struct daemon *d)
{
	int64_t *ids;
	size_t n;

	if (queue_hooks_due(d->st, &ids, &n) == -1)
		return;
	for (size_t i = 0; i < n; i++) {
		struct hook *h;

		for (h = d->hooks; h; h = h->next)
			if (h->job == ids[i])
				break;
		if (h == NULL)
			run_hook(d, ids[i]);
	}
	free(ids);
}

/* ---- dispatch ---- */

static int
space_ok(struct daemon *d)
{
	struct statvfs sv;
	int64_t need = config_get_int(&d->cfg, "daemon.min_free_space",
	    100 << 20);
	uint64_t avail;

	if (statvfs(d->sessions_dir, &sv) == -1)
		return 1;
	avail = (uint64_t)sv.f_bavail * sv.f_frsize;
	if (need > 0 && avail < (uint64_t)need) {
		char *why = xasprintf("not starting sessions: %" PRIu64 " MiB "
		    "free in '%s', daemon.min_free_space wants %" PRId64
		    " MiB", avail >> 20, d->sessions_dir, need >> 20);

		if (d->blocked == NULL || strcmp(d->blocked, why) != 0)
			log_warnx("%s", why);
		free(d->blocked);
		d->blocked = why;
		return 0;
	}
	free(d->blocked);
	d->blocked = NULL;
	return 1;
}

static void
dispatch(struct daemon *d)
{
	struct queue_candidate *c;
	size_t n;
	int free_slots = d->slots - sched_live(d);

	if (free_slots <= 0 || d->draining || d->stopping || !d->store_ok)
		return;
	if (!space_ok(d))
		return;
	if (queue_candidates(d->st, &c, &n, (size_t)free_slots * 4 + 16) == -1)
		return;
	for (size_t i = 0; i < n && free_slots > 0; i++) {
		const json_t *req = step_reqs(d, c[i].job, c[i].step);
		double *take;
		char *why = NULL;

		if (!host_check(&d->host, req, &why)) {
			log_info("job %" PRId64 " step %d: %s", c[i].job,
			    c[i].step, why);
			queue_step_incompatible(d->st, c[i].job, c[i].step, why);
			free(why);
			continue;
		}
		take = xcalloc(d->host.namounts ? d->host.namounts : 1,
		    sizeof(double));
		host_amounts_needed(&d->host, req, take);
		while (c[i].ready > 0 && free_slots > 0 &&
		    host_fits(&d->host, take)) {
			int rc = start_session(d, c[i].job, c[i].step);

			if (rc <= 0)
				break;
			c[i].ready--;
			free_slots--;
		}
		free(take);
	}
	free(c);
}

static void
terminations(struct daemon *d)
{
	int64_t *ids;
	size_t n;
	uint64_t now = now_ms();

	if (queue_terminating_sessions(d->st, &ids, &n) == -1)
		return;
	for (struct dsession *s = d->sessions; s; s = s->next)
		for (size_t i = 0; i < n; i++)
			if (s->id == ids[i] && s->pid > 0 &&
			    now - s->signaled_at >= 1000) {
				kill(s->pid, SIGTERM);
				s->signaled_at = now;
			}
	free(ids);
}

void
sched_pass(struct daemon *d)
{
	terminations(d);
	hooks(d);
	dispatch(d);
	daemon_push_waiters(d);
	daemon_maybe_exit(d);
}

static void
on_kick(uv_timer_t *t)
{
	sched_pass(t->data);
}

/*
 * A write failed for want of disk (or the file became read-only): say so
 * in the log and to clients (status, submit), accept no new work, and
 * probe every tick until the store takes writes again.  Workers keep
 * running and retry their results themselves.
 */
static void
store_health(struct daemon *d)
{
	char now[32];

	if (d->store_ok && !d->st_failed)
		return;
	snprintf(now, sizeof(now), "%lld", (long long)store_now_ms());
	if (store_meta_set(d->st, "heartbeat", now) == 0) {
		if (!d->store_ok)
			log_info("the store takes writes again");
		d->store_ok = 1;
		d->st_failed = 0;
	} else if (d->store_ok) {
		log_error("the store cannot be written (%s): no new work is "
		    "accepted until it can", store_errmsg(d->st));
		d->store_ok = 0;
	}
}

static void
on_tick(uv_timer_t *t)
{
	struct daemon *d = t->data;

	daemon_check_home(d);
	store_health(d);
	store_checkpoint(d->st);
	sched_pass(d);
}

void
sched_kick(struct daemon *d)
{
	if (!uv_is_active((uv_handle_t *)&d->kick))
		uv_timer_start(&d->kick, on_kick, 0, 0);
}

void
sched_init(struct daemon *d)
{
	uv_timer_init(d->loop, &d->kick);
	d->kick.data = d;
	uv_timer_init(d->loop, &d->tick);
	d->tick.data = d;
	uv_timer_start(&d->tick, on_tick, 1000, 1000);
}

void
sched_rereserve(struct daemon *d)
{
	reqcache_clear();
	for (struct dsession *s = d->sessions; s; s = s->next) {
		free(s->take);
		s->take = xcalloc(d->host.namounts ? d->host.namounts : 1,
		    sizeof(double));
		host_amounts_needed(&d->host, step_reqs(d, s->job, s->step),
		    s->take);
		host_take(&d->host, s->take);
	}
}

static void
on_closed_free(uv_handle_t *h)
{
	struct dsession *s = h->data;

	free(s->take);
	free(s);
}

void
sched_close(struct daemon *d)
{
	struct dsession *s;

	while ((s = d->sessions) != NULL) {
		d->sessions = s->next;
		if (s->adopted && s->pidfd >= 0) {
			uv_poll_stop(&s->poll);
			close(s->pidfd);
			s->pidfd = -1;
		}
		/* the worker goes on: the next daemon adopts it */
		if (s->handle_open)
			uv_close(s->adopted ? (uv_handle_t *)&s->poll :
			    (uv_handle_t *)&s->proc, on_closed_free);
		else {
			free(s->take);
			free(s);
		}
	}
	reqcache_clear();
}
