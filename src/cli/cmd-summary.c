/*
 * drover summary: creates the job a template describes (parameters merged
 * and checked, format strings resolved) without running anything, and
 * prints what it would be: name, parameter values, steps with their task
 * parameters and task counts, dependencies and environments.  Task counts
 * come from the compiled parameter space, so a step of 10^12 tasks costs
 * no more to summarise than a step of one.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmd.h"
#include "cli/params-cli.h"
#include "common/xmalloc.h"
#include "model/job.h"
#include "model/space.h"

/* Task count of a step: with a CHUNK[INT] parameter, *tasks counts single
 * values and *chunks the chunks; otherwise both are the task count. */
static void
summary_counts(struct space *sp, uint64_t *tasks, uint64_t *chunks)
{
	uint64_t size;

	*chunks = *tasks = space_count(sp);
	if (space_chunk_param(sp) < 0)
		return;
	size = space_chunk_size(sp);
	if (space_set_chunk_size(sp, 1) == 0) {
		*tasks = space_count(sp);
		(void)space_set_chunk_size(sp, size);
	}
}

static uint64_t
summary_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static const char *
summary_env_name(const json_t *env)
{
	const char *n = json_string_value(json_object_get(env, "name"));

	return n ? n : "?";
}

/* Length of s without trailing white space (block scalars end in '\n'). */
static int
summary_trimmed_len(const char *s)
{
	size_t n = strlen(s);

	while (n > 0 && (s[n - 1] == '\n' || s[n - 1] == ' ' ||
	    s[n - 1] == '\t' || s[n - 1] == '\r'))
		n--;
	return n > INT32_MAX ? INT32_MAX : (int)n;
}

static size_t
summary_nenvs(const struct job *job)
{
	size_t n = job_nenvironments(job);

	for (size_t i = 0; i < job_nsteps(job); i++)
		n += json_array_size(job_step_environments(job, i));
	return n;
}

static json_t *
summary_json(const struct job *job)
{
	json_t *o = json_object(), *a, *ord;
	uint64_t total = 0;
	const size_t *order;
	size_t n;

	json_object_set_new(o, "name", json_string(job_name(job)));
	if (job_description(job))
		json_object_set_new(o, "description",
		    json_string(job_description(job)));
	a = json_array();
	for (size_t i = 0; i < job_nparams(job); i++) {
		json_t *p = json_object();
		json_object_set_new(p, "name",
		    json_string(job_param_name(job, i)));
		json_object_set_new(p, "type",
		    json_string(param_type_name(job_param_type(job, i))));
		json_object_set_new(p, "value",
		    json_string(job_param_value(job, i)));
		json_array_append_new(a, p);
	}
	json_object_set_new(o, "parameters", a);
	a = json_array();
	for (size_t i = 0; i < job_nenvironments(job); i++) {
		const json_t *e = job_environment(job, i);
		json_t *x = json_object();
		json_object_set_new(x, "name",
		    json_string(summary_env_name(e)));
		if (json_object_get(e, "description"))
			json_object_set(x, "description",
			    json_object_get(e, "description"));
		if (json_object_get(e, "source"))
			json_object_set(x, "source",
			    json_object_get(e, "source"));
		json_array_append_new(a, x);
	}
	json_object_set_new(o, "jobEnvironments", a);
	a = json_array();
	for (size_t i = 0; i < job_nsteps(job); i++) {
		struct space *sp = job_step_space(job, i);
		json_t *s = json_object(), *l;
		uint64_t tasks, chunks;
		const size_t *deps;
		size_t nd;

		summary_counts(sp, &tasks, &chunks);
		total = summary_add(total, tasks);
		json_object_set_new(s, "name", json_string(job_step_name(job,
		    i)));
		if (job_step_description(job, i))
			json_object_set_new(s, "description", json_string(
			    job_step_description(job, i)));
		json_object_set_new(s, "tasks", json_integer((json_int_t)
		    (tasks > INT64_MAX ? INT64_MAX : tasks)));
		if (space_chunk_param(sp) >= 0)
			json_object_set_new(s, "chunks", json_integer(
			    (json_int_t)chunks));
		l = json_array();
		for (size_t k = 0; k < space_nparams(sp); k++) {
			json_t *p = json_object();
			json_object_set_new(p, "name",
			    json_string(space_param_name(sp, k)));
			json_object_set_new(p, "type",
			    json_string(space_param_type(sp, k)));
			json_array_append_new(l, p);
		}
		json_object_set_new(s, "taskParameters", l);
		deps = job_step_deps(job, i, &nd);
		l = json_array();
		for (size_t k = 0; k < nd; k++)
			json_array_append_new(l, json_string(job_step_name(job,
			    deps[k])));
		json_object_set_new(s, "dependencies", l);
		l = json_array();
		for (size_t k = 0; k < json_array_size(job_step_environments(
		    job, i)); k++)
			json_array_append_new(l, json_string(summary_env_name(
			    json_array_get(job_step_environments(job, i), k))));
		json_object_set_new(s, "environments", l);
		if (job_step_host_requirements(job, i))
			json_object_set_new(s, "hostRequirements",
			    json_deep_copy(job_step_host_requirements(job, i)));
		json_array_append_new(a, s);
	}
	json_object_set_new(o, "steps", a);
	order = job_order(job, &n);
	ord = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(ord, json_string(job_step_name(job,
		    order[i])));
	json_object_set_new(o, "order", ord);
	json_object_set_new(o, "totalSteps", json_integer((json_int_t)
	    job_nsteps(job)));
	json_object_set_new(o, "totalTasks", json_integer((json_int_t)
	    (total > INT64_MAX ? INT64_MAX : total)));
	json_object_set_new(o, "totalEnvironments", json_integer((json_int_t)
	    summary_nenvs(job)));
	return o;
}

