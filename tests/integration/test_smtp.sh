#!/usr/bin/env bash
# The SMTP transport against an aiosmtpd server on loopback (smtp_sink.py)
# with STARTTLS (a throwaway CA, the certificate checked against the
# address in the URL) and AUTH: notices arrive byte for byte as stored and
# verify with gpg; many messages go in one session; a 550 marks the
# address failing and sends the ticket up its chain at once, its notice
# reaching the level-1 contact in a second STARTTLS session of the same
# process; TLP:RED never arrives; `contacts failing` / `contacts clear`.
# Then what must fail fails clearly: STARTTLS required against a server
# without it, a CA that did not sign the server's certificate, a password
# file others may read, wrong credentials; a 450 and a server that is
# down defer, uncounted for a connection failure, and the messages arrive
# once the server is back; a drop in DATA repeats nothing that arrived.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp_lib.sh"

make_ca "$WORK/ca" localhost 127.0.0.1
mkdir -p "$WORK/other-ca"
make_ca "$WORK/other-ca" localhost 127.0.0.1 # a CA the relay does not trust

start_sink tls "$WORK/sink" --tls-cert "$WORK/ca/server.pem" \
	--tls-key "$WORK/ca/server.key" --require-tls --auth relay:s3cret \
	--reject csirt@bank-example.test
TLS_PORT=$SINK_PORT

