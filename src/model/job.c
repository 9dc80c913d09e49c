/*
 * Job creation and the created job's JSON form (see job.h and
 * docs/job-json.md).
 *
 * job_create() works on the templates' document trees so that every error
 * can point at a line and column; what it keeps is JSON (jansson), the
 * form the queue stores, so a job read back with job_from_json() is the
 * same object as the one created.  Fields resolved at submission are
 * rewritten in that JSON; everything else is node_to_json() of the
 * template text.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "model/job.h"
#include "model/simple-action.h"
#include "model/range.h"
#include "model/stepgraph.h"

struct job_param {
	char		*name;
	enum param_type	 type;
	char		*value;
	char		*object_type;
	char		*data_flow;
};

struct job_step {
	char		*name;
	char		*description;
	json_t		*script;
	json_t		*envs;		/* or NULL */
	json_t		*host;		/* or NULL */
	json_t		*pspace;	/* or NULL */
	struct space	*space;
	size_t		*deps;
	size_t		 ndeps;
};

struct job {
	char		*name;
	char		*description;
	char		*template_dir;
	unsigned	 extensions;
	struct job_param *params;
	size_t		 nparams;
	json_t		*envs;		/* array */
	struct job_step	*steps;
	size_t		 nsteps;
	size_t		*order;
	struct symtab	*symtab;
};

/* Context of one job_create() run. */
struct jctx {
	struct job		*job;
	const char		*file;		/* job template file */
	struct error_list	*el;
	struct template_limits	 lim;
	struct symtab		*tmpl_st;	/* Param (no PATH) + RawParam */
	struct buf		 path;
	int			 failed;
};

static void
jerr(struct jctx *c, const struct node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
jerr(struct jctx *c, const struct node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vadd(c->el, c->file, at ? at->line : 0, at ? at->col : 0,
	    c->path.s, fmt, ap);
	va_end(ap);
	c->failed = 1;
}

static size_t
jpush(struct jctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static size_t
jpush(struct jctx *c, const char *fmt, ...)
{
	size_t mark = c->path.len;
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&c->path, fmt, ap);
	va_end(ap);
	return mark;
}

static void
jpop(struct jctx *c, size_t mark)
{
	buf_truncate(&c->path, mark);
}

/* ---- small helpers ---------------------------------------------------- */

/* 1 if s holds a character of the Unicode Cc category. */
static int
job_has_cc(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 1;
		if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
			return 1;
	}
	return 0;
}

/*
 * Resolves the format string of node n (a string) in the template scope.
 * Returns a new string, or NULL after an error at n.
 */
static char *
job_resolve(struct jctx *c, const struct node *n)
{
	char *msg, *s;

	if (!fmt_has_refs(n->str))
		return xstrdup(n->str);
	s = fmt_resolve(n->str, c->tmpl_st, &msg);
	if (s == NULL) {
		jerr(c, n, "cannot resolve format string '%s': %s", n->str,
		    msg);
		free(msg);
	}
	return s;
}

/* "'x' (resolved from '{{Param.A}}')" or "'x'" for messages. */
static char *
job_shown(const struct node *n, const char *resolved)
{
	if (fmt_has_refs(n->str))
		return xasprintf("'%s' (resolved from '%s')", resolved, n->str);
	return xasprintf("'%s'", resolved);
}

static char *
job_abs_dir_of(const char *file)
{
	char cwd[4096], *abs, *slash, *dir;

	if (file[0] == '/') {
		abs = param_path_normalize(file, NULL);
	} else {
		if (getcwd(cwd, sizeof(cwd)) == NULL)
			strcpy(cwd, "/");
		abs = param_path_join(cwd, file);
	}
	slash = strrchr(abs, '/');
	if (slash == abs)
		dir = xstrdup("/");
	else
		dir = xstrndup(abs, (size_t)(slash - abs));
	free(abs);
	return dir;
}

/* ---- host requirements ------------------------------------------------ */

static const char *const job_reserved_scopes[] = {
	"worker", "job", "step", "task", NULL
};
static const char *const job_std_amounts[] = {
	"amount.worker.vcpu", "amount.worker.memory", "amount.worker.gpu",
	"amount.worker.gpu.memory", "amount.worker.disk.scratch", NULL
};
static const char *const job_os_family[] = { "linux", "windows", "macos",
	NULL };
static const char *const job_cpu_arch[] = { "x86_64", "arm64", NULL };
static const struct {
	const char		*name;
	const char *const	*values;
} job_std_attrs[] = {
	{ "attr.worker.os.family", job_os_family },
	{ "attr.worker.cpu.arch", job_cpu_arch },
};

static int
job_in_list_ci(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcasecmp(*list, s) == 0)
			return 1;
	return 0;
}

static int
job_ident_at(const char **pp)
{
	const char *p = *pp;

	if (!isalpha((unsigned char)*p) && *p != '_')
		return 0;
	while (isalnum((unsigned char)*p) || *p == '_')
		p++;
	*pp = p;
	return 1;
}

/* The capability part of a name (after an optional "vendor:" prefix). */
static const char *
job_cap_part(const char *name)
{
	const char *colon = strchr(name, ':');

	return colon ? colon + 1 : name;
}

/*
 * Checks a resolved capability name of kind "amount" or "attr".  Returns
 * NULL if valid, else a message (caller frees).
 */
