/* Messages: every mail renraku queued or sent, with its Message-ID, the
 * transport's result, and (for outgoing mail) the exact bytes; and
 * deliveries: one row per envelope recipient, with what the transport
 * said about it.  A message's state is derived from its deliveries. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* Rows hand out at most this many at once (a batch, not a cursor). */
#define STORE_MSG_MAX_BATCH 10000
/* An envelope address is at most 256 bytes (RFC 5321 4.5.3.1.3). */
#define STORE_MAX_RCPT_LEN 320

#define MESSAGE_COLS                                                        \
	"id, ticket_id, direction, kind, message_id, mail_from, rcpt, "     \
	"subject, state, location, reply, created_at, sent_at, attempts, "  \
	"next_attempt"
#define MESSAGE_NCOLS 15
/* The raw bytes after MESSAGE_COLS: message_raw (migration 6), or the
 * column the row had before it. */
#define MESSAGE_RAW_COL                                                     \
	"coalesce((SELECT r.raw FROM message_raw r "                        \
	"WHERE r.message_row = messages.id), messages.raw)"

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
	m->attempts = sqlite3_column_int64(stmt, 13);
	m->next_attempt = sqlite3_column_int64(stmt, 14);
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

static enum rk_err message_row_raw(sqlite3_stmt *stmt, void *row)
{
	return message_read(stmt, MESSAGE_NCOLS, row);
}

static enum rk_err message_row_plain(sqlite3_stmt *stmt, void *row)
{
	return message_read(stmt, -1, row);
}

static void message_release_row(void *row)
{
	store_message_release(row);
}

/* In a transaction.  One delivery row (queued) per address of rcpt;
 * message_row 0: only check the list, write nothing. */
static enum rk_err deliveries_add(struct rk_store *store, int64_t message_row,
				  const char *rcpt, int64_t now)
{
	static const char sql[] =
		"INSERT INTO deliveries (message_row, rcpt, state, updated_at) "
		"VALUES (?1, ?2, 'queued', ?3)";
	const char *p = rcpt, *item;
	size_t len, count = 0;

	while (p && rk_list_next(&p, &item, &len)) {
		sqlite3_stmt *stmt;
		int rc;

		if (len == 0)
			continue;
		if (++count > STORE_MSG_MAX_RCPTS)
			return rk_fail(store->log, RK_ERR_LIMIT,
				       "a message has more than %d recipients",
				       STORE_MSG_MAX_RCPTS);
		if (len > STORE_MAX_RCPT_LEN)
			return rk_fail(store->log, RK_ERR_INVAL,
				       "a recipient is longer than %d bytes",
				       STORE_MAX_RCPT_LEN);
		for (size_t i = 0; i < len; i++)
			if ((unsigned char)item[i] < 0x20 || item[i] == 0x7f)
				return rk_fail(store->log, RK_ERR_INVAL,
					       "a recipient holds a control "
					       "character");
		if (message_row == 0)
			continue;
		if (!(stmt = store_stmt(store, sql)))
			return RK_ERR_DB;
		sqlite3_bind_int64(stmt, 1, message_row);
		sqlite3_bind_text(stmt, 2, item, (int)len, SQLITE_TRANSIENT);
		sqlite3_bind_int64(stmt, 3, now);
		rc = sqlite3_step(stmt);
		store_done(stmt);
		if (rc != SQLITE_DONE)
			return store_fail(store, "add delivery");
	}
	return RK_OK;
}

/* The raw bytes of message row, in their own table (migration 6): they
 * are written once, the messages row changes state many times. */
static enum rk_err raw_add(struct rk_store *store, int64_t row,
			   const struct store_message *m)
{
	static const char sql[] =
		"INSERT INTO message_raw (message_row, raw) VALUES (?1, ?2)";
	sqlite3_stmt *stmt;
	enum rk_err err;
	int rc;

	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, row);
	sqlite3_bind_blob64(stmt, 2, m->raw, m->raw_len, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	err = rc == SQLITE_DONE ? RK_OK : store_fail(store, "add message bytes");
	store_done(stmt);
	return err;
}

