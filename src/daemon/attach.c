/*
 * Job attachments in a session worker: planning the session's copies of
 * the inputs and its output directories, generating the path mapping
 * rules, and capturing outputs after each task (daemon/attach.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "daemon/attach.h"
#include "model/format.h"
#include "model/job.h"
#include "store/attach.h"
#include "store/store.h"

static const struct attach_cas_ops *cas_ops;

void
attach_set_cas_ops(const struct attach_cas_ops *ops)
{
	cas_ops = ops;
}

/* ---- planning ---- */

static int
ident_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_';
}

/* Does text name Param.<name> or RawParam.<name> (not Task.Param.<name>)? */
static int
text_refers(const char *text, const char *name)
{
	char *needle = xasprintf("Param.%s", name);
	size_t nlen = strlen(needle);
	const char *p = text;
	int found = 0;

	while (!found && (p = strstr(p, needle)) != NULL) {
		const char *before = p;
		int ok = !ident_char(p[nlen]) && p[nlen] != '.';

		if (ok && before - text >= 3 && strncmp(before - 3, "Raw",
		    3) == 0)
			before -= 3;
		if (ok && before > text && (ident_char(before[-1]) ||
		    before[-1] == '.'))
			ok = 0;
		found = ok;
		p += nlen;
	}
	free(needle);
	return found;
}

static int
string_refers(const char *s, const char *name)
{
	struct fmt f;
	size_t off;
	char *msg = NULL;
	int found = 0;

	if (!fmt_has_refs(s))
		return 0;
	if (fmt_parse(&f, s, &off, &msg) == -1) {
		/* not a valid format string: look at the whole text */
		free(msg);
		fmt_release(&f);
		return text_refers(s, name);
	}
	for (size_t i = 0; i < f.n && !found; i++)
		found = text_refers(f.refs[i].name, name);
	fmt_release(&f);
	return found;
}

static int
json_refers(const json_t *v, const char *name)
{
	const char *key;
	const json_t *item;
	size_t i;

	switch (json_typeof(v)) {
	case JSON_STRING:
		return string_refers(json_string_value(v), name);
	case JSON_ARRAY:
		json_array_foreach(v, i, item)
			if (json_refers(item, name))
				return 1;
		return 0;
	case JSON_OBJECT:
		json_object_foreach((json_t *)v, key, item)
			if (json_refers(item, name))
				return 1;
		return 0;
	default:
		return 0;
	}
}

int
attach_step_refers(const struct job *jb, size_t step, const char *param)
{
	const json_t *envs = job_step_environments(jb, step);

	if (json_refers(job_step_script(jb, step), param))
		return 1;
	return envs != NULL && json_refers(envs, param);
}

/* Last component of an absolute path ("root" for "/"). */
static char *
path_base(const char *path)
{
	const char *end = path + strlen(path), *start;

	while (end > path && end[-1] == '/')
		end--;
	start = end;
	while (start > path && start[-1] != '/')
		start--;
	if (start == end)
		return xstrdup("root");
	return xstrndup(start, (size_t)(end - start));
}

static int
inside(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return strncmp(path, dir, n) == 0 && (path[n] == '\0' ||
	    path[n] == '/');
}

static json_t *
rule_json(const char *src, const char *dst)
{
	return json_pack("{s:s, s:s, s:s}", "source_path_format", "POSIX",
	    "source_path", src, "destination_path", dst);
}

/* pm = generated rules, then given (both in order); sorted by pathmap. */
static int
rules_merge(struct pathmap *pm, const json_t *gen, const struct pathmap *given,
    char **err)
{
	json_t *doc, *rules = json_deep_copy(gen);
	json_t *g = pathmap_to_json(given);
	int rc;

	json_array_extend(rules, json_object_get(g, "path_mapping_rules"));
	json_decref(g);
	doc = json_pack("{s:s, s:o}", "version", "pathmapping-1.0",
	    "path_mapping_rules", rules);
	rc = pathmap_from_json(pm, doc, err);
	json_decref(doc);
	return rc;
}

