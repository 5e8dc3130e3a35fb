#!/usr/bin/env bash
# The stored rows stay what they were: the fixtures below, ingested by the
# normalizer as it was before the ingest speed work (commit 31601b8),
# gave tests/fixtures/golden/rows.tsv (every column ingest writes, the
# normalized JSON in events.data included).  The same files ingested now
# must give the same rows byte for byte, so that databases filled before
# keep deduplicating against new ingests.  (Regenerate rows.tsv only for
# a deliberate change of the normalized form, and say so.)
. "$(dirname "$0")/lib.sh"

G=$RK_FIXTURES/golden
F=$RK_FIXTURES
export RENRAKU_CONFIG=$WORK/renraku.conf
R() { "$RENRAKU" --db "$WORK/g.db" "$@"; }

check "init" R init --from csirt@example.org
# exit 65: one file of the list lacks a required column (as it did then)
R --now 2026-12-01T00:00:00Z ingest --json "$G/mixed.jsonl" \
	"$F/intelmq/sample.jsonl" "$F/intelmq/array.json" \
	"$F"/shadowserver/*.csv "$G/lines.jsonl" "$G/array.json" \
	"$G/wide.jsonl" "$G/2026-11-20-scan_http-bench-asn.csv" \
	>"$WORK/out.json" 2>"$WORK/err" || true
check "ingest counts as before" /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(0 if (d["events"], d["duplicates"], d["rejected"]) == (497, 4, 4) else 1)' "$WORK/out.json"
sqlite3 -separator '	' "$WORK/g.db" "select dedup_key, type, taxonomy,
	coalesce(identifier,''), coalesce(feed_name,''), coalesce(source_ip,''),
	coalesce(source_fqdn,''), coalesce(source_url,''), coalesce(source_cc,''),
	coalesce(source_asn,''), tlp, severity, time_source,
	coalesce(category,''), data from events join event_data using (id)
	order by id" >"$WORK/rows.tsv"
check "497 rows" test "$(wc -l <"$WORK/rows.tsv")" -eq 497
if cmp -s "$G/rows.tsv" "$WORK/rows.tsv"; then
	ok "stored rows identical to the golden ones"
else
	not_ok "stored rows differ from the golden ones"
	diff "$G/rows.tsv" "$WORK/rows.tsv" | head -n 20 >&2
fi

# A file large enough for the reading thread (64 KB or more): rejected
# records are listed in input order with their lines, the good ones kept.
"$PY" - "$WORK/threaded.jsonl" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(1, 3001):
        if i in (5, 700, 1999, 3000):
            f.write('{"time.source": "2026-11-20T00:00:00Z", "classification.type": "nope", "source.ip": "192.0.2.1"}\n' if i != 1999 else '{"broken": \n')
        else:
            f.write('{"time.source":"2026-11-20T%02d:%02d:%02dZ","classification.type":"scanner","source.ip":"10.1.%d.%d","extra.pad":"%s"}\n'
                    % (i // 3600, i // 60 % 60, i % 60, i // 256, i % 256, "p" * 40))
PY
R --now 2026-12-01T00:00:00Z ingest --json "$WORK/threaded.jsonl" >"$WORK/t.json" 2>/dev/null || true
check "threaded: errors in input order, good records kept" "$PY" -c '
import json, sys
d = json.load(open(sys.argv[1]))
lines = [e["line"] for e in d["errors"]]
ok = lines == [5, 700, 1999, 3000] and d["events"] == 2996 and d["rejected"] == 4
ok = ok and d["errors"][2]["reason"].startswith("line is not valid JSON")
sys.exit(0 if ok else 1)' "$WORK/t.json"
finish
