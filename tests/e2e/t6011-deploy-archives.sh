#!/bin/sh
# Deployment: archive formats and link modes, hash checks, keep_updated
# (file and http sources), the CAS store as a source, dry runs, cache ls
# and gc, and malicious archives (built here with python3's tarfile and
# zipfile) refused with clear errors and nothing written outside.
. "$(dirname "$0")/lib.sh"

D=$DROVER_BIN
cd "$T_TMP" || exit 1
C=$T_TMP/cache
mkdir -p www
python3 - <<'PY'
import io, os, tarfile, zipfile
def tar(path, mode, members):
    with tarfile.open(path, mode) as t:
        for m in members:
            name, kind = m[0], m[1]
            ti = tarfile.TarInfo(name)
            if kind == "file":
                data = m[2]
                ti.size = len(data); ti.mode = m[3] if len(m) > 3 else 0o644
                t.addfile(ti, io.BytesIO(data))
            elif kind == "dir":
                ti.type = tarfile.DIRTYPE; ti.mode = 0o755; t.addfile(ti)
            elif kind == "sym":
                ti.type = tarfile.SYMTYPE; ti.linkname = m[2]; t.addfile(ti)
            elif kind == "hard":
                ti.type = tarfile.LNKTYPE; ti.linkname = m[2]; t.addfile(ti)
            elif kind == "chr":
                ti.type = tarfile.CHRTYPE; ti.devmajor = 1; ti.devminor = 3
                t.addfile(ti)
good = [("bin", "dir"), ("bin/tool", "file", b"#!/bin/sh\necho tool v1\n", 0o755),
        ("share/readme.txt", "file", b"read me\n"),
        ("bin/alias", "sym", "tool"), ("bin/tool-hard", "hard", "bin/tool")]
tar("www/good.tar", "w", good)
tar("www/good.tar.gz", "w:gz", good)
tar("www/good.tar.xz", "w:xz", good)
with zipfile.ZipFile("www/good.zip", "w") as z:
    z.writestr("bin/tool", "#!/bin/sh\necho tool v1\n")
    z.writestr("share/readme.txt", "read me\n")
# malicious
tar("www/traversal.tar.gz", "w:gz", [("ok.txt", "file", b"ok"),
    ("../outside.txt", "file", b"evil")])
tar("www/absolute.tar", "w", [("/tmp/drover-e2e-absolute-evil", "file", b"evil")])
tar("www/symlink.tar.gz", "w:gz", [("link", "sym", "../../outside"),
    ("link/evil.txt", "file", b"evil")])
tar("www/symabs.tar", "w", [("etc", "sym", "/etc")])
tar("www/device.tar", "w", [("null", "chr")])
tar("www/bomb.tar.gz", "w:gz", [("zeros", "file", bytes(5 << 20))])
with zipfile.ZipFile("www/traversal.zip", "w") as z:
    z.writestr("fine.txt", "x")
    z.writestr("../zip-outside.txt", "evil")
with zipfile.ZipFile("www/absolute.zip", "w") as z:
    z.writestr("/tmp/drover-e2e-zip-absolute-evil", "evil")