enum rk_err store_message_add(struct rk_store *store,
			      const struct store_message *m, int64_t *id_out)
{
	static const char sql[] =
		"INSERT INTO messages (ticket_id, direction, kind, message_id, "
		"mail_from, rcpt, subject, state, created_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
	sqlite3_stmt *stmt;
	enum rk_err err = RK_OK;
	int rc;

	if (id_out)
		*id_out = 0;
	if (!m->message_id || !*m->message_id ||
	    m->raw_len > (size_t)RK_MAX_MESSAGE || (m->raw_len && !m->raw))
		return RK_ERR_INVAL;
	if ((err = deliveries_add(store, 0, m->rcpt, 0)))
		return err;
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
	rc = sqlite3_step(stmt);
	if (rc != SQLITE_DONE) {
		if (sqlite3_extended_errcode(store->db) ==
		    SQLITE_CONSTRAINT_UNIQUE)
			err = rk_fail(store->log, RK_ERR_EXISTS,
				      "message %s is in the store already",
				      m->message_id);
		else
			err = store_fail(store, "add message");
	} else {
		int64_t row = sqlite3_last_insert_rowid(store->db);

		store_done(stmt);
		if ((m->raw && (err = raw_add(store, row, m)) != RK_OK) ||
		    (err = deliveries_add(store, row, m->rcpt, store->now)))
			return err;
		if (id_out)
			*id_out = row;
		return RK_OK;
	}
	store_done(stmt);
	return err;
}

enum rk_err store_messages_pending(struct rk_store *store, int64_t now,
				   size_t limit, struct store_message **rows,
				   size_t *n)
{
	return store_messages_pending_after(store, now, 0, limit, rows, n);
}

struct store_retry store_retry_attempts(long long max_attempts)
{
	struct store_retry r = {max_attempts, STORE_RETRY_FIRST,
				STORE_RETRY_MAX, 0, 0, 0};

	return r;
}

enum rk_err store_messages_pending_after(struct rk_store *store, int64_t now,
					 int64_t after_id, size_t limit,
					 struct store_message **rows,
					 size_t *n)
{
	static const char sql[] =
		"SELECT " MESSAGE_COLS ", " MESSAGE_RAW_COL " FROM messages "
		"WHERE direction = 'out' AND id > ?3 "
		"AND (state IN ('queued', 'sending') "
		"OR (state = 'deferred' AND next_attempt <= ?2)) "
		"ORDER BY id LIMIT ?1";
	sqlite3_stmt *stmt;

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
	sqlite3_bind_int64(stmt, 3, after_id);
	return store_collect(store, stmt, sizeof(**rows), message_row_raw,
			     message_release_row, "read pending messages",
			     (void **)rows, n);
}

enum rk_err store_messages_queued(struct rk_store *store, size_t limit,
				  size_t *n)
{
	/* the literal 'queued' lets the planner take messages_by_state */
	static const char sql[] =
		"SELECT count(*) FROM (SELECT 1 FROM messages "
		"WHERE state = 'queued' AND direction = 'out' LIMIT ?1)";
	sqlite3_stmt *stmt;
	int rc;

	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, limit > (size_t)INT64_MAX
					    ? INT64_MAX
					    : (sqlite3_int64)limit);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(stmt, 0);
	store_done(stmt);
	if (rc != SQLITE_ROW)
		return store_fail(store, "count queued messages");
	return RK_OK;
}

/* ------------------------------------------------------------ deliveries */

#define DELIVERY_COLS                                                       \
	"id, message_row, rcpt, state, attempts, next_attempt, reply, "     \
	"location, updated_at"

void store_delivery_release(struct store_delivery *d)
{
	if (!d)
		return;
	free(d->rcpt);
	free(d->state);
	free(d->reply);
	free(d->location);
	memset(d, 0, sizeof(*d));
}

void store_deliveries_free(struct store_delivery *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		store_delivery_release(&rows[i]);
	free(rows);
}

static enum rk_err delivery_row(sqlite3_stmt *stmt, void *row)
{
	struct store_delivery *d = row;
	bool ok = true;

