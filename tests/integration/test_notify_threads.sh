#!/usr/bin/env bash
# Notices built on a pool of threads ([gpg] threads) are the same whatever
# the number of threads: two relays get the same contacts and events and run at the
# same --now, one with threads = 1, one with threads = 4; then
#  - the tickets, their timelines, the message rows (in id order: the
#    results are written in ticket order), the events each message
#    carried and the acknowledgement tokens are the same;
#  - the maildirs hold the same messages apart from Message-IDs,
#    boundaries, tokens, the relay's fingerprint and the signatures;
#  - every signed message verifies, every encrypted one decrypts with the
#    recipient's key with a good signature of the relay inside;
#  - the mix covers the paths around the pool: encrypted (AMBER, and
#    GREEN with a signed copy for a keyless Cc), held for a key
#    (needs-key), inline, plain signed notices, and [relay] review (a
#    held-for-review ticket approved, then released in order between
#    notices still being built).
. "$(dirname "$0")/lib.sh"

G() { gpgq "$@"; }
mkdir -m 700 "$WORK/gnupg-a"
G "$WORK/gnupg-a" --quick-gen-key "NOC A <noc@isp-a.example>" future-default default never
FPR_A=$(key_fpr "$WORK/gnupg-a" noc@isp-a.example)
check "recipient key made" test -n "$FPR_A"

rows=("ISP A,192.0.2.0/24,noc@isp-a.example,helpdesk@isp-a.example,$FPR_A,en,csv-attach,"
	"Nokey Org,198.51.100.0/24,abuse@nokey.example,,,en,,"
	"Inline Org,203.0.113.0/24,sec@inline.example,,,en,inline,"
	"Japan Org,100.65.0.0/16,abuse@jp.example,,,ja,,")
for i in $(seq 1 24); do
	rows+=("Org $i,10.$i.0.0/16,abuse@org$i.example,,,en,csv-attach,")
done
now=2026-11-30T12:00:00Z
{
	event_line 192.0.2.10 AMBER
	event_line 192.0.2.11 GREEN brute-force
	event_line 198.51.100.5 AMBER
	event_line 203.0.113.5 GREEN
	event_line 100.65.1.1 GREEN
	for i in $(seq 1 24); do
		for h in 1 2 3; do
			event_line "10.$i.0.$h" GREEN
		done
		event_line "10.$i.1.1" GREEN scanner
	done
} >"$WORK/ev.jsonl"

# relay DIR THREADS [LINES...]: a relay home with the contacts and events
relay() {
	local dir=$1 threads=$2
	shift 2
	mkdir -p "$dir/contacts/keys"
	contacts_with "$dir/contacts" "${rows[@]}"
	G "$WORK/gnupg-a" --armor --export noc@isp-a.example >"$dir/contacts/keys/isp-a.asc"
	relay_conf "$dir/renraku.conf" '[gpg]' "threads = $threads" "$@"
	(cd "$dir" && "$RENRAKU" --config renraku.conf --now $now init --gen-key >/dev/null 2>&1 &&
		"$RENRAKU" --config renraku.conf --now $now contacts import contacts >/dev/null 2>&1 &&
		"$RENRAKU" --config renraku.conf --now $now -q ingest "$WORK/ev.jsonl")
}
R() { local dir=$1; shift; (cd "$dir" && "$RENRAKU" --config renraku.conf --now $now "$@"); }

# what must not depend on the number of threads
facts() { # facts DB
	sqlite3 "$1" "SELECT id, state, contact, template, level, event_count FROM tickets ORDER BY id;
		SELECT ticket_id, from_state, to_state, cause, coalesce(detail, '') FROM ticket_timeline ORDER BY id;
		SELECT id, ticket_id, kind, rcpt, subject, state FROM messages ORDER BY id;
		SELECT ticket_id, event_id, coalesce(message_row, 0) FROM ticket_events ORDER BY ticket_id, event_id;
		SELECT ticket_id, level FROM ack_tokens ORDER BY rowid;"
}
cat >"$WORK/norm.py" <<'PY'
import email, email.policy, glob, re, sys
def text(part, depth, out):
    for k, v in part.items():
        if k.lower() in ("message-id", "date", "in-reply-to", "references"):
            continue
        out.append("  " * depth + k + ": " + v)
    if part.is_multipart():
        for p in part.get_payload():
            text(p, depth + 1, out)
    elif part.get_content_type() in ("application/pgp-signature", "application/octet-stream"):
        out.append("  " * depth + "[OpenPGP data]")
    else:
        out.append((part.get_payload(decode=True) or b"").decode("utf-8", "replace"))
msgs = []
for path in glob.glob(sys.argv[1] + "/new/*"):
    m = email.message_from_binary_file(open(path, "rb"), policy=email.policy.compat32)
    out = []
    text(m, 0, out)
    t = "\n".join(out)
    t = re.sub(r'boundary="[^"]*"', "boundary=B", t)
    t = re.sub(r"ack/[0-9A-Za-z_-]+", "ack/TOKEN", t)
    t = re.sub(r"\b[0-9A-F]{40}\b", "FPR", t)
    t = re.sub(r"-----BEGIN PGP SIGNATURE-----.*?-----END PGP SIGNATURE-----", "SIG", t, flags=re.S)
    msgs.append(t)
for t in sorted(msgs):
    print("=====")
    print(t)
PY

