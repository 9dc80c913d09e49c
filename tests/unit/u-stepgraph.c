/* Unit tests for step dependency checks and ordering. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/stepgraph.h"

/* Collected reports: "dep_index: message" lines. */
struct reports {
	char	 text[4096];
	size_t	 len;
	size_t	 n;
};

static void
collect(void *arg, size_t dep, const char *msg)
{
	struct reports *r = arg;

	r->len += (size_t)snprintf(r->text + r->len, sizeof(r->text) - r->len,
	    "%zu: %s\n", dep, msg);
	r->n++;
}

/*
 * Steps are given as "A B C", dependencies as "A>B B>C" (A depends on B).
 * Returns the reports; *order_text gets the order ("C B A") or "".
 */
static struct reports
run(const char *steps, const char *deps, enum stepgraph_order_kind kind,
    char *order_text)
{
	char sbuf[256], dbuf[256], *tok, *save;
	const char *names[32];
	struct stepgraph_dep dv[64];
	size_t ns = 0, nd = 0, i, problems, *order;
	struct reports r;

	memset(&r, 0, sizeof(r));
	snprintf(sbuf, sizeof(sbuf), "%s", steps);
	snprintf(dbuf, sizeof(dbuf), "%s", deps);
	for (tok = strtok_r(sbuf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save))
		names[ns++] = tok;
	for (tok = strtok_r(dbuf, " ", &save); tok != NULL;
	    tok = strtok_r(NULL, " ", &save)) {
		char *gt = strchr(tok, '>');

		assert_non_null(gt);
		*gt = '\0';
		for (i = 0; i < ns; i++)
			if (!strcmp(names[i], tok))
				break;
		assert_true(i < ns);
		dv[nd].step = i;
		dv[nd].name = gt + 1;
		nd++;
	}
	problems = stepgraph_check(ns, names, dv, nd, kind, &order, collect,
	    &r);
	assert_int_equal(problems, r.n);
	order_text[0] = '\0';
	if (problems == 0) {
		size_t len = 0;

		assert_non_null(order);
		for (i = 0; i < ns; i++)
			len += (size_t)sprintf(order_text + len, "%s%s",
			    i ? " " : "", names[order[i]]);
		free(order);
	} else
		assert_null(order);
	return r;
}

static void
expect_order(const char *steps, const char *deps, const char *ready,
    const char *dfs)
{
	char got[512];
	struct reports r;

	r = run(steps, deps, STEPGRAPH_ORDER_READY, got);
	if (r.n != 0)
		fail_msg("unexpected problems: %s", r.text);
	assert_string_equal(got, ready);
	r = run(steps, deps, STEPGRAPH_ORDER_DFS, got);
	assert_int_equal(r.n, 0);
	assert_string_equal(got, dfs);
}

static void
expect_reports(const char *steps, const char *deps, const char *want)
{
	char got[512];
	struct reports r = run(steps, deps, STEPGRAPH_ORDER_READY, got);

	assert_string_equal(got, "");
	assert_string_equal(r.text, want);
}

static void
test_order(void **state)
{
	(void)state;
	expect_order("A", "", "A", "A");
	expect_order("A B C", "", "A B C", "A B C");
	expect_order("A B", "A>B", "B A", "B A");
	/* openjd-rs reverse_dependency_order.yaml */
	expect_order("StepC StepB StepA", "StepC>StepB StepB>StepA",
	    "StepA StepB StepC", "StepA StepB StepC");
	/* The two orders differ: ready-first vs depth-first. */
	expect_order("A B C", "A>C", "B C A", "C A B");
	/* Diamond: D depends on B and C, both on A. */
	expect_order("D C B A", "D>B D>C C>A B>A", "A C B D", "A C B D");
	expect_order("A B C D", "B>A C>A D>B D>C", "A B C D", "A B C D");
	/* Independent chains keep template order where they can. */
	expect_order("X1 Y1 X2 Y2", "X2>X1 Y2>Y1", "X1 Y1 X2 Y2",
	    "X1 Y1 X2 Y2");
	expect_order("Render Comp Setup", "Render>Setup Comp>Render",
	    "Setup Render Comp", "Setup Render Comp");
}

static void
test_bad_names(void **state)
{
	(void)state;
	expect_reports("A B", "A>Z", "0: unknown step 'Z'\n");
	expect_reports("A B", "B>B", "0: step 'B' depends on itself\n");
	expect_reports("A B", "A>B A>B", "1: duplicate dependency on step 'B'\n");
	expect_reports("A B C", "A>b A>A C>B C>B C>B",
	    "0: unknown step 'b'\n"
	    "1: step 'A' depends on itself\n"
	    "3: duplicate dependency on step 'B'\n"
	    "4: duplicate dependency on step 'B'\n");
}

static void
test_cycles(void **state)
{
	(void)state;
	expect_reports("A B", "A>B B>A",
	    "1: dependency cycle: A -> B -> A\n");
	expect_reports("A B C", "A>B B>C C>A",
	    "2: dependency cycle: A -> B -> C -> A\n");
	/* Named from the earliest step, whichever edge comes first. */
	expect_reports("A B C", "C>A B>C A>B",
	    "0: dependency cycle: A -> B -> C -> A\n");
	/* Two separate cycles, plus a step outside both. */
	expect_reports("S A B C D E", "A>B B>A C>D D>E E>C S>A",
	    "1: dependency cycle: A -> B -> A\n"
	    "4: dependency cycle: C -> D -> E -> C\n");
	/* One component with two cycles through A: the shortest is named. */
	expect_reports("A B C D", "A>B B>C C>D D>A C>A",
	    "4: dependency cycle: A -> B -> C -> A\n");
	/* A cycle not through the first step. */
	expect_reports("A B C", "A>B B>C C>B",
	    "2: dependency cycle: B -> C -> B\n");
	/* Unknown names and cycles are all reported. */
	expect_reports("A B", "A>B B>A A>Q",
	    "2: unknown step 'Q'\n"
	    "1: dependency cycle: A -> B -> A\n");
}

static void
test_large_chain(void **state)
{
	/* A 5000-step chain written backwards: no recursion limits. */
	size_t n = 5000, i, problems, *order;
	const char **names = calloc(n, sizeof(char *));
	char (*buf)[16] = calloc(n, 16);
	struct stepgraph_dep *deps = calloc(n, sizeof(*deps));
	(void)state;

	for (i = 0; i < n; i++) {
		snprintf(buf[i], 16, "S%zu", i);
		names[i] = buf[i];
	}
	for (i = 0; i + 1 < n; i++) {
		deps[i].step = i;
		deps[i].name = names[i + 1];
	}
	problems = stepgraph_check(n, names, deps, n - 1,
	    STEPGRAPH_ORDER_DFS, &order, NULL, NULL);
	assert_int_equal(problems, 0);
	for (i = 0; i < n; i++)
		assert_int_equal(order[i], n - 1 - i);
	free(order);
	problems = stepgraph_check(n, names, deps, n - 1,
	    STEPGRAPH_ORDER_READY, &order, NULL, NULL);
	assert_int_equal(problems, 0);
	assert_int_equal(order[0], n - 1);
	free(order);
	/* Close the loop: one cycle of 5000 steps. */
	deps[n - 1].step = n - 1;
	deps[n - 1].name = names[0];
	problems = stepgraph_check(n, names, deps, n, STEPGRAPH_ORDER_READY,
	    &order, NULL, NULL);
	assert_int_equal(problems, 1);
	assert_null(order);
	free(names);
	free(buf);
	free(deps);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_bad_names),
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_large_chain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
