#!/usr/bin/env bash
# renraku benchmarks: build (RelWithDebInfo, in build-bench/) and run them
# all, then print one table: name, measured, reference measured in the same
# run, ratio, design target.  See bench/README.md.
#
#   bench/run.sh [--full] [--only LIST] [--no-build]
#     --full       end to end with the design's 1,000,000 events from
#                  100,000 addresses (default 100,000 from 10,000)
#     --only LIST  comma-separated subset of: ingest,resolve,sign,maildir,smtp,inbound,e2e,rdap,serve,stats
#                  (serve needs wrk: apt-get install wrk)
#     --no-build   use build-bench/ as it is
#
# Sizes can be changed through the environment (RK_BENCH_INGEST_EVENTS,
# RK_BENCH_RESOLVE_ROWS, RK_BENCH_RESOLVE_LOOKUPS, RK_BENCH_SIGN_COUNT,
# RK_BENCH_MAILDIR_COUNT, RK_BENCH_SMTP_COUNT, RK_BENCH_E2E_EVENTS, RK_BENCH_E2E_ADDRS,
# RK_BENCH_E2E_NETWORKS).  Everything is offline; scratch data lives under
# one /tmp/rkbench.* directory that is removed (with its gpg-agents) at the
# end.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
build=$top/build-bench
only=ingest,resolve,sign,maildir,smtp,inbound,e2e,rdap,serve,stats
do_build=1

while [ $# -gt 0 ]; do
	case "$1" in
	--full)
		export RK_BENCH_E2E_EVENTS=${RK_BENCH_E2E_EVENTS:-1000000}
		export RK_BENCH_E2E_ADDRS=${RK_BENCH_E2E_ADDRS:-100000}
		# and the same events over ten times the networks (notices),
		# next to the sum of floors
		export RK_BENCH_E2E_WIDE_NETWORKS=${RK_BENCH_E2E_WIDE_NETWORKS:-10000}
		;;
	--only)
		[ $# -ge 2 ] || { echo "run.sh: --only needs a list" >&2; exit 2; }
		only=$2
		shift
		;;
	--no-build) do_build=0 ;;
	*)
		echo "usage: bench/run.sh [--full] [--only ingest,resolve,sign,maildir,smtp,inbound,e2e,rdap,serve,stats] [--no-build]" >&2
		exit 2
		;;
	esac
	shift
done

jobs=$(nproc 2>/dev/null || echo 2)
if [ "$do_build" = 1 ]; then
	args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DRK_TESTS=OFF -DRK_BENCH=ON
		-Wno-dev)
	# Until the top-level CMakeLists.txt adds bench/ (option RK_BENCH),
	# hook it in without touching that file.
	if grep -Eq 'add_subdirectory\((\$\{CMAKE_SOURCE_DIR\}/)?bench' CMakeLists.txt; then
		args+=(-UCMAKE_PROJECT_INCLUDE)
	else
		args+=(-DCMAKE_PROJECT_INCLUDE="$top/bench/wire.cmake")
	fi
	echo "== build (RelWithDebInfo) in build-bench/" >&2
	cmake -S . -B "$build" "${args[@]}" >/dev/null
	cmake --build "$build" -j "$jobs" --target bench_all >/dev/null
fi

# Where the executables landed (bench/ when added as a subdirectory,
# the top of the build tree when hooked in by wire.cmake).
bin=$build/bench
[ -x "$bin/bench_ingest" ] || bin=$build
[ -x "$bin/bench_ingest" ] || { echo "run.sh: no benchmarks in $build" >&2; exit 1; }

scratch=$(mktemp -d /tmp/rkbench.XXXXXX)
cleanup() {
	for home in "$scratch"/rkb.*/g; do
		[ -d "$home" ] && gpgconf --homedir "$home" --kill all >/dev/null 2>&1 || true
	done
	rm -rf "$scratch"
}
trap cleanup EXIT
export RK_BENCH_TMP=$scratch
results=$scratch/results
: >"$results"

cpu=$(grep -m1 '^model name' /proc/cpuinfo | sed 's/^model name[[:space:]]*:[[:space:]]*//' || true)
echo "== machine: $(nproc) CPUs, ${cpu:-unknown CPU}, $(uname -sr)"
echo "== libraries: jansson $(pkg-config --modversion jansson), sqlite $(pkg-config --modversion sqlite3), gpgme $(pkg-config --modversion gpgme), $(gpg --version | head -n 1)"

failed=()
for name in ingest resolve sign maildir smtp inbound e2e rdap serve stats; do
	case ",$only," in *",$name,"*) ;; *) continue ;; esac
	echo "== $name" >&2
	start=$(date +%s.%N)
	run=("$bin/bench_$name")
	# the service is measured from outside with wrk: a script
	[ "$name" = serve ] && run=(env "RENRAKU=$build/renraku" bash "$top/bench/bench_serve.sh")
	if ! "${run[@]}" >>"$results"; then
		failed+=("$name")
		echo "run.sh: bench_$name failed" >&2
	fi
	echo "   ($(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s)" >&2
done

echo
awk -F'|' '
	$1 == "RESULT" {
		n++
		for (i = 2; i <= 7; i++) {
			cell[n, i] = $i
			if (length($i) > w[i]) w[i] = length($i)
		}
	}
	$1 == "DETAIL" { detail[++d] = $2 }
	END {
		split("name|measured|reference (same run)|ratio|design target|verdict", h, "|")
		for (i = 2; i <= 7; i++) if (length(h[i - 1]) > w[i]) w[i] = length(h[i - 1])
		line = ""
		for (i = 2; i <= 7; i++) line = line sprintf("%-" w[i] "s  ", h[i - 1])
		print line
		line = ""
		for (i = 2; i <= 7; i++) { s = ""; for (j = 0; j < w[i]; j++) s = s "-"; line = line s "  " }
		print line
		for (r = 1; r <= n; r++) {
			line = ""
			for (i = 2; i <= 7; i++) line = line sprintf("%-" w[i] "s  ", cell[r, i])
			print line
		}
		if (d) print ""
		for (r = 1; r <= d; r++) print "  " detail[r]
	}' "$results"

if [ ${#failed[@]} -gt 0 ]; then
	echo "run.sh: failed: ${failed[*]}" >&2
	exit 1
fi
