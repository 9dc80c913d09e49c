/*
 * drover run: runs a job template here and now, in one local session, as
 * `openjd run` does: creates the job, enters the job environments, runs
 * the selected steps (each inside its step environments) and their tasks,
 * exits every environment it entered or tried to, and prints a summary.
 * Output streams as it happens, each line timestamped.
 *
 * Interrupts: the first SIGINT/SIGTERM cancels the running action with its
 * cancelation method and lets the environments exit; a second one kills
 * the running action at once and stops without running anything more.
 *
 * TASK_CHUNKING with targetRuntimeSeconds: when the chunked parameter is
 * the step's only parameter the chunk size adapts to the measured task
 * durations (openjd's rule: 75 % old / 25 % ideal for the first ten
 * values, then the ideal); chunks are then cut one after the other from
 * where the last one ended.
 */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "cli/params-cli.h"
#include "common/buf.h"
#include "common/doc.h"
#include "common/xmalloc.h"
#include "model/job.h"
#include "model/range.h"
#include "model/space.h"
#include "model/template.h"
#include "session/pathmap.h"
#include "session/session.h"

enum ts_format { TS_RELATIVE, TS_LOCAL, TS_UTC };

/* One explicit task: values in the step's parameter order. */
struct run_task {
	char	**values;
};

struct run_opts {
	const char	*path;
	const char	*step;
	char		**task_params;	/* "P=V" (borrowed) */
	size_t		 ntask_params;
	const char	*tasks;
	long long	 max_tasks;	/* -1: all */
	int		 run_deps;
	const char	*pathmap;
	int		 preserve;
	enum ts_format	 ts;
	int		 json;
};

struct run {
	struct run_opts	*o;
	struct job	*job;
	struct session	*s;
	struct timespec	 t0;		/* monotonic start */
	uint64_t	 tasks_run;
	uint64_t	 tasks_failed;
	size_t		 steps_run;
	int		 failed;
	int		 said_interrupt;
};

static struct session *volatile run_session;
static volatile sig_atomic_t run_interrupts;

static void
run_on_signal(int sig)
{
	struct session *s = run_session;

	(void)sig;
	if (run_interrupts < 100)
		run_interrupts++;
	if (s == NULL)
		return;
	if (run_interrupts == 1)
		session_cancel_async(s);
	else
		session_kill_async(s);
}

static void
run_signals(int install)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = install ? run_on_signal : SIG_DFL;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	/* A closed stdout (drover run | head) must not kill drover before
	 * it has cleaned up: see run_wait(). */
	sa.sa_handler = install ? SIG_IGN : SIG_DFL;
	sigaction(SIGPIPE, &sa, NULL);
}

/* --- output --------------------------------------------------------- */

static void
run_timestamp(struct run *r, const struct timespec *rt, char *out,
    size_t len)
{
	struct timespec now;
	struct tm tm;
	char base[40];

	if (r->o->ts == TS_RELATIVE) {
		int64_t ms;

		clock_gettime(CLOCK_MONOTONIC, &now);
		ms = (int64_t)(now.tv_sec - r->t0.tv_sec) * 1000 +
		    (now.tv_nsec - r->t0.tv_nsec) / 1000000;
		if (ms < 0)
			ms = 0;
		snprintf(out, len, "%" PRId64 ":%02d:%02d.%03d", ms / 3600000,
		    (int)(ms / 60000 % 60), (int)(ms / 1000 % 60),
		    (int)(ms % 1000));
		return;
	}
	if (rt == NULL) {
		clock_gettime(CLOCK_REALTIME, &now);
		rt = &now;
	}
	if (r->o->ts == TS_UTC)
		gmtime_r(&rt->tv_sec, &tm);
	else
		localtime_r(&rt->tv_sec, &tm);
	strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%s.%03d%s", base, (int)(rt->tv_nsec / 1000000),
	    r->o->ts == TS_UTC ? "Z" : "");
}

static const char *
run_kind_name(enum session_action_kind k)
{
	switch (k) {
	case SESSION_ENV_ENTER:	return "enter";
	case SESSION_ENV_EXIT:	return "exit";
	case SESSION_TASK_RUN:	return "task";
	}
	return "?";
}

