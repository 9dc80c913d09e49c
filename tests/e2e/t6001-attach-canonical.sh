#!/bin/sh
# Canonical manifests byte for byte: the manifest drover writes for a fixed
# tree must equal one built independently here, the way AWS Deadline Cloud's
# Python builds it (json.dumps with sort_keys, no whitespace, ensure_ascii;
# entries sorted by UTF-16-BE path), from hashes computed by `xxhsum -H2`.
. "$(dirname "$0")/lib.sh"

D=$DROVER_BIN
cd "$T_TMP" || exit 1
python3 - <<'PY'
import os
names = ["a", "B", "z", "\u00e9.txt", "\u65e5\u672c.txt", "\U0001F600.txt",
         "\uff21.txt", "\ue000.txt", 'quote"s', "back\\slash", "tab\tname",
         "new\nline", "del\x7f", "ctl\x01", "dir/sub/file", "dir/sub2/x y",
         "empty", "big.bin", "a b/c"]
os.makedirs("tree", exist_ok=True)
for i, n in enumerate(names):
    p = os.path.join("tree", n)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    with open(p, "wb") as f:
        if n == "big.bin":
            f.write(bytes(range(256)) * 8193)   # > 1 MiB: streamed
        elif n != "empty":
            f.write(("content %d of %s" % (i, n)).encode())
    # a fixed mtime with microseconds (and extra nanoseconds that truncate)
    os.utime(p, ns=(1700000000123456789 + i * 1000001, 1700000000123456789 + i * 1000001))
PY
check "tree built" test -f tree/big.bin

# the independent manifest: hashes from xxhsum, layout from Python's json
python3 - <<'PY' > expected.json
import json, os, subprocess
def xxhsum(path):
    # the file goes in on stdin, so no name needs escaping
    with open(path, "rb") as f:
        out = subprocess.run(["xxhsum", "-H2"], stdin=f, capture_output=True,
                             check=True).stdout.decode()
    return out[:32]
paths = []
for root, dirs, files in os.walk("tree"):
    for fn in files:
        full = os.path.join(root, fn)
        st = os.stat(full)
        paths.append({"hash": xxhsum(full), "mtime": st.st_mtime_ns // 1000,
                      "path": os.path.relpath(full, "tree").replace(os.sep, "/"),
                      "size": st.st_size})
paths.sort(key=lambda p: p["path"].encode("utf-16_be"))
doc = {"hashAlg": "xxh128", "manifestVersion": "2023-03-03", "paths": paths,
       "totalSize": sum(p["size"] for p in paths)}
print(json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True), end="")
PY
check "xxhsum saw 19 files" test "$(python3 -c 'import json;print(len(json.load(open("expected.json"))["paths"]))')" -eq 19

"$D" attach snapshot tree -o got.json
check "snapshot exits 0" test $? -eq 0
if cmp -s expected.json got.json; then ok "manifest is byte-identical to the independent one"
else not_ok "manifest is byte-identical to the independent one"; diff expected.json got.json | head -5; fi
check "no trailing newline, no spaces between tokens" python3 -c '
import sys; b = open("got.json","rb").read()
sys.exit(0 if not b.endswith(b"\n") and b", " not in b and b": " not in b else 1)'
check "non-ASCII escaped, surrogate pair for U+1F600" contains got.json '"\ud83d\ude00.txt"'
check "DEL escaped as Python does" contains got.json '"del\u007f"'
# UTF-16 order puts U+1F600 (D83D..) before U+E000 and U+FF21; UTF-8 would not
python3 - got.json <<'PY'
import json, sys
p = [e["path"] for e in json.load(open(sys.argv[1]))["paths"]]
i, j, k = p.index("\U0001F600.txt"), p.index("\ue000.txt"), p.index("\uff21.txt")
sys.exit(0 if i < j < k else 1)
PY
check "UTF-16 code unit order" test $? -eq 0

"$D" attach snapshot tree --stats > again.json 2>again.err
check "second run takes every hash from the hash cache" contains again.err "hashed=0 cached=19 "
check "same tree, same bytes (second run, from the hash cache)" cmp -s got.json again.json
cp -a tree copy
"$D" attach snapshot copy > copy.json
check "a copy elsewhere gives the same bytes" cmp -s got.json copy.json
h1=$("$D" attach upload tree --store s1)
h2=$("$D" attach upload copy --store s2)
check "same manifest hash from both copies" test "$h1" = "$h2"
check "manifest hash is xxh128 of the canonical bytes" test "$h1" = "$(xxhsum -H2 got.json 2>/dev/null | cut -d' ' -f1)"

# strict reading of what others might write
python3 - <<'PY'
import json
base = json.load(open("expected.json"))
def write(name, doc):
    open(name, "w").write(json.dumps(doc))
d = dict(base); d["manifestVersion"] = "2025-12-04"; write("badver.json", d)
d = json.loads(json.dumps(base)); d["paths"][0]["path"] = "../escape"; write("dotdot.json", d)
d = json.loads(json.dumps(base)); d["paths"][0]["path"] = "/etc/passwd"; write("abs.json", d)
PY
"$D" attach download badver.json --store s1 --to out1 2>err1
check "unknown manifest version rejected" contains err1 "unsupported manifest version '2025-12-04'"
"$D" attach download dotdot.json --store s1 --to out2 2>err2
check "'..' path rejected" contains err2 "not a clean relative path"
"$D" attach download abs.json --store s1 --to out3 2>err3
check "absolute path rejected" contains err3 "is absolute"
check "nothing written for rejected manifests" test ! -e out1 -a ! -e out2 -a ! -e out3
done_testing
