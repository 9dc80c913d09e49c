/*
 * The task state machine: the table of allowed moves, and the functions
 * that make a move in the store (keeping the per-step counts and the event
 * log).  Nothing else in drover writes a task's state.
 */
#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "store/state.h"
#include "store/store.h"

const struct state_move state_moves[] = {
	{ TASK_PENDING, TASK_READY, "its dependencies succeeded" },
	{ TASK_PENDING, TASK_SUSPENDED, "job paused" },
	{ TASK_PENDING, TASK_CANCELED, "canceled, or the job quit" },
	{ TASK_PENDING, TASK_FAILED, "a dependency failed" },
	{ TASK_PENDING, TASK_NOT_COMPATIBLE, "depends on an incompatible step" },
	{ TASK_READY, TASK_ASSIGNED, "claimed by a session" },
	{ TASK_READY, TASK_RUNNING, "taken and started by a running session" },
	{ TASK_READY, TASK_SUSPENDED, "job paused" },
	{ TASK_READY, TASK_CANCELED, "canceled, or the job quit" },
	{ TASK_READY, TASK_NOT_COMPATIBLE, "host no longer matches" },
	{ TASK_ASSIGNED, TASK_RUNNING, "the session started it" },
	{ TASK_ASSIGNED, TASK_READY, "the session ended before it" },
	{ TASK_ASSIGNED, TASK_FAILED, "the session could not start" },
	{ TASK_ASSIGNED, TASK_CANCELED, "canceled" },
	{ TASK_RUNNING, TASK_SUCCEEDED, "exit code 0" },
	{ TASK_RUNNING, TASK_FAILED, "nonzero exit, or session lost" },
	{ TASK_RUNNING, TASK_CANCELED, "canceled" },
	{ TASK_FAILED, TASK_READY, "retried" },
	{ TASK_FAILED, TASK_PENDING, "retried, dependencies not done" },
	{ TASK_CANCELED, TASK_READY, "retried" },
	{ TASK_CANCELED, TASK_PENDING, "retried, dependencies not done" },
	{ TASK_SUSPENDED, TASK_READY, "job resumed" },
	{ TASK_SUSPENDED, TASK_PENDING, "job resumed, dependencies not done" },
	{ TASK_SUSPENDED, TASK_CANCELED, "canceled" },
	{ TASK_SUSPENDED, TASK_FAILED, "a dependency failed" },
	{ TASK_NOT_COMPATIBLE, TASK_READY, "retried" },
	{ TASK_NOT_COMPATIBLE, TASK_PENDING, "retried, dependencies not done" },
};
const size_t state_nmoves = sizeof(state_moves) / sizeof(state_moves[0]);

static const char *const state_names[TASK_NSTATES] = {
	"PENDING", "READY", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED",
	"CANCELED", "SUSPENDED", "NOT_COMPATIBLE",
};
static const char *const state_columns[TASK_NSTATES] = {
	"pending", "ready", "assigned", "running", "succeeded", "failed",
	"canceled", "suspended", "not_compatible",
};

