/*
 * The directory store: temp-then-rename writes named by content hash,
 * verifying reads, quarantine of corrupt objects.
 */
#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cas/fsutil.h"
#include "cas/store.h"
#include "common/buf.h"
#include "common/xmalloc.h"

#define OBJECT_MODE	0444

int
cas_store_open(struct cas_store *s, const char *root, int create, char **errp)
{
	struct stat st;

	memset(s, 0, sizeof(*s));
	s->root = xstrdup(root);
	s->data = cas_path_join(root, "Data");
	s->manifests = cas_path_join(root, "Manifests");
	s->corrupt = cas_path_join(root, "Corrupt");
	if (create) {
		if (cas_mkdirs(s->data, 0777) == -1 ||
		    cas_mkdirs(s->manifests, 0777) == -1) {
			cas_seterr(errp, "cannot create store '%s': %s", root,
			    strerror(errno));
			cas_store_release(s);
			return -1;
		}
	} else if (stat(s->data, &st) == -1 || !S_ISDIR(st.st_mode)) {
		cas_seterr(errp, "'%s' is not a store (no Data directory)", root);
		cas_store_release(s);
		return -1;
	}
	return 0;
}

void
cas_store_release(struct cas_store *s)
{
	free(s->root);
	free(s->data);
	free(s->manifests);
	free(s->corrupt);
	memset(s, 0, sizeof(*s));
}

char *
cas_store_object_path(const struct cas_store *s, const char *hash)
{
	return xasprintf("%s/%s." CAS_HASH_ALG, s->data, hash);
}

int
cas_store_has(const struct cas_store *s, const char *hash, uint64_t size)
{
	char *p = cas_store_object_path(s, hash);
	struct stat st;
	int rc;

	if (stat(p, &st) == 0)
		rc = S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
	else
		rc = errno == ENOENT ? 0 : -1;
	free(p);
	return rc;
}

/* Renames a finished temp object onto its name. */
static int
commit_object(const struct cas_store *s, int fd, char *tmp, const char *hash,
    char **errp)
{
	char *dst = cas_store_object_path(s, hash);
	int saved;

	if (fchmod(fd, OBJECT_MODE & ~cas_umask()) == -1 || close(fd) == -1) {
		saved = errno;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, dst) == -1) {
		saved = errno;
		goto fail;
	}
	free(dst);
	return 0;
fail:
	if (fd != -1)
		close(fd);
	unlink(tmp);
	cas_seterr(errp, "cannot store object '%s': %s", dst, strerror(saved));
	free(dst);
	return -1;
}

