/*
 * Unit tests for the session runtime (session/session.h) with real
 * processes: environment order and variables, openjd_* directives,
 * redaction in every output path, embedded files, timeouts, cancelation
 * timing, processes left behind, path mapping, reuse and the
 * non-blocking API.  Each test uses its own root directory under a
 * private temp dir and checks the session directory is gone afterwards.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "model/format.h"
#include "session/filter.h"
#include "session/session.h"

/* Everything the session handed out, for checking. */
struct rec {
	struct buf	 all;		/* every LOG and OUTPUT line, "\n"-joined */
	struct buf	 out;		/* OUTPUT lines only */
	struct buf	 values;	/* ENV_SET values, STATUS, FAIL, END texts */
	int		 starts;
	int		 ends;
	int		 progress_events;
	double		 last_progress;
	enum session_action_state last_state;
	char		 wait_for[64];	/* set: note when this output appears */
	int		 seen;
};

static char root[256];
static int fds_at_start;

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static void
rec_event(void *arg, const struct session_event *ev)
{
	struct rec *r = arg;

	switch (ev->type) {
	case SESSION_EV_LOG:
	case SESSION_EV_OUTPUT:
		buf_addf(&r->all, "%s\n", ev->text);
		if (ev->type == SESSION_EV_OUTPUT) {
			buf_addf(&r->out, "%s\n", ev->text);
			if (r->wait_for[0] && strstr(ev->text, r->wait_for))
				r->seen = 1;
		}
		break;
	case SESSION_EV_ACTION_START:
		r->starts++;
		break;
	case SESSION_EV_ACTION_END:
		r->ends++;
		r->last_state = ev->state;
		if (ev->text)
			buf_addf(&r->values, "%s\n", ev->text);
		break;
	case SESSION_EV_PROGRESS:
		r->progress_events++;
		r->last_progress = ev->progress;
		break;
	case SESSION_EV_STATUS:
	case SESSION_EV_FAIL:
		buf_addf(&r->values, "%s\n", ev->text);
		break;
	case SESSION_EV_ENV_SET:
		buf_addf(&r->values, "%s=%s\n", ev->text, ev->value);
		break;
	case SESSION_EV_ENV_UNSET:
		buf_addf(&r->values, "-%s\n", ev->text);
		break;
	}
}

static void
rec_release(struct rec *r)
{
	buf_release(&r->all);
	buf_release(&r->out);
	buf_release(&r->values);
}

static json_t *
J(const char *text)
{
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);

	if (j == NULL)
		fail_msg("bad test JSON: %s: %s", je.text, text);
	return j;
}

static struct session *
new_session(struct rec *r, unsigned flags, const json_t *params,
    const struct pathmap *pm)
{
	struct session_config cfg;
	struct session *s;
	char *err = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.root_dir = root;
	cfg.flags = flags;
	cfg.parameters = params;
	cfg.path_mapping = pm;
	cfg.event = rec_event;
	cfg.event_arg = r;
	s = session_new(&cfg, &err);
	if (s == NULL)
		fail_msg("session_new: %s", err);
	return s;
}

/* Frees the session and checks that its directory went with it. */
static void
end_session(struct session *s)
{
	char *dir = xstrdup(session_dir(s));
	struct stat st;

	session_free(s);
	assert_int_equal(stat(dir, &st), -1);
	free(dir);
}

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A task script running `sh -c CMD`. */
static json_t *
sh_script(const char *cmd, const char *extra)
{
	json_t *j = json_pack("{s:{s:{s:s, s:[s, s]}}}", "actions", "onRun",
	    "command", "sh", "args", "-c", cmd);

	if (extra != NULL) {
		json_t *x = J(extra);

		json_object_update(json_object_get(json_object_get(j,
		    "actions"), "onRun"), x);
		json_decref(x);
	}
	return j;
}

/* An environment echoing on enter and exit. */
static json_t *
echo_env(const char *name, const char *enter_cmd, const char *exit_cmd)
{
	return json_pack("{s:s, s:{s:{s:{s:s, s:[s, s]}, s:{s:s, s:[s, s]}}}}",
	    "name", name, "script", "actions",
	    "onEnter", "command", "sh", "args", "-c", enter_cmd,
	    "onExit", "command", "sh", "args", "-c", exit_cmd);
}

static int
contains(const struct buf *b, const char *s)
{
	return strstr(b->s, s) != NULL;
}

