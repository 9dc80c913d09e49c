#!/bin/sh
# drover summary: job creation from the command line -- parameter forms,
# environment templates, human and JSON output, exit codes, error positions.
. "$(dirname "$0")/lib.sh"

D="$DROVER_BIN"
W="$T_TMP/w"
mkdir -p "$W/sub"
cd "$W" || exit 1

cat >job.yaml <<'EOF'
specificationVersion: jobtemplate-2023-09
name: "Render {{Param.Shot}} v{{Param.Version}}"
description: Renders a shot.
parameterDefinitions:
  - name: Shot
    type: STRING
    default: sh010
  - name: Version
    type: INT
    default: "007"
    minValue: 1
    maxValue: 100
  - name: End
    type: INT
    default: 10
  - name: Out
    type: PATH
    default: renders
  - name: Tool
    type: STRING
    default: none
jobEnvironments:
  - name: JobEnv
    variables: {A: b}
steps:
  - name: Setup
    script: {actions: {onRun: {command: echo}}}
  - name: Render
    dependencies: [{dependsOn: Setup}]
    stepEnvironments: [{name: RenderEnv, variables: {C: d}}]
    parameterSpace:
      taskParameterDefinitions:
        - {name: Frame, type: INT, range: "1-{{Param.End}}"}
        - {name: Layer, type: STRING, range: [fg, bg]}
    script: {actions: {onRun: {command: echo}}}
EOF

cat >env.yaml <<'EOF'
specificationVersion: environment-2023-09
parameterDefinitions:
  - name: Tool
    type: STRING
    allowedValues: [none, maya, nuke]
    default: maya
  - name: Version
    type: INT
    maxValue: 50
environment:
  name: ToolEnv
  variables: {TOOL: "{{Param.Tool}}"}
EOF

run() { "$D" summary "$@" >out 2>err; echo $? >rc; }
rc() { [ "$(cat rc)" = "$1" ]; }

# --- help and usage -------------------------------------------------------
"$D" summary --help >out 2>err
check "--help exits 0" [ $? -eq 0 ]
check "--help is a manual" contains out "EXIT STATUS"
check "--help documents -p file://" contains out "file://FILE"
run
check "no template: exit 2" rc 2
check "no template: says so" contains err "no template given"
run job.yaml --bogus
check "unknown option: exit 2" rc 2
run job.yaml -p noequals
check "-p without KEY=VALUE: exit 2" rc 2
check "-p without KEY=VALUE: explains the forms" contains err "expected KEY=VALUE"
run job.yaml -p
check "-p without argument: exit 2" rc 2
run job.yaml --environment
check "--environment without argument: exit 2" rc 2
run job.yaml other.yaml
check "two templates: exit 2" rc 2

# --- defaults ----------------------------------------------------------------
run job.yaml
check "defaults: exit 0" rc 0
check "defaults: resolved name (INT default '007' is 7)" contains out "Job: Render sh010 v7"
check "defaults: parameter listed" contains out "Version (INT) = 7"
check "defaults: PATH default joined with the template dir" contains out "Out (PATH) = $W/renders"
check "defaults: task count" contains out "2. Render: 20 tasks"
check "defaults: task parameters" contains out "Task parameters: Frame (INT), Layer (STRING)"
check "defaults: dependency" contains out "Depends on: Setup"
check "defaults: step environment" contains out "Environments: RenderEnv"
check "defaults: job environment" contains out "1. JobEnv"
check "defaults: totals" contains out "Total: 2 steps, 21 tasks, 2 environments"

# --- the three -p forms, last one wins ---------------------------------------
run job.yaml -p Shot=a -p Shot=b -p End=3
check "KEY=VALUE: exit 0" rc 0
check "KEY=VALUE: last value wins" contains out "Job: Render b v7"
check "KEY=VALUE: range resolved from a parameter" contains out "Render: 6 tasks"
printf 'Shot: fromyaml\nVersion: 12\n' >p.yaml
printf '{"Shot": "fromjson", "End": 1}\n' >p.json
run job.yaml -p file://p.yaml
check "file:// YAML: values used" contains out "Job: Render fromyaml v12"
run job.yaml -p file://p.yaml -p file://p.json
check "file:// JSON after YAML: JSON wins for Shot" contains out "Job: Render fromjson v12"
check "file:// JSON: End=1" contains out "Render: 2 tasks"
run job.yaml -p file://p.json -p '{"Shot": "inline", "Version": 3}'
check "inline JSON: exit 0" rc 0
check "inline JSON: values used" contains out "Job: Render inline v3"
run job.yaml -p '{"Shot": "inline"}' -p Shot=last
check "KEY=VALUE after inline JSON wins" contains out "Job: Render last v7"
run job.yaml --parameter Shot=long1 --parameter=Version=9 -pEnd=2
check "--parameter X, --parameter=X and -pX forms" contains out "Job: Render long1 v9"
check "-pX form: End=2" contains out "Render: 4 tasks"
run job.yaml -p file://missing.yaml
check "missing parameter file: exit 1" rc 1
check "missing parameter file: named" contains err "missing.yaml"
(cd sub && "$D" summary ../job.yaml -p Out=rel/../x >../out 2>../err)
check "relative PATH value joined with the current directory" contains out "Out (PATH) = $W/sub/x"

