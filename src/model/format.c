/*
 * Format strings and symbol tables.  Names are few (tens per scope), so the
 * symbol table is a sorted array searched by bisection; copies are cheap
 * enough for the per-action layering the session runtime does.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "model/format.h"

#define FMT_SUGGEST_MAX	5	/* farther names are not suggested */

struct sym {
	char	*name;
	char	*value;		/* NULL: in scope, value unknown */
};

struct symtab {
	struct sym	*v;
	size_t		 n;
	size_t		 alloc;
};

struct symtab *
symtab_new(void)
{
	return xcalloc(1, sizeof(struct symtab));
}

struct symtab *
symtab_copy(const struct symtab *src)
{
	struct symtab *st = symtab_new();

	st->n = st->alloc = src->n;
	st->v = xcalloc(src->n ? src->n : 1, sizeof(*st->v));
	for (size_t i = 0; i < src->n; i++) {
		st->v[i].name = xstrdup(src->v[i].name);
		st->v[i].value = src->v[i].value ?
		    xstrdup(src->v[i].value) : NULL;
	}
	return st;
}

void
symtab_free(struct symtab *st)
{
	if (st == NULL)
		return;
	for (size_t i = 0; i < st->n; i++) {
		free(st->v[i].name);
		free(st->v[i].value);
	}
	free(st->v);
	free(st);
}

/* Index of name, or -(insertion point) - 1. */
static long
symtab_find(const struct symtab *st, const char *name)
{
	size_t lo = 0, hi = st->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(st->v[mid].name, name);
		if (c == 0)
			return (long)mid;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -(long)lo - 1;
}

void
symtab_set(struct symtab *st, const char *name, const char *value)
{
	long i = symtab_find(st, name);
	size_t at;

	if (i >= 0) {
		free(st->v[i].value);
		st->v[i].value = value ? xstrdup(value) : NULL;
		return;
	}
	at = (size_t)(-i - 1);
	ALLOC_GROW(st->v, st->n + 1, st->alloc);
	memmove(&st->v[at + 1], &st->v[at], (st->n - at) * sizeof(*st->v));
	st->v[at].name = xstrdup(name);
	st->v[at].value = value ? xstrdup(value) : NULL;
	st->n++;
}

void
symtab_remove(struct symtab *st, const char *name)
{
	long i = symtab_find(st, name);

	if (i < 0)
		return;
	free(st->v[i].name);
	free(st->v[i].value);
	memmove(&st->v[i], &st->v[i + 1],
	    (st->n - (size_t)i - 1) * sizeof(*st->v));
	st->n--;
}

int
symtab_has(const struct symtab *st, const char *name)
{
	return symtab_find(st, name) >= 0;
}

const char *
symtab_get(const struct symtab *st, const char *name)
{
	long i = symtab_find(st, name);

	return i >= 0 ? st->v[i].value : NULL;
}

size_t
symtab_count(const struct symtab *st)
{
	return st->n;
}

const char *
symtab_name_at(const struct symtab *st, size_t i)
{
	return i < st->n ? st->v[i].name : NULL;
}

size_t
fmt_edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *prev = xcalloc(lb + 1, sizeof(size_t));
	size_t *cur = xcalloc(lb + 1, sizeof(size_t));
	size_t d;

	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
			cur[j] = sub < del ? (sub < ins ? sub : ins) :
			    (del < ins ? del : ins);
		}
		size_t *t = prev;
		prev = cur;
		cur = t;
	}
	d = prev[lb];
	free(prev);
	free(cur);
	return d;
}

char *
fmt_suggest(const char *name, const struct symtab *st)
{
	const char *best = NULL;
	size_t best_d = FMT_SUGGEST_MAX;

	for (size_t i = 0; i < st->n; i++) {
		size_t la = strlen(name), lb = strlen(st->v[i].name);
		if ((la > lb ? la - lb : lb - la) >= best_d)
			continue;
		size_t d = fmt_edit_distance(name, st->v[i].name);
		if (d < best_d) {
			best_d = d;
			best = st->v[i].name;
		}
	}
	return best ? xasprintf(" (did you mean '%s'?)", best) : xstrdup("");
}

static int
fmt_is_ident_start(int c)
{
	return isalpha(c) || c == '_';
}

static int
fmt_is_ident(int c)
{
	return isalnum(c) || c == '_';
}

