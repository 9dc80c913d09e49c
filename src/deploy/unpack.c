/*
 * Archive extraction that refuses to escape its destination (see unpack.h).
 * We read entries with libarchive but create every file ourselves with
 * *at() calls relative to directory fds opened with O_NOFOLLOW, instead of
 * archive_write_disk, so that each refusal has a precise message and the
 * size limit counts what is really written.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "cas/fsutil.h"
#include "common/buf.h"
#include "common/xmalloc.h"
#include "deploy/unpack.h"

#define MAX_LINK_HOPS	40

/*
 * Normalises an entry name: drops leading "./", "." and empty components
 * and a trailing '/'.  Returns the malloc'd relative path ("" for the
 * archive root), or NULL with *why set if it is absolute or has "..".
 */
static char *
entry_path(const char *name, const char **why)
{
	struct buf b = BUF_INIT;
	const char *c = name, *e;

	if (name[0] == '/') {
		*why = "has an absolute path";
		return NULL;
	}
	while (*c) {
		e = strchr(c, '/');
		if (e == NULL)
			e = c + strlen(c);
		if (e - c == 2 && c[0] == '.' && c[1] == '.') {
			*why = "has a '..' component (path traversal)";
			buf_release(&b);
			return NULL;
		}
		if (e > c && !(e - c == 1 && c[0] == '.')) {
			if (b.len)
				buf_addch(&b, '/');
			buf_add(&b, c, (size_t)(e - c));
		}
		c = *e ? e + 1 : e;
	}
	if (b.len && !cas_utf8_valid(b.s, b.len)) {
		*why = "has a name that is not valid UTF-8";
		buf_release(&b);
		return NULL;
	}
	return buf_detach(&b, NULL);
}

/*
 * Opens the parent directory of rel under rootfd, creating missing
 * directories, never following a symbolic link.  Returns the fd and points
 * *base at the last component, or -1 with *errp set.
 */
static int
open_parent(int rootfd, const char *rel, const char **base, char **errp)
{
	const char *c = rel, *s;
	int fd = dup(rootfd), nfd;

	if (fd == -1) {
		cas_seterr(errp, "dup: %s", strerror(errno));
		return -1;
	}
	while ((s = strchr(c, '/')) != NULL) {
		char *comp = xstrndup(c, (size_t)(s - c));

		nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
		    O_CLOEXEC);
		if (nfd == -1 && errno == ENOENT) {
			if (mkdirat(fd, comp, 0755) == -1 && errno != EEXIST) {
				cas_seterr(errp, "cannot create directory for "
				    "'%s': %s", rel, strerror(errno));
				free(comp);
				close(fd);
				return -1;
			}
			nfd = openat(fd, comp, O_RDONLY | O_DIRECTORY |
			    O_NOFOLLOW | O_CLOEXEC);
		}
		if (nfd == -1) {
			if (errno == ELOOP || errno == ENOTDIR)
				cas_seterr(errp, "entry '%s' passes through '%.*s', "
				    "which is a symbolic link or not a directory",
				    rel, (int)(s - rel), rel);
			else
				cas_seterr(errp, "cannot open directory for '%s': "
				    "%s", rel, strerror(errno));
			free(comp);
			close(fd);
			return -1;
		}
		free(comp);
		close(fd);
		fd = nfd;
		c = s + 1;
	}
	*base = c;
	return fd;
}

/* Removes a non-directory in the way of a new entry. */
static int
clear_slot(int dfd, const char *base, const char *rel, char **errp)
{
	struct stat st;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (S_ISDIR(st.st_mode)) {
		cas_seterr(errp, "entry '%s' would replace a directory", rel);
		return -1;
	}
	if (unlinkat(dfd, base, 0) == -1) {
		cas_seterr(errp, "cannot replace '%s': %s", rel, strerror(errno));
		return -1;
	}
	return 0;
}

/* Appends the components of p to the front-queue q (a '/'-joined list). */
static void
queue_prepend(struct buf *q, const char *p)
{
	struct buf n = BUF_INIT;

	buf_adds(&n, p);
	if (q->len) {
		buf_addch(&n, '/');
		buf_add(&n, q->s, q->len);
	}
	buf_release(q);
	*q = n;
}

