/*
 * drover pause / drover resume: suspend a job's tasks that have not
 * started, and make them ready again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"

static int
pause_or_resume(const struct cmd_entry *e, int argc, char **argv)
{
	int rc = EXIT_OK, any = 0;

	for (int k = 1; k < argc; k++) {
		int64_t job, task;
		char *step = NULL;
		json_t *args, *r;
		int one;

		if (client_parse_ref(argv[k], &job, &step, &task) == -1 ||
		    step) {
			free(step);
			return cmd_usage_error(e, "bad job id '%s'", argv[k]);
		}
		any = 1;
		args = json_object();
		json_object_set_new(args, "job", json_integer(job));
		r = client_do(e->name, e->name, args, &one);
		if (r == NULL)
			rc = rc ? rc : one;
		json_decref(r);
	}
	if (!any)
		return cmd_usage_error(e, "a job id is required");
	return rc;
}

static int
cmd_pause_exec(int argc, char **argv)
{
	return pause_or_resume(&cmd_pause_entry, argc, argv);
}

static int
cmd_resume_exec(int argc, char **argv)
{
	return pause_or_resume(&cmd_resume_entry, argc, argv);
}

const struct cmd_entry cmd_pause_entry = {
	"pause",
	"suspend jobs",
	"drover pause JOB...",
	"DESCRIPTION\n"
	"    Suspends the jobs: their tasks that have not started become\n"
	"    SUSPENDED and nothing new is dispatched for them; running tasks\n"
	"    finish.  The job's reason is PAUSED.  'drover resume' undoes it.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 done, 1 no such job, 2 usage error, 3 the daemon could not be\n"
	"    reached.\n",
	.exec = cmd_pause_exec,
};

const struct cmd_entry cmd_resume_entry = {
	"resume",
	"resume paused jobs",
	"drover resume JOB...",
	"DESCRIPTION\n"
	"    Resumes paused jobs: their SUSPENDED tasks become READY again (or\n"
	"    PENDING while their dependencies have not succeeded).\n"
	"\n"
	"EXIT STATUS\n"
	"    0 done, 1 no such job, 2 usage error, 3 the daemon could not be\n"
	"    reached.\n",
	.exec = cmd_resume_exec,
};