/* Checks that [p, q) is a dotted name of identifiers. */
static int
fmt_is_name(const char *p, const char *q)
{
	if (p == q)
		return 0;
	for (;;) {
		if (p == q || !fmt_is_ident_start((unsigned char)*p))
			return 0;
		while (p < q && fmt_is_ident((unsigned char)*p))
			p++;
		if (p == q)
			return 1;
		if (*p != '.')
			return 0;
		p++;
	}
}

static int
fmt_fail(size_t *err_off, char **err_msg, size_t off, char *msg)
{
	if (err_off)
		*err_off = off;
	if (err_msg)
		*err_msg = msg;
	else
		free(msg);
	return -1;
}

int
fmt_parse(struct fmt *f, const char *s, size_t *err_off, char **err_msg)
{
	size_t alloc = 0;
	const char *p = s;

	f->refs = NULL;
	f->n = 0;
	while ((p = strstr(p, "{{")) != NULL) {
		const char *open = p, *close, *a, *b, *nested;

		close = strstr(open + 2, "}}");
		if (close == NULL)
			return fmt_fail(err_off, err_msg, (size_t)(open - s),
			    xstrdup("'{{' is not closed by '}}'"));
		nested = strstr(open + 2, "{{");
		if (nested && nested < close)
			return fmt_fail(err_off, err_msg, (size_t)(nested - s),
			    xstrdup("'{{' inside an expression"));
		a = open + 2;
		b = close;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (a == b)
			return fmt_fail(err_off, err_msg, (size_t)(open - s),
			    xstrdup("empty expression '{{}}'"));
		if (!fmt_is_name(a, b))
			return fmt_fail(err_off, err_msg, (size_t)(a - s),
			    xasprintf("'%.*s' is not a value reference "
			    "(expressions need the EXPR extension, which is "
			    "not supported yet)", (int)(b - a), a));
		ALLOC_GROW(f->refs, f->n + 1, alloc);
		f->refs[f->n].start = (size_t)(open - s);
		f->refs[f->n].end = (size_t)(close + 2 - s);
		f->refs[f->n].name = xstrndup(a, (size_t)(b - a));
		f->n++;
		p = close + 2;
	}
	return 0;
}

void
fmt_release(struct fmt *f)
{
	for (size_t i = 0; i < f->n; i++)
		free(f->refs[i].name);
	free(f->refs);
	f->refs = NULL;
	f->n = 0;
}

int
fmt_has_refs(const char *s)
{
	return strstr(s, "{{") != NULL;
}

int
fmt_check(const char *s, const struct symtab *scope, struct error_list *el,
    const char *file, int line, int col, const char *path)
{
	struct fmt f;
	size_t off;
	char *msg;
	int rc = 0;

	if (fmt_parse(&f, s, &off, &msg) < 0) {
		error_add(el, file, line, col, path,
		    "invalid format string at character %zu: %s", off + 1, msg);
		free(msg);
		fmt_release(&f);
		return -1;
	}
	for (size_t i = 0; i < f.n; i++) {
		if (symtab_has(scope, f.refs[i].name))
			continue;
		char *hint = fmt_suggest(f.refs[i].name, scope);
		error_add(el, file, line, col, path,
		    "unknown value reference '%s' in format string%s",
		    f.refs[i].name, hint);
		free(hint);
		rc = -1;
	}
	fmt_release(&f);
	return rc;
}

char *
fmt_resolve(const char *s, const struct symtab *st, char **err_msg)
{
	struct fmt f;
	struct buf out = BUF_INIT;
	size_t off, last = 0;
	char *msg;

	if (fmt_parse(&f, s, &off, &msg) < 0) {
		fmt_release(&f);
		*err_msg = xasprintf("invalid format string at character "
		    "%zu: %s", off + 1, msg);
		free(msg);
		return NULL;
	}
	for (size_t i = 0; i < f.n; i++) {
		const char *v = symtab_get(st, f.refs[i].name);
		if (v == NULL) {
			char *hint = symtab_has(st, f.refs[i].name) ?
			    xstrdup("") : fmt_suggest(f.refs[i].name, st);
			*err_msg = xasprintf("%s '%s'%s",
			    symtab_has(st, f.refs[i].name) ?
			    "no value for" : "unknown value reference",
			    f.refs[i].name, hint);
			free(hint);
			fmt_release(&f);
			buf_release(&out);
			return NULL;
		}
		buf_add(&out, s + last, f.refs[i].start - last);
		buf_adds(&out, v);
		last = f.refs[i].end;
	}
	buf_adds(&out, s + last);
	fmt_release(&f);
	return buf_detach(&out, NULL);
}
