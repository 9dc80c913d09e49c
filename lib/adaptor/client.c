/*
 * Daemon mode, client side: `daemon start` (after the fork), `daemon run`
 * and `daemon stop` each submit one job to the daemon and stream its
 * output lines to stdout as they arrive, then exit with the job's result
 * (0 ok, 1 failed or canceled).
 *
 * The client acknowledges lines (with its pings and every few hundred
 * lines), skips any it has already printed, and when the connection breaks
 * before the job is done it reconnects and re-attaches to the job from the
 * last line it printed, so every line is printed once and in order.  A
 * daemon silent for DROVER__DEAD_MS is declared gone.  SIGINT/SIGTERM ask
 * the daemon to cancel the job; the client keeps streaming until the
 * daemon reports the job done.
 *
 * Test hook: DROVER_ADAPTOR_TEST_DROP_AFTER=N drops the connection once,
 * after N lines, to exercise re-attaching.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "adaptor-int.h"

#define CANCEL_WAIT_MS	(120 * 1000)	/* after a cancel, wait this long */

static int csig_pipe[2] = { -1, -1 };

static void
on_client_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(csig_pipe[1], &c, 1) < 0) {
		/* already full */
	}
	errno = saved;
}

struct client {
	const char		*sock;
	const char		*connfile;	/* for messages, or NULL */
	int			 fd;
	struct drover__reader	 rd;
	struct dbuf		 out;
	unsigned long long	 job;		/* 0 until accepted */
	unsigned long long	 printed;	/* last line seq printed */
	unsigned long long	 acked;
	long long		 last_rx;
	long long		 last_tx;
	int			 cancel_sent;
	int			 nsig;
	long long		 cancel_at;
	long			 drop_after;	/* test hook */
	int			 exit_status;
	int			 done;
};

static void
cerr(const char *fmt, ...) DROVER_PRINTF(1, 2);

static void
cerr(const char *fmt, ...)
{
	struct dbuf b = DBUF_INIT;
	va_list ap;

	drover__dbuf_adds(&b, "ERROR: ");
	va_start(ap, fmt);
	drover__dbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	drover__dbuf_adds(&b, "\n");
	if (b.s)
		(void)drover__write_all(2, b.s, b.len);
	drover__dbuf_release(&b);
}

static int
csend(struct client *c, json_t *msg)
{
	ssize_t n;
	int rc;

	if (msg == NULL)
		return DROVER_ENOMEM;
	rc = drover__proto_encode(&c->out, msg);
	json_decref(msg);
	if (rc != 0)
		return rc;
	while (c->out.len > 0) {
		n = send(c->fd, c->out.s, c->out.len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			struct pollfd p = { c->fd, POLLOUT, 0 };

			(void)poll(&p, 1, 100);
			continue;
		}
		if (n < 0)
			return DROVER_ECONN;
		drover__dbuf_consume(&c->out, (size_t)n);
	}
	c->last_tx = drover__now_ms();
	return 0;
}

static int
cconnect(struct client *c, int quiet)
{
	char err[DROVER__ERRMAX];
	int rc;

	rc = drover__connect(c->sock, &c->fd, err, sizeof(err));
	if (rc != 0) {
		if (quiet)
			return rc;
		if (c->connfile && rc == DROVER_ECONN)
			cerr("the adaptor daemon of connection file '%s' is "
			    "gone (%s); remove the stale file and start a new "
			    "daemon", c->connfile, err);
		else
			cerr("cannot reach the adaptor daemon: %s", err);
		return rc;
	}
	drover__set_nonblock(c->fd);
	drover__reader_release(&c->rd);
	drover__dbuf_release(&c->out);
	c->last_rx = c->last_tx = drover__now_ms();
	return 0;
}

