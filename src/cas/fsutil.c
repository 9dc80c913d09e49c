/*
 * Small file-system helpers for the store and the deployment cache.  The
 * common rule: nothing is ever visible half-written, so every file is
 * written under a temporary name in its final directory and renamed.
 */
#define _GNU_SOURCE		/* mkostemp, nftw */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "common/buf.h"
#include "common/fs.h"
#include "common/xmalloc.h"

char *
cas_drover_home(void)
{
	char *h = fs_drover_home();

	return h ? h : xstrdup(".drover");
}

void
cas_seterr(char **errp, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (errp == NULL)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	free(*errp);
	*errp = buf_detach(&b, NULL);
}

int
cas_mkdirs(const char *path, mode_t mode)
{
	return fs_mkdirs(path, mode);
}

char *
cas_path_join(const char *a, const char *b)
{
	size_t la = strlen(a);

	if (la > 0 && a[la - 1] == '/')
		return xasprintf("%s%s", a, b);
	return xasprintf("%s/%s", a, b);
}

int
cas_tmpfile(const char *dir, const char *prefix, char **pathp)
{
	char *p = xasprintf("%s/%sXXXXXX", dir, prefix);
	int fd = mkostemp(p, O_CLOEXEC);

	if (fd == -1) {
		free(p);
		return -1;
	}
	*pathp = p;
	return fd;
}

int
cas_write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len > 0) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static mode_t umask_value = 022;
static pthread_once_t umask_once = PTHREAD_ONCE_INIT;

static void
umask_read(void)
{
	FILE *fp;
	char line[256];
	unsigned int m;

	/* umask(2) would change it for a moment under other threads */
	if ((fp = fopen("/proc/self/status", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), fp) != NULL) {
		if (sscanf(line, "Umask: %o", &m) == 1) {
			umask_value = (mode_t)m;
			break;
		}
	}
	fclose(fp);
}

mode_t
cas_umask(void)
{
	pthread_once(&umask_once, umask_read);
	return umask_value;
}

int
cas_write_file_atomic(const char *path, const void *data, size_t len,
    mode_t mode, char **errp)
{
	char *dir = xstrdup(path), *slash, *tmp = NULL;
	int fd, saved;

	slash = strrchr(dir, '/');
	if (slash == NULL) {
		free(dir);
		dir = xstrdup(".");
	} else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';
	fd = cas_tmpfile(dir, ".tmp-", &tmp);
	free(dir);
	if (fd == -1) {
		cas_seterr(errp, "cannot create a temporary file next to '%s': %s",
		    path, strerror(errno));
		return -1;
	}
	if (cas_write_all(fd, data, len) == -1 || fsync(fd) == -1 ||
	    fchmod(fd, mode & ~cas_umask()) == -1) {
		saved = errno;
		close(fd);
		unlink(tmp);
		free(tmp);
		cas_seterr(errp, "cannot write '%s': %s", path, strerror(saved));
		return -1;
	}
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		unlink(tmp);
		free(tmp);
		cas_seterr(errp, "cannot write '%s': %s", path, strerror(saved));
		return -1;
	}
	free(tmp);
	return 0;
}

static int
rmtree_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP || flag == FTW_D) {
		if (rmdir(path) == -1 && errno != ENOENT)
			return -1;
	} else if (unlink(path) == -1 && errno != ENOENT)
		return -1;
	return 0;
}

int
cas_rmtree(const char *path)
{
	struct stat st;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
	if (nftw(path, rmtree_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) == 0)
		return 0;
	return -1;
}

int
cas_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i];
		size_t n;
		uint32_t cp;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else
			return 0;
		if (i + n >= len)
			return 0;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

int
cas_relpath_safe(const char *p)
{
	const char *c = p, *e;
	size_t len = strlen(p);

	if (len == 0 || p[0] == '/' || !cas_utf8_valid(p, len))
		return 0;
	for (;;) {
		e = strchr(c, '/');
		if (e == NULL)
			e = c + strlen(c);
		if (e == c || (e - c == 1 && c[0] == '.') ||
		    (e - c == 2 && c[0] == '.' && c[1] == '.'))
			return 0;
		if (*e == '\0')
			return 1;
		c = e + 1;
	}
}

const char *
cas_fmt_bytes(uint64_t n, char *buf, size_t bufsz)
{
	static const char *units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, bufsz, "%llu B", (unsigned long long)n);
	else
		snprintf(buf, bufsz, "%.1f %s", v, units[u]);
	return buf;
}

int64_t
cas_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

double
cas_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
cas_ncpu(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : (n > 64 ? 64 : (int)n);
}
