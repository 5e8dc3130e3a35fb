#!/usr/bin/env bash
# The signing helper (renraku-gpg-helper, relay/mail/helper.c): the pool's
# workers sign and encrypt through one helper each; a helper killed in
# the middle of a pass is started again and the pass completes with
# every notice signed (and the encrypted one decryptable); no helper is
# left behind; the helper refuses to run when renraku did not start it.
. "$(dirname "$0")/lib.sh"

HELPER=$(dirname "$RENRAKU")/renraku-gpg-helper
check "the helper is built next to renraku" test -x "$HELPER"

G() { gpgq "$@"; }
mkdir -m 700 "$WORK/gnupg-a"
G "$WORK/gnupg-a" --quick-gen-key "NOC A <noc@isp-a.example>" future-default default never
FPR_A=$(key_fpr "$WORK/gnupg-a" noc@isp-a.example)
rows=("ISP A,192.0.2.0/24,noc@isp-a.example,,$FPR_A,en,csv-attach,")
for i in $(seq 1 250); do
	rows+=("Org $i,10.$((i / 200)).$((i % 200)).0/24,abuse@org$i.example,,,en,csv-attach,")
done
now=2026-11-30T12:00:00Z
{
	event_line 192.0.2.10 AMBER
	for i in $(seq 1 250); do event_line "10.$((i / 200)).$((i % 200)).1" GREEN; done
} >"$WORK/ev.jsonl"
d=$WORK/relay
mkdir -p "$d/contacts/keys"
contacts_with "$d/contacts" "${rows[@]}"
G "$WORK/gnupg-a" --armor --export noc@isp-a.example >"$d/contacts/keys/isp-a.asc"
relay_conf "$d/renraku.conf" '[gpg]' 'threads = 2'
R() { (cd "$d" && "$RENRAKU" --config renraku.conf --now $now "$@"); }
R init --gen-key >/dev/null 2>&1
R contacts import contacts >/dev/null 2>&1
R -q ingest "$WORK/ev.jsonl"
FPR=$(key_fpr "$d/gnupg" csirt@test.example)

# started by hand (its parent is not the pid it is given): refused
rc=0
"$HELPER" "$d/gnupg" "$FPR" 1 3<&- </dev/null >/dev/null 2>&1 || rc=$?
check "the helper refuses a parent that is not renraku (rc $rc)" test "$rc" -eq 2
rc=0
"$HELPER" </dev/null >/dev/null 2>&1 || rc=$?
check "the helper refuses to run without arguments (rc $rc)" test "$rc" -eq 2

# one pass; the first helper killed once it has signed something
(cd "$d" && exec "$RENRAKU" --config renraku.conf --now $now -v run --once --offline) \
	>"$WORK/run.out" 2>"$WORK/run.err" &
pid=$!
victim=
for _ in $(seq 1 400); do
	victim=$(sed -n 's/.*signing helper \([0-9]*\) for .*/\1/p' "$WORK/run.err" | head -n 1)
	built=$(sqlite3 "$d/renraku.db" "SELECT count(*) FROM messages" 2>/dev/null || echo 0)
	[ -n "$victim" ] && [ "${built:-0}" -ge 10 ] && break
	sleep 0.02
done
[ -n "$victim" ] && kill -9 "$victim" 2>/dev/null || true
rc=0
wait "$pid" || rc=$?
check "the run exits 0 (rc $rc)" test "$rc" -eq 0
check "the workers signed through helpers" grep -q "signing helper [0-9]* for $FPR" "$WORK/run.err"
check "the killed helper was started again" grep -q "signing helper $victim stopped: starting it again" "$WORK/run.err"
check "no helper left running" bash -c "! pgrep -f '^$HELPER $d/gnupg' >/dev/null"
db=$d/renraku.db
n=$(sqlite3 "$db" "SELECT count(*) FROM tickets WHERE state = 'notified'")
all=$(sqlite3 "$db" "SELECT count(*) FROM tickets")
check "every ticket notified ($n of $all)" test "$n" -eq "$all" -a "$all" -eq 251
signed=$(grep -l "^Content-Type: multipart/signed" "$d"/outbox/new/* || true)
# shellcheck disable=SC2086
check "every signed message verifies" "$PY" "$RK_SOURCE_DIR/tests/integration/verify_mail.py" \
	--key "$d/signing-key.asc" $signed >/dev/null
G "$WORK/gnupg-a" --import "$d/signing-key.asc" 2>/dev/null
enc=$(grep -l "^Content-Type: multipart/encrypted" "$d"/outbox/new/* || true)
check "one encrypted message" test "$(echo "$enc" | wc -w)" -eq 1
"$PY" -c 'import email,sys; m=email.message_from_binary_file(open(sys.argv[1],"rb")); sys.stdout.write(m.get_payload()[1].get_payload())' "$enc" >"$WORK/c.asc"
G "$WORK/gnupg-a" --status-fd 3 --decrypt "$WORK/c.asc" >/dev/null 3>"$WORK/c.status" 2>/dev/null || true
check "it decrypts, good signature inside" \
	bash -c "grep -q '^\[GNUPG:\] DECRYPTION_OKAY' '$WORK/c.status' && grep -q '^\[GNUPG:\] GOODSIG' '$WORK/c.status'"
gpgconf --homedir "$d/gnupg" --kill all >/dev/null 2>&1 || true
finish
