/*
 * drover completion: shell completion scripts for bash and zsh.  They
 * complete commands and flags from the command table, and job ids from
 * `drover ls --all --json` (without starting a daemon that is not there).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cmd.h"

/* Flags per command: the options its usage line shows. */
static void
print_flags(const struct cmd_entry *e)
{
	const char *p = e->usage;

	while ((p = strstr(p, "-")) != NULL) {
		size_t n = strspn(p, "-abcdefghijklmnopqrstuvwxyz");

		if (n > 1 && (p == e->usage || p[-1] == '[' || p[-1] == ' ' ||
		    p[-1] == '|'))
			printf(" %.*s", (int)n, p);
		p += n ? n : 1;
	}
}

static int
cmd_completion_exec(int argc, char **argv)
{
	const char *shell = argc > 1 ? argv[1] : "bash";

	if (argc > 2)
		return cmd_usage_error(&cmd_completion_entry,
		    "one shell at a time");
	if (strcmp(shell, "bash") && strcmp(shell, "zsh"))
		return cmd_usage_error(&cmd_completion_entry,
		    "unknown shell '%s' (bash or zsh)", shell);
	if (!strcmp(shell, "zsh"))
		printf("#compdef drover\nautoload -U bashcompinit && "
		    "bashcompinit\n");
	printf("# drover completion for %s: eval \"$(drover completion %s)\"\n",
	    shell, shell);
	printf("_drover_jobs() {\n"
	    "\t[ -S \"${DROVER_HOME:-${XDG_STATE_HOME:-$HOME/.local/state}/"
	    "drover}/drover.sock\" ] || return\n"
	    "\tdrover ls --all --json 2>/dev/null | "
	    "sed -n 's/^    \"id\": \\([0-9]*\\),$/\\1/p'\n"
	    "}\n");
	printf("_drover() {\n"
	    "\tlocal cur=${COMP_WORDS[COMP_CWORD]} cmd=${COMP_WORDS[1]}\n"
	    "\tif [ \"$COMP_CWORD\" -eq 1 ]; then\n"
	    "\t\tCOMPREPLY=($(compgen -W \"");
	for (size_t i = 0; cmd_table[i]; i++)
		printf("%s%s", i ? " " : "", cmd_table[i]->name);
	printf(" --help --version\" -- \"$cur\"))\n\t\treturn\n\tfi\n"
	    "\tcase $cmd in\n");
	for (size_t i = 0; cmd_table[i]; i++) {
		const struct cmd_entry *e = cmd_table[i];
		int jobs = strstr(e->usage, "JOB") != NULL;

		printf("\t%s) local f=\"--help", e->name);
		print_flags(e);
		printf("\"");
		if (!strcmp(e->name, "completion"))
			printf("; f=\"$f bash zsh\"");
		if (!strcmp(e->name, "config"))
			printf("; f=\"$f show get set unset path\"");
		printf("\n\t\tcase $cur in -*) COMPREPLY=($(compgen -W \"$f\" -- "
		    "\"$cur\"));; *) COMPREPLY=($(compgen -W \"$f%s\" -- "
		    "\"$cur\"))%s;; esac;;\n", jobs ? " $(_drover_jobs)" : "",
		    !strcmp(e->name, "submit") || !strcmp(e->name, "check") ||
		    !strcmp(e->name, "run") ? "; COMPREPLY+=($(compgen -f -- "
		    "\"$cur\"))" : "");
	}
	printf("\tesac\n}\ncomplete -F _drover drover\n");
	return EXIT_OK;
}

const struct cmd_entry cmd_completion_entry = {
	"completion",
	"print a shell completion script",
	"drover completion bash|zsh",
	"DESCRIPTION\n"
	"    Prints a completion script for bash or zsh that completes\n"
	"    commands, their flags and the ids of jobs in the queue (asked from\n"
	"    a running daemon; none is started for it).  Use:\n"
	"\n"
	"        eval \"$(drover completion bash)\"    # in ~/.bashrc\n"
	"        eval \"$(drover completion zsh)\"     # in ~/.zshrc\n"
	"\n"
	"EXIT STATUS\n"
	"    0 printed, 2 usage error (unknown shell).\n",
	.exec = cmd_completion_exec,
};
