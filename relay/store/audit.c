/* The audit log: who or what changed which object, and when. */
#include "private.h"

enum rk_err store_audit(struct rk_store *store, const char *actor,
			const char *action, const char *object,
			const char *detail)
{
	static const char sql[] =
		"INSERT INTO audit_log (at, actor, action, object, detail) "
		"VALUES (?1, ?2, ?3, ?4, ?5)";
	sqlite3_stmt *stmt = store_stmt(store, sql);
	int rc;

	if (!stmt)
		return RK_ERR_DB;
	sqlite3_bind_int64(stmt, 1, store->now);
	store_bind_text(stmt, 2, actor);
	store_bind_text(stmt, 3, action);
	store_bind_text(stmt, 4, object);
	store_bind_text(stmt, 5, detail);
	rc = sqlite3_step(stmt);
	store_done(stmt);
	return rc == SQLITE_DONE ? RK_OK : store_fail(store, "write audit log");
}
