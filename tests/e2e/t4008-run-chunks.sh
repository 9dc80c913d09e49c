#!/bin/sh
# drover run with TASK_CHUNKING: CONTIGUOUS chunks never bridge a gap and
# are written a-b; NONCONTIGUOUS chunks may; every value runs exactly
# once; with targetRuntimeSeconds the chunk size adapts to the measured
# task durations.
. "$DROVER_SOURCE_DIR/tests/e2e/lib.sh"
S="$DROVER_SOURCE_DIR/tests/session"
export TMPDIR="$T_TMP/tmp"
mkdir -p "$TMPDIR"
out="$T_TMP/out"
run() { rc=0; "$DROVER_BIN" run "$@" >"$out" 2>&1 || rc=$?; }
chunks() { cut -f2- "$out" | sed -n 's/^CHUNK://p'; }
# covers LIST MAXCHUNKS: the chunks cover exactly the values in LIST (a
# range expression), each once, in at most MAXCHUNKS chunks
covers() {
	chunks | python -c '
import sys
def expand(e):
    out = []
    for part in e.split(","):
        step = 1
        if ":" in part:
            part, s = part.split(":"); step = int(s)
        if "-" in part[1:]:
            i = part.index("-", 1); a, b = int(part[:i]), int(part[i + 1:])
            out += list(range(a, b + 1, step))
        else:
            out.append(int(part))
    return out
got = [v for line in sys.stdin.read().split() for v in expand(line)]
want = expand(sys.argv[1])
sys.exit(not (sorted(got) == sorted(want) and len(got) == len(set(got))))
' "$1" && [ "$(chunks | wc -l)" -le "$2" ]
}

run "$S/chunks.yaml" --step Contig
check "contiguous: runs" [ "$rc" = 0 ]
check "contiguous: chunks split at the gap" sh -c "[ \"\$(cut -f2- '$out' | sed -n 's/^CHUNK://p' | tr '\n' ' ')\" = '1-3 4-5 8-10 11-12 ' ]"
check "contiguous: every value once" covers 1-5,8-12 4

run "$S/chunks.yaml" --step NonContig
check "noncontiguous: runs" [ "$rc" = 0 ]
check "noncontiguous: every value once, 3 chunks" covers 1-5,8-12 3
check "noncontiguous: a chunk bridges the gap" sh -c "cut -f2- '$out' | sed -n 's/^CHUNK://p' | grep -q ','"

run "$S/chunks.yaml" --step Adaptive
check "adaptive: runs" [ "$rc" = 0 ]
check "adaptive: chunk size adjusted" grep -q "Adjusting chunk size to" "$out"
check "adaptive: every frame once, in fewer chunks than frames" covers 1-40 30
check "adaptive: starts with the default size" sh -c "cut -f2- '$out' | sed -n 's/^CHUNK://p' | head -1 | grep -qx 1-1"

run "$S/chunks.yaml" --step Adaptive --maximum-tasks 3
check "adaptive: --maximum-tasks counts chunks" [ "$(chunks | wc -l)" = 3 ]

done_testing
