/*
 * Job attachments in a session worker (docs/attachments.md, "Queue
 * integration"): the job's input directories are materialised under the
 * session directory, path mapping rules from each submitted root to its
 * session copy are generated (merged with the rules given with the job),
 * and after each successful task the files it wrote into the job's output
 * directories (PATH parameters with dataFlow OUT or INOUT and objectType
 * DIRECTORY) are stored as output manifests of the attempt.
 *
 * The planning (attach_plan_*, attach_step_refers) is pure logic.  The
 * content-addressed store is reached through struct attach_cas_ops, which
 * src/cas/attach-queue.c provides and the drover binary installs before a
 * worker starts (the cas library is linked after this one, so this layer
 * cannot call it directly).
 */
#ifndef DROVER_DAEMON_ATTACH_H
#define DROVER_DAEMON_ATTACH_H

#include <stddef.h>
#include <stdint.h>

#include "session/pathmap.h"
#include "store/attach.h"

struct job;
struct store;

/* Store operations a worker needs (all return 0, or -1 with *err). */
struct attach_cas_ops {
	/* Materialises the manifest (a hash in store) under dir. */
	int	(*download)(const char *store, const char *manifest,
		    const char *dir, char **err);
	/* A snapshot of dir as it is now (opaque), or NULL with *err. */
	void	*(*snapshot)(const char *dir, char **err);
	/*
	 * Uploads the files of dir into store and stores the manifest of
	 * those that are new or changed since *snap (which becomes the new
	 * snapshot).  hash gets the manifest's hash, or "" when no file
	 * changed; files and bytes count its entries.
	 */
	int	(*capture)(const char *store, const char *dir, void **snap,
		    char hash[33], int64_t *files, int64_t *bytes, char **err);
	void	(*snapshot_free)(void *);
};

/* Installs the store operations (NULL: none; jobs with inputs fail). */
void	attach_set_cas_ops(const struct attach_cas_ops *);

/* One output directory of a session. */
struct attach_out {
	char	*param;		/* the PATH parameter */
	char	*root;		/* its value as submitted */
	char	*local;		/* where the session sees it (Param.<name>) */
	int	 out_only;	/* dataFlow OUT (0: INOUT) */
	int	 declared;	/* the step refers to the parameter */
	void	*snap;		/* last snapshot (cas ops) */
};

struct attach_plan {
	char		**in_local;	/* the session copy of each input */
	size_t		  nin;
	struct attach_out *outs;
	size_t		  nouts;
};

#define ATTACH_PLAN_INIT { NULL, 0, NULL, 0 }

/*
 * Plans the attachments of a session of step `step` whose directory is
 * dir (absolute).  Input k is copied to dir/attach/in<k>/<base> (base:
 * the last component of its root) and gets a rule root -> copy.  With
 * qa->capture_outputs every OUT or INOUT directory parameter is an
 * output: where the rules do not already map it into dir (it is not
 * inside an input) it gets dir/attach/out<k>/<base> and a rule.  The
 * generated rules come before the rules already in pm (they win a tie)
 * and pm is replaced by the merged, sorted set.  Returns 0, or -1 with
 * *err (malloc'd).
 */
int	attach_plan_make(struct attach_plan *, const struct job *, size_t step,
	    const struct queue_attach *qa, const char *dir, struct pathmap *pm,
	    char **err);
void	attach_plan_release(struct attach_plan *);

/*
 * 1 if the script or the environments of step refer to Param.<param> or
 * RawParam.<param> in a format string, else 0.
 */
int	attach_step_refers(const struct job *, size_t step, const char *param);

/*
 * The unmatched-outputs rule: if the step declares at least one OUT
 * output (out_only and declared) and counts[i] (files the attempt wrote
 * into outs[i]) is 0 for all of them, returns the reason ("unmatched
 * output patterns: ...", malloc'd), else NULL.
 */
char	*attach_unmatched(const struct attach_plan *, const int64_t *counts);

/* ---- the worker's side ---- */

struct attach_worker;

/* A line for the session log (task: 1 for the running task's log). */
typedef void attach_log_fn(void *arg, int task, const char *line);

/*
 * Loads the job's attachment record.  *aw is NULL if the job has none.
 * 0, or -1 with *err.
 */
int	attach_worker_new(struct attach_worker **aw, struct store *,
	    int64_t job, const struct job *, size_t step, attach_log_fn *,
	    void *log_arg, char **err);
void	attach_worker_free(struct attach_worker *);
/* Rules given with the job (NULL if none), for session_config. */
const struct pathmap *attach_worker_rules(const struct attach_worker *);
/* 1 if the session must be prepared (inputs or outputs). */
int	attach_worker_active(const struct attach_worker *);
/* session_config.prepare: plans, downloads the inputs, snapshots outputs. */
int	attach_worker_prepare(void *aw, const char *dir, struct pathmap *pm,
	    char **err);
/*
 * After a task attempt that succeeded: stores and records its outputs.
 * Returns 0; 1 if the attempt must fail because its outputs match
 * nothing (*msg: the reason); -1 on errors (*msg).  *msg is malloc'd.
 */
int	attach_worker_capture(struct attach_worker *, struct store *,
	    int64_t attempt, char **msg);

#endif
