#!/usr/bin/env bash
# Generic CSV (--format csv:MAPPING, [ingest] csv_mappings in the spool)
# and IODEF (auto detected) through the command line: the stored events
# (events list --json: source.ip, type, time in UTC, severity), the
# rejected rows with their lines; an IODEF document with external
# entities (a local file, a URL on a loopback server started here) reads
# and requests nothing.
. "$(dirname "$0")/lib.sh"

FX=$RK_SOURCE_DIR/tests/fixtures
conf="$WORK/renraku.conf"
mkdir -p "$WORK/spool" "$WORK/maps"
# nothing signed or sent here: only the spool and the mappings matter
printf '%s\n' '[relay]' 'from = csirt@test.example' '[gpg]' 'mode = none' \
	'[ingest]' 'spool = spool' 'csv_mappings = maps' >"$conf"
R() { "$RENRAKU" --config "$conf" "$@"; }
NOW=2026-11-21T00:00:00Z
check "init" R -q init

# --- the loopback HTTP server an external entity would be fetched from
"$PY" - "$WORK/port" "$WORK/requests.log" <<'PY' &
import http.server, sys
port_file, log_file = sys.argv[1], sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        with open(log_file, "a") as f:
            f.write(self.path + "\n")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"FETCHEDSECRET")
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(("127.0.0.1", 0), H)
with open(port_file + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
import os
os.rename(port_file + ".tmp", port_file)
s.serve_forever()
PY
server=$!
# keep the exit status through the kill for cleanup_work
trap 'st=$?; kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; (exit $st); cleanup_work' EXIT
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.05; done
[ -s "$WORK/port" ] || { echo "FAIL: the HTTP server did not start" >&2; exit 1; }
port=$(cat "$WORK/port")
check "the loopback server answers" "$PY" -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:$port/probe').read() != b'FETCHEDSECRET')"
: >"$WORK/requests.log"

# --- generic CSV with a mapping file
rc=0
R --now "$NOW" ingest --json --format "csv:$FX/csv/tool-export.map" \
	"$FX/csv/fw-export-2026-11-20.csv" >"$WORK/csv.json" 2>"$WORK/csv.err" || rc=$?
check "csv: exit 0 with rejected rows (rc $rc)" test "$rc" -eq 0
check "csv: 3 events, 3 rejected" test "$(json_get "$WORK/csv.json" '(d["events"], d["rejected"])')" = "(3, 3)"
check "csv: the file's format is csv" test "$(json_get "$WORK/csv.json" 'd["files"][0]["format"]')" = csv
check "csv: rejected rows with line and reason" test "$(json_get "$WORK/csv.json" '[(e["line"], e["reason"]) for e in d["errors"]]')" = \
	"[(6, \"source.ip: 'not-an-ip' is not an IP address\"), (7, \"column 'When': '2026-11-20 09:07' is not a time as time_format %d/%m/%Y %H:%M:%S\"), (8, 'row has 4 cells, the header 7')]"
check "csv: the warning names file and line" grep -q "fw-export-2026-11-20.csv:6: source.ip" "$WORK/csv.err"
R events list --json >"$WORK/ev1.json"
check "csv: stored events (ip, type, UTC time, severity)" test "$(json_get "$WORK/ev1.json" 'sorted((e["source.ip"], e["classification.type"], e["time.source"], e["severity"]) for e in d)')" = \
	"[('192.0.2.31', 'scanner', '2026-11-20T00:00:00+00:00', 'high'), ('192.0.2.32', 'scanner', '2026-11-20T00:05:00+00:00', 'low'), ('2001:db8::35', 'scanner', '2026-11-20T00:09:00+00:00', 'medium')]"
rc=0; R --now "$NOW" ingest --format csv "$FX/csv/noheader.tsv" 2>"$WORK/u.err" || rc=$?
check "csv without a mapping is a usage error (rc $rc)" test "$rc" -eq 2
check "  that says csv:MAPPING" grep -q "csv:MAPPING" "$WORK/u.err"
printf 'bogus = 1\n' >"$WORK/bad.map"
rc=0; R --now "$NOW" ingest --format "csv:$WORK/bad.map" "$FX/csv/noheader.tsv" 2>"$WORK/b.err" || rc=$?
check "a broken mapping fails the file (rc $rc)" test "$rc" -eq 65
check "  naming the mapping's file and line" grep -q "csv mapping $WORK/bad.map:1: unknown key 'bogus'" "$WORK/b.err"
check "--help names csv:MAPPING and iodef" sh -c "'$RENRAKU' ingest --help | grep -q 'csv:MAPPING' && '$RENRAKU' ingest --help | grep -q iodef"

# --- IODEF by content
rc=0
R -v --now "$NOW" ingest --json "$FX/iodef/several.xml" >"$WORK/io.json" 2>"$WORK/io.err" || rc=$?
check "iodef: exit 0 (rc $rc)" test "$rc" -eq 0
check "iodef: -v says the decision" grep -q "several.xml: read as iodef (--format auto" "$WORK/io.err"
check "iodef: files[0].format is iodef" test "$(json_get "$WORK/io.json" 'd["files"][0]["format"]')" = iodef
check "iodef: 5 events, 3 rejected" test "$(json_get "$WORK/io.json" '(d["events"], d["rejected"])')" = "(5, 3)"
check "iodef: rejected elements with their lines" test "$(json_get "$WORK/io.json" '[e["line"] for e in d["errors"]]')" = "[23, 26, 54]"
report=$(json_get "$WORK/io.json" 'd["files"][0]["report"]')
R events list --json --report "$report" >"$WORK/ev2.json"
check "iodef: stored events" test "$(json_get "$WORK/ev2.json" 'sorted((e.get("source.ip", e.get("source.fqdn")), e["classification.type"], e["time.source"], e["severity"]) for e in d)')" = \
	"[('192.0.2.1', 'data-leak', '2026-11-20T07:00:00+00:00', 'high'), ('198.51.100.99', 'undetermined', '2026-11-20T06:00:00+00:00', 'low'), ('2001:db8::1', 'data-leak', '2026-11-20T07:00:00+00:00', 'high'), ('203.0.113.0', 'sniffing', '2026-11-20T07:30:00+00:00', 'low'), ('phish.example.org', 'sniffing', '2026-11-20T07:30:00+00:00', 'low')]"
R -q --now "$NOW" ingest "$FX/iodef/scan-report.xml"
R events list --json --limit 1 >"$WORK/ev3.json"
check "iodef: DetectTime +09:00 stored in UTC, target as destination" test "$(json_get "$WORK/ev3.json" '[(e["source.ip"], e["time.source"], e["destination.ip"], e["destination.port"], e["severity"]) for e in d]')" = \
	"[('192.0.2.200', '2026-11-20T00:15:00+00:00', '198.51.100.10', 22, 'medium')]"

# --- external entities: nothing read, nothing requested
echo "LOCALSECRET-$$" >"$WORK/secret.txt"
cat >"$WORK/xxe.xml" <<XML
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE IODEF-Document [
  <!ENTITY file SYSTEM "file://$WORK/secret.txt">
  <!ENTITY web SYSTEM "http://127.0.0.1:$port/entity">
  <!ENTITY % remote SYSTEM "http://127.0.0.1:$port/dtd">
  %remote;
]>
<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0">
  <Incident purpose="reporting">
    <IncidentID name="x">&file;&web;</IncidentID>
    <DetectTime>2026-11-20T08:00:00Z</DetectTime>
    <EventData><Flow><System category="source"><Node>
      <Address category="ipv4-addr">192.0.2.66</Address>
    </Node></System></Flow></EventData>
  </Incident>
</IODEF-Document>
XML
cat >"$WORK/xxe-dtd.xml" <<XML
<?xml version="1.0"?>
<!DOCTYPE IODEF-Document SYSTEM "http://127.0.0.1:$port/external.dtd">
<IODEF-Document version="2.00" xmlns="urn:ietf:params:xml:ns:iodef-2.0"/>
XML
for x in xxe xxe-dtd; do
	rc=0; R --now "$NOW" ingest --json "$WORK/$x.xml" >"$WORK/$x.json" 2>"$WORK/$x.err" || rc=$?
	check "$x: the document is refused (rc $rc)" test "$rc" -eq 65
	check "$x: because of its DOCTYPE" grep -q "has a DOCTYPE" "$WORK/$x.json"
done
sleep 0.2
check "no request reached the loopback server" test ! -s "$WORK/requests.log"
check "the local file's content is nowhere in the database" sh -c "! sqlite3 '$WORK/renraku.db' .dump | grep -q LOCALSECRET"
check "nor in the output" sh -c "! grep -q 'LOCALSECRET\|FETCHEDSECRET' '$WORK'/xxe*.json '$WORK'/xxe*.err"
check "no event from the refused documents" test "$(sqlite3 "$WORK/renraku.db" "select count(*) from events where source_ip = '192.0.2.66'")" -eq 0

# --- the spool: a mapping's match takes a CSV, IODEF by content
cp "$FX/csv/tool-export.map" "$WORK/maps/"
cp "$FX/csv/noheader.map" "$WORK/maps/"
sed -e 's/192\.0\.2\.3/192.0.2.13/g; s/2001:db8::35/2001:db8::135/' "$FX/csv/fw-export-2026-11-20.csv" >"$WORK/spool/fw-export-spool.csv"
sed -e 's/192\.0\.2\.200/192.0.2.201/' "$FX/iodef/scan-report.xml" >"$WORK/spool/peer.xml"
printf 'a,b\n1,2\n' >"$WORK/spool/unmapped.csv"
rc=0; R run --once --now "$NOW" --json >"$WORK/run.json" 2>"$WORK/run.err" || rc=$?
check "spool: run exits 0 (rc $rc)" test "$rc" -eq 0
check "spool: two ingested, the unmapped CSV failed" test "$(json_get "$WORK/run.json" '(d["spool"]["files"], d["spool"]["failed"])')" = "(2, 1)"
check "spool: csv events stored" test "$(sqlite3 "$WORK/renraku.db" "select count(*) from events e join reports r on r.id = e.report_id where r.reporter = 'spool' and r.format = 'csv'")" -eq 3
check "spool: iodef event stored" test "$(sqlite3 "$WORK/renraku.db" "select count(*) from events where source_ip = '192.0.2.201'")" -eq 1
check "spool: rejected rows listed with their lines" grep -q "^line 6: source.ip: 'not-an-ip'" "$WORK/spool/done/fw-export-spool.csv.rejected"
check "spool: the unmapped CSV's .error" test -f "$WORK/spool/failed/unmapped.csv.error"

# an unreadable csv_mappings is the configuration's fault: the file stays
sed -e 's/^csv_mappings = maps$/csv_mappings = no-such-dir/' "$conf" >"$WORK/conf2"
cp "$FX/csv/noheader.tsv" "$WORK/spool/later.tsv"
rc=0; "$RENRAKU" --config "$WORK/conf2" run --once --now "$NOW" >/dev/null 2>"$WORK/run2.err" || rc=$?
check "spool: a missing csv_mappings fails the run (rc $rc)" test "$rc" -ne 0
check "  saying why" grep -q "csv_mappings: cannot read" "$WORK/run2.err"
check "  and leaves the file in the spool" test -f "$WORK/spool/later.tsv"
finish
