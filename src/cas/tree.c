/*
 * Snapshot, upload and download of directory trees.
 *
 * Snapshot and upload share one pipeline: load the hash cache rows under
 * the tree's root with one range scan, then walk and hash in parallel
 * (every worker reads directories and stats, looks up and hashes files,
 * relative to directory fds), then record the new hashes in one cache
 * transaction.  Upload additionally makes sure each object is in the
 * store: a cache hit is never taken to mean "already uploaded" — the store
 * is checked every time, and each distinct content is stored once.
 *
 * Small files (up to CAS_IO_BUFSZ) are read once into the worker's buffer,
 * hashed, and written to the store from that buffer if needed.  Big files
 * are hashed in a streaming pass and copied (and hashed again, so a change
 * in between is caught) only when the store lacks them.
 */
#define _GNU_SOURCE		/* fdopendir, dirent d_type */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
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

/* µs since the epoch, floored (as st_mtime_ns // 1000). */
static int64_t
ns_to_us(int64_t ns)
{
	return ns >= 0 ? ns / 1000 : -((-ns + 999) / 1000);
}

/* ---- the hash cache, loaded once per run ---- */

/* Rows under the tree's root, in an open-addressing table by path. */
struct hcmap {
	struct hcrow {
		char		*path;
		struct cas_stat	 st;
		char		 hash[CAS_HASH_HEXLEN + 1];
	}		*v;
	size_t		 n, cap;
};

static uint64_t
str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void
hcmap_add(void *arg, const char *path, const struct cas_stat *st,
    const char *hash)
{
	struct hcmap *m = arg;
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		struct hcmap old = *m;

		m->cap = m->cap ? m->cap * 2 : 1024;
		m->v = xcalloc(m->cap, sizeof(*m->v));
		m->n = 0;
		for (size_t k = 0; k < old.cap; k++) {
			if (old.v[k].path == NULL)
				continue;
			for (i = str_hash(old.v[k].path) & (m->cap - 1);
			    m->v[i].path != NULL; i = (i + 1) & (m->cap - 1))
				;
			m->v[i] = old.v[k];
			m->n++;
		}
		free(old.v);
	}
	for (i = str_hash(path) & (m->cap - 1); m->v[i].path != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (strcmp(m->v[i].path, path) == 0)
			return;
	m->v[i].path = xstrdup(path);
	m->v[i].st = *st;
	memcpy(m->v[i].hash, hash, CAS_HASH_HEXLEN + 1);
	m->n++;
}

/* The cached hash if the row matches st exactly, else NULL.  Read-only. */
static const char *
hcmap_get(const struct hcmap *m, const char *path, const struct cas_stat *st)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = str_hash(path) & (m->cap - 1); m->v[i].path != NULL;
	    i = (i + 1) & (m->cap - 1)) {
		const struct hcrow *r = &m->v[i];

		if (strcmp(r->path, path) != 0)
			continue;
		if (r->st.size == st->size && r->st.mtime_ns == st->mtime_ns &&
		    r->st.ctime_ns == st->ctime_ns && r->st.ino == st->ino)
			return r->hash;
		return NULL;
	}
	return NULL;
}

static void
hcmap_release(struct hcmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].path);
	free(m->v);
	memset(m, 0, sizeof(*m));
}

/* ---- walking and hashing in parallel ---- */

/*
 * Workers share a stack of tasks: read a directory (pushing a task for
 * each subdirectory and one per batch of other entries), or handle a batch
 * of entries of one directory (stat, look up, hash, store).  Batches let a
 * single huge directory spread over every worker.  Each file is opened
 * relative to its directory's fd, which stays open while batches of it are
 * pending (reference count).
 */
#define BATCH	64

struct dnode {
	struct dnode	*parent;	/* ancestors, for symlink cycles */
	dev_t		 dev;
	ino_t		 ino;
	char		*rel;		/* "" for the root */
	int		 fd;
	int		 refs;		/* under the queue mutex */
	struct dnode	*all;		/* every node, freed at the end */
};

