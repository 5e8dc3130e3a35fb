/* Reports and events: the ingest hot path (store_event_add) and the reads
 * the later stages make. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "private.h"

/* Text bound without a copy: the caller's strings outlive the step. */
static int bind_static(sqlite3_stmt *stmt, int idx, const char *text)
{
	if (!text)
		return sqlite3_bind_null(stmt, idx);
	return sqlite3_bind_text(stmt, idx, text, -1, SQLITE_STATIC);
}

/* ------------------------------------------------------------ reports */

enum rk_err store_report_add(struct rk_store *store,
			     const struct store_report *report,
			     int64_t *id_out)
{
	static const char sql[] =
		"INSERT INTO reports (received_at, format, source_name, reporter)"
		" VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, store->now);
	bind_static(stmt, 2, report->format);
	bind_static(stmt, 3, report->source_name ? report->source_name : "-");
	bind_static(stmt, 4, report->reporter);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "add report");
	if (id_out)
		*id_out = sqlite3_last_insert_rowid(store->db);
	return RK_OK;
}

enum rk_err store_report_finish(struct rk_store *store, int64_t report_id,
				long long events, long long duplicates,
				long long rejected)
{
	static const char sql[] =
		"UPDATE reports SET events = ?2, duplicates = ?3, rejected = ?4"
		" WHERE id = ?1";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, report_id);
	sqlite3_bind_int64(stmt, 2, events);
	sqlite3_bind_int64(stmt, 3, duplicates);
	sqlite3_bind_int64(stmt, 4, rejected);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "finish report");
	if (sqlite3_changes(store->db) == 0)
		return rk_fail(store->log, RK_ERR_NOTFOUND,
			       "database: no report %lld", (long long)report_id);
	return RK_OK;
}

/* ------------------------------------------------------------ events */

void store_event_release(struct store_event *ev)
{
	if (!ev)
		return;
	free(ev->dedup_key);
	free(ev->type);
	free(ev->taxonomy);
	free(ev->identifier);
	free(ev->feed_name);
	free(ev->source_ip);
	free(ev->source_fqdn);
	free(ev->source_url);
	free(ev->source_cc);
	free(ev->data);
	free(ev->state);
	free(ev->state_reason);
	free(ev->chain);
	free(ev->chain_contact);
	free(ev->category);
	memset(ev, 0, sizeof(*ev));
}

void store_events_free(struct store_event *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		store_event_release(&rows[i]);
	free(rows);
}

/* A bulk insert's settings.  The page cache: the dedup key's unique
 * index takes its inserts in random order, so every batch touches leaf
 * pages all over it; with the 32 MiB store_open sets, the table's new
 * pages push them out and they are read back from the WAL.  The WAL:
 * checkpoints copy each page once however often the batches wrote it,
 * so fewer of them copy the index pages fewer times.  Foreign keys: the
 * one reference an event row makes on insert is its report_id, the
 * report this connection added in the same run (chain_id is NULL). */
static const char ingest_pragmas[] =
	"PRAGMA cache_size = -131072;"
	"PRAGMA wal_autocheckpoint = 16384;"
	"PRAGMA foreign_keys = OFF;";
/* What store_open set (db.c). */
static const char ingest_restore[] =
	"PRAGMA cache_size = -32768;"
	"PRAGMA wal_autocheckpoint = 1000;"
	"PRAGMA foreign_keys = ON;";

/* WAL pages after a commit that start a checkpoint: ingest_pragmas'
 * wal_autocheckpoint. */
#define INGEST_CHECKPOINT_PAGES 16384

const char *store_ingest_pragmas(void)
{
	return ingest_pragmas;
}

/*
 * Checkpoints beside the ingest: SQLite's automatic checkpoint runs in
 * the commit that finds the WAL over wal_autocheckpoint pages, on the
 * connection and thread that commits, and was a sixth of the storing
 * thread's time (copying 64 MiB of pages into the database, the fsyncs).
 * During an ingest the commit only wakes a thread of its own that runs
 * the same PASSIVE checkpoint on a connection of its own (WAL mode lets
 * a checkpoint run beside a writer; the next transaction after a
 * complete one restarts the WAL), so that the storing thread goes on
 * inserting.  The thread and its connection are made at the first
 * checkpoint due (a small report never has one); should that fail, the
 * commit checkpoints itself as before.  No state outside the store.
 */
