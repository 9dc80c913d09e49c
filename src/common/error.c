/* Lists of positioned diagnostics; see error.h. */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/error.h"
#include "common/xmalloc.h"

void
error_vadd(struct error_list *el, const char *file, int line, int col,
    const char *path, const char *fmt, va_list ap)
{
	struct buf msg = BUF_INIT;
	struct error *e;

	buf_vaddf(&msg, fmt, ap);
	ALLOC_GROW(el->v, el->n + 1, el->alloc);
	e = &el->v[el->n++];
	e->file = file ? xstrdup(file) : NULL;
	e->path = path && *path ? xstrdup(path) : NULL;
	e->line = line;
	e->col = col;
	e->msg = buf_detach(&msg, NULL);
}

void
error_add(struct error_list *el, const char *file, int line, int col,
    const char *path, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vadd(el, file, line, col, path, fmt, ap);
	va_end(ap);
}

void
error_list_take(struct error_list *dst, struct error_list *src)
{
	for (size_t i = 0; i < src->n; i++) {
		ALLOC_GROW(dst->v, dst->n + 1, dst->alloc);
		dst->v[dst->n++] = src->v[i];
	}
	free(src->v);
	src->v = NULL;
	src->n = src->alloc = 0;
}

static int
error_cmp(const struct error *a, const struct error *b)
{
	int c = strcmp(a->file ? a->file : "", b->file ? b->file : "");

	if (c)
		return c;
	if (a->line != b->line)
		return a->line < b->line ? -1 : 1;
	if (a->col != b->col)
		return a->col < b->col ? -1 : 1;
	return 0;
}

void
error_list_sort(struct error_list *el)
{
	/* insertion sort: stable, and lists are short */
	for (size_t i = 1; i < el->n; i++) {
		struct error t = el->v[i];
		size_t j = i;
		while (j > 0 && error_cmp(&el->v[j - 1], &t) > 0) {
			el->v[j] = el->v[j - 1];
			j--;
		}
		el->v[j] = t;
	}
}

void
error_list_release(struct error_list *el)
{
	for (size_t i = 0; i < el->n; i++) {
		free(el->v[i].file);
		free(el->v[i].path);
		free(el->v[i].msg);
	}
	free(el->v);
	el->v = NULL;
	el->n = el->alloc = 0;
}

char *
error_format(const struct error *e)
{
	struct buf b = BUF_INIT;

	if (e->file) {
		buf_adds(&b, e->file);
		if (e->line > 0)
			buf_addf(&b, ":%d:%d", e->line, e->col);
		buf_adds(&b, ": ");
	}
	if (e->path)
		buf_addf(&b, "%s: ", e->path);
	buf_adds(&b, e->msg);
	return buf_detach(&b, NULL);
}

void
error_list_print(const struct error_list *el, FILE *fp)
{
	for (size_t i = 0; i < el->n; i++) {
		char *s = error_format(&el->v[i]);
		fprintf(fp, "%s\n", s);
		free(s);
	}
}

json_t *
error_list_to_json(const struct error_list *el)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < el->n; i++) {
		const struct error *e = &el->v[i];
		json_t *o = json_object();
		json_object_set_new(o, "file",
		    e->file ? json_string(e->file) : json_null());
		json_object_set_new(o, "line", json_integer(e->line));
		json_object_set_new(o, "column", json_integer(e->col));
		json_object_set_new(o, "path",
		    json_string(e->path ? e->path : ""));
		json_object_set_new(o, "message", json_string(e->msg));
		json_array_append_new(arr, o);
	}
	return arr;
}

char *
error_list_first(const struct error_list *el)
{
	return el->n ? error_format(&el->v[0]) : NULL;
}
