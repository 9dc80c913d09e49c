/*
 * Unit tests for task parameter spaces: combination order against a
 * brute-force enumeration written here, counts, huge spaces, CHUNK[INT]
 * layouts against a brute-force chunker, reverse lookup, errors.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/error.h"
#include "model/range.h"
#include "model/space.h"

static struct space *
build(const char *json)
{
	json_error_t jerr;
	json_t *j = json_loads(json, 0, &jerr);
	struct error_list el = ERROR_LIST_INIT;
	struct space *sp;

	if (j == NULL)
		fail_msg("bad test json: %s: %s", jerr.text, json);
	sp = space_new(j, &el, "t.yaml");
	if (sp == NULL) {
		error_list_print(&el, stderr);
		fail_msg("space rejected: %s", json);
	}
	assert_int_equal(el.n, 0);
	error_list_release(&el);
	json_decref(j);
	return sp;
}

/* All errors of a rejected space, one per line, "path: message". */
static char *
build_err(const char *json)
{
	json_t *j = json_loads(json, 0, NULL);
	struct error_list el = ERROR_LIST_INIT;
	struct space *sp;
	char *out = NULL;
	size_t len = 0, i;

	assert_non_null(j);
	sp = space_new(j, &el, "t.yaml");
	if (sp != NULL)
		fail_msg("space accepted: %s", json);
	assert_true(el.n > 0);
	for (i = 0; i < el.n; i++) {
		char *line = error_format(&el.v[i]);

		out = realloc(out, len + strlen(line) + 2);
		len += (size_t)sprintf(out + len, "%s\n", line);
		free(line);
	}
	error_list_release(&el);
	json_decref(j);
	return out;
}

static void
expect_err(const char *json, const char *want)
{
	char *got = build_err(json);

	if (strstr(got, want) == NULL)
		fail_msg("errors for %s:\n%s\nwant: %s", json, got, want);
	free(got);
}

/* Values of index as one string "a|b|c"; checks space_get_r agrees. */
static char *
row(const struct space *sp, uint64_t index)
{
	size_t n = space_nparams(sp), i, len = 0;
	char **v = calloc(n + 1, sizeof(char *));
	const char **w = calloc(n + 1, sizeof(char *));
	char buf[4096], *out = malloc(4096);

	assert_int_equal(space_get(sp, index, v), 0);
	assert_int_equal(space_get_r(sp, index, w, buf, sizeof(buf)), 0);
	out[0] = '\0';
	for (i = 0; i < n; i++) {
		assert_string_equal(v[i], w[i]);
		len += (size_t)snprintf(out + len, 4096 - len, "%s%s",
		    i ? "|" : "", v[i]);
		free(v[i]);
	}
	free(v);
	free(w);
	return out;
}

static void
expect_rows(const struct space *sp, const char *const *want, size_t n)
{
	size_t i;

	assert_int_equal(space_count(sp), n);
	for (i = 0; i < n; i++) {
		char *r = row(sp, i);

		if (strcmp(r, want[i]) != 0)
			fail_msg("task %zu: '%s', want '%s'", i, r, want[i]);
		free(r);
	}
}

#define ROWS(sp, ...) do {						\
	static const char *const w_[] = { __VA_ARGS__ };		\
	expect_rows(sp, w_, sizeof(w_) / sizeof(w_[0]));		\
} while (0)

static void
test_no_params(void **state)
{
	struct space *sp = space_new(NULL, NULL, "t.yaml");
	const char *v[1];
	char buf[8];
	json_t *null = json_null();
	(void)state;

	assert_non_null(sp);
	assert_int_equal(space_count(sp), 1);
	assert_int_equal(space_nparams(sp), 0);
	assert_int_equal(space_get_r(sp, 0, v, buf, sizeof(buf)), 0);
	assert_int_equal(space_get(sp, 1, NULL), -1);
	assert_int_equal(space_find(sp, NULL), 0);
	space_free(sp);
	sp = space_new(null, NULL, "t.yaml");
	assert_int_equal(space_count(sp), 1);
	space_free(sp);
	json_decref(null);
}

#define SPEC_PARAMS							\
	"{\"taskParameterDefinitions\": ["				\
	"{\"name\": \"A\", \"type\": \"INT\", \"range\": [1, 2, 3]},"	\
	"{\"name\": \"B\", \"type\": \"INT\", \"range\": \"10-12\"},"	\
	"{\"name\": \"C\", \"type\": \"INT\", \"range\": [20, 21]},"	\
	"{\"name\": \"D\", \"type\": \"STRING\", \"range\": [\"a\", \"b\", \"c\"]}]"

