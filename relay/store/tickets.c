/* Tickets: creation with per-day ids, events joined to them, their
 * contact chain, and state changes. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

#define TICKET_COLS                                                         \
	"t.id, t.state, t.level, t.contact, t.template, t.lang, t.format, "  \
	"t.tlp, t.severity, t.hold_reason, t.created_at, t.send_after, "     \
	"t.notified_at, t.event_count, t.approved_by, "                   \
	"(SELECT c.actor FROM ticket_cleartext c WHERE c.ticket_id = t.id)"

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
	free(t->cleartext_by);
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
	t->cleartext_by = store_col_text(stmt, 15, &ok);
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

/* The newest ticket sql (parameters: contact, template, restricted,
 * max_events, a severity mask; columns: id, event_count, severity)
 * selects. */
static enum rk_err find_ticket(struct rk_store *store, const char *sql,
			       const char *contact, const char *template_name,
			       bool restricted, long long max_events,
			       unsigned severity_mask,
			       struct store_ticket_slot *out, bool *found)
{
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
		snprintf(out->id, sizeof(out->id), "%s",
			 (const char *)sqlite3_column_text(stmt, 0));
		out->event_count = sqlite3_column_int64(stmt, 1);
		out->severity = sqlite3_column_int(stmt, 2);
		*found = true;
	}
	store_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, "find open ticket");
	return RK_OK;
}

enum rk_err store_ticket_find_open_slot(struct rk_store *store,
					const char *contact,
					const char *template_name,
					bool restricted, long long max_events,
					struct store_ticket_slot *out,
					bool *found)
{
	static const char sql[] =
		"SELECT t.id, t.event_count, t.severity FROM tickets t "
		"WHERE t.contact = ?1 "
		"AND t.template = ?2 AND t.state = 'open' "
		"AND t.approved_by IS NULL "
		"AND (t.tlp >= 2) = ?3 AND t.event_count < ?4 "
		"ORDER BY t.created_at DESC, t.id DESC LIMIT 1";

	return find_ticket(store, sql, contact, template_name, restricted,
			   max_events, 0, out, found);
}

enum rk_err store_ticket_find_open(struct rk_store *store,
				   const char *contact,
				   const char *template_name, bool restricted,
				   long long max_events, char id_out[32],
				   bool *found)
{
	struct store_ticket_slot slot;
	enum rk_err err = store_ticket_find_open_slot(
		store, contact, template_name, restricted, max_events, &slot,
		found);

	if (!err && *found)
		memcpy(id_out, slot.id, sizeof(slot.id));
	return err;
}

enum rk_err store_ticket_find_followed_slot(struct rk_store *store,
					    const char *contact,
					    const char *template_name,
					    bool restricted,
					    long long max_events,
					    unsigned severity_mask,
					    struct store_ticket_slot *out,
					    bool *found)
{
	static const char sql[] =
		"SELECT t.id, t.event_count, t.severity FROM tickets t "
		"WHERE t.contact = ?1 "
		"AND t.template = ?2 "
		"AND t.state IN ('notified', 'auto-acknowledged') "
		"AND t.approved_by IS NULL "
		"AND (t.tlp >= 2) = ?3 AND t.event_count < ?4 "
		"AND ((?5 >> t.severity) & 1) = 1 "
		"ORDER BY t.created_at DESC, t.id DESC LIMIT 1";

	return find_ticket(store, sql, contact, template_name, restricted,
			   max_events, severity_mask, out, found);
}

