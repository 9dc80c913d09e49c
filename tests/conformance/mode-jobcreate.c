/*
 * Conformance mode "jobcreate": the job-creation half of the jobs/ cases.
 *
 *	conformance-runner jobcreate [-v] [SUITE...]
 *
 * Every <suite>/jobs/NAME.test.yaml holds a job template, optional parameter
 * values and optional environment templates.  A valid case must validate
 * and create a job.  An `.invalid` case must fail "at job creation or
 * during the run": a case this mode lists as failing only at run time is
 * expected to be *created* (the session runtime checks the failure); every
 * other invalid case must be refused by validation or by job_create().
 * Cases whose runOn excludes posix, and EXPR cases, are skipped.
 *
 * jobcreate_load() is the piece a run mode reuses: test file -> created job.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/doc.h"
#include "common/xmalloc.h"
#include "model/job.h"
#include "model/template.h"
#include "runner.h"

struct job	*jobcreate_load(const char *path, int *skip,
		    struct error_list *el);
int		 mode_jobcreate_main(int argc, char **argv);

/*
 * Invalid cases whose failure comes after job creation (a task fails or a
 * host-side format string cannot resolve), by suite-relative name.  They
 * must be created here.
 */
static const char *const runtime_invalid[] = {
	NULL
};

static int
jobcreate_runtime_invalid(const char *name)
{
	for (size_t i = 0; runtime_invalid[i]; i++)
		if (strcmp(runtime_invalid[i], name) == 0)
			return 1;
	return 0;
}

/* 1 if the case's runOn (absent: everywhere) includes posix. */
static int
jobcreate_runs_here(const struct node *root)
{
	const struct node *ro = node_get(root, "runOn");

	if (ro == NULL)
		return 1;
	if (ro->kind == NODE_STRING)
		return strcmp(ro->str, "posix") == 0;
	if (ro->kind != NODE_SEQ)
		return 1;
	for (size_t i = 0; i < ro->n; i++)
		if (ro->items[i]->kind == NODE_STRING &&
		    strcmp(ro->items[i]->str, "posix") == 0)
			return 1;
	return 0;
}

/* Validates the embedded template n into t (a copy of n, named file). */
static int
jobcreate_template(struct template *t, const struct node *n,
    const char *file, struct error_list *el)
{
	memset(t, 0, sizeof(*t));
	t->doc.file = xstrdup(file);
	t->doc.root = node_copy(n);
	return template_validate(t, el);
}

struct job *
jobcreate_load(const char *path, int *skip, struct error_list *el)
{
	struct doc d = DOC_INIT;
	struct template jt, *et = NULL;
	const struct template **etp = NULL;
	struct param_values pv = PARAM_VALUES_INIT;
	const struct node *tn, *envs, *params;
	struct job *job = NULL;
	size_t nenv = 0;
	int rc = 0;

	*skip = 0;
	memset(&jt, 0, sizeof(jt));
	if (doc_load_file(&d, path, el) < 0) {
		doc_release(&d);
		return NULL;
	}
	if (!jobcreate_runs_here(d.root)) {
		*skip = 1;
		doc_release(&d);
		return NULL;
	}
	tn = node_get(d.root, "template");
	if (tn == NULL) {
		error_add(el, path, 1, 1, NULL, "the case has no 'template'");
		doc_release(&d);
		return NULL;
	}
	envs = node_get(d.root, "environments");
	if (envs != NULL && envs->kind == NODE_SEQ)
		nenv = envs->n;
	et = xcalloc(nenv + 1, sizeof(*et));
	etp = xcalloc(nenv + 1, sizeof(*etp));
	for (size_t i = 0; i < nenv; i++) {
		if (jobcreate_template(&et[i], envs->items[i], path, el) < 0)
			rc = -1;
		else if (et[i].kind != TEMPLATE_ENV) {
			error_add(el, path, envs->items[i]->line,
			    envs->items[i]->col, "environments",
			    "not an environment template");
			rc = -1;
		}
		if (et[i].extensions & TEMPLATE_EXT_EXPR)
			*skip = 1;
		etp[i] = &et[i];
	}
	if (jobcreate_template(&jt, tn, path, el) < 0)
		rc = -1;
	if (jt.extensions & TEMPLATE_EXT_EXPR)
		*skip = 1;
	params = node_get(d.root, "parameters");
	if (params != NULL && param_values_add_node(&pv, params, path, el) < 0)
		rc = -1;
	if (rc == 0 && !*skip)
		job = job_create(&jt, etp, nenv, &pv, NULL, el);
	param_values_release(&pv);
	template_release(&jt);
	for (size_t i = 0; i < nenv; i++)
		template_release(&et[i]);
	free(et);
	free(etp);
	doc_release(&d);
	return job;
}

/* Runs one suite's jobs/ folder; adds to *all. */
static void
jobcreate_suite(const char *suite, int verbose, struct tally *all)
{
	static const char *const sfx[] = { ".test.yaml", ".test.json", NULL };
	struct tally t = { 0, 0, 0 };
	char *dir = xasprintf("%s/openjd-2023-09/2023-09/%s/jobs",
	    corpus_dir(), suite);
	char *label = xasprintf("%s/jobs (creation)", suite);
	size_t n;
	char **names = list_files(dir, sfx, &n);

	for (size_t i = 0; i < n; i++) {
		struct error_list el = ERROR_LIST_INIT;
		char *path = xasprintf("%s/%s", dir, names[i]);
		int invalid = strstr(names[i], ".invalid.") != NULL;
		int runtime = invalid && jobcreate_runtime_invalid(names[i]);
		int skip;
		struct job *job = jobcreate_load(path, &skip, &el);
		int want = !invalid || runtime;

		if (skip) {
			t.skipped++;
			if (verbose)
				printf("  skip %s\n", names[i]);
		} else if ((job != NULL) == want) {
			t.passed++;
			if (verbose) {
				char *m = error_list_first(&el);
				printf("  ok   %s%s%s\n", names[i], m ? ": " : "",
				    m ? m : "");
				free(m);
			}
		} else {
			char *m = error_list_first(&el);
			t.failed++;
			printf("  FAIL %s: %s\n", names[i], job ?
			    "created, but must be refused" : m ? m :
			    "refused");
			free(m);
		}
		job_free(job);
		error_list_release(&el);
		free(path);
	}
	if (names != NULL)
		tally_print(label, &t);
	all->passed += t.passed;
	all->failed += t.failed;
	all->skipped += t.skipped;
	names_free(names, n);
	free(dir);
	free(label);
}

int
mode_jobcreate_main(int argc, char **argv)
{
	static const char *const suites[] = { "base", "TASK_CHUNKING",
	    "REDACTED_ENV_VARS", "FEATURE_BUNDLE_1", "EXPR", NULL };
	struct tally all = { 0, 0, 0 };
	int verbose = 0, given = 0;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-v") == 0)
			verbose = 1;
		else {
			jobcreate_suite(argv[i], verbose, &all);
			given = 1;
		}
	}
	if (!given)
		for (size_t i = 0; suites[i]; i++)
			jobcreate_suite(suites[i], verbose, &all);
	tally_print("jobs (creation), all suites", &all);
	return all.failed ? 1 : 0;
}
