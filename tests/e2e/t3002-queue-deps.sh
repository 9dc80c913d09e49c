#!/bin/sh
# Step dependencies gate READY; --after jobs; a failed parent fails its
# children with DEPENDENCY_FAILED; priorities order dispatch.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

out=$T_TMP/order
cat > "$T_TMP/chain.yaml" <<EOT
specificationVersion: jobtemplate-2023-09
name: chain
steps:
  - name: First
    parameterSpace:
      taskParameterDefinitions:
        - name: I
          type: INT
          range: "1-3"
    script:
      actions:
        onRun:
          command: /bin/sh
          args: ['-c', 'sleep 0.2; echo first-\$1 >> $out', 'x', '{{Task.Param.I}}']
  - name: Second
    dependencies:
      - dependsOn: First
    script:
      actions:
        onRun:
          command: /bin/sh
          args: ['-c', 'echo second >> $out']
  - name: Third
    dependencies:
      - dependsOn: Second
      - dependsOn: First
    script:
      actions:
        onRun:
          command: /bin/sh
          args: ['-c', 'echo third >> $out']
EOT
D daemon --slots 3 || not_ok "daemon start"
j=$(D submit "$T_TMP/chain.yaml")
check "Second waits on First" test "$(q_job "$j" '[s["state"] for s in j["steps"]][1]')" = PENDING
check "chain succeeds" D wait -q "$j"
check "order: all of First, then Second, then Third" test "$(sed 's/-.*//' "$out" | uniq | tr '\n' ' ')" = "first second third "
check "First ran 3 tasks" test "$(grep -c first "$out")" = 3

# --after: a child waits for two parents
q_sh_job "$T_TMP/p.yaml" parent 1 'sleep 0.5'
q_sh_job "$T_TMP/f.yaml" failing 1 'sleep 0.3; exit 1'
q_sh_job "$T_TMP/c.yaml" child 1 'true'
p1=$(D submit "$T_TMP/p.yaml")
p2=$(D submit "$T_TMP/p.yaml")
c=$(D submit --after "$p1,$p2" "$T_TMP/c.yaml")
check "child waits on its parents" test "$(q_state "$c")" = PENDING
check "reason WAITING_DEPS" test "$(q_job "$c" 'j["reason"]')" = WAITING_DEPS
check "child runs after both" D wait -q "$c"
check "child started after the parents ended" test "$(q_job "$c" 'j["startedAt"]')" -ge "$(q_job "$p2" 'j["endedAt"]')"
D submit --after 999 "$T_TMP/c.yaml" 2> "$T_TMP/err"
check "unknown --after job is refused" test $? = 1
check "with a message" contains "$T_TMP/err" "no job 999"

f=$(D submit "$T_TMP/f.yaml")
c2=$(D submit --after "$f" "$T_TMP/c.yaml")
D wait -q "$c2"
check "a failed parent fails the child" test "$(q_state "$c2")" = FAILED
check "with reason DEPENDENCY_FAILED" test "$(q_job "$c2" 'j["reason"]')" = DEPENDENCY_FAILED
check "and a message naming the parent" sh -c "'$DROVER_BIN' show $c2 | grep -q 'job $f'"
c3=$(D submit --after "$f" "$T_TMP/c.yaml")
check "submitting after a failed job fails at once" test "$(q_state "$c3")" = FAILED

# priority: with one slot busy, the higher priority job goes first
D stop
D daemon --slots 1 || not_ok "daemon restart"
log=$T_TMP/prio
q_sh_job "$T_TMP/blk.yaml" blocker 1 'sleep 0.5'
q_sh_job "$T_TMP/lo.yaml" low 1 "echo low >> $log"
q_sh_job "$T_TMP/hi.yaml" high 1 "echo high >> $log"
b=$(D submit "$T_TMP/blk.yaml")
lo=$(D submit --priority 10 "$T_TMP/lo.yaml")
hi=$(D submit --priority 90 "$T_TMP/hi.yaml")
D wait -q "$b" "$lo" "$hi"
check "higher priority ran first" test "$(tr '\n' ' ' < "$log")" = "high low "
done_testing
