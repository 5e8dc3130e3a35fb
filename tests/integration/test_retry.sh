#!/usr/bin/env bash
# A delivery that fails for now is deferred and retried later, with a
# growing delay, until it goes out; nothing is resent early.  Every attempt
# counts, also one a crash cut short, and after [transport] max_attempts
# the message is failed with its history.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 CLI missing" >&2; exit 1; }

conf="$WORK/renraku.conf"
cat >"$conf" <<CONF
[relay]
name = Retry CSIRT
from = csirt@retry.example
[gpg]
home = gnupg
[transport]
url = maildir:outbox
[aggregate]
window = 0
[resolve]
# no registry is asked: an unknown address is "nobody"
sources = local
CONF
R() { "$RENRAKU" --config "$conf" -q "$@"; }
now=$(date +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
check "init --gen-key" R init --gen-key
check "contacts import" R contacts import "$RK_SOURCE_DIR/contacts"
check "ingest" R ingest "$RK_SOURCE_DIR/demo/events.jsonl"

# Break the maildir: tmp/ is a file, so writing a message fails.
mkdir -p "$WORK/outbox/new" "$WORK/outbox/cur"
: >"$WORK/outbox/tmp"
rc=0; R run --once --now "$(iso $now)" --json >"$WORK/run1.json" 2>"$WORK/run1.err" || rc=$?
check "broken maildir: messages deferred, not lost" test "$(json_get "$WORK/run1.json" 'd["deferred"]')" -ge 1
check "nothing sent" test "$(json_get "$WORK/run1.json" 'd["sent"]')" -eq 0
deferred=$(json_get "$WORK/run1.json" 'd["deferred"]')

rm "$WORK/outbox/tmp"
mkdir "$WORK/outbox/tmp"
R run --once --now "$(iso $((now + 60)))" --json >"$WORK/run2.json"
check "not retried before its time" test "$(json_get "$WORK/run2.json" 'd["sent"]')" -eq 0
R run --once --now "$(iso $((now + 299)))" --json >"$WORK/run2b.json"
check "not retried before retry_initial (5m)" test "$(json_get "$WORK/run2b.json" 'd["sent"]')" -eq 0
check "the retry times are spread by the jitter, within 5m to 6m" test \
	"$(sqlite3 "$WORK/renraku.db" "SELECT count(*) FROM messages WHERE state = 'deferred' AND next_attempt BETWEEN $((now + 300)) AND $((now + 360))")" -eq "$deferred"
R run --once --now "$(iso $((now + 361)))" --json >"$WORK/run3.json"
check "retried after 5 minutes (and the jitter): all $deferred sent" test "$(json_get "$WORK/run3.json" 'd["sent"]')" -eq "$deferred"
check "one file per message" test "$(find "$WORK/outbox/new" -type f | wc -l)" -eq "$deferred"
# attempt 1 deferred, attempt 2 sent
check "attempts recorded" test "$(sqlite3 "$WORK/renraku.db" "SELECT min(attempts) || ' ' || max(attempts) FROM messages")" = "2 2"
# the envelope recipients are the To and Cc of each message, one delivery each
nrcpt=$(sqlite3 "$WORK/renraku.db" "SELECT sum(length(rcpt) - length(replace(rcpt, ',', '')) + 1) FROM messages")
check "one delivery per envelope recipient ($nrcpt)" test \
	"$(sqlite3 "$WORK/renraku.db" "SELECT count(*) FROM deliveries")" -eq "$nrcpt"
check "each delivery sent on attempt 2, with the file" test \
	"$(sqlite3 "$WORK/renraku.db" "SELECT count(*) FROM deliveries d JOIN messages m ON m.id = d.message_row WHERE d.state = 'sent' AND d.attempts = 2 AND d.location = m.location AND d.location LIKE '%outbox/new/renraku-%'")" -eq "$nrcpt"
check "no delivery left unfinished" test \
	"$(sqlite3 "$WORK/renraku.db" "SELECT count(*) FROM deliveries WHERE state <> 'sent'")" -eq 0

# max_attempts: a second relay whose deliveries never get through.
conf2="$WORK/giveup.conf"
cat >"$conf2" <<CONF
[relay]
name = Retry CSIRT
from = csirt@retry.example
[store]
path = giveup.db
[gpg]
home = gnupg
[transport]
url = maildir:outbox2
max_attempts = 3
[aggregate]
window = 0
[resolve]
# no registry is asked: an unknown address is "nobody"
sources = local
CONF
G() { "$RENRAKU" --config "$conf2" -q "$@"; }
db2="$WORK/giveup.db"
check "second relay: init" G init
check "second relay: contacts import" G contacts import "$RK_SOURCE_DIR/contacts"
check "second relay: ingest" G ingest "$RK_SOURCE_DIR/demo/events.jsonl"
mkdir -p "$WORK/outbox2/new" "$WORK/outbox2/cur"
: >"$WORK/outbox2/tmp"
rc=0; G run --once --now "$(iso $now)" --json >"$WORK/g1.json" 2>/dev/null || rc=$?
n=$(json_get "$WORK/g1.json" 'd["deferred"]')
check "attempt 1: $n messages deferred" test "$n" -ge 1
check "attempt 1 counted" test "$(sqlite3 "$db2" "SELECT min(attempts) || ' ' || max(attempts) FROM messages")" = "1 1"
# Two runs die while sending: what such a run has committed is the state
# sending with its attempt counted (store_message_attempt, one
# transaction), and the transport's result never comes.
for a in 2 3; do
	sqlite3 "$db2" "UPDATE messages SET state = 'sending', attempts = attempts + 1"
done
# The maildir works again, but the messages have had their 3 attempts.
rm "$WORK/outbox2/tmp"
rc=0; G run --once --now "$(iso $((now + 86400)))" --json >"$WORK/g2.json" 2>"$WORK/g2.err" || rc=$?
check "run exits 0" test "$rc" -eq 0
check "after max_attempts: all $n failed" test "$(json_get "$WORK/g2.json" 'd["failed"]')" -eq "$n"
check "nothing sent" test "$(json_get "$WORK/g2.json" 'd["sent"]')" -eq 0
check "no file written" test "$(find "$WORK/outbox2" -type f | wc -l)" -eq 0
check "messages failed with 3 attempts" test \
	"$(sqlite3 "$db2" "SELECT count(*) FROM messages WHERE state = 'failed' AND attempts = 3 AND reply = 'gave up after 3 attempts'")" -eq "$n"
check "every recipient failed, with the last reply" test \
	"$(sqlite3 "$db2" "SELECT count(*) FROM deliveries WHERE state = 'failed' AND reply LIKE 'gave up after 3 attempts: maildir: cannot create %'")" -eq \
	"$(sqlite3 "$db2" "SELECT count(*) FROM deliveries")"
check "the history is in the audit log" test \
	"$(sqlite3 "$db2" "SELECT count(*) FROM audit_log WHERE action = 'message.failed'")" -eq "$n"
check "the log says why" grep -q "gave up after 3 attempts" "$WORK/g2.err"
gid=$(sqlite3 "$db2" "SELECT ticket_id FROM messages WHERE state = 'failed' LIMIT 1")
G tickets show "$gid" --json >"$WORK/gshow.json"
check "tickets show: the failed message with its attempts and reason" test \
	"$(json_get "$WORK/gshow.json" '[(m["state"], m["attempts"], m["reply"]) for m in d["messages"]][0]')" = \
	"('failed', 3, 'gave up after 3 attempts')"
check "tickets show: each recipient's outcome" test \
	"$(json_get "$WORK/gshow.json" 'all(x["state"] == "failed" and x["reply"].startswith("gave up") for m in d["messages"] for x in m["deliveries"])')" = True
G tickets show "$gid" >"$WORK/gshow.txt"
check "tickets show (text): attempts and reason" grep -q "failed, 3 attempts: gave up after 3 attempts" "$WORK/gshow.txt"
G run --once --now "$(iso $((now + 30 * 86400)))" --json >"$WORK/g3.json"
check "a failed message is not tried again" test "$(json_get "$WORK/g3.json" 'd["failed"] + d["sent"] + d["deferred"]')" -eq 0

printf '[relay]\nfrom = a@retry.example\n[transport]\nmax_attempts = 0\n' >"$WORK/bad.conf"
rc=0; "$RENRAKU" --config "$WORK/bad.conf" tickets list >/dev/null 2>"$WORK/bad.err" || rc=$?
check "max_attempts = 0 is refused (exit $rc)" test "$rc" -ne 0
check "the error names file, line and key" grep -q "bad.conf:4: \[transport\] max_attempts" "$WORK/bad.err"
finish
