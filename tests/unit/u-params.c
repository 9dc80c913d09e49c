/*
 * Unit tests for job parameters: number and path helpers, the -p forms,
 * definition merging (Template Schemas 1.2.1) and value checks (section 2).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/doc.h"
#include "common/xmalloc.h"
#include "model/params.h"

/* ---- helpers ---------------------------------------------------------- */

/* A parameterDefinitions list from YAML text (a sequence). */
struct defs_doc {
	struct doc	d;
};

static void
merge_yaml(struct param_defs *defs, const char *file, const char *yaml,
    struct error_list *el, int want_rc)
{
	struct doc d = DOC_INIT;
	struct error_list lel = ERROR_LIST_INIT;

	assert_int_equal(doc_load_mem(&d, file, yaml, strlen(yaml), &lel), 0);
	assert_int_equal(param_defs_merge(defs, d.root, file, el), want_rc);
	doc_release(&d);
	error_list_release(&lel);
}

/* 1 if some error message in el contains s. */
static int
el_has(const struct error_list *el, const char *s)
{
	for (size_t i = 0; i < el->n; i++) {
		char *m = error_format(&el->v[i]);
		int hit = strstr(m, s) != NULL;
		free(m);
		if (hit)
			return 1;
	}
	return 0;
}

static void
print_errors(const struct error_list *el)
{
	error_list_print(el, stderr);
}

/*
 * Checks value against the single definition in yaml: want == NULL means
 * it must be rejected with an error containing err_sub.
 */
static void
check_value(const char *yaml, const char *value, const char *want,
    const char *err_sub)
{
	struct param_defs defs = PARAM_DEFS_INIT;
	struct error_list el = ERROR_LIST_INIT;
	char *msg = NULL, *got;

	merge_yaml(&defs, "t.yaml", yaml, &el, 0);
	assert_int_equal(defs.n, 1);
	got = param_def_check_value(&defs.v[0], value, &msg, NULL);
	if (want != NULL) {
		if (got == NULL)
			fprintf(stderr, "unexpected: %s\n", msg);
		assert_non_null(got);
		assert_string_equal(got, want);
	} else {
		if (got != NULL)
			fprintf(stderr, "accepted '%s' as '%s'\n", value, got);
		assert_null(got);
		if (strstr(msg, err_sub) == NULL)
			fprintf(stderr, "message: %s\n", msg);
		assert_non_null(strstr(msg, err_sub));
	}
	free(got);
	free(msg);
	param_defs_release(&defs);
	error_list_release(&el);
}

/* ---- numbers, strings, paths ------------------------------------------- */

