/*
 * The queue's operations on the store.  Each public function here is one
 * transaction (it begins and commits its own; calls nest inside a caller's
 * store_begin()), and every task state change goes through state.h.
 *
 * Jobs are addressed by id, steps by index in the job, tasks by index in the
 * step's parameter space.  Policies (retries, on-error, cross-job
 * dependencies, step dependencies) are applied here, in the same
 * transaction as the change that triggers them, so that whichever process
 * records a result (the daemon or a session worker) leaves the store
 * consistent.
 */
#ifndef DROVER_QUEUE_H
#define DROVER_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/buf.h"
#include "store/state.h"

struct store;

enum queue_on_error {
	QUEUE_ON_ERROR_CONTINUE,
	QUEUE_ON_ERROR_QUIT,
	QUEUE_ON_ERROR_TERMINATE,
};

const char	*queue_on_error_name(enum queue_on_error);
int		 queue_on_error_parse(const char *);	/* -1 if unknown */

struct queue_step_spec {
	const char	*name;
	int64_t		 task_count;
	const int	*deps;		/* indexes of steps it depends on */
	size_t		 ndeps;
	const char	*incompatible;	/* NULL, or why it cannot run here */
};

struct queue_job_spec {
	const char	*name;
	const char	*job_json;	/* created job */
	const char	*params_json;	/* submitted values, JSON object */
	const char	*source;
	const char	*submitter;
	const char	*cwd;
	int		 priority;
	enum queue_on_error on_error;
	int		 max_retries;
	int		 max_failed;	/* 0: no limit */
	int		 paused;	/* submit suspended */
	const char	*on_complete;	/* NULL: none */
	const int64_t	*after;		/* jobs that must succeed first */
	size_t		 nafter;
	const struct queue_step_spec *steps;
	size_t		 nsteps;
};

/*
 * A batch of operations inside one transaction (a worker's "end this task,
 * claim and start the next"): the job states they touch are recomputed
 * once, at queue_batch_end(), instead of after each operation.  Call
 * queue_batch_end() before the transaction commits; it returns 0 or -1.
 */
void	queue_batch_begin(struct store *);
int	queue_batch_end(struct store *);

/* Inserts the job (rows per job and step only).  0, or -1 with *err. */
int	queue_submit(struct store *, const struct queue_job_spec *,
	    int64_t *id, char **err);

/*
 * Claims the next READY task of (job, step) for the session: retried rows
 * first, then the next task without a row.  Returns 1 with *task set, 0 if
 * there is none, -1 on error.
 */
int	queue_claim(struct store *, int64_t job, int step, int64_t session,
	    int64_t *task);
/*
 * ASSIGNED -> RUNNING and a new attempt row whose output starts at
 * log_offset in log_path (may be NULL / -1).  Returns 0 with *attempt, 1
 * if the task is no longer assigned to this session (canceled meanwhile),
 * -1.  Call it inside the claim's transaction (store_begin()) to make
 * claim and start one write.
 */
int	queue_task_start(struct store *, int64_t job, int step, int64_t task,
	    int64_t session, const char *log_path, int64_t log_offset,
	    int64_t *attempt);
/*
 * What a running session does between two tasks: claims the next READY
 * task of (job, step) like queue_claim() and starts it at once (READY ->
 * RUNNING, one move and one event, never visible as ASSIGNED), with a new
 * attempt like queue_task_start().  Returns 1 with *task and *attempt, 0
 * if there is none, -1 on error.
 */
int	queue_claim_start(struct store *, int64_t job, int step,
	    int64_t session, const char *log_path, int64_t log_offset,
	    int64_t *task, int64_t *attempt);
/* The attempt's number (1, 2, ...) for its task, or -1. */
int	queue_attempt_number(struct store *, int64_t attempt);
/* Sets the attempt's log file path. */
int	queue_attempt_set_log(struct store *, int64_t attempt, const char *path);
/* Records the running action's process group for an attempt. */
int	queue_attempt_pgid(struct store *, int64_t attempt, long pgid);
/* Progress (0..100, < 0 to keep) and status message (NULL to keep). */
int	queue_attempt_progress(struct store *, int64_t attempt,
	    double progress, const char *status);

struct queue_result {
	enum task_state	 state;		/* SUCCEEDED, FAILED or CANCELED */
	int		 exit_code;	/* -1 if none */
	const char	*fail_message;	/* openjd_fail, may be NULL */
	enum state_reason reason;
	const char	*message;	/* why, for people; may be NULL */
	int64_t		 log_length;	/* bytes of output, or -1 */
};

/*
 * Ends an attempt and the task's run (RUNNING -> result.state) and applies
 * the job's policy: retry, on-error, dependants, job completion.
 */
int	queue_task_end(struct store *, int64_t job, int step, int64_t task,
	    int64_t attempt, const struct queue_result *);
/*
 * Fails an ASSIGNED task whose session could not start (an attempt is
 * recorded), with the same policy as queue_task_end().
 */
