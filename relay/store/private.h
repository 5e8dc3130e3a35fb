/* Inside the store: the struct and the statement cache.  Only files under
 * relay/store/ include this. */
#ifndef RENRAKU_STORE_PRIVATE_H
#define RENRAKU_STORE_PRIVATE_H

#include <sqlite3.h>

#include "renraku/store.h"

struct store_stmt_slot {
	const char *sql; /* the literal's address is the key */
	sqlite3_stmt *stmt;
};

/* One connection, used by one thread at a time (opened NOMUTEX): a
 * thread that needs the database opens its own store. */
struct rk_store {
	sqlite3 *db;
	const struct rk_log *log; /* borrowed */
	bool in_tx;
	int lock_fd; /* runner lock, -1 = not held */
	int64_t now; /* the time writes record (store_set_now) */
	struct store_stmt_slot *stmts; /* grows; owned */
	size_t nstmts, capstmts;
	struct store_checkpointer *ckpt; /* between store_ingest_start and
					    _end (events.c); owned */
	unsigned ingest_depth; /* store_ingest_start calls not yet ended */
};

/* The prepared statement for sql (a string literal: its address is the
 * cache key), reset and with bindings cleared; prepared on first use with
 * SQLITE_PREPARE_PERSISTENT.  NULL on error (logged).  Do not finalize. */
sqlite3_stmt *store_stmt(struct rk_store *store, const char *sql);

/* Prepare (cached) sql, a statement that takes no parameters, step it
 * to its end once and reset it; what names it in the error. */
enum rk_err store_step_once(struct rk_store *store, const char *sql,
			    const char *what);

/* Step a bound statement (from store_stmt; NULL is RK_ERR_DB) to its end
 * once and reset it; what names it in the error. */
enum rk_err store_step_done(struct rk_store *store, sqlite3_stmt *stmt,
			    const char *what);

/* Reset a statement after use (also clears bindings). */
void store_done(sqlite3_stmt *stmt);

/* Log the database error for what and return RK_ERR_DB (RK_ERR_BUSY for
 * SQLITE_BUSY / SQLITE_LOCKED). */
enum rk_err store_fail(struct rk_store *store, const char *what);

/* Bind helpers: NULL text binds SQL NULL.  Return SQLite codes. */
int store_bind_text(sqlite3_stmt *stmt, int idx, const char *text);
/* Copy column text (NULL stays NULL); *ok cleared when out of memory. */
char *store_col_text(sqlite3_stmt *stmt, int col, bool *ok);



/* Step stmt to the end, reading each row with read_row into a growing
 * array of `size`-byte elements (zeroed before read_row sees them).  On
 * error every row read so far is released with release_row and the array
 * freed.  Resets stmt.  Caller frees *rows (after releasing each). */
typedef enum rk_err (*store_row_fn)(sqlite3_stmt *stmt, void *row);
enum rk_err store_collect(struct rk_store *store, sqlite3_stmt *stmt,
			  size_t size, store_row_fn read_row,
			  void (*release_row)(void *row), const char *what,
			  void **rows, size_t *n);

/* In a transaction.  Mark address failing (a 5xx from the server), or
 * refresh the reply of one marked already (failing.c). */
enum rk_err store_address_mark_failing(struct rk_store *store,
				       const char *address, const char *reply,
				       const char *message_id);

/* Columns read into a struct store_event, in this order, from a query
 * over `events e` (implemented in events.c). */
#define STORE_EVENT_COLS                                                     \
	"e.id, e.report_id, e.dedup_key, e.time_source, e.type, e.taxonomy, " \
	"e.identifier, e.feed_name, e.source_ip, e.source_fqdn, "            \
	"e.source_url, e.source_cc, e.source_asn, e.tlp, e.severity, "       \
	"d.data, e.state, e.state_reason, e.created_at, "                  \
	"coalesce(e.chain_id, 0), e.retry_at, e.category"
/* What a query selecting STORE_EVENT_COLS from `events e` joins: the
 * event's data, in a table of its own since schema version 13 (a
 * missing row reads as NULL data, as STORE_EVENT_COLS_NODATA gives). */
#define STORE_EVENT_DATA_JOIN " LEFT JOIN event_data d ON d.id = e.id"
/* The same columns without the event's data (NULL in its place): for
 * the stages that decide by the indexed fields alone. */
#define STORE_EVENT_COLS_NODATA                                              \
	"e.id, e.report_id, e.dedup_key, e.time_source, e.type, e.taxonomy, " \
	"e.identifier, e.feed_name, e.source_ip, e.source_fqdn, "            \
	"e.source_url, e.source_cc, e.source_asn, e.tlp, e.severity, "       \
	"NULL, e.state, e.state_reason, e.created_at, "                      \
	"coalesce(e.chain_id, 0), e.retry_at, e.category"
/* Fill ev (zeroed first; caller releases) from the current row of a
 * statement that selected STORE_EVENT_COLS first. */
enum rk_err store_event_read(sqlite3_stmt *stmt, struct store_event *ev);
/* What store_event_read makes of a row's tlp, severity and source_asn
 * columns: an out-of-range value reads as TLP:RED, medium, no AS. */
enum rk_tlp store_tlp_value(int tlp);
enum rk_severity store_severity_value(int sev);
uint32_t store_asn_value(int64_t asn);

#endif
