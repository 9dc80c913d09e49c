# Shared helpers for end-to-end tests (sourced).  TAP output; a private
# DROVER_HOME in a temp dir that is removed, with every process we started,
# on exit.
set -u
: "${DROVER_BIN:?run through ctest, or set DROVER_BIN}"
: "${DROVER_SOURCE_DIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${DROVER_SHARED:=$DROVER_SOURCE_DIR/../shared}"
T_TMP=$(mktemp -d "${TMPDIR:-/tmp}/drover-e2e.XXXXXX")
export DROVER_HOME="$T_TMP/home"
export XDG_CONFIG_HOME="$T_TMP/config"
T_N=0
T_FAILED=0
T_PIDS=""

t_cleanup() {
	for p in $T_PIDS; do kill -9 "$p" 2>/dev/null; done
	[ -n "${T_ON_EXIT:-}" ] && eval "$T_ON_EXIT"
	rm -rf "$T_TMP"
}
trap t_cleanup EXIT
trap 't_cleanup; exit 1' INT TERM

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAILED=$((T_FAILED + 1)); echo "not ok $T_N - $*"; }
# check DESC CMD...: passes when CMD exits 0
check() { d=$1; shift; if "$@"; then ok "$d"; else not_ok "$d"; fi; }
# contains FILE TEXT: fixed-string search
contains() { grep -qF -- "$2" "$1"; }
done_testing() {
	echo "1..$T_N"
	echo "$((T_N - T_FAILED)) passed, $T_FAILED failed"
	[ "$T_FAILED" -eq 0 ]
}
