/*
 * Unit tests for job attachments in the queue: which steps declare an
 * output parameter, the session plan (input copies, output directories,
 * generated path mapping rules merged with given ones), the
 * unmatched-outputs rule, changed-file manifests, merging output
 * manifests (later wins), download destinations, and the store records.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "cas/attach-queue.h"
#include "common/xmalloc.h"
#include "daemon/attach.h"
#include "model/job.h"
#include "model/template.h"
#include "store/attach.h"
#include "store/queue.h"
#include "store/store.h"

#include "store-fixture.h"

/* ---- helpers ---------------------------------------------------------- */

static struct job *
make_job(const char *yaml, const char *const *kv)
{
	struct error_list el = ERROR_LIST_INIT;
	struct param_values pv = PARAM_VALUES_INIT;
	struct template t;
	struct job *jb;

	if (template_load_mem(&t, "/tpl/job.yaml", yaml, strlen(yaml),
	    &el) != 0) {
		error_list_print(&el, stderr);
		fail();
	}
	for (; kv && *kv; kv += 2)
		param_values_set(&pv, kv[0], kv[1]);
	jb = job_create(&t, NULL, 0, &pv, "/work", &el);
	if (jb == NULL)
		error_list_print(&el, stderr);
	assert_non_null(jb);
	param_values_release(&pv);
	template_release(&t);
	error_list_release(&el);
	return jb;
}

static const char refs_yaml[] =
    "specificationVersion: jobtemplate-2023-09\n"
    "name: refs\n"
    "parameterDefinitions:\n"
    "  - {name: Out, type: PATH, objectType: DIRECTORY, dataFlow: OUT}\n"
    "  - {name: OutX, type: PATH, objectType: DIRECTORY, dataFlow: OUT}\n"
    "steps:\n"
    "  - name: A\n"
    "    script:\n"
    "      actions:\n"
    "        onRun: {command: echo, args: ['{{ Param.Out }}/x']}\n"
    "  - name: B\n"
    "    script:\n"
    "      actions:\n"
    "        onRun: {command: sh, args: ['{{Task.File.F}}']}\n"
    "      embeddedFiles:\n"
    "        - {name: F, type: TEXT, data: 'ls {{RawParam.Out}}'}\n"
    "  - name: C\n"
    "    parameterSpace:\n"
    "      taskParameterDefinitions:\n"
    "        - {name: Out, type: STRING, range: [a]}\n"
    "    script:\n"
    "      actions:\n"
    "        onRun: {command: echo, args: ['{{Task.Param.Out}} Param.Out']}\n"
    "  - name: D\n"
    "    script:\n"
    "      actions:\n"
    "        onRun: {command: echo, args: ['{{Param.OutX}}']}\n"
    "  - name: E\n"
    "    stepEnvironments:\n"
    "      - name: Env\n"
    "        variables: {DEST: '{{Param.Out}}'}\n"
    "    script:\n"
    "      actions:\n"
    "        onRun: {command: echo}\n";

static void
test_step_refers(void **state)
{
	static const char *const kv[] = { "Out", "/o", "OutX", "/ox", NULL };
	struct job *jb = make_job(refs_yaml, kv);

	(void)state;
	assert_int_equal(attach_step_refers(jb, 0, "Out"), 1);
	assert_int_equal(attach_step_refers(jb, 0, "OutX"), 0);
	/* RawParam in an embedded file */
	assert_int_equal(attach_step_refers(jb, 1, "Out"), 1);
	/* Task.Param.Out and literal text are not the job parameter */
	assert_int_equal(attach_step_refers(jb, 2, "Out"), 0);
	/* Param.OutX is not Param.Out */
	assert_int_equal(attach_step_refers(jb, 3, "Out"), 0);
	assert_int_equal(attach_step_refers(jb, 3, "OutX"), 1);
	/* step environments count */
	assert_int_equal(attach_step_refers(jb, 4, "Out"), 1);
	job_free(jb);
}

static const char plan_yaml[] =
    "specificationVersion: jobtemplate-2023-09\n"
    "name: plan\n"
    "parameterDefinitions:\n"
    "  - {name: Out, type: PATH, objectType: DIRECTORY, dataFlow: OUT}\n"
    "  - {name: Img, type: PATH, dataFlow: OUT}\n"
    "  - {name: Inner, type: PATH, objectType: DIRECTORY, dataFlow: OUT}\n"
    "  - {name: Both, type: PATH, objectType: DIRECTORY, dataFlow: INOUT}\n"
    "  - {name: F, type: PATH, objectType: FILE, dataFlow: OUT}\n"
    "  - {name: In, type: PATH, objectType: FILE, dataFlow: IN}\n"
    "  - {name: Plain, type: PATH}\n"
    "steps:\n"
    "  - name: S\n"
    "    script:\n"
    "      actions:\n"
    "        onRun:\n"
    "          command: echo\n"
    "          args: ['{{Param.Out}}', '{{Param.Img}}', '{{Param.F}}',\n"
    "                 '{{Param.In}}', '{{Param.Plain}}']\n";

