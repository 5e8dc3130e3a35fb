/* The imported contact set: constituency and national CSIRT rows
 * (table contacts) and suppression rules (table suppressions). */
#include <stdlib.h>
#include <string.h>

#include "private.h"

void store_contact_release(struct store_contact *c)
{
	if (!c)
		return;
	free(c->org);
	free(c->match);
	free(c->email);
	free(c->cc);
	free(c->pgp);
	free(c->lang);
	free(c->format);
	free(c->notes);
	free(c->source);
	memset(c, 0, sizeof(*c));
}

void store_suppression_release(struct store_suppression *s)
{
	if (!s)
		return;
	free(s->match);
	free(s->type);
	free(s->reason);
	free(s->source);
	memset(s, 0, sizeof(*s));
}

void store_contacts_free(struct store_contact *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		store_contact_release(&rows[i]);
	free(rows);
}

void store_suppressions_free(struct store_suppression *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		store_suppression_release(&rows[i]);
	free(rows);
}

static enum rk_err delete_all(struct rk_store *store)
{
	static const char del_contacts[] = "DELETE FROM contacts";
	/* the suppressions a disputed acknowledgement added (source
	 * "ack:TICKET") are not the contacts directory's: they stay */
	static const char del_supps[] =
		"DELETE FROM suppressions WHERE source IS NULL OR "
		"source NOT LIKE 'ack:%'";
	const char *const sqls[] = {del_contacts, del_supps};

	for (size_t i = 0; i < RK_ARRAY_LEN(sqls); i++) {
		sqlite3_stmt *stmt = store_stmt(store, sqls[i]);
		int rc;

		if (!stmt)
			return RK_ERR_DB;
		rc = sqlite3_step(stmt);
		store_done(stmt);
		if (rc != SQLITE_DONE)
			return store_fail(store, "delete the old contact set");
	}
	return RK_OK;
}

static enum rk_err insert_contact(struct rk_store *store,
				  const struct store_contact *c)
{
	static const char sql[] =
		"INSERT INTO contacts (kind, org, match, email, cc, pgp, lang, "
		"format, notes, source) "
		"VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	if (!c->org || !c->match || !c->email) {
		rk_log_error(store->log, "contact without org, match or email");
		return RK_ERR_INVAL;
	}
	sqlite3_bind_int(stmt, 1, (int)c->kind);
	store_bind_text(stmt, 2, c->org);
	store_bind_text(stmt, 3, c->match);
	store_bind_text(stmt, 4, c->email);
	store_bind_text(stmt, 5, c->cc);
	store_bind_text(stmt, 6, c->pgp);
	store_bind_text(stmt, 7, c->lang);
	store_bind_text(stmt, 8, c->format);
	store_bind_text(stmt, 9, c->notes);
	store_bind_text(stmt, 10, c->source);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK : store_fail(store, "insert a contact");
}

enum rk_err store_suppression_add(struct rk_store *store,
				  const struct store_suppression *s)
{
	static const char sql[] =
		"INSERT INTO suppressions (match, type, until, reason, source) "
		"VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	if (!s->match) {
		rk_log_error(store->log, "suppression without match");
		return RK_ERR_INVAL;
	}
	store_bind_text(stmt, 1, s->match);
	store_bind_text(stmt, 2, s->type);
	sqlite3_bind_int64(stmt, 3, s->until);
	store_bind_text(stmt, 4, s->reason);
	store_bind_text(stmt, 5, s->source);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK
				 : store_fail(store, "insert a suppression");
}

/* The constituency changed: every unresolved event is due for another
 * lookup at the next run, whatever its negative_ttl said. */
static enum rk_err retry_unresolved(struct rk_store *store)
{
	static const char sql[] =
		"UPDATE events SET retry_at = 0 WHERE state = 'unresolved'";
	static const char sql_gen[] =
		"UPDATE store_meta SET value = value + 1"
		" WHERE key = 'contacts_generation'";
	enum rk_err err = store_step_once(store, sql, "retry unresolved events");

	/* a lookup running meanwhile sees the change and writes nothing */
	return err ? err : store_step_once(store, sql_gen, "count a contacts import");
}

