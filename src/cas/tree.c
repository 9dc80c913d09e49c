/*
 * Snapshot, upload and download of directory trees.
 *
 * Snapshot and upload share one pipeline: load the hash cache's records of
 * the directories under the tree's root with one range scan, then walk and
 * hash in parallel, every worker thread reading directories and handling
 * batches of their entries relative to directory fds, and record each
 * directory whose entries changed, many directories per cache
 * transaction, while the walk goes on.  Upload additionally makes sure
 * each object is in the store: a cache hit is never taken to mean "already
 * uploaded" — the store is checked every time, and each distinct content
 * is stored once.
 *
 * Per file, the work is as small as we could make it: a file of a
 * directory the cache knows is looked up after one fstatat() and not
 * opened if it hits; any other file is opened (O_NOATIME where permitted),
 * fstat()ed, read with one read() if small, fstat()ed again — the same
 * size, mtime, ctime and inode before and after means we read all of it
 * as it was — and closed.  Entries live in one array per
 * directory (no allocation per file), and each directory sorts its own
 * children when it is done, so the manifest comes out in canonical order
 * from one depth-first pass, without a global sort.
 *
 * Small files (up to CAS_IO_BUFSZ) are written to the store from the
 * worker's buffer if needed.  Big files are copied (and hashed again, so a
 * change in between is caught) only when the store lacks them.
 *
 * For the file-system watcher (cas/watch.h) the same walk can be partial:
 * given a selection of relative paths it opens only the directories that
 * lead to them and looks only at the selected entries (walking selected
 * directories whole), so a path comes out exactly as a full walk would
 * record it; and it can note the paths a watcher cannot vouch for.
 */
#define _GNU_SOURCE		/* fdopendir, dirent d_type, O_NOATIME */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "cas/pool.h"
#include "cas/progress.h"
#include "cas/tree.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define MAX_ERRORS	10

/* Errors collected from workers. */
struct errs {
	pthread_mutex_t	 mu;
	struct buf	 msg;
	size_t		 n;
};

static void
errs_init(struct errs *e)
{
	pthread_mutex_init(&e->mu, NULL);
	buf_init(&e->msg);
	e->n = 0;
}

static void errs_add(struct errs *, const char *, ...)
	__attribute__((format(printf, 2, 3)));

static void
errs_add(struct errs *e, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&e->mu);
	if (e->n < MAX_ERRORS) {
		if (e->n > 0)
			buf_addch(&e->msg, '\n');
		va_start(ap, fmt);
		buf_vaddf(&e->msg, fmt, ap);
		va_end(ap);
	}
	e->n++;
	pthread_mutex_unlock(&e->mu);
}

/* Moves the messages into *errp; returns -1 if there were any, else 0. */
static int
errs_finish(struct errs *e, char **errp)
{
	int rc = e->n ? -1 : 0;

	if (e->n > MAX_ERRORS)
		buf_addf(&e->msg, "\n(%zu more errors)", e->n - MAX_ERRORS);
	if (e->n)
		cas_seterr(errp, "%s", e->msg.s);
	buf_release(&e->msg);
	pthread_mutex_destroy(&e->mu);
	return rc;
}

static void
stat_to_cas(const struct stat *st, struct cas_stat *cs)
{
	cs->size = (uint64_t)st->st_size;
	cs->mtime_ns = (int64_t)st->st_mtim.tv_sec * 1000000000 +
	    st->st_mtim.tv_nsec;
	cs->ctime_ns = (int64_t)st->st_ctim.tv_sec * 1000000000 +
	    st->st_ctim.tv_nsec;
	cs->ino = (uint64_t)st->st_ino;
}

static int
cas_stat_eq(const struct cas_stat *a, const struct cas_stat *b)
{
	return a->size == b->size && a->mtime_ns == b->mtime_ns &&
	    a->ctime_ns == b->ctime_ns && a->ino == b->ino;
}

/* µs since the epoch, floored (as st_mtime_ns // 1000). */
static int64_t
ns_to_us(int64_t ns)
{
	return ns >= 0 ? ns / 1000 : -((-ns + 999) / 1000);
}

/* ---- walking and hashing in parallel ---- */

/*
 * Workers share a stack of tasks: read a directory (pushing a task for
 * each subdirectory and one per batch of its other entries), or handle a
 * batch of entries of one directory (stat, look up, hash, store).  Batches
 * let a single huge directory spread over every worker.  A directory's fd,
 * its cache record and its entry array stay while tasks of it are pending
 * (reference count); the last one finishes the directory: closes the fd,
 * queues its new cache record if anything changed, and sorts its children.
 */
#define BATCH		64
#define FLUSH_ENTRIES	16384	/* cache entries per write transaction */

enum { FE_NONE, FE_FILE };

/* A directory entry other than a subdirectory. */
struct fent {
	size_t		 nameoff;	/* into the directory's names */
	unsigned char	 dtype;		/* from readdir */
	unsigned char	 state;		/* FE_NONE: not recorded */
	unsigned char	 cached;	/* hash from the hash cache */
	unsigned char	 fresh;		/* hashed now: for the cache */
	struct cas_stat	 st;
	int64_t		 hashed_at;
	unsigned char	 hash[CAS_HASH_BINLEN];
};

/*
 * The selection of a partial walk as a tree of names: a node is selected
 * whole (everything at or under it) or only leads to selected nodes.
 */
struct selnode {
	char		 *name;
	int		  whole;
	struct selnode	**kids;
	size_t		  nkids, alloc;
};

struct dnode {
	struct dnode	 *parent;	/* ancestors, for symlink cycles */
	const struct selnode *sel;	/* partial: only sel's kids; NULL: all */
	dev_t		  dev;
	ino_t		  ino;
	char		 *rel;		/* "" for the root */
	char		 *name;		/* to open it (the root: absolute) */
	int		  follow;	/* a symbolic link to it was followed */
	char		 *key;		/* name + "/": its order in the parent */
	const char	 *bad;		/* why its paths cannot be recorded */
	int		  fd;
	int		  refs;		/* under the queue mutex */
	struct cas_hcdir *rec;		/* its hash cache record, or NULL */
	char		 *names;	/* NUL-terminated names of fe[] */
	struct fent	 *fe;
	size_t		  nfe;
	struct dnode	**subs;		/* subdirectories (under j->mu) */
	size_t		  nsubs, subs_alloc;
	uint32_t	 *order;	/* children in canonical order: i < nfe
					   is fe[i], else subs[i - nfe] */
	size_t		  norder;
	struct dnode	 *all;		/* every node, freed at the end */
};

struct task {
	struct dnode	*dir;
	int		 readdir;	/* 1: read dir; 0: handle fe[lo, hi) */
	size_t		 lo, hi;
	struct task	*next;
};

/* Hashes already being stored by this run (each content is stored once). */
struct claims {
	pthread_mutex_t	  mu;
	char		(*slot)[CAS_HASH_HEXLEN + 1];
	size_t		  n, cap;
};

/* Cache records loaded at the start, by directory (sorted by rel). */
struct recmap {
	struct recent {
		char		 *rel;
		struct cas_hcdir *rec;
	}		*v;
	size_t		 n, alloc;
};

/* Directory records waiting to be written to the cache. */
struct pending {
	struct pitem {
		char		*dir;	/* absolute */
		struct cas_hcrec rec;
	}		*v;
	size_t		 n, alloc, entries;
};

struct hashjob {
	char			*root;		/* realpath of the tree */
	const struct cas_store	*store;		/* NULL: snapshot only */
	const struct cas_opts	*opts;
	struct recmap		 recs;
	struct claims		 claims;
	pthread_mutex_t		 mu;		/* queue, dnodes, recs */
	pthread_cond_t		 cv;
	struct task		*queue;
	size_t			 pending;	/* queued + running tasks */
	atomic_int		 noatime;	/* O_NOATIME, until refused */
	struct dnode		*dirs;
	struct dnode		*top;
	char			**bufs;		/* per worker */
	struct cas_stats	*wstats;	/* per worker */
	pthread_mutex_t		 wmu;		/* writes */
	struct pending		 writes;
	struct cas_hashcache_row *rows;		/* partial directories' hashes */
	size_t			 nrows, rows_alloc;
	int			 cache_failed;
	struct cas_walk_notes	*notes;		/* NULL: not wanted */
	pthread_mutex_t		 nmu;
	struct cas_progress	 prog;
	struct errs		*errs;
};

