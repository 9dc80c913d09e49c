#!/bin/sh
# Retries (each attempt recorded) and the three --on-error policies.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

D daemon --slots 2 || not_ok "daemon start"
# fails twice, then succeeds: counts attempts in a file
cnt=$T_TMP/count
q_sh_job "$T_TMP/flaky.yaml" flaky 1 "echo x >> $cnt; test \$(wc -l < $cnt) -ge 3"
j=$(D submit --max-retries 2 "$T_TMP/flaky.yaml")
check "flaky job succeeds on its third attempt" D wait -q "$j"
check "3 attempts recorded" test "$(q_job "$j" 'len(j["attempts"])')" = 3
check "attempts 1, 2 failed, 3 succeeded" test "$(q_job "$j" '",".join(a["state"] for a in j["attempts"])')" = "FAILED,FAILED,SUCCEEDED"
check "attempt numbers 1..3" test "$(q_job "$j" '",".join(str(a["attempt"]) for a in j["attempts"])')" = "1,2,3"
check "each attempt has its own output" test "$(D logs "$j/S/0" | grep -c '^==> .* attempt [123] <==$')" = 3
rm -f "$cnt"
j=$(D submit --max-retries 1 "$T_TMP/flaky.yaml")
D wait -q "$j"
check "not enough retries: FAILED" test "$(q_state "$j")" = FAILED
check "2 attempts" test "$(q_job "$j" 'len(j["attempts"])')" = 2

# A (4 tasks, task 0 fails fast, others slow) <- B; C independent
pol() {
	cat > "$T_TMP/pol.yaml" <<EOT
specificationVersion: jobtemplate-2023-09
name: policy
steps:
  - name: A
    parameterSpace:
      taskParameterDefinitions:
        - name: I
          type: INT
          range: "0-3"
    script:
      actions:
        onRun:
          command: /bin/sh
          args: ['-c', 'if [ \$1 = 0 ]; then sleep 0.4; exit 3; fi; exec sleep 1', 'x', '{{Task.Param.I}}']
          cancelation:
            mode: TERMINATE
  - name: B
    dependencies:
      - dependsOn: A
    script:
      actions:
        onRun:
          command: /bin/true
  - name: C
    script:
      actions:
        onRun:
          command: /bin/true
EOT
}
pol
j=$(D submit --on-error continue "$T_TMP/pol.yaml")
D wait -q "$j"
check "continue: job FAILED" test "$(q_state "$j")" = FAILED
check "continue: other A tasks ran to success" test "$(q_job "$j" 'j["steps"][0]["counts"].get("SUCCEEDED",0)')" = 3
check "continue: B failed as a dependant" test "$(q_job "$j" 'j["steps"][1]["counts"].get("FAILED",0)')" = 1
check "continue: C (independent) succeeded" test "$(q_job "$j" 'j["steps"][2]["state"]')" = SUCCEEDED
check "continue: reason NONZERO_EXIT" test "$(q_job "$j" 'j["reason"]')" = NONZERO_EXIT

j=$(D submit --on-error quit "$T_TMP/pol.yaml")
D wait -q "$j"
check "quit: job FAILED" test "$(q_state "$j")" = FAILED
check "quit: the running A task finished" test "$(q_job "$j" 'j["steps"][0]["counts"].get("SUCCEEDED",0)')" = 1
check "quit: the rest canceled" test "$(q_job "$j" 'j["steps"][0]["counts"].get("CANCELED",0)')" = 2
check "quit: B canceled" test "$(q_job "$j" 'j["steps"][1]["state"]')" = CANCELED

j=$(D submit --on-error terminate "$T_TMP/pol.yaml")
D wait -q "$j"
check "terminate: job FAILED" test "$(q_state "$j")" = FAILED
check "terminate: the running A task was canceled" test "$(q_job "$j" 'j["steps"][0]["counts"].get("SUCCEEDED",0)')" = 0
check "terminate: the running attempt says JOB_TERMINATED" test "$(q_job "$j" '",".join(a["state"]+" "+a["reason"] for a in j["attempts"] if a["task"]!=0)')" = "CANCELED JOB_TERMINATED"
check "terminate: reason NONZERO_EXIT" test "$(q_job "$j" 'j["reason"]')" = NONZERO_EXIT
done_testing
