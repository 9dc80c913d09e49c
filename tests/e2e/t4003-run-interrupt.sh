#!/bin/sh
# drover run and Ctrl-C: the first SIGINT cancels the running action with
# its cancelation method (here NOTIFY_THEN_TERMINATE: the task's SIGTERM
# handler runs), exits the entered environments and exits 1 without
# starting more tasks; a second SIGINT kills the action at once and stops.
# Waits are for lines appearing in the output, with a deadline.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
S="$DROVER_SOURCE_DIR/tests/session"
export TMPDIR="$T_TMP/tmp"
mkdir -p "$TMPDIR"
out="$T_TMP/out"

# wait_for TEXT: until a line of $out contains TEXT (at most 20 s)
wait_for() {
	i=0
	while ! grep -qF -- "$1" "$out" 2>/dev/null; do
		i=$((i + 1))
		[ $i -gt 400 ] && return 1
		sleep 0.05
	done
}
has_line() { cut -f2- "$out" | grep -qxF -- "$1"; }
lacks() { ! grep -qF -- "$1" "$out"; }
dead() { ! kill -0 "$1" 2>/dev/null || grep -q '^[^ ]* ([^)]*) Z' "/proc/$1/stat" 2>/dev/null; }
now_ms() { date +%s%3N; }
no_session_left() { [ -z "$(ls "$TMPDIR" | grep '^drover-session-')" ]; }

"$DROVER_BIN" run "$S/interrupt.yaml" --step Graceful -p Dir="$T_TMP" >"$out" 2>&1 &
pid=$!
T_PIDS="$T_PIDS $pid"
check "first task running" wait_for READY-1
t0=$(now_ms)
kill -INT $pid
rc=0
wait $pid || rc=$?
t1=$(now_ms)
check "interrupted run exits 1" [ "$rc" = 1 ]
check "interruption reported" grep -q "Interruption signal received" "$out"
check "the action got SIGTERM (its cancelation method)" has_line GOT-TERM
check "the action ended by its handler" grep -qE "Process [0-9]+ exited with code: 4" "$out"
check "no further task started" lacks READY-2
check "the environment was exited" has_line EXIT-E
check "summary says canceled" has_line "Session canceled"
check "the task's process is gone" dead "$(cat "$T_TMP/task-1.pid")"
check "no wait for the 30 s notify period ($((t1 - t0)) ms)" [ $((t1 - t0)) -lt 10000 ]
check "session directory removed" no_session_left

"$DROVER_BIN" run "$S/interrupt.yaml" --step Stubborn -p Dir="$T_TMP" >"$out" 2>&1 &
pid=$!
T_PIDS="$T_PIDS $pid"
check "stubborn task running" wait_for READY-S
kill -INT $pid
check "first Ctrl-C: SIGTERM sent, 60 s grace" wait_for "SIGKILL in 60 seconds"
t0=$(now_ms)
kill -INT $pid
rc=0
wait $pid || rc=$?
t1=$(now_ms)
check "second Ctrl-C: drover exits 1" [ "$rc" = 1 ]
check "second Ctrl-C: at once ($((t1 - t0)) ms)" [ $((t1 - t0)) -lt 5000 ]
check "second Ctrl-C: the action was killed" grep -qE "Process [0-9]+ was killed by signal 9" "$out"
check "second Ctrl-C: the stubborn process is gone" dead "$(cat "$T_TMP/stubborn.pid")"
check "second Ctrl-C: remaining environment reported, not exited" sh -c "grep -q \"Not exited (second interrupt): environment 'E'\" '$out' && ! grep -q '	EXIT-E\$' '$out'"
check "second Ctrl-C: session directory removed" no_session_left

done_testing
