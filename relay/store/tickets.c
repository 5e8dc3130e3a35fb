/* Tickets: creation with per-day ids, events joined to them, their
 * contact chain, and state changes. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

#define TICKET_COLS                                                         \
	"t.id, t.state, t.level, t.contact, t.template, t.lang, t.format, "  \
	"t.tlp, t.severity, t.hold_reason, t.created_at, t.send_after, "     \
	"t.notified_at, t.event_count, t.approved_by"

static void chain_entry_release(struct store_chain_entry *e)
{
	free(e->email);
	free(e->cc);
	free(e->org);
	free(e->lang);
	free(e->format);
	free(e->pgp);
	free(e->source);
	memset(e, 0, sizeof(*e));
}

void store_ticket_release(struct store_ticket *t)
{
	if (!t)
		return;
	free(t->state);
	free(t->contact);
	free(t->template_name);
	free(t->lang);
	free(t->format);
	free(t->hold_reason);
	free(t->approved_by);
	for (size_t i = 0; i < t->nchain; i++)
		chain_entry_release(&t->chain[i]);
	free(t->chain);
	memset(t, 0, sizeof(*t));
}

void store_tickets_free(struct store_ticket *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		store_ticket_release(&rows[i]);
	free(rows);
}

static enum rk_err ticket_read(sqlite3_stmt *stmt, struct store_ticket *t)
{
	const unsigned char *id = sqlite3_column_text(stmt, 0);
	bool ok = true;

	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id ? (const char *)id : "");
	t->state = store_col_text(stmt, 1, &ok);
	t->level = sqlite3_column_int(stmt, 2);
	t->contact = store_col_text(stmt, 3, &ok);
	t->template_name = store_col_text(stmt, 4, &ok);
	t->lang = store_col_text(stmt, 5, &ok);
	t->format = store_col_text(stmt, 6, &ok);
	t->tlp = (enum rk_tlp)sqlite3_column_int(stmt, 7);
	t->severity = (enum rk_severity)sqlite3_column_int(stmt, 8);
	t->hold_reason = store_col_text(stmt, 9, &ok);
	t->created_at = sqlite3_column_int64(stmt, 10);
	t->send_after = sqlite3_column_int64(stmt, 11);
	t->notified_at = sqlite3_column_int64(stmt, 12);
	t->event_count = sqlite3_column_int64(stmt, 13);
	t->approved_by = store_col_text(stmt, 14, &ok);
	if (!ok) {
		store_ticket_release(t);
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

static enum rk_err chain_load(struct rk_store *store, struct store_ticket *t)
{
	static const char sql[] =
		"SELECT level, email, cc, org, lang, format, pgp, source "
		"FROM ticket_contacts WHERE ticket_id = ?1 ORDER BY level";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	enum rk_err err = RK_OK;
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_text(stmt, 1, t->id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		struct store_chain_entry *grown, *e;
		bool ok = true;

		grown = realloc(t->chain, (t->nchain + 1) * sizeof(*grown));
		if (!grown) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		t->chain = grown;
		e = &t->chain[t->nchain++];
		memset(e, 0, sizeof(*e));
		e->level = sqlite3_column_int(stmt, 0);
		e->email = store_col_text(stmt, 1, &ok);
		e->cc = store_col_text(stmt, 2, &ok);
		e->org = store_col_text(stmt, 3, &ok);
		e->lang = store_col_text(stmt, 4, &ok);
		e->format = store_col_text(stmt, 5, &ok);
		e->pgp = store_col_text(stmt, 6, &ok);
		e->source = store_col_text(stmt, 7, &ok);
		if (!ok) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
	}
	if (rc != SQLITE_DONE)
		err = store_fail(store, "read ticket contacts");
cleanup:
	store_done(stmt);
	return err;
}

static enum rk_err ticket_row(sqlite3_stmt *stmt, void *row)
{
	return ticket_read(stmt, row);
}

static void ticket_row_release(void *row)
{
	store_ticket_release(row);
}

/* Run a SELECT of TICKET_COLS and collect the rows (with chains). */
static enum rk_err tickets_collect(struct rk_store *store, sqlite3_stmt *stmt,
				   struct store_ticket **rows, size_t *n)
{
	enum rk_err err = store_collect(store, stmt, sizeof(**rows), ticket_row,
					ticket_row_release, "read tickets",
					(void **)rows, n);

