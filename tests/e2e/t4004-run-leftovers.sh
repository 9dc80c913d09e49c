#!/bin/sh
# drover run: nothing an action starts outlives it - a background job in
# its process group, a child that moved to a new session (setsid), a
# grandchild whose parent exited, a nohup'd process.  The action itself
# returns at once; drover must not wait for them either.  What an
# environment's onEnter starts lives until that environment exits.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
S="$DROVER_SOURCE_DIR/tests/session"
export TMPDIR="$T_TMP/tmp"
mkdir -p "$TMPDIR"
out="$T_TMP/out"
# gone PID: no such process, or a zombie waiting for init
gone() { [ -n "$1" ] && { ! kill -0 "$1" 2>/dev/null || grep -q '^[^ ]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }; }
now_ms() { date +%s%3N; }

t0=$(now_ms)
rc=0
"$DROVER_BIN" run "$S/leftovers.yaml" -p Dir="$T_TMP" >"$out" 2>&1 || rc=$?
t1=$(now_ms)
check "run succeeds" [ "$rc" = 0 ]
check "task ran" grep -q "	TASK-DONE$" "$out"
check "what the onEnter started runs during the task" grep -q "	ENTER-BG-ALIVE$" "$out"
check "and is killed when its environment exits" grep -q "that environment 'Starter' left running" "$out"
check "drover did not wait for the leftovers ($((t1 - t0)) ms)" [ $((t1 - t0)) -lt 20000 ]
for f in enter-bg bg setsid deep nohup; do
	p=$(cat "$T_TMP/$f.pid" 2>/dev/null)
	T_PIDS="$T_PIDS $p"
	check "$f process ($p) is gone" gone "$p"
done
check "escaped processes are reported" grep -q "left running outside its process group" "$out"

done_testing
