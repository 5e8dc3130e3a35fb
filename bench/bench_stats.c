/*
 * bench_stats: the quarter's report (stats_compute, what `renraku stats`
 * prints) on a history of 1,000,000 events and 100,000 tickets over two
 * quarters (2026Q3 and 2026Q4), next to a SELECT count(*) over the same
 * rows in the same run: the events, tickets, messages and timeline rows
 * of the quarter, counted through the same time indexes.
 *
 * The history is written straight into a store's schema with SQL
 * (recursive CTEs, one transaction): the report only reads rows, and
 * building a million events through ingest would measure ingest.
 * RK_BENCH_STATS_EVENTS / RK_BENCH_STATS_TICKETS change the sizes.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "renraku/stats.h"
#include "renraku/store.h"

static void sql_ok(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		bench_die("stats: %s: %s", what, db ? sqlite3_errmsg(db) : "?");
}

/* ?1 = start of 2026Q3, ?2 = two quarters in seconds, ?3 events,
 * ?4 tickets.  A ticket holds 10 events of one AS; contacts are
 * abuseN@orgN.example, N = ticket % 10,000, AS 64512 + ticket % 1,000. */
static const char *const gen_sql[] = {
	"WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s"
	" WHERE value < ?3 / 100) "
	"INSERT INTO reports (id, received_at, format, source_name, reporter, events)"
	" SELECT value, ?1 + (value - 1) * ?2 / (?3 / 100), 'intelmq', 'gen',"
	" 'feed' || (value % 20), 100 FROM s",
	"WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s"
	" WHERE value < ?3) "
	"INSERT INTO events (id, report_id, dedup_key, time_source, type, taxonomy,"
	" source_ip, source_asn, tlp, severity, state, created_at, category)"
	" SELECT value, 1 + (value - 1) / 100, 'k' || value,"
	" ?1 + (value - 1) * ?2 / ?3, 'scanner', 'information-gathering',"
	" '10.' || (value % 250) || '.' || (value / 250 % 250) || '.1',"
	" 64512 + ((value - 1) / 10) % 1000, 1, 2,"
	" CASE WHEN value % 97 = 0 THEN 'withheld' WHEN value % 50 = 0"
	"  THEN 'suppressed' ELSE 'ticketed' END,"
	" ?1 + (value - 1) * ?2 / ?3,"
	" CASE value % 16 WHEN 0 THEN 'phishing-site' WHEN 1 THEN 'website-defacement'"
	"  WHEN 2 THEN 'malware-site' WHEN 3 THEN 'dos' WHEN 4 THEN 'ics'"
	"  WHEN 5 THEN 'targeted-attack' WHEN 6 THEN 'other' ELSE 'scan' END"
	" FROM s",
	"INSERT INTO event_data (id, data) SELECT id, '{}' FROM events",
	"WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s"
	" WHERE value < ?4) "
	"INSERT INTO tickets (id, state, level, contact, template, lang, tlp,"
	" severity, created_at, send_after, notified_at, event_count, updated_at)"
	" SELECT printf('T%07d', value), CASE WHEN value % 10 < 6 THEN 'acknowledged'"
	"  WHEN value % 10 = 6 THEN 'auto-acknowledged' WHEN value % 10 = 7"
	"  THEN 'disputed' ELSE 'expired' END, 0,"
	" 'abuse' || (value % 10000) || '@org' || (value % 10000) || '.example',"
	" 'scanner', 'en', 1, 2, ?1 + (value - 1) * ?2 / ?4,"
	" ?1 + (value - 1) * ?2 / ?4, ?1 + (value - 1) * ?2 / ?4 + 60, 10,"
	" ?1 + (value - 1) * ?2 / ?4 FROM s",
	"INSERT INTO ticket_contacts (ticket_id, level, email, source)"
	" SELECT id, 0, contact, 'local' FROM tickets",
	"WITH RECURSIVE s(value) AS (SELECT 1 UNION ALL SELECT value + 1 FROM s"
	" WHERE value < ?3) "
	"INSERT INTO ticket_events (ticket_id, event_id, added_at)"
	" SELECT printf('T%07d', 1 + (value - 1) / (?3 / ?4)), value, 0"
	" FROM s",
	"INSERT INTO messages (id, ticket_id, direction, kind, message_id, rcpt,"
	" state, created_at, sent_at)"
	" SELECT rowid, id, 'out', 'notice', '<n' || rowid || '@bench>', contact,"
	" 'sent', notified_at, notified_at FROM tickets",
	"INSERT INTO messages (id, ticket_id, direction, kind, message_id, rcpt,"
	" state, created_at, sent_at)"
	" SELECT ?4 + rowid, id, 'out', 'reminder', '<r' || rowid || '@bench>',"
	" contact, 'sent', notified_at + 86400, notified_at + 86400 FROM tickets"
	" WHERE state = 'expired'",
	"INSERT INTO deliveries (message_row, rcpt, state, updated_at)"
	" SELECT id, rcpt, CASE WHEN id % 25 = 0 THEN 'bounced' WHEN id % 50 = 1"
	" THEN 'deferred' ELSE 'sent' END, created_at FROM messages",
	"INSERT INTO ticket_timeline (ticket_id, at, from_state, to_state, level,"
	" actor, cause) SELECT id, created_at, NULL, 'open', 0, 'run', 'created'"
	" FROM tickets",
	"INSERT INTO ticket_timeline (ticket_id, at, from_state, to_state, level,"
	" actor, cause) SELECT id, notified_at, 'open', 'notified', 0, 'run',"
	" 'notice-queued' FROM tickets",
	"INSERT INTO ticket_timeline (ticket_id, at, from_state, to_state, level,"
	" actor, cause) SELECT id, notified_at + (rowid * 7919) % 259200,"
	" 'notified', state, 0, 'inbound', CASE state WHEN 'acknowledged'"
	" THEN 'reply' WHEN 'auto-acknowledged' THEN 'auto-reply' WHEN 'disputed'"
	" THEN 'ack' ELSE 'no-answer' END FROM tickets",
};

