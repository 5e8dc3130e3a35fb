#!/usr/bin/env bash
# renraku stats on a second history, driven through --now over 2027Q1
# (the quarter before it holds nothing): a ticket whose events come from
# two origin ASes, a ticket that climbs two levels (no answer, no answer)
# and is answered by the national CSIRT, a first notice that bounces and
# is answered at the next level, a network that never answers, an
# auto-reply, a dispute, a withheld event.  Checked three ways: figures
# derived by hand from the history; every figure of the JSON recomputed
# from the database's rows by an independent Python oracle (the
# definitions of docs/stats.md); every ranked network against `renraku
# contacts stats`, the same SQL the tracking issue wrote.  Then the same
# numbers in text, CSV and HTML (human durations in en and ja), and an
# empty quarter in every format.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || { echo "FAIL: sqlite3 is missing" >&2; exit 1; }
command -v xmllint >/dev/null || { echo "FAIL: xmllint is missing (libxml2-utils)" >&2; exit 1; }

cd "$WORK"
esc=""
for s in info low medium high critical; do
	esc="$esc[escalation.$s]"$'\n'"remind_after = 4h"$'\n'"escalate_after = 24h"$'\n'"levels = 2"$'\n'
done
contacts_with contacts \
	'Net X,AS64600,abuse@x.example,,,en,csv-attach,' \
	'Net X,198.51.100.0/24,noc@x.example,,,en,csv-attach,' \
	'Net Y,203.0.113.0/24,sec@y.example,,,en,csv-attach,' \
	'Net Z,192.0.2.0/24,cert@z.example,,,en,csv-attach,'
echo 'JP,JPCERT/CC,office@jpcert.example,,en' >>contacts/national-csirts.csv
relay_conf r.conf "$esc" '[tracking]' 'auto_ack_factor = 1'
. "$RK_SOURCE_DIR/tests/integration/stats_lib.sh"

check "init" R -q init --gen-key
check "contacts import" R -q contacts import contacts

# January.  T1: two events of noc@x's network from two origin ASes (one
# ticket), answered after 3h.  T2: no answer at level 0 (reminder,
# then abuse@x at level 1), none there (reminder, then the national
# CSIRT at level 2), answered there after 2h.
NOW=2027-01-11T09:00:00Z
{ ev 198.51.100.1 infected-system 64600 GREEN JP; ev 198.51.100.2 infected-system 64610 GREEN JP; ev 198.51.100.3 scanner 64600 GREEN JP; } |
	ingest 2027-01-11T09:00:00Z feedA
run_at 2027-01-11T10:00:00Z
T1=$(tid 198.51.100.1) T2=$(tid 198.51.100.3)
check "one ticket for both ASes" test "$(tid 198.51.100.2)" = "$T1"
reply "$T1" "$(first_mid "$T1")" noc@x.example 2027-01-11T13:00:00Z
run_at 2027-01-11T14:00:30Z # T2: reminder at level 0
run_at 2027-01-12T10:00:30Z # T2: level 1
check "T2 at level 1" test "$(q "SELECT level FROM tickets WHERE id = '$T2'")" = 1
run_at 2027-01-12T14:01:00Z # T2: reminder at level 1
run_at 2027-01-13T10:01:00Z # T2: level 2
check "T2 at level 2" test "$(q "SELECT level FROM tickets WHERE id = '$T2'")" = 2
reply "$T2" "$(last_mid "$T2")" office@jpcert.example 2027-01-13T12:01:00Z

# February.  T3 and T4: sec@y (AS64601, no level above) never answers:
# reminder, expiry.  T5: cert@z, an auto-reply, then disputed by command.
NOW=2027-02-08T09:00:00Z
{ ev 203.0.113.9 infected-system 64601; ev 203.0.113.10 scanner 64601; ev 192.0.2.5 phishing 64602; } |
	ingest 2027-02-08T09:00:00Z feedB
