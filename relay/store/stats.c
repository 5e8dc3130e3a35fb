/* Counts for reports (renraku stats) and the service's /metrics: every
 * count over a period [since, until) is computed here, once. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* The categories events hold, as rows c(x) ending with a NULL: a walk
 * of events_by_category from one name to the next (one seek each), for
 * counting a period category by category over ranges of that index. */
#define CATEGORIES_CTE                                                      \
	"c(x) AS (SELECT (SELECT min(category) FROM events) UNION ALL "     \
	"SELECT (SELECT min(category) FROM events WHERE category > c.x) "   \
	"FROM c WHERE c.x IS NOT NULL)"

/* ?1 = since, ?2 = until; each range is served by an index of schema 10
 * or 11 (events: by category, then time; suppressed and withheld ones
 * by their partial index) */
static const char counts_sql[] =
	"WITH RECURSIVE " CATEGORIES_CTE " SELECT "
	"(SELECT count(*) FROM reports WHERE received_at >= ?1 AND received_at < ?2), "
	"(SELECT coalesce(sum((SELECT count(*) FROM events e WHERE e.category = c.x "
	" AND e.created_at >= ?1 AND e.created_at < ?2)), 0) FROM c "
	" WHERE c.x IS NOT NULL) + (SELECT count(*) FROM events WHERE "
	" category IS NULL AND created_at >= ?1 AND created_at < ?2), "
	"(SELECT count(*) FROM tickets WHERE created_at >= ?1 AND created_at < ?2), "
	"(SELECT count(*) FROM messages WHERE direction = 'out' "
	" AND created_at >= ?1 AND created_at < ?2), "
	"(SELECT coalesce(sum(d.state = 'sent'), 0) || ',' || "
	" coalesce(sum(d.state = 'deferred'), 0) || ',' || "
	" coalesce(sum(d.state = 'bounced'), 0) FROM messages m "
	" JOIN deliveries d ON d.message_row = m.id WHERE m.direction = 'out' "
	" AND m.created_at >= ?1 AND m.created_at < ?2), "
	"(SELECT count(*) FROM tickets WHERE created_at >= ?1 AND created_at < ?2 "
	" AND notified_at > 0), "
	"(SELECT count(*) FROM tickets t WHERE t.created_at >= ?1 "
	" AND t.created_at < ?2 AND EXISTS (SELECT 1 FROM deliveries d "
	" WHERE d.state = 'bounced' AND d.message_row = (SELECT m.id "
	" FROM messages m WHERE m.ticket_id = t.id AND m.direction = 'out' "
	" ORDER BY m.id LIMIT 1))), "
	"(SELECT coalesce(sum(state IN ('acknowledged', 'resolved')), 0) || ',' || "
	" coalesce(sum(state = 'auto-acknowledged'), 0) || ',' || "
	" coalesce(sum(state = 'disputed'), 0) || ',' || "
	" coalesce(sum(state = 'expired'), 0) FROM tickets "
	" WHERE created_at >= ?1 AND created_at < ?2), "
	"(SELECT coalesce(sum(state = 'suppressed'), 0) || ',' || "
	" coalesce(sum(state = 'withheld'), 0) FROM events "
	" WHERE state IN ('suppressed', 'withheld') "
	" AND created_at >= ?1 AND created_at < ?2)";

/* the cheap part of counts_sql: what a report compares with the period
 * before */
static const char totals_sql[] =
	"WITH RECURSIVE " CATEGORIES_CTE " SELECT "
	"(SELECT count(*) FROM reports WHERE received_at >= ?1 AND received_at < ?2), "
	"(SELECT coalesce(sum((SELECT count(*) FROM events e WHERE e.category = c.x "
	" AND e.created_at >= ?1 AND e.created_at < ?2)), 0) FROM c "
	" WHERE c.x IS NOT NULL) + (SELECT count(*) FROM events WHERE "
	" category IS NULL AND created_at >= ?1 AND created_at < ?2), "
	"(SELECT count(*) FROM tickets WHERE created_at >= ?1 AND created_at < ?2), "
	"(SELECT count(*) FROM messages WHERE direction = 'out' "
	" AND created_at >= ?1 AND created_at < ?2), "
	"(SELECT count(*) FROM events WHERE state IN ('suppressed', 'withheld') "
	" AND state = 'suppressed' AND created_at >= ?1 AND created_at < ?2), "
	"(SELECT count(*) FROM events WHERE state IN ('suppressed', 'withheld') "
	" AND state = 'withheld' AND created_at >= ?1 AND created_at < ?2)";