/* Offsets of needles in b must increase. */
static void
assert_in_order(const struct buf *b, const char *const *needles, size_t n)
{
	const char *at = b->s;

	for (size_t i = 0; i < n; i++) {
		const char *p = strstr(at, needles[i]);

		if (p == NULL)
			fail_msg("'%s' missing or out of order in:\n%s",
			    needles[i], b->s);
		at = p + strlen(needles[i]);
	}
}

static void
test_env_order(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct session *s = new_session(&r, 0, NULL, NULL);
	json_t *a = echo_env("A", "echo enter-A", "echo exit-A");
	json_t *b = echo_env("B", "echo enter-B", "echo exit-B");
	json_t *t = sh_script("echo task-$0", NULL);
	struct session_result res;
	static const char *const order[] = { "enter-A", "enter-B", "task-sh",
	    "exit-B", "exit-A" };
	(void)state;

	assert_int_equal(session_enter_env(s, a, &res), 0);
	assert_int_equal(res.state, SESSION_ACTION_SUCCESS);
	assert_int_equal(session_enter_env(s, b, NULL), 0);
	assert_int_equal(session_env_depth(s), 2);
	assert_string_equal(session_env_name(s, 1), "B");
	assert_int_equal(session_run_task(s, "Step", t, NULL, 0, &res), 0);
	assert_int_equal(res.exit_code, 0);
	assert_int_equal(session_exit_env(s, NULL), 0);
	assert_int_equal(session_exit_env(s, NULL), 0);
	assert_int_equal(session_env_depth(s), 0);
	/* nothing left to exit */
	assert_int_equal(session_exit_env(s, &res), -1);
	assert_int_equal(res.state, SESSION_ACTION_NOT_RUN);
	assert_in_order(&r.out, order, 5);
	assert_int_equal(r.starts, 5);
	assert_int_equal(r.ends, 5);
	end_session(s);
	json_decref(a);
	json_decref(b);
	json_decref(t);
	rec_release(&r);
}

static void
test_enter_failure(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct session *s = new_session(&r, 0, NULL, NULL);
	json_t *a = echo_env("A", "echo enter-A", "echo exit-A");
	json_t *b = echo_env("B", "echo enter-B; exit 3", "echo exit-B");
	json_t *c = echo_env("C", "echo enter-C", "echo exit-C");
	json_t *t = sh_script("echo task-ran", NULL);
	struct session_result res;
	static const char *const order[] = { "enter-A", "enter-B", "exit-B",
	    "exit-A" };
	(void)state;

	assert_int_equal(session_enter_env(s, a, NULL), 0);
	assert_int_equal(session_enter_env(s, b, &res), -1);
	assert_int_equal(res.state, SESSION_ACTION_FAILED);
	assert_int_equal(res.exit_code, 3);
	assert_non_null(strstr(res.message, "code 3"));
	assert_true(session_ending(s));
	/* no more entering or tasks after a failure ... */
	assert_int_equal(session_enter_env(s, c, &res), -1);
	assert_int_equal(res.state, SESSION_ACTION_CANCELED);
	assert_int_equal(session_run_task(s, "Step", t, NULL, 0, &res), -1);
	assert_int_equal(res.state, SESSION_ACTION_CANCELED);
	/* ... but the failed environment is on the stack, to be exited */
	assert_int_equal(session_env_depth(s), 2);
	assert_int_equal(session_exit_env(s, NULL), 0);
	assert_int_equal(session_exit_env(s, NULL), 0);
	assert_in_order(&r.out, order, 4);
	assert_false(contains(&r.out, "task-ran"));
	assert_false(contains(&r.out, "enter-C"));
	end_session(s);
	json_decref(a);
	json_decref(b);
	json_decref(c);
	json_decref(t);
	rec_release(&r);
}

