/*
 * Unit tests for job creation: resolved job names and their limits,
 * parameter-space and host-requirement resolution with the checks that
 * only apply after it, environments, dependencies, the JSON round trip,
 * and every base/jobs conformance case run through job_create().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "common/doc.h"
#include "common/xmalloc.h"
#include "model/job.h"
#include "model/space.h"
#include "model/template.h"

/* ---- helpers ---------------------------------------------------------- */

/* A template validated by the template module. */
static void
load_valid(struct template *t, const char *name, const char *yaml)
{
	struct error_list el = ERROR_LIST_INIT;
	int rc = template_load_mem(t, name, yaml, strlen(yaml), &el);

	if (rc != 0)
		error_list_print(&el, stderr);
	assert_int_equal(rc, 0);
	error_list_release(&el);
}

/* Sets kind and extensions from the document, without validation. */
static void
template_raw_fill(struct template *t)
{
	const struct node *sv = node_get(t->doc.root, "specificationVersion");
	const struct node *ext = node_get(t->doc.root, "extensions");

	t->kind = sv && sv->kind == NODE_STRING &&
	    strcmp(sv->str, TEMPLATE_SPEC_ENV) == 0 ? TEMPLATE_ENV :
	    TEMPLATE_JOB;
	t->extensions = 0;
	if (ext && ext->kind == NODE_SEQ)
		for (size_t i = 0; i < ext->n; i++)
			if (ext->items[i]->kind == NODE_STRING)
				t->extensions |= template_extension_bit(
				    ext->items[i]->str);
}

/*
 * A template loaded without validation: job creation must hold up on its
 * own for the checks that only it can make.
 */
static void
load_raw(struct template *t, const char *name, const char *yaml)
{
	struct error_list el = ERROR_LIST_INIT;

	memset(t, 0, sizeof(*t));
	assert_int_equal(doc_load_mem(&t->doc, name, yaml, strlen(yaml), &el),
	    0);
	template_raw_fill(t);
	error_list_release(&el);
}

static int
el_has(const struct error_list *el, const char *s)
{
	for (size_t i = 0; i < el->n; i++) {
		char *m = error_format(&el->v[i]);
		int hit = strstr(m, s) != NULL;
		free(m);
		if (hit)
			return 1;
	}
	return 0;
}

static void
expect_error(const struct error_list *el, const char *s)
{
	if (!el_has(el, s)) {
		fprintf(stderr, "expected an error with: %s\ngot:\n", s);
		error_list_print(el, stderr);
	}
	assert_true(el_has(el, s));
}

/* Creates a job from one job template (raw or validated) and values
 * "K=V" (NULL-terminated). */
static struct job *
create(const char *yaml, int validate, const char *const *kv,
    struct error_list *el)
{
	struct template t;
	struct param_values pv = PARAM_VALUES_INIT;
	struct job *job;

	if (validate)
		load_valid(&t, "/tpl/job.yaml", yaml);
	else
		load_raw(&t, "/tpl/job.yaml", yaml);
	for (; kv && *kv; kv++) {
		int usage;
		assert_int_equal(param_values_parse_arg(&pv, *kv, &usage, el),
		    0);
	}
	job = job_create(&t, NULL, 0, &pv, "/work", el);
	param_values_release(&pv);
	template_release(&t);
	return job;
}

static const char *
name_template(const char *ext)
{
	static char buf[512];

	snprintf(buf, sizeof(buf),
	    "specificationVersion: jobtemplate-2023-09\n"
	    "%s"
	    "name: 'X{{Param.Suffix}}'\n"
	    "parameterDefinitions:\n"
	    "- {name: Suffix, type: STRING}\n"
	    "steps:\n"
	    "- name: S\n"
	    "  script: {actions: {onRun: {command: echo}}}\n", ext);
	return buf;
}

static char *
suffix_arg(size_t n)
{
	char *s = xmalloc(n + 8);

	memcpy(s, "Suffix=", 7);
	memset(s + 7, 'A', n);
	s[n + 7] = '\0';
	return s;
}

/* ---- job name ----------------------------------------------------------- */

static void
test_job_name(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	const char *kv[] = { "Project=StudioX", "Version=1.0", NULL };
	struct job *job;
	(void)state;

	job = create("specificationVersion: jobtemplate-2023-09\n"
	    "name: Job-{{Param.Project}}-{{ RawParam.Version }}\n"
	    "description: A test job\n"
	    "parameterDefinitions:\n"
	    "- {name: Project, type: STRING, default: TemplateDefault}\n"
	    "- {name: Version, type: STRING, default: '9.9'}\n"
	    "steps:\n"
	    "- name: S\n"
	    "  script: {actions: {onRun: {command: echo}}}\n", 1, kv, &el);
	assert_non_null(job);
	assert_string_equal(job_name(job), "Job-StudioX-1.0");
	assert_string_equal(job_description(job), "A test job");
	assert_string_equal(job_template_dir(job), "/tpl");
	job_free(job);
	error_list_release(&el);
}

