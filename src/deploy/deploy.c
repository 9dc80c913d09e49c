/*
 * drover deploy: make every dependency of a deployment file present in the
 * shared cache (fetch, verify, unpack — once per host, under the entry's
 * lock) and then link or copy it into its destination.
 *
 * An entry becomes visible in one rename: it is assembled in downloading/
 * (fetched file, unpacked content/, info file last) and renamed onto
 * <repository>/<platform>/<name>/<version> only after the hash checked out,
 * so a reader that sees the info file sees a complete entry.  Readers of an
 * existing entry take no lock; fetchers and updaters hold it.
 */
#define _GNU_SOURCE		/* mkdtemp */
#include <sys/stat.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cas/fsutil.h"
#include "cas/pool.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "deploy/deploy.h"
#include "deploy/fetch.h"
#include "deploy/lock.h"
#include "deploy/unpack.h"

char *
deploy_cache_default(void)
{
	const char *v = getenv("DROVER_DEPLOY_CACHE");
	char *home, *p;

	if (v != NULL && *v != '\0')
		return xstrdup(v);
	home = cas_drover_home();
	p = cas_path_join(home, "deploy-cache");
	free(home);
	return p;
}

char *
deploy_entry_dir(const char *cache, const struct deploy_dep *d)
{
	return xasprintf("%s/%s/%s/%s/%s", cache, d->repository, d->platform,
	    d->name, d->version);
}

/* ---- entry info file ---- */

struct entry_info {
	char		 hash[CAS_HASH_HEXLEN + 1];
	uint64_t	 size;
	uint64_t	 unpacked;	/* bytes in content/ */
	char		*source;
	char		*unpack;
	char		*etag;
	char		*last_modified;
	char		*fetched_at;
	time_t		 last_used;	/* mtime of the info file */
};

static void
info_release(struct entry_info *i)
{
	free(i->source);
	free(i->unpack);
	free(i->etag);
	free(i->last_modified);
	free(i->fetched_at);
	memset(i, 0, sizeof(*i));
}

static char *
json_str_dup(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? xstrdup(json_string_value(v)) : NULL;
}

/* 0 if entry holds a complete, readable info file of our format. */
static int
info_read(const char *entry, struct entry_info *i)
{
	char *path = cas_path_join(entry, DEPLOY_INFO_NAME);
	struct stat st;
	json_t *o, *v;
	const char *h;
	int rc = -1;

	memset(i, 0, sizeof(*i));
	o = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
	if (o == NULL || stat(path, &st) == -1)
		goto out;
	v = json_object_get(o, "formatVersion");
	if (!json_is_integer(v) || json_integer_value(v) != DEPLOY_ENTRY_VERSION)
		goto out;
	v = json_object_get(o, "hash");
	h = json_is_string(v) ? json_string_value(v) : "";
	if (strncmp(h, CAS_HASH_ALG ":", 7) != 0 || !cas_hash_valid(h + 7))
		goto out;
	memcpy(i->hash, h + 7, sizeof(i->hash));
	i->size = (uint64_t)json_integer_value(json_object_get(o, "size"));
	i->unpacked = (uint64_t)json_integer_value(json_object_get(o,
	    "unpackedSize"));
	i->source = json_str_dup(o, "source");
	i->unpack = json_str_dup(o, "unpack");
	i->etag = json_str_dup(o, "etag");
	i->last_modified = json_str_dup(o, "lastModified");
	i->fetched_at = json_str_dup(o, "fetchedAt");
	i->last_used = st.st_mtime;
	rc = 0;
out:
	if (rc == -1)
		info_release(i);
	json_decref(o);
	free(path);
	return rc;
}

