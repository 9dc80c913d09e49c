/*
 * Daemon mode, server side: the background process `daemon start` leaves
 * running, which keeps the adaptor (and whatever application it loaded in
 * on_start) alive across `daemon run` invocations.
 *
 * Start-up: the starting process forks twice (the daemon is re-parented
 * and leads its own session), the daemon creates a private 0700 directory
 * with a listening socket, writes the connection file, and reports "ok" or
 * the error on a pipe the starter waits on.  The starter then connects like
 * any client and submits the "start" job, so on_start's output streams
 * back to `daemon start` the way a run's output streams to `daemon run`.
 *
 * Threads: the main thread owns the socket, the clients and the jobs'
 * bookkeeping (one poll loop: signals, wake-ups, clients, heartbeats); a
 * worker thread runs the jobs (start, run, stop) one at a time in
 * submission order, so a second `daemon run` waits its turn.  Output lines
 * emitted while a job runs are appended to that job under d->mu with a
 * sequence number and streamed to the job's client, which acknowledges
 * them; unacknowledged lines are kept so that a client that reconnects
 * ("attach") gets every line at least once and in order.
 *
 * Liveness: both ends ping after DROVER__HEARTBEAT_MS of quiet and treat a
 * peer silent for DROVER__DEAD_MS as gone.  A job whose client is gone for
 * DROVER__ORPHAN_MS is canceled (running) or dropped (queued).
 *
 * Lock order: a->out_mu (held while the sink runs), then d->mu.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "adaptor-int.h"

enum job_kind { JOB_START, JOB_RUN, JOB_STOP };
enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct line {
	unsigned long long	 seq;
	char			*text;
};

struct conn;

struct job {
	unsigned long long	 id;
	enum job_kind		 kind;
	json_t			*data;
	enum job_state		 state;
	int			 result;
	char			*error;
	unsigned long		 gen;	/* operation generation while running */
	struct line		*lines;	/* unacknowledged lines */
	size_t			 nlines;
	size_t			 alloc;
	unsigned long long	 next_seq;
	struct conn		*conn;
	long long		 orphan_at;	/* 0 while a client is attached */
	int			 internal;	/* made by the daemon itself */
	int			 abandoned;	/* canceled for lack of a client */
	struct job		*next;
};

struct conn {
	int			 fd;
	struct drover__reader	 rd;
	struct dbuf		 out;
	struct job		*job;
	unsigned long long	 sent;	/* highest seq queued to out */
	int			 hello;
	int			 done_sent;
	int			 closing;	/* close once out is flushed */
	long long		 last_rx;
	long long		 last_tx;
	struct conn		*next;
};

struct daemon {
	drover_adaptor		*a;
	int			 lfd;
	char			*dir;
	char			*sock;
	char			*connfile;
	dev_t			 conn_dev;
	ino_t			 conn_ino;
	pthread_t		 worker;
	int			 worker_started;
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct job		*jobs;	/* in submission order */
	struct job		*current;
	unsigned long long	 next_id;
	int			 wake[2];
	int			 wake_pending;
	int			 quit;		/* worker: exit */
	int			 stopping;	/* stop job queued */
	int			 finished;	/* stop job done */
	int			 started;	/* start job submitted */
	int			 files_removed;
	long long		 finished_at;
	struct conn		*conns;
};

static int sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(sig_pipe[1], &c, 1) < 0) {
		/* nothing to do: the pipe is full of signals already */
	}
	errno = saved;
}

/* Diagnostics go to the daemon's stderr: its --log-file or /dev/null. */
static void
dlog(const char *fmt, ...) DROVER_PRINTF(1, 2);

static void
dlog(const char *fmt, ...)
{
	struct dbuf b = DBUF_INIT;
	char stamp[64];
	struct tm tm;
	time_t now = time(NULL);
	va_list ap;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S", &tm);
	drover__dbuf_addf(&b, "[%s] adaptor daemon %d: ", stamp, (int)getpid());
	va_start(ap, fmt);
	drover__dbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	drover__dbuf_adds(&b, "\n");
	if (b.s)
		(void)drover__write_all(2, b.s, b.len);
	drover__dbuf_release(&b);
}

/* Called with d->mu held. */
static void
wake_main_locked(struct daemon *d)
{
	if (!d->wake_pending) {
		d->wake_pending = 1;
		if (write(d->wake[1], "w", 1) < 0) {
			/* the pipe is non-blocking and already has a byte */
		}
	}
}

