/*
 * Template loading and validation: the entry points, the root of job and
 * environment templates, extensions, limits, and the small checking
 * helpers (paths, types, strings, numbers, format strings) the
 * validate-*.c files share.  See template.h for the contract and
 * template-int.h for the helpers.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "model/params.h"
#include "model/template-int.h"

/* ------------------------------------------------------------------ */
/* paths and errors                                                    */

size_t
v_push_key(struct vctx *v, const char *key)
{
	size_t mark = v->path.len;

	if (v->path.len)
		buf_addch(&v->path, '.');
	buf_adds(&v->path, key);
	return mark;
}

size_t
v_push_index(struct vctx *v, size_t i)
{
	size_t mark = v->path.len;

	buf_addf(&v->path, "[%zu]", i);
	return mark;
}

void
v_pop(struct vctx *v, size_t mark)
{
	buf_truncate(&v->path, mark);
}

static void
v_verr(struct vctx *v, const struct node *at, const char *fmt, va_list ap)
{
	error_vadd(&v->el, v->file, at ? at->line : 0, at ? at->col : 0,
	    v->path.s, fmt, ap);
}

void
v_err(struct vctx *v, const struct node *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	v_verr(v, at, fmt, ap);
	va_end(ap);
}

void
v_err_key(struct vctx *v, const struct node *at, const char *key,
    const char *fmt, ...)
{
	va_list ap;
	size_t mark = v_push_key(v, key);

	va_start(ap, fmt);
	v_verr(v, at, fmt, ap);
	va_end(ap);
	v_pop(v, mark);
}

/* ------------------------------------------------------------------ */
/* structure                                                           */

char *
join_list(const char *const *values)
{
	struct buf b = BUF_INIT;

	for (size_t i = 0; values[i]; i++)
		buf_addf(&b, "%s%s", i ? ", " : "", values[i]);
	return buf_detach(&b, NULL);
}

static int
in_list(const char *s, const char *const *list)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}

int
v_type_error(struct vctx *v, const struct node *n, const char *what)
{
	v_err(v, n, "must be %s (got %s)", what, node_kind_name(n->kind));
	return -1;
}

int
v_map(struct vctx *v, const struct node *map, const char *const *allowed,
    const char *const *required)
{
	if (map->kind != NODE_MAP)
		return v_type_error(v, map, "a mapping");
	for (size_t i = 0; i < map->n; i++) {
		const struct node *k = map->keys[i];
		const char *best = NULL;
		size_t best_d = 3;

		if (in_list(k->str, allowed))
			continue;
		if (strcmp(k->str, "let") == 0) {
			v_err_key(v, k, k->str, "'let' bindings require the "
			    "EXPR extension, which is not supported yet");
			continue;
		}
		for (size_t j = 0; allowed[j]; j++) {
			size_t d = fmt_edit_distance(k->str, allowed[j]);
			if (d < best_d) {
				best_d = d;
				best = allowed[j];
			}
		}
		if (best) {
			v_err_key(v, k, k->str, "unknown key '%s' (did you "
			    "mean '%s'?)", k->str, best);
		} else {
			char *all = join_list(allowed);
			v_err_key(v, k, k->str, "unknown key '%s' (allowed: "
			    "%s)", k->str, all);
			free(all);
		}
	}
	for (size_t i = 0; required && required[i]; i++)
		if (node_get(map, required[i]) == NULL)
			v_err(v, map, "missing required key '%s'",
			    required[i]);
	return 0;
}

const struct node *
v_key_node(const struct node *map, const char *key)
{
	const struct node *k = node_get_key(map, key);

	return k ? k : map;
}

static const struct node *
v_get_kind(struct vctx *v, const struct node *map, const char *key,
    enum node_kind kind, const char *what)
{
	const struct node *n = node_get(map, key);

