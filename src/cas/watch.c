/*
 * The file-system watcher process and the client's way to it (watch.h has
 * the design and the synchronisation argument).
 *
 * One process per root: it holds <key>.lock (flock) for its whole life,
 * so two can never watch one root; clients that find no watcher serialise
 * on <key>.start while one of them starts it, so only one is started.
 * The watcher is single-threaded: a ppoll() loop over the inotify fd, the
 * listening socket and its clients.  Directories are nodes of a tree
 * (path, parent, children) found by watch descriptor and by path; a
 * directory moved within the tree is forgotten under its old path and
 * watched again under the new one, and both paths are reported.
 */
#define _GNU_SOURCE		/* accept4, pipe2, close_range, ppoll, ucred */
#include <sys/file.h>
#include <sys/inotify.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "cas/hash.h"
#include "cas/watch.h"
#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"

#define WATCH_MASK	(IN_CREATE | IN_DELETE | IN_MODIFY | IN_ATTRIB | \
			 IN_MOVED_FROM | IN_MOVED_TO | IN_CLOSE_WRITE | \
			 IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR | \
			 IN_DONT_FOLLOW | IN_EXCL_UNLINK)
#define READY_TIMEOUT_MS	(10 * 60 * 1000)  /* a huge tree's scan */
#define IO_TIMEOUT_MS		(10 * 60 * 1000)
#define CLIENT_LINE_MAX		4096

/* ---- files, file systems, settings ---- */

void
cas_watch_files_init(struct cas_watch_files *f, const char *root)
{
	char *home = cas_drover_home(), cwd[PATH_MAX];

	/* absolute: the watcher runs in "/" */
	if (home[0] != '/' && getcwd(cwd, sizeof(cwd)) != NULL) {
		char *abs = cas_path_join(cwd, home);

		free(home);
		home = abs;
	}

	cas_hash_mem(root, strlen(root), f->key);
	f->dir = cas_path_join(home, "watch");
	f->sock = xasprintf("%s/%s.sock", f->dir, f->key);
	f->lock = xasprintf("%s/%s.lock", f->dir, f->key);
	f->start = xasprintf("%s/%s.start", f->dir, f->key);
	f->pid = xasprintf("%s/%s.pid", f->dir, f->key);
	f->state = xasprintf("%s/%s.state", f->dir, f->key);
	f->log = xasprintf("%s/%s.log", f->dir, f->key);
	free(home);
}

void
cas_watch_files_release(struct cas_watch_files *f)
{
	free(f->dir);
	free(f->sock);
	free(f->lock);
	free(f->start);
	free(f->pid);
	free(f->state);
	free(f->log);
	memset(f, 0, sizeof(*f));
}

int
cas_watch_fs_local(long f_type, const char **name)
{
	static const struct {
		unsigned long	 magic;
		const char	*name;
		int		 local;
	} fs[] = {
		{ 0xef53, "ext4", 1 },		/* ext2/3/4 */
		{ 0x58465342, "xfs", 1 },
		{ 0x9123683e, "btrfs", 1 },
		{ 0x01021994, "tmpfs", 1 },
		{ 0x794c7630, "overlayfs", 1 },
		{ 0xf2f52010, "f2fs", 1 },
		{ 0x858458f6, "ramfs", 1 },
		{ 0x2fc12fc1, "zfs", 1 },
		{ 0x52654973, "reiserfs", 1 },
		{ 0x3153464a, "jfs", 1 },
		{ 0xca451a4e, "bcachefs", 1 },
		{ 0x4d44, "vfat", 1 },
		{ 0x2011bab0, "exfat", 1 },
		{ 0x5346544e, "ntfs", 1 },
		{ 0x73717368, "squashfs", 1 },
		{ 0x9660, "iso9660", 1 },
		{ 0x6969, "nfs", 0 },
		{ 0x517b, "smb", 0 },
		{ 0xff534d42, "cifs", 0 },
		{ 0xfe534d42, "smb2", 0 },
		{ 0x65735546, "fuse", 0 },
		{ 0x01021997, "9p", 0 },
		{ 0x00c36400, "ceph", 0 },
		{ 0x6b414653, "afs", 0 },
		{ 0x01161970, "gfs2", 0 },
		{ 0x7461636f, "ocfs2", 0 },
		{ 0x0bd00bd0, "lustre", 0 },
		{ 0x9fa0, "proc", 0 },
		{ 0x62656572, "sysfs", 0 },
	};

	for (size_t i = 0; i < sizeof(fs) / sizeof(fs[0]); i++) {
		if ((unsigned long)f_type == fs[i].magic ||
		    ((unsigned long)f_type & 0xffffffffUL) == fs[i].magic) {
			*name = fs[i].name;
			return fs[i].local;
		}
	}
	*name = "unknown";	/* not known to be local: refused */
	return 0;
}

/*
 * 1 if a directory's link count on this file system is 2 + its number of
 * subdirectories (so 2 means none): ext2/3/4, xfs, tmpfs (not btrfs).
 */
static int
fs_counts_subdirs(long f_type)
{
	unsigned long t = (unsigned long)f_type & 0xffffffffUL;

	return t == 0xef53 || t == 0x58465342 || t == 0x01021994;
}

