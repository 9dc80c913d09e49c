/* drover's state directory and mkdir -p; see fs.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fs.h"
#include "common/xmalloc.h"

char *
fs_drover_home(void)
{
	const char *v;

	if ((v = getenv("DROVER_HOME")) != NULL && *v != '\0')
		return xstrdup(v);
	if ((v = getenv("XDG_STATE_HOME")) != NULL && *v == '/')
		return xasprintf("%s/drover", v);
	if ((v = getenv("HOME")) != NULL && *v != '\0')
		return xasprintf("%s/.local/state/drover", v);
	return NULL;
}

int
fs_mkdirs(const char *path, mode_t mode)
{
	struct stat st;
	char *p;
	int rc = 0;

	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return 0;
		errno = ENOTDIR;
		return -1;
	}
	p = xstrdup(path);
	for (char *s = p + 1; rc == 0; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		char c = *s;

		*s = '\0';
		if (mkdir(p, mode) == -1 && errno != EEXIST)
			rc = -1;
		*s = c;
		if (c == '\0')
			break;
	}
	free(p);
	if (rc == 0 && (stat(path, &st) == -1 || !S_ISDIR(st.st_mode))) {
		if (errno == 0 || errno == EEXIST)
			errno = ENOTDIR;
		rc = -1;
	}
	return rc;
}

int
fs_mkdirs_for(const char *path, mode_t mode)
{
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	int rc = 0;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		rc = fs_mkdirs(dir, mode);
	}
	free(dir);
	return rc;
}
