#!/usr/bin/env bash
# The DNS sources against dnsmasq on 127.0.0.1 serving TXT records:
# abusix (IPv4 octets and IPv6 nibbles reversed) names the level-0
# address; Team Cymru's origin answer gives the AS and country an event
# lacks, so levels 1 (the AS's contact) and 2 (the national CSIRT) are
# found; NXDOMAIN is "nobody", an unreachable server "try later".
. "$(dirname "$0")/lib.sh"

DNSMASQ=/usr/sbin/dnsmasq
[ -x "$DNSMASQ" ] || { echo "FAIL: $DNSMASQ is missing (install dnsmasq-base)" >&2; exit 1; }

# a free UDP port on 127.0.0.1
free_port() {
	"$PY" -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}


v6name=$("$PY" -c "import ipaddress; print(ipaddress.ip_address('2001:db8::1').reverse_pointer.replace('.ip6.arpa', ''))")
# the port is free when picked; if another process takes it first,
# dnsmasq exits and the next port is tried
port=
for _ in 1 2 3 4 5; do
	port=$(free_port)
	start_peer "$DNSMASQ" --keep-in-foreground --no-resolv --no-hosts --conf-file=/dev/null \
		--pid-file= --port="$port" --listen-address=127.0.0.1 --bind-interfaces \
		--local=/abusix.zone/ --local=/cymru.com/ --log-queries --log-facility=- \
		--txt-record=10.2.0.192.abuse-contacts.abusix.zone,abuse@isp-a.example \
		--txt-record=5.100.51.198.abuse-contacts.abusix.zone,"abuse@isp-b.example,noc@isp-b.example" \
		--txt-record=5.100.51.198.origin.asn.cymru.com,"64500 64501 | 198.51.100.0/24 | jp | apnic | 2010-01-01" \
		--txt-record="$v6name.abuse-contacts.abusix.zone,abuse6@agency-d.example" \
		--txt-record="$v6name.origin6.asn.cymru.com,64502 | 2001:db8::/32 | DE | ripencc | 2011-01-01" \
		--txt-record=7.100.51.198.abuse-contacts.abusix.zone,"not an address" \
		>"$WORK/dnsmasq.log" 2>&1
	sleep 0.3
	grep -q "started" "$WORK/dnsmasq.log" && kill -0 "${PEER_PIDS[-1]}" 2>/dev/null && break
	port=
done
[ -n "$port" ] || { echo "FAIL: dnsmasq did not start: $(cat "$WORK/dnsmasq.log")" >&2; exit 1; }

write_conf() { # FILE ORDER [DNS_SERVER]
	printf '[relay]\nfrom = csirt@test.example\n[resolve]\nsources = %s\ndns_server = %s\ntimeout = 1\n' \
		"$2" "${3:-127.0.0.1:$port}" >"$1"
}
db="$WORK/renraku.db"
write_conf "$WORK/abusix.conf" abusix
"$RENRAKU" --config "$WORK/abusix.conf" --db "$db" init --from csirt@test.example >/dev/null 2>&1 ||
	{ echo "FAIL: init" >&2; exit 1; }
resolve_json() { # CONF TARGET
	rc=0
	"$RENRAKU" --config "$1" --db "$db" resolve --json "$2" >"$WORK/out.json" 2>"$WORK/err" || rc=$?
}
get() { json_get "$WORK/out.json" "$1"; }

resolve_json "$WORK/abusix.conf" 192.0.2.10
check "abusix: exit 0" test "$rc" = 0
check "abusix: the TXT address" test "$(get "d['chain'][0]['email']")" = abuse@isp-a.example
check "abusix: source" test "$(get "d['chain'][0]['source']")" = abusix
check "abusix: the name asked" test "$(get "d['chain'][0]['registry']")" = 10.2.0.192.abuse-contacts.abusix.zone

resolve_json "$WORK/abusix.conf" 198.51.100.5
check "abusix: several addresses in one TXT: the first" test "$(get "d['chain'][0]['email']")" = abuse@isp-b.example

resolve_json "$WORK/abusix.conf" 2001:db8::1
check "abusix: IPv6 nibbles" test "$(get "d['chain'][0]['email']")" = abuse6@agency-d.example

resolve_json "$WORK/abusix.conf" 192.0.2.99
check "abusix: NXDOMAIN is nobody (exit 0, empty chain)" test "$rc:$(get "len(d['chain'])")" = 0:0

resolve_json "$WORK/abusix.conf" 198.51.100.7
check "abusix: a TXT that is no address is nobody" test "$rc:$(get "len(d['chain'])")" = 0:0

# cymru gives the AS and country; the local tables answer levels 1 and 2
"$RENRAKU" --config "$WORK/abusix.conf" --db "$db" contacts import "$RK_SOURCE_DIR/contacts" >/dev/null
write_conf "$WORK/chain.conf" "abusix, local, cymru"
resolve_json "$WORK/chain.conf" 198.51.100.5
check "cymru: exit 0" test "$rc" = 0
check "cymru: level 0 from abusix" test "$(get "d['chain'][0]['level']"):$(get "d['chain'][0]['source']")" = 0:abusix
check "cymru: level 1 is the contact of the origin AS (AS64500, the first of two)" \
	test "$(get "d['chain'][1]['level']"):$(get "d['chain'][1]['match']")" = 1:AS64500
check "cymru: level 2 is the national CSIRT of its country" \
	test "$(get "d['chain'][2]['level']"):$(get "d['chain'][2]['email']")" = 2:info@jpcert.or.jp
check "cymru: the chain's country" test "$(get "d['country']")" = JP
check "cymru: asked origin.asn.cymru.com" grep -q "query\[TXT\] 5.100.51.198.origin.asn.cymru.com" "$WORK/dnsmasq.log"

resolve_json "$WORK/chain.conf" 2001:db8::1
check "cymru: IPv6 via origin6, country DE" test "$(get "d['country']")" = DE

# a server that does not answer: try again later (75)
dead=$(free_port)
write_conf "$WORK/dead.conf" abusix "127.0.0.1:$dead"
resolve_json "$WORK/dead.conf" 192.0.2.10
check "abusix: unreachable DNS server is a temporary failure (75)" test "$rc" = 75
write_conf "$WORK/dead2.conf" "cymru, local" "127.0.0.1:$dead"
resolve_json "$WORK/dead2.conf" 192.0.2.10
check "cymru unreachable: only its hints are lost (local still answers)" \
	test "$rc:$(get "d['chain'][0]['source']")" = 0:local

# a bad dns_server is a config error naming the key
write_conf "$WORK/bad.conf" abusix "dns.example:53"
resolve_json "$WORK/bad.conf" 192.0.2.10
check "bad dns_server: exit 1" test "$rc" = 1
check "bad dns_server: named" grep -q "dns_server" "$WORK/err"
finish
