#!/usr/bin/env bash
# The acknowledgement page in a real browser: Debian's headless Chromium,
# driven over the DevTools protocol by cdp_click.py, opens the link of a
# real notice (X-Renraku-Ack of the .eml in the maildir); loading the
# page changes nothing; a mouse click on "resolved" (with a typed note)
# resolves the ticket.  The screenshots stay as artifacts (paths printed).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "FAIL: $CHROMIUM is missing (install chromium)" >&2; exit 1; }

conf="$WORK/renraku.conf"
contacts_with "$WORK/contacts" 'Org EN,192.0.2.0/24,noc@en.example,,,en,csv-attach,'
relay_conf "$conf" '[gpg]' 'mode = none'
R() { "$RENRAKU" --config "$conf" "$@"; }
db="$WORK/renraku.db"
q() { sqlite3 "$db" "$1"; }
check "init" R -q init
check "contacts import" R -q contacts import "$WORK/contacts"
SUBMIT=$(R tokens add sensor --scope submit 2>/dev/null)
start_serve "$conf" --interval 1h
# the notice's link must point at this server: public_url names its port
relay_conf "$conf" '[gpg]' 'mode = none' '[relay]' "public_url = $BASE/"
kill -HUP "$SERVE_PID"
for i in $(seq 1 30); do grep -q 'configuration reloaded' "$WORK/serve.log.new" && break; sleep 0.1; done
ev='{"time.source":"2026-11-30T09:00:00Z","source.ip":"192.0.2.10","classification.type":"infected-system","tlp":"GREEN"}'
check "a report over HTTP" test "$(status POST /v1/reports -H "Authorization: Bearer $SUBMIT" -H 'Content-Type: application/json' --data-binary "$ev")" = 202
for i in $(seq 1 50); do [ -n "$(ls "$WORK/outbox/new" 2>/dev/null)" ] && break; sleep 0.1; done
eml=$(ls "$WORK"/outbox/new/* | head -1)
link=$(grep -m1 -i '^X-Renraku-Ack:' "$eml" | tr -d '\r' | sed 's/^[^:]*: *//; s/^<//; s/>$//')
T=$(ticket_of "$db" 192.0.2.10)
check "the notice links to this server's page" bash -c "case '$link' in '$BASE'/ack/*) true;; *) false;; esac"
check "the link is in the body too" grep -q "$link" "$eml"

# artifacts beside the binary under test (the build tree), not the sources
art="${RK_ARTIFACT_DIR:-$(dirname "$RENRAKU")/test-artifacts}/test_serve_browser"
mkdir -p "$art" "$WORK/look" "$WORK/click"
check "chromium opens the page" bash -c "'$PY' '$RK_SOURCE_DIR/tests/integration/cdp_click.py' '$CHROMIUM' '$link' '$WORK/look' >'$WORK/look.out' 2>'$WORK/look.err'"
cat "$WORK/look.out"
check "the page's title" grep -q '^title: Incident notification' "$WORK/look.out"
check "a browser that only looks changes nothing" test "$(q "SELECT state FROM tickets WHERE id = '$T'")" = notified
check "chromium clicks resolved" bash -c "'$PY' '$RK_SOURCE_DIR/tests/integration/cdp_click.py' '$CHROMIUM' '$link' '$WORK/click' --click resolved --note 'patched the host' >'$WORK/click.out' 2>'$WORK/click.err'"
cat "$WORK/click.out"
check "the answer page thanks" grep -q '^text: .*your answer is recorded' "$WORK/click.out"
check "the ticket is resolved by the button press" test "$(q "SELECT state FROM tickets WHERE id = '$T'")" = resolved
check "the typed note is kept" bash -c "sqlite3 '$db' \"SELECT count(*) FROM ticket_events WHERE ticket_id = '$T'\" >/dev/null && sqlite3 '$db' .dump | grep -q 'patched the host'"
check "screenshots taken" test -s "$WORK/look/ack-page.png" -a -s "$WORK/click/ack-done.png"
cp "$WORK/look/ack-page.png" "$WORK/click/ack-done.png" "$art/" 2>/dev/null || true
echo "artifact: $art/ack-page.png"
echo "artifact: $art/ack-done.png"
[ -s "$WORK/look.err" ] && sed 's/^/chromium: /' "$WORK/look.err" | tail -3 >&2 || true
finish
