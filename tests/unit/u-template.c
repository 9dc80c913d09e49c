/*
 * Unit tests for template validation: positions and field paths of several
 * errors in one file, that every error is reported, did-you-mean in format
 * strings, scopes, extensions, JSON and YAML input, kind detection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/template.h"

static int
load(struct template *t, const char *text, struct error_list *el)
{
	return template_load_mem(t, "t.yaml", text, strlen(text), el);
}

/* The error at line:col whose path is path, or NULL. */
static const struct error *
find_error(const struct error_list *el, int line, int col, const char *path)
{
	for (size_t i = 0; i < el->n; i++)
		if (el->v[i].line == line && el->v[i].col == col &&
		    strcmp(el->v[i].path ? el->v[i].path : "", path) == 0)
			return &el->v[i];
	return NULL;
}

static void
assert_error(const struct error_list *el, int line, int col, const char *path,
    const char *msg_part)
{
	const struct error *e = find_error(el, line, col, path);

	if (e == NULL) {
		for (size_t i = 0; i < el->n; i++) {
			char *s = error_format(&el->v[i]);
			fprintf(stderr, "  have: %s\n", s);
			free(s);
		}
		fail_msg("no error at %d:%d %s", line, col, path);
	}
	if (strstr(e->msg, msg_part) == NULL)
		fail_msg("error at %d:%d %s is '%s', wanted '%s'", line, col,
		    path, e->msg, msg_part);
	assert_string_equal(e->file, "t.yaml");
}

static const char many_errors[] =
    "specificationVersion: jobtemplate-2023-09\n"		/* 1 */
    "name: Job\n"						/* 2 */
    "parameterDefinitions:\n"					/* 3 */
    "- name: Frames\n"						/* 4 */
    "  type: INT\n"						/* 5 */
    "  minValue: 10\n"						/* 6 */
    "  maxValue: 1\n"						/* 7 */
    "steps:\n"							/* 8 */
    "- name: Render\n"						/* 9 */
    "  script:\n"						/* 10 */
    "    actions:\n"						/* 11 */
    "      onRun:\n"						/* 12 */
    "        cmd: render\n"					/* 13 */
    "        args: [\"{{Param.Frame}}\"]\n"			/* 14 */
    "- name: Render\n"						/* 15 */
    "  dependencies:\n"						/* 16 */
    "  - dependsOn: Rendr\n"					/* 17 */
    "  script:\n"						/* 18 */
    "    actions:\n"						/* 19 */
    "      onRun:\n"						/* 20 */
    "        command: x\n"					/* 21 */
    "        timeout: 0\n";					/* 22 */

static void
test_all_errors_with_positions(void **state)
{
	struct template t;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	assert_int_equal(load(&t, many_errors, &el), -1);
	assert_int_equal(t.kind, TEMPLATE_JOB);
	assert_error(&el, 6, 13, "parameterDefinitions[0].minValue",
	    "minValue (10) is greater than maxValue (1)");
	/* a missing key is reported at its map (which starts at its first key) */
	assert_error(&el, 13, 9, "steps[0].script.actions.onRun",
	    "missing required key 'command'");
	assert_error(&el, 13, 9, "steps[0].script.actions.onRun.cmd",
	    "unknown key 'cmd' (allowed: command, args, timeout, cancelation)");
	assert_error(&el, 14, 16, "steps[0].script.actions.onRun.args[0]",
	    "unknown value reference 'Param.Frame' in format string "
	    "(did you mean 'Param.Frames'?)");
	assert_error(&el, 15, 9, "steps[1].name",
	    "duplicate step name 'Render' (first defined at 9:9)");
	assert_error(&el, 17, 16, "steps[1].dependencies[0].dependsOn",
	    "unknown step 'Rendr' (did you mean 'Render'?)");
	assert_error(&el, 22, 18, "steps[1].script.actions.onRun.timeout",
	    "must be at least 1");
	assert_int_equal(el.n, 7);
	/* sorted in file order */
	for (size_t i = 1; i < el.n; i++)
		assert_true(el.v[i - 1].line <= el.v[i].line);
	template_release(&t);
	error_list_release(&el);
}