static void
test_parse_int(void **state)
{
	int64_t v;
	(void)state;

	assert_int_equal(param_parse_int("10", &v), 0);
	assert_int_equal(v, 10);
	assert_int_equal(param_parse_int(" -5\t", &v), 0);
	assert_int_equal(v, -5);
	assert_int_equal(param_parse_int("+007", &v), 0);
	assert_int_equal(v, 7);
	assert_int_equal(param_parse_int("9223372036854775807", &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(param_parse_int("-9223372036854775808", &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(param_parse_int("9223372036854775808", &v), -2);
	assert_int_equal(param_parse_int("-9223372036854775809", &v), -2);
	assert_int_equal(param_parse_int("99999999999999999999999", &v), -2);
	assert_int_equal(param_parse_int("1.0", &v), -1);
	assert_int_equal(param_parse_int("", &v), -1);
	assert_int_equal(param_parse_int("-", &v), -1);
	assert_int_equal(param_parse_int("1_000", &v), -1);
	assert_int_equal(param_parse_int("0x10", &v), -1);
	assert_int_equal(param_parse_int("foo", &v), -1);
}

static void
test_parse_float(void **state)
{
	double v;
	(void)state;

	assert_int_equal(param_parse_float("1.5", &v), 0);
	assert_true(v == 1.5);
	assert_int_equal(param_parse_float("2", &v), 0);
	assert_true(v == 2.0);
	assert_int_equal(param_parse_float(" .5 ", &v), 0);
	assert_true(v == 0.5);
	assert_int_equal(param_parse_float("5.", &v), 0);
	assert_int_equal(param_parse_float("-2.5E-3", &v), 0);
	assert_true(v == -2.5e-3);
	assert_int_equal(param_parse_float("1e3", &v), 0);
	assert_true(v == 1000.0);
	assert_int_equal(param_parse_float("3.141592653589793", &v), 0);
	assert_true(v == 3.141592653589793);
	assert_int_equal(param_parse_float("nan", &v), -1);
	assert_int_equal(param_parse_float("inf", &v), -1);
	assert_int_equal(param_parse_float("1e999", &v), -1);
	assert_int_equal(param_parse_float("0x1p3", &v), -1);
	assert_int_equal(param_parse_float("", &v), -1);
	assert_int_equal(param_parse_float(".", &v), -1);
	assert_int_equal(param_parse_float("1.2.3", &v), -1);
	assert_int_equal(param_parse_float("e5", &v), -1);
	assert_int_equal(param_parse_float("1e", &v), -1);
	assert_int_equal(param_parse_float("foo", &v), -1);
}

static void
test_utf8_len(void **state)
{
	(void)state;
	assert_int_equal(param_utf8_len(""), 0);
	assert_int_equal(param_utf8_len("abc"), 3);
	assert_int_equal(param_utf8_len("a\xc3\xa9" "b"), 3);	/* aéb */
	assert_int_equal(param_utf8_len("\xe2\x82\xac\xf0\x9f\x98\x80"), 2);
}

static void
check_norm(const char *in, const char *want, int want_escapes)
{
	int esc = -1;
	char *s = param_path_normalize(in, &esc);

	if (strcmp(s, want) != 0 || esc != want_escapes)
		fprintf(stderr, "normalize('%s') = '%s' (escapes %d)\n", in, s,
		    esc);
	assert_string_equal(s, want);
	assert_int_equal(esc, want_escapes);
	free(s);
}

static void
test_path_normalize(void **state)
{
	(void)state;
	check_norm("a/..", ".", 0);
	check_norm("a/../b", "b", 0);
	check_norm("./a/./../b/.", "b", 0);
	check_norm("..name/name../...", "..name/name../...", 0);
	check_norm("a/b/c/../../../d", "d", 0);
	check_norm("inputs/scene", "inputs/scene", 0);
	check_norm(".", ".", 0);
	check_norm("", ".", 0);
	check_norm("..", "..", 1);
	check_norm("./../b", "../b", 1);
	check_norm("a/../../b", "../b", 1);
	check_norm("a/../..", "..", 1);
	check_norm("a/b/c/../../../../d", "../d", 1);
	check_norm("/a/../..", "/", 0);
	check_norm("//x//y/", "/x/y", 0);
	check_norm("/", "/", 0);
	check_norm("a\\..\\..\\b", "a\\..\\..\\b", 0);	/* POSIX: one name */
}

static void
test_path_join(void **state)
{
	char *s;
	(void)state;

	s = param_path_join("/t", "a/..");
	assert_string_equal(s, "/t");
	free(s);
	s = param_path_join("/t/d", "../x");
	assert_string_equal(s, "/t/x");
	free(s);
	s = param_path_join("/t", "/abs/./p");
	assert_string_equal(s, "/abs/p");
	free(s);
	s = param_path_join("/t", "s3://bucket/key");
	assert_string_equal(s, "/t/s3:/bucket/key");
	free(s);
	s = param_path_join("/", "a");
	assert_string_equal(s, "/a");
	free(s);
}

/* ---- values and the -p forms -------------------------------------------- */

static void
test_values_set(void **state)
{
	struct param_values pv = PARAM_VALUES_INIT;
	(void)state;

	param_values_set(&pv, "A", "1");
	param_values_set(&pv, "B", "2");
	param_values_set(&pv, "A", "3");
	assert_int_equal(pv.n, 2);
	assert_string_equal(pv.v[0].name, "A");
	assert_string_equal(param_values_get(&pv, "A"), "3");
	assert_string_equal(param_values_get(&pv, "B"), "2");
	assert_null(param_values_get(&pv, "C"));
	param_values_release(&pv);
}

static void
test_parse_arg_forms(void **state)
{
	struct param_values pv = PARAM_VALUES_INIT;
	struct error_list el = ERROR_LIST_INIT;
	char dir[] = "/tmp/u-params.XXXXXX";
	char *yf, *jf;
	FILE *fp;
	int usage;
	(void)state;

	assert_non_null(mkdtemp(dir));
	yf = xasprintf("%s/p.yaml", dir);
	jf = xasprintf("%s/p.json", dir);
	fp = fopen(yf, "w");
	fputs("Frames: 1-10\nScale: 1.50\nName: 'x y'\nFlag: true\n", fp);
	fclose(fp);
	fp = fopen(jf, "w");
	fputs("{\"Frames\": \"5-6\", \"N\": 42}\n", fp);
	fclose(fp);

	assert_int_equal(param_values_parse_arg(&pv, "A=b=c", &usage, &el), 0);
	assert_string_equal(param_values_get(&pv, "A"), "b=c");
	assert_int_equal(param_values_parse_arg(&pv, "E=", &usage, &el), 0);
	assert_string_equal(param_values_get(&pv, "E"), "");
	char *arg = xasprintf("file://%s", yf);
	assert_int_equal(param_values_parse_arg(&pv, arg, &usage, &el), 0);
	free(arg);
	assert_string_equal(param_values_get(&pv, "Frames"), "1-10");
	assert_string_equal(param_values_get(&pv, "Scale"), "1.50");
	assert_string_equal(param_values_get(&pv, "Name"), "x y");
	assert_string_equal(param_values_get(&pv, "Flag"), "true");
	/* a later form replaces an earlier value */
	arg = xasprintf("file://%s", jf);
	assert_int_equal(param_values_parse_arg(&pv, arg, &usage, &el), 0);
	free(arg);
	assert_string_equal(param_values_get(&pv, "Frames"), "5-6");
	assert_string_equal(param_values_get(&pv, "N"), "42");
	assert_int_equal(param_values_parse_arg(&pv,
	    "{\"Frames\": \"7\", \"F\": 2.50}", &usage, &el), 0);
	assert_string_equal(param_values_get(&pv, "Frames"), "7");
	assert_string_equal(param_values_get(&pv, "F"), "2.50");
	assert_int_equal(param_values_parse_arg(&pv, "Frames=8", &usage, &el),
	    0);
	assert_string_equal(param_values_get(&pv, "Frames"), "8");
	assert_int_equal(el.n, 0);

	/* usage errors: none of the three forms */
	assert_int_equal(param_values_parse_arg(&pv, "noequals", &usage, &el),
	    -1);
	assert_int_equal(usage, 1);
	assert_int_equal(param_values_parse_arg(&pv, "=v", &usage, &el), -1);
	assert_int_equal(usage, 1);
	/* failures: bad JSON, non-mapping, nested value, missing file */
	error_list_release(&el);
	assert_int_equal(param_values_parse_arg(&pv, "{\"A\": }", &usage,
	    &el), -1);
	assert_int_equal(usage, 0);
	assert_true(el.n > 0);
	error_list_release(&el);
	assert_int_equal(param_values_parse_arg(&pv, "{\"A\": {\"b\": 1}}",
	    &usage, &el), -1);
	assert_true(el_has(&el, "must be a string or a number"));
	error_list_release(&el);
	assert_int_equal(param_values_parse_arg(&pv, "file:///nonexistent/p.y",
	    &usage, &el), -1);
	assert_int_equal(usage, 0);
	assert_true(el_has(&el, "/nonexistent/p.y"));
	error_list_release(&el);
	fp = fopen(yf, "w");
	fputs("- a\n- b\n", fp);
	fclose(fp);
	arg = xasprintf("file://%s", yf);
	assert_int_equal(param_values_parse_arg(&pv, arg, &usage, &el), -1);
	free(arg);
	assert_true(el_has(&el, "mapping"));
	error_list_release(&el);

	unlink(yf);
	unlink(jf);
	rmdir(dir);
	free(yf);
	free(jf);
	param_values_release(&pv);
}

/* ---- value checks per type ---------------------------------------------- */

static void
test_int_values(void **state)
{
	const char *def = "- {name: Frames, type: INT, minValue: 1, "
	    "maxValue: 100}\n";
	(void)state;

	check_value(def, "10", "10", NULL);
	check_value(def, " 010 ", "10", NULL);
	check_value(def, "1", "1", NULL);
	check_value(def, "100", "100", NULL);
	check_value(def, "200", NULL, "value 200 is above maxValue 100");
	check_value(def, "0", NULL, "value 0 is below minValue 1");
	check_value(def, "1.5", NULL, "value '1.5' is not an integer");
	check_value(def, "foo", NULL, "is not an integer");
	check_value("- {name: N, type: INT}\n", "9223372036854775807",
	    "9223372036854775807", NULL);
	check_value("- {name: N, type: INT}\n", "9223372036854775808", NULL,
	    "outside the 64-bit integer range");
	check_value("- {name: N, type: INT}\n", "-9223372036854775808",
	    "-9223372036854775808", NULL);
	/* intstring bounds compare numerically ('010' < 50 < '100') */
	check_value("- {name: C, type: INT, minValue: '010', maxValue: "
	    "'100'}\n", "50", "50", NULL);
	check_value("- {name: C, type: INT, minValue: '010', maxValue: "
	    "'100'}\n", "200", NULL, "above maxValue 100");
	/* allowedValues as intstrings, membership numeric */
	check_value("- {name: C, type: INT, allowedValues: ['1', '2', '04']}\n",
	    "4", "4", NULL);
	check_value("- {name: C, type: INT, allowedValues: ['1', '2', '04']}\n",
	    "3", NULL, "not one of the allowedValues [1, 2, 4]");
}

static void
test_float_values(void **state)
{
	const char *def = "- {name: S, type: FLOAT, minValue: '010.0', "
	    "maxValue: '100.0'}\n";
	(void)state;

	check_value(def, "50.5", "50.5", NULL);
	check_value(def, "5.5", NULL, "value 5.5 is below minValue 010.0");
	check_value(def, "100.5", NULL, "above maxValue 100.0");
	check_value("- {name: S, type: FLOAT}\n", "1.5", "1.5", NULL);
	check_value("- {name: S, type: FLOAT}\n", "2", "2", NULL);
	check_value("- {name: S, type: FLOAT}\n", " 3.141592653589793 ",
	    "3.141592653589793", NULL);
	check_value("- {name: S, type: FLOAT}\n", "foo", NULL,
	    "value 'foo' is not a number");
	check_value("- {name: S, type: FLOAT}\n", "nan", NULL, "not a number");
	check_value("- {name: S, type: FLOAT, allowedValues: ['1.5', '2.5', "
	    "'04.5']}\n", "4.5", "4.5", NULL);
	check_value("- {name: S, type: FLOAT, allowedValues: ['1.5', '2.5', "
	    "'04.5']}\n", "3.5", NULL, "not one of the allowedValues");
	check_value("- {name: S, type: FLOAT, minValue: 0.5, maxValue: 99.5}\n",
	    "0.5", "0.5", NULL);
	check_value("- {name: S, type: FLOAT, minValue: 0.5, maxValue: 99.5}\n",
	    "99.5", "99.5", NULL);
}

static void
test_string_values(void **state)
{
	const char *def = "- {name: V, type: STRING, minLength: 2, "
	    "maxLength: 3}\n";
	(void)state;

	check_value(def, "ab", "ab", NULL);
	check_value(def, "a\xc3\xa9" "b", "a\xc3\xa9" "b", NULL); /* 3 chars */
	check_value(def, "a", NULL, "shorter than minLength 2");
	check_value(def, "abcd", NULL, "longer than maxLength 3");
	check_value("- {name: Q, type: STRING, allowedValues: [low, high]}\n",
	    "ultra", NULL, "value 'ultra' is not one of the allowedValues "
	    "['low', 'high']");
	check_value("- {name: Q, type: STRING, allowedValues: [low, high]}\n",
	    "low", "low", NULL);
}

/* ---- merging (1.2.1) ---------------------------------------------------- */

static void
test_merge_type_conflict(void **state)
{
	struct param_defs defs = PARAM_DEFS_INIT;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	merge_yaml(&defs, "env.yaml", "- {name: Value, type: STRING}\n", &el,
	    0);
	merge_yaml(&defs, "job.yaml", "- {name: Value, type: INT}\n", &el, -1);
	assert_int_equal(el.n, 1);
	assert_string_equal(el.v[0].file, "job.yaml");
	assert_string_equal(el.v[0].path, "parameterDefinitions[0].type");
	assert_true(el_has(&el, "is INT here but STRING in env.yaml:1:"));
	param_defs_release(&defs);
	error_list_release(&el);
}

static void
test_merge_path_conflicts(void **state)
{
	struct param_defs defs = PARAM_DEFS_INIT;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	merge_yaml(&defs, "env.yaml", "- {name: P, type: PATH, objectType: "
	    "FILE, dataFlow: IN}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: P, type: PATH, objectType: "
	    "DIRECTORY}\n", &el, -1);
	assert_true(el_has(&el, "objectType DIRECTORY here but FILE"));
	error_list_release(&el);
	merge_yaml(&defs, "job.yaml", "- {name: P, type: PATH, dataFlow: "
	    "OUT}\n", &el, -1);
	assert_true(el_has(&el, "dataFlow OUT here but IN"));
	error_list_release(&el);
	param_defs_release(&defs);

	/* one side silent: no conflict, the stated value is kept */
	merge_yaml(&defs, "env.yaml", "- {name: P, type: PATH}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: P, type: PATH, objectType: "
	    "FILE, dataFlow: INOUT}\n", &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), 0);
	assert_string_equal(defs.v[0].object_type, "FILE");
	assert_string_equal(defs.v[0].data_flow, "INOUT");
	assert_int_equal(defs.v[0].ndefs, 2);
	param_defs_release(&defs);
	error_list_release(&el);
}

static void
test_merge_narrowing(void **state)
{
	struct param_defs defs = PARAM_DEFS_INIT;
	struct error_list el = ERROR_LIST_INIT;
	char *msg = NULL, *v;
	(void)state;

	/* env [0, 1000], job [10, 100]: merged [10, 100] */
	merge_yaml(&defs, "env.yaml", "- {name: C, type: INT, minValue: 0, "
	    "maxValue: 1000, default: 0}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: C, type: INT, minValue: 10, "
	    "maxValue: 100, default: 50}\n", &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), 0);
	assert_string_equal(defs.v[0].default_value, "50");
	assert_null(param_def_check_value(&defs.v[0], "5", &msg, NULL));
	assert_non_null(strstr(msg, "below minValue 10"));
	free(msg);
	assert_null(param_def_check_value(&defs.v[0], "500", &msg, NULL));
	assert_non_null(strstr(msg, "above maxValue 100"));
	free(msg);
	param_defs_release(&defs);

	/* the other way round: a wider later definition does not widen */
	merge_yaml(&defs, "env.yaml", "- {name: C, type: INT, minValue: 10, "
	    "maxValue: 100}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: C, type: INT, minValue: 0, "
	    "maxValue: 1000}\n", &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), 0);
	assert_null(param_def_check_value(&defs.v[0], "500", &msg, NULL));
	assert_non_null(strstr(msg, "above maxValue 100"));
	free(msg);
	v = param_def_check_value(&defs.v[0], "100", &msg, NULL);
	assert_string_equal(v, "100");
	free(v);
	param_defs_release(&defs);

	/* lengths: env minLength 1/maxLength 9, job minLength 5/maxLength 10 */
	merge_yaml(&defs, "env.yaml", "- {name: S, type: STRING, minLength: 1, "
	    "maxLength: 9}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: S, type: STRING, minLength: 5, "
	    "maxLength: 10}\n", &el, 0);
	assert_int_equal(defs.v[0].min_length, 5);
	assert_int_equal(defs.v[0].max_length, 9);
	assert_null(param_def_check_value(&defs.v[0], "abcd", &msg, NULL));
	free(msg);
	assert_null(param_def_check_value(&defs.v[0], "abcdefghij", &msg,
	    NULL));
	free(msg);
	param_defs_release(&defs);

	/* FLOAT bounds */
	merge_yaml(&defs, "env.yaml", "- {name: F, type: FLOAT, minValue: "
	    "10.0}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: F, type: FLOAT, minValue: 0.0, "
	    "default: 2.5}\n", &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), -1);
	assert_true(el_has(&el, "default value 2.5 is below minValue 10.0 "
	    "(merged constraint from env.yaml:1:"));
	assert_string_equal(el.v[0].file, "job.yaml");
	param_defs_release(&defs);
	error_list_release(&el);
}

