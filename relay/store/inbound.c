/* Inbound mail: the messages renraku received, what they matched, the
 * remote ticket numbers auto-replies gave, and where an IMAP mailbox was
 * read up to. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* Rows handed out at most at once. */
#define STORE_INBOUND_MAX_ROWS 100000

#define INBOUND_COLS                                                         \
	"id, received_at, source, message_id, hash, mail_from, subject, size, " \
	"truncated, class, ticket_id, matched_by, remote_ticket, "           \
	"failed_rcpts, status, effect, body"

static enum rk_err step_done(struct rk_store *store, sqlite3_stmt *stmt,
			     const char *what)
{
	int rc = sqlite3_step(stmt);

	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK : store_fail(store, what);
}

/* The first n integer columns of the row sql selects for key (a text
 * bound to ?1): out[0..n) (zeros when none), *found (may be NULL). */
static enum rk_err row_ints(struct rk_store *store, const char *sql,
			    const char *key, int64_t *out, int n, bool *found,
			    const char *what)
{
	sqlite3_stmt *stmt;
	int rc;

	for (int i = 0; i < n; i++)
		out[i] = 0;
	if (found)
		*found = false;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, key);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		for (int i = 0; i < n; i++)
			out[i] = sqlite3_column_int64(stmt, i);
		if (found)
			*found = true;
	}
	store_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, what);
	return RK_OK;
}

enum rk_err store_inbound_find(struct rk_store *store, const char *hash,
			       int64_t *id, bool *found)
{
	static const char sql[] = "SELECT id FROM inbound WHERE hash = ?1";

	return row_ints(store, sql, hash, id, 1, found,
			"look up an inbound message");
}

enum rk_err store_inbound_add(struct rk_store *store,
			      const struct store_inbound *in, int64_t *id_out)
{
	static const char sql[] =
		"INSERT INTO inbound (received_at, source, message_id, hash, "
		"mail_from, subject, size, truncated, class, ticket_id, "
		"matched_by, remote_ticket, failed_rcpts, status, effect, body, "
		"raw) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, "
		"?13, ?14, ?15, ?16, ?17)";
	sqlite3_stmt *stmt;
	enum rk_err err;

	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, store->now);
	store_bind_text(stmt, 2, in->source);
	store_bind_text(stmt, 3, in->message_id);
	store_bind_text(stmt, 4, in->hash);
	store_bind_text(stmt, 5, in->mail_from);
	store_bind_text(stmt, 6, in->subject);
	sqlite3_bind_int64(stmt, 7, in->size);
	sqlite3_bind_int(stmt, 8, in->truncated ? 1 : 0);
	store_bind_text(stmt, 9, in->class_name);
	store_bind_text(stmt, 10, in->ticket_id);
	store_bind_text(stmt, 11, in->matched_by);
	store_bind_text(stmt, 12, in->remote_ticket);
	store_bind_text(stmt, 13, in->failed_rcpts);
	store_bind_text(stmt, 14, in->status);
	store_bind_text(stmt, 15, in->effect);
	store_bind_text(stmt, 16, in->body);
	sqlite3_bind_blob64(stmt, 17, in->raw ? (const void *)in->raw : "",
			    in->raw_len, SQLITE_STATIC);
	if ((err = step_done(store, stmt, "store an inbound message")))
		return err;
	*id_out = sqlite3_last_insert_rowid(store->db);
	return RK_OK;
}

enum rk_err store_inbound_set_ticket(struct rk_store *store, int64_t id,
				     const char *ticket_id,
				     const char *matched_by, const char *effect)
{
	static const char sql[] =
		"UPDATE inbound SET ticket_id = ?2, matched_by = ?3, "
		"effect = ?4 WHERE id = ?1";
	sqlite3_stmt *stmt;

	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, id);
	store_bind_text(stmt, 2, ticket_id);
	store_bind_text(stmt, 3, matched_by);
	store_bind_text(stmt, 4, effect);
	return step_done(store, stmt, "attach an inbound message");
}

void store_inbound_release(struct store_inbound *in)
{
	free(in->source);
	free(in->message_id);
	free(in->hash);
	free(in->mail_from);
	free(in->subject);
	free(in->class_name);
	free(in->ticket_id);
	free(in->matched_by);
	free(in->remote_ticket);
	free(in->failed_rcpts);
	free(in->status);
	free(in->effect);
	free(in->body);
	free(in->raw);
	memset(in, 0, sizeof(*in));
}

