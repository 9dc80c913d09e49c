/*
 * Environments (Template Schemas §4), actions (§5) and embedded files
 * (§6): the parts job environments, step environments, environment
 * templates and step scripts share.  Format strings in an environment see
 * the job parameters, Session.* and Env.File.<name> of its own embedded
 * files; timeout and notifyPeriodInSeconds are resolved at job creation
 * and see only the job parameters (FEATURE_BUNDLE_1 allows them to be
 * format strings at all).
 */
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "model/template-int.h"

static const char *const env_keys[] = {
	"name", "description", "script", "variables", NULL
};
static const char *const env_required[] = { "name", NULL };
static const char *const env_script_keys[] = {
	"actions", "embeddedFiles", NULL
};
static const char *const script_required[] = { "actions", NULL };
static const char *const env_action_keys[] = { "onEnter", "onExit", NULL };
static const char *const env_action_required[] = { "onEnter", NULL };
static const char *const action_keys[] = {
	"command", "args", "timeout", "cancelation", NULL
};
static const char *const action_required[] = { "command", NULL };
static const char *const cancel_modes[] = {
	"TERMINATE", "NOTIFY_THEN_TERMINATE", NULL
};
static const char *const terminate_keys[] = { "mode", NULL };
static const char *const notify_keys[] = {
	"mode", "notifyPeriodInSeconds", NULL
};
static const char *const file_keys[] = {
	"name", "type", "filename", "runnable", "data", "endOfLine", NULL
};
static const char *const file_required[] = { "name", "type", "data", NULL };
static const char *const file_types[] = { "TEXT", NULL };
static const char *const eol_values[] = { "LF", "CRLF", "AUTO", NULL };

/*
 * A number resolved at job creation (timeout, notifyPeriodInSeconds):
 * an integer in [min, max] (max 0: none), or with FEATURE_BUNDLE_1 a
 * format string in the job-creation scope.
 */
static void
v_creation_int(struct vctx *v, const struct node *map, const char *key,
    int64_t min, int64_t max)
{
	const struct node *n = node_get(map, key);
	size_t mark;
	int64_t x;

	if (n == NULL)
		return;
	mark = v_push_key(v, key);
	if (is_fmt(n)) {
		if (!(v->ext & TEMPLATE_EXT_FEATURE_BUNDLE_1))
			v_err(v, n, "a format string in %s requires the "
			    "FEATURE_BUNDLE_1 extension", key);
		else
			v_fmt(v, n, v->tmpl_scope, SCOPE_TEMPLATE);
	} else if (v_int(v, n, 1, &x) == 0) {
		if (x < min)
			v_err(v, n, "must be at least %lld (got %lld)",
			    (long long)min, (long long)x);
		else if (max && x > max)
			v_err(v, n, "must be at most %lld (got %lld)",
			    (long long)max, (long long)x);
	}
	v_pop(v, mark);
}

void
v_action_timing(struct vctx *v, const struct node *map)
{
	const struct node *c = node_get(map, "cancelation");
	const struct node *mode;
	size_t mark;

	v_creation_int(v, map, "timeout", 1, 0);
	if (c == NULL)
		return;
	mark = v_push_key(v, "cancelation");
	if (c->kind != NODE_MAP) {
		v_type_error(v, c, "a mapping");
		v_pop(v, mark);
		return;
	}
	mode = node_get(c, "mode");
	if (mode == NULL) {
		v_map(v, c, notify_keys, terminate_keys);
	} else {
		size_t m2 = v_push_key(v, "mode");
		int ok = v_enum(v, mode, cancel_modes) == 0;
		v_pop(v, m2);
		if (ok && strcmp(mode->str, "TERMINATE") == 0)
			v_map(v, c, terminate_keys, terminate_keys);
		else
			v_map(v, c, notify_keys, terminate_keys);
		if (ok && strcmp(mode->str, "NOTIFY_THEN_TERMINATE") == 0)
			v_creation_int(v, c, "notifyPeriodInSeconds", 1,
			    v->lim.notify_period_max);
	}
	v_pop(v, mark);
}