int64_t
cas_watch_idle_ms(void)
{
	const char *v = getenv("DROVER_WATCH_IDLE");
	char *end;
	double s;

	if (v == NULL || *v == '\0')
		return CAS_WATCH_IDLE_DEFAULT_MS;
	s = strtod(v, &end);
	if (*end != '\0' || !(s > 0) || s > 1e9)
		return CAS_WATCH_IDLE_DEFAULT_MS;
	return (int64_t)(s * 1000);
}

static size_t
max_paths(void)
{
	const char *v = getenv("DROVER_WATCH_MAX_PATHS");
	long n = v ? strtol(v, NULL, 10) : 0;

	return n >= 2 ? (size_t)n : CAS_WATCH_MAX_PATHS;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * The address of the socket at path; a path too long for sun_path is
 * reached through /proc/self/fd/N/NAME of its directory (*dirfd, which the
 * caller closes).  0 or -1.
 */
static int
sock_addr(const char *path, struct sockaddr_un *sa, int *dirfd)
{
	const char *slash = strrchr(path, '/');

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	*dirfd = -1;
	if (strlen(path) < sizeof(sa->sun_path)) {
		memcpy(sa->sun_path, path, strlen(path) + 1);
		return 0;
	}
	if (slash == NULL) {
		errno = ENAMETOOLONG;
		return -1;
	}
	{
		char *dir = xstrndup(path, (size_t)(slash - path));

		*dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		free(dir);
	}
	if (*dirfd == -1)
		return -1;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path),
	    "/proc/self/fd/%d/%s", *dirfd, slash + 1) >= sizeof(sa->sun_path)) {
		close(*dirfd);
		*dirfd = -1;
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* Writes all of data, waiting up to timeout_ms for a slow reader. */
static int
send_all(int fd, const char *data, size_t len, int timeout_ms)
{
	while (len > 0) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);

		if (n > 0) {
			data += n;
			len -= (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { fd, POLLOUT, 0 };
			int rc = poll(&p, 1, timeout_ms);

			if (rc == 0)
				errno = ETIMEDOUT;
			if (rc <= 0)
				return -1;
			continue;
		}
		return -1;
	}
	return 0;
}

static int
peer_uid_ok(int fd, pid_t *pid)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 ||
	    len != sizeof(uc))
		return 0;
	if (pid != NULL)
		*pid = uc.pid;
	return uc.uid == getuid();
}

/* ---- the watcher: directories ---- */

struct wnode {
	int		 wd;
	char		*path;		/* relative; "" is the root */
	dev_t		 dev;
	int		 leaves;	/* nlink 2 means no subdirectories */
	struct wnode	*parent;
	struct wnode	**kids;
	size_t		 nkids, kalloc;
	size_t		 pidx;		/* index in parent->kids */
};

/* Watch descriptor -> node: open addressing on the int. */
struct wdmap {
	struct wnode	**v;
	size_t		  cap, n;
};

struct wclient {
	int		 fd;
	struct buf	 in;
	int		 bye;		/* asked to stop: answered at exit */
};

struct watcher {
	char			*root;
	dev_t			 dev;
	ino_t			 ino;
	struct cas_watch_files	 files;
	int			 ifd;
	int			 lfd;
	int			 lockfd;
	ino_t			 sock_ino;
	int			 sock_wd;	/* its socket's inode, watched */
	struct wnode		*top;
	struct wdmap		 bywd;
	struct cas_wmap		 bypath;	/* borrowed keys: node paths */
	size_t			 ndirs;
	struct cas_watch_changes ch;
	char			 instance[33];
	struct wclient		*cl;
	size_t			 ncl, clalloc;
	int64_t			 idle_ms;
	int64_t			 last;		/* last request, monotonic ms */
	char			*quit;		/* why it stops, or NULL */
	uint64_t		 overflows;
};

static volatile sig_atomic_t got_signal;

static void
on_signal(int sig)
{
	got_signal = sig;
}

static size_t
wd_slot(const struct wdmap *m, int wd)
{
	return ((size_t)(unsigned)wd * 2654435761u) & (m->cap - 1);
}

static struct wnode *
wdmap_get(const struct wdmap *m, int wd)
{
	if (m->n == 0)
		return NULL;
	for (size_t i = wd_slot(m, wd); m->v[i] != NULL;
	    i = (i + 1) & (m->cap - 1))
		if (m->v[i]->wd == wd)
			return m->v[i];
	return NULL;
}

static void
wdmap_put(struct wdmap *m, struct wnode *n)
{
	size_t i;

	if (2 * (m->n + 1) > m->cap) {
		struct wnode **old = m->v;
		size_t ocap = m->cap;

		m->cap = ocap ? ocap * 2 : 64;
		m->v = xcalloc(m->cap, sizeof(*m->v));
		m->n = 0;
		for (size_t k = 0; k < ocap; k++)
			if (old[k] != NULL)
				wdmap_put(m, old[k]);
		free(old);
	}
	for (i = wd_slot(m, n->wd); m->v[i] != NULL; i = (i + 1) & (m->cap - 1))
		;
	m->v[i] = n;
	m->n++;
}

