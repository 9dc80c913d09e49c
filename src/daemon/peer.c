/*
 * Peer credentials of a Unix socket.
 */
#define _GNU_SOURCE	/* struct ucred */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "common/xmalloc.h"
#include "daemon/peer.h"

int
peer_cred(int fd, uid_t *uid, pid_t *pid)
{
	struct ucred uc;
	socklen_t len = sizeof(uc);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1)
		return -1;
	if (len != sizeof(uc)) {
		errno = EINVAL;
		return -1;
	}
	*uid = uc.uid;
	if (pid)
		*pid = uc.pid;
	return 0;
}

int
peer_allowed(int fd, uid_t owner, char **why)
{
	uid_t uid;
	pid_t pid;

	if (peer_cred(fd, &uid, &pid) == -1) {
		*why = xasprintf("cannot tell who is connecting: %s",
		    strerror(errno));
		return 0;
	}
	if (uid != owner) {
		*why = xasprintf("uid %u (pid %ld) is not the daemon's owner "
		    "(uid %u)", (unsigned)uid, (long)pid, (unsigned)owner);
		return 0;
	}
	return 1;
}