/* The sink: lines of the running job, or the daemon's log. */
static void
daemon_sink(drover_adaptor *a, const char *line, size_t len, void *arg)
{
	struct daemon *d = arg;
	struct job *j;
	struct line *nl;
	char *copy;

	(void)a;
	pthread_mutex_lock(&d->mu);
	j = d->current;
	if (j == NULL) {
		pthread_mutex_unlock(&d->mu);
		dlog("%.*s", (int)len, line);
		return;
	}
	if (j->nlines == j->alloc) {
		size_t na = j->alloc ? j->alloc * 2 : 64;

		nl = realloc(j->lines, na * sizeof(*nl));
		if (nl == NULL)
			goto out;
		j->lines = nl;
		j->alloc = na;
	}
	copy = malloc(len + 1);
	if (copy == NULL)
		goto out;
	memcpy(copy, line, len);
	copy[len] = '\0';
	j->lines[j->nlines].seq = j->next_seq++;
	j->lines[j->nlines].text = copy;
	j->nlines++;
	wake_main_locked(d);
out:
	pthread_mutex_unlock(&d->mu);
}

/* ---- jobs ------------------------------------------------------------- */

static void
job_free(struct job *j)
{
	size_t i;

	for (i = 0; i < j->nlines; i++)
		free(j->lines[i].text);
	free(j->lines);
	json_decref(j->data);
	free(j->error);
	free(j);
}

/* Drops lines up to seq (the client has them).  d->mu held. */
static void
job_ack(struct job *j, unsigned long long seq)
{
	size_t n = 0, i;

	while (n < j->nlines && j->lines[n].seq <= seq)
		free(j->lines[n++].text);
	if (n == 0)
		return;
	for (i = n; i < j->nlines; i++)
		j->lines[i - n] = j->lines[i];
	j->nlines -= n;
}

/* Unlinks and frees a job that is not running.  d->mu held. */
static void
job_remove(struct daemon *d, struct job *j)
{
	struct job **jp;

	for (jp = &d->jobs; *jp; jp = &(*jp)->next)
		if (*jp == j) {
			*jp = j->next;
			break;
		}
	if (j->conn)
		j->conn->job = NULL;
	job_free(j);
}

/* Jobs queued or running ahead of j.  d->mu held. */
static int
jobs_ahead(struct daemon *d, struct job *j)
{
	struct job *k;
	int n = 0;

	for (k = d->jobs; k && k != j; k = k->next)
		if (k->state != JOB_DONE)
			n++;
	return n;
}

/* Marks a queued job canceled.  d->mu held. */
static void
job_cancel_queued(struct daemon *d, struct job *j, const char *why)
{
	j->state = JOB_DONE;
	j->result = DROVER_ECANCELED;
	j->error = drover__strdup(why);
	wake_main_locked(d);
}

/* ---- the worker thread -------------------------------------------------- */

static void *
worker_main(void *arg)
{
	struct daemon *d = arg;
	drover_adaptor *a = d->a;
	struct job *j;
	char msg[DROVER__ERRMAX];
	unsigned long gen;
	int rc, rc2, last;

	for (;;) {
		pthread_mutex_lock(&d->mu);
		for (;;) {
			for (j = d->jobs; j && j->state != JOB_QUEUED;
			    j = j->next)
				;
			if (j || d->quit)
				break;
			pthread_cond_wait(&d->cv, &d->mu);
		}
		if (j == NULL) {
			pthread_mutex_unlock(&d->mu);
			break;
		}
		pthread_mutex_unlock(&d->mu);
		gen = drover__cancel_reset(a);
		pthread_mutex_lock(&d->mu);
		j->state = JOB_RUNNING;
		j->gen = gen;
		d->current = j;
		wake_main_locked(d);
		pthread_mutex_unlock(&d->mu);

		last = 0;
		switch (j->kind) {
		case JOB_START:
			rc = drover__op_start(a);
			if (rc != 0) {
				drover__cancel_reset(a);
				(void)drover__op_cleanup(a);
				last = 1;
			}
			break;
		case JOB_RUN:
			rc = drover__op_run(a, j->data);
			break;
		default:
			rc = drover__op_stop(a);
			drover__cancel_reset(a);
			rc2 = drover__op_cleanup(a);
			if (rc == 0)
				rc = rc2;
			last = 1;
			break;
		}

		pthread_mutex_lock(&a->out_mu);
		memcpy(msg, a->errmsg, sizeof(msg));
		pthread_mutex_unlock(&a->out_mu);
		pthread_mutex_lock(&d->mu);
		j->state = JOB_DONE;
		j->result = rc;
		if (rc != 0 && rc != DROVER_ECANCELED)
			j->error = drover__strdup(msg[0] ? msg :
			    drover_strerror(rc));
		d->current = NULL;
		if (last) {
			d->finished = 1;
			d->finished_at = drover__now_ms();
			/* Jobs still queued will never run. */
			for (j = d->jobs; j; j = j->next)
				if (j->state == JOB_QUEUED)
					job_cancel_queued(d, j,
					    "the adaptor daemon stopped");
		}
		wake_main_locked(d);
		pthread_mutex_unlock(&d->mu);
		if (last)
			break;
	}
	return NULL;
}