/*
 * Follows target (of the link at directory dir, both relative to the
 * root) through the links on disk; 0 if every step stays inside the root.
 */
static int
resolve_inside(int rootfd, const char *dir, const char *target)
{
	struct buf cur = BUF_INIT, q = BUF_INIT;
	int hops = 0, rc = 0;

	buf_adds(&cur, dir);
	buf_adds(&q, target);
	while (q.len > 0) {
		char *slash = strchr(q.s, '/'), *comp;
		struct stat st;
		size_t oldlen = cur.len;

		comp = slash ? xstrndup(q.s, (size_t)(slash - q.s)) : xstrdup(q.s);
		{
			struct buf rest = BUF_INIT;

			if (slash)
				buf_adds(&rest, slash + 1);
			buf_release(&q);
			q = rest;
		}
		if (comp[0] == '\0' || strcmp(comp, ".") == 0) {
			free(comp);
			continue;
		}
		if (strcmp(comp, "..") == 0) {
			free(comp);
			if (cur.len == 0) {
				rc = -1;
				break;
			}
			while (cur.len > 0 && cur.s[cur.len - 1] != '/')
				cur.len--;
			if (cur.len > 0)
				cur.len--;
			cur.s[cur.len] = '\0';
			continue;
		}
		if (cur.len)
			buf_addch(&cur, '/');
		buf_adds(&cur, comp);
		free(comp);
		if (fstatat(rootfd, cur.s, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISLNK(st.st_mode)) {
			char t[PATH_MAX];
			ssize_t n = readlinkat(rootfd, cur.s, t, sizeof(t) - 1);

			if (n < 0 || ++hops > MAX_LINK_HOPS || t[0] == '/') {
				rc = -1;
				break;
			}
			t[n] = '\0';
			buf_truncate(&cur, oldlen);	/* back to the link's dir */
			queue_prepend(&q, t);
		}
	}
	buf_release(&cur);
	buf_release(&q);
	return rc;
}

static int
write_data(struct archive *a, int fd, const char *rel, uint64_t *total,
    uint64_t max, char **errp)
{
	const void *blk;
	size_t len;
	la_int64_t off;
	uint64_t pos = 0;
	int r;

	for (;;) {
		r = archive_read_data_block(a, &blk, &len, &off);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			cas_seterr(errp, "cannot read '%s' from the archive: %s",
			    rel, archive_error_string(a));
			return -1;
		}
		if (off < 0 || (uint64_t)off < pos) {
			cas_seterr(errp, "entry '%s' has overlapping data blocks",
			    rel);
			return -1;
		}
		/* apparent size: holes in sparse files count too */
		if ((uint64_t)off + len - pos > max - *total) {
			cas_seterr(errp, "the archive expands beyond the limit of "
			    "%llu bytes (archive bomb?) at entry '%s'",
			    (unsigned long long)max, rel);
			return -1;
		}
		*total += (uint64_t)off + len - pos;
		if ((uint64_t)off > pos &&
		    lseek(fd, (off_t)off, SEEK_SET) == -1) {
			cas_seterr(errp, "cannot write '%s': %s", rel,
			    strerror(errno));
			return -1;
		}
		if (cas_write_all(fd, blk, len) == -1) {
			cas_seterr(errp, "cannot write '%s': %s", rel,
			    strerror(errno));
			return -1;
		}
		pos = (uint64_t)off + len;
	}
	/* a trailing hole */
	if (ftruncate(fd, (off_t)pos) == -1) {
		cas_seterr(errp, "cannot write '%s': %s", rel, strerror(errno));
		return -1;
	}
	return 0;
}

static int
extract_entry(struct archive *a, struct archive_entry *e, int rootfd,
    const char *rel, struct unpack_result *res, const struct unpack_limits *lim,
    struct buf *links, char **errp)
{
	const char *base, *why = NULL;
	mode_t type = archive_entry_filetype(e);
	mode_t perm = archive_entry_perm(e);
	const char *hl = archive_entry_hardlink(e);
	struct stat st;
	int dfd, fd, rc = -1;

