/*
 * Format strings (OpenJD 2023-09 §7.3): literal text with `{{ Name.Path }}`
 * value references, resolved against a symbol table.
 *
 * A symbol table maps dotted names ("Param.Frames", "Task.File.Run",
 * "Session.WorkingDirectory") to string values.  At validation time values
 * may be unknown: symtab_set(st, name, NULL) declares a name in scope
 * without a value.
 *
 * Without the EXPR extension an interpolation may hold only a dotted name;
 * anything else ("{{ Param.A + 1 }}") is reported as needing EXPR.
 */
#ifndef DROVER_FORMAT_H
#define DROVER_FORMAT_H

#include <stddef.h>

#include "common/error.h"

struct symtab;

struct symtab	*symtab_new(void);
struct symtab	*symtab_copy(const struct symtab *);
void		 symtab_free(struct symtab *);
/* Adds or replaces name; value is copied and may be NULL (known, unvalued). */
void		 symtab_set(struct symtab *, const char *name, const char *value);
void		 symtab_remove(struct symtab *, const char *name);
/* 1 if name is in the table (value or not), else 0. */
int		 symtab_has(const struct symtab *, const char *name);
/* Value of name, or NULL if absent or unvalued. */
const char	*symtab_get(const struct symtab *, const char *name);
size_t		 symtab_count(const struct symtab *);
const char	*symtab_name_at(const struct symtab *, size_t i);

/* One `{{ ... }}` found in a format string. */
struct fmt_ref {
	size_t	 start;		/* byte offset of "{{" */
	size_t	 end;		/* byte offset just past "}}" */
	char	*name;		/* the dotted name, trimmed */
};

struct fmt {
	struct fmt_ref	*refs;
	size_t		 n;
};

/*
 * Parses s.  Returns 0, or -1 with *err_off (byte offset into s) and
 * *err_msg (caller frees) describing the first syntax problem.
 * fmt_release() frees the references either way.
 */
int	fmt_parse(struct fmt *, const char *s, size_t *err_off, char **err_msg);
void	fmt_release(struct fmt *);
/* 1 if s contains at least one "{{" */
int	fmt_has_refs(const char *s);

/*
 * Checks syntax and that every reference is in scope; adds one error per
 * problem at file:line:col / path, with "did you mean X?" for near misses.
 * Returns 0 if all is well, else -1.
 */
int	fmt_check(const char *s, const struct symtab *scope,
	    struct error_list *el, const char *file, int line, int col,
	    const char *path);

/*
 * Resolves s against st.  Returns a new string (caller frees), or NULL with
 * *err_msg set (caller frees) for a syntax error, an unknown name or a name
 * without a value.
 */
char	*fmt_resolve(const char *s, const struct symtab *st, char **err_msg);

/* " (did you mean 'X'?)" for the nearest name in st, or "" (caller frees). */
char	*fmt_suggest(const char *name, const struct symtab *st);
/* Levenshtein distance on bytes (names are ASCII identifiers). */
size_t	 fmt_edit_distance(const char *a, const char *b);

#endif