/* "a,b,c" of n numbers into out[0..n) */
static void split_counts(const unsigned char *text, long long *out[], size_t n)
{
	const char *p = (const char *)text;

	for (size_t i = 0; i < n; i++) {
		char *end;

		*out[i] = p ? strtoll(p, &end, 10) : 0;
		if (!p)
			continue;
		p = *end == ',' ? end + 1 : NULL;
	}
}

enum rk_err store_stats_counts_get(struct rk_store *store, int64_t since,
				   int64_t until, struct store_stats_counts *out)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(stmt = store_stmt(store, counts_sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, since);
	sqlite3_bind_int64(stmt, 2, until);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		long long *delivery[] = {&out->sent, &out->deferred, &out->bounced};
		long long *states[] = {&out->acknowledged, &out->auto_acknowledged,
				       &out->disputed, &out->expired};
		long long *held[] = {&out->suppressed, &out->withheld};

		out->reports = sqlite3_column_int64(stmt, 0);
		out->events = sqlite3_column_int64(stmt, 1);
		out->tickets = sqlite3_column_int64(stmt, 2);
		out->notices = sqlite3_column_int64(stmt, 3);
		split_counts(sqlite3_column_text(stmt, 4), delivery, 3);
		out->notified = sqlite3_column_int64(stmt, 5);
		out->first_bounced = sqlite3_column_int64(stmt, 6);
		split_counts(sqlite3_column_text(stmt, 7), states, 4);
		split_counts(sqlite3_column_text(stmt, 8), held, 2);
	}
	store_done(stmt);
	return rc == SQLITE_ROW ? RK_OK : store_fail(store, "count for statistics");
}

enum rk_err store_stats_totals_get(struct rk_store *store, int64_t since,
				   int64_t until, struct store_stats_counts *out)
{
	sqlite3_stmt *stmt;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(stmt = store_stmt(store, totals_sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, since);
	sqlite3_bind_int64(stmt, 2, until);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		out->reports = sqlite3_column_int64(stmt, 0);
		out->events = sqlite3_column_int64(stmt, 1);
		out->tickets = sqlite3_column_int64(stmt, 2);
		out->notices = sqlite3_column_int64(stmt, 3);
		out->suppressed = sqlite3_column_int64(stmt, 4);
		out->withheld = sqlite3_column_int64(stmt, 5);
	}
	store_done(stmt);
	return rc == SQLITE_ROW ? RK_OK : store_fail(store, "count for statistics");
}

