/*
 * Job parameter values, definitions, merging and checking (see params.h).
 * Definitions are few (at most 50 per template, 200 with FEATURE_BUNDLE_1),
 * so lookups are linear scans; what matters here is that every rule gives
 * a message that says which parameter, which value and which constraint.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "model/format.h"
#include "model/params.h"

static const char *const param_type_names[] = {
	[PARAM_STRING] = "STRING",
	[PARAM_PATH] = "PATH",
	[PARAM_INT] = "INT",
	[PARAM_FLOAT] = "FLOAT",
};

const char *
param_type_name(enum param_type t)
{
	if ((size_t)t < sizeof(param_type_names) / sizeof(*param_type_names))
		return param_type_names[t];
	return "?";
}

int
param_type_parse(const char *s, enum param_type *t)
{
	for (size_t i = 0; i < sizeof(param_type_names) /
	    sizeof(*param_type_names); i++) {
		if (strcmp(s, param_type_names[i]) == 0) {
			*t = (enum param_type)i;
			return 0;
		}
	}
	return -1;
}

/* ---- number and path helpers ----------------------------------------- */

int
param_parse_int(const char *s, int64_t *out)
{
	const char *p = s;
	int neg = 0;
	uint64_t v = 0, limit;

	while (isspace((unsigned char)*p))
		p++;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (!isdigit((unsigned char)*p))
		return -1;
	limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	int over = 0;
	while (isdigit((unsigned char)*p)) {
		unsigned d = (unsigned)(*p++ - '0');
		if (v > (limit - d) / 10)
			over = 1;
		else
			v = v * 10 + d;
	}
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		return -1;
	if (over)
		return -2;
	if (neg)
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	else
		*out = (int64_t)v;
	return 0;
}

int
param_parse_float(const char *s, double *out)
{
	const char *p = s, *start;
	char *end;
	int digits = 0;
	double v;

	while (isspace((unsigned char)*p))
		p++;
	start = p;
	p = doc_scan_decimal(start, &digits);
	if (p == NULL || digits == 0)
		return -1;
	const char *stop = p;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '\0')
		return -1;
	errno = 0;
	v = strtod(start, &end);
	if (end != stop || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

size_t
param_utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

char *
param_path_normalize(const char *path, int *escapes)
{
	int abs = path[0] == '/';
	struct buf out = BUF_INIT;
	const char **comp = NULL;
	size_t *clen = NULL, n = 0, alloc = 0, alloc2 = 0;
	const char *p = path;

	if (escapes)
		*escapes = 0;
	while (*p) {
		const char *q = p;
		while (*q && *q != '/')
			q++;
		size_t len = (size_t)(q - p);
		if (len == 0 || (len == 1 && p[0] == '.')) {
			/* skip */
		} else if (len == 2 && p[0] == '.' && p[1] == '.') {
			if (n > 0 && !(clen[n - 1] == 2 &&
			    comp[n - 1][0] == '.' && comp[n - 1][1] == '.')) {
				n--;
			} else if (!abs) {
				if (escapes)
					*escapes = 1;
				ALLOC_GROW(comp, n + 1, alloc);
				ALLOC_GROW(clen, n + 1, alloc2);
				comp[n] = p;
				clen[n++] = len;
			}
		} else {
			ALLOC_GROW(comp, n + 1, alloc);
			ALLOC_GROW(clen, n + 1, alloc2);
			comp[n] = p;
			clen[n++] = len;
		}
		p = *q ? q + 1 : q;
	}
	if (abs)
		buf_addch(&out, '/');
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_addch(&out, '/');
		buf_add(&out, comp[i], clen[i]);
	}
	if (!abs && n == 0)
		buf_addch(&out, '.');
	free(comp);
	free(clen);
	return buf_detach(&out, NULL);
}

char *
param_path_join(const char *base, const char *rel)
{
	char *joined, *norm;

	if (rel[0] == '/')
		return param_path_normalize(rel, NULL);
	joined = xasprintf("%s/%s", base, rel);
	norm = param_path_normalize(joined, NULL);
	free(joined);
	return norm;
}

/* ---- values ---------------------------------------------------------- */

void
param_values_release(struct param_values *pv)
{
	for (size_t i = 0; i < pv->n; i++) {
		free(pv->v[i].name);
		free(pv->v[i].value);
		free(pv->v[i].file);
	}
	free(pv->v);
	pv->v = NULL;
	pv->n = pv->alloc = 0;
}

