#!/bin/sh
# Hashing throughput of `drover attach snapshot` against `xxhsum -H2`
# (Debian's xxhash) on the same data in the same run, with the issue's
# targets:
#   1. one big file (default 1 GiB): drover >= 0.9x xxhsum;
#   2. a tree of many small files (default 100,000 x 1 KiB): drover, using
#      every core, >= 2x xxhsum (one process, fed the file list by
#      `find -print0 | xargs -0`);
#   3. the same tree snapshotted again: 20x faster than the first snapshot
#      (which fills an empty cache).  Measured twice: with the hash cache
#      only (every file is still stat()ed, see the floor below), and with
#      --watch, where a file-system watcher (inotify, started by the first
#      --watch snapshot, whose time includes that) answers that nothing
#      changed; both must write the same bytes as the plain snapshot.
# Both tools read warm page-cache data (each data set is read once first)
# and write their output to a file on stdout.  Every measurement is taken
# BENCH_REPS times, the tools' runs interleaved, and the best (minimum) of
# each is reported.  With each section the bench prints the load average
# and how much CPU other processes took meanwhile (from /proc/stat, minus
# the bench's own); a section during which they took more than
# BENCH_MAX_OTHERS CPUs is measured again (up to BENCH_RETRIES times,
# keeping each command's best time).
#
# Also printed: the floor under any re-snapshot that must notice changed
# files — listing every directory and stat()ing every file on the same
# threads (bench/hash-statwalk.c), plus drover's process start-up — and the
# largest first/again ratio that floor allows.
#
# Usage: bench/hash-bench.sh [BUILD_DIR]
# Environment (all optional):
#   DROVER_BIN       drover binary (default: BUILD_DIR/drover, else
#                    build/drover or build-*/drover)
#   DROVER_BENCH_DIR where hash-statwalk is (default: BUILD_DIR/bench)
#   BENCH_BIG_MB     size of the big file in MiB (default 1024)
#   BENCH_FILES      number of small files (default 100000)
#   BENCH_FILE_SIZE  bytes per small file (default 1024)
#   BENCH_JOBS       drover worker threads (default: online CPUs)
#   BENCH_REPS       runs per measurement (default 3)
#   BENCH_MAX_OTHERS CPUs other processes may use during a section before
#                    it is measured again (default 0.25)
#   BENCH_RETRIES    extra attempts for a section under load (default 2)
#   BENCH_DIR        scratch directory (default: a temp dir under $TMPDIR)
#   BENCH_KEEP=1     keep the scratch directory
set -eu

BIG_MB=${BENCH_BIG_MB:-1024}
NFILES=${BENCH_FILES:-100000}
FSIZE=${BENCH_FILE_SIZE:-1024}
JOBS=${BENCH_JOBS:-$(nproc)}
REPS=${BENCH_REPS:-3}
MAX_OTHERS=${BENCH_MAX_OTHERS:-0.25}
RETRIES=${BENCH_RETRIES:-2}
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
# absolute: the commands run from other directories
DROVER_BIN=$(cd "$(dirname "$DROVER_BIN")" && pwd)/$(basename "$DROVER_BIN")
STATWALK=
for d in "${DROVER_BENCH_DIR:-}" "$(dirname "$DROVER_BIN")/bench" "${1:-.}/bench"; do
	if [ -n "$d" ] && [ -x "$d/hash-statwalk" ]; then
		STATWALK=$(cd "$d" && pwd)/hash-statwalk
		break
	fi
done

if [ -n "${BENCH_DIR:-}" ]; then
	W=$BENCH_DIR
	mkdir -p "$W"
else
	W=$(mktemp -d "${TMPDIR:-/tmp}/drover-hash-bench.XXXXXX")
fi
W=$(cd "$W" && pwd)
export DROVER_HOME="$W/home"	# a private hash cache (and watcher)
D=$DROVER_BIN
# the --watch measurements start a watcher of the tree: always stop it
STOP_WATCH="'$D' attach watch --stop '$W/tree' 2>/dev/null || true"
bench_exit() {
	sh -c "$STOP_WATCH"
	[ "${BENCH_KEEP:-0}" = 1 ] || rm -rf "$W"
}
trap bench_exit EXIT
trap 'exit 1' INT TERM

# timeit.py REPS NAME PRE CMD [NAME PRE CMD]...: runs the commands in turn,
# REPS rounds (PRE, if not empty, untimed before its CMD); prints
# "NAME=<best seconds>" lines for the shell.  A failing command is fatal.
cat > "$W/timeit.py" <<'PY'
import os, resource, subprocess, sys, time
def busy():	# CPU seconds every process has used, from /proc/stat
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")
def ours():
    s, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime
reps, args = int(sys.argv[1]), sys.argv[2:]
jobs = [args[i:i + 3] for i in range(0, len(args), 3)]
best = {}
b0, o0, w0 = busy(), ours(), time.perf_counter()
for _ in range(reps):
    for name, pre, cmd in jobs:
        if pre:
            subprocess.run(pre, shell=True, check=True)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, shell=True, stderr=subprocess.PIPE)
        t = time.perf_counter() - t0
        if r.returncode != 0:
            sys.stderr.write("hash-bench: '%s' failed:\n%s" %
                             (cmd, r.stderr.decode(errors="replace")))
            sys.exit(1)
        best[name] = min(best.get(name, t), t)
