/*
 * The adaptor lifecycle, shared by `run` and the daemon: start, run (a full
 * adaptor's on_run, or a command adaptor's managed process), stop, cleanup,
 * and cancel.  Operations run on the worker thread; a cancel arrives on the
 * main thread, calls on_cancel and signals the managed process groups, and
 * the main thread's loop calls drover__cancel_tick() so that SIGKILL follows
 * once the grace period (cancel_grace_seconds) is over.
 *
 * A failing operation is reported once, as an `openjd_fail:` line, unless
 * the adaptor already reported it with drover_adaptor_fail().
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "adaptor-int.h"

static void
begin_op(drover_adaptor *a)
{
	pthread_mutex_lock(&a->out_mu);
	a->run_failed = 0;
	a->errmsg[0] = '\0';
	pthread_mutex_unlock(&a->out_mu);
}

static int
finish_op(drover_adaptor *a, const char *what, int rc)
{
	char msg[DROVER__ERRMAX];
	int failed;

	pthread_mutex_lock(&a->out_mu);
	failed = a->run_failed;
	memcpy(msg, a->errmsg, sizeof(msg));
	pthread_mutex_unlock(&a->out_mu);
	if (drover_adaptor_canceled(a)) {
		drover_adaptor_log(a, DROVER_LOG_INFO, "%s canceled", what);
		return DROVER_ECANCELED;
	}
	if (rc < 0) {
		if (!failed)
			drover_adaptor_fail(a, "%s failed: %s", what,
			    msg[0] ? msg : drover_strerror(rc));
		return rc;
	}
	return failed ? DROVER_EFAILED : 0;
}

/* Checks data against a schema; failures become ERROR lines + openjd_fail. */
static int
check_data(drover_adaptor *a, const json_t *schema, const json_t *data,
    const char *root)
{
	char *errors = NULL, *line, *nl;
	int rc, more;

	if (schema == NULL)
		return 0;
	rc = drover_schema_validate(schema, data, root, &errors);
	if (rc == 0)
		return 0;
	if (rc == DROVER_ESCHEMA && errors) {
		more = strchr(errors, '\n') != NULL;
		for (line = errors; line; line = nl ? nl + 1 : NULL) {
			nl = strchr(line, '\n');
			if (nl)
				*nl = '\0';
			drover_adaptor_log(a, DROVER_LOG_ERROR, "%s", line);
		}
		drover_adaptor_error(a, rc, "invalid %s: %s%s", root, errors,
		    more ? " (and more)" : "");
	} else
		drover_adaptor_error(a, rc, "cannot check %s: %s", root,
		    errors ? errors : drover_strerror(rc));
	free(errors);
	return rc;
}

int
drover__op_start(drover_adaptor *a)
{
	int rc;

	begin_op(a);
	rc = check_data(a, a->init_schema, a->init_data, "init_data");
	if (rc == 0 && a->def->on_start)
		rc = a->def->on_start(a, a->init_data);
	return finish_op(a, "start", rc);
}

static int
run_command(drover_adaptor *a, const json_t *run_data)
{
	const struct drover_adaptor_def *def = a->def;
	drover_process *p = NULL;
	drover_cmd *cmd;
	int rc, code = -1;

	cmd = drover_cmd_new();
	if (cmd == NULL)
		return drover_adaptor_error(a, DROVER_ENOMEM, "out of memory");
	rc = def->get_managed_process(a, run_data, cmd);
	if (rc == 0 && def->on_prerun)
		rc = def->on_prerun(a, run_data);
	if (rc == 0)
		rc = drover_process_start(a, cmd, def->handlers,
		    def->nhandlers, &p);
	if (rc == 0)
		rc = drover_process_wait(p, &code);
	drover_process_free(p);
	drover_cmd_free(cmd);
	if (rc != 0)
		return rc;
	if (def->on_postrun)
		return def->on_postrun(a, code);
	if (code != 0)
		return drover_adaptor_error(a, DROVER_EFAILED, "command exited "
		    "with code %d", code);
	return 0;
}

int
drover__op_run(drover_adaptor *a, const json_t *run_data)
{
	int rc;

	begin_op(a);
	rc = check_data(a, a->run_schema, run_data, "run_data");
	if (rc == 0) {
		if (a->def->on_run)
			rc = a->def->on_run(a, run_data);
		else if (a->def->get_managed_process)
			rc = run_command(a, run_data);
		else
			rc = drover_adaptor_error(a, DROVER_EINVAL, "the "
			    "adaptor has neither on_run nor "
			    "get_managed_process");
	}
	return finish_op(a, "run", rc);
}

int
drover__op_stop(drover_adaptor *a)
{
	int rc = 0;

	begin_op(a);
	if (a->def->on_stop)
		rc = a->def->on_stop(a);
	return finish_op(a, "stop", rc);
}

int
drover__op_cleanup(drover_adaptor *a)
{
	int rc = 0;

	begin_op(a);
	if (a->def->on_cleanup)
		rc = a->def->on_cleanup(a);
	return finish_op(a, "cleanup", rc);
}

unsigned long
drover__cancel_reset(drover_adaptor *a)
{
	unsigned long gen;

	pthread_mutex_lock(&a->proc_mu);
	a->canceled = 0;
	a->kill_at = 0;
	gen = ++a->op_gen;
	pthread_mutex_unlock(&a->proc_mu);
	return gen;
}

void
drover__cancel_begin(drover_adaptor *a, unsigned long gen)
{
	pthread_mutex_lock(&a->proc_mu);
	if (a->canceled || (gen != 0 && gen != a->op_gen)) {
		pthread_mutex_unlock(&a->proc_mu);
		return;
	}
	a->canceled = 1;
	pthread_mutex_unlock(&a->proc_mu);
	drover_adaptor_log(a, DROVER_LOG_INFO, "cancel requested");
	if (a->def->on_cancel)
		a->def->on_cancel(a);
	drover__procs_signal(a, SIGTERM);
	pthread_mutex_lock(&a->proc_mu);
	a->kill_at = drover__now_ms() + a->grace_ms;
	pthread_mutex_unlock(&a->proc_mu);
}

int
drover__cancel_tick(drover_adaptor *a, int now)
{
	long long t;
	int left;

	pthread_mutex_lock(&a->proc_mu);
	if (a->kill_at == 0) {
		pthread_mutex_unlock(&a->proc_mu);
		return -1;
	}
	t = drover__now_ms();
	if (!now && t < a->kill_at) {
		left = (int)(a->kill_at - t);
		pthread_mutex_unlock(&a->proc_mu);
		return left;
	}
	a->kill_at = 0;
	pthread_mutex_unlock(&a->proc_mu);
	drover_adaptor_log(a, DROVER_LOG_INFO, "grace period over: killing "
	    "managed processes");
	drover__procs_signal(a, SIGKILL);
	return -1;
}
