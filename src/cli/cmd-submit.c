/*
 * drover submit: validates a job template (or an AWS Deadline Cloud style
 * job bundle directory), creates the job and queues it with the daemon.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cas/attach-queue.h"
#include "cas/hashcache.h"
#include "cli/client.h"
#include "cli/cmd.h"
#include "cli/params-cli.h"
#include "common/doc.h"
#include "common/log.h"
#include "common/xmalloc.h"
#include "model/job.h"
#include "session/pathmap.h"

struct submit_opts {
	const char	*name;
	const char	*on_error;
	const char	*on_complete;
	int		 priority;	/* -1: unset */
	int		 max_retries;	/* -1: unset */
	int		 max_failed;
	int		 paused;
	int		 wait;
	int		 json;
	json_t		*after;
	const char	**attach;	/* --attach DIR, repeatable */
	size_t		 nattach;
	int		 attach_outputs;
	const char	*pathmap;	/* --path-mapping-rules */
};

static int
num_arg(const char *s, int min, int max, int *out)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end || v < min || v > max)
		return -1;
	*out = (int)v;
	return 0;
}

/* Both forms: "--opt VALUE" and "--opt=VALUE". */
static const char *
opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc)
		return "";
	return argv[++*i];
}

static int
add_after(json_t *after, const char *list)
{
	char *copy = xstrdup(list), *tok, *save = NULL, *end;

	for (tok = strtok_r(copy, ",", &save); tok;
	    tok = strtok_r(NULL, ",", &save)) {
		long long v = strtoll(tok, &end, 10);

		if (end == tok || *end || v <= 0) {
			free(copy);
			return -1;
		}
		json_array_append_new(after, json_integer(v));
	}
	free(copy);
	return json_array_size(after) ? 0 : -1;
}