static void
wdmap_del(struct wdmap *m, int wd)
{
	size_t mask = m->cap - 1, i, j;

	if (m->n == 0)
		return;
	for (i = wd_slot(m, wd); m->v[i] != NULL && m->v[i]->wd != wd;
	    i = (i + 1) & mask)
		;
	if (m->v[i] == NULL)
		return;
	m->v[i] = NULL;
	m->n--;
	for (j = (i + 1) & mask; m->v[j] != NULL; j = (j + 1) & mask) {
		size_t home = wd_slot(m, m->v[j]->wd);
		int stays = i <= j ? (home > i && home <= j) :
		    (home > i || home <= j);

		if (stays)
			continue;
		m->v[i] = m->v[j];
		m->v[j] = NULL;
		i = j;
	}
}

static void
wquit(struct watcher *w, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
wquit(struct watcher *w, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (w->quit != NULL)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	w->quit = buf_detach(&b, NULL);
}

/* Forgets n and everything under it; rm_watch for all but keep_wd. */
static void
drop_tree(struct watcher *w, struct wnode *n, int keep_wd)
{
	while (n->nkids > 0)
		drop_tree(w, n->kids[n->nkids - 1], keep_wd);
	if (n->parent != NULL) {
		struct wnode *p = n->parent, *last = p->kids[p->nkids - 1];

		p->kids[n->pidx] = last;
		last->pidx = n->pidx;
		p->nkids--;
	}
	wdmap_del(&w->bywd, n->wd);
	if (cas_wmap_get(&w->bypath, n->path) != NULL &&
	    cas_wmap_get(&w->bypath, n->path)->ptr == n)
		cas_wmap_del(&w->bypath, n->path);
	if (n->wd != keep_wd)
		inotify_rm_watch(w->ifd, n->wd);	/* may be gone already */
	if (n == w->top)
		w->top = NULL;
	w->ndirs--;
	free(n->kids);
	free(n->path);
	free(n);
}

static char *
rel_join(const char *dir, const char *name)
{
	return *dir == '\0' ? xstrdup(name) : xasprintf("%s/%s", dir, name);
}

static char *
abs_path(const struct watcher *w, const char *rel)
{
	return *rel == '\0' ? xstrdup(w->root) : xasprintf("%s/%s", w->root,
	    rel);
}

/*
 * Watches directory rel (child of parent, NULL for the root) and every
 * directory under it: the watch first, then readdir, so that nothing
 * created meanwhile is missed.  A directory that vanished is no error;
 * anything else that keeps a directory unwatched stops the watcher.
 */
static void
watch_dir(struct watcher *w, const char *rel, struct wnode *parent)
{
	struct wnode *n, *old;
	struct cas_wmap_ent *e;
	struct dirent *de;
	struct statfs sfs;
	struct stat st;
	const char *fsname;
	char *abs;
	DIR *dp;
	int wd;

	if (w->quit != NULL)
		return;
	abs = abs_path(w, rel);
	wd = inotify_add_watch(w->ifd, abs, WATCH_MASK);
	if (wd == -1) {
		if (errno != ENOENT && errno != ENOTDIR && errno != ELOOP)
			wquit(w, "cannot watch '%s': %s%s", abs, strerror(errno),
			    errno == ENOSPC ? " (raise fs.inotify."
			    "max_user_watches)" : "");
		free(abs);
		return;
	}
	n = wdmap_get(&w->bywd, wd);
	if (n != NULL && strcmp(n->path, rel) != 0) {
		struct stat now, there;
		char *oabs;
		int same;

		for (struct wnode *a = parent; a != NULL; a = a->parent) {
			if (a == n) {
				/* an ancestor again (a bind mount): a walk
				 * skips this cycle, and so do we */
				free(abs);
				return;
			}
		}
		oabs = abs_path(w, n->path);
		same = stat(abs, &now) == 0 && lstat(oabs, &there) == 0 &&
		    now.st_dev == there.st_dev && now.st_ino == there.st_ino;
		if (same)
			wquit(w, "'%s' is also '%s' (mounted twice): events "
			    "would name only one of them", abs, oabs);
		free(oabs);
		if (same) {
			free(abs);
			return;
		}
		/* moved here before we heard of it: forget the old place */
		drop_tree(w, n, wd);
		n = NULL;
	}
	e = cas_wmap_get(&w->bypath, rel);
	old = e ? e->ptr : NULL;
	if (old != NULL && old != n)
		drop_tree(w, old, wd);	/* another directory was here */
	if (n == NULL) {
		n = xcalloc(1, sizeof(*n));
		n->wd = wd;
		n->path = xstrdup(rel);
		n->parent = parent;
		if (parent != NULL) {
			ALLOC_GROW(parent->kids, parent->nkids + 1,
			    parent->kalloc);
			n->pidx = parent->nkids;
			parent->kids[parent->nkids++] = n;
		} else
			w->top = n;
		wdmap_put(&w->bywd, n);
		cas_wmap_put(&w->bypath, n->path)->ptr = n;
		w->ndirs++;
	}
	if ((dp = opendir(abs)) == NULL) {
		if (errno != ENOENT && errno != ENOTDIR)
			wquit(w, "cannot read directory '%s': %s", abs,
			    strerror(errno));
		free(abs);
		return;
	}
	if (fstat(dirfd(dp), &st) == 0) {
		n->dev = st.st_dev;
		n->leaves = parent != NULL ? parent->leaves : 0;
		if ((parent == NULL || st.st_dev != parent->dev) &&
		    fstatfs(dirfd(dp), &sfs) == 0) {
			if (!cas_watch_fs_local((long)sfs.f_type, &fsname))
				wquit(w, "'%s' is on a %s file system, which "
				    "inotify does not watch", abs, fsname);
			n->leaves = fs_counts_subdirs((long)sfs.f_type);
		}
		/* find(1)'s leaf optimisation: the watch is set, so a
		 * subdirectory made since is reported by an event */
		if (n->leaves && st.st_nlink == 2) {
			closedir(dp);
			free(abs);
			return;
		}
	}
	while (w->quit == NULL && (errno = 0, de = readdir(dp)) != NULL) {
		const char *name = de->d_name;
		char *sub;

		if (name[0] == '.' && (name[1] == '\0' ||
		    (name[1] == '.' && name[2] == '\0')))
			continue;
		if (de->d_type == DT_UNKNOWN) {
			if (fstatat(dirfd(dp), name, &st,
			    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISDIR(st.st_mode))
				continue;
		} else if (de->d_type != DT_DIR)
			continue;
		sub = rel_join(rel, name);
		watch_dir(w, sub, n);
		free(sub);
	}
	closedir(dp);
	free(abs);
}

/* Records what one event says changed, and follows directories. */
static void
handle_event(struct watcher *w, const struct inotify_event *ev)
{
	struct wnode *n;
	char *path;

	if (ev->mask & IN_Q_OVERFLOW) {
		/* events were lost: nothing before now is known, and a
		 * directory created meanwhile may lack its watch */
		log_warnx("inotify queue overflow: rescanning '%s'", w->root);
		w->overflows++;
		cas_watch_changes_forget(&w->ch);
		watch_dir(w, "", NULL);
		return;
	}
	if (ev->wd == w->sock_wd && w->sock_wd != -1) {
		struct stat st;

		/* nobody can reach a watcher whose socket is gone (its
		 * DROVER_HOME removed, say): it would only linger */
		if (stat(w->files.sock, &st) == -1 || st.st_ino != w->sock_ino)
			wquit(w, "its socket '%s' was removed", w->files.sock);
		return;
	}
	if ((n = wdmap_get(&w->bywd, ev->wd)) == NULL)
		return;		/* a watch we dropped */
	if (ev->mask & IN_IGNORED) {
		if (n == w->top)
			wquit(w, "'%s' is gone", w->root);
		drop_tree(w, n, n->wd);
		return;
	}
	if (ev->len > 0 && ev->name[0] != '\0') {
		path = rel_join(n->path, ev->name);
		cas_watch_changes_add(&w->ch, path);
		if (ev->mask & IN_ISDIR) {
			if (ev->mask & (IN_DELETE | IN_MOVED_FROM)) {
				struct cas_wmap_ent *e = cas_wmap_get(&w->bypath,
				    path);

				if (e != NULL)
					drop_tree(w, e->ptr, -1);
			}
			if (ev->mask & (IN_CREATE | IN_MOVED_TO))
				watch_dir(w, path, n);
		}
		free(path);
		return;
	}
	/* an event of the watched directory itself */
	if (n == w->top) {
		if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_UNMOUNT))
			wquit(w, "'%s' was %s", w->root,
			    ev->mask & IN_UNMOUNT ? "unmounted" :
			    ev->mask & IN_MOVE_SELF ? "moved" : "deleted");
		else if (ev->mask & IN_ATTRIB)
			cas_watch_changes_add(&w->ch, "");
		return;
	}
	cas_watch_changes_add(&w->ch, n->path);
	if (ev->mask & IN_UNMOUNT) {
		/* a file system under the tree went: watch what is there now */
		char *p = xstrdup(n->path);
		struct wnode *parent = n->parent;

		drop_tree(w, n, -1);
		watch_dir(w, p, parent);
		free(p);
	}
}