/* The examples of Template Schemas 3.4.3. */
static void
test_spec_table(void **state)
{
	struct space *sp;
	(void)state;

	sp = build(SPEC_PARAMS ", \"combination\": \"A * B * C * D\"}");
	assert_int_equal(space_count(sp), 54);
	space_free(sp);

	sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"INT\", \"range\": [1, 2, 3]},"
	    "{\"name\": \"B\", \"type\": \"INT\", \"range\": \"10-12\"}],"
	    "\"combination\": \"A * B\"}");
	ROWS(sp, "1|10", "1|11", "1|12", "2|10", "2|11", "2|12", "3|10",
	    "3|11", "3|12");
	space_free(sp);

	sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"INT\", \"range\": [1, 2, 3]},"
	    "{\"name\": \"B\", \"type\": \"INT\", \"range\": \"10-12\"}],"
	    "\"combination\": \"(A,B)\"}");
	ROWS(sp, "1|10", "2|11", "3|12");
	space_free(sp);

	sp = build(SPEC_PARAMS ", \"combination\": \"(A, B) * C * D\"}");
	assert_int_equal(space_count(sp), 18);
	space_free(sp);

	sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"INT\", \"range\": [1, 2, 3]},"
	    "{\"name\": \"B\", \"type\": \"INT\", \"range\": \"10-12\"},"
	    "{\"name\": \"C\", \"type\": \"INT\", \"range\": [20, 21]}],"
	    "\"combination\": \"(A,B) * C\"}");
	ROWS(sp, "1|10|20", "1|10|21", "2|11|20", "2|11|21", "3|12|20",
	    "3|12|21");
	space_free(sp);

	/* Values come back in definition order whatever the expression. */
	sp = build(SPEC_PARAMS ", \"combination\": \"C * (D, B, A)\"}");
	ROWS(sp, "1|10|20|a", "2|11|20|b", "3|12|20|c", "1|10|21|a",
	    "2|11|21|b", "3|12|21|c");
	space_free(sp);

	expect_err(SPEC_PARAMS ", \"combination\": \"(A,C) * B * D\"}",
	    "t.yaml: parameterSpace.combination: members of an "
	    "association must have the same number of values: 'A' has 3, "
	    "'C' has 2");
	expect_err(SPEC_PARAMS ", \"combination\": \"(A,B,A) * C * D\"}",
	    "parameterSpace.combination: task parameter 'A' appears more "
	    "than once");
}

/* Default combination: product in definition order. */
static void
test_default_order(void **state)
{
	struct space *sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"Frame\", \"type\": \"INT\", \"range\": \"3-1:-1\"},"
	    "{\"name\": \"Cam\", \"type\": \"STRING\", \"range\": [\"l\", \"r\"]}]}");
	(void)state;

	assert_int_equal(space_nparams(sp), 2);
	assert_string_equal(space_param_name(sp, 0), "Frame");
	assert_string_equal(space_param_type(sp, 1), "STRING");
	assert_int_equal(space_param_index(sp, "Cam"), 1);
	assert_int_equal(space_param_nvalues(sp, 0), 3);
	assert_int_equal(space_param_nvalues(sp, 1), 2);
	assert_int_equal(space_param_index(sp, "cam"), -1);
	assert_int_equal(space_chunk_param(sp), -1);
	ROWS(sp, "1|l", "1|r", "2|l", "2|r", "3|l", "3|r");
	space_free(sp);

	/* "*" alone means the default, as in openjd. */
	sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"INT\", \"range\": [1, 2]},"
	    "{\"name\": \"B\", \"type\": \"INT\", \"range\": [3, 4]}],"
	    "\"combination\": \" * \"}");
	ROWS(sp, "1|3", "1|4", "2|3", "2|4");
	space_free(sp);
}

static void
test_value_texts(void **state)
{
	struct space *sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"F\", \"type\": \"FLOAT\", \"range\": [0.5, 1.0, "
	    "\"1.50\", 2, 1e-5, 1e16, 123456789.125, -0.0001, 0.1]}]}");
	(void)state;

	ROWS(sp, "0.5", "1.0", "1.50", "2", "1e-05", "1e+16",
	    "123456789.125", "-0.0001", "0.1");
	space_free(sp);
	sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"I\", \"type\": \"INT\", \"range\": [\"07\", \" 3 \", "
	    "-1, 9223372036854775807]}]}");
	ROWS(sp, "7", "3", "-1", "9223372036854775807");
	space_free(sp);
	sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"P\", \"type\": \"PATH\", \"range\": [\"/a b\", \"c\"]},"
	    "{\"name\": \"S\", \"type\": \"STRING\", \"range\": [\"x\", 5]}]}");
	ROWS(sp, "/a b|x", "/a b|5", "c|x", "c|5");
	space_free(sp);
}

/* ---- brute force enumeration of a combination expression ---- */

#define BF_MAXP	8

struct bf_param {
	const char	*name;
	const char	*vals[16];
	size_t		 n;
};

/* A materialised space: rows of per-parameter value indexes (-1 unset). */
struct bf_set {
	int		(*rows)[BF_MAXP];
	size_t		 n;
};

struct bf {
	const struct bf_param *params;
	size_t		 np;
	const char	*s;
	size_t		 pos;
};

static struct bf_set bf_product(struct bf *);

static void
bf_ws(struct bf *b)
{
	while (b->s[b->pos] == ' ')
		b->pos++;
}

