#!/usr/bin/env bash
# The whole lifecycle of tracking with the maildir transport: notices go
# out, nobody answers, time passes (--now): a reminder to the same
# contact (References to the first Message-ID), then the next level of
# the chain (the AS contact); the level-1 contact acknowledges by the
# link's token and later runs send nothing more.  A ticket nobody
# answers ends expired at the end of its chain.  A forged token changes
# nothing; the database holds no token in clear; a disputed ticket
# suppresses the next event of the same subject and type.
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
[escalation.high]
remind_after = 4h
escalate_after = 24h
levels = 1
[tracking]
dispute_suppress = 30d
CONF
R() { "$RENRAKU" --config "$conf" "$@"; }
db="$WORK/renraku.db"
q() { sqlite3 "$db" "$1"; }
mails() { find "$WORK/outbox/new" -type f | wc -l; }
newest() { ls -t "$WORK"/outbox/new/* | head -1; }
subj() { "$PY" -c 'import email,sys; from email.header import decode_header, make_header; m = email.message_from_binary_file(open(sys.argv[1], "rb")); print(str(make_header(decode_header(m["Subject"]))))' "$1"; }
hdr() { grep -m1 -i "^$1:" "$2" | tr -d '\r' | sed 's/^[^:]*: *//'; }

check "init --gen-key" R -q init --gen-key
check "contacts import" R -q contacts import "$RK_SOURCE_DIR/contacts"
cat >"$WORK/ev1.jsonl" <<'EV'
{"time.source":"2026-11-20T09:00:00Z","source.ip":"192.0.2.10","source.asn":64500,"classification.type":"infected-system","tlp":"GREEN"}
{"time.source":"2026-11-20T09:00:00Z","source.ip":"203.0.113.7","classification.type":"phishing","source.url":"http://203.0.113.7/login","tlp":"GREEN"}
EV
check "ingest" R -q ingest "$WORK/ev1.jsonl"
check "first run" R -q run --once --now 2026-11-20T10:00:00Z
A=$(q "SELECT id FROM tickets WHERE template = 'infected-system'")
B=$(q "SELECT id FROM tickets WHERE template = 'phishing'")
check "two notices" test "$(mails)" -eq 2
first_a=$(q "SELECT message_id FROM messages WHERE ticket_id = '$A' ORDER BY id LIMIT 1")
R tickets show "$A" --json >"$WORK/a1.json"
check "show --json: state notified, level 0" test "$(json_get "$WORK/a1.json" 'd["state"] + str(d["level"])')" = notified0
check "show --json: next action a reminder at +remind_after" test "$(json_get "$WORK/a1.json" 'd["next_action"]["action"] + " " + d["next_action"]["at"]')" = "remind 2026-11-20T14:00:00Z"
check "tickets list shows the next action" bash -c "R() { \"$RENRAKU\" --config \"$conf\" \"\$@\"; }; R tickets list | grep -q '^$A .*next: remind at 2026-11-20T14:00:00Z'"
check "the notice's link carries a token, not the ticket id" bash -c "grep -i '^X-Renraku-Ack:' '$WORK'/outbox/new/* | grep -qv '$A'"

# A new event for the notified contact joins its ticket (no new ticket,
# no mail now) and goes out with the reminder.
cat >"$WORK/ev1b.jsonl" <<'EV'
{"time.source":"2026-11-20T10:30:00Z","source.ip":"192.0.2.11","source.asn":64500,"classification.type":"infected-system","tlp":"GREEN"}
EV
check "ingest an event for the notified contact" R -q ingest "$WORK/ev1b.jsonl"
check "run" R -q run --once --now 2026-11-20T11:00:00Z
check "it joined the notified ticket" test "$(q "SELECT te.ticket_id FROM ticket_events te JOIN events e ON e.id = te.event_id WHERE e.source_ip = '192.0.2.11'")" = "$A"
check "no new ticket, no mail yet" test "$(q "SELECT count(*) FROM tickets")-$(mails)" = 2-2

# Before the time: nothing.  A restart (another run as of the same time)
# changes nothing.
check "run before remind_after" R -q run --once --now 2026-11-20T13:59:00Z
check "nothing sent before remind_after" test "$(mails)" -eq 2

# + remind_after: a reminder to the same contact, References the first.
check "run at +remind_after" R -q run --once --now 2026-11-20T14:00:30Z
check "two reminders sent" test "$(mails)" -eq 4
ra=$(grep -l "^To:.*noc@isp-a.example" $(ls -t "$WORK"/outbox/new/* | head -2))
check "reminder to the level-0 contact" test -n "$ra"
check "reminder References the first Message-ID" test "$(hdr References "$ra")" = "$first_a"
check "reminder In-Reply-To the first Message-ID" test "$(hdr In-Reply-To "$ra")" = "$first_a"
check "reminder subject is marked (ja: 【再送】)" bash -c "[[ '$(subj "$ra")' == 【再送】* ]]"
check "and keeps the ticket tag" bash -c "[[ '$(subj "$ra")' == *'[TEST #$A]'* ]]"
check "the reminder carries the event that arrived since" grep -q "192.0.2.11" "$ra"
check "and the first one" grep -q "192.0.2.10" "$ra"
check "reminder recorded as kind reminder" test "$(q "SELECT count(*) FROM messages WHERE ticket_id = '$A' AND kind = 'reminder'")" -eq 1
check "same run again: nothing more" R -q run --once --now 2026-11-20T14:00:30Z
check "no reminder twice" test "$(mails)" -eq 4

# + escalate_after: level 1 (the AS contact) for A; B has no level 1:
# expired at the end of its chain.
check "run at +escalate_after" R -q run --once --now 2026-11-21T10:00:30Z
check "one escalation sent" test "$(mails)" -eq 5
esc=$(newest)
check "escalation to the AS contact" grep -q "^To:.*abuse@isp-a.example" "$esc"
check "escalation References the first notice" test "$(hdr References "$esc")" = "$first_a"
check "escalation says when the first notice went" grep -q "2026-11-20 10:00:00" "$esc"
check "A at level 1" test "$(q "SELECT state || level FROM tickets WHERE id = '$A'")" = notified1
check "B expired" test "$(q "SELECT state FROM tickets WHERE id = '$B'")" = expired
check "B's timeline says no-answer" test "$(q "SELECT cause FROM ticket_timeline WHERE ticket_id = '$B' ORDER BY id DESC LIMIT 1")" = no-answer

# The level-1 contact acknowledges by the link.
token=$(hdr X-Renraku-Ack "$esc" | sed 's|.*/ack/||; s|>.*||')
check "the token has at least 128 bits" test "${#token}" -ge 32
forged=$(printf '%s' "$token" | tr '0-9a-f' '1-9a0-f')
rc=0; R ack --token "$forged" --status received >/dev/null 2>&1 || rc=$?
check "a forged token is refused (65)" test "$rc" -eq 65
check "a forged token changes nothing" test "$(q "SELECT state FROM tickets WHERE id = '$A'")" = notified
# The message itself (kept whole until it is delivered, to resend it
# after a crash) carries its link like the rest of its text; nothing
# else in the database holds the token.
sqlite3 "$db" .dump | grep -v -e "^INSERT INTO messages " -e "^INSERT INTO message_raw " >"$WORK/dump.sql"
check "the database holds no token in clear (outside the message)" bash -c "! grep -q '$token' '$WORK/dump.sql'"
check "the token's SHA-256 is what is kept" test "$(q "SELECT count(*) FROM ack_tokens WHERE token_hash = '$(printf '%s' "$token" | sha256sum | cut -d' ' -f1)'")" -eq 1
check "the token's hash is kept" test "$(q "SELECT count(*) FROM ack_tokens WHERE ticket_id = '$A' AND level = 1")" -eq 1
check "ack by token, an hour later" R -q --now 2026-11-21T11:00:30Z ack --token "$token" --status received --note "looking into it"
check "A acknowledged" test "$(q "SELECT state FROM tickets WHERE id = '$A'")" = acknowledged
R tickets show "$A" --json >"$WORK/a2.json"
check "show --json: next action none" test "$(json_get "$WORK/a2.json" 'd["next_action"]["action"]')" = none
check "run a week later" R -q run --once --now 2026-11-28T10:00:00Z
check "nothing more is sent" test "$(mails)" -eq 5
# Responsiveness: the level-1 address answered 1 of 1 in 1h; the
# level-0 one got the notice and the reminder and never answered.
R contacts stats abuse@isp-a.example --json >"$WORK/st1.json"
check "stats: level-1 address: 1 sent, 1 acknowledged" test "$(json_get "$WORK/st1.json" '"%d/%d" % (d["sent"], d["acknowledged"])')" = 1/1
check "stats: median first answer 1h" test "$(json_get "$WORK/st1.json" 'd["median_answer_seconds"]')" -eq 3600
R contacts stats noc@isp-a.example --json >"$WORK/st0.json"
check "stats: level-0 address: 2 sent, none answered" test "$(json_get "$WORK/st0.json" '"%d/%d/%s" % (d["sent"], d["acknowledged"], d["median_answer_seconds"])')" = 2/0/None
R contacts stats AS64500 --json >"$WORK/st2.json"
check "stats: the origin AS: 3 notices, 1 answer" test "$(json_get "$WORK/st2.json" '"%d/%d" % (d["sent"], d["acknowledged"])')" = 3/1
check "stats: text form" bash -c "R() { \"$RENRAKU\" --config \"$conf\" \"\$@\"; }; R contacts stats 64500 | grep -q 'acknowledged  *1'"
rc=0; R contacts stats nonsense >/dev/null 2>&1 || rc=$?
check "stats: neither an address nor an AS is a usage error (2)" test "$rc" -eq 2

rc=0; R ack "$B" --status received --as alice >/dev/null 2>&1 || rc=$?
check "an expired ticket cannot be acknowledged (65)" test "$rc" -eq 65

# A dispute suppresses the next event of the same subject and type.
cat >"$WORK/ev2.jsonl" <<'EV'
{"time.source":"2026-11-28T09:00:00Z","source.ip":"203.0.113.9","classification.type":"phishing","source.url":"http://203.0.113.9/x","tlp":"GREEN"}
EV
check "ingest a third event" R -q ingest "$WORK/ev2.jsonl"
check "run" R -q run --once --now 2026-11-28T10:01:00Z
C=$(q "SELECT t.id FROM tickets t JOIN ticket_events te ON te.ticket_id = t.id JOIN events e ON e.id = te.event_id WHERE e.source_ip = '203.0.113.9'")
check "ack disputed" R -q ack "$C" --status disputed --note "not ours" --as alice
check "C disputed" test "$(q "SELECT state FROM tickets WHERE id = '$C'")" = disputed
check "a suppression for its subject and type" test "$(q "SELECT count(*) FROM suppressions WHERE match = '203.0.113.9' AND type = 'phishing' AND source = 'ack:$C'")" -eq 1
cat >"$WORK/ev3.jsonl" <<'EV'
{"time.source":"2026-11-29T09:00:00Z","source.ip":"203.0.113.9","classification.type":"phishing","source.url":"http://203.0.113.9/y","tlp":"GREEN"}
EV
check "ingest the same subject again" R -q ingest "$WORK/ev3.jsonl"
n_before=$(mails)
check "run" R -q run --once --now 2026-11-29T10:00:00Z
check "the disputed subject is suppressed" test "$(q "SELECT state FROM events WHERE source_url = 'http://203.0.113.9/y'")" = suppressed
check "nothing sent for it" test "$(mails)" -eq "$n_before"
R contacts import "$RK_SOURCE_DIR/contacts" >"$WORK/imp.txt" 2>&1
check "a contacts import neither removes nor counts it" grep -q "suppress.csv 0 added, 0 changed, 0 removed" "$WORK/imp.txt"
check "still there" test "$(q "SELECT count(*) FROM suppressions WHERE source = 'ack:$C'")" -eq 1
finish