static const struct {
	const char	*code;
	const char	*text;
} reasons[REASON_NREASONS] = {
	[REASON_NONE] = { "", "" },
	[REASON_SUBMITTED] = { "SUBMITTED", "submitted" },
	[REASON_WAITING_DEPS] = { "WAITING_DEPS", "waiting on dependencies" },
	[REASON_WAITING_WORKERS] = { "WAITING_WORKERS", "waiting on workers" },
	[REASON_RUNNING] = { "RUNNING", "running" },
	[REASON_PAUSED] = { "PAUSED", "paused" },
	[REASON_RESUMED] = { "RESUMED", "resumed" },
	[REASON_DISPATCHED] = { "DISPATCHED", "dispatched" },
	[REASON_DEPENDENCY_FAILED] = { "DEPENDENCY_FAILED", "dependency failed" },
	[REASON_NONZERO_EXIT] = { "NONZERO_EXIT", "nonzero exit" },
	[REASON_CANCELED_BY_USER] = { "CANCELED_BY_USER", "canceled by user" },
	[REASON_KILLED_BY_ADMIN] = { "KILLED_BY_ADMIN", "killed by admin" },
	[REASON_INTERNAL_ERROR] = { "INTERNAL_ERROR", "internal error" },
	[REASON_SUCCEEDED] = { "SUCCEEDED", "succeeded" },
	[REASON_NOT_COMPATIBLE] = { "NOT_COMPATIBLE", "not compatible with this host" },
	[REASON_DAEMON_RESTARTED] = { "DAEMON_RESTARTED", "daemon restarted" },
	[REASON_SESSION_FAILED] = { "SESSION_FAILED", "session failed" },
	[REASON_RETRY] = { "RETRY", "retried after failure" },
	[REASON_JOB_QUIT] = { "JOB_QUIT", "job quit after a failure" },
	[REASON_JOB_TERMINATED] = { "JOB_TERMINATED", "job terminated after a failure" },
	[REASON_REQUEUED] = { "REQUEUED", "requeued" },
	[REASON_UNMATCHED_OUTPUTS] = { "UNMATCHED_OUTPUTS",
	    "unmatched output patterns" },
};

const char *
task_state_name(enum task_state s)
{
	return (unsigned)s < TASK_NSTATES ? state_names[s] : NULL;
}

const char *
task_state_column(enum task_state s)
{
	return (unsigned)s < TASK_NSTATES ? state_columns[s] : NULL;
}

int
task_state_parse(const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < TASK_NSTATES; i++)
		if (strcasecmp(s, state_names[i]) == 0)
			return i;
	return -1;
}

int
task_state_final(enum task_state s)
{
	return s == TASK_SUCCEEDED || s == TASK_FAILED || s == TASK_CANCELED ||
	    s == TASK_NOT_COMPATIBLE;
}

int
state_move_allowed(enum task_state from, enum task_state to)
{
	for (size_t i = 0; i < state_nmoves; i++)
		if (state_moves[i].from == from && state_moves[i].to == to)
			return 1;
	return 0;
}

enum task_state
state_derive(const int64_t c[TASK_NSTATES])
{
	int64_t total = 0, final;

	for (int i = 0; i < TASK_NSTATES; i++)
		total += c[i];
	final = c[TASK_SUCCEEDED] + c[TASK_FAILED] + c[TASK_CANCELED] +
	    c[TASK_NOT_COMPATIBLE];
	if (final == total) {
		if (c[TASK_SUCCEEDED] == total)
			return TASK_SUCCEEDED;
		if (c[TASK_FAILED])
			return TASK_FAILED;
		if (c[TASK_NOT_COMPATIBLE])
			return TASK_NOT_COMPATIBLE;
		return TASK_CANCELED;
	}
	if (c[TASK_ASSIGNED] || c[TASK_RUNNING])
		return TASK_RUNNING;
	if (c[TASK_READY])
		return TASK_READY;
	if (c[TASK_SUSPENDED])
		return TASK_SUSPENDED;
	return TASK_PENDING;
}

const char *
state_reason_code(enum state_reason r)
{
	return (unsigned)r < REASON_NREASONS ? reasons[r].code : "";
}

const char *
state_reason_text(enum state_reason r)
{
	return (unsigned)r < REASON_NREASONS ? reasons[r].text : "";
}

int
state_reason_parse(const char *s)
{
	if (s == NULL)
		return -1;
	for (int i = 0; i < REASON_NREASONS; i++)
		if (strcmp(s, reasons[i].code) == 0)
			return i;
	return -1;
}

static void
bind_opt_int(sqlite3_stmt *s, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_int64(s, i, v);
}