const struct param_value *
param_values_find(const struct param_values *pv, const char *name)
{
	for (size_t i = 0; i < pv->n; i++)
		if (strcmp(pv->v[i].name, name) == 0)
			return &pv->v[i];
	return NULL;
}

const char *
param_values_get(const struct param_values *pv, const char *name)
{
	const struct param_value *v = param_values_find(pv, name);

	return v ? v->value : NULL;
}

void
param_values_set_at(struct param_values *pv, const char *name,
    const char *value, const char *file, int line, int col)
{
	struct param_value *v = (struct param_value *)param_values_find(pv,
	    name);

	if (v == NULL) {
		ALLOC_GROW(pv->v, pv->n + 1, pv->alloc);
		v = &pv->v[pv->n++];
		v->name = xstrdup(name);
	} else {
		free(v->value);
		free(v->file);
	}
	v->value = xstrdup(value);
	v->file = file ? xstrdup(file) : NULL;
	v->line = line;
	v->col = col;
}

void
param_values_set(struct param_values *pv, const char *name, const char *value)
{
	param_values_set_at(pv, name, value, NULL, 0, 0);
}

void
param_values_copy(struct param_values *dst, const struct param_values *src)
{
	for (size_t i = 0; i < src->n; i++)
		param_values_set_at(dst, src->v[i].name, src->v[i].value,
		    src->v[i].file, src->v[i].line, src->v[i].col);
}

int
param_values_add_node(struct param_values *pv, const struct node *map,
    const char *file, struct error_list *el)
{
	int rc = 0;

	if (map == NULL || map->kind != NODE_MAP) {
		error_add(el, file, map ? map->line : 0, map ? map->col : 0,
		    NULL, "job parameters must be a mapping of parameter "
		    "names to values");
		return -1;
	}
	for (size_t i = 0; i < map->n; i++) {
		const struct node *k = map->keys[i], *v = map->items[i];
		if (v->kind == NODE_NULL || !node_is_scalar(v)) {
			error_add(el, file, v->line, v->col, k->str,
			    "value of job parameter '%s' must be a string or "
			    "a number, not %s", k->str,
			    node_kind_name(v->kind));
			rc = -1;
			continue;
		}
		param_values_set_at(pv, k->str, v->str, file, v->line, v->col);
	}
	return rc;
}

static int
param_values_add_doc(struct param_values *pv, struct doc *d, const char *what,
    struct error_list *el)
{
	if (d->root == NULL || d->root->kind != NODE_MAP) {
		error_add(el, d->file, d->root ? d->root->line : 0,
		    d->root ? d->root->col : 0, NULL,
		    "%s must hold a mapping of job parameter names to values",
		    what);
		return -1;
	}
	return param_values_add_node(pv, d->root, d->file, el);
}

int
param_values_parse_arg(struct param_values *pv, const char *arg, int *usage,
    struct error_list *el)
{
	size_t len = strlen(arg);
	struct doc d = DOC_INIT;
	const char *eq;
	int rc;

	*usage = 0;
	if (strncmp(arg, "file://", 7) == 0) {
		if (arg[7] == '\0') {
			*usage = 1;
			error_add(el, NULL, 0, 0, NULL, "-p '%s': no file name "
			    "after 'file://'", arg);
			return -1;
		}
		if (doc_load_file(&d, arg + 7, el) < 0) {
			doc_release(&d);
			return -1;
		}
		rc = param_values_add_doc(pv, &d, "a job parameter file", el);
		doc_release(&d);
		return rc;
	}
	if (len >= 2 && arg[0] == '{' && arg[len - 1] == '}') {
		if (doc_load_mem(&d, "-p", arg, len, el) < 0) {
			doc_release(&d);
			return -1;
		}
		rc = param_values_add_doc(pv, &d, "inline JSON job parameters",
		    el);
		doc_release(&d);
		return rc;
	}
	eq = strchr(arg, '=');
	if (eq == NULL || eq == arg) {
		*usage = 1;
		error_add(el, NULL, 0, 0, NULL, "-p '%s': expected KEY=VALUE, "
		    "file://PATH (a YAML or JSON mapping) or an inline JSON "
		    "object", arg);
		return -1;
	}
	char *name = xstrndup(arg, (size_t)(eq - arg));
	param_values_set(pv, name, eq + 1);
	free(name);
	return 0;
}

