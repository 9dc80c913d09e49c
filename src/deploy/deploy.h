/*
 * Dependency deployment (after Umpire): a JSON deployment file lists
 * dependencies; each is fetched once per host into a shared cache
 *
 *	<cache>/<repository>/<platform>/<name>/<version>/
 *		drover-entry.json	info: hash, size, source, unpack mode,
 *					format version (written last)
 *		content/		the unpacked tree (or the single file)
 *	<cache>/<repository>/<platform>/<name>/<version>.lock
 *	<cache>/downloading/		fetches in progress (renamed into
 *					place only after verification)
 *	<cache>/trash/			entries being removed
 *
 * and then linked (symlink / hardlink) or copied into its destination.  An
 * entry is complete iff its info file exists.  Concurrent deployers of one
 * entry serialise on its lock file (lock.h), so N processes download it
 * exactly once.  The deployment file format is documented in
 * docs/attachments.md.
 */
#ifndef DROVER_DEPLOY_H
#define DROVER_DEPLOY_H

#include <stdint.h>
#include <stdio.h>

#include "cas/hash.h"
#include "common/error.h"

#define DEPLOY_FORMAT_VERSION	1	/* deployment file "formatVersion" */
#define DEPLOY_ENTRY_VERSION	1	/* info file "formatVersion" */
#define DEPLOY_INFO_NAME	"drover-entry.json"
#define DEPLOY_DEFAULT_TIMEOUT	600.0	/* lock wait, seconds (Umpire's) */
#define DEPLOY_DEFAULT_MAX_SIZE	(16ULL << 30)	/* bytes fetched or unpacked */
#define DEPLOY_DEFAULT_MAX_ENTRIES 1000000ULL	/* archive entries */

enum deploy_source { DEPLOY_SRC_FILE, DEPLOY_SRC_HTTP, DEPLOY_SRC_CAS };
enum deploy_link { DEPLOY_SYMLINK, DEPLOY_HARDLINK, DEPLOY_COPY };
enum deploy_unpack {
	DEPLOY_UNPACK_AUTO,	/* by file name; none if unrecognised */
	DEPLOY_UNPACK_NONE,
	DEPLOY_UNPACK_TAR,
	DEPLOY_UNPACK_TAR_GZ,
	DEPLOY_UNPACK_TAR_XZ,
	DEPLOY_UNPACK_ZIP,
};

struct deploy_dep {
	char			*name;
	char			*version;
	char			*platform;	/* default "any" */
	char			*repository;	/* default from the source */
	char			*source;	/* as written */
	enum deploy_source	 kind;
	char			*location;	/* file path, URL or store dir */
	char			*filename;	/* unpack none: name in content/ */
	char			 hash[CAS_HASH_HEXLEN + 1]; /* "" if none */
	int64_t			 size;		/* -1 if not given */
	enum deploy_unpack	 unpack;	/* never AUTO after loading */
	enum deploy_link	 link;
	char			*destination;	/* absolute, env expanded */
	int			 keep_updated;
	int			 executable;	/* unpack none: mode 0555 */
	uint64_t		 max_size;	/* 0: the run's default */
	int			 line;		/* in the deployment file */
};

struct deploy_file {
	char			*path;
	struct deploy_dep	*deps;
	size_t			 n;
};

#define DEPLOY_FILE_INIT { NULL, NULL, 0 }

/* Loads and validates; 0, or -1 with positioned errors in el. */
int	deploy_file_load(struct deploy_file *, const char *path,
	    struct error_list *el);
void	deploy_file_release(struct deploy_file *);
const char *deploy_unpack_name(enum deploy_unpack);
const char *deploy_link_name(enum deploy_link);

struct deploy_opts {
	const char	*cache;		/* cache root */
	const char	*host_id;
	int		 jobs;		/* parallel entries */
	int		 dry_run;
	double		 lock_timeout;	/* seconds */
	uint64_t	 max_size;	/* default fetch/unpack limit */
	uint64_t	 max_entries;
	FILE		*out;		/* one line per dependency */
};

/* <drover home>/deploy-cache unless $DROVER_DEPLOY_CACHE; malloc'd. */
char	*deploy_cache_default(void);
/* Deploys every dependency; 0 if all succeeded, else -1 (each reported). */
int	deploy_run(const struct deploy_file *, const struct deploy_opts *);

/* "<cache>/<repository>/<platform>/<name>/<version>", malloc'd. */
char	*deploy_entry_dir(const char *cache, const struct deploy_dep *);

/* drover cache ls / gc. */
int	deploy_cache_ls(const char *cache, int json, FILE *out);
/*
 * Removes entries not used for keep_days days (and leftovers of dead
 * fetches); entries locked by someone are kept.  0 or -1.
 */
int	deploy_cache_gc(const char *cache, double keep_days, int dry_run,
	    const char *host_id, FILE *out);

#endif
