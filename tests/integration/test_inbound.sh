#!/usr/bin/env bash
# Inbound mail through `renraku inbound` (the MTA pipe) and the maildir:
# the shapes of tests/fixtures/inbound/ (from ../shared/samples/mail/:
# a Postfix DSN, an RT autoreply, a Japanese human reply; and Exim and
# Exchange bounces, a delayed DSN, out-of-office replies in ja and de, a
# Znuny autoreply, a reply quoting the ticket id only in its body, a
# reply to an unknown ticket, malformed MIME, bytes that are no mail)
# each matched to the right ticket and classified, with the resulting
# ticket state; a 5.x.x bounce marks the address failing and the level-1
# notice goes out; a remote ticket number is quoted by later notices;
# nothing is applied twice; unmatched mail is kept and can be assigned.
. "$(dirname "$0")/lib.sh"

. "$(dirname "$0")/inbound_lib.sh"
cd "$WORK"
write_conf "maildir = inmail"
# feed FIXTURE TICKET RCPT: pipe it to renraku inbound --json
feed() {
	fill "$@" | R inbound --json >"in-$1.json"
}
class_of() { json_get "in-$1.json" 'd["class"]'; }
ticket_of() { json_get "in-$1.json" 'd["ticket"]'; }

mkdir -p inmail/new inmail/cur inmail/tmp
notify_demo
T1=20261121-000001 # noc@isp-a.example, chain 0,1,2
T2=20261121-000002
T3=20261121-000003 # csirt@bank-example.test, chain 0,1,2
T4=20261121-000004 # soc@agency-d.example, chain 0,1,2
T5=20261121-000005
T6=20261121-000006
T7=20261121-000007

# a delayed-delivery DSN: recorded, no state change
check "inbound: delayed DSN exits 0" feed dsn-delayed $T1 noc@isp-a.example
check "delayed DSN classified delayed" test "$(class_of dsn-delayed)" = delayed
check "delayed DSN matched by the original inside it" test "$(ticket_of dsn-delayed)" = $T1
check "delayed DSN: the ticket stays notified" test "$(state $T1)" = notified
check "delayed DSN: a timeline row notified -> notified, cause delayed" \
	test "$(q "SELECT count(*) FROM ticket_timeline WHERE ticket_id = '$T1' AND cause = 'delayed' AND from_state = 'notified' AND to_state = 'notified'")" -eq 1
check "delayed DSN: the address is not failing" test "$(q "SELECT count(*) FROM failing_addresses")" -eq 0

# the Postfix DSN (5.1.1): failing, escalated, the level-1 notice goes out
check "inbound: Postfix DSN exits 0" feed dsn-postfix $T1 noc@isp-a.example
check "Postfix DSN classified bounce" test "$(class_of dsn-postfix)" = bounce
check "Postfix DSN matched $T1" test "$(ticket_of dsn-postfix)" = $T1
check "Postfix DSN: noc@isp-a.example is failing" \
	test "$(q "SELECT count(*) FROM failing_addresses WHERE address = 'noc@isp-a.example' AND reply LIKE '5.1.1%'")" -eq 1
check "Postfix DSN: the delivery is bounced" \
	test "$(q "SELECT d.state FROM deliveries d JOIN messages m ON m.id = d.message_row WHERE m.ticket_id = '$T1' AND d.rcpt = 'noc@isp-a.example'")" = bounced
check "Postfix DSN: the ticket went up its chain (open, level 1, cause bounce)" \
	test "$(q "SELECT state || ':' || level FROM tickets WHERE id = '$T1'")" = open:1
check "Postfix DSN: timeline cause bounce" \
	test "$(q "SELECT count(*) FROM ticket_timeline WHERE ticket_id = '$T1' AND cause = 'bounce' AND to_state = 'open' AND level = 1")" -eq 1

