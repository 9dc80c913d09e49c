/*
 * The job-execution half of the conformance runner: runs every
 * <suite>/jobs/NAME.test.yaml of the corpus with `drover run` and checks
 * the output.
 *
 *	conformance-run-jobs [-v] [-k] [SUITE...]
 *
 * SUITE is a folder of openjd-2023-09/2023-09 (default: base TASK_CHUNKING
 * REDACTED_ENV_VARS FEATURE_BUNDLE_1 EXPR).  Each case goes into a private
 * temp dir: the template and environment templates are written there as
 * JSON (numbers keep the text they had in the YAML), `parameters` become
 * -p NAME=VALUE, `pathMapping` becomes --path-mapping-rules; drover runs
 * there with TMPDIR pointing into it.  A case passes when:
 *   - NAME.invalid.test.yaml: drover exits non-zero;
 *   - expected.taskFailure: drover exits non-zero, and the output checks
 *     below hold;
 *   - otherwise: drover exits 0, every expected output string (output,
 *     output_posix; {anyOf: [...]} needs one of them) appears in the
 *     combined stdout+stderr, no forbidden one (forbidden,
 *     forbidden_posix) does;
 * and in every case the session directory is gone afterwards.  Cases with
 * runOn not including posix, and cases that need the EXPR extension, are
 * skipped; a whole EXPR suite is counted as skipped.  One line per suite:
 * "jobs-run SUITE: N passed, N failed, N skipped".  -v prints the output
 * of failed cases, -k keeps the temp dirs.  Exit status: 0 all passed,
 * 1 some failed, 77 corpus missing.
 *
 * Environment: DROVER_BIN (the drover binary; required), DROVER_SHARED
 * (the folder holding conformance/; default from the build).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/buf.h"
#include "common/doc.h"
#include "common/error.h"
#include "common/xmalloc.h"

#ifndef DROVER_DEFAULT_SHARED
#define DROVER_DEFAULT_SHARED	"../shared"
#endif

#define CASE_TIMEOUT_MS	120000

static int verbose;
static int keep;
static const char *drover_bin;

struct tally {
	int	passed;
	int	failed;
	int	skipped;
};

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted *.test.yaml names in dir; NULL if dir cannot be read. */
static char **
list_cases(const char *dir, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;
	size_t alloc = 0;

	*n = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);

		if (len > 10 && strcmp(de->d_name + len - 10, ".test.yaml") ==
		    0) {
			ALLOC_GROW(v, *n + 1, alloc);
			v[(*n)++] = xstrdup(de->d_name);
		}
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), name_cmp);
	return v ? v : xcalloc(1, sizeof(char *));
}

/* A JSON number as JSON accepts it (YAML allows more: .5, +1, 0x1f). */
static int
json_number_text(const char *s)
{
	json_t *j = json_loads(s, JSON_DECODE_ANY, NULL);
	int ok = j != NULL && json_is_number(j);

	json_decref(j);
	return ok;
}

/* Writes n as JSON, numbers with the text they had in the YAML. */
static void
emit_json(struct buf *b, const struct node *n)
{
	json_t *j;
	char *s;

	switch (n->kind) {
	case NODE_NULL:
		buf_adds(b, "null");
		return;
	case NODE_BOOL:
		buf_adds(b, n->v.b ? "true" : "false");
		return;
	case NODE_INT:
	case NODE_FLOAT:
		if (json_number_text(n->str)) {
			buf_adds(b, n->str);
			return;
		}
		/* FALLTHROUGH */
	case NODE_STRING:
		j = n->kind == NODE_STRING ? json_stringn(n->str, n->len) :
		    node_to_json(n);
		s = json_dumps(j, JSON_ENCODE_ANY);
		buf_adds(b, s);
		free(s);
		json_decref(j);
		return;
	case NODE_SEQ:
		buf_addch(b, '[');
		for (size_t i = 0; i < n->n; i++) {
			if (i > 0)
				buf_addch(b, ',');
			emit_json(b, n->items[i]);
		}
		buf_addch(b, ']');
		return;
	case NODE_MAP:
		buf_addch(b, '{');
		for (size_t i = 0; i < n->n; i++) {
			if (i > 0)
				buf_addch(b, ',');
			j = json_stringn(n->keys[i]->str, n->keys[i]->len);
			s = json_dumps(j, JSON_ENCODE_ANY);
			buf_adds(b, s);
			buf_addch(b, ':');
			free(s);
			json_decref(j);
			emit_json(b, n->items[i]);
		}
		buf_addch(b, '}');
		return;
	}
}