static struct bf_set
bf_element(struct bf *b)
{
	struct bf_set r = { NULL, 0 };
	size_t i, k;

	bf_ws(b);
	if (b->s[b->pos] == '(') {
		struct bf_set parts[8];
		size_t np = 0;

		b->pos++;
		for (;;) {
			parts[np++] = bf_product(b);
			bf_ws(b);
			if (b->s[b->pos++] == ')')
				break;
		}
		/* zip */
		r.n = parts[0].n;
		r.rows = calloc(r.n, sizeof(*r.rows));
		for (i = 0; i < r.n; i++) {
			for (k = 0; k < BF_MAXP; k++)
				r.rows[i][k] = -1;
			for (k = 0; k < np; k++) {
				size_t q;

				assert_int_equal(parts[k].n, r.n);
				for (q = 0; q < BF_MAXP; q++)
					if (parts[k].rows[i][q] >= 0)
						r.rows[i][q] = parts[k].rows[i][q];
			}
		}
		for (k = 0; k < np; k++)
			free(parts[k].rows);
		return r;
	}
	for (i = 0; i < b->np; i++) {
		size_t l = strlen(b->params[i].name);

		if (!strncmp(b->s + b->pos, b->params[i].name, l) &&
		    !(b->s[b->pos + l] >= 'A' && b->s[b->pos + l] <= 'Z')) {
			b->pos += l;
			r.n = b->params[i].n;
			r.rows = calloc(r.n, sizeof(*r.rows));
			for (k = 0; k < r.n; k++) {
				size_t q;

				for (q = 0; q < BF_MAXP; q++)
					r.rows[k][q] = -1;
				r.rows[k][i] = (int)k;
			}
			return r;
		}
	}
	fail_msg("bf: bad expression at %s", b->s + b->pos);
	return r;
}

static struct bf_set
bf_product(struct bf *b)
{
	struct bf_set acc = bf_element(b);

	bf_ws(b);
	while (b->s[b->pos] == '*') {
		struct bf_set rhs, out;
		size_t i, j, q;

		b->pos++;
		rhs = bf_element(b);
		out.n = acc.n * rhs.n;
		out.rows = calloc(out.n, sizeof(*out.rows));
		/* left operand slowest */
		for (i = 0; i < acc.n; i++)
			for (j = 0; j < rhs.n; j++)
				for (q = 0; q < BF_MAXP; q++)
					out.rows[i * rhs.n + j][q] =
					    acc.rows[i][q] >= 0 ? acc.rows[i][q] :
					    rhs.rows[j][q];
		free(acc.rows);
		free(rhs.rows);
		acc = out;
		bf_ws(b);
	}
	return acc;
}

static const struct bf_param bf_params[] = {
	{ "A", { "1", "2", "3" }, 3 },
	{ "B", { "1", "2", "3" }, 3 },		/* "3-1:-1" */
	{ "C", { "p", "q" }, 2 },
	{ "D", { "0.5", "1.0", "1.50", "2" }, 4 },
	{ "E", { "1", "4", "7", "10" }, 4 },	/* "10-1:-3" */
	{ "F", { "u", "v" }, 2 },
	{ "G", { "-3", "-2", "-1", "0", "1", "5" }, 6 },	/* "-3-1,5" */
};

#define BF_DEFS								\
	"{\"taskParameterDefinitions\": ["				\
	"{\"name\": \"A\", \"type\": \"INT\", \"range\": [1, 2, 3]},"	\
	"{\"name\": \"B\", \"type\": \"INT\", \"range\": \"3-1:-1\"},"	\
	"{\"name\": \"C\", \"type\": \"STRING\", \"range\": [\"p\", \"q\"]},"	\
	"{\"name\": \"D\", \"type\": \"FLOAT\", \"range\": [0.5, 1.0, \"1.50\", 2]},"	\
	"{\"name\": \"E\", \"type\": \"INT\", \"range\": \"10-1:-3\"},"	\
	"{\"name\": \"F\", \"type\": \"PATH\", \"range\": [\"u\", \"v\"]},"	\
	"{\"name\": \"G\", \"type\": \"INT\", \"range\": \"-3-1,5\"}]"

static void
test_brute_force(void **state)
{
	static const char *exprs[] = {
		"A * B * C * D * E * F * G",
		"G * F * E * D * C * B * A",
		"E * (A, B) * C * D * F * G",
		"(A * C, B * F) * D * E * G",
		"(A, B) * (D, E) * (C, F) * G",
		"((A, B) * C, G) * (D, E) * F",
		"(G, C * A, F * B) * (E, D)",
		"D*E*(A,B)*(C,F)*G",
	};
	size_t e, i, q, np = sizeof(bf_params) / sizeof(bf_params[0]);
	(void)state;

	for (e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		struct bf b = { bf_params, np, exprs[e], 0 };
		struct bf_set want = bf_product(&b);
		char json[2048];
		struct space *sp;

		snprintf(json, sizeof(json), "%s, \"combination\": \"%s\"}",
		    BF_DEFS, exprs[e]);
		sp = build(json);
		assert_int_equal(space_count(sp), want.n);
		for (i = 0; i < want.n; i++) {
			char **v = calloc(np, sizeof(char *));
			int64_t back;

			assert_int_equal(space_get(sp, i, v), 0);
			for (q = 0; q < np; q++) {
				const char *w =
				    bf_params[q].vals[want.rows[i][q]];

				if (strcmp(v[q], w) != 0)
					fail_msg("%s: task %zu param %s: '%s', "
					    "want '%s'", exprs[e], i,
					    bf_params[q].name, v[q], w);
			}
			back = space_find(sp, (const char *const *)v);
			assert_int_equal(back, (int64_t)i);
			for (q = 0; q < np; q++)
				free(v[q]);
			free(v);
		}
		assert_int_equal(space_get(sp, want.n, NULL), -1);
		free(want.rows);
		space_free(sp);
	}
	/* Default combination = product in definition order. */
	{
		struct bf b = { bf_params, np, "A * B * C * D * E * F * G", 0 };
		struct bf_set want = bf_product(&b);
		char json[2048];
		struct space *sp;

		snprintf(json, sizeof(json), "%s}", BF_DEFS);
		sp = build(json);
		assert_int_equal(space_count(sp), want.n);
		for (i = 0; i < want.n; i += 7) {
			char *r = row(sp, i);
			char w[256];
			size_t len = 0;

			for (q = 0; q < np; q++)
				len += (size_t)sprintf(w + len, "%s%s",
				    q ? "|" : "",
				    bf_params[q].vals[want.rows[i][q]]);
			assert_string_equal(r, w);
			free(r);
		}
		free(want.rows);
		space_free(sp);
	}
}