/* A line from drover itself (not the session). */
static void
run_say(struct run *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
run_say(struct run *r, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	char ts[48];
	va_list ap;

	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	run_timestamp(r, NULL, ts, sizeof(ts));
	if (r->o->json) {
		json_t *o = json_pack("{s:s, s:s, s:s}", "ts", ts, "type",
		    "log", "text", b.s);

		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	} else
		printf("%s\t%s\n", ts, b.s);
	buf_release(&b);
}

static void
run_event(void *arg, const struct session_event *ev)
{
	struct run *r = arg;
	char ts[48];
	json_t *o;

	run_timestamp(r, &ev->ts, ts, sizeof(ts));
	if (!r->o->json) {
		if (ev->type == SESSION_EV_LOG || ev->type == SESSION_EV_OUTPUT)
			printf("%s\t%s\n", ts, ev->text);
		return;
	}
	o = json_pack("{s:s}", "ts", ts);
	switch (ev->type) {
	case SESSION_EV_LOG:
	case SESSION_EV_OUTPUT:
		json_object_set_new(o, "type", json_string(ev->type ==
		    SESSION_EV_LOG ? "log" : "output"));
		json_object_set_new(o, "text", json_string(ev->text));
		break;
	case SESSION_EV_ACTION_START:
	case SESSION_EV_ACTION_END:
		json_object_set_new(o, "type", json_string(ev->type ==
		    SESSION_EV_ACTION_START ? "action_start" : "action_end"));
		json_object_set_new(o, "action",
		    json_string(run_kind_name(ev->action)));
		json_object_set_new(o, "name", json_string(ev->name));
		if (ev->type == SESSION_EV_ACTION_END) {
			json_object_set_new(o, "state", json_string(
			    session_action_state_name(ev->state)));
			if (ev->exit_code >= 0)
				json_object_set_new(o, "exit_code",
				    json_integer(ev->exit_code));
			if (ev->signal)
				json_object_set_new(o, "signal",
				    json_integer(ev->signal));
			if (ev->text)
				json_object_set_new(o, "message",
				    json_string(ev->text));
		}
		break;
	case SESSION_EV_PROGRESS:
		json_object_set_new(o, "type", json_string("progress"));
		json_object_set_new(o, "progress", json_real(ev->progress));
		break;
	case SESSION_EV_STATUS:
	case SESSION_EV_FAIL:
		json_object_set_new(o, "type", json_string(ev->type ==
		    SESSION_EV_STATUS ? "status" : "fail"));
		json_object_set_new(o, "text", json_string(ev->text));
		break;
	case SESSION_EV_ENV_SET:
		json_object_set_new(o, "type", json_string("env_set"));
		json_object_set_new(o, "variable", json_string(ev->text));
		json_object_set_new(o, "value", json_string(ev->value));
		break;
	case SESSION_EV_ENV_UNSET:
		json_object_set_new(o, "type", json_string("env_unset"));
		json_object_set_new(o, "variable", json_string(ev->text));
		break;
	}
	json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(o);
}

/* --- driving the session --------------------------------------------- */

static int
run_stopping(struct run *r)
{
	if (run_interrupts > 0 && !r->said_interrupt) {
		r->said_interrupt = 1;
		r->failed = 1;
		run_say(r, "Interruption signal received: canceling");
	}
	return run_interrupts > 0;
}

static int
run_aborted(void)
{
	return run_interrupts > 1;
}

/* Waits for the action started with a session_*_start() call. */
static int
run_wait(struct run *r)
{
	struct session_result res;

	/* Output is flushed before waiting, not line by line. */
	while (session_busy(r->s)) {
		if (fflush(stdout) != 0 && errno == EPIPE && !run_interrupts) {
			/* nobody reads our output any more: stop as for
			 * Ctrl-C */
			run_on_signal(SIGPIPE);
		}
		session_poll(r->s, -1);
		(void)run_stopping(r);
	}
	session_result(r->s, &res);
	return res.state == SESSION_ACTION_SUCCESS ? 0 : -1;
}

static int
run_enter(struct run *r, const json_t *env)
{
	struct session_result res;

	if (session_enter_env_start(r->s, env, &res) == -1) {
		r->failed = 1;
		return -1;
	}
	if (run_wait(r) == -1) {
		r->failed = 1;
		return -1;
	}
	return 0;
}

/* Exits environments until depth is left; every one even after failures. */
static void
run_exit_to(struct run *r, size_t depth)
{
	while (session_env_depth(r->s) > depth && !run_aborted()) {
		struct session_result res;

		if (session_exit_env_start(r->s, &res) == -1)
			break;
		if (run_wait(r) == -1)
			r->failed = 1;
	}
}

static int
run_task(struct run *r, size_t step, const json_t *script,
    const struct session_task_param *p, size_t n)
{
	struct session_result res;

	if (session_run_task_start(r->s, job_step_name(r->job, step), script,
	    p, n, &res) == -1) {
		r->failed = 1;
		return -1;
	}
	r->tasks_run++;
	if (run_wait(r) == -1) {
		r->tasks_failed++;
		r->failed = 1;
		return -1;
	}
	return 0;
}

static double
run_elapsed(struct run *r)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - r->t0.tv_sec) +
	    (double)(now.tv_nsec - r->t0.tv_nsec) / 1e9;
}

