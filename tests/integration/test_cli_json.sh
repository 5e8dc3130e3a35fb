#!/usr/bin/env bash
# With --json, a failure still prints one JSON document on stdout,
#   {"error": {"code": ..., "message": ..., "exit": N}},
# whose exit is the process's exit code (issue 21); an unknown ticket
# state is a usage error.
source "$(dirname "$0")/lib.sh"
fx=$RK_FIXTURES/intelmq
cd "$WORK"
unset RENRAKU_CONFIG

# jexpect RC CODE MESSAGE-REGEX ARGS...: exit RC, stdout one JSON error document
jexpect() {
	local want=$1 code=$2 re=$3 rc=0
	shift 3
	"$RENRAKU" "$@" >"$WORK/out" 2>"$WORK/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		not_ok "renraku $*: exit $rc, wanted $want"
		sed 's/^/  stderr: /' "$WORK/err" >&2
		return
	fi
	if "$PY" - "$WORK/out" "$code" "$re" "$want" <<'PYEOF'; then ok "renraku $*: error document ($code, exit $want)"; else not_ok "renraku $*: document: $(cat "$WORK/out")"; fi
import json, re, sys
text = open(sys.argv[1]).read()
d = json.loads(text)            # exactly one document
e = d["error"]
sys.exit(0 if e["code"] == sys.argv[2] and re.search(sys.argv[3], e["message"])
         and e["exit"] == int(sys.argv[4]) and set(e) == {"code", "message", "exit"} else 1)
PYEOF
}

# no configuration
for args in "ingest --json $fx/sample.jsonl" "resolve --json 192.0.2.1" \
	"run --once --json" "tickets list --json" "tickets show 20260101-000001 --json"; do
	# shellcheck disable=SC2086
	jexpect 1 config "no configuration.*renraku init" $args
done

# a configuration, no database
cat >renraku.conf <<'CONF'
[relay]
from = csirt@example.org
[store]
busy_timeout = 200
[gpg]
mode = none
[resolve]
# no registry is asked: an unknown address is "nobody"
sources = local
CONF
jexpect 1 not-found "database 'renraku.db' .*does not exist" ingest --json "$fx/sample.jsonl"
jexpect 1 not-found "database 'renraku.db' .*does not exist" run --once --json
"$RENRAKU" -q init >/dev/null 2>&1 || not_ok "init"

# a usage error found after parsing: unknown state
jexpect 2 usage "unknown ticket state" tickets list --state bogus --json
rc=0; "$RENRAKU" tickets list --state bogus >/dev/null 2>"$WORK/err" || rc=$?
check "tickets list --state bogus exits 2" [ "$rc" -eq 2 ]
check "the usage error names the state and the known ones" grep -q "unknown state 'bogus' (open, held, notified" "$WORK/err"
for s in open held notified failed acknowledged auto-acknowledged resolved disputed expired; do
	check "tickets list --state $s is accepted" "$RENRAKU" -q tickets list --state "$s" --json
done
jexpect 65 not-found "no such ticket" tickets show 20260101-000001 --json
jexpect 2 usage "not an event state" events list --state bogus --json
jexpect 65 invalid "999.1.1.1' is not an IP address" resolve --json 999.1.1.1
mkdir "$WORK/dir.db"
jexpect 1 db "cannot open database 'dir.db'" --db dir.db events list --json
jexpect 1 not-found "is not a contacts directory" contacts check --json "$WORK/nonexist"
# --json after the subcommand, as the help shows it
check "contacts import --json DIR" bash -c '"$1" contacts import --json "$2" >"$3"' _ "$RENRAKU" "$RK_SOURCE_DIR/contacts" "$WORK/imp.json"
check "contacts import --json: one document" test "$(json_get "$WORK/imp.json" 'd["imported"]')" = True

# not a database
printf 'garbage, not SQLite, long enough to be read as a header........................................\n' >bad.db
jexpect 1 db "database '.*bad.db'.*not a database" --db bad.db ingest --json "$fx/sample.jsonl"
jexpect 1 db "not a database" --db bad.db tickets list --json

# a locked database: another process holds the write lock
"$PY" - renraku.db "$WORK/locked" <<'PYEOF' &
import sqlite3, sys, time, os
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(sys.argv[2], "w").close()
time.sleep(20)
PYEOF
locker=$!
for _ in $(seq 200); do [ -e "$WORK/locked" ] && break; sleep 0.05; done
jexpect 75 busy "database '.*renraku.db'.*locked" ingest --json "$fx/sample.jsonl"
kill "$locker" 2>/dev/null || true
wait "$locker" 2>/dev/null || true

# success is unchanged: the ingest document, no "error"
rc=0; "$RENRAKU" -q ingest --json "$fx/sample.jsonl" >"$WORK/out" 2>/dev/null || rc=$?
check "ingest --json after the lock is released exits 0" [ "$rc" -eq 0 ]
check "its document has no error" "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit("error" in d or d["events"] != 6)' "$WORK/out"
# a partial failure: the counts and the error in one document
rc=0; "$RENRAKU" -q ingest --json "$WORK/no-such-file" >"$WORK/out" 2>/dev/null || rc=$?
check "ingest --json of a missing file exits 1" [ "$rc" -eq 1 ]
check "one document with the counts and the error" "$PY" -c '
import json,sys; d=json.load(open(sys.argv[1]))
sys.exit(not (d["events"] == 0 and d["error"]["exit"] == 1 and "no-such-file" in d["error"]["message"]))' "$WORK/out"
finish
