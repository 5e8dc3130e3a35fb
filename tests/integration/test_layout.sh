#!/usr/bin/env bash
# The stage layout the lead merges against: MIME building and OpenPGP live
# in relay/mail/ behind include/renraku/mail.h, and no stage reaches into
# another stage's private header.
. "$(dirname "$0")/lib.sh"

src="$RK_SOURCE_DIR"
check "relay/mail/ holds mime.c, sign.c, init.c" \
	test -f "$src/relay/mail/mime.c" -a -f "$src/relay/mail/sign.c" -a -f "$src/relay/mail/init.c"
check "notify keeps no MIME or signing code" \
	test ! -e "$src/relay/notify/mime.c" -a ! -e "$src/relay/notify/sign.c" -a ! -e "$src/relay/notify/mail.h"
check "the mail stage has a public header" test -f "$src/include/renraku/mail.h"

# A stage's private header is included by relative name from inside its own
# folder only: a path in front of private.h, or relay/mail/'s header named
# from outside relay/mail/, is a reach into another stage.
bad=$( { grep -rnE '#include "[^"]*/private\.h"' "$src/relay" "$src/include" "$src/bench" "$src/tests"
	grep -rnE '#include "((\.\./)+mail/[^"]*|mail\.h)"' "$src/relay" "$src/bench" "$src/tests" |
		grep -v "^$src/relay/mail/" ; } || true)
check "no include of another folder's private header" test -z "$bad"
[ -z "$bad" ] || echo "$bad" >&2
old=$(grep -rnwE 'notify_(build|gen_key|export_key|secret_keys|signer_open|signer_close|signer_fpr|init|shutdown)|struct notify_(mail|signer)' \
	"$src/relay" "$src/include" "$src/bench" "$src/tests" || true)
check "no caller uses the old notify_ names of mail functions" test -z "$old"
[ -z "$old" ] || echo "$old" >&2
finish
