/*
 * adaptor-toy-cmd: a command adaptor around toy-renderer.  Each run builds
 * one toy-renderer command line from the init data (the scene) and the
 * run data (the frame), and line handlers turn the renderer's output into
 * OpenJD messages:
 *
 *	Rendered 3/10			-> openjd_progress: 30
 *	WARNING: texture ... (stderr)	-> openjd_status: WARNING: texture ...
 *	License error: ...		-> openjd_fail: ..., and the renderer
 *					   is stopped at once
 *
 *	adaptor-toy-cmd run --init-data '{"scene": "/mnt/s/shot1"}' \
 *	    --run-data '{"frame": 3}'
 *
 * Configuration (adaptor-toy-cmd.json next to the executable): "renderer",
 * the program to run (relative names are looked up next to this adaptor).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <drover/adaptor.h>

static int
on_rendered(drover_adaptor *a, const struct drover_match *m, void *arg)
{
	long done, total;

	(void)arg;
	if (drover_match_long(m, 1, &done) == 0 &&
	    drover_match_long(m, 2, &total) == 0 && total > 0)
		drover_adaptor_progress(a, 100.0 * (double)done /
		    (double)total);
	return DROVER_LINE_CONTINUE;
}

static int
on_warning(drover_adaptor *a, const struct drover_match *m, void *arg)
{
	(void)arg;
	drover_adaptor_status(a, "%s", m->line);
	return DROVER_LINE_CONTINUE;
}

static int
on_license_error(drover_adaptor *a, const struct drover_match *m, void *arg)
{
	(void)arg;
	drover_adaptor_fail(a, "%s", m->line);
	return DROVER_LINE_ABORT;
}

static const struct drover_line_handler handlers[] = {
	{ "^Rendered ([0-9]+)/([0-9]+)", DROVER_LINE_STDOUT, on_rendered, NULL },
	{ "^WARNING: ", DROVER_LINE_STDERR, on_warning, NULL },
	{ "License error", 0, on_license_error, NULL },
};

static long
get_int(const json_t *obj, const char *key, long dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

static int
get_managed_process(drover_adaptor *a, const json_t *run_data, drover_cmd *cmd)
{
	const json_t *init = drover_adaptor_init_data(a);
	const char *renderer, *scene, *output;
	char *mapped_scene = NULL, *mapped_out = NULL;
	int rc = 0;

	renderer = json_string_value(json_object_get(drover_adaptor_config(a),
	    "renderer"));
	scene = json_string_value(json_object_get(init, "scene"));
	output = json_string_value(json_object_get(run_data, "output"));
	if (renderer == NULL)
		return drover_adaptor_error(a, DROVER_EINVAL, "no 'renderer' "
		    "in the configuration");
	if (strchr(renderer, '/'))
		rc = drover_cmd_arg(cmd, renderer);
	else
		rc = drover_cmd_argf(cmd, "%s/%s", drover_adaptor_dir(a),
		    renderer);
	/* Scene and output come from the submitting host: map them. */
	mapped_scene = drover_adaptor_map_path(a, scene ? scene : "default");
	if (mapped_scene == NULL)
		return drover_adaptor_error(a, DROVER_ENOMEM, "out of memory");
	rc |= drover_cmd_arg(cmd, "--scene");
	rc |= drover_cmd_arg(cmd, mapped_scene);
	rc |= drover_cmd_argf(cmd, "--frame=%ld", get_int(run_data, "frame", 1));
	rc |= drover_cmd_arg(cmd, "--steps");
	rc |= drover_cmd_argf(cmd, "%ld", get_int(run_data, "steps", 5));
	rc |= drover_cmd_arg(cmd, "--step-ms");
	rc |= drover_cmd_argf(cmd, "%ld", get_int(init, "step_ms", 20));
	rc |= drover_cmd_arg(cmd, "--startup-ms");
	rc |= drover_cmd_argf(cmd, "%ld", get_int(init, "startup_ms", 300));
	if (output) {
		mapped_out = drover_adaptor_map_path(a, output);
		rc |= drover_cmd_arg(cmd, "--output");
		rc |= mapped_out ? drover_cmd_arg(cmd, mapped_out) :
		    DROVER_ENOMEM;
	}
	if (json_is_true(json_object_get(run_data, "license_error")))
		rc |= drover_cmd_arg(cmd, "--license-error");
	if (json_is_true(json_object_get(run_data, "ignore_term")))
		rc |= drover_cmd_arg(cmd, "--ignore-term");
	if (json_is_true(json_object_get(run_data, "spawn_child")))
		rc |= drover_cmd_arg(cmd, "--spawn-child");
	free(mapped_scene);
	free(mapped_out);
	if (rc != 0)
		return drover_adaptor_error(a, DROVER_ENOMEM, "out of memory");
	return 0;
}

static int
on_prerun(drover_adaptor *a, const json_t *run_data)
{
	drover_adaptor_status(a, "rendering frame %ld",
	    get_int(run_data, "frame", 1));
	return 0;
}

static int
on_postrun(drover_adaptor *a, int exit_code)
{
	if (exit_code != 0)
		return drover_adaptor_error(a, DROVER_EFAILED, "toy-renderer "
		    "exited with code %d", exit_code);
	drover_adaptor_progress(a, 100);
	return 0;
}

static const struct drover_adaptor_def toy_cmd = {
	.name = "ToyCmdAdaptor",
	.data_version_major = 1,
	.data_version_minor = 0,
	.config_path = "adaptor-toy-cmd.json",
	.init_schema_path = "adaptor-toy-cmd.init.schema.json",
	.run_schema_path = "adaptor-toy-cmd.run.schema.json",
	.get_managed_process = get_managed_process,
	.on_prerun = on_prerun,
	.on_postrun = on_postrun,
	.handlers = handlers,
	.nhandlers = sizeof(handlers) / sizeof(handlers[0]),
};

int
main(int argc, char **argv)
{
	return drover_adaptor_main(argc, argv, &toy_cmd);
}