/* events through events_by_category (schema 11: the one index of events
 * by time), a range for each category, as the report counts them */
static const char count_sql[] =
	"WITH RECURSIVE c(x) AS (SELECT (SELECT min(category) FROM events)"
	" UNION ALL SELECT (SELECT min(category) FROM events WHERE category > c.x)"
	" FROM c WHERE c.x IS NOT NULL) "
	"SELECT (SELECT sum((SELECT count(*) FROM events e WHERE e.category = c.x"
	" AND e.created_at >= ?1 AND e.created_at < ?2)) FROM c WHERE c.x IS NOT NULL)"
	" + (SELECT count(*) FROM tickets WHERE created_at >= ?1 AND created_at < ?2)"
	" + (SELECT count(*) FROM messages WHERE created_at >= ?1 AND created_at < ?2)"
	" + (SELECT count(*) FROM ticket_timeline WHERE at >= ?1 AND at < ?2)";

static void generate(const char *path, int64_t q3, int64_t span,
		     long long events, long long tickets)
{
	const long long vals[4] = {q3, span, events, tickets};
	sqlite3 *db = NULL;
	double t0 = bench_now();

	sql_ok(NULL, sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), "open");
	sql_ok(db, sqlite3_exec(db, "PRAGMA synchronous = OFF; BEGIN", NULL, NULL, NULL),
	       "begin");
	for (size_t i = 0; i < sizeof(gen_sql) / sizeof(gen_sql[0]); i++) {
		sqlite3_stmt *st = NULL;

		sql_ok(db, sqlite3_prepare_v2(db, gen_sql[i], -1, &st, NULL), gen_sql[i]);
		for (int p = 1; p <= sqlite3_bind_parameter_count(st) && p <= 4; p++)
			sqlite3_bind_int64(st, p, vals[p - 1]);
		sql_ok(db, sqlite3_step(st), gen_sql[i]);
		sqlite3_finalize(st);
	}
	sql_ok(db, sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), "commit");
	sqlite3_close(db);
	fprintf(stderr, "stats: generated %lld events, %lld tickets in %.1f s\n",
		events, tickets, bench_now() - t0);
}

static long long count_rows(const char *path, int64_t since, int64_t until,
			    double *secs)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	long long n;
	double t0;

	sql_ok(NULL, sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), "open");
	sql_ok(db, sqlite3_prepare_v2(db, count_sql, -1, &st, NULL), "count");
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int64(st, 2, until);
	t0 = bench_now();
	sql_ok(db, sqlite3_step(st), "count");
	n = sqlite3_column_int64(st, 0);
	*secs = bench_now() - t0;
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