static void
test_variables(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	json_t *params = J("[{\"name\": \"X\", \"type\": \"STRING\", "
	    "\"value\": \"ex\"}]");
	struct session *s = new_session(&r, 0, params, NULL);
	json_t *e = J("{\"name\": \"E\", \"variables\": {\"FOO\": "
	    "\"foo-{{Param.X}}\", \"KEEP\": \"k\"}, \"script\": {\"actions\": {"
	    "\"onEnter\": {\"command\": \"sh\", \"args\": [\"-c\", "
	    "\"echo in-enter=$FOO; echo openjd_env: BAR=b a r; "
	    "printf '%s\\\\n' 'openjd_env: \\\"ML=x\\\\ny\\\"'; "
	    "echo openjd_unset_env: KEEP; echo openjd_unset_env: HOME\"]},"
	    "\"onExit\": {\"command\": \"sh\", \"args\": [\"-c\", "
	    "\"echo in-exit=$FOO/$BAR/${HOME-nohome}\"]}}}}");
	json_t *bad = J("{\"name\": \"Bad\", \"variables\": {\"V\": "
	    "\"{{Param.Nope}}\"}}");
	json_t *t = sh_script("echo task=$FOO/$BAR/${KEEP-unset}/"
	    "${HOME-nohome}/$OPENJD_SESSION_WORKING_DIR; printf '%s' \"$ML\" "
	    "| od -c | head -1; echo openjd_env: LATE=1", NULL);
	json_t *t2 = sh_script("echo after=${FOO-gone}/${LATE-nolate}/"
	    "${HOME:+home}", NULL);
	struct session_result res;
	struct buf want = BUF_INIT;
	(void)state;

	assert_non_null(getenv("HOME"));
	if (session_enter_env(s, e, &res) != 0)
		fail_msg("enter: %s\n%s", res.message, r.all.s);
	assert_int_equal(session_run_task(s, "S", t, NULL, 0, NULL), 0);
	assert_int_equal(session_exit_env(s, NULL), 0);
	assert_int_equal(session_run_task(s, "S", t2, NULL, 0, NULL), 0);
	assert_true(contains(&r.out, "in-enter=foo-ex\n"));
	buf_addf(&want, "task=foo-ex/b a r/unset/nohome/%s\n", session_dir(s));
	assert_true(contains(&r.out, want.s));
	assert_true(contains(&r.out, "x  \\n   y"));
	assert_true(contains(&r.out, "in-exit=foo-ex/b a r/nohome\n"));
	/* openjd_env of a task changes nothing; exit undid the rest */
	assert_true(contains(&r.out, "after=gone/nolate/home\n"));
	assert_true(contains(&r.values, "BAR=b a r\n"));
	assert_true(contains(&r.values, "-KEEP\n"));
	assert_true(contains(&r.all, "Setting: FOO=foo-ex"));
	/* an unresolvable variable fails the enter, env still stacked */
	assert_int_equal(session_enter_env(s, bad, &res), -1);
	assert_int_equal(res.state, SESSION_ACTION_FAILED);
	assert_non_null(strstr(res.message, "Param.Nope"));
	assert_int_equal(session_env_depth(s), 1);
	assert_int_equal(session_exit_env(s, NULL), 0);
	end_session(s);
	buf_release(&want);
	json_decref(params);
	json_decref(e);
	json_decref(bad);
	json_decref(t);
	json_decref(t2);
	rec_release(&r);
}

static void
test_directives(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct session *s = new_session(&r, 0, NULL, NULL);
	json_t *t = sh_script("echo openjd_progress: 25; echo openjd_status: "
	    "busy; echo openjd_progress: 75.5; echo openjd_fail: oh no; "
	    "exit 1", NULL);
	json_t *e = echo_env("Bad", "echo openjd_env: 1X=2; sleep 20; "
	    "echo not-reached", "true");
	struct session_result res;
	double t0;
	(void)state;

	assert_int_equal(session_run_task(s, "S", t, NULL, 0, &res), -1);
	assert_int_equal(res.state, SESSION_ACTION_FAILED);
	assert_int_equal(r.progress_events, 2);
	assert_true(res.progress > 75.4 && res.progress < 75.6);
	assert_string_equal(res.status, "busy");
	assert_string_equal(res.message, "oh no");
	assert_true(contains(&r.out, "openjd_status: busy\n"));
	end_session(s);

	/* a malformed openjd_env fails the action at once */
	s = new_session(&r, 0, NULL, NULL);
	t0 = now_s();
	assert_int_equal(session_enter_env(s, e, &res), -1);
	assert_true(now_s() - t0 < 5);
	assert_int_equal(res.state, SESSION_ACTION_FAILED);
	assert_non_null(strstr(res.message, "environment variable"));
	assert_true(contains(&r.out, "openjd_env: 1X=2 -- ERROR: "));
	assert_false(contains(&r.out, "not-reached"));
	assert_int_equal(session_exit_env(s, NULL), 0);
	end_session(s);
	json_decref(t);
	json_decref(e);
	rec_release(&r);
}