struct store_checkpointer {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	sqlite3 *db;           /* the thread's connection, owned */
	bool started, failed;  /* thread running; could not be started */
	bool want, stop;       /* under lock */
	char *path;            /* the database file, owned */
	const struct rk_log *log;
};

static void *checkpoint_thread(void *arg)
{
	struct store_checkpointer *c = arg;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		int rc;

		while (!c->want && !c->stop)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stop)
			break;
		c->want = false;
		pthread_mutex_unlock(&c->lock);
		rc = sqlite3_wal_checkpoint_v2(c->db, "main",
					       SQLITE_CHECKPOINT_PASSIVE, NULL,
					       NULL);
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			rk_log_debug(c->log, "database: checkpoint during "
					     "ingest: %s",
				     sqlite3_errmsg(c->db));
		pthread_mutex_lock(&c->lock);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* The thread and its connection; false when either cannot be had. */
static bool checkpointer_run(struct store_checkpointer *c)
{
	if (sqlite3_open_v2(c->path, &c->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
			    NULL) != SQLITE_OK ||
	    sqlite3_exec(c->db, "PRAGMA synchronous = NORMAL", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    pthread_create(&c->thread, NULL, checkpoint_thread, c) != 0) {
		sqlite3_close(c->db);
		c->db = NULL;
		return false;
	}
	return true;
}

/* sqlite3_wal_hook: after every commit of the ingesting connection. */
static int ingest_wal_hook(void *arg, sqlite3 *db, const char *name,
			   int pages)
{
	struct store_checkpointer *c = arg;

	if (pages < INGEST_CHECKPOINT_PAGES)
		return SQLITE_OK;
	if (!c->started && !c->failed) {
		c->started = checkpointer_run(c);
		c->failed = !c->started;
	}
	if (c->failed) {
		/* what the automatic checkpoint does */
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
					  NULL, NULL);
		return SQLITE_OK;
	}
	pthread_mutex_lock(&c->lock);
	c->want = true;
	pthread_cond_signal(&c->wake);
	pthread_mutex_unlock(&c->lock);
	return SQLITE_OK;
}

static void checkpointer_free(struct store_checkpointer *c)
{
	if (!c)
		return;
	if (c->started) {
		pthread_mutex_lock(&c->lock);
		c->stop = true;
		pthread_cond_signal(&c->wake);
		pthread_mutex_unlock(&c->lock);
		pthread_join(c->thread, NULL);
	}
	sqlite3_close(c->db);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c->path);
	free(c);
}

/* The checkpointer of an ingest on a database file (none for one in
 * memory, or without the memory for it: then SQLite's own checkpoints
 * stay, as ingest_pragmas set them). */
static void checkpointer_start(struct rk_store *store)
{
	const char *path = sqlite3_db_filename(store->db, "main");
	struct store_checkpointer *c;

	if (!path || !*path || !(c = calloc(1, sizeof(*c))))
		return;
	if (!(c->path = rk_strdup(path)) || pthread_mutex_init(&c->lock, NULL))
		goto fail;
	if (pthread_cond_init(&c->wake, NULL)) {
		pthread_mutex_destroy(&c->lock);
		goto fail;
	}
	c->log = store->log;
	store->ckpt = c;
	sqlite3_wal_hook(store->db, ingest_wal_hook, c);
	return;
fail:
	free(c->path);
	free(c);
}

enum rk_err store_ingest_start(struct rk_store *store)
{
	if (store->ingest_depth++ > 0)
		return RK_OK;
	if (store->in_tx)
		RK_BUG("store_ingest_start inside a transaction");
	if (sqlite3_exec(store->db, ingest_pragmas, NULL, NULL, NULL) !=
	    SQLITE_OK) {
		enum rk_err err = store_fail(store, "ingest settings");

		store_ingest_end(store);
		return err;
	}
	checkpointer_start(store);
	return RK_OK;
}

