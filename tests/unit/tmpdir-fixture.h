/*
 * A private temp directory per test group, also used as DROVER_HOME
 * (u-cas, u-deploy): cmocka setup/teardown, paths inside it, and writing a
 * file there.  Included by test programs only; define TMPDIR_FIXTURE_NAME
 * (the program's name) before including it.
 */
#ifndef DROVER_TEST_TMPDIR_FIXTURE_H
#define DROVER_TEST_TMPDIR_FIXTURE_H

#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"

static char *tmpdir;

static inline int
setup(void **state)
{
	char tmpl[] = "/tmp/" TMPDIR_FIXTURE_NAME ".XXXXXX";

	(void)state;
	log_init(TMPDIR_FIXTURE_NAME, LOG_LVL_ERROR);
	tmpdir = xstrdup(mkdtemp(tmpl));
	setenv("DROVER_HOME", tmpdir, 1);
	return 0;
}

static inline int
teardown(void **state)
{
	(void)state;
	cas_rmtree(tmpdir);
	free(tmpdir);
	return 0;
}

/* tmpdir + "/" + the formatted name; caller frees. */
static inline char *
tpath(const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	buf_addf(&b, "%s/", tmpdir);
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	return buf_detach(&b, NULL);
}

static inline void
write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(cas_write_all(fd, data, len), 0);
	close(fd);
}

#endif