static void
test_find_misses(void **state)
{
	struct space *sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"INT\", \"range\": \"1-10:3\"},"
	    "{\"name\": \"B\", \"type\": \"STRING\", \"range\": [\"x\", \"y\"]},"
	    "{\"name\": \"C\", \"type\": \"INT\", \"range\": [5, 6]}],"
	    "\"combination\": \"A * (B, C)\"}");
	const char *v[3];
	(void)state;

	v[0] = "7"; v[1] = "y"; v[2] = "6";
	assert_int_equal(space_find(sp, v), 5);
	v[0] = "007";
	assert_int_equal(space_find(sp, v), 5);
	v[0] = "8";		/* not in 1-10:3 */
	assert_int_equal(space_find(sp, v), -1);
	v[0] = "7"; v[2] = "5";	/* y goes with 6, not 5 */
	assert_int_equal(space_find(sp, v), -1);
	v[1] = "z";
	assert_int_equal(space_find(sp, v), -1);
	space_free(sp);
}

/* 10^12 tasks: count, last and middle indexes computed independently. */
static void
test_huge(void **state)
{
	struct space *sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"X\", \"type\": \"INT\", \"range\": \"1-10000\"},"
	    "{\"name\": \"Y\", \"type\": \"INT\", \"range\": \"-1--20000:-2\"},"
	    "{\"name\": \"Z\", \"type\": \"INT\", \"range\": \"0-99990:10\"}]}");
	static const uint64_t probes[] = {
		0, 1, 9999, 10000, 123456789012ULL, 500000000000ULL,
		999999999999ULL,
	};
	size_t i;
	clock_t t0;
	(void)state;

	assert_int_equal(space_count(sp), 1000000000000ULL);
	for (i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
		uint64_t ix = probes[i];
		uint64_t x = ix / 100000000, y = ix / 10000 % 10000,
		    z = ix % 10000;
		char want[96], *r = row(sp, ix);
		const char *v[3];
		char buf[96];

		snprintf(want, sizeof(want), "%llu|%lld|%llu",
		    (unsigned long long)(x + 1), (long long)y * 2 - 19999,
		    (unsigned long long)z * 10);
		assert_string_equal(r, want);
		free(r);
		assert_int_equal(space_get_r(sp, ix, v, buf, sizeof(buf)), 0);
		assert_int_equal(space_find(sp, v), (int64_t)ix);
	}
	{
		char *r = row(sp, 999999999999ULL);

		assert_string_equal(r, "10000|-1|99990");
		free(r);
	}
	assert_int_equal(space_get(sp, 1000000000000ULL, NULL), -1);
	space_free(sp);

	/* 10^9 tasks from one expression: building is instant. */
	t0 = clock();
	for (i = 0; i < 1000; i++) {
		sp = build("{\"taskParameterDefinitions\": [{\"name\": \"F\", "
		    "\"type\": \"INT\", \"range\": \"1-1000000000\"}]}");
		assert_int_equal(space_count(sp), 1000000000);
		space_free(sp);
	}
	/* 1000 builds of a 10^9 space well under a second even with ASan. */
	assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);

	/* The largest range alone is fine; one more factor overflows. */
	sp = build("{\"taskParameterDefinitions\": [{\"name\": \"F\", "
	    "\"type\": \"INT\", \"range\": "
	    "\"-4611686018427387903-4611686018427387903\"}]}");
	assert_int_equal(space_count(sp), (uint64_t)INT64_MAX);
	{
		char *r = row(sp, (uint64_t)INT64_MAX - 1);

		assert_string_equal(r, "4611686018427387903");
		free(r);
	}
	space_free(sp);
	expect_err("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"F\", \"type\": \"INT\", \"range\": \"1-1000000000\"},"
	    "{\"name\": \"G\", \"type\": \"INT\", \"range\": \"1-1000000000\"},"
	    "{\"name\": \"H\", \"type\": \"INT\", \"range\": \"1-1000000000\"}]}",
	    "parameterSpace: the step has too many tasks");
	expect_err("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"F\", \"type\": \"INT\", \"range\": \"1-1000000000\"},"
	    "{\"name\": \"G\", \"type\": \"INT\", \"range\": \"1-1000000000\"},"
	    "{\"name\": \"H\", \"type\": \"INT\", \"range\": \"1-1000000000\"}],"
	    "\"combination\": \"H * (F, G) * F\"}",
	    "'F' appears more than once");
}

/* ---- CHUNK[INT] ---- */

