/*
 * Job parameters (Template Schemas 1.2.1 and 2): the definitions a job
 * template and its environment templates declare, merged into one set of
 * constraints; the values a submitter supplies; and the check that turns
 * those values into the final, canonical parameter values of a job.
 *
 * Three pieces, used in this order by job_create():
 *
 *   struct param_values  name -> text, as given (-p KEY=VALUE, a
 *                        file://params.yaml|json, inline JSON, or the
 *                        `parameters:` map of a conformance test); setting
 *                        a name again replaces its value (last one wins).
 *   struct param_defs    definitions merged over the templates: the
 *                        environment templates in the order given, the job
 *                        template last.  Merging rejects a differing type
 *                        and, for PATH, a differing objectType or dataFlow;
 *                        every other constraint is tightened (minimums take
 *                        the largest, maximums the smallest, allowedValues
 *                        the intersection), the last default wins, and the
 *                        result must be consistent (its default obeys it).
 *   param_defs_resolve() checks the values against the merged definitions
 *                        and fills in defaults, giving one canonical value
 *                        per parameter.
 *
 * Canonical values (what Param.X / RawParam.X interpolate):
 *   STRING  the text as given
 *   INT     decimal int64 without leading zeros or '+' ("007" -> "7");
 *           numbers outside int64 are rejected
 *   FLOAT   the text as given, trimmed (so "5" stays "5" and
 *           "3.141592653589793" keeps every digit); it must be a finite
 *           decimal number
 *   PATH    an absolute, lexically normalised path: a submitted relative
 *           value is joined with the current directory; a default must be
 *           relative, is joined with the job template's directory and must
 *           not climb out of it.  minLength/maxLength/allowedValues are
 *           checked on a submitted value as submitted, and on a default
 *           after the join.
 * Lengths count Unicode characters (UTF-8 code points), not bytes.
 */
#ifndef DROVER_PARAMS_H
#define DROVER_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "common/doc.h"
#include "common/error.h"

enum param_type {
	PARAM_STRING,
	PARAM_PATH,
	PARAM_INT,
	PARAM_FLOAT,
};

/* "STRING", "PATH", "INT", "FLOAT". */
const char	*param_type_name(enum param_type);
/* Parses the exact spec name; returns 0, or -1 if s is not one. */
int		 param_type_parse(const char *s, enum param_type *);

/* ---- submitted values ------------------------------------------------ */

struct param_value {
	char	*name;
	char	*value;
	char	*file;		/* where it was given (NULL: command line) */
	int	 line;		/* 0 when unknown */
	int	 col;
};

struct param_values {
	struct param_value	*v;
	size_t			 n;
	size_t			 alloc;
};

#define PARAM_VALUES_INIT { NULL, 0, 0 }

void	 param_values_release(struct param_values *);
/* Adds name=value, or replaces the value (and origin) of an existing name. */
void	 param_values_set(struct param_values *, const char *name,
	    const char *value);
void	 param_values_set_at(struct param_values *, const char *name,
	    const char *value, const char *file, int line, int col);
/* The value of name, or NULL. */
const char *param_values_get(const struct param_values *, const char *name);
const struct param_value *param_values_find(const struct param_values *,
	    const char *name);
void	 param_values_copy(struct param_values *dst,
	    const struct param_values *src);

/*
 * Adds every pair of a MAP node (a params file, a conformance test's
 * `parameters:`).  Scalars are taken as written (the YAML text "1.50" stays
 * "1.50", true becomes "true"); null, lists and maps are errors.  Returns 0,
 * or -1 after adding errors (positioned in file) to el.
 */
int	 param_values_add_node(struct param_values *, const struct node *map,
	    const char *file, struct error_list *el);

/*
 * Parses one -p argument:
 *   KEY=VALUE             split at the first '='; KEY must be non-empty
 *   file://PATH           a YAML or JSON file holding a mapping
 *   {"KEY": "VALUE", ...} an inline JSON object (starts with '{', ends '}')
 * Returns 0; -1 after adding errors to el.  *usage is set to 1 when the
 * argument has none of the three forms (a usage error for the CLI), else 0.
 */
int	 param_values_parse_arg(struct param_values *, const char *arg,
	    int *usage, struct error_list *el);

/* ---- definitions ----------------------------------------------------- */

/* Where something was written: file, position and field path (all owned
 * copies). */
struct param_pos {
	char	*file;
	int	 line;
	int	 col;
	char	*path;		/* "parameterDefinitions[2].maxValue" */
};

