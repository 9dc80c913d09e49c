#!/bin/sh
# The daemon and everything it started die at once (kill -9 of every
# process, as a machine reset would): the next daemon finds the sessions
# dead, fails their running tasks with reason DAEMON_RESTARTED and retries
# them per the job's policy; with no retries left the job fails, with that
# reason.  Nothing recorded before the kill is lost.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

# kill -9 of every process of this test's DROVER_HOME, as a reset would
kill_all() {
	q_kill_all
	# the pid file names a dead process now
	q_until 10 sh -c '! kill -0 "$(cat "$DROVER_HOME/drover.pid")" 2>/dev/null'
}
running() { test "$(q_job "$1" 'j["steps"][0]["counts"].get("RUNNING", 0)')" = "$2"; }
attempts_with() {
	q_job "$1" 'len([a for a in j["attempts"] if a["reason"] == "'"$2"'"])'
}

N=4
go=$T_TMP/go
# each task says it started, then waits for the go file
q_sh_job "$T_TMP/wait.yaml" waiter $N "echo started-\$1; while [ ! -f $go ]; do sleep 0.02; done; echo done-\$1"

# 1. with a retry: the lost tasks run again and the job succeeds
D daemon --slots 2 || not_ok "daemon start"
j=$(D submit --max-retries 1 "$T_TMP/wait.yaml")
check "two tasks running" q_until 20 running "$j" 2
kill_all
touch "$go"
check "a new daemon starts" D status
check "the job ends" D wait -q "$j"
check "state SUCCEEDED" test "$(q_state "$j")" = SUCCEEDED
check "two attempts failed with DAEMON_RESTARTED" test "$(attempts_with "$j" DAEMON_RESTARTED)" = 2
check "every task succeeded exactly once" test "$(q_job "$j" 'sorted(a["task"] for a in j["attempts"] if a["state"] == "SUCCEEDED")')" = "[0, 1, 2, 3]"
check "no attempt left open" test "$(q_job "$j" 'len([a for a in j["attempts"] if a["endedAt"] is None])')" = 0
D show --json --events "$j" > "$T_TMP/ev.json"
check "the event log records the failures" test "$(q_field "$T_TMP/ev.json" 'len([e for e in j["events"] if e.get("reason") == "DAEMON_RESTARTED" and e.get("to") == "FAILED"])')" = 2
check "and the retries" test "$(q_field "$T_TMP/ev.json" 'len([e for e in j["events"] if e.get("reason") == "RETRY"])')" = 2
D logs "$j/S/0" > "$T_TMP/log0"
check "the lost attempt's output was kept" grep -q "Z started-0\$" "$T_TMP/log0"
check "the daemon log says why" grep -q "recovery: 0 session(s) re-adopted, 2 lost" "$DROVER_HOME/daemon.log"

# 2. without retries: the job fails with that reason
rm -f "$go"
j2=$(D submit "$T_TMP/wait.yaml")
check "two tasks running again" q_until 20 running "$j2" 2
kill_all
touch "$go"
D wait -q "$j2"
check "the job ends FAILED" test "$(q_state "$j2")" = FAILED
check "the failed tasks name the restart" test "$(attempts_with "$j2" DAEMON_RESTARTED)" = 2
check "the job's reason is DAEMON_RESTARTED" test "$(q_job "$j2" 'j["reason"]')" = DAEMON_RESTARTED
check "the first job is untouched" test "$(q_state "$j")" = SUCCEEDED
done_testing
