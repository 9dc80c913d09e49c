/*
 * Unit tests for the store and the queue operations: schema versions and
 * migrations, rows per job and step only, the task life cycle, retries,
 * each on-error policy, pause/resume, cancel, cross-job dependencies,
 * sessions lost to a restart, removal and pruning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "store/queue.h"
#include "store/state.h"
#include "store/store.h"

#include "store-fixture.h"

static char *
text(struct store *st, const char *sql)
{
	sqlite3_stmt *s = store_stmt(st, sql);
	char *v = NULL;

	assert_non_null(s);
	if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return v;
}

static void
assert_sql_text(struct store *st, const char *sql, const char *want)
{
	char *v = text(st, sql);

	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

/* A job of nsteps steps, step i depending on step i-1 when chain. */
static int64_t
submit(struct store *st, int nsteps, int64_t tasks, int chain,
    enum queue_on_error oe, int retries, const int64_t *after, size_t nafter)
{
	struct queue_step_spec steps[4];
	static const int prev[4][1] = { { 0 }, { 0 }, { 1 }, { 2 } };
	struct queue_job_spec js = {
		.name = "j", .job_json = "{}", .submitter = "me",
		.priority = 50, .on_error = oe, .max_retries = retries,
		.after = after, .nafter = nafter, .steps = steps,
		.nsteps = (size_t)nsteps,
	};
	static const char *names[] = { "A", "B", "C", "D" };
	int64_t id = -1;
	char *err = NULL;

	for (int i = 0; i < nsteps; i++) {
		steps[i] = (struct queue_step_spec){ names[i], tasks,
		    prev[i], chain && i > 0 ? 1 : 0, NULL };
	}
	if (queue_submit(st, &js, &id, &err) != 0) {
		fprintf(stderr, "%s\n", err);
		free(err);
		fail();
	}
	return id;
}

