/*
 * Job creation (How Jobs Are Constructed; Template Schemas 1.1.1, 1.2.1,
 * 2, 3.3, 3.4): a validated job template, the environment templates given
 * with it and the submitted parameter values become a *created job*, the
 * object the queue stores and the session runtime runs.
 *
 * Everything decided at submission is decided here:
 *   - parameter definitions merged (params.h) and values checked, with
 *     defaults, INT canonicalisation and PATH joins applied;
 *   - the job name resolved (Param.* without PATH, RawParam.*) and checked
 *     (1..128 characters, 512 with FEATURE_BUNDLE_1, no control chars);
 *   - each step's parameter space resolved: range expressions and list
 *     items holding "{{ }}", chunks.defaultTaskCount/targetRuntimeSeconds
 *     (TASK_CHUNKING), then checked again (a range expression that only
 *     exists after resolution is validated now) and compiled (space.h);
 *   - host requirements resolved (capability names, attribute values and,
 *     under FEATURE_BUNDLE_1, amount min/max) and checked again: name
 *     pattern and length, reserved scopes, duplicates, the values of the
 *     standard attributes;
 *   - step dependencies checked and put in a topological order.
 * What is evaluated on the worker host (`@fmtstring[host]`: actions,
 * embedded files, environment variables, FEATURE_BUNDLE_1 timeouts) is kept
 * as written.  docs/job-json.md describes the JSON form.
 *
 * Memory: a struct job owns everything it holds; every pointer an accessor
 * returns is borrowed and valid until job_free().
 */
#ifndef DROVER_JOB_H
#define DROVER_JOB_H

#include <stddef.h>

#include <jansson.h>

#include "common/error.h"
#include "model/format.h"
#include "model/params.h"
#include "model/space.h"
#include "model/template.h"

/* The "format" member of the JSON form. */
#define JOB_JSON_FORMAT	"drover-job-1"

struct job;

/*
 * Creates a job.  job_tmpl must be a job template and env_tmpls[0..nenv)
 * environment templates, all loaded with template_load() and valid.
 * values may be NULL (no values).  cwd is the directory relative PATH
 * values are joined with (NULL: the process's current directory); the
 * template's own directory (absolute) is where relative PATH defaults
 * point.  Returns the job, or NULL after adding every problem found to el,
 * each naming the template file, line:column and field where it can
 * ("job.yaml:4:7: parameterDefinitions[0].maxValue: job parameter
 * 'Frames': value 200 is above maxValue 100").
 */
struct job	*job_create(const struct template *job_tmpl,
		    const struct template *const *env_tmpls, size_t nenv,
		    const struct param_values *values, const char *cwd,
		    struct error_list *el);

/* The JSON form (new reference), see docs/job-json.md. */
json_t		*job_to_json(const struct job *);
/*
 * Rebuilds a job from job_to_json() output (e.g. read back from the
 * queue's store).  Checks the structure, recompiles the parameter spaces
 * and the dependency order; returns NULL after adding errors (paths into
 * the JSON, no file) to el.  job_to_json(job_from_json(j)) equals j.
 */
struct job	*job_from_json(const json_t *, struct error_list *el);
void		 job_free(struct job *);

const char	*job_name(const struct job *);
const char	*job_description(const struct job *);	/* or NULL */
/* Absolute directory of the job template (where PATH defaults point). */
const char	*job_template_dir(const struct job *);
/* TEMPLATE_EXT_* bits the job template declared. */
unsigned	 job_extensions(const struct job *);

/* Job parameters, merged definition order. */
size_t		 job_nparams(const struct job *);
const char	*job_param_name(const struct job *, size_t i);
enum param_type	 job_param_type(const struct job *, size_t i);
/* The canonical value (params.h); PATH values are absolute. */
const char	*job_param_value(const struct job *, size_t i);
/* PATH only: "FILE"/"DIRECTORY" and "NONE"/"IN"/"OUT"/"INOUT", or NULL
 * when no template said. */
const char	*job_param_object_type(const struct job *, size_t i);
const char	*job_param_data_flow(const struct job *, size_t i);
/* Value of the parameter called name, or NULL. */
const char	*job_param_get(const struct job *, const char *name);

/*
 * Param.<name> and RawParam.<name> for every job parameter, both set to
 * the value.  For PATH parameters the session must replace Param.<name>
 * with the path-mapped value when it has mapping rules.  Borrowed: copy it
 * (symtab_copy) before adding Session.*, Task.* and the like.
 */
const struct symtab *job_symtab(const struct job *);

/*
 * Job environments in the order they are entered: the `environment` of
 * each environment template (in the order given), then the job template's
 * jobEnvironments.  Each is an <Environment> object as written (plus
 * "source": FILE for those from environment templates).
 */
size_t		 job_nenvironments(const struct job *);
const json_t	*job_environment(const struct job *, size_t i);

/* Steps, template order. */
size_t		 job_nsteps(const struct job *);
/* Index of the step called name, or -1. */
long		 job_step_find(const struct job *, const char *name);
const char	*job_step_name(const struct job *, size_t i);
const char	*job_step_description(const struct job *, size_t i);
/* <StepScript> as written. */
const json_t	*job_step_script(const struct job *, size_t i);
/* stepEnvironments list as written, or NULL. */
const json_t	*job_step_environments(const struct job *, size_t i);
/* Resolved <HostRequirements>, or NULL. */
const json_t	*job_step_host_requirements(const struct job *, size_t i);
/* Resolved <StepParameterSpaceDefinition> (the space_new() input), or
 * NULL when the step has no parameters. */
const json_t	*job_step_parameter_space(const struct job *, size_t i);
/* The compiled task space (always present: one empty task when the step
 * has no parameters).  Owned by the job; space_set_chunk_size() may be
 * called on it. */
struct space	*job_step_space(const struct job *, size_t i);
/* Indexes of the steps step i depends on, template order of dependsOn. */
const size_t	*job_step_deps(const struct job *, size_t i, size_t *n);
/* Step indexes, each after every step it depends on (openjd's order:
 * depth first in template order).  *n = job_nsteps(). */
const size_t	*job_order(const struct job *, size_t *n);

#endif