void store_inbound_free(struct store_inbound *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		store_inbound_release(&rows[i]);
	free(rows);
}

static enum rk_err inbound_row(sqlite3_stmt *stmt, void *row)
{
	struct store_inbound *in = row;
	bool ok = true;

	in->id = sqlite3_column_int64(stmt, 0);
	in->received_at = sqlite3_column_int64(stmt, 1);
	in->source = store_col_text(stmt, 2, &ok);
	in->message_id = store_col_text(stmt, 3, &ok);
	in->hash = store_col_text(stmt, 4, &ok);
	in->mail_from = store_col_text(stmt, 5, &ok);
	in->subject = store_col_text(stmt, 6, &ok);
	in->size = sqlite3_column_int64(stmt, 7);
	in->truncated = sqlite3_column_int(stmt, 8) != 0;
	in->class_name = store_col_text(stmt, 9, &ok);
	in->ticket_id = store_col_text(stmt, 10, &ok);
	in->matched_by = store_col_text(stmt, 11, &ok);
	in->remote_ticket = store_col_text(stmt, 12, &ok);
	in->failed_rcpts = store_col_text(stmt, 13, &ok);
	in->status = store_col_text(stmt, 14, &ok);
	in->effect = store_col_text(stmt, 15, &ok);
	in->body = store_col_text(stmt, 16, &ok);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void inbound_release_row(void *row)
{
	store_inbound_release(row);
}

enum rk_err store_inbound_list(struct rk_store *store, bool unmatched,
			       const char *ticket_id,
			       struct store_inbound **rows, size_t *n)
{
	static const char sql[] =
		"SELECT " INBOUND_COLS " FROM inbound "
		"WHERE (?1 = 0 OR ticket_id IS NULL) "
		"AND (?2 IS NULL OR ticket_id = ?2) ORDER BY id LIMIT ?3";
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int(stmt, 1, unmatched ? 1 : 0);
	store_bind_text(stmt, 2, ticket_id);
	sqlite3_bind_int64(stmt, 3, STORE_INBOUND_MAX_ROWS);
	return store_collect(store, stmt, sizeof(**rows), inbound_row,
			     inbound_release_row, "read inbound messages",
			     (void **)rows, n);
}

enum rk_err store_inbound_get(struct rk_store *store, int64_t id,
			      struct store_inbound *out)
{
	static const char sql[] =
		"SELECT " INBOUND_COLS ", raw FROM inbound WHERE id = ?1";
	sqlite3_stmt *stmt;
	enum rk_err err = RK_OK;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const void *raw = sqlite3_column_blob(stmt, 17);
		int len = sqlite3_column_bytes(stmt, 17);

		err = inbound_row(stmt, out);
		if (!err && (out->raw = malloc((size_t)len + 1))) {
			if (len)
				memcpy(out->raw, raw, (size_t)len);
			out->raw[len] = '\0';
			out->raw_len = (size_t)len;
		} else if (!err) {
			err = RK_ERR_NOMEM;
		}
	} else if (rc == SQLITE_DONE) {
		err = RK_ERR_NOTFOUND;
	} else {
		err = store_fail(store, "read an inbound message");
	}
	store_done(stmt);
	if (err)
		store_inbound_release(out);
	return err;
}

/* ------------------------------------------------------------ matching */

enum rk_err store_sent_message_find(struct rk_store *store,
				    const char *message_id,
				    int64_t *message_row,
				    char ticket_id[32], bool *found)
{
	static const char sql[] =
		"SELECT id, ticket_id FROM messages WHERE message_id = ?1 "
		"AND direction = 'out' AND ticket_id IS NOT NULL";
	sqlite3_stmt *stmt;
	int rc;

	*found = false;
	*message_row = 0;
	ticket_id[0] = '\0';
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, message_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(stmt, 1);
		size_t len = t ? strlen((const char *)t) : 0;

		if (t && len < 32) {
			*message_row = sqlite3_column_int64(stmt, 0);
			memcpy(ticket_id, t, len + 1);
			*found = true;
		}
	}
	store_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, "look up a sent message");
	return RK_OK;
}

