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
# The reference time for max_age / max_skew: ten days after the fixtures.
NOW=$(date -u -d "@$((1795169700 + 10 * 86400))" +%Y-%m-%dT%H:%M:%SZ)

fail() {
	echo "FAIL: $*" >&2
	fails=$((fails + 1))
}

# run EXPECTED_RC ARGS...: output in $tmp/out and $tmp/err
run() {
	local want=$1 rc=0
	shift
	"$RENRAKU" --db "$db" --now "$NOW" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
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
check '{k: v for k, v in d.items() if k != "files"} == {"reports": 1, "events": 6, "duplicates": 0, "rejected": 0, "errors": []}'
# each file with the format chosen for it (--format auto)
check 'len(d["files"]) == 1 and d["files"][0]["format"] == "intelmq" and d["files"][0]["events"] == 6 and d["files"][0]["report"] >= 1 and not d["files"][0]["failed"]'

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
run 2 ingest --format yaml "$fx/sample.jsonl"
grep -q "unknown format 'yaml' (known: auto, intelmq" "$tmp/err" ||
	fail "unknown format message: $(cat "$tmp/err")"
run 2 ingest
run 2 ingest --bogus "$fx/sample.jsonl"
run 0 ingest --format intelmq --json "$fx/empty.jsonl"
check '{k: v for k, v in d.items() if k != "files"} == {"reports": 1, "events": 0, "duplicates": 0, "rejected": 0, "errors": []}'

# 8. Distinct findings for one address and second are two events; a
#    repeat with another time.observation and key order is a duplicate.
cat >"$tmp/scan.jsonl" <<'JSON'
{"time.source":"2026-11-20T10:15:00Z","source.ip":"198.51.100.7","source.port":3389,"classification.type":"vulnerable-system","classification.identifier":"open-rdp","time.observation":"2026-11-20T11:00:00Z"}
{"time.source":"2026-11-20T10:15:00Z","source.ip":"198.51.100.7","source.port":445,"classification.type":"vulnerable-system","classification.identifier":"open-smb","time.observation":"2026-11-20T11:00:00Z"}
JSON
cat >"$tmp/scan-again.jsonl" <<'JSON'
{"classification.identifier":"open-rdp","classification.type":"vulnerable-system","source.port":3389,"source.ip":"::ffff:198.51.100.7","time.source":"2026-11-20T10:15:00Z","time.observation":"2026-11-22T00:00:00Z"}
JSON
run 0 ingest --json "$tmp/scan.jsonl"
check 'd["events"] == 2 and d["duplicates"] == 0'
run 0 ingest --json "$tmp/scan-again.jsonl"
check 'd["events"] == 0 and d["duplicates"] == 1'

# 9. Timestamps nobody would believe, with the reason; TLP in any case;
#    URL hosts that are addresses.
cat >"$tmp/odd.jsonl" <<'JSON'
{"time.source":"1970-01-01T00:00:00Z","source.ip":"192.0.2.20","classification.type":"scanner"}
{"time.source":"9999-12-31T23:59:59Z","source.ip":"192.0.2.21","classification.type":"scanner"}
{"time.source":"2026-11-20T10:15:00Z","source.ip":"192.0.2.22","classification.type":"scanner","tlp":"Tlp:AMBER"}
{"time.source":"2026-11-20T10:15:00Z","source.url":"http://[2001:db8::1]:8080/x","classification.type":"phishing","tlp":"tLp:green"}
JSON
run 0 ingest --json "$tmp/odd.jsonl"
check 'd["events"] == 2 and d["rejected"] == 2'
check 'd["errors"][0]["line"] == 1 and d["errors"][0]["reason"] == "time.source: '"'"'1970-01-01T00:00:00Z'"'"' is older than [ingest] max_age (365d)"'
check 'd["errors"][1]["line"] == 2 and d["errors"][1]["reason"] == "time.source: '"'"'9999-12-31T23:59:59Z'"'"' is more than [ingest] max_skew (1d) in the future"'
got=$("$PY" -c '
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
print(";".join("%s|%s" % r for r in c.execute(
    "SELECT source_ip, tlp FROM events WHERE source_ip = ? OR source_url = ?"
    " ORDER BY source_ip", ("192.0.2.22", "http://[2001:db8::1]:8080/x"))))' "$db")
[ "$got" = "192.0.2.22|2;2001:db8::1|1" ] || fail "stored ip|tlp: $got"

# 10. [ingest] max_age from the config file.
{ cat "$tmp/renraku.conf"; printf '[ingest]\nmax_age = 5d\n'; } >"$tmp/short.conf"
run 0 --config "$tmp/short.conf" ingest --json "$fx/sample.jsonl"
check 'd["events"] == 0 and d["rejected"] == 6 and "max_age (5d)" in d["errors"][0]["reason"]'
{ printf '[ingest]\nmax_age = soon\n'; } >"$tmp/bad.conf"
run 1 --config "$tmp/bad.conf" ingest --json "$fx/sample.jsonl"
grep -q "bad.conf:2: \[ingest\] max_age: 'soon' is not a duration" "$tmp/err" ||
	fail "bad max_age message: $(cat "$tmp/err")"

# 11. preview --events reads through the same reader and normalizer: a
#     byte order mark is skipped, the same records are rejected with the
#     same warning, mapped addresses are IPv4.
printf '\xef\xbb\xbf' >"$tmp/bom.jsonl"
cat "$tmp/odd.jsonl" >>"$tmp/bom.jsonl"
printf '%s\n' '{"time.source":"2026-11-20T10:16:00Z","source.ip":"::ffff:192.0.2.23","classification.type":"scanner"}' >>"$tmp/bom.jsonl"
run 0 preview --template default --lang en --events "$tmp/bom.jsonl"
grep -q '^Subject: .*3 event(s)' "$tmp/out" || fail "preview subject: $(head -1 "$tmp/out")"
grep -q '192\.0\.2\.23 ' "$tmp/out" || fail "preview: mapped address not shown as IPv4"
grep -q "bom.jsonl:1: time.source: '1970-01-01T00:00:00Z' is older than \[ingest\] max_age (365d)$" "$tmp/err" ||
	fail "preview: no warning for the 1970 record: $(cat "$tmp/err")"
run 0 ingest --json "$tmp/bom.jsonl"
check 'd["events"] == 1 and d["duplicates"] == 2 and d["rejected"] == 2'
printf '%s\n' '{"time.source":"1970-01-01T00:00:00Z","source.ip":"192.0.2.20","classification.type":"scanner"}' >"$tmp/old.jsonl"
run 65 preview --template default --lang en --events "$tmp/old.jsonl"
grep -q "no valid event" "$tmp/err" || fail "preview without events: $(cat "$tmp/err")"

if [ "$fails" -ne 0 ]; then
	echo "$fails check(s) failed" >&2
	exit 1
fi
echo "ingest CLI: all checks passed"
