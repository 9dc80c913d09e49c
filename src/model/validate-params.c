/*
 * Job parameter definitions (Template Schemas §2): STRING, PATH, INT and
 * FLOAT parameters with their constraints, defaults and userInterface
 * blocks, in job and environment templates alike.  Values supplied at job
 * creation and merged definitions are checked by model/params.c; here only
 * the definition itself must be consistent (a default that breaks its own
 * constraints, minValue above maxValue, a control that cannot show the
 * allowed values, ...).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "model/params.h"
#include "model/template-int.h"

enum ptype { P_STRING, P_PATH, P_INT, P_FLOAT, P_UNKNOWN };

static const char *const param_types[] = {
	"STRING", "PATH", "INT", "FLOAT", NULL
};
/* Types the EXPR extension adds. */
static const char *const expr_param_types[] = {
	"BOOL", "RANGE_EXPR", "LIST[STRING]", "LIST[INT]", "LIST[FLOAT]",
	"LIST[PATH]", "LIST[BOOL]", "LIST[LIST[INT]]", NULL
};

static const char *const string_keys[] = {
	"name", "type", "description", "default", "allowedValues",
	"minLength", "maxLength", "userInterface", NULL
};
static const char *const path_keys[] = {
	"name", "type", "description", "default", "allowedValues",
	"minLength", "maxLength", "objectType", "dataFlow", "userInterface",
	NULL
};
static const char *const number_keys[] = {
	"name", "type", "description", "default", "allowedValues",
	"minValue", "maxValue", "userInterface", NULL
};
static const char *const param_required[] = { "name", "type", NULL };

static const char *const string_ui_keys[] = {
	"control", "label", "groupLabel", NULL
};
static const char *const path_ui_keys[] = {
	"control", "label", "groupLabel", "fileFilters", "fileFilterDefault",
	NULL
};
static const char *const int_ui_keys[] = {
	"control", "label", "groupLabel", "singleStepDelta", NULL
};
static const char *const float_ui_keys[] = {
	"control", "label", "groupLabel", "decimals", "singleStepDelta", NULL
};

static const char *const string_controls[] = {
	"LINE_EDIT", "MULTILINE_EDIT", "DROPDOWN_LIST", "CHECK_BOX", "HIDDEN",
	NULL
};
static const char *const path_controls[] = {
	"CHOOSE_INPUT_FILE", "CHOOSE_OUTPUT_FILE", "CHOOSE_DIRECTORY",
	"DROPDOWN_LIST", "HIDDEN", NULL
};
static const char *const number_controls[] = {
	"SPIN_BOX", "DROPDOWN_LIST", "HIDDEN", NULL
};
static const char *const object_types[] = { "FILE", "DIRECTORY", NULL };
static const char *const data_flows[] = { "NONE", "IN", "OUT", "INOUT", NULL };
static const char *const filter_keys[] = { "label", "patterns", NULL };

/* What the type-specific checks learned, for the userInterface checks. */
struct pinfo {
	enum ptype		 type;
	const struct node	*allowed;	/* allowedValues list or NULL */
	const char		*object_type;	/* PATH: declared or NULL */
	const char		*data_flow;
};

static enum ptype
ptype_of(const char *s)
{
	for (int i = 0; param_types[i]; i++)
		if (strcmp(s, param_types[i]) == 0)
			return (enum ptype)i;
	return P_UNKNOWN;
}

/* ------------------------------------------------------------------ */
/* STRING and PATH                                                     */

/* minLength / maxLength; -1 when absent or invalid. */
static void
v_lengths(struct vctx *v, const struct node *p, int64_t *minl, int64_t *maxl)
{
	const struct node *mn = node_get(p, "minLength");
	const struct node *mx = node_get(p, "maxLength");
	size_t mark;

	*minl = *maxl = -1;
	if (mn) {
		mark = v_push_key(v, "minLength");
		if (v_int(v, mn, 0, minl) == 0 && *minl < 0) {
			v_err(v, mn, "must not be negative (got %lld)",
			    (long long)*minl);
			*minl = -1;
		}
		v_pop(v, mark);
	}
	if (mx) {
		mark = v_push_key(v, "maxLength");
		if (v_int(v, mx, 0, maxl) == 0 && *maxl < 1) {
			v_err(v, mx, "must be at least 1 (got %lld)",
			    (long long)*maxl);
			*maxl = -1;
		}
		v_pop(v, mark);
	}
	if (*minl >= 0 && *maxl >= 0 && *minl > *maxl)
		v_err_key(v, mn, "minLength", "minLength (%lld) is greater "
		    "than maxLength (%lld)", (long long)*minl,
		    (long long)*maxl);
}

