/*
 * SQLite hash cache with one row per directory.  A record is a blob:
 *
 *	"DHC2" count:u32
 *	count x { size:u64 mtime_ns:i64 ctime_ns:i64 ino:u64 hash:16 bytes
 *		  namelen:u16 name }		(integers little-endian)
 *
 * An entry is used only if size, mtime, ctime (nanoseconds) and inode all
 * match the file now.  Concurrency: WAL, synchronous=NORMAL, a long busy
 * timeout, and writes in BEGIN IMMEDIATE so the busy handler covers them
 * (records are read and rewritten inside that transaction); set-up
 * statements that may still see SQLITE_BUSY (journal mode switch on a
 * brand new file) are retried.  The table of earlier versions (hashes_v1,
 * one row per file) is left alone.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "cas/fsutil.h"
#include "cas/hashcache.h"
#include "common/xmalloc.h"

#define BUSY_TIMEOUT_MS	120000
#define REC_MAGIC	"DHC2"
#define REC_HDR		8
#define ENT_FIXED	(8 + 8 + 8 + 8 + CAS_HASH_BINLEN + 2)

struct cas_hashcache {
	sqlite3		*db;
	sqlite3_stmt	*get;		/* one directory's record */
	pthread_mutex_t	 mu;
};

struct cas_hcdir {
	unsigned char	*blob;		/* owned */
	size_t		 len;
	int		 decoded;	/* 1 ok, -1 malformed, 0 not yet */
	size_t		 n;
	uint32_t	*off;		/* entry offsets */
	uint32_t	*slot;		/* hash of names: entry + 1, 0 empty */
	size_t		 cap;		/* power of two */
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS dirs_v2("
    " dir TEXT PRIMARY KEY NOT NULL,"
    " entries BLOB NOT NULL)";

char *
cas_hashcache_default_path(void)
{
	char *home = cas_drover_home();
	char *p = cas_path_join(home, "hash-cache.db");

	free(home);
	return p;
}

static void
nap_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/* exec with retries on BUSY/LOCKED for statements the busy handler skips */
static int
exec_retry(sqlite3 *db, const char *sql)
{
	int rc, tries = 0;

	for (;;) {
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
		if ((rc != SQLITE_BUSY && rc != SQLITE_LOCKED) || ++tries > 2400)
			return rc;
		nap_ms(5 + (tries % 20));
	}
}

int
cas_hashcache_open(struct cas_hashcache **hcp, const char *path, char **errp)
{
	struct cas_hashcache *hc;
	char *dir, *slash;
	int rc;

	dir = xstrdup(path);
	if ((slash = strrchr(dir, '/')) != NULL && slash != dir) {
		*slash = '\0';
		if (cas_mkdirs(dir, 0700) == -1) {
			cas_seterr(errp, "cannot create '%s': %s", dir,
			    strerror(errno));
			free(dir);
			return -1;
		}
	}
	free(dir);
	hc = xcalloc(1, sizeof(*hc));
	pthread_mutex_init(&hc->mu, NULL);
	rc = sqlite3_open_v2(path, &hc->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	sqlite3_busy_timeout(hc->db, BUSY_TIMEOUT_MS);
	if ((rc = exec_retry(hc->db, "PRAGMA journal_mode=WAL")) != SQLITE_OK ||
	    (rc = exec_retry(hc->db, "PRAGMA synchronous=NORMAL")) != SQLITE_OK ||
	    (rc = exec_retry(hc->db, schema)) != SQLITE_OK)
		goto fail;
	rc = sqlite3_prepare_v2(hc->db, "SELECT entries FROM dirs_v2 "
	    "WHERE dir = ?1", -1, &hc->get, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	*hcp = hc;
	return 0;
fail:
	cas_seterr(errp, "cannot open hash cache '%s': %s", path,
	    hc->db ? sqlite3_errmsg(hc->db) : sqlite3_errstr(rc));
	cas_hashcache_close(hc);
	return -1;
}

void
cas_hashcache_close(struct cas_hashcache *hc)
{
	if (hc == NULL)
		return;
	sqlite3_finalize(hc->get);
	sqlite3_close(hc->db);
	pthread_mutex_destroy(&hc->mu);
	free(hc);
}

int
cas_hashcache_racy_ns(int64_t mtime_ns, int64_t hashed_at_ns)
{
	return mtime_ns > hashed_at_ns - CAS_HASHCACHE_RACY_NS;
}

int
cas_hashcache_racy(const struct cas_hashcache_row *r)
{
	return cas_hashcache_racy_ns(r->st.mtime_ns, r->hashed_at_ns);
}

/* ---- records ---- */

static void
put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t
get_u64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t
name_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return h ^ (h >> 29);
}

static void
rec_set_count(struct cas_hcrec *r)
{
	for (int i = 0; i < 4; i++)
		r->b.s[4 + i] = (char)((r->n >> (8 * i)) & 0xff);
}

void
cas_hcrec_init(struct cas_hcrec *r)
{
	unsigned char hdr[REC_HDR] = { 'D', 'H', 'C', '2', 0, 0, 0, 0 };

	buf_init(&r->b);
	buf_add(&r->b, hdr, sizeof(hdr));
	r->n = 0;
}

void
cas_hcrec_release(struct cas_hcrec *r)
{
	buf_release(&r->b);
	r->n = 0;
}

void
cas_hcrec_add(struct cas_hcrec *r, const char *name, size_t len,
    const struct cas_stat *st, const unsigned char bin[CAS_HASH_BINLEN])
{
	unsigned char e[ENT_FIXED];

	if (len == 0 || len > 0xffff || r->n >= 0xffffffffU)
		return;		/* not a name a directory can hold */
	put_u64(e, st->size);
	put_u64(e + 8, (uint64_t)st->mtime_ns);
	put_u64(e + 16, (uint64_t)st->ctime_ns);
	put_u64(e + 24, st->ino);
	memcpy(e + 32, bin, CAS_HASH_BINLEN);
	e[48] = (unsigned char)(len & 0xff);
	e[49] = (unsigned char)(len >> 8);
	buf_add(&r->b, e, sizeof(e));
	buf_add(&r->b, name, len);
	r->n++;
	rec_set_count(r);
}

static struct cas_hcdir *
hcdir_new(const void *blob, size_t len)
{
	struct cas_hcdir *d = xcalloc(1, sizeof(*d));

	d->blob = xmalloc(len ? len : 1);
	if (len > 0)
		memcpy(d->blob, blob, len);
	d->len = len;
	return d;
}

void
cas_hcdir_free(struct cas_hcdir *d)
{
	if (d == NULL)
		return;
	free(d->blob);
	free(d->off);
	free(d->slot);
	free(d);
}

static const char *
ent_name(const struct cas_hcdir *d, size_t i, size_t *lenp)
{
	const unsigned char *e = d->blob + d->off[i];

	*lenp = (size_t)e[48] | (size_t)e[49] << 8;
	return (const char *)e + ENT_FIXED;
}

static void
ent_stat(const struct cas_hcdir *d, size_t i, struct cas_stat *st)
{
	const unsigned char *e = d->blob + d->off[i];

	st->size = get_u64(e);
	st->mtime_ns = (int64_t)get_u64(e + 8);
	st->ctime_ns = (int64_t)get_u64(e + 16);
	st->ino = get_u64(e + 24);
}

int
cas_hcdir_decode(struct cas_hcdir *d)
{
	const unsigned char *b = d->blob;
	size_t n, pos = REC_HDR;

	if (d->decoded)
		return d->decoded == 1 ? 0 : -1;
	d->decoded = -1;
	if (d->len < REC_HDR || memcmp(b, REC_MAGIC, 4) != 0 ||
	    d->len > 0xffffffffU)
		return -1;
	n = (size_t)b[4] | (size_t)b[5] << 8 | (size_t)b[6] << 16 |
	    (size_t)b[7] << 24;
	if (n > (d->len - REC_HDR) / (ENT_FIXED + 1))
		return -1;
	d->off = xmalloc((n ? n : 1) * sizeof(*d->off));
	for (size_t i = 0; i < n; i++) {
		size_t nl;

		if (d->len - pos < ENT_FIXED)
			goto bad;
		nl = (size_t)b[pos + 48] | (size_t)b[pos + 49] << 8;
		if (nl == 0 || d->len - pos - ENT_FIXED < nl ||
		    memchr(b + pos + ENT_FIXED, '/', nl) != NULL ||
		    memchr(b + pos + ENT_FIXED, '\0', nl) != NULL)
			goto bad;
		d->off[i] = (uint32_t)pos;
		pos += ENT_FIXED + nl;
	}
	if (pos != d->len)
		goto bad;
	d->n = n;
	for (d->cap = 8; d->cap < 2 * n; d->cap *= 2)
		;
	d->slot = xcalloc(d->cap, sizeof(*d->slot));
	for (size_t i = 0; i < n; i++) {
		size_t nl, k;
		const char *nm = ent_name(d, i, &nl);

		for (k = name_hash(nm, nl) & (d->cap - 1); d->slot[k] != 0;
		    k = (k + 1) & (d->cap - 1))
			;
		d->slot[k] = (uint32_t)i + 1;	/* a duplicate: first wins */
	}
	d->decoded = 1;
	return 0;
bad:
	free(d->off);
	d->off = NULL;
	d->n = 0;
	return -1;
}

size_t
cas_hcdir_count(struct cas_hcdir *d)
{
	return cas_hcdir_decode(d) == 0 ? d->n : 0;
}

/* Index of name in d, or -1. */
static long
hcdir_find(struct cas_hcdir *d, const char *name, size_t len)
{
	if (cas_hcdir_decode(d) == -1 || d->n == 0)
		return -1;
	for (size_t k = name_hash(name, len) & (d->cap - 1); d->slot[k] != 0;
	    k = (k + 1) & (d->cap - 1)) {
		size_t i = d->slot[k] - 1, nl;
		const char *nm = ent_name(d, i, &nl);

		if (nl == len && memcmp(nm, name, len) == 0)
			return (long)i;
	}
	return -1;
}

int
cas_hcdir_lookup(struct cas_hcdir *d, const char *name, size_t len,
    const struct cas_stat *st, unsigned char bin[CAS_HASH_BINLEN])
{
	struct cas_stat cs;
	long i = hcdir_find(d, name, len);

	if (i < 0)
		return 0;
	ent_stat(d, (size_t)i, &cs);
	if (cs.size != st->size || cs.mtime_ns != st->mtime_ns ||
	    cs.ctime_ns != st->ctime_ns || cs.ino != st->ino)
		return 0;
	memcpy(bin, d->blob + d->off[i] + 32, CAS_HASH_BINLEN);
	return 1;
}

/* ---- reading ---- */

/* "/a/b/" -> "/a/b", "/" stays; malloc'd */
static char *
norm_dir(const char *p)
{
	size_t n = strlen(p);

	while (n > 1 && p[n - 1] == '/')
		n--;
	return xstrndup(p, n);
}

/* The record of dir (normalised) or NULL; caller holds hc->mu. */
static struct cas_hcdir *
load_dir_locked(struct cas_hashcache *hc, const char *dir, int *rcp)
{
	struct cas_hcdir *d = NULL;
	int rc;

	sqlite3_bind_text(hc->get, 1, dir, -1, SQLITE_STATIC);
	rc = sqlite3_step(hc->get);
	if (rc == SQLITE_ROW)
		d = hcdir_new(sqlite3_column_blob(hc->get, 0),
		    (size_t)sqlite3_column_bytes(hc->get, 0));
	sqlite3_reset(hc->get);
	sqlite3_clear_bindings(hc->get);
	*rcp = rc;
	return d;
}

int
cas_hashcache_get(struct cas_hashcache *hc, const char *path,
    const struct cas_stat *st, char hash[CAS_HASH_HEXLEN + 1])
{
	const char *slash = strrchr(path, '/'), *name;
	unsigned char bin[CAS_HASH_BINLEN];
	struct cas_hcdir *d;
	char *dir;
	int rc, hit = 0;

	if (slash == NULL || slash[1] == '\0')
		return 0;
	name = slash + 1;
	dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	pthread_mutex_lock(&hc->mu);
	d = load_dir_locked(hc, dir, &rc);
	pthread_mutex_unlock(&hc->mu);
	free(dir);
	if (d != NULL && cas_hcdir_lookup(d, name, strlen(name), st, bin)) {
		cas_hash_bin_to_hex(bin, hash);
		hit = 1;
	}
	cas_hcdir_free(d);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return hit;
}

int
cas_hashcache_get_dir(struct cas_hashcache *hc, const char *dir,
    struct cas_hcdir **recp, char **errp)
{
	char *p = norm_dir(dir);
	int rc;

	pthread_mutex_lock(&hc->mu);
	*recp = load_dir_locked(hc, p, &rc);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		cas_seterr(errp, "hash cache lookup failed: %s",
		    sqlite3_errmsg(hc->db));
	pthread_mutex_unlock(&hc->mu);
	free(p);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
cas_hashcache_scan_dirs(struct cas_hashcache *hc, const char *prefix,
    cas_hashcache_dir_fn *fn, void *arg, char **errp)
{
	sqlite3_stmt *s = NULL;
	char *p = norm_dir(prefix), *lo, *hi;
	int rc = SQLITE_OK, root = strcmp(p, "/") == 0;

	/* the directory itself, then every key in [p "/", p "0") */
	lo = root ? xstrdup("/") : xasprintf("%s/", p);
	hi = root ? xstrdup("0") : xasprintf("%s0", p);
	pthread_mutex_lock(&hc->mu);
	if (!root) {
		struct cas_hcdir *d = load_dir_locked(hc, p, &rc);

		if (d != NULL)
			fn(arg, p, d);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(hc->db, "SELECT dir, entries FROM dirs_v2 "
		    "WHERE dir >= ?1 AND dir < ?2 ORDER BY dir", -1, &s, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, hi, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *dir = (const char *)sqlite3_column_text(s, 0);
			const void *blob = sqlite3_column_blob(s, 1);
			size_t len = (size_t)sqlite3_column_bytes(s, 1);

			if (dir != NULL)
				fn(arg, dir, hcdir_new(blob, len));
		}
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	if (rc != SQLITE_OK)
		cas_seterr(errp, "hash cache lookup failed: %s",
		    sqlite3_errmsg(hc->db));
	sqlite3_finalize(s);
	pthread_mutex_unlock(&hc->mu);
	free(p);
	free(lo);
	free(hi);
	return rc == SQLITE_OK ? 0 : -1;
}

struct scan_files {
	cas_hashcache_scan_fn	*fn;
	void			*arg;
};

static void
scan_files_dir(void *arg, const char *dir, struct cas_hcdir *d)
{
	struct scan_files *sf = arg;
	struct buf path = BUF_INIT;
	char hex[CAS_HASH_HEXLEN + 1];
	struct cas_stat st;
	size_t base;

	buf_adds(&path, dir);
	if (strcmp(dir, "/") != 0)
		buf_addch(&path, '/');
	base = path.len;
	if (cas_hcdir_decode(d) == 0) {
		for (size_t i = 0; i < d->n; i++) {
			size_t nl;
			const char *nm = ent_name(d, i, &nl);

			buf_truncate(&path, base);
			buf_add(&path, nm, nl);
			ent_stat(d, i, &st);
			cas_hash_bin_to_hex(d->blob + d->off[i] + 32, hex);
			sf->fn(sf->arg, path.s, &st, hex);
		}
	}
	buf_release(&path);
	cas_hcdir_free(d);
}

int
cas_hashcache_scan(struct cas_hashcache *hc, const char *prefix,
    cas_hashcache_scan_fn *fn, void *arg, char **errp)
{
	struct scan_files sf = { fn, arg };

	return cas_hashcache_scan_dirs(hc, prefix, scan_files_dir, &sf, errp);
}

/* ---- writing ---- */

static int
write_rec_locked(sqlite3_stmt *ins, sqlite3_stmt *del, const char *dir,
    const struct cas_hcrec *r)
{
	sqlite3_stmt *s = r->n > 0 ? ins : del;
	int rc;

	sqlite3_bind_text(s, 1, dir, -1, SQLITE_STATIC);
	if (r->n > 0)
		sqlite3_bind_blob(s, 2, r->b.s, (int)r->b.len, SQLITE_STATIC);
	rc = sqlite3_step(s);
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/*
 * Runs fn inside BEGIN IMMEDIATE ... COMMIT with the insert and delete
 * statements prepared; rolls back on failure.
 */
typedef int write_fn(struct cas_hashcache *, sqlite3_stmt *ins,
    sqlite3_stmt *del, const void *arg);

static int
write_txn(struct cas_hashcache *hc, write_fn *fn, const void *arg,
    char **errp)
{
	sqlite3_stmt *ins = NULL, *del = NULL;
	int rc;

	pthread_mutex_lock(&hc->mu);
	rc = exec_retry(hc->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_prepare_v2(hc->db, "INSERT OR REPLACE INTO dirs_v2 "
	    "(dir, entries) VALUES (?1, ?2)", -1, &ins, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(hc->db, "DELETE FROM dirs_v2 "
		    "WHERE dir = ?1", -1, &del, NULL);
	if (rc == SQLITE_OK)
		rc = fn(hc, ins, del, arg);
	sqlite3_finalize(ins);
	sqlite3_finalize(del);
	if (rc == SQLITE_OK)
		rc = exec_retry(hc->db, "COMMIT");
	if (rc != SQLITE_OK)
		sqlite3_exec(hc->db, "ROLLBACK", NULL, NULL, NULL);
out:
	if (rc != SQLITE_OK)
		cas_seterr(errp, "cannot update hash cache: %s",
		    sqlite3_errmsg(hc->db));
	pthread_mutex_unlock(&hc->mu);
	return rc == SQLITE_OK ? 0 : -1;
}

struct recs_arg {
	const char *const	*dirs;
	const struct cas_hcrec	*recs;
	size_t			 n;
};

static int
put_recs_fn(struct cas_hashcache *hc, sqlite3_stmt *ins, sqlite3_stmt *del,
    const void *v)
{
	const struct recs_arg *a = v;
	int rc = SQLITE_OK;

	(void)hc;
	for (size_t i = 0; rc == SQLITE_OK && i < a->n; i++) {
		char *dir = norm_dir(a->dirs[i]);

		rc = write_rec_locked(ins, del, dir, &a->recs[i]);
		free(dir);
	}
	return rc;
}

int
cas_hashcache_put_recs(struct cas_hashcache *hc, const char *const *dirs,
    const struct cas_hcrec *recs, size_t n, char **errp)
{
	struct recs_arg a = { dirs, recs, n };

	if (n == 0)
		return 0;
	return write_txn(hc, put_recs_fn, &a, errp);
}

/* rows grouped by directory: the split path of each */
struct prow {
	const struct cas_hashcache_row	*r;
	char				*dir;	/* malloc'd, normalised */
	const char			*name;	/* into r->path */
	size_t				 seq;
};

static int
prow_cmp(const void *x, const void *y)
{
	const struct prow *a = x, *b = y;
	int c = strcmp(a->dir, b->dir);

	if (c == 0)
		c = strcmp(a->name, b->name);
	if (c == 0)
		c = a->seq < b->seq ? -1 : a->seq > b->seq;
	return c;
}

struct many_arg {
	struct prow	*v;
	size_t		 n;
};

/* 1 if name is among v[lo, hi) (sorted by name) */
static int
prow_has(const struct prow *v, size_t lo, size_t hi, const char *name,
    size_t len)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strncmp(v[mid].name, name, len);

		if (c == 0 && v[mid].name[len] != '\0')
			c = 1;
		if (c == 0)
			return 1;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static int
put_many_fn(struct cas_hashcache *hc, sqlite3_stmt *ins, sqlite3_stmt *del,
    const void *v)
{
	const struct many_arg *a = v;
	int rc = SQLITE_OK;

	for (size_t g = 0; rc == SQLITE_OK && g < a->n;) {
		size_t e = g;
		struct cas_hcdir *old;
		struct cas_hcrec rec;

		while (e < a->n && strcmp(a->v[e].dir, a->v[g].dir) == 0)
			e++;
		/* read inside the write transaction: nobody else writes now */
		old = load_dir_locked(hc, a->v[g].dir, &rc);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			break;
		rc = SQLITE_OK;
		cas_hcrec_init(&rec);
		if (old != NULL && cas_hcdir_decode(old) == 0) {
			for (size_t i = 0; i < old->n; i++) {
				size_t nl;
				const char *nm = ent_name(old, i, &nl);

				if (prow_has(a->v, g, e, nm, nl))
					continue;	/* replaced */
				buf_add(&rec.b, old->blob + old->off[i],
				    ENT_FIXED + nl);
				rec.n++;
			}
			rec_set_count(&rec);
		}
		cas_hcdir_free(old);
		for (size_t i = g; i < e; i++) {
			const struct cas_hashcache_row *r = a->v[i].r;
			unsigned char bin[CAS_HASH_BINLEN];

			if (i + 1 < e && strcmp(a->v[i + 1].name,
			    a->v[i].name) == 0)
				continue;	/* listed again later: last wins */
			if (cas_hashcache_racy(r) ||
			    cas_hash_hex_to_bin(r->hash, bin) == -1)
				continue;
			cas_hcrec_add(&rec, a->v[i].name, strlen(a->v[i].name),
			    &r->st, bin);
		}
		rc = write_rec_locked(ins, del, a->v[g].dir, &rec);
		cas_hcrec_release(&rec);
		g = e;
	}
	return rc;
}

int
cas_hashcache_put_many(struct cas_hashcache *hc,
    const struct cas_hashcache_row *rows, size_t n, char **errp)
{
	struct many_arg a;
	size_t k;
	int rc;

	a.v = xcalloc(n ? n : 1, sizeof(*a.v));
	a.n = 0;
	for (k = 0; k < n; k++) {
		const char *slash = strrchr(rows[k].path, '/');

		if (slash == NULL || slash[1] == '\0')
			continue;	/* not an absolute file path */
		a.v[a.n].r = &rows[k];
		a.v[a.n].dir = slash == rows[k].path ? xstrdup("/") :
		    xstrndup(rows[k].path, (size_t)(slash - rows[k].path));
		a.v[a.n].name = slash + 1;
		a.v[a.n].seq = k;
		a.n++;
	}
	if (a.n > 1)
		qsort(a.v, a.n, sizeof(*a.v), prow_cmp);
	rc = a.n ? write_txn(hc, put_many_fn, &a, errp) : 0;
	for (k = 0; k < a.n; k++)
		free(a.v[k].dir);
	free(a.v);
	return rc;
}
