#!/usr/bin/env bash
# Same input, two renraku binaries, the same notices?
#
#   bench/check_notices.sh BEFORE_BIN AFTER_BIN [EVENTS [ADDRESSES [NETWORKS]]]
#
# Generates a constituency and IntelMQ events with rk_bench_gen (the
# bench's data: default 100,000 events from 10,000 addresses in 1,000
# networks; the issue's check is 1000000 100000 1000), then for each
# binary: a fresh home (init --gen-key, contacts import, ingest, run
# --once --offline into a maildir), and compares the two maildirs with
# bench/compare_notices.py (apart from dates, Message-IDs, tokens and
# signatures).  Exit 0 when identical.  RK_BENCH_GEN: the generator
# (default build-bench/bench/rk_bench_gen).  Scratch under /tmp,
# removed at the end (the gpg-agents it started are stopped).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
[ $# -ge 2 ] || { sed -n 2,14p "$0" >&2; exit 2; }
before=$(realpath "$1")
after=$(realpath "$2")
events=${3:-100000}
addrs=${4:-10000}
networks=${5:-1000}
gen=${RK_BENCH_GEN:-$top/build-bench/bench/rk_bench_gen}
[ -x "$gen" ] || { echo "check_notices: no generator at $gen (bench/run.sh builds it)" >&2; exit 1; }

scratch=$(mktemp -d /tmp/rkcheck.XXXXXX)
cleanup() {
	for home in "$scratch"/*/g; do
		[ -d "$home" ] && gpgconf --homedir "$home" --kill all >/dev/null 2>&1 || true
	done
	rm -rf "$scratch"
}
trap cleanup EXIT

"$gen" contacts --networks "$networks" "$scratch/contacts" >/dev/null
"$gen" events --count "$events" --addresses "$addrs" --networks "$networks" "$scratch/events.jsonl" >/dev/null

for side in before after; do
	bin=$before
	[ $side = after ] && bin=$after
	home=$scratch/$side
	mkdir -p "$home"
	cat >"$home/r.conf" <<EOF
[relay]
name = Bench CSIRT
from = csirt@bench.example
ticket_prefix = BENCH
public_url = https://bench.example/renraku
templates = $top/templates

[store]
path = $home/r.db

[gpg]
home = $home/g
mode = pgp-mime

[transport]
url = maildir:$home/md

[resolve]
sources = local

[aggregate]
window = 0
EOF
	"$bin" --config "$home/r.conf" -q init --gen-key >/dev/null
	"$bin" --config "$home/r.conf" -q contacts import "$scratch/contacts" >/dev/null
	"$bin" --config "$home/r.conf" -q ingest "$scratch/events.jsonl" >/dev/null
	start=$(date +%s.%N)
	"$bin" --config "$home/r.conf" -q run --once --offline >"$home/run.out"
	echo "check_notices: $side: run --once $(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s: $(grep -E '^notices' "$home/run.out")"
done
/usr/bin/python3 "$top/bench/compare_notices.py" "$scratch/before/md" "$scratch/after/md"