static void
test_redaction(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct session *s = new_session(&r, SESSION_REDACTED_ENV_VARS, NULL,
	    NULL);
	json_t *e = echo_env("Sec", "echo openjd_redacted_env: TOKEN=hunter2;"
	    " echo openjd_status: got hunter2", "echo exit sees $TOKEN");
	json_t *t = sh_script("echo task sees $TOKEN; echo openjd_status: "
	    "$TOKEN; echo openjd_fail: $TOKEN; echo hunter2 >&2; exit 1",
	    "{\"timeout\": 100}");
	struct session_result res;
	char *red;
	(void)state;

	assert_int_equal(session_enter_env(s, e, NULL), 0);
	assert_int_equal(session_run_task(s, "S", t, NULL, 0, &res), -1);
	assert_null(strstr(res.message, "hunter2"));
	assert_null(strstr(res.status, "hunter2"));
	assert_int_equal(session_exit_env(s, NULL), 0);
	/* the variable was set ... */
	assert_true(contains(&r.out, "task sees ********\n"));
	assert_true(contains(&r.out, "exit sees ********\n"));
	assert_true(contains(&r.out,
	    "openjd_redacted_env: TOKEN=********\n"));
	assert_true(contains(&r.values, "TOKEN=********\n"));
	/* ... and its value is nowhere: output, logs, events, results */
	assert_false(contains(&r.all, "hunter2"));
	assert_false(contains(&r.values, "hunter2"));
	red = session_redact(s, "x hunter2 y");
	assert_string_equal(red, "x ******** y");
	free(red);
	end_session(s);

	/* without the extension: redacted but not set */
	s = new_session(&r, 0, NULL, NULL);
	buf_reset(&r.out);
	assert_int_equal(session_enter_env(s, e, NULL), 0);
	assert_int_equal(session_run_task(s, "S", t, NULL, 0, &res), -1);
	assert_true(contains(&r.out, "task sees\n"));
	assert_int_equal(session_exit_env(s, NULL), 0);
	assert_false(contains(&r.all, "hunter2"));
	end_session(s);
	json_decref(e);
	json_decref(t);
	rec_release(&r);
}

static void
test_embedded_files(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct session *s = new_session(&r, 0, NULL, NULL);
	json_t *t = J("{\"actions\": {\"onRun\": {\"command\": "
	    "\"{{Task.File.run}}\", \"args\": [\"{{Task.File.data}}\"]}},"
	    "\"embeddedFiles\": ["
	    "{\"name\": \"run\", \"type\": \"TEXT\", \"runnable\": true, "
	    "\"filename\": \"run.sh\", \"data\": \"#!/bin/sh\\n"
	    "echo frame={{Task.Param.F}} wd={{Session.WorkingDirectory}}\\n"
	    "cat \\\"$1\\\" | od -c | head -1\\n"
	    "ls -l \\\"$0\\\" | cut -c1-10; ls -l \\\"$1\\\" | cut -c1-10\\n\"},"
	    "{\"name\": \"data\", \"type\": \"TEXT\", \"endOfLine\": \"CRLF\", "
	    "\"data\": \"a\\nb\\n\"}]}");
	json_t *e = J("{\"name\": \"E\", \"variables\": {\"EF\": "
	    "\"{{Env.File.f}}\"}, \"script\": {\"actions\": {\"onEnter\": {"
	    "\"command\": \"cat\", \"args\": [\"{{Env.File.f}}\"]}, \"onExit\": {"
	    "\"command\": \"sh\", \"args\": [\"-c\", \"cat $EF\"]}}, "
	    "\"embeddedFiles\": [{\"name\": \"f\", \"type\": \"TEXT\", "
	    "\"data\": \"env-file {{Session.HasPathMappingRules}}\"}]}}");
	struct session_task_param p = { "F", "INT", "7" };
	struct session_result res;
	struct buf want = BUF_INIT;
	(void)state;

	assert_int_equal(session_enter_env(s, e, NULL), 0);
	assert_int_equal(session_run_task(s, "S", t, &p, 1, &res), 0);
	p.value = "8";
	assert_int_equal(session_run_task(s, "S", t, &p, 1, &res), 0);
	assert_int_equal(session_exit_env(s, NULL), 0);
	buf_addf(&want, "frame=7 wd=%s\n", session_dir(s));
	assert_true(contains(&r.out, want.s));
	assert_true(contains(&r.out, "frame=8"));
	assert_true(contains(&r.out, "a  \\r  \\n   b  \\r  \\n"));
	assert_true(contains(&r.out, "-rwx------\n-rw-------\n"));
	/* written for onEnter and again for onExit */
	assert_non_null(strstr(strstr(r.out.s, "env-file false\n") + 1,
	    "env-file false\n"));
	end_session(s);
	buf_release(&want);
	json_decref(t);
	json_decref(e);
	rec_release(&r);
}

