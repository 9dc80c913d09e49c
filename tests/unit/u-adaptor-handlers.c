/* Unit tests for libdrover-adaptor's line handlers, managed processes,
 * output helpers and cancel machinery. */
#include <dirent.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/adaptor/adaptor-int.h"

static struct dbuf out;		/* captured output lines, '\n'-joined */
static int ncancel;
static char tmpdir[64];

static void
capture(drover_adaptor *a, const char *line, size_t len, void *arg)
{
	(void)a;
	(void)arg;
	drover__dbuf_add(&out, line, len);
	drover__dbuf_add(&out, "\n", 1);
}

static int
has_line(const char *line)
{
	const char *p = out.s;
	size_t n = strlen(line);

	while (p && (p = strstr(p, line)) != NULL) {
		if ((p == out.s || p[-1] == '\n') && p[n] == '\n')
			return 1;
		p += n;
	}
	return 0;
}

static void
count_cancel(drover_adaptor *a)
{
	(void)a;
	ncancel++;
}

static int
cmd_from_run_data(drover_adaptor *a, const json_t *run_data, drover_cmd *c)
{
	(void)a;
	drover_cmd_arg(c, "/bin/sh");
	drover_cmd_arg(c, "-c");
	return drover_cmd_arg(c, json_string_value(json_object_get(run_data,
	    "script")));
}

static struct drover_adaptor_def def = {
	.name = "uhandlers",
	.on_cancel = count_cancel,
	.get_managed_process = cmd_from_run_data,
};

