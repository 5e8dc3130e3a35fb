/* The service's rows: API tokens (hashes only), report lookups and the
 * counts /metrics exports. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

enum rk_err store_api_token_add(struct rk_store *store, const char *reporter,
				const char *hash_hex, const char *scopes,
				int64_t *id_out)
{
	static const char sql[] =
		"INSERT INTO api_tokens (reporter, token_hash, created_at, scopes) "
		"VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	enum rk_err err;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, reporter);
	store_bind_text(stmt, 2, hash_hex);
	sqlite3_bind_int64(stmt, 3, store->now);
	store_bind_text(stmt, 4, scopes);
	err = store_step_done(store, stmt, "add an API token");
	if (!err && id_out)
		*id_out = sqlite3_last_insert_rowid(store->db);
	return err;
}

/* Copy column col (text, shorter than size) into out; false when it is
 * NULL or too long. */
static bool copy_col(sqlite3_stmt *stmt, int col, char *out, size_t size)
{
	const char *v = (const char *)sqlite3_column_text(stmt, col);
	size_t len = v ? strlen(v) : 0;

	if (!v || len >= size)
		return false;
	memcpy(out, v, len + 1);
	return true;
}

enum rk_err store_api_token_find(struct rk_store *store, const char *hash_hex,
				 char stored_hash[65], char reporter[257],
				 char scopes[64], bool *found)
{
	static const char sql[] =
		"SELECT token_hash, reporter, scopes FROM api_tokens "
		"WHERE token_hash = ?1 AND revoked_at = 0";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	*found = false;
	stored_hash[0] = reporter[0] = scopes[0] = '\0';
	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, hash_hex);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*found = copy_col(stmt, 0, stored_hash, 65) &&
			 copy_col(stmt, 1, reporter, 257) &&
			 copy_col(stmt, 2, scopes, 64);
	store_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, "read API tokens");
	return RK_OK;
}

/* One write in its own transaction: sql with ?1 = hash_hex and ?2 = the
 * store's now; *changes (may be NULL) = rows it changed. */
static enum rk_err write_hash_now(struct rk_store *store, const char *sql,
				  const char *hash_hex, const char *what,
				  long long *changes)
{
	sqlite3_stmt *stmt;
	enum rk_err err;

	if (changes)
		*changes = 0;
	if ((err = store_begin(store)))
		return err;
	if (!(stmt = store_stmt(store, sql))) {
		store_rollback(store);
		return RK_ERR_DB;
	}
	store_bind_text(stmt, 1, hash_hex);
	sqlite3_bind_int64(stmt, 2, store->now);
	if ((err = store_step_done(store, stmt, what))) {
		store_rollback(store);
		return err;
	}
	if (changes)
		*changes = sqlite3_changes(store->db);
	if ((err = store_commit(store))) {
		store_rollback(store);
		if (changes)
			*changes = 0;
	}
	return err;
}

enum rk_err store_api_token_touch(struct rk_store *store, const char *hash_hex)
{
	static const char sql[] =
		"UPDATE api_tokens SET last_used_at = ?2 "
		"WHERE token_hash = ?1 AND last_used_at <= ?2 - 60";

	return write_hash_now(store, sql, hash_hex, "record a token's use", NULL);
}

static enum rk_err read_token(sqlite3_stmt *stmt, void *row)
{
	struct store_api_token *t = row;
	bool ok = true;

	t->id = sqlite3_column_int64(stmt, 0);
	t->reporter = store_col_text(stmt, 1, &ok);
	t->scopes = store_col_text(stmt, 2, &ok);
	t->created_at = sqlite3_column_int64(stmt, 3);
	t->revoked_at = sqlite3_column_int64(stmt, 4);
	t->last_used_at = sqlite3_column_int64(stmt, 5);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void release_token(void *row)
{
	struct store_api_token *t = row;

	free(t->reporter);
	free(t->scopes);
}

void store_api_tokens_free(struct store_api_token *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		release_token(&rows[i]);
	free(rows);
}

enum rk_err store_api_tokens_list(struct rk_store *store,
				  struct store_api_token **rows, size_t *n)
{
	static const char sql[] =
		"SELECT id, reporter, scopes, created_at, revoked_at, "
		"last_used_at FROM api_tokens ORDER BY id";
	sqlite3_stmt *stmt = store_stmt(store, sql);

	*rows = NULL;
	*n = 0;
	if (!stmt)
		return RK_ERR_DB;
	return store_collect(store, stmt, sizeof(**rows), read_token,
			     release_token, "list API tokens", (void **)rows, n);
}

enum rk_err store_api_token_revoke(struct rk_store *store, int64_t id,
				   const char *reporter, long long *count)
{
	static const char sql[] =
		"UPDATE api_tokens SET revoked_at = ?3 WHERE revoked_at = 0 "
		"AND ((?1 > 0 AND id = ?1) OR (?1 <= 0 AND reporter = ?2))";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	enum rk_err err;

	*count = 0;
	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, id);
	store_bind_text(stmt, 2, reporter ? reporter : "");
	sqlite3_bind_int64(stmt, 3, store->now ? store->now : 1);
	err = store_step_done(store, stmt, "revoke API tokens");
	if (!err)
		*count = sqlite3_changes(store->db);
	return err;
}


void store_report_row_release(struct store_report_row *r)
{
	free(r->format);
	free(r->source_name);
	free(r->reporter);
	memset(r, 0, sizeof(*r));
}

