/*
 * drover: an OpenJD job queue and runner.  main() finds the command in the
 * table and hands it argv; everything else lives in cmd-<name>.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "common/log.h"

static void
main_usage(FILE *fp)
{
	fprintf(fp, "usage: drover [--version] [--help] [-v] COMMAND [ARGS]\n\n"
	    "drover runs Open Job Description (2023-09) jobs.\n\n"
	    "Commands:\n");
	for (size_t i = 0; cmd_table[i]; i++)
		fprintf(fp, "    %-12s %s\n", cmd_table[i]->name,
		    cmd_table[i]->summary);
	fprintf(fp, "\nRun 'drover help COMMAND' or 'drover COMMAND --help' "
	    "for a command's manual.\n");
}

int
main(int argc, char **argv)
{
	const struct cmd_entry *c;
	const char *lvl = getenv("DROVER_LOG");
	int level = lvl ? log_level_parse(lvl) : -1;

	log_init("drover", level >= 0 ? (enum log_level)level : LOG_LVL_WARN);
	while (argc > 1 && argv[1][0] == '-') {
		if (!strcmp(argv[1], "--version")) {
			printf("drover %s\n", DROVER_VERSION);
			return EXIT_OK;
		} else if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
			main_usage(stdout);
			return EXIT_OK;
		} else if (!strcmp(argv[1], "-v")) {
			log_set_level(log_get_level() < LOG_LVL_DEBUG ?
			    log_get_level() + 1 : LOG_LVL_DEBUG);
		} else {
			fprintf(stderr, "drover: unknown option '%s'\n", argv[1]);
			main_usage(stderr);
			return EXIT_USAGE;
		}
		argc--;
		argv++;
	}
	if (argc < 2) {
		main_usage(stderr);
		return EXIT_USAGE;
	}
	c = cmd_find(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "drover: '%s' is not a drover command; "
		    "see 'drover --help'\n", argv[1]);
		return EXIT_USAGE;
	}
	if (c->helper != NULL)
		return cmd_exec_helper(c, argc - 1, argv + 1);
	if (cmd_wants_help(argc - 1, argv + 1)) {
		cmd_print_help(c, stdout);
		return EXIT_OK;
	}
	return c->exec(argc - 1, argv + 1);
}
