#!/usr/bin/env bash
# Tickets through their state machine, as an operator sees them: the
# aggregation window announced, a ticket whose notice cannot be built set
# aside alone while the others go out (exit 1, named), an operator error
# (GnuPG home gone) that holds nothing back and sets nothing aside, an
# approval that covers exactly the reviewed events, every change in the
# timeline, illegal changes refused, time given with --now, and events
# that found no contact put back.
. "$(dirname "$0")/lib.sh"

conf="$WORK/renraku.conf"
cp -r "$RK_SOURCE_DIR/templates" "$WORK/templates"
cat >"$conf" <<CONF
[relay]
name = Test CSIRT
from = csirt@test.example
ticket_prefix = TEST
templates = templates
[gpg]
home = gnupg
[transport]
url = maildir:outbox
[aggregate]
window = 10m
[resolve]
negative_ttl = 1h
# the local tables only: an unknown address is "nobody", not "ask a registry"
sources = local
CONF
R() { "$RENRAKU" --config "$conf" "$@"; }
db="$WORK/renraku.db"
q() { sqlite3 "$db" "$1"; }
T0=2026-11-20T10:00:00Z

check "init --gen-key" R init --gen-key
check "contacts import" R contacts import "$RK_SOURCE_DIR/contacts"
cat >"$WORK/ev1.jsonl" <<'EV'
{"time.source":"2026-11-20T09:00:00Z","source.ip":"192.0.2.10","source.asn":64500,"classification.type":"infected-system","tlp":"GREEN"}
{"time.source":"2026-11-20T09:00:00Z","source.ip":"203.0.113.7","classification.type":"phishing","source.url":"http://203.0.113.7/login","tlp":"GREEN"}
{"time.source":"2026-11-20T09:00:00Z","source.ip":"100.64.1.1","classification.type":"scanner","tlp":"GREEN"}
{"time.source":"2026-11-20T09:00:00Z","source.fqdn":"www.bank-example.test","classification.type":"phishing","tlp":"AMBER"}
EV
check "ingest" R -q ingest "$WORK/ev1.jsonl"

# 1. The first run: tickets wait out the window, and the run says so.
rc=0; R run --once --now "$T0" >"$WORK/run1.out" 2>"$WORK/run1.err" || rc=$?
check "first run exits 0" test "$rc" -eq 0
check "first run says how many tickets wait and when the first is due" \
	grep -q "waiting: 3 tickets .*due at 2026-11-20T10:10:00Z" "$WORK/run1.out"
check "--now gives the ticket ids their day" test "$(q "SELECT count(*) FROM tickets WHERE id LIKE '20261120-%'")" -eq 3
check "no contact: the event is unresolved" test "$(q "SELECT state FROM events WHERE source_ip = '100.64.1.1'")" = unresolved
R events list --state unresolved >"$WORK/unres.txt"
check "events list shows it with its reason" grep -q "100.64.1.1 .*unresolved *no contact found" "$WORK/unres.txt"
id_inf=$(q "SELECT id FROM tickets WHERE template = 'infected-system'")
id_phi=$(q "SELECT id FROM tickets WHERE template = 'phishing' AND tlp < 2")
id_amb=$(q "SELECT id FROM tickets WHERE tlp >= 2")
R tickets show "$id_inf" >"$WORK/show1.txt"
check "tickets show: when it is due" grep -q "^due  *2026-11-20T10:10:00Z" "$WORK/show1.txt"
check "tickets show: its events" grep -q "^event .*192.0.2.10" "$WORK/show1.txt"
check "tickets show: the creation in the timeline" grep -q "^timeline .* -  *-> open .*created by run" "$WORK/show1.txt"

