/*
 * Diagnostics that point into a document: each error carries the file,
 * the field path ("steps[2].script.actions.onRun.command"), line:column
 * (1-based; 0 when unknown) and a message.  A list collects all of them,
 * so validation can report every problem, not just the first.
 *
 *	struct error_list el = ERROR_LIST_INIT;
 *	error_add(&el, "job.yaml", 3, 5, "steps[0].name", "must not be empty");
 *	error_list_print(&el, stderr);
 *	error_list_release(&el);
 *
 * Printed form:  job.yaml:3:5: steps[0].name: must not be empty
 */
#ifndef DROVER_ERROR_H
#define DROVER_ERROR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct error {
	char	*file;		/* may be NULL */
	char	*path;		/* field path; may be NULL or "" */
	int	 line;		/* 1-based; 0 = unknown */
	int	 col;
	char	*msg;
};

struct error_list {
	struct error	*v;
	size_t		 n;
	size_t		 alloc;
};

#define ERROR_LIST_INIT { NULL, 0, 0 }

void	error_add(struct error_list *, const char *file, int line, int col,
	    const char *path, const char *fmt, ...)
	    __attribute__((format(printf, 6, 7)));
void	error_vadd(struct error_list *, const char *file, int line, int col,
	    const char *path, const char *fmt, va_list);
/* Moves every error of src to the end of dst; src is left empty. */
void	error_list_take(struct error_list *dst, struct error_list *src);
/* Sort by file, line, column (stable), for reading order. */
void	error_list_sort(struct error_list *);
void	error_list_release(struct error_list *);
/* "FILE:LINE:COL: path: msg" */
char	*error_format(const struct error *);
void	error_list_print(const struct error_list *, FILE *);
/* [{"file":..,"line":..,"column":..,"path":..,"message":..}, ...] */
json_t	*error_list_to_json(const struct error_list *);
/* First error's message joined as above, or NULL; caller frees. */
char	*error_list_first(const struct error_list *);

#endif