static void
test_job_name_limits(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	const char *kv[2] = { NULL, NULL };
	struct job *job;
	char *arg;
	(void)state;

	/* 1 + 127 = 128 characters: accepted */
	arg = suffix_arg(127);
	kv[0] = arg;
	job = create(name_template(""), 1, kv, &el);
	assert_non_null(job);
	assert_int_equal(strlen(job_name(job)), 128);
	job_free(job);
	free(arg);
	/* 129: refused, at the name's position */
	arg = suffix_arg(128);
	kv[0] = arg;
	assert_null(create(name_template(""), 1, kv, &el));
	expect_error(&el, "/tpl/job.yaml:2:7: name: the job name resolves to "
	    "129 characters, more than the 128 allowed");
	error_list_release(&el);
	/* FEATURE_BUNDLE_1 allows 512 */
	job = create(name_template("extensions: [FEATURE_BUNDLE_1]\n"), 1, kv,
	    &el);
	assert_non_null(job);
	job_free(job);
	free(arg);
	arg = suffix_arg(512);
	kv[0] = arg;
	assert_null(create(name_template("extensions: [FEATURE_BUNDLE_1]\n"), 1,
	    kv, &el));
	expect_error(&el, "513 characters, more than the 512 allowed");
	error_list_release(&el);
	free(arg);
	/* multi-byte characters count once */
	arg = xmalloc(7 + 127 * 2 + 1);
	memcpy(arg, "Suffix=", 7);
	for (int i = 0; i < 127; i++)
		memcpy(arg + 7 + 2 * i, "\xc3\xa9", 2);
	arg[7 + 254] = '\0';
	kv[0] = arg;
	job = create(name_template(""), 1, kv, &el);
	assert_non_null(job);
	job_free(job);
	free(arg);
	/* control characters and the empty name */
	kv[0] = "Suffix=a\tb";
	assert_null(create(name_template(""), 1, kv, &el));
	expect_error(&el, "control character");
	error_list_release(&el);
	kv[0] = "N=";
	assert_null(create("specificationVersion: jobtemplate-2023-09\n"
	    "name: '{{Param.N}}'\n"
	    "parameterDefinitions: [{name: N, type: STRING}]\n"
	    "steps: [{name: S, script: {actions: {onRun: {command: x}}}}]\n",
	    1, kv, &el));
	expect_error(&el, "the job name resolves to an empty string");
	error_list_release(&el);
}

/* ---- parameters in the job ----------------------------------------------- */

static void
test_params_and_symtab(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	const char *kv[] = { "Count=0042", "Scale=1.50", "In=sub/../in.exr",
	    NULL };
	struct job *job;
	const struct symtab *st;
	(void)state;

	job = create("specificationVersion: jobtemplate-2023-09\n"
	    "name: J\n"
	    "parameterDefinitions:\n"
	    "- {name: Count, type: INT}\n"
	    "- {name: Scale, type: FLOAT}\n"
	    "- {name: In, type: PATH, objectType: FILE, dataFlow: IN}\n"
	    "- {name: Out, type: PATH, default: out}\n"
	    "steps: [{name: S, script: {actions: {onRun: {command: x}}}}]\n",
	    1, kv, &el);
	assert_non_null(job);
	assert_int_equal(job_nparams(job), 4);
	assert_string_equal(job_param_name(job, 0), "Count");
	assert_int_equal(job_param_type(job, 0), PARAM_INT);
	assert_string_equal(job_param_value(job, 0), "42");
	assert_string_equal(job_param_value(job, 1), "1.50");
	assert_string_equal(job_param_value(job, 2), "/work/in.exr");
	assert_string_equal(job_param_object_type(job, 2), "FILE");
	assert_string_equal(job_param_data_flow(job, 2), "IN");
	assert_null(job_param_object_type(job, 3));
	assert_string_equal(job_param_get(job, "Out"), "/tpl/out");
	assert_null(job_param_get(job, "Nope"));
	st = job_symtab(job);
	assert_string_equal(symtab_get(st, "Param.Count"), "42");
	assert_string_equal(symtab_get(st, "RawParam.Count"), "42");
	assert_string_equal(symtab_get(st, "Param.In"), "/work/in.exr");
	assert_string_equal(symtab_get(st, "RawParam.Out"), "/tpl/out");
	assert_int_equal(symtab_count(st), 8);
	job_free(job);
	error_list_release(&el);
}

/* ---- environments --------------------------------------------------------- */

