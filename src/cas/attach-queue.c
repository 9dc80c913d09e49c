/*
 * Job attachments and the queue, the store side (cas/attach-queue.h):
 * submit-time uploads, the store operations of session workers
 * (daemon/attach.h) and the merging of output manifests for downloads.
 * Uses only the public interfaces of the cas library.
 */
#include <stdlib.h>
#include <string.h>

#include "cas/attach-queue.h"
#include "cas/store.h"
#include "cas/tree.h"
#include "common/buf.h"
#include "common/xmalloc.h"
#include "daemon/attach.h"
#include "daemon/config.h"
#include "daemon/home.h"

char *
cas_attach_store_path(char **err)
{
	struct config cfg = CONFIG_INIT;
	const char *v;
	char *home, *path;

	if ((home = home_dir(err)) == NULL)
		return NULL;
	if (config_load(&cfg, err) == -1) {
		config_release(&cfg);
		free(home);
		return NULL;
	}
	v = config_get(&cfg, "attach.store");
	if (v == NULL || *v == '\0')
		path = home_path(home, "cas");
	else if (v[0] == '/')
		path = xstrdup(v);
	else
		path = home_path(home, v);
	config_release(&cfg);
	free(home);
	return path;
}

int
cas_attach_upload(const char *store_root, const char *dir,
    const struct cas_opts *o, char hash[CAS_HASH_HEXLEN + 1],
    struct cas_stats *stats, char **err)
{
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct cas_store st;
	struct buf b = BUF_INIT;
	int rc = -1;

	if (cas_store_open(&st, store_root, 1, err) == -1)
		return -1;
	if (cas_upload(dir, &st, o, &m, stats, err) == 0) {
		cas_manifest_encode(&m, &b);
		rc = cas_store_put_manifest(&st, b.s ? b.s : "", b.len, hash,
		    err);
	}
	buf_release(&b);
	cas_manifest_release(&m);
	cas_store_release(&st);
	return rc;
}

static void
copy_entry(struct cas_manifest *out, const struct cas_file *f)
{
	struct cas_file *e = cas_manifest_add(out, f->path);

	memcpy(e->hash, f->hash, sizeof(e->hash));
	e->size = f->size;
	e->mtime_us = f->mtime_us;
}

static void
on_change(void *arg, enum cas_change c, const struct cas_file *a,
    const struct cas_file *b)
{
	(void)a;
	if (c != CAS_DELETED && b != NULL)
		copy_entry(arg, b);
}

void
cas_attach_changed(const struct cas_manifest *a, const struct cas_manifest *b,
    struct cas_manifest *out)
{
	cas_manifest_diff(a, b, on_change, out);
	cas_manifest_sort(out);
}

/* ---- merging ---- */

struct mentry {
	const struct cas_file	*f;
	size_t			 seq;	/* manifest index: later wins */
	int			 dead;
};

static int
cmp_path(const void *x, const void *y)
{
	const struct mentry *a = x, *b = y;
	int c = strcmp(a->f->path, b->f->path);

	if (c)
		return c;
	/* the later one first: it is kept, the others dropped */
	return a->seq < b->seq ? 1 : a->seq > b->seq ? -1 : 0;
}

static struct mentry *
find_path(struct mentry *v, size_t n, const char *path, size_t len)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strncmp(v[mid].f->path, path, len);

		if (c == 0 && v[mid].f->path[len] != '\0')
			c = 1;
		if (c == 0)
			return &v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void
cas_attach_merge(struct cas_manifest *out, const struct cas_manifest *ms,
    size_t n)
{
	struct mentry *v;
	size_t total = 0, k = 0, i, u;

	for (i = 0; i < n; i++)
		total += ms[i].n;
	v = xcalloc(total ? total : 1, sizeof(*v));
	for (i = 0; i < n; i++)
		for (size_t j = 0; j < ms[i].n; j++) {
			v[k].f = &ms[i].files[j];
			v[k].seq = i;
			k++;
		}
	qsort(v, total, sizeof(*v), cmp_path);
	/* the same path: keep the first (latest) of each run */
	for (i = 0, u = 0; i < total; i++) {
		if (u > 0 && strcmp(v[u - 1].f->path, v[i].f->path) == 0)
			continue;
		v[u++] = v[i];
	}
	/*
	 * A file "a" and a file "a/b" cannot both exist: the one from the
	 * later manifest wins.  For each entry, look its ancestors up.
	 */
	for (i = 0; i < u; i++) {
		const char *p = v[i].f->path;

		for (const char *s = strchr(p, '/'); s; s = strchr(s + 1, '/')) {
			struct mentry *anc = find_path(v, u, p, (size_t)(s - p));

			if (anc == NULL || anc->dead)
				continue;
			if (anc->seq > v[i].seq)
				v[i].dead = 1;
			else
				anc->dead = 1;
		}
	}
	/* an entry killed by a later ancestor may have killed an earlier
	 * ancestor of its own: that one stays dead (it was older anyway) */
	for (i = 0; i < u; i++)
		if (!v[i].dead)
			copy_entry(out, v[i].f);
	free(v);
	cas_manifest_sort(out);
}

