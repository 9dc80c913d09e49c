/*
 * Task parameter spaces: definitions, the combination tree, chunk layout,
 * and index -> values without materialising anything.  See space.h.
 *
 * Index arithmetic: in a product the right-most member varies fastest, an
 * association hands the same index to all members.  Composed along the
 * path from the root, every parameter's own index is
 * (task index / stride) % length, with stride the product of the lengths
 * of everything to its right in the enclosing products (nested moduli
 * collapse because an enclosing length is a multiple of the inner ones).
 * So a lookup is one division and one remainder per parameter.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "model/range.h"
#include "model/space.h"

__extension__ typedef unsigned __int128 space_u128;

enum pkind {
	PK_INT_RANGE,		/* INT with a range expression */
	PK_LIST,		/* INT/FLOAT/STRING/PATH list: texts */
	PK_CHUNK,		/* CHUNK[INT] */
};

/* A stretch of the chunked range, for CONTIGUOUS chunking. */
struct piece {
	uint64_t	 vidx;		/* index of its first value in the range */
	uint64_t	 chunk0;	/* chunks before this piece */
	uint64_t	 nchunks;
	int64_t		 a;		/* first value */
	int64_t		 step;		/* 0: a run a..a+len-1; else isolated
					 * values a + k*step, one chunk each */
	uint64_t	 len;		/* values in the piece */
};

struct param {
	char		*name;
	const char	*type;		/* static string */
	enum pkind	 kind;
	struct range_expr *re;		/* PK_INT_RANGE; PK_CHUNK from text */
	char		**texts;	/* PK_LIST */
	int64_t		*ivals;		/* PK_CHUNK from a list */
	uint64_t	 nvals;		/* values (texts, ivals or re) */
	uint64_t	 len;		/* values, or chunks for PK_CHUNK */
	uint64_t	 stride;
	/* PK_CHUNK */
	uint64_t	 dtc;		/* defaultTaskCount */
	uint64_t	 target;	/* targetRuntimeSeconds */
	int		 contiguous;
	int		 greedy;	/* adaptive layout (target > 0) */
	uint64_t	 size;		/* chunk size in use */
	uint64_t	 small, lo;	/* NONCONTIGUOUS even layout */
	struct piece	*pieces;	/* CONTIGUOUS */
	size_t		 npieces;
};

enum nkind { N_LEAF, N_PRODUCT, N_ASSOC };

struct node {
	enum nkind	 kind;
	size_t		 param;		/* N_LEAF */
	size_t		*kids;		/* indexes into space->nodes */
	size_t		 nkids;
	uint64_t	 len;
	size_t		 off, end;	/* span in the combination text */
};

struct space {
	struct param	*params;
	size_t		 nparams;
	struct node	*nodes;
	size_t		 nnodes, anodes;
	size_t		 root;
	int		 chunk;		/* index of the CHUNK[INT] param or -1 */
	uint64_t	 count;
	char		*comb;		/* combination text (NULL = default) */
};

struct ctx {
	struct space	*sp;
	struct error_list *el;
	const char	*file;
	const char	*prefix;
	int		 nerr;
};

static void
cerr(struct ctx *c, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
cerr(struct ctx *c, const char *field, const char *fmt, ...)
{
	va_list ap;
	char *path = xasprintf("%s%s%s", c->prefix,
	    *c->prefix != '\0' && *field != '\0' ? "." : "", field);

	va_start(ap, fmt);
	if (c->el != NULL)
		error_vadd(c->el, c->file, 0, 0, path, fmt, ap);
	va_end(ap);
	free(path);
	c->nerr++;
}

/* ---- value texts ---- */

/*
 * A double as Python's repr() writes it: the shortest digits that read
 * back exactly, fixed notation for exponents -4..15 (with ".0" for whole
 * numbers), else "1e+16" / "1.5e-05".
 */
static char *
float_text(double d)
{
	char e[40], digits[24], out[64];
	int prec, exp10, nd = 0, i, o = 0;
	const char *s;

	if (isnan(d))
		return xstrdup("nan");
	if (isinf(d))
		return xstrdup(d < 0 ? "-inf" : "inf");
	for (prec = 1; prec <= 17; prec++) {
		snprintf(e, sizeof(e), "%.*e", prec - 1, d);
		if (strtod(e, NULL) == d)
			break;
	}
	s = e;
	if (*s == '-')
		out[o++] = *s++;
	for (; *s != 'e'; s++)
		if (*s != '.')
			digits[nd++] = *s;
	exp10 = atoi(s + 1);
	while (nd > 1 && digits[nd - 1] == '0')
		nd--;
	if (exp10 >= -4 && exp10 < 16) {
		if (exp10 < 0) {
			out[o++] = '0';
			out[o++] = '.';
			for (i = -1; i > exp10; i--)
				out[o++] = '0';
			for (i = 0; i < nd; i++)
				out[o++] = digits[i];
		} else {
			for (i = 0; i <= exp10; i++)
				out[o++] = i < nd ? digits[i] : '0';
			out[o++] = '.';
			if (nd > exp10 + 1)
				for (i = exp10 + 1; i < nd; i++)
					out[o++] = digits[i];
			else
				out[o++] = '0';
		}
		out[o] = '\0';
	} else {
		out[o++] = digits[0];
		if (nd > 1) {
			out[o++] = '.';
			for (i = 1; i < nd; i++)
				out[o++] = digits[i];
		}
		snprintf(out + o, sizeof(out) - (size_t)o, "e%c%02d",
		    exp10 < 0 ? '-' : '+', exp10 < 0 ? -exp10 : exp10);
	}
	return xstrdup(out);
}

/* Base-10 integer text with optional surrounding blanks and sign. */
static int
parse_int_text(const char *s, int64_t *out)
{
	char *end;
	long long v;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0' || !((*s >= '0' && *s <= '9') || *s == '-' ||
	    *s == '+'))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s)
		return -1;
	while (*end == ' ' || *end == '\t')
		end++;
	if (*end != '\0')
		return -1;
	*out = v;
	return 0;
}