enum rk_err store_ticket_find_followed(struct rk_store *store,
				       const char *contact,
				       const char *template_name,
				       bool restricted, long long max_events,
				       unsigned severity_mask, char id_out[32],
				       bool *found)
{
	struct store_ticket_slot slot;
	enum rk_err err = store_ticket_find_followed_slot(
		store, contact, template_name, restricted, max_events,
		severity_mask, &slot, found);

	if (!err && *found)
		memcpy(id_out, slot.id, sizeof(slot.id));
	return err;
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
	return RK_OK;
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
	int64_t now = store->now;
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

/* Append the joins as a JSON array [[ticket, event, tlp, severity], ...]
 * (ticket ids are ours: YYYYMMDD-NNNNNN, checked, nothing to escape). */
/* Orders joins by ticket, then event: a ticket's rows are inserted
 * together, along its range of ticket_events' clustered key. */
static int join_by_ticket(const void *x, const void *y)
{
	const struct store_ticket_join *a = *(const struct store_ticket_join *const *)x;
	const struct store_ticket_join *b = *(const struct store_ticket_join *const *)y;
	int c = strcmp(a->ticket_id, b->ticket_id);

	if (c)
		return c;
	return a->event_id < b->event_id ? -1 : a->event_id > b->event_id;
}

/* One ticket's share of a batch: count, tlp and severity raised once;
 * `recount` takes the count from the rows (a row was there already). */
static enum rk_err ticket_raise(struct rk_store *store, const char *ticket_id,
				int tlp, int severity, long long count,
				bool recount)
{
	static const char sql[] =
		"UPDATE tickets SET tlp = max(tlp, ?2), severity = max(severity, ?3),"
		" updated_at = ?4, event_count = event_count + ?5 WHERE id = ?1";
	static const char sql_recount[] =
		"UPDATE tickets SET event_count = (SELECT count(*) FROM"
		" ticket_events te WHERE te.ticket_id = ?1) WHERE id = ?1";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	sqlite3_bind_int(stmt, 2, tlp);
	sqlite3_bind_int(stmt, 3, severity);
	sqlite3_bind_int64(stmt, 4, store->now);
	sqlite3_bind_int64(stmt, 5, count);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "update tickets");
	if (!recount)
		return RK_OK;
	if (!(stmt = store_stmt(store, sql_recount)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ticket_id);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK
				 : store_fail(store, "recount ticket events");
}

enum rk_err store_ticket_add_events(struct rk_store *store,
				    const struct store_ticket_join *joins,
				    size_t n)
{
	/* one prepared insert stepped a row, the rows of a ticket together,
	 * and one update a ticket: nothing is built or parsed */
	static const char sql_row[] =
		"INSERT OR IGNORE INTO ticket_events (ticket_id, event_id, added_at)"
		" VALUES (?1, ?2, ?3)";
	const struct store_ticket_join **order;
	sqlite3_stmt *stmt;
	enum rk_err err = RK_OK;

	if (n == 0)
		return RK_OK;
	if (!(order = calloc(n, sizeof(*order))))
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < n; i++)
		order[i] = &joins[i];
	qsort(order, n, sizeof(*order), join_by_ticket);
	if (!(stmt = store_stmt(store, sql_row))) {
		free(order);
		return RK_ERR_DB;
	}
	for (size_t i = 0, first = 0; !err && i < n; first = i) {
		int tlp = order[i]->tlp, sev = order[i]->severity;
		long long added = 0;

		for (; i < n && strcmp(order[i]->ticket_id,
				       order[first]->ticket_id) == 0; i++) {
			int rc;

			store_bind_text(stmt, 1, order[i]->ticket_id);
			sqlite3_bind_int64(stmt, 2, order[i]->event_id);
			sqlite3_bind_int64(stmt, 3, store->now);
			rc = sqlite3_step(stmt);
			sqlite3_reset(stmt);
			if (rc != SQLITE_DONE) {
				err = store_fail(store, "add events to tickets");
				break;
			}
			added += sqlite3_changes(store->db);
			if (order[i]->tlp > tlp)
				tlp = order[i]->tlp;
			if (order[i]->severity > sev)
				sev = order[i]->severity;
		}
		store_done(stmt);
		if (!err)
			err = ticket_raise(store, order[first]->ticket_id, tlp,
					   sev, (long long)(i - first),
					   added != (long long)(i - first));
	}
	store_done(stmt);
	free(order);
	return err;
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

enum rk_err store_tickets_page(struct rk_store *store, const char *state,
			       int64_t since, int64_t before_at,
			       const char *before_id, size_t limit,
			       struct store_ticket **rows, size_t *n)
{
	/* tickets_by_created serves the range; ties of one second are
	 * ordered by id (the row value is SQLite's, 3.15 and later) */
	static const char sql[] =
		"SELECT " TICKET_COLS " FROM tickets t "
		"WHERE (?1 IS NULL OR t.state = ?1) AND t.created_at >= ?2 "
		"AND (t.created_at, t.id) < (?3, ?4) "
		"ORDER BY t.created_at DESC, t.id DESC LIMIT ?5";
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	if (limit == 0 || limit > INT32_MAX)
		return RK_ERR_INVAL;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, state);
	sqlite3_bind_int64(stmt, 2, since);
	/* no cursor: (INT64_MAX, "") is after every ticket */
	sqlite3_bind_int64(stmt, 3, before_id ? before_at : INT64_MAX);
	store_bind_text(stmt, 4, before_id ? before_id : "");
	sqlite3_bind_int64(stmt, 5, (sqlite3_int64)limit);
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

enum rk_err store_ticket_state(struct rk_store *store, const char *id,
			       char state[32], int *level)
{
	static const char sql[] =
		"SELECT state, level FROM tickets WHERE id = ?1";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	enum rk_err err = RK_OK;
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		snprintf(state, 32, "%s", (const char *)sqlite3_column_text(stmt, 0));
		if (level)
			*level = sqlite3_column_int(stmt, 1);
	} else if (rc == SQLITE_DONE) {
		err = RK_ERR_NOTFOUND;
	} else {
		err = store_fail(store, "read ticket state");
	}
	store_done(stmt);
	return err;
}

