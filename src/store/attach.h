/*
 * Job attachments in the queue's store (docs/attachments.md, "Queue
 * integration"): what `drover submit --attach` recorded for a job (the
 * content-addressed store it used, one input manifest per attached
 * directory, whether outputs are captured, path mapping rules given with
 * the job) and the output manifests recorded per task attempt.  Tables
 * job_attach, job_inputs and attempt_outputs (schema.c, migration 4).
 *
 * Only records live here: the files are in the CAS store (src/cas), and the
 * session worker's side is daemon/attach.h.
 */
#ifndef DROVER_STORE_ATTACH_H
#define DROVER_STORE_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct store;

struct queue_attach_input {
	char		*root;		/* absolute, as submitted */
	char		*manifest;	/* manifest hash in the store */
	int64_t		 files;
	int64_t		 bytes;
};

struct queue_attach {
	char		*store;		/* CAS store root; NULL: no attachments */
	int		 capture_outputs;
	char		*path_mapping;	/* rules document (JSON text) or NULL */
	struct queue_attach_input *inputs;
	size_t		 ninputs;
};

#define QUEUE_ATTACH_INIT { NULL, 0, NULL, NULL, 0 }

/*
 * Checks the "attachments" argument of a submit request (docs/protocol.md):
 *
 *	{"store": "/abs/cas", "captureOutputs": true,
 *	 "inputs": [{"root": "/abs/dir", "manifest": "<32 hex>",
 *	             "files": 3, "bytes": 1024}, ...],
 *	 "pathMappingRules": {"version": "pathmapping-1.0", ...}}
 *
 * Every member is optional, but inputs and captureOutputs need a store.
 * Returns 0, or -1 with *err (malloc'd).
 */
int	queue_attach_check(const json_t *spec, char **err);
/* Records spec (checked) for job, in one transaction.  0 or -1 (*err). */
int	queue_attach_set(struct store *, int64_t job, const json_t *spec,
	    char **err);
/*
 * Loads the job's record into qa (released by the caller).  1 if the job
 * has one, 0 if not (qa stays empty), -1 on a store error.
 */
int	queue_attach_get(struct store *, int64_t job, struct queue_attach *qa);
void	queue_attach_release(struct queue_attach *);

/* An output manifest of a task attempt: what it wrote under one directory. */
struct queue_output {
	const char	*param;		/* the PATH parameter's name */
	const char	*root;		/* its value as submitted */
	const char	*manifest;	/* hash of the manifest in the store */
	int64_t		 files;
	int64_t		 bytes;
};

/* Records outputs[0..n) for the attempt (one transaction).  0 or -1. */
int	queue_attach_outputs_add(struct store *, int64_t job, int64_t attempt,
	    const struct queue_output *outputs, size_t n);

/*
 * The job's attachments as JSON for `drover show --json` and `drover
 * download`, or NULL if the job has none:
 *
 *	{"store", "captureOutputs", "inputs": [{"root", "manifest", "files",
 *	 "bytes"}], "pathMappingRules" (if given), "outputManifests":
 *	 [{"step", "stepName", "task", "attempt", "state", "param", "root",
 *	   "manifest", "files", "bytes", "capturedAt"}]}
 *
 * outputManifests are in the order they were captured (ties: attempt).
 */
json_t	*queue_attach_json(struct store *, int64_t job);

#endif
