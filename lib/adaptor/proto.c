/*
 * Framing of the daemon protocol: one JSON object per line ("NDJSON").
 * JSON strings escape newlines, so a message never contains a raw '\n' and
 * the newline is an unambiguous frame end.  The message types and their
 * meaning are documented in docs/adaptor-protocol.md.
 */
#include <string.h>

#include "adaptor-int.h"

int
drover__reader_feed(struct drover__reader *r, const void *data, size_t len)
{
	return drover__dbuf_add(&r->in, data, len);
}

int
drover__reader_next(struct drover__reader *r, json_t **msg, char *err,
    size_t errsz)
{
	json_error_t je;
	char *nl;
	size_t len;

	*msg = NULL;
	if (r->in.len == 0)
		return 0;
	nl = memchr(r->in.s + r->scan, '\n', r->in.len - r->scan);
	if (nl == NULL) {
		r->scan = r->in.len;
		if (r->in.len > DROVER__MSG_MAX) {
			drover__seterr(err, errsz, "message longer than %d "
			    "bytes", DROVER__MSG_MAX);
			return DROVER_EPROTO;
		}
		return 0;
	}
	len = (size_t)(nl - r->in.s);
	r->scan = 0;
	*msg = json_loadb(r->in.s, len, 0, &je);
	drover__dbuf_consume(&r->in, len + 1);
	if (*msg == NULL) {
		drover__seterr(err, errsz, "bad message: %s", je.text);
		return DROVER_EPROTO;
	}
	if (!json_is_object(*msg)) {
		json_decref(*msg);
		*msg = NULL;
		drover__seterr(err, errsz, "bad message: not an object");
		return DROVER_EPROTO;
	}
	return 1;
}

void
drover__reader_release(struct drover__reader *r)
{
	drover__dbuf_release(&r->in);
	r->scan = 0;
}

static int
dump_cb(const char *buf, size_t size, void *data)
{
	return drover__dbuf_add(data, buf, size) == 0 ? 0 : -1;
}

int
drover__proto_encode(struct dbuf *out, const json_t *msg)
{
	size_t mark = out->len;

	if (json_dump_callback(msg, dump_cb, out, JSON_COMPACT) != 0 ||
	    drover__dbuf_add(out, "\n", 1) != 0) {
		out->len = mark;
		if (out->s)
			out->s[mark] = '\0';
		return DROVER_ENOMEM;
	}
	return 0;
}

const char *
drover__proto_type(const json_t *msg)
{
	json_t *t = json_object_get(msg, "t");

	return json_is_string(t) ? json_string_value(t) : "";
}

int
drover__proto_uint(const json_t *msg, const char *key, unsigned long long *out)
{
	json_t *v = json_object_get(msg, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return DROVER_EPROTO;
	*out = (unsigned long long)json_integer_value(v);
	return 0;
}
