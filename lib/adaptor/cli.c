/*
 * drover_adaptor_main(): the command line every adaptor gets, the same as
 * the OpenJD Python adaptor runtime's (run, daemon start|run|stop,
 * show-config, version-info, is-compatible), so a job template written for
 * one works with the other.
 *
 * `run` drives the whole lifecycle in this process: a worker thread runs
 * start, run, stop and cleanup while the main thread waits for it and for
 * SIGINT/SIGTERM, which cancel the run (a second signal skips the rest of
 * the grace period).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "adaptor-int.h"

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_SYSTEM	3

/* Abandon a worker that does not return this long after SIGKILL time. */
#define ABANDON_MS	10000

static const char usage_text[] =
"usage: %s <command> [options]\n"
"\n"
"commands:\n"
"  run --init-data DATA --run-data DATA [--path-mapping-rules DATA]\n"
"      start, run, stop and clean up the adaptor in this process\n"
"  daemon start [--connection-file PATH] [--init-data DATA]\n"
"               [--path-mapping-rules DATA] [--log-file PATH]\n"
"      start the adaptor in a background process and run its start step\n"
"  daemon run [--connection-file PATH] [--run-data DATA]\n"
"      run the adaptor in the background process, streaming its output\n"
"  daemon stop [--connection-file PATH]\n"
"      stop and clean up the adaptor; the background process exits\n"
"  show-config\n"
"      print the adaptor's configuration\n"
"  version-info\n"
"      print the CLI and data interface versions\n"
"  is-compatible --openjd-adaptor-cli-version M.m\n"
"                --integration-data-interface-version M.m\n"
"      check that this adaptor provides the versions a job expects\n"
"\n"
"DATA is JSON or YAML text, or file://PATH.  Without --connection-file,\n"
"`daemon run` and `daemon stop` find the daemon through the\n"
"OPENJD_ADAPTOR_SOCKET variable that `daemon start` prints as an\n"
"openjd_env message.\n"
"\n"
"exit status: 0 success, 1 the adaptor failed or was canceled, 2 usage\n"
"error, 3 system error\n";

static const char *
progname(const char *argv0)
{
	const char *s = argv0 ? strrchr(argv0, '/') : NULL;

	return s ? s + 1 : argv0 ? argv0 : "adaptor";
}

static int
usage_error(const char *prog, const char *fmt, ...) DROVER_PRINTF(2, 3);

static int
usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n(see '%s --help')\n", prog);
	return EXIT_USAGE;
}

/*
 * Parses "--name value" / "--name=value" options from argv[from..]; the
 * value of names[i] lands in values[i].  Returns 0, EXIT_USAGE after a
 * message, or -1 for --help.
 */
static int
parse_opts(const char *prog, int argc, char **argv, int from,
    const char *const *names, const char **values)
{
	const char *arg, *eq, *val;
	size_t len, i;
	int k;

	for (k = from; k < argc; k++) {
		arg = argv[k];
		if (!strcmp(arg, "-h") || !strcmp(arg, "--help"))
			return -1;
		if (strncmp(arg, "--", 2) != 0)
			return usage_error(prog, "unexpected argument '%s'",
			    arg);
		eq = strchr(arg, '=');
		len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
		for (i = 0; names[i]; i++)
			if (strlen(names[i]) == len &&
			    !strncmp(arg + 2, names[i], len))
				break;
		if (names[i] == NULL)
			return usage_error(prog, "unknown option '%.*s'",
			    (int)len + 2, arg);
		if (eq)
			val = eq + 1;
		else if (k + 1 < argc)
			val = argv[++k];
		else
			return usage_error(prog, "option '--%s' needs a value",
			    names[i]);
		values[i] = val;
	}
	return 0;
}

int
drover__version_parse(const char *s, struct drover__version *v)
{
	char *end;
	long ma, mi;

	if (s == NULL || *s < '0' || *s > '9')
		return DROVER_EINVAL;
	errno = 0;
	ma = strtol(s, &end, 10);
	if (errno || *end != '.' || end[1] < '0' || end[1] > '9')
		return DROVER_EINVAL;
	mi = strtol(end + 1, &end, 10);
	if (errno || *end != '\0' || ma > 1000000 || mi > 1000000)
		return DROVER_EINVAL;
	v->major = (int)ma;
	v->minor = (int)mi;
	return 0;
}

