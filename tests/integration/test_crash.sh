#!/usr/bin/env bash
# Nothing is lost: kill -9 renraku at random moments while it ingests and
# runs, then let one more `run --once` finish.  Every event must end up in
# a ticket, every ticket notified exactly once, one file per message in the
# maildir (a repeated delivery must not duplicate), and the messages must
# still verify.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 CLI missing" >&2; exit 1; }

NETS=240
PER=4
KILLS=${RK_CRASH_KILLS:-12}   # batches; each is ingested, then a run is killed
conf="$WORK/renraku.conf"
cat >"$conf" <<CONF
[relay]
name = Crash Test CSIRT
from = csirt@crash.example
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

mkdir -p "$WORK/contacts"
{
	echo "org,match,email,cc,pgp,lang,format,notes"
	for i in $(seq 0 $((NETS - 1))); do
		echo "Net $i,198.18.$i.0/24,abuse@net$i.example,,,en,,"
	done
} >"$WORK/contacts/constituency.csv"
"$PY" - "$WORK" "$NETS" "$PER" "$KILLS" <<'PYEOF'
import json, sys
work, nets, per, batches = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
files = [open("%s/batch%d.jsonl" % (work, b), "w") for b in range(batches)]
with open(work + "/events.jsonl", "w") as f:
    for i in range(nets):
        for j in range(per):
            line = json.dumps({
                "time.source": "2026-11-20T%02d:%02d:00Z" % (j, i % 60),
                "source.ip": "198.18.%d.%d" % (i, j + 1),
                "classification.type": "infected-system",
                "classification.identifier": "mirai",
                "tlp": "GREEN"}) + "\n"
            f.write(line)
            files[i * batches // nets].write(line)
PYEOF
total=$((NETS * PER))

check "init --gen-key" R init --gen-key
check "contacts import" R contacts import "$WORK/contacts"

# Crash ingest a few times: the file is one transaction, so a killed
# ingest stores nothing or everything.
for k in 1 2 3; do
	"$RENRAKU" --config "$conf" -q ingest "$WORK/events.jsonl" >/dev/null 2>&1 &
	pid=$!
	sleep "0.0$((RANDOM % 9 + 1))"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
done

# Then batch by batch: ingest, start a run, kill it at a random moment
# inside the ~0.2 s its batch takes.
killed=0
for k in $(seq 0 $((KILLS - 1))); do
	R ingest "$WORK/batch$k.jsonl" >/dev/null 2>&1
	"$RENRAKU" --config "$conf" -q run --once >/dev/null 2>&1 &
	pid=$!
	sleep "0.$((RANDOM % 2))$((RANDOM % 10))"
	if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
	wait "$pid" 2>/dev/null || true
done
echo "killed renraku $killed of $KILLS times mid-run"
R ingest --json "$WORK/events.jsonl" >"$WORK/ingest.json" 2>/dev/null || true
check "re-ingesting everything adds nothing" test "$(json_get "$WORK/ingest.json" 'd["duplicates"]')" -eq "$total"
stored=$(sqlite3 "$WORK/renraku.db" "SELECT count(*) FROM events")
check "all $total events stored once ($stored)" test "$stored" -eq "$total"
check "a final run completes" R run --once

q() { sqlite3 "$WORK/renraku.db" "$1"; }
check "every event is in a ticket" test "$(q "SELECT count(*) FROM events WHERE state = 'ticketed'")" -eq "$total"
check "each event in exactly one ticket" test "$(q "SELECT count(DISTINCT event_id) FROM ticket_events")" -eq "$total"
check "$NETS tickets" test "$(q "SELECT count(*) FROM tickets")" -eq "$NETS"
check "every ticket notified" test "$(q "SELECT count(*) FROM tickets WHERE state = 'notified'")" -eq "$NETS"
check "one notice per ticket" test "$(q "SELECT count(*) FROM messages")" -eq "$NETS"
check "every message sent" test "$(q "SELECT count(*) FROM messages WHERE state = 'sent'")" -eq "$NETS"
check "every event carried by a notice" test "$(q "SELECT count(*) FROM ticket_events WHERE message_row IS NULL")" -eq 0
files=$(find "$WORK/outbox/new" -type f | wc -l)
check "one maildir file per message ($files)" test "$files" -eq "$NETS"
mapfile -t all < <(find "$WORK/outbox/new" -type f)
check "sampled messages verify with gpg" "$PY" "$(dirname "$0")/verify_mail.py" \
	--key "$WORK/signing-key.asc" "${all[@]:0:8}"
finish
