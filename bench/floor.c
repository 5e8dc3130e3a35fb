/* The store's floor, shared by bench_ingest and bench_e2e: the rows of
 * an ingested database re-inserted into a fresh one by a bare loop (one
 * prepared INSERT ... ON CONFLICT DO NOTHING with the store's conflict
 * target, commits at ingest's points, the pragmas ingest sets); only the
 * inserts and commits are timed. */
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

#include "bench.h"
#include "renraku/ingest.h"
#include "renraku/store.h"

void bench_remove_db(const char *db)
{
	char side[4096];

	unlink(db);
	snprintf(side, sizeof(side), "%s-wal", db);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", db);
	unlink(side);
}

#define FLOOR_CHUNK INGEST_BATCH
#define FLOOR_COLS 18

/* the rows as the store keeps them (schema 13): the event, and its
 * data in event_data under the same id */
static const char floor_select[] =
	"SELECT e.dedup_key, e.time_source, e.type, e.taxonomy, e.identifier, "
	"e.feed_name, e.source_ip, e.source_fqdn, e.source_url, e.source_cc, "
	"e.source_asn, e.tlp, e.severity, d.data, e.created_at, e.category, "
	"e.dedup_time, e.id "
	"FROM events e JOIN event_data d ON d.id = e.id "
	"WHERE e.id > ?1 ORDER BY e.id LIMIT ?2";
static const char floor_insert[] =
	"INSERT INTO events (report_id, dedup_key, time_source, type,"
	" taxonomy, identifier, feed_name, source_ip, source_fqdn,"
	" source_url, source_cc, source_asn, tlp, severity, state,"
	" created_at, category, dedup_time)"
	" VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12,"
	" ?13, 'new', ?15, ?16, ?17)"
	" ON CONFLICT(dedup_time, dedup_key) DO NOTHING";
static const char floor_insert_data[] =
	"INSERT INTO event_data (id, data) VALUES (?1, ?2)";

static void sql_ok(sqlite3 *db, int rc, const char *what)
{
	if (rc != SQLITE_OK && rc != SQLITE_DONE && rc != SQLITE_ROW)
		bench_die("floor: %s: %s", what, sqlite3_errmsg(db));
}

static void sql_exec(sqlite3 *db, const char *sql)
{
	sql_ok(db, sqlite3_exec(db, sql, NULL, NULL, NULL), sql);
}

double bench_insert_floor(const char *src_path, const char *dst_path,
			  long long *events)
{
	struct rk_store *store = NULL;
	struct rk_log log;
	sqlite3 *src = NULL, *dst = NULL;
	sqlite3_stmt *sel = NULL, *ins = NULL, *ins_data = NULL;
	sqlite3_value **rows = calloc((size_t)FLOOR_CHUNK * FLOOR_COLS,
				      sizeof(*rows));
	long long last = 0, n;
	size_t bytes;
	double t = 0, t0;

	if (!rows)
		bench_die("out of memory");
	rk_log_init(&log, RK_LOG_ERROR);
	bench_remove_db(dst_path);
	bench_check(store_open(&store, dst_path, 5000, &log), "store_open");
	store_close(store);
	sql_ok(NULL, sqlite3_open_v2(src_path, &src, SQLITE_OPEN_READONLY, NULL),
	       "open source");
	sql_ok(NULL, sqlite3_open_v2(dst_path, &dst, SQLITE_OPEN_READWRITE,
				     NULL),
	       "open");
	sql_exec(dst, "PRAGMA journal_mode = WAL");
	sql_exec(dst, "PRAGMA synchronous = NORMAL");
	sql_exec(dst, "PRAGMA cache_size = -32768");
	sql_exec(dst, "PRAGMA foreign_keys = ON");
	sql_exec(dst, "PRAGMA temp_store = MEMORY");
	/* what ingest sets for its run (store_ingest_start) */
	sql_exec(dst, store_ingest_pragmas());
	sql_exec(dst, "INSERT INTO reports (received_at, format, source_name)"
		      " VALUES (1, 'bench', 'bench')");
	sql_ok(src, sqlite3_prepare_v2(src, floor_select, -1, &sel, NULL),
	       "prepare select");
	sql_ok(dst, sqlite3_prepare_v2(dst, floor_insert, -1, &ins, NULL),
	       "prepare insert");
	sql_ok(dst, sqlite3_prepare_v2(dst, floor_insert_data, -1, &ins_data,
				       NULL),
	       "prepare insert data");
	*events = 0;
	do {
		n = 0;
		sqlite3_bind_int64(sel, 1, last);
		sqlite3_bind_int(sel, 2, FLOOR_CHUNK);
		bytes = 0;
		while (bytes < INGEST_BATCH_BYTES &&
		       sqlite3_step(sel) == SQLITE_ROW) {
			for (int c = 0; c < FLOOR_COLS - 1; c++)
				rows[n * FLOOR_COLS + c] =
					sqlite3_value_dup(sqlite3_column_value(sel, c));
			/* ingest commits by the data's bytes too */
			bytes += (size_t)sqlite3_column_bytes(sel, 13);
			last = sqlite3_column_int64(sel, FLOOR_COLS - 1);
			n++;
		}
		sqlite3_reset(sel);
		t0 = bench_now();
		sql_exec(dst, "BEGIN IMMEDIATE");
		for (long long i = 0; i < n; i++) {
			for (int c = 0; c < FLOOR_COLS - 1; c++)
				sqlite3_bind_value(ins, c + 1,
						   rows[i * FLOOR_COLS + c]);
			sql_ok(dst, sqlite3_step(ins), "insert");
			sqlite3_reset(ins);
			if (sqlite3_changes(dst) == 0)
				continue; /* a duplicate: no data row */
			sqlite3_bind_int64(ins_data, 1,
					   sqlite3_last_insert_rowid(dst));
			sqlite3_bind_value(ins_data, 2, rows[i * FLOOR_COLS + 13]);
			sql_ok(dst, sqlite3_step(ins_data), "insert data");
			sqlite3_reset(ins_data);
		}
		sql_exec(dst, "COMMIT");
		t += bench_now() - t0;
		for (long long i = 0; i < n * FLOOR_COLS; i++) {
			sqlite3_value_free(rows[i]);
			rows[i] = NULL;
		}
		*events += n;
	} while (n == FLOOR_CHUNK || bytes >= INGEST_BATCH_BYTES);
	sqlite3_finalize(sel);
	sqlite3_finalize(ins);
	sqlite3_finalize(ins_data);
	sqlite3_close(src);
	sqlite3_close(dst);
	free(rows);
	return t;
}