static void
test_timeout(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct session *s = new_session(&r, 0, NULL, NULL);
	json_t *t = sh_script("echo start; sleep 30; echo end",
	    "{\"timeout\": 1}");
	json_t *t2 = sh_script("echo quick", "{\"timeout\": \"{{Param.T}}\"}");
	struct session_result res;
	double t0 = now_s(), dt;
	(void)state;

	assert_int_equal(session_run_task(s, "S", t, NULL, 0, &res), -1);
	dt = now_s() - t0;
	assert_int_equal(res.state, SESSION_ACTION_TIMEOUT);
	assert_int_equal(res.signal, SIGKILL);
	assert_true(dt >= 0.9 && dt < 4);
	assert_true(contains(&r.out, "start\n"));
	assert_false(contains(&r.out, "end\n"));
	assert_true(contains(&r.all, "timed out after 1 seconds"));
	end_session(s);
	/* an unresolvable timeout is a set-up failure */
	s = new_session(&r, 0, NULL, NULL);
	assert_int_equal(session_run_task(s, "S", t2, NULL, 0, &res), -1);
	assert_int_equal(res.state, SESSION_ACTION_FAILED);
	assert_non_null(strstr(res.message, "timeout"));
	end_session(s);
	json_decref(t);
	json_decref(t2);
	rec_release(&r);
}

/* Starts script, steps until its output shows `ready`, cancels, waits. */
static double
cancel_after_ready(struct session *s, struct rec *r, const json_t *script,
    struct session_result *res)
{
	double t0;

	strcpy(r->wait_for, "ready");
	r->seen = 0;
	assert_int_equal(session_run_task_start(s, "S", script, NULL, 0,
	    res), 0);
	while (!r->seen) {
		struct epoll_event ev;

		assert_true(session_busy(s));
		epoll_wait(session_fd(s), &ev, 1, 1000);
		session_step(s);
	}
	t0 = now_s();
	session_cancel(s, 0, 0);
	session_wait(s);
	session_result(s, res);
	r->wait_for[0] = '\0';
	return now_s() - t0;
}

static void
test_cancel(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct session *s = new_session(&r, 0, NULL, NULL);
	/* handles SIGTERM by finishing up quickly */
	json_t *graceful = sh_script("trap 'echo got-term; exit 5' TERM; "
	    "echo ready; sleep 30 & wait",
	    "{\"cancelation\": {\"mode\": \"NOTIFY_THEN_TERMINATE\", "
	    "\"notifyPeriodInSeconds\": 10}}");
	/* ignores SIGTERM: killed when the notify period is over */
	json_t *stubborn = sh_script("trap 'echo got-term' TERM; echo ready; "
	    "while :; do sleep 0.05; done",
	    "{\"cancelation\": {\"mode\": \"NOTIFY_THEN_TERMINATE\", "
	    "\"notifyPeriodInSeconds\": 1}}");
	json_t *terminate = sh_script("trap 'echo got-term' TERM; echo ready; "
	    "while :; do sleep 0.05; done", NULL);
	struct session_result res;
	struct buf info = BUF_INIT;
	char *path;
	double dt;
	(void)state;

	dt = cancel_after_ready(s, &r, graceful, &res);
	assert_int_equal(res.state, SESSION_ACTION_CANCELED);
	assert_int_equal(res.exit_code, 5);
	assert_true(contains(&r.out, "got-term\n"));
	assert_true(dt < 5);
	path = xasprintf("%s/cancel_info.json", session_dir(s));
	assert_int_equal(buf_read_file(&info, path), 0);
	assert_non_null(strstr(info.s, "{\"NotifyEnd\": \"20"));
	assert_non_null(strstr(info.s, "Z\"}"));
	free(path);
	buf_release(&info);
	end_session(s);

	buf_reset(&r.out);
	s = new_session(&r, 0, NULL, NULL);
	dt = cancel_after_ready(s, &r, stubborn, &res);
	assert_int_equal(res.state, SESSION_ACTION_CANCELED);
	assert_int_equal(res.signal, SIGKILL);
	assert_true(contains(&r.out, "got-term\n"));
	assert_true(dt >= 0.9 && dt < 4);
	end_session(s);

	/* the caller can cap the notify period */
	buf_reset(&r.out);
	s = new_session(&r, 0, NULL, NULL);
	strcpy(r.wait_for, "ready");
	r.seen = 0;
	assert_int_equal(session_run_task_start(s, "S", graceful, NULL, 0,
	    &res), 0);
	while (!r.seen)
		session_step(s);
	session_cancel(s, 1, 1);
	session_wait(s);
	session_result(s, &res);
	assert_int_equal(res.state, SESSION_ACTION_FAILED);
	end_session(s);

	buf_reset(&r.out);
	s = new_session(&r, 0, NULL, NULL);
	dt = cancel_after_ready(s, &r, terminate, &res);
	assert_int_equal(res.state, SESSION_ACTION_CANCELED);
	assert_int_equal(res.signal, SIGKILL);
	assert_false(contains(&r.out, "got-term"));
	assert_true(dt < 0.9);
	end_session(s);
	json_decref(graceful);
	json_decref(stubborn);
	json_decref(terminate);
	rec_release(&r);
}

