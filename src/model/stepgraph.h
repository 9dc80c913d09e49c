/*
 * Step dependencies (Template Schemas 3.2): checks the dependsOn edges of a
 * job's steps and gives an order in which the steps can run.  Works on
 * plain names and indexes so that the template validator (which knows the
 * source positions) and job creation can both use it.
 */
#ifndef DROVER_STEPGRAPH_H
#define DROVER_STEPGRAPH_H

#include <stddef.h>

/* One "dependsOn": step (index into names[]) depends on the step called name. */
struct stepgraph_dep {
	size_t		 step;
	const char	*name;
};

/*
 * Called once per problem; dep_index is the index in deps[] of the
 * dependency at fault (for a cycle: the edge that closes it, i.e. the
 * dependency of the cycle's last step on its first), so the caller can
 * attach that dependency's file position.  msg is only valid during the
 * call.  Messages:
 *   "unknown step 'X'"
 *   "step 'A' depends on itself"
 *   "duplicate dependency on step 'B'"
 *   "dependency cycle: A -> B -> C -> A"   ("A -> B": A depends on B)
 */
typedef void (*stepgraph_report_fn)(void *arg, size_t dep_index,
	    const char *msg);

enum stepgraph_order_kind {
	/* Kahn: among the steps whose dependencies are all placed, the
	 * earliest in the template goes first. */
	STEPGRAPH_ORDER_READY,
	/* openjd-rs / Python openjd: depth-first in template order, each
	 * step's dependencies (in template order) placed before it. */
	STEPGRAPH_ORDER_DFS,
};

/*
 * Checks deps against the nsteps step names (duplicate step names are the
 * validator's business; the first of equal names wins here).  Every
 * problem is reported (unknown names, self-references, duplicates, and
 * one cycle per strongly connected component, named from its earliest
 * step, e.g. "dependency cycle: A -> B -> A"); report may be NULL.
 * Returns the number of problems reported.  When it is 0 and order is not
 * NULL, *order is a malloc'd array of nsteps step indexes (caller frees)
 * in the requested order, each step after all steps it depends on; else
 * *order is set to NULL.
 */
size_t	stepgraph_check(size_t nsteps, const char *const *names,
	    const struct stepgraph_dep *deps, size_t ndeps,
	    enum stepgraph_order_kind kind, size_t **order,
	    stepgraph_report_fn report, void *arg);

#endif
