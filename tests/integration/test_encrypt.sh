#!/usr/bin/env bash
# Encryption and TLP, end to end, as recipients see the maildir:
#  - a contact whose key is in contacts/keys/ (pgp = its fingerprint)
#    gets its notices signed and encrypted (RFC 3156 multipart/encrypted);
#    the message decrypts with the recipient's own key and the signature
#    inside verifies (gpg --decrypt --status-fd: DECRYPTION_OKAY, GOODSIG
#    and VALIDSIG of the relay's key);
#  - TLP:AMBER: the keyless Cc is left out (no clear copy anywhere);
#    TLP:GREEN: the keyless Cc gets a signed copy of its own;
#  - a contact whose key is expired, revoked or signing-only: the key is
#    skipped with the reason logged, the AMBER ticket is held with it,
#    nothing of it is in the maildir, approve without --cleartext is
#    refused (65), approve --cleartext sends it signed and records who;
#  - format inline: a clearsigned text/plain body with the CSV in it,
#    verified with gpg --verify on the decoded body;
#  - [gpg] encrypt = never holds AMBER; = always leaves nothing in clear.
. "$(dirname "$0")/lib.sh"

G() { gpgq "$@"; }
fpr_of() { key_fpr "$@"; }

# --- recipients' keys, made here
mkdir -m 700 "$WORK/gnupg-a" "$WORK/gnupg-x"
G "$WORK/gnupg-a" --quick-gen-key "NOC A <noc@isp-a.example>" future-default default never
G "$WORK/gnupg-a" --quick-gen-key "Inline <sec@inline.example>" future-default default never
FPR_A=$(fpr_of "$WORK/gnupg-a" noc@isp-a.example)
check "recipient key made" test -n "$FPR_A"
# unusable keys: expired (made in 2020 for a day), revoked, signing only
G "$WORK/gnupg-x" --faked-system-time 20200101T000000 \
	--quick-gen-key "Old <abuse@expired.example>" future-default default 1d 2>/dev/null
G "$WORK/gnupg-x" --quick-gen-key "Rev <abuse@revoked.example>" future-default default never
FPR_R=$(fpr_of "$WORK/gnupg-x" abuse@revoked.example)
sed 's/^://' "$WORK/gnupg-x/openpgp-revocs.d/$FPR_R.rev" | G "$WORK/gnupg-x" --import 2>/dev/null
G "$WORK/gnupg-x" --quick-gen-key "Sign <abuse@signonly.example>" ed25519 sign never
check "unusable keys made" test -n "$(fpr_of "$WORK/gnupg-x" abuse@signonly.example)"

mkdir -p "$WORK/contacts/keys"
G "$WORK/gnupg-a" --armor --export noc@isp-a.example >"$WORK/contacts/keys/isp-a.asc"
G "$WORK/gnupg-a" --armor --export sec@inline.example >"$WORK/contacts/keys/inline.asc"
contacts_with "$WORK/contacts" \
	"ISP A,192.0.2.0/24,noc@isp-a.example,helpdesk@isp-a.example,$FPR_A,en,csv-attach," \
	"Expired Org,198.51.100.0/25,abuse@expired.example,,,en,," \
	"Revoked Org,198.51.100.128/25,abuse@revoked.example,,,en,," \
	"Signonly Org,203.0.113.0/25,abuse@signonly.example,,,en,," \
	"Inline Org,203.0.113.128/25,sec@inline.example,,,en,inline," \
	"Nokey Org,100.64.0.0/16,abuse@nokey.example,,,en,inline,"
conf="$WORK/renraku.conf"
relay_conf "$conf"
R() { "$RENRAKU" --config "$conf" "$@"; }
db="$WORK/renraku.db"
q() { sqlite3 "$db" "$1"; }

check "init --gen-key" R init --gen-key
RELAY=$(fpr_of "$WORK/gnupg" csirt@test.example)
# the recipient knows the relay's public key (signing-key.asc)
G "$WORK/gnupg-a" --import "$WORK/signing-key.asc" 2>/dev/null
check "contacts import" R contacts import "$WORK/contacts" 2>"$WORK/import.err"
check "the contacts' keys are in the relay's GnuPG home" \
	bash -c "gpg --homedir '$WORK/gnupg' --list-keys '$FPR_A' >/dev/null 2>&1"
# keys obtained earlier (as WKD would): now expired, revoked, signing-only
G "$WORK/gnupg-x" --armor --export >"$WORK/unusable.asc"
G "$WORK/gnupg" --import "$WORK/unusable.asc" 2>/dev/null