static enum rk_err timeline_add(struct rk_store *store,
				const struct store_ticket_change *ch, int level)
{
	static const char sql[] =
		"INSERT INTO ticket_timeline (ticket_id, at, from_state, "
		"to_state, level, actor, cause, message_row, detail) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, ch->id);
	sqlite3_bind_int64(stmt, 2, store->now);
	store_bind_text(stmt, 3, ch->from);
	store_bind_text(stmt, 4, ch->to);
	sqlite3_bind_int(stmt, 5, level);
	store_bind_text(stmt, 6, ch->actor ? ch->actor : "run");
	store_bind_text(stmt, 7, ch->cause);
	if (ch->message_row > 0)
		sqlite3_bind_int64(stmt, 8, ch->message_row);
	else
		sqlite3_bind_null(stmt, 8);
	store_bind_text(stmt, 9, ch->detail);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK : store_fail(store, "write ticket timeline");
}

static enum rk_err cleartext_add(struct rk_store *store,
				 const struct store_ticket_change *ch)
{
	static const char sql[] =
		"INSERT OR REPLACE INTO ticket_cleartext (ticket_id, actor, at) "
		"VALUES (?1, ?2, ?3)";
	sqlite3_stmt *stmt = store_stmt(store, sql);

	if (stmt) {
		store_bind_text(stmt, 1, ch->id);
		store_bind_text(stmt, 2, ch->cleartext_by);
		sqlite3_bind_int64(stmt, 3, store->now);
	}
	return store_step_done(store, stmt, "record a cleartext approval");
}

