#!/usr/bin/env bash
# renraku stats over a history built by driving the real program through
# --now across three months of 2026Q4 (and one ticket in Q3): ingest,
# run into a maildir, replies, an auto-reply and a bounce by `renraku
# inbound`, acknowledgements by `renraku ack`, reminders, escalation and
# expiry by letting time pass.  The report's numbers are checked against
# that history in JSON, then the same numbers in text, CSV and HTML; the
# SVG charts are well-formed XML; the page is opened in headless
# Chromium (en and ja), screenshots kept in the work directory.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 is missing" >&2; exit 1; }
command -v xmllint >/dev/null || { echo "FAIL: xmllint is missing (libxml2-utils)" >&2; exit 1; }
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || { echo "FAIL: $CHROMIUM is missing (chromium)" >&2; exit 1; }
[ -n "$(fc-list "Noto Sans CJK JP" 2>/dev/null)" ] || { echo "FAIL: fonts-noto-cjk is missing" >&2; exit 1; }

cd "$WORK"
esc=""
for s in info low medium high critical; do
	esc="$esc[escalation.$s]"$'\n'"remind_after = 4h"$'\n'"escalate_after = 24h"$'\n'"levels = 1"$'\n'
done
contacts_with contacts \
	'ISP A,AS64500,abuse@isp-a.example,,,en,csv-attach,' \
	'ISP A,192.0.2.0/24,noc@isp-a.example,,,en,csv-attach,' \
	'Hosting C,203.0.113.0/24,security@hosting-c.example,,,en,csv-attach,' \
	'Agency D,2001:db8:10::/48,soc@agency-d.example,,,en,csv-attach,'
relay_conf r.conf "$esc" '[tracking]' 'auto_ack_factor = 1'
. "$RK_SOURCE_DIR/tests/integration/stats_lib.sh"

check "init" R -q init --gen-key
check "contacts import" R -q contacts import contacts

# Q3, the previous quarter: one report, one event, one ticket answered.
NOW=2026-09-10T09:00:00Z
ev 192.0.2.9 infected-system 64500 | ingest 2026-09-10T09:00:00Z feedQ3
run_at 2026-09-10T10:00:00Z
P=$(tid 192.0.2.9)
reply "$P" "$(first_mid "$P")" noc@isp-a.example 2026-09-10T11:00:00Z

# October: three tickets.  A (noc, AS64500) answered after 2h; B
# (hosting-c, AS64501) never answers: reminder, then expired (no level
# above); C (agency-d) auto-reply, then acknowledged by command after 24h.
NOW=2026-10-05T09:00:00Z
{ ev 192.0.2.10 infected-system 64500; ev 203.0.113.5 scanner 64501; ev 2001:db8:10::5 phishing 64502; } |
	ingest 2026-10-05T09:00:00Z shadow
