#!/usr/bin/env bash
# The security.txt source against an HTTPS server on 127.0.0.1 with a
# throwaway CA (tests/peers/https_server.py): a good file names the
# contact, its language and key URL; expired, mismatched-Canonical,
# badly signed, oversized and HTML answers are not used; a file signed by
# a key of the relay's keyring is "signed by FPR", by a stranger "signed,
# key unknown"; 503 is "try later".
. "$(dirname "$0")/lib.sh"
command -v openssl >/dev/null || { echo "FAIL: openssl is missing" >&2; exit 1; }

kill_agents() {
	for h in "$WORK/signer" "$WORK/stranger"; do
		[ -d "$h" ] && gpgconf --homedir "$h" --kill all >/dev/null 2>&1 || true
	done
}
[ -n "${RK_KEEP_WORK:-}" ] || trap 'kill_agents; cleanup_work' EXIT

bash "$RK_SOURCE_DIR/tests/peers/mkcert.sh" "$WORK/certs"
files="$WORK/files"
mkdir -p "$files"

# two signers: one whose key the relay holds, one stranger
newkey() { # HOME UID
	mkdir -p "$1" && chmod 700 "$1"
	gpg --homedir "$1" --batch --pinentry-mode loopback --passphrase '' \
		--quick-gen-key "$2" ed25519 sign 1d >/dev/null 2>&1
}
newkey "$WORK/signer" "Good Signer <security@signed.test>"
newkey "$WORK/stranger" "Stranger <x@stranger.test>"
mkdir -p "$WORK/gnupg" && chmod 700 "$WORK/gnupg"
gpg --homedir "$WORK/signer" --export --armor >"$WORK/signer.asc" 2>/dev/null
gpg --homedir "$WORK/gnupg" --batch --import "$WORK/signer.asc" >/dev/null 2>&1
fpr=$(gpg --homedir "$WORK/signer" --with-colons --list-keys 2>/dev/null | awk -F: '/^fpr/ {print $10; exit}')

cat >"$files/good.txt" <<'EOF'
# security.txt of good.test
Contact: https://good.test/report
Contact: mailto:security@good.test
Expires: 2099-01-01T00:00:00.000Z
Encryption: https://good.test/pgp-key.asc
Preferred-Languages: ja, en
Canonical: {base}/good.test/.well-known/security.txt
EOF
printf 'Contact: mailto:old@expired.test\nExpires: 2020-01-01T00:00:00Z\n' >"$files/expired.txt"
printf 'Contact: mailto:who@mismatch.test\nExpires: 2099-01-01T00:00:00Z\nCanonical: https://elsewhere.test/.well-known/security.txt\n' \
	>"$files/mismatch.txt"
printf 'Contact: mailto:security@signed.test\nExpires: 2099-01-01T00:00:00Z\nPreferred-Languages: de\n' >"$WORK/plain-signed.txt"
gpg --homedir "$WORK/signer" --batch --pinentry-mode loopback --passphrase '' \
	--clearsign -o "$files/signed.txt" "$WORK/plain-signed.txt" 2>/dev/null
printf 'Contact: mailto:security@stranger.test\nExpires: 2099-01-01T00:00:00Z\n' >"$WORK/plain-stranger.txt"
gpg --homedir "$WORK/stranger" --batch --pinentry-mode loopback --passphrase '' \
	--clearsign -o "$files/stranger.txt" "$WORK/plain-stranger.txt" 2>/dev/null
sed 's/security@signed.test/attacker@evil.test/' "$files/signed.txt" >"$files/tampered.txt"

cat >"$WORK/routes.json" <<'EOF'
{
 "/good.test/.well-known/security.txt": {"file": "files/good.txt", "headers": {"Content-Type": "text/plain; charset=utf-8"}},
 "/expired.test/.well-known/security.txt": {"file": "files/expired.txt", "headers": {"Content-Type": "text/plain"}},
 "/mismatch.test/.well-known/security.txt": {"file": "files/mismatch.txt", "headers": {"Content-Type": "text/plain"}},
 "/signed.test/.well-known/security.txt": {"file": "files/signed.txt", "headers": {"Content-Type": "text/plain"}},
 "/stranger.test/.well-known/security.txt": {"file": "files/stranger.txt", "headers": {"Content-Type": "text/plain"}},
 "/tampered.test/.well-known/security.txt": {"file": "files/tampered.txt", "headers": {"Content-Type": "text/plain"}},
 "/big.test/.well-known/security.txt": {"size": 40000, "headers": {"Content-Type": "text/plain"}},
 "/html.test/.well-known/security.txt": {"body": "<html>Contact: mailto:page@html.test</html>", "headers": {"Content-Type": "text/html"}},
 "/busy.test/.well-known/security.txt": {"status": 503, "body": "busy", "headers": {"Content-Type": "text/plain"}},
 "/moved.test/.well-known/security.txt": {"status": 301, "headers": {"Location": "{base}/good.test/.well-known/security.txt"}}
}
EOF
start_peer "$PY" "$RK_SOURCE_DIR/tests/peers/https_server.py" --cert "$WORK/certs/server.pem" \
	--key "$WORK/certs/server.key" --routes "$WORK/routes.json" \
	--port-file "$WORK/port" 2>"$WORK/srv.err"
