/* Unit tests for format strings and symbol tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/format.h"

static void
test_symtab(void **state)
{
	struct symtab *st = symtab_new(), *cp;
	(void)state;

	symtab_set(st, "Param.B", "2");
	symtab_set(st, "Param.A", "1");
	symtab_set(st, "Session.WorkingDirectory", NULL);
	symtab_set(st, "Param.B", "two");
	assert_int_equal(symtab_count(st), 3);
	assert_string_equal(symtab_name_at(st, 0), "Param.A");
	assert_string_equal(symtab_get(st, "Param.B"), "two");
	assert_true(symtab_has(st, "Session.WorkingDirectory"));
	assert_null(symtab_get(st, "Session.WorkingDirectory"));
	assert_false(symtab_has(st, "Param.C"));
	cp = symtab_copy(st);
	symtab_remove(st, "Param.A");
	assert_false(symtab_has(st, "Param.A"));
	assert_string_equal(symtab_get(cp, "Param.A"), "1");
	symtab_free(st);
	symtab_free(cp);
}

static void
test_resolve(void **state)
{
	struct symtab *st = symtab_new();
	char *err = NULL, *s;
	(void)state;

	symtab_set(st, "Param.Frame", "42");
	symtab_set(st, "Task.Param.Name", "shot_01");
	s = fmt_resolve("frame_{{Param.Frame}}_{{  Task.Param.Name\t}}!", st,
	    &err);
	assert_string_equal(s, "frame_42_shot_01!");
	free(s);
	s = fmt_resolve("no refs } {", st, &err);
	assert_string_equal(s, "no refs } {");
	free(s);
	assert_null(fmt_resolve("{{ Param.Fram }}", st, &err));
	assert_non_null(strstr(err, "did you mean 'Param.Frame'"));
	free(err);
	assert_null(fmt_resolve("{{ Param.Frame", st, &err));
	assert_non_null(strstr(err, "not closed"));
	free(err);
	symtab_free(st);
}

static void
test_parse_errors(void **state)
{
	struct fmt f;
	size_t off;
	char *msg;
	(void)state;

	assert_int_equal(fmt_parse(&f, "a {{ }}", &off, &msg), -1);
	assert_int_equal(off, 2);
	free(msg);
	fmt_release(&f);
	assert_int_equal(fmt_parse(&f, "{{ Param.X + 1 }}", &off, &msg), -1);
	assert_non_null(strstr(msg, "EXPR"));
	free(msg);
	fmt_release(&f);
	assert_int_equal(fmt_parse(&f, "{{ Param..X }}", &off, &msg), -1);
	free(msg);
	fmt_release(&f);
	assert_int_equal(fmt_parse(&f, "{{ 1Param }}", &off, &msg), -1);
	free(msg);
	fmt_release(&f);
	assert_int_equal(fmt_parse(&f, "{{ a {{ b }}", &off, &msg), -1);
	assert_int_equal(off, 5);
	free(msg);
	fmt_release(&f);
	assert_int_equal(fmt_parse(&f, "x{{A.b_1}}y{{C}}", &off, &msg), 0);
	assert_int_equal(f.n, 2);
	assert_int_equal(f.refs[0].start, 1);
	assert_int_equal(f.refs[0].end, 10);
	assert_string_equal(f.refs[1].name, "C");
	fmt_release(&f);
}

static void
test_check(void **state)
{
	struct symtab *st = symtab_new();
	struct error_list el = ERROR_LIST_INIT;
	char *s;
	(void)state;

	symtab_set(st, "Param.Frames", NULL);
	assert_int_equal(fmt_check("{{Param.Frames}}", st, &el, "j.yaml", 4, 9,
	    "name"), 0);
	assert_int_equal(fmt_check("{{Param.Frame}} {{Task.X}}", st, &el,
	    "j.yaml", 4, 9, "name"), -1);
	assert_int_equal(el.n, 2);
	s = error_format(&el.v[0]);
	assert_string_equal(s, "j.yaml:4:9: name: unknown value reference "
	    "'Param.Frame' in format string (did you mean 'Param.Frames'?)");
	free(s);
	/* too far from anything: no suggestion */
	assert_null(strstr(el.v[1].msg, "did you mean"));
	error_list_release(&el);
	symtab_free(st);
}

static void
test_edit_distance(void **state)
{
	(void)state;
	assert_int_equal(fmt_edit_distance("kitten", "sitting"), 3);
	assert_int_equal(fmt_edit_distance("", "abc"), 3);
	assert_int_equal(fmt_edit_distance("same", "same"), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_symtab),
		cmocka_unit_test(test_resolve),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_edit_distance),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