run_at 2026-10-05T10:00:00Z
A=$(tid 192.0.2.10) B=$(tid 203.0.113.5) C=$(tid 2001:db8:10::5)
check "three tickets in October" test "$(q "SELECT count(*) FROM tickets WHERE created_at >= strftime('%s','2026-10-01')")" -eq 3
reply "$A" "$(first_mid "$A")" noc@isp-a.example 2026-10-05T12:00:00Z
cat >auto.eml <<MAIL
From: helpdesk@agency-d.example
To: csirt@test.example
Subject: [agency-d #1234] AutoReply: [TEST #$C] notice
Message-ID: <auto-$C@agency-d.example>
In-Reply-To: $(first_mid "$C")
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=us-ascii

Received.
MAIL
check "auto-reply to C" R -q --now 2026-10-05T10:30:00Z inbound auto.eml
check "ack C after 24h" R -q --now 2026-10-06T10:00:00Z ack "$C" --status received --as tester
run_at 2026-10-05T14:00:30Z # B: the reminder
run_at 2026-10-06T10:00:30Z # B: expired (24h, no level above)
check "B expired" test "$(q "SELECT state FROM tickets WHERE id = '$B'")" = expired

# November: D (noc) bounces, escalates to abuse@ (level 1), answered
# there after 6h; E (hosting-c) never answers; F (agency-d) disputed.
NOW=2026-11-10T09:00:00Z
{ ev 192.0.2.11 infected-system 64500; ev 203.0.113.6 scanner 64501; ev 2001:db8:10::6 phishing 64502; } |
	ingest 2026-11-10T09:00:00Z shadow
run_at 2026-11-10T10:00:00Z
D=$(tid 192.0.2.11) E=$(tid 203.0.113.6) F=$(tid 2001:db8:10::6)
mid=$(first_mid "$D")
sed -e "s/@MID@/$mid/g" -e "s/@TID@/$D/g" -e "s/@RCPT@/noc@isp-a.example/g" \
	-e "s/@PREFIX@/TEST/g" "$RK_SOURCE_DIR/tests/fixtures/inbound/bounce-exim.eml" >bounce.eml
check "bounce of D" R -q --now 2026-11-10T10:10:00Z inbound bounce.eml
run_at 2026-11-10T10:20:00Z # D: the notice to level 1
check "D at level 1" test "$(q "SELECT level FROM tickets WHERE id = '$D'")" = 1
reply "$D" "$(last_mid "$D")" abuse@isp-a.example 2026-11-10T16:20:00Z
check "dispute F" R -q --now 2026-11-10T11:00:00Z ack "$F" --status disputed --note "not ours" --as tester
run_at 2026-11-10T14:00:30Z # E: reminder
run_at 2026-11-11T10:00:30Z # E: expired

# December: G (noc) answered after 30 minutes; H (hosting-c) never
# answers; a TLP:RED event (withheld); F's subject again (suppressed).
NOW=2026-12-01T09:00:00Z
{ ev 192.0.2.12 infected-system 64500; ev 203.0.113.7 ddos 64501; ev 192.0.2.77 infected-system 64500 RED; ev 2001:db8:10::6 phishing 64502; } |
	ingest 2026-12-01T09:00:00Z intelmq-bot
run_at 2026-12-01T10:00:00Z
G=$(tid 192.0.2.12) H=$(tid 203.0.113.7)
reply "$G" "$(first_mid "$G")" noc@isp-a.example 2026-12-01T10:30:00Z
run_at 2026-12-01T14:00:30Z
run_at 2026-12-02T10:00:30Z
check "H expired" test "$(q "SELECT state FROM tickets WHERE id = '$H'")" = expired
check "one withheld, one suppressed event" \
	test "$(q "SELECT group_concat(state) FROM (SELECT state FROM events WHERE state IN ('withheld','suppressed') ORDER BY state)")" = suppressed,withheld

# ---------------------------------------------------------------- JSON
check "stats --json" bash -c "'$RENRAKU' --config r.conf --now 2026-12-20T00:00:00Z stats --min-notices 2 --json >s.json"
j() { json_get s.json "$1"; }
is() { # is DESCRIPTION PYTHON-EXPR EXPECTED
	local got
	got=$(j "$2")
	if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1: got '$got', expected '$3'"; fi
}
is "default period: the quarter of --now" 'd["since"] + " " + d["until"]' "2026-10-01T00:00:00Z 2027-01-01T00:00:00Z"
is "reports" 'd["reports"]' 3
is "events" 'd["events"]' 10
is "tickets" 'd["tickets"]' 8
# notices: Oct A, B, B's reminder, C; Nov D, D at level 1, E, E's
# reminder, F; Dec G, H, H's reminder
is "notices (coordinations)" 'd["notices"]' 12
is "previous quarter" '"%d %d %d %d" % (d["previous"]["reports"], d["previous"]["events"], d["previous"]["tickets"], d["previous"]["notices"])' "1 1 1 1"
is "months" '" ".join("%s:%d/%d/%d/%d" % (m["month"], m["reports"], m["events"], m["tickets"], m["notices"]) for m in d["by_month"])' \
	"2026-10:1/3/3/4 2026-11:1/3/3/5 2026-12:1/4/2/3"
is "by category" '" ".join("%s=%d" % (k, v) for k, v in d["by_category"].items() if v)' \
	"phishing-site=3 scan=2 dos=1 other=4"
is "December by category" '" ".join("%s=%d" % (k, v) for k, v in d["by_month"][2]["by_category"].items() if v)' \
	"phishing-site=1 dos=1 other=2"
is "delivery: 11 sent, 1 bounced (D's first notice)" '"%d %d %d" % (d["delivery"]["sent"], d["delivery"]["deferred"], d["delivery"]["bounced"])' "11 0 1"
is "share of tickets whose first notice bounced" 'd["delivery"]["first_notice_bounced_share"]' 0.125
is "response: acknowledged A C D G, disputed F, expired B E H" \
	'"%d %d %d %d" % (d["response"]["acknowledged"], d["response"]["auto_acknowledged"], d["response"]["disputed"], d["response"]["expired"])' "4 0 1 3"
is "ack rate 4/8" 'd["response"]["ack_rate"]' 0.5
# first human answers: G 30m, F 1h (dispute), A 2h, D 6h20m (from the
# first notice, across the bounce), C 24h (after its auto-reply)
is "median time to the first human answer" 'd["response"]["median_ack_seconds"]' 7200
is "90th percentile" 'd["response"]["p90_ack_seconds"]' 86400
is "escalations by level" 'd["escalations_by_level"]' "{'1': 1}"
is "suppressed" 'd["suppressed"]' 1
is "withheld" 'd["withheld"]' 1
is "reports by reporter" 'd["reports_by_reporter"]' "{'intelmq-bot': 1, 'shadow': 2}"
is "the least responsive contact is the one that never answered" \
	'd["networks"]["least_responsive"][0]["contact"] + " %d %d" % (d["networks"]["least_responsive"][0]["notices"], d["networks"]["least_responsive"][0]["answered"])' \
	"security@hosting-c.example 6 0"
is "the least responsive AS is the one that never answered" \
	'[n for n in d["networks"]["least_responsive"] if "asn" in n][0]["asn"]' 64501
is "it is not among the most responsive" \
	'any(n.get("contact") == "security@hosting-c.example" or n.get("asn") == 64501 for n in d["networks"]["most_responsive"])' False
is "noc@: the period's tickets only (A answered, D bounced)" \
	'[(n["notices"], n["answered"], n["bounced"], n["median_ack_seconds"]) for n in d["networks"]["least_responsive"] if n.get("contact") == "noc@isp-a.example"]' \
	"[(2, 1, 1, 7200)]"
check "every figure recomputed from the rows (stats_oracle.py)" "$PY" "$RK_SOURCE_DIR/tests/integration/stats_oracle.py" renraku.db s.json
check "stats --json (default --min-notices 5)" bash -c "'$RENRAKU' --config r.conf --now 2026-12-20T00:00:00Z stats --json >s5.json"
check "min-notices 5" test "$(json_get s5.json '" ".join(n.get("contact") or "AS%d" % n["asn"] for n in d["networks"]["least_responsive"])')" = "security@hosting-c.example AS64501"
check "stats --quarter 2026Q3" bash -c "'$RENRAKU' --config r.conf stats --quarter 2026Q3 --json >q3.json"
check "Q3: one of each" test "$(json_get q3.json '"%d %d %d %d %s" % (d["reports"], d["events"], d["tickets"], d["notices"], d["response"]["median_ack_seconds"])')" = "1 1 1 1 3600"
check "--since/--until" bash -c "'$RENRAKU' --config r.conf stats --since 2026-11-01 --until 2026-12-01 --json >nov.json"
check "November alone (median of 1h and 6h20m)" test "$(json_get nov.json '"%d %d %d %s" % (d["events"], d["tickets"], d["notices"], d["response"]["median_ack_seconds"])')" = "3 3 5 13200"
for f in s5 q3 nov; do
	check "$f.json: the oracle agrees" "$PY" "$RK_SOURCE_DIR/tests/integration/stats_oracle.py" renraku.db "$f.json"
done
check "a bad quarter is a usage error" bash -c "'$RENRAKU' --config r.conf stats --quarter 2026Q5; test \$? -eq 2"
check "two outputs are a usage error" bash -c "'$RENRAKU' --config r.conf stats --json --html x.html; test \$? -eq 2"

# ---------------------------------------------------------------- text
check "stats (text)" bash -c "'$RENRAKU' --config r.conf --now 2026-12-20T00:00:00Z stats --min-notices 2 >s.txt"
tline() { grep -F -- "$1" s.txt | head -1 | tr -s ' '; }
check "text: events 10" bash -c "[[ '$(tline '  Events ')' == *' 10 (Change +9)' ]]"
check "text: notices 12" bash -c "[[ '$(tline 'Coordinations')' == *' 12 (Change +11)' ]]"
check "text: November row" test "$(tline '  2026-11 ')" = " 2026-11 1 3 3 5"
check "text: bounced 1" test "$(tline '  Bounced ')" = " Bounced 1"
check "text: ack rate" test "$(tline 'Acknowledgement rate')" = " Acknowledgement rate 50.0%"
check "text: median 2h" test "$(tline 'Median time to first')" = " Median time to first human answer 2h 0m"
check "text: least responsive first" bash -c "grep -A1 'Least responsive networks, by contact' s.txt | tail -1 | grep -q 'security@hosting-c.example *notices 6, answered 0'"
check "text: withheld" test "$(tline 'Withheld events')" = " Withheld events (TLP:RED) 1"

# ---------------------------------------------------------------- CSV
check "stats --csv" "$RENRAKU" --config r.conf --now 2026-12-20T00:00:00Z stats --min-notices 2 --csv csv
for f in summary by_month by_category delivery response networks reports_by_format reports_by_reporter tickets_by_state escalations_by_level; do
	check "csv/$f.csv written" test -s "csv/$f.csv"
done
cval() { tr -d '\r' <"csv/$1.csv" | awk -F, -v k="$2" '$1 == k {print $'"${3:-2}"'}'; }
check "csv: events 10, previous 1" test "$(cval summary events 2),$(cval summary events 3)" = "10,1"
check "csv: notices 12" test "$(cval summary notices)" = 12
check "csv: November" test "$(tr -d '\r' <csv/by_month.csv | grep '^2026-11,' | cut -d, -f1-5)" = "2026-11,1,3,3,5"
check "csv: phishing 3" test "$(cval by_category phishing-site 3)" = 3
check "csv: bounced 1" test "$(cval delivery bounced)" = 1
check "csv: median, p90" test "$(cval response median_ack_seconds) $(cval response p90_ack_seconds)" = "7200 86400"
check "csv: ack rate" test "$(cval response ack_rate)" = 0.5000
check "csv: least responsive first" test "$(tr -d '\r' <csv/networks.csv | sed -n 2p | cut -d, -f1-2,5-6)" = "least,security@hosting-c.example,6,0"

# ---------------------------------------------------------------- HTML, SVG
for lang in en ja; do
	check "stats --html ($lang)" "$RENRAKU" --config r.conf --now 2026-12-20T00:00:00Z stats --min-notices 2 --lang "$lang" --html "report-$lang.html"
	check "html ($lang): three charts" test "$(grep -c '<svg ' "report-$lang.html")" -eq 3
	check "html ($lang): no external resources" bash -c "! grep -Eiq '(src|href)=|@import|url\\(' report-$lang.html"
	"$PY" - "report-$lang.html" "$lang" <<'PYEOF'
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
for i, svg in enumerate(re.findall(r"<svg .*?</svg>", page, re.S)):
    open("chart-%s-%d.svg" % (sys.argv[2], i), "w", encoding="utf-8").write(svg)
PYEOF
	for i in 0 1 2; do
		check "chart $lang-$i.svg is well-formed XML" xmllint --noout "chart-$lang-$i.svg"
	done
	check "html ($lang): median, p90 (seconds kept) and ack rate in the page" \
		bash -c "grep -q '<td data-seconds=\"7200\">' report-$lang.html && grep -q '<td data-seconds=\"86400\">' report-$lang.html && grep -q '<td>50.0%</td>' report-$lang.html"
	check "html ($lang): the never-answering contact listed" grep -q 'security@hosting-c.example</td><td>6</td><td>0</td>' "report-$lang.html"
	check "html ($lang): November row" grep -q '<tr><td>2026-11</td><td>1</td><td>3</td><td>3</td><td>5</td></tr>' "report-$lang.html"
	rm -rf "chrome-$lang"
	timeout 120 "$CHROMIUM" --headless --no-sandbox --disable-gpu --no-first-run \
		--disable-background-networking --user-data-dir="$WORK/chrome-$lang" \
		--screenshot="$WORK/screenshot-$lang.png" --window-size=1200,2000 \
		"file://$WORK/report-$lang.html" >"chrome-$lang.log" 2>&1 || true
	check "chromium ($lang): a screenshot" test -s "screenshot-$lang.png"
	check "chromium ($lang): a PNG" bash -c "head -c 8 screenshot-$lang.png | od -An -tx1 | tr -d ' \\n' | grep -q 89504e470d0a1a0a"
done
check "en: times for people" bash -c "grep -q '<td data-seconds=\"7200\">2h 0m</td>' report-en.html && grep -q '<td data-seconds=\"86400\">1d 0h</td>' report-en.html"
check "ja: times for people in Japanese" bash -c "grep -q '<td data-seconds=\"7200\">2時間0分</td>' report-ja.html && grep -q '<td data-seconds=\"86400\">1日0時間</td>' report-ja.html"
check "ja: Japanese labels" grep -q 'インシデント報告対応レポート' report-ja.html
check "ja: the chart legend in Japanese" grep -q 'フィッシングサイト' chart-ja-0.svg
check "ja: charts ask for Noto Sans CJK JP" grep -q "Noto Sans CJK JP" chart-ja-0.svg
check "ja and en pages render differently" bash -c "! cmp -s screenshot-en.png screenshot-ja.png"
echo "screenshots: $WORK/screenshot-en.png $WORK/screenshot-ja.png (RK_KEEP_WORK=1 keeps them)"
finish
