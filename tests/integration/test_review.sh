#!/usr/bin/env bash
# [relay] review = on: every new ticket is held with its notice built
# (messages in state review, nothing delivered) until an operator
# approves it; `tickets show ID --raw` prints the message, and what the
# maildir gets after the approval is byte for byte what --raw printed
# (nothing differs: the reviewed bytes are the ones queued).  Approval of
# several IDs at once and of --all-held with a filter, each recorded
# under the operator's name.  --raw of a ticket still aggregating builds
# and signs it now without queueing anything.
. "$(dirname "$0")/lib.sh"

mkdir -m 700 "$WORK/gnupg-a"
gpgq "$WORK/gnupg-a" --quick-gen-key "NOC A <noc@isp-a.example>" future-default default never
FPR_A=$(key_fpr "$WORK/gnupg-a" noc@isp-a.example)
mkdir -p "$WORK/contacts/keys"
gpgq "$WORK/gnupg-a" --armor --export noc@isp-a.example >"$WORK/contacts/keys/isp-a.asc"
contacts_with "$WORK/contacts" "ISP A,192.0.2.0/24,noc@isp-a.example,,$FPR_A,en,," \
	"Org B,198.51.100.0/24,abuse@b.example,,,en,," \
	"Org C,203.0.113.0/24,abuse@c.example,,,ja,," \
	"Org D,100.64.0.0/16,abuse@d.example,,,en,,"
conf="$WORK/renraku.conf"
relay_conf "$conf" '[relay]' 'review = on'
R() { "$RENRAKU" --config "$conf" "$@"; }
db="$WORK/renraku.db"
q() { sqlite3 "$db" "$1"; }
ev() { event_line "$@"; }
tid() { ticket_of "$db" "$1"; }
ndir() { find "$WORK/outbox/new" -type f 2>/dev/null | wc -l; }

check "init --gen-key" R init --gen-key
check "contacts import" R contacts import "$WORK/contacts"
{
	ev 192.0.2.10 AMBER
	ev 198.51.100.5 GREEN
	ev 203.0.113.5 GREEN brute-force
	ev 203.0.113.6 GREEN phishing
} >"$WORK/ev.jsonl"
check "ingest" R -q ingest "$WORK/ev.jsonl"
rc=0; R run --once --offline --json >"$WORK/run1.json" 2>"$WORK/run1.err" || rc=$?
check "run exits 0" test "$rc" -eq 0
T_A=$(tid 192.0.2.10)
T_B=$(tid 198.51.100.5)
T_C1=$(tid 203.0.113.5)
T_C2=$(tid 203.0.113.6)
check "every new ticket held for review" test "$(q "SELECT count(*) FROM tickets WHERE state = 'held'")" -eq 4
check "the hold names review" test "$(q "SELECT count(*) FROM ticket_timeline WHERE cause = 'review'")" -eq 4
check "their notices are built, waiting" test "$(q "SELECT count(*) FROM messages WHERE state = 'review'")" -eq 4
check "nothing delivered" test "$(ndir)" -eq 0
R tickets show "$T_B" >"$WORK/show.txt"
check "tickets show gives the reason" grep -q "^state *held (review" "$WORK/show.txt"

check "tickets show --raw" bash -c "'$RENRAKU' --config '$conf' tickets show '$T_B' --raw >'$WORK/raw-b.eml'"
check "--raw prints a signed message with CRLF" \
	bash -c "head -c 4000 '$WORK/raw-b.eml' | grep -q $'^Content-Type: multipart/signed;.*\r\$'"
check "--raw verifies" "$PY" "$RK_SOURCE_DIR/tests/integration/verify_mail.py" \
	--key "$WORK/signing-key.asc" "$WORK/raw-b.eml" >/dev/null
R tickets show "$T_A" --raw >"$WORK/raw-a.eml"
check "--raw of the AMBER ticket: encrypted as it will go" grep -q '^Content-Type: multipart/encrypted' "$WORK/raw-a.eml"
check "the AMBER ticket has its key: approve needs no --cleartext" \
	R tickets approve "$T_A" "$T_B" --as dora
check "several ids approved at once" test "$(q "SELECT count(*) FROM tickets WHERE approved_by = 'dora'")" -eq 2
check "run" R run --once --offline
check "two messages delivered" test "$(ndir)" -eq 2
fb=$(grep -l "^X-Renraku-Ticket: $T_B" "$WORK"/outbox/new/*)
fa=$(grep -l "^X-Renraku-Ticket: $T_A" "$WORK"/outbox/new/*)
check "delivered bytes equal --raw (B)" cmp "$fb" "$WORK/raw-b.eml"
check "delivered bytes equal --raw (A, encrypted)" cmp "$fa" "$WORK/raw-a.eml"
check "released tickets notified" test "$(q "SELECT state FROM tickets WHERE id IN ('$T_A', '$T_B') GROUP BY state")" = notified
check "the timeline: review, approve by dora, notice" \
	test "$(q "SELECT group_concat(cause || ':' || actor, ',') FROM (SELECT cause, actor FROM ticket_timeline WHERE ticket_id = '$T_B' ORDER BY id)")" = "created:run,review:run,approve:dora,notice-queued:dora"

# --all-held with a filter: only the phishing one of contact C
check "approve --all-held --template phishing" \
	R tickets approve --all-held --contact abuse@c.example --template phishing --as erin
check "only the matching ticket approved" \
	test "$(q "SELECT id FROM tickets WHERE approved_by = 'erin'")" = "$T_C2"
check "the other stays held" test "$(q "SELECT state FROM tickets WHERE id = '$T_C1'")" = held
rc=0; R tickets approve --contact abuse@c.example >/dev/null 2>&1 || rc=$?
check "a filter without --all-held is a usage error (2)" test "$rc" -eq 2
check "approve --all-held --level 0" R tickets approve --all-held --level 0 --as erin
check "run" R run --once --offline
check "all four delivered" test "$(ndir)" -eq 4
check "no message left in review" test "$(q "SELECT count(*) FROM messages WHERE state = 'review'")" -eq 0

# --raw of a ticket still aggregating: built now, nothing queued
printf '[aggregate]\nwindow = 1h\n' >>"$conf"
ev 100.64.1.1 GREEN >"$WORK/ev2.jsonl"
R -q ingest "$WORK/ev2.jsonl"
R run --once --offline >/dev/null 2>&1
T_D=$(tid 100.64.1.1)
check "the new ticket is open (aggregating)" test "$(q "SELECT state FROM tickets WHERE id = '$T_D'")" = open
R tickets show "$T_D" --raw >"$WORK/raw-d.eml" 2>"$WORK/raw-d.err"
check "--raw builds it now" "$PY" "$RK_SOURCE_DIR/tests/integration/verify_mail.py" \
	--key "$WORK/signing-key.asc" "$WORK/raw-d.eml" >/dev/null
check "and says it was built now" grep -q "built now, not queued" "$WORK/raw-d.err"
check "nothing queued or stored for it" test "$(q "SELECT count(*) FROM messages WHERE ticket_id = '$T_D'")" -eq 0
check "still open" test "$(q "SELECT state FROM tickets WHERE id = '$T_D'")" = open
rc=0; R tickets show "$T_D" --raw --json >/dev/null 2>&1 || rc=$?
check "--raw with --json is a usage error (2)" test "$rc" -eq 2

gpgconf --homedir "$WORK/gnupg-a" --kill all >/dev/null 2>&1 || true
finish
