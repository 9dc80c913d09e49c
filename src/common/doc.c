/*
 * The document loader.  libyaml's event parser builds the tree; it gives
 * every event a start mark, which becomes the node's line:column.  JSON is
 * a subset of the YAML libyaml reads, so one tree builder serves both; JSON
 * is validated by jansson first so that JSON files are held to JSON rules.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "common/buf.h"
#include "common/doc.h"
#include "common/xmalloc.h"

#define DOC_MAX_NODES	2000000		/* alias expansion limit */
#define DOC_MAX_DEPTH	256

struct anchor {
	char		*name;
	struct node	*node;
};

struct builder {
	yaml_parser_t	 parser;
	const char	*file;
	struct error_list *el;
	struct anchor	*anchors;
	size_t		 nanchors, anchors_alloc;
	size_t		 count;		/* nodes made, aliases included */
	int		 failed;
};

static struct node *doc_build(struct builder *, yaml_event_t *, int depth);

static struct node *
node_new(enum node_kind kind, int line, int col)
{
	struct node *n = xcalloc(1, sizeof(*n));

	n->kind = kind;
	n->line = line;
	n->col = col;
	return n;
}

void
node_free(struct node *n)
{
	if (n == NULL)
		return;
	for (size_t i = 0; i < n->n; i++) {
		node_free(n->items[i]);
		if (n->keys)
			node_free(n->keys[i]);
	}
	free(n->items);
	free(n->keys);
	free(n->str);
	free(n);
}

static size_t
node_count(const struct node *n)
{
	size_t c = 1;

	for (size_t i = 0; i < n->n; i++)
		c += node_count(n->items[i]) + (n->keys ? 1 : 0);
	return c;
}

struct node *
node_copy(const struct node *src)
{
	struct node *n = node_new(src->kind, src->line, src->col);

	if (src->str) {
		n->str = xmalloc(src->len + 1);
		memcpy(n->str, src->str, src->len + 1);
		n->len = src->len;
	}
	n->v = src->v;
	n->n = src->n;
	if (src->n) {
		n->items = xcalloc(src->n, sizeof(*n->items));
		for (size_t i = 0; i < src->n; i++)
			n->items[i] = node_copy(src->items[i]);
		if (src->keys) {
			n->keys = xcalloc(src->n, sizeof(*n->keys));
			for (size_t i = 0; i < src->n; i++)
				n->keys[i] = node_copy(src->keys[i]);
		}
	} else if (src->kind == NODE_MAP) {
		n->keys = NULL;
	}
	return n;
}

const char *
node_kind_name(enum node_kind k)
{
	switch (k) {
	case NODE_NULL:		return "null";
	case NODE_BOOL:		return "boolean";
	case NODE_INT:		return "integer";
	case NODE_FLOAT:	return "number";
	case NODE_STRING:	return "string";
	case NODE_SEQ:		return "list";
	case NODE_MAP:		return "mapping";
	}
	return "?";
}

int
node_is_scalar(const struct node *n)
{
	return n->kind != NODE_SEQ && n->kind != NODE_MAP;
}

struct node *
node_get_key(const struct node *map, const char *key)
{
	if (map == NULL || map->kind != NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->str, key) == 0)
			return map->keys[i];
	return NULL;
}

struct node *
node_get(const struct node *map, const char *key)
{
	if (map == NULL || map->kind != NODE_MAP)
		return NULL;
	for (size_t i = 0; i < map->n; i++)
		if (strcmp(map->keys[i]->str, key) == 0)
			return map->items[i];
	return NULL;
}