	d->id = sqlite3_column_int64(stmt, 0);
	d->message_row = sqlite3_column_int64(stmt, 1);
	d->rcpt = store_col_text(stmt, 2, &ok);
	d->state = store_col_text(stmt, 3, &ok);
	d->attempts = sqlite3_column_int64(stmt, 4);
	d->next_attempt = sqlite3_column_int64(stmt, 5);
	d->reply = store_col_text(stmt, 6, &ok);
	d->location = store_col_text(stmt, 7, &ok);
	d->updated_at = sqlite3_column_int64(stmt, 8);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void delivery_release_row(void *row)
{
	store_delivery_release(row);
}

enum rk_err store_message_deliveries(struct rk_store *store,
				     int64_t message_row,
				     struct store_delivery **rows, size_t *n)
{
	static const char sql[] =
		"SELECT " DELIVERY_COLS " FROM deliveries "
		"WHERE message_row = ?1 ORDER BY id";
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, message_row);
	return store_collect(store, stmt, sizeof(**rows), delivery_row,
			     delivery_release_row, "read deliveries",
			     (void **)rows, n);
}

/* The message row's Message-ID, recipients, state and attempts. */
struct message_head {
	char *message_id;
	char *rcpt;
	char *state;
	long long attempts;
	int64_t created_at;
};

static void message_head_release(struct message_head *h)
{
	free(h->message_id);
	free(h->rcpt);
	free(h->state);
	memset(h, 0, sizeof(*h));
}

static enum rk_err message_head(struct rk_store *store, int64_t id,
				struct message_head *h)
{
	static const char sql[] =
		"SELECT message_id, rcpt, state, attempts, created_at "
		"FROM messages WHERE id = ?1 AND direction = 'out'";
	sqlite3_stmt *stmt;
	enum rk_err err = RK_OK;
	bool ok = true;
	int rc;

	memset(h, 0, sizeof(*h));
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		h->message_id = store_col_text(stmt, 0, &ok);
		h->rcpt = store_col_text(stmt, 1, &ok);
		h->state = store_col_text(stmt, 2, &ok);
		h->attempts = sqlite3_column_int64(stmt, 3);
		h->created_at = sqlite3_column_int64(stmt, 4);
		if (!ok || !h->state)
			err = RK_ERR_NOMEM;
	} else if (rc == SQLITE_DONE) {
		err = RK_ERR_NOTFOUND;
	} else {
		err = store_fail(store, "read message");
	}
	store_done(stmt);
	if (err)
		message_head_release(h);
	return err;
}

static bool message_pending_state(const char *state)
{
	return strcmp(state, STORE_MSG_QUEUED) == 0 ||
	       strcmp(state, STORE_MSG_SENDING) == 0 ||
	       strcmp(state, STORE_MSG_DEFERRED) == 0;
}

/* In a transaction.  The head of outgoing message id, which must be
 * waiting for delivery (queued, sending or deferred: RK_ERR_INVAL). */
static enum rk_err message_head_pending(struct rk_store *store, int64_t id,
					struct message_head *h)
{
	enum rk_err err = message_head(store, id, h);

	if (!err && !message_pending_state(h->state))
		err = rk_fail(store->log, RK_ERR_INVAL,
			      "message %s is %s, not waiting for delivery",
			      h->message_id ? h->message_id : "?", h->state);
	return err;
}

/* Counts of a message's deliveries: unfinished (queued or deferred),
 * accepted, and all. */
static enum rk_err delivery_counts(struct rk_store *store, int64_t id,
				   long long *open, long long *sent,
				   long long *total)
{
	static const char sql[] =
		"SELECT count(*), "
		"coalesce(sum(state IN ('queued', 'deferred')), 0), "
		"coalesce(sum(state = 'sent'), 0) "
		"FROM deliveries WHERE message_row = ?1";
	sqlite3_stmt *stmt;
	enum rk_err err = RK_OK;

	*open = *sent = *total = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, id);
	if (sqlite3_step(stmt) == SQLITE_ROW) {
		*total = sqlite3_column_int64(stmt, 0);
		*open = sqlite3_column_int64(stmt, 1);
		*sent = sqlite3_column_int64(stmt, 2);
	} else {
		err = store_fail(store, "count deliveries");
	}
	store_done(stmt);
	return err;
}

/* Whether the policy allows another attempt of a message with h's
 * attempts and age at now; when not, why into why[len]. */
static bool retry_allowed(const struct store_retry *retry,
			  const struct message_head *h, int64_t now,
			  char *why, size_t len)
{
	if (h->attempts >= retry->max_attempts) {
		snprintf(why, len, "gave up after %lld attempts", h->attempts);
		return false;
	}
	if (retry->give_up_after > 0 &&
	    now >= h->created_at + retry->give_up_after) {
		snprintf(why, len,
			 "gave up after %lld attempts in %lld s (give_up_after)",
			 h->attempts, (long long)(now - h->created_at));
		return false;
	}
	return true;
}

