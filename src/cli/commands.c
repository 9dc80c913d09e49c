/*
 * drover's command table: the order here is the order of `drover --help`.
 * Adding a command: see cmd.h.
 */
#include <string.h>

#include "cli/cmd.h"

const struct cmd_entry *const cmd_table[] = {
	&cmd_help_entry,
	&cmd_check_entry,
	&cmd_summary_entry,
	&cmd_attach_entry,
	&cmd_deploy_fwd_entry,
	&cmd_cache_fwd_entry,
	&cmd_run_entry,
	&cmd_submit_entry,
	&cmd_ls_entry,
	&cmd_show_entry,
	&cmd_logs_entry,
	&cmd_download_entry,
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