/* The step's script (simple actions were expanded at job creation). */
static json_t *
run_step_script(struct run *r, size_t step, char **err)
{
	const json_t *sc = job_step_script(r->job, step);

	*err = NULL;
	if (json_object_get(sc, "actions") == NULL) {
		*err = xasprintf("step '%s' has no actions",
		    job_step_name(r->job, step));
		return NULL;
	}
	return json_incref((json_t *)sc);
}

/* Parses "P=V" and --tasks into explicit task values for step. */
static int
run_explicit_tasks(struct run *r, size_t step, struct run_task **out,
    size_t *nout)
{
	struct space *sp = job_step_space(r->job, step);
	size_t np = space_nparams(sp), nt = 0;
	struct run_task *tasks = NULL;
	struct error_list el = ERROR_LIST_INIT;
	struct doc d = DOC_INIT;
	const struct node *list = NULL;
	int rc = -1;

	*out = NULL;
	*nout = 0;
	if (job_step_parameter_space(r->job, step) == NULL) {
		fprintf(stderr, "drover run: step '%s' has no parameterSpace; "
		    "%s cannot be used\n", job_step_name(r->job, step),
		    r->o->tasks ? "--tasks" : "--task-param");
		return -1;
	}
	if (r->o->tasks != NULL) {
		const char *t = r->o->tasks;
		int ok = strncmp(t, "file://", 7) == 0 ?
		    doc_load_file(&d, t + 7, &el) : doc_load_mem(&d, "--tasks",
		    t, strlen(t), &el);

		if (ok == -1) {
			error_list_print(&el, stderr);
			goto out;
		}
		list = d.root;
		if (list == NULL || list->kind != NODE_SEQ) {
			fprintf(stderr, "drover run: --tasks must be a list of "
			    "objects mapping task parameter names to values\n");
			goto out;
		}
		nt = list->n;
	} else
		nt = 1;
	tasks = xcalloc(nt ? nt : 1, sizeof(*tasks));
	for (size_t t = 0; t < nt; t++) {
		const struct node *m = list ? list->items[t] : NULL;
		size_t given = 0;

		tasks[t].values = xcalloc(np + 1, sizeof(char *));
		if (m != NULL && m->kind != NODE_MAP) {
			fprintf(stderr, "drover run: --tasks item %zu is not an "
			    "object\n", t);
			goto out;
		}
		given = m ? m->n : r->o->ntask_params;
		for (size_t g = 0; g < given; g++) {
			char *name, *value;
			int k;

			if (m != NULL) {
				if (!node_is_scalar(m->items[g]) ||
				    m->items[g]->kind == NODE_NULL) {
					fprintf(stderr, "drover run: --tasks "
					    "item %zu: value of '%s' must be a "
					    "scalar\n", t, m->keys[g]->str);
					goto out;
				}
				name = xstrdup(m->keys[g]->str);
				value = xstrdup(m->items[g]->str);
			} else {
				const char *a = r->o->task_params[g];
				const char *eq = strchr(a, '=');

				if (eq == NULL || eq == a) {
					fprintf(stderr, "drover run: "
					    "--task-param '%s' is not "
					    "NAME=VALUE\n", a);
					goto out;
				}
				name = xstrndup(a, (size_t)(eq - a));
				value = xstrdup(eq + 1);
			}
			k = space_param_index(sp, name);
			if (k < 0) {
				fprintf(stderr, "drover run: step '%s' has no "
				    "task parameter '%s'\n",
				    job_step_name(r->job, step), name);
				free(name);
				free(value);
				goto out;
			}
			if (strcmp(space_param_type(sp, (size_t)k), "INT") ==
			    0) {
				char *end;
				long long v = strtoll(value, &end, 10);

				if (*value != '\0' && *end == '\0') {
					free(value);
					value = xasprintf("%lld", v);
				}
			}
			free(tasks[t].values[k]);
			tasks[t].values[k] = value;
			free(name);
		}
		for (size_t k = 0; k < np; k++) {
			if (tasks[t].values[k] == NULL) {
				fprintf(stderr, "drover run: task %zu: no value "
				    "for task parameter '%s'\n", t,
				    space_param_name(sp, k));
				goto out;
			}
		}
		if (space_find(sp, (const char *const *)tasks[t].values) < 0) {
			fprintf(stderr, "drover run: task %zu is not in the "
			    "parameter space of step '%s'\n", t,
			    job_step_name(r->job, step));
			goto out;
		}
	}
	*out = tasks;
	*nout = nt;
	tasks = NULL;
	rc = 0;
out:
	if (tasks != NULL) {
		for (size_t t = 0; t < nt; t++) {
			for (size_t k = 0; tasks[t].values && k < np; k++)
				free(tasks[t].values[k]);
			free(tasks[t].values);
		}
		free(tasks);
	}
	doc_release(&d);
	error_list_release(&el);
	return rc;
}

