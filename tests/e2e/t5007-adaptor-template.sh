#!/bin/sh
# libdrover-adaptor with an OpenJD session: examples/adaptors/
# toy-daemon-job.yaml starts adaptor-toy-daemon in a step environment
# (onEnter: daemon start, onExit: daemon stop) and renders every task
# through it (daemon run).  Runs with `drover run`; skipped while the
# session runtime is not built.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
B=${DROVER_BUILD_DIR:?}
export HOME="$T_TMP"
export TMPDIR="$T_TMP"
cd "$T_TMP" || exit 1
TEMPLATE=$DROVER_SOURCE_DIR/examples/adaptors/toy-daemon-job.yaml
SCENE="template-scene-$$"
T_ON_EXIT='pkill -9 -f "adaptor-toy-daemon daemon start --connection-file $T_TMP" 2>/dev/null; pkill -9 -f "toy-renderer.*$SCENE" 2>/dev/null'
no_renderer() { ! pgrep -f "toy-renderer.*$SCENE" > /dev/null; }

skip_all() {
	echo "ok 1 # SKIP $*"
	echo "1..1"
	exit 0
}

"$DROVER_BIN" help run > /dev/null 2>&1 || skip_all "drover run is not available"
[ -x "$B/adaptor-toy-daemon" ] || skip_all "adaptor-toy-daemon is not built"

"$DROVER_BIN" run -p "AdaptorDir=$B" -p "Scene=$SCENE" -p Frames=1-3 \
    -p StartupMs=300 "$TEMPLATE" > run.out 2> run.err
rc=$?
# A session that kills what an environment's onEnter leaves running cannot
# host a daemon-mode adaptor at all (nor one of the Python runtime).
if grep -q "left running outside its process group" run.out run.err; then
	skip_all "drover run kills the processes an environment's onEnter" \
	    "leaves running, so daemon-mode adaptors cannot work in it yet"
fi
check "drover run exits 0" [ $rc -eq 0 ]
check "the environment started the daemon" grep -q "openjd_env: OPENJD_ADAPTOR_SOCKET=" run.out
check "the renderer was loaded once for the step" [ "$(grep -c '(load #' run.out)" -eq 1 ]
for f in 1 2 3; do
	check "task $f rendered through the daemon" grep -q "STDOUT: DONE $f\$" run.out
done
check "progress reaches the session" [ "$(grep -c 'openjd_progress: 100' run.out)" -ge 3 ]
check "status messages reach the session" grep -q "openjd_status: rendering frame 2" run.out
check "the environment stopped the daemon" grep -q "STDOUT: BYE" run.out
check "no task failed" sh -c '! grep -q "openjd_fail" run.out'
check "no adaptor process is left" no_renderer

done_testing
