/* Unit tests for libdrover-adaptor's configuration layers, data loading
 * (--init-data/--run-data: JSON, YAML, file://) and interface versions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../lib/adaptor/adaptor-int.h"

static char tmpdir[64];
static char err[DROVER__ERRMAX];

static int
setup(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/u-adaptor-config-XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	/* No user or environment configuration leaks in. */
	setenv("HOME", tmpdir, 1);
	unsetenv("UTEST_CONFIG_PATH");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
}

static json_t *
js(const char *text)
{
	json_error_t je;
	json_t *v = json_loads(text, 0, &je);

	if (v == NULL)
		fail_msg("bad test JSON: %s", je.text);
	return v;
}

static void
test_merge_is_deep(void **state)
{
	json_t *base = js("{\"a\": 1, \"o\": {\"x\": 1, \"y\": {\"z\": 1}}, "
	    "\"l\": [1, 2]}");
	json_t *over = js("{\"b\": 2, \"o\": {\"y\": {\"w\": 2}, \"x\": 3}, "
	    "\"l\": [3]}");
	json_t *want = js("{\"a\": 1, \"b\": 2, \"o\": {\"x\": 3, \"y\": "
	    "{\"z\": 1, \"w\": 2}}, \"l\": [3]}");
	(void)state;

	assert_int_equal(drover__config_merge(base, over), 0);
	assert_true(json_equal(base, want));
	/* over is left alone */
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    over, "o"), "x")), 3);
	assert_int_equal(drover__config_merge(base, json_array_get(over, 0)),
	    DROVER_EINVAL);
	json_decref(base);
	json_decref(over);
	json_decref(want);
}

static void
test_env_name(void **state)
{
	char *s = drover__env_name("toy-cmd.Adaptor2");
	(void)state;

	assert_string_equal(s, "TOY_CMD_ADAPTOR2");
	free(s);
}

static void
test_layers(void **state)
{
	struct drover_adaptor_def def;
	char shipped[128], userdir[160], user[192], extra[128];
	json_t *cfg;
	(void)state;

	memset(&def, 0, sizeof(def));
	def.name = "utest";
	snprintf(shipped, sizeof(shipped), "%s/shipped.json", tmpdir);
	write_file(shipped, "{\"log_level\": \"DEBUG\", \"renderer\": "
	    "{\"path\": \"/opt/r\", \"threads\": 4}, \"keep\": true}");
	def.config_path = shipped;
	snprintf(userdir, sizeof(userdir), "%s/.openjd", tmpdir);
	mkdir(userdir, 0700);
	snprintf(userdir, sizeof(userdir), "%s/.openjd/adaptors", tmpdir);
	mkdir(userdir, 0700);
	snprintf(userdir, sizeof(userdir), "%s/.openjd/adaptors/utest",
	    tmpdir);
	mkdir(userdir, 0700);
	snprintf(user, sizeof(user), "%s/utest.json", userdir);
	write_file(user, "{\"renderer\": {\"threads\": 8}}");

	assert_int_equal(drover__config_build(&def, NULL, &cfg, err,
	    sizeof(err)), 0);
	/* runtime default, shipped value, user override merged in */
	assert_int_equal(json_integer_value(json_object_get(cfg,
	    "cancel_grace_seconds")), 5);
	assert_string_equal(json_string_value(json_object_get(cfg,
	    "log_level")), "DEBUG");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    cfg, "renderer"), "path")), "/opt/r");
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    cfg, "renderer"), "threads")), 8);
	json_decref(cfg);

	/* $UTEST_CONFIG_PATH comes last */
	snprintf(extra, sizeof(extra), "%s/extra.json", tmpdir);
	write_file(extra, "{\"keep\": false}");
	setenv("UTEST_CONFIG_PATH", extra, 1);
	assert_int_equal(drover__config_build(&def, NULL, &cfg, err,
	    sizeof(err)), 0);
	assert_true(json_is_false(json_object_get(cfg, "keep")));
	json_decref(cfg);
	unlink(extra);
	assert_int_equal(drover__config_build(&def, NULL, &cfg, err,
	    sizeof(err)), DROVER_ENOENT);
	assert_non_null(strstr(err, "UTEST_CONFIG_PATH"));
	unsetenv("UTEST_CONFIG_PATH");

	/* a broken user file is reported with its name */
	write_file(user, "{\"renderer\": ");
	assert_int_equal(drover__config_build(&def, NULL, &cfg, err,
	    sizeof(err)), DROVER_EINVAL);
	assert_non_null(strstr(err, user));
	unlink(user);
}

