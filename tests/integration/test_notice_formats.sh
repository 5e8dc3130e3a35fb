#!/usr/bin/env bash
# What a notice carries, end to end: a contact with format json gets
# events-TICKET.json (application/json), an array of the events' flat
# IntelMQ objects exactly as stored; csv-attach gets the CSV.  A template
# naming a partial that does not exist sends nothing: the ticket is set
# aside as failed with the reason, and the run exits 1
# with a reason naming the template, the line and the partial, and
# `preview` fails (65) saying the same.
. "$(dirname "$0")/lib.sh"

mkdir -p "$WORK/contacts"
cat >"$WORK/contacts/constituency.csv" <<CSV
org,match,email,cc,pgp,lang,format,notes
Json Org,192.0.2.0/24,json@json.example,,,en,json,
Csv Org,198.51.100.0/24,csv@csv.example,,,en,csv-attach,
Typo Org,203.0.113.0/24,typo@typo.example,,,en,,
CSV
printf 'country,team,email,pgp,lang\n' >"$WORK/contacts/national-csirts.csv"
printf 'match,type,until,reason\n' >"$WORK/contacts/suppress.csv"

# a template folder with one typo: {{> tlp-enn}} in phishing/en
cp -r "$RK_SOURCE_DIR/templates" "$WORK/templates"
sed -i 's/{{> tlp-en}}/{{> tlp-enn}}/' "$WORK/templates/phishing/en.mustache"
typo_line=$(grep -n '{{> tlp-enn}}' "$WORK/templates/phishing/en.mustache" | cut -d: -f1)

conf="$WORK/renraku.conf"
cat >"$conf" <<CONF
[relay]
name = Test CSIRT
from = csirt@test.example
ticket_prefix = TEST
templates = templates
[gpg]
mode = none
[transport]
url = maildir:outbox
[aggregate]
window = 0
[resolve]
# no registry is asked: an unknown address is "nobody"
sources = local
CONF
R() { "$RENRAKU" --config "$conf" "$@"; }

cat >"$WORK/events.jsonl" <<'JSON'
{"feed.name": "Honeypot", "time.source": "2026-11-20T09:00:00+00:00", "source.ip": "192.0.2.7", "source.asn": 64500, "destination.port": 22, "protocol.application": "ssh", "classification.taxonomy": "intrusion-attempts", "classification.type": "brute-force", "classification.identifier": "ssh-brute-force", "tlp": "GREEN", "extra.attempts": 412}
{"feed.name": "Honeypot", "time.source": "2026-11-20T09:05:00+00:00", "source.ip": "192.0.2.8", "source.asn": 64500, "classification.taxonomy": "intrusion-attempts", "classification.type": "brute-force", "tlp": "GREEN"}
{"feed.name": "Honeypot", "time.source": "2026-11-20T09:00:00+00:00", "source.ip": "198.51.100.9", "source.asn": 64501, "destination.port": 3389, "classification.taxonomy": "intrusion-attempts", "classification.type": "brute-force", "tlp": "GREEN"}
{"feed.name": "Phish", "time.source": "2026-11-19T22:00:00+00:00", "source.ip": "203.0.113.5", "source.url": "http://203.0.113.5/login.php", "classification.taxonomy": "fraud", "classification.type": "phishing", "tlp": "GREEN"}
JSON

check "init" R init
check "contacts import" R contacts import "$WORK/contacts"
check "ingest" R ingest "$WORK/events.jsonl"
rc=0; R run --once --json >"$WORK/run.json" 2>"$WORK/run.err" || rc=$?
check "run --once exits 1: the typo's ticket was set aside (rc $rc)" test "$rc" -eq 1
check "the run counts the failed ticket" test "$(json_get "$WORK/run.json" 'd["tickets_failed"]')" -eq 1
check "two notices sent" test "$(json_get "$WORK/run.json" 'd["sent"]')" -eq 2

