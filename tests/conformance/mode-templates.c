/*
 * conformance-runner templates [-v] [SUITE...]: every template case must
 * get the verdict its name promises — a file without ".invalid" is
 * accepted, a ".invalid" one rejected.  Suites (all when none is named):
 *
 *   base, TASK_CHUNKING, FEATURE_BUNDLE_1, REDACTED_ENV_VARS, EXPR
 *	openjd-2023-09/2023-09/<suite>/{job_templates,env_templates}
 *   samples	openjd-samples, recursively: every template must be accepted
 *   in-jobs	the `template` and `environments` of every
 *		<suite>/jobs/NAME.test.yaml: accepted (for NAME.invalid.test.yaml
 *		job creation or the run fails, so rejecting the template is
 *		also fine; those are counted apart)
 *   openjd-rs	openjd-rs-templates test inputs, informational only
 *   local	tests/conformance/templates/{valid,invalid} of this repo
 *
 * Templates declaring EXPR are skipped (drover refuses EXPR for now).
 * An invalid case may carry leading comment lines "# expect: TEXT"; each
 * TEXT must occur in one of the errors, written "LINE:COL: path: message".
 * One line per folder: "base/job_templates: 149 passed, 0 failed, 0
 * skipped", then the failures with their errors.  Exit 1 on any failure,
 * 77 when the corpus is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/doc.h"
#include "common/xmalloc.h"
#include "model/template.h"
#include "runner.h"

#define SKIP_CODE	77

static const char *const template_suffixes[] = { ".yaml", ".yml", ".json", NULL };
static const char *const spec_suites[] = {
	"base", "TASK_CHUNKING", "FEATURE_BUNDLE_1", "REDACTED_ENV_VARS",
	"EXPR", NULL
};

/*
 * Corpus cases whose expectation upstream has since reversed.  The files
 * here are byte copies of an older upstream revision; drover follows the
 * corrected rule and says so in the output.
 */
static const struct {
	const char	*file;		/* relative to openjd-2023-09/2023-09 */
	int		 valid;		/* the corrected verdict */
	const char	*why;
} corrected[] = {
	{ "base/job_templates/3.4--too-many-range-items.invalid.yaml", 1,
	  "a range expression is not capped at 1024 values (Template Schemas "
	  "3.4.1.1.1; openjd-specifications PR #172 turned this case into a "
	  "list-form test)" },
};

static int verbose;
static int any_failed;

/* "LINE:COL: path: message" of an error, for matching and printing. */
static char *
error_text(const struct error *e)
{
	return xasprintf("%d:%d: %s%s%s", e->line, e->col,
	    e->path ? e->path : "", e->path ? ": " : "", e->msg);
}

static void
print_errors(const struct error_list *el)
{
	for (size_t i = 0; i < el->n; i++) {
		char *s = error_text(&el->v[i]);
		printf("    %s\n", s);
		free(s);
	}
}

/* The "# expect: TEXT" lines at the top of a file. */
static char **
read_expects(const char *path, size_t *n)
{
	struct buf b = BUF_INIT;
	char **v = NULL, *line, *save = NULL;
	size_t alloc = 0;

	*n = 0;
	if (buf_read_file(&b, path) < 0) {
		buf_release(&b);
		return NULL;
	}
	for (line = strtok_r(b.s, "\n", &save); line;
	    line = strtok_r(NULL, "\n", &save)) {
		const char *p = line;
		while (*p == ' ')
			p++;
		if (*p != '#')
			break;
		p++;
		while (*p == ' ')
			p++;
		if (strncmp(p, "expect:", 7) == 0) {
			size_t len;
			p += 7;
			while (*p == ' ')
				p++;
			len = strlen(p);
			while (len && (p[len - 1] == ' ' || p[len - 1] == '\r'))
				len--;
			ALLOC_GROW(v, *n + 1, alloc);
			v[(*n)++] = xstrndup(p, len);
		}
	}
	buf_release(&b);
	return v;
}

