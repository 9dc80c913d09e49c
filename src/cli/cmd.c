/*
 * What every command shares: help and usage output, and handing a command
 * to its helper program (see cmd.h).  Linked into drover and into the
 * helper programs; the command table itself is in commands.c.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/xmalloc.h"

#include "cli/cmd.h"

void
cmd_print_help(const struct cmd_entry *c, FILE *fp)
{
	if (c->helper != NULL) {
		char *argv[] = { (char *)c->name, (char *)"--help", NULL };

		fflush(fp);
		exit(cmd_exec_helper(c, 2, argv));
	}
	fprintf(fp, "NAME\n    drover %s - %s\n\nSYNOPSIS\n    %s\n\n%s",
	    c->name, c->summary, c->usage, c->help);
}

int
cmd_usage_error(const struct cmd_entry *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "drover %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\nSee 'drover help %s'.\n", c->usage,
	    c->name);
	return EXIT_USAGE;
}

int
cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}

/* The directory drover runs from, or NULL. */
static char *
cmd_self_dir(void)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	path[n] = '\0';
	if ((slash = strrchr(path, '/')) == NULL)
		return NULL;
	*slash = '\0';
	return xstrdup(path);
}

int
cmd_exec_helper(const struct cmd_entry *c, int argc, char **argv)
{
	char *dir = cmd_self_dir(), *cand[2];
	char **args = xcalloc((size_t)argc + 2, sizeof(*args));

	args[0] = (char *)c->helper;
	for (int i = 0; i < argc; i++)
		args[i + 1] = argv[i];
	cand[0] = dir ? xasprintf("%s/%s", dir, c->helper) : NULL;
	cand[1] = dir ? xasprintf("%s/../libexec/drover/%s", dir, c->helper) :
	    NULL;
	fflush(NULL);
	for (int i = 0; i < 2; i++)
		if (cand[i] != NULL)
			execv(cand[i], args);
	fprintf(stderr, "drover %s: cannot run its helper program '%s' "
	    "(looked in %s and %s/../libexec/drover): %s\n", c->name,
	    c->helper, dir ? dir : "?", dir ? dir : "?", strerror(errno));
	free(cand[0]);
	free(cand[1]);
	free(args);
	free(dir);
	return EXIT_SYSTEM;
}