	if (n == NULL)
		return NULL;
	if (n->kind != kind) {
		size_t mark = v_push_key(v, key);
		v_type_error(v, n, what);
		v_pop(v, mark);
		return NULL;
	}
	return n;
}

const struct node *
v_get_seq(struct vctx *v, const struct node *map, const char *key)
{
	return v_get_kind(v, map, key, NODE_SEQ, "a list");
}

const struct node *
v_get_map(struct vctx *v, const struct node *map, const char *key)
{
	return v_get_kind(v, map, key, NODE_MAP, "a mapping");
}

const struct node *
v_get_str(struct vctx *v, const struct node *map, const char *key)
{
	return v_get_kind(v, map, key, NODE_STRING, "a string");
}

/* ------------------------------------------------------------------ */
/* strings                                                             */

size_t
utf8_count(const char *s, size_t len)
{
	size_t n = 0;

	for (size_t i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

int
has_cc(const char *s, size_t len, const char *allow)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == 0x7F) {
			if (allow && c != 0 && strchr(allow, c))
				continue;
			return 1;
		}
		/* C1 controls U+0080..U+009F are C2 80..C2 9F in UTF-8 */
		if (c == 0xC2 && i + 1 < len &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9F)
			return 1;
	}
	return 0;
}

int
is_identifier(const char *s)
{
	if (!(isalpha((unsigned char)*s) || *s == '_'))
		return 0;
	for (s++; *s; s++)
		if (!(isalnum((unsigned char)*s) || *s == '_'))
			return 0;
	return 1;
}

int
v_string(struct vctx *v, const struct node *n, size_t min, size_t max,
    const char *allow_cc)
{
	size_t chars;
	int rc = 0;

	if (n->kind != NODE_STRING)
		return v_type_error(v, n, "a string");
	chars = utf8_count(n->str, n->len);
	if (chars < min) {
		if (min == 1)
			v_err(v, n, "must not be empty");
		else
			v_err(v, n, "must be at least %zu characters "
			    "(got %zu)", min, chars);
		rc = -1;
	}
	if (max && chars > max) {
		v_err(v, n, "must be at most %zu characters (got %zu)", max,
		    chars);
		rc = -1;
	}
	if (has_cc(n->str, n->len, allow_cc)) {
		v_err(v, n, "must not contain control characters%s",
		    allow_cc && *allow_cc ? " (other than newline, carriage "
		    "return and tab)" : "");
		rc = -1;
	}
	return rc;
}

int
v_identifier(struct vctx *v, const struct node *n)
{
	if (n->kind != NODE_STRING)
		return v_type_error(v, n, "a string");
	if (n->len == 0) {
		v_err(v, n, "must not be empty");
		return -1;
	}
	if (!is_identifier(n->str)) {
		v_err(v, n, "'%s' is not a valid identifier (letters, digits "
		    "and '_', not starting with a digit)", n->str);
		return -1;
	}
	if (n->len > v->lim.identifier_len) {
		v_err(v, n, "must be at most %zu characters (got %zu)",
		    v->lim.identifier_len, n->len);
		return -1;
	}
	return 0;
}

void
v_description(struct vctx *v, const struct node *map)
{
	const struct node *d = node_get(map, "description");
	size_t mark;

	if (d == NULL)
		return;
	mark = v_push_key(v, "description");
	v_string(v, d, 1, v->lim.description_len, "\n\r\t");
	v_pop(v, mark);
}

int
v_enum(struct vctx *v, const struct node *n, const char *const *values)
{
	char *all;

	if (n->kind != NODE_STRING)
		return v_type_error(v, n, "a string");
	if (in_list(n->str, values))
		return 0;
	all = join_list(values);
	for (size_t i = 0; values[i]; i++) {
		if (strcasecmp(n->str, values[i]) == 0) {
			v_err(v, n, "'%s' is not one of %s (values are "
			    "case-sensitive: did you mean '%s'?)", n->str, all,
			    values[i]);
			free(all);
			return -1;
		}
	}
	v_err(v, n, "'%s' is not one of %s", n->str, all);
	free(all);
	return -1;
}