static int
json_int_value(const json_t *j, int64_t *out)
{
	if (json_is_integer(j)) {
		*out = json_integer_value(j);
		return 0;
	}
	if (json_is_string(j))
		return parse_int_text(json_string_value(j), out);
	return -1;
}

static int
float_text_ok(const char *s)
{
	char *end;
	double d;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0')
		return 0;
	d = strtod(s, &end);
	(void)d;
	if (end == s)
		return 0;
	while (*end == ' ' || *end == '\t')
		end++;
	return *end == '\0';
}

/* ---- chunk layout ---- */

static void
piece_add(struct param *p, size_t *alloc, uint64_t vidx, int64_t a,
    int64_t step, uint64_t len)
{
	struct piece *pc;

	ALLOC_GROW(p->pieces, p->npieces + 1, *alloc);
	pc = &p->pieces[p->npieces++];
	memset(pc, 0, sizeof(*pc));
	pc->vidx = vidx;
	pc->a = a;
	pc->step = step;
	pc->len = len;
}

/* Splits the chunked range into maximal runs of consecutive integers. */
static void
pieces_build(struct param *p)
{
	size_t alloc = 0;
	int open = 0;
	int64_t is = 0, ie = 0;
	uint64_t ivx = 0;

#define FLUSH() do {							\
	if (open)							\
		piece_add(p, &alloc, ivx, is, 0,			\
		    (uint64_t)(ie - is) + 1);				\
	open = 0;							\
} while (0)
#define TAKE(v, vx) do {						\
	if (open && (v) == ie + 1) {					\
		ie = (v);						\
	} else {							\
		FLUSH();						\
		open = 1;						\
		is = ie = (v);						\
		ivx = (vx);						\
	}								\
} while (0)

	if (p->re != NULL) {
		size_t s;

		for (s = 0; s < p->re->nsegs; s++) {
			const struct range_seg *g = &p->re->segs[s];
			uint64_t vx = p->re->cum[s];
			int64_t last = g->start + (int64_t)(g->count - 1) * g->step;

			if (g->step == 1) {
				TAKE(g->start, vx);
				ie = last;
				continue;
			}
			TAKE(g->start, vx);
			if (g->count == 1)
				continue;
			FLUSH();
			if (g->count > 2)
				piece_add(p, &alloc, vx + 1, g->start + g->step,
				    g->step, g->count - 2);
			TAKE(last, vx + g->count - 1);
		}
	} else {
		uint64_t i;

		for (i = 0; i < p->nvals; i++) {
			if (open && p->ivals[i] == ie + 1)
				ie = p->ivals[i];
			else {
				FLUSH();
				open = 1;
				is = ie = p->ivals[i];
				ivx = i;
			}
		}
	}
	FLUSH();
#undef TAKE
#undef FLUSH
}

static uint64_t
div_ceil(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

/* Chunk count of a run of len values with chunk size k. */
static uint64_t
run_chunks(uint64_t len, uint64_t k)
{
	return div_ceil(len, k);
}

/*
 * Offset inside a run of len values of chunk c (0 <= c <= count).  Even
 * layout, as Python openjd's divide_chunk_sizes: cc = ceil(len/k) chunks
 * of len/cc values, the len%cc leftovers going to chunks floor(i*cc/lo)
 * for i < lo; before chunk c there are ceil(c*lo/cc) of them.  Greedy
 * (adaptive) layout: chunks of k, the last one shorter.
 */
static uint64_t
run_offset(const struct param *p, uint64_t len, uint64_t c)
{
	uint64_t cc, small, lo;

	if (p->greedy) {
		space_u128 o = (space_u128)c * p->size;
		return o > len ? len : (uint64_t)o;
	}
	cc = run_chunks(len, p->size);
	small = len / cc;
	lo = len % cc;
	if (c >= cc)
		return len;
	return c * small + (uint64_t)(((space_u128)c * lo + cc - 1) / cc);
}

/* Chunk layout for the current size (never more chunks than values). */
static void
chunk_layout(struct param *p)
{
	uint64_t n = p->nvals, total = 0;
	size_t i;

	if (p->contiguous) {
		for (i = 0; i < p->npieces; i++) {
			struct piece *pc = &p->pieces[i];

			pc->chunk0 = total;
			pc->nchunks = pc->step != 0 ? pc->len :
			    run_chunks(pc->len, p->size);
			total += pc->nchunks;
		}
	} else {
		total = div_ceil(n, p->size);
		p->small = n / total;
		p->lo = n % total;
	}
	p->len = total;
}

/* Index (into the range) of chunk c's first value; c <= p->len. */
static uint64_t
chunk_offset(const struct param *p, uint64_t c, const struct piece **pcp)
{
	if (p->contiguous) {
		size_t lo = 0, hi = p->npieces;
		const struct piece *pc;

		if (c >= p->len) {
			*pcp = NULL;
			return p->nvals;
		}
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;

			if (p->pieces[mid].chunk0 <= c)
				lo = mid;
			else
				hi = mid;
		}
		pc = &p->pieces[lo];
		*pcp = pc;
		if (pc->step != 0)
			return pc->vidx + (c - pc->chunk0);
		return pc->vidx + run_offset(p, pc->len, c - pc->chunk0);
	}
	*pcp = NULL;
	if (p->greedy) {
		space_u128 o = (space_u128)c * p->size;
		return o > p->nvals ? p->nvals : (uint64_t)o;
	}
	return c * p->small + (c < p->lo ? c : p->lo);
}

