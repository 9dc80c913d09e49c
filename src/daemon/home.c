/*
 * Finding and creating $DROVER_HOME.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "daemon/home.h"

char *
home_dir(char **err)
{
	const char *h = getenv("DROVER_HOME"), *x, *u;

	if (h && *h)
		return xstrdup(h);
	x = getenv("XDG_STATE_HOME");
	if (x && *x == '/')
		return xasprintf("%s/drover", x);
	u = getenv("HOME");
	if (u && *u)
		return xasprintf("%s/.local/state/drover", u);
	*err = xstrdup("cannot find a state directory: set DROVER_HOME or HOME");
	return NULL;
}

char *
home_path(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

static int
mkdir_parents(const char *dir, char **err)
{
	char *p = xstrdup(dir);

	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, 0700) == -1 && errno != EEXIST) {
			*err = xasprintf("cannot create '%s': %s", p,
			    strerror(errno));
			free(p);
			return -1;
		}
		*s = '/';
	}
	free(p);
	return 0;
}

int
home_ensure(const char *dir, char **err)
{
	struct stat sb;

	if (mkdir_parents(dir, err) == -1)
		return -1;
	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		*err = xasprintf("cannot create '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &sb) == -1) {
		*err = xasprintf("cannot stat '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		*err = xasprintf("'%s' is not a directory", dir);
		return -1;
	}
	if (sb.st_uid != geteuid()) {
		*err = xasprintf("'%s' belongs to uid %u, not to you", dir,
		    (unsigned)sb.st_uid);
		return -1;
	}
	if ((sb.st_mode & 077) && chmod(dir, 0700) == -1) {
		*err = xasprintf("cannot make '%s' private: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}
