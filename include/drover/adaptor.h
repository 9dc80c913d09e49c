/*
 * libdrover-adaptor: a runtime for OpenJD adaptors written in C.
 *
 * An adaptor is a small program between an OpenJD job and an application
 * (a renderer, a simulator).  It describes itself with a struct
 * drover_adaptor_def (callbacks and a user pointer) and hands control to
 * drover_adaptor_main(), which gives every adaptor the same command line as
 * the OpenJD Python adaptor runtime:
 *
 *	ADAPTOR run --init-data DATA --run-data DATA [--path-mapping-rules DATA]
 *	ADAPTOR daemon start [--connection-file PATH] [--init-data DATA]
 *	                     [--path-mapping-rules DATA] [--log-file PATH]
 *	ADAPTOR daemon run [--connection-file PATH] [--run-data DATA]
 *	ADAPTOR daemon stop [--connection-file PATH]
 *	ADAPTOR show-config | version-info
 *	ADAPTOR is-compatible --openjd-adaptor-cli-version M.m
 *	                      --integration-data-interface-version M.m
 *
 * DATA is JSON (or YAML) text, or file://PATH naming a file holding it.
 *
 * This header is the whole published interface: anything not declared here
 * is internal.  Conventions:
 *   - functions returning int return 0 (or a count) on success and a
 *     negative DROVER_E* code on failure; drover_strerror() names the code,
 *     drover_adaptor_errmsg() gives the detail of the last failure;
 *   - if a function fails, none of its callbacks is called;
 *   - "char *" results are the caller's to free(); "const" results are
 *     borrowed and stay valid as the header says;
 *   - the library never exits or aborts the process.
 *
 * Threads: callbacks on_start, on_run, on_stop, on_cleanup,
 * get_managed_process, on_prerun, on_postrun and the line handlers run on one
 * worker thread.  on_cancel runs on another thread while on_run may still be
 * running: it must not block, and it only needs to ask the work to stop —
 * the runtime itself terminates every managed process afterwards.  The log
 * and openjd_* helpers may be called from any thread.
 */
#ifndef DROVER_ADAPTOR_H
#define DROVER_ADAPTOR_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) || defined(__clang__)
#define DROVER_EXTERN	__attribute__((visibility("default")))
#define DROVER_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DROVER_EXTERN
#define DROVER_PRINTF(f, a)
#endif

/* Version of this library. */
#define DROVER_ADAPTOR_VERSION_MAJOR	0
#define DROVER_ADAPTOR_VERSION_MINOR	1
#define DROVER_ADAPTOR_VERSION_PATCH	0
/* Version of the OpenJD adaptor command-line contract implemented. */
#define DROVER_ADAPTOR_CLI_VERSION	"0.1"

/* Error codes: always negative. */
enum drover_error {
	DROVER_ENOMEM = -1,	/* out of memory */
	DROVER_EINVAL = -2,	/* bad argument, bad data, bad pattern */
	DROVER_EIO = -3,	/* a system call failed (detail in errmsg) */
	DROVER_ESCHEMA = -4,	/* data does not match its schema */
	DROVER_EPROTO = -5,	/* malformed message from the peer */
	DROVER_ECONN = -6,	/* cannot reach the adaptor daemon */
	DROVER_EPERM = -7,	/* peer or file not allowed */
	DROVER_EEXIST = -8,	/* already exists */
	DROVER_ENOENT = -9,	/* does not exist */
	DROVER_ECANCELED = -10,	/* the work was canceled */
	DROVER_EFAILED = -11,	/* the adaptor reported a failure */
	DROVER_ETIMEDOUT = -12,	/* a wait ran out of time */
	DROVER_EABORTED = -13,	/* a line handler aborted the process */
	DROVER_ESTATE = -14	/* not allowed in the current state */
};

/* A short static description of a DROVER_E* code ("out of memory"). */
DROVER_EXTERN const char *drover_strerror(int code);

/* The runtime's handle, passed to every callback. */
typedef struct drover_adaptor drover_adaptor;
/* A command line being built (argv, environment, working directory). */
typedef struct drover_cmd drover_cmd;
/* A process started and watched by the runtime. */
typedef struct drover_process drover_process;
/* A set of OpenJD path-mapping rules. */
typedef struct drover_pathmap drover_pathmap;

