#!/bin/sh
# Failure modes of comparable tools: 10,000 one-byte files; concurrent
# uploads of one tree into one store; four concurrent snapshots sharing the
# hash cache (never "database is locked"); an object deleted from the store
# behind the hash cache's back is uploaded again, not assumed present.
. "$(dirname "$0")/lib.sh"

D=$DROVER_BIN
cd "$T_TMP" || exit 1
python3 - <<'PY'
import os, time
old = time.time() - 3600     # older than the hash cache's racy window
for tree, n in (("many", 10000), ("other", 3000)):
    for i in range(n):
        d = os.path.join(tree, "d%02d" % (i % 50))
        os.makedirs(d, exist_ok=True)
        p = os.path.join(d, "f%05d" % i)
        with open(p, "wb") as f:
            f.write(bytes([i % 256]))
        os.utime(p, (old, old))
PY
check "10,000 files created" test "$(find many -type f | wc -l)" -eq 10000

# four snapshots at once on a fresh hash cache, two trees
for i in 1 2 3 4; do
	t=many; [ $i -gt 2 ] && t=other
	"$D" attach snapshot $t -o snap$i.json --stats 2>snap$i.err &
	eval "p$i=\$!"
done
rc=0
for i in 1 2 3 4; do eval "wait \$p$i" || rc=1; done
check "four concurrent snapshots all succeed" test $rc -eq 0
check "no 'database is locked'" test "$(cat snap*.err | grep -ci locked)" -eq 0
check "no hash cache warnings" test "$(cat snap*.err | grep -c 'hash cache')" -eq 0
check "concurrent snapshots agree (many)" cmp -s snap1.json snap2.json
check "concurrent snapshots agree (other)" cmp -s snap3.json snap4.json
check "10,000 entries" test "$(python3 -c 'import json;print(len(json.load(open("snap1.json"))["paths"]))')" -eq 10000
"$D" attach snapshot many --stats >/dev/null 2>snap5.err
check "the shared cache now answers for every file" contains snap5.err "hashed=0 cached=10000 "

# four uploads of the same tree into one store at once
for i in 1 2 3 4; do
	"$D" attach upload many --store S --no-cache > up$i.out 2>up$i.err &
	eval "q$i=\$!"
done
rc=0
for i in 1 2 3 4; do eval "wait \$q$i" || rc=1; done
check "four concurrent uploads all succeed" test $rc -eq 0
check "they agree on the manifest" test "$(cat up*.out | sort -u | wc -l)" -eq 1
check "256 distinct one-byte objects" test "$(ls S/Data | wc -l)" -eq 256
check "no temp files left" test "$(ls -A S/Data | grep -c '^\.')" -eq 0
bad=0
for f in S/Data/*.xxh128; do
	[ "$(xxhsum -H2 "$f" 2>/dev/null | cut -d' ' -f1).xxh128" = "${f#S/Data/}" ] || bad=$((bad + 1))
done
check "every object verifies with xxhsum" test $bad -eq 0

"$D" attach download "$(cat up1.out)" --store S --to back 2>dl.err
check "10,000 files download" test $? -eq 0
check "downloaded tree identical" diff -r many back

# an object deleted behind the cache's back is uploaded again
"$D" attach upload many --store T --stats >/dev/null 2>u1.err
obj=$(xxhsum -H2 many/d07/f00007 2>/dev/null | cut -d' ' -f1)
rm -f "T/Data/$obj.xxh128"
"$D" attach upload many --store T --stats >/dev/null 2>u2.err
check "second upload took hashes from the cache" contains u2.err "cached=10000 "
check "but re-uploaded the missing object" contains u2.err "stored=1 "
check "object is back and correct" cmp -s many/d07/f00007 "T/Data/$obj.xxh128"
done_testing
