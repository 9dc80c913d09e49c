/*
 * adaptor-bench: what libdrover-adaptor costs per run.  The program is both
 * a trivial adaptor (on_run prints one progress line) and, with `bench N`,
 * the driver that measures it:
 *
 *   - N `daemon run` invocations against one daemon (process start-up of
 *     the client + connect + run + streamed output + exit);
 *   - N `run` invocations (process start-up + config + start/run/stop);
 *   - N spawns of /bin/true: the cost of starting any process here, and
 *     N `version-info` runs: starting the adaptor's process (dynamic
 *     libraries included) to do nothing, which both of the above include;
 *   - N runs submitted straight over the daemon's socket with the
 *     documented protocol (docs/adaptor-protocol.md): the daemon's own
 *     per-run overhead, without starting a client process.
 *
 *	adaptor-bench bench [N]		(bench/adaptor-bench.sh runs it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <drover/adaptor.h>

extern char **environ;

static int
on_run(drover_adaptor *a, const json_t *run_data)
{
	(void)run_data;
	drover_adaptor_progress(a, 100);
	return 0;
}

static const struct drover_adaptor_def bench_def = {
	.name = "AdaptorBench",
	.data_version_major = 1,
	.on_run = on_run,
};

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* Runs argv with stdout/stderr to /dev/null; returns its exit status. */
static int
run(char *const argv[])
{
	posix_spawn_file_actions_t fa;
	int st;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static double
time_runs(int n, char *const argv[])
{
	double t0 = now_us();
	int i;

	for (i = 0; i < n; i++)
		if (run(argv) != 0) {
			fprintf(stderr, "adaptor-bench: '%s %s' failed\n",
			    argv[0], argv[1]);
			exit(1);
		}
	return (now_us() - t0) / n;
}

/* One run over the socket: submit, read lines until "done", bye. */
static int
socket_run(const char *sock)
{
	static const char submit[] =
	    "{\"t\":\"submit\",\"v\":1,\"kind\":\"run\",\"data\":{}}\n";
	static const char bye[] = "{\"t\":\"bye\"}\n";
	struct sockaddr_un sa;
	char buf[4096];
	size_t len = 0;
	ssize_t n;
	int fd, done = 0;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(sock) >= sizeof(sa.sun_path))
		return -1;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    write(fd, submit, sizeof(submit) - 1) < 0)
		return -1;
	while (!done && (n = read(fd, buf + len, sizeof(buf) - 1 - len)) > 0) {
		len += (size_t)n;
		buf[len] = '\0';
		done = strstr(buf, "\"t\":\"done\"") != NULL;
		if (!done && strchr(buf, '\n'))	/* keep the unfinished tail */
			len = strlen(strcpy(buf, strrchr(buf, '\n') + 1));
	}
	if (done && strstr(buf, "\"result\":\"ok\"") == NULL)
		done = 0;
	if (write(fd, bye, sizeof(bye) - 1) < 0)
		done = 0;
	close(fd);
	return done ? 0 : -1;
}

static int
bench(const char *self, int n)
{
	char dir[] = "/tmp/adaptor-bench-XXXXXX", conn[64], sock[256];
	char *start[] = { (char *)self, "daemon", "start", "--connection-file",
	    conn, NULL };
	char *drun[] = { (char *)self, "daemon", "run", "--connection-file",
	    conn, "--run-data", "{}", NULL };
	char *prun[] = { (char *)self, "run", "--init-data", "{}",
	    "--run-data", "{}", NULL };
	char *stop[] = { (char *)self, "daemon", "stop", "--connection-file",
	    conn, NULL };
	char *info[] = { (char *)self, "version-info", NULL };
	char *truth[] = { "/bin/true", NULL };
	double t_daemon, t_run, t_true, t_info, t_sock, t0;
	json_error_t je;
	json_t *doc;
	int i;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(conn, sizeof(conn), "%s/conn.json", dir);
	if (run(start) != 0) {
		fprintf(stderr, "adaptor-bench: daemon start failed\n");
		return 1;
	}
	doc = json_load_file(conn, 0, &je);
	snprintf(sock, sizeof(sock), "%s",
	    json_string_value(json_object_get(doc, "socket")));
	json_decref(doc);

	(void)time_runs(n / 10 + 1, drun);	/* warm up */
	t_daemon = time_runs(n, drun);
	t_run = time_runs(n, prun);
	t_true = time_runs(n, truth);
	t_info = time_runs(n, info);
	t0 = now_us();
	for (i = 0; i < n; i++)
		if (socket_run(sock) != 0) {
			fprintf(stderr, "adaptor-bench: socket run failed\n");
			return 1;
		}
	t_sock = (now_us() - t0) / n;
	run(stop);
	unlink(conn);
	rmdir(dir);

	printf("runs of the same trivial adaptor work, %d each:\n", n);
	printf("  %-34s %9.0f us/run\n", "ADAPTOR daemon run (whole command)",
	    t_daemon);
	printf("  %-34s %9.0f us/run\n", "ADAPTOR run (whole command)", t_run);
	printf("  %-34s %9.0f us/run\n", "/bin/true (any process start)",
	    t_true);
	printf("  %-34s %9.0f us/run\n", "ADAPTOR version-info (no work)",
	    t_info);
	printf("  %-34s %9.1f us/run\n", "run over the socket (no client "
	    "process)", t_sock);
	printf("per-run cost beyond starting the adaptor's process "
	    "(version-info):\n");
	printf("  daemon run: %.0f us/run   run: %.0f us/run\n",
	    t_daemon - t_info, t_run - t_info);
	return 0;
}

int
main(int argc, char **argv)
{
	char self[4096];
	ssize_t n;

	if (argc >= 2 && !strcmp(argv[1], "bench")) {
		n = readlink("/proc/self/exe", self, sizeof(self) - 1);
		if (n <= 0)
			return 1;
		self[n] = '\0';
		return bench(self, argc >= 3 ? atoi(argv[2]) : 1000);
	}
	return drover_adaptor_main(argc, argv, &bench_def);
}