static void
test_environments(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	struct template jt, e1, e2;
	const struct template *envs[2] = { &e1, &e2 };
	struct param_values pv = PARAM_VALUES_INIT;
	struct job *job;
	(void)state;

	load_valid(&e1, "/envs/one.yaml",
	    "specificationVersion: environment-2023-09\n"
	    "parameterDefinitions:\n"
	    "- {name: Foo, type: INT, minValue: 1, default: 5}\n"
	    "- {name: Tool, type: STRING, default: maya}\n"
	    "environment: {name: Env1, variables: {FOO: '{{Param.Foo}}'}}\n");
	load_valid(&e2, "/envs/two.yaml",
	    "specificationVersion: environment-2023-09\n"
	    "parameterDefinitions:\n"
	    "- {name: Foo, type: INT, maxValue: 10}\n"
	    "environment: {name: Env2, variables: {BAR: x}}\n");
	load_valid(&jt, "/tpl/job.yaml",
	    "specificationVersion: jobtemplate-2023-09\n"
	    "name: J{{Param.Foo}}\n"
	    "parameterDefinitions:\n"
	    "- {name: Foo, type: INT}\n"
	    "jobEnvironments:\n"
	    "- {name: JobEnv, variables: {A: b}}\n"
	    "steps:\n"
	    "- name: S\n"
	    "  stepEnvironments: [{name: StepEnv, variables: {C: d}}]\n"
	    "  script: {actions: {onRun: {command: x}}}\n");
	job = job_create(&jt, envs, 2, NULL, NULL, &el);
	if (job == NULL)
		error_list_print(&el, stderr);
	assert_non_null(job);
	assert_string_equal(job_name(job), "J5");
	assert_string_equal(job_param_name(job, 0), "Foo");
	assert_string_equal(job_param_get(job, "Tool"), "maya");
	assert_int_equal(job_nenvironments(job), 3);
	assert_string_equal(json_string_value(json_object_get(
	    job_environment(job, 0), "name")), "Env1");
	assert_string_equal(json_string_value(json_object_get(
	    job_environment(job, 0), "source")), "/envs/one.yaml");
	assert_string_equal(json_string_value(json_object_get(
	    job_environment(job, 1), "name")), "Env2");
	assert_string_equal(json_string_value(json_object_get(
	    job_environment(job, 2), "name")), "JobEnv");
	assert_null(json_object_get(job_environment(job, 2), "source"));
	assert_int_equal(json_array_size(job_step_environments(job, 0)), 1);
	job_free(job);

	/* the merged maximum (10, from env two) applies to submitted values */
	param_values_set(&pv, "Foo", "11");
	assert_null(job_create(&jt, envs, 2, &pv, NULL, &el));
	expect_error(&el, "/envs/two.yaml:3:");
	expect_error(&el, "value 11 is above maxValue 10");
	error_list_release(&el);
	/* environment order matters for the default: env two has none */
	envs[0] = &e2;
	envs[1] = &e1;
	param_values_set(&pv, "Foo", "7");
	job = job_create(&jt, envs, 2, &pv, NULL, &el);
	assert_non_null(job);
	assert_string_equal(json_string_value(json_object_get(
	    job_environment(job, 0), "name")), "Env2");
	job_free(job);
	/* a job template passed as an environment is refused */
	envs[0] = &jt;
	assert_null(job_create(&jt, envs, 1, &pv, NULL, &el));
	expect_error(&el, "not a valid environment template");
	error_list_release(&el);
	param_values_release(&pv);
	template_release(&jt);
	template_release(&e1);
	template_release(&e2);
}

/* ---- parameter spaces ---------------------------------------------------- */

static const char *
space_template(const char *tpd, const char *params)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
	    "specificationVersion: jobtemplate-2023-09\n"
	    "extensions: [TASK_CHUNKING]\n"
	    "name: J\n"
	    "parameterDefinitions:\n%s"
	    "steps:\n"
	    "- name: S\n"
	    "  parameterSpace:\n"
	    "    taskParameterDefinitions:\n%s"
	    "  script: {actions: {onRun: {command: x}}}\n", params, tpd);
	return buf;
}