static void
test_merge_allowed_values(void **state)
{
	struct param_defs defs = PARAM_DEFS_INIT;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	merge_yaml(&defs, "env.yaml", "- {name: Foo, type: INT, allowedValues: "
	    "[10, 20, 30], default: 20}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: Foo, type: INT, allowedValues: "
	    "['010', 30, 40], default: 10}\n", &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), 0);
	assert_int_equal(defs.v[0].nallowed, 2);
	assert_string_equal(defs.v[0].allowed[0], "10");
	assert_string_equal(defs.v[0].allowed[1], "30");
	assert_string_equal(defs.v[0].default_value, "10");
	param_defs_release(&defs);

	/* no common value */
	merge_yaml(&defs, "env.yaml", "- {name: Q, type: STRING, "
	    "allowedValues: [a, b]}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: Q, type: STRING, "
	    "allowedValues: [c]}\n", &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), -1);
	assert_true(el_has(&el, "have no value in common"));
	param_defs_release(&defs);
	error_list_release(&el);

	/* merged default must be in the intersection */
	merge_yaml(&defs, "env.yaml", "- {name: Q, type: INT, allowedValues: "
	    "[1, 2, 3]}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: Q, type: INT, allowedValues: "
	    "[1, 2, 3, 4], default: 4}\n", &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), -1);
	assert_true(el_has(&el, "default value 4 is not one of the "
	    "allowedValues [1, 2, 3]"));
	param_defs_release(&defs);
	error_list_release(&el);
}

