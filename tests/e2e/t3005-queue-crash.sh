#!/bin/sh
# kill -9 of the daemon, again and again while tasks run, and of session
# workers now and then: no submitted job and no recorded result is lost,
# re-adopted sessions go on, tasks of killed sessions fail and are retried,
# and every task ends exactly once in a final state with its output.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

N=40
out=$T_TMP/out
mkdir -p "$out"
q_sh_job "$T_TMP/crash.yaml" crash $N "sleep 0.1; echo done-\$1; echo \$1 >> $out/\$1"
D daemon --slots 2 || not_ok "daemon start"
j=$(D submit --max-retries 20 "$T_TMP/crash.yaml")
kills=0 wkills=0
while [ "$(q_state "$j" 2>/dev/null)" != SUCCEEDED ] && [ $kills -lt 25 ]; do
	sleep 0.15
	if [ $((kills % 3)) = 1 ]; then
		# a session worker too (the daemon learns it from the exit)
		w=$(D status --json 2>/dev/null | python3 -c 'import json,sys; s=json.load(sys.stdin)["sessions"]; print(s[0]["pid"] if s else "")')
		[ -n "$w" ] && kill -9 "$w" 2>/dev/null && wkills=$((wkills + 1))
		sleep 0.1
	fi
	pid=$(cat "$DROVER_HOME/drover.pid" 2>/dev/null)
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	D status > /dev/null 2>&1	# a client starts a new daemon
done
check "killed the daemon several times ($kills)" test $kills -ge 3
check "and session workers ($wkills)" test $wkills -ge 1
check "the job ends" D wait -q "$j"
check "state SUCCEEDED" test "$(q_state "$j")" = SUCCEEDED
check "every task SUCCEEDED" test "$(q_job "$j" 'j["steps"][0]["counts"]')" = "{'SUCCEEDED': $N}"
check "exactly one successful attempt per task" test "$(q_job "$j" 'sorted(set(a["task"] for a in j["attempts"] if a["state"]=="SUCCEEDED")) == list(range('$N')) and len([a for a in j["attempts"] if a["state"]=="SUCCEEDED"]) == '$N)" = True
check "no attempt left open" test "$(q_job "$j" 'len([a for a in j["attempts"] if a["endedAt"] is None])')" = 0
missing=0
for i in $(seq 0 $((N - 1))); do
	D logs "$j/S/$i" > "$T_TMP/tlog"
	grep -q "Z done-$i\$" "$T_TMP/tlog" || missing=$((missing + 1))
done
check "every successful attempt has its output in its log" test $missing = 0
check "a daemon restart is in the log" grep -q "ready:" "$DROVER_HOME/daemon.log"
grep -c "ready:" "$DROVER_HOME/daemon.log" > "$T_TMP/starts"
check "several daemons started" test "$(cat "$T_TMP/starts")" -ge 3
# a result recorded once per success: no task ran twice after succeeding
dup=0
for i in $(seq 0 $((N - 1))); do
	[ "$(q_job "$j" 'len([a for a in j["attempts"] if a["task"]=='$i' and a["state"]=="SUCCEEDED"])')" = 1 ] || dup=$((dup + 1))
done
check "no task succeeded twice" test $dup = 0
# lost sessions: their tasks failed with DAEMON_RESTARTED or were re-adopted
q_job "$j" '",".join(sorted(set(a["reason"] for a in j["attempts"])))' > "$T_TMP/reasons"
ok "attempt reasons seen: $(cat "$T_TMP/reasons")"
done_testing