static struct space *
chunk_space(const char *range, unsigned size, const char *constraint,
    unsigned target)
{
	char json[1024];

	snprintf(json, sizeof(json), "{\"taskParameterDefinitions\": ["
	    "{\"name\": \"Frame\", \"type\": \"CHUNK[INT]\", \"range\": %s, "
	    "\"chunks\": {\"defaultTaskCount\": %u, \"targetRuntimeSeconds\": "
	    "%u, \"rangeConstraint\": \"%s\"}}]}", range, size, target,
	    constraint);
	return build(json);
}

static void
expect_chunks(const char *range, unsigned size, const char *constraint,
    const char *const *want, size_t n)
{
	struct space *sp = chunk_space(range, size, constraint, 0);

	assert_int_equal(space_chunk_param(sp), 0);
	assert_true(space_param_nvalues(sp, 0) >= space_count(sp));
	assert_int_equal(space_param_nvalues(sp, 1), 0);
	assert_int_equal(space_chunk_size(sp), size);
	assert_int_equal(space_chunk_default_count(sp), size);
	assert_int_equal(space_chunk_contiguous(sp),
	    !strcmp(constraint, "CONTIGUOUS"));
	assert_string_equal(space_param_type(sp, 0), "CHUNK[INT]");
	expect_rows(sp, want, n);
	space_free(sp);
}

#define CHUNKS(range, size, c, ...) do {				\
	static const char *const w_[] = { __VA_ARGS__ };		\
	expect_chunks(range, size, c, w_, sizeof(w_) / sizeof(w_[0]));	\
} while (0)

/* The TASK_CHUNKING conformance cases and the openjd-rs examples. */
static void
test_chunk_examples(void **state)
{
	(void)state;
	CHUNKS("\"1-12\"", 5, "CONTIGUOUS", "1-4", "5-8", "9-12");
	CHUNKS("\"1-8\"", 3, "CONTIGUOUS", "1-3", "4-6", "7-8");
	CHUNKS("\"1-5\"", 100, "CONTIGUOUS", "1-5");
	CHUNKS("\"1-6\"", 2, "CONTIGUOUS", "1-2", "3-4", "5-6");
	CHUNKS("\"1-8\"", 3, "NONCONTIGUOUS", "1-3", "4-6", "7,8");
	CHUNKS("\"1-10\"", 5, "NONCONTIGUOUS", "1-5", "6-10");
	/* 18-50 is 33 values: 4 chunks of 8, one leftover on the first
	 * (the openjd-rs spec text shows 10,10,10,3 but its code and the
	 * conformance case 1-12/5 -> 4,4,4 spread evenly). */
	CHUNKS("\"1,10-12,18-50\"", 10, "CONTIGUOUS", "1-1", "10-12",
	    "18-26", "27-34", "35-42", "43-50");
	CHUNKS("\"1-9:2,10-12\"", 2, "CONTIGUOUS", "1-1", "3-3", "5-5",
	    "7-7", "9-10", "11-12");
	CHUNKS("\"1-9:2,10-12\"", 4, "NONCONTIGUOUS", "1-7:2", "9-12");
	CHUNKS("\"1-9:2,10-12\"", 3, "NONCONTIGUOUS", "1-5:2", "7,9,10",
	    "11,12");
	CHUNKS("\"1-20:2\"", 5, "NONCONTIGUOUS", "1-9:2", "11-19:2");
	CHUNKS("\"5\"", 3, "CONTIGUOUS", "5-5");
	CHUNKS("\"5\"", 3, "NONCONTIGUOUS", "5");
	CHUNKS("[5, 3, 1, 2]", 2, "NONCONTIGUOUS", "3,5", "1,2");
	CHUNKS("[1, 2, 3, 7, 8]", 2, "CONTIGUOUS", "1-2", "3-3", "7-8");
	CHUNKS("[\"4\", 5, 6]", 2, "CONTIGUOUS", "4-5", "6-6");
	/* Even spread: 10 values in 3 chunks -> 4, 3, 3 (noncontiguous
	 * leftovers first; contiguous at floor(i * 3 / 1) = 0). */
	CHUNKS("\"1-10\"", 4, "NONCONTIGUOUS", "1-4", "5-7", "8-10");
	CHUNKS("\"1-10\"", 4, "CONTIGUOUS", "1-4", "5-7", "8-10");
	/* 11 values, size 3 -> 4 chunks, leftovers 3 at 0, 1, 2. */
	CHUNKS("\"1-11\"", 3, "CONTIGUOUS", "1-3", "4-6", "7-9", "10-11");
	/* 14 values, size 4 -> 4 chunks of 3, leftovers 2 at 0 and 2. */
	CHUNKS("\"1-14\"", 4, "CONTIGUOUS", "1-4", "5-7", "8-11", "12-14");
	CHUNKS("\"1-14\"", 4, "NONCONTIGUOUS", "1-4", "5-8", "9-11",
	    "12-14");
}