for mode in plain review; do
	extra=()
	[ "$mode" = review ] && extra=('[relay]' 'review = on')
	for n in 1 4; do
		relay "$WORK/$mode$n" $n "${extra[@]}"
	done
	if [ "$mode" = review ]; then
		# approve two held-for-review tickets in both, so that the next
		# pass releases them in order between notices being built
		for n in 1 4; do
			check "review: first pass ($n threads)" R "$WORK/$mode$n" -q run --once --offline
		done
		# new events: new tickets built in the second pass around the
		# approved ones
		for n in 1 4; do
			db="$WORK/$mode$n/renraku.db"
			ids=$(sqlite3 "$db" "SELECT id FROM tickets WHERE state = 'held' AND contact LIKE 'abuse@org%' ORDER BY id LIMIT 2 OFFSET 5")
			# shellcheck disable=SC2086
			check "review: approve two ($n threads)" R "$WORK/$mode$n" -q tickets approve $ids --as tester
			# the one held for a key, released in clear: approved but
			# with nothing reviewed, so built in the pass; it comes
			# before the two above, which then wait for it to commit
			nokey=$(sqlite3 "$db" "SELECT id FROM tickets WHERE contact = 'abuse@nokey.example'")
			check "review: approve --cleartext ($n threads)" R "$WORK/$mode$n" -q tickets approve "$nokey" --cleartext --as tester
			for i in $(seq 1 24); do event_line "10.$i.2.1" GREEN vulnerable-system; done >"$WORK/ev2.jsonl"
			R "$WORK/$mode$n" -q ingest "$WORK/ev2.jsonl"
		done
	fi
	for n in 1 4; do
		rc=0
		R "$WORK/$mode$n" -v run --once --offline >"$WORK/$mode$n.out" 2>"$WORK/$mode$n.err" || rc=$?
		check "$mode: run with $n thread(s) exits 0 (rc $rc)" test "$rc" -eq 0
	done
	check "$mode: the pool was used with 4 threads" grep -q "notify: .* tickets due, 4 threads" "$WORK/${mode}4.err"
	check "$mode: one thread is a pool of one (one notice signed at a time)" grep -q "notify: .* tickets due, 1 threads" "$WORK/${mode}1.err"
	facts "$WORK/${mode}1/renraku.db" >"$WORK/$mode.facts1"
	facts "$WORK/${mode}4/renraku.db" >"$WORK/$mode.facts4"
	check "$mode: tickets, timelines, messages, events carried and tokens are the same" \
		diff "$WORK/$mode.facts1" "$WORK/$mode.facts4"
	check "$mode: notices were written" test "$(sqlite3 "$WORK/${mode}4/renraku.db" "SELECT count(*) FROM messages")" -ge 30
	"$PY" "$WORK/norm.py" "$WORK/${mode}1/outbox" >"$WORK/$mode.mail1"
	"$PY" "$WORK/norm.py" "$WORK/${mode}4/outbox" >"$WORK/$mode.mail4"
	check "$mode: the maildirs hold the same messages" diff "$WORK/$mode.mail1" "$WORK/$mode.mail4"
done

d="$WORK/plain4"
check "a ticket is held for a key" test "$(sqlite3 "$d/renraku.db" "SELECT count(*) FROM tickets WHERE state = 'held' AND contact = 'abuse@nokey.example'")" -eq 1
r="$WORK/review4/renraku.db"
nnotified=$(sqlite3 "$r" "SELECT count(*) FROM tickets WHERE state = 'notified'")
nreview=$(sqlite3 "$r" "SELECT count(*) FROM messages WHERE state = 'review'")
check "review: approved tickets went out ($nnotified), new ones wait for review ($nreview)" \
	test "$nnotified" -ge 3 -a "$nreview" -ge 20
nclear=$(sqlite3 "$r" "SELECT count(*) FROM tickets WHERE state = 'notified' AND contact = 'abuse@nokey.example'")
check "review: the ticket approved in clear went out" test "$nclear" -eq 1
signed=$(grep -l "^Content-Type: multipart/signed" "$d"/outbox/new/* || true)
check "signed messages there" test -n "$signed"
# shellcheck disable=SC2086
check "every signed message verifies" "$PY" "$RK_SOURCE_DIR/tests/integration/verify_mail.py" \
	--key "$d/signing-key.asc" $signed >/dev/null
G "$WORK/gnupg-a" --import "$d/signing-key.asc" 2>/dev/null
cat >"$WORK/cipher.py" <<'PY'
import email, email.policy, sys
m = email.message_from_binary_file(open(sys.argv[1], "rb"), policy=email.policy.compat32)
sys.stdout.write(m.get_payload()[1].get_payload())
PY
nenc=0
for f in $(grep -l "^Content-Type: multipart/encrypted" "$d"/outbox/new/* || true); do
	nenc=$((nenc + 1))
	"$PY" "$WORK/cipher.py" "$f" >"$WORK/c.asc"
	G "$WORK/gnupg-a" --status-fd 3 --decrypt "$WORK/c.asc" >/dev/null 3>"$WORK/c.status" 2>/dev/null || true
	check "encrypted message $nenc decrypts, good signature inside" \
		bash -c "grep -q '^\[GNUPG:\] DECRYPTION_OKAY' '$WORK/c.status' && grep -q '^\[GNUPG:\] GOODSIG' '$WORK/c.status'"
done
check "two encrypted messages (AMBER, GREEN)" test "$nenc" -eq 2
finish
