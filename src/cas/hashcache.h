/*
 * The hash cache: a SQLite database remembering the XXH3-128 of files by
 * absolute path, so that a file whose size, mtime, ctime and inode are
 * unchanged is not read again.  Default location: <drover home>/hash-cache.db
 * (see cas_drover_home()).
 *
 * Several processes share it: WAL journaling, a busy timeout, and every
 * write in a BEGIN IMMEDIATE transaction (never a read transaction upgraded
 * to a write, which is what makes SQLite answer "database is locked" without
 * waiting).  A handle may be used from several threads (calls serialize).
 *
 * Racy entries are never stored: a file whose mtime is within
 * CAS_HASHCACHE_RACY_NS of the moment it was hashed could still change
 * within the file system's timestamp granularity, so it is hashed again
 * next time (git's "racy clean" rule).
 */
#ifndef DROVER_CAS_HASHCACHE_H
#define DROVER_CAS_HASHCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "cas/hash.h"

#define CAS_HASHCACHE_RACY_NS	(2LL * 1000000000LL)

struct cas_hashcache;

/* What must be unchanged for a cached hash to be used. */
struct cas_stat {
	uint64_t	size;
	int64_t		mtime_ns;
	int64_t		ctime_ns;
	uint64_t	ino;
};

struct cas_hashcache_row {
	const char	*path;		/* absolute; borrowed */
	struct cas_stat	 st;
	char		 hash[CAS_HASH_HEXLEN + 1];
	int64_t		 hashed_at_ns;	/* wall clock when reading started */
};

/* <drover home>/hash-cache.db, malloc'd. */
char	*cas_hashcache_default_path(void);
/* Opens (creating the file and its directory). 0, or -1 with *errp set. */
int	 cas_hashcache_open(struct cas_hashcache **, const char *path,
	     char **errp);
void	 cas_hashcache_close(struct cas_hashcache *);
/* 1 hit (hash filled), 0 miss, -1 error (treated as a miss by callers). */
int	 cas_hashcache_get(struct cas_hashcache *, const char *path,
	     const struct cas_stat *, char hash[CAS_HASH_HEXLEN + 1]);
/*
 * Calls fn for every row whose path is under prefix + "/" (one range scan
 * of the primary key), with the row's path, stat and hash (valid only
 * during the call).  0, or -1 with *errp set.
 */
typedef void cas_hashcache_scan_fn(void *arg, const char *path,
	    const struct cas_stat *, const char *hash);
int	 cas_hashcache_scan(struct cas_hashcache *, const char *prefix,
	     cas_hashcache_scan_fn *fn, void *arg, char **errp);
/* Stores rows in one transaction, skipping racy ones. 0 or -1 (*errp). */
int	 cas_hashcache_put_many(struct cas_hashcache *,
	     const struct cas_hashcache_row *, size_t n, char **errp);
/* 1 if the row would be skipped by _put_many as racy. */
int	 cas_hashcache_racy(const struct cas_hashcache_row *);

#endif
