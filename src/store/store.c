/*
 * Opening the store, migrations, transactions and the statement cache.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "common/log.h"
#include "common/xmalloc.h"
#include "store/schema.h"
#include "store/store.h"

struct store_stmt_cache {
	char		**sql;
	sqlite3_stmt	**stmt;
	size_t		  n;
	size_t		  alloc;
	size_t		  alloc2;
};

int64_t
store_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
store_schema_latest(void)
{
	size_t n;
	const struct store_migration *m = schema_migrations(&n);

	return n ? m[n - 1].version : 0;
}

const char *
store_migration_name(int v)
{
	size_t n;
	const struct store_migration *m = schema_migrations(&n);

	for (size_t i = 0; i < n; i++)
		if (m[i].version == v)
			return m[i].name;
	return NULL;
}

const char *
store_errmsg(struct store *st)
{
	return sqlite3_errmsg(st->db);
}

int
store_error_transient(struct store *st)
{
	switch (sqlite3_errcode(st->db) & 0xff) {
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_PROTOCOL:
		return 1;
	default:
		return 0;
	}
}

int
store_exec(struct store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_error("store: %s", msg ? msg : store_errmsg(st));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

int
store_version(struct store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s,
	    NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

sqlite3_stmt *
store_stmt(struct store *st, const char *sql)
{
	struct store_stmt_cache *c = st->cache;
	sqlite3_stmt *s;

	for (size_t i = 0; i < c->n; i++) {
		if (c->sql[i] == sql || strcmp(c->sql[i], sql) == 0) {
			s = c->stmt[i];
			sqlite3_reset(s);
			sqlite3_clear_bindings(s);
			return s;
		}
	}
	if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s,
	    NULL) != SQLITE_OK) {
		log_error("store: cannot prepare '%s': %s", sql, store_errmsg(st));
		return NULL;
	}
	ALLOC_GROW(c->sql, c->n + 1, c->alloc);
	ALLOC_GROW(c->stmt, c->n + 1, c->alloc2);
	c->sql[c->n] = xstrdup(sql);
	c->stmt[c->n] = s;
	c->n++;
	return s;
}

int
store_step(struct store *st, sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);

	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		log_error("store: %s (in '%s')", store_errmsg(st),
		    sqlite3_sql(s));
	return rc;
}

int
store_step_done(struct store *st, sqlite3_stmt *s)
{
	int rc = store_step(st, s);

	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

const char *
store_col_text(sqlite3_stmt *s, int i)
{
	const char *t = (const char *)sqlite3_column_text(s, i);

	return t ? t : "";
}

/*
 * Writers queue on a lock file before BEGIN IMMEDIATE.  The daemon and its
 * workers commit a few times per task each; waiting in SQLite's busy
 * handler means sleeping and polling, and nearly every commit of two busy
 * workers collided, leaving the CPUs idle between tasks.  A blocking
 * flock() hands the turn over the moment the holder releases it (and the
 * kernel releases it if the holder dies).  Auto-commit statements outside
 * store_begin() still rely on the busy handler.
 */
static void
store_wlock(struct store *st, int op)
{
	if (st->wlock_fd < 0)
		return;
	while (flock(st->wlock_fd, op) == -1 && errno == EINTR)
		;
}

/* One statement without results, prepared once (BEGIN, COMMIT...). */
static int
exec_cached(struct store *st, const char *sql)
{
	sqlite3_stmt *s = store_stmt(st, sql);

	return s ? store_step_done(st, s) : -1;
}

int
store_begin(struct store *st)
{
	if (st->in_tx++ > 0)
		return 0;
	st->failed = 0;
	store_wlock(st, LOCK_EX);
	if (exec_cached(st, "BEGIN IMMEDIATE") == -1) {
		store_wlock(st, LOCK_UN);
		st->in_tx = 0;
		return -1;
	}
	return 0;
}

/*
 * Ends the open transaction.  SQLite rolls a transaction back by itself
 * after some errors (SQLITE_FULL, SQLITE_IOERR...); a ROLLBACK then would
 * only fail and replace the error worth reporting.
 */
static void
store_abort_tx(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		store_exec(st, "ROLLBACK");
}

/*
 * Checkpoints: the WAL is copied back into the database by whoever
 * commits once it holds STORE_CKPT_FRAMES frames, still holding the write
 * lock file.  No other writer can append meanwhile, so the checkpoint
 * catches up with the whole log and the next writer starts the log over
 * from its beginning.  (SQLite's own auto-checkpoint runs after the write
 * lock is released; with the daemon's workers committing back to back it
 * rarely caught up, the log grew to tens of megabytes and every page
 * lookup in it got slower.)
 */
