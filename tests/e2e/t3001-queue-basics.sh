#!/bin/sh
# The queue from the command line: a daemon started on demand, submit,
# ls, show, logs, wait, pause/resume, cancel, retry, rm, gc, status,
# drain, config, help and exit codes, --json everywhere.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

q_sh_job "$T_TMP/ok.yaml" okjob 4 'echo out-$1; echo err-$1 >&2'
q_sh_job "$T_TMP/bad.yaml" badjob 1 'echo failing; exit 7'
q_sh_job "$T_TMP/slow.yaml" slowjob 3 'sleep 30'
printf 'specificationVersion: jobtemplate-2023-09\nname: x\nsteps: []\n' \
    > "$T_TMP/invalid.yaml"

check "no daemon yet: stop does nothing" D stop
D status > "$T_TMP/st.txt"
check "status starts the daemon" test -S "$DROVER_HOME/drover.sock"
check "status shows a pid" grep -q "^daemon:   pid [0-9]" "$T_TMP/st.txt"
check "home is private (0700)" test "$(stat -c %a "$DROVER_HOME")" = 700
check "socket is private" test "$(stat -c %a "$DROVER_HOME/drover.sock")" = 600

id=$(D submit "$T_TMP/ok.yaml")
check "submit prints the job id" test "$id" = 1
check "wait: job 1 succeeds" D wait -q 1
check "state SUCCEEDED" test "$(q_state 1)" = SUCCEEDED
check "reason SUCCEEDED" test "$(q_job 1 'j["reason"]')" = SUCCEEDED
check "4 attempts" test "$(q_job 1 'len(j["attempts"])')" = 4
D logs 1/S/2 > "$T_TMP/log2"
check "task log has its stdout" contains "$T_TMP/log2" "out-2"
check "task log has its stderr" contains "$T_TMP/log2" "err-2"
check "log lines are timestamped" grep -Eq '^20[0-9-]{8}T[0-9:.]{12}Z out-2$' "$T_TMP/log2"
D logs 1 > "$T_TMP/logall"
check "logs JOB shows every task" test "$(grep -c 'Z out-[0-9]$' "$T_TMP/logall")" = 4
check "ls hides ended jobs" test -z "$(D ls)"
check "ls --all lists it" sh -c '"$DROVER_BIN" ls --all | grep -q "^1 .*SUCCEEDED .*okjob"'
D ls --all --json > "$T_TMP/ls.json"
check "ls --json" test "$(q_field "$T_TMP/ls.json" 'j[0]["name"]')" = okjob

D submit "$T_TMP/invalid.yaml" 2> "$T_TMP/inv.err"; rc=$?
check "invalid template: exit 1" test $rc = 1
check "invalid template: nothing queued" test "$(D ls --all --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 1
check "invalid template: error has a position" grep -q "invalid.yaml:[0-9]*:[0-9]*:" "$T_TMP/inv.err"
D submit --bogus x 2>/dev/null; check "unknown option: exit 2" test $? = 2

id=$(D submit "$T_TMP/bad.yaml")
D wait -q "$id"; rc=$?
check "wait on a failed job exits 1" test $rc = 1
check "failed: reason NONZERO_EXIT" test "$(q_job "$id" 'j["reason"]')" = NONZERO_EXIT
check "failed: exit code 7 recorded" test "$(q_job "$id" 'j["attempts"][0]["exitCode"]')" = 7
check "ls --state FAILED" test "$(D ls --state failed --json | python3 -c 'import json,sys; print([x["id"] for x in json.load(sys.stdin)])')" = "[$id]"
D retry --failed "$id" > /dev/null
D wait -q "$id"
check "retry ran it again" test "$(q_job "$id" 'len(j["attempts"])')" = 2

# pause / resume with a slow job
slow=$(D submit --paused "$T_TMP/slow.yaml")
check "submitted paused" test "$(q_state "$slow")" = SUSPENDED
check "reason PAUSED" test "$(q_job "$slow" 'j["reason"]')" = PAUSED
check "resume" D resume "$slow"
check "running after resume" q_until 10 sh -c 'test "$("$DROVER_BIN" show --json '"$slow"' | python3 -c "import json,sys; print(json.load(sys.stdin)[\"running\"])")" -ge 1'
check "pause a running job" D pause "$slow"
check "status shows slots in use" sh -c '"$DROVER_BIN" status | grep -q "in use of"'
D cancel "$slow" > "$T_TMP/cancel.txt"
check "cancel says how many" grep -q "canceled [0-9]* task" "$T_TMP/cancel.txt"
D wait -q "$slow"
check "wait on a canceled job exits 1" test $? = 1
check "state CANCELED" test "$(q_state "$slow")" = CANCELED
check "reason CANCELED_BY_USER" test "$(q_job "$slow" 'j["reason"]')" = CANCELED_BY_USER

# errors and exit codes
D show 999 2>/dev/null; check "show unknown job: exit 1" test $? = 1
D cancel 1/NoSuchStep 2>/dev/null; check "unknown step: exit 1" test $? = 1
D show abc 2>/dev/null; check "bad reference: exit 2" test $? = 2
for c in submit ls show logs wait cancel pause resume retry rm status drain undrain stop daemon migrate config gc completion; do
	D "$c" --help > "$T_TMP/help" 2>&1
	grep -q "EXIT STATUS" "$T_TMP/help" || not_ok "help of $c"
done
ok "every queue command has a manual with EXIT STATUS"

# drain
check "drain" D drain
q_sh_job "$T_TMP/quick.yaml" quick 1 'true'
q=$(D submit "$T_TMP/quick.yaml")
sleep 0.3
check "nothing dispatched while draining" test "$(q_state "$q")" = READY
check "undrain" D undrain
check "runs after undrain" D wait -q "$q"

# rm and gc
check "rm an ended job" D rm 1
D show 1 2>/dev/null; check "gone" test $? = 1
check "logs removed" test ! -e "$DROVER_HOME/logs/1"
D gc --older-than 0 --json > "$T_TMP/gc.json"
check "gc removed the ended jobs" test "$(q_field "$T_TMP/gc.json" 'j["removed"]')" -ge 2
check "gc keeps nothing ended" test -z "$(D ls --all)"

# config
check "config set" D config set jobs.priority 70
check "config get" test "$(D config get jobs.priority)" = 70
D config set jobs.priority banana 2>/dev/null; check "config set checks values" test $? = 1
D config set nope.key 1 2>/dev/null; check "config set refuses unknown keys" test $? = 1
check "submit uses the configured priority" test "$(D submit --json "$T_TMP/quick.yaml" | python3 -c 'import json,sys; print(json.load(sys.stdin)["priority"])')" = 70
check "completion bash" sh -c '"$DROVER_BIN" completion bash | grep -q "complete -F _drover drover"'
check "migrate --status while running" sh -c '"$DROVER_BIN" migrate --status | grep -Eq "^schema ([0-9]+) of \1$"'
D migrate 2>/dev/null; check "migrate refuses while a daemon runs" test $? = 1

check "stop" D stop
check "daemon gone" test ! -e "$DROVER_HOME/drover.sock"
done_testing
