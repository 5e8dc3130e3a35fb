#!/usr/bin/env bash
# /metrics of renraku serve: well-formed Prometheus text (prom_check.py:
# HELP and TYPE for every family, label escaping, no series twice); every
# metric the service issue lists is there; the resolution cache hits and
# remote queries by contact source, summed over passes, agree with what
# an RDAP and a whois peer on loopback saw; and the counts /metrics shares with
# `renraku stats --json` (over all time, same database) are equal.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

command -v openssl >/dev/null || { echo "FAIL: openssl is missing" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 is missing" >&2; exit 1; }
PEERS="$RK_SOURCE_DIR/tests/peers"
PROM="$RK_SOURCE_DIR/tests/integration/prom_check.py"

# an RDAP registry on loopback for 198.51.100.0/24
bash "$PEERS/mkcert.sh" "$WORK/tls"
mkdir -p "$WORK/www"
cp "$RK_FIXTURES/rdap/ripe-ip-abuse.json" "$WORK/www/"
cat >"$WORK/www/routes.json" <<'ROUTES'
{"/rdap/ip/198.51.100.*": {"file": "ripe-ip-abuse.json",
   "headers": {"Content-Type": "application/rdap+json"}}}
ROUTES
start_peer "$PY" "$PEERS/https_server.py" --cert "$WORK/tls/server.pem" \
	--key "$WORK/tls/server.key" --routes "$WORK/www/routes.json" \
	--port-file "$WORK/rdap.port" 2>"$WORK/rdap.err"
wait_for_file "$WORK/rdap.port" "the RDAP peer" "$WORK/rdap.err"
RDAP="https://127.0.0.1:$(cat "$WORK/rdap.port")"
rdap_requests() {
	"$PY" -c '
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
print(json.load(urllib.request.urlopen(sys.argv[1] + "/__count", context=ctx))["total"])
' "$RDAP" "$WORK/tls/ca.pem"
}
mkdir -p "$WORK/bootstrap"
echo "{\"version\": \"1.0\", \"services\": [[[\"198.0.0.0/8\"], [\"$RDAP/rdap/\"]]]}" >"$WORK/bootstrap/ipv4.json"
for f in ipv6 asn dns; do echo '{"version": "1.0", "services": []}' >"$WORK/bootstrap/$f.json"; done

# a whois server on loopback (IANA referring 203.0.113.5 to JPNIC)
start_peer "$PY" "$RK_SOURCE_DIR/tests/integration/whois_peer.py" "$RK_FIXTURES/whois" \
	"$WORK/whois.ports" "$WORK/whois.log" 2>"$WORK/whois.err"
wait_for_file "$WORK/whois.ports" "the whois peer" "$WORK/whois.err"
wport() { json_get "$WORK/whois.ports" "d['$1']"; }
whois_queries() { if [ -f "$WORK/whois.log" ]; then wc -l <"$WORK/whois.log"; else echo 0; fi; }

conf="$WORK/renraku.conf"
contacts_with "$WORK/contacts" 'Org EN,192.0.2.0/24,noc@en.example,,,en,csv-attach,'
relay_conf "$conf" '[gpg]' 'mode = none' '[resolve]' 'sources = local, rdap, whois' \
	'bootstrap_dir = bootstrap' "ca_file = $WORK/tls/ca.pem" 'timeout = 5s' 'rate = 0' \
	"whois_server = 127.0.0.1:$(wport iana)" "whois_map = whois.nic.ad.jp=127.0.0.1:$(wport jpnic)"

db="$WORK/renraku.db"
R() { "$RENRAKU" --config "$conf" "$@"; }
q() { sqlite3 "$db" "$1"; }

check "init" R -q init
check "contacts import" R -q contacts import "$WORK/contacts"
SUBMIT=$(R tokens add sensor-1 --scope submit,read 2>/dev/null)
ADMIN=$(R tokens add operator --scope admin 2>/dev/null)

start_serve "$conf" --interval 1h
passes() { curl -s "$BASE/metrics" | sed -n 's/^renraku_passes_total \([0-9]*\)$/\1/p'; }
# submit BODY-FILE: POST it, then wait until the pass it woke is done
submit() {
	local before after i
	before=$(passes)
	status POST /v1/reports -H "Authorization: Bearer $SUBMIT" \
		-H 'Content-Type: application/x-ndjson' --data-binary @"$1" >"$WORK/submit.status"
	for i in $(seq 1 100); do
		after=$(passes)
		[ "$after" -gt "$before" ] && [ "$(q "SELECT count(*) FROM events WHERE state = 'new'")" -eq 0 ] && return 0
		sleep 0.1
	done
	echo "the pass after the submission did not end" >&2
	return 1
}
metrics() { curl -s -o "$1" "$BASE/metrics"; }
val() { # val FILE SERIES: its value in the parsed metrics, 0 when absent
	"$PY" "$PROM" "$1" --json | "$PY" -c 'import json,sys; print(int(json.load(sys.stdin).get(sys.argv[1], 0)))' "$2"
}

# pass 1: a local contact, one RDAP question, and an address only whois knows
{ event_line 192.0.2.10 GREEN; event_line 198.51.100.7 GREEN; event_line 203.0.113.5 GREEN; } >"$WORK/r1.jsonl"
check "first report accepted and passed" submit "$WORK/r1.jsonl"
check "202" test "$(cat "$WORK/submit.status")" = 202
asked=$(rdap_requests)
check "the RDAP peer was asked" test "$asked" -ge 1
metrics "$WORK/m1.txt"
check "/metrics is well-formed" "$PY" "$PROM" "$WORK/m1.txt"
check "rdap: remote queries = the requests the peer saw" test "$(val "$WORK/m1.txt" 'renraku_resolve_remote_queries_total{source="rdap"}')" -eq "$asked"
check "whois was asked (IANA, then JPNIC)" test "$(whois_queries)" -ge 2
check "whois: remote queries = the queries the peer saw" test "$(val "$WORK/m1.txt" 'renraku_resolve_remote_queries_total{source="whois"}')" -eq "$(whois_queries)"
check "whois: no cache, no hit" test "$(val "$WORK/m1.txt" 'renraku_resolve_cache_hits_total{source="whois"}')" -eq 0
check "rdap: no cache hit yet" test "$(val "$WORK/m1.txt" 'renraku_resolve_cache_hits_total{source="rdap"}')" -eq 0
check "local: lookups counted, never remote" bash -c "test $(val "$WORK/m1.txt" 'renraku_resolve_lookups_total{source="local"}') -ge 2 && test $(val "$WORK/m1.txt" 'renraku_resolve_remote_queries_total{source="local"}') -eq 0"

# pass 2 (a new resolver): another address of the same network comes from the cache
event_line 198.51.100.8 GREEN >"$WORK/r2.jsonl"
check "second report accepted and passed" submit "$WORK/r2.jsonl"
metrics "$WORK/m2.txt"
check "rdap: the cache answered, counted over both passes" test "$(val "$WORK/m2.txt" 'renraku_resolve_cache_hits_total{source="rdap"}')" -ge 1
check "rdap: no new question (the peer agrees)" test "$(rdap_requests)" -eq "$asked"
check "rdap: remote queries unchanged" test "$(val "$WORK/m2.txt" 'renraku_resolve_remote_queries_total{source="rdap"}')" -eq "$asked"
check "lookups summed over the passes" test "$(val "$WORK/m2.txt" 'renraku_resolve_lookups_total{source="local"}')" -gt "$(val "$WORK/m1.txt" 'renraku_resolve_lookups_total{source="local"}')"

# a ticket acknowledged and a report rejected: more states and statuses
T=$(ticket_of "$db" 192.0.2.10)
check "ack a ticket over the API" test "$(status POST "/v1/tickets/$T/ack" -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' --data-binary '{"status":"resolved"}')" = 200
status POST /v1/reports --data-binary x >/dev/null
status GET /nope >/dev/null

metrics "$WORK/m.txt"
check "/metrics is well-formed after the traffic" "$PY" "$PROM" "$WORK/m.txt"
# Debian's prometheus package has promtool: its lint too, when installed
# (prom_check.py above is the check that always runs)
if command -v promtool >/dev/null; then
	check "promtool check metrics" bash -c "promtool check metrics <'$WORK/m.txt'"
fi
check "served as the text format 0.0.4" bash -c "curl -sI '$BASE/metrics' | grep -qi '^Content-Type: text/plain; version=0.0.4'"
for fam in renraku_events_ingested renraku_events renraku_reports renraku_tickets \
	renraku_deliveries renraku_notices renraku_messages renraku_queue_age_seconds \
	renraku_delivery_total renraku_passes_total renraku_resolve_lookups_total \
	renraku_resolve_cache_hits_total renraku_resolve_remote_queries_total \
	renraku_http_requests_total; do
	check "family $fam has HELP and TYPE" bash -c "grep -q '^# HELP $fam ' '$WORK/m.txt' && grep -q '^# TYPE $fam ' '$WORK/m.txt'"
done
check "events ingested by format" test "$(val "$WORK/m.txt" 'renraku_events_ingested{format="intelmq"}')" -eq 4
check "tickets by state" test "$(val "$WORK/m.txt" 'renraku_tickets{state="resolved"}')" -eq 1
check "messages sent" test "$(val "$WORK/m.txt" 'renraku_deliveries{state="sent"}')" -ge 2
check "deferred and bounced are there (0)" bash -c "grep -q '^renraku_deliveries{state=\"deferred\"} 0$' '$WORK/m.txt' && grep -q '^renraku_deliveries{state=\"bounced\"} 0$' '$WORK/m.txt'"
check "queue ages" bash -c "grep -q '^renraku_queue_age_seconds{queue=\"messages\"} ' '$WORK/m.txt' && grep -q '^renraku_queue_age_seconds{queue=\"events\"} ' '$WORK/m.txt'"
check "HTTP requests by route and status" bash -c "grep -q '^renraku_http_requests_total{route=\"reports_post\",status=\"401\"} 1$' '$WORK/m.txt' && grep -q '^renraku_http_requests_total{route=\"other\",status=\"404\"} 1$' '$WORK/m.txt' && grep -q '^renraku_http_requests_total{route=\"ticket_ack\",status=\"200\"} 1$' '$WORK/m.txt'"

# the shared counts: /metrics and `renraku stats --json` over all time
metrics "$WORK/before.txt"
# all time: stats takes at most 120 months, and every row here is of today
R stats --json --since "$(date -u -d '-9 years' +%Y-%m-%d)" >"$WORK/stats.json"
metrics "$WORK/after.txt"
"$PY" "$PROM" "$WORK/after.txt" --json >"$WORK/after.json"
agree() {
	"$PY" - "$WORK/stats.json" "$WORK/after.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
m = json.load(open(sys.argv[2]))
def fam(name, label):
    p = name + "{" + label + '="'
    return {k[len(p):-2]: int(v) for k, v in m.items() if k.startswith(p)}
pairs = [
    ("reports", s["reports"], int(m["renraku_reports"])),
    ("events", s["events"], int(m["renraku_events"])),
    ("notices", s["notices"], int(m["renraku_notices"])),
    ("sent", s["delivery"]["sent"], int(m['renraku_deliveries{state="sent"}'])),
    ("deferred", s["delivery"]["deferred"], int(m['renraku_deliveries{state="deferred"}'])),
    ("bounced", s["delivery"]["bounced"], int(m['renraku_deliveries{state="bounced"}'])),
    ("suppressed", s["suppressed"], int(m['renraku_events_held{reason="suppressed"}'])),
    ("withheld", s["withheld"], int(m['renraku_events_held{reason="withheld"}'])),
    ("tickets by state", s["tickets_by_state"], fam("renraku_tickets", "state")),
    ("reports by format", s["reports_by_format"], fam("renraku_reports_by_format", "format")),
    ("events by format sum", s["events"], sum(fam("renraku_events_ingested", "format").values())),
]
bad = [(n, a, b) for n, a, b in pairs if a != b]
for n, a, b in bad:
    print(f"{n}: stats {a} /metrics {b}", file=sys.stderr)
sys.exit(1 if bad or not s["events"] else 0)
PY
}
check "/metrics did not change while stats ran" bash -c "diff <(grep -v '^renraku_http_requests_total\|^renraku_queue_age' '$WORK/before.txt') <(grep -v '^renraku_http_requests_total\|^renraku_queue_age' '$WORK/after.txt') >/dev/null"
check "/metrics and renraku stats --json agree on the shared counts" agree

stop_serve
finish
