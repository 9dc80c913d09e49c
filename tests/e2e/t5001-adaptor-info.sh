#!/bin/sh
# libdrover-adaptor: the informational commands every adaptor gets
# (version-info, is-compatible, show-config, help) and usage errors.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
B=${DROVER_BUILD_DIR:?}
CMD=$B/adaptor-toy-cmd
export HOME="$T_TMP"
unset TOYCMDADAPTOR_CONFIG_PATH
cd "$T_TMP" || exit 1

"$CMD" version-info > out 2> err
check "version-info exits 0" [ $? -eq 0 ]
check "version-info names the CLI version" contains out "OpenJD Adaptor CLI Version: '0.1'"
check "version-info names the data interface version" contains out "ToyCmdAdaptor Data Interface Version: '1.0'"

"$CMD" is-compatible --openjd-adaptor-cli-version 0.1 \
    --integration-data-interface-version 1.0 > out 2> err
check "is-compatible: same versions are compatible" [ $? -eq 0 ]
check "is-compatible says so" contains out "are compatible"
"$CMD" is-compatible --openjd-adaptor-cli-version=0.1 \
    --integration-data-interface-version=1.0 > out 2> err
check "is-compatible accepts --opt=value" [ $? -eq 0 ]
"$CMD" is-compatible --openjd-adaptor-cli-version 0.1 \
    --integration-data-interface-version 1.1 > out 2> err
check "is-compatible: a newer data interface is not there (exit 2)" [ $? -eq 2 ]
check "is-compatible explains on stderr" contains err "incompatible"
"$CMD" is-compatible --openjd-adaptor-cli-version 0.2 \
    --integration-data-interface-version 1.0 > out 2> err
check "is-compatible: 0.x minors must match" [ $? -eq 2 ]
"$CMD" is-compatible --openjd-adaptor-cli-version 1 \
    --integration-data-interface-version 1.0 > out 2> err
check "is-compatible: malformed version is a usage error" [ $? -eq 2 ]
check "malformed version is named" contains err "'1' is not of the form Major.Minor"
"$CMD" is-compatible --openjd-adaptor-cli-version 0.1 > out 2> err
check "is-compatible: both versions are required" [ $? -eq 2 ]

"$CMD" show-config > out 2> err
check "show-config exits 0" [ $? -eq 0 ]
check "show-config shows the shipped renderer" contains out '"renderer": "toy-renderer"'
check "show-config shows the shipped grace period" contains out '"cancel_grace_seconds": 2'
check "show-config output is JSON" python3 -c 'import json,sys; json.load(open("out"))'

# The user's file overrides the shipped one; the variable's file comes last.
mkdir -p .openjd/adaptors/ToyCmdAdaptor
echo '{"log_level": "DEBUG", "extra": {"a": 1}}' > .openjd/adaptors/ToyCmdAdaptor/ToyCmdAdaptor.json
"$CMD" show-config > out 2> err
check "user configuration overrides" contains out '"log_level": "DEBUG"'
check "untouched shipped keys stay" contains out '"renderer": "toy-renderer"'
echo '{"extra": {"b": 2}, "renderer": "/opt/r"}' > env.json
TOYCMDADAPTOR_CONFIG_PATH=$T_TMP/env.json "$CMD" show-config > out 2> err
check "<NAME>_CONFIG_PATH overrides last" contains out '"renderer": "/opt/r"'
check "objects merge key by key" python3 -c '
import json; c = json.load(open("out")); assert c["extra"] == {"a": 1, "b": 2}, c'
echo '{"log_level": 7}' > .openjd/adaptors/ToyCmdAdaptor/ToyCmdAdaptor.json
"$CMD" show-config > out 2> err
check "a bad log_level is refused" [ $? -eq 1 ]
check "the bad key is named" contains err "log_level"
echo '{"log_level": ' > .openjd/adaptors/ToyCmdAdaptor/ToyCmdAdaptor.json
"$CMD" show-config > out 2> err
check "a broken config file is refused" [ $? -eq 1 ]
check "the broken file is named" contains err "ToyCmdAdaptor.json"
rm -r .openjd

"$CMD" --help > out 2> err
check "--help exits 0" [ $? -eq 0 ]
check "--help lists daemon start" contains out "daemon start"
"$CMD" > out 2> err
check "no command: usage error" [ $? -eq 2 ]
"$CMD" frobnicate > out 2> err
check "unknown command: usage error" [ $? -eq 2 ]
check "unknown command is named" contains err "unknown command 'frobnicate'"
"$CMD" run --init-data '{"scene": "s"}' --frame 3 > out 2> err
check "unknown option: usage error" [ $? -eq 2 ]
check "unknown option is named" contains err "unknown option '--frame'"
"$CMD" run --init-data '{"scene": ' --run-data '{}' > out 2> err
check "bad JSON: usage error" [ $? -eq 2 ]
check "bad JSON: the parser's position is given" contains err "init data: line 1"
"$CMD" run --init-data '[1]' --run-data '{}' > out 2> err
check "data must be an object" contains err "init data must be a JSON object"
"$CMD" run --init-data 'file:///nonexistent/x.json' --run-data '{}' > out 2> err
check "missing data file: usage error" [ $? -eq 2 ]
check "missing data file is named" contains err "/nonexistent/x.json"
"$CMD" daemon > out 2> err
check "daemon needs a subcommand" [ $? -eq 2 ]
"$CMD" daemon restart > out 2> err
check "unknown daemon subcommand" contains err "unknown daemon subcommand 'restart'"
check "no sanitizer reports" sh -c '! grep -q Sanitizer err'

done_testing
