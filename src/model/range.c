/*
 * INT range expressions: parser with error offsets, the compiled segment
 * form with O(log n) index->value, and the canonical formatter used for
 * CHUNK[INT] values.  See range.h for the rules.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "model/range.h"

/* One comma-separated part as parsed, before sorting. */
struct part {
	int64_t		 start;		/* lowest value */
	int64_t		 end;		/* highest value actually reached */
	int64_t		 step;		/* > 0 */
	int64_t		 lo, hi;	/* the span as written */
	size_t		 off;		/* offset of the part in the text */
};

struct parser {
	const char	*text;
	size_t		 pos;
	size_t		 err_off;
	char		*err_msg;
};

static int
perr(struct parser *p, size_t off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
perr(struct parser *p, size_t off, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (p->err_msg != NULL)
		return -1;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	p->err_off = off;
	p->err_msg = buf_detach(&b, NULL);
	return -1;
}

static void
skip_ws(struct parser *p)
{
	while (p->text[p->pos] == ' ' || p->text[p->pos] == '\t')
		p->pos++;
}

/* Reports an unexpected character (or the end) at the current position. */
static int
unexpected(struct parser *p, const char *wanted)
{
	const char *c = p->text + p->pos;

	if (*c == '\0')
		return perr(p, p->pos, "expected %s, found end of expression",
		    wanted);
	if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
		return perr(p, p->pos, "expected %s, found character 0x%02x",
		    wanted, (unsigned char)*c);
	return perr(p, p->pos, "expected %s, found '%c'", wanted, *c);
}

/* [-]digits, |value| < RANGE_VALUE_LIMIT. */
static int
parse_int(struct parser *p, int64_t *out, const char *wanted)
{
	size_t start = p->pos;
	int neg = 0;
	uint64_t v = 0;
	int big = 0;

	if (p->text[p->pos] == '-') {
		neg = 1;
		p->pos++;
	}
	if (p->text[p->pos] < '0' || p->text[p->pos] > '9') {
		if (neg) {
			p->pos = start + 1;
			return unexpected(p, "a digit");
		}
		return unexpected(p, wanted);
	}
	while (p->text[p->pos] >= '0' && p->text[p->pos] <= '9') {
		if (!big) {
			v = v * 10 + (uint64_t)(p->text[p->pos] - '0');
			if (v >= (uint64_t)RANGE_VALUE_LIMIT)
				big = 1;
		}
		p->pos++;
	}
	if (big)
		return perr(p, start, "integer '%.*s' is out of range "
		    "(its magnitude must be below 2^62)",
		    (int)(p->pos - start), p->text + start);
	*out = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

static int
span_cmp(const void *a, const void *b)
{
	const struct part *x = a, *y = b;

	if (x->lo != y->lo)
		return x->lo < y->lo ? -1 : 1;
	if (x->hi != y->hi)
		return x->hi < y->hi ? -1 : 1;
	return 0;
}

static int
part_cmp(const void *a, const void *b)
{
	const struct part *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	if (x->end != y->end)
		return x->end < y->end ? -1 : 1;
	return 0;
}

/* The part as written (minus blanks), from the text. */
static void
part_text(struct buf *b, const char *text, const struct part *pt)
{
	const char *s = text + pt->off;

	for (; *s != '\0' && *s != ','; s++)
		if (*s != ' ' && *s != '\t')
			buf_addch(b, *s);
}

/*
 * Parses text into sorted, merged, non-overlapping parts.  Returns the
 * number of parts (*out malloc'd) or -1 with p->err_* set.
 */
static long
parse_parts(struct parser *p, struct part **out)
{
	struct part *v = NULL;
	size_t n = 0, alloc = 0, i, m;

	*out = NULL;
	skip_ws(p);
	if (p->text[p->pos] == '\0') {
		perr(p, p->pos, "empty range expression");
		return -1;
	}
	for (;;) {
		struct part pt;
		int64_t a, b, step = 0;
		size_t step_off = 0;
		int has_end = 0, has_step = 0;

		skip_ws(p);
		pt.off = p->pos;
		if (n >= RANGE_MAX_PARTS) {
			perr(p, p->pos, "too many parts in range expression "
			    "(at most %d)", RANGE_MAX_PARTS);
			goto fail;
		}
		if (parse_int(p, &a, "an integer") < 0)
			goto fail;
		b = a;
		skip_ws(p);
		if (p->text[p->pos] == '-') {
			p->pos++;
			skip_ws(p);
			if (parse_int(p, &b, "an integer after '-'") < 0)
				goto fail;
			has_end = 1;
			skip_ws(p);
			if (p->text[p->pos] == ':') {
				p->pos++;
				skip_ws(p);
				step_off = p->pos;
				if (parse_int(p, &step, "a step after ':'") < 0)
					goto fail;
				has_step = 1;
				skip_ws(p);
			}
		}
		if (p->text[p->pos] != ',' && p->text[p->pos] != '\0') {
			unexpected(p, has_step ? "',' or end of expression" :
			    has_end ? "':', ',' or end of expression" :
			    "'-', ',' or end of expression");
			goto fail;
		}
		if (has_step && step == 0) {
			perr(p, step_off, "step must not be zero");
			goto fail;
		}
		if (!has_step)
			step = 1;
		if (a > b && !has_step) {
			perr(p, pt.off, "descending range %lld-%lld needs a "
			    "negative step (e.g. '%lld-%lld:-1')",
			    (long long)a, (long long)b, (long long)a,
			    (long long)b);
			goto fail;
		}
		if (a > b && step > 0) {
			perr(p, step_off, "descending range %lld-%lld needs a "
			    "negative step", (long long)a, (long long)b);
			goto fail;
		}
		if (a < b && step < 0) {
			perr(p, step_off, "ascending range %lld-%lld needs a "
			    "positive step", (long long)a, (long long)b);
			goto fail;
		}
		pt.lo = a < b ? a : b;
		pt.hi = a < b ? b : a;
		if (a == b) {
			pt.start = pt.end = a;
			pt.step = 1;
		} else if (step > 0) {
			uint64_t cnt = (uint64_t)(b - a) / (uint64_t)step;
			pt.start = a;
			pt.end = a + (int64_t)cnt * step;
			pt.step = step;
		} else {
			uint64_t cnt = (uint64_t)(a - b) / (uint64_t)-step;
			pt.end = a;
			pt.start = a + (int64_t)cnt * step;
			pt.step = -step;
		}
		if (pt.start == pt.end)
			pt.step = 1;
		ALLOC_GROW(v, n + 1, alloc);
		v[n++] = pt;
		if (p->text[p->pos] == '\0')
			break;
		p->pos++;	/* ',' */
		skip_ws(p);
		if (p->text[p->pos] == '\0' || p->text[p->pos] == ',') {
			perr(p, p->pos, p->text[p->pos] == '\0' ?
			    "trailing ',' in range expression" :
			    "empty part in range expression");
			goto fail;
		}
	}

	/*
	 * Overlap check on the spans as written, as the spec's table has it
	 * ("1-10:4,10-15" overlaps although 10 is not a value of 1-10:4).
	 * Values lie inside their spans, so disjoint spans sorted by span
	 * are also sorted by value.
	 */
	qsort(v, n, sizeof(*v), span_cmp);
	for (i = 1; i < n; i++) {
		if (v[i].lo <= v[i - 1].hi) {
			struct buf x = BUF_INIT, y = BUF_INIT;
			const struct part *first = &v[i - 1], *second = &v[i];

			if (first->off > second->off) {
				first = &v[i];
				second = &v[i - 1];
			}
			part_text(&x, p->text, first);
			part_text(&y, p->text, second);
			perr(p, second->off, "range '%s' overlaps range '%s'",
			    y.s, x.s);
			buf_release(&x);
			buf_release(&y);
			goto fail;
		}
	}
	/* Merge neighbours that continue each other with the same step. */
	for (i = 1, m = 1; i < n; i++) {
		struct part *last = &v[m - 1];

		if (last->step == v[i].step &&
		    last->end + v[i].step == v[i].start) {
			last->end = v[i].end;
			continue;
		}
		v[m++] = v[i];
	}
	*out = v;
	return (long)m;
fail:
	free(v);
	return -1;
}

int
range_expr_validate(const char *text, size_t *err_offset, char **err_msg)
{
	struct range_expr *r = range_expr_parse(text, err_offset, err_msg);

	if (r == NULL)
		return -1;
	range_expr_free(r);
	return 0;
}

struct range_expr *
range_expr_parse(const char *text, size_t *err_offset, char **err_msg)
{
	struct parser p = { text, 0, 0, NULL };
	struct part *parts;
	struct range_expr *r;
	long n;
	size_t i;

	if (err_offset != NULL)
		*err_offset = 0;
	if (err_msg != NULL)
		*err_msg = NULL;
	n = parse_parts(&p, &parts);
	if (n < 0) {
		if (err_offset != NULL)
			*err_offset = p.err_off;
		if (err_msg != NULL)
			*err_msg = p.err_msg;
		else
			free(p.err_msg);
		return NULL;
	}
	r = xcalloc(1, sizeof(*r));
	r->nsegs = (size_t)n;
	r->segs = xcalloc((size_t)n, sizeof(*r->segs));
	r->cum = xcalloc((size_t)n + 1, sizeof(*r->cum));
	for (i = 0; i < (size_t)n; i++) {
		r->segs[i].start = parts[i].start;
		r->segs[i].step = parts[i].step;
		r->segs[i].count = (uint64_t)(parts[i].end - parts[i].start) /
		    (uint64_t)parts[i].step + 1;
		r->cum[i + 1] = r->cum[i] + r->segs[i].count;
	}
	r->count = r->cum[n];
	free(parts);
	return r;
}

void
range_expr_free(struct range_expr *r)
{
	if (r == NULL)
		return;
	free(r->segs);
	free(r->cum);
	free(r);
}

size_t
range_expr_seg_of(const struct range_expr *r, uint64_t index)
{
	size_t lo = 0, hi = r->nsegs;

	/* Largest i with cum[i] <= index. */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->cum[mid] <= index)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int64_t
range_expr_get(const struct range_expr *r, uint64_t index)
{
	size_t s = r->nsegs == 1 ? 0 : range_expr_seg_of(r, index);
	const struct range_seg *g = &r->segs[s];

	return g->start + (int64_t)(index - r->cum[s]) * g->step;
}

int
range_expr_contains(const struct range_expr *r, int64_t v)
{
	return range_expr_index_of(r, v) >= 0;
}

int64_t
range_expr_index_of(const struct range_expr *r, int64_t v)
{
	size_t lo = 0, hi = r->nsegs;
	const struct range_seg *g;

	/* Last segment starting at or below v. */
	if (r->nsegs == 0 || v < r->segs[0].start)
		return -1;
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;

		if (r->segs[mid].start <= v)
			lo = mid;
		else
			hi = mid;
	}
	g = &r->segs[lo];
	if ((v - g->start) % g->step != 0 ||
	    (uint64_t)((v - g->start) / g->step) >= g->count)
		return -1;
	return (int64_t)(r->cum[lo] + (uint64_t)((v - g->start) / g->step));
}

size_t
range_int_format(int64_t v, char *buf)
{
	char tmp[24];
	size_t n = 0, i;
	uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

	do {
		tmp[n++] = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	i = 0;
	if (v < 0)
		buf[i++] = '-';
	while (n > 0)
		buf[i++] = tmp[--n];
	buf[i] = '\0';
	return i;
}

/* Bounded output that still counts the full length, like snprintf(). */
struct sink {
	char		*out;
	size_t		 cap;
	size_t		 len;
};

static void
sink_add(struct sink *k, const char *s, size_t n)
{
	if (k->len < k->cap) {
		size_t room = k->cap - 1 - k->len;

		memcpy(k->out + k->len, s, n < room ? n : room);
	}
	k->len += n;
}

static void
sink_int(struct sink *k, int64_t v)
{
	char tmp[24];
	size_t n = range_int_format(v, tmp);

	sink_add(k, tmp, n);
}

static size_t
sink_end(struct sink *k)
{
	if (k->cap > 0)
		k->out[k->len < k->cap ? k->len : k->cap - 1] = '\0';
	return k->len;
}

/*
 * Writes one part: count 1 "a", count 2 "a,b", else "a-b" or "a-b:s".
 */
static void
emit(struct sink *k, int64_t first, int64_t step, uint64_t count)
{
	int64_t last = first + (int64_t)(count - 1) * step;

	if (k->len > 0)
		sink_add(k, ",", 1);
	sink_int(k, first);
	if (count == 1)
		return;
	sink_add(k, count == 2 ? "," : "-", 1);
	sink_int(k, last);
	if (count > 2 && step != 1) {
		sink_add(k, ":", 1);
		sink_int(k, step);
	}
}

size_t
range_format_r(const int64_t *v, size_t n, char *out, size_t cap)
{
	struct sink k = { out, cap, 0 };
	struct part *parts;
	size_t i = 0, np = 0, m;

	if (n == 0)
		return sink_end(&k);
	parts = xcalloc(n, sizeof(*parts));
	/* 1. Runs of 3+ values with a constant positive step, in order. */
	while (i < n) {
		uint64_t d = i + 1 < n ? (uint64_t)v[i + 1] - (uint64_t)v[i] : 0;

		if (i + 2 < n && v[i + 1] > v[i] && v[i + 2] > v[i + 1] &&
		    d <= (uint64_t)INT64_MAX &&
		    (uint64_t)v[i + 2] - (uint64_t)v[i + 1] == d) {
			size_t end = i + 2;

			while (end + 1 < n && v[end + 1] > v[end] &&
			    (uint64_t)v[end + 1] - (uint64_t)v[end] == d)
				end++;
			parts[np].start = v[i];
			parts[np].end = v[end];
			parts[np].step = (int64_t)d;
			np++;
			i = end + 1;
			continue;
		}
		parts[np].start = parts[np].end = v[i];
		parts[np].step = 1;
		np++;
		i++;
	}
	/* 2. As a range expression: parts sorted, continuations merged. */
	qsort(parts, np, sizeof(*parts), part_cmp);
	for (i = 1, m = 1; i < np; i++) {
		struct part *last = &parts[m - 1];

		if (last->step == parts[i].step &&
		    (uint64_t)last->end + (uint64_t)parts[i].step ==
		    (uint64_t)parts[i].start) {
			last->end = parts[i].end;
			continue;
		}
		parts[m++] = parts[i];
	}
	for (i = 0; i < m; i++)
		emit(&k, parts[i].start, parts[i].step,
		    ((uint64_t)parts[i].end - (uint64_t)parts[i].start) /
		    (uint64_t)parts[i].step + 1);
	free(parts);
	return sink_end(&k);
}

char *
range_format(const int64_t *v, size_t n)
{
	size_t len = range_format_r(v, n, NULL, 0);
	char *s = xmalloc(len + 1);

	range_format_r(v, n, s, len + 1);
	return s;
}

/*
 * The same text for indexes [first, first + n) of a compiled range.  Its
 * values increase strictly, so step 2 (sort, merge) changes nothing and
 * runs can be found segment by segment: long runs inside a segment are
 * skipped arithmetically, so the cost is per segment, not per value.
 */
size_t
range_expr_format_slice_r(const struct range_expr *r, uint64_t first,
    uint64_t n, char *out, size_t cap)
{
	struct sink k = { out, cap, 0 };
	uint64_t i = first, stop = first + n;

	if (n == 0 || first >= r->count || n > r->count - first)
		return sink_end(&k);
	while (i < stop) {
		int64_t v0 = range_expr_get(r, i);

		if (i + 2 < stop) {
			int64_t v1 = range_expr_get(r, i + 1);
			int64_t v2 = range_expr_get(r, i + 2);
			int64_t d = v1 - v0;

			if (v2 - v1 == d) {
				uint64_t end = i + 2;

				for (;;) {
					size_t s = range_expr_seg_of(r, end);
					uint64_t last = r->cum[s + 1] - 1;

					/* Jump to the segment's end if it
					 * keeps the step. */
					if (r->segs[s].step == d && last > end)
						end = last < stop - 1 ?
						    last : stop - 1;
					if (end + 1 >= stop)
						break;
					if (range_expr_get(r, end + 1) -
					    range_expr_get(r, end) != d)
						break;
					end++;
				}
				emit(&k, v0, d, end - i + 1);
				i = end + 1;
				continue;
			}
		}
		/* Two values left that are not a run: "a,b" is what the
		 * merge of step 2 would give too. */
		emit(&k, v0, 1, 1);
		i++;
	}
	return sink_end(&k);
}

char *
range_expr_format_slice(const struct range_expr *r, uint64_t first,
    uint64_t n)
{
	size_t len = range_expr_format_slice_r(r, first, n, NULL, 0);
	char *s = xmalloc(len + 1);

	range_expr_format_slice_r(r, first, n, s, len + 1);
	return s;
}

char *
range_expr_format(const struct range_expr *r)
{
	return range_expr_format_slice(r, 0, r->count);
}
