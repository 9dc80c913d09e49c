/*
 * The `openjd_*` directives an action may print (How Jobs Are Run,
 * "Stdout/Stderr Messages"; REDACTED_ENV_VARS) and the redaction of secret
 * values in everything the session hands out.
 *
 * A directive is a whole output line "openjd_<kind>: <payload>" with a
 * non-empty payload.  Kinds: progress (a number 0..100), status, fail,
 * env (NAME=VALUE, or a JSON string "NAME=VALUE" for values with
 * newlines), unset_env (NAME), redacted_env (like env; the value is
 * secret) and session_runtime_loglevel.  Anything else starting with
 * "openjd_" is ordinary output, except that a near miss of one of the env
 * directives ("openjd_ENV: X=1", "openjd_env:X=1", "openjd_unset_env")
 * is an error that fails the action: an env change that was meant but not
 * understood would leave the session in a state nobody asked for.  This is
 * what openjd-rs and the Python runtime do:
 *   - malformed env / unset_env / near miss: cancel the action, mark it
 *     failed, show the line with " -- ERROR: <reason>" appended;
 *   - malformed progress: show the line with the error appended, go on;
 *   - malformed redacted_env: the value part is redacted anyway; without
 *     REDACTED_ENV_VARS it fails the action like env, with it it is only
 *     ignored.
 * Without REDACTED_ENV_VARS a well-formed redacted_env still redacts the
 * value but does not set the variable.
 */
#ifndef DROVER_SESSION_FILTER_H
#define DROVER_SESSION_FILTER_H

#include <stddef.h>

#include "common/buf.h"

/* What replaces a secret value: fixed length, so no length leaks. */
#define REDACTED_TEXT	"********"

/*
 * The secret values of a session.  Values are matched anywhere in a line;
 * for a value with newlines its first and last lines are matched as
 * substrings and any middle line only as a whole line.
 */
struct redact_set;

struct redact_set *redact_new(void);
void		 redact_free(struct redact_set *);
/* Adds a secret (ignored if empty).  The set keeps its own copy. */
void		 redact_add(struct redact_set *, const char *value);
size_t		 redact_count(const struct redact_set *);
/*
 * Returns text with every secret replaced by REDACTED_TEXT (overlapping
 * matches merged).  The result is text itself when nothing matched, else
 * scratch->s (valid until scratch changes).
 */
const char	*redact_apply(const struct redact_set *, const char *text,
		    struct buf *scratch);
/* Same, always a new string (caller frees). */
char		*redact_dup(const struct redact_set *, const char *text);

enum filter_kind {
	FILTER_NONE,		/* ordinary output */
	FILTER_PROGRESS,
	FILTER_STATUS,
	FILTER_FAIL,
	FILTER_ENV,
	FILTER_UNSET_ENV,
	FILTER_REDACTED_ENV,
	FILTER_LOGLEVEL,
	FILTER_MALFORMED,	/* a bad directive; see error */
};

struct filter_msg {
	enum filter_kind kind;
	int		 cancel;	/* fail the action (cancel it, mark failed) */
	int		 set_env;	/* REDACTED_ENV: also set the variable */
	double		 progress;	/* PROGRESS */
	char		*name;		/* ENV, UNSET_ENV, REDACTED_ENV */
	char		*value;		/* ENV, REDACTED_ENV: value; STATUS, FAIL: text;
					   LOGLEVEL: the level */
	char		*error;		/* why the line was malformed, or NULL */
	/*
	 * The line as it may be shown: secrets redacted, " -- ERROR: ..."
	 * appended to malformed directives.  Never NULL after filter_line().
	 */
	char		*line;
};

#define FILTER_MSG_INIT { FILTER_NONE, 0, 0, 0.0, NULL, NULL, NULL, NULL }

/*
 * Classifies one output line (without its newline).  A redacted_env value
 * is added to rs before the line is redacted, so the line itself never
 * shows it.  redacted_env_enabled: the job declares REDACTED_ENV_VARS.
 * The caller releases msg with filter_msg_release().
 */
void	filter_line(struct redact_set *rs, int redacted_env_enabled,
	    const char *line, struct filter_msg *msg);
void	filter_msg_release(struct filter_msg *);

/*
 * For logging a command line: everything after "openjd_redacted_env:" is
 * replaced by " ********" (a secret being set is in the command itself).
 * Returns a new string.
 */
char	*filter_hide_redacted_request(const char *cmd);

/* 1 if s is a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*). */
int	filter_env_name_ok(const char *s, size_t len);

#endif