void
v_action(struct vctx *v, const struct node *a, const struct symtab *scope,
    enum fmt_scope kind)
{
	const struct node *cmd, *args;
	size_t mark;

	if (v_map(v, a, action_keys, action_required) < 0)
		return;
	cmd = node_get(a, "command");
	if (cmd) {
		mark = v_push_key(v, "command");
		if (v_string(v, cmd, 1, 0, NULL) == 0 || cmd->kind == NODE_STRING)
			v_fmt(v, cmd, scope, kind);
		v_pop(v, mark);
	}
	args = v_get_seq(v, a, "args");
	if (args) {
		mark = v_push_key(v, "args");
		if (args->n == 0)
			v_err(v, args, "must not be empty (omit 'args' when "
			    "there are none)");
		for (size_t i = 0; i < args->n; i++) {
			const struct node *arg = args->items[i];
			size_t m2 = v_push_index(v, i);
			/* newlines and tabs are common in inline scripts */
			if (v_string(v, arg, 0, 0, "\n\r\t") == 0 ||
			    arg->kind == NODE_STRING)
				v_fmt(v, arg, scope, kind);
			v_pop(v, m2);
		}
		v_pop(v, mark);
	}
	v_action_timing(v, a);
}

void
v_embedded_files(struct vctx *v, const struct node *files,
    struct symtab *scope, const char *prefix)
{
	if (files->kind != NODE_SEQ) {
		v_type_error(v, files, "a list");
		return;
	}
	if (files->n == 0)
		v_err(v, files, "must not be empty (omit embeddedFiles when "
		    "there are none)");
	for (size_t i = 0; i < files->n; i++) {
		const struct node *f = files->items[i];
		const struct node *n;
		size_t mark = v_push_index(v, i), m2;

		if (v_map(v, f, file_keys, file_required) < 0) {
			v_pop(v, mark);
			continue;
		}
		if ((n = node_get(f, "name")) != NULL) {
			m2 = v_push_key(v, "name");
			if (v_identifier(v, n) == 0) {
				char *sym = xasprintf("%s%s", prefix, n->str);
				symtab_set(scope, sym, NULL);
				free(sym);
				for (size_t j = 0; j < i; j++) {
					const struct node *o =
					    node_get(files->items[j], "name");
					if (o && o->kind == NODE_STRING &&
					    strcmp(o->str, n->str) == 0) {
						v_err(v, n, "duplicate embedded "
						    "file name '%s' (first "
						    "defined at %d:%d)", n->str,
						    o->line, o->col);
						break;
					}
				}
			}
			v_pop(v, m2);
		}
		if ((n = node_get(f, "type")) != NULL) {
			m2 = v_push_key(v, "type");
			v_enum(v, n, file_types);
			v_pop(v, m2);
		}
		if ((n = node_get(f, "filename")) != NULL) {
			m2 = v_push_key(v, "filename");
			if (v_string(v, n, 1, v->lim.filename_len, NULL) == 0) {
				if (strchr(n->str, '/') || strchr(n->str, '\\'))
					v_err(v, n, "must be a file name "
					    "without directories (no '/' or "
					    "'\\')");
				else if (strcmp(n->str, ".") == 0 ||
				    strcmp(n->str, "..") == 0)
					v_err(v, n, "'%s' is not a file name",
					    n->str);
			}
			v_pop(v, m2);
		}
		if ((n = node_get(f, "runnable")) != NULL &&
		    n->kind != NODE_BOOL) {
			m2 = v_push_key(v, "runnable");
			v_type_error(v, n, "a boolean");
			v_pop(v, m2);
		}
		if ((n = node_get(f, "data")) != NULL) {
			m2 = v_push_key(v, "data");
			v_string(v, n, 1, 0, "\n\r\t");
			v_pop(v, m2);
		}
		if ((n = node_get(f, "endOfLine")) != NULL) {
			m2 = v_push_key(v, "endOfLine");
			if (!(v->ext & TEMPLATE_EXT_FEATURE_BUNDLE_1))
				v_err(v, n, "endOfLine requires the "
				    "FEATURE_BUNDLE_1 extension");
			else
				v_enum(v, n, eol_values);
			v_pop(v, m2);
		}
		v_pop(v, mark);
	}
}