/* ---- definitions ----------------------------------------------------- */

static void
param_pos_set(struct param_pos *p, const char *file, const struct node *n,
    const char *path)
{
	free(p->file);
	free(p->path);
	p->file = file ? xstrdup(file) : NULL;
	p->line = n ? n->line : 0;
	p->col = n ? n->col : 0;
	p->path = path ? xstrdup(path) : NULL;
}

static void
param_pos_release(struct param_pos *p)
{
	free(p->file);
	free(p->path);
	p->file = p->path = NULL;
}

/* "env.yaml:3:5" (caller frees). */
static char *
param_pos_where(const struct param_pos *p)
{
	if (p->file == NULL)
		return xstrdup("?");
	if (p->line > 0)
		return xasprintf("%s:%d:%d", p->file, p->line, p->col);
	return xstrdup(p->file);
}

static void
param_def_release(struct param_def *d)
{
	free(d->name);
	free(d->description);
	free(d->object_type);
	free(d->data_flow);
	free(d->default_value);
	free(d->min_text);
	free(d->max_text);
	for (size_t i = 0; i < d->nallowed; i++)
		free(d->allowed[i]);
	free(d->allowed);
	param_pos_release(&d->pos);
	param_pos_release(&d->type_pos);
	param_pos_release(&d->object_type_pos);
	param_pos_release(&d->data_flow_pos);
	param_pos_release(&d->default_pos);
	param_pos_release(&d->min_length_pos);
	param_pos_release(&d->max_length_pos);
	param_pos_release(&d->min_value_pos);
	param_pos_release(&d->max_value_pos);
	param_pos_release(&d->allowed_pos);
}

void
param_defs_release(struct param_defs *defs)
{
	for (size_t i = 0; i < defs->n; i++)
		param_def_release(&defs->v[i]);
	free(defs->v);
	defs->v = NULL;
	defs->n = defs->alloc = 0;
}

struct param_def *
param_defs_find(const struct param_defs *defs, const char *name)
{
	for (size_t i = 0; i < defs->n; i++)
		if (strcmp(defs->v[i].name, name) == 0)
			return &defs->v[i];
	return NULL;
}

/*
 * Canonical text of a scalar written in a definition for type t: INT in
 * decimal, FLOAT trimmed, STRING/PATH as written.  NULL with *msg set if it
 * does not fit the type.
 */