int
drover__version_compatible(struct drover__version have,
    struct drover__version want)
{
	/* Before 1.0 every minor version may break compatibility. */
	if (have.major == 0 && want.major == 0)
		return have.minor == want.minor;
	return have.major == want.major && have.minor >= want.minor;
}

static const char *
adaptor_name(const struct drover_adaptor_def *def, const char *prog)
{
	return def->name ? def->name : prog;
}

static int
cmd_version_info(const struct drover_adaptor_def *def, const char *prog)
{
	printf("OpenJD Adaptor CLI Version: '%s'\n",
	    DROVER_ADAPTOR_CLI_VERSION);
	printf("%s Data Interface Version: '%d.%d'\n", adaptor_name(def, prog),
	    def->data_version_major, def->data_version_minor);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_SYSTEM;
}

static int
cmd_is_compatible(const struct drover_adaptor_def *def, const char *prog,
    int argc, char **argv)
{
	static const char *const names[] = { "openjd-adaptor-cli-version",
	    "integration-data-interface-version", NULL };
	const char *vals[2] = { NULL, NULL };
	struct drover__version cli_have, data_have, cli_want, data_want;
	FILE *fp;
	int rc, ok;

	rc = parse_opts(prog, argc, argv, 2, names, vals);
	if (rc < 0) {
		printf("usage: %s is-compatible --openjd-adaptor-cli-version "
		    "M.m --integration-data-interface-version M.m\n", prog);
		return EXIT_OK;
	}
	if (rc != 0)
		return rc;
	if (vals[0] == NULL || vals[1] == NULL)
		return usage_error(prog, "is-compatible needs "
		    "--openjd-adaptor-cli-version and "
		    "--integration-data-interface-version");
	if (drover__version_parse(vals[0], &cli_want) != 0)
		return usage_error(prog, "version '%s' is not of the form "
		    "Major.Minor", vals[0]);
	if (drover__version_parse(vals[1], &data_want) != 0)
		return usage_error(prog, "version '%s' is not of the form "
		    "Major.Minor", vals[1]);
	(void)drover__version_parse(DROVER_ADAPTOR_CLI_VERSION, &cli_have);
	data_have.major = def->data_version_major;
	data_have.minor = def->data_version_minor;
	ok = drover__version_compatible(cli_have, cli_want) &&
	    drover__version_compatible(data_have, data_want);
	fp = ok ? stdout : stderr;
	fprintf(fp, "%s: installed interface versions are %scompatible with "
	    "the expected ones\n", prog, ok ? "" : "in");
	fprintf(fp, "installed:\n  OpenJD Adaptor CLI Version: %d.%d\n"
	    "  %s Data Interface Version: %d.%d\n", cli_have.major,
	    cli_have.minor, adaptor_name(def, prog), data_have.major,
	    data_have.minor);
	fprintf(fp, "expected:\n  OpenJD Adaptor CLI Version: %d.%d\n"
	    "  %s Data Interface Version: %d.%d\n", cli_want.major,
	    cli_want.minor, adaptor_name(def, prog), data_want.major,
	    data_want.minor);
	return ok ? EXIT_OK : EXIT_USAGE;
}

static int
new_handle(const struct drover_adaptor_def *def, const char *prog,
    drover_adaptor **a)
{
	char err[DROVER__ERRMAX];
	int rc;

	rc = drover__adaptor_new(def, a, err, sizeof(err));
	if (rc != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return rc == DROVER_ENOMEM ? EXIT_SYSTEM : EXIT_FAIL;
	}
	return 0;
}

