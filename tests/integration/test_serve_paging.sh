#!/usr/bin/env bash
# GET /v1/tickets is paged in the store: 300 tickets (most made in the
# same second, so that the id breaks ties) walked page by page while
# tickets change state (acknowledged over the API) and new ones are made
# between pages: every ticket that existed when the walk began comes
# exactly once, newest first; the cursor is opaque and checked, the
# limit capped, state= and since= filter in the query.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"

command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 is missing" >&2; exit 1; }
N=300
rows=()
for i in $(seq 1 $N); do
	rows+=("Org $i,198.18.$((i / 200)).$((i % 200 + 1))/32,noc$i@org$i.example,,,en,csv-attach,")
done
conf="$WORK/renraku.conf"
contacts_with "$WORK/contacts" "${rows[@]}" 'Org Late,203.0.113.0/24,late@org.example,,,en,csv-attach,'
relay_conf "$conf" '[gpg]' 'mode = none'
db="$WORK/renraku.db"
R() { "$RENRAKU" --config "$conf" "$@"; }
q() { sqlite3 "$db" "$1"; }

check "init" R -q init
check "contacts import" R -q contacts import "$WORK/contacts"
for i in $(seq 1 $N); do event_line "198.18.$((i / 200)).$((i % 200 + 1))" GREEN; done >"$WORK/events.jsonl"
check "ingest $N events" R -q ingest "$WORK/events.jsonl"
check "run: $N tickets notified" R -q run --once --offline
check "$N tickets" test "$(q "SELECT count(*) FROM tickets")" -eq $N
READ=$(R tokens add dashboard --scope read 2>/dev/null)
ADMIN=$(R tokens add operator --scope admin,submit 2>/dev/null)
q "SELECT id FROM tickets ORDER BY created_at DESC, id DESC" >"$WORK/expected"

start_serve "$conf" --offline --interval 1h
page() { # page QUERY: GET /v1/tickets?QUERY into $WORK/body, status echoed
	status GET "/v1/tickets?$1" -H "Authorization: Bearer $READ"
}

# walk with pages of 7; between pages ack two tickets (state and
# updated_at change) and submit a new report (a new, newer ticket)
: >"$WORK/walked"
cursor= pages=0 bad=0
while :; do
	st=$(page "limit=7${cursor:+&cursor=$cursor}")
	[ "$st" = 200 ] || { bad=1; break; }
	json_get "$WORK/body" '"\n".join(t["id"] for t in d["tickets"])' | sed '/^$/d' >>"$WORK/walked"
	cursor=$(json_get "$WORK/body" 'd["next_cursor"] or ""')
	pages=$((pages + 1))
	[ -n "$cursor" ] || break
	[ "$pages" -lt 100 ] || { bad=1; break; }
	for t in $(shuf -n 2 "$WORK/expected"); do
		curl -s -o /dev/null -X POST -H "Authorization: Bearer $ADMIN" \
			-H 'Content-Type: application/json' --data-binary '{"status":"received"}' \
			"$BASE/v1/tickets/$t/ack"
	done
	if [ $((pages % 10)) -eq 1 ]; then
		event_line "203.0.113.$pages" GREEN | curl -s -o /dev/null -X POST \
			-H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
			--data-binary @- "$BASE/v1/reports"
	fi
done
check "every page answered 200" test "$bad" -eq 0
check "43 pages of 7 for 300 tickets" test "$pages" -eq 43
check "tickets changed state during the walk" test "$(q "SELECT count(*) FROM tickets WHERE state = 'acknowledged'")" -ge 40
check "no ticket twice" test "$(sort "$WORK/walked" | uniq -d | wc -l)" -eq 0
check "every ticket there at the start, newest first, no gaps" cmp -s "$WORK/expected" "$WORK/walked"

# the last page says so; the cursor is opaque and checked
check "the last page has next_cursor null" test "$(json_get "$WORK/body" 'd["next_cursor"] is None')" = True
check "a bad cursor: 400" test "$(page 'cursor=zz')" = 400
check "a forged cursor (not hex of time:id): 400" test "$(page "cursor=$(printf 'x' | od -An -tx1 | tr -d ' \n')")" = 400
check "limit=0: 400" test "$(page 'limit=0')" = 400
check "limit=abc: 400" test "$(page 'limit=abc')" = 400
check "limit above 1000 is capped" test "$(page 'limit=5000')" = 200
check "capped: at most 1000 and says so" test "$(json_get "$WORK/body" 'str(d["limit"]) + " " + str(len(d["tickets"]) <= 1000)')" = "1000 True"

# state= filters in the query: a walk over acknowledged tickets only
acked=$(q "SELECT count(*) FROM tickets WHERE state = 'acknowledged'")
: >"$WORK/acked"
cursor= pages=0
while :; do
	page "state=acknowledged&limit=10${cursor:+&cursor=$cursor}" >/dev/null
	json_get "$WORK/body" '"\n".join(t["id"] + " " + t["state"] for t in d["tickets"])' | sed '/^$/d' >>"$WORK/acked"
	cursor=$(json_get "$WORK/body" 'd["next_cursor"] or ""')
	pages=$((pages + 1))
	[ -n "$cursor" ] && [ "$pages" -lt 100 ] || break
done
check "state=acknowledged: all of them" test "$(wc -l <"$WORK/acked")" -eq "$acked"
check "state=acknowledged: only them" test "$(grep -vc ' acknowledged$' "$WORK/acked" || true)" -eq 0
check "state=acknowledged: pages of 10" test "$pages" -eq $(((acked + 9) / 10))

# since= (created then or later): the tickets of the late reports only
late=$(q "SELECT count(*) FROM tickets WHERE contact = 'late@org.example'")
first=$(q "SELECT min(created_at) FROM tickets WHERE contact = 'late@org.example'")
check "late reports made tickets" test "$late" -ge 1
page "since=$(date -u -d "@$first" +%Y-%m-%dT%H:%M:%SZ)&limit=1000" >/dev/null
check "since= keeps the tickets created then or later" test "$(json_get "$WORK/body" 'len(d["tickets"])')" -eq "$(q "SELECT count(*) FROM tickets WHERE created_at >= $first")"

stop_serve
finish
