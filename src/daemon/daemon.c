/*
 * The daemon: start-up (detaching, the pid lock, the store, the socket),
 * clients and their requests, signals, and shutdown.  The scheduling
 * itself is in sched.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "daemon/daemon-int.h"
#include "daemon/daemon.h"
#include "daemon/home.h"
#include "daemon/peer.h"
#include "model/job.h"
#include "model/space.h"
#include "store/attach.h"
#include "store/queue.h"
#include "store/store.h"

/* ---- readiness report to the CLI that started us ---- */

static int ready_fd = -1;
static int pid_lock_fd = -1;	/* drover.pid, locked while we run */

static void
ready_report(const char *msg)
{
	if (ready_fd < 0)
		return;
	if (write(ready_fd, msg, strlen(msg)) < 0 || write(ready_fd, "\n", 1) < 0)
		log_warn("cannot report readiness");
	close(ready_fd);
	ready_fd = -1;
}

static _Noreturn void
startup_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static _Noreturn void
startup_fail(const char *fmt, ...)
{
	va_list ap;
	char *msg;
	struct buf b = BUF_INIT;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	msg = buf_detach(&b, NULL);
	log_error("%s", msg);
	/* unlock first: whoever reads the report may start another */
	if (pid_lock_fd >= 0)
		close(pid_lock_fd);
	ready_report(msg);
	free(msg);
	exit(1);
}

/* ---- writing to clients ---- */

struct wreq {
	uv_write_t	 req;
	char		*data;
};

static void
on_written(uv_write_t *w, int status)
{
	struct wreq *r = (struct wreq *)w;
	(void)status;

	free(r->data);
	free(r);
}

static void
client_send(struct dclient *c, json_t *msg)
{
	struct wreq *r;
	size_t len;
	uv_buf_t b;

	if (c->closing) {
		json_decref(msg);
		return;
	}
	r = xcalloc(1, sizeof(*r));
	r->data = proto_encode(msg, &len);
	json_decref(msg);
	b = uv_buf_init(r->data, (unsigned)len);
	if (uv_write(&r->req, (uv_stream_t *)&c->pipe, &b, 1, on_written) != 0) {
		free(r->data);
		free(r);
	}
}

static void
on_client_closed(uv_handle_t *h)
{
	struct dclient *c = h->data;

	proto_reader_release(&c->rd);
	json_decref(c->wait_jobs);
	free(c);
}

