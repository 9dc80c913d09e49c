/* Unit tests for FEATURE_BUNDLE_1 simple actions expanded into scripts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "model/simple-action.h"

static json_t *
J(const char *text)
{
	json_t *j = json_loads(text, 0, NULL);

	assert_non_null(j);
	return j;
}

static void
test_simple_action(void **state)
{
	json_t *step = J("{\"name\": \"1 My-Step\", \"bash\": {\"script\": "
	    "\"echo hi {{Param.X}}\", \"args\": [\"--a\"], \"timeout\": 5}}");
	json_t *script, *none = J("{\"name\": \"N\"}");
	char *err = NULL, *text;
	(void)state;

	script = simple_action_script(step, &err);
	assert_non_null(script);
	text = json_dumps(script, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(text, "{\"actions\":{\"onRun\":{\"args\":["
	    "\"{{Task.File._1_My_Step_script}}\",\"--a\"],\"command\":\"bash\","
	    "\"timeout\":5}},\"embeddedFiles\":[{\"data\":\"echo hi "
	    "{{Param.X}}\",\"filename\":\"_1_My_Step_script.sh\",\"name\":"
	    "\"_1_My_Step_script\",\"runnable\":true,\"type\":\"TEXT\"}]}");
	free(text);
	json_decref(script);
	assert_null(simple_action_script(none, &err));
	assert_non_null(strstr(err, "no script"));
	free(err);
	json_decref(step);
	json_decref(none);
}

static void
test_script_passes_through(void **state)
{
	json_t *step = J("{\"name\": \"S\", \"script\": {\"actions\": "
	    "{\"onRun\": {\"command\": \"x\"}}}}");
	char *err = NULL;
	json_t *script = simple_action_script(step, &err);
	(void)state;

	assert_ptr_equal(script, json_object_get(step, "script"));
	json_decref(script);
	json_decref(step);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_action),
		cmocka_unit_test(test_script_passes_through),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
