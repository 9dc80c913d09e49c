#!/bin/sh
# drover run: a 2,000-task step of /bin/true in one session against a plain
# C fork/exec/wait loop (bench/forkloop.c) running /bin/true 2,000 times,
# interleaved in the same run.  Target: at least 0.9x the loop's throughput.
set -eu
"$DROVER_BENCH_DIR/session-bench" "$DROVER_BIN" "$DROVER_BENCH_DIR/forkloop"
