/*
 * drover-deploy: the helper program that carries out `drover deploy` and
 * `drover cache` (see cmd.h).  drover execs it with the command's own
 * arguments: argv[1] is the command name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "common/log.h"

static const struct cmd_entry *const deploy_cmds[] = {
	&cmd_deploy_entry,
	&cmd_cache_entry,
};

int
main(int argc, char **argv)
{
	const char *lvl = getenv("DROVER_LOG");
	int level = lvl ? log_level_parse(lvl) : -1;

	log_init("drover", level >= 0 ? (enum log_level)level : LOG_LVL_WARN);
	for (size_t i = 0; argc > 1 &&
	    i < sizeof(deploy_cmds) / sizeof(deploy_cmds[0]); i++) {
		const struct cmd_entry *c = deploy_cmds[i];

		if (strcmp(argv[1], c->name) != 0)
			continue;
		if (cmd_wants_help(argc - 1, argv + 1)) {
			cmd_print_help(c, stdout);
			return EXIT_OK;
		}
		return c->exec(argc - 1, argv + 1);
	}
	fprintf(stderr, "drover-deploy: run it as 'drover deploy' or "
	    "'drover cache'\n");
	return EXIT_USAGE;
}