static int
write_node(const char *path, const struct node *n)
{
	struct buf b = BUF_INIT;
	FILE *fp = fopen(path, "w");
	int rc;

	if (fp == NULL)
		return -1;
	emit_json(&b, n);
	buf_addch(&b, '\n');
	rc = fwrite(b.s, 1, b.len, fp) == b.len ? 0 : -1;
	if (fclose(fp) != 0)
		rc = -1;
	buf_release(&b);
	return rc;
}

/* 1 if runOn (absent: everywhere) includes posix. */
static int
runs_here(const struct node *root)
{
	const struct node *ro = node_get(root, "runOn");

	if (ro == NULL)
		return 1;
	if (ro->kind == NODE_STRING)
		return strcmp(ro->str, "posix") == 0;
	for (size_t i = 0; ro->kind == NODE_SEQ && i < ro->n; i++)
		if (ro->items[i]->kind == NODE_STRING &&
		    strcmp(ro->items[i]->str, "posix") == 0)
			return 1;
	return ro->kind != NODE_SEQ;
}

static int
declares_expr(const struct node *tmpl)
{
	const struct node *ext = node_get(tmpl, "extensions");

	for (size_t i = 0; ext && ext->kind == NODE_SEQ && i < ext->n; i++)
		if (ext->items[i]->kind == NODE_STRING &&
		    strcmp(ext->items[i]->str, "EXPR") == 0)
			return 1;
	return 0;
}

static int
needs_expr(const struct node *root)
{
	const struct node *envs = node_get(root, "environments");

	if (declares_expr(node_get(root, "template")))
		return 1;
	for (size_t i = 0; envs && envs->kind == NODE_SEQ && i < envs->n; i++)
		if (declares_expr(envs->items[i]))
			return 1;
	return 0;
}

/*
 * Runs argv in dir with TMPDIR=tmp; output (stdout+stderr) into out.
 * Returns the exit status (128+signal when killed), -1 if it could not run.
 */
static int
run_drover(char **argv, const char *dir, const char *tmp, struct buf *out)
{
	int p[2], status = 0, elapsed = 0;
	pid_t pid;

	if (pipe(p) == -1)
		return -1;
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		dup2(null, 0);
		dup2(p[1], 1);
		dup2(p[1], 2);
		close(p[0]);
		close(p[1]);
		setpgid(0, 0);
		if (chdir(dir) == -1 || setenv("TMPDIR", tmp, 1) == -1)
			_exit(126);
		execv(argv[0], argv);
		_exit(127);
	}
	close(p[1]);
	for (;;) {
		struct pollfd pfd = { p[0], POLLIN, 0 };
		char buf[8192];
		ssize_t n;
		int r = poll(&pfd, 1, 1000);

		if (r == 0) {
			elapsed += 1000;
			if (elapsed >= CASE_TIMEOUT_MS) {
				buf_adds(out, "\n[runner: timed out, killing "
				    "drover]\n");
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
			}
			continue;
		}
		if (r == -1 && errno == EINTR)
			continue;
		n = read(p[0], buf, sizeof(buf));
		if (n > 0)
			buf_add(out, buf, (size_t)n);
		else if (n == 0 || errno != EINTR)
			break;
	}
	close(p[0]);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

/* Collects the strings of expected.<key> (and <key>_posix) into v. */
static void
collect(const struct node *exp, const char *key, const struct node ***v,
    size_t *n, size_t *alloc)
{
	char *pk = xasprintf("%s_posix", key);
	const struct node *lists[2] = { node_get(exp, key),
	    node_get(exp, pk) };

	free(pk);
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; lists[l] && lists[l]->kind == NODE_SEQ &&
		    i < lists[l]->n; i++) {
			ALLOC_GROW(*v, *n + 1, *alloc);
			(*v)[(*n)++] = lists[l]->items[i];
		}
}

/* Checks expected output; appends why not to why. */
static int
check_output(const struct node *exp, const char *out, struct buf *why)
{
	const struct node **v = NULL;
	size_t n = 0, alloc = 0;
	int ok = 1;

	collect(exp, "output", &v, &n, &alloc);
	for (size_t i = 0; i < n; i++) {
		const struct node *any = node_get(v[i], "anyOf");

		if (any != NULL && any->kind == NODE_SEQ) {
			int found = 0;

			for (size_t k = 0; k < any->n; k++)
				if (node_is_scalar(any->items[k]) &&
				    strstr(out, any->items[k]->str))
					found = 1;
			if (!found) {
				buf_addf(why, "none of anyOf[%zu] found; ",
				    any->n);
				ok = 0;
			}
		} else if (node_is_scalar(v[i]) && !strstr(out, v[i]->str)) {
			buf_addf(why, "missing '%s'; ", v[i]->str);
			ok = 0;
		}
	}
	n = 0;
	collect(exp, "forbidden", &v, &n, &alloc);
	for (size_t i = 0; i < n; i++) {
		if (node_is_scalar(v[i]) && strstr(out, v[i]->str)) {
			buf_addf(why, "forbidden '%s' present; ", v[i]->str);
			ok = 0;
		}
	}
	free(v);
	return ok;
}

