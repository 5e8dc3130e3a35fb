#!/usr/bin/env bash
# renraku serve over real HTTP on loopback: every status code of the API,
# tokens by scope (nothing stored without one), a report that becomes a
# ticket and a notice in the maildir by the in-process scheduler alone,
# the reporter recorded, the acknowledgement page (GET changes nothing;
# a forged, expired or reused form token changes nothing; the right one
# records), /metrics, SIGHUP, and SIGTERM during a busy pass losing
# nothing and exiting 0.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

conf="$WORK/renraku.conf"
contacts_with "$WORK/contacts" \
	'Org EN,192.0.2.0/24,noc@en.example,,,en,csv-attach,' \
	'Org JA,198.51.100.0/24,noc@ja.example,,,ja,csv-attach,'
relay_conf "$conf" '[gpg]' 'mode = none' '[relay]' \
	'public_url = https://csirt.test.example/' '[http]' 'max_body = 4096' \
	'rate = 40'
R() { "$RENRAKU" --config "$conf" "$@"; }
db="$WORK/renraku.db"
q() { sqlite3 "$db" "$1"; }
mails() { find "$WORK/outbox/new" -type f 2>/dev/null | wc -l; }

check "init" R -q init
check "contacts import" R -q contacts import "$WORK/contacts"
SUBMIT=$(R tokens add sensor-1 --scope submit,read 2>/dev/null)
READ=$(R tokens add dashboard --scope read 2>/dev/null)
ADMIN=$(R tokens add operator --scope admin 2>/dev/null)
RATE=$(R tokens add burst --scope read 2>/dev/null)
check "tokens add prints a token once" test "${#SUBMIT}" -eq 67
check "tokens add refuses an unknown scope" bash -c "! '$RENRAKU' --config '$conf' tokens add x --scope write 2>/dev/null"
check "only hashes are stored" test "$(q "SELECT count(*) FROM api_tokens WHERE token_hash = '$SUBMIT' OR reporter LIKE 'rk_%'")" -eq 0
check "tokens list --json: four with scopes" test "$(R tokens list --json | "$PY" -c 'import json,sys; print(",".join(t["scopes"] for t in json.load(sys.stdin)))')" = "submit,read,read,admin,read"

