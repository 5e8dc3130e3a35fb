#!/usr/bin/env bash
# bench_serve: `renraku serve` under wrk on 127.0.0.1, in one run:
#   POST /v1/reports with a 100-event IntelMQ body (each request a new
#   report: a wrk Lua script numbers the events), GET /v1/tickets/{id},
#   GET /v1/tickets?limit=100 (the first page of 501 tickets), GET
#   /metrics, and the bare GET /healthz (the HTTP floor); requests/s and
#   p99.
#   The reference for submissions is the CLI: `renraku ingest` of the
#   same body, per report (process start included), measured in the same
#   run; the target: the server's time per report (1/rate) <= the CLI's
#   time per report + the healthz time per request.
# Output: RESULT|... and DETAIL|... lines for bench/run.sh.
# Needs: wrk (Debian package), curl, sqlite3; RENRAKU (the binary).
set -euo pipefail
: "${RENRAKU:?RENRAKU must point at the renraku binary}"
command -v wrk >/dev/null || { echo "bench_serve: wrk is missing (apt-get install wrk)" >&2; exit 1; }
dir=$(mktemp -d "${RK_BENCH_TMP:-/tmp}/serve.XXXXXX")
dur=${RK_BENCH_SERVE_SECONDS:-5}
conns=${RK_BENCH_SERVE_CONNECTIONS:-8}
pid=
trap '[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"' EXIT
cd "$dir"
mkdir contacts
printf '%s\n' 'org,match,email,cc,pgp,lang,format,notes' \
	'Bench,10.0.0.0/8,abuse@bench.example,,,en,csv-attach,' >contacts/constituency.csv
# 500 more contacts, one address each: 500 tickets for the list to page
n_list=500
for i in $(seq 1 $n_list); do
	echo "Bench $i,10.1.$((i / 250)).$((i % 250 + 1))/32,abuse$i@bench.example,,,en,csv-attach,"
done >>contacts/constituency.csv
echo 'country,team,email,pgp,lang' >contacts/national-csirts.csv
echo 'match,type,until,reason' >contacts/suppress.csv
cat >renraku.conf <<CONF
[relay]
name = Bench CSIRT
from = csirt@bench.example
ticket_prefix = BENCH
[gpg]
mode = none
[transport]
url = maildir:outbox
[aggregate]
window = 0
[resolve]
sources = local
[http]
rate = 0
max_connections = 1024
CONF
R() { "$RENRAKU" --config renraku.conf "$@"; }
R -q init >/dev/null 2>&1
R -q contacts import contacts >/dev/null 2>&1
token=$(R tokens add bench --scope submit,read 2>/dev/null)
# the body: 100 events, ~250 bytes each.  The ticket read is the warm-up
# report's (10/8, one contact: 100 events); the CLI and the POST load use
# 172.16/16, which has no contact, so that ticket stays as it is.
body() { # body N [FIRST-OCTET]: the events numbered N
	for i in $(seq 0 99); do
		if [ "${2:-172}" = 10 ]; then
			ip="10.0.$((i % 50)).$((i % 200 + 1))"
		else
			ip="172.16.$((i % 50)).$((i % 200 + 1))"
		fi
		printf '{"time.source":"2026-11-30T09:00:00Z","source.ip":"%s","classification.type":"infected-system","tlp":"GREEN","feed.name":"bench","extra.n":"%s-%d"}\n' \
			"$ip" "$1" "$i"
	done
}
body warm 10 >warm.jsonl
for i in $(seq 1 $n_list); do
	printf '{"time.source":"2026-11-30T09:00:00Z","source.ip":"10.1.%d.%d","classification.type":"infected-system","tlp":"GREEN","feed.name":"bench"}\n' \
		$((i / 250)) $((i % 250 + 1))
done >list.jsonl
R -q ingest list.jsonl >/dev/null 2>&1
R -q run --once --offline >/dev/null 2>&1
# reference: the CLI, one report per process
n_cli=30
for k in $(seq 1 $n_cli); do body "cli-$k" >"cli-$k.jsonl"; done
t0=$(date +%s.%N)
for k in $(seq 1 $n_cli); do R -q ingest "cli-$k.jsonl" >/dev/null 2>&1; done
t1=$(date +%s.%N)
cli_ms=$(awk -v a="$t0" -v b="$t1" -v n=$n_cli 'BEGIN { printf "%.2f", (b - a) * 1000 / n }')

"$RENRAKU" --config renraku.conf serve --listen 127.0.0.1:0 --interval 1h 2>serve.log &
pid=$!
port=
for i in $(seq 1 100); do
	port=$(sed -n 's/.*(port \([0-9]*\)[,)].*/\1/p' serve.log | head -1)
	[ -n "$port" ] && break
	sleep 0.1
done
[ -n "$port" ] || { echo "bench_serve: serve did not start" >&2; cat serve.log >&2; exit 1; }
base=http://127.0.0.1:$port
# one ticket to read
curl -s -o /dev/null -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
	--data-binary @warm.jsonl "$base/v1/reports"
