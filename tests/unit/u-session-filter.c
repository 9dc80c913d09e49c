/* Unit tests for openjd_* directive parsing and redaction (session/filter.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "session/filter.h"

static void
check_kind(const char *line, enum filter_kind kind, int cancel)
{
	struct redact_set *rs = redact_new();
	struct filter_msg m;

	filter_line(rs, 1, line, &m);
	if (m.kind != kind || m.cancel != cancel)
		fail_msg("'%s': kind %d cancel %d, expected %d %d", line,
		    m.kind, m.cancel, kind, cancel);
	filter_msg_release(&m);
	redact_free(rs);
}

static void
test_plain(void **state)
{
	(void)state;
	check_kind("hello", FILTER_NONE, 0);
	check_kind("", FILTER_NONE, 0);
	check_kind("openjd_", FILTER_NONE, 0);
	check_kind("openjd_unknown: x", FILTER_NONE, 0);
	check_kind("openjd_environment_setup done", FILTER_NONE, 0);
	check_kind("openjd_status:", FILTER_NONE, 0);	/* no ": " */
	check_kind("openjd_status: ", FILTER_NONE, 0);	/* empty payload */
	check_kind(" openjd_status: x", FILTER_NONE, 0);
	check_kind("openjd_session_runtime_loglevel: DEBUG", FILTER_LOGLEVEL,
	    0);
}

static void
test_progress_status_fail(void **state)
{
	struct redact_set *rs = redact_new();
	struct filter_msg m;
	(void)state;

	filter_line(rs, 0, "openjd_progress: 42.5", &m);
	assert_int_equal(m.kind, FILTER_PROGRESS);
	assert_true(m.progress > 42.4 && m.progress < 42.6);
	assert_string_equal(m.line, "openjd_progress: 42.5");
	filter_msg_release(&m);
	filter_line(rs, 0, "openjd_progress:  100 ", &m);
	assert_int_equal(m.kind, FILTER_PROGRESS);
	assert_true(m.progress == 100.0);
	filter_msg_release(&m);
	/* out of range or not a number: shown with an error, not fatal */
	for (int i = 0; i < 4; i++) {
		static const char *bad[] = { "openjd_progress: 101",
		    "openjd_progress: -1", "openjd_progress: abc",
		    "openjd_progress: nan" };

		filter_line(rs, 0, bad[i], &m);
		assert_int_equal(m.kind, FILTER_MALFORMED);
		assert_false(m.cancel);
		assert_non_null(strstr(m.line, " -- ERROR: "));
		assert_memory_equal(m.line, bad[i], strlen(bad[i]));
		filter_msg_release(&m);
	}
	filter_line(rs, 0, "openjd_status: loading: assets", &m);
	assert_int_equal(m.kind, FILTER_STATUS);
	assert_string_equal(m.value, "loading: assets");
	filter_msg_release(&m);
	filter_line(rs, 0, "openjd_fail: it broke", &m);
	assert_int_equal(m.kind, FILTER_FAIL);
	assert_string_equal(m.value, "it broke");
	assert_false(m.cancel);
	filter_msg_release(&m);
	redact_free(rs);
}

static void
test_env(void **state)
{
	struct redact_set *rs = redact_new();
	struct filter_msg m;
	(void)state;

	filter_line(rs, 0, "openjd_env: FOO=bar=baz", &m);
	assert_int_equal(m.kind, FILTER_ENV);
	assert_string_equal(m.name, "FOO");
	assert_string_equal(m.value, "bar=baz");
	filter_msg_release(&m);
	filter_line(rs, 0, "openjd_env:  \t F_1=", &m);
	assert_int_equal(m.kind, FILTER_ENV);
	assert_string_equal(m.name, "F_1");
	assert_string_equal(m.value, "");
	filter_msg_release(&m);
	filter_line(rs, 0, "openjd_env: \"ML=a\\nb\"", &m);
	assert_int_equal(m.kind, FILTER_ENV);
	assert_string_equal(m.name, "ML");
	assert_string_equal(m.value, "a\nb");
	filter_msg_release(&m);
	filter_line(rs, 0, "openjd_unset_env: HOME", &m);
	assert_int_equal(m.kind, FILTER_UNSET_ENV);
	assert_string_equal(m.name, "HOME");
	filter_msg_release(&m);
	redact_free(rs);

	/* malformed env directives fail the action */
	check_kind("openjd_env: 1FOO=bar", FILTER_MALFORMED, 1);
	check_kind("openjd_env: FOO", FILTER_MALFORMED, 1);
	check_kind("openjd_env: \"FOO=unterminated", FILTER_MALFORMED, 1);
	check_kind("openjd_unset_env: FOO BAR", FILTER_MALFORMED, 1);
	check_kind("openjd_unset_env: FOO=1", FILTER_MALFORMED, 1);
	/* near misses of the env directives too */
	check_kind("openjd_ENV: FOO=bar", FILTER_MALFORMED, 1);
	check_kind("openjd_env:FOO=bar", FILTER_MALFORMED, 1);
	check_kind("openjd_env FOO=bar", FILTER_MALFORMED, 1);
	check_kind("openjd_env", FILTER_MALFORMED, 1);
	check_kind("  OPENJD_UNSET_ENV: X", FILTER_MALFORMED, 1);
	check_kind("openjd_env: ", FILTER_MALFORMED, 1);
	/* ... but not of the others */
	check_kind("openjd_Status: x", FILTER_NONE, 0);
	check_kind("openjd_progress:50", FILTER_NONE, 0);
}

