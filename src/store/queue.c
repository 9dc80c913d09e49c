/*
 * Queue operations: submit, claim, start, end, cancel, pause, resume,
 * retry, remove, sessions, and the read side for the CLI.  Each public
 * function is one transaction; the policies (retries, on-error, step and
 * job dependencies) are applied inside it.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "store/queue.h"
#include "store/store.h"

static const char *const on_error_names[] = { "continue", "quit",
	"terminate" };

const char *
queue_on_error_name(enum queue_on_error e)
{
	return (unsigned)e < 3 ? on_error_names[e] : "quit";
}

int
queue_on_error_parse(const char *s)
{
	for (int i = 0; i < 3; i++)
		if (s && strcmp(s, on_error_names[i]) == 0)
			return i;
	return -1;
}

/* ---- small helpers ---- */

static int
fail_tx(struct store *st)
{
	store_rollback(st);
	return -1;
}

/* One step of a job, as policies need it. */
struct qstep {
	int		 idx;
	char		*name;
	int64_t		 task_count;
	int64_t		 n[TASK_NSTATES];
	int		*deps;
	size_t		 ndeps;
};

struct qjob {
	int64_t		 id;
	int		 priority;
	int		 on_error;
	int		 max_retries;
	int		 max_failed;
	int		 paused;
	int		 state;
	struct qstep	*steps;
	size_t		 nsteps;
};

static void
qjob_release(struct qjob *j)
{
	for (size_t i = 0; i < j->nsteps; i++) {
		free(j->steps[i].name);
		free(j->steps[i].deps);
	}
	free(j->steps);
	memset(j, 0, sizeof(*j));
}

static int
qjob_load(struct store *st, int64_t id, struct qjob *j)
{
	sqlite3_stmt *s;
	size_t alloc = 0;
	int rc;

	memset(j, 0, sizeof(*j));
	s = store_stmt(st, "SELECT priority, on_error, max_retries, "
	    "max_failed, paused, state FROM jobs WHERE id = ?");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	if (store_step(st, s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return -1;
	}
	j->id = id;
	j->priority = sqlite3_column_int(s, 0);
	j->on_error = queue_on_error_parse(store_col_text(s, 1));
	j->max_retries = sqlite3_column_int(s, 2);
	j->max_failed = sqlite3_column_int(s, 3);
	j->paused = sqlite3_column_int(s, 4);
	j->state = task_state_parse(store_col_text(s, 5));
	sqlite3_reset(s);

	s = store_stmt(st, "SELECT idx, name, task_count, deps, n_pending, "
	    "n_ready, n_assigned, n_running, n_succeeded, n_failed, "
	    "n_canceled, n_suspended, n_not_compatible FROM steps "
	    "WHERE job_id = ? ORDER BY idx");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = store_step(st, s)) == SQLITE_ROW) {
		struct qstep *q;
		json_t *deps;
		size_t k;
		json_t *v;

		ALLOC_GROW(j->steps, j->nsteps + 1, alloc);
		q = &j->steps[j->nsteps++];
		memset(q, 0, sizeof(*q));
		q->idx = sqlite3_column_int(s, 0);
		q->name = xstrdup(store_col_text(s, 1));
		q->task_count = sqlite3_column_int64(s, 2);
		for (int i = 0; i < TASK_NSTATES; i++)
			q->n[i] = sqlite3_column_int64(s, 4 + i);
		deps = json_loads(store_col_text(s, 3), 0, NULL);
		if (json_is_array(deps) && json_array_size(deps)) {
			q->deps = xcalloc(json_array_size(deps), sizeof(int));
			json_array_foreach(deps, k, v)
				q->deps[q->ndeps++] = (int)json_integer_value(v);
		}
		json_decref(deps);
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE) {
		qjob_release(j);
		return -1;
	}
	return 0;
}

/* 1 while some --after parent has not succeeded (missing parents count
 * as done: only final jobs can be removed, and their children were
 * resolved when they ended). */
static int
after_waiting(struct store *st, int64_t job)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM job_deps d "
	    "JOIN jobs p ON p.id = d.parent_id "
	    "WHERE d.job_id = ? AND p.state <> 'SUCCEEDED'");
	int n = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	if (store_step(st, s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return n > 0;
}

/* Moves PENDING tasks of steps whose dependencies all succeeded to READY. */
static int
promote(struct store *st, int64_t job)
{
	struct qjob j;
	int w;

	if ((w = after_waiting(st, job)) != 0)
		return w < 0 ? -1 : 0;
	if (qjob_load(st, job, &j) == -1)
		return -1;
	if (j.paused) {
		qjob_release(&j);
		return 0;
	}
	for (size_t i = 0; i < j.nsteps; i++) {
		struct qstep *q = &j.steps[i];
		int ok = 1;

		if (q->n[TASK_PENDING] == 0)
			continue;
		for (size_t d = 0; d < q->ndeps; d++) {
			int k = q->deps[d];

			if (k < 0 || (size_t)k >= j.nsteps ||
			    j.steps[k].n[TASK_SUCCEEDED] !=
			    j.steps[k].task_count)
				ok = 0;
		}
		if (ok && state_step_move(st, job, q->idx,
		    STATE_BIT(TASK_PENDING), TASK_READY, REASON_NONE,
		    NULL) < 0) {
			qjob_release(&j);
			return -1;
		}
	}
	qjob_release(&j);
	return 0;
}

/* Marks every step that depends, directly or not, on step `from`. */
static void
dependants(const struct qjob *j, int from, char *mark)
{
	int changed = 1;

	mark[from] = 1;
	while (changed) {
		changed = 0;
		for (size_t i = 0; i < j->nsteps; i++) {
			if (mark[i])
				continue;
			for (size_t d = 0; d < j->steps[i].ndeps; d++) {
				int k = j->steps[i].deps[d];

				if (k >= 0 && (size_t)k < j->nsteps && mark[k]) {
					mark[i] = 2;
					changed = 1;
					break;
				}
			}
		}
	}
}

static int job_final(struct store *, int64_t job);

/*
 * Refreshes the job; on reaching a final state runs the follow-ups.  In a
 * batch the job is only noted, and refreshed at the batch's end.
 */
static int
refresh(struct store *st, int64_t job)
{
	int fin;

	if (st->batch > 0) {
		for (size_t i = 0; i < st->ndirty; i++)
			if (st->dirty[i] == job)
				return 0;
		ALLOC_GROW(st->dirty, st->ndirty + 1, st->adirty);
		st->dirty[st->ndirty++] = job;
		return 0;
	}
	if (state_job_refresh(st, job, &fin) == -1)
		return -1;
	return fin ? job_final(st, job) : 0;
}

void
queue_batch_begin(struct store *st)
{
	st->batch++;
}

int
queue_batch_end(struct store *st)
{
	int rc = 0;

	if (st->batch <= 0 || --st->batch > 0)
		return 0;
	while (st->ndirty > 0 && rc == 0) {
		int64_t job = st->dirty[--st->ndirty];

		rc = refresh(st, job);
	}
	st->ndirty = 0;
	return rc;
}

#define NOT_STARTED (STATE_BIT(TASK_PENDING) | STATE_BIT(TASK_READY) | \
	STATE_BIT(TASK_SUSPENDED) | STATE_BIT(TASK_ASSIGNED))

/* Fails (DEPENDENCY_FAILED) every task of a job that has not started. */
static int
fail_whole_job(struct store *st, int64_t job, const char *msg)
{
	if (state_job_set_failure(st, job, REASON_DEPENDENCY_FAILED, msg) == -1)
		return -1;
	if (state_job_move(st, job, STATE_BIT(TASK_PENDING) |
	    STATE_BIT(TASK_SUSPENDED), TASK_FAILED, REASON_DEPENDENCY_FAILED,
	    msg) < 0)
		return -1;
	return refresh(st, job);
}