/*
 * Line handlers: a callback for each output line of a managed process that
 * matches a POSIX extended regular expression (searched anywhere in the
 * line).  Handlers are tried in order.
 */
struct drover_span {
	int	start;		/* byte offsets into the line; -1 if unset */
	int	end;
};

struct drover_match {
	const char	*line;	/* the whole line, without its newline */
	int		 stream;	/* 1 stdout, 2 stderr */
	size_t		 ngroups;	/* groups[0] is the whole match */
	const struct drover_span *groups;
};

#define DROVER_LINE_STDOUT		0x01	/* match stdout lines */
#define DROVER_LINE_STDERR		0x02	/* match stderr lines */
/* (neither flag: both streams) */
#define DROVER_LINE_EXIT_IF_MATCHED	0x04	/* no later handler sees the line */
#define DROVER_LINE_ONLY_IF_FIRST	0x08	/* skip if an earlier handler matched */

/* What a line handler returns. */
#define DROVER_LINE_CONTINUE	0	/* go on */
#define DROVER_LINE_DONE	1	/* drover_process_pump() returns 1 */
#define DROVER_LINE_ABORT	2	/* terminate the process, run fails */

struct drover_line_handler {
	const char	*pattern;
	unsigned	 flags;
	int		(*cb)(drover_adaptor *, const struct drover_match *,
			    void *arg);
	void		*arg;
};

/* Copies group i of a match into buf (NUL-terminated, truncated to size).
 * Returns the group's length, or -1 if the group did not take part. */
DROVER_EXTERN int drover_match_group(const struct drover_match *, size_t i,
    char *buf, size_t size);
/* Parses group i as a decimal integer into *out; 0 or DROVER_EINVAL. */
DROVER_EXTERN int drover_match_long(const struct drover_match *, size_t i,
    long *out);

/*
 * The adaptor's description.  A full adaptor sets on_run (and any of
 * on_start, on_stop, on_cleanup, on_cancel).  A command adaptor leaves
 * on_run NULL and sets get_managed_process: each run then builds one
 * command, calls on_prerun, runs the command with `handlers` watching its
 * output, and calls on_postrun with its exit code (a non-zero exit code
 * fails the run unless on_postrun returns 0).
 *
 * Callbacks return 0 on success or a negative DROVER_E* code on failure;
 * a failure is reported as an `openjd_fail:` line carrying
 * drover_adaptor_errmsg().
 *
 * File names (config_path, schema paths) that are relative are taken
 * relative to the directory holding the adaptor's executable.
 */
struct drover_adaptor_def {
	const char	*name;		/* "ToyRender"; names the config files */
	int		 data_version_major;	/* integration data interface */
	int		 data_version_minor;
	const char	*config_path;	/* shipped JSON config, may be NULL */
	const char	*config_schema_path;	/* schema of the config, or NULL */
	const char	*init_schema_path;	/* schema of --init-data, or NULL */
	const char	*run_schema_path;	/* schema of --run-data, or NULL */
	void		*user;		/* drover_adaptor_user() returns it */

	int	(*on_start)(drover_adaptor *, const json_t *init_data);
	int	(*on_run)(drover_adaptor *, const json_t *run_data);
	int	(*on_stop)(drover_adaptor *);
	int	(*on_cleanup)(drover_adaptor *);
	void	(*on_cancel)(drover_adaptor *);

	int	(*get_managed_process)(drover_adaptor *, const json_t *run_data,
		    drover_cmd *cmd);
	int	(*on_prerun)(drover_adaptor *, const json_t *run_data);
	int	(*on_postrun)(drover_adaptor *, int exit_code);
	const struct drover_line_handler *handlers;
	size_t	 nhandlers;
};

/*
 * Parses argv and runs the command it names (see the top of this file).
 * Returns the exit status for main() to return: 0 success, 1 the adaptor
 * or the daemon reported a failure or the run was canceled, 2 usage error,
 * 3 system error.  Call it once per process, from the main thread.
 */
DROVER_EXTERN int drover_adaptor_main(int argc, char **argv,
    const struct drover_adaptor_def *def);

