#!/bin/sh
# The daemon process: one per home, stale pid and socket files from a
# dead daemon do not block a restart, SIGHUP reloads the configuration,
# SIGTERM stops it gracefully, --foreground, another uid is refused.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

check "daemon starts (detached)" D daemon --slots 1
pid=$(cat "$DROVER_HOME/drover.pid")
check "pid file names a live process" kill -0 "$pid"
check "it has its own session (setsid)" test "$(ps -o sid= -p "$pid" | tr -d ' ')" = "$pid" -o "$(ps -o sid= -p "$pid" | tr -d ' ')" != "$(ps -o sid= -p $$ | tr -d ' ')"
D daemon 2> "$T_TMP/err"
check "a second daemon does not start" test "$(cat "$DROVER_HOME/drover.pid")" = "$pid"
check "status reports 1 slot" sh -c '"$DROVER_BIN" status --json | grep -q "\"slots\": 1,"'

# SIGHUP: reload daemon.slots from the config file
mkdir -p "$XDG_CONFIG_HOME/drover"
printf '[daemon]\nslots = 3\n' > "$XDG_CONFIG_HOME/drover/config"
D stop
D daemon
pid=$(cat "$DROVER_HOME/drover.pid")
check "slots from the config" sh -c '"$DROVER_BIN" status --json | grep -q "\"slots\": 3,"'
printf '[daemon]\nslots = 4\n' > "$XDG_CONFIG_HOME/drover/config"
kill -HUP "$pid"
check "SIGHUP reloads it" q_until 10 sh -c '"$DROVER_BIN" status --json | grep -q "\"slots\": 4,"'

# kill -9: stale pid and socket files stay behind
kill -9 "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
check "stale socket left" test -S "$DROVER_HOME/drover.sock"
check "stale pid file left" test -s "$DROVER_HOME/drover.pid"
check "a client restarts the daemon anyway" D status
check "with a new pid" test "$(cat "$DROVER_HOME/drover.pid")" != "$pid"

# SIGTERM: graceful, the running task finishes
pid=$(cat "$DROVER_HOME/drover.pid")
q_sh_job "$T_TMP/s.yaml" slow 1 "sleep 1; echo finished > $T_TMP/fin"
j=$(D submit "$T_TMP/s.yaml")
q_until 10 sh -c "test \"\$('$DROVER_BIN' show --json $j | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"running\"])')\" = 1"
kill -TERM "$pid"
while kill -0 "$pid" 2>/dev/null; do sleep 0.05; done
check "SIGTERM: the running task finished first" contains "$T_TMP/fin" finished
check "socket removed" test ! -e "$DROVER_HOME/drover.sock"
check "the task's result is stored" test "$(q_state "$j")" = SUCCEEDED

# --foreground: stays attached, logs to stderr
D stop
"$DROVER_BIN" daemon --foreground 2> "$T_TMP/fg.log" &
fg=$!
T_PIDS="$T_PIDS $fg"
check "foreground daemon answers" q_until 10 D status
check "it is the foreground process" test "$(cat "$DROVER_HOME/drover.pid")" = "$fg"
check "foreground logs to stderr" q_until 5 grep -q "ready" "$T_TMP/fg.log"
D stop
wait $fg
check "foreground daemon exits 0 on stop" test $? = 0

# another uid is refused (SO_PEERCRED), even with a reachable socket
D daemon
chmod 755 "$T_TMP" "$DROVER_HOME"
chmod 777 "$DROVER_HOME/drover.sock"
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
	setpriv --reuid 65534 --regid 65534 --clear-groups env DROVER_HOME="$DROVER_HOME" "$DROVER_BIN" ls > "$T_TMP/peer.out" 2> "$T_TMP/peer.err"
	check "another uid gets an error" test $? = 3
	check "permission refused: not the daemon's owner" contains "$T_TMP/peer.err" "not the daemon's owner"
	check "the refusal is logged" grep -q "refused a connection: uid 65534" "$DROVER_HOME/daemon.log"
else
	ok "# SKIP another uid needs root and setpriv"
fi
chmod 700 "$DROVER_HOME"

# its home removed under it (rm -rf of a test's temp dir): the daemon can
# no longer be reached, so it stops at once, canceling running tasks
q_sh_job "$T_TMP/long.yaml" long 1 "sleep 60"
j=$(D submit "$T_TMP/long.yaml")
check "a long task runs" q_until 20 sh -c "test \"\$(\"$DROVER_BIN\" show --json $j | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"steps\"][0][\"counts\"].get(\"RUNNING\", 0))')\" = 1"
pid=$(cat "$DROVER_HOME/drover.pid")
w=$(D status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["sessions"][0]["pid"])')
mv "$DROVER_HOME" "$T_TMP/moved-home"
check "the daemon exits" q_until 20 sh -c "! kill -0 $pid 2>/dev/null"
check "its session worker too" q_until 20 sh -c "! kill -0 $w 2>/dev/null"
check "it said why" grep -q "is gone or was replaced" "$T_TMP/moved-home/daemon.log"
check "and left the moved files alone" test -e "$T_TMP/moved-home/drover.db"
mv "$T_TMP/moved-home" "$DROVER_HOME"
check "its attempt was ended as killed by admin, in the store it had" test "$(q_job "$j" 'j["attempts"][0]["reason"]')" = KILLED_BY_ADMIN
D stop --now >/dev/null 2>&1
done_testing