/* The job reached a final state: hook, children waiting on it. */
static int
job_final(struct store *st, int64_t job)
{
	sqlite3_stmt *s;
	int64_t *kids = NULL;
	size_t n = 0, alloc = 0;
	char *state = NULL;
	int rc = 0;

	s = store_stmt(st, "UPDATE jobs SET terminate = 0, hook_state = "
	    "CASE WHEN on_complete IS NOT NULL AND on_complete <> '' "
	    "THEN 1 ELSE hook_state END WHERE id = ?");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	if (store_step_done(st, s) == -1)
		return -1;
	s = store_stmt(st, "SELECT state FROM jobs WHERE id = ?");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	if (store_step(st, s) == SQLITE_ROW)
		state = xstrdup(store_col_text(s, 0));
	sqlite3_reset(s);
	s = store_stmt(st, "SELECT d.job_id FROM job_deps d JOIN jobs c "
	    "ON c.id = d.job_id WHERE d.parent_id = ? AND c.ended_at IS NULL");
	if (s == NULL) {
		free(state);
		return -1;
	}
	sqlite3_bind_int64(s, 1, job);
	while (store_step(st, s) == SQLITE_ROW) {
		ALLOC_GROW(kids, n + 1, alloc);
		kids[n++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (state && strcmp(state, "SUCCEEDED") == 0) {
			rc = promote(st, kids[i]);
			if (rc == 0)
				rc = refresh(st, kids[i]);
		} else {
			char *m = xasprintf("job %" PRId64 " it runs after "
			    "ended %s", job, state ? state : "?");
			rc = fail_whole_job(st, kids[i], m);
			free(m);
		}
	}
	free(kids);
	free(state);
	return rc;
}

/* ---- submit ---- */

int
queue_submit(struct store *st, const struct queue_job_spec *js, int64_t *id,
    char **err)
{
	sqlite3_stmt *s;
	int64_t total = 0, now = store_now_ms(), jid;
	char *nc;
	int waiting = 0;

	for (size_t i = 0; i < js->nsteps; i++)
		total += js->steps[i].task_count;
	if (store_begin(st) == -1) {
		*err = xasprintf("cannot write the store: %s", store_errmsg(st));
		return -1;
	}
	for (size_t i = 0; i < js->nafter; i++) {
		if (!queue_job_exists(st, js->after[i])) {
			*err = xasprintf("no job %" PRId64 " to run after",
			    js->after[i]);
			return fail_tx(st);
		}
	}
	s = store_stmt(st, "INSERT INTO jobs(name, job, params, source, "
	    "submitter, cwd, priority, on_error, max_retries, max_failed, "
	    "paused, task_count, state, reason, submitted_at, on_complete) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'PENDING', "
	    "'SUBMITTED', ?, ?)");
	if (s == NULL)
		goto sqlfail;
	sqlite3_bind_text(s, 1, js->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, js->job_json, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, js->params_json ? js->params_json : "{}", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(s, 4, js->source, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, js->submitter ? js->submitter : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(s, 6, js->cwd, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 7, js->priority);
	sqlite3_bind_text(s, 8, queue_on_error_name(js->on_error), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int(s, 9, js->max_retries);
	sqlite3_bind_int(s, 10, js->max_failed);
	sqlite3_bind_int(s, 11, js->paused ? 1 : 0);
	sqlite3_bind_int64(s, 12, total);
	sqlite3_bind_int64(s, 13, now);
	sqlite3_bind_text(s, 14, js->on_complete, -1, SQLITE_STATIC);
	if (store_step_done(st, s) == -1)
		goto sqlfail;
	jid = sqlite3_last_insert_rowid(st->db);

	for (size_t i = 0; i < js->nafter; i++) {
		s = store_stmt(st, "INSERT OR IGNORE INTO job_deps(job_id, "
		    "parent_id) VALUES (?, ?)");
		if (s == NULL)
			goto sqlfail;
		sqlite3_bind_int64(s, 1, jid);
		sqlite3_bind_int64(s, 2, js->after[i]);
		if (store_step_done(st, s) == -1)
			goto sqlfail;
	}
	waiting = js->nafter > 0;

	/* steps that cannot run here, and the steps that depend on them */
	nc = xcalloc(js->nsteps ? js->nsteps : 1, 1);
	for (int changed = 1; changed;) {
		changed = 0;
		for (size_t i = 0; i < js->nsteps; i++) {
			if (nc[i])
				continue;
			if (js->steps[i].incompatible)
				nc[i] = changed = 1;
			for (size_t d = 0; d < js->steps[i].ndeps && !nc[i]; d++) {
				int k = js->steps[i].deps[d];

				if (k >= 0 && (size_t)k < js->nsteps && nc[k])
					nc[i] = 2, changed = 1;
			}
		}
	}
	for (size_t i = 0; i < js->nsteps; i++) {
		const struct queue_step_spec *q = &js->steps[i];
		struct buf deps = BUF_INIT, sql = BUF_INIT;
		char *m = NULL;
		enum task_state init;

		if (nc[i])
			init = TASK_NOT_COMPATIBLE;
		else if (js->paused)
			init = TASK_SUSPENDED;
		else if (q->ndeps || waiting)
			init = TASK_PENDING;
		else
			init = TASK_READY;
		buf_addch(&deps, '[');
		for (size_t d = 0; d < q->ndeps; d++)
			buf_addf(&deps, "%s%d", d ? "," : "", q->deps[d]);
		buf_addch(&deps, ']');
		buf_addf(&sql, "INSERT INTO steps(job_id, idx, name, deps, "
		    "task_count, implicit, n_%s, state, reason, message) "
		    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
		    task_state_column(init));
		s = store_stmt(st, sql.s);
		buf_release(&sql);
		if (s == NULL) {
			buf_release(&deps);
			free(nc);
			goto sqlfail;
		}
		if (nc[i] == 1)
			m = xstrdup(q->incompatible);
		else if (nc[i] == 2)
			m = xstrdup("depends on a step that cannot run on "
			    "this host");
		sqlite3_bind_int64(s, 1, jid);
		sqlite3_bind_int(s, 2, (int)i);
		sqlite3_bind_text(s, 3, q->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, deps.s, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 5, q->task_count);
		sqlite3_bind_text(s, 6, task_state_name(init), -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(s, 7, q->task_count);
		sqlite3_bind_text(s, 8, task_state_name(init), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(s, 9, nc[i] ? "NOT_COMPATIBLE" : "", -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(s, 10, m ? m : "", -1, SQLITE_STATIC);
		if (store_step_done(st, s) == -1 || state_event(st, jid, (int)i, -1, NULL,
		    task_state_name(init), nc[i] ? REASON_NOT_COMPATIBLE :
		    REASON_SUBMITTED, m) == -1) {
			free(m);
			buf_release(&deps);
			free(nc);
			goto sqlfail;
		}
		if (nc[i] && state_job_set_failure(st, jid,
		    REASON_NOT_COMPATIBLE, m) == -1) {
			free(m);
			buf_release(&deps);
			free(nc);
			goto sqlfail;
		}
		free(m);
		buf_release(&deps);
	}
	free(nc);
	if (state_event(st, jid, -1, -1, NULL, NULL, REASON_SUBMITTED,
	    js->name) == -1)
		goto sqlfail;
	/* parents that already ended */
	if (waiting) {
		s = store_stmt(st, "SELECT p.id, p.state FROM job_deps d JOIN "
		    "jobs p ON p.id = d.parent_id WHERE d.job_id = ? AND "
		    "p.ended_at IS NOT NULL AND p.state <> 'SUCCEEDED' LIMIT 1");
		if (s == NULL)
			goto sqlfail;
		sqlite3_bind_int64(s, 1, jid);
		if (store_step(st, s) == SQLITE_ROW) {
			char *m = xasprintf("job %" PRId64 " it runs after "
			    "ended %s", (int64_t)sqlite3_column_int64(s, 0),
			    store_col_text(s, 1));

			sqlite3_reset(s);
			if (fail_whole_job(st, jid, m) == -1) {
				free(m);
				goto sqlfail;
			}
			free(m);
		} else
			sqlite3_reset(s);
	}
	if (promote(st, jid) == -1 || refresh(st, jid) == -1)
		goto sqlfail;
	if (store_commit(st) == -1) {
		*err = xasprintf("cannot commit the job: %s", store_errmsg(st));
		return -1;
	}
	*id = jid;
	return 0;
sqlfail:
	*err = xasprintf("cannot store the job: %s", store_errmsg(st));
	return fail_tx(st);
}

/* ---- dispatch and results ---- */

/*
 * The next READY task of (job, step): a row first (retried tasks), then
 * the next task without a row (the step's cursor moves past it).  1 with
 * *task, 0 if there is none, -1 on error; inside a transaction.
 */
static int
claim_next(struct store *st, int64_t job, int step, int64_t *task)
{
	sqlite3_stmt *s;
	int64_t idx = -1, cursor = 0, count = 0, nrows = 0;
	const char *implicit;
	int ready_implicit = 0;

	s = store_stmt(st, "SELECT idx FROM tasks INDEXED BY tasks_state "
	    "WHERE state = 'READY' AND "
	    "state <> 'SUCCEEDED' AND job_id = ? AND step = ? ORDER BY idx "
	    "LIMIT 1");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	if (store_step(st, s) == SQLITE_ROW)
		idx = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	if (idx >= 0) {
		*task = idx;
		return 1;
	}
	s = store_stmt(st, "SELECT implicit, cursor, task_count, n_rows "
	    "FROM steps WHERE job_id = ? AND idx = ?");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	if (store_step(st, s) == SQLITE_ROW) {
		implicit = store_col_text(s, 0);
		ready_implicit = strcmp(implicit, "READY") == 0;
		cursor = sqlite3_column_int64(s, 1);
		count = sqlite3_column_int64(s, 2);
		nrows = sqlite3_column_int64(s, 3);
	}
	sqlite3_reset(s);
	if (!ready_implicit || nrows >= count)
		return 0;
	/* skip tasks that got a row of their own */
	s = store_stmt(st, "SELECT 1 FROM tasks WHERE job_id = ? AND "
	    "step = ? AND idx = ?");
	if (s == NULL)
		return -1;
	for (;; cursor++) {
		int rc;

		sqlite3_reset(s);
		sqlite3_bind_int64(s, 1, job);
		sqlite3_bind_int(s, 2, step);
		sqlite3_bind_int64(s, 3, cursor);
		rc = store_step(st, s);
		if (rc == SQLITE_DONE)
			break;
		if (rc != SQLITE_ROW) {
			sqlite3_reset(s);
			return -1;
		}
	}
	sqlite3_reset(s);
	if (cursor >= count) {
		log_error("internal error: step %" PRId64 "/%d counts "
		    "disagree with its rows", job, step);
		return -1;
	}
	s = store_stmt(st, "UPDATE steps SET cursor = ? WHERE "
	    "job_id = ? AND idx = ?");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, cursor + 1);
	sqlite3_bind_int64(s, 2, job);
	sqlite3_bind_int(s, 3, step);
	if (store_step_done(st, s) == -1)
		return -1;
	*task = cursor;
	return 1;
}

/* A new attempt row for a task that is about to run; *attempt its id. */
static int
attempt_open(struct store *st, int64_t job, int step, int64_t task,
    int64_t session, const char *log_path, int64_t log_offset,
    int64_t *attempt)
{
	sqlite3_stmt *s;
	int n = 0;

	s = store_stmt(st, "SELECT coalesce(max(attempt), 0) FROM attempts "
	    "WHERE job_id = ? AND step = ? AND task = ?");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	if (store_step(st, s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	s = store_stmt(st, "INSERT INTO attempts(job_id, step, task, attempt, "
	    "session_id, state, started_at, log_path, log_offset) VALUES "
	    "(?, ?, ?, ?, ?, 'RUNNING', ?, ?, CASE WHEN ?8 >= 0 THEN ?8 END)");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	sqlite3_bind_int(s, 4, n + 1);
	sqlite3_bind_int64(s, 5, session);
	sqlite3_bind_int64(s, 6, store_now_ms());
	sqlite3_bind_text(s, 7, log_path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 8, log_offset);
	if (store_step_done(st, s) == -1)
		return -1;
	*attempt = sqlite3_last_insert_rowid(st->db);
	return 0;
}

int
queue_task_start(struct store *st, int64_t job, int step, int64_t task,
    int64_t session, const char *log_path, int64_t log_offset,
    int64_t *attempt)
{
	sqlite3_stmt *s;
	int cur;
	int64_t holder = -1;

	if (store_begin(st) == -1)
		return -1;
	s = store_stmt(st, "SELECT state, session_id FROM tasks WHERE "
	    "job_id = ? AND step = ? AND idx = ?");
	if (s == NULL)
		return fail_tx(st);
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	cur = -1;
	if (store_step(st, s) == SQLITE_ROW) {
		cur = task_state_parse(store_col_text(s, 0));
		holder = sqlite3_column_int64(s, 1);
	}
	sqlite3_reset(s);
	if (cur != TASK_ASSIGNED || holder != session) {
		store_commit(st);
		return 1;
	}
	/* (the move to RUNNING counts the attempt in tasks.attempts) */
	if (attempt_open(st, job, step, task, session, log_path, log_offset,
	    attempt) == -1 ||
	    state_task_move(st, job, step, task, TASK_RUNNING, REASON_NONE,
	    NULL, session) == -1 || refresh(st, job) == -1)
		return fail_tx(st);
	return store_commit(st);
}

/*
 * queue_claim() and queue_claim_start(): the next READY task moves to
 * ASSIGNED, or with start straight to RUNNING with a new attempt whose
 * output starts at log_offset in log_path.
 */
static int
claim(struct store *st, int64_t job, int step, int64_t session, int start,
    const char *log_path, int64_t log_offset, int64_t *task,
    int64_t *attempt)
{
	int64_t idx;
	int rc;

	if (store_begin(st) == -1)
		return -1;
	rc = claim_next(st, job, step, &idx);
	if (rc == -1)
		return fail_tx(st);
	if (rc == 0) {
		store_commit(st);
		return 0;
	}
	if (start ? attempt_open(st, job, step, idx, session, log_path,
	    log_offset, attempt) == -1 ||
	    state_task_move(st, job, step, idx, TASK_RUNNING,
	    REASON_DISPATCHED, NULL, session) == -1 :
	    state_task_move(st, job, step, idx, TASK_ASSIGNED,
	    REASON_DISPATCHED, NULL, session) == -1)
		return fail_tx(st);
	if (refresh(st, job) == -1)
		return fail_tx(st);
	if (store_commit(st) == -1)
		return -1;
	*task = idx;
	return 1;
}

int
queue_claim(struct store *st, int64_t job, int step, int64_t session,
    int64_t *task)
{
	return claim(st, job, step, session, 0, NULL, -1, task, NULL);
}

int
queue_claim_start(struct store *st, int64_t job, int step, int64_t session,
    const char *log_path, int64_t log_offset, int64_t *task,
    int64_t *attempt)
{
	return claim(st, job, step, session, 1, log_path, log_offset, task,
	    attempt);
}

int
queue_attempt_number(struct store *st, int64_t attempt)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT attempt FROM attempts "
	    "WHERE id = ?");
	int n = -1;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, attempt);
	if (store_step(st, s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return n;
}

int
queue_attempt_set_log(struct store *st, int64_t attempt, const char *path)
{
	sqlite3_stmt *s = store_stmt(st, "UPDATE attempts SET log_path = ? "
	    "WHERE id = ?");

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, path, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, attempt);
	return store_step_done(st, s);
}

int
queue_attempt_pgid(struct store *st, int64_t attempt, long pgid)
{
	sqlite3_stmt *s = store_stmt(st, "UPDATE attempts SET pgid = ? "
	    "WHERE id = ?");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, pgid);
	sqlite3_bind_int64(s, 2, attempt);
	return store_step_done(st, s);
}

int
queue_attempt_progress(struct store *st, int64_t attempt, double progress,
    const char *status)
{
	sqlite3_stmt *s = store_stmt(st, "UPDATE attempts SET "
	    "progress = CASE WHEN ?1 >= 0 THEN ?1 ELSE progress END, "
	    "status = coalesce(?2, status) WHERE id = ?3");

	if (s == NULL)
		return -1;
	sqlite3_bind_double(s, 1, progress);
	sqlite3_bind_text(s, 2, status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, attempt);
	return store_step_done(st, s);
}

char *
queue_task_cancel_reason(struct store *st, int64_t job, int step,
    int64_t task)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT cancel FROM tasks WHERE "
	    "job_id = ? AND step = ? AND idx = ? AND cancel IS NOT NULL");
	char *r = NULL;

	if (s == NULL)
		return NULL;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	if (store_step(st, s) == SQLITE_ROW)
		r = xstrdup(store_col_text(s, 0));
	sqlite3_reset(s);
	return r;
}

/* A task failed for good: the job's on-error policy. */
static int
apply_failure(struct store *st, struct qjob *j, int step, int64_t task,
    enum state_reason why, const char *msg)
{
	char *m = xasprintf("task %s/%" PRId64 " failed%s%s",
	    j->steps[step].name, task, msg && *msg ? ": " : "",
	    msg ? msg : "");
	int64_t failed = 0;
	int quit = j->on_error != QUEUE_ON_ERROR_CONTINUE;
	sqlite3_stmt *s;

	if (state_job_set_failure(st, j->id, why, m) == -1)
		goto fail;
	for (size_t i = 0; i < j->nsteps; i++)
		failed += j->steps[i].n[TASK_FAILED];
	if (j->max_failed > 0 && failed + 1 >= j->max_failed)
		quit = 1;
	if (quit) {
		enum state_reason r = j->on_error == QUEUE_ON_ERROR_TERMINATE ?
		    REASON_JOB_TERMINATED : REASON_JOB_QUIT;

		if (state_job_move(st, j->id, NOT_STARTED, TASK_CANCELED, r,
		    m) < 0)
			goto fail;
		if (j->on_error == QUEUE_ON_ERROR_TERMINATE) {
			s = store_stmt(st, "UPDATE tasks SET cancel = ? WHERE "
			    "job_id = ? AND state = 'RUNNING'");
			if (s == NULL)
				goto fail;
			sqlite3_bind_text(s, 1, state_reason_code(r), -1,
			    SQLITE_STATIC);
			sqlite3_bind_int64(s, 2, j->id);
			if (store_step_done(st, s) == -1)
				goto fail;
			s = store_stmt(st, "UPDATE jobs SET terminate = 1 "
			    "WHERE id = ?");
			if (s == NULL)
				goto fail;
			sqlite3_bind_int64(s, 1, j->id);
			if (store_step_done(st, s) == -1)
				goto fail;
		}
	} else {
		char *mark = xcalloc(j->nsteps, 1);
		char *dm = xasprintf("step '%s' failed", j->steps[step].name);

		dependants(j, step, mark);
		for (size_t i = 0; i < j->nsteps; i++) {
			if (mark[i] != 2)
				continue;
			if (state_step_move(st, j->id, (int)i,
			    STATE_BIT(TASK_PENDING) | STATE_BIT(TASK_SUSPENDED),
			    TASK_FAILED, REASON_DEPENDENCY_FAILED, dm) < 0) {
				free(mark);
				free(dm);
				goto fail;
			}
		}
		free(mark);
		free(dm);
	}
	free(m);
	return 0;
fail:
	free(m);
	return -1;
}

/* After a task moved to FAILED: retry or apply the policy. */
static int
after_failure(struct store *st, int64_t job, int step, int64_t task,
    enum state_reason why, const char *msg)
{
	struct qjob j;
	sqlite3_stmt *s;
	int attempts = 0, rc = 0;

	if (qjob_load(st, job, &j) == -1 || (size_t)step >= j.nsteps)
		return -1;
	s = store_stmt(st, "SELECT attempts FROM tasks WHERE job_id = ? AND "
	    "step = ? AND idx = ?");
	if (s == NULL) {
		qjob_release(&j);
		return -1;
	}
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	if (store_step(st, s) == SQLITE_ROW)
		attempts = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	if (attempts <= j.max_retries && j.state != TASK_CANCELED) {
		char *m = xasprintf("attempt %d of %d", attempts + 1,
		    j.max_retries + 1);

		rc = state_task_move(st, job, step, task, TASK_READY,
		    REASON_RETRY, m, -1);
		if (rc == 0 && j.paused)
			rc = state_task_move(st, job, step, task,
			    TASK_SUSPENDED, REASON_PAUSED, NULL, -1);
		free(m);
	} else
		rc = apply_failure(st, &j, step, task, why, msg);
	qjob_release(&j);
	return rc;
}

int
queue_task_end(struct store *st, int64_t job, int step, int64_t task,
    int64_t attempt, const struct queue_result *r)
{
	sqlite3_stmt *s;
	char *msg = NULL;
	enum state_reason why = r->reason;

	if (store_begin(st) == -1)
		return -1;
	if (why == REASON_NONE)
		why = r->state == TASK_SUCCEEDED ? REASON_SUCCEEDED :
		    r->state == TASK_CANCELED ? REASON_CANCELED_BY_USER :
		    REASON_NONZERO_EXIT;
	if (r->message)
		msg = xstrdup(r->message);
	else if (r->state == TASK_FAILED && r->fail_message)
		msg = xstrdup(r->fail_message);
	else if (r->state == TASK_FAILED && r->exit_code >= 0)
		msg = xasprintf("exit code %d", r->exit_code);
	s = store_stmt(st, "UPDATE attempts SET state = ?1, exit_code = ?2, "
	    "fail_message = coalesce(?3, fail_message), reason = ?4, "
	    "ended_at = ?5, log_length = CASE WHEN ?7 >= 0 THEN ?7 END "
	    "WHERE id = ?6 AND ended_at IS NULL");
	if (s == NULL)
		goto fail;
	sqlite3_bind_text(s, 1, task_state_name(r->state), -1, SQLITE_STATIC);
	if (r->exit_code >= 0)
		sqlite3_bind_int(s, 2, r->exit_code);
	else
		sqlite3_bind_null(s, 2);
	sqlite3_bind_text(s, 3, r->fail_message, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, state_reason_code(why), -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, store_now_ms());
	sqlite3_bind_int64(s, 6, attempt);
	sqlite3_bind_int64(s, 7, r->log_length);
	if (store_step_done(st, s) == -1)
		goto fail;
	if (sqlite3_changes(st->db) == 0) {
		/* already recorded: a result is written exactly once */
		free(msg);
		return store_commit(st) == 0 ? 1 : -1;
	}
	if (state_task_move(st, job, step, task, r->state, why, msg, -1) == -1)
		goto fail;
	if (r->state == TASK_SUCCEEDED) {
		/* dependants can only become ready when this step is done */
		s = store_stmt(st, "SELECT n_succeeded = task_count FROM steps "
		    "WHERE job_id = ? AND idx = ?");
		if (s == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, job);
		sqlite3_bind_int(s, 2, step);
		if (store_step(st, s) == SQLITE_ROW && sqlite3_column_int(s, 0)) {
			sqlite3_reset(s);
			if (promote(st, job) == -1)
				goto fail;
		} else
			sqlite3_reset(s);
	} else if (r->state == TASK_FAILED) {
		if (after_failure(st, job, step, task, why, msg) == -1)
			goto fail;
	} else if (r->state == TASK_CANCELED && why == REASON_KILLED_BY_ADMIN) {
		/* drover stop --now: the work is requeued, not lost */
		if (state_task_move(st, job, step, task, TASK_READY,
		    REASON_REQUEUED, "daemon stopped", -1) == -1)
			goto fail;
	}
	if (refresh(st, job) == -1)
		goto fail;
	free(msg);
	return store_commit(st);
fail:
	free(msg);
	return fail_tx(st);
}

int
queue_task_fail_assigned(struct store *st, int64_t job, int step,
    int64_t task, int64_t session, enum state_reason why, const char *msg)
{
	int64_t attempt;
	struct queue_result r = { TASK_FAILED, -1, NULL, why, msg, -1 };
	int rc;

	if (store_begin(st) == -1)
		return -1;
	rc = queue_task_start(st, job, step, task, session, NULL, -1, &attempt);
	if (rc == 1) {
		store_commit(st);
		return 0;
	}
	if (rc == -1 || queue_task_end(st, job, step, task, attempt, &r) < 0)
		return fail_tx(st);
	return store_commit(st);
}

/* ---- user operations ---- */

static int
job_check(struct store *st, int64_t job, char **err)
{
	if (!queue_job_exists(st, job)) {
		*err = xasprintf("no job %" PRId64, job);
		return -1;
	}
	return 0;
}

static int
collect_sessions(struct store *st, sqlite3_stmt *s, int64_t **out, size_t *n)
{
	size_t alloc = 0;

	while (store_step(st, s) == SQLITE_ROW) {
		int64_t v = sqlite3_column_int64(s, 0);
		size_t i;

		for (i = 0; i < *n; i++)
			if ((*out)[i] == v)
				break;
		if (i < *n)
			continue;
		if (*n >= alloc) {
			alloc = alloc ? alloc * 2 : 8;
			*out = xreallocarray(*out, alloc, sizeof(int64_t));
		}
		(*out)[(*n)++] = v;
	}
	sqlite3_reset(s);
	return 0;
}

int64_t
queue_cancel(struct store *st, int64_t job, int step, int64_t task,
    enum state_reason why, const char *msg, int64_t **sessions,
    size_t *nsessions, char **err)
{
	sqlite3_stmt *s;
	int64_t moved = 0, k;
	struct qjob j;

	*sessions = NULL;
	*nsessions = 0;
	if (store_begin(st) == -1) {
		*err = xasprintf("cannot write the store: %s", store_errmsg(st));
		return -1;
	}
	if (job_check(st, job, err) == -1 || qjob_load(st, job, &j) == -1) {
		if (!*err)
			*err = xasprintf("cannot read job %" PRId64, job);
		return fail_tx(st);
	}
	if (step >= 0 && (size_t)step >= j.nsteps) {
		*err = xasprintf("job %" PRId64 " has no step %d", job, step);
		qjob_release(&j);
		return fail_tx(st);
	}
	if (task >= 0 && task >= j.steps[step].task_count) {
		*err = xasprintf("step '%s' has no task %" PRId64,
		    j.steps[step].name, task);
		qjob_release(&j);
		return fail_tx(st);
	}
	if (step < 0 && state_job_set_failure(st, job, why, msg) == -1)
		goto sqlfail;
	for (size_t i = 0; i < j.nsteps; i++) {
		if (step >= 0 && (int)i != step)
			continue;
		if (task >= 0) {
			int cur = state_task_get(st, job, (int)i, task);

			if (cur >= 0 && (NOT_STARTED & STATE_BIT(cur))) {
				if (state_task_move(st, job, (int)i, task,
				    TASK_CANCELED, why, msg, -1) == -1)
					goto sqlfail;
				moved++;
			}
			continue;
		}
		if ((k = state_step_move(st, job, (int)i, NOT_STARTED,
		    TASK_CANCELED, why, msg)) < 0)
			goto sqlfail;
		moved += k;
	}
	/* running tasks: ask their sessions */
	s = store_stmt(st, "UPDATE tasks SET cancel = ?4 WHERE job_id = ?1 AND "
	    "state = 'RUNNING' AND (?2 < 0 OR step = ?2) AND "
	    "(?3 < 0 OR idx = ?3)");
	if (s == NULL)
		goto sqlfail;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	sqlite3_bind_text(s, 4, state_reason_code(why), -1, SQLITE_STATIC);
	if (store_step_done(st, s) == -1)
		goto sqlfail;
	moved += sqlite3_changes(st->db);
	s = store_stmt(st, "SELECT session_id FROM tasks WHERE job_id = ?1 AND "
	    "state = 'RUNNING' AND (?2 < 0 OR step = ?2) AND "
	    "(?3 < 0 OR idx = ?3) AND session_id IS NOT NULL");
	if (s == NULL)
		goto sqlfail;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	collect_sessions(st, s, sessions, nsessions);
	if (refresh(st, job) == -1)
		goto sqlfail;
	qjob_release(&j);
	if (store_commit(st) == -1) {
		*err = xasprintf("cannot commit: %s", store_errmsg(st));
		free(*sessions);
		*sessions = NULL;
		*nsessions = 0;
		return -1;
	}
	return moved;
sqlfail:
	qjob_release(&j);
	free(*sessions);
	*sessions = NULL;
	*nsessions = 0;
	*err = xasprintf("cannot cancel: %s", store_errmsg(st));
	return fail_tx(st);
}

int
queue_cancel_running(struct store *st, enum state_reason why,
    int64_t **sessions, size_t *nsessions)
{
	sqlite3_stmt *s;

	*sessions = NULL;
	*nsessions = 0;
	if (store_begin(st) == -1)
		return -1;
	s = store_stmt(st, "UPDATE tasks SET cancel = ? WHERE state = 'RUNNING' "
	    "AND state <> 'SUCCEEDED'");
	if (s == NULL)
		return fail_tx(st);
	sqlite3_bind_text(s, 1, state_reason_code(why), -1, SQLITE_STATIC);
	if (store_step_done(st, s) == -1)
		return fail_tx(st);
	s = store_stmt(st, "SELECT session_id FROM tasks WHERE state = "
	    "'RUNNING' AND state <> 'SUCCEEDED' AND session_id IS NOT NULL");
	if (s == NULL)
		return fail_tx(st);
	collect_sessions(st, s, sessions, nsessions);
	return store_commit(st);
}

static int
set_paused(struct store *st, int64_t job, int paused)
{
	sqlite3_stmt *s = store_stmt(st, "UPDATE jobs SET paused = ? WHERE id = ?");

	if (s == NULL)
		return -1;
	sqlite3_bind_int(s, 1, paused);
	sqlite3_bind_int64(s, 2, job);
	return store_step_done(st, s);
}

int
queue_pause(struct store *st, int64_t job, char **err)
{
	if (store_begin(st) == -1) {
		*err = xasprintf("cannot write the store: %s", store_errmsg(st));
		return -1;
	}
	if (job_check(st, job, err) == -1)
		return fail_tx(st);
	if (set_paused(st, job, 1) == -1 ||
	    state_job_move(st, job, STATE_BIT(TASK_PENDING) |
	    STATE_BIT(TASK_READY), TASK_SUSPENDED, REASON_PAUSED, NULL) < 0 ||
	    state_event(st, job, -1, -1, NULL, NULL, REASON_PAUSED, NULL) == -1 ||
	    refresh(st, job) == -1) {
		*err = xasprintf("cannot pause job %" PRId64 ": %s", job,
		    store_errmsg(st));
		return fail_tx(st);
	}
	return store_commit(st);
}

int
queue_resume(struct store *st, int64_t job, char **err)
{
	if (store_begin(st) == -1) {
		*err = xasprintf("cannot write the store: %s", store_errmsg(st));
		return -1;
	}
	if (job_check(st, job, err) == -1)
		return fail_tx(st);
	if (set_paused(st, job, 0) == -1 ||
	    state_job_move(st, job, STATE_BIT(TASK_SUSPENDED), TASK_PENDING,
	    REASON_RESUMED, NULL) < 0 ||
	    state_event(st, job, -1, -1, NULL, NULL, REASON_RESUMED, NULL) == -1 ||
	    promote(st, job) == -1 || refresh(st, job) == -1) {
		*err = xasprintf("cannot resume job %" PRId64 ": %s", job,
		    store_errmsg(st));
		return fail_tx(st);
	}
	return store_commit(st);
}

int64_t
queue_retry(struct store *st, int64_t job, int failed_only, char **err)
{
	unsigned mask = STATE_BIT(TASK_FAILED);
	sqlite3_stmt *s;
	int64_t n;

	if (!failed_only)
		mask |= STATE_BIT(TASK_CANCELED) | STATE_BIT(TASK_NOT_COMPATIBLE);
	if (store_begin(st) == -1) {
		*err = xasprintf("cannot write the store: %s", store_errmsg(st));
		return -1;
	}
	if (job_check(st, job, err) == -1)
		return fail_tx(st);
	s = store_stmt(st, "UPDATE jobs SET fail_reason = NULL, fail_message "
	    "= NULL, terminate = 0, hook_state = 0 WHERE id = ?");
	if (s == NULL)
		goto sqlfail;
	sqlite3_bind_int64(s, 1, job);
	if (store_step_done(st, s) == -1)
		goto sqlfail;
	s = store_stmt(st, "UPDATE steps SET reason = '', message = '' "
	    "WHERE job_id = ?");
	if (s == NULL)
		goto sqlfail;
	sqlite3_bind_int64(s, 1, job);
	if (store_step_done(st, s) == -1)
		goto sqlfail;
	s = store_stmt(st, "UPDATE tasks SET attempts = 0 WHERE job_id = ? "
	    "AND state IN ('FAILED', 'CANCELED', 'NOT_COMPATIBLE')");
	if (s == NULL)
		goto sqlfail;
	sqlite3_bind_int64(s, 1, job);
	if (store_step_done(st, s) == -1)
		goto sqlfail;
	if ((n = state_job_move(st, job, mask, TASK_PENDING, REASON_REQUEUED,
	    NULL)) < 0)
		goto sqlfail;
	s = store_stmt(st, "SELECT paused FROM jobs WHERE id = ?");
	if (s == NULL)
		goto sqlfail;
	sqlite3_bind_int64(s, 1, job);
	if (store_step(st, s) == SQLITE_ROW && sqlite3_column_int(s, 0)) {
		sqlite3_reset(s);
		if (state_job_move(st, job, STATE_BIT(TASK_PENDING),
		    TASK_SUSPENDED, REASON_PAUSED, NULL) < 0)
			goto sqlfail;
	} else
		sqlite3_reset(s);
	if (promote(st, job) == -1 || refresh(st, job) == -1)
		goto sqlfail;
	if (store_commit(st) == -1) {
		*err = xasprintf("cannot commit: %s", store_errmsg(st));
		return -1;
	}
	return n;
sqlfail:
	*err = xasprintf("cannot retry job %" PRId64 ": %s", job,
	    store_errmsg(st));
	return fail_tx(st);
}

static int
rm_one(struct store *st, int64_t job)
{
	sqlite3_stmt *s = store_stmt(st, "DELETE FROM events WHERE job_id = ?");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	if (store_step_done(st, s) == -1)
		return -1;
	s = store_stmt(st, "DELETE FROM jobs WHERE id = ?");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	return store_step_done(st, s);
}

int
queue_rm(struct store *st, int64_t job, int force, char **err)
{
	sqlite3_stmt *s;
	int final = 0, live = 0;

	if (store_begin(st) == -1) {
		*err = xasprintf("cannot write the store: %s", store_errmsg(st));
		return -1;
	}
	if (job_check(st, job, err) == -1)
		return fail_tx(st);
	s = store_stmt(st, "SELECT ended_at IS NOT NULL, (SELECT count(*) FROM "
	    "sessions WHERE job_id = ?1 AND state <> 'ENDED') FROM jobs "
	    "WHERE id = ?1");
	if (s == NULL)
		return fail_tx(st);
	sqlite3_bind_int64(s, 1, job);
	if (store_step(st, s) == SQLITE_ROW) {
		final = sqlite3_column_int(s, 0);
		live = sqlite3_column_int(s, 1);
	}
	sqlite3_reset(s);
	if (live || (!final && !force)) {
		*err = xasprintf("job %" PRId64 " has not ended; cancel it "
		    "first", job);
		return fail_tx(st);
	}
	if (rm_one(st, job) == -1) {
		*err = xasprintf("cannot remove job %" PRId64 ": %s", job,
		    store_errmsg(st));
		return fail_tx(st);
	}
	return store_commit(st);
}

int64_t
queue_gc(struct store *st, int64_t cutoff, int64_t **ids, size_t *n)
{
	sqlite3_stmt *s;
	size_t alloc = 0;

	*ids = NULL;
	*n = 0;
	if (store_begin(st) == -1)
		return -1;
	s = store_stmt(st, "SELECT id FROM jobs WHERE ended_at IS NOT NULL AND "
	    "ended_at < ? AND NOT EXISTS (SELECT 1 FROM sessions WHERE "
	    "job_id = jobs.id AND state <> 'ENDED')");
	if (s == NULL)
		return fail_tx(st);
	sqlite3_bind_int64(s, 1, cutoff);
	while (store_step(st, s) == SQLITE_ROW) {
		ALLOC_GROW(*ids, *n + 1, alloc);
		(*ids)[(*n)++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	for (size_t i = 0; i < *n; i++)
		if (rm_one(st, (*ids)[i]) == -1) {
			free(*ids);
			*ids = NULL;
			*n = 0;
			return fail_tx(st);
		}
	if (store_commit(st) == -1)
		return -1;
	return (int64_t)*n;
}

/* ---- sessions ---- */

int64_t
queue_session_new(struct store *st, int64_t job, int step, const char *host,
    const char *dir)
{
	sqlite3_stmt *s = store_stmt(st, "INSERT INTO sessions(job_id, step, "
	    "host, dir, started_at) VALUES (?, ?, ?, ?, ?)");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_text(s, 3, host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, dir, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, store_now_ms());
	if (store_step_done(st, s) == -1)
		return -1;
	return sqlite3_last_insert_rowid(st->db);
}

int
queue_session_set_proc(struct store *st, int64_t session, long pid,
    long pgid, int64_t proc_start)
{
	sqlite3_stmt *s = store_stmt(st, "UPDATE sessions SET pid = ?, "
	    "pgid = ?, proc_start = ? WHERE id = ?");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, pid);
	sqlite3_bind_int64(s, 2, pgid);
	sqlite3_bind_int64(s, 3, proc_start);
	sqlite3_bind_int64(s, 4, session);
	return store_step_done(st, s);
}

int
queue_session_running(struct store *st, int64_t session)
{
	sqlite3_stmt *s = store_stmt(st, "UPDATE sessions SET state = "
	    "'RUNNING' WHERE id = ? AND state = 'STARTING'");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, session);
	return store_step_done(st, s);
}

/*
 * The tasks a session holds (ASSIGNED or RUNNING), as "t", found through
 * tasks_state by the session's job and step: "FROM SESSION_TASKS ... WHERE
 * SESSION_TASKS_WHERE", binding the session id as ?1.  (CROSS JOIN keeps
 * the join order: the few held tasks first, never all the step's rows.)
 */
#define SESSION_TASKS "sessions x CROSS JOIN tasks t INDEXED BY tasks_state ON t.job_id = x.job_id AND " \
	"t.step = x.step AND t.state IN ('ASSIGNED', 'RUNNING') AND " \
	"t.state <> 'SUCCEEDED'"
#define SESSION_TASKS_WHERE "x.id = ?1 AND t.session_id = x.id"

int
queue_session_end(struct store *st, int64_t session, enum state_reason why,
    const char *msg)
{
	sqlite3_stmt *s;
	struct {
		int64_t job, task, attempt;
		int step, state;
	} *t = NULL;
	size_t n = 0, alloc = 0;
	int rc = 0;

	if (store_begin(st) == -1)
		return -1;
	s = store_stmt(st, "SELECT t.job_id, t.step, t.idx, t.state, "
	    "(SELECT max(a.id) FROM attempts a WHERE a.job_id = t.job_id AND "
	    "a.step = t.step AND a.task = t.idx AND a.ended_at IS NULL) "
	    "FROM " SESSION_TASKS " WHERE " SESSION_TASKS_WHERE);
	if (s == NULL)
		return fail_tx(st);
	sqlite3_bind_int64(s, 1, session);
	while (store_step(st, s) == SQLITE_ROW) {
		ALLOC_GROW(t, n + 1, alloc);
		t[n].job = sqlite3_column_int64(s, 0);
		t[n].step = sqlite3_column_int(s, 1);
		t[n].task = sqlite3_column_int64(s, 2);
		t[n].state = task_state_parse(store_col_text(s, 3));
		t[n].attempt = sqlite3_column_type(s, 4) == SQLITE_NULL ? -1 :
		    sqlite3_column_int64(s, 4);
		n++;
	}
	sqlite3_reset(s);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (t[i].state == TASK_ASSIGNED) {
			rc = state_task_move(st, t[i].job, t[i].step, t[i].task,
			    TASK_READY, REASON_REQUEUED, "its session ended",
			    -1);
			if (rc == 0)
				rc = promote(st, t[i].job);
			if (rc == 0)
				rc = refresh(st, t[i].job);
		} else if (t[i].attempt >= 0) {
			char *c = queue_task_cancel_reason(st, t[i].job,
			    t[i].step, t[i].task);
			struct queue_result r = { TASK_FAILED, -1, NULL, why,
			    msg, -1 };

			/* a cancel was asked: the lost task counts as canceled */
			if (c) {
				r.state = TASK_CANCELED;
				r.reason = state_reason_parse(c) >= 0 ?
				    state_reason_parse(c) :
				    REASON_CANCELED_BY_USER;
				free(c);
			}
			rc = queue_task_end(st, t[i].job, t[i].step, t[i].task,
			    t[i].attempt, &r) < 0 ? -1 : 0;
		} else {
			log_error("internal error: running task %" PRId64
			    "/%d/%" PRId64 " has no open attempt", t[i].job,
			    t[i].step, t[i].task);
			rc = -1;
		}
	}
	free(t);
	if (rc == -1)
		return fail_tx(st);
	s = store_stmt(st, "UPDATE sessions SET state = 'ENDED', ended_at = ?, "
	    "end_reason = ? WHERE id = ? AND state <> 'ENDED'");
	if (s == NULL)
		return fail_tx(st);
	sqlite3_bind_int64(s, 1, store_now_ms());
	sqlite3_bind_text(s, 2, msg ? msg : state_reason_code(why), -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, session);
	if (store_step_done(st, s) == -1)
		return fail_tx(st);
	return store_commit(st);
}

int
queue_sessions_live(struct store *st, struct queue_session_info **out,
    size_t *n)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT id, job_id, step, "
	    "coalesce(pid, 0), coalesce(pgid, 0), coalesce(proc_start, 0) "
	    "FROM sessions WHERE state <> 'ENDED' ORDER BY id");
	size_t alloc = 0;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while (store_step(st, s) == SQLITE_ROW) {
		ALLOC_GROW(*out, *n + 1, alloc);
		(*out)[*n].id = sqlite3_column_int64(s, 0);
		(*out)[*n].job = sqlite3_column_int64(s, 1);
		(*out)[*n].step = sqlite3_column_int(s, 2);
		(*out)[*n].pid = (long)sqlite3_column_int64(s, 3);
		(*out)[*n].pgid = (long)sqlite3_column_int64(s, 4);
		(*out)[*n].proc_start = sqlite3_column_int64(s, 5);
		(*n)++;
	}
	sqlite3_reset(s);
	return 0;
}