/* Independent chunker: materialise, cut, render. */
static size_t
bf_chunks(const int64_t *v, size_t n, size_t k, int contiguous, int greedy,
    char out[][256])
{
	size_t nc = 0, i = 0, c;

	if (!contiguous) {
		size_t cc = (n + k - 1) / k, off = 0;

		for (c = 0; c < cc; c++) {
			size_t size = greedy ? (n - off < k ? n - off : k) :
			    n / cc + (c < n % cc);
			char *s = range_format(v + off, size);

			snprintf(out[nc++], 256, "%s", s);
			free(s);
			off += size;
		}
		return nc;
	}
	while (i < n) {
		size_t j = i, len, cc, sizes[4096];

		while (j + 1 < n && v[j + 1] == v[j] + 1)
			j++;
		len = j - i + 1;
		cc = (len + k - 1) / k;
		for (c = 0; c < cc; c++)
			sizes[c] = greedy ? (c + 1 < cc ? k : len - c * k) :
			    len / cc;
		if (!greedy)
			for (c = 0; c < len % cc; c++)
				sizes[c * cc / (len % cc)]++;
		for (c = 0; c < cc; c++) {
			snprintf(out[nc++], 256, "%lld-%lld", (long long)v[i],
			    (long long)(v[i] + (int64_t)sizes[c] - 1));
			i += sizes[c];
		}
	}
	return nc;
}

static void
test_chunk_brute_force(void **state)
{
	static const char *ranges[] = {
		"\"1-40\"", "\"1,10-12,18-50\"", "\"1-9:2,10-12,14-30:4,31-33\"",
		"\"-10--1:3,0,1,2,5-8\"", "\"1-9:2,11-13:2,15-20\"",
		"[3, 4, 5, 9, 1, 2, 10, 11]", "\"100\"",
	};
	static char want[512][256];
	size_t r, k, i;
	int contiguous, greedy;
	(void)state;

	for (r = 0; r < sizeof(ranges) / sizeof(ranges[0]); r++)
	for (contiguous = 0; contiguous <= 1; contiguous++)
	for (greedy = 0; greedy <= 1; greedy++) {
		struct space *sp = chunk_space(ranges[r], 1,
		    contiguous ? "CONTIGUOUS" : "NONCONTIGUOUS", greedy ? 60 : 0);
		int64_t vals[512];
		size_t nv = 0;

		/* the values, in range order */
		if (ranges[r][0] == '[') {
			const char *p = ranges[r] + 1;

			while (*p != ']') {
				vals[nv++] = strtoll(p, (char **)&p, 10);
				while (*p == ',' || *p == ' ')
					p++;
			}
		} else {
			char text[128];
			struct range_expr *re;

			snprintf(text, sizeof(text), "%.*s",
			    (int)strlen(ranges[r]) - 2, ranges[r] + 1);
			re = range_expr_parse(text, NULL, NULL);
			assert_non_null(re);
			for (i = 0; i < range_expr_count(re); i++)
				vals[nv++] = range_expr_get(re, i);
			range_expr_free(re);
		}
		assert_int_equal(space_chunk_target_runtime(sp),
		    greedy ? 60 : 0);
		for (k = 1; k <= nv + 2; k++) {
			size_t nc = bf_chunks(vals, nv, k, contiguous, greedy,
			    want);

			assert_int_equal(space_set_chunk_size(sp, k), 0);
			assert_int_equal(space_chunk_size(sp), k);
			assert_int_equal(space_count(sp), nc);
			for (i = 0; i < nc; i++) {
				char *got = row(sp, i);
				const char *v[1] = { got };

				if (strcmp(got, want[i]) != 0)
					fail_msg("%s k=%zu %s%s chunk %zu: "
					    "'%s', want '%s'", ranges[r], k,
					    contiguous ? "contiguous" :
					    "noncontiguous", greedy ?
					    " greedy" : "", i, got, want[i]);
				assert_int_equal(space_find(sp, v),
				    (int64_t)i);
				free(got);
			}
		}
		space_free(sp);
	}
}