static int
rmtree(const char *path)
{
	char *cmd;
	int rc;

	if (strchr(path, '\'') != NULL)
		return -1;
	cmd = xasprintf("rm -rf '%s'", path);
	rc = system(cmd);
	free(cmd);
	return rc;
}

/* Any drover-session-* left in dir? */
static int
sessions_left(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, "drover-session-", 15) == 0)
			n++;
	closedir(d);
	return n;
}

/* 1 passed, 0 failed, -1 skipped. */
static int
run_case(const char *dir, const char *name, struct buf *why,
    struct buf *out)
{
	struct error_list el = ERROR_LIST_INIT;
	struct doc d = DOC_INIT;
	const struct node *root, *tmpl, *envs, *params, *pm, *exp;
	char *path = xasprintf("%s/%s", dir, name), *work = NULL;
	char **argv = NULL, *tmp_dir = NULL;
	size_t argc = 0, alloc = 0;
	int invalid = strstr(name, ".invalid.") != NULL, result = 0, st;
	struct buf arg = BUF_INIT;

	if (doc_load_file(&d, path, &el) == -1 || d.root == NULL) {
		char *e = error_list_first(&el);

		buf_addf(why, "cannot load: %s", e ? e : "?");
		free(e);
		goto out;
	}
	root = d.root;
	if (!runs_here(root) || needs_expr(root)) {
		buf_adds(why, !runs_here(root) ? "not for posix" :
		    "needs EXPR");
		result = -1;
		goto out;
	}
	tmpl = node_get(root, "template");
	exp = node_get(root, "expected");
	if (tmpl == NULL) {
		buf_adds(why, "no template");
		goto out;
	}
	work = xstrdup("/tmp/drover-conf-XXXXXX");
	{
		const char *t = getenv("TMPDIR");

		if (t && *t) {
			free(work);
			work = xasprintf("%s/drover-conf-XXXXXX", t);
		}
	}
	if (mkdtemp(work) == NULL) {
		buf_addf(why, "mkdtemp: %s", strerror(errno));
		goto out;
	}
	tmp_dir = xasprintf("%s/tmp", work);
	mkdir(tmp_dir, 0700);
#define ARG(s)	do { ALLOC_GROW(argv, argc + 2, alloc);	\
		argv[argc++] = (s); argv[argc] = NULL; } while (0)
	ARG(xstrdup(drover_bin));
	ARG(xstrdup("run"));
	envs = node_get(root, "environments");
	for (size_t i = 0; envs && envs->kind == NODE_SEQ && i < envs->n;
	    i++) {
		char *ep = xasprintf("%s/env%zu.json", work, i);

		if (write_node(ep, envs->items[i]) == -1) {
			buf_addf(why, "cannot write %s", ep);
			free(ep);
			goto out;
		}
		ARG(xstrdup("--environment"));
		ARG(ep);
	}
	params = node_get(root, "parameters");
	for (size_t i = 0; params && params->kind == NODE_MAP &&
	    i < params->n; i++) {
		ARG(xstrdup("-p"));
		ARG(xasprintf("%s=%s", params->keys[i]->str,
		    params->items[i]->str ? params->items[i]->str : ""));
	}
	pm = node_get(root, "pathMapping");
	if (pm != NULL) {
		/* a list of rules, or the whole document */
		buf_reset(&arg);
		if (pm->kind == NODE_SEQ) {
			buf_adds(&arg, "{\"version\": \"pathmapping-1.0\", "
			    "\"path_mapping_rules\": ");
			emit_json(&arg, pm);
			buf_addch(&arg, '}');
		} else
			emit_json(&arg, pm);
		ARG(xstrdup("--path-mapping-rules"));
		ARG(xstrdup(arg.s));
	}
	{
		char *tp = xasprintf("%s/template.json", work);

		if (write_node(tp, tmpl) == -1) {
			buf_addf(why, "cannot write %s", tp);
			free(tp);
			goto out;
		}
		ARG(tp);
	}
	st = run_drover(argv, work, tmp_dir, out);
	if (st == -1) {
		buf_addf(why, "cannot run %s", drover_bin);
		goto out;
	}
	if (sessions_left(tmp_dir) > 0) {
		buf_adds(why, "session directory left behind; ");
		goto out;
	}
	if (invalid) {
		result = st != 0;
		if (!result)
			buf_adds(why, "invalid case succeeded");
		goto out;
	}
	if (exp != NULL && node_get(exp, "taskFailure") != NULL) {
		result = st != 0 && st < 128;
		if (!result)
			buf_addf(why, "expected a task failure, exit %d; ", st);
		result = check_output(exp, out->s, why) && result;
		goto out;
	}
	if (st != 0)
		buf_addf(why, "exit status %d; ", st);
	result = check_output(exp, out->s, why) && st == 0;