static char *
job_cap_check(const char *name, const char *kind, size_t maxlen)
{
	size_t len = param_utf8_len(name), klen = strlen(kind);
	const char *p = name, *cap;
	char scope[128];

	if (len == 0)
		return xstrdup("must not be empty");
	if (len > maxlen)
		return xasprintf("'%s' is %zu characters long, more than the "
		    "%zu allowed", name, len, maxlen);
	/* [<Identifier>:]kind.<Identifier>[.<Identifier>]* */
	if (strchr(p, ':') != NULL) {
		if (!job_ident_at(&p) || *p != ':')
			goto bad;
		p++;
	}
	cap = p;
	if (strncasecmp(p, kind, klen) != 0 || p[klen] != '.')
		goto bad;
	p += klen + 1;
	const char *scope_start = p;
	if (!job_ident_at(&p))
		goto bad;
	snprintf(scope, sizeof(scope), "%.*s", (int)(p - scope_start),
	    scope_start);
	while (*p == '.') {
		p++;
		if (!job_ident_at(&p))
			goto bad;
	}
	if (*p != '\0')
		goto bad;
	if (job_in_list_ci(job_reserved_scopes, scope)) {
		int std = 0;
		if (strcmp(kind, "amount") == 0)
			std = job_in_list_ci(job_std_amounts, cap);
		else
			for (size_t i = 0; i < sizeof(job_std_attrs) /
			    sizeof(job_std_attrs[0]); i++)
				std |= strcasecmp(job_std_attrs[i].name,
				    cap) == 0;
		if (!std)
			return xasprintf("'%s' uses the reserved scope "
			    "'%s.%s': only the capabilities the "
			    "specification defines may use it", name, kind,
			    scope);
	}
	return NULL;
bad:
	return xasprintf("'%s' is not a valid %s capability name (expected "
	    "[vendor:]%s.name[.name...] with identifier parts)", name,
	    strcmp(kind, "amount") == 0 ? "amount" : "attribute", kind);
}

static char *
job_attr_value_check(const char *cap_name, const char *v, size_t maxlen)
{
	size_t len = param_utf8_len(v);
	const char *p = v;

	if (len == 0)
		return xstrdup("must not be empty");
	if (len > maxlen)
		return xasprintf("'%s' is %zu characters long, more than the "
		    "%zu allowed", v, len, maxlen);
	if (!isalpha((unsigned char)*p) && *p != '_')
		goto bad;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			goto bad;
	for (size_t i = 0; i < sizeof(job_std_attrs) / sizeof(job_std_attrs[0]);
	    i++) {
		if (strcasecmp(job_cap_part(cap_name),
		    job_std_attrs[i].name) != 0)
			continue;
		if (!job_in_list_ci(job_std_attrs[i].values, v)) {
			struct buf b = BUF_INIT;
			for (const char *const *s = job_std_attrs[i].values; *s;
			    s++)
				buf_addf(&b, "%s%s", b.len ? ", " : "", *s);
			char *m = xasprintf("'%s' is not a value of %s (one of: "
			    "%s)", v, job_std_attrs[i].name, b.s);
			buf_release(&b);
			return m;
		}
	}
	return NULL;
bad:
	return xasprintf("'%s' is not a valid attribute value (latin letters, "
	    "digits, '_' and '-', starting with a letter or '_')", v);
}

/* Reports msg about the resolved value of n, naming the format string. */
static void
job_cap_error(struct jctx *c, const struct node *n, const char *msg)
{
	if (fmt_has_refs(n->str))
		jerr(c, n, "%s (resolved from '%s')", msg, n->str);
	else
		jerr(c, n, "%s", msg);
}

/* Resolves one amount bound (FEATURE_BUNDLE_1 allows a format string). */
static void
job_amount_bound(struct jctx *c, const struct node *n, json_t *obj,
    const char *key, int is_max, double *out, int *have)
{
	double v;
	size_t mark;

	if (n == NULL)
		return;
	mark = jpush(c, ".%s", key);
	if (n->kind == NODE_INT || n->kind == NODE_FLOAT) {
		v = n->kind == NODE_INT ? (double)n->v.i : n->v.f;
	} else if (n->kind == NODE_STRING) {
		char *s = job_resolve(c, n);
		int64_t iv;
		if (s == NULL) {
			jpop(c, mark);
			return;
		}
		if (param_parse_float(s, &v) < 0) {
			char *sh = job_shown(n, s);
			jerr(c, n, "%s is not a number", sh);
			free(sh);
			free(s);
			jpop(c, mark);
			return;
		}
		if (param_parse_int(s, &iv) == 0)
			json_object_set_new(obj, key, json_integer(iv));
		else
			json_object_set_new(obj, key, json_real(v));
		free(s);
	} else {
		jpop(c, mark);
		return;
	}
	if (is_max ? !(v > 0) : !(v >= 0))
		jerr(c, n, "%s %g must be %s", key, v,
		    is_max ? "greater than 0" : "0 or more");
	*out = v;
	*have = 1;
	jpop(c, mark);
}

