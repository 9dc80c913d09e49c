/*
 * Per-entry lock files for the shared dependency cache (Umpire's scheme,
 * made race-free).  A lock is a file holding one line "<host_id>::<pid>",
 * created with O_CREAT|O_EXCL — whoever creates it holds it; nobody writes
 * a lock and then checks whether it won.
 *
 * A process that finds the lock taken looks at the holder:
 *   - same host, pid dead (or the pid now belongs to a process that started
 *     after the lock was written, i.e. a reused pid): the lock is stale and
 *     is broken;
 *   - same host and alive, or another host (whose pids cannot be checked):
 *     wait, polling, up to the timeout, then fail with a clear message.
 * Breaking is serialised through "<lock>.break", itself an O_EXCL lock, and
 * the stale content is re-checked under it, so two breakers can never both
 * remove a lock (and never remove a fresh one).  A lock file that stays
 * empty or unreadable for DEPLOY_LOCK_GRACE seconds (its creator died
 * between create and write) is stale too.
 *
 * The host id is a stable machine id, not the host name: $DROVER_HOST_ID if
 * set, else /etc/machine-id, else /var/lib/dbus/machine-id, else a random id
 * generated once and kept in <drover home>/host-id.
 */
#ifndef DROVER_DEPLOY_LOCK_H
#define DROVER_DEPLOY_LOCK_H

#include <sys/types.h>

#define DEPLOY_LOCK_GRACE	10	/* seconds an empty lock may exist */

/* Return codes of deploy_lock_acquire besides 0. */
#define DEPLOY_LOCK_ERROR	(-1)
#define DEPLOY_LOCK_TIMEOUT	(-2)
#define DEPLOY_LOCK_BUSY	(-3)	/* timeout 0 and held by a live holder */

/* The host id (see above); malloc'd, never NULL. */
char	*deploy_host_id(void);

/*
 * Takes the lock at path, creating its directory if needed, waiting up to
 * timeout seconds (0: do not wait).  0 on success; otherwise one of the
 * codes above with *errp set (the message names the holder).
 */
int	 deploy_lock_acquire(const char *path, const char *host_id,
	     double timeout, char **errp);
/* Removes the lock if it is still ours (host id and pid match). */
void	 deploy_lock_release(const char *path, const char *host_id);
/*
 * Reads a lock file: 0 with *host (malloc'd) and *pid, or -1 if it does
 * not exist (errno ENOENT) or does not hold "<host>::<pid>" (EINVAL).
 */
int	 deploy_lock_read(const char *path, char **host, pid_t *pid);
/* 1 if a lock held by host::pid, written at mtime, is stale here. */
int	 deploy_lock_stale(const char *host, pid_t pid, time_t mtime,
	     const char *my_host);

#endif
