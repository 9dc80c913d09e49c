/*
 * drover daemon: runs the queue daemon (normally started on demand by the
 * other commands; --foreground for a service manager).
 */
#include <stdlib.h>
#include <string.h>

#include "cas/attach-queue.h"
#include "cli/cmd.h"
#include "daemon/daemon.h"

static int
int_arg(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end || v < 0 || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}

static int
cmd_daemon_exec(int argc, char **argv)
{
	struct daemon_opts o = { 0, 0, -1, NULL };

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--foreground") || !strcmp(a, "-f"))
			o.foreground = 1;
		else if (!strcmp(a, "--slots") && i + 1 < argc) {
			if (int_arg(argv[++i], &o.slots) == -1 || o.slots == 0)
				return cmd_usage_error(&cmd_daemon_entry,
				    "--slots needs a positive number");
		} else if (!strcmp(a, "--max-tasks-per-session") &&
		    i + 1 < argc) {
			if (int_arg(argv[++i], &o.max_tasks) == -1)
				return cmd_usage_error(&cmd_daemon_entry,
				    "--max-tasks-per-session needs a number");
		} else if (!strcmp(a, "--worker") && i + 1 < argc) {
			/* internal: one session worker */
			cas_attach_queue_install();
			return worker_main(strtoll(argv[i + 1], NULL, 10));
		} else
			return cmd_usage_error(&cmd_daemon_entry,
			    "unknown argument '%s'", a);
	}
	return daemon_main(&o);
}

const struct cmd_entry cmd_daemon_entry = {
	"daemon",
	"run the queue daemon",
	"drover daemon [--foreground] [--slots N] [--max-tasks-per-session N]",
	"DESCRIPTION\n"
	"    Runs the per-user queue daemon: it keeps the store in $DROVER_HOME\n"
	"    (default $XDG_STATE_HOME/drover, else ~/.local/state/drover),\n"
	"    listens on $DROVER_HOME/drover.sock for the other commands, and\n"
	"    runs queued tasks in sessions.  The other commands start it when\n"
	"    nobody answers, so running it by hand is rarely needed.\n"
	"\n"
	"    Without --foreground it detaches from the terminal (double fork,\n"
	"    new session) and logs to $DROVER_HOME/daemon.log.  Only one daemon\n"
	"    runs per $DROVER_HOME (a lock on drover.pid); a stale pid or socket\n"
	"    file left by a dead daemon is ignored.  SIGTERM or SIGINT stop it\n"
	"    gracefully (running tasks finish; a second signal cancels them),\n"
	"    SIGHUP reloads the configuration file.  Sessions that are still\n"
	"    running when a daemon dies are re-adopted by the next one.\n"
	"\n"
	"OPTIONS\n"
	"    --foreground, -f\n"
	"        Stay attached and log to stderr (for systemd and the like;\n"
	"        contrib/drover.service is a user unit).\n"
	"    --slots N\n"
	"        Sessions that run at once (default: daemon.slots from the\n"
	"        configuration, else the number of CPUs).\n"
	"    --max-tasks-per-session N\n"
	"        Tasks a session runs before it ends (0: no limit; default\n"
	"        daemon.max_tasks_per_session).\n"
	"\n"
	"EXIT STATUS\n"
	"    0 stopped normally (or another daemon already runs), 1 start-up\n"
	"    failed (the reason is logged), 2 usage error.\n",
	.exec = cmd_daemon_exec,
};