#define STORE_CKPT_FRAMES 1000

static int
store_wal_hook(void *arg, sqlite3 *db, const char *name, int frames)
{
	struct store *st = arg;

	(void)db;
	(void)name;
	st->wal_frames = frames;
	return SQLITE_OK;
}

static void
store_maybe_checkpoint(struct store *st)
{
	if (st->wal_frames < STORE_CKPT_FRAMES)
		return;
	st->wal_frames = 0;
	sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL);
}

int
store_commit(struct store *st)
{
	if (st->in_tx == 0)
		return -1;
	if (--st->in_tx > 0)
		return st->failed ? -1 : 0;
	if (st->failed) {
		store_abort_tx(st);
		store_wlock(st, LOCK_UN);
		st->failed = 0;
		return -1;
	}
	if (exec_cached(st, "COMMIT") == -1) {
		store_abort_tx(st);
		store_wlock(st, LOCK_UN);
		return -1;
	}
	store_maybe_checkpoint(st);
	store_wlock(st, LOCK_UN);
	return 0;
}

void
store_rollback(struct store *st)
{
	if (st->in_tx == 0)
		return;
	if (--st->in_tx > 0) {
		st->failed = 1;
		return;
	}
	store_abort_tx(st);
	store_wlock(st, LOCK_UN);
	st->failed = 0;
}

static int
store_apply(struct store *st, const struct store_migration *m, char **err)
{
	char *sql;

	if (store_begin(st) == -1) {
		*err = xasprintf("cannot start migration %d: %s", m->version,
		    store_errmsg(st));
		return -1;
	}
	sql = xasprintf("%s\nPRAGMA user_version = %d;", m->sql, m->version);
	if (store_exec(st, sql) == -1) {
		*err = xasprintf("migration %d (%s) failed: %s", m->version,
		    m->name, store_errmsg(st));
		free(sql);
		store_rollback(st);
		return -1;
	}
	free(sql);
	if (store_commit(st) == -1) {
		*err = xasprintf("cannot commit migration %d: %s", m->version,
		    store_errmsg(st));
		return -1;
	}
	log_info("store: migrated to schema %d (%s)", m->version, m->name);
	return 0;
}

int
store_migrate(struct store *st, int to, char **err)
{
	size_t n;
	const struct store_migration *m = schema_migrations(&n);
	int cur = store_version(st), latest = store_schema_latest(), done = 0;

	if (to == 0)
		to = latest;
	if (to > latest || to < 0) {
		*err = xasprintf("no schema version %d (latest is %d)", to,
		    latest);
		return -1;
	}
	if (cur > latest) {
		*err = xasprintf("database '%s' has schema version %d, newer "
		    "than this drover understands (%d)", st->path, cur, latest);
		return -1;
	}
	if (to < cur) {
		*err = xasprintf("database '%s' is at schema version %d; "
		    "migrating down to %d is not supported", st->path, cur, to);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (m[i].version <= cur || m[i].version > to)
			continue;
		if (store_apply(st, &m[i], err) == -1)
			return -1;
		done++;
	}
	return done;
}

/*
 * Waiting for the write lock: SQLite's own busy handler sleeps whole
 * milliseconds, which is longer than a write transaction here (tens of
 * microseconds) and would cost the daemon and its workers a millisecond
 * at every collision.  Back off from 20 us up to 2 ms instead, for about
 * 30 s in all.
 */
static int
store_busy(void *arg, int count)
{
	long us = 20L << (count < 7 ? count : 7);
	struct timespec ts;

	(void)arg;
	if (count > 15000)
		return 0;
	if (us > 2000)
		us = 2000;
	ts.tv_sec = 0;
	ts.tv_nsec = us * 1000;
	nanosleep(&ts, NULL);
	return 1;
}