static char *
param_canon_node(enum param_type t, const struct node *n, char **msg)
{
	int64_t i;
	double f;

	if (!node_is_scalar(n) || n->kind == NODE_NULL || n->kind == NODE_BOOL) {
		*msg = xasprintf("expected %s, found %s",
		    t == PARAM_INT ? "an integer" : t == PARAM_FLOAT ?
		    "a number" : "a string", node_kind_name(n->kind));
		return NULL;
	}
	switch (t) {
	case PARAM_INT:
		if (n->kind == NODE_INT)
			return xasprintf("%lld", (long long)n->v.i);
		switch (param_parse_int(n->str, &i)) {
		case 0:
			return xasprintf("%lld", (long long)i);
		case -2:
			*msg = xasprintf("'%s' is outside the 64-bit integer "
			    "range", n->str);
			return NULL;
		default:
			*msg = xasprintf("'%s' is not an integer", n->str);
			return NULL;
		}
	case PARAM_FLOAT: {
		if (param_parse_float(n->str, &f) < 0) {
			*msg = xasprintf("'%s' is not a number", n->str);
			return NULL;
		}
		const char *a = n->str, *b = n->str + strlen(n->str);
		while (isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		return xstrndup(a, (size_t)(b - a));
	}
	default:
		return xstrdup(n->str);
	}
}

static int
param_get_length(const struct node *n, uint64_t *out)
{
	int64_t v;

	if (n->kind == NODE_INT)
		v = n->v.i;
	else if (n->kind != NODE_STRING || param_parse_int(n->str, &v) < 0)
		return -1;
	if (v < 0)
		return -1;
	*out = (uint64_t)v;
	return 0;
}

/* 1 if canonical texts a and b denote the same value of type t. */
static int
param_value_equal(enum param_type t, const char *a, const char *b)
{
	int64_t ia, ib;
	double fa, fb;

	switch (t) {
	case PARAM_INT:
		return param_parse_int(a, &ia) == 0 &&
		    param_parse_int(b, &ib) == 0 && ia == ib;
	case PARAM_FLOAT:
		return param_parse_float(a, &fa) == 0 &&
		    param_parse_float(b, &fb) == 0 && fa == fb;
	default:
		return strcmp(a, b) == 0;
	}
}

/* One definition as written in one template, before merging. */
struct param_one {
	const struct node *node;
	const char	*name;
	enum param_type	 type;
	const struct node *type_node, *object_type, *data_flow, *description;
	const struct node *def, *min_length, *max_length, *min_value,
			 *max_value, *allowed;
};

static void
param_path_fmt(struct buf *b, const char *base, size_t idx, const char *key)
{
	buf_reset(b);
	buf_addf(b, "%s[%zu]", base, idx);
	if (key)
		buf_addf(b, ".%s", key);
}

/* Sets d's minimum/maximum value from node n; returns 0 or -1 (*msg). */
static int
param_set_bound(struct param_def *d, const struct node *n, int is_max,
    char **msg)
{
	char *text = param_canon_node(d->type, n, msg);
	int64_t i = 0;
	double f = 0;

	if (text == NULL)
		return -1;
	if (d->type == PARAM_INT)
		(void)param_parse_int(text, &i);
	else
		(void)param_parse_float(text, &f);
	if (is_max) {
		int tighter = !d->has_max_value || (d->type == PARAM_INT ?
		    i < d->max_int : f < d->max_float);
		if (tighter) {
			free(d->max_text);
			d->max_text = text;
			d->max_int = i;
			d->max_float = f;
			d->has_max_value = 1;
			return 1;
		}
	} else {
		int tighter = !d->has_min_value || (d->type == PARAM_INT ?
		    i > d->min_int : f > d->min_float);
		if (tighter) {
			free(d->min_text);
			d->min_text = text;
			d->min_int = i;
			d->min_float = f;
			d->has_min_value = 1;
			return 1;
		}
	}
	free(text);
	return 0;
}

static int
param_merge_one(struct param_defs *defs, const struct param_one *o,
    const char *file, size_t idx, struct error_list *el)
{
	struct param_def *d = param_defs_find(defs, o->name);
	struct buf path = BUF_INIT;
	char *msg = NULL;
	int rc = 0;

	if (d != NULL && d->type != o->type) {
		char *w = param_pos_where(&d->type_pos);
		param_path_fmt(&path, "parameterDefinitions", idx, "type");
		error_add(el, file, o->type_node->line, o->type_node->col,
		    path.s, "parameter '%s' is %s here but %s in %s "
		    "(definitions of one parameter must have the same type)",
		    o->name, param_type_name(o->type),
		    param_type_name(d->type), w);
		free(w);
		buf_release(&path);
		return -1;
	}
	if (d != NULL && o->type == PARAM_PATH) {
		static const char *const keys[2] = { "objectType", "dataFlow" };
		const struct node *nn[2] = { o->object_type, o->data_flow };
		char *have[2] = { d->object_type, d->data_flow };
		const struct param_pos *hp[2] = { &d->object_type_pos,
		    &d->data_flow_pos };
		for (int k = 0; k < 2; k++) {
			if (nn[k] == NULL || have[k] == NULL ||
			    strcmp(nn[k]->str, have[k]) == 0)
				continue;
			char *w = param_pos_where(hp[k]);
			param_path_fmt(&path, "parameterDefinitions", idx,
			    keys[k]);
			error_add(el, file, nn[k]->line, nn[k]->col, path.s,
			    "parameter '%s' has %s %s here but %s in %s",
			    o->name, keys[k], nn[k]->str, have[k], w);
			free(w);
			rc = -1;
		}
		if (rc < 0) {
			buf_release(&path);
			return -1;
		}
	}
	if (d == NULL) {
		ALLOC_GROW(defs->v, defs->n + 1, defs->alloc);
		d = &defs->v[defs->n++];
		memset(d, 0, sizeof(*d));
		d->name = xstrdup(o->name);
		d->type = o->type;
		param_path_fmt(&path, "parameterDefinitions", idx, "type");
		param_pos_set(&d->type_pos, file, o->type_node, path.s);
	}
	d->ndefs++;
	param_path_fmt(&path, "parameterDefinitions", idx, NULL);
	param_pos_set(&d->pos, file, o->node, path.s);

	if (o->description && node_is_scalar(o->description)) {
		free(d->description);
		d->description = xstrdup(o->description->str);
	}
	if (o->object_type && o->object_type->kind == NODE_STRING &&
	    d->object_type == NULL) {
		d->object_type = xstrdup(o->object_type->str);
		param_path_fmt(&path, "parameterDefinitions", idx, "objectType");
		param_pos_set(&d->object_type_pos, file, o->object_type,
		    path.s);
	}
	if (o->data_flow && o->data_flow->kind == NODE_STRING &&
	    d->data_flow == NULL) {
		d->data_flow = xstrdup(o->data_flow->str);
		param_path_fmt(&path, "parameterDefinitions", idx, "dataFlow");
		param_pos_set(&d->data_flow_pos, file, o->data_flow, path.s);
	}
	if (o->def) {
		char *v = param_canon_node(o->type, o->def, &msg);
		param_path_fmt(&path, "parameterDefinitions", idx, "default");
		if (v == NULL) {
			error_add(el, file, o->def->line, o->def->col, path.s,
			    "default of parameter '%s': %s", o->name, msg);
			free(msg);
			rc = -1;
		} else {
			free(d->default_value);
			d->default_value = v;
			param_pos_set(&d->default_pos, file, o->def, path.s);
		}
	}
	const struct node *lens[2] = { o->min_length, o->max_length };
	for (int k = 0; k < 2; k++) {
		uint64_t len;
		if (lens[k] == NULL)
			continue;
		param_path_fmt(&path, "parameterDefinitions", idx,
		    k ? "maxLength" : "minLength");
		if (param_get_length(lens[k], &len) < 0) {
			error_add(el, file, lens[k]->line, lens[k]->col, path.s,
			    "must be a non-negative integer");
			rc = -1;
			continue;
		}
		if (k == 0 && (!d->has_min_length || len > d->min_length)) {
			d->has_min_length = 1;
			d->min_length = len;
			param_pos_set(&d->min_length_pos, file, lens[k], path.s);
		} else if (k == 1 && (!d->has_max_length ||
		    len < d->max_length)) {
			d->has_max_length = 1;
			d->max_length = len;
			param_pos_set(&d->max_length_pos, file, lens[k], path.s);
		}
	}
	const struct node *bounds[2] = { o->min_value, o->max_value };
	for (int k = 0; k < 2; k++) {
		if (bounds[k] == NULL)
			continue;
		param_path_fmt(&path, "parameterDefinitions", idx,
		    k ? "maxValue" : "minValue");
		int r = param_set_bound(d, bounds[k], k, &msg);
		if (r < 0) {
			error_add(el, file, bounds[k]->line, bounds[k]->col,
			    path.s, "%s", msg);
			free(msg);
			rc = -1;
		} else if (r > 0) {
			param_pos_set(k ? &d->max_value_pos : &d->min_value_pos,
			    file, bounds[k], path.s);
		}
	}
	if (o->allowed) {
		param_path_fmt(&path, "parameterDefinitions", idx,
		    "allowedValues");
		if (o->allowed->kind != NODE_SEQ) {
			error_add(el, file, o->allowed->line, o->allowed->col,
			    path.s, "must be a list");
			rc = -1;
		} else {
			char **vals = xcalloc(o->allowed->n + 1, sizeof(char *));
			size_t nv = 0;
			for (size_t i = 0; i < o->allowed->n; i++) {
				const struct node *it = o->allowed->items[i];
				char *v = param_canon_node(o->type, it, &msg);
				if (v == NULL) {
					error_add(el, file, it->line, it->col,
					    path.s, "item %zu: %s", i, msg);
					free(msg);
					rc = -1;
					continue;
				}
				vals[nv++] = v;
			}
			if (!d->has_allowed) {
				d->allowed = vals;
				d->nallowed = nv;
				d->has_allowed = 1;
			} else {
				/* intersection, in the order of the earlier list */
				size_t keep = 0;
				for (size_t i = 0; i < d->nallowed; i++) {
					int found = 0;
					for (size_t j = 0; j < nv && !found; j++)
						found = param_value_equal(
						    d->type, d->allowed[i],
						    vals[j]);
					if (found)
						d->allowed[keep++] =
						    d->allowed[i];
					else
						free(d->allowed[i]);
				}
				d->nallowed = keep;
				for (size_t j = 0; j < nv; j++)
					free(vals[j]);
				free(vals);
			}
			param_pos_set(&d->allowed_pos, file, o->allowed,
			    path.s);
		}
	}
	buf_release(&path);
	return rc;
}

int
param_defs_merge(struct param_defs *defs, const struct node *list,
    const char *file, struct error_list *el)
{
	int rc = 0;

	if (list == NULL || list->kind == NODE_NULL)
		return 0;
	if (list->kind != NODE_SEQ) {
		error_add(el, file, list->line, list->col,
		    "parameterDefinitions", "must be a list");
		return -1;
	}
	for (size_t i = 0; i < list->n; i++) {
		const struct node *n = list->items[i], *nm, *ty;
		struct param_one o;
		char path[64];

		snprintf(path, sizeof(path), "parameterDefinitions[%zu]", i);
		nm = node_get(n, "name");
		ty = node_get(n, "type");
		if (nm == NULL || nm->kind != NODE_STRING || ty == NULL ||
		    ty->kind != NODE_STRING) {
			error_add(el, file, n->line, n->col, path,
			    "a parameter definition needs a name and a type");
			rc = -1;
			continue;
		}
		memset(&o, 0, sizeof(o));
		o.node = n;
		o.name = nm->str;
		o.type_node = ty;
		if (param_type_parse(ty->str, &o.type) < 0) {
			error_add(el, file, ty->line, ty->col, path,
			    "parameter '%s': unsupported type '%s' (expected "
			    "STRING, PATH, INT or FLOAT)", nm->str, ty->str);
			rc = -1;
			continue;
		}
		o.description = node_get(n, "description");
		o.def = node_get(n, "default");
		o.allowed = node_get(n, "allowedValues");
		if (o.type == PARAM_STRING || o.type == PARAM_PATH) {
			o.min_length = node_get(n, "minLength");
			o.max_length = node_get(n, "maxLength");
		} else {
			o.min_value = node_get(n, "minValue");
			o.max_value = node_get(n, "maxValue");
		}
		if (o.type == PARAM_PATH) {
			o.object_type = node_get(n, "objectType");
			o.data_flow = node_get(n, "dataFlow");
		}
		if (param_merge_one(defs, &o, file, i, el) < 0)
			rc = -1;
	}
	return rc;
}

/* Quoted form of a value for messages: numbers bare, strings quoted. */
static char *
param_show(enum param_type t, const char *v)
{
	if (t == PARAM_INT || t == PARAM_FLOAT)
		return xstrdup(v);
	return xasprintf("'%s'", v);
}

static char *
param_allowed_list(const struct param_def *d)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < d->nallowed; i++) {
		char *s = param_show(d->type, d->allowed[i]);
		buf_addf(&b, "%s%s", i ? ", " : "", s);
		free(s);
	}
	return buf_detach(&b, NULL);
}

