/*
 * A growable NUL-terminated byte buffer (git's strbuf, redis' sds).
 *
 *	struct buf b = BUF_INIT;
 *	buf_addf(&b, "%d tasks", n);
 *	puts(b.s);
 *	buf_release(&b);
 *
 * b.s is never NULL after any buf_ call and always NUL-terminated.
 */
#ifndef DROVER_BUF_H
#define DROVER_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*s;
	size_t	 len;
	size_t	 alloc;
};

extern char buf_empty_[];
#define BUF_INIT { buf_empty_, 0, 0 }

void	 buf_init(struct buf *);
void	 buf_release(struct buf *);	/* frees, leaves it as BUF_INIT */
void	 buf_reset(struct buf *);	/* length 0, keeps memory */
void	 buf_grow(struct buf *, size_t extra);
void	 buf_add(struct buf *, const void *, size_t);
void	 buf_adds(struct buf *, const char *);
void	 buf_addch(struct buf *, int);
void	 buf_addf(struct buf *, const char *, ...)
	     __attribute__((format(printf, 2, 3)));
void	 buf_vaddf(struct buf *, const char *, va_list);
void	 buf_truncate(struct buf *, size_t len);
/* Hands the string to the caller (who frees it) and resets the buffer. */
char	*buf_detach(struct buf *, size_t *lenp);
/* Reads the whole file; returns 0, or -1 with errno set. */
int	 buf_read_file(struct buf *, const char *path);

#endif