/* Text of chunk c into out (cap bytes); returns the full length. */
static size_t
chunk_text(const struct param *p, uint64_t c, char *out, size_t cap)
{
	const struct piece *pc;
	uint64_t o = chunk_offset(p, c, &pc);

	if (p->contiguous) {
		char tmp[48];
		size_t n;
		int64_t first, last;

		if (pc->step != 0) {
			first = last = pc->a + (int64_t)(c - pc->chunk0) *
			    pc->step;
		} else {
			uint64_t k = c - pc->chunk0;
			uint64_t a = run_offset(p, pc->len, k);
			uint64_t b = run_offset(p, pc->len, k + 1);

			first = pc->a + (int64_t)a;
			last = pc->a + (int64_t)b - 1;
		}
		n = range_int_format(first, tmp);
		tmp[n++] = '-';
		n += range_int_format(last, tmp + n);
		if (cap > 0) {
			size_t w = n < cap - 1 ? n : cap - 1;

			memcpy(out, tmp, w);
			out[w] = '\0';
		}
		return n;
	} else {
		const struct piece *unused;
		uint64_t size = chunk_offset(p, c + 1, &unused) - o;

		if (p->re != NULL)
			return range_expr_format_slice_r(p->re, o, size, out,
			    cap);
		return range_format_r(p->ivals + o, size, out, cap);
	}
}

/* ---- definitions ---- */

static const char *
type_name(const char *t)
{
	static const char *const names[] = {
		"INT", "FLOAT", "STRING", "PATH", "CHUNK[INT]",
	};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcmp(t, names[i]))
			return names[i];
	return NULL;
}

static char *
json_scalar_text(const json_t *v)
{
	if (json_is_string(v))
		return xstrdup(json_string_value(v));
	if (json_is_integer(v))
		return xasprintf("%lld", (long long)json_integer_value(v));
	if (json_is_real(v))
		return float_text(json_real_value(v));
	return NULL;
}

static int
check_bound(int64_t v)
{
	return v > -RANGE_VALUE_LIMIT && v < RANGE_VALUE_LIMIT;
}

static void
parse_range_text(struct ctx *c, struct param *p, const char *field,
    const char *text)
{
	size_t off;
	char *msg;

	p->re = range_expr_parse(text, &off, &msg);
	if (p->re == NULL) {
		cerr(c, field, "invalid range expression '%s': %s (at "
		    "character %zu)", text, msg, off + 1);
		free(msg);
		return;
	}
	p->nvals = p->re->count;
}

static void
parse_list(struct ctx *c, struct param *p, const char *field,
    const json_t *arr)
{
	size_t i, n = json_array_size(arr);

	if (n == 0) {
		cerr(c, field, "must have at least one value");
		return;
	}
	if (p->kind == PK_CHUNK)
		p->ivals = xcalloc(n, sizeof(*p->ivals));
	else
		p->texts = xcalloc(n, sizeof(*p->texts));
	p->nvals = n;
	for (i = 0; i < n; i++) {
		const json_t *v = json_array_get(arr, i);
		char *f = xasprintf("%s[%zu]", field, i);
		int64_t iv;

		if (!strcmp(p->type, "INT") || p->kind == PK_CHUNK) {
			if (json_int_value(v, &iv) < 0)
				cerr(c, f, "must be an integer");
			else if (p->kind == PK_CHUNK && !check_bound(iv))
				cerr(c, f, "value %lld is out of range for "
				    "CHUNK[INT] (magnitude must be below 2^62)",
				    (long long)iv);
			else if (p->kind == PK_CHUNK)
				p->ivals[i] = iv;
			else
				p->texts[i] = xasprintf("%lld", (long long)iv);
		} else if (!strcmp(p->type, "FLOAT")) {
			if (json_is_string(v) &&
			    !float_text_ok(json_string_value(v)))
				cerr(c, f, "'%s' is not a number",
				    json_string_value(v));
			else if ((p->texts[i] = json_scalar_text(v)) == NULL)
				cerr(c, f, "must be a number");
		} else {
			if ((p->texts[i] = json_scalar_text(v)) == NULL)
				cerr(c, f, "must be a string");
		}
		free(f);
	}
}

