/* The command table and the help/usage helpers every command shares. */
#include <stdarg.h>
#include <string.h>

#include "cli/cmd.h"

const struct cmd_entry *const cmd_table[] = {
	&cmd_help_entry,
	&cmd_check_entry,
	&cmd_summary_entry,
	&cmd_attach_entry,
	&cmd_deploy_entry,
	&cmd_cache_entry,
	&cmd_run_entry,
	&cmd_submit_entry,
	&cmd_ls_entry,
	&cmd_show_entry,
	&cmd_logs_entry,
	&cmd_wait_entry,
	&cmd_cancel_entry,
	&cmd_pause_entry,
	&cmd_resume_entry,
	&cmd_retry_entry,
	&cmd_rm_entry,
	&cmd_status_entry,
	&cmd_drain_entry,
	&cmd_undrain_entry,
	&cmd_stop_entry,
	&cmd_daemon_entry,
	&cmd_migrate_entry,
	&cmd_config_entry,
	&cmd_gc_entry,
	&cmd_completion_entry,
	NULL
};

const struct cmd_entry *
cmd_find(const char *name)
{
	for (size_t i = 0; cmd_table[i]; i++)
		if (strcmp(cmd_table[i]->name, name) == 0)
			return cmd_table[i];
	return NULL;
}

void
cmd_print_help(const struct cmd_entry *c, FILE *fp)
{
	fprintf(fp, "NAME\n    drover %s - %s\n\nSYNOPSIS\n    %s\n\n%s",
	    c->name, c->summary, c->usage, c->help);
}

int
cmd_usage_error(const struct cmd_entry *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "drover %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nusage: %s\nSee 'drover help %s'.\n", c->usage,
	    c->name);
	return EXIT_USAGE;
}

int
cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return 0;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return 1;
	}
	return 0;
}
