/*
 * drover download: fetches the outputs of a job submitted with job
 * attachments (docs/attachments.md, "Queue integration"): the output
 * manifests of its succeeded task attempts, merged per output directory
 * (later captures win), are materialised at the paths given at submission
 * or under --to DIR.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cas/attach-queue.h"
#include "cas/fsutil.h"
#include "cas/hashcache.h"
#include "cas/manifest.h"
#include "cas/store.h"
#include "cas/tree.h"
#include "cli/client.h"
#include "cli/cmd.h"
#include "common/log.h"
#include "common/xmalloc.h"

/* One output directory and the manifests captured for it, in order. */
struct dl_root {
	const char		*root;
	struct cas_manifest	*ms;
	size_t			 n;
};

static int
wanted(const json_t *o, const char *step, int64_t task)
{
	const json_t *sn = json_object_get(o, "stepName");
	char idx[32];

	if (strcmp(json_string_value(json_object_get(o, "state")) ?
	    json_string_value(json_object_get(o, "state")) : "",
	    "SUCCEEDED") != 0)
		return 0;
	if (step != NULL) {
		snprintf(idx, sizeof(idx), "%lld", (long long)
		    json_integer_value(json_object_get(o, "step")));
		if (strcmp(step, idx) != 0 && (!json_is_string(sn) ||
		    strcmp(step, json_string_value(sn)) != 0))
			return 0;
	}
	return task < 0 || json_integer_value(json_object_get(o, "task")) ==
	    task;
}

static void
print_result(int64_t job, json_t *outputs)
{
	json_t *j = json_pack("{s:I, s:O}", "job", (json_int_t)job, "outputs",
	    outputs);

	client_print_json(stdout, j);
	json_decref(j);
}