static int
chunk_number(struct ctx *c, const json_t *chunks, const char *key,
    const char *field, uint64_t min, uint64_t *out)
{
	const json_t *v = json_object_get(chunks, key);
	int64_t iv;
	char *f;

	if (v == NULL)
		return 1;
	f = xasprintf("%s.%s", field, key);
	if (json_int_value(v, &iv) < 0)
		cerr(c, f, "must be an integer");
	else if (iv < 0 || (uint64_t)iv < min)
		cerr(c, f, "must be at least %llu", (unsigned long long)min);
	else {
		*out = (uint64_t)iv;
		free(f);
		return 0;
	}
	free(f);
	return -1;
}

static void
parse_chunks(struct ctx *c, struct param *p, const char *field,
    const json_t *chunks)
{
	const json_t *rc;
	char *f;

	if (!json_is_object(chunks)) {
		cerr(c, field, chunks == NULL ? "CHUNK[INT] needs 'chunks'" :
		    "must be an object");
		return;
	}
	if (chunk_number(c, chunks, "defaultTaskCount", field, 1,
	    &p->dtc) == 1)
		cerr(c, field, "missing 'defaultTaskCount'");
	chunk_number(c, chunks, "targetRuntimeSeconds", field, 0, &p->target);
	rc = json_object_get(chunks, "rangeConstraint");
	f = xasprintf("%s.rangeConstraint", field);
	if (rc == NULL)
		cerr(c, field, "missing 'rangeConstraint'");
	else if (json_is_string(rc) &&
	    !strcmp(json_string_value(rc), "CONTIGUOUS"))
		p->contiguous = 1;
	else if (json_is_string(rc) &&
	    !strcmp(json_string_value(rc), "NONCONTIGUOUS"))
		p->contiguous = 0;
	else
		cerr(c, f, "must be CONTIGUOUS or NONCONTIGUOUS");
	free(f);
	p->greedy = p->target > 0;
	p->size = p->dtc;
}

static void
parse_param(struct ctx *c, size_t i, const json_t *def)
{
	struct param *p = &c->sp->params[i];
	char *field = xasprintf("taskParameterDefinitions[%zu]", i);
	char *f;
	const json_t *name, *type, *range;

	if (!json_is_object(def)) {
		cerr(c, field, "must be an object");
		goto out;
	}
	name = json_object_get(def, "name");
	type = json_object_get(def, "type");
	range = json_object_get(def, "range");
	if (!json_is_string(name)) {
		f = xasprintf("%s.name", field);
		cerr(c, f, name == NULL ? "missing" : "must be a string");
		free(f);
	} else {
		size_t k;

		p->name = xstrdup(json_string_value(name));
		for (k = 0; k < i; k++)
			if (c->sp->params[k].name != NULL &&
			    !strcmp(c->sp->params[k].name, p->name)) {
				f = xasprintf("%s.name", field);
				cerr(c, f, "duplicate task parameter name '%s'",
				    p->name);
				free(f);
			}
	}
	f = xasprintf("%s.type", field);
	if (!json_is_string(type))
		cerr(c, f, type == NULL ? "missing" : "must be a string");
	else if ((p->type = type_name(json_string_value(type))) == NULL)
		cerr(c, f, "unknown task parameter type '%s'",
		    json_string_value(type));
	free(f);
	if (p->type == NULL)
		goto out;
	p->kind = !strcmp(p->type, "CHUNK[INT]") ? PK_CHUNK : PK_LIST;
	if (p->kind == PK_CHUNK) {
		if (c->sp->chunk >= 0) {
			f = xasprintf("%s.type", field);
			cerr(c, f, "only one CHUNK[INT] task parameter is "
			    "allowed in a step");
			free(f);
		} else
			c->sp->chunk = (int)i;
		f = xasprintf("%s.chunks", field);
		parse_chunks(c, p, f, json_object_get(def, "chunks"));
		free(f);
	}
	f = xasprintf("%s.range", field);
	if (range == NULL)
		cerr(c, f, "missing");
	else if (json_is_string(range)) {
		if (!strcmp(p->type, "INT") || p->kind == PK_CHUNK) {
			if (p->kind != PK_CHUNK)
				p->kind = PK_INT_RANGE;
			parse_range_text(c, p, f, json_string_value(range));
		} else
			cerr(c, f, "a %s task parameter needs a list of "
			    "values", p->type);
	} else if (json_is_array(range))
		parse_list(c, p, f, range);
	else
		cerr(c, f, "must be a list%s", !strcmp(p->type, "INT") ||
		    p->kind == PK_CHUNK ? " or a range expression" : "");
	free(f);
	if (p->kind == PK_CHUNK && p->nvals > 0 && p->size > 0) {
		if (p->contiguous)
			pieces_build(p);
		chunk_layout(p);
	} else if (p->kind != PK_CHUNK)
		p->len = p->nvals;
out:
	free(field);
}

/* ---- combination ---- */

