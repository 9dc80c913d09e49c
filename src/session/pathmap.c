/*
 * Path mapping rules: parsing, ordering and application (pathmap.h).
 * Paths are compared component by component, never as raw prefixes, so
 * the rule "/home/user" does not capture "/home/username".
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "session/pathmap.h"

void
pathmap_release(struct pathmap *pm)
{
	for (size_t i = 0; i < pm->n; i++) {
		free(pm->rules[i].source);
		free(pm->rules[i].dest);
	}
	free(pm->rules);
	pm->rules = NULL;
	pm->n = 0;
}

void
pathmap_copy(struct pathmap *dst, const struct pathmap *src)
{
	dst->n = src->n;
	dst->rules = src->n ? xcalloc(src->n, sizeof(*dst->rules)) : NULL;
	for (size_t i = 0; i < src->n; i++) {
		dst->rules[i].format = src->rules[i].format;
		dst->rules[i].source = xstrdup(src->rules[i].source);
		dst->rules[i].dest = xstrdup(src->rules[i].dest);
	}
}

/* Stable: insertion sort by decreasing source length (rule lists are short). */
static void
pathmap_sort(struct pathmap *pm)
{
	for (size_t i = 1; i < pm->n; i++) {
		struct pathmap_rule r = pm->rules[i];
		size_t len = strlen(r.source), j = i;

		while (j > 0 && strlen(pm->rules[j - 1].source) < len) {
			pm->rules[j] = pm->rules[j - 1];
			j--;
		}
		pm->rules[j] = r;
	}
}

static const char *
rule_string(const json_t *rule, const char *key, size_t i, char **err)
{
	const json_t *v = json_object_get(rule, key);

	if (!json_is_string(v)) {
		*err = xasprintf("path_mapping_rules[%zu]: '%s' must be a "
		    "string", i, key);
		return NULL;
	}
	return json_string_value(v);
}

int
pathmap_from_json(struct pathmap *pm, const json_t *doc, char **err)
{
	const json_t *rules, *v;
	const char *key;
	size_t i;

	*err = NULL;
	pm->rules = NULL;
	pm->n = 0;
	if (!json_is_object(doc)) {
		*err = xstrdup("path mapping rules must be an object with "
		    "'version' and 'path_mapping_rules'");
		return -1;
	}
	v = json_object_get(doc, "version");
	if (!json_is_string(v) ||
	    strcmp(json_string_value(v), "pathmapping-1.0") != 0) {
		*err = xstrdup("path mapping rules must have 'version' "
		    "'pathmapping-1.0'");
		return -1;
	}
	rules = json_object_get(doc, "path_mapping_rules");
	if (!json_is_array(rules)) {
		*err = xstrdup("path mapping rules must contain a list named "
		    "'path_mapping_rules'");
		return -1;
	}
	pm->rules = xcalloc(json_array_size(rules) + 1, sizeof(*pm->rules));
	json_array_foreach(rules, i, v) {
		const char *fmt, *src, *dst;
		json_t *x;

		if (!json_is_object(v)) {
			*err = xasprintf("path_mapping_rules[%zu] must be an "
			    "object", i);
			goto fail;
		}
		json_object_foreach((json_t *)v, key, x) {
			if (strcmp(key, "source_path_format") != 0 &&
			    strcmp(key, "source_path") != 0 &&
			    strcmp(key, "destination_path") != 0) {
				*err = xasprintf("path_mapping_rules[%zu]: "
				    "unknown key '%s'", i, key);
				goto fail;
			}
		}
		if ((fmt = rule_string(v, "source_path_format", i, err)) ==
		    NULL || (src = rule_string(v, "source_path", i, err)) ==
		    NULL || (dst = rule_string(v, "destination_path", i, err))
		    == NULL)
			goto fail;
		if (strcasecmp(fmt, "POSIX") == 0)
			pm->rules[pm->n].format = PATHMAP_POSIX;
		else if (strcasecmp(fmt, "WINDOWS") == 0)
			pm->rules[pm->n].format = PATHMAP_WINDOWS;
		else {
			*err = xasprintf("path_mapping_rules[%zu]: "
			    "source_path_format must be 'POSIX' or 'WINDOWS', "
			    "not '%s'", i, fmt);
			goto fail;
		}
		pm->rules[pm->n].source = xstrdup(src);
		pm->rules[pm->n].dest = xstrdup(dst);
		pm->n++;
	}
	pathmap_sort(pm);
	return 0;
fail:
	pathmap_release(pm);
	return -1;
}