with zipfile.ZipFile("www/bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("zeros", bytes(5 << 20))
PY
check "archives built" test -f www/bomb.zip
hash() { xxhsum -H2 "$1" 2>/dev/null | cut -d' ' -f1; }

# ---- good archives, every format and link mode ----
cat > good.json <<JSON
{"formatVersion": 1, "dependencies": [
  {"name": "t", "version": "tar", "source": "www/good.tar",
   "hash": "xxh128:$(hash www/good.tar)", "destination": "out/sym"},
  {"name": "t", "version": "tgz", "source": "file://$T_TMP/www/good.tar.gz",
   "hash": "xxh128:$(hash www/good.tar.gz)", "link": "hardlink",
   "destination": "out/hard"},
  {"name": "t", "version": "txz", "source": "www/good.tar.xz",
   "link": "copy", "destination": "out/copy"},
  {"name": "t", "version": "zip", "source": "www/good.zip",
   "link": "copy", "destination": "out/zip"},
  {"name": "raw", "version": "1", "source": "www/good.tar", "unpack": "none",
   "executable": true, "destination": "out/raw"}
]}
JSON
"$D" deploy good.json --cache "$C" --dry-run > dry.out
check "dry run succeeds" test $? -eq 0
check "dry run says what it would fetch" contains dry.out "would fetch www/good.tar into $C/local/any/t/tar"
check "dry run changes nothing" test ! -e "$C" -a ! -e out

"$D" deploy good.json --cache "$C" -j 3 > good.out 2>good.err
check "good archives deploy" test $? -eq 0
check "five dependencies fetched" test "$(grep -c ': fetched ' good.out)" -eq 5
E=$C/local/any/t
check "symlink mode: files are links into the cache" test "$(readlink out/sym/bin/tool)" = "$E/tar/content/bin/tool"
check "symlink mode: archive links kept relative" test "$(readlink out/sym/bin/alias)" = "tool"
check "tar.gz unpacked, hard link inside the archive kept" test "$(stat -c %i "$E/tgz/content/bin/tool")" = "$(stat -c %i "$E/tgz/content/bin/tool-hard")"
check "hardlink mode: same inode as the cache" test "$(stat -c %i out/hard/bin/tool)" = "$(stat -c %i "$E/tgz/content/bin/tool")"
check "copy mode (tar.xz): a separate file" test "$(stat -c %i out/copy/bin/tool)" != "$(stat -c %i "$E/txz/content/bin/tool")"
check "copy mode keeps the content" test "$(sh out/copy/bin/tool)" = "tool v1"
check "copy mode keeps the executable bit" test -x out/copy/bin/tool
check "zip unpacked" contains out/zip/share/readme.txt "read me"
check "cache content is read-only" test ! -w "$E/tar/content/share/readme.txt" -o "$(id -u)" -eq 0 -a "$(stat -c %a "$E/tar/content/share/readme.txt")" = 444
check "unpack none keeps the file as is" cmp -s www/good.tar out/raw/good.tar
check "executable: true" test -x "$C/local/any/raw/1/content/good.tar"
check "info file has format version, hash, size, source, unpack" python3 -c "
import json; i = json.load(open('$E/tgz/drover-entry.json'))
assert i['formatVersion'] == 1 and i['hash'] == 'xxh128:$(hash www/good.tar.gz)'
assert i['size'] == $(stat -c %s www/good.tar.gz) and i['unpack'] == 'tar.gz'
assert i['source'].startswith('file://')"

"$D" deploy good.json --cache "$C" > again.out
check "second run: everything cached" test "$(grep -c ': cached ' again.out)" -eq 5
check "second run: nothing to change" test "$(grep -c 'already in place' again.out)" -eq 5

# ---- hash mismatch ----
sed -e 's/"version": "tar"/"version": "tar2"/' -e "s/$(hash www/good.tar)/0123456789abcdef0123456789abcdef/" good.json > bad.json
"$D" deploy bad.json --cache "$C" > bad.out 2>bad.err
check "hash mismatch fails" test $? -eq 1
check "hash mismatch is reported" contains bad.err "hash mismatch for 'www/good.tar'"
check "no entry for the bad download" test ! -e "$E/tar2"
check "the good ones are still deployed" test "$(grep -c ': cached ' bad.out)" -eq 4

# ---- keep_updated with a file source ----
cp www/good.tar.gz upd.tar.gz
cat > upd.json <<JSON
{"dependencies": [{"name": "u", "version": "1", "source": "upd.tar.gz",
  "keep_updated": true, "destination": "out/upd"},
 {"name": "u", "version": "1", "source": "upd.tar.gz",
  "keep_updated": true, "link": "copy", "destination": "out/updcopy"}]}
JSON
"$D" deploy upd.json --cache "$C" > u1.out
check "keep_updated: first fetch" contains u1.out ": fetched "
"$D" deploy upd.json --cache "$C" > u2.out
check "keep_updated: unchanged source" contains u2.out ": up to date "
python3 -c '
import io, tarfile
with tarfile.open("upd.tar.gz", "w:gz") as t:
    d = b"#!/bin/sh\necho tool v2\n"; ti = tarfile.TarInfo("bin/tool"); ti.size = len(d); ti.mode = 0o755
    t.addfile(ti, io.BytesIO(d))'
"$D" deploy upd.json --cache "$C" > u3.out
check "keep_updated: changed source is re-fetched" contains u3.out ": updated "
check "the destination sees the new version" test "$(sh out/upd/bin/tool)" = "tool v2"
# same size and (archive) mtime as v1: a copy must not be skipped
check "a copied destination gets the new version too" test "$(sh out/updcopy/bin/tool)" = "tool v2"

# ---- keep_updated over http: a conditional GET ----
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd www && exec python3 -m http.server --bind 127.0.0.1 "$PORT") >/dev/null 2>http.log &
T_PIDS="$T_PIDS $!"
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))" 2>/dev/null || [ $i -gt 100 ]; do
	sleep 0.05; i=$((i + 1))
done
cat > http.json <<JSON
{"dependencies": [{"name": "h", "version": "1", "platform": "linux",
  "source": "http://127.0.0.1:$PORT/good.tar.gz", "keep_updated": true,
  "destination": "out/http"}]}
JSON
"$D" deploy http.json --cache "$C" > h1.out 2>h1.err
check "http fetch" contains h1.out ": fetched "
"$D" deploy http.json --cache "$C" > h2.out
check "http keep_updated: not modified" contains h2.out ": up to date "
check "the server answered 304 to the re-check" test "$(grep -c '"GET /good.tar.gz HTTP/1.1" 304' http.log)" -eq 1
check "only one full download" test "$(grep -c '"GET /good.tar.gz HTTP/1.1" 200' http.log)" -eq 1
sed "s|good.tar.gz|missing.tar.gz|; s/\"1\"/\"2\"/" http.json > h404.json
"$D" deploy h404.json --cache "$C" 2>h404.err
check "http errors are reported" contains h404.err "404"

