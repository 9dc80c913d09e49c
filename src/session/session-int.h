/*
 * Private to src/session: the session and action structures shared by
 * session.c (state machine, environments, symbols), action.c (processes,
 * output, cancelation) and files.c (directories, embedded files).
 */
#ifndef DROVER_SESSION_INT_H
#define DROVER_SESSION_INT_H

#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/types.h>

#include <jansson.h>

#include "common/buf.h"
#include "session/filter.h"
#include "session/pathmap.h"
#include "session/session.h"

struct symtab;

/* One variable: value NULL means unset. */
struct envvar {
	char	*name;
	char	*value;
};

struct envvars {
	struct envvar	*v;
	size_t		 n;
	size_t		 alloc;
};

/* The path an embedded file of a script is written to. */
struct efile {
	char	*key;		/* "<name>\n<filename or empty>" */
	char	*path;
};

struct efiles {
	struct efile	*v;
	size_t		 n;
	size_t		 alloc;
};

/* An environment on the stack. */
struct envrec {
	char		*name;
	json_t		*env;		/* a reference to the <Environment> */
	struct envvars	 set;		/* variables + openjd_env, in order */
	struct envvars	 unset;		/* openjd_unset_env (wins over set) */
	struct efiles	 files;		/* Env.File.* */
};

/* The one action that may be running. */
struct action {
	enum session_action_kind kind;
	char		*name;		/* environment or step name */
	struct envrec	*env;		/* ENTER/EXIT: its environment */
	pid_t		 pid;		/* 0 until spawned */
	int		 pidfd;		/* -1 when closed */
	int		 outfd;		/* -1 when closed (EOF) */
	int		 exited;	/* reaped */
	int		 exit_code;	/* -1 if killed by a signal */
	int		 signal;
	int		 notify;	/* NOTIFY_THEN_TERMINATE */
	unsigned	 notify_period;	/* seconds */
	unsigned	 timeout;	/* seconds, 0: none */
	int64_t		 start_ns;	/* monotonic */
	int64_t		 timeout_ns;	/* deadline, 0: none */
	int64_t		 kill_ns;	/* SIGKILL deadline after SIGTERM */
	int64_t		 drain_ns;	/* close the pipe if no EOF by then */
	int		 notified;	/* SIGTERM sent */
	int		 killed;	/* SIGKILL sent */
	int		 canceled;
	int		 timed_out;
	int		 mark_failed;
	int		 setup_failed;
	struct buf	 line;		/* partial output line */
	int		 skipping;	/* dropping the rest of an over-long line */
	double		 progress;
	char		*status;
	char		*message;
};

struct session {
	char		*dir;
	char		*files_dir;
	char		*pathmap_file;
	unsigned	 flags;
	unsigned	 max_notify;
	struct pathmap	 pm;
	struct symtab	*base;		/* Session.*, Param.*, RawParam.*, extra */
	struct envvars	 base_env;	/* the environment actions start from */
	char		**envp;		/* built from base_env + stack; NULL: stale */
	unsigned	 envp_gen;	/* bumped when envp is rebuilt */
	struct envrec	**envs;		/* the stack, first entered first */
	size_t		 nenvs;
	size_t		 aenvs;
	struct efiles	 task_files;	/* Task.File.* paths, by name */
	struct redact_set *redact;
	session_event_fn event;
	void		*event_arg;
	sigset_t	 sigdefault;	/* signals reset in actions */

	/* Spawning (action.c), set up once per session. */
	void		*spawn_stack;	/* the child's stack until it execs */
	size_t		 spawn_stack_size;
	int		 nullfd;	/* /dev/null, the actions' stdin (>= 3) */
	int		 dirfd;		/* the session directory, for fchdir */
	int		 childrenfd;	/* /proc/self/task/PID/children, or -1 */
	/*
	 * Processes an environment's onEnter left running (an adaptor
	 * daemon, a license server): with SESSION_REAP_ORPHANS they are our
	 * children, kept alive until that environment's onExit has run, and
	 * killed then (or when the session is freed).
	 */
	struct kept_proc {
		pid_t		 pid;
		struct envrec	*owner;
	}		*kept;
	size_t		 nkept;
	size_t		 akept;

	int		 epfd;
	int		 evfd;		/* eventfd for the *_async requests */
	int		 timerfd;
	int64_t		 timer_ns;	/* what timerfd is armed for, 0: disarmed */

	int		 ending;
	int		 busy;		/* an action is under way */
	struct action	 act;
	struct session_result last;
	char		*last_message;
	char		*last_status;

	/* lookup cache for the command search */
	char		*cache_cmd;
	char		*cache_path;
	unsigned	 cache_gen;

	volatile sig_atomic_t cancel_req;
	volatile sig_atomic_t kill_req;
	volatile sig_atomic_t sig_pgid;	/* running group, for kill_async */
};

/* epoll tags */
#define SESSION_TAG_OUT		1
#define SESSION_TAG_PID		2
#define SESSION_TAG_TIMER	3
#define SESSION_TAG_EVENT	4

int64_t	session_now_ns(void);
/* Sends a LOG event (printf-style, redacted). */
void	session_log(struct session *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
void	session_emit(struct session *, struct session_event *);

/* action.c */
/* Opens the descriptors and builds the spawn attributes (session_new). */
int	action_spawn_setup(struct session *, char **err);
void	action_spawn_release(struct session *);
/* Kills the processes kept for owner's environment (NULL: all of them). */
void	action_kill_kept(struct session *, const struct envrec *owner);
/* Spawns program path with argv for s->act; 0 or -1 with *err. */
int	action_spawn(struct session *, const char *path, char *const *argv,
	    char *const *envp, char **err);
/* Handles ready epoll events (n may be 0: only deadlines and requests). */
void	action_handle(struct session *, const struct epoll_event *, int n);
/* reason: 0 caller cancel, 1 timeout, 2 malformed directive */
void	action_cancel(struct session *, unsigned limit, int mark_failed,
	    int reason);
void	action_kill(struct session *);
/* Called by action.c when the process is gone and the output drained. */
void	session_action_done(struct session *);
/* Applies an output line of the running action. */
void	session_action_line(struct session *, const char *line);

/* files.c */
int	files_rmtree(const char *path);
/* Validates a <Filename>: one path component. */
int	files_name_ok(const char *filename);
/*
 * The path for embedded file ef of a script: reuses the entry of cache
 * keyed by its name and filename, else makes one (random name unless
 * filename is given).  Returns the cached path (owned by cache) or NULL
 * with *err.
 */
const char *files_path(struct session *, struct efiles *cache,
	    const json_t *ef, char **err);
/* Resolves ef's data against st and writes it to path. */
int	files_write(const json_t *ef, const char *path,
	    const struct symtab *st, char **err);
void	efiles_release(struct efiles *);
/* Writes cancel_info.json with NotifyEnd = now + seconds. */
void	files_cancel_info(struct session *, unsigned seconds);

void	envvars_set(struct envvars *, const char *name, const char *value);
void	envvars_release(struct envvars *);

#endif