static void
test_valid_job_and_env(void **state)
{
	static const char job[] =
	    "specificationVersion: 'jobtemplate-2023-09'\n"
	    "extensions: [TASK_CHUNKING, FEATURE_BUNDLE_1]\n"
	    "name: \"Render {{Param.Shot}}\"\n"
	    "parameterDefinitions:\n"
	    "- {name: Shot, type: STRING, default: sh010}\n"
	    "steps:\n"
	    "- name: R\n"
	    "  parameterSpace:\n"
	    "    taskParameterDefinitions:\n"
	    "    - name: F\n"
	    "      type: CHUNK[INT]\n"
	    "      range: 1-100\n"
	    "      chunks: {defaultTaskCount: 10, rangeConstraint: CONTIGUOUS}\n"
	    "  bash:\n"
	    "    script: echo {{Task.Param.F}} {{Param.Shot}}\n";
	static const char env[] =
	    "{\"specificationVersion\": \"environment-2023-09\",\n"
	    " \"environment\": {\"name\": \"E\", \"variables\": {\"A\": "
	    "\"{{Session.WorkingDirectory}}\"}}}\n";
	struct template t;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	assert_int_equal(load(&t, job, &el), 0);
	assert_int_equal(el.n, 0);
	assert_int_equal(t.kind, TEMPLATE_JOB);
	assert_int_equal(t.extensions, TEMPLATE_EXT_TASK_CHUNKING |
	    TEMPLATE_EXT_FEATURE_BUNDLE_1);
	assert_non_null(t.doc.root);
	template_release(&t);

	assert_int_equal(template_load_mem(&t, "e.json", env, strlen(env), &el),
	    0);
	assert_int_equal(t.kind, TEMPLATE_ENV);
	assert_true(t.doc.json);
	assert_string_equal(template_kind_name(t.kind), "environment template");
	template_release(&t);
	error_list_release(&el);
}

static void
test_json_positions(void **state)
{
	static const char json[] =
	    "{\n"
	    "  \"specificationVersion\": \"jobtemplate-2023-09\",\n"
	    "  \"name\": \"J\",\n"
	    "  \"steps\": [{\"name\": \"S\", \"script\": {\"actions\": {\"onRun\":\n"
	    "     {\"command\": \"{{Task.File.Run}}\", \"timeout\": \"soon\"}}}}],\n"
	    "  \"extra\": 1\n"
	    "}\n";
	struct template t;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	assert_int_equal(template_load_mem(&t, "t.yaml", json, strlen(json),
	    &el), -1);
	assert_error(&el, 6, 3, "extra", "unknown key 'extra'");
	assert_error(&el, 5, 18, "steps[0].script.actions.onRun.command",
	    "unknown value reference 'Task.File.Run'");
	assert_error(&el, 5, 50, "steps[0].script.actions.onRun.timeout",
	    "'soon' is not an integer");
	assert_int_equal(el.n, 3);
	template_release(&t);
	error_list_release(&el);
}

static void
test_scopes(void **state)
{
	static const char job[] =
	    "specificationVersion: jobtemplate-2023-09\n"		/* 1 */
	    "extensions: [FEATURE_BUNDLE_1]\n"				/* 2 */
	    "name: \"{{Param.Out}}\"\n"					/* 3 */
	    "parameterDefinitions:\n"					/* 4 */
	    "- {name: Out, type: PATH}\n"				/* 5 */
	    "jobEnvironments:\n"					/* 6 */
	    "- name: E\n"						/* 7 */
	    "  variables: {A: \"{{Task.Param.F}}\", B: \"{{Param.Out}}\"}\n" /* 8 */
	    "steps:\n"							/* 9 */
	    "- name: S\n"						/* 10 */
	    "  parameterSpace:\n"					/* 11 */
	    "    taskParameterDefinitions:\n"				/* 12 */
	    "    - {name: F, type: INT, range: [1]}\n"			/* 13 */
	    "  script:\n"						/* 14 */
	    "    actions:\n"						/* 15 */
	    "      onRun:\n"						/* 16 */
	    "        command: \"{{Env.File.X}}\"\n"			/* 17 */
	    "        args: [\"{{Param.Out}}\", \"{{Task.Param.F}}\"]\n"	/* 18 */
	    "        timeout: \"{{Session.WorkingDirectory}}\"\n";	/* 19 */
	struct template t;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	assert_int_equal(load(&t, job, &el), -1);
	assert_error(&el, 3, 7, "name", "use 'RawParam.Out' here");
	assert_error(&el, 8, 18, "jobEnvironments[0].variables.A",
	    "'Task.Param.F' is not available here");
	assert_error(&el, 17, 18, "steps[0].script.actions.onRun.command",
	    "'Env.File.X' is not available here");
	assert_error(&el, 19, 18, "steps[0].script.actions.onRun.timeout",
	    "'Session.WorkingDirectory' is not available here");
	/* Param.Out in the env and in args, Task.Param.F in args are fine */
	assert_int_equal(el.n, 4);
	template_release(&t);
	error_list_release(&el);
}

