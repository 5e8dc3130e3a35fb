/* Messages: every mail renraku queued or sent, with its Message-ID, the
 * transport's result, and (for outgoing mail) the exact bytes. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* Rows hand out at most this many at once (a batch, not a cursor). */
#define STORE_MSG_MAX_BATCH 10000

#define MESSAGE_COLS                                                        \
	"id, ticket_id, direction, kind, message_id, mail_from, rcpt, "     \
	"subject, state, location, reply, created_at, sent_at"

void store_message_release(struct store_message *m)
{
	if (!m)
		return;
	free(m->ticket_id);
	free(m->direction);
	free(m->kind);
	free(m->message_id);
	free(m->mail_from);
	free(m->rcpt);
	free(m->subject);
	free(m->state);
	free(m->location);
	free(m->reply);
	free(m->raw);
	memset(m, 0, sizeof(*m));
}

void store_messages_free(struct store_message *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		store_message_release(&rows[i]);
	free(rows);
}

/* Fill m from the current row of a statement that selected MESSAGE_COLS
 * (and, when raw_col >= 0, the raw bytes in that column). */
static enum rk_err message_read(sqlite3_stmt *stmt, int raw_col,
				struct store_message *m)
{
	bool ok = true;

	memset(m, 0, sizeof(*m));
	m->id = sqlite3_column_int64(stmt, 0);
	m->ticket_id = store_col_text(stmt, 1, &ok);
	m->direction = store_col_text(stmt, 2, &ok);
	m->kind = store_col_text(stmt, 3, &ok);
	m->message_id = store_col_text(stmt, 4, &ok);
	m->mail_from = store_col_text(stmt, 5, &ok);
	m->rcpt = store_col_text(stmt, 6, &ok);
	m->subject = store_col_text(stmt, 7, &ok);
	m->state = store_col_text(stmt, 8, &ok);
	m->location = store_col_text(stmt, 9, &ok);
	m->reply = store_col_text(stmt, 10, &ok);
	m->created_at = sqlite3_column_int64(stmt, 11);
	m->sent_at = sqlite3_column_int64(stmt, 12);
	if (ok && raw_col >= 0) {
		const void *blob = sqlite3_column_blob(stmt, raw_col);
		int n = sqlite3_column_bytes(stmt, raw_col);

		if (blob && n > 0) {
			/* one spare NUL so the raw text can be printed */
			m->raw = malloc((size_t)n + 1);
			if (m->raw) {
				memcpy(m->raw, blob, (size_t)n);
				m->raw[n] = '\0';
				m->raw_len = (size_t)n;
			} else {
				ok = false;
			}
		}
	}
	if (!ok) {
		store_message_release(m);
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

/* Step stmt to the end, collecting rows (caller frees *rows). */
static enum rk_err message_rows(struct rk_store *store, sqlite3_stmt *stmt,
				int raw_col, size_t limit,
				struct store_message **rows, size_t *n,
				const char *what)
{
	struct store_message *list = NULL;
	size_t count = 0, alloc = 0;
	enum rk_err err = RK_OK;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (count == limit) {
			err = RK_ERR_LIMIT;
			break;
		}
		if (count == alloc) {
			size_t want = alloc ? alloc * 2 : 16;
			struct store_message *grown =
				realloc(list, want * sizeof(*list));

			if (!grown) {
				err = RK_ERR_NOMEM;
				break;
			}
			list = grown;
			alloc = want;
		}
		if ((err = message_read(stmt, raw_col, &list[count])))
			break;
		count++;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_fail(store, what);
	if (err) {
		store_messages_free(list, count);
		list = NULL;
		count = 0;
	}
	*rows = list;
	*n = count;
	return err;
}

enum rk_err store_message_add(struct rk_store *store,
			      const struct store_message *m, int64_t *id_out)
{
	static const char sql[] =
		"INSERT INTO messages (ticket_id, direction, kind, message_id, "
		"mail_from, rcpt, subject, state, created_at, raw) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
	sqlite3_stmt *stmt;
	enum rk_err err = RK_OK;
	int rc;

	if (id_out)
		*id_out = 0;
	if (!m->message_id || !*m->message_id ||
	    m->raw_len > (size_t)RK_MAX_MESSAGE || (m->raw_len && !m->raw))
		return RK_ERR_INVAL;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, m->ticket_id);
	store_bind_text(stmt, 2, m->direction ? m->direction : "out");
	store_bind_text(stmt, 3, m->kind ? m->kind : "notice");
	store_bind_text(stmt, 4, m->message_id);
	store_bind_text(stmt, 5, m->mail_from);
	store_bind_text(stmt, 6, m->rcpt);
	store_bind_text(stmt, 7, m->subject);
	store_bind_text(stmt, 8, STORE_MSG_QUEUED);
	sqlite3_bind_int64(stmt, 9, m->created_at ? m->created_at : store->now);
	if (m->raw)
		sqlite3_bind_blob64(stmt, 10, m->raw, m->raw_len,
				    SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, 10);
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		if (sqlite3_extended_errcode(store->db) ==
		    SQLITE_CONSTRAINT_UNIQUE)
			err = rk_fail(store->log, RK_ERR_EXISTS,
				      "message %s is in the store already",
				      m->message_id);
		else
			err = store_fail(store, "add message");
	} else if (id_out) {
		*id_out = sqlite3_last_insert_rowid(store->db);
	}
	store_done(stmt);
	return err;
}