static int
info_write(const char *dir, const struct deploy_dep *d,
    const struct deploy_fetched *f, uint64_t unpacked, char **errp)
{
	char *path = cas_path_join(dir, DEPLOY_INFO_NAME), *text, stamp[32];
	time_t now = time(NULL);
	struct tm tm;
	json_t *o;
	int rc;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	o = json_object();
	json_object_set_new(o, "formatVersion", json_integer(DEPLOY_ENTRY_VERSION));
	json_object_set_new(o, "name", json_string(d->name));
	json_object_set_new(o, "version", json_string(d->version));
	json_object_set_new(o, "platform", json_string(d->platform));
	json_object_set_new(o, "repository", json_string(d->repository));
	json_object_set_new(o, "source", json_string(d->source));
	json_object_set_new(o, "hash", json_sprintf(CAS_HASH_ALG ":%s", f->hash));
	json_object_set_new(o, "size", json_integer((json_int_t)f->size));
	json_object_set_new(o, "unpack", json_string(deploy_unpack_name(d->unpack)));
	json_object_set_new(o, "unpackedSize", json_integer((json_int_t)unpacked));
	json_object_set_new(o, "fetchedAt", json_string(stamp));
	if (f->etag != NULL)
		json_object_set_new(o, "etag", json_string(f->etag));
	if (f->last_modified != NULL)
		json_object_set_new(o, "lastModified",
		    json_string(f->last_modified));
	text = json_dumps(o, JSON_SORT_KEYS | JSON_INDENT(2));
	json_decref(o);
	rc = cas_write_file_atomic(path, text, strlen(text), 0644, errp);
	free(text);
	free(path);
	return rc;
}

/* Marks the entry as used now (for cache gc); best effort. */
static void
info_touch(const char *entry)
{
	char *path = cas_path_join(entry, DEPLOY_INFO_NAME);

	utimensat(AT_FDCWD, path, NULL, 0);
	free(path);
}

/* ---- fetching an entry ---- */

enum entry_status {
	ST_CACHED,	/* was there */
	ST_FETCHED,	/* fetched now */
	ST_UPDATED,	/* keep_updated: the source changed */
	ST_UNCHANGED,	/* keep_updated: checked, same */
	ST_DRY,		/* dry run: see the message */
	ST_FAILED,
};

struct group {
	size_t		*deps;		/* indexes into the file */
	size_t		 n;
	char		*entry;
	enum entry_status status;
	char		*err;
	char		*dry;		/* dry-run description */
	char		**msgs;		/* per dep: output line or NULL */
	char		**errs;		/* per dep: error or NULL */
};

struct run {
	const struct deploy_file *f;
	const struct deploy_opts *o;
	struct group	*g;
	size_t		 ng;
	atomic_int	 seq;		/* unique temp names */
};

/* Moves path into <cache>/trash and removes it there. */
static int
discard(const struct run *r, const char *path)
{
	char *trash = cas_path_join(r->o->cache, "trash"), *dst;
	int rc;

	if (cas_mkdirs(trash, 0777) == -1) {
		free(trash);
		return cas_rmtree(path);
	}
	dst = xasprintf("%s/%ld.%lld.%d", trash, (long)getpid(),
	    (long long)cas_now_ns(), atomic_fetch_add((atomic_int *)&r->seq, 1));
	if (rename(path, dst) == -1) {
		rc = errno == ENOENT ? 0 : cas_rmtree(path);
	} else
		rc = cas_rmtree(dst);
	free(dst);
	free(trash);
	return rc;
}

/*
 * Fetches d into a new staging directory and, unless the source turns out
 * unchanged (old != NULL), installs it as the entry.  Called under the lock.
 */