static json_t *
job_host_requirements(struct jctx *c, const struct node *hr)
{
	json_t *j = node_to_json(hr), *arr;
	const struct node *amounts = node_get(hr, "amounts");
	const struct node *attrs = node_get(hr, "attributes");
	char **names;
	size_t mark;

	if (amounts && amounts->kind == NODE_SEQ) {
		arr = json_object_get(j, "amounts");
		names = xcalloc(amounts->n + 1, sizeof(char *));
		for (size_t i = 0; i < amounts->n; i++) {
			const struct node *a = amounts->items[i];
			const struct node *nm = node_get(a, "name");
			json_t *aj = json_array_get(arr, i);
			double mn = 0, mx = 0;
			int hmn = 0, hmx = 0;

			mark = jpush(c, ".amounts[%zu]", i);
			if (nm && nm->kind == NODE_STRING) {
				size_t m2 = jpush(c, ".name");
				char *s = job_resolve(c, nm), *msg;
				if (s && (msg = job_cap_check(s, "amount",
				    c->lim.capability_name_len)) != NULL) {
					job_cap_error(c, nm, msg);
					free(msg);
				} else if (s) {
					for (size_t k = 0; k < i; k++) {
						if (names[k] && strcasecmp(
						    names[k], s) == 0) {
							jerr(c, nm, "amount "
							    "'%s' is required "
							    "twice (also "
							    "amounts[%zu])", s,
							    k);
							break;
						}
					}
					json_object_set_new(aj, "name",
					    json_string(s));
				}
				names[i] = s;
				jpop(c, m2);
			}
			job_amount_bound(c, node_get(a, "min"), aj, "min", 0,
			    &mn, &hmn);
			job_amount_bound(c, node_get(a, "max"), aj, "max", 1,
			    &mx, &hmx);
			if (hmn && hmx && mn > mx)
				jerr(c, a, "min %g is greater than max %g", mn,
				    mx);
			jpop(c, mark);
		}
		for (size_t i = 0; i < amounts->n; i++)
			free(names[i]);
		free(names);
	}
	if (attrs && attrs->kind == NODE_SEQ) {
		arr = json_object_get(j, "attributes");
		names = xcalloc(attrs->n + 1, sizeof(char *));
		for (size_t i = 0; i < attrs->n; i++) {
			const struct node *a = attrs->items[i];
			const struct node *nm = node_get(a, "name");
			json_t *aj = json_array_get(arr, i);
			static const char *const lists[2] = { "anyOf", "allOf" };

			mark = jpush(c, ".attributes[%zu]", i);
			if (nm && nm->kind == NODE_STRING) {
				size_t m2 = jpush(c, ".name");
				char *s = job_resolve(c, nm), *msg;
				if (s && (msg = job_cap_check(s, "attr",
				    c->lim.capability_name_len)) != NULL) {
					job_cap_error(c, nm, msg);
					free(msg);
				} else if (s) {
					for (size_t k = 0; k < i; k++) {
						if (names[k] && strcasecmp(
						    names[k], s) == 0) {
							jerr(c, nm, "attribute "
							    "'%s' is required "
							    "twice (also "
							    "attributes[%zu])",
							    s, k);
							break;
						}
					}
					json_object_set_new(aj, "name",
					    json_string(s));
				}
				names[i] = s;
				jpop(c, m2);
			}
			for (int l = 0; l < 2; l++) {
				const struct node *vl = node_get(a, lists[l]);
				json_t *vj = json_object_get(aj, lists[l]);
				if (vl == NULL || vl->kind != NODE_SEQ)
					continue;
				for (size_t k = 0; k < vl->n; k++) {
					const struct node *it = vl->items[k];
					size_t m3;
					char *s, *msg;
					if (it->kind != NODE_STRING)
						continue;
					m3 = jpush(c, ".%s[%zu]", lists[l], k);
					s = job_resolve(c, it);
					if (s && (msg = job_attr_value_check(
					    names[i] ? names[i] : "", s,
					    c->lim.attr_value_len)) != NULL) {
						job_cap_error(c, it, msg);
						free(msg);
					} else if (s) {
						json_array_set_new(vj, k,
						    json_string(s));
					}
					free(s);
					jpop(c, m3);
				}
			}
			jpop(c, mark);
		}
		for (size_t i = 0; i < attrs->n; i++)
			free(names[i]);
		free(names);
	}
	return j;
}

/* ---- parameter space -------------------------------------------------- */

/* Resolves a chunks count (TASK_CHUNKING; may be a format string). */
static void
job_chunk_count(struct jctx *c, const struct node *n, json_t *chunks,
    const char *key, int64_t min)
{
	int64_t v;
	size_t mark;

	if (n == NULL)
		return;
	mark = jpush(c, ".%s", key);
	if (n->kind == NODE_INT) {
		v = n->v.i;
	} else if (n->kind == NODE_STRING) {
		char *s = job_resolve(c, n);
		if (s == NULL) {
			jpop(c, mark);
			return;
		}
		if (param_parse_int(s, &v) < 0) {
			char *sh = job_shown(n, s);
			jerr(c, n, "%s is not an integer", sh);
			free(sh);
			free(s);
			jpop(c, mark);
			return;
		}
		free(s);
		json_object_set_new(chunks, key, json_integer(v));
	} else {
		jpop(c, mark);
		return;
	}
	if (v < min)
		jerr(c, n, "%s must be at least %lld, not %lld", key,
		    (long long)min, (long long)v);
	jpop(c, mark);
}

static void
job_range_item(struct jctx *c, const char *type, const struct node *it,
    json_t *arr, size_t k)
{
	size_t mark = jpush(c, "[%zu]", k);
	int is_int = strcmp(type, "INT") == 0 ||
	    strcmp(type, "CHUNK[INT]") == 0;
	int is_float = strcmp(type, "FLOAT") == 0;
	char *s, *sh;
	int64_t iv;
	double fv;

	if (it->kind == NODE_INT && !is_float) {
		if (!is_int)
			json_array_set_new(arr, k, json_string(it->str));
		jpop(c, mark);
		return;
	}
	if (!node_is_scalar(it) || it->kind == NODE_NULL) {
		jpop(c, mark);
		return;
	}
	s = it->kind == NODE_STRING ? job_resolve(c, it) : xstrdup(it->str);
	if (s == NULL) {
		jpop(c, mark);
		return;
	}
	sh = job_shown(it, s);
	if (is_int) {
		int r = param_parse_int(s, &iv);
		if (r == 0)
			json_array_set_new(arr, k, json_integer(iv));
		else
			jerr(c, it, "%s is not %s", sh, r == -2 ?
			    "within the 64-bit integer range" :
			    "an integer");
	} else if (is_float) {
		if (param_parse_float(s, &fv) == 0)
			json_array_set_new(arr, k, json_string(s));
		else
			jerr(c, it, "%s is not a number", sh);
	} else {
		size_t len = param_utf8_len(s);
		if (len == 0)
			jerr(c, it, "resolves to an empty string");
		else if (len > c->lim.task_string_len)
			jerr(c, it, "resolves to %zu characters, more than the "
			    "%zu allowed", len, c->lim.task_string_len);
		else
			json_array_set_new(arr, k, json_string(s));
	}
	free(sh);
	free(s);
	jpop(c, mark);
}

