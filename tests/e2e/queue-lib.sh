# Helpers for the queue's end-to-end tests (t3NNN-queue-*.sh), sourced
# after lib.sh.  Every daemon, worker and task started under this test's
# DROVER_HOME is stopped at exit: first `drover stop --now`, then SIGKILL
# to any process whose environment still names this DROVER_HOME.
q_cleanup() {
	timeout 30 "$DROVER_BIN" stop --now >/dev/null 2>&1
	q_kill_all
}
# q_kill_all: kill -9 of every process whose environment names this
# DROVER_HOME (the daemon, its session workers, their tasks)
q_kill_all() {
	for p in /proc/[0-9]*; do
		pid=${p#/proc/}
		[ "$pid" = "$$" ] && continue
		if { tr "\0" "\n" < "$p/environ"; } 2>/dev/null |
		    grep -qxF "DROVER_HOME=$DROVER_HOME"; then
			kill -9 "$pid" 2>/dev/null
		fi
	done
}
T_ON_EXIT=q_cleanup
D() { "$DROVER_BIN" "$@"; }
# q_field JSON_FILE PYTHON_EXPR: evaluates EXPR with j = the parsed file
q_field() { python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print($2)" "$1"; }
# q_job ID EXPR: EXPR over `drover show --json ID`
q_job() {
	D show --json "$1" > "$T_TMP/show.json" || return 1
	q_field "$T_TMP/show.json" "$2"
}
q_state() { q_job "$1" 'j["state"]'; }
# q_until SECONDS CMD...: runs CMD every 50 ms until it succeeds
q_until() {
	n=$(($1 * 20)); shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.05
		n=$((n - 1))
	done
	return 1
}
# q_tmpl FILE NAME STEP_SCRIPT... writes a one-step job template whose
# task runs /bin/sh -c SCRIPT for each task index in 0..N-1 (param N).
q_sh_job() {
	f=$1 name=$2 n=$3 script=$4
	cat > "$f" <<EOT
specificationVersion: jobtemplate-2023-09
name: $name
steps:
  - name: S
    parameterSpace:
      taskParameterDefinitions:
        - name: I
          type: INT
          range: "0-$((n - 1))"
    script:
      actions:
        onRun:
          command: /bin/sh
          args: ['-c', '$script', 'task', '{{Task.Param.I}}']
EOT
}