static int
fetch_entry(struct run *r, const struct deploy_dep *d, const char *entry,
    const struct entry_info *old, enum entry_status *st, char **errp)
{
	char *dl = cas_path_join(r->o->cache, "downloading"), *stage = NULL;
	char *file = NULL, *content = NULL, *tmpl, *short_host;
	struct deploy_fetched f;
	struct unpack_limits lim;
	struct unpack_result res = { 0, 0 };
	uint64_t max = d->max_size ? d->max_size : r->o->max_size;
	int rc = -1;

	memset(&f, 0, sizeof(f));
	if (cas_mkdirs(dl, 0777) == -1) {
		cas_seterr(errp, "cannot create '%s': %s", dl, strerror(errno));
		goto out;
	}
	short_host = xstrndup(r->o->host_id, 8);
	tmpl = xasprintf("%s/%s.%ld.%s-%s.XXXXXX", dl, short_host, (long)getpid(),
	    d->name, d->version);
	free(short_host);
	if ((stage = mkdtemp(tmpl)) == NULL) {
		cas_seterr(errp, "cannot create a directory in '%s': %s", dl,
		    strerror(errno));
		free(tmpl);
		goto out;
	}
	file = cas_path_join(stage, "download");
	content = cas_path_join(stage, "content");
	if (deploy_fetch(d, file, max, old ? old->etag : NULL,
	    old ? old->last_modified : NULL, &f, errp) == -1)
		goto out;
	if (old != NULL && (f.not_modified || strcmp(f.hash, old->hash) == 0)) {
		*st = ST_UNCHANGED;
		rc = 0;
		goto out;
	}
	if (d->hash[0] && strcmp(f.hash, d->hash) != 0) {
		cas_seterr(errp, "hash mismatch for '%s': got " CAS_HASH_ALG ":%s, "
		    "expected " CAS_HASH_ALG ":%s", d->source, f.hash, d->hash);
		goto out;
	}
	if (d->size >= 0 && f.size != (uint64_t)d->size) {
		cas_seterr(errp, "size mismatch for '%s': got %llu bytes, "
		    "expected %lld", d->source, (unsigned long long)f.size,
		    (long long)d->size);
		goto out;
	}
	if (mkdir(content, 0755) == -1) {
		cas_seterr(errp, "cannot create '%s': %s", content, strerror(errno));
		goto out;
	}
	if (d->unpack == DEPLOY_UNPACK_NONE) {
		char *dst = cas_path_join(content, d->filename);
		struct stat sst;
		mode_t mode = d->executable ? 0555 : 0444;

		if (d->kind == DEPLOY_SRC_FILE && stat(d->location, &sst) == 0 &&
		    (sst.st_mode & 0111))
			mode = 0555;
		if (rename(file, dst) == -1 || chmod(dst, mode) == -1) {
			cas_seterr(errp, "cannot move '%s' into the cache: %s",
			    file, strerror(errno));
			free(dst);
			goto out;
		}
		free(dst);
		res.bytes = f.size;
	} else {
		lim.max_bytes = max;
		lim.max_entries = r->o->max_entries;
		if (deploy_unpack(file, d->unpack, content, &lim, &res, errp) ==
		    -1) {
			char *m = *errp;

			*errp = NULL;
			cas_seterr(errp, "cannot unpack '%s': %s", d->source, m);
			free(m);
			goto out;
		}
		unlink(file);
	}
	if (info_write(stage, d, &f, res.bytes, errp) == -1)
		goto out;
	if (old != NULL || access(entry, F_OK) == 0) {
		if (discard(r, entry) == -1)
			log_warn("cannot remove old entry '%s'", entry);
	}
	if (rename(stage, entry) == -1) {
		cas_seterr(errp, "cannot install '%s': %s", entry, strerror(errno));
		goto out;
	}
	free(stage);
	stage = NULL;
	*st = old ? ST_UPDATED : ST_FETCHED;
	rc = 0;
out:
	if (stage != NULL) {
		cas_rmtree(stage);
		free(stage);
	}
	deploy_fetched_release(&f);
	free(file);
	free(content);
	free(dl);
	return rc;
}

static int
ensure_entry(struct run *r, struct group *g, const struct deploy_dep *d)
{
	struct entry_info info;
	char *lock, *parent, *slash;
	int have, rc;

	have = info_read(g->entry, &info) == 0;
	if (have && !d->keep_updated) {
		info_release(&info);
		info_touch(g->entry);
		g->status = ST_CACHED;
		return 0;
	}
	if (r->o->dry_run) {
		g->dry = have ? xasprintf("cached in %s; would check %s for "
		    "updates", g->entry, d->source) :
		    xasprintf("would fetch %s into %s", d->source, g->entry);
		if (have)
			info_release(&info);
		g->status = ST_DRY;
		return 0;
	}
	if (have)
		info_release(&info);
	parent = xstrdup(g->entry);
	slash = strrchr(parent, '/');
	*slash = '\0';
	if (cas_mkdirs(parent, 0777) == -1) {
		cas_seterr(&g->err, "cannot create '%s': %s", parent,
		    strerror(errno));
		free(parent);
		return -1;
	}
	free(parent);
	lock = xasprintf("%s.lock", g->entry);
	rc = deploy_lock_acquire(lock, r->o->host_id, r->o->lock_timeout, &g->err);
	if (rc != 0) {
		free(lock);
		return -1;
	}
	/* someone may have fetched it while we waited */
	have = info_read(g->entry, &info) == 0;
	if (have && !d->keep_updated) {
		g->status = ST_CACHED;
		info_touch(g->entry);
		rc = 0;
	} else {
		rc = fetch_entry(r, d, g->entry, have ? &info : NULL, &g->status,
		    &g->err);
		if (rc == 0)
			info_touch(g->entry);
	}
	if (have)
		info_release(&info);
	deploy_lock_release(lock, r->o->host_id);
	free(lock);
	return rc;
}