static const char *
job_state(struct store *st, int64_t id)
{
	static char buf[32];
	sqlite3_stmt *s = store_stmt(st, "SELECT state FROM jobs WHERE id = ?");

	sqlite3_bind_int64(s, 1, id);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	snprintf(buf, sizeof(buf), "%s", sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return buf;
}

static int64_t
count(struct store *st, int64_t job, int step, const char *col)
{
	char *sql = xasprintf("SELECT n_%s FROM steps WHERE job_id = %lld AND "
	    "idx = %d", col, (long long)job, step);
	int64_t v = fx_scalar(st, sql);

	free(sql);
	return v;
}

/* Claims, starts and ends one task of (job, step); returns its index. */
static int64_t
run_one(struct store *st, int64_t job, int step, int64_t session,
    enum task_state outcome)
{
	int64_t task, attempt;
	struct queue_result r = { outcome, outcome == TASK_SUCCEEDED ? 0 : 3,
		NULL, REASON_NONE, NULL, -1 };

	assert_int_equal(queue_claim(st, job, step, session, &task), 1);
	assert_int_equal(queue_task_start(st, job, step, task, session,
	    "/dev/null", -1, &attempt), 0);
	assert_int_equal(queue_task_end(st, job, step, task, attempt, &r), 0);
	return task;
}

static void
test_open_versions(void **state)
{
	struct fx *f = *state;

	assert_int_equal(store_version(f->st), store_schema_latest());
	assert_true(store_schema_latest() >= 3);
	assert_sql_text(f->st, "PRAGMA journal_mode", "wal");
	assert_int_equal(fx_scalar(f->st, "PRAGMA foreign_keys"), 1);
	assert_non_null(store_migration_name(1));
	assert_null(store_migration_name(store_schema_latest() + 1));
}

static void
test_migrations(void **state)
{
	struct fx *f = *state;
	char *err = NULL, *path = xasprintf("%s/m.db", f->dir);
	struct store *st;
	int64_t t;

	/* a database at schema 1 with a job, as an older drover left it */
	assert_int_equal(store_open(&st, path, STORE_CREATE |
	    STORE_ANY_VERSION, &err), 0);
	assert_int_equal(store_version(st), 0);
	assert_int_equal(store_migrate(st, 1, &err), 1);
	assert_int_equal(store_version(st), 1);
	assert_int_equal(store_exec(st, "INSERT INTO jobs(name, job, "
	    "submitter, task_count, state, reason, submitted_at) VALUES "
	    "('old', '{}', 'me', 2, 'READY', 'WAITING_WORKERS', 1);"
	    "INSERT INTO steps(job_id, idx, name, task_count, implicit, "
	    "n_ready, state) VALUES (1, 0, 'A', 2, 'READY', 2, 'READY');"), 0);
	assert_int_equal(store_migrate(st, 0, &err) >= 0, 1);
	/* going down is refused */
	assert_int_equal(store_migrate(st, 1, &err), -1);
	assert_non_null(strstr(err, "not supported"));
	free(err);
	err = NULL;
	store_close(st);

	/* redo at 1 only, then open as the daemon would */
	unlink(path);
	assert_int_equal(store_open(&st, path, STORE_CREATE |
	    STORE_ANY_VERSION, &err), 0);
	assert_int_equal(store_migrate(st, 1, &err), 1);
	assert_int_equal(store_exec(st, "INSERT INTO jobs(name, job, "
	    "submitter, task_count, state, reason, submitted_at) VALUES "
	    "('old', '{}', 'me', 2, 'READY', 'WAITING_WORKERS', 1);"
	    "INSERT INTO steps(job_id, idx, name, task_count, implicit, "
	    "n_ready, state) VALUES (1, 0, 'A', 2, 'READY', 2, 'READY');"
	    "INSERT INTO events(time, job_id, reason) VALUES (5, 1, 'SUBMITTED');"
	    "INSERT INTO events(time, job_id, reason) VALUES (6, NULL, 'X');"),
	    0);
	store_close(st);
	assert_int_equal(store_open(&st, path, 0, &err), -1);
	assert_non_null(strstr(err, "run 'drover migrate'"));
	free(err);
	err = NULL;
	assert_int_equal(store_open(&st, path, STORE_MIGRATE, &err), 0);
	assert_int_equal(store_version(st), store_schema_latest());
	/* the old job is intact and usable with the new columns */
	assert_sql_text(st, "SELECT name FROM jobs WHERE id = 1", "old");
	assert_int_equal(fx_scalar(st, "SELECT hook_state FROM jobs"), 0);
	assert_int_equal(fx_scalar(st, "SELECT count(*) FROM job_deps"), 0);
	/* the event log kept its rows (5: events keyed by job) */
	assert_int_equal(fx_scalar(st, "SELECT time FROM events WHERE "
	    "job_id = 1"), 5);
	assert_int_equal(fx_scalar(st, "SELECT time FROM events WHERE "
	    "job_id = 0"), 6);
	assert_int_equal(queue_claim(st, 1, 0, 1, &t), 1);
	assert_int_equal(t, 0);
	/* new events of the job follow the migrated ones */
	assert_int_equal(fx_scalar(st, "SELECT max(id) > 1 FROM events WHERE "
	    "job_id = 1 AND to_state = 'ASSIGNED'"), 1);
	store_close(st);
	free(path);
}

static void
test_newer_refused(void **state)
{
	struct fx *f = *state;
	char *err = NULL, *sql;
	struct store *st;
	sqlite3 *db;

	store_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	sql = xasprintf("PRAGMA user_version = %d", store_schema_latest() + 1);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	free(sql);
	sqlite3_close(db);
	assert_int_equal(store_open(&st, f->path, STORE_MIGRATE, &err), -1);
	assert_non_null(strstr(err, "newer than this drover understands"));
	free(err);
	/* and it was not touched */
	assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
	{
		sqlite3_stmt *s;

		sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(s, 0),
		    store_schema_latest() + 1);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	assert_int_equal(store_open(&f->st, f->path, STORE_READONLY, &err), -1);
	free(err);
	f->st = NULL;
	/* reopen something for teardown */
	{
		char *p2 = xasprintf("%s/other.db", f->dir);

		assert_int_equal(store_open(&f->st, p2, STORE_CREATE |
		    STORE_MIGRATE, &err), 0);
		free(p2);
	}
}

static void
test_huge_job_rows(void **state)
{
	struct fx *f = *state;
	int64_t id = submit(f->st, 2, 1000000, 1, QUEUE_ON_ERROR_QUIT, 0, NULL,
	    0);

	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM jobs"), 1);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM steps"), 2);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM tasks"), 0);
	assert_int_equal(fx_scalar(f->st, "SELECT task_count FROM jobs"), 2000000);
	assert_int_equal(count(f->st, id, 0, "ready"), 1000000);
	assert_int_equal(count(f->st, id, 1, "pending"), 1000000);
	assert_string_equal(job_state(f->st, id), "READY");
	assert_sql_text(f->st, "SELECT reason FROM jobs", "WAITING_WORKERS");
	/* one task dispatched: one row */
	run_one(f->st, id, 0, 1, TASK_SUCCEEDED);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM tasks"), 1);
	assert_int_equal(count(f->st, id, 0, "succeeded"), 1);
	assert_int_equal(count(f->st, id, 0, "ready"), 999999);
}

