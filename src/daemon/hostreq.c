/*
 * Host capabilities and host requirement matching.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "daemon/config.h"
#include "daemon/hostreq.h"

static char *
lower(const char *s)
{
	char *r = xstrdup(s);

	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

static struct host_amount *
amount_find(const struct host_caps *h, const char *name)
{
	for (size_t i = 0; i < h->namounts; i++)
		if (strcasecmp(h->amounts[i].name, name) == 0)
			return &h->amounts[i];
	return NULL;
}

static struct host_attr *
attr_find(const struct host_caps *h, const char *name)
{
	for (size_t i = 0; i < h->nattrs; i++)
		if (strcasecmp(h->attrs[i].name, name) == 0)
			return &h->attrs[i];
	return NULL;
}

static void
amount_set(struct host_caps *h, const char *name, double v)
{
	struct host_amount *a = amount_find(h, name);

	if (a == NULL) {
		h->amounts = xreallocarray(h->amounts, h->namounts + 1,
		    sizeof(*h->amounts));
		a = &h->amounts[h->namounts++];
		a->name = lower(name);
		a->used = 0;
	}
	a->total = v;
}

/* values: comma-separated list */
static void
attr_set(struct host_caps *h, const char *name, const char *values)
{
	struct host_attr *a = attr_find(h, name);
	char *copy, *tok, *save = NULL;

	if (a == NULL) {
		h->attrs = xreallocarray(h->attrs, h->nattrs + 1,
		    sizeof(*h->attrs));
		a = &h->attrs[h->nattrs++];
		a->name = lower(name);
	} else {
		for (size_t i = 0; i < a->nvalues; i++)
			free(a->values[i]);
		free(a->values);
	}
	a->values = NULL;
	a->nvalues = 0;
	copy = xstrdup(values);
	for (tok = strtok_r(copy, ", \t", &save); tok;
	    tok = strtok_r(NULL, ", \t", &save)) {
		a->values = xreallocarray(a->values, a->nvalues + 1,
		    sizeof(char *));
		a->values[a->nvalues++] = lower(tok);
	}
	free(copy);
}

static double
mem_mib(void)
{
	FILE *fp = fopen("/proc/meminfo", "r");
	char line[256];
	double kb = 0;

	if (fp == NULL)
		return 0;
	while (fgets(line, sizeof(line), fp))
		if (sscanf(line, "MemTotal: %lf kB", &kb) == 1)
			break;
	fclose(fp);
	return kb / 1024.0;
}

void
host_caps_init(struct host_caps *h, const struct config *c,
    const char *sessions_dir)
{
	struct utsname u;
	struct statvfs sv;
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	const char *arch = "unknown";

	memset(h, 0, sizeof(*h));
	amount_set(h, "amount.worker.vcpu", n > 0 ? (double)n : 1);
	amount_set(h, "amount.worker.memory", mem_mib());
	amount_set(h, "amount.worker.gpu", 0);
	amount_set(h, "amount.worker.gpu.memory", 0);
	amount_set(h, "amount.worker.disk.scratch",
	    sessions_dir && statvfs(sessions_dir, &sv) == 0 ?
	    (double)sv.f_blocks * (double)sv.f_frsize / (1024.0 * 1024 * 1024) :
	    0);
	attr_set(h, "attr.worker.os.family", "linux");
	if (uname(&u) == 0) {
		if (!strcmp(u.machine, "x86_64") || !strcmp(u.machine, "amd64"))
			arch = "x86_64";
		else if (!strcmp(u.machine, "aarch64") ||
		    !strcmp(u.machine, "arm64"))
			arch = "arm64";
		else
			arch = u.machine;
	}
	attr_set(h, "attr.worker.cpu.arch", arch);
	for (size_t i = 0; c && i < c->n; i++) {
		const char *k = c->v[i].key;

		if (strncmp(k, "capabilities.", 13) != 0)
			continue;
		k += 13;
		if (strncmp(k, "amount.", 7) == 0)
			amount_set(h, k, strtod(c->v[i].value, NULL));
		else if (strncmp(k, "attr.", 5) == 0)
			attr_set(h, k, c->v[i].value);
	}
}

