#!/bin/sh
# libdrover-adaptor daemon mode, failure cases: missing, junk and stale
# connection files, a second start on the same file, another user, bad
# protocol peers, a daemon that stops answering, a client that vanishes.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
B=${DROVER_BUILD_DIR:?}
DMN=$B/adaptor-toy-daemon
export HOME="$T_TMP"
export TMPDIR="$T_TMP"
chmod 755 "$T_TMP"
cd "$T_TMP" || exit 1
SCENE="errors-scene-$$"
INIT="{\"scene\": \"$SCENE\", \"startup_ms\": 50, \"step_ms\": 20}"
T_ON_EXIT='pkill -9 -f "toy-renderer.*$SCENE" 2>/dev/null'
unset OPENJD_ADAPTOR_SOCKET

daemon_pid() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$1"; }
socket_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["socket"])' "$1"; }
gone() { ! kill -0 "$1" 2>/dev/null || grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
wait_for() { n=$(($1 * 10)); shift; while [ $n -gt 0 ]; do "$@" && return 0; sleep 0.1; n=$((n - 1)); done; return 1; }
start() {
	"$DMN" daemon start --connection-file "$1" --init-data "$INIT" \
	    --log-file "$T_TMP/daemon.log" > start.out 2> start.err || return 1
	T_PIDS="$T_PIDS $(daemon_pid "$1")"
}
now_ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }

"$DMN" daemon run --connection-file nope.json --run-data '{"frame": 1}' > out 2> err
check "run without a daemon fails" [ $? -eq 1 ]
check "it says the file is missing" contains err "connection file 'nope.json' does not exist (is the adaptor daemon started?)"
"$DMN" daemon stop > out 2> err
check "no file and no variable: failure" [ $? -eq 1 ]
check "it says where it looked" contains err "OPENJD_ADAPTOR_SOCKET is not set"
echo '{"port": 8080}' > junk.json
"$DMN" daemon run --connection-file junk.json > out 2> err
check "a junk connection file is refused" [ $? -eq 1 ]
check "it says what is missing" contains err "has no \"socket\""
echo 'not json' > junk.json
"$DMN" daemon stop --connection-file junk.json > out 2> err
check "an unreadable connection file is refused" contains err "cannot read connection file 'junk.json'"

start c1.json
check "daemon starts" [ $? -eq 0 ]
PID=$(daemon_pid c1.json)
SOCK=$(socket_of c1.json)
"$DMN" daemon start --connection-file c1.json --init-data "$INIT" > out 2> err
check "a second start on the same file fails" [ $? -eq 1 ]
check "it says a daemon already runs" contains err "an adaptor daemon is already running for connection file '$T_TMP/c1.json'"
"$DMN" daemon run --connection-file c1.json --run-data '{"frame": 1, "steps": 1}' > out 2> err
check "the first daemon is unharmed" [ $? -eq 0 ]

# Another user can neither read the connection file nor reach the socket.
if command -v setpriv > /dev/null && [ "$(id -u)" -eq 0 ]; then
	setpriv --reuid=65534 --regid=65534 --clear-groups "$DMN" daemon run \
	    --connection-file c1.json --run-data '{"frame": 1}' > out 2> err
	check "another uid cannot use the connection file" [ $? -eq 1 ]
	check "it is told why" contains err "Permission denied"
	OPENJD_ADAPTOR_SOCKET=$SOCK setpriv --reuid=65534 --regid=65534 \
	    --clear-groups "$DMN" daemon run --run-data '{"frame": 1}' > out 2> err
	check "another uid cannot reach the socket" [ $? -eq 1 ]
	check "it is told why" contains err "Permission denied"
else
	ok "# SKIP setpriv or root not available"
	ok "# SKIP setpriv or root not available"
	ok "# SKIP setpriv or root not available"
	ok "# SKIP setpriv or root not available"
fi

# Protocol garbage and a wrong version get an error; the daemon goes on.
python3 - "$SOCK" > proto.out <<'EOF'
import socket, sys, json
def talk(data):
    s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(data)
    s.settimeout(5); print(json.loads(s.makefile().readline())["msg"]); s.close()
talk(b"this is not json\n")
talk(b'{"t": "submit", "v": 99, "kind": "run"}\n')
talk(b'{"t": "submit", "v": 1, "kind": "explode"}\n')
talk(b'{"t": "attach", "v": 1, "job": 12345, "ack": 0}\n')
EOF
check "garbage is answered with an error" contains proto.out "bad message"
check "a wrong protocol version is refused" contains proto.out "protocol version mismatch"
check "an unknown job kind is refused" contains proto.out "kind must be start, run or stop"
check "attaching to an unknown job is refused" contains proto.out "no such job"
"$DMN" daemon run --connection-file c1.json --run-data '{"frame": 2, "steps": 1}' > out 2> err
check "the daemon still serves after bad peers" [ $? -eq 0 ]

# A client killed mid-run: the daemon cancels its run, then serves again.
: > long.out
"$DMN" daemon run --connection-file c1.json --run-data '{"frame": 3, "steps": 500}' > long.out 2> long.err &
CPID=$!
T_PIDS="$T_PIDS $CPID"
wait_for 10 contains long.out "Rendered 2/500"
kill -9 $CPID
check "the vanished client's run is canceled" wait_for 15 contains daemon.log "its client is gone"
"$DMN" daemon run --connection-file c1.json --run-data '{"frame": 4, "steps": 1}' > out 2> err
check "the next run works" [ $? -eq 0 ]
check "it loads the renderer again" contains out "loading it again"

# A daemon that stops answering is noticed within seconds.
: > hang.out
"$DMN" daemon run --connection-file c1.json --run-data '{"frame": 5, "steps": 500}' > hang.out 2> hang.err &
CPID=$!
T_PIDS="$T_PIDS $CPID"
wait_for 10 contains hang.out "Rendered 2/500"
kill -STOP "$PID"
t0=$(now_ms)
wait $CPID
rc=$?
t1=$(now_ms)
kill -CONT "$PID"
check "the client gives up on a frozen daemon (exit 1)" [ $rc -eq 1 ]
check "it says the daemon is not responding" contains hang.err "is not responding"
check "within seconds (4-9 s)" [ $((t1 - t0)) -ge 4000 ] && [ $((t1 - t0)) -le 9000 ]
check "no sanitizer report" sh -c '! grep -q Sanitizer hang.err'

# A daemon that is gone leaves a stale connection file behind.
kill -9 "$PID"
wait_for 5 gone "$PID"
"$DMN" daemon run --connection-file c1.json --run-data '{"frame": 1}' > out 2> err
check "run against a dead daemon fails" [ $? -eq 1 ]
check "it names the stale connection file" contains err "the adaptor daemon of connection file 'c1.json' is gone"
"$DMN" daemon start --connection-file c1.json --init-data "$INIT" > out 2> err
check "start on a stale file fails" [ $? -eq 1 ]
check "it says the file is stale" contains err "already exists, but no adaptor daemon answers at its socket"
rm -f c1.json

# A failing on_start: daemon start fails and nothing is left behind.
"$DMN" daemon start --connection-file c2.json --init-data '{"scene": 1}' \
    --log-file "$T_TMP/daemon2.log" > out 2> err
check "a failing start exits 1" [ $? -eq 1 ]
check "the reason reaches the caller" contains out "init_data.scene: expected string, got integer"
check "no connection file is left" wait_for 5 sh -c '[ ! -e c2.json ]'
check "the daemon logs no sanitizer report" sh -c '! grep -q Sanitizer daemon.log daemon2.log'

done_testing