/* ---- destinations ---- */

/* Number of leading components of p (absolute) shared with q. */
static size_t
common_len(const char *p, const char *q)
{
	size_t i = 0, last = 0;

	for (;; i++) {
		int pe = p[i] == '\0' || p[i] == '/';
		int qe = q[i] == '\0' || q[i] == '/';

		if (pe && qe)
			last = i;
		if (pe != qe || (!pe && p[i] != q[i]) || p[i] == '\0' ||
		    q[i] == '\0')
			break;
	}
	if ((p[i] == '\0' || p[i] == '/') && (q[i] == '\0' || q[i] == '/'))
		last = i;
	return last;
}

char *
cas_attach_dest(const char *const *roots, size_t n, size_t i, const char *to)
{
	size_t c;
	const char *rest;

	if (to == NULL)
		return xstrdup(roots[i]);
	c = strlen(roots[i]);
	for (size_t k = 0; k < n; k++) {
		size_t l = common_len(roots[i], roots[k]);

		if (l < c)
			c = l;
	}
	rest = roots[i] + c;
	while (*rest == '/')
		rest++;
	if (*rest == '\0')
		return xstrdup(to);
	return xasprintf("%s%s%s", to, to[strlen(to) - 1] == '/' ? "" : "/",
	    rest);
}

/* ---- the worker's store operations ---- */

static void
worker_opts(struct cas_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->threads = 0;
	o->hc = NULL;	/* session files come and go: do not cache them */
}

static int
op_download(const char *store_root, const char *manifest, const char *dir,
    char **err)
{
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct cas_stats stats;
	struct cas_store st;
	struct cas_opts o;
	int rc = -1;

	if (cas_store_open(&st, store_root, 0, err) == -1)
		return -1;
	if (cas_store_load_manifest(&st, manifest, &m, &el) == -1) {
		char *first = error_list_first(&el);

		*err = xasprintf("%s", first ? first : "cannot load it");
		free(first);
		goto out;
	}
	worker_opts(&o);
	rc = cas_download(&m, &st, 1, dir, &o, &stats, err);
out:
	error_list_release(&el);
	cas_manifest_release(&m);
	cas_store_release(&st);
	return rc;
}

static void *
op_snapshot(const char *dir, char **err)
{
	struct cas_manifest *m = xcalloc(1, sizeof(*m));
	struct cas_stats stats;
	struct cas_opts o;

	worker_opts(&o);
	if (cas_snapshot(dir, &o, m, &stats, err) == -1) {
		cas_manifest_release(m);
		free(m);
		return NULL;
	}
	return m;
}

static void
op_snapshot_free(void *p)
{
	cas_manifest_release(p);
	free(p);
}

static int
op_capture(const char *store_root, const char *dir, void **snap,
    char hash[33], int64_t *files, int64_t *bytes, char **err)
{
	struct cas_manifest *cur = xcalloc(1, sizeof(*cur));
	struct cas_manifest changed = CAS_MANIFEST_INIT;
	struct cas_stats stats;
	struct cas_store st;
	struct cas_opts o;
	struct buf b = BUF_INIT;
	int rc = -1;

	hash[0] = '\0';
	*files = *bytes = 0;
	if (cas_store_open(&st, store_root, 1, err) == -1) {
		free(cur);
		return -1;
	}
	worker_opts(&o);
	if (cas_upload(dir, &st, &o, cur, &stats, err) == -1) {
		cas_manifest_release(cur);
		free(cur);
		goto out;
	}
	cas_attach_changed(*snap, cur, &changed);
	op_snapshot_free(*snap);
	*snap = cur;
	rc = 0;
	if (changed.n > 0) {
		cas_manifest_encode(&changed, &b);
		rc = cas_store_put_manifest(&st, b.s, b.len, hash, err);
		*files = (int64_t)changed.n;
		*bytes = (int64_t)changed.total_size;
	}
out:
	buf_release(&b);
	cas_manifest_release(&changed);
	cas_store_release(&st);
	return rc;
}

static const struct attach_cas_ops worker_ops = {
	op_download,
	op_snapshot,
	op_capture,
	op_snapshot_free,
};

void
cas_attach_queue_install(void)
{
	attach_set_cas_ops(&worker_ops);
}
