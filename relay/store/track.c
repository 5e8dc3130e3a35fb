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

/* ------------------------------------------------------------ responsiveness */

/* The counters, and each ticket's time to its first human answer, over
 * the timeline rows of one contact address (the rows at a level whose
 * ticket_contacts address it is) or one origin AS (the rows of the
 * tickets holding an event of it). */
#define RESP_ROWS_ADDR                                                      \
	"WITH r AS (SELECT 0 AS k, tl.ticket_id, tl.at, tl.cause, tl.level " \
	"FROM ticket_contacts tc JOIN ticket_timeline tl "                  \
	"ON tl.ticket_id = tc.ticket_id AND tl.level = tc.level "          \
	"JOIN tickets t ON t.id = tc.ticket_id "                            \
	"WHERE tc.email = ?1 COLLATE NOCASE "                               \
	"AND t.created_at >= ?2 AND t.created_at < ?3) "
#define RESP_ROWS_ASN                                                       \
	"WITH x AS (SELECT DISTINCT te.ticket_id FROM events e "            \
	"JOIN ticket_events te ON te.event_id = e.id "                     \
	"JOIN tickets t ON t.id = te.ticket_id "                            \
	"WHERE e.source_asn = ?1 "                                          \
	"AND t.created_at >= ?2 AND t.created_at < ?3), "                                        \
	"r AS (SELECT 0 AS k, tl.ticket_id, tl.at, tl.cause, tl.level "      \
	"FROM x JOIN ticket_timeline tl ON tl.ticket_id = x.ticket_id) "
/* every address, or every origin AS, of the tickets opened in
 * [?2, ?3) at once, k naming it (renraku stats ranks them) */
#define RESP_ROWS_ALL_ADDR                                                  \
	"WITH r AS (SELECT lower(tc.email) AS k, tl.ticket_id, tl.at, "     \
	"tl.cause, tl.level FROM tickets t JOIN ticket_contacts tc "       \
	"ON tc.ticket_id = t.id JOIN ticket_timeline tl "                   \
	"ON tl.ticket_id = tc.ticket_id AND tl.level = tc.level "          \
	"WHERE t.created_at >= ?2 AND t.created_at < ?3 AND ?1 IS NULL) "
#define RESP_ROWS_ALL_ASN                                                   \
	"WITH x AS (SELECT DISTINCT e.source_asn AS k, te.ticket_id "       \
	"FROM tickets t JOIN ticket_events te ON te.ticket_id = t.id "     \
	"JOIN events e ON e.id = te.event_id WHERE t.created_at >= ?2 "    \
	"AND t.created_at < ?3 AND e.source_asn IS NOT NULL AND ?1 IS NULL), " \
	"r AS (SELECT x.k, tl.ticket_id, tl.at, tl.cause, tl.level "        \
	"FROM x JOIN ticket_timeline tl ON tl.ticket_id = x.ticket_id) "
#define RESP_COUNTS                                                         \
	"SELECT k, coalesce(sum(cause = 'notice-queued'), 0), "             \
	"coalesce(sum(cause = 'bounce'), 0), "                              \
	"coalesce(sum(cause = 'auto-reply'), 0), "                          \
	"coalesce(sum(cause IN ('reply', 'ack')), 0), "                     \
	"count(DISTINCT ticket_id) FROM r GROUP BY k ORDER BY k"
/* per ticket and level: first human answer - first notice there */
#define RESP_DELAYS                                                         \
	"SELECT h.k, h.first - n.first FROM "                               \
	"(SELECT k, ticket_id, level, min(at) AS first FROM r "             \
	" WHERE cause IN ('reply', 'ack') GROUP BY k, ticket_id, level) h " \
	"JOIN (SELECT k, ticket_id, level, min(at) AS first FROM r "        \
	" WHERE cause = 'notice-queued' GROUP BY k, ticket_id, level) n "   \
	"ON n.k = h.k AND n.ticket_id = h.ticket_id AND n.level = h.level " \
	"ORDER BY 1, 2"

