/*
 * Leveled logging to stderr (OpenBSD log.h).  Every line carries a
 * timestamp, the program name and the level.  log_warn() appends
 * strerror(errno); log_warnx() does not.  fatal()/fatalx() log and exit(1):
 * for start-up failures and children that cannot go on, never in lib/.
 */
#ifndef DROVER_LOG_H
#define DROVER_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
};

void	log_init(const char *progname, enum log_level);
void	log_set_level(enum log_level);
enum log_level log_get_level(void);
/* Parses "error|warn|info|debug"; returns -1 if unknown. */
int	log_level_parse(const char *);
/* Send log lines to fd instead of stderr (the daemon's log file). */
void	log_set_fd(int fd);

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))
void	log_error(const char *, ...) LOG_PRINTF(1, 2);
void	log_warn(const char *, ...) LOG_PRINTF(1, 2);
void	log_warnx(const char *, ...) LOG_PRINTF(1, 2);
void	log_info(const char *, ...) LOG_PRINTF(1, 2);
void	log_debug(const char *, ...) LOG_PRINTF(1, 2);
void	log_vwrite(enum log_level, int with_errno, const char *, va_list);
_Noreturn void fatal(const char *, ...) LOG_PRINTF(1, 2);
_Noreturn void fatalx(const char *, ...) LOG_PRINTF(1, 2);

#endif