struct task {
	struct dnode	*dir;
	int		 readdir;	/* 1: read dir; 0: handle names */
	char		*names;		/* NUL-separated */
	size_t		 n;
	struct task	*next;
};

struct item {
	char		*rel;		/* points into abs */
	char		*abs;
	struct cas_stat	 st;
	char		 hash[CAS_HASH_HEXLEN + 1];
	int64_t		 hashed_at;
	int		 hashed;	/* 1: add to the hash cache */
};

struct items {
	struct item	*v;
	size_t		 n, alloc;
};

/* Hashes already being stored by this run (each content is stored once). */
struct claims {
	pthread_mutex_t	  mu;
	char		(*slot)[CAS_HASH_HEXLEN + 1];
	size_t		  n, cap;
};

struct hashjob {
	char			*root;		/* realpath of the tree */
	const struct cas_store	*store;		/* NULL: snapshot only */
	const struct cas_opts	*opts;
	struct hcmap		 cache;
	struct claims		 claims;
	pthread_mutex_t		 mu;		/* queue, dnodes */
	pthread_cond_t		 cv;
	struct task		*queue;
	size_t			 pending;	/* queued + running tasks */
	struct dnode		*dirs;
	char			**bufs;		/* per worker */
	struct items		*items;		/* per worker */
	struct cas_stats	*wstats;	/* per worker */
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

/* Queues a task; called with j->mu held or not (locks itself). */
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

/* Drops a reference to a directory; the last one closes its fd. */
static void
dir_unref(struct hashjob *j, struct dnode *d)
{
	int close_it;

	pthread_mutex_lock(&j->mu);
	close_it = --d->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (close_it) {
		close(d->fd);
		d->fd = -1;
	}
}

/* Opens and queues a directory (parent's fd + name), refusing cycles. */
static void
add_dir(struct hashjob *j, struct dnode *parent, const char *name,
    const char *rel, int follow, int worker)
{
	struct dnode *d;
	struct stat st;
	int fd;

	fd = openat(parent ? parent->fd : AT_FDCWD, name, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC | (follow ? 0 : O_NOFOLLOW));
	if (fd == -1 || fstat(fd, &st) == -1) {
		errs_add(j->errs, "cannot open directory '%s/%s': %s", j->root,
		    rel, strerror(errno));
		if (fd != -1)
			close(fd);
		return;
	}
	for (struct dnode *a = parent; a != NULL; a = a->parent) {
		if (a->dev == st.st_dev && a->ino == st.st_ino) {
			log_warnx("skipping '%s/%s': symbolic link cycle", j->root,
			    rel);
			j->wstats[worker].skipped_entries++;
			close(fd);
			return;
		}
	}
	d = xcalloc(1, sizeof(*d));
	d->parent = parent;
	d->dev = st.st_dev;
	d->ino = st.st_ino;
	d->rel = xstrdup(rel);
	d->fd = fd;
	d->refs = 1;	/* the readdir task's */
	pthread_mutex_lock(&j->mu);
	d->all = j->dirs;
	j->dirs = d;
	pthread_mutex_unlock(&j->mu);
	{
		struct task *t = xcalloc(1, sizeof(*t));

		t->dir = d;
		t->readdir = 1;
		push_task(j, t);
	}
}

/* "a" "/" "b" without printf (this runs once per file) */
static char *
concat3(const char *a, const char *sep, const char *b)
{
	size_t la = strlen(a), ls = strlen(sep), lb = strlen(b);
	char *r = xmalloc(la + ls + lb + 1);

	memcpy(r, a, la);
	memcpy(r + la, sep, ls);
	memcpy(r + la + ls, b, lb + 1);
	return r;
}

static char *
join_rel(const char *dir, const char *name)
{
	return concat3(dir, *dir ? "/" : "", name);
}

static void
read_dir(struct hashjob *j, struct dnode *d, int worker)
{
	struct task *batch = NULL;
	struct buf names = BUF_INIT;
	struct dirent *de;
	DIR *dp;
	int fd2 = dup(d->fd);

	if (fd2 == -1 || (dp = fdopendir(fd2)) == NULL) {
		errs_add(j->errs, "cannot read directory '%s/%s': %s", j->root,
		    d->rel, strerror(errno));
		if (fd2 != -1)
			close(fd2);
		return;
	}
	while ((errno = 0, de = readdir(dp)) != NULL) {
		const char *name = de->d_name;

		if (name[0] == '.' && (name[1] == '\0' ||
		    (name[1] == '.' && name[2] == '\0')))
			continue;
		if (de->d_type == DT_DIR) {
			char *rel = join_rel(d->rel, name);

			add_dir(j, d, name, rel, 0, worker);
			free(rel);
			continue;
		}
		if (batch == NULL) {
			batch = xcalloc(1, sizeof(*batch));
			batch->dir = d;
		}
		buf_add(&names, name, strlen(name) + 1);
		if (++batch->n == BATCH) {
			batch->names = buf_detach(&names, NULL);
			push_task(j, batch);
			batch = NULL;
		}
	}
	if (errno != 0)
		errs_add(j->errs, "cannot read directory '%s/%s': %s", j->root,
		    d->rel, strerror(errno));
	if (batch != NULL) {
		batch->names = buf_detach(&names, NULL);
		push_task(j, batch);
	}
	buf_release(&names);
	closedir(dp);
}

/* Reads the whole (small) file into buf; returns the length or -1. */
static ssize_t
read_small(int fd, char *buf, size_t bufsz)
{
	size_t got = 0;

	while (got < bufsz) {
		ssize_t r = read(fd, buf + got, bufsz - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			return (ssize_t)got;
		got += (size_t)r;
	}
	/* full buffer: the file grew beyond the small-file size */
	errno = EFBIG;
	return -1;
}

static int
open_item(struct dnode *d, const char *name, int follow)
{
	return openat(d->fd, name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK |
	    (follow ? 0 : O_NOFOLLOW));
}

/*
 * Makes sure the object for it (hash known) is in the store.  data is the
 * file's content if in memory; else fd (or, if -1, the file is opened).
 */
static int
ensure_stored(struct hashjob *j, struct item *it, struct dnode *d,
    const char *name, int follow, int fd, const char *data, int worker)
{
	struct cas_stats *ws = &j->wstats[worker];
	char *err = NULL, got[CAS_HASH_HEXLEN + 1];
	int have, rc, own = 0;

	if (!claims_take(&j->claims, it->hash)) {
		/* another file of this tree has the same content */
		ws->present_files++;
		return 0;
	}
	have = cas_store_has(j->store, it->hash, it->st.size);
	if (have == 1 && j->opts->verify) {
		/* not the worker buffer: it may hold the file's data */
		char *vbuf = xmalloc(65536);

		rc = cas_store_verify(j->store, it->hash, vbuf, 65536, &err);
		free(vbuf);
		if (rc == CAS_ECORRUPT) {
			log_warnx("%s; storing it again from '%s'", err, it->abs);
			have = 0;
			ws->repaired_files++;
		} else if (rc != 0) {
			errs_add(j->errs, "%s", err);
			free(err);
			return -1;
		}
		free(err);
		err = NULL;
	}
	if (have == 1) {
		ws->present_files++;
		return 0;
	}
	if (have == -1) {
		errs_add(j->errs, "cannot check store '%s' for %s: %s",
		    j->store->root, it->hash, strerror(errno));
		return -1;
	}
	if (data != NULL)
		rc = cas_store_put_mem(j->store, data, it->st.size, it->hash, &err);
	else {
		if (fd == -1) {
			fd = open_item(d, name, follow);
			own = 1;
		}
		if (fd == -1 || lseek(fd, 0, SEEK_SET) == -1) {
			cas_seterr(&err, "%s", strerror(errno));
			rc = -1;
		} else
			rc = cas_store_put_fd(j->store, fd, j->bufs[worker],
			    CAS_IO_BUFSZ, it->hash, got, NULL, &err);
		if (own && fd != -1)
			close(fd);
	}
	if (rc != 0) {
		errs_add(j->errs, "cannot upload '%s': %s", it->abs, err);
		free(err);
		return -1;
	}
	ws->stored_files++;
	ws->stored_bytes += it->st.size;
	return 0;
}

/*
 * Hashes an open regular file whose walk-time stat is in it->st.  A small
 * file that did not change is read once (size + 1 bytes) and checked with
 * one fstat: getting exactly the size it still has afterwards, with the
 * walk's mtime, ctime and inode, means we read all of it as it was.
 */
static int
hash_open_file(struct hashjob *j, struct item *it, int fd, int worker,
    const char **datap)
{
	struct cas_stats *ws = &j->wstats[worker];
	char *buf = j->bufs[worker];
	struct cas_stat before = it->st, now;
	struct stat st;
	ssize_t len = -1;
	uint64_t n = 0;

	*datap = NULL;
	it->hashed_at = cas_now_ns();
	if (before.size < CAS_IO_BUFSZ) {
		size_t want = before.size + 1, got = 0;

		while (got < want) {
			ssize_t r = read(fd, buf + got, want - got);

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				break;
			got += (size_t)r;
		}
		if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
			stat_to_cas(&st, &now);
			if (got == now.size && now.size == before.size &&
			    now.mtime_ns == before.mtime_ns &&
			    now.ctime_ns == before.ctime_ns &&
			    now.ino == before.ino) {
				cas_hash_mem(buf, got, it->hash);
				ws->hashed_files++;
				ws->hashed_bytes += got;
				*datap = buf;
				return 0;
			}
		}
		if (lseek(fd, 0, SEEK_SET) == -1)
			goto fail;
	}
	/* the general path: fstat, read, fstat again */
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		errs_add(j->errs, "'%s' is no longer a regular file", it->abs);
		return -1;
	}
	stat_to_cas(&st, &it->st);
	it->hashed_at = cas_now_ns();
	if ((uint64_t)st.st_size < CAS_IO_BUFSZ) {
		len = read_small(fd, buf, CAS_IO_BUFSZ);
		if (len >= 0) {
			cas_hash_mem(buf, (size_t)len, it->hash);
			n = (uint64_t)len;
			*datap = buf;
		} else if (errno != EFBIG)
			goto fail;
	}
	if (len < 0 && (lseek(fd, 0, SEEK_SET) == -1 ||
	    cas_hash_fd(fd, buf, CAS_IO_BUFSZ, it->hash, &n) == -1))
		goto fail;
	stat_to_cas(&st, &before);
	if (fstat(fd, &st) == -1)
		goto fail;
	stat_to_cas(&st, &now);
	if (now.size != before.size || n != now.size ||
	    now.mtime_ns != before.mtime_ns) {
		errs_add(j->errs, "'%s' changed while it was being read", it->abs);
		return -1;
	}
	ws->hashed_files++;
	ws->hashed_bytes += n;
	return 0;
fail:
	errs_add(j->errs, "cannot read '%s': %s", it->abs, strerror(errno));
	return -1;
}

