/*
 * Job attachment records in the store: a job's input manifests and
 * settings (written with the job at submit time) and the output manifests
 * of its task attempts (written by session workers).  See store/attach.h.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "common/xmalloc.h"
#include "session/pathmap.h"
#include "store/attach.h"
#include "store/store.h"

/* 32 lowercase hex digits (a cas manifest hash: safe as a file name). */
static int
hash_ok(const char *h)
{
	size_t i;

	for (i = 0; h[i]; i++)
		if (!((h[i] >= '0' && h[i] <= '9') ||
		    (h[i] >= 'a' && h[i] <= 'f')))
			return 0;
	return i == 32;
}

static int
count_ok(const json_t *v)
{
	return v == NULL || (json_is_integer(v) && json_integer_value(v) >= 0);
}

int
queue_attach_check(const json_t *spec, char **err)
{
	const json_t *store, *inputs, *rules, *cap, *in;
	struct pathmap pm = PATHMAP_INIT;
	size_t i, k;

	if (!json_is_object(spec)) {
		*err = xstrdup("attachments: expected an object");
		return -1;
	}
	store = json_object_get(spec, "store");
	inputs = json_object_get(spec, "inputs");
	rules = json_object_get(spec, "pathMappingRules");
	cap = json_object_get(spec, "captureOutputs");
	if (store && (!json_is_string(store) ||
	    json_string_value(store)[0] != '/')) {
		*err = xstrdup("attachments.store: expected an absolute path");
		return -1;
	}
	if (cap && !json_is_boolean(cap)) {
		*err = xstrdup("attachments.captureOutputs: expected a boolean");
		return -1;
	}
	if (inputs && !json_is_array(inputs)) {
		*err = xstrdup("attachments.inputs: expected a list");
		return -1;
	}
	if (store == NULL && (json_array_size(inputs) || json_is_true(cap))) {
		*err = xstrdup("attachments: inputs and outputs need a store");
		return -1;
	}
	json_array_foreach(inputs, i, in) {
		const char *root = json_string_value(json_object_get(in,
		    "root"));
		const char *man = json_string_value(json_object_get(in,
		    "manifest"));

		if (root == NULL || root[0] != '/') {
			*err = xasprintf("attachments.inputs[%zu].root: expected "
			    "an absolute path", i);
			return -1;
		}
		if (man == NULL || !hash_ok(man)) {
			*err = xasprintf("attachments.inputs[%zu].manifest: "
			    "expected a manifest hash", i);
			return -1;
		}
		if (!count_ok(json_object_get(in, "files")) ||
		    !count_ok(json_object_get(in, "bytes"))) {
			*err = xasprintf("attachments.inputs[%zu]: files and "
			    "bytes must be counts", i);
			return -1;
		}
		for (k = 0; k < i; k++)
			if (strcmp(root, json_string_value(json_object_get(
			    json_array_get(inputs, k), "root"))) == 0) {
				*err = xasprintf("attachments.inputs[%zu].root: "
				    "'%s' is attached twice", i, root);
				return -1;
			}
	}
	if (rules) {
		char *why = NULL;

		if (pathmap_from_json(&pm, rules, &why) == -1) {
			*err = xasprintf("attachments.pathMappingRules: %s",
			    why);
			free(why);
			return -1;
		}
		pathmap_release(&pm);
	}
	return 0;
}