static const char *const plan_kv[] = {
	"Out", "/proj/in/results", "Img", "/data/img", "Inner",
	"/data/img/sub", "Both", "/other/x", "F", "/data/f", "In",
	"/proj/in/a.txt", "Plain", "/proj/lib/p", NULL
};

static void
given_rules(struct pathmap *pm)
{
	json_t *doc = json_pack("{s:s, s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}",
	    "version", "pathmapping-1.0", "path_mapping_rules",
	    "source_path_format", "POSIX", "source_path", "/data",
	    "destination_path", "/mnt/data",
	    "source_path_format", "POSIX", "source_path", "/proj/in",
	    "destination_path", "/elsewhere");
	char *err = NULL;

	assert_int_equal(pathmap_from_json(pm, doc, &err), 0);
	json_decref(doc);
}

static const struct attach_out *
out_named(const struct attach_plan *pl, const char *name)
{
	for (size_t i = 0; i < pl->nouts; i++)
		if (strcmp(pl->outs[i].param, name) == 0)
			return &pl->outs[i];
	return NULL;
}

static void
assert_maps(const struct pathmap *pm, const char *from, const char *to)
{
	char *got = pathmap_apply(pm, from, NULL);

	assert_string_equal(got, to);
	free(got);
}

static void
test_plan(void **state)
{
	struct queue_attach_input ins[2] = {
		{ "/proj/in", "00000000000000000000000000000000", 1, 1 },
		{ "/proj/lib", "11111111111111111111111111111111", 1, 1 },
	};
	struct queue_attach qa = { "/store", 1, NULL, ins, 2 };
	struct attach_plan pl;
	struct pathmap pm = PATHMAP_INIT;
	const struct attach_out *o;
	struct job *jb = make_job(plan_yaml, plan_kv);
	char *err = NULL;

	(void)state;
	given_rules(&pm);
	assert_int_equal(attach_plan_make(&pl, jb, 0, &qa, "/s/d", &pm, &err),
	    0);
	assert_null(err);
	assert_int_equal(pl.nin, 2);
	assert_string_equal(pl.in_local[0], "/s/d/attach/in0/in");
	assert_string_equal(pl.in_local[1], "/s/d/attach/in1/lib");
	/* Out, Img, Inner, Both: FILE, IN and plain PATH are not outputs */
	assert_int_equal(pl.nouts, 4);
	assert_null(out_named(&pl, "F"));
	/* inside an input: its session copy */
	o = out_named(&pl, "Out");
	assert_string_equal(o->local, "/s/d/attach/in0/in/results");
	assert_string_equal(o->root, "/proj/in/results");
	assert_true(o->out_only);
	assert_true(o->declared);
	/* a given rule maps it out of the session: it gets its own dir */
	o = out_named(&pl, "Img");
	assert_string_equal(o->local, "/s/d/attach/out1/img");
	assert_true(o->declared);
	/* nested in another output: inside that one's directory */
	o = out_named(&pl, "Inner");
	assert_string_equal(o->local, "/s/d/attach/out1/img/sub");
	assert_false(o->declared);
	o = out_named(&pl, "Both");
	assert_string_equal(o->local, "/s/d/attach/out0/x");
	assert_false(o->out_only);
	/* merged rules: generated first (win a tie), given ones kept */
	assert_int_equal(pm.n, 6);
	assert_maps(&pm, "/proj/in/a.txt", "/s/d/attach/in0/in/a.txt");
	assert_maps(&pm, "/proj/lib/p", "/s/d/attach/in1/lib/p");
	assert_maps(&pm, "/data/other", "/mnt/data/other");
	assert_maps(&pm, "/data/img/f.png", "/s/d/attach/out1/img/f.png");
	assert_maps(&pm, "/unrelated", "/unrelated");
	attach_plan_release(&pl);
	pathmap_release(&pm);

	/* outputs not captured: inputs only */
	qa.capture_outputs = 0;
	assert_int_equal(attach_plan_make(&pl, jb, 0, &qa, "/s/d", &pm, &err),
	    0);
	assert_int_equal(pl.nouts, 0);
	assert_int_equal(pm.n, 2);
	attach_plan_release(&pl);
	pathmap_release(&pm);

	/* no inputs, no given rules: one rule per top output */
	qa.capture_outputs = 1;
	qa.ninputs = 0;
	assert_int_equal(attach_plan_make(&pl, jb, 0, &qa, "/s/d", &pm, &err),
	    0);
	assert_int_equal(pl.nin, 0);
	assert_int_equal(pm.n, 3);	/* /other/x, /data/img, /proj/in/results */
	assert_string_equal(out_named(&pl, "Out")->local,
	    "/s/d/attach/out2/results");
	attach_plan_release(&pl);
	pathmap_release(&pm);
	job_free(jb);
}