# 2. One ticket's notice cannot be built (its template is broken): it is
#    set aside as failed with the reason; the others go out; exit 1.
printf 'Subject: {{#broken}}\n\nbody\n' >"$WORK/templates/phishing/ja.mustache"
printf 'Subject: {{#broken}}\n\nbody\n' >"$WORK/templates/phishing/en.mustache"
rc=0; R run --once --now 2026-11-20T10:11:00Z >"$WORK/run2.out" 2>"$WORK/run2.err" || rc=$?
check "a failed ticket makes the run exit 1" test "$rc" -eq 1
check "the summary names what failed" grep -q "failed: 0 events and 1 tickets were set aside" "$WORK/run2.out"
check "the broken ticket is failed, with the reason" test "$(q "SELECT state FROM tickets WHERE id = '$id_phi'")" = failed
check "its reason names the template" grep -q "phishing" <<<"$(q "SELECT hold_reason FROM tickets WHERE id = '$id_phi'")"
check "the other ticket went out" test "$(q "SELECT state FROM tickets WHERE id = '$id_inf'")" = notified
check "one message on disk" test "$(find "$WORK/outbox/new" -type f | wc -l)" -eq 1
R tickets list --state failed >"$WORK/failed.txt"
check "tickets list --state failed shows it with its reason" grep -q "$id_phi .*failed .*cannot be rendered" "$WORK/failed.txt"
check "the AMBER ticket is held, not failed" test "$(q "SELECT state FROM tickets WHERE id = '$id_amb'")" = held

# Fixed, the operator puts it back and it goes out.
cp "$RK_SOURCE_DIR/templates/phishing/"*.mustache "$WORK/templates/phishing/"
check "tickets retry" R tickets retry "$id_phi" --as alice
check "retry recorded under the operator" test "$(q "SELECT actor FROM ticket_timeline WHERE ticket_id = '$id_phi' AND cause = 'retry'")" = alice

# 3. An operator error (the GnuPG home is gone): exit 1, the path named,
#    nothing set aside, the ticket stays due; fixed, it goes out.
mv "$WORK/gnupg" "$WORK/gnupg.away"
rc=0; R run --once --now 2026-11-20T10:12:00Z >"$WORK/run3.out" 2>"$WORK/run3.err" || rc=$?
check "missing GnuPG home: exit 1" test "$rc" -eq 1
check "missing GnuPG home: the path or key is named" grep -q "\[gpg\] home 'gnupg'" "$WORK/run3.err"
check "missing GnuPG home: the ticket stays due (open)" test "$(q "SELECT state FROM tickets WHERE id = '$id_phi'")" = open
check "missing GnuPG home: nothing held or failed" test "$(q "SELECT count(*) FROM tickets WHERE state IN ('held','failed') AND id != '$id_amb'")" -eq 0
mv "$WORK/gnupg.away" "$WORK/gnupg"
rc=0; R run --once --now 2026-11-20T10:13:00Z >"$WORK/run4.out" 2>"$WORK/run4.err" || rc=$?
check "fixed: the run exits 0" test "$rc" -eq 0
check "fixed: the ticket went out" test "$(q "SELECT state FROM tickets WHERE id = '$id_phi'")" = notified

# 4. Illegal changes are refused.
rc=0; R tickets approve "$id_inf" >/dev/null 2>&1 || rc=$?
check "approving a notified ticket is refused (65)" test "$rc" -eq 65
rc=0; R tickets hold "$id_inf" >/dev/null 2>&1 || rc=$?
check "holding a notified ticket is refused (65)" test "$rc" -eq 65
rc=0; R tickets list --state bogus >/dev/null 2>&1 || rc=$?
check "an unknown state is a usage error (2)" test "$rc" -eq 2

# 5. The approval covers exactly the events the operator saw: a later
#    AMBER event for the same contact does not join the approved ticket.
rc=0; R tickets approve "$id_amb" --as '' >/dev/null 2>&1 || rc=$?
check "an empty --as is a usage error (2)" test "$rc" -eq 2
rc=0; R tickets approve "$id_amb" --as bob >/dev/null 2>"$WORK/amb-refused.err" || rc=$?
check "approving TLP:AMBER without a key needs --cleartext (65)" test "$rc" -eq 65
check "and says so" grep -q -- "--cleartext" "$WORK/amb-refused.err"
check "still held" test "$(q "SELECT state FROM tickets WHERE id = '$id_amb'")" = held
check "approve --cleartext as bob" R tickets approve "$id_amb" --as bob --cleartext
cat >"$WORK/ev2.jsonl" <<'EV'
{"time.source":"2026-11-20T10:00:00Z","source.fqdn":"login.bank-example.test","classification.type":"phishing","tlp":"AMBER"}
EV
check "ingest a later AMBER event" R -q ingest "$WORK/ev2.jsonl"
rc=0; R run --once --now 2026-11-20T10:14:00Z >"$WORK/run5.out" 2>"$WORK/run5.err" || rc=$?
check "approved ticket sent with its one reviewed event" test "$(q "SELECT state || ':' || event_count FROM tickets WHERE id = '$id_amb'")" = "notified:1"
check "the later event started a ticket of its own" test "$(q "SELECT count(*) FROM tickets WHERE tlp >= 2 AND id != '$id_amb' AND state = 'open'")" -eq 1
check "approver recorded" test "$(q "SELECT approved_by FROM tickets WHERE id = '$id_amb'")" = bob
check "approval audited under the operator" test "$(q "SELECT actor FROM audit_log WHERE action = 'ticket.approve-cleartext' AND object = '$id_amb'")" = bob
check "cleartext decision recorded" test "$(q "SELECT actor FROM ticket_cleartext WHERE ticket_id = '$id_amb'")" = bob

