#!/bin/sh
# drover run: timeouts cancel with the action's method.  Times come from
# the UTC timestamps drover gives each line (the events), not from sleeps:
#   NOTIFY_THEN_TERMINATE, action ignores SIGTERM: SIGKILL comes the
#     notify period (2 s) after SIGTERM;
#   NOTIFY_THEN_TERMINATE, action exits on SIGTERM: it gets the notice and
#     cancel_info.json, and the session does not wait the 20 s period;
#   TERMINATE (explicit or by default): SIGKILL at once, no SIGTERM;
#   an environment action's notify period defaults to 30 s.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
S="$DROVER_SOURCE_DIR/tests/session"
export TMPDIR="$T_TMP/tmp"
mkdir -p "$TMPDIR"
out="$T_TMP/out"

run() { rc=0; "$DROVER_BIN" run --timestamp-format utc "$@" >"$out" 2>&1 || rc=$?; }
has_line() { cut -f2- "$out" | grep -qxF -- "$1"; }
lacks_line() { ! cut -f2- "$out" | grep -qxF -- "$1"; }
# secs FROM_PATTERN TO_PATTERN: seconds between the first lines matching
# the two regular expressions
secs() {
	python -c '
import re, sys, datetime
def t(p):
    for l in open(sys.argv[1]):
        ts, _, text = l.rstrip("\n").partition("\t")
        if re.search(p, text):
            return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")
    sys.exit("no line matches " + p)
print("%.3f" % (t(sys.argv[3]) - t(sys.argv[2])).total_seconds())
' "$out" "$1" "$2"
}
# between X LO HI: LO <= X < HI
between() { python -c 'import sys; x, lo, hi = map(float, sys.argv[1:]); sys.exit(not lo <= x < hi)' "$@"; }

run "$S/cancel.yaml" --step Notify
check "notify: timeout fails the task" [ "$rc" = 1 ]
check "notify: timeout reported" has_line "Action timed out after 1 seconds"
check "notify: SIGTERM reaches the action" has_line GOT-TERM
d=$(secs "^Running command" "sending SIGTERM")
check "notify: SIGTERM after the 1 s timeout ($d s)" between "$d" 0.9 2.5
d=$(secs "sending SIGTERM" "was killed by signal 9")
check "notify: SIGKILL after the 2 s notify period ($d s)" between "$d" 1.9 3.5

run "$S/cancel.yaml" --step Grace
check "grace: the action ran its SIGTERM handler" has_line GOT-TERM
check "grace: cancel_info.json gives the notify end" sh -c "cut -f2- '$out' | grep -qE '^\{\"NotifyEnd\": \"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z\"\}\$'"
check "grace: exit status of the handler" sh -c "cut -f2- '$out' | grep -qE '^Process [0-9]+ exited with code: 3\$'"
d=$(secs "sending SIGTERM" "exited with code: 3")
check "grace: no wait for the 20 s period ($d s)" between "$d" 0 1.5
check "grace: canceled task fails the run" [ "$rc" = 1 ]

for st in Terminate Default; do
	run "$S/cancel.yaml" --step $st
	check "$st: SIGKILL, no SIGTERM" sh -c "grep -q 'sending SIGKILL to process group' '$out' && ! grep -q 'sending SIGTERM' '$out'"
	check "$st: the action got no notice" lacks_line GOT-TERM
	d=$(secs "^Running command" "was killed by signal 9")
	check "$st: killed at the 1 s timeout ($d s)" between "$d" 0.9 2
	check "$st: exit 1" [ "$rc" = 1 ]
done

run "$S/cancel.yaml" --step EnvDefault
check "environment action: 30 s default notify period" sh -c "cut -f2- '$out' | grep -qE '^Canceling action: sending SIGTERM to process group [0-9]+, SIGKILL in 30 seconds\$'"
check "environment action: NotifyEnd 30 s after the notice" python -c '
import sys, datetime, json
lines = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1]) if "\t" in l]
sent = [ts for ts, t in lines if t.startswith("Canceling action: sending SIGTERM")][0]
end = [json.loads(t)["NotifyEnd"] for ts, t in lines if t.startswith("{\"NotifyEnd\"")][0]
a = datetime.datetime.strptime(sent, "%Y-%m-%dT%H:%M:%S.%fZ")
b = datetime.datetime.strptime(end, "%Y-%m-%dT%H:%M:%SZ")
sys.exit(not 29 <= (b - a).total_seconds() <= 31)
' "$out"
check "environment action timed out: no task ran" lacks_line NOT-REACHED

done_testing
