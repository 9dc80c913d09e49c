#!/bin/sh
# Canceling a running task with NOTIFY_THEN_TERMINATE: the action gets
# SIGTERM, has its grace period, and its process group is gone after.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

mark=$T_TMP/mark
cat > "$T_TMP/n.yaml" <<EOT
specificationVersion: jobtemplate-2023-09
name: notify
steps:
  - name: Long
    script:
      actions:
        onRun:
          command: /bin/sh
          args: ['-c', 'trap "echo got-term > $mark; sleep 0.3; echo cleaned >> $mark; exit 1" TERM; echo \$\$ > $mark.pid; echo started > $mark.started; while :; do sleep 0.1; done']
          cancelation:
            mode: NOTIFY_THEN_TERMINATE
            notifyPeriodInSeconds: 5
EOT
j=$(D submit "$T_TMP/n.yaml")
check "task starts" q_until 20 test -e "$mark.started"
check "it is RUNNING" test "$(q_state "$j")" = RUNNING
D cancel "$j" > /dev/null
D wait -q "$j"
check "state CANCELED" test "$(q_state "$j")" = CANCELED
check "the action was notified (SIGTERM)" contains "$mark" got-term
check "and could clean up in its grace period" contains "$mark" cleaned
check "attempt CANCELED with CANCELED_BY_USER" test "$(q_job "$j" 'j["attempts"][0]["state"]+" "+j["attempts"][0]["reason"]')" = "CANCELED CANCELED_BY_USER"
pid=$(cat "$mark.pid")
check "no process of the action is left" sh -c "! kill -0 $pid 2>/dev/null"

# cancel one task of a step: the others run
rm -f "$mark"*
q_sh_job "$T_TMP/three.yaml" three 3 'sleep 0.2'
j=$(D submit --paused "$T_TMP/three.yaml")
D cancel "$j/S/1" > /dev/null
D resume "$j"
D wait -q "$j"
check "one canceled task: job CANCELED" test "$(q_state "$j")" = CANCELED
check "the two others succeeded" test "$(q_job "$j" 'j["steps"][0]["counts"]["SUCCEEDED"]')" = 2
done_testing