/* When the message of h, deferred at now, is tried again: the doubling
 * delay with its jitter, never after its give_up_after. */
static int64_t retry_at(const struct store_retry *retry, int64_t id,
			const struct message_head *h, int64_t now)
{
	long long shift = h->attempts > 0 ? h->attempts - 1 : 0;
	int64_t first = retry->initial > 0 ? retry->initial : STORE_RETRY_FIRST;
	int64_t cap = retry->max_delay >= first ? retry->max_delay : first;
	int64_t delay = cap, next;

	if (shift < 32 && (first << shift) < cap)
		delay = first << shift;
	if (retry->jitter_pct > 0) {
		char key[64];
		uint64_t r;
		int n = snprintf(key, sizeof(key), "%llu:%lld:%lld",
				 (unsigned long long)retry->jitter_seed,
				 (long long)id, h->attempts);

		r = rk_hash(key, (size_t)(n > 0 ? n : 0));
		/* up to jitter_pct percent more, in steps of 1/1000 */
		delay += delay * (int64_t)retry->jitter_pct *
			 (int64_t)(r % 1000) / 100000;
	}
	next = now + delay;
	if (retry->give_up_after > 0 &&
	    next > h->created_at + retry->give_up_after)
		next = h->created_at + retry->give_up_after;
	return next > now ? next : now + 1;
}

/* The recipients' outcomes an attempt's audit row carries ("; rcpt
 * state: reply" each); recipients past it get rows of their own. */
#define AUDIT_RCPTS_MAX 4096
/* The start of a recipient's reply in the audit log. */
#define AUDIT_REPLY_MAX 400

/* In a transaction.  The message's state from its deliveries (see
 * store_message_finish), written with reply and location (NULL keeps),
 * and audited in one row, with rcpts (the recipients' outcomes, "" or
 * NULL for none) in its detail.  *state_out gets the state. */
