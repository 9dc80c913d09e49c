/* Unit tests for path mapping rules (session/pathmap.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "session/pathmap.h"

static void
load(struct pathmap *pm, const char *text)
{
	char *err = NULL;

	if (pathmap_from_arg(pm, text, &err) != 0)
		fail_msg("rules rejected: %s", err);
}

static void
check(const struct pathmap *pm, const char *in, const char *want)
{
	int matched;
	char *out = pathmap_apply(pm, in, &matched);

	if (strcmp(out, want) != 0)
		fail_msg("'%s' -> '%s', expected '%s'", in, out, want);
	assert_int_equal(matched, strcmp(in, want) != 0 ||
	    strcmp(in, "/same/x") == 0);
	free(out);
}

static void
test_posix(void **state)
{
	struct pathmap pm;
	(void)state;

	load(&pm, "{\"version\": \"pathmapping-1.0\", \"path_mapping_rules\": ["
	    "{\"source_path_format\": \"POSIX\", \"source_path\": \"/home\","
	    " \"destination_path\": \"/mnt/home\"},"
	    "{\"source_path_format\": \"POSIX\", \"source_path\": "
	    "\"/home/user\", \"destination_path\": \"/mnt/user\"},"
	    "{\"source_path_format\": \"POSIX\", \"source_path\": \"/same\","
	    " \"destination_path\": \"/same\"}]}");
	assert_int_equal(pm.n, 3);
	/* longest source first */
	assert_string_equal(pm.rules[0].source, "/home/user");
	check(&pm, "/home/user/a.exr", "/mnt/user/a.exr");
	check(&pm, "/home/user", "/mnt/user");
	check(&pm, "/home/user/dir/", "/mnt/user/dir/");
	check(&pm, "/home//user///b", "/mnt/user/b");
	check(&pm, "/home/username/c", "/mnt/home/username/c");
	check(&pm, "/home/other", "/mnt/home/other");
	check(&pm, "/homer/x", "/homer/x");
	check(&pm, "home/user/x", "home/user/x");	/* not rooted */
	check(&pm, "/Home/user/x", "/Home/user/x");	/* case matters */
	check(&pm, "/home\\user/f", "/home\\user/f");
	check(&pm, "/same/x", "/same/x");
	pathmap_release(&pm);
}

static void
test_windows(void **state)
{
	struct pathmap pm;
	(void)state;

	load(&pm, "{\"version\": \"pathmapping-1.0\", \"path_mapping_rules\": ["
	    "{\"source_path_format\": \"WINDOWS\", \"source_path\": "
	    "\"C:\\\\Users\\\\Bob\", \"destination_path\": \"/mnt/bob\"},"
	    "{\"source_path_format\": \"WINDOWS\", \"source_path\": "
	    "\"\\\\\\\\server\\\\share\", \"destination_path\": \"/mnt/s\"}]}");
	check(&pm, "C:\\Users\\Bob\\scene\\a.ma", "/mnt/bob/scene/a.ma");
	check(&pm, "c:/users/bob/scene/a.ma", "/mnt/bob/scene/a.ma");
	check(&pm, "C:\\Users\\Bob\\", "/mnt/bob/");
	check(&pm, "D:\\Users\\Bob\\x", "D:\\Users\\Bob\\x");
	check(&pm, "C:\\Users\\Bobby", "C:\\Users\\Bobby");
	check(&pm, "\\\\SERVER\\Share\\f.txt", "/mnt/s/f.txt");
	pathmap_release(&pm);
}

static void
test_json(void **state)
{
	struct pathmap pm, cp;
	char *err = NULL, *s;
	json_t *doc;
	(void)state;

	assert_int_equal(pathmap_from_arg(&pm, "[]", &err), -1);
	assert_non_null(strstr(err, "object"));
	free(err);
	assert_int_equal(pathmap_from_arg(&pm, "{\"version\": \"x\", "
	    "\"path_mapping_rules\": []}", &err), -1);
	assert_non_null(strstr(err, "pathmapping-1.0"));
	free(err);
	assert_int_equal(pathmap_from_arg(&pm, "{\"version\": "
	    "\"pathmapping-1.0\", \"path_mapping_rules\": [{"
	    "\"source_path_format\": \"URIX\", \"source_path\": \"a\", "
	    "\"destination_path\": \"b\"}]}", &err), -1);
	assert_non_null(strstr(err, "URIX"));
	free(err);
	assert_int_equal(pathmap_from_arg(&pm, "{bad json", &err), -1);
	free(err);
	assert_int_equal(pathmap_from_arg(&pm, "file:///nonexistent/rules",
	    &err), -1);
	free(err);

	load(&pm, "{\"version\": \"pathmapping-1.0\", \"path_mapping_rules\": "
	    "[]}");
	doc = pathmap_to_json(&pm);
	assert_int_equal(json_object_size(doc), 0);
	json_decref(doc);
	pathmap_release(&pm);

	load(&pm, "{\"version\": \"pathmapping-1.0\", \"path_mapping_rules\": ["
	    "{\"source_path_format\": \"POSIX\", \"source_path\": \"/a\", "
	    "\"destination_path\": \"/b\"}]}");
	pathmap_copy(&cp, &pm);
	pathmap_release(&pm);
	doc = pathmap_to_json(&cp);
	s = json_dumps(doc, JSON_SORT_KEYS | JSON_COMPACT);
	assert_string_equal(s, "{\"path_mapping_rules\":[{\"destination_path\""
	    ":\"/b\",\"source_path\":\"/a\",\"source_path_format\":\"POSIX\"}],"
	    "\"version\":\"pathmapping-1.0\"}");
	free(s);
	json_decref(doc);
	pathmap_release(&cp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posix),
		cmocka_unit_test(test_windows),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