static int
cmp_len(const void *a, const void *b)
{
	const struct attach_out *x = a, *y = b;
	size_t lx = strlen(x->root), ly = strlen(y->root);

	if (lx != ly)
		return lx < ly ? -1 : 1;
	return strcmp(x->param, y->param);
}

int
attach_plan_make(struct attach_plan *pl, const struct job *jb, size_t step,
    const struct queue_attach *qa, const char *dir, struct pathmap *pm,
    char **err)
{
	struct pathmap given = PATHMAP_INIT, cur = PATHMAP_INIT;
	json_t *gen = json_array();
	size_t i, nout = 0;

	*err = NULL;
	memset(pl, 0, sizeof(*pl));
	pathmap_copy(&given, pm);
	pl->nin = qa->ninputs;
	pl->in_local = xcalloc(qa->ninputs ? qa->ninputs : 1, sizeof(char *));
	for (i = 0; i < qa->ninputs; i++) {
		char *base = path_base(qa->inputs[i].root);

		pl->in_local[i] = xasprintf("%s/attach/in%zu/%s", dir, i, base);
		free(base);
		json_array_append_new(gen, rule_json(qa->inputs[i].root,
		    pl->in_local[i]));
	}
	if (qa->capture_outputs) {
		for (i = 0; i < job_nparams(jb); i++) {
			const char *flow = job_param_data_flow(jb, i);
			const char *type = job_param_object_type(jb, i);
			struct attach_out *o;

			if (job_param_type(jb, i) != PARAM_PATH || flow == NULL ||
			    (strcmp(flow, "OUT") && strcmp(flow, "INOUT")) ||
			    (type && strcmp(type, "DIRECTORY")))
				continue;
			pl->outs = xrealloc(pl->outs, (pl->nouts + 1) *
			    sizeof(*pl->outs));
			o = &pl->outs[pl->nouts++];
			memset(o, 0, sizeof(*o));
			o->param = xstrdup(job_param_name(jb, i));
			o->root = xstrdup(job_param_value(jb, i));
			o->out_only = strcmp(flow, "OUT") == 0;
			o->declared = attach_step_refers(jb, step, o->param);
		}
		/* outer directories first: an inner one may then fall
		 * inside the outer one's session directory */
		if (pl->nouts > 1)
			qsort(pl->outs, pl->nouts, sizeof(*pl->outs), cmp_len);
	}
	if (rules_merge(&cur, gen, &given, err) == -1)
		goto fail;
	for (i = 0; i < pl->nouts; i++) {
		char *local = pathmap_apply(&cur, pl->outs[i].root, NULL);
		char *base;

		if (inside(local, dir)) {
			free(local);
			continue;
		}
		free(local);
		base = path_base(pl->outs[i].root);
		local = xasprintf("%s/attach/out%zu/%s", dir, nout++, base);
		free(base);
		json_array_append_new(gen, rule_json(pl->outs[i].root, local));
		free(local);
		pathmap_release(&cur);
		if (rules_merge(&cur, gen, &given, err) == -1)
			goto fail;
	}
	for (i = 0; i < pl->nouts; i++)
		pl->outs[i].local = pathmap_apply(&cur, pl->outs[i].root, NULL);
	pathmap_release(pm);
	*pm = cur;
	pathmap_release(&given);
	json_decref(gen);
	return 0;
fail:
	pathmap_release(&cur);
	pathmap_release(&given);
	json_decref(gen);
	attach_plan_release(pl);
	return -1;
}

