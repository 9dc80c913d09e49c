#!/bin/sh
# `make run`: show drover on the example job: validate it, summarise it,
# run it locally, then run it through the queue (the daemon, the embedded
# SQLite store).  Uses a private DROVER_HOME under the build directory so it
# never touches the user's state, and stops the daemon it started.
set -eu
DROVER=${1:-build/drover}
DROVER_HOME=$(cd "$(dirname "$DROVER")" && pwd)/run-home
export DROVER_HOME
here=$(cd "$(dirname "$0")" && pwd)
job="$here/render-frames.yaml"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "drover check $job"
"$DROVER" check "$job"

step "drover summary $job -p Frames=1-4"
"$DROVER" summary "$job" -p Frames=1-4

step "drover run $job -p Frames=1-3"
"$DROVER" run "$job" -p Frames=1-3

trap '"$DROVER" stop >/dev/null 2>&1 || true' EXIT
step "drover submit $job -p Frames=1-12   (DROVER_HOME=$DROVER_HOME)"
id=$("$DROVER" submit "$job" -p Frames=1-12)
echo "submitted job $id"
step "drover wait $id"
"$DROVER" wait "$id"
step "drover show $id"
"$DROVER" show "$id"
step "drover logs $id/Render/0"
"$DROVER" logs "$id/Render/0"
step "drover ls --all"
"$DROVER" ls --all
step "drover stop"
"$DROVER" stop
trap - EXIT
