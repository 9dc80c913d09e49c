/*
 * Allocation that cannot fail: the CLI and daemon abort on out-of-memory
 * (tmux, OpenSMTPD).  Library code under lib/ must not use these.
 */
#ifndef DROVER_XMALLOC_H
#define DROVER_XMALLOC_H

#include <stddef.h>

void	*xmalloc(size_t);
void	*xcalloc(size_t, size_t);
void	*xrealloc(void *, size_t);
/* Grows an array of nmemb elements of size sz; aborts on overflow. */
void	*xreallocarray(void *, size_t nmemb, size_t sz);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);
/* Returns a newly allocated formatted string; the caller frees it. */
char	*xasprintf(const char *, ...) __attribute__((format(printf, 1, 2)));

/* Ensure *arr (with *alloc slots) can hold n elements of size sz. */
#define ALLOC_GROW(arr, n, alloc) do {					\
	if ((n) > (alloc)) {						\
		size_t alloc_grow_new_ = (alloc) ? (alloc) * 2 : 8;	\
		while (alloc_grow_new_ < (n))				\
			alloc_grow_new_ *= 2;				\
		(arr) = xreallocarray((arr), alloc_grow_new_, sizeof(*(arr))); \
		(alloc) = alloc_grow_new_;				\
	}								\
} while (0)

#endif