enum rk_err store_ticket_change(struct rk_store *store,
				const struct store_ticket_change *ch)
{
	static const char sql[] =
		"UPDATE tickets SET state = ?3, "
		"hold_reason = CASE WHEN ?3 IN ('held', 'failed') THEN ?4 "
		"  ELSE NULL END, "
		"approved_by = coalesce(?5, approved_by), "

		"send_after = CASE WHEN ?6 THEN min(send_after, ?8) "
		"  ELSE send_after END, "
		"notified_at = CASE WHEN ?7 THEN ?8 ELSE notified_at END, "
		"level = CASE WHEN ?9 >= 0 THEN ?9 ELSE level END, "
		"updated_at = ?8 "
		"WHERE id = ?1 AND state = ?2 RETURNING level";
	char action[64];
	sqlite3_stmt *stmt;
	enum rk_err err;
	int rc, level = ch->level >= 0 ? ch->level : 0;

	if (!ch->id || !ch->to || !ch->cause)
		return rk_fail(store->log, RK_ERR_INTERNAL,
			       "database: incomplete ticket state change");
	if (ch->from) {
		if (!(stmt = store_stmt(store, sql)))
			return RK_ERR_DB;
		store_bind_text(stmt, 1, ch->id);
		store_bind_text(stmt, 2, ch->from);
		store_bind_text(stmt, 3, ch->to);
		store_bind_text(stmt, 4, ch->detail);
		store_bind_text(stmt, 5, ch->approved_by);
		sqlite3_bind_int(stmt, 6, ch->due_now ? 1 : 0);
		sqlite3_bind_int(stmt, 7, ch->notified ? 1 : 0);
		sqlite3_bind_int64(stmt, 8, store->now);
		sqlite3_bind_int(stmt, 9, ch->level);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			level = sqlite3_column_int(stmt, 0);
		store_done(stmt);
		if (rc == SQLITE_DONE) {
			char state[32];

			/* nothing matched: gone, or moved on meanwhile */
			err = store_ticket_state(store, ch->id, state, NULL);
			return err ? err : RK_ERR_EXISTS;
		}
		if (rc != SQLITE_ROW)
			return store_fail(store, "change ticket state");
	}
	if (ch->cleartext_by && (err = cleartext_add(store, ch)))
		return err;
	if ((err = timeline_add(store, ch, level)))
		return err;
	snprintf(action, sizeof(action), "ticket.%s", ch->cause);
	return store_audit(store, ch->actor ? ch->actor : "run", action, ch->id,
			   ch->detail);
}

static int event_id_order(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Whether the ticket's unnotified rows with event ids in [sorted[0],
 * sorted[n-1]] are exactly sorted[0..n-1] (ascending): one walk of the
 * ticket's range of the clustered key, merged against the list. */
static enum rk_err mark_span_exact(struct rk_store *store, const char *id,
				   const int64_t *sorted, size_t n, bool *exact)
{
	static const char sql[] =
		"SELECT event_id FROM ticket_events "
		"WHERE ticket_id = ?1 AND event_id BETWEEN ?2 AND ?3 "
		"AND message_row IS NULL ORDER BY event_id";
	sqlite3_stmt *stmt;
	size_t i = 0;
	int rc;

	*exact = false;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, sorted[0]);
	sqlite3_bind_int64(stmt, 3, sorted[n - 1]);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (i == n || sqlite3_column_int64(stmt, 0) != sorted[i])
			break;
		i++;
	}
	store_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, "mark events notified");
	*exact = rc == SQLITE_DONE && i == n;
	return RK_OK;
}

enum rk_err store_ticket_events_mark(struct rk_store *store, const char *id,
				     int64_t message_row,
				     const int64_t *event_ids, size_t nevents)
{
	/* A notice normally carries every event of the ticket still
	 * unnotified in the span of its ids; then the span is marked by
	 * range (0.5 us an event on a notice of 1,000, with the check,
	 * against 1.7 us for the list).  Otherwise (an event added or
	 * marked since the notice was gathered, or a list not distinct)
	 * the ids go as one bound JSON array, the ticket's rows walked
	 * once with each id tested against it; without the unary + the
	 * planner takes ticket_events_by_event and seeks a page of it and
	 * of the table for every id. */
	static const char span_sql[] =
		"UPDATE ticket_events SET message_row = ?2 "
		"WHERE ticket_id = ?1 AND event_id BETWEEN ?3 AND ?4 "
		"AND message_row IS NULL";
	static const char list_sql[] =
		"UPDATE ticket_events SET message_row = ?2 "
		"WHERE ticket_id = ?1 AND +event_id IN "
		"(SELECT value FROM json_each(?3))";
	struct rk_buf ids;
	int64_t *sorted = NULL;
	const int64_t *span = event_ids;
	size_t ascending = 1;
	sqlite3_stmt *stmt;
	enum rk_err err = RK_OK;
	bool exact = false;
	int rc;

	if (nevents == 0)
		return RK_OK;
	rk_buf_init(&ids, (size_t)64 << 20);
	while (ascending < nevents &&
	       event_ids[ascending - 1] < event_ids[ascending])
		ascending++;
	if (ascending < nevents) {
		if (!(sorted = malloc(nevents * sizeof(*sorted)))) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		memcpy(sorted, event_ids, nevents * sizeof(*sorted));
		qsort(sorted, nevents, sizeof(*sorted), event_id_order);
		span = sorted;
	}
	if ((err = mark_span_exact(store, id, span, nevents, &exact)))
		goto cleanup;
	if (exact) {
		if (!(stmt = store_stmt(store, span_sql))) {
			err = RK_ERR_DB;
			goto cleanup;
		}
		store_bind_text(stmt, 1, id);
		sqlite3_bind_int64(stmt, 2, message_row);
		sqlite3_bind_int64(stmt, 3, span[0]);
		sqlite3_bind_int64(stmt, 4, span[nevents - 1]);
		rc = sqlite3_step(stmt);
		store_done(stmt);
		if (rc != SQLITE_DONE)
			err = store_fail(store, "mark events notified");
		goto cleanup;
	}
	for (size_t i = 0; i < nevents && !err; i++)
		err = rk_buf_addf(&ids, "%c%lld", i ? ',' : '[',
				  (long long)event_ids[i]);
	if (!err)
		err = rk_buf_adds(&ids, "]");
	if (err)
		goto cleanup;
	if (!(stmt = store_stmt(store, list_sql))) {
		err = RK_ERR_DB;
		goto cleanup;
	}
	store_bind_text(stmt, 1, id);
	sqlite3_bind_int64(stmt, 2, message_row);
	sqlite3_bind_text(stmt, 3, ids.data, (int)ids.len, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		err = store_fail(store, "mark events notified");
cleanup:
	free(sorted);
	rk_buf_release(&ids);
	return err;
}

void store_timeline_free(struct store_timeline_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++) {
		free(rows[i].from_state);
		free(rows[i].to_state);
		free(rows[i].actor);
		free(rows[i].cause);
		free(rows[i].message_id);
		free(rows[i].detail);
	}
	free(rows);
}