/*
 * Adaptive chunking state for a step whose only parameter is CHUNK[INT]
 * with targetRuntimeSeconds > 0.
 */
struct run_adapt {
	struct range_expr *range;
	int		 contiguous;
	uint64_t	 size;
	double		 target;
	uint64_t	 done_items;
	double		 done_seconds;
};

static int
run_adapt_init(struct run *r, size_t step, struct run_adapt *a)
{
	struct space *sp = job_step_space(r->job, step);
	const json_t *defs = json_object_get(job_step_parameter_space(r->job,
	    step), "taskParameterDefinitions"), *def, *range;
	struct buf text = BUF_INIT;
	size_t i;
	json_t *v;

	memset(a, 0, sizeof(*a));
	if (space_nparams(sp) != 1 || space_chunk_param(sp) != 0 ||
	    space_chunk_target_runtime(sp) == 0)
		return 0;
	def = json_array_get(defs, 0);
	range = json_object_get(def, "range");
	if (json_is_string(range))
		buf_adds(&text, json_string_value(range));
	else
		json_array_foreach(range, i, v) {
			if (i > 0)
				buf_addch(&text, ',');
			if (json_is_integer(v))
				buf_addf(&text, "%lld",
				    (long long)json_integer_value(v));
			else if (json_is_string(v))
				buf_adds(&text, json_string_value(v));
		}
	a->range = range_expr_parse(text.s, NULL, NULL);
	buf_release(&text);
	if (a->range == NULL)
		return 0;
	a->contiguous = space_chunk_contiguous(sp);
	a->size = space_chunk_size(sp);
	a->target = (double)space_chunk_target_runtime(sp);
	return 1;
}

/* The next chunk at value index *pos: its text and number of values. */
static char *
run_adapt_next(struct run_adapt *a, uint64_t pos, uint64_t *n)
{
	uint64_t left = range_expr_count(a->range) - pos, take;

	take = a->size < left ? a->size : left;
	if (a->contiguous) {
		/* a chunk never bridges a gap */
		uint64_t k = 1;
		int64_t first = range_expr_get(a->range, pos);

		while (k < take && range_expr_get(a->range, pos + k) ==
		    first + (int64_t)k)
			k++;
		*n = k;
		return xasprintf("%" PRId64 "-%" PRId64, first,
		    first + (int64_t)k - 1);
	}
	*n = take;
	return range_expr_format_slice(a->range, pos, take);
}

static void
run_adapt_update(struct run *r, struct run_adapt *a, uint64_t items,
    double seconds)
{
	double ideal;
	uint64_t next;

	a->done_items += items;
	a->done_seconds += seconds;
	if (a->done_items == 0 || !(a->done_seconds > 0.0))
		return;
	ideal = a->target / (a->done_seconds / (double)a->done_items);
	if (a->done_items < 10 && ideal > (double)a->size)
		ideal = 0.75 * (double)a->size + 0.25 * ideal;
	next = ideal < 1.0 ? 1 : ideal > 1e15 ? (uint64_t)1e15 :
	    (uint64_t)ideal;
	if (next != a->size) {
		run_say(r, "Adjusting chunk size to %" PRIu64, next);
		a->size = next;
	}
}

static void
run_step_tasks(struct run *r, size_t step, const json_t *script,
    struct run_task *explicit_tasks, size_t nexplicit)
{
	struct space *sp = job_step_space(r->job, step);
	size_t np = space_nparams(sp);
	struct session_task_param *p = xcalloc(np + 1, sizeof(*p));
	char **vals = xcalloc(np + 1, sizeof(char *));
	uint64_t limit = r->o->max_tasks < 0 ? UINT64_MAX :
	    (uint64_t)r->o->max_tasks;
	struct run_adapt ad;

