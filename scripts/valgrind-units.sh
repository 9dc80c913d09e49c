#!/bin/sh
# make valgrind: every unit test of a build without sanitizers under
# valgrind's memcheck; an error or a definite leak fails.  u-session is
# left out: it spawns through pidfd_open, which valgrind 3.19 cannot follow.
set -u
dir=${1:?usage: valgrind-units.sh BUILD_DIR}
export DROVER_SOURCE_DIR="$(cd "$(dirname "$0")/.." && pwd)"
pass=0
fail=0
for t in "$dir"/tests/u-*; do
	name=$(basename "$t")
	[ "$name" = u-session ] && continue
	if valgrind -q --error-exitcode=9 --leak-check=full \
	    --errors-for-leak-kinds=definite "$t" > "$dir/$name.valgrind.log" 2>&1; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "valgrind: $name failed (see $dir/$name.valgrind.log)"
	fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