/* A string value of the parameter: kind, 1024 limit, min/max length. */
static int
v_string_value(struct vctx *v, const struct node *n, int64_t minl,
    int64_t maxl)
{
	size_t chars;

	if (n->kind != NODE_STRING)
		return v_type_error(v, n, "a string");
	chars = utf8_count(n->str, n->len);
	if (chars > v->lim.param_string_len) {
		v_err(v, n, "must be at most %zu characters (got %zu)",
		    v->lim.param_string_len, chars);
		return -1;
	}
	if (minl >= 0 && chars < (size_t)minl) {
		v_err(v, n, "is %zu characters, shorter than minLength %lld",
		    chars, (long long)minl);
		return -1;
	}
	if (maxl >= 0 && chars > (size_t)maxl) {
		v_err(v, n, "is %zu characters, longer than maxLength %lld",
		    chars, (long long)maxl);
		return -1;
	}
	return 0;
}

static void
v_param_text(struct vctx *v, const struct node *p, struct pinfo *pi)
{
	const struct node *allowed = v_get_seq(v, p, "allowedValues");
	const struct node *def = node_get(p, "default");
	int64_t minl, maxl;
	size_t mark;

	v_lengths(v, p, &minl, &maxl);
	if (allowed) {
		mark = v_push_key(v, "allowedValues");
		if (allowed->n == 0)
			v_err(v, allowed, "must not be empty");
		for (size_t i = 0; i < allowed->n; i++) {
			size_t m2 = v_push_index(v, i);
			v_string_value(v, allowed->items[i], minl, maxl);
			v_pop(v, m2);
		}
		v_pop(v, mark);
		pi->allowed = allowed;
	}
	if (def) {
		mark = v_push_key(v, "default");
		if (v_string_value(v, def, minl, maxl) == 0 && allowed) {
			size_t i;
			for (i = 0; i < allowed->n; i++)
				if (allowed->items[i]->kind == NODE_STRING &&
				    strcmp(allowed->items[i]->str, def->str) == 0)
					break;
			if (i == allowed->n)
				v_err(v, def, "default '%s' is not one of the "
				    "allowedValues", def->str);
		}
		v_pop(v, mark);
	}
	if (pi->type == P_PATH) {
		const struct node *ot = node_get(p, "objectType");
		const struct node *df = node_get(p, "dataFlow");
		if (ot) {
			mark = v_push_key(v, "objectType");
			if (v_enum(v, ot, object_types) == 0)
				pi->object_type = ot->str;
			v_pop(v, mark);
		}
		if (df) {
			mark = v_push_key(v, "dataFlow");
			if (v_enum(v, df, data_flows) == 0)
				pi->data_flow = df->str;
			v_pop(v, mark);
		}
	}
}

/* ------------------------------------------------------------------ */
/* INT and FLOAT                                                       */