static void
test_lifecycle_and_deps(void **state)
{
	struct fx *f = *state;
	int64_t id = submit(f->st, 2, 2, 1, QUEUE_ON_ERROR_QUIT, 0, NULL, 0);
	int64_t t, attempt;

	assert_int_equal(queue_claim(f->st, id, 1, 1, &t), 0);	/* PENDING */
	assert_int_equal(run_one(f->st, id, 0, 1, TASK_SUCCEEDED), 0);
	assert_int_equal(queue_claim(f->st, id, 0, 1, &t), 1);
	assert_int_equal(t, 1);
	assert_string_equal(job_state(f->st, id), "RUNNING");
	assert_int_equal(queue_task_start(f->st, id, 0, 1, 2, NULL, -1, &attempt),
	    1);		/* wrong session */
	assert_int_equal(queue_task_start(f->st, id, 0, 1, 1, NULL, -1, &attempt),
	    0);
	assert_int_equal(count(f->st, id, 1, "pending"), 2);
	{
		struct queue_result r = { TASK_SUCCEEDED, 0, NULL, REASON_NONE,
			NULL, -1 };

		assert_int_equal(queue_task_end(f->st, id, 0, 1, attempt, &r), 0);
		/* a result is recorded once */
		assert_int_equal(queue_task_end(f->st, id, 0, 1, attempt, &r), 1);
	}
	assert_int_equal(count(f->st, id, 1, "ready"), 2);
	run_one(f->st, id, 1, 1, TASK_SUCCEEDED);
	run_one(f->st, id, 1, 1, TASK_SUCCEEDED);
	assert_string_equal(job_state(f->st, id), "SUCCEEDED");
	assert_sql_text(f->st, "SELECT reason FROM jobs", "SUCCEEDED");
	assert_true(fx_scalar(f->st, "SELECT ended_at FROM jobs") > 0);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM attempts"), 4);
	/* every task move is in the event log */
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM events WHERE "
	    "task IS NOT NULL AND to_state = 'SUCCEEDED'"), 4);
}

static void
test_retries(void **state)
{
	struct fx *f = *state;
	int64_t id = submit(f->st, 1, 1, 0, QUEUE_ON_ERROR_QUIT, 2, NULL, 0);

	run_one(f->st, id, 0, 1, TASK_FAILED);
	assert_string_equal(job_state(f->st, id), "READY");
	run_one(f->st, id, 0, 1, TASK_FAILED);
	assert_string_equal(job_state(f->st, id), "READY");
	run_one(f->st, id, 0, 1, TASK_FAILED);
	assert_string_equal(job_state(f->st, id), "FAILED");
	assert_sql_text(f->st, "SELECT reason FROM jobs", "NONZERO_EXIT");
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM attempts"), 3);
	assert_int_equal(fx_scalar(f->st, "SELECT max(attempt) FROM attempts"), 3);
	/* manual retry gives a fresh budget */
	{
		char *err = NULL;

		assert_int_equal(queue_retry(f->st, id, 1, &err), 1);
	}
	assert_string_equal(job_state(f->st, id), "READY");
	run_one(f->st, id, 0, 1, TASK_SUCCEEDED);
	assert_string_equal(job_state(f->st, id), "SUCCEEDED");
	assert_int_equal(fx_scalar(f->st, "SELECT max(attempt) FROM attempts"), 4);
}