static const char *const group_sql[STORE_STATS_GROUPINGS] = {
	/* EVENTS_BY_MONTH_CATEGORY: month by month, events_month_sql */
	[STORE_STATS_REPORTS_BY_MONTH] =
		"SELECT strftime('%Y-%m', received_at, 'unixepoch'), '', count(*) "
		"FROM reports WHERE received_at >= ?1 AND received_at < ?2 "
		"GROUP BY 1 ORDER BY 1",
	[STORE_STATS_TICKETS_BY_MONTH] =
		"SELECT strftime('%Y-%m', created_at, 'unixepoch'), '', count(*) "
		"FROM tickets WHERE created_at >= ?1 AND created_at < ?2 "
		"GROUP BY 1 ORDER BY 1",
	[STORE_STATS_NOTICES_BY_MONTH] =
		"SELECT strftime('%Y-%m', created_at, 'unixepoch'), '', count(*) "
		"FROM messages WHERE direction = 'out' AND created_at >= ?1 "
		"AND created_at < ?2 GROUP BY 1 ORDER BY 1",
	[STORE_STATS_REPORTS_BY_FORMAT] =
		"SELECT format, '', count(*) FROM reports WHERE received_at >= ?1 "
		"AND received_at < ?2 GROUP BY 1 ORDER BY 1",
	[STORE_STATS_REPORTS_BY_REPORTER] =
		"SELECT coalesce(reporter, ''), '', count(*) FROM reports "
		"WHERE received_at >= ?1 AND received_at < ?2 GROUP BY 1 ORDER BY 1",
	[STORE_STATS_TICKETS_BY_STATE] =
		"SELECT state, '', count(*) FROM tickets WHERE created_at >= ?1 "
		"AND created_at < ?2 GROUP BY 1 ORDER BY 1",
	/* a ticket climbs the chain by a no-answer or a bounce row that
	 * moves it to open at a higher level */
	[STORE_STATS_ESCALATIONS_BY_LEVEL] =
		"SELECT tl.level, '', count(*) FROM ticket_timeline tl "
		"WHERE tl.at >= ?1 AND tl.at < ?2 AND tl.to_state = 'open' "
		"AND tl.cause IN ('no-answer', 'bounce') AND tl.level > 0 "
		"GROUP BY 1 ORDER BY 1",
};

static void copy_col(sqlite3_stmt *stmt, int col, char *out, size_t size)
{
	const char *v = (const char *)sqlite3_column_text(stmt, col);
	size_t n = v ? strlen(v) : 0;

	if (n >= size)
		n = size - 1;
	if (n)
		memcpy(out, v, n);
	out[n] = '\0';
}

static enum rk_err group_row(sqlite3_stmt *stmt, void *row)
{
	struct store_stats_group *g = row;

	copy_col(stmt, 0, g->key, sizeof(g->key));
	copy_col(stmt, 1, g->key2, sizeof(g->key2));
	g->n = sqlite3_column_int64(stmt, 2);
	return RK_OK;
}

static void nothing_owned(void *row)
{
	(void)row;
}

/* The events of [?1, ?2) by category, one range of events_by_category
 * each (no sort of the period's rows); NULL last, for "other". */
static const char events_month_sql[] =
	"WITH RECURSIVE " CATEGORIES_CTE " "
	"SELECT x, (SELECT count(*) FROM events e WHERE e.category = c.x "
	"AND e.created_at >= ?1 AND e.created_at < ?2) FROM c "
	"WHERE x IS NOT NULL UNION ALL SELECT NULL, (SELECT count(*) FROM events "
	"WHERE category IS NULL AND created_at >= ?1 AND created_at < ?2)";

static int cmp_group(const void *a, const void *b)
{
	const struct store_stats_group *x = a, *y = b;
	int c = strcmp(x->key, y->key);

	return c ? c : strcmp(x->key2, y->key2);
}

/* the start of the UTC month after the one holding t */
static int64_t next_month(int64_t t)
{
	char s[RK_TIME_TEXT];
	int y, mo;
	int64_t next = 0;

	rk_time_format_iso(t, s); /* YYYY-MM-DDTHH:MM:SSZ */
	y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	    (s[3] - '0');
	mo = (s[5] - '0') * 10 + (s[6] - '0') + 1;
	if (mo > 12) {
		mo = 1;
		y++;
	}
	if (rk_time_from_civil(y, mo, 1, 0, 0, 0, 0, &next) || next <= t)
		return INT64_MAX;
	return next;
}

/* STORE_STATS_EVENTS_BY_MONTH_CATEGORY: each month of [since, until)
 * counted by events_month_sql; NULL categories count as "other"; empty
 * groups left out; ordered by month, category */