/* 1 if pid is gone or a zombie (it can do nothing any more). */
static int
proc_dead(pid_t pid)
{
	char path[64], st = '?';
	FILE *fp;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return 1;
	if (fscanf(fp, "%*d (%*[^)]) %c", &st) != 1)
		st = '?';
	fclose(fp);
	return st == 'Z' || st == 'X';
}

static pid_t
read_pid(const char *dir, const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);
	struct buf b = BUF_INIT;
	pid_t pid = 0;

	if (buf_read_file(&b, path) == 0)
		pid = (pid_t)atoi(b.s);
	buf_release(&b);
	free(path);
	return pid;
}

static void
test_leftovers(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct session *s = new_session(&r, SESSION_REAP_ORPHANS, NULL, NULL);
	/* a background job in the group, and one that left it */
	json_t *t = sh_script("sleep 300 & echo $! > bg.pid; "
	    "setsid sleep 301 & echo $! > sid.pid; "
	    "sh -c 'setsid sleep 302 & echo $! > deep.pid' ; echo done",
	    NULL);
	struct session_result res;
	pid_t bg, sid, deep;
	double t0 = now_s();
	(void)state;

	assert_int_equal(session_run_task(s, "S", t, NULL, 0, &res), 0);
	assert_true(now_s() - t0 < 5);
	bg = read_pid(session_dir(s), "bg.pid");
	sid = read_pid(session_dir(s), "sid.pid");
	deep = read_pid(session_dir(s), "deep.pid");
	assert_true(bg > 0 && sid > 0 && deep > 0);
	assert_true(proc_dead(bg));
	assert_true(proc_dead(sid));
	assert_true(proc_dead(deep));
	/* we reaped them: none is a child of ours any more */
	assert_int_equal(waitpid(-1, NULL, WNOHANG), -1);
	assert_int_equal(errno, ECHILD);
	end_session(s);
	json_decref(t);
	rec_release(&r);
}

static void
test_pathmap(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct pathmap pm;
	json_t *params = J("[{\"name\": \"In\", \"type\": \"PATH\", "
	    "\"value\": \"/mnt/studio/shot/a.exr\"}, {\"name\": \"S\", "
	    "\"type\": \"STRING\", \"value\": \"/mnt/studio/x\"}]");
	struct session *s;
	json_t *t = sh_script("echo p={{Param.In}} raw={{RawParam.In}} "
	    "s={{Param.S}} tp={{Task.Param.TP}} traw={{Task.RawParam.TP}} "
	    "has={{Session.HasPathMappingRules}}; "
	    "cat {{Session.PathMappingRulesFile}}", NULL);
	struct session_task_param p = { "TP", "PATH", "/mnt/studio/t" };
	char *err = NULL;
	(void)state;

	assert_int_equal(pathmap_from_arg(&pm, "{\"version\": "
	    "\"pathmapping-1.0\", \"path_mapping_rules\": [{"
	    "\"source_path_format\": \"POSIX\", \"source_path\": "
	    "\"/mnt/studio\", \"destination_path\": \"/local\"}]}", &err), 0);
	s = new_session(&r, 0, params, &pm);
	assert_int_equal(session_run_task(s, "S", t, &p, 1, NULL), 0);
	assert_true(contains(&r.out, "p=/local/shot/a.exr "
	    "raw=/mnt/studio/shot/a.exr s=/mnt/studio/x tp=/local/t "
	    "traw=/mnt/studio/t has=true\n"));
	assert_true(contains(&r.out, "\"source_path\": \"/mnt/studio\""));
	assert_true(contains(&r.out, "\"version\": \"pathmapping-1.0\""));
	end_session(s);
	pathmap_release(&pm);
	json_decref(params);
	json_decref(t);
	rec_release(&r);
}

