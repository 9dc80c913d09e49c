/*
 * Parsing of the job-input options (-p, --environment) shared by the
 * commands that create jobs, and the template-to-job step they all take.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/params-cli.h"
#include "common/xmalloc.h"
#include "model/template.h"

void
params_cli_release(struct params_cli *pc)
{
	param_values_release(&pc->values);
	free(pc->envs);
	pc->envs = NULL;
	pc->nenv = 0;
}

/*
 * Matches argv[*i] against the short option sopt (or 0) and the long
 * option lopt.  Returns 1 with *arg set (and *i advanced when the argument
 * is the next word), 0 if no match, -1 if the argument is missing.
 */
static int
params_cli_match(int argc, char **argv, int *i, char sopt, const char *lopt,
    const char **arg)
{
	const char *a = argv[*i];
	size_t llen = strlen(lopt);

	if (sopt && a[0] == '-' && a[1] == sopt) {
		if (a[2] != '\0') {
			*arg = a + 2;
			return 1;
		}
	} else if (strncmp(a, lopt, llen) == 0 && a[llen] == '=') {
		*arg = a + llen + 1;
		return 1;
	} else if (strcmp(a, lopt) != 0) {
		return 0;
	}
	if (*i + 1 >= argc)
		return -1;
	*arg = argv[++*i];
	return 1;
}

int
params_cli_option(struct params_cli *pc, const struct cmd_entry *ce,
    int argc, char **argv, int *i, int *exit_code)
{
	const char *opt = argv[*i], *arg;
	int r;

	r = params_cli_match(argc, argv, i, 'p', "--parameter", &arg);
	if (r < 0) {
		*exit_code = cmd_usage_error(ce, "option '%s' needs an "
		    "argument (KEY=VALUE, file://PATH or a JSON object)", opt);
		return -1;
	}
	if (r > 0) {
		struct error_list el = ERROR_LIST_INIT;
		int usage;
		if (param_values_parse_arg(&pc->values, arg, &usage, &el) < 0) {
			if (usage) {
				char *m = error_list_first(&el);
				*exit_code = cmd_usage_error(ce, "%s", m);
				free(m);
			} else {
				error_list_print(&el, stderr);
				*exit_code = EXIT_FAIL;
			}
			error_list_release(&el);
			return -1;
		}
		error_list_release(&el);
		return 1;
	}
	r = params_cli_match(argc, argv, i, 0, "--environment", &arg);
	if (r < 0) {
		*exit_code = cmd_usage_error(ce, "option '%s' needs an "
		    "environment template file", opt);
		return -1;
	}
	if (r > 0) {
		if (*arg == '\0') {
			*exit_code = cmd_usage_error(ce, "option '%s' needs an "
			    "environment template file", opt);
			return -1;
		}
		pc->envs = xreallocarray(pc->envs, pc->nenv + 1,
		    sizeof(*pc->envs));
		pc->envs[pc->nenv++] = arg;
		return 1;
	}
	return 0;
}

struct job *
params_cli_create_job(const struct params_cli *pc, const char *path,
    struct error_list *el)
{
	struct template jt;
	struct template *et = xcalloc(pc->nenv + 1, sizeof(*et));
	const struct template **etp = xcalloc(pc->nenv + 1, sizeof(*etp));
	struct job *job = NULL;
	int rc = 0;

	memset(&jt, 0, sizeof(jt));
	for (size_t i = 0; i < pc->nenv; i++) {
		if (template_load(&et[i], pc->envs[i], el) < 0)
			rc = -1;
		else if (et[i].kind != TEMPLATE_ENV) {
			error_add(el, pc->envs[i], 0, 0, NULL, "--environment "
			    "needs an environment template (%s), not a %s",
			    TEMPLATE_SPEC_ENV, template_kind_name(et[i].kind));
			rc = -1;
		}
		etp[i] = &et[i];
	}
	if (template_load(&jt, path, el) < 0) {
		rc = -1;
	} else if (jt.kind != TEMPLATE_JOB) {
		error_add(el, path, 0, 0, NULL, "expected a job template (%s), "
		    "found an %s", TEMPLATE_SPEC_JOB,
		    template_kind_name(jt.kind));
		rc = -1;
	}
	if (rc == 0)
		job = job_create(&jt, etp, pc->nenv, &pc->values, NULL, el);
	template_release(&jt);
	for (size_t i = 0; i < pc->nenv; i++)
		template_release(&et[i]);
	free(et);
	free(etp);
	return job;
}
