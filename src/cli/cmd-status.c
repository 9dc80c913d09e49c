/*
 * drover status: the daemon's pid, slots in use and queue sizes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"

static int
cmd_status_exec(int argc, char **argv)
{
	json_t *r, *jobs, *v;
	const char *k;
	int json = 0, rc;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			json = 1;
		else
			return cmd_usage_error(&cmd_status_entry,
			    "unknown argument '%s'", argv[i]);
	}
	if ((r = client_do("status", "status", NULL, &rc)) == NULL)
		return rc;
	json_object_del(r, "id");
	json_object_del(r, "ok");
	if (json) {
		client_print_json(stdout, r);
		json_decref(r);
		return EXIT_OK;
	}
	printf("daemon:   pid %lld, drover %s, schema %lld\n",
	    (long long)json_integer_value(json_object_get(r, "pid")),
	    json_string_value(json_object_get(r, "version")),
	    (long long)json_integer_value(json_object_get(r, "schema")));
	printf("home:     %s\n", json_string_value(json_object_get(r, "home")));
	printf("slots:    %lld in use of %lld%s%s\n",
	    (long long)json_integer_value(json_object_get(r, "slotsInUse")),
	    (long long)json_integer_value(json_object_get(r, "slots")),
	    json_is_true(json_object_get(r, "draining")) ? " (draining)" : "",
	    json_is_true(json_object_get(r, "stopping")) ? " (stopping)" : "");
	if (json_object_get(r, "blocked"))
		printf("blocked:  %s\n", json_string_value(json_object_get(r,
		    "blocked")));
	printf("jobs:    ");
	jobs = json_object_get(r, "jobs");
	if (json_object_size(jobs) == 0)
		printf(" none");
	json_object_foreach(jobs, k, v)
		printf(" %s %lld", k, (long long)json_integer_value(v));
	printf("\n");
	json_decref(r);
	return EXIT_OK;
}

const struct cmd_entry cmd_status_entry = {
	"status",
	"show the daemon's state",
	"drover status [--json]",
	"DESCRIPTION\n"
	"    Shows the daemon's pid and version, its home, the slots in use,\n"
	"    whether it drains or stops, why nothing is dispatched (a full\n"
	"    disk...), and the number of jobs in each state.  Starts the daemon\n"
	"    if none runs.\n"
	"\n"
	"OPTIONS\n"
	"    --json\n"
	"        All of it as JSON, with the running sessions.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 shown, 2 usage error, 3 the daemon could not be reached.\n",
	.exec = cmd_status_exec,
};