static size_t
node_new(struct space *sp, enum nkind kind)
{
	ALLOC_GROW(sp->nodes, sp->nnodes + 1, sp->anodes);
	memset(&sp->nodes[sp->nnodes], 0, sizeof(sp->nodes[0]));
	sp->nodes[sp->nnodes].kind = kind;
	return sp->nnodes++;
}

static void
node_kid(struct space *sp, size_t n, size_t kid)
{
	struct node *nd = &sp->nodes[n];

	nd->kids = xreallocarray(nd->kids, nd->nkids + 1, sizeof(size_t));
	nd->kids[nd->nkids++] = kid;
}

struct cparse {
	struct ctx	*c;
	const char	*s;
	size_t		 pos;
	int		*used;
	int		 failed;
};

static void
cp_ws(struct cparse *cp)
{
	while (cp->s[cp->pos] == ' ' || cp->s[cp->pos] == '\t' ||
	    cp->s[cp->pos] == '\n' || cp->s[cp->pos] == '\r')
		cp->pos++;
}

static int
is_ident(int ch, int first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	    ch == '_' || (!first && ch >= '0' && ch <= '9');
}

static int
cp_fail(struct cparse *cp, const char *what)
{
	char ch = cp->s[cp->pos];

	if (cp->failed++)
		return -1;
	if (ch == '\0')
		cerr(cp->c, "combination", "expected %s at end of '%s'", what,
		    cp->s);
	else if ((unsigned char)ch < 0x20 || (unsigned char)ch >= 0x7f)
		cerr(cp->c, "combination", "expected %s at character %zu of "
		    "'%s'", what, cp->pos + 1, cp->s);
	else
		cerr(cp->c, "combination", "expected %s at character %zu of "
		    "'%s', found '%c'", what, cp->pos + 1, cp->s, ch);
	return -1;
}

static long cp_product(struct cparse *);

static long
cp_element(struct cparse *cp)
{
	struct space *sp = cp->c->sp;
	size_t start, n;

	cp_ws(cp);
	start = cp->pos;
	if (cp->s[cp->pos] == '(') {
		long kid;

		cp->pos++;
		n = node_new(sp, N_ASSOC);
		for (;;) {
			if ((kid = cp_product(cp)) < 0)
				return -1;
			node_kid(sp, n, (size_t)kid);
			cp_ws(cp);
			if (cp->s[cp->pos] == ',') {
				cp->pos++;
				continue;
			}
			if (cp->s[cp->pos] == ')') {
				cp->pos++;
				break;
			}
			return cp_fail(cp, "',' or ')'");
		}
		sp->nodes[n].off = start;
		sp->nodes[n].end = cp->pos;
		if (sp->nodes[n].nkids < 2) {
			cp->failed++;
			cerr(cp->c, "combination", "an association needs at "
			    "least two members: '%.*s'", (int)(cp->pos - start),
			    cp->s + start);
			return -1;
		}
		return (long)n;
	}
	if (!is_ident((unsigned char)cp->s[cp->pos], 1))
		return cp_fail(cp, "a task parameter name or '('");
	while (is_ident((unsigned char)cp->s[cp->pos], 0))
		cp->pos++;
	for (n = 0; n < sp->nparams; n++) {
		const char *nm = sp->params[n].name;

		if (nm != NULL && strlen(nm) == cp->pos - start &&
		    !strncmp(nm, cp->s + start, cp->pos - start))
			break;
	}
	if (n == sp->nparams) {
		cerr(cp->c, "combination", "unknown task parameter '%.*s'",
		    (int)(cp->pos - start), cp->s + start);
		cp->failed++;
		return -1;
	}
	if (cp->used[n]++ == 1) {
		cerr(cp->c, "combination", "task parameter '%s' appears more "
		    "than once", sp->params[n].name);
		cp->failed++;
	}
	{
		size_t leaf = node_new(sp, N_LEAF);

		sp->nodes[leaf].param = n;
		sp->nodes[leaf].off = start;
		sp->nodes[leaf].end = cp->pos;
		return (long)leaf;
	}
}

static long
cp_product(struct cparse *cp)
{
	struct space *sp = cp->c->sp;
	long first, kid;
	size_t n, start;

	cp_ws(cp);
	start = cp->pos;
	if ((first = cp_element(cp)) < 0)
		return -1;
	cp_ws(cp);
	if (cp->s[cp->pos] != '*')
		return first;
	n = node_new(sp, N_PRODUCT);
	node_kid(sp, n, (size_t)first);
	while (cp->s[cp->pos] == '*') {
		cp->pos++;
		if ((kid = cp_element(cp)) < 0)
			return -1;
		node_kid(sp, n, (size_t)kid);
		cp_ws(cp);
	}
	sp->nodes[n].off = start;
	sp->nodes[n].end = cp->pos;
	return (long)n;
}

