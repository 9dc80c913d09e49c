/*
 * adaptor-toy-daemon: a full adaptor that keeps toy-renderer loaded across
 * runs.  on_start starts `toy-renderer --serve` and waits until it has
 * loaded the scene (the expensive part); each run sends it one "render"
 * command and follows its output until the frame is done; on_stop asks it
 * to quit.  Run in daemon mode, the load is paid once per session instead
 * of once per task:
 *
 *	adaptor-toy-daemon daemon start --connection-file c.json \
 *	    --init-data '{"scene": "shot1"}'
 *	adaptor-toy-daemon daemon run --connection-file c.json \
 *	    --run-data '{"frame": 1}'
 *	...
 *	adaptor-toy-daemon daemon stop --connection-file c.json
 *
 * A canceled run loses the renderer (the runtime terminates every managed
 * process); the next run loads it again.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <drover/adaptor.h>

struct toy {
	drover_process	*app;
	long		 frame;		/* the frame being rendered */
	int		 frame_failed;
	int		 loads;
};

static long
get_int(const json_t *obj, const char *key, long dflt)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

static long long
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
on_ready(drover_adaptor *a, const struct drover_match *m, void *arg)
{
	(void)a;
	(void)m;
	(void)arg;
	return DROVER_LINE_DONE;
}

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
	struct toy *t = arg;

	/* The renderer stays loaded: only this frame fails. */
	t->frame_failed = 1;
	drover_adaptor_fail(a, "%s", m->line);
	return DROVER_LINE_CONTINUE;
}

static int
on_frame_end(drover_adaptor *a, const struct drover_match *m, void *arg)
{
	struct toy *t = arg;
	long frame;

	(void)a;
	if (drover_match_long(m, 2, &frame) != 0 || frame != t->frame)
		return DROVER_LINE_CONTINUE;
	if (m->line[0] == 'F')
		t->frame_failed = 1;
	return DROVER_LINE_DONE;
}

static int
start_app(drover_adaptor *a, struct toy *t)
{
	const struct drover_line_handler handlers[] = {
		{ "^READY", DROVER_LINE_STDOUT, on_ready, t },
		{ "^Rendered ([0-9]+)/([0-9]+)", DROVER_LINE_STDOUT,
		    on_rendered, t },
		{ "^WARNING: ", DROVER_LINE_STDERR, on_warning, t },
		{ "License error", 0, on_license_error, t },
		{ "^(DONE|FAILED) (-?[0-9]+)$", DROVER_LINE_STDOUT,
		    on_frame_end, t },
	};
	const json_t *init = drover_adaptor_init_data(a);
	const char *renderer, *scene;
	char *mapped;
	drover_cmd *cmd;
	long long t0 = now_ms();
	int rc = 0;

	renderer = json_string_value(json_object_get(drover_adaptor_config(a),
	    "renderer"));
	if (renderer == NULL)
		return drover_adaptor_error(a, DROVER_EINVAL, "no 'renderer' "
		    "in the configuration");
	scene = json_string_value(json_object_get(init, "scene"));
	mapped = drover_adaptor_map_path(a, scene ? scene : "default");
	cmd = drover_cmd_new();
	if (cmd == NULL || mapped == NULL) {
		free(mapped);
		drover_cmd_free(cmd);
		return drover_adaptor_error(a, DROVER_ENOMEM, "out of memory");
	}
	if (strchr(renderer, '/'))
		rc |= drover_cmd_arg(cmd, renderer);
	else
		rc |= drover_cmd_argf(cmd, "%s/%s", drover_adaptor_dir(a),
		    renderer);
	rc |= drover_cmd_arg(cmd, "--serve");
	rc |= drover_cmd_arg(cmd, "--scene");
	rc |= drover_cmd_arg(cmd, mapped);
	rc |= drover_cmd_argf(cmd, "--step-ms=%ld", get_int(init, "step_ms",
	    20));
	rc |= drover_cmd_argf(cmd, "--startup-ms=%ld", get_int(init,
	    "startup_ms", 300));
	if (json_is_true(json_object_get(init, "ignore_term")))
		rc |= drover_cmd_arg(cmd, "--ignore-term");
	if (json_is_true(json_object_get(init, "spawn_child")))
		rc |= drover_cmd_arg(cmd, "--spawn-child");
	rc |= drover_cmd_stdin_pipe(cmd, 1);
	free(mapped);
	if (rc != 0) {
		drover_cmd_free(cmd);
		return drover_adaptor_error(a, DROVER_ENOMEM, "out of memory");
	}
	drover_adaptor_status(a, "loading the renderer");
	rc = drover_process_start(a, cmd, handlers,
	    sizeof(handlers) / sizeof(handlers[0]), &t->app);
	drover_cmd_free(cmd);
	if (rc != 0)
		return rc;
	rc = drover_process_pump(t->app, -1);
	if (rc == 0)
		return drover_adaptor_error(a, DROVER_EFAILED, "the renderer "
		    "exited while loading (exit code %d)",
		    drover_process_exit_code(t->app));
	if (rc < 0)
		return rc;
	t->loads++;
	drover_adaptor_log(a, DROVER_LOG_INFO, "renderer loaded in %lld ms "
	    "(load #%d)", now_ms() - t0, t->loads);
	return 0;
}

