#!/bin/sh
# Index -> task parameter values on a 10^6-task space (Frame 1-1000 x Layer
# 1-1000), non-allocating lookups.  Target: over 10^7 lookups/s.  The peer
# is a plain C loop computing the same two values by div/mod in the same
# binary and run (what a hand-written nested loop costs).
set -eu
"$DROVER_BENCH_DIR/space-lookup" 1
