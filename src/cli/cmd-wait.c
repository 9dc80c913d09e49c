/*
 * drover wait: waits for jobs to end with live progress bars.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "common/xmalloc.h"

static int
cmd_wait_exec(int argc, char **argv)
{
	struct client c = CLIENT_INIT;
	int64_t *ids = xcalloc((size_t)argc, sizeof(int64_t)), task;
	size_t n = 0;
	int json = 0, quiet = 0, rc;
	char *err = NULL, *step;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			json = 1;
		else if (!strcmp(argv[k], "-q") || !strcmp(argv[k], "--quiet"))
			quiet = 1;
		else if (client_parse_ref(argv[k], &ids[n], &step, &task) == 0 &&
		    step == NULL)
			n++;
		else {
			free(step);
			free(ids);
			return cmd_usage_error(&cmd_wait_entry,
			    "bad job id '%s'", argv[k]);
		}
	}
	if (n == 0) {
		free(ids);
		return cmd_usage_error(&cmd_wait_entry, "a job id is required");
	}
	if (client_open(&c, 1, &err) != 0) {
		fprintf(stderr, "drover wait: %s\n", err);
		free(err);
		free(ids);
		client_close(&c);
		return EXIT_SYSTEM;
	}
	rc = client_wait(&c, ids, n, json, quiet);
	client_close(&c);
	free(ids);
	return rc;
}

const struct cmd_entry cmd_wait_entry = {
	"wait",
	"wait for jobs to end",
	"drover wait [--json] [--quiet] JOB...",
	"DESCRIPTION\n"
	"    Waits until every job given has ended.  On a terminal it draws a\n"
	"    live progress bar per step with counts and an estimated time left;\n"
	"    otherwise it prints the final state once.  Ctrl-C stops waiting\n"
	"    and leaves the jobs running.\n"
	"\n"
	"OPTIONS\n"
	"    --json\n"
	"        Print every progress message from the daemon as one JSON line\n"
	"        (the last one has \"ok\": true and the final jobs).\n"
	"    -q, --quiet\n"
	"        Print nothing; only the exit status tells.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 every job succeeded, 1 a job did not succeed or does not exist,\n"
	"    2 usage error, 3 the daemon could not be reached or went away.\n",
	.exec = cmd_wait_exec,
};
