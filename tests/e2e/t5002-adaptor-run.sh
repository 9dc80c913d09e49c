#!/bin/sh
# libdrover-adaptor: `ADAPTOR run` drives start/run/stop/cleanup in one
# process: line handlers turn the application's output into OpenJD
# messages, failures exit 1 with openjd_fail, data is checked against the
# adaptor's schemas, path mapping rules apply.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
B=${DROVER_BUILD_DIR:?}
CMD=$B/adaptor-toy-cmd
DMN=$B/adaptor-toy-daemon
export HOME="$T_TMP"
cd "$T_TMP" || exit 1
INIT='{"scene": "shot1", "startup_ms": 10, "step_ms": 5}'

"$CMD" run --init-data "$INIT" --run-data '{"frame": 3, "steps": 4}' > out 2> err
check "command adaptor run exits 0" [ $? -eq 0 ]
check "the command is logged" contains out "INFO: running command: $B/toy-renderer --scene shot1 --frame=3"
check "application output is prefixed" contains out "STDOUT: Rendered 2/4"
check "Rendered 2/4 becomes progress 50" contains out "openjd_progress: 50"
check "on_prerun's status message" contains out "openjd_status: rendering frame 3"
check "progress comes right after its line" python3 -c '
lines = open("out").read().splitlines()
i = lines.index("STDOUT: Rendered 3/4")
assert lines[i + 1] == "openjd_progress: 75", lines[i:i + 2]'
check "nothing on stderr" [ ! -s err ]

"$CMD" run --init-data "$INIT" --run-data '{"frame": 5, "steps": 2}' > out 2> err
check "a stderr warning becomes a status" contains out "openjd_status: WARNING: texture 'wood.png' not found, using grey"
check "stderr lines are prefixed" contains out "STDERR: WARNING: texture"

"$CMD" run --init-data "$INIT" --run-data '{"frame": 1, "license_error": true}' > out 2> err
check "a license error fails the run (exit 1)" [ $? -eq 1 ]
check "the failure is an openjd_fail message" contains out "openjd_fail: License error: no license available for toy-renderer"
check "the failure is reported once" [ "$(grep -c '^openjd_fail' out)" -eq 1 ]

"$CMD" run --init-data '{"scene": 5}' --run-data '{"frame": "x", "bogus": 1}' > out 2> err
check "bad init data fails the run" [ $? -eq 1 ]
check "init data error names the key" contains out "ERROR: init_data.scene: expected string, got integer"
check "init data error is an openjd_fail" contains out "openjd_fail: start failed: invalid init_data: init_data.scene: expected string, got integer"
check "no command runs after a failed start" sh -c '! grep -q "running command" out'
"$CMD" run --init-data "$INIT" --run-data '{"frame": "x", "bogus": 1}' > out 2> err
check "run data errors name their keys" contains out "ERROR: run_data.frame: expected integer, got string"
check "unknown run data keys are named" contains out "ERROR: run_data: unknown key 'bogus'"

# Path mapping: the scene and output come from a Windows workstation.
mkdir -p dest
cat > rules.json <<EOF
{"version": "pathmapping-1.0", "path_mapping_rules": [
 {"source_path_format": "WINDOWS", "source_path": "Z:\\\\proj", "destination_path": "$T_TMP/dest"},
 {"source_path_format": "WINDOWS", "source_path": "Z:\\\\", "destination_path": "/wrong"}]}
EOF
"$CMD" run --init-data '{"scene": "z:/PROJ/shots/a.scn", "startup_ms": 0, "step_ms": 0}' \
    --run-data '{"frame": 2, "steps": 1, "output": "Z:\\proj\\out\\f2.png"}' \
    --path-mapping-rules "file://$T_TMP/rules.json" > out 2> err
rc=$?
mkdir -p dest/out
"$CMD" run --init-data '{"scene": "z:/PROJ/shots/a.scn", "startup_ms": 0, "step_ms": 0}' \
    --run-data '{"frame": 2, "steps": 1, "output": "Z:\\proj\\out\\f2.png"}' \
    --path-mapping-rules "file://$T_TMP/rules.json" > out 2> err
check "path-mapped run exits 0" [ $? -eq 0 ]
check "without the output folder the renderer fails" [ $rc -eq 1 ]
check "the longest rule maps the scene" contains out "STDOUT: Loading scene '$T_TMP/dest/shots/a.scn'"
check "the output lands at the mapped path" contains dest/out/f2.png "frame 2 of scene $T_TMP/dest/shots/a.scn"

# YAML data from a file, as templates often write it.
printf 'scene: yaml-scene\nstartup_ms: 0\nstep_ms: 0\n' > init.yaml
"$CMD" run --init-data "file://$T_TMP/init.yaml" --run-data 'frame: 4' > out 2> err
check "YAML data from file:// works" [ $? -eq 0 ]
check "the YAML values arrive typed" contains out "STDOUT: Rendering frame 4 of scene 'yaml-scene'"

# A full adaptor through `run`: start (load), run, stop in one process.
"$DMN" run --init-data "$INIT" --run-data '{"frame": 7, "steps": 2}' > out 2> err
check "full adaptor run exits 0" [ $? -eq 0 ]
check "on_start loaded the renderer" contains out "STDOUT: READY scene 'shot1'"
check "on_run rendered the frame" contains out "STDOUT: DONE 7"
check "on_stop stopped the renderer" contains out "STDOUT: BYE"
check "lifecycle order: load, render, quit" python3 -c '
o = open("out").read()
assert o.index("READY") < o.index("DONE 7") < o.index("BYE"), o'
check "no sanitizer reports" sh -c '! grep -q Sanitizer err'

done_testing
