/*
 * drover ls: the queue's jobs as a table (or JSON).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "common/buf.h"
#include "daemon/home.h"
#include "store/queue.h"
#include "store/state.h"
#include "store/store.h"

/*
 * `ls --json` reads the store directly (a read-only SQLite connection
 * beside the daemon's; WAL lets readers in at any time) and writes the
 * JSON as it goes: no daemon round trip, no tree to build and re-print.
 * Returns -1 (nothing printed) when the store cannot be read that way;
 * the caller then asks the daemon.
 */
static int
ls_direct(int state, int all)
{
	char *err = NULL, *home = home_dir(&err), *db;
	struct store *st;
	struct buf out = BUF_INIT;
	int rc;

	if (home == NULL) {
		free(err);
		return -1;
	}
	db = home_path(home, HOME_DB);
	free(home);
	if (store_open(&st, db, STORE_READONLY, &err) == -1) {
		free(err);
		free(db);
		return -1;
	}
	free(db);
	rc = queue_list_write(st, state, all, &out);
	store_close(st);
	if (rc == 0)
		fwrite(out.s, 1, out.len, stdout);
	buf_release(&out);
	return rc;
}

static int
cmd_ls_exec(int argc, char **argv)
{
	json_t *args = json_object(), *r, *jobs, *j;
	int json = 0, rc, state = -1, all = 0;
	size_t i;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			json = 1;
		else if (!strcmp(argv[k], "--all") || !strcmp(argv[k], "-a")) {
			json_object_set_new(args, "all", json_true());
			all = 1;
		}
		else if ((!strcmp(argv[k], "--state") || !strcmp(argv[k], "-s"))
		    && k + 1 < argc) {
			if (task_state_parse(argv[++k]) < 0) {
				json_decref(args);
				return cmd_usage_error(&cmd_ls_entry,
				    "unknown state '%s'", argv[k]);
			}
			state = task_state_parse(argv[k]);
			json_object_set_new(args, "state", json_string(
			    task_state_name(state)));
		} else {
			json_decref(args);
			return cmd_usage_error(&cmd_ls_entry,
			    "unknown argument '%s'", argv[k]);
		}
	}
	if (json && ls_direct(state, all) == 0) {
		json_decref(args);
		return EXIT_OK;
	}
	if ((r = client_do("ls", "ls", args, &rc)) == NULL)
		return rc;
	jobs = json_object_get(r, "jobs");
	if (json) {
		client_print_json(stdout, jobs);
		json_decref(r);
		return EXIT_OK;
	}
	if (json_array_size(jobs))
		printf("%-6s %-14s %-8s %-11s %-19s %s\n", "ID", "STATE", "PRIO",
		    "TASKS", "SUBMITTED", "NAME");
	json_array_foreach(jobs, i, j) {
		char when[32], tasks[32];

		client_fmt_time(json_object_get(j, "submittedAt"), when,
		    sizeof(when));
		snprintf(tasks, sizeof(tasks), "%lld/%lld",
		    (long long)json_integer_value(json_object_get(j,
		    "succeeded")), (long long)json_integer_value(
		    json_object_get(j, "tasks")));
		printf("%-6lld %-14s %-8lld %-11s %-19s %s\n",
		    (long long)json_integer_value(json_object_get(j, "id")),
		    json_string_value(json_object_get(j, "state")),
		    (long long)json_integer_value(json_object_get(j,
		    "priority")), tasks, when,
		    json_string_value(json_object_get(j, "name")));
	}
	json_decref(r);
	return EXIT_OK;
}

const struct cmd_entry cmd_ls_entry = {
	"ls",
	"list queued jobs",
	"drover ls [--all] [--state STATE] [--json]",
	"DESCRIPTION\n"
	"    Lists the jobs in the queue, oldest first: id, state, priority,\n"
	"    tasks succeeded out of all, submission time and name.  Jobs that\n"
	"    ended are shown with --all or --state.\n"
	"\n"
	"OPTIONS\n"
	"    -a, --all\n"
	"        Include jobs that ended.\n"
	"    -s, --state STATE\n"
	"        Only jobs in this state: PENDING, READY, RUNNING, SUSPENDED,\n"
	"        SUCCEEDED, FAILED, CANCELED, NOT_COMPATIBLE.\n"
	"    --json\n"
	"        A JSON array of jobs (id, name, state, reason, message,\n"
	"        priority, submitter, submittedAt/startedAt/endedAt in ms since\n"
	"        the epoch, tasks, succeeded, failed, running, policies).\n"
	"\n"
	"EXIT STATUS\n"
	"    0 listed, 2 usage error, 3 the daemon could not be reached.\n",
	.exec = cmd_ls_exec,
};
