/* A notice refused for good (SMTP 5xx): the ticket goes up its chain. */
#include <stdio.h>
#include <string.h>

#include "renraku/tickets.h"

enum rk_err tickets_usable_level(struct rk_store *store,
				 const struct store_chain_entry *chain,
				 size_t n, int min_level, int *level)
{
	int best = -1;
	enum rk_err err;

	*level = -1;
	for (size_t i = 0; i < n; i++) {
		bool failing;

		if (chain[i].level < min_level || !chain[i].email ||
		    (best >= 0 && chain[i].level >= best))
			continue;
		if ((err = store_address_failing(store, chain[i].email,
						 &failing)))
			return err;
		if (!failing)
			best = chain[i].level;
	}
	*level = best;
	return RK_OK;
}

static enum rk_err escalate_one(struct rk_store *store,
				const struct rk_log *log,
				const struct store_bounce *b,
				struct tickets_bounce_stats *stats)
{
	struct store_ticket t;
	char detail[1024];
	int next = -1;
	bool committed = false;
	enum rk_err err;

	memset(&t, 0, sizeof(t));
	if ((err = store_begin(store)))
		return err;
	if ((err = store_ticket_get(store, b->ticket_id, &t)))
		goto cleanup;
	if (t.level != b->level || strcmp(t.state, STORE_TICKET_NOTIFIED) != 0)
		goto cleanup; /* moved on meanwhile */
	if ((err = tickets_usable_level(store, t.chain, t.nchain, t.level + 1,
					&next)))
		goto cleanup;
	{
		struct store_ticket_change ch = {
			.id = t.id, .cause = TICKETS_CAUSE_BOUNCE,
			.detail = detail, .message_row = b->message_row,
			.level = next,
		};

		if (next >= 0) {
			snprintf(detail, sizeof(detail),
				 "%s bounced (%s): level %d", b->rcpt,
				 b->reply ? b->reply : "refused", next);
			ch.to = STORE_TICKET_OPEN;
			ch.due_now = true;
			if ((err = store_ticket_events_unnotify(
				     store, t.id, b->message_row)))
				goto cleanup;
		} else {
			snprintf(detail, sizeof(detail),
				 "%s bounced (%s) and no level of the chain "
				 "above %d has an address that works",
				 b->rcpt, b->reply ? b->reply : "refused",
				 t.level);
			ch.to = "expired";
			ch.level = -1;
		}
		if ((err = tickets_transition(store, log, &ch)))
			goto cleanup;
	}
	if ((err = store_commit(store)))
		goto cleanup;
	committed = true;
	if (next >= 0) {
		stats->escalated++;
		rk_log_warn(log, "ticket %s: %s bounced; escalated to level %d",
			    t.id, b->rcpt, next);
	} else {
		stats->expired++;
		rk_log_error(log, "ticket %s: %s bounced and the chain has no "
				  "other working address: expired",
			     t.id, b->rcpt);
	}
cleanup:
	if (!committed)
		store_rollback(store); /* an error, or nothing to do */
	store_ticket_release(&t);
	return err;
}

enum rk_err tickets_escalate_bounced(struct rk_store *store,
				     const struct rk_log *log, int64_t now,
				     struct tickets_bounce_stats *stats)
{
	struct store_bounce *rows = NULL;
	size_t n = 0;
	enum rk_err err;

	(void)now; /* the store records its own now (store_set_now) */
	if ((err = store_tickets_bounced(store, &rows, &n)))
		return err;
	for (size_t i = 0; i < n && !err; i++)
		err = escalate_one(store, log, &rows[i], stats);
	store_bounces_free(rows, n);
	return err;
}
