/*
 * The adaptor handle and its output.  Every line an adaptor produces —
 * log messages, openjd_* messages, its application's output — goes
 * through drover__emit(), which writes it whole under a lock: to stdout for
 * `run`, or into the daemon's per-job buffer (the sink) from which it
 * streams to the `daemon run` client.  Lines that are OpenJD messages
 * ("openjd_progress: 50") are never prefixed, so a session recognizes them.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "adaptor-int.h"

static pthread_mutex_t stdout_mu = PTHREAD_MUTEX_INITIALIZER;
static const char *level_names[] = { "DEBUG", "INFO", "WARNING", "ERROR" };

int
drover__log_level_parse(const char *s)
{
	size_t i;

	for (i = 0; i < 4; i++)
		if (!strcasecmp(s, level_names[i]))
			return (int)i;
	if (!strcasecmp(s, "WARN"))
		return DROVER_LOG_WARNING;
	if (!strcasecmp(s, "CRITICAL"))
		return DROVER_LOG_ERROR;
	return -1;
}

const char *
drover__log_level_name(int level)
{
	if (level < 0 || level > 3)
		return "INFO";
	return level_names[level];
}

int
drover__is_openjd_line(const char *line, size_t len)
{
	size_t i;

	if (len < 8 || strncmp(line, "openjd_", 7) != 0)
		return 0;
	for (i = 7; i + 1 < len; i++) {
		if (line[i] == ':' && line[i + 1] == ' ')
			return i > 7;
		if (isspace((unsigned char)line[i]))
			return 0;
	}
	return 0;
}

int
drover__adaptor_new(const struct drover_adaptor_def *def, drover_adaptor **out,
    char *err, size_t errsz)
{
	drover_adaptor *a;
	json_t *v;
	int rc;

	*out = NULL;
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		drover__seterr(err, errsz, "out of memory");
		return DROVER_ENOMEM;
	}
	a->def = def;
	a->out_fd = 1;
	a->log_level = DROVER_LOG_INFO;
	a->grace_ms = 5000;
	pthread_mutex_init(&a->out_mu, NULL);
	pthread_mutex_init(&a->proc_mu, NULL);
	a->exe_dir = drover__exe_dir();
	a->init_data = json_object();
	a->pathmap = drover_pathmap_new();
	if (a->init_data == NULL || a->pathmap == NULL) {
		drover__seterr(err, errsz, "out of memory");
		rc = DROVER_ENOMEM;
		goto fail;
	}
	rc = drover__config_build(def, a->exe_dir, &a->config, err, errsz);
	if (rc != 0)
		goto fail;
	v = json_object_get(a->config, "log_level");
	if (v != NULL) {
		if (!json_is_string(v) ||
		    (a->log_level = drover__log_level_parse(
		    json_string_value(v))) < 0) {
			drover__seterr(err, errsz, "invalid configuration: "
			    "log_level must be DEBUG, INFO, WARNING or ERROR");
			rc = DROVER_EINVAL;
			goto fail;
		}
	}
	v = json_object_get(a->config, "cancel_grace_seconds");
	if (v != NULL) {
		if (!json_is_number(v) || json_number_value(v) < 0 ||
		    json_number_value(v) > 86400) {
			drover__seterr(err, errsz, "invalid configuration: "
			    "cancel_grace_seconds must be a number of seconds");
			rc = DROVER_EINVAL;
			goto fail;
		}
		a->grace_ms = (int)(json_number_value(v) * 1000);
	}
	rc = drover__schema_load(a->exe_dir, def->init_schema_path,
	    &a->init_schema, err, errsz);
	if (rc == 0)
		rc = drover__schema_load(a->exe_dir, def->run_schema_path,
		    &a->run_schema, err, errsz);
	if (rc != 0)
		goto fail;
	*out = a;
	return 0;
fail:
	drover__adaptor_free(a);
	return rc;
}

void
drover__adaptor_free(drover_adaptor *a)
{
	if (a == NULL)
		return;
	json_decref(a->config);
	json_decref(a->init_data);
	json_decref(a->init_schema);
	json_decref(a->run_schema);
	drover_pathmap_free(a->pathmap);
	free(a->exe_dir);
	pthread_mutex_destroy(&a->out_mu);
	pthread_mutex_destroy(&a->proc_mu);
	free(a);
}

void *
drover_adaptor_user(drover_adaptor *a)
{
	return a && a->def ? a->def->user : NULL;
}

const json_t *
drover_adaptor_init_data(drover_adaptor *a)
{
	return a ? a->init_data : NULL;
}

const json_t *
drover_adaptor_config(drover_adaptor *a)
{
	return a ? a->config : NULL;
}

const drover_pathmap *
drover_adaptor_pathmap(drover_adaptor *a)
{
	return a ? a->pathmap : NULL;
}

const char *
drover_adaptor_dir(drover_adaptor *a)
{
	return a && a->exe_dir ? a->exe_dir : ".";
}

int
drover_adaptor_canceled(drover_adaptor *a)
{
	int c;

	if (a == NULL)
		return 0;
	pthread_mutex_lock(&a->proc_mu);
	c = a->canceled;
	pthread_mutex_unlock(&a->proc_mu);
	return c;
}

void
drover__set_errmsg(drover_adaptor *a, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&a->out_mu);
	va_start(ap, fmt);
	vsnprintf(a->errmsg, sizeof(a->errmsg), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&a->out_mu);
}

int
drover_adaptor_error(drover_adaptor *a, int code, const char *fmt, ...)
{
	va_list ap;

	if (a == NULL)
		return code;
	pthread_mutex_lock(&a->out_mu);
	va_start(ap, fmt);
	vsnprintf(a->errmsg, sizeof(a->errmsg), fmt, ap);
	va_end(ap);
	pthread_mutex_unlock(&a->out_mu);
	return code;
}

const char *
drover_adaptor_errmsg(drover_adaptor *a)
{
	if (a == NULL || a->errmsg[0] == '\0')
		return "no error detail";
	return a->errmsg;
}

/* Writes one finished line (no newline in it) to the sink or fd. */
static void
emit_one(drover_adaptor *a, char *s, size_t len)
{
	pthread_mutex_t *mu = a ? &a->out_mu : &stdout_mu;

	drover__sanitize_line(s, len);
	pthread_mutex_lock(mu);
	if (a && a->sink) {
		a->sink(a, s, len, a->sink_arg);
	} else {
		s[len] = '\n';
		(void)drover__write_all(a ? a->out_fd : 1, s, len + 1);
		s[len] = '\0';
	}
	pthread_mutex_unlock(mu);
}