/* the columns after k of RESP_COUNTS */
static void counts_row(sqlite3_stmt *stmt, struct store_responsiveness *out)
{
	out->sent = sqlite3_column_int64(stmt, 1);
	out->bounced = sqlite3_column_int64(stmt, 2);
	out->auto_acknowledged = sqlite3_column_int64(stmt, 3);
	out->acknowledged = sqlite3_column_int64(stmt, 4);
	out->tickets = sqlite3_column_int64(stmt, 5);
}

static long long median_of(const long long *v, size_t n)
{
	if (!n)
		return -1;
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static enum rk_err delays_median(struct rk_store *store, sqlite3_stmt *stmt,
				 struct store_responsiveness *out)
{
	long long *v = NULL;
	size_t n = 0;
	enum rk_err err = RK_OK;
	int rc;

	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		void *grown = v;

		if ((err = rk_array_room(&grown, n, sizeof(*v))))
			break;
		v = grown;
		v[n++] = sqlite3_column_int64(stmt, 1);
	}
	if (!err && rc != SQLITE_DONE)
		err = store_fail(store, "read answer times");
	store_done(stmt);
	out->answered = (long long)n;
	out->median_answer = err ? -1 : median_of(v, n);
	free(v);
	return err;
}

enum rk_err store_responsiveness_get(struct rk_store *store,
				     const char *address, int64_t asn,
				     struct store_responsiveness *out)
{
	return store_responsiveness_period(store, address, asn, 0, INT64_MAX,
					   out);
}

enum rk_err store_responsiveness_period(struct rk_store *store,
					const char *address, int64_t asn,
					int64_t since, int64_t until,
					struct store_responsiveness *out)
{
	static const char counts_addr[] = RESP_ROWS_ADDR RESP_COUNTS;
	static const char counts_asn[] = RESP_ROWS_ASN RESP_COUNTS;
	static const char delays_addr[] = RESP_ROWS_ADDR RESP_DELAYS;
	static const char delays_asn[] = RESP_ROWS_ASN RESP_DELAYS;
	/* a bounce row records the level it moved to: the refused address
	 * is counted from its deliveries */
	static const char bounced_addr[] =
		"SELECT count(*) FROM deliveries d JOIN messages m "
		"ON m.id = d.message_row JOIN tickets t ON t.id = m.ticket_id "
		"WHERE d.rcpt = ?1 COLLATE NOCASE AND d.state = 'bounced' "
		"AND t.created_at >= ?2 AND t.created_at < ?3";
	sqlite3_stmt *stmt;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!(stmt = store_stmt(store, address ? counts_addr : counts_asn)))
		return RK_ERR_DB;
	if (address)
		store_bind_text(stmt, 1, address);
	else
		sqlite3_bind_int64(stmt, 1, asn);
	sqlite3_bind_int64(stmt, 2, since);
	sqlite3_bind_int64(stmt, 3, until);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		counts_row(stmt, out);
	store_done(stmt);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return store_fail(store, "count a contact's answers");
	if (address) {
		if (!(stmt = store_stmt(store, bounced_addr)))
			return RK_ERR_DB;
		store_bind_text(stmt, 1, address);
		sqlite3_bind_int64(stmt, 2, since);
		sqlite3_bind_int64(stmt, 3, until);
		rc = sqlite3_step(stmt);
		if (rc == SQLITE_ROW)
			out->bounced = sqlite3_column_int64(stmt, 0);
		store_done(stmt);
		if (rc != SQLITE_ROW)
			return store_fail(store, "count bounces");
	}
	if (!(stmt = store_stmt(store, address ? delays_addr : delays_asn)))
		return RK_ERR_DB;
	if (address)
		store_bind_text(stmt, 1, address);
	else
		sqlite3_bind_int64(stmt, 1, asn);
	sqlite3_bind_int64(stmt, 2, since);
	sqlite3_bind_int64(stmt, 3, until);
	return delays_median(store, stmt, out);
}

/* the row of rows[0..n) whose key is the k column of stmt (rows are in
 * k order, as the statements return them), NULL when none */
