/* Failing addresses (a mail server refused them for good), the tickets
 * whose notice bounced, and the recent deliveries the rate limits count. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* Rows hand out at most this many at once. */
#define STORE_FAILING_MAX_ROWS 100000

enum rk_err store_address_mark_failing(struct rk_store *store,
				       const char *address, const char *reply,
				       const char *message_id)
{
	static const char sql[] =
		"INSERT INTO failing_addresses (address, since, reply, message_id) "
		"VALUES (?1, ?2, ?3, ?4) ON CONFLICT (address) DO UPDATE SET "
		"reply = excluded.reply, message_id = excluded.message_id";
	sqlite3_stmt *stmt;
	int rc;

	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, address);
	sqlite3_bind_int64(stmt, 2, store->now);
	store_bind_text(stmt, 3, reply);
	store_bind_text(stmt, 4, message_id);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "mark address failing");
	return store_audit(store, "deliver", "address.failing", address, reply);
}

enum rk_err store_address_failing(struct rk_store *store, const char *address,
				  bool *failing)
{
	static const char sql[] =
		"SELECT 1 FROM failing_addresses WHERE address = ?1";
	sqlite3_stmt *stmt;
	int rc;

	*failing = false;
	if (!address || !*address)
		return RK_OK;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, address);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc == SQLITE_ROW)
		*failing = true;
	else if (rc != SQLITE_DONE)
		return store_fail(store, "read failing addresses");
	return RK_OK;
}

void store_failing_free(struct store_failing *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].address);
		free(rows[i].reply);
		free(rows[i].message_id);
	}
	free(rows);
}

static enum rk_err failing_row(sqlite3_stmt *stmt, void *row)
{
	struct store_failing *f = row;
	bool ok = true;

	f->address = store_col_text(stmt, 0, &ok);
	f->since = sqlite3_column_int64(stmt, 1);
	f->reply = store_col_text(stmt, 2, &ok);
	f->message_id = store_col_text(stmt, 3, &ok);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void failing_release_row(void *row)
{
	struct store_failing *f = row;

	free(f->address);
	free(f->reply);
	free(f->message_id);
}

enum rk_err store_failing_list(struct rk_store *store,
			       struct store_failing **rows, size_t *n)
{
	static const char sql[] =
		"SELECT address, since, reply, message_id FROM failing_addresses "
		"ORDER BY since, address LIMIT ?1";
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, STORE_FAILING_MAX_ROWS);
	return store_collect(store, stmt, sizeof(**rows), failing_row,
			     failing_release_row, "read failing addresses",
			     (void **)rows, n);
}

enum rk_err store_address_clear(struct rk_store *store, const char *address,
				const char *actor, bool *cleared)
{
	static const char sql[] =
		"DELETE FROM failing_addresses WHERE address = ?1";
	sqlite3_stmt *stmt;
	enum rk_err err;
	int rc;

	*cleared = false;
	if ((err = store_begin(store)))
		return err;
	if (!(stmt = store_stmt(store, sql))) {
		store_rollback(store);
		return RK_ERR_DB;
	}
	store_bind_text(stmt, 1, address);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE) {
		err = store_fail(store, "clear failing address");
		store_rollback(store);
		return err;
	}
	*cleared = sqlite3_changes(store->db) > 0;
	if (*cleared &&
	    (err = store_audit(store, actor ? actor : "cli", "address.cleared",
			       address, NULL))) {
		store_rollback(store);
		return err;
	}
	return store_commit(store);
}

/* ------------------------------------------------------------ bounces */

void store_bounces_free(struct store_bounce *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].rcpt);
		free(rows[i].reply);
	}
	free(rows);
}

static enum rk_err bounce_row(sqlite3_stmt *stmt, void *row)
{
	struct store_bounce *b = row;
	const unsigned char *id = sqlite3_column_text(stmt, 0);
	bool ok = true;