/* ------------------------------------------------------------------ */
/* numbers                                                             */

/* 1 if the text of a number node is an integer literal (no '.', 'e'). */
static int
looks_integral(const char *s)
{
	if (*s == '-' || *s == '+')
		s++;
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return 0;
	return 1;
}

int
v_int(struct vctx *v, const struct node *n, int strings_ok, int64_t *out)
{
	switch (n->kind) {
	case NODE_INT:
		*out = n->v.i;
		return 0;
	case NODE_FLOAT:
		if (!isfinite(n->v.f) || n->v.f != floor(n->v.f)) {
			v_err(v, n, "must be an integer (got %s)", n->str);
			return -1;
		}
		/* the loader keeps integers beyond int64 as numbers */
		if (looks_integral(n->str) || n->v.f >= 9223372036854775808.0 ||
		    n->v.f < -9223372036854775808.0) {
			v_err(v, n, "%s is out of range for a 64-bit integer",
			    n->str);
			return -1;
		}
		*out = (int64_t)n->v.f;
		return 0;
	case NODE_STRING:
		if (strings_ok) {
			switch (param_parse_int(n->str, out)) {
			case 0:
				return 0;
			case -2:
				v_err(v, n, "'%s' is out of range for a 64-bit "
				    "integer", n->str);
				return -1;
			}
			v_err(v, n, "'%s' is not an integer", n->str);
			return -1;
		}
		/* FALLTHROUGH */
	default:
		return v_type_error(v, n, "an integer");
	}
}

int
v_float(struct vctx *v, const struct node *n, int strings_ok, double *out)
{
	double x;

	switch (n->kind) {
	case NODE_INT:
		*out = (double)n->v.i;
		return 0;
	case NODE_FLOAT:
		if (!isfinite(n->v.f)) {
			v_err(v, n, "must be a finite number (got %s)", n->str);
			return -1;
		}
		*out = n->v.f;
		return 0;
	case NODE_STRING:
		if (strings_ok) {
			if (param_parse_float(n->str, &x) < 0) {
				v_err(v, n, "'%s' is not a decimal number",
				    n->str);
				return -1;
			}
			if (!isfinite(x)) {
				v_err(v, n, "must be a finite number (got "
				    "'%s')", n->str);
				return -1;
			}
			*out = x;
			return 0;
		}
		/* FALLTHROUGH */
	default:
		return v_type_error(v, n, "a number");
	}
}

/* ------------------------------------------------------------------ */
/* format strings                                                      */

static const char *const session_names[] = {
	"Session.WorkingDirectory",
	"Session.HasPathMappingRules",
	"Session.PathMappingRulesFile",
	NULL
};

void
scope_add_session(struct symtab *st)
{
	for (size_t i = 0; session_names[i]; i++)
		symtab_set(st, session_names[i], NULL);
}

int
is_fmt(const struct node *n)
{
	return n->kind == NODE_STRING && fmt_has_refs(n->str);
}

static const char *
scope_where(enum fmt_scope kind)
{
	switch (kind) {
	case SCOPE_TEMPLATE:
		return "this field is resolved when the job is created, "
		    "before any session exists";
	case SCOPE_ENV:
		return "in an environment";
	case SCOPE_TASK:
		return "in a step script";
	}
	return "";
}

