/*
 * The ticket state machine: the states and the one table of allowed
 * changes.  Adding a state is a line in `states` (and in the database's
 * CHECK, by a migration); adding a change is a line in `transitions`.
 */
#include <string.h>

#include "renraku/tickets.h"

static const char *const states[] = {
	STORE_TICKET_OPEN,   /* aggregating until send_after */
	STORE_TICKET_HELD,   /* a person must decide (review, no key) */
	STORE_TICKET_NOTIFIED, /* the first notice is queued */
	"acknowledged",      /* (tracking) a person answered */
	"auto-acknowledged", /* (tracking) a ticket system answered */
	"resolved",          /* (tracking) the recipient says it is fixed */
	"disputed",          /* (tracking) not ours / false positive */
	"expired",           /* (tracking) the chain is exhausted */
	STORE_TICKET_FAILED, /* set aside with a reason */
};

struct transition {
	const char *from; /* NULL: the ticket is being created */
	const char *to;
	const char *cause;
};

static const struct transition transitions[] = {
	{NULL, STORE_TICKET_OPEN, TICKETS_CAUSE_CREATED},
	{STORE_TICKET_OPEN, STORE_TICKET_NOTIFIED, TICKETS_CAUSE_NOTICE},
	{STORE_TICKET_OPEN, STORE_TICKET_HELD, TICKETS_CAUSE_NEEDS_KEY},
	{STORE_TICKET_OPEN, STORE_TICKET_HELD, TICKETS_CAUSE_HOLD},
	{STORE_TICKET_OPEN, STORE_TICKET_HELD, TICKETS_CAUSE_REVIEW},
	{STORE_TICKET_HELD, STORE_TICKET_OPEN, TICKETS_CAUSE_APPROVE},
	{STORE_TICKET_HELD, STORE_TICKET_OPEN, TICKETS_CAUSE_CLEARTEXT},
	{STORE_TICKET_OPEN, STORE_TICKET_FAILED, TICKETS_CAUSE_FAILED},
	{STORE_TICKET_FAILED, STORE_TICKET_OPEN, TICKETS_CAUSE_RETRY},
	/* a notice bounced: the next level of the chain, or none left */
	{STORE_TICKET_NOTIFIED, STORE_TICKET_OPEN, TICKETS_CAUSE_BOUNCE},
	{STORE_TICKET_NOTIFIED, "expired", TICKETS_CAUSE_BOUNCE},
};

bool tickets_state_known(const char *state)
{
	for (size_t i = 0; state && i < RK_ARRAY_LEN(states); i++)
		if (strcmp(state, states[i]) == 0)
			return true;
	return false;
}

const char *tickets_state_at(size_t i)
{
	return i < RK_ARRAY_LEN(states) ? states[i] : NULL;
}

static bool same(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool allowed(const char *from, const char *to, const char *cause)
{
	for (size_t i = 0; i < RK_ARRAY_LEN(transitions); i++)
		if (same(transitions[i].from, from) &&
		    strcmp(transitions[i].to, to) == 0 &&
		    strcmp(transitions[i].cause, cause) == 0)
			return true;
	return false;
}

enum rk_err tickets_transition(struct rk_store *store,
			       const struct rk_log *log,
			       struct store_ticket_change *ch)
{
	char current[32];
	enum rk_err err;

	if (!ch->id || !ch->to || !ch->cause || !tickets_state_known(ch->to))
		return rk_fail(log, RK_ERR_INTERNAL,
			       "ticket state change without ticket, state or cause");
	if (ch->from == NULL && strcmp(ch->cause, TICKETS_CAUSE_CREATED) == 0) {
		/* a ticket just made: it is in `to` already */
		if (!allowed(NULL, ch->to, ch->cause))
			goto refuse;
		return store_ticket_change(store, ch);
	}
	if ((err = store_ticket_state(store, ch->id, current, NULL)))
		return err == RK_ERR_NOTFOUND
			       ? rk_fail(log, err, "no ticket %s", ch->id)
			       : err;
	ch->from = current;
	if (!allowed(current, ch->to, ch->cause))
		goto refuse;
	err = store_ticket_change(store, ch);
	ch->from = NULL; /* current is about to go out of scope */
	return err;
refuse:
	err = rk_fail(log, RK_ERR_TRANSITION,
		      "ticket %s: %s -> %s (%s) is not a change a ticket can make",
		      ch->id, ch->from ? ch->from : "(new)", ch->to, ch->cause);
	ch->from = NULL;
	return err;
}