/* ---- placing the content ---- */

struct place {
	const struct deploy_dep	*d;
	struct run		*r;
	int			 force;		/* content is new: recopy all */
	int			 warned_exdev;
	uint64_t		 changed;
};

static char *
tmp_name(struct run *r, const char *dst)
{
	char *dir = xstrdup(dst), *s = strrchr(dir, '/'), *t;

	*s = '\0';
	t = xasprintf("%s/.drover-%ld-%d", dir, (long)getpid(),
	    atomic_fetch_add(&r->seq, 1));
	free(dir);
	return t;
}

/* Puts tmp in place of dst, which must not be a directory. */
static int
replace(const char *tmp, const char *dst, char **errp)
{
	struct stat st;

	if (lstat(dst, &st) == 0 && S_ISDIR(st.st_mode)) {
		cas_seterr(errp, "cannot deploy '%s': a directory is in the way",
		    dst);
		unlink(tmp);
		return -1;
	}
	if (rename(tmp, dst) == -1) {
		cas_seterr(errp, "cannot create '%s': %s", dst, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static int
place_symlink(struct place *p, const char *target, const char *dst,
    char **errp)
{
	char buf[4096], *tmp;
	ssize_t n;

	n = readlink(dst, buf, sizeof(buf) - 1);
	if (n >= 0 && (buf[n] = '\0', strcmp(buf, target) == 0))
		return 0;
	tmp = tmp_name(p->r, dst);
	if (symlink(target, tmp) == -1) {
		cas_seterr(errp, "cannot create symbolic link '%s': %s", dst,
		    strerror(errno));
		free(tmp);
		return -1;
	}
	n = replace(tmp, dst, errp);
	free(tmp);
	p->changed += n == 0;
	return (int)n;
}

static int
place_copy(struct place *p, const char *src, const struct stat *sst,
    const char *dst, char **errp)
{
	struct stat dstst;
	struct timespec ts[2];
	char *tmp = NULL, *buf;
	int in, out, rc = -1;
	ssize_t r;

	/* archives may keep mtimes across versions: trust them only when
	 * the entry itself did not change in this run */
	if (!p->force && lstat(dst, &dstst) == 0 && S_ISREG(dstst.st_mode) &&
	    dstst.st_size == sst->st_size &&
	    dstst.st_mtim.tv_sec == sst->st_mtim.tv_sec &&
	    dstst.st_mtim.tv_nsec == sst->st_mtim.tv_nsec)
		return 0;
	in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in == -1) {
		cas_seterr(errp, "cannot read '%s': %s", src, strerror(errno));
		return -1;
	}
	{
		char *dir = xstrdup(dst), *s = strrchr(dir, '/');

		*s = '\0';
		out = cas_tmpfile(dir, ".drover-", &tmp);
		free(dir);
	}
	if (out == -1) {
		cas_seterr(errp, "cannot create a file next to '%s': %s", dst,
		    strerror(errno));
		close(in);
		return -1;
	}
	buf = xmalloc(CAS_IO_BUFSZ);
	while ((r = read(in, buf, CAS_IO_BUFSZ)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || cas_write_all(out, buf, (size_t)r) == -1) {
			cas_seterr(errp, "cannot copy '%s': %s", src,
			    strerror(errno));
			goto out;
		}
	}
	ts[0] = sst->st_atim;
	ts[1] = sst->st_mtim;
	if (fchmod(out, ((sst->st_mode & 0111) ? 0755 : 0644) & ~cas_umask()) ==
	    -1 || futimens(out, ts) == -1) {
		cas_seterr(errp, "cannot write '%s': %s", dst, strerror(errno));
		goto out;
	}
	if (close(out) == -1) {
		out = -1;
		cas_seterr(errp, "cannot write '%s': %s", dst, strerror(errno));
		goto out;
	}
	out = -1;
	rc = replace(tmp, dst, errp);
	p->changed += rc == 0;
	free(tmp);
	tmp = NULL;
out:
	free(buf);
	close(in);
	if (out != -1)
		close(out);
	if (tmp != NULL) {
		unlink(tmp);
		free(tmp);
	}
	return rc;
}

static int
place_hardlink(struct place *p, const char *src, const struct stat *sst,
    const char *dst, char **errp)
{
	struct stat dstst;
	char *tmp;
	int rc;

	if (lstat(dst, &dstst) == 0 && dstst.st_dev == sst->st_dev &&
	    dstst.st_ino == sst->st_ino)
		return 0;
	tmp = tmp_name(p->r, dst);
	if (link(src, tmp) == -1) {
		int saved = errno;

		free(tmp);
		if (saved == EXDEV || saved == EPERM || saved == EMLINK) {
			if (!p->warned_exdev)
				log_warnx("cannot hard-link '%s' into '%s' (%s); "
				    "copying instead", p->d->name,
				    p->d->destination, strerror(saved));
			p->warned_exdev = 1;
			return place_copy(p, src, sst, dst, errp);
		}
		cas_seterr(errp, "cannot link '%s': %s", dst, strerror(saved));
		return -1;
	}
	rc = replace(tmp, dst, errp);
	p->changed += rc == 0;
	free(tmp);
	return rc;
}

/* Mirrors the tree src (a directory) into dst. */
static int
place_tree(struct place *p, const char *src, const char *dst, char **errp)
{
	struct dirent *de;
	struct stat st, dst_st;
	DIR *dir;
	int rc = 0;

	if (lstat(dst, &dst_st) == -1) {
		if (errno != ENOENT || cas_mkdirs(dst, 0777) == -1) {
			cas_seterr(errp, "cannot create directory '%s': %s", dst,
			    strerror(errno));
			return -1;
		}
	} else if (!S_ISDIR(dst_st.st_mode)) {
		cas_seterr(errp, "cannot deploy into '%s': it exists and is not a "
		    "directory", dst);
		return -1;
	}
	if ((dir = opendir(src)) == NULL) {
		cas_seterr(errp, "cannot read '%s': %s", src, strerror(errno));
		return -1;
	}
	while (rc == 0 && (de = readdir(dir)) != NULL) {
		char *s, *t;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		s = cas_path_join(src, de->d_name);
		t = cas_path_join(dst, de->d_name);
		if (lstat(s, &st) == -1) {
			cas_seterr(errp, "cannot stat '%s': %s", s, strerror(errno));
			rc = -1;
		} else if (S_ISDIR(st.st_mode)) {
			rc = place_tree(p, s, t, errp);
		} else if (S_ISLNK(st.st_mode)) {
			char buf[4096];
			ssize_t n = readlink(s, buf, sizeof(buf) - 1);

			if (n < 0) {
				cas_seterr(errp, "cannot read link '%s': %s", s,
				    strerror(errno));
				rc = -1;
			} else {
				buf[n] = '\0';
				rc = place_symlink(p, buf, t, errp);
			}
		} else if (S_ISREG(st.st_mode)) {
			switch (p->d->link) {
			case DEPLOY_SYMLINK:
				rc = place_symlink(p, s, t, errp);
				break;
			case DEPLOY_HARDLINK:
				rc = place_hardlink(p, s, &st, t, errp);
				break;
			case DEPLOY_COPY:
				rc = place_copy(p, s, &st, t, errp);
				break;
			}
		}
		free(s);
		free(t);
	}
	closedir(dir);
	return rc;
}

static void
deploy_group(void *arg, size_t gi, int worker)
{
	struct run *r = arg;
	struct group *g = &r->g[gi];
	const struct deploy_dep *d0 = &r->f->deps[g->deps[0]];
	static const char *const words[] = { "cached", "fetched", "updated",
	    "up to date", "", "failed" };

	(void)worker;
	if (ensure_entry(r, g, d0) == -1) {
		g->status = ST_FAILED;
		for (size_t k = 0; k < g->n; k++)
			g->errs[k] = xstrdup(g->err);
		return;
	}
	for (size_t k = 0; k < g->n; k++) {
		const struct deploy_dep *d = &r->f->deps[g->deps[k]];
		struct place p = { d, r, g->status == ST_FETCHED ||
		    g->status == ST_UPDATED, 0, 0 };
		char *content, *err = NULL;

		if (r->o->dry_run) {
			if (g->status == ST_DRY)
				g->msgs[k] = xasprintf("%s; would %s into %s",
				    g->dry, deploy_link_name(d->link),
				    d->destination);
			else
				g->msgs[k] = xasprintf("cached in %s; would %s "
				    "into %s", g->entry, deploy_link_name(d->link),
				    d->destination);
			continue;
		}
		content = cas_path_join(g->entry, "content");
		if (place_tree(&p, content, d->destination, &err) == -1)
			g->errs[k] = err;
		else
			g->msgs[k] = xasprintf("%s -> %s (%s%s)",
			    words[g->status], d->destination,
			    deploy_link_name(d->link),
			    p.changed ? "" : ", already in place");
		free(content);
	}
}

int
deploy_run(const struct deploy_file *f, const struct deploy_opts *o)
{
	struct run r;
	int failed = 0;

	memset(&r, 0, sizeof(r));
	r.f = f;
	r.o = o;
	atomic_init(&r.seq, 0);
	r.g = xcalloc(f->n ? f->n : 1, sizeof(*r.g));
	for (size_t i = 0; i < f->n; i++) {
		char *entry = deploy_entry_dir(o->cache, &f->deps[i]);
		size_t k;

		for (k = 0; k < r.ng; k++)
			if (strcmp(r.g[k].entry, entry) == 0)
				break;
		if (k == r.ng) {
			r.g[k].entry = entry;
			r.g[k].deps = xcalloc(f->n, sizeof(size_t));
			r.ng++;
		} else
			free(entry);
		r.g[k].deps[r.g[k].n++] = i;
	}
	for (size_t k = 0; k < r.ng; k++) {
		r.g[k].msgs = xcalloc(r.g[k].n, sizeof(char *));
		r.g[k].errs = xcalloc(r.g[k].n, sizeof(char *));
	}
	deploy_fetch_global_init();
	cas_pool_run(r.ng, o->jobs > 0 ? o->jobs : 4, deploy_group, &r);
	deploy_fetch_global_cleanup();
	/* report in file order */
	for (size_t i = 0; i < f->n; i++) {
		const struct deploy_dep *d = &f->deps[i];

		for (size_t k = 0; k < r.ng; k++) {
			for (size_t m = 0; m < r.g[k].n; m++) {
				if (r.g[k].deps[m] != i)
					continue;
				if (r.g[k].errs[m] != NULL) {
					fprintf(stderr, "drover deploy: %s %s (%s): "
					    "%s\n", d->name, d->version, d->platform,
					    r.g[k].errs[m]);
					failed = 1;
				} else if (r.g[k].msgs[m] != NULL && o->out)
					fprintf(o->out, "%s %s (%s): %s\n", d->name,
					    d->version, d->platform, r.g[k].msgs[m]);
			}
		}
	}
	for (size_t k = 0; k < r.ng; k++) {
		for (size_t m = 0; m < r.g[k].n; m++) {
			free(r.g[k].msgs[m]);
			free(r.g[k].errs[m]);
		}
		free(r.g[k].msgs);
		free(r.g[k].errs);
		free(r.g[k].deps);
		free(r.g[k].entry);
		free(r.g[k].err);
		free(r.g[k].dry);
	}
	free(r.g);
	return failed ? -1 : 0;
}

/* ---- cache ls / gc ---- */

struct found {
	char	*rel;		/* repository/platform/name/version */
	char	*path;
};

/* Lists entry directories (depth 4), skipping downloading/ and trash/. */
static void
find_entries(const char *dir, const char *rel, int depth, struct found **v,
    size_t *n, size_t *alloc)
{
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		char *p, *r;

		if (de->d_name[0] == '.')
			continue;
		if (depth == 0 && (strcmp(de->d_name, "downloading") == 0 ||
		    strcmp(de->d_name, "trash") == 0))
			continue;
		p = cas_path_join(dir, de->d_name);
		if (depth == 3 && lstat(p, &st) == 0 && S_ISREG(st.st_mode) &&
		    strlen(de->d_name) > 5 && strcmp(de->d_name +
		    strlen(de->d_name) - 5, ".lock") == 0) {
			/* a lock without its entry: being fetched */
			p[strlen(p) - 5] = '\0';
			if (lstat(p, &st) == -1 && errno == ENOENT) {
				ALLOC_GROW(*v, *n + 1, *alloc);
				(*v)[*n].rel = xasprintf("%s/%.*s", rel,
				    (int)strlen(de->d_name) - 5, de->d_name);
				(*v)[(*n)++].path = p;
				continue;
			}
			free(p);
			continue;
		}
		if (lstat(p, &st) == -1 || !S_ISDIR(st.st_mode)) {
			free(p);
			continue;
		}
		r = *rel ? xasprintf("%s/%s", rel, de->d_name) :
		    xstrdup(de->d_name);
		if (depth == 3) {
			ALLOC_GROW(*v, *n + 1, *alloc);
			(*v)[*n].rel = r;
			(*v)[(*n)++].path = p;
			continue;
		}
		find_entries(p, r, depth + 1, v, n, alloc);
		free(p);
		free(r);
	}
	closedir(d);
}

static int
found_cmp(const void *a, const void *b)
{
	return strcmp(((const struct found *)a)->rel,
	    ((const struct found *)b)->rel);
}

static void
found_free(struct found *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].rel);
		free(v[i].path);
	}
	free(v);
}