void
v_embedded_data(struct vctx *v, const struct node *files,
    const struct symtab *scope, enum fmt_scope kind)
{
	if (files->kind != NODE_SEQ)
		return;
	for (size_t i = 0; i < files->n; i++) {
		const struct node *d = node_get(files->items[i], "data");
		size_t mark;

		if (d == NULL || d->kind != NODE_STRING)
			continue;
		mark = v_push_index(v, i);
		v_push_key(v, "data");
		v_fmt(v, d, scope, kind);
		v_pop(v, mark);
	}
}

static int
env_var_name_ok(const char *s)
{
	return is_identifier(s);
}

static void
v_variables(struct vctx *v, const struct node *vars, const struct symtab *scope)
{
	if (vars->kind != NODE_MAP) {
		v_type_error(v, vars, "a mapping of variable names to values");
		return;
	}
	if (vars->n == 0)
		v_err(v, vars, "must not be empty (omit 'variables' when "
		    "there are none)");
	for (size_t i = 0; i < vars->n; i++) {
		const struct node *k = vars->keys[i], *val = vars->items[i];
		size_t mark = v_push_key(v, k->str);

		if (k->len == 0)
			v_err(v, k, "variable name must not be empty");
		else if (!env_var_name_ok(k->str))
			v_err(v, k, "'%s' is not a valid environment variable "
			    "name (letters, digits and '_', not starting with "
			    "a digit)", k->str);
		else if (k->len > v->lim.env_var_name_len)
			v_err(v, k, "variable name must be at most %zu "
			    "characters (got %zu)", v->lim.env_var_name_len,
			    k->len);
		if (v_string(v, val, 0, v->lim.env_var_value_len, "\n\r\t") == 0
		    || val->kind == NODE_STRING)
			v_fmt(v, val, scope, SCOPE_ENV);
		v_pop(v, mark);
	}
}

void
v_environment(struct vctx *v, const struct node *env)
{
	const struct node *n, *script, *vars;
	struct symtab *scope;
	size_t mark;

	if (v_map(v, env, env_keys, env_required) < 0)
		return;
	if ((n = node_get(env, "name")) != NULL) {
		mark = v_push_key(v, "name");
		v_string(v, n, 1, v->lim.env_name_len, NULL);
		v_pop(v, mark);
	}
	v_description(v, env);
	script = node_get(env, "script");
	vars = node_get(env, "variables");
	if (script == NULL && vars == NULL)
		v_err(v, env, "an environment needs 'script' or 'variables' "
		    "(or both)");

	scope = symtab_copy(v->host_params);
	scope_add_session(scope);
	if (script) {
		const struct node *files, *actions;
		mark = v_push_key(v, "script");
		if (v_map(v, script, env_script_keys, script_required) == 0) {
			files = node_get(script, "embeddedFiles");
			if (files) {
				size_t m2 = v_push_key(v, "embeddedFiles");
				v_embedded_files(v, files, scope, "Env.File.");
				v_pop(v, m2);
			}
			actions = node_get(script, "actions");
			if (actions) {
				size_t m2 = v_push_key(v, "actions");
				if (v_map(v, actions, env_action_keys,
				    env_action_required) == 0) {
					for (size_t i = 0; i < actions->n; i++) {
						const char *k =
						    actions->keys[i]->str;
						size_t m3;
						if (strcmp(k, "onEnter") &&
						    strcmp(k, "onExit"))
							continue;
						m3 = v_push_key(v, k);
						v_action(v, actions->items[i],
						    scope, SCOPE_ENV);
						v_pop(v, m3);
					}
				}
				v_pop(v, m2);
			}
			if (files) {
				size_t m2 = v_push_key(v, "embeddedFiles");
				v_embedded_data(v, files, scope, SCOPE_ENV);
				v_pop(v, m2);
			}
		}
		v_pop(v, mark);
	}
	if (vars) {
		mark = v_push_key(v, "variables");
		v_variables(v, vars, scope);
		v_pop(v, mark);
	}
	symtab_free(scope);
}
