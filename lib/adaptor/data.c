/*
 * The data an adaptor is given on its command line (--init-data,
 * --run-data, --path-mapping-rules): JSON or YAML text, inline or in a file
 * named as file://PATH, as the OpenJD Python runtime accepts it.  JSON goes
 * through jansson; YAML is turned into the same jansson values with the
 * YAML 1.2 core schema (plain null/true/12/1.5 are typed, quoted scalars
 * stay strings).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "adaptor-int.h"

#define YAML_MAX_DEPTH	128

static int
match_all(const char *s, int (*cls)(int), size_t from)
{
	size_t i;

	if (s[from] == '\0')
		return 0;
	for (i = from; s[i]; i++)
		if (!cls((unsigned char)s[i]))
			return 0;
	return 1;
}

static int
is_odigit(int c)
{
	return c >= '0' && c <= '7';
}

static int
is_float_text(const char *s)
{
	const char *p = s;
	int digits = 0;

	if (*p == '+' || *p == '-')
		p++;
	while (isdigit((unsigned char)*p)) {
		p++;
		digits++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			p++;
			digits++;
		}
	}
	if (digits == 0)
		return 0;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return 0;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return *p == '\0';
}

/* A plain (unquoted) scalar, typed by the core schema. */
static json_t *
plain_scalar(const char *s)
{
	const char *d;
	long long v;
	char *end;
	int base = 10;

	if (!strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") ||
	    !strcmp(s, "Null") || !strcmp(s, "NULL"))
		return json_null();
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))
		return json_true();
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))
		return json_false();
	d = s;
	if (*d == '+' || *d == '-')
		d++;
	if (!strncmp(s, "0o", 2) && match_all(s, is_odigit, 2))
		base = 8;
	else if (!strncmp(s, "0x", 2) && match_all(s, isxdigit, 2))
		base = 16;
	if (base != 10 || match_all(d, isdigit, 0)) {
		errno = 0;
		v = strtoll(base == 10 ? s : s + 2, &end, base);
		if (errno == 0 && *end == '\0')
			return json_integer(v);
		if (base == 10)
			return json_real(strtod(s, NULL));
		return json_string(s);
	}
	if (is_float_text(s))
		return json_real(strtod(s, NULL));
	/* Everything else, .inf and .nan included (JSON has neither), is a
	 * string. */
	return json_string(s);
}

