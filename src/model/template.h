/*
 * OpenJD 2023-09 templates: a job template (`jobtemplate-2023-09`) or an
 * environment template (`environment-2023-09`) loaded from YAML or JSON and
 * checked against the Template Schemas: required and unknown keys, types,
 * every length/count/range limit, identifier rules, unique names, format
 * string references in the scope of each field, range and combination
 * expressions, step dependencies, and the rules of the extensions
 * TASK_CHUNKING, REDACTED_ENV_VARS and FEATURE_BUNDLE_1.
 *
 *	struct template t;
 *	struct error_list el = ERROR_LIST_INIT;
 *	if (template_load(&t, "job.yaml", &el) < 0)
 *		error_list_print(&el, stderr);	// every problem, in file order
 *	...
 *	template_release(&t);
 *
 * Validation never stops at the first problem: each error carries the
 * file, the line:column of the offending node (of the enclosing map for a
 * missing key) and a field path such as
 * "steps[2].script.actions.onRun.command".
 *
 * What is left to job creation (model/job.h): values that only exist once
 * job parameters are known — a resolved job name's length, range
 * expressions and list items containing "{{ }}", merged parameter
 * definitions.  A template that passes here is structurally sound.
 *
 * docs/validation.md lists the rules and where drover departs from a
 * literal reading of the corpus.
 */
#ifndef DROVER_TEMPLATE_H
#define DROVER_TEMPLATE_H

#include <stddef.h>

#include "common/doc.h"
#include "common/error.h"

enum template_kind {
	TEMPLATE_JOB,
	TEMPLATE_ENV,
};

/* Extension bits (the template's `extensions:` list). */
#define TEMPLATE_EXT_TASK_CHUNKING	0x01u
#define TEMPLATE_EXT_REDACTED_ENV_VARS	0x02u
#define TEMPLATE_EXT_FEATURE_BUNDLE_1	0x04u
#define TEMPLATE_EXT_EXPR		0x08u	/* recognised, refused */
/* The extensions drover implements. */
#define TEMPLATE_EXT_SUPPORTED	(TEMPLATE_EXT_TASK_CHUNKING | \
	TEMPLATE_EXT_REDACTED_ENV_VARS | TEMPLATE_EXT_FEATURE_BUNDLE_1)

#define TEMPLATE_SPEC_JOB	"jobtemplate-2023-09"
#define TEMPLATE_SPEC_ENV	"environment-2023-09"

struct template {
	struct doc		 doc;		/* the whole document; doc.root */
	enum template_kind	 kind;
	unsigned		 extensions;	/* TEMPLATE_EXT_* declared */
};

/*
 * Loads path (YAML or JSON), tells the kind from specificationVersion and
 * validates.  Returns 0 if the template is valid; else -1 after adding
 * every error to el.  Call template_release() in both cases.  On -1,
 * t->kind is a best guess (from specificationVersion or the keys present)
 * and t->doc.root may be NULL (unreadable or unparsable file).
 */
int	template_load(struct template *, const char *path,
	    struct error_list *el);
/* Same from memory; name is used in diagnostics. */
int	template_load_mem(struct template *, const char *name,
	    const char *text, size_t len, struct error_list *el);
void	template_release(struct template *);

/*
 * Validates a document already loaded into t->doc (t->kind and
 * t->extensions are set from it).  template_load() calls this.
 */
int	template_validate(struct template *, struct error_list *el);

/* "job template" / "environment template" */
const char *template_kind_name(enum template_kind);

/* Bit for an extension name ("TASK_CHUNKING"), or 0 if unknown. */
unsigned template_extension_bit(const char *name);
/* Name of one extension bit, or NULL. */
const char *template_extension_name(unsigned bit);

/*
 * The limits that apply to a template with the given extensions (the
 * FEATURE_BUNDLE_1 extension raises several).  Lengths are in Unicode
 * characters.  Job creation uses these for values known only then (the
 * resolved job name, resolved range list items).
 */
struct template_limits {
	size_t	identifier_len;		/* parameter/task/file names: 64 (512) */
	size_t	job_name_len;		/* resolved job name: 128 (512) */
	size_t	step_name_len;		/* 64 (512) */
	size_t	env_name_len;		/* 64 (512) */
	size_t	job_param_count;	/* job template: 50 (200) */
	size_t	env_param_count;	/* environment template: 50 */
	size_t	filename_len;		/* embedded file filename: 64 (256) */
	size_t	description_len;	/* 2048 */
	size_t	param_string_len;	/* job parameter string values: 1024 */
	size_t	label_len;		/* userInterface labels: 64 */
	size_t	range_list_len;		/* task parameter range lists: 1024 */
	size_t	task_string_len;	/* resolved task parameter strings: 1024 */
	size_t	task_param_count;	/* per step: 16 */
	size_t	combination_len;	/* 1280 */
	size_t	host_req_count;		/* amounts + attributes: 50 */
	size_t	capability_name_len;	/* 100 */
	size_t	attr_value_count;	/* anyOf / allOf items: 50 */
	size_t	attr_value_len;		/* 100 */
	size_t	file_filter_count;	/* 20 */
	size_t	file_pattern_len;	/* 20 */
	size_t	env_var_name_len;	/* 256 */
	size_t	env_var_value_len;	/* 2048 */
	long	notify_period_max;	/* seconds: 600 */
};

void	template_limits_init(struct template_limits *, unsigned extensions);

#endif
