/*
 * drover's entries for the commands drover-deploy carries out: running one
 * execs the helper (see cmd.h), so libcurl and libarchive are loaded only
 * by the commands that use them.
 */
#include <stddef.h>

#include "cli/cmd.h"
#include "cli/deploy-cmds.h"

const struct cmd_entry cmd_deploy_fwd_entry = {
	.name = "deploy",
	.summary = CMD_DEPLOY_SUMMARY,
	.usage = CMD_DEPLOY_USAGE,
	.helper = DEPLOY_HELPER,
};

const struct cmd_entry cmd_cache_fwd_entry = {
	.name = "cache",
	.summary = CMD_CACHE_SUMMARY,
	.usage = CMD_CACHE_USAGE,
	.helper = DEPLOY_HELPER,
};
