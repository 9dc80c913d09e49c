/*
 * A fresh, migrated store in a private temp directory for each test that
 * needs one (u-store, u-attach-queue): cmocka setup/teardown pair plus a
 * one-number query helper.  Included by test programs only.
 */
#ifndef DROVER_TEST_STORE_FIXTURE_H
#define DROVER_TEST_STORE_FIXTURE_H

#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/xmalloc.h"
#include "store/store.h"

struct fx {
	char		 dir[64];
	char		*path;
	struct store	*st;
};

static inline int
fx_setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	char *err = NULL;

	snprintf(f->dir, sizeof(f->dir), "/tmp/u-store-fx.XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	f->path = xasprintf("%s/drover.db", f->dir);
	assert_int_equal(store_open(&f->st, f->path, STORE_CREATE |
	    STORE_MIGRATE, &err), 0);
	*state = f;
	return 0;
}

static inline int
fx_teardown(void **state)
{
	struct fx *f = *state;
	char *cmd = xasprintf("rm -rf '%s'", f->dir);

	store_close(f->st);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(f->path);
	free(f);
	return 0;
}

/* The first column of the first row of sql, or -1. */
static inline int64_t
fx_scalar(struct store *st, const char *sql)
{
	sqlite3_stmt *s = store_stmt(st, sql);
	int64_t v = -1;

	assert_non_null(s);
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return v;
}

#endif