int main(void)
{
	long long events = bench_env_ll("RK_BENCH_STATS_EVENTS", 1000000);
	long long tickets = bench_env_ll("RK_BENCH_STATS_TICKETS", 100000);
	struct rk_log log;
	struct rk_store *store = NULL;
	char *dir = bench_tmpdir();
	char *path = bench_join(dir, "stats.db");
	int64_t q3, q3_end, q4, q4_end;
	double best = 1e9, best_ref = 1e9;
	long long rows = 0;
	struct stats_report r;
	char measured[128], reference[160], ratio[64], detail[512];

	if (events < 1000 || tickets < 10 || events % tickets)
		bench_die("stats: events must be a multiple of tickets");
	rk_log_init(&log, RK_LOG_WARN);
	bench_check(stats_quarter_parse("2026Q3", &q3, &q3_end), "quarter");
	bench_check(stats_quarter_parse("2026Q4", &q4, &q4_end), "quarter");
	/* the schema, migrations and all, as renraku init makes it */
	bench_check(store_open(&store, path, 5000, &log), "store_open");
	store_close(store);
	generate(path, q3, q4_end - q3, events, tickets);
	for (int run = 0; run < 3; run++) {
		double t0, tr;

		rows = count_rows(path, q4, q4_end, &tr);
		if (tr < best_ref)
			best_ref = tr;
		bench_check(store_open(&store, path, 5000, &log), "store_open");
		t0 = bench_now();
		bench_check(stats_compute(store, q4, q4_end, "en", 5, &r), "stats_compute");
		t0 = bench_now() - t0;
		if (t0 < best)
			best = t0;
		fprintf(stderr, "stats: run %d: report %.3f s, count(*) %.3f s "
				"(%lld events, %lld tickets, %zu answer times in Q4)\n",
			run + 1, t0, tr, r.cur.events, r.cur.tickets, r.n_delays);
		if (run == 2) {
			snprintf(detail, sizeof(detail),
				 "DETAIL|stats: Q4 of %lld events / %lld tickets: "
				 "%lld events, %lld tickets, %lld notices, %zu+%zu "
				 "networks ranked; count(*) read %lld rows",
				 events, tickets, r.cur.events, r.cur.tickets,
				 r.cur.notices, r.n_least[0], r.n_least[1], rows);
			puts(detail);
		}
		stats_report_release(&r);
		if (run == 2) {
			/* where the time goes */
			struct store_stats_counts cnt;
			struct store_stats_group *g;
			struct store_stats_facts facts;
			struct store_responsiveness_row *rr;
			size_t n;
			double t0p, t1, t2, t3, t4, t5;

			t0p = bench_now();
			bench_check(store_stats_totals_get(store, q3, q4, &cnt), "totals");
			t1 = bench_now();
			bench_check(store_stats_counts_get(store, q4, q4_end, &cnt), "counts");
			t2 = bench_now();
			bench_check(store_stats_groups(store, STORE_STATS_EVENTS_BY_MONTH_CATEGORY,
						       q4, q4_end, &g, &n), "groups");
			free(g);
			t3 = bench_now();
			bench_check(store_stats_facts_get(store, q4, q4_end, &facts), "facts");
			t4 = bench_now();
			bench_check(stats_networks(&facts, false, &rr, &n), "addr");
			free(rr);
			t5 = bench_now();
			bench_check(stats_networks(&facts, true, &rr, &n), "asn");
			free(rr);
			snprintf(detail, sizeof(detail),
				 "DETAIL|stats: counts %.3f s (the previous quarter's totals "
				 "%.3f s), events by month and category %.3f s, the tickets' "
				 "timeline, contacts and ASes read %.3f s, addresses ranked "
				 "%.3f s, ASes ranked %.3f s",
				 t2 - t1, t1 - t0p, t3 - t2, t4 - t3, t5 - t4, bench_now() - t5);
			puts(detail);
			store_stats_facts_release(&facts);
		}
		store_close(store);
	}
	snprintf(measured, sizeof(measured), "%.3f s (quarter report)", best);
	snprintf(reference, sizeof(reference), "%.3f s (SELECT count(*), same rows)",
		 best_ref);
	snprintf(ratio, sizeof(ratio), "%.1fx", best / best_ref);
	bench_row("stats (1M events, 100k tickets)", measured, reference, ratio,
		  "< 2 s", best < 2.0 ? "ok" : "MISS");
	if (getenv("RK_BENCH_KEEP"))
		fprintf(stderr, "stats: kept %s\n", path);
	else
		bench_rmtree(dir);
	free(path);
	free(dir);
	return 0;
}