void store_ingest_end(struct rk_store *store)
{
	if (store->ingest_depth == 0)
		RK_BUG("store_ingest_end without store_ingest_start");
	if (--store->ingest_depth > 0)
		return;
	if (store->ckpt) {
		/* the hook goes (the restore below puts SQLite's own back),
		 * then the thread, having finished its checkpoint */
		sqlite3_wal_hook(store->db, NULL, NULL);
		checkpointer_free(store->ckpt);
		store->ckpt = NULL;
	}
	/* Pragmas that only set connection values: nothing to fail but
	 * memory, and then the store_open values are what SQLite keeps
	 * trying for; foreign_keys cannot change inside a transaction,
	 * which callers have ended. */
	if (sqlite3_exec(store->db, ingest_restore, NULL, NULL, NULL) !=
	    SQLITE_OK)
		store_fail(store, "restore settings after ingest");
}

enum rk_err store_event_add(struct rk_store *store,
			    const struct store_event *ev, int64_t *id_out,
			    bool *duplicate)
{
	static const char sql[] =
		"INSERT INTO events (report_id, dedup_key, time_source, type,"
		" taxonomy, identifier, feed_name, source_ip, source_fqdn,"
		" source_url, source_cc, source_asn, tlp, severity, state,"
		" created_at, category, dedup_time)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
		" ?14, 'new', ?15, ?16, ?17)"
		" ON CONFLICT(dedup_time, dedup_key) DO NOTHING";
	/* the data of the row just added, under its id (schema 13) */
	static const char data_sql[] =
		"INSERT INTO event_data (id, data) VALUES (?1, ?2)";
	sqlite3_stmt *stmt;
	int64_t id;
	bool dup;
	int rc;

	if (!ev->dedup_key || !ev->type || !ev->taxonomy || !ev->data)
		return rk_fail(store->log, RK_ERR_INVAL,
			       "database: event without dedup key, type, "
			       "taxonomy or data");
	stmt = store_stmt(store, sql);
	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, ev->report_id);
	bind_static(stmt, 2, ev->dedup_key);
	sqlite3_bind_int64(stmt, 3, ev->time_source);
	bind_static(stmt, 4, ev->type);
	bind_static(stmt, 5, ev->taxonomy);
	bind_static(stmt, 6, ev->identifier);
	bind_static(stmt, 7, ev->feed_name);
	bind_static(stmt, 8, ev->source_ip);
	bind_static(stmt, 9, ev->source_fqdn);
	bind_static(stmt, 10, ev->source_url);
	bind_static(stmt, 11, ev->source_cc);
	if (ev->source_asn)
		sqlite3_bind_int64(stmt, 12, (sqlite3_int64)ev->source_asn);
	else
		sqlite3_bind_null(stmt, 12);
	sqlite3_bind_int(stmt, 13, (int)ev->tlp);
	sqlite3_bind_int(stmt, 14, (int)ev->severity);
	sqlite3_bind_int64(stmt, 15, store->now);
	bind_static(stmt, 16, ev->category);
	sqlite3_bind_int64(stmt, 17, ev->dedup_time);
	rc = sqlite3_step(stmt);
	/* Read the outcome before the reset. */
	dup = rc == SQLITE_DONE && sqlite3_changes(store->db) == 0;
	id = rc == SQLITE_DONE && !dup ? sqlite3_last_insert_rowid(store->db) : 0;
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "add event");
	if (!dup) {
		if (!(stmt = store_stmt(store, data_sql)))
			return RK_ERR_DB;
		sqlite3_bind_int64(stmt, 1, id);
		bind_static(stmt, 2, ev->data);
		rc = sqlite3_step(stmt);
		store_done(stmt);
		if (rc != SQLITE_DONE)
			return store_fail(store, "add event data");
	}
	if (id_out)
		*id_out = id;
	if (duplicate)
		*duplicate = dup;
	return RK_OK;
}

/* An event's TLP, severity and AS number columns as store_event_add
 * writes them.  Out-of-range values cannot come from it; should one
 * appear anyway, the most restrictive TLP is the safe reading. */
enum rk_tlp store_tlp_value(int tlp)
{
	return tlp >= RK_TLP_CLEAR && tlp <= RK_TLP_RED ? (enum rk_tlp)tlp
							 : RK_TLP_RED;
}

enum rk_severity store_severity_value(int sev)
{
	return sev >= RK_SEV_INFO && sev < RK_SEV_COUNT ? (enum rk_severity)sev
							 : RK_SEV_MEDIUM;
}

