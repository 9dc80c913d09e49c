/*
 * drover show: one job in detail: state and reason, steps with task
 * counts, task attempts.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"

static void
print_counts(const json_t *c)
{
	const char *k;
	json_t *v;
	int first = 1;

	json_object_foreach((json_t *)c, k, v) {
		printf("%s%s %lld", first ? "" : ", ", k,
		    (long long)json_integer_value(v));
		first = 0;
	}
}

static int
cmd_show_exec(int argc, char **argv)
{
	json_t *args = json_object(), *r, *j, *st, *a;
	const char *ref = NULL;
	char *step = NULL, t1[32], t2[32];
	int64_t job, task;
	int json = 0, rc, events = 0;
	size_t i;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			json = 1;
		else if (!strcmp(argv[k], "--events"))
			events = 1;
		else if (argv[k][0] == '-' || ref) {
			json_decref(args);
			return cmd_usage_error(&cmd_show_entry,
			    "unexpected argument '%s'", argv[k]);
		} else
			ref = argv[k];
	}
	if (ref == NULL || client_parse_ref(ref, &job, &step, &task) == -1) {
		json_decref(args);
		return cmd_usage_error(&cmd_show_entry, "JOB[/STEP[/TASK]] is "
		    "required");
	}
	client_ref_args(args, job, step, task);
	free(step);
	if (events)
		json_object_set_new(args, "events", json_true());
	if ((r = client_do("show", "show", args, &rc)) == NULL)
		return rc;
	j = json_object_get(r, "job");
	if (json) {
		client_print_json(stdout, j);
		json_decref(r);
		return EXIT_OK;
	}
	printf("job %lld: %s\n", (long long)json_integer_value(
	    json_object_get(j, "id")), json_string_value(json_object_get(j,
	    "name")));
	printf("  state:     %s (%s)%s%s\n", json_string_value(
	    json_object_get(j, "state")), json_string_value(json_object_get(j,
	    "reason")), *json_string_value(json_object_get(j, "message")) ?
	    ": " : "", json_string_value(json_object_get(j, "message")));
	printf("  priority:  %lld, on error %s, max retries %lld\n",
	    (long long)json_integer_value(json_object_get(j, "priority")),
	    json_string_value(json_object_get(j, "onError")),
	    (long long)json_integer_value(json_object_get(j, "maxRetries")));
	client_fmt_time(json_object_get(j, "submittedAt"), t1, sizeof(t1));
	printf("  submitted: %s by %s\n", t1, json_string_value(
	    json_object_get(j, "submitter")));
	client_fmt_time(json_object_get(j, "startedAt"), t1, sizeof(t1));
	client_fmt_time(json_object_get(j, "endedAt"), t2, sizeof(t2));
	printf("  started:   %s\n  ended:     %s\n", t1, t2);
	if (json_array_size(json_object_get(j, "after"))) {
		printf("  after:    ");
		json_array_foreach(json_object_get(j, "after"), i, a)
			printf(" %lld", (long long)json_integer_value(a));
		printf("\n");
	}
	printf("  steps:\n");
	json_array_foreach(json_object_get(j, "steps"), i, st) {
		printf("    %-16s %-14s %lld task(s): ", json_string_value(
		    json_object_get(st, "name")), json_string_value(
		    json_object_get(st, "state")), (long long)json_integer_value(
		    json_object_get(st, "tasks")));
		print_counts(json_object_get(st, "counts"));
		if (json_object_get(st, "message"))
			printf(" (%s)", json_string_value(json_object_get(st,
			    "message")));
		printf("\n");
	}
	if (json_array_size(json_object_get(j, "attempts")))
		printf("  attempts:\n");
	json_array_foreach(json_object_get(j, "attempts"), i, a) {
		json_t *ec = json_object_get(a, "exitCode");
		json_t *fm = json_object_get(a, "failMessage");

		client_fmt_time(json_object_get(a, "startedAt"), t1, sizeof(t1));
		printf("    %s/%lld #%lld %-9s %s", json_string_value(
		    json_object_get(a, "stepName")), (long long)
		    json_integer_value(json_object_get(a, "task")), (long long)
		    json_integer_value(json_object_get(a, "attempt")),
		    json_string_value(json_object_get(a, "state")), t1);
		if (ec)
			printf(" exit %lld", (long long)json_integer_value(ec));
		if (*json_string_value(json_object_get(a, "reason")))
			printf(" %s", json_string_value(json_object_get(a,
			    "reason")));
		if (fm)
			printf(": %s", json_string_value(fm));
		printf("\n");
	}
	if (events) {
		printf("  events:\n");
		json_array_foreach(json_object_get(j, "events"), i, a) {
			client_fmt_time(json_object_get(a, "time"), t1,
			    sizeof(t1));
			printf("    %s", t1);
			if (json_object_get(a, "step"))
				printf(" step %lld", (long long)
				    json_integer_value(json_object_get(a,
				    "step")));
			if (json_object_get(a, "task"))
				printf(" task %lld", (long long)
				    json_integer_value(json_object_get(a,
				    "task")));
			printf(" %s -> %s %s %s\n", json_object_get(a, "from") ?
			    json_string_value(json_object_get(a, "from")) : "-",
			    json_object_get(a, "to") ? json_string_value(
			    json_object_get(a, "to")) : "-", json_string_value(
			    json_object_get(a, "reason")), json_object_get(a,
			    "message") ? json_string_value(json_object_get(a,
			    "message")) : "");
		}
	}
	json_decref(r);
	return EXIT_OK;
}

const struct cmd_entry cmd_show_entry = {
	"show",
	"show a job in detail",
	"drover show JOB[/STEP[/TASK]] [--events] [--json]",
	"DESCRIPTION\n"
	"    Shows a job: state with its reason code and message, priority and\n"
	"    policies, times, each step with its task counts, and the attempts\n"
	"    (of one step or task when given: STEP is a name or an index, TASK\n"
	"    an index in the step's parameter space).\n"
	"\n"
	"OPTIONS\n"
	"    --events\n"
	"        Also the job's event log: every state change with its time\n"
	"        and reason.\n"
	"    --json\n"
	"        The job as JSON (with steps, attempts and events).\n"
	"\n"
	"EXIT STATUS\n"
	"    0 shown, 1 no such job or step, 2 usage error, 3 the daemon could\n"
	"    not be reached.\n",
	.exec = cmd_show_exec,
};
