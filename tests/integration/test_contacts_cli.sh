#!/usr/bin/env bash
# renraku contacts check/import and renraku resolve, end to end through the
# command line: the example contacts directory imports cleanly, resolve
# --json prints the design's chain, a bad directory is refused with
# FILE:LINE problems and leaves the database unchanged.
set -euo pipefail

: "${RENRAKU:?set by ctest}"
: "${RK_SOURCE_DIR:?set by ctest}"
fixtures=${RK_FIXTURES:-$RK_SOURCE_DIR/tests/fixtures}
python=/usr/bin/python3

tmp=$(mktemp -d /tmp/rk-contacts.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp" # no renraku.conf here: defaults
db=$tmp/x.db

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# --- check and import the example directory
"$RENRAKU" contacts check "$RK_SOURCE_DIR/contacts" >"$tmp/out" 2>"$tmp/err" ||
	fail "contacts check of the example directory: exit $? ($(cat "$tmp/err"))"
grep -q 'constituency.csv: 5 entries, national-csirts.csv: 2 entries, suppress.csv: 1 rule, keys/: 0 keys, 0 problems' "$tmp/out" ||
	fail "check summary: $(cat "$tmp/out")"
[ ! -e "$db" ] || fail "check created a database"

"$RENRAKU" --db "$db" contacts import "$RK_SOURCE_DIR/contacts" >"$tmp/out" 2>"$tmp/err" ||
	fail "contacts import: exit $? ($(cat "$tmp/err"))"
grep -q '0 problems' "$tmp/out" || fail "import summary: $(cat "$tmp/out")"

# --- resolve --json for one target: one object
"$RENRAKU" --db "$db" resolve --json 192.0.2.10 >"$tmp/one.json" 2>"$tmp/err" ||
	fail "resolve --json: exit $? ($(cat "$tmp/err"))"
"$python" - "$tmp/one.json" <<'EOF' || fail "resolve --json output: $(cat "$tmp/one.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert isinstance(doc, dict), doc
assert doc["target"] == "192.0.2.10", doc
chain = doc["chain"]
assert len(chain) >= 1, doc
first = chain[0]
assert first["level"] == 0, first
assert first["email"] == "noc@isp-a.example", first
assert first["org"] == "ISP A Inc.", first
assert first["source"] == "local", first
assert first["match"] == "192.0.2.0/24", first
EOF

# --- several targets: an array; a target without contacts: empty chain
"$RENRAKU" --db "$db" resolve --json --offline AS64500 login.bank-example.test \
	2001:db8:10::53 198.18.0.1 >"$tmp/many.json" 2>"$tmp/err" ||
	fail "resolve --json (several): exit $?"
grep -q "198.18.0.1" "$tmp/err" || fail "no note on stderr for a target without contacts"
"$python" - "$tmp/many.json" <<'EOF' || fail "resolve --json (several): $(cat "$tmp/many.json")"
import json, sys
docs = json.load(open(sys.argv[1]))
assert isinstance(docs, list) and len(docs) == 4, docs
want = {"AS64500": "abuse@isp-a.example",
        "login.bank-example.test": "csirt@bank-example.test",
        "2001:db8:10::53": "soc@agency-d.example"}
for d in docs:
    if d["target"] in want:
        assert d["chain"][0]["email"] == want[d["target"]], d
    else:
        assert d["target"] == "198.18.0.1" and d["chain"] == [], d
EOF

# --- the table, and --explain
"$RENRAKU" --db "$db" resolve 192.0.2.10 >"$tmp/out" || fail "resolve (table): exit $?"
grep -q 'level 0  noc@isp-a.example  ISP A Inc.  local  192.0.2.0/24' "$tmp/out" ||
	fail "resolve table: $(cat "$tmp/out")"
"$RENRAKU" --db "$db" resolve --explain www.bank-example.test >"$tmp/out" ||
	fail "resolve --explain: exit $?"
grep -q 'parent domain' "$tmp/out" || fail "resolve --explain: $(cat "$tmp/out")"

# --- a bad target: exit 65 with a message
rc=0
"$RENRAKU" --db "$db" resolve --json 'not a target' >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 65 ] || fail "bad target: exit $rc, want 65"
grep -q 'not an IP address' "$tmp/err" || fail "bad target message: $(cat "$tmp/err")"

# --- usage errors: exit 2
for args in "contacts" "contacts check" "contacts frobnicate x" "contacts check a b" "resolve" "resolve --bogus x"; do
	rc=0
	# shellcheck disable=SC2086
	"$RENRAKU" --db "$db" $args >/dev/null 2>&1 || rc=$?
	[ "$rc" -eq 2 ] || fail "'$args': exit $rc, want 2"
done

# --- a bad directory: check exits 65 naming file:line
bad=$fixtures/contacts/bad
rc=0
"$RENRAKU" contacts check "$bad" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 65 ] || fail "check of a bad directory: exit $rc, want 65"
grep -q "^$bad/constituency.csv:5: .*192.0.2.1/24 has host bits set" "$tmp/err" ||
	fail "no FILE:LINE for host bits: $(cat "$tmp/err")"
grep -q "^$bad/constituency.csv:11: duplicate match '192.0.2.0/24' (first at line 3)" "$tmp/err" ||
	fail "no FILE:LINE for the duplicate: $(cat "$tmp/err")"
grep -q "^$bad/suppress.csv:1: unknown column 'expires'" "$tmp/err" ||
	fail "no FILE:LINE for the unknown column: $(cat "$tmp/err")"
grep -q '17 problems' "$tmp/out" || fail "bad summary: $(cat "$tmp/out")"

# --- import of a bad directory: refused, database unchanged
before=$("$RENRAKU" --db "$db" resolve --json 192.0.2.10)
rc=0
"$RENRAKU" --db "$db" contacts import "$bad" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 65 ] || fail "import of a bad directory: exit $rc, want 65"
grep -q 'database is unchanged' "$tmp/err" || fail "no refusal message: $(cat "$tmp/err")"
after=$("$RENRAKU" --db "$db" resolve --json 192.0.2.10)
[ "$before" = "$after" ] || fail "a refused import changed the database"

# --- a second clean import replaces the set and is audited
"$RENRAKU" --db "$db" contacts import "$fixtures/contacts/good" >"$tmp/out" 2>"$tmp/err" ||
	fail "import of the good fixture: exit $? ($(cat "$tmp/err"))"
"$RENRAKU" --db "$db" resolve --json 198.51.100.77 >"$tmp/out"
grep -q 'host@customer-b.example' "$tmp/out" || fail "second import not used: $(cat "$tmp/out")"
"$RENRAKU" --db "$db" resolve --json login.bank-example.test >"$tmp/out" 2>/dev/null
grep -q '"chain":\[\]' "$tmp/out" || fail "second import did not replace the first: $(cat "$tmp/out")"
"$python" - "$db" <<'EOF' || fail "audit log"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "SELECT actor, action, object, detail FROM audit_log WHERE action = 'contacts.import' ORDER BY id").fetchall()
assert len(rows) == 2, rows
assert rows[0][0] == "cli" and rows[0][2].endswith("/contacts"), rows
assert rows[0][3].startswith("5 contacts, 1 suppression"), rows
assert rows[1][3].startswith("14 contacts, 4 suppressions"), rows
EOF

# --- a missing directory: a runtime failure, not a data error
rc=0
"$RENRAKU" contacts check "$tmp/nonexistent" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "missing directory: exit $rc, want 1"

echo "ok: contacts check/import and resolve from the command line"
