/* An operator's decisions on a ticket: approve, hold, retry.  Each is
 * one transaction and one timeline row under the operator's name. */
#include <string.h>

#include "renraku/tickets.h"

static enum rk_err decide(struct rk_store *store, const struct rk_log *log,
			  struct store_ticket_change *ch)
{
	enum rk_err err = store_begin(store);

	if (err)
		return err;
	if ((err = tickets_transition(store, log, ch))) {
		store_rollback(store);
		return err;
	}
	return store_commit(store);
}

enum rk_err tickets_approve(struct rk_store *store, const struct rk_log *log,
			    const char *id, const char *actor, bool cleartext)
{
	struct store_ticket_change ch = {
		.id = id, .to = STORE_TICKET_OPEN,
		.cause = cleartext ? TICKETS_CAUSE_CLEARTEXT : TICKETS_CAUSE_APPROVE,
		.actor = actor, .approved_by = actor,
		.cleartext_by = cleartext ? actor : NULL, .level = -1,
		.due_now = true,
		.detail = cleartext ? "TLP:AMBER may go out unencrypted to "
				      "recipients without a key" : NULL,
	};

	return decide(store, log, &ch);
}

enum rk_err tickets_hold(struct rk_store *store, const struct rk_log *log,
			 const char *id, const char *actor, const char *reason)
{
	struct store_ticket_change ch = {
		.id = id, .to = STORE_TICKET_HELD, .cause = TICKETS_CAUSE_HOLD,
		.actor = actor, .detail = reason, .level = -1,
	};

	return decide(store, log, &ch);
}

enum rk_err tickets_retry(struct rk_store *store, const struct rk_log *log,
			  const char *id, const char *actor)
{
	struct store_ticket_change ch = {
		.id = id, .to = STORE_TICKET_OPEN, .cause = TICKETS_CAUSE_RETRY,
		.actor = actor, .level = -1, .due_now = true,
	};

	return decide(store, log, &ch);
}
