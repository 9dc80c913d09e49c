#!/bin/sh
# Hashing throughput of `drover attach snapshot` against `xxhsum -H2`
# (Debian's xxhash) on the same data in the same run:
#   1. one big file (default 1 GiB): drover must reach 0.9x xxhsum;
#   2. a tree of many small files (default 100,000 x 1 KiB): drover, using
#      every core, should be 2x xxhsum (one process, fed by xargs);
#   3. the same tree snapshotted again: the hash cache should make it 20x
#      faster than the first (cold-cache) snapshot.
# Both tools read warm page-cache data (each data set is read once first).
#
# Usage: bench/hash-bench.sh [BUILD_DIR]
# Environment (all optional):
#   DROVER_BIN       drover binary (default: BUILD_DIR/drover, else
#                    build/drover or build-*/drover)
#   BENCH_BIG_MB     size of the big file in MiB (default 1024)
#   BENCH_FILES      number of small files (default 100000)
#   BENCH_FILE_SIZE  bytes per small file (default 1024)
#   BENCH_JOBS       drover worker threads (default: online CPUs)
#   BENCH_DIR        scratch directory (default: a temp dir under $TMPDIR)
#   BENCH_KEEP=1     keep the scratch directory
set -eu

BIG_MB=${BENCH_BIG_MB:-1024}
NFILES=${BENCH_FILES:-100000}
FSIZE=${BENCH_FILE_SIZE:-1024}
JOBS=${BENCH_JOBS:-$(nproc)}
here=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${DROVER_BIN:-}" ] && [ -n "${1:-}" ] && [ -x "$1/drover" ]; then
	DROVER_BIN=$1/drover	# bench/run.sh passes the build directory
fi
if [ -z "${DROVER_BIN:-}" ]; then
	for b in "$here"/build/drover "$here"/build-*/drover; do
		[ -x "$b" ] && DROVER_BIN=$b && break
	done
fi
[ -x "${DROVER_BIN:-}" ] || { echo "hash-bench: set DROVER_BIN" >&2; exit 2; }
command -v xxhsum >/dev/null || { echo "hash-bench: needs xxhsum" >&2; exit 2; }
command -v python3 >/dev/null || { echo "hash-bench: needs python3" >&2; exit 2; }

if [ -n "${BENCH_DIR:-}" ]; then
	W=$BENCH_DIR
	mkdir -p "$W"
else
	W=$(mktemp -d "${TMPDIR:-/tmp}/drover-hash-bench.XXXXXX")
fi
[ "${BENCH_KEEP:-0}" = 1 ] || trap 'rm -rf "$W"' EXIT INT TERM
export DROVER_HOME="$W/home"	# a private, empty hash cache

now() { date +%s.%N; }
# timeit VAR CMD...: runs CMD (output discarded), stores seconds in VAR
timeit() {
	_v=$1
	shift
	_t0=$(now)
	"$@" >/dev/null 2>&1 || { echo "hash-bench: '$*' failed" >&2; exit 1; }
	_t1=$(now)
	eval "$_v=\$(python3 -c 'print(\"%.3f\" % ($_t1 - $_t0))')"
}
ratio() { python3 -c "print('%.2f' % ($1 / max($2, 1e-6)))"; }
rate() { python3 -c "print('%.0f' % ($1 / max($2, 1e-6)))"; }
xxh_tree() { cd "$W/tree" && find . -type f -print0 | xargs -0 -n 5000 xxhsum -H2; }

echo "hash-bench: drover $("$DROVER_BIN" --version | cut -d' ' -f2), $(xxhsum --version 2>&1 | head -1 | cut -d' ' -f1-2), $JOBS threads, $(nproc) CPUs"
echo "hash-bench: scratch $W"

# ---- 1. one big file ----
mkdir -p "$W/big"
python3 - "$W/big/big.bin" "$BIG_MB" <<'PY'
import os, sys
block = os.urandom(1 << 20)
with open(sys.argv[1], "wb") as f:
    for i in range(int(sys.argv[2])):
        f.write(block[i % 251:] + block[:i % 251])	# not one repeated block