static struct store_responsiveness_row *
row_of(struct store_responsiveness_row *rows, size_t n, bool by_asn,
       sqlite3_stmt *stmt)
{
	const char *key = (const char *)sqlite3_column_text(stmt, 0);
	int64_t asn = sqlite3_column_int64(stmt, 0);
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = by_asn ? (rows[mid].asn < asn ? -1 : rows[mid].asn > asn)
			       : strcmp(rows[mid].address, key ? key : "");

		if (c == 0)
			return &rows[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

enum rk_err store_responsiveness_all(struct rk_store *store, bool by_asn,
				     int64_t since, int64_t until,
				     struct store_responsiveness_row **rows_out,
				     size_t *n_out)
{
	static const char counts_addr[] = RESP_ROWS_ALL_ADDR RESP_COUNTS;
	static const char counts_asn[] = RESP_ROWS_ALL_ASN RESP_COUNTS;
	static const char delays_addr[] = RESP_ROWS_ALL_ADDR RESP_DELAYS;
	static const char delays_asn[] = RESP_ROWS_ALL_ASN RESP_DELAYS;
	static const char bounced_addr[] =
		"SELECT lower(d.rcpt), count(*) FROM tickets t JOIN messages m "
		"ON m.ticket_id = t.id JOIN deliveries d ON d.message_row = m.id "
		"WHERE d.state = 'bounced' AND t.created_at >= ?2 "
		"AND t.created_at < ?3 AND ?1 IS NULL GROUP BY 1 ORDER BY 1";
	struct store_responsiveness_row *rows = NULL, *cur = NULL;
	long long *v = NULL;
	size_t n = 0, nv = 0;
	enum rk_err err = RK_OK;
	sqlite3_stmt *stmt;
	int rc;

	*rows_out = NULL;
	*n_out = 0;
	if (!(stmt = store_stmt(store, by_asn ? counts_asn : counts_addr)))
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 2, since);
	sqlite3_bind_int64(stmt, 3, until);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		void *grown = rows;
		const char *key = (const char *)sqlite3_column_text(stmt, 0);

		if ((err = rk_array_room(&grown, n, sizeof(*rows))))
			break;
		rows = grown;
		memset(&rows[n], 0, sizeof(rows[n]));
		if (by_asn)
			rows[n].asn = sqlite3_column_int64(stmt, 0);
		else if (key && strlen(key) < sizeof(rows[n].address))
			memcpy(rows[n].address, key, strlen(key) + 1);
		else
			continue; /* an address too long to name: not ranked */
		counts_row(stmt, &rows[n].r);
		rows[n].r.median_answer = -1;
		n++;
	}
	if (!err && rc != SQLITE_DONE)
		err = store_fail(store, "count the answers of every contact");
	store_done(stmt);
	if (!err && !by_asn) {
		if (!(stmt = store_stmt(store, bounced_addr))) {
			err = RK_ERR_DB;
		} else {
			sqlite3_bind_int64(stmt, 2, since);
			sqlite3_bind_int64(stmt, 3, until);
			while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
				struct store_responsiveness_row *w =
					row_of(rows, n, false, stmt);

				if (w)
					w->r.bounced = sqlite3_column_int64(stmt, 1);
			}
			if (rc != SQLITE_DONE)
				err = store_fail(store, "count bounces");
			store_done(stmt);
		}
	}
	if (!err && !(stmt = store_stmt(store, by_asn ? delays_asn : delays_addr)))
		err = RK_ERR_DB;
	if (!err) {
		sqlite3_bind_int64(stmt, 2, since);
		sqlite3_bind_int64(stmt, 3, until);
		/* rows in k order, then by time: one group after the other */
		while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
			struct store_responsiveness_row *w = row_of(rows, n, by_asn, stmt);
			void *grown = v;

			if (w != cur) {
				if (cur) {
					cur->r.answered = (long long)nv;
					cur->r.median_answer = median_of(v, nv);
				}
				cur = w;
				nv = 0;
			}
			if (!w)
				continue;
			if ((err = rk_array_room(&grown, nv, sizeof(*v))))
				break;
			v = grown;
			v[nv++] = sqlite3_column_int64(stmt, 1);
		}
		if (!err && rc != SQLITE_DONE)
			err = store_fail(store, "read answer times");
		if (!err && cur) {
			cur->r.answered = (long long)nv;
			cur->r.median_answer = median_of(v, nv);
		}
		store_done(stmt);
	}
	free(v);
	if (err) {
		free(rows);
		return err;
	}
	*rows_out = rows;
	*n_out = n;
	return RK_OK;
}
