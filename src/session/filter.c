/*
 * openjd_* directive parsing and secret redaction (see filter.h for the
 * rules).  Parsing is plain string matching: a fixed prefix, the first
 * ": " and a short table of kinds.  Redaction collects every match of
 * every secret, merges overlapping spans and rewrites the line once, so a
 * secret that contains another one is still hidden completely.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "session/filter.h"

struct redact_set {
	char	**values;	/* matched anywhere in a line */
	size_t	  nvalues;
	size_t	  avalues;
	char	**lines;	/* matched as a whole line */
	size_t	  nlines;
	size_t	  alines;
};

struct redact_set *
redact_new(void)
{
	return xcalloc(1, sizeof(struct redact_set));
}

void
redact_free(struct redact_set *rs)
{
	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->nvalues; i++)
		free(rs->values[i]);
	for (size_t i = 0; i < rs->nlines; i++)
		free(rs->lines[i]);
	free(rs->values);
	free(rs->lines);
	free(rs);
}

static void
redact_push(char ***arr, size_t *n, size_t *alloc, const char *s, size_t len)
{
	if (len == 0)
		return;
	for (size_t i = 0; i < *n; i++)
		if (strlen((*arr)[i]) == len && memcmp((*arr)[i], s, len) == 0)
			return;
	ALLOC_GROW(*arr, *n + 1, *alloc);
	(*arr)[(*n)++] = xstrndup(s, len);
}

void
redact_add(struct redact_set *rs, const char *value)
{
	const char *p, *nl;
	size_t len = strlen(value);
	int first = 1;

	if (len == 0)
		return;
	if (memchr(value, '\n', len) == NULL) {
		redact_push(&rs->values, &rs->nvalues, &rs->avalues, value,
		    len);
		return;
	}
	/* A multi-line secret reaches us one output line at a time. */
	for (p = value; ; p = nl + 1) {
		nl = strchr(p, '\n');
		size_t plen = nl ? (size_t)(nl - p) : strlen(p);
		if (first || nl == NULL)
			redact_push(&rs->values, &rs->nvalues, &rs->avalues,
			    p, plen);
		else
			redact_push(&rs->lines, &rs->nlines, &rs->alines, p,
			    plen);
		first = 0;
		if (nl == NULL)
			break;
	}
}

size_t
redact_count(const struct redact_set *rs)
{
	return rs->nvalues + rs->nlines;
}

struct span {
	size_t	start;
	size_t	end;
};