int
queue_attach_set(struct store *st, int64_t job, const json_t *spec,
    char **err)
{
	const json_t *inputs = json_object_get(spec, "inputs"), *rules, *in;
	sqlite3_stmt *s;
	char *text = NULL;
	size_t i;

	if (queue_attach_check(spec, err) == -1)
		return -1;
	if (store_begin(st) == -1)
		goto fail;
	s = store_stmt(st, "INSERT INTO job_attach(job_id, store, "
	    "capture_outputs, path_mapping) VALUES (?, ?, ?, ?)");
	if (s == NULL)
		goto fail;
	rules = json_object_get(spec, "pathMappingRules");
	if (rules)
		text = json_dumps(rules, JSON_COMPACT);
	sqlite3_bind_int64(s, 1, job);
	sqlite3_bind_text(s, 2, json_string_value(json_object_get(spec,
	    "store")), -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(s, 3, json_is_true(json_object_get(spec,
	    "captureOutputs")));
	sqlite3_bind_text(s, 4, text, -1, SQLITE_TRANSIENT);
	free(text);
	if (store_step_done(st, s) == -1)
		goto fail;
	json_array_foreach(inputs, i, in) {
		s = store_stmt(st, "INSERT INTO job_inputs(job_id, idx, root, "
		    "manifest, files, bytes) VALUES (?, ?, ?, ?, ?, ?)");
		if (s == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, job);
		sqlite3_bind_int64(s, 2, (int64_t)i);
		sqlite3_bind_text(s, 3, json_string_value(json_object_get(in,
		    "root")), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(s, 4, json_string_value(json_object_get(in,
		    "manifest")), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(s, 5, json_integer_value(json_object_get(in,
		    "files")));
		sqlite3_bind_int64(s, 6, json_integer_value(json_object_get(in,
		    "bytes")));
		if (store_step_done(st, s) == -1)
			goto fail;
	}
	if (store_commit(st) == -1) {
		*err = xasprintf("cannot record the attachments: %s",
		    store_errmsg(st));
		return -1;
	}
	return 0;
fail:
	*err = xasprintf("cannot record the attachments: %s",
	    store_errmsg(st));
	store_rollback(st);
	return -1;
}

int
queue_attach_get(struct store *st, int64_t job, struct queue_attach *qa)
{
	sqlite3_stmt *s;
	int found = 0;

	memset(qa, 0, sizeof(*qa));
	s = store_stmt(st, "SELECT store, capture_outputs, path_mapping FROM "
	    "job_attach WHERE job_id = ?");
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, job);
	if (store_step(st, s) == SQLITE_ROW) {
		found = 1;
		if (sqlite3_column_type(s, 0) != SQLITE_NULL)
			qa->store = xstrdup(store_col_text(s, 0));
		qa->capture_outputs = sqlite3_column_int(s, 1);
		if (sqlite3_column_type(s, 2) != SQLITE_NULL)
			qa->path_mapping = xstrdup(store_col_text(s, 2));
	}
	sqlite3_reset(s);
	if (!found)
		return 0;
	s = store_stmt(st, "SELECT root, manifest, files, bytes FROM "
	    "job_inputs WHERE job_id = ? ORDER BY idx");
	if (s == NULL) {
		queue_attach_release(qa);
		return -1;
	}
	sqlite3_bind_int64(s, 1, job);
	while (store_step(st, s) == SQLITE_ROW) {
		struct queue_attach_input *in;

		qa->inputs = xrealloc(qa->inputs, (qa->ninputs + 1) *
		    sizeof(*qa->inputs));
		in = &qa->inputs[qa->ninputs++];
		in->root = xstrdup(store_col_text(s, 0));
		in->manifest = xstrdup(store_col_text(s, 1));
		in->files = sqlite3_column_int64(s, 2);
		in->bytes = sqlite3_column_int64(s, 3);
	}
	sqlite3_reset(s);
	return 1;
}

void
queue_attach_release(struct queue_attach *qa)
{
	for (size_t i = 0; i < qa->ninputs; i++) {
		free(qa->inputs[i].root);
		free(qa->inputs[i].manifest);
	}
	free(qa->inputs);
	free(qa->store);
	free(qa->path_mapping);
	memset(qa, 0, sizeof(*qa));
}

int
queue_attach_outputs_add(struct store *st, int64_t job, int64_t attempt,
    const struct queue_output *o, size_t n)
{
	sqlite3_stmt *s;
	int64_t now = store_now_ms();

	if (n == 0)
		return 0;
	if (store_begin(st) == -1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		s = store_stmt(st, "INSERT OR REPLACE INTO attempt_outputs("
		    "attempt_id, job_id, param, root, manifest, files, bytes, "
		    "captured_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
		if (s == NULL)
			goto fail;
		sqlite3_bind_int64(s, 1, attempt);
		sqlite3_bind_int64(s, 2, job);
		sqlite3_bind_text(s, 3, o[i].param, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 4, o[i].root, -1, SQLITE_STATIC);
		sqlite3_bind_text(s, 5, o[i].manifest, -1, SQLITE_STATIC);
		sqlite3_bind_int64(s, 6, o[i].files);
		sqlite3_bind_int64(s, 7, o[i].bytes);
		sqlite3_bind_int64(s, 8, now);
		if (store_step_done(st, s) == -1)
			goto fail;
	}
	return store_commit(st);
fail:
	store_rollback(st);
	return -1;
}

json_t *
queue_attach_json(struct store *st, int64_t job)
{
	struct queue_attach qa;
	sqlite3_stmt *s;
	json_t *o, *ins, *outs, *rules;

	if (queue_attach_get(st, job, &qa) != 1)
		return NULL;
	o = json_object();
	json_object_set_new(o, "store", qa.store ? json_string(qa.store) :
	    json_null());
	json_object_set_new(o, "captureOutputs",
	    json_boolean(qa.capture_outputs));
	ins = json_array();
	for (size_t i = 0; i < qa.ninputs; i++)
		json_array_append_new(ins, json_pack("{s:s, s:s, s:I, s:I}",
		    "root", qa.inputs[i].root, "manifest",
		    qa.inputs[i].manifest, "files",
		    (json_int_t)qa.inputs[i].files, "bytes",
		    (json_int_t)qa.inputs[i].bytes));
	json_object_set_new(o, "inputs", ins);
	if (qa.path_mapping && (rules = json_loads(qa.path_mapping, 0,
	    NULL)) != NULL)
		json_object_set_new(o, "pathMappingRules", rules);
	queue_attach_release(&qa);
	outs = json_array();
	s = store_stmt(st, "SELECT a.step, s.name, a.task, a.attempt, "
	    "a.state, o.param, o.root, o.manifest, o.files, o.bytes, "
	    "o.captured_at FROM attempt_outputs o JOIN attempts a ON "
	    "a.id = o.attempt_id JOIN steps s ON s.job_id = a.job_id AND "
	    "s.idx = a.step WHERE o.job_id = ? ORDER BY o.captured_at, "
	    "o.attempt_id, o.param");
	if (s != NULL) {
		sqlite3_bind_int64(s, 1, job);
		while (store_step(st, s) == SQLITE_ROW)
			json_array_append_new(outs, json_pack("{s:i, s:s, s:I, "
			    "s:i, s:s, s:s, s:s, s:s, s:I, s:I, s:I}",
			    "step", sqlite3_column_int(s, 0),
			    "stepName", store_col_text(s, 1),
			    "task", (json_int_t)sqlite3_column_int64(s, 2),
			    "attempt", sqlite3_column_int(s, 3),
			    "state", store_col_text(s, 4),
			    "param", store_col_text(s, 5),
			    "root", store_col_text(s, 6),
			    "manifest", store_col_text(s, 7),
			    "files", (json_int_t)sqlite3_column_int64(s, 8),
			    "bytes", (json_int_t)sqlite3_column_int64(s, 9),
			    "capturedAt",
			    (json_int_t)sqlite3_column_int64(s, 10)));
		sqlite3_reset(s);
	}
	json_object_set_new(o, "outputManifests", outs);
	return o;
}
