/*
 * Snapshots through the file-system watcher (watch.h): the client's state
 * file, and the choice between the saved manifest as it is, a partial
 * walk patched into it, and a full walk.
 *
 * The state file (little-endian; str = u32 length, bytes, NUL):
 *
 *	"DRWATCH1" str root, str config, str token, u64 files, u64 total,
 *	u32 nnotes, nnotes x str, u64 mlen, manifest bytes,
 *	u64 ilen, index (files x { u64 off, u64 len, u64 size, str path }),
 *	16 bytes: XXH3-128 of everything before
 *
 * It is written to a temporary file and renamed, not fsync'd: a state
 * torn by a crash fails its checksum and costs one full walk.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "cas/hash.h"
#include "cas/manifest.h"
#include "cas/watch.h"
#include "common/log.h"
#include "common/xmalloc.h"

#ifndef DROVER_VERSION
#define DROVER_VERSION "unknown"
#endif

#define STATE_MAGIC	"DRWATCH1"
/* more changed paths than this (and than 1/8 of the tree): walk it all */
#define PATCH_MAX_PATHS	4096
#define PATCH_MIN_PATHS	256

const char *
cas_watch_config(void)
{
	/* bump the state version whenever a walk records trees otherwise */
	return "state 1; drover " DROVER_VERSION "; manifest "
	    CAS_MANIFEST_VERSION " " CAS_HASH_ALG "; symbolic links followed";
}

/* ---- encoding ---- */

static void
put_u32(struct buf *b, uint32_t v)
{
	unsigned char p[4];

	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, p, 4);
}

static void
put_u64(struct buf *b, uint64_t v)
{
	unsigned char p[8];

	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
	buf_add(b, p, 8);
}

static void
put_str(struct buf *b, const char *s)
{
	size_t n = strlen(s);

	put_u32(b, (uint32_t)n);
	buf_add(b, s, n + 1);
}

struct rd {
	const unsigned char	*p;
	size_t			 len;
	size_t			 pos;
	int			 bad;
};

static uint64_t
get_n(struct rd *r, int bytes)
{
	uint64_t v = 0;

	if (r->bad || r->len - r->pos < (size_t)bytes) {
		r->bad = 1;
		return 0;
	}
	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | r->p[r->pos + (size_t)i];
	r->pos += (size_t)bytes;
	return v;
}

static const char *
get_str(struct rd *r)
{
	uint64_t n = get_n(r, 4);
	const char *s;

	if (r->bad || r->len - r->pos < n + 1 || r->p[r->pos + n] != '\0' ||
	    memchr(r->p + r->pos, '\0', n) != NULL) {
		r->bad = 1;
		return "";
	}
	s = (const char *)r->p + r->pos;
	r->pos += n + 1;
	return s;
}

void
cas_watch_index_add(struct buf *idx, const char *path, uint64_t off,
    uint64_t len, uint64_t size)
{
	put_u64(idx, off);
	put_u64(idx, len);
	put_u64(idx, size);
	put_str(idx, path);
}

int
cas_watch_index_next(const char *idx, size_t len, size_t *pos,
    struct cas_watch_ient *e)
{
	struct rd r = { (const unsigned char *)idx, len, *pos, 0 };

	if (*pos >= len)
		return 1;
	e->off = get_n(&r, 8);
	e->len = get_n(&r, 8);
	e->size = get_n(&r, 8);
	e->path = get_str(&r);
	if (r.bad)
		return -1;
	*pos = r.pos;
	return 0;
}