static void
v_param_int(struct vctx *v, const struct node *p, struct pinfo *pi)
{
	const struct node *mn = node_get(p, "minValue");
	const struct node *mx = node_get(p, "maxValue");
	const struct node *def = node_get(p, "default");
	const struct node *allowed = v_get_seq(v, p, "allowedValues");
	int64_t lo = 0, hi = 0, x;
	int has_lo = 0, has_hi = 0;
	size_t mark;

	if (mn) {
		mark = v_push_key(v, "minValue");
		has_lo = v_int(v, mn, 1, &lo) == 0;
		v_pop(v, mark);
	}
	if (mx) {
		mark = v_push_key(v, "maxValue");
		has_hi = v_int(v, mx, 1, &hi) == 0;
		v_pop(v, mark);
	}
	if (has_lo && has_hi && lo > hi) {
		v_err_key(v, mn, "minValue", "minValue (%lld) is greater than "
		    "maxValue (%lld)", (long long)lo, (long long)hi);
		has_lo = has_hi = 0;
	}
	if (allowed) {
		mark = v_push_key(v, "allowedValues");
		if (allowed->n == 0)
			v_err(v, allowed, "must not be empty");
		for (size_t i = 0; i < allowed->n; i++) {
			size_t m2 = v_push_index(v, i);
			if (v_int(v, allowed->items[i], 1, &x) == 0) {
				if (has_lo && x < lo)
					v_err(v, allowed->items[i], "%lld is "
					    "less than minValue %lld",
					    (long long)x, (long long)lo);
				if (has_hi && x > hi)
					v_err(v, allowed->items[i], "%lld is "
					    "greater than maxValue %lld",
					    (long long)x, (long long)hi);
			}
			v_pop(v, m2);
		}
		v_pop(v, mark);
		pi->allowed = allowed;
	}
	if (def) {
		mark = v_push_key(v, "default");
		if (v_int(v, def, 1, &x) == 0) {
			if (has_lo && x < lo)
				v_err(v, def, "default %lld is less than "
				    "minValue %lld", (long long)x,
				    (long long)lo);
			if (has_hi && x > hi)
				v_err(v, def, "default %lld is greater than "
				    "maxValue %lld", (long long)x,
				    (long long)hi);
			if (allowed) {
				size_t i;
				int64_t y;
				for (i = 0; i < allowed->n; i++) {
					const struct node *it =
					    allowed->items[i];
					if (it->kind == NODE_INT && it->v.i == x)
						break;
					if (it->kind == NODE_STRING &&
					    param_parse_int(it->str, &y) == 0 &&
					    y == x)
						break;
					if (it->kind == NODE_FLOAT &&
					    it->v.f == (double)x)
						break;
				}
				if (i == allowed->n)
					v_err(v, def, "default %lld is not one "
					    "of the allowedValues",
					    (long long)x);
			}
		}
		v_pop(v, mark);
	}
}

/* Float value of a node already checked by v_float (quietly). */
static int
float_of(const struct node *n, double *out)
{
	switch (n->kind) {
	case NODE_INT:
		*out = (double)n->v.i;
		return 0;
	case NODE_FLOAT:
		*out = n->v.f;
		return isfinite(n->v.f) ? 0 : -1;
	case NODE_STRING:
		return param_parse_float(n->str, out);
	default:
		return -1;
	}
}

static void
v_param_float(struct vctx *v, const struct node *p, struct pinfo *pi)
{
	const struct node *mn = node_get(p, "minValue");
	const struct node *mx = node_get(p, "maxValue");
	const struct node *def = node_get(p, "default");
	const struct node *allowed = v_get_seq(v, p, "allowedValues");
	double lo = 0, hi = 0, x;
	int has_lo = 0, has_hi = 0;
	size_t mark;

	if (mn) {
		mark = v_push_key(v, "minValue");
		has_lo = v_float(v, mn, 1, &lo) == 0;
		v_pop(v, mark);
	}
	if (mx) {
		mark = v_push_key(v, "maxValue");
		has_hi = v_float(v, mx, 1, &hi) == 0;
		v_pop(v, mark);
	}
	if (has_lo && has_hi && lo > hi) {
		v_err_key(v, mn, "minValue", "minValue (%g) is greater than "
		    "maxValue (%g)", lo, hi);
		has_lo = has_hi = 0;
	}
	if (allowed) {
		mark = v_push_key(v, "allowedValues");
		if (allowed->n == 0)
			v_err(v, allowed, "must not be empty");
		for (size_t i = 0; i < allowed->n; i++) {
			size_t m2 = v_push_index(v, i);
			if (v_float(v, allowed->items[i], 1, &x) == 0) {
				if (has_lo && x < lo)
					v_err(v, allowed->items[i], "%g is less "
					    "than minValue %g", x, lo);
				if (has_hi && x > hi)
					v_err(v, allowed->items[i], "%g is "
					    "greater than maxValue %g", x, hi);
			}
			v_pop(v, m2);
		}
		v_pop(v, mark);
		pi->allowed = allowed;
	}
	if (def) {
		mark = v_push_key(v, "default");
		if (v_float(v, def, 1, &x) == 0) {
			if (has_lo && x < lo)
				v_err(v, def, "default %g is less than "
				    "minValue %g", x, lo);
			if (has_hi && x > hi)
				v_err(v, def, "default %g is greater than "
				    "maxValue %g", x, hi);
			if (allowed) {
				size_t i;
				double y;
				for (i = 0; i < allowed->n; i++)
					if (float_of(allowed->items[i], &y) == 0 &&
					    y == x)
						break;
				if (i == allowed->n)
					v_err(v, def, "default %g is not one "
					    "of the allowedValues", x);
			}
		}
		v_pop(v, mark);
	}
}

