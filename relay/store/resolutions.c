/* The registry cache: resolutions by range, and registries' back-off. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

void store_resolution_release(struct store_resolution *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->email);
	free(r->cc);
	free(r->org);
	free(r->country);
	free(r->registry);
	free(r->irt);
	memset(r, 0, sizeof(*r));
}

void store_resolutions_free(struct store_resolution *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		store_resolution_release(&rows[i]);
	free(rows);
}

/* An address as its blob: 4 or 16 bytes. */
static void bind_addr(sqlite3_stmt *stmt, int idx, bool has,
		      const struct rk_addr *a)
{
	if (!has)
		sqlite3_bind_null(stmt, idx);
	else
		sqlite3_bind_blob(stmt, idx, a->bytes, a->family == 4 ? 4 : 16,
				  SQLITE_TRANSIENT);
}

static bool col_addr(sqlite3_stmt *stmt, int col, struct rk_addr *a)
{
	int n = sqlite3_column_bytes(stmt, col);
	const void *p = sqlite3_column_blob(stmt, col);

	memset(a, 0, sizeof(*a));
	if (!p || (n != 4 && n != 16))
		return false;
	a->family = n == 4 ? 4 : 6;
	memcpy(a->bytes, p, (size_t)n);
	return true;
}

static enum rk_err resolution_row(sqlite3_stmt *stmt, void *row)
{
	struct store_resolution *r = row;
	bool ok = true;

	r->id = sqlite3_column_int64(stmt, 0);
	r->has_range = col_addr(stmt, 1, &r->start) && col_addr(stmt, 2, &r->end) &&
		       r->start.family == r->end.family;
	r->domain = store_col_text(stmt, 3, &ok);
	r->asn = (uint32_t)sqlite3_column_int64(stmt, 4);
	r->asn_end = (uint32_t)sqlite3_column_int64(stmt, 5);
	r->level = sqlite3_column_int(stmt, 6);
	r->email = store_col_text(stmt, 7, &ok);
	r->cc = store_col_text(stmt, 8, &ok);
	r->org = store_col_text(stmt, 9, &ok);
	r->country = store_col_text(stmt, 10, &ok);
	r->registry = store_col_text(stmt, 11, &ok);
	r->irt = store_col_text(stmt, 12, &ok);
	r->negative = sqlite3_column_int(stmt, 13) != 0;
	r->fetched_at = sqlite3_column_int64(stmt, 14);
	r->expires_at = sqlite3_column_int64(stmt, 15);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void resolution_release(void *row)
{
	store_resolution_release(row);
}

enum rk_err store_resolutions_load(struct rk_store *store, const char *source,
				   int64_t now, struct store_resolution **rows,
				   size_t *n)
{
	static const char sql[] =
		"SELECT id, net_start, net_end, domain, asn, asn_end, level, email, "
		"cc, org, country, registry, irt, negative, fetched_at, expires_at "
		"FROM resolutions WHERE source = ?1 AND expires_at > ?2 ORDER BY id";
	sqlite3_stmt *stmt = store_stmt(store, sql);

	*rows = NULL;
	*n = 0;
	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, source);
	sqlite3_bind_int64(stmt, 2, now);
	return store_collect(store, stmt, sizeof(**rows), resolution_row,
			     resolution_release, "load resolutions",
			     (void **)rows, n);
}

enum rk_err store_resolutions_put(struct rk_store *store, const char *source,
				  struct store_resolution *rows, size_t n)
{
	static const char del[] =
		"DELETE FROM resolutions WHERE source = ?1 AND expires_at <= ?2";
	static const char ins[] =
		"INSERT INTO resolutions (net_start, net_end, domain, asn, asn_end, "
		"level, email, cc, org, country, registry, irt, source, negative, "
		"fetched_at, expires_at) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
		"?14, ?15, ?16)";
	sqlite3_stmt *stmt = store_stmt(store, del);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, source);
	sqlite3_bind_int64(stmt, 2, store->now);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	if (rc != SQLITE_DONE)
		return store_fail(store, "expire resolutions");
	for (size_t i = 0; i < n; i++) {
		const struct store_resolution *r = &rows[i];

		if (!(stmt = store_stmt(store, ins)))
			return RK_ERR_DB;
		bind_addr(stmt, 1, r->has_range, &r->start);
		bind_addr(stmt, 2, r->has_range, &r->end);
		store_bind_text(stmt, 3, r->domain);
		if (r->asn)
			sqlite3_bind_int64(stmt, 4, r->asn);
		if (r->asn_end)
			sqlite3_bind_int64(stmt, 5, r->asn_end);
		sqlite3_bind_int(stmt, 6, r->level);
		store_bind_text(stmt, 7, r->email);
		store_bind_text(stmt, 8, r->cc);
		store_bind_text(stmt, 9, r->org);
		store_bind_text(stmt, 10, r->country);
		store_bind_text(stmt, 11, r->registry);
		store_bind_text(stmt, 12, r->irt);
		store_bind_text(stmt, 13, source);
		sqlite3_bind_int(stmt, 14, r->negative ? 1 : 0);
		sqlite3_bind_int64(stmt, 15, r->fetched_at);
		sqlite3_bind_int64(stmt, 16, r->expires_at);
		rc = sqlite3_step(stmt);
		store_done(stmt);
		if (rc != SQLITE_DONE)
			return store_fail(store, "write resolution");
		rows[i].id = sqlite3_last_insert_rowid(store->db);
	}
	return RK_OK;
}

enum rk_err store_backoff_get(struct rk_store *store, const char *registry,
			      int64_t now, int64_t *until)
{
	static const char sql[] =
		"SELECT until FROM registry_backoff WHERE registry = ?1 AND until > ?2";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	*until = 0;
	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, registry);
	sqlite3_bind_int64(stmt, 2, now);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*until = sqlite3_column_int64(stmt, 0);
	store_done(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? RK_OK
		       : store_fail(store, "read registry back-off");
}

enum rk_err store_backoff_set(struct rk_store *store, const char *registry,
			      int64_t until, const char *reason)
{
	static const char sql[] =
		"INSERT INTO registry_backoff (registry, until, reason) "
		"VALUES (?1, ?2, ?3) ON CONFLICT (registry) DO UPDATE SET "
		"until = excluded.until, reason = excluded.reason";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	store_bind_text(stmt, 1, registry);
	sqlite3_bind_int64(stmt, 2, until);
	store_bind_text(stmt, 3, reason);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK : store_fail(store, "write registry back-off");
}
