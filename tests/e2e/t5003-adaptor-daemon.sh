#!/bin/sh
# libdrover-adaptor daemon mode: `daemon start` leaves a background adaptor
# with the renderer loaded, `daemon run` streams each run's output back and
# exits with its result, `daemon stop` ends it and removes its files.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
B=${DROVER_BUILD_DIR:?}
DMN=$B/adaptor-toy-daemon
export HOME="$T_TMP"
export TMPDIR="$T_TMP"
cd "$T_TMP" || exit 1
SCENE="daemon-scene-$$"
INIT="{\"scene\": \"$SCENE\", \"startup_ms\": 200, \"step_ms\": 5}"
T_ON_EXIT='pkill -9 -f "toy-renderer.*$SCENE" 2>/dev/null'

daemon_pid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$1"; }
socket_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["socket"])' "$1"; }
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
wait_for() { n=$(($1 * 10)); shift; while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }
mode() { stat -c %a "$1"; }
no_renderer() { ! pgrep -f "toy-renderer.*$SCENE" > /dev/null; }

"$DMN" daemon start --connection-file conn.json --init-data "$INIT" \
    --log-file "$T_TMP/daemon.log" > start.out 2> start.err
check "daemon start exits 0" [ $? -eq 0 ]
check "the connection file exists" [ -f conn.json ]
PID=$(daemon_pid conn.json)
T_PIDS="$T_PIDS $PID"
SOCK=$(socket_of conn.json)
check "the connection file is 0600" [ "$(mode conn.json)" = 600 ]
check "the socket directory is private (0700)" [ "$(mode "$(dirname "$SOCK")")" = 700 ]
check "the socket is a socket" [ -S "$SOCK" ]
check "start prints the socket for the session" contains start.out "openjd_env: OPENJD_ADAPTOR_SOCKET=$SOCK"
check "on_start's output streams to daemon start" contains start.out "STDOUT: READY scene '$SCENE'"
check "the renderer was loaded once" contains start.out "(load #1)"
check "the daemon is running" kill -0 "$PID"
check "the daemon left our session" [ "$(ps -o sid= -p "$PID" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')" ]
check "the daemon was re-parented" [ "$(ps -o ppid= -p "$PID" | tr -d ' ')" != $$ ]

ok=0
for f in 1 2 3; do
	"$DMN" daemon run --connection-file conn.json \
	    --run-data "{\"frame\": $f, \"steps\": 4}" > run$f.out 2> run$f.err || ok=1
done
check "three daemon runs exit 0" [ $ok -eq 0 ]
check "run output streams back" contains run2.out "STDOUT: Rendered 3/4"
check "progress streams back" contains run2.out "openjd_progress: 75"
check "each run gets only its own lines" sh -c '! grep -q "frame 1" run2.out'
check "each run's end reaches its client" contains run2.out "STDOUT: DONE 2"
check "no run loaded the renderer again" sh -c '! grep -q "load #" run1.out run2.out run3.out'
check "lines arrive in order" python3 -c '
l = [x for x in open("run3.out").read().splitlines() if x.startswith("STDOUT: Rendered")]
assert l == ["STDOUT: Rendered %d/4" % i for i in range(1, 5)], l'

"$DMN" daemon run --connection-file conn.json \
    --run-data '{"frame": 4, "license_error": true}' > fail.out 2> fail.err
check "a failed run exits 1" [ $? -eq 1 ]
check "its openjd_fail reaches the client" contains fail.out "openjd_fail: License error"
check "the client says why on stderr" contains fail.err "frame 4 failed"
"$DMN" daemon run --connection-file conn.json --run-data '{"frame": 5}' > after.out 2> after.err
check "the daemon runs again after a failed run" [ $? -eq 0 ]

"$DMN" daemon run --connection-file conn.json --run-data '{"frame": "x"}' > bad.out 2> bad.err
check "run data is checked in the daemon" [ $? -eq 1 ]
check "the bad key is named" contains bad.out "ERROR: run_data.frame: expected integer, got string"

# The session's way: no connection file, the socket in the environment.
OPENJD_ADAPTOR_SOCKET=$SOCK "$DMN" daemon run --run-data '{"frame": 6, "steps": 1}' > env.out 2> env.err
check "OPENJD_ADAPTOR_SOCKET finds the daemon" [ $? -eq 0 ]
check "and streams its output" contains env.out "DONE 6"

# A connection that breaks mid-run is re-attached; no line lost or doubled.
DROVER_ADAPTOR_TEST_DROP_AFTER=3 "$DMN" daemon run --connection-file conn.json \
    --run-data '{"frame": 8, "steps": 6}' > drop.out 2> drop.err
check "a run survives a dropped connection" [ $? -eq 0 ]
check "every line arrives exactly once, in order" python3 -c '
l = [x for x in open("drop.out").read().splitlines() if x.startswith("STDOUT: Rendered")]
assert l == ["STDOUT: Rendered %d/6" % i for i in range(1, 7)], l'
check "the daemon saw the re-attach" contains daemon.log "re-attached after line 3"

"$DMN" daemon stop --connection-file conn.json > stop.out 2> stop.err
check "daemon stop exits 0" [ $? -eq 0 ]
check "on_stop's output streams to daemon stop" contains stop.out "STDOUT: BYE"
check "the connection file is removed" [ ! -e conn.json ]
check "the socket is removed" [ ! -e "$SOCK" ]
check "the socket directory is removed" [ ! -e "$(dirname "$SOCK")" ]
check "the daemon exits" wait_for 5 gone "$PID"
check "the renderer exits" wait_for 5 no_renderer
check "the daemon log has no sanitizer report" sh -c '! grep -q Sanitizer daemon.log'
check "the clients have no sanitizer report" sh -c '! cat *.err | grep -q Sanitizer'

# Without --connection-file at all.
"$DMN" daemon start --init-data "$INIT" > start2.out 2> start2.err
check "daemon start without a connection file" [ $? -eq 0 ]
SOCK2=$(sed -n 's/^openjd_env: OPENJD_ADAPTOR_SOCKET=//p' start2.out)
check "it prints the socket" [ -S "$SOCK2" ]
OPENJD_ADAPTOR_SOCKET=$SOCK2 "$DMN" daemon run --run-data '{"frame": 1, "steps": 1}' > r.out 2> r.err
check "daemon run through the variable" [ $? -eq 0 ]
OPENJD_ADAPTOR_SOCKET=$SOCK2 "$DMN" daemon stop > s.out 2> s.err
check "daemon stop through the variable" [ $? -eq 0 ]
check "its socket is removed" [ ! -e "$SOCK2" ]

done_testing
