/*
 * The session's files: embedded files (Template Schemas 6), the
 * cancel_info.json of NOTIFY_THEN_TERMINATE (5.3.2) and the removal of
 * the session directory.  Embedded files are written before every action
 * that uses them, resolved against that action's symbols, mode 0600 (0700
 * when runnable), never following a symlink an action may have left in
 * their place.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "model/format.h"
#include "session/session-int.h"

static int
rm_at(int dfd, const char *name)
{
	struct stat st;
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISDIR(st.st_mode))
		return unlinkat(dfd, name, 0) == -1 && errno != ENOENT ?
		    -1 : 0;
	/* An action may have left a directory we cannot list or write. */
	if ((st.st_mode & 0700) != 0700)
		(void)fchmodat(dfd, name, 0700, 0);
	fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1)
		return -1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (rm_at(dirfd(d), de->d_name) == -1)
			rc = -1;
	}
	closedir(d);
	if (unlinkat(dfd, name, AT_REMOVEDIR) == -1 && errno != ENOENT)
		rc = -1;
	return rc;
}

int
files_rmtree(const char *path)
{
	return rm_at(AT_FDCWD, path);
}

int
files_name_ok(const char *f)
{
	return f[0] != '\0' && strchr(f, '/') == NULL &&
	    strchr(f, '\\') == NULL && strcmp(f, ".") != 0 &&
	    strcmp(f, "..") != 0;
}

void
efiles_release(struct efiles *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].path);
	}
	free(c->v);
	c->v = NULL;
	c->n = c->alloc = 0;
}

static char *
random_path(const char *dir)
{
	unsigned char r[8];
	char hex[17];

	for (int tries = 0; tries < 100; tries++) {
		char *p;
		int fd;

		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
			/* getrandom cannot really fail for 8 bytes */
			for (size_t i = 0; i < sizeof(r); i++)
				r[i] = (unsigned char)rand();
		}
		for (size_t i = 0; i < sizeof(r); i++)
			snprintf(hex + 2 * i, 3, "%02x", r[i]);
		p = xasprintf("%s/%s", dir, hex);
		/* Reserve the name. */
		fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd != -1) {
			close(fd);
			return p;
		}
		free(p);
		if (errno != EEXIST)
			return NULL;
	}
	return NULL;
}

const char *
files_path(struct session *s, struct efiles *cache, const json_t *ef,
    char **err)
{
	const char *name = json_string_value(json_object_get(ef, "name"));
	const json_t *fj = json_object_get(ef, "filename");
	const char *filename = json_string_value(fj);
	char *key, *path;

	if (name == NULL) {
		*err = xstrdup("embedded file without a name");
		return NULL;
	}
	if (fj != NULL && !json_is_null(fj) &&
	    (filename == NULL || !files_name_ok(filename))) {
		*err = xasprintf("embedded file '%s': filename must be a "
		    "single path component", name);
		return NULL;
	}
	key = xasprintf("%s\n%s", name, filename ? filename : "");
	for (size_t i = 0; i < cache->n; i++) {
		if (strcmp(cache->v[i].key, key) == 0) {
			free(key);
			return cache->v[i].path;
		}
	}
	if (filename != NULL)
		path = xasprintf("%s/%s", s->files_dir, filename);
	else if ((path = random_path(s->files_dir)) == NULL) {
		*err = xasprintf("embedded file '%s': cannot create a file in "
		    "'%s': %s", name, s->files_dir, strerror(errno));
		free(key);
		return NULL;
	}
	ALLOC_GROW(cache->v, cache->n + 1, cache->alloc);
	cache->v[cache->n].key = key;
	cache->v[cache->n].path = path;
	return cache->v[cache->n++].path;
}

static int
json_truthy(const json_t *v)
{
	if (json_is_true(v))
		return 1;
	if (json_is_string(v))
		return strcasecmp(json_string_value(v), "true") == 0;
	return 0;
}

/* data with its line ends made "\n" (LF, AUTO on POSIX) or "\r\n" (CRLF). */
static void
eol_convert(struct buf *out, const char *data, int crlf)
{
	for (const char *p = data; *p != '\0'; p++) {
		if (*p == '\r' && p[1] == '\n')
			continue;
		if (*p == '\n' && crlf)
			buf_addch(out, '\r');
		buf_addch(out, *p);
	}
}

int
files_write(const json_t *ef, const char *path, const struct symtab *st,
    char **err)
{
	const char *name = json_string_value(json_object_get(ef, "name"));
	const char *type = json_string_value(json_object_get(ef, "type"));
	const char *data = json_string_value(json_object_get(ef, "data"));
	const char *eol = json_string_value(json_object_get(ef, "endOfLine"));
	int runnable = json_truthy(json_object_get(ef, "runnable"));
	struct buf b = BUF_INIT;
	char *resolved, *msg = NULL;
	int fd, crlf = 0;
	size_t off;

	if (type != NULL && strcmp(type, "TEXT") != 0) {
		*err = xasprintf("embedded file '%s': unsupported type '%s'",
		    name, type);
		return -1;
	}
	if (data == NULL) {
		*err = xasprintf("embedded file '%s': 'data' must be a string",
		    name);
		return -1;
	}
	if (eol != NULL) {
		if (strcmp(eol, "CRLF") == 0)
			crlf = 1;
		else if (strcmp(eol, "LF") != 0 && strcmp(eol, "AUTO") != 0) {
			*err = xasprintf("embedded file '%s': unknown "
			    "endOfLine '%s'", name, eol);
			return -1;
		}
	}
	if ((resolved = fmt_resolve(data, st, &msg)) == NULL) {
		*err = xasprintf("embedded file '%s': %s", name, msg);
		free(msg);
		return -1;
	}
	eol_convert(&b, resolved, crlf);
	free(resolved);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1 || fchmod(fd, runnable ? 0700 : 0600) == -1)
		goto fail;
	for (off = 0; off < b.len; ) {
		ssize_t n = write(fd, b.s + off, b.len - off);

		if (n == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	buf_release(&b);
	return 0;
fail:
	*err = xasprintf("embedded file '%s': cannot write '%s': %s", name,
	    path, strerror(errno));
	if (fd != -1)
		close(fd);
	buf_release(&b);
	return -1;
}

void
files_cancel_info(struct session *s, unsigned seconds)
{
	char *path = xasprintf("%s/cancel_info.json", s->dir);
	time_t end = time(NULL) + (time_t)seconds;
	struct tm tm;
	char when[32];
	FILE *fp;

	gmtime_r(&end, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if ((fp = fopen(path, "we")) != NULL) {
		fprintf(fp, "{\"NotifyEnd\": \"%s\"}\n", when);
		fclose(fp);
	}
	free(path);
}
