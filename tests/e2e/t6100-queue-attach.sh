#!/bin/sh
# Job attachments through the queue: `drover submit --attach` uploads the
# inputs, each session reads its own copy through generated path mapping
# rules (the original directory is gone by the time the task runs), the
# files tasks write into OUT directories become output manifests that
# `drover download` brings back byte for byte, and a task whose declared
# outputs match nothing fails with UNMATCHED_OUTPUTS.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/queue-lib.sh"

# one slot: tasks run in order in one session (for "later wins")
mkdir -p "$XDG_CONFIG_HOME/drover"
printf '[daemon]\nslots = 1\n' > "$XDG_CONFIG_HOME/drover/config"

cd "$T_TMP" || exit 1
mkdir -p proj/scene/notes
head -c 100000 /dev/urandom > proj/scene/scene.bin
printf 'caf\303\251\n' > "proj/scene/notes/caf$(printf '\303\251').txt"
cp -R proj/scene ref-scene

cat > job.yaml <<'EOF'
specificationVersion: jobtemplate-2023-09
name: attach-e2e
parameterDefinitions:
  - {name: Scene, type: PATH, objectType: FILE, dataFlow: IN}
  - {name: OutDir, type: PATH, objectType: DIRECTORY, dataFlow: OUT}
  - {name: Results, type: PATH, objectType: DIRECTORY, dataFlow: OUT}
  - {name: Other, type: PATH}
steps:
  - name: Render
    parameterSpace:
      taskParameterDefinitions:
        - {name: F, type: INT, range: "0-2"}
    script:
      actions:
        onRun:
          command: /bin/sh
          args: ["{{Task.File.Run}}", "{{Task.Param.F}}"]
      embeddedFiles:
        - name: Run
          type: TEXT
          data: |
            set -e
            echo "scene={{Param.Scene}}"
            echo "raw={{RawParam.Scene}}"
            echo "other={{Param.Other}}"
            echo "rules=$(tr -d ' \n' < '{{Session.PathMappingRulesFile}}')"
            cp "{{Param.Scene}}" "{{Param.OutDir}}/frame-$1.bin"
            mkdir -p "{{Param.Results}}/sub"
            echo "frame $1 of $(wc -c < "{{Param.Scene}}")" > "{{Param.Results}}/sub/log-$1.txt"
            echo "task $1" > "{{Param.OutDir}}/last.txt"
EOF
rules='{"version":"pathmapping-1.0","path_mapping_rules":[{"source_path_format":"POSIX","source_path":"/fake/src","destination_path":"/fake/dst"}]}'

id=$(D submit --paused --attach proj/scene -p Scene=proj/scene/scene.bin \
    -p OutDir=proj/out -p Results=proj/scene/results -p Other=/fake/src/thing \
    --path-mapping-rules "$rules" job.yaml)
check "submit --attach queues the job" test -n "$id"
D show --json "$id" > show.json
check "the input is recorded with its root as submitted" \
    test "$(q_field show.json 'j["attachments"]["inputs"][0]["root"]')" = "$T_TMP/proj/scene"
check "with its file count" test "$(q_field show.json 'j["attachments"]["inputs"][0]["files"]')" = 2
mhash=$(q_field show.json 'j["attachments"]["inputs"][0]["manifest"]')
check "its manifest is in the default store" test -f "$DROVER_HOME/cas/Manifests/$mhash.json"
check "the store is recorded" test "$(q_field show.json 'j["attachments"]["store"]')" = "$DROVER_HOME/cas"
check "the given rules are recorded" \
    test "$(q_field show.json 'j["attachments"]["pathMappingRules"]["path_mapping_rules"][0]["destination_path"]')" = /fake/dst

# the original goes away before any task runs
mv proj/scene proj/scene.gone
D resume "$id" > /dev/null
D wait -q "$id"
check "the job succeeds without the original directory" test $? = 0
D logs "$id/Render/0" > log0
check "Param.Scene is the session's copy" \
    grep -q "scene=$DROVER_HOME/sessions/drover-session-[^/]*/attach/in0/scene/scene.bin\$" log0
