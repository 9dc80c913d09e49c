/*
 * Safe archive extraction (tar, tar.gz, tar.xz, zip) with libarchive.
 *
 * Every entry is created relative to the destination directory, one path
 * component at a time and never through a symbolic link (O_NOFOLLOW), so
 * nothing can be written outside it.  Refused, with a message naming the
 * entry: absolute paths, ".." components, device files, FIFOs and sockets,
 * symbolic links whose target is absolute or resolves (following the links
 * extracted so far, checked again once all are in place) outside the
 * destination, hard links to anything but an extracted regular file, and
 * archives that expand beyond max_bytes (apparent size, so sparse files
 * count fully) or hold more than max_entries entries.  Files are made
 * read-only (0444, or 0555 if executable); set-id bits are dropped.
 */
#ifndef DROVER_DEPLOY_UNPACK_H
#define DROVER_DEPLOY_UNPACK_H

#include <stdint.h>

#include "deploy/deploy.h"

struct unpack_limits {
	uint64_t	max_bytes;
	uint64_t	max_entries;
};

struct unpack_result {
	uint64_t	bytes;
	uint64_t	entries;
};

/*
 * Extracts archive (of the given kind, not NONE/AUTO) into destdir, which
 * must exist and be empty.  0, or -1 with *errp set; on failure destdir
 * holds a partial tree the caller removes.
 */
int	deploy_unpack(const char *archive, enum deploy_unpack kind,
	    const char *destdir, const struct unpack_limits *,
	    struct unpack_result *, char **errp);

#endif
