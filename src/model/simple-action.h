/*
 * FEATURE_BUNDLE_1 simple actions (see simple-action.c).
 */
#ifndef DROVER_SIMPLE_ACTION_H
#define DROVER_SIMPLE_ACTION_H

#include <jansson.h>

/*
 * The <StepScript> to run for step (a <StepTemplate> as JSON): its
 * "script", or the script a simple action (bash, python, cmd, powershell,
 * node) stands for: the action's script as a runnable embedded file
 * "<Step>_script.<ext>" and onRun running the interpreter on it (cmd:
 * "/C", powershell: "-File" first) followed by the action's args, timeout
 * and cancelation.  Returns a new reference, or NULL with *err (caller
 * frees).
 */
json_t	*simple_action_script(const json_t *step, char **err);

#endif