check "RawParam.Scene stays as submitted" grep -q "raw=$T_TMP/proj/scene/scene.bin\$" log0
check "given rules still apply" grep -q "other=/fake/dst/thing\$" log0
check "the rules file holds the generated rule" \
    grep -q "\"source_path\":\"$T_TMP/proj/scene\"" log0
check "and the given one" grep -q '"source_path":"/fake/src"' log0
check "the task log names the captured outputs" grep -q "drover: output OutDir: 2 new or changed files" log0
check "the original was not recreated by the task" test ! -e proj/scene

D show --json "$id" > show.json
check "two output manifests per task" \
    test "$(q_field show.json 'len(j["attachments"]["outputManifests"])')" = 6
check "task 1 wrote frame-1.bin and last.txt into OutDir" \
    test "$(q_field show.json '[o["files"] for o in j["attachments"]["outputManifests"] if o["task"] == 1 and o["param"] == "OutDir"][0]')" = 2

# download --to: two roots below their common parent proj/
D download "$id" --to dl > dl.out
check "download --to exits 0" test $? = 0
for f in 0 1 2; do
	check "frame-$f.bin byte for byte" cmp -s dl/out/frame-$f.bin ref-scene/scene.bin
	check "log-$f.txt from the attached directory's output" \
	    test "$(cat dl/scene/results/sub/log-$f.txt)" = "frame $f of 100000"
done
check "later tasks win" test "$(cat dl/out/last.txt)" = "task 2"
check "inputs are not outputs" test ! -e dl/scene/scene.bin
check "the report names both roots" test "$(grep -c ' -> ' dl.out)" = 2

# download to the paths as submitted
D download "$id" > /dev/null
check "download to the original OutDir" cmp -s proj/out/frame-1.bin ref-scene/scene.bin
check "and into the attached directory's results" test -f proj/scene/results/sub/log-2.txt
check "same bytes as with --to" diff -r dl/out proj/out
D download --json "$id" > again.json
check "download again: everything up to date" \
    test "$(q_field again.json 'sum(o["upToDate"] for o in j["outputs"])')" = 7
check "download again: nothing fetched" \
    test "$(q_field again.json 'sum(o["fetched"] for o in j["outputs"])')" = 0
check "--json names the destination" \
    test "$(q_field again.json 'sorted(o["to"] for o in j["outputs"])[0]')" = "$T_TMP/proj/out"

# one task's outputs only
D download "$id/Render/1" --to dl1 > /dev/null
check "JOB/STEP/TASK: that task's frame" test -f dl1/out/frame-1.bin
check "JOB/STEP/TASK: not the others" test ! -e dl1/out/frame-0.bin
check "JOB/STEP/TASK: its own last.txt" test "$(cat dl1/out/last.txt)" = "task 1"

# a task whose declared output stays empty fails
cat > lazy.yaml <<'EOF'
specificationVersion: jobtemplate-2023-09
name: lazy
parameterDefinitions:
  - {name: OutDir, type: PATH, objectType: DIRECTORY, dataFlow: OUT}
steps:
  - name: Prep
    script:
      actions:
        onRun: {command: /bin/sh, args: ["-c", "echo preparing"]}
  - name: Make
    dependencies: [{dependsOn: Prep}]
    script:
      actions:
        onRun: {command: /bin/sh, args: ["-c", "echo would write to {{Param.OutDir}}"]}
EOF
lazy=$(D submit --attach-outputs -p OutDir=lazy-out lazy.yaml)
D wait -q "$lazy"
check "a job whose outputs match nothing fails" test $? = 1
check "reason UNMATCHED_OUTPUTS" test "$(q_job "$lazy" 'j["reason"]')" = UNMATCHED_OUTPUTS
check "the message says why" sh -c "\"\$DROVER_BIN\" show $lazy | grep -q 'unmatched output patterns: the task wrote no file into its output directory OutDir'"
check "the step that does not refer to OutDir succeeded" \
    test "$(q_job "$lazy" '[s["state"] for s in j["steps"] if s["name"] == "Prep"][0]')" = SUCCEEDED
check "the failed attempt's message" \
    test "$(q_job "$lazy" '[a["reason"] for a in j["attempts"] if a["stepName"] == "Make"][0]')" = UNMATCHED_OUTPUTS