void
attach_plan_release(struct attach_plan *pl)
{
	for (size_t i = 0; i < pl->nin; i++)
		free(pl->in_local[i]);
	free(pl->in_local);
	for (size_t i = 0; i < pl->nouts; i++) {
		free(pl->outs[i].param);
		free(pl->outs[i].root);
		free(pl->outs[i].local);
		if (pl->outs[i].snap && cas_ops)
			cas_ops->snapshot_free(pl->outs[i].snap);
	}
	free(pl->outs);
	memset(pl, 0, sizeof(*pl));
}

char *
attach_unmatched(const struct attach_plan *pl, const int64_t *counts)
{
	struct buf b = BUF_INIT;
	size_t declared = 0;

	for (size_t i = 0; i < pl->nouts; i++) {
		if (!pl->outs[i].out_only || !pl->outs[i].declared)
			continue;
		if (counts[i] > 0) {
			buf_release(&b);
			return NULL;
		}
		buf_addf(&b, "%s%s ('%s')", declared++ ? ", " : "",
		    pl->outs[i].param, pl->outs[i].root);
	}
	if (declared == 0) {
		buf_release(&b);
		return NULL;
	}
	{
		char *msg = xasprintf("unmatched output patterns: the task "
		    "wrote no file into its output %s %s",
		    declared > 1 ? "directories" : "directory", b.s);

		buf_release(&b);
		return msg;
	}
}

/* ---- the worker ---- */

struct attach_worker {
	struct queue_attach	 qa;
	struct pathmap		 given;
	int			 has_given;
	const struct job	*jb;
	int64_t			 job;
	size_t			 step;
	struct attach_plan	 plan;
	attach_log_fn		*log;
	void			*log_arg;
};