static void
parse_combination(struct ctx *c, const char *text)
{
	struct space *sp = c->sp;
	struct cparse cp = { c, text, 0, NULL, 0 };
	long root;
	size_t i;

	cp.used = xcalloc(sp->nparams, sizeof(int));
	cp_ws(&cp);
	if (cp.s[cp.pos] == '\0') {
		cerr(c, "combination", "must not be empty");
		goto out;
	}
	root = cp_product(&cp);
	if (root >= 0) {
		cp_ws(&cp);
		if (cp.s[cp.pos] != '\0') {
			cp_fail(&cp, is_ident((unsigned char)cp.s[cp.pos], 1) ?
			    "'*' between task parameters" : "'*'");
			root = -1;
		}
	}
	if (root < 0 || cp.failed)
		goto out;
	for (i = 0; i < sp->nparams; i++)
		if (cp.used[i] == 0 && sp->params[i].name != NULL)
			cerr(c, "combination", "task parameter '%s' is missing "
			    "from the combination", sp->params[i].name);
	sp->root = (size_t)root;
out:
	free(cp.used);
}

/* Default: product of all parameters in definition order (an adaptive
 * CHUNK[INT] parameter last, as openjd does). */
static void
default_combination(struct space *sp)
{
	size_t i, n;

	if (sp->nparams == 1) {
		sp->root = node_new(sp, N_LEAF);
		sp->nodes[sp->root].param = 0;
		return;
	}
	n = node_new(sp, N_PRODUCT);
	for (i = 0; i < sp->nparams; i++) {
		size_t leaf;

		if ((int)i == sp->chunk && sp->params[i].greedy)
			continue;
		leaf = node_new(sp, N_LEAF);
		sp->nodes[leaf].param = i;
		node_kid(sp, n, leaf);
	}
	if (sp->chunk >= 0 && sp->params[sp->chunk].greedy) {
		size_t leaf = node_new(sp, N_LEAF);

		sp->nodes[leaf].param = (size_t)sp->chunk;
		node_kid(sp, n, leaf);
	}
	sp->root = n;
}

/*
 * Lengths bottom-up, checking associations and overflow; then strides
 * top-down.  Reports through c when not NULL.  Returns 0 or -1.
 */
static int
node_measure(struct space *sp, struct ctx *c, size_t n)
{
	struct node *nd = &sp->nodes[n];
	size_t i;
	int rc = 0;

	if (nd->kind == N_LEAF) {
		nd->len = sp->params[nd->param].len;
		return 0;
	}
	for (i = 0; i < nd->nkids; i++)
		if (node_measure(sp, c, nd->kids[i]) < 0)
			rc = -1;
	if (rc < 0)
		return -1;
	if (nd->kind == N_ASSOC) {
		const struct node *k0 = &sp->nodes[nd->kids[0]];

		nd->len = k0->len;
		for (i = 1; i < nd->nkids; i++) {
			const struct node *k = &sp->nodes[nd->kids[i]];

			if (k->len == k0->len)
				continue;
			if (c != NULL)
				cerr(c, "combination", "members of an "
				    "association must have the same number of "
				    "values: '%.*s' has %llu, '%.*s' has %llu",
				    (int)(k0->end - k0->off), sp->comb + k0->off,
				    (unsigned long long)k0->len,
				    (int)(k->end - k->off), sp->comb + k->off,
				    (unsigned long long)k->len);
			return -1;
		}
		return 0;
	}
	nd->len = 1;
	for (i = 0; i < nd->nkids; i++) {
		uint64_t kl = sp->nodes[nd->kids[i]].len;

		if (kl != 0 && nd->len > SPACE_MAX_TASKS / kl) {
			if (c != NULL)
				cerr(c, sp->comb != NULL ? "combination" : "",
				    "the step has too many tasks (more than "
				    "%llu)", (unsigned long long)SPACE_MAX_TASKS);
			return -1;
		}
		nd->len *= kl;
	}
	return 0;
}

static void
node_strides(struct space *sp, size_t n, uint64_t stride)
{
	struct node *nd = &sp->nodes[n];
	size_t i;

	switch (nd->kind) {
	case N_LEAF:
		sp->params[nd->param].stride = stride;
		break;
	case N_ASSOC:
		for (i = 0; i < nd->nkids; i++)
			node_strides(sp, nd->kids[i], stride);
		break;
	case N_PRODUCT:
		for (i = nd->nkids; i-- > 0;) {
			node_strides(sp, nd->kids[i], stride);
			stride *= sp->nodes[nd->kids[i]].len;
		}
		break;
	}
}

static int
space_measure(struct space *sp, struct ctx *c)
{
	if (sp->nparams == 0) {
		sp->count = 1;
		return 0;
	}
	if (node_measure(sp, c, sp->root) < 0)
		return -1;
	sp->count = sp->nodes[sp->root].len;
	node_strides(sp, sp->root, 1);
	return 0;
}

/* ---- public ---- */

