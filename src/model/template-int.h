/*
 * Internals of template validation, shared by template.c (entry points,
 * root keys, helpers) and the validate-*.c files (one per part of the
 * schema).  Not for use outside src/model/template*.c and validate-*.c.
 *
 * A struct vctx walks the document keeping the current field path in a
 * buffer: v_push_key()/v_push_index() append ".key" or "[i]" and return a
 * mark that v_pop() truncates back to.  Every v_err*() call records the
 * current path and the position of the node it is given.
 */
#ifndef DROVER_TEMPLATE_INT_H
#define DROVER_TEMPLATE_INT_H

#include <stdarg.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/doc.h"
#include "common/error.h"
#include "model/format.h"
#include "model/template.h"

/* Where a format string is resolved, which decides its symbols. */
enum fmt_scope {
	SCOPE_TEMPLATE,	/* at job creation: Param (no PATH), RawParam */
	SCOPE_ENV,	/* in an environment: + Param PATH, Session, Env.File */
	SCOPE_TASK,	/* in a step script: + Session, Task.Param, Task.File */
};

struct vctx {
	const char		*file;
	struct error_list	 el;		/* this template's errors */
	enum template_kind	 kind;
	unsigned		 ext;		/* declared, supported extensions */
	struct template_limits	 lim;
	struct buf		 path;
	/* Param.* (non-PATH) and RawParam.*: the job-creation scope. */
	struct symtab		*tmpl_scope;
	/* Every Param.* and RawParam.*: base of the host scopes. */
	struct symtab		*host_params;
};

/* ---- paths and errors (template.c) ---- */
size_t	v_push_key(struct vctx *, const char *key);
size_t	v_push_index(struct vctx *, size_t i);
void	v_pop(struct vctx *, size_t mark);
void	v_err(struct vctx *, const struct node *at, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* Error at node `at`, path = current path + "." + key. */
void	v_err_key(struct vctx *, const struct node *at, const char *key,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- structure ---- */
/*
 * Checks that map is a MAP, reports keys not in allowed (NULL-terminated)
 * and missing keys from required (NULL-terminated, may be NULL).  Keys
 * that need an extension not declared are reported by the caller before
 * (pass them in allowed).  Returns 0 if map is a map (even with key
 * errors), -1 if it is not.
 */
int	v_map(struct vctx *, const struct node *map,
	    const char *const *allowed, const char *const *required);
/* Reports "must be a <what>" with the node's kind; returns -1. */
int	v_type_error(struct vctx *, const struct node *n, const char *what);
/* Value of key as a list (SEQ) or NULL; wrong type is reported. */
const struct node *v_get_seq(struct vctx *, const struct node *map,
	    const char *key);
/* Value of key as a map or NULL; wrong type is reported. */
const struct node *v_get_map(struct vctx *, const struct node *map,
	    const char *key);
/* Value of key as a string node or NULL; wrong type is reported. */
const struct node *v_get_str(struct vctx *, const struct node *map,
	    const char *key);
/* The key node of key in map (for positions), or map itself. */
const struct node *v_key_node(const struct node *map, const char *key);

/* ---- strings ---- */
size_t	utf8_count(const char *s, size_t len);
/* 1 if s has a Cc character; allow: bytes among "\n\r\t" that are OK. */
int	has_cc(const char *s, size_t len, const char *allow);
int	is_identifier(const char *s);
/*
 * Checks a string node: kind, length in characters within [min, max]
 * (max 0 = none), Cc characters (allow as for has_cc, NULL = none
 * allowed).  what names the thing in messages.  Returns 0 if fine.
 */
int	v_string(struct vctx *, const struct node *n, size_t min, size_t max,
	    const char *allow_cc);
/* Identifier rules for a name node (kind, pattern, length). */
int	v_identifier(struct vctx *, const struct node *n);
/* <Description>: 1..2048 characters, no Cc but \n \r \t. */
void	v_description(struct vctx *, const struct node *map);
/* Value of a string node among a NULL-terminated list; reports others. */
int	v_enum(struct vctx *, const struct node *n, const char *const *values);
/* "a, b, c" of a NULL-terminated list (static buffer is not used). */
char	*join_list(const char *const *values);

/* ---- numbers ---- */
/*
 * Integer value of a node: YAML/JSON integer, integral float, or a string
 * of a base-10 integer (if strings_ok).  Out-of-int64 values are errors.
 * Returns 0 with *out set, or -1 after reporting at n.
 */
int	v_int(struct vctx *, const struct node *n, int strings_ok, int64_t *out);
/* Finite float value (numbers, or decimal strings if strings_ok). */
int	v_float(struct vctx *, const struct node *n, int strings_ok, double *out);
/* Numeric strings are parsed by param_parse_int/param_parse_float (params.h). */

/* ---- format strings ---- */
/* 1 if n is a string holding at least one "{{". */
int	is_fmt(const struct node *n);
/*
 * Checks format string node n against scope; kind names the stage for
 * messages about references that exist but not here.  Returns 0 if fine.
 */
int	v_fmt(struct vctx *, const struct node *n, const struct symtab *scope,
	    enum fmt_scope kind);
/* Adds Session.* names to st. */
void	scope_add_session(struct symtab *st);

/* ---- the parts (validate-*.c) ---- */
/* parameterDefinitions (job or environment template). */
void	v_param_defs(struct vctx *, const struct node *root, size_t max);
/* Builds v->tmpl_scope and v->host_params from parameterDefinitions. */
void	v_param_scopes(struct vctx *, const struct node *root);
/* A job template's steps and jobEnvironments. */
void	v_steps(struct vctx *, const struct node *root);
void	v_job_envs(struct vctx *, const struct node *root);
/* One <Environment> map (the current path is the environment's). */
void	v_environment(struct vctx *, const struct node *env);
/*
 * <Action>: command and args are checked against scope (resolved on the
 * host); timeout and notifyPeriodInSeconds in the job-creation scope.
 * The current path is the action's.
 */
void	v_action(struct vctx *, const struct node *action,
	    const struct symtab *scope, enum fmt_scope kind);
/* timeout and cancelation of an action or simple action map. */
void	v_action_timing(struct vctx *, const struct node *map);
/*
 * An embeddedFiles list (the current path is the list's); adds
 * <prefix><name> to scope for each file.
 */
void	v_embedded_files(struct vctx *, const struct node *files,
	    struct symtab *scope, const char *prefix);
/* data of each embedded file, checked once the scope is complete. */
void	v_embedded_data(struct vctx *, const struct node *files,
	    const struct symtab *scope, enum fmt_scope kind);

#endif