void
cas_watch_state_encode(const struct cas_watch_state *st, struct buf *out)
{
	char tok[CAS_WATCH_TOKEN_MAX];
	unsigned char sum[CAS_HASH_BINLEN];
	size_t start = out->len;

	buf_grow(out, st->mlen + st->ilen + 4096);
	buf_add(out, STATE_MAGIC, 8);
	put_str(out, st->root);
	put_str(out, st->config);
	cas_watch_token_format(&st->token, tok);
	put_str(out, tok);
	put_u64(out, st->files);
	put_u64(out, st->total);
	put_u32(out, (uint32_t)st->nnotes);
	for (size_t i = 0; i < st->nnotes; i++)
		put_str(out, st->notes[i]);
	put_u64(out, st->mlen);
	buf_add(out, st->manifest, st->mlen);
	put_u64(out, st->ilen);
	buf_add(out, st->index, st->ilen);
	cas_hash_mem_bin(out->s + start, out->len - start, sum);
	buf_add(out, sum, sizeof(sum));
}

/* Decodes mem[0..len) (owned by st from now on). */
static int
state_decode(struct cas_watch_state *st, char **errp)
{
	struct rd r = { st->mem, st->memlen, 8, 0 };
	unsigned char sum[CAS_HASH_BINLEN];
	const char *tok;
	uint64_t n, len;

	if (st->memlen < 8 + CAS_HASH_BINLEN ||
	    memcmp(st->mem, STATE_MAGIC, 8) != 0) {
		cas_seterr(errp, "not a watch state");
		return -1;
	}
	r.len -= CAS_HASH_BINLEN;
	cas_hash_mem_bin(st->mem, r.len, sum);
	if (memcmp(sum, r.p + r.len, sizeof(sum)) != 0) {
		cas_seterr(errp, "watch state checksum mismatch");
		return -1;
	}
	st->root = get_str(&r);
	st->config = get_str(&r);
	tok = get_str(&r);
	if (!r.bad && cas_watch_token_parse(tok, strlen(tok), &st->token) == -1)
		r.bad = 1;
	st->files = get_n(&r, 8);
	st->total = get_n(&r, 8);
	n = get_n(&r, 4);
	if (!r.bad && n <= r.len) {
		st->notes = xcalloc(n ? n : 1, sizeof(*st->notes));
		for (; st->nnotes < n && !r.bad; st->nnotes++)
			st->notes[st->nnotes] = get_str(&r);
	} else
		r.bad = 1;
	len = get_n(&r, 8);
	if (!r.bad && len <= r.len - r.pos) {
		st->manifest = (const char *)r.p + r.pos;
		st->mlen = len;
		r.pos += len;
	} else
		r.bad = 1;
	len = get_n(&r, 8);
	if (!r.bad && len == r.len - r.pos) {
		st->index = (const char *)r.p + r.pos;
		st->ilen = len;
	} else
		r.bad = 1;
	if (r.bad) {
		cas_seterr(errp, "malformed watch state");
		return -1;
	}
	return 0;
}

int
cas_watch_state_decode(struct cas_watch_state *st, char *data, size_t len,
    char **errp)
{
	memset(st, 0, sizeof(*st));
	st->mem = data;
	st->memlen = len;
	if (state_decode(st, errp) == -1) {
		cas_watch_state_release(st);
		return -1;
	}
	return 0;
}

int
cas_watch_state_load(struct cas_watch_state *st, const char *path,
    char **errp)
{
	struct stat sb;
	void *m;
	int fd, e;

	memset(st, 0, sizeof(*st));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		e = errno;
		cas_seterr(errp, "cannot open '%s': %s", path, strerror(e));
		errno = e;
		return -1;
	}
	if (fstat(fd, &sb) == -1 || sb.st_size == 0 ||
	    (m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd,
	    0)) == MAP_FAILED) {
		e = errno;
		close(fd);
		cas_seterr(errp, "cannot read '%s': %s", path, sb.st_size == 0 ?
		    "empty" : strerror(e));
		errno = EINVAL;
		return -1;
	}
	close(fd);
	st->mem = m;
	st->memlen = (size_t)sb.st_size;
	st->mapped = 1;
	if (state_decode(st, errp) == -1) {
		cas_watch_state_release(st);
		errno = EINVAL;
		return -1;
	}
	return 0;
}

void
cas_watch_state_release(struct cas_watch_state *st)
{
	if (st->mapped)
		munmap(st->mem, st->memlen);
	else
		free(st->mem);
	free(st->notes);
	memset(st, 0, sizeof(*st));
}

