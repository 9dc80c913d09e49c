/*
 * Steps (Template Schemas §3): names, dependencies (model/stepgraph.h),
 * step environments, host requirements (§3.3), the parameter space
 * (§3.4: task parameters, range expressions via model/range.h, the
 * combination expression via model/space.h, CHUNK[INT] under
 * TASK_CHUNKING), the step script (§3.5) and FEATURE_BUNDLE_1's simple
 * actions (bash, python, cmd, powershell, node).
 *
 * Format strings in a step script see the job parameters, Session.*,
 * Task.Param.* / Task.RawParam.* of this step's task parameters and
 * Task.File.* of this script's embedded files.  Ranges and host
 * requirements are resolved at job creation and see only Param.* (not
 * PATH) and RawParam.*.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "common/xmalloc.h"
#include "model/range.h"
#include "model/space.h"
#include "model/stepgraph.h"
#include "model/template-int.h"

static const char *const step_keys[] = {
	"name", "description", "dependencies", "stepEnvironments",
	"hostRequirements", "parameterSpace", "script",
	"bash", "python", "cmd", "powershell", "node", NULL
};
static const char *const step_required[] = { "name", NULL };
static const char *const simple_actions[] = {
	"bash", "python", "cmd", "powershell", "node", NULL
};
static const char *const simple_keys[] = {
	"script", "args", "timeout", "cancelation", NULL
};
static const char *const simple_required[] = { "script", NULL };
static const char *const dep_keys[] = { "dependsOn", NULL };
static const char *const step_script_keys[] = {
	"actions", "embeddedFiles", NULL
};
static const char *const actions_required[] = { "actions", NULL };
static const char *const step_action_keys[] = { "onRun", NULL };
static const char *const hr_keys[] = { "amounts", "attributes", NULL };
static const char *const amount_keys[] = { "name", "min", "max", NULL };
static const char *const attr_keys[] = { "name", "anyOf", "allOf", NULL };
static const char *const name_required[] = { "name", NULL };
static const char *const ps_keys[] = {
	"taskParameterDefinitions", "combination", NULL
};
static const char *const ps_required[] = { "taskParameterDefinitions", NULL };
static const char *const tp_keys[] = { "name", "type", "range", NULL };
static const char *const tp_chunk_keys[] = {
	"name", "type", "range", "chunks", NULL
};
static const char *const tp_required[] = { "name", "type", "range", NULL };
static const char *const tp_chunk_required[] = {
	"name", "type", "range", "chunks", NULL
};
static const char *const tp_types[] = {
	"INT", "FLOAT", "STRING", "PATH", "CHUNK[INT]", NULL
};
static const char *const chunk_keys[] = {
	"defaultTaskCount", "targetRuntimeSeconds", "rangeConstraint", NULL
};
static const char *const chunk_required[] = {
	"defaultTaskCount", "rangeConstraint", NULL
};
static const char *const range_constraints[] = {
	"CONTIGUOUS", "NONCONTIGUOUS", NULL
};

static const char *const std_amounts[] = {
	"amount.worker.vcpu", "amount.worker.memory", "amount.worker.gpu",
	"amount.worker.gpu.memory", "amount.worker.disk.scratch", NULL
};
static const char *const std_attrs[] = {
	"attr.worker.os.family", "attr.worker.cpu.arch", NULL
};
static const char *const os_families[] = {
	"linux", "windows", "macos", NULL
};
static const char *const cpu_archs[] = { "x86_64", "arm64", NULL };
static const char *const reserved_scopes[] = {
	"worker", "job", "step", "task", NULL
};

/* Earlier node in list whose key `key` is a string equal to n's, or NULL. */
static const struct node *
find_dup(const struct node *list, size_t before, const char *key,
    const char *s, int nocase)
{
	for (size_t j = 0; j < before; j++) {
		const struct node *o = node_get(list->items[j], key);
		if (o && o->kind == NODE_STRING &&
		    (nocase ? strcasecmp(o->str, s) : strcmp(o->str, s)) == 0)
			return o;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* host requirements                                                   */

static int
in_nocase(const char *s, const char *const *list)
{
	for (size_t i = 0; list[i]; i++)
		if (strcasecmp(s, list[i]) == 0)
			return 1;
	return 0;
}

/* Matches [ident:]<kind>.ident(.ident)* case-insensitively. */
static int
capability_pattern_ok(const char *s, const char *kind)
{
	const char *colon = strchr(s, ':');
	size_t klen = strlen(kind);

	if (colon) {
		char *prefix = xstrndup(s, (size_t)(colon - s));
		int ok = is_identifier(prefix);
		free(prefix);
		if (!ok)
			return 0;
		s = colon + 1;
	}
	if (strncasecmp(s, kind, klen) != 0 || s[klen] != '.')
		return 0;
	s += klen + 1;
	for (;;) {
		const char *dot = strchr(s, '.');
		size_t len = dot ? (size_t)(dot - s) : strlen(s);
		char *seg;
		int ok;

		if (len == 0)
			return 0;
		seg = xstrndup(s, len);
		ok = is_identifier(seg);
		free(seg);
		if (!ok)
			return 0;
		if (!dot)
			return 1;
		s = dot + 1;
	}
}

/* Checks a capability name; returns 0 if usable (for value checks). */
static int
v_capability_name(struct vctx *v, const struct node *n, const char *kind,
    const char *const *standard)
{
	const char *cap;
	char scope[64];
	const char *p, *dot;

	if (is_fmt(n)) {
		/* resolved and checked at job creation (§3.3.1.1) */
		v_fmt(v, n, v->tmpl_scope, SCOPE_TEMPLATE);
		return -1;
	}
	if (v_string(v, n, 1, v->lim.capability_name_len, NULL) < 0)
		return -1;
	if (!capability_pattern_ok(n->str, kind)) {
		v_err(v, n, "'%s' is not a valid capability name (expected "
		    "[vendor:]%s.<name>[.<name>...])", n->str, kind);
		return -1;
	}
	cap = strchr(n->str, ':') ? strchr(n->str, ':') + 1 : n->str;
	if (in_nocase(cap, standard))
		return 0;
	p = cap + strlen(kind) + 1;
	dot = strchr(p, '.');
	snprintf(scope, sizeof(scope), "%.*s", dot ? (int)(dot - p) :
	    (int)strlen(p), p);
	for (size_t i = 0; scope[i]; i++)
		scope[i] = (char)tolower((unsigned char)scope[i]);
	for (size_t i = 0; reserved_scopes[i]; i++) {
		if (strcmp(scope, reserved_scopes[i]) == 0) {
			char *all = join_list(standard);
			v_err(v, n, "'%s' uses the reserved scope '%s', which "
			    "only the capabilities the specification defines "
			    "may use (%s)", n->str, scope, all);
			free(all);
			return -1;
		}
	}
	return 0;
}

/* min or max of an amount; returns 1 with *out for a literal number. */
static int
v_amount_value(struct vctx *v, const struct node *a, const char *key,
    double *out)
{
	const struct node *n = node_get(a, key);
	size_t mark;
	int rc = 0;

	if (n == NULL)
		return 0;
	mark = v_push_key(v, key);
	if (is_fmt(n)) {
		if (!(v->ext & TEMPLATE_EXT_FEATURE_BUNDLE_1))
			v_err(v, n, "a format string in %s requires the "
			    "FEATURE_BUNDLE_1 extension", key);
		else
			v_fmt(v, n, v->tmpl_scope, SCOPE_TEMPLATE);
	} else if (v_float(v, n, 1, out) == 0) {
		if (strcmp(key, "min") == 0 && *out < 0)
			v_err(v, n, "must not be negative (got %g)", *out);
		else if (strcmp(key, "max") == 0 && *out <= 0)
			v_err(v, n, "must be greater than 0 (got %g)", *out);
		else
			rc = 1;
	}
	v_pop(v, mark);
	return rc;
}

static void
v_amounts(struct vctx *v, const struct node *list)
{
	if (list->n == 0)
		v_err(v, list, "must not be empty");
	for (size_t i = 0; i < list->n; i++) {
		const struct node *a = list->items[i], *n, *dup;
		size_t mark = v_push_index(v, i);
		double lo = 0, hi = 0;
		int has_lo, has_hi;

		if (v_map(v, a, amount_keys, name_required) < 0) {
			v_pop(v, mark);
			continue;
		}
		if ((n = node_get(a, "name")) != NULL) {
			size_t m2 = v_push_key(v, "name");
			if (v_capability_name(v, n, "amount", std_amounts) ==
			    0 &&
			    (dup = find_dup(list, i, "name", n->str, 1)))
				v_err(v, n, "duplicate amount '%s' (capability "
				    "names are case-insensitive; first at "
				    "%d:%d)", n->str, dup->line, dup->col);
			v_pop(v, m2);
		}
		if (!node_get(a, "min") && !node_get(a, "max"))
			v_err(v, a, "an amount needs 'min' or 'max' (or both)");
		has_lo = v_amount_value(v, a, "min", &lo);
		has_hi = v_amount_value(v, a, "max", &hi);
		if (has_lo && has_hi && lo > hi)
			v_err_key(v, node_get(a, "min"), "min", "min (%g) is "
			    "greater than max (%g)", lo, hi);
		v_pop(v, mark);
	}
}

static void
v_attr_values(struct vctx *v, const struct node *attr, const char *key,
    const char *std)
{
	const struct node *list = v_get_seq(v, attr, key);
	size_t mark;

	if (list == NULL)
		return;
	mark = v_push_key(v, key);
	if (list->n == 0)
		v_err(v, list, "must not be empty");
	if (list->n > v->lim.attr_value_count)
		v_err(v, list, "must have at most %zu values (got %zu)",
		    v->lim.attr_value_count, list->n);
	if (std && strcmp(key, "allOf") == 0 && list->n > 1)
		v_err(v, list, "%s has one value per host, so allOf can hold "
		    "only one value (use anyOf)", std);
	for (size_t i = 0; i < list->n; i++) {
		const struct node *n = list->items[i];
		size_t m2 = v_push_index(v, i);

		if (is_fmt(n)) {
			v_fmt(v, n, v->tmpl_scope, SCOPE_TEMPLATE);
		} else if (v_string(v, n, 1, v->lim.attr_value_len, NULL) == 0) {
			int ok = isalpha((unsigned char)n->str[0]) ||
			    n->str[0] == '_';
			for (size_t j = 1; ok && j < n->len; j++)
				ok = isalnum((unsigned char)n->str[j]) ||
				    n->str[j] == '_' || n->str[j] == '-';
			if (!ok) {
				v_err(v, n, "'%s' is not a valid attribute "
				    "value (letters, digits, '_' and '-', "
				    "starting with a letter or '_')", n->str);
			} else if (std) {
				const char *const *vals =
				    strcasecmp(std, "attr.worker.os.family") == 0 ?
				    os_families : cpu_archs;
				if (!in_nocase(n->str, vals)) {
					char *all = join_list(vals);
					v_err(v, n, "'%s' is not a value of %s "
					    "(one of %s)", n->str, std, all);
					free(all);
				}
			}
		}
		v_pop(v, m2);
	}
	v_pop(v, mark);
}

static void
v_attributes(struct vctx *v, const struct node *list)
{
	if (list->n == 0)
		v_err(v, list, "must not be empty");
	for (size_t i = 0; i < list->n; i++) {
		const struct node *a = list->items[i], *n, *dup;
		size_t mark = v_push_index(v, i);
		const char *std = NULL;

		if (v_map(v, a, attr_keys, name_required) < 0) {
			v_pop(v, mark);
			continue;
		}
		if ((n = node_get(a, "name")) != NULL) {
			size_t m2 = v_push_key(v, "name");
			int ok = v_capability_name(v, n, "attr", std_attrs) ==
			    0;
			if (ok && in_nocase(n->str, std_attrs))
				std = n->str;
			if (ok && (dup = find_dup(list, i, "name", n->str, 1)))
				v_err(v, n, "duplicate attribute '%s' "
				    "(capability names are case-insensitive; "
				    "first at %d:%d)", n->str, dup->line,
				    dup->col);
			v_pop(v, m2);
		}
		if (!node_get(a, "anyOf") && !node_get(a, "allOf"))
			v_err(v, a, "an attribute needs 'anyOf' or 'allOf' (or "
			    "both)");
		v_attr_values(v, a, "anyOf", std);
		v_attr_values(v, a, "allOf", std);
		v_pop(v, mark);
	}
}

static void
v_host_requirements(struct vctx *v, const struct node *hr)
{
	const struct node *am, *at;
	size_t total = 0, mark;

	if (v_map(v, hr, hr_keys, NULL) < 0)
		return;
	if (!node_get(hr, "amounts") && !node_get(hr, "attributes"))
		v_err(v, hr, "hostRequirements needs 'amounts' or 'attributes' "
		    "(or both)");
	if ((am = v_get_seq(v, hr, "amounts")) != NULL) {
		mark = v_push_key(v, "amounts");
		v_amounts(v, am);
		v_pop(v, mark);
		total += am->n;
	}
	if ((at = v_get_seq(v, hr, "attributes")) != NULL) {
		mark = v_push_key(v, "attributes");
		v_attributes(v, at);
		v_pop(v, mark);
		total += at->n;
	}
	if (total > v->lim.host_req_count)
		v_err(v, hr, "must have at most %zu amounts and attributes "
		    "together (got %zu)", v->lim.host_req_count, total);
}

/* ------------------------------------------------------------------ */
/* parameter space                                                     */

enum tptype { TP_INT, TP_FLOAT, TP_STRING, TP_PATH, TP_CHUNK, TP_UNKNOWN };

static enum tptype
tptype_of(const struct node *t)
{
	if (t == NULL || t->kind != NODE_STRING)
		return TP_UNKNOWN;
	for (int i = 0; tp_types[i]; i++)
		if (strcmp(t->str, tp_types[i]) == 0)
			return (enum tptype)i;
	return TP_UNKNOWN;
}

/* A list-form range; returns 0 if every item is usable. */
static void
v_range_list(struct vctx *v, const struct node *list, enum tptype type)
{
	if (list->n == 0)
		v_err(v, list, "must not be empty");
	if (list->n > v->lim.range_list_len)
		v_err(v, list, "must have at most %zu values (got %zu)",
		    v->lim.range_list_len, list->n);
	for (size_t i = 0; i < list->n; i++) {
		const struct node *n = list->items[i];
		size_t mark = v_push_index(v, i);
		int64_t iv;
		double fv;

		if (is_fmt(n)) {
			v_fmt(v, n, v->tmpl_scope, SCOPE_TEMPLATE);
		} else if (type == TP_INT || type == TP_CHUNK) {
			v_int(v, n, 1, &iv);
		} else if (type == TP_FLOAT) {
			v_float(v, n, 1, &fv);
		} else {
			v_string(v, n, 1, v->lim.task_string_len, NULL);
		}
		v_pop(v, mark);
	}
}

static void
v_range(struct vctx *v, const struct node *tp, enum tptype type)
{
	const struct node *r = node_get(tp, "range");
	size_t mark;

	if (r == NULL)
		return;
	mark = v_push_key(v, "range");
	if (r->kind == NODE_SEQ) {
		v_range_list(v, r, type);
	} else if (r->kind == NODE_STRING &&
	    (type == TP_INT || type == TP_CHUNK)) {
		if (is_fmt(r)) {
			v_fmt(v, r, v->tmpl_scope, SCOPE_TEMPLATE);
		} else {
			size_t off = 0;
			char *msg = NULL;
			if (range_expr_validate(r->str, &off, &msg) < 0) {
				v_err(v, r, "invalid range expression '%s' at "
				    "character %zu: %s", r->str, off + 1,
				    msg ? msg : "syntax error");
				free(msg);
			}
		}
	} else if (r->kind == NODE_STRING) {
		v_err(v, r, "must be a list (range expressions are only for "
		    "INT and CHUNK[INT] parameters)");
	} else {
		v_type_error(v, r, type == TP_INT || type == TP_CHUNK ?
		    "a list or a range expression string" : "a list");
	}
	v_pop(v, mark);
}

static void
v_chunk_count(struct vctx *v, const struct node *ch, const char *key,
    int64_t min)
{
	const struct node *n = node_get(ch, key);
	size_t mark;
	int64_t x;

	if (n == NULL)
		return;
	mark = v_push_key(v, key);
	if (is_fmt(n))
		v_fmt(v, n, v->tmpl_scope, SCOPE_TEMPLATE);
	else if (v_int(v, n, 1, &x) == 0 && x < min)
		v_err(v, n, "must be at least %lld (got %lld)", (long long)min,
		    (long long)x);
	v_pop(v, mark);
}

static void
v_chunks(struct vctx *v, const struct node *tp)
{
	const struct node *ch = v_get_map(v, tp, "chunks"), *rc;
	size_t mark;

	if (ch == NULL)
		return;
	mark = v_push_key(v, "chunks");
	v_map(v, ch, chunk_keys, chunk_required);
	v_chunk_count(v, ch, "defaultTaskCount", 1);
	v_chunk_count(v, ch, "targetRuntimeSeconds", 0);
	if ((rc = node_get(ch, "rangeConstraint")) != NULL) {
		size_t m2 = v_push_key(v, "rangeConstraint");
		v_enum(v, rc, range_constraints);
		v_pop(v, m2);
	}
	v_pop(v, mark);
}

/* One task parameter; adds its Task.* names to scope. */
static enum tptype
v_task_param(struct vctx *v, const struct node *tp, struct symtab *scope)
{
	const struct node *n, *t;
	enum tptype type;
	size_t mark;

	if (tp->kind != NODE_MAP) {
		v_type_error(v, tp, "a mapping");
		return TP_UNKNOWN;
	}
	t = node_get(tp, "type");
	type = tptype_of(t);
	if (t) {
		mark = v_push_key(v, "type");
		if (type == TP_UNKNOWN)
			v_enum(v, t, tp_types);
		else if (type == TP_CHUNK &&
		    !(v->ext & TEMPLATE_EXT_TASK_CHUNKING))
			v_err(v, t, "type CHUNK[INT] requires the TASK_CHUNKING "
			    "extension");
		v_pop(v, mark);
	}
	if (type == TP_CHUNK)
		v_map(v, tp, tp_chunk_keys, tp_chunk_required);
	else
		v_map(v, tp, tp_keys, tp_required);
	if ((n = node_get(tp, "name")) != NULL) {
		mark = v_push_key(v, "name");
		if (v_identifier(v, n) == 0) {
			char *s = xasprintf("Task.Param.%s", n->str);
			symtab_set(scope, s, NULL);
			free(s);
			s = xasprintf("Task.RawParam.%s", n->str);
			symtab_set(scope, s, NULL);
			free(s);
		}
		v_pop(v, mark);
	}
	if (type != TP_UNKNOWN)
		v_range(v, tp, type);
	if (type == TP_CHUNK)
		v_chunks(v, tp);
	return type;
}

/* Node at a space.h error path ("taskParameterDefinitions[1].range"). */
static const struct node *
node_at_path(const struct node *ps, const char *path)
{
	const struct node *n = ps;
	const char *p = path;

	while (*p && n) {
		if (*p != '[') {
			const char *e = p + (*p == '.');
			const char *k = e;
			char *key;
			const struct node *c;
			while (*e && *e != '.' && *e != '[')
				e++;
			key = xstrndup(k, (size_t)(e - k));
			c = node_get(n, key);
			free(key);
			if (c == NULL)
				return n;
			n = c;
			p = e;
		} else {
			size_t i = strtoul(p + 1, NULL, 10);
			const char *e = strchr(p, ']');
			if (n->kind != NODE_SEQ || i >= n->n || e == NULL)
				return n;
			n = n->items[i];
			p = e + 1;
		}
	}
	return n ? n : ps;
}

/*
 * JSON of the parameter space for space_new(): format-string parts are
 * replaced by placeholders.  *unknown_len is set when a range's length
 * cannot be known before job creation (a range expression with "{{").
 */
static json_t *
space_json(const struct node *ps, int *unknown_len)
{
	const struct node *defs = node_get(ps, "taskParameterDefinitions");
	const struct node *comb = node_get(ps, "combination");
	json_t *j = json_object(), *arr = json_array();

	*unknown_len = 0;
	for (size_t i = 0; i < defs->n; i++) {
		const struct node *tp = defs->items[i];
		const struct node *r = node_get(tp, "range");
		const struct node *ch = node_get(tp, "chunks");
		enum tptype type = tptype_of(node_get(tp, "type"));
		json_t *o = json_object(), *jr;

		json_object_set_new(o, "name",
		    json_string(node_get(tp, "name")->str));
		json_object_set_new(o, "type",
		    json_string(node_get(tp, "type")->str));
		if (r->kind == NODE_STRING && is_fmt(r)) {
			jr = json_string("0");
			*unknown_len = 1;
		} else if (r->kind == NODE_SEQ) {
			int fmt = 0;
			for (size_t k = 0; k < r->n; k++)
				fmt |= is_fmt(r->items[k]);
			if (!fmt) {
				jr = node_to_json(r);
			} else {
				jr = json_array();
				for (size_t k = 0; k < r->n; k++) {
					char buf[32];
					snprintf(buf, sizeof(buf), "%zu", k);
					json_array_append_new(jr,
					    type == TP_INT || type == TP_CHUNK ?
					    json_integer((json_int_t)k) :
					    type == TP_FLOAT ?
					    json_real((double)k) :
					    json_string(buf));
				}
			}
		} else {
			jr = node_to_json(r);
		}
		json_object_set_new(o, "range", jr);
		if (ch) {
			json_t *jc = json_object();
			const struct node *d = node_get(ch, "defaultTaskCount");
			const struct node *t = node_get(ch,
			    "targetRuntimeSeconds");
			const struct node *c = node_get(ch, "rangeConstraint");
			json_object_set_new(jc, "defaultTaskCount",
			    is_fmt(d) ? json_integer(1) : node_to_json(d));
			if (t)
				json_object_set_new(jc, "targetRuntimeSeconds",
				    is_fmt(t) ? json_integer(0) :
				    node_to_json(t));
			json_object_set_new(jc, "rangeConstraint",
			    node_to_json(c));
			json_object_set_new(o, "chunks", jc);
		}
		json_array_append_new(arr, o);
	}
	json_object_set_new(j, "taskParameterDefinitions", arr);
	if (comb)
		json_object_set_new(j, "combination", node_to_json(comb));
	return j;
}

/* Runs space_new() over a parameter space this file found no fault in. */
static void
v_space_build(struct vctx *v, const struct node *ps)
{
	struct error_list sel = ERROR_LIST_INIT;
	int unknown_len;
	json_t *j = space_json(ps, &unknown_len);
	struct space *sp = space_new_ex(j, &sel, v->file, "");

	space_free(sp);
	json_decref(j);
	for (size_t i = 0; i < sel.n; i++) {
		const struct error *e = &sel.v[i];
		const char *p = e->path ? e->path : "";
		const struct node *at = node_at_path(ps, p);
		size_t mark;

		/* a length mismatch may involve a range known only later */
		if (unknown_len && strstr(e->msg, "same number of values"))
			continue;
		mark = v->path.len;
		if (*p)
			buf_addf(&v->path, ".%s", p);
		v_err(v, at, "%s", e->msg);
		v_pop(v, mark);
	}
	error_list_release(&sel);
}

/* 1 if name occurs as a whole word inside parentheses in expr. */
static int
inside_parens(const char *expr, const char *name)
{
	size_t len = strlen(name);
	int depth = 0;

	for (const char *p = expr; *p; p++) {
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		else if (depth > 0 && strncmp(p, name, len) == 0 &&
		    (p == expr || !(isalnum((unsigned char)p[-1]) ||
		    p[-1] == '_')) &&
		    !(isalnum((unsigned char)p[len]) || p[len] == '_'))
			return 1;
	}
	return 0;
}

static void
v_combination(struct vctx *v, const struct node *ps)
{
	const struct node *c = node_get(ps, "combination");
	size_t mark;

	if (c == NULL)
		return;
	mark = v_push_key(v, "combination");
	if (v_string(v, c, 1, v->lim.combination_len, NULL) == 0) {
		for (size_t i = 0; i < c->len; i++) {
			unsigned char ch = (unsigned char)c->str[i];
			if (!(isalnum(ch) || ch == '_' || ch == ' ' ||
			    ch == '*' || ch == '(' || ch == ')' || ch == ',')) {
				v_err(v, c, "'%c' is not allowed in a "
				    "combination expression (only parameter "
				    "names, spaces, '*', '(', ')' and ',')",
				    ch >= 0x20 && ch < 0x7F ? ch : '?');
				break;
			}
		}
	}
	v_pop(v, mark);
}

static void
v_param_space(struct vctx *v, const struct node *ps, struct symtab *scope)
{
	const struct node *defs, *chunk = NULL;
	size_t before = v->el.n, mark;

	if (v_map(v, ps, ps_keys, ps_required) < 0)
		return;
	defs = v_get_seq(v, ps, "taskParameterDefinitions");
	if (defs) {
		mark = v_push_key(v, "taskParameterDefinitions");
		if (defs->n == 0)
			v_err(v, defs, "must not be empty");
		if (defs->n > v->lim.task_param_count)
			v_err(v, defs, "must have at most %zu task parameters "
			    "(got %zu)", v->lim.task_param_count, defs->n);
		for (size_t i = 0; i < defs->n; i++) {
			const struct node *tp = defs->items[i], *n, *dup;
			size_t m2 = v_push_index(v, i);

			if (v_task_param(v, tp, scope) == TP_CHUNK) {
				if (chunk)
					v_err(v, tp, "a step can have only one "
					    "CHUNK[INT] task parameter (the "
					    "first is at %d:%d)", chunk->line,
					    chunk->col);
				else
					chunk = tp;
			}
			n = node_get(tp, "name");
			if (n && n->kind == NODE_STRING &&
			    (dup = find_dup(defs, i, "name", n->str, 0)))
				v_err_key(v, n, "name", "duplicate task "
				    "parameter name '%s' (first defined at "
				    "%d:%d)", n->str, dup->line, dup->col);
			v_pop(v, m2);
		}
		v_pop(v, mark);
	}
	v_combination(v, ps);
	if (chunk) {
		const struct node *c = node_get(ps, "combination");
		const struct node *n = node_get(chunk, "name");
		if (c && c->kind == NODE_STRING && n && n->kind == NODE_STRING &&
		    inside_parens(c->str, n->str))
			v_err_key(v, c, "combination", "CHUNK[INT] parameter "
			    "'%s' cannot be part of an association '( , )'",
			    n->str);
	}
	if (defs && v->el.n == before)
		v_space_build(v, ps);
}

/* ------------------------------------------------------------------ */
/* scripts                                                             */

static void
v_step_script(struct vctx *v, const struct node *script, struct symtab *scope)
{
	const struct node *files, *actions, *run;
	size_t mark;

	if (v_map(v, script, step_script_keys, actions_required) < 0)
		return;
	files = node_get(script, "embeddedFiles");
	if (files) {
		mark = v_push_key(v, "embeddedFiles");
		v_embedded_files(v, files, scope, "Task.File.");
		v_pop(v, mark);
	}
	actions = node_get(script, "actions");
	if (actions) {
		mark = v_push_key(v, "actions");
		if (v_map(v, actions, step_action_keys, step_action_keys) == 0 &&
		    (run = node_get(actions, "onRun")) != NULL) {
			size_t m2 = v_push_key(v, "onRun");
			v_action(v, run, scope, SCOPE_TASK);
			v_pop(v, m2);
		}
		v_pop(v, mark);
	}
	if (files) {
		mark = v_push_key(v, "embeddedFiles");
		v_embedded_data(v, files, scope, SCOPE_TASK);
		v_pop(v, mark);
	}
}

static void
v_simple_action(struct vctx *v, const struct node *sa, const struct symtab *scope)
{
	const struct node *s, *args;
	size_t mark;

	if (v_map(v, sa, simple_keys, simple_required) < 0)
		return;
	if ((s = node_get(sa, "script")) != NULL) {
		mark = v_push_key(v, "script");
		v_string(v, s, 1, 0, "\n\r\t");
		v_fmt(v, s, scope, SCOPE_TASK);
		v_pop(v, mark);
	}
	if ((args = v_get_seq(v, sa, "args")) != NULL) {
		mark = v_push_key(v, "args");
		if (args->n == 0)
			v_err(v, args, "must not be empty (omit 'args' when "
			    "there are none)");
		for (size_t i = 0; i < args->n; i++) {
			size_t m2 = v_push_index(v, i);
			v_string(v, args->items[i], 0, 0, "\n\r\t");
			v_fmt(v, args->items[i], scope, SCOPE_TASK);
			v_pop(v, m2);
		}
		v_pop(v, mark);
	}
	v_action_timing(v, sa);
}

/* The step's action: script or one simple action. */
static void
v_step_action(struct vctx *v, const struct node *step, struct symtab *scope)
{
	const struct node *script = node_get(step, "script");
	const struct node *first = NULL;
	const char *first_name = NULL;
	size_t mark;

	for (size_t i = 0; simple_actions[i]; i++) {
		const struct node *sa = node_get(step, simple_actions[i]);
		if (sa == NULL)
			continue;
		mark = v_push_key(v, simple_actions[i]);
		if (!(v->ext & TEMPLATE_EXT_FEATURE_BUNDLE_1))
			v_err(v, v_key_node(step, simple_actions[i]), "'%s' "
			    "requires the FEATURE_BUNDLE_1 extension",
			    simple_actions[i]);
		else if (script)
			v_err(v, v_key_node(step, simple_actions[i]), "a step "
			    "has either 'script' or '%s', not both",
			    simple_actions[i]);
		else if (first)
			v_err(v, v_key_node(step, simple_actions[i]), "a step "
			    "has at most one simple action ('%s' and '%s')",
			    first_name, simple_actions[i]);
		else
			v_simple_action(v, sa, scope);
		if (!first) {
			first = sa;
			first_name = simple_actions[i];
		}
		v_pop(v, mark);
	}
	if (script) {
		mark = v_push_key(v, "script");
		v_step_script(v, script, scope);
		v_pop(v, mark);
	} else if (!first) {
		v_err(v, step, "missing required key 'script'%s",
		    v->ext & TEMPLATE_EXT_FEATURE_BUNDLE_1 ? " (or a simple "
		    "action: bash, python, cmd, powershell, node)" : "");
	}
}

/* ------------------------------------------------------------------ */
/* steps                                                               */

/* Names of the job environments, for the step environment rule. */
struct envnames {
	const struct node	**v;
	size_t			  n;
};

static void
v_step_envs(struct vctx *v, const struct node *step,
    const struct envnames *jobenvs)
{
	const struct node *list = v_get_seq(v, step, "stepEnvironments");
	size_t mark;

	if (list == NULL)
		return;
	mark = v_push_key(v, "stepEnvironments");
	if (list->n == 0)
		v_err(v, list, "must not be empty (omit stepEnvironments when "
		    "there are none)");
	for (size_t i = 0; i < list->n; i++) {
		const struct node *env = list->items[i];
		const struct node *n = node_get(env, "name"), *dup;
		size_t m2 = v_push_index(v, i);

		v_environment(v, env);
		if (n && n->kind == NODE_STRING) {
			if ((dup = find_dup(list, i, "name", n->str, 0)))
				v_err_key(v, n, "name", "duplicate environment "
				    "name '%s' (first defined at %d:%d)",
				    n->str, dup->line, dup->col);
			for (size_t j = 0; j < jobenvs->n; j++)
				if (strcmp(jobenvs->v[j]->str, n->str) == 0) {
					v_err_key(v, n, "name", "environment "
					    "name '%s' is already used by a job "
					    "environment (at %d:%d)", n->str,
					    jobenvs->v[j]->line,
					    jobenvs->v[j]->col);
					break;
				}
		}
		v_pop(v, m2);
	}
	v_pop(v, mark);
}

static void
v_step(struct vctx *v, const struct node *step, const struct envnames *jobenvs)
{
	const struct node *n, *deps, *hr, *ps;
	struct symtab *scope;
	size_t mark;

	if (v_map(v, step, step_keys, step_required) < 0)
		return;
	if ((n = node_get(step, "name")) != NULL) {
		mark = v_push_key(v, "name");
		v_string(v, n, 1, v->lim.step_name_len, NULL);
		v_pop(v, mark);
	}
	v_description(v, step);
	if ((deps = v_get_seq(v, step, "dependencies")) != NULL) {
		mark = v_push_key(v, "dependencies");
		if (deps->n == 0)
			v_err(v, deps, "must not be empty (omit dependencies "
			    "when there are none)");
		for (size_t i = 0; i < deps->n; i++) {
			size_t m2 = v_push_index(v, i);
			if (v_map(v, deps->items[i], dep_keys, dep_keys) == 0) {
				const struct node *d =
				    node_get(deps->items[i], "dependsOn");
				if (d) {
					size_t m3 = v_push_key(v, "dependsOn");
					v_string(v, d, 1, 0, NULL);
					v_pop(v, m3);
				}
			}
			v_pop(v, m2);
		}
		v_pop(v, mark);
	}
	v_step_envs(v, step, jobenvs);
	if ((hr = v_get_map(v, step, "hostRequirements")) != NULL) {
		mark = v_push_key(v, "hostRequirements");
		v_host_requirements(v, hr);
		v_pop(v, mark);
	}
	scope = symtab_copy(v->host_params);
	scope_add_session(scope);
	if ((ps = v_get_map(v, step, "parameterSpace")) != NULL) {
		mark = v_push_key(v, "parameterSpace");
		v_param_space(v, ps, scope);
		v_pop(v, mark);
	}
	v_step_action(v, step, scope);
	symtab_free(scope);
}

/* Where each dependsOn came from, for stepgraph reports. */
struct depref {
	const struct node	*node;
	size_t			 step, index;
};

struct graphctx {
	struct vctx		*v;
	const struct depref	*refs;
	const char *const	*names;
	size_t			 nsteps;
};

static void
graph_report(void *arg, size_t dep_index, const char *msg)
{
	struct graphctx *g = arg;
	const struct depref *r = &g->refs[dep_index];
	size_t mark = g->v->path.len;
	const char *best = NULL;
	size_t best_d = 4;

	buf_addf(&g->v->path, "%ssteps[%zu].dependencies[%zu].dependsOn",
	    g->v->path.len ? "." : "", r->step, r->index);
	if (strncmp(msg, "unknown step", 12) == 0) {
		for (size_t i = 0; i < g->nsteps; i++) {
			size_t d = fmt_edit_distance(r->node->str,
			    g->names[i]);
			if (d < best_d) {
				best_d = d;
				best = g->names[i];
			}
		}
	}
	if (best)
		v_err(g->v, r->node, "%s (did you mean '%s'?)", msg, best);
	else
		v_err(g->v, r->node, "%s", msg);
	v_pop(g->v, mark);
}

static void
v_dependencies(struct vctx *v, const struct node *steps)
{
	const char **names = xcalloc(steps->n + 1, sizeof(*names));
	struct stepgraph_dep *deps = NULL;
	struct depref *refs = NULL;
	size_t ndeps = 0, alloc = 0, ralloc = 0;
	struct graphctx g;

	for (size_t i = 0; i < steps->n; i++) {
		const struct node *s = steps->items[i];
		const struct node *n = node_get(s, "name");
		const struct node *dl = node_get(s, "dependencies");

		names[i] = n && n->kind == NODE_STRING ? n->str : "";
		if (dl == NULL || dl->kind != NODE_SEQ)
			continue;
		for (size_t j = 0; j < dl->n; j++) {
			const struct node *d = node_get(dl->items[j],
			    "dependsOn");
			if (d == NULL || d->kind != NODE_STRING)
				continue;
			ALLOC_GROW(deps, ndeps + 1, alloc);
			ALLOC_GROW(refs, ndeps + 1, ralloc);
			deps[ndeps].step = i;
			deps[ndeps].name = d->str;
			refs[ndeps].node = d;
			refs[ndeps].step = i;
			refs[ndeps].index = j;
			ndeps++;
		}
	}
	g.v = v;
	g.refs = refs;
	g.names = names;
	g.nsteps = steps->n;
	stepgraph_check(steps->n, names, deps, ndeps, STEPGRAPH_ORDER_READY,
	    NULL, graph_report, &g);
	free(names);
	free(deps);
	free(refs);
}

void
v_job_envs(struct vctx *v, const struct node *root)
{
	const struct node *list = v_get_seq(v, root, "jobEnvironments");
	size_t mark;

	if (list == NULL)
		return;
	mark = v_push_key(v, "jobEnvironments");
	if (list->n == 0)
		v_err(v, list, "must not be empty (omit jobEnvironments when "
		    "there are none)");
	for (size_t i = 0; i < list->n; i++) {
		const struct node *n = node_get(list->items[i], "name"), *dup;
		size_t m2 = v_push_index(v, i);

		v_environment(v, list->items[i]);
		if (n && n->kind == NODE_STRING &&
		    (dup = find_dup(list, i, "name", n->str, 0)))
			v_err_key(v, n, "name", "duplicate environment name "
			    "'%s' (first defined at %d:%d)", n->str,
			    dup->line, dup->col);
		v_pop(v, m2);
	}
	v_pop(v, mark);
}

void
v_steps(struct vctx *v, const struct node *root)
{
	const struct node *steps = v_get_seq(v, root, "steps");
	const struct node *je = node_get(root, "jobEnvironments");
	struct envnames jobenvs = { NULL, 0 };
	size_t mark;

	if (steps == NULL)
		return;
	if (je && je->kind == NODE_SEQ) {
		jobenvs.v = xcalloc(je->n + 1, sizeof(*jobenvs.v));
		for (size_t i = 0; i < je->n; i++) {
			const struct node *n = node_get(je->items[i], "name");
			if (n && n->kind == NODE_STRING)
				jobenvs.v[jobenvs.n++] = n;
		}
	}
	mark = v_push_key(v, "steps");
	if (steps->n == 0)
		v_err(v, steps, "must have at least one step");
	for (size_t i = 0; i < steps->n; i++) {
		const struct node *s = steps->items[i];
		const struct node *n = node_get(s, "name"), *dup;
		size_t m2 = v_push_index(v, i);

		v_step(v, s, &jobenvs);
		if (n && n->kind == NODE_STRING &&
		    (dup = find_dup(steps, i, "name", n->str, 0)))
			v_err_key(v, n, "name", "duplicate step name '%s' "
			    "(first defined at %d:%d)", n->str, dup->line,
			    dup->col);
		v_pop(v, m2);
	}
	v_pop(v, mark);
	v_dependencies(v, steps);
	free(jobenvs.v);
}
