#!/bin/sh
# make bench: every benchmark, each reported as a ratio against a peer
# measured in the same run.  Usage: bench/run.sh BUILD_DIR
set -eu
BUILD=${1:-build-release}
here=$(cd "$(dirname "$0")" && pwd)
export DROVER_BIN="$BUILD/drover" DROVER_BENCH_DIR="$BUILD/bench"
export DROVER_SHARED="${DROVER_SHARED:-$here/../../shared}"

for b in "$here"/*-bench.sh; do
	[ -f "$b" ] || continue
	echo "== $(basename "$b" .sh)"
	sh "$b" "$BUILD" || echo "$(basename "$b"): FAILED"
done