static void
claims_init(struct claims *c)
{
	pthread_mutex_init(&c->mu, NULL);
	c->n = 0;
	c->cap = 1024;
	c->slot = xcalloc(c->cap, sizeof(*c->slot));
}

static void
claims_release(struct claims *c)
{
	pthread_mutex_destroy(&c->mu);
	free(c->slot);
}

static size_t
claim_index(const char *hash)
{
	size_t i = 0;

	for (int k = 0; k < 8; k++)	/* hex digits: already uniform */
		i = i * 16 + (size_t)(hash[k] <= '9' ? hash[k] - '0' :
		    hash[k] - 'a' + 10);
	return i;
}

/* 1 if hash was new (the caller stores it), 0 if claimed before. */
static int
claims_take(struct claims *c, const char *hash)
{
	size_t i;
	int fresh = 1;

	pthread_mutex_lock(&c->mu);
	if (2 * (c->n + 1) > c->cap) {
		char (*old)[CAS_HASH_HEXLEN + 1] = c->slot;
		size_t ocap = c->cap;

		c->cap *= 2;
		c->slot = xcalloc(c->cap, sizeof(*c->slot));
		for (size_t k = 0; k < ocap; k++) {
			if (old[k][0] == '\0')
				continue;
			for (i = claim_index(old[k]) & (c->cap - 1);
			    c->slot[i][0] != '\0'; i = (i + 1) & (c->cap - 1))
				;
			memcpy(c->slot[i], old[k], sizeof(old[k]));
		}
		free(old);
	}
	for (i = claim_index(hash) & (c->cap - 1); c->slot[i][0] != '\0';
	    i = (i + 1) & (c->cap - 1)) {
		if (strcmp(c->slot[i], hash) == 0) {
			fresh = 0;
			break;
		}
	}
	if (fresh) {
		memcpy(c->slot[i], hash, CAS_HASH_HEXLEN + 1);
		c->n++;
	}
	pthread_mutex_unlock(&c->mu);
	return fresh;
}

/* ---- partial walks and notes ---- */

static void
sel_free(struct selnode *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		sel_free(n->kids[i]);
	free(n->kids);
	free(n->name);
	free(n);
}

/* The selection tree of paths (clean relative paths, "" the whole tree). */
static struct selnode *
sel_build(const char *const *sel, size_t n)
{
	struct selnode *root = xcalloc(1, sizeof(*root));

	root->name = xstrdup("");
	for (size_t i = 0; i < n && !root->whole; i++) {
		struct selnode *at = root;
		const char *p = sel[i];

		if (*p == '\0') {
			root->whole = 1;
			break;
		}
		while (!at->whole) {
			const char *slash = strchr(p, '/');
			size_t len = slash ? (size_t)(slash - p) : strlen(p);
			struct selnode *k = NULL;

			/* sorted input puts siblings mostly last: look there first */
			for (size_t c = at->nkids; c-- > 0;) {
				const char *kn = at->kids[c]->name;

				if (strncmp(kn, p, len) == 0 && kn[len] == '\0') {
					k = at->kids[c];
					break;
				}
			}
			if (k == NULL) {
				k = xcalloc(1, sizeof(*k));
				k->name = xstrndup(p, len);
				ALLOC_GROW(at->kids, at->nkids + 1, at->alloc);
				at->kids[at->nkids++] = k;
			}
			at = k;
			if (slash == NULL) {
				for (size_t c = 0; c < at->nkids; c++)
					sel_free(at->kids[c]);
				at->nkids = 0;
				at->whole = 1;
			} else
				p = slash + 1;
		}
	}
	if (root->whole) {
		for (size_t c = 0; c < root->nkids; c++)
			sel_free(root->kids[c]);
		root->nkids = 0;
	}
	return root;
}

void
cas_walk_notes_release(struct cas_walk_notes *n)
{
	for (size_t i = 0; i < n->n; i++)
		free(n->paths[i]);
	free(n->paths);
	memset(n, 0, sizeof(*n));
}

/* Notes d's entry name (or d itself, name NULL) for the watcher. */
static void
note_path(struct hashjob *j, const struct dnode *d, const char *name)
{
	char *p;

	if (j->notes == NULL)
		return;
	if (name == NULL)
		p = xstrdup(d->rel);
	else if (*d->rel == '\0')
		p = xstrdup(name);
	else
		p = xasprintf("%s/%s", d->rel, name);
	pthread_mutex_lock(&j->nmu);
	ALLOC_GROW(j->notes->paths, j->notes->n + 1, j->notes->alloc);
	j->notes->paths[j->notes->n++] = p;
	pthread_mutex_unlock(&j->nmu);
}

/* ---- the hash cache's records ---- */

/* "<root>/<rel>" of a directory ("<root>" for the root) into b. */
static void
dir_abs(const char *root, const char *rel, struct buf *b)
{
	buf_reset(b);
	buf_adds(b, root);
	if (*rel != '\0') {
		if (b->len == 0 || b->s[b->len - 1] != '/')
			buf_addch(b, '/');
		buf_adds(b, rel);
	}
}

struct recload {
	struct recmap	*map;
	const char	*root;
	size_t		 rootlen;
};

static void
recmap_add(void *arg, const char *dir, struct cas_hcdir *rec)
{
	struct recload *l = arg;
	struct recmap *m = l->map;
	const char *rel;

	if (strncmp(dir, l->root, l->rootlen) != 0) {
		cas_hcdir_free(rec);
		return;
	}
	rel = dir + l->rootlen;
	if (*rel == '/')
		rel++;
	ALLOC_GROW(m->v, m->n + 1, m->alloc);
	m->v[m->n].rel = xstrdup(rel);
	m->v[m->n].rec = rec;
	m->n++;
}

static int
recent_cmp(const void *a, const void *b)
{
	return strcmp(((const struct recent *)a)->rel,
	    ((const struct recent *)b)->rel);
}