static void
cdisconnect(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/* Re-attaches to the job after a broken connection; 0 or <0. */
static int
creattach(struct client *c)
{
	long long until = drover__now_ms() + DROVER__RECONNECT_MS;

	cdisconnect(c);
	while (drover__now_ms() < until) {
		if (cconnect(c, 1) == 0) {
			c->acked = c->printed;
			if (csend(c, json_pack("{s:s, s:i, s:I, s:I}", "t",
			    "attach", "v", DROVER__PROTO_VERSION, "job",
			    (json_int_t)c->job, "ack",
			    (json_int_t)c->printed)) == 0)
				return 0;
			cdisconnect(c);
		}
		(void)poll(NULL, 0, 200);
	}
	cerr("lost the connection to the adaptor daemon at '%s' and could "
	    "not reconnect (is it gone?)", c->sock);
	return DROVER_ECONN;
}

static int
handle(struct client *c, json_t *msg)
{
	const char *t = drover__proto_type(msg), *text, *res, *err;
	unsigned long long seq, ahead;
	struct dbuf line = DBUF_INIT;

	if (!strcmp(t, "line")) {
		text = json_string_value(json_object_get(msg, "text"));
		if (drover__proto_uint(msg, "seq", &seq) != 0 || text == NULL)
			return DROVER_EPROTO;
		if (seq <= c->printed)
			return 0;	/* seen before a reconnect */
		if (drover__dbuf_adds(&line, text) != 0 ||
		    drover__dbuf_adds(&line, "\n") != 0) {
			drover__dbuf_release(&line);
			return DROVER_ENOMEM;
		}
		if (drover__write_all(1, line.s, line.len) != 0) {
			drover__dbuf_release(&line);
			cerr("cannot write output: %s", strerror(errno));
			return DROVER_EIO;
		}
		drover__dbuf_release(&line);
		c->printed = seq;
		if (c->printed - c->acked >= 256) {
			c->acked = c->printed;
			return csend(c, json_pack("{s:s, s:I}", "t", "ack",
			    "ack", (json_int_t)c->printed));
		}
		return 0;
	}
	if (!strcmp(t, "accepted")) {
		if (drover__proto_uint(msg, "job", &c->job) != 0)
			return DROVER_EPROTO;
		if (drover__proto_uint(msg, "ahead", &ahead) == 0 &&
		    ahead > 0 && c->printed == 0)
			drover__emitf(NULL, "INFO: the adaptor daemon is busy; "
			    "waiting for %llu earlier request%s", ahead,
			    ahead == 1 ? "" : "s");
		return 0;
	}
	if (!strcmp(t, "done")) {
		res = json_string_value(json_object_get(msg, "result"));
		err = json_string_value(json_object_get(msg, "error"));
		c->done = 1;
		c->exit_status = res && !strcmp(res, "ok") ? 0 : 1;
		if (c->exit_status && err)
			cerr("%s", err);
		(void)csend(c, json_pack("{s:s}", "t", "bye"));
		return 0;
	}
	if (!strcmp(t, "error")) {
		err = json_string_value(json_object_get(msg, "msg"));
		cerr("adaptor daemon: %s", err ? err : "unknown error");
		return DROVER_EFAILED;
	}
	return 0;	/* ping, or a message of a later version */
}

/* Handles one signal: the first asks for a cancel. */
static void
on_sig(struct client *c)
{
	c->nsig++;
	if (c->cancel_sent)
		return;
	c->cancel_sent = 1;
	c->cancel_at = drover__now_ms();
	if (c->fd >= 0)
		(void)csend(c, json_pack("{s:s}", "t", "cancel"));
}

static int
stream(struct client *c)
{
	struct pollfd pfd[2];
	char buf[65536], err[256], sbuf[16];
	json_t *msg;
	long long now;
	ssize_t n;
	int r, rc;

	while (!c->done) {
		pfd[0].fd = csig_pipe[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = c->fd;
		pfd[1].events = POLLIN;
		r = poll(pfd, 2, 250);
		if (r < 0 && errno != EINTR)
			return DROVER_EIO;
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			while (read(csig_pipe[0], sbuf, sizeof(sbuf)) > 0)
				on_sig(c);
			if (c->nsig >= 3) {
				cerr("interrupted three times: giving up "
				    "(the daemon goes on canceling)");
				return DROVER_ECANCELED;
			}
		}
		now = drover__now_ms();
		if (r > 0 && (pfd[1].revents & (POLLIN | POLLHUP | POLLERR))) {
			n = recv(c->fd, buf, sizeof(buf), 0);
			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n <= 0) {
				if (c->job == 0) {
					cerr("the adaptor daemon closed the "
					    "connection");
					return DROVER_ECONN;
				}
				if ((rc = creattach(c)) != 0)
					return rc;
				if (c->cancel_sent)
					(void)csend(c, json_pack("{s:s}", "t",
					    "cancel"));
				continue;
			}
			c->last_rx = now;
			if (drover__reader_feed(&c->rd, buf, (size_t)n) != 0)
				return DROVER_ENOMEM;
			while (!c->done && (r = drover__reader_next(&c->rd,
			    &msg, err, sizeof(err))) != 0) {
				if (r < 0) {
					cerr("adaptor daemon: %s", err);
					return DROVER_EPROTO;
				}
				rc = handle(c, msg);
				json_decref(msg);
				if (rc != 0)
					return rc;
				if (c->drop_after > 0 &&
				    c->printed >= (unsigned long long)
				    c->drop_after) {
					c->drop_after = 0;
					if ((rc = creattach(c)) != 0)
						return rc;
					break;
				}
			}
			continue;
		}
		if (now - c->last_rx > DROVER__DEAD_MS) {
			cerr("the adaptor daemon at '%s' is not responding",
			    c->sock);
			return DROVER_ETIMEDOUT;
		}
		if (c->cancel_sent && now - c->cancel_at > CANCEL_WAIT_MS) {
			cerr("the adaptor daemon did not finish canceling");
			return DROVER_ETIMEDOUT;
		}
		if (now - c->last_tx >= DROVER__HEARTBEAT_MS) {
			c->acked = c->printed;
			if (csend(c, json_pack("{s:s, s:I}", "t", "ping", "ack",
			    (json_int_t)c->printed)) != 0) {
				if ((rc = creattach(c)) != 0)
					return rc;
			}
		}
	}
	return 0;
}