uint32_t store_asn_value(int64_t asn)
{
	return asn > 0 && asn <= 4294967295LL ? (uint32_t)asn : 0;
}

static enum rk_tlp col_tlp(sqlite3_stmt *stmt, int i)
{
	return store_tlp_value(sqlite3_column_int(stmt, i));
}

static enum rk_severity col_severity(sqlite3_stmt *stmt, int i)
{
	return store_severity_value(sqlite3_column_int(stmt, i));
}

static uint32_t col_asn(sqlite3_stmt *stmt, int i)
{
	return store_asn_value(sqlite3_column_int64(stmt, i));
}

enum rk_err store_event_read(sqlite3_stmt *stmt, struct store_event *ev)
{
	bool ok = true;

	memset(ev, 0, sizeof(*ev));
	ev->id = sqlite3_column_int64(stmt, 0);
	ev->report_id = sqlite3_column_int64(stmt, 1);
	ev->dedup_key = store_col_text(stmt, 2, &ok);
	ev->time_source = sqlite3_column_int64(stmt, 3);
	ev->type = store_col_text(stmt, 4, &ok);
	ev->taxonomy = store_col_text(stmt, 5, &ok);
	ev->identifier = store_col_text(stmt, 6, &ok);
	ev->feed_name = store_col_text(stmt, 7, &ok);
	ev->source_ip = store_col_text(stmt, 8, &ok);
	ev->source_fqdn = store_col_text(stmt, 9, &ok);
	ev->source_url = store_col_text(stmt, 10, &ok);
	ev->source_cc = store_col_text(stmt, 11, &ok);
	ev->source_asn = col_asn(stmt, 12);
	ev->tlp = col_tlp(stmt, 13);
	ev->severity = col_severity(stmt, 14);
	ev->data = store_col_text(stmt, 15, &ok);
	ev->state = store_col_text(stmt, 16, &ok);
	ev->state_reason = store_col_text(stmt, 17, &ok);
	ev->created_at = sqlite3_column_int64(stmt, 18);
	ev->chain_id = sqlite3_column_int64(stmt, 19);
	ev->retry_at = sqlite3_column_int64(stmt, 20);
	ev->category = store_col_text(stmt, 21, &ok);
	if (!ok) {
		store_event_release(ev);
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

/* Step stmt (already bound) to its end, reading every row into a growing
 * array.  Resets stmt. */
static enum rk_err read_events(struct rk_store *store, sqlite3_stmt *stmt,
			       const char *what, struct store_event **rows,
			       size_t *n)
{
	struct store_event *out = NULL, *grown;
	size_t count = 0, alloc = 0;
	enum rk_err err = RK_OK;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == alloc) {
			alloc = alloc ? alloc * 2 : 16;
			grown = realloc(out, alloc * sizeof(*out));
			if (!grown) {
				err = RK_ERR_NOMEM;
				goto cleanup;
			}
			out = grown;
		}
		if ((err = store_event_read(stmt, &out[count])))
			goto cleanup;
		count++;
	}
	if (rc != SQLITE_DONE)
		err = store_fail(store, what);
cleanup:
	store_done(stmt);
	if (err) {
		store_events_free(out, count);
		out = NULL;
		count = 0;
	}
	*rows = out;
	*n = count;
	return err;
}

enum rk_err store_events_new(struct rk_store *store, int64_t after_id,
			     size_t limit, struct store_event **rows,
			     size_t *n)
{
	static const char sql[] =
		"SELECT " STORE_EVENT_COLS " FROM events e" STORE_EVENT_DATA_JOIN
		" WHERE e.state = 'new' AND e.id > ?1 ORDER BY e.id LIMIT ?2";
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	stmt = store_stmt(store, sql);
	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, after_id);
	sqlite3_bind_int64(stmt, 2,
			   limit > (size_t)INT64_MAX ? INT64_MAX
						     : (sqlite3_int64)limit);
	return read_events(store, stmt, "list new events", rows, n);
}

