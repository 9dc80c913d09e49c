/*
 * The task parameter space of one step (Template Schemas 3.4, TASK_CHUNKING
 * 3.4.1.5): task parameter definitions combined by a combination expression
 * into an ordered set of tasks, each addressed by a 0-based index.  Nothing
 * is materialised: a space keeps the definitions (an INT range expression
 * as segments, lists as arrays of strings) and a small tree of product /
 * association nodes, so a 10^12-task space costs what a 10-task one does.
 * space_get() maps an index to the parameter values by mixed-radix
 * arithmetic in O(params x log(segments)).
 *
 * Order (as the spec table in 3.4.3 and openjd-rs/Python openjd): in
 * "A * B" the right-most operand varies fastest; "(A, B)" walks A and B in
 * lock step.  Without a combination expression the space is the product of
 * all parameters in definition order.  INT range expressions yield their
 * values in increasing order (see range.h); lists keep the order written.
 *
 * Values are returned as text, the way Task.Param.<name> prints them:
 *   INT        decimal ("7"; the list item "07" gives "7")
 *   FLOAT      a string item as written ("1.50"); a JSON integer as its
 *              decimal text; a JSON real as Python's repr() writes it
 *              (shortest exact digits: 1.0 -> "1.0", 1.5 -> "1.5",
 *              1e-5 -> "1e-05"); pass strings to keep YAML text as written
 *   STRING/PATH the string as given (no path mapping here)
 *   CHUNK[INT] the chunk as a range expression: CONTIGUOUS chunks are
 *              always "a-b" (a one-value chunk is "5-5"), NONCONTIGUOUS
 *              chunks are compressed ("1-3", "7,8", "1-5:2", "1-3,7")
 *
 * CHUNK[INT] (at most one per step): the range is cut into chunks of about
 * the chunk size (defaultTaskCount unless overridden with
 * space_set_chunk_size()); each chunk counts as one task.  As openjd-rs /
 * Python openjd:
 *   NONCONTIGUOUS  the n values (in range order) are cut into
 *                  ceil(n/size) chunks of near-equal length, the longer
 *                  ones first (1-8 by 3: "1-3", "4-6", "7,8")
 *   CONTIGUOUS     each maximal run of consecutive integers is cut on its
 *                  own into ceil(len/size) chunks, the leftover values
 *                  spread as Python's divide_chunk_sizes does (1-12 by 5:
 *                  "1-4", "5-8", "9-12"); a chunk never bridges a gap
 *   adaptive       (targetRuntimeSeconds > 0) chunks are cut greedily:
 *                  runs of exactly size values, the last one shorter, and
 *                  in the default combination the chunk parameter moves
 *                  to the end (varies fastest), as openjd does.  The
 *                  scheduler adapts by calling space_set_chunk_size(),
 *                  which re-cuts the whole range (task indexes change).
 */
#ifndef DROVER_SPACE_H
#define DROVER_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common/error.h"

struct space;

/*
 * Builds the space from the JSON form of a <StepParameterSpaceDefinition>
 * after job-parameter substitution:
 *   {"taskParameterDefinitions": [{"name": "Frame",
 *       "type": "INT"|"FLOAT"|"STRING"|"PATH"|"CHUNK[INT]",
 *       "range": [values...] | "range-expression" (INT, CHUNK[INT]),
 *       "chunks": {"defaultTaskCount": N, "targetRuntimeSeconds": N,
 *                  "rangeConstraint": "CONTIGUOUS"|"NONCONTIGUOUS"}}],
 *    "combination": "Frame * (A, B)"}
 * List items may be JSON strings, integers or reals; chunk numbers may be
 * JSON integers or integer strings.  parameter_space == NULL (or JSON null)
 * is a step without parameters: one task with no values.
 *
 * Returns NULL after adding errors to el (file as given, line/col 0, paths
 * like "parameterSpace.taskParameterDefinitions[1].range" or
 * "parameterSpace.combination"): bad range expression, bad or empty list,
 * unknown type, duplicate parameter names, combination syntax errors,
 * unknown names, a parameter missing from or repeated in the combination,
 * association members of different lengths, a task count above
 * SPACE_MAX_TASKS.  The template validator reports most of these with line
 * numbers first; space_new() re-checks so it is safe on any input.
 */
struct space	*space_new(const json_t *parameter_space, struct error_list *el,
		    const char *file);
/* Same, with error paths under prefix (e.g. "steps[2].parameterSpace";
 * NULL or "" for none) instead of "parameterSpace". */
struct space	*space_new_ex(const json_t *parameter_space,
		    struct error_list *el, const char *file, const char *prefix);
void		 space_free(struct space *);

/* Upper bound on a space's task count (2^63 - 1). */
#define SPACE_MAX_TASKS	((uint64_t)INT64_MAX)

/* Number of tasks (chunks for CHUNK[INT]); >= 1 for a built space. */
uint64_t	 space_count(const struct space *);

/* Parameters in definition order; names and types belong to the space. */
size_t		 space_nparams(const struct space *);
const char	*space_param_name(const struct space *, size_t i);
const char	*space_param_type(const struct space *, size_t i);	/* "INT", ... */
/* Number of values of parameter i (for CHUNK[INT]: before chunking). */
uint64_t	 space_param_nvalues(const struct space *, size_t i);
/* Index of the parameter called name, or -1. */
int		 space_param_index(const struct space *, const char *name);

/*
 * Values of task index: values[i] = malloc'd text of parameter i (caller
 * frees each; the array has space_nparams() slots).  Returns 0, or -1
 * (values untouched) if index >= space_count().
 */
int		 space_get(const struct space *, uint64_t index, char **values);

/*
 * Non-allocating space_get(): values[i] points either into the space (list
 * items) or into buf (numbers and chunk text, NUL-terminated).  (The one
 * exception: a NONCONTIGUOUS chunk of a CHUNK[INT] *list* range uses a
 * temporary array.)  Valid until
 * the next call with the same buf or until the space is freed.  Returns 0;
 * -1 with errno EDOM if index is out of range, ERANGE if buf (bufsize
 * bytes) is too small — 32 bytes per parameter always suffice for spaces
 * without CHUNK[INT].
 */
int		 space_get_r(const struct space *, uint64_t index,
		    const char **values, char *buf, size_t bufsize);

/*
 * Index of the task whose parameter values are values[] (text as produced
 * by space_get, one per parameter); -1 if there is none.  Lets a caller
 * check "--task-param" style input.  O(params x list length).
 */
int64_t		 space_find(const struct space *, const char *const *values);

/* CHUNK[INT]: index of the chunked parameter, or -1 if none. */
int		 space_chunk_param(const struct space *);
/* The template's chunks values (0 when absent / no chunk parameter). */
uint64_t	 space_chunk_default_count(const struct space *);
uint64_t	 space_chunk_target_runtime(const struct space *);
int		 space_chunk_contiguous(const struct space *);	/* 1/0 */
/* Chunk size now in use (defaultTaskCount unless overridden). */
uint64_t	 space_chunk_size(const struct space *);
/*
 * Overrides the chunk size (>= 1), e.g. when a scheduler adapts to
 * targetRuntimeSeconds; space_count() and the index mapping change
 * accordingly.  Returns 0, or -1 if there is no CHUNK[INT] parameter, n is
 * 0, or the new count would exceed SPACE_MAX_TASKS.
 */
int		 space_set_chunk_size(struct space *, uint64_t n);

#endif
