/* Unit tests for libdrover-adaptor's JSON schema subset. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drover/adaptor.h"

static json_t *
js(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

	if (v == NULL)
		fail_msg("bad test JSON: %s: %s", text, je.text);
	return v;
}

/* Validates; returns the error text (caller frees) or NULL when valid. */
static char *
check(const char *schema, const char *data, int want_rc)
{
	json_t *s = js(schema), *d = js(data);
	char *errors = NULL;
	int rc;

	rc = drover_schema_validate(s, d, "run_data", &errors);
	json_decref(s);
	json_decref(d);
	if (rc != want_rc)
		fail_msg("want %d, got %d (%s)", want_rc, rc,
		    errors ? errors : "");
	return errors;
}

static const char *run_schema =
    "{\"type\": \"object\", \"required\": [\"frame\", \"scene\"],"
    " \"properties\": {"
    "  \"frame\": {\"type\": \"integer\", \"minimum\": 1},"
    "  \"scene\": {\"type\": \"string\"},"
    "  \"quality\": {\"enum\": [\"draft\", \"final\"]},"
    "  \"layers\": {\"type\": \"array\", \"items\": {\"type\": \"object\","
    "     \"required\": [\"name\"], \"properties\": {\"name\": "
    "     {\"type\": \"string\"}}}},"
    "  \"size\": {\"type\": [\"integer\", \"null\"]}},"
    " \"additionalProperties\": false}";

static void
test_valid(void **state)
{
	(void)state;
	assert_null(check(run_schema, "{\"frame\": 3, \"scene\": \"a\"}", 0));
	assert_null(check(run_schema, "{\"frame\": 3.0, \"scene\": \"a\", "
	    "\"quality\": \"final\", \"layers\": [{\"name\": \"bg\"}], "
	    "\"size\": null}", 0));
	/* no type: anything goes */
	assert_null(check("{}", "[1, \"x\"]", 0));
	assert_null(check("true", "17", 0));
}

static void
test_errors_name_the_key(void **state)
{
	char *e;
	(void)state;

	e = check(run_schema, "{\"frame\": \"7\"}", DROVER_ESCHEMA);
	assert_non_null(strstr(e, "run_data: missing required key 'scene'"));
	assert_non_null(strstr(e, "run_data.frame: expected integer, got "
	    "string"));
	free(e);

	e = check(run_schema, "{\"frame\": 0, \"scene\": \"a\", \"quality\": "
	    "\"best\", \"extra\": 1}", DROVER_ESCHEMA);
	assert_non_null(strstr(e, "run_data.frame: must be at least 1"));
	assert_non_null(strstr(e, "run_data.quality: must be one of "
	    "\"draft\", \"final\""));
	assert_non_null(strstr(e, "run_data: unknown key 'extra'"));
	free(e);

	e = check(run_schema, "{\"frame\": 1, \"scene\": \"a\", \"layers\": "
	    "[{\"name\": \"ok\"}, {\"nom\": 1}, {\"name\": 2}]}",
	    DROVER_ESCHEMA);
	assert_non_null(strstr(e, "run_data.layers[1]: missing required key "
	    "'name'"));
	assert_non_null(strstr(e, "run_data.layers[2].name: expected string, "
	    "got integer"));
	free(e);

	e = check(run_schema, "{\"frame\": 1.5, \"scene\": \"a\", \"size\": "
	    "\"big\"}", DROVER_ESCHEMA);
	assert_non_null(strstr(e, "run_data.frame: expected integer, got "
	    "number"));
	assert_non_null(strstr(e, "run_data.size: expected integer or null, "
	    "got string"));
	free(e);

	e = check(run_schema, "[]", DROVER_ESCHEMA);
	assert_string_equal(e, "run_data: expected object, got array");
	free(e);
}

static void
test_odd_keys_are_quoted(void **state)
{
	char *e;
	(void)state;

	e = check("{\"properties\": {\"a key\": {\"type\": \"string\"}}}",
	    "{\"a key\": 1}", DROVER_ESCHEMA);
	assert_string_equal(e, "run_data[\"a key\"]: expected string, got "
	    "integer");
	free(e);
}

static void
test_bad_schema(void **state)
{
	char *e;
	(void)state;

	e = check("{\"type\": \"integr\"}", "1", DROVER_EINVAL);
	assert_non_null(strstr(e, "unknown type"));
	free(e);
	e = check("{\"required\": \"x\"}", "{}", DROVER_EINVAL);
	assert_non_null(strstr(e, "'required' must be a list"));
	free(e);
	assert_int_equal(drover_schema_validate(NULL, NULL, "x", NULL),
	    DROVER_EINVAL);
}

static void
test_no_error_text_requested(void **state)
{
	json_t *s = js("{\"type\": \"string\"}"), *d = js("1");
	(void)state;

	assert_int_equal(drover_schema_validate(s, d, NULL, NULL),
	    DROVER_ESCHEMA);
	json_decref(s);
	json_decref(d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_errors_name_the_key),
		cmocka_unit_test(test_odd_keys_are_quoted),
		cmocka_unit_test(test_bad_schema),
		cmocka_unit_test(test_no_error_text_requested),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
