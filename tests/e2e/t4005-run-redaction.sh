#!/bin/sh
# drover run with REDACTED_ENV_VARS: a secret set by openjd_redacted_env
# reaches the actions' environment but never drover's output - not the
# directive line, not stdout or stderr lines, not openjd_status/openjd_fail
# texts, not the JSON events, not a malformed directive - and without the
# extension the value is still hidden, but not set.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
S="$DROVER_SOURCE_DIR/tests/session"
export TMPDIR="$T_TMP/tmp"
mkdir -p "$TMPDIR"
out="$T_TMP/out"
SECRET=Sw0rdf1sh-42

run() { rc=0; "$DROVER_BIN" run "$@" >"$out" 2>"$out.err" || rc=$?; }
has_line() { cut -f2- "$out" | grep -qxF -- "$1"; }
clean() { ! grep -qF -e "$SECRET" -e line-one -e middle-line -e line-three -e hunter3 "$out" "$out.err"; }

run "$S/redact.yaml"
check "the task fails (openjd_fail, exit 1)" [ "$rc" = 1 ]
check "directive line redacted" has_line "openjd_redacted_env: TOKEN=********"
check "variable set for the task, value hidden" has_line "val=********"
check "stderr line redacted" has_line "********"
check "status redacted" has_line "openjd_status: ********"
check "fail message redacted" has_line "openjd_fail: ********"
check "multi-line secret: every line hidden" sh -c "[ \$(cut -f2- '$out' | grep -cx '\*\*\*\*\*\*\*\*') -ge 4 ]"
check "onExit sees it too" has_line "exit sees ********"
check "secret nowhere in human output" clean

run "$S/redact.yaml" --output json
check "json: the variable was set" grep -q '"variable":"TOKEN","value":"\*\*\*\*\*\*\*\*"' "$out"
check "json: secret nowhere" clean
check "json: the fail message is redacted" grep -q '"type":"fail","text":"\*\*\*\*\*\*\*\*"' "$out"

run "$S/redact.yaml" -p Bad=yes
check "malformed openjd_redacted_env fails the action" grep -q "ERROR: incorrectly formatted openjd env command" "$out"
check "malformed: value hidden anyway" clean

sed '/^extensions:/d' "$S/redact.yaml" >"$T_TMP/noext.yaml"
run "$T_TMP/noext.yaml"
check "no extension: value hidden" clean
check "no extension: directive line redacted" has_line "openjd_redacted_env: TOKEN=********"
check "no extension: variable not set" has_line "val="

done_testing
