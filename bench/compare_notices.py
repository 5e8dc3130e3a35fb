#!/usr/bin/python3
"""Compare two maildirs of notices, apart from dates, Message-IDs,
MIME boundaries, acknowledgement tokens and signatures (with the
signing key's fingerprint).

    bench/compare_notices.py BEFORE_MAILDIR AFTER_MAILDIR

Messages are paired by their X-Renraku-Ticket header (and, for one
ticket, in the order of their file names' sequence numbers).  Every
header but the varying ones, and every decoded MIME part but the
signature, must be equal.  Exit 0 when they all are, 1 with the first
differences otherwise.  Uses only Python's standard library (email).
"""
import email
import email.policy
import os
import re
import sys

SKIP_HEADERS = {"date", "message-id", "x-renraku-ack", "content-type",
                "in-reply-to", "references"}
# what legitimately changes from run to run
VARYING = [
    (re.compile(r"[0-9a-f]{32}"), "TOKEN"),
    # the relay's key (each home made its own): part of the signature
    (re.compile(r"\b[0-9A-F]{40}\b"), "FINGERPRINT"),
    (re.compile(r"[0-9]{8}-[0-9]{6}\.[0-9a-f]{16}@"), "MSGID@"),
    (re.compile(r"\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d \w{3} \d{4} "
                r"\d\d:\d\d:\d\d [+-]\d{4}"), "DATE"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?(Z|[+-]\d\d:?\d\d)?"
                r"(?= \(sent\)|Z?$)"), "DATE"),
]


def normalize(text):
    for rx, repl in VARYING:
        text = rx.sub(repl, text)
    return text


def load(maildir):
    out = {}
    for sub in ("new", "cur"):
        d = os.path.join(maildir, sub)
        if not os.path.isdir(d):
            continue
        for name in os.listdir(d):
            with open(os.path.join(d, name), "rb") as f:
                msg = email.message_from_binary_file(f,
                                                     policy=email.policy.default)
            ticket = msg.get("X-Renraku-Ticket", "?")
            m = re.match(r"renraku-(\d+)-", name)
            seq = int(m.group(1)) if m else 0
            out.setdefault(ticket, []).append((seq, msg))
    for v in out.values():
        v.sort(key=lambda x: x[0])
    return out


def digest(msg):
    """Headers and parts of one message, normalized, as a list of lines."""
    lines = []
    for k, v in msg.items():
        if k.lower() not in SKIP_HEADERS:
            lines.append("H %s: %s" % (k, normalize(str(v))))
    for part in msg.walk():
        ctype = part.get_content_type()
        if part.is_multipart():
            lines.append("M " + ctype)
            continue
        if ctype in ("application/pgp-signature",
                     "application/pkcs7-signature"):
            lines.append("S " + ctype)
            continue
        lines.append("P %s %s" % (ctype, part.get_filename() or ""))
        payload = part.get_payload(decode=True) or b""
        text = payload.decode("utf-8", "replace")
        lines.extend("  " + normalize(l) for l in text.splitlines())
    return lines


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    before, after = load(sys.argv[1]), load(sys.argv[2])
    nb = sum(len(v) for v in before.values())
    na = sum(len(v) for v in after.values())
    problems = []
    if nb != na:
        problems.append("message count: %d before, %d after" % (nb, na))
    for ticket in sorted(set(before) | set(after)):
        b, a = before.get(ticket, []), after.get(ticket, [])
        if len(b) != len(a):
            problems.append("ticket %s: %d messages before, %d after"
                            % (ticket, len(b), len(a)))
            continue
        for (_, mb), (_, ma) in zip(b, a):
            db, da = digest(mb), digest(ma)
            if db != da:
                for i, (x, y) in enumerate(zip(db, da)):
                    if x != y:
                        problems.append("ticket %s line %d:\n  - %s\n  + %s"
                                        % (ticket, i, x, y))
                        break
                else:
                    problems.append("ticket %s: %d lines before, %d after"
                                    % (ticket, len(db), len(da)))
    if problems:
        for p in problems[:20]:
            print(p)
        print("compare_notices: %d differences in %d messages"
              % (len(problems), nb))
        return 1
    print("compare_notices: %d messages, %d tickets: identical (apart from "
          "dates, Message-IDs, tokens and signatures)" % (nb, len(before)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