enum rk_err store_contacts_generation(struct rk_store *store, int64_t *out)
{
	static const char sql[] =
		"SELECT value FROM store_meta WHERE key = 'contacts_generation'";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	*out = 0;
	if (!stmt)
		return RK_ERR_DB;
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(stmt, 0);
	store_done(stmt);
	return rc == SQLITE_ROW || rc == SQLITE_DONE
		       ? RK_OK
		       : store_fail(store, "read the contacts generation");
}

enum rk_err store_contacts_replace(struct rk_store *store,
				   const struct store_contact *contacts,
				   size_t ncontacts,
				   const struct store_suppression *supps,
				   size_t nsupps)
{
	enum rk_err err;

	if ((err = store_begin(store)))
		return err;
	if ((err = delete_all(store)))
		goto cleanup;
	for (size_t i = 0; i < ncontacts; i++)
		if ((err = insert_contact(store, &contacts[i])))
			goto cleanup;
	for (size_t i = 0; i < nsupps; i++)
		if ((err = store_suppression_add(store, &supps[i])))
			goto cleanup;
	if ((err = retry_unresolved(store)))
		goto cleanup;
	err = store_commit(store);
cleanup:
	if (err)
		store_rollback(store);
	return err;
}

static enum rk_err contact_row(sqlite3_stmt *stmt, void *row)
{
	struct store_contact *c = row;
	bool ok = true;

	c->id = sqlite3_column_int64(stmt, 0);
	c->kind = sqlite3_column_int(stmt, 1) == STORE_CONTACT_NATIONAL
			  ? STORE_CONTACT_NATIONAL
			  : STORE_CONTACT_CONSTITUENCY;
	c->org = store_col_text(stmt, 2, &ok);
	c->match = store_col_text(stmt, 3, &ok);
	c->email = store_col_text(stmt, 4, &ok);
	c->cc = store_col_text(stmt, 5, &ok);
	c->pgp = store_col_text(stmt, 6, &ok);
	c->lang = store_col_text(stmt, 7, &ok);
	c->format = store_col_text(stmt, 8, &ok);
	c->notes = store_col_text(stmt, 9, &ok);
	c->source = store_col_text(stmt, 10, &ok);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void contact_release(void *row)
{
	store_contact_release(row);
}

enum rk_err store_contacts_load(struct rk_store *store,
				struct store_contact **rows, size_t *n)
{
	static const char sql[] =
		"SELECT id, kind, org, match, email, cc, pgp, lang, format, "
		"notes, source FROM contacts ORDER BY id";
	sqlite3_stmt *stmt = store_stmt(store, sql);

	*rows = NULL;
	*n = 0;
	if (!stmt)
		return RK_ERR_DB;
	return store_collect(store, stmt, sizeof(**rows), contact_row,
			     contact_release, "load contacts", (void **)rows, n);
}

static enum rk_err suppression_row(sqlite3_stmt *stmt, void *row)
{
	struct store_suppression *s = row;
	bool ok = true;

	s->id = sqlite3_column_int64(stmt, 0);
	s->match = store_col_text(stmt, 1, &ok);
	s->type = store_col_text(stmt, 2, &ok);
	s->until = sqlite3_column_int64(stmt, 3);
	s->reason = store_col_text(stmt, 4, &ok);
	s->source = store_col_text(stmt, 5, &ok);
	return ok ? RK_OK : RK_ERR_NOMEM;
}

static void suppression_release(void *row)
{
	store_suppression_release(row);
}

enum rk_err store_suppressions_load(struct rk_store *store,
				    struct store_suppression **rows,
				    size_t *n)
{
	static const char sql[] =
		"SELECT id, match, type, until, reason, source FROM suppressions "
		"ORDER BY id";
	sqlite3_stmt *stmt = store_stmt(store, sql);

	*rows = NULL;
	*n = 0;
	if (!stmt)
		return RK_ERR_DB;
	return store_collect(store, stmt, sizeof(**rows), suppression_row,
			     suppression_release, "load suppressions",
			     (void **)rows, n);
}
