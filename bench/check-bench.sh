#!/bin/sh
# drover check: whole-process time per template over the OpenJD samples and
# the base conformance templates, against the floor any Python validator
# pays (python3 starting and yaml.safe_load of the same file), interleaved
# in the same run.  Target: under 5 ms per template.
set -eu
: "${DROVER_BIN:?}"
ROUNDS=${ROUNDS:-5}
files=$(ls "$DROVER_SHARED"/conformance/openjd-samples/v2023-09/*/*.yaml)
n=$(echo "$files" | wc -l)

now() { date +%s%N; }
t_drover=0
t_py=0
has_yaml=0
/usr/bin/python3 -c 'import yaml' 2>/dev/null && has_yaml=1
for r in $(seq "$ROUNDS"); do
	for f in $files; do
		a=$(now)
		"$DROVER_BIN" check "$f" >/dev/null 2>&1 || true
		b=$(now)
		t_drover=$((t_drover + b - a))
		if [ $has_yaml = 1 ]; then
			a=$(now)
			/usr/bin/python3 -c 'import sys, yaml; yaml.safe_load(open(sys.argv[1]))' "$f"
			b=$(now)
			t_py=$((t_py + b - a))
		fi
	done
done
runs=$((ROUNDS * n))
echo "drover check: $runs runs over $n templates: $((t_drover / runs / 1000)) us per template (target < 5000 us)"
if [ $has_yaml = 1 ]; then
	echo "python3 yaml.safe_load only: $((t_py / runs / 1000)) us per template"
	awk -v d="$t_drover" -v p="$t_py" 'BEGIN { printf "ratio: drover check is %.1fx faster than just loading the YAML in Python\n", p / d }'
fi
