#!/bin/sh
# Dependency cache locking: 8 processes deploy one dependency served by a
# local HTTP server (python3's http.server on 127.0.0.1, free port, request
# log) and it is downloaded exactly once; a lock left by a killed process is
# broken; a lock held from another host times out cleanly.
. "$(dirname "$0")/lib.sh"

D=$DROVER_BIN
cd "$T_TMP" || exit 1
mkdir -p www pkg/bin pkg/lib
printf '#!/bin/sh\necho hello from the dependency\n' > pkg/bin/hello
chmod 755 pkg/bin/hello
head -c 300000 /dev/urandom > pkg/lib/data.bin
python3 -c '
import tarfile
with tarfile.open("www/dep.tar.gz", "w:gz") as t:
    t.add("pkg/bin", arcname="bin")
    t.add("pkg/lib", arcname="lib")
'
HASH=$(xxhsum -H2 www/dep.tar.gz 2>/dev/null | cut -d' ' -f1)

cat > server.py <<'PY'
# http.server on a free port; logs "METHOD path status" per request.
# /slow/X is served slowly; /stall-once/X stalls on its first request.
import http.server, os, sys, threading, time
log = open(sys.argv[1], "a", buffering=1)
stalled = set()
lock = threading.Lock()
class H(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass
    def do_GET(self):
        path = self.path
        log.write("GET %s\n" % path)
        for prefix in ("/slow/", "/stall-once/"):
            if path.startswith(prefix):
                data = open("www/" + path[len(prefix):], "rb").read()
                with lock:
                    stall = prefix == "/stall-once/" and path not in stalled
                    stalled.add(path)
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data[:1000]); self.wfile.flush()
                    time.sleep(60 if stall else 0.7)
                    self.wfile.write(data[1000:])
                except OSError:
                    pass
                return
        self.path = "/www" + path
        super().do_GET()
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
srv.daemon_threads = True
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(srv.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
srv.serve_forever()
PY
python3 server.py requests.log port &
T_PIDS="$T_PIDS $!"
i=0
while [ ! -s port ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i + 1)); done
PORT=$(cat port)
check "HTTP server listening" test -n "$PORT"

cat > dep.json <<JSON
{
  "formatVersion": 1,
  "dependencies": [
    {"name": "hello", "version": "1.0", "platform": "linux",
     "source": "http://127.0.0.1:$PORT/slow/dep.tar.gz",
     "hash": "xxh128:$HASH",
     "destination": "\$DEST/hello"}
  ]
}
JSON

for i in 1 2 3 4 5 6 7 8; do
	DEST=$T_TMP/dest$i "$D" deploy dep.json --cache cache > out$i 2>err$i &
	eval "p$i=\$!"
done
rc=0
for i in 1 2 3 4 5 6 7 8; do eval "wait \$p$i" || rc=1; done
check "all 8 deployers succeed" test $rc -eq 0
check "the dependency was downloaded exactly once" test "$(grep -c 'GET /slow/dep.tar.gz' requests.log)" -eq 1
check "one process fetched it" test "$(cat out* | grep -c ': fetched ')" -eq 1
check "seven found it cached" test "$(cat out* | grep -c ': cached ')" -eq 7
bad=0
for i in 1 2 3 4 5 6 7 8; do
	cmp -s pkg/lib/data.bin dest$i/hello/lib/data.bin || bad=1
	[ "$(sh dest$i/hello/bin/hello)" = "hello from the dependency" ] || bad=1
done
check "all 8 destinations are correct" test $bad -eq 0
check "entry in the cache layout" test -f cache/127.0.0.1/linux/hello/1.0/drover-entry.json
check "info file records the hash" contains cache/127.0.0.1/linux/hello/1.0/drover-entry.json "xxh128:$HASH"
check "no lock left behind" test ! -e cache/127.0.0.1/linux/hello/1.0.lock
check "nothing left in downloading/" test "$(ls cache/downloading | wc -l)" -eq 0

# a deployer killed while holding the lock
sed -e 's/"1.0"/"2.0"/' -e 's|/slow/|/stall-once/|' dep.json > dep2.json
DEST=$T_TMP/k "$D" deploy dep2.json --cache cache >/dev/null 2>kill.err &
victim=$!
i=0
while [ ! -e cache/127.0.0.1/linux/hello/2.0.lock ] && [ $i -lt 400 ]; do
	sleep 0.05; i=$((i + 1))
done
check "the victim holds the lock" contains cache/127.0.0.1/linux/hello/2.0.lock "::$victim"
kill -9 $victim
wait $victim 2>/dev/null
DEST=$T_TMP/k2 "$D" deploy dep2.json --cache cache --lock-timeout 30 > after.out 2>after.err
check "the next deployer succeeds" test $? -eq 0
check "it broke the stale lock" contains after.err "broke stale lock"
check "and fetched the dependency" contains after.out ": fetched "
check "deployed content is correct" cmp -s pkg/lib/data.bin k2/hello/lib/data.bin
check "the victim's partial download is left in downloading/" test "$(ls cache/downloading | wc -l)" -eq 1
"$D" cache gc --keep-days 365 --cache cache > gc.out
check "cache gc removes the dead process's leftovers" contains gc.out "removed downloading/"
check "downloading/ is empty" test "$(ls cache/downloading | wc -l)" -eq 0
check "gc kept the recently used entries" contains gc.out "0 entries removed"

# a lock held from another host: waited for, then a clean timeout
sed -e 's/"1.0"/"3.0"/' dep.json > dep3.json
mkdir -p cache/127.0.0.1/linux/hello
printf 'some-other-host::12345\n' > cache/127.0.0.1/linux/hello/3.0.lock
start=$(date +%s)
DEST=$T_TMP/f "$D" deploy dep3.json --cache cache --lock-timeout 1 > foreign.out 2>foreign.err
rc=$?
end=$(date +%s)
check "foreign-host lock: deploy fails" test $rc -eq 1
check "after about the timeout" test $((end - start)) -le 10
check "message says it timed out" contains foreign.err "timed out after 1 s waiting for lock"
check "message names the holder" contains foreign.err "some-other-host::12345"
check "the foreign lock is not broken" contains cache/127.0.0.1/linux/hello/3.0.lock "some-other-host::12345"
check "nothing was downloaded for it" test "$(grep -c 'GET /slow/dep.tar.gz' requests.log)" -eq 1
DROVER_LOCK_TIMEOUT=0.2 DEST=$T_TMP/f "$D" deploy dep3.json --cache cache >/dev/null 2>foreign2.err
check "DROVER_LOCK_TIMEOUT sets the default" contains foreign2.err "timed out after 0 s"
"$D" cache ls --cache cache > ls.out
check "cache ls shows the lock holder" contains ls.out "locked by some-other-host::12345"
done_testing
