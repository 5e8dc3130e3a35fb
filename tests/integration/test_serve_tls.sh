#!/usr/bin/env bash
# renraku serve speaking HTTPS itself ([http] tls_cert, tls_key): a
# throwaway CA-less certificate for 127.0.0.1, curl trusting only it; the
# API answers over TLS and plain HTTP is not spoken; a missing key is a
# configuration error.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/serve_lib.sh"
command -v openssl >/dev/null || { echo "FAIL: openssl is missing" >&2; exit 1; }

conf="$WORK/renraku.conf"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
	-addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" \
	-out "$WORK/cert.pem" >/dev/null 2>&1
chmod 600 "$WORK/key.pem"
relay_conf "$conf" '[gpg]' 'mode = none' '[http]' 'tls_cert = cert.pem' 'tls_key = key.pem'
R() { "$RENRAKU" --config "$conf" "$@"; }
check "init" R -q init
READ=$(R tokens add dash --scope read 2>/dev/null)
start_serve "$conf" --interval 1h
check "the log says TLS" grep -q "(port $PORT, TLS)" "$WORK/serve.log.new"
code=$(curl -s --cacert "$WORK/cert.pem" -o "$WORK/body" -w '%{http_code}' "https://127.0.0.1:$PORT/healthz")
check "GET https://.../healthz 200" test "$code" = 200
code=$(curl -s --cacert "$WORK/cert.pem" -o "$WORK/body" -w '%{http_code}' -H "Authorization: Bearer $READ" "https://127.0.0.1:$PORT/v1/tickets")
check "GET https://.../v1/tickets 200" test "$code" = 200
code=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz" || true)
check "plain HTTP gets no answer" test "$code" = 000
stop_serve
relay_conf "$conf" '[gpg]' 'mode = none' '[http]' 'tls_cert = cert.pem'
rc=0
R serve --listen 127.0.0.1:0 2>"$WORK/err" || rc=$?
check "tls_cert without tls_key: usage error (2)" test "$rc" -eq 2
check "and says why" grep -q 'tls_cert and tls_key go together' "$WORK/err"
finish