	for (size_t k = 0; k < np; k++) {
		p[k].name = space_param_name(sp, k);
		p[k].type = space_param_type(sp, k);
	}
	if (explicit_tasks != NULL) {
		for (size_t t = 0; t < nexplicit && !run_stopping(r); t++) {
			for (size_t k = 0; k < np; k++)
				p[k].value = explicit_tasks[t].values[k];
			if (run_task(r, step, script, p, np) == -1)
				break;
		}
	} else if (run_adapt_init(r, step, &ad)) {
		uint64_t pos = 0, n = 0, count = 0;

		while (pos < range_expr_count(ad.range) && count < limit &&
		    !run_stopping(r)) {
			char *text = run_adapt_next(&ad, pos, &n);
			double before = run_elapsed(r);
			int rc;

			p[0].value = text;
			rc = run_task(r, step, script, p, 1);
			free(text);
			if (rc == -1)
				break;
			pos += n;
			count++;
			run_adapt_update(r, &ad, n, run_elapsed(r) - before);
		}
		range_expr_free(ad.range);
	} else {
		uint64_t count = space_count(sp);

		for (uint64_t t = 0; t < count && t < limit &&
		    !run_stopping(r); t++) {
			if (space_get(sp, t, vals) == -1)
				break;
			for (size_t k = 0; k < np; k++)
				p[k].value = vals[k];
			if (run_task(r, step, script, p, np) == -1) {
				for (size_t k = 0; k < np; k++)
					free(vals[k]);
				break;
			}
			for (size_t k = 0; k < np; k++) {
				free(vals[k]);
				vals[k] = NULL;
			}
		}
	}
	free(vals);
	free(p);
}

static void
run_step(struct run *r, size_t step, struct run_task *explicit_tasks,
    size_t nexplicit)
{
	const json_t *envs = job_step_environments(r->job, step);
	size_t base = session_env_depth(r->s), i;
	json_t *script, *env;
	char *err = NULL;

	run_say(r, "Running step '%s'", job_step_name(r->job, step));
	r->steps_run++;
	json_array_foreach(envs, i, env) {
		if (run_stopping(r) || run_enter(r, env) == -1)
			break;
	}
	if (!r->failed && !run_stopping(r)) {
		if ((script = run_step_script(r, step, &err)) == NULL) {
			run_say(r, "Error: %s", err);
			free(err);
			r->failed = 1;
		} else {
			run_step_tasks(r, step, script, explicit_tasks,
			    nexplicit);
			json_decref(script);
		}
	}
	run_exit_to(r, base);
}

/* --- steps to run ----------------------------------------------------- */

static void
run_mark_deps(const struct job *job, size_t step, char *mark)
{
	const size_t *deps;
	size_t n;

	if (mark[step])
		return;
	mark[step] = 1;
	deps = job_step_deps(job, step, &n);
	for (size_t i = 0; i < n; i++)
		run_mark_deps(job, deps[i], mark);
}

/* The steps to run, in order; NULL after printing an error. */
static size_t *
run_select(struct run *r, size_t *n, long *selected)
{
	size_t nsteps = job_nsteps(r->job), norder, k = 0;
	const size_t *order = job_order(r->job, &norder);
	size_t *out = xcalloc(nsteps + 1, sizeof(size_t));
	char *mark = xcalloc(nsteps + 1, 1);

	*selected = -1;
	if (r->o->step != NULL) {
		*selected = job_step_find(r->job, r->o->step);
		if (*selected < 0) {
			fprintf(stderr, "drover run: no step named '%s' in "
			    "'%s'\n", r->o->step, r->o->path);
			free(out);
			free(mark);
			return NULL;
		}
	} else if (nsteps == 1)
		*selected = 0;
	if (*selected >= 0 && !(r->o->run_deps && r->o->step != NULL))
		mark[*selected] = 1;
	else if (*selected >= 0)
		run_mark_deps(r->job, (size_t)*selected, mark);
	else
		memset(mark, 1, nsteps);
	for (size_t i = 0; i < norder; i++)
		if (mark[order[i]])
			out[k++] = order[i];
	free(mark);
	*n = k;
	return out;
}

/* --- the command ------------------------------------------------------ */

static json_t *
run_params_json(const struct job *job)
{
	json_t *a = json_array();

	for (size_t i = 0; i < job_nparams(job); i++)
		json_array_append_new(a, json_pack("{s:s, s:s, s:s}", "name",
		    job_param_name(job, i), "type",
		    param_type_name(job_param_type(job, i)), "value",
		    job_param_value(job, i)));
	return a;
}

