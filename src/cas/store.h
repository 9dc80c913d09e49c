/*
 * A content-addressed store in a directory (local disk or a shared file
 * system), laid out as AWS Deadline Cloud lays out its S3 prefix:
 *
 *	<root>/Data/<xxh128>.xxh128	one object per distinct file content
 *	<root>/Manifests/<xxh128>.json	manifests, named by the hash of their bytes
 *	<root>/Corrupt/			objects that failed verification
 *
 * Writes are atomic: content goes to a unique temp file in the target
 * directory and is renamed onto its final name only after its hash is
 * known, so concurrent writers of the same object are safe (they rename
 * identical bytes).  Reads verify: an object whose content does not hash to
 * its name is reported, moved to Corrupt/ and never handed out.
 */
#ifndef DROVER_CAS_STORE_H
#define DROVER_CAS_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "cas/hash.h"
#include "cas/manifest.h"
#include "common/error.h"

/* Return codes besides 0 and -1 (other errors). */
#define CAS_EMISSING	(-2)	/* no such object (or a different size) */
#define CAS_ECORRUPT	(-3)	/* object content does not match its name */
#define CAS_ECHANGED	(-4)	/* source did not hash to the expected hash */

struct cas_store {
	char	*root;
	char	*data;		/* <root>/Data */
	char	*manifests;	/* <root>/Manifests */
	char	*corrupt;	/* <root>/Corrupt */
};

/* Opens root; with create, makes the directories.  0 or -1 (*errp). */
int	cas_store_open(struct cas_store *, const char *root, int create,
	    char **errp);
void	cas_store_release(struct cas_store *);
/* "<root>/Data/<hash>.xxh128", malloc'd. */
char	*cas_store_object_path(const struct cas_store *, const char *hash);
/* 1 if the object exists with this size, 0 if not, -1 on error. */
int	cas_store_has(const struct cas_store *, const char *hash, uint64_t size);

/*
 * Copies everything readable from fd into the store while hashing it; the
 * object is named by the hash (written to out).  With expect, a different
 * hash is CAS_ECHANGED and nothing is stored.  buf is caller scratch.
 */
int	cas_store_put_fd(const struct cas_store *, int fd, void *buf,
	    size_t bufsz, const char *expect, char out[CAS_HASH_HEXLEN + 1],
	    uint64_t *size, char **errp);
/* Stores data whose hash the caller computed with cas_hash_mem(). */
int	cas_store_put_mem(const struct cas_store *, const void *data,
	    size_t len, const char *hash, char **errp);
/*
 * Copies object hash (expected size) to outfd, verifying it on the way.
 * 0; CAS_EMISSING; CAS_ECORRUPT (the object was moved to Corrupt/ and what
 * was written to outfd must be discarded); -1 (*errp set).
 */
int	cas_store_get_fd(const struct cas_store *, const char *hash,
	    uint64_t size, int outfd, void *buf, size_t bufsz, char **errp);
/* Reads and checks an object: 0, CAS_EMISSING, CAS_ECORRUPT or -1. */
int	cas_store_verify(const struct cas_store *, const char *hash,
	    void *buf, size_t bufsz, char **errp);

/* Stores manifest bytes as Manifests/<hash>.json; hash into out. */
int	cas_store_put_manifest(const struct cas_store *, const char *bytes,
	    size_t len, char out[CAS_HASH_HEXLEN + 1], char **errp);
/*
 * Loads a manifest given as a file path, or as a manifest hash in the
 * store's Manifests/ (whose bytes must hash to that name).  0 or -1 (el).
 */
int	cas_store_load_manifest(const struct cas_store *, const char *ref,
	    struct cas_manifest *, struct error_list *el);

#endif
