/*
 * Small file-system facts every subsystem needs: where drover keeps its
 * state, and mkdir -p.
 */
#ifndef DROVER_FS_H
#define DROVER_FS_H

#include <sys/types.h>

/*
 * drover's state directory: $DROVER_HOME, else $XDG_STATE_HOME/drover,
 * else $HOME/.local/state/drover.  Returns a malloc'd path (not created),
 * or NULL when none of those variables is set.
 */
char	*fs_drover_home(void);

/*
 * mkdir -p: creates path and its missing parents with mode.  Returns 0 (also
 * when it already is a directory), or -1 with errno set.
 */
int	 fs_mkdirs(const char *path, mode_t mode);

/* fs_mkdirs() of the directory that holds path ("a/b/c" -> "a/b"). */
int	 fs_mkdirs_for(const char *path, mode_t mode);

#endif
