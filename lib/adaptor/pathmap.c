/*
 * OpenJD path mapping (pathmapping-1.0): rules that turn paths from the
 * submitting host ("Z:\movie1", "/home/ann") into paths on this host
 * ("/mnt/shared/movie1").  A rule matches when its source is a prefix of
 * the path component by component, so /mnt/a does not match /mnt/ab.
 * Rules are kept sorted by decreasing length of their source and the first
 * match wins, as the OpenJD specification orders them.  Redundant slashes
 * and "." components are ignored; ".." is kept (symbolic links make it
 * meaningful).
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "adaptor-int.h"

struct rule {
	int	 windows;
	char	*source;
	char	*dest;
	size_t	 srclen;
};

struct drover_pathmap {
	struct rule	*rules;
	size_t		 n;
	size_t		 alloc;
};

/* A path cut into components: lead separators, then the parts. */
struct parts {
	int	 lead;
	size_t	 n;
	char	**p;
	char	*buf;
};

static int
is_sep(int windows, char c)
{
	return c == '/' || (windows && c == '\\');
}

static void
parts_release(struct parts *pt)
{
	free(pt->p);
	free(pt->buf);
	memset(pt, 0, sizeof(*pt));
}

static int
parts_split(int windows, const char *path, struct parts *pt)
{
	size_t i = 0, len = strlen(path);
	char *s;

	memset(pt, 0, sizeof(*pt));
	pt->buf = drover__strdup(path);
	pt->p = calloc(len / 2 + 2, sizeof(char *));
	if (pt->buf == NULL || pt->p == NULL) {
		parts_release(pt);
		return DROVER_ENOMEM;
	}
	s = pt->buf;
	while (i < len && is_sep(windows, s[i]))
		i++;
	pt->lead = i == 0 ? 0 : (windows && i >= 2) ? 2 : 1;
	while (i < len) {
		size_t start = i;

		while (i < len && !is_sep(windows, s[i]))
			i++;
		if (i < len)
			s[i++] = '\0';
		if (s[start] != '\0' && strcmp(s + start, ".") != 0)
			pt->p[pt->n++] = s + start;
		while (i < len && is_sep(windows, s[i]))
			i++;
	}
	return 0;
}

drover_pathmap *
drover_pathmap_new(void)
{
	return calloc(1, sizeof(struct drover_pathmap));
}

void
drover_pathmap_free(drover_pathmap *pm)
{
	size_t i;

	if (pm == NULL)
		return;
	for (i = 0; i < pm->n; i++) {
		free(pm->rules[i].source);
		free(pm->rules[i].dest);
	}
	free(pm->rules);
	free(pm);
}

size_t
drover_pathmap_count(const drover_pathmap *pm)
{
	return pm ? pm->n : 0;
}

int
drover_pathmap_add(drover_pathmap *pm, const char *format, const char *source,
    const char *destination, char *err, size_t errsz)
{
	struct rule r, *nr;
	size_t i, at;

	if (pm == NULL || format == NULL || source == NULL ||
	    destination == NULL) {
		drover__seterr(err, errsz, "missing path mapping field");
		return DROVER_EINVAL;
	}
	if (!strcasecmp(format, "POSIX"))
		r.windows = 0;
	else if (!strcasecmp(format, "WINDOWS"))
		r.windows = 1;
	else {
		drover__seterr(err, errsz, "source_path_format must be POSIX "
		    "or WINDOWS, not '%s'", format);
		return DROVER_EINVAL;
	}
	if (*source == '\0' || *destination == '\0') {
		drover__seterr(err, errsz, "source_path and destination_path "
		    "must not be empty");
		return DROVER_EINVAL;
	}
	if (pm->n == pm->alloc) {
		size_t na = pm->alloc ? pm->alloc * 2 : 4;

		nr = realloc(pm->rules, na * sizeof(*nr));
		if (nr == NULL)
			goto nomem;
		pm->rules = nr;
		pm->alloc = na;
	}
	r.source = drover__strdup(source);
	r.dest = drover__strdup(destination);
	if (r.source == NULL || r.dest == NULL) {
		free(r.source);
		free(r.dest);
		goto nomem;
	}
	r.srclen = strlen(source);
	/* Stable: after every rule at least as long. */
	for (at = 0; at < pm->n && pm->rules[at].srclen >= r.srclen; at++)
		;
	for (i = pm->n; i > at; i--)
		pm->rules[i] = pm->rules[i - 1];
	pm->rules[at] = r;
	pm->n++;
	return 0;
nomem:
	drover__seterr(err, errsz, "out of memory");
	return DROVER_ENOMEM;
}