static void
test_on_error_continue(void **state)
{
	struct fx *f = *state;
	/* A(3) <- B(3); C independent would need a non-chain: use 2 jobs */
	int64_t id = submit(f->st, 2, 3, 1, QUEUE_ON_ERROR_CONTINUE, 0, NULL, 0);

	run_one(f->st, id, 0, 1, TASK_FAILED);
	/* B depends on A: fails with DEPENDENCY_FAILED; A goes on */
	assert_int_equal(count(f->st, id, 1, "failed"), 3);
	assert_int_equal(count(f->st, id, 0, "ready"), 2);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM events WHERE "
	    "reason = 'DEPENDENCY_FAILED'"), 1);
	run_one(f->st, id, 0, 1, TASK_SUCCEEDED);
	run_one(f->st, id, 0, 1, TASK_SUCCEEDED);
	assert_string_equal(job_state(f->st, id), "FAILED");
	assert_int_equal(count(f->st, id, 0, "succeeded"), 2);
}

static void
test_on_error_quit_terminate(void **state)
{
	struct fx *f = *state;
	int64_t q = submit(f->st, 1, 4, 0, QUEUE_ON_ERROR_QUIT, 0, NULL, 0);
	int64_t t2, a2, tt, at;
	int64_t *sess = NULL;
	size_t ns = 0;

	/* one running, then another fails: quit leaves the running one */
	assert_int_equal(queue_claim(f->st, q, 0, 7, &t2), 1);
	assert_int_equal(queue_task_start(f->st, q, 0, t2, 7, NULL, -1, &a2), 0);
	run_one(f->st, q, 0, 8, TASK_FAILED);
	assert_int_equal(count(f->st, q, 0, "running"), 1);
	assert_int_equal(count(f->st, q, 0, "canceled"), 2);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM tasks WHERE "
	    "cancel IS NOT NULL"), 0);
	assert_string_equal(job_state(f->st, q), "RUNNING");
	{
		struct queue_result r = { TASK_SUCCEEDED, 0, NULL, REASON_NONE,
			NULL, -1 };

		assert_int_equal(queue_task_end(f->st, q, 0, t2, a2, &r), 0);
	}
	assert_string_equal(job_state(f->st, q), "FAILED");

	/* terminate: the running one gets a cancel request */
	int64_t t = submit(f->st, 1, 4, 0, QUEUE_ON_ERROR_TERMINATE, 0, NULL, 0);
	assert_int_equal(queue_claim(f->st, t, 0, 9, &tt), 1);
	assert_int_equal(queue_task_start(f->st, t, 0, tt, 9, NULL, -1, &at), 0);
	run_one(f->st, t, 0, 10, TASK_FAILED);
	assert_int_equal(queue_terminating_sessions(f->st, &sess, &ns), 0);
	assert_int_equal(ns, 1);
	assert_int_equal(sess[0], 9);
	free(sess);
	{
		char *c = queue_task_cancel_reason(f->st, t, 0, tt);

		assert_non_null(c);
		assert_string_equal(c, "JOB_TERMINATED");
		free(c);
	}
}

