/* Unit tests for libdrover-adaptor's path mapping (pathmapping-1.0). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "drover/adaptor.h"

static char err[256];

static void
check_map(const drover_pathmap *pm, const char *in, const char *want,
    int want_matched)
{
	int matched = -1;
	char *out = drover_pathmap_apply(pm, in, &matched);

	assert_non_null(out);
	assert_string_equal(out, want);
	assert_int_equal(matched, want_matched);
	free(out);
}

static void
test_posix_component_prefix(void **state)
{
	drover_pathmap *pm = drover_pathmap_new();
	(void)state;

	assert_int_equal(drover_pathmap_add(pm, "POSIX", "/mnt/proj",
	    "/shared/proj", err, sizeof(err)), 0);
	check_map(pm, "/mnt/proj/shot1/a.exr", "/shared/proj/shot1/a.exr", 1);
	check_map(pm, "/mnt/proj", "/shared/proj", 1);
	check_map(pm, "/mnt/proj/", "/shared/proj", 1);
	/* a component boundary, not a string prefix */
	check_map(pm, "/mnt/project/x", "/mnt/project/x", 0);
	/* case matters for POSIX sources */
	check_map(pm, "/MNT/proj/x", "/MNT/proj/x", 0);
	/* redundant slashes and "." do not stop a match; ".." is kept */
	check_map(pm, "/mnt//proj/./a/../b", "/shared/proj/a/../b", 1);
	/* relative paths never match an absolute source */
	check_map(pm, "mnt/proj/x", "mnt/proj/x", 0);
	drover_pathmap_free(pm);
}

static void
test_longest_source_first(void **state)
{
	drover_pathmap *pm = drover_pathmap_new();
	(void)state;

	/* Added shortest first: the longer one must still win. */
	assert_int_equal(drover_pathmap_add(pm, "POSIX", "/mnt", "/a", err,
	    sizeof(err)), 0);
	assert_int_equal(drover_pathmap_add(pm, "POSIX", "/mnt/deep/er",
	    "/c", err, sizeof(err)), 0);
	assert_int_equal(drover_pathmap_add(pm, "POSIX", "/mnt/deep", "/b",
	    err, sizeof(err)), 0);
	assert_int_equal(drover_pathmap_count(pm), 3);
	check_map(pm, "/mnt/deep/er/f", "/c/f", 1);
	check_map(pm, "/mnt/deep/f", "/b/f", 1);
	check_map(pm, "/mnt/f", "/a/f", 1);
	/* equal lengths: the first added wins */
	assert_int_equal(drover_pathmap_add(pm, "POSIX", "/x", "/first", err,
	    sizeof(err)), 0);
	assert_int_equal(drover_pathmap_add(pm, "POSIX", "/x", "/second", err,
	    sizeof(err)), 0);
	check_map(pm, "/x/y", "/first/y", 1);
	drover_pathmap_free(pm);
}

static void
test_windows_sources(void **state)
{
	drover_pathmap *pm = drover_pathmap_new();
	(void)state;

	assert_int_equal(drover_pathmap_add(pm, "WINDOWS", "Z:\\Movie1",
	    "/mnt/shared/movie1", err, sizeof(err)), 0);
	check_map(pm, "Z:\\Movie1\\shot\\a.exr", "/mnt/shared/movie1/shot/a.exr",
	    1);
	check_map(pm, "z:/movie1/shot/a.exr", "/mnt/shared/movie1/shot/a.exr",
	    1);
	check_map(pm, "z:\\MOVIE1", "/mnt/shared/movie1", 1);
	check_map(pm, "Z:\\Movie10\\a", "Z:\\Movie10\\a", 0);
	assert_int_equal(drover_pathmap_add(pm, "windows", "\\\\server\\share",
	    "/net/share/", err, sizeof(err)), 0);
	check_map(pm, "\\\\SERVER\\share\\x\\y", "/net/share/x/y", 1);
	/* a single leading slash is not a UNC path */
	check_map(pm, "\\server\\share\\x", "\\server\\share\\x", 0);
	drover_pathmap_free(pm);
}