enum rk_err store_messages_pending(struct rk_store *store, int64_t now,
				   size_t limit, struct store_message **rows,
				   size_t *n)
{
	static const char sql[] =
		"SELECT " MESSAGE_COLS ", raw FROM messages "
		"WHERE direction = 'out' AND (state IN ('queued', 'sending') "
		"OR (state = 'deferred' AND next_attempt <= ?2)) "
		"ORDER BY id LIMIT ?1";
	sqlite3_stmt *stmt;
	enum rk_err err;

	*rows = NULL;
	*n = 0;
	if (limit == 0)
		return RK_OK;
	if (limit > STORE_MSG_MAX_BATCH)
		limit = STORE_MSG_MAX_BATCH;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, (sqlite3_int64)limit);
	sqlite3_bind_int64(stmt, 2, now);
	err = message_rows(store, stmt, 13, limit, rows, n,
			   "read pending messages");
	store_done(stmt);
	return err;
}

static bool message_state_known(const char *state)
{
	static const char *const states[] = {
		STORE_MSG_QUEUED, STORE_MSG_SENDING, STORE_MSG_SENT,
		STORE_MSG_DEFERRED, STORE_MSG_FAILED,
	};

	for (size_t i = 0; state && i < RK_ARRAY_LEN(states); i++)
		if (strcmp(state, states[i]) == 0)
			return true;
	return false;
}

enum rk_err store_message_set_state(struct rk_store *store, int64_t id,
				    const char *state, const char *location,
				    const char *reply, int64_t now)
{
	static const char sql[] =
		"UPDATE messages SET "
		"state = CASE WHEN ?2 = 'deferred' AND attempts + 1 >= ?7 "
		"        THEN 'failed' ELSE ?2 END, "
		"location = coalesce(?3, location), "
		"reply = coalesce(?4, reply), "
		"sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END, "
		"next_attempt = CASE WHEN ?2 = 'deferred' THEN "
		"        ?5 + min(?6, ?8 << min(attempts, 16)) "
		"        ELSE next_attempt END, "
		"attempts = attempts + (?2 = 'deferred') "
		"WHERE id = ?1 RETURNING message_id, state";
	sqlite3_stmt *stmt;
	char action[64], *message_id = NULL;
	bool ok = true;
	enum rk_err err;
	int rc;

	if (!message_state_known(state))
		return RK_ERR_INVAL;
	if ((err = store_begin(store)))
		return err;
	if (!(stmt = store_stmt(store, sql))) {
		err = RK_ERR_DB;
		goto cleanup;
	}
	sqlite3_bind_int64(stmt, 1, id);
	store_bind_text(stmt, 2, state);
	store_bind_text(stmt, 3, location);
	store_bind_text(stmt, 4, reply);
	sqlite3_bind_int64(stmt, 5, now);
	sqlite3_bind_int64(stmt, 6, STORE_RETRY_MAX);
	sqlite3_bind_int64(stmt, 7, STORE_RETRY_ATTEMPTS);
	sqlite3_bind_int64(stmt, 8, STORE_RETRY_FIRST);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		const unsigned char *final = sqlite3_column_text(stmt, 1);

		message_id = store_col_text(stmt, 0, &ok);
		snprintf(action, sizeof(action), "message.%s",
			 final ? (const char *)final : state);
		rc = sqlite3_step(stmt);
	} else if (rc == SQLITE_DONE) {
		err = RK_ERR_NOTFOUND;
	}
	if (!err && !ok)
		err = RK_ERR_NOMEM;
	if (!err && rc != SQLITE_DONE)
		err = store_fail(store, "set message state");
	store_done(stmt);
	if (err)
		goto cleanup;
	if ((err = store_audit(store, "deliver", action, message_id,
			       reply ? reply : location)))
		goto cleanup;
	err = store_commit(store);
cleanup:
	if (err)
		store_rollback(store);
	free(message_id);
	return err;
}

enum rk_err store_ticket_messages(struct rk_store *store,
				  const char *ticket_id,
				  struct store_message **rows, size_t *n)
{
	static const char sql[] =
		"SELECT " MESSAGE_COLS " FROM messages "
		"WHERE ticket_id = ?1 ORDER BY id";
	sqlite3_stmt *stmt;
	enum rk_err err;

	*rows = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	err = message_rows(store, stmt, -1, STORE_MSG_MAX_BATCH, rows, n,
			   "read a ticket's messages");
	store_done(stmt);
	return err;
}