int
queue_session_action_pgids(struct store *st, int64_t session, long **pgids,
    size_t *n)
{
	/* an attempt is open while its task runs in the session */
	sqlite3_stmt *s = store_stmt(st, "SELECT a.pgid FROM " SESSION_TASKS
	    " CROSS JOIN attempts a ON a.job_id = t.job_id AND a.step = t.step "
	    "AND a.task = t.idx WHERE " SESSION_TASKS_WHERE " AND a.session_id = "
	    "x.id AND a.ended_at IS NULL AND a.pgid IS NOT NULL");
	size_t alloc = 0;

	*pgids = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, session);
	while (store_step(st, s) == SQLITE_ROW) {
		ALLOC_GROW(*pgids, *n + 1, alloc);
		(*pgids)[(*n)++] = (long)sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	return 0;
}

int
queue_candidates(struct store *st, struct queue_candidate **out, size_t *n,
    size_t max)
{
	/* a job with a task that can still run has not ended */
	sqlite3_stmt *s = store_stmt(st, "SELECT s.job_id, s.idx, j.priority, "
	    "s.n_ready FROM jobs j JOIN steps s ON s.job_id = j.id "
	    "WHERE j.ended_at IS NULL AND s.n_ready > 0 AND j.paused = 0 AND "
	    "j.terminate = 0 ORDER BY j.priority DESC, j.id, s.idx LIMIT ?");
	size_t alloc = 0;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, (int64_t)max);
	while (store_step(st, s) == SQLITE_ROW) {
		ALLOC_GROW(*out, *n + 1, alloc);
		(*out)[*n].job = sqlite3_column_int64(s, 0);
		(*out)[*n].step = sqlite3_column_int(s, 1);
		(*out)[*n].priority = sqlite3_column_int(s, 2);
		(*out)[*n].ready = sqlite3_column_int64(s, 3);
		(*n)++;
	}
	sqlite3_reset(s);
	return 0;
}

