/*
 * Job-attachment manifests in the v2023-03-03 format of AWS Deadline Cloud:
 *
 *	{"hashAlg":"xxh128","manifestVersion":"2023-03-03",
 *	 "paths":[{"hash":"<32 hex>","mtime":<µs>,"path":"a/b","size":<n>},...],
 *	 "totalSize":<sum of sizes>}
 *
 * Writing is canonical, so a tree always gives the same bytes and the same
 * manifest hash: keys sorted, no whitespace, strings escaped as Python's
 * json.dumps(ensure_ascii=True) escapes them (non-ASCII and control
 * characters as lowercase \uXXXX, surrogate pairs above U+FFFF), entries
 * sorted by the UTF-16 code units of their path, no trailing newline.
 *
 * Reading is strict: unknown keys, another manifestVersion or hashAlg,
 * absolute paths, "." / ".." / empty components, duplicate paths, a path
 * that is both a file and a directory, hashes that are not 32 lowercase hex
 * digits, negative or non-integer numbers and a wrong totalSize are errors.
 * The format has no directories, symlinks, permissions or chunk hashes.
 */
#ifndef DROVER_CAS_MANIFEST_H
#define DROVER_CAS_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "cas/hash.h"
#include "common/buf.h"
#include "common/error.h"

#define CAS_MANIFEST_VERSION	"2023-03-03"

struct cas_file {
	char		*path;		/* relative, '/'-separated, UTF-8; owned */
	char		 hash[CAS_HASH_HEXLEN + 1];
	uint64_t	 size;
	int64_t		 mtime_us;	/* microseconds since the epoch, >= 0 */
};

struct cas_manifest {
	struct cas_file	*files;
	size_t		 n;
	size_t		 alloc;
	uint64_t	 total_size;	/* as read; recomputed by _encode */
};

#define CAS_MANIFEST_INIT { NULL, 0, 0, 0 }

void	cas_manifest_release(struct cas_manifest *);
/* Appends an entry for path (copied); other fields zeroed. */
struct cas_file *cas_manifest_add(struct cas_manifest *, const char *path);
/* Sorts into canonical order (UTF-16 code units of the path). */
void	cas_manifest_sort(struct cas_manifest *);
/* Compares two UTF-8 strings by their UTF-16 code units (<0, 0, >0). */
int	cas_path_cmp(const char *a, const char *b);

/*
 * Parses text strictly.  Returns 0, or -1 with errors (name:line:col or
 * the field path such as "paths[3].hash") added to el.  On success m holds
 * the entries in canonical order.
 */
int	cas_manifest_parse(struct cas_manifest *, const char *name,
	    const char *text, size_t len, struct error_list *el);
int	cas_manifest_load(struct cas_manifest *, const char *path,
	    struct error_list *el);
/* Sorts m, recomputes total_size and appends the canonical bytes to out. */
void	cas_manifest_encode(struct cas_manifest *, struct buf *out);
/*
 * The same bytes written entry by entry, for callers whose entries come in
 * canonical order already (a tree walk): _begin, then _entry for each
 * file in order (first = 1 for the first), then _end with the sum of the
 * sizes.
 */
void	cas_manifest_write_begin(struct buf *out);
void	cas_manifest_write_entry(struct buf *out, int first, const char *path,
	    const char *hash, int64_t mtime_us, uint64_t size);
void	cas_manifest_write_end(struct buf *out, uint64_t total_size);
/* Canonical JSON string literal of s (as json.dumps, ensure_ascii). */
void	cas_json_string(struct buf *out, const char *s);
/* NULL if p is acceptable as a manifest path, else the reason. */
const char *cas_manifest_path_error(const char *p);
/* Binary search in a sorted manifest; NULL if absent. */
const struct cas_file *cas_manifest_find(const struct cas_manifest *,
	    const char *path);

/* Differences between two sorted manifests, in path order. */
enum cas_change {
	CAS_ADDED = 'A',	/* only in b */
	CAS_DELETED = 'D',	/* only in a */
	CAS_MODIFIED = 'M',	/* hash or size differ */
	CAS_TOUCHED = 'T',	/* same content, other mtime */
};
typedef void cas_diff_fn(void *arg, enum cas_change, const struct cas_file *a,
	    const struct cas_file *b);
/* Calls fn for every difference; returns their number. */
size_t	cas_manifest_diff(const struct cas_manifest *a,
	    const struct cas_manifest *b, cas_diff_fn *fn, void *arg);

#endif