int
cas_store_put_fd(const struct cas_store *s, int fd, void *buf, size_t bufsz,
    const char *expect, char out[CAS_HASH_HEXLEN + 1], uint64_t *sizep,
    char **errp)
{
	struct cas_hasher h;
	char *tmp = NULL;
	uint64_t total = 0;
	int tfd, rc = -1;
	ssize_t r;

	tfd = cas_tmpfile(s->data, ".tmp-", &tmp);
	if (tfd == -1) {
		cas_seterr(errp, "cannot create a temporary object in '%s': %s",
		    s->data, strerror(errno));
		return -1;
	}
	cas_hasher_init(&h);
	for (;;) {
		r = read(fd, buf, bufsz);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cas_seterr(errp, "read error: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		cas_hasher_update(&h, buf, (size_t)r);
		if (cas_write_all(tfd, buf, (size_t)r) == -1) {
			cas_seterr(errp, "cannot write to store '%s': %s", s->root,
			    strerror(errno));
			goto fail;
		}
		total += (uint64_t)r;
	}
	cas_hasher_final(&h, out);
	if (expect != NULL && strcmp(out, expect) != 0) {
		rc = CAS_ECHANGED;
		cas_seterr(errp, "content changed while it was being stored "
		    "(hash %s, expected %s)", out, expect);
		goto fail;
	}
	cas_hasher_release(&h);
	if (sizep != NULL)
		*sizep = total;
	rc = commit_object(s, tfd, tmp, out, errp);
	free(tmp);
	return rc;
fail:
	cas_hasher_release(&h);
	close(tfd);
	unlink(tmp);
	free(tmp);
	return rc;
}

int
cas_store_put_mem(const struct cas_store *s, const void *data, size_t len,
    const char *hash, char **errp)
{
	char *tmp = NULL;
	int tfd, rc;

	tfd = cas_tmpfile(s->data, ".tmp-", &tmp);
	if (tfd == -1) {
		cas_seterr(errp, "cannot create a temporary object in '%s': %s",
		    s->data, strerror(errno));
		return -1;
	}
	if (cas_write_all(tfd, data, len) == -1) {
		cas_seterr(errp, "cannot write to store '%s': %s", s->root,
		    strerror(errno));
		close(tfd);
		unlink(tmp);
		free(tmp);
		return -1;
	}
	rc = commit_object(s, tfd, tmp, hash, errp);
	free(tmp);
	return rc;
}

/* Moves a corrupt object out of Data/ if its name still means fd's inode. */
static void
quarantine(const struct cas_store *s, const char *path, int fd,
    const char *hash)
{
	struct stat a, b;
	char *dst;

	if (fstat(fd, &a) == -1 || stat(path, &b) == -1 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino)
		return;		/* already replaced by a good copy */
	if (cas_mkdirs(s->corrupt, 0777) == -1)
		return;
	dst = xasprintf("%s/%s." CAS_HASH_ALG ".%lld.%ld", s->corrupt, hash,
	    (long long)time(NULL), (long)getpid());
	if (rename(path, dst) == -1)
		unlink(path);
	free(dst);
}

/* Reads object hash, copying to outfd if >= 0, verifying. */
static int
read_object(const struct cas_store *s, const char *hash, int check_size,
    uint64_t size, int outfd, void *buf, size_t bufsz, char **errp)
{
	char *path = cas_store_object_path(s, hash), got[CAS_HASH_HEXLEN + 1];
	struct cas_hasher h;
	struct stat st;
	uint64_t total = 0;
	ssize_t r;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd == -1) {
		if (errno == ENOENT) {
			cas_seterr(errp, "object %s is missing from store '%s'",
			    hash, s->root);
			rc = CAS_EMISSING;
		} else
			cas_seterr(errp, "cannot open '%s': %s", path,
			    strerror(errno));
		free(path);
		return rc;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		cas_seterr(errp, "'%s' is not a regular file", path);
		goto out;
	}
	if (check_size && (uint64_t)st.st_size != size) {
		cas_seterr(errp, "corrupt object '%s' in store: %llu bytes, "
		    "expected %llu; moved to Corrupt/", path,
		    (unsigned long long)st.st_size, (unsigned long long)size);
		quarantine(s, path, fd, hash);
		rc = CAS_ECORRUPT;
		goto out;
	}
	cas_hasher_init(&h);
	for (;;) {
		r = read(fd, buf, bufsz);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			cas_seterr(errp, "cannot read '%s': %s", path,
			    strerror(errno));
			cas_hasher_release(&h);
			goto out;
		}
		if (r == 0)
			break;
		cas_hasher_update(&h, buf, (size_t)r);
		total += (uint64_t)r;
		if (outfd >= 0 && cas_write_all(outfd, buf, (size_t)r) == -1) {
			cas_seterr(errp, "write error: %s", strerror(errno));
			cas_hasher_release(&h);
			goto out;
		}
	}
	cas_hasher_final(&h, got);
	cas_hasher_release(&h);
	if (strcmp(got, hash) != 0 || (check_size && total != size)) {
		cas_seterr(errp, "corrupt object '%s' in store: its content "
		    "hashes to %s; moved to Corrupt/", path, got);
		quarantine(s, path, fd, hash);
		rc = CAS_ECORRUPT;
		goto out;
	}
	rc = 0;
out:
	close(fd);
	free(path);
	return rc;
}

int
cas_store_get_fd(const struct cas_store *s, const char *hash, uint64_t size,
    int outfd, void *buf, size_t bufsz, char **errp)
{
	return read_object(s, hash, 1, size, outfd, buf, bufsz, errp);
}

int
cas_store_verify(const struct cas_store *s, const char *hash, void *buf,
    size_t bufsz, char **errp)
{
	return read_object(s, hash, 0, 0, -1, buf, bufsz, errp);
}

int
cas_store_put_manifest(const struct cas_store *s, const char *bytes,
    size_t len, char out[CAS_HASH_HEXLEN + 1], char **errp)
{
	char *path;
	struct stat st;
	int rc = 0;

	cas_hash_mem(bytes, len, out);
	if (cas_mkdirs(s->manifests, 0777) == -1) {
		cas_seterr(errp, "cannot create '%s': %s", s->manifests,
		    strerror(errno));
		return -1;
	}
	path = xasprintf("%s/%s.json", s->manifests, out);
	if (stat(path, &st) == -1 || (uint64_t)st.st_size != len)
		rc = cas_write_file_atomic(path, bytes, len, 0444, errp);
	free(path);
	return rc;
}

int
cas_store_load_manifest(const struct cas_store *s, const char *ref,
    struct cas_manifest *m, struct error_list *el)
{
	struct buf b = BUF_INIT;
	char got[CAS_HASH_HEXLEN + 1], *path;
	struct stat st;
	int rc;

	if (stat(ref, &st) == 0 || !cas_hash_valid(ref) || s == NULL)
		return cas_manifest_load(m, ref, el);
	path = xasprintf("%s/%s.json", s->manifests, ref);
	if (buf_read_file(&b, path) == -1) {
		error_add(el, path, 0, 0, "", "no manifest %s in store '%s': %s",
		    ref, s->root, strerror(errno));
		free(path);
		buf_release(&b);
		return -1;
	}
	cas_hash_mem(b.s, b.len, got);
	if (strcmp(got, ref) != 0) {
		error_add(el, path, 0, 0, "", "corrupt manifest: its content "
		    "hashes to %s", got);
		rc = -1;
	} else
		rc = cas_manifest_parse(m, path, b.s, b.len, el);
	free(path);
	buf_release(&b);
	return rc;
}