/* ---- clients ------------------------------------------------------------ */

static int
conn_send(struct conn *c, json_t *msg)
{
	int rc;

	if (msg == NULL)
		return DROVER_ENOMEM;
	rc = drover__proto_encode(&c->out, msg);
	json_decref(msg);
	return rc;
}

static void
conn_error(struct conn *c, const char *msg)
{
	(void)conn_send(c, json_pack("{s:s, s:s}", "t", "error", "msg", msg));
	c->closing = 1;
}

static const char *
result_name(int rc)
{
	if (rc == 0)
		return "ok";
	if (rc == DROVER_ECANCELED)
		return "canceled";
	return "failed";
}

/* Queues lines the client has not been sent, then "done" when the job is
 * finished and every line is out. */
static void
conn_fill(struct daemon *d, struct conn *c)
{
	struct job *j = c->job;
	size_t i;

	if (j == NULL || c->closing)
		return;
	pthread_mutex_lock(&d->mu);
	for (i = 0; i < j->nlines && c->out.len < 256 * 1024; i++) {
		if (j->lines[i].seq <= c->sent)
			continue;
		if (conn_send(c, json_pack("{s:s, s:I, s:s}", "t", "line",
		    "seq", (json_int_t)j->lines[i].seq, "text",
		    j->lines[i].text)) != 0)
			break;
		c->sent = j->lines[i].seq;
	}
	if (j->state == JOB_DONE && !c->done_sent &&
	    c->sent + 1 >= j->next_seq) {
		if (conn_send(c, json_pack("{s:s, s:I, s:s, s:s?}", "t", "done",
		    "job", (json_int_t)j->id, "result", result_name(j->result),
		    "error", j->error)) == 0)
			c->done_sent = 1;
	}
	pthread_mutex_unlock(&d->mu);
}

/* Writes what it can; -1 when the connection is broken. */
static int
conn_flush(struct conn *c)
{
	ssize_t n;

	while (c->out.len > 0) {
		n = send(c->fd, c->out.s, c->out.len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n < 0)
			return -1;
		drover__dbuf_consume(&c->out, (size_t)n);
		c->last_tx = drover__now_ms();
	}
	return 0;
}

static void
conn_close(struct daemon *d, struct conn *c, const char *why)
{
	struct conn **cp;
	struct job *j;

	for (cp = &d->conns; *cp; cp = &(*cp)->next)
		if (*cp == c) {
			*cp = c->next;
			break;
		}
	pthread_mutex_lock(&d->mu);
	j = c->job;
	if (j) {
		j->conn = NULL;
		j->orphan_at = drover__now_ms() + DROVER__ORPHAN_MS;
		if (why)
			dlog("client of job %llu: %s", j->id, why);
	}
	pthread_mutex_unlock(&d->mu);
	close(c->fd);
	drover__reader_release(&c->rd);
	drover__dbuf_release(&c->out);
	free(c);
}

static void
cancel_job(struct daemon *d, struct job *j, const char *why)
{
	unsigned long gen = 0;
	int running = 0;

	pthread_mutex_lock(&d->mu);
	if (j->state == JOB_QUEUED)
		job_cancel_queued(d, j, why);
	else if (j->state == JOB_RUNNING) {
		running = 1;
		gen = j->gen;
	}
	pthread_mutex_unlock(&d->mu);
	if (running) {
		dlog("canceling job %llu: %s", j->id, why);
		drover__cancel_begin(d->a, gen);
	}
}

