#!/bin/sh
# libdrover-adaptor: SIGTERM/SIGINT cancel a run, in `run` and in
# `daemon run`: on_cancel, SIGTERM to the managed process group, SIGKILL
# after the grace period (cancel_grace_seconds, 2 in the examples), a
# non-zero exit, and no process of the run left alive.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
B=${DROVER_BUILD_DIR:?}
CMD=$B/adaptor-toy-cmd
DMN=$B/adaptor-toy-daemon
export HOME="$T_TMP"
export TMPDIR="$T_TMP"
cd "$T_TMP" || exit 1
SCENE="cancel-scene-$$"
T_ON_EXIT='pkill -9 -f "toy-renderer.*$SCENE" 2>/dev/null'

daemon_pid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$1"; }
wait_for() { n=$(($1 * 10)); shift; while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }
# Live renderer processes of this test (zombies do not count).
renderers() { pgrep -f "toy-renderer.*$SCENE" | wc -l; }
no_renderers() { [ "$(renderers)" -eq 0 ]; }
now_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }
INIT="{\"scene\": \"$SCENE\", \"startup_ms\": 10, \"step_ms\": 20}"

# run, SIGTERM: the renderer and the child it left in its group go.
: > r1.out
"$CMD" run --init-data "$INIT" --run-data '{"frame": 1, "steps": 500, "spawn_child": true}' > r1.out 2> r1.err &
P=$!
T_PIDS="$T_PIDS $P"
wait_for 10 contains r1.out "Rendered 2/500"
check "the renderer and its child run" [ "$(renderers)" -eq 2 ]
t0=$(now_ms)
kill -TERM $P
wait $P
rc=$?
t1=$(now_ms)
check "a canceled run exits non-zero" [ $rc -eq 1 ]
check "cancel is logged" contains r1.out "INFO: cancel requested"
check "the run is reported canceled" contains r1.out "INFO: run canceled"
check "no openjd_fail for a cancel" sh -c '! grep -q openjd_fail r1.out'
check "SIGTERM was enough: well within the grace period" [ $((t1 - t0)) -lt 1900 ]
check "no renderer process survives" wait_for 5 no_renderers

# run, SIGINT, a renderer that ignores SIGTERM: SIGKILL after the grace.
: > r2.out
"$CMD" run --init-data "$INIT" --run-data '{"frame": 2, "steps": 500, "ignore_term": true, "spawn_child": true}' > r2.out 2> r2.err &
P=$!
T_PIDS="$T_PIDS $P"
wait_for 10 contains r2.out "Rendered 2/500"
t0=$(now_ms)
kill -INT $P
wait $P
rc=$?
t1=$(now_ms)
check "SIGINT cancels too (exit 1)" [ $rc -eq 1 ]
check "the grace period ran out" contains r2.out "INFO: grace period over: killing managed processes"
check "after about 2 s" [ $((t1 - t0)) -ge 1900 ] && [ $((t1 - t0)) -lt 6000 ]
check "no renderer process survives SIGKILL" wait_for 5 no_renderers
check "no sanitizer reports" sh -c '! grep -q Sanitizer r1.err r2.err'

# The full adaptor in run mode: on_cancel runs, stop and cleanup follow.
: > r3.out
"$DMN" run --init-data "$INIT" --run-data '{"frame": 3, "steps": 500}' > r3.out 2> r3.err &
P=$!
T_PIDS="$T_PIDS $P"
wait_for 10 contains r3.out "Rendered 2/500"
kill -TERM $P
wait $P
check "a canceled full adaptor exits 1" [ $? -eq 1 ]
check "its on_cancel ran" contains r3.out "INFO: canceling: the renderer will be stopped"
check "no renderer survives" wait_for 5 no_renderers

# daemon run: the client's signal cancels the run in the daemon.
"$DMN" daemon start --connection-file c.json --log-file "$T_TMP/daemon.log" \
    --init-data "{\"scene\": \"$SCENE\", \"startup_ms\": 10, \"step_ms\": 20, \"ignore_term\": true, \"spawn_child\": true}" \
    > start.out 2> start.err
check "daemon starts" [ $? -eq 0 ]
DPID=$(daemon_pid c.json)
T_PIDS="$T_PIDS $DPID"
: > d1.out
"$DMN" daemon run --connection-file c.json --run-data '{"frame": 4, "steps": 500}' > d1.out 2> d1.err &
P=$!
T_PIDS="$T_PIDS $P"
wait_for 10 contains d1.out "Rendered 2/500"
check "the loaded renderer and its child run" [ "$(renderers)" -eq 2 ]
kill -TERM $P
wait $P
check "a canceled daemon run exits 1" [ $? -eq 1 ]
check "the daemon's cancel output reaches the client" contains d1.out "INFO: cancel requested"
check "on_cancel ran in the daemon" contains d1.out "INFO: canceling: the renderer will be stopped"
check "the client waited for the kill" contains d1.out "INFO: grace period over: killing managed processes"
check "the client saw the run end canceled" contains d1.out "INFO: run canceled"
check "no renderer process survives" wait_for 5 no_renderers
check "the daemon lives on" kill -0 "$DPID"
"$DMN" daemon run --connection-file c.json --run-data '{"frame": 5, "steps": 2}' > d2.out 2> d2.err
check "the next daemon run works" [ $? -eq 0 ]
check "it loaded the renderer again" contains d2.out "(load #2)"
"$DMN" daemon stop --connection-file c.json > stop.out 2> stop.err
check "daemon stop works after a cancel" [ $? -eq 0 ]
check "nothing survives the stop" wait_for 5 no_renderers
check "no sanitizer reports in daemon mode" sh -c '! cat d1.err d2.err stop.err daemon.log | grep -q Sanitizer'

done_testing