/* Checks one template file; updates t. */
static void
check_file(const char *path, const char *label, int want_valid,
    const char *note, struct tally *t)
{
	struct template tp;
	struct error_list el = ERROR_LIST_INIT;
	char **expects = NULL;
	size_t nexp = 0;
	int rc = template_load(&tp, path, &el);

	if (tp.extensions & TEMPLATE_EXT_EXPR) {
		t->skipped++;
		if (verbose)
			printf("skip %s (EXPR)\n", label);
		goto out;
	}
	if (note)
		printf("note: %s: expected %s: %s\n", label,
		    want_valid ? "valid" : "invalid", note);
	if (want_valid) {
		if (rc == 0) {
			t->passed++;
			if (verbose)
				printf("ok   %s\n", label);
		} else {
			t->failed++;
			printf("FAIL %s: expected valid, rejected:\n", label);
			print_errors(&el);
		}
		goto out;
	}
	if (rc == 0) {
		t->failed++;
		printf("FAIL %s: expected invalid, accepted\n", label);
		goto out;
	}
	expects = read_expects(path, &nexp);
	for (size_t i = 0; i < nexp; i++) {
		int found = 0;
		for (size_t k = 0; k < el.n && !found; k++) {
			char *s = error_text(&el.v[k]);
			found = strstr(s, expects[i]) != NULL;
			free(s);
		}
		if (!found) {
			t->failed++;
			printf("FAIL %s: rejected, but no error matches "
			    "'%s':\n", label, expects[i]);
			print_errors(&el);
			goto out;
		}
	}
	t->passed++;
	if (verbose) {
		printf("ok   %s\n", label);
		print_errors(&el);
	}
out:
	names_free(expects, nexp);
	template_release(&tp);
	error_list_release(&el);
}

/* One folder of *.yaml|json cases named by the .invalid convention. */
static void
run_folder(const char *dir, const char *label, const char *rel_prefix,
    int all_valid)
{
	struct tally t = { 0, 0, 0 };
	size_t n;
	char **names = list_files(dir, template_suffixes, &n);

	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		char *clabel = xasprintf("%s/%s", label, names[i]);
		int want_valid = all_valid || strstr(names[i], ".invalid.") ==
		    NULL;
		const char *note = NULL;

		if (rel_prefix) {
			char *rel = xasprintf("%s/%s", rel_prefix, names[i]);
			for (size_t k = 0; k < sizeof(corrected) /
			    sizeof(corrected[0]); k++)
				if (strcmp(rel, corrected[k].file) == 0) {
					want_valid = corrected[k].valid;
					note = corrected[k].why;
				}
			free(rel);
		}
		check_file(path, clabel, want_valid, note, &t);
		free(path);
		free(clabel);
	}
	names_free(names, n);
	tally_print(label, &t);
	if (t.failed)
		any_failed = 1;
}

static void
run_spec_suite(const char *suite)
{
	static const char *const kinds[] = {
		"job_templates", "env_templates", NULL
	};
	int found = 0;

	for (size_t i = 0; kinds[i]; i++) {
		char *dir = xasprintf("%s/openjd-2023-09/2023-09/%s/%s",
		    corpus_dir(), suite, kinds[i]);
		char *label = xasprintf("%s/%s", suite, kinds[i]);
		if (is_dir(dir)) {
			run_folder(dir, label, label, 0);
			found = 1;
		}
		free(dir);
		free(label);
	}
	if (!found)
		printf("%s: no template cases (jobs only)\n", suite);
}

/* Every template below dir (recursively) must be accepted. */
static void
walk_valid(const char *dir, const char *label)
{
	size_t n;
	char **names = list_files(dir, template_suffixes, &n);
	char **subs;

	if (n)
		run_folder(dir, label, NULL, 1);
	names_free(names, n);
	subs = list_dirs(dir, &n);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, subs[i]);
		char *sub = xasprintf("%s/%s", label, subs[i]);
		walk_valid(path, sub);
		free(path);
		free(sub);
	}
	names_free(subs, n);
}

static void
run_samples(void)
{
	char *dir = xasprintf("%s/openjd-samples", corpus_dir());

	walk_valid(dir, "openjd-samples");
	free(dir);
}

