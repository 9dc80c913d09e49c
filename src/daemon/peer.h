/*
 * Who is on the other end of a Unix socket (SO_PEERCRED).  The daemon
 * serves its owner only: every connection is checked before anything is
 * read from it.
 */
#ifndef DROVER_PEER_H
#define DROVER_PEER_H

#include <sys/types.h>

/* The peer's uid and pid; 0, or -1 with errno. */
int	peer_cred(int fd, uid_t *uid, pid_t *pid);
/*
 * 1 if the peer of fd is owner; 0 if not or unknown, with *why (malloc'd)
 * saying so ("uid 1001 is not the daemon's owner (uid 1000)").
 */
int	peer_allowed(int fd, uid_t owner, char **why);

#endif