static void
handle_file(struct hashjob *j, struct dnode *d, const char *name,
    const struct stat *st, int follow, int worker)
{
	struct items *iv = &j->items[worker];
	struct cas_stats *ws = &j->wstats[worker];
	const char *why, *cached, *data;
	struct item *it;
	char *rel = join_rel(d->rel, name);
	int fd;

	if ((why = cas_manifest_path_error(rel)) != NULL) {
		errs_add(j->errs, "cannot record '%s/%s': the path %s", j->root,
		    rel, why);
		free(rel);
		return;
	}
	ALLOC_GROW(iv->v, iv->n + 1, iv->alloc);
	it = &iv->v[iv->n++];
	memset(it, 0, sizeof(*it));
	it->abs = concat3(j->root, "/", rel);
	it->rel = it->abs + strlen(j->root) + 1;
	free(rel);
	stat_to_cas(st, &it->st);
	cached = hcmap_get(&j->cache, it->abs, &it->st);
	if (cached != NULL) {
		memcpy(it->hash, cached, CAS_HASH_HEXLEN + 1);
		ws->cached_files++;
		/* a cache hit never means "uploaded": check the store */
		if (j->store != NULL)
			ensure_stored(j, it, d, name, follow, -1, NULL, worker);
		goto done;
	}
	fd = open_item(d, name, follow);
	if (fd == -1) {
		errs_add(j->errs, "cannot open '%s': %s", it->abs, strerror(errno));
		goto done;
	}
	if (hash_open_file(j, it, fd, worker, &data) == 0 &&
	    (j->store == NULL ||
	    ensure_stored(j, it, d, name, follow, fd, data, worker) == 0))
		it->hashed = 1;
	close(fd);
done:
	cas_progress_add(&j->prog, 1, it->st.size);
}

