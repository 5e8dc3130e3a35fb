#!/usr/bin/env bash
# [transport] rate_per_domain and rate_total (messages per minute): a big
# batch for one domain is spread over the following minutes, not dropped;
# `run --once` exits 0 with the rest still queued and says so; every
# message arrives once in the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/smtp_lib.sh"

cd "$WORK"
mkdir -p contacts
printf 'org,match,email,cc,pgp,lang,format,notes\n' >contacts/constituency.csv
for i in $(seq 1 12); do
	printf 'Big %d,198.51.100.%d/32,abuse%d@big.example,,,en,,\n' "$i" "$i" "$i"
done >>contacts/constituency.csv
for i in 1 2 3; do
	printf 'Small %d,192.0.2.%d/32,soc%d@small.example,,,en,,\n' "$i" "$i" "$i"
done >>contacts/constituency.csv
printf 'country,team,email,pgp,lang\n' >contacts/national-csirts.csv
printf 'match,type,until,reason\n' >contacts/suppress.csv
{
	for i in $(seq 1 12); do echo "198.51.100.$i"; done
	for i in 1 2 3; do echo "192.0.2.$i"; done
} | while read -r ip; do
	printf '{"feed.name": "Rate", "time.source": "2026-11-20T10:00:00+00:00", "source.ip": "%s", "classification.taxonomy": "vulnerable", "classification.type": "vulnerable-system"}\n' "$ip"
done >events.jsonl

start_sink rate "$WORK/sink"
plain_conf r.conf rate "$SINK_PORT" "rate_per_domain = 5" "rate_total = 7"
R() { "$RENRAKU" --config r.conf "$@"; }
R -q init --gen-key >/dev/null
R -q contacts import contacts >/dev/null
R -q ingest events.jsonl >/dev/null
now=$(date +%s)
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
big() { grep -l "abuse[0-9]*@big.example" sink/*.json 2>/dev/null | wc -l; }

rc=0; R run --once --now "$(iso "$now")" >run1.out 2>run1.err || rc=$?
check "run --once exits 0 with messages left (rc $rc)" test "$rc" -eq 0
check "minute 1: 7 sent (rate_total)" test "$(sink_count sink)" -eq 7
check "minute 1: at most 5 to big.example (rate_per_domain)" test "$(big)" -le 5
check "it says the rest is still queued" grep -q "rate limits: 8 messages left queued" run1.out
check "nothing dropped: 8 still queued" test \
	"$(sqlite3 renraku.db "SELECT count(*) FROM messages WHERE state = 'queued'")" -eq 8
R -q run --once --now "$(iso $((now + 30)))" >/dev/null 2>&1
check "the same minute: nothing more" test "$(sink_count sink)" -eq 7
R -q run --once --now "$(iso $((now + 60)))" >/dev/null 2>&1
check "minute 2: 6 more (5 to big.example, the last to small.example)" test "$(sink_count sink)" -eq 13
check "minute 2: big.example at most 10 in all" test "$(big)" -le 10
R -q run --once --now "$(iso $((now + 120)))" >/dev/null 2>&1
check "minute 3: all 15 arrived" test "$(sink_count sink)" -eq 15
check "big.example got all 12" test "$(big)" -eq 12
check "every message sent once" test \
	"$(grep -h -i '^Message-Id:' sink/*.eml | sort | uniq -d | wc -l)" -eq 0 -a \
	"$(sqlite3 renraku.db "SELECT count(*) FROM messages WHERE state = 'sent'")" -eq 15
finish
