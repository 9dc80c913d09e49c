/*
 * The session runtime: runs the actions of an OpenJD job on this host, as
 * "How Jobs Are Run" describes.  Both `drover run` and the queue's workers
 * use it; it knows nothing of terminals or command lines.
 *
 * A session owns a private working directory (mode 0700) and a stack of
 * entered environments.  The caller enters the job's environments, then a
 * step's, runs any number of that step's tasks (the expensive set-up of
 * an environment is paid once), and exits the environments in reverse
 * order.  Every action (onEnter, onRun, onExit) is one process in its own
 * process group, with stdin from /dev/null and stdout+stderr on one pipe;
 * each output line is handed to the caller's event callback, timestamped
 * and with every secret redacted.  When an action ends, whatever is left
 * of its process group is killed, so nothing it started outlives it (with
 * SESSION_REAP_ORPHANS also descendants that left the group).
 *
 * Sessions are brittle, as the spec wants: after an action fails, times
 * out or is canceled, only exiting environments is allowed.  The caller
 * must still exit every environment whose enter was attempted (a failed
 * enter leaves its environment on the stack for that reason), then free
 * the session, which deletes the directory unless asked to keep it.
 *
 * Objects are JSON (jansson) in the shape of the template or of the
 * created job (docs/job-json.md): an <Environment>, a <StepScript>, the
 * job's "parameters" array.  The session never keeps a pointer to them
 * past the call that took them, except the environments on its stack,
 * which it holds a reference to.
 *
 * Two ways to drive actions:
 *   blocking: session_enter_env(), session_run_task(), session_exit_env()
 *     return when the action is over;
 *   non-blocking (for an event loop): session_*_start() begins the action
 *     and returns; session_fd() is a descriptor that becomes readable
 *     whenever session_step() has work; session_step() never blocks and
 *     returns 0 once the action is over and its result is ready.
 * Only one action runs at a time in a session.  Functions are not
 * thread-safe; only the *_async() functions may be called from a signal
 * handler.
 */
#ifndef DROVER_SESSION_H
#define DROVER_SESSION_H

#include <signal.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "session/pathmap.h"

struct session;
struct symtab;

enum session_action_kind {
	SESSION_ENV_ENTER,
	SESSION_ENV_EXIT,
	SESSION_TASK_RUN,
};

enum session_action_state {
	SESSION_ACTION_NOT_RUN,		/* refused: wrong state, nothing to exit */
	SESSION_ACTION_RUNNING,
	SESSION_ACTION_SUCCESS,
	SESSION_ACTION_FAILED,		/* non-zero exit, spawn or set-up error,
					   malformed openjd_env */
	SESSION_ACTION_CANCELED,
	SESSION_ACTION_TIMEOUT,
};

enum session_event_type {
	SESSION_EV_LOG,		/* a line from the session itself (banner,
				   command, exit status, cancel steps) */
	SESSION_EV_OUTPUT,	/* a line the action printed */
	SESSION_EV_ACTION_START,
	SESSION_EV_ACTION_END,
	SESSION_EV_PROGRESS,	/* openjd_progress */
	SESSION_EV_STATUS,	/* openjd_status */
	SESSION_EV_FAIL,	/* openjd_fail */
	SESSION_EV_ENV_SET,	/* openjd_env / openjd_redacted_env applied */
	SESSION_EV_ENV_UNSET,	/* openjd_unset_env applied */
};

/* Everything in an event is valid only during the callback. */
struct session_event {
	enum session_event_type	  type;
	struct timespec		  ts;		/* CLOCK_REALTIME */
	enum session_action_kind  action;
	const char		 *name;		/* environment or step name */
	/*
	 * LOG/OUTPUT: the line (redacted, no newline); STATUS/FAIL: the
	 * message; ENV_SET/ENV_UNSET: the variable name.
	 */
	const char		 *text;
	const char		 *value;	/* ENV_SET: value, or "********" */
	double			  progress;	/* PROGRESS */
	pid_t			  pid;		/* ACTION_END: the process, or 0
						   if none ran */
	enum session_action_state state;	/* ACTION_END */
	int			  exit_code;	/* ACTION_END: -1 if none */
	int			  signal;	/* ACTION_END: killed by, or 0 */
};