/* YAML 1.2 core schema for plain scalars. */
static void
doc_resolve_plain(struct node *n)
{
	const char *s = n->str;
	char *end;

	if (n->len == 0 || !strcmp(s, "~") || !strcmp(s, "null") ||
	    !strcmp(s, "Null") || !strcmp(s, "NULL")) {
		n->kind = NODE_NULL;
		return;
	}
	if (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE")) {
		n->kind = NODE_BOOL;
		n->v.b = 1;
		return;
	}
	if (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE")) {
		n->kind = NODE_BOOL;
		n->v.b = 0;
		return;
	}
	/* integers: [-+]?[0-9]+ | 0o[0-7]+ | 0x[0-9a-fA-F]+ */
	{
		const char *p = s;
		int base = 10;
		if (p[0] == '0' && p[1] == 'o') {
			base = 8;
			p += 2;
		} else if (p[0] == '0' && p[1] == 'x') {
			base = 16;
			p += 2;
		} else if (*p == '-' || *p == '+') {
			p++;
		}
		const char *digits = p;
		while (*p && (base == 16 ? isxdigit((unsigned char)*p) :
		    base == 8 ? (*p >= '0' && *p <= '7') :
		    isdigit((unsigned char)*p)))
			p++;
		if (*p == '\0' && p > digits) {
			errno = 0;
			long long v = strtoll(base == 10 ? s : digits, &end,
			    base);
			if (errno == 0 && *end == '\0') {
				n->kind = NODE_INT;
				n->v.i = v;
				return;
			}
			/* too large for int64: keep it a number */
			n->kind = NODE_FLOAT;
			n->v.f = strtod(s, NULL);
			return;
		}
	}
	/* floats */
	{
		const char *p = s;
		int digits = 0;
		if (*p == '-' || *p == '+')
			p++;
		if (!strcmp(p, ".inf") || !strcmp(p, ".Inf") ||
		    !strcmp(p, ".INF")) {
			n->kind = NODE_FLOAT;
			n->v.f = s[0] == '-' ? -INFINITY : INFINITY;
			return;
		}
		if (p == s && (!strcmp(p, ".nan") || !strcmp(p, ".NaN") ||
		    !strcmp(p, ".NAN"))) {
			n->kind = NODE_FLOAT;
			n->v.f = NAN;
			return;
		}
		p = doc_scan_decimal(s, &digits);
		if (p != NULL && digits && *p == '\0') {
			n->kind = NODE_FLOAT;
			n->v.f = strtod(s, NULL);
		}
	}
}

const char *
doc_scan_decimal(const char *s, int *digits)
{
	const char *p = s;

	*digits = 0;
	if (*p == '+' || *p == '-')
		p++;
	while (isdigit((unsigned char)*p)) {
		p++;
		(*digits)++;
	}
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p)) {
			p++;
			(*digits)++;
		}
	}
	if (*digits && (*p == 'e' || *p == 'E')) {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return NULL;
		while (isdigit((unsigned char)*p))
			p++;
	}
	return p;
}