/* Message for a reference that is not in scope. */
static void
v_fmt_unknown(struct vctx *v, const struct node *n, const char *name,
    const struct symtab *scope, enum fmt_scope kind)
{
	const char *where = scope_where(kind);

	if (strncmp(name, "Param.", 6) == 0 && kind == SCOPE_TEMPLATE &&
	    symtab_has(v->host_params, name)) {
		v_err(v, n, "'%s' is a PATH parameter, available as Param.* "
		    "only in step and environment scripts; use 'Raw%s' here",
		    name, name);
		return;
	}
	if (in_list(name, session_names) || (kind == SCOPE_TEMPLATE &&
	    (strncmp(name, "Task.", 5) == 0 ||
	    strncmp(name, "Env.File.", 9) == 0))) {
		v_err(v, n, "'%s' is not available here: %s", name, where);
		return;
	}
	if (strcmp(name, "Job.Name") == 0 || strcmp(name, "Step.Name") == 0) {
		v_err(v, n, "'%s' requires the EXPR extension, which is not "
		    "supported yet", name);
		return;
	}
	if ((strncmp(name, "Task.Param.", 11) == 0 ||
	    strncmp(name, "Task.RawParam.", 14) == 0 ||
	    strncmp(name, "Task.File.", 10) == 0) && kind != SCOPE_TASK) {
		v_err(v, n, "'%s' is not available here: Task.* values exist "
		    "only in a step's script (%s)", name,
		    kind == SCOPE_ENV ? "not in an environment" : where);
		return;
	}
	if (strncmp(name, "Env.File.", 9) == 0 && kind != SCOPE_ENV) {
		v_err(v, n, "'%s' is not available here: Env.File.* values "
		    "exist only in the environment that embeds the file",
		    name);
		return;
	}
	{
		char *hint = fmt_suggest(name, scope);
		v_err(v, n, "unknown value reference '%s' in format string%s",
		    name, hint);
		free(hint);
	}
}

int
v_fmt(struct vctx *v, const struct node *n, const struct symtab *scope,
    enum fmt_scope kind)
{
	struct fmt f;
	size_t off;
	char *msg;
	int rc = 0;

	if (n->kind != NODE_STRING)
		return 0;
	if (fmt_parse(&f, n->str, &off, &msg) < 0) {
		v_err(v, n, "invalid format string at character %zu: %s",
		    off + 1, msg);
		free(msg);
		fmt_release(&f);
		return -1;
	}
	for (size_t i = 0; i < f.n; i++) {
		if (symtab_has(scope, f.refs[i].name))
			continue;
		v_fmt_unknown(v, n, f.refs[i].name, scope, kind);
		rc = -1;
	}
	fmt_release(&f);
	return rc;
}

/* ------------------------------------------------------------------ */
/* extensions and limits                                               */

static const struct {
	const char	*name;
	unsigned	 bit;
} extensions[] = {
	{ "TASK_CHUNKING",	TEMPLATE_EXT_TASK_CHUNKING },
	{ "REDACTED_ENV_VARS",	TEMPLATE_EXT_REDACTED_ENV_VARS },
	{ "FEATURE_BUNDLE_1",	TEMPLATE_EXT_FEATURE_BUNDLE_1 },
	{ "EXPR",		TEMPLATE_EXT_EXPR },
};

unsigned
template_extension_bit(const char *name)
{
	for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++)
		if (strcmp(extensions[i].name, name) == 0)
			return extensions[i].bit;
	return 0;
}

const char *
template_extension_name(unsigned bit)
{
	for (size_t i = 0; i < sizeof(extensions) / sizeof(extensions[0]); i++)
		if (extensions[i].bit == bit)
			return extensions[i].name;
	return NULL;
}

const char *
template_kind_name(enum template_kind k)
{
	return k == TEMPLATE_ENV ? "environment template" : "job template";
}