others = max(0.0, (busy() - b0) - (ours() - o0)) / (time.perf_counter() - w0)
for name, _, _ in jobs:
    print("%s=%.4f" % (name, best[name]))
print("others=%.2f" % others)
PY

load1() { cut -d' ' -f1 /proc/loadavg; }
busy_others() { python3 -c "import sys; sys.exit(0 if $1 > $MAX_OTHERS else 1)"; }
minof() { python3 -c "print(min($1, $2))"; }
ratio() { python3 -c "print('%.2f' % ($1 / max($2, 1e-6)))"; }
rate() { python3 -c "print('%.0f' % ($1 / max($2, 1e-6)))"; }
ms() { python3 -c "print('%.1f' % ($1 * 1000))"; }
verdict() { python3 -c "print('met' if $1 >= $2 else 'NOT met')"; }

# section NAME TIMEIT-ARGS...: measures (again while the load is high),
# keeping each command's best time across attempts; sets LOAD_<NAME>
section() {
	_sec=$1
	shift
	_try=0
	_loads=
	while :; do
		python3 "$W/timeit.py" "$REPS" "$@" > "$W/times.$_sec" || exit 1
		others=0
		while IFS== read -r _k _v; do
			if [ "$_k" != others ]; then
				eval "_old=\${$_k:-}"
				if [ -n "$_old" ]; then _v=$(minof "$_old" "$_v"); fi
			fi
			eval "$_k=$_v"
		done < "$W/times.$_sec"
		_loads="${_loads:+$_loads; }other processes ${others} CPU, load average $(load1)"
		_try=$((_try + 1))
		if busy_others "$others" && [ "$_try" -le "$RETRIES" ]; then
			echo "hash-bench: other processes used $others CPU during '$_sec': measuring again" >&2
			sleep 5
			continue
		fi
		break
	done
	eval "LOAD_$_sec=\"\$_loads\""
}

echo "hash-bench: drover $("$D" --version | cut -d' ' -f2), $(xxhsum --version 2>&1 | head -1 | cut -d' ' -f1-2), $JOBS threads, $(nproc) CPUs, best of $REPS"
echo "hash-bench: scratch $W"
echo "hash-bench: start: $(uptime)"

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
sync	# no writeback of the new data while we measure
section big \
    t_xxh_big "" "xxhsum -H2 '$W/big/big.bin' > '$W/big.xxh'" \
    t_drv_big "" "'$D' attach snapshot '$W/big' --no-cache -j $JOBS > '$W/big.json'"
h1=$(cut -d' ' -f1 "$W/big.xxh")
grep -q "\"hash\":\"$h1\"" "$W/big.json" || { echo "hash-bench: big file hashes differ" >&2; exit 1; }

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
XXH_TREE="cd '$W/tree' && find . -type f -print0 | xargs -0 xxhsum -H2 > '$W/tree.xxh'"
sh -c "$XXH_TREE" 2>/dev/null	# warm the page cache and the dentries
sync
section tree \
    t_xxh_tree "" "$XXH_TREE" \
    t_drv_tree "" "'$D' attach snapshot '$W/tree' --no-cache -j $JOBS > '$W/tree.json'"
python3 - "$W/tree.xxh" "$W/tree.json" <<'PY' || { echo "hash-bench: tree hashes differ" >&2; exit 1; }
import json, sys
want = {}
for line in open(sys.argv[1]):
    h, p = line.rstrip("\n").split("  ", 1)
    want[p[2:]] = h
got = {e["path"]: e["hash"] for e in json.load(open(sys.argv[2]))["paths"]}
sys.exit(0 if got == want else 1)
PY

# ---- 3. first snapshot (empty cache), then again: with the hash cache
# only, and with --watch (empty cache and no watcher first) ----
section cache \
    t_first "$STOP_WATCH; rm -rf '$W/home'" "'$D' attach snapshot '$W/tree' -j $JOBS > '$W/tree1.json'" \
    t_second "" "'$D' attach snapshot '$W/tree' -j $JOBS > '$W/tree2.json'" \
    t_big_first "" "'$D' attach snapshot '$W/big' -j $JOBS > '$W/b1.json'" \
    t_big_second "" "'$D' attach snapshot '$W/big' -j $JOBS > '$W/b2.json'" \
    t_wfirst "$STOP_WATCH; rm -rf '$W/home'" "'$D' attach snapshot '$W/tree' --watch -j $JOBS > '$W/treew1.json'" \
    t_wsecond "" "'$D' attach snapshot '$W/tree' --watch -j $JOBS > '$W/treew2.json'"
