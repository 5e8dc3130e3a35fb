#!/usr/bin/python3
"""A small whois (RFC 3912) server for the tests: one listening port per
registry role, answering from a table in the shapes the registries use.

  whois_peer.py FIXTURES_DIR PORTS_FILE LOG_FILE

Binds 127.0.0.1 with ports picked by the kernel, writes
{"iana": port, ...} to PORTS_FILE once all listen, and appends one line
"ROLE QUERY" per query to LOG_FILE.  Runs until killed.
"""
import json
import os
import socketserver
import sys
import threading
import time

FIX, PORTS_FILE, LOG_FILE = sys.argv[1], sys.argv[2], sys.argv[3]
log_lock = threading.Lock()


def fixture(name):
    with open(os.path.join(FIX, name), "rb") as f:
        return f.read()


IANA = {
    "192.0.2.10": b"refer:        whois.arin.net\n",
    "192.0.2.66": b"refer:        whois.arin.net\n",
    "198.51.100.77": b"% IANA WHOIS server\n\nrefer:        whois.arin.net\n\ninetnum: 198.0.0.0 - 198.255.255.255\n",
    "203.0.113.5": b"refer:        whois.nic.ad.jp\n",
    "192.0.2.200": b"refer:        loop-a.example\n",
    "192.0.2.201": b"refer:        big.example\n",
    "192.0.2.202": b"refer:        silent.example\n",
    "192.0.2.203": b"% no referral, no contact\n",
    "192.0.2.204": b"refer:        127.0.0.1:25\n",
    "shop.example.test": b"refer:        whois.nic.test\n",
    "AS64500": b"refer:        whois.arin.net\n",
}
for i in range(120, 128):
    IANA["192.0.2.%d" % i] = b"refer:        slow.example\n"


def answer(role, query):
    q = query.strip()
    if role == "iana":
        return IANA.get(q, b"% This query returned 0 objects.\n")
    if role == "arin":
        # ARIN lists every network in full only when asked "n + ADDR"
        if q == "n + 192.0.2.10":
            return fixture("arin-192.0.2.10.txt")
        if q == "n + 198.51.100.77":
            return fixture("arin-referral-to-ripe.txt")
        if q == "n + 192.0.2.66":
            return (b"NetRange: 192.0.2.0 - 192.0.2.127\nCIDR: 192.0.2.0/25\n"
                    b"ReferralServer: whois://whois.arin.net\n"
                    b"OrgAbuseEmail: abuse@isp-a.example\n\n"
                    b"NetRange: 192.0.2.64 - 192.0.2.127\nCIDR: 192.0.2.64/26\n"
                    b"ReferralServer: rwhois://rwhois.isp-a.example:4321\n")
        if q == "a + 64500":
            return (b"ASNumber: 64500\nASName: ISP-A\nOrgName: ISP A Inc.\n"
                    b"Country: US\nOrgAbuseEmail: as-abuse@isp-a.example\n")
        return b"# ARIN: query not in full form\nNetRange: 0.0.0.0 - 255.255.255.255\n"
    if role == "ripe":
        # asked with -r: no person or role objects (RIPE's daily limit)
        if q == "-r 198.51.100.77":
            return fixture("ripe-198.51.100.77.txt")
        return b"%ERROR:101: no entries found\n"
    if role == "jpnic":
        if q == "203.0.113.5":
            return fixture("jpnic-203.0.113.5.iso2022jp.txt")
        if q == "HC123JP":
            return fixture("jpnic-HC123JP.iso2022jp.txt")
        return b"No match!!\n"
    if role == "registry":
        # a thin registry: the registrar's server, and its abuse address
        return (b"   Domain Name: SHOP.EXAMPLE.TEST\r\n"
                b"   Registrar WHOIS Server: whois.registrar.test\r\n"
                b"   Registrar Abuse Contact Email: thin@registrar.test\r\n")
    if role == "registrar":
        return (b"Domain Name: shop.example.test\r\n"
                b"Registrar Abuse Contact Email: abuse@registrar.test\r\n"
                b"Registrant Country: JP\r\n")
    if role == "rwhois":
        return (b"%rwhois V-1.5:003fff:00 rwhois.isp-a.example\n"
                b"network:IP-Network:192.0.2.64/26\n"
                b"network:Org-Name:Customer Y\n"
                b"network:Abuse-Email:abuse@cust-y.example\n%ok\n")
    if role == "loop_a":
        return b"ReferralServer: whois://loop-b.example\n"
    if role == "loop_b":
        return b"ReferralServer: whois://loop-a.example:43\n"
    if role == "slow":
        time.sleep(1)
        return (b"inetnum: 192.0.2.120 - 192.0.2.127\n"
                b"abuse-mailbox: slow@slow.example\n")
    if role == "big":
        return b"remarks: " + b"x" * 100 + b"\n" + (b"remarks: padding\n" * 20000) + b"abuse-mailbox: big@big.example\n"
    return b""


def make_handler(role):
    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            line = self.rfile.readline(4096).decode("latin-1")
            with log_lock, open(LOG_FILE, "a") as f:
                f.write("%s %s\n" % (role, line.strip()))
            if role == "silent":
                time.sleep(30)
                return
            self.wfile.write(answer(role, line))
    return Handler


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


roles = ["iana", "arin", "ripe", "jpnic", "rwhois", "loop_a", "loop_b", "big", "silent", "slow", "registry", "registrar"]
ports = {}
for role in roles:
    srv = Server(("127.0.0.1", 0), make_handler(role))
    ports[role] = srv.server_address[1]
    threading.Thread(target=srv.serve_forever, daemon=True).start()
tmp = PORTS_FILE + ".tmp"
with open(tmp, "w") as f:
    json.dump(ports, f)
os.rename(tmp, PORTS_FILE)
while True:
    time.sleep(3600)
