/* Unit tests for the document loader: types, positions, errors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/doc.h"
#include "common/error.h"

static struct node *
load(struct doc *d, struct error_list *el, const char *text)
{
	int rc = doc_load_mem(d, "t.yaml", text, strlen(text), el);
	if (rc != 0)
		error_list_print(el, stderr);
	assert_int_equal(rc, 0);
	return d->root;
}

static void
test_yaml_types_and_positions(void **state)
{
	struct doc d = DOC_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct node *r, *n;
	(void)state;

	r = load(&d, &el, "a: 1\nb: \"1\"\nc: 1.5\nd: true\ne: ~\nf: [x, 2]\n"
	    "g:\n  h: -0x10\n  i: 0o17\n  j: .inf\n  k: 12345678901234567890\n");
	assert_int_equal(r->kind, NODE_MAP);
	n = node_get(r, "a");
	assert_int_equal(n->kind, NODE_INT);
	assert_int_equal(n->v.i, 1);
	assert_int_equal(n->line, 1);
	assert_int_equal(n->col, 4);
	n = node_get(r, "b");
	assert_int_equal(n->kind, NODE_STRING);
	assert_string_equal(n->str, "1");
	assert_int_equal(node_get(r, "c")->kind, NODE_FLOAT);
	assert_true(node_get(r, "c")->v.f == 1.5);
	assert_int_equal(node_get(r, "d")->kind, NODE_BOOL);
	assert_int_equal(node_get(r, "e")->kind, NODE_NULL);
	n = node_get(r, "f");
	assert_int_equal(n->kind, NODE_SEQ);
	assert_int_equal(n->n, 2);
	assert_int_equal(n->items[0]->kind, NODE_STRING);
	assert_int_equal(n->items[1]->kind, NODE_INT);
	assert_int_equal(n->items[1]->line, 6);
	assert_int_equal(n->items[1]->col, 8);
	n = node_get(r, "g");
	/* "-0x10" is not a core-schema integer: it stays a string */
	assert_int_equal(node_get(n, "h")->kind, NODE_STRING);
	assert_int_equal(node_get(n, "i")->v.i, 15);
	assert_int_equal(node_get(n, "j")->kind, NODE_FLOAT);
	assert_int_equal(node_get(n, "k")->kind, NODE_FLOAT);
	assert_int_equal(node_get_key(n, "i")->line, 9);
	assert_int_equal(node_get_key(n, "i")->col, 3);
	doc_release(&d);
	error_list_release(&el);
}

static void
test_json_positions(void **state)
{
	struct doc d = DOC_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct node *r;
	(void)state;

	r = load(&d, &el, "{\"a\":1,\n \"b\": [\"x\",{\"c\":null}],\"d\":\"\\/x\"}");
	assert_true(d.json);
	assert_int_equal(node_get(r, "a")->kind, NODE_INT);
	assert_int_equal(node_get(r, "b")->line, 2);
	assert_int_equal(node_get(r, "b")->col, 7);
	assert_int_equal(node_get(node_get(r, "b")->items[1], "c")->kind,
	    NODE_NULL);
	assert_string_equal(node_get(r, "d")->str, "/x");
	doc_release(&d);
	error_list_release(&el);
}

static void
expect_error(const char *text, int line, int col, const char *needle)
{
	struct doc d = DOC_INIT;
	struct error_list el = ERROR_LIST_INIT;

	assert_int_equal(doc_load_mem(&d, "bad.yaml", text, strlen(text), &el),
	    -1);
	assert_true(el.n >= 1);
	char *s = error_format(&el.v[0]);
	if (strstr(s, needle) == NULL || el.v[0].line != line ||
	    el.v[0].col != col)
		fail_msg("got '%s', want %d:%d '%s'", s, line, col, needle);
	free(s);
	doc_release(&d);
	error_list_release(&el);
}

static void
test_errors(void **state)
{
	(void)state;
	expect_error("a: 1\na: 2\n", 2, 1, "duplicate key 'a'");
	{
		/* a .json file is strict JSON; other names fall back to YAML */
		struct doc d = DOC_INIT;
		struct error_list el = ERROR_LIST_INIT;
		const char *t = "{\"a\": 1,}";
		assert_int_equal(doc_load_mem(&d, "x.json", t, strlen(t), &el),
		    -1);
		assert_non_null(strstr(el.v[0].msg, "invalid JSON"));
		assert_int_equal(el.v[0].col, 9);
		doc_release(&d);
		error_list_release(&el);
		t = "{a: 1, # comment\n b: [2,],}";
		assert_int_equal(doc_load_mem(&d, "x.yaml", t, strlen(t), &el), 0);
		assert_false(d.json);
		assert_int_equal(node_get(d.root, "b")->n, 1);
		doc_release(&d);
		error_list_release(&el);
	}
	expect_error("a: [1, 2\n", 2, 1, "");
	expect_error("", 1, 1, "empty");
	expect_error("a: 1\n---\nb: 2\n", 2, 1, "more than one document");
	expect_error("a: *nope\n", 1, 4, "");
	expect_error("a: !!int x\n", 1, 4, "does not match its tag");
}

static void
test_alias_bomb(void **state)
{
	struct doc d = DOC_INIT;
	struct error_list el = ERROR_LIST_INIT;
	const char *bomb =
	    "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
	    "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
	    "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
	    "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
	    "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
	    "f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
	    "g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n";
	(void)state;
	assert_int_equal(doc_load_mem(&d, "b.yaml", bomb, strlen(bomb), &el),
	    -1);
	assert_non_null(strstr(el.v[0].msg, "too large"));
	doc_release(&d);
	error_list_release(&el);
}

static void
test_error_format_and_json(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	char *s;
	json_t *j;
	(void)state;

	error_add(&el, "f.yaml", 3, 7, "steps[1].name", "bad %s", "name");
	error_add(&el, "f.yaml", 1, 2, NULL, "first");
	error_list_sort(&el);
	s = error_format(&el.v[1]);
	assert_string_equal(s, "f.yaml:3:7: steps[1].name: bad name");
	free(s);
	s = error_format(&el.v[0]);
	assert_string_equal(s, "f.yaml:1:2: first");
	free(s);
	j = error_list_to_json(&el);
	assert_int_equal(json_array_size(j), 2);
	assert_int_equal(json_integer_value(json_object_get(
	    json_array_get(j, 1), "column")), 7);
	json_decref(j);
	error_list_release(&el);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yaml_types_and_positions),
		cmocka_unit_test(test_json_positions),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_alias_bomb),
		cmocka_unit_test(test_error_format_and_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
