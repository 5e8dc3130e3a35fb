/* rk_bench_outcome_loop DB [stats]: the resolve stage's per-event UPDATE
 * (relay/store/events.c, store_events_resolve_outcomes: by rowid,
 * compare-and-set on state and retry_at) stepped for every 'new' event
 * of DB, 10,000 to a transaction as `run` commits them, each event set
 * to 'ticketed' with a chain id.  It writes DB: give it a copy of a
 * post-ingest database (bench/README.md, "The queue index without
 * ticketed events").  "stats": with SQLite's memory statistics on, as
 * before store_library_init.  Prints the rows and the time a row. */
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "renraku/store.h"

#define LOOP_BATCH 10000

/* bench_die with SQLite's message */
RK_NORETURN static void die(sqlite3 *db, const char *what)
{
	bench_die("outcome_loop: %s: %s", what,
		  db ? sqlite3_errmsg(db) : "failed");
}

int main(int argc, char **argv)
{
	static const char sql_ids[] =
		"SELECT id FROM events WHERE state = 'new' ORDER BY id";
	static const char sql_update[] =
		"UPDATE events SET state = ?4, chain_id = ?5, state_reason = ?6,"
		" retry_at = ?7 WHERE id = ?1 AND state = ?2 AND retry_at = ?3";
	bool stats = argc > 2 && strcmp(argv[2], "stats") == 0;
	sqlite3 *db = NULL;
	sqlite3_stmt *ids, *up;
	int64_t *id = NULL;
	size_t n = 0, cap = 0;
	long long changed = 0;
	double t0, t1;

	if (argc < 2) {
		fprintf(stderr, "usage: rk_bench_outcome_loop DB [stats]\n");
		return 2;
	}
	if (!stats)
		store_library_init();
	if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE |
				   SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK)
		die(db, "open");
	/* the run stage's pragmas (store_tune_for_batches) */
	if (sqlite3_exec(db, "PRAGMA synchronous = NORMAL;"
			     "PRAGMA cache_size = -32768;"
			     "PRAGMA wal_autocheckpoint = 8192",
			 NULL, NULL, NULL) != SQLITE_OK)
		die(db, "pragmas");
	if (sqlite3_prepare_v2(db, sql_ids, -1, &ids, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql_update, -1, &up, NULL) != SQLITE_OK)
		die(db, "prepare");
	while (sqlite3_step(ids) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			if (!(id = realloc(id, cap * sizeof(*id))))
				die(NULL, "memory");
		}
		id[n++] = sqlite3_column_int64(ids, 0);
	}
	sqlite3_finalize(ids);
	t0 = bench_now();
	for (size_t i = 0; i < n;) {
		if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
			die(db, "begin");
		for (size_t k = 0; k < LOOP_BATCH && i < n; k++, i++) {
			sqlite3_bind_int64(up, 1, id[i]);
			sqlite3_bind_text(up, 2, "new", -1, SQLITE_STATIC);
			sqlite3_bind_int64(up, 3, 0);
			sqlite3_bind_text(up, 4, "ticketed", -1, SQLITE_STATIC);
			sqlite3_bind_int64(up, 5, (sqlite3_int64)(id[i] % 1000 + 1));
			sqlite3_bind_null(up, 6);
			sqlite3_bind_int64(up, 7, 0);
			if (sqlite3_step(up) != SQLITE_DONE)
				die(db, "update");
			sqlite3_reset(up);
			changed += sqlite3_changes(db);
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			die(db, "commit");
	}
	t1 = bench_now();
	printf("outcome loop (%s): %lld rows in %.3f s, %.2f us a row\n",
	       stats ? "memory statistics on" : "store_library_init",
	       changed, t1 - t0,
	       changed ? (t1 - t0) / (double)changed * 1e6 : 0.0);
	sqlite3_finalize(up);
	sqlite3_close(db);
	free(id);
	return 0;
}