static json_t *
job_parameter_space(struct jctx *c, const struct node *ps)
{
	json_t *j = node_to_json(ps);
	const struct node *defs = node_get(ps, "taskParameterDefinitions");
	json_t *dj = json_object_get(j, "taskParameterDefinitions");

	if (defs == NULL || defs->kind != NODE_SEQ)
		return j;
	for (size_t i = 0; i < defs->n; i++) {
		const struct node *d = defs->items[i];
		const struct node *ty = node_get(d, "type");
		const struct node *r = node_get(d, "range");
		const struct node *ch = node_get(d, "chunks");
		json_t *tj = json_array_get(dj, i);
		const char *type = ty && ty->kind == NODE_STRING ? ty->str : "";
		size_t mark = jpush(c, ".taskParameterDefinitions[%zu]", i);

		if (r && r->kind == NODE_STRING) {
			size_t m2 = jpush(c, ".range");
			char *s = job_resolve(c, r), *msg = NULL;
			size_t off;
			if (s && (strcmp(type, "INT") == 0 ||
			    strcmp(type, "CHUNK[INT]") == 0) &&
			    range_expr_validate(s, &off, &msg) < 0) {
				char *sh = job_shown(r, s);
				jerr(c, r, "range expression %s is not valid at "
				    "character %zu: %s", sh, off + 1, msg);
				free(sh);
			} else if (s) {
				json_object_set_new(tj, "range",
				    json_string(s));
			}
			free(msg);
			free(s);
			jpop(c, m2);
		} else if (r && r->kind == NODE_SEQ) {
			size_t m2 = jpush(c, ".range");
			json_t *rj = json_object_get(tj, "range");
			for (size_t k = 0; k < r->n; k++)
				job_range_item(c, type, r->items[k], rj, k);
			jpop(c, m2);
		}
		if (ch && ch->kind == NODE_MAP) {
			size_t m2 = jpush(c, ".chunks");
			json_t *cj = json_object_get(tj, "chunks");
			job_chunk_count(c, node_get(ch, "defaultTaskCount"), cj,
			    "defaultTaskCount", 1);
			job_chunk_count(c, node_get(ch, "targetRuntimeSeconds"),
			    cj, "targetRuntimeSeconds", 0);
			jpop(c, m2);
		}
		jpop(c, mark);
	}
	return j;
}

/* ---- creation --------------------------------------------------------- */

static void
job_step_release(struct job_step *s)
{
	free(s->name);
	free(s->description);
	json_decref(s->script);
	json_decref(s->envs);
	json_decref(s->host);
	json_decref(s->pspace);
	space_free(s->space);
	free(s->deps);
}

void
job_free(struct job *job)
{
	if (job == NULL)
		return;
	free(job->name);
	free(job->description);
	free(job->template_dir);
	for (size_t i = 0; i < job->nparams; i++) {
		free(job->params[i].name);
		free(job->params[i].value);
		free(job->params[i].object_type);
		free(job->params[i].data_flow);
	}
	free(job->params);
	json_decref(job->envs);
	for (size_t i = 0; i < job->nsteps; i++)
		job_step_release(&job->steps[i]);
	free(job->steps);
	free(job->order);
	symtab_free(job->symtab);
	free(job);
}

struct job_dep_report {
	struct error_list	*el;
	const char		*file;
	const struct node	**nodes;
	char			**paths;
};

static void
job_dep_report(void *arg, size_t dep, const char *msg)
{
	struct job_dep_report *r = arg;

	error_add(r->el, r->file, r->nodes ? r->nodes[dep]->line : 0,
	    r->nodes ? r->nodes[dep]->col : 0, r->paths[dep], "%s", msg);
}

/*
 * Fills the steps' dependency indexes and job->order from the dependency
 * names.  nodes (positions, may be NULL) and paths are per dependency.
 */
static int
job_link_steps(struct job *job, struct stepgraph_dep *deps, size_t ndeps,
    const struct node **nodes, char **paths, const char *file,
    struct error_list *el)
{
	const char **names = xcalloc(job->nsteps + 1, sizeof(char *));
	struct job_dep_report r = { el, file, nodes, paths };
	size_t problems;

	for (size_t i = 0; i < job->nsteps; i++)
		names[i] = job->steps[i].name;
	problems = stepgraph_check(job->nsteps, names, deps, ndeps,
	    STEPGRAPH_ORDER_DFS, &job->order, job_dep_report, &r);
	if (problems == 0) {
		for (size_t d = 0; d < ndeps; d++) {
			struct job_step *s = &job->steps[deps[d].step];
			long to = job_step_find(job, deps[d].name);
			s->deps = xreallocarray(s->deps, s->ndeps + 1,
			    sizeof(size_t));
			s->deps[s->ndeps++] = (size_t)to;
		}
	}
	free(names);
	return problems == 0 ? 0 : -1;
}

static void
job_set_params(struct job *job, const struct param_defs *defs,
    const struct param_values *vals)
{
	job->nparams = defs->n;
	job->params = xcalloc(defs->n + 1, sizeof(*job->params));
	job->symtab = symtab_new();
	for (size_t i = 0; i < defs->n; i++) {
		const struct param_def *d = &defs->v[i];
		struct job_param *p = &job->params[i];
		p->name = xstrdup(d->name);
		p->type = d->type;
		p->value = xstrdup(param_values_get(vals, d->name));
		p->object_type = d->object_type ? xstrdup(d->object_type) :
		    NULL;
		p->data_flow = d->data_flow ? xstrdup(d->data_flow) : NULL;
	}
}