int
deploy_cache_ls(const char *cache, int json, FILE *out)
{
	struct found *v = NULL;
	size_t n = 0, alloc = 0;
	json_t *arr = json ? json_array() : NULL;

	find_entries(cache, "", 0, &v, &n, &alloc);
	if (n > 1)
		qsort(v, n, sizeof(*v), found_cmp);
	if (!json && n > 0)
		fprintf(out, "%-40s %10s  %-20s %s\n", "ENTRY", "SIZE",
		    "LAST USED", "SOURCE");
	for (size_t i = 0; i < n; i++) {
		struct entry_info info;
		char *lock = xasprintf("%s.lock", v[i].path), *holder = NULL;
		char sz[32], when[32] = "-";
		pid_t pid;
		int ok = info_read(v[i].path, &info) == 0;
		struct tm tm;

		if (deploy_lock_read(lock, &holder, &pid) == 0) {
			char *h = xasprintf("%s::%ld", holder, (long)pid);

			free(holder);
			holder = h;
		}
		if (ok) {
			localtime_r(&info.last_used, &tm);
			strftime(when, sizeof(when), "%Y-%m-%d %H:%M", &tm);
		}
		if (json) {
			json_t *o = json_object();

			json_object_set_new(o, "entry", json_string(v[i].rel));
			json_object_set_new(o, "path", json_string(v[i].path));
			json_object_set_new(o, "complete", json_boolean(ok));
			if (ok) {
				json_object_set_new(o, "hash", json_sprintf(
				    CAS_HASH_ALG ":%s", info.hash));
				json_object_set_new(o, "size",
				    json_integer((json_int_t)info.size));
				json_object_set_new(o, "unpackedSize",
				    json_integer((json_int_t)info.unpacked));
				json_object_set_new(o, "source",
				    json_string(info.source ? info.source : ""));
				json_object_set_new(o, "lastUsed",
				    json_integer((json_int_t)info.last_used));
			}
			if (holder != NULL)
				json_object_set_new(o, "lockedBy",
				    json_string(holder));
			json_array_append_new(arr, o);
		} else {
			fprintf(out, "%-40s %10s  %-20s %s%s%s%s\n", v[i].rel,
			    ok ? cas_fmt_bytes(info.unpacked, sz, sizeof(sz)) : "-",
			    when, ok && info.source ? info.source : "(incomplete)",
			    holder ? "  [locked by " : "", holder ? holder : "",
			    holder ? "]" : "");
		}
		if (ok)
			info_release(&info);
		free(holder);
		free(lock);
	}
	if (json) {
		char *s = json_dumps(arr, JSON_INDENT(2));

		fprintf(out, "%s\n", s);
		free(s);
		json_decref(arr);
	}
	found_free(v, n);
	return 0;
}