static void
handle_submit(struct daemon *d, struct conn *c, json_t *msg)
{
	const char *kind = json_string_value(json_object_get(msg, "kind"));
	json_t *data = json_object_get(msg, "data");
	struct job *j, **jp;
	int ahead, stopping;

	if (c->job) {
		conn_error(c, "this connection already has a job");
		return;
	}
	if (kind == NULL || (strcmp(kind, "start") && strcmp(kind, "run") &&
	    strcmp(kind, "stop"))) {
		conn_error(c, "submit: kind must be start, run or stop");
		return;
	}
	if (data != NULL && !json_is_object(data)) {
		conn_error(c, "submit: data must be an object");
		return;
	}
	pthread_mutex_lock(&d->mu);
	stopping = d->stopping || d->finished;
	pthread_mutex_unlock(&d->mu);
	if (stopping) {
		conn_error(c, "the adaptor daemon is stopping");
		return;
	}
	if (!strcmp(kind, "start") && d->started) {
		conn_error(c, "the adaptor daemon has already been started");
		return;
	}
	j = calloc(1, sizeof(*j));
	if (j == NULL) {
		conn_error(c, "out of memory");
		return;
	}
	j->kind = !strcmp(kind, "start") ? JOB_START :
	    !strcmp(kind, "run") ? JOB_RUN : JOB_STOP;
	j->data = data ? json_deep_copy(data) : json_object();
	if (j->data == NULL) {
		free(j);
		conn_error(c, "out of memory");
		return;
	}
	j->next_seq = 1;
	if (j->kind == JOB_START)
		d->started = 1;
	if (j->kind == JOB_STOP)
		d->stopping = 1;
	pthread_mutex_lock(&d->mu);
	j->id = ++d->next_id;
	for (jp = &d->jobs; *jp; jp = &(*jp)->next)
		;
	*jp = j;
	j->conn = c;
	c->job = j;
	ahead = jobs_ahead(d, j);
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
	dlog("job %llu (%s) submitted, %d ahead", j->id, kind, ahead);
	(void)conn_send(c, json_pack("{s:s, s:I, s:i}", "t", "accepted", "job",
	    (json_int_t)j->id, "ahead", ahead));
}

static void
handle_attach(struct daemon *d, struct conn *c, json_t *msg)
{
	unsigned long long id, ack = 0;
	struct conn *old;
	struct job *j;
	int ahead;

	if (c->job || drover__proto_uint(msg, "job", &id) != 0) {
		conn_error(c, "attach: bad request");
		return;
	}
	(void)drover__proto_uint(msg, "ack", &ack);
	pthread_mutex_lock(&d->mu);
	for (j = d->jobs; j && j->id != id; j = j->next)
		;
	if (j == NULL) {
		pthread_mutex_unlock(&d->mu);
		conn_error(c, "attach: no such job (it was canceled or "
		    "forgotten)");
		return;
	}
	old = j->conn;
	if (old)
		old->job = NULL;
	j->conn = c;
	j->orphan_at = 0;
	c->job = j;
	job_ack(j, ack);
	c->sent = ack;
	ahead = jobs_ahead(d, j);
	pthread_mutex_unlock(&d->mu);
	if (old) {
		old->closing = 1;
		old->out.len = 0;
	}
	dlog("job %llu: client re-attached after line %llu", id, ack);
	(void)conn_send(c, json_pack("{s:s, s:I, s:i}", "t", "accepted", "job",
	    (json_int_t)id, "ahead", ahead));
}

