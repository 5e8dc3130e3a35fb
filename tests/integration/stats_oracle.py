#!/usr/bin/python3
"""An independent recomputation of `renraku stats --json` from the rows of
a renraku database, written from the definitions of docs/stats.md with
plain loops (no SQL aggregation), to check the report on any history:

    stats_oracle.py DB REPORT.json

Prints one line per figure that differs and exits 1 if any does."""
import datetime
import json
import sqlite3
import sys

CATEGORIES = ["phishing-site", "website-defacement", "malware-site", "scan",
              "dos", "ics", "targeted-attack", "other"]


def epoch(iso):
    return int(datetime.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%SZ")
               .replace(tzinfo=datetime.timezone.utc).timestamp())


def month(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y-%m")


def median(v):
    v = sorted(v)
    if not v:
        return None
    n = len(v)
    return v[n // 2] if n % 2 else (v[n // 2 - 1] + v[n // 2]) // 2


def p90(v):
    v = sorted(v)
    if not v:
        return None
    return v[-(-9 * len(v) // 10) - 1]


def main():
    db = sqlite3.connect(sys.argv[1])
    rep = json.load(open(sys.argv[2], encoding="utf-8"))
    since, until = epoch(rep["since"]), epoch(rep["until"])
    psince, puntil = epoch(rep["previous"]["since"]), epoch(rep["previous"]["until"])
    inp = lambda t, a=since, b=until: a <= t < b
    rows = lambda sql: db.execute(sql).fetchall()

    reports = rows("SELECT received_at, format, coalesce(reporter, '') FROM reports")
    events = rows("SELECT created_at, category, state FROM events")
    tickets = {r[0]: r[1:] for r in rows("SELECT id, created_at, state, notified_at FROM tickets")}
    messages = rows("SELECT id, ticket_id, created_at FROM messages WHERE direction = 'out'")
    deliveries = rows("SELECT message_row, rcpt, state FROM deliveries")
    timeline = rows("SELECT ticket_id, at, level, cause, to_state FROM ticket_timeline ORDER BY id")
    contacts = {(r[0], r[1]): r[2].lower() for r in rows("SELECT ticket_id, level, email FROM ticket_contacts")}
    asns = {}
    for tid, asn in rows("SELECT te.ticket_id, e.source_asn FROM ticket_events te "
                         "JOIN events e ON e.id = te.event_id WHERE e.source_asn IS NOT NULL"):
        asns.setdefault(tid, set()).add(asn)

    want = {}
    for key, a, b in (("", since, until), ("previous.", psince, puntil)):
        want[key + "reports"] = sum(1 for r in reports if inp(r[0], a, b))
        want[key + "events"] = sum(1 for e in events if inp(e[0], a, b))
        want[key + "tickets"] = sum(1 for t in tickets.values() if inp(t[0], a, b))
        want[key + "notices"] = sum(1 for m in messages if inp(m[2], a, b))
    cat = lambda c: c if c in CATEGORIES else "other"
    for c in CATEGORIES:
        n = sum(1 for e in events if inp(e[0]) and cat(e[1]) == c)
        pn = sum(1 for e in events if inp(e[0], psince, puntil) and cat(e[1]) == c)
        want["by_category." + c] = n
        want["change_by_category." + c] = n - pn
    for m in rep["by_month"]:
        k = m["month"]
        want["by_month.%s.events" % k] = sum(1 for e in events if inp(e[0]) and month(e[0]) == k)
        want["by_month.%s.reports" % k] = sum(1 for r in reports if inp(r[0]) and month(r[0]) == k)
        want["by_month.%s.tickets" % k] = sum(1 for t in tickets.values() if inp(t[0]) and month(t[0]) == k)
        want["by_month.%s.notices" % k] = sum(1 for x in messages if inp(x[2]) and month(x[2]) == k)
        for c in CATEGORIES:
            want["by_month.%s.by_category.%s" % (k, c)] = sum(
                1 for e in events if inp(e[0]) and month(e[0]) == k and cat(e[1]) == c)
    cur_msgs = {m[0] for m in messages if inp(m[2])}
    for s in ("sent", "deferred", "bounced"):
        want["delivery." + s] = sum(1 for d in deliveries if d[0] in cur_msgs and d[2] == s)
    period = {tid: t for tid, t in tickets.items() if inp(t[0])}
    notified = sum(1 for t in period.values() if t[2] > 0)
    first_bounced = 0
    for tid in period:
        mine = [m[0] for m in messages if m[1] == tid]
        if mine and any(d[0] == min(mine) and d[2] == "bounced" for d in deliveries):
            first_bounced += 1
    want["delivery.notified_tickets"] = notified
    want["delivery.first_notice_bounced"] = first_bounced
    want["delivery.first_notice_bounced_share"] = first_bounced / notified if notified else 0.0
    states = [t[1] for t in period.values()]
    ack = sum(1 for s in states if s in ("acknowledged", "resolved"))
    want["response.acknowledged"] = ack
    want["response.auto_acknowledged"] = states.count("auto-acknowledged")
    want["response.disputed"] = states.count("disputed")
    want["response.expired"] = states.count("expired")
    want["response.ack_rate"] = ack / notified if notified else 0.0
    delays = []
    for tid in period:
        tl = [r for r in timeline if r[0] == tid]
        q = [r[1] for r in tl if r[3] == "notice-queued"]
        h = [r[1] for r in tl if r[3] in ("reply", "ack")]
        if q and h and min(h) >= min(q):
            delays.append(min(h) - min(q))
    want["response.median_ack_seconds"] = median(delays)
    want["response.p90_ack_seconds"] = p90(delays)
    want["response.answered_tickets"] = len(delays)
    for s in set(states):
        want["tickets_by_state." + s] = states.count(s)
    levels = {}
    for r in timeline:
        if inp(r[1]) and r[4] == "open" and r[3] in ("no-answer", "bounce") and r[2] > 0:
            levels[str(r[2])] = levels.get(str(r[2]), 0) + 1
    for k, v in levels.items():
        want["escalations_by_level." + k] = v
    want["suppressed"] = sum(1 for e in events if inp(e[0]) and e[2] == "suppressed")
    want["withheld"] = sum(1 for e in events if inp(e[0]) and e[2] == "withheld")

    # every network: per ticket level (an address) or per ticket (an AS)
    nets = {}
    for tid in period:
        tl = [r for r in timeline if r[0] == tid]
        for lvl in sorted({r[2] for r in tl}):
            at = [r for r in tl if r[2] == lvl]
            keys = []
            if (tid, lvl) in contacts:
                keys.append(("contact", contacts[(tid, lvl)]))
            keys += [("asn", a) for a in asns.get(tid, ())]
            q = [r[1] for r in at if r[3] == "notice-queued"]
            h = [r[1] for r in at if r[3] in ("reply", "ack")]
            for key in keys:
                n = nets.setdefault(key, {"tickets": set(), "notices": 0, "bounced": 0, "delays": []})
                n["tickets"].add(tid)
                n["notices"] += len(q)
                if key[0] == "asn":
                    n["bounced"] += sum(1 for r in at if r[3] == "bounce")
                if q and h:
                    n["delays"].append(min(h) - min(q))
    for key, n in nets.items():
        if key[0] == "contact":
            n["bounced"] = sum(1 for d in deliveries if d[2] == "bounced" and d[1].lower() == key[1]
                               and any(m[0] == d[0] and m[1] in period for m in messages))
    ranked = [k for k, n in nets.items() if n["notices"] >= rep["networks"]["min_notices"]]
    listed = []
    for way in ("least_responsive", "most_responsive"):
        for n in rep["networks"][way]:
            key = ("contact", n["contact"]) if "contact" in n else ("asn", n["asn"])
            listed.append((way, key, n))
    bad = []
    for way, key, got in listed:
        if key not in ranked:
            bad.append("%s: %s %s listed with fewer than min_notices notices" % ((way,) + key))
            continue
        n = nets[key]
        exp = {"tickets": len(n["tickets"]), "notices": n["notices"], "answered": len(n["delays"]),
               "bounced": n["bounced"], "median_ack_seconds": median(n["delays"]),
               "answer_rate": len(n["delays"]) / len(n["tickets"])}
        for f, v in exp.items():
            if got[f] != v:
                bad.append("%s: %s %s: %s = %r, expected %r" % ((way,) + key + (f, got[f], v)))
    for key in ranked:
        # the least responsive list the first 10 of each kind
        if sum(1 for k in ranked if k[0] == key[0]) <= 10 and \
                not any(k == key for w, k, _ in listed if w == "least_responsive"):
            bad.append("network %s %s: not listed" % key)
    # the least responsive: lowest answer rate first
    least = rep["networks"]["least_responsive"]
    for kind in ("contact", "asn"):
        rates = [n["answer_rate"] for n in least if kind in n]
        if rates != sorted(rates):
            bad.append("least responsive %s not in answer-rate order: %r" % (kind, rates))
    for n in rep["networks"]["most_responsive"]:
        if n["answered"] == 0:
            bad.append("a network that never answered is among the most responsive: %r" % n)

    def get(path):
        d = rep
        parts = path.split(".")
        if parts[0] == "by_month":
            d = [m for m in rep["by_month"] if m["month"] == parts[1]][0]
            parts = parts[2:]
        for p in parts:
            if not isinstance(d, dict) or p not in d:
                return "(missing)"
            d = d[p]
        return d
    for path, v in sorted(want.items()):
        g = get(path)
        if g == "(missing)" and v == 0 and path.split(".")[0] in ("tickets_by_state", "escalations_by_level"):
            continue
        if isinstance(v, float) and isinstance(g, float) and abs(g - v) < 1e-9:
            continue
        if g != v:
            bad.append("%s = %r, expected %r" % (path, g, v))
    for b in bad:
        print(b)
    print("oracle: %d figures and %d networks checked, %d differ" % (len(want), len(ranked), len(bad)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