static int
cmd_download_exec(int argc, char **argv)
{
	const char *to = NULL, *ref = NULL, *store_root;
	int json = 0, rc = EXIT_OK, k;
	int64_t job, task;
	char *step = NULL, *err = NULL, *hcpath;
	struct dl_root *roots = NULL;
	size_t nroots = 0, i;
	const char **names = NULL;
	struct cas_store store;
	int store_open = 0;
	struct cas_opts co;
	json_t *args, *r = NULL, *att, *outs, *o, *result = json_array();

	memset(&co, 0, sizeof(co));
	for (k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			json = 1;
		else if (!strcmp(argv[k], "--to") && k + 1 < argc)
			to = argv[++k];
		else if (!strncmp(argv[k], "--to=", 5))
			to = argv[k] + 5;
		else if (argv[k][0] == '-' && argv[k][1] != '\0') {
			json_decref(result);
			return cmd_usage_error(&cmd_download_entry,
			    "unknown option '%s'", argv[k]);
		} else if (ref) {
			json_decref(result);
			return cmd_usage_error(&cmd_download_entry,
			    "one job at a time");
		} else
			ref = argv[k];
	}
	if (ref == NULL || client_parse_ref(ref, &job, &step, &task) == -1) {
		json_decref(result);
		free(step);
		return cmd_usage_error(&cmd_download_entry, ref ? "bad job "
		    "reference '%s'" : "a job id is required", ref);
	}
	if (to != NULL && *to == '\0') {
		json_decref(result);
		free(step);
		return cmd_usage_error(&cmd_download_entry, "--to needs a "
		    "directory");
	}
	args = json_object();
	json_object_set_new(args, "job", json_integer(job));
	if ((r = client_do("download", "show", args, &rc)) == NULL)
		goto out;
	att = json_object_get(json_object_get(r, "job"), "attachments");
	store_root = json_string_value(json_object_get(att, "store"));
	if (store_root == NULL) {
		fprintf(stderr, "drover download: job %lld was not submitted "
		    "with attachments (drover submit --attach)\n",
		    (long long)job);
		rc = EXIT_FAIL;
		goto out;
	}
	if (cas_store_open(&store, store_root, 0, &err) == -1) {
		fprintf(stderr, "drover download: %s\n", err);
		rc = EXIT_SYSTEM;
		goto out;
	}
	store_open = 1;
	outs = json_object_get(att, "outputManifests");
	json_array_foreach(outs, i, o) {
		struct error_list el = ERROR_LIST_INIT;
		const char *root = json_string_value(json_object_get(o, "root"));
		const char *hash = json_string_value(json_object_get(o,
		    "manifest"));
		struct dl_root *d = NULL;

		if (!wanted(o, step, task) || root == NULL || hash == NULL)
			continue;
		for (size_t n = 0; n < nroots; n++)
			if (strcmp(roots[n].root, root) == 0)
				d = &roots[n];
		if (d == NULL) {
			roots = xrealloc(roots, (nroots + 1) * sizeof(*roots));
			d = &roots[nroots++];
			memset(d, 0, sizeof(*d));
			d->root = root;
		}
		d->ms = xrealloc(d->ms, (d->n + 1) * sizeof(*d->ms));
		memset(&d->ms[d->n], 0, sizeof(d->ms[d->n]));
		if (cas_store_load_manifest(&store, hash, &d->ms[d->n],
		    &el) == -1) {
			char *first = error_list_first(&el);

			fprintf(stderr, "drover download: output manifest %s: "
			    "%s\n", hash, first ? first : "cannot load it");
			free(first);
			error_list_release(&el);
			cas_manifest_release(&d->ms[d->n]);
			rc = EXIT_FAIL;
			goto out;
		}
		d->n++;
	}
	if (nroots == 0) {
		if (json)
			print_result(job, result);
		else
			fprintf(stderr, "drover download: job %lld has no "
			    "outputs to download\n", (long long)job);
		goto out;
	}
	names = xcalloc(nroots, sizeof(*names));
	for (i = 0; i < nroots; i++)
		names[i] = roots[i].root;
	hcpath = cas_hashcache_default_path();
	if (cas_hashcache_open(&co.hc, hcpath, &err) == -1) {
		log_warnx("%s; continuing without it", err);
		free(err);
		err = NULL;
		co.hc = NULL;
	}
	free(hcpath);
	co.progress = isatty(STDERR_FILENO) && !json;
	for (i = 0; i < nroots; i++) {
		struct cas_manifest m = CAS_MANIFEST_INIT;
		struct cas_stats st;
		char *dest = cas_attach_dest(names, nroots, i, to);
		char sz[32];

		cas_attach_merge(&m, roots[i].ms, roots[i].n);
		if (cas_download(&m, &store, 1, dest, &co, &st, &err) == -1) {
			fprintf(stderr, "drover download: '%s': %s\n", dest, err);
			free(err);
			err = NULL;
			rc = EXIT_FAIL;
		} else if (json) {
			json_array_append_new(result, json_pack("{s:s, s:s, "
			    "s:I, s:I, s:I, s:I}", "root", roots[i].root, "to",
			    dest, "files", (json_int_t)st.files, "bytes",
			    (json_int_t)st.bytes, "fetched",
			    (json_int_t)st.stored_files, "upToDate",
			    (json_int_t)st.present_files));
		} else
			printf("%s: %llu files (%s) -> %s (%llu fetched, %llu "
			    "up to date)\n", roots[i].root,
			    (unsigned long long)st.files,
			    cas_fmt_bytes(st.bytes, sz, sizeof(sz)), dest,
			    (unsigned long long)st.stored_files,
			    (unsigned long long)st.present_files);
		cas_manifest_release(&m);
		free(dest);
	}
	if (json)
		print_result(job, result);
out:
	for (i = 0; i < nroots; i++) {
		for (size_t n = 0; n < roots[i].n; n++)
			cas_manifest_release(&roots[i].ms[n]);
		free(roots[i].ms);
	}
	free(roots);
	free(names);
	cas_hashcache_close(co.hc);
	if (store_open)
		cas_store_release(&store);
	json_decref(result);
	json_decref(r);
	free(step);
	free(err);
	return rc;
}

const struct cmd_entry cmd_download_entry = {
	"download",
	"fetch the outputs of a job submitted with attachments",
	"drover download JOB[/STEP[/TASK]] [--to DIR] [--json]",
	"DESCRIPTION\n"
	"    Fetches the outputs of a job submitted with 'drover submit\n"
	"    --attach' (or --attach-outputs): after each task the files it\n"
	"    wrote into the job's output directories (PATH parameters with\n"
	"    dataFlow OUT or INOUT) were stored as the attempt's output\n"
	"    manifests.  Those of every succeeded attempt (of one step or task\n"
	"    if given) are merged per directory, later captures winning, and\n"
	"    materialised: only files that are missing or differ are written,\n"
	"    files not in the outputs are left alone.  Works on running jobs\n"
	"    too (what has finished so far).  See docs/attachments.md.\n"
	"\n"
	"OPTIONS\n"
	"    --to DIR\n"
	"        Write under DIR instead of the output directories' paths as\n"
	"        submitted.  With one output directory its files go straight\n"
	"        into DIR; with several, each goes to DIR/<its path below the\n"
	"        directories' longest common parent>.\n"
	"    --json\n"
	"        Print {\"job\", \"outputs\": [{\"root\", \"to\", \"files\",\n"
	"        \"bytes\", \"fetched\", \"upToDate\"}]}.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 downloaded (or nothing to download), 1 no such job, a job\n"
	"    without attachments or a failed download, 2 usage error, 3 the\n"
	"    daemon or the store could not be reached.\n",
	.exec = cmd_download_exec,
};