struct space *
space_new_ex(const json_t *ps, struct error_list *el, const char *file,
    const char *prefix)
{
	struct ctx c = { NULL, el, file, prefix != NULL ? prefix : "", 0 };
	struct space *sp = xcalloc(1, sizeof(*sp));
	const json_t *defs, *comb;
	size_t i;

	c.sp = sp;
	sp->chunk = -1;
	if (ps == NULL || json_is_null(ps)) {
		sp->count = 1;
		return sp;
	}
	if (!json_is_object(ps)) {
		cerr(&c, "", "must be an object");
		goto fail;
	}
	defs = json_object_get(ps, "taskParameterDefinitions");
	if (!json_is_array(defs)) {
		cerr(&c, "taskParameterDefinitions", defs == NULL ?
		    "missing" : "must be a list");
		goto fail;
	}
	if (json_array_size(defs) == 0) {
		cerr(&c, "taskParameterDefinitions", "must have at least one "
		    "task parameter");
		goto fail;
	}
	sp->nparams = json_array_size(defs);
	sp->params = xcalloc(sp->nparams, sizeof(*sp->params));
	for (i = 0; i < sp->nparams; i++)
		parse_param(&c, i, json_array_get(defs, i));
	if (c.nerr > 0)
		goto fail;
	comb = json_object_get(ps, "combination");
	if (comb != NULL && !json_is_null(comb)) {
		const char *t;

		if (!json_is_string(comb)) {
			cerr(&c, "combination", "must be a string");
			goto fail;
		}
		t = json_string_value(comb);
		while (*t == ' ' || *t == '\t')
			t++;
		if (t[0] == '*' && t[1 + strspn(t + 1, " \t")] == '\0')
			comb = NULL;	/* "*" alone: the default (openjd) */
	}
	if (comb != NULL && !json_is_null(comb)) {
		sp->comb = xstrdup(json_string_value(comb));
		parse_combination(&c, sp->comb);
	} else
		default_combination(sp);
	if (c.nerr > 0 || space_measure(sp, &c) < 0)
		goto fail;
	return sp;
fail:
	space_free(sp);
	return NULL;
}

struct space *
space_new(const json_t *ps, struct error_list *el, const char *file)
{
	return space_new_ex(ps, el, file, "parameterSpace");
}

void
space_free(struct space *sp)
{
	size_t i;

	if (sp == NULL)
		return;
	for (i = 0; i < sp->nparams; i++) {
		struct param *p = &sp->params[i];

		free(p->name);
		range_expr_free(p->re);
		if (p->texts != NULL) {
			uint64_t k;

			for (k = 0; k < p->nvals; k++)
				free(p->texts[k]);
			free(p->texts);
		}
		free(p->ivals);
		free(p->pieces);
	}
	free(sp->params);
	for (i = 0; i < sp->nnodes; i++)
		free(sp->nodes[i].kids);
	free(sp->nodes);
	free(sp->comb);
	free(sp);
}

uint64_t
space_count(const struct space *sp)
{
	return sp->count;
}

size_t
space_nparams(const struct space *sp)
{
	return sp->nparams;
}

const char *
space_param_name(const struct space *sp, size_t i)
{
	return i < sp->nparams ? sp->params[i].name : NULL;
}

const char *
space_param_type(const struct space *sp, size_t i)
{
	return i < sp->nparams ? sp->params[i].type : NULL;
}

uint64_t
space_param_nvalues(const struct space *sp, size_t i)
{
	return i < sp->nparams ? sp->params[i].nvals : 0;
}

int
space_param_index(const struct space *sp, const char *name)
{
	size_t i;

	for (i = 0; i < sp->nparams; i++)
		if (!strcmp(sp->params[i].name, name))
			return (int)i;
	return -1;
}

int
space_get_r(const struct space *sp, uint64_t index, const char **values,
    char *buf, size_t bufsize)
{
	size_t i, used = 0;

	if (index >= sp->count) {
		errno = EDOM;
		return -1;
	}
	for (i = 0; i < sp->nparams; i++) {
		const struct param *p = &sp->params[i];
		uint64_t j = (index / p->stride) % p->len;

		switch (p->kind) {
		case PK_LIST:
			values[i] = p->texts[j];
			break;
		case PK_INT_RANGE:
			if (bufsize - used < 21) {
				errno = ERANGE;
				return -1;
			}
			values[i] = buf + used;
			used += range_int_format(range_expr_get(p->re, j),
			    buf + used) + 1;
			break;
		case PK_CHUNK: {
			size_t n = chunk_text(p, j, buf + used, bufsize - used);

			if (n + 1 > bufsize - used) {
				errno = ERANGE;
				return -1;
			}
			values[i] = buf + used;
			used += n + 1;
			break;
		}
		}
	}
	return 0;
}

int
space_get(const struct space *sp, uint64_t index, char **values)
{
	size_t i;

	if (index >= sp->count)
		return -1;
	for (i = 0; i < sp->nparams; i++) {
		const struct param *p = &sp->params[i];
		uint64_t j = (index / p->stride) % p->len;
		char tmp[24];

		switch (p->kind) {
		case PK_LIST:
			values[i] = xstrdup(p->texts[j]);
			break;
		case PK_INT_RANGE:
			range_int_format(range_expr_get(p->re, j), tmp);
			values[i] = xstrdup(tmp);
			break;
		case PK_CHUNK: {
			size_t n = chunk_text(p, j, NULL, 0);

			values[i] = xmalloc(n + 1);
			chunk_text(p, j, values[i], n + 1);
			break;
		}
		}
	}
	return 0;
}

/* ---- reverse lookup ---- */