int
store_open(struct store **out, const char *path, int flags, char **err)
{
	struct store *st;
	int oflags, v, latest = store_schema_latest();

	*out = NULL;
	st = xcalloc(1, sizeof(*st));
	st->wlock_fd = -1;
	st->path = xstrdup(path);
	st->cache = xcalloc(1, sizeof(*st->cache));
	if (flags & STORE_READONLY)
		oflags = SQLITE_OPEN_READONLY;
	else
		oflags = SQLITE_OPEN_READWRITE |
		    ((flags & STORE_CREATE) ? SQLITE_OPEN_CREATE : 0);
	if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX,
	    NULL) != SQLITE_OK) {
		*err = xasprintf("cannot open database '%s': %s", path,
		    st->db ? sqlite3_errmsg(st->db) : "out of memory");
		store_close(st);
		return -1;
	}
	sqlite3_busy_handler(st->db, store_busy, NULL);
	if (!(flags & STORE_READONLY)) {
		char *lp = xasprintf("%s-wlock", path);

		st->wlock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
		free(lp);
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (!(flags & STORE_READONLY) &&
	    (store_exec(st, "PRAGMA journal_mode = WAL") == -1 ||
	    store_exec(st, "PRAGMA synchronous = NORMAL") == -1)) {
		*err = xasprintf("cannot set up database '%s': %s", path,
		    store_errmsg(st));
		store_close(st);
		return -1;
	}
	if (!(flags & STORE_READONLY))
		sqlite3_wal_hook(st->db, store_wal_hook, st);
	/* the daemon and its workers take turns writing: after each other's
	 * commits their page caches start cold, and reading pages through a
	 * mapping instead of read(2) keeps that cheap */
	store_exec(st, "PRAGMA mmap_size = 0");
	if (store_exec(st, "PRAGMA foreign_keys = ON") == -1) {
		*err = xasprintf("cannot set up database '%s': %s", path,
		    store_errmsg(st));
		store_close(st);
		return -1;
	}
	v = store_version(st);
	if (v < 0) {
		*err = xasprintf("cannot read database '%s': %s", path,
		    store_errmsg(st));
		store_close(st);
		return -1;
	}
	if (v > latest) {
		*err = xasprintf("database '%s' has schema version %d, newer "
		    "than this drover understands (%d)", path, v, latest);
		store_close(st);
		return -1;
	}
	if (v < latest && !(flags & STORE_ANY_VERSION)) {
		if (!(flags & STORE_MIGRATE)) {
			*err = xasprintf("database '%s' has schema version %d, "
			    "this drover needs %d: run 'drover migrate'", path,
			    v, latest);
			store_close(st);
			return -1;
		}
		if (store_migrate(st, 0, err) == -1) {
			store_close(st);
			return -1;
		}
	}
	*out = st;
	return 0;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->cache) {
		for (size_t i = 0; i < st->cache->n; i++) {
			sqlite3_finalize(st->cache->stmt[i]);
			free(st->cache->sql[i]);
		}
		free(st->cache->sql);
		free(st->cache->stmt);
		free(st->cache);
	}
	if (st->db)
		sqlite3_close(st->db);
	if (st->wlock_fd >= 0)
		close(st->wlock_fd);
	free(st->dirty);
	free(st->path);
	free(st);
}

int
store_checkpoint(struct store *st)
{
	int rc;

	if (st->in_tx)
		return -1;
	store_wlock(st, LOCK_EX);
	rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    NULL, NULL) == SQLITE_OK ? 0 : -1;
	if (rc == 0)
		st->wal_frames = 0;
	store_wlock(st, LOCK_UN);
	return rc;
}

char *
store_meta_get(struct store *st, const char *key)
{
	sqlite3_stmt *s = store_stmt(st, "SELECT value FROM meta WHERE key = ?");
	char *v = NULL;

	if (s == NULL)
		return NULL;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	if (store_step(st, s) == SQLITE_ROW)
		v = xstrdup((const char *)sqlite3_column_text(s, 0));
	sqlite3_reset(s);
	return v;
}

int
store_meta_set(struct store *st, const char *key, const char *value)
{
	sqlite3_stmt *s;
	int rc;

	if (value == NULL) {
		s = store_stmt(st, "DELETE FROM meta WHERE key = ?");
		if (s == NULL)
			return -1;
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	} else {
		s = store_stmt(st, "INSERT INTO meta(key, value) VALUES (?, ?) "
		    "ON CONFLICT(key) DO UPDATE SET value = excluded.value");
		if (s == NULL)
			return -1;
		sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 2, value, -1, SQLITE_STATIC);
	}
	rc = store_step(st, s);
	sqlite3_reset(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

uint64_t
store_change_mark(struct store *st)
{
	sqlite3_stmt *s = store_stmt(st, "PRAGMA data_version");
	uint64_t v = 0;

	if (s == NULL)
		return 0;
	if (store_step(st, s) == SQLITE_ROW)
		v = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return (v << 32) ^ (uint64_t)sqlite3_total_changes64(st->db);
}