static void
run_summary(struct run *r, const char *dir)
{
	const char *status = run_interrupts ? "canceled" : r->failed ?
	    "error" : "success";
	const char *msg = run_interrupts ? "Session canceled" : r->failed ?
	    "Session ended with errors; see the task logs above" :
	    "Session ended successfully";
	double dur = run_elapsed(r);

	if (r->o->json) {
		json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, "
		    "s:f}", "type", "summary", "status", status, "message",
		    msg, "job_name", job_name(r->job), "steps_run",
		    (json_int_t)r->steps_run, "tasks_run",
		    (json_int_t)r->tasks_run, "tasks_failed",
		    (json_int_t)r->tasks_failed, "duration", dur);

		if (r->o->step != NULL)
			json_object_set_new(o, "step_name",
			    json_string(r->o->step));
		if (r->o->preserve)
			json_object_set_new(o, "working_directory",
			    json_string(dir));
		json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	printf("\n--- Results of local session ---\n\n%s\n", msg);
	if (r->o->preserve)
		printf("Working directory preserved at: %s\n", dir);
	printf("\nJob: %s\n", job_name(r->job));
	if (r->o->step != NULL)
		printf("Step: %s\n", r->o->step);
	printf("Steps run: %zu\nTasks run: %" PRIu64 "\nTasks failed: %"
	    PRIu64 "\nDuration: %.3f seconds\n", r->steps_run, r->tasks_run,
	    r->tasks_failed, dur);
}

static int
run_parse_ts(const char *s, enum ts_format *out)
{
	if (strcmp(s, "relative") == 0)
		*out = TS_RELATIVE;
	else if (strcmp(s, "local") == 0)
		*out = TS_LOCAL;
	else if (strcmp(s, "utc") == 0)
		*out = TS_UTC;
	else
		return -1;
	return 0;
}

/* "--opt VALUE" or "--opt=VALUE"; returns the value or NULL. */
static const char *
run_optarg(int argc, char **argv, int *i, const char *name, int *bad)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*bad = 1;
		return NULL;
	}
	return argv[++*i];
}