static void
test_space_ranges(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	const char *kv[] = { "End=1000000000", NULL };
	struct job *job;
	const json_t *ps, *r;
	clock_t t0;
	(void)state;

	/* a range expression built from a parameter; 10^9 tasks, instantly */
	t0 = clock();
	job = create(space_template(
	    "    - {name: F, type: INT, range: '1-{{Param.End}}'}\n",
	    "- {name: End, type: INT}\n"), 1, kv, &el);
	assert_non_null(job);
	assert_int_equal(space_count(job_step_space(job, 0)), 1000000000);
	assert_true(clock() - t0 < CLOCKS_PER_SEC);
	ps = job_step_parameter_space(job, 0);
	r = json_object_get(json_array_get(json_object_get(ps,
	    "taskParameterDefinitions"), 0), "range");
	assert_string_equal(json_string_value(r), "1-1000000000");
	job_free(job);

	/* a range expression that is only invalid once resolved */
	kv[0] = "End=x";
	job = create(space_template(
	    "    - {name: F, type: INT, range: '1-{{Param.End}}'}\n",
	    "- {name: End, type: STRING}\n"), 1, kv, &el);
	assert_null(job);
	expect_error(&el, "/tpl/job.yaml:10:35: steps[0].parameterSpace."
	    "taskParameterDefinitions[0].range: range expression '1-x' "
	    "(resolved from '1-{{Param.End}}') is not valid");
	error_list_release(&el);

	/* list items: INT from strings, FLOAT kept as written */
	kv[0] = "Middle=05";
	job = create(space_template(
	    "    - {name: V, type: INT, range: [1, '{{Param.Middle}}', '10']}\n"
	    "    - {name: F, type: FLOAT, range: [1.50, '2', '{{Param.Middle}}"
	    ".5']}\n"
	    "    - {name: S, type: STRING, range: ['a{{Param.Middle}}']}\n",
	    "- {name: Middle, type: STRING}\n"), 1, kv, &el);
	assert_non_null(job);
	ps = json_object_get(job_step_parameter_space(job, 0),
	    "taskParameterDefinitions");
	r = json_object_get(json_array_get(ps, 0), "range");
	assert_int_equal(json_integer_value(json_array_get(r, 1)), 5);
	assert_int_equal(json_integer_value(json_array_get(r, 2)), 10);
	r = json_object_get(json_array_get(ps, 1), "range");
	assert_string_equal(json_string_value(json_array_get(r, 0)), "1.50");
	assert_string_equal(json_string_value(json_array_get(r, 2)), "05.5");
	r = json_object_get(json_array_get(ps, 2), "range");
	assert_string_equal(json_string_value(json_array_get(r, 0)), "a05");
	assert_int_equal(space_count(job_step_space(job, 0)), 9);
	job_free(job);

	/* items that do not fit their type once resolved */
	kv[0] = "Middle=x";
	assert_null(create(space_template(
	    "    - {name: V, type: INT, range: [1, '{{Param.Middle}}']}\n",
	    "- {name: Middle, type: STRING}\n"), 1, kv, &el));
	expect_error(&el, "range[1]: 'x' (resolved from '{{Param.Middle}}') "
	    "is not an integer");
	error_list_release(&el);
	kv[0] = "Middle=";
	assert_null(create(space_template(
	    "    - {name: S, type: STRING, range: ['{{Param.Middle}}']}\n",
	    "- {name: Middle, type: STRING}\n"), 1, kv, &el));
	expect_error(&el, "range[0]: resolves to an empty string");
	error_list_release(&el);
}

static void
test_space_chunks(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	const char *kv[] = { "Size=3", NULL };
	struct job *job;
	const char *tpd =
	    "    - name: F\n"
	    "      type: CHUNK[INT]\n"
	    "      range: 1-8\n"
	    "      chunks:\n"
	    "        defaultTaskCount: '{{Param.Size}}'\n"
	    "        targetRuntimeSeconds: '{{Param.Size}}'\n"
	    "        rangeConstraint: CONTIGUOUS\n";
	char *v[1];
	(void)state;

	job = create(space_template(tpd, "- {name: Size, type: INT}\n"), 1, kv,
	    &el);
	assert_non_null(job);
	assert_int_equal(space_count(job_step_space(job, 0)), 3);
	assert_int_equal(space_chunk_default_count(job_step_space(job, 0)), 3);
	assert_int_equal(space_get(job_step_space(job, 0), 2, v), 0);
	assert_string_equal(v[0], "7-8");
	free(v[0]);
	job_free(job);
	/* a CHUNK[INT] list keeps integers, resolved items included */
	job = create(space_template(
	    "    - name: F\n"
	    "      type: CHUNK[INT]\n"
	    "      range: [1, 2, '{{Param.Size}}', 7]\n"
	    "      chunks: {defaultTaskCount: 2, rangeConstraint: "
	    "NONCONTIGUOUS}\n", "- {name: Size, type: INT}\n"), 1, kv, &el);
	if (job == NULL)
		error_list_print(&el, stderr);
	assert_non_null(job);
	{
		const json_t *r = json_object_get(json_array_get(
		    json_object_get(job_step_parameter_space(job, 0),
		    "taskParameterDefinitions"), 0), "range");
		assert_true(json_is_integer(json_array_get(r, 0)));
		assert_int_equal(json_integer_value(json_array_get(r, 2)), 3);
	}
	assert_int_equal(space_count(job_step_space(job, 0)), 2);
	assert_int_equal(space_get(job_step_space(job, 0), 1, v), 0);
	assert_string_equal(v[0], "3,7");
	free(v[0]);
	job_free(job);
	kv[0] = "Size=0";
	assert_null(create(space_template(tpd, "- {name: Size, type: INT}\n"),
	    1, kv, &el));
	expect_error(&el, "chunks.defaultTaskCount: defaultTaskCount must be "
	    "at least 1, not 0");
	error_list_release(&el);
}

static void
test_space_association_mismatch(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	(void)state;

	assert_null(create(space_template(
	    "    - {name: A, type: INT, range: [1, 2, 3]}\n"
	    "    - {name: B, type: INT, range: [1, 2]}\n"
	    "    combination: (A, B)\n", "- {name: X, type: INT, default: 1}\n"),
	    0, NULL, &el));
	expect_error(&el, "steps[0].parameterSpace.combination");
	error_list_release(&el);
}

/* ---- host requirements ----------------------------------------------------- */

