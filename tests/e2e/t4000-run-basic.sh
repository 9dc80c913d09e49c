#!/bin/sh
# drover run: steps in dependency order inside their environments, step
# selection, --run-dependencies, --maximum-tasks, --task-param, --tasks,
# --output json, --preserve, timestamp formats, failures and usage errors.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
S="$DROVER_SOURCE_DIR/tests/session"
export TMPDIR="$T_TMP/tmp"
mkdir -p "$TMPDIR"
out="$T_TMP/out"

# run ARGS...: drover run with stdout+stderr in $out, status in $rc
run() { rc=0; "$DROVER_BIN" run "$@" >"$out" 2>&1 || rc=$?; }
# The text of the output lines (timestamps cut off).
text() { cut -f2- "$out"; }
has_line() { text | grep -qxF -- "$1"; }
# in_order LINE...: these whole lines appear in this order
in_order() {
	text | awk -v want="$(printf '%s\n' "$@")" '
	BEGIN { n = split(want, w, "\n"); i = 1 }
	i <= n && $0 == w[i] { i++ }
	END { exit !(i > n) }'
}
count_lines() { text | grep -cxF -- "$1"; }
no_session_left() { [ -z "$(ls "$TMPDIR" | grep '^drover-session-')" ]; }

run "$S/basic.yaml"
check "all steps: exit 0" [ "$rc" = 0 ]
check "environments and steps in order" in_order ENTER-JobEnv ENTER-StepEnv \
    TASK-First-1a TASK-First-1b TASK-First-2a TASK-First-2b TASK-First-3a \
    TASK-First-3b EXIT-StepEnv TASK-Second TASK-Other EXIT-JobEnv
check "each environment entered once" [ "$(count_lines ENTER-StepEnv)" = 1 ]
check "summary counts tasks" has_line "Tasks run: 8"
check "summary counts steps" has_line "Steps run: 3"
check "job name resolved" grep -qF "Running job 'Basic t1'" "$out"
check "session directory removed" no_session_left

run "$S/basic.yaml" --step Second -p Tag=zz
check "--step: exit 0" [ "$rc" = 0 ]
check "--step runs only that step" sh -c "! grep -q TASK-First '$out' && grep -q TASK-Second '$out'"
check "-p value used" grep -qF "Running job 'Basic zz'" "$out"

run "$S/basic.yaml" --step Second --run-dependencies
check "--run-dependencies runs First first" in_order TASK-First-1a TASK-First-3b TASK-Second
check "--run-dependencies skips unrelated steps" sh -c "! grep -qx '.*	TASK-Other' '$out'"

run "$S/basic.yaml" --step First --maximum-tasks 2
check "--maximum-tasks 2" [ "$(text | grep -c '^TASK-')" = 2 ]
check "--maximum-tasks takes the first tasks" in_order TASK-First-1a TASK-First-1b

run "$S/basic.yaml" --step First --task-param N=2 -t L=b
check "--task-param: one task" [ "$(text | grep -c '^TASK-')" = 1 ]
check "--task-param: that task" has_line TASK-First-2b

run "$S/basic.yaml" --step First --tasks '[{"N": 3, "L": "a"}, {"N": "01", "L": "b"}]'
check "--tasks: in the order given" in_order TASK-First-3a TASK-First-1b
check "--tasks: nothing else" [ "$(text | grep -c '^TASK-')" = 2 ]
printf -- '- N: 2\n  L: a\n' >"$T_TMP/tasks.yaml"
run "$S/basic.yaml" --step First --tasks "file://$T_TMP/tasks.yaml"
check "--tasks file://" sh -c "[ $rc = 0 ] && grep -q 'TASK-First-2a' '$out'"

run "$S/basic.yaml" --step First --task-param N=9 --task-param L=a
check "task outside the parameter space refused" [ "$rc" = 1 ]
run "$S/basic.yaml" --task-param N=1 --task-param L=a
check "task parameters without --step on a multi-step job: usage" [ "$rc" = 2 ]
run "$S/basic.yaml" --step First --tasks '[]' --maximum-tasks 1
check "--tasks with --maximum-tasks: usage" [ "$rc" = 2 ]
run "$S/basic.yaml" --step Nope
check "unknown step: exit 1" [ "$rc" = 1 ]
run "$S/basic.yaml" --timestamp-format never
check "bad --timestamp-format: usage" [ "$rc" = 2 ]
run "$S/basic.yaml" --bogus
check "unknown option: usage" [ "$rc" = 2 ]
run
check "no template: usage" [ "$rc" = 2 ]

run "$S/basic.yaml" -p FailAt=2a
check "failed task: exit 1" [ "$rc" = 1 ]
check "failed task stops the session" sh -c "grep -q TASK-First-2a '$out' && ! grep -q 'TASK-First-2b\$' '$out' && ! grep -q '	TASK-Second' '$out'"
check "environments exited after the failure" in_order TASK-First-2a EXIT-StepEnv EXIT-JobEnv
check "summary counts the failure" has_line "Tasks failed: 1"
check "session directory removed after a failure" no_session_left

run "$S/basic.yaml" --output json
check "json: exit 0" [ "$rc" = 0 ]
check "json: every line is a JSON object" python -c '
import json, sys
lines = open(sys.argv[1]).read().splitlines()
objs = [json.loads(l) for l in lines]
s = objs[-1]
assert s["type"] == "summary" and s["status"] == "success", s
assert s["tasks_run"] == 8 and s["steps_run"] == 3, s
outs = [o["text"] for o in objs if o["type"] == "output"]
assert outs[0] == "ENTER-JobEnv" and outs[-1] == "EXIT-JobEnv", outs
ends = [o for o in objs if o["type"] == "action_end"]
assert len(ends) == 8 + 4 and all(e["state"] == "success" for e in ends)
' "$out"

run "$S/basic.yaml" --step Other --preserve
dir=$(text | sed -n 's/^Working directory preserved at: //p')
check "--preserve keeps the session directory" test -n "$dir" -a -d "$dir"
check "--preserve: private directory" [ "$(stat -c %a "$dir" 2>/dev/null)" = 700 ]
rm -rf "$dir"

run "$S/basic.yaml" --step Other --timestamp-format utc
check "utc timestamps" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}Z	TASK-Other$' "$out"
run "$S/basic.yaml" --step Other --timestamp-format local
check "local timestamps" grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}\.[0-9]{3}	TASK-Other$' "$out"
run "$S/basic.yaml" --step Other
check "relative timestamps" grep -qE '^0:00:[0-9]{2}\.[0-9]{3}	TASK-Other$' "$out"

done_testing
