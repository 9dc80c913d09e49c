/* drover cache ls | gc: inspect and prune the dependency cache. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/deploy-cmds.h"
#include "common/xmalloc.h"
#include "deploy/deploy.h"
#include "deploy/lock.h"

static int
cmd_cache_exec(int argc, char **argv)
{
	enum { OPT_CACHE = 256, OPT_JSON, OPT_KEEP, OPT_DRY };
	static const struct option longopts[] = {
		{ "cache", required_argument, NULL, OPT_CACHE },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "keep-days", required_argument, NULL, OPT_KEEP },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ NULL, 0, NULL, 0 }
	};
	const struct cmd_entry *ce = &cmd_cache_entry;
	char *cache = NULL, *end, *host;
	double keep = -1;
	int c, json = 0, dry = 0, rc;
	const char *sub;

	if (argc < 2)
		return cmd_usage_error(ce, "missing subcommand (ls or gc)");
	sub = argv[1];
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CACHE:
			free(cache);
			cache = xstrdup(optarg);
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_DRY:
			dry = 1;
			break;
		case OPT_KEEP:
			errno = 0;
			keep = strtod(optarg, &end);
			if (errno || end == optarg || *end != '\0' || keep < 0) {
				free(cache);
				return cmd_usage_error(ce, "bad --keep-days '%s'",
				    optarg);
			}
			break;
		default:
			free(cache);
			return cmd_usage_error(ce, "unknown or incomplete option");
		}
	}
	if (optind < argc - 1) {
		free(cache);
		return cmd_usage_error(ce, "unexpected argument '%s'",
		    argv[1 + optind]);
	}
	if (cache == NULL)
		cache = deploy_cache_default();
	if (strcmp(sub, "ls") == 0) {
		rc = deploy_cache_ls(cache, json, stdout) == 0 ? EXIT_OK :
		    EXIT_SYSTEM;
	} else if (strcmp(sub, "gc") == 0) {
		if (keep < 0) {
			free(cache);
			return cmd_usage_error(ce, "gc needs --keep-days N");
		}
		host = deploy_host_id();
		rc = deploy_cache_gc(cache, keep, dry, host, stdout) == 0 ?
		    EXIT_OK : EXIT_FAIL;
		free(host);
	} else {
		free(cache);
		return cmd_usage_error(ce, "unknown subcommand '%s'", sub);
	}
	free(cache);
	return rc;
}

const struct cmd_entry cmd_cache_entry = {
	.name = "cache",
	.summary = CMD_CACHE_SUMMARY,
	.usage = CMD_CACHE_USAGE,
	.help =
	"DESCRIPTION\n"
	"    ls lists the entries of the dependency cache that 'drover deploy'\n"
	"    fills: repository/platform/name/version, unpacked size, when it\n"
	"    was last deployed, its source, and the holder of its lock if one\n"
	"    is held.\n"
	"\n"
	"    gc removes entries not deployed for N days (N may be fractional;\n"
	"    0 removes every entry not locked right now), entries whose lock is\n"
	"    held are kept.  It also removes leftovers of fetches whose process\n"
	"    died (downloading/) and of interrupted removals (trash/).\n"
	"    Destinations linked to a removed entry break; deploy again.\n"
	"\n"
	"OPTIONS\n"
	"    --cache DIR      The cache (default $DROVER_DEPLOY_CACHE, else\n"
	"                     $DROVER_HOME/deploy-cache).\n"
	"    --json           ls: print a JSON array.\n"
	"    --keep-days N    gc: keep entries used within N days.\n"
	"    --dry-run        gc: only say what would be removed.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 success; 1 gc could not remove an entry; 2 usage error; 3 system\n"
	"    error.\n",
	.exec = cmd_cache_exec,
};
