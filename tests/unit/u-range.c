/* Unit tests for INT range expressions: parsing, errors, indexing, text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/range.h"

#define LIM	(((int64_t)1 << 62) - 1)	/* largest allowed magnitude */

static struct range_expr *
parse_ok(const char *text)
{
	size_t off = 99;
	char *msg = NULL;
	struct range_expr *r = range_expr_parse(text, &off, &msg);

	if (r == NULL)
		fail_msg("'%s' rejected at %zu: %s", text, off, msg);
	assert_null(msg);
	assert_int_equal(range_expr_validate(text, NULL, NULL), 0);
	return r;
}

static void
expect_values(const char *text, const int64_t *want, size_t n)
{
	struct range_expr *r = parse_ok(text);
	size_t i;

	assert_int_equal(range_expr_count(r), n);
	for (i = 0; i < n; i++) {
		if (range_expr_get(r, i) != want[i])
			fail_msg("'%s'[%zu] = %lld, want %lld", text, i,
			    (long long)range_expr_get(r, i),
			    (long long)want[i]);
		assert_int_equal(range_expr_index_of(r, want[i]), (int64_t)i);
		assert_true(range_expr_contains(r, want[i]));
	}
	range_expr_free(r);
}

#define EXPECT(text, ...) do {						\
	static const int64_t want_[] = { __VA_ARGS__ };			\
	expect_values(text, want_, sizeof(want_) / sizeof(want_[0]));	\
} while (0)