/* ---- the selection of a partial walk ---- */

static int
str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* 1 if path or one of its ancestors is a key of set. */
static int
covered(const struct cas_wmap *set, const char *path, struct buf *tmp)
{
	const char *s;

	if (set->n == 0)
		return 0;
	if (cas_wmap_get(set, path) != NULL)
		return 1;
	for (s = strchr(path, '/'); s != NULL; s = strchr(s + 1, '/')) {
		buf_reset(tmp);
		buf_add(tmp, path, (size_t)(s - path));
		if (cas_wmap_get(set, tmp->s) != NULL)
			return 1;
	}
	return 0;
}

/*
 * The paths to walk again: the changed ones and the noted ones, sorted,
 * without duplicates or paths under another.  Strings borrowed.
 */
static const char **
selection(char **a, size_t na, const char *const *b, size_t nb, size_t *np)
{
	const char **v = xcalloc(na + nb + 1, sizeof(*v));
	struct cas_wmap set;
	struct buf tmp = BUF_INIT;
	size_t n = 0, k = 0;

	for (size_t i = 0; i < na; i++)
		v[n++] = a[i];
	for (size_t i = 0; i < nb; i++)
		v[n++] = b[i];
	qsort(v, n, sizeof(*v), str_cmp);
	cas_wmap_init(&set, 0);
	for (size_t i = 0; i < n; i++)
		cas_wmap_put(&set, v[i]);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i], v[i - 1]) == 0)
			continue;
		/* an ancestor in the set covers it */
		{
			const char *s;
			int under = 0;

			for (s = strchr(v[i], '/'); s != NULL && !under;
			    s = strchr(s + 1, '/')) {
				buf_reset(&tmp);
				buf_add(&tmp, v[i], (size_t)(s - v[i]));
				under = cas_wmap_get(&set, tmp.s) != NULL;
			}
			if (under || (*v[i] != '\0' && cas_wmap_get(&set, "")))
				continue;
		}
		v[k++] = v[i];
	}
	cas_wmap_release(&set);
	buf_release(&tmp);
	*np = k;
	return v;
}

/* ---- building outputs ---- */

struct built {
	struct buf	*out;
	struct buf	 idx;
	uint64_t	 files;
	uint64_t	 total;
};

static void
index_entry(void *arg, const char *path, size_t off, size_t len,
    uint64_t size)
{
	struct built *b = arg;

	cas_watch_index_add(&b->idx, path, off, len, size);
	b->files++;
	b->total += size;
}

/*
 * The saved entries not under sel, merged with m's (the partial walk's),
 * written canonically into b->out with their index.  0, or -1 if the
 * saved index is malformed or the two overlap (never, if both are right).
 */
static int
patch(const struct cas_watch_state *st, const char *const *sel, size_t nsel,
    const struct cas_manifest *m, struct built *b)
{
	struct cas_watch_ient e;
	struct cas_wmap set;
	struct buf tmp = BUF_INIT;
	size_t pos = 0, k = 0;
	int have, rc = 0;

	cas_wmap_init(&set, 0);
	for (size_t i = 0; i < nsel; i++)
		cas_wmap_put(&set, sel[i]);
	buf_grow(b->out, st->mlen + m->n * 128 + 128);
	cas_manifest_write_begin(b->out);
	have = cas_watch_index_next(st->index, st->ilen, &pos, &e);
	for (;;) {
		int c;

		while (have == 0 && covered(&set, e.path, &tmp))
			have = cas_watch_index_next(st->index, st->ilen, &pos, &e);
		if (have == -1 || (have == 0 && (e.off > st->mlen ||
		    e.len > st->mlen - e.off))) {
			rc = -1;
			break;
		}
		if (have != 0 && k == m->n)
			break;
		c = have != 0 ? 1 : k == m->n ? -1 :
		    cas_path_cmp(e.path, m->files[k].path);
		if (c == 0) {
			rc = -1;
			break;
		}
		if (c < 0) {
			size_t off = b->out->len + (b->files > 0);

			if (b->files > 0)
				buf_addch(b->out, ',');
			buf_add(b->out, st->manifest + e.off, e.len);
			index_entry(b, e.path, off, e.len, e.size);
			have = cas_watch_index_next(st->index, st->ilen, &pos, &e);
		} else {
			const struct cas_file *f = &m->files[k++];
			size_t off = b->out->len + (b->files > 0);

			cas_manifest_write_entry(b->out, b->files == 0, f->path,
			    f->hash, f->mtime_us, f->size);
			index_entry(b, f->path, off, b->out->len - off, f->size);
		}
	}
	if (rc == 0)
		cas_manifest_write_end(b->out, b->total);
	cas_wmap_release(&set);
	buf_release(&tmp);
	return rc;
}