static int
setup(void **state)
{
	drover_adaptor *a;
	char err[DROVER__ERRMAX];

	strcpy(tmpdir, "/tmp/u-adaptor-h-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	setenv("HOME", tmpdir, 1);
	if (drover__adaptor_new(&def, &a, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	a->sink = capture;
	*state = a;
	return 0;
}

static int
teardown(void **state)
{
	drover__adaptor_free(*state);
	drover__dbuf_release(&out);
	rmdir(tmpdir);
	return 0;
}

/* Before each test: empty capture, nothing canceled. */
static int
reset(void **state)
{
	drover_adaptor *a = *state;

	drover__dbuf_release(&out);
	ncancel = 0;
	a->log_level = DROVER_LOG_INFO;
	a->grace_ms = 5000;
	drover__cancel_reset(a);
	return 0;
}

static long long
ms(void)
{
	return drover__now_ms();
}

/* ---- handlers ------------------------------------------------------------ */

static int calls[4];
static char group[64];

static int
h_progress(drover_adaptor *a, const struct drover_match *m, void *arg)
{
	long done, total;

	(void)arg;
	calls[0]++;
	drover_match_group(m, 0, group, sizeof(group));
	if (drover_match_long(m, 1, &done) == 0 &&
	    drover_match_long(m, 2, &total) == 0)
		drover_adaptor_progress(a, 100.0 * (double)done /
		    (double)total);
	return DROVER_LINE_CONTINUE;
}

static int
h_any(drover_adaptor *a, const struct drover_match *m, void *arg)
{
	(void)a;
	(void)m;
	calls[(size_t)arg]++;
	return (size_t)arg == 3 ? DROVER_LINE_DONE : DROVER_LINE_CONTINUE;
}

static int
h_abort(drover_adaptor *a, const struct drover_match *m, void *arg)
{
	(void)arg;
	drover_adaptor_fail(a, "%s", m->line);
	return DROVER_LINE_ABORT;
}

static void
test_handler_rules(void **state)
{
	drover_adaptor *a = *state;
	const struct drover_line_handler hs[] = {
		{ "^Rendered ([0-9]+)/([0-9]+)", DROVER_LINE_STDOUT |
		    DROVER_LINE_EXIT_IF_MATCHED, h_progress, NULL },
		{ "Rendered", 0, h_any, (void *)1 },
		{ "e", DROVER_LINE_ONLY_IF_FIRST, h_any, (void *)2 },
		{ "^done$", DROVER_LINE_STDERR, h_any, (void *)3 },
	};
	struct drover__handler *h;
	char err[256];
	(void)a;

	memset(calls, 0, sizeof(calls));
	assert_int_equal(drover__handlers_compile(hs, 4, &h, err,
	    sizeof(err)), 0);
	/* stdout: the first handler matches and stops the others */
	assert_int_equal(drover__handlers_run(a, h, 4, "Rendered 3/4 here", 1),
	    DROVER_LINE_CONTINUE);
	assert_int_equal(calls[0], 1);
	assert_int_equal(calls[1], 0);
	assert_string_equal(group, "Rendered 3/4");
	assert_true(has_line("openjd_progress: 75"));
	/* stderr: handler 0 only looks at stdout; 1 matches, so 2 (only if
	 * first) is skipped */
	assert_int_equal(drover__handlers_run(a, h, 4, "Rendered 1/4", 2),
	    DROVER_LINE_CONTINUE);
	assert_int_equal(calls[0], 1);
	assert_int_equal(calls[1], 1);
	assert_int_equal(calls[2], 0);
	/* nothing earlier matched: handler 2 runs */
	assert_int_equal(drover__handlers_run(a, h, 4, "hello", 1),
	    DROVER_LINE_CONTINUE);
	assert_int_equal(calls[2], 1);
	/* DONE is reported; on stdout the stderr-only handler is skipped */
	assert_int_equal(drover__handlers_run(a, h, 4, "done", 1),
	    DROVER_LINE_CONTINUE);
	assert_int_equal(drover__handlers_run(a, h, 4, "done", 2),
	    DROVER_LINE_DONE);
	assert_int_equal(calls[3], 1);
	drover__handlers_free(h, 4);
}

static void
test_bad_pattern(void **state)
{
	drover_adaptor *a = *state;
	const struct drover_line_handler hs[] = {
		{ "ok", 0, h_any, (void *)1 },
		{ "([unclosed", 0, h_any, (void *)1 },
	};
	struct drover__handler *h;
	drover_process *p;
	drover_cmd *c = drover_cmd_new();
	char err[256];

	assert_int_equal(drover__handlers_compile(hs, 2, &h, err,
	    sizeof(err)), DROVER_EINVAL);
	assert_non_null(strstr(err, "bad pattern '([unclosed'"));
	drover_cmd_arg(c, "/bin/true");
	assert_int_equal(drover_process_start(a, c, hs, 2, &p), DROVER_EINVAL);
	assert_non_null(strstr(drover_adaptor_errmsg(a), "([unclosed"));
	drover_cmd_free(c);
}

static void
test_match_helpers(void **state)
{
	struct drover_span g[3] = { { 0, 5 }, { 1, 3 }, { -1, -1 } };
	struct drover_match m = { "x1234", 1, 3, g };
	char buf[3];
	long v;
	(void)state;

	assert_int_equal(drover_match_group(&m, 1, buf, sizeof(buf)), 2);
	assert_string_equal(buf, "12");
	/* truncated to the buffer, full length returned */
	assert_int_equal(drover_match_group(&m, 0, buf, sizeof(buf)), 5);
	assert_string_equal(buf, "x1");
	assert_int_equal(drover_match_group(&m, 2, buf, sizeof(buf)), -1);
	assert_int_equal(drover_match_group(&m, 7, buf, sizeof(buf)), -1);
	assert_int_equal(drover_match_long(&m, 1, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(drover_match_long(&m, 0, &v), DROVER_EINVAL);
}

/* ---- processes ----------------------------------------------------------- */

static drover_cmd *
sh(const char *script)
{
	drover_cmd *c = drover_cmd_new();

	drover_cmd_arg(c, "sh");	/* found in PATH */
	drover_cmd_arg(c, "-c");
	drover_cmd_arg(c, script);
	return c;
}

static void
test_process_output_and_exit(void **state)
{
	drover_adaptor *a = *state;
	const struct drover_line_handler hs[] = {
		{ "^Rendered ([0-9]+)/([0-9]+)", 0, h_progress, NULL },
	};
	drover_cmd *c = sh("printf 'Rendered 1/4\\nRendered 2/4\\n'; "
	    "echo oops >&2; echo 'openjd_status: raw'; printf 'no newline'; "
	    "exit 3");
	drover_process *p;
	int code = -1;

	assert_int_equal(drover_process_start(a, c, hs, 1, &p), 0);
	assert_true(drover_process_pid(p) > 0);
	assert_int_equal(drover_process_wait(p, &code), 0);
	assert_int_equal(code, 3);
	assert_int_equal(drover_process_exit_code(p), 3);
	assert_false(drover_process_running(p));
	drover_process_free(p);
	drover_cmd_free(c);
	assert_true(has_line("INFO: running command: sh -c 'printf "
	    "'\\''Rendered 1/4\\nRendered 2/4\\n'\\''; echo oops >&2; echo "
	    "'\\''openjd_status: raw'\\''; printf '\\''no newline'\\''; "
	    "exit 3'"));
	assert_true(has_line("STDOUT: Rendered 1/4"));
	assert_true(has_line("openjd_progress: 25"));
	assert_true(has_line("openjd_progress: 50"));
	assert_true(has_line("STDERR: oops"));
	/* OpenJD messages of the application pass through unprefixed */
	assert_true(has_line("openjd_status: raw"));
	assert_true(has_line("STDOUT: no newline"));
	/* progress follows the line it came from */
	assert_true(strstr(out.s, "STDOUT: Rendered 1/4\nopenjd_progress: 25\n")
	    != NULL);
}

static void
test_process_env_cwd_stdin(void **state)
{
	drover_adaptor *a = *state;
	drover_cmd *c = sh("echo \"foo=$FOO home=${HOME:-unset}\"; pwd; "
	    "read x; echo \"got $x\"");
	drover_process *p;
	int code;

	drover_cmd_env(c, "FOO", "bar baz");
	drover_cmd_env(c, "HOME", NULL);
	drover_cmd_cwd(c, "/");
	drover_cmd_stdin_pipe(c, 1);
	assert_int_equal(drover_cmd_env(c, "A=B", "x"), DROVER_EINVAL);
	assert_int_equal(drover_process_start(a, c, NULL, 0, &p), 0);
	assert_int_equal(drover_process_printf(p, "%s\n", "hello"), 0);
	assert_int_equal(drover_process_wait(p, &code), 0);
	assert_int_equal(code, 0);
	drover_process_free(p);
	drover_cmd_free(c);
	assert_true(has_line("STDOUT: foo=bar baz home=unset"));
	assert_true(has_line("STDOUT: /"));
	assert_true(has_line("STDOUT: got hello"));
}

static void
test_process_not_found(void **state)
{
	drover_adaptor *a = *state;
	drover_cmd *c = drover_cmd_new();
	drover_process *p;

	drover_cmd_arg(c, "no-such-program-drover");
	assert_int_equal(drover_process_start(a, c, NULL, 0, &p),
	    DROVER_ENOENT);
	assert_non_null(strstr(drover_adaptor_errmsg(a),
	    "'no-such-program-drover' not found"));
	drover_cmd_free(c);
	c = drover_cmd_new();
	assert_int_equal(drover_process_start(a, c, NULL, 0, &p),
	    DROVER_EINVAL);
	drover_cmd_free(c);
}

static void
test_pump_done_and_timeout(void **state)
{
	drover_adaptor *a = *state;
	const struct drover_line_handler hs[] = {
		{ "^READY$", 0, h_any, (void *)3 },
	};
	drover_cmd *c = sh("echo a; echo READY; echo b; read x; echo after");
	drover_process *p;
	int code;

	drover_cmd_stdin_pipe(c, 1);
	assert_int_equal(drover_process_start(a, c, hs, 1, &p), 0);
	assert_int_equal(drover_process_pump(p, 5000), DROVER_LINE_DONE);
	assert_true(has_line("STDOUT: READY"));
	/* the process waits on stdin: nothing more comes in 100 ms */
	assert_int_equal(drover_process_pump(p, 100), DROVER_ETIMEDOUT);
	assert_true(has_line("STDOUT: b"));
	assert_true(drover_process_running(p));
	drover_process_close_stdin(p);
	assert_int_equal(drover_process_wait(p, &code), 0);
	assert_int_equal(code, 0);
	assert_true(has_line("STDOUT: after"));
	drover_process_free(p);
	drover_cmd_free(c);
}

static void
test_abort_terminates(void **state)
{
	drover_adaptor *a = *state;
	const struct drover_line_handler hs[] = {
		{ "License error", 0, h_abort, NULL },
	};
	drover_cmd *c = sh("echo 'License error: none left' >&2; sleep 30");
	drover_process *p;
	long long t0 = ms();

	assert_int_equal(drover_process_start(a, c, hs, 1, &p), 0);
	assert_int_equal(drover_process_wait(p, NULL), DROVER_EABORTED);
	assert_true(ms() - t0 < 4000);
	assert_false(drover_process_running(p));
	assert_int_equal(drover_process_exit_code(p), 128 + 15);
	assert_true(has_line("openjd_fail: License error: none left"));
	assert_int_equal(a->run_failed, 1);
	drover_process_free(p);
	drover_cmd_free(c);
	a->run_failed = 0;
}

static void
test_terminate_escalates_to_kill(void **state)
{
	drover_adaptor *a = *state;
	drover_cmd *c = sh("trap '' TERM; echo ready; while :; do sleep 1; "
	    "done");
	const struct drover_line_handler hs[] = {
		{ "^ready$", 0, h_any, (void *)3 },
	};
	drover_process *p;
	long long t0;

	assert_int_equal(drover_process_start(a, c, hs, 1, &p), 0);
	assert_int_equal(drover_process_pump(p, 5000), DROVER_LINE_DONE);
	t0 = ms();
	assert_int_equal(drover_process_terminate(p, 300), 0);
	assert_true(ms() - t0 >= 300);
	assert_true(ms() - t0 < 4000);
	assert_int_equal(drover_process_exit_code(p), 128 + 9);
	assert_true(strstr(out.s, "did not exit within 300 ms") != NULL);
	drover_process_free(p);
	drover_cmd_free(c);
}

/* Plays the main thread of `run`: cancels after a delay, then ticks
 * (SIGKILL once the grace period is over) until told to stop. */
struct canceler {
	drover_adaptor	*a;
	int		 delay_ms;
	_Atomic int	 stop;
};

static void *
cancel_later(void *arg)
{
	struct canceler *cl = arg;
	struct timespec ts = { 0, cl->delay_ms * 1000000L };

	nanosleep(&ts, NULL);
	drover__cancel_begin(cl->a, 0);
	while (!cl->stop && drover__cancel_tick(cl->a, 0) >= 0) {
		ts.tv_nsec = 20 * 1000000L;
		nanosleep(&ts, NULL);
	}
	return NULL;
}

/* Live (not zombie) members of a process group, from /proc. */
static int
group_members(pid_t pgid)
{
	char path[300], buf[512], *rp;
	struct dirent *de;
	DIR *d = opendir("/proc");
	FILE *fp;
	long pg;
	int n = 0;
	char st;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
		fp = fopen(path, "r");
		if (fp == NULL)
			continue;
		if (fgets(buf, sizeof(buf), fp) && (rp = strrchr(buf, ')')) &&
		    sscanf(rp + 1, " %c %*d %ld", &st, &pg) == 2 &&
		    pg == pgid && st != 'Z')
			n++;
		fclose(fp);
	}
	closedir(d);
	return n;
}

static void
test_cancel_sigterm(void **state)
{
	drover_adaptor *a = *state;
	struct canceler cl = { a, 100, 0 };
	drover_cmd *c = sh("sleep 30");
	drover_process *p;
	pthread_t th;
	long long t0 = ms();
	int code = -1;

	assert_int_equal(drover_process_start(a, c, NULL, 0, &p), 0);
	pthread_create(&th, NULL, cancel_later, &cl);
	assert_int_equal(drover_process_wait(p, &code), 0);
	cl.stop = 1;
	pthread_join(th, NULL);
	assert_true(ms() - t0 < 4000);
	assert_int_equal(code, 128 + 15);
	assert_int_equal(group_members(drover_process_pid(p)), 0);
	assert_int_equal(ncancel, 1);
	assert_true(drover_adaptor_canceled(a));
	drover_process_free(p);
	/* no new process while canceled; again after a reset */
	assert_int_equal(drover_process_start(a, c, NULL, 0, &p),
	    DROVER_ECANCELED);
	/* a cancel aimed at an older operation does nothing */
	drover__cancel_begin(a, drover__cancel_reset(a) - 1);
	assert_false(drover_adaptor_canceled(a));
	assert_int_equal(ncancel, 1);
	drover_cmd_free(c);
}

static void
test_cancel_grace_then_kill(void **state)
{
	drover_adaptor *a = *state;
	struct canceler cl = { a, 100, 0 };
	/* the group's members ignore SIGTERM: only SIGKILL ends them */
	drover_cmd *c = sh("trap '' TERM; sleep 30 & sleep 30; wait");
	drover_process *p;
	pthread_t th;
	long long t0 = ms();
	int code = -1;

	a->grace_ms = 300;
	assert_int_equal(drover_process_start(a, c, NULL, 0, &p), 0);
	pthread_create(&th, NULL, cancel_later, &cl);
	assert_int_equal(drover_process_wait(p, &code), 0);
	cl.stop = 1;
	pthread_join(th, NULL);
	assert_true(ms() - t0 >= 400);
	assert_true(ms() - t0 < 4000);
	assert_int_equal(code, 128 + 9);
	assert_true(has_line("INFO: grace period over: killing managed "
	    "processes"));
	/* every member of the group is gone */
	assert_int_equal(group_members(drover_process_pid(p)), 0);
	drover_process_free(p);
	drover_cmd_free(c);
}

/* ---- output and the runner ------------------------------------------------ */

static void
test_output_helpers(void **state)
{
	drover_adaptor *a = *state;

	a->log_level = DROVER_LOG_WARNING;
	drover_adaptor_log(a, DROVER_LOG_INFO, "hidden");
	drover_adaptor_log(a, DROVER_LOG_ERROR, "shown %d\nsecond line", 1);
	drover_adaptor_log(a, DROVER_LOG_INFO, "openjd_status: %s", "raw");
	drover_adaptor_progress(a, 150);
	drover_adaptor_progress(a, 12.5);
	drover_adaptor_status(a, "two\nlines");
	drover_adaptor_print(a, "bad\x01""byte \xff");
	assert_false(has_line("INFO: hidden"));
	assert_true(has_line("ERROR: shown 1"));
	assert_true(has_line("second line"));
	/* below the level, even an OpenJD message is dropped */
	assert_false(has_line("openjd_status: raw"));
	assert_true(has_line("openjd_progress: 100"));
	assert_true(has_line("openjd_progress: 12.5"));
	assert_true(has_line("openjd_status: two lines"));
	assert_true(has_line("bad?byte ?"));
	assert_int_equal(a->run_failed, 0);
	drover_adaptor_fail(a, "it broke");
	assert_true(has_line("openjd_fail: it broke"));
	assert_int_equal(a->run_failed, 1);
	a->run_failed = 0;
	assert_int_equal(drover_adaptor_error(a, DROVER_EINVAL, "x=%d", 3),
	    DROVER_EINVAL);
	assert_string_equal(drover_adaptor_errmsg(a), "x=3");
}

static void
test_openjd_line_detection(void **state)
{
	(void)state;
	assert_true(drover__is_openjd_line("openjd_progress: 5", 18));
	assert_true(drover__is_openjd_line("openjd_env: A=B", 15));
	assert_false(drover__is_openjd_line("openjd_: x", 10));
	assert_false(drover__is_openjd_line("openjd progress: 5", 18));
	assert_false(drover__is_openjd_line("openjd_progress:5", 17));
	assert_false(drover__is_openjd_line(" openjd_status: x", 17));
}

static void
test_command_run(void **state)
{
	drover_adaptor *a = *state;
	json_t *rd;

	rd = json_pack("{s:s}", "script", "echo hi; exit 0");
	assert_int_equal(drover__op_run(a, rd), 0);
	json_decref(rd);
	assert_true(has_line("STDOUT: hi"));

	rd = json_pack("{s:s}", "script", "exit 4");
	assert_int_equal(drover__op_run(a, rd), DROVER_EFAILED);
	json_decref(rd);
	assert_true(has_line("openjd_fail: run failed: command exited with "
	    "code 4"));

	/* a run schema is checked first, with the key named */
	a->run_schema = json_pack("{s:[s], s:{s:{s:s}}}", "required", "frame",
	    "properties", "script", "type", "string");
	rd = json_pack("{s:i}", "script", 1);
	assert_int_equal(drover__op_run(a, rd), DROVER_ESCHEMA);
	json_decref(rd);
	json_decref(a->run_schema);
	a->run_schema = NULL;
	assert_true(has_line("ERROR: run_data: missing required key 'frame'"));
	assert_true(has_line("ERROR: run_data.script: expected string, got "
	    "integer"));
	assert_true(has_line("openjd_fail: run failed: invalid run_data: "
	    "run_data: missing required key 'frame' (and more)"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_handler_rules, reset),
		cmocka_unit_test_setup(test_bad_pattern, reset),
		cmocka_unit_test_setup(test_match_helpers, reset),
		cmocka_unit_test_setup(test_process_output_and_exit, reset),
		cmocka_unit_test_setup(test_process_env_cwd_stdin, reset),
		cmocka_unit_test_setup(test_process_not_found, reset),
		cmocka_unit_test_setup(test_pump_done_and_timeout, reset),
		cmocka_unit_test_setup(test_abort_terminates, reset),
		cmocka_unit_test_setup(test_terminate_escalates_to_kill, reset),
		cmocka_unit_test_setup(test_cancel_sigterm, reset),
		cmocka_unit_test_setup(test_cancel_grace_then_kill, reset),
		cmocka_unit_test_setup(test_output_helpers, reset),
		cmocka_unit_test_setup(test_openjd_line_detection, reset),
		cmocka_unit_test_setup(test_command_run, reset),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
