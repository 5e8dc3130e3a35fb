/* A database made by an earlier main opens with this program and keeps
 * every row: the schema of each shipped version lives in
 * tests/fixtures/schema/vN.sql (filled with real rows, never edited). */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/tickets.h"
#include "testutil.h"

static const char *const v1_tables[] = {
	"reports", "events", "contacts", "suppressions", "resolutions",
	"ticket_seq", "tickets", "ticket_contacts", "ticket_events",
	"messages", "deliveries", "api_tokens", "audit_log",
};

static long long count_rows(sqlite3 *db, const char *table)
{
	char sql[128];
	sqlite3_stmt *stmt;
	long long n = -1;

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		n = sqlite3_column_int64(stmt, 0);
	sqlite3_finalize(stmt);
	return n;
}

/* A digest of a table's rows (every column, in rowid order). */
static long long table_digest(sqlite3 *db, const char *table)
{
	char sql[160];
	sqlite3_stmt *stmt;
	unsigned long long h = 1469598103934665603ULL;

	/* ticket_events has no rowid since version 13: its key orders it
	 * (the v1 rows were added in that order) */
	snprintf(sql, sizeof(sql), "SELECT * FROM %s ORDER BY %s", table,
		 strcmp(table, "tickets") == 0	       ? "id"
		 : strcmp(table, "ticket_events") == 0 ? "ticket_id, event_id"
						       : "rowid");
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK);
	while (sqlite3_step(stmt) == SQLITE_ROW) {
		for (int c = 0; c < sqlite3_column_count(stmt); c++) {
			const unsigned char *p = sqlite3_column_blob(stmt, c);
			int len = sqlite3_column_bytes(stmt, c);

			for (int i = 0; p && i < len; i++)
				h = (h ^ p[i]) * 1099511628211ULL;
			h = (h ^ 0xff) * 1099511628211ULL;
		}
	}
	sqlite3_finalize(stmt);
	return (long long)(h >> 1);
}

/* Open the old database at path with the program (which migrates it),
 * then reopen it raw: it is at the current schema version. */
static sqlite3 *migrate_and_reopen(const char *path, const struct rk_log *log)
{
	struct rk_store *store = NULL;
	sqlite3 *db;
	sqlite3_stmt *st;

	assert_int_equal(store_open(&store, path, 5000, log), RK_OK);
	store_close(store);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), store_schema_version());
	sqlite3_finalize(st);
	return db;
}