static void
test_unmatched(void **state)
{
	struct queue_attach qa = { "/store", 1, NULL, NULL, 0 };
	struct attach_plan pl;
	struct pathmap pm = PATHMAP_INIT;
	struct job *jb = make_job(plan_yaml, plan_kv);
	int64_t counts[4] = { 0, 0, 0, 0 };
	char *err = NULL, *msg;
	size_t i;

	(void)state;
	assert_int_equal(attach_plan_make(&pl, jb, 0, &qa, "/s/d", &pm, &err),
	    0);
	msg = attach_unmatched(&pl, counts);
	assert_non_null(msg);
	assert_non_null(strstr(msg, "unmatched output patterns"));
	assert_non_null(strstr(msg, "Out ('/proj/in/results')"));
	assert_non_null(strstr(msg, "Img ('/data/img')"));
	/* not declared by the step, or INOUT: not required */
	assert_null(strstr(msg, "Inner"));
	assert_null(strstr(msg, "Both"));
	free(msg);
	/* a file in an undeclared or INOUT directory does not count */
	for (i = 0; i < pl.nouts; i++)
		if (!strcmp(pl.outs[i].param, "Inner") ||
		    !strcmp(pl.outs[i].param, "Both"))
			counts[i] = 5;
	msg = attach_unmatched(&pl, counts);
	assert_non_null(msg);
	free(msg);
	/* one declared OUT directory with a file is enough */
	for (i = 0; i < pl.nouts; i++)
		if (!strcmp(pl.outs[i].param, "Img"))
			counts[i] = 1;
	assert_null(attach_unmatched(&pl, counts));
	attach_plan_release(&pl);
	pathmap_release(&pm);
	job_free(jb);

	/* a step that refers to no OUT directory never fails this way */
	{
		static const char *const kv[] = { "Out", "/o", "OutX", "/ox",
		    NULL };
		int64_t zero[2] = { 0, 0 };

		jb = make_job(refs_yaml, kv);
		assert_int_equal(attach_plan_make(&pl, jb, 2, &qa, "/s/d", &pm,
		    &err), 0);
		assert_int_equal(pl.nouts, 2);
		assert_null(attach_unmatched(&pl, zero));
		attach_plan_release(&pl);
		pathmap_release(&pm);
		job_free(jb);
	}
}

/* ---- manifests -------------------------------------------------------- */

static void
add(struct cas_manifest *m, const char *path, char c, int64_t mtime,
    uint64_t size)
{
	struct cas_file *f = cas_manifest_add(m, path);

	memset(f->hash, c, CAS_HASH_HEXLEN);
	f->hash[CAS_HASH_HEXLEN] = '\0';
	f->mtime_us = mtime;
	f->size = size;
}

static const struct cas_file *
find(const struct cas_manifest *m, const char *path)
{
	return cas_manifest_find(m, path);
}

static void
test_changed(void **state)
{
	struct cas_manifest a = CAS_MANIFEST_INIT, b = CAS_MANIFEST_INIT;
	struct cas_manifest out = CAS_MANIFEST_INIT;

	(void)state;
	add(&a, "same", '1', 10, 1);
	add(&a, "touched", '2', 10, 1);
	add(&a, "modified", '3', 10, 1);
	add(&a, "deleted", '4', 10, 1);
	add(&b, "same", '1', 10, 1);
	add(&b, "touched", '2', 20, 1);
	add(&b, "modified", '5', 10, 2);
	add(&b, "new/file", '6', 30, 3);
	cas_manifest_sort(&a);
	cas_manifest_sort(&b);
	cas_attach_changed(&a, &b, &out);
	assert_int_equal(out.n, 3);
	assert_non_null(find(&out, "touched"));
	assert_int_equal(find(&out, "touched")->mtime_us, 20);
	assert_int_equal(find(&out, "modified")->hash[0], '5');
	assert_non_null(find(&out, "new/file"));
	assert_null(find(&out, "same"));
	assert_null(find(&out, "deleted"));
	cas_manifest_release(&a);
	cas_manifest_release(&b);
	cas_manifest_release(&out);
}

