#!/usr/bin/env bash
# WKD: keys found in the recipient's own domain, against a loopback HTTPS
# server (tests/peers/https_server.py, run with /usr/bin/python3) with a
# throwaway CA (tests/peers/mkcert.sh, openssl) naming the WKD hosts; host names map to 127.0.0.x with
# [gpg] wkd_resolve (curl's resolve list), the port with wkd_port.
#  - advanced method: the key of noc@wkd.test at openpgpkey.wkd.test,
#    at the path gpg-wks-client --print-wkd-url names; imported, the
#    TLP:AMBER notice goes out encrypted and decrypts with that key;
#  - direct method: openpgpkey.direct.test refuses connections, the key
#    comes from direct.test itself;
#  - a 404 and a key without the address's user id: no key, the AMBER
#    ticket is held with the reason;
#  - run --offline asks nothing.
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || { echo "FAIL: openssl is missing" >&2; exit 1; }
G() { gpgq "$@"; }
WKS=/usr/lib/gnupg/gpg-wks-client
[ -x "$WKS" ] || { echo "FAIL: $WKS is missing (gnupg-utils? gpg-wks-client)" >&2; exit 1; }

# --- the throwaway CA and the server's certificate
"$RK_SOURCE_DIR/tests/peers/mkcert.sh" "$WORK/tls" openpgpkey.wkd.test direct.test \
	openpgpkey.other.test
check "CA and server certificate made" test -s "$WORK/tls/server.pem"

# --- the recipients' keys, published as WKD serves them (binary)
mkdir -m 700 "$WORK/gnupg-r"
G "$WORK/gnupg-r" --quick-gen-key "NOC <noc@wkd.test>" future-default default never
G "$WORK/gnupg-r" --quick-gen-key "Sec <sec@direct.test>" future-default default never
G "$WORK/gnupg-r" --quick-gen-key "Someone <someone@else.test>" future-default default never
mkdir "$WORK/www"
G "$WORK/gnupg-r" --export noc@wkd.test >"$WORK/www/noc.key"
G "$WORK/gnupg-r" --export sec@direct.test >"$WORK/www/sec.key"
G "$WORK/gnupg-r" --export someone@else.test >"$WORK/www/wrong.key"
h_noc=$("$WKS" --print-wkd-hash noc@wkd.test | cut -d' ' -f1)
h_sec=$("$WKS" --print-wkd-hash sec@direct.test | cut -d' ' -f1)
h_bad=$("$WKS" --print-wkd-hash bad@other.test | cut -d' ' -f1)
url_noc=$("$WKS" --print-wkd-url noc@wkd.test)
check "gpg-wks-client names the advanced URL" test "${url_noc%%\?*}" = "https://openpgpkey.wkd.test/.well-known/openpgpkey/wkd.test/hu/$h_noc"
cat >"$WORK/www/routes.json" <<JSON
{"/.well-known/openpgpkey/wkd.test/hu/$h_noc": {"file": "noc.key", "headers": {"Content-Type": "application/octet-stream"}},
 "/.well-known/openpgpkey/hu/$h_sec": {"file": "sec.key"},
 "/.well-known/openpgpkey/other.test/hu/$h_bad": {"file": "wrong.key"}}
JSON
"$PY" "$RK_SOURCE_DIR/tests/peers/https_server.py" --cert "$WORK/tls/server.pem" \
	--key "$WORK/tls/server.key" --routes "$WORK/www/routes.json" \
	--port-file "$WORK/port" &
