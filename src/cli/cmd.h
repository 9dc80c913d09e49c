/*
 * The command table (tmux's cmd_entry): each command lives in its own
 * cmd-<name>.c and exports one struct cmd_entry; cmd.c lists them.  Usage,
 * help text and handler sit together so `drover help` comes from the table.
 *
 * Adding a command: write cmd-<name>.c with `const struct cmd_entry
 * cmd_<name>_entry`, declare it below, add it to cmd_table[] in commands.c.
 *
 * Helper programs (git's git-remote-https idea): a command whose code needs
 * heavy libraries lives in its own program so that every other command
 * starts fast.  drover's table holds a forwarding entry with .helper set
 * and .help NULL; running it execs the helper from drover's directory (or
 * ../libexec/drover) with the same arguments.  `deploy` and `cache` (libcurl
 * and libarchive, 8 ms of start-up) run in drover-deploy (deploy-main.c).
 *
 * Exit codes (all commands): 0 success, 1 the thing checked/run failed
 * (invalid template, failed job), 2 usage error, 3 internal/system error.
 */
#ifndef DROVER_CMD_H
#define DROVER_CMD_H

#include <stdio.h>

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_SYSTEM	3

struct cmd_entry {
	const char	*name;
	const char	*summary;	/* one line for `drover --help` */
	const char	*usage;		/* "drover check [--json] FILE..." */
	const char	*help;		/* man-style body: options, exit codes */
	int		(*exec)(int argc, char **argv);	/* argv[0] = name */
	const char	*helper;	/* run by this helper program instead */
};

extern const struct cmd_entry *const cmd_table[];

const struct cmd_entry *cmd_find(const char *name);
/* Prints the man-style help of a command to fp. */
void	cmd_print_help(const struct cmd_entry *, FILE *fp);
/* Prints "usage: ..." and a hint to stderr; returns EXIT_USAGE. */
int	cmd_usage_error(const struct cmd_entry *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/*
 * Execs c->helper with argv (argv[0] = the command name).  Returns only on
 * failure, after saying why: EXIT_SYSTEM.
 */
int	cmd_exec_helper(const struct cmd_entry *, int argc, char **argv);
/* True if argv has -h or --help before any "--". */
int	cmd_wants_help(int argc, char **argv);

extern const struct cmd_entry cmd_help_entry;
extern const struct cmd_entry cmd_check_entry;
extern const struct cmd_entry cmd_summary_entry;
extern const struct cmd_entry cmd_attach_entry;
extern const struct cmd_entry cmd_deploy_entry;	/* drover-deploy */
extern const struct cmd_entry cmd_deploy_fwd_entry;
extern const struct cmd_entry cmd_cache_entry;	/* drover-deploy */
extern const struct cmd_entry cmd_cache_fwd_entry;
extern const struct cmd_entry cmd_run_entry;
/* the queue (cmd-submit.c ... cmd-completion.c) */
extern const struct cmd_entry cmd_submit_entry;
extern const struct cmd_entry cmd_ls_entry;
extern const struct cmd_entry cmd_show_entry;
extern const struct cmd_entry cmd_logs_entry;
extern const struct cmd_entry cmd_wait_entry;
extern const struct cmd_entry cmd_cancel_entry;
extern const struct cmd_entry cmd_pause_entry;
extern const struct cmd_entry cmd_resume_entry;
extern const struct cmd_entry cmd_retry_entry;
extern const struct cmd_entry cmd_rm_entry;
extern const struct cmd_entry cmd_status_entry;
extern const struct cmd_entry cmd_drain_entry;
extern const struct cmd_entry cmd_undrain_entry;
extern const struct cmd_entry cmd_stop_entry;
extern const struct cmd_entry cmd_daemon_entry;
extern const struct cmd_entry cmd_migrate_entry;
extern const struct cmd_entry cmd_config_entry;
extern const struct cmd_entry cmd_gc_entry;
extern const struct cmd_entry cmd_completion_entry;
extern const struct cmd_entry cmd_download_entry;

#endif