int
queue_higher_waiting(struct store *st, int priority)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT 1 FROM jobs j JOIN steps s "
	    "ON s.job_id = j.id WHERE j.ended_at IS NULL AND s.n_ready > 0 AND "
	    "j.paused = 0 AND j.terminate = 0 AND j.priority > ? LIMIT 1");
	int r = 0;

	if (s == NULL)
		return 0;
	sqlite3_bind_int(s, 1, priority);
	r = store_step(st, s) == SQLITE_ROW;
	sqlite3_reset(s);
	return r;
}

int
queue_terminating_sessions(struct store *st, int64_t **sessions, size_t *n)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT t.session_id FROM tasks t "
	    "WHERE t.state = 'RUNNING' AND t.state <> 'SUCCEEDED' AND "
	    "t.cancel IS NOT NULL AND "
	    "t.session_id IS NOT NULL");

	*sessions = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	return collect_sessions(st, s, sessions, n);
}

int
queue_hooks_due(struct store *st, int64_t **ids, size_t *n)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT id FROM jobs WHERE "
	    "hook_state = 1 ORDER BY id");
	size_t alloc = 0;

	*ids = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	while (store_step(st, s) == SQLITE_ROW) {
		ALLOC_GROW(*ids, *n + 1, alloc);
		(*ids)[(*n)++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	return 0;
}

int
queue_hook_done(struct store *st, int64_t job)
{
	sqlite3_stmt *s = store_stmt(st, "UPDATE jobs SET hook_state = 2 "
	    "WHERE id = ?");

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	return store_step_done(st, s);
}

int
queue_step_incompatible(struct store *st, int64_t job, int step,
    const char *why)
{
	struct qjob j;
	char *mark, *dm;
	int rc = 0;

	if (store_begin(st) == -1)
		return -1;
	if (qjob_load(st, job, &j) == -1 || (size_t)step >= j.nsteps) {
		qjob_release(&j);
		return fail_tx(st);
	}
	mark = xcalloc(j.nsteps, 1);
	dependants(&j, step, mark);
	dm = xasprintf("depends on step '%s', which cannot run on this host",
	    j.steps[step].name);
	if (state_job_set_failure(st, job, REASON_NOT_COMPATIBLE, why) == -1)
		rc = -1;
	for (size_t i = 0; i < j.nsteps && rc == 0; i++) {
		sqlite3_stmt *s;

		if (!mark[i])
			continue;
		if (state_step_move(st, job, (int)i, STATE_BIT(TASK_READY) |
		    STATE_BIT(TASK_PENDING), TASK_NOT_COMPATIBLE,
		    REASON_NOT_COMPATIBLE, mark[i] == 1 ? why : dm) < 0) {
			rc = -1;
			break;
		}
		s = store_stmt(st, "UPDATE steps SET reason = 'NOT_COMPATIBLE', "
		    "message = ? WHERE job_id = ? AND idx = ?");
		if (s == NULL) {
			rc = -1;
			break;
		}
		sqlite3_bind_text(s, 1, mark[i] == 1 ? why : dm, -1,
		    SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, job);
		sqlite3_bind_int(s, 3, (int)i);
		rc = store_step_done(st, s);
	}
	free(mark);
	free(dm);
	qjob_release(&j);
	if (rc == -1 || refresh(st, job) == -1)
		return fail_tx(st);
	return store_commit(st);
}

/* ---- reading ---- */

int
queue_job_exists(struct store *st, int64_t job)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT 1 FROM jobs WHERE id = ?");
	int r;

	if (s == NULL)
		return 0;
	sqlite3_bind_int64(s, 1, job);
	r = store_step(st, s) == SQLITE_ROW;
	sqlite3_reset(s);
	return r;
}