	for (size_t i = 0; !err && i < *n; i++)
		err = chain_load(store, &(*rows)[i]);
	if (err) {
		store_tickets_free(*rows, *n);
		*rows = NULL;
		*n = 0;
	}
	return err;
}

enum rk_err store_ticket_find_open(struct rk_store *store,
				   const char *contact,
				   const char *template_name, bool restricted,
				   long long max_events, char id_out[32],
				   bool *found)
{
	static const char sql[] =
		"SELECT t.id FROM tickets t WHERE t.contact = ?1 "
		"AND t.template = ?2 AND t.state = 'open' "
		"AND (t.tlp >= 2) = ?3 AND t.event_count < ?4 "
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
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(id_out, 32, "%s",
			 (const char *)sqlite3_column_text(stmt, 0));
		*found = true;
	}
	store_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, "find open ticket");
	return RK_OK;
}

static enum rk_err next_ticket_id(struct rk_store *store, int64_t now,
				  char out[32])
{
	static const char sql[] =
		"INSERT INTO ticket_seq (day, last) VALUES (?1, 1) "
		"ON CONFLICT(day) DO UPDATE SET last = last + 1 "
		"RETURNING last";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	char day[RK_TIME_TEXT];
	long long seq;
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	rk_time_format_day(now, day);
	sqlite3_bind_text(stmt, 1, day, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(stmt);
	seq = rc == SQLITE_ROW ? sqlite3_column_int64(stmt, 0) : 0;
	store_done(stmt);
	if (rc != SQLITE_ROW)
		return store_fail(store, "next ticket id");
	if (seq > 999999)
		return rk_fail(store->log, RK_ERR_LIMIT,
			       "more than 999999 tickets on %s", day);
	snprintf(out, 32, "%.8s-%06d", day, (int)seq);
	return RK_OK;
}

enum rk_err store_ticket_create(struct rk_store *store,
				struct store_ticket *t)
{
	static const char sql[] =
		"INSERT INTO tickets (id, state, level, contact, template, lang, "
		"format, tlp, severity, created_at, send_after, updated_at) "
		"VALUES (?1, 'open', ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?9)";
	static const char sql_chain[] =
		"INSERT INTO ticket_contacts (ticket_id, level, email, cc, org, "
		"lang, format, pgp, source) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
		"?8, ?9)";
	sqlite3_stmt *stmt;
	enum rk_err err;
	int rc;

	if ((err = next_ticket_id(store, t->created_at, t->id)))
		return err;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_text(stmt, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, t->level);
	store_bind_text(stmt, 3, t->contact);
	store_bind_text(stmt, 4, t->template_name);
	store_bind_text(stmt, 5, t->lang);
	store_bind_text(stmt, 6, t->format);
	sqlite3_bind_int(stmt, 7, (int)t->tlp);
	sqlite3_bind_int(stmt, 8, (int)t->severity);
	sqlite3_bind_int64(stmt, 9, t->created_at);
	sqlite3_bind_int64(stmt, 10, t->send_after);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "create ticket");
	for (size_t i = 0; i < t->nchain; i++) {
		const struct store_chain_entry *e = &t->chain[i];

		if (!(stmt = store_stmt(store, sql_chain)))
			return RK_ERR_DB;
		sqlite3_bind_text(stmt, 1, t->id, -1, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 2, e->level);
		store_bind_text(stmt, 3, e->email);
		store_bind_text(stmt, 4, e->cc);
		store_bind_text(stmt, 5, e->org);
		store_bind_text(stmt, 6, e->lang);
		store_bind_text(stmt, 7, e->format);
		store_bind_text(stmt, 8, e->pgp);
		store_bind_text(stmt, 9, e->source);
		rc = sqlite3_step(stmt);
		store_done(stmt);
		if (rc != SQLITE_DONE)
			return store_fail(store, "store ticket contact");
	}
	return store_audit(store, "run", "ticket.create", t->id, t->contact);
}

