/*
 * Documents: YAML or JSON text (told apart by content) loaded into one tree
 * of nodes, each remembering the line and column it came from, so that every
 * later diagnostic can point at the source.
 *
 * Plain YAML scalars are typed by the YAML 1.2 core schema (null, true/false,
 * integers, floats, else string); quoted scalars and JSON strings are strings.
 * JSON text is first checked strictly with jansson (so a stray comma is a
 * JSON error, not YAML leniency), then read for positions.  Duplicate keys,
 * non-string keys, several documents and alias bombs are errors.
 */
#ifndef DROVER_DOC_H
#define DROVER_DOC_H

#include <stdint.h>
#include <stddef.h>

#include <jansson.h>

#include "common/error.h"

enum node_kind {
	NODE_NULL,
	NODE_BOOL,
	NODE_INT,
	NODE_FLOAT,
	NODE_STRING,
	NODE_SEQ,
	NODE_MAP,
};

struct node {
	enum node_kind	  kind;
	int		  line;		/* 1-based */
	int		  col;		/* 1-based */
	char		 *str;		/* scalar text as written (strings: value) */
	size_t		  len;		/* length of str */
	union {
		int64_t	  i;
		double	  f;
		int	  b;
	} v;
	size_t		  n;		/* SEQ: items; MAP: pairs */
	struct node	**items;	/* SEQ items; MAP values */
	struct node	**keys;		/* MAP keys (NODE_STRING) */
};

struct doc {
	char		*file;		/* name used in diagnostics */
	struct node	*root;
	int		 json;		/* 1 if the text was JSON */
};

#define DOC_INIT { NULL, NULL, 0 }

/* Both return 0, or -1 after adding errors to el.  doc_release() either way. */
int	doc_load_file(struct doc *, const char *path, struct error_list *el);
int	doc_load_mem(struct doc *, const char *name, const char *text,
	    size_t len, struct error_list *el);
void	doc_release(struct doc *);

/* Value of key in a MAP node, or NULL (also when map is not a MAP). */
struct node *node_get(const struct node *map, const char *key);
/* Key node for key in a MAP node, or NULL. */
struct node *node_get_key(const struct node *map, const char *key);
const char *node_kind_name(enum node_kind);
int	node_is_scalar(const struct node *);
/* Converts a tree to jansson (new reference). */
json_t	*node_to_json(const struct node *);
/* Converts jansson to a tree with the given position for every node. */
struct node *node_from_json(const json_t *, int line, int col);
struct node *node_copy(const struct node *);
void	node_free(struct node *);
/*
 * Scans a decimal number, [+-]digits[.digits][(e|E)[+-]digits], from s:
 * returns where it stops (the caller checks what follows) and sets
 * *digits to the mantissa's digit count (0: no number); NULL if an
 * exponent has no digits.  The YAML float syntax and parameter values use
 * it.
 */
const char *doc_scan_decimal(const char *s, int *digits);

#endif