static int
span_cmp(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

const char *
redact_apply(const struct redact_set *rs, const char *text, struct buf *out)
{
	struct span *spans = NULL;
	size_t nspans = 0, aspans = 0, at = 0;

	if (rs == NULL || (rs->nvalues == 0 && rs->nlines == 0))
		return text;
	for (size_t i = 0; i < rs->nlines; i++) {
		if (strcmp(text, rs->lines[i]) == 0) {
			buf_reset(out);
			buf_adds(out, REDACTED_TEXT);
			return out->s;
		}
	}
	for (size_t i = 0; i < rs->nvalues; i++) {
		const char *v = rs->values[i], *p = text;
		size_t vlen = strlen(v);

		while ((p = strstr(p, v)) != NULL) {
			ALLOC_GROW(spans, nspans + 1, aspans);
			spans[nspans].start = (size_t)(p - text);
			spans[nspans].end = (size_t)(p - text) + vlen;
			nspans++;
			p++;
		}
	}
	if (nspans == 0)
		return text;
	qsort(spans, nspans, sizeof(*spans), span_cmp);
	buf_reset(out);
	for (size_t i = 0; i < nspans; ) {
		size_t start = spans[i].start, end = spans[i].end;

		for (i++; i < nspans && spans[i].start <= end; i++)
			if (spans[i].end > end)
				end = spans[i].end;
		buf_add(out, text + at, start - at);
		buf_adds(out, REDACTED_TEXT);
		at = end;
	}
	buf_adds(out, text + at);
	free(spans);
	return out->s;
}

char *
redact_dup(const struct redact_set *rs, const char *text)
{
	struct buf b = BUF_INIT;
	const char *r = redact_apply(rs, text, &b);

	if (r == text) {
		buf_release(&b);
		return xstrdup(text);
	}
	return buf_detach(&b, NULL);
}

int
filter_env_name_ok(const char *s, size_t len)
{
	if (len == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < len; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

static const char *
skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\f' ||
	    *s == '\v' || *s == '\n')
		s++;
	return s;
}

/*
 * "NAME=VALUE" or "\"NAME=VALUE\"" (a JSON string, so the value may hold
 * newlines).  Returns 0 and fills name/value, or -1.
 */
static int
parse_assignment(const char *t, char **name, char **value)
{
	const char *p = t, *eq;
	char *decoded = NULL;

	if (*p == '"')
		p++;
	eq = strchr(p, '=');
	if (eq == NULL || !filter_env_name_ok(p, (size_t)(eq - p)))
		return -1;
	if (*t == '"') {
		json_t *j = json_loads(t, JSON_DECODE_ANY, NULL);

		if (j == NULL || !json_is_string(j)) {
			json_decref(j);
			return -1;
		}
		decoded = xstrdup(json_string_value(j));
		json_decref(j);
		eq = strchr(decoded, '=');
		if (eq == NULL || !filter_env_name_ok(decoded,
		    (size_t)(eq - decoded))) {
			free(decoded);
			return -1;
		}
		*name = xstrndup(decoded, (size_t)(eq - decoded));
		*value = xstrdup(eq + 1);
		free(decoded);
		return 0;
	}
	*name = xstrndup(t, (size_t)(eq - t));
	*value = xstrdup(eq + 1);
	return 0;
}

static int
parse_progress(const char *payload, double *out)
{
	char *s = xstrdup(skip_space(payload)), *end;
	size_t n = strlen(s);
	double v;
	int ok;

	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	/* Decimal notation only: strtod would also take hex and "nan". */
	ok = n > 0 && strspn(s, "0123456789+-.eE") == n;
	v = ok ? strtod(s, &end) : 0;
	ok = ok && *end == '\0' && isfinite(v) && v >= 0.0 && v <= 100.0;
	free(s);
	if (ok)
		*out = v;
	return ok ? 0 : -1;
}

/* Lower-cased, leading-space-trimmed line starts with "name" + ":"/" "/end. */
static int
near_miss(const char *line, const char *name)
{
	const char *p = skip_space(line);
	size_t n = strlen(name);

	if (strncasecmp(p, name, n) != 0)
		return 0;
	return p[n] == ':' || p[n] == ' ' || p[n] == '\0';
}

/* "openjd_redacted_env: NAME=" + REDACTED_TEXT, keeping what came before. */
static char *
hide_redacted_value(const char *line, const char *payload)
{
	const char *eq = strchr(payload, '=');
	struct buf b = BUF_INIT;

	if (eq != NULL)
		buf_add(&b, line, (size_t)(eq + 1 - line));
	else
		buf_add(&b, line, (size_t)(payload - line));
	buf_adds(&b, REDACTED_TEXT);
	return buf_detach(&b, NULL);
}

static void
set_line(struct filter_msg *m, struct redact_set *rs, const char *line,
    const char *error)
{
	char *r = redact_dup(rs, line);

	if (error == NULL) {
		m->line = r;
		return;
	}
	m->line = xasprintf("%s -- ERROR: %s", r, error);
	free(r);
}

void
filter_line(struct redact_set *rs, int redacted_env_enabled,
    const char *line, struct filter_msg *m)
{
	static const char *const kinds[] = {
		"progress", "status", "fail", "env", "unset_env",
		"redacted_env", "session_runtime_loglevel",
	};
	static const enum filter_kind kind_of[] = {
		FILTER_PROGRESS, FILTER_STATUS, FILTER_FAIL, FILTER_ENV,
		FILTER_UNSET_ENV, FILTER_REDACTED_ENV, FILTER_LOGLEVEL,
	};
	const char *rest, *sep, *payload, *t;
	enum filter_kind kind = FILTER_NONE;

	*m = (struct filter_msg)FILTER_MSG_INIT;
	if (line[0] != 'o' || strncmp(line, "openjd_", 7) != 0)
		goto plain;
	rest = line + 7;
	sep = strstr(rest, ": ");
	if (sep != NULL && sep[2] != '\0') {
		size_t klen = (size_t)(sep - rest);

		for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
			if (strlen(kinds[i]) == klen &&
			    memcmp(kinds[i], rest, klen) == 0)
				kind = kind_of[i];
	}
	if (kind == FILTER_NONE)
		goto plain;
	payload = sep + 2;
	t = skip_space(payload);
	m->kind = kind;
	switch (kind) {
	case FILTER_PROGRESS:
		if (parse_progress(payload, &m->progress) == -1) {
			m->kind = FILTER_MALFORMED;
			m->error = xstrdup("progress must be a number between "
			    "0.0 and 100.0, inclusive");
		}
		break;
	case FILTER_STATUS:
	case FILTER_FAIL:
		m->value = redact_dup(rs, payload);
		break;
	case FILTER_LOGLEVEL:
		m->value = xstrdup(t);
		break;
	case FILTER_ENV:
		if (parse_assignment(t, &m->name, &m->value) == -1) {
			m->kind = FILTER_MALFORMED;
			m->cancel = 1;
			m->error = xstrdup("failed to parse environment "
			    "variable assignment");
		}
		break;
	case FILTER_UNSET_ENV:
		if (!filter_env_name_ok(t, strlen(t))) {
			m->kind = FILTER_MALFORMED;
			m->cancel = 1;
			m->error = xstrdup("failed to parse environment "
			    "variable name");
		} else
			m->name = xstrdup(t);
		break;
	case FILTER_REDACTED_ENV:
		if (parse_assignment(t, &m->name, &m->value) == 0) {
			redact_add(rs, m->value);
			m->set_env = redacted_env_enabled;
		} else {
			const char *eq = strchr(t, '=');

			redact_add(rs, eq ? eq + 1 : t);
			m->kind = FILTER_MALFORMED;
			m->error = xstrdup("failed to parse environment "
			    "variable assignment");
			/* Without the extension it is an env directive gone
			 * wrong; with it, a warning (openjd-rs, Python). */
			m->cancel = !redacted_env_enabled;
		}
		{
			char *h = hide_redacted_value(line, t);

			set_line(m, rs, h, NULL);
			free(h);
		}
		return;
	default:
		break;
	}
	set_line(m, rs, line, m->kind == FILTER_MALFORMED ? m->error : NULL);
	return;

plain:
	if (near_miss(line, "openjd_redacted_env")) {
		/* Hide whatever follows the directive name: it may be the
		 * secret the action meant to register. */
		const char *p = skip_space(line) + strlen("openjd_redacted_env");
		struct buf b = BUF_INIT;
		char *h;

		if (*p != '\0')
			p++;
		buf_add(&b, line, (size_t)(p - line));
		buf_adds(&b, REDACTED_TEXT);
		h = buf_detach(&b, NULL);
		m->kind = FILTER_MALFORMED;
		m->cancel = 1;
		m->error = xstrdup("incorrectly formatted openjd env command");
		set_line(m, rs, h, m->error);
		free(h);
		return;
	}
	if (near_miss(line, "openjd_env") ||
	    near_miss(line, "openjd_unset_env")) {
		m->kind = FILTER_MALFORMED;
		m->cancel = 1;
		m->error = xstrdup("incorrectly formatted openjd env command");
		set_line(m, rs, line, m->error);
		return;
	}
	set_line(m, rs, line, NULL);
}

void
filter_msg_release(struct filter_msg *m)
{
	free(m->name);
	free(m->value);
	free(m->error);
	free(m->line);
	*m = (struct filter_msg)FILTER_MSG_INIT;
}

char *
filter_hide_redacted_request(const char *cmd)
{
	static const char token[] = "openjd_redacted_env:";
	const char *p = strstr(cmd, token);

	if (p == NULL)
		return xstrdup(cmd);
	return xasprintf("%.*s %s", (int)(p - cmd + sizeof(token) - 1), cmd,
	    REDACTED_TEXT);
}