static void
test_merge(void **state)
{
	struct cas_manifest ms[3] = { CAS_MANIFEST_INIT, CAS_MANIFEST_INIT,
	    CAS_MANIFEST_INIT };
	struct cas_manifest out = CAS_MANIFEST_INIT;
	struct buf b = BUF_INIT;
	struct error_list el = ERROR_LIST_INIT;
	struct cas_manifest back = CAS_MANIFEST_INIT;

	(void)state;
	add(&ms[0], "a.txt", '0', 1, 1);
	add(&ms[0], "d/x", '1', 1, 1);
	add(&ms[0], "keep", '2', 1, 1);
	add(&ms[0], "e/f", '7', 1, 1);
	add(&ms[1], "a.txt", '3', 2, 2);
	add(&ms[1], "d", '4', 2, 1);		/* a file where d/ was */
	add(&ms[1], "e/f/g", '8', 2, 1);	/* a dir where e/f was */
	add(&ms[2], "d/y", '5', 3, 1);		/* and a dir again */
	for (int i = 0; i < 3; i++)
		cas_manifest_sort(&ms[i]);
	cas_attach_merge(&out, ms, 3);
	assert_int_equal(out.n, 4);
	assert_int_equal(find(&out, "a.txt")->hash[0], '3');	/* later wins */
	assert_int_equal(find(&out, "keep")->hash[0], '2');
	assert_non_null(find(&out, "d/y"));
	assert_null(find(&out, "d"));
	assert_null(find(&out, "d/x"));
	assert_non_null(find(&out, "e/f/g"));
	assert_null(find(&out, "e/f"));
	/* the result is a valid manifest */
	cas_manifest_encode(&out, &b);
	assert_int_equal(cas_manifest_parse(&back, "merged", b.s, b.len, &el),
	    0);
	assert_int_equal(back.n, 4);
	cas_manifest_release(&back);
	buf_release(&b);
	error_list_release(&el);
	cas_manifest_release(&out);
	/* nothing to merge */
	cas_attach_merge(&out, ms, 0);
	assert_int_equal(out.n, 0);
	for (int i = 0; i < 3; i++)
		cas_manifest_release(&ms[i]);
}

static void
assert_dest(const char *const *roots, size_t n, size_t i, const char *to,
    const char *want)
{
	char *got = cas_attach_dest(roots, n, i, to);

	assert_string_equal(got, want);
	free(got);
}

static void
test_dest(void **state)
{
	static const char *const two[] = { "/p/out", "/p/in/results" };
	static const char *const nested[] = { "/a/out", "/a/out/sub" };
	static const char *const prefix[] = { "/a/out", "/a/outer" };
	static const char *const root[] = { "/" };

	(void)state;
	assert_dest(two, 1, 0, "/dl", "/dl");
	assert_dest(two, 2, 0, "/dl", "/dl/out");
	assert_dest(two, 2, 1, "/dl/", "/dl/in/results");
	assert_dest(two, 2, 1, NULL, "/p/in/results");
	assert_dest(nested, 2, 0, "/dl", "/dl");
	assert_dest(nested, 2, 1, "/dl", "/dl/sub");
	assert_dest(prefix, 2, 0, "/dl", "/dl/out");
	assert_dest(prefix, 2, 1, "/dl", "/dl/outer");
	assert_dest(root, 1, 0, "rel", "rel");
}

/* ---- store records ---------------------------------------------------- */

static void
check_bad(const char *json, const char *want)
{
	json_t *j = json_loads(json, 0, NULL);
	char *err = NULL;

	assert_non_null(j);
	assert_int_equal(queue_attach_check(j, &err), -1);
	assert_non_null(err);
	if (strstr(err, want) == NULL)
		fail_msg("'%s' does not say '%s'", err, want);
	free(err);
	json_decref(j);
}

