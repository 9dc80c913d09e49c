/*
 * The task state machine, and the one module that changes a state.
 *
 * Every move of a task's state goes through state_task_move() or
 * state_step_move() here, which check it against the table of allowed moves
 * (state_moves[]), keep the per-step counts, and append to the event log,
 * all inside the caller's transaction.  A move that is not in the table is
 * refused (-1) and logged as an internal error; the caller rolls back.
 * docs/state-machine.md draws the same table; tests/unit/u-state.c checks
 * that the drawing and the table agree both ways.
 *
 * A step's or job's state is derived from its task counts (state_derive());
 * a job also records a reason code and a message saying why it is where it
 * is (enum state_reason).
 */
#ifndef DROVER_STATE_H
#define DROVER_STATE_H

#include <stddef.h>
#include <stdint.h>

struct store;

enum task_state {
	TASK_PENDING,		/* waiting on dependencies */
	TASK_READY,		/* may be dispatched */
	TASK_ASSIGNED,		/* claimed by a session, not started */
	TASK_RUNNING,
	TASK_SUCCEEDED,
	TASK_FAILED,
	TASK_CANCELED,
	TASK_SUSPENDED,		/* job paused */
	TASK_NOT_COMPATIBLE,	/* can never run on this host */
	TASK_NSTATES
};

struct state_move {
	enum task_state	 from;
	enum task_state	 to;
	const char	*why;	/* when it happens (for the docs) */
};

extern const struct state_move state_moves[];
extern const size_t state_nmoves;

/* "PENDING", ...; NULL for a bad value. */
const char	*task_state_name(enum task_state);
/* Lower-case column suffix: "pending", "not_compatible". */
const char	*task_state_column(enum task_state);
/* Case-insensitive; -1 if unknown. */
int		 task_state_parse(const char *);
/* SUCCEEDED, FAILED, CANCELED, NOT_COMPATIBLE */
int		 task_state_final(enum task_state);
int		 state_move_allowed(enum task_state from, enum task_state to);

/*
 * State of a step or job from the number of tasks in each state: all
 * final: SUCCEEDED if all succeeded, else FAILED if any failed, else
 * NOT_COMPATIBLE if any is, else CANCELED; otherwise RUNNING if any is
 * assigned or running, READY if any is ready, SUSPENDED if any is
 * suspended, else PENDING.
 */
enum task_state	 state_derive(const int64_t counts[TASK_NSTATES]);

/* Why a job (or task) is where it is. */
enum state_reason {
	REASON_NONE,
	REASON_SUBMITTED,
	REASON_WAITING_DEPS,
	REASON_WAITING_WORKERS,
	REASON_RUNNING,
	REASON_PAUSED,
	REASON_RESUMED,
	REASON_DISPATCHED,
	REASON_DEPENDENCY_FAILED,
	REASON_NONZERO_EXIT,
	REASON_CANCELED_BY_USER,
	REASON_KILLED_BY_ADMIN,
	REASON_INTERNAL_ERROR,
	REASON_SUCCEEDED,
	REASON_NOT_COMPATIBLE,
	REASON_DAEMON_RESTARTED,
	REASON_SESSION_FAILED,
	REASON_RETRY,
	REASON_JOB_QUIT,
	REASON_JOB_TERMINATED,
	REASON_REQUEUED,
	REASON_UNMATCHED_OUTPUTS,	/* job attachments: no declared output */
	REASON_NREASONS
};

/* "NONZERO_EXIT", ... (stored); "nonzero exit" (for people). */
const char	*state_reason_code(enum state_reason);
const char	*state_reason_text(enum state_reason);
/* -1 if unknown. */
int		 state_reason_parse(const char *);

/*
 * Moves: all run inside the caller's store transaction and return 0, or
 * -1 (logged) when the move is not allowed or SQL fails.
 */

/* Current state of one task (row or the step's implicit state); -1. */
int	state_task_get(struct store *, int64_t job, int step, int64_t task);
/*
 * Moves one task to `to`.  A task without a row gets one.  session >= 0
 * records the session that holds it (ASSIGNED/RUNNING).  msg may be NULL.
 */
int	state_task_move(struct store *, int64_t job, int step, int64_t task,
	    enum task_state to, enum state_reason, const char *msg,
	    int64_t session);
/*
 * Moves every task of the step whose state is in mask (bit 1 << state) to
 * `to`, without materialising the implicit ones (one event for them).
 * Returns the number of tasks moved, or -1.
 */
int64_t	state_step_move(struct store *, int64_t job, int step,
	    unsigned mask, enum task_state to, enum state_reason,
	    const char *msg);
/* Same over every step of the job. */
int64_t	state_job_move(struct store *, int64_t job, unsigned mask,
	    enum task_state to, enum state_reason, const char *msg);

#define STATE_BIT(s)	(1u << (s))

/*
 * Recomputes the step states and the job's state from the counts, records
 * a job state change (with reason and message: the job's recorded failure
 * reason sticks once set, until a retry clears it) in the event log and
 * sets the start and end times.  *became_final (may be NULL) is set when
 * the job just reached a final state.
 */
int	state_job_refresh(struct store *, int64_t job, int *became_final);
/* Records a failure reason for the job (kept until a retry). */
int	state_job_set_failure(struct store *, int64_t job, enum state_reason,
	    const char *msg);
/* Appends an event (state names may be NULL). */
int	state_event(struct store *, int64_t job, int step, int64_t task,
	    const char *from, const char *to, enum state_reason,
	    const char *msg);

#endif