void
host_caps_release(struct host_caps *h)
{
	for (size_t i = 0; i < h->namounts; i++)
		free(h->amounts[i].name);
	for (size_t i = 0; i < h->nattrs; i++) {
		for (size_t j = 0; j < h->attrs[i].nvalues; j++)
			free(h->attrs[i].values[j]);
		free(h->attrs[i].values);
		free(h->attrs[i].name);
	}
	free(h->amounts);
	free(h->attrs);
	memset(h, 0, sizeof(*h));
}

static double
num(const json_t *v, double def)
{
	if (json_is_number(v))
		return json_number_value(v);
	if (json_is_string(v))
		return strtod(json_string_value(v), NULL);
	return def;
}

static int
has_value(const struct host_attr *a, const char *v)
{
	for (size_t i = 0; i < a->nvalues; i++)
		if (strcasecmp(a->values[i], v) == 0)
			return 1;
	return 0;
}

/* A vendor-prefixed name ("acme:amount.x") is a capability of its own,
 * matched whole like any other. */
int
host_check(const struct host_caps *h, const json_t *req, char **why)
{
	const json_t *list, *r;
	size_t i;

	if (!json_is_object(req))
		return 1;
	list = json_object_get(req, "amounts");
	json_array_foreach(list, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		const struct host_amount *a;
		double min = num(json_object_get(r, "min"), 0);

		if (name == NULL)
			continue;
		a = amount_find(h, name);
		if (a == NULL) {
			*why = xasprintf("%s: this host has no such amount "
			    "(add it under [capabilities] in the config)",
			    name);
			return 0;
		}
		if (a->total < min) {
			*why = xasprintf("%s: needs at least %g, this host has "
			    "%g", name, min, a->total);
			return 0;
		}
	}
	list = json_object_get(req, "attributes");
	json_array_foreach(list, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));
		const json_t *any = json_object_get(r, "anyOf");
		const json_t *all = json_object_get(r, "allOf");
		const struct host_attr *a;
		const json_t *v;
		size_t k;
		int found = 0;

		if (name == NULL)
			continue;
		a = attr_find(h, name);
		if (a == NULL) {
			*why = xasprintf("%s: this host has no such attribute "
			    "(add it under [capabilities] in the config)",
			    name);
			return 0;
		}
		json_array_foreach(all, k, v) {
			if (json_is_string(v) &&
			    !has_value(a, json_string_value(v))) {
				*why = xasprintf("%s: needs '%s', this host has "
				    "'%s'", name, json_string_value(v),
				    a->nvalues ? a->values[0] : "");
				return 0;
			}
		}
		if (json_array_size(any) == 0)
			continue;
		json_array_foreach(any, k, v)
			if (json_is_string(v) && has_value(a, json_string_value(v)))
				found = 1;
		if (!found) {
			struct buf b = BUF_INIT;

			json_array_foreach(any, k, v)
				buf_addf(&b, "%s'%s'", k ? ", " : "",
				    json_string_value(v) ? json_string_value(v) :
				    "?");
			*why = xasprintf("%s: needs one of %s, this host has "
			    "'%s'", name, b.s, a->nvalues ? a->values[0] : "");
			buf_release(&b);
			return 0;
		}
	}
	return 1;
}

void
host_amounts_needed(const struct host_caps *h, const json_t *req,
    double *take)
{
	const json_t *list = json_object_get(req, "amounts"), *r;
	size_t i;

	for (i = 0; i < h->namounts; i++)
		take[i] = 0;
	if (!json_is_object(req))
		return;
	json_array_foreach(list, i, r) {
		const char *name = json_string_value(json_object_get(r, "name"));

		for (size_t k = 0; name && k < h->namounts; k++)
			if (strcasecmp(h->amounts[k].name, name) == 0)
				take[k] = num(json_object_get(r, "min"), 0);
	}
}

int
host_fits(const struct host_caps *h, const double *take)
{
	for (size_t i = 0; i < h->namounts; i++)
		if (take[i] > 0 && h->amounts[i].used + take[i] >
		    h->amounts[i].total + 1e-9)
			return 0;
	return 1;
}

void
host_take(struct host_caps *h, const double *take)
{
	for (size_t i = 0; i < h->namounts; i++)
		h->amounts[i].used += take[i];
}

void
host_give(struct host_caps *h, const double *take)
{
	for (size_t i = 0; i < h->namounts; i++) {
		h->amounts[i].used -= take[i];
		if (h->amounts[i].used < 0)
			h->amounts[i].used = 0;
	}
}