int
pathmap_from_arg(struct pathmap *pm, const char *arg, char **err)
{
	json_error_t je;
	json_t *doc;
	int rc;

	while (*arg == ' ' || *arg == '\t' || *arg == '\n')
		arg++;
	if (strncmp(arg, "file://", 7) == 0) {
		struct buf b = BUF_INIT;

		if (buf_read_file(&b, arg + 7) == -1) {
			*err = xasprintf("cannot read path mapping rules file "
			    "'%s'", arg + 7);
			buf_release(&b);
			return -1;
		}
		doc = json_loadb(b.s, b.len, 0, &je);
		buf_release(&b);
	} else
		doc = json_loads(arg, 0, &je);
	if (doc == NULL) {
		*err = xasprintf("path mapping rules must be valid JSON: %s",
		    je.text);
		return -1;
	}
	rc = pathmap_from_json(pm, doc, err);
	json_decref(doc);
	return rc;
}

json_t *
pathmap_to_json(const struct pathmap *pm)
{
	json_t *doc, *rules;

	if (pm->n == 0)
		return json_object();
	rules = json_array();
	for (size_t i = 0; i < pm->n; i++)
		json_array_append_new(rules, json_pack("{s:s, s:s, s:s}",
		    "source_path_format", pm->rules[i].format ==
		    PATHMAP_WINDOWS ? "WINDOWS" : "POSIX",
		    "source_path", pm->rules[i].source,
		    "destination_path", pm->rules[i].dest));
	doc = json_pack("{s:s, s:o}", "version", "pathmapping-1.0",
	    "path_mapping_rules", rules);
	return doc;
}

struct comp {
	const char	*s;
	size_t		 len;
};

static int
is_sep(char c, int windows)
{
	return c == '/' || (windows && c == '\\');
}

/* Splits p into non-empty components; returns the count (array malloc'd). */
static size_t
split(const char *p, int windows, struct comp **out)
{
	size_t n = 0, alloc = 0;
	struct comp *v = NULL;

	while (*p != '\0') {
		const char *start;

		while (*p != '\0' && is_sep(*p, windows))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p != '\0' && !is_sep(*p, windows))
			p++;
		ALLOC_GROW(v, n + 1, alloc);
		v[n].s = start;
		v[n].len = (size_t)(p - start);
		n++;
	}
	*out = v;
	return n;
}

static char *
rule_apply(const struct pathmap_rule *r, const char *path)
{
	int win = r->format == PATHMAP_WINDOWS;
	struct comp *sc = NULL, *pc = NULL;
	size_t ns, np, plen = strlen(path);
	char *res = NULL;
	struct buf b = BUF_INIT;

	if (is_sep(r->source[0], win) != is_sep(path[0], win))
		return NULL;
	ns = split(r->source, win, &sc);
	np = split(path, win, &pc);
	if (np < ns)
		goto out;
	for (size_t i = 0; i < ns; i++) {
		if (sc[i].len != pc[i].len)
			goto out;
		if (win ? strncasecmp(sc[i].s, pc[i].s, sc[i].len) != 0 :
		    memcmp(sc[i].s, pc[i].s, sc[i].len) != 0)
			goto out;
	}
	buf_adds(&b, r->dest);
	for (size_t i = ns; i < np; i++) {
		buf_addch(&b, '/');
		buf_add(&b, pc[i].s, pc[i].len);
	}
	if (plen > 0 && is_sep(path[plen - 1], win) &&
	    (b.len == 0 || b.s[b.len - 1] != '/'))
		buf_addch(&b, '/');
	res = buf_detach(&b, NULL);
out:
	free(sc);
	free(pc);
	return res;
}

char *
pathmap_apply(const struct pathmap *pm, const char *path, int *matched)
{
	for (size_t i = 0; i < pm->n; i++) {
		char *r = rule_apply(&pm->rules[i], path);

		if (r != NULL) {
			if (matched)
				*matched = 1;
			return r;
		}
	}
	if (matched)
		*matched = 0;
	return xstrdup(path);
}
