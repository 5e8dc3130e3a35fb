#!/usr/bin/python3
"""An SMTP server for the tests (aiosmtpd), on 127.0.0.1.

usage: smtp_sink.py --dir DIR [--port N] [--port-file FILE]
                    [--tls-cert PEM --tls-key PEM [--require-tls]]
                    [--auth USER:PASSWORD] [--defer ADDR]... [--reject ADDR]...
                    [--drop-data N] [--delay-max-ms MS] [--pid-file FILE]

Records the exact bytes of every accepted DATA as DIR/NNNNNN.eml (written
to a temporary name and renamed, so a file that exists is complete) and
its envelope as DIR/NNNNNN.json ({"mail_from", "rcpts"}); every RCPT
answer goes to DIR/rcpt.log ("250 addr", "450 addr", "550 addr").
  --port 0 (default) binds a free port; it is written to --port-file
  --tls-cert/--tls-key  offer STARTTLS with that certificate
  --require-tls  refuse MAIL before STARTTLS (530)
  --auth U:P     offer AUTH PLAIN and LOGIN (only after STARTTLS) and
                 require it; other credentials get 535
  --defer ADDR   answer 450 to RCPT TO:<ADDR>
  --reject ADDR  answer 550 to RCPT TO:<ADDR>
  --drop-data N  drop the connection at the end of the first N DATA
                 transactions, before answering (nothing is recorded)
  --delay-max-ms MS  wait a random 0..MS ms before answering DATA
Runs until SIGTERM.
"""
import argparse
import asyncio
import json
import os
import random
import signal
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Sink:
    def __init__(self, args):
        self.args = args
        self.seq = 0
        self.dropped = 0
        self.defer = {a.lower() for a in args.defer}
        self.reject = {a.lower() for a in args.reject}
        os.makedirs(args.dir, exist_ok=True)
        existing = [f for f in os.listdir(args.dir) if f.endswith(".eml")]
        self.seq = len(existing)
        self.rcpt_log = open(os.path.join(args.dir, "rcpt.log"), "a",
                             buffering=1)

    async def handle_RCPT(self, server, session, envelope, address,
                          rcpt_options):
        a = address.lower()
        if a in self.reject:
            self.rcpt_log.write(f"550 {address}\n")
            return "550 5.1.1 <%s>: no such mailbox" % address
        if a in self.defer:
            self.rcpt_log.write(f"450 {address}\n")
            return "450 4.2.1 <%s>: mailbox busy, try later" % address
        self.rcpt_log.write(f"250 {address}\n")
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.args.delay_max_ms:
            await asyncio.sleep(random.uniform(0, self.args.delay_max_ms)
                                / 1000.0)
        if self.dropped < self.args.drop_data:
            self.dropped += 1
            server.transport.abort()
            return None
        self.seq += 1
        base = os.path.join(self.args.dir, "%06d" % self.seq)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"mail_from": envelope.mail_from,
                       "rcpts": envelope.rcpt_tos,
                       "tls": session.ssl is not None}, f)
        os.rename(base + ".json.tmp", base + ".json")
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Ok: queued as %06d" % self.seq


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--pid-file")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--require-tls", action="store_true")
    ap.add_argument("--auth")
    ap.add_argument("--defer", action="append", default=[])
    ap.add_argument("--reject", action="append", default=[])
    ap.add_argument("--drop-data", type=int, default=0)
    ap.add_argument("--delay-max-ms", type=float, default=0)
    args = ap.parse_args()

    tls = None
    if args.tls_cert:
        tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    creds = None
    if args.auth:
        user, _, password = args.auth.partition(":")
        creds = (user.encode(), password.encode())

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and creds is not None
              and (auth_data.login, auth_data.password) == creds)
        with open(os.path.join(args.dir, "auth.log"), "a") as f:
            f.write("%s %s\n" % (mechanism, "ok" if ok else "refused"))
        return AuthResult(success=ok)

    sink = Sink(args)

    def factory():
        return SMTP(sink, hostname="sink.test", decode_data=False,
                    tls_context=tls, require_starttls=args.require_tls,
                    auth_required=creds is not None,
                    auth_require_tls=True,
                    authenticator=authenticator if creds else None,
                    data_size_limit=64 << 20)

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(
        loop.create_server(factory, "127.0.0.1", args.port,
                           reuse_address=True))
    port = server.sockets[0].getsockname()[1]
    if args.port_file:
        with open(args.port_file + ".tmp", "w") as f:
            f.write("%d\n" % port)
        os.rename(args.port_file + ".tmp", args.port_file)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    loop.add_signal_handler(signal.SIGTERM, loop.stop)
    loop.add_signal_handler(signal.SIGINT, loop.stop)
    try:
        loop.run_forever()
    finally:
        server.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