# the RT autoreply, then the Japanese human reply, on T2
check "inbound: RT autoreply exits 0" feed autoreply-rt $T2 x
check "RT autoreply classified auto-reply" test "$(class_of autoreply-rt)" = auto-reply
check "RT autoreply matched $T2" test "$(ticket_of autoreply-rt)" = $T2
check "RT autoreply: auto-acknowledged" test "$(state $T2)" = auto-acknowledged
check "RT autoreply: the remote ticket kept" \
	test "$(q "SELECT remote_ticket FROM ticket_remote WHERE ticket_id = '$T2'")" = "[isp-b.example #88123]"
check "inbound: Japanese reply exits 0" feed reply-ja $T2 x
check "Japanese reply classified reply" test "$(class_of reply-ja)" = reply
check "Japanese reply: acknowledged" test "$(state $T2)" = acknowledged
check "Japanese reply: the timeline says reply" \
	test "$(q "SELECT count(*) FROM ticket_timeline WHERE ticket_id = '$T2' AND cause = 'reply' AND from_state = 'auto-acknowledged' AND to_state = 'acknowledged'")" -eq 1
check "Japanese reply: its body is kept, in UTF-8" \
	grep -q "端末を隔離しました" <<<"$(q "SELECT body FROM inbound WHERE ticket_id = '$T2' AND class = 'reply'")"
check "Japanese reply: the sender decoded" \
	grep -q "山田太郎" <<<"$(q "SELECT mail_from FROM inbound WHERE ticket_id = '$T2' AND class = 'reply'")"

# the same message again: recognised, nothing applied twice
tl=$(q "SELECT count(*) FROM ticket_timeline WHERE ticket_id = '$T2'")
check "the Japanese reply a second time exits 0" feed reply-ja $T2 x
check "it is recognised as stored before" test "$(json_get in-reply-ja.json 'd["duplicate"]')" = True
check "nothing applied twice (timeline unchanged)" test "$(q "SELECT count(*) FROM ticket_timeline WHERE ticket_id = '$T2'")" -eq "$tl"
check "stored once" test "$(q "SELECT count(*) FROM inbound WHERE ticket_id = '$T2' AND class = 'reply'")" -eq 1

# Exim bounce (X-Failed-Recipients, the original quoted)
check "inbound: Exim bounce exits 0" feed bounce-exim $T3 csirt@bank-example.test
check "Exim bounce classified bounce" test "$(class_of bounce-exim)" = bounce
check "Exim bounce matched $T3" test "$(ticket_of bounce-exim)" = $T3
check "Exim bounce: the failed recipient extracted" \
	test "$(q "SELECT failed_rcpts FROM inbound WHERE message_id = '<E1abcde-000123-4X@mx.exim-host.example>'")" = csirt@bank-example.test
check "Exim bounce: escalated to level 1" test "$(q "SELECT state || ':' || level FROM tickets WHERE id = '$T3'")" = open:1

# Exchange NDR: plain text, the Message-ID quoted does not match (filled
# with the notice's), so the subject tag inside "Undeliverable:" does
sed -e "s/@MID@/<not-ours@exchange-corp.example>/g" -e "s/@TID@/$T4/g" \
	-e "s/@RCPT@/soc@agency-d.example/g" -e "s/@PREFIX@/CSIRT-EXAMPLE/g" \
	"$FIX/bounce-exchange.eml" | R inbound --json >in-bounce-exchange.json
check "Exchange NDR classified bounce" test "$(class_of bounce-exchange)" = bounce
check "Exchange NDR matched $T4 by its subject tag" \
	test "$(json_get in-bounce-exchange.json 'd["ticket"] + ":" + d["matched_by"]')" = "$T4:subject"
check "Exchange NDR: the failed recipient extracted" \
	test "$(q "SELECT failed_rcpts FROM inbound WHERE message_id = '<ndr-77@exchange-corp.example>'")" = soc@agency-d.example
check "Exchange NDR: its status" \
	grep -q "^5.1.10" <<<"$(q "SELECT status FROM inbound WHERE message_id = '<ndr-77@exchange-corp.example>'")"
check "Exchange NDR: escalated to level 1" test "$(q "SELECT state || ':' || level FROM tickets WHERE id = '$T4'")" = open:1