enum rk_err store_event_set_state(struct rk_store *store, int64_t event_id,
				  const char *state, const char *reason)
{
	static const char sql[] =
		"UPDATE events SET state = ?2, state_reason = ?3 WHERE id = ?1";
	sqlite3_stmt *stmt;
	int rc;

	if (!state || !*state)
		return rk_fail(store->log, RK_ERR_INVAL,
			       "database: empty event state");
	stmt = store_stmt(store, sql);
	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, event_id);
	bind_static(stmt, 2, state);
	bind_static(stmt, 3, reason);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "set event state");
	if (sqlite3_changes(store->db) == 0)
		return rk_fail(store->log, RK_ERR_NOTFOUND,
			       "database: no event %lld", (long long)event_id);
	return RK_OK;
}

enum rk_err store_ticket_events(struct rk_store *store,
				const char *ticket_id, bool only_unnotified,
				struct store_event **rows, size_t *n)
{
	static const char sql_all[] =
		"SELECT " STORE_EVENT_COLS " FROM ticket_events te"
		" JOIN events e ON te.event_id = e.id" STORE_EVENT_DATA_JOIN
		" WHERE te.ticket_id = ?1 ORDER BY e.time_source, e.id";
	static const char sql_unnotified[] =
		"SELECT " STORE_EVENT_COLS " FROM ticket_events te"
		" JOIN events e ON te.event_id = e.id" STORE_EVENT_DATA_JOIN
		" WHERE te.ticket_id = ?1 AND te.message_row IS NULL"
		" ORDER BY e.time_source, e.id";
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	stmt = store_stmt(store, only_unnotified ? sql_unnotified : sql_all);
	if (!stmt)
		return RK_ERR_DB;
	bind_static(stmt, 1, ticket_id);
	return read_events(store, stmt, "list ticket events", rows, n);
}

enum rk_err store_event_counts(struct rk_store *store,
			       struct store_event_counts *out)
{
	/* one statement, so one snapshot: events_by_state holds the queued
	 * states (schema version 14; the same terms as its WHERE, so the
	 * planner reads that index), events_held the suppressed and
	 * withheld ones, and the row with a NULL state is the total;
	 * 'ticketed' is the total less the rest */
	static const char sql[] =
		"SELECT state, count(*) FROM events"
		" WHERE state = 'new' OR state = 'resolved' OR state = 'unresolved'"
		" OR state = 'failed' GROUP BY state"
		" UNION ALL SELECT state, count(*) FROM events"
		" WHERE state IN ('suppressed', 'withheld') GROUP BY state"
		" UNION ALL SELECT NULL, count(*) FROM events";
	static const char *const states[] = {
		STORE_EVENT_NEW, STORE_EVENT_RESOLVED, STORE_EVENT_SUPPRESSED,
		STORE_EVENT_WITHHELD, STORE_EVENT_UNRESOLVED, STORE_EVENT_FAILED,
	};
	long long *const slots[RK_ARRAY_LEN(states)] = {
		&out->pending, &out->resolved, &out->suppressed,
		&out->withheld, &out->unresolved, &out->failed,
	};
	long long counted = 0;
	sqlite3_stmt *stmt;
	enum rk_err err = RK_OK;
	int rc;

	memset(out, 0, sizeof(*out));
	stmt = store_stmt(store, sql);
	if (!stmt)
		return RK_ERR_DB;
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		const char *state = (const char *)sqlite3_column_text(stmt, 0);
		long long count = sqlite3_column_int64(stmt, 1);

		if (!state) {
			out->total = count;
			continue;
		}
		for (size_t i = 0; i < RK_ARRAY_LEN(states); i++) {
			if (strcmp(state, states[i]) == 0) {
				*slots[i] += count;
				counted += count;
				break;
			}
		}
	}
	if (rc != SQLITE_DONE)
		err = store_fail(store, "count events");
	store_done(stmt);
	if (!err)
		out->ticketed = out->total - counted;
	return err;
}

/* ------------------------------------------------------------ resolve */

static sqlite3_int64 limit_arg(size_t limit)
{
	return limit > (size_t)INT64_MAX ? INT64_MAX : (sqlite3_int64)limit;
}

/* The rows of a to-resolve query (columns as in sql_new below): only
 * what the resolve stage reads, a strdup for each text. */
static enum rk_err read_to_resolve(struct rk_store *store, sqlite3_stmt *stmt,
				   struct store_event **rows, size_t *n)
{
	struct store_event *out = NULL;
	size_t count = 0;
	enum rk_err err = RK_OK;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		void *grown = out;
		struct store_event *ev;
		bool ok = true;