enum rk_err store_ticket_add_event(struct rk_store *store,
				   const char *ticket_id,
				   const struct store_event *ev,
				   long long *count_out)
{
	static const char sql[] =
		"INSERT OR IGNORE INTO ticket_events (ticket_id, event_id, "
		"added_at) VALUES (?1, ?2, ?3)";
	static const char sql_raise[] =
		"UPDATE tickets SET tlp = max(tlp, ?2), "
		"severity = max(severity, ?3), updated_at = ?4, "
		"event_count = event_count + ?5 WHERE id = ?1 "
		"RETURNING event_count";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int64_t now = rk_now();
	int rc, added;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	sqlite3_bind_int64(stmt, 2, ev->id);
	sqlite3_bind_int64(stmt, 3, now);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "add event to ticket");
	added = sqlite3_changes(store->db);
	if (!(stmt = store_stmt(store, sql_raise)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	sqlite3_bind_int(stmt, 2, (int)ev->tlp);
	sqlite3_bind_int(stmt, 3, (int)ev->severity);
	sqlite3_bind_int64(stmt, 4, now);
	sqlite3_bind_int(stmt, 5, added);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW && count_out)
		*count_out = sqlite3_column_int64(stmt, 0);
	if (rc == SQLITE_ROW)
		rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK : store_fail(store, "update ticket");
}

enum rk_err store_ticket_due_now(struct rk_store *store,
				 const char *ticket_id, int64_t now)
{
	static const char sql[] =
		"UPDATE tickets SET send_after = min(send_after, ?2), "
		"updated_at = ?2 WHERE id = ?1 AND state = 'open'";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	sqlite3_bind_int64(stmt, 2, now);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK : store_fail(store, "make ticket due");
}

enum rk_err store_tickets_due(struct rk_store *store, int64_t now,
			      struct store_ticket **rows, size_t *n)
{
	static const char sql[] =
		"SELECT " TICKET_COLS " FROM tickets t "
		"WHERE t.state = 'open' AND t.send_after <= ?1 "
		"ORDER BY t.send_after, t.id";
	sqlite3_stmt *stmt = store_stmt(store, sql);

	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, now);
	return tickets_collect(store, stmt, rows, n);
}

enum rk_err store_tickets_list(struct rk_store *store, const char *state,
			       struct store_ticket **rows, size_t *n)
{
	static const char sql[] =
		"SELECT " TICKET_COLS " FROM tickets t "
		"WHERE ?1 IS NULL OR t.state = ?1 "
		"ORDER BY t.created_at DESC, t.id DESC";
	sqlite3_stmt *stmt = store_stmt(store, sql);

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, state);
	return tickets_collect(store, stmt, rows, n);
}

enum rk_err store_ticket_get(struct rk_store *store, const char *id,
			     struct store_ticket *out)
{
	static const char sql[] =
		"SELECT " TICKET_COLS " FROM tickets t WHERE t.id = ?1";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	struct store_ticket *rows = NULL;
	size_t n = 0;
	enum rk_err err;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	if ((err = tickets_collect(store, stmt, &rows, &n)))
		return err;
	if (n == 0) {
		free(rows);
		return RK_ERR_NOTFOUND;
	}
	*out = rows[0];
	free(rows);
	return RK_OK;
}

