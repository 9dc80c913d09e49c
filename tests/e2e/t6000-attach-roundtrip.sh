#!/bin/sh
# Job attachments round trip: snapshot -> upload -> download gives the same
# tree (content, mtimes; symlinks collapsed as v2023 defines), downloads
# fetch only what is missing or changed, diff reports changes.
. "$(dirname "$0")/lib.sh"

D=$DROVER_BIN
cd "$T_TMP" || exit 1
mkdir -p src/sub/deeper src/empty-dir
printf 'hello\n' > src/a.txt
printf 'x' > src/sub/b
printf '' > src/zero
head -c 3000017 /dev/urandom > src/sub/deeper/big.bin
printf 'caf\303\251' > "src/caf$(printf '\303\251').txt"
printf 'spaces' > "src/with space.txt"
ln -s ../a.txt src/sub/link-to-a
ln -s sub/deeper src/dirlink
ln -s nowhere src/dangling
chmod 755 src/a.txt

"$D" attach snapshot src -o snap.json 2>snap.err
check "snapshot exits 0" test $? -eq 0
check "dangling link is reported" contains snap.err "skipping symbolic link"
python3 - snap.json <<'PY' > snap.paths
import json, sys
m = json.load(open(sys.argv[1]))
for p in m["paths"]:
    print(p["path"])
PY
check "collapsed file link listed" grep -qx 'sub/link-to-a' snap.paths
check "directory link expanded" grep -qx 'dirlink/big.bin' snap.paths
check "dangling link and empty dir absent" test "$(grep -c -e dangling -e empty-dir snap.paths)" -eq 0
check "8 files" test "$(wc -l < snap.paths)" -eq 8

out=$("$D" attach upload src --store store -o up.json 2>up.err)
check "upload exits 0" test $? -eq 0
check "upload prints the manifest hash" test "$(printf %s "$out" | wc -c)" -eq 32
check "manifest stored under its hash" test -f "store/Manifests/$out.json"
check "stored manifest bytes hash to its name" test "$(xxhsum -H2 "store/Manifests/$out.json" 2>/dev/null | cut -d' ' -f1)" = "$out"
check "upload manifest equals snapshot" cmp -s snap.json up.json
# every object is named by the xxh128 of its content
bad=0
for f in store/Data/*.xxh128; do
	h=$(xxhsum -H2 "$f" 2>/dev/null | cut -d' ' -f1)
	[ "store/Data/$h.xxh128" = "$f" ] || bad=1
done
check "objects are named by xxhsum -H2 of their content" test $bad -eq 0
check "6 distinct objects (links share their target's)" test "$(ls store/Data | wc -l)" -eq 6

"$D" attach download "$out" --store store --to dst --stats 2>dl.err
check "download by hash exits 0" test $? -eq 0
check "all 8 fetched" contains dl.err "stored=8 "
check "no progress bar when stderr is not a terminal" test "$(grep -c 'files/s' dl.err)" -eq 0
check "content identical" cmp -s src/sub/deeper/big.bin dst/sub/deeper/big.bin
check "unicode name restored" test -f "dst/caf$(printf '\303\251').txt"
check "link collapsed into a regular file" test -f dst/sub/link-to-a -a ! -L dst/sub/link-to-a
check "link content is the target's" cmp -s src/a.txt dst/sub/link-to-a
check "mtime restored (microseconds)" test "$(stat -c %.6Y src/sub/deeper/big.bin)" = "$(stat -c %.6Y dst/sub/deeper/big.bin)"
"$D" attach snapshot dst -o dst.json 2>/dev/null
check "downloaded tree snapshots to the same bytes" cmp -s snap.json dst.json
"$D" attach diff snap.json dst
check "diff of identical trees exits 0" test $? -eq 0

"$D" attach download up.json --store store --to dst --stats 2>dl2.err
check "second download fetches nothing" contains dl2.err "stored=0 "
check "second download: all present" contains dl2.err "present=8 "
printf 'changed\n' > dst/a.txt
rm dst/sub/b
"$D" attach download up.json --store store --to dst --stats 2>dl3.err
check "only missing/changed files fetched" contains dl3.err "stored=2 "
check "changed file restored" cmp -s src/a.txt dst/a.txt

"$D" attach download up.json --store store --to dst --progress --stats 2>dl4.err
check "--progress draws bytes/s and files/s" contains dl4.err "files/s"

printf 'new\n' > src/new.txt
printf 'HELLO\n' > src/a.txt
rm src/zero
printf 't' > "src/tab$(printf '\t')name"
"$D" attach diff snap.json src > diff.out 2>/dev/null
check "diff exits 1 on differences" test $? -eq 1
check "diff: added" grep -qx 'A new.txt' diff.out
check "diff: modified" grep -qx 'M a.txt' diff.out
check "diff: deleted" grep -qx 'D zero' diff.out
check "diff: a name needing escapes is quoted" grep -qx 'A "tab\\tname"' diff.out

"$D" attach download nosuchmanifest.json --store store --to x 2>bad.err
check "missing manifest fails" test $? -eq 1
# -o into something that is not a regular file writes into it, never
# replaces it (think of /dev/null)
mkfifo out.fifo
cat out.fifo > fifo.got &
reader=$!
"$D" attach snapshot src -o out.fifo 2>/dev/null
wait $reader
check "-o FIFO: still a FIFO" test -p out.fifo
check "-o FIFO: a manifest came through" contains fifo.got '"manifestVersion":"2023-03-03"'
"$D" attach upload src 2>usage.err
check "upload without --store is a usage error" test $? -eq 2
"$D" attach --help > help.out
check "help has EXIT STATUS" contains help.out "EXIT STATUS"

# a directory with more subdirectories than the process may open files:
# directories are opened when they are read, not when they are found
python3 - <<'PY'
import os
for i in range(300):
    os.makedirs("wide/d%03d" % i)
    with open("wide/d%03d/f" % i, "w") as f:
        f.write(str(i))
PY
(ulimit -n 48 && "$D" attach snapshot wide --stats -o wide.json) 2>wide.err
check "300 subdirectories with 48 descriptors" test $? -eq 0
check "  every file in the manifest" test "$(python3 -c 'import json;print(len(json.load(open("wide.json"))["paths"]))')" -eq 300
done_testing