static void
handle_message(struct daemon *d, struct conn *c, json_t *msg)
{
	const char *t = drover__proto_type(msg);
	unsigned long long v, ack;
	struct job *j;

	if (!c->hello) {
		if (drover__proto_uint(msg, "v", &v) != 0 ||
		    v != DROVER__PROTO_VERSION) {
			conn_error(c, "protocol version mismatch (this daemon "
			    "speaks version 1)");
			return;
		}
		c->hello = 1;
	}
	if (drover__proto_uint(msg, "ack", &ack) == 0 && c->job) {
		pthread_mutex_lock(&d->mu);
		job_ack(c->job, ack);
		pthread_mutex_unlock(&d->mu);
	}
	if (!strcmp(t, "submit"))
		handle_submit(d, c, msg);
	else if (!strcmp(t, "attach"))
		handle_attach(d, c, msg);
	else if (!strcmp(t, "ping") || !strcmp(t, "ack"))
		;
	else if (!strcmp(t, "cancel")) {
		if (c->job)
			cancel_job(d, c->job, "the client asked to cancel");
	} else if (!strcmp(t, "bye")) {
		j = c->job;
		if (j) {
			pthread_mutex_lock(&d->mu);
			if (j->state == JOB_DONE) {
				job_remove(d, j);
				c->job = NULL;
			}
			pthread_mutex_unlock(&d->mu);
		}
		c->closing = 1;
	} else
		conn_error(c, "unknown message type");
}

static void
conn_read(struct daemon *d, struct conn *c)
{
	char buf[65536], err[256];
	json_t *msg;
	ssize_t n;
	int r;

	n = recv(c->fd, buf, sizeof(buf), 0);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		conn_close(d, c, n == 0 ? "connection closed" :
		    strerror(errno));
		return;
	}
	c->last_rx = drover__now_ms();
	if (drover__reader_feed(&c->rd, buf, (size_t)n) != 0) {
		conn_close(d, c, "out of memory");
		return;
	}
	while (!c->closing &&
	    (r = drover__reader_next(&c->rd, &msg, err, sizeof(err))) != 0) {
		if (r < 0) {
			conn_error(c, err);
			break;
		}
		handle_message(d, c, msg);
		json_decref(msg);
	}
	conn_fill(d, c);
	if (conn_flush(c) != 0)
		conn_close(d, c, "write failed");
	else if (c->closing && c->out.len == 0)
		conn_close(d, c, NULL);
}