static void
summary_human(const struct job *job, FILE *fp)
{
	uint64_t total = 0;
	const size_t *order;
	size_t n;

	fprintf(fp, "Job: %s\n", job_name(job));
	if (job_description(job))
		fprintf(fp, "Description: %.*s\n",
		    summary_trimmed_len(job_description(job)),
		    job_description(job));
	if (job_nparams(job) > 0) {
		fprintf(fp, "\nParameters:\n");
		for (size_t i = 0; i < job_nparams(job); i++)
			fprintf(fp, "  %s (%s) = %s\n", job_param_name(job, i),
			    param_type_name(job_param_type(job, i)),
			    job_param_value(job, i));
	}
	if (job_nenvironments(job) > 0) {
		fprintf(fp, "\nJob environments (entered in this order):\n");
		for (size_t i = 0; i < job_nenvironments(job); i++) {
			const json_t *e = job_environment(job, i);
			const char *src = json_string_value(
			    json_object_get(e, "source"));
			fprintf(fp, "  %zu. %s", i + 1, summary_env_name(e));
			if (src)
				fprintf(fp, " (from %s)", src);
			fprintf(fp, "\n");
		}
	}
	fprintf(fp, "\nSteps:\n");
	for (size_t i = 0; i < job_nsteps(job); i++) {
		struct space *sp = job_step_space(job, i);
		const json_t *envs = job_step_environments(job, i);
		uint64_t tasks, chunks;
		const size_t *deps;
		size_t nd;

		summary_counts(sp, &tasks, &chunks);
		total = summary_add(total, tasks);
		fprintf(fp, "  %zu. %s: %" PRIu64 " task%s", i + 1,
		    job_step_name(job, i), tasks, tasks == 1 ? "" : "s");
		if (space_chunk_param(sp) >= 0)
			fprintf(fp, " in %" PRIu64 " chunk%s of up to %" PRIu64,
			    chunks, chunks == 1 ? "" : "s",
			    space_chunk_size(sp));
		fprintf(fp, "\n");
		if (job_step_description(job, i))
			fprintf(fp, "     Description: %.*s\n",
			    summary_trimmed_len(job_step_description(job, i)),
			    job_step_description(job, i));
		if (space_nparams(sp) > 0) {
			fprintf(fp, "     Task parameters:");
			for (size_t k = 0; k < space_nparams(sp); k++)
				fprintf(fp, "%s %s (%s)", k ? "," : "",
				    space_param_name(sp, k),
				    space_param_type(sp, k));
			fprintf(fp, "\n");
		}
		deps = job_step_deps(job, i, &nd);
		if (nd > 0) {
			fprintf(fp, "     Depends on:");
			for (size_t k = 0; k < nd; k++)
				fprintf(fp, "%s %s", k ? "," : "",
				    job_step_name(job, deps[k]));
			fprintf(fp, "\n");
		}
		if (json_array_size(envs) > 0) {
			fprintf(fp, "     Environments:");
			for (size_t k = 0; k < json_array_size(envs); k++)
				fprintf(fp, "%s %s", k ? "," : "",
				    summary_env_name(json_array_get(envs, k)));
			fprintf(fp, "\n");
		}
	}
	order = job_order(job, &n);
	if (n > 1) {
		fprintf(fp, "\nRun order:");
		for (size_t i = 0; i < n; i++)
			fprintf(fp, "%s %s", i ? " ->" : "",
			    job_step_name(job, order[i]));
		fprintf(fp, "\n");
	}
	fprintf(fp, "\nTotal: %zu step%s, %" PRIu64 " task%s, %zu "
	    "environment%s\n", job_nsteps(job), job_nsteps(job) == 1 ? "" :
	    "s", total, total == 1 ? "" : "s", summary_nenvs(job),
	    summary_nenvs(job) == 1 ? "" : "s");
}

