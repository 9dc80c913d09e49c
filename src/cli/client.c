/*
 * Talking to the daemon from the CLI, starting it when needed, and the
 * presentation helpers the queue commands share.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "common/buf.h"
#include "common/xmalloc.h"
#include "daemon/home.h"

static int
try_connect(const char *path, int *fd_out)
{
	struct sockaddr_un sa;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	*fd_out = fd;
	return 0;
}

/* Starts `drover daemon` and waits for its readiness line. */
static int
start_daemon(const char *home, char **err)
{
	int p[2], status;
	pid_t pid;
	char line[4096], fdbuf[16];
	size_t off = 0;
	struct pollfd pfd;

	if (pipe(p) == -1) {
		*err = xasprintf("pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		*err = xasprintf("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		close(p[0]);
		snprintf(fdbuf, sizeof(fdbuf), "%d", p[1]);
		setenv("DROVER_READY_FD", fdbuf, 1);
		setenv("DROVER_HOME", home, 1);
		execl("/proc/self/exe", "drover", "daemon", (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* the daemon detaches: this child exits at once */
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	pfd.fd = p[0];
	pfd.events = POLLIN;
	for (;;) {
		ssize_t n;
		int rc = poll(&pfd, 1, 60000);

		if (rc == 0) {
			*err = xasprintf("the daemon did not get ready in time "
			    "(see '%s/daemon.log')", home);
			close(p[0]);
			return -1;
		}
		if (rc < 0 && errno == EINTR)
			continue;
		n = read(p[0], line + off, sizeof(line) - 1 - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
		if (off >= sizeof(line) - 1 || memchr(line, '\n', off))
			break;
	}
	close(p[0]);
	line[off] = '\0';
	line[strcspn(line, "\n")] = '\0';
	if (strcmp(line, "ok") == 0)
		return 0;
	if (strcmp(line, "busy") == 0)
		return 1;
	*err = off ? xasprintf("the daemon did not start: %s", line) :
	    xasprintf("the daemon did not start (see '%s/daemon.log')", home);
	return -1;
}

int
client_open(struct client *c, int autostart, char **err)
{
	char *sock;
	json_t *hello = NULL, *mine;
	int rc, started = 0;

	if (c->home == NULL && (c->home = home_dir(err)) == NULL)
		return -1;
	sock = home_path(c->home, HOME_SOCKET);
	for (int attempt = 0;; attempt++) {
		if (try_connect(sock, &c->fd) == 0)
			break;
		if (errno != ENOENT && errno != ECONNREFUSED) {
			*err = xasprintf("cannot connect to '%s': %s", sock,
			    strerror(errno));
			free(sock);
			return -1;
		}
		if (!autostart) {
			free(sock);
			return 1;
		}
		if (!started) {
			if (home_ensure(c->home, err) == -1) {
				free(sock);
				return -1;
			}
			rc = start_daemon(c->home, err);
			if (rc == -1) {
				free(sock);
				return -1;
			}
			started = 1;
			continue;
		}
		/* another client's daemon is starting: give it a moment */
		if (attempt > 100) {
			*err = xasprintf("cannot connect to '%s': %s", sock,
			    strerror(errno));
			free(sock);
			return -1;
		}
		{
			struct timespec ts = { 0, 20 * 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	free(sock);
	rc = proto_recv(c->fd, &c->rd, &hello, 30000, err);
	if (rc <= 0) {
		if (rc == 0)
			*err = xstrdup("the daemon closed the connection");
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	if (proto_check_hello(hello, err) == -1) {
		json_decref(hello);
		close(c->fd);
		c->fd = -1;
		return -1;
	}
	c->hello = hello;
	mine = proto_hello("drover-cli");
	rc = proto_send(c->fd, mine);
	json_decref(mine);
	if (rc == -1) {
		*err = xasprintf("cannot talk to the daemon: %s",
		    strerror(errno));
		return -1;
	}
	return 0;
}

void
client_close(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	proto_reader_release(&c->rd);
	json_decref(c->hello);
	c->hello = NULL;
	free(c->home);
	c->home = NULL;
}

json_int_t
client_send(struct client *c, const char *op, json_t *args)
{
	json_t *req = args ? args : json_object();
	json_int_t id = c->next_id++;

	json_object_set_new(req, "id", json_integer(id));
	json_object_set_new(req, "op", json_string(op));
	if (proto_send(c->fd, req) == -1) {
		json_decref(req);
		return -1;
	}
	json_decref(req);
	return id;
}

int
client_read(struct client *c, json_t **msg, char **err)
{
	return proto_recv(c->fd, &c->rd, msg, -1, err);
}

json_t *
client_call(struct client *c, const char *op, json_t *args, char **err,
    const char **code)
{
	json_int_t id = client_send(c, op, args);
	json_t *msg;
	int rc;

	*code = "IO";
	if (id < 0) {
		*err = xasprintf("cannot send to the daemon: %s",
		    strerror(errno));
		return NULL;
	}
	for (;;) {
		rc = client_read(c, &msg, err);
		if (rc <= 0) {
			if (rc == 0)
				*err = xstrdup("the daemon closed the "
				    "connection");
			return NULL;
		}
		if (json_integer_value(json_object_get(msg, "id")) != id ||
		    json_object_get(msg, "event")) {
			json_decref(msg);
			continue;
		}
		if (json_is_true(json_object_get(msg, "ok")))
			return msg;
		*err = xstrdup(json_string_value(json_object_get(msg,
		    "error")) ? json_string_value(json_object_get(msg, "error")) :
		    "failed");
		*code = json_string_value(json_object_get(msg, "code")) &&
		    !strcmp(json_string_value(json_object_get(msg, "code")),
		    "NOT_FOUND") ? "NOT_FOUND" : json_string_value(
		    json_object_get(msg, "code")) && !strcmp(json_string_value(
		    json_object_get(msg, "code")), "BAD_REQUEST") ?
		    "BAD_REQUEST" : "FAIL";
		json_decref(msg);
		return NULL;
	}
}

int
client_exit_code(const char *code)
{
	if (code && !strcmp(code, "IO"))
		return EXIT_SYSTEM;
	if (code && !strcmp(code, "BAD_REQUEST"))
		return EXIT_USAGE;
	return EXIT_FAIL;
}

json_t *
client_do(const char *cmd, const char *op, json_t *args, int *rc)
{
	struct client c = CLIENT_INIT;
	char *err = NULL;
	const char *code;
	json_t *r;

	if (client_open(&c, 1, &err) != 0) {
		fprintf(stderr, "drover %s: %s\n", cmd, err);
		free(err);
		json_decref(args);
		client_close(&c);
		*rc = EXIT_SYSTEM;
		return NULL;
	}
	r = client_call(&c, op, args, &err, &code);
	if (r == NULL) {
		fprintf(stderr, "drover %s: %s\n", cmd, err);
		free(err);
		*rc = client_exit_code(code);
	} else
		*rc = EXIT_OK;
	client_close(&c);
	return r;
}

int
client_parse_ref(const char *ref, int64_t *job, char **step, int64_t *task)
{
	char *copy = xstrdup(ref), *s1, *s2, *end;
	long long v;

	*step = NULL;
	*task = -1;
	s1 = strchr(copy, '/');
	if (s1)
		*s1++ = '\0';
	errno = 0;
	v = strtoll(copy, &end, 10);
	if (errno || end == copy || *end || v <= 0)
		goto bad;
	*job = v;
	if (s1) {
		s2 = strchr(s1, '/');
		if (s2)
			*s2++ = '\0';
		if (*s1 == '\0')
			goto bad;
		*step = xstrdup(s1);
		if (s2) {
			v = strtoll(s2, &end, 10);
			if (end == s2 || *end || v < 0)
				goto bad;
			*task = v;
		}
	}
	free(copy);
	return 0;
bad:
	free(*step);
	*step = NULL;
	free(copy);
	return -1;
}

void
client_ref_args(json_t *args, int64_t job, const char *step, int64_t task)
{
	char *end;
	long v;

	json_object_set_new(args, "job", json_integer(job));
	if (step) {
		v = strtol(step, &end, 10);
		if (*step && *end == '\0' && v >= 0)
			json_object_set_new(args, "step", json_integer(v));
		else
			json_object_set_new(args, "step", json_string(step));
	}
	if (task >= 0)
		json_object_set_new(args, "task", json_integer(task));
}

void
client_fmt_time(const json_t *ms, char *buf, size_t size)
{
	time_t t;
	struct tm tm;

	if (!json_is_integer(ms)) {
		snprintf(buf, size, "-");
		return;
	}
	t = (time_t)(json_integer_value(ms) / 1000);
	localtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

void
client_fmt_duration(int64_t ms, char *buf, size_t size)
{
	int64_t s = ms / 1000;

	if (ms < 0)
		snprintf(buf, size, "-");
	else if (s >= 3600)
		snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", s / 3600,
		    (s / 60) % 60);
	else if (s >= 60)
		snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
	else
		snprintf(buf, size, "%.1fs", (double)ms / 1000.0);
}

void
client_print_json(FILE *fp, const json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);

	fprintf(fp, "%s\n", s ? s : "null");
	free(s);
}

/* ---- wait with progress bars ---- */

static int64_t
count_of(const json_t *counts, const char *state)
{
	return json_integer_value(json_object_get(counts, state));
}

/* Prints the progress block; returns the number of lines. */
static int
draw(const json_t *jobs, int tty)
{
	const json_t *j, *st;
	size_t i, k;
	int lines = 0;
	int64_t now = (int64_t)time(NULL) * 1000;

	json_array_foreach(jobs, i, j) {
		const json_t *started = json_object_get(j, "startedAt");
		int64_t total = json_integer_value(json_object_get(j, "tasks"));
		int64_t done = json_integer_value(json_object_get(j,
		    "succeeded")) + json_integer_value(json_object_get(j,
		    "failed"));
		char eta[32] = "";

		if (json_is_integer(started) && done > 0 && done < total) {
			int64_t el = now - json_integer_value(started);

			client_fmt_duration(el * (total - done) / done, eta,
			    sizeof(eta));
		}
		printf("%s%s job %" JSON_INTEGER_FORMAT " %s: %s%s%s%s\n",
		    tty ? "\033[2K" : "", "", json_integer_value(
		    json_object_get(j, "id")), json_string_value(
		    json_object_get(j, "name")) ? json_string_value(
		    json_object_get(j, "name")) : "", json_string_value(
		    json_object_get(j, "state")), *eta ? " (ETA " : "", eta,
		    *eta ? ")" : "");
		lines++;
		json_array_foreach(json_object_get(j, "steps"), k, st) {
			const json_t *c = json_object_get(st, "counts");
			int64_t n = json_integer_value(json_object_get(st,
			    "tasks"));
			int64_t ok = count_of(c, "SUCCEEDED");
			int64_t bad = count_of(c, "FAILED") + count_of(c,
			    "CANCELED") + count_of(c, "NOT_COMPATIBLE");
			int64_t run = count_of(c, "RUNNING") + count_of(c,
			    "ASSIGNED");
			char bar[31];
			int fill = n ? (int)((ok + bad) * 30 / n) : 30;

			for (int b = 0; b < 30; b++)
				bar[b] = b < fill ? '#' : '.';
			bar[30] = '\0';
			printf("%s  %-16.16s [%s] %" PRId64 "/%" PRId64
			    " done, %" PRId64 " running, %" PRId64 " failed\n",
			    tty ? "\033[2K" : "", json_string_value(
			    json_object_get(st, "name")), bar, ok + bad, n, run,
			    count_of(c, "FAILED"));
			lines++;
		}
	}
	fflush(stdout);
	return lines;
}

int
client_wait(struct client *c, const int64_t *ids, size_t n, int json,
    int quiet)
{
	json_t *args = json_object(), *a = json_array(), *msg, *jobs = NULL;
	json_int_t id;
	char *err = NULL;
	int tty = !json && !quiet && isatty(1), lines = 0, rc = EXIT_OK;
	size_t i;
	const json_t *j;

	for (i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	json_object_set_new(args, "jobs", a);
	id = client_send(c, "wait", args);
	if (id < 0) {
		fprintf(stderr, "drover wait: cannot talk to the daemon\n");
		return EXIT_SYSTEM;
	}
	for (;;) {
		int r = client_read(c, &msg, &err);

		if (r <= 0) {
			fprintf(stderr, "drover wait: %s\n", r == 0 ?
			    "the daemon went away" : err);
			free(err);
			return EXIT_SYSTEM;
		}
		if (json_integer_value(json_object_get(msg, "id")) != id) {
			json_decref(msg);
			continue;
		}
		if (json_is_false(json_object_get(msg, "ok"))) {
			fprintf(stderr, "drover wait: %s\n", json_string_value(
			    json_object_get(msg, "error")));
			json_decref(msg);
			return EXIT_FAIL;
		}
		jobs = json_object_get(msg, "jobs");
		if (json) {
			char *s = json_dumps(msg, JSON_COMPACT);

			printf("%s\n", s);
			free(s);
			fflush(stdout);
		} else if (tty) {
			if (lines)
				printf("\033[%dA", lines);
			lines = draw(jobs, 1);
		}
		if (json_object_get(msg, "ok"))
			break;
		json_decref(msg);
	}
	if (!json && !quiet && !tty)
		draw(jobs, 0);
	json_array_foreach(jobs, i, j) {
		const char *st = json_string_value(json_object_get(j, "state"));

		if (st == NULL || strcmp(st, "SUCCEEDED") != 0)
			rc = EXIT_FAIL;
	}
	json_decref(msg);
	return rc;
}
