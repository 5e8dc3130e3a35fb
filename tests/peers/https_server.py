#!/usr/bin/python3
"""A small HTTPS server for renraku's tests: RDAP answers, redirects,
429 with Retry-After, bodies over a limit, a server that never answers.

    https_server.py --cert C --key K --routes ROUTES.json --port-file F
                    [--synth-prefix 20] [--delay-ms 0] [--count-file F]

It binds 127.0.0.1 on a free port and writes the port to --port-file when
ready.  ROUTES.json maps a request path to what to answer:

    {"/ip/192.0.2.1": {"status": 200, "file": "answer.json",
                       "headers": {"Content-Type": "application/rdap+json"},
                       "body": "text", "delay": 0.5, "hang": false,
                       "size": 0},
     "/seq": {"sequence": [ {"status": 429, "headers": {"Retry-After": "2"}},
                            {"status": 200, "body": "{}"} ]}}

"{base}" in a body or header is replaced by https://127.0.0.1:PORT, and
"{now+N}" in a header by the HTTP-date N seconds from now.
"file" is read relative to the routes file.  "size" answers that many
bytes of "x" (streamed without Content-Length when "chunked" is true).
"hang" accepts the request and never answers.  A sequence answers its
n-th entry to the n-th request, then repeats the last.  A path ending
in "*" matches every path with that prefix.

--synth-prefix N answers every .../ip/A.B.C.D not in the routes with an RDAP
network: the /N holding the address, abuse contact abuse-<net>@synth.test
(for the benchmark), after --delay-ms.

Every request is counted; GET /__count answers {"total": n, "paths":
{path: n}} (not counted itself), GET /__reset sets the counts to zero.
"""
import argparse
import ipaddress
import json
import os
import ssl
import sys
import threading
import time
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, routes, routes_dir, synth_prefix, delay):
        self.routes = routes
        self.routes_dir = routes_dir
        self.synth_prefix = synth_prefix
        self.delay = delay
        self.lock = threading.Lock()
        self.counts = {}
        self.total = 0
        self.base = ""


def expand(value, base):
    """{base} and {now+N} (an HTTP-date N seconds from now)."""
    value = value.replace("{base}", base)
    if "{now+" in value:
        start = value.index("{now+")
        end = value.index("}", start)
        secs = int(value[start + 5:end])
        value = value[:start] + formatdate(time.time() + secs, usegmt=True) \
            + value[end + 1:]
    return value


def find_route(state, path):
    if path in state.routes:
        return state.routes[path]
    best = None
    for key, route in state.routes.items():
        if key.endswith("*") and path.startswith(key[:-1]):
            if best is None or len(key) > len(best[0]):
                best = (key, route)
    return best[1] if best else None


def synth_answer(state, path):
    if "/ip/" not in path:
        return None
    try:
        addr = ipaddress.ip_address(path.rsplit("/ip/", 1)[1])
    except ValueError:
        return None
    plen = state.synth_prefix if addr.version == 4 else 48
    net = ipaddress.ip_network("%s/%d" % (addr, plen), strict=False)
    tag = str(net.network_address).replace(".", "-").replace(":", "-")
    doc = {
        "objectClassName": "ip network",
        "rdapConformance": ["rdap_level_0"],
        "handle": "NET-" + tag,
        "startAddress": str(net.network_address),
        "endAddress": str(net.broadcast_address),
        "ipVersion": "v%d" % addr.version,
        "country": "JP",
        "entities": [{
            "objectClassName": "entity",
            "handle": "ABUSE-" + tag,
            "roles": ["abuse"],
            "vcardArray": ["vcard", [["version", {}, "text", "4.0"],
                                     ["fn", {}, "text", "Abuse " + tag],
                                     ["email", {}, "text",
                                      "abuse-%s@synth.test" % tag]]],
        }],
    }
    return {"status": 200, "body": json.dumps(doc),
            "headers": {"Content-Type": "application/rdap+json"},
            "delay": state.delay}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body go out as separate writes: without TCP_NODELAY,
    # Nagle and delayed ACKs add 40 ms to every answer
    disable_nagle_algorithm = True

    def log_message(self, fmt, *args):
        pass

    def answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if "Content-Length" not in headers:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        st = self.server.state
        path = self.path.split("?", 1)[0]
        if path == "/__count":
            with st.lock:
                doc = {"total": st.total, "paths": dict(st.counts)}
            self.answer(200, {"Content-Type": "application/json"},
                        json.dumps(doc).encode())
            return
        if path == "/__reset":
            with st.lock:
                st.counts = {}
                st.total = 0
            self.answer(200, {}, b"ok\n")
            return
        with st.lock:
            n = st.counts.get(path, 0)
            st.counts[path] = n + 1
            st.total += 1
        route = find_route(st, path)
        if route is None and st.synth_prefix:
            route = synth_answer(st, path)
        if route is None:
            self.answer(404, {"Content-Type": "application/rdap+json"},
                        b'{"errorCode":404,"title":"not found"}')
            return
        if "sequence" in route:
            seq = route["sequence"]
            route = seq[min(n, len(seq) - 1)]
        if route.get("delay"):
            time.sleep(route["delay"])
        if route.get("hang"):
            time.sleep(3600)
            return
        headers = {k: expand(v, st.base)
                   for k, v in route.get("headers", {}).items()}
        status = route.get("status", 200)
        if "size" in route:
            size = route["size"]
            if route.get("chunked"):
                self.send_response(status)
                self.send_header("Transfer-Encoding", "chunked")
                self.send_header("Connection", "close")
                self.end_headers()
                chunk = b"x" * 65536
                sent = 0
                try:
                    while sent < size:
                        part = chunk[:min(len(chunk), size - sent)]
                        self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                        sent += len(part)
                    self.wfile.write(b"0\r\n\r\n")
                except OSError:
                    pass
                self.close_connection = True
                return
            body = b"x" * size
        elif "file" in route:
            with open(os.path.join(st.routes_dir, route["file"]), "rb") as f:
                body = f.read().replace(b"{base}", st.base.encode())
        else:
            body = route.get("body", "").replace("{base}", st.base).encode()
        try:
            self.answer(status, headers, body)
        except OSError:
            pass


class Server(ThreadingHTTPServer):
    """TLS handshakes happen in each request's thread, not in accept()."""
    daemon_threads = True
    request_queue_size = 128

    def finish_request(self, request, client_address):
        try:
            request = self.ctx.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        pass


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--routes")
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--synth-prefix", type=int, default=0)
    ap.add_argument("--delay-ms", type=int, default=0)
    args = ap.parse_args()
    routes, routes_dir = {}, "."
    if args.routes:
        with open(args.routes) as f:
            routes = json.load(f)
        routes_dir = os.path.dirname(os.path.abspath(args.routes))
    state = State(routes, routes_dir, args.synth_prefix, args.delay_ms / 1000.0)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    httpd = Server(("127.0.0.1", 0), Handler)
    httpd.ctx = ctx
    httpd.state = state
    port = httpd.server_address[1]
    state.base = "https://127.0.0.1:%d" % port
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
