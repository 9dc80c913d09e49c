/*
 * Reading and writing the INI configuration file.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/fs.h"
#include "common/xmalloc.h"
#include "daemon/config.h"

const struct config_key config_keys[] = {
	{ "daemon.slots", CONFIG_INT, NULL, NULL,
	  "Sessions that may run at once (default: the number of CPUs)." },
	{ "daemon.max_tasks_per_session", CONFIG_INT, "0", NULL,
	  "Tasks one session runs before it ends and a new one starts "
	  "(0: no limit)." },
	{ "daemon.log_level", CONFIG_CHOICE, "info", "error|warn|info|debug",
	  "Level of the daemon's log ($DROVER_HOME/daemon.log)." },
	{ "daemon.min_free_space", CONFIG_SIZE, "100M", NULL,
	  "Free space needed in $DROVER_HOME/sessions before a session "
	  "starts." },
	{ "daemon.task_log_max", CONFIG_SIZE, "64M", NULL,
	  "Largest log file of one task attempt; the rest is dropped with a "
	  "note." },
	{ "daemon.auto_migrate", CONFIG_BOOL, "true", NULL,
	  "Apply pending store migrations when the daemon starts (else "
	  "'drover migrate' must be run)." },
	{ "daemon.notify_limit", CONFIG_INT, "0", NULL,
	  "Upper bound in seconds on any NOTIFY_THEN_TERMINATE grace period "
	  "(0: as the template says)." },
	{ "jobs.priority", CONFIG_INT, "50", NULL,
	  "Priority of a submitted job without --priority (higher runs "
	  "first)." },
	{ "jobs.on_error", CONFIG_CHOICE, "quit", "continue|quit|terminate",
	  "What a job does when a task fails for good." },
	{ "jobs.max_retries", CONFIG_INT, "0", NULL,
	  "Times a failed task is retried." },
	{ "jobs.on_complete", CONFIG_STRING, "", NULL,
	  "Shell command run when a job ends (DROVER_JOB_ID, DROVER_JOB_NAME, "
	  "DROVER_JOB_STATE, DROVER_JOB_REASON in its environment)." },
	{ "attach.store", CONFIG_STRING, "", NULL,
	  "Content-addressed store for job attachments (submit --attach); "
	  "empty: $DROVER_HOME/cas, a relative path is under $DROVER_HOME." },
	{ NULL, 0, NULL, NULL, NULL },
};

static const struct config_key *
key_find(const char *name)
{
	for (size_t i = 0; config_keys[i].name; i++)
		if (strcmp(config_keys[i].name, name) == 0)
			return &config_keys[i];
	return NULL;
}

char *
config_system_path(void)
{
	const char *p = getenv("DROVER_SYSTEM_CONFIG");

	return xstrdup(p && *p ? p : "/etc/drover/config");
}

char *
config_user_path(void)
{
	const char *x = getenv("XDG_CONFIG_HOME"), *h = getenv("HOME");

	if (x && *x == '/')
		return xasprintf("%s/drover/config", x);
	if (h && *h)
		return xasprintf("%s/.config/drover/config", h);
	return NULL;
}

int64_t
config_parse_size(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -1;
	switch (toupper((unsigned char)*end)) {
	case '\0':
		return v;
	case 'K':
		v *= 1024;
		break;
	case 'M':
		v *= 1024 * 1024;
		break;
	case 'G':
		v *= 1024LL * 1024 * 1024;
		break;
	default:
		return -1;
	}
	end++;
	if (*end == 'i')
		end++;
	if (toupper((unsigned char)*end) == 'B')
		end++;
	return *end ? -1 : v;
}

static int
parse_bool(const char *s)
{
	if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") ||
	    !strcasecmp(s, "on") || !strcmp(s, "1"))
		return 1;
	if (!strcasecmp(s, "false") || !strcasecmp(s, "no") ||
	    !strcasecmp(s, "off") || !strcmp(s, "0"))
		return 0;
	return -1;
}

int
config_check(const char *key, const char *value, char **err)
{
	const struct config_key *k = key_find(key);
	char *end;

	if (k == NULL) {
		if (strncmp(key, "capabilities.", 13) == 0) {
			const char *c = key + 13;

			if (strncmp(c, "amount.", 7) == 0) {
				strtod(value, &end);
				if (end == value || *end) {
					*err = xasprintf("'%s' must be a "
					    "number", key);
					return -1;
				}
				return 0;
			}
			if (strncmp(c, "attr.", 5) == 0)
				return 0;
			*err = xasprintf("capability '%s' must start with "
			    "'amount.' or 'attr.'", c);
			return -1;
		}
		*err = xasprintf("unknown key '%s'", key);
		return -1;
	}
	switch (k->type) {
	case CONFIG_INT:
		errno = 0;
		if (strtoll(value, &end, 10) < 0 || errno || end == value ||
		    *end) {
			*err = xasprintf("'%s' must be a non-negative integer",
			    key);
			return -1;
		}
		break;
	case CONFIG_SIZE:
		if (config_parse_size(value) < 0) {
			*err = xasprintf("'%s' must be a size like 64M", key);
			return -1;
		}
		break;
	case CONFIG_BOOL:
		if (parse_bool(value) < 0) {
			*err = xasprintf("'%s' must be true or false", key);
			return -1;
		}
		break;
	case CONFIG_CHOICE: {
		size_t n = strlen(value);
		const char *p = k->choices;

		while (p && *p) {
			const char *bar = strchr(p, '|');
			size_t len = bar ? (size_t)(bar - p) : strlen(p);

			if (len == n && strncmp(p, value, n) == 0)
				return 0;
			p = bar ? bar + 1 : NULL;
		}
		*err = xasprintf("'%s' must be one of %s", key, k->choices);
		return -1;
	}
	case CONFIG_STRING:
		break;
	}
	return 0;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static void
entry_set(struct config *c, const char *key, const char *value,
    const char *file, int line)
{
	struct config_entry *e = NULL;

	for (size_t i = 0; i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0)
			e = &c->v[i];
	if (e == NULL) {
		ALLOC_GROW(c->v, c->n + 1, c->alloc);
		e = &c->v[c->n++];
		e->key = xstrdup(key);
	} else {
		free(e->value);
		free(e->file);
	}
	e->value = xstrdup(value);
	e->file = xstrdup(file);
	e->line = line;
}

int
config_load_file(struct config *c, const char *path, char **err)
{
	struct buf b = BUF_INIT;
	char *section = xstrdup(""), *p, *nl;
	int lineno = 0, rc = 0;

	if (buf_read_file(&b, path) == -1) {
		free(section);
		buf_release(&b);
		if (errno == ENOENT)
			return 0;
		*err = xasprintf("cannot read '%s': %s", path, strerror(errno));
		return -1;
	}
	for (p = b.s; p && *p && rc == 0; p = nl ? nl + 1 : NULL) {
		char *line, *eq, *key, *full, *why = NULL;

		nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		lineno++;
		line = trim(p);
		if (*line == '\0' || *line == '#' || *line == ';')
			continue;
		if (*line == '[') {
			char *close = strchr(line, ']');

			if (close == NULL || close[1] != '\0') {
				*err = xasprintf("%s:%d: bad section line",
				    path, lineno);
				rc = -1;
				break;
			}
			*close = '\0';
			free(section);
			section = xstrdup(trim(line + 1));
			continue;
		}
		eq = strchr(line, '=');
		if (eq == NULL) {
			*err = xasprintf("%s:%d: expected 'key = value'", path,
			    lineno);
			rc = -1;
			break;
		}
		*eq = '\0';
		key = trim(line);
		full = *section ? xasprintf("%s.%s", section, key) :
		    xstrdup(key);
		if (config_check(full, trim(eq + 1), &why) == -1) {
			*err = xasprintf("%s:%d: %s", path, lineno, why);
			free(why);
			free(full);
			rc = -1;
			break;
		}
		entry_set(c, full, trim(eq + 1), path, lineno);
		free(full);
	}
	free(section);
	buf_release(&b);
	return rc;
}

int
config_load(struct config *c, char **err)
{
	char *sys = config_system_path(), *user = config_user_path();
	int rc = config_load_file(c, sys, err);

	if (rc == 0 && user)
		rc = config_load_file(c, user, err);
	free(sys);
	free(user);
	return rc;
}

void
config_release(struct config *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].key);
		free(c->v[i].value);
		free(c->v[i].file);
	}
	free(c->v);
	c->v = NULL;
	c->n = c->alloc = 0;
}

const char *
config_get(const struct config *c, const char *key)
{
	const struct config_key *k;

	for (size_t i = 0; c && i < c->n; i++)
		if (strcmp(c->v[i].key, key) == 0)
			return c->v[i].value;
	k = key_find(key);
	return k ? k->def : NULL;
}

int64_t
config_get_int(const struct config *c, const char *key, int64_t def)
{
	const char *v = config_get(c, key);
	const struct config_key *k = key_find(key);

	if (v == NULL)
		return def;
	if (k && k->type == CONFIG_SIZE)
		return config_parse_size(v);
	return strtoll(v, NULL, 10);
}

int
config_get_bool(const struct config *c, const char *key, int def)
{
	const char *v = config_get(c, key);
	int b;

	if (v == NULL || (b = parse_bool(v)) < 0)
		return def;
	return b;
}

int
config_set_file(const char *path, const char *key, const char *value,
    char **err)
{
	struct buf in = BUF_INIT, out = BUF_INIT;
	const char *dot = strchr(key, '.');
	char *want_section, *want_key, *section = xstrdup(""), *tmp, *p, *nl;
	int done = 0, in_section = 0, fd;
	ssize_t w;

	if (dot == NULL) {
		*err = xasprintf("key '%s' has no section", key);
		free(section);
		return -1;
	}
	if (value && config_check(key, value, err) == -1) {
		free(section);
		return -1;
	}
	want_section = xstrndup(key, (size_t)(dot - key));
	want_key = xstrdup(dot + 1);
	if (buf_read_file(&in, path) == -1 && errno != ENOENT) {
		*err = xasprintf("cannot read '%s': %s", path, strerror(errno));
		goto fail;
	}
	for (p = in.s; p && *p; p = nl ? nl + 1 : NULL) {
		char *line, *copy, *eq;

		nl = strchr(p, '\n');
		line = xstrndup(p, nl ? (size_t)(nl - p) : strlen(p));
		copy = xstrdup(line);
		eq = trim(copy);
		if (*eq == '[' && strchr(eq, ']')) {
			if (in_section && !done && value) {
				buf_addf(&out, "%s = %s\n", want_key, value);
				done = 1;
			}
			*strchr(eq, ']') = '\0';
			free(section);
			section = xstrdup(trim(eq + 1));
			in_section = strcmp(section, want_section) == 0;
		} else if (in_section && *eq != '#' && *eq != ';' &&
		    strchr(eq, '=')) {
			char *k;

			*strchr(eq, '=') = '\0';
			k = trim(eq);
			if (strcmp(k, want_key) == 0) {
				if (value && !done)
					buf_addf(&out, "%s = %s\n", want_key,
					    value);
				done = 1;
				free(copy);
				free(line);
				continue;
			}
		}
		buf_addf(&out, "%s\n", line);
		free(copy);
		free(line);
	}
	if (!done && value) {
		if (!in_section) {
			if (out.len && out.s[out.len - 1] != '\n')
				buf_addch(&out, '\n');
			buf_addf(&out, "%s[%s]\n", out.len ? "\n" : "",
			    want_section);
		}
		buf_addf(&out, "%s = %s\n", want_key, value);
	}
	if (fs_mkdirs_for(path, 0755) == -1) {
		*err = xasprintf("cannot create the directory of '%s': %s",
		    path, strerror(errno));
		goto fail;
	}
	tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd == -1) {
		*err = xasprintf("cannot write '%s': %s", tmp, strerror(errno));
		free(tmp);
		goto fail;
	}
	w = write(fd, out.s, out.len);
	if (w != (ssize_t)out.len || fsync(fd) == -1 || close(fd) == -1 ||
	    rename(tmp, path) == -1) {
		*err = xasprintf("cannot write '%s': %s", path,
		    strerror(errno ? errno : EIO));
		if (w != (ssize_t)out.len)
			close(fd);
		unlink(tmp);
		free(tmp);
		goto fail;
	}
	free(tmp);
	free(section);
	free(want_section);
	free(want_key);
	buf_release(&in);
	buf_release(&out);
	return 0;
fail:
	free(section);
	free(want_section);
	free(want_key);
	buf_release(&in);
	buf_release(&out);
	return -1;
}