int
state_event(struct store *st, int64_t job, int step, int64_t task,
    const char *from, const char *to, enum state_reason r, const char *msg)
{
	sqlite3_stmt *s = store_stmt(st, "INSERT INTO events(job_id, id, time, "
	    "step, task, from_state, to_state, reason, message) VALUES (?2, "
	    "(SELECT coalesce(max(id), 0) + 1 FROM events WHERE job_id = ?2), "
	    "?1, ?3, ?4, ?5, ?6, ?7, ?8)");
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, store_now_ms());
	sqlite3_bind_int64(s, 2, job >= 0 ? job : 0);
	bind_opt_int(s, 3, step);
	bind_opt_int(s, 4, task);
	sqlite3_bind_text(s, 5, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, state_reason_code(r), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, msg ? msg : "", -1, SQLITE_STATIC);
	rc = store_step(st, s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Step facts needed for a move. */
struct step_row {
	int64_t		 task_count;
	int64_t		 n_rows;
	int		 implicit;
};

static int
step_load(struct store *st, int64_t job, int step, struct step_row *r)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT task_count, n_rows, implicit "
	    "FROM steps WHERE job_id = ? AND idx = ?");
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	rc = store_step(st, s);
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return -1;
	}
	r->task_count = sqlite3_column_int64(s, 0);
	r->n_rows = sqlite3_column_int64(s, 1);
	r->implicit = task_state_parse((const char *)sqlite3_column_text(s, 2));
	sqlite3_reset(s);
	return r->implicit < 0 ? -1 : 0;
}