static void
test_merge_unsatisfiable(void **state)
{
	struct param_defs defs = PARAM_DEFS_INIT;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	merge_yaml(&defs, "env.yaml", "- {name: C, type: INT, minValue: 50}\n",
	    &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: C, type: INT, maxValue: 10}\n",
	    &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), -1);
	assert_true(el_has(&el, "merged maxValue 10 is below minValue 50"));
	param_defs_release(&defs);
	error_list_release(&el);

	merge_yaml(&defs, "env.yaml", "- {name: S, type: STRING, minLength: "
	    "5}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: S, type: STRING, maxLength: "
	    "3}\n", &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), -1);
	assert_true(el_has(&el, "merged maxLength 3 is below minLength 5"));
	param_defs_release(&defs);
	error_list_release(&el);

	/* every parameter is checked, not only up to the first problem */
	merge_yaml(&defs, "job.yaml", "- {name: A, type: INT, minValue: 5, "
	    "maxValue: 1}\n- {name: B, type: INT, maxValue: 1, default: 2}\n",
	    &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), -1);
	assert_int_equal(el.n, 2);
	assert_true(el_has(&el, "parameter 'A': maxValue 1 is below minValue "
	    "5"));
	assert_true(el_has(&el, "parameter 'B': default value 2 is above "
	    "maxValue 1"));
	param_defs_release(&defs);
	error_list_release(&el);
}