static void
wlog(struct attach_worker *aw, int task, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
wlog(struct attach_worker *aw, int task, const char *fmt, ...)
{
	struct buf b = BUF_INIT;
	va_list ap;

	if (aw->log == NULL)
		return;
	va_start(ap, fmt);
	buf_vaddf(&b, fmt, ap);
	va_end(ap);
	aw->log(aw->log_arg, task, b.s);
	buf_release(&b);
}

int
attach_worker_new(struct attach_worker **out, struct store *st, int64_t job,
    const struct job *jb, size_t step, attach_log_fn *log, void *log_arg,
    char **err)
{
	struct attach_worker *aw;
	int rc;

	*out = NULL;
	aw = xcalloc(1, sizeof(*aw));
	rc = queue_attach_get(st, job, &aw->qa);
	if (rc <= 0) {
		free(aw);
		if (rc < 0)
			*err = xstrdup("cannot read the job's attachments");
		return rc;
	}
	if (aw->qa.path_mapping) {
		json_t *doc = json_loads(aw->qa.path_mapping, 0, NULL);
		char *why = NULL;

		if (doc == NULL || pathmap_from_json(&aw->given, doc,
		    &why) == -1) {
			*err = xasprintf("the job's path mapping rules: %s",
			    why ? why : "not JSON");
			free(why);
			json_decref(doc);
			attach_worker_free(aw);
			return -1;
		}
		json_decref(doc);
		aw->has_given = 1;
	}
	aw->jb = jb;
	aw->job = job;
	aw->step = step;
	aw->log = log;
	aw->log_arg = log_arg;
	*out = aw;
	return 0;
}

void
attach_worker_free(struct attach_worker *aw)
{
	if (aw == NULL)
		return;
	attach_plan_release(&aw->plan);
	queue_attach_release(&aw->qa);
	pathmap_release(&aw->given);
	free(aw);
}

const struct pathmap *
attach_worker_rules(const struct attach_worker *aw)
{
	return aw && aw->has_given ? &aw->given : NULL;
}

int
attach_worker_active(const struct attach_worker *aw)
{
	return aw != NULL && aw->qa.store != NULL;
}

/* mkdir -p (mode 0700 for what it creates). */
static int
mkdirs(const char *path, char **err)
{
	char *p = xstrdup(path);

	for (char *s = p + 1; ; s++) {
		if (*s != '/' && *s != '\0')
			continue;
		{
			char c = *s;

			*s = '\0';
			if (mkdir(p, 0700) == -1 && errno != EEXIST) {
				*err = xasprintf("cannot create '%s': %s", p,
				    strerror(errno));
				free(p);
				return -1;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return 0;
}

int
attach_worker_prepare(void *arg, const char *dir, struct pathmap *pm,
    char **err)
{
	struct attach_worker *aw = arg;
	struct attach_plan *pl = &aw->plan;
	size_t i;

	if (cas_ops == NULL) {
		*err = xstrdup("job attachments are not available in this "
		    "program");
		return -1;
	}
	if (attach_plan_make(pl, aw->jb, aw->step, &aw->qa, dir, pm,
	    err) == -1)
		return -1;
	for (i = 0; i < pl->nin; i++) {
		const struct queue_attach_input *in = &aw->qa.inputs[i];
		char *why = NULL;

		if (mkdirs(pl->in_local[i], err) == -1)
			return -1;
		if (cas_ops->download(aw->qa.store, in->manifest,
		    pl->in_local[i], &why) == -1) {
			*err = xasprintf("cannot materialise the input '%s' "
			    "(manifest %s): %s", in->root, in->manifest, why);
			free(why);
			return -1;
		}
		wlog(aw, 0, "drover: input '%s' (%" PRId64 " files, %" PRId64
		    " bytes) materialised at '%s'", in->root, in->files,
		    in->bytes, pl->in_local[i]);
	}
	for (i = 0; i < pl->nouts; i++) {
		struct attach_out *o = &pl->outs[i];

		if (mkdirs(o->local, err) == -1)
			return -1;
		o->snap = cas_ops->snapshot(o->local, err);
		if (o->snap == NULL)
			return -1;
		wlog(aw, 0, "drover: output %s '%s' is written at '%s'",
		    o->param, o->root, o->local);
	}
	return 0;
}

int
attach_worker_capture(struct attach_worker *aw, struct store *st,
    int64_t attempt, char **msg)
{
	struct attach_plan *pl = &aw->plan;
	struct queue_output *rec;
	char (*hashes)[33];
	int64_t *counts;
	size_t n = 0, i;
	int rc = 0;

	*msg = NULL;
	if (pl->nouts == 0 || cas_ops == NULL)
		return 0;
	rec = xcalloc(pl->nouts, sizeof(*rec));
	hashes = xcalloc(pl->nouts, sizeof(*hashes));
	counts = xcalloc(pl->nouts, sizeof(*counts));
	for (i = 0; i < pl->nouts; i++) {
		struct attach_out *o = &pl->outs[i];
		int64_t bytes = 0;
		char *why = NULL;

		if (cas_ops->capture(aw->qa.store, o->local, &o->snap,
		    hashes[i], &counts[i], &bytes, &why) == -1) {
			*msg = xasprintf("cannot store the outputs in '%s': %s",
			    o->local, why);
			free(why);
			rc = -1;
			goto out;
		}
		if (counts[i] == 0)
			continue;
		wlog(aw, 1, "drover: output %s: %" PRId64 " new or changed "
		    "files (%" PRId64 " bytes), manifest %s", o->param,
		    counts[i], bytes, hashes[i]);
		rec[n].param = o->param;
		rec[n].root = o->root;
		rec[n].manifest = hashes[i];
		rec[n].files = counts[i];
		rec[n].bytes = bytes;
		n++;
	}
	if ((*msg = attach_unmatched(pl, counts)) != NULL) {
		wlog(aw, 1, "drover: %s", *msg);
		rc = 1;
		goto out;
	}
	if (queue_attach_outputs_add(st, aw->job, attempt, rec, n) == -1) {
		*msg = xasprintf("cannot record the output manifests: %s",
		    store_errmsg(st));
		rc = -1;
	}
out:
	free(rec);
	free(hashes);
	free(counts);
	return rc;
}