typedef void (*session_event_fn)(void *arg, const struct session_event *);

/* session_config.flags */
#define SESSION_KEEP_DIR		0x01	/* do not delete the directory */
#define SESSION_REDACTED_ENV_VARS	0x02	/* REDACTED_ENV_VARS extension */
/*
 * Make this process a child subreaper (PR_SET_CHILD_SUBREAPER) and, after
 * every action, kill and reap every child of this process's main thread
 * that is not the action: descendants that escaped their process group
 * (setsid, double fork) are re-parented there when their parent dies.
 * Only for processes that run nothing but sessions (drover run, a worker
 * process); it would kill the other children of a process that has some.
 */
#define SESSION_REAP_ORPHANS		0x04
/* Do not echo openjd_* directive lines as OUTPUT events (still acted on). */
#define SESSION_QUIET_DIRECTIVES	0x08

struct session_config {
	/* Parent of the session directory; NULL: $TMPDIR, else /tmp. */
	const char		*root_dir;
	unsigned		 flags;
	/*
	 * The job's parameters as in the created job: [{"name", "type",
	 * "value"}, ...] (may be NULL).  Gives Param.<name> (PATH values
	 * path-mapped) and RawParam.<name>.
	 */
	const json_t		*parameters;
	/* More symbols for every format string (copied; may be NULL). */
	const struct symtab	*symbols;
	/* Path mapping rules (copied; may be NULL: no rules). */
	const struct pathmap	*path_mapping;
	/* Environment for actions ("NAME=VALUE"...; copied); NULL: environ. */
	char *const		*environ;
	/* Upper bound on any notify period, in seconds (0: none). */
	unsigned		 max_notify_seconds;
	session_event_fn	 event;		/* may be NULL */
	void			*event_arg;
	/*
	 * May be NULL.  Called once by session_new() when the session
	 * directory exists, before the path mapping file is written and
	 * Param.<name> is resolved: it may fill the directory (job
	 * attachments) and change pm, which holds a copy of path_mapping.
	 * Returns 0, or -1 with *err (malloc'd): session_new() then fails
	 * with that message.
	 */
	int			(*prepare)(void *arg, const char *dir,
				    struct pathmap *pm, char **err);
	void			*prepare_arg;
};

struct session_result {
	enum session_action_state state;
	int		 exit_code;	/* -1 if the process did not exit */
	int		 signal;	/* signal that ended it, or 0 */
	double		 seconds;	/* wall time of the action */
	double		 progress;	/* last openjd_progress, or -1 */
	/*
	 * Why it did not succeed (set-up error, malformed directive,
	 * openjd_fail text, "timed out after N s"...), or NULL; status is the
	 * last openjd_status, or NULL.  Both redacted, both owned by the
	 * session and valid until the next action starts.
	 */
	const char	*message;
	const char	*status;
};

/*
 * Creates the session directory (<root>/drover-session-XXXXXX, 0700), an
 * "embedded_files" folder in it and the path mapping file.  Returns NULL
 * with *err (caller frees) on failure.
 */
struct session	*session_new(const struct session_config *, char **err);
/*
 * Kills a running action (SIGKILL to its group), deletes the directory
 * unless SESSION_KEEP_DIR, frees everything.  Environments still entered
 * are not exited: exit them first.  NULL is a no-op.
 */
void		 session_free(struct session *);