static void
test_merge_defaults(void **state)
{
	struct param_defs defs = PARAM_DEFS_INIT;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	/* the last default wins, in processing order env1, env2, job */
	merge_yaml(&defs, "env1.yaml", "- {name: A, type: STRING, default: "
	    "one}\n- {name: B, type: INT, default: '007'}\n", &el, 0);
	merge_yaml(&defs, "env2.yaml", "- {name: A, type: STRING, default: "
	    "two}\n- {name: B, type: INT}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: A, type: STRING}\n"
	    "- {name: C, type: FLOAT, default: '2.50'}\n", &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), 0);
	assert_int_equal(defs.n, 3);
	assert_string_equal(defs.v[0].name, "A");
	assert_string_equal(defs.v[0].default_value, "two");
	assert_string_equal(defs.v[0].default_pos.file, "env2.yaml");
	assert_string_equal(defs.v[1].default_value, "7");	/* canonical */
	assert_string_equal(defs.v[2].default_value, "2.50");
	assert_int_equal(defs.v[0].ndefs, 3);
	param_defs_release(&defs);

	/* a default that only the merge makes invalid (minLength 5 from env) */
	merge_yaml(&defs, "env.yaml", "- {name: V, type: STRING, minLength: "
	    "5}\n", &el, 0);
	merge_yaml(&defs, "job.yaml", "- {name: V, type: STRING, minLength: 2, "
	    "default: abc}\n", &el, 0);
	assert_int_equal(param_defs_check(&defs, &el), -1);
	assert_true(el_has(&el, "job.yaml:1:"));
	assert_true(el_has(&el, "shorter than minLength 5"));
	param_defs_release(&defs);
	error_list_release(&el);
}