static void
test_reuse_and_async(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct session *s = new_session(&r, 0, NULL, NULL);
	json_t *e = echo_env("Once", "echo x >> enters", "true");
	json_t *t = J("{\"actions\": {\"onRun\": {\"command\": \"/bin/sh\", "
	    "\"args\": [\"-c\", \"wc -l < enters\"]}}}");
	struct session_result res;
	int n = 0;
	(void)state;

	assert_int_equal(session_enter_env(s, e, NULL), 0);
	for (int i = 0; i < 50; i++)
		n += session_run_task(s, "S", t, NULL, 0, NULL) == 0;
	assert_int_equal(n, 50);
	assert_int_equal(r.starts, 51);
	/* the environment was entered once for all 50 tasks */
	assert_false(contains(&r.out, "2\n"));
	/* a cancel request while idle ends the session: no more tasks ... */
	session_cancel_async(s);
	assert_true(session_ending(s));
	assert_int_equal(session_run_task(s, "S", t, NULL, 0, &res), -1);
	assert_int_equal(res.state, SESSION_ACTION_CANCELED);
	/* ... but exits still run */
	assert_int_equal(session_exit_env(s, &res), 0);
	end_session(s);

	/* kill_async during an action */
	s = new_session(&r, 0, NULL, NULL);
	json_decref(t);
	t = sh_script("echo ready; sleep 30", NULL);
	strcpy(r.wait_for, "ready");
	r.seen = 0;
	assert_int_equal(session_run_task_start(s, "S", t, NULL, 0, &res), 0);
	while (!r.seen)
		session_step(s);
	session_kill_async(s);
	session_wait(s);
	session_result(s, &res);
	assert_int_equal(res.state, SESSION_ACTION_CANCELED);
	assert_int_equal(res.signal, SIGKILL);
	end_session(s);
	json_decref(e);
	json_decref(t);
	rec_release(&r);
}

static void
test_errors(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct session *s = new_session(&r, 0, NULL, NULL);
	json_t *t = J("{\"actions\": {\"onRun\": {\"command\": "
	    "\"no-such-command-xyz\"}}}");
	json_t *t2 = J("{\"actions\": {\"onRun\": {\"command\": \"sh\", "
	    "\"args\": [\"-c\", \"printf 'no newline\\\\377'; "
	    "head -c 70000 /dev/zero | tr '\\\\0' x; echo; echo after\"]}}}");
	struct session_result res;
	(void)state;

	assert_int_equal(session_run_task(s, "S", t, NULL, 0, &res), -1);
	assert_int_equal(res.state, SESSION_ACTION_FAILED);
	assert_non_null(strstr(res.message, "not found"));
	end_session(s);
	s = new_session(&r, 0, NULL, NULL);
	buf_reset(&r.out);
	assert_int_equal(session_run_task(s, "S", t2, NULL, 0, &res), 0);
	/* invalid UTF-8 escaped, long line cut at 64 KiB */
	assert_non_null(strstr(r.out.s, "no newline\\xff"));
	assert_true(contains(&r.out, "\nafter\n"));
	assert_true(r.out.len < 66 * 1024);
	end_session(s);
	json_decref(t);
	json_decref(t2);
	rec_release(&r);
}