/* Reads every queued event (until EAGAIN). */
static void
drain(struct watcher *w)
{
	union {
		struct inotify_event	ev;
		char			b[65536];
	} u;

	while (w->quit == NULL) {
		ssize_t n = read(w->ifd, u.b, sizeof(u.b));

		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0) {
			wquit(w, "cannot read inotify events: %s",
			    n == 0 ? "end of file" : strerror(errno));
			break;
		}
		for (ssize_t off = 0; off < n && w->quit == NULL;) {
			const struct inotify_event *ev =
			    (const struct inotify_event *)(u.b + off);

			handle_event(w, ev);
			off += (ssize_t)(sizeof(*ev) + ev->len);
		}
	}
}

/* ---- the watcher: clients ---- */

static void
client_close(struct watcher *w, size_t i)
{
	close(w->cl[i].fd);
	buf_release(&w->cl[i].in);
	w->cl[i] = w->cl[--w->ncl];
}

static void
reply_send(struct wclient *c, const struct cas_watch_reply *r)
{
	struct buf b = BUF_INIT;

	cas_watch_reply_encode(r, &b);
	if (send_all(c->fd, b.s, b.len, IO_TIMEOUT_MS) == -1)
		log_warn("cannot answer a client");
	buf_release(&b);
}

static void
handle_request(struct watcher *w, struct wclient *c,
    const struct cas_watch_req *q)
{
	struct cas_watch_reply r;
	const char **paths = NULL;
	struct buf text = BUF_INIT;
	size_t np = 0;

	/* every change completed before the request was sent is queued
	 * now (watch.h): read it all before answering */
	drain(w);
	w->last = mono_ms();
	memset(&r, 0, sizeof(r));
	memcpy(r.tok.instance, w->instance, sizeof(r.tok.instance));
	r.dev = (uint64_t)w->dev;
	r.ino = (uint64_t)w->ino;
	switch (q->kind) {
	case CAS_WREQ_TOKEN:
		if (w->quit != NULL) {
			r.kind = CAS_WREP_ERROR;
			buf_addf(&text, "the watcher is stopping: %s", w->quit);
			break;
		}
		r.kind = CAS_WREP_TOKEN;
		r.tok.seq = cas_watch_changes_mark(&w->ch);
		break;
	case CAS_WREQ_SINCE:
		if (w->quit != NULL) {
			r.kind = CAS_WREP_ERROR;
			buf_addf(&text, "the watcher is stopping: %s", w->quit);
			break;
		}
		if (strcmp(q->tok.instance, w->instance) != 0) {
			r.kind = CAS_WREP_RESET;
			buf_adds(&text, "the token is from another watcher");
		} else if (!cas_watch_changes_since(&w->ch, q->tok.seq, &paths,
		    &np)) {
			r.kind = CAS_WREP_RESET;
			buf_adds(&text, w->overflows > 0 ? "changes were lost "
			    "(inotify queue overflow) or forgotten since the "
			    "token" : "changes since the token were forgotten");
		} else {
			r.kind = CAS_WREP_CHANGES;
			r.paths = (char **)paths;
			r.npaths = np;
		}
		r.tok.seq = cas_watch_changes_mark(&w->ch);
		break;
	case CAS_WREQ_STATUS:
		r.kind = CAS_WREP_STATUS;
		buf_addf(&text, "pid=%ld root=%s dirs=%zu changes=%zu seq=%"
		    PRIu64 " floor=%" PRIu64 " overflows=%" PRIu64
		    " idle_ms=%lld", (long)getpid(), w->root, w->ndirs,
		    w->ch.map.n, w->ch.cur, w->ch.floor, w->overflows,
		    (long long)w->idle_ms);
		break;
	case CAS_WREQ_STOP:
		wquit(w, "asked to stop");
		c->bye = 1;	/* answered once the lock is released */
		buf_release(&text);
		return;
	}
	r.text = text.s;
	reply_send(c, &r);
	free(paths);
	buf_release(&text);
}