/* ---- resolution: defaults, unknown names, PATH joins --------------------- */

static int
resolve_yaml(const char *yaml, struct param_values *in,
    struct param_values *out, struct error_list *el)
{
	struct param_defs defs = PARAM_DEFS_INIT;
	int rc;

	merge_yaml(&defs, "/tpl/job.yaml", yaml, el, 0);
	rc = param_defs_check(&defs, el);
	if (rc == 0)
		rc = param_defs_resolve(&defs, in, "/tpl", "/home/u/work", out,
		    el);
	param_defs_release(&defs);
	return rc;
}

static void
test_resolve_basic(void **state)
{
	struct param_values in = PARAM_VALUES_INIT, out = PARAM_VALUES_INIT;
	struct error_list el = ERROR_LIST_INIT;
	const char *yaml = "- {name: Frames, type: INT, default: '10'}\n"
	    "- {name: Known, type: STRING}\n";
	(void)state;

	param_values_set(&in, "Known", "k");
	assert_int_equal(resolve_yaml(yaml, &in, &out, &el), 0);
	assert_int_equal(out.n, 2);
	assert_string_equal(out.v[0].name, "Frames");
	assert_string_equal(out.v[0].value, "10");
	assert_string_equal(param_values_get(&out, "Known"), "k");
	param_values_release(&out);

	/* unknown name (with a hint) and a missing value, both reported */
	param_values_release(&in);
	param_values_set(&in, "Knwn", "x");
	assert_int_equal(resolve_yaml(yaml, &in, &out, &el), -1);
	assert_true(el_has(&el, "job parameter 'Knwn' is not defined by the "
	    "template (did you mean 'Known'?)"));
	assert_true(el_has(&el, "job parameter 'Known' needs a value"));
	assert_int_equal(el.n, 2);
	error_list_release(&el);
	param_values_release(&in);
	param_values_release(&out);

	/* value errors point at the constraint for command-line values */
	param_values_set(&in, "Frames", "200");
	param_values_set(&in, "Known", "k");
	assert_int_equal(resolve_yaml("- {name: Frames, type: INT, maxValue: "
	    "100}\n- {name: Known, type: STRING}\n", &in, &out, &el), -1);
	assert_int_equal(el.n, 1);
	assert_string_equal(el.v[0].path, "parameterDefinitions[0].maxValue");
	assert_string_equal(el.v[0].msg, "job parameter 'Frames': value 200 "
	    "is above maxValue 100");
	error_list_release(&el);
	param_values_release(&in);
	param_values_release(&out);
}