static enum rk_err events_by_month(struct rk_store *store, int64_t since,
				   int64_t until,
				   struct store_stats_group **rows_out,
				   size_t *n_out)
{
	struct store_stats_group *rows = NULL;
	size_t n = 0;
	enum rk_err err = RK_OK;

	for (int64_t from = since; !err && from < until;) {
		int64_t to = next_month(from);
		char month[RK_TIME_TEXT];
		size_t first = n;
		sqlite3_stmt *stmt;
		int rc;

		if (to > until)
			to = until;
		rk_time_format_iso(from, month);
		month[7] = '\0';
		if (!(stmt = store_stmt(store, events_month_sql))) {
			err = RK_ERR_DB;
			break;
		}
		sqlite3_bind_int64(stmt, 1, from);
		sqlite3_bind_int64(stmt, 2, to);
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			const char *cat = (const char *)sqlite3_column_text(stmt, 0);
			long long count = sqlite3_column_int64(stmt, 1);
			struct store_stats_group *g = NULL;
			void *grown = rows;

			if (!count)
				continue;
			if (!cat)
				cat = "other";
			for (size_t i = first; i < n && !g; i++)
				if (strcmp(rows[i].key2, cat) == 0)
					g = &rows[i];
			if (!g) {
				if ((err = rk_array_room(&grown, n, sizeof(*rows))))
					break;
				rows = grown;
				g = &rows[n++];
				memset(g, 0, sizeof(*g));
				snprintf(g->key, sizeof(g->key), "%s", month);
				snprintf(g->key2, sizeof(g->key2), "%s", cat);
			}
			g->n += count;
		}
		if (!err && rc != SQLITE_DONE)
			err = store_fail(store, "count events by category");
		store_done(stmt);
		from = to;
	}
	if (err) {
		free(rows);
		return err;
	}
	if (n)
		qsort(rows, n, sizeof(*rows), cmp_group);
	*rows_out = rows;
	*n_out = n;
	return RK_OK;
}

enum rk_err store_stats_groups(struct rk_store *store,
			       enum store_stats_grouping g, int64_t since,
			       int64_t until, struct store_stats_group **rows,
			       size_t *n)
{
	sqlite3_stmt *stmt;

	*rows = NULL;
	*n = 0;
	if ((unsigned)g >= STORE_STATS_GROUPINGS)
		return RK_ERR_INVAL;
	if (g == STORE_STATS_EVENTS_BY_MONTH_CATEGORY)
		return since < until ? events_by_month(store, since, until, rows, n)
				     : RK_OK;
	if (!(stmt = store_stmt(store, group_sql[g])))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, since);
	sqlite3_bind_int64(stmt, 2, until);
	return store_collect(store, stmt, sizeof(**rows), group_row,
			     nothing_owned, "count groups for statistics",
			     (void **)rows, n);
}

static enum rk_err int_row(sqlite3_stmt *stmt, void *row)
{
	*(long long *)row = sqlite3_column_int64(stmt, 0);
	return RK_OK;
}