ev() { event_line "$@"; }
{
	ev 192.0.2.10 AMBER
	ev 192.0.2.11 GREEN brute-force
	ev 198.51.100.5 AMBER
	ev 198.51.100.200 AMBER
	ev 203.0.113.5 AMBER
	ev 203.0.113.200 GREEN
	ev 100.64.1.1 GREEN
} >"$WORK/ev.jsonl"
check "ingest" R -q ingest "$WORK/ev.jsonl"
rc=0; R run --once --offline --json >"$WORK/run1.json" 2>"$WORK/run1.err" || rc=$?
check "run exits 0 (rc $rc)" test "$rc" -eq 0
check "three AMBER tickets held (unusable keys)" test "$(json_get "$WORK/run1.json" 'd["held"]')" -eq 3

tid() { ticket_of "$db" "$1"; }
T_AMB=$(tid 192.0.2.10)
T_GRN=$(tid 192.0.2.11)
T_EXP=$(tid 198.51.100.5)
T_REV=$(tid 198.51.100.200)
T_SIG=$(tid 203.0.113.5)
T_INL=$(tid 203.0.113.200)
T_NOK=$(tid 100.64.1.1)

# one JSON line per message in the maildir: ticket, to, cc, type, tlp
cat >"$WORK/list.py" <<'PY'
import email, email.policy, glob, json, sys
for path in sorted(glob.glob(sys.argv[1] + "/new/*")):
    m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.compat32)
    print(json.dumps({"file": path, "ticket": m["X-Renraku-Ticket"], "to": m["To"],
                      "cc": m["Cc"], "type": m.get_content_type(),
                      "protocol": m.get_param("protocol"), "tlp": m["X-Renraku-TLP"]}))
PY
"$PY" "$WORK/list.py" "$WORK/outbox" >"$WORK/msgs.jsonl"
msgs() { # msgs TICKET: its messages' lines
	grep "\"ticket\": \"$1\"" "$WORK/msgs.jsonl" || true
}
field() { "$PY" -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }

# --- AMBER to a keyed contact: encrypted, the keyless Cc left out
line=$(msgs "$T_AMB")
check "AMBER with a key: one message" test "$(printf '%s\n' "$line" | grep -c .)" -eq 1
check "it is multipart/encrypted, protocol application/pgp-encrypted" \
	test "$(field "$line" type)|$(field "$line" protocol)" = "multipart/encrypted|application/pgp-encrypted"
check "the TLP is in a header" test "$(field "$line" tlp)" = AMBER
check "to the keyed address only: no Cc" test "$(field "$line" cc)" = None
check "the keyless Cc is left out of the envelope" \
	test "$(q "SELECT rcpt FROM messages WHERE ticket_id = '$T_AMB'")" = "noc@isp-a.example"
check "and the timeline says so" \
	bash -c "sqlite3 '$db' \"SELECT detail FROM ticket_timeline WHERE ticket_id = '$T_AMB' AND cause = 'notice-queued'\" | grep -q 'helpdesk@isp-a.example (no usable key'"
f=$(field "$line" file)
# the ciphertext part, decrypted in the recipient's own home
cat >"$WORK/cipher.py" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.compat32)
parts = m.get_payload()
assert parts[0].get_content_type() == "application/pgp-encrypted", parts[0].get_content_type()
assert parts[0].get_payload().strip() == "Version: 1"
assert parts[1].get_content_type() == "application/octet-stream"
sys.stdout.write(parts[1].get_payload())
PY
check "RFC 3156 parts: version, then the ciphertext" bash -c "'$PY' '$WORK/cipher.py' '$f' >'$WORK/amb.asc'"
G "$WORK/gnupg-a" --status-fd 3 --decrypt "$WORK/amb.asc" >"$WORK/amb.plain" 3>"$WORK/amb.status" 2>/dev/null || true
check "decrypts with the recipient's key" grep -q '^\[GNUPG:\] DECRYPTION_OKAY' "$WORK/amb.status"
check "the signature inside is good" grep -q '^\[GNUPG:\] GOODSIG' "$WORK/amb.status"
check "made by the relay's key" grep -q "^\[GNUPG:\] VALIDSIG .* $RELAY\$" "$WORK/amb.status"
check "inside: the MIME content with the CSV attachment" \
	bash -c "grep -q '^Content-Type: multipart/mixed' '$WORK/amb.plain' && grep -q 'events-$T_AMB.csv' '$WORK/amb.plain'"
check "inside: CRLF lines" bash -c "head -c 200 '$WORK/amb.plain' | grep -q $'\r'"
check "the relay can read what it sent (encrypted to itself too)" \
	bash -c "gpg --homedir '$WORK/gnupg' --batch --decrypt '$WORK/amb.asc' >/dev/null 2>&1"