static void
test_pause_resume_cancel(void **state)
{
	struct fx *f = *state;
	int64_t id = submit(f->st, 2, 5, 1, QUEUE_ON_ERROR_QUIT, 0, NULL, 0);
	char *err = NULL;
	int64_t *sess = NULL, t, a;
	size_t ns = 0;

	run_one(f->st, id, 0, 1, TASK_SUCCEEDED);
	assert_int_equal(queue_pause(f->st, id, &err), 0);
	assert_string_equal(job_state(f->st, id), "SUSPENDED");
	assert_sql_text(f->st, "SELECT reason FROM jobs", "PAUSED");
	assert_int_equal(count(f->st, id, 0, "suspended"), 4);
	assert_int_equal(count(f->st, id, 1, "suspended"), 5);
	assert_int_equal(queue_claim(f->st, id, 0, 1, &t), 0);
	assert_int_equal(queue_resume(f->st, id, &err), 0);
	assert_int_equal(count(f->st, id, 0, "ready"), 4);
	assert_int_equal(count(f->st, id, 1, "pending"), 5);
	assert_string_equal(job_state(f->st, id), "READY");

	assert_int_equal(queue_claim(f->st, id, 0, 3, &t), 1);
	assert_int_equal(queue_task_start(f->st, id, 0, t, 3, NULL, -1, &a), 0);
	assert_int_equal(queue_cancel(f->st, id, -1, -1,
	    REASON_CANCELED_BY_USER, NULL, &sess, &ns, &err), 9);
	assert_int_equal(ns, 1);
	assert_int_equal(sess[0], 3);
	free(sess);
	assert_string_equal(job_state(f->st, id), "RUNNING");
	{
		struct queue_result r = { TASK_CANCELED, -1, NULL,
			REASON_CANCELED_BY_USER, NULL, -1 };

		assert_int_equal(queue_task_end(f->st, id, 0, t, a, &r), 0);
	}
	assert_string_equal(job_state(f->st, id), "CANCELED");
	assert_sql_text(f->st, "SELECT reason FROM jobs", "CANCELED_BY_USER");
	/* no such job */
	assert_int_equal(queue_pause(f->st, 999, &err), -1);
	assert_string_equal(err, "no job 999");
	free(err);
}

static void
test_cancel_one_task(void **state)
{
	struct fx *f = *state;
	int64_t id = submit(f->st, 1, 3, 0, QUEUE_ON_ERROR_QUIT, 0, NULL, 0);
	char *err = NULL;
	int64_t *sess = NULL, t;
	size_t ns;

	assert_int_equal(queue_cancel(f->st, id, 0, 1, REASON_CANCELED_BY_USER,
	    NULL, &sess, &ns, &err), 1);
	free(sess);
	assert_int_equal(queue_claim(f->st, id, 0, 1, &t), 1);
	assert_int_equal(t, 0);
	assert_int_equal(queue_claim(f->st, id, 0, 1, &t), 1);
	assert_int_equal(t, 2);		/* 1 was skipped */
	assert_int_equal(queue_claim(f->st, id, 0, 1, &t), 0);
	assert_int_equal(queue_cancel(f->st, id, 0, 9, REASON_CANCELED_BY_USER,
	    NULL, &sess, &ns, &err), -1);
	assert_non_null(strstr(err, "no task 9"));
	free(err);
}

static void
test_after_jobs(void **state)
{
	struct fx *f = *state;
	int64_t p1 = submit(f->st, 1, 1, 0, QUEUE_ON_ERROR_QUIT, 0, NULL, 0);
	int64_t p2 = submit(f->st, 1, 1, 0, QUEUE_ON_ERROR_QUIT, 0, NULL, 0);
	int64_t parents[2] = { p1, p2 };
	int64_t c = submit(f->st, 1, 2, 0, QUEUE_ON_ERROR_QUIT, 0, parents, 2);
	int64_t c2 = submit(f->st, 1, 2, 0, QUEUE_ON_ERROR_QUIT, 0, &p2, 1);
	int64_t bad = 12345;
	struct queue_step_spec sp = { "A", 1, NULL, 0, NULL };
	struct queue_job_spec js = { .name = "x", .job_json = "{}",
		.after = &bad, .nafter = 1, .steps = &sp, .nsteps = 1 };
	char *err = NULL;
	int64_t id;

	assert_string_equal(job_state(f->st, c), "PENDING");
	assert_int_equal(queue_submit(f->st, &js, &id, &err), -1);
	assert_string_equal(err, "no job 12345 to run after");
	free(err);
	run_one(f->st, p1, 0, 1, TASK_SUCCEEDED);
	assert_string_equal(job_state(f->st, c), "PENDING");
	run_one(f->st, p2, 0, 1, TASK_FAILED);
	assert_string_equal(job_state(f->st, c), "FAILED");
	assert_string_equal(job_state(f->st, c2), "FAILED");
	assert_sql_text(f->st, "SELECT reason FROM jobs WHERE id = 3",
	    "DEPENDENCY_FAILED");
	/* retry the parent: a new child after it runs once it succeeds */
	assert_int_equal(queue_retry(f->st, p2, 1, &err), 1);
	{
		int64_t c3 = submit(f->st, 1, 1, 0, QUEUE_ON_ERROR_QUIT, 0, &p2,
		    1);

		assert_string_equal(job_state(f->st, c3), "PENDING");
		run_one(f->st, p2, 0, 1, TASK_SUCCEEDED);
		assert_string_equal(job_state(f->st, c3), "READY");
	}
}