	if (hl == NULL && type != AE_IFREG && type != AE_IFDIR &&
	    type != AE_IFLNK) {
		cas_seterr(errp, "entry '%s' is a %s, which is not allowed", rel,
		    type == AE_IFCHR || type == AE_IFBLK ? "device file" :
		    type == AE_IFIFO ? "FIFO" : type == AE_IFSOCK ? "socket" :
		    "special file");
		return -1;
	}
	if (rel[0] == '\0') {
		if (type == AE_IFDIR)
			return 0;	/* "./" itself */
		cas_seterr(errp, "an entry has an empty name");
		return -1;
	}
	if ((dfd = open_parent(rootfd, rel, &base, errp)) == -1)
		return -1;
	if (hl != NULL) {
		char *target = entry_path(hl, &why);
		const char *tbase;
		int tfd;

		if (target == NULL || target[0] == '\0') {
			cas_seterr(errp, "hard link '%s' -> '%s' %s", rel, hl,
			    why ? why : "has an empty target");
			free(target);
			goto out;
		}
		tfd = open_parent(rootfd, target, &tbase, errp);
		if (tfd == -1 || fstatat(tfd, tbase, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode)) {
			if (tfd != -1)
				cas_seterr(errp, "hard link '%s' -> '%s' does not "
				    "name a regular file extracted before it", rel,
				    hl);
			if (tfd != -1)
				close(tfd);
			free(target);
			goto out;
		}
		if (clear_slot(dfd, base, rel, errp) == -1) {
			close(tfd);
			free(target);
			goto out;
		}
		if (linkat(tfd, tbase, dfd, base, 0) == -1) {
			cas_seterr(errp, "cannot create hard link '%s': %s", rel,
			    strerror(errno));
			close(tfd);
			free(target);
			goto out;
		}
		close(tfd);
		free(target);
		rc = 0;
	} else if (type == AE_IFDIR) {
		if (mkdirat(dfd, base, 0755) == -1 && (errno != EEXIST ||
		    fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
		    !S_ISDIR(st.st_mode))) {
			cas_seterr(errp, "cannot create directory '%s': %s", rel,
			    errno == EEXIST ? "a file is in the way" :
			    strerror(errno));
			goto out;
		}
		rc = 0;
	} else if (type == AE_IFLNK) {
		const char *t = archive_entry_symlink(e);
		char *dir;

		if (t == NULL || t[0] == '\0' || t[0] == '/') {
			cas_seterr(errp, "symbolic link '%s' -> '%s' points outside "
			    "the destination (absolute target)", rel, t ? t : "");
			goto out;
		}
		dir = xstrndup(rel, (size_t)(base - rel > 0 ? base - rel - 1 : 0));
		if (resolve_inside(rootfd, dir, t) == -1) {
			cas_seterr(errp, "symbolic link '%s' -> '%s' points outside "
			    "the destination", rel, t);
			free(dir);
			goto out;
		}
		free(dir);
		if (clear_slot(dfd, base, rel, errp) == -1)
			goto out;
		if (symlinkat(t, dfd, base) == -1) {
			cas_seterr(errp, "cannot create symbolic link '%s': %s", rel,
			    strerror(errno));
			goto out;
		}
		buf_adds(links, rel);
		buf_addch(links, '\0');
		rc = 0;
	} else {
		if (archive_entry_size_is_set(e) &&
		    (uint64_t)archive_entry_size(e) > lim->max_bytes - res->bytes) {
			cas_seterr(errp, "the archive expands beyond the limit of "
			    "%llu bytes (archive bomb?) at entry '%s'",
			    (unsigned long long)lim->max_bytes, rel);
			goto out;
		}
		if (clear_slot(dfd, base, rel, errp) == -1)
			goto out;
		fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
		    O_CLOEXEC, 0600);
		if (fd == -1) {
			cas_seterr(errp, "cannot create '%s': %s", rel,
			    strerror(errno));
			goto out;
		}
		if (write_data(a, fd, rel, &res->bytes, lim->max_bytes, errp) ==
		    -1) {
			close(fd);
			goto out;
		}
		{
			struct timespec ts[2];

			ts[0].tv_sec = ts[1].tv_sec = archive_entry_mtime(e);
			ts[0].tv_nsec = ts[1].tv_nsec = 0;
			futimens(fd, ts);
		}
		if (fchmod(fd, (perm & 0111) ? 0555 : 0444) == -1 ||
		    close(fd) == -1) {
			cas_seterr(errp, "cannot write '%s': %s", rel,
			    strerror(errno));
			goto out;
		}
		rc = 0;
	}
