#!/bin/sh
# The example in examples/deploy: its deployment file deploys the example
# archive (built by make-hello-archive.py, whose hash the file pins) from
# a local HTTP mirror, the way the job's environment onEnter runs it.
. "$(dirname "$0")/lib.sh"

D=$DROVER_BIN
EX=$DROVER_SOURCE_DIR/examples/deploy
cd "$T_TMP" || exit 1
python3 "$EX/make-hello-archive.py" mirror/hello/hello-1.0.tar
check "example archive built" test -f mirror/hello/hello-1.0.tar
check "archive matches the hash pinned in deployment.json" contains "$EX/deployment.json" "xxh128:$(xxhsum -H2 mirror/hello/hello-1.0.tar 2>/dev/null | cut -d' ' -f1)"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
(cd mirror && exec python3 -m http.server --bind 127.0.0.1 "$PORT") >/dev/null 2>http.log &
T_PIDS="$T_PIDS $!"
i=0
until python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT))" 2>/dev/null || [ $i -gt 100 ]; do
	sleep 0.05; i=$((i + 1))
done

# what the environment's onEnter does, for two sessions at once
for s in 1 2; do
	mkdir -p session$s
	(cd session$s && DEPS_MIRROR=http://127.0.0.1:$PORT DEPS=$T_TMP/session$s/deps \
	    "$D" deploy "$EX/deployment.json" > ../deploy$s.out 2> ../deploy$s.err) &
	eval "p$s=\$!"
done
rc=0
wait $p1 || rc=1
wait $p2 || rc=1
check "both sessions deploy" test $rc -eq 0
# two cache entries (hello, hello-readme) use the archive: one GET each
check "each cache entry was downloaded once" test "$(grep -c 'GET /hello/hello-1.0.tar' http.log)" -eq 2
check "the tool runs from the deployment" contains deploy1.out "hello 1.0 (linux)"
out=$(PATH=$T_TMP/session2/deps/hello/bin:$PATH hello)
check "hello is on PATH after onEnter" test "${out#hello from a deployed dependency}" != "$out"
check "unpack none + copy keeps the archive" cmp -s mirror/hello/hello-1.0.tar session1/deps/archives/hello-1.0.tar
check "the job template runs drover deploy in onEnter" contains "$EX/job.yaml" "drover deploy '{{Param.DeploymentFile}}'"
if "$D" check --help >/dev/null 2>&1; then
	"$D" check "$EX/job.yaml" >check.out 2>&1
	check "the example job template is valid" test $? -eq 0
fi
# the whole job, if this build has a local runner: the environment's onEnter
# deploys, and the step finds the tool on PATH
if "$D" run --help >/dev/null 2>&1; then
	PATH=$(dirname "$D"):$PATH "$D" run -p DeploymentFile="$EX/deployment.json" \
	    -p DepsMirror="http://127.0.0.1:$PORT" "$EX/job.yaml" > run.out 2>&1
	check "the example job runs" test $? -eq 0
	check "its step ran the deployed tool" contains run.out "hello from a deployed dependency"
	check "the tool came from the shared cache" contains run.out "hello 1.0 (linux): cached"
fi
DEPS_MIRROR=http://127.0.0.1:$PORT DEPS=$T_TMP/dry "$D" deploy "$EX/deployment.json" --dry-run > dry.out
check "dry run of the example" contains dry.out "cached in"
done_testing
