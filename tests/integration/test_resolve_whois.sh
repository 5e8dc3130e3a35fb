#!/usr/bin/env bash
# The whois source against a whois server on 127.0.0.1 (whois_peer.py)
# playing IANA, ARIN, RIPE, JPNIC, an RWhois server, a referral loop, an
# oversized and a silent server: `renraku resolve --json` names the right
# address, its source, server, range and country; failures are "nobody"
# or "try later" as they should be.
. "$(dirname "$0")/lib.sh"

start_peer "$PY" "$RK_SOURCE_DIR/tests/integration/whois_peer.py" "$RK_FIXTURES/whois" \
	"$WORK/ports.json" "$WORK/queries.log" 2>"$WORK/peer.err"
wait_for_file "$WORK/ports.json" "the whois peer" "$WORK/peer.err"
port() { json_get "$WORK/ports.json" "d['$1']"; }

conf="$WORK/renraku.conf"
cat >"$conf" <<CONF
[relay]
from = csirt@test.example
[resolve]
sources = whois
timeout = 2
whois_server = 127.0.0.1:$(port iana)
whois_map = whois.arin.net=127.0.0.1:$(port arin), whois.ripe.net=127.0.0.1:$(port ripe)
whois_map = whois.nic.ad.jp=127.0.0.1:$(port jpnic), rwhois.isp-a.example:4321=127.0.0.1:$(port rwhois)
  loop-a.example=127.0.0.1:$(port loop_a), loop-b.example=127.0.0.1:$(port loop_b)
  big.example=127.0.0.1:$(port big), silent.example=127.0.0.1:$(port silent)
  slow.example=127.0.0.1:$(port slow)
  whois.nic.test=127.0.0.1:$(port registry), whois.registrar.test=127.0.0.1:$(port registrar)
concurrency = 8
[gpg]
mode = none
[transport]
url = maildir:outbox
CONF
db="$WORK/renraku.db"
R() { "$RENRAKU" --config "$conf" --db "$db" "$@"; }
R init --from csirt@test.example >/dev/null 2>"$WORK/init.err" ||
	{ echo "FAIL: init: $(cat "$WORK/init.err")" >&2; exit 1; }

# resolve_json TARGET: the --json document in $WORK/TARGET.json, exit code in rc
resolve_json() {
	rc=0
	R resolve --json "$1" >"$WORK/$1.json" 2>"$WORK/$1.err" || rc=$?
}
level0() { json_get "$WORK/$1.json" "d['chain'][0]['$2'] if d['chain'] else ''"; }

# IANA -> ARIN (n + ADDR) -> ReferralServer whois://whois.ripe.net -> RIPE's abuse line
resolve_json 198.51.100.77
check "IANA -> ARIN -> RIPE: exit 0" test "$rc" = 0
check "IANA -> ARIN -> RIPE: RIPE's abuse line" test "$(level0 198.51.100.77 email)" = "abuse@isp-b.example"
check "source is whois" test "$(level0 198.51.100.77 source)" = whois
check "the server that answered" test "$(level0 198.51.100.77 registry)" = "whois.ripe.net:43"
check "the range as a prefix" test "$(level0 198.51.100.77 range)" = "198.51.100.0/24"
check "the country" test "$(level0 198.51.100.77 country)" = DE
check "ARIN was asked in its full form" grep -qx "arin n + 198.51.100.77" "$WORK/queries.log"
check "RIPE was asked with -r (no personal data)" grep -qx "ripe -r 198.51.100.77" "$WORK/queries.log"

R resolve --explain 198.51.100.77 >"$WORK/explain.out" 2>/dev/null
check "--explain names the source, the server, range and country" \
	bash -c "grep -q 'found by: source whois, server whois.ripe.net:43' '$WORK/explain.out' && grep -q 'range 198.51.100.0/24, country DE' '$WORK/explain.out' && grep -q 'cache: none, asked now' '$WORK/explain.out'"

# ARIN answers itself
resolve_json 192.0.2.10
check "ARIN: OrgAbuseEmail, not the NOC" test "$(level0 192.0.2.10 email)" = "abuse@isp-a.example"
check "ARIN: the server" test "$(level0 192.0.2.10 registry)" = "whois.arin.net:43"
check "ARIN: the org" test "$(level0 192.0.2.10 org)" = "ISP A Inc."

# ARIN with two ReferralServer lines: the last (rwhois://) wins
resolve_json 192.0.2.66
check "ReferralServer last wins: the rwhois server's contact" \
	test "$(level0 192.0.2.66 email)" = "abuse@cust-y.example"
check "rwhois server and port" test "$(level0 192.0.2.66 registry)" = "rwhois.isp-a.example:4321"
check "rwhois range" test "$(level0 192.0.2.66 range)" = "192.0.2.64/26"

# JPNIC: ISO-2022-JP, the contact asked for by its handle
resolve_json 203.0.113.5
check "JPNIC: the contact's address via its handle" \
	test "$(level0 203.0.113.5 email)" = "abuse@hosting-c.example"
check "JPNIC: the network's range" test "$(level0 203.0.113.5 range)" = "203.0.113.0/24"
check "JPNIC: the organization, decoded" test "$(level0 203.0.113.5 org)" = "Hosting C Co., Ltd."
check "JPNIC: country JP" test "$(level0 203.0.113.5 country)" = JP
check "JPNIC: the handle was asked" grep -qx "jpnic HC123JP" "$WORK/queries.log"

