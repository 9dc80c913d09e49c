#!/bin/sh
# The queue: 10,000 /bin/true tasks in one job drained with 2 slots (every
# state change durably recorded in the store), against the same commands
# run by a C fork/exec loop with 2 in flight (bench/parloop -f; the
# posix_spawn loop, faster still, is shown too), `xargs -P 2`,
# task-spooler and GNU parallel (when installed), all in the same run.
# Also: the whole `drover submit` process for a 1,000,000-task job, the
# daemon's RSS while it waits with that job queued, and `drover ls --json`
# over 10,000 finished jobs.
#   DROVER_BIN=build-release/drover DROVER_BENCH_DIR=build-release/bench \
#   sh bench/queue-bench.sh         (N=10000 by default)
set -u
: "${DROVER_BIN:?}"
: "${DROVER_BENCH_DIR:=$(dirname "$DROVER_BIN")/bench}"
N=${N:-10000}
LSJOBS=${LSJOBS:-10000}
T=$(mktemp -d "${TMPDIR:-/tmp}/drover-qbench.XXXXXX")
export DROVER_HOME="$T/home" XDG_CONFIG_HOME="$T/config"
DAEMON=""
cleanup() {
	"$DROVER_BIN" stop --now >/dev/null 2>&1
	[ -n "$DAEMON" ] && kill -9 "$DAEMON" 2>/dev/null
	tsp -K >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT INT TERM
now() { date +%s%N; }
rate() { awk -v n="$1" -v ns="$2" 'BEGIN { printf "%.0f", n / (ns / 1e9) }'; }

# -- drover: one job of N /bin/true tasks, 2 slots
cat > "$T/true.yaml" <<EOT
specificationVersion: jobtemplate-2023-09
name: bench
steps:
  - name: T
    parameterSpace:
      taskParameterDefinitions:
        - name: I
          type: INT
          range: "1-$N"
    script:
      actions:
        onRun:
          command: /bin/true
EOT
"$DROVER_BIN" daemon --slots 2 || exit 1
# drover and the C loop take turns, ROUNDS times, so that both see the
# same machine (it is shared); the median of each is reported
ROUNDS=${ROUNDS:-3}
td=""
tl=""
ts=""
for r in $(seq "$ROUNDS"); do
	a=$(now)
	j=$("$DROVER_BIN" submit "$T/true.yaml")
	"$DROVER_BIN" wait -q "$j" || echo "queue-bench: the drover job failed"
	b=$(now)
	td="$td $((b - a))"
	if [ -x "$DROVER_BENCH_DIR/parloop" ]; then
		a=$(now)
		"$DROVER_BENCH_DIR/parloop" -f -n "$N" -j 2 /bin/true > /dev/null
		b=$(now)
		tl="$tl $((b - a))"
		a=$(now)
		"$DROVER_BENCH_DIR/parloop" -n "$N" -j 2 /bin/true > /dev/null
		b=$(now)
		ts="$ts $((b - a))"
	fi
done
median() { echo "$@" | tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
t_drover=$(median $td)
echo "drover queue: $N tasks, 2 slots: $((t_drover / 1000000)) ms, $(rate $N $t_drover) tasks/s (median of $ROUNDS)"
if [ -n "$tl" ]; then
	t_loop=$(median $tl)
	echo "C fork/exec loop (2 in flight): $((t_loop / 1000000)) ms, $(rate $N $t_loop) runs/s (median of $ROUNDS)"
	t_spawn=$(median $ts)
	echo "C posix_spawn loop (2 in flight, for information): $((t_spawn / 1000000)) ms, $(rate $N $t_spawn) runs/s; drover $(awk -v a="$t_spawn" -v b="$t_drover" 'BEGIN { printf "%.2f", a / b }')x of it"
else
	t_loop=0
	echo "C loop: $DROVER_BENCH_DIR/parloop not built"
fi

# -- xargs -P 2
a=$(now)
seq "$N" | xargs -P 2 -n 1 /bin/true
b=$(now)
t_xargs=$((b - a))
echo "xargs -P 2: $((t_xargs / 1000000)) ms, $(rate $N $t_xargs) runs/s"

# -- task-spooler (its queue holds about 1,000 jobs: fed in batches)
t_tsp=0
if command -v tsp >/dev/null; then
	export TS_SOCKET="$T/tsp.sock" TS_MAXFINISHED=10 TS_SAVELIST="" TMPDIR="$T"
	tsp -S 2 >/dev/null
	a=$(now)
	i=0
	while [ $i -lt "$N" ]; do
		tsp -n /bin/true >/dev/null
		i=$((i + 1))
		[ $((i % 500)) = 0 ] && tsp -w >/dev/null 2>&1
	done
	tsp -w >/dev/null 2>&1
	while [ "$(tsp 2>/dev/null | grep -c -E 'running|queued')" != 0 ]; do sleep 0.05; done
	b=$(now)
	t_tsp=$((b - a))
	echo "task-spooler (2 slots): $((t_tsp / 1000000)) ms, $(rate $N $t_tsp) runs/s"
	tsp -K >/dev/null 2>&1
else
	echo "task-spooler: not installed (Debian package task-spooler)"
fi

# -- GNU parallel
t_par=0
if parallel --version 2>/dev/null | grep -q GNU; then
	a=$(now)
	seq "$N" | parallel -j 2 /bin/true
	b=$(now)
	t_par=$((b - a))
	echo "GNU parallel -j 2: $((t_par / 1000000)) ms, $(rate $N $t_par) runs/s"
else
	echo "GNU parallel: not installed (Debian package parallel)"
fi

if [ "$t_loop" -gt 0 ]; then
	awk -v d="$t_drover" -v l="$t_loop" -v x="$t_xargs" -v s="$t_tsp" \
	    -v p="$t_par" 'BEGIN {
		printf "ratios (throughput vs the C loop, target for drover >= 0.8): drover %.2f, xargs %.2f", l / d, l / x
		if (s > 0) printf ", task-spooler %.2f", l / s
		if (p > 0) printf ", parallel %.2f", l / p
		printf "\n" }'
fi

# -- submit of a 1,000,000-task job (whole CLI process), daemon RSS
sed "s/1-$N/1-1000000/" "$T/true.yaml" > "$T/huge.yaml"
best=999999999999
for r in 1 2 3 4 5; do
	a=$(now)
	"$DROVER_BIN" submit --paused "$T/huge.yaml" > /dev/null
	b=$(now)
	[ $((b - a)) -lt $best ] && best=$((b - a))
done
echo "submit of a 1,000,000-task job: $((best / 1000)) us (best of 5; target < 100000 us)"
pid=$(cat "$DROVER_HOME/drover.pid")
rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status")
echo "daemon RSS while waiting with 5 such jobs queued: $((rss / 1024)) MiB (target < 64 MiB)"
"$DROVER_BIN" stop

# -- drover ls --json with LSJOBS finished jobs in the store
python3 - "$DROVER_HOME/drover.db" "$LSJOBS" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
n = int(sys.argv[2])
db.execute("DELETE FROM jobs")
with db:
    for i in range(n):
        cur = db.execute("INSERT INTO jobs(name, job, submitter, task_count,"
            " state, reason, submitted_at, started_at, ended_at) VALUES"
            " (?, '{}', 'bench', 1, 'SUCCEEDED', 'SUCCEEDED', ?, ?, ?)",
            ("job%d" % i, i, i, i + 1))
        db.execute("INSERT INTO steps(job_id, idx, name, task_count, implicit,"
            " n_succeeded, state) VALUES (?, 0, 'T', 1, 'SUCCEEDED', 1,"
            " 'SUCCEEDED')", (cur.lastrowid,))
PY
"$DROVER_BIN" daemon --slots 2
"$DROVER_BIN" ls --all --json > /dev/null
best=999999999999
for r in 1 2 3 4 5; do
	a=$(now)
	"$DROVER_BIN" ls --all --json > "$T/ls.json"
	b=$(now)
	[ $((b - a)) -lt $best ] && best=$((b - a))
done
echo "drover ls --all --json with $LSJOBS finished jobs: $((best / 1000)) us, $(wc -c < "$T/ls.json") bytes (best of 5; target < 50000 us)"