wait_for_file "$WORK/port" "the HTTPS peer" "$WORK/srv.err"
base="https://127.0.0.1:$(cat "$WORK/port")"

conf="$WORK/renraku.conf"
cat >"$conf" <<CONF
[relay]
from = csirt@test.example
[gpg]
home = gnupg
[resolve]
sources = local, security.txt
timeout = 3
ca_file = certs/ca.pem
security_txt_url = $base/{host}/.well-known/security.txt
CONF
db="$WORK/renraku.db"
R() { "$RENRAKU" --config "$conf" --db "$db" "$@"; }
R init --from csirt@test.example >/dev/null 2>"$WORK/init.err" ||
	{ echo "FAIL: init: $(cat "$WORK/init.err")" >&2; exit 1; }
R contacts import "$RK_SOURCE_DIR/contacts" >/dev/null

resolve_json() {
	rc=0
	R resolve --json "$1" >"$WORK/out.json" 2>"$WORK/err" || rc=$?
}
get() { json_get "$WORK/out.json" "$1"; }
level0() { get "d['chain'][0].get('$1', '') if d['chain'] else ''"; }
nchain() { get "len(d['chain'])"; }

resolve_json good.test
check "good: exit 0" test "$rc" = 0
check "good: the mailto: contact (not the web form)" test "$(level0 email)" = security@good.test
check "good: source" test "$(level0 source)" = security.txt
check "good: Preferred-Languages chooses the language" test "$(level0 lang)" = ja
check "good: Encryption key URL kept" test "$(level0 encryption)" = https://good.test/pgp-key.asc
check "good: the URL read" test "$(level0 registry)" = "$base/good.test/.well-known/security.txt"
check "good: not signed" test "$(level0 detail)" = "not signed"

resolve_json www.good.test
check "a subdomain without a file: its parent's" test "$(level0 email)" = security@good.test
check "a subdomain without a file: the parent matched" test "$(level0 match)" = good.test

resolve_json moved.test
check "a redirect to a file whose Canonical names where it landed: used" \
	test "$(level0 email)" = security@good.test

# not_used DOMAIN WHAT [PATTERN]: no contact from it (exit 0, empty
# chain), and the log says why (PATTERN)
not_used() {
	resolve_json "$1"
	check "$2: not used (exit 0, empty chain)" test "$rc:$(nchain)" = 0:0
	[ -z "${3:-}" ] || check "$2: said so" grep -q "$3" "$WORK/err"
}
not_used expired.test "expired" "expired"
not_used mismatch.test "Canonical mismatch" "Canonical"
not_used tampered.test "bad signature" "bad signature"
not_used big.test "larger than RK_MAX_SECURITY_TXT" "RK_MAX_SECURITY_TXT"
not_used html.test "an HTML page"
not_used missing.test "404"

resolve_json signed.test
check "signed by a known key: used" test "$(level0 email)" = security@signed.test
check "signed by a known key: the fingerprint" test "$(level0 detail)" = "signed by $fpr"
check "signed: its language" test "$(level0 lang)" = de

resolve_json stranger.test
check "signed by a stranger: used" test "$(level0 email)" = security@stranger.test
check "signed by a stranger: key unknown" \
	"$PY" -c "import sys; sys.exit(0 if sys.argv[1].startswith('signed, key unknown') else 1)" "$(level0 detail)"

resolve_json busy.test
check "503: try later (75)" test "$rc" = 75

# the constituency comes first for the domains it knows
resolve_json login.bank-example.test
check "local before security.txt" test "$(level0 source)" = local

# offline: not asked
rc=0
R resolve --offline --json good.test >"$WORK/out.json" 2>/dev/null || rc=$?
check "offline: no security.txt" test "$rc:$(nchain)" = 0:0

# a bad template is a config error
printf '[relay]\nfrom = a@b.example\n[resolve]\nsources = security.txt\nsecurity_txt_url = http://{host}/x\n' >"$WORK/bad.conf"
rc=0
"$RENRAKU" --config "$WORK/bad.conf" --db "$db" resolve x.test >/dev/null 2>"$WORK/err" || rc=$?
check "bad security_txt_url: exit 1 naming the key" test "$rc" = 1
check "bad security_txt_url: message" grep -q "security_txt_url" "$WORK/err"
finish