/* A running session takes its next task and starts it in one move. */
static void
test_claim_start(void **state)
{
	struct fx *f = *state;
	int64_t id = submit(f->st, 1, 3, 0, QUEUE_ON_ERROR_QUIT, 1, NULL, 0);
	int64_t s = queue_session_new(f->st, id, 0, "host", "/x");
	int64_t t, a, t2, a2;
	struct queue_result ok = { TASK_SUCCEEDED, 0, NULL, REASON_NONE, NULL,
		-1 };
	long *pg;
	size_t n;

	assert_int_equal(queue_claim_start(f->st, id, 0, s, "/log", 7, &t, &a),
	    1);
	assert_int_equal(t, 0);
	assert_int_equal(state_task_get(f->st, id, 0, t), TASK_RUNNING);
	assert_int_equal(count(f->st, id, 0, "running"), 1);
	assert_int_equal(count(f->st, id, 0, "ready"), 2);
	assert_int_equal(fx_scalar(f->st, "SELECT attempts FROM tasks WHERE "
	    "idx = 0"), 1);
	assert_int_equal(queue_attempt_number(f->st, a), 1);
	assert_int_equal(fx_scalar(f->st, "SELECT log_offset FROM attempts"), 7);
	/* one event, READY -> RUNNING, never ASSIGNED */
	assert_sql_text(f->st, "SELECT group_concat(from_state || '>' || "
	    "to_state || ':' || reason) FROM events WHERE task = 0",
	    "READY>RUNNING:DISPATCHED");
	assert_sql_text(f->st, "SELECT state FROM jobs", "RUNNING");
	/* the running action's group is found through the session */
	assert_int_equal(queue_attempt_pgid(f->st, a, 4242), 0);
	assert_int_equal(queue_session_action_pgids(f->st, s, &pg, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pg[0], 4242);
	free(pg);
	assert_int_equal(queue_task_end(f->st, id, 0, t, a, &ok), 0);
	assert_int_equal(queue_session_action_pgids(f->st, s, &pg, &n), 0);
	assert_int_equal(n, 0);
	free(pg);
	/* the next one; the session is lost while it runs */
	assert_int_equal(queue_claim_start(f->st, id, 0, s, NULL, -1, &t2,
	    &a2), 1);
	assert_int_equal(t2, 1);
	assert_int_equal(queue_session_end(f->st, s, REASON_DAEMON_RESTARTED,
	    "daemon restarted"), 0);
	assert_int_equal(count(f->st, id, 0, "ready"), 2);	/* retried */
	assert_int_equal(count(f->st, id, 0, "succeeded"), 1);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM attempts WHERE "
	    "reason = 'DAEMON_RESTARTED' AND task = 1"), 1);
	/* nothing left: 0 */
	assert_int_equal(queue_claim_start(f->st, id, 0, s, NULL, -1, &t, &a),
	    1);
	assert_int_equal(queue_claim_start(f->st, id, 0, s, NULL, -1, &t2, &a2),
	    1);
	assert_int_equal(queue_claim_start(f->st, id, 0, s, NULL, -1, &t, &a),
	    0);
}