static void
job_fill_symtab(struct job *job, struct symtab **tmpl)
{
	if (job->symtab == NULL)
		job->symtab = symtab_new();
	if (tmpl)
		*tmpl = symtab_new();
	for (size_t i = 0; i < job->nparams; i++) {
		const struct job_param *p = &job->params[i];
		char *pn = xasprintf("Param.%s", p->name);
		char *rn = xasprintf("RawParam.%s", p->name);
		symtab_set(job->symtab, pn, p->value);
		symtab_set(job->symtab, rn, p->value);
		if (tmpl) {
			if (p->type != PARAM_PATH)
				symtab_set(*tmpl, pn, p->value);
			symtab_set(*tmpl, rn, p->value);
		}
		free(pn);
		free(rn);
	}
}

static void
job_create_name(struct jctx *c, const struct node *root)
{
	const struct node *nm = node_get(root, "name");
	char *s;
	size_t len, mark = jpush(c, "name");

	if (nm == NULL || nm->kind != NODE_STRING) {
		jerr(c, root, "the job template has no name");
		jpop(c, mark);
		return;
	}
	s = job_resolve(c, nm);
	if (s == NULL) {
		jpop(c, mark);
		return;
	}
	len = param_utf8_len(s);
	if (len == 0)
		jerr(c, nm, "the job name resolves to an empty string");
	else if (len > c->lim.job_name_len)
		jerr(c, nm, "the job name resolves to %zu characters, more "
		    "than the %zu allowed%s", len, c->lim.job_name_len,
		    c->lim.job_name_len < 512 ?
		    " (FEATURE_BUNDLE_1 allows 512)" : "");
	else if (job_has_cc(s))
		jerr(c, nm, "the job name resolves to text with a control "
		    "character");
	c->job->name = s;
	jpop(c, mark);
}

static void
job_create_steps(struct jctx *c, const struct node *steps)
{
	struct job *job = c->job;
	struct stepgraph_dep *deps = NULL;
	const struct node **dnodes = NULL;
	char **dpaths = NULL;
	size_t ndeps = 0, alloc = 0, a2 = 0, a3 = 0;

	if (steps == NULL || steps->kind != NODE_SEQ || steps->n == 0) {
		jerr(c, steps, "the job template has no steps");
		return;
	}
	job->nsteps = steps->n;
	job->steps = xcalloc(steps->n, sizeof(*job->steps));
	for (size_t i = 0; i < steps->n; i++) {
		const struct node *sn = steps->items[i], *n;
		struct job_step *s = &job->steps[i];
		size_t mark = jpush(c, "steps[%zu]", i);

		n = node_get(sn, "name");
		s->name = xstrdup(n && n->kind == NODE_STRING ? n->str : "");
		n = node_get(sn, "description");
		if (n && node_is_scalar(n) && n->kind != NODE_NULL)
			s->description = xstrdup(n->str);
		n = node_get(sn, "script");
		if (n != NULL) {
			s->script = node_to_json(n);
		} else {
			/* a FEATURE_BUNDLE_1 simple action: expand it */
			json_t *sj = node_to_json(sn);
			char *err = NULL;

			s->script = simple_action_script(sj, &err);
			json_decref(sj);
			if (s->script == NULL) {
				jerr(c, sn, "%s", err);
				free(err);
				s->script = json_object();
			}
		}
		n = node_get(sn, "stepEnvironments");
		if (n && n->kind == NODE_SEQ)
			s->envs = node_to_json(n);
		n = node_get(sn, "hostRequirements");
		if (n && n->kind == NODE_MAP) {
			size_t m2 = jpush(c, ".hostRequirements");
			s->host = job_host_requirements(c, n);
			jpop(c, m2);
		}
		n = node_get(sn, "parameterSpace");
		if (n && n->kind == NODE_MAP) {
			size_t m2 = jpush(c, ".parameterSpace");
			int before = c->failed;
			c->failed = 0;
			s->pspace = job_parameter_space(c, n);
			if (!c->failed) {
				struct error_list sel = ERROR_LIST_INIT;
				s->space = space_new_ex(s->pspace, &sel,
				    c->file, c->path.s);
				for (size_t e = 0; e < sel.n; e++) {
					error_add(c->el, sel.v[e].file,
					    sel.v[e].line ? sel.v[e].line :
					    n->line, sel.v[e].line ?
					    sel.v[e].col : n->col,
					    sel.v[e].path, "%s", sel.v[e].msg);
					c->failed = 1;
				}
				error_list_release(&sel);
			}
			c->failed |= before;
			jpop(c, m2);
		} else {
			s->space = space_new(NULL, c->el, c->file);
		}
		n = node_get(sn, "dependencies");
		if (n && n->kind == NODE_SEQ) {
			for (size_t k = 0; k < n->n; k++) {
				const struct node *dn = node_get(n->items[k],
				    "dependsOn");
				if (dn == NULL || dn->kind != NODE_STRING)
					continue;
				ALLOC_GROW(deps, ndeps + 1, alloc);
				ALLOC_GROW(dnodes, ndeps + 1, a2);
				ALLOC_GROW(dpaths, ndeps + 1, a3);
				deps[ndeps].step = i;
				deps[ndeps].name = dn->str;
				dnodes[ndeps] = dn;
				dpaths[ndeps] = xasprintf("steps[%zu]."
				    "dependencies[%zu].dependsOn", i, k);
				ndeps++;
			}
		}
		jpop(c, mark);
	}
	if (job_link_steps(job, deps, ndeps, dnodes, dpaths, c->file,
	    c->el) < 0)
		c->failed = 1;
	for (size_t d = 0; d < ndeps; d++)
		free(dpaths[d]);
	free(dpaths);
	free(dnodes);
	free(deps);
}

