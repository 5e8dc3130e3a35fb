#!/usr/bin/env bash
# renraku init and the signing key recipients verify notices with:
# config written / kept / rewritten, database created, --gen-key makes an
# ed25519 signing key (cv25519 encryption subkey, no passphrase, no
# expiry) whose public half in signing-key.asc imports into a fresh
# GnuPG home with the fingerprint init printed; a second --gen-key
# refuses and names the existing key.  (Signed messages themselves are
# verified with gpg in tests/unit/test_sign.c and, end to end, in
# test_pipeline.sh.)
. "$(dirname "$0")/lib.sh"

cd "$WORK"
R() { "$RENRAKU" "$@"; }

# a host name that is no domain cannot stand in for --from
rc=0
R --config "$WORK/nofrom/renraku.conf" init >/dev/null 2>"$WORK/nofrom.err" || rc=$?
if hostname | grep -q '\.'; then
	ok "init without --from on a host with a domain name (rc $rc)"
else
	check "init without a usable --from is a usage error" test "$rc" -eq 2
fi

check "init writes config and database" \
	R init --from csirt@example.org --name "Example CSIRT" >"$WORK/init1.out"
check "config written" grep -q '^config: renraku.conf (written)' "$WORK/init1.out"
check "from address in the config" grep -q '^from = csirt@example.org$' renraku.conf
check "name in the config" grep -q '^name = Example CSIRT$' renraku.conf
check "database created" test -s renraku.db
check "no key without --gen-key" test ! -e signing-key.asc

check "init again keeps the config" R init >"$WORK/init2.out" 2>&1
check "config kept" grep -q 'exists, kept' "$WORK/init2.out"

R init --gen-key >"$WORK/gen.out"
check "init --gen-key" test $? -eq 0
FPR=$(sed -n 's/^signing key: \([0-9A-F]\{40\}\) (new.*/\1/p' "$WORK/gen.out")
check "a 40-digit fingerprint is printed" test -n "$FPR"
check "public key written next to the config" test -s signing-key.asc
check "the GnuPG home is private" test "$(stat -c %a gnupg)" = 700
check "signing-key.asc holds no secret key" \
	bash -c '! grep -q "PRIVATE KEY" signing-key.asc'

# a recipient imports the key into a home of their own
mkdir -m 700 "$WORK/gnupg-recipient"
gpg --homedir "$WORK/gnupg-recipient" --batch --quiet --import signing-key.asc \
	2>"$WORK/import.err"
check "signing-key.asc imports" test $? -eq 0
gpg --homedir "$WORK/gnupg-recipient" --batch --with-colons --fixed-list-mode \
	--list-keys >"$WORK/keys.txt"
check "imported fingerprint is the printed one" grep -q "^fpr:*:*:*:*:*:*:*:*:$FPR:" "$WORK/keys.txt"
check "primary key: ed25519, sign+certify, no expiry" \
	awk -F: '$1=="pub" && $4==22 && $7=="" && $12 ~ /s/ && $12 ~ /c/ {f=1} END {exit !f}' "$WORK/keys.txt"
check "subkey: cv25519 for encryption" \
	awk -F: '$1=="sub" && $4==18 && $12 ~ /e/ {f=1} END {exit !f}' "$WORK/keys.txt"
check "user id is name <from>" grep -q 'uid:.*Example CSIRT <csirt@example.org>' "$WORK/keys.txt"

# a detached signature made with the relay's home verifies in the
# recipient's (the key works for signing with no passphrase prompt)
printf 'Content-Type: text/plain; charset=utf-8\r\n\r\nhello\r\n' >"$WORK/part"
gpg --homedir gnupg --batch --pinentry-mode loopback --armor --detach-sign \
	--output "$WORK/part.asc" "$WORK/part" 2>"$WORK/sign.err"
check "the new key signs without a passphrase" test -s "$WORK/part.asc"
LC_ALL=C gpg --homedir "$WORK/gnupg-recipient" --batch --verify "$WORK/part.asc" \
	"$WORK/part" >"$WORK/verify.out" 2>&1
check "signature verifies in the recipient's home" grep -q 'Good signature' "$WORK/verify.out"

rc=0
R init --gen-key >"$WORK/gen2.out" 2>"$WORK/gen2.err" || rc=$?
check "a second --gen-key refuses (exit 1)" test "$rc" -eq 1
check "and names the existing key" grep -q "$FPR" "$WORK/gen2.out"
check "and says why" grep -q 'holds a secret key already' "$WORK/gen2.err"

rc=0
R init --bogus >/dev/null 2>&1 || rc=$?
check "unknown option is a usage error (exit 2)" test "$rc" -eq 2

check "--force rewrites the config" \
	R init --force --from noc@example.net >"$WORK/force.out"
check "config rewritten" grep -q 'rewritten' "$WORK/force.out"
check "new from address" grep -q '^from = noc@example.net$' renraku.conf

# --config elsewhere: everything lands next to that file
mkdir "$WORK/site"
check "init --config site/renraku.conf --gen-key" \
	R --config "$WORK/site/renraku.conf" init --gen-key --from csirt@example.org >/dev/null
check "database next to the config" test -s "$WORK/site/renraku.db"
check "GnuPG home next to the config" test -d "$WORK/site/gnupg"
check "public key next to the config" test -s "$WORK/site/signing-key.asc"
gpgconf --homedir "$WORK/site/gnupg" --kill all >/dev/null 2>&1 || true

finish
