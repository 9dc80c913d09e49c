#!/bin/sh
# drover check: exit codes, the FILE:LINE:COL: path: message form, every
# error reported, --json, environment templates, unreadable files.
. "$(dirname "$0")/lib.sh"
D=$DROVER_BIN
cd "$T_TMP"

cat > good.yaml <<'Y'
specificationVersion: jobtemplate-2023-09
name: Good
steps:
  - name: A
    script:
      actions:
        onRun: {command: echo, args: ["hi"]}
Y
cat > bad.yaml <<'Y'
specificationVersion: jobtemplate-2023-09
name: Bad
parameterDefinitions:
  - name: Frames
    type: INT
steps:
  - name: A
    script:
      actions:
        onRun:
          command: echo
          args: ["{{Param.Frame}}"]
  - name: A
    script:
      actions:
        onRun: {cmd: echo}
Y
cat > env.yaml <<'Y'
specificationVersion: environment-2023-09
environment:
  name: Env
  variables:
    FOO: bar
Y
printf '{"specificationVersion": "jobtemplate-2023-09", "name": "J",\n "steps": [}\n' > broken.json

check "valid job template exits 0" "$D" check good.yaml
"$D" check good.yaml > out 2>&1
check "valid file reported ok" contains out "good.yaml: ok (job template)"
check "environment template accepted" "$D" check env.yaml
"$D" check env.yaml > out 2>&1
check "kind detected as environment template" contains out "environment template"

"$D" check bad.yaml > out 2> err; rc=$?
check "invalid template exits 1" [ "$rc" -eq 1 ]
check "misspelled reference located, with a suggestion" \
	contains err "bad.yaml:12:18: steps[0].script.actions.onRun.args[0]"
check "did you mean" contains err "did you mean 'Param.Frames'?"
check "duplicate step name reported" grep -q "bad.yaml:13:.*steps\[1\]\.name.*duplicate" err
check "unknown key reported in the same run" grep -q "bad.yaml:16:.*steps\[1\]\.script\.actions\.onRun.*'cmd'" err
n=$(wc -l < err)
check "all errors reported, not just the first (got $n)" [ "$n" -ge 3 ]

"$D" check good.yaml bad.yaml > out 2> err; rc=$?
check "one bad file among several exits 1" [ "$rc" -eq 1 ]
check "the good one still reported ok" contains out "good.yaml: ok"

"$D" check --json bad.yaml > out 2> err; rc=$?
check "--json exits 1 on errors" [ "$rc" -eq 1 ]
check "--json is a JSON array with positions" /usr/bin/python3 -c '
import json, sys
a = json.load(open("out"))
assert isinstance(a, list) and len(a) >= 3, a
e = a[0]
assert e["file"].endswith("bad.yaml") and e["line"] > 0 and e["column"] > 0, e
assert all("message" in x and "path" in x for x in a)
'

"$D" check broken.json > out 2> err; rc=$?
check "broken JSON exits 1" [ "$rc" -eq 1 ]
check "JSON syntax error located" grep -q "broken.json:2:.*invalid JSON" err

"$D" check missing.yaml > out 2> err; rc=$?
check "missing file exits non-zero" [ "$rc" -ne 0 ]
check "missing file named" contains err "missing.yaml"

"$D" check > out 2> err; rc=$?
check "no arguments is a usage error (2)" [ "$rc" -eq 2 ]
"$D" check --help > out; rc=$?
check "--help exits 0 with a manual" sh -c "[ $rc -eq 0 ] && grep -q 'EXIT STATUS' out"

for f in "$DROVER_SHARED"/conformance/openjd-samples/v2023-09/*/*.yaml; do
	check "sample $(basename "$f") passes" "$D" check "$f"
done
done_testing
