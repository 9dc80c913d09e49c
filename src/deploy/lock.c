/*
 * Cache-entry lock files "<host_id>::<pid>" (see lock.h for the rules).
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "cas/hash.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "deploy/lock.h"

/* A host id must be one printable token without "::". */
static int
host_id_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > 128 || strstr(s, "::") != NULL)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return 0;
	return 1;
}

static char *
read_id_file(const char *path)
{
	struct buf b = BUF_INIT;

	if (buf_read_file(&b, path) == -1) {
		buf_release(&b);
		return NULL;
	}
	while (b.len > 0 && (b.s[b.len - 1] == '\n' || b.s[b.len - 1] == ' '))
		buf_truncate(&b, b.len - 1);
	if (!host_id_ok(b.s)) {
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

char *
deploy_host_id(void)
{
	const char *env = getenv("DROVER_HOST_ID");
	char *id, *home, *path, hex[CAS_HASH_HEXLEN + 1];
	unsigned char rnd[32];
	int fd;

	if (env != NULL && host_id_ok(env))
		return xstrdup(env);
	if ((id = read_id_file("/etc/machine-id")) != NULL ||
	    (id = read_id_file("/var/lib/dbus/machine-id")) != NULL)
		return id;
	home = cas_drover_home();
	path = cas_path_join(home, "host-id");
	if ((id = read_id_file(path)) == NULL) {
		fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
		if (fd == -1 || read(fd, rnd, sizeof(rnd)) != (ssize_t)sizeof(rnd))
			snprintf((char *)rnd, sizeof(rnd), "%ld.%lld",
			    (long)getpid(), (long long)cas_now_ns());
		if (fd != -1)
			close(fd);
		cas_hash_mem(rnd, sizeof(rnd), hex);
		id = xasprintf("generated-%s", hex);
		if (cas_mkdirs(home, 0700) == 0)
			cas_write_file_atomic(path, id, strlen(id), 0644, NULL);
		free(id);
		/* another process may have won the race: use what is on disk */
		if ((id = read_id_file(path)) == NULL)
			id = xasprintf("generated-%s", hex);
	}
	free(path);
	free(home);
	return id;
}

int
deploy_lock_read(const char *path, char **host, pid_t *pid)
{
	struct buf b = BUF_INIT;
	char *sep, *end;
	long v;

	if (buf_read_file(&b, path) == -1) {
		buf_release(&b);
		return -1;
	}
	while (b.len > 0 && b.s[b.len - 1] == '\n')
		buf_truncate(&b, b.len - 1);
	sep = strstr(b.s, "::");
	if (sep == NULL || sep == b.s)
		goto bad;
	errno = 0;
	v = strtol(sep + 2, &end, 10);
	if (errno != 0 || *end != '\0' || end == sep + 2 || v <= 0 ||
	    v > 0x7fffffff)
		goto bad;
	*sep = '\0';
	*host = xstrdup(b.s);
	*pid = (pid_t)v;
	buf_release(&b);
	return 0;
bad:
	buf_release(&b);
	errno = EINVAL;
	return -1;
}

/* Start time of pid in seconds since the epoch, or -1 if unknown. */
static double
proc_start_time(pid_t pid)
{
	struct buf b = BUF_INIT;
	char path[64], *p;
	unsigned long long start = 0;
	double btime = -1;
	long hz = sysconf(_SC_CLK_TCK);
	FILE *fp;
	char line[256];
	int field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	if (buf_read_file(&b, path) == -1 || hz <= 0) {
		buf_release(&b);
		return -1;
	}
	/* field 22 (starttime); skip "pid (comm)" where comm may hold spaces */
	p = strrchr(b.s, ')');
	for (field = 2; p != NULL && field < 22; field++)
		p = strchr(p + 1, ' ');
	if (p == NULL || sscanf(p + 1, "%llu", &start) != 1) {
		buf_release(&b);
		return -1;
	}
	buf_release(&b);
	if ((fp = fopen("/proc/stat", "re")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "btime %lf", &btime) == 1)
			break;
	fclose(fp);
	if (btime < 0)
		return -1;
	return btime + (double)start / (double)hz;
}

int
deploy_lock_stale(const char *host, pid_t pid, time_t mtime,
    const char *my_host)
{
	double started;

	if (strcmp(host, my_host) != 0)
		return 0;	/* another host: cannot tell */
	if (pid == getpid())
		return 0;	/* ours (another thread): never stale */
	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	/* a live pid that started after the lock was written was reused */
	started = proc_start_time(pid);
	return started > 0 && started > (double)mtime + 2;
}

static void
nap(double s)
{
	struct timespec ts;

	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
	nanosleep(&ts, NULL);
}

/* Creates path exclusively with our id; 0, or -1 with errno. */
static int
create_exclusive(const char *path, const char *host_id)
{
	char *line = xasprintf("%s::%ld\n", host_id, (long)getpid());
	int fd, rc = 0, saved;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0644);
	if (fd == -1) {
		if (errno == ENOENT) {
			/* the entry's directory went away (gc): recreate */
			char *dir = xstrdup(path), *s = strrchr(dir, '/');

			if (s != NULL && s != dir) {
				*s = '\0';
				if (cas_mkdirs(dir, 0777) == 0)
					fd = open(path, O_WRONLY | O_CREAT |
					    O_EXCL | O_CLOEXEC | O_NOFOLLOW,
					    0644);
			}
			free(dir);
		}
		if (fd == -1) {
			free(line);
			return -1;
		}
	}
	if (cas_write_all(fd, line, strlen(line)) == -1)
		rc = -1;
	saved = errno;
	close(fd);
	if (rc == -1) {
		unlink(path);
		errno = saved;
	}
	free(line);
	return rc;
}

/* Same content as when we judged it stale (host, pid and inode)? */
static int
same_holder(const char *path, const char *host, pid_t pid, ino_t ino)
{
	struct stat st;
	char *h = NULL;
	pid_t p;
	int same;

	if (lstat(path, &st) == -1 || st.st_ino != ino)
		return 0;
	if (host == NULL)	/* was unreadable: still unreadable? */
		return deploy_lock_read(path, &h, &p) == -1 && errno == EINVAL;
	if (deploy_lock_read(path, &h, &p) == -1)
		return 0;
	same = strcmp(h, host) == 0 && p == pid;
	free(h);
	return same;
}

/*
 * Breaks a stale lock under "<path>.break".  Returns 1 if it was removed
 * (retry now), 0 if someone else is breaking it or it changed (retry
 * later), -1 on error.
 */
static int
break_lock(const char *path, const char *host, pid_t pid, ino_t ino,
    const char *my_host)
{
	char *brk = xasprintf("%s.break", path), *bh = NULL;
	struct stat st;
	pid_t bp;
	int rc = 0;

	if (create_exclusive(brk, my_host) == -1) {
		if (errno != EEXIST) {
			rc = -1;
			goto out;
		}
		/* a breaker died while breaking: clear its marker */
		if (lstat(brk, &st) == 0 &&
		    ((deploy_lock_read(brk, &bh, &bp) == 0 &&
		    deploy_lock_stale(bh, bp, st.st_mtime, my_host)) ||
		    (bh == NULL && time(NULL) - st.st_mtime > DEPLOY_LOCK_GRACE)))
			unlink(brk);
		free(bh);
		goto out;
	}
	if (same_holder(path, host, pid, ino)) {
		if (unlink(path) == 0 || errno == ENOENT) {
			log_warnx("broke stale lock '%s' (held by %s::%ld)", path,
			    host ? host : "?", (long)pid);
			rc = 1;
		} else
			rc = -1;
	}
	unlink(brk);
out:
	free(brk);
	return rc;
}

int
deploy_lock_acquire(const char *path, const char *host_id, double timeout,
    char **errp)
{
	double start = cas_mono(), delay = 0.01;
	char *holder = NULL;
	int waited = 0;

	for (;;) {
		struct stat st;
		char *h = NULL;
		pid_t pid = 0;
		int stale, r;

		if (create_exclusive(path, host_id) == 0) {
			free(holder);
			return 0;
		}
		if (errno != EEXIST) {
			cas_seterr(errp, "cannot create lock '%s': %s", path,
			    strerror(errno));
			free(holder);
			return DEPLOY_LOCK_ERROR;
		}
		if (lstat(path, &st) == -1)
			continue;	/* released meanwhile */
		if (deploy_lock_read(path, &h, &pid) == 0) {
			stale = deploy_lock_stale(h, pid, st.st_mtime, host_id);
			if (!stale && strcmp(h, host_id) == 0 && pid == getpid()) {
				cas_seterr(errp, "lock '%s' is already held by "
				    "this process", path);
				free(h);
				free(holder);
				return DEPLOY_LOCK_ERROR;
			}
		} else if (errno == ENOENT) {
			continue;
		} else
			stale = time(NULL) - st.st_mtime > DEPLOY_LOCK_GRACE;
		if (stale) {
			r = break_lock(path, h, pid, st.st_ino, host_id);
			free(h);
			if (r == 1)
				continue;
			if (r == -1) {
				cas_seterr(errp, "cannot break stale lock '%s': %s",
				    path, strerror(errno));
				free(holder);
				return DEPLOY_LOCK_ERROR;
			}
		} else {
			free(holder);
			holder = h ? xasprintf("%s::%ld", h, (long)pid) :
			    xstrdup("(being written)");
			free(h);
		}
		if (cas_mono() - start >= timeout) {
			if (timeout <= 0) {
				cas_seterr(errp, "'%s' is locked by %s", path,
				    holder ? holder : "another process");
				free(holder);
				return DEPLOY_LOCK_BUSY;
			}
			cas_seterr(errp, "timed out after %.0f s waiting for lock "
			    "'%s' held by %s%s", timeout, path,
			    holder ? holder : "another process",
			    holder && strncmp(holder, host_id, strlen(host_id)) ?
			    " (another host; remove the lock file if that host "
			    "is gone)" : "");
			free(holder);
			return DEPLOY_LOCK_TIMEOUT;
		}
		if (!waited) {
			log_info("waiting for lock '%s' held by %s", path,
			    holder ? holder : "a stale holder");
			waited = 1;
		}
		nap(delay);
		if (delay < 0.25)
			delay *= 2;
	}
}

void
deploy_lock_release(const char *path, const char *host_id)
{
	char *h = NULL;
	pid_t pid;

	if (deploy_lock_read(path, &h, &pid) == 0 &&
	    strcmp(h, host_id) == 0 && pid == getpid())
		unlink(path);
	free(h);
}