static enum rk_err message_settle(struct rk_store *store, int64_t id,
				  const struct message_head *h,
				  const struct store_retry *retry,
				  const char *reply, const char *location,
				  const char *rcpts, int64_t now,
				  const char **state_out)
{
	static const char give_up_sql[] =
		"UPDATE deliveries SET state = 'failed', updated_at = ?2, "
		"next_attempt = 0, reply = ?3 || coalesce(': ' || reply, '') "
		"WHERE message_row = ?1 AND state IN ('queued', 'deferred')";
	static const char defer_sql[] =
		"UPDATE deliveries SET next_attempt = ?2 "
		"WHERE message_row = ?1 AND state IN ('queued', 'deferred')";
	static const char update_sql[] =
		"UPDATE messages SET state = ?2, "
		"reply = coalesce(?3, reply), "
		"location = coalesce(?4, location), "
		"sent_at = CASE WHEN ?2 = 'sent' THEN ?5 ELSE sent_at END, "
		"next_attempt = ?6 WHERE id = ?1";
	long long open, sent, total;
	const char *state;
	char gave_up[128];
	int64_t next = 0;
	sqlite3_stmt *stmt;
	enum rk_err err;
	int rc;

	gave_up[0] = '\0';
	if ((err = delivery_counts(store, id, &open, &sent, &total)))
		return err;
	if (open > 0 && retry_allowed(retry, h, now, gave_up, sizeof(gave_up))) {
		state = STORE_MSG_DEFERRED;
		next = retry_at(retry, id, h, now);
		if (!(stmt = store_stmt(store, defer_sql)))
			return RK_ERR_DB;
		sqlite3_bind_int64(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, next);
		rc = sqlite3_step(stmt);
		store_done(stmt);
		if (rc != SQLITE_DONE)
			return store_fail(store, "defer deliveries");
	} else {
		if (open > 0) {
			if (!(stmt = store_stmt(store, give_up_sql)))
				return RK_ERR_DB;
			sqlite3_bind_int64(stmt, 1, id);
			sqlite3_bind_int64(stmt, 2, now);
			store_bind_text(stmt, 3, gave_up);
			rc = sqlite3_step(stmt);
			store_done(stmt);
			if (rc != SQLITE_DONE)
				return store_fail(store, "give up deliveries");
			if (!reply)
				reply = gave_up;
		}
		state = sent > 0 ? STORE_MSG_SENT : STORE_MSG_FAILED;
		if (total == 0 && !reply)
			reply = "no recipients";
	}
	if (!(stmt = store_stmt(store, update_sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, id);
	store_bind_text(stmt, 2, state);
	store_bind_text(stmt, 3, reply);
	store_bind_text(stmt, 4, location);
	sqlite3_bind_int64(stmt, 5, now);
	sqlite3_bind_int64(stmt, 6, next);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "set message state");
	{
		char action[32], detail[640 + AUDIT_RCPTS_MAX];

		snprintf(action, sizeof(action), "message.%s", state);
		snprintf(detail, sizeof(detail),
			 "attempt %lld: %lld of %lld recipients accepted%s%.512s%s",
			 h->attempts, sent, total, reply ? ": " : "",
			 reply ? reply : "", rcpts ? rcpts : "");
		if ((err = store_audit(store, "deliver", action, h->message_id,
				       detail)))
			return err;
	}
	if (state_out)
		*state_out = state;
	return RK_OK;
}

enum rk_err store_message_attempt(struct rk_store *store, int64_t id,
				  const struct store_retry *retry, int64_t now,
				  struct store_delivery **todo, size_t *n,
				  bool *gave_up)
{
	static const char count_sql[] =
		"SELECT count(*) FROM deliveries WHERE message_row = ?1";
	static const char sending_sql[] =
		"UPDATE messages SET state = 'sending', attempts = attempts + 1 "
		"WHERE id = ?1";
	static const char todo_sql[] =
		"SELECT " DELIVERY_COLS " FROM deliveries "
		"WHERE message_row = ?1 AND state IN ('queued', 'deferred') "
		"ORDER BY id";
	struct message_head h;
	sqlite3_stmt *stmt;
	long long ndeliveries = 0;
	enum rk_err err;
	char why[128];
	int rc;

	*todo = NULL;
	*n = 0;
	*gave_up = false;
	memset(&h, 0, sizeof(h));
	if (retry->max_attempts < 1)
		return RK_ERR_INVAL;
	if ((err = store_begin(store)))
		return err;
	if ((err = message_head_pending(store, id, &h)))
		goto cleanup;
	/* a message queued before deliveries were recorded per recipient */
	if (!(stmt = store_stmt(store, count_sql))) {
		err = RK_ERR_DB;
		goto cleanup;
	}
	sqlite3_bind_int64(stmt, 1, id);
	if (sqlite3_step(stmt) == SQLITE_ROW)
		ndeliveries = sqlite3_column_int64(stmt, 0);
	else
		err = store_fail(store, "count deliveries");
	store_done(stmt);
	if (!err && ndeliveries == 0)
		err = deliveries_add(store, id, h.rcpt, now);
	if (err)
		goto cleanup;
	if (!retry_allowed(retry, &h, now, why, sizeof(why))) {
		*gave_up = true;
		err = message_settle(store, id, &h, retry, NULL, NULL, NULL,
				     now, NULL);
		if (!err)
			err = store_commit(store);
		goto cleanup;
	}
	if (!(stmt = store_stmt(store, sending_sql))) {
		err = RK_ERR_DB;
		goto cleanup;
	}
	sqlite3_bind_int64(stmt, 1, id);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE) {
		err = store_fail(store, "mark message sending");
		goto cleanup;
	}
	/* no audit row of its own: the attempt's outcome row says "attempt
	 * N"; one cut short by a crash leaves the message sending, and the
	 * next outcome row's number shows the attempt counted */
	if (!(stmt = store_stmt(store, todo_sql))) {
		err = RK_ERR_DB;
		goto cleanup;
	}
	sqlite3_bind_int64(stmt, 1, id);
	if ((err = store_collect(store, stmt, sizeof(**todo), delivery_row,
				 delivery_release_row,
				 "read deliveries to send", (void **)todo, n)))
		goto cleanup;
	err = store_commit(store);
cleanup:
	if (err) {
		store_rollback(store);
		store_deliveries_free(*todo, *n);
		*todo = NULL;
		*n = 0;
		*gave_up = false;
	}
	message_head_release(&h);
	return err;
}