# the level-1 notices of the three bounced tickets go out
check "run --once after the bounces" R -q run --once --now 2026-11-21T01:00:00Z
for t in $T1 $T3 $T4; do
	lvl1=$(q "SELECT email FROM ticket_contacts WHERE ticket_id = '$t' AND level = 1")
	check "$t: the level-1 notice to $lvl1 is sent" \
		test "$(q "SELECT state FROM messages WHERE ticket_id = '$t' AND rcpt LIKE '%$lvl1%' ORDER BY id DESC LIMIT 1")" = sent
	check "$t: the level-1 notice is a second message" test "$(q "SELECT count(*) FROM messages WHERE ticket_id = '$t'")" -eq 2
	check "$t: notified at level 1" test "$(q "SELECT state || ':' || level FROM tickets WHERE id = '$t'")" = notified:1
done

# out-of-office in Japanese (RFC 2047 subject, no Auto-Submitted) and
# German (Auto-Submitted), matched by the subject tag only
check "inbound: Japanese out-of-office" feed ooo-ja $T6 x
check "Japanese out-of-office classified auto-reply" test "$(class_of ooo-ja)" = auto-reply
check "Japanese out-of-office matched $T6 by subject" \
	test "$(json_get in-ooo-ja.json 'd["ticket"] + ":" + d["matched_by"]')" = "$T6:subject"
check "Japanese out-of-office: auto-acknowledged" test "$(state $T6)" = auto-acknowledged
check "inbound: German out-of-office" feed ooo-de $T7 x
check "German out-of-office classified auto-reply" test "$(class_of ooo-de)" = auto-reply
check "German out-of-office: auto-acknowledged" test "$(state $T7)" = auto-acknowledged

# Znuny autoreply: Ticket# number kept; a later notice quotes it
check "inbound: Znuny autoreply" feed autoreply-otrs $T5 x
check "Znuny autoreply classified auto-reply" test "$(class_of autoreply-otrs)" = auto-reply
check "Znuny autoreply: the remote ticket kept" \
	test "$(q "SELECT remote_ticket FROM ticket_remote WHERE ticket_id = '$T5'")" = "[Ticket#2026112110000012]"
# stands in for a reminder (the follow-up stage): the ticket is due again
q "UPDATE tickets SET state = 'open', send_after = 0 WHERE id = '$T5'; UPDATE ticket_events SET message_row = NULL WHERE ticket_id = '$T5'"
check "run --once builds the ticket's next notice" R -q run --once --now 2026-11-21T02:00:00Z
check "the next notice quotes the remote ticket in its subject" \
	grep -q "\[CSIRT-EXAMPLE #$T5\].*\[Ticket#2026112110000012\]" \
	<<<"$(q "SELECT subject FROM messages WHERE ticket_id = '$T5' ORDER BY id DESC LIMIT 1")"

# unmatched: a reply quoting the ticket id only in its body (bodies of
# replies are not searched), a reply to an unknown ticket, malformed
check "inbound: a reply quoting the id in its body only" feed reply-body-only $T6 x
check "body-only reply classified reply, unmatched" \
	test "$(json_get in-reply-body-only.json 'd["class"] + ":" + str(d["ticket"])')" = reply:None
check "inbound: a reply to an unknown ticket" feed reply-unknown $T6 x
check "unknown-ticket reply unmatched" test "$(ticket_of reply-unknown)" = None
check "inbound: malformed MIME exits 0" feed malformed $T6 x
check "malformed MIME stored, unmatched" test "$(ticket_of malformed)" = None
head -c 2000 /dev/urandom | tr -d '\n:' >junk.bin
check "inbound: bytes that are no mail exit 0" bash -c "'$RENRAKU' --config r.conf inbound --json junk.bin >in-junk.json"
check "no mail: classified malformed" test "$(class_of junk)" = malformed
R inbound list --unmatched --json >unmatched.json
check "inbound list --unmatched lists the four" test "$(json_get unmatched.json 'len(d["inbound"])')" -eq 4
R inbound list --unmatched >unmatched.txt
check "inbound list --unmatched (text) names the subject" grep -q "about your mail" unmatched.txt

