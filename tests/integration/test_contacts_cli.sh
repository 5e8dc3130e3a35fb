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
cd "$tmp" # no renraku.conf here until init below
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

# import needs a home: init writes ./renraku.conf and the database
"$RENRAKU" --db "$db" init --from csirt@example.org >"$tmp/out" 2>"$tmp/err" ||
	fail "init: exit $? ($(cat "$tmp/err"))"
# no internet here: the local tables only
printf '\n[resolve]\nsources = local\n' >>renraku.conf

"$RENRAKU" --db "$db" contacts import "$RK_SOURCE_DIR/contacts" >"$tmp/out" 2>"$tmp/err" ||
	fail "contacts import: exit $? ($(cat "$tmp/err"))"
grep -q '0 problems' "$tmp/out" || fail "import summary: $(cat "$tmp/out")"
grep -q '^imported: constituency.csv 5 added, 0 changed, 0 removed, 0 unchanged, national-csirts.csv 2 added, 0 changed, 0 removed, 0 unchanged, suppress.csv 1 added, 0 changed, 0 removed, 0 unchanged, keys 0 added' "$tmp/out" ||
	fail "import does not say what it imported: $(cat "$tmp/out")"

# --- importing the same directory again changes nothing, and says so
"$RENRAKU" --db "$db" contacts import "$RK_SOURCE_DIR/contacts" >"$tmp/out" 2>"$tmp/err" ||
	fail "second import of the example: exit $? ($(cat "$tmp/err"))"
grep -q '^imported: constituency.csv 0 added, 0 changed, 0 removed, 5 unchanged, national-csirts.csv 0 added, 0 changed, 0 removed, 2 unchanged, suppress.csv 0 added, 0 changed, 0 removed, 1 unchanged' "$tmp/out" ||
	fail "re-import: $(cat "$tmp/out")"

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

# --- check --json of a bad directory: the same problems, one document
rc=0
"$RENRAKU" contacts --json check "$bad" >"$tmp/check.json" 2>/dev/null || rc=$?
[ "$rc" -eq 65 ] || fail "check --json of a bad directory: exit $rc, want 65"
"$python" - "$tmp/check.json" <<'EOF' || fail "check --json: $(cat "$tmp/check.json")"
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["command"] == "check" and doc["imported"] is False, doc
assert "changes" not in doc, doc
assert len(doc["problems"]) == 17, doc["problems"]
p = [x for x in doc["problems"] if x["line"] == 5 and x["file"] == "constituency.csv"]
assert p and "host bits set" in p[0]["reason"], doc["problems"]
EOF

# --- import of a bad directory: refused, database unchanged
before=$("$RENRAKU" --db "$db" resolve --json 192.0.2.10)
rc=0
"$RENRAKU" --db "$db" contacts import "$bad" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 65 ] || fail "import of a bad directory: exit $rc, want 65"
grep -q 'database is unchanged' "$tmp/err" || fail "no refusal message: $(cat "$tmp/err")"
after=$("$RENRAKU" --db "$db" resolve --json 192.0.2.10)
[ "$before" = "$after" ] || fail "a refused import changed the database"

# --- a second clean import replaces the set and is audited; --json says
# what changed, and the key's fingerprint is what is stored
"$RENRAKU" --db "$db" contacts --json import "$fixtures/contacts/good" >"$tmp/import.json" 2>"$tmp/err" ||
	fail "import of the good fixture: exit $? ($(cat "$tmp/err"))"
"$python" - "$tmp/import.json" "$db" <<'EOF' || fail "import --json: $(cat "$tmp/import.json")"
import json, sqlite3, sys
doc = json.load(open(sys.argv[1]))
assert doc["command"] == "import" and doc["imported"] is True, doc
assert doc["counts"] == {"constituency": 14, "national": 3, "suppressions": 4, "keys": 1}, doc
ch = doc["changes"]
assert ch["constituency"] == {"added": 11, "changed": 3, "removed": 2, "unchanged": 0}, ch
assert ch["national"] == {"added": 1, "changed": 0, "removed": 0, "unchanged": 2}, ch
assert ch["suppressions"] == {"added": 3, "changed": 0, "removed": 0, "unchanged": 1}, ch
assert ch["keys"] == {"added": 1, "changed": 0, "removed": 0, "unchanged": 0}, ch
key = doc["keys"][0]
assert key["file"] == "secure.asc" and key["usable"] is True, key
assert key["fingerprint"] == "13EB26352077B2443DC2C1B4DE7FD034E44026AC", key
pgp = sqlite3.connect(sys.argv[2]).execute(
    "SELECT pgp FROM contacts WHERE match = 'secure.example'").fetchone()[0]
