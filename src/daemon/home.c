/*
 * Finding and creating $DROVER_HOME.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fs.h"
#include "common/xmalloc.h"
#include "daemon/home.h"

char *
home_dir(char **err)
{
	char *h = fs_drover_home();

	if (h == NULL)
		*err = xstrdup("cannot find a state directory: set "
		    "DROVER_HOME or HOME");
	return h;
}

char *
home_path(const char *dir, const char *name)
{
	return xasprintf("%s/%s", dir, name);
}

int
home_ensure(const char *dir, char **err)
{
	struct stat sb;

	if (fs_mkdirs(dir, 0700) == -1) {
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