# --- the JSON attachment
cat >"$WORK/attach.py" <<'PY'
import email, email.policy, glob, json, sys
want_to, out = sys.argv[1], sys.argv[2]
for path in glob.glob(sys.argv[3] + "/new/*"):
    msg = email.message_from_binary_file(open(path, "rb"), policy=email.policy.default)
    if want_to not in str(msg["To"]):
        continue
    parts = [p for p in msg.walk() if p.get_filename()]
    assert len(parts) == 1, [p.get_filename() for p in parts]
    p = parts[0]
    json.dump({"name": p.get_filename(), "type": p.get_content_type(),
               "data": p.get_payload(decode=True).decode("utf-8"),
               "subject": str(msg["Subject"]),
               "body": next(q for q in msg.walk() if q.get_content_type() == "text/plain" and not q.get_filename()).get_content()},
              open(out, "w"))
    sys.exit(0)
sys.exit("no message to " + want_to)
PY
check "the json contact got a message" "$PY" "$WORK/attach.py" json@json.example "$WORK/j.json" "$WORK/outbox"
tid=$(json_get "$WORK/j.json" 'd["subject"].split("#")[1].split("]")[0]')
check "attachment named events-$tid.json" test "$(json_get "$WORK/j.json" 'd["name"]')" = "events-$tid.json"
check "attachment is application/json" test "$(json_get "$WORK/j.json" 'd["type"]')" = "application/json"
check "attachment parses as a JSON array of the 2 events" test "$(json_get "$WORK/j.json" 'len(json.loads(d["data"]))')" -eq 2
check "each element is the flat IntelMQ object" test "$(json_get "$WORK/j.json" 'sorted(e["source.ip"] for e in json.loads(d["data"]))')" = "['192.0.2.7', '192.0.2.8']"
check "fields ride along as stored (extra.attempts)" test "$(json_get "$WORK/j.json" '[e.get("extra.attempts") for e in json.loads(d["data"]) if e["source.ip"] == "192.0.2.7"][0]')" = 412
sqlite3 "$WORK/renraku.db" "SELECT data FROM events JOIN event_data USING (id) WHERE source_ip IN ('192.0.2.7', '192.0.2.8') ORDER BY id" >"$WORK/stored.txt"
check "elements are byte for byte events.data" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
lines = [l.rstrip(",") for l in d["data"].splitlines()[1:-1]]
stored = open(sys.argv[2]).read().splitlines()
sys.exit(0 if sorted(lines) == sorted(stored) else "differ: %r %r" % (lines, stored))' "$WORK/j.json" "$WORK/stored.txt"
check "the body names the JSON file" "$PY" -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if "attached as JSON" in d["body"] and d["name"] in d["body"] and "CSV" not in d["body"] else d["body"])' "$WORK/j.json"

# --- csv-attach stays CSV
check "the csv contact got a message" "$PY" "$WORK/attach.py" csv@csv.example "$WORK/c.json" "$WORK/outbox"
check "csv-attach: text/csv" test "$(json_get "$WORK/c.json" 'd["type"]')" = "text/csv"
check "csv-attach: header row" test "$(json_get "$WORK/c.json" 'd["data"].split(",")[0]')" = "time_source"

# --- the typo in a partial: failed, nothing sent, reason says where
json_reason=$(R tickets list --json | "$PY" -c 'import json,sys; print([t.get("hold_reason") or "" for t in json.load(sys.stdin) if t["contact"] == "typo@typo.example"][0])')
check "typo ticket failed, reason names template, line and partial ($json_reason)" \
	test "$json_reason" = "template phishing/en cannot be rendered: body: line $typo_line: partial 'tlp-enn' not found"
check "no message to the typo contact" bash -c "! grep -rl 'typo@typo.example' '$WORK/outbox'"

rc=0; R preview --template phishing --lang en --events "$WORK/events.jsonl" >"$WORK/prev.out" 2>"$WORK/prev.err" || rc=$?
check "preview with the typo exits 65 (rc $rc)" test "$rc" -eq 65
check "preview names file, line and partial" grep -q "templates/phishing/en.mustache: body: line $typo_line: partial 'tlp-enn' not found" "$WORK/prev.err"
check "preview prints no notice" test ! -s "$WORK/prev.out"
rc=0; R preview --template "$WORK/templates/phishing/en.mustache" --data <(echo '{}') \
	--partials "$WORK/templates/_partials" >"$WORK/prev2.out" 2>"$WORK/prev2.err" || rc=$?
check "preview --data with the typo exits 65 (rc $rc)" test "$rc" -eq 65
check "preview --data names file, line and partial" grep -q "en.mustache: line $typo_line: partial 'tlp-enn' not found" "$WORK/prev2.err"
finish