/* 1 if the template map declares extension ext. */
static int
declares(const struct node *tmpl, const char *ext)
{
	const struct node *l = node_get(tmpl, "extensions");

	for (size_t i = 0; l && l->kind == NODE_SEQ && i < l->n; i++)
		if (l->items[i]->kind == NODE_STRING &&
		    strcmp(l->items[i]->str, ext) == 0)
			return 1;
	return 0;
}

/* Validates a subtree as a template; returns template_validate()'s result. */
static int
validate_node(const struct node *n, const char *file, struct error_list *el)
{
	struct template t;
	int rc;

	memset(&t, 0, sizeof(t));
	t.doc.file = xstrdup(file);
	t.doc.root = node_copy(n);
	rc = template_validate(&t, el);
	template_release(&t);
	return rc;
}

static void
run_jobs_suite(const char *suite)
{
	char *dir = xasprintf("%s/openjd-2023-09/2023-09/%s/jobs",
	    corpus_dir(), suite);
	char *label = xasprintf("%s/jobs (templates)", suite);
	struct tally t = { 0, 0, 0 };
	int inv_ok = 0, inv_rejected = 0;
	size_t n;
	char **names;

	if (!is_dir(dir)) {
		free(dir);
		free(label);
		return;
	}
	names = list_files(dir, (const char *const[]){ ".test.yaml", NULL },
	    &n);
	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		int invalid = strstr(names[i], ".invalid.") != NULL;
		struct doc d = DOC_INIT;
		struct error_list el = ERROR_LIST_INIT;
		const struct node *tmpl, *envs;
		int rc = 0;

		if (doc_load_file(&d, path, &el) < 0 ||
		    (tmpl = node_get(d.root, "template")) == NULL) {
			t.failed++;
			printf("FAIL %s/%s: cannot read the test\n", label,
			    names[i]);
			print_errors(&el);
			goto next;
		}
		envs = node_get(d.root, "environments");
		if (declares(tmpl, "EXPR")) {
			t.skipped++;
			goto next;
		}
		for (size_t k = 0; envs && envs->kind == NODE_SEQ &&
		    k < envs->n; k++) {
			if (declares(envs->items[k], "EXPR"))
				goto skip;
			rc |= validate_node(envs->items[k], path, &el);
		}
		rc |= validate_node(tmpl, path, &el);
		if (invalid) {
			if (rc == 0)
				inv_ok++;
			else
				inv_rejected++;
			if (verbose && rc) {
				printf("note %s/%s: rejected at validation\n",
				    label, names[i]);
				print_errors(&el);
			}
		} else if (rc == 0) {
			t.passed++;
			if (verbose)
				printf("ok   %s/%s\n", label, names[i]);
		} else {
			t.failed++;
			printf("FAIL %s/%s: expected a valid template, "
			    "rejected:\n", label, names[i]);
			print_errors(&el);
		}
		goto next;
skip:
		t.skipped++;
next:
		doc_release(&d);
		error_list_release(&el);
		free(path);
	}
	names_free(names, n);
	tally_print(label, &t);
	if (inv_ok + inv_rejected)
		printf("%s/jobs (*.invalid.test templates, informational): %d "
		    "accepted, %d rejected at validation\n", suite, inv_ok,
		    inv_rejected);
	if (t.failed)
		any_failed = 1;
	free(dir);
	free(label);
}

/* Informational: accepted / rejected / skipped, never a failure. */
static void
run_informational(const char *dir, const char *label, const char *suffix)
{
	size_t n;
	char **names = list_files(dir, (const char *const[]){ suffix, NULL },
	    &n);
	int ok = 0, bad = 0, skipped = 0;

	for (size_t i = 0; i < n; i++) {
		char *path = xasprintf("%s/%s", dir, names[i]);
		struct template t;
		struct error_list el = ERROR_LIST_INIT;
		int rc = template_load(&t, path, &el);

		if (t.extensions & TEMPLATE_EXT_EXPR) {
			skipped++;
		} else if (rc == 0) {
			ok++;
		} else {
			bad++;
			printf("note %s/%s: rejected\n", label, names[i]);
			print_errors(&el);
		}
		template_release(&t);
		error_list_release(&el);
		free(path);
	}
	names_free(names, n);
	printf("%s (informational): %d accepted, %d rejected, %d skipped\n",
	    label, ok, bad, skipped);
}

