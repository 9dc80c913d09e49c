/*
 * drover deploy FILE: fetch the dependencies a deployment file lists into
 * the shared cache (once per host) and link or copy them into place.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "cli/cmd.h"
#include "cli/deploy-cmds.h"
#include "common/error.h"
#include "common/xmalloc.h"
#include "deploy/deploy.h"
#include "deploy/lock.h"

/* "100", "64K", "10M", "2G", "1T" (powers of 1024); 0 on error. */
static uint64_t
parse_size(const char *s)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0 || end == s || s[0] == '-')
		return 0;
	switch (*end) {
	case 'K': case 'k': shift = 10; end++; break;
	case 'M': case 'm': shift = 20; end++; break;
	case 'G': case 'g': shift = 30; end++; break;
	case 'T': case 't': shift = 40; end++; break;
	}
	if (*end == 'i')
		end++;
	if (*end == 'B')
		end++;
	if (*end != '\0' || (shift && v > (~0ULL >> shift)))
		return 0;
	return (uint64_t)v << shift;
}

static double
parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || v < 0 || v != v)
		return -1;
	return v;
}

static int
cmd_deploy_exec(int argc, char **argv)
{
	enum { OPT_CACHE = 256, OPT_DRY, OPT_TIMEOUT, OPT_MAXSIZE };
	static const struct option longopts[] = {
		{ "cache", required_argument, NULL, OPT_CACHE },
		{ "jobs", required_argument, NULL, 'j' },
		{ "dry-run", no_argument, NULL, OPT_DRY },
		{ "lock-timeout", required_argument, NULL, OPT_TIMEOUT },
		{ "max-size", required_argument, NULL, OPT_MAXSIZE },
		{ NULL, 0, NULL, 0 }
	};
	struct deploy_file f = DEPLOY_FILE_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct deploy_opts o;
	const char *env;
	char *cache = NULL, *host, *end;
	int c, rc;

	memset(&o, 0, sizeof(o));
	o.jobs = 4;
	o.lock_timeout = DEPLOY_DEFAULT_TIMEOUT;
	o.max_size = DEPLOY_DEFAULT_MAX_SIZE;
	o.max_entries = DEPLOY_DEFAULT_MAX_ENTRIES;
	o.out = stdout;
	if ((env = getenv("DROVER_LOCK_TIMEOUT")) != NULL && *env != '\0') {
		if ((o.lock_timeout = parse_seconds(env)) < 0)
			return cmd_usage_error(&cmd_deploy_entry,
			    "bad DROVER_LOCK_TIMEOUT '%s'", env);
	}
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "j:", longopts, NULL)) != -1) {
		switch (c) {
		case OPT_CACHE:
			free(cache);
			cache = xstrdup(optarg);
			break;
		case 'j':
			o.jobs = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o.jobs < 1 || o.jobs > 64) {
				free(cache);
				return cmd_usage_error(&cmd_deploy_entry,
				    "bad -j value '%s' (1 to 64)", optarg);
			}
			break;
		case OPT_DRY:
			o.dry_run = 1;
			break;
		case OPT_TIMEOUT:
			if ((o.lock_timeout = parse_seconds(optarg)) < 0) {
				free(cache);
				return cmd_usage_error(&cmd_deploy_entry,
				    "bad --lock-timeout '%s'", optarg);
			}
			break;
		case OPT_MAXSIZE:
			if ((o.max_size = parse_size(optarg)) == 0) {
				free(cache);
				return cmd_usage_error(&cmd_deploy_entry,
				    "bad --max-size '%s'", optarg);
			}
			break;
		default:
			free(cache);
			return cmd_usage_error(&cmd_deploy_entry,
			    "unknown or incomplete option '%s'", argv[optind - 1]);
		}
	}
	if (argc - optind != 1) {
		free(cache);
		return cmd_usage_error(&cmd_deploy_entry,
		    "expected one deployment FILE");
	}
	if (deploy_file_load(&f, argv[optind], &el) == -1) {
		error_list_print(&el, stderr);
		error_list_release(&el);
		free(cache);
		return EXIT_FAIL;
	}
	if (cache == NULL)
		cache = deploy_cache_default();
	if (!o.dry_run && cas_mkdirs(cache, 0777) == -1) {
		fprintf(stderr, "drover deploy: cannot create cache '%s': %s\n",
		    cache, strerror(errno));
		deploy_file_release(&f);
		free(cache);
		return EXIT_SYSTEM;
	}
	if (cache[0] != '/') {
		/* links into the cache must not depend on the current directory */
		char *cwd = getcwd(NULL, 0), *abs;

		if (cwd == NULL) {
			fprintf(stderr, "drover deploy: cannot get the current "
			    "directory: %s\n", strerror(errno));
			deploy_file_release(&f);
			free(cache);
			return EXIT_SYSTEM;
		}
		abs = cas_path_join(cwd, cache);
		free(cwd);
		free(cache);
		cache = abs;
	}
	host = deploy_host_id();
	o.cache = cache;
	o.host_id = host;
	rc = deploy_run(&f, &o) == 0 ? EXIT_OK : EXIT_FAIL;
	free(host);
	free(cache);
	deploy_file_release(&f);
	return rc;
}

