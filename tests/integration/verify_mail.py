#!/usr/bin/python3
"""Check renraku messages the way a recipient would.

usage: verify_mail.py --key signing-key.asc [--expect-lang ja|en] FILE...

For every FILE (one message, CRLF line ends as sent):
  - parses the headers and refuses unexpected or repeated header fields
    (a header injected through event data would show up here);
  - finds the RFC 3156 multipart/signed part, cuts out the exact signed
    bytes and the detached signature, and runs `gpg --verify` in a fresh
    GnuPG home holding only the given public key: it must print
    "Good signature";
  - decodes the text body and checks it is valid UTF-8;
  - prints one JSON line per message: file, to, subject, lang guess,
    body text, csv attachment (decoded), so shell tests can assert more.
Exit status 0 when every message passes, 1 otherwise.
"""
import argparse
import email
import email.policy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

ALLOWED = {
    "from", "to", "cc", "reply-to", "subject", "date", "message-id",
    "in-reply-to", "references", "auto-submitted", "mime-version",
    "content-type", "content-transfer-encoding", "x-renraku-ticket",
    "x-renraku-ack", "x-renraku-tlp",
}
SINGLE = ALLOWED


def fail(path, why):
    print(f"FAIL {path}: {why}", file=sys.stderr)
    return False


def signed_parts(raw, boundary):
    delim = b"--" + boundary.encode()
    body_start = raw.index(b"\r\n\r\n") + 4
    body = raw[body_start:]
    first = body.index(delim + b"\r\n")
    start = first + len(delim) + 2
    nxt = body.index(b"\r\n" + delim, start)
    signed = body[start:nxt]
    rest = body[nxt + 2 + len(delim) + 2:]
    end = rest.index(b"\r\n" + delim + b"--")
    sig_part = email.message_from_bytes(rest[:end], policy=email.policy.default)
    return signed, sig_part


def check(path, gnupg, expect_lang):
    raw = open(path, "rb").read()
    if b"\n" in raw.replace(b"\r\n", b""):
        return fail(path, "bare LF line end")
    for line in raw.split(b"\r\n"):
        if len(line) > 998:
            return fail(path, "line longer than 998 bytes")
    head = raw[: raw.index(b"\r\n\r\n")].decode("ascii")
    names = [m.group(1).lower() for m in re.finditer(r"^([^\s:]+):", head, re.M)]
    for n in names:
        if n not in ALLOWED:
            return fail(path, f"unexpected header {n!r}")
        if names.count(n) > 1:
            return fail(path, f"header {n!r} repeated")
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    if msg.get_content_type() != "multipart/signed":
        return fail(path, "not multipart/signed")
    params = dict(msg["content-type"].params)
    if params.get("protocol") != "application/pgp-signature":
        return fail(path, "wrong protocol parameter")
    if not params.get("micalg", "").startswith("pgp-"):
        return fail(path, "no micalg")
    signed, sig_part = signed_parts(raw, params["boundary"])
    if any(b > 127 for b in signed):
        return fail(path, "signed part is not 7-bit")
    work = tempfile.mkdtemp(prefix="rkv.", dir="/tmp")
    try:
        with open(os.path.join(work, "part"), "wb") as f:
            f.write(signed)
        with open(os.path.join(work, "sig.asc"), "wb") as f:
            f.write(sig_part.get_payload(decode=True) or
                    sig_part.get_content().encode())
        r = subprocess.run(["gpg", "--homedir", gnupg, "--batch", "--status-fd", "1",
                            "--verify", os.path.join(work, "sig.asc"),
                            os.path.join(work, "part")],
                           capture_output=True, text=True)
        if r.returncode != 0 or "[GNUPG:] GOODSIG" not in r.stdout:
            return fail(path, "gpg --verify failed: " + r.stderr.strip())
        if r.stdout.count("[GNUPG:] GOODSIG") != 1:
            return fail(path, "not exactly one signature")
        hashalgo = re.search(r"VALIDSIG \S+ \S+ \S+ \S+ \S+ \S+ \S+ (\d+)", r.stdout)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    content = email.message_from_bytes(signed, policy=email.policy.default)
    text, csv = None, None
    for part in content.walk():
        if part.get_content_type() == "text/plain" and text is None:
            payload = part.get_payload(decode=True)
            try:
                text = payload.decode("utf-8")
            except UnicodeDecodeError:
                return fail(path, "body is not UTF-8")
        elif part.get_content_type() == "text/csv":
            csv = part.get_payload(decode=True).decode("utf-8")
    if text is None:
        return fail(path, "no text/plain part")
    lang = "ja" if re.search(r"[\u3040-\u30ff]", text) else "en"
    if expect_lang and lang != expect_lang:
        return fail(path, f"expected {expect_lang}, got {lang}")
    print(json.dumps({"file": path, "to": str(msg["to"]), "cc": str(msg["cc"] or ""),
                      "subject": str(msg["subject"]), "message_id": str(msg["message-id"]),
                      "ticket": str(msg["x-renraku-ticket"] or ""), "lang": lang,
                      "micalg": params["micalg"], "text": text, "csv": csv},
                     ensure_ascii=False))
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--key", required=True)
    ap.add_argument("--expect-lang")
    ap.add_argument("files", nargs="+")
    a = ap.parse_args()
    gnupg = tempfile.mkdtemp(prefix="rkg.", dir="/tmp")
    try:
        r = subprocess.run(["gpg", "--homedir", gnupg, "--batch", "--import", a.key],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print("cannot import key: " + r.stderr, file=sys.stderr)
            return 1
        ok = all([check(f, gnupg, a.expect_lang) for f in a.files])
    finally:
        subprocess.run(["gpgconf", "--homedir", gnupg, "--kill", "all"],
                       capture_output=True)
        shutil.rmtree(gnupg, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