server=$!
trap 'kill $server 2>/dev/null || true; cleanup_work' EXIT
for _ in $(seq 1 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
check "the HTTPS server is up" test -s "$WORK/port"
PORT=$(cat "$WORK/port")

contacts_with "$WORK/contacts" "WKD Org,192.0.2.0/24,noc@wkd.test,,,en,," \
	"Direct Org,198.51.100.0/24,sec@direct.test,,,en,," \
	"Missing Org,203.0.113.0/25,missing@wkd.test,,,en,," \
	"Bad Org,203.0.113.128/25,bad@other.test,,,en,,"
conf="$WORK/renraku.conf"
relay_conf "$conf" '[gpg]' 'wkd = on' 'wkd_ca_file = tls/ca.pem' "wkd_port = $PORT" \
	'wkd_resolve = openpgpkey.wkd.test:127.0.0.1,direct.test:127.0.0.1,openpgpkey.direct.test:127.0.0.2,openpgpkey.other.test:127.0.0.1'
R() { "$RENRAKU" --config "$conf" "$@"; }
db="$WORK/renraku.db"
q() { sqlite3 "$db" "$1"; }
count() { "$PY" - "$PORT" "$WORK/tls/ca.pem" <<'PY'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False
print(json.load(urllib.request.urlopen("https://127.0.0.1:%s/__count" % sys.argv[1], context=ctx))["total"])
PY
}

check "init --gen-key" R init --gen-key
check "contacts import" R contacts import "$WORK/contacts"
G "$WORK/gnupg-r" --import "$WORK/signing-key.asc" 2>/dev/null
{
	for ip in 192.0.2.10 198.51.100.10 203.0.113.10 203.0.113.200; do
		event_line "$ip" AMBER
	done
} >"$WORK/ev.jsonl"
check "ingest" R -q ingest "$WORK/ev.jsonl"

rc=0; R run --once >"$WORK/run.out" 2>"$WORK/run.err" || rc=$?
check "run exits 0 (rc $rc)" test "$rc" -eq 0
tid() { ticket_of "$db" "$1"; }
T_ADV=$(tid 192.0.2.10)
T_DIR=$(tid 198.51.100.10)
T_MIS=$(tid 203.0.113.10)
T_BAD=$(tid 203.0.113.200)
check "advanced method: key imported (logged)" grep -q "WKD: key .* for noc@wkd.test imported from https://openpgpkey.wkd.test:$PORT/.well-known/openpgpkey/wkd.test/hu/$h_noc" "$WORK/run.err"
check "direct method: key imported from direct.test" grep -q "WKD: key .* for sec@direct.test imported from https://direct.test:$PORT/.well-known/openpgpkey/hu/$h_sec" "$WORK/run.err"
for t in "$T_ADV" "$T_DIR"; do
	check "ticket $t notified" test "$(q "SELECT state FROM tickets WHERE id = '$t'")" = notified
	f=$(grep -l "^X-Renraku-Ticket: $t" "$WORK"/outbox/new/*)
	check "ticket $t: multipart/encrypted" grep -q '^Content-Type: multipart/encrypted' "$f"
	sed -n '/^-----BEGIN PGP MESSAGE-----/,/^-----END PGP MESSAGE-----/p' "$f" | tr -d '\r' >"$WORK/$t.asc"
	G "$WORK/gnupg-r" --status-fd 3 --decrypt "$WORK/$t.asc" >/dev/null 3>"$WORK/$t.status" 2>/dev/null || true
	check "ticket $t: decrypts with the WKD key, signature good" \
		bash -c "grep -q DECRYPTION_OKAY '$WORK/$t.status' && grep -q GOODSIG '$WORK/$t.status'"
done
check "404: held, the reason says WKD has none" \
	bash -c "sqlite3 '$db' \"SELECT hold_reason FROM tickets WHERE id = '$T_MIS'\" | grep -q 'WKD: no key published'"
check "a key without the address's user id is refused" \
	bash -c "sqlite3 '$db' \"SELECT hold_reason FROM tickets WHERE id = '$T_BAD'\" | grep -q 'WKD key has no user id for bad@other.test'"
check "and not imported" bash -c "! gpg --homedir '$WORK/gnupg' --list-keys someone@else.test >/dev/null 2>&1"
check "nothing of the held tickets in the maildir" \
	bash -c "! grep -l -e '^X-Renraku-Ticket: $T_MIS' -e '^X-Renraku-Ticket: $T_BAD' '$WORK'/outbox/new/*"

# --offline asks nothing: a new AMBER event for an address with no key
before=$(count)
printf '{"time.source":"2026-11-30T10:00:00Z","source.ip":"203.0.113.11","classification.type":"phishing","tlp":"AMBER"}\n' >"$WORK/ev2.jsonl"
R -q ingest "$WORK/ev2.jsonl"
rc=0; R run --once --offline >/dev/null 2>"$WORK/off.err" || rc=$?
check "run --offline exits 0" test "$rc" -eq 0
check "run --offline asks WKD nothing" test "$(count)" -eq "$before"
check "its AMBER ticket is held" test "$(q "SELECT state FROM tickets WHERE id = '$(tid 203.0.113.11)'")" = held

kill "$server" 2>/dev/null || true
gpgconf --homedir "$WORK/gnupg-r" --kill all >/dev/null 2>&1 || true
finish
