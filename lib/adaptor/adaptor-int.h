/*
 * Internals of libdrover-adaptor, shared by the library's .c files and
 * the unit tests.  Nothing here is installed or exported (the library is built with
 * -fvisibility=hidden; only DROVER_EXTERN symbols of adaptor.h leave it).
 * Internal functions that cannot be static carry the drover__ prefix.
 *
 * Errors inside the library follow the public rule: negative DROVER_E*
 * codes, with a message written into a caller-supplied (err, errsz) buffer
 * where there is no handle.
 */
#ifndef DROVER_ADAPTOR_INT_H
#define DROVER_ADAPTOR_INT_H

#include <pthread.h>
#include <regex.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/types.h>

#include "drover/adaptor.h"

#define DROVER__ERRMAX		1024
#define DROVER__LINE_MAX	(64 * 1024)	/* longer lines are split */
#define DROVER__MSG_MAX		(16 * 1024 * 1024)	/* protocol message */
#define DROVER__PROTO_VERSION	1

/* Timing of the daemon protocol, in milliseconds. */
#define DROVER__HEARTBEAT_MS	1000	/* send a ping after this much quiet */
#define DROVER__DEAD_MS		5000	/* peer silent this long: gone */
#define DROVER__ORPHAN_MS	5000	/* a job waits this long for its client */
#define DROVER__RECONNECT_MS	5000	/* client retries a lost connection */

/* ---- util.c ---------------------------------------------------------- */

/* Growable byte buffer; s is NUL-terminated when not NULL. */
struct dbuf {
	char	*s;
	size_t	 len;
	size_t	 alloc;
};
#define DBUF_INIT { NULL, 0, 0 }

int	drover__dbuf_grow(struct dbuf *, size_t extra);
int	drover__dbuf_add(struct dbuf *, const void *, size_t);
int	drover__dbuf_adds(struct dbuf *, const char *);
int	drover__dbuf_addf(struct dbuf *, const char *, ...)
	    DROVER_PRINTF(2, 3);
int	drover__dbuf_vaddf(struct dbuf *, const char *, va_list);
/* Drops the first n bytes. */
void	drover__dbuf_consume(struct dbuf *, size_t n);
void	drover__dbuf_release(struct dbuf *);
/* Hands over the string (never NULL unless out of memory). */
char	*drover__dbuf_detach(struct dbuf *);

void	drover__seterr(char *err, size_t errsz, const char *fmt, ...)
	    DROVER_PRINTF(3, 4);
char	*drover__strdup(const char *);
char	*drover__asprintf(const char *, ...) DROVER_PRINTF(1, 2);
/* Reads a whole file; 0, or DROVER_EIO/ENOENT/ENOMEM with err filled. */
int	drover__read_file(const char *path, char **out, size_t *lenp,
	    char *err, size_t errsz);
/* Monotonic clock in milliseconds. */
long long drover__now_ms(void);
/* Directory of the running executable (malloc'd), or NULL. */
char	*drover__exe_dir(void);
/* path if absolute, else dir/path (malloc'd). */
char	*drover__resolve(const char *dir, const char *path);
/* Writes all of buf to fd, retrying on EINTR; 0 or -1 with errno. */
int	drover__write_all(int fd, const void *buf, size_t len);
/* Sets O_NONBLOCK and FD_CLOEXEC. */
int	drover__set_nonblock(int fd);
int	drover__set_cloexec(int fd);
/* Replaces invalid UTF-8 and control bytes (except tab) with '?'. */
void	drover__sanitize_line(char *s, size_t len);

/* ---- data.c: --init-data/--run-data values, YAML ------------------- */

/* Parses JSON or YAML text into *out (any JSON value). */
int	drover__parse_text(const char *text, size_t len, const char *name,
	    json_t **out, char *err, size_t errsz);
/* "file://PATH" reads the file; anything else is the text itself.  Empty
 * text gives an empty object.  The result must be an object. */
int	drover__load_data(const char *arg, const char *what, json_t **out,
	    char *err, size_t errsz);
/* YAML text to JSON (core schema scalars); used by drover__parse_text. */
int	drover__yaml_to_json(const char *text, size_t len, const char *name,
	    json_t **out, char *err, size_t errsz);

/* ---- config.c -------------------------------------------------------- */

