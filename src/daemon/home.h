/*
 * $DROVER_HOME: where the queue keeps its state (database, socket, pid
 * file, logs, session directories).  Default $XDG_STATE_HOME/drover, else
 * ~/.local/state/drover.  It is created with mode 0700 and must belong to
 * the user: the socket's protection starts with the directory's.
 */
#ifndef DROVER_HOME_H
#define DROVER_HOME_H

/* The home directory path (malloc'd), or NULL with *err if no HOME. */
char	*home_dir(char **err);
/*
 * Creates dir (and missing parents) with mode 0700, or checks an existing
 * one: a directory, owned by this user; a mode letting others in is
 * tightened to 0700.  Returns 0, or -1 with *err.
 */
int	 home_ensure(const char *dir, char **err);
/* dir + "/" + name (malloc'd). */
char	*home_path(const char *dir, const char *name);

#define HOME_SOCKET	"drover.sock"
#define HOME_PIDFILE	"drover.pid"
#define HOME_DB		"drover.db"
#define HOME_LOG	"daemon.log"
#define HOME_LOGS	"logs"
#define HOME_SESSIONS	"sessions"

#endif
