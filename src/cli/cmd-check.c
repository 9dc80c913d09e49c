/*
 * drover check [--json] FILE...: validates job and environment templates
 * (the kind comes from each file's specificationVersion) and reports every
 * problem found, one per line, as FILE:LINE:COL: field.path: message.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli/cmd.h"
#include "common/error.h"
#include "model/template.h"

static int
cmd_check_exec(int argc, char **argv)
{
	struct error_list all = ERROR_LIST_INIT;
	int json = 0, nfiles = 0, failed = 0, i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			i++;
			break;
		}
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return cmd_usage_error(&cmd_check_entry,
			    "unknown option '%s'", argv[i]);
		else
			break;
	}
	/* options may also follow the files */
	for (int k = i; k < argc; k++)
		if (strcmp(argv[k], "--json") == 0)
			json = 1;
	for (int k = i; k < argc; k++)
		if (strcmp(argv[k], "--json") != 0)
			nfiles++;
	if (nfiles == 0)
		return cmd_usage_error(&cmd_check_entry, "no template given");

	for (; i < argc; i++) {
		struct error_list el = ERROR_LIST_INIT;
		struct template t;

		if (strcmp(argv[i], "--json") == 0)
			continue;
		if (template_load(&t, argv[i], &el) == 0) {
			if (!json)
				printf("%s: ok (%s)\n", argv[i],
				    template_kind_name(t.kind));
		} else {
			failed = 1;
			if (!json)
				error_list_print(&el, stderr);
		}
		template_release(&t);
		error_list_take(&all, &el);
	}
	if (json) {
		json_t *j = error_list_to_json(&all);
		char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (s)
			puts(s);
		free(s);
		json_decref(j);
	}
	error_list_release(&all);
	fflush(stdout);
	return failed ? EXIT_FAIL : EXIT_OK;
}

const struct cmd_entry cmd_check_entry = {
	.name = "check",
	.summary = "validate job and environment templates",
	.usage = "drover check [--json] FILE...",
	.help =
	"DESCRIPTION\n"
	"    Validates each FILE, a job template (specificationVersion\n"
	"    jobtemplate-2023-09) or an environment template (environment-\n"
	"    2023-09), written in YAML or JSON, against the OpenJD 2023-09\n"
	"    Template Schemas and the extensions TASK_CHUNKING,\n"
	"    REDACTED_ENV_VARS and FEATURE_BUNDLE_1.  Every problem is\n"
	"    reported, not only the first: unknown or missing keys, types,\n"
	"    lengths and counts, names, format string references (with the\n"
	"    nearest valid name), range and combination expressions, step\n"
	"    dependencies.\n\n"
	"    A valid file prints 'FILE: ok (job template)' on standard output.\n"
	"    Problems go to standard error, one per line:\n\n"
	"        FILE:LINE:COL: field.path: message\n\n"
	"    Values known only when a job is created (parameter values, the\n"
	"    resolved job name) are checked by 'drover summary' and the\n"
	"    commands that create jobs.\n\n"
	"OPTIONS\n"
	"    --json\n"
	"        Print one JSON array of all problems on standard output\n"
	"        instead: objects with file, line, column, path and message.\n"
	"        Nothing is printed for valid files (the array is empty when\n"
	"        all are valid).\n\n"
	"EXIT STATUS\n"
	"    0 when every FILE is valid, 1 when any is not (or cannot be\n"
	"    read), 2 on a usage error.\n",
	.exec = cmd_check_exec,
};
