#!/usr/bin/env bash
# Delivery alongside the notify stage: a run that builds more notices
# than one delivery session carries (100) starts delivering those already
# committed while the rest are still signed, from a second connection;
# the delivery stage after notify sends what is left.  Whatever went
# which way, each notice reaches the maildir once, signed, and every
# message and delivery row ends sent after one attempt.
. "$(dirname "$0")/lib.sh"

n=300
rows=()
events=()
for i in $(seq 1 $n); do
	b=$((i / 200))
	c=$((i % 200))
	rows+=("Org $i,10.$b.$c.0/24,abuse@org$i.example,,,en,,")
	events+=("$(event_line "10.$b.$c.7" GREEN)")
done
now=2026-11-30T12:00:00Z
printf '%s\n' "${events[@]}" >"$WORK/ev.jsonl"
R() { (cd "$dir" && "$RENRAKU" --config renraku.conf --now $now "$@"); }
# make_relay DIR [CONF LINE...]: a relay home in DIR (then $dir) with the
# contacts, a signing key and the events ingested
make_relay() {
	dir=$1
	shift
	mkdir -p "$dir"
	contacts_with "$dir/contacts" "${rows[@]}"
	relay_conf "$dir/renraku.conf" "$@"
	R init --gen-key >/dev/null 2>&1
	R contacts import contacts >/dev/null 2>&1
	R -q ingest "$WORK/ev.jsonl"
}
# two signing threads whatever the machine: 300 notices then take long
# enough (a gpg process each) for 100 to be committed while notify runs
make_relay "$WORK/relay" '[gpg]' 'threads = 2'

rc=0
R -v run --once --offline >"$WORK/run.out" 2>"$WORK/run.err" || rc=$?
check "run --once exits 0" test "$rc" -eq 0
along=$(sed -n 's/.*deliver: \([0-9]*\) messages alongside the notices.*/\1/p' "$WORK/run.err")
check "delivery began alongside the notices (${along:-none})" \
	test "${along:-0}" -ge 100
check "and the stage after notify sent the rest" \
	grep -q "deliver: $n messages in" "$WORK/run.err"
check "the summary counts every notice sent once" \
	grep -qx "delivery: $n sent, 0 deferred, 0 failed" "$WORK/run.out"
files=$(find "$dir/outbox/new" -type f | wc -l)
check "the maildir holds $n messages ($files)" test "$files" -eq "$n"
check "no message twice (distinct Message-IDs)" \
	test "$(grep -h -i -m1 '^Message-ID:' "$dir"/outbox/new/* | sort -u | wc -l)" -eq "$n"
check "nothing left in tmp/" test -z "$(ls -A "$dir/outbox/tmp")"
db=$dir/renraku.db
check "every message row sent after one attempt" \
	test "$(sqlite3 "$db" "SELECT count(*) FROM messages WHERE direction = 'out' AND state = 'sent' AND attempts = 1")" -eq "$n"
check "every delivery row sent after one attempt, with its file" \
	test "$(sqlite3 "$db" "SELECT count(*) FROM deliveries WHERE state = 'sent' AND attempts = 1 AND location LIKE '%outbox/new/renraku-%'")" -eq "$n"
mapfile -t all < <(find "$dir/outbox/new" -type f | sort)
check "sampled notices verify with gpg" "$PY" "$(dirname "$0")/verify_mail.py" \
	--key "$dir/signing-key.asc" "${all[@]:0:4}" "${all[@]: -4}" >/dev/null
# a second run finds nothing to send
R run --once --offline >"$WORK/run2.out" 2>&1
check "a second run sends nothing" \
	grep -qx "delivery: 0 sent, 0 deferred, 0 failed" "$WORK/run2.out"

# The same run against an SMTP server that is not there: delivery
# alongside meets the refused connection first, defers its session
# uncounted and stops; the stage after notify meets it again.  Nothing is
# sent, nothing is lost, and the run says the deliver stage failed (exit
# 75: try again later).
port=$("$PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
make_relay "$WORK/down" '[gpg]' 'threads = 2' '[transport]' \
	"url = smtp://127.0.0.1:$port" 'starttls = off' 'timeout = 2000'
rc=0
R -v run --once --offline >"$WORK/down.out" 2>"$WORK/down.err" || rc=$?
check "run --once exits 75, a temporary failure (rc $rc)" test "$rc" -eq 75
check "it says the deliver stage failed" \
	grep -q "run: the deliver stage failed" "$WORK/down.err"
check "delivery alongside stopped on the refused connection" \
	grep -q "deliver: stopped alongside the notices" "$WORK/down.err"
db=$dir/renraku.db
check "every notice built" \
	test "$(sqlite3 "$db" "SELECT count(*) FROM messages WHERE direction = 'out'")" -eq "$n"
check "none sent" \
	test "$(sqlite3 "$db" "SELECT count(*) FROM messages WHERE state = 'sent'")" -eq 0
check "a session or more deferred, none of them counted as an attempt" \
	test "$(sqlite3 "$db" "SELECT count(*) FROM messages WHERE state = 'deferred' AND attempts = 0")" -ge 100
check "the rest still queued or deferred (none failed)" \
	test "$(sqlite3 "$db" "SELECT count(*) FROM messages WHERE state IN ('queued', 'deferred')")" -eq "$n"
finish