char *
queue_job_document(struct store *st, int64_t job, int *priority)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT job, priority FROM jobs "
	    "WHERE id = ?");
	char *r = NULL;

	if (s == NULL)
		return NULL;
	sqlite3_bind_int64(s, 1, job);
	if (store_step(st, s) == SQLITE_ROW) {
		r = xstrdup(store_col_text(s, 0));
		if (priority)
			*priority = sqlite3_column_int(s, 1);
	}
	sqlite3_reset(s);
	return r;
}

int
queue_step_index(struct store *st, int64_t job, const char *name)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT idx FROM steps WHERE "
	    "job_id = ? AND name = ?");
	int r = -1;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
	if (store_step(st, s) == SQLITE_ROW)
		r = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	return r;
}

static void
set_time(json_t *o, const char *key, sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		json_object_set_new(o, key, json_null());
	else
		json_object_set_new(o, key,
		    json_integer(sqlite3_column_int64(s, i)));
}

static json_t *
counts_obj(sqlite3_stmt *s, int first)
{
	json_t *c = json_object();

	for (int i = 0; i < TASK_NSTATES; i++) {
		int64_t v = sqlite3_column_int64(s, first + i);

		if (v)
			json_object_set_new(c, task_state_name(i),
			    json_integer(v));
	}
	return c;
}