static void
test_resolve_paths(void **state)
{
	struct param_values in = PARAM_VALUES_INIT, out = PARAM_VALUES_INIT;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	/* defaults join with the template dir; values with the cwd */
	param_values_set(&in, "Cwd", ".");
	param_values_set(&in, "Up", "../x");
	param_values_set(&in, "Abs", "/data//in/./a.exr");
	assert_int_equal(resolve_yaml(
	    "- {name: Cwd, type: PATH}\n"
	    "- {name: Up, type: PATH}\n"
	    "- {name: Abs, type: PATH}\n"
	    "- {name: In, type: PATH, default: inputs/scene}\n"
	    "- {name: Dir, type: PATH, default: a/..}\n"
	    "- {name: Noisy, type: PATH, default: ./a/./../b/.}\n"
	    "- {name: Over, type: PATH, default: ../x}\n", &in, &out, &el),
	    -1);
	/* ../x as a default climbs out of /tpl: the only error */
	assert_int_equal(el.n, 1);
	assert_true(el_has(&el, "default '../x' of PATH parameter 'Over' "
	    "leads out of the job template's directory"));
	assert_string_equal(el.v[0].path, "parameterDefinitions[6].default");
	assert_string_equal(param_values_get(&out, "Cwd"), "/home/u/work");
	assert_string_equal(param_values_get(&out, "Up"), "/home/u/x");
	assert_string_equal(param_values_get(&out, "Abs"), "/data/in/a.exr");
	assert_string_equal(param_values_get(&out, "In"), "/tpl/inputs/scene");
	assert_string_equal(param_values_get(&out, "Dir"), "/tpl");
	assert_string_equal(param_values_get(&out, "Noisy"), "/tpl/b");
	error_list_release(&el);
	param_values_release(&out);

	/* an overridden bad default is not an error */
	param_values_set(&in, "Over", "o");
	param_values_release(&out);
	assert_int_equal(resolve_yaml("- {name: Over, type: PATH, default: "
	    "/abs}\n- {name: Cwd, type: PATH}\n- {name: Up, type: PATH}\n"
	    "- {name: Abs, type: PATH}\n", &in, &out, &el), 0);
	assert_string_equal(param_values_get(&out, "Over"), "/home/u/work/o");
	param_values_release(&in);
	param_values_release(&out);

	/* absolute default */
	assert_int_equal(resolve_yaml("- {name: O, type: PATH, default: "
	    "/tmp/output}\n", &in, &out, &el), -1);
	assert_true(el_has(&el, "must be a relative path"));
	error_list_release(&el);
	param_values_release(&out);

	/* default constraints apply after the join ... */
	assert_int_equal(resolve_yaml("- {name: S, type: PATH, default: a, "
	    "maxLength: 3}\n", &in, &out, &el), -1);
	assert_true(el_has(&el, "value '/tpl/a' is longer than maxLength 3"));
	error_list_release(&el);
	param_values_release(&out);
	assert_int_equal(resolve_yaml("- {name: C, type: PATH, default: "
	    "config/a, allowedValues: [config/a, config/b]}\n", &in, &out,
	    &el), -1);
	assert_true(el_has(&el, "value '/tpl/config/a' is not one of the "
	    "allowedValues"));
	error_list_release(&el);
	param_values_release(&out);
	/* ... and to a submitted value before it */
	param_values_set(&in, "C", "config/b");
	assert_int_equal(resolve_yaml("- {name: C, type: PATH, allowedValues: "
	    "[config/a, config/b]}\n", &in, &out, &el), 0);
	assert_string_equal(param_values_get(&out, "C"),
	    "/home/u/work/config/b");
	param_values_release(&out);
	param_values_set(&in, "C", "config/c");
	assert_int_equal(resolve_yaml("- {name: C, type: PATH, allowedValues: "
	    "[config/a, config/b]}\n", &in, &out, &el), -1);
	assert_true(el_has(&el, "value 'config/c' is not one of the "
	    "allowedValues ['config/a', 'config/b']"));
	error_list_release(&el);
	param_values_release(&in);
	param_values_release(&out);
	(void)print_errors;
}

