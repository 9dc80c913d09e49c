/*
 * Tree operations: snapshot a directory into a manifest, upload it into a
 * store, download a manifest from stores into a directory.  All three use
 * a pool of threads (walks: directories and batches of their entries;
 * downloads: one file per work item) and the hash cache.
 *
 * What a v2023 manifest can hold decides what a tree is: regular files with
 * content, size and mtime (µs).  Symbolic links are followed (collapsed):
 * a link to a file becomes a regular file with the target's content, a link
 * to a directory contributes that directory's files under the link's name;
 * links that dangle or form a cycle are skipped with a warning.  Empty
 * directories, permissions, owners, FIFOs, sockets and devices are not
 * recorded (FIFOs, sockets and devices are skipped with a warning).  A
 * download writes files with mode 0666 & ~umask and the manifest's mtime.
 */
#ifndef DROVER_CAS_TREE_H
#define DROVER_CAS_TREE_H

#include <stddef.h>
#include <stdint.h>

#include "cas/hashcache.h"
#include "cas/manifest.h"
#include "cas/store.h"
#include "common/buf.h"

struct cas_opts {
	int			 threads;	/* <= 0: one per CPU */
	struct cas_hashcache	*hc;		/* NULL: hash everything */
	int			 progress;	/* draw a progress bar on stderr */
	int			 verify;	/* upload: re-read objects that exist */
};

struct cas_stats {
	uint64_t	files;		/* entries in the tree / manifest */
	uint64_t	bytes;
	uint64_t	hashed_files;	/* read and hashed */
	uint64_t	hashed_bytes;
	uint64_t	cached_files;	/* hash taken from the hash cache */
	uint64_t	stored_files;	/* upload: written to the store;
					   download: written to the tree */
	uint64_t	stored_bytes;
	uint64_t	present_files;	/* upload: already in the store;
					   download: already up to date */
	uint64_t	repaired_files;	/* corrupt/missing objects replaced */
	uint64_t	skipped_entries; /* dangling links, FIFOs, ... */
};

/*
 * Snapshots dir (recursively) into m, which must be empty; m comes back in
 * canonical order.  0, or -1 with *errp set (several errors are joined by
 * newlines).
 */
int	cas_snapshot(const char *dir, const struct cas_opts *,
	    struct cas_manifest *m, struct cas_stats *, char **errp);
/* Like cas_snapshot, and stores every file's content in store. */
int	cas_upload(const char *dir, const struct cas_store *,
	    const struct cas_opts *, struct cas_manifest *m, struct cas_stats *,
	    char **errp);
/*
 * The same, appending the manifest's canonical bytes (what
 * cas_manifest_encode() writes) to out instead of building a manifest:
 * the tree walk produces entries in canonical order, so for big trees
 * this saves the manifest's memory and time.  On error nothing is added.
 */
int	cas_snapshot_bytes(const char *dir, const struct cas_opts *,
	    struct buf *out, struct cas_stats *, char **errp);
int	cas_upload_bytes(const char *dir, const struct cas_store *,
	    const struct cas_opts *, struct buf *out, struct cas_stats *,
	    char **errp);
/*
 * ---- for the file-system watcher (cas/watch.h) ----
 *
 * What a watcher cannot vouch for: inotify reports changes to the entries
 * of the directories it watches, not to what a symbolic link points to, nor
 * to a file's other hard links.  A walk that is given a cas_walk_notes
 * appends the relative paths of the symbolic links it followed (to files
 * and directories, dangling or cyclic), of the entries it skipped (FIFOs,
 * sockets, devices) and of the regular files with more than one link, so
 * that a later partial walk looks at them again.  Paths are malloc'd; the
 * list is unordered and may hold duplicates.
 */
struct cas_walk_notes {
	char	**paths;
	size_t	  n;
	size_t	  alloc;
};

void	cas_walk_notes_release(struct cas_walk_notes *);
/*
 * Called by cas_snapshot_bytes_ex() for every entry it writes, in order:
 * the entry's path and where its bytes are in out (off, len: from '{' to
 * '}', without the separating comma), and its size.
 */
typedef void cas_walk_entry_fn(void *arg, const char *path, size_t off,
	    size_t len, uint64_t size);
/* cas_snapshot_bytes() with notes (may be NULL) and an entry callback. */
int	cas_snapshot_bytes_ex(const char *dir, const struct cas_opts *,
	    struct buf *out, struct cas_stats *, struct cas_walk_notes *,
	    cas_walk_entry_fn *fn, void *arg, char **errp);
/*
 * A partial snapshot: the entries of dir's tree at or under the relative
 * paths sel[0..nsel) (none inside another; "" is the whole tree), exactly
 * as cas_snapshot() of dir would record them (same name checks, symbolic
 * links followed, cycles detected through every ancestor), into m, which
 * must be empty, in canonical order.  A selected path that does not exist,
 * or whose parent directory does not (any more), contributes nothing and
 * is no error.  Hashes of files hashed now are merged into the hash cache's
 * records (the records of directories walked whole are replaced).  0, or
 * -1 with *errp set.
 */
int	cas_snapshot_select(const char *dir, const char *const *sel,
	    size_t nsel, const struct cas_opts *, struct cas_manifest *m,
	    struct cas_stats *, struct cas_walk_notes *, char **errp);

/*
 * Materialises m under dir `to` (created if needed): only files that are
 * missing or differ are fetched; a file whose content matches gets the
 * manifest's mtime.  Objects are read from stores[0], falling back to the
 * next store when one is missing or corrupt; a good copy found later is
 * written back to the stores that lacked it.  Paths in the way that are
 * directories or symbolic links to directories are errors.
 */
int	cas_download(const struct cas_manifest *m, const struct cas_store *stores,
	    size_t nstores, const char *to, const struct cas_opts *,
	    struct cas_stats *, char **errp);

#endif