/* Position of text in parameter p's own sequence, or -1. */
static int64_t
param_find(const struct space *sp, size_t pi, const char *text)
{
	const struct param *p = &sp->params[pi];
	int64_t v;
	uint64_t j;

	switch (p->kind) {
	case PK_LIST:
		for (j = 0; j < p->nvals; j++)
			if (!strcmp(p->texts[j], text))
				return (int64_t)j;
		if (!strcmp(p->type, "INT") && parse_int_text(text, &v) == 0) {
			char tmp[24];

			range_int_format(v, tmp);
			for (j = 0; j < p->nvals; j++)
				if (!strcmp(p->texts[j], tmp))
					return (int64_t)j;
		}
		return -1;
	case PK_INT_RANGE:
		if (parse_int_text(text, &v) < 0)
			return -1;
		return range_expr_index_of(p->re, v);
	case PK_CHUNK: {
		/* The chunk holding the text's first value, then compare. */
		struct range_expr *r = range_expr_parse(text, NULL, NULL);
		int64_t k = -1;
		uint64_t lo = 0, hi = p->len;

		if (r == NULL)
			return -1;
		v = range_expr_get(r, 0);
		range_expr_free(r);
		if (p->re != NULL)
			k = range_expr_index_of(p->re, v);
		else
			for (j = 0; j < p->nvals && k < 0; j++)
				if (p->ivals[j] == v)
					k = (int64_t)j;
		if (k < 0)
			return -1;
		while (hi - lo > 1) {
			const struct piece *pc;
			uint64_t mid = lo + (hi - lo) / 2;

			if (chunk_offset(p, mid, &pc) <= (uint64_t)k)
				lo = mid;
			else
				hi = mid;
		}
		{
			size_t n = chunk_text(p, lo, NULL, 0);
			char *s = xmalloc(n + 1);
			int eq;

			chunk_text(p, lo, s, n + 1);
			eq = !strcmp(s, text);
			free(s);
			return eq ? (int64_t)lo : -1;
		}
	}
	}
	return -1;
}

static int
node_matches(const struct space *sp, size_t n, uint64_t j,
    const int64_t *pos)
{
	const struct node *nd = &sp->nodes[n];
	size_t i;

	switch (nd->kind) {
	case N_LEAF:
		return pos[nd->param] >= 0 && (uint64_t)pos[nd->param] == j;
	case N_ASSOC:
		for (i = 0; i < nd->nkids; i++)
			if (!node_matches(sp, nd->kids[i], j, pos))
				return 0;
		return 1;
	case N_PRODUCT:
		for (i = nd->nkids; i-- > 0;) {
			uint64_t kl = sp->nodes[nd->kids[i]].len;

			if (!node_matches(sp, nd->kids[i], j % kl, pos))
				return 0;
			j /= kl;
		}
		return 1;
	}
	return 0;
}

static int64_t
node_find(const struct space *sp, size_t n, const int64_t *pos)
{
	const struct node *nd = &sp->nodes[n];
	size_t i;
	int64_t j;

	switch (nd->kind) {
	case N_LEAF:
		return pos[nd->param];
	case N_ASSOC:
		j = node_find(sp, nd->kids[0], pos);
		if (j >= 0 && node_matches(sp, n, (uint64_t)j, pos))
			return j;
		return -1;
	case N_PRODUCT: {
		uint64_t acc = 0;

		for (i = 0; i < nd->nkids; i++) {
			j = node_find(sp, nd->kids[i], pos);
			if (j < 0)
				return -1;
			acc = acc * sp->nodes[nd->kids[i]].len + (uint64_t)j;
		}
		return (int64_t)acc;
	}
	}
	return -1;
}

int64_t
space_find(const struct space *sp, const char *const *values)
{
	int64_t *pos, r;
	size_t i;

	if (sp->nparams == 0)
		return 0;
	pos = xcalloc(sp->nparams, sizeof(*pos));
	for (i = 0; i < sp->nparams; i++)
		pos[i] = param_find(sp, i, values[i]);
	r = node_find(sp, sp->root, pos);
	free(pos);
	return r;
}

/* ---- chunks ---- */

int
space_chunk_param(const struct space *sp)
{
	return sp->chunk;
}

uint64_t
space_chunk_default_count(const struct space *sp)
{
	return sp->chunk >= 0 ? sp->params[sp->chunk].dtc : 0;
}

uint64_t
space_chunk_target_runtime(const struct space *sp)
{
	return sp->chunk >= 0 ? sp->params[sp->chunk].target : 0;
}

int
space_chunk_contiguous(const struct space *sp)
{
	return sp->chunk >= 0 ? sp->params[sp->chunk].contiguous : 0;
}

uint64_t
space_chunk_size(const struct space *sp)
{
	return sp->chunk >= 0 ? sp->params[sp->chunk].size : 0;
}

int
space_set_chunk_size(struct space *sp, uint64_t n)
{
	struct param *p;
	uint64_t old;

	if (sp->chunk < 0 || n == 0)
		return -1;
	p = &sp->params[sp->chunk];
	old = p->size;
	p->size = n;
	chunk_layout(p);
	if (space_measure(sp, NULL) < 0) {
		p->size = old;
		chunk_layout(p);
		space_measure(sp, NULL);
		return -1;
	}
	return 0;
}