static json_t *
node_to_json(yaml_document_t *doc, yaml_node_t *node, int depth,
    char *err, size_t errsz)
{
	json_t *out, *v;
	yaml_node_item_t *it;
	yaml_node_pair_t *pair;
	yaml_node_t *k;

	if (depth > YAML_MAX_DEPTH) {
		drover__seterr(err, errsz, "line %lu: nesting too deep",
		    (unsigned long)node->start_mark.line + 1);
		return NULL;
	}
	switch (node->type) {
	case YAML_SCALAR_NODE:
		/* libyaml's loader tags every untagged scalar !!str, so
		 * only the style tells: plain scalars get typed (an explicit
		 * "!!str 12" is typed too: quote it instead). */
		if (node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
			out = json_stringn((char *)node->data.scalar.value,
			    node->data.scalar.length);
		else
			out = plain_scalar((char *)node->data.scalar.value);
		if (out == NULL)
			drover__seterr(err, errsz, "line %lu: bad scalar "
			    "(not UTF-8?)",
			    (unsigned long)node->start_mark.line + 1);
		return out;
	case YAML_SEQUENCE_NODE:
		out = json_array();
		if (out == NULL)
			return NULL;
		for (it = node->data.sequence.items.start;
		    it < node->data.sequence.items.top; it++) {
			v = node_to_json(doc, yaml_document_get_node(doc, *it),
			    depth + 1, err, errsz);
			if (v == NULL || json_array_append_new(out, v) != 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	case YAML_MAPPING_NODE:
		out = json_object();
		if (out == NULL)
			return NULL;
		for (pair = node->data.mapping.pairs.start;
		    pair < node->data.mapping.pairs.top; pair++) {
			k = yaml_document_get_node(doc, pair->key);
			if (k == NULL || k->type != YAML_SCALAR_NODE) {
				drover__seterr(err, errsz, "line %lu: mapping "
				    "keys must be scalars",
				    (unsigned long)node->start_mark.line + 1);
				json_decref(out);
				return NULL;
			}
			v = node_to_json(doc,
			    yaml_document_get_node(doc, pair->value),
			    depth + 1, err, errsz);
			if (v == NULL || json_object_set_new(out,
			    (char *)k->data.scalar.value, v) != 0) {
				json_decref(out);
				return NULL;
			}
		}
		return out;
	default:
		drover__seterr(err, errsz, "empty YAML node");
		return NULL;
	}
}

int
drover__yaml_to_json(const char *text, size_t len, const char *name,
    json_t **out, char *err, size_t errsz)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	char detail[DROVER__ERRMAX] = "out of memory";

	*out = NULL;
	if (!yaml_parser_initialize(&parser)) {
		drover__seterr(err, errsz, "out of memory");
		return DROVER_ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		drover__seterr(err, errsz, "%s: line %lu, column %lu: %s", name,
		    (unsigned long)parser.problem_mark.line + 1,
		    (unsigned long)parser.problem_mark.column + 1,
		    parser.problem ? parser.problem : "cannot parse");
		yaml_parser_delete(&parser);
		return DROVER_EINVAL;
	}
	root = yaml_document_get_root_node(&doc);
	if (root == NULL)
		*out = json_object();	/* an empty document */
	else
		*out = node_to_json(&doc, root, 0, detail, sizeof(detail));
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	if (*out == NULL) {
		drover__seterr(err, errsz, "%s: %s", name, detail);
		return DROVER_EINVAL;
	}
	return 0;
}

int
drover__parse_text(const char *text, size_t len, const char *name,
    json_t **out, char *err, size_t errsz)
{
	json_error_t je;
	size_t i = 0;
	int rc;

	*out = json_loadb(text, len, JSON_DECODE_ANY | JSON_ALLOW_NUL, &je);
	if (*out != NULL)
		return 0;
	while (i < len && isspace((unsigned char)text[i]))
		i++;
	rc = drover__yaml_to_json(text, len, name, out, err, errsz);
	if (rc == 0)
		return 0;
	/* Text that starts like JSON gets the JSON parser's message. */
	if (i < len && (text[i] == '{' || text[i] == '['))
		drover__seterr(err, errsz, "%s: line %d, column %d: %s", name,
		    je.line, je.column, je.text);
	return rc;
}

int
drover__load_data(const char *arg, const char *what, json_t **out,
    char *err, size_t errsz)
{
	char *text = NULL, *name = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (arg == NULL || arg[0] == '\0') {
		*out = json_object();
		return *out ? 0 : DROVER_ENOMEM;
	}
	if (!strncmp(arg, "file://", 7)) {
		rc = drover__read_file(arg + 7, &text, &len, err, errsz);
		if (rc != 0)
			return rc;
		name = drover__asprintf("%s '%s'", what, arg + 7);
		if (name == NULL) {
			free(text);
			return DROVER_ENOMEM;
		}
		rc = drover__parse_text(text, len, name, out, err, errsz);
		free(text);
		free(name);
	} else
		rc = drover__parse_text(arg, strlen(arg), what, out, err,
		    errsz);
	if (rc != 0)
		return rc;
	if (json_is_null(*out)) {
		json_decref(*out);
		*out = json_object();
		return *out ? 0 : DROVER_ENOMEM;
	}
	if (!json_is_object(*out)) {
		drover__seterr(err, errsz, "%s must be a JSON object", what);
		json_decref(*out);
		*out = NULL;
		return DROVER_EINVAL;
	}
	return 0;
}