cmp -s "$W/tree1.json" "$W/tree2.json" || { echo "hash-bench: re-snapshot differs" >&2; exit 1; }
cmp -s "$W/tree.json" "$W/tree2.json" || { echo "hash-bench: cached snapshot differs" >&2; exit 1; }
cmp -s "$W/tree.json" "$W/treew1.json" || { echo "hash-bench: first --watch snapshot differs" >&2; exit 1; }
cmp -s "$W/tree.json" "$W/treew2.json" || { echo "hash-bench: --watch re-snapshot differs" >&2; exit 1; }
"$D" attach snapshot "$W/tree" --watch --stats -j "$JOBS" 2>&1 >/dev/null | grep -q "watch=unchanged" ||
    { echo "hash-bench: the --watch re-snapshot was not answered by the watcher" >&2; exit 1; }
sh -c "$STOP_WATCH"
"$D" attach snapshot "$W/tree" --stats -j "$JOBS" 2>&1 >/dev/null | grep -q "hashed=0 cached=$NFILES " ||
    { echo "hash-bench: the re-snapshot did not take every hash from the cache" >&2; exit 1; }

# ---- the floor under a re-snapshot ----
t_floor=
if [ -n "$STATWALK" ]; then
	section floor t_start "" "'$D' --version > /dev/null"
	fw=
	for _ in $(seq "$REPS"); do
		w=$("$STATWALK" "$W/tree" "$JOBS" | cut -d' ' -f2)
		fw=${fw:-$w}
		fw=$(minof "$fw" "$w")
	done
	t_floor=$(python3 -c "print('%.4f' % ($fw + $t_start))")
fi

tree_mib=$(python3 -c "print('%.1f' % ($NFILES * $FSIZE / 1048576))")
echo
printf '%-46s %9s %14s\n' "test (best of $REPS)" "ms" "throughput"
printf '%-46s %9s %14s\n' "big file ${BIG_MB} MiB: xxhsum -H2" "$(ms "$t_xxh_big")" "$(rate "$BIG_MB" "$t_xxh_big") MiB/s"
printf '%-46s %9s %14s\n' "big file ${BIG_MB} MiB: drover snapshot --no-cache" "$(ms "$t_drv_big")" "$(rate "$BIG_MB" "$t_drv_big") MiB/s"
printf '%-46s %9s %14s\n' "$NFILES files (${tree_mib} MiB): xxhsum -H2" "$(ms "$t_xxh_tree")" "$(rate "$NFILES" "$t_xxh_tree") files/s"
printf '%-46s %9s %14s\n' "$NFILES files: drover snapshot --no-cache" "$(ms "$t_drv_tree")" "$(rate "$NFILES" "$t_drv_tree") files/s"
printf '%-46s %9s %14s\n' "$NFILES files: drover, first (empty cache)" "$(ms "$t_first")" "$(rate "$NFILES" "$t_first") files/s"
printf '%-46s %9s %14s\n' "$NFILES files: drover, again (cache)" "$(ms "$t_second")" "$(rate "$NFILES" "$t_second") files/s"
printf '%-46s %9s %14s\n' "$NFILES files: --watch, first (+ watcher start)" "$(ms "$t_wfirst")" "$(rate "$NFILES" "$t_wfirst") files/s"
printf '%-46s %9s %14s\n' "$NFILES files: --watch, again (watcher)" "$(ms "$t_wsecond")" "$(rate "$NFILES" "$t_wsecond") files/s"
printf '%-46s %9s\n' "big file: drover, first (fills cache)" "$(ms "$t_big_first")"
printf '%-46s %9s\n' "big file: drover, again (cache)" "$(ms "$t_big_second")"
if [ -n "$t_floor" ]; then
	printf '%-46s %9s\n' "floor: list + stat every file, $JOBS threads" "$(ms "$fw")"
	printf '%-46s %9s\n' "floor: drover start-up (drover --version)" "$(ms "$t_start")"
fi
echo
r1=$(ratio "$t_xxh_big" "$t_drv_big")
r2=$(ratio "$t_xxh_tree" "$t_drv_tree")
r3=$(ratio "$t_first" "$t_second")
r4=$(ratio "$t_wfirst" "$t_wsecond")
echo "ratio big file      drover vs xxhsum:      ${r1}x  (target >= 0.9: $(verdict "$r1" 0.9))  [${LOAD_big}]"
echo "ratio small files   drover vs xxhsum:      ${r2}x  (target >= 2: $(verdict "$r2" 2))  [${LOAD_tree}]"
echo "ratio re-snapshot   first vs again:        ${r3}x  (hash cache only; target >= 20: $(verdict "$r3" 20))  [${LOAD_cache}]"
if [ -n "$t_floor" ]; then
	echo "      hash cache only, at the floor (stat + start-up): first vs floor $(ratio "$t_first" "$t_floor")x at most"
fi
echo "ratio re-snapshot   --watch first vs again: ${r4}x  (target >= 20: $(verdict "$r4" 20))  [${LOAD_cache}]"
echo "ratio big file      first vs again:        $(ratio "$t_big_first" "$t_big_second")x"
echo "hash-bench: end: $(uptime)"
