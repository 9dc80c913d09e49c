/*
 * drover drain / undrain: maintenance mode (finish running work, start
 * nothing new) on and off.
 */
#include <stdio.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"

static int
drain_exec(const struct cmd_entry *e, int argc, char **argv)
{
	json_t *r;
	int rc, json = 0;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			json = 1;
		else
			return cmd_usage_error(e, "unknown argument '%s'",
			    argv[k]);
	}
	if ((r = client_do(e->name, e->name, NULL, &rc)) == NULL)
		return rc;
	if (json) {
		json_object_del(r, "id");
		client_print_json(stdout, r);
	} else
		printf("%s; %lld session(s) running\n",
		    json_is_true(json_object_get(r, "draining")) ? "draining" :
		    "dispatching", (long long)json_integer_value(
		    json_object_get(r, "running")));
	json_decref(r);
	return EXIT_OK;
}

static int
cmd_drain_exec(int argc, char **argv)
{
	return drain_exec(&cmd_drain_entry, argc, argv);
}

static int
cmd_undrain_exec(int argc, char **argv)
{
	return drain_exec(&cmd_undrain_entry, argc, argv);
}

const struct cmd_entry cmd_drain_entry = {
	"drain",
	"finish running work, start nothing new",
	"drover drain [--json]",
	"DESCRIPTION\n"
	"    Maintenance mode: running sessions end after their current task\n"
	"    and nothing new is dispatched; jobs can still be submitted.  It\n"
	"    lasts across daemon restarts until 'drover undrain'.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 done, 2 usage error, 3 the daemon could not be reached.\n",
	.exec = cmd_drain_exec,
};

const struct cmd_entry cmd_undrain_entry = {
	"undrain",
	"dispatch again after drain",
	"drover undrain [--json]",
	"DESCRIPTION\n"
	"    Ends maintenance mode: ready tasks are dispatched again.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 done, 2 usage error, 3 the daemon could not be reached.\n",
	.exec = cmd_undrain_exec,
};
