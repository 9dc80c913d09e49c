/*
 * Job attachments and the queue (docs/attachments.md, "Queue
 * integration"), the store side: uploading the directories `drover submit
 * --attach` names, the operations a session worker uses through
 * daemon/attach.h (materialise inputs, capture outputs), and merging a
 * job's output manifests for `drover download`.
 */
#ifndef DROVER_CAS_ATTACH_QUEUE_H
#define DROVER_CAS_ATTACH_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "cas/hash.h"
#include "cas/manifest.h"
#include "cas/tree.h"

/*
 * Installs the store operations session workers use (attach_set_cas_ops());
 * the drover binary calls it before running a worker.
 */
void	cas_attach_queue_install(void);

/*
 * The store of job attachments: the config key attach.store if set (an
 * absolute path, or relative to drover home), else <drover home>/cas.
 * malloc'd, or NULL with *err.
 */
char	*cas_attach_store_path(char **err);

/*
 * Uploads dir into the store at store_root (created if needed) and
 * stores its manifest there: hash gets the manifest's hash.  0, or -1
 * with *err.
 */
int	cas_attach_upload(const char *store_root, const char *dir,
	    const struct cas_opts *, char hash[CAS_HASH_HEXLEN + 1],
	    struct cas_stats *, char **err);

/*
 * Entries of b that are new or changed relative to a (added, content
 * changed, or only the mtime changed), appended to out: what a task wrote.
 * a and b sorted (as snapshots come).
 */
void	cas_attach_changed(const struct cas_manifest *a,
	    const struct cas_manifest *b, struct cas_manifest *out);

/*
 * Merges ms[0..n) into out (empty): for a path in several manifests the
 * later one wins, and so does a later file over earlier ones that it
 * cannot coexist with (a file "a" and a file "a/b").  out comes sorted.
 */
void	cas_attach_merge(struct cas_manifest *out,
	    const struct cas_manifest *ms, size_t n);

/*
 * Where output root roots[i] goes for `drover download --to to`: with one
 * root, to itself; with several, to/<the root's path below the roots'
 * longest common parent directory>.  Without to, the root itself.
 * malloc'd.
 */
char	*cas_attach_dest(const char *const *roots, size_t n, size_t i,
	    const char *to);

#endif
