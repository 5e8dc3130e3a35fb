#!/usr/bin/env bash
# bench/check_rows.sh BEFORE_BIN AFTER_BIN [EVENTS [WIDE]]
#
# Whether two renraku binaries store the same rows for the same input:
# each ingests, into a database of its own (both made by BEFORE_BIN's
# init), the bench's four generated inputs (rk_bench_gen: JSON lines, one
# JSON array, wide events, a Shadowserver scan_http CSV; EVENTS, default
# 200,000, and WIDE, default 100,000) one file a command, then the test
# fixtures (tests/fixtures: IntelMQ, Shadowserver, CSV with its mappings,
# IODEF, ARF) and the fuzz corpora of the ingest readers, one file a
# command so that every file is a report of its own.  Compared: every
# event with its data (SELECT e.*, d.data FROM events e LEFT JOIN
# event_data d ON d.id = e.id ORDER BY e.id), the reports, and what each
# command printed (`ingest --json`: counts and rejections) with its exit
# status.  The clock is fixed (--now), [ingest] max_age = 0 (the
# generated times are fixed), max_file = 4G.
#
# RK_BENCH_GEN: the generator (default build-bench/bench/rk_bench_gen);
# RK_CHECK_KEEP=1 keeps the scratch directory.  Exit 0 when identical.
set -euo pipefail

if [ $# -lt 2 ]; then
	echo "usage: $0 BEFORE_BIN AFTER_BIN [EVENTS [WIDE]]" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")/.." && pwd)
before=$(realpath "$1")
after=$(realpath "$2")
events=${3:-200000}
wide=${4:-100000}
gen=${RK_BENCH_GEN:-$here/build-bench/bench/rk_bench_gen}
now=2026-11-21T00:00:00Z

for b in "$before" "$after" "$gen"; do
	[ -x "$b" ] || { echo "check_rows: $b is not an executable" >&2; exit 2; }
done
command -v sqlite3 >/dev/null || { echo "check_rows: sqlite3 is needed" >&2; exit 2; }

work=$(mktemp -d "${TMPDIR:-/tmp}/rkcheckrows.XXXXXX")
if [ "${RK_CHECK_KEEP:-0}" != 1 ]; then
	trap 'rm -rf "$work"' EXIT
else
	echo "check_rows: scratch directory $work" >&2
fi