/* Removes a staging or trash leftover if its owner is gone. */
static void
gc_leftovers(const char *cache, const char *sub, const char *host_id,
    int dry_run, FILE *out)
{
	char *dir = cas_path_join(cache, sub);
	char *short_host = xstrndup(host_id, 8);
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	time_t now = time(NULL);

	if (d == NULL) {
		free(dir);
		free(short_host);
		return;
	}
	while ((de = readdir(d)) != NULL) {
		char *p, *dot;
		long pid = 0;
		int dead = 0;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		p = cas_path_join(dir, de->d_name);
		if (lstat(p, &st) == -1) {
			free(p);
			continue;
		}
		if (strcmp(sub, "downloading") == 0) {
			/* <host8>.<pid>.<name>-<version>.XXXXXX */
			dot = strchr(de->d_name, '.');
			if (dot != NULL && (size_t)(dot - de->d_name) ==
			    strlen(short_host) &&
			    strncmp(de->d_name, short_host, strlen(short_host)) == 0)
				pid = strtol(dot + 1, NULL, 10);
			dead = pid > 0 && deploy_lock_stale(host_id, (pid_t)pid,
			    st.st_mtime, host_id);
		} else
			dead = now - st.st_mtime > 3600;
		if (dead || now - st.st_mtime > 86400) {
			fprintf(out, "%s %s/%s\n", dry_run ? "would remove" :
			    "removed", sub, de->d_name);
			if (!dry_run)
				cas_rmtree(p);
		}
		free(p);
	}
	closedir(d);
	free(dir);
	free(short_host);
}