static bool delivery_outcome_known(const char *state)
{
	return state && (strcmp(state, STORE_DLV_SENT) == 0 ||
			 strcmp(state, STORE_DLV_DEFERRED) == 0 ||
			 strcmp(state, STORE_DLV_BOUNCED) == 0 ||
			 strcmp(state, STORE_DLV_FAILED) == 0);
}

enum rk_err store_message_finish(struct rk_store *store, int64_t id,
				 const struct store_delivery_outcome *outcomes,
				 size_t n, const char *reply,
				 const char *location,
				 const struct store_retry *retry, int64_t now,
				 const char **state_out)
{
	static const char sql[] =
		"UPDATE deliveries SET state = ?3, reply = ?4, "
		"location = coalesce(?5, location), attempts = attempts + 1, "
		"next_attempt = 0, updated_at = ?6 "
		"WHERE id = ?1 AND message_row = ?2 "
		"AND state IN ('queued', 'deferred') RETURNING rcpt";
	struct message_head h;
	struct rk_buf rcpts;
	enum rk_err err;

	if (state_out)
		*state_out = NULL;
	memset(&h, 0, sizeof(h));
	rk_buf_init(&rcpts, AUDIT_RCPTS_MAX);
	for (size_t i = 0; i < n; i++)
		if (!delivery_outcome_known(outcomes[i].state))
			return RK_ERR_INVAL;
	if (retry->max_attempts < 1)
		return RK_ERR_INVAL;
	if ((err = store_begin(store)))
		return err;
	if ((err = message_head(store, id, &h)))
		goto cleanup;
	if (strcmp(h.state, STORE_MSG_SENDING) != 0) {
		err = rk_fail(store->log, RK_ERR_INVAL,
			      "message %s is %s, not being sent",
			      h.message_id ? h.message_id : "?", h.state);
		goto cleanup;
	}
	for (size_t i = 0; i < n && !err; i++) {
		const struct store_delivery_outcome *o = &outcomes[i];
		sqlite3_stmt *stmt = store_stmt(store, sql);
		char action[32], *rcpt = NULL;
		bool ok = true;
		int rc;

		if (!stmt) {
			err = RK_ERR_DB;
			break;
		}
		sqlite3_bind_int64(stmt, 1, o->delivery_id);
		sqlite3_bind_int64(stmt, 2, id);
		store_bind_text(stmt, 3, o->state);
		store_bind_text(stmt, 4, o->reply);
		store_bind_text(stmt, 5, o->location);
		sqlite3_bind_int64(stmt, 6, now);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW) {
			rcpt = store_col_text(stmt, 0, &ok);
			rc = sqlite3_step(stmt);
		} else if (rc == SQLITE_DONE) {
			err = rk_fail(store->log, RK_ERR_INVAL,
				      "delivery %lld is not in flight for "
				      "message %s",
				      (long long)o->delivery_id, h.message_id);
		}
		if (!err && !ok)
			err = RK_ERR_NOMEM;
		if (!err && rc != SQLITE_DONE)
			err = store_fail(store, "record delivery");
		store_done(stmt);
		if (!err) {
			/* in the attempt's row, or (too many for it) one
			 * row of its own */
			size_t mark = rcpts.len;

			err = rk_buf_addf(&rcpts, "; %s %s: %.*s",
					  rcpt ? rcpt : "", o->state,
					  AUDIT_REPLY_MAX,
					  o->reply ? o->reply : "");
			if (err == RK_ERR_LIMIT) {
				char detail[1024]; /* a long reply: its start */

				rk_buf_truncate(&rcpts, mark);
				snprintf(action, sizeof(action), "delivery.%s",
					 o->state);
				snprintf(detail, sizeof(detail), "%s: %s",
					 rcpt ? rcpt : "",
					 o->reply ? o->reply : "");
				err = store_audit(store, "deliver", action,
						  h.message_id, detail);
			}
		}
		if (!err && rcpt && strcmp(o->state, STORE_DLV_BOUNCED) == 0)
			err = store_address_mark_failing(store, rcpt, o->reply,
							 h.message_id);
		free(rcpt);
	}
	if (err)
		goto cleanup;
	if ((err = message_settle(store, id, &h, retry, reply, location,
				  rcpts.data, now, state_out)))
		goto cleanup;
	err = store_commit(store);
cleanup:
	if (err) {
		store_rollback(store);
		if (state_out)
			*state_out = NULL;
	}
	rk_buf_release(&rcpts);
	message_head_release(&h);
	return err;
}

