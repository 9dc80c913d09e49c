#!/bin/sh
# Install the Debian packages drover needs to build, test and benchmark.
# Idempotent: asks dpkg what is missing and installs only that.  As root it
# runs apt-get; otherwise it prints the exact command to run.
set -eu

PKGS="gcc clang make cmake pkg-config git
libyaml-dev libjansson-dev libcmocka-dev libsqlite3-dev libuv1-dev
libxxhash-dev xxhash libarchive-dev libcurl4-openssl-dev
python3 python-is-python3 python3-yaml valgrind
procps util-linux task-spooler parallel"

missing=""
for p in $PKGS; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = "installed" ] || missing="$missing $p"
done

[ -z "$missing" ] && exit 0

cmd="apt-get install -y --no-install-recommends$missing"
if [ "$(id -u)" -ne 0 ]; then
	echo "drover: missing Debian packages:$missing" >&2
	echo "drover: run as root: apt-get update && $cmd" >&2
	exit 1
fi
echo "drover: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$cmd >/dev/null
