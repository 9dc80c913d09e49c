#!/bin/sh
# attach snapshot --watch: a file-system watcher (inotify) answers
# re-snapshots.  After every kind of change the --watch snapshot must be
# byte-identical to a fresh plain snapshot without the hash cache; the
# watcher must survive nothing it should not (kill -9, idle timeout, its
# root removed) and leave no process behind.
. "$(dirname "$0")/lib.sh"

D=$DROVER_BIN
cd "$T_TMP" || exit 1
W=$DROVER_HOME/watch

# every watcher this test started, killed on exit whatever happens
T_ON_EXIT='for f in "$DROVER_HOME"/watch/*.pid; do [ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null; done; pkill -9 -f -- "attach watch $T_TMP/" 2>/dev/null'

# gone PID: waits (bounded, 30 s) until the process has exited and been
# reaped; 0 if it did
gone() {
	_n=0
	while kill -0 "$1" 2>/dev/null; do
		_n=$((_n + 1))
		[ "$_n" -gt 600 ] && return 1
		sleep 0.05
	done
	return 0
}
key() { python3 -c 'import os,sys; print(os.path.realpath(sys.argv[1]))' "$1" | tr -d '\n' | xxhsum -H2 - 2>/dev/null | cut -d' ' -f1; }
watcher_pid() { cat "$W/$(key "$1").pid" 2>/dev/null; }
plain() { "$D" attach snapshot "$1" --no-cache -o "$2" 2>/dev/null; }
# snap DIR OUT: --watch snapshot, its --stats line in OUT.err
snap() { "$D" attach snapshot "$1" --watch --stats -o "$2" 2>"$2.err"; }
how() { grep -o 'watch=.*' "$1.err"; }

mkdir -p src/sub/deeper src/other
for i in 1 2 3 4 5; do printf 'file %s\n' "$i" > "src/f$i"; done
printf 'deep' > src/sub/deeper/d.txt
printf 'sub' > src/sub/s.txt
printf 'caf\303\251' > "src/caf$(printf '\303\251')"
printf 'outside\n' > outside.txt

# ---- first snapshot: starts the watcher, same bytes as a plain one ----
snap src w0.json
check "first --watch snapshot exits 0" test $? -eq 0
plain src p0.json
check "first --watch snapshot equals the plain snapshot" cmp -s w0.json p0.json
check "first one is a full walk" contains w0.json.err "watch=full"
pid1=$(watcher_pid src)
check "a watcher runs, with a pid file" kill -0 "${pid1:-0}"
check "its socket and state are under DROVER_HOME/watch" test -S "$W/$(key src).sock" -a -f "$W/$(key src).state"
"$D" attach watch --status src > status.out
check "watch --status answers" contains status.out "pid=$pid1 "

snap src w1.json
check "unchanged re-snapshot is identical" cmp -s w1.json p0.json
check "unchanged re-snapshot says watch=unchanged" test "$(how w1.json)" = "watch=unchanged"

# step NAME: --watch snapshot after a change equals a fresh plain one, and
# the manifest did change (unless NAME says it cannot)
prev=w1.json
n=0
step() {
	n=$((n + 1))
	snap src "s$n.json"
	_rc=$?
	plain src "sp$n.json"
	check "$1: --watch snapshot exits 0" test $_rc -eq 0
	check "$1: equals a fresh plain snapshot ($(how "s$n.json"))" cmp -s "s$n.json" "sp$n.json"
	if [ "${2:-}" != same ]; then
		check "$1: the manifest changed" test -n "$(cmp "$prev" "s$n.json" 2>&1)"
	else
		check "$1: the manifest is the same" cmp -s "$prev" "s$n.json"
	fi
	check "$1: answered by the watcher" test "$(how "s$n.json" | cut -d' ' -f1)" = "watch=patched"
	prev=s$n.json
}

old=$(stat -c %y src/f1)
printf 'FILE 1\n' > src/f1	# same size
touch -d "$old" src/f1
check "mtime restored exactly" test "$(stat -c %y src/f1)" = "$old"
step "content changed in place, same size and mtime"
printf 'more\n' >> src/f2
step "append"
printf 'new\n' > src/new.txt
step "create"
rm src/f3
step "delete"
mv src/f4 src/f4-renamed
step "rename"
mkdir src/newdir && printf 'a' > src/newdir/a && mkdir src/newdir/in && printf 'b' > src/newdir/in/b
step "new subdirectory with files made right after mkdir"
printf 'c' > src/newdir/in/c
step "file in a directory created since"
mv src/newdir src/moved
step "directory renamed"
printf 'm' > src/moved/in/m
step "file in a renamed directory"
rm -rf src/sub
step "directory removed"
chmod +x src/f5
# v2023 manifests record no permissions: same bytes, still looked at
step "chmod +x" same
rm src/f2 && ln -s f1 src/f2
step "file replaced by a symbolic link"
ln -s ../outside.txt src/out-link
step "symbolic link to a file outside the tree"
printf 'outside, changed\n' > outside.txt
step "target outside the tree changed (links are always looked at again)"
ln outside.txt src/hard
step "hard link to a file outside the tree"
printf 'outside, changed again!\n' > outside.txt
step "other hard link of a file changed"
ln -s other src/dirlink && printf 'o' > src/other/o
step "symbolic link to a directory"
printf 'p' > src/other/p
step "file added behind a directory link"

