/*
 * drover cancel: cancels a job, a step or a task.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"

static int
cmd_cancel_exec(int argc, char **argv)
{
	json_t *args, *r;
	const char *ref = NULL;
	char *step = NULL;
	int64_t job, task;
	int json = 0, rc;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			json = 1;
		else if (argv[k][0] == '-' || ref)
			return cmd_usage_error(&cmd_cancel_entry,
			    "unexpected argument '%s'", argv[k]);
		else
			ref = argv[k];
	}
	if (ref == NULL || client_parse_ref(ref, &job, &step, &task) == -1)
		return cmd_usage_error(&cmd_cancel_entry,
		    "JOB[/STEP[/TASK]] is required");
	args = json_object();
	client_ref_args(args, job, step, task);
	free(step);
	if ((r = client_do("cancel", "cancel", args, &rc)) == NULL)
		return rc;
	if (json) {
		json_object_del(r, "id");
		client_print_json(stdout, r);
	} else
		printf("canceled %lld task(s)%s\n", (long long)
		    json_integer_value(json_object_get(r, "canceled")),
		    json_integer_value(json_object_get(r, "running")) ?
		    " (running ones are being stopped)" : "");
	json_decref(r);
	return EXIT_OK;
}

const struct cmd_entry cmd_cancel_entry = {
	"cancel",
	"cancel a job, step or task",
	"drover cancel [--json] JOB[/STEP[/TASK]]",
	"DESCRIPTION\n"
	"    Cancels every task of the job (or of one step, or one task) that\n"
	"    has not ended.  Tasks not started yet become CANCELED at once;\n"
	"    running ones are canceled with their cancelation method (TERMINATE\n"
	"    kills the process group, NOTIFY_THEN_TERMINATE sends SIGTERM and\n"
	"    waits the notify period first).  The job records the reason\n"
	"    CANCELED_BY_USER.  STEP is a step name or index.\n"
	"\n"
	"OPTIONS\n"
	"    --json\n"
	"        {\"canceled\": N, \"running\": sessions signaled}.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 done, 1 no such job, step or task, 2 usage error, 3 the daemon\n"
	"    could not be reached.\n",
	.exec = cmd_cancel_exec,
};
