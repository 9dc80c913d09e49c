#!/bin/sh
# A full disk under DROVER_HOME: a write the store cannot make (a submit
# that needs new space) is refused with a clear error to the client and in
# the daemon log; the daemon stays up, the running session goes on and its
# result is recorded; once space is back the same submit works; the store
# passes SQLite's integrity check.  DROVER_HOME is a small tmpfs (mounting
# needs root; skipped otherwise).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

mkdir -p "$DROVER_HOME"
if ! mount -t tmpfs -o size=16m,mode=0700 tmpfs "$DROVER_HOME" 2>/dev/null; then
	echo "ok 1 # SKIP cannot mount a tmpfs (not root?)"
	echo "1..1"
	exit 0
fi
T_ON_EXIT='q_cleanup; umount -l "$DROVER_HOME"'
[ -n "${KEEP_LOG:-}" ] && T_ON_EXIT="cp \"$DROVER_HOME\"/*.log $KEEP_LOG/; $T_ON_EXIT"
# the tmpfs is tiny on purpose: let sessions start on it
mkdir -p "$XDG_CONFIG_HOME/drover"
D config set daemon.min_free_space 0 > /dev/null
st() { [ "$(q_state "$1")" = "$2" ]; }

go=$T_TMP/go
cat > "$T_TMP/wait.yaml" <<EOT
specificationVersion: jobtemplate-2023-09
name: waits
steps:
  - name: S
    script:
      actions:
        onRun:
          command: /bin/sh
          args: ['-c', 'echo started; while [ ! -e $go ]; do sleep 0.05; done; exit 0']
EOT
# a job whose record needs about 1 MB: more than the store has room for
cat > "$T_TMP/big.yaml" <<EOT
specificationVersion: jobtemplate-2023-09
name: big
parameterDefinitions:
  - name: Big
    type: STRING
steps:
  - name: S
    script:
      actions:
        onRun:
          command: /bin/true
EOT
python3 -c 'import json; print(json.dumps({"Big": "x" * 1000000}))' > "$T_TMP/big.json"

j=$(D submit "$T_TMP/wait.yaml")
check "the job is submitted" test -n "$j"
check "its task runs" q_until 20 st "$j" RUNNING
check "its first output is logged" q_until 10 sh -c "'$DROVER_BIN' logs '$j' | grep -q started"

dd if=/dev/zero of="$DROVER_HOME/filler" bs=64k 2>/dev/null
check "the disk is full" sh -c "! dd if=/dev/zero of='$DROVER_HOME/probe' bs=64k count=1 2>/dev/null"
rm -f "$DROVER_HOME/probe"

D submit "$T_TMP/big.yaml" -p "file://$T_TMP/big.json" > "$T_TMP/sub.out" 2> "$T_TMP/sub.err"; rc=$?
check "a submit that needs space is refused (exit $rc)" [ "$rc" -eq 1 ]
check "with a clear error" grep -q "cannot store the job: database or disk is full" "$T_TMP/sub.err"
check "the daemon log says it too" grep -q "database or disk is full" "$DROVER_HOME/daemon.log"
check "the daemon is still up" sh -c "'$DROVER_BIN' status > /dev/null"
check "the running task is untouched" st "$j" RUNNING
check "status says the store cannot be written" q_until 10 sh -c "'$DROVER_BIN' status --json | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"storeWritable\"] is not False)'"

# the task ends while the disk is full: its result waits in the worker
touch "$go"
check "the worker keeps the result and retries" q_until 20 grep -q "cannot take the result of task" "$DROVER_HOME/daemon.log"
check "the daemon still answers" sh -c "'$DROVER_BIN' status > /dev/null"

rm -f "$DROVER_HOME/filler"
check "with space back, the result is recorded" q_until 30 st "$j" SUCCEEDED
check "late, by the worker's retry" q_until 10 grep -q "result of task 0 recorded" "$DROVER_HOME/daemon.log"
check "status says the store takes writes again" q_until 10 sh -c "'$DROVER_BIN' status --json | python3 -c 'import json,sys; sys.exit(json.load(sys.stdin)[\"storeWritable\"] is not True)'"
j2=$(D submit "$T_TMP/big.yaml" -p "file://$T_TMP/big.json")
check "the refused submit is now accepted" test -n "$j2"
D wait -q "$j2"
check "and runs" st "$j2" SUCCEEDED
check "the earlier job's output is intact" sh -c "'$DROVER_BIN' logs '$j' | grep -q started"
D stop > /dev/null
check "the store passes SQLite's integrity check" python3 -c "
import glob, os, sqlite3, sys
db = glob.glob(os.path.join(sys.argv[1], '*.db'))[0]
r = sqlite3.connect(db).execute('pragma integrity_check').fetchone()[0]
sys.exit(0 if r == 'ok' else 1)" "$DROVER_HOME"
done_testing
