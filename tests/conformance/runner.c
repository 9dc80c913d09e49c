/*
 * Conformance runner entry point: picks the mode and holds the helpers the
 * modes share (see runner.h).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/xmalloc.h"
#include "runner.h"

#ifndef DROVER_DEFAULT_SHARED
#define DROVER_DEFAULT_SHARED "../shared"
#endif
#ifndef DROVER_DEFAULT_SOURCE
#define DROVER_DEFAULT_SOURCE "."
#endif

static const struct {
	const char	*name;
	int		(*main)(int, char **);
	const char	*usage;
} modes[] = {
	{ "templates", mode_templates_main,
	  "templates [-v] [SUITE...]   validate template cases" },
	{ "jobcreate", mode_jobcreate_main,
	  "jobcreate [-v] [SUITE...]   create jobs from jobs/ cases" },
};

const char *
corpus_dir(void)
{
	static char *dir;
	const char *shared = getenv("DROVER_SHARED");

	if (dir == NULL)
		dir = xasprintf("%s/conformance", shared && *shared ? shared :
		    DROVER_DEFAULT_SHARED);
	return dir;
}

const char *
source_dir(void)
{
	const char *s = getenv("DROVER_SOURCE_DIR");

	return s && *s ? s : DROVER_DEFAULT_SOURCE;
}

int
is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int
ends_with(const char *s, const char *suffix)
{
	size_t a = strlen(s), b = strlen(suffix);

	return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
list_files(const char *dir, const char *const *suffixes, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t alloc = 0;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		char *path;
		struct stat st;
		int ok = 0;

		for (size_t i = 0; suffixes[i]; i++)
			ok |= ends_with(de->d_name, suffixes[i]);
		if (!ok)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		ok = stat(path, &st) == 0 && S_ISREG(st.st_mode);
		free(path);
		if (!ok)
			continue;
		ALLOC_GROW(names, *n + 1, alloc);
		names[(*n)++] = xstrdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_names);
	return names;
}

char **
list_dirs(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t alloc = 0;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		char *path;

		if (de->d_name[0] == '.')
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (is_dir(path)) {
			ALLOC_GROW(names, *n + 1, alloc);
			names[(*n)++] = xstrdup(de->d_name);
		}
		free(path);
	}
	closedir(d);
	if (*n)
		qsort(names, *n, sizeof(*names), cmp_names);
	return names;
}

void
names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void
tally_print(const char *label, const struct tally *t)
{
	printf("%s: %d passed, %d failed, %d skipped\n", label, t->passed,
	    t->failed, t->skipped);
}

static int
usage(void)
{
	fprintf(stderr, "usage: conformance-runner MODE [ARGS]\nmodes:\n");
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		fprintf(stderr, "    %s\n", modes[i].usage);
	return 2;
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		return usage();
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(argv[1], modes[i].name) == 0)
			return modes[i].main(argc - 1, argv + 1);
	fprintf(stderr, "conformance-runner: unknown mode '%s'\n", argv[1]);
	return usage();
}