/* ------------------------------------------------------------------ */
/* userInterface                                                       */

static void
v_label(struct vctx *v, const struct node *ui, const char *key)
{
	const struct node *n = node_get(ui, key);
	size_t mark;

	if (n == NULL)
		return;
	mark = v_push_key(v, key);
	v_string(v, n, 1, v->lim.label_len, NULL);
	v_pop(v, mark);
}

static int
file_pattern_ok(const char *s, size_t len, char *bad)
{
	static const char disallowed[] = "\\/*?[]#%&{}<>$!'\":@`|=";

	if (strcmp(s, "*") == 0 || strcmp(s, "*.*") == 0)
		return 1;
	if (strncmp(s, "*.", 2) != 0 || len == 2)
		return 0;
	for (size_t i = 2; i < len; i++) {
		if (strchr(disallowed, s[i]) || (unsigned char)s[i] < 0x20 ||
		    s[i] == 0x7F) {
			*bad = s[i];
			return 0;
		}
	}
	return !has_cc(s, len, NULL);
}

static void
v_file_filter(struct vctx *v, const struct node *f)
{
	const struct node *pats;

	if (v_map(v, f, filter_keys, filter_keys) < 0)
		return;
	v_label(v, f, "label");
	pats = v_get_seq(v, f, "patterns");
	if (pats == NULL)
		return;
	size_t mark = v_push_key(v, "patterns");
	if (pats->n == 0)
		v_err(v, pats, "must not be empty");
	for (size_t i = 0; i < pats->n; i++) {
		const struct node *p = pats->items[i];
		size_t m2 = v_push_index(v, i);
		char bad = 0;

		if (v_string(v, p, 1, v->lim.file_pattern_len, NULL) == 0 &&
		    !file_pattern_ok(p->str, p->len, &bad)) {
			if (bad)
				v_err(v, p, "file filter pattern '%s' must not "
				    "contain '%c'", p->str, bad);
			else
				v_err(v, p, "file filter pattern '%s' must be "
				    "'*', '*.*' or '*.<extension>'", p->str);
		}
		v_pop(v, m2);
	}
	v_pop(v, mark);
}

static int
is_checkbox_pair(const struct node *a, const struct node *b)
{
	static const char *const pairs[][2] = {
		{ "true", "false" }, { "yes", "no" }, { "on", "off" },
		{ "1", "0" },
	};

	if (a->kind != NODE_STRING || b->kind != NODE_STRING)
		return 0;
	for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
		if ((strcasecmp(a->str, pairs[i][0]) == 0 &&
		    strcasecmp(b->str, pairs[i][1]) == 0) ||
		    (strcasecmp(a->str, pairs[i][1]) == 0 &&
		    strcasecmp(b->str, pairs[i][0]) == 0))
			return 1;
	}
	return 0;
}