struct param_def {
	char		*name;
	enum param_type	 type;
	char		*description;	/* last one given, or NULL */
	char		*object_type;	/* PATH: "FILE"/"DIRECTORY", or NULL */
	char		*data_flow;	/* PATH: "NONE"/"IN"/"OUT"/"INOUT", or NULL */
	struct param_pos pos;		/* the latest definition (the entry) */
	struct param_pos type_pos;
	struct param_pos object_type_pos;
	struct param_pos data_flow_pos;

	char		*default_value;	/* canonical (PATH: as written), or NULL */
	struct param_pos default_pos;

	int		 has_min_length, has_max_length;
	uint64_t	 min_length, max_length;
	struct param_pos min_length_pos, max_length_pos;

	int		 has_min_value, has_max_value;
	int64_t		 min_int, max_int;	/* INT */
	double		 min_float, max_float;	/* FLOAT */
	char		*min_text, *max_text;	/* canonical, for messages */
	struct param_pos min_value_pos, max_value_pos;

	int		 has_allowed;
	char		**allowed;		/* canonical texts */
	size_t		 nallowed;
	struct param_pos allowed_pos;

	size_t		 ndefs;		/* how many templates define it */
};

struct param_defs {
	struct param_def	*v;
	size_t			 n;
	size_t			 alloc;
	/* where the job template defines them (its parameterDefinitions, or
	 * its start): errors about values given without a position (-p on
	 * the command line) point there; file NULL: no position */
	const char		*origin_file;
	int			 origin_line;
	int			 origin_col;
};

#define PARAM_DEFS_INIT { NULL, 0, 0, NULL, 0, 0 }

void	 param_defs_release(struct param_defs *);
struct param_def *param_defs_find(const struct param_defs *, const char *name);

/*
 * Merges one template's `parameterDefinitions` list (a SEQ node, or NULL
 * for none) into defs.  Call it for each environment template in order,
 * then for the job template.  The nodes are assumed to have passed template
 * validation, but malformed entries are reported, not trusted.  Returns 0,
 * or -1 after adding errors to el (conflicting type/objectType/dataFlow,
 * bad numbers).
 */
int	 param_defs_merge(struct param_defs *, const struct node *list,
	    const char *file, struct error_list *el);

/*
 * Checks that every merged definition is satisfiable and consistent:
 * minimum <= maximum, allowedValues not emptied by the intersection, and
 * the default (except PATH defaults, which are checked when used, after the
 * join) obeying the merged constraints.  Returns 0, or -1 after adding
 * errors to el.
 */
int	 param_defs_check(const struct param_defs *, struct error_list *el);

/*
 * Coerces text to def's type and checks it against def's constraints.
 * Returns the canonical value (caller frees), or NULL with *err_msg set
 * (caller frees), e.g. "value 200 is above maxValue 100".  PATH values are
 * returned as given (no join here).  *err_pos, when not NULL, is set to the
 * position of the violated constraint (or NULL when it is the type).
 */
char	*param_def_check_value(const struct param_def *, const char *text,
	    char **err_msg, const struct param_pos **err_pos);

/*
 * The final values: for each definition (in merged order) the submitted
 * value or the default, coerced and checked; PATH values joined as
 * described above (template_dir and cwd must be absolute).  Names in values
 * that no template defines are errors, with a "did you mean" hint; so is a
 * parameter without value or default.  On success returns 0 and fills out
 * (which must be empty) with one entry per definition, in definition order;
 * else -1 after adding every problem to el.
 */
int	 param_defs_resolve(const struct param_defs *,
	    const struct param_values *values, const char *template_dir,
	    const char *cwd, struct param_values *out, struct error_list *el);

/* ---- helpers shared with job creation -------------------------------- */

/*
 * Parses a base-10 integer (optional sign, digits, surrounding blanks
 * allowed).  Returns 0, or -1 (not an integer) or -2 (outside int64).
 */
int	 param_parse_int(const char *s, int64_t *out);
/*
 * Parses a finite base-10 number ("1", "-2.5", ".5", "1e3"; surrounding
 * blanks allowed; no hex, inf or nan).  Returns 0 or -1.
 */
int	 param_parse_float(const char *s, double *out);
/* Number of UTF-8 code points in s (a stray byte counts as one). */
size_t	 param_utf8_len(const char *s);

/*
 * Lexical path normalisation (no file system access): collapses "//" and
 * ".", resolves ".." against the preceding component.  For an absolute
 * path ".." at the root stays at the root.  For a relative path a leading
 * ".." that cannot be resolved is kept and *escapes is set to 1 (else 0;
 * escapes may be NULL).  The empty relative path is ".".  Returns a new
 * string.
 */
char	*param_path_normalize(const char *path, int *escapes);
/* base + "/" + rel, normalised (base absolute, rel relative). */
char	*param_path_join(const char *base, const char *rel);

#endif