const char	*session_dir(const struct session *);
/* Session.PathMappingRulesFile */
const char	*session_pathmap_file(const struct session *);
/* Number of environments on the stack (entered or attempted). */
size_t		 session_env_depth(const struct session *);
/* Name of the i-th environment on the stack (0 = first entered). */
const char	*session_env_name(const struct session *, size_t i);
/* 1 once an action failed or was canceled: only exits are allowed. */
int		 session_ending(const struct session *);
/* 1 while an action runs. */
int		 session_busy(const struct session *);
/* text with every secret seen so far replaced (new string, caller frees). */
char		*session_redact(const struct session *, const char *text);

/*
 * One task parameter: type is "INT", "FLOAT", "STRING", "PATH" or
 * "CHUNK[INT]"; PATH values are path-mapped for Task.Param.<name>.
 */
struct session_task_param {
	const char	*name;
	const char	*type;
	const char	*value;
};

/*
 * Blocking actions.  Each returns 0 if the action succeeded (or there was
 * nothing to run), else -1; res (may be NULL) gets the details.
 *
 * session_enter_env: pushes env (an <Environment>) on the stack, resolves
 * its variables, writes its embedded files and runs onEnter if any.  The
 * environment stays on the stack even if this fails: exit it.
 * session_exit_env: runs onExit of the innermost environment (if any) with
 * its variables still set, then pops it.  Refused if the stack is empty.
 * session_run_task: writes the script's embedded files and runs onRun of
 * script (a <StepScript>) with the task's parameters.  step_name is for
 * events and messages.
 */
int	session_enter_env(struct session *, const json_t *env,
	    struct session_result *res);
int	session_exit_env(struct session *, struct session_result *res);
int	session_run_task(struct session *, const char *step_name,
	    const json_t *script, const struct session_task_param *params,
	    size_t nparams, struct session_result *res);

/*
 * Non-blocking versions: return 0 once the action is under way (or
 * already over: a set-up error, nothing to run), -1 if refused (with res
 * filled; no event is sent).  Then call session_step() whenever
 * session_fd() is readable (or at any time) until it returns 0;
 * session_result() gives the outcome.
 */
int	session_enter_env_start(struct session *, const json_t *env,
	    struct session_result *res);
int	session_exit_env_start(struct session *, struct session_result *res);
int	session_run_task_start(struct session *, const char *step_name,
	    const json_t *script, const struct session_task_param *params,
	    size_t nparams, struct session_result *res);
/* An epoll descriptor; readable when session_step() has something to do. */
int	session_fd(const struct session *);
/* Does what is ready without blocking; 1 while the action runs, else 0. */
int	session_step(struct session *);
/*
 * Like session_step() but first waits up to timeout_ms (-1: no limit) for
 * something to do; returns early (EINTR) when a signal arrives.
 */
int	session_poll(struct session *, int timeout_ms);
/* Blocks until the current action (if any) is over. */
void	session_wait(struct session *);
/* The outcome of the last action (valid until the next one starts). */
void	session_result(const struct session *, struct session_result *);

/*
 * Cancels the running action with its cancelation method: TERMINATE kills
 * the process group; NOTIFY_THEN_TERMINATE writes cancel_info.json, sends
 * SIGTERM to the group and kills it after the notify period (the action's
 * notifyPeriodInSeconds, default 120 s for onRun and 30 s otherwise,
 * capped by max_notify_seconds and by limit_seconds if not 0).  The
 * action ends CANCELED (FAILED if mark_failed).  No-op when idle.
 */
void	session_cancel(struct session *, unsigned limit_seconds,
	    int mark_failed);
/* SIGKILL to the running action's group now; it ends CANCELED. */
void	session_kill(struct session *);
/*
 * Async-signal-safe requests, carried out by the next session_step() (a
 * blocking call does that itself).  session_cancel_async() while no action
 * runs makes the session ending: the next enter or task is refused (as
 * CANCELED).  session_kill_async() also sends the SIGKILL at once.
 */
void	session_cancel_async(struct session *);
void	session_kill_async(struct session *);

const char	*session_action_state_name(enum session_action_state);


#endif