snap src w-again.json
plain src p-again.json
check "unchanged tree with links: identical" cmp -s w-again.json p-again.json

# ---- the change set's cap: past it, old tokens get "reset" ----
"$D" attach watch --stop src
check "watch --stop stops it" gone "$pid1"
check "its socket is removed" test ! -e "$W/$(key src).sock"
check "its pid file is removed" test ! -e "$W/$(key src).pid"
env DROVER_WATCH_MAX_PATHS=4 "$D" attach snapshot src --watch --stats -o cap0.json 2>cap0.json.err
check "a new watcher: its first answer is a full walk" contains cap0.json.err "watch=full (reset"
for i in 1 2 3 4 5 6 7 8 9 10; do printf '%s' "$i" > "src/many$i"; done
snap src cap1.json
plain src capp.json
check "more changes than the cap: full walk (floor passed)" contains cap1.json.err "watch=full (reset"
check "and the right bytes" cmp -s cap1.json capp.json
snap src cap2.json
# (the tree holds links now, which are always looked at again)
check "then answered by the watcher again" test "$(how cap2.json | cut -d' ' -f1)" = "watch=patched"

# ---- kill -9: the next snapshot walks in full and starts a new one ----
pid2=$(watcher_pid src)
kill -9 "$pid2"
check "killed watcher is gone" gone "$pid2"
printf 'while dead\n' > src/while-dead.txt
snap src k.json
plain src kp.json
check "after kill -9: correct" cmp -s k.json kp.json
check "after kill -9: a full walk" contains k.json.err "watch=full"
pid3=$(watcher_pid src)
check "after kill -9: a new watcher" test -n "$pid3" -a "$pid3" != "$pid2"
check "the new watcher runs" kill -0 "${pid3:-0}"
printf 'after\n' >> src/while-dead.txt
snap src k2.json
plain src kp2.json
check "the new watcher answers correctly" cmp -s k2.json kp2.json
check "the new watcher answers with a patch" test "$(how k2.json | cut -d' ' -f1)" = "watch=patched"

# ---- concurrent first snapshots of one tree start one watcher ----
mkdir conc && for i in 1 2 3; do printf '%s' "$i" > "conc/$i"; done
snap conc c1.json & p1=$!
snap conc c2.json & p2=$!
wait $p1; r1=$?
wait $p2; r2=$?
plain conc cp.json
check "concurrent first snapshots both succeed" test $r1 -eq 0 -a $r2 -eq 0
check "and both are right" cmp -s c1.json cp.json
check "...both" cmp -s c2.json cp.json
check "one watcher for the tree" test "$(pgrep -f -- "attach watch $(cd conc && pwd -P) " | wc -l)" -eq 1

# ---- idle timeout ----
mkdir idle && printf 'i' > idle/i
env DROVER_WATCH_IDLE=0.5 "$D" attach snapshot idle --watch -o i1.json 2>/dev/null
ipid=$(watcher_pid idle)
check "idle test: a watcher started" kill -0 "${ipid:-0}"
check "idle watcher exits by itself" gone "$ipid"
check "idle watcher removed its socket" test ! -e "$W/$(key idle).sock"
env DROVER_WATCH_IDLE=0.5 "$D" attach snapshot idle --watch -o i2.json 2>/dev/null
check "after the idle exit: full walk, right bytes" cmp -s i1.json i2.json
ipid2=$(watcher_pid idle)
"$D" attach watch --stop idle 2>/dev/null
gone "${ipid2:-0}"

# ---- the root removed: the watcher exits ----
mkdir doomed && printf 'd' > doomed/d
snap doomed d1.json
dpid=$(watcher_pid doomed)
check "doomed: a watcher started" kill -0 "${dpid:-0}"
rm -rf doomed
check "root removed: the watcher exits" gone "$dpid"

# ---- its socket removed (DROVER_HOME deleted, say): it exits ----
mkdir orphan && printf 'o' > orphan/o
snap orphan o1.json
opid=$(watcher_pid orphan)
check "orphan: a watcher started" kill -0 "${opid:-0}"
rm -f "$W/$(key orphan).sock"
check "socket removed: the watcher exits" gone "$opid"

# ---- not a watcher's business ----
"$D" attach snapshot src --watch --stats -o /dev/null 2>/dev/null
check "--watch output to /dev/null works" test $? -eq 0
"$D" attach snapshot nowhere --watch 2>nowhere.err
check "--watch of a missing directory fails like a plain snapshot" test $? -eq 1
check "...with the plain message" contains nowhere.err "cannot open directory"
"$D" attach watch --stop nowhere-dir-at-all 2>/dev/null
check "watch --stop of an unknown directory fails" test $? -ne 0

# ---- clean up: stop every watcher, none left ----
"$D" attach watch --stop src
"$D" attach watch --stop conc
check "stopped watchers exit" gone "$pid3"
left=$(pgrep -f -- "attach watch $T_TMP/" | wc -l)
check "no watcher process is left" test "$left" -eq 0
check "no pid file is left" test -z "$(ls "$W"/*.pid 2>/dev/null)"

done_testing