run_at 2027-02-08T10:00:00Z
T3=$(tid 203.0.113.9) T4=$(tid 203.0.113.10) T5=$(tid 192.0.2.5)
cat >auto.eml <<MAIL
From: helpdesk@z.example
To: csirt@test.example
Subject: AutoReply: [TEST #$T5] notice
Message-ID: <auto-$T5@z.example>
In-Reply-To: $(first_mid "$T5")
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=us-ascii

Received.
MAIL
check "auto-reply to T5" R -q --now 2027-02-08T10:05:00Z inbound auto.eml
check "dispute T5 after 30m" R -q --now 2027-02-08T10:30:00Z ack "$T5" --status disputed --note "not ours" --as tester
run_at 2027-02-08T14:00:30Z
run_at 2027-02-09T10:00:30Z
check "T3, T4 expired" test "$(q "SELECT group_concat(state) FROM tickets WHERE id IN ('$T3', '$T4')")" = expired,expired

# March.  T6: noc@x's first notice bounces, abuse@x (level 1) answers
# 1h after its notice.  A TLP:RED event is withheld.
NOW=2027-03-15T09:00:00Z
{ ev 198.51.100.6 vulnerable-system 64600 GREEN JP; ev 198.51.100.77 infected-system 64600 RED; } |
	ingest 2027-03-15T09:00:00Z feedA
run_at 2027-03-15T10:00:00Z
T6=$(tid 198.51.100.6)
mid=$(first_mid "$T6")
sed -e "s/@MID@/$mid/g" -e "s/@TID@/$T6/g" -e "s/@RCPT@/noc@x.example/g" \
	-e "s/@PREFIX@/TEST/g" "$RK_SOURCE_DIR/tests/fixtures/inbound/bounce-exim.eml" >bounce.eml
check "bounce of T6" R -q --now 2027-03-15T10:10:00Z inbound bounce.eml
run_at 2027-03-15T10:20:00Z
check "T6 at level 1" test "$(q "SELECT level FROM tickets WHERE id = '$T6'")" = 1
reply "$T6" "$(last_mid "$T6")" abuse@x.example 2027-03-15T11:20:00Z
q "SELECT t.id, tl.at, tl.level, tl.cause, tl.to_state FROM tickets t JOIN ticket_timeline tl ON tl.ticket_id = t.id ORDER BY t.id, tl.id" >timeline.txt


# ---------------------------------------------------------------- JSON
check "stats --json" bash -c "'$RENRAKU' --config r.conf --now 2027-03-31T00:00:00Z stats --min-notices 1 --json >s.json"
is() { # is DESCRIPTION PYTHON-EXPR EXPECTED
	local got
	got=$(json_get s.json "$2")
	if [ "$got" = "$3" ]; then ok "$1"; else not_ok "$1: got '$got', expected '$3'"; fi
}
net() { # net KEY VALUE: notices/answered/bounced/tickets/median of one network
	printf '"/".join(str(n[k]) for n in d["networks"]["least_responsive"] if n.get("%s") == %s for k in ("notices", "answered", "bounced", "tickets", "median_ack_seconds"))' "$1" "$2"
}
is "totals" '"%d %d %d %d" % (d["reports"], d["events"], d["tickets"], d["notices"])' "3 8 6 13"
# notices: T1 1, T2 5 (first, reminder, level 1, reminder, level 2);
# T3 2, T4 2, T5 1; T6 2 (first, level 1)
is "months" '" ".join("%s:%d/%d/%d/%d" % (m["month"], m["reports"], m["events"], m["tickets"], m["notices"]) for m in d["by_month"])' \
	"2027-01:1/3/2/6 2027-02:1/3/3/5 2027-03:1/2/1/2"
is "previous quarter empty: zero, and the change is the whole count" \
	'"%d %d %d %d %d" % (d["previous"]["reports"], d["previous"]["events"], d["previous"]["tickets"], d["previous"]["notices"], d["change_by_category"]["other"])' "0 0 0 0 5"
is "delivery" '"%d %d %d %d/%d" % (d["delivery"]["sent"], d["delivery"]["deferred"], d["delivery"]["bounced"], d["delivery"]["first_notice_bounced"], d["delivery"]["notified_tickets"])' "12 0 1 1/6"
is "response: acknowledged T1 T2 T6, disputed T5, expired T3 T4" \
	'"%d %d %d %d %s" % (d["response"]["acknowledged"], d["response"]["auto_acknowledged"], d["response"]["disputed"], d["response"]["expired"], d["response"]["ack_rate"])' "3 0 1 2 0.5"
# first human answers from the first notice: T5 30m (dispute), T6 1h20m
# (across the bounce), T1 3h, T2 50h1m (two levels up)
is "median of 30m, 1h20m, 3h, 50h1m" 'd["response"]["median_ack_seconds"]' 7800
is "90th percentile (nearest rank 4 of 4)" 'd["response"]["p90_ack_seconds"]' 180060
is "escalations: level 1 by T2 (no answer) and T6 (bounce), level 2 by T2" 'd["escalations_by_level"]' "{'1': 2, '2': 1}"
is "withheld" '"%d %d" % (d["withheld"], d["suppressed"])' "1 0"
is "least responsive contact: the one that never answered" 'd["networks"]["least_responsive"][0]["contact"]' sec@y.example
is "least responsive AS: the one that never answered" '[n["asn"] for n in d["networks"]["least_responsive"] if "asn" in n][0]' 64601
is "sec@y: 4 notices, none answered" "$(net contact '"sec@y.example"')" "4/0/0/2/None"
is "noc@x: level 0 of T1 T2 T6, T1 answered, T6 bounced" "$(net contact '"noc@x.example"')" "4/1/1/3/10800"
is "abuse@x: level 1 of T2 (two notices) and T6 (answered after 1h)" "$(net contact '"abuse@x.example"')" "3/1/0/2/3600"
is "the national CSIRT: level 2 of T2" "$(net contact '"office@jpcert.example"')" "1/1/0/1/7200"
is "AS64600: T1 T2 T6, every level" "$(net asn 64600)" "8/3/1/3/7200"
is "AS64610: the second AS of T1 counts T1" "$(net asn 64610)" "1/1/0/1/10800"
is "never-answering networks are not among the most responsive" \
	'sorted(n.get("contact") or n["asn"] for n in d["networks"]["most_responsive"] if n["answered"] == 0)' "[]"
check "every figure recomputed from the rows (stats_oracle.py)" "$PY" "$RK_SOURCE_DIR/tests/integration/stats_oracle.py" renraku.db s.json
# the same figures as contacts stats (store_responsiveness_*, the SQL of
# the tracking issue): every ticket of the history is in the quarter
for key in $(json_get s.json '" ".join(str(n.get("contact") or n["asn"]) for n in d["networks"]["least_responsive"])'); do
	R contacts stats "$key" --json >cs.json
	want=$(json_get cs.json '"%d/%d/%d/%d/%s" % (d["sent"], d["answered"], d["bounced"], d["tickets"], d["median_answer_seconds"])')
	if [[ $key == *@* ]]; then got=$(json_get s.json "$(net contact "\"$key\"")"); else got=$(json_get s.json "$(net asn "$key")"); fi
	check "$key: as contacts stats says ($want)" test "$got" = "$want"
done
check "min-notices 4: only networks with 4 notices or more" \
	bash -c "'$RENRAKU' --config r.conf --now 2027-03-31T00:00:00Z stats --min-notices 4 --json >s4.json"
check "min-notices 4: sec@y, noc@x, AS64601, AS64600" test "$(json_get s4.json '" ".join(str(n.get("contact") or n["asn"]) for n in d["networks"]["least_responsive"])')" = "sec@y.example noc@x.example 64601 64600"
check "min-notices 4: the oracle agrees" "$PY" "$RK_SOURCE_DIR/tests/integration/stats_oracle.py" renraku.db s4.json

# ---------------------------------------------------------------- text, CSV, HTML
check "stats (text)" bash -c "'$RENRAKU' --config r.conf --now 2027-03-31T00:00:00Z stats --min-notices 1 >s.txt"
tline() { grep -F -- "$1" s.txt | head -1 | tr -s ' '; }
check "text: median 2h 10m" test "$(tline 'Median time to first')" = " Median time to first human answer 2h 10m"
check "text: p90 2d 2h" test "$(tline '90th percentile')" = " 90th percentile time to first human answer 2d 2h"
check "text: change from an empty quarter" bash -c "[[ '$(tline '  Events ')' == *' 8 (Change +8)' ]]"
check "text: noc@x's median" bash -c "grep -q 'noc@x.example *notices 4, answered 1 (33%), bounced 1, median 3h 0m' s.txt"
check "stats --lang ja (text)" bash -c "'$RENRAKU' --config r.conf --now 2027-03-31T00:00:00Z stats --min-notices 1 --lang ja >ja.txt"
check "text ja: durations in Japanese" bash -c "grep -q '2時間10分' ja.txt && grep -q '2日2時間' ja.txt && grep -q '中央値 3時間0分' ja.txt"
check "stats --csv" "$RENRAKU" --config r.conf --now 2027-03-31T00:00:00Z stats --min-notices 1 --csv csv
cval() { tr -d '\r' <"csv/$1.csv" | awk -F, -v k="$2" '$1 == k {print $'"${3:-2}"'}'; }
check "csv: seconds" test "$(cval response median_ack_seconds) $(cval response p90_ack_seconds)" = "7800 180060"
check "csv: a network nobody answered has no median" test "$(tr -d '\r' <csv/networks.csv | grep '^least,sec@y.example,' | cut -d, -f4-)" = "2,4,0,0.0000,0,"
for lang in en ja; do
	check "stats --html ($lang)" "$RENRAKU" --config r.conf --now 2027-03-31T00:00:00Z stats --min-notices 1 --lang "$lang" --html "s-$lang.html"
done
check "html en: human durations, seconds kept" bash -c "grep -q '<td data-seconds=\"7800\">2h 10m</td>' s-en.html && grep -q '<td data-seconds=\"180060\">2d 2h</td>' s-en.html"
check "html ja: human durations" bash -c "grep -q '<td data-seconds=\"7800\">2時間10分</td>' s-ja.html && grep -q '<td data-seconds=\"180060\">2日2時間</td>' s-ja.html"
check "html: the never-answering network's median is a dash" grep -q 'sec@y.example</td><td>4</td><td>0</td><td>0.0%</td><td>0</td><td>-</td>' s-en.html
check "html: the share of first notices bounced" grep -q '<td>16.7%</td>' s-en.html
check "html ja: the final states named in Japanese" bash -c "grep -q '>確認済み<' s-ja.html && grep -q '>期限切れ<' s-ja.html && grep -q '>異議<' s-ja.html"
check "html en: the final states named" bash -c "grep -q '>Acknowledged<' s-en.html && grep -q '>Expired<' s-en.html"

# ---------------------------------------------------------------- an empty quarter
check "2027Q2 --json" bash -c "'$RENRAKU' --config r.conf stats --quarter 2027Q2 --json >e.json"
check "empty: zeros, no times, no networks" test "$(json_get e.json '"%d %d %d %d %s %s %s %d %d %d" % (d["reports"], d["events"], d["tickets"], d["notices"], d["response"]["ack_rate"], d["response"]["median_ack_seconds"], d["response"]["p90_ack_seconds"], len(d["networks"]["least_responsive"]), len(d["networks"]["most_responsive"]), sum(d["by_category"].values()))')" = "0 0 0 0 0.0 None None 0 0 0"
check "empty: three months of zeros" test "$(json_get e.json '" ".join("%s:%d" % (m["month"], m["events"] + m["tickets"]) for m in d["by_month"])')" = "2027-04:0 2027-05:0 2027-06:0"
check "empty: the change from a full quarter" test "$(json_get e.json '"%d %d" % (d["previous"]["notices"], d["change_by_category"]["other"])')" = "13 -5"
check "empty: the oracle agrees" "$PY" "$RK_SOURCE_DIR/tests/integration/stats_oracle.py" renraku.db e.json
check "empty: text" bash -c "'$RENRAKU' --config r.conf stats --quarter 2027Q2 >e.txt && grep -q 'Median time to first human answer *-$' e.txt"
check "empty: csv" bash -c "'$RENRAKU' --config r.conf stats --quarter 2027Q2 --csv ecsv && tr -d '\r' <ecsv/response.csv | grep -qx 'median_ack_seconds,'"
for lang in en ja; do
	check "empty ($lang): html" "$RENRAKU" --config r.conf stats --quarter 2027Q2 --lang "$lang" --html "e-$lang.html"
	"$PY" - "e-$lang.html" "$lang" <<'PYEOF'
import re, sys
page = open(sys.argv[1], encoding="utf-8").read()
for i, svg in enumerate(re.findall(r"<svg .*?</svg>", page, re.S)):
    open("empty-%s-%d.svg" % (sys.argv[2], i), "w", encoding="utf-8").write(svg)
PYEOF
	for i in 0 1 2; do
		check "empty ($lang): chart $i is well-formed XML" xmllint --noout "empty-$lang-$i.svg"
	done
done
check "2026Q4, before anything: the oracle agrees" bash -c "'$RENRAKU' --config r.conf stats --quarter 2026Q4 --json >e4.json && '$PY' '$RK_SOURCE_DIR/tests/integration/stats_oracle.py' renraku.db e4.json"
finish