enum rk_err store_stats_ack_delays(struct rk_store *store, int64_t since,
				   int64_t until, long long **v, size_t *n)
{
	static const char sql[] =
		"WITH t AS (SELECT id FROM tickets WHERE created_at >= ?1 "
		"AND created_at < ?2) "
		"SELECT h.first - q.first FROM "
		"(SELECT tl.ticket_id, min(tl.at) AS first FROM t "
		" JOIN ticket_timeline tl ON tl.ticket_id = t.id "
		" WHERE tl.cause IN ('reply', 'ack') GROUP BY tl.ticket_id) h "
		"JOIN (SELECT tl.ticket_id, min(tl.at) AS first FROM t "
		" JOIN ticket_timeline tl ON tl.ticket_id = t.id "
		" WHERE tl.cause = 'notice-queued' GROUP BY tl.ticket_id) q "
		"ON q.ticket_id = h.ticket_id WHERE h.first >= q.first ORDER BY 1";
	sqlite3_stmt *stmt;

	*v = NULL;
	*n = 0;
	if (!(stmt = store_stmt(store, sql)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, since);
	sqlite3_bind_int64(stmt, 2, until);
	return store_collect(store, stmt, sizeof(**v), int_row, nothing_owned,
			     "read answer times", (void **)v, n);
}

/* ------------------------------------------------------------ facts */

/* ?1 = since, ?2 = until: the tickets opened then (tickets_by_created),
 * each read once by an index: its timeline rows (by ticket), its
 * contacts (by ticket and level), its events' origin ASes (ticket_events
 * by ticket, events by id) and the bounced deliveries of its messages */
static const char facts_steps_sql[] =
	"SELECT t.rowid, tl.level, tl.at, CASE tl.cause "
	"WHEN 'notice-queued' THEN 1 WHEN 'bounce' THEN 2 "
	"WHEN 'auto-reply' THEN 3 WHEN 'reply' THEN 4 WHEN 'ack' THEN 4 "
	"ELSE 0 END FROM tickets t JOIN ticket_timeline tl "
	"ON tl.ticket_id = t.id WHERE t.created_at >= ?1 AND t.created_at < ?2";
static const char facts_levels_sql[] =
	"SELECT t.rowid, tc.level, lower(tc.email) FROM tickets t "
	"JOIN ticket_contacts tc ON tc.ticket_id = t.id "
	"WHERE t.created_at >= ?1 AND t.created_at < ?2";
static const char facts_origins_sql[] =
	"SELECT t.rowid, e.source_asn FROM tickets t JOIN ticket_events te "
	"ON te.ticket_id = t.id JOIN events e ON e.id = te.event_id "
	"WHERE t.created_at >= ?1 AND t.created_at < ?2 "
	"AND e.source_asn IS NOT NULL";
static const char facts_bounces_sql[] =
	"SELECT lower(d.rcpt), count(*) FROM tickets t JOIN messages m "
	"ON m.ticket_id = t.id JOIN deliveries d ON d.message_row = m.id "
	"WHERE d.state = 'bounced' AND t.created_at >= ?1 "
	"AND t.created_at < ?2 GROUP BY 1 ORDER BY 1";

static enum rk_err step_row(sqlite3_stmt *stmt, void *row)
{
	struct store_stats_step *s = row;

	s->ticket = sqlite3_column_int64(stmt, 0);
	s->level = sqlite3_column_int(stmt, 1);
	s->at = sqlite3_column_int64(stmt, 2);
	s->cause = (enum store_stats_cause)sqlite3_column_int(stmt, 3);
	return RK_OK;
}

static enum rk_err level_row(sqlite3_stmt *stmt, void *row)
{
	struct store_stats_level *l = row;
	bool ok = true;

	l->ticket = sqlite3_column_int64(stmt, 0);
	l->level = sqlite3_column_int(stmt, 1);
	l->email = store_col_text(stmt, 2, &ok);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void level_release(void *row)
{
	free(((struct store_stats_level *)row)->email);
}

/* A row per event: the same (ticket, AS) as the row before is not kept
 * (a ticket's events mostly come together and share an AS); the sort
 * after makes the rest distinct. */
static enum rk_err read_origins(struct rk_store *store, sqlite3_stmt *stmt,
				struct store_stats_facts *out)
{
	struct store_stats_origin *o = NULL;
	size_t n = 0;
	enum rk_err err = RK_OK;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		int64_t ticket = sqlite3_column_int64(stmt, 0);
		int64_t asn = sqlite3_column_int64(stmt, 1);
		void *grown = o;

		if (n && o[n - 1].ticket == ticket && o[n - 1].asn == asn)
			continue;
		if ((err = rk_array_room(&grown, n, sizeof(*o))))
			break;
		o = grown;
		o[n].ticket = ticket;
		o[n++].asn = asn;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_fail(store, "read the period's origin ASes");
	store_done(stmt);
	if (err) {
		free(o);
		return err;
	}
	out->origins = o;
	out->n_origins = n;
	return RK_OK;
}

static enum rk_err bounce_row(sqlite3_stmt *stmt, void *row)
{
	struct store_count *c = row;
	bool ok = true;

	c->name = store_col_text(stmt, 0, &ok);
	c->count = sqlite3_column_int64(stmt, 1);
	return ok && c->name ? RK_OK : RK_ERR_NOMEM;
}

static void bounce_release(void *row)
{
	free(((struct store_count *)row)->name);
}

static int cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int cmp_step(const void *a, const void *b)
{
	const struct store_stats_step *x = a, *y = b;
	int c = cmp_i64(x->ticket, y->ticket);

	if (!c)
		c = cmp_i64(x->level, y->level);
	return c ? c : cmp_i64(x->at, y->at);
}

static int cmp_level(const void *a, const void *b)
{
	const struct store_stats_level *x = a, *y = b;
	int c = cmp_i64(x->ticket, y->ticket);

	return c ? c : cmp_i64(x->level, y->level);
}

static int cmp_origin(const void *a, const void *b)
{
	const struct store_stats_origin *x = a, *y = b;
	int c = cmp_i64(x->ticket, y->ticket);

	return c ? c : cmp_i64(x->asn, y->asn);
}

static sqlite3_stmt *period_stmt(struct rk_store *store, const char *sql,
				 int64_t since, int64_t until)
{
	sqlite3_stmt *stmt = store_stmt(store, sql);

	if (stmt) {
		sqlite3_bind_int64(stmt, 1, since);
		sqlite3_bind_int64(stmt, 2, until);
	}
	return stmt;
}

enum rk_err store_stats_facts_get(struct rk_store *store, int64_t since,
				  int64_t until, struct store_stats_facts *out)
{
	sqlite3_stmt *stmt;
	enum rk_err err;
	size_t kept = 0;

	memset(out, 0, sizeof(*out));
	if (!(stmt = period_stmt(store, facts_steps_sql, since, until)))
		return RK_ERR_DB;
	if ((err = store_collect(store, stmt, sizeof(*out->steps), step_row,
				 nothing_owned, "read the period's timeline",
				 (void **)&out->steps, &out->n_steps)))
		goto fail;
	if (!(stmt = period_stmt(store, facts_levels_sql, since, until))) {
		err = RK_ERR_DB;
		goto fail;
	}
	if ((err = store_collect(store, stmt, sizeof(*out->levels), level_row,
				 level_release, "read the period's contacts",
				 (void **)&out->levels, &out->n_levels)))
		goto fail;
	if (!(stmt = period_stmt(store, facts_origins_sql, since, until))) {
		err = RK_ERR_DB;
		goto fail;
	}
	if ((err = read_origins(store, stmt, out)))
		goto fail;
	if (!(stmt = period_stmt(store, facts_bounces_sql, since, until))) {
		err = RK_ERR_DB;
		goto fail;
	}
	if ((err = store_collect(store, stmt, sizeof(*out->bounces), bounce_row,
				 bounce_release, "count the period's bounces",
				 (void **)&out->bounces, &out->n_bounces)))
		goto fail;
	/* the order is the contract, not the plan's: sorted here */
	if (out->n_steps)
		qsort(out->steps, out->n_steps, sizeof(*out->steps), cmp_step);
	if (out->n_levels)
		qsort(out->levels, out->n_levels, sizeof(*out->levels), cmp_level);
	if (out->n_origins) {
		qsort(out->origins, out->n_origins, sizeof(*out->origins), cmp_origin);
		for (size_t i = 0; i < out->n_origins; i++)
			if (!kept || cmp_origin(&out->origins[kept - 1],
						&out->origins[i]))
				out->origins[kept++] = out->origins[i];
		out->n_origins = kept;
	}
	return RK_OK;
fail:
	store_stats_facts_release(out);
	return err;
}

void store_stats_facts_release(struct store_stats_facts *f)
{
	free(f->steps);
	for (size_t i = 0; f->levels && i < f->n_levels; i++)
		free(f->levels[i].email);
	free(f->levels);
	free(f->origins);
	store_counts_free(f->bounces, f->n_bounces);
	memset(f, 0, sizeof(*f));
}
