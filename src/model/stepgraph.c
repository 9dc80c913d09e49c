/*
 * Step dependency checks and ordering: names resolved by binary search,
 * cycles found as strongly connected components (Tarjan, iterative) and
 * named by a shortest cycle through each component's earliest step, then
 * a topological order (Kahn with a min-heap, or openjd's DFS).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "model/stepgraph.h"

struct edge {
	size_t		 from;		/* the dependent step */
	size_t		 to;		/* the step it depends on */
	size_t		 dep;		/* index in deps[] */
};

struct graph {
	size_t		 n;
	const char *const *names;
	struct edge	*e;		/* sorted by (from, to) */
	size_t		 ne;
	size_t		*first;		/* edges of v: e[first[v] .. first[v+1]) */
};

struct named {
	const char	*name;
	size_t		 idx;
};

static int
name_cmp(const void *a, const void *b)
{
	const struct named *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c != 0)
		return c;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int
edge_cmp(const void *a, const void *b)
{
	const struct edge *x = a, *y = b;

	if (x->from != y->from)
		return x->from < y->from ? -1 : 1;
	if (x->to != y->to)
		return x->to < y->to ? -1 : 1;
	return x->dep < y->dep ? -1 : x->dep > y->dep;
}

/* First step called name, or SIZE_MAX. */
static size_t
lookup(const struct named *byname, size_t n, const char *name)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(byname[mid].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < n && !strcmp(byname[lo].name, name))
		return byname[lo].idx;
	return SIZE_MAX;
}

static void
say(stepgraph_report_fn report, void *arg, size_t dep, struct buf *b)
{
	if (report != NULL)
		report(arg, dep, b->s);
	buf_reset(b);
}

/*
 * Names a shortest cycle through u inside its component (comp[] == c):
 * breadth-first along dependencies, then the path back.
 */
static void
report_cycle(const struct graph *g, const size_t *comp, size_t c, size_t u,
    stepgraph_report_fn report, void *arg)
{
	size_t *queue = xcalloc(g->n, sizeof(size_t));
	size_t *parent = xcalloc(g->n, sizeof(size_t));	/* edge index + 1 */
	size_t *path = xcalloc(g->n + 1, sizeof(size_t));
	size_t qh = 0, qt = 0, close = SIZE_MAX, np = 0, v, k;
	struct buf b = BUF_INIT;

	queue[qt++] = u;
	while (qh < qt && close == SIZE_MAX) {
		v = queue[qh++];
		for (k = g->first[v]; k < g->first[v + 1]; k++) {
			size_t w = g->e[k].to;

			if (comp[w] != c)
				continue;
			if (w == u) {
				close = k;
				break;
			}
			if (parent[w] == 0) {
				parent[w] = k + 1;
				queue[qt++] = w;
			}
		}
	}
	if (close != SIZE_MAX) {
		/* Walk back from the edge's origin to u. */
		v = g->e[close].from;
		while (v != u) {
			path[np++] = v;
			v = g->e[parent[v] - 1].from;
		}
		buf_addf(&b, "dependency cycle: %s", g->names[u]);
		while (np > 0)
			buf_addf(&b, " -> %s", g->names[path[--np]]);
		buf_addf(&b, " -> %s", g->names[u]);
		say(report, arg, g->e[close].dep, &b);
	}
	buf_release(&b);
	free(queue);
	free(parent);
	free(path);
}