# an operator assigns the body-only reply to T6: acknowledged then
msg=$(json_get unmatched.json '[m["id"] for m in d["inbound"] if m["subject"] == "about your mail"][0]')
check "inbound assign" R inbound assign --as alice "$msg" $T6
check "assigned: acknowledged" test "$(state $T6)" = acknowledged
check "assigned: recorded under the operator" \
	test "$(q "SELECT actor FROM ticket_timeline WHERE ticket_id = '$T6' AND cause = 'reply'")" = alice
rc=0; R inbound assign --as alice "$msg" $T6 2>/dev/null || rc=$?
check "assigning it again is refused (exit 65)" test "$rc" -eq 65

# tickets show --json: remote_ticket and the inbound messages
R tickets show $T2 --json >show2.json
check "tickets show --json: remote_ticket" test "$(json_get show2.json 'd["remote_ticket"]')" = "[isp-b.example #88123]"
check "tickets show --json: the ticket's inbound messages" test "$(json_get show2.json '",".join(m["class"] for m in d["inbound"])')" = auto-reply,reply
check "tickets show --json: state acknowledged" test "$(json_get show2.json 'd["state"]')" = acknowledged
R tickets show $T3 --json >show3.json
check "tickets show --json: remote_ticket null without an auto-reply" test "$(json_get show3.json 'd["remote_ticket"]')" = None

# the maildir: new/ taken by run, moved to cur/, a second pass takes nothing
fill ooo-de $T7 x | sed 's/ooo-de-1@/ooo-de-2@/' >inmail/new/1.eml
cp "$FIX/reply-unknown.eml" inmail/new/2.eml
check "run --once takes the maildir" R -q run --once --now 2026-11-21T03:00:00Z
check "maildir: new/ is empty" test -z "$(ls inmail/new)"
check "maildir: both messages in cur/" test "$(ls inmail/cur | wc -l)" -eq 2
check "maildir: stored with source maildir" test "$(q "SELECT count(*) FROM inbound WHERE source = 'maildir'")" -eq 2
cp inmail/cur/*2.eml* inmail/new/again.eml
R -q fetch-mail >/dev/null
check "maildir: the same message again is not stored twice" test "$(q "SELECT count(*) FROM inbound WHERE source = 'maildir'")" -eq 2

# limits: a message over [inbound] max_message is stored truncated
sed 's/^\[inbound\]$/[inbound]\nmax_message = 2k/' r.conf >small.conf
{ fill reply-unknown $T6 x | sed 's/unknown-1@/big-1@/'; head -c 6000 /dev/zero | tr '\0' 'x'; } >big.eml
check "inbound: a message over max_message exits 0" "$RENRAKU" --config small.conf -q inbound big.eml
check "stored truncated, its size recorded" \
	test "$(q "SELECT truncated || ':' || length(raw) || ':' || (size > 6000) FROM inbound WHERE message_id = '<big-1@isp-g.example>'")" = 1:2048:1

# the database cannot be written: 75, so that the MTA tries again
rc=0; "$RENRAKU" --config r.conf --db "$WORK/no/such/dir.db" inbound big.eml 2>/dev/null || rc=$?
check "no database: exit 75" test "$rc" -eq 75
printf '[store]\nbusy_timeout = 200\n' >>small.conf
"$PY" -c 'import sqlite3,sys,time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open(sys.argv[2], "w").close()
time.sleep(10)' renraku.db locked.flag &
locker=$!
for _ in $(seq 50); do [ -e locked.flag ] && break; sleep 0.1; done
rc=0; fill reply-unknown $T6 x | sed 's/unknown-1@/busy-1@/' | "$RENRAKU" --config small.conf inbound 2>/dev/null || rc=$?
kill "$locker" 2>/dev/null || true
wait "$locker" 2>/dev/null || true
check "the database is busy: exit 75" test "$rc" -eq 75

check "renraku never replies: nothing was sent to an inbound sender" \
	test "$(q "SELECT count(*) FROM messages WHERE rcpt LIKE '%isp-b.example%' OR rcpt LIKE '%isp-g.example%' OR rcpt LIKE '%MAILER-DAEMON%'")" -eq 0
finish
