/*
 * The job-input options that every command creating a job shares
 * (summary, run, submit): -p/--parameter in its three forms and
 * --environment, plus the step from a template path to a created job.
 *
 *	struct params_cli pc = PARAMS_CLI_INIT;
 *	for (i = 1; i < argc; i++) {
 *		int r = params_cli_option(&pc, &cmd_x_entry, argc, argv, &i,
 *		    &rc);
 *		if (r < 0)
 *			goto out;	// message printed, exit with rc
 *		if (r > 0)
 *			continue;
 *		... the command's own options ...
 *	}
 *	job = params_cli_create_job(&pc, template_path, &el);
 *	params_cli_release(&pc);
 *
 * Option forms: "-p ARG", "-pARG", "--parameter ARG", "--parameter=ARG",
 * "--environment FILE", "--environment=FILE".  -p values accumulate in
 * command-line order and a later value for a name replaces an earlier one.
 */
#ifndef DROVER_PARAMS_CLI_H
#define DROVER_PARAMS_CLI_H

#include <stddef.h>

#include "cli/cmd.h"
#include "common/error.h"
#include "model/job.h"
#include "model/params.h"

struct params_cli {
	struct param_values	  values;
	const char		**envs;		/* borrowed from argv */
	size_t			  nenv;
};

#define PARAMS_CLI_INIT { PARAM_VALUES_INIT, NULL, 0 }

void	params_cli_release(struct params_cli *);

/*
 * Looks at argv[*i].  Returns 1 if it was one of the options above (its
 * argument consumed, *i advanced past it), 0 if it is something else, or
 * -1 after printing the problem to stderr with *exit_code set: EXIT_USAGE
 * for a missing or malformed argument, EXIT_FAIL for an unreadable or
 * invalid parameter file.
 */
int	params_cli_option(struct params_cli *, const struct cmd_entry *,
	    int argc, char **argv, int *i, int *exit_code);

/*
 * Loads and validates the job template at path and the environment
 * templates, then creates the job with the collected values (relative PATH
 * values against the current directory).  Returns the job (job_free()) or
 * NULL after adding every error to el.
 */
struct job *params_cli_create_job(const struct params_cli *,
	    const char *path, struct error_list *el);

#endif