static void
accept_clients(struct daemon *d)
{
	char err[256];
	struct conn *c;
	int fd;

	for (;;) {
		fd = accept4(d->lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		if (drover__peer_check(fd, err, sizeof(err)) != 0) {
			struct dbuf b = DBUF_INIT;
			json_t *m = json_pack("{s:s, s:s}", "t", "error",
			    "msg", err);

			dlog("refused a client: %s", err);
			if (m && drover__proto_encode(&b, m) == 0)
				(void)send(fd, b.s, b.len, MSG_NOSIGNAL);
			json_decref(m);
			drover__dbuf_release(&b);
			close(fd);
			continue;
		}
		c = calloc(1, sizeof(*c));
		if (c == NULL) {
			close(fd);
			continue;
		}
		c->fd = fd;
		c->last_rx = c->last_tx = drover__now_ms();
		c->next = d->conns;
		d->conns = c;
	}
}

/* ---- the main loop ------------------------------------------------------ */

/* Removes the connection file (if it is still ours), socket, directory. */
static void
remove_files(struct daemon *d)
{
	struct stat st;

	if (d->files_removed)
		return;
	d->files_removed = 1;
	if (d->connfile && lstat(d->connfile, &st) == 0 &&
	    st.st_dev == d->conn_dev && st.st_ino == d->conn_ino)
		unlink(d->connfile);
	if (d->sock)
		unlink(d->sock);
	if (d->dir)
		rmdir(d->dir);
	if (d->lfd >= 0) {
		close(d->lfd);
		d->lfd = -1;
	}
}

/* SIGTERM/SIGINT: cancel what runs, drop the queue, stop and exit. */
static void
shutdown_request(struct daemon *d)
{
	struct job *j, *run = NULL, **jp;

	pthread_mutex_lock(&d->mu);
	for (j = d->jobs; j; j = j->next) {
		if (j->state == JOB_QUEUED)
			job_cancel_queued(d, j, "the adaptor daemon is "
			    "shutting down");
		else if (j->state == JOB_RUNNING && j->kind != JOB_STOP)
			run = j;
	}
	pthread_mutex_unlock(&d->mu);
	if (run)
		cancel_job(d, run, "the adaptor daemon received a signal");
	if (d->stopping || d->finished)
		return;
	j = calloc(1, sizeof(*j));
	if (j == NULL)
		return;
	j->kind = JOB_STOP;
	j->data = json_object();
	j->internal = 1;
	j->next_seq = 1;
	d->stopping = 1;
	pthread_mutex_lock(&d->mu);
	j->id = ++d->next_id;
	for (jp = &d->jobs; *jp; jp = &(*jp)->next)
		;
	*jp = j;
	pthread_cond_signal(&d->cv);
	pthread_mutex_unlock(&d->mu);
}

/* Heartbeats, dead clients, orphaned jobs. */
static void
tick(struct daemon *d)
{
	long long now = drover__now_ms();
	struct conn *c, *cn;
	struct job *j, *jn, *cancel = NULL;

	for (c = d->conns; c; c = cn) {
		cn = c->next;
		if (now - c->last_rx > DROVER__DEAD_MS) {
			conn_close(d, c, "client not responding");
			continue;
		}
		if (c->hello && c->out.len == 0 &&
		    now - c->last_tx >= DROVER__HEARTBEAT_MS) {
			(void)conn_send(c, json_pack("{s:s}", "t", "ping"));
			if (conn_flush(c) != 0)
				conn_close(d, c, "write failed");
		}
	}
	pthread_mutex_lock(&d->mu);
	for (j = d->jobs; j; j = jn) {
		jn = j->next;
		if (j->conn || j->internal || j->orphan_at == 0 ||
		    now < j->orphan_at)
			continue;
		if (j->state == JOB_DONE) {
			job_remove(d, j);
		} else if (j->state == JOB_QUEUED) {
			dlog("job %llu: dropped, its client is gone", j->id);
			job_remove(d, j);
		} else if (!j->abandoned) {
			j->abandoned = 1;
			cancel = j;
		}
	}
	pthread_mutex_unlock(&d->mu);
	if (cancel)
		cancel_job(d, cancel, "its client is gone");
	(void)drover__cancel_tick(d->a, 0);
}

static int
serve(struct daemon *d)
{
	struct pollfd *pfd = NULL;
	struct conn **cs = NULL, *c, *cn;
	size_t n, cap = 0, i, base;
	char buf[64];
	int r, timeout, nsig = 0, finished;
	long long last_tick = 0;

	for (;;) {
		pthread_mutex_lock(&d->mu);
		finished = d->finished;
		pthread_mutex_unlock(&d->mu);
		if (finished) {
			/* Later `daemon start`s on the same file may go. */
			remove_files(d);
			for (c = d->conns; c; c = c->next)
				conn_fill(d, c);
			for (c = d->conns; c; c = c->next)
				if (c->out.len > 0 || (c->job &&
				    !c->done_sent))
					break;
			if (c == NULL || drover__now_ms() - d->finished_at >
			    2000)
				break;
		}
		n = 3;
		for (c = d->conns; c; c = c->next)
			n++;
		if (n > cap) {
			struct pollfd *np = realloc(pfd, n * sizeof(*pfd));
			struct conn **nc = realloc(cs, n * sizeof(*cs));

			if (np)
				pfd = np;
			if (nc)
				cs = nc;
			if (np == NULL || nc == NULL)
				break;
			cap = n;
		}
		pfd[0].fd = sig_pipe[0];
		pfd[1].fd = d->wake[0];
		pfd[2].fd = d->lfd;
		for (i = 0; i < 3; i++)
			pfd[i].events = POLLIN;
		base = 3;
		for (i = base, c = d->conns; c; c = c->next, i++) {
			cs[i] = c;
			pfd[i].fd = c->fd;
			pfd[i].events = POLLIN | (c->out.len ? POLLOUT : 0);
		}
		timeout = 250;
		r = drover__cancel_tick(d->a, 0);
		if (r >= 0 && r < timeout)
			timeout = r;
		r = poll(pfd, (nfds_t)n, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			while (read(sig_pipe[0], buf, sizeof(buf)) > 0)
				nsig++;
			dlog("signal received");
			if (nsig == 1)
				shutdown_request(d);
			else
				(void)drover__cancel_tick(d->a, 1);
		}
		if (r > 0 && (pfd[1].revents & POLLIN)) {
			while (read(d->wake[0], buf, sizeof(buf)) > 0)
				;
			pthread_mutex_lock(&d->mu);
			d->wake_pending = 0;
			pthread_mutex_unlock(&d->mu);
		}
		/* New lines or finished jobs: feed every attached client. */
		for (i = base; i < n; i++) {
			c = cs[i];
			if (pfd[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				conn_read(d, c);	/* may free c */
				cs[i] = NULL;
			}
		}
		for (c = d->conns; c; c = cn) {
			cn = c->next;
			conn_fill(d, c);
			if (conn_flush(c) != 0)
				conn_close(d, c, "write failed");
			else if (c->closing && c->out.len == 0)
				conn_close(d, c, NULL);
		}
		if (d->lfd >= 0 && r > 0 && (pfd[2].revents & POLLIN))
			accept_clients(d);
		if (drover__now_ms() - last_tick >= 200) {
			last_tick = drover__now_ms();
			tick(d);
		}
	}
	free(pfd);
	free(cs);
	return 0;
}

static void
close_other_fds(int keep)
{
	DIR *dir;
	struct dirent *de;
	int fd, dfd, fds[256], n = 0, i;

	dir = opendir("/proc/self/fd");
	if (dir == NULL)
		return;
	dfd = dirfd(dir);
	while ((de = readdir(dir)) != NULL && n < 256) {
		fd = atoi(de->d_name);
		if (fd > 2 && fd != keep && fd != dfd)
			fds[n++] = fd;
	}
	closedir(dir);
	for (i = 0; i < n; i++)
		close(fds[i]);
}

static void
report(int fd, const char *fmt, ...) DROVER_PRINTF(2, 3);

static void
report(int fd, const char *fmt, ...)
{
	struct dbuf b = DBUF_INIT;
	va_list ap;

	va_start(ap, fmt);
	drover__dbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	drover__dbuf_adds(&b, "\n");
	if (b.s)
		(void)drover__write_all(fd, b.s, b.len);
	drover__dbuf_release(&b);
}

/* The daemon process, from the second fork on.  ready: pipe to the
 * starter.  Returns the exit status of the daemon process. */
static int
daemon_main(drover_adaptor *a, const struct drover__start_opts *o, int ready)
{
	struct daemon d;
	struct sigaction sa;
	sigset_t block, old;
	char err[DROVER__ERRMAX];
	struct conn *c;
	struct job *j;
	int fd, rc, status = 0, busy;

	memset(&d, 0, sizeof(d));
	d.a = a;
	d.lfd = -1;
	d.wake[0] = d.wake[1] = -1;
	pthread_mutex_init(&d.mu, NULL);
	pthread_cond_init(&d.cv, NULL);

	close_other_fds(ready);
	fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, 0);
		dup2(fd, 1);
		if (o->log_file == NULL)
			dup2(fd, 2);
		if (fd > 2)
			close(fd);
	}
	if (o->log_file) {
		fd = open(o->log_file, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0600);
		if (fd < 0) {
			report(ready, "error cannot open log file '%s': %s",
			    o->log_file, strerror(errno));
			status = 1;
			goto out;
		}
		dup2(fd, 2);
		close(fd);
	}
	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    pipe2(d.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		report(ready, "error pipe: %s", strerror(errno));
		status = 1;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGPIPE, &sa, NULL);

	rc = drover__listen_private(&d.dir, &d.sock, &d.lfd, err, sizeof(err));
	if (rc != 0) {
		report(ready, "error %s", err);
		status = 1;
		goto out;
	}
	if (o->connection_file) {
		d.connfile = drover__strdup(o->connection_file);
		rc = d.connfile ? drover__connfile_write(d.connfile, d.sock,
		    getpid(), &d.conn_dev, &d.conn_ino, err, sizeof(err)) :
		    DROVER_ENOMEM;
		if (rc != 0) {
			free(d.connfile);
			d.connfile = NULL;
			report(ready, "error %s", err);
			status = 1;
			goto out;
		}
	}
	a->sink = daemon_sink;
	a->sink_arg = &d;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	rc = pthread_create(&d.worker, NULL, worker_main, &d);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		report(ready, "error cannot create a thread: %s", strerror(rc));
		status = 1;
		goto out;
	}
	d.worker_started = 1;
	dlog("listening on '%s'", d.sock);
	report(ready, "ok %s", d.sock);
	close(ready);
	ready = -1;

	serve(&d);
	dlog("shutting down");