static void
v_user_interface(struct vctx *v, const struct node *ui, const struct pinfo *pi)
{
	const char *const *keys, *const *controls;
	const struct node *cn = node_get(ui, "control");
	const char *control = NULL;
	size_t mark;

	switch (pi->type) {
	case P_STRING:
		keys = string_ui_keys;
		controls = string_controls;
		break;
	case P_PATH:
		keys = path_ui_keys;
		controls = path_controls;
		break;
	case P_INT:
		keys = int_ui_keys;
		controls = number_controls;
		break;
	default:
		keys = float_ui_keys;
		controls = number_controls;
		break;
	}
	if (v_map(v, ui, keys, NULL) < 0)
		return;
	v_label(v, ui, "label");
	v_label(v, ui, "groupLabel");
	if (cn) {
		mark = v_push_key(v, "control");
		if (v_enum(v, cn, controls) == 0)
			control = cn->str;
		v_pop(v, mark);
		if (control == NULL)
			return;
	} else {
		/* the default control (§2.1-2.4) */
		if (pi->allowed)
			control = "DROPDOWN_LIST";
		else if (pi->type == P_STRING)
			control = "LINE_EDIT";
		else if (pi->type == P_INT || pi->type == P_FLOAT)
			control = "SPIN_BOX";
		else if (pi->object_type && strcmp(pi->object_type, "FILE") == 0)
			control = pi->data_flow &&
			    strcmp(pi->data_flow, "OUT") == 0 ?
			    "CHOOSE_OUTPUT_FILE" : "CHOOSE_INPUT_FILE";
		else
			control = "CHOOSE_DIRECTORY";
	}

	if (cn && pi->allowed && strcmp(control, "DROPDOWN_LIST") != 0 &&
	    strcmp(control, "CHECK_BOX") != 0 && strcmp(control, "HIDDEN") != 0)
		v_err_key(v, cn, "control", "control %s cannot be used with "
		    "allowedValues (use DROPDOWN_LIST)", control);
	if (cn && !pi->allowed && (strcmp(control, "DROPDOWN_LIST") == 0 ||
	    strcmp(control, "CHECK_BOX") == 0))
		v_err_key(v, cn, "control", "control %s requires "
		    "allowedValues", control);
	if (cn && pi->allowed && strcmp(control, "CHECK_BOX") == 0) {
		const struct node *a = pi->allowed;
		if (a->n != 2 || !is_checkbox_pair(a->items[0], a->items[1]))
			v_err_key(v, cn, "control", "control CHECK_BOX needs "
			    "exactly two allowedValues forming a true/false "
			    "pair: true/false, yes/no, on/off or 1/0 (any "
			    "case)");
	}

	if (pi->type == P_INT || pi->type == P_FLOAT) {
		const struct node *d = node_get(ui, "singleStepDelta");
		const struct node *dec = node_get(ui, "decimals");
		int spin = strcmp(control, "SPIN_BOX") == 0;
		if (d) {
			mark = v_push_key(v, "singleStepDelta");
			if (!spin)
				v_err(v, d, "singleStepDelta is only valid with "
				    "control SPIN_BOX (control is %s)",
				    control);
			if (pi->type == P_INT) {
				int64_t x;
				if (v_int(v, d, 0, &x) == 0 && x <= 0)
					v_err(v, d, "must be a positive "
					    "integer (got %lld)", (long long)x);
			} else {
				double x;
				if (v_float(v, d, 0, &x) == 0 && x <= 0)
					v_err(v, d, "must be positive (got %g)",
					    x);
			}
			v_pop(v, mark);
		}
		if (dec) {
			int64_t x;
			mark = v_push_key(v, "decimals");
			if (!spin)
				v_err(v, dec, "decimals is only valid with "
				    "control SPIN_BOX (control is %s)",
				    control);
			if (v_int(v, dec, 0, &x) == 0 && x < 0)
				v_err(v, dec, "must not be negative (got %lld)",
				    (long long)x);
			v_pop(v, mark);
		}
	}

	if (pi->type == P_PATH) {
		const struct node *ff = node_get(ui, "fileFilters");
		const struct node *fd = node_get(ui, "fileFilterDefault");
		int chooser = strcmp(control, "CHOOSE_INPUT_FILE") == 0 ||
		    strcmp(control, "CHOOSE_OUTPUT_FILE") == 0;
		if (ff) {
			mark = v_push_key(v, "fileFilters");
			if (!chooser)
				v_err(v, ff, "fileFilters are only valid with "
				    "control CHOOSE_INPUT_FILE or "
				    "CHOOSE_OUTPUT_FILE (control is %s)",
				    control);
			if (ff->kind != NODE_SEQ) {
				v_type_error(v, ff, "a list");
			} else {
				if (ff->n == 0)
					v_err(v, ff, "must not be empty");
				if (ff->n > v->lim.file_filter_count)
					v_err(v, ff, "must have at most %zu "
					    "filters (got %zu)",
					    v->lim.file_filter_count, ff->n);
				for (size_t i = 0; i < ff->n; i++) {
					size_t m2 = v_push_index(v, i);
					v_file_filter(v, ff->items[i]);
					v_pop(v, m2);
				}
			}
			v_pop(v, mark);
		}
		if (fd) {
			mark = v_push_key(v, "fileFilterDefault");
			if (!chooser)
				v_err(v, fd, "fileFilterDefault is only valid "
				    "with control CHOOSE_INPUT_FILE or "
				    "CHOOSE_OUTPUT_FILE (control is %s)",
				    control);
			v_file_filter(v, fd);
			v_pop(v, mark);
		}
	}
}

/* ------------------------------------------------------------------ */
/* one definition, the list                                            */

