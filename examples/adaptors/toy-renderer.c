/*
 * toy-renderer: a stand-in for a real renderer, for the example adaptors
 * and their tests.  It pays a start-up cost (loading), then "renders"
 * frames in steps, printing "Rendered i/N" after each step; frames that are
 * multiples of 5 print a warning about a missing texture on stderr.
 * In --serve mode, "fail-next" makes the next render fail with a license
 * error.
 *
 *	toy-renderer [options]		render one frame and exit
 *	toy-renderer --serve [options]	load once, then render frames asked
 *					for on stdin ("render FRAME STEPS
 *					[OUTPUT]", "quit")
 *
 * Options: --scene NAME, --frame N, --steps N, --step-ms MS,
 * --startup-ms MS, --output PATH (write the "image" there),
 * --license-error (fail after the first step), --ignore-term (ignore
 * SIGTERM, so only SIGKILL stops it), --spawn-child (leave a child process
 * in the same process group, as some applications do).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct opts {
	const char	*scene;
	long		 frame;
	long		 steps;
	long		 step_ms;
	long		 startup_ms;
	const char	*output;
	int		 license_error;
	int		 ignore_term;
	int		 spawn_child;
	int		 serve;
};

static void
sleep_ms(long ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

static long
num(const char *opt, const char *s)
{
	char *end;
	long v;

	v = strtol(s ? s : "", &end, 10);
	if (s == NULL || *s == '\0' || *end != '\0' || v < 0) {
		fprintf(stderr, "toy-renderer: %s needs a number\n", opt);
		exit(2);
	}
	return v;
}

static int
render(const struct opts *o, long frame, long steps, const char *output)
{
	FILE *fp;
	long i;

	printf("Rendering frame %ld of scene '%s'\n", frame, o->scene);
	fflush(stdout);
	if (frame % 5 == 0) {
		fprintf(stderr, "WARNING: texture 'wood.png' not found, using "
		    "grey\n");
		fflush(stderr);
	}
	for (i = 1; i <= steps; i++) {
		sleep_ms(o->step_ms);
		if (o->license_error) {
			fprintf(stderr, "License error: no license available "
			    "for toy-renderer\n");
			fflush(stderr);
			return 3;
		}
		printf("Rendered %ld/%ld\n", i, steps);
		fflush(stdout);
	}
	if (output) {
		fp = fopen(output, "w");
		if (fp == NULL) {
			fprintf(stderr, "cannot write '%s': %s\n", output,
			    strerror(errno));
			return 1;
		}
		fprintf(fp, "frame %ld of scene %s\n", frame, o->scene);
		fclose(fp);
		printf("Wrote %s\n", output);
	}
	fflush(stdout);
	return 0;
}

static void
spawn_child(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		/* A helper that outlives nothing on its own. */
		for (;;)
			pause();
	}
	if (pid > 0) {
		printf("CHILD %d\n", (int)pid);
		fflush(stdout);
	}
}

static int
serve(struct opts *o)
{
	char line[4096], out[4096];
	long frame, steps;
	int n, rc;

	printf("READY scene '%s'\n", o->scene);
	fflush(stdout);
	while (fgets(line, sizeof(line), stdin) != NULL) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!strcmp(line, "quit")) {
			printf("BYE\n");
			fflush(stdout);
			return 0;
		}
		if (!strcmp(line, "fail-next")) {
			o->license_error = 1;
			continue;
		}
		out[0] = '\0';
		n = sscanf(line, "render %ld %ld %4095s", &frame, &steps, out);
		if (n < 2) {
			printf("ERROR: unknown command '%s'\n", line);
			fflush(stdout);
			continue;
		}
		rc = render(o, frame, steps, n == 3 ? out : NULL);
		o->license_error = 0;
		printf("%s %ld\n", rc == 0 ? "DONE" : "FAILED", frame);
		fflush(stdout);
	}
	return 0;
}

int
main(int argc, char **argv)
{
	struct opts o = { "default", 1, 5, 50, 300, NULL, 0, 0, 0, 0 };
	int i;

	/* --name=value is --name value. */
	char **args = calloc((size_t)argc * 2 + 1, sizeof(char *)), *eq;
	int n = 0;

	if (args == NULL)
		return 1;
	for (i = 0; i < argc; i++) {
		eq = strncmp(argv[i], "--", 2) == 0 ? strchr(argv[i], '=') :
		    NULL;
		args[n++] = argv[i];
		if (eq) {
			*eq = '\0';
			args[n++] = eq + 1;
		}
	}
	argc = n;
	argv = args;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--scene") && v)
			o.scene = argv[++i];
		else if (!strcmp(a, "--frame"))
			o.frame = num(a, argv[++i]);
		else if (!strcmp(a, "--steps"))
			o.steps = num(a, argv[++i]);
		else if (!strcmp(a, "--step-ms"))
			o.step_ms = num(a, argv[++i]);
		else if (!strcmp(a, "--startup-ms"))
			o.startup_ms = num(a, argv[++i]);
		else if (!strcmp(a, "--output") && v)
			o.output = argv[++i];
		else if (!strcmp(a, "--license-error"))
			o.license_error = 1;
		else if (!strcmp(a, "--ignore-term"))
			o.ignore_term = 1;
		else if (!strcmp(a, "--spawn-child"))
			o.spawn_child = 1;
		else if (!strcmp(a, "--serve"))
			o.serve = 1;
		else {
			fprintf(stderr, "toy-renderer: unknown option '%s'\n",
			    a);
			free(args);
			return 2;
		}
	}
	if (o.ignore_term)
		signal(SIGTERM, SIG_IGN);
	if (o.spawn_child)
		spawn_child();
	printf("Loading scene '%s'\n", o.scene);
	fflush(stdout);
	sleep_ms(o.startup_ms);
	i = o.serve ? serve(&o) : render(&o, o.frame, o.steps, o.output);
	free(args);
	return i;
}
