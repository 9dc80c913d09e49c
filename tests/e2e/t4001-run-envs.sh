#!/bin/sh
# drover run: environments entered in order and exited in reverse, their
# variables and openjd_env/openjd_unset_env, --environment templates, and
# after a failed enter exactly the environments whose enter was attempted
# are exited.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
S="$DROVER_SOURCE_DIR/tests/session"
export TMPDIR="$T_TMP/tmp"
mkdir -p "$TMPDIR"
out="$T_TMP/out"

run() { rc=0; "$DROVER_BIN" run "$@" >"$out" 2>&1 || rc=$?; }
text() { cut -f2- "$out"; }
has_line() { text | grep -qxF -- "$1"; }
lacks() { ! text | grep -q -- "^$1"; }
in_order() {
	text | awk -v want="$(printf '%s\n' "$@")" '
	BEGIN { n = split(want, w, "\n"); i = 1 }
	i <= n && $0 == w[i] { i++ }
	END { exit !(i > n) }'
}
no_session_left() { [ -z "$(ls "$TMPDIR" | grep '^drover-session-')" ]; }

run "$S/envs.yaml" --environment "$S/env-tmpl-1.yaml" \
    --environment "$S/env-tmpl-2.yaml" -p Greeting=yo
check "all environments: exit 0" [ "$rc" = 0 ]
check "entered in order, exited in reverse" in_order "ENTER-X1 X_TMPL=yo" \
    ENTER-X2 "ENTER-E1 V1=one-none" "ENTER-E2 FROM_E1=e1" ENTER-E3 \
    ENTER-SE "TASK V1=unset FROM_E1=e1 FROM_E2=e2 X=yo" EXIT-SE EXIT-E3 \
    "EXIT-E2 FROM_E2=e2 V1=unset" "EXIT-E1 FROM_E1=e1 FROM_E2=unset" \
    EXIT-X2 EXIT-X1
check "variables of an environment template use its parameters" has_line "Setting: X_TMPL=yo"

for at in E1 E2 E3 SE; do
	run "$S/envs.yaml" -p FailAt=$at
	check "enter of $at fails: exit 1" [ "$rc" = 1 ]
	check "enter of $at fails: no task" lacks TASK
	check "enter of $at fails: session directory removed" no_session_left
done
run "$S/envs.yaml" -p FailAt=E2
check "E2 fails: E2 and E1 exited, in that order" in_order "ENTER-E1 V1=one-E2" \
    "ENTER-E2 FROM_E1=e1" "EXIT-E2 FROM_E2=e2 V1=unset" \
    "EXIT-E1 FROM_E1=e1 FROM_E2=unset"
check "E2 fails: E3 neither entered nor exited" sh -c "! cut -f2- '$out' | grep -q '^ENTER-E3\|^EXIT-E3'"
check "E2 fails: exit status shown" sh -c "cut -f2- '$out' | grep -qE '^Process [0-9]+ exited with code: 7\$'"
run "$S/envs.yaml" -p FailAt=E1
check "E1 fails: E1 still exited" in_order "ENTER-E1 V1=one-E1" "EXIT-E1 FROM_E1=e1 FROM_E2=unset"
check "E1 fails: nothing else entered" lacks ENTER-E2
run "$S/envs.yaml" -p FailAt=SE
check "step environment fails: all exited in reverse" in_order ENTER-SE \
    EXIT-SE EXIT-E3 "EXIT-E2 FROM_E2=e2 V1=unset" \
    "EXIT-E1 FROM_E1=e1 FROM_E2=unset"

done_testing