static void
test_root_destination(void **state)
{
	drover_pathmap *pm = drover_pathmap_new();
	(void)state;

	assert_int_equal(drover_pathmap_add(pm, "POSIX", "/old", "/", err,
	    sizeof(err)), 0);
	check_map(pm, "/old/a/b", "/a/b", 1);
	check_map(pm, "/old", "/", 1);
	drover_pathmap_free(pm);
}

static void
test_bad_rules(void **state)
{
	drover_pathmap *pm = drover_pathmap_new();
	(void)state;

	assert_int_equal(drover_pathmap_add(pm, "MACOS", "/a", "/b", err,
	    sizeof(err)), DROVER_EINVAL);
	assert_non_null(strstr(err, "MACOS"));
	assert_int_equal(drover_pathmap_add(pm, "POSIX", "", "/b", err,
	    sizeof(err)), DROVER_EINVAL);
	assert_int_equal(drover_pathmap_count(pm), 0);
	drover_pathmap_free(pm);
}

static void
test_load_json(void **state)
{
	drover_pathmap *pm = drover_pathmap_new();
	json_error_t je;
	json_t *doc;
	(void)state;

	doc = json_loads("{\"version\": \"pathmapping-1.0\", "
	    "\"path_mapping_rules\": [{\"source_path_format\": \"WINDOWS\", "
	    "\"source_path\": \"C:\\\\a\", \"destination_path\": \"/a\"}, "
	    "{\"source_path_format\": \"POSIX\", \"source_path\": \"/home/x\", "
	    "\"destination_path\": \"/y\"}]}", 0, &je);
	assert_non_null(doc);
	assert_int_equal(drover_pathmap_load_json(pm, doc, err, sizeof(err)),
	    0);
	json_decref(doc);
	assert_int_equal(drover_pathmap_count(pm), 2);
	check_map(pm, "c:\\A\\b", "/a/b", 1);
	check_map(pm, "/home/x/1", "/y/1", 1);

	doc = json_loads("{}", 0, &je);
	assert_int_equal(drover_pathmap_load_json(pm, doc, err, sizeof(err)),
	    0);
	json_decref(doc);

	doc = json_loads("{\"version\": \"pathmapping-2.0\"}", 0, &je);
	assert_int_equal(drover_pathmap_load_json(pm, doc, err, sizeof(err)),
	    DROVER_EINVAL);
	assert_non_null(strstr(err, "version"));
	json_decref(doc);

	doc = json_loads("{\"path_mapping_rules\": [{\"source_path_format\": "
	    "\"POSIX\", \"source_path\": \"/a\"}]}", 0, &je);
	assert_int_equal(drover_pathmap_load_json(pm, doc, err, sizeof(err)),
	    DROVER_EINVAL);
	assert_string_equal(err, "path_mapping_rules[0]: missing string "
	    "'destination_path'");
	json_decref(doc);
	drover_pathmap_free(pm);
}

static void
test_load_file(void **state)
{
	char path[] = "/tmp/u-adaptor-pm-XXXXXX";
	drover_pathmap *pm = drover_pathmap_new();
	FILE *fp;
	int fd;
	(void)state;

	fd = mkstemp(path);
	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fputs("{\"version\": \"pathmapping-1.0\", \"path_mapping_rules\": "
	    "[{\"source_path_format\": \"POSIX\", \"source_path\": \"/s\", "
	    "\"destination_path\": \"/d\"}]}", fp);
	fclose(fp);
	assert_int_equal(drover_pathmap_load_file(pm, path, err, sizeof(err)),
	    0);
	check_map(pm, "/s/t", "/d/t", 1);
	unlink(path);
	assert_int_equal(drover_pathmap_load_file(pm, path, err, sizeof(err)),
	    DROVER_EINVAL);
	drover_pathmap_free(pm);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_posix_component_prefix),
		cmocka_unit_test(test_longest_source_first),
		cmocka_unit_test(test_windows_sources),
		cmocka_unit_test(test_root_destination),
		cmocka_unit_test(test_bad_rules),
		cmocka_unit_test(test_load_json),
		cmocka_unit_test(test_load_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
