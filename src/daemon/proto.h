/*
 * The client/daemon protocol (docs/protocol.md): JSON messages over the
 * Unix stream socket in $DROVER_HOME, one message per line (compact JSON
 * never contains a raw newline).  The daemon speaks first with a hello
 * carrying the protocol version; the client answers with its own hello,
 * then sends requests {"id": N, "op": "...", ...}; every request gets one
 * reply {"id": N, "ok": true, ...} or {"id": N, "ok": false, "error":
 * "...", "code": "..."}, and streaming requests (wait) get events
 * {"id": N, "event": "..."} before it.
 */
#ifndef DROVER_PROTO_H
#define DROVER_PROTO_H

#include <stddef.h>

#include <jansson.h>

#include "common/buf.h"

#define PROTO_VERSION	1
#define PROTO_MAX_MSG	(64u * 1024 * 1024)

/* One line: compact JSON + "\n" (malloc'd); *len its length. */
char	*proto_encode(const json_t *msg, size_t *len);

/* Splits a byte stream into messages. */
struct proto_reader {
	struct buf	in;
	size_t		off;	/* start of the unread part */
};

#define PROTO_READER_INIT { BUF_INIT, 0 }

void	proto_reader_feed(struct proto_reader *, const char *, size_t);
/*
 * Takes the next complete message: 1 with *msg (new reference), 0 if more
 * bytes are needed, -1 with *err (malloc'd) if a line is not a JSON object
 * or longer than PROTO_MAX_MSG.
 */
int	proto_reader_next(struct proto_reader *, json_t **msg, char **err);
void	proto_reader_release(struct proto_reader *);

/* The daemon's hello. */
json_t	*proto_hello(const char *role);
/* 0 if msg is a hello of our protocol version; -1 with *err. */
int	proto_check_hello(const json_t *msg, char **err);

/* Blocking helpers for clients. */
/* Writes the whole message; 0 or -1 (errno). */
int	proto_send(int fd, const json_t *msg);
/*
 * Reads until a message is complete: 1 with *msg, 0 at end of stream,
 * -1 with *err on error or after timeout_ms (< 0: no timeout).
 */
int	proto_recv(int fd, struct proto_reader *, json_t **msg,
	    int timeout_ms, char **err);

#endif
