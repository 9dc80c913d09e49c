/*
 * The schema, in one place: a list of numbered migrations.  The current
 * schema is what applying all of them gives; a migration once released is
 * never edited, a change is a new migration at the end.  Each one runs in
 * one transaction together with the PRAGMA user_version bump (store.c).
 *
 * Conventions: times are INTEGER milliseconds since the epoch; states are
 * the upper-case names from state.h; a task of a step has a row in tasks
 * only once it was dispatched or changed on its own, every other task of
 * the step is in the step's `implicit` state (so a 1,000,000-task job costs
 * one jobs row and one steps row per step).  steps.n_<state> counts every
 * task of the step, rows and implicit ones alike.
 */
#include <stddef.h>

#include "store/schema.h"

static const struct store_migration migrations[] = {
	{ 1, "jobs, steps, tasks, attempts, sessions and the event log",
	"CREATE TABLE meta ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	");"
	"CREATE TABLE jobs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  name TEXT NOT NULL,"
	"  job TEXT NOT NULL,"			/* created job (drover-job-1) */
	"  params TEXT NOT NULL DEFAULT '{}',"	/* submitted values */
	"  source TEXT,"			/* template or bundle path */
	"  submitter TEXT NOT NULL,"
	"  cwd TEXT,"
	"  priority INTEGER NOT NULL DEFAULT 50,"
	"  on_error TEXT NOT NULL DEFAULT 'quit'"
	"    CHECK (on_error IN ('continue', 'quit', 'terminate')),"
	"  max_retries INTEGER NOT NULL DEFAULT 0 CHECK (max_retries >= 0),"
	"  max_failed INTEGER NOT NULL DEFAULT 0,"
	"  paused INTEGER NOT NULL DEFAULT 0,"
	"  terminate INTEGER NOT NULL DEFAULT 0,"
	"  task_count INTEGER NOT NULL,"
	"  state TEXT NOT NULL,"
	"  reason TEXT NOT NULL,"
	"  message TEXT NOT NULL DEFAULT '',"
	"  fail_reason TEXT,"			/* sticky until a retry */
	"  fail_message TEXT,"
	"  submitted_at INTEGER NOT NULL,"
	"  started_at INTEGER,"
	"  ended_at INTEGER"
	");"
	"CREATE INDEX jobs_state ON jobs(state);"
	"CREATE TABLE steps ("
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  deps TEXT NOT NULL DEFAULT '[]',"	/* step indexes, JSON */
	"  task_count INTEGER NOT NULL,"
	"  implicit TEXT NOT NULL,"		/* state of tasks without row */
	"  cursor INTEGER NOT NULL DEFAULT 0,"	/* tasks below all have rows */
	"  n_rows INTEGER NOT NULL DEFAULT 0,"
	"  n_pending INTEGER NOT NULL DEFAULT 0,"
	"  n_ready INTEGER NOT NULL DEFAULT 0,"
	"  n_assigned INTEGER NOT NULL DEFAULT 0,"
	"  n_running INTEGER NOT NULL DEFAULT 0,"
	"  n_succeeded INTEGER NOT NULL DEFAULT 0,"
	"  n_failed INTEGER NOT NULL DEFAULT 0,"
	"  n_canceled INTEGER NOT NULL DEFAULT 0,"
	"  n_suspended INTEGER NOT NULL DEFAULT 0,"
	"  n_not_compatible INTEGER NOT NULL DEFAULT 0,"
	"  state TEXT NOT NULL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  message TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (job_id, idx)"
	");"
	"CREATE INDEX steps_ready ON steps(job_id) WHERE n_ready > 0;"
	"CREATE TABLE tasks ("
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  step INTEGER NOT NULL,"
	"  idx INTEGER NOT NULL,"
	"  state TEXT NOT NULL,"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  session_id INTEGER,"
	"  cancel TEXT,"			/* reason, while a cancel is asked */
	"  reason TEXT NOT NULL DEFAULT '',"
	"  message TEXT NOT NULL DEFAULT '',"
	"  updated_at INTEGER NOT NULL,"
	"  PRIMARY KEY (job_id, step, idx)"
	") WITHOUT ROWID;"
	"CREATE INDEX tasks_state ON tasks(state, job_id, step, idx);"
	"CREATE INDEX tasks_session ON tasks(session_id, state) "
	"  WHERE session_id IS NOT NULL;"
	"CREATE TABLE attempts ("
	"  id INTEGER PRIMARY KEY,"
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  step INTEGER NOT NULL,"
	"  task INTEGER NOT NULL,"
	"  attempt INTEGER NOT NULL,"
	"  session_id INTEGER,"
	"  state TEXT NOT NULL,"
	"  exit_code INTEGER,"
	"  status TEXT,"
	"  fail_message TEXT,"
	"  progress REAL,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  started_at INTEGER NOT NULL,"
	"  ended_at INTEGER,"
	"  pgid INTEGER,"			/* the running action's group */
	"  log_path TEXT,"			/* the session's log file */
	"  log_offset INTEGER,"		/* where this attempt's output */
	"  log_length INTEGER"		/*   starts, and its length */
	");"
	"CREATE INDEX attempts_task ON attempts(job_id, step, task);"
	"CREATE INDEX attempts_open ON attempts(session_id) "
	"  WHERE ended_at IS NULL;"
	"CREATE TABLE sessions ("
	"  id INTEGER PRIMARY KEY,"
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  step INTEGER NOT NULL,"
	"  pid INTEGER,"
	"  pgid INTEGER,"
	"  proc_start INTEGER,"		/* /proc starttime: pid reuse check */
	"  host TEXT NOT NULL,"
	"  dir TEXT,"
	"  state TEXT NOT NULL DEFAULT 'STARTING',"
	"  tasks_run INTEGER NOT NULL DEFAULT 0,"
	"  end_reason TEXT,"
	"  started_at INTEGER NOT NULL,"
	"  ended_at INTEGER"
	");"
	"CREATE INDEX sessions_live ON sessions(state) WHERE state <> 'ENDED';"
	"CREATE TABLE events ("
	"  id INTEGER PRIMARY KEY,"
	"  time INTEGER NOT NULL,"
	"  job_id INTEGER,"
	"  step INTEGER,"
	"  task INTEGER,"			/* NULL: the job or every implicit task */
	"  from_state TEXT,"
	"  to_state TEXT,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  message TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX events_job ON events(job_id);"
	},
	{ 2, "cross-job dependencies and completion hooks",
	"CREATE TABLE job_deps ("
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  parent_id INTEGER NOT NULL,"
	"  PRIMARY KEY (job_id, parent_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX job_deps_parent ON job_deps(parent_id);"
	"ALTER TABLE jobs ADD COLUMN on_complete TEXT;"
	"ALTER TABLE jobs ADD COLUMN hook_state INTEGER NOT NULL DEFAULT 0;"
	},
	{ 3, "indexes for history pruning and listing",
	"CREATE INDEX jobs_ended ON jobs(ended_at) WHERE ended_at IS NOT NULL;"
	"CREATE INDEX jobs_hook ON jobs(hook_state) WHERE hook_state = 1;"
	},
	{ 4, "job attachments: input and output manifests, path mapping rules",
	"CREATE TABLE job_attach ("
	"  job_id INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,"
	"  store TEXT,"			/* CAS store root; NULL: none */
	"  capture_outputs INTEGER NOT NULL DEFAULT 0,"
	"  path_mapping TEXT"			/* rules given at submit, JSON */
	");"
	"CREATE TABLE job_inputs ("
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  idx INTEGER NOT NULL,"
	"  root TEXT NOT NULL,"		/* absolute, as submitted */
	"  manifest TEXT NOT NULL,"		/* manifest hash in the store */
	"  files INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  PRIMARY KEY (job_id, idx)"
	") WITHOUT ROWID;"
	"CREATE TABLE attempt_outputs ("
	"  attempt_id INTEGER NOT NULL REFERENCES attempts(id) ON DELETE CASCADE,"
	"  job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,"
	"  param TEXT NOT NULL,"		/* the PATH parameter */
	"  root TEXT NOT NULL,"		/* its value as submitted */
	"  manifest TEXT NOT NULL,"		/* files the attempt wrote there */
	"  files INTEGER NOT NULL,"
	"  bytes INTEGER NOT NULL,"
	"  captured_at INTEGER NOT NULL,"
	"  PRIMARY KEY (attempt_id, param)"
	") WITHOUT ROWID;"
	"CREATE INDEX attempt_outputs_job ON attempt_outputs(job_id);"
	},
	/*
	 * Fewer B-tree pages written per task (the queue's throughput is
	 * bounded by them): tasks_state holds only the rows queries look for
	 * (a task that succeeded leaves it) and also finds a session's tasks
	 * (by its job and step), the events of a job are
	 * one range of their own table instead of a table plus an index, and
	 * nothing indexes counters that change with every task.
	 */
	{ 5, "leaner indexes: fewer pages written per task",
	"DROP INDEX steps_ready;"
	"DROP INDEX attempts_open;"
	"DROP INDEX tasks_session;"
	"DROP INDEX tasks_state;"
	"CREATE INDEX tasks_state ON tasks(state, job_id, step, idx) "
	"  WHERE state <> 'SUCCEEDED';"
	"CREATE TABLE events_new ("
	"  job_id INTEGER NOT NULL,"		/* 0: not about one job */
	"  id INTEGER NOT NULL,"		/* increasing within the job */
	"  time INTEGER NOT NULL,"
	"  step INTEGER,"
	"  task INTEGER,"			/* NULL: the job or every implicit task */
	"  from_state TEXT,"
	"  to_state TEXT,"
	"  reason TEXT NOT NULL DEFAULT '',"
	"  message TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (job_id, id)"
	") WITHOUT ROWID;"
	"INSERT INTO events_new SELECT coalesce(job_id, 0), id, time, step, "
	"  task, from_state, to_state, reason, message FROM events;"
	"DROP TABLE events;"
	"ALTER TABLE events_new RENAME TO events;"
	"CREATE INDEX jobs_live ON jobs(priority, id) WHERE ended_at IS NULL;"
	},
};

const struct store_migration *
schema_migrations(size_t *n)
{
	*n = sizeof(migrations) / sizeof(migrations[0]);
	return migrations;
}