/* Reads what c sent and answers every complete line; -1 to close it. */
static int
client_input(struct watcher *w, struct wclient *c)
{
	char tmp[4096];
	ssize_t n;

	for (;;) {
		n = recv(c->fd, tmp, sizeof(tmp), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n <= 0)
			return -1;
		buf_add(&c->in, tmp, (size_t)n);
	}
	for (;;) {
		char *nl = memchr(c->in.s, '\n', c->in.len);
		struct cas_watch_req q;
		size_t ll;

		if (nl == NULL)
			return c->in.len > CLIENT_LINE_MAX ? -1 : 0;
		ll = (size_t)(nl - c->in.s);
		if (cas_watch_req_parse(c->in.s, ll, &q) == -1) {
			struct cas_watch_reply r;

			memset(&r, 0, sizeof(r));
			r.kind = CAS_WREP_ERROR;
			r.text = (char *)"unknown request";
			reply_send(c, &r);
		} else
			handle_request(w, c, &q);
		memmove(c->in.s, nl + 1, c->in.len - ll - 1);
		buf_truncate(&c->in, c->in.len - ll - 1);
		if (c->bye)
			return 0;
	}
}

static void
accept_clients(struct watcher *w)
{
	for (;;) {
		int fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC |
		    SOCK_NONBLOCK);

		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			return;
		}
		if (!peer_uid_ok(fd, NULL)) {
			log_warnx("refusing a client of another user");
			close(fd);
			continue;
		}
		ALLOC_GROW(w->cl, w->ncl + 1, w->clalloc);
		w->cl[w->ncl].fd = fd;
		buf_init(&w->cl[w->ncl].in);
		w->cl[w->ncl].bye = 0;
		w->ncl++;
	}
}

/* ---- the watcher: life ---- */

static void
ready_say(int *fd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void
ready_say(int *fd, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (*fd < 0)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	buf_addch(&b, '\n');
	(void)cas_write_all(*fd, b.s, b.len);
	buf_release(&b);
	close(*fd);
	*fd = -1;
}

static void
new_instance(char out[33])
{
	unsigned char r[16];
	static const char hex[] = "0123456789abcdef";

	if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
		uint64_t a = (uint64_t)cas_now_ns(), b = (uint64_t)getpid();

		for (int i = 0; i < 8; i++) {
			r[i] = (unsigned char)(a >> (8 * i));
			r[8 + i] = (unsigned char)(b >> (8 * i));
		}
	}
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[32] = '\0';
}

