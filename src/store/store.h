/*
 * The queue's store: one SQLite database in $DROVER_HOME (WAL journal,
 * foreign keys on, a busy timeout so the daemon and its session workers can
 * share it).  The schema lives in one place, schema.c, as a list of numbered
 * migrations; each runs in its own transaction and sets PRAGMA user_version,
 * so a database always says which schema it has.  A database newer than
 * this program understands is refused, never touched.
 *
 * Times in the store are milliseconds since the Unix epoch (UTC).
 *
 *	struct store *st;
 *	char *err = NULL;
 *	if (store_open(&st, path, STORE_MIGRATE, &err) == -1)
 *		fatalx("%s", err);
 *	...
 *	store_close(st);
 *
 * Statements are prepared once and cached per connection
 * (store_stmt()); a cached statement is reset and its bindings cleared
 * before it is handed out again.
 */
#ifndef DROVER_STORE_H
#define DROVER_STORE_H

#include <stdint.h>

#include <sqlite3.h>

struct store_stmt_cache;

struct store {
	sqlite3			*db;
	char			*path;
	int			 in_tx;		/* nesting depth of store_begin() */
	int			 failed;	/* a nested step failed: roll back */
	int			 wlock_fd;	/* "<db>-wlock", flock()ed around
						 * write transactions; -1: none */
	int			 wal_frames;	/* in the WAL after our last
						 * commit (sqlite3_wal_hook) */
	struct store_stmt_cache	*cache;
	/* queue.c's batches: jobs whose state to recompute at batch end */
	int			 batch;
	int64_t			*dirty;
	size_t			 ndirty;
	size_t			 adirty;
};

/* store_open() flags */
#define STORE_MIGRATE	0x1	/* apply pending migrations */
#define STORE_CREATE	0x2	/* create the file if missing */
#define STORE_READONLY	0x4	/* no writes at all (still refuses newer) */
#define STORE_ANY_VERSION 0x8	/* open an older schema as it is (for
				   drover migrate --to) */

/*
 * Opens (and with STORE_CREATE creates) the database at path.  Without
 * STORE_MIGRATE a database with pending migrations is an error ("run drover
 * migrate"); a newer one is always an error.  Returns 0, or -1 with *err a
 * malloc'd message (caller frees).
 */
int	store_open(struct store **out, const char *path, int flags, char **err);
void	store_close(struct store *);

/* Latest schema version this program knows. */
int	store_schema_latest(void);
/* PRAGMA user_version of an open database. */
int	store_version(struct store *);
/* One-line description of migration v (1..latest), or NULL. */
const char *store_migration_name(int v);
/*
 * Applies the migrations after the current version up to `to` (0 = latest),
 * each in one transaction.  Returns the number applied, or -1 with *err.
 * Moving down is refused.
 */
int	store_migrate(struct store *, int to, char **err);

/*
 * Transactions (BEGIN IMMEDIATE, so a writer never deadlocks on upgrade).
 * They nest: only the outermost begin/commit touch SQLite; a rollback at
 * any depth marks the whole transaction failed and the outermost commit
 * rolls it back and returns -1.
 */
int	store_begin(struct store *);
int	store_commit(struct store *);
void	store_rollback(struct store *);

/* Runs SQL without results; 0 or -1 (logged). */
int	store_exec(struct store *, const char *sql);
/*
 * The cached prepared statement for sql (compared by content), reset and
 * unbound; NULL (logged) if it does not compile.  Do not finalize it.
 */
sqlite3_stmt *store_stmt(struct store *, const char *sql);
/* sqlite3_step() with the error logged; returns the SQLite code. */
int	store_step(struct store *, sqlite3_stmt *);
/* Steps a statement that returns no rows and resets it: 0, or -1 (logged). */
int	store_step_done(struct store *, sqlite3_stmt *);
/* Column i as text, "" for NULL; valid until the statement moves on. */
const char *store_col_text(sqlite3_stmt *, int i);
/*
 * 1 if the last failure of the connection was the disk or the file (full,
 * I/O error, read-only, cannot open, locked too long): worth retrying
 * later, unlike a constraint or a refused move.
 */
int	store_error_transient(struct store *);
/* Last error message of the connection. */
const char *store_errmsg(struct store *);

/*
 * Copies the write-ahead log back into the database without waiting for
 * anyone (PRAGMA wal_checkpoint(PASSIVE)).  The daemon does it every
 * second so that its session workers, which write often, never pay for a
 * checkpoint (and its fsync) in the middle of their tasks.
 */
int	store_checkpoint(struct store *);
/* Milliseconds since the epoch, now. */
int64_t	store_now_ms(void);

/* Key/value settings kept in the store (table meta); caller frees. */
char	*store_meta_get(struct store *, const char *key);
int	 store_meta_set(struct store *, const char *key, const char *value);
/*
 * A number that changes whenever anything was committed to the store, by
 * this handle or another process (PRAGMA data_version plus this handle's
 * own changes); 0 on error.  Cheap: for "did anything happen?" polls.
 */
uint64_t store_change_mark(struct store *);

#endif