int	queue_task_fail_assigned(struct store *, int64_t job, int step,
	    int64_t task, int64_t session, enum state_reason,
	    const char *msg);
/* Reason of a pending cancel request for the task (malloc'd) or NULL. */
char	*queue_task_cancel_reason(struct store *, int64_t job, int step,
	    int64_t task);

/*
 * Cancels the job, one step (task < 0) or one task (step, task >= 0):
 * tasks not started become CANCELED now; running ones get a cancel request
 * and their sessions are returned (malloc'd, caller frees) so the caller can
 * signal them.  Returns the number of tasks affected, or -1 (*err).
 */
int64_t	queue_cancel(struct store *, int64_t job, int step, int64_t task,
	    enum state_reason, const char *msg, int64_t **sessions,
	    size_t *nsessions, char **err);
/* Asks every running task of every job to cancel (stop --now). */
int	queue_cancel_running(struct store *, enum state_reason,
	    int64_t **sessions, size_t *nsessions);
int	queue_pause(struct store *, int64_t job, char **err);
int	queue_resume(struct store *, int64_t job, char **err);
/* Requeues FAILED tasks (and CANCELED, NOT_COMPATIBLE unless failed_only). */
int64_t	queue_retry(struct store *, int64_t job, int failed_only, char **err);
/* Deletes a final job (force: any job) and its history. */
int	queue_rm(struct store *, int64_t job, int force, char **err);
/*
 * Deletes final jobs that ended before cutoff (ms); returns how many and
 * their ids (malloc'd) for the caller to delete their logs.
 */
int64_t	queue_gc(struct store *, int64_t cutoff, int64_t **ids, size_t *n);

/* Sessions. */
int64_t	queue_session_new(struct store *, int64_t job, int step,
	    const char *host, const char *dir);
int	queue_session_set_proc(struct store *, int64_t session, long pid,
	    long pgid, int64_t proc_start);
int	queue_session_running(struct store *, int64_t session);
/*
 * Ends a session: its ASSIGNED tasks go back to READY, its RUNNING ones
 * fail with the reason (and are retried per policy).
 */
int	queue_session_end(struct store *, int64_t session, enum state_reason,
	    const char *msg);

struct queue_session_info {
	int64_t		 id;
	int64_t		 job;
	int		 step;
	long		 pid;
	long		 pgid;
	int64_t		 proc_start;
};
/* Sessions not ENDED (malloc'd array). */
int	queue_sessions_live(struct store *, struct queue_session_info **,
	    size_t *n);
/* Process groups of running attempts of a session (malloc'd). */
int	queue_session_action_pgids(struct store *, int64_t session,
	    long **pgids, size_t *n);

/*
 * Dispatch candidates: (job, step) pairs with READY tasks of unpaused jobs,
 * highest priority first, then submission order, then step order.
 */
struct queue_candidate {
	int64_t		 job;
	int		 step;
	int		 priority;
	int64_t		 ready;
};
int	queue_candidates(struct store *, struct queue_candidate **, size_t *n,
	    size_t max);
/* 1 if a job with priority above `priority` has READY tasks. */
int	queue_higher_waiting(struct store *, int priority);
/* Jobs with a terminate request and running tasks (malloc'd ids). */
int	queue_terminating_sessions(struct store *, int64_t **sessions,
	    size_t *n);
/* Jobs whose completion hook is due (hook_state = 1); ids, malloc'd. */
int	queue_hooks_due(struct store *, int64_t **ids, size_t *n);
int	queue_hook_done(struct store *, int64_t job);

/*
 * The step cannot run here (after a config reload): its READY and PENDING
 * tasks become NOT_COMPATIBLE with the reason.
 */
int	queue_step_incompatible(struct store *, int64_t job, int step,
	    const char *why);

/* Reading, for the CLI. */
json_t	*queue_job_json(struct store *, int64_t job, int detail);
/* Jobs in submission order; state < 0: any; all = 0: hides final jobs. */
json_t	*queue_list_json(struct store *, int state, int all);
/*
 * The same list written straight to out as JSON text (an array of the
 * objects queue_list_json() gives, same keys), without building a tree:
 * `drover ls --json` over 10,000 jobs stays in milliseconds.
 */
int	queue_list_write(struct store *, int state, int all, struct buf *out);
/* Number of jobs per state: {"RUNNING": 2, ...}. */
json_t	*queue_counts_json(struct store *);
/* Attempts of a job (step/task < 0: all), oldest first. */
json_t	*queue_attempts_json(struct store *, int64_t job, int step,
	    int64_t task);
/* Events of a job, oldest first. */
json_t	*queue_events_json(struct store *, int64_t job);
/* Job's name, state etc. for hooks: the job row as JSON, or NULL. */
int	queue_job_exists(struct store *, int64_t job);
/* The created-job JSON text (malloc'd) or NULL. */
char	*queue_job_document(struct store *, int64_t job, int *priority);
/* Index of the step called name, or -1. */
int	queue_step_index(struct store *, int64_t job, const char *name);

#endif