static char *
find_in(const char *dir, const char *base)
{
	static const char *const ext[] = { "yaml", "yml", "json" };
	struct stat sb;

	for (size_t i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s.%s", dir, base, ext[i]);

		if (stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
			return p;
		free(p);
	}
	return NULL;
}

/*
 * A job bundle's parameter_values file: {"parameterValues": [{"name",
 * "value"}]}; deadline:* values become queue settings, the others job
 * parameters (which -p given on the command line override).
 */
static int
bundle_values(const char *path, struct param_values *pv,
    struct submit_opts *o)
{
	struct doc d = DOC_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct node *list, *item;
	int rc = 0;

	if (doc_load_file(&d, path, &el) == -1) {
		error_list_print(&el, stderr);
		error_list_release(&el);
		doc_release(&d);
		return -1;
	}
	list = node_get(d.root, "parameterValues");
	if (list == NULL || list->kind != NODE_SEQ) {
		fprintf(stderr, "%s: expected a 'parameterValues' list\n", path);
		doc_release(&d);
		return -1;
	}
	for (size_t i = 0; i < list->n && rc == 0; i++) {
		struct node *n, *v;
		const char *name;

		item = list->items[i];
		n = node_get(item, "name");
		v = node_get(item, "value");
		if (n == NULL || n->kind != NODE_STRING || v == NULL ||
		    !node_is_scalar(v) || v->kind == NODE_NULL) {
			fprintf(stderr, "%s:%d:%d: parameterValues[%zu]: needs "
			    "a name and a scalar value\n", path, item->line,
			    item->col, i);
			rc = -1;
			break;
		}
		name = n->str;
		if (strcmp(name, "deadline:priority") == 0) {
			if (num_arg(v->str, 0, 100, &o->priority) == -1)
				rc = -1;
		} else if (strcmp(name, "deadline:maxRetriesPerTask") == 0) {
			if (num_arg(v->str, 0, 100000, &o->max_retries) == -1)
				rc = -1;
		} else if (strcmp(name, "deadline:maxFailedTasksCount") == 0) {
			if (num_arg(v->str, 0, INT_MAX, &o->max_failed) == -1)
				rc = -1;
		} else if (strcmp(name, "deadline:targetTaskRunStatus") == 0) {
			if (strcmp(v->str, "SUSPENDED") == 0)
				o->paused = 1;
			else if (strcmp(v->str, "READY") != 0)
				rc = -1;
		} else if (strncmp(name, "deadline:", 9) == 0) {
			fprintf(stderr, "drover submit: %s: ignoring '%s'\n",
			    path, name);
		} else
			param_values_set_at(pv, name, v->str, path, v->line,
			    v->col);
		if (rc == -1)
			fprintf(stderr, "%s:%d:%d: bad value for '%s'\n", path,
			    v->line, v->col, name);
	}
	doc_release(&d);
	return rc;
}

/*
 * Job attachments (docs/attachments.md, "Queue integration"): uploads
 * every --attach directory into the store and builds the submit request's
 * "attachments" member.  Returns it, or NULL after printing the error.
 */
static json_t *
attachments(const struct submit_opts *o, const struct job *jb,
    const char *cwd)
{
	json_t *att = json_object(), *inputs = json_array();
	struct cas_opts co;
	char *store = NULL, *err = NULL, *hcpath;
	size_t i, k;

	memset(&co, 0, sizeof(co));
	co.progress = isatty(STDERR_FILENO) && !o->json;
	if (o->pathmap) {
		struct pathmap pm = PATHMAP_INIT;

		if (pathmap_from_arg(&pm, o->pathmap, &err) == -1) {
			fprintf(stderr, "drover submit: --path-mapping-rules: "
			    "%s\n", err);
			goto fail;
		}
		if (pm.n > 0)
			json_object_set_new(att, "pathMappingRules",
			    pathmap_to_json(&pm));
		pathmap_release(&pm);
	}
	if (o->nattach == 0 && !o->attach_outputs)
		goto done;
	if ((store = cas_attach_store_path(&err)) == NULL) {
		fprintf(stderr, "drover submit: %s\n", err);
		goto fail;
	}
	hcpath = cas_hashcache_default_path();
	if (cas_hashcache_open(&co.hc, hcpath, &err) == -1) {
		log_warnx("%s; continuing without it", err);
		free(err);
		err = NULL;
		co.hc = NULL;
	}
	free(hcpath);
	for (i = 0; i < o->nattach; i++) {
		char hash[CAS_HASH_HEXLEN + 1], *root;
		struct cas_stats stats;
		struct stat sb;

		root = o->attach[i][0] == '/' ?
		    param_path_normalize(o->attach[i], NULL) :
		    param_path_join(cwd, o->attach[i]);
		if (stat(root, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
			fprintf(stderr, "drover submit: --attach '%s': %s\n",
			    o->attach[i], access(root, F_OK) == -1 ?
			    strerror(errno) : "not a directory");
			free(root);
			goto fail;
		}
		for (k = 0; k < json_array_size(inputs); k++)
			if (strcmp(root, json_string_value(json_object_get(
			    json_array_get(inputs, k), "root"))) == 0)
				break;
		if (k < json_array_size(inputs)) {
			fprintf(stderr, "drover submit: --attach '%s': "
			    "attached twice\n", o->attach[i]);
			free(root);
			goto fail;
		}
		if (cas_attach_upload(store, root, &co, hash, &stats,
		    &err) == -1) {
			fprintf(stderr, "drover submit: --attach '%s': %s\n",
			    o->attach[i], err);
			free(root);
			goto fail;
		}
		json_array_append_new(inputs, json_pack("{s:s, s:s, s:I, s:I}",
		    "root", root, "manifest", hash, "files",
		    (json_int_t)stats.files, "bytes",
		    (json_int_t)stats.bytes));
		free(root);
	}
	/* an INOUT directory outside every attached one starts empty */
	for (i = 0; i < job_nparams(jb); i++) {
		const char *flow = job_param_data_flow(jb, i), *v;
		size_t len;

		if (flow == NULL || strcmp(flow, "INOUT") != 0)
			continue;
		v = job_param_value(jb, i);
		for (k = 0; k < json_array_size(inputs); k++) {
			const char *r = json_string_value(json_object_get(
			    json_array_get(inputs, k), "root"));

			len = strlen(r);
			if (strncmp(v, r, len) == 0 && (v[len] == '\0' ||
			    v[len] == '/' || len == 1))
				break;
		}
		if (k == json_array_size(inputs))
			fprintf(stderr, "drover submit: warning: INOUT parameter "
			    "'%s' ('%s') is not inside an --attach directory: "
			    "its tasks see it empty\n", job_param_name(jb, i), v);
	}
	json_object_set_new(att, "store", json_string(store));
	json_object_set_new(att, "captureOutputs", json_true());
	json_object_set_new(att, "inputs", inputs);
	inputs = NULL;
done:
	cas_hashcache_close(co.hc);
	json_decref(inputs);
	free(store);
	if (json_object_size(att) == 0) {
		json_decref(att);
		return json_object();
	}
	return att;
fail:
	cas_hashcache_close(co.hc);
	json_decref(inputs);
	json_decref(att);
	free(store);
	free(err);
	return NULL;
}

static char *
submitter(void)
{
	struct passwd *pw = getpwuid(getuid());

	return pw ? xstrdup(pw->pw_name) : xasprintf("%u", (unsigned)getuid());
}

static int
cmd_submit_exec(int argc, char **argv)
{
	struct params_cli pc = PARAMS_CLI_INIT;
	struct submit_opts o = { NULL, NULL, NULL, -1, -1, 0, 0, 0, 0, NULL,
	    NULL, 0, 0, NULL };
	struct error_list el = ERROR_LIST_INIT;
	struct client c = CLIENT_INIT;
	const char *path = NULL, *v, *code;
	char *tmpl = NULL, *err = NULL, cwd[PATH_MAX];
	struct stat sb;
	struct job *jb = NULL;
	json_t *args, *params, *r, *att;
	int rc = EXIT_OK, k;
	int64_t id;

	o.after = json_array();
	o.attach = xcalloc((size_t)argc + 1, sizeof(*o.attach));
	for (int i = 1; i < argc; i++) {
		int r2 = params_cli_option(&pc, &cmd_submit_entry, argc, argv,
		    &i, &rc);

		if (r2 < 0)
			goto out;
		if (r2 > 0)
			continue;
		if ((v = opt_value(argc, argv, &i, "--name"))) {
			if (*v == '\0') {
				rc = cmd_usage_error(&cmd_submit_entry,
				    "--name needs a value");
				goto out;
			}
			o.name = v;
		} else if ((v = opt_value(argc, argv, &i, "--priority"))) {
			if (num_arg(v, 0, 1000000, &o.priority) == -1) {
				rc = cmd_usage_error(&cmd_submit_entry,
				    "--priority needs a number >= 0");
				goto out;
			}
		} else if ((v = opt_value(argc, argv, &i, "--max-retries"))) {
			if (num_arg(v, 0, 100000, &o.max_retries) == -1) {
				rc = cmd_usage_error(&cmd_submit_entry,
				    "--max-retries needs a number >= 0");
				goto out;
			}
		} else if ((v = opt_value(argc, argv, &i, "--on-error"))) {
			if (strcmp(v, "continue") && strcmp(v, "quit") &&
			    strcmp(v, "terminate")) {
				rc = cmd_usage_error(&cmd_submit_entry,
				    "--on-error is continue, quit or terminate");
				goto out;
			}
			o.on_error = v;
		} else if ((v = opt_value(argc, argv, &i, "--after"))) {
			if (add_after(o.after, v) == -1) {
				rc = cmd_usage_error(&cmd_submit_entry,
				    "--after needs job ids: JOB[,JOB...]");
				goto out;
			}
		} else if ((v = opt_value(argc, argv, &i, "--on-complete"))) {
			o.on_complete = v;
		} else if (!strcmp(argv[i], "--attach-outputs")) {
			o.attach_outputs = 1;
		} else if ((v = opt_value(argc, argv, &i, "--attach"))) {
			if (*v == '\0') {
				rc = cmd_usage_error(&cmd_submit_entry,
				    "--attach needs a directory");
				goto out;
			}
			o.attach[o.nattach++] = v;
		} else if ((v = opt_value(argc, argv, &i,
		    "--path-mapping-rules"))) {
			if (*v == '\0') {
				rc = cmd_usage_error(&cmd_submit_entry,
				    "--path-mapping-rules needs JSON or "
				    "file://FILE");
				goto out;
			}
			o.pathmap = v;
		} else if (!strcmp(argv[i], "--paused"))
			o.paused = 1;
		else if (!strcmp(argv[i], "--wait"))
			o.wait = 1;
		else if (!strcmp(argv[i], "--json"))
			o.json = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			rc = cmd_usage_error(&cmd_submit_entry,
			    "unknown option '%s'", argv[i]);
			goto out;
		} else if (path) {
			rc = cmd_usage_error(&cmd_submit_entry,
			    "one template or bundle at a time");
			goto out;
		} else
			path = argv[i];
	}
	if (path == NULL) {
		rc = cmd_usage_error(&cmd_submit_entry, "a template or job "
		    "bundle is required");
		goto out;
	}
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
		char *pvf;
		struct param_values merged = PARAM_VALUES_INIT;

		tmpl = find_in(path, "template");
		if (tmpl == NULL) {
			fprintf(stderr, "drover submit: '%s' has no "
			    "template.yaml or template.json\n", path);
			rc = EXIT_FAIL;
			goto out;
		}
		pvf = find_in(path, "parameter_values");
		if (pvf && bundle_values(pvf, &merged, &o) == -1) {
			free(pvf);
			param_values_release(&merged);
			rc = EXIT_FAIL;
			goto out;
		}
		free(pvf);
		for (size_t i = 0; i < pc.values.n; i++)
			param_values_set_at(&merged, pc.values.v[i].name,
			    pc.values.v[i].value, pc.values.v[i].file,
			    pc.values.v[i].line, pc.values.v[i].col);
		param_values_release(&pc.values);
		pc.values = merged;
		/* asset_references: nothing to transfer on one host */
	} else
		tmpl = xstrdup(path);

	jb = params_cli_create_job(&pc, tmpl, &el);
	if (jb == NULL) {
		error_list_sort(&el);
		error_list_print(&el, stderr);
		rc = EXIT_FAIL;
		goto out;
	}
	args = json_object();
	json_object_set_new(args, "job", job_to_json(jb));
	params = json_object();
	for (size_t i = 0; i < job_nparams(jb); i++)
		json_object_set_new(params, job_param_name(jb, i),
		    json_string(job_param_value(jb, i)));
	json_object_set_new(args, "params", params);
	{
		char *abs = realpath(path, NULL);

		json_object_set_new(args, "source", json_string(abs ? abs :
		    path));
		free(abs);
	}
	if (getcwd(cwd, sizeof(cwd)))
		json_object_set_new(args, "cwd", json_string(cwd));
	else
		strcpy(cwd, "/");
	{
		char *who = submitter();

		json_object_set_new(args, "submitter", json_string(who));
		free(who);
	}
	if (o.name)
		json_object_set_new(args, "name", json_string(o.name));
	if (o.priority >= 0)
		json_object_set_new(args, "priority", json_integer(o.priority));
	if (o.max_retries >= 0)
		json_object_set_new(args, "maxRetries",
		    json_integer(o.max_retries));
	if (o.max_failed > 0)
		json_object_set_new(args, "maxFailedTasks",
		    json_integer(o.max_failed));
	if (o.on_error)
		json_object_set_new(args, "onError", json_string(o.on_error));
	if (o.on_complete)
		json_object_set_new(args, "onComplete",
		    json_string(o.on_complete));
	if (o.paused)
		json_object_set_new(args, "paused", json_true());
	if (json_array_size(o.after))
		json_object_set_new(args, "after", json_incref(o.after));
	if ((att = attachments(&o, jb, cwd)) == NULL) {
		json_decref(args);
		rc = EXIT_FAIL;
		goto out;
	}
	if (json_object_size(att))
		json_object_set_new(args, "attachments", att);
	else
		json_decref(att);

	if ((k = client_open(&c, 1, &err)) != 0) {
		fprintf(stderr, "drover submit: %s\n", err);
		json_decref(args);
		rc = EXIT_SYSTEM;
		goto out;
	}
	r = client_call(&c, "submit", args, &err, &code);
	if (r == NULL) {
		fprintf(stderr, "drover submit: %s\n", err);
		rc = client_exit_code(code);
		goto out;
	}
	id = json_integer_value(json_object_get(r, "jobId"));
	if (o.json && !o.wait)
		client_print_json(stdout, json_object_get(r, "job"));
	else if (!o.json)
		printf("%" PRId64 "\n", id);
	fflush(stdout);
	json_decref(r);
	if (o.wait)
		rc = client_wait(&c, &id, 1, o.json, 0);
out:
	client_close(&c);
	free(err);
	free(tmpl);
	job_free(jb);
	error_list_release(&el);
	params_cli_release(&pc);
	json_decref(o.after);
	free(o.attach);
	return rc;
}