/* The def's user pointer. */
DROVER_EXTERN void *drover_adaptor_user(drover_adaptor *);
/* The init data (an object, possibly empty); valid for the handle's life. */
DROVER_EXTERN const json_t *drover_adaptor_init_data(drover_adaptor *);
/* The merged configuration (shipped config + override files). */
DROVER_EXTERN const json_t *drover_adaptor_config(drover_adaptor *);
/* The path-mapping rules given to the adaptor (possibly empty). */
DROVER_EXTERN const drover_pathmap *drover_adaptor_pathmap(drover_adaptor *);
/* The directory holding the adaptor's executable (to find files shipped
 * with it), or "." if unknown. */
DROVER_EXTERN const char *drover_adaptor_dir(drover_adaptor *);
/* Non-zero once the current run has been asked to cancel. */
DROVER_EXTERN int drover_adaptor_canceled(drover_adaptor *);

/* Records a failure detail on the handle and returns code, so that a
 * callback can `return drover_adaptor_error(a, DROVER_EINVAL, "...")`. */
DROVER_EXTERN int drover_adaptor_error(drover_adaptor *, int code,
    const char *fmt, ...) DROVER_PRINTF(3, 4);
/* The detail of the last failure recorded on the handle (by the runtime
 * or by drover_adaptor_error); never NULL, valid until the next failure. */
DROVER_EXTERN const char *drover_adaptor_errmsg(drover_adaptor *);

/*
 * Output.  Every line goes to the run's output: stdout for `run`, the
 * `daemon run` client's stdout in daemon mode.  Lines are written whole and
 * at once (no stdio buffering).  With a NULL handle they go to stdout.
 */
enum drover_log_level {
	DROVER_LOG_DEBUG,
	DROVER_LOG_INFO,
	DROVER_LOG_WARNING,
	DROVER_LOG_ERROR
};

/* "LEVEL: message", dropped below the configured log_level. */
DROVER_EXTERN void drover_adaptor_log(drover_adaptor *,
    enum drover_log_level, const char *fmt, ...) DROVER_PRINTF(3, 4);
DROVER_EXTERN void drover_adaptor_vlog(drover_adaptor *,
    enum drover_log_level, const char *fmt, va_list);
/* openjd_progress: N (N clamped to 0..100; non-finite values ignored). */
DROVER_EXTERN void drover_adaptor_progress(drover_adaptor *, double percent);
/* openjd_status: message */
DROVER_EXTERN void drover_adaptor_status(drover_adaptor *,
    const char *fmt, ...) DROVER_PRINTF(2, 3);
/* openjd_fail: message; also marks the current run as failed. */
DROVER_EXTERN void drover_adaptor_fail(drover_adaptor *,
    const char *fmt, ...) DROVER_PRINTF(2, 3);
/* A raw line, written as is (for example an application's own output). */
DROVER_EXTERN void drover_adaptor_print(drover_adaptor *, const char *line);

/* Maps a path with the adaptor's path-mapping rules; returns a new string
 * (the path itself when no rule matches), or NULL when out of memory. */
DROVER_EXTERN char *drover_adaptor_map_path(drover_adaptor *, const char *path);

/*
 * Command lines.  Every function copies its arguments.  The first argument
 * is the program, looked up in PATH when it has no slash.
 */
DROVER_EXTERN drover_cmd *drover_cmd_new(void);
DROVER_EXTERN void drover_cmd_free(drover_cmd *);
DROVER_EXTERN int drover_cmd_arg(drover_cmd *, const char *arg);
DROVER_EXTERN int drover_cmd_argf(drover_cmd *, const char *fmt, ...)
    DROVER_PRINTF(2, 3);
/* Sets (value non-NULL) or unsets (value NULL) a variable for the child. */
DROVER_EXTERN int drover_cmd_env(drover_cmd *, const char *name,
    const char *value);
DROVER_EXTERN int drover_cmd_cwd(drover_cmd *, const char *dir);
/* Keeps a pipe to the child's stdin (default: /dev/null). */
DROVER_EXTERN int drover_cmd_stdin_pipe(drover_cmd *, int on);

