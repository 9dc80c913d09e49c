/*
 * A subset of JSON Schema, enough to check an adaptor's init and run data
 * and its configuration: type, enum, required, properties,
 * additionalProperties, items, minimum, maximum.  Every problem is reported
 * with the path of the value it concerns ("run_data.frames[2]"), all of
 * them in one pass, so that a user fixes their data in one go.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "adaptor-int.h"

struct vstate {
	struct dbuf	path;
	struct dbuf	errs;
	int		nerr;
	int		rc;	/* DROVER_EINVAL (bad schema), DROVER_ENOMEM */
	char		schema_err[256];
};

static const char *
kind_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:	return "object";
	case JSON_ARRAY:	return "array";
	case JSON_STRING:	return "string";
	case JSON_INTEGER:	return "integer";
	case JSON_REAL:		return "number";
	case JSON_TRUE:
	case JSON_FALSE:	return "boolean";
	default:		return "null";
	}
}

static void
bad_schema(struct vstate *st, const char *what)
{
	if (st->rc == 0) {
		st->rc = DROVER_EINVAL;
		drover__seterr(st->schema_err, sizeof(st->schema_err),
		    "invalid schema at '%s': %s", st->path.s, what);
	}
}

static void
problem(struct vstate *st, const char *fmt, ...) DROVER_PRINTF(2, 3);

static void
problem(struct vstate *st, const char *fmt, ...)
{
	va_list ap;

	if (st->nerr > 0 && drover__dbuf_adds(&st->errs, "\n") != 0)
		st->rc = DROVER_ENOMEM;
	if (drover__dbuf_addf(&st->errs, "%s: ", st->path.s) != 0)
		st->rc = DROVER_ENOMEM;
	va_start(ap, fmt);
	if (drover__dbuf_vaddf(&st->errs, fmt, ap) != 0)
		st->rc = DROVER_ENOMEM;
	va_end(ap);
	st->nerr++;
}

/* Does value v have JSON Schema type t? */
static int
type_matches(const char *t, const json_t *v, int *known)
{
	double d;

	*known = 1;
	if (!strcmp(t, "object"))
		return json_is_object(v);
	if (!strcmp(t, "array"))
		return json_is_array(v);
	if (!strcmp(t, "string"))
		return json_is_string(v);
	if (!strcmp(t, "boolean"))
		return json_is_boolean(v);
	if (!strcmp(t, "null"))
		return json_is_null(v);
	if (!strcmp(t, "number"))
		return json_is_number(v);
	if (!strcmp(t, "integer")) {
		if (json_is_integer(v))
			return 1;
		if (!json_is_real(v))
			return 0;
		d = json_real_value(v);
		return isfinite(d) && d == floor(d);
	}
	*known = 0;
	return 0;
}

static int
check_type(struct vstate *st, const json_t *type, const json_t *v)
{
	struct dbuf names = DBUF_INIT;
	size_t i;
	json_t *t;
	int known, ok = 0;

	if (json_is_string(type)) {
		ok = type_matches(json_string_value(type), v, &known);
		if (!known) {
			bad_schema(st, "unknown type");
			return 1;
		}
		if (!ok)
			problem(st, "expected %s, got %s",
			    json_string_value(type), kind_name(v));
		return ok;
	}
	if (!json_is_array(type) || json_array_size(type) == 0) {
		bad_schema(st, "'type' must be a string or a list of strings");
		return 1;
	}
	json_array_foreach(type, i, t) {
		if (!json_is_string(t)) {
			bad_schema(st, "'type' must be a string or a list of "
			    "strings");
			drover__dbuf_release(&names);
			return 1;
		}
		if (type_matches(json_string_value(t), v, &known))
			ok = 1;
		if (!known) {
			bad_schema(st, "unknown type");
			drover__dbuf_release(&names);
			return 1;
		}
		if (drover__dbuf_addf(&names, "%s%s", i ? " or " : "",
		    json_string_value(t)) != 0)
			st->rc = DROVER_ENOMEM;
	}
	if (!ok)
		problem(st, "expected %s, got %s", names.s ? names.s : "?",
		    kind_name(v));
	drover__dbuf_release(&names);
	return ok;
}

static void
check_enum(struct vstate *st, const json_t *en, const json_t *v)
{
	struct dbuf names = DBUF_INIT;
	size_t i;
	json_t *e;
	char *s;

	if (!json_is_array(en)) {
		bad_schema(st, "'enum' must be a list");
		return;
	}
	json_array_foreach(en, i, e)
		if (json_equal(e, v))
			return;
	json_array_foreach(en, i, e) {
		s = json_dumps(e, JSON_ENCODE_ANY | JSON_COMPACT);
		if (s == NULL || drover__dbuf_addf(&names, "%s%s",
		    i ? ", " : "", s) != 0)
			st->rc = DROVER_ENOMEM;
		free(s);
	}
	problem(st, "must be one of %s", names.s ? names.s : "(nothing)");
	drover__dbuf_release(&names);
}