# ---- the CAS store as a source ----
mkdir -p casin
cp www/good.tar.gz casin/
"$D" attach upload casin --store store >/dev/null
cat > cas.json <<JSON
{"dependencies": [{"name": "c", "version": "1", "source": "cas:store",
  "hash": "xxh128:$(hash www/good.tar.gz)", "unpack": "tar.gz",
  "destination": "out/cas"}]}
JSON
"$D" deploy cas.json --cache "$C" > cas.out 2>cas.err
check "deploy from the CAS store" test $? -eq 0
check "cas content" test "$(sh out/cas/bin/tool)" = "tool v1"

# ---- malicious archives ----
refuse() {	# refuse NAME SOURCE UNPACK EXPECTED-TEXT [deploy options]
	name=$1 src=$2 kind=$3 want=$4
	shift 4
	printf '{"dependencies": [{"name": "%s", "version": "1", "source": "%s", "unpack": "%s", "destination": "out/%s"}]}\n' \
	    "$name" "$src" "$kind" "$name" > "$name.json"
	"$D" deploy "$name.json" --cache "$C" "$@" > "$name.out" 2> "$name.err"
	rc=$?
	if [ $rc -eq 1 ] && contains "$name.err" "$want" && [ ! -e "$C/local/any/$name/1" ]; then
		ok "$name refused: $want"
	else
		not_ok "$name refused: $want (rc $rc)"; cat "$name.err"
	fi
}
refuse traversal www/traversal.tar.gz tar.gz "refusing entry '../outside.txt': it has a '..' component (path traversal)"
refuse absolute www/absolute.tar tar "refusing entry '/tmp/drover-e2e-absolute-evil': it has an absolute path"
refuse symlink www/symlink.tar.gz tar.gz "symbolic link 'link' -> '../../outside' points outside the destination"
refuse symabs www/symabs.tar tar "symbolic link 'etc' -> '/etc' points outside the destination"
refuse device www/device.tar tar "entry 'null' is a device file"
refuse bomb www/bomb.tar.gz tar.gz "expands beyond the limit of 1048576 bytes (archive bomb?)" --max-size 1M
refuse zipslip www/traversal.zip zip "refusing entry '../zip-outside.txt'"
refuse zipabs www/absolute.zip zip "refusing entry '/tmp/drover-e2e-zip-absolute-evil': it has an absolute path"
refuse zipbomb www/bomb.zip zip "archive bomb" --max-size 1M
check "nothing escaped the cache" test ! -e "$T_TMP/outside.txt" -a ! -e "$C/outside" -a ! -e "$T_TMP/outside" -a ! -e /tmp/drover-e2e-absolute-evil -a ! -e /tmp/drover-e2e-zip-absolute-evil -a ! -e "$C/local/any/zip-outside.txt"
check "no refused download left in downloading/" test "$(ls "$C/downloading" | wc -l)" -eq 0
check "refused dependencies deployed nothing" test ! -e out/traversal -a ! -e out/bomb
printf '{"dependencies": [{"name": "big", "version": "1", "source": "www/bomb.tar.gz", "max_unpacked_size": 1000, "destination": "out/big"}]}\n' > big.json
"$D" deploy big.json --cache "$C" 2>big.err
check "max_unpacked_size limits one dependency" contains big.err "limit of 1000 bytes"

# ---- the deployment file is checked with positions ----
printf '{"dependencies": [\n {"name": "x", "version": "1", "source": "a", "link": "glue", "destination": "d"}]}\n' > inval.json
"$D" deploy inval.json --cache "$C" 2>inval.err
check "invalid deployment file: exit 1" test $? -eq 1
check "error points at the line and field" contains inval.err "inval.json:2:"
check "error names the field" contains inval.err "dependencies[0].link: must be symlink, hardlink or copy"

# ---- cache ls and gc ----
"$D" cache ls --cache "$C" > ls.out
check "cache ls lists entries" contains ls.out "local/any/t/tgz"
"$D" cache ls --cache "$C" --json > ls.json
check "cache ls --json" python3 -c "import json; l = json.load(open('ls.json')); assert any(e['entry'] == 'local/any/t/zip' and e['complete'] for e in l)"
"$D" cache gc --cache "$C" --keep-days 1 > gc1.out
check "gc keeps recently used entries" test ! -s gc1.out -o "$(grep -c '^removed ' gc1.out)" -eq 0
touch -d '10 days ago' "$E/zip/drover-entry.json"
"$D" cache gc --cache "$C" --keep-days 5 --dry-run > gc2.out
check "gc --dry-run names the old entry" contains gc2.out "would remove local/any/t/zip"
check "gc --dry-run removes nothing" test -d "$E/zip"
"$D" cache gc --cache "$C" --keep-days 5 > gc3.out
check "gc removes entries unused for N days" test ! -e "$E/zip"
check "gc keeps the others" test -d "$E/tgz"
"$D" cache gc --help > gchelp.out
check "cache has a manual" contains gchelp.out "EXIT STATUS"
done_testing
