#!/usr/bin/env bash
# Shadowserver CSV reports end to end: the report type from the file name
# and from --format shadowserver:TYPE, rows in the database, a bad row
# rejected with file and line, a missing required column rejecting the
# file, [ingest] shadowserver_schema, and `renraku schema update`.
source "$(dirname "$0")/lib.sh"
: "${RK_FIXTURES:?RK_FIXTURES must be set (ctest sets it)}"
fx=$RK_FIXTURES/shadowserver
cd "$WORK"
export RENRAKU_CONFIG=$WORK/renraku.conf
"$RENRAKU" init --from csirt@example.org >/dev/null 2>&1
NOW=2026-11-25T00:00:00Z
db=$WORK/renraku.db
[ -f "$db" ] || db=$(ls "$WORK"/*.db | head -1)

rc=0
"$RENRAKU" --now $NOW ingest --json "$fx"/2026-11-21-scan_dns-jp-asn.csv \
	"$fx"/2026-11-21-event4_honeypot_brute_force-jp-geo.csv \
	"$fx"/2026-11-21-scan_ssh-jp-asn.csv >out.json 2>err.txt || rc=$?
check "ingest of reports with a rejected row exits 0" [ "$rc" -eq 0 ]
check "three reports" [ "$(json_get out.json 'd["reports"]')" = 3 ]
check "eight events" [ "$(json_get out.json 'd["events"]')" = 8 ]
check "one rejected row" [ "$(json_get out.json 'd["rejected"]')" = 1 ]
check "the bad row names file, line and reason" grep -q \
	"2026-11-21-scan_ssh-jp-asn.csv:3: column 'port': 'twenty-two' is not an integer" err.txt
q() { sqlite3 "$db" "$1"; }
check "scan_ssh rows carry the schema's constant fields" [ \
	"$(q "select count(*) from events join event_data using (id) where json_extract(data,'\$.\"classification.identifier\"')='open-ssh' and json_extract(data,'\$.\"feed.name\"')='Accessible-SSH'")" = 2 ]
check "an unknown column is kept under extra." [ \
	"$(q "select json_extract(data,'\$.\"extra.a_column_shadowserver_added_later\"') from events join event_data using (id) where json_extract(data,'\$.\"source.ip\"')='192.0.2.22'")" = kept ]
check "AS 0 is no AS" [ \
	"$(q "select count(*) from events join event_data using (id) where json_extract(data,'\$.\"source.ip\"')='192.0.2.24' and json_extract(data,'\$.\"source.asn\"') is null")" = 1 ]
check "time.source in UTC" [ \
	"$(q "select json_extract(data,'\$.\"time.source\"') from events join event_data using (id) where json_extract(data,'\$.\"source.ip\"')='192.0.2.22'")" = 2026-11-21T03:00:00+00:00 ]

rc=0
"$RENRAKU" --now $NOW ingest "$fx"/2026-11-21-scan_ssh-noip-asn.csv \
	>/dev/null 2>err.txt || rc=$?
check "a missing required column exits 65" [ "$rc" -eq 65 ]
check "and names the column" grep -q "required column 'ip' is missing" err.txt

cp "$fx"/2026-11-21-scan_ssh-jp-asn.csv upload.csv
rc=0
"$RENRAKU" --now $NOW ingest upload.csv >/dev/null 2>err.txt || rc=$?
check "no type in the file name exits 65" [ "$rc" -eq 65 ]
rc=0
"$RENRAKU" --now $NOW ingest --json --format shadowserver:scan_ssh upload.csv \
	>out.json 2>err.txt || rc=$?
check "--format shadowserver:TYPE reads it" [ "$rc" -eq 0 ]
check "as duplicates of the same rows" [ "$(json_get out.json 'd["duplicates"]')" = 2 ]
rc=0
"$RENRAKU" ingest --format intelmq:scan_ssh upload.csv >/dev/null 2>&1 || rc=$?
check "only shadowserver takes a type (usage, 2)" [ "$rc" -eq 2 ]

# [ingest] shadowserver_schema and schema update
mkdir ss
cp "$RK_SOURCE_DIR"/data/shadowserver/intelmq.json ss/old.json
printf "\n[ingest]\nshadowserver_schema = ss/intelmq.json\n" >>renraku.conf
rc=0
# (from another directory: the path is relative to the configuration)
(cd / && "$RENRAKU" --now $NOW ingest "$fx"/2026-11-21-scan_dns-jp-asn.csv) >/dev/null 2>err.txt || rc=$?
check "a configured schema that is missing fails the file" [ "$rc" -eq 65 ]
check "and says which file" grep -q "cannot read the Shadowserver schema '$WORK/ss/intelmq.json'" err.txt
echo '{"_meta": {}}' >bad.json
rc=0
"$RENRAKU" schema update bad.json >/dev/null 2>err.txt || rc=$?
check "schema update refuses a schema with no report (65)" [ "$rc" -eq 65 ]
check "and installs nothing" [ ! -e ss/intelmq.json ]
rc=0
"$RENRAKU" schema update ss/old.json >out.txt 2>err.txt || rc=$?
check "schema update installs a valid schema" [ "$rc" -eq 0 ]
check "and says how many report types" grep -q "170 Shadowserver report types" out.txt
check "byte for byte" cmp -s ss/old.json ss/intelmq.json
rc=0
"$RENRAKU" --now 2026-11-26T00:00:00Z ingest --json "$fx"/2026-11-21-scan_dns-jp-asn.csv >out.json 2>err.txt || rc=$?
check "the installed schema is read" [ "$rc" -eq 0 ]
finish
