/*
 * The CLI's side of the daemon protocol (docs/protocol.md): connect to
 * $DROVER_HOME/drover.sock, start the daemon if nobody answers (and wait
 * until it says it is ready), send requests and read replies.  Also the
 * bits of presentation the queue commands share.
 */
#ifndef DROVER_CLIENT_H
#define DROVER_CLIENT_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "daemon/proto.h"

struct client {
	int			 fd;
	struct proto_reader	 rd;
	char			*home;
	json_int_t		 next_id;
	json_t			*hello;		/* the daemon's hello */
};

#define CLIENT_INIT { -1, PROTO_READER_INIT, NULL, 1, NULL }

/*
 * Connects.  With autostart, a daemon is started when nobody answers and
 * this waits until it is ready.  Returns 0; 1 if no daemon runs (only
 * without autostart); -1 with *err.
 */
int	client_open(struct client *, int autostart, char **err);
void	client_close(struct client *);

/*
 * Sends {"op": op, ...args} (args is stolen, may be NULL) and returns the
 * reply if it is ok (new reference); else NULL with *err and *code
 * ("NOT_FOUND", "STATE", ... or "IO" when the daemon went away).
 */
json_t	*client_call(struct client *, const char *op, json_t *args,
	    char **err, const char **code);
/* Sends a request; returns its id, or -1. */
json_int_t client_send(struct client *, const char *op, json_t *args);
/* Next message; 1, 0 at end of stream, -1 with *err. */
int	client_read(struct client *, json_t **msg, char **err);

/* Maps a reply code to an exit status (NOT_FOUND, STATE... -> 1). */
int	client_exit_code(const char *code);
/*
 * Connects (with autostart) and calls; on failure prints "drover CMD:
 * error" and returns NULL with *rc set to the exit code.
 */
json_t	*client_do(const char *cmd, const char *op, json_t *args, int *rc);

/*
 * "12", "12/Render", "12/Render/3", "12/0/3": job id, step (name or
 * index, NULL if absent: caller frees), task (-1 if absent).  0 or -1.
 */
int	client_parse_ref(const char *ref, int64_t *job, char **step,
	    int64_t *task);
/* Adds "job", "step", "task" members for a parsed reference. */
void	client_ref_args(json_t *args, int64_t job, const char *step,
	    int64_t task);

/* "2024-05-01 10:00:03" in local time, or "-" for null. */
void	client_fmt_time(const json_t *ms, char *buf, size_t size);
/* "1h02m", "3m04s", "12.3s" */
void	client_fmt_duration(int64_t ms, char *buf, size_t size);
/* Prints JSON (pretty) to fp with a newline. */
void	client_print_json(FILE *fp, const json_t *);

/*
 * Waits for jobs (ids[0..n)) to end, showing live per-step progress bars
 * on a terminal (quiet: nothing), or all their progress as JSON lines with
 * json.  Returns the exit code: 0 if every job succeeded, 1 if not, 3 on
 * errors.  Ctrl-C leaves the jobs running.
 */
int	client_wait(struct client *, const int64_t *ids, size_t n, int json,
	    int quiet);

#endif
