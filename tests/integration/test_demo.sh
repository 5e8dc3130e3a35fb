#!/usr/bin/env bash
# `renraku demo` end to end: one signed message per sent ticket, each
# verified by gpg against the exported key; Japanese for JP contacts;
# TLP:RED and suppressed events never leave; AMBER is held.
. "$(dirname "$0")/lib.sh"

out="$WORK/demo-out"
if "$RENRAKU" demo --out "$out" >"$WORK/demo.txt" 2>"$WORK/demo.err"; then
	ok "demo exits 0"
else
	cat "$WORK/demo.err" >&2
	not_ok "demo exits 0"
	finish
	exit 1
fi
cat "$WORK/demo.txt"
check "signing key exported" test -s "$out/signing-key.asc"
gpg_tmp=$(sed -n 's/.*(GnuPG home \([^,]*\),.*/\1/p' "$WORK/demo.txt")
check "throwaway GnuPG home removed ($gpg_tmp)" test -n "$gpg_tmp" -a ! -e "$gpg_tmp"

"$RENRAKU" --config "$out/renraku.conf" tickets list --json >"$WORK/tickets.json"
notified=$(json_get "$WORK/tickets.json" 'sum(1 for t in d if t["state"] == "notified")')
held=$(json_get "$WORK/tickets.json" 'sum(1 for t in d if t["state"] == "held")')
files=$(find "$out/maildir/new" -type f | wc -l)
check "one message per notified ticket ($notified tickets, $files files)" test "$notified" -eq "$files"
check "seven tickets" test "$(json_get "$WORK/tickets.json" 'len(d)')" -eq 7
check "every demo ticket notified, none held" test "$held" -eq 0 -a "$notified" -eq 7
check "phishing goes to the brand owner" test "$(json_get "$WORK/tickets.json" '[t["contact"] for t in d if t["template"] == "phishing"][0]')" = "csirt@bank-example.test"

if "$PY" "$(dirname "$0")/verify_mail.py" --key "$out/signing-key.asc" \
	"$out"/maildir/new/* >"$WORK/mails.jsonl" 2>"$WORK/verify.err"; then
	ok "every message verifies with gpg against signing-key.asc"
else
	cat "$WORK/verify.err" >&2
	not_ok "every message verifies with gpg against signing-key.asc"
fi

mails() { "$PY" -c 'import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
print(eval(sys.argv[2]))' "$WORK/mails.jsonl" "$1"; }

check "JP contact gets Japanese" test "$(mails '[m["lang"] for m in rows if "noc@isp-a.example" in m["to"]][0]')" = ja
check "Japanese notice addresses the org" test "$(mails 'int(any("ご担当者様" in m["text"] for m in rows if "noc@isp-a.example" in m["to"]))')" = 1
check "three infected hosts in one notice" test "$(mails 'int(all(ip in [m for m in rows if "noc@isp-a.example" in m["to"]][0]["text"] for ip in ("192.0.2.10","192.0.2.11","192.0.2.23")))')" = 1
check "cc from the constituency" test "$(mails 'int("abuse@isp-a.example" in [m for m in rows if "noc@isp-a.example" in m["to"]][0]["cc"])')" = 1
check "national CSIRT notice is English" test "$(mails '[m["lang"] for m in rows if "national-csirt-de" in m["to"]][0]')" = en
check "TLP:RED event never leaves" test "$(mails 'int(any("192.0.2.99" in m["text"] or "192.0.2.99" in (m["csv"] or "") for m in rows))')" = 0
check "suppressed event never leaves" test "$(mails 'int(any("198.51.100.53" in m["text"] for m in rows))')" = 0
check "every subject carries its tag" test "$(mails 'int(all(("[DEMO #" + m["ticket"] + "]") in m["subject"] for m in rows))')" = 1
check "CSV attached for csv-attach contacts" test "$(mails 'int(all(m["csv"] for m in rows if "hosting-c" in m["to"]))')" = 1

# A second demo run replaces the first cleanly.
check "demo runs again into the same directory" "$RENRAKU" demo --out "$out" >/dev/null 2>&1
finish
