/*
 * drover stop: stops the daemon (gracefully, or canceling running tasks).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"

static int
cmd_stop_exec(int argc, char **argv)
{
	struct client c = CLIENT_INIT;
	json_t *args = json_object(), *r, *msg;
	const char *code;
	char *err = NULL;
	int now = 0, nowait = 0, rc;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--now"))
			now = 1;
		else if (!strcmp(argv[k], "--no-wait"))
			nowait = 1;
		else {
			json_decref(args);
			return cmd_usage_error(&cmd_stop_entry,
			    "unknown argument '%s'", argv[k]);
		}
	}
	rc = client_open(&c, 0, &err);
	if (rc == 1) {
		json_decref(args);
		client_close(&c);
		return EXIT_OK;		/* nothing runs: nothing to stop */
	}
	if (rc == -1) {
		fprintf(stderr, "drover stop: %s\n", err);
		free(err);
		json_decref(args);
		client_close(&c);
		return EXIT_SYSTEM;
	}
	if (now)
		json_object_set_new(args, "now", json_true());
	r = client_call(&c, "stop", args, &err, &code);
	if (r == NULL) {
		fprintf(stderr, "drover stop: %s\n", err);
		free(err);
		client_close(&c);
		return client_exit_code(code);
	}
	json_decref(r);
	/* the daemon closes every connection when it exits */
	while (!nowait && client_read(&c, &msg, &err) > 0)
		json_decref(msg);
	free(err);
	client_close(&c);
	return EXIT_OK;
}

const struct cmd_entry cmd_stop_entry = {
	"stop",
	"stop the daemon",
	"drover stop [--now] [--no-wait]",
	"DESCRIPTION\n"
	"    Stops the queue daemon: it starts nothing new, lets running tasks\n"
	"    finish and exits.  Queued jobs stay in the store and go on when\n"
	"    the daemon starts again.  Waits until the daemon is gone.  Does\n"
	"    nothing when no daemon runs.\n"
	"\n"
	"OPTIONS\n"
	"    --now\n"
	"        Cancel running tasks with their cancelation methods (reason\n"
	"        KILLED_BY_ADMIN); they are requeued and run again later.\n"
	"    --no-wait\n"
	"        Return once the daemon has the order.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 stopped (or nothing to stop), 2 usage error, 3 the daemon could\n"
	"    not be reached.\n",
	.exec = cmd_stop_exec,
};