out:
	close(dfd);
	return rc;
}

int
deploy_unpack(const char *archive, enum deploy_unpack kind,
    const char *destdir, const struct unpack_limits *lim,
    struct unpack_result *res, char **errp)
{
	struct archive *a;
	struct archive_entry *e;
	struct buf links = BUF_INIT;
	int rootfd, r, rc = -1;

	memset(res, 0, sizeof(*res));
	rootfd = open(destdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd == -1) {
		cas_seterr(errp, "cannot open '%s': %s", destdir, strerror(errno));
		return -1;
	}
	a = archive_read_new();
	switch (kind) {
	case DEPLOY_UNPACK_ZIP:
		archive_read_support_format_zip(a);
		archive_read_support_filter_none(a);
		break;
	case DEPLOY_UNPACK_TAR_GZ:
		archive_read_support_filter_gzip(a);
		archive_read_support_format_tar(a);
		break;
	case DEPLOY_UNPACK_TAR_XZ:
		archive_read_support_filter_xz(a);
		archive_read_support_format_tar(a);
		break;
	default:
		archive_read_support_filter_none(a);
		archive_read_support_format_tar(a);
		break;
	}
	if (archive_read_open_filename(a, archive, 65536) != ARCHIVE_OK) {
		cas_seterr(errp, "cannot open archive: %s", archive_error_string(a));
		goto out;
	}
	for (;;) {
		const char *name, *why = NULL;
		char *rel;

		r = archive_read_next_header(a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r < ARCHIVE_WARN) {
			cas_seterr(errp, "not a valid %s archive: %s",
			    deploy_unpack_name(kind), archive_error_string(a));
			goto out;
		}
		if (++res->entries > lim->max_entries) {
			cas_seterr(errp, "the archive has more than %llu entries "
			    "(archive bomb?)", (unsigned long long)lim->max_entries);
			goto out;
		}
		name = archive_entry_pathname_utf8(e);
		if (name == NULL)
			name = archive_entry_pathname(e);
		if (name == NULL) {
			cas_seterr(errp, "an entry has no name");
			goto out;
		}
		if ((rel = entry_path(name, &why)) == NULL) {
			cas_seterr(errp, "refusing entry '%s': it %s", name, why);
			goto out;
		}
		r = extract_entry(a, e, rootfd, rel, res, lim, &links, errp);
		free(rel);
		if (r == -1)
			goto out;
	}
	/* the final tree: every link must still resolve inside */
	for (size_t off = 0; off < links.len; off += strlen(links.s + off) + 1) {
		const char *rel = links.s + off, *slash = strrchr(rel, '/');
		char t[PATH_MAX], *dir;
		ssize_t n = readlinkat(rootfd, rel, t, sizeof(t) - 1);

		if (n < 0)
			continue;	/* replaced by a later entry */
		t[n] = '\0';
		dir = xstrndup(rel, slash ? (size_t)(slash - rel) : 0);
		r = resolve_inside(rootfd, dir, t);
		free(dir);
		if (r == -1) {
			cas_seterr(errp, "symbolic link '%s' -> '%s' points outside "
			    "the destination", rel, t);
			goto out;
		}
	}
	rc = 0;
out:
	archive_read_free(a);
	buf_release(&links);
	close(rootfd);
	return rc;
}
