/* drover help [COMMAND]: a command's manual, or the command list. */
#include <stdio.h>

#include "cli/cmd.h"

static int
cmd_help_exec(int argc, char **argv)
{
	const struct cmd_entry *c;

	if (argc < 2) {
		printf("usage: drover [--version] [--help] [-v] COMMAND [ARGS]\n\n"
		    "Commands:\n");
		for (size_t i = 0; cmd_table[i]; i++)
			printf("    %-12s %s\n", cmd_table[i]->name,
			    cmd_table[i]->summary);
		return EXIT_OK;
	}
	c = cmd_find(argv[1]);
	if (c == NULL) {
		fprintf(stderr, "drover help: no such command '%s'\n", argv[1]);
		return EXIT_USAGE;
	}
	cmd_print_help(c, stdout);
	return EXIT_OK;
}

const struct cmd_entry cmd_help_entry = {
	.name = "help",
	.summary = "show the manual of a command",
	.usage = "drover help [COMMAND]",
	.help =
	"DESCRIPTION\n"
	"    Without COMMAND, lists the commands.  With it, prints that\n"
	"    command's manual (the same as 'drover COMMAND --help').\n\n"
	"EXIT STATUS\n"
	"    0 on success, 2 if COMMAND is unknown.\n",
	.exec = cmd_help_exec,
};