const struct cmd_entry cmd_submit_entry = {
	"submit",
	"queue a job",
	"drover submit TEMPLATE|BUNDLE_DIR [-p KEY=VALUE ...] [--environment "
	"FILE ...] [--name NAME] [--priority N] [--on-error POLICY] "
	"[--max-retries N] [--after JOB[,JOB...]] [--on-complete CMD] "
	"[--paused] [--attach DIR ...] [--attach-outputs] "
	"[--path-mapping-rules JSON|file://FILE] [--wait] [--json]",
	"DESCRIPTION\n"
	"    Validates the job template, creates the job from it with the given\n"
	"    parameter values and environment templates, and queues it with the\n"
	"    daemon (started if needed).  Prints the new job's id.  Nothing is\n"
	"    queued when the template or a value is invalid.\n"
	"\n"
	"    A directory is read as a job bundle (as AWS Deadline Cloud lays\n"
	"    them out): template.yaml|json, parameter_values.yaml|json\n"
	"    ({\"parameterValues\": [{\"name\", \"value\"}]}: deadline:priority,\n"
	"    deadline:maxRetriesPerTask, deadline:maxFailedTasksCount and\n"
	"    deadline:targetTaskRunStatus (READY or SUSPENDED) set the queue\n"
	"    options, other values are job parameters that -p overrides), and\n"
	"    asset_references.yaml|json (accepted; nothing to transfer locally).\n"
	"\n"
	"OPTIONS\n"
	"    -p, --parameter KEY=VALUE | file://PATH | JSON\n"
	"        A job parameter value (repeatable; later values win).\n"
	"    --environment FILE\n"
	"        An environment template whose environment wraps the job\n"
	"        (repeatable, entered in the order given).\n"
	"    --name NAME\n"
	"        Name shown in listings (default: the job's resolved name).\n"
	"    --priority N\n"
	"        Higher runs first; equal priorities run in submission order\n"
	"        (default jobs.priority, 50).\n"
	"    --on-error continue|quit|terminate\n"
	"        When a task fails for good: continue with every task that does\n"
	"        not depend on it; quit (default) = start nothing new for the\n"
	"        job and let running tasks finish; terminate = also cancel the\n"
	"        running ones with their cancelation methods.\n"
	"    --max-retries N\n"
	"        Times a failed task is retried (default jobs.max_retries, 0).\n"
	"    --after JOB[,JOB...]\n"
	"        Start only once these jobs succeeded; if one of them fails or\n"
	"        is canceled, this job fails with reason DEPENDENCY_FAILED.\n"
	"    --on-complete CMD\n"
	"        Shell command run when the job ends, with DROVER_JOB_ID,\n"
	"        DROVER_JOB_NAME, DROVER_JOB_STATE and DROVER_JOB_REASON set\n"
	"        (default jobs.on_complete).\n"
	"    --paused\n"
	"        Queue the job suspended; 'drover resume' starts it.\n"
	"    --attach DIR\n"
	"        Job attachments (repeatable): DIR is snapshotted and uploaded\n"
	"        into the attachment store (config attach.store, default\n"
	"        $DROVER_HOME/cas) now; each session gets its own copy and path\n"
	"        mapping rules from DIR to it, so PATH parameters pointing into\n"
	"        DIR read the copy.  After each task the files written into the\n"
	"        job's OUT/INOUT directory parameters are stored as the attempt's\n"
	"        output manifests ('drover download' fetches them); a task whose\n"
	"        step refers to OUT directories and writes into none of them\n"
	"        fails (UNMATCHED_OUTPUTS).  See docs/attachments.md.\n"
	"    --attach-outputs\n"
	"        Capture outputs as --attach does, without attaching inputs.\n"
	"    --path-mapping-rules JSON | file://FILE\n"
	"        Path mapping rules for the job's sessions ({\"version\":\n"
	"        \"pathmapping-1.0\", \"path_mapping_rules\": [...]}); the rules\n"
	"        --attach generates come first.\n"
	"    --wait\n"
	"        Then wait for the job like 'drover wait'.\n"
	"    --json\n"
	"        Print the queued job as JSON.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 queued (with --wait: and succeeded), 1 invalid template or value,\n"
	"    unknown --after job (with --wait: the job did not succeed),\n"
	"    2 usage error, 3 the daemon could not be reached.\n",
	.exec = cmd_submit_exec,
};