static void
handle_names(struct hashjob *j, struct task *t, int worker)
{
	const char *name = t->names;
	struct stat st;

	for (size_t k = 0; k < t->n; k++, name += strlen(name) + 1) {
		int follow = 0;

		if (fstatat(t->dir->fd, name, &st, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT) {	/* removed since readdir */
				log_warnx("skipping '%s/%s%s%s': it vanished",
				    j->root, t->dir->rel, *t->dir->rel ? "/" : "",
				    name);
				j->wstats[worker].skipped_entries++;
				continue;
			}
			errs_add(j->errs, "cannot stat '%s/%s%s%s': %s", j->root,
			    t->dir->rel, *t->dir->rel ? "/" : "", name,
			    strerror(errno));
			continue;
		}
		if (S_ISLNK(st.st_mode)) {
			follow = 1;
			if (fstatat(t->dir->fd, name, &st, 0) == -1) {
				log_warnx("skipping symbolic link '%s/%s%s%s': %s",
				    j->root, t->dir->rel, *t->dir->rel ? "/" : "",
				    name, strerror(errno));
				j->wstats[worker].skipped_entries++;
				continue;
			}
		}
		if (S_ISREG(st.st_mode))
			handle_file(j, t->dir, name, &st, follow, worker);
		else if (S_ISDIR(st.st_mode)) {
			char *rel = join_rel(t->dir->rel, name);

			add_dir(j, t->dir, name, rel, follow, worker);
			free(rel);
		} else {
			log_warnx("skipping '%s/%s%s%s': not a regular file",
			    j->root, t->dir->rel, *t->dir->rel ? "/" : "", name);
			j->wstats[worker].skipped_entries++;
		}
	}
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
		else
			handle_names(j, t, worker);
		dir_unref(j, t->dir);
		free(t->names);
		free(t);
		pthread_mutex_lock(&j->mu);
		if (--j->pending == 0)
			pthread_cond_broadcast(&j->cv);
		pthread_mutex_unlock(&j->mu);
	}
}

