/*
 * File-system helpers shared by the content-addressed store and the
 * dependency cache: drover's state directory, mkdir -p, atomic writes
 * (temp file in the same directory, then rename), recursive removal,
 * relative-path checks and error strings.
 *
 * Error convention: functions that can fail return -1 and, when errp is
 * not NULL, store a malloc'd message in *errp (freeing any previous one);
 * the caller frees it.
 */
#ifndef DROVER_CAS_FSUTIL_H
#define DROVER_CAS_FSUTIL_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

/*
 * drover's state directory: $DROVER_HOME, else $XDG_STATE_HOME/drover,
 * else ~/.local/state/drover.  Returns a malloc'd path (not created).
 */
char	*cas_drover_home(void);

/* Sets *errp (if errp) to a formatted message, freeing the old one. */
void	 cas_seterr(char **errp, const char *fmt, ...)
	     __attribute__((format(printf, 2, 3)));

/* mkdir -p; 0 or -1 with errno set. */
int	 cas_mkdirs(const char *path, mode_t mode);
/* "a" + "/" + "b" (no doubled slash); caller frees. */
char	*cas_path_join(const char *a, const char *b);
/*
 * Creates a unique temp file "<dir>/<prefix>XXXXXX" (O_EXCL, O_CLOEXEC,
 * mode 0600).  Returns the fd and the malloc'd name in *pathp, or -1.
 */
int	 cas_tmpfile(const char *dir, const char *prefix, char **pathp);
/* Writes all of buf; 0 or -1 with errno set. */
int	 cas_write_all(int fd, const void *buf, size_t len);
/*
 * Writes data to path atomically: temp file in the same directory, fsync,
 * chmod mode & ~umask, rename.  0 or -1 (errp set).
 */
int	 cas_write_file_atomic(const char *path, const void *data, size_t len,
	     mode_t mode, char **errp);
/* rm -rf without following symlinks; ENOENT is success. 0 or -1. */
int	 cas_rmtree(const char *path);
/* The process umask, read without changing it for other threads. */
mode_t	 cas_umask(void);

/*
 * True if p is a safe relative path: not empty, not absolute, no empty,
 * "." or ".." components, no NUL, valid UTF-8.
 */
int	 cas_relpath_safe(const char *p);
/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
int	 cas_utf8_valid(const char *s, size_t len);

/* "1.5 MiB" into buf (at least 16 bytes). */
const char *cas_fmt_bytes(uint64_t n, char *buf, size_t bufsz);
/* Wall-clock and monotonic time. */
int64_t	 cas_now_ns(void);
double	 cas_mono(void);
/* Online CPUs, at least 1. */
int	 cas_ncpu(void);

#endif
