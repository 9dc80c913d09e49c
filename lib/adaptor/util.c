/*
 * Small helpers of libdrover-adaptor: a growable buffer that reports
 * out-of-memory instead of aborting, error strings, files, clocks.  The
 * library is installed on its own, so it does not use src/common.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "adaptor-int.h"

const char *
drover_strerror(int code)
{
	switch (code) {
	case 0:			return "success";
	case DROVER_ENOMEM:	return "out of memory";
	case DROVER_EINVAL:	return "invalid argument";
	case DROVER_EIO:	return "system error";
	case DROVER_ESCHEMA:	return "data does not match its schema";
	case DROVER_EPROTO:	return "protocol error";
	case DROVER_ECONN:	return "cannot reach the adaptor daemon";
	case DROVER_EPERM:	return "permission denied";
	case DROVER_EEXIST:	return "already exists";
	case DROVER_ENOENT:	return "no such file or object";
	case DROVER_ECANCELED:	return "canceled";
	case DROVER_EFAILED:	return "the adaptor reported a failure";
	case DROVER_ETIMEDOUT:	return "timed out";
	case DROVER_EABORTED:	return "aborted by a line handler";
	case DROVER_ESTATE:	return "not allowed in this state";
	default:		return "unknown error";
	}
}

int
drover__dbuf_grow(struct dbuf *b, size_t extra)
{
	size_t want, n;
	char *p;

	if (extra > SIZE_MAX - b->len - 1)
		return DROVER_ENOMEM;
	want = b->len + extra + 1;
	if (want <= b->alloc)
		return 0;
	n = b->alloc ? b->alloc : 64;
	while (n < want)
		n = n > SIZE_MAX / 2 ? want : n * 2;
	p = realloc(b->s, n);
	if (p == NULL)
		return DROVER_ENOMEM;
	b->s = p;
	b->alloc = n;
	return 0;
}

int
drover__dbuf_add(struct dbuf *b, const void *data, size_t len)
{
	if (drover__dbuf_grow(b, len) != 0)
		return DROVER_ENOMEM;
	if (len)
		memcpy(b->s + b->len, data, len);
	b->len += len;
	b->s[b->len] = '\0';
	return 0;
}

int
drover__dbuf_adds(struct dbuf *b, const char *s)
{
	return drover__dbuf_add(b, s, strlen(s));
}

int
drover__dbuf_vaddf(struct dbuf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	if (drover__dbuf_grow(b, 64) != 0)
		return DROVER_ENOMEM;
	va_copy(cp, ap);
	n = vsnprintf(b->s + b->len, b->alloc - b->len, fmt, cp);
	va_end(cp);
	if (n < 0)
		return DROVER_EINVAL;
	if ((size_t)n >= b->alloc - b->len) {
		if (drover__dbuf_grow(b, (size_t)n) != 0)
			return DROVER_ENOMEM;
		va_copy(cp, ap);
		n = vsnprintf(b->s + b->len, b->alloc - b->len, fmt, cp);
		va_end(cp);
		if (n < 0)
			return DROVER_EINVAL;
	}
	b->len += (size_t)n;
	return 0;
}

int
drover__dbuf_addf(struct dbuf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = drover__dbuf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void
drover__dbuf_consume(struct dbuf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		if (b->s)
			b->s[0] = '\0';
		return;
	}
	memmove(b->s, b->s + n, b->len - n);
	b->len -= n;
	b->s[b->len] = '\0';
}

void
drover__dbuf_release(struct dbuf *b)
{
	free(b->s);
	b->s = NULL;
	b->len = b->alloc = 0;
}

char *
drover__dbuf_detach(struct dbuf *b)
{
	char *s;

	if (b->s == NULL && drover__dbuf_grow(b, 0) != 0)
		return NULL;
	if (b->len == 0)
		b->s[0] = '\0';
	s = b->s;
	b->s = NULL;
	b->len = b->alloc = 0;
	return s;
}

void
drover__seterr(char *err, size_t errsz, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errsz == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errsz, fmt, ap);
	va_end(ap);
}

char *
drover__strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);

	if (p)
		memcpy(p, s, n);
	return p;
}

char *
drover__asprintf(const char *fmt, ...)
{
	struct dbuf b = DBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = drover__dbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (rc != 0) {
		drover__dbuf_release(&b);
		return NULL;
	}
	return drover__dbuf_detach(&b);
}

int
drover__read_file(const char *path, char **out, size_t *lenp, char *err,
    size_t errsz)
{
	struct dbuf b = DBUF_INIT;
	char chunk[8192];
	ssize_t n;
	int fd, rc = 0;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		drover__seterr(err, errsz, "cannot open '%s': %s", path,
		    strerror(errno));
		return errno == ENOENT ? DROVER_ENOENT : DROVER_EIO;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			drover__seterr(err, errsz, "cannot read '%s': %s", path,
			    strerror(errno));
			rc = DROVER_EIO;
			break;
		}
		if (n == 0)
			break;
		if (drover__dbuf_add(&b, chunk, (size_t)n) != 0) {
			drover__seterr(err, errsz, "out of memory");
			rc = DROVER_ENOMEM;
			break;
		}
	}
	close(fd);
	if (rc != 0) {
		drover__dbuf_release(&b);
		return rc;
	}
	if (lenp)
		*lenp = b.len;
	*out = drover__dbuf_detach(&b);
	if (*out == NULL) {
		drover__seterr(err, errsz, "out of memory");
		return DROVER_ENOMEM;
	}
	return 0;
}

long long
drover__now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *
drover__exe_dir(void)
{
	char path[PATH_MAX];
	ssize_t n;
	char *slash;

	n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0)
		return NULL;
	path[n] = '\0';
	slash = strrchr(path, '/');
	if (slash == NULL)
		return NULL;
	if (slash == path)
		slash[1] = '\0';
	else
		*slash = '\0';
	return drover__strdup(path);
}

char *
drover__resolve(const char *dir, const char *path)
{
	if (path[0] == '/' || dir == NULL)
		return drover__strdup(path);
	return drover__asprintf("%s/%s", dir, path);
}

int
drover__write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
drover__set_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return drover__set_cloexec(fd);
}

int
drover__set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0 || fcntl(fd, F_SETFD, fl | FD_CLOEXEC) < 0)
		return -1;
	return 0;
}

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
	size_t len, i;
	unsigned int cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

void
drover__sanitize_line(char *s, size_t len)
{
	unsigned char *p = (unsigned char *)s;
	size_t i = 0, n;

	while (i < len) {
		if (p[i] < 0x20 && p[i] != '\t') {
			p[i++] = '?';
			continue;
		}
		if (p[i] == 0x7f) {
			p[i++] = '?';
			continue;
		}
		n = utf8_seq(p + i, len - i);
		if (n == 0) {
			p[i++] = '?';
			continue;
		}
		i += n;
	}
}