# a pass every hour: only a submission wakes the scheduler
start_serve "$conf" --interval 1h
ev='{"time.source":"2026-11-30T09:00:00Z","source.ip":"192.0.2.10","classification.type":"infected-system","tlp":"GREEN"}'
check "GET /healthz 200" test "$(status GET /healthz)" = 200
check "GET /readyz 200 (the database answers)" test "$(status GET /readyz)" = 200
check "unknown path 404" test "$(status GET /nope)" = 404
check "wrong method 405" test "$(status DELETE /v1/reports)" = 405
reports0=$(q "SELECT count(*) FROM reports")
check "POST /v1/reports without a token: 401" test "$(status POST /v1/reports -H 'Content-Type: application/json' --data-binary "$ev")" = 401
check "401 names Bearer" bash -c "curl -si -X POST '$BASE/v1/reports' --data-binary x | grep -qi '^WWW-Authenticate: Bearer'"
check "POST with a wrong token: 401" test "$(status POST /v1/reports -H "Authorization: Bearer rk_${SUBMIT:3:10}0000" --data-binary "$ev")" = 401
check "POST with a revoked-never, read-only token: 403" test "$(status POST /v1/reports -H "Authorization: Bearer $READ" --data-binary "$ev")" = 403
check "without a valid token nothing is stored" test "$(q "SELECT count(*) FROM reports")" -eq "$reports0"
check "415 for an unknown Content-Type" test "$(status POST /v1/reports -H "Authorization: Bearer $SUBMIT" -H 'Content-Type: image/png' --data-binary "$ev")" = 415
check "415 for an unknown ?format=" test "$(status POST '/v1/reports?format=pdf' -H "Authorization: Bearer $SUBMIT" --data-binary "$ev")" = 415
check "415 for csv:MAPPING from the network" test "$(status POST '/v1/reports?format=csv:/etc/passwd' -H "Authorization: Bearer $SUBMIT" --data-binary "$ev")" = 415
head -c 5000 /dev/zero | tr '\0' 'x' >"$WORK/big"
check "413 above max_body (Content-Length)" test "$(status POST /v1/reports -H "Authorization: Bearer $SUBMIT" -H 'Content-Type: application/json' --data-binary @"$WORK/big")" = 413
check "413 above max_body (chunked, while reading)" test "$(status POST /v1/reports -H "Authorization: Bearer $SUBMIT" -H 'Content-Type: application/json' -H 'Transfer-Encoding: chunked' --data-binary @"$WORK/big")" = 413
check "nothing stored from the refused bodies" test "$(q "SELECT count(*) FROM reports")" -eq "$reports0"
printf '%s\n' '{"source.ip":"not an address","classification.type":"infected-system"}' '{broken' >"$WORK/bad.jsonl"
check "400 for bad input" test "$(status POST /v1/reports -H "Authorization: Bearer $SUBMIT" -H 'Content-Type: application/x-ndjson' --data-binary @"$WORK/bad.jsonl")" = 400
check "400 lists the lines" test "$(json_get "$WORK/body" '",".join(str(e["line"]) for e in d["errors"])')" = "1,2"
printf '%s\n%s\n' "$ev" '{broken' >"$WORK/mixed.jsonl"
check "202 for a good report" test "$(status POST /v1/reports -H "Authorization: Bearer $SUBMIT" -H 'Content-Type: application/json' --data-binary @"$WORK/mixed.jsonl")" = 202
cp "$WORK/body" "$WORK/accepted.json"
rid=$(json_get "$WORK/accepted.json" 'd["report_id"]')
check "202 counts: 1 event, 1 rejected with its line" test "$(json_get "$WORK/accepted.json" 'str(d["events"]) + str(d["rejected"]) + str(d["errors"][0]["line"])')" = 112
check "the report records its reporter" test "$(q "SELECT reporter FROM reports WHERE id = $rid")" = sensor-1
for i in $(seq 1 50); do [ "$(mails)" -ge 1 ] && break; sleep 0.1; done
check "the scheduler ran at once: a notice in the maildir" test "$(mails)" -eq 1
T=$(ticket_of "$db" 192.0.2.10)
check "the event became a ticket" test -n "$T"
check "GET /v1/reports/ID 200" test "$(status GET "/v1/reports/$rid" -H "Authorization: Bearer $READ")" = 200
check "report: reporter and counts" test "$(json_get "$WORK/body" 'd["reporter"] + str(d["events"])')" = sensor-11
check "GET /v1/reports/999 404" test "$(status GET /v1/reports/999 -H "Authorization: Bearer $READ")" = 404
check "GET /v1/tickets 200" test "$(status GET '/v1/tickets?state=notified&limit=10' -H "Authorization: Bearer $READ")" = 200
check "tickets: the notified one" test "$(json_get "$WORK/body" 'd["tickets"][0]["id"]')" = "$T"
check "GET /v1/tickets?limit=0 400" test "$(status GET '/v1/tickets?limit=0' -H "Authorization: Bearer $READ")" = 400
check "GET /v1/tickets/ID 200" test "$(status GET "/v1/tickets/$T" -H "Authorization: Bearer $READ")" = 200
check "ticket: the same JSON as tickets show, timeline included" test "$(json_get "$WORK/body" 'd["id"] + " " + str(len(d["timeline"]) > 0)')" = "$T True"
check "GET /v1/tickets/nope 404" test "$(status GET /v1/tickets/nope -H "Authorization: Bearer $READ")" = 404
check "POST /v1/tickets/ID/ack with a read token: 403" test "$(status POST "/v1/tickets/$T/ack" -H "Authorization: Bearer $READ" --data-binary '{"status":"received"}')" = 403
check "POST ack with a bad body: 400" test "$(status POST "/v1/tickets/$T/ack" -H "Authorization: Bearer $ADMIN" --data-binary '{"status":"maybe"}')" = 400