/* Appends ".key" (or ["key"] for keys that are not identifiers). */
static int
path_push_key(struct dbuf *p, const char *key)
{
	const char *c;
	int ident = key[0] != '\0' && !isdigit((unsigned char)key[0]);

	for (c = key; *c && ident; c++)
		if (!isalnum((unsigned char)*c) && *c != '_' && *c != '-')
			ident = 0;
	if (ident)
		return drover__dbuf_addf(p, ".%s", key);
	return drover__dbuf_addf(p, "[\"%s\"]", key);
}

static void validate(struct vstate *, const json_t *schema, const json_t *v);

static void
validate_object(struct vstate *st, const json_t *schema, const json_t *v)
{
	json_t *req, *props, *addl, *sub, *item;
	const char *key;
	size_t i, mark = st->path.len;

	req = json_object_get(schema, "required");
	if (req != NULL) {
		if (!json_is_array(req))
			bad_schema(st, "'required' must be a list");
		else
			json_array_foreach(req, i, item) {
				if (!json_is_string(item)) {
					bad_schema(st, "'required' must list "
					    "strings");
					continue;
				}
				if (json_object_get(v,
				    json_string_value(item)) == NULL)
					problem(st, "missing required key '%s'",
					    json_string_value(item));
			}
	}
	props = json_object_get(schema, "properties");
	if (props != NULL && !json_is_object(props)) {
		bad_schema(st, "'properties' must be an object");
		props = NULL;
	}
	addl = json_object_get(schema, "additionalProperties");
	json_object_foreach((json_t *)v, key, item) {
		sub = props ? json_object_get(props, key) : NULL;
		if (sub == NULL && addl != NULL && json_is_false(addl)) {
			problem(st, "unknown key '%s'", key);
			continue;
		}
		if (sub == NULL && addl != NULL && json_is_object(addl))
			sub = addl;
		if (sub == NULL)
			continue;
		if (path_push_key(&st->path, key) != 0)
			st->rc = DROVER_ENOMEM;
		validate(st, sub, item);
		st->path.len = mark;
		st->path.s[mark] = '\0';
	}
}

static void
validate_array(struct vstate *st, const json_t *schema, const json_t *v)
{
	json_t *items, *sub, *item;
	size_t i, mark = st->path.len;

	items = json_object_get(schema, "items");
	if (items == NULL)
		return;
	if (!json_is_object(items) && !json_is_array(items) &&
	    !json_is_boolean(items)) {
		bad_schema(st, "'items' must be a schema");
		return;
	}
	json_array_foreach(v, i, item) {
		sub = json_is_array(items) ? json_array_get(items, i) : items;
		if (sub == NULL)
			continue;
		if (drover__dbuf_addf(&st->path, "[%zu]", i) != 0)
			st->rc = DROVER_ENOMEM;
		validate(st, sub, item);
		st->path.len = mark;
		st->path.s[mark] = '\0';
	}
}

static void
check_range(struct vstate *st, const json_t *schema, const json_t *v)
{
	json_t *min = json_object_get(schema, "minimum");
	json_t *max = json_object_get(schema, "maximum");
	double d = json_number_value(v);

	if (min && !json_is_number(min))
		bad_schema(st, "'minimum' must be a number");
	else if (min && d < json_number_value(min))
		problem(st, "must be at least %g", json_number_value(min));
	if (max && !json_is_number(max))
		bad_schema(st, "'maximum' must be a number");
	else if (max && d > json_number_value(max))
		problem(st, "must be at most %g", json_number_value(max));
}

static void
validate(struct vstate *st, const json_t *schema, const json_t *v)
{
	json_t *type, *en;

	if (st->rc != 0)
		return;
	if (json_is_true(schema))
		return;
	if (json_is_false(schema)) {
		problem(st, "no value is allowed here");
		return;
	}
	if (!json_is_object(schema)) {
		bad_schema(st, "a schema must be an object");
		return;
	}
	type = json_object_get(schema, "type");
	if (type != NULL && !check_type(st, type, v))
		return;
	en = json_object_get(schema, "enum");
	if (en != NULL)
		check_enum(st, en, v);
	if (json_is_number(v))
		check_range(st, schema, v);
	if (json_is_object(v))
		validate_object(st, schema, v);
	else if (json_is_array(v))
		validate_array(st, schema, v);
}

int
drover_schema_validate(const json_t *schema, const json_t *data,
    const char *root, char **errors)
{
	struct vstate st;

	if (errors)
		*errors = NULL;
	if (schema == NULL || data == NULL)
		return DROVER_EINVAL;
	memset(&st, 0, sizeof(st));
	if (drover__dbuf_adds(&st.path, root ? root : "data") != 0)
		return DROVER_ENOMEM;
	validate(&st, schema, data);
	drover__dbuf_release(&st.path);
	if (st.rc != 0) {
		drover__dbuf_release(&st.errs);
		if (st.rc == DROVER_EINVAL && errors)
			*errors = drover__strdup(st.schema_err);
		return st.rc;
	}
	if (st.nerr == 0) {
		drover__dbuf_release(&st.errs);
		return 0;
	}
	if (errors)
		*errors = drover__dbuf_detach(&st.errs);
	else
		drover__dbuf_release(&st.errs);
	return DROVER_ESCHEMA;
}