/* Sets everything up; 0, or -1 with *errp. */
static int
watcher_start(struct watcher *w, const char *dir, char **errp)
{
	struct sockaddr_un sa;
	struct statfs sfs;
	struct stat st;
	const char *fsname;
	char pidtext[32];
	int dfd;

	if ((w->root = realpath(dir, NULL)) == NULL ||
	    stat(w->root, &st) == -1) {
		cas_seterr(errp, "cannot watch '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		cas_seterr(errp, "cannot watch '%s': not a directory", dir);
		return -1;
	}
	w->dev = st.st_dev;
	w->ino = st.st_ino;
	if (statfs(w->root, &sfs) == 0 &&
	    !cas_watch_fs_local((long)sfs.f_type, &fsname)) {
		cas_seterr(errp, "'%s' is on a %s file system, which inotify "
		    "does not watch", w->root, fsname);
		return -1;
	}
	cas_watch_files_init(&w->files, w->root);
	if (cas_mkdirs(w->files.dir, 0700) == -1) {
		cas_seterr(errp, "cannot create '%s': %s", w->files.dir,
		    strerror(errno));
		return -1;
	}
	if (chdir("/") == -1)	/* pin no mount */
		log_warn("chdir /");
	w->lockfd = open(w->files.lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (w->lockfd == -1 || flock(w->lockfd, LOCK_EX | LOCK_NB) == -1) {
		cas_seterr(errp, errno == EWOULDBLOCK ? "another watcher of "
		    "'%s' is running" : "cannot lock '%s': %s",
		    errno == EWOULDBLOCK ? w->root : w->files.lock,
		    strerror(errno));
		return -1;
	}
	if ((w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) == -1) {
		cas_seterr(errp, "inotify: %s", strerror(errno));
		return -1;
	}
	new_instance(w->instance);
	cas_watch_changes_init(&w->ch, max_paths());
	cas_wmap_init(&w->bypath, 0);
	watch_dir(w, "", NULL);
	if (w->quit != NULL) {
		cas_seterr(errp, "%s", w->quit);
		return -1;
	}
	/* the stale socket of a watcher that died: ours now (the lock) */
	if (unlink(w->files.sock) == -1 && errno != ENOENT) {
		cas_seterr(errp, "cannot remove '%s': %s", w->files.sock,
		    strerror(errno));
		return -1;
	}
	w->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (w->lfd == -1 || sock_addr(w->files.sock, &sa, &dfd) == -1) {
		cas_seterr(errp, "cannot create socket '%s': %s", w->files.sock,
		    strerror(errno));
		return -1;
	}
	if (bind(w->lfd, (struct sockaddr *)&sa, sizeof(sa)) == -1 ||
	    chmod(w->files.sock, 0600) == -1 || listen(w->lfd, 64) == -1 ||
	    stat(w->files.sock, &st) == -1) {
		cas_seterr(errp, "cannot listen on '%s': %s", w->files.sock,
		    strerror(errno));
		if (dfd != -1)
			close(dfd);
		return -1;
	}
	if (dfd != -1)
		close(dfd);
	w->sock_ino = st.st_ino;
	/* unlinking it changes its link count: IN_ATTRIB */
	w->sock_wd = inotify_add_watch(w->ifd, w->files.sock, IN_ATTRIB |
	    IN_DELETE_SELF | IN_MOVE_SELF);
	snprintf(pidtext, sizeof(pidtext), "%ld\n", (long)getpid());
	if (cas_write_file_atomic(w->files.pid, pidtext, strlen(pidtext), 0600,
	    errp) == -1)
		return -1;
	log_info("watching '%s': %zu directories, socket '%s'", w->root,
	    w->ndirs, w->files.sock);
	return 0;
}

static void
watcher_stop(struct watcher *w)
{
	struct stat st;
	struct buf pid = BUF_INIT;

	if (w->lfd > 0) {
		if (stat(w->files.sock, &st) == 0 && st.st_ino == w->sock_ino)
			unlink(w->files.sock);
		close(w->lfd);
	}
	if (w->files.pid != NULL && buf_read_file(&pid, w->files.pid) == 0 &&
	    strtol(pid.s, NULL, 10) == (long)getpid())
		unlink(w->files.pid);
	buf_release(&pid);
	if (w->lockfd > 0)
		close(w->lockfd);	/* a new watcher may start now */
	w->lockfd = -1;
	for (size_t i = 0; i < w->ncl; i++) {
		if (w->cl[i].bye) {
			struct cas_watch_reply r;

			memset(&r, 0, sizeof(r));
			r.kind = CAS_WREP_BYE;
			reply_send(&w->cl[i], &r);
		}
		close(w->cl[i].fd);
		buf_release(&w->cl[i].in);
	}
	free(w->cl);
	if (w->top != NULL)
		drop_tree(w, w->top, -1);
	if (w->ifd > 0)
		close(w->ifd);
	free(w->bywd.v);
	cas_wmap_release(&w->bypath);
	cas_watch_changes_release(&w->ch);
	cas_watch_files_release(&w->files);
	free(w->root);
	free(w->quit);
}

int
cas_watch_serve(const char *dir, int ready_fd, int64_t idle_ms, char **errp)
{
	struct sigaction sa;
	struct watcher w;
	sigset_t block, orig;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	w.ifd = w.lfd = w.lockfd = w.sock_wd = -1;
	w.idle_ms = idle_ms > 0 ? idle_ms : CAS_WATCH_IDLE_DEFAULT_MS;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	sigprocmask(SIG_BLOCK, &block, &orig);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sigdelset(&orig, SIGTERM);
	sigdelset(&orig, SIGINT);
	sigdelset(&orig, SIGHUP);

	if (watcher_start(&w, dir, errp) == -1) {
		ready_say(&ready_fd, "error: %s", *errp);
		watcher_stop(&w);
		return -1;
	}
	w.last = mono_ms();
	ready_say(&ready_fd, "ok");
	while (w.quit == NULL) {
		struct pollfd *pf = xcalloc(w.ncl + 2, sizeof(*pf));
		int64_t left = w.last + w.idle_ms - mono_ms();
		struct timespec ts;
		size_t ncl = w.ncl;
		int n;

		if (left <= 0) {
			wquit(&w, "idle for %lld ms", (long long)w.idle_ms);
			free(pf);
			break;
		}
		ts.tv_sec = left / 1000;
		ts.tv_nsec = (long)(left % 1000) * 1000000L;
		pf[0].fd = w.ifd;
		pf[0].events = POLLIN;
		pf[1].fd = w.lfd;
		pf[1].events = POLLIN;
		for (size_t i = 0; i < ncl; i++) {
			pf[2 + i].fd = w.cl[i].fd;
			pf[2 + i].events = POLLIN;
		}
		n = ppoll(pf, ncl + 2, &ts, &orig);
		if (got_signal) {
			wquit(&w, "signal %d", (int)got_signal);
			free(pf);
			break;
		}
		if (n <= 0) {
			free(pf);
			continue;
		}
		if (pf[0].revents)
			drain(&w);
		/* clients by descending index: closing one moves the last */
		for (size_t i = ncl; i-- > 0 && w.quit == NULL;) {
			if (pf[2 + i].revents == 0)
				continue;
			if (client_input(&w, &w.cl[i]) == -1)
				client_close(&w, i);
		}
		if (pf[1].revents && w.quit == NULL)
			accept_clients(&w);
		free(pf);
	}
	log_info("watcher of '%s' exits: %s", w.root, w.quit);
	watcher_stop(&w);
	return rc;
}

/* ---- clients ---- */

/* 0 and *fdp connected, or -1 with errno set. */
static int
sock_connect(const char *path, int *fdp)
{
	struct sockaddr_un sa;
	int fd, dfd, e;

	if (sock_addr(path, &sa, &dfd) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		e = errno;
		if (fd != -1)
			close(fd);
		if (dfd != -1)
			close(dfd);
		errno = e;
		return -1;
	}
	if (dfd != -1)
		close(dfd);
	if (!peer_uid_ok(fd, NULL)) {
		close(fd);
		errno = EPERM;
		return -1;
	}
	*fdp = fd;
	return 0;
}

/* Moves fd to a descriptor >= 10 (close-on-exec); -1 on failure. */
static int
fd_high(int fd)
{
	return fcntl(fd, F_DUPFD_CLOEXEC, 10);
}

/*
 * Starts `/proc/self/exe attach watch ROOT --ready-fd 3` detached (setsid,
 * double fork: nobody's child) and waits for its first line.
 */
static int
watch_spawn(const char *root, const struct cas_watch_files *f, char **errp)
{
	char *argv[] = { (char *)"drover", (char *)"attach", (char *)"watch",
	    (char *)root, (char *)"--ready-fd", (char *)"3", NULL };
	char line[4096];
	size_t got = 0;
	int p[2], logfd, nullfd, status, e;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1) {
		cas_seterr(errp, "cannot start a watcher: %s", strerror(errno));
		return -1;
	}
	logfd = open(f->log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	nullfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (logfd == -1)
		logfd = nullfd == -1 ? -1 : fd_high(nullfd);
	pid = nullfd == -1 || logfd == -1 ? -1 : fork();
	if (pid == 0) {
		int hp, hl, hn;

		setsid();
		if (fork() != 0)
			_exit(0);
		/* out of the way of 0..3 first, then in place (no CLOEXEC) */
		hp = fd_high(p[1]);
		hl = fd_high(logfd);
		hn = fd_high(nullfd);
		if (hp == -1 || hl == -1 || hn == -1 || dup2(hn, 0) == -1 ||
		    dup2(hn, 1) == -1 || dup2(hl, 2) == -1 || dup2(hp, 3) == -1)
			_exit(127);
		close_range(4, ~0U, 0);
		execv("/proc/self/exe", argv);
		_exit(127);
	}
	e = errno;
	close(p[1]);
	if (logfd != -1)
		close(logfd);
	if (nullfd != -1)
		close(nullfd);
	if (pid == -1) {
		close(p[0]);
		cas_seterr(errp, "cannot start a watcher: %s", strerror(e));
		return -1;
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	/* its first line: "ok", or "error: why"; end of file if it died */
	while (got < sizeof(line) - 1) {
		struct pollfd pf = { p[0], POLLIN, 0 };
		ssize_t n;
		int rc = poll(&pf, 1, READY_TIMEOUT_MS);

		if (rc == -1 && errno == EINTR)
			continue;
		if (rc <= 0)
			break;
		n = read(p[0], line + got, sizeof(line) - 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (memchr(line, '\n', got) != NULL)
			break;
	}
	close(p[0]);
	line[got] = '\0';
	if (got > 0 && line[got - 1] == '\n')
		line[--got] = '\0';
	if (strcmp(line, "ok") == 0)
		return 0;
	if (strncmp(line, "error: ", 7) == 0)
		cas_seterr(errp, "%s", line + 7);
	else
		cas_seterr(errp, "the watcher did not start (see '%s')", f->log);
	return -1;
}

int
cas_watch_connect(const char *root, int start, char **errp)
{
	struct cas_watch_files f;
	int fd = -1, sfd;

	cas_watch_files_init(&f, root);
	if (sock_connect(f.sock, &fd) == 0)
		goto out;
	if (!start) {
		cas_seterr(errp, "no watcher of '%s' runs", root);
		fd = -1;
		goto out;
	}
	if (cas_mkdirs(f.dir, 0700) == -1) {
		cas_seterr(errp, "cannot create '%s': %s", f.dir,
		    strerror(errno));
		fd = -1;
		goto out;
	}
	/* one client starts it; the others wait here, then connect */
	sfd = open(f.start, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (sfd == -1) {
		cas_seterr(errp, "cannot open '%s': %s", f.start,
		    strerror(errno));
		fd = -1;
		goto out;
	}
	while (flock(sfd, LOCK_EX) == -1 && errno == EINTR)
		;
	if (sock_connect(f.sock, &fd) == -1) {
		fd = -1;
		if (watch_spawn(root, &f, errp) == 0 &&
		    sock_connect(f.sock, &fd) == -1) {
			cas_seterr(errp, "cannot connect to the watcher at "
			    "'%s': %s", f.sock, strerror(errno));
			fd = -1;
		}
	}
	close(sfd);
out:
	cas_watch_files_release(&f);
	return fd;
}

int
cas_watch_call(int fd, const struct cas_watch_req *q,
    struct cas_watch_reply *r, char **errp)
{
	struct buf b = BUF_INIT;
	size_t used;
	int rc;

	cas_watch_req_encode(q, &b);
	if (send_all(fd, b.s, b.len, IO_TIMEOUT_MS) == -1) {
		cas_seterr(errp, "cannot talk to the watcher: %s",
		    strerror(errno));
		buf_release(&b);
		return -1;
	}
	buf_reset(&b);
	for (;;) {
		char tmp[65536];
		struct pollfd pf = { fd, POLLIN, 0 };
		ssize_t n;

		rc = cas_watch_reply_parse(b.s, b.len, r, &used);
		if (rc != 1)
			break;
		rc = poll(&pf, 1, IO_TIMEOUT_MS);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == 0)
			errno = ETIMEDOUT;
		n = rc > 0 ? recv(fd, tmp, sizeof(tmp), 0) : -1;
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			cas_seterr(errp, "the watcher did not answer: %s",
			    n == 0 ? "connection closed" : strerror(errno));
			buf_release(&b);
			return -1;
		}
		buf_add(&b, tmp, (size_t)n);
	}
	buf_release(&b);
	if (rc == -1) {
		cas_seterr(errp, "the watcher's answer is malformed");
		return -1;
	}
	return 0;
}

/* realpath of dir and a connection to its watcher (never started). */
static int
connect_existing(const char *dir, int *fdp, char **errp)
{
	char *root = realpath(dir, NULL);

	if (root == NULL) {
		cas_seterr(errp, "cannot resolve '%s': %s", dir,
		    strerror(errno));
		return -1;
	}
	*fdp = cas_watch_connect(root, 0, errp);
	free(root);
	return *fdp == -1 ? 1 : 0;
}

int
cas_watch_stop(const char *dir, char **errp)
{
	struct cas_watch_req q = { CAS_WREQ_STOP, { "", 0 } };
	struct cas_watch_reply r;
	pid_t pid = 0;
	int fd, rc, pfd;

	if ((rc = connect_existing(dir, &fd, errp)) != 0)
		return rc;
	peer_uid_ok(fd, &pid);
	/* a pidfd becomes readable when the process has exited */
#ifdef SYS_pidfd_open
	pfd = pid > 0 ? (int)syscall(SYS_pidfd_open, pid, 0) : -1;
#else
	pfd = -1;
#endif
	rc = cas_watch_call(fd, &q, &r, errp);
	close(fd);
	if (rc == 0 && r.kind != CAS_WREP_BYE) {
		cas_seterr(errp, "the watcher did not stop: %s",
		    r.text ? r.text : "unexpected answer");
		rc = -1;
	}
	cas_watch_reply_release(&r);
	if (pfd != -1) {
		struct pollfd pf = { pfd, POLLIN, 0 };

		while (poll(&pf, 1, IO_TIMEOUT_MS) == -1 && errno == EINTR)
			;
		close(pfd);
	}
	return rc;
}

int
cas_watch_status(const char *dir, struct buf *out, char **errp)
{
	struct cas_watch_req q = { CAS_WREQ_STATUS, { "", 0 } };
	struct cas_watch_reply r;
	int fd, rc;

	if ((rc = connect_existing(dir, &fd, errp)) != 0)
		return rc;
	rc = cas_watch_call(fd, &q, &r, errp);
	close(fd);
	if (rc == 0)
		buf_adds(out, r.text ? r.text : "");
	cas_watch_reply_release(&r);
	return rc;
}
