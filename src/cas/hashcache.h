/*
 * The hash cache: a SQLite database remembering the XXH3-128 of files, so
 * that a file whose size, mtime, ctime and inode are unchanged is not read
 * again.  Default location: <drover home>/hash-cache.db (see
 * cas_drover_home()).
 *
 * One record per directory (absolute path): a packed list of its files'
 * names, stats and hashes.  A tree walk loads the records under its root
 * with one range scan and looks files up in memory, and writes back only
 * the directories that changed, many per transaction; a 100,000-file tree
 * is a few hundred rows, not 100,000.
 *
 * Several processes share it: WAL journaling, a busy timeout, and every
 * write in a BEGIN IMMEDIATE transaction (never a read transaction upgraded
 * to a write, which is what makes SQLite answer "database is locked" without
 * waiting); a record is read and rewritten inside the same write
 * transaction, so concurrent updates of one directory are never lost
 * halfway.  A handle may be used from several threads (calls serialize).
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
#include "common/buf.h"

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
/*
 * 1 hit (hash filled), 0 miss, -1 error (treated as a miss by callers).
 * One query for the file's directory record: for single files; walks use
 * cas_hashcache_scan_dirs().
 */
int	 cas_hashcache_get(struct cas_hashcache *, const char *path,
	     const struct cas_stat *, char hash[CAS_HASH_HEXLEN + 1]);
/*
 * Calls fn for every file under prefix + "/" (one range scan), with its
 * absolute path, stat and hash (valid only during the call), directory by
 * directory.  0, or -1 with *errp set.
 */
typedef void cas_hashcache_scan_fn(void *arg, const char *path,
	    const struct cas_stat *, const char *hash);
int	 cas_hashcache_scan(struct cas_hashcache *, const char *prefix,
	     cas_hashcache_scan_fn *fn, void *arg, char **errp);
/*
 * Stores rows (absolute paths, any order) in one transaction, merging them
 * into their directories' records; a racy row is not stored and removes
 * any older entry for its path.  0 or -1 (*errp).
 */
int	 cas_hashcache_put_many(struct cas_hashcache *,
	     const struct cas_hashcache_row *, size_t n, char **errp);
/* 1 if the row would be skipped by _put_many as racy. */
int	 cas_hashcache_racy(const struct cas_hashcache_row *);
int	 cas_hashcache_racy_ns(int64_t mtime_ns, int64_t hashed_at_ns);

/* ---- directory records, for tree walks ---- */

/* One directory's cached entries, decoded for lookups by name. */
struct cas_hcdir;

/*
 * Calls fn for the record of prefix itself and of every directory under
 * prefix + "/" (one range scan of the primary key), with the directory's
 * absolute path and its record, which fn owns (cas_hcdir_free; decoding
 * waits for the first lookup, so it happens on the thread that needs it).
 * Malformed records are skipped.  0, or -1 with *errp set.
 */
typedef void cas_hashcache_dir_fn(void *arg, const char *dir,
	    struct cas_hcdir *);
int	 cas_hashcache_scan_dirs(struct cas_hashcache *, const char *prefix,
	     cas_hashcache_dir_fn *fn, void *arg, char **errp);
/*
 * The record of one directory (absolute path) into *recp (NULL if it has
 * none; the caller frees it with cas_hcdir_free).  0, or -1 with *errp set.
 */
int	 cas_hashcache_get_dir(struct cas_hashcache *, const char *dir,
	     struct cas_hcdir **recp, char **errp);
/*
 * 1 and the cached hash in bin if name is in the record with exactly the
 * stat st, else 0.  Not thread-safe for one record's first lookup (call
 * cas_hcdir_decode() first to share a record between threads).
 */
int	 cas_hcdir_lookup(struct cas_hcdir *, const char *name, size_t len,
	     const struct cas_stat *st, unsigned char bin[CAS_HASH_BINLEN]);
/* Decodes now; 0, or -1 if the record is malformed (it then holds none). */
int	 cas_hcdir_decode(struct cas_hcdir *);
/* Number of entries (after decoding). */
size_t	 cas_hcdir_count(struct cas_hcdir *);
void	 cas_hcdir_free(struct cas_hcdir *);

/* A directory's new record, built entry by entry. */
struct cas_hcrec {
	struct buf	 b;
	size_t		 n;
};

void	 cas_hcrec_init(struct cas_hcrec *);
/* Appends an entry (the caller leaves out racy ones); name is not copied
 * beyond this call. */
void	 cas_hcrec_add(struct cas_hcrec *, const char *name, size_t len,
	     const struct cas_stat *, const unsigned char bin[CAS_HASH_BINLEN]);
void	 cas_hcrec_release(struct cas_hcrec *);
/*
 * Replaces the record of each dirs[i] (absolute) by recs[i] wholesale (an
 * empty record deletes it), all in one transaction.  0 or -1 (*errp).
 */
int	 cas_hashcache_put_recs(struct cas_hashcache *, const char *const *dirs,
	     const struct cas_hcrec *recs, size_t n, char **errp);

#endif