static void
test_value_from_file_position(void **state)
{
	struct param_values in = PARAM_VALUES_INIT, out = PARAM_VALUES_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct doc d = DOC_INIT;
	const char *text = "Frames: 1\nCount: 200\n";
	(void)state;

	assert_int_equal(doc_load_mem(&d, "params.yaml", text, strlen(text),
	    &el), 0);
	assert_int_equal(param_values_add_node(&in, d.root, "params.yaml",
	    &el), 0);
	assert_int_equal(resolve_yaml("- {name: Frames, type: INT}\n"
	    "- {name: Count, type: INT, maxValue: 100}\n", &in, &out, &el), -1);
	assert_int_equal(el.n, 1);
	assert_string_equal(el.v[0].file, "params.yaml");
	assert_int_equal(el.v[0].line, 2);
	assert_int_equal(el.v[0].col, 8);
	doc_release(&d);
	error_list_release(&el);
	param_values_release(&in);
	param_values_release(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_int),
		cmocka_unit_test(test_parse_float),
		cmocka_unit_test(test_utf8_len),
		cmocka_unit_test(test_path_normalize),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_values_set),
		cmocka_unit_test(test_parse_arg_forms),
		cmocka_unit_test(test_int_values),
		cmocka_unit_test(test_float_values),
		cmocka_unit_test(test_string_values),
		cmocka_unit_test(test_merge_type_conflict),
		cmocka_unit_test(test_merge_path_conflicts),
		cmocka_unit_test(test_merge_narrowing),
		cmocka_unit_test(test_merge_allowed_values),
		cmocka_unit_test(test_merge_unsatisfiable),
		cmocka_unit_test(test_merge_defaults),
		cmocka_unit_test(test_resolve_basic),
		cmocka_unit_test(test_resolve_paths),
		cmocka_unit_test(test_value_from_file_position),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