static void test_v1_database_opens(void **state)
{
	char *dir = rk_test_tmpdir(), *path = NULL, *fixture;
	struct rk_log log;
	struct rk_store *store = NULL;
	sqlite3 *db;
	long long before[RK_ARRAY_LEN(v1_tables)], digest[RK_ARRAY_LEN(v1_tables)];
	char *sql;
	size_t len;
	struct store_ticket *rows = NULL;
	size_t n = 0;
	struct store_timeline_row *tl = NULL;
	size_t ntl = 0;

	(void)state;
	rk_log_init(&log, RK_LOG_ERROR);
	fixture = rk_test_source_path("tests/fixtures/schema/v1.sql");
	sql = rk_test_read(fixture, &len);
	assert_int_equal(rk_path_join(dir, "old.db", &path), RK_OK);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	for (size_t i = 0; i < RK_ARRAY_LEN(v1_tables); i++) {
		before[i] = count_rows(db, v1_tables[i]);
		digest[i] = table_digest(db, v1_tables[i]);
	}
	assert_true(before[1] > 10 && before[6] > 5 && before[9] > 5);
	sqlite3_close(db);

	db = migrate_and_reopen(path, &log);
	for (size_t i = 0; i < RK_ARRAY_LEN(v1_tables); i++) {
		assert_int_equal(count_rows(db, v1_tables[i]), before[i]);
		/* events and deliveries got columns: their old columns are
		 * checked by the rows staying where they were */
		if (digest[i] && strcmp(v1_tables[i], "events") != 0 &&
		    strcmp(v1_tables[i], "deliveries") != 0)
			assert_true(table_digest(db, v1_tables[i]) == digest[i]);
	}
	/* every v1 event got its type's category */
	assert_int_equal(count_rows(db, "events WHERE category IS NULL"), 0);
	assert_int_equal(count_rows(db, "events WHERE type = 'phishing' AND category != 'phishing-site'"), 0);
	/* every v1 ticket has its history as timeline rows */
	assert_int_equal(count_rows(db, "ticket_timeline"),
			 before[6] /* created */ + 7 /* notified */ + 1 /* held */);
	sqlite3_close(db);

	/* and the program works on it */
	assert_int_equal(store_open(&store, path, 5000, &log), RK_OK);
	store_set_now(store, RK_TEST_NOW + 86400 * 30);
	assert_int_equal(store_tickets_list(store, STORE_TICKET_HELD, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(tickets_approve(store, &log, rows[0].id, "tester", false), RK_OK);
	assert_int_equal(store_ticket_timeline(store, rows[0].id, &tl, &ntl), RK_OK);
	assert_int_equal(ntl, 3);
	assert_string_equal(tl[2].cause, "approve");
	assert_string_equal(tl[2].actor, "tester");
	store_timeline_free(tl, ntl);
	store_tickets_free(rows, n);
	store_close(store);

	free(sql);
	free(fixture);
	free(path);
	rk_test_rmtree(dir);
	free(dir);
}

/* Every table of a version-N database, its columns at version N, and a
 * digest over those columns only, so that later migrations may add
 * columns but never change or lose what was there. */
struct table_snapshot {
	char name[64];
	char cols[1024]; /* "a, b, c" */
	long long rows;
	long long digest;
};

static size_t snapshot_tables(sqlite3 *db, struct table_snapshot *out,
			      size_t max)
{
	sqlite3_stmt *st;
	size_t n = 0;

	assert_int_equal(sqlite3_prepare_v2(db,
		"SELECT name FROM sqlite_master WHERE type = 'table' AND "
		"name NOT LIKE 'sqlite_%' ORDER BY name", -1, &st, NULL),
		SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && n < max) {
		snprintf(out[n].name, sizeof(out[n].name), "%s",
			 (const char *)sqlite3_column_text(st, 0));
		n++;
	}
	sqlite3_finalize(st);
	for (size_t i = 0; i < n; i++) {
		char sql[160];
		size_t used = 0;

		snprintf(sql, sizeof(sql), "PRAGMA table_info(%s)", out[i].name);
		assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
				 SQLITE_OK);
		out[i].cols[0] = '\0';
		while (sqlite3_step(st) == SQLITE_ROW) {
			int w = snprintf(out[i].cols + used,
					 sizeof(out[i].cols) - used, "%s%s",
					 used ? ", " : "",
					 (const char *)sqlite3_column_text(st, 1));
			assert_true(w > 0 && (size_t)w < sizeof(out[i].cols) - used);
			used += (size_t)w;
		}
		sqlite3_finalize(st);
	}
	return n;
}

static void measure_table(sqlite3 *db, struct table_snapshot *t)
{
	char sql[2 * sizeof(t->cols) + sizeof(t->name) + 32];
	sqlite3_stmt *st;
	unsigned long long h = 1469598103934665603ULL;
	int w;

	t->rows = 0;
	/* version 13 moved the events' data to a table of its own, under the
	 * same ids: the events are read with it, as one row each */
	w = snprintf(sql, sizeof(sql), "SELECT %s FROM %s ORDER BY %s", t->cols,
		     strcmp(t->name, "events") == 0 &&
				     count_rows(db, "sqlite_master WHERE name = "
						    "'event_data'") == 1
			     ? "(SELECT * FROM events JOIN event_data USING (id))"
			     : t->name,
		     t->cols);
	assert_true(w > 0 && (size_t)w < sizeof(sql));
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		t->rows++;
		for (int c = 0; c < sqlite3_column_count(st); c++) {
			const unsigned char *p = sqlite3_column_blob(st, c);
			int len = sqlite3_column_bytes(st, c);

			for (int i = 0; p && i < len; i++)
				h = (h ^ p[i]) * 1099511628211ULL;
			h = (h ^ 0xff) * 1099511628211ULL;
		}
	}
	sqlite3_finalize(st);
	t->digest = (long long)(h >> 1);
}