enum rk_err store_ticket_messages(struct rk_store *store,
				  const char *ticket_id,
				  struct store_message **rows, size_t *n)
{
	static const char sql[] =
		"SELECT " MESSAGE_COLS " FROM messages "
		"WHERE ticket_id = ?1 ORDER BY id LIMIT ?2";
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	sqlite3_bind_int64(stmt, 2, STORE_MSG_MAX_BATCH);
	return store_collect(store, stmt, sizeof(**rows), message_row_plain,
			     message_release_row, "read a ticket's messages",
			     (void **)rows, n);
}

/* ------------------------------------------------------------ review */

enum rk_err store_message_to_review(struct rk_store *store, int64_t row)
{
	static const char sql[] =
		"UPDATE messages SET state = 'review' "
		"WHERE id = ?1 AND state = 'queued' AND direction = 'out'";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	enum rk_err err;

	if (stmt)
		sqlite3_bind_int64(stmt, 1, row);
	if ((err = store_step_done(store, stmt, "set a message aside for review")))
		return err;
	return sqlite3_changes(store->db) == 1 ? RK_OK : RK_ERR_NOTFOUND;
}

enum rk_err store_ticket_release_review(struct rk_store *store,
					const char *ticket_id,
					int64_t *first_row, size_t *n)
{
	static const char sql[] =
		"UPDATE messages SET state = 'queued' "
		"WHERE ticket_id = ?1 AND state = 'review' RETURNING id";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	*first_row = 0;
	*n = 0;
	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t row = sqlite3_column_int64(stmt, 0);

		if (!*first_row || row < *first_row)
			*first_row = row;
		(*n)++;
	}
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "release messages from review");
	return store_audit(store, "run", "message.released", ticket_id, NULL);
}

enum rk_err store_ticket_messages_raw(struct rk_store *store,
				      const char *ticket_id, const char *state,
				      struct store_message **rows, size_t *n)
{
	static const char sql[] =
		"SELECT " MESSAGE_COLS ", " MESSAGE_RAW_COL " FROM messages "
		"WHERE ticket_id = ?1 AND direction = 'out' "
		"AND (?2 IS NULL OR state = ?2) ORDER BY id LIMIT ?3";
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	store_bind_text(stmt, 2, state);
	sqlite3_bind_int64(stmt, 3, 100);
	return store_collect(store, stmt, sizeof(**rows), message_row_raw,
			     message_release_row, "read a ticket's messages",
			     (void **)rows, n);
}

enum rk_err store_message_requeue(struct rk_store *store, int64_t id,
				  int64_t next_attempt, const char *reason)
{
	static const char sql[] =
		"UPDATE messages SET state = 'deferred', next_attempt = ?2, "
		"reply = coalesce(?3, reply), "
		"attempts = CASE WHEN state = 'sending' AND attempts > 0 "
		"  THEN attempts - 1 ELSE attempts END "
		"WHERE id = ?1 AND state IN ('queued', 'sending', 'deferred')";
	static const char dlv_sql[] =
		"UPDATE deliveries SET next_attempt = ?2 "
		"WHERE message_row = ?1 AND state IN ('queued', 'deferred')";
	struct message_head h;
	sqlite3_stmt *stmt;
	enum rk_err err;
	int rc;

	memset(&h, 0, sizeof(h));
	if ((err = store_begin(store)))
		return err;
	if ((err = message_head_pending(store, id, &h)))
		goto cleanup;
	if (!(stmt = store_stmt(store, sql))) {
		err = RK_ERR_DB;
		goto cleanup;
	}
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, next_attempt);
	store_bind_text(stmt, 3, reason);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE) {
		err = store_fail(store, "requeue message");
		goto cleanup;
	}
	if (!(stmt = store_stmt(store, dlv_sql))) {
		err = RK_ERR_DB;
		goto cleanup;
	}
	sqlite3_bind_int64(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, next_attempt);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE) {
		err = store_fail(store, "requeue deliveries");
		goto cleanup;
	}
	if ((err = store_audit(store, "deliver", "message.requeued",
			       h.message_id, reason)))
		goto cleanup;
	err = store_commit(store);
cleanup:
	if (err)
		store_rollback(store);
	message_head_release(&h);
	return err;
}