static enum rk_err timeline_row(sqlite3_stmt *stmt, void *out)
{
	struct store_timeline_row *r = out;
	bool ok = true;

	r->at = sqlite3_column_int64(stmt, 0);
	r->from_state = store_col_text(stmt, 1, &ok);
	r->to_state = store_col_text(stmt, 2, &ok);
	r->level = sqlite3_column_int(stmt, 3);
	r->actor = store_col_text(stmt, 4, &ok);
	r->cause = store_col_text(stmt, 5, &ok);
	r->message_row = sqlite3_column_int64(stmt, 6);
	r->message_id = store_col_text(stmt, 7, &ok);
	r->detail = store_col_text(stmt, 8, &ok);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void timeline_row_release(void *row)
{
	struct store_timeline_row *r = row;

	free(r->from_state);
	free(r->to_state);
	free(r->actor);
	free(r->cause);
	free(r->message_id);
	free(r->detail);
	memset(r, 0, sizeof(*r));
}

enum rk_err store_ticket_timeline(struct rk_store *store, const char *id,
				  struct store_timeline_row **rows, size_t *n)
{
	static const char sql[] =
		"SELECT tl.at, tl.from_state, tl.to_state, tl.level, tl.actor, "
		"tl.cause, coalesce(tl.message_row, 0), m.message_id, tl.detail "
		"FROM ticket_timeline tl LEFT JOIN messages m "
		"ON m.id = tl.message_row WHERE tl.ticket_id = ?1 ORDER BY tl.id";
	sqlite3_stmt *stmt = store_stmt(store, sql);

	*rows = NULL;
	*n = 0;
	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, id);
	return store_collect(store, stmt, sizeof(**rows), timeline_row,
			     timeline_row_release, "read ticket timeline",
			     (void **)rows, n);
}

enum rk_err store_tickets_waiting(struct rk_store *store, int64_t now,
				  long long *count, int64_t *first_due)
{
	static const char sql[] =
		"SELECT count(*), coalesce(min(send_after), 0) FROM tickets "
		"WHERE state = 'open' AND send_after > ?1";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	*count = 0;
	*first_due = 0;
	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, now);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		*count = sqlite3_column_int64(stmt, 0);
		*first_due = sqlite3_column_int64(stmt, 1);
	}
	store_done(stmt);
	return rc == SQLITE_ROW ? RK_OK : store_fail(store, "count waiting tickets");
}