struct job *
job_create(const struct template *job_tmpl,
    const struct template *const *env_tmpls, size_t nenv,
    const struct param_values *values, const char *cwd,
    struct error_list *el)
{
	struct param_defs defs = PARAM_DEFS_INIT;
	struct param_values vals = PARAM_VALUES_INIT;
	const struct param_values none = PARAM_VALUES_INIT;
	struct jctx c;
	const struct node *root = job_tmpl->doc.root, *n;
	char cwdbuf[4096], *cwd_abs;
	int rc = 0;

	memset(&c, 0, sizeof(c));
	c.file = job_tmpl->doc.file;
	c.el = el;
	buf_init(&c.path);
	if (root == NULL || root->kind != NODE_MAP ||
	    job_tmpl->kind != TEMPLATE_JOB) {
		error_add(el, c.file, 0, 0, NULL, "not a valid job template");
		return NULL;
	}
	for (size_t i = 0; i < nenv; i++) {
		if (env_tmpls[i]->doc.root == NULL ||
		    env_tmpls[i]->kind != TEMPLATE_ENV) {
			error_add(el, env_tmpls[i]->doc.file, 0, 0, NULL,
			    "not a valid environment template");
			return NULL;
		}
	}
	if (getcwd(cwdbuf, sizeof(cwdbuf)) == NULL)
		strcpy(cwdbuf, "/");
	if (cwd == NULL)
		cwd_abs = param_path_normalize(cwdbuf, NULL);
	else
		cwd_abs = param_path_join(cwdbuf, cwd);

	c.job = xcalloc(1, sizeof(struct job));
	c.job->template_dir = job_abs_dir_of(c.file);
	c.job->extensions = job_tmpl->extensions;
	template_limits_init(&c.lim, job_tmpl->extensions);

	/* 1.2.1: environment templates in order, the job template last */
	for (size_t i = 0; i < nenv; i++)
		if (param_defs_merge(&defs, node_get(env_tmpls[i]->doc.root,
		    "parameterDefinitions"), env_tmpls[i]->doc.file, el) < 0)
			rc = -1;
	if (param_defs_merge(&defs, node_get(root, "parameterDefinitions"),
	    c.file, el) < 0)
		rc = -1;
	if (rc == 0 && param_defs_check(&defs, el) < 0)
		rc = -1;
	{
		const struct node *pd = node_get(root, "parameterDefinitions");
		const struct node *at = pd ? pd : root;

		defs.origin_file = c.file;
		defs.origin_line = at->line;
		defs.origin_col = at->col;
	}
	if (rc == 0 && param_defs_resolve(&defs, values ? values : &none,
	    c.job->template_dir, cwd_abs, &vals, el) < 0)
		rc = -1;
	free(cwd_abs);
	if (rc < 0)
		goto fail;
	job_set_params(c.job, &defs, &vals);
	job_fill_symtab(c.job, &c.tmpl_st);

	job_create_name(&c, root);
	n = node_get(root, "description");
	if (n && node_is_scalar(n) && n->kind != NODE_NULL)
		c.job->description = xstrdup(n->str);

	c.job->envs = json_array();
	for (size_t i = 0; i < nenv; i++) {
		n = node_get(env_tmpls[i]->doc.root, "environment");
		if (n == NULL)
			continue;
		json_t *e = node_to_json(n);
		if (json_is_object(e))
			json_object_set_new(e, "source",
			    json_string(env_tmpls[i]->doc.file));
		json_array_append_new(c.job->envs, e);
	}
	n = node_get(root, "jobEnvironments");
	if (n && n->kind == NODE_SEQ)
		for (size_t i = 0; i < n->n; i++)
			json_array_append_new(c.job->envs,
			    node_to_json(n->items[i]));

	job_create_steps(&c, node_get(root, "steps"));
	if (c.failed)
		goto fail;
	symtab_free(c.tmpl_st);
	param_defs_release(&defs);
	param_values_release(&vals);
	buf_release(&c.path);
	return c.job;
fail:
	symtab_free(c.tmpl_st);
	param_defs_release(&defs);
	param_values_release(&vals);
	buf_release(&c.path);
	job_free(c.job);
	return NULL;
}

/* ---- JSON ------------------------------------------------------------- */

static void
job_set_opt_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

json_t *
job_to_json(const struct job *job)
{
	json_t *j = json_object(), *a;

	json_object_set_new(j, "format", json_string(JOB_JSON_FORMAT));
	json_object_set_new(j, "name", json_string(job->name));
	job_set_opt_str(j, "description", job->description);
	a = json_array();
	for (unsigned bit = 1; bit != 0 && bit <= TEMPLATE_EXT_EXPR;
	    bit <<= 1) {
		const char *nm;
		if ((job->extensions & bit) &&
		    (nm = template_extension_name(bit)) != NULL)
			json_array_append_new(a, json_string(nm));
	}
	json_object_set_new(j, "extensions", a);
	json_object_set_new(j, "templateDir", json_string(job->template_dir));
	a = json_array();
	for (size_t i = 0; i < job->nparams; i++) {
		const struct job_param *p = &job->params[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(p->name));
		json_object_set_new(o, "type",
		    json_string(param_type_name(p->type)));
		json_object_set_new(o, "value", json_string(p->value));
		job_set_opt_str(o, "objectType", p->object_type);
		job_set_opt_str(o, "dataFlow", p->data_flow);
		json_array_append_new(a, o);
	}
	json_object_set_new(j, "parameters", a);
	json_object_set_new(j, "jobEnvironments", json_deep_copy(job->envs));
	a = json_array();
	for (size_t i = 0; i < job->nsteps; i++) {
		const struct job_step *s = &job->steps[i];
		json_t *o = json_object();
		json_object_set_new(o, "name", json_string(s->name));
		job_set_opt_str(o, "description", s->description);
		if (s->ndeps > 0) {
			json_t *d = json_array();
			for (size_t k = 0; k < s->ndeps; k++)
				json_array_append_new(d, json_string(
				    job->steps[s->deps[k]].name));
			json_object_set_new(o, "dependencies", d);
		}
		if (s->host)
			json_object_set_new(o, "hostRequirements",
			    json_deep_copy(s->host));
		if (s->pspace)
			json_object_set_new(o, "parameterSpace",
			    json_deep_copy(s->pspace));
		if (s->envs)
			json_object_set_new(o, "stepEnvironments",
			    json_deep_copy(s->envs));
		json_object_set_new(o, "script", json_deep_copy(s->script));
		json_array_append_new(a, o);
	}
	json_object_set_new(j, "steps", a);
	return j;
}