static void
test_records(void **state)
{
	struct fx *f = *state;
	struct queue_step_spec step = { "S", 2, NULL, 0, NULL };
	struct queue_job_spec js = {
		.name = "j", .job_json = "{}", .submitter = "me",
		.priority = 50, .steps = &step, .nsteps = 1,
	};
	struct queue_attach qa;
	struct queue_output outs[2] = {
		{ "Out", "/p/out", "cccccccccccccccccccccccccccccccc", 2, 10 },
		{ "Img", "/p/img", "dddddddddddddddddddddddddddddddd", 1, 5 },
	};
	int64_t id, other, sid, task, attempt;
	char *err = NULL;
	json_t *spec, *j;

	check_bad("[]", "expected an object");
	check_bad("{\"store\": \"rel\"}", "absolute");
	check_bad("{\"inputs\": [{\"root\": \"/a\", \"manifest\": "
	    "\"00000000000000000000000000000000\"}]}", "need a store");
	check_bad("{\"store\": \"/s\", \"inputs\": [{\"root\": \"/a\", "
	    "\"manifest\": \"xyz\"}]}", "inputs[0].manifest");
	check_bad("{\"store\": \"/s\", \"inputs\": [{\"root\": \"/a\", "
	    "\"manifest\": \"00000000000000000000000000000000\"}, "
	    "{\"root\": \"/a\", \"manifest\": "
	    "\"00000000000000000000000000000000\"}]}", "attached twice");
	check_bad("{\"pathMappingRules\": {\"version\": \"nope\"}}",
	    "pathMappingRules");

	assert_int_equal(queue_submit(f->st, &js, &id, &err), 0);
	assert_int_equal(queue_submit(f->st, &js, &other, &err), 0);
	assert_int_equal(queue_attach_get(f->st, id, &qa), 0);
	assert_null(queue_attach_json(f->st, id));
	spec = json_loads("{\"store\": \"/s/cas\", \"captureOutputs\": true, "
	    "\"inputs\": [{\"root\": \"/a\", \"manifest\": "
	    "\"0123456789abcdef0123456789abcdef\", \"files\": 3, "
	    "\"bytes\": 7}, {\"root\": \"/b\", \"manifest\": "
	    "\"fedcba9876543210fedcba9876543210\"}], \"pathMappingRules\": "
	    "{\"version\": \"pathmapping-1.0\", \"path_mapping_rules\": "
	    "[{\"source_path_format\": \"POSIX\", \"source_path\": \"/x\", "
	    "\"destination_path\": \"/y\"}]}}", 0, NULL);
	assert_non_null(spec);
	assert_int_equal(queue_attach_set(f->st, id, spec, &err), 0);
	json_decref(spec);
	assert_int_equal(queue_attach_get(f->st, id, &qa), 1);
	assert_string_equal(qa.store, "/s/cas");
	assert_int_equal(qa.capture_outputs, 1);
	assert_int_equal(qa.ninputs, 2);
	assert_string_equal(qa.inputs[1].root, "/b");
	assert_int_equal(qa.inputs[0].files, 3);
	assert_non_null(strstr(qa.path_mapping, "\"/x\""));
	queue_attach_release(&qa);

	/* outputs of an attempt */
	sid = queue_session_new(f->st, id, 0, "host", NULL);
	assert_true(sid > 0);
	assert_int_equal(queue_claim(f->st, id, 0, sid, &task), 1);
	assert_int_equal(queue_task_start(f->st, id, 0, task, sid, NULL, -1,
	    &attempt), 0);
	assert_int_equal(queue_attach_outputs_add(f->st, id, attempt, outs, 2),
	    0);
	j = queue_attach_json(f->st, id);
	assert_non_null(j);
	assert_int_equal(json_array_size(json_object_get(j, "inputs")), 2);
	assert_int_equal(json_array_size(json_object_get(j,
	    "outputManifests")), 2);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "outputManifests"), 0), "state")), "RUNNING");
	assert_string_equal(json_string_value(json_object_get(json_object_get(
	    j, "pathMappingRules"), "version")), "pathmapping-1.0");
	json_decref(j);

	/* a job without records has none; removing a job removes them */
	assert_null(queue_attach_json(f->st, other));
	assert_int_equal(queue_session_end(f->st, sid, REASON_SESSION_FAILED,
	    "test"), 0);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM attempt_outputs"),
	    2);
	assert_int_equal(queue_rm(f->st, id, 1, &err), 0);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM job_attach"), 0);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM job_inputs"), 0);
	assert_int_equal(fx_scalar(f->st, "SELECT count(*) FROM attempt_outputs"),
	    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_step_refers),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_unmatched),
		cmocka_unit_test(test_changed),
		cmocka_unit_test(test_merge),
		cmocka_unit_test(test_dest),
		cmocka_unit_test_setup_teardown(test_records, fx_setup, fx_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
