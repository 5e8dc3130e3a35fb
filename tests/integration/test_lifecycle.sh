#!/usr/bin/env bash
# One ticket's whole life through the mail it gets and sends: the notice
# goes out, a ticket system answers with an auto-reply (auto-acknowledged:
# reminders continue on the longer clock, and later notices quote the
# remote ticket number), nobody answers, time passes (--now): a reminder
# to the same contact, then the notice to level 1 (the AS contact); the
# level-1 contact replies by mail (renraku inbound, In-Reply-To the
# escalation), the ticket is acknowledged, and nothing more is sent,
# however much time passes.
. "$(dirname "$0")/lib.sh"

conf="$WORK/renraku.conf"
cp -r "$RK_SOURCE_DIR/templates" "$WORK/templates"
cat >"$conf" <<CONF
[relay]
name = Test CSIRT
from = csirt@test.example
ticket_prefix = TEST
templates = templates
public_url = https://csirt.test.example/
[gpg]
home = gnupg
[transport]
url = maildir:outbox
[aggregate]
window = 0
[resolve]
sources = local
[escalation.high]
remind_after = 4h
escalate_after = 24h
levels = 1
[tracking]
auto_ack_factor = 2
CONF
R() { "$RENRAKU" --config "$conf" "$@"; }
db="$WORK/renraku.db"
q() { sqlite3 "$db" "$1"; }
mails() { find "$WORK/outbox/new" -type f | wc -l; }
hdr() { grep -m1 -i "^$1:" "$2" | tr -d '\r' | sed 's/^[^:]*: *//'; }
subj() { "$PY" -c 'import email,sys; from email.header import decode_header, make_header; m = email.message_from_binary_file(open(sys.argv[1], "rb")); print(str(make_header(decode_header(m["Subject"]))))' "$1"; }
newest_to() { grep -l "^To:.*$1" $(ls -t "$WORK"/outbox/new/*) | head -1; }

check "init --gen-key" R -q init --gen-key
check "contacts import" R -q contacts import "$RK_SOURCE_DIR/contacts"
cat >"$WORK/ev.jsonl" <<'EV'
{"time.source":"2026-11-20T09:00:00Z","source.ip":"192.0.2.10","source.asn":64500,"classification.type":"infected-system","tlp":"GREEN"}
EV
check "ingest" R -q ingest "$WORK/ev.jsonl"
check "first run sends the notice" R -q run --once --now 2026-11-20T10:00:00Z
T=$(q "SELECT id FROM tickets")
check "one notice" test "$(mails)" -eq 1
first=$(hdr Message-ID "$(newest_to noc@isp-a.example)")

# The ISP's ticket system answers: auto-acknowledged, remote number kept.
cat >"$WORK/auto.eml" <<MAIL
From: helpdesk@isp-a.example
To: csirt@test.example
Subject: [isp-a.example #88123] AutoReply: [TEST #$T] notice
Message-ID: <auto-1@isp-a.example>
In-Reply-To: $first
Auto-Submitted: auto-replied
Date: Fri, 20 Nov 2026 10:05:00 +0000
Content-Type: text/plain; charset=us-ascii

Your request has been received and assigned ticket 88123.
MAIL
check "inbound auto-reply" R -q --now 2026-11-20T10:05:00Z inbound "$WORK/auto.eml"
check "ticket auto-acknowledged" test "$(q "SELECT state FROM tickets WHERE id = '$T'")" = auto-acknowledged
R tickets show "$T" --json >"$WORK/t1.json"
check "remote ticket kept" bash -c "grep -q '88123' '$WORK/t1.json'"
check "the next action is a reminder on the longer clock (x2: +8h)" \
	test "$(json_get "$WORK/t1.json" 'd["next_action"]["action"] + " " + d["next_action"]["at"]')" = "remind 2026-11-20T18:00:00Z"

# +4h: nothing (auto-acknowledged waits twice as long); +8h: the reminder.
check "run at +4h" R -q run --once --now 2026-11-20T14:00:30Z
check "no reminder yet" test "$(mails)" -eq 1
check "run at +8h" R -q run --once --now 2026-11-20T18:00:30Z
check "the reminder" test "$(mails)" -eq 2
rem=$(newest_to noc@isp-a.example)
check "reminder References the first notice" test "$(hdr References "$rem")" = "$first"
check "reminder subject quotes the remote ticket" bash -c "[[ '$(subj "$rem")' == *'[isp-a.example #88123]'* ]]"

# +48h (escalate_after x2): the notice to level 1, the AS contact.
check "run at +48h" R -q run --once --now 2026-11-22T10:00:30Z
check "the escalation" test "$(mails)" -eq 3
esc=$(newest_to abuse@isp-a.example)
check "escalation to the AS contact" test -n "$esc"
check "ticket at level 1" test "$(q "SELECT level FROM tickets WHERE id = '$T'")" = 1
esc_id=$(hdr Message-ID "$esc")

# The level-1 contact replies, a person: acknowledged.
cat >"$WORK/reply.eml" <<MAIL
From: Abuse Desk <abuse@isp-a.example>
To: csirt@test.example
Subject: Re: [TEST #$T] notice
Message-ID: <reply-1@isp-a.example>
In-Reply-To: $esc_id
References: $first $esc_id
Date: Sun, 22 Nov 2026 11:00:00 +0000
Content-Type: text/plain; charset=utf-8

Thanks, we have contacted the customer and the host is being cleaned.
MAIL
check "inbound reply" R -q --now 2026-11-22T11:00:00Z inbound "$WORK/reply.eml"
check "ticket acknowledged" test "$(q "SELECT state FROM tickets WHERE id = '$T'")" = acknowledged
check "the timeline records the reply" test "$(q "SELECT count(*) FROM ticket_timeline WHERE ticket_id = '$T' AND cause = 'reply'")" -eq 1
R tickets show "$T" --json >"$WORK/t2.json"
check "no next action" test "$(json_get "$WORK/t2.json" 'd["next_action"]["action"]')" = none

# Nothing more, however much time passes.
check "run a week later" R -q run --once --now 2026-11-29T11:00:00Z
check "run a month later" R -q run --once --now 2026-12-22T11:00:00Z
check "nothing more was sent" test "$(mails)" -eq 3
check "renraku never answered the inbound mail" \
	bash -c "! grep -l '^To:.*helpdesk@isp-a.example' '$WORK'/outbox/new/* | grep -q ."

finish
