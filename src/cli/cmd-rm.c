/*
 * drover rm: removes ended jobs, their history and their logs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"

static int
cmd_rm_exec(int argc, char **argv)
{
	int force = 0, rc = EXIT_OK, one, any = 0;

	for (int k = 1; k < argc; k++)
		if (!strcmp(argv[k], "--force") || !strcmp(argv[k], "-f"))
			force = 1;
	for (int k = 1; k < argc; k++) {
		int64_t job, task;
		char *step = NULL;
		json_t *args, *r;

		if (!strcmp(argv[k], "--force") || !strcmp(argv[k], "-f"))
			continue;
		if (client_parse_ref(argv[k], &job, &step, &task) == -1 ||
		    step) {
			free(step);
			return cmd_usage_error(&cmd_rm_entry, "bad job id '%s'",
			    argv[k]);
		}
		any = 1;
		args = json_object();
		json_object_set_new(args, "job", json_integer(job));
		if (force)
			json_object_set_new(args, "force", json_true());
		r = client_do("rm", "rm", args, &one);
		if (r == NULL)
			rc = rc ? rc : one;
		json_decref(r);
	}
	if (!any)
		return cmd_usage_error(&cmd_rm_entry, "a job id is required");
	return rc;
}

const struct cmd_entry cmd_rm_entry = {
	"rm",
	"remove ended jobs",
	"drover rm [--force] JOB...",
	"DESCRIPTION\n"
	"    Removes jobs that have ended from the store, with their attempts,\n"
	"    events and log files.  A job that has not ended must be canceled\n"
	"    first.\n"
	"\n"
	"OPTIONS\n"
	"    -f, --force\n"
	"        Also remove a job that has not ended but has no running\n"
	"        session (e.g. one waiting on --after jobs).\n"
	"\n"
	"EXIT STATUS\n"
	"    0 removed, 1 no such job or it has not ended, 2 usage error, 3 the\n"
	"    daemon could not be reached.\n",
	.exec = cmd_rm_exec,
};
