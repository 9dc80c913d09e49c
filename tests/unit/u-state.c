/*
 * Unit tests for the task state machine: the table, names, the derived
 * job state, and that docs/state-machine.md draws exactly the table (its
 * mermaid block is parsed; every drawn move must be in the table and every
 * move of the table must be drawn).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/buf.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "store/state.h"

static void
test_names(void **state)
{
	(void)state;
	for (int i = 0; i < TASK_NSTATES; i++) {
		assert_non_null(task_state_name(i));
		assert_int_equal(task_state_parse(task_state_name(i)), i);
	}
	assert_int_equal(task_state_parse("running"), TASK_RUNNING);
	assert_int_equal(task_state_parse("BOGUS"), -1);
	assert_null(task_state_name(TASK_NSTATES));
	for (int i = 1; i < REASON_NREASONS; i++)
		assert_int_equal(state_reason_parse(state_reason_code(i)), i);
	assert_true(task_state_final(TASK_SUCCEEDED));
	assert_false(task_state_final(TASK_SUSPENDED));
}

static void
test_table(void **state)
{
	(void)state;
	/* no duplicates, no self-moves, nothing leaves SUCCEEDED */
	for (size_t i = 0; i < state_nmoves; i++) {
		assert_int_not_equal(state_moves[i].from, state_moves[i].to);
		assert_int_not_equal(state_moves[i].from, TASK_SUCCEEDED);
		for (size_t j = i + 1; j < state_nmoves; j++)
			assert_false(state_moves[i].from == state_moves[j].from &&
			    state_moves[i].to == state_moves[j].to);
	}
	assert_true(state_move_allowed(TASK_READY, TASK_ASSIGNED));
	assert_true(state_move_allowed(TASK_RUNNING, TASK_FAILED));
	assert_false(state_move_allowed(TASK_READY, TASK_SUCCEEDED));
	assert_false(state_move_allowed(TASK_PENDING, TASK_RUNNING));
	/* every state is reachable and every non-final state can move on */
	for (int s = 0; s < TASK_NSTATES; s++) {
		int in = 0, out = 0;

		for (size_t i = 0; i < state_nmoves; i++) {
			in += (int)state_moves[i].to == s;
			out += (int)state_moves[i].from == s;
		}
		if (s != TASK_PENDING)
			assert_true(in > 0);
		if (!task_state_final(s))
			assert_true(out > 0);
	}
}

static void
test_derive(void **state)
{
	int64_t c[TASK_NSTATES];
	(void)state;

	memset(c, 0, sizeof(c));
	c[TASK_SUCCEEDED] = 3;
	assert_int_equal(state_derive(c), TASK_SUCCEEDED);
	c[TASK_FAILED] = 1;
	c[TASK_CANCELED] = 1;
	assert_int_equal(state_derive(c), TASK_FAILED);
	c[TASK_FAILED] = 0;
	assert_int_equal(state_derive(c), TASK_CANCELED);
	c[TASK_NOT_COMPATIBLE] = 1;
	assert_int_equal(state_derive(c), TASK_NOT_COMPATIBLE);
	c[TASK_PENDING] = 2;
	assert_int_equal(state_derive(c), TASK_PENDING);
	c[TASK_SUSPENDED] = 1;
	assert_int_equal(state_derive(c), TASK_SUSPENDED);
	c[TASK_READY] = 1;
	assert_int_equal(state_derive(c), TASK_READY);
	c[TASK_ASSIGNED] = 1;
	assert_int_equal(state_derive(c), TASK_RUNNING);
}

/* Moves drawn in the mermaid block of the doc: "A --> B : why". */
static void
test_doc_matches_table(void **state)
{
	const char *srcdir = getenv("DROVER_SOURCE_DIR");
	struct buf b = BUF_INIT;
	char *path, *p, *end, *line;
	int drawn[TASK_NSTATES][TASK_NSTATES];
	int nlines = 0, in_block = 0;
	(void)state;

	memset(drawn, 0, sizeof(drawn));
	path = xasprintf("%s/docs/state-machine.md", srcdir ? srcdir : ".");
	assert_int_equal(buf_read_file(&b, path), 0);
	free(path);
	for (p = b.s; p && *p; p = end ? end + 1 : NULL) {
		char from[64], to[64];

		end = strchr(p, '\n');
		line = xstrndup(p, end ? (size_t)(end - p) : strlen(p));
		if (strncmp(line, "```mermaid", 10) == 0)
			in_block = 1;
		else if (in_block && strncmp(line, "```", 3) == 0)
			in_block = 0;
		else if (in_block && sscanf(line, " %63s --> %63[A-Z_*]", from,
		    to) == 2 && strcmp(from, "[*]") != 0) {
			int f = task_state_parse(from), t = task_state_parse(to);

			if (f < 0 || t < 0)
				fail_msg("unknown state in '%s'", line);
			if (!state_move_allowed(f, t))
				fail_msg("the doc draws %s --> %s, the table "
				    "does not allow it", from, to);
			drawn[f][t]++;
			nlines++;
		}
		free(line);
	}
	buf_release(&b);
	assert_true(nlines > 0);
	for (size_t i = 0; i < state_nmoves; i++)
		if (drawn[state_moves[i].from][state_moves[i].to] != 1)
			fail_msg("the table allows %s -> %s, the doc draws it "
			    "%d times", task_state_name(state_moves[i].from),
			    task_state_name(state_moves[i].to),
			    drawn[state_moves[i].from][state_moves[i].to]);
	assert_int_equal((size_t)nlines, state_nmoves);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_derive),
		cmocka_unit_test(test_doc_matches_table),
	};

	log_init("u-state", LOG_LVL_ERROR);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