/* Children of this process that never exec'd (same command name). */
static int
own_clones(void)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	char self[64], path[300], line[512];
	int n = 0;
	FILE *f;

	assert_non_null(d);
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)getpid());
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	/* "pid (comm) state ..." */
	snprintf(self, sizeof(self), "%.*s", (int)(strrchr(line, ')') -
	    strchr(line, '(') + 1), strchr(line, '('));
	while ((de = readdir(d)) != NULL) {
		int ppid = 0;
		char *rp;

		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		if ((f = fopen(path, "r")) == NULL)
			continue;
		if (fgets(line, sizeof(line), f) != NULL &&
		    (rp = strrchr(line, ')')) != NULL &&
		    sscanf(rp + 2, "%*c %d", &ppid) == 1 && ppid == getpid() &&
		    strstr(line, self) != NULL)
			n++;
		fclose(f);
	}
	closedir(d);
	return n;
}

static void
on_usr2(int sig)
{
	(void)sig;
}

/*
 * What the child gets from the spawn: signals this process ignores are
 * not ignored there (handled ones are reset by execve), an empty mask; an exec failure is the
 * action's failure, and the child is reaped.
 */
static void
test_spawn(void **state)
{
	struct rec r = { BUF_INIT, BUF_INIT, BUF_INIT, 0, 0, 0, 0, 0, "", 0 };
	struct sigaction sa, old_usr2, old_quit;
	struct session *s;
	char *script = xasprintf("%s/no-shebang", root);
	char *run = xasprintf("{\"actions\": {\"onRun\": {\"command\": "
	    "\"%s\"}}}", script);
	json_t *bad = J(run);
	json_t *status = J("{\"actions\": {\"onRun\": {\"command\": "
	    "\"cat\", \"args\": [\"/proc/self/status\"]}}}");
	struct session_result res;
	int fd;
	sigset_t blk, oldmask;
	(void)state;

	fd = open(script, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "true\n", 5), 5);
	close(fd);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, &old_usr2);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGQUIT, &sa, &old_quit);
	s = new_session(&r, 0, NULL, NULL);
	sigemptyset(&blk);
	sigaddset(&blk, SIGHUP);
	sigprocmask(SIG_BLOCK, &blk, &oldmask);

	assert_int_equal(session_run_task(s, "S", bad, NULL, 0, &res), -1);
	assert_int_equal(res.state, SESSION_ACTION_FAILED);
	assert_non_null(res.message);
	assert_non_null(strstr(res.message, "Exec format error"));
	/* the child that could not exec is reaped: no child of ours still
	 * has our name (orphans of earlier tests re-parented to this
	 * subreaper are other programs) */
	assert_int_equal(own_clones(), 0);
	end_session(s);	/* a failed task ends a session's tasks */

	s = new_session(&r, 0, NULL, NULL);
	buf_reset(&r.out);
	assert_int_equal(session_run_task(s, "S", status, NULL, 0, &res), 0);
	if (!contains(&r.out, "SigBlk:\t0000000000000000\n") ||
	    !contains(&r.out, "SigIgn:\t0000000000000000\n"))
		fprintf(stderr, "the action's /proc/self/status:\n%s", r.out.s);
	assert_true(contains(&r.out, "SigBlk:\t0000000000000000\n"));
	assert_true(contains(&r.out, "SigIgn:\t0000000000000000\n"));

	sigprocmask(SIG_SETMASK, &oldmask, NULL);
	end_session(s);
	sigaction(SIGUSR2, &old_usr2, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	json_decref(bad);
	json_decref(status);
	free(run);
	unlink(script);
	free(script);
	rec_release(&r);
}

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(root, sizeof(root), "%s/u-session-XXXXXX",
	    tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(root) == NULL)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	fds_at_start = count_fds();
	return 0;
}

static int
teardown(void **state)
{
	DIR *d;
	struct dirent *de;
	int left = 0;

	(void)state;
	/* every session cleaned up after itself */
	if ((d = opendir(root)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				left++;
		closedir(d);
	}
	rmdir(root);
	/* and closed every descriptor it opened */
	if (count_fds() != fds_at_start) {
		fprintf(stderr, "descriptors: %d at start, %d now\n",
		    fds_at_start, count_fds());
		return -1;
	}
	return left == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_env_order),
		cmocka_unit_test(test_enter_failure),
		cmocka_unit_test(test_variables),
		cmocka_unit_test(test_directives),
		cmocka_unit_test(test_redaction),
		cmocka_unit_test(test_embedded_files),
		cmocka_unit_test(test_timeout),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_leftovers),
		cmocka_unit_test(test_pathmap),
		cmocka_unit_test(test_reuse_and_async),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_spawn),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