static int
cmd_show_config(const struct drover_adaptor_def *def, const char *prog)
{
	drover_adaptor *a;
	char *text;
	int rc;

	rc = new_handle(def, prog, &a);
	if (rc != 0)
		return rc;
	text = json_dumps(a->config, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (text)
		printf("%s\n", text);
	free(text);
	drover__adaptor_free(a);
	return text ? EXIT_OK : EXIT_SYSTEM;
}

/* Loads --init-data and --path-mapping-rules into the handle. */
static int
load_inputs(drover_adaptor *a, const char *prog, const char *init,
    const char *pmr)
{
	char err[DROVER__ERRMAX];
	json_t *doc;
	int rc;

	json_decref(a->init_data);
	a->init_data = NULL;
	rc = drover__load_data(init, "init data", &a->init_data, err,
	    sizeof(err));
	if (rc == 0 && pmr) {
		rc = drover__load_data(pmr, "path mapping rules", &doc, err,
		    sizeof(err));
		if (rc == 0) {
			rc = drover_pathmap_load_json(a->pathmap, doc, err,
			    sizeof(err));
			json_decref(doc);
		}
	}
	if (rc == 0)
		return 0;
	fprintf(stderr, "%s: %s\n", prog, err);
	return rc == DROVER_ENOMEM ? EXIT_SYSTEM : EXIT_USAGE;
}

/* ---- run ---------------------------------------------------------------- */

struct run_state {
	drover_adaptor	*a;
	const json_t	*run_data;
	int		 result;
	int		 done_fd;
};

static int run_sig[2] = { -1, -1 };

static void
on_run_signal(int sig)
{
	unsigned char c = (unsigned char)sig;
	int saved = errno;

	if (write(run_sig[1], &c, 1) < 0) {
		/* already full */
	}
	errno = saved;
}

static void *
run_worker(void *arg)
{
	struct run_state *rs = arg;
	drover_adaptor *a = rs->a;
	int rc, rc2;

	drover__cancel_reset(a);
	rc = drover__op_start(a);
	if (rc == 0) {
		drover__cancel_reset(a);
		rc = drover__op_run(a, rs->run_data);
		drover__cancel_reset(a);
		rc2 = drover__op_stop(a);
		if (rc == 0)
			rc = rc2;
	}
	drover__cancel_reset(a);
	rc2 = drover__op_cleanup(a);
	if (rc == 0)
		rc = rc2;
	rs->result = rc;
	(void)drover__write_all(rs->done_fd, "d", 1);
	return NULL;
}

static int
cmd_run(const struct drover_adaptor_def *def, const char *prog, int argc,
    char **argv)
{
	static const char *const names[] = { "init-data", "run-data",
	    "path-mapping-rules", NULL };
	const char *vals[3] = { NULL, NULL, NULL };
	struct sigaction sa, old_int, old_term;
	struct run_state rs;
	struct pollfd pfd[2];
	drover_adaptor *a = NULL;
	json_t *run_data = NULL;
	sigset_t block, old;
	pthread_t th;
	char err[DROVER__ERRMAX], buf[16];
	int done[2] = { -1, -1 }, rc, r, nsig = 0, timeout, abandoned = 0;
	long long abandon_at = 0;

	rc = parse_opts(prog, argc, argv, 2, names, vals);
	if (rc < 0) {
		printf("usage: %s run --init-data DATA --run-data DATA "
		    "[--path-mapping-rules DATA]\n", prog);
		return EXIT_OK;
	}
	if (rc != 0)
		return rc;
	rc = new_handle(def, prog, &a);
	if (rc != 0)
		return rc;
	rc = load_inputs(a, prog, vals[0], vals[2]);
	if (rc != 0)
		goto out;
	if (drover__load_data(vals[1], "run data", &run_data, err,
	    sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		rc = EXIT_USAGE;
		goto out;
	}
	if (pipe2(run_sig, O_CLOEXEC | O_NONBLOCK) != 0 ||
	    pipe2(done, O_CLOEXEC) != 0) {
		fprintf(stderr, "%s: pipe: %s\n", prog, strerror(errno));
		rc = EXIT_SYSTEM;
		goto out;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_run_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);

	rs.a = a;
	rs.run_data = run_data;
	rs.result = 0;
	rs.done_fd = done[1];
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	r = pthread_create(&th, NULL, run_worker, &rs);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		fprintf(stderr, "%s: cannot create a thread: %s\n", prog,
		    strerror(r));
		rc = EXIT_SYSTEM;
		goto restore;
	}
	for (;;) {
		pfd[0].fd = run_sig[0];
		pfd[0].events = POLLIN;
		pfd[1].fd = done[0];
		pfd[1].events = POLLIN;
		timeout = drover__cancel_tick(a, 0);
		if (abandon_at) {
			long long left = abandon_at - drover__now_ms();

			if (left <= 0) {
				abandoned = 1;
				break;
			}
			if (timeout < 0 || left < timeout)
				timeout = (int)left;
		}
		r = poll(pfd, 2, timeout);
		if (r < 0 && errno != EINTR)
			break;
		if (r > 0 && (pfd[0].revents & POLLIN)) {
			while (read(run_sig[0], buf, sizeof(buf)) > 0)
				nsig++;
			if (!abandon_at) {
				drover__cancel_begin(a, 0);
				abandon_at = drover__now_ms() + a->grace_ms +
				    ABANDON_MS;
			} else
				(void)drover__cancel_tick(a, 1);
		}
		if (r > 0 && (pfd[1].revents & POLLIN))
			break;
	}
	if (abandoned) {
		drover_adaptor_log(a, DROVER_LOG_ERROR, "the adaptor did not "
		    "stop after the cancel: giving up on it");
		pthread_detach(th);
		/* The worker still uses a: leave it to the exiting process. */
		a = NULL;
		rc = EXIT_FAIL;
		goto restore;
	}
	pthread_join(th, NULL);
	rc = rs.result == 0 ? EXIT_OK : EXIT_FAIL;
restore:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
out:
	if (!abandoned) {
		for (r = 0; r < 2; r++) {
			if (run_sig[r] >= 0)
				close(run_sig[r]);
			if (done[r] >= 0)
				close(done[r]);
			run_sig[r] = -1;
		}
		json_decref(run_data);
	}
	drover__adaptor_free(a);
	return rc;
}

/* ---- daemon ----------------------------------------------------------- */

static int
cmd_daemon(const struct drover_adaptor_def *def, const char *prog, int argc,
    char **argv)
{
	static const char *const start_names[] = { "connection-file",
	    "init-data", "path-mapping-rules", "log-file", NULL };
	static const char *const run_names[] = { "connection-file",
	    "run-data", NULL };
	static const char *const stop_names[] = { "connection-file", NULL };
	const char *vals[4] = { NULL, NULL, NULL, NULL };
	struct drover__start_opts so;
	const char *sub;
	char err[DROVER__ERRMAX];
	drover_adaptor *a = NULL;
	json_t *run_data = NULL;
	int rc;

	if (argc < 3 || argv[2][0] == '-') {
		if (argc >= 3 && (!strcmp(argv[2], "-h") ||
		    !strcmp(argv[2], "--help"))) {
			printf(usage_text, prog);
			return EXIT_OK;
		}
		return usage_error(prog, "daemon needs a subcommand: start, "
		    "run or stop");
	}
	sub = argv[2];
	if (!strcmp(sub, "start")) {
		rc = parse_opts(prog, argc, argv, 3, start_names, vals);
		if (rc != 0)
			return rc < 0 ? (printf(usage_text, prog), EXIT_OK) :
			    rc;
		rc = new_handle(def, prog, &a);
		if (rc != 0)
			return rc;
		rc = load_inputs(a, prog, vals[1], vals[2]);
		if (rc == 0) {
			so.connection_file = vals[0];
			so.log_file = vals[3];
			rc = drover__daemon_start(a, &so);
		}
		drover__adaptor_free(a);
		return rc;
	}
	if (!strcmp(sub, "run")) {
		rc = parse_opts(prog, argc, argv, 3, run_names, vals);
		if (rc != 0)
			return rc < 0 ? (printf(usage_text, prog), EXIT_OK) :
			    rc;
		if (drover__load_data(vals[1], "run data", &run_data, err,
		    sizeof(err)) != 0) {
			fprintf(stderr, "%s: %s\n", prog, err);
			return EXIT_USAGE;
		}
		rc = drover__client_run(NULL, vals[0], run_data);
		json_decref(run_data);
		return rc;
	}
	if (!strcmp(sub, "stop")) {
		rc = parse_opts(prog, argc, argv, 3, stop_names, vals);
		if (rc != 0)
			return rc < 0 ? (printf(usage_text, prog), EXIT_OK) :
			    rc;
		return drover__client_stop(NULL, vals[0]);
	}
	return usage_error(prog, "unknown daemon subcommand '%s' (start, run "
	    "or stop)", sub);
}

int
drover_adaptor_main(int argc, char **argv, const struct drover_adaptor_def *def)
{
	const char *prog = progname(argc > 0 ? argv[0] : NULL);
	const char *cmd;

	if (def == NULL)
		return EXIT_SYSTEM;
	/* Writes to a closed pipe or socket fail with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return usage_error(prog, "no command given");
	cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") ||
	    !strcmp(cmd, "help")) {
		printf(usage_text, prog);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "version-info"))
		return cmd_version_info(def, prog);
	if (!strcmp(cmd, "is-compatible"))
		return cmd_is_compatible(def, prog, argc, argv);
	if (!strcmp(cmd, "show-config"))
		return cmd_show_config(def, prog);
	if (!strcmp(cmd, "run"))
		return cmd_run(def, prog, argc, argv);
	if (!strcmp(cmd, "daemon"))
		return cmd_daemon(def, prog, argc, argv);
	return usage_error(prog, "unknown command '%s'", cmd);
}
