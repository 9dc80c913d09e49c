/*
 * FEATURE_BUNDLE_1 simple actions: a step may give `bash:`, `python:`,
 * `cmd:`, `powershell:` or `node:` with a script instead of a <StepScript>.
 * Job creation expands it into the <StepScript> it stands for, so the
 * created job, the session runtime and the queue only ever see scripts.
 */
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/xmalloc.h"
#include "model/simple-action.h"

json_t *
simple_action_script(const json_t *step, char **err)
{
	static const struct {
		const char	*key;
		const char	*ext;
		const char	*prefix;	/* an argument before the file */
	} interp[] = {
		{ "python", ".py", NULL },
		{ "bash", ".sh", NULL },
		{ "cmd", ".bat", "/C" },
		{ "powershell", ".ps1", "-File" },
		{ "node", ".js", NULL },
	};
	const json_t *script = json_object_get(step, "script"), *sa = NULL;
	const char *stepname = json_string_value(json_object_get(step,
	    "name"));
	struct buf safe = BUF_INIT;
	json_t *args, *on_run, *files, *v;
	size_t i, k;
	char *fname, *ref;

	*err = NULL;
	if (script != NULL && !json_is_null(script))
		return json_incref((json_t *)script);
	for (k = 0; k < sizeof(interp) / sizeof(interp[0]); k++)
		if ((sa = json_object_get(step, interp[k].key)) != NULL)
			break;
	if (sa == NULL || !json_is_object(sa) ||
	    !json_is_string(json_object_get(sa, "script"))) {
		*err = xasprintf("step '%s' has no script", stepname ?
		    stepname : "");
		return NULL;
	}
	/* The embedded file's name: the step name made an identifier. */
	for (const char *p = stepname ? stepname : ""; *p && safe.len < 200;
	    p++)
		buf_addch(&safe, (*p >= 'a' && *p <= 'z') || (*p >= 'A' &&
		    *p <= 'Z') || (*p >= '0' && *p <= '9') ? *p : '_');
	if (safe.len == 0 || (safe.s[0] >= '0' && safe.s[0] <= '9')) {
		char *t = xasprintf("_%s", safe.s);

		buf_reset(&safe);
		buf_adds(&safe, t);
		free(t);
	}
	buf_adds(&safe, "_script");
	fname = xasprintf("%s%s", safe.s, interp[k].ext);
	ref = xasprintf("{{Task.File.%s}}", safe.s);
	args = json_array();
	if (interp[k].prefix != NULL)
		json_array_append_new(args, json_string(interp[k].prefix));
	json_array_append_new(args, json_string(ref));
	json_array_foreach(json_object_get(sa, "args"), i, v)
		json_array_append(args, v);
	on_run = json_pack("{s:s, s:o}", "command", interp[k].key, "args",
	    args);
	if ((v = json_object_get(sa, "timeout")) != NULL)
		json_object_set(on_run, "timeout", v);
	if ((v = json_object_get(sa, "cancelation")) != NULL)
		json_object_set(on_run, "cancelation", v);
	files = json_pack("[{s:s, s:s, s:s, s:O, s:b}]", "name", safe.s,
	    "type", "TEXT", "filename", fname, "data",
	    json_object_get(sa, "script"), "runnable", 1);
	free(fname);
	free(ref);
	buf_release(&safe);
	return json_pack("{s:{s:o}, s:o}", "actions", "onRun", on_run,
	    "embeddedFiles", files);
}