int
drover__client_job(const char *sockpath, const char *connfile,
    const char *kind, const json_t *data)
{
	struct sigaction sa, old_int, old_term, old_pipe;
	struct client c;
	const char *hook;
	json_t *msg;
	int rc;

	memset(&c, 0, sizeof(c));
	c.sock = sockpath;
	c.connfile = connfile;
	c.fd = -1;
	hook = getenv("DROVER_ADAPTOR_TEST_DROP_AFTER");
	if (hook)
		c.drop_after = atol(hook);
	if (cconnect(&c, 0) != 0)
		return 1;
	if (pipe2(csig_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		cerr("pipe: %s", strerror(errno));
		cdisconnect(&c);
		return 3;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_client_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, &old_pipe);

	msg = json_pack("{s:s, s:i, s:s}", "t", "submit", "v",
	    DROVER__PROTO_VERSION, "kind", kind);
	if (msg && data && json_object_set(msg, "data", (json_t *)data) != 0) {
		json_decref(msg);
		msg = NULL;
	}
	rc = csend(&c, msg);
	if (rc == 0)
		rc = stream(&c);
	else
		cerr("cannot send to the adaptor daemon");

	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	sigaction(SIGPIPE, &old_pipe, NULL);
	close(csig_pipe[0]);
	close(csig_pipe[1]);
	csig_pipe[0] = csig_pipe[1] = -1;
	cdisconnect(&c);
	drover__reader_release(&c.rd);
	drover__dbuf_release(&c.out);
	if (rc == DROVER_ENOMEM || rc == DROVER_EIO)
		return 3;
	if (rc != 0)
		return 1;
	if (c.cancel_sent)
		return 1;
	return c.exit_status;
}

static int
resolve_socket(const char *sockpath, const char *connfile, char **out)
{
	char err[DROVER__ERRMAX];
	const char *env;

	*out = NULL;
	if (sockpath) {
		*out = drover__strdup(sockpath);
		return *out ? 0 : 3;
	}
	if (connfile) {
		if (drover__connfile_read(connfile, out, err, sizeof(err)) != 0) {
			cerr("%s", err);
			return 1;
		}
		return 0;
	}
	env = getenv("OPENJD_ADAPTOR_SOCKET");
	if (env == NULL || *env == '\0') {
		cerr("no --connection-file given and OPENJD_ADAPTOR_SOCKET is "
		    "not set: where is the adaptor daemon?");
		return 1;
	}
	*out = drover__strdup(env);
	return *out ? 0 : 3;
}

int
drover__client_run(const char *sockpath, const char *connfile,
    const json_t *run_data)
{
	char *sock;
	int rc;

	rc = resolve_socket(sockpath, connfile, &sock);
	if (rc != 0)
		return rc;
	rc = drover__client_job(sock, connfile, "run", run_data);
	free(sock);
	return rc;
}

int
drover__client_stop(const char *sockpath, const char *connfile)
{
	char *sock;
	int rc;

	rc = resolve_socket(sockpath, connfile, &sock);
	if (rc != 0)
		return rc;
	rc = drover__client_job(sock, connfile, "stop", NULL);
	free(sock);
	return rc;
}