static int
item_cmp(const void *a, const void *b)
{
	return strcmp(((const struct item *)a)->rel,
	    ((const struct item *)b)->rel);
}

static int
tree_run(const char *dir, const struct cas_store *store,
    const struct cas_opts *opts, struct cas_manifest *m, struct cas_stats *stats,
    char **errp)
{
	struct errs errs;
	struct hashjob j;
	struct items all = { NULL, 0, 0 };
	struct cas_hashcache_row *rows;
	char *err = NULL;
	size_t nrows = 0;
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
	if (opts->hc != NULL && cas_hashcache_scan(opts->hc, j.root, hcmap_add,
	    &j.cache, &err) == -1) {
		log_warnx("%s", err);	/* hash everything instead */
		free(err);
		err = NULL;
	}
	nworkers = opts->threads > 0 ? opts->threads : cas_ncpu();
	pthread_mutex_init(&j.mu, NULL);
	pthread_cond_init(&j.cv, NULL);
	claims_init(&j.claims);
	j.bufs = xcalloc((size_t)nworkers, sizeof(*j.bufs));
	for (int k = 0; k < nworkers; k++)
		j.bufs[k] = xmalloc(CAS_IO_BUFSZ);
	j.items = xcalloc((size_t)nworkers, sizeof(*j.items));
	j.wstats = xcalloc((size_t)nworkers, sizeof(*j.wstats));
	cas_progress_init(&j.prog, store ? "uploading" : "hashing",
	    opts->progress, 0, 0);
	add_dir(&j, NULL, j.root, "", 1, 0);
	cas_pool_run_each(nworkers, walk_worker, &j);
	cas_progress_finish(&j.prog);

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
		ALLOC_GROW(all.v, all.n + j.items[k].n, all.alloc);
		if (j.items[k].n > 0)
			memcpy(all.v + all.n, j.items[k].v,
			    j.items[k].n * sizeof(*all.v));
		all.n += j.items[k].n;
		free(j.items[k].v);
	}
	free(j.bufs);
	free(j.items);
	free(j.wstats);
	claims_release(&j.claims);
	pthread_mutex_destroy(&j.mu);
	pthread_cond_destroy(&j.cv);
	while (j.dirs != NULL) {
		struct dnode *d = j.dirs;

		j.dirs = d->all;
		if (d->fd != -1)
			close(d->fd);
		free(d->rel);
		free(d);
	}
	hcmap_release(&j.cache);
	if (all.n > 1)
		qsort(all.v, all.n, sizeof(*all.v), item_cmp);
	stats->files = all.n;
	for (size_t i = 0; i < all.n; i++)
		stats->bytes += all.v[i].st.size;

	if (opts->hc != NULL && errs.n == 0) {
		rows = xcalloc(all.n ? all.n : 1, sizeof(*rows));
		for (size_t i = 0; i < all.n; i++) {
			if (!all.v[i].hashed)
				continue;
			rows[nrows].path = all.v[i].abs;
			rows[nrows].st = all.v[i].st;
			memcpy(rows[nrows].hash, all.v[i].hash,
			    sizeof(all.v[i].hash));
			rows[nrows].hashed_at_ns = all.v[i].hashed_at;
			nrows++;
		}
		if (cas_hashcache_put_many(opts->hc, rows, nrows, &err) == -1) {
			log_warnx("%s", err);	/* a cache failure is not fatal */
			free(err);
		}
		free(rows);
	}

	rc = errs_finish(&errs, errp);
	if (rc == 0) {
		for (size_t i = 0; i < all.n; i++) {
			struct cas_file *f = cas_manifest_add(m, all.v[i].rel);

			memcpy(f->hash, all.v[i].hash, sizeof(f->hash));
			f->size = all.v[i].st.size;
			f->mtime_us = ns_to_us(all.v[i].st.mtime_ns);
			if (f->mtime_us < 0) {
				cas_seterr(errp, "'%s' has a modification time "
				    "before 1970, which a manifest cannot hold",
				    all.v[i].abs);
				rc = -1;
				break;
			}
		}
		if (rc == 0)
			cas_manifest_sort(m);
		else
			cas_manifest_release(m);
	}
	for (size_t i = 0; i < all.n; i++)
		free(all.v[i].abs);
	free(all.v);
	free(j.root);
	return rc;
}

int
cas_snapshot(const char *dir, const struct cas_opts *opts,
    struct cas_manifest *m, struct cas_stats *stats, char **errp)
{
	return tree_run(dir, NULL, opts, m, stats, errp);
}

int
cas_upload(const char *dir, const struct cas_store *store,
    const struct cas_opts *opts, struct cas_manifest *m,
    struct cas_stats *stats, char **errp)
{
	return tree_run(dir, store, opts, m, stats, errp);
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
	if (j->opts->hc != NULL &&
	    cas_hashcache_get(j->opts->hc, j->dests[i], &row->st, hash) == 1) {
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
	return errs_finish(&errs, errp);
}
