#!/usr/bin/env bash
# RDAP against a real HTTPS peer on loopback (a throwaway CA): the sample
# registry shapes, a redirect between registries, 429 with Retry-After,
# 404, garbage, a body over the limit, a 503, a server that never answers;
# the cache by range (a second address of a resolved network asks
# nothing), levels 0/1/2 with their sources, and the whole pipeline
# notifying the address RDAP named.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { echo "FAIL: openssl is missing" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 is missing" >&2; exit 1; }
FIX="$RK_FIXTURES/rdap"
PEERS="$RK_SOURCE_DIR/tests/peers"

bash "$PEERS/mkcert.sh" "$WORK/tls"
mkdir -p "$WORK/www"
cp "$FIX"/*.json "$WORK/www/"
cat >"$WORK/www/routes.json" <<'ROUTES'
{
 "/rdap/ip/198.51.100.*": {"file": "ripe-ip-abuse.json",
   "headers": {"Content-Type": "application/rdap+json"}},
 "/rdap/ip/192.0.2.*": {"file": "arin-originas.json"},
 "/rdap/ip/203.0.113.*": {"file": "apnic-ip-irt-national.json"},
 "/rdap/autnum/64500": {"file": "autnum-64500.json"},
 "/rdap/domain/evil-shop.example": {"file": "domain-registrar.json"},
 "/arin/ip/198.18.0.5": {"status": 302,
   "headers": {"Location": "{base}/ripe/ip/198.18.0.5"}},
 "/ripe/ip/198.18.0.5": {"file": "moved-ripe.json"},
 "/busy/ip/100.64.0.1": {"sequence": [
   {"status": 429, "file": "error-429.json", "headers": {"Retry-After": "4"}},
   {"status": 200, "file": "cgn.json"}]},
 "/busy/ip/100.64.1.1": {"sequence": [
   {"status": 429, "headers": {"Retry-After": "4"}},
   {"status": 200, "file": "cgn.json"}]},
 "/rdap/ip/100.66.0.1": {"status": 200, "body": "<html>garbage</html>"},
 "/rdap/ip/100.67.0.1": {"status": 200, "size": 3000000},
 "/rdap/ip/100.68.0.1": {"hang": true},
 "/rdap/ip/100.69.0.1": {"status": 503, "body": "busy"},
 "/iana/ipv4.json": {"file": "iana/ipv4.json"},
 "/iana/ipv6.json": {"file": "iana/ipv6.json"},
 "/iana/asn.json": {"file": "iana/asn.json"},
 "/iana/dns.json": {"file": "iana/dns.json"}
}
ROUTES
"$PY" "$PEERS/https_server.py" --cert "$WORK/tls/server.pem" \
	--key "$WORK/tls/server.key" --routes "$WORK/www/routes.json" \
	--port-file "$WORK/port" 2>"$WORK/server.err" &
SERVER=$!
trap 'rc=$?; kill $SERVER 2>/dev/null || true; (exit $rc); cleanup_work' EXIT
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
[ -s "$WORK/port" ] || { cat "$WORK/server.err" >&2; echo "FAIL: peer did not start" >&2; exit 1; }
PORT=$(cat "$WORK/port")
BASE="https://127.0.0.1:$PORT"
count() { # count PATH: requests the peer saw for PATH (all when empty)
	"$PY" -c '
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
d = json.load(urllib.request.urlopen(sys.argv[1] + "/__count", context=ctx))
print(d["total"] if not sys.argv[3] else d["paths"].get(sys.argv[3], 0))
' "$BASE" "$WORK/tls/ca.pem" "${1:-}"
}

# The bootstrap names the peer for every registry.
mkdir -p "$WORK/bootstrap"
cat >"$WORK/bootstrap/ipv4.json" <<JSON
{"version": "1.0", "publication": "2026-11-20T00:00:00Z", "services": [
 [["192.0.0.0/8", "198.0.0.0/8", "203.0.0.0/8", "100.64.0.0/10"], ["$BASE/rdap/"]],
 [["198.18.0.0/15"], ["http://127.0.0.1:1/insecure/", "$BASE/arin/"]],
 [["100.64.0.0/16"], ["$BASE/busy/"]]]}
JSON
cat >"$WORK/bootstrap/ipv6.json" <<JSON
{"version": "1.0", "services": [[["2001:db8::/32"], ["$BASE/rdap/"]]]}
JSON
cat >"$WORK/bootstrap/asn.json" <<JSON
{"version": "1.0", "services": [[["64496-64511"], ["$BASE/rdap/"]]]}
JSON
cat >"$WORK/bootstrap/dns.json" <<JSON
{"version": "1.0", "services": [[["example"], ["$BASE/rdap/"]]]}
JSON
mkdir -p "$WORK/contacts"
cat >"$WORK/contacts/national-csirts.csv" <<'CSV'
country,team,email,pgp,lang
JP,JPCERT/CC,info@jpcert.example,,ja
DE,CERT DE,cert@cert-de.example,,de
NL,CERT NL,cert@cert-nl.example,,en
CSV
printf 'org,match,email,lang\nLocal Org,192.0.2.240/28,local@org.example,en\n' \
	>"$WORK/contacts/constituency.csv"

conf="$WORK/renraku.conf"
cat >"$conf" <<CONF
[relay]
name = Test CSIRT
from = csirt@test.example
[gpg]
home = gnupg
[transport]
url = maildir:outbox
[aggregate]
window = 0
[resolve]
sources = local, rdap
bootstrap_dir = bootstrap
bootstrap_url = $BASE/iana/
ca_file = $WORK/tls/ca.pem
timeout = 5s
concurrency = 4
rate = 0
CONF
R() { "$RENRAKU" --config "$conf" "$@"; }
db="$WORK/renraku.db"
q() { sqlite3 "$db" "$1"; }

check "init" R -q init --gen-key
check "contacts import" R -q contacts import "$WORK/contacts"

# --- end to end: ingest, run --once, the notice goes where RDAP said
cat >"$WORK/events.jsonl" <<'EV'
{"feed.name": "Sinkhole", "time.source": "2026-11-20T10:00:00+00:00", "source.ip": "203.0.113.77", "classification.taxonomy": "malicious-code", "classification.type": "infected-system", "tlp": "GREEN"}
{"feed.name": "Sinkhole", "time.source": "2026-11-20T10:01:00+00:00", "source.ip": "203.0.113.78", "classification.taxonomy": "malicious-code", "classification.type": "infected-system", "tlp": "GREEN"}
{"feed.name": "Honeypot", "time.source": "2026-11-20T10:02:00+00:00", "source.ip": "198.51.100.9", "source.asn": 64500, "classification.taxonomy": "intrusion-attempts", "classification.type": "brute-force", "tlp": "GREEN"}
EV
check "ingest" R -q ingest "$WORK/events.jsonl"
rc=0; R run --once --json >"$WORK/run.json" 2>"$WORK/run.err" || rc=$?
check "run --once exits 0" test "$rc" -eq 0
check "three events resolved" test "$(q "SELECT count(*) FROM events WHERE state = 'ticketed'")" -eq 3
check "two networks and one AS: three questions, none for the second address of a network" \
	test "$(count)" -eq 3
check "pipeline: level 1 is the event's AS (RDAP autnum)" bash -c \
	"sqlite3 '$db' 'SELECT chain FROM chains' | grep -q '\"level\":1,\"email\":\"abuse@transit.example\"'"
check "pipeline: level 2 by the country RDAP named (DE)" bash -c \
	"sqlite3 '$db' 'SELECT chain FROM chains' | grep -q 'cert@cert-de.example'"
check "the APNIC network's own contact is notified, not the national IRT" \
	grep -lq '^To: .*abuse@hosting-c.example' "$WORK"/outbox/new/*
check "the RIPE network's abuse address is notified" \
	grep -lq '^To: .*abuse@isp-b.example' "$WORK"/outbox/new/*
check "answers cached by range" \
	test "$(q "SELECT count(*) FROM resolutions WHERE source = 'rdap' AND negative = 0")" -eq 3

# --- resolve --json: levels, sources, range, country, cache
rc=0; R resolve --json 198.51.100.200 >"$WORK/r1.json" 2>"$WORK/r1.err" || rc=$?
check "resolve a cached network exits 0" test "$rc" -eq 0
check "a second address in a resolved network makes no request at all" test "$(count)" -eq 3
check "level 0 from rdap, cached" test "$(json_get "$WORK/r1.json" '[(c["level"], c["email"], c["source"], c["cached"]) for c in d["chain"]][0]')" = "(0, 'abuse@isp-b.example', 'rdap', True)"
check "level 0 range and country" test "$(json_get "$WORK/r1.json" '(d["chain"][0]["range"], d["chain"][0]["country"])')" = "('198.51.100.0/24', 'DE')"
check "level 2: the national CSIRT of the country RDAP named" test "$(json_get "$WORK/r1.json" '[(c["level"], c["email"], c["source"]) for c in d["chain"]][-1]')" = "(2, 'cert@cert-de.example', 'local')"
check "registry recorded" test "$(json_get "$WORK/r1.json" 'd["chain"][0]["registry"]')" = "$BASE/rdap/"

rc=0; R resolve --json 192.0.2.1 >"$WORK/r2.json" 2>"$WORK/r2.err" || rc=$?
check "ARIN shape: nested abuse at level 0" test "$(json_get "$WORK/r2.json" '[(c["level"], c["email"], c["source"]) for c in d["chain"]][0]')" = "(0, 'abuse@isp-a.example', 'rdap')"
check "level 1: the origin AS's abuse contact (RDAP autnum)" test "$(json_get "$WORK/r2.json" '[(c["level"], c["email"], c["source"], c["range"]) for c in d["chain"]][1]')" = "(1, 'abuse@transit.example', 'rdap', 'AS64500')"
check "level 2 by the AS's country" test "$(json_get "$WORK/r2.json" '[(c["level"], c["email"]) for c in d["chain"]][2]')" = "(2, 'info@jpcert.example')"
check "network and autnum asked once each" test "$(count /rdap/autnum/64500)" -eq 1

check "the local table wins over RDAP" bash -c "'$RENRAKU' --config '$conf' resolve --json 192.0.2.241 | grep -q local@org.example"

rc=0; R resolve --json --explain 203.0.113.5 >"$WORK/r3.json" 2>/dev/null || rc=$?
check "APNIC: the IRT is recorded beside the chosen contact" test "$(json_get "$WORK/r3.json" '(d["chain"][0]["email"], d["chain"][0]["irt"])')" = "('abuse@hosting-c.example', 'hostmaster@nic.ad.jp.example')"
R resolve --explain 203.0.113.5 >"$WORK/r3.txt" 2>/dev/null || true
check "--explain names source, registry, range and cache age" bash -c \
	"grep -q 'source rdap, registry $BASE/rdap/' '$WORK/r3.txt' && grep -q 'range 203.0.113.0/24, country JP' '$WORK/r3.txt' && grep -q 'cache: answered [0-9]*s ago' '$WORK/r3.txt'"

# --- a domain: the registrar's abuse contact; a subdomain asks its parent
rc=0; R resolve --json www.evil-shop.example >"$WORK/rd.json" 2>"$WORK/rd.err" || rc=$?
check "domain: the registrar's abuse entity (after the subdomain's 404)" test "$(json_get "$WORK/rd.json" '(d["chain"][0]["email"], d["chain"][0]["source"], d["chain"][0]["range"])')" = "('abuse@registrar.example', 'rdap', 'evil-shop.example')"
check "domain: the subdomain, then its parent" bash -c \
	"test $(count /rdap/domain/www.evil-shop.example) -eq 1 && test $(count /rdap/domain/evil-shop.example) -eq 1"

# --- a redirect between registries: the one that answered is recorded
rc=0; R resolve --json 198.18.0.5 >"$WORK/r4.json" 2>"$WORK/r4.err" || rc=$?
check "redirected: the second registry's answer" test "$(json_get "$WORK/r4.json" '(d["chain"][0]["email"], d["chain"][0]["registry"])')" = "('abuse@moved.example', '$BASE/ripe/')"

# --- 429 with Retry-After: waited for, never cached as "no contact"
rc=0; R resolve --json 100.64.0.1 >/dev/null 2>"$WORK/r5.err" || rc=$?
check "429: try again later (exit 75)" test "$rc" -eq 75
check "429: the registry's wait is remembered" test "$(q "SELECT count(*) FROM registry_backoff WHERE registry = '$BASE/busy/'")" -eq 1
rc=0; R resolve --json 100.64.0.1 >/dev/null 2>&1 || rc=$?
check "before Retry-After: still later, and the registry is not asked" \
	bash -c "test $rc -eq 75 && test $(count /busy/ip/100.64.0.1) -eq 1"
check "429 is not cached as no contact" test "$(q "SELECT count(*) FROM resolutions WHERE negative = 1")" -eq 0
sleep 4.5
rc=0; R resolve --json 100.64.0.1 >"$WORK/r6.json" 2>"$WORK/r6.err" || rc=$?
check "after Retry-After: asked again and answered" \
	bash -c "test $rc -eq 0 && test $(count /busy/ip/100.64.0.1) -eq 2"
check "the answer after the wait" test "$(json_get "$WORK/r6.json" 'd["chain"][0]["email"]')" = "abuse@cgn.example"

# the same through the pipeline: a 429'd event stays waiting, not unresolved
cat >"$WORK/events2.jsonl" <<'EV'
{"feed.name": "Sinkhole", "time.source": "2026-11-20T10:05:00+00:00", "source.ip": "100.64.1.1", "classification.taxonomy": "malicious-code", "classification.type": "infected-system", "tlp": "GREEN"}
EV
R -q ingest "$WORK/events2.jsonl"
R -q run --once >/dev/null 2>&1 || true
check "pipeline, 429: the event stays waiting (new), not unresolved" \
	test "$(q "SELECT state FROM events WHERE source_ip = '100.64.1.1'")" = new
sleep 4.5
R -q run --once >/dev/null 2>&1 || true
check "pipeline, after Retry-After: resolved and notified" \
	test "$(q "SELECT state FROM events WHERE source_ip = '100.64.1.1'")" = ticketed
check "pipeline, the busy registry was asked twice in all" test "$(count /busy/ip/100.64.1.1)" -eq 2

rc=0; R resolve --json 100.65.0.1 >"$WORK/r7.json" 2>"$WORK/r7.err" || rc=$?
check "404: no contact from this source (exit 0)" test "$rc" -eq 0
check "404: an empty chain" test "$(json_get "$WORK/r7.json" 'len(d["chain"])')" -eq 0
R resolve --json 100.65.0.1 >/dev/null 2>&1 || true
check "404 is not cached: asked again" test "$(count /rdap/ip/100.65.0.1)" -eq 2

rc=0; R resolve --json 100.66.0.1 >/dev/null 2>"$WORK/r8.err" || rc=$?
check "garbage: rejected with a reason, no contact" bash -c "test $rc -eq 0 && grep -q 'answer rejected: not JSON' '$WORK/r8.err'"
rc=0; R resolve --json 100.67.0.1 >/dev/null 2>"$WORK/r9.err" || rc=$?
check "a body over the limit is refused" bash -c "test $rc -eq 0 && grep -q 'larger than' '$WORK/r9.err'"
start=$(date +%s)
rc=0; R resolve --json 100.68.0.1 >/dev/null 2>"$WORK/r10.err" || rc=$?
check "a server that never answers: later (exit 75) within the timeout" \
	bash -c "test $rc -eq 75 && test $(( $(date +%s) - start )) -le 15"
rc=0; R resolve --json 100.69.0.1 >/dev/null 2>&1 || rc=$?
check "503: later (exit 75)" test "$rc" -eq 75
check "no failure was cached" test "$(q "SELECT count(*) FROM resolutions WHERE negative = 1")" -eq 0

# --- the rate per registry: 4 questions at 2 per second take 1.5 s or more
sed 's/^rate = 0$/rate = 2/' "$conf" >"$WORK/rate.conf"
start=$(date +%s.%N)
"$RENRAKU" --config "$WORK/rate.conf" resolve --json 100.70.0.1 100.71.0.1 100.72.0.1 100.73.0.1 >/dev/null 2>&1 || true
check "rate = 2: four questions spread over 1.5 s or more" \
	awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { exit !(e - s >= 1.5) }'
check "rate = 2: each asked once" test "$(count /rdap/ip/100.73.0.1)" -eq 1

# --- offline: the cache only
before=$(count)
rc=0; R resolve --json --offline 198.51.100.1 >"$WORK/r11.json" 2>/dev/null || rc=$?
check "--offline answers from the cache" test "$(json_get "$WORK/r11.json" 'd["chain"][0]["email"]')" = "abuse@isp-b.example"
R resolve --json --offline 192.0.2.99 >/dev/null 2>&1 || true
R resolve --json --offline 2001:db8::1 >/dev/null 2>&1 || true
check "--offline asks nothing" test "$(count)" -eq "$before"

# --- bootstrap update: fetched, checked, then replaced
mkdir -p "$WORK/www/iana"
cp "$WORK/bootstrap/"*.json "$WORK/www/iana/"
sed -i 's/"services": \[/"services": [[["10.0.0.0\/8"], ["https:\/\/new.test\/"]], /' "$WORK/www/iana/ipv4.json"
rc=0; R bootstrap update >"$WORK/bu.out" 2>"$WORK/bu.err" || rc=$?
check "bootstrap update exits 0" test "$rc" -eq 0
check "bootstrap update says what it installed" grep -q "bootstrap updated in .*: 7 IPv4 and 1 IPv6 prefixes, 1 AS ranges, 1 domain labels" "$WORK/bu.out"
check "the new file is in place" grep -q new.test "$WORK/bootstrap/ipv4.json"
cp "$WORK/bootstrap/ipv4.json" "$WORK/ipv4.before"
echo '{"version": "1.0", "services": [[["not-a-range"], ["https://x.test/"]]]}' >"$WORK/www/iana/asn.json"
rc=0; R bootstrap update >/dev/null 2>"$WORK/bu2.err" || rc=$?
check "a bad file: exit 65 (was $rc)" test "$rc" -eq 65
check "a bad file: named" grep -q 'asn.json' "$WORK/bu2.err"
check "a bad file: nothing replaced" cmp -s "$WORK/ipv4.before" "$WORK/bootstrap/ipv4.json"
finish