/* n_<from> -= n, n_<to> += n, n_rows += rows */
static int
step_count(struct store *st, int64_t job, int step, int from, int to,
    int64_t n, int64_t rows)
{
	char sql[256];
	sqlite3_stmt *s;
	int rc;

	snprintf(sql, sizeof(sql), "UPDATE steps SET n_%s = n_%s - ?1, "
	    "n_%s = n_%s + ?1, n_rows = n_rows + ?2 "
	    "WHERE job_id = ?3 AND idx = ?4", state_columns[from],
	    state_columns[from], state_columns[to], state_columns[to]);
	if ((s = store_stmt(st, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, n);
	sqlite3_bind_int64(s, 2, rows);
	sqlite3_bind_int64(s, 3, job);
	sqlite3_bind_int(s, 4, step);
	rc = store_step(st, s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static void
refuse(int64_t job, int step, int64_t task, int from, int to)
{
	log_error("internal error: task %" PRId64 "/%d/%" PRId64 " may not "
	    "move from %s to %s", job, step, task,
	    from >= 0 ? state_names[from] : "?", to >= 0 ? state_names[to] : "?");
}

/* Row state of a task, or -2 if it has no row, -1 on error. */
static int
task_row_state(struct store *st, int64_t job, int step, int64_t task)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT state FROM tasks "
	    "WHERE job_id = ? AND step = ? AND idx = ?");
	int rc, v;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	rc = store_step(st, s);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(s);
		return -2;
	}
	if (rc != SQLITE_ROW) {
		sqlite3_reset(s);
		return -1;
	}
	v = task_state_parse((const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return v;
}

int
state_task_get(struct store *st, int64_t job, int step, int64_t task)
{
	struct step_row r;
	int v;

	if (step_load(st, job, step, &r) == -1 || task < 0 ||
	    task >= r.task_count)
		return -1;
	v = task_row_state(st, job, step, task);
	return v == -2 ? r.implicit : v;
}

int
state_task_move(struct store *st, int64_t job, int step, int64_t task,
    enum task_state to, enum state_reason why, const char *msg,
    int64_t session)
{
	sqlite3_stmt *s;
	int from, rc, has_row, implicit;
	int64_t count;

	/* the step and the task's row (if any) in one look */
	s = store_stmt(st, "SELECT s.task_count, s.implicit, t.state FROM "
	    "steps s LEFT JOIN tasks t ON t.job_id = s.job_id AND "
	    "t.step = s.idx AND t.idx = ?3 WHERE s.job_id = ?1 AND s.idx = ?2");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	if (store_step(st, s) != SQLITE_ROW) {
		sqlite3_reset(s);
		log_error("internal error: no step %" PRId64 "/%d", job, step);
		return -1;
	}
	count = sqlite3_column_int64(s, 0);
	implicit = task_state_parse((const char *)sqlite3_column_text(s, 1));
	has_row = sqlite3_column_type(s, 2) != SQLITE_NULL;
	from = has_row ? task_state_parse((const char *)
	    sqlite3_column_text(s, 2)) : implicit;
	sqlite3_reset(s);
	if (task < 0 || task >= count || from < 0) {
		log_error("internal error: no task %" PRId64 "/%d/%" PRId64,
		    job, step, task);
		return -1;
	}
	if (!state_move_allowed(from, to)) {
		refuse(job, step, task, from, to);
		return -1;
	}
	/* a cancel request ends with the run */
	if (has_row)
		s = store_stmt(st, "UPDATE tasks SET state = ?4, reason = ?5, "
		    "message = ?6, updated_at = ?7, session_id = "
		    "CASE WHEN ?8 >= 0 THEN ?8 ELSE session_id END, "
		    "cancel = CASE WHEN ?9 THEN NULL ELSE cancel END, "
		    "attempts = attempts + (?4 = 'RUNNING') "
		    "WHERE job_id = ?1 AND step = ?2 AND idx = ?3");
	else
		s = store_stmt(st, "INSERT INTO tasks(job_id, step, idx, state, "
		    "reason, message, updated_at, session_id, attempts) "
		    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CASE WHEN ?8 >= 0 "
		    "THEN ?8 END, ?4 = 'RUNNING')");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	sqlite3_bind_int64(s, 3, task);
	sqlite3_bind_text(s, 4, state_names[to], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, state_reason_code(why), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, msg ? msg : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 7, store_now_ms());
	sqlite3_bind_int64(s, 8, session);
	if (has_row)
		sqlite3_bind_int(s, 9, task_state_final(to) ||
		    to == TASK_READY || to == TASK_PENDING);
	rc = store_step(st, s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		return -1;
	if (step_count(st, job, step, from, to, 1, has_row ? 0 : 1) == -1)
		return -1;
	return state_event(st, job, step, task, state_names[from],
	    state_names[to], why, msg);
}

int64_t
state_step_move(struct store *st, int64_t job, int step, unsigned mask,
    enum task_state to, enum state_reason why, const char *msg)
{
	struct step_row r;
	sqlite3_stmt *s;
	int64_t moved = 0, *idx = NULL;
	size_t n = 0, alloc = 0;
	struct buf in = BUF_INIT, sql = BUF_INIT;

	if (step_load(st, job, step, &r) == -1)
		return -1;
	/* the tasks without a row, all at once */
	if ((mask & STATE_BIT(r.implicit)) && r.task_count > r.n_rows &&
	    r.implicit != (int)to) {
		int64_t k = r.task_count - r.n_rows;
		char *m;

		if (!state_move_allowed(r.implicit, to)) {
			refuse(job, step, -1, r.implicit, to);
			return -1;
		}
		s = store_stmt(st, "UPDATE steps SET implicit = ? "
		    "WHERE job_id = ? AND idx = ?");
		if (s == NULL)
			return -1;
		sqlite3_bind_text(s, 1, state_names[to], -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, job);
		sqlite3_bind_int(s, 3, step);
		if (store_step(st, s) != SQLITE_DONE) {
			sqlite3_reset(s);
			return -1;
		}
		sqlite3_reset(s);
		if (step_count(st, job, step, r.implicit, to, k, 0) == -1)
			return -1;
		m = msg ? xasprintf("%s (%" PRId64 " tasks)", msg, k) :
		    xasprintf("%" PRId64 " tasks", k);
		if (state_event(st, job, step, -1, state_names[r.implicit],
		    state_names[to], why, m) == -1) {
			free(m);
			return -1;
		}
		free(m);
		moved += k;
	}
	/* the rows, one by one (each with its own event) */
	for (int i = 0; i < TASK_NSTATES; i++) {
		if (!(mask & STATE_BIT(i)) || i == (int)to)
			continue;
		buf_addf(&in, "%s'%s'", in.len ? ", " : "", state_names[i]);
	}
	if (in.len == 0)
		return moved;
	buf_addf(&sql, "SELECT idx FROM tasks WHERE job_id = ? AND step = ? "
	    "AND state IN (%s)%s ORDER BY idx", in.s,
	    mask & STATE_BIT(TASK_SUCCEEDED) ? "" :
	    " AND state <> 'SUCCEEDED'");
	s = store_stmt(st, sql.s);
	buf_release(&sql);
	buf_release(&in);
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_int(s, 2, step);
	while (store_step(st, s) == SQLITE_ROW) {
		ALLOC_GROW(idx, n + 1, alloc);
		idx[n++] = sqlite3_column_int64(s, 0);
	}
	sqlite3_reset(s);
	for (size_t i = 0; i < n; i++) {
		if (state_task_move(st, job, step, idx[i], to, why, msg,
		    -1) == -1) {
			free(idx);
			return -1;
		}
		moved++;
	}
	free(idx);
	return moved;
}

int64_t
state_job_move(struct store *st, int64_t job, unsigned mask,
    enum task_state to, enum state_reason why, const char *msg)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT count(*) FROM steps "
	    "WHERE job_id = ?");
	int nsteps = 0;
	int64_t total = 0, k;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	if (store_step(st, s) == SQLITE_ROW)
		nsteps = sqlite3_column_int(s, 0);
	sqlite3_reset(s);
	for (int i = 0; i < nsteps; i++) {
		if ((k = state_step_move(st, job, i, mask, to, why, msg)) < 0)
			return -1;
		total += k;
	}
	return total;
}

int
state_job_set_failure(struct store *st, int64_t job, enum state_reason r,
    const char *msg)
{
	sqlite3_stmt *s = store_stmt(st, "UPDATE jobs SET fail_reason = ?, "
	    "fail_message = ? WHERE id = ? AND fail_reason IS NULL");
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, state_reason_code(r), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, msg ? msg : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, job);
	rc = store_step(st, s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

#define COUNT_COLUMNS "n_pending, n_ready, n_assigned, n_running, " \
	"n_succeeded, n_failed, n_canceled, n_suspended, n_not_compatible"

static int
set_step_state(struct store *st, int64_t job, int step, enum task_state v)
{
	sqlite3_stmt *s = store_stmt(st, "UPDATE steps SET state = ? "
	    "WHERE job_id = ? AND idx = ? AND state <> ?1");
	int rc;

	if (s == NULL)
		return -1;
	sqlite3_bind_text(s, 1, state_names[v], -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, job);
	sqlite3_bind_int(s, 3, step);
	rc = store_step(st, s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
state_job_refresh(struct store *st, int64_t job, int *became_final)
{
	int64_t total[TASK_NSTATES] = { 0 }, c[TASK_NSTATES], *steps_c = NULL;
	int *steps_i = NULL, nsteps = 0, alloc = 0, old, paused;
	enum task_state v;
	enum state_reason why;
	const char *fail_reason, *fail_msg;
	char *msg = NULL;
	sqlite3_stmt *s;
	int rc;

	if (became_final)
		*became_final = 0;
	s = store_stmt(st, "SELECT idx, " COUNT_COLUMNS " FROM steps "
	    "WHERE job_id = ? ORDER BY idx");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	while ((rc = store_step(st, s)) == SQLITE_ROW) {
		if (nsteps >= alloc) {
			alloc = alloc ? alloc * 2 : 8;
			steps_i = xreallocarray(steps_i, alloc, sizeof(int));
			steps_c = xreallocarray(steps_c, (size_t)alloc,
			    sizeof(c));
		}
		steps_i[nsteps] = sqlite3_column_int(s, 0);
		for (int i = 0; i < TASK_NSTATES; i++) {
			steps_c[nsteps * TASK_NSTATES + i] =
			    sqlite3_column_int64(s, i + 1);
			total[i] += steps_c[nsteps * TASK_NSTATES + i];
		}
		nsteps++;
	}
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto fail;
	for (int k = 0; k < nsteps; k++) {
		memcpy(c, steps_c + k * TASK_NSTATES, sizeof(c));
		if (set_step_state(st, job, steps_i[k], state_derive(c)) == -1)
			goto fail;
	}
	v = state_derive(total);

	s = store_stmt(st, "SELECT state, paused, fail_reason, fail_message "
	    "FROM jobs WHERE id = ?");
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, job);
	if (store_step(st, s) != SQLITE_ROW) {
		sqlite3_reset(s);
		goto fail;
	}
	old = task_state_parse((const char *)sqlite3_column_text(s, 0));
	paused = sqlite3_column_int(s, 1);
	fail_reason = (const char *)sqlite3_column_text(s, 2);
	fail_msg = (const char *)sqlite3_column_text(s, 3);
	why = fail_reason ? state_reason_parse(fail_reason) : -1;
	if (fail_msg && *fail_msg)
		msg = xstrdup(fail_msg);
	sqlite3_reset(s);

	switch (v) {
	case TASK_SUCCEEDED:
		why = REASON_SUCCEEDED;
		free(msg);
		msg = NULL;
		break;
	case TASK_FAILED:
	case TASK_CANCELED:
	case TASK_NOT_COMPATIBLE:
		if ((int)why < 0)
			why = v == TASK_FAILED ? REASON_NONZERO_EXIT :
			    v == TASK_CANCELED ? REASON_CANCELED_BY_USER :
			    REASON_NOT_COMPATIBLE;
		break;
	default:
		/* a recorded failure wins while the job winds down */
		if ((int)why >= 0)
			break;
		why = v == TASK_RUNNING ? REASON_RUNNING :
		    v == TASK_READY ? REASON_WAITING_WORKERS :
		    v == TASK_SUSPENDED || paused ? REASON_PAUSED :
		    REASON_WAITING_DEPS;
		break;
	}

	s = store_stmt(st, "UPDATE jobs SET state = ?2, reason = ?3, "
	    "message = ?4, "
	    "started_at = CASE WHEN ?2 = 'RUNNING' AND started_at IS NULL "
	    "  THEN ?5 ELSE started_at END, "
	    "ended_at = CASE WHEN ?6 THEN coalesce(ended_at, ?5) ELSE NULL END "
	    "WHERE id = ?1 AND (state <> ?2 OR reason <> ?3 OR message <> ?4 "
	    "OR (?2 = 'RUNNING' AND started_at IS NULL) "
	    "OR (ended_at IS NULL) = ?6)");
	if (s == NULL)
		goto fail;
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_text(s, 2, state_names[v], -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, state_reason_code(why), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, msg ? msg : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, store_now_ms());
	sqlite3_bind_int(s, 6, task_state_final(v));
	rc = store_step(st, s);
	sqlite3_reset(s);
	if (rc != SQLITE_DONE)
		goto fail;
	if (old != (int)v) {
		if (state_event(st, job, -1, -1, old >= 0 ? state_names[old] :
		    NULL, state_names[v], why, msg) == -1)
			goto fail;
		if (became_final && task_state_final(v))
			*became_final = 1;
	}
	free(msg);
	free(steps_i);
	free(steps_c);
	return 0;
fail:
	free(msg);
	free(steps_i);
	free(steps_c);
	return -1;
}
