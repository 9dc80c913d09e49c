/*
 * The daemon's rendezvous: a Unix socket in a private 0700 directory, a
 * connection file naming it, and the credential check every connection
 * passes.  The connection file is created with O_EXCL and mode 0600, in the
 * format the OpenJD Python runtime writes ({"socket": "<path>"}; we add
 * the daemon's "pid" for diagnostics).  Both ends check the uid of the
 * other with SO_PEERCRED, so a socket path planted in a connection file
 * cannot make a client talk to someone else's process.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "adaptor-int.h"

int
drover__peer_allowed(uid_t peer, uid_t self)
{
	return peer == self;
}

int
drover__peer_check(int fd, char *err, size_t errsz)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		drover__seterr(err, errsz, "cannot read peer credentials: %s",
		    strerror(errno));
		return DROVER_EIO;
	}
	if (!drover__peer_allowed(cr.uid, geteuid())) {
		drover__seterr(err, errsz, "peer uid %lu is not allowed (this "
		    "process runs as uid %lu)", (unsigned long)cr.uid,
		    (unsigned long)geteuid());
		return DROVER_EPERM;
	}
	return 0;
}

/* The base directory for socket directories: short paths fit sun_path. */
static const char *
socket_base(void)
{
	const char *d;

	d = getenv("XDG_RUNTIME_DIR");
	if (d && *d && strlen(d) < 60 && access(d, W_OK | X_OK) == 0)
		return d;
	d = getenv("TMPDIR");
	if (d && *d && strlen(d) < 60 && access(d, W_OK | X_OK) == 0)
		return d;
	return "/tmp";
}

int
drover__listen_private(char **dirp, char **sockp, int *fdp, char *err,
    size_t errsz)
{
	struct sockaddr_un sa;
	char *dir = NULL, *sock = NULL;
	int fd = -1, saved;
	mode_t old;

	*dirp = *sockp = NULL;
	*fdp = -1;
	dir = drover__asprintf("%s/drover-adaptor-XXXXXX", socket_base());
	if (dir == NULL)
		goto nomem;
	if (mkdtemp(dir) == NULL) {	/* mode 0700 */
		drover__seterr(err, errsz, "cannot create socket directory "
		    "'%s': %s", dir, strerror(errno));
		free(dir);
		return DROVER_EIO;
	}
	sock = drover__asprintf("%s/socket", dir);
	if (sock == NULL)
		goto nomem;
	if (strlen(sock) >= sizeof(sa.sun_path)) {
		drover__seterr(err, errsz, "socket path '%s' is too long",
		    sock);
		rmdir(dir);
		free(dir);
		free(sock);
		return DROVER_EINVAL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		goto syserr;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	old = umask(077);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		saved = errno;
		umask(old);
		errno = saved;
		goto syserr;
	}
	umask(old);
	if (listen(fd, 64) != 0)
		goto syserr;
	*dirp = dir;
	*sockp = sock;
	*fdp = fd;
	return 0;
syserr:
	drover__seterr(err, errsz, "cannot listen on '%s': %s", sock,
	    strerror(errno));
	if (fd >= 0)
		close(fd);
	unlink(sock);
	rmdir(dir);
	free(dir);
	free(sock);
	return DROVER_EIO;
nomem:
	if (dir)
		rmdir(dir);
	free(dir);
	free(sock);
	drover__seterr(err, errsz, "out of memory");
	return DROVER_ENOMEM;
}

int
drover__connect(const char *path, int *fdp, char *err, size_t errsz)
{
	struct sockaddr_un sa;
	int fd, rc;

	*fdp = -1;
	if (strlen(path) >= sizeof(sa.sun_path)) {
		drover__seterr(err, errsz, "socket path '%s' is too long", path);
		return DROVER_EINVAL;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		drover__seterr(err, errsz, "socket: %s", strerror(errno));
		return DROVER_EIO;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	while ((rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa))) != 0 &&
	    errno == EINTR)
		;
	if (rc != 0) {
		int e = errno;

		drover__seterr(err, errsz, "cannot connect to '%s': %s", path,
		    strerror(e));
		close(fd);
		if (e == EACCES || e == EPERM)
			return DROVER_EPERM;
		return DROVER_ECONN;
	}
	rc = drover__peer_check(fd, err, errsz);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*fdp = fd;
	return 0;
}

int
drover__connfile_write(const char *path, const char *sock, pid_t pid,
    dev_t *dev, ino_t *ino, char *err, size_t errsz)
{
	struct stat st;
	json_t *doc;
	char *text;
	int fd, rc = 0;

	doc = json_pack("{s:s, s:i}", "socket", sock, "pid", (int)pid);
	text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (text == NULL) {
		drover__seterr(err, errsz, "out of memory");
		return DROVER_ENOMEM;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd < 0) {
		rc = errno == EEXIST ? DROVER_EEXIST : DROVER_EIO;
		drover__seterr(err, errsz, "cannot create connection file "
		    "'%s': %s", path, strerror(errno));
		free(text);
		return rc;
	}
	if (drover__write_all(fd, text, strlen(text)) != 0 ||
	    drover__write_all(fd, "\n", 1) != 0 || fstat(fd, &st) != 0) {
		drover__seterr(err, errsz, "cannot write connection file "
		    "'%s': %s", path, strerror(errno));
		rc = DROVER_EIO;
		unlink(path);
	} else {
		*dev = st.st_dev;
		*ino = st.st_ino;
	}
	close(fd);
	free(text);
	return rc;
}

int
drover__connfile_read(const char *path, char **sock, char *err, size_t errsz)
{
	json_error_t je;
	json_t *doc, *s;

	*sock = NULL;
	doc = json_load_file(path, 0, &je);
	if (doc == NULL) {
		if (access(path, F_OK) != 0) {
			drover__seterr(err, errsz, "connection file '%s' does "
			    "not exist (is the adaptor daemon started?)", path);
			return DROVER_ENOENT;
		}
		drover__seterr(err, errsz, "cannot read connection file '%s': "
		    "%s", path, je.text);
		return DROVER_EINVAL;
	}
	s = json_object_get(doc, "socket");
	if (!json_is_string(s) || json_string_length(s) == 0) {
		drover__seterr(err, errsz, "connection file '%s' has no "
		    "\"socket\"", path);
		json_decref(doc);
		return DROVER_EINVAL;
	}
	*sock = drover__strdup(json_string_value(s));
	json_decref(doc);
	if (*sock == NULL) {
		drover__seterr(err, errsz, "out of memory");
		return DROVER_ENOMEM;
	}
	return 0;
}