/* Tarjan's SCC; reports one cycle per component of 2+ steps. */
static size_t
find_cycles(const struct graph *g, stepgraph_report_fn report, void *arg)
{
	size_t n = g->n, idx = 1, ncomp = 0, problems = 0, v, i;
	size_t *index = xcalloc(n, sizeof(size_t));	/* 0 = unvisited */
	size_t *low = xcalloc(n, sizeof(size_t));
	size_t *comp = xcalloc(n, sizeof(size_t));
	size_t *csize = xcalloc(n + 1, sizeof(size_t));
	size_t *cmin = xcalloc(n + 1, sizeof(size_t));
	size_t *stack = xcalloc(n, sizeof(size_t));
	size_t *call = xcalloc(n, sizeof(size_t));	/* DFS: vertex */
	size_t *next = xcalloc(n, sizeof(size_t));	/* DFS: next edge */
	char *on = xcalloc(n, 1);
	size_t sp = 0, cp;

	for (v = 0; v < n; v++) {
		if (index[v] != 0)
			continue;
		cp = 0;
		call[cp++] = v;
		index[v] = low[v] = idx++;
		next[v] = g->first[v];
		stack[sp++] = v;
		on[v] = 1;
		while (cp > 0) {
			size_t x = call[cp - 1];

			if (next[x] < g->first[x + 1]) {
				size_t w = g->e[next[x]++].to;

				if (index[w] == 0) {
					index[w] = low[w] = idx++;
					next[w] = g->first[w];
					stack[sp++] = w;
					on[w] = 1;
					call[cp++] = w;
				} else if (on[w] && index[w] < low[x])
					low[x] = index[w];
				continue;
			}
			cp--;
			if (cp > 0 && low[x] < low[call[cp - 1]])
				low[call[cp - 1]] = low[x];
			if (low[x] == index[x]) {
				size_t w;

				ncomp++;
				cmin[ncomp] = SIZE_MAX;
				do {
					w = stack[--sp];
					on[w] = 0;
					comp[w] = ncomp;
					csize[ncomp]++;
					if (w < cmin[ncomp])
						cmin[ncomp] = w;
				} while (w != x);
			}
		}
	}
	/* Report in template order of each component's earliest step. */
	for (v = 0; v < n; v++) {
		i = comp[v];
		if (csize[i] > 1 && cmin[i] == v) {
			report_cycle(g, comp, i, v, report, arg);
			problems++;
		}
	}
	free(index);
	free(low);
	free(comp);
	free(csize);
	free(cmin);
	free(stack);
	free(call);
	free(next);
	free(on);
	return problems;
}

/* Min-heap of step indexes. */
static void
heap_push(size_t *h, size_t *n, size_t v)
{
	size_t i = (*n)++;

	while (i > 0 && h[(i - 1) / 2] > v) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = v;
}

static size_t
heap_pop(size_t *h, size_t *n)
{
	size_t top = h[0], v = h[--(*n)], i = 0;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] < h[c])
			c++;
		if (h[c] >= v)
			break;
		h[i] = h[c];
		i = c;
	}
	if (*n > 0)
		h[i] = v;
	return top;
}

static size_t *
order_ready(const struct graph *g)
{
	size_t n = g->n, hn = 0, on = 0, k, v;
	size_t *indeg = xcalloc(n, sizeof(size_t));
	size_t *rfirst = xcalloc(n + 1, sizeof(size_t));
	size_t *rev = xcalloc(g->ne + 1, sizeof(size_t));
	size_t *fill = xcalloc(n, sizeof(size_t));
	size_t *heap = xcalloc(n, sizeof(size_t));
	size_t *order = xcalloc(n + 1, sizeof(size_t));

	/* Reverse adjacency: who depends on v. */
	for (k = 0; k < g->ne; k++)
		rfirst[g->e[k].to + 1]++;
	for (v = 0; v < n; v++)
		rfirst[v + 1] += rfirst[v];
	for (k = 0; k < g->ne; k++) {
		size_t t = g->e[k].to;

		rev[rfirst[t] + fill[t]++] = g->e[k].from;
	}
	for (v = 0; v < n; v++) {
		indeg[v] = g->first[v + 1] - g->first[v];
		if (indeg[v] == 0)
			heap_push(heap, &hn, v);
	}
	while (hn > 0) {
		v = heap_pop(heap, &hn);
		order[on++] = v;
		for (k = rfirst[v]; k < rfirst[v + 1]; k++)
			if (--indeg[rev[k]] == 0)
				heap_push(heap, &hn, rev[k]);
	}
	free(indeg);
	free(rfirst);
	free(rev);
	free(fill);
	free(heap);
	return order;
}