		if ((err = rk_array_room(&grown, count, sizeof(*out))))
			break;
		out = grown;
		ev = &out[count++];
		memset(ev, 0, sizeof(*ev));
		ev->id = sqlite3_column_int64(stmt, 0);
		ev->type = store_col_text(stmt, 1, &ok);
		ev->source_ip = store_col_text(stmt, 2, &ok);
		ev->source_fqdn = store_col_text(stmt, 3, &ok);
		ev->source_cc = store_col_text(stmt, 4, &ok);
		ev->source_asn = col_asn(stmt, 5);
		ev->tlp = col_tlp(stmt, 6);
		ev->severity = col_severity(stmt, 7);
		ev->state = store_col_text(stmt, 8, &ok);
		ev->retry_at = sqlite3_column_int64(stmt, 9);
		ev->chain_id = sqlite3_column_int64(stmt, 10);
		if (!ok) {
			err = RK_ERR_NOMEM;
			break;
		}
	}
	if (!err && rc != SQLITE_DONE)
		err = store_fail(store, "list events to resolve");
	store_done(stmt);
	if (err) {
		store_events_free(out, count);
		return err;
	}
	*rows = out;
	*n = count;
	return RK_OK;
}

enum rk_err store_events_to_resolve(struct rk_store *store, int64_t now,
				    bool unresolved, int64_t after_id,
				    size_t limit, struct store_event **rows,
				    size_t *n)
{
	/* two queries, each an index range on events_by_state; only the
	 * columns the stage reads (no strdup of the others) */
#define TO_RESOLVE_COLS                                                       \
	"e.id, e.type, e.source_ip, e.source_fqdn, e.source_cc, e.source_asn," \
	" e.tlp, e.severity, e.state, e.retry_at, coalesce(e.chain_id, 0)"
	static const char sql_new[] =
		"SELECT " TO_RESOLVE_COLS " FROM events e"
		" WHERE e.state = 'new' AND e.id > ?1 ORDER BY e.id LIMIT ?3";
	static const char sql_unresolved[] =
		"SELECT " TO_RESOLVE_COLS " FROM events e"
		" WHERE e.state = 'unresolved' AND e.id > ?1"
		" AND e.retry_at <= ?2 ORDER BY e.id LIMIT ?3";
#undef TO_RESOLVE_COLS
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, unresolved ? sql_unresolved : sql_new)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, after_id);
	sqlite3_bind_int64(stmt, 2, now);
	sqlite3_bind_int64(stmt, 3, limit_arg(limit));
	return read_to_resolve(store, stmt, rows, n);
}

enum rk_err store_chain_add(struct rk_store *store, const char *subject,
			    const char *contact, const char *chain,
			    const char *country, int64_t *id_out)
{
	static const char sql[] =
		"INSERT INTO chains (subject, chain, country, created_at, contact)"
		" VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	bind_static(stmt, 1, subject);
	bind_static(stmt, 2, chain);
	bind_static(stmt, 3, country);
	sqlite3_bind_int64(stmt, 4, store->now);
	bind_static(stmt, 5, contact);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "store contact chain");
	*id_out = sqlite3_last_insert_rowid(store->db);
	return RK_OK;
}

enum rk_err store_event_resolve_outcome(struct rk_store *store,
					const struct store_event *seen,
					const char *state, int64_t chain_id,
					const char *reason, int64_t retry_at,
					bool *applied)
{
	static const char sql[] =
		"UPDATE events SET state = ?4, chain_id = ?5, state_reason = ?6,"
		" retry_at = ?7 WHERE id = ?1 AND state = ?2 AND retry_at = ?3";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	*applied = false;
	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, seen->id);
	bind_static(stmt, 2, seen->state);
	sqlite3_bind_int64(stmt, 3, seen->retry_at);
	bind_static(stmt, 4, state);
	if (chain_id > 0)
		sqlite3_bind_int64(stmt, 5, chain_id);
	else
		sqlite3_bind_null(stmt, 5);
	bind_static(stmt, 6, reason);
	sqlite3_bind_int64(stmt, 7, retry_at);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "record a lookup's outcome");
	*applied = sqlite3_changes(store->db) == 1;
	return RK_OK;
}

