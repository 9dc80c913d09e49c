#!/bin/sh
# Sessions run many tasks with environments entered once (up to
# --max-tasks-per-session), host requirements (NOT_COMPATIBLE, config
# capabilities), the completion hook, job bundles, huge parameter spaces.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

env=$T_TMP/entered
cat > "$T_TMP/envjob.yaml" <<EOT
specificationVersion: jobtemplate-2023-09
name: envjob
jobEnvironments:
  - name: Setup
    script:
      actions:
        onEnter:
          command: /bin/sh
          args: ['-c', 'echo enter >> $env']
        onExit:
          command: /bin/sh
          args: ['-c', 'echo exit >> $env']
steps:
  - name: S
    parameterSpace:
      taskParameterDefinitions:
        - name: I
          type: INT
          range: "1-6"
    script:
      actions:
        onRun:
          command: /bin/true
EOT
D daemon --slots 1 || not_ok "daemon"
j=$(D submit "$T_TMP/envjob.yaml")
D wait -q "$j"
check "6 tasks in one session: the environment entered once" test "$(grep -c enter "$env")" = 1
check "and exited once" test "$(grep -c exit "$env")" = 1
check "one session ran them" test "$(q_job "$j" 'len(set(a["session"] for a in j["attempts"]))')" = 1
D stop
rm -f "$env"
D daemon --slots 1 --max-tasks-per-session 2
j=$(D submit "$T_TMP/envjob.yaml")
D wait -q "$j"
check "--max-tasks-per-session 2: three sessions" test "$(q_job "$j" 'len(set(a["session"] for a in j["attempts"]))')" = 3
check "each entered and exited its environment" test "$(grep -c enter "$env") $(grep -c exit "$env")" = "3 3"

# host requirements
cat > "$T_TMP/hr.yaml" <<EOT
specificationVersion: jobtemplate-2023-09
name: hostreq
steps:
  - name: Big
    hostRequirements:
      amounts:
        - name: amount.worker.vcpu
          min: 100000
    script:
      actions:
        onRun:
          command: /bin/true
  - name: After
    dependencies:
      - dependsOn: Big
    script:
      actions:
        onRun:
          command: /bin/true
  - name: Linux
    hostRequirements:
      attributes:
        - name: attr.worker.os.family
          anyOf: [linux]
        - name: attr.site
          anyOf: [here]
    script:
      actions:
        onRun:
          command: /bin/true
EOT
j=$(D submit "$T_TMP/hr.yaml")
D wait -q "$j"
check "a step this host cannot run: NOT_COMPATIBLE" test "$(q_job "$j" 'j["steps"][0]["state"]')" = NOT_COMPATIBLE
check "with the reason" test "$(q_job "$j" 'j["steps"][0]["message"]')" = "amount.worker.vcpu: needs at least 100000, this host has $(nproc)"
check "its dependant too" test "$(q_job "$j" 'j["steps"][1]["state"]')" = NOT_COMPATIBLE
check "unknown attribute: NOT_COMPATIBLE" test "$(q_job "$j" 'j["steps"][2]["state"]')" = NOT_COMPATIBLE
check "job NOT_COMPATIBLE" test "$(q_state "$j")" = NOT_COMPATIBLE
mkdir -p "$XDG_CONFIG_HOME/drover"
D config set capabilities.attr.site here
D retry "$j" > /dev/null
D wait -q "$j"
check "with the capability configured the step runs" test "$(q_job "$j" 'j["steps"][2]["state"]')" = SUCCEEDED
check "the impossible one stays NOT_COMPATIBLE" test "$(q_job "$j" 'j["steps"][0]["state"]')" = NOT_COMPATIBLE

# completion hook
hook=$T_TMP/hook
q_sh_job "$T_TMP/q.yaml" hooked 1 'true'
j=$(D submit --on-complete "echo \$DROVER_JOB_ID \$DROVER_JOB_NAME \$DROVER_JOB_STATE \$DROVER_JOB_REASON > $hook" "$T_TMP/q.yaml")
D wait -q "$j"
check "the hook ran" q_until 10 test -s "$hook"
check "with id, name, state and reason" test "$(cat "$hook")" = "$j hooked SUCCEEDED SUCCEEDED"

# a job bundle with Deadline's parameter values
mkdir -p "$T_TMP/bundle"
cat > "$T_TMP/bundle/template.yaml" <<EOT
specificationVersion: jobtemplate-2023-09
name: "bundle {{Param.Word}}"
parameterDefinitions:
  - name: Word
    type: STRING
steps:
  - name: S
    script:
      actions:
        onRun:
          command: /bin/echo
          args: ["{{Param.Word}}"]
EOT
cat > "$T_TMP/bundle/parameter_values.json" <<EOT
{"parameterValues": [{"name": "Word", "value": "hello"},
 {"name": "deadline:priority", "value": 77},
 {"name": "deadline:maxRetriesPerTask", "value": 4},
 {"name": "deadline:targetTaskRunStatus", "value": "SUSPENDED"}]}
EOT
echo '{"assetReferences": {"inputs": {"filenames": []}}}' > "$T_TMP/bundle/asset_references.json"
j=$(D submit "$T_TMP/bundle" -p Word=world)
check "bundle: priority from deadline:priority" test "$(q_job "$j" 'j["priority"]')" = 77
check "bundle: retries from deadline:maxRetriesPerTask" test "$(q_job "$j" 'j["maxRetries"]')" = 4
check "bundle: SUSPENDED from targetTaskRunStatus" test "$(q_state "$j")" = SUSPENDED
check "bundle: -p overrides the bundle's value" test "$(q_job "$j" 'j["name"]')" = "bundle world"
D resume "$j"
check "bundle job runs" D wait -q "$j"

# a 1,000,000-task job: rows per job and step only, quick to submit
q_sh_job "$T_TMP/huge.yaml" huge 1000000 'true'
j=$(D submit --paused "$T_TMP/huge.yaml")
check "huge job queued" test "$(q_job "$j" 'j["tasks"]')" = 1000000
check "no task rows for it" test "$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('SELECT count(*) FROM tasks WHERE job_id=$j').fetchone()[0])" "$DROVER_HOME/drover.db")" = 0
D cancel "$j" > /dev/null
check "canceling it is quick and complete" test "$(q_state "$j")" = CANCELED

# per-attempt log cap, and the free-space check before a session starts
D config set daemon.task_log_max 2K
q_sh_job "$T_TMP/chatty.yaml" chatty 1 'i=0; while [ $i -lt 500 ]; do echo line-$i; i=$((i+1)); done'
j=$(D submit "$T_TMP/chatty.yaml")
D wait -q "$j"
D logs "$j/S/0" > "$T_TMP/chatty.log"
check "a long log is cut at daemon.task_log_max" contains "$T_TMP/chatty.log" "log truncated at 2048 bytes"
check "the cut log is about the cap" test "$(wc -c < "$T_TMP/chatty.log")" -lt 4096
check "the attempt still succeeded" test "$(q_state "$j")" = SUCCEEDED
D config set daemon.min_free_space 100000000G
q=$(D submit "$T_TMP/q.yaml")
check "no session without free space" q_until 10 sh -c '"$DROVER_BIN" status | grep -q "^blocked: .*min_free_space"'
check "the job waits" test "$(q_state "$q")" = READY
D config unset daemon.min_free_space
check "it runs once there is space" D wait -q "$q"
done_testing