enum rk_err store_report_get(struct rk_store *store, int64_t id,
			     struct store_report_row *out)
{
	static const char sql[] =
		"SELECT id, received_at, format, source_name, reporter, events, "
		"duplicates, rejected FROM reports WHERE id = ?1";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	enum rk_err err = RK_OK;
	bool ok = true;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->id = sqlite3_column_int64(stmt, 0);
		out->received_at = sqlite3_column_int64(stmt, 1);
		out->format = store_col_text(stmt, 2, &ok);
		out->source_name = store_col_text(stmt, 3, &ok);
		out->reporter = store_col_text(stmt, 4, &ok);
		out->events = sqlite3_column_int64(stmt, 5);
		out->duplicates = sqlite3_column_int64(stmt, 6);
		out->rejected = sqlite3_column_int64(stmt, 7);
		if (!ok)
			err = RK_ERR_NOMEM;
	} else if (rc == SQLITE_DONE) {
		err = RK_ERR_NOTFOUND;
	} else {
		err = store_fail(store, "read a report");
	}
	store_done(stmt);
	if (err)
		store_report_row_release(out);
	return err;
}

void store_counts_free(struct store_count *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].name);
	free(rows);
}

static enum rk_err read_count(sqlite3_stmt *stmt, void *row)
{
	struct store_count *c = row;
	bool ok = true;

	c->name = store_col_text(stmt, 0, &ok);
	c->count = sqlite3_column_int64(stmt, 1);
	if (ok && !c->name)
		ok = (c->name = rk_strdup("")) != NULL;
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void release_count(void *row)
{
	free(((struct store_count *)row)->name);
}

/* The rows of a "SELECT name, count ..." statement. */
static enum rk_err collect_counts(struct rk_store *store, const char *sql,
				  const char *what, struct store_count **rows,
				  size_t *n)
{
	sqlite3_stmt *stmt = store_stmt(store, sql);

	*rows = NULL;
	*n = 0;
	if (!stmt)
		return RK_ERR_DB;
	return store_collect(store, stmt, sizeof(**rows), read_count,
			     release_count, what, (void **)rows, n);
}

enum rk_err store_count_events_by_format(struct rk_store *store,
					 struct store_count **rows, size_t *n)
{
	static const char sql[] =
		"SELECT format, sum(events) FROM reports GROUP BY format "
		"ORDER BY format";

	return collect_counts(store, sql, "count events", rows, n);
}

enum rk_err store_count_messages_by_state(struct rk_store *store,
					  struct store_count **rows, size_t *n)
{
	static const char sql[] =
		"SELECT state, count(*) FROM messages GROUP BY state ORDER BY state";

	return collect_counts(store, sql, "count messages", rows, n);
}

enum rk_err store_serve_secret(struct rk_store *store, char secret[65])
{
	static const char get_sql[] = "SELECT secret FROM serve_secret WHERE id = 1";
	static const char put_sql[] =
		"INSERT OR IGNORE INTO serve_secret (id, secret, created_at) "
		"VALUES (1, ?1, ?2)";
	char fresh[65];
	sqlite3_stmt *stmt;
	enum rk_err err;
	bool found = false;
	int rc;

	for (int round = 0; round < 2; round++) {
		if (!(stmt = store_stmt(store, get_sql)))
			return RK_ERR_DB;
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			found = copy_col(stmt, 0, secret, 65) && strlen(secret) == 64;
		store_done(stmt);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return store_fail(store, "read the service secret");
		if (found)
			return RK_OK;
		if (round)
			break;
		if ((err = rk_random_hex(fresh, 32)) || (err = store_begin(store)))
			return err;
		if (!(stmt = store_stmt(store, put_sql))) {
			store_rollback(store);
			return RK_ERR_DB;
		}
		store_bind_text(stmt, 1, fresh);
		sqlite3_bind_int64(stmt, 2, store->now);
		if ((err = store_step_done(store, stmt, "keep the service secret")) ||
		    (err = store_commit(store))) {
			store_rollback(store);
			return err;
		}
	}
	return RK_ERR_INTERNAL;
}

enum rk_err store_ack_form_use(struct rk_store *store, const char *hash_hex,
			       bool *fresh)
{
	static const char sql[] =
		"INSERT OR IGNORE INTO ack_forms_used (form_hash, used_at) "
		"VALUES (?1, ?2)";
	long long changes = 0;
	enum rk_err err = write_hash_now(store, sql, hash_hex, "take a form token",
					 &changes);

	*fresh = !err && changes == 1;
	return err;
}

/* The one integer of a statement without parameters, 0 for NULL. */
static enum rk_err one_int(struct rk_store *store, const char *sql,
			   const char *what, int64_t *out)
{
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	*out = 0;
	if (!stmt)
		return RK_ERR_DB;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	store_done(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? RK_OK : store_fail(store, what);
}

enum rk_err store_queue_oldest(struct rk_store *store, int64_t *message_at,
			       int64_t *event_at)
{
	static const char msg_sql[] =
		"SELECT min(created_at) FROM messages "
		"WHERE direction = 'out' AND state IN ('queued', 'deferred')";
	static const char ev_sql[] =
		"SELECT min(created_at) FROM events WHERE state = 'new'";
	enum rk_err err = one_int(store, msg_sql, "read the message queue", message_at);

	return err ? err : one_int(store, ev_sql, "read the event queue", event_at);
}

enum rk_err store_read_begin(struct rk_store *store)
{
	enum rk_err err;

	if (store->in_tx)
		RK_BUG("nested transaction");
	err = store_step_done(store, store_stmt(store, "BEGIN DEFERRED"),
			      "begin a read");
	if (!err)
		store->in_tx = true;
	return err;
}

void store_read_end(struct rk_store *store)
{
	store_rollback(store); /* nothing was written */
}

enum rk_err store_ping(struct rk_store *store)
{
	static const char sql[] = "SELECT count(*) FROM api_tokens";
	int64_t n;

	return one_int(store, sql, "answer a readiness check", &n);
}