/* Writes the state (temp file + rename); a failure is only a warning. */
static void
state_save(const struct cas_watch_files *f, const char *root,
    const struct cas_watch_token *tok, const char **notes, size_t nnotes,
    const struct built *b)
{
	struct cas_watch_state st;
	struct buf enc = BUF_INIT;
	char *tmp = NULL;
	int fd;

	memset(&st, 0, sizeof(st));
	st.root = root;
	st.config = cas_watch_config();
	st.token = *tok;
	st.files = b->files;
	st.total = b->total;
	st.notes = notes;
	st.nnotes = nnotes;
	st.manifest = b->out->s;
	st.mlen = b->out->len;
	st.index = b->idx.s;
	st.ilen = b->idx.len;
	cas_watch_state_encode(&st, &enc);
	fd = cas_tmpfile(f->dir, ".state-", &tmp);
	if (fd == -1 || cas_write_all(fd, enc.s, enc.len) == -1 ||
	    close(fd) == -1 || rename(tmp, f->state) == -1) {
		log_warn("cannot save the watch state '%s'", f->state);
		if (tmp != NULL)
			unlink(tmp);
	}
	free(tmp);
	buf_release(&enc);
}

/* Sorted, unique copies of the notes' paths (borrowed from n). */
static const char **
notes_sorted(struct cas_walk_notes *n, size_t *np)
{
	const char **v = xcalloc(n->n + 1, sizeof(*v));
	size_t k = 0;

	if (n->n > 1)
		qsort(n->paths, n->n, sizeof(*n->paths), str_cmp);
	for (size_t i = 0; i < n->n; i++)
		if (k == 0 || strcmp(v[k - 1], n->paths[i]) != 0)
			v[k++] = n->paths[i];
	*np = k;
	return v;
}

/* ---- the snapshot ---- */

static void
open_cache(struct cas_opts *o, int use_cache)
{
	char *path, *err = NULL;

	if (!use_cache || o->hc != NULL)
		return;
	path = cas_hashcache_default_path();
	if (cas_hashcache_open(&o->hc, path, &err) == -1) {
		log_warnx("%s; continuing without it", err);
		free(err);
		o->hc = NULL;
	}
	free(path);
}