enum rk_err store_tune_for_batches(struct rk_store *store)
{
	/* fixed text, no parameters: a page cache that holds a batch's
	 * pages and the indexes' upper levels, and checkpoints every 32 MB
	 * of WAL rather than every 4 MB (each one an fsync) */
	static const char sql[] =
		"PRAGMA cache_size = -32768; PRAGMA wal_autocheckpoint = 8192";

	if (sqlite3_exec(store->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(store, "tune the page cache");
	return RK_OK;
}

enum rk_err store_check_references(struct rk_store *store, bool on)
{
	/* fixed text, no parameters */
	if (store->in_tx)
		RK_BUG("store_check_references inside a transaction");
	if (sqlite3_exec(store->db,
			 on ? "PRAGMA foreign_keys = ON"
			    : "PRAGMA foreign_keys = OFF",
			 NULL, NULL, NULL) != SQLITE_OK)
		return store_fail(store, "set foreign key checks");
	return RK_OK;
}

enum rk_err store_events_mark_ticketed(struct rk_store *store,
				       int64_t first_id, int64_t last_id,
				       long long *changed)
{
	/* a range of events_by_state (state, id): one statement a batch */
	static const char sql[] =
		"UPDATE events SET state = 'ticketed', state_reason = NULL"
		" WHERE state = 'resolved' AND id >= ?1 AND id <= ?2";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, first_id);
	sqlite3_bind_int64(stmt, 2, last_id);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "mark events ticketed");
	if (changed)
		*changed = sqlite3_changes(store->db);
	return RK_OK;
}

enum rk_err store_events_resolve_outcomes(struct rk_store *store,
					  struct store_resolve_outcome *o,
					  size_t n)
{
	/* one prepared statement, stepped once an outcome, in the caller's
	 * transaction: a batch's rows are found by rowid in id order, and
	 * nothing is built or parsed (no JSON text of the batch);
	 * compare-and-set: only events still as they were read */
	static const char sql[] =
		"UPDATE events SET state = ?4, chain_id = ?5, state_reason = ?6,"
		" retry_at = ?7 WHERE id = ?1 AND state = ?2 AND retry_at = ?3";
	sqlite3_stmt *stmt;

	for (size_t i = 0; i < n; i++) {
		o[i].applied = false;
		if (i && o[i].seen->id <= o[i - 1].seen->id)
			return rk_fail(store->log, RK_ERR_INVAL,
				       "database: outcomes not in id order");
	}
	if (n == 0)
		return RK_OK;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	for (size_t i = 0; i < n; i++) {
		int rc;

		sqlite3_bind_int64(stmt, 1, o[i].seen->id);
		bind_static(stmt, 2, o[i].seen->state);
		sqlite3_bind_int64(stmt, 3, o[i].seen->retry_at);
		bind_static(stmt, 4, o[i].state);
		if (o[i].chain_id > 0)
			sqlite3_bind_int64(stmt, 5, o[i].chain_id);
		else
			sqlite3_bind_null(stmt, 5);
		bind_static(stmt, 6, o[i].reason);
		sqlite3_bind_int64(stmt, 7, o[i].retry_at);
		rc = sqlite3_step(stmt);
		sqlite3_reset(stmt);
		if (rc != SQLITE_DONE) {
			store_done(stmt);
			return store_fail(store, "record the lookups' outcomes");
		}
		o[i].applied = sqlite3_changes(store->db) == 1;
	}
	store_done(stmt);
	return RK_OK;
}