out:
	if (ready >= 0)
		close(ready);
	if (d.worker_started) {
		pthread_mutex_lock(&d.mu);
		d.quit = 1;
		pthread_cond_signal(&d.cv);
		busy = d.current != NULL;
		pthread_mutex_unlock(&d.mu);
		if (busy) {
			drover__cancel_begin(a, 0);
			(void)drover__cancel_tick(a, 1);
		}
		pthread_join(d.worker, NULL);
	}
	a->sink = NULL;
	remove_files(&d);
	while ((c = d.conns) != NULL)
		conn_close(&d, c, NULL);
	while ((j = d.jobs) != NULL) {
		d.jobs = j->next;
		job_free(j);
	}
	free(d.dir);
	free(d.sock);
	free(d.connfile);
	for (fd = 0; fd < 2; fd++) {
		if (d.wake[fd] >= 0)
			close(d.wake[fd]);
		if (sig_pipe[fd] >= 0)
			close(sig_pipe[fd]);
		sig_pipe[fd] = -1;
	}
	pthread_mutex_destroy(&d.mu);
	pthread_cond_destroy(&d.cv);
	return status;
}

/* Is a daemon answering at the socket named by an existing connection
 * file?  For a clearer message than "file exists". */
static int
connfile_alive(const char *path)
{
	char *sock = NULL;
	int fd;

	if (drover__connfile_read(path, &sock, NULL, 0) != 0)
		return 0;
	if (drover__connect(sock, &fd, NULL, 0) != 0) {
		free(sock);
		return 0;
	}
	close(fd);
	free(sock);
	return 1;
}

