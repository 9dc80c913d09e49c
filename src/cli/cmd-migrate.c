/*
 * drover migrate: applies pending store migrations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <fcntl.h>
#include <unistd.h>

#include "cli/cmd.h"
#include "common/xmalloc.h"
#include "daemon/home.h"
#include "store/store.h"

static int
cmd_migrate_exec(int argc, char **argv)
{
	struct store *st;
	char *err = NULL, *home, *db, *pidf;
	int to = 0, status = 0, json = 0, from, n, fd;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--status"))
			status = 1;
		else if (!strcmp(argv[k], "--json"))
			json = 1;
		else if (!strcmp(argv[k], "--to") && k + 1 < argc) {
			to = atoi(argv[++k]);
			if (to <= 0)
				return cmd_usage_error(&cmd_migrate_entry,
				    "--to needs a schema version");
		} else
			return cmd_usage_error(&cmd_migrate_entry,
			    "unknown argument '%s'", argv[k]);
	}
	if ((home = home_dir(&err)) == NULL || home_ensure(home, &err) == -1) {
		fprintf(stderr, "drover migrate: %s\n", err);
		free(err);
		free(home);
		return EXIT_SYSTEM;
	}
	db = home_path(home, HOME_DB);
	pidf = home_path(home, HOME_PIDFILE);
	/* a running daemon holds the lock: do not change the schema under it */
	fd = open(pidf, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (!status && fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == -1) {
		fprintf(stderr, "drover migrate: a daemon is running; stop it "
		    "first ('drover stop')\n");
		close(fd);
		free(home);
		free(db);
		free(pidf);
		return EXIT_FAIL;
	}
	if (store_open(&st, db, STORE_CREATE | STORE_ANY_VERSION, &err) == -1) {
		fprintf(stderr, "drover migrate: %s\n", err);
		free(err);
		if (fd >= 0)
			close(fd);
		free(home);
		free(db);
		free(pidf);
		return EXIT_FAIL;
	}
	from = store_version(st);
	n = status ? 0 : store_migrate(st, to, &err);
	if (n < 0) {
		fprintf(stderr, "drover migrate: %s\n", err);
		free(err);
	} else if (json)
		printf("{\"from\": %d, \"to\": %d, \"applied\": %d, "
		    "\"latest\": %d}\n", from, store_version(st), n,
		    store_schema_latest());
	else if (status)
		printf("schema %d of %d%s\n", from, store_schema_latest(),
		    from < store_schema_latest() ? ": run 'drover migrate'" : "");
	else if (n == 0)
		printf("schema %d is current\n", from);
	else
		for (int v = from + 1; v <= store_version(st); v++)
			printf("applied %d: %s\n", v, store_migration_name(v));
	store_close(st);
	if (fd >= 0)
		close(fd);
	free(home);
	free(db);
	free(pidf);
	return n < 0 ? EXIT_FAIL : EXIT_OK;
}

const struct cmd_entry cmd_migrate_entry = {
	"migrate",
	"apply pending store migrations",
	"drover migrate [--status] [--to N] [--json]",
	"DESCRIPTION\n"
	"    Brings the store ($DROVER_HOME/drover.db) to the schema this drover\n"
	"    uses, one numbered migration at a time, each in its own\n"
	"    transaction.  The daemon does the same when it starts unless\n"
	"    daemon.auto_migrate is false.  A store newer than this drover is\n"
	"    refused and left alone.  The daemon must not be running.\n"
	"\n"
	"OPTIONS\n"
	"    --status\n"
	"        Only print the store's schema version and the latest.\n"
	"    --to N\n"
	"        Stop at schema version N (going down is refused).\n"
	"    --json\n"
	"        {\"from\", \"to\", \"applied\", \"latest\"}.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 done, 1 the store cannot be migrated (newer, a daemon runs, a\n"
	"    migration failed), 2 usage error, 3 no state directory.\n",
	.exec = cmd_migrate_exec,
};