static void
test_redacted_env(void **state)
{
	struct redact_set *rs = redact_new();
	struct buf b = BUF_INIT;
	struct filter_msg m;
	(void)state;

	filter_line(rs, 1, "openjd_redacted_env: TOKEN=s3cr3t", &m);
	assert_int_equal(m.kind, FILTER_REDACTED_ENV);
	assert_true(m.set_env);
	assert_string_equal(m.name, "TOKEN");
	assert_string_equal(m.value, "s3cr3t");
	assert_string_equal(m.line, "openjd_redacted_env: TOKEN=********");
	filter_msg_release(&m);
	/* every later line is redacted */
	filter_line(rs, 1, "the token is s3cr3t, s3cr3ts3cr3t", &m);
	assert_string_equal(m.line, "the token is ********, ********");
	filter_msg_release(&m);
	filter_line(rs, 1, "openjd_status: using s3cr3t", &m);
	assert_string_equal(m.value, "using ********");
	assert_string_equal(m.line, "openjd_status: using ********");
	filter_msg_release(&m);
	assert_string_equal(redact_apply(rs, "no secret", &b), "no secret");

	/* without the extension: redacted, but not set */
	filter_line(rs, 0, "openjd_redacted_env: OTHER=xyzzy", &m);
	assert_int_equal(m.kind, FILTER_REDACTED_ENV);
	assert_false(m.set_env);
	filter_msg_release(&m);
	assert_string_equal(redact_apply(rs, "say xyzzy", &b),
	    "say ********");

	/* malformed: the value part is hidden anyway */
	filter_line(rs, 1, "openjd_redacted_env: 9X=plugh", &m);
	assert_int_equal(m.kind, FILTER_MALFORMED);
	assert_false(m.cancel);
	assert_null(strstr(m.line, "plugh"));
	filter_msg_release(&m);
	assert_string_equal(redact_apply(rs, "plugh", &b), "********");
	filter_line(rs, 0, "openjd_redacted_env: nonsense", &m);
	assert_true(m.cancel);
	assert_null(strstr(m.line, "nonsense"));
	filter_msg_release(&m);
	filter_line(rs, 1, "openjd_redacted_env:PW=hidden1", &m);
	assert_int_equal(m.kind, FILTER_MALFORMED);
	assert_true(m.cancel);
	assert_null(strstr(m.line, "hidden1"));
	filter_msg_release(&m);

	/* multi-line secret: middle lines only as whole lines */
	filter_line(rs, 1, "openjd_redacted_env: \"K=first\\nmid\\nlast\"",
	    &m);
	assert_int_equal(m.kind, FILTER_REDACTED_ENV);
	filter_msg_release(&m);
	assert_string_equal(redact_apply(rs, "a first b", &b),
	    "a ******** b");
	assert_string_equal(redact_apply(rs, "mid", &b), "********");
	assert_string_equal(redact_apply(rs, "middle", &b), "middle");
	assert_string_equal(redact_apply(rs, "last", &b), "********");
	buf_release(&b);
	redact_free(rs);
}

static void
test_redact_overlap(void **state)
{
	struct redact_set *rs = redact_new();
	char *r;
	(void)state;

	redact_add(rs, "BAR");
	redact_add(rs, "FOOBAR");
	redact_add(rs, "ARX");
	redact_add(rs, "");
	assert_int_equal(redact_count(rs), 3);
	r = redact_dup(rs, "xFOOBARXy BAR");
	assert_string_equal(r, "x********y ********");
	free(r);
	r = filter_hide_redacted_request("python -c 'print(\"openjd_redacted_env:"
	    " A=b\")'");
	assert_string_equal(r, "python -c 'print(\"openjd_redacted_env: "
	    "********");
	free(r);
	r = filter_hide_redacted_request("echo hi");
	assert_string_equal(r, "echo hi");
	free(r);
	redact_free(rs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_progress_status_fail),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_redacted_env),
		cmocka_unit_test(test_redact_overlap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