static void
test_chunk_combined(void **state)
{
	struct space *sp;
	(void)state;

	/* Chunks in a product and an association. */
	sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"Frame\", \"type\": \"CHUNK[INT]\", \"range\": \"1-10\","
	    " \"chunks\": {\"defaultTaskCount\": 5, \"rangeConstraint\": "
	    "\"CONTIGUOUS\"}},"
	    "{\"name\": \"Cam\", \"type\": \"STRING\", \"range\": [\"a\", \"b\"]},"
	    "{\"name\": \"L\", \"type\": \"INT\", \"range\": [7, 8, 9]}],"
	    "\"combination\": \"(Frame, Cam) * L\"}");
	ROWS(sp, "1-5|a|7", "1-5|a|8", "1-5|a|9", "6-10|b|7", "6-10|b|8",
	    "6-10|b|9");
	/* 5 chunks would break the association: refused, nothing changed. */
	assert_int_equal(space_set_chunk_size(sp, 2), -1);
	assert_int_equal(space_chunk_size(sp), 5);
	assert_int_equal(space_count(sp), 6);
	assert_int_equal(space_set_chunk_size(sp, 0), -1);
	assert_int_equal(space_set_chunk_size(sp, 6), 0);
	ROWS(sp, "1-5|a|7", "1-5|a|8", "1-5|a|9", "6-10|b|7", "6-10|b|8",
	    "6-10|b|9");
	space_free(sp);

	/* Adaptive (targetRuntimeSeconds > 0): the chunk parameter varies
	 * fastest in the default product, chunks are cut greedily. */
	sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"Frame\", \"type\": \"CHUNK[INT]\", \"range\": \"1-7\","
	    " \"chunks\": {\"defaultTaskCount\": \"3\", \"targetRuntimeSeconds\":"
	    " 30, \"rangeConstraint\": \"CONTIGUOUS\"}},"
	    "{\"name\": \"Cam\", \"type\": \"STRING\", \"range\": [\"a\", \"b\"]}]}");
	ROWS(sp, "1-3|a", "4-6|a", "7-7|a", "1-3|b", "4-6|b", "7-7|b");
	space_free(sp);

	/* Not adaptive: definition order. */
	sp = build("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"Frame\", \"type\": \"CHUNK[INT]\", \"range\": \"1-7\","
	    " \"chunks\": {\"defaultTaskCount\": 3, \"targetRuntimeSeconds\":"
	    " 0, \"rangeConstraint\": \"CONTIGUOUS\"}},"
	    "{\"name\": \"Cam\", \"type\": \"STRING\", \"range\": [\"a\", \"b\"]}]}");
	ROWS(sp, "1-3|a", "1-3|b", "4-5|a", "4-5|b", "6-7|a", "6-7|b");
	space_free(sp);

	/* Huge chunked range: counts and the last chunk without scanning. */
	sp = chunk_space("\"1-100000000000,100000000002-100000000010:2\"", 7,
	    "CONTIGUOUS", 0);
	assert_int_equal(space_count(sp), 14285714286ULL + 5);
	{
		char *r = row(sp, 14285714285ULL);

		assert_string_equal(r, "99999999995-100000000000");
		free(r);
		r = row(sp, 14285714286ULL + 4);
		assert_string_equal(r, "100000000010-100000000010");
		free(r);
	}
	space_free(sp);
	sp = chunk_space("\"1-100000000000:3\"", 1000000, "NONCONTIGUOUS", 0);
	{
		uint64_t n = 33333333334ULL, cc = (n + 999999) / 1000000;
		uint64_t small = n / cc, lo = n % cc, c = cc - 1;
		uint64_t off = c * small + (c < lo ? c : lo);
		char want[64], *r;

		assert_int_equal(space_count(sp), cc);
		r = row(sp, c);
		snprintf(want, sizeof(want), "%llu-100000000000:3",
		    (unsigned long long)(1 + 3 * off));
		assert_string_equal(r, want);
		free(r);
		r = row(sp, 0);
		snprintf(want, sizeof(want), "1-%llu:3",
		    (unsigned long long)(1 + 3 * small));	/* small + 1 values */
		assert_string_equal(r, want);
		free(r);
	}
	space_free(sp);
}

static void
test_get_r_errors(void **state)
{
	struct space *sp = chunk_space("\"1-100000:7\"", 1000, "NONCONTIGUOUS",
	    0);
	const char *v[1];
	char buf[8];
	(void)state;

	errno = 0;
	assert_int_equal(space_get_r(sp, 0, v, buf, sizeof(buf)), -1);
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_int_equal(space_get_r(sp, space_count(sp), v, buf,
	    sizeof(buf)), -1);
	assert_int_equal(errno, EDOM);
	space_free(sp);
	sp = build("{\"taskParameterDefinitions\": [{\"name\": \"F\", "
	    "\"type\": \"INT\", \"range\": \"1-10\"}]}");
	assert_int_equal(space_get_r(sp, 0, v, buf, 4), -1);
	assert_int_equal(errno, ERANGE);
	space_free(sp);
}

#define TWO(ta, ra, tb, rb)						\
	"{\"taskParameterDefinitions\": ["				\
	"{\"name\": \"A\", \"type\": \"" ta "\", \"range\": " ra "},"	\
	"{\"name\": \"B\", \"type\": \"" tb "\", \"range\": " rb "}]"