static void
set_why(struct cas_watch_result *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
set_why(struct cas_watch_result *r, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(r->why);
	r->why = buf_detach(&b, NULL);
}

/*
 * The partial walk for a "changes" answer: 1 done (r filled, state
 * saved), 0 a full walk is needed (r->why says why), -1 never.
 */
static int
try_patch(const char *dir, const char *root, struct cas_opts *o,
    int use_cache, const struct cas_watch_files *f,
    const struct cas_watch_reply *rep, struct cas_watch_result *r,
    struct cas_stats *stats)
{
	struct cas_manifest m = CAS_MANIFEST_INIT;
	struct cas_walk_notes notes = { NULL, 0, 0 };
	struct built b;
	const char **sel, **keep, **nv;
	char *err = NULL;
	size_t nsel, nkeep = 0, nn;
	int done = 0;

	sel = selection(rep->paths, rep->npaths, r->st.notes, r->st.nnotes,
	    &nsel);
	if (nsel == 0) {
		/* nothing changed, nothing noted: the saved bytes */
		r->data = r->st.manifest;
		r->len = r->st.mlen;
		r->how = CAS_WATCH_UNCHANGED;
		stats->files = r->st.files;
		stats->bytes = r->st.total;
		free(sel);
		return 1;
	}
	for (size_t i = 0; i < nsel; i++) {
		if (*sel[i] == '\0') {
			set_why(r, "the root itself changed");
			goto out;
		}
		if (!cas_relpath_safe(sel[i])) {
			set_why(r, "a changed path cannot be recorded alone");
			goto out;
		}
	}
	if (nsel > PATCH_MAX_PATHS || (nsel > PATCH_MIN_PATHS &&
	    nsel > r->st.files / 8)) {
		set_why(r, "%zu paths changed", nsel);
		goto out;
	}
	open_cache(o, use_cache);
	if (cas_snapshot_select(dir, sel, nsel, o, &m, stats, &notes,
	    &err) == -1) {
		/* the full walk says it again, as a plain snapshot would */
		set_why(r, "the partial walk failed");
		free(err);
		goto out;
	}
	memset(&b, 0, sizeof(b));
	b.out = &r->b;
	buf_init(&b.idx);
	if (patch(&r->st, sel, nsel, &m, &b) == -1) {
		set_why(r, "the saved state does not fit the tree");
		buf_reset(&r->b);
		buf_release(&b.idx);
		goto out;
	}
	/* notes: the old ones not walked again, and the new ones */
	{
		struct cas_wmap set;
		struct buf tmp = BUF_INIT;

		cas_wmap_init(&set, 0);
		for (size_t i = 0; i < nsel; i++)
			cas_wmap_put(&set, sel[i]);
		keep = xcalloc(r->st.nnotes + notes.n + 1, sizeof(*keep));
		for (size_t i = 0; i < r->st.nnotes; i++)
			if (!covered(&set, r->st.notes[i], &tmp))
				keep[nkeep++] = r->st.notes[i];
		nv = notes_sorted(&notes, &nn);
		for (size_t i = 0; i < nn; i++)
			keep[nkeep++] = nv[i];
		qsort(keep, nkeep, sizeof(*keep), str_cmp);
		free(nv);
		cas_wmap_release(&set);
		buf_release(&tmp);
	}
	state_save(f, root, &rep->tok, keep, nkeep, &b);
	free(keep);
	buf_release(&b.idx);
	stats->files = b.files;
	stats->bytes = b.total;
	r->data = r->b.s;
	r->len = r->b.len;
	r->how = CAS_WATCH_PATCHED;
	r->npaths = nsel;
	done = 1;
out:
	cas_manifest_release(&m);
	cas_walk_notes_release(&notes);
	free(sel);
	return done;
}

int
cas_watch_snapshot(const char *dir, const struct cas_opts *opts,
    int use_cache, struct cas_watch_result *r, struct cas_stats *stats,
    char **errp)
{
	struct cas_watch_files f;
	struct cas_watch_reply rep;
	struct cas_watch_req q;
	struct cas_walk_notes notes = { NULL, 0, 0 };
	struct cas_opts o = *opts;
	struct statfs sfs;
	struct stat sb;
	const char *fsname;
	char *root, *err = NULL;
	int fd = -1, have_state = 0, save = 0, rc = 0;

	memset(r, 0, sizeof(*r));
	memset(&rep, 0, sizeof(rep));
	memset(&f, 0, sizeof(f));
	memset(stats, 0, sizeof(*stats));
	buf_init(&r->b);
	o.hc = NULL;
	root = realpath(dir, NULL);
	if (root == NULL || stat(root, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		set_why(r, "not a directory");	/* the walk says more */
		goto full;
	}
	if (statfs(root, &sfs) == 0 &&
	    !cas_watch_fs_local((long)sfs.f_type, &fsname)) {
		set_why(r, "'%s' is on a %s file system, which is not watched",
		    root, fsname);
		goto full;
	}
	cas_watch_files_init(&f, root);
	if (cas_watch_state_load(&r->st, f.state, &err) == 0) {
		if (strcmp(r->st.root, root) == 0 &&
		    strcmp(r->st.config, cas_watch_config()) == 0)
			have_state = 1;
		else
			cas_watch_state_release(&r->st);
	} else if (errno != ENOENT)
		log_info("ignoring the watch state: %s", err);
	memset(&q, 0, sizeof(q));
	q.kind = have_state ? CAS_WREQ_SINCE : CAS_WREQ_TOKEN;
	if (have_state)
		q.tok = r->st.token;
	/* twice: a watcher may exit (idle) just as we connect */
	for (int attempt = 0;; attempt++) {
		if ((fd = cas_watch_connect(root, 1, &err)) == -1) {
			set_why(r, "no watcher: %s", err);
			goto full;
		}
		if (cas_watch_call(fd, &q, &rep, &err) == 0)
			break;
		close(fd);
		fd = -1;
		if (attempt > 0) {
			set_why(r, "%s", err);
			goto full;
		}
	}
	if (rep.kind == CAS_WREP_ERROR || (rep.kind != CAS_WREP_TOKEN &&
	    rep.kind != CAS_WREP_CHANGES && rep.kind != CAS_WREP_RESET)) {
		set_why(r, "watcher: %s", rep.text ? rep.text : "unexpected "
		    "answer");
		goto full;
	}
	if (rep.dev != (uint64_t)sb.st_dev || rep.ino != (uint64_t)sb.st_ino) {
		struct cas_watch_reply bye;

		/* it watches a directory that was replaced: stop it, and a
		 * new one starts next time */
		set_why(r, "the watcher watched a directory that was replaced");
		q.kind = CAS_WREQ_STOP;
		if (cas_watch_call(fd, &q, &bye, NULL) == 0)
			cas_watch_reply_release(&bye);
		goto full;
	}
	save = 1;	/* the answer's token was taken before any walk */
	if (rep.kind == CAS_WREP_TOKEN) {
		set_why(r, "no saved state");
		goto full;
	}
	if (rep.kind == CAS_WREP_RESET) {
		set_why(r, "reset: %s", rep.text);
		goto full;
	}
	if (try_patch(root, root, &o, use_cache, &f, &rep, r, stats))
		goto out;
full:
	if (r->how != CAS_WATCH_FULL)
		goto out;
	if (r->st.mem != NULL)
		cas_watch_state_release(&r->st);
	open_cache(&o, use_cache);
	buf_reset(&r->b);
	{
		struct built b;

		memset(&b, 0, sizeof(b));
		b.out = &r->b;
		buf_init(&b.idx);
		free(err);
		err = NULL;
		/* the real path once resolved: the one the watcher watches */
		if (cas_snapshot_bytes_ex(root ? root : dir, &o, &r->b, stats,
		    save ? &notes : NULL, save ? index_entry : NULL, &b,
		    &err) == -1) {
			cas_seterr(errp, "%s", err);
			rc = -1;
		} else if (save) {
			size_t nn;
			const char **nv = notes_sorted(&notes, &nn);

			state_save(&f, root, &rep.tok, nv, nn, &b);
			free(nv);
		}
		buf_release(&b.idx);
	}
	r->data = r->b.s;
	r->len = r->b.len;
out:
	if (fd != -1)
		close(fd);
	cas_walk_notes_release(&notes);
	cas_watch_reply_release(&rep);
	if (f.dir != NULL)
		cas_watch_files_release(&f);
	cas_hashcache_close(o.hc);
	free(err);
	free(root);
	return rc;
}

void
cas_watch_result_release(struct cas_watch_result *r)
{
	buf_release(&r->b);
	cas_watch_state_release(&r->st);
	free(r->why);
	memset(r, 0, sizeof(*r));
}