static const char *
get_str(const json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int
drover_pathmap_load_json(drover_pathmap *pm, const json_t *doc, char *err,
    size_t errsz)
{
	const char *version, *fields[3] = { "source_path_format",
	    "source_path", "destination_path" };
	char detail[DROVER__ERRMAX];
	json_t *rules, *r;
	size_t i, k;
	int rc;

	if (!json_is_object(doc)) {
		drover__seterr(err, errsz, "path mapping rules must be a JSON "
		    "object");
		return DROVER_EINVAL;
	}
	version = get_str(doc, "version");
	if (json_object_get(doc, "version") != NULL &&
	    (version == NULL || strcmp(version, "pathmapping-1.0") != 0)) {
		drover__seterr(err, errsz, "unsupported path mapping version "
		    "(want 'pathmapping-1.0')");
		return DROVER_EINVAL;
	}
	rules = json_object_get(doc, "path_mapping_rules");
	if (rules == NULL)
		return 0;
	if (!json_is_array(rules)) {
		drover__seterr(err, errsz, "path_mapping_rules must be a list");
		return DROVER_EINVAL;
	}
	json_array_foreach(rules, i, r) {
		if (!json_is_object(r)) {
			drover__seterr(err, errsz, "path_mapping_rules[%zu]: "
			    "must be an object", i);
			return DROVER_EINVAL;
		}
		for (k = 0; k < 3; k++)
			if (get_str(r, fields[k]) == NULL) {
				drover__seterr(err, errsz, "path_mapping_rules"
				    "[%zu]: missing string '%s'", i, fields[k]);
				return DROVER_EINVAL;
			}
		rc = drover_pathmap_add(pm, get_str(r, fields[0]),
		    get_str(r, fields[1]), get_str(r, fields[2]), detail,
		    sizeof(detail));
		if (rc != 0) {
			drover__seterr(err, errsz, "path_mapping_rules[%zu]: %s",
			    i, detail);
			return rc;
		}
	}
	return 0;
}

int
drover_pathmap_load_file(drover_pathmap *pm, const char *path, char *err,
    size_t errsz)
{
	json_error_t je;
	json_t *doc;
	int rc;

	doc = json_load_file(path, 0, &je);
	if (doc == NULL) {
		drover__seterr(err, errsz, "path mapping rules '%s': %s", path,
		    je.text);
		return DROVER_EINVAL;
	}
	rc = drover_pathmap_load_json(pm, doc, err, errsz);
	json_decref(doc);
	return rc;
}

static int
comp_eq(int windows, const char *a, const char *b)
{
	return windows ? strcasecmp(a, b) == 0 : strcmp(a, b) == 0;
}

/* Applies one rule; 1 and *out when it matches, 0 when not, <0 on error. */
static int
rule_apply(const struct rule *r, const char *path, char **out)
{
	struct parts src, p;
	struct dbuf b = DBUF_INIT;
	size_t i, dlen;
	int rc = 0;

	if (parts_split(r->windows, r->source, &src) != 0)
		return DROVER_ENOMEM;
	if (parts_split(r->windows, path, &p) != 0) {
		parts_release(&src);
		return DROVER_ENOMEM;
	}
	if (src.lead != p.lead || p.n < src.n)
		goto out;
	for (i = 0; i < src.n; i++)
		if (!comp_eq(r->windows, src.p[i], p.p[i]))
			goto out;
	dlen = strlen(r->dest);
	while (dlen > 1 && r->dest[dlen - 1] == '/')
		dlen--;
	if (drover__dbuf_add(&b, r->dest, dlen) != 0)
		rc = DROVER_ENOMEM;
	for (i = src.n; i < p.n && rc == 0; i++) {
		if (b.len == 0 || b.s[b.len - 1] != '/')
			rc = drover__dbuf_adds(&b, "/");
		if (rc == 0)
			rc = drover__dbuf_adds(&b, p.p[i]);
	}
	if (rc == 0) {
		*out = drover__dbuf_detach(&b);
		rc = *out ? 1 : DROVER_ENOMEM;
	} else
		drover__dbuf_release(&b);
out:
	parts_release(&src);
	parts_release(&p);
	return rc;
}

char *
drover_pathmap_apply(const drover_pathmap *pm, const char *path, int *matched)
{
	char *out = NULL;
	size_t i;
	int rc;

	if (matched)
		*matched = 0;
	if (path == NULL)
		return NULL;
	for (i = 0; pm && i < pm->n; i++) {
		rc = rule_apply(&pm->rules[i], path, &out);
		if (rc < 0)
			return NULL;
		if (rc == 1) {
			if (matched)
				*matched = 1;
			return out;
		}
	}
	return drover__strdup(path);
}