static void
test_config_schema(void **state)
{
	struct drover_adaptor_def def;
	char shipped[128], schema[128];
	json_t *cfg;
	(void)state;

	memset(&def, 0, sizeof(def));
	def.name = "utest";
	snprintf(shipped, sizeof(shipped), "%s/c.json", tmpdir);
	snprintf(schema, sizeof(schema), "%s/c.schema.json", tmpdir);
	write_file(shipped, "{\"renderer\": 3}");
	write_file(schema, "{\"properties\": {\"renderer\": {\"type\": "
	    "\"string\"}}}");
	def.config_path = "c.json";	/* relative to the "executable" dir */
	def.config_schema_path = schema;
	assert_int_equal(drover__config_build(&def, tmpdir, &cfg, err,
	    sizeof(err)), DROVER_ESCHEMA);
	assert_non_null(strstr(err, "config.renderer: expected string"));
	def.config_path = "missing.json";
	assert_int_equal(drover__config_build(&def, tmpdir, &cfg, err,
	    sizeof(err)), DROVER_ENOENT);
}

static void
test_load_data(void **state)
{
	char path[128], arg[160];
	json_t *v;
	(void)state;

	assert_int_equal(drover__load_data("{\"a\": [1, 2.5, null]}", "run "
	    "data", &v, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(json_object_get(v, "a")), 3);
	json_decref(v);

	/* empty: an empty object */
	assert_int_equal(drover__load_data("", "run data", &v, err,
	    sizeof(err)), 0);
	assert_true(json_is_object(v) && json_object_size(v) == 0);
	json_decref(v);

	/* YAML, typed by the core schema */
	assert_int_equal(drover__load_data("frame: 12\nscale: 1.5\nname: "
	    "shot\nquoted: \"12\"\non: true\nnone: ~\nlist: [a, 2]\n",
	    "run data", &v, err, sizeof(err)), 0);
	assert_int_equal(json_integer_value(json_object_get(v, "frame")), 12);
	assert_true(json_real_value(json_object_get(v, "scale")) == 1.5);
	assert_string_equal(json_string_value(json_object_get(v, "name")),
	    "shot");
	assert_string_equal(json_string_value(json_object_get(v, "quoted")),
	    "12");
	assert_true(json_is_true(json_object_get(v, "on")));
	assert_true(json_is_null(json_object_get(v, "none")));
	assert_int_equal(json_integer_value(json_array_get(json_object_get(v,
	    "list"), 1)), 2);
	json_decref(v);

	/* file:// */
	snprintf(path, sizeof(path), "%s/data.yaml", tmpdir);
	write_file(path, "scene: /mnt/a\n");
	snprintf(arg, sizeof(arg), "file://%s", path);
	assert_int_equal(drover__load_data(arg, "init data", &v, err,
	    sizeof(err)), 0);
	assert_string_equal(json_string_value(json_object_get(v, "scene")),
	    "/mnt/a");
	json_decref(v);
	unlink(path);
	assert_int_equal(drover__load_data(arg, "init data", &v, err,
	    sizeof(err)), DROVER_ENOENT);
	assert_non_null(strstr(err, path));

	/* not an object */
	assert_int_equal(drover__load_data("[1, 2]", "run data", &v, err,
	    sizeof(err)), DROVER_EINVAL);
	assert_string_equal(err, "run data must be a JSON object");
	assert_int_equal(drover__load_data("hello", "run data", &v, err,
	    sizeof(err)), DROVER_EINVAL);
	/* broken JSON gets the JSON parser's position */
	assert_int_equal(drover__load_data("{\"a\": 1,,}", "run data", &v,
	    err, sizeof(err)), DROVER_EINVAL);
	assert_non_null(strstr(err, "run data: line 1"));
}

static void
test_versions(void **state)
{
	struct drover__version v, w;
	(void)state;

	assert_int_equal(drover__version_parse("0.1", &v), 0);
	assert_int_equal(v.major, 0);
	assert_int_equal(v.minor, 1);
	assert_int_equal(drover__version_parse("1", &v), DROVER_EINVAL);
	assert_int_equal(drover__version_parse("1.x", &v), DROVER_EINVAL);
	assert_int_equal(drover__version_parse("1.2.3", &v), DROVER_EINVAL);
	assert_int_equal(drover__version_parse("-1.2", &v), DROVER_EINVAL);
	/* before 1.0 the minor must match exactly */
	v.major = 0, v.minor = 2, w.major = 0, w.minor = 1;
	assert_false(drover__version_compatible(v, w));
	w.minor = 2;
	assert_true(drover__version_compatible(v, w));
	/* from 1.0 on, a newer minor serves an older one */
	v.major = 1, v.minor = 3, w.major = 1, w.minor = 2;
	assert_true(drover__version_compatible(v, w));
	w.minor = 4;
	assert_false(drover__version_compatible(v, w));
	w.major = 2, w.minor = 0;
	assert_false(drover__version_compatible(v, w));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_merge_is_deep),
		cmocka_unit_test(test_env_name),
		cmocka_unit_test(test_layers),
		cmocka_unit_test(test_config_schema),
		cmocka_unit_test(test_load_data),
		cmocka_unit_test(test_versions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