D download "$lazy" 2> lazy.err
check "download of a job without outputs: exit 0" test $? = 0
check "and says so" contains lazy.err "no outputs"

# INOUT: captured, never required; outside the attached directories it
# starts empty, which submit warns about
cat > inout.yaml <<'EOF'
specificationVersion: jobtemplate-2023-09
name: inout
parameterDefinitions:
  - {name: Both, type: PATH, objectType: DIRECTORY, dataFlow: INOUT}
steps:
  - name: S
    parameterSpace:
      taskParameterDefinitions:
        - {name: I, type: INT, range: "0-1"}
    script:
      actions:
        onRun:
          command: /bin/sh
          args: ["-c", "[ $1 = 1 ] || echo w > '{{Param.Both}}/w.txt'", x, "{{Task.Param.I}}"]
EOF
io=$(D submit --attach ref-scene -p Both=elsewhere inout.yaml 2> warn.txt)
check "an INOUT directory outside --attach is warned about" contains warn.txt "INOUT parameter 'Both'"
D wait -q "$io"
check "a task writing nothing into INOUT still succeeds" test "$(q_state "$io")" = SUCCEEDED
D download "$io" --to dlio > /dev/null
check "INOUT outputs are captured" test "$(cat dlio/w.txt)" = w

# rules given without attachments still apply
cat > rules.yaml <<'EOF'
specificationVersion: jobtemplate-2023-09
name: rules-only
parameterDefinitions:
  - {name: P, type: PATH}
steps:
  - name: S
    script:
      actions:
        onRun: {command: /bin/sh, args: ["-c", "echo p={{Param.P}} raw={{RawParam.P}} has={{Session.HasPathMappingRules}}"]}
EOF
r=$(D submit --path-mapping-rules "$rules" -p P=/fake/src/a rules.yaml)
D wait -q "$r"
D logs "$r" > rules.log
check "--path-mapping-rules alone: Param is mapped" grep -q 'p=/fake/dst/a raw=/fake/src/a has=true$' rules.log
check "and the job has no store" test "$(q_job "$r" 'j["attachments"]["store"]')" = None
D submit --path-mapping-rules '{"version": "nope"}' -p P=/x rules.yaml 2> err.txt
check "bad --path-mapping-rules: exit 1" test $? = 1
check "with the reason" contains err.txt "--path-mapping-rules"

# errors
before=$(D ls --all --json | q_field /dev/stdin 'len(j)')
params="-p Scene=x -p OutDir=o -p Results=r -p Other=/x"
D submit --attach does-not-exist $params job.yaml 2> err.txt
check "--attach of a missing directory: exit 1" test $? = 1
check "with the directory named" contains err.txt "--attach 'does-not-exist'"
check "nothing queued" test "$(D ls --all --json | q_field /dev/stdin 'len(j)')" = "$before"
D submit --attach ref-scene/scene.bin $params job.yaml 2> err.txt
check "--attach of a file: exit 1" test $? = 1
check "says not a directory" contains err.txt "not a directory"
q_sh_job plain.yaml plain 1 'true'
plain=$(D submit plain.yaml)
D wait -q "$plain"
D download "$plain" 2> err.txt
check "download of a job without attachments: exit 1" test $? = 1
check "says why" contains err.txt "not submitted with attachments"
D download 2> /dev/null
check "download without a job: exit 2" test $? = 2
D download 999 2> /dev/null
check "download of an unknown job: exit 1" test $? = 1

# inputs that can no longer be materialised fail the session, with why
mkdir -p lost && echo gone > lost/f.txt
lostjob=$(D submit --paused --attach lost $params job.yaml)
rm -f "$DROVER_HOME"/cas/Data/*
D resume "$lostjob" > /dev/null
D wait -q "$lostjob"
check "a job whose inputs are gone from the store fails" test $? = 1
check "reason SESSION_FAILED" test "$(q_job "$lostjob" 'j["reason"]')" = SESSION_FAILED
check "the message names the input" \
    sh -c "\"\$DROVER_BIN\" show $lostjob | grep -q \"cannot materialise the input '$T_TMP/lost'\""

done_testing