static void
test_valid(void **state)
{
	(void)state;
	EXPECT("5", 5);
	EXPECT("0", 0);
	EXPECT("-7", -7);
	EXPECT("1-10", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
	EXPECT("1-10:2", 1, 3, 5, 7, 9);
	EXPECT("1 - 5", 1, 2, 3, 4, 5);
	EXPECT("-1 - 1", -1, 0, 1);
	EXPECT("1-5:2", 1, 3, 5);
	EXPECT("10-15:2,1-5", 1, 2, 3, 4, 5, 10, 12, 14);
	EXPECT("1-10:4", 1, 5, 9);
	EXPECT("10-1:-1", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10);
	EXPECT("10-1:-3", 1, 4, 7, 10);
	EXPECT("10-2:-3", 4, 7, 10);
	EXPECT("-5--1", -5, -4, -3, -2, -1);
	EXPECT("-1--5:-2", -5, -3, -1);
	EXPECT("\t1\t-\t3\t,  7 ", 1, 2, 3, 7);
	EXPECT("5-5", 5);
	EXPECT("5-5:3", 5);
	EXPECT("5-5:-3", 5);
	EXPECT("20-25,1-3", 1, 2, 3, 20, 21, 22, 23, 24, 25);
	EXPECT("1,2,3,4", 1, 2, 3, 4);
	EXPECT("3,1,2", 1, 2, 3);
	EXPECT("10-2:-3,1", 1, 4, 7, 10);
	EXPECT("1-10:4,11-13", 1, 5, 9, 11, 12, 13);
}

static void
expect_error(const char *text, size_t want_off, const char *want_msg)
{
	size_t off = 999;
	char *msg = NULL;

	if (range_expr_validate(text, &off, &msg) == 0)
		fail_msg("'%s' accepted", text);
	assert_non_null(msg);
	if (off != want_off || strstr(msg, want_msg) == NULL)
		fail_msg("'%s': got offset %zu '%s', want %zu '%s'", text, off,
		    msg, want_off, want_msg);
	free(msg);
	assert_null(range_expr_parse(text, NULL, NULL));
}

static void
test_invalid(void **state)
{
	(void)state;
	expect_error("", 0, "empty range expression");
	expect_error("   ", 3, "empty range expression");
	expect_error("1-", 2, "expected an integer after '-'");
	expect_error("1-10:0", 5, "step must not be zero");
	expect_error("1-10: 0", 6, "step must not be zero");
	expect_error("10-1", 0, "descending range 10-1 needs a negative step");
	expect_error("1 - -1", 0, "descending range 1--1");
	expect_error("10-1:1", 5, "needs a negative step");
	expect_error("1-10:-1", 5, "ascending range 1-10 needs a positive step");
	expect_error("1,,2", 2, "empty part");
	expect_error("1,", 2, "trailing ','");
	expect_error("1, ", 3, "trailing ','");
	expect_error(",1", 0, "expected an integer, found ','");
	expect_error("1-10,5-15", 5, "range '5-15' overlaps range '1-10'");
	expect_error("5-15,1-10", 5, "range '1-10' overlaps range '5-15'");
	expect_error("1-9:2,2", 6, "range '2' overlaps range '1-9:2'");
	expect_error("1-10:4,10-15", 7,
	    "range '10-15' overlaps range '1-10:4'");
	expect_error("10-1:-4, 1-0:-1", 9, "range '1-0:-1' overlaps range "
	    "'10-1:-4'");
	expect_error("3,3", 2, "range '3' overlaps range '3'");
	expect_error("a", 0, "expected an integer, found 'a'");
	expect_error("1-2x", 3, "expected ':', ',' or end of expression, "
	    "found 'x'");
	expect_error("5:2", 1, "expected '-', ',' or end of expression, "
	    "found ':'");
	expect_error("1-10:2:3", 6, "expected ',' or end of expression");
	expect_error("1 2", 2, "found '2'");
	expect_error("--1", 1, "expected a digit");
	expect_error("1--", 3, "expected a digit");
	expect_error("+1", 0, "found '+'");
	expect_error("1.5", 1, "found '.'");
	expect_error("4611686018427387904", 0, "out of range");
	expect_error("1-99999999999999999999999", 2, "out of range");
	expect_error("-4611686018427387904-0", 0, "out of range");
	expect_error("0-10:4611686018427387904", 5, "out of range");
	expect_error("1\n", 1, "character 0x0a");
}

static void
test_limits(void **state)
{
	struct range_expr *r;
	char text[128];
	char *s;
	(void)state;

	/* The widest range: 2^63 - 1 values, nothing materialised. */
	snprintf(text, sizeof(text), "-%lld-%lld", (long long)LIM,
	    (long long)LIM);
	r = parse_ok(text);
	assert_int_equal(range_expr_count(r), (uint64_t)INT64_MAX);
	assert_int_equal(range_expr_get(r, 0), -LIM);
	assert_int_equal(range_expr_get(r, (uint64_t)INT64_MAX - 1), LIM);
	assert_int_equal(range_expr_get(r, (uint64_t)LIM), 0);
	assert_int_equal(range_expr_index_of(r, LIM), INT64_MAX - 1);
	s = range_expr_format(r);
	assert_string_equal(s, text);
	free(s);
	range_expr_free(r);

	/* Descending with the largest step. */
	snprintf(text, sizeof(text), "%lld--%lld:-%lld", (long long)LIM,
	    (long long)LIM, (long long)LIM);
	r = parse_ok(text);
	assert_int_equal(range_expr_count(r), 3);
	assert_int_equal(range_expr_get(r, 0), -LIM);
	assert_int_equal(range_expr_get(r, 1), 0);
	assert_int_equal(range_expr_get(r, 2), LIM);
	range_expr_free(r);

	/* Stepped range with a huge count: last value computed exactly. */
	r = parse_ok("1-1000000000000000001:3");
	assert_int_equal(range_expr_count(r), 333333333333333334ULL);
	assert_int_equal(range_expr_get(r, 333333333333333333ULL),
	    1000000000000000000LL);
	assert_int_equal(range_expr_index_of(r, 1000000000000000001LL), -1);
	assert_int_equal(range_expr_index_of(r, 4), 1);
	range_expr_free(r);
}

static void
test_max_parts(void **state)
{
	char *text = malloc(RANGE_MAX_PARTS * 12 + 16);
	size_t n = 0, off;
	char *msg;
	int i;
	(void)state;

	for (i = 0; i < RANGE_MAX_PARTS; i++)
		n += (size_t)sprintf(text + n, "%s%d", i ? "," : "", i * 2);
	assert_int_equal(range_expr_validate(text, NULL, NULL), 0);
	sprintf(text + n, ",%d", RANGE_MAX_PARTS * 2);
	assert_int_equal(range_expr_validate(text, &off, &msg), -1);
	assert_int_equal(off, n + 1);
	assert_non_null(strstr(msg, "too many parts"));
	free(msg);
	free(text);
}

/*
 * Brute force: expressions made of the parts below, expanded by hand,
 * sorted, checked value by value against the compiled form.
 */
static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

static void
test_brute_force(void **state)
{
	static const struct { long a, b, s; } parts[] = {
		{ 1, 10, 1 }, { 20, 40, 3 }, { -100, -90, 2 }, { 50, 50, 1 },
		{ 70, 60, -2 }, { 11, 11, 1 }, { 200, 100, -7 }, { 41, 45, 1 },
		{ 1000, 2000, 250 }, { -5, -1, 1 },
	};
	size_t np = sizeof(parts) / sizeof(parts[0]);
	unsigned mask;
	(void)state;

	/* Every subset of the parts, written in a rotating order. */
	for (mask = 1; mask < (1u << np); mask++) {
		char text[512];
		int64_t vals[1024];
		size_t nv = 0, len = 0, i, k, rot = mask % np;
		struct range_expr *r;

		for (k = 0; k < np; k++) {
			size_t p = (k + rot) % np;
			long v;

			if (!(mask & (1u << p)))
				continue;
			if (parts[p].s == 1 && parts[p].a == parts[p].b)
				len += (size_t)sprintf(text + len, "%s%ld",
				    len ? "," : "", parts[p].a);
			else if (parts[p].s == 1)
				len += (size_t)sprintf(text + len, "%s%ld-%ld",
				    len ? " , " : "", parts[p].a, parts[p].b);
			else
				len += (size_t)sprintf(text + len,
				    "%s%ld-%ld:%ld", len ? "," : "",
				    parts[p].a, parts[p].b, parts[p].s);
			if (parts[p].s > 0)
				for (v = parts[p].a; v <= parts[p].b;
				    v += parts[p].s)
					vals[nv++] = v;
			else
				for (v = parts[p].a; v >= parts[p].b;
				    v += parts[p].s)
					vals[nv++] = v;
		}
		qsort(vals, nv, sizeof(vals[0]), cmp64);
		r = parse_ok(text);
		assert_int_equal(range_expr_count(r), nv);
		for (i = 0; i < nv; i++) {
			assert_int_equal(range_expr_get(r, i), vals[i]);
			assert_int_equal(range_expr_index_of(r, vals[i]),
			    (int64_t)i);
		}
		assert_false(range_expr_contains(r, 12));
		assert_false(range_expr_contains(r, 21));
		assert_false(range_expr_contains(r, 3000));
		/* Format round trip: same values back. */
		{
			char *s = range_expr_format(r);
			struct range_expr *r2 = parse_ok(s);
			char *s2 = range_format(vals, nv);

			assert_string_equal(s, s2);
			assert_int_equal(range_expr_count(r2), nv);
			for (i = 0; i < nv; i++)
				assert_int_equal(range_expr_get(r2, i),
				    vals[i]);
			range_expr_free(r2);
			free(s);
			free(s2);
		}
		range_expr_free(r);
	}
}

static void
expect_format(const int64_t *v, size_t n, const char *want)
{
	char *s = range_format(v, n);
	char small[4];
	size_t len = range_format_r(v, n, small, sizeof(small));

	assert_string_equal(s, want);
	assert_int_equal(len, strlen(want));
	assert_int_equal(strncmp(small, want, 3), 0);
	assert_int_equal(small[len < 3 ? len : 3], '\0');
	free(s);
}

#define FORMAT(want, ...) do {						\
	static const int64_t v_[] = { __VA_ARGS__ };			\
	expect_format(v_, sizeof(v_) / sizeof(v_[0]), want);		\
} while (0)