# an AS: IANA -> ARIN "a + N"
resolve_json AS64500
check "AS: ARIN's AS contact" test "$(level0 AS64500 email)" = "as-abuse@isp-a.example"
check "AS: asked in ARIN's form" grep -qx "arin a + 64500" "$WORK/queries.log"

# a domain: IANA -> the thin registry -> the registrar's server
resolve_json shop.example.test
check "domain: the registrar's abuse address" test "$(level0 shop.example.test email)" = abuse@registrar.test
check "domain: from the registrar's server" test "$(level0 shop.example.test registry)" = whois.registrar.test:43

# a referral loop: stopped, nobody known (exit 0, empty chain)
resolve_json 192.0.2.200
check "loop: exit 0" test "$rc" = 0
check "loop: empty chain" test "$(json_get "$WORK/192.0.2.200.json" "len(d['chain'])")" = 0
check "loop: each server asked once" test "$(grep -c '^loop_a ' "$WORK/queries.log")" = 1
check "loop: said so" grep -q "referral loop" "$WORK/192.0.2.200.err"

# an answer larger than RK_MAX_WHOIS_REPLY: ignored, nobody
resolve_json 192.0.2.201
check "oversized: exit 0, empty chain" test "$rc:$(json_get "$WORK/192.0.2.201.json" "len(d['chain'])")" = "0:0"
check "oversized: the limit is named" grep -q "RK_MAX_WHOIS_REPLY" "$WORK/192.0.2.201.err"

# a server that never answers: try again later (75), within the timeout
start=$(date +%s)
resolve_json 192.0.2.202
took=$(( $(date +%s) - start ))
check "silent server: temporary failure (exit 75)" test "$rc" = 75
check "silent server: given up after [resolve] timeout (took ${took}s)" test "$took" -le 5
check "silent server: said so" grep -q "did not answer in time" "$WORK/192.0.2.202.err"

# no referral and no contact: nobody
resolve_json 192.0.2.203
check "no contact: exit 0, empty chain" test "$rc:$(json_get "$WORK/192.0.2.203.json" "len(d['chain'])")" = "0:0"

# a batch runs concurrently: 8 events whose server answers after 1 s each
# are resolved by the resolve stage in about 2 s (4 at once per server),
# not 8
for i in $(seq 120 127); do
	printf '{"feed.name": "t", "time.source": "2026-11-20T10:00:00+00:00", "source.ip": "192.0.2.%s", "classification.taxonomy": "intrusion-attempts", "classification.type": "brute-force", "tlp": "GREEN"}\n' "$i"
done >"$WORK/slow.jsonl"
R -q ingest "$WORK/slow.jsonl" || not_ok "ingest of the slow batch"
start=$(date +%s.%N)
rc=0
R run --once --now 2026-11-20T10:30:00Z >"$WORK/run.out" 2>"$WORK/run.err" || rc=$?
took=$("$PY" -c "import sys; print(round($(date +%s.%N) - $start, 2))")
check "slow batch: run exit 0 ($(tail -1 "$WORK/run.err"))" test "$rc" = 0
check "slow batch: every server asked once per address" test "$(grep -c '^slow ' "$WORK/queries.log")" = 8
check "slow batch: concurrent (took ${took}s, one by one would be 8s)" \
	"$PY" -c "import sys; sys.exit(0 if $took < 5 else 1)"
check "slow batch: all 8 events resolved to the whois contact" \
	test "$(sqlite3 "$db" "select count(*) from events where state != 'new' and source_ip like '192.0.2.12_'")" = 8

# a referral to another port (a mail server next door) is not followed
resolve_json 192.0.2.204
check "referral to port 25: refused, nobody" test "$rc:$(json_get "$WORK/192.0.2.204.json" "len(d['chain'])")" = "0:0"
check "referral to port 25: said so" grep -q "referral to '127.0.0.1:25' refused" "$WORK/192.0.2.204.err"

# local first: an address the constituency knows asks no whois server
printf '[relay]\nfrom = csirt@test.example\n[resolve]\nsources = local, whois\nwhois_server = 127.0.0.1:%s\n' \
	"$(port iana)" >"$WORK/local.conf"
"$RENRAKU" --config "$WORK/local.conf" --db "$db" contacts import "$RK_SOURCE_DIR/contacts" >/dev/null
before=$(wc -l <"$WORK/queries.log")
"$RENRAKU" --config "$WORK/local.conf" --db "$db" resolve --json 192.0.2.10 >"$WORK/local.json"
check "local, whois: the constituency answers" test "$(json_get "$WORK/local.json" "d['chain'][0]['source']")" = local
check "local, whois: no whois query" test "$(wc -l <"$WORK/queries.log")" = "$before"

# offline: whois is not asked
"$RENRAKU" --config "$conf" --db "$db" resolve --offline --json 198.51.100.77 >"$WORK/off.json"
check "offline: no whois" test "$(json_get "$WORK/off.json" "len(d['chain'])")" = 0

# a bad whois_server is a config error naming the key
printf '[relay]\nfrom = a@b.example\n[resolve]\nsources = whois\nwhois_server = a:b:c\n' >"$WORK/bad.conf"
rc=0
"$RENRAKU" --config "$WORK/bad.conf" --db "$db" resolve 192.0.2.1 >/dev/null 2>"$WORK/bad.err" || rc=$?
check "bad whois_server: exit 1 naming the key" test "$rc" = 1
check "bad whois_server: message" grep -q "whois_server" "$WORK/bad.err"
finish