static const char *
hr_template(const char *ext, const char *hr)
{
	static char buf[2048];

	snprintf(buf, sizeof(buf),
	    "specificationVersion: jobtemplate-2023-09\n"
	    "%s"
	    "name: J\n"
	    "parameterDefinitions:\n"
	    "- {name: A, type: STRING, default: amount.custom.licenses}\n"
	    "- {name: B, type: STRING, default: amount.custom.tokens}\n"
	    "- {name: K, type: STRING, default: licenses}\n"
	    "steps:\n"
	    "- name: S\n"
	    "  hostRequirements:\n%s"
	    "  script: {actions: {onRun: {command: x}}}\n", ext, hr);
	return buf;
}

static void
hr_expect(const char *ext, const char *hr, const char *const *kv,
    const char *err)
{
	struct error_list el = ERROR_LIST_INIT;
	struct job *job = create(hr_template(ext, hr), 0, kv, &el);

	if (err == NULL) {
		if (job == NULL)
			error_list_print(&el, stderr);
		assert_non_null(job);
	} else {
		assert_null(job);
		expect_error(&el, err);
	}
	job_free(job);
	error_list_release(&el);
}

static void
test_host_requirements(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	const char *amounts =
	    "    amounts:\n"
	    "    - {name: '{{Param.A}}', min: 1}\n"
	    "    - {name: 'amount.custom.{{Param.K}}x', min: 2, max: 4}\n"
	    "    - {name: 'Vendor:AMOUNT.worker.vcpu', min: 2}\n"
	    "    attributes:\n"
	    "    - {name: 'attr.custom.{{Param.K}}', anyOf: ['{{Param.K}}']}\n"
	    "    - {name: attr.worker.os.family, allOf: [Linux]}\n";
	const char *kv[3] = { NULL, NULL, NULL };
	struct job *job;
	const json_t *h;
	char *longname;
	(void)state;

	job = create(hr_template("", amounts), 0, NULL, &el);
	assert_non_null(job);
	h = job_step_host_requirements(job, 0);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(h, "amounts"), 0), "name")),
	    "amount.custom.licenses");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(h, "amounts"), 1), "name")),
	    "amount.custom.licensesx");
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(h, "attributes"), 0), "name")),
	    "attr.custom.licenses");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    json_array_get(json_object_get(h, "attributes"), 0), "anyOf"), 0)),
	    "licenses");
	job_free(job);

	/* duplicates after resolution (case-insensitive) */
	kv[0] = "B=AMOUNT.custom.LICENSES";
	hr_expect("", "    amounts:\n"
	    "    - {name: '{{Param.A}}', min: 1}\n"
	    "    - {name: '{{Param.B}}', min: 1}\n", kv,
	    "amounts[1].name: amount 'AMOUNT.custom.LICENSES' is required "
	    "twice (also amounts[0])");
	kv[0] = "A=attr.custom.gpu";
	kv[1] = "B=attr.custom.gpu";
	hr_expect("", "    attributes:\n"
	    "    - {name: '{{Param.A}}', anyOf: [a]}\n"
	    "    - {name: '{{Param.B}}', anyOf: [b]}\n", kv,
	    "attribute 'attr.custom.gpu' is required twice");
	kv[1] = NULL;
	/* wrong kind, reserved scope, length */
	kv[0] = "A=attr.custom.licenses";
	hr_expect("", "    amounts: [{name: '{{Param.A}}', min: 1}]\n", kv,
	    "'attr.custom.licenses' is not a valid amount capability name");
	kv[0] = "A=amount.worker.licenses";
	hr_expect("", "    amounts: [{name: '{{Param.A}}', min: 1}]\n", kv,
	    "'amount.worker.licenses' uses the reserved scope "
	    "'amount.worker': only the capabilities the specification defines "
	    "may use it (resolved from '{{Param.A}}')");
	kv[0] = "A=attr.job.x";
	hr_expect("", "    attributes: [{name: '{{Param.A}}', anyOf: [a]}]\n",
	    kv, "reserved scope 'attr.job'");
	kv[0] = "A=amount.1bad";
	hr_expect("", "    amounts: [{name: '{{Param.A}}', min: 1}]\n", kv,
	    "not a valid amount capability name");
	longname = xmalloc(200);
	strcpy(longname, "A=amount.custom.");
	memset(longname + 16, 'a', 86);		/* 14 + 86 = 100 chars */
	longname[16 + 86] = '\0';
	kv[0] = longname;
	hr_expect("", "    amounts: [{name: '{{Param.A}}', min: 1}]\n", kv,
	    NULL);
	strcat(longname, "a");
	hr_expect("", "    amounts: [{name: '{{Param.A}}', min: 1}]\n", kv,
	    "is 101 characters long, more than the 100 allowed");
	free(longname);
	/* attribute values: pattern and the standard attributes' values */
	kv[0] = "K=not valid!";
	hr_expect("", "    attributes: [{name: attr.custom.sw, allOf: "
	    "['{{Param.K}}']}]\n", kv, "allOf[0]: 'not valid!' is not a valid "
	    "attribute value");
	kv[0] = "A=attr.worker.os.family";
	hr_expect("", "    attributes: [{name: '{{Param.A}}', anyOf: "
	    "[plan9]}]\n", kv, "'plan9' is not a value of "
	    "attr.worker.os.family (one of: linux, windows, macos)");
	kv[0] = "A=attr.worker.cpu.arch";
	hr_expect("", "    attributes: [{name: '{{Param.A}}', anyOf: "
	    "[ARM64]}]\n", kv, NULL);
	/* FEATURE_BUNDLE_1: amount bounds as format strings */
	kv[0] = "K=abc";
	hr_expect("extensions: [FEATURE_BUNDLE_1]\n", "    amounts: [{name: "
	    "amount.worker.vcpu, max: '{{Param.K}}'}]\n", kv,
	    "amounts[0].max: 'abc' (resolved from '{{Param.K}}') is not a "
	    "number");
	kv[0] = "K=4";
	job = create(hr_template("extensions: [FEATURE_BUNDLE_1]\n",
	    "    amounts: [{name: amount.worker.vcpu, min: '{{Param.K}}', "
	    "max: '8.5'}]\n"), 0, kv, &el);
	assert_non_null(job);
	h = json_array_get(json_object_get(job_step_host_requirements(job, 0),
	    "amounts"), 0);
	assert_true(json_is_integer(json_object_get(h, "min")));
	assert_int_equal(json_integer_value(json_object_get(h, "min")), 4);
	assert_true(json_real_value(json_object_get(h, "max")) == 8.5);
	job_free(job);
	kv[0] = "K=9";
	hr_expect("extensions: [FEATURE_BUNDLE_1]\n", "    amounts: [{name: "
	    "amount.worker.vcpu, min: '{{Param.K}}', max: 8}]\n", kv,
	    "min 9 is greater than max 8");
	error_list_release(&el);
}