enum rk_err store_events_resolved(struct rk_store *store, int64_t after_id,
				  size_t limit, struct store_event **rows,
				  size_t *n)
{
	/* what the tickets stage uses, nothing more: no strdup of columns
	 * it does not read (the chain text is read per new ticket, by
	 * store_chain_text).  LEFT JOIN: an event whose chain is missing
	 * comes back without chain_contact and is set aside. */
	static const char sql[] =
		"SELECT e.id, e.type, e.source_cc, e.tlp, e.severity,"
		" coalesce(e.chain_id, 0), e.retry_at, c.contact FROM events e"
		" LEFT JOIN chains c ON c.id = e.chain_id"
		" WHERE e.state = 'resolved' AND e.id > ?1"
		" ORDER BY e.id LIMIT ?2";
	sqlite3_stmt *stmt;
	struct store_event *out = NULL;
	size_t count = 0;
	enum rk_err err = RK_OK;
	int rc;

	*rows = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, after_id);
	sqlite3_bind_int64(stmt, 2, limit_arg(limit));
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		void *grown = out;
		struct store_event *ev;
		bool ok = true;

		if ((err = rk_array_room(&grown, count, sizeof(*out))))
			break;
		out = grown;
		ev = &out[count++];
		memset(ev, 0, sizeof(*ev));
		ev->id = sqlite3_column_int64(stmt, 0);
		ev->type = store_col_text(stmt, 1, &ok);
		ev->source_cc = store_col_text(stmt, 2, &ok);
		ev->tlp = col_tlp(stmt, 3);
		ev->severity = col_severity(stmt, 4);
		ev->chain_id = sqlite3_column_int64(stmt, 5);
		ev->retry_at = sqlite3_column_int64(stmt, 6);
		ev->chain_contact = store_col_text(stmt, 7, &ok);
		if (!ok) {
			err = RK_ERR_NOMEM;
			break;
		}
	}
	if (!err && rc != SQLITE_DONE)
		err = store_fail(store, "list resolved events");
	store_done(stmt);
	if (err) {
		store_events_free(out, count);
		return err;
	}
	*rows = out;
	*n = count;
	return RK_OK;
}

enum rk_err store_chain_text(struct rk_store *store, int64_t chain_id,
			     char **out)
{
	static const char sql[] = "SELECT chain FROM chains WHERE id = ?1";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	bool ok = true;
	int rc;

	*out = NULL;
	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, chain_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = store_col_text(stmt, 0, &ok);
	store_done(stmt);
	if (rc == SQLITE_DONE)
		return RK_ERR_PARSE; /* the event's chain is gone */
	if (rc != SQLITE_ROW)
		return store_fail(store, "read a contact chain");
	return ok && *out ? RK_OK : RK_ERR_NOMEM;
}

enum rk_err store_events_retry(struct rk_store *store, const char *state,
			       int64_t since, long long *count)
{
	/* the state a literal: events_by_state is partial (version 14) */
	static const char sql_unresolved[] =
		"UPDATE events SET state = 'new', retry_at = 0,"
		" state_reason = NULL, chain_id = NULL"
		" WHERE state = 'unresolved' AND created_at >= ?1";
	static const char sql_failed[] =
		"UPDATE events SET state = 'new', retry_at = 0,"
		" state_reason = NULL, chain_id = NULL"
		" WHERE state = 'failed' AND created_at >= ?1";
	sqlite3_stmt *stmt;
	const char *sql;
	enum rk_err err;
	int rc;

	*count = 0;
	if (state && strcmp(state, STORE_EVENT_UNRESOLVED) == 0)
		sql = sql_unresolved;
	else if (state && strcmp(state, STORE_EVENT_FAILED) == 0)
		sql = sql_failed;
	else
		return rk_fail(store->log, RK_ERR_INVAL,
			       "only unresolved or failed events can be retried");
	if ((err = store_begin(store)))
		return err;
	if (!(stmt = store_stmt(store, sql))) {
		store_rollback(store);
		return RK_ERR_DB;
	}
	sqlite3_bind_int64(stmt, 1, since);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE) {
		err = store_fail(store, "retry events");
		store_rollback(store);
		return err;
	}
	*count = sqlite3_changes(store->db);
	if (*count && (err = store_audit(store, "cli", "events.retry", state, NULL))) {
		store_rollback(store);
		return err;
	}
	return store_commit(store);
}

enum rk_err store_events_list(struct rk_store *store, const char *state,
			      int64_t report_id, size_t limit,
			      struct store_event **rows, size_t *n)
{
	static const char sql[] =
		"SELECT " STORE_EVENT_COLS " FROM events e" STORE_EVENT_DATA_JOIN
		" WHERE (?1 IS NULL OR e.state = ?1)"
		" AND (?3 = 0 OR e.report_id = ?3)"
		" ORDER BY e.id DESC LIMIT ?2";
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	bind_static(stmt, 1, state);
	sqlite3_bind_int64(stmt, 2, limit_arg(limit));
	sqlite3_bind_int64(stmt, 3, report_id);
	return read_events(store, stmt, "list events", rows, n);
}