	if (!id || strlen((const char *)id) >= sizeof(b->ticket_id))
		return RK_ERR_INTERNAL;
	memcpy(b->ticket_id, id, strlen((const char *)id) + 1);
	b->level = sqlite3_column_int(stmt, 1);
	b->message_row = sqlite3_column_int64(stmt, 2);
	b->rcpt = store_col_text(stmt, 3, &ok);
	b->reply = store_col_text(stmt, 4, &ok);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void bounce_release_row(void *row)
{
	struct store_bounce *b = row;

	free(b->rcpt);
	free(b->reply);
}

enum rk_err store_tickets_bounced(struct rk_store *store,
				  struct store_bounce **rows, size_t *n)
{
	static const char sql[] =
		"SELECT t.id, t.level, m.id, d.rcpt, d.reply FROM tickets t "
		"JOIN ticket_contacts c ON c.ticket_id = t.id "
		"  AND c.level = t.level "
		"JOIN messages m ON m.id = (SELECT max(id) FROM messages "
		"  WHERE ticket_id = t.id AND direction = 'out') "
		"JOIN deliveries d ON d.message_row = m.id "
		"  AND d.state = 'bounced' AND d.rcpt = c.email COLLATE NOCASE "
		"WHERE t.state = 'notified' GROUP BY t.id ORDER BY t.id LIMIT ?1";
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, STORE_FAILING_MAX_ROWS);
	return store_collect(store, stmt, sizeof(**rows), bounce_row,
			     bounce_release_row, "read bounced tickets",
			     (void **)rows, n);
}

enum rk_err store_ticket_events_unnotify(struct rk_store *store,
					 const char *id, int64_t message_row)
{
	static const char sql[] =
		"UPDATE ticket_events SET message_row = NULL "
		"WHERE ticket_id = ?1 AND message_row = ?2";
	sqlite3_stmt *stmt;
	int rc;

	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, message_row);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK
				 : store_fail(store, "mark events not notified");
}

/* ------------------------------------------------------------ rate limits */

void store_domain_counts_free(struct store_domain_count *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].domain);
	free(rows);
}

static enum rk_err domain_count_row(sqlite3_stmt *stmt, void *row)
{
	struct store_domain_count *c = row;
	bool ok = true;

	c->domain = store_col_text(stmt, 0, &ok);
	c->messages = sqlite3_column_int64(stmt, 1);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void domain_count_release_row(void *row)
{
	free(((struct store_domain_count *)row)->domain);
}

enum rk_err store_recent_deliveries(struct rk_store *store, int64_t since,
				    struct store_domain_count **rows,
				    size_t *n, long long *total_messages)
{
	static const char by_domain_sql[] =
		"SELECT lower(substr(rcpt, instr(rcpt, '@') + 1)) AS domain, "
		"count(DISTINCT message_row) FROM deliveries "
		"WHERE updated_at >= ?1 AND attempts > 0 "
		"GROUP BY domain ORDER BY domain LIMIT ?2";
	static const char total_sql[] =
		"SELECT count(DISTINCT message_row) FROM deliveries "
		"WHERE updated_at >= ?1 AND attempts > 0";
	sqlite3_stmt *stmt;
	enum rk_err err;
	int rc;

	*rows = NULL;
	*n = 0;
	*total_messages = 0;
	if (!(stmt = store_stmt(store, total_sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, since);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*total_messages = sqlite3_column_int64(stmt, 0);
	store_done(stmt);
	if (rc != SQLITE_ROW)
		return store_fail(store, "count recent deliveries");
	if (!(stmt = store_stmt(store, by_domain_sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, since);
	sqlite3_bind_int64(stmt, 2, STORE_FAILING_MAX_ROWS);
	err = store_collect(store, stmt, sizeof(**rows), domain_count_row,
			    domain_count_release_row,
			    "count recent deliveries by domain", (void **)rows,
			    n);
	return err;
}