/* Deep merge: objects merge key by key, anything else replaces. */
int	drover__config_merge(json_t *base, const json_t *over);
/* Upper-cased name with non-alphanumerics as '_' ("toy-cmd" -> TOY_CMD). */
char	*drover__env_name(const char *adaptor_name);
/*
 * Builds the configuration of an adaptor: runtime defaults, then the
 * shipped file (def->config_path, or <exe_dir>/<name>.json if present),
 * /etc/openjd/adaptors/<name>/<name>.json, $HOME/.openjd/adaptors/<name>/
 * <name>.json and the file named by $<NAME>_CONFIG_PATH, each overriding
 * the one before; then validates it against the config schema if any.
 */
int	drover__config_build(const struct drover_adaptor_def *def,
	    const char *exe_dir, json_t **out, char *err, size_t errsz);
/* Reads a JSON schema file (NULL path: *out = NULL). */
int	drover__schema_load(const char *exe_dir, const char *path,
	    json_t **out, char *err, size_t errsz);

/* ---- versions (cli.c) ------------------------------------------------ */

struct drover__version {
	int	major;
	int	minor;
};
int	drover__version_parse(const char *, struct drover__version *);
/* Is the installed version usable where `expected` is asked for? */
int	drover__version_compatible(struct drover__version installed,
	    struct drover__version expected);

/* ---- proto.c: newline-delimited JSON messages ------------------------ */

/* Accumulates bytes from a stream and cuts them into messages. */
struct drover__reader {
	struct dbuf	in;
	size_t		scan;	/* bytes of in already searched for '\n' */
};
#define DROVER__READER_INIT { DBUF_INIT, 0 }

int	drover__reader_feed(struct drover__reader *, const void *, size_t);
/* 1 and *msg (an object, caller decrefs) when a message is complete, 0
 * when more bytes are needed, DROVER_EPROTO (bad JSON, not an object, too
 * long) with err filled. */
int	drover__reader_next(struct drover__reader *, json_t **msg,
	    char *err, size_t errsz);
void	drover__reader_release(struct drover__reader *);
/* Appends msg as one compact line. */
int	drover__proto_encode(struct dbuf *, const json_t *msg);
/* The message type ("t"), or "" */
const char *drover__proto_type(const json_t *msg);
/* Reads an unsigned integer member; 0 or DROVER_EPROTO. */
int	drover__proto_uint(const json_t *msg, const char *key,
	    unsigned long long *out);

/* ---- sock.c: the daemon's socket, connection files, credentials ------ */

/* Whether a peer with uid `peer` may talk to a process running as `self`. */
int	drover__peer_allowed(uid_t peer, uid_t self);
/* Checks the uid at the other end of a connected Unix socket. */
int	drover__peer_check(int fd, char *err, size_t errsz);
/* Creates a private 0700 directory and a listening socket in it. */
int	drover__listen_private(char **dirp, char **sockp, int *fdp,
	    char *err, size_t errsz);
/* Connects to the socket at path (checking the peer's uid). */
int	drover__connect(const char *path, int *fdp, char *err, size_t errsz);
/* Writes {"socket": ..., "pid": ...} to path, created 0600 with O_EXCL. */
int	drover__connfile_write(const char *path, const char *sock, pid_t pid,
	    dev_t *dev, ino_t *ino, char *err, size_t errsz);
/* Reads the socket path from a connection file (malloc'd). */
int	drover__connfile_read(const char *path, char **sock,
	    char *err, size_t errsz);

/* ---- the handle (adaptor.c) ------------------------------------------ */

struct drover__handler {
	regex_t		 re;
	unsigned	 flags;
	int		(*cb)(drover_adaptor *, const struct drover_match *,
			    void *);
	void		*arg;
};

/* Where output lines go when not to a file descriptor (daemon mode). */
typedef void (*drover__sink_fn)(drover_adaptor *, const char *line,
    size_t len, void *arg);

struct drover_adaptor {
	const struct drover_adaptor_def *def;
	char		*exe_dir;
	json_t		*config;	/* merged configuration */
	json_t		*init_data;	/* always an object */
	json_t		*init_schema;	/* or NULL */
	json_t		*run_schema;	/* or NULL */
	drover_pathmap	*pathmap;
	int		 log_level;	/* enum drover_log_level */
	int		 grace_ms;	/* cancel: SIGTERM to SIGKILL */