void
drover__emit(drover_adaptor *a, const char *line, size_t len)
{
	char stackbuf[1024], *buf;
	size_t start = 0, end, n, chunk;

	while (start <= len) {
		const char *nl = memchr(line + start, '\n', len - start);

		end = nl ? (size_t)(nl - line) : len;
		n = end - start;
		if (n > 0 && line[start + n - 1] == '\r')
			n--;
		do {
			chunk = n > DROVER__LINE_MAX ? DROVER__LINE_MAX : n;
			buf = chunk + 2 <= sizeof(stackbuf) ? stackbuf :
			    malloc(chunk + 2);
			if (buf == NULL)
				return;
			memcpy(buf, line + start, chunk);
			buf[chunk] = '\0';
			emit_one(a, buf, chunk);
			if (buf != stackbuf)
				free(buf);
			start += chunk;
			n -= chunk;
		} while (n > 0);
		if (nl == NULL)
			break;
		start = end + 1;
		if (start == len)
			break;
	}
}

void
drover__emitf(drover_adaptor *a, const char *fmt, ...)
{
	struct dbuf b = DBUF_INIT;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = drover__dbuf_vaddf(&b, fmt, ap);
	va_end(ap);
	if (rc == 0)
		drover__emit(a, b.s, b.len);
	drover__dbuf_release(&b);
}

void
drover_adaptor_vlog(drover_adaptor *a, enum drover_log_level level,
    const char *fmt, va_list ap)
{
	struct dbuf b = DBUF_INIT;
	int lv = (int)level;

	if (lv < DROVER_LOG_DEBUG || lv > DROVER_LOG_ERROR)
		lv = DROVER_LOG_ERROR;
	if (a && lv < a->log_level)
		return;
	if (drover__dbuf_vaddf(&b, fmt, ap) != 0) {
		drover__dbuf_release(&b);
		return;
	}
	if (drover__is_openjd_line(b.s, b.len))
		drover__emit(a, b.s, b.len);
	else
		drover__emitf(a, "%s: %s", level_names[lv], b.s);
	drover__dbuf_release(&b);
}

void
drover_adaptor_log(drover_adaptor *a, enum drover_log_level level,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	drover_adaptor_vlog(a, level, fmt, ap);
	va_end(ap);
}

void
drover_adaptor_progress(drover_adaptor *a, double pct)
{
	if (!isfinite(pct)) {
		drover_adaptor_log(a, DROVER_LOG_WARNING, "ignoring non-finite "
		    "progress");
		return;
	}
	if (pct < 0)
		pct = 0;
	if (pct > 100)
		pct = 100;
	drover__emitf(a, "openjd_progress: %g", pct);
}

static void
openjd_msg(drover_adaptor *a, const char *prefix, const char *fmt, va_list ap)
{
	struct dbuf b = DBUF_INIT;
	size_t i;

	if (drover__dbuf_adds(&b, prefix) != 0 ||
	    drover__dbuf_vaddf(&b, fmt, ap) != 0) {
		drover__dbuf_release(&b);
		return;
	}
	/* One message, one line. */
	for (i = 0; i < b.len; i++)
		if (b.s[i] == '\n' || b.s[i] == '\r')
			b.s[i] = ' ';
	drover__emit(a, b.s, b.len);
	drover__dbuf_release(&b);
}

void
drover_adaptor_status(drover_adaptor *a, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	openjd_msg(a, "openjd_status: ", fmt, ap);
	va_end(ap);
}

void
drover_adaptor_fail(drover_adaptor *a, const char *fmt, ...)
{
	va_list ap;

	if (a) {
		pthread_mutex_lock(&a->out_mu);
		a->run_failed = 1;
		pthread_mutex_unlock(&a->out_mu);
	}
	va_start(ap, fmt);
	openjd_msg(a, "openjd_fail: ", fmt, ap);
	va_end(ap);
}

void
drover_adaptor_print(drover_adaptor *a, const char *line)
{
	if (line)
		drover__emit(a, line, strlen(line));
}

char *
drover_adaptor_map_path(drover_adaptor *a, const char *path)
{
	return drover_pathmap_apply(a ? a->pathmap : NULL, path, NULL);
}