static void
test_errors(void **state)
{
	(void)state;
	expect_err(TWO("INT", "[1, 2]", "INT", "[1, 2]")
	    ", \"combination\": \"A B\"}",
	    "parameterSpace.combination: expected '*' between task "
	    "parameters at character 3 of 'A B', found 'B'");
	expect_err(TWO("INT", "[1, 2]", "INT", "[1, 2]")
	    ", \"combination\": \"A @ B\"}", "found '@'");
	expect_err(TWO("INT", "[1, 2]", "INT", "[1, 2]")
	    ", \"combination\": \"\"}",
	    "parameterSpace.combination: must not be empty");
	expect_err(TWO("INT", "[1, 2]", "INT", "[1, 2]")
	    ", \"combination\": \"A * C\"}",
	    "parameterSpace.combination: unknown task parameter 'C'");
	expect_err(TWO("INT", "[1, 2]", "INT", "[1, 2]")
	    ", \"combination\": \"A\"}",
	    "parameterSpace.combination: task parameter 'B' is missing from "
	    "the combination");
	expect_err(TWO("INT", "[1, 2]", "INT", "[1, 2]")
	    ", \"combination\": \"(A) * B\"}",
	    "an association needs at least two members: '(A)'");
	expect_err(TWO("INT", "[1, 2]", "INT", "[1, 2]")
	    ", \"combination\": \"(A, B\"}",
	    "expected ',' or ')' at end of '(A, B'");
	expect_err(TWO("INT", "[1, 2]", "INT", "[1, 2]")
	    ", \"combination\": \"A * \"}",
	    "expected a task parameter name or '(' at end of 'A * '");
	expect_err(TWO("INT", "[1, 2]", "INT", "[1, 2]")
	    ", \"combination\": \"A * B)\"}", "found ')'");
	expect_err(TWO("INT", "[1, 2]", "INT", "[1, 2, 3]")
	    ", \"combination\": \"(A * B, B)\"}", "appears more than once");
	expect_err(TWO("INT", "\"1-3\"", "INT", "[1, 2]")
	    ", \"combination\": \"(A, B)\"}",
	    "'A' has 3, 'B' has 2");
	expect_err(TWO("INT", "\"1-10:0\"", "INT", "[1, 2]") "}",
	    "t.yaml: parameterSpace.taskParameterDefinitions[0].range: "
	    "invalid range expression '1-10:0': step must not be zero (at "
	    "character 6)");
	expect_err(TWO("INT", "[]", "INT", "[1, 2]") "}",
	    "taskParameterDefinitions[0].range: must have at least one value");
	expect_err(TWO("INT", "[1, \"x\"]", "INT", "[1.5]") "}",
	    "taskParameterDefinitions[0].range[1]: must be an integer");
	expect_err(TWO("INT", "[1, \"x\"]", "INT", "[1.5]") "}",
	    "taskParameterDefinitions[1].range[0]: must be an integer");
	expect_err(TWO("FLOAT", "[\"abc\"]", "INT", "[1]") "}",
	    "taskParameterDefinitions[0].range[0]: 'abc' is not a number");
	expect_err(TWO("STRING", "\"1-3\"", "INT", "[1]") "}",
	    "taskParameterDefinitions[0].range: a STRING task parameter "
	    "needs a list of values");
	expect_err(TWO("INTEGER", "[1]", "INT", "[1]") "}",
	    "taskParameterDefinitions[0].type: unknown task parameter type "
	    "'INTEGER'");
	expect_err("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"INT\", \"range\": [1]},"
	    "{\"name\": \"A\", \"type\": \"INT\", \"range\": [2]}]}",
	    "taskParameterDefinitions[1].name: duplicate task parameter "
	    "name 'A'");
	expect_err("{\"taskParameterDefinitions\": []}",
	    "parameterSpace.taskParameterDefinitions: must have at least one");
	expect_err("{\"combination\": \"A\"}",
	    "parameterSpace.taskParameterDefinitions: missing");
	expect_err("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"CHUNK[INT]\", \"range\": \"1-3\"}]}",
	    "taskParameterDefinitions[0].chunks: CHUNK[INT] needs 'chunks'");
	expect_err("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"CHUNK[INT]\", \"range\": \"1-3\","
	    " \"chunks\": {\"defaultTaskCount\": 0, \"rangeConstraint\": "
	    "\"SOMETIMES\"}}]}",
	    "taskParameterDefinitions[0].chunks.defaultTaskCount: must be at "
	    "least 1");
	expect_err("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"CHUNK[INT]\", \"range\": \"1-3\","
	    " \"chunks\": {\"defaultTaskCount\": 2, \"rangeConstraint\": "
	    "\"SOMETIMES\"}}]}",
	    "chunks.rangeConstraint: must be CONTIGUOUS or NONCONTIGUOUS");
	expect_err("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"CHUNK[INT]\", \"range\": \"1-3\","
	    " \"chunks\": {\"defaultTaskCount\": 2, \"targetRuntimeSeconds\": "
	    "-1, \"rangeConstraint\": \"CONTIGUOUS\"}}]}",
	    "chunks.targetRuntimeSeconds: must be at least 0");
	expect_err("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"CHUNK[INT]\", \"range\": \"1-3\","
	    " \"chunks\": {\"defaultTaskCount\": 2, \"rangeConstraint\": "
	    "\"CONTIGUOUS\"}},"
	    "{\"name\": \"B\", \"type\": \"CHUNK[INT]\", \"range\": \"1-3\","
	    " \"chunks\": {\"defaultTaskCount\": 2, \"rangeConstraint\": "
	    "\"CONTIGUOUS\"}}]}",
	    "taskParameterDefinitions[1].type: only one CHUNK[INT] task "
	    "parameter is allowed in a step");
	expect_err("{\"taskParameterDefinitions\": ["
	    "{\"name\": \"A\", \"type\": \"CHUNK[INT]\", \"range\": "
	    "[1, 4611686018427387904], \"chunks\": {\"defaultTaskCount\": 2, "
	    "\"rangeConstraint\": \"CONTIGUOUS\"}}]}",
	    "range[1]: value 4611686018427387904 is out of range for "
	    "CHUNK[INT]");
}

static void
test_error_prefix(void **state)
{
	json_t *j = json_loads(TWO("INT", "[1]", "INT", "[1]")
	    ", \"combination\": \"A * D\"}", 0, NULL);
	struct error_list el = ERROR_LIST_INIT;
	char *s;
	(void)state;

	assert_null(space_new_ex(j, &el, "job.yaml", "steps[3].parameterSpace"));
	assert_int_equal(el.n, 1);
	s = error_format(&el.v[0]);
	assert_string_equal(s, "job.yaml: steps[3].parameterSpace."
	    "combination: unknown task parameter 'D'");
	free(s);
	error_list_release(&el);
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_params),
		cmocka_unit_test(test_spec_table),
		cmocka_unit_test(test_default_order),
		cmocka_unit_test(test_value_texts),
		cmocka_unit_test(test_brute_force),
		cmocka_unit_test(test_find_misses),
		cmocka_unit_test(test_huge),
		cmocka_unit_test(test_chunk_examples),
		cmocka_unit_test(test_chunk_brute_force),
		cmocka_unit_test(test_chunk_combined),
		cmocka_unit_test(test_get_r_errors),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_error_prefix),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