static void
doc_err(struct builder *b, const yaml_mark_t *m, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
doc_err(struct builder *b, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	error_vadd(b->el, b->file, m ? (int)m->line + 1 : 0,
	    m ? (int)m->column + 1 : 0, NULL, fmt, ap);
	va_end(ap);
	b->failed = 1;
}

static int
doc_next(struct builder *b, yaml_event_t *ev)
{
	if (!yaml_parser_parse(&b->parser, ev)) {
		const char *what = b->parser.problem ? b->parser.problem :
		    "syntax error";
		if (b->parser.context)
			doc_err(b, &b->parser.problem_mark, "%s %s", what,
			    b->parser.context);
		else
			doc_err(b, &b->parser.problem_mark, "%s", what);
		return -1;
	}
	return 0;
}

static void
doc_anchor(struct builder *b, const yaml_char_t *name, struct node *n)
{
	if (name == NULL)
		return;
	ALLOC_GROW(b->anchors, b->nanchors + 1, b->anchors_alloc);
	b->anchors[b->nanchors].name = xstrdup((const char *)name);
	b->anchors[b->nanchors].node = n;
	b->nanchors++;
}

static struct node *
doc_scalar(struct builder *b, yaml_event_t *ev)
{
	int line = (int)ev->start_mark.line + 1;
	int col = (int)ev->start_mark.column + 1;
	struct node *n = node_new(NODE_STRING, line, col);
	const char *tag = (const char *)ev->data.scalar.tag;

	n->len = ev->data.scalar.length;
	n->str = xmalloc(n->len + 1);
	memcpy(n->str, ev->data.scalar.value, n->len);
	n->str[n->len] = '\0';
	if (tag && strcmp(tag, "!") != 0) {
		if (!strcmp(tag, YAML_STR_TAG))
			;
		else if (!strcmp(tag, YAML_INT_TAG) ||
		    !strcmp(tag, YAML_FLOAT_TAG) ||
		    !strcmp(tag, YAML_BOOL_TAG) ||
		    !strcmp(tag, YAML_NULL_TAG)) {
			doc_resolve_plain(n);
			if ((!strcmp(tag, YAML_INT_TAG) && n->kind != NODE_INT) ||
			    (!strcmp(tag, YAML_BOOL_TAG) && n->kind != NODE_BOOL) ||
			    (!strcmp(tag, YAML_NULL_TAG) && n->kind != NODE_NULL) ||
			    (!strcmp(tag, YAML_FLOAT_TAG) &&
			    n->kind != NODE_FLOAT && n->kind != NODE_INT))
				doc_err(b, &ev->start_mark,
				    "value '%s' does not match its tag %s",
				    n->str, tag);
			if (!strcmp(tag, YAML_FLOAT_TAG) && n->kind == NODE_INT) {
				n->kind = NODE_FLOAT;
				n->v.f = (double)n->v.i;
			}
		} else {
			doc_err(b, &ev->start_mark, "unsupported tag '%s'", tag);
		}
	} else if (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		doc_resolve_plain(n);
	}
	doc_anchor(b, ev->data.scalar.anchor, n);
	return n;
}

static struct node *
doc_build(struct builder *b, yaml_event_t *ev, int depth)
{
	int line = (int)ev->start_mark.line + 1;
	int col = (int)ev->start_mark.column + 1;
	struct node *n;
	yaml_event_t child;
	size_t alloc = 0;

	if (++b->count > DOC_MAX_NODES) {
		if (!b->failed)
			doc_err(b, &ev->start_mark,
			    "document too large (more than %d nodes)",
			    DOC_MAX_NODES);
		return NULL;
	}
	if (depth > DOC_MAX_DEPTH) {
		doc_err(b, &ev->start_mark, "nesting deeper than %d levels",
		    DOC_MAX_DEPTH);
		return NULL;
	}

	switch (ev->type) {
	case YAML_SCALAR_EVENT:
		return doc_scalar(b, ev);
	case YAML_ALIAS_EVENT: {
		const char *name = (const char *)ev->data.alias.anchor;
		for (size_t i = b->nanchors; i-- > 0;) {
			if (strcmp(b->anchors[i].name, name) == 0) {
				size_t c = node_count(b->anchors[i].node);
				b->count += c;
				if (b->count > DOC_MAX_NODES) {
					doc_err(b, &ev->start_mark,
					    "document too large (more than %d "
					    "nodes after expanding aliases)",
					    DOC_MAX_NODES);
					return NULL;
				}
				return node_copy(b->anchors[i].node);
			}
		}
		doc_err(b, &ev->start_mark, "unknown anchor '%s'", name);
		return NULL;
	}
	case YAML_SEQUENCE_START_EVENT:
		n = node_new(NODE_SEQ, line, col);
		doc_anchor(b, ev->data.sequence_start.anchor, n);
		for (;;) {
			if (doc_next(b, &child) < 0)
				return n;
			if (child.type == YAML_SEQUENCE_END_EVENT) {
				yaml_event_delete(&child);
				return n;
			}
			struct node *item = doc_build(b, &child, depth + 1);
			yaml_event_delete(&child);
			if (item == NULL)
				return n;
			ALLOC_GROW(n->items, n->n + 1, alloc);
			n->items[n->n++] = item;
		}
	case YAML_MAPPING_START_EVENT:
		n = node_new(NODE_MAP, line, col);
		doc_anchor(b, ev->data.mapping_start.anchor, n);
		for (;;) {
			struct node *key, *val;
			if (doc_next(b, &child) < 0)
				return n;
			if (child.type == YAML_MAPPING_END_EVENT) {
				yaml_event_delete(&child);
				return n;
			}
			key = doc_build(b, &child, depth + 1);
			yaml_event_delete(&child);
			if (key == NULL)
				return n;
			if (key->kind == NODE_SEQ || key->kind == NODE_MAP) {
				error_add(b->el, b->file, key->line, key->col,
				    NULL, "mapping keys must be scalars");
				b->failed = 1;
			} else if (node_get_key(n, key->str)) {
				error_add(b->el, b->file, key->line, key->col,
				    NULL, "duplicate key '%s'", key->str);
				b->failed = 1;
			}
			/* keys are names, whatever they look like */
			key->kind = NODE_STRING;
			if (doc_next(b, &child) < 0) {
				node_free(key);
				return n;
			}
			val = doc_build(b, &child, depth + 1);
			yaml_event_delete(&child);
			if (val == NULL) {
				node_free(key);
				return n;
			}
			if (n->n + 1 > alloc) {
				ALLOC_GROW(n->items, n->n + 1, alloc);
				n->keys = xreallocarray(n->keys, alloc,
				    sizeof(*n->keys));
			}
			n->keys[n->n] = key;
			n->items[n->n++] = val;
		}
	default:
		doc_err(b, &ev->start_mark, "unexpected YAML event");
		return NULL;
	}
}

static int
doc_is_json(const char *text, size_t len)
{
	size_t i = 0;

	if (len >= 3 && (unsigned char)text[0] == 0xEF &&
	    (unsigned char)text[1] == 0xBB && (unsigned char)text[2] == 0xBF)
		i = 3;
	while (i < len && isspace((unsigned char)text[i]))
		i++;
	return i < len && (text[i] == '{' || text[i] == '[');
}

/* A file named *.json is held to JSON; other text starting with '{' or
 * '[' is JSON if jansson accepts it, else flow-style YAML. */
static int
doc_named_json(const char *name)
{
	size_t n = strlen(name);

	return n >= 5 && strcasecmp(name + n - 5, ".json") == 0;
}

int
doc_load_mem(struct doc *d, const char *name, const char *text, size_t len,
    struct error_list *el)
{
	struct builder b;
	yaml_event_t ev;
	int state = 0;	/* 0 before doc, 1 inside, 2 after */

	memset(&b, 0, sizeof(b));
	d->file = xstrdup(name);
	d->root = NULL;
	d->json = doc_is_json(text, len);
	b.file = name;
	b.el = el;

	if (d->json) {
		json_error_t jerr;
		json_t *j = json_loadb(text, len,
		    JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
		if (j == NULL && doc_named_json(name)) {
			error_add(el, name, jerr.line, jerr.column, NULL,
			    "invalid JSON: %s", jerr.text);
			return -1;
		}
		/* not a .json file: flow-style YAML may start with '{' too */
		if (j == NULL)
			d->json = 0;
		json_decref(j);
	}

	yaml_parser_initialize(&b.parser);
	yaml_parser_set_input_string(&b.parser, (const unsigned char *)text,
	    len);
	for (;;) {
		if (doc_next(&b, &ev) < 0)
			break;
		if (ev.type == YAML_STREAM_END_EVENT) {
			yaml_event_delete(&ev);
			break;
		}
		switch (ev.type) {
		case YAML_DOCUMENT_START_EVENT:
			if (state == 2)
				doc_err(&b, &ev.start_mark,
				    "more than one document in the file");
			state = 1;
			break;
		case YAML_DOCUMENT_END_EVENT:
			state = 2;
			break;
		case YAML_STREAM_START_EVENT:
			break;
		default:
			d->root = doc_build(&b, &ev, 0);
			break;
		}
		yaml_event_delete(&ev);
		if (b.failed)
			break;
	}
	yaml_parser_delete(&b.parser);
	for (size_t i = 0; i < b.nanchors; i++)
		free(b.anchors[i].name);
	free(b.anchors);

	if (!b.failed && d->root == NULL) {
		error_add(el, name, 1, 1, NULL, "the document is empty");
		b.failed = 1;
	}
	return b.failed ? -1 : 0;
}

int
doc_load_file(struct doc *d, const char *path, struct error_list *el)
{
	struct buf b = BUF_INIT;
	int rc;

	if (buf_read_file(&b, path) < 0) {
		error_add(el, path, 0, 0, NULL, "cannot read file: %s",
		    strerror(errno));
		d->file = xstrdup(path);
		d->root = NULL;
		buf_release(&b);
		return -1;
	}
	rc = doc_load_mem(d, path, b.s, b.len, el);
	buf_release(&b);
	return rc;
}

void
doc_release(struct doc *d)
{
	node_free(d->root);
	free(d->file);
	d->root = NULL;
	d->file = NULL;
}

json_t *
node_to_json(const struct node *n)
{
	json_t *j;

	switch (n->kind) {
	case NODE_NULL:		return json_null();
	case NODE_BOOL:		return json_boolean(n->v.b);
	case NODE_INT:		return json_integer(n->v.i);
	case NODE_FLOAT:	return json_real(n->v.f);
	case NODE_STRING:	return json_stringn(n->str, n->len);
	case NODE_SEQ:
		j = json_array();
		for (size_t i = 0; i < n->n; i++)
			json_array_append_new(j, node_to_json(n->items[i]));
		return j;
	case NODE_MAP:
		j = json_object();
		for (size_t i = 0; i < n->n; i++)
			json_object_set_new(j, n->keys[i]->str,
			    node_to_json(n->items[i]));
		return j;
	}
	return json_null();
}

struct node *
node_from_json(const json_t *j, int line, int col)
{
	struct node *n;
	const char *k;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_OBJECT:
		n = node_new(NODE_MAP, line, col);
		n->n = json_object_size(j);
		n->items = xcalloc(n->n ? n->n : 1, sizeof(*n->items));
		n->keys = xcalloc(n->n ? n->n : 1, sizeof(*n->keys));
		i = 0;
		json_object_foreach((json_t *)j, k, v) {
			struct node *key = node_new(NODE_STRING, line, col);
			key->str = xstrdup(k);
			key->len = strlen(k);
			n->keys[i] = key;
			n->items[i++] = node_from_json(v, line, col);
		}
		return n;
	case JSON_ARRAY:
		n = node_new(NODE_SEQ, line, col);
		n->n = json_array_size(j);
		n->items = xcalloc(n->n ? n->n : 1, sizeof(*n->items));
		json_array_foreach(j, i, v)
			n->items[i] = node_from_json(v, line, col);
		return n;
	case JSON_STRING:
		n = node_new(NODE_STRING, line, col);
		n->len = json_string_length(j);
		n->str = xmalloc(n->len + 1);
		memcpy(n->str, json_string_value(j), n->len + 1);
		return n;
	case JSON_INTEGER:
		n = node_new(NODE_INT, line, col);
		n->v.i = json_integer_value(j);
		n->str = xasprintf("%lld", (long long)n->v.i);
		n->len = strlen(n->str);
		return n;
	case JSON_REAL:
		n = node_new(NODE_FLOAT, line, col);
		n->v.f = json_real_value(j);
		n->str = xasprintf("%.17g", n->v.f);
		n->len = strlen(n->str);
		return n;
	case JSON_TRUE:
	case JSON_FALSE:
		n = node_new(NODE_BOOL, line, col);
		n->v.b = json_is_true(j);
		n->str = xstrdup(n->v.b ? "true" : "false");
		n->len = strlen(n->str);
		return n;
	case JSON_NULL:
	default:
		n = node_new(NODE_NULL, line, col);
		n->str = xstrdup("null");
		n->len = 4;
		return n;
	}
}
