/*
 * drover retry: requeues a job's failed (and canceled) tasks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"

static int
cmd_retry_exec(int argc, char **argv)
{
	int failed = 0, rc = EXIT_OK, one, any = 0, json = 0;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--failed"))
			failed = 1;
		else if (!strcmp(argv[k], "--json"))
			json = 1;
	}
	for (int k = 1; k < argc; k++) {
		int64_t job, task;
		char *step = NULL;
		json_t *args, *r;

		if (!strcmp(argv[k], "--failed") || !strcmp(argv[k], "--json"))
			continue;
		if (client_parse_ref(argv[k], &job, &step, &task) == -1 ||
		    step) {
			free(step);
			return cmd_usage_error(&cmd_retry_entry,
			    "bad job id '%s'", argv[k]);
		}
		any = 1;
		args = json_object();
		json_object_set_new(args, "job", json_integer(job));
		if (failed)
			json_object_set_new(args, "failed", json_true());
		r = client_do("retry", "retry", args, &one);
		if (r == NULL)
			rc = rc ? rc : one;
		else if (json) {
			json_object_del(r, "id");
			client_print_json(stdout, r);
		} else
			printf("job %lld: %lld task(s) requeued\n",
			    (long long)job, (long long)json_integer_value(
			    json_object_get(r, "tasks")));
		json_decref(r);
	}
	if (!any)
		return cmd_usage_error(&cmd_retry_entry, "a job id is required");
	return rc;
}

const struct cmd_entry cmd_retry_entry = {
	"retry",
	"requeue failed tasks",
	"drover retry [--failed] [--json] JOB...",
	"DESCRIPTION\n"
	"    Requeues the jobs' tasks that did not succeed: FAILED ones (those\n"
	"    that failed themselves and those failed by a dependency), and\n"
	"    unless --failed also CANCELED and NOT_COMPATIBLE ones.  Each gets a\n"
	"    fresh retry budget; the job's recorded failure is cleared.\n"
	"\n"
	"OPTIONS\n"
	"    --failed\n"
	"        Only the FAILED tasks.\n"
	"    --json\n"
	"        {\"jobId\": N, \"tasks\": requeued} per job.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 done, 1 no such job, 2 usage error, 3 the daemon could not be\n"
	"    reached.\n",
	.exec = cmd_retry_exec,
};
