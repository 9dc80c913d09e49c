#!/bin/sh
# drover run: embedded files are written into the session directory before
# each action that needs them, with the action's values resolved: a
# runnable script (0700, explicit filename) run as the command, a data file
# (0600, generated name, FEATURE_BUNDLE_1 endOfLine CRLF), an environment's
# file for onEnter, onExit and its variables.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
S="$DROVER_SOURCE_DIR/tests/session"
export TMPDIR="$T_TMP/tmp"
mkdir -p "$TMPDIR"
out="$T_TMP/out"
rc=0
"$DROVER_BIN" run "$S/files.yaml" -p Word=fish >"$out" 2>&1 || rc=$?
has_line() { cut -f2- "$out" | grep -qxF -- "$1"; }

check "run succeeds" [ "$rc" = 0 ]
check "environment file read by onEnter" has_line "conf word=fish"
check "environment file read by onExit via a variable" has_line "exit reads conf word=fish"
check "runnable file ran with its filename" has_line "script run-task.sh frame 1 word fish"
check "rewritten for the next task" has_line "script run-task.sh frame 2 word fish"
check "modes: runnable 700, data 600" has_line "mode 700 600"
check "written in the session directory" has_line "in embedded_files of session dir: yes"
check "CRLF line ends" has_line '0000000 a 1 \r \n b \r \n'
check "data rewritten per task" has_line '0000000 a 2 \r \n b \r \n'

done_testing