int
drover__daemon_start(drover_adaptor *a, const struct drover__start_opts *o)
{
	struct drover__start_opts opts = *o;
	struct dbuf msg = DBUF_INIT;
	char *abs = NULL, cwd[PATH_MAX], buf[512];
	struct stat st;
	int ready[2], status, rc;
	ssize_t n;
	pid_t pid, pid2;

	if (opts.connection_file && opts.connection_file[0] != '/') {
		if (getcwd(cwd, sizeof(cwd)) == NULL) {
			fprintf(stderr, "ERROR: cannot get the current "
			    "directory: "
			    "%s\n", strerror(errno));
			return 3;
		}
		abs = drover__asprintf("%s/%s", cwd, opts.connection_file);
		if (abs == NULL)
			return 3;
		opts.connection_file = abs;
	}
	if (opts.connection_file && lstat(opts.connection_file, &st) == 0) {
		if (connfile_alive(opts.connection_file))
			fprintf(stderr, "ERROR: an adaptor daemon is already "
			    "running for connection file '%s'\n",
			    opts.connection_file);
		else
			fprintf(stderr, "ERROR: connection file '%s' already "
			    "exists, but no adaptor daemon answers at its "
			    "socket (stale file: remove it)\n",
			    opts.connection_file);
		free(abs);
		return 1;
	}
	if (pipe2(ready, O_CLOEXEC) != 0) {
		fprintf(stderr, "ERROR: pipe: %s\n", strerror(errno));
		free(abs);
		return 3;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "ERROR: fork: %s\n", strerror(errno));
		close(ready[0]);
		close(ready[1]);
		free(abs);
		return 3;
	}
	if (pid == 0) {
		/* The intermediate child only detaches: it leaves with _exit()
		 * (no atexit handlers of the parent's), the grandchild is the
		 * daemon and returns through drover_adaptor_main(). */
		close(ready[0]);
		if (setsid() < 0)
			_exit(1);
		pid2 = fork();
		if (pid2 != 0)
			_exit(pid2 < 0 ? 1 : 0);
		status = daemon_main(a, &opts, ready[1]);
		free(abs);
		return status;
	}
	close(ready[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	for (;;) {
		n = read(ready[0], buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		drover__dbuf_add(&msg, buf, (size_t)n);
	}
	close(ready[0]);
	if (msg.s == NULL || strncmp(msg.s, "ok ", 3) != 0) {
		free(abs);
		if (msg.s && !strncmp(msg.s, "error ", 6))
			fprintf(stderr, "ERROR: cannot start the adaptor "
			    "daemon: %s", msg.s + 6);
		else
			fprintf(stderr, "ERROR: the adaptor daemon failed to "
			    "start\n");
		drover__dbuf_release(&msg);
		return 1;
	}
	msg.s[strcspn(msg.s, "\n")] = '\0';
	drover__emitf(NULL, "openjd_env: OPENJD_ADAPTOR_SOCKET=%s", msg.s + 3);
	rc = drover__client_job(msg.s + 3, opts.connection_file, "start",
	    NULL);
	drover__dbuf_release(&msg);
	free(abs);
	return rc;
}
