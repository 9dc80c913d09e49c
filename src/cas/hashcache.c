/*
 * SQLite hash cache.  One table, keyed by absolute path; a row is used only
 * if size, mtime, ctime (nanoseconds) and inode all match the file now.
 * Concurrency: WAL, synchronous=NORMAL, a long busy timeout, and writes in
 * BEGIN IMMEDIATE so the busy handler covers them; set-up statements that
 * may still see SQLITE_BUSY (journal mode switch on a brand new file) are
 * retried.
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

struct cas_hashcache {
	sqlite3		*db;
	sqlite3_stmt	*get;
	pthread_mutex_t	 mu;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS hashes_v1("
    " path TEXT PRIMARY KEY NOT NULL,"
    " size INTEGER NOT NULL,"
    " mtime_ns INTEGER NOT NULL,"
    " ctime_ns INTEGER NOT NULL,"
    " ino INTEGER NOT NULL,"
    " hash TEXT NOT NULL,"
    " hashed_at_ns INTEGER NOT NULL"
    ") WITHOUT ROWID";

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
	rc = sqlite3_prepare_v2(hc->db, "SELECT size, mtime_ns, ctime_ns, ino, "
	    "hash FROM hashes_v1 WHERE path = ?1", -1, &hc->get, NULL);
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

static int
row_matches(sqlite3_stmt *s, int col, const struct cas_stat *st)
{
	const unsigned char *h;

	if ((uint64_t)sqlite3_column_int64(s, col) != st->size ||
	    sqlite3_column_int64(s, col + 1) != st->mtime_ns ||
	    sqlite3_column_int64(s, col + 2) != st->ctime_ns ||
	    (uint64_t)sqlite3_column_int64(s, col + 3) != st->ino)
		return 0;
	h = sqlite3_column_text(s, col + 4);
	return h != NULL && cas_hash_valid((const char *)h);
}

int
cas_hashcache_get(struct cas_hashcache *hc, const char *path,
    const struct cas_stat *st, char hash[CAS_HASH_HEXLEN + 1])
{
	int rc, hit = 0;

	pthread_mutex_lock(&hc->mu);
	sqlite3_bind_text(hc->get, 1, path, -1, SQLITE_STATIC);
	rc = sqlite3_step(hc->get);
	if (rc == SQLITE_ROW && row_matches(hc->get, 0, st)) {
		memcpy(hash, sqlite3_column_text(hc->get, 4), CAS_HASH_HEXLEN + 1);
		hit = 1;
	}
	sqlite3_reset(hc->get);
	sqlite3_clear_bindings(hc->get);
	pthread_mutex_unlock(&hc->mu);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -1;
	return hit;
}

int
cas_hashcache_scan(struct cas_hashcache *hc, const char *prefix,
    cas_hashcache_scan_fn *fn, void *arg, char **errp)
{
	sqlite3_stmt *s = NULL;
	struct cas_stat st;
	char *lo, *hi;
	size_t pl = strlen(prefix);
	int rc;

	/* every key under prefix/ sorts in [prefix "/", prefix "0") */
	if (pl > 0 && prefix[pl - 1] == '/')
		pl--;
	lo = xasprintf("%.*s/", (int)pl, prefix);
	hi = xasprintf("%.*s0", (int)pl, prefix);
	pthread_mutex_lock(&hc->mu);
	rc = sqlite3_prepare_v2(hc->db, "SELECT path, size, mtime_ns, ctime_ns, "
	    "ino, hash FROM hashes_v1 WHERE path >= ?1 AND path < ?2 "
	    "ORDER BY path", -1, &s,
	    NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(s, 1, lo, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, hi, -1, SQLITE_STATIC);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			const char *p = (const char *)sqlite3_column_text(s, 0);
			const char *h = (const char *)sqlite3_column_text(s, 5);

			if (p == NULL || h == NULL || !cas_hash_valid(h))
				continue;
			st.size = (uint64_t)sqlite3_column_int64(s, 1);
			st.mtime_ns = sqlite3_column_int64(s, 2);
			st.ctime_ns = sqlite3_column_int64(s, 3);
			st.ino = (uint64_t)sqlite3_column_int64(s, 4);
			fn(arg, p, &st, h);
		}
	}
	if (rc != SQLITE_DONE)
		cas_seterr(errp, "hash cache lookup failed: %s",
		    sqlite3_errmsg(hc->db));
	sqlite3_finalize(s);
	pthread_mutex_unlock(&hc->mu);
	free(lo);
	free(hi);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
cas_hashcache_racy(const struct cas_hashcache_row *r)
{
	return r->st.mtime_ns > r->hashed_at_ns - CAS_HASHCACHE_RACY_NS;
}

int
cas_hashcache_put_many(struct cas_hashcache *hc,
    const struct cas_hashcache_row *rows, size_t n, char **errp)
{
	sqlite3_stmt *s = NULL;
	size_t k, todo = 0;
	int rc;

	for (k = 0; k < n; k++)
		if (!cas_hashcache_racy(&rows[k]))
			todo++;
	if (todo == 0)
		return 0;
	pthread_mutex_lock(&hc->mu);
	rc = exec_retry(hc->db, "BEGIN IMMEDIATE");
	if (rc != SQLITE_OK)
		goto out;
	rc = sqlite3_prepare_v2(hc->db, "INSERT OR REPLACE INTO hashes_v1 "
	    "(path, size, mtime_ns, ctime_ns, ino, hash, hashed_at_ns) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)", -1, &s, NULL);
	for (k = 0; rc == SQLITE_OK && k < n; k++) {
		const struct cas_hashcache_row *r = &rows[k];

		if (cas_hashcache_racy(r))
			continue;
		sqlite3_bind_text(s, 1, r->path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 2, (sqlite3_int64)r->st.size);
		sqlite3_bind_int64(s, 3, r->st.mtime_ns);
		sqlite3_bind_int64(s, 4, r->st.ctime_ns);
		sqlite3_bind_int64(s, 5, (sqlite3_int64)r->st.ino);
		sqlite3_bind_text(s, 6, r->hash, CAS_HASH_HEXLEN, SQLITE_STATIC);
		sqlite3_bind_int64(s, 7, r->hashed_at_ns);
		rc = sqlite3_step(s);
		if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
		sqlite3_reset(s);
	}
	sqlite3_finalize(s);
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