char *
param_def_check_value(const struct param_def *d, const char *text,
    char **err_msg, const struct param_pos **err_pos)
{
	const struct param_pos *dummy;
	char *canon = NULL, *shown;
	int64_t iv = 0;
	double fv = 0;

	if (err_pos == NULL)
		err_pos = &dummy;
	*err_pos = NULL;
	switch (d->type) {
	case PARAM_INT:
		switch (param_parse_int(text, &iv)) {
		case 0:
			canon = xasprintf("%lld", (long long)iv);
			break;
		case -2:
			*err_msg = xasprintf("value '%s' is outside the 64-bit "
			    "integer range", text);
			return NULL;
		default:
			*err_msg = xasprintf("value '%s' is not an integer",
			    text);
			return NULL;
		}
		break;
	case PARAM_FLOAT: {
		if (param_parse_float(text, &fv) < 0) {
			*err_msg = xasprintf("value '%s' is not a number", text);
			return NULL;
		}
		const char *a = text, *b = text + strlen(text);
		while (isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		canon = xstrndup(a, (size_t)(b - a));
		break;
	}
	default:
		canon = xstrdup(text);
		break;
	}
	shown = param_show(d->type, canon);
	if (d->type == PARAM_INT || d->type == PARAM_FLOAT) {
		int below = d->has_min_value && (d->type == PARAM_INT ?
		    iv < d->min_int : fv < d->min_float);
		int above = d->has_max_value && (d->type == PARAM_INT ?
		    iv > d->max_int : fv > d->max_float);
		if (below) {
			*err_msg = xasprintf("value %s is below minValue %s",
			    shown, d->min_text);
			*err_pos = &d->min_value_pos;
			goto fail;
		}
		if (above) {
			*err_msg = xasprintf("value %s is above maxValue %s",
			    shown, d->max_text);
			*err_pos = &d->max_value_pos;
			goto fail;
		}
	} else {
		size_t len = param_utf8_len(canon);
		if (d->has_min_length && len < d->min_length) {
			*err_msg = xasprintf("value %s is shorter than "
			    "minLength %llu (%zu characters)", shown,
			    (unsigned long long)d->min_length, len);
			*err_pos = &d->min_length_pos;
			goto fail;
		}
		if (d->has_max_length && len > d->max_length) {
			*err_msg = xasprintf("value %s is longer than "
			    "maxLength %llu (%zu characters)", shown,
			    (unsigned long long)d->max_length, len);
			*err_pos = &d->max_length_pos;
			goto fail;
		}
	}
	if (d->has_allowed) {
		int found = 0;
		for (size_t i = 0; i < d->nallowed && !found; i++)
			found = param_value_equal(d->type, canon,
			    d->allowed[i]);
		if (!found) {
			char *list = param_allowed_list(d);
			*err_msg = xasprintf("value %s is not one of the "
			    "allowedValues [%s]", shown, list);
			free(list);
			*err_pos = &d->allowed_pos;
			goto fail;
		}
	}
	free(shown);
	return canon;
fail:
	free(shown);
	free(canon);
	return NULL;
}

static void
param_error_at(struct error_list *el, const struct param_pos *p,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
param_error_at(struct error_list *el, const struct param_pos *p,
    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vadd(el, p ? p->file : NULL, p ? p->line : 0, p ? p->col : 0,
	    p ? p->path : NULL, fmt, ap);
	va_end(ap);
}

int
param_defs_check(const struct param_defs *defs, struct error_list *el)
{
	int rc = 0;

	for (size_t i = 0; i < defs->n; i++) {
		const struct param_def *d = &defs->v[i];
		int merged = d->ndefs > 1;
		const char *how = merged ? "merged " : "";
		int bad = 0;

		if (d->has_min_length && d->has_max_length &&
		    d->min_length > d->max_length) {
			char *w = param_pos_where(&d->min_length_pos);
			param_error_at(el, &d->max_length_pos, "parameter "
			    "'%s': %smaxLength %llu is below minLength %llu "
			    "(%s)", d->name, how,
			    (unsigned long long)d->max_length,
			    (unsigned long long)d->min_length, w);
			free(w);
			bad = 1;
		}
		if (d->has_min_value && d->has_max_value &&
		    (d->type == PARAM_INT ? d->min_int > d->max_int :
		    d->min_float > d->max_float)) {
			char *w = param_pos_where(&d->min_value_pos);
			param_error_at(el, &d->max_value_pos, "parameter "
			    "'%s': %smaxValue %s is below minValue %s (%s)",
			    d->name, how, d->max_text, d->min_text, w);
			free(w);
			bad = 1;
		}
		if (d->has_allowed && d->nallowed == 0) {
			param_error_at(el, &d->allowed_pos, "parameter '%s': "
			    "the allowedValues of its %zu definitions have no "
			    "value in common", d->name, d->ndefs);
			bad = 1;
		}
		if (bad)
			rc = -1;
		if (d->default_value && d->type != PARAM_PATH && !bad) {
			char *msg;
			const struct param_pos *cp;
			char *v = param_def_check_value(d, d->default_value,
			    &msg, &cp);
			if (v == NULL) {
				char *w = cp ? param_pos_where(cp) : NULL;
				param_error_at(el, &d->default_pos,
				    "parameter '%s': default %s%s%s%s%s",
				    d->name, msg, w ? " (" : "",
				    w && merged ? "merged constraint from " :
				    "", w ? w : "", w ? ")" : "");
				free(w);
				free(msg);
				rc = -1;
			}
			free(v);
		}
	}
	return rc;
}

/* Nearest defined name for a "did you mean" hint, or NULL. */
static const char *
param_nearest(const struct param_defs *defs, const char *name)
{
	const char *best = NULL;
	size_t best_d = 4;

	for (size_t i = 0; i < defs->n; i++) {
		size_t d = fmt_edit_distance(name, defs->v[i].name);
		if (d < best_d && d < strlen(defs->v[i].name)) {
			best_d = d;
			best = defs->v[i].name;
		}
	}
	return best;
}

int
param_defs_resolve(const struct param_defs *defs,
    const struct param_values *values, const char *template_dir,
    const char *cwd, struct param_values *out, struct error_list *el)
{
	int rc = 0;

	for (size_t i = 0; i < values->n; i++) {
		const struct param_value *v = &values->v[i];
		if (param_defs_find(defs, v->name))
			continue;
		const char *near = param_nearest(defs, v->name);
		/* a value from the command line: point at the definitions */
		int here = v->file == NULL && defs->origin_file != NULL;
		const char *file = here ? defs->origin_file : v->file;
		int line = here ? defs->origin_line : v->line;
		int col = here ? defs->origin_col : v->col;
		const char *field = here ? "parameterDefinitions" : NULL;

		if (near)
			error_add(el, file, line, col, field,
			    "job parameter '%s'%s is not defined by the "
			    "template (did you mean '%s'?)", v->name,
			    here ? " (given with -p)" : "", near);
		else
			error_add(el, file, line, col, field,
			    "job parameter '%s'%s is not defined by the "
			    "template", v->name, here ? " (given with -p)" : "");
		rc = -1;
	}
	for (size_t i = 0; i < defs->n; i++) {
		const struct param_def *d = &defs->v[i];
		const struct param_value *v = param_values_find(values,
		    d->name);
		const struct param_pos *cp;
		char *msg, *canon, *final;

		if (v != NULL) {
			canon = param_def_check_value(d, v->value, &msg, &cp);
			if (canon == NULL) {
				if (v->file != NULL) {
					error_add(el, v->file, v->line, v->col,
					    NULL, "job parameter '%s': %s",
					    d->name, msg);
				} else {
					param_error_at(el, cp ? cp : &d->pos,
					    "job parameter '%s': %s", d->name,
					    msg);
				}
				free(msg);
				rc = -1;
				continue;
			}
			if (d->type == PARAM_PATH) {
				final = param_path_join(cwd, canon);
				free(canon);
				canon = final;
			}
			param_values_set_at(out, d->name, canon, v->file,
			    v->line, v->col);
			free(canon);
			continue;
		}
		if (d->default_value == NULL) {
			param_error_at(el, &d->pos, "job parameter '%s' needs "
			    "a value: it has no default", d->name);
			rc = -1;
			continue;
		}
		if (d->type == PARAM_PATH) {
			int escapes;
			char *norm;
			if (d->default_value[0] == '/') {
				param_error_at(el, &d->default_pos, "default "
				    "'%s' of PATH parameter '%s' must be a "
				    "relative path (defaults are joined with "
				    "the job template's directory)",
				    d->default_value, d->name);
				rc = -1;
				continue;
			}
			norm = param_path_normalize(d->default_value, &escapes);
			if (escapes) {
				param_error_at(el, &d->default_pos, "default "
				    "'%s' of PATH parameter '%s' leads out of "
				    "the job template's directory",
				    d->default_value, d->name);
				free(norm);
				rc = -1;
				continue;
			}
			final = param_path_join(template_dir, norm);
			free(norm);
			canon = param_def_check_value(d, final, &msg, &cp);
			if (canon == NULL) {
				char *w = cp ? param_pos_where(cp) : NULL;
				param_error_at(el, &d->default_pos, "job "
				    "parameter '%s': default joined with the "
				    "template directory: %s%s%s%s", d->name,
				    msg, w ? " (" : "", w ? w : "",
				    w ? ")" : "");
				free(w);
				free(msg);
				free(final);
				rc = -1;
				continue;
			}
			free(final);
		} else {
			canon = param_def_check_value(d, d->default_value,
			    &msg, &cp);
			if (canon == NULL) {
				param_error_at(el, &d->default_pos, "job "
				    "parameter '%s': default %s", d->name, msg);
				free(msg);
				rc = -1;
				continue;
			}
		}
		param_values_set_at(out, d->name, canon, d->default_pos.file,
		    d->default_pos.line, d->default_pos.col);
		free(canon);
	}
	return rc;
}