/* Required string member; error (path/key) and NULL if absent. */
static const char *
job_json_str(const json_t *o, const char *key, const char *path, int opt,
    struct error_list *el)
{
	const json_t *v = json_object_get(o, key);

	if (v == NULL && opt)
		return NULL;
	if (!json_is_string(v)) {
		error_add(el, NULL, 0, 0, path, "'%s' %s", key, v == NULL ?
		    "is missing" : "must be a string");
		return NULL;
	}
	return json_string_value(v);
}

static json_t *
job_json_opt(const json_t *o, const char *key, int want_array,
    const char *path, int *bad, struct error_list *el)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL || json_is_null(v))
		return NULL;
	if (want_array ? !json_is_array(v) : !json_is_object(v)) {
		error_add(el, NULL, 0, 0, path, "'%s' must be %s", key,
		    want_array ? "a list" : "an object");
		*bad = 1;
		return NULL;
	}
	return json_deep_copy(v);
}

struct job *
job_from_json(const json_t *j, struct error_list *el)
{
	struct job *job;
	const json_t *a, *v;
	const char *s;
	struct stepgraph_dep *deps = NULL;
	char **dpaths = NULL;
	size_t ndeps = 0, alloc = 0, a2 = 0, i;
	int bad = 0;
	char path[96];

	if (!json_is_object(j)) {
		error_add(el, NULL, 0, 0, NULL, "a job must be a JSON object");
		return NULL;
	}
	s = job_json_str(j, "format", "", 0, el);
	if (s == NULL)
		return NULL;
	if (strcmp(s, JOB_JSON_FORMAT) != 0) {
		error_add(el, NULL, 0, 0, "format", "unsupported job format "
		    "'%s' (expected '%s')", s, JOB_JSON_FORMAT);
		return NULL;
	}
	job = xcalloc(1, sizeof(*job));
	if ((s = job_json_str(j, "name", "", 0, el)) == NULL)
		bad = 1;
	job->name = xstrdup(s ? s : "");
	if ((s = job_json_str(j, "description", "", 1, el)) != NULL)
		job->description = xstrdup(s);
	if ((s = job_json_str(j, "templateDir", "", 0, el)) == NULL)
		bad = 1;
	job->template_dir = xstrdup(s ? s : "/");
	a = json_object_get(j, "extensions");
	if (a != NULL && !json_is_array(a)) {
		error_add(el, NULL, 0, 0, "extensions", "must be a list");
		bad = 1;
	} else if (a != NULL) {
		json_array_foreach(a, i, v) {
			unsigned bit = json_is_string(v) ?
			    template_extension_bit(json_string_value(v)) : 0;
			if (bit == 0) {
				snprintf(path, sizeof(path), "extensions[%zu]",
				    i);
				error_add(el, NULL, 0, 0, path, "unknown "
				    "extension");
				bad = 1;
			}
			job->extensions |= bit;
		}
	}
	a = json_object_get(j, "parameters");
	if (a != NULL && !json_is_array(a)) {
		error_add(el, NULL, 0, 0, "parameters", "must be a list");
		bad = 1;
	} else if (a != NULL) {
		job->params = xcalloc(json_array_size(a) + 1,
		    sizeof(*job->params));
		json_array_foreach(a, i, v) {
			struct job_param *p = &job->params[job->nparams];
			const char *nm, *ty, *val;
			snprintf(path, sizeof(path), "parameters[%zu]", i);
			nm = job_json_str(v, "name", path, 0, el);
			ty = job_json_str(v, "type", path, 0, el);
			val = job_json_str(v, "value", path, 0, el);
			if (nm == NULL || ty == NULL || val == NULL) {
				bad = 1;
				continue;
			}
			if (param_type_parse(ty, &p->type) < 0) {
				error_add(el, NULL, 0, 0, path, "unknown "
				    "parameter type '%s'", ty);
				bad = 1;
				continue;
			}
			p->name = xstrdup(nm);
			p->value = xstrdup(val);
			if ((s = job_json_str(v, "objectType", path, 1, el)))
				p->object_type = xstrdup(s);
			if ((s = job_json_str(v, "dataFlow", path, 1, el)))
				p->data_flow = xstrdup(s);
			job->nparams++;
		}
	}
	job_fill_symtab(job, NULL);
	job->envs = job_json_opt(j, "jobEnvironments", 1, "", &bad, el);
	if (job->envs == NULL)
		job->envs = json_array();
	a = json_object_get(j, "steps");
	if (!json_is_array(a) || json_array_size(a) == 0) {
		error_add(el, NULL, 0, 0, "steps", "must be a non-empty list");
		job_free(job);
		return NULL;
	}
	job->nsteps = json_array_size(a);
	job->steps = xcalloc(job->nsteps, sizeof(*job->steps));
	json_array_foreach(a, i, v) {
		struct job_step *st = &job->steps[i];
		const json_t *d, *dv;
		size_t k;

		snprintf(path, sizeof(path), "steps[%zu]", i);
		s = job_json_str(v, "name", path, 0, el);
		st->name = xstrdup(s ? s : "");
		if (s == NULL)
			bad = 1;
		if ((s = job_json_str(v, "description", path, 1, el)))
			st->description = xstrdup(s);
		st->script = job_json_opt(v, "script", 0, path, &bad, el);
		if (st->script == NULL) {
			error_add(el, NULL, 0, 0, path, "'script' is missing");
			st->script = json_object();
			bad = 1;
		}
		st->envs = job_json_opt(v, "stepEnvironments", 1, path, &bad,
		    el);
		st->host = job_json_opt(v, "hostRequirements", 0, path, &bad,
		    el);
		st->pspace = job_json_opt(v, "parameterSpace", 0, path, &bad,
		    el);
		snprintf(path, sizeof(path), "steps[%zu].parameterSpace", i);
		st->space = space_new_ex(st->pspace, el, NULL, path);
		if (st->space == NULL)
			bad = 1;
		d = json_object_get(v, "dependencies");
		if (d != NULL && !json_is_array(d)) {
			snprintf(path, sizeof(path), "steps[%zu].dependencies",
			    i);
			error_add(el, NULL, 0, 0, path, "must be a list");
			bad = 1;
			continue;
		}
		json_array_foreach(d, k, dv) {
			snprintf(path, sizeof(path),
			    "steps[%zu].dependencies[%zu]", i, k);
			if (!json_is_string(dv)) {
				error_add(el, NULL, 0, 0, path, "must be a step "
				    "name");
				bad = 1;
				continue;
			}
			ALLOC_GROW(deps, ndeps + 1, alloc);
			ALLOC_GROW(dpaths, ndeps + 1, a2);
			deps[ndeps].step = i;
			deps[ndeps].name = json_string_value(dv);
			dpaths[ndeps++] = xstrdup(path);
		}
	}
	if (!bad && job_link_steps(job, deps, ndeps, NULL, dpaths, NULL,
	    el) < 0)
		bad = 1;
	for (i = 0; i < ndeps; i++)
		free(dpaths[i]);
	free(dpaths);
	free(deps);
	if (bad) {
		job_free(job);
		return NULL;
	}
	return job;
}