/* Takes the record of rel out of the map (NULL if none); under j->mu. */
static struct cas_hcdir *
recmap_take(struct recmap *m, const char *rel)
{
	size_t lo = 0, hi = m->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(rel, m->v[mid].rel);

		if (c == 0) {
			struct cas_hcdir *r = m->v[mid].rec;

			m->v[mid].rec = NULL;
			return r;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static void
recmap_release(struct recmap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].rel);
		cas_hcdir_free(m->v[i].rec);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* Writes the queued records in one transaction. */
static void
pending_write(struct hashjob *j, struct pending *p)
{
	const char **dirs;
	struct cas_hcrec *recs;
	char *err = NULL;

	if (p->n == 0)
		return;
	dirs = xmalloc(p->n * sizeof(*dirs));
	recs = xmalloc(p->n * sizeof(*recs));
	for (size_t i = 0; i < p->n; i++) {
		dirs[i] = p->v[i].dir;
		recs[i] = p->v[i].rec;
	}
	if (cas_hashcache_put_recs(j->opts->hc, dirs, recs, p->n, &err) == -1) {
		pthread_mutex_lock(&j->wmu);
		if (!j->cache_failed)
			log_warnx("%s", err);	/* a cache failure is not fatal */
		j->cache_failed = 1;
		pthread_mutex_unlock(&j->wmu);
		free(err);
	}
	for (size_t i = 0; i < p->n; i++) {
		free(p->v[i].dir);
		cas_hcrec_release(&p->v[i].rec);
	}
	free(dirs);
	free(recs);
	free(p->v);
	memset(p, 0, sizeof(*p));
}

/*
 * Queues d's new record if it differs from the cached one: any entry
 * hashed now (and not racy), or a cached entry that is gone.
 */
static void
queue_record(struct hashjob *j, struct dnode *d)
{
	struct pending flush;
	struct cas_hcrec rec;
	struct buf abs = BUF_INIT;
	size_t hits = 0, fresh = 0, had;

	had = d->rec != NULL ? cas_hcdir_count(d->rec) : 0;
	for (size_t i = 0; i < d->nfe; i++) {
		const struct fent *f = &d->fe[i];

		if (f->state != FE_FILE)
			continue;
		if (f->cached)
			hits++;
		else if (f->fresh && !cas_hashcache_racy_ns(f->st.mtime_ns,
		    f->hashed_at))
			fresh++;
	}
	if (fresh == 0 && hits == had)
		return;		/* the record is up to date */
	cas_hcrec_init(&rec);
	for (size_t i = 0; i < d->nfe; i++) {
		const struct fent *f = &d->fe[i];

		if (f->state != FE_FILE || !(f->cached || (f->fresh &&
		    !cas_hashcache_racy_ns(f->st.mtime_ns, f->hashed_at))))
			continue;
		cas_hcrec_add(&rec, d->names + f->nameoff,
		    strlen(d->names + f->nameoff), &f->st, f->hash);
	}
	dir_abs(j->root, d->rel, &abs);
	memset(&flush, 0, sizeof(flush));
	pthread_mutex_lock(&j->wmu);
	ALLOC_GROW(j->writes.v, j->writes.n + 1, j->writes.alloc);
	j->writes.v[j->writes.n].dir = buf_detach(&abs, NULL);
	j->writes.v[j->writes.n].rec = rec;
	j->writes.n++;
	j->writes.entries += rec.n + 1;
	if (j->writes.entries >= FLUSH_ENTRIES) {
		flush = j->writes;
		memset(&j->writes, 0, sizeof(j->writes));
	}
	pthread_mutex_unlock(&j->wmu);
	pending_write(j, &flush);
	buf_release(&abs);
}

/*
 * A directory of a partial walk holds only the selected entries: its
 * record must not be replaced by them; their new hashes are merged into it
 * at the end instead (cas_hashcache_put_many).
 */
static void
queue_rows(struct hashjob *j, struct dnode *d)
{
	struct buf abs = BUF_INIT;

	for (size_t i = 0; i < d->nfe; i++) {
		const struct fent *f = &d->fe[i];
		struct cas_hashcache_row *r;

		if (f->state != FE_FILE || !f->fresh ||
		    cas_hashcache_racy_ns(f->st.mtime_ns, f->hashed_at))
			continue;
		dir_abs(j->root, d->rel, &abs);
		if (abs.len == 0 || abs.s[abs.len - 1] != '/')
			buf_addch(&abs, '/');
		buf_adds(&abs, d->names + f->nameoff);
		pthread_mutex_lock(&j->wmu);
		ALLOC_GROW(j->rows, j->nrows + 1, j->rows_alloc);
		r = &j->rows[j->nrows++];
		memset(r, 0, sizeof(*r));
		r->path = buf_detach(&abs, NULL);
		r->st = f->st;
		cas_hash_bin_to_hex(f->hash, r->hash);
		r->hashed_at_ns = f->hashed_at;
		pthread_mutex_unlock(&j->wmu);
	}
	buf_release(&abs);
}

/* ---- directories ---- */

/* Queues a task. */
static void
push_task(struct hashjob *j, struct task *t)
{
	pthread_mutex_lock(&j->mu);
	t->next = j->queue;
	j->queue = t;
	j->pending++;
	if (!t->readdir)
		t->dir->refs++;
	pthread_cond_signal(&j->cv);
	pthread_mutex_unlock(&j->mu);
}

struct okey {
	const char	*key;
	uint32_t	 idx;
};

static int
okey_cmp(const void *a, const void *b)
{
	return cas_path_cmp(((const struct okey *)a)->key,
	    ((const struct okey *)b)->key);
}

/*
 * d is complete (every task of it done): close its fd, queue its cache
 * record, sort its children into canonical order.  Files sort by name,
 * subdirectories by name + "/", which orders the paths below them as the
 * manifest orders whole paths (by UTF-16 code units).
 */
static void
dir_finish(struct hashjob *j, struct dnode *d)
{
	struct okey *keys;
	size_t n = 0;

	if (d->fd != -1)
		close(d->fd);
	d->fd = -1;
	if (j->opts->hc != NULL) {
		if (d->sel != NULL)
			queue_rows(j, d);
		else
			queue_record(j, d);
	}
	cas_hcdir_free(d->rec);
	d->rec = NULL;

	keys = xmalloc((d->nfe + d->nsubs + 1) * sizeof(*keys));
	for (size_t i = 0; i < d->nfe; i++) {
		if (d->fe[i].state != FE_FILE)
			continue;
		keys[n].key = d->names + d->fe[i].nameoff;
		keys[n++].idx = (uint32_t)i;
	}
	for (size_t i = 0; i < d->nsubs; i++) {
		keys[n].key = d->subs[i]->key;
		keys[n++].idx = (uint32_t)(d->nfe + i);
	}
	if (n > 1)
		qsort(keys, n, sizeof(*keys), okey_cmp);
	d->order = xmalloc((n ? n : 1) * sizeof(*d->order));
	for (size_t i = 0; i < n; i++)
		d->order[i] = keys[i].idx;
	d->norder = n;
	free(keys);
}

/* Drops a reference to a directory; the last one finishes it. */
static void
dir_unref(struct hashjob *j, struct dnode *d)
{
	int last;

	pthread_mutex_lock(&j->mu);
	last = --d->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (last)
		dir_finish(j, d);
}

/* Why a name cannot be part of a manifest path under d, or NULL. */
static const char *
name_error(const struct dnode *d, const char *name)
{
	const unsigned char *s = (const unsigned char *)name;

	if (d == NULL || *d->rel == '\0')	/* first component */
		return cas_manifest_path_error(name);
	for (; *s != '\0'; s++)
		if (*s >= 0x80)
			return cas_utf8_valid(name, strlen(name)) ? NULL :
			    "is not valid UTF-8";
	return NULL;
}

/*
 * Queues a directory (parent's fd + name; the root has no parent and name
 * is its absolute path).  It is opened by its readdir task, not now, so a
 * directory with many subdirectories does not hold a descriptor for each
 * (tasks run newest first: open descriptors stay about one per level); the
 * parent keeps its own open until then (a reference).
 */
static void
add_dir(struct hashjob *j, struct dnode *parent, const char *name,
    int follow, const struct selnode *sel)
{
	struct dnode *d;
	struct task *t;

	d = xcalloc(1, sizeof(*d));
	d->parent = parent;
	d->rel = parent == NULL ? xstrdup("") : *parent->rel == '\0' ?
	    xstrdup(name) : xasprintf("%s/%s", parent->rel, name);
	d->name = xstrdup(name);
	d->follow = follow;
	d->sel = sel;
	d->key = parent ? xasprintf("%s/", name) : NULL;
	d->bad = parent == NULL ? NULL : parent->bad ? parent->bad :
	    name_error(parent, name);
	d->fd = -1;
	d->refs = 1;	/* the readdir task's */
	pthread_mutex_lock(&j->mu);
	d->all = j->dirs;
	j->dirs = d;
	if (j->opts->hc != NULL)
		d->rec = recmap_take(&j->recs, d->rel);
	if (parent != NULL) {
		ALLOC_GROW(parent->subs, parent->nsubs + 1, parent->subs_alloc);
		parent->subs[parent->nsubs++] = d;
		parent->refs++;		/* until d is open */
	} else
		j->top = d;
	pthread_mutex_unlock(&j->mu);
	t = xcalloc(1, sizeof(*t));
	t->dir = d;
	t->readdir = 1;
	push_task(j, t);
}

/* Opens d, refusing symbolic link cycles; 0, or -1 (d stays empty). */
static int
open_dir(struct hashjob *j, struct dnode *d, int worker)
{
	struct dnode *parent = d->parent;
	struct stat st;
	int fd;

	fd = openat(parent ? parent->fd : AT_FDCWD, d->name, O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC | (d->follow ? 0 : O_NOFOLLOW));
	if (parent != NULL)
		dir_unref(j, parent);
	if (fd == -1 && parent != NULL && d->sel != NULL && (errno == ENOENT ||
	    errno == ENOTDIR || errno == ELOOP))
		return -1;	/* partial: gone or replaced since it was reported */
	if (fd == -1 || fstat(fd, &st) == -1) {
		errs_add(j->errs, "cannot open directory '%s/%s': %s", j->root,
		    d->rel, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	for (struct dnode *a = parent; a != NULL; a = a->parent) {
		if (a->dev == st.st_dev && a->ino == st.st_ino) {
			log_warnx("skipping '%s/%s': symbolic link cycle", j->root,
			    d->rel);
			j->wstats[worker].skipped_entries++;
			note_path(j, d, NULL);
			close(fd);
			return -1;
		}
	}
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->fd = fd;
	return 0;
}

static void
read_dir(struct hashjob *j, struct dnode *d, int worker)
{
	struct buf names = BUF_INIT;
	struct dirent *de;
	size_t alloc = 0;
	DIR *dp;
	int fd2;

	if (open_dir(j, d, worker) == -1)
		return;
	/* decode the cache record now: this directory's batches share it */
	if (d->rec != NULL)
		cas_hcdir_decode(d->rec);
	if (d->sel != NULL) {
		/* partial: the selected entries, whatever they are now */
		for (size_t k = 0; k < d->sel->nkids; k++) {
			const struct selnode *s = d->sel->kids[k];
			struct fent *f;

			if (!s->whole) {
				add_dir(j, d, s->name, 0, s);
				continue;
			}
			ALLOC_GROW(d->fe, d->nfe + 1, alloc);
			f = &d->fe[d->nfe++];
			memset(f, 0, sizeof(*f));
			f->nameoff = names.len;
			f->dtype = DT_UNKNOWN;
			buf_add(&names, s->name, strlen(s->name) + 1);
		}
		goto batches;
	}
	fd2 = dup(d->fd);
	if (fd2 == -1 || (dp = fdopendir(fd2)) == NULL) {
		errs_add(j->errs, "cannot read directory '%s/%s': %s", j->root,
		    d->rel, strerror(errno));
		if (fd2 != -1)
			close(fd2);
		return;
	}
	while ((errno = 0, de = readdir(dp)) != NULL) {
		const char *name = de->d_name;
		struct fent *f;

		if (name[0] == '.' && (name[1] == '\0' ||
		    (name[1] == '.' && name[2] == '\0')))
			continue;
		if (de->d_type == DT_DIR) {
			add_dir(j, d, name, 0, NULL);
			continue;
		}
		ALLOC_GROW(d->fe, d->nfe + 1, alloc);
		f = &d->fe[d->nfe++];
		memset(f, 0, sizeof(*f));
		f->nameoff = names.len;
		f->dtype = de->d_type;
		buf_add(&names, name, strlen(name) + 1);
	}
	if (errno != 0)
		errs_add(j->errs, "cannot read directory '%s/%s': %s", j->root,
		    d->rel, strerror(errno));
	closedir(dp);
batches:
	d->names = buf_detach(&names, NULL);
	for (size_t lo = 0; lo < d->nfe; lo += BATCH) {
		struct task *t = xcalloc(1, sizeof(*t));

		t->dir = d;
		t->lo = lo;
		t->hi = lo + BATCH < d->nfe ? lo + BATCH : d->nfe;
		push_task(j, t);
	}
}

/* ---- files ---- */

/* "<root>/<rel>/<name>" for messages, into b. */
static const char *
file_abs(struct hashjob *j, const struct dnode *d, const char *name,
    struct buf *b)
{
	dir_abs(j->root, d->rel, b);
	if (b->len == 0 || b->s[b->len - 1] != '/')
		buf_addch(b, '/');
	buf_adds(b, name);
	return b->s;
}

static int
open_flags(struct hashjob *j, int follow)
{
	return O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    (follow ? 0 : O_NOFOLLOW) |
	    (atomic_load_explicit(&j->noatime, memory_order_relaxed) ?
	    O_NOATIME : 0);
}

/* openat(), dropping O_NOATIME for good once it is refused (not ours). */
static int
open_file(struct hashjob *j, struct dnode *d, const char *name, int follow)
{
	int fd, fl = open_flags(j, follow);

	fd = openat(d->fd, name, fl);
	if (fd == -1 && errno == EPERM && (fl & O_NOATIME)) {
		atomic_store(&j->noatime, 0);
		fd = openat(d->fd, name, fl & ~O_NOATIME);
	}
	return fd;
}

/*
 * Makes sure the object for f (hash known) is in the store.  data is the
 * file's content if in memory; else fd (or, if -1, the file is opened).
 */
static int
ensure_stored(struct hashjob *j, struct dnode *d, struct fent *f,
    int follow, int fd, const char *data, int worker)
{
	struct cas_stats *ws = &j->wstats[worker];
	const char *name = d->names + f->nameoff;
	char *err = NULL, got[CAS_HASH_HEXLEN + 1], hex[CAS_HASH_HEXLEN + 1];
	struct buf abs = BUF_INIT;
	int have, rc, own = 0;

	cas_hash_bin_to_hex(f->hash, hex);
	if (!claims_take(&j->claims, hex)) {
		/* another file of this tree has the same content */
		ws->present_files++;
		return 0;
	}
	have = cas_store_has(j->store, hex, f->st.size);
	if (have == 1 && j->opts->verify) {
		/* not the worker buffer: it may hold the file's data */
		char *vbuf = xmalloc(65536);

		rc = cas_store_verify(j->store, hex, vbuf, 65536, &err);
		free(vbuf);
		if (rc == CAS_ECORRUPT) {
			log_warnx("%s; storing it again from '%s'", err,
			    file_abs(j, d, name, &abs));
			have = 0;
			ws->repaired_files++;
		} else if (rc != 0) {
			errs_add(j->errs, "%s", err);
			free(err);
			buf_release(&abs);
			return -1;
		}
		free(err);
		err = NULL;
	}
	if (have == 1) {
		ws->present_files++;
		buf_release(&abs);
		return 0;
	}
	if (have == -1) {
		errs_add(j->errs, "cannot check store '%s' for %s: %s",
		    j->store->root, hex, strerror(errno));
		buf_release(&abs);
		return -1;
	}
	if (data != NULL)
		rc = cas_store_put_mem(j->store, data, f->st.size, hex, &err);
	else {
		if (fd == -1) {
			fd = open_file(j, d, name, follow);
			own = 1;
		}
		if (fd == -1 || lseek(fd, 0, SEEK_SET) == -1) {
			cas_seterr(&err, "%s", strerror(errno));
			rc = -1;
		} else
			rc = cas_store_put_fd(j->store, fd, j->bufs[worker],
			    CAS_IO_BUFSZ, hex, got, NULL, &err);
		if (own && fd != -1)
			close(fd);
	}
	if (rc != 0) {
		errs_add(j->errs, "cannot upload '%s': %s",
		    file_abs(j, d, name, &abs), err);
		free(err);
		buf_release(&abs);
		return -1;
	}
	ws->stored_files++;
	ws->stored_bytes += f->st.size;
	buf_release(&abs);
	return 0;
}

/* read() until len bytes or end of file; the count, or -1. */
static ssize_t
read_upto(int fd, char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/*
 * Hashes the open regular file fd, whose fstat() is in *before, into f.
 * A small file is read with one read() of size + 1 bytes: getting exactly
 * size bytes, with the same size, mtime, ctime and inode afterwards, means
 * we read all of it as it was.  A file that changes while it is read is
 * tried again a few times, then reported.  *datap is the content when it
 * is in the worker's buffer, else NULL.
 */
static int
hash_open_file(struct hashjob *j, struct dnode *d, struct fent *f, int fd,
    struct cas_stat *before, int worker, const char **datap)
{
	struct cas_stats *ws = &j->wstats[worker];
	char *buf = j->bufs[worker];
	const char *name = d->names + f->nameoff;
	struct buf abs = BUF_INIT;
	struct cas_stat now;
	struct stat st;
	uint64_t n = 0;

	*datap = NULL;
	for (int tries = 0; tries < 3; tries++) {
		f->hashed_at = cas_now_ns();
		if (before->size < CAS_IO_BUFSZ) {
			ssize_t r;

			if (tries > 0 && lseek(fd, 0, SEEK_SET) == -1)
				goto fail;
			r = read(fd, buf, (size_t)before->size + 1);
			if (r < 0 && errno == EINTR)
				r = 0;
			if (r >= 0 && (uint64_t)r < before->size) {
				/* a short read: go on until the end */
				ssize_t r2 = read_upto(fd, buf + r,
				    (size_t)(before->size + 1 - (uint64_t)r));

				r = r2 < 0 ? -1 : r + r2;
			}
			if (r < 0)
				goto fail;
			n = (uint64_t)r;
		} else {
			char hex[CAS_HASH_HEXLEN + 1];

			/* big: streamed in CAS_IO_BUFSZ reads (copying from
			 * the page cache costs more than hashing) */
			if ((tries > 0 && lseek(fd, 0, SEEK_SET) == -1) ||
			    cas_hash_fd(fd, buf, CAS_IO_BUFSZ, hex, &n) == -1)
				goto fail;
			cas_hash_hex_to_bin(hex, f->hash);
		}
		if (fstat(fd, &st) == -1)
			goto fail;
		if (!S_ISREG(st.st_mode)) {
			errs_add(j->errs, "'%s' is no longer a regular file",
			    file_abs(j, d, name, &abs));
			buf_release(&abs);
			return -1;
		}
		stat_to_cas(&st, &now);
		if (n == now.size && cas_stat_eq(&now, before)) {
			if (before->size < CAS_IO_BUFSZ) {
				cas_hash_mem_bin(buf, (size_t)n, f->hash);
				*datap = buf;
			}
			f->st = now;
			ws->hashed_files++;
			ws->hashed_bytes += n;
			return 0;
		}
		*before = now;	/* changed meanwhile: once more */
	}
	errs_add(j->errs, "'%s' changed while it was being read",
	    file_abs(j, d, name, &abs));
	buf_release(&abs);
	return -1;
fail:
	errs_add(j->errs, "cannot read '%s': %s", file_abs(j, d, name, &abs),
	    strerror(errno));
	buf_release(&abs);
	return -1;
}

/* Hashes (and stores) the open regular file fd; f->state set on success. */
static void
take_file(struct hashjob *j, struct dnode *d, struct fent *f, int fd,
    const struct stat *st, int follow, int worker)
{
	struct cas_stat before;
	const char *data;

	stat_to_cas(st, &before);
	f->st = before;
	if (hash_open_file(j, d, f, fd, &before, worker, &data) == 0) {
		f->state = FE_FILE;
		if (j->store == NULL ||
		    ensure_stored(j, d, f, follow, fd, data, worker) == 0)
			f->fresh = 1;
	}
}

/* Stats, looks up, hashes and stores one entry of d. */
static void
handle_entry(struct hashjob *j, struct dnode *d, struct fent *f, int worker)
{
	const char *name = d->names + f->nameoff, *why;
	struct cas_stats *ws = &j->wstats[worker];
	struct cas_stat cs;
	struct buf abs = BUF_INIT;
	struct stat st;
	int fd, follow = 0;

	if ((why = d->bad) != NULL || (why = name_error(d, name)) != NULL) {
		errs_add(j->errs, "cannot record '%s': the path %s",
		    file_abs(j, d, name, &abs), why);
		goto out;
	}
	if (f->dtype == DT_REG && d->rec == NULL) {
		/* nothing to look up: open, fstat, read, fstat, close */
		fd = open_file(j, d, name, 0);
		if (fd != -1) {
			if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
				if (st.st_nlink > 1)
					note_path(j, d, name);
				take_file(j, d, f, fd, &st, 0, worker);
				close(fd);
				goto out;
			}
			close(fd);	/* changed type since readdir */
		}
	}
	if (fstatat(d->fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno == ENOENT && d->sel != NULL)
			goto out;	/* partial: a selected path that is gone */
		if (errno == ENOENT) {	/* removed since readdir */
			log_warnx("skipping '%s': it vanished",
			    file_abs(j, d, name, &abs));
			ws->skipped_entries++;
			goto out;
		}
		errs_add(j->errs, "cannot stat '%s': %s",
		    file_abs(j, d, name, &abs), strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		follow = 1;
		note_path(j, d, name);
		if (fstatat(d->fd, name, &st, 0) == -1) {
			log_warnx("skipping symbolic link '%s': %s",
			    file_abs(j, d, name, &abs), strerror(errno));
			ws->skipped_entries++;
			goto out;
		}
	}
	if (S_ISDIR(st.st_mode)) {
		add_dir(j, d, name, follow, NULL);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		log_warnx("skipping '%s': not a regular file",
		    file_abs(j, d, name, &abs));
		ws->skipped_entries++;
		if (!follow)
			note_path(j, d, name);
		goto out;
	}
	if (!follow && st.st_nlink > 1)
		note_path(j, d, name);
	stat_to_cas(&st, &cs);
	if (d->rec != NULL &&
	    cas_hcdir_lookup(d->rec, name, strlen(name), &cs, f->hash)) {
		f->st = cs;
		f->state = FE_FILE;
		f->cached = 1;
		ws->cached_files++;
		/* a cache hit never means "uploaded": check the store */
		if (j->store != NULL)
			ensure_stored(j, d, f, follow, -1, NULL, worker);
		goto out;
	}
	fd = open_file(j, d, name, follow);
	if (fd == -1) {
		errs_add(j->errs, "cannot open '%s': %s",
		    file_abs(j, d, name, &abs), strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		errs_add(j->errs, "'%s' is no longer a regular file",
		    file_abs(j, d, name, &abs));
		close(fd);
		goto out;
	}
	take_file(j, d, f, fd, &st, follow, worker);
	close(fd);
out:
	if (f->state == FE_FILE)
		cas_progress_add(&j->prog, 1, f->st.size);
	buf_release(&abs);
}

static void
walk_worker(void *arg, size_t i, int worker)
{
	struct hashjob *j = arg;
	struct task *t;

	(void)i;
	for (;;) {
		pthread_mutex_lock(&j->mu);
		while (j->queue == NULL && j->pending > 0)
			pthread_cond_wait(&j->cv, &j->mu);
		if (j->queue == NULL) {
			pthread_mutex_unlock(&j->mu);
			return;
		}
		t = j->queue;
		j->queue = t->next;
		pthread_mutex_unlock(&j->mu);
		if (t->readdir)
			read_dir(j, t->dir, worker);
		else {
			for (size_t k = t->lo; k < t->hi; k++)
				handle_entry(j, t->dir, &t->dir->fe[k], worker);
		}
		dir_unref(j, t->dir);
		free(t);
		pthread_mutex_lock(&j->mu);
		if (--j->pending == 0)
			pthread_cond_broadcast(&j->cv);
		pthread_mutex_unlock(&j->mu);
	}
}

/* ---- the manifest, depth first in canonical order ---- */

struct emit {
	struct cas_manifest	*m;		/* entries into m, or */
	struct buf		*json;		/* canonical bytes into json */
	struct buf		 path;
	const char		*root;
	char			*err;
	size_t			 n;
	uint64_t		 total;
	cas_walk_entry_fn	*fn;		/* json only: each entry */
	void			*arg;
};

static void
emit_dir(struct emit *e, const struct dnode *d)
{
	size_t base = e->path.len;

	for (size_t k = 0; k < d->norder && e->err == NULL; k++) {
		size_t i = d->order[k];

		buf_truncate(&e->path, base);
		if (i < d->nfe) {
			const struct fent *f = &d->fe[i];
			int64_t mtime_us = ns_to_us(f->st.mtime_ns);
			char hex[CAS_HASH_HEXLEN + 1];

			buf_adds(&e->path, d->names + f->nameoff);
			if (mtime_us < 0) {
				e->err = xasprintf("'%s/%s' has a modification "
				    "time before 1970, which a manifest cannot "
				    "hold", e->root, e->path.s);
				break;
			}
			cas_hash_bin_to_hex(f->hash, hex);
			if (e->json != NULL) {
				size_t off = e->json->len + (e->n > 0);

				cas_manifest_write_entry(e->json, e->n == 0,
				    e->path.s, hex, mtime_us, f->st.size);
				if (e->fn != NULL)
					e->fn(e->arg, e->path.s, off,
					    e->json->len - off, f->st.size);
			} else {
				struct cas_file *cf = cas_manifest_add(e->m,
				    e->path.s);

				memcpy(cf->hash, hex, sizeof(hex));
				cf->size = f->st.size;
				cf->mtime_us = mtime_us;
			}
			e->n++;
			e->total += f->st.size;
		} else {
			const struct dnode *s = d->subs[i - d->nfe];

			buf_adds(&e->path, s->key);
			emit_dir(e, s);
		}
	}
	buf_truncate(&e->path, base);
}

/* What the watcher's walks add to a plain one (tree.h). */
struct walk_extra {
	const char *const	*sel;		/* partial walk, or NULL */
	size_t			 nsel;
	struct cas_walk_notes	*notes;
	cas_walk_entry_fn	*fn;
	void			*arg;
};

static int
str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Loads the cache records a partial walk needs: those of each selected
 * path and every directory under it, and those of their parents.
 */
static void
load_sel_records(struct hashjob *j, const struct walk_extra *x,
    struct recload *l)
{
	char **parents = xcalloc(x->nsel + 1, sizeof(*parents)), *err = NULL;
	struct buf abs = BUF_INIT;
	size_t np = 0;

	for (size_t i = 0; i < x->nsel; i++) {
		const char *slash = strrchr(x->sel[i], '/');

		dir_abs(j->root, x->sel[i], &abs);
		if (cas_hashcache_scan_dirs(j->opts->hc, abs.s, recmap_add, l,
		    &err) == -1)
			break;
		parents[np++] = slash == NULL ? xstrdup("") :
		    xstrndup(x->sel[i], (size_t)(slash - x->sel[i]));
	}
	if (np > 1)
		qsort(parents, np, sizeof(*parents), str_ptr_cmp);
	for (size_t i = 0; i < np && err == NULL; i++) {
		struct cas_hcdir *rec;

		if (i > 0 && strcmp(parents[i], parents[i - 1]) == 0)
			continue;
		dir_abs(j->root, parents[i], &abs);
		if (cas_hashcache_get_dir(j->opts->hc, abs.s, &rec, &err) == 0 &&
		    rec != NULL)
			recmap_add(l, abs.s, rec);
	}
	if (err != NULL) {
		log_warnx("%s", err);	/* hash what is not found */
		free(err);
	}
	for (size_t i = 0; i < np; i++)
		free(parents[i]);
	free(parents);
	buf_release(&abs);
}

static int
tree_run(const char *dir, const struct cas_store *store,
    const struct cas_opts *opts, struct cas_manifest *m, struct buf *json,
    struct cas_stats *stats, const struct walk_extra *x, char **errp)
{
	struct selnode *sel = NULL;
	struct errs errs;
	struct hashjob j;
	char *err = NULL;
	int nworkers, rc;

	memset(stats, 0, sizeof(*stats));
	memset(&j, 0, sizeof(j));
	errs_init(&errs);
	j.errs = &errs;
	j.store = store;
	j.opts = opts;
	if ((j.root = realpath(dir, NULL)) == NULL) {
		errs_add(&errs, "cannot open directory '%s': %s", dir,
		    strerror(errno));
		return errs_finish(&errs, errp);
	}
	if (x != NULL && x->sel != NULL) {
		sel = sel_build(x->sel, x->nsel);
		if (sel->whole) {	/* "": the whole tree */
			sel_free(sel);
			sel = NULL;
		}
	}
	if (x != NULL)
		j.notes = x->notes;
	if (opts->hc != NULL) {
		struct recload l = { &j.recs, j.root, strlen(j.root) };

		if (sel != NULL)
			load_sel_records(&j, x, &l);
		else if (cas_hashcache_scan_dirs(opts->hc, j.root, recmap_add,
		    &l, &err) == -1) {
			log_warnx("%s", err);	/* hash everything instead */
			free(err);
			err = NULL;
		}
		if (j.recs.n > 1)
			qsort(j.recs.v, j.recs.n, sizeof(*j.recs.v), recent_cmp);
	}
	nworkers = opts->threads > 0 ? opts->threads : cas_ncpu();
	atomic_init(&j.noatime, 1);
	pthread_mutex_init(&j.mu, NULL);
	pthread_mutex_init(&j.wmu, NULL);
	pthread_mutex_init(&j.nmu, NULL);
	pthread_cond_init(&j.cv, NULL);
	claims_init(&j.claims);
	j.bufs = xcalloc((size_t)nworkers, sizeof(*j.bufs));
	for (int k = 0; k < nworkers; k++)
		j.bufs[k] = xmalloc(CAS_IO_BUFSZ);
	j.wstats = xcalloc((size_t)nworkers, sizeof(*j.wstats));
	cas_progress_init(&j.prog, store ? "uploading" : "hashing",
	    opts->progress, 0, 0);
	add_dir(&j, NULL, j.root, 1, sel);
	cas_pool_run_each(nworkers, walk_worker, &j);
	cas_progress_finish(&j.prog);
	if (opts->hc != NULL)
		pending_write(&j, &j.writes);
	if (j.nrows > 0 && cas_hashcache_put_many(opts->hc, j.rows, j.nrows,
	    &err) == -1) {
		log_warnx("%s", err);	/* a cache failure is not fatal */
		free(err);
		err = NULL;
	}
	for (size_t k = 0; k < j.nrows; k++)
		free((char *)j.rows[k].path);
	free(j.rows);

	for (int k = 0; k < nworkers; k++) {
		struct cas_stats *w = &j.wstats[k];

		stats->hashed_files += w->hashed_files;
		stats->hashed_bytes += w->hashed_bytes;
		stats->cached_files += w->cached_files;
		stats->stored_files += w->stored_files;
		stats->stored_bytes += w->stored_bytes;
		stats->present_files += w->present_files;
		stats->repaired_files += w->repaired_files;
		stats->skipped_entries += w->skipped_entries;
		free(j.bufs[k]);
	}
	free(j.bufs);
	free(j.wstats);
	claims_release(&j.claims);
	pthread_mutex_destroy(&j.mu);
	pthread_mutex_destroy(&j.wmu);
	pthread_mutex_destroy(&j.nmu);
	pthread_cond_destroy(&j.cv);
	recmap_release(&j.recs);

	for (struct dnode *d = j.dirs; d != NULL; d = d->all)
		for (size_t i = 0; i < d->nfe; i++)
			if (d->fe[i].state == FE_FILE) {
				stats->files++;
				stats->bytes += d->fe[i].st.size;
			}
	rc = errs_finish(&errs, errp);
	if (rc == 0 && j.top != NULL) {
		struct emit e = { m, json, BUF_INIT, j.root, NULL, 0, 0,
		    x ? x->fn : NULL, x ? x->arg : NULL };
		size_t start = json ? json->len : 0;

		if (json != NULL) {
			buf_grow(json, (size_t)stats->files * 96 + 128);
			cas_manifest_write_begin(json);
		} else
			ALLOC_GROW(m->files, m->n + stats->files, m->alloc);
		emit_dir(&e, j.top);
		buf_release(&e.path);
		if (e.err != NULL) {
			cas_seterr(errp, "%s", e.err);
			free(e.err);
			if (json != NULL)
				buf_truncate(json, start);
			else
				cas_manifest_release(m);
			rc = -1;
		} else if (json != NULL)
			cas_manifest_write_end(json, e.total);
	}
	while (j.dirs != NULL) {
		struct dnode *d = j.dirs;

		j.dirs = d->all;
		if (d->fd != -1)
			close(d->fd);
		cas_hcdir_free(d->rec);
		free(d->rel);
		free(d->name);
		free(d->key);
		free(d->names);
		free(d->fe);
		free(d->subs);
		free(d->order);
		free(d);
	}
	sel_free(sel);
	free(j.root);
	return rc;
}

int
cas_snapshot(const char *dir, const struct cas_opts *opts,
    struct cas_manifest *m, struct cas_stats *stats, char **errp)
{
	return tree_run(dir, NULL, opts, m, NULL, stats, NULL, errp);
}

int
cas_upload(const char *dir, const struct cas_store *store,
    const struct cas_opts *opts, struct cas_manifest *m,
    struct cas_stats *stats, char **errp)
{
	return tree_run(dir, store, opts, m, NULL, stats, NULL, errp);
}

int
cas_snapshot_bytes(const char *dir, const struct cas_opts *opts,
    struct buf *out, struct cas_stats *stats, char **errp)
{
	return tree_run(dir, NULL, opts, NULL, out, stats, NULL, errp);
}

int
cas_upload_bytes(const char *dir, const struct cas_store *store,
    const struct cas_opts *opts, struct buf *out, struct cas_stats *stats,
    char **errp)
{
	return tree_run(dir, store, opts, NULL, out, stats, NULL, errp);
}

int
cas_snapshot_bytes_ex(const char *dir, const struct cas_opts *opts,
    struct buf *out, struct cas_stats *stats, struct cas_walk_notes *notes,
    cas_walk_entry_fn *fn, void *arg, char **errp)
{
	struct walk_extra x = { NULL, 0, notes, fn, arg };

	return tree_run(dir, NULL, opts, NULL, out, stats, &x, errp);
}

int
cas_snapshot_select(const char *dir, const char *const *sel, size_t nsel,
    const struct cas_opts *opts, struct cas_manifest *m,
    struct cas_stats *stats, struct cas_walk_notes *notes, char **errp)
{
	struct walk_extra x = { sel, nsel, notes, NULL, NULL };

	if (nsel == 0) {	/* nothing selected: nothing to look at */
		memset(stats, 0, sizeof(*stats));
		return 0;
	}
	return tree_run(dir, NULL, opts, m, NULL, stats, &x, errp);
}

/* ---- downloading ---- */

struct dljob {
	const struct cas_manifest *m;
	const struct cas_store	*stores;
	size_t			 nstores;
	const struct cas_opts	*opts;
	char			*root;		/* realpath of the destination */
	char			**bufs;
	struct cas_stats	*wstats;
	struct cas_hashcache_row *rows;		/* one per file; path NULL = none */
	struct recmap		 recs;		/* cache records under root */
	char			**dests;
	struct cas_progress	 prog;
	struct errs		*errs;
};

/* Creates the parent directories of every entry, refusing symlinks. */
static int
make_parents(int tofd, const struct cas_manifest *m, const char *root,
    struct errs *errs)
{
	struct buf done = BUF_INIT;	/* last directory known to exist */
	struct stat st;
	int rc = 0;

	for (size_t i = 0; i < m->n; i++) {
		const char *p = m->files[i].path, *s;
		size_t dl;

		s = strrchr(p, '/');
		if (s == NULL)
			continue;
		dl = (size_t)(s - p);
		if (done.len == dl && memcmp(done.s, p, dl) == 0)
			continue;
		for (s = strchr(p, '/'); s != NULL; s = strchr(s + 1, '/')) {
			char *dir = xstrndup(p, (size_t)(s - p));

			if (fstatat(tofd, dir, &st, AT_SYMLINK_NOFOLLOW) == -1) {
				if (errno != ENOENT || (mkdirat(tofd, dir, 0777) == -1 &&
				    errno != EEXIST) || fstatat(tofd, dir, &st,
				    AT_SYMLINK_NOFOLLOW) == -1) {
					errs_add(errs, "cannot create directory "
					    "'%s/%s': %s", root, dir,
					    strerror(errno));
					rc = -1;
				}
			}
			if (rc == 0 && !S_ISDIR(st.st_mode)) {
				errs_add(errs, "cannot create '%s/%s': '%s/%s' is "
				    "in the way (%s)", root, p, root, dir,
				    S_ISLNK(st.st_mode) ? "a symbolic link" :
				    "not a directory");
				rc = -1;
			}
			free(dir);
			if (rc == -1)
				goto out;
		}
		buf_reset(&done);
		buf_add(&done, p, dl);
	}
out:
	buf_release(&done);
	return rc;
}

/* 1 and the hash if the cache knows the file at relative path p as st. */
static int
dl_cache_get(struct dljob *j, const char *p, const struct cas_stat *st,
    char hash[CAS_HASH_HEXLEN + 1])
{
	const char *slash = strrchr(p, '/'), *name = slash ? slash + 1 : p;
	unsigned char bin[CAS_HASH_BINLEN];
	size_t dl = slash ? (size_t)(slash - p) : 0, lo = 0, hi = j->recs.n;

	while (lo < hi) {	/* the records are sorted by rel */
		size_t mid = lo + (hi - lo) / 2;
		const char *r = j->recs.v[mid].rel;
		int c = strncmp(p, r, dl);

		if (c == 0 && r[dl] != '\0')
			c = -1;
		if (c == 0) {
			if (j->recs.v[mid].rec == NULL ||
			    !cas_hcdir_lookup(j->recs.v[mid].rec, name,
			    strlen(name), st, bin))
				return 0;
			cas_hash_bin_to_hex(bin, hash);
			return 1;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return 0;
}

/* 1 if the file at dest already has f's content (mtime fixed), 0 if not. */
static int
up_to_date(struct dljob *j, size_t i, const struct cas_file *f, int worker)
{
	struct cas_hashcache_row *row = &j->rows[i];
	char hash[CAS_HASH_HEXLEN + 1];
	struct stat st;
	uint64_t n;
	int fd, hit = 0;

	if (lstat(j->dests[i], &st) == -1 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size != f->size)
		return 0;
	stat_to_cas(&st, &row->st);
	if (dl_cache_get(j, f->path, &row->st, hash)) {
		hit = 1;
		j->wstats[worker].cached_files++;
	} else {
		fd = open(j->dests[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
		    O_NONBLOCK);
		if (fd == -1)
			return 0;
		row->hashed_at_ns = cas_now_ns();
		if (cas_hash_fd(fd, j->bufs[worker], CAS_IO_BUFSZ, hash, &n) == -1 ||
		    n != f->size) {
			close(fd);
			return 0;
		}
		close(fd);
		j->wstats[worker].hashed_files++;
		j->wstats[worker].hashed_bytes += n;
	}
	if (strcmp(hash, f->hash) != 0)
		return 0;
	if (ns_to_us(row->st.mtime_ns) != f->mtime_us) {
		struct timespec ts[2];

		ts[0].tv_sec = ts[1].tv_sec = f->mtime_us / 1000000;
		ts[0].tv_nsec = ts[1].tv_nsec = (long)(f->mtime_us % 1000000) * 1000;
		if (utimensat(AT_FDCWD, j->dests[i], ts, AT_SYMLINK_NOFOLLOW) == 0 &&
		    lstat(j->dests[i], &st) == 0) {
			stat_to_cas(&st, &row->st);
			row->hashed_at_ns = cas_now_ns();
			hit = 0;
		}
	}
	if (!hit) {
		row->path = j->dests[i];
		memcpy(row->hash, hash, sizeof(row->hash));
		if (row->hashed_at_ns == 0)
			row->hashed_at_ns = cas_now_ns();
	}
	return 1;
}

static void
download_one(void *arg, size_t i, int worker)
{
	struct dljob *j = arg;
	const struct cas_file *f = &j->m->files[i];
	struct cas_stats *ws = &j->wstats[worker];
	struct buf why = BUF_INIT;
	struct timespec ts[2];
	struct stat st;
	char *dir, *slash, *tmp = NULL, *err = NULL, got[CAS_HASH_HEXLEN + 1];
	size_t k, good = j->nstores;
	int fd, rc;

	if (up_to_date(j, i, f, worker)) {
		ws->present_files++;
		goto done;
	}
	if (lstat(j->dests[i], &st) == 0 && S_ISDIR(st.st_mode)) {
		errs_add(j->errs, "cannot write '%s': a directory is in the way",
		    j->dests[i]);
		goto done;
	}
	dir = xstrdup(j->dests[i]);
	slash = strrchr(dir, '/');
	*slash = '\0';
	fd = cas_tmpfile(dir, ".drover-dl-", &tmp);
	free(dir);
	if (fd == -1) {
		errs_add(j->errs, "cannot create a temporary file for '%s': %s",
		    j->dests[i], strerror(errno));
		goto done;
	}
	for (k = 0; k < j->nstores; k++) {
		if (ftruncate(fd, 0) == -1 || lseek(fd, 0, SEEK_SET) == -1) {
			errs_add(j->errs, "cannot write '%s': %s", tmp,
			    strerror(errno));
			goto fail;
		}
		rc = cas_store_get_fd(&j->stores[k], f->hash, f->size, fd,
		    j->bufs[worker], CAS_IO_BUFSZ, &err);
		if (rc == 0) {
			good = k;
			break;
		}
		if (rc == CAS_ECORRUPT)
			log_error("%s", err);
		buf_addf(&why, "%s%s", why.len ? "; " : "", err);
		free(err);
		err = NULL;
		if (rc == -1)
			break;
	}
	if (good == j->nstores) {
		errs_add(j->errs, "cannot download '%s': %s", f->path, why.s);
		goto fail;
	}
	/* write the good copy back to the stores that lacked it */
	for (k = 0; k < good; k++) {
		if (lseek(fd, 0, SEEK_SET) == -1 ||
		    cas_store_put_fd(&j->stores[k], fd, j->bufs[worker],
		    CAS_IO_BUFSZ, f->hash, got, NULL, &err) != 0) {
			log_warnx("cannot repair store '%s': %s",
			    j->stores[k].root, err ? err : strerror(errno));
			free(err);
			err = NULL;
		} else {
			log_info("repaired object %s in store '%s'", f->hash,
			    j->stores[k].root);
			ws->repaired_files++;
		}
	}
	ts[0].tv_sec = ts[1].tv_sec = f->mtime_us / 1000000;
	ts[0].tv_nsec = ts[1].tv_nsec = (long)(f->mtime_us % 1000000) * 1000;
	if (fchmod(fd, 0666 & ~cas_umask()) == -1 || futimens(fd, ts) == -1 ||
	    fstat(fd, &st) == -1 || close(fd) == -1) {
		errs_add(j->errs, "cannot write '%s': %s", tmp, strerror(errno));
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, j->dests[i]) == -1) {
		errs_add(j->errs, "cannot create '%s': %s", j->dests[i],
		    strerror(errno));
		goto fail;
	}
	free(tmp);
	tmp = NULL;
	ws->stored_files++;
	ws->stored_bytes += f->size;
	if (lstat(j->dests[i], &st) == 0) {
		stat_to_cas(&st, &j->rows[i].st);
		j->rows[i].path = j->dests[i];
		j->rows[i].hashed_at_ns = cas_now_ns();
		memcpy(j->rows[i].hash, f->hash, sizeof(f->hash));
	}
	goto done;
fail:
	if (fd != -1)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
done:
	buf_release(&why);
	cas_progress_add(&j->prog, 1, f->size);
}

int
cas_download(const struct cas_manifest *m, const struct cas_store *stores,
    size_t nstores, const char *to, const struct cas_opts *opts,
    struct cas_stats *stats, char **errp)
{
	struct dljob j;
	struct errs errs;
	char *err = NULL;
	size_t nrows = 0;
	int tofd, nworkers;

	memset(stats, 0, sizeof(*stats));
	memset(&j, 0, sizeof(j));
	errs_init(&errs);
	for (size_t i = 0; i < m->n; i++) {
		const char *why = cas_manifest_path_error(m->files[i].path);

		if (why != NULL || !cas_hash_valid(m->files[i].hash))
			errs_add(&errs, "refusing manifest entry '%s': %s",
			    m->files[i].path, why ? why : "bad hash");
		stats->bytes += m->files[i].size;
	}
	stats->files = m->n;
	if (errs.n > 0)
		return errs_finish(&errs, errp);
	if (cas_mkdirs(to, 0777) == -1 || (j.root = realpath(to, NULL)) == NULL ||
	    (tofd = open(j.root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		errs_add(&errs, "cannot create directory '%s': %s", to,
		    strerror(errno));
		free(j.root);
		return errs_finish(&errs, errp);
	}
	if (make_parents(tofd, m, j.root, &errs) == -1) {
		close(tofd);
		free(j.root);
		return errs_finish(&errs, errp);
	}
	close(tofd);

	j.m = m;
	j.stores = stores;
	j.nstores = nstores;
	j.opts = opts;
	j.errs = &errs;
	if (opts->hc != NULL) {
		struct recload l = { &j.recs, j.root, strlen(j.root) };

		if (cas_hashcache_scan_dirs(opts->hc, j.root, recmap_add, &l,
		    &err) == -1) {
			log_warnx("%s", err);
			free(err);
			err = NULL;
		}
		if (j.recs.n > 1)
			qsort(j.recs.v, j.recs.n, sizeof(*j.recs.v), recent_cmp);
		/* decoded now: the workers share them read-only */
		for (size_t i = 0; i < j.recs.n; i++)
			cas_hcdir_decode(j.recs.v[i].rec);
	}
	j.dests = xcalloc(m->n ? m->n : 1, sizeof(*j.dests));
	j.rows = xcalloc(m->n ? m->n : 1, sizeof(*j.rows));
	for (size_t i = 0; i < m->n; i++)
		j.dests[i] = xasprintf("%s/%s", j.root, m->files[i].path);
	nworkers = cas_pool_size(m->n, opts->threads);
	j.bufs = xcalloc((size_t)nworkers, sizeof(*j.bufs));
	for (int k = 0; k < nworkers; k++)
		j.bufs[k] = xmalloc(CAS_IO_BUFSZ);
	j.wstats = xcalloc((size_t)nworkers, sizeof(*j.wstats));
	cas_progress_init(&j.prog, "downloading", opts->progress, m->n,
	    stats->bytes);
	cas_pool_run(m->n, opts->threads, download_one, &j);
	cas_progress_finish(&j.prog);
	for (int k = 0; k < nworkers; k++) {
		stats->hashed_files += j.wstats[k].hashed_files;
		stats->hashed_bytes += j.wstats[k].hashed_bytes;
		stats->cached_files += j.wstats[k].cached_files;
		stats->stored_files += j.wstats[k].stored_files;
		stats->stored_bytes += j.wstats[k].stored_bytes;
		stats->present_files += j.wstats[k].present_files;
		stats->repaired_files += j.wstats[k].repaired_files;
		free(j.bufs[k]);
	}
	if (opts->hc != NULL) {
		for (size_t i = 0; i < m->n; i++)
			if (j.rows[i].path != NULL)
				j.rows[nrows++] = j.rows[i];
		if (cas_hashcache_put_many(opts->hc, j.rows, nrows, &err) == -1) {
			log_warnx("%s", err);
			free(err);
		}
	}
	for (size_t i = 0; i < m->n; i++)
		free(j.dests[i]);
	free(j.dests);
	free(j.rows);
	free(j.bufs);
	free(j.wstats);
	free(j.root);
	recmap_release(&j.recs);
	return errs_finish(&errs, errp);
}
