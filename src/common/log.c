/*
 * Leveled logging.  Lines are written with one write(2) so that lines from
 * several processes sharing a log file do not interleave mid-line.
 * Untrusted text is escaped: control characters become \xNN.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/log.h"

static const char	*log_progname = "drover";
static enum log_level	 log_level = LOG_LVL_WARN;
static int		 log_fd = 2;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void
log_init(const char *progname, enum log_level lvl)
{
	log_progname = progname;
	log_level = lvl;
}

void
log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

enum log_level
log_get_level(void)
{
	return log_level;
}

void
log_set_fd(int fd)
{
	log_fd = fd;
}

int
log_level_parse(const char *s)
{
	for (size_t i = 0; i < sizeof(log_names) / sizeof(log_names[0]); i++)
		if (strcmp(s, log_names[i]) == 0)
			return (int)i;
	return -1;
}

void
log_vwrite(enum log_level lvl, int with_errno, const char *fmt, va_list ap)
{
	int saved = errno;
	struct buf msg = BUF_INIT, line = BUF_INIT;
	struct timespec ts;
	struct tm tm;
	char stamp[32];

	if (lvl > log_level)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S", &tm);
	buf_vaddf(&msg, fmt, ap);
	if (with_errno)
		buf_addf(&msg, ": %s", strerror(saved));

	buf_addf(&line, "%s.%03ldZ %s[%ld] %s: ", stamp, ts.tv_nsec / 1000000,
	    log_progname, (long)getpid(), log_names[lvl]);
	for (size_t i = 0; i < msg.len; i++) {
		unsigned char c = (unsigned char)msg.s[i];
		if (c < 0x20 && c != '\t')
			buf_addf(&line, "\\x%02x", c);
		else
			buf_addch(&line, c);
	}
	buf_addch(&line, '\n');
	if (write(log_fd, line.s, line.len) < 0) {
		/* nowhere left to report it */
	}
	buf_release(&msg);
	buf_release(&line);
	errno = saved;
}

#define LOG_FN(name, lvl, errflag)					\
void									\
name(const char *fmt, ...)						\
{									\
	va_list ap;							\
	va_start(ap, fmt);						\
	log_vwrite(lvl, errflag, fmt, ap);				\
	va_end(ap);							\
}
LOG_FN(log_error, LOG_LVL_ERROR, 0)
LOG_FN(log_warn, LOG_LVL_WARN, 1)
LOG_FN(log_warnx, LOG_LVL_WARN, 0)
LOG_FN(log_info, LOG_LVL_INFO, 0)
LOG_FN(log_debug, LOG_LVL_DEBUG, 0)

void
fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, 1, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
