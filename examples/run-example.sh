#!/bin/sh
# `make run`: show drover on the example job.  Uses a private DROVER_HOME
# under the build directory so it never touches the user's state.
set -eu
DROVER=${1:-build/drover}
here=$(cd "$(dirname "$0")" && pwd)
job="$here/render-frames.yaml"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

step "drover check $job"
"$DROVER" check "$job"

step "drover summary $job -p Frames=1-4"
"$DROVER" summary "$job" -p Frames=1-4

if "$DROVER" help run >/dev/null 2>&1; then
	step "drover run $job -p Frames=1-3"
	"$DROVER" run "$job" -p Frames=1-3
fi
