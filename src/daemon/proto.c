/*
 * Message framing for the daemon protocol.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/xmalloc.h"
#include "daemon/proto.h"

char *
proto_encode(const json_t *msg, size_t *len)
{
	char *s = json_dumps(msg, JSON_COMPACT), *line;
	size_t n;

	if (s == NULL)
		s = xstrdup("{}");
	n = strlen(s);
	line = xmalloc(n + 2);
	memcpy(line, s, n);
	line[n] = '\n';
	line[n + 1] = '\0';
	free(s);
	if (len)
		*len = n + 1;
	return line;
}

void
proto_reader_feed(struct proto_reader *r, const char *p, size_t n)
{
	if (r->off > 0 && r->off == r->in.len) {
		buf_reset(&r->in);
		r->off = 0;
	} else if (r->off > 65536 && r->off > r->in.len / 2) {
		memmove(r->in.s, r->in.s + r->off, r->in.len - r->off);
		buf_truncate(&r->in, r->in.len - r->off);
		r->off = 0;
	}
	buf_add(&r->in, p, n);
}

int
proto_reader_next(struct proto_reader *r, json_t **msg, char **err)
{
	char *start = r->in.s + r->off, *nl;
	size_t avail = r->in.len - r->off;
	json_error_t je;
	json_t *j;

	*msg = NULL;
	nl = memchr(start, '\n', avail);
	if (nl == NULL) {
		if (avail > PROTO_MAX_MSG) {
			*err = xasprintf("message longer than %u bytes",
			    PROTO_MAX_MSG);
			return -1;
		}
		return 0;
	}
	r->off += (size_t)(nl - start) + 1;
	j = json_loadb(start, (size_t)(nl - start), 0, &je);
	if (j == NULL) {
		*err = xasprintf("bad message: %s", je.text);
		return -1;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*err = xstrdup("bad message: not a JSON object");
		return -1;
	}
	*msg = j;
	return 1;
}

void
proto_reader_release(struct proto_reader *r)
{
	buf_release(&r->in);
	r->off = 0;
}

json_t *
proto_hello(const char *role)
{
	return json_pack("{s:s, s:i, s:s, s:I}", "hello", role, "protocol",
	    PROTO_VERSION, "version", DROVER_VERSION, "pid",
	    (json_int_t)getpid());
}

int
proto_check_hello(const json_t *msg, char **err)
{
	json_t *p = json_object_get(msg, "protocol");
	json_t *e = json_object_get(msg, "error");

	if (json_is_string(e)) {
		*err = xstrdup(json_string_value(e));
		return -1;
	}
	if (!json_is_string(json_object_get(msg, "hello")) ||
	    !json_is_integer(p)) {
		*err = xstrdup("the other end does not speak the drover "
		    "protocol");
		return -1;
	}
	if (json_integer_value(p) != PROTO_VERSION) {
		*err = xasprintf("protocol version %lld, this drover speaks %d: "
		    "restart the daemon ('drover stop')",
		    (long long)json_integer_value(p), PROTO_VERSION);
		return -1;
	}
	return 0;
}

int
proto_send(int fd, const json_t *msg)
{
	size_t len, off = 0;
	char *line = proto_encode(msg, &len);

	while (off < len) {
		ssize_t w = write(fd, line + off, len - off);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			free(line);
			return -1;
		}
		off += (size_t)w;
	}
	free(line);
	return 0;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
proto_recv(int fd, struct proto_reader *r, json_t **msg, int timeout_ms,
    char **err)
{
	int64_t deadline = timeout_ms >= 0 ? mono_ms() + timeout_ms : -1;
	char chunk[65536];

	for (;;) {
		int rc = proto_reader_next(r, msg, err);
		struct pollfd pfd = { fd, POLLIN, 0 };
		int wait;
		ssize_t n;

		if (rc != 0)
			return rc;
		wait = deadline < 0 ? -1 : (int)(deadline - mono_ms());
		if (deadline >= 0 && wait <= 0) {
			*err = xstrdup("timed out waiting for the daemon");
			return -1;
		}
		rc = poll(&pfd, 1, wait);
		if (rc < 0) {
			if (errno == EINTR)
				continue;
			*err = xasprintf("poll: %s", strerror(errno));
			return -1;
		}
		if (rc == 0)
			continue;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			*err = xasprintf("cannot read from the daemon: %s",
			    strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		proto_reader_feed(r, chunk, (size_t)n);
	}
}