# the acknowledgement page, from the link in the notice
link=$(grep -m1 -i '^X-Renraku-Ack:' "$WORK"/outbox/new/* | tr -d '\r' | sed 's/^[^:]*: *//; s/^<//; s/>$//')
tok=${link##*/ack/}
check "the notice carries the page's link" test "${#tok}" -eq 32
check "GET /ack/TOKEN 200" test "$(status GET "/ack/$tok")" = 200
curl -s -D "$WORK/headers" -o "$WORK/page.html" "$BASE/ack/$tok"
check "page: CSP with frame-ancestors 'none'" grep -qi "^Content-Security-Policy: .*frame-ancestors 'none'" "$WORK/headers"
check "page: X-Frame-Options DENY" grep -qi '^X-Frame-Options: DENY' "$WORK/headers"
check "page: Referrer-Policy no-referrer" grep -qi '^Referrer-Policy: no-referrer' "$WORK/headers"
check "page: Cache-Control no-store" grep -qi '^Cache-Control: no-store' "$WORK/headers"
check "page: three buttons, no script, no external resource" bash -c "[ \$(grep -o '<button' '$WORK/page.html' | wc -l) -eq 3 ] && ! grep -qi '<script\|src=\|href=' '$WORK/page.html'"
check "page: the ticket, its type, its event count; no address" bash -c "grep -q '$T' '$WORK/page.html' && grep -q 'infected-system' '$WORK/page.html' && ! grep -q 'noc@en.example\|192.0.2.10' '$WORK/page.html'"
check "GET changed nothing" test "$(q "SELECT state FROM tickets WHERE id = '$T'")" = notified
check "unknown token: 404" test "$(status GET /ack/0123456789abcdef0123456789abcdef)" = 404
form=$(sed -n 's/.*name="form" value="\([^"]*\)".*/\1/p' "$WORK/page.html")
check "POST with a forged form token: 403, nothing changes" test "$(status POST "/ack/$tok" --data "form=${form%%.*}.$(printf '0%.0s' $(seq 64))&status=resolved")" = 403
secret=$(q "SELECT secret FROM serve_secret")
hash=$(printf %s "$tok" | sha256sum | cut -d' ' -f1)
old=$(( $(date +%s) - 10 ))
expired="$old.$("$PY" -c 'import hmac,hashlib,sys; print(hmac.new(sys.argv[1].encode(), sys.argv[2].encode(), hashlib.sha256).hexdigest())' "$secret" "$hash|$old")"
check "POST with an expired form token: 403" test "$(status POST "/ack/$tok" --data "form=$expired&status=resolved")" = 403
check "still notified" test "$(q "SELECT state FROM tickets WHERE id = '$T'")" = notified
check "POST with the page's form token: 200" test "$(status POST "/ack/$tok" --data "form=$form&status=received&note=seen+%26+fixing")" = 200
check "the ticket is acknowledged, the note kept" test "$(q "SELECT state FROM tickets WHERE id = '$T'")" = acknowledged
check "POST with the same form token again: 403" test "$(status POST "/ack/$tok" --data "form=$form&status=resolved")" = 403
check "reused: still acknowledged" test "$(q "SELECT state FROM tickets WHERE id = '$T'")" = acknowledged
check "POST /v1/tickets/ID/ack (admin): 200" test "$(status POST "/v1/tickets/$T/ack" -H "Authorization: Bearer $ADMIN" --data-binary '{"status":"resolved","note":"done"}')" = 200
check "resolved" test "$(q "SELECT state FROM tickets WHERE id = '$T'")" = resolved
check "ack a resolved ticket: 409" test "$(status POST "/v1/tickets/$T/ack" -H "Authorization: Bearer $ADMIN" --data-binary '{"status":"resolved"}')" = 409
check "the API actor is in the timeline" test "$(q "SELECT count(*) FROM audit_log WHERE actor = 'api:operator'")" -ge 1

# the Japanese page for the ja contact
ev2='{"time.source":"2026-11-30T09:00:00Z","source.ip":"198.51.100.7","classification.type":"infected-system","tlp":"GREEN"}'
check "a second report" test "$(status POST /v1/reports -H "Authorization: Bearer $SUBMIT" -H 'Content-Type: application/json' --data-binary "$ev2")" = 202
for i in $(seq 1 50); do [ "$(mails)" -ge 2 ] && break; sleep 0.1; done
tok2=$(grep -h -i '^X-Renraku-Ack:' "$WORK"/outbox/new/* | tr -d '\r' | sed 's/.*\/ack\///; s/>$//' | grep -v "^$tok\$" | head -1 || true)
curl -s -o "$WORK/page2.html" "$BASE/ack/$tok2"
check "the page is in the notice's language (ja)" grep -q 'lang="ja".*対応済み\|対応済み' "$WORK/page2.html"

# rate limit per token
# 85 requests: one minute window holds more than 40 even across a boundary
codes=$(for i in $(seq 1 85); do status GET /v1/tickets -H "Authorization: Bearer $RATE"; echo; done | sort | uniq -c | tr -s ' \n' ' ')
check "over [http] rate requests a minute: 429 ($codes)" bash -c "echo '$codes' | grep -q ' 429'"
check "other tokens are not limited by it" test "$(status GET /v1/tickets -H "Authorization: Bearer $READ")" = 200

status GET /metrics >/dev/null
check "metrics: tickets by state" grep -q '^renraku_tickets{state="resolved"} 1' "$WORK/body"
check "metrics: events by format" grep -q '^renraku_events_ingested{format="intelmq"} 2' "$WORK/body"
check "metrics: requests by route and status" grep -q '^renraku_http_requests_total{route="reports_post",status="401"} [0-9]' "$WORK/body"
check "tokens list shows when a token was last used" test "$(R tokens list --json | "$PY" -c 'import json,sys; print([t["last_used_at"] is not None for t in json.load(sys.stdin)])')" = "[True, True, True, True]"
check "access log on stderr" grep -q 'http method=POST path=/v1/reports route=reports_post status=202 .*reporter=sensor-1' "$WORK/serve.log.new"

# SIGHUP: a new configuration is read, and the contacts directory
contacts_with "$WORK/contacts" \
	'Org EN,192.0.2.0/24,noc@en.example,,,en,csv-attach,' \
	'Org JA,198.51.100.0/24,noc@ja.example,,,ja,csv-attach,' \
	'Org NEW,203.0.113.0/24,noc@new.example,,,en,csv-attach,'
relay_conf "$conf" '[gpg]' 'mode = none' '[relay]' \
	'public_url = https://csirt.test.example/' 'contacts = contacts' '[http]' \
	'max_body = 4096' 'rate = 40'
kill -HUP "$SERVE_PID"
for i in $(seq 1 30); do grep -q 'contacts reloaded' "$WORK/serve.log.new" && break; sleep 0.1; done
check "SIGHUP reloads the contacts directory" test "$(q "SELECT count(*) FROM contacts WHERE email = 'noc@new.example'")" -eq 1
for i in $(seq 1 30); do grep -q 'configuration reloaded' "$WORK/serve.log.new" && break; sleep 0.1; done
check "SIGHUP reloads the configuration" grep -q 'configuration reloaded' "$WORK/serve.log.new"
check "and it still answers" test "$(status GET /healthz)" = 200

# SIGTERM during a busy pass: the pass finishes, nothing is lost, exit 0
"$PY" -c '
import json
for i in range(3000):
    print(json.dumps({"time.source":"2026-11-30T09:00:00Z","source.ip":"192.0.2.%d" % (i % 200 + 20),
                      "classification.type":"infected-system","tlp":"GREEN","extra.n":i}))' >"$WORK/many.jsonl"
relay_conf "$conf" '[gpg]' 'mode = none' '[relay]' \
	'public_url = https://csirt.test.example/' '[http]' 'max_body = 16M'
kill -HUP "$SERVE_PID"
sleep 0.3
check "a large report is accepted" test "$(status POST /v1/reports -H "Authorization: Bearer $SUBMIT" -H 'Content-Type: application/json' --data-binary @"$WORK/many.jsonl")" = 202
sleep 0.05
kill -TERM "$SERVE_PID"
rc=0
wait "$SERVE_PID" || rc=$?
SERVE_PID=
check "SIGTERM: exit 0" test "$rc" -eq 0
check "all 3000 events stored" test "$(q "SELECT count(*) FROM events WHERE source_ip LIKE '192.0.2.%' AND source_ip != '192.0.2.10'")" -eq 3000
check "a later run finishes the work" bash -c "'$RENRAKU' --config '$conf' -q run --once >/dev/null"
check "nothing left behind: every event ticketed" test "$(q "SELECT count(*) FROM events WHERE state != 'ticketed'")" -eq 0
check "the database is intact" test "$(q 'PRAGMA integrity_check')" = ok
finish