# --- invalid values: exit 1, FILE:LINE:COL: path: message ----------------------
run job.yaml -p Version=200
check "value above maxValue: exit 1" rc 1
check "value above maxValue: positioned message" contains err "job.yaml:12:15: parameterDefinitions[1].maxValue: job parameter 'Version': value 200 is above maxValue 100"
run job.yaml -p Versoin=2
check "unknown parameter: exit 1" rc 1
check "unknown parameter: did you mean, pointing at the definitions" contains err "job.yaml:5:3: parameterDefinitions: job parameter 'Versoin' (given with -p) is not defined by the template (did you mean 'Version'?)"
run job.yaml -p End=x
check "INT from a non-number: exit 1" rc 1
check "INT from a non-number: message" contains err "value 'x' is not an integer"
printf '%s\n' 'End: 9223372036854775808' >big.yaml
run job.yaml -p file://big.yaml
check "INT above int64: exit 1" rc 1
check "INT above int64: positioned in the params file" contains err "big.yaml:1:6: job parameter 'End': value '9223372036854775808' is outside the 64-bit integer range"

# --- environment templates -----------------------------------------------------
run job.yaml --environment env.yaml
check "--environment: exit 0" rc 0
check "--environment: listed first, with its file" contains out "1. ToolEnv (from env.yaml)"
check "--environment: job environments after" contains out "2. JobEnv"
check "--environment: job template default wins (processed last)" contains out "Tool (STRING) = none"
run job.yaml --environment=env.yaml -p Version=60
check "--environment: merged maxValue applies" rc 1
check "--environment: error names the environment template" contains err "env.yaml:9:15: parameterDefinitions[1].maxValue: job parameter 'Version': value 60 is above maxValue 50"
run job.yaml --environment env.yaml -p Tool=houdini
check "--environment: allowedValues from the environment" contains err "value 'houdini' is not one of the allowedValues ['none', 'maya', 'nuke']"
run job.yaml --environment job.yaml
check "job template as --environment: exit 1" rc 1
check "job template as --environment: explained" contains err "needs an environment template"
run env.yaml
check "environment template as TEMPLATE: exit 1" rc 1

# --- invalid template ----------------------------------------------------------
printf 'specificationVersion: jobtemplate-2023-09\nname: x\nsteps: []\n' >bad.yaml
run bad.yaml
check "invalid template: exit 1" rc 1
check "invalid template: positioned error" contains err "bad.yaml:"

# --- JSON output ------------------------------------------------------------------
run job.yaml --json -p End=1000000000
check "--json: exit 0" rc 0
check "--json: valid JSON with the expected content" python3 - out <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
assert d["name"] == "Render sh010 v7", d["name"]
assert [p["name"] for p in d["parameters"]] == ["Shot", "Version", "End", "Out", "Tool"]
r = d["steps"][1]
assert r["name"] == "Render" and r["tasks"] == 2000000000, r
assert r["dependencies"] == ["Setup"]
assert [t["name"] for t in r["taskParameters"]] == ["Frame", "Layer"]
assert r["environments"] == ["RenderEnv"]
assert d["order"] == ["Setup", "Render"]
assert d["totalTasks"] == 2000000001 and d["totalSteps"] == 2
EOF

# --- task chunking: tasks and chunks ------------------------------------------------
cat >chunk.yaml <<'EOF'
specificationVersion: jobtemplate-2023-09
extensions: [TASK_CHUNKING]
name: Chunky
parameterDefinitions:
  - {name: Size, type: INT, default: 3}
steps:
  - name: S
    parameterSpace:
      taskParameterDefinitions:
        - name: F
          type: CHUNK[INT]
          range: 1-8
          chunks: {defaultTaskCount: "{{Param.Size}}", rangeConstraint: CONTIGUOUS}
    script: {actions: {onRun: {command: echo}}}
EOF
run chunk.yaml
check "chunks: exit 0" rc 0
check "chunks: tasks and chunk count" contains out "1. S: 8 tasks in 3 chunks of up to 3"

done_testing