out:
	if (work != NULL) {
		if (keep)
			fprintf(stderr, "  kept %s\n", work);
		else
			rmtree(work);
	}
	for (size_t i = 0; i < argc; i++)
		free(argv[i]);
	free(argv);
	free(tmp_dir);
	free(work);
	free(path);
	buf_release(&arg);
	doc_release(&d);
	error_list_release(&el);
	return result;
}

static int
count_cases(const char *dir)
{
	size_t n;
	char **v = list_cases(dir, &n);

	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
	return (int)n;
}

int
main(int argc, char **argv)
{
	static const char *const defaults[] = { "base", "TASK_CHUNKING",
	    "REDACTED_ENV_VARS", "FEATURE_BUNDLE_1", "EXPR", NULL };
	const char *shared = getenv("DROVER_SHARED");
	const char *const *suites = defaults;
	char *corpus;
	int failed = 0, opt, found = 0;

	while ((opt = getopt(argc, argv, "vk")) != -1) {
		if (opt == 'v')
			verbose = 1;
		else if (opt == 'k')
			keep = 1;
		else {
			fprintf(stderr, "usage: conformance-run-jobs [-v] [-k] "
			    "[SUITE...]\n");
			return 2;
		}
	}
	if (optind < argc)
		suites = (const char *const *)argv + optind;
	drover_bin = getenv("DROVER_BIN");
	if (drover_bin == NULL || access(drover_bin, X_OK) != 0) {
		fprintf(stderr, "conformance-run-jobs: set DROVER_BIN to the "
		    "drover binary\n");
		return 2;
	}
	if (shared == NULL || *shared == '\0')
		shared = DROVER_DEFAULT_SHARED;
	corpus = xasprintf("%s/conformance/openjd-2023-09/2023-09", shared);
	signal(SIGPIPE, SIG_IGN);
	for (size_t s = 0; suites[s] != NULL; s++) {
		char *dir = xasprintf("%s/%s/jobs", corpus, suites[s]);
		struct tally t = { 0, 0, 0 };
		char **names;
		size_t n;

		if (strcmp(suites[s], "EXPR") == 0) {
			/* EXPR is not implemented: every case needs it */
			if ((t.skipped = count_cases(dir)) > 0)
				found = 1;
			printf("jobs-run %s: 0 passed, 0 failed, %d skipped "
			    "(needs EXPR)\n", suites[s], t.skipped);
			free(dir);
			continue;
		}
		if ((names = list_cases(dir, &n)) == NULL) {
			printf("jobs-run %s: no such folder %s\n", suites[s],
			    dir);
			free(dir);
			continue;
		}
		found = 1;
		for (size_t i = 0; i < n; i++) {
			struct buf why = BUF_INIT, out = BUF_INIT;
			int r = run_case(dir, names[i], &why, &out);

			if (r > 0)
				t.passed++;
			else if (r < 0)
				t.skipped++;
			else {
				t.failed++;
				printf("FAIL %s/%s: %s\n", suites[s], names[i],
				    why.s);
				if (verbose)
					printf("---- output\n%s----\n", out.s);
			}
			if (verbose && r < 0)
				printf("skip %s/%s: %s\n", suites[s], names[i],
				    why.s);
			buf_release(&why);
			buf_release(&out);
			free(names[i]);
		}
		free(names);
		printf("jobs-run %s: %d passed, %d failed, %d skipped\n",
		    suites[s], t.passed, t.failed, t.skipped);
		fflush(stdout);
		failed += t.failed;
		free(dir);
	}
	free(corpus);
	if (!found)
		return 77;
	return failed ? 1 : 0;
}
