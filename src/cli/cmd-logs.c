/*
 * drover logs: prints (and with -f follows) the log files of a job's task
 * attempts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/client.h"
#include "cli/cmd.h"
#include "common/xmalloc.h"

/*
 * An attempt's output is the byte range [offset, offset + length) of its
 * session's log file (length unknown while it runs).
 */
struct seen {
	char	*key;		/* "step/task/attempt" */
	off_t	 done;		/* bytes of the range printed */
};

/* Prints the part of the range not printed yet. */
static void
dump(const char *path, off_t start, off_t length, off_t *done)
{
	char buf[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return;
	if (lseek(fd, start + *done, SEEK_SET) == -1) {
		close(fd);
		return;
	}
	for (;;) {
		size_t want = sizeof(buf);

		if (length >= 0) {
			if (*done >= length)
				break;
			if ((off_t)want > length - *done)
				want = (size_t)(length - *done);
		}
		if ((n = read(fd, buf, want)) <= 0)
			break;
		fwrite(buf, 1, (size_t)n, stdout);
		*done += n;
	}
	close(fd);
	fflush(stdout);
}

static int
cmd_logs_exec(int argc, char **argv)
{
	struct client c = CLIENT_INIT;
	struct seen *seen = NULL;
	size_t nseen = 0;
	const char *ref = NULL, *code;
	char *step = NULL, *err = NULL;
	int64_t job, task;
	int follow = 0, rc = EXIT_OK, headers;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "-f") || !strcmp(argv[k], "--follow"))
			follow = 1;
		else if (argv[k][0] == '-' || ref)
			return cmd_usage_error(&cmd_logs_entry,
			    "unexpected argument '%s'", argv[k]);
		else
			ref = argv[k];
	}
	if (ref == NULL || client_parse_ref(ref, &job, &step, &task) == -1)
		return cmd_usage_error(&cmd_logs_entry,
		    "JOB[/STEP[/TASK]] is required");
	if (client_open(&c, 1, &err) != 0) {
		fprintf(stderr, "drover logs: %s\n", err);
		free(err);
		free(step);
		client_close(&c);
		return EXIT_SYSTEM;
	}
	for (;;) {
		json_t *args = json_object(), *r, *a;
		size_t i;
		int ended;

		client_ref_args(args, job, step, task);
		r = client_call(&c, "logs", args, &err, &code);
		if (r == NULL) {
			fprintf(stderr, "drover logs: %s\n", err);
			rc = client_exit_code(code);
			break;
		}
		ended = json_is_true(json_object_get(r, "ended"));
		headers = json_array_size(json_object_get(r, "attempts")) > 1 ||
		    task < 0;
		json_array_foreach(json_object_get(r, "attempts"), i, a) {
			const char *path = json_string_value(json_object_get(a,
			    "log"));
			json_t *lo = json_object_get(a, "logOffset");
			json_t *ll = json_object_get(a, "logLength");
			struct seen *s = NULL;
			char *key;

			if (path == NULL || !json_is_integer(lo))
				continue;
			key = xasprintf("%lld/%lld/%lld", (long long)
			    json_integer_value(json_object_get(a, "step")),
			    (long long)json_integer_value(json_object_get(a,
			    "task")), (long long)json_integer_value(
			    json_object_get(a, "attempt")));
			for (size_t k = 0; k < nseen; k++)
				if (!strcmp(seen[k].key, key))
					s = &seen[k];
			if (s != NULL)
				free(key);
			else {
				seen = xreallocarray(seen, nseen + 1,
				    sizeof(*seen));
				s = &seen[nseen++];
				s->key = key;
				s->done = 0;
				if (headers)
					printf("==> %lld/%s/%lld attempt %lld "
					    "<==\n", (long long)job,
					    json_string_value(json_object_get(a,
					    "stepName")), (long long)
					    json_integer_value(json_object_get(a,
					    "task")), (long long)
					    json_integer_value(json_object_get(a,
					    "attempt")));
			}
			dump(path, (off_t)json_integer_value(lo),
			    json_is_integer(ll) ? (off_t)json_integer_value(ll) :
			    -1, &s->done);
		}
		json_decref(r);
		if (!follow || ended)
			break;
		{
			struct timespec ts = { 0, 200 * 1000000 };

			nanosleep(&ts, NULL);
		}
	}
	for (size_t k = 0; k < nseen; k++)
		free(seen[k].key);
	free(seen);
	free(step);
	free(err);
	client_close(&c);
	return rc;
}

const struct cmd_entry cmd_logs_entry = {
	"logs",
	"print task logs",
	"drover logs [-f] JOB[/STEP[/TASK]]",
	"DESCRIPTION\n"
	"    Prints the output of a job's task attempts (of one step or task\n"
	"    when given), oldest first, each line with its UTC timestamp.  Each\n"
	"    session writes one file, $DROVER_HOME/logs/JOB/session-N.log, with\n"
	"    its environments' lines and its tasks' output; the store keeps where\n"
	"    each attempt's output starts and how long it is.\n"
	"\n"
	"OPTIONS\n"
	"    -f, --follow\n"
	"        Keep printing new output until the job ends.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 printed, 1 no such job or step, 2 usage error, 3 the daemon\n"
	"    could not be reached.\n",
	.exec = cmd_logs_exec,
};
