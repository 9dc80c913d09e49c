#!/bin/sh
# libdrover-adaptor benchmark: 1,000 runs through `daemon run` against
# 1,000 `run` invocations of the same trivial adaptor (bench/adaptor-bench.c),
# with the cost of starting any process and of a bare socket round trip for
# reference.  Takes a few seconds on an optimised build.
#
#   cmake -S . -B build-release -DCMAKE_BUILD_TYPE=Release -DDROVER_TESTS=OFF
#   cmake --build build-release --target adaptor-bench
#   sh bench/adaptor-bench.sh build-release [N]
set -eu
BUILD=${1:-build-release}
N=${2:-1000}
BIN=$BUILD/adaptor-bench
[ -x "$BIN" ] || { echo "adaptor-bench: build it first: cmake --build $BUILD --target adaptor-bench" >&2; exit 2; }
HOME=$(mktemp -d "${TMPDIR:-/tmp}/adaptor-bench-home.XXXXXX")	# no user config
export HOME
trap 'rm -rf "$HOME"' EXIT
"$BIN" bench "$N"