static void
client_close(struct dclient *c)
{
	struct daemon *d = c->d;

	if (c->closing)
		return;
	c->closing = 1;
	for (struct dclient **pp = &d->clients; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

static json_t *
reply_ok(json_t *id)
{
	return json_pack("{s:O, s:b}", "id", id ? id : json_null(), "ok", 1);
}

static void
send_error(struct dclient *c, json_t *id, const char *code, const char *msg)
{
	client_send(c, json_pack("{s:O, s:b, s:s, s:s}", "id", id ? id :
	    json_null(), "ok", 0, "code", code, "error", msg));
}

/* ---- requests ---- */

static int
get_job(json_t *req, int64_t *job, char **err)
{
	json_t *j = json_object_get(req, "job");

	if (!json_is_integer(j) || json_integer_value(j) <= 0) {
		*err = xstrdup("a job id is required");
		return -1;
	}
	*job = json_integer_value(j);
	return 0;
}

/* Step by name or index; -1 = none given; -2 = not found (with *err). */
static int
get_step(struct daemon *d, int64_t job, json_t *req, char **err)
{
	json_t *s = json_object_get(req, "step");
	int i;

	if (s == NULL || json_is_null(s))
		return -1;
	if (json_is_integer(s))
		return (int)json_integer_value(s);
	if (json_is_string(s)) {
		i = queue_step_index(d->st, job, json_string_value(s));
		if (i >= 0)
			return i;
		*err = xasprintf("job %" PRId64 " has no step '%s'", job,
		    json_string_value(s));
		return -2;
	}
	*err = xstrdup("bad step");
	return -2;
}

static json_t *
op_submit(struct daemon *d, json_t *req, char **err, const char **code)
{
	json_t *doc = json_object_get(req, "job"), *after, *v;
	struct error_list el = ERROR_LIST_INIT;
	struct queue_job_spec js;
	struct queue_step_spec *steps;
	int64_t *aft = NULL, id;
	char *text, *params;
	struct job *jb;
	size_t n, i;
	int rc, oe;

	if (d->stopping) {
		*code = "STOPPING";
		*err = xstrdup("the daemon is stopping");
		return NULL;
	}
	if (!d->store_ok) {
		*code = "STORE";
		*err = xstrdup("the store cannot be written: no new work is "
		    "accepted (see daemon.log)");
		return NULL;
	}
	if (json_object_get(req, "attachments") &&
	    queue_attach_check(json_object_get(req, "attachments"), err) == -1)
		return NULL;
	jb = json_is_object(doc) ? job_from_json(doc, &el) : NULL;
	if (jb == NULL) {
		char *first = error_list_first(&el);

		*code = "INVALID";
		*err = xasprintf("bad job: %s", first ? first : "no job");
		free(first);
		error_list_release(&el);
		return NULL;
	}
	error_list_release(&el);
	memset(&js, 0, sizeof(js));
	n = job_nsteps(jb);
	steps = xcalloc(n ? n : 1, sizeof(*steps));
	for (i = 0; i < n; i++) {
		size_t nd;
		const size_t *deps = job_step_deps(jb, i, &nd);
		int *di = xcalloc(nd ? nd : 1, sizeof(int));
		char *why = NULL;

		for (size_t k = 0; k < nd; k++)
			di[k] = (int)deps[k];
		steps[i].name = job_step_name(jb, i);
		steps[i].task_count = (int64_t)space_count(job_step_space(jb,
		    i));
		steps[i].deps = di;
		steps[i].ndeps = nd;
		if (!host_check(&d->host, job_step_host_requirements(jb, i),
		    &why))
			steps[i].incompatible = why;
	}
	after = json_object_get(req, "after");
	aft = xcalloc(json_array_size(after) + 1, sizeof(int64_t));
	json_array_foreach(after, i, v)
		aft[js.nafter++] = json_integer_value(v);
	text = json_dumps(doc, JSON_COMPACT);
	params = json_dumps(json_object_get(req, "params") ?
	    json_object_get(req, "params") : json_object(), JSON_COMPACT);
	js.name = json_string_value(json_object_get(req, "name")) ?
	    json_string_value(json_object_get(req, "name")) : job_name(jb);
	js.job_json = text;
	js.params_json = params;
	js.source = json_string_value(json_object_get(req, "source"));
	js.submitter = json_string_value(json_object_get(req, "submitter"));
	js.cwd = json_string_value(json_object_get(req, "cwd"));
	js.priority = json_is_integer(json_object_get(req, "priority")) ?
	    (int)json_integer_value(json_object_get(req, "priority")) :
	    (int)config_get_int(&d->cfg, "jobs.priority", 50);
	oe = queue_on_error_parse(json_string_value(json_object_get(req,
	    "onError")) ? json_string_value(json_object_get(req, "onError")) :
	    config_get(&d->cfg, "jobs.on_error"));
	js.on_error = oe < 0 ? QUEUE_ON_ERROR_QUIT : oe;
	js.max_retries = json_is_integer(json_object_get(req, "maxRetries")) ?
	    (int)json_integer_value(json_object_get(req, "maxRetries")) :
	    (int)config_get_int(&d->cfg, "jobs.max_retries", 0);
	js.max_failed = (int)json_integer_value(json_object_get(req,
	    "maxFailedTasks"));
	js.paused = json_is_true(json_object_get(req, "paused"));
	js.on_complete = json_string_value(json_object_get(req, "onComplete"));
	if (js.on_complete == NULL && *config_get(&d->cfg, "jobs.on_complete"))
		js.on_complete = config_get(&d->cfg, "jobs.on_complete");
	js.after = aft;
	js.steps = steps;
	js.nsteps = n;
	/* the job and its attachments in one transaction */
	rc = store_begin(d->st);
	if (rc == 0)
		rc = queue_submit(d->st, &js, &id, err);
	if (rc == 0 && json_object_get(req, "attachments"))
		rc = queue_attach_set(d->st, id, json_object_get(req,
		    "attachments"), err);
	if (rc == 0)
		rc = store_commit(d->st);
	else if (d->st->in_tx)
		store_rollback(d->st);
	if (rc == -1 && *err == NULL)
		*err = xasprintf("cannot record the job: %s",
		    store_errmsg(d->st));
	if (rc == -1 && store_error_transient(d->st))
		d->st_failed = 1;
	if (rc == 0)
		log_info("job %" PRId64 ": submitted '%s'", id, js.name);
	for (i = 0; i < n; i++) {
		free((void *)steps[i].deps);
		free((void *)steps[i].incompatible);
	}
	free(steps);
	free(aft);
	free(text);
	free(params);
	job_free(jb);
	if (rc == -1) {
		*code = strncmp(*err, "no job", 6) == 0 ? "NOT_FOUND" : "STORE";
		return NULL;
	}
	sched_kick(d);
	return json_pack("{s:I, s:o}", "jobId", (json_int_t)id, "job",
	    queue_job_json(d->st, id, 1));
}

static json_t *
op_show(struct daemon *d, json_t *req, char **err, const char **code)
{
	int64_t job;
	json_t *j, *att;
	int step;

	if (get_job(req, &job, err) == -1)
		return NULL;
	j = queue_job_json(d->st, job, 1);
	if (j == NULL) {
		*code = "NOT_FOUND";
		*err = xasprintf("no job %" PRId64, job);
		return NULL;
	}
	if ((step = get_step(d, job, req, err)) == -2) {
		json_decref(j);
		*code = "NOT_FOUND";
		return NULL;
	}
	json_object_set_new(j, "attempts", queue_attempts_json(d->st, job,
	    step, json_is_integer(json_object_get(req, "task")) ?
	    json_integer_value(json_object_get(req, "task")) : -1));
	if (json_is_true(json_object_get(req, "events")))
		json_object_set_new(j, "events", queue_events_json(d->st, job));
	if ((att = queue_attach_json(d->st, job)) != NULL)
		json_object_set_new(j, "attachments", att);
	return json_pack("{s:o}", "job", j);
}

static json_t *
op_cancel(struct daemon *d, json_t *req, char **err, const char **code)
{
	int64_t job, *sess, task = -1, n;
	size_t ns;
	int step;

	if (get_job(req, &job, err) == -1)
		return NULL;
	if ((step = get_step(d, job, req, err)) == -2) {
		*code = "NOT_FOUND";
		return NULL;
	}
	if (json_is_integer(json_object_get(req, "task")))
		task = json_integer_value(json_object_get(req, "task"));
	if (task >= 0 && step < 0) {
		*err = xstrdup("a task needs a step");
		return NULL;
	}
	n = queue_cancel(d->st, job, step, task, REASON_CANCELED_BY_USER,
	    "canceled by user", &sess, &ns, err);
	if (n < 0) {
		*code = strncmp(*err, "no ", 3) == 0 || strstr(*err, " has no ")
		    ? "NOT_FOUND" : "STORE";
		return NULL;
	}
	sched_signal_sessions(d, sess, ns, SIGTERM);
	free(sess);
	sched_kick(d);
	log_info("job %" PRId64 ": canceled %" PRId64 " task(s)", job, n);
	return json_pack("{s:I, s:I}", "canceled", (json_int_t)n, "running",
	    (json_int_t)ns);
}

static json_t *
op_simple(struct daemon *d, const char *op, json_t *req, char **err,
    const char **code)
{
	int64_t job, n = 0;
	int rc;

	if (get_job(req, &job, err) == -1)
		return NULL;
	if (strcmp(op, "pause") == 0)
		rc = queue_pause(d->st, job, err);
	else if (strcmp(op, "resume") == 0)
		rc = queue_resume(d->st, job, err);
	else if (strcmp(op, "retry") == 0) {
		n = queue_retry(d->st, job,
		    json_is_true(json_object_get(req, "failed")), err);
		rc = n < 0 ? -1 : 0;
	} else {
		rc = queue_rm(d->st, job, json_is_true(json_object_get(req,
		    "force")), err);
		if (rc == 0) {
			char *cmd, *dir = xasprintf("%s/%" PRId64, d->logs_dir,
			    job);

			cmd = xasprintf("rm -rf '%s'", dir);
			if (system(cmd) != 0)
				log_warnx("cannot remove '%s'", dir);
			free(cmd);
			free(dir);
		}
	}
	if (rc == -1) {
		*code = strncmp(*err, "no job", 6) == 0 ? "NOT_FOUND" :
		    strstr(*err, "has not ended") ? "STATE" : "STORE";
		return NULL;
	}
	log_info("job %" PRId64 ": %s", job, op);
	sched_kick(d);
	return json_pack("{s:I, s:I}", "jobId", (json_int_t)job, "tasks",
	    (json_int_t)n);
}

static json_t *
op_status(struct daemon *d)
{
	json_t *o = json_object(), *ss = json_array();

	for (struct dsession *s = d->sessions; s; s = s->next)
		json_array_append_new(ss, json_pack("{s:I, s:I, s:i, s:i, s:b}",
		    "session", (json_int_t)s->id, "job", (json_int_t)s->job,
		    "step", s->step, "pid", (int)s->pid, "adopted",
		    s->adopted));
	json_object_set_new(o, "pid", json_integer(getpid()));
	json_object_set_new(o, "version", json_string(DROVER_VERSION));
	json_object_set_new(o, "protocol", json_integer(PROTO_VERSION));
	json_object_set_new(o, "schema", json_integer(store_version(d->st)));
	json_object_set_new(o, "home", json_string(d->home));
	json_object_set_new(o, "slots", json_integer(d->slots));
	json_object_set_new(o, "slotsInUse", json_integer(sched_live(d)));
	json_object_set_new(o, "draining", json_boolean(d->draining));
	json_object_set_new(o, "stopping", json_boolean(d->stopping));
	json_object_set_new(o, "storeWritable", json_boolean(d->store_ok));
	if (d->blocked)
		json_object_set_new(o, "blocked", json_string(d->blocked));
	json_object_set_new(o, "jobs", queue_counts_json(d->st));
	json_object_set_new(o, "sessions", ss);
	return o;
}

static json_t *
op_gc(struct daemon *d, json_t *req, char **err, const char **code)
{
	json_t *age = json_object_get(req, "olderThanMs"), *ids;
	int64_t *v, n;
	size_t k;

	if (!json_is_integer(age) || json_integer_value(age) < 0) {
		*err = xstrdup("olderThanMs is required");
		return NULL;
	}
	n = queue_gc(d->st, store_now_ms() - json_integer_value(age), &v, &k);
	if (n < 0) {
		*code = "STORE";
		*err = xstrdup("cannot prune the store");
		return NULL;
	}
	ids = json_array();
	for (size_t i = 0; i < k; i++) {
		char *cmd = xasprintf("rm -rf '%s/%" PRId64 "'", d->logs_dir,
		    v[i]);

		if (system(cmd) != 0)
			log_warnx("cannot remove the logs of job %" PRId64, v[i]);
		free(cmd);
		json_array_append_new(ids, json_integer(v[i]));
	}
	free(v);
	log_info("gc: removed %" PRId64 " job(s)", n);
	return json_pack("{s:I, s:o}", "removed", (json_int_t)n, "jobs", ids);
}

static void
begin_stop(struct daemon *d, int now)
{
	if (now && d->stopping < 2) {
		int64_t *ids;
		size_t n;

		if (queue_cancel_running(d->st, REASON_KILLED_BY_ADMIN, &ids,
		    &n) == 0) {
			sched_signal_sessions(d, ids, n, SIGTERM);
			free(ids);
		}
		d->stopping = 2;
	} else if (!d->stopping)
		d->stopping = 1;
	log_info("stopping%s: %d session(s) to finish", now ? " now" : "",
	    sched_live(d));
	sched_signal_all(d, SIGUSR1);
	sched_kick(d);
}

static json_t *
wait_progress(struct daemon *d, json_t *ids, int *all_done, int *any_done)
{
	json_t *out = json_array(), *v;
	size_t i;

	*all_done = 1;
	*any_done = 0;
	json_array_foreach(ids, i, v) {
		json_t *j = queue_job_json(d->st, json_integer_value(v), 1);

		if (j == NULL) {
			json_array_append_new(out, json_pack("{s:O, s:s}", "id",
			    v, "state", "REMOVED"));
			*any_done = 1;
			continue;
		}
		if (json_is_null(json_object_get(j, "endedAt")))
			*all_done = 0;
		else
			*any_done = 1;
		json_array_append_new(out, j);
	}
	return out;
}

static void
wait_push(struct daemon *d, struct dclient *c, int force)
{
	int all, any;
	json_t *jobs = wait_progress(d, c->wait_jobs, &all, &any);

	if (all || (c->wait_any && any)) {
		client_send(c, json_pack("{s:I, s:b, s:o}", "id", c->wait_id,
		    "ok", 1, "jobs", jobs));
		json_decref(c->wait_jobs);
		c->wait_jobs = NULL;
	} else if (force || any >= 0)
		client_send(c, json_pack("{s:I, s:s, s:o}", "id", c->wait_id,
		    "event", "progress", "jobs", jobs));
}

static uint64_t last_push;
static uv_timer_t push_timer;

static void
on_push_timer(uv_timer_t *t)
{
	daemon_push_waiters(t->data);
}

void
daemon_push_waiters(struct daemon *d)
{
	uint64_t newest, now = (uint64_t)store_now_ms();
	int any = 0;

	for (struct dclient *c = d->clients; c; c = c->next)
		if (c->wait_jobs)
			any = 1;
	if (!any)
		return;
	if (now - last_push < 200) {
		if (!uv_is_active((uv_handle_t *)&push_timer))
			uv_timer_start(&push_timer, on_push_timer,
			    200 - (now - last_push), 0);
		return;
	}
	newest = store_change_mark(d->st);
	if (newest == d->last_event)
		return;
	d->last_event = newest;
	last_push = now;
	for (struct dclient *c = d->clients, *next; c; c = next) {
		next = c->next;
		if (c->wait_jobs)
			wait_push(d, c, 0);
	}
}

static int
op_wait(struct daemon *d, struct dclient *c, json_t *req, json_t *id,
    char **err)
{
	json_t *jobs = json_object_get(req, "jobs"), *v;
	size_t i;

	if (!json_is_array(jobs) || json_array_size(jobs) == 0) {
		*err = xstrdup("jobs to wait for are required");
		return -1;
	}
	json_array_foreach(jobs, i, v) {
		if (!json_is_integer(v)) {
			*err = xstrdup("job ids must be integers");
			return -1;
		}
		if (!queue_job_exists(d->st, json_integer_value(v))) {
			*err = xasprintf("no job %" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
			return -1;
		}
	}
	json_decref(c->wait_jobs);
	c->wait_jobs = json_incref(jobs);
	c->wait_id = json_integer_value(id);
	c->wait_any = json_is_true(json_object_get(req, "any"));
	wait_push(d, c, 1);
	return 0;
}

static json_t *
op_logs(struct daemon *d, json_t *req, char **err, const char **code)
{
	int64_t job;
	int step;
	json_t *o, *j;

	if (get_job(req, &job, err) == -1)
		return NULL;
	if ((j = queue_job_json(d->st, job, 0)) == NULL) {
		*code = "NOT_FOUND";
		*err = xasprintf("no job %" PRId64, job);
		return NULL;
	}
	if ((step = get_step(d, job, req, err)) == -2) {
		json_decref(j);
		*code = "NOT_FOUND";
		return NULL;
	}
	o = json_object();
	json_object_set_new(o, "state", json_incref(json_object_get(j,
	    "state")));
	json_object_set_new(o, "ended", json_boolean(!json_is_null(
	    json_object_get(j, "endedAt"))));
	json_decref(j);
	json_object_set_new(o, "attempts", queue_attempts_json(d->st, job,
	    step, json_is_integer(json_object_get(req, "task")) ?
	    json_integer_value(json_object_get(req, "task")) : -1));
	return o;
}

static void
handle(struct dclient *c, json_t *req)
{
	struct daemon *d = c->d;
	json_t *id = json_object_get(req, "id"), *res = NULL, *r;
	const char *op = json_string_value(json_object_get(req, "op"));
	const char *code = "BAD_REQUEST";
	char *err = NULL;

	if (op == NULL) {
		send_error(c, id, "BAD_REQUEST", "no op");
		return;
	}
	log_debug("request %s", op);
	if (!strcmp(op, "submit"))
		res = op_submit(d, req, &err, &code);
	else if (!strcmp(op, "ls")) {
		int state = -1;
		const char *s = json_string_value(json_object_get(req, "state"));

		if (s && (state = task_state_parse(s)) < 0) {
			err = xasprintf("unknown state '%s'", s);
		} else
			res = json_pack("{s:o}", "jobs", queue_list_json(d->st,
			    state, json_is_true(json_object_get(req, "all"))));
	} else if (!strcmp(op, "show"))
		res = op_show(d, req, &err, &code);
	else if (!strcmp(op, "cancel"))
		res = op_cancel(d, req, &err, &code);
	else if (!strcmp(op, "pause") || !strcmp(op, "resume") ||
	    !strcmp(op, "retry") || !strcmp(op, "rm"))
		res = op_simple(d, op, req, &err, &code);
	else if (!strcmp(op, "status"))
		res = op_status(d);
	else if (!strcmp(op, "drain") || !strcmp(op, "undrain")) {
		d->draining = op[0] == 'd';
		store_meta_set(d->st, "drain", d->draining ? "1" : NULL);
		if (d->draining)
			sched_signal_all(d, SIGUSR1);
		log_info("%s", d->draining ? "draining" : "undrained");
		sched_kick(d);
		res = json_pack("{s:b, s:i}", "draining", d->draining,
		    "running", sched_live(d));
	} else if (!strcmp(op, "stop")) {
		begin_stop(d, json_is_true(json_object_get(req, "now")));
		res = json_pack("{s:i}", "running", sched_live(d));
	} else if (!strcmp(op, "reload")) {
		daemon_reload(d);
		res = json_pack("{s:i}", "slots", d->slots);
	} else if (!strcmp(op, "gc"))
		res = op_gc(d, req, &err, &code);
	else if (!strcmp(op, "logs"))
		res = op_logs(d, req, &err, &code);
	else if (!strcmp(op, "wait")) {
		if (op_wait(d, c, req, id, &err) == 0)
			return;
	} else {
		err = xasprintf("unknown op '%s'", op);
	}
	if (res == NULL) {
		send_error(c, id, code, err ? err : "failed");
		free(err);
		return;
	}
	r = reply_ok(id);
	json_object_update(r, res);
	json_decref(res);
	client_send(c, r);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)h;
	b->base = xmalloc(suggested);
	b->len = suggested;
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct dclient *c = s->data;
	json_t *msg;
	char *err = NULL;
	int rc;

	if (n < 0) {
		free(b->base);
		client_close(c);
		return;
	}
	proto_reader_feed(&c->rd, b->base, (size_t)n);
	free(b->base);
	while (!c->closing && (rc = proto_reader_next(&c->rd, &msg, &err)) != 0) {
		if (rc < 0) {
			send_error(c, NULL, "BAD_REQUEST", err);
			free(err);
			client_close(c);
			return;
		}
		if (!c->hello) {
			if (proto_check_hello(msg, &err) == -1) {
				send_error(c, NULL, "PROTOCOL", err);
				free(err);
				json_decref(msg);
				client_close(c);
				return;
			}
			c->hello = 1;
		} else
			handle(c, msg);
		json_decref(msg);
	}
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct daemon *d = server->data;
	struct dclient *c;
	uv_os_fd_t fd;
	char *why = NULL;
	json_t *hello;

	if (status < 0)
		return;
	c = xcalloc(1, sizeof(*c));
	c->d = d;
	uv_pipe_init(d->loop, &c->pipe, 0);
	c->pipe.data = c;
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0) {
		uv_close((uv_handle_t *)&c->pipe, on_client_closed);
		return;
	}
	c->next = d->clients;
	d->clients = c;
	if (uv_fileno((uv_handle_t *)&c->pipe, &fd) != 0 ||
	    !peer_allowed(fd, d->owner, &why)) {
		log_warnx("refused a connection: %s", why ? why : "no fd");
		hello = proto_hello("drover-daemon");
		json_object_set_new(hello, "error", json_string(why ? why :
		    "permission denied"));
		client_send(c, hello);
		free(why);
		client_close(c);
		return;
	}
	client_send(c, proto_hello("drover-daemon"));
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* ---- notifications from workers ---- */

static void
on_notify(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct daemon *d = s->data;

	free(b->base);
	if (n > 0)
		sched_kick(d);
}

/* ---- signals, reload, stop ---- */

void
daemon_reload(struct daemon *d)
{
	struct config cfg = CONFIG_INIT;
	char *err = NULL;
	const char *lvl;

	if (config_load(&cfg, &err) == -1) {
		log_warnx("reload: %s (keeping the old configuration)", err);
		free(err);
		config_release(&cfg);
		return;
	}
	config_release(&d->cfg);
	d->cfg = cfg;
	if (!d->slots_flag) {
		int64_t v = config_get_int(&d->cfg, "daemon.slots", 0);
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		d->slots = v > 0 ? (int)v : n > 0 ? (int)n : 1;
	}
	lvl = config_get(&d->cfg, "daemon.log_level");
	if (lvl && log_level_parse(lvl) >= 0 && !getenv("DROVER_LOG"))
		log_set_level((enum log_level)log_level_parse(lvl));
	host_caps_release(&d->host);
	host_caps_init(&d->host, &d->cfg, d->sessions_dir);
	sched_rereserve(d);
	log_info("configuration reloaded: %d slot(s)", d->slots);
	sched_kick(d);
}

static void
on_signal(uv_signal_t *h, int sig)
{
	struct daemon *d = h->data;

	if (sig == SIGHUP)
		daemon_reload(d);
	else
		begin_stop(d, d->stopping > 0);	/* a second signal: now */
}

static void
close_walk(uv_handle_t *h, void *arg)
{
	(void)arg;
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

/* Is path still the file (dev, ino)?  Not if it was removed or replaced. */
static int
same_file(const char *path, dev_t dev, ino_t ino)
{
	struct stat sb;

	return stat(path, &sb) == 0 && sb.st_dev == dev && sb.st_ino == ino;
}

void
daemon_check_home(struct daemon *d)
{
	if (d->stopping >= 2 || d->sock_ino == 0 ||
	    same_file(d->sock_path, d->sock_dev, d->sock_ino))
		return;
	log_error("the socket '%s' is gone or was replaced (was its "
	    "directory removed?): no client can reach this daemon, stopping",
	    d->sock_path);
	begin_stop(d, 1);
}

void
daemon_maybe_exit(struct daemon *d)
{
	if (!d->stopping || sched_live(d) > 0 || d->hooks)
		return;
	log_info("stopped");
	uv_stop(d->loop);
}

/* ---- start-up ---- */

/*
 * Run by hand (not by a CLI that waits on its own pipe): the first parent
 * stays until the daemon is ready, so `drover daemon && drover submit ...`
 * never races the start-up.
 */
static void
wait_ready(int fd)
{
	char line[4096];
	ssize_t n;
	size_t off = 0;

	while (off < sizeof(line) - 1 &&
	    (n = read(fd, line + off, sizeof(line) - 1 - off)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	line[off] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "ok") == 0)
		_exit(0);
	if (strcmp(line, "busy") == 0) {
		fprintf(stderr, "drover daemon: a daemon is already running\n");
		_exit(0);
	}
	fprintf(stderr, "drover daemon: %s\n", off ? line :
	    "the daemon did not start (see daemon.log)");
	_exit(1);
}

static void
detach(void)
{
	int own[2] = { -1, -1 };
	pid_t pid;
	int fd;

	if (ready_fd < 0 && pipe(own) == 0) {
		ready_fd = own[1];
		fcntl(own[0], F_SETFD, FD_CLOEXEC);
		fcntl(own[1], F_SETFD, FD_CLOEXEC);
	}
	pid = fork();
	if (pid < 0)
		startup_fail("cannot fork: %s", strerror(errno));
	if (pid > 0) {
		if (own[0] >= 0) {
			close(own[1]);
			wait_ready(own[0]);
		}
		_exit(0);
	}
	if (own[0] >= 0)
		close(own[0]);
	if (setsid() == -1)
		startup_fail("setsid: %s", strerror(errno));
	signal(SIGHUP, SIG_IGN);
	pid = fork();
	if (pid < 0)
		startup_fail("cannot fork: %s", strerror(errno));
	if (pid > 0)
		_exit(0);
	signal(SIGHUP, SIG_DFL);
	umask(077);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		if (fd > 2)
			close(fd);
	}
}

static int
lock_pidfile(const char *path)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	char buf[32] = "";
	ssize_t n;

	if (fd == -1)
		startup_fail("cannot open '%s': %s", path, strerror(errno));
	if (flock(fd, LOCK_EX | LOCK_NB) == -1) {
		n = read(fd, buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		log_warnx("a daemon is already running (pid %s)", buf);
		ready_report("busy");
		exit(0);
	}
	/* the lock is ours: any pid file content is stale */
	if (ftruncate(fd, 0) == -1)
		startup_fail("cannot write '%s': %s", path, strerror(errno));
	snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (pwrite(fd, buf, strlen(buf), 0) < 0)
		startup_fail("cannot write '%s': %s", path, strerror(errno));
	return fd;
}

static char *
self_exe(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

int
daemon_main(const struct daemon_opts *opts)
{
	struct daemon dm, *d = &dm;
	char *err = NULL, *pid_path, *log_path, *env;
	int pid_fd, notify[2], rc, flags;
	struct stat pid_sb;
	const char *lvl;

	memset(d, 0, sizeof(*d));
	env = getenv("DROVER_READY_FD");
	if (env) {
		ready_fd = atoi(env);
		fcntl(ready_fd, F_SETFD, FD_CLOEXEC);
		unsetenv("DROVER_READY_FD");
	}
	d->home = opts->home ? xstrdup(opts->home) : home_dir(&err);
	if (d->home == NULL)
		startup_fail("%s", err);
	if (home_ensure(d->home, &err) == -1)
		startup_fail("%s", err);
	setenv("DROVER_HOME", d->home, 1);
	if (!opts->foreground)
		detach();
	pid_path = home_path(d->home, HOME_PIDFILE);
	pid_fd = lock_pidfile(pid_path);
	pid_lock_fd = pid_fd;
	log_path = home_path(d->home, HOME_LOG);
	if (opts->foreground)
		d->log_fd = 2;
	else {
		d->log_fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0600);
		if (d->log_fd == -1)
			startup_fail("cannot open '%s': %s", log_path,
			    strerror(errno));
		dup2(d->log_fd, 1);
		dup2(d->log_fd, 2);
		log_set_fd(d->log_fd);
	}
	log_init("drover-daemon", LOG_LVL_INFO);
	if (config_load(&d->cfg, &err) == -1)
		startup_fail("%s", err);
	lvl = getenv("DROVER_LOG") ? getenv("DROVER_LOG") :
	    config_get(&d->cfg, "daemon.log_level");
	if (lvl && log_level_parse(lvl) >= 0)
		log_set_level((enum log_level)log_level_parse(lvl));
	d->owner = geteuid();
	d->db_path = home_path(d->home, HOME_DB);
	d->sock_path = home_path(d->home, HOME_SOCKET);
	d->logs_dir = home_path(d->home, HOME_LOGS);
	d->sessions_dir = home_path(d->home, HOME_SESSIONS);
	if ((mkdir(d->logs_dir, 0700) == -1 && errno != EEXIST) ||
	    (mkdir(d->sessions_dir, 0700) == -1 && errno != EEXIST))
		startup_fail("cannot create the directories in '%s': %s",
		    d->home, strerror(errno));
	flags = STORE_CREATE;
	if (config_get_bool(&d->cfg, "daemon.auto_migrate", 1))
		flags |= STORE_MIGRATE;
	if (store_open(&d->st, d->db_path, flags, &err) == -1)
		startup_fail("%s", err);
	d->store_ok = 1;
	if ((d->exe = self_exe()) == NULL)
		startup_fail("cannot find my own executable");
	host_caps_init(&d->host, &d->cfg, d->sessions_dir);
	d->slots_flag = opts->slots > 0;
	if (opts->slots > 0)
		d->slots = opts->slots;
	else {
		int64_t v = config_get_int(&d->cfg, "daemon.slots", 0);
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		d->slots = v > 0 ? (int)v : n > 0 ? (int)n : 1;
	}
	d->max_tasks = opts->max_tasks;
	{
		char *drain = store_meta_get(d->st, "drain");

		d->draining = drain != NULL;
		free(drain);
	}
	signal(SIGPIPE, SIG_IGN);
	d->loop = uv_default_loop();
	if (pipe(notify) == -1)
		startup_fail("pipe: %s", strerror(errno));
	fcntl(notify[0], F_SETFD, FD_CLOEXEC);
	fcntl(notify[1], F_SETFD, FD_CLOEXEC);
	d->notify_w = notify[1];
	fcntl(notify[1], F_SETFL, O_NONBLOCK);
	uv_pipe_init(d->loop, &d->notify, 0);
	d->notify.data = d;
	uv_pipe_open(&d->notify, notify[0]);
	uv_read_start((uv_stream_t *)&d->notify, on_alloc, on_notify);

	/* we hold the lock: a socket file left here is stale */
	unlink(d->sock_path);
	uv_pipe_init(d->loop, &d->server, 0);
	d->server.data = d;
	{
		mode_t old = umask(077);

		rc = uv_pipe_bind(&d->server, d->sock_path);
		umask(old);
	}
	if (rc != 0)
		startup_fail("cannot bind '%s': %s", d->sock_path,
		    uv_strerror(rc));
	chmod(d->sock_path, 0600);
	{
		struct stat sb;

		if (stat(d->sock_path, &sb) == 0) {
			d->sock_dev = sb.st_dev;
			d->sock_ino = sb.st_ino;
		}
	}
	if ((rc = uv_listen((uv_stream_t *)&d->server, 64, on_connection)) != 0)
		startup_fail("cannot listen on '%s': %s", d->sock_path,
		    uv_strerror(rc));
	uv_signal_init(d->loop, &d->sig_term);
	uv_signal_init(d->loop, &d->sig_int);
	uv_signal_init(d->loop, &d->sig_hup);
	d->sig_term.data = d->sig_int.data = d->sig_hup.data = d;
	uv_signal_start(&d->sig_term, on_signal, SIGTERM);
	uv_signal_start(&d->sig_int, on_signal, SIGINT);
	uv_signal_start(&d->sig_hup, on_signal, SIGHUP);
	uv_timer_init(d->loop, &push_timer);
	push_timer.data = d;
	sched_init(d);
	sched_recover(d);
	log_info("daemon %ld ready: %s, %d slot(s), schema %d", (long)getpid(),
	    d->home, d->slots, store_version(d->st));
	ready_report("ok");
	sched_kick(d);

	uv_run(d->loop, UV_RUN_DEFAULT);

	/* shutdown: release the store and the lock before the clients see
	 * their connections close, so that they can start a new daemon */
	if (same_file(d->sock_path, d->sock_dev, d->sock_ino))
		unlink(d->sock_path);
	sched_close(d);
	store_close(d->st);
	d->st = NULL;
	if (fstat(pid_fd, &pid_sb) == 0 &&
	    same_file(pid_path, pid_sb.st_dev, pid_sb.st_ino))
		unlink(pid_path);
	close(pid_fd);
	for (struct dclient *c = d->clients, *next; c; c = next) {
		next = c->next;
		client_close(c);
	}
	uv_walk(d->loop, close_walk, NULL);
	uv_run(d->loop, UV_RUN_DEFAULT);
	uv_loop_close(d->loop);
	close(d->notify_w);
	config_release(&d->cfg);
	host_caps_release(&d->host);
	free(pid_path);
	free(log_path);
	free(d->home);
	free(d->db_path);
	free(d->sock_path);
	free(d->logs_dir);
	free(d->sessions_dir);
	free(d->exe);
	free(d->blocked);
	return d->exit_code;
}