/* ---- dependencies --------------------------------------------------------- */

static const char *dep_yaml =
    "specificationVersion: jobtemplate-2023-09\n"
    "name: J\n"
    "steps:\n"
    "- {name: Encode, dependencies: [{dependsOn: Render}, {dependsOn: Setup}],"
    " script: {actions: {onRun: {command: x}}}}\n"
    "- {name: Render, dependencies: [{dependsOn: Setup}],"
    " script: {actions: {onRun: {command: x}}}}\n"
    "- {name: Setup, script: {actions: {onRun: {command: x}}}}\n";

static void
test_dependencies(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	struct job *job;
	const size_t *d, *order;
	size_t n;
	(void)state;

	job = create(dep_yaml, 1, NULL, &el);
	assert_non_null(job);
	assert_int_equal(job_nsteps(job), 3);
	d = job_step_deps(job, 0, &n);
	assert_int_equal(n, 2);
	assert_int_equal(d[0], 1);
	assert_int_equal(d[1], 2);
	d = job_step_deps(job, 2, &n);
	assert_int_equal(n, 0);
	order = job_order(job, &n);
	assert_int_equal(n, 3);
	assert_int_equal(order[0], 2);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 0);
	assert_int_equal(job_step_find(job, "Render"), 1);
	assert_int_equal(job_step_find(job, "Nope"), -1);
	job_free(job);

	/* unvalidated templates: job creation still refuses bad edges */
	assert_null(create("specificationVersion: jobtemplate-2023-09\n"
	    "name: J\n"
	    "steps:\n"
	    "- {name: A, dependencies: [{dependsOn: B}], script: {}}\n"
	    "- {name: B, dependencies: [{dependsOn: A}], script: {}}\n"
	    "- {name: C, dependencies: [{dependsOn: D}], script: {}}\n",
	    0, NULL, &el));
	expect_error(&el, "dependency cycle: A -> B -> A");
	expect_error(&el, "steps[2].dependencies[0].dependsOn: unknown step "
	    "'D'");
	error_list_release(&el);
}

/* ---- JSON ---------------------------------------------------------------- */