# 6. Every change is a timeline row, in --json too.
R tickets show "$id_amb" --json >"$WORK/amb.json"
check "timeline: created, held, approved, notified" test "$(json_get "$WORK/amb.json" '",".join(r["cause"] for r in d["timeline"])')" = "created,needs-key,approve-cleartext,notice-queued"
check "timeline: the notice row names its message" test "$(json_get "$WORK/amb.json" 'd["timeline"][-1]["message_id"] == d["message_ids"][0]')" = True
check "timeline rows equal the state changes in the audit log" test "$(q "SELECT count(*) FROM ticket_timeline")" -eq "$(q "SELECT count(*) FROM audit_log WHERE action LIKE 'ticket.%'")"

# 7. Nothing is stuck for ever.  An event with no contact waits out
#    negative_ttl (1h here), can be put back by hand, and is looked up at
#    once when the constituency changes.
cat >"$WORK/ev3.jsonl" <<'EV'
{"time.source":"2026-11-20T10:00:00Z","source.ip":"100.64.2.2","classification.type":"scanner","tlp":"GREEN"}
EV
check "ingest another event nobody is known for" R -q ingest "$WORK/ev3.jsonl"
R -q run --once --now 2026-11-20T10:15:00Z >/dev/null 2>&1 || true
check "before negative_ttl the first is not looked up again" test "$(q "SELECT count(*) FROM events WHERE state = 'unresolved'")" -eq 2
R events retry >"$WORK/retry.out"
check "events retry prints the count" grep -q "^2 unresolved events put back" "$WORK/retry.out"
check "the events are new again" test "$(q "SELECT count(*) FROM events WHERE state = 'new'")" -eq 2
R -q run --once --now 2026-11-20T10:16:00Z >/dev/null 2>&1 || true
check "looked up again: still nobody" test "$(q "SELECT count(*) FROM events WHERE state = 'unresolved'")" -eq 2
cp -r "$RK_SOURCE_DIR/contacts" "$WORK/contacts2"
echo "CGN Net,100.64.0.0/10,noc@cgn.example,,,en,csv-attach," >>"$WORK/contacts2/constituency.csv"
check "the constituency grows" R -q contacts import "$WORK/contacts2"
R -q run --once --now 2026-11-20T10:17:00Z >"$WORK/run7.out" 2>&1 || true
check "imported: both events ticketed at once, whatever negative_ttl says" test "$(q "SELECT count(*) FROM events WHERE source_ip LIKE '100.64.%' AND state = 'ticketed'")" -eq 2
check "to the new contact" test "$(q "SELECT count(*) FROM tickets WHERE contact = 'noc@cgn.example'")" -eq 1

# 8. What came in, as IntelMQ objects with renraku's view beside them.
R events list --json --limit 1000 >"$WORK/events.json"
check "events list --json: flat IntelMQ fields" test "$(json_get "$WORK/events.json" 'sorted(set(e["source.ip"] for e in d if "source.ip" in e))[0]')" = 100.64.1.1
check "events list --json: id, report, state, severity, tlp, category" test \
	"$(json_get "$WORK/events.json" 'all({"id","report","state","severity","tlp","category"} <= set(e) for e in d)')" = True
check "events list --json: phishing is a phishing site" test \
	"$(json_get "$WORK/events.json" 'set(e["category"] for e in d if e["classification.type"] == "phishing")')" = "{'phishing-site'}"
R events list --json --report 1 >"$WORK/report1.json"
check "events list --report: only that report's events" test "$(json_get "$WORK/report1.json" 'sorted(set(e["report"] for e in d))')" = "[1]"
finish