cd "$WORK"
printf 's3cret\n' >"$WORK/smtp.pw"
chmod 600 "$WORK/smtp.pw"
write_conf() { # write_conf FILE PORT [extra [transport] lines]
	local f=$1 port=$2
	shift 2
	cat >"$f" <<CONF
[relay]
name = SMTP CSIRT
from = csirt@smtp.example
[store]
path = $(basename "$f" .conf).db
[gpg]
home = gnupg
[transport]
url = smtp://127.0.0.1:$port
ca_file = ca/ca.pem
user = relay
password_file = smtp.pw
timeout = 5000
$(printf '%s\n' "$@")
[aggregate]
window = 0
CONF
}
# new_relay FN: a relay with the demo's contacts and events, run as FN
new_relay() {
	"$1" -q init >/dev/null
	"$1" -q contacts import "$RK_SOURCE_DIR/contacts" >/dev/null
	"$1" -q ingest "$RK_SOURCE_DIR/demo/events.jsonl" >/dev/null
}
write_conf "$WORK/r.conf" "$TLS_PORT"
R() { "$RENRAKU" --config "$WORK/r.conf" "$@"; }
check "init --gen-key" R -q init --gen-key
check "contacts import" R -q contacts import "$RK_SOURCE_DIR/contacts" >/dev/null
check "ingest the demo events" R -q ingest "$RK_SOURCE_DIR/demo/events.jsonl"
now=$(date +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

rc=0
R run --once --now "$(iso "$now")" --json >run1.json 2>run1.err || rc=$?
check "run --once over SMTP exits 0 (rc $rc)" test "$rc" -eq 0
nmsg=$(sqlite3 r.db "SELECT count(*) FROM messages")
nsent=$(sqlite3 r.db "SELECT count(*) FROM messages WHERE state = 'sent'")
check "every notice but the bounced one was sent ($nsent of $nmsg)" test "$nsent" -eq $((nmsg - 1))
check "the sink holds one message per sent notice" test "$(sink_count sink)" -eq "$nsent"
check "AUTH was used and accepted" grep -q " ok" sink/auth.log
check "every message came over TLS" \
	"$PY" -c 'import json,glob,sys; sys.exit(not all(json.load(open(f))["tls"] for f in glob.glob(sys.argv[1]+"/*.json")))' "$WORK/sink"
check "the server's reply is stored" test \
	"$(sqlite3 r.db "SELECT count(*) FROM messages WHERE state = 'sent' AND reply LIKE '250 2.0.0 Ok: queued as %'")" -eq "$nsent"
check "each recipient's reply is stored" test \
	"$(sqlite3 r.db "SELECT count(*) FROM deliveries WHERE state = 'sent' AND reply LIKE '250 %'")" -eq \
	"$(sqlite3 r.db "SELECT count(*) FROM deliveries WHERE state = 'sent'")"

# the exact bytes: what arrived is what the store holds, libESMTP added
# nothing (no second Date, From or Message-ID, no Bcc)
same=0
for f in sink/*.eml; do
	mid=$(sed -n 's/^Message-I[Dd]: \(<[^>]*>\).*/\1/p' "$f" | head -1 | tr -d '\r')
	sqlite3 r.db "SELECT writefile('stored.eml', r.raw) FROM messages m JOIN message_raw r ON r.message_row = m.id WHERE m.message_id = '$mid'" >/dev/null
	cmp -s stored.eml "$f" && same=$((same + 1))
done
check "every message arrived byte for byte as stored ($same)" test "$same" -eq "$nsent"
check "one Date, From and Message-ID each, no Bcc" bash -c '
	for f in sink/*.eml; do
		h=$(sed "/^\r\?$/q" "$f")
		[ "$(grep -c "^Date:" <<<"$h")" = 1 ] || exit 1
		[ "$(grep -c "^From:" <<<"$h")" = 1 ] || exit 1
		[ "$(grep -ci "^Message-Id:" <<<"$h")" = 1 ] || exit 1
		grep -qi "^Bcc:" <<<"$h" && exit 1
	done; exit 0'
"$PY" "$RK_SOURCE_DIR/tests/integration/verify_mail.py" --key signing-key.asc sink/*.eml \
	>verify.jsonl 2>verify.err
check "every message at the sink verifies with gpg --verify" test $? -eq 0
check "TLP:RED never arrives (the RED event's address and note are in no message)" \
	bash -c '! grep -q -e "192.0.2.99" -e "targeted intrusion" verify.jsonl sink/*.eml'

# the 550: failing, and the ticket went up its chain in the same run
bounced=$(sqlite3 r.db "SELECT m.ticket_id FROM deliveries d JOIN messages m ON m.id = d.message_row WHERE d.state = 'bounced'")
check "the 550 is recorded as bounced with the server's reply" test \
	"$(sqlite3 r.db "SELECT count(*) FROM deliveries WHERE state = 'bounced' AND rcpt = 'csirt@bank-example.test' AND reply LIKE '550 5.1.1 %'")" -eq 1
check "the address is marked failing" grep -q "^csirt@bank-example.test " <(R contacts failing)
check "ticket $bounced is at level 1" test "$(sqlite3 r.db "SELECT level FROM tickets WHERE id = '$bounced'")" -eq 1
check "its timeline says bounce" test \
	"$(sqlite3 r.db "SELECT count(*) FROM ticket_timeline WHERE ticket_id = '$bounced' AND cause = 'bounce' AND from_state = 'notified' AND to_state = 'open' AND level = 1")" -eq 1
lvl1=$(sqlite3 r.db "SELECT email FROM ticket_contacts WHERE ticket_id = '$bounced' AND level = 1")
check "the level-1 notice reached $lvl1 at the sink (second STARTTLS session of the process)" \
	"$PY" -c 'import json,glob,sys; sys.exit(not any(sys.argv[2] in json.load(open(f))["rcpts"] and json.load(open(f))["tls"] for f in glob.glob(sys.argv[1]+"/*.json")))' "$WORK/sink" "$lvl1"
check "the level-1 notice carries the bounced notice's event" \
	"$PY" -c 'import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
sys.exit(not any(r.get("to","").find(sys.argv[2])>=0 and "login.bank-example.test" in (r.get("csv") or "")+(r.get("body") or "") for r in rows))' verify.jsonl "$lvl1"
check "run --json counts the bounce and the escalation" test \
	"$(json_get run1.json '(d["bounced"], d["escalated"])')" = "(1, 1)"
check "contacts clear puts the address back" grep -q "cleared csirt@bank-example.test" <(R contacts clear --as tester csirt@bank-example.test)
check "and it is no longer failing" grep -q "no failing addresses" <(R contacts failing)
check "the clearing is audited with the operator" test \
	"$(sqlite3 r.db "SELECT count(*) FROM audit_log WHERE action = 'address.cleared' AND actor = 'tester'")" -eq 1

# 130 notices in one run: two sessions (100 messages each at most) on
# the transport's one SSL_CTX, both with STARTTLS, in one process
mkdir -p many/contacts
printf 'org,match,email,cc,pgp,lang,format,notes\n' >many/contacts/constituency.csv
printf 'country,team,email,pgp,lang\n' >many/contacts/national-csirts.csv
printf 'match,type,until,reason\n' >many/contacts/suppress.csv
for i in $(seq 1 130); do
	echo "Many $i,10.9.$i.0/24,m$i@many.example,,,en,," >>many/contacts/constituency.csv
	printf '{"feed.name": "Many", "time.source": "2026-11-20T10:00:00+00:00", "source.ip": "10.9.%d.1", "classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system"}\n' "$i"
done >many/events.jsonl
start_sink many "$WORK/sink-many" --tls-cert "$WORK/ca/server.pem" \
	--tls-key "$WORK/ca/server.key" --require-tls --auth relay:s3cret
write_conf "$WORK/m.conf" "$SINK_PORT"
M() { "$RENRAKU" --config "$WORK/m.conf" "$@"; }
M -q init >/dev/null
M -q contacts import many/contacts >/dev/null
M -q ingest many/events.jsonl >/dev/null
rc=0; M run --once --now "$(iso "$now")" >m1.out 2>m1.err || rc=$?
check "130 notices over STARTTLS in one run (rc $rc)" test "$rc" -eq 0 -a "$(sink_count sink-many)" -eq 130
check "in two sessions, each authenticated" test "$(grep -c ' ok' sink-many/auth.log)" -eq 2
check "all of them over TLS" \
	"$PY" -c 'import json,glob,sys; sys.exit(not all(json.load(open(f))["tls"] for f in glob.glob(sys.argv[1]+"/*.json")))' "$WORK/sink-many"

# ---------------------------------------------------------------- failures
# STARTTLS required against a server that does not offer it
start_sink plain "$WORK/sink-plain"
PLAIN_PID=$SINK_PID
write_conf "$WORK/p.conf" "$SINK_PORT"
P() { "$RENRAKU" --config "$WORK/p.conf" "$@"; }
new_relay P
rc=0; P run --once --now "$(iso "$now")" --json >p1.json 2>p1.err || rc=$?
check "starttls = required without STARTTLS: temporary failure, exit 75 (rc $rc)" test "$rc" -eq 75
check "the error says why" grep -q "does not offer STARTTLS and \[transport\] starttls = required" p1.err
check "nothing reached the server" test "$(sink_count sink-plain)" -eq 0
check "every message deferred, its attempt not counted" test \
	"$(sqlite3 p.db "SELECT count(*) FROM messages WHERE state = 'deferred' AND attempts = 0")" -eq \
	"$(sqlite3 p.db "SELECT count(*) FROM messages")"
check "no recipient counted as tried" test \
	"$(sqlite3 p.db "SELECT count(*) FROM deliveries WHERE attempts > 0 OR state <> 'queued'")" -eq 0
stop_sink "$PLAIN_PID"

# a CA that did not sign the server's certificate
sed -i 's#^ca_file = .*#ca_file = other-ca/ca.pem#' "$WORK/p.conf"
sed -i "s#^url = .*#url = smtp://127.0.0.1:$TLS_PORT#" "$WORK/p.conf"
rc=0; P run --once --now "$(iso $((now + 3600)))" >p2.out 2>p2.err || rc=$?
check "an untrusted certificate: exit 75 (rc $rc)" test "$rc" -eq 75
check "the error names TLS and the certificate" grep -qi "TLS.*certificate verify failed\|certificate.*not valid" p2.err
# a host name the certificate does not carry
sed -i 's#^ca_file = .*#ca_file = ca/ca.pem#' "$WORK/p.conf"
make_ca "$WORK/ca-wrong" wrong.example 192.0.2.1
start_sink wrongname "$WORK/sink-wrong" --tls-cert "$WORK/ca-wrong/server.pem" \
	--tls-key "$WORK/ca-wrong/server.key" --require-tls
WRONG_PID=$SINK_PID
sed -i "s#^url = .*#url = smtp://127.0.0.1:$SINK_PORT#; s#^ca_file = .*#ca_file = ca-wrong/ca.pem#" "$WORK/p.conf"
rc=0; P run --once --now "$(iso $((now + 7200)))" >p3.out 2>p3.err || rc=$?
check "a certificate for another name: exit 75, nothing sent (rc $rc)" \
	test "$rc" -eq 75 -a "$(sink_count sink-wrong)" -eq 0
stop_sink "$WRONG_PID"
sed -i "s#^url = .*#url = smtp://127.0.0.1:$TLS_PORT#; s#^ca_file = .*#ca_file = ca/ca.pem#" "$WORK/p.conf"

# the password file
chmod 644 smtp.pw
rc=0; P run --once --now "$(iso $((now + 10800)))" >p4.out 2>p4.err || rc=$?
check "a password file others may read is refused (rc $rc)" test "$rc" -ne 0
check "the error names the file and the fix" grep -q "password_file '.*smtp.pw' can be read by group or others (mode 0644): chmod 600 it" p4.err
chmod 600 smtp.pw
printf 'wrong\n' >bad.pw
chmod 600 bad.pw
sed -i 's#^password_file = .*#password_file = bad.pw#' "$WORK/p.conf"
before=$(sink_count sink)
rc=0; P run --once --now "$(iso $((now + 14400)))" >p5.out 2>p5.err || rc=$?
check "wrong credentials: exit 75, nothing accepted (rc $rc)" test "$rc" -eq 75 -a "$(sink_count sink)" -eq "$before"
check "the error names the server" grep -q "smtp 127.0.0.1:$TLS_PORT" p5.err
sed -i 's#^password_file = .*#password_file = smtp.pw#' "$WORK/p.conf"
rc=0; P run --once --now "$(iso $((now + 18000)))" --json >p6.json 2>p6.err || rc=$?
check "fixed: the deferred messages go out (rc $rc)" test "$rc" -eq 0 -a \
	"$(sqlite3 p.db "SELECT count(*) FROM messages WHERE state IN ('queued', 'deferred', 'sending')")" -eq 0

# a 450 for one recipient, and a server that is down and comes back
start_sink defer "$WORK/sink-defer" --defer noc@isp-a.example
DEFER_PID=$SINK_PID
DEFER_PORT=$SINK_PORT
write_conf "$WORK/d.conf" "$DEFER_PORT" "starttls = off" "retry_initial = 10m"
sed -i '/^user = /d; /^password_file = /d' "$WORK/d.conf"
D() { "$RENRAKU" --config "$WORK/d.conf" "$@"; }
new_relay D
rc=0; D run --once --now "$(iso "$now")" --json >d1.json 2>d1.err || rc=$?
check "a 450: the run goes on (rc $rc)" test "$rc" -eq 0
check "the 450 recipient is deferred with the reply" test \
	"$(sqlite3 d.db "SELECT count(*) FROM deliveries WHERE rcpt = 'noc@isp-a.example' AND state = 'deferred' AND reply LIKE '450 4.2.1 %'")" -eq 1
check "its Cc got the message" test \
	"$(sqlite3 d.db "SELECT state FROM deliveries WHERE rcpt = 'abuse@isp-a.example' AND message_row = (SELECT message_row FROM deliveries WHERE rcpt = 'noc@isp-a.example')")" = sent
stop_sink "$DEFER_PID"
rc=0; D run --once --now "$(iso $((now + 3600)))" --json >d2.json 2>d2.err || rc=$?
check "server down: temporary failure, exit 75 (rc $rc)" test "$rc" -eq 75
check "the error names the server" grep -q "smtp 127.0.0.1:$DEFER_PORT" d2.err
check "down: the attempt is not counted" test \
	"$(sqlite3 d.db "SELECT attempts FROM deliveries WHERE rcpt = 'noc@isp-a.example'")" -eq 1
start_sink defer2 "$WORK/sink-defer" --port "$DEFER_PORT"
DEFER_PID=$SINK_PID
rc=0; D run --once --now "$(iso $((now + 3601)))" --json >d3.json 2>d3.err || rc=$?
check "back, but before the retry time: nothing sent" test "$(json_get d3.json 'd["sent"]')" -eq 0
rc=0; D run --once --now "$(iso $((now + 3600 + 601 + 120)))" --json >d4.json 2>d4.err || rc=$?
check "back: the deferred message arrives (rc $rc)" test "$(json_get d4.json 'd["sent"]')" -eq 1
check "the deferred recipient got it" grep -q "^250 noc@isp-a.example" sink-defer/rcpt.log

# a drop at the end of DATA: nothing that arrived repeats
start_sink drop "$WORK/sink-drop" --drop-data 1
DROP_PID=$SINK_PID
write_conf "$WORK/x.conf" "$SINK_PORT" "starttls = off"
sed -i '/^user = /d; /^password_file = /d' "$WORK/x.conf"
X() { "$RENRAKU" --config "$WORK/x.conf" "$@"; }
new_relay X
rc=0; X run --once --now "$(iso "$now")" >x1.out 2>x1.err || rc=$?
check "a drop in DATA: exit 75 (rc $rc)" test "$rc" -eq 75
check "nothing arrived" test "$(sink_count sink-drop)" -eq 0
check "all deferred, none counted" test \
	"$(sqlite3 x.db "SELECT count(*) FROM messages WHERE state = 'deferred' AND attempts = 0")" -eq \
	"$(sqlite3 x.db "SELECT count(*) FROM messages")"
X -q run --once --now "$(iso $((now + 900)))" 2>x2.err || true
total=$(sqlite3 x.db "SELECT count(*) FROM messages")
check "all $total arrive afterwards" test "$(sink_count sink-drop)" -eq "$total"
check "each Message-ID once" test "$(grep -h -i '^Message-Id:' sink-drop/*.eml | sort | uniq -d | wc -l)" -eq 0

# give_up_after: a deferred message past it is failed without another try
start_sink giveup "$WORK/sink-giveup" --defer noc@isp-a.example
write_conf "$WORK/g.conf" "$SINK_PORT" "starttls = off" "give_up_after = 1h"
sed -i '/^user = /d; /^password_file = /d' "$WORK/g.conf"
G() { "$RENRAKU" --config "$WORK/g.conf" "$@"; }
new_relay G
G -q run --once --now "$(iso "$now")" >/dev/null 2>&1 || true
check "give_up_after: the 450 is deferred first" test \
	"$(grep -c '^450 noc@isp-a.example' sink-giveup/rcpt.log)" -eq 1
G -q run --once --now "$(iso $((now + 7200)))" >/dev/null 2>g2.err || true
check "past give_up_after: failed, with the reason" test \
	"$(sqlite3 g.db "SELECT count(*) FROM deliveries WHERE rcpt = 'noc@isp-a.example' AND state = 'failed' AND reply LIKE 'gave up after 1 attempts in % s (give_up_after)%'")" -eq 1
check "and not offered to the server again" test \
	"$(grep -c '^450 noc@isp-a.example' sink-giveup/rcpt.log)" -eq 1

finish