	pthread_mutex_t	 out_mu;	/* output, errmsg, run flags */
	char		 errmsg[DROVER__ERRMAX];
	int		 out_fd;	/* when sink is NULL */
	drover__sink_fn	 sink;
	void		*sink_arg;
	int		 run_failed;	/* openjd_fail seen in this op */

	pthread_mutex_t	 proc_mu;	/* procs, canceled, kill_at */
	struct drover_process *procs;
	int		 canceled;
	long long	 kill_at;	/* SIGKILL time after cancel, or 0 */
	unsigned long	 op_gen;	/* counts operations (cancel_reset) */
};

/* Builds a handle: config, schemas (errors: DROVER_E* and err). */
int	drover__adaptor_new(const struct drover_adaptor_def *,
	    drover_adaptor **out, char *err, size_t errsz);
void	drover__adaptor_free(drover_adaptor *);
/* Emits one output line (split at newlines, sanitized). */
void	drover__emit(drover_adaptor *, const char *line, size_t len);
void	drover__emitf(drover_adaptor *, const char *fmt, ...)
	    DROVER_PRINTF(2, 3);
/* Does this line look like an OpenJD message ("openjd_xxx: ")? */
int	drover__is_openjd_line(const char *line, size_t len);
int	drover__log_level_parse(const char *);
const char *drover__log_level_name(int);
void	drover__set_errmsg(drover_adaptor *, const char *fmt, ...)
	    DROVER_PRINTF(2, 3);

/* ---- runner.c: the lifecycle ----------------------------------------- */

/* Each returns 0, DROVER_ECANCELED, or another negative code (a failure,
 * already reported as an openjd_fail line). */
int	drover__op_start(drover_adaptor *);
int	drover__op_run(drover_adaptor *, const json_t *run_data);
int	drover__op_stop(drover_adaptor *);
int	drover__op_cleanup(drover_adaptor *);
/* Cancel: on_cancel, SIGTERM to every managed process group, and a
 * deadline for SIGKILL.  Safe from any thread but the worker's.  gen (from
 * drover__cancel_reset) names the operation to cancel: if another one runs
 * by now, nothing happens; 0 cancels whatever runs. */
void	drover__cancel_begin(drover_adaptor *, unsigned long gen);
/* SIGKILLs the groups once the deadline passed (now: kill at once).
 * Returns ms until the deadline, or -1 when none is pending. */
int	drover__cancel_tick(drover_adaptor *, int now);
/* Clears the canceled state before the next operation; returns the new
 * operation's generation. */
unsigned long drover__cancel_reset(drover_adaptor *);

/* ---- process.c -------------------------------------------------------- */

int	drover__handlers_compile(const struct drover_line_handler *, size_t n,
	    struct drover__handler **out, char *err, size_t errsz);
void	drover__handlers_free(struct drover__handler *, size_t n);
/* Runs the handlers over one line; returns DROVER_LINE_*. */
int	drover__handlers_run(drover_adaptor *, struct drover__handler *,
	    size_t n, const char *line, int stream);
/* "prog 'arg with space'" for logs (malloc'd). */
char	*drover__cmd_string(const drover_cmd *);
/* Signals every registered process group (lock held inside). */
void	drover__procs_signal(drover_adaptor *, int sig);

/* ---- daemon.c / client.c / cli.c ------------------------------------- */

struct drover__start_opts {
	const char	*connection_file;	/* or NULL */
	const char	*log_file;		/* or NULL */
};

/* `daemon start`: forks the daemon (which owns `a` from then on in its
 * process), waits until it listens, runs on_start through it. */
int	drover__daemon_start(drover_adaptor *, const struct drover__start_opts *);
/* `daemon run` / `daemon stop` on the client side. */
int	drover__client_run(const char *sockpath, const char *connfile,
	    const json_t *run_data);
int	drover__client_stop(const char *sockpath, const char *connfile);
/* Submits a job ("start", "run", "stop") and streams its output to fd 1;
 * returns the process exit status (0, 1, 3).  connfile (or NULL) only
 * serves error messages. */
int	drover__client_job(const char *sockpath, const char *connfile,
	    const char *kind, const json_t *data);

#endif
