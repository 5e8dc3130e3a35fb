#!/usr/bin/env bash
# renraku ingest of abuse mail (ARF, X-ARF, XARF v4): --format arf and
# xarf, detection by content, exit codes, rows in the database.
set -euo pipefail

: "${RENRAKU:?set RENRAKU to the renraku binary}"
: "${RK_FIXTURES:?set RK_FIXTURES to tests/fixtures}"
fx=$RK_FIXTURES/mail
tmp=$(mktemp -d /tmp/rk-arf.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
db=$tmp/x.db
fails=0
export RENRAKU_CONFIG=$tmp/renraku.conf
"$RENRAKU" --db "$db" init --from csirt@example.org >/dev/null 2>&1 ||
	{ echo "FAIL: init" >&2; exit 1; }
NOW=2026-11-21T00:00:00Z
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }
run() {
	local want=$1 rc=0
	shift
	"$RENRAKU" --db "$db" --now "$NOW" "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
	[ "$rc" -eq "$want" ] || { fail "renraku $* exited $rc, wanted $want"; sed 's/^/  stderr: /' "$tmp/err" >&2; }
}
rows() { sqlite3 "$db" "$1"; }

# detected by content, no --format
run 0 ingest "$fx/arf-abuse-report.eml"
[ "$(rows "select source_ip||' '||type from events")" = "192.0.2.25 spam" ] ||
	fail "ARF sample: $(rows 'select source_ip, type from events')"
[ "$(rows "select format from reports")" = "arf" ] || fail "report format not arf"

run 0 ingest --format xarf "$fx/xarf-0.2-login-attack.eml"
[ "$(rows "select count(*) from events where source_ip = '198.51.100.77' and type = 'brute-force'")" = 1 ] ||
	fail "X-ARF sample not stored"

# a mail that is no report: exit 65 and the reason
run 65 ingest --format arf "$fx/not-a-report.eml"
grep -q "not an abuse report mail" "$tmp/err" || fail "no reason for not-a-report"

# a rejected part is listed with its part number, the good ones kept
run 0 ingest --json "$fx/xarf-0.2-multi.eml"
grep -q '"line":3,"reason":"part 3: X-ARF report without Source or Source-Type"' "$tmp/out" ||
	fail "multi: rejected part not listed: $(cat "$tmp/out")"
[ "$(rows "select count(*) from events where feed_name = 'X-ARF'")" = 3 ] ||
	fail "multi: events not stored"

# --help names the format
run 0 ingest --help
grep -q "arf" "$tmp/out" || fail "--help does not name arf"

[ "$fails" -eq 0 ] || exit 1
echo "ok"
