#!/usr/bin/env bash
# renraku ingest end to end: JSON output, exit codes, duplicates across
# runs, standard input.  Needs RENRAKU and RK_FIXTURES (set by ctest).
set -euo pipefail

: "${RENRAKU:?set RENRAKU to the renraku binary}"
: "${RK_FIXTURES:?set RK_FIXTURES to tests/fixtures}"
PY=/usr/bin/python3
fx=$RK_FIXTURES/intelmq
tmp=$(mktemp -d /tmp/rk-ingest.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
db=$tmp/x.db
fails=0
# every command but init needs a configuration and a database
export RENRAKU_CONFIG=$tmp/renraku.conf
"$RENRAKU" --db "$db" init --from csirt@example.org >/dev/null 2>&1 ||
	{ echo "FAIL: init" >&2; exit 1; }

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# run EXPECTED_RC ARGS...: output in $tmp/out and $tmp/err
run() {
	local want=$1 rc=0
	shift
	"$RENRAKU" --db "$db" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "renraku $* exited $rc, wanted $want"
		sed 's/^/  stderr: /' "$tmp/err" >&2
	fi
}

# check PYTHON_EXPR: evaluated with d = the JSON document on stdout
check() {
	if ! "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
ok = eval(sys.argv[2])
if not ok:
    print("  document:", json.dumps(d)[:2000], file=sys.stderr)
sys.exit(0 if ok else 1)
' "$tmp/out" "$1"; then
		fail "check failed: $1"
	fi
}

# 1. The sample: six events, nothing rejected.
run 0 ingest --json "$fx/sample.jsonl"
check 'd == {"reports": 1, "events": 6, "duplicates": 0, "rejected": 0, "errors": []}'

# 2. Again: all duplicates, exit 0.
run 0 ingest --json "$fx/sample.jsonl"
check 'd["events"] == 0 and d["duplicates"] == 6 and d["reports"] == 1'

# 3. Rejected lines still exit 0; each is listed with file and line, and
#    warned about on stderr.
run 0 ingest --json --reporter unit-test "$fx/broken.jsonl"
check 'd["events"] == 5 and d["duplicates"] == 1 and d["rejected"] == 8'
check '[e["line"] for e in d["errors"]] == [2, 4, 5, 6, 7, 8, 12, 14]'
check 'all(e["file"].endswith("broken.jsonl") for e in d["errors"])'
check 'd["errors"][2]["reason"] == "source.ip: '"'"'999.1.1.1'"'"' is not an IP address"'
grep -q "^renraku: warning: .*broken.jsonl:5: source.ip: '999.1.1.1' is not an IP address$" "$tmp/err" ||
	fail "no warning for broken.jsonl:5 on stderr"

# 4. Not the format at all: exit 65, the JSON document is still printed.
run 65 ingest --json "$fx/garbage.bin"
check 'd["reports"] == 0 and d["events"] == 0 and d["errors"][0]["line"] == 0'

# 5. Every file is processed even when one fails; the worst exit wins.
run 65 ingest --json "$fx/garbage.bin" "$fx/array.json"
check 'd["reports"] == 1 and d["events"] == 3 and len(d["errors"]) == 3'
run 1 ingest --json "$fx/no-such-file.jsonl" "$fx/bom-crlf.jsonl"
check 'd["events"] == 2 and d["errors"][0]["reason"] == "cannot open: no such file"'

# 6. Standard input and the human summary.
run 0 ingest - <"$fx/array-broken.json"
grep -qx 'ingested 1 event from 1 report (0 duplicates, 1 rejected)' "$tmp/out" ||
	fail "summary line: $(cat "$tmp/out")"

# 7. Usage errors exit 2.
run 2 ingest --format csv "$fx/sample.jsonl"
grep -q "unknown format 'csv' (known: auto, intelmq)" "$tmp/err" ||
	fail "unknown format message: $(cat "$tmp/err")"
run 2 ingest
run 2 ingest --bogus "$fx/sample.jsonl"
run 0 ingest --format intelmq --json "$fx/empty.jsonl"
check 'd == {"reports": 1, "events": 0, "duplicates": 0, "rejected": 0, "errors": []}'

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "ingest CLI: all checks passed"
