#!/bin/sh
# libdrover-adaptor daemon mode: `daemon run`s that arrive together are
# served one at a time, in order; each client gets its own run's output.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
B=${DROVER_BUILD_DIR:?}
DMN=$B/adaptor-toy-daemon
export HOME="$T_TMP"
export TMPDIR="$T_TMP"
cd "$T_TMP" || exit 1
SCENE="concurrent-scene-$$"
T_ON_EXIT='pkill -9 -f "toy-renderer.*$SCENE" 2>/dev/null'

daemon_pid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$1"; }
wait_for() { n=$(($1 * 10)); shift; while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }

"$DMN" daemon start --connection-file c.json --log-file "$T_TMP/daemon.log" \
    --init-data "{\"scene\": \"$SCENE\", \"startup_ms\": 50, \"step_ms\": 20}" \
    > start.out 2> start.err
check "daemon starts" [ $? -eq 0 ]
T_PIDS="$T_PIDS $(daemon_pid c.json)"

# The first run takes ~1 s; the second is submitted while it runs.
: > a.out
"$DMN" daemon run --connection-file c.json --run-data '{"frame": 11, "steps": 50}' > a.out 2> a.err &
A=$!
wait_for 10 contains a.out "Rendered 1/50"
"$DMN" daemon run --connection-file c.json --run-data '{"frame": 12, "steps": 5}' > b.out 2> b.err &
Bp=$!
"$DMN" daemon run --connection-file c.json --run-data '{"frame": 13, "steps": 5}' > c.out 2> c.err &
C=$!
wait $A; ra=$?
wait $Bp; rb=$?
wait $C; rc=$?
check "the first run succeeds" [ $ra -eq 0 ]
check "the second run succeeds" [ $rb -eq 0 ]
check "the third run succeeds" [ $rc -eq 0 ]
check "the second was told to wait" contains b.out "INFO: the adaptor daemon is busy; waiting for"
check "each client got its own frame" sh -c 'grep -q "DONE 11" a.out && grep -q "DONE 12" b.out && grep -q "DONE 13" c.out'
check "and no other frame" sh -c '! grep -q "DONE 1[23]" a.out && ! grep -q "DONE 1[13]" b.out && ! grep -q "DONE 1[12]" c.out'
check "the daemon queued them one behind the other" python3 -c '
import re
log = open("daemon.log").read()
jobs = re.findall(r"job (\d+) \(run\) submitted, (\d+) ahead", log)
assert [a for _, a in jobs] == ["0", "1", "2"], jobs'
check "all lines of every run arrived in order" python3 -c '
for f, n in (("a.out", 50), ("b.out", 5), ("c.out", 5)):
    l = [x for x in open(f).read().splitlines() if x.startswith("STDOUT: Rendered")]
    assert l == ["STDOUT: Rendered %d/%d" % (i, n) for i in range(1, n + 1)], (f, l)'

# A stop queued behind a run waits for it; later runs are refused.
: > d.out
"$DMN" daemon run --connection-file c.json --run-data '{"frame": 14, "steps": 20}' > d.out 2> d.err &
D=$!
wait_for 10 contains d.out "Rendered 1/20"
"$DMN" daemon stop --connection-file c.json > stop.out 2> stop.err &
S=$!
wait_for 10 contains daemon.log "(stop) submitted"
"$DMN" daemon run --connection-file c.json --run-data '{"frame": 15}' > e.out 2> e.err
check "a run after a queued stop is refused" [ $? -eq 1 ]
check "it is told the daemon is stopping" contains e.err "the adaptor daemon is stopping"
wait $D; rd=$?
wait $S; rs=$?
check "the run before the stop completes" [ $rd -eq 0 ]
check "then the stop completes" [ $rs -eq 0 ]
check "the run before the stop rendered its frame" contains d.out "STDOUT: DONE 14"
check "the connection file is gone" [ ! -e c.json ]
check "no sanitizer reports" sh -c '! cat *.err daemon.log | grep -q Sanitizer'

done_testing