static void
test_format(void **state)
{
	(void)state;
	expect_format(NULL, 0, "");
	FORMAT("5", 5);
	FORMAT("7,8", 7, 8);
	FORMAT("1-3", 1, 2, 3);
	FORMAT("1-5", 1, 2, 3, 4, 5);
	FORMAT("1-3,7", 1, 2, 3, 7);
	FORMAT("1-5:2", 1, 3, 5);
	FORMAT("1-3,5,7-9", 1, 2, 3, 5, 7, 8, 9);
	FORMAT("1-4,6,8", 1, 2, 3, 4, 6, 8);
	FORMAT("1-5:2,6,7", 1, 3, 5, 6, 7);
	FORMAT("1,3,4", 1, 3, 4);
	FORMAT("-3--1,10-30:10", -3, -2, -1, 10, 20, 30);
	/* Unsorted input: compressed in order, then sorted (openjd). */
	FORMAT("1,3,5", 5, 3, 1);
	FORMAT("1-3,10", 10, 1, 2, 3);
	FORMAT("3-5", 5, 3, 4);
}

/* format_slice must equal range_format over the materialised slice. */
static void
test_format_slice(void **state)
{
	static const char *exprs[] = {
		"1-20", "1-9:2,10-12,14-30:4,31,33,35,36,40-41",
		"1,3,5,6,7,9", "-10--1:3,0,1,2,5-8", "1-9:2,11-13:2,15-20",
	};
	size_t e;
	(void)state;

	for (e = 0; e < sizeof(exprs) / sizeof(exprs[0]); e++) {
		struct range_expr *r = parse_ok(exprs[e]);
		uint64_t n = range_expr_count(r), first, len, i;
		int64_t *vals = calloc(n, sizeof(int64_t));

		for (i = 0; i < n; i++)
			vals[i] = range_expr_get(r, i);
		for (first = 0; first < n; first++)
			for (len = 1; first + len <= n; len++) {
				char *a = range_expr_format_slice(r, first, len);
				char *b = range_format(vals + first, len);

				if (strcmp(a, b) != 0)
					fail_msg("%s [%llu,+%llu): '%s' vs '%s'",
					    exprs[e], (unsigned long long)first,
					    (unsigned long long)len, a, b);
				free(a);
				free(b);
			}
		{
			char *x = range_expr_format_slice(r, n, 1);

			assert_string_equal(x, "");
			free(x);
		}
		free(vals);
		range_expr_free(r);
	}
}

static void
test_int_format(void **state)
{
	char b[24];
	(void)state;

	assert_int_equal(range_int_format(0, b), 1);
	assert_string_equal(b, "0");
	range_int_format(-42, b);
	assert_string_equal(b, "-42");
	range_int_format(INT64_MIN, b);
	assert_string_equal(b, "-9223372036854775808");
	range_int_format(INT64_MAX, b);
	assert_string_equal(b, "9223372036854775807");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_max_parts),
		cmocka_unit_test(test_brute_force),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_format_slice),
		cmocka_unit_test(test_int_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
