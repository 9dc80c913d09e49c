/* Growable string buffer; see buf.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xmalloc.h"

char buf_empty_[1];

void
buf_init(struct buf *b)
{
	b->s = buf_empty_;
	b->len = 0;
	b->alloc = 0;
}

void
buf_release(struct buf *b)
{
	if (b->alloc)
		free(b->s);
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	if (b->alloc) {
		b->len = 0;
		b->s[0] = '\0';
	}
}

void
buf_grow(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;

	if (need <= b->alloc)
		return;
	if (!b->alloc) {
		size_t n = need < 64 ? 64 : need;
		b->s = xmalloc(n);
		b->s[0] = '\0';
		b->alloc = n;
		return;
	}
	while (b->alloc < need)
		b->alloc *= 2;
	b->s = xrealloc(b->s, b->alloc);
}

void
buf_add(struct buf *b, const void *p, size_t n)
{
	buf_grow(b, n);
	memcpy(b->s + b->len, p, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void
buf_adds(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

void
buf_addch(struct buf *b, int c)
{
	buf_grow(b, 1);
	b->s[b->len++] = (char)c;
	b->s[b->len] = '\0';
}

void
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(b->s + b->len, b->alloc ? b->alloc - b->len : 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		abort();
	if ((size_t)n + 1 > (b->alloc ? b->alloc - b->len : 0)) {
		buf_grow(b, (size_t)n);
		vsnprintf(b->s + b->len, b->alloc - b->len, fmt, ap);
	}
	b->len += (size_t)n;
}

void
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(b, fmt, ap);
	va_end(ap);
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len && b->alloc) {
		b->len = len;
		b->s[len] = '\0';
	}
}

char *
buf_detach(struct buf *b, size_t *lenp)
{
	char *s;

	if (!b->alloc)
		buf_grow(b, 0);
	s = b->s;
	if (lenp)
		*lenp = b->len;
	buf_init(b);
	return s;
}

int
buf_read_file(struct buf *b, const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	for (;;) {
		buf_grow(b, 8192);
		n = read(fd, b->s + b->len, b->alloc - b->len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		b->len += (size_t)n;
		b->s[b->len] = '\0';
	}
	close(fd);
	return 0;
}