for i in $(seq 1 50); do
	tid=$(sqlite3 renraku.db "SELECT id FROM tickets WHERE contact = 'abuse@bench.example' LIMIT 1")
	[ -n "$tid" ] && break
	sleep 0.1
done
[ -n "$tid" ] || { echo "bench_serve: no ticket" >&2; exit 1; }

cat >post.lua <<'LUA'
local n = 0
local thread_id = tostring(math.random(1, 1e9))
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("RK_TOKEN")
request = function()
	n = n + 1
	local lines = {}
	for i = 0, 99 do
		lines[#lines + 1] = string.format('{"time.source":"2026-11-30T09:00:00Z","source.ip":"172.16.%d.%d","classification.type":"infected-system","tlp":"GREEN","feed.name":"bench","extra.n":"%s-%d-%d"}',
			i % 50, i % 200 + 1, thread_id, n, i)
	end
	return wrk.format(nil, "/v1/reports", nil, table.concat(lines, "\n") .. "\n")
end
LUA
# run_wrk NAME ARGS...: "rps p99_ms" of one wrk run
run_wrk() {
	local out
	out=$(RK_TOKEN=$token wrk -t2 -c"$conns" -d"${dur}s" --latency "$@" 2>&1)
	echo "$out" >>wrk.log
	awk '
		function ms(v) { if (v ~ /us$/) return v / 1000; if (v ~ /ms$/) return v + 0; if (v ~ /s$/) return v * 1000; return v }
		/Requests\/sec:/ { rps = $2 }
		$1 == "99%" { p99 = ms($2) }
		/Non-2xx/ { bad = $NF }
		END { printf "%.0f %.2f %s\n", rps, p99, bad ? bad : 0 }' <<<"$out"
}
read -r h_rps h_p99 h_bad < <(run_wrk "$base/healthz")
read -r p_rps p_p99 p_bad < <(run_wrk -s post.lua "$base/v1/reports")
read -r t_rps t_p99 t_bad < <(run_wrk -H "Authorization: Bearer $token" "$base/v1/tickets/$tid")
read -r l_rps l_p99 l_bad < <(run_wrk -H "Authorization: Bearer $token" "$base/v1/tickets?limit=100")
events_at_scrape=$(sqlite3 renraku.db "SELECT count(*) FROM events")
read -r m_rps m_p99 m_bad < <(run_wrk "$base/metrics")
read -r h2_rps h2_p99 h2_bad < <(run_wrk "$base/healthz")
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
# the time one report costs the server (1 / rate: requests are served
# one at a time on the database) against what one CLI ingest costs, plus
# the HTTP floor's time per request
p_ms=$(awk -v r="$p_rps" 'BEGIN { printf "%.2f", (r > 0 ? 1000 / r : 0) }')
h_ms=$(awk -v r="$h_rps" 'BEGIN { printf "%.3f", (r > 0 ? 1000 / r : 0) }')
events=$(sqlite3 renraku.db "SELECT count(*) FROM events")
verdict=$(awk -v p="$p_ms" -v c="$cli_ms" -v h="$h_ms" 'BEGIN { print (p <= c + h) ? "ok" : "SLOW" }')
echo "RESULT|serve POST /v1/reports (100 events)|${p_rps} req/s, p99 ${p_p99} ms|CLI ingest ${cli_ms} ms/report + healthz ${h_ms} ms|$(awk -v p="$p_ms" -v c="$cli_ms" -v h="$h_ms" 'BEGIN { printf "%.2f", p / (c + h) }')|<= 1.00 (time per report vs CLI + HTTP floor)|$verdict"
echo "RESULT|serve GET /v1/tickets/{id}|${t_rps} req/s, p99 ${t_p99} ms|healthz ${h_rps} req/s, p99 ${h_p99} ms|$(awk -v a="$t_rps" -v b="$h_rps" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }')|(no target)|-"
echo "RESULT|serve GET /v1/tickets?limit=100 (one page, store keyset query)|${l_rps} req/s, p99 ${l_p99} ms|healthz ${h_rps} req/s, p99 ${h_p99} ms|$(awk -v a="$l_rps" -v b="$h_rps" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')|(no target)|-"
echo "RESULT|serve GET /metrics (${events_at_scrape} events stored)|${m_rps} req/s, p99 ${m_p99} ms|healthz ${h_rps} req/s, p99 ${h_p99} ms|$(awk -v a="$m_rps" -v b="$h_rps" 'BEGIN { printf "%.4f", (b > 0 ? a / b : 0) }')|(no target; a scrape every 15 s)|-"
echo "DETAIL|serve: $conns connections, 2 wrk threads, ${dur}s each; healthz again after: ${h2_rps} req/s, p99 ${h2_p99} ms; non-2xx: post ${p_bad}, ticket ${t_bad}, list ${l_bad}, metrics ${m_bad}, healthz ${h_bad}; ${events} events stored; SIGTERM exit ${rc}"
echo "DETAIL|serve: POST ${p_ms} ms of server time per 100-event report (1/rate; the scheduler's passes the submissions wake share the cores), CLI ${cli_ms} ms per report (process start, open, ingest)"