mkdir -p "$work/in" "$work/maps"
cp "$here"/tests/fixtures/csv/*.map "$work/maps/" 2>/dev/null || true
cat >"$work/renraku.conf" <<EOF
[ingest]
max_age = 0
max_file = 4G
csv_mappings = $work/maps
EOF

echo "check_rows: generating $events events ($wide wide)" >&2
"$gen" events --count "$events" --addresses 10000 "$work/in/lines.jsonl"
"$gen" events --count "$events" --form array "$work/in/array.json"
"$gen" events --count "$wide" --form wide "$work/in/wide.jsonl"
"$gen" events --count "$events" --form scan \
	"$work/in/2026-11-20-scan_http-x-asn.csv"

# The fuzz corpora as their harnesses read them: fuzz_shadowserver's
# first line is the report type, fuzz_csvmap's input a mapping, a line
# "---", then the CSV.
python3 - "$here/tests/fuzz/corpus" "$work/in/fuzz" <<'PY'
import os, sys
src, dst = sys.argv[1], sys.argv[2]
os.makedirs(dst, exist_ok=True)
with open(os.path.join(dst, "list"), "w") as out:
    for name in sorted(os.listdir(os.path.join(src, "fuzz_shadowserver"))):
        data = open(os.path.join(src, "fuzz_shadowserver", name), "rb").read()
        nl = data.find(b"\n")
        if nl < 0 or b"\0" in data[:nl] or b"\t" in data[:nl]:
            continue
        kind = data[:nl].decode("latin-1")
        path = os.path.join(dst, "ss-" + name)
        open(path, "wb").write(data[nl + 1:])
        out.write("shadowserver:%s\t%s\n" % (kind, path))
    for name in sorted(os.listdir(os.path.join(src, "fuzz_csvmap"))):
        data = open(os.path.join(src, "fuzz_csvmap", name), "rb").read()
        sep = data.find(b"\n---\n")
        if sep < 0:
            continue
        m = os.path.join(dst, "csv-" + name + ".map")
        open(m, "wb").write(data[:sep + 1])
        path = os.path.join(dst, "csv-" + name + ".csv")
        open(path, "wb").write(data[sep + 5:])
        out.write("csv:%s\t%s\n" % (m, path))
PY

# The inputs: FORMAT<TAB>FILE a line ("auto" lets the binary choose, as
# renraku ingest does by default), in groups of a database each (the
# array holds the lines' events: in one database they would all be
# duplicates).
for g in lines array wide scan; do
	case $g in
	lines) printf 'intelmq\t%s\n' "$work/in/lines.jsonl" ;;
	array) printf 'intelmq\t%s\n' "$work/in/array.json" ;;
	wide) printf 'intelmq\t%s\n' "$work/in/wide.jsonl" ;;
	scan) printf 'shadowserver\t%s\n' \
		"$work/in/2026-11-20-scan_http-x-asn.csv" ;;
	esac >"$work/inputs.$g"
done
{
	for d in intelmq shadowserver csv iodef arf; do
		[ -d "$here/tests/fixtures/$d" ] || continue
		find "$here/tests/fixtures/$d" -type f ! -name '*.map' | sort |
			sed 's/^/auto\t/'
	done
	c=$here/tests/fuzz/corpus/fuzz_intelmq
	[ -d "$c" ] && find "$c" -type f | sort | sed 's/^/intelmq\t/'
	cat "$work/in/fuzz/list"
} >"$work/inputs.fixtures"
groups="lines array wide scan fixtures"

run() { # run BIN NAME: every group into a database of its own
	local bin=$1 name=$2 t0 t1
	: >"$work/$name.out"
	: >"$work/$name.events"
	: >"$work/$name.reports"
	t0=$(date +%s.%N)
	for g in $groups; do
		local db=$work/$name.$g.db
		cp "$work/base.db" "$db"
		while IFS=$'\t' read -r fmt file; do
			local rc=0
			printf '== %s %s %s\n' "$g" "$fmt" "$file" >>"$work/$name.out"
			"$bin" --config "$work/renraku.conf" --db "$db" \
				--now "$now" -q ingest --json --format "$fmt" \
				"$file" >>"$work/$name.out" 2>/dev/null || rc=$?
			printf '\nexit %d\n' "$rc" >>"$work/$name.out"
		done <"$work/inputs.$g"
		sqlite3 -batch "$db" \
			"SELECT '$g', e.*, d.data FROM events e LEFT JOIN event_data d ON d.id = e.id ORDER BY e.id" \
			>>"$work/$name.events"
		sqlite3 -batch "$db" "SELECT '$g', * FROM reports ORDER BY id" \
			>>"$work/$name.reports"
		rm -f "$db" "$db-wal" "$db-shm"
	done
	t1=$(date +%s.%N)
	sed -i "s|$work/||g" "$work/$name.out" "$work/$name.reports"
	echo "check_rows: $name: $(wc -l <"$work/$name.events") event rows," \
		"$(wc -l <"$work/$name.reports") reports," \
		"$(grep -c '^== ' "$work/$name.out") files, $(echo "$t1 - $t0" | bc) s" >&2
}

"$before" --config "$work/renraku.conf" --db "$work/base.db" -q \
	init --from cert@example.org >/dev/null 2>&1 || true
[ -f "$work/base.db" ] || { echo "check_rows: init failed" >&2; exit 2; }
run "$before" before
run "$after" after

status=0
for what in events reports out; do
	if cmp -s "$work/before.$what" "$work/after.$what"; then
		echo "check_rows: $what identical ($(wc -l <"$work/after.$what") lines)"
	else
		echo "check_rows: $what DIFFER:"
		diff "$work/before.$what" "$work/after.$what" | head -20
		status=1
	fi
done
exit $status