# --- GREEN: encrypted to the keyed To, a signed copy for the keyless Cc
check "GREEN with a keyless Cc: two messages" test "$(msgs "$T_GRN" | grep -c .)" -eq 2
enc=$(msgs "$T_GRN" | grep multipart/encrypted || true)
sig=$(msgs "$T_GRN" | grep multipart/signed || true)
check "one encrypted to noc@" test "$(field "$enc" to)" = "ISP A <noc@isp-a.example>"
check "one signed to the Cc" test "$(field "$sig" to)" = "helpdesk@isp-a.example"
check "the signed copy verifies" "$PY" "$RK_SOURCE_DIR/tests/integration/verify_mail.py" \
	--key "$WORK/signing-key.asc" "$(field "$sig" file)" >/dev/null

# --- unusable keys: skipped with the reason, held, nothing sent
check "expired key skipped, reason logged" grep -q "not encrypting to abuse@expired.example: key .* is expired" "$WORK/run1.err"
check "revoked key skipped, reason logged" grep -q "not encrypting to abuse@revoked.example: key .* is revoked" "$WORK/run1.err"
check "signing-only key skipped, reason logged" grep -q "not encrypting to abuse@signonly.example: key .* has no encryption subkey" "$WORK/run1.err"
for t in "$T_EXP" "$T_REV" "$T_SIG"; do
	check "ticket $t held" test "$(q "SELECT state FROM tickets WHERE id = '$t'")" = held
	check "ticket $t: nothing in the maildir" test -z "$(msgs "$t")"
	check "ticket $t: no message at all" test "$(q "SELECT count(*) FROM messages WHERE ticket_id = '$t'")" -eq 0
done
R tickets show "$T_EXP" >"$WORK/exp.txt"
check "tickets show gives the reason" grep -q "^state *held (TLP:AMBER goes out only encrypted .*is expired" "$WORK/exp.txt"
rc=0; R tickets approve "$T_EXP" --as carol >"$WORK/appr.out" 2>"$WORK/appr.err" || rc=$?
check "approve without --cleartext refused (65)" test "$rc" -eq 65
check "the refusal names --cleartext" grep -q -- "--cleartext" "$WORK/appr.err"
R run --once --offline >/dev/null 2>&1
check "still held, still nothing sent" test "$(q "SELECT state FROM tickets WHERE id = '$T_EXP'"):$(msgs "$T_EXP" | wc -l)" = "held:0"
check "approve --cleartext" R tickets approve "$T_EXP" --as carol --cleartext
check "the decision recorded with the operator" test "$(q "SELECT actor FROM ticket_cleartext WHERE ticket_id = '$T_EXP'")" = carol
check "in the audit log too" test "$(q "SELECT actor FROM audit_log WHERE action = 'ticket.approve-cleartext' AND object = '$T_EXP'")" = carol
R run --once --offline >/dev/null 2>&1
"$PY" "$WORK/list.py" "$WORK/outbox" >"$WORK/msgs.jsonl"
line=$(msgs "$T_EXP")
check "released in clear: signed, not encrypted" test "$(field "$line" type)" = multipart/signed
check "it verifies" "$PY" "$RK_SOURCE_DIR/tests/integration/verify_mail.py" \
	--key "$WORK/signing-key.asc" "$(field "$line" file)" >/dev/null
R tickets show "$T_EXP" --json >"$WORK/exp.json"
check "tickets show --json names who allowed cleartext" test "$(json_get "$WORK/exp.json" 'd["cleartext_by"]')" = carol
check "timeline: needs-key, approve-cleartext by carol, notice" \
	test "$(json_get "$WORK/exp.json" '",".join(r["cause"] + ":" + r["actor"] for r in d["timeline"])')" = "created:run,needs-key:run,approve-cleartext:carol,notice-queued:run"

# --- inline: clearsigned text with the CSV in it; encrypted when keyed
cat >"$WORK/body.py" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.compat32)
assert m.get_content_type() == "text/plain", m.get_content_type()
assert not m.is_multipart()
sys.stdout.buffer.write(m.get_payload(decode=True))
PY
line=$(msgs "$T_NOK")
check "inline without a key: one text/plain message" test "$(field "$line" type)" = text/plain
"$PY" "$WORK/body.py" "$(field "$line" file)" >"$WORK/inline.txt"
check "the body is a cleartext signature" grep -q '^-----BEGIN PGP SIGNED MESSAGE-----' "$WORK/inline.txt"
check "with the CSV inline" grep -q '100.64.1.1' "$WORK/inline.txt"
check "the body is UTF-8" iconv -f UTF-8 -t UTF-8 "$WORK/inline.txt" -o /dev/null
mkdir -m 700 "$WORK/gnupg-v"
G "$WORK/gnupg-v" --import "$WORK/signing-key.asc" 2>/dev/null
G "$WORK/gnupg-v" --status-fd 3 --verify "$WORK/inline.txt" 3>"$WORK/inline.status" 2>/dev/null || true
check "gpg --verify on the body: good signature by the relay" \
	grep -q "^\[GNUPG:\] VALIDSIG .* $RELAY\$" "$WORK/inline.status"
