#!/usr/bin/env bash
# Make a throwaway CA and a server certificate it signed, for the HTTPS
# test peers: DIR/ca.pem, DIR/server.pem, DIR/server.key.  The server
# certificate (ECDSA P-256: cheap handshakes for the benchmark) names
# 127.0.0.1, ::1, localhost and a few NAME.test, and every further
# argument as a DNS name (mkcert.sh DIR [NAME...]).
set -euo pipefail
dir=$1
shift
extra=""
for name in "$@"; do extra="$extra,DNS:$name"; done
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj "/CN=renraku test CA" \
	-keyout ca.key -out ca.pem \
	-addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=127.0.0.1" \
	-keyout server.key -out server.csr 2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:rdap.test,DNS:arin.test,DNS:ripe.test,DNS:apnic.test,DNS:lacnic.test,DNS:afrinic.test,DNS:iana.test,DNS:example.test%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' "$extra" >ext.cnf
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	-days 2 -extfile ext.cnf -out server.pem 2>/dev/null
rm -f server.csr ext.cnf ca.srl