#define JOB_COLUMNS "id, name, state, reason, message, priority, " \
	"submitter, submitted_at, started_at, ended_at, task_count, paused, " \
	"on_error, max_retries, max_failed, source, on_complete, " \
	"(SELECT sum(n_succeeded) FROM steps WHERE job_id = jobs.id), " \
	"(SELECT sum(n_failed) FROM steps WHERE job_id = jobs.id), " \
	"(SELECT sum(n_running + n_assigned) FROM steps WHERE job_id = jobs.id)"

static json_t *
job_row(sqlite3_stmt *s)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", json_integer(sqlite3_column_int64(s, 0)));
	json_object_set_new(o, "name", json_string(store_col_text(s, 1)));
	json_object_set_new(o, "state", json_string(store_col_text(s, 2)));
	json_object_set_new(o, "reason", json_string(store_col_text(s, 3)));
	json_object_set_new(o, "message", json_string(store_col_text(s, 4)));
	json_object_set_new(o, "priority",
	    json_integer(sqlite3_column_int(s, 5)));
	json_object_set_new(o, "submitter", json_string(store_col_text(s, 6)));
	set_time(o, "submittedAt", s, 7);
	set_time(o, "startedAt", s, 8);
	set_time(o, "endedAt", s, 9);
	json_object_set_new(o, "tasks",
	    json_integer(sqlite3_column_int64(s, 10)));
	json_object_set_new(o, "paused", json_boolean(sqlite3_column_int(s, 11)));
	json_object_set_new(o, "onError", json_string(store_col_text(s, 12)));
	json_object_set_new(o, "maxRetries",
	    json_integer(sqlite3_column_int(s, 13)));
	json_object_set_new(o, "maxFailedTasks",
	    json_integer(sqlite3_column_int(s, 14)));
	if (sqlite3_column_type(s, 15) != SQLITE_NULL)
		json_object_set_new(o, "source", json_string(store_col_text(s, 15)));
	if (sqlite3_column_type(s, 16) != SQLITE_NULL)
		json_object_set_new(o, "onComplete",
		    json_string(store_col_text(s, 16)));
	json_object_set_new(o, "succeeded",
	    json_integer(sqlite3_column_int64(s, 17)));
	json_object_set_new(o, "failed",
	    json_integer(sqlite3_column_int64(s, 18)));
	json_object_set_new(o, "running",
	    json_integer(sqlite3_column_int64(s, 19)));
	return o;
}