static int
on_start(drover_adaptor *a, const json_t *init_data)
{
	(void)init_data;
	return start_app(a, drover_adaptor_user(a));
}

static int
on_run(drover_adaptor *a, const json_t *run_data)
{
	struct toy *t = drover_adaptor_user(a);
	const char *output;
	char *mapped = NULL;
	int rc;

	if (t->app == NULL || !drover_process_running(t->app)) {
		drover_adaptor_log(a, DROVER_LOG_INFO, "the renderer is not "
		    "running (an earlier run was canceled?): loading it again");
		drover_process_free(t->app);
		t->app = NULL;
		if ((rc = start_app(a, t)) != 0)
			return rc;
	}
	t->frame = get_int(run_data, "frame", 1);
	t->frame_failed = 0;
	output = json_string_value(json_object_get(run_data, "output"));
	if (output && (mapped = drover_adaptor_map_path(a, output)) == NULL)
		return drover_adaptor_error(a, DROVER_ENOMEM, "out of memory");
	drover_adaptor_status(a, "rendering frame %ld", t->frame);
	rc = 0;
	if (json_is_true(json_object_get(run_data, "license_error")))
		rc = drover_process_printf(t->app, "fail-next\n");
	if (rc == 0)
		rc = drover_process_printf(t->app, "render %ld %ld%s%s\n",
		    t->frame, get_int(run_data, "steps", 5), mapped ? " " : "",
		    mapped ? mapped : "");
	free(mapped);
	if (rc != 0)
		return rc;
	rc = drover_process_pump(t->app, -1);
	if (rc == 0)
		return drover_adaptor_error(a, DROVER_EFAILED, "the renderer "
		    "exited while rendering frame %ld (exit code %d)",
		    t->frame, drover_process_exit_code(t->app));
	if (rc < 0)
		return rc;
	if (t->frame_failed)
		return drover_adaptor_error(a, DROVER_EFAILED, "frame %ld "
		    "failed", t->frame);
	drover_adaptor_progress(a, 100);
	return 0;
}

static int
on_stop(drover_adaptor *a)
{
	struct toy *t = drover_adaptor_user(a);
	int code = 0, rc;

	if (t->app == NULL || !drover_process_running(t->app))
		return 0;
	rc = drover_process_printf(t->app, "quit\n");
	if (rc == 0)
		rc = drover_process_close_stdin(t->app);
	if (rc == 0)
		rc = drover_process_wait(t->app, &code);
	drover_process_free(t->app);
	t->app = NULL;
	if (rc == 0 && code != 0)
		return drover_adaptor_error(a, DROVER_EFAILED, "the renderer "
		    "exited with code %d", code);
	return rc;
}

static int
on_cleanup(drover_adaptor *a)
{
	struct toy *t = drover_adaptor_user(a);

	if (t->app) {
		drover_process_terminate(t->app, 2000);
		drover_process_free(t->app);
		t->app = NULL;
	}
	return 0;
}

static void
on_cancel(drover_adaptor *a)
{
	drover_adaptor_log(a, DROVER_LOG_INFO, "canceling: the renderer will "
	    "be stopped and loaded again by the next run");
}

int
main(int argc, char **argv)
{
	struct toy t = { NULL, 0, 0, 0 };
	const struct drover_adaptor_def def = {
		.name = "ToyDaemonAdaptor",
		.data_version_major = 1,
		.data_version_minor = 0,
		.config_path = "adaptor-toy-daemon.json",
		.init_schema_path = "adaptor-toy-daemon.init.schema.json",
		.run_schema_path = "adaptor-toy-daemon.run.schema.json",
		.user = &t,
		.on_start = on_start,
		.on_run = on_run,
		.on_stop = on_stop,
		.on_cleanup = on_cleanup,
		.on_cancel = on_cancel,
	};

	return drover_adaptor_main(argc, argv, &def);
}