static void
test_json_round_trip(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	const char *kv[] = { "Frames=1-20:2", "Out=renders", NULL };
	struct job *job, *back;
	json_t *j1, *j2;
	char *s;
	(void)state;

	job = create("specificationVersion: jobtemplate-2023-09\n"
	    "extensions: [TASK_CHUNKING, REDACTED_ENV_VARS]\n"
	    "name: Render {{Param.Frames}}\n"
	    "description: round trip\n"
	    "parameterDefinitions:\n"
	    "- {name: Frames, type: STRING}\n"
	    "- {name: Out, type: PATH, objectType: DIRECTORY, dataFlow: OUT}\n"
	    "- {name: Scale, type: FLOAT, default: 0.10}\n"
	    "jobEnvironments: [{name: E, variables: {A: '{{Param.Out}}'}}]\n"
	    "steps:\n"
	    "- name: Setup\n"
	    "  description: first\n"
	    "  script: {actions: {onRun: {command: x, timeout: 30}}}\n"
	    "- name: Render\n"
	    "  dependencies: [{dependsOn: Setup}]\n"
	    "  hostRequirements:\n"
	    "    amounts: [{name: amount.worker.vcpu, min: 2, max: 4.5}]\n"
	    "    attributes: [{name: attr.worker.os.family, anyOf: [linux]}]\n"
	    "  stepEnvironments: [{name: SE, variables: {B: c}}]\n"
	    "  parameterSpace:\n"
	    "    taskParameterDefinitions:\n"
	    "    - {name: F, type: 'CHUNK[INT]', range: '{{Param.Frames}}', "
	    "chunks: {defaultTaskCount: 3, rangeConstraint: NONCONTIGUOUS}}\n"
	    "    - {name: L, type: STRING, range: [a, b]}\n"
	    "    combination: F * L\n"
	    "  script:\n"
	    "    embeddedFiles: [{name: R, type: TEXT, data: 'echo {{Task.Param."
	    "F}}'}]\n"
	    "    actions: {onRun: {command: '{{Task.File.R}}'}}\n", 1, kv, &el);
	if (job == NULL)
		error_list_print(&el, stderr);
	assert_non_null(job);
	j1 = job_to_json(job);
	assert_string_equal(json_string_value(json_object_get(j1, "format")),
	    JOB_JSON_FORMAT);
	s = json_dumps(j1, JSON_SORT_KEYS);
	back = job_from_json(j1, &el);
	assert_non_null(back);
	j2 = job_to_json(back);
	assert_true(json_equal(j1, j2));
	/* through text too */
	json_decref(j2);
	j2 = json_loads(s, 0, NULL);
	assert_true(json_equal(j1, j2));
	/* the rebuilt job answers the same questions */
	assert_string_equal(job_name(back), "Render 1-20:2");
	assert_int_equal(job_extensions(back), job_extensions(job));
	assert_int_equal(job_nparams(back), 3);
	assert_string_equal(job_param_value(back, 2), "0.10");
	assert_string_equal(job_param_data_flow(back, 1), "OUT");
	assert_int_equal(space_count(job_step_space(back, 1)),
	    space_count(job_step_space(job, 1)));
	assert_int_equal(space_count(job_step_space(back, 1)), 8);
	assert_string_equal(symtab_get(job_symtab(back), "Param.Out"),
	    "/work/renders");
	{
		size_t n, n2;
		const size_t *d = job_step_deps(back, 1, &n);
		const size_t *o1 = job_order(job, &n), *o2 = job_order(back,
		    &n2);
		assert_int_equal(n2, n);
		assert_memory_equal(o1, o2, n * sizeof(size_t));
		d = job_step_deps(back, 1, &n);
		assert_int_equal(n, 1);
		assert_int_equal(d[0], 0);
	}
	free(s);
	json_decref(j1);
	json_decref(j2);
	job_free(back);
	job_free(job);
	error_list_release(&el);
}

static void
test_json_errors(void **state)
{
	struct error_list el = ERROR_LIST_INIT;
	json_t *j;
	(void)state;

	j = json_pack("{s:s, s:s}", "format", "other-1", "name", "x");
	assert_null(job_from_json(j, &el));
	expect_error(&el, "unsupported job format 'other-1'");
	error_list_release(&el);
	json_decref(j);
	j = json_pack("{s:s, s:s, s:s, s:[], s:[{s:s,s:s,s:s}], s:[]}",
	    "format", JOB_JSON_FORMAT, "name", "x", "templateDir", "/",
	    "extensions", "parameters", "name", "P", "type", "BOOL", "value",
	    "1", "steps");
	assert_null(job_from_json(j, &el));
	expect_error(&el, "parameters[0]: unknown parameter type 'BOOL'");
	expect_error(&el, "steps: must be a non-empty list");
	error_list_release(&el);
	json_decref(j);
	j = json_pack("{s:s, s:s, s:s, s:[{s:s, s:{}, s:[s]}]}",
	    "format", JOB_JSON_FORMAT, "name", "x", "templateDir", "/",
	    "steps", "name", "A", "script", "dependencies", "Z");
	assert_null(job_from_json(j, &el));
	expect_error(&el, "steps[0].dependencies[0]: unknown step 'Z'");
	error_list_release(&el);
	json_decref(j);
	j = json_pack("{s:s, s:s, s:s, s:[{s:s, s:{}, s:{s:[]}}]}",
	    "format", JOB_JSON_FORMAT, "name", "x", "templateDir", "/",
	    "steps", "name", "A", "script", "parameterSpace",
	    "taskParameterDefinitions");
	assert_null(job_from_json(j, &el));
	expect_error(&el, "steps[0].parameterSpace.taskParameterDefinitions");
	error_list_release(&el);
	json_decref(j);
}

/* ---- conformance: base/jobs through job_create() ----------------------------- */

/*
 * Invalid base cases that fail only when run (none so far: every base
 * invalid case is refused when the job is created).
 */
static const char *const runtime_invalid[] = { NULL };