int
deploy_cache_gc(const char *cache, double keep_days, int dry_run,
    const char *host_id, FILE *out)
{
	struct found *v = NULL;
	size_t n = 0, alloc = 0;
	time_t now = time(NULL);
	uint64_t freed = 0, kept = 0, removed = 0;
	struct run r;
	struct deploy_opts o;
	char sz[32];
	int rc = 0;

	memset(&r, 0, sizeof(r));
	memset(&o, 0, sizeof(o));
	o.cache = cache;
	r.o = &o;
	find_entries(cache, "", 0, &v, &n, &alloc);
	if (n > 1)
		qsort(v, n, sizeof(*v), found_cmp);
	for (size_t i = 0; i < n; i++) {
		struct entry_info info;
		struct stat st;
		char *lock, *err = NULL;
		time_t used;
		int ok = info_read(v[i].path, &info) == 0;

		used = ok ? info.last_used :
		    (stat(v[i].path, &st) == 0 ? st.st_mtime : now);
		if ((double)(now - used) < keep_days * 86400.0) {
			kept++;
			if (ok)
				info_release(&info);
			continue;
		}
		lock = xasprintf("%s.lock", v[i].path);
		if (dry_run) {
			fprintf(out, "would remove %s (%s)\n", v[i].rel, ok ?
			    cas_fmt_bytes(info.unpacked, sz, sizeof(sz)) :
			    "incomplete");
		} else if (deploy_lock_acquire(lock, host_id, 0, &err) != 0) {
			fprintf(out, "kept %s: %s\n", v[i].rel, err);
			free(err);
			kept++;
		} else {
			if (discard(&r, v[i].path) == -1) {
				fprintf(out, "cannot remove %s: %s\n", v[i].rel,
				    strerror(errno));
				rc = -1;
			} else {
				fprintf(out, "removed %s (%s)\n", v[i].rel, ok ?
				    cas_fmt_bytes(info.unpacked, sz, sizeof(sz)) :
				    "incomplete");
				freed += ok ? info.unpacked : 0;
				removed++;
			}
			deploy_lock_release(lock, host_id);
			/* drop empty name/platform/repository directories */
			{
				char *p = xstrdup(v[i].path);

				for (int k = 0; k < 3; k++) {
					char *s = strrchr(p, '/');

					if (s == NULL)
						break;
					*s = '\0';
					if (strlen(p) <= strlen(cache) ||
					    rmdir(p) == -1)
						break;
				}
				free(p);
			}
		}
		if (ok)
			info_release(&info);
		free(lock);
	}
	gc_leftovers(cache, "downloading", host_id, dry_run, out);
	gc_leftovers(cache, "trash", host_id, dry_run, out);
	if (!dry_run)
		fprintf(out, "%llu entries removed (%s), %llu kept\n",
		    (unsigned long long)removed,
		    cas_fmt_bytes(freed, sz, sizeof(sz)),
		    (unsigned long long)kept);
	found_free(v, n);
	return rc;
}