/*
 * openjd's order: for each step in template order, depth-first through
 * its dependencies (earliest first), each step placed once all its
 * dependencies are.
 */
static size_t *
order_dfs(const struct graph *g)
{
	size_t n = g->n, on = 0, sn, ns = g->ne + n + 1, i, k;
	unsigned char *state = xcalloc(n + 1, 1);
	size_t *stack = xcalloc(ns, sizeof(size_t));
	size_t *order = xcalloc(n + 1, sizeof(size_t));

	for (i = 0; i < n; i++) {
		if (state[i] != 0)
			continue;
		sn = 0;
		stack[sn++] = i;
		while (sn > 0) {
			size_t top = stack[sn - 1];

			if (state[top] == 2) {
				sn--;
			} else if (state[top] == 1) {
				state[top] = 2;
				order[on++] = top;
				sn--;
			} else {
				state[top] = 1;
				for (k = g->first[top + 1]; k-- > g->first[top];)
					if (state[g->e[k].to] == 0)
						stack[sn++] = g->e[k].to;
			}
		}
	}
	free(state);
	free(stack);
	return order;
}

size_t
stepgraph_check(size_t nsteps, const char *const *names,
    const struct stepgraph_dep *deps, size_t ndeps,
    enum stepgraph_order_kind kind, size_t **order,
    stepgraph_report_fn report, void *arg)
{
	struct graph g;
	struct buf b = BUF_INIT;
	struct named *byname = xcalloc(nsteps + 1, sizeof(*byname));
	size_t problems = 0, i, m;

	if (order != NULL)
		*order = NULL;
	memset(&g, 0, sizeof(g));
	g.n = nsteps;
	g.names = names;
	for (i = 0; i < nsteps; i++) {
		byname[i].name = names[i] != NULL ? names[i] : "";
		byname[i].idx = i;
	}
	qsort(byname, nsteps, sizeof(*byname), name_cmp);

	g.e = xcalloc(ndeps + 1, sizeof(*g.e));
	for (i = 0; i < ndeps; i++) {
		size_t to = deps[i].name != NULL ?
		    lookup(byname, nsteps, deps[i].name) : SIZE_MAX;

		if (deps[i].step >= nsteps)
			continue;	/* caller bug; nothing to name */
		if (to == SIZE_MAX) {
			buf_addf(&b, "unknown step '%s'",
			    deps[i].name != NULL ? deps[i].name : "");
			say(report, arg, i, &b);
			problems++;
		} else if (to == deps[i].step) {
			buf_addf(&b, "step '%s' depends on itself",
			    names[to]);
			say(report, arg, i, &b);
			problems++;
		} else {
			g.e[g.ne].from = deps[i].step;
			g.e[g.ne].to = to;
			g.e[g.ne].dep = i;
			g.ne++;
		}
	}
	qsort(g.e, g.ne, sizeof(*g.e), edge_cmp);
	for (i = 0, m = 0; i < g.ne; i++) {
		if (m > 0 && g.e[m - 1].from == g.e[i].from &&
		    g.e[m - 1].to == g.e[i].to) {
			buf_addf(&b, "duplicate dependency on step '%s'",
			    names[g.e[i].to]);
			say(report, arg, g.e[i].dep, &b);
			problems++;
			continue;
		}
		g.e[m++] = g.e[i];
	}
	g.ne = m;
	g.first = xcalloc(nsteps + 1, sizeof(size_t));
	for (i = 0; i < g.ne; i++)
		g.first[g.e[i].from + 1]++;
	for (i = 0; i < nsteps; i++)
		g.first[i + 1] += g.first[i];

	problems += find_cycles(&g, report, arg);
	if (problems == 0 && order != NULL)
		*order = kind == STEPGRAPH_ORDER_DFS ? order_dfs(&g) :
		    order_ready(&g);
	buf_release(&b);
	free(byname);
	free(g.e);
	free(g.first);
	return problems;
}