static int
runs_on_posix(const struct node *root)
{
	const struct node *ro = node_get(root, "runOn");

	if (ro == NULL || ro->kind != NODE_SEQ)
		return 1;
	for (size_t i = 0; i < ro->n; i++)
		if (ro->items[i]->kind == NODE_STRING &&
		    strcmp(ro->items[i]->str, "posix") == 0)
			return 1;
	return 0;
}

static void
raw_from_node(struct template *t, const struct node *n, const char *file)
{
	memset(t, 0, sizeof(*t));
	t->doc.file = xstrdup(file);
	t->doc.root = node_copy(n);
	template_raw_fill(t);
}

/* Creates the case's job; 1 if created, 0 if refused, -1 if skipped. */
static int
conformance_case(const char *path, struct error_list *el)
{
	struct doc d = DOC_INIT;
	struct template jt, et[8];
	const struct template *etp[8];
	struct param_values pv = PARAM_VALUES_INIT;
	const struct node *envs, *params;
	size_t nenv = 0;
	struct job *job;

	assert_int_equal(doc_load_file(&d, path, el), 0);
	if (!runs_on_posix(d.root)) {
		doc_release(&d);
		return -1;
	}
	raw_from_node(&jt, node_get(d.root, "template"), path);
	envs = node_get(d.root, "environments");
	if (envs && envs->kind == NODE_SEQ)
		nenv = envs->n;
	assert_true(nenv <= 8);
	for (size_t i = 0; i < nenv; i++) {
		raw_from_node(&et[i], envs->items[i], path);
		etp[i] = &et[i];
	}
	params = node_get(d.root, "parameters");
	if (params)
		assert_int_equal(param_values_add_node(&pv, params, path, el),
		    0);
	job = job_create(&jt, etp, nenv, &pv, NULL, el);
	if (job) {
		/* every created job survives the JSON round trip */
		json_t *j1 = job_to_json(job), *j2;
		struct job *back = job_from_json(j1, el);
		assert_non_null(back);
		j2 = job_to_json(back);
		assert_true(json_equal(j1, j2));
		json_decref(j1);
		json_decref(j2);
		job_free(back);
	}
	param_values_release(&pv);
	template_release(&jt);
	for (size_t i = 0; i < nenv; i++)
		template_release(&et[i]);
	doc_release(&d);
	job_free(job);
	return job != NULL;
}

static void
test_conformance_base_jobs(void **state)
{
	const char *shared = getenv("DROVER_SHARED");
	const char *src = getenv("DROVER_SOURCE_DIR");
	char *dir, *cmd;
	char line[512];
	int created = 0, refused = 0, skipped = 0, runtime = 0, bad = 0;
	FILE *ls;
	(void)state;

	if (shared && *shared)
		dir = xasprintf("%s/conformance/openjd-2023-09/2023-09/base/"
		    "jobs", shared);
	else
		dir = xasprintf("%s/../shared/conformance/openjd-2023-09/"
		    "2023-09/base/jobs", src && *src ? src : ".");
	cmd = xasprintf("ls '%s' 2>/dev/null", dir);
	ls = popen(cmd, "r");
	assert_non_null(ls);
	while (fgets(line, sizeof(line), ls) != NULL) {
		struct error_list el = ERROR_LIST_INIT;
		char *path;
		int invalid, rt = 0, r;

		line[strcspn(line, "\n")] = '\0';
		if (strstr(line, ".test.yaml") == NULL)
			continue;
		invalid = strstr(line, ".invalid.") != NULL;
		for (size_t i = 0; runtime_invalid[i]; i++)
			rt |= strcmp(runtime_invalid[i], line) == 0;
		path = xasprintf("%s/%s", dir, line);
		r = conformance_case(path, &el);
		if (r < 0) {
			skipped++;
		} else if (!invalid || rt) {
			if (r == 1) {
				created++;
				runtime += rt;
			} else {
				bad++;
				printf("FAIL %s: not created: ", line);
				error_list_print(&el, stdout);
			}
		} else {
			if (r == 0) {
				refused++;
				if (getenv("U_JOB_VERBOSE")) {
					char *m = error_list_first(&el);
					printf("refused %s: %s\n", line, m);
					free(m);
				}
			} else {
				bad++;
				printf("FAIL %s: created, must be refused\n",
				    line);
			}
		}
		error_list_release(&el);
		free(path);
	}
	pclose(ls);
	printf("base/jobs job creation: %d valid created, %d invalid refused, "
	    "%d run-time invalid created, %d skipped (not posix), %d "
	    "failed\n", created - runtime, refused, runtime, skipped, bad);
	free(cmd);
	free(dir);
	if (created + refused + skipped == 0)
		skip();
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_job_name),
		cmocka_unit_test(test_job_name_limits),
		cmocka_unit_test(test_params_and_symtab),
		cmocka_unit_test(test_environments),
		cmocka_unit_test(test_space_ranges),
		cmocka_unit_test(test_space_chunks),
		cmocka_unit_test(test_space_association_mismatch),
		cmocka_unit_test(test_host_requirements),
		cmocka_unit_test(test_dependencies),
		cmocka_unit_test(test_json_round_trip),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_conformance_base_jobs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
