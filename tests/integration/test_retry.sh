#!/usr/bin/env bash
# A delivery that fails for now is deferred and retried later, with a
# growing delay, until it goes out; nothing is resent early.
. "$(dirname "$0")/lib.sh"

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
R run --once --now "$(iso $((now + 301)))" --json >"$WORK/run3.json"
check "retried after 5 minutes: all $deferred sent" test "$(json_get "$WORK/run3.json" 'd["sent"]')" -eq "$deferred"
check "one file per message" test "$(find "$WORK/outbox/new" -type f | wc -l)" -eq "$deferred"
check "attempts recorded" test "$(sqlite3 "$WORK/renraku.db" "SELECT min(attempts) FROM messages")" -eq 1
finish