static int
cmd_run_exec(int argc, char **argv)
{
	struct params_cli pc = PARAMS_CLI_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct run_opts o;
	struct run r;
	struct pathmap pm = PATHMAP_INIT;
	struct session_config cfg;
	struct run_task *explicit_tasks = NULL;
	size_t nexplicit = 0, nsel = 0, *sel = NULL;
	json_t *params = NULL;
	char *err = NULL, *dir = NULL;
	long selected = -1;
	int rc = EXIT_OK, dashdash = 0, have_max = 0;

	memset(&o, 0, sizeof(o));
	memset(&r, 0, sizeof(r));
	o.max_tasks = -1;
	r.o = &o;
	clock_gettime(CLOCK_MONOTONIC, &r.t0);
	for (int i = 1; i < argc; i++) {
		const char *v;
		int bad = 0, pr;

		if (dashdash || argv[i][0] != '-' || argv[i][1] == '\0') {
			if (o.path != NULL) {
				rc = cmd_usage_error(&cmd_run_entry, "one "
				    "template at a time ('%s' and '%s')",
				    o.path, argv[i]);
				goto out;
			}
			o.path = argv[i];
			continue;
		}
		if (strcmp(argv[i], "--") == 0) {
			dashdash = 1;
			continue;
		}
		pr = params_cli_option(&pc, &cmd_run_entry, argc, argv, &i,
		    &rc);
		if (pr < 0)
			goto out;
		if (pr > 0)
			continue;
		if ((v = run_optarg(argc, argv, &i, "--step", &bad)) != NULL)
			o.step = v;
		else if ((v = run_optarg(argc, argv, &i, "--task-param",
		    &bad)) != NULL || (!bad && (v = run_optarg(argc, argv, &i,
		    "-t", &bad)) != NULL)) {
			o.task_params = xreallocarray(o.task_params,
			    o.ntask_params + 1, sizeof(char *));
			o.task_params[o.ntask_params++] = (char *)v;
		} else if ((v = run_optarg(argc, argv, &i, "--tasks", &bad)) !=
		    NULL)
			o.tasks = v;
		else if ((v = run_optarg(argc, argv, &i, "--maximum-tasks",
		    &bad)) != NULL) {
			char *end;

			o.max_tasks = strtoll(v, &end, 10);
			if (*v == '\0' || *end != '\0' || o.max_tasks < -1) {
				rc = cmd_usage_error(&cmd_run_entry,
				    "--maximum-tasks wants a number, not '%s'",
				    v);
				goto out;
			}
			have_max = o.max_tasks >= 0;
		} else if ((v = run_optarg(argc, argv, &i,
		    "--path-mapping-rules", &bad)) != NULL)
			o.pathmap = v;
		else if ((v = run_optarg(argc, argv, &i, "--timestamp-format",
		    &bad)) != NULL) {
			if (run_parse_ts(v, &o.ts) == -1) {
				rc = cmd_usage_error(&cmd_run_entry,
				    "--timestamp-format is relative, local or "
				    "utc, not '%s'", v);
				goto out;
			}
		} else if ((v = run_optarg(argc, argv, &i, "--output",
		    &bad)) != NULL) {
			if (strcmp(v, "json") == 0)
				o.json = 1;
			else if (strcmp(v, "human") == 0 ||
			    strcmp(v, "human-readable") == 0)
				o.json = 0;
			else {
				rc = cmd_usage_error(&cmd_run_entry,
				    "--output is human or json, not '%s'", v);
				goto out;
			}
		} else if (!bad && strcmp(argv[i], "--run-dependencies") == 0)
			o.run_deps = 1;
		else if (!bad && strcmp(argv[i], "--no-run-dependencies") == 0)
			o.run_deps = 0;
		else if (!bad && strcmp(argv[i], "--preserve") == 0)
			o.preserve = 1;
		else {
			rc = cmd_usage_error(&cmd_run_entry, bad ?
			    "option '%s' needs a value" :
			    "unknown option '%s'", argv[i]);
			goto out;
		}
	}
	if (o.path == NULL) {
		rc = cmd_usage_error(&cmd_run_entry, "no template given");
		goto out;
	}
	if ((o.ntask_params > 0) + (o.tasks != NULL) + have_max > 1) {
		rc = cmd_usage_error(&cmd_run_entry, "--task-param, --tasks "
		    "and --maximum-tasks cannot be combined");
		goto out;
	}
	if (o.pathmap != NULL && pathmap_from_arg(&pm, o.pathmap, &err) ==
	    -1) {
		fprintf(stderr, "drover run: %s\n", err);
		rc = EXIT_FAIL;
		goto out;
	}
	if ((r.job = params_cli_create_job(&pc, o.path, &el)) == NULL) {
		error_list_print(&el, stderr);
		rc = EXIT_FAIL;
		goto out;
	}
	if ((sel = run_select(&r, &nsel, &selected)) == NULL) {
		rc = EXIT_FAIL;
		goto out;
	}
	if (o.ntask_params > 0 || o.tasks != NULL) {
		if (selected < 0) {
			rc = cmd_usage_error(&cmd_run_entry, "task parameters "
			    "need --step when the job has several steps");
			goto out;
		}
		if (run_explicit_tasks(&r, (size_t)selected, &explicit_tasks,
		    &nexplicit) == -1) {
			rc = EXIT_FAIL;
			goto out;
		}
	}

	params = run_params_json(r.job);
	memset(&cfg, 0, sizeof(cfg));
	cfg.flags = SESSION_REAP_ORPHANS | (o.preserve ? SESSION_KEEP_DIR :
	    0) | (job_extensions(r.job) & TEMPLATE_EXT_REDACTED_ENV_VARS ?
	    SESSION_REDACTED_ENV_VARS : 0);
	cfg.parameters = params;
	cfg.symbols = job_symtab(r.job);
	cfg.path_mapping = &pm;
	cfg.event = run_event;
	cfg.event_arg = &r;
	if ((r.s = session_new(&cfg, &err)) == NULL) {
		fprintf(stderr, "drover run: %s\n", err);
		rc = EXIT_SYSTEM;
		goto out;
	}
	dir = xstrdup(session_dir(r.s));
	run_session = r.s;
	run_interrupts = 0;
	run_signals(1);

	run_say(&r, "Session start: %s", dir);
	run_say(&r, "Running job '%s'", job_name(r.job));
	for (size_t i = 0; i < job_nenvironments(r.job); i++)
		if (run_stopping(&r) || run_enter(&r,
		    job_environment(r.job, i)) == -1)
			break;
	for (size_t k = 0; k < nsel && !r.failed && !run_stopping(&r); k++)
		run_step(&r, sel[k], (long)sel[k] == selected ?
		    explicit_tasks : NULL, nexplicit);
	run_exit_to(&r, 0);
	(void)run_stopping(&r);
	if (run_aborted() && session_env_depth(r.s) > 0) {
		for (size_t i = session_env_depth(r.s); i-- > 0; )
			run_say(&r, "Not exited (second interrupt): "
			    "environment '%s'", session_env_name(r.s, i));
	}
	run_say(&r, "%s", r.failed ? "Session ended with errors" :
	    "All actions completed successfully");
	run_summary(&r, dir);
	if (r.failed)
		rc = EXIT_FAIL;
	run_session = NULL;
	session_free(r.s);
	run_signals(0);
	if (fflush(stdout) != 0 && rc == EXIT_OK)
		rc = EXIT_SYSTEM;
out:
	if (explicit_tasks != NULL) {
		size_t np = selected >= 0 ? space_nparams(job_step_space(r.job,
		    (size_t)selected)) : 0;

		for (size_t t = 0; t < nexplicit; t++) {
			for (size_t k = 0; k < np; k++)
				free(explicit_tasks[t].values[k]);
			free(explicit_tasks[t].values);
		}
		free(explicit_tasks);
	}
	free(sel);
	free(dir);
	free(err);
	free(o.task_params);
	json_decref(params);
	pathmap_release(&pm);
	job_free(r.job);
	error_list_release(&el);
	params_cli_release(&pc);
	return rc;
}

