#!/bin/sh
# A store at an older schema (with a job in it) is migrated by `drover
# migrate` and by the daemon; a newer store is refused untouched.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

mkdir -p "$DROVER_HOME"
check "migrate --to 1 builds schema 1" sh -c '"$DROVER_BIN" migrate --to 1 | grep -q "applied 1"'
latest=$(D migrate --status | sed -n 's/^schema 1 of \([0-9]*\).*/\1/p')
check "status says 1 of the latest" test "${latest:-0}" -ge 4
q_sh_job "$T_TMP/j.yaml" oldjob 2 'echo from-old-$1'
# the created-job JSON as a version-1 drover stored it
python3 - "$DROVER_HOME/drover.db" <<'PY'
import json, sqlite3, sys
doc = {"format": "drover-job-1", "name": "oldjob", "parameters": [],
       "jobEnvironments": [], "extensions": [], "templateDir": "/",
       "steps": [{"name": "S", "dependencies": [],
                  "parameterSpace": {"taskParameterDefinitions": [
                      {"name": "I", "type": "INT", "range": "0-1"}]},
                  "stepEnvironments": [],
                  "script": {"actions": {"onRun": {"command": "/bin/sh",
                      "args": ["-c", "echo from-old-$1", "x",
                               "{{Task.Param.I}}"]}}}}]}
db = sqlite3.connect(sys.argv[1])
db.execute("INSERT INTO jobs(name, job, submitter, task_count, state, reason,"
           " submitted_at) VALUES ('oldjob', ?, 'me', 2, 'READY',"
           " 'WAITING_WORKERS', 1)", (json.dumps(doc),))
db.execute("INSERT INTO steps(job_id, idx, name, task_count, implicit, n_ready,"
           " state) VALUES (1, 0, 'S', 2, 'READY', 2, 'READY')")
db.commit()
PY
check "an old job was written" test $? = 0
printf '[daemon]\nauto_migrate = false\n' > "$T_TMP/sys.conf"
DROVER_SYSTEM_CONFIG=$T_TMP/sys.conf D daemon 2> "$T_TMP/err"
check "without auto_migrate the daemon refuses an old store" test $? = 1
check "and says to run drover migrate" contains "$T_TMP/err" "drover migrate"
D migrate > "$T_TMP/mig"
check "migrate applies 2 to the latest" test "$(grep -c '^applied' "$T_TMP/mig")" = $((latest - 1))
check "now current" sh -c '"$DROVER_BIN" migrate | grep -q "schema '"$latest"' is current"'
check "the old job runs on the new schema" D wait -q 1
check "with its output" sh -c '"$DROVER_BIN" logs 1 | grep -q "Z from-old-1$"'
D stop
# from schema 1 straight through the daemon (auto_migrate on)
rm -rf "$DROVER_HOME"; mkdir -p "$DROVER_HOME"
D migrate --to 1 > /dev/null
check "the daemon migrates an old store itself" D status
check "to the latest" sh -c '"$DROVER_BIN" status --json | grep -q "\"schema\": '"$latest"'"'
D stop
python3 -c "import sqlite3,sys; d=sqlite3.connect(sys.argv[1]); d.execute('PRAGMA user_version = 99'); d.commit()" "$DROVER_HOME/drover.db"
D daemon 2> "$T_TMP/err"
check "a newer store is refused" test $? = 1
check "with a clear message" contains "$T_TMP/err" "newer than this drover understands"
check "and left at version 99" test "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA user_version').fetchone()[0])" "$DROVER_HOME/drover.db")" = 99
D migrate 2>/dev/null
check "migrate refuses it too" test $? = 1
done_testing