/* Schema version 12 rebuilt events around the dedup index (dedup_time,
 * dedup_key): an event stored before the upgrade is still found as a
 * duplicate by the key the normalizer gives it (dedup_time =
 * time_source), and a new key is not. */
static void check_dedup_across_upgrade(const char *path,
				       const struct rk_log *log)
{
	struct rk_store *store = NULL;
	struct store_event ev;
	sqlite3 *db;
	sqlite3_stmt *st;
	char *key, *type, *taxonomy;
	int64_t report_id, time_source;
	bool dup = false;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(count_rows(db, "sqlite_master WHERE type = 'index'"
					" AND name = 'events_by_dedup'"),
			 1);
	assert_int_equal(count_rows(db, "events WHERE dedup_time != time_source"),
			 0);
	assert_int_equal(sqlite3_prepare_v2(db,
					    "SELECT dedup_key, type, taxonomy,"
					    " report_id, time_source FROM events"
					    " ORDER BY id LIMIT 1",
					    -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	key = rk_strdup((const char *)sqlite3_column_text(st, 0));
	type = rk_strdup((const char *)sqlite3_column_text(st, 1));
	taxonomy = rk_strdup((const char *)sqlite3_column_text(st, 2));
	report_id = sqlite3_column_int64(st, 3);
	time_source = sqlite3_column_int64(st, 4);
	sqlite3_finalize(st);
	sqlite3_close(db);
	assert_non_null(key);

	assert_int_equal(store_open(&store, path, 5000, log), RK_OK);
	memset(&ev, 0, sizeof(ev));
	ev.report_id = report_id;
	ev.dedup_key = key;
	ev.type = type;
	ev.taxonomy = taxonomy;
	ev.data = (char *)"{}";
	ev.time_source = time_source;
	ev.dedup_time = time_source;
	assert_int_equal(store_begin(store), RK_OK);
	assert_int_equal(store_event_add(store, &ev, NULL, &dup), RK_OK);
	assert_true(dup);
	ev.dedup_key = (char *)"0000000000000000000000000000000000000000000000000000000000000000";
	assert_int_equal(store_event_add(store, &ev, NULL, &dup), RK_OK);
	assert_false(dup);
	assert_int_equal(store_commit(store), RK_OK);
	store_close(store);
	free(key);
	free(type);
	free(taxonomy);
}

/* Whether the query plan of sql names index. */
static bool plan_uses(sqlite3 *db, const char *sql, const char *index)
{
	char q[512];
	sqlite3_stmt *st;
	bool found = false;

	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	assert_int_equal(sqlite3_prepare_v2(db, q, -1, &st, NULL), SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *detail = (const char *)sqlite3_column_text(st, 3);

		if (detail && strstr(detail, index))
			found = true;
	}
	sqlite3_finalize(st);
	return found;
}

/* Load a shipped fixture (tests/fixtures/schema/NAME.sql) into a fresh
 * database, migrate it to the current version and check that every row of
 * every column it had is kept.  Returns the database path (caller frees;
 * *dir is the scratch directory to remove). */
static char *fixture_migrated(const char *name, size_t min_tables, char **dir)
{
	char rel[128], file[64], *path = NULL, *fixture, *sql;
	struct rk_log log;
	sqlite3 *db;
	struct table_snapshot before[48], after;
	size_t nt, len;

	rk_log_init(&log, RK_LOG_ERROR);
	*dir = rk_test_tmpdir();
	snprintf(rel, sizeof(rel), "tests/fixtures/schema/%s.sql", name);
	snprintf(file, sizeof(file), "%s.db", name);
	fixture = rk_test_source_path(rel);
	sql = rk_test_read(fixture, &len);
	assert_int_equal(rk_path_join(*dir, file, &path), RK_OK);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	nt = snapshot_tables(db, before, RK_ARRAY_LEN(before));
	assert_true(nt >= min_tables);
	for (size_t i = 0; i < nt; i++)
		measure_table(db, &before[i]);
	sqlite3_close(db);

	db = migrate_and_reopen(path, &log);
	for (size_t i = 0; i < nt; i++) {
		after = before[i];
		measure_table(db, &after);
		if (after.rows != before[i].rows || after.digest != before[i].digest)
			fail_msg("%s: table %s changed in migration", name,
				 before[i].name);
	}
	/* version 13: every event has its data row, and ticket_events is
	 * clustered by its key */
	assert_int_equal(count_rows(db, "events"), count_rows(db, "event_data"));
	assert_int_equal(count_rows(db, "events e WHERE NOT EXISTS (SELECT 1"
					" FROM event_data d WHERE d.id = e.id)"),
			 0);
	assert_int_equal(count_rows(db, "sqlite_master WHERE name = "
					"'ticket_events' AND sql LIKE "
					"'%WITHOUT ROWID%'"),
			 1);
	/* version 14: events_by_state holds the queued states only, and
	 * the stages' queue reads (their state a literal) still use it */
	assert_int_equal(count_rows(db, "sqlite_master WHERE name = "
					"'events_by_state' AND sql LIKE "
					"'%WHERE state = ''new''%'"),
			 1);
	assert_true(plan_uses(db, "SELECT e.id FROM events e WHERE"
				  " e.state = 'new' AND e.id > 0"
				  " ORDER BY e.id LIMIT 10",
			      "events_by_state"));
	assert_true(plan_uses(db, "SELECT e.id FROM events e WHERE"
				  " e.state = 'unresolved' AND e.id > 0"
				  " AND e.retry_at <= 5 ORDER BY e.id LIMIT 10",
			      "events_by_state"));
	sqlite3_close(db);
	free(sql);
	free(fixture);
	return path;
}

/* A shipped fixture opens, reaches the current version, keeps every row
 * of every column it had (fixture_migrated), and the program carries on
 * with it: its one held ticket can be approved (signed only when
 * cleartext), and events stored before the upgrade are still found as
 * duplicates.  now_days: how long after RK_TEST_NOW the decision is. */
static void fixture_carries_on(const char *name, size_t min_tables,
			       int now_days, bool cleartext)
{
	char *dir = NULL, *path;
	struct rk_log log;
	struct rk_store *store = NULL;
	struct store_ticket *rows = NULL;
	size_t n = 0;

	rk_log_init(&log, RK_LOG_ERROR);
	path = fixture_migrated(name, min_tables, &dir);
	assert_int_equal(store_open(&store, path, 5000, &log), RK_OK);
	store_set_now(store, RK_TEST_NOW + 86400LL * now_days);
	assert_int_equal(store_tickets_list(store, STORE_TICKET_HELD, &rows, &n),
			 RK_OK);
	assert_int_equal(n, 1);
	assert_int_equal(tickets_approve(store, &log, rows[0].id, "tester",
					 cleartext),
			 RK_OK);
	store_tickets_free(rows, n);
	store_close(store);
	check_dedup_across_upgrade(path, &log);
	free(path);
	rk_test_rmtree(dir);
	free(dir);
}

/* Schema version 2 (the demo, an unresolved event put back for retry, a
 * held TLP:AMBER ticket). */
static void test_v2_database_opens(void **state)
{
	(void)state;
	fixture_carries_on("v2", 15, 30, false);
}

/* Schema version 10 (a three-month history: replies, bounces,
 * escalations, inbound mail, an API token; its held ticket is AMBER
 * without a recipient key, so it is approved for cleartext). */
static void test_v10_database_opens(void **state)
{
	(void)state;
	fixture_carries_on("v10", 26, 60, true);
}

/* Schema version 13 (the v10 history opened by the program of that
 * version, new events and two more runs: event_data and the clustered
 * ticket_events written natively; the same held AMBER ticket). */
static void test_v13_database_opens(void **state)
{
	(void)state;
	fixture_carries_on("v13", 27, 60, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v1_database_opens),
		cmocka_unit_test(test_v2_database_opens),
		cmocka_unit_test(test_v10_database_opens),
		cmocka_unit_test(test_v13_database_opens),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
