#!/usr/bin/python3
"""Drive a headless Chromium over the DevTools protocol (a small websocket
client of its own, no packages): open URL, keep a screenshot, then either
stop (--look) or type a note and really click the button whose id is
given with the mouse, wait for the page that answers, keep its screenshot
and print its text.

usage: cdp_click.py CHROMIUM URL OUTDIR [--click ID --note TEXT]
"""
import base64
import json
import os
import re
import socket
import struct
import subprocess
import sys
import time
import urllib.request


class WS:
    """The client side of RFC 6455, text frames only, enough for CDP."""

    def __init__(self, url):
        m = re.match(r"ws://([^:/]+):(\d+)(/.*)", url)
        self.sock = socket.create_connection((m.group(1), int(m.group(2))), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            ("GET %s HTTP/1.1\r\nHost: %s:%s\r\nUpgrade: websocket\r\n"
             "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
             "Sec-WebSocket-Version: 13\r\n\r\n" % (m.group(3), m.group(1), m.group(2), key)).encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise RuntimeError("websocket handshake failed")
            head += chunk
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise RuntimeError("websocket handshake refused: %r" % head[:80])
        self.buf = b""
        self.next_id = 0
        self.events = []

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RuntimeError("websocket closed")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def recv(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            payload = self._read(n)
            if b0 & 0x0F == 8:
                raise RuntimeError("websocket closed by the browser")
            message += payload
            if b0 & 0x80:
                return json.loads(message)

    def call(self, method, **params):
        self.next_id += 1
        self.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = self.recv()
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.events.append(msg)

    def wait_event(self, method, timeout=20):
        end = time.time() + timeout
        while time.time() < end:
            for i, ev in enumerate(self.events):
                if ev.get("method") == method:
                    del self.events[i]
                    return ev
            self.events.append(self.recv())
        raise RuntimeError("no %s within %ss" % (method, timeout))


def screenshot(ws, path):
    """The page as it shows now, to path (PNG); the path printed."""
    shot = ws.call("Page.captureScreenshot", format="png")["data"]
    with open(path, "wb") as f:
        f.write(base64.b64decode(shot))
    print("screenshot: " + path)


def main():
    chromium, url, outdir = sys.argv[1:4]
    args = sys.argv[4:]
    click = args[args.index("--click") + 1] if "--click" in args else None
    note = args[args.index("--note") + 1] if "--note" in args else ""
    profile = os.path.join(outdir, "chromium-profile")
    proc = subprocess.Popen(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-extensions", "--disable-sync",
         "--no-default-browser-check", "--remote-debugging-port=0",
         "--remote-debugging-address=127.0.0.1", "--user-data-dir=" + profile,
         "--window-size=900,700", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        port = None
        end = time.time() + 60
        while time.time() < end and port is None:
            line = proc.stderr.readline().decode(errors="replace")
            if not line and proc.poll() is not None:
                raise RuntimeError("chromium exited (%s)" % proc.returncode)
            m = re.search(r"DevTools listening on ws://127\.0\.0\.1:(\d+)/", line)
            if m:
                port = int(m.group(1))
        if port is None:
            raise RuntimeError("chromium gave no DevTools port")
        targets = json.load(urllib.request.urlopen("http://127.0.0.1:%d/json/list" % port, timeout=10))
        page = [t for t in targets if t.get("type") == "page"][0]
        ws = WS(page["webSocketDebuggerUrl"])
        ws.call("Page.enable")
        ws.call("Runtime.enable")
        ws.call("Page.navigate", url=url)
        ws.wait_event("Page.loadEventFired")
        screenshot(ws, os.path.join(outdir, "ack-page.png"))
        title = ws.call("Runtime.evaluate", expression="document.title", returnByValue=True)
        print("title: " + title["result"]["value"])
        if not click:
            return 0

        def center(selector):
            r = ws.call("Runtime.evaluate", returnByValue=True, expression=(
                "(() => { const r = document.querySelector(%s).getBoundingClientRect();"
                " return [r.x + r.width / 2, r.y + r.height / 2]; })()" % json.dumps(selector)))
            return r["result"]["value"]

        def mouse_click(x, y):
            for kind in ("mousePressed", "mouseReleased"):
                ws.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, button="left", clickCount=1)

        if note:
            mouse_click(*center("#note"))
            ws.call("Input.insertText", text=note)
        x, y = center("#" + click)
        mouse_click(x, y)
        ws.wait_event("Page.loadEventFired")
        screenshot(ws, os.path.join(outdir, "ack-done.png"))
        text = ws.call("Runtime.evaluate", expression="document.body.innerText", returnByValue=True)
        print("text: " + text["result"]["value"].replace("\n", " "))
        return 0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    sys.exit(main())