const struct cmd_entry cmd_run_entry = {
	.name = "run",
	.summary = "run a job template locally, in one session",
	.usage = "drover run [-p KEY=VALUE]... [--environment FILE]... "
	    "[--step NAME [--run-dependencies]] [--task-param NAME=VALUE]... "
	    "[--tasks JSON|file://FILE] [--maximum-tasks N] "
	    "[--path-mapping-rules JSON|file://FILE] [--preserve] "
	    "[--timestamp-format relative|local|utc] [--output human|json] "
	    "TEMPLATE",
	.help =
	"DESCRIPTION\n"
	"    Creates the job TEMPLATE describes (as 'drover summary' does)\n"
	"    and runs it on this host in one OpenJD session: a private\n"
	"    working directory (mode 0700 under $TMPDIR), the job\n"
	"    environments entered in order, then each selected step with its\n"
	"    step environments and its tasks, every environment exited in\n"
	"    reverse order at the end - also after a failure or an interrupt,\n"
	"    for each environment whose enter was attempted.  The session\n"
	"    stops at the first failed action.  Every action runs in its own\n"
	"    process group; whatever it leaves running is killed when it\n"
	"    ends.  Output is printed as it comes, one timestamped line at a\n"
	"    time, with secrets set through openjd_redacted_env replaced by\n"
	"    ********; a summary follows.\n"
	"\n"
	"    Without --step every step runs, in dependency order.  A job with\n"
	"    a single step runs that step.\n"
	"\n"
	"    Interrupts: the first SIGINT (Ctrl-C), SIGTERM or SIGHUP cancels the\n"
	"    running action with its cancelation method (TERMINATE: killed\n"
	"    at once; NOTIFY_THEN_TERMINATE: SIGTERM, then SIGKILL after the\n"
	"    notify period), then the entered environments are exited and\n"
	"    drover exits with status 1.  A second interrupt kills the\n"
	"    running action at once and stops without exiting the remaining\n"
	"    environments.\n"
	"\n"
	"OPTIONS\n"
	"    -p, --parameter KEY=VALUE | file://FILE | JSON\n"
	"        Job parameter values, as for 'drover summary'.\n"
	"    --environment FILE\n"
	"        Adds an environment template; repeatable, entered in order\n"
	"        before the job template's own environments.\n"
	"    --step NAME\n"
	"        Runs only step NAME.\n"
	"    --run-dependencies\n"
	"        With --step, first runs every step NAME depends on,\n"
	"        directly or not.  (--no-run-dependencies: the default.)\n"
	"    -t, --task-param NAME=VALUE\n"
	"        Runs one task with these task parameter values instead of\n"
	"        the whole parameter space.  Repeatable, one per parameter.\n"
	"    --tasks JSON | file://FILE\n"
	"        Runs these tasks: a list of objects mapping task parameter\n"
	"        names to values (JSON, or a JSON/YAML file).\n"
	"    --maximum-tasks N\n"
	"        Runs at most N tasks of each step.\n"
	"    --path-mapping-rules JSON | file://FILE\n"
	"        Path mapping rules ({\"version\": \"pathmapping-1.0\",\n"
	"        \"path_mapping_rules\": [...]}), applied to PATH parameters\n"
	"        and written to the session directory.\n"
	"    --preserve\n"
	"        Keeps the session directory and prints where it is.\n"
	"    --timestamp-format relative|local|utc\n"
	"        Timestamps as time since start (H:MM:SS.mmm, the default),\n"
	"        local time or UTC (ISO 8601, milliseconds).\n"
	"    --output human|json\n"
	"        human (default): 'TIMESTAMP<TAB>LINE' lines and a summary.\n"
	"        json: one JSON object per line for every event (types log,\n"
	"        output, action_start, action_end, progress, status, fail,\n"
	"        env_set, env_unset) and a last one of type summary\n"
	"        (status, job_name, steps_run, tasks_run, tasks_failed,\n"
	"        duration).\n"
	"\n"
	"EXIT STATUS\n"
	"    0 when every action succeeded, 1 when the job could not be\n"
	"    created, an action failed, timed out or was canceled, or drover\n"
	"    was interrupted; 2 on a usage error; 3 when the session could not\n"
	"    be set up.\n",
	.exec = cmd_run_exec,
};
