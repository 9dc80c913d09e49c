#!/bin/sh
# drover run --path-mapping-rules: PATH parameters (job and task) are
# mapped in Param.* and Task.Param.*, never in RawParam.* or STRING
# parameters; the longest matching source wins; WINDOWS sources match
# case-insensitively with either separator; the rules are written to
# Session.PathMappingRulesFile and Session.HasPathMappingRules tells.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
S="$DROVER_SOURCE_DIR/tests/session"
export TMPDIR="$T_TMP/tmp"
mkdir -p "$TMPDIR"
out="$T_TMP/out"
run() { rc=0; "$DROVER_BIN" run "$@" >"$out" 2>&1 || rc=$?; }
has_line() { cut -f2- "$out" | grep -qxF -- "$1"; }

rules='{"version": "pathmapping-1.0", "path_mapping_rules": [
 {"source_path_format": "POSIX", "source_path": "/mnt/studio", "destination_path": "/local/studio"},
 {"source_path_format": "POSIX", "source_path": "/mnt/studio/out", "destination_path": "/fast/out"},
 {"source_path_format": "WINDOWS", "source_path": "C:\\Projects", "destination_path": "/proj"}]}'

run "$S/pathmap.yaml" -p Scene=/mnt/studio/shots/a.ma --path-mapping-rules "$rules"
check "run succeeds" [ "$rc" = 0 ]
check "job PATH mapped, raw kept, STRING untouched, longest rule first" has_line "scene=/local/studio/shots/a.ma raw=/mnt/studio/shots/a.ma note=/mnt/studio/not-a-path out=/fast/out/1.exr rawout=/mnt/studio/out/1.exr has=true"
check "unmatched task PATH unchanged" has_line "scene=/local/studio/shots/a.ma raw=/mnt/studio/shots/a.ma note=/mnt/studio/not-a-path out=/elsewhere/2.exr rawout=/elsewhere/2.exr has=true"
check "rules file: the rules, longest source first" python -c '
import json, sys
text = open(sys.argv[1]).read()
start = text.index("{\n"); doc = json.JSONDecoder().raw_decode(text[start:])[0]
assert doc["version"] == "pathmapping-1.0", doc
srcs = [r["source_path"] for r in doc["path_mapping_rules"]]
assert srcs == ["/mnt/studio/out", "/mnt/studio", "C:\\Projects"], srcs
' "$(cut -f2- "$out" > "$T_TMP/text"; echo "$T_TMP/text")"

printf '%s\n' "$rules" >"$T_TMP/rules.json"
run "$S/pathmap.yaml" --path-mapping-rules "file://$T_TMP/rules.json"
check "WINDOWS rule: case-insensitive, / or \\" grep -q "	scene=.* out=/proj/x/3.exr rawout=c:" "$out"

run "$S/pathmap.yaml" -p Scene=/mnt/studio/a.ma
check "no rules: nothing mapped" grep -q "scene=/mnt/studio/a.ma raw=/mnt/studio/a.ma" "$out"
check "no rules: has=false and an empty object" sh -c "grep -q 'has=false\$' '$out' && grep -qx '.*	{}' '$out'"

run "$S/pathmap.yaml" --path-mapping-rules '{"version": "pathmapping-2.0", "path_mapping_rules": []}'
check "bad rules version refused" [ "$rc" = 1 ]
run "$S/pathmap.yaml" --path-mapping-rules "file://$T_TMP/missing.json"
check "missing rules file refused" [ "$rc" = 1 ]

done_testing
