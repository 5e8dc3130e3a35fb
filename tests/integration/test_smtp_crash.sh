#!/usr/bin/env bash
# Crash safety over SMTP: 250 notices go to an SMTP sink (smtp_sink.py,
# which records every DATA it accepts) while `renraku run --once` is
# killed with SIGKILL at random points of the session, 100 times; then a
# last run finishes.  Every message arrives, none is lost, and a
# Message-ID arrives twice only when its message was the one in flight
# (left in state sending) at a kill: never more than one message is in
# flight, and nothing else repeats.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp_lib.sh"

N=250
KILLS=100
cd "$WORK"
mkdir -p contacts
{
	echo "org,match,email,cc,pgp,lang,format,notes"
	for i in $(seq 1 $N); do
		echo "Org $i,203.0.113.$i/32,c$i@crash$((i % 4)).example,,,en,csv-attach,"
	done
} >contacts/constituency.csv
printf 'country,team,email,pgp,lang\n' >contacts/national-csirts.csv
printf 'match,type,until,reason\n' >contacts/suppress.csv
for i in $(seq 1 $N); do
	printf '{"feed.name": "Crash-Test", "time.source": "2026-11-20T10:00:00+00:00", "source.ip": "203.0.113.%d", "classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system"}\n' "$i"
done >events.jsonl

start_sink crash "$WORK/sink" --delay-max-ms 150
PORT=$SINK_PORT
SINK=$SINK_PID
plain_conf r.conf crash "$PORT" "timeout = 5000"
R() { "$RENRAKU" --config r.conf -q "$@"; }
check "init --gen-key" R init --gen-key
R contacts import contacts >/dev/null
R ingest events.jsonl >/dev/null
now=$(date +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# build the notices with the server down: all queued (deferred, uncounted)
stop_sink "$SINK"
rc=0; R run --once --now "$(iso "$now")" 2>build.err || rc=$?
check "notices built while the server is down (rc $rc)" test "$rc" -eq 75
check "$N messages in the store" test "$(sqlite3 renraku.db "SELECT count(*) FROM messages")" -eq $N
start_sink crash2 "$WORK/sink" --port "$PORT" --delay-max-ms 150
SINK=$SINK_PID

# how long a run takes to get going (slower under sanitizers): a pass
# of an empty relay with the same configuration
sed 's/^\[gpg\]/[store]\npath = probe.db\n[gpg]/' r.conf >probe.conf
"$RENRAKU" --config probe.conf -q init >/dev/null
t0=$(date +%s%N)
"$RENRAKU" --config probe.conf -q run --once --now "$(iso "$now")" >/dev/null 2>&1 || true
startup_ms=$((($(date +%s%N) - t0) / 1000000))
echo "# a run with nothing to send takes $startup_ms ms"
later=$(iso $((now + 86400)))
: >inflight.txt
max_inflight=0
kills=0
tries=0
for k in $(seq 1 $KILLS); do
	tries=$k
	"$RENRAKU" --config r.conf -q run --once --now "$later" >/dev/null 2>>kills.err &
	pid=$!
	# a random point of the session: from about when a run reaches the
	# server to 400 ms later (the sink takes up to 150 ms per message: a
	# few messages a run)
	sleep "$(awk -v ms=$((startup_ms * 3 / 4 + RANDOM % 400)) 'BEGIN { printf "%.3f", ms / 1000 }')"
	kill -9 "$pid" 2>/dev/null && kills=$((kills + 1))
	wait "$pid" 2>/dev/null || true
	sqlite3 renraku.db "SELECT message_id FROM messages WHERE state = 'sending'" >cur.txt
	cat cur.txt >>inflight.txt
	n=$(wc -l <cur.txt)
	[ "$n" -gt "$max_inflight" ] && max_inflight=$n
	# everything sent: start over would prove nothing more
	[ "$(sqlite3 renraku.db "SELECT count(*) FROM messages WHERE state <> 'sent'")" -eq 0 ] && break
done
before=$(sink_count sink)
echo "# $kills kills, $before messages at the sink before the last run"
check "the kills landed inside sessions ($before messages went out between them)" test "$before" -ge 10
check "at most one message in flight at any kill (max $max_inflight)" test "$max_inflight" -le 1
rc=0; R run --once --now "$later" 2>final.err || rc=$?
check "the last run finishes (rc $rc)" test "$rc" -eq 0
check "every message sent" test "$(sqlite3 renraku.db "SELECT count(*) FROM messages WHERE state = 'sent'")" -eq $N
grep -h -i '^Message-Id:' sink/*.eml | tr -d '\r' | sed 's/^[^<]*//' | sort >arrived.txt
sqlite3 renraku.db "SELECT message_id FROM messages" | sort >stored.txt
check "none lost: every stored Message-ID arrived" test -z "$(comm -23 stored.txt <(sort -u arrived.txt))"
check "nothing arrived that is not stored" test -z "$(comm -13 stored.txt <(sort -u arrived.txt))"
uniq -d arrived.txt >repeated.txt
echo "# $(wc -l <repeated.txt) Message-IDs arrived twice or more"
ok_repeats=1
while read -r mid; do
	times=$(grep -cxF "$mid" arrived.txt)
	flights=$(grep -cxF "$mid" inflight.txt || true)
	if [ $((times - 1)) -gt "$flights" ]; then
		echo "# $mid arrived $times times, in flight at $flights kills" >&2
		ok_repeats=0
	fi
done <repeated.txt
check "repeats only of the message in flight at a kill" test "$ok_repeats" -eq 1
check "repeats keep their Message-ID and bytes (each copy identical)" bash -c '
	while read -r mid; do
		files=$(grep -l -i -F "Message-Id: $mid" sink/*.eml)
		first=$(echo "$files" | head -1)
		for f in $files; do cmp -s "$first" "$f" || exit 1; done
	done <repeated.txt'
# the loop stops once everything is sent (a fast machine needs fewer
# runs): what matters is that most runs were killed, and enough of them
check "at least half the runs were killed ($kills of $tries) and at least 10" \
	bash -c "[ $kills -ge $((tries / 2)) ] && [ $kills -ge 10 ]"
finish
