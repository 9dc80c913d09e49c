#!/bin/sh
# Store verification: a corrupted object is detected on read, reported,
# moved aside and never written into the destination; a second store
# supplies a good copy and repairs the first; upload --verify replaces
# corrupt objects from the local files.
. "$(dirname "$0")/lib.sh"

D=$DROVER_BIN
cd "$T_TMP" || exit 1
mkdir -p src/d
printf 'first file\n' > src/one
printf 'second file\n' > src/d/two
head -c 200000 /dev/urandom > src/d/three
h=$("$D" attach upload src --store A -o m.json)
check "upload to A" test -n "$h"
"$D" attach upload src --store B >/dev/null
check "upload to B" test $? -eq 0

obj=$(xxhsum -H2 src/d/two 2>/dev/null | cut -d' ' -f1)
check "object present" test -f "A/Data/$obj.xxh128"
chmod u+w "A/Data/$obj.xxh128"
printf 'SECOND FILE\n' > "A/Data/$obj.xxh128"	# same size, other bytes

"$D" attach download m.json --store A --to out1 2>err1
check "download from the corrupt store fails" test $? -eq 1
check "corruption reported with the object's name" contains err1 "corrupt object"
check "report names the hash" contains err1 "$obj"
check "corrupt content never reaches the destination" test ! -e out1/d/two
check "intact files still downloaded" cmp -s src/one out1/one
check "corrupt object moved to Corrupt/" test "$(ls A/Corrupt | grep -c "^$obj")" -eq 1
check "and removed from Data/" test ! -e "A/Data/$obj.xxh128"

"$D" attach download m.json --store A --store B --to out2 --stats 2>err2
check "download with a fallback store succeeds" test $? -eq 0
check "file fetched from the second store" cmp -s src/d/two out2/d/two
check "first store repaired" contains err2 "repaired=1 "
check "repaired object verifies" test "$(xxhsum -H2 "A/Data/$obj.xxh128" 2>/dev/null | cut -d' ' -f1)" = "$obj"

# truncation is caught by size before any hashing
obj3=$(xxhsum -H2 src/d/three 2>/dev/null | cut -d' ' -f1)
chmod u+w "A/Data/$obj3.xxh128"
head -c 1000 src/d/three > "A/Data/$obj3.xxh128"
"$D" attach upload src --store A --stats >/dev/null 2>err3
check "plain upload trusts a same-named object only if its size matches" contains err3 "stored=1 "
check "truncated object replaced" cmp -s src/d/three "A/Data/$obj3.xxh128"

chmod u+w "A/Data/$obj.xxh128"
printf 'second filE\n' > "A/Data/$obj.xxh128"
"$D" attach upload src --store A --verify --stats >/dev/null 2>err4
check "upload --verify finds and replaces the corrupt object" contains err4 "repaired=1 "
check "replaced object is good" cmp -s src/d/two "A/Data/$obj.xxh128"
check "no temp files left in Data/" test "$(ls -A A/Data | grep -c '^\.')" -eq 0

# a corrupt stored manifest is refused too
chmod u+w "A/Manifests/$h.json"
printf ' ' >> "A/Manifests/$h.json"
"$D" attach download "$h" --store A --to out3 2>err5
check "corrupt manifest detected" contains err5 "corrupt manifest"
done_testing