void
template_limits_init(struct template_limits *l, unsigned ext)
{
	int fb1 = (ext & TEMPLATE_EXT_FEATURE_BUNDLE_1) != 0;

	l->identifier_len = fb1 ? 512 : 64;
	l->job_name_len = fb1 ? 512 : 128;
	l->step_name_len = fb1 ? 512 : 64;
	l->env_name_len = fb1 ? 512 : 64;
	l->job_param_count = fb1 ? 200 : 50;
	l->env_param_count = 50;
	l->filename_len = fb1 ? 256 : 64;
	l->description_len = 2048;
	l->param_string_len = 1024;
	l->label_len = 64;
	l->range_list_len = 1024;
	l->task_string_len = 1024;
	l->task_param_count = 16;
	l->combination_len = 1280;
	l->host_req_count = 50;
	l->capability_name_len = 100;
	l->attr_value_count = 50;
	l->attr_value_len = 100;
	l->file_filter_count = 20;
	l->file_pattern_len = 20;
	l->env_var_name_len = 256;
	l->env_var_value_len = 2048;
	l->notify_period_max = 600;
}

/*
 * Reads `extensions:`.  Returns the declared bits; unknown, unsupported
 * and duplicate names are errors.
 */
static unsigned
v_extensions(struct vctx *v, const struct node *root)
{
	const struct node *list = v_get_seq(v, root, "extensions");
	unsigned bits = 0;
	size_t mark;

	if (list == NULL)
		return 0;
	mark = v_push_key(v, "extensions");
	if (list->n == 0)
		v_err(v, list, "must not be empty (omit 'extensions' when no "
		    "extension is used)");
	for (size_t i = 0; i < list->n; i++) {
		const struct node *it = list->items[i];
		size_t m2 = v_push_index(v, i);
		unsigned bit;

		if (it->kind != NODE_STRING) {
			v_type_error(v, it, "a string");
		} else if ((bit = template_extension_bit(it->str)) == 0) {
			v_err(v, it, "unknown extension '%s' (supported: "
			    "TASK_CHUNKING, REDACTED_ENV_VARS, "
			    "FEATURE_BUNDLE_1)", it->str);
		} else if (bits & bit) {
			v_err(v, it, "duplicate extension '%s'", it->str);
		} else {
			bits |= bit;
			if (bit == TEMPLATE_EXT_EXPR)
				v_err(v, it, "EXPR is not supported yet");
		}
		v_pop(v, m2);
	}
	v_pop(v, mark);
	return bits;
}

/* ------------------------------------------------------------------ */
/* roots                                                               */

static const char *const job_keys[] = {
	"specificationVersion", "$schema", "extensions", "name",
	"description", "parameterDefinitions", "jobEnvironments", "steps",
	NULL
};
static const char *const job_required[] = {
	"specificationVersion", "name", "steps", NULL
};
static const char *const env_keys[] = {
	"specificationVersion", "$schema", "extensions",
	"parameterDefinitions", "environment", NULL
};
static const char *const env_required[] = {
	"specificationVersion", "environment", NULL
};

static void
v_job_name(struct vctx *v, const struct node *root)
{
	const struct node *n = node_get(root, "name");
	size_t mark;

	if (n == NULL)
		return;
	mark = v_push_key(v, "name");
	if (n->kind != NODE_STRING) {
		v_type_error(v, n, "a string");
	} else if (is_fmt(n)) {
		struct fmt f;
		if (has_cc(n->str, n->len, NULL))
			v_err(v, n, "must not contain control characters");
		if (v_fmt(v, n, v->tmpl_scope, SCOPE_TEMPLATE) == 0 &&
		    fmt_parse(&f, n->str, NULL, NULL) == 0) {
			/* the literal text alone must fit */
			size_t lit = n->len, chars;
			for (size_t i = 0; i < f.n; i++)
				lit -= f.refs[i].end - f.refs[i].start;
			chars = lit;	/* bytes >= characters */
			if (chars > v->lim.job_name_len) {
				struct buf b = BUF_INIT;
				size_t last = 0;
				for (size_t i = 0; i < f.n; i++) {
					buf_add(&b, n->str + last,
					    f.refs[i].start - last);
					last = f.refs[i].end;
				}
				buf_adds(&b, n->str + last);
				chars = utf8_count(b.s, b.len);
				if (chars > v->lim.job_name_len)
					v_err(v, n, "must be at most %zu "
					    "characters once resolved (its "
					    "literal text alone is %zu)",
					    v->lim.job_name_len, chars);
				buf_release(&b);
			}
			fmt_release(&f);
		}
	} else {
		v_string(v, n, 1, v->lim.job_name_len, NULL);
	}
	v_pop(v, mark);
}

