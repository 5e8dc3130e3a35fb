/* What tracking keeps: acknowledgement tokens (only their SHA-256),
 * the tickets the follow-up schedule watches, a ticket's first notice. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

enum rk_err store_ack_token_add(struct rk_store *store, const char *hash_hex,
				const char *ticket_id, int level,
				const char *message_id)
{
	static const char sql[] =
		"INSERT INTO ack_tokens (token_hash, ticket_id, level, "
		"message_id, created_at) VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *stmt;
	int rc;

	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, hash_hex);
	store_bind_text(stmt, 2, ticket_id);
	sqlite3_bind_int(stmt, 3, level);
	store_bind_text(stmt, 4, message_id);
	sqlite3_bind_int64(stmt, 5, store->now);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK
				 : store_fail(store, "store an acknowledgement token");
}

enum rk_err store_ack_token_find(struct rk_store *store, const char *hash_hex,
				 char stored_hash[65], char ticket_id[32],
				 bool *found)
{
	static const char sql[] =
		"SELECT token_hash, ticket_id FROM ack_tokens "
		"WHERE token_hash = ?1";
	sqlite3_stmt *stmt;
	int rc;

	*found = false;
	stored_hash[0] = ticket_id[0] = '\0';
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, hash_hex);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(stmt, 0);
		const char *id = (const char *)sqlite3_column_text(stmt, 1);

		if (h && id && strlen(h) < 65 && strlen(id) < 32) {
			memcpy(stored_hash, h, strlen(h) + 1);
			memcpy(ticket_id, id, strlen(id) + 1);
			*found = true;
		}
	}
	store_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, "read acknowledgement tokens");
	return RK_OK;
}

enum rk_err store_ack_token_used(struct rk_store *store, const char *hash_hex)
{
	static const char sql[] =
		"UPDATE ack_tokens SET used_at = ?2 WHERE token_hash = ?1";
	sqlite3_stmt *stmt;
	int rc;

	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, hash_hex);
	sqlite3_bind_int64(stmt, 2, store->now);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK
				 : store_fail(store, "mark a token used");
}

static enum rk_err id_row(sqlite3_stmt *stmt, void *row)
{
	char *id = row;
	const char *v = (const char *)sqlite3_column_text(stmt, 0);

	if (v && strlen(v) < 32)
		memcpy(id, v, strlen(v) + 1);
	return RK_OK;
}

static void id_release(void *row)
{
	(void)row; /* nothing owned */
}

enum rk_err store_tickets_following(struct rk_store *store,
				    char (**ids)[32], size_t *n)
{
	static const char sql[] =
		"SELECT t.id FROM tickets t WHERE t.state IN ('notified', "
		"'auto-acknowledged') AND (SELECT m.state FROM messages m "
		"WHERE m.ticket_id = t.id AND m.direction = 'out' "
		"ORDER BY m.id DESC LIMIT 1) = 'sent' ORDER BY t.id";
	sqlite3_stmt *stmt;

	*ids = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	return store_collect(store, stmt, 32, id_row, id_release,
			     "read the tickets followed up", (void **)ids, n);
}

enum rk_err store_ticket_events_unnotify_all(struct rk_store *store,
					     const char *id)
{
	static const char sql[] =
		"UPDATE ticket_events SET message_row = NULL WHERE ticket_id = ?1";
	sqlite3_stmt *stmt;
	int rc;

	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK
				 : store_fail(store, "mark events not notified");
}

enum rk_err store_ticket_first_notice(struct rk_store *store, const char *id,
				      char **message_id, char **rcpt,
				      int64_t *created_at)
{
	static const char sql[] =
		"SELECT message_id, rcpt, created_at FROM messages "
		"WHERE ticket_id = ?1 AND direction = 'out' ORDER BY id LIMIT 1";
	sqlite3_stmt *stmt;
	bool ok = true;
	int rc;

	*message_id = NULL;
	if (rcpt)
		*rcpt = NULL;
	if (created_at)
		*created_at = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*message_id = store_col_text(stmt, 0, &ok);
		if (rcpt)
			*rcpt = store_col_text(stmt, 1, &ok);
		if (created_at)
			*created_at = sqlite3_column_int64(stmt, 2);
	}
	store_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, "read a ticket's first notice");
	if (!ok) {
		free(*message_id);
		*message_id = NULL;
		if (rcpt) {
			free(*rcpt);
			*rcpt = NULL;
		}
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

enum rk_err store_ticket_find_followed(struct rk_store *store,
				       const char *contact,
				       const char *template_name,
				       bool restricted, long long max_events,
				       unsigned severity_mask, char id_out[32],
				       bool *found)
{
	static const char sql[] =
		"SELECT t.id FROM tickets t WHERE t.contact = ?1 "
		"AND t.template = ?2 "
		"AND t.state IN ('notified', 'auto-acknowledged') "
		"AND t.approved_by IS NULL "
		"AND (t.tlp >= 2) = ?3 AND t.event_count < ?4 "
		"AND ((?5 >> t.severity) & 1) = 1 "
		"ORDER BY t.created_at DESC, t.id DESC LIMIT 1";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	*found = false;
	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, contact);
	store_bind_text(stmt, 2, template_name);
	sqlite3_bind_int(stmt, 3, restricted ? 1 : 0);
	sqlite3_bind_int64(stmt, 4, max_events);
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)severity_mask);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(stmt, 0);

		if (id && strlen(id) < 32) {
			memcpy(id_out, id, strlen(id) + 1);
			*found = true;
		}
	}
	store_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, "find a followed ticket");
	return RK_OK;
}