/* ---- accessors -------------------------------------------------------- */

const char *
job_name(const struct job *job)
{
	return job->name;
}

const char *
job_description(const struct job *job)
{
	return job->description;
}

const char *
job_template_dir(const struct job *job)
{
	return job->template_dir;
}

unsigned
job_extensions(const struct job *job)
{
	return job->extensions;
}

size_t
job_nparams(const struct job *job)
{
	return job->nparams;
}

const char *
job_param_name(const struct job *job, size_t i)
{
	return i < job->nparams ? job->params[i].name : NULL;
}

enum param_type
job_param_type(const struct job *job, size_t i)
{
	return i < job->nparams ? job->params[i].type : PARAM_STRING;
}

const char *
job_param_value(const struct job *job, size_t i)
{
	return i < job->nparams ? job->params[i].value : NULL;
}

const char *
job_param_object_type(const struct job *job, size_t i)
{
	return i < job->nparams ? job->params[i].object_type : NULL;
}

const char *
job_param_data_flow(const struct job *job, size_t i)
{
	return i < job->nparams ? job->params[i].data_flow : NULL;
}

const char *
job_param_get(const struct job *job, const char *name)
{
	for (size_t i = 0; i < job->nparams; i++)
		if (strcmp(job->params[i].name, name) == 0)
			return job->params[i].value;
	return NULL;
}

const struct symtab *
job_symtab(const struct job *job)
{
	return job->symtab;
}

size_t
job_nenvironments(const struct job *job)
{
	return json_array_size(job->envs);
}

const json_t *
job_environment(const struct job *job, size_t i)
{
	return json_array_get(job->envs, i);
}

size_t
job_nsteps(const struct job *job)
{
	return job->nsteps;
}

long
job_step_find(const struct job *job, const char *name)
{
	for (size_t i = 0; i < job->nsteps; i++)
		if (strcmp(job->steps[i].name, name) == 0)
			return (long)i;
	return -1;
}

const char *
job_step_name(const struct job *job, size_t i)
{
	return i < job->nsteps ? job->steps[i].name : NULL;
}

const char *
job_step_description(const struct job *job, size_t i)
{
	return i < job->nsteps ? job->steps[i].description : NULL;
}

const json_t *
job_step_script(const struct job *job, size_t i)
{
	return i < job->nsteps ? job->steps[i].script : NULL;
}

const json_t *
job_step_environments(const struct job *job, size_t i)
{
	return i < job->nsteps ? job->steps[i].envs : NULL;
}

const json_t *
job_step_host_requirements(const struct job *job, size_t i)
{
	return i < job->nsteps ? job->steps[i].host : NULL;
}

const json_t *
job_step_parameter_space(const struct job *job, size_t i)
{
	return i < job->nsteps ? job->steps[i].pspace : NULL;
}

struct space *
job_step_space(const struct job *job, size_t i)
{
	return i < job->nsteps ? job->steps[i].space : NULL;
}

const size_t *
job_step_deps(const struct job *job, size_t i, size_t *n)
{
	*n = i < job->nsteps ? job->steps[i].ndeps : 0;
	return i < job->nsteps ? job->steps[i].deps : NULL;
}

const size_t *
job_order(const struct job *job, size_t *n)
{
	*n = job->nsteps;
	return job->order;
}