enum rk_err store_ticket_set_state(struct rk_store *store, const char *id,
				   const char *state,
				   const char *hold_reason)
{
	static const char sql[] =
		"UPDATE tickets SET state = ?2, hold_reason = ?3, "
		"updated_at = ?4 WHERE id = ?1";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	char action[64];
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	store_bind_text(stmt, 2, state);
	store_bind_text(stmt, 3, hold_reason);
	sqlite3_bind_int64(stmt, 4, rk_now());
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "set ticket state");
	if (sqlite3_changes(store->db) == 0)
		return RK_ERR_NOTFOUND;
	snprintf(action, sizeof(action), "ticket.%s", state);
	return store_audit(store, "run", action, id, hold_reason);
}

enum rk_err store_ticket_mark_notified(struct rk_store *store,
				       const char *id, int64_t message_row,
				       int64_t now, const int64_t *event_ids,
				       size_t nevents)
{
	static const char sql_ticket[] =
		"UPDATE tickets SET state = 'notified', notified_at = ?2, "
		"hold_reason = NULL, updated_at = ?2 "
		"WHERE id = ?1 AND state = 'open'";
	static const char sql_event[] =
		"UPDATE ticket_events SET message_row = ?2 "
		"WHERE ticket_id = ?1 AND event_id = ?3";
	sqlite3_stmt *stmt = store_stmt(store, sql_ticket);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, now);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "mark ticket notified");
	if (sqlite3_changes(store->db) != 1)
		return RK_ERR_EXISTS;
	for (size_t i = 0; i < nevents; i++) {
		if (!(stmt = store_stmt(store, sql_event)))
			return RK_ERR_DB;
		store_bind_text(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, message_row);
		sqlite3_bind_int64(stmt, 3, event_ids[i]);
		rc = sqlite3_step(stmt);
		store_done(stmt);
		if (rc != SQLITE_DONE)
			return store_fail(store, "mark event notified");
	}
	return RK_OK;
}

/* The state of ticket id into state[32]; RK_ERR_NOTFOUND if none. */
static enum rk_err ticket_state(struct rk_store *store, const char *id,
				char state[32])
{
	static const char sql[] = "SELECT state FROM tickets WHERE id = ?1";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	enum rk_err err = RK_OK;
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(state, 32, "%s", (const char *)sqlite3_column_text(stmt, 0));
	else if (rc == SQLITE_DONE)
		err = RK_ERR_NOTFOUND;
	else
		err = store_fail(store, "read ticket state");
	store_done(stmt);
	return err;
}

/* Move ticket id from state `from` to what sql does (?1 id, ?2 text,
 * ?3 now), and audit it. */
static enum rk_err decide(struct rk_store *store, const char *id,
			  const char *from, const char *sql, const char *text,
			  const char *actor, const char *action, int64_t now)
{
	sqlite3_stmt *stmt;
	char state[32];
	enum rk_err err;
	int rc;

	if ((err = ticket_state(store, id, state)))
		return err;
	if (strcmp(state, from) != 0)
		return RK_ERR_INVAL;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	store_bind_text(stmt, 2, text);
	sqlite3_bind_int64(stmt, 3, now);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, action);
	return store_audit(store, actor, action, id,
			   strcmp(text, actor) != 0 ? text : NULL);
}

enum rk_err store_ticket_approve(struct rk_store *store, const char *id,
				 const char *actor, int64_t now)
{
	static const char sql[] =
		"UPDATE tickets SET state = 'open', hold_reason = NULL, "
		"approved_by = ?2, send_after = min(send_after, ?3), "
		"updated_at = ?3 WHERE id = ?1 AND state = 'held'";

	return decide(store, id, STORE_TICKET_HELD, sql, actor, actor,
		      "ticket.approve", now);
}

enum rk_err store_ticket_hold(struct rk_store *store, const char *id,
			      const char *actor, const char *reason)
{
	static const char sql[] =
		"UPDATE tickets SET state = 'held', hold_reason = ?2, "
		"updated_at = ?3 WHERE id = ?1 AND state = 'open'";

	return decide(store, id, STORE_TICKET_OPEN, sql, reason, actor,
		      "ticket.hold", rk_now());
}