static void
v_spec_version(struct vctx *v, struct template *t, const struct node *root)
{
	const struct node *sv = node_get(root, "specificationVersion");
	int has_env = node_get(root, "environment") != NULL;
	int has_steps = node_get(root, "steps") != NULL;

	t->kind = has_env && !has_steps ? TEMPLATE_ENV : TEMPLATE_JOB;
	if (sv == NULL)
		return;		/* reported as a missing required key */
	if (sv->kind == NODE_STRING && strcmp(sv->str, TEMPLATE_SPEC_JOB) == 0)
		t->kind = TEMPLATE_JOB;
	else if (sv->kind == NODE_STRING &&
	    strcmp(sv->str, TEMPLATE_SPEC_ENV) == 0)
		t->kind = TEMPLATE_ENV;
	else
		v_err_key(v, sv, "specificationVersion", "unsupported "
		    "specificationVersion '%s' (expected '" TEMPLATE_SPEC_JOB
		    "' or '" TEMPLATE_SPEC_ENV "')", sv->str ? sv->str :
		    node_kind_name(sv->kind));
}

int
template_validate(struct template *t, struct error_list *el)
{
	struct vctx v;
	const struct node *root = t->doc.root;
	int rc;

	memset(&v, 0, sizeof(v));
	v.file = t->doc.file;
	buf_init(&v.path);
	t->kind = TEMPLATE_JOB;
	t->extensions = 0;
	if (root == NULL)
		return -1;
	if (root->kind != NODE_MAP) {
		v_type_error(&v, root, "a mapping (a job or environment "
		    "template)");
		goto out;
	}
	v_spec_version(&v, t, root);
	v.kind = t->kind;
	t->extensions = v_extensions(&v, root);
	if (t->extensions & TEMPLATE_EXT_EXPR)
		goto out;	/* EXPR changes every rule below */
	v.ext = t->extensions;
	template_limits_init(&v.lim, v.ext);

	if (t->kind == TEMPLATE_JOB)
		v_map(&v, root, job_keys, job_required);
	else
		v_map(&v, root, env_keys, env_required);
	v_get_str(&v, root, "$schema");		/* otherwise ignored */
	v_param_defs(&v, root, t->kind == TEMPLATE_JOB ?
	    v.lim.job_param_count : v.lim.env_param_count);
	v_param_scopes(&v, root);

	if (t->kind == TEMPLATE_JOB) {
		v_job_name(&v, root);
		v_description(&v, root);
		v_job_envs(&v, root);
		v_steps(&v, root);
	} else {
		const struct node *env = v_get_map(&v, root, "environment");
		if (env) {
			size_t mark = v_push_key(&v, "environment");
			v_environment(&v, env);
			v_pop(&v, mark);
		}
	}
out:
	rc = v.el.n ? -1 : 0;
	error_list_sort(&v.el);
	error_list_take(el, &v.el);
	symtab_free(v.tmpl_scope);
	symtab_free(v.host_params);
	buf_release(&v.path);
	return rc;
}

int
template_load_mem(struct template *t, const char *name, const char *text,
    size_t len, struct error_list *el)
{
	memset(t, 0, sizeof(*t));
	if (doc_load_mem(&t->doc, name, text, len, el) < 0)
		return -1;
	return template_validate(t, el);
}

int
template_load(struct template *t, const char *path, struct error_list *el)
{
	memset(t, 0, sizeof(*t));
	if (doc_load_file(&t->doc, path, el) < 0)
		return -1;
	return template_validate(t, el);
}

void
template_release(struct template *t)
{
	doc_release(&t->doc);
	t->extensions = 0;
}
