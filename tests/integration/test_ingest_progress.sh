#!/usr/bin/env bash
# The progress bar of `renraku ingest`: for a large file (8 MB or more)
# it is drawn on stderr when stderr is a terminal (here a pty made by
# script(1)), and not one byte of it is written when stderr is not a
# terminal.  A small file gets no bar even on a terminal.
. "$(dirname "$0")/lib.sh"

command -v script >/dev/null || { not_ok "script(1) is missing (bsdutils)"; finish; exit 1; }
export RENRAKU_CONFIG=$WORK/renraku.conf
R() { "$RENRAKU" --db "$WORK/p.db" "$@"; }
check "init" R init --from csirt@example.org

# ~12 MB of IntelMQ lines, all distinct
"$PY" - "$WORK/big.jsonl" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(26000):
        f.write('{"time.source":"2026-11-20T%02d:%02d:%02dZ","classification.type":"scanner",'
                '"source.ip":"10.%d.%d.%d","destination.port":%d,"feed.name":"Progress",'
                '"extra.padding":"%s"}\n' % (i // 3600 % 24, i // 60 % 60, i % 60,
                                              i // 65536, i // 256 % 256, i % 256,
                                              i % 65536, "x" * 300))
PY
check "the file is over 8 MB" test "$(stat -c %s "$WORK/big.jsonl")" -ge $((8 << 20))

# 1. Not a terminal: stderr is a file, and stays empty.
R --now 2026-12-01T00:00:00Z ingest "$WORK/big.jsonl" >"$WORK/out" 2>"$WORK/err"
check "ingested" grep -q "ingested 26000 events" "$WORK/out"
check "no bytes on stderr when it is not a terminal" test ! -s "$WORK/err"

# 2. A terminal: script(1) runs the command on a pty; stdout goes to
#    /dev/null inside it, so what the pty carries is stderr.
rm -f "$WORK/p.db"*
R init --from csirt@example.org >/dev/null 2>&1
cmd="'$RENRAKU' --db '$WORK/p.db' --now 2026-12-01T00:00:00Z ingest '$WORK/big.jsonl' >/dev/null"
script -qefc "$cmd" "$WORK/typescript" </dev/null >"$WORK/tty" 2>&1 || true
check "the bar is drawn on a terminal" grep -q "big.jsonl \[" "$WORK/tty"
check "it ends at 100%" grep -q "\[####################\] 100%" "$WORK/tty"
check "it shows events/s and time left" grep -q "events/s .*left" "$WORK/tty"
check "it is redrawn in place (carriage returns)" grep -q $'\r' "$WORK/tty"
check "the events were stored" test "$(sqlite3 "$WORK/p.db" 'select count(*) from events')" -eq 26000

# 3. A small file on a terminal: no bar.
head -n 10 "$WORK/big.jsonl" | sed 's/Progress/Small/' >"$WORK/small.jsonl"
cmd="'$RENRAKU' --db '$WORK/p.db' --now 2026-12-01T00:00:00Z ingest '$WORK/small.jsonl' >/dev/null"
script -qefc "$cmd" "$WORK/typescript2" </dev/null >"$WORK/tty2" 2>&1 || true
check "no bar for a small file" test ! -s "$WORK/tty2"

# 4. `renraku run` on the stored events: a bar per stage on a terminal,
#    no bar on stderr when it is not one (offline, local sources only;
#    there is no signing key here, so the notify stage's error is all
#    stderr may hold).
printf '[resolve]\nsources = local\n' >>"$RENRAKU_CONFIG"
cp "$WORK/p.db" "$WORK/q.db"
"$RENRAKU" --db "$WORK/q.db" --now 2026-12-01T01:00:00Z -q run --once --offline \
	>"$WORK/run.out" 2>"$WORK/run.err" || true
check "run: no bar on stderr when it is not a terminal" \
	bash -c "! grep -q \$'\\r' '$WORK/run.err' && ! grep -q '\\[[#.]*\\]' '$WORK/run.err'"
check "run: stderr holds only errors" bash -c "! grep -qv '^renraku: error:' '$WORK/run.err'"
cmd="'$RENRAKU' --db '$WORK/p.db' --now 2026-12-01T01:00:00Z -q run --once --offline >/dev/null"
script -qefc "$cmd" "$WORK/typescript3" </dev/null >"$WORK/tty3" 2>&1 || true
check "run: the resolve bar is drawn on a terminal" grep -q "resolve  \[" "$WORK/tty3"
check "run: the tickets bar too" grep -q "tickets  \[" "$WORK/tty3"
check "run: the bars end at 100% with events/s" grep -q "\[####################\] 100%  [0-9]*/[0-9]* events  [0-9]* events/s" "$WORK/tty3"
check "run: every event was looked up" test "$(sqlite3 "$WORK/p.db" "select count(*) from events where state = 'new'")" -eq 0
finish