PY
cat "$W/big/big.bin" > /dev/null
timeit t_xxh_big xxhsum -H2 "$W/big/big.bin"
timeit t_drv_big "$DROVER_BIN" attach snapshot "$W/big" --no-cache -j "$JOBS" -o "$W/big.json"
# the hashes must agree
h1=$(xxhsum -H2 "$W/big/big.bin" 2>/dev/null | cut -d' ' -f1)
grep -q "\"hash\":\"$h1\"" "$W/big.json" || { echo "hash-bench: big file hashes differ" >&2; exit 1; }
mib=$BIG_MB

# ---- 2. many small files ----
python3 - "$W/tree" "$NFILES" "$FSIZE" <<'PY'
import os, sys, time
root, n, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
old = time.time() - 3600	# outside the hash cache's racy window
seed = os.urandom(size + 4096)
for i in range(n):
    d = os.path.join(root, "d%03d" % (i // 1000))
    if i % 1000 == 0:
        os.makedirs(d, exist_ok=True)
    p = os.path.join(d, "f%06d" % i)
    with open(p, "wb") as f:
        f.write(seed[i % 4096:i % 4096 + size])
    os.utime(p, (old, old))
PY
xxh_tree > /dev/null 2>&1	# warm the page cache and the dentries
timeit t_xxh_tree xxh_tree
timeit t_drv_tree "$DROVER_BIN" attach snapshot "$W/tree" --no-cache -j "$JOBS" -o "$W/tree.json"
timeit t_first "$DROVER_BIN" attach snapshot "$W/tree" -j "$JOBS" -o "$W/tree1.json"
timeit t_second "$DROVER_BIN" attach snapshot "$W/tree" -j "$JOBS" -o "$W/tree2.json"
cmp -s "$W/tree1.json" "$W/tree2.json" || { echo "hash-bench: re-snapshot differs" >&2; exit 1; }
timeit t_big_first "$DROVER_BIN" attach snapshot "$W/big" -j "$JOBS" -o "$W/b1.json"
timeit t_big_second "$DROVER_BIN" attach snapshot "$W/big" -j "$JOBS" -o "$W/b2.json"

tree_mib=$(python3 -c "print('%.1f' % ($NFILES * $FSIZE / 1048576))")
echo
printf '%-44s %10s %12s\n' "test" "seconds" "throughput"
printf '%-44s %10s %12s\n' "big file ${mib} MiB: xxhsum -H2" "$t_xxh_big" "$(rate "$mib" "$t_xxh_big") MiB/s"
printf '%-44s %10s %12s\n' "big file ${mib} MiB: drover snapshot --no-cache" "$t_drv_big" "$(rate "$mib" "$t_drv_big") MiB/s"
printf '%-44s %10s %12s\n' "$NFILES files (${tree_mib} MiB): xxhsum -H2" "$t_xxh_tree" "$(rate "$NFILES" "$t_xxh_tree") files/s"
printf '%-44s %10s %12s\n' "$NFILES files: drover snapshot --no-cache" "$t_drv_tree" "$(rate "$NFILES" "$t_drv_tree") files/s"
printf '%-44s %10s %12s\n' "$NFILES files: drover, first (fills cache)" "$t_first" "$(rate "$NFILES" "$t_first") files/s"
printf '%-44s %10s %12s\n' "$NFILES files: drover, unchanged (cache)" "$t_second" "$(rate "$NFILES" "$t_second") files/s"
printf '%-44s %10s\n' "big file: drover, first (fills cache)" "$t_big_first"
printf '%-44s %10s\n' "big file: drover, unchanged (cache)" "$t_big_second"
echo
echo "ratio big file      drover vs xxhsum:       $(ratio "$t_xxh_big" "$t_drv_big")x  (target >= 0.9)"
echo "ratio small files   drover vs xxhsum:       $(ratio "$t_xxh_tree" "$t_drv_tree")x  (target >= 2)"
echo "ratio re-snapshot   first vs unchanged:     $(ratio "$t_first" "$t_second")x  (target >= 20)"
echo "ratio re-snapshot   big file first/again:   $(ratio "$t_big_first" "$t_big_second")x"