const struct cmd_entry cmd_deploy_entry = {
	.name = "deploy",
	.summary = CMD_DEPLOY_SUMMARY,
	.usage = CMD_DEPLOY_USAGE,
	.help =
	"DESCRIPTION\n"
	"    Reads a deployment file (JSON; see docs/attachments.md) listing\n"
	"    dependencies: name, version, platform, source (file://, http://,\n"
	"    https:// or cas:STORE with the object's hash), optional expected\n"
	"    hash (xxh128:...), unpack mode (auto, none, tar, tar.gz, tar.xz,\n"
	"    zip), link mode (symlink, hardlink, copy), destination and\n"
	"    keep_updated.\n"
	"\n"
	"    Each dependency is fetched at most once per host into the cache\n"
	"    <cache>/<repository>/<platform>/<name>/<version>/: into\n"
	"    downloading/ first, verified against the expected hash, unpacked\n"
	"    (refusing absolute paths, '..', links out of the tree, device\n"
	"    files and archives larger than the size limit), then renamed into\n"
	"    place.  A lock file <version>.lock holding '<host id>::<pid>'\n"
	"    (created with O_EXCL) serialises fetchers: a lock of a dead process\n"
	"    on this host is broken; a live or other host's lock is waited for\n"
	"    up to the lock timeout.  The content is then symlinked, hard-linked\n"
	"    or copied, file by file, into the destination directory.\n"
	"    keep_updated re-checks the source every run (a conditional GET for\n"
	"    http) and replaces the entry if its hash changed.\n"
	"\n"
	"    Prints one line per dependency: fetched, cached, updated or up to\n"
	"    date, and where it went.\n"
	"\n"
	"OPTIONS\n"
	"    --cache DIR        The cache (default $DROVER_DEPLOY_CACHE, else\n"
	"                       $DROVER_HOME/deploy-cache).\n"
	"    -j, --jobs N       Dependencies processed in parallel (default 4).\n"
	"    --dry-run          Say what would be fetched and linked; change\n"
	"                       nothing.\n"
	"    --lock-timeout S   Seconds to wait for another process's lock\n"
	"                       (default $DROVER_LOCK_TIMEOUT, else 600).\n"
	"    --max-size BYTES   Largest download and unpacked size (suffixes\n"
	"                       K, M, G, T; default 16G); a dependency's\n"
	"                       max_unpacked_size overrides it.\n"
	"\n"
	"ENVIRONMENT\n"
	"    DROVER_HOST_ID     Overrides the host id (else /etc/machine-id,\n"
	"                       /var/lib/dbus/machine-id, or one generated into\n"
	"                       $DROVER_HOME/host-id).\n"
	"\n"
	"EXIT STATUS\n"
	"    0 every dependency is deployed; 1 the deployment file is invalid or\n"
	"    a dependency failed (hash mismatch, refused archive, lock timeout,\n"
	"    download error); 2 usage error; 3 system error.\n",
	.exec = cmd_deploy_exec,
};