json_t *
queue_job_json(struct store *st, int64_t job, int detail)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT " JOB_COLUMNS
	    " FROM jobs WHERE id = ?");
	json_t *o, *steps, *after;

	if (s == NULL)
		return NULL;
	sqlite3_bind_int64(s, 1, job);
	if (store_step(st, s) != SQLITE_ROW) {
		sqlite3_reset(s);
		return NULL;
	}
	o = job_row(s);
	sqlite3_reset(s);
	if (!detail)
		return o;
	s = store_stmt(st, "SELECT idx, name, state, task_count, deps, "
	    "message, " "n_pending, n_ready, n_assigned, n_running, n_succeeded, n_failed, n_canceled, n_suspended, n_not_compatible" " FROM steps WHERE job_id = ? "
	    "ORDER BY idx");
	steps = json_array();
	if (s) {
		sqlite3_bind_int64(s, 1, job);
		while (store_step(st, s) == SQLITE_ROW) {
			json_t *p = json_object();

			json_object_set_new(p, "index",
			    json_integer(sqlite3_column_int(s, 0)));
			json_object_set_new(p, "name",
			    json_string(store_col_text(s, 1)));
			json_object_set_new(p, "state",
			    json_string(store_col_text(s, 2)));
			json_object_set_new(p, "tasks",
			    json_integer(sqlite3_column_int64(s, 3)));
			json_object_set_new(p, "dependsOn",
			    json_loads(store_col_text(s, 4), 0, NULL));
			if (*store_col_text(s, 5))
				json_object_set_new(p, "message",
				    json_string(store_col_text(s, 5)));
			json_object_set_new(p, "counts", counts_obj(s, 6));
			json_array_append_new(steps, p);
		}
		sqlite3_reset(s);
	}
	json_object_set_new(o, "steps", steps);
	after = json_array();
	s = store_stmt(st, "SELECT parent_id FROM job_deps WHERE job_id = ? "
	    "ORDER BY parent_id");
	if (s) {
		sqlite3_bind_int64(s, 1, job);
		while (store_step(st, s) == SQLITE_ROW)
			json_array_append_new(after,
			    json_integer(sqlite3_column_int64(s, 0)));
		sqlite3_reset(s);
	}
	json_object_set_new(o, "after", after);
	s = store_stmt(st, "SELECT params, cwd FROM jobs WHERE id = ?");
	if (s) {
		sqlite3_bind_int64(s, 1, job);
		if (store_step(st, s) == SQLITE_ROW) {
			json_object_set_new(o, "parameters",
			    json_loads(store_col_text(s, 0), 0, NULL));
			if (sqlite3_column_type(s, 1) != SQLITE_NULL)
				json_object_set_new(o, "cwd",
				    json_string(store_col_text(s, 1)));
		}
		sqlite3_reset(s);
	}
	return o;
}