/*
 * Managed processes.  Each runs in its own process group; its stdout and
 * stderr are read line by line: each line is written to the run's output
 * ("STDOUT: line" / "STDERR: line", or as is if it is an openjd_ message)
 * and then given to the handlers.  Canceling the run terminates every
 * managed process (SIGTERM to its group, a grace period, SIGKILL).
 *
 * drover_process_start() copies cmd and handlers (patterns are compiled
 * there: a bad pattern fails with DROVER_EINVAL).
 */
DROVER_EXTERN int drover_process_start(drover_adaptor *, const drover_cmd *,
    const struct drover_line_handler *handlers, size_t nhandlers,
    drover_process **out);
/* Writes to the child's stdin (needs drover_cmd_stdin_pipe). */
DROVER_EXTERN int drover_process_write(drover_process *, const void *data,
    size_t len);
DROVER_EXTERN int drover_process_printf(drover_process *, const char *fmt, ...)
    DROVER_PRINTF(2, 3);
DROVER_EXTERN int drover_process_close_stdin(drover_process *);
/*
 * Reads output and calls handlers for up to timeout_ms (-1: no limit).
 * Returns DROVER_LINE_DONE (1) when a handler returned it, 0 when the
 * process has exited (see drover_process_exit_code), DROVER_ETIMEDOUT,
 * DROVER_EABORTED when a handler returned DROVER_LINE_ABORT (the process is
 * then terminated), or another negative code.
 */
DROVER_EXTERN int drover_process_pump(drover_process *, int timeout_ms);
/* Pumps until the process exits; *exit_code gets its exit status, or
 * 128 + the signal that killed it.  Returns 0 or a negative code. */
DROVER_EXTERN int drover_process_wait(drover_process *, int *exit_code);
/* SIGTERM to the process group, up to grace_ms, then SIGKILL; reaps it. */
DROVER_EXTERN int drover_process_terminate(drover_process *, int grace_ms);
DROVER_EXTERN int drover_process_running(drover_process *);
DROVER_EXTERN int drover_process_pid(const drover_process *);
/* The exit code once the process has exited, else -1. */
DROVER_EXTERN int drover_process_exit_code(const drover_process *);
/* Kills the process group if it still runs, reaps it, frees p. */
DROVER_EXTERN void drover_process_free(drover_process *);

/*
 * Path mapping (OpenJD pathmapping-1.0).  Rules are applied longest source
 * path first; the first rule whose source is a whole-component prefix of
 * the path wins.  WINDOWS sources match without regard to case and with
 * either slash; the remainder of a mapped path uses '/'.
 * Functions taking err fill it with a message (NUL-terminated, at most
 * errsz bytes) on failure; err may be NULL.
 */
DROVER_EXTERN drover_pathmap *drover_pathmap_new(void);
DROVER_EXTERN void drover_pathmap_free(drover_pathmap *);
/* format is "POSIX" or "WINDOWS". */
DROVER_EXTERN int drover_pathmap_add(drover_pathmap *, const char *format,
    const char *source, const char *destination, char *err, size_t errsz);
/* Adds the rules of a {"version": "pathmapping-1.0", "path_mapping_rules":
 * [...]} document (an empty object is accepted). */
DROVER_EXTERN int drover_pathmap_load_json(drover_pathmap *, const json_t *doc,
    char *err, size_t errsz);
DROVER_EXTERN int drover_pathmap_load_file(drover_pathmap *, const char *path,
    char *err, size_t errsz);
DROVER_EXTERN size_t drover_pathmap_count(const drover_pathmap *);
/* A new string: the mapped path, or a copy of path; NULL if out of memory.
 * *matched (may be NULL) is set to 1 when a rule applied. */
DROVER_EXTERN char *drover_pathmap_apply(const drover_pathmap *,
    const char *path, int *matched);

/*
 * JSON schema subset: type (string, number, integer, boolean, object,
 * array, null, or a list of them), required, properties,
 * additionalProperties (false or a schema), enum, items.  Other keywords
 * are ignored.  Returns 0 when data matches; DROVER_ESCHEMA with *errors set
 * to a newline-separated list of "path: message" (caller frees) when it
 * does not; DROVER_EINVAL for a malformed schema; DROVER_ENOMEM.
 * root names the data in messages ("run_data").  errors may be NULL.
 */
DROVER_EXTERN int drover_schema_validate(const json_t *schema,
    const json_t *data, const char *root, char **errors);

#ifdef __cplusplus
}
#endif

#endif