static void
v_param_def(struct vctx *v, const struct node *p)
{
	const struct node *tn, *nn, *ui;
	struct pinfo pi = { P_UNKNOWN, NULL, NULL, NULL };
	const char *const *keys;
	size_t mark;

	if (p->kind != NODE_MAP) {
		v_type_error(v, p, "a mapping");
		return;
	}
	nn = node_get(p, "name");
	if (nn) {
		mark = v_push_key(v, "name");
		v_identifier(v, nn);
		v_pop(v, mark);
	}
	tn = node_get(p, "type");
	if (tn) {
		mark = v_push_key(v, "type");
		if (tn->kind != NODE_STRING) {
			v_type_error(v, tn, "a string");
		} else if ((pi.type = ptype_of(tn->str)) == P_UNKNOWN) {
			size_t i;
			for (i = 0; expr_param_types[i]; i++)
				if (strcasecmp(tn->str, expr_param_types[i]) == 0)
					break;
			if (expr_param_types[i])
				v_err(v, tn, "parameter type '%s' requires the "
				    "EXPR extension, which is not supported "
				    "yet", tn->str);
			else
				v_enum(v, tn, param_types);
		}
		v_pop(v, mark);
	}
	switch (pi.type) {
	case P_STRING:
		keys = string_keys;
		break;
	case P_PATH:
		keys = path_keys;
		break;
	case P_INT:
	case P_FLOAT:
		keys = number_keys;
		break;
	default:
		/* without a usable type only the common keys are known */
		v_map(v, p, path_keys, param_required);
		v_description(v, p);
		return;
	}
	v_map(v, p, keys, param_required);
	v_description(v, p);
	if (pi.type == P_STRING || pi.type == P_PATH)
		v_param_text(v, p, &pi);
	else if (pi.type == P_INT)
		v_param_int(v, p, &pi);
	else
		v_param_float(v, p, &pi);
	ui = v_get_map(v, p, "userInterface");
	if (ui) {
		mark = v_push_key(v, "userInterface");
		v_user_interface(v, ui, &pi);
		v_pop(v, mark);
	}
}

void
v_param_defs(struct vctx *v, const struct node *root, size_t max)
{
	const struct node *list = v_get_seq(v, root, "parameterDefinitions");
	size_t mark;

	if (list == NULL)
		return;
	mark = v_push_key(v, "parameterDefinitions");
	if (list->n == 0)
		v_err(v, list, "must not be empty (omit parameterDefinitions "
		    "when there are no parameters)");
	if (list->n > max)
		v_err(v, list, "must have at most %zu parameter definitions "
		    "(got %zu)%s", max, list->n,
		    v->kind == TEMPLATE_JOB &&
		    !(v->ext & TEMPLATE_EXT_FEATURE_BUNDLE_1) ?
		    "; the FEATURE_BUNDLE_1 extension raises the limit to 200" :
		    "");
	for (size_t i = 0; i < list->n; i++) {
		const struct node *p = list->items[i];
		const struct node *nn = node_get(p, "name");
		size_t m2 = v_push_index(v, i);

		v_param_def(v, p);
		if (nn && nn->kind == NODE_STRING) {
			for (size_t j = 0; j < i; j++) {
				const struct node *o =
				    node_get(list->items[j], "name");
				if (o && o->kind == NODE_STRING &&
				    strcmp(o->str, nn->str) == 0) {
					v_err_key(v, nn, "name", "duplicate "
					    "parameter name '%s' (first "
					    "defined at %d:%d)", nn->str,
					    o->line, o->col);
					break;
				}
			}
		}
		v_pop(v, m2);
	}
	v_pop(v, mark);
}

void
v_param_scopes(struct vctx *v, const struct node *root)
{
	const struct node *list = node_get(root, "parameterDefinitions");

	v->tmpl_scope = symtab_new();
	v->host_params = symtab_new();
	if (list == NULL || list->kind != NODE_SEQ)
		return;
	for (size_t i = 0; i < list->n; i++) {
		const struct node *nn = node_get(list->items[i], "name");
		const struct node *tn = node_get(list->items[i], "type");
		char *name;

		if (nn == NULL || nn->kind != NODE_STRING || nn->len == 0)
			continue;
		name = xasprintf("Param.%s", nn->str);
		symtab_set(v->host_params, name, NULL);
		if (!(tn && tn->kind == NODE_STRING &&
		    strcmp(tn->str, "PATH") == 0))
			symtab_set(v->tmpl_scope, name, NULL);
		free(name);
		name = xasprintf("RawParam.%s", nn->str);
		symtab_set(v->host_params, name, NULL);
		symtab_set(v->tmpl_scope, name, NULL);
		free(name);
	}
}