line=$(msgs "$T_INL")
"$PY" "$WORK/body.py" "$(field "$line" file)" >"$WORK/inline-enc.asc"
check "inline with a key: an armored OpenPGP message" grep -q '^-----BEGIN PGP MESSAGE-----' "$WORK/inline-enc.asc"
G "$WORK/gnupg-a" --status-fd 3 --decrypt "$WORK/inline-enc.asc" >"$WORK/inline-enc.txt" 3>"$WORK/inline-enc.status" 2>/dev/null || true
check "it decrypts, the signature inside is good" \
	bash -c "grep -q DECRYPTION_OKAY '$WORK/inline-enc.status' && grep -q GOODSIG '$WORK/inline-enc.status'"
check "and holds the CSV" grep -q '203.0.113.200' "$WORK/inline-enc.txt"

# --- TLP:RED never leaves, even should an event reach a ticket: the
#     last check before the notice is built leaves it out
printf '[aggregate]\nwindow = 1h\n' >>"$conf"
{ ev 100.64.3.3 GREEN phishing; ev 100.64.3.4 GREEN phishing; ev 100.64.4.4 GREEN scanner; } >"$WORK/ev-red.jsonl"
R -q ingest "$WORK/ev-red.jsonl"
R run --once --offline >/dev/null 2>&1
T_RED=$(tid 100.64.3.3)
T_ONLY=$(tid 100.64.4.4)
check "the tickets wait out the window" test "$(q "SELECT group_concat(state) FROM tickets WHERE id IN ('$T_RED', '$T_ONLY')")" = "open,open"
q "UPDATE events SET tlp = 4 WHERE source_ip IN ('100.64.3.4', '100.64.4.4')"
R run --once --offline --now "$(date -u -d '+2 hours' +%Y-%m-%dT%H:%M:%SZ)" >/dev/null 2>"$WORK/red.err" || true
check "the RED event is named in the log" grep -q "event .* is TLP:RED: left out of the notice" "$WORK/red.err"
f=$(grep -l "^X-Renraku-Ticket: $T_RED" "$WORK"/outbox/new/*)
check "the notice went out with the other event" grep -q '100.64.3.3' "$f"
check "without the RED one" bash -c "! grep -q '100.64.3.4' '$f'"
check "a ticket of RED events only is set aside, not sent" \
	test "$(q "SELECT state FROM tickets WHERE id = '$T_ONLY'"):$(grep -l "^X-Renraku-Ticket: $T_ONLY" "$WORK"/outbox/new/* | wc -l)" = "failed:0"
printf '[aggregate]\nwindow = 0\n' >>"$conf"

# --- [gpg] encrypt = never: AMBER is held even with a key; = always:
#     nothing in clear for GREEN either
printf '[gpg]\nencrypt = never\n' >>"$conf"
ev 192.0.2.20 AMBER >"$WORK/ev2.jsonl"
R -q ingest "$WORK/ev2.jsonl"
R run --once --offline >/dev/null 2>"$WORK/run3.err"
T_NEV=$(tid 192.0.2.20)
check "encrypt = never: AMBER held" test "$(q "SELECT state FROM tickets WHERE id = '$T_NEV'")" = held
check "with the reason" bash -c "sqlite3 '$db' \"SELECT hold_reason FROM tickets WHERE id = '$T_NEV'\" | grep -q 'encrypt = never'"
printf '[gpg]\nencrypt = always\n' >>"$conf"
ev 192.0.2.21 GREEN phishing >"$WORK/ev3.jsonl"
ev 100.64.2.2 GREEN phishing >>"$WORK/ev3.jsonl"
R -q ingest "$WORK/ev3.jsonl"
R run --once --offline >/dev/null 2>&1
"$PY" "$WORK/list.py" "$WORK/outbox" >"$WORK/msgs.jsonl"
T_ALW=$(tid 192.0.2.21)
T_ALN=$(tid 100.64.2.2)
check "encrypt = always: GREEN to a key goes encrypted only" \
	test "$(msgs "$T_ALW" | grep -c multipart/encrypted):$(msgs "$T_ALW" | grep -c .)" = "1:1"
check "encrypt = always: GREEN without a key is held" test "$(q "SELECT state FROM tickets WHERE id = '$T_ALN'")" = held
check "and its hold says why" bash -c "sqlite3 '$db' \"SELECT hold_reason FROM tickets WHERE id = '$T_ALN'\" | grep -q 'encrypt = always'"

gpgconf --homedir "$WORK/gnupg-a" --kill all >/dev/null 2>&1 || true
finish