static void
test_session_lost(void **state)
{
	struct fx *f = *state;
	int64_t id = submit(f->st, 1, 3, 0, QUEUE_ON_ERROR_QUIT, 1, NULL, 0);
	int64_t s = queue_session_new(f->st, id, 0, "host", "/x");
	int64_t t0, t1, a;
	struct queue_session_info *live;
	size_t n;

	assert_true(s > 0);
	assert_int_equal(queue_session_set_proc(f->st, s, 123, 123, 456), 0);
	assert_int_equal(queue_claim(f->st, id, 0, s, &t0), 1);
	assert_int_equal(queue_task_start(f->st, id, 0, t0, s, NULL, -1, &a), 0);
	assert_int_equal(queue_claim(f->st, id, 0, s, &t1), 1);
	assert_int_equal(queue_sessions_live(f->st, &live, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(live[0].pid, 123);
	assert_int_equal(live[0].proc_start, 456);
	free(live);
	assert_int_equal(queue_session_end(f->st, s, REASON_DAEMON_RESTARTED,
	    "daemon restarted"), 0);
	/* the running one failed and was retried, the assigned one requeued */
	assert_int_equal(count(f->st, id, 0, "ready"), 3);
	assert_sql_text(f->st, "SELECT reason FROM attempts",
	    "DAEMON_RESTARTED");
	assert_int_equal(queue_sessions_live(f->st, &live, &n), 0);
	assert_int_equal(n, 0);
	free(live);
}

static void
test_rm_gc(void **state)
{
	struct fx *f = *state;
	int64_t a = submit(f->st, 1, 1, 0, QUEUE_ON_ERROR_QUIT, 0, NULL, 0);
	int64_t b = submit(f->st, 1, 1, 0, QUEUE_ON_ERROR_QUIT, 0, NULL, 0);
	char *err = NULL;
	int64_t *ids;
	size_t n;

	assert_int_equal(queue_rm(f->st, a, 0, &err), -1);
	assert_non_null(strstr(err, "has not ended"));
	free(err);
	err = NULL;
	run_one(f->st, a, 0, 1, TASK_SUCCEEDED);
	assert_int_equal(queue_rm(f->st, a, 0, &err), 0);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM events WHERE "
	    "job_id = 1"), 0);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM attempts"), 0);
	run_one(f->st, b, 0, 1, TASK_SUCCEEDED);
	assert_int_equal(queue_gc(f->st, 0, &ids, &n), 0);
	free(ids);
	assert_int_equal(queue_gc(f->st, store_now_ms() + 1000, &ids, &n), 1);
	assert_int_equal(ids[0], b);
	free(ids);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM jobs"), 0);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM steps"), 0);
}

static void
test_refused_move(void **state)
{
	struct fx *f = *state;
	int64_t id = submit(f->st, 1, 2, 0, QUEUE_ON_ERROR_QUIT, 0, NULL, 0);

	store_begin(f->st);
	/* READY -> SUCCEEDED is not a move */
	assert_int_equal(state_task_move(f->st, id, 0, 0, TASK_SUCCEEDED,
	    REASON_NONE, NULL, -1), -1);
	store_rollback(f->st);
	assert_int_equal(count(f->st, id, 0, "ready"), 2);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM tasks"), 0);
}

static void
test_json(void **state)
{
	struct fx *f = *state;
	int64_t id = submit(f->st, 2, 3, 1, QUEUE_ON_ERROR_QUIT, 0, NULL, 0);
	json_t *j = queue_job_json(f->st, id, 1), *l;

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "state")),
	    "READY");
	assert_int_equal(json_array_size(json_object_get(j, "steps")), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(j, "steps"), 1), "counts"),
	    "PENDING")), 3);
	json_decref(j);
	l = queue_list_json(f->st, TASK_READY, 0);
	assert_int_equal(json_array_size(l), 1);
	json_decref(l);
	l = queue_list_json(f->st, TASK_FAILED, 0);
	assert_int_equal(json_array_size(l), 0);
	json_decref(l);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_versions, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_migrations, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_newer_refused, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_huge_job_rows, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_lifecycle_and_deps, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_retries, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_on_error_continue, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_on_error_quit_terminate, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_pause_resume_cancel, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_cancel_one_task, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_after_jobs, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_claim_start, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_session_lost, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_rm_gc, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_refused_move, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_json, fx_setup, fx_teardown),
	};

	log_init("u-store", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