static void
test_extensions(void **state)
{
	struct template t;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	assert_int_equal(load(&t, "specificationVersion: environment-2023-09\n"
	    "extensions: [EXPR]\n"
	    "environment: {name: E, variables: {A: '{{ Param.X + 1 }}'}}\n",
	    &el), -1);
	assert_true(t.extensions & TEMPLATE_EXT_EXPR);
	assert_int_equal(el.n, 1);
	assert_error(&el, 2, 14, "extensions[0]", "EXPR is not supported yet");
	template_release(&t);
	error_list_release(&el);

	assert_int_equal(load(&t, "specificationVersion: environment-2023-09\n"
	    "extensions: [WRAP_ACTIONS, REDACTED_ENV_VARS]\n"
	    "environment: {name: E, variables: {A: b}}\n", &el), -1);
	assert_error(&el, 2, 14, "extensions[0]",
	    "unknown extension 'WRAP_ACTIONS'");
	assert_int_equal(el.n, 1);
	assert_int_equal(t.extensions, TEMPLATE_EXT_REDACTED_ENV_VARS);
	template_release(&t);
	error_list_release(&el);

	assert_int_equal(template_extension_bit("FEATURE_BUNDLE_1"),
	    TEMPLATE_EXT_FEATURE_BUNDLE_1);
	assert_int_equal(template_extension_bit("feature_bundle_1"), 0);
	assert_string_equal(template_extension_name(TEMPLATE_EXT_TASK_CHUNKING),
	    "TASK_CHUNKING");
}

static void
test_limits(void **state)
{
	struct template_limits base, fb1;
	(void)state;

	template_limits_init(&base, 0);
	template_limits_init(&fb1, TEMPLATE_EXT_FEATURE_BUNDLE_1);
	assert_int_equal(base.job_name_len, 128);
	assert_int_equal(fb1.job_name_len, 512);
	assert_int_equal(base.identifier_len, 64);
	assert_int_equal(fb1.identifier_len, 512);
	assert_int_equal(base.job_param_count, 50);
	assert_int_equal(fb1.job_param_count, 200);
	assert_int_equal(fb1.env_param_count, 50);
	assert_int_equal(base.filename_len, 64);
	assert_int_equal(fb1.filename_len, 256);
}

static void
test_bad_documents(void **state)
{
	struct template t;
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	/* not a map */
	assert_int_equal(load(&t, "- a\n- b\n", &el), -1);
	assert_int_equal(el.n, 1);
	assert_non_null(strstr(el.v[0].msg, "must be a mapping"));
	template_release(&t);
	error_list_release(&el);

	/* YAML syntax error: reported by the loader, no crash */
	assert_int_equal(load(&t, "name: [unclosed\n", &el), -1);
	assert_true(el.n >= 1);
	template_release(&t);
	error_list_release(&el);

	/* unreadable file */
	assert_int_equal(template_load(&t, "/nonexistent/drover/t.yaml", &el),
	    -1);
	assert_int_equal(el.n, 1);
	assert_non_null(strstr(el.v[0].msg, "cannot read"));
	template_release(&t);
	error_list_release(&el);

	/* missing specificationVersion: kind guessed from the keys */
	assert_int_equal(load(&t, "environment: {name: E, variables: {A: b}}\n",
	    &el), -1);
	assert_int_equal(t.kind, TEMPLATE_ENV);
	assert_error(&el, 1, 1, "", "missing required key "
	    "'specificationVersion'");
	assert_int_equal(el.n, 1);
	template_release(&t);
	error_list_release(&el);
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/u-template-XXXXXX";
	static const char text[] =
	    "specificationVersion: jobtemplate-2023-09\n"
	    "name: J\n"
	    "steps:\n"
	    "- name: S\n"
	    "  script: {actions: {onRun: {command: echo}}}\n";
	struct template t;
	struct error_list el = ERROR_LIST_INIT;
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(template_load(&t, path, &el), 0);
	assert_int_equal(el.n, 0);
	assert_string_equal(t.doc.file, path);
	template_release(&t);
	unlink(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_errors_with_positions),
		cmocka_unit_test(test_valid_job_and_env),
		cmocka_unit_test(test_json_positions),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_extensions),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_documents),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