static int
cmd_summary_exec(int argc, char **argv)
{
	struct params_cli pc = PARAMS_CLI_INIT;
	struct error_list el = ERROR_LIST_INIT;
	const char *path = NULL;
	struct job *job;
	int as_json = 0, rc = EXIT_OK, dashdash = 0;

	for (int i = 1; i < argc; i++) {
		if (!dashdash && argv[i][0] == '-' && argv[i][1] != '\0') {
			int r;
			if (strcmp(argv[i], "--") == 0) {
				dashdash = 1;
				continue;
			}
			if (strcmp(argv[i], "--json") == 0) {
				as_json = 1;
				continue;
			}
			r = params_cli_option(&pc, &cmd_summary_entry, argc,
			    argv, &i, &rc);
			if (r < 0)
				goto out;
			if (r > 0)
				continue;
			rc = cmd_usage_error(&cmd_summary_entry,
			    "unknown option '%s'", argv[i]);
			goto out;
		}
		if (path != NULL) {
			rc = cmd_usage_error(&cmd_summary_entry,
			    "one template at a time ('%s' and '%s')", path,
			    argv[i]);
			goto out;
		}
		path = argv[i];
	}
	if (path == NULL) {
		rc = cmd_usage_error(&cmd_summary_entry, "no template given");
		goto out;
	}
	job = params_cli_create_job(&pc, path, &el);
	if (job == NULL) {
		error_list_print(&el, stderr);
		rc = EXIT_FAIL;
		goto out;
	}
	if (as_json) {
		json_t *o = summary_json(job);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	} else {
		summary_human(job, stdout);
	}
	job_free(job);
	if (fflush(stdout) != 0)
		rc = EXIT_SYSTEM;
out:
	error_list_release(&el);
	params_cli_release(&pc);
	return rc;
}

const struct cmd_entry cmd_summary_entry = {
	.name = "summary",
	.summary = "show the job a template creates, without running it",
	.usage = "drover summary [-p KEY=VALUE | -p file://FILE | -p JSON]... "
	    "[--environment FILE]... [--json] TEMPLATE",
	.help =
	"DESCRIPTION\n"
	"    Creates the job that TEMPLATE (a job template, YAML or JSON)\n"
	"    describes with the given parameter values, as a submission\n"
	"    would, and prints it: the resolved job name, every job\n"
	"    parameter with its final value, the job environments, and for\n"
	"    each step its task parameters, number of tasks (and chunks,\n"
	"    for TASK_CHUNKING steps), dependencies and step environments.\n"
	"    Nothing is run.  Task counts are computed, never enumerated.\n"
	"\n"
	"    Parameters defined in several templates are merged as OpenJD\n"
	"    2023-09 section 1.2.1 says: environment templates in the order\n"
	"    given, the job template last; constraints may only tighten and\n"
	"    the last default wins.  Relative PATH values are taken from the\n"
	"    current directory; relative PATH defaults from the job\n"
	"    template's directory.\n"
	"\n"
	"OPTIONS\n"
	"    -p, --parameter KEY=VALUE\n"
	"        Sets job parameter KEY.  Repeatable; a later value for the\n"
	"        same KEY wins.\n"
	"    -p, --parameter file://FILE\n"
	"        Reads parameter values from FILE, a YAML or JSON mapping of\n"
	"        names to values.\n"
	"    -p, --parameter '{\"KEY\": \"VALUE\", ...}'\n"
	"        Reads parameter values from an inline JSON object.\n"
	"    --environment FILE\n"
	"        Adds an environment template (environment-2023-09).\n"
	"        Repeatable; environments are entered in the order given,\n"
	"        before the job template's own.\n"
	"    --json\n"
	"        Prints the summary as a JSON object (name, parameters,\n"
	"        jobEnvironments, steps with tasks, chunks, taskParameters,\n"
	"        dependencies, environments; order; totals).\n"
	"\n"
	"EXIT STATUS\n"
	"    0 when the job can be created, 1 when a template or a parameter\n"
	"    value is invalid (each problem printed to stderr as\n"
	"    FILE:LINE:COL: field.path: message), 2 on a usage error.\n",
	.exec = cmd_summary_exec,
};
