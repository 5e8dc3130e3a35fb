/* Counts for reports (renraku stats) and the service's /metrics: every
 * count over a period [since, until) is computed here, once. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* ?1 = since, ?2 = until; each range is served by an index of schema 8 */
static const char counts_sql[] =
	"SELECT "
	"(SELECT count(*) FROM reports WHERE received_at >= ?1 AND received_at < ?2), "
	"(SELECT count(*) FROM events WHERE created_at >= ?1 AND created_at < ?2), "
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
	" WHERE d.state = 'bounced' AND d.message_row = (SELECT min(m.id) "
	" FROM messages m WHERE m.ticket_id = t.id AND m.direction = 'out'))), "
	"(SELECT coalesce(sum(state IN ('acknowledged', 'resolved')), 0) || ',' || "
	" coalesce(sum(state = 'auto-acknowledged'), 0) || ',' || "
	" coalesce(sum(state = 'disputed'), 0) || ',' || "
	" coalesce(sum(state = 'expired'), 0) FROM tickets "
	" WHERE created_at >= ?1 AND created_at < ?2), "
	"(SELECT coalesce(sum(state = 'suppressed'), 0) || ',' || "
	" coalesce(sum(state = 'withheld'), 0) FROM events "
	" WHERE created_at >= ?1 AND created_at < ?2)";

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

static const char *const group_sql[STORE_STATS_GROUPINGS] = {
	[STORE_STATS_EVENTS_BY_MONTH_CATEGORY] =
		"SELECT strftime('%Y-%m', created_at, 'unixepoch'), "
		"coalesce(category, 'other'), count(*) FROM events "
		"WHERE created_at >= ?1 AND created_at < ?2 GROUP BY 1, 2 ORDER BY 1, 2",
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