assert pgp == key["fingerprint"], pgp
EOF
"$RENRAKU" --db "$db" resolve --json 198.51.100.77 >"$tmp/out"
grep -q 'host@customer-b.example' "$tmp/out" || fail "second import not used: $(cat "$tmp/out")"
"$RENRAKU" --db "$db" resolve --json login.bank-example.test >"$tmp/out" 2>/dev/null
grep -q '"chain":\[\]' "$tmp/out" || fail "second import did not replace the first: $(cat "$tmp/out")"
"$python" - "$db" <<'EOF' || fail "audit log"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "SELECT actor, action, object, detail FROM audit_log WHERE action = 'contacts.import' ORDER BY id").fetchall()
assert len(rows) == 3, rows
assert rows[0][0] == "cli" and rows[0][2].endswith("/contacts"), rows
assert rows[0][3].startswith("5 contacts, 1 suppression"), rows
assert "constituency 5/0/0" in rows[0][3], rows
assert rows[2][3].startswith("14 contacts, 4 suppressions"), rows
assert "constituency 11/3/2" in rows[2][3] and "keys 1/0/0" in rows[2][3], rows
EOF

# --- a missing directory: a runtime failure, not a data error
rc=0
"$RENRAKU" contacts check "$tmp/nonexistent" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 1 ] || fail "missing directory: exit $rc, want 1"

# --- (D) a secret key under keys/: refused loudly, never imported
mkdir -p "$tmp/sec"
cp -r "$fixtures/contacts/good/." "$tmp/sec/"
mkdir -m 700 "$tmp/g"
gpg --homedir "$tmp/g" --batch --quiet --passphrase '' --quick-gen-key \
	'Leak <leak@example.test>' future-default default never 2>/dev/null
gpg --homedir "$tmp/g" --batch --quiet --pinentry-mode loopback --passphrase '' \
	--armor --export-secret-keys leak@example.test >"$tmp/sec/keys/leak.asc"
gpgconf --homedir "$tmp/g" --kill gpg-agent
echo "not a key" >"$tmp/sec/keys/garbage.asc"
before=$("$RENRAKU" --db "$db" resolve --json 198.51.100.77)
rc=0
"$RENRAKU" --db "$db" contacts import "$tmp/sec" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 65 ] || fail "import with a secret key: exit $rc, want 65"
grep -q "^$tmp/sec/keys/leak.asc: holds a SECRET key" "$tmp/err" ||
	fail "secret key not named: $(cat "$tmp/err")"
grep -q "error: .*keys/leak.asc: holds a SECRET key" "$tmp/err" ||
	fail "secret key not logged as an error: $(cat "$tmp/err")"
grep -q "^$tmp/sec/keys/garbage.asc: no OpenPGP public key" "$tmp/err" ||
	fail "garbage key file passed: $(cat "$tmp/err")"
grep -q 'database is unchanged' "$tmp/err" || fail "no refusal: $(cat "$tmp/err")"
after=$("$RENRAKU" --db "$db" resolve --json 198.51.100.77)
[ "$before" = "$after" ] || fail "an import with a secret key changed the database"

# --- (C) a format renraku does not produce: refused with file:line
mkdir -p "$tmp/fmt"
printf 'org,match,email,format\nA,AS1,a@a.example,json\nB,AS2,b@b.example,xarf\n' \
	>"$tmp/fmt/constituency.csv"
rc=0
"$RENRAKU" contacts check "$tmp/fmt" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 65 ] || fail "format xarf: exit $rc, want 65"
grep -q "^$tmp/fmt/constituency.csv:3: format 'xarf' is not one renraku produces (accepted: csv-attach, csv-inline, json" "$tmp/err" ||
	fail "format xarf message: $(cat "$tmp/err")"

# --- (B) an unknown suppression type: file:line
printf 'org,match,email\nA,AS1,a@a.example\n' >"$tmp/fmt/constituency.csv"
printf 'match,type\nAS1,vulnerable-systems\n' >"$tmp/fmt/suppress.csv"
rc=0
"$RENRAKU" contacts check "$tmp/fmt" >"$tmp/out" 2>"$tmp/err" || rc=$?
[ "$rc" -eq 65 ] || fail "unknown suppression type: exit $rc, want 65"
grep -q "^$tmp/fmt/suppress.csv:2: type 'vulnerable-systems' is not an IntelMQ classification type" "$tmp/err" ||
	fail "unknown suppression type message: $(cat "$tmp/err")"

# --- (B) unknown [severity] type and [resolve] order source: FILE:LINE when
#     the configuration loads (any command that reads it)
printf '[severity]\nscanner = high\nvulnerable-systems = low\n' >"$tmp/sev.conf"
rc=0
"$RENRAKU" --config "$tmp/sev.conf" events list >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -ne 0 ] || fail "unknown [severity] type accepted"
grep -q "$tmp/sev.conf:3: \\[severity\\] 'vulnerable-systems' is not an IntelMQ classification type" "$tmp/err" ||
	fail "unknown [severity] type message: $(cat "$tmp/err")"
printf '[resolve]\norder = local, rpad\n' >"$tmp/order.conf"
rc=0
"$RENRAKU" --config "$tmp/order.conf" events list >/dev/null 2>"$tmp/err" || rc=$?
[ "$rc" -ne 0 ] || fail "unknown [resolve] order source accepted"
grep -q "$tmp/order.conf:2: \\[resolve\\] order: unknown contact source 'rpad'" "$tmp/err" ||
	fail "unknown order source message: $(cat "$tmp/err")"

echo "ok: contacts check/import and resolve from the command line"