json_t *
queue_list_json(struct store *st, int state, int all)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT " JOB_COLUMNS " FROM jobs "
	    "WHERE (?1 IS NULL OR state = ?1) AND (?2 OR ended_at IS NULL) "
	    "ORDER BY id");
	json_t *a = json_array();

	if (s == NULL)
		return a;
	if (state >= 0)
		sqlite3_bind_text(s, 1, task_state_name(state), -1,
		    SQLITE_STATIC);
	sqlite3_bind_int(s, 2, all || state >= 0);
	while (store_step(st, s) == SQLITE_ROW)
		json_array_append_new(a, job_row(s));
	sqlite3_reset(s);
	return a;
}

static void
put_str(struct buf *b, const char *key, const char *v)
{
	buf_addf(b, ",\n    \"%s\": ", key);
	if (v == NULL) {
		buf_adds(b, "null");
		return;
	}
	buf_addch(b, '"');
	for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_addf(b, "\\%c", *p);
		else if (*p == '\n')
			buf_adds(b, "\\n");
		else if (*p < 0x20)
			buf_addf(b, "\\u%04x", *p);
		else
			buf_addch(b, *p);
	}
	buf_addch(b, '"');
}

static void
put_int(struct buf *b, const char *key, sqlite3_stmt *s, int i)
{
	if (sqlite3_column_type(s, i) == SQLITE_NULL)
		buf_addf(b, ",\n    \"%s\": null", key);
	else
		buf_addf(b, ",\n    \"%s\": %lld", key,
		    (long long)sqlite3_column_int64(s, i));
}

int
queue_list_write(struct store *st, int state, int all, struct buf *out)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT " JOB_COLUMNS " FROM jobs "
	    "WHERE (?1 IS NULL OR state = ?1) AND (?2 OR ended_at IS NULL) "
	    "ORDER BY id");
	int n = 0, rc;

	if (s == NULL)
		return -1;
	if (state >= 0)
		sqlite3_bind_text(s, 1, task_state_name(state), -1,
		    SQLITE_STATIC);
	sqlite3_bind_int(s, 2, all || state >= 0);
	buf_addch(out, '[');
	while ((rc = store_step(st, s)) == SQLITE_ROW) {
		buf_addf(out, "%s\n  {\n    \"id\": %lld", n++ ? "," : "",
		    (long long)sqlite3_column_int64(s, 0));
		put_str(out, "name", store_col_text(s, 1));
		put_str(out, "state", store_col_text(s, 2));
		put_str(out, "reason", store_col_text(s, 3));
		put_str(out, "message", store_col_text(s, 4));
		put_int(out, "priority", s, 5);
		put_str(out, "submitter", store_col_text(s, 6));
		put_int(out, "submittedAt", s, 7);
		put_int(out, "startedAt", s, 8);
		put_int(out, "endedAt", s, 9);
		put_int(out, "tasks", s, 10);
		buf_addf(out, ",\n    \"paused\": %s", sqlite3_column_int(s, 11) ?
		    "true" : "false");
		put_str(out, "onError", store_col_text(s, 12));
		put_int(out, "maxRetries", s, 13);
		put_int(out, "maxFailedTasks", s, 14);
		if (sqlite3_column_type(s, 15) != SQLITE_NULL)
			put_str(out, "source", store_col_text(s, 15));
		if (sqlite3_column_type(s, 16) != SQLITE_NULL)
			put_str(out, "onComplete", store_col_text(s, 16));
		buf_addf(out, ",\n    \"succeeded\": %lld,\n    \"failed\": "
		    "%lld,\n    \"running\": %lld\n  }",
		    (long long)sqlite3_column_int64(s, 17),
		    (long long)sqlite3_column_int64(s, 18),
		    (long long)sqlite3_column_int64(s, 19));
	}
	sqlite3_reset(s);
	buf_adds(out, n ? "\n]\n" : "]\n");
	return rc == SQLITE_DONE ? 0 : -1;
}

json_t *
queue_counts_json(struct store *st)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT state, count(*) FROM jobs "
	    "GROUP BY state");
	json_t *o = json_object();

	if (s == NULL)
		return o;
	while (store_step(st, s) == SQLITE_ROW)
		json_object_set_new(o, store_col_text(s, 0),
		    json_integer(sqlite3_column_int64(s, 1)));
	sqlite3_reset(s);
	return o;
}

json_t *
queue_attempts_json(struct store *st, int64_t job, int step, int64_t task)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT a.step, s.name, a.task, "
	    "a.attempt, a.state, a.exit_code, a.status, a.fail_message, "
	    "a.progress, a.reason, a.started_at, a.ended_at, a.log_path, "
	    "a.session_id, a.log_offset, a.log_length FROM attempts a JOIN steps s ON s.job_id = a.job_id "
	    "AND s.idx = a.step WHERE a.job_id = ?1 AND (?2 < 0 OR a.step = ?2) "
	    "AND (?3 < 0 OR a.task = ?3) ORDER BY a.id");
	json_t *a = json_array();

	if (s == NULL)
		return a;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	while (store_step(st, s) == SQLITE_ROW) {
		json_t *o = json_object();

		json_object_set_new(o, "step", json_integer(sqlite3_column_int(s, 0)));
		json_object_set_new(o, "stepName", json_string(store_col_text(s, 1)));
		json_object_set_new(o, "task",
		    json_integer(sqlite3_column_int64(s, 2)));
		json_object_set_new(o, "attempt",
		    json_integer(sqlite3_column_int(s, 3)));
		json_object_set_new(o, "state", json_string(store_col_text(s, 4)));
		if (sqlite3_column_type(s, 5) != SQLITE_NULL)
			json_object_set_new(o, "exitCode",
			    json_integer(sqlite3_column_int(s, 5)));
		if (sqlite3_column_type(s, 6) != SQLITE_NULL)
			json_object_set_new(o, "status",
			    json_string(store_col_text(s, 6)));
		if (sqlite3_column_type(s, 7) != SQLITE_NULL)
			json_object_set_new(o, "failMessage",
			    json_string(store_col_text(s, 7)));
		if (sqlite3_column_type(s, 8) != SQLITE_NULL)
			json_object_set_new(o, "progress",
			    json_real(sqlite3_column_double(s, 8)));
		json_object_set_new(o, "reason", json_string(store_col_text(s, 9)));
		set_time(o, "startedAt", s, 10);
		set_time(o, "endedAt", s, 11);
		if (sqlite3_column_type(s, 12) != SQLITE_NULL)
			json_object_set_new(o, "log", json_string(store_col_text(s, 12)));
		if (sqlite3_column_type(s, 13) != SQLITE_NULL)
			json_object_set_new(o, "session",
			    json_integer(sqlite3_column_int64(s, 13)));
		if (sqlite3_column_type(s, 14) != SQLITE_NULL)
			json_object_set_new(o, "logOffset",
			    json_integer(sqlite3_column_int64(s, 14)));
		if (sqlite3_column_type(s, 15) != SQLITE_NULL)
			json_object_set_new(o, "logLength",
			    json_integer(sqlite3_column_int64(s, 15)));
		json_array_append_new(a, o);
	}
	sqlite3_reset(s);
	return a;
}

json_t *
queue_events_json(struct store *st, int64_t job)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT time, step, task, from_state, "
	    "to_state, reason, message FROM events WHERE job_id = ? "
	    "ORDER BY id");
	json_t *a = json_array();

	if (s == NULL)
		return a;
	sqlite3_bind_int64(s, 1, job);
	while (store_step(st, s) == SQLITE_ROW) {
		json_t *o = json_object();

		json_object_set_new(o, "time",
		    json_integer(sqlite3_column_int64(s, 0)));
		if (sqlite3_column_type(s, 1) != SQLITE_NULL)
			json_object_set_new(o, "step",
			    json_integer(sqlite3_column_int(s, 1)));
		if (sqlite3_column_type(s, 2) != SQLITE_NULL)
			json_object_set_new(o, "task",
			    json_integer(sqlite3_column_int64(s, 2)));
		if (sqlite3_column_type(s, 3) != SQLITE_NULL)
			json_object_set_new(o, "from", json_string(store_col_text(s, 3)));
		if (sqlite3_column_type(s, 4) != SQLITE_NULL)
			json_object_set_new(o, "to", json_string(store_col_text(s, 4)));
		json_object_set_new(o, "reason", json_string(store_col_text(s, 5)));
		if (*store_col_text(s, 6))
			json_object_set_new(o, "message",
			    json_string(store_col_text(s, 6)));
		json_array_append_new(a, o);
	}
	sqlite3_reset(s);
	return a;
}
