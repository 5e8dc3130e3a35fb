#!/usr/bin/env bash
# The spool directory: `renraku run` ingests every complete file placed in
# [ingest] spool and moves it to done/ (NAME.rejected lists rejected
# records) or failed/ (NAME.error says why); a file still being written
# (a dot name) is left alone; a file ingested again after a crash adds
# nothing twice.
. "$(dirname "$0")/lib.sh"

conf="$WORK/renraku.conf"
mkdir -p "$WORK/spool"
cat >"$conf" <<CONF
[relay]
name = Test CSIRT
from = csirt@test.example
[gpg]
mode = none
[transport]
url = maildir:outbox
[aggregate]
window = 1d
[ingest]
spool = spool
[resolve]
# no registry is asked: an unknown address is "nobody"
sources = local
CONF
R() { "$RENRAKU" --config "$conf" "$@"; }
q() { sqlite3 "$WORK/renraku.db" "$1"; }
NOW=2026-11-20T12:00:00Z

check "init" R -q init
check "contacts import" R -q contacts import "$RK_SOURCE_DIR/contacts"
cat >"$WORK/spool/a-good.jsonl" <<'EV'
{"time.source":"2026-11-20T09:00:00Z","source.ip":"192.0.2.10","classification.type":"infected-system"}
{"time.source":"2026-11-20T09:01:00Z","source.ip":"192.0.2.11","classification.type":"infected-system"}
EV
cat >"$WORK/spool/b-partly.jsonl" <<'EV'
{"time.source":"2026-11-20T09:00:00Z","source.ip":"192.0.2.12","classification.type":"scanner"}
{"time.source":"2026-11-20T09:00:00Z","source.ip":"192.0.2.13","classification.type":"no-such-type"}
EV
printf '\x00\x01garbage' >"$WORK/spool/c-garbage.bin"
printf '{"time.source":"2026-11-20T09:00:00Z","source.ip":"192.0.2.14",' >"$WORK/spool/.d-writing.jsonl"

rc=0; R run --once --now "$NOW" --json >"$WORK/run1.json" 2>"$WORK/run1.err" || rc=$?
check "the run exits 0 (rc $rc)" test "$rc" -eq 0
check "two files ingested, one failed" test "$(json_get "$WORK/run1.json" '(d["spool"]["files"], d["spool"]["failed"])')" = "(2, 1)"
check "three events stored from the spool" test "$(q "SELECT count(*) FROM events e JOIN reports r ON r.id = e.report_id WHERE r.reporter = 'spool'")" -eq 3
check "good files are in done/" test -f "$WORK/spool/done/a-good.jsonl" -a -f "$WORK/spool/done/b-partly.jsonl"
check "the rejected record is listed beside it" grep -q "^line 2: .*no-such-type" "$WORK/spool/done/b-partly.jsonl.rejected"
check "no .rejected for a clean file" test ! -e "$WORK/spool/done/a-good.jsonl.rejected"
check "the garbage is in failed/" test -f "$WORK/spool/failed/c-garbage.bin"
check "with an .error that says why" grep -q "^not ingested: " "$WORK/spool/failed/c-garbage.bin.error"
check "a file still being written is left alone" test -f "$WORK/spool/.d-writing.jsonl"
check "the spool holds nothing else" test "$(find "$WORK/spool" -maxdepth 1 -type f ! -name '.*' | wc -l)" -eq 0

# The same file again (a run that died after the ingest, before the
# move, would leave it): its events are duplicates, and the second copy
# does not overwrite the first in done/.
cp "$WORK/spool/done/a-good.jsonl" "$WORK/spool/a-good.jsonl"
R run --once --now "$NOW" --json >"$WORK/run2.json" 2>/dev/null || true
check "again: duplicates, nothing stored twice" test "$(json_get "$WORK/run2.json" '(d["spool"]["events"], d["spool"]["duplicates"])')" = "(0, 2)"
check "again: kept beside the first copy" test -f "$WORK/spool/done/a-good.jsonl.1"

# A spool that does not exist is the operator's problem, named.
sed -i 's/^spool = spool/spool = nowhere/' "$conf"
rc=0; R run --once --now "$NOW" >/dev/null 2>"$WORK/run3.err" || rc=$?
check "a missing spool: exit 1" test "$rc" -eq 1
check "a missing spool: named" grep -q "\[ingest\] spool '.*nowhere'" "$WORK/run3.err"
finish
