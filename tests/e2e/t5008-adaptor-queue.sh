#!/bin/sh
# libdrover-adaptor through the queue: examples/adaptors/toy-daemon-job.yaml
# submitted to the daemon (one slot, so the step's tasks share one session):
# the step environment starts the adaptor daemon once, every task renders
# through it, progress and status reach the queue's records and logs, and
# nothing is left running.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
. "$DROVER_SOURCE_DIR/tests/e2e/queue-lib.sh"
B=${DROVER_BUILD_DIR:?}
export TMPDIR="$T_TMP"
TEMPLATE=$DROVER_SOURCE_DIR/examples/adaptors/toy-daemon-job.yaml
SCENE="queue-scene-$$"
T_ON_EXIT='q_cleanup; pkill -9 -f "toy-renderer.*$SCENE" 2>/dev/null'
no_renderer() { ! pgrep -f "toy-renderer.*$SCENE" > /dev/null; }

if [ ! -x "$B/adaptor-toy-daemon" ]; then
	echo "ok 1 # SKIP adaptor-toy-daemon is not built"
	echo "1..1"
	exit 0
fi

D daemon --slots 1 > /dev/null
j=$(D submit -p "AdaptorDir=$B" -p "Scene=$SCENE" -p Frames=1-3 \
    -p StartupMs=300 "$TEMPLATE")
check "the job is queued" test -n "$j"
D wait -q "$j"
check "the job succeeded" test "$(q_state "$j")" = SUCCEEDED
D logs "$j" > "$T_TMP/logs" 2>&1
# environment actions are in the session's log, around the tasks' slices
cat "$DROVER_HOME"/logs/*/session-*.log > "$T_TMP/session.log"
check "the environment started the daemon" grep -q "openjd_env: OPENJD_ADAPTOR_SOCKET=" "$T_TMP/session.log"
check "the renderer was loaded once for the step" [ "$(grep -c '(load #' "$T_TMP/session.log")" -eq 1 ]
for f in 1 2 3; do
	check "task $f rendered through the daemon" grep -q "DONE $f\$" "$T_TMP/logs"
done
check "progress reaches the session's log" [ "$(grep -c 'openjd_progress: 100' "$T_TMP/logs")" -ge 3 ]
check "progress is recorded on every attempt" q_job "$j" 'all(a.get("progress") == 100 for a in j["attempts"]) and len(j["attempts"]) == 3 or exit(1)'
check "the environment stopped the daemon" grep -q "BYE" "$T_TMP/session.log"
D stop > /dev/null
check "no renderer is left" no_renderer
done_testing