enum rk_err store_ticket_last_notice(struct rk_store *store,
				     const char *ticket_id,
				     int64_t *message_row)
{
	static const char sql[] =
		"SELECT coalesce(max(id), 0) FROM messages WHERE ticket_id = ?1 "
		"AND direction = 'out'";

	return row_ints(store, sql, ticket_id, message_row, 1, NULL,
			"read a ticket's last notice");
}

enum rk_err store_delivery_bounced_later(struct rk_store *store,
					 int64_t message_row,
					 const char *rcpt, const char *reply,
					 bool *found)
{
	static const char sql[] =
		"UPDATE deliveries SET state = 'bounced', reply = ?3, "
		"updated_at = ?4 WHERE message_row = ?1 "
		"AND rcpt = ?2 COLLATE NOCASE AND state IN ('sent', 'bounced')";
	static const char msg_sql[] =
		"SELECT message_id FROM messages WHERE id = ?1";
	sqlite3_stmt *stmt;
	char *message_id = NULL;
	bool ok = true;
	enum rk_err err;

	*found = false;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, message_row);
	store_bind_text(stmt, 2, rcpt);
	store_bind_text(stmt, 3, reply);
	sqlite3_bind_int64(stmt, 4, store->now);
	if ((err = step_done(store, stmt, "record a bounce")))
		return err;
	*found = sqlite3_changes(store->db) > 0;
	if (!(stmt = store_stmt(store, msg_sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, message_row);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		message_id = store_col_text(stmt, 0, &ok);
	store_done(stmt);
	if (!ok)
		return RK_ERR_NOMEM;
	/* the same mark a 5xx at delivery time sets */
	err = store_address_mark_failing(store, rcpt, reply, message_id);
	free(message_id);
	return err;
}

/* ------------------------------------------------------------ remote */

enum rk_err store_ticket_set_remote(struct rk_store *store,
				    const char *ticket_id, const char *remote)
{
	static const char sql[] =
		"INSERT INTO ticket_remote (ticket_id, remote_ticket, updated_at) "
		"VALUES (?1, ?2, ?3) ON CONFLICT (ticket_id) DO UPDATE SET "
		"remote_ticket = excluded.remote_ticket, "
		"updated_at = excluded.updated_at";
	sqlite3_stmt *stmt;

	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	store_bind_text(stmt, 2, remote);
	sqlite3_bind_int64(stmt, 3, store->now);
	return step_done(store, stmt, "record a remote ticket");
}

enum rk_err store_ticket_remote(struct rk_store *store, const char *ticket_id,
				char **remote)
{
	static const char sql[] =
		"SELECT remote_ticket FROM ticket_remote WHERE ticket_id = ?1";
	sqlite3_stmt *stmt;
	bool ok = true;
	int rc;

	*remote = NULL;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*remote = store_col_text(stmt, 0, &ok);
	store_done(stmt);
	if (!ok)
		return RK_ERR_NOMEM;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, "read a remote ticket");
	return RK_OK;
}

/* ------------------------------------------------------------ IMAP */

enum rk_err store_imap_state(struct rk_store *store, const char *mailbox,
			     int64_t *uidvalidity, int64_t *last_uid)
{
	static const char sql[] =
		"SELECT uidvalidity, last_uid FROM imap_state WHERE mailbox = ?1";
	int64_t v[2];
	enum rk_err err = row_ints(store, sql, mailbox, v, 2, NULL,
				   "read the IMAP state");

	*uidvalidity = v[0];
	*last_uid = v[1];
	return err;
}

enum rk_err store_imap_state_set(struct rk_store *store, const char *mailbox,
				 int64_t uidvalidity, int64_t last_uid)
{
	static const char sql[] =
		"INSERT INTO imap_state (mailbox, uidvalidity, last_uid) "
		"VALUES (?1, ?2, ?3) ON CONFLICT (mailbox) DO UPDATE SET "
		"uidvalidity = excluded.uidvalidity, last_uid = excluded.last_uid";
	sqlite3_stmt *stmt;

	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, mailbox);
	sqlite3_bind_int64(stmt, 2, uidvalidity);
	sqlite3_bind_int64(stmt, 3, last_uid);
	return step_done(store, stmt, "record the IMAP state");
}
