#!/usr/bin/env bash
# The command line, step by step, on hostile input: init, contacts import,
# ingest (broken lines, duplicates, IPv6, TLP:RED, CR/LF in values), run,
# tickets; exit codes; no value ever adds a header line.
. "$(dirname "$0")/lib.sh"

conf="$WORK/renraku.conf"
cat >"$conf" <<CONF
[relay]
name = Test CSIRT
from = csirt@test.example
ticket_prefix = TEST
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
R() { "$RENRAKU" --config "$conf" "$@"; }

check "init --gen-key" R init --gen-key
check "contacts import" R contacts import "$RK_SOURCE_DIR/contacts"

fixture="$RK_FIXTURES/pipeline/hostile.jsonl"
rc=0; R ingest --json "$fixture" >"$WORK/ingest1.json" 2>/dev/null || rc=$?
check "ingest with rejected lines exits 0" test "$rc" -eq 0
check "4 events stored" test "$(json_get "$WORK/ingest1.json" 'd["events"]')" -eq 4
check "1 duplicate" test "$(json_get "$WORK/ingest1.json" 'd["duplicates"]')" -eq 1
check "3 rejected" test "$(json_get "$WORK/ingest1.json" 'd["rejected"]')" -eq 3
check "rejections name file and line" test "$(json_get "$WORK/ingest1.json" 'sorted(e["line"] for e in d["errors"])')" = "[3, 6, 7]"

rc=0; R ingest --json "$fixture" >"$WORK/ingest2.json" 2>/dev/null || rc=$?
check "re-ingest: everything is a duplicate" test "$(json_get "$WORK/ingest2.json" 'd["duplicates"]')" -eq 5

printf '\x00\x01garbage' >"$WORK/garbage.bin"
rc=0; R ingest --json "$WORK/garbage.bin" >/dev/null 2>&1 || rc=$?
check "unreadable format exits 65" test "$rc" -eq 65
rc=0; R ingest --format nosuch "$fixture" >/dev/null 2>&1 || rc=$?
check "bad --format exits 2" test "$rc" -eq 2
rc=0; "$RENRAKU" frobnicate >/dev/null 2>&1 || rc=$?
check "unknown command exits 2" test "$rc" -eq 2

check "run --once" bash -c "'$RENRAKU' --config '$conf' run --once --json >'$WORK/run1.json'"
check "two notices sent" test "$(json_get "$WORK/run1.json" 'd["sent"]')" -eq 2
check "RED withheld" test "$(json_get "$WORK/run1.json" 'd["withheld"]')" -eq 1
check "AMBER ticket held for review" test "$(json_get "$WORK/run1.json" 'd["held"]')" -eq 1
check "two files in the maildir" test "$(find "$WORK/outbox/new" -type f | wc -l)" -eq 2
if "$PY" "$(dirname "$0")/verify_mail.py" --key "$WORK/signing-key.asc" \
	"$WORK"/outbox/new/* >"$WORK/mails.jsonl" 2>"$WORK/verify.err"; then
	ok "messages verify; no injected header (Bcc, X-Injected, X-Feed)"
else
	cat "$WORK/verify.err" >&2
	not_ok "messages verify; no injected header (Bcc, X-Injected, X-Feed)"
fi
check "no raw CR/LF-injected header text at line start" bash -c "! grep -qaE '^(Bcc|X-Injected|X-Feed|Subject: hacked)' '$WORK'/outbox/new/*"

check "second run sends nothing" bash -c "'$RENRAKU' --config '$conf' run --once --json >'$WORK/run2.json'"
check "second run: 0 sent" test "$(json_get "$WORK/run2.json" 'd["sent"]')" -eq 0

R tickets list --json >"$WORK/tickets.json"
check "held ticket: the brand owner, with the reason" test "$(json_get "$WORK/tickets.json" '[t["contact"] + "|" + t["hold_reason"][:9] for t in d if t["state"] == "held"][0]')" = "csirt@bank-example.test|TLP:AMBER"
check "nothing of the AMBER ticket left the relay" bash -c "! grep -lq 'bank-example' '$WORK'/outbox/new/*"
id=$(json_get "$WORK/tickets.json" '[t["id"] for t in d if t["contact"] == "noc@isp-a.example"][0]')
check "ticket id format" bash -c "[[ '$id' =~ ^[0-9]{8}-[0-9]{6}$ ]]"
R tickets show "$id" --json >"$WORK/show.json"
check "tickets show fields" test "$(json_get "$WORK/show.json" '",".join(str(d[k]) for k in ("state","level","contact","template","lang","event_count"))')" = "notified,0,noc@isp-a.example,infected-system,ja,1"
check "tickets show message ids" test "$(json_get "$WORK/show.json" 'len(d["message_ids"])')" -eq 1
rc=0; R tickets show 19990101-000001 >/dev/null 2>&1 || rc=$?
check "unknown ticket exits 65" test "$rc" -eq 65

# An operator reviews the held AMBER ticket and releases it.
held_id=$(json_get "$WORK/tickets.json" '[t["id"] for t in d if t["state"] == "held"][0]')
rc=0; R tickets hold "$held_id" >/dev/null 2>&1 || rc=$?
check "holding a held ticket is refused (65)" test "$rc" -eq 65
check "tickets approve of TLP:AMBER without a key is refused (65)" bash -c "'$RENRAKU' --config '$conf' tickets approve $held_id >/dev/null 2>&1; test \$? -eq 65"
check "tickets approve --cleartext" R tickets approve "$held_id" --cleartext
check "approve is audited" test "$(sqlite3 "$WORK/renraku.db" "SELECT count(*) FROM audit_log WHERE action = 'ticket.approve-cleartext' AND object = '$held_id'")" -eq 1
check "run after approval" bash -c "'$RENRAKU' --config '$conf' run --once --json >'$WORK/run3.json'"
check "the approved ticket goes out" test "$(json_get "$WORK/run3.json" 'd["sent"]')" -eq 1
R tickets show "$held_id" --json >"$WORK/approved.json"
check "approved ticket notified, approver recorded" test "$(json_get "$WORK/approved.json" 'd["state"] + "|" + str(bool(d.get("approved_by")))')" = "notified|True"
rc=0; R tickets approve "$held_id" >/dev/null 2>&1 || rc=$?
check "approving a notified ticket is refused (65)" test "$rc" -eq 65

# Without --once, run repeats until SIGTERM, then exits 0.
"$RENRAKU" --config "$conf" -q run --interval 1s >/dev/null 2>&1 &
pid=$!
sleep 2
kill -TERM "$pid"
rc=0
for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then kill -9 "$pid"; rc=99; else wait "$pid" || rc=$?; fi
check "run (daemon) stops on SIGTERM with exit 0" test "$rc" -eq 0

printf '[relay]\nname = x\nbogus_key = 1\n' >"$WORK/bad.conf"
rc=0; "$RENRAKU" --config "$WORK/bad.conf" tickets list >/dev/null 2>"$WORK/bad.err" || rc=$?
check "unknown config key fails" test "$rc" -eq 1
check "error names file and line" grep -q "bad.conf:3: unknown key 'bogus_key' in \[relay\]" "$WORK/bad.err"
finish
