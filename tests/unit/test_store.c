/* The store itself: schema version, refusal of a newer database, WAL,
 * the runner lock, per-day ticket ids. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "testutil.h"

static struct rk_log quiet = {RK_LOG_ERROR, NULL};

static char *db_path(const char *dir)
{
	char *p = NULL;

	assert_int_equal(rk_path_join(dir, "test.db", &p), RK_OK);
	return p;
}

static int query_int(const char *path, const char *sql)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int v = -1;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

static void test_migrate_and_newer(void **state)
{
	char *dir = rk_test_tmpdir(), *path = db_path(dir);
	struct rk_store *store = rk_test_store(dir, &quiet);
	sqlite3 *db = NULL;
	char sql[64];

	(void)state;
	store_close(store);
	assert_int_equal(query_int(path, "PRAGMA user_version"),
			 store_schema_version());
	assert_int_equal(query_int(path, "SELECT count(*) FROM sqlite_master WHERE "
					 "type = 'table' AND name IN ('reports', 'events', "
					 "'contacts', 'resolutions', 'tickets', 'ticket_events', "
					 "'messages', 'suppressions', 'audit_log')"),
			 9);
	/* reopening an up-to-date database changes nothing */
	store = rk_test_store(dir, &quiet);
	store_close(store);
	/* a database from a newer renraku is refused, and left untouched */
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
		 store_schema_version() + 1);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	store = NULL;
	assert_int_equal(store_open(&store, path, 1000, &quiet), RK_ERR_DB_NEWER);
	assert_null(store);
	assert_int_equal(query_int(path, "PRAGMA user_version"),
			 store_schema_version() + 1);
	free(path);
	rk_test_rmtree(dir);
	free(dir);
}

static void test_wal_and_lock(void **state)
{
	char *dir = rk_test_tmpdir(), *path = db_path(dir);
	struct rk_store *a = rk_test_store(dir, &quiet), *b = NULL;
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;

	(void)state;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
	sqlite3_finalize(st);
	sqlite3_close(db);

	b = rk_test_store(dir, &quiet);
	assert_int_equal(store_runner_lock(a, false), RK_OK);
	assert_int_equal(store_runner_lock(a, false), RK_OK); /* again: no-op */
	assert_int_equal(store_runner_lock(b, false), RK_ERR_BUSY);
	store_close(a); /* releases it */
	assert_int_equal(store_runner_lock(b, false), RK_OK);
	store_close(b);
	free(path);
	rk_test_rmtree(dir);
	free(dir);
}

static void test_ticket_ids(void **state)
{
	char *dir = rk_test_tmpdir();
	struct rk_store *store = rk_test_store(dir, &quiet);
	struct store_ticket t;
	const int64_t day1 = 1795169700LL; /* 2026-11-20 */

	(void)state;
	for (int i = 0; i < 3; i++) {
		memset(&t, 0, sizeof(t));
		t.contact = "a@b.example";
		t.template_name = "default";
		t.lang = "en";
		t.created_at = day1 + (i == 2 ? 86400 : i);
		t.send_after = t.created_at;
		assert_int_equal(store_begin(store), RK_OK);
		assert_int_equal(store_ticket_create(store, &t), RK_OK);
		assert_int_equal(store_commit(store), RK_OK);
		assert_string_equal(t.id, i == 0 ? "20261120-000001"
				       : i == 1 ? "20261120-000002"
						: "20261121-000001");
	}
	assert_int_equal(store_ticket_get(store, "20261120-000002", &t), RK_OK);
	assert_string_equal(t.state, STORE_TICKET_OPEN);
	store_ticket_release(&t);
	assert_int_equal(store_ticket_get(store, "20261120-000009", &t),
			 RK_ERR_NOTFOUND);
	/* notified only once: the change is compare-and-set, so a second
	 * one from open fails and must be rolled back */
	{
		struct store_ticket_change ch = {
			.id = "20261120-000001", .from = STORE_TICKET_OPEN,
			.to = STORE_TICKET_NOTIFIED, .cause = "notice-queued",
			.level = -1, .notified = true,
		};

		assert_int_equal(store_begin(store), RK_OK);
		assert_int_equal(store_ticket_change(store, &ch), RK_OK);
		assert_int_equal(store_ticket_change(store, &ch), RK_ERR_EXISTS);
		ch.id = "20261120-000009";
		assert_int_equal(store_ticket_change(store, &ch), RK_ERR_NOTFOUND);
	}
	store_rollback(store);
	store_close(store);
	rk_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_migrate_and_newer),
		cmocka_unit_test(test_wal_and_lock),
		cmocka_unit_test(test_ticket_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