static void
run_openjd_rs(void)
{
	char *base = xasprintf("%s/openjd-rs-templates/crates", corpus_dir());
	char *cli = xasprintf("%s/openjd-cli/tests/templates", base);
	char *scen = xasprintf("%s/openjd-sessions/tests/scenarios", base);

	if (is_dir(cli))
		run_informational(cli, "openjd-rs/openjd-cli/tests/templates",
		    ".yaml");
	if (is_dir(scen)) {
		size_t n;
		char **subs = list_dirs(scen, &n);
		for (size_t i = 0; i < n; i++) {
			char *path = xasprintf("%s/%s", scen, subs[i]);
			char *lbl = xasprintf("openjd-rs/openjd-sessions/"
			    "scenarios/%s", subs[i]);
			run_informational(path, lbl, "_template.yaml");
			free(path);
			free(lbl);
		}
		names_free(subs, n);
	}
	free(base);
	free(cli);
	free(scen);
}

static void
run_local(void)
{
	char *valid = xasprintf("%s/tests/conformance/templates/valid",
	    source_dir());
	char *invalid = xasprintf("%s/tests/conformance/templates/invalid",
	    source_dir());

	if (is_dir(valid)) {
		run_folder(valid, "local/valid", NULL, 1);
	} else {
		printf("local/valid: missing folder %s\n", valid);
		any_failed = 1;
	}
	if (is_dir(invalid)) {
		/* every file here must be rejected, whatever its name */
		size_t n;
		char **names = list_files(invalid, template_suffixes, &n);
		struct tally t = { 0, 0, 0 };
		for (size_t i = 0; i < n; i++) {
			char *path = xasprintf("%s/%s", invalid, names[i]);
			char *lbl = xasprintf("local/invalid/%s", names[i]);
			check_file(path, lbl, 0, NULL, &t);
			free(path);
			free(lbl);
		}
		names_free(names, n);
		tally_print("local/invalid", &t);
		if (t.failed)
			any_failed = 1;
	} else {
		printf("local/invalid: missing folder %s\n", invalid);
		any_failed = 1;
	}
	free(valid);
	free(invalid);
}

static int
run_suite(const char *name)
{
	for (size_t i = 0; spec_suites[i]; i++)
		if (strcmp(name, spec_suites[i]) == 0) {
			run_spec_suite(name);
			return 0;
		}
	if (strcmp(name, "samples") == 0)
		run_samples();
	else if (strcmp(name, "in-jobs") == 0)
		for (size_t i = 0; spec_suites[i]; i++)
			run_jobs_suite(spec_suites[i]);
	else if (strcmp(name, "openjd-rs") == 0)
		run_openjd_rs();
	else if (strcmp(name, "local") == 0)
		run_local();
	else {
		fprintf(stderr, "conformance-runner templates: unknown suite "
		    "'%s' (base, TASK_CHUNKING, FEATURE_BUNDLE_1, "
		    "REDACTED_ENV_VARS, EXPR, samples, in-jobs, openjd-rs, "
		    "local)\n", name);
		return -1;
	}
	return 0;
}

int
mode_templates_main(int argc, char **argv)
{
	static const char *const all[] = {
		"base", "TASK_CHUNKING", "FEATURE_BUNDLE_1",
		"REDACTED_ENV_VARS", "EXPR", "samples", "in-jobs", "local",
		"openjd-rs", NULL
	};
	int i = 1, named = 0;

	if (i < argc && strcmp(argv[i], "-v") == 0) {
		verbose = 1;
		i++;
	}
	if (!is_dir(corpus_dir())) {
		printf("conformance corpus not found at %s (set "
		    "DROVER_SHARED)\n", corpus_dir());
		return SKIP_CODE;
	}
	for (; i < argc; i++, named++)
		if (run_suite(argv[i]) < 0)
			return 2;
	if (!named)
		for (size_t k = 0; all[k]; k++)
			run_suite(all[k]);
	return any_failed ? 1 : 0;
}
