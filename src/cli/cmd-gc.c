/*
 * drover gc: prunes ended jobs older than a given age.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/client.h"
#include "cli/cmd.h"

/* "30d", "12h", "45m", "10s", "0" -> milliseconds; -1 if bad. */
static long long
parse_age(const char *s)
{
	char *end;
	long long v = strtoll(s, &end, 10);

	if (end == s || v < 0)
		return -1;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		v *= 60;
		break;
	case 'h':
		v *= 3600;
		break;
	case 'd':
		v *= 86400;
		break;
	case 'w':
		v *= 7 * 86400;
		break;
	default:
		return -1;
	}
	if (*end && end[1])
		return -1;
	return v * 1000;
}

static int
cmd_gc_exec(int argc, char **argv)
{
	json_t *args, *r;
	long long age = -1;
	int rc, json = 0;

	for (int k = 1; k < argc; k++) {
		if (!strcmp(argv[k], "--json"))
			json = 1;
		else if (!strcmp(argv[k], "--older-than") && k + 1 < argc) {
			if ((age = parse_age(argv[++k])) < 0)
				return cmd_usage_error(&cmd_gc_entry,
				    "bad age '%s' (like 30d, 12h, 10m)",
				    argv[k]);
		} else if (!strncmp(argv[k], "--older-than=", 13)) {
			if ((age = parse_age(argv[k] + 13)) < 0)
				return cmd_usage_error(&cmd_gc_entry,
				    "bad age '%s' (like 30d, 12h, 10m)",
				    argv[k] + 13);
		} else
			return cmd_usage_error(&cmd_gc_entry,
			    "unknown argument '%s'", argv[k]);
	}
	if (age < 0)
		age = 30LL * 86400 * 1000;
	args = json_pack("{s:I}", "olderThanMs", (json_int_t)age);
	if ((r = client_do("gc", "gc", args, &rc)) == NULL)
		return rc;
	if (json) {
		json_object_del(r, "id");
		client_print_json(stdout, r);
	} else
		printf("removed %lld job(s)\n", (long long)json_integer_value(
		    json_object_get(r, "removed")));
	json_decref(r);
	return EXIT_OK;
}

const struct cmd_entry cmd_gc_entry = {
	"gc",
	"prune old jobs",
	"drover gc [--older-than AGE] [--json]",
	"DESCRIPTION\n"
	"    Removes jobs that ended more than AGE ago (default 30d) with their\n"
	"    attempts, events and logs, so the store stays small as history\n"
	"    piles up.\n"
	"\n"
	"OPTIONS\n"
	"    --older-than AGE\n"
	"        A number with s, m, h, d or w (seconds if bare): 30d, 12h, 0.\n"
	"    --json\n"
	"        {\"removed\": N, \"jobs\": [ids]}.\n"
	"\n"
	"EXIT STATUS\n"
	"    0 done, 2 usage error, 3 the daemon could not be reached.\n",
	.exec = cmd_gc_exec,
};
