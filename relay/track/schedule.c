/* Reminders and escalation: the follow-up schedule of a ticket nobody
 * answered, computed from stored times only (the timeline), so that a
 * restart or a second run changes nothing. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/track.h"

const char *track_action_name(enum track_action_kind k)
{
	switch (k) {
	case TRACK_NONE: return "none";
	case TRACK_REMIND: return "remind";
	case TRACK_ESCALATE: return "escalate";
	case TRACK_EXPIRE: return "expire";
	}
	return "none";
}

static int64_t after(int64_t since, long long delay, long long factor)
{
	if (delay > (INT64_MAX - since) / (factor > 0 ? factor : 1))
		return INT64_MAX;
	return since + delay * (factor > 0 ? factor : 1);
}

void track_next_action(const struct rk_escalation_policy *pol, long long factor,
		       const struct track_facts *f, struct track_action *out)
{
	long long k = f->auto_ack ? factor : 1;

	out->kind = TRACK_NONE;
	out->at = 0;
	if (!f->state || (strcmp(f->state, STORE_TICKET_NOTIFIED) != 0 &&
			  strcmp(f->state, "auto-acknowledged") != 0))
		return; /* answered, closed, or not sent yet */
	if (!f->level_since || (pol->remind_after <= 0 &&
				pol->escalate_after <= 0))
		return;
	if (!f->reminded && pol->remind_after > 0 &&
	    (pol->escalate_after <= 0 ||
	     pol->remind_after < pol->escalate_after)) {
		out->kind = TRACK_REMIND;
		out->at = after(f->level_since, pol->remind_after, k);
		return;
	}
	if (pol->escalate_after <= 0)
		return; /* reminded; nothing climbs */
	out->at = after(f->level_since, pol->escalate_after, k);
	out->kind = f->level < pol->levels && f->level < f->top_level
			    ? TRACK_ESCALATE
			    : TRACK_EXPIRE;
}

void track_facts_from(const struct store_ticket *t,
		      const struct store_timeline_row *rows, size_t n,
		      struct track_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->state = t->state;
	f->level = t->level;
	f->top_level = t->level;
	for (size_t i = 0; i < t->nchain; i++)
		if (t->chain[i].level > f->top_level && t->chain[i].email)
			f->top_level = t->chain[i].level;
	f->auto_ack = t->state && strcmp(t->state, "auto-acknowledged") == 0;
	for (size_t i = 0; i < n; i++) {
		const struct store_timeline_row *r = &rows[i];

		if (r->level != t->level || !r->cause)
			continue;
		if (strcmp(r->cause, TICKETS_CAUSE_NOTICE) == 0 &&
		    !f->level_since)
			f->level_since = r->at;
		else if (strcmp(r->cause, TICKETS_CAUSE_REMINDER) == 0)
			f->reminded = true;
		else if (strcmp(r->cause, "auto-reply") == 0)
			f->auto_ack = true;
	}
}

/* Ticket t's facts and next action (t filled; caller releases it). */
static enum rk_err ticket_next(struct rk_store *store,
			       const struct rk_config *cfg, const char *id,
			       struct store_ticket *t, struct track_action *out)
{
	struct store_timeline_row *rows = NULL;
	struct track_facts f;
	size_t n = 0;
	enum rk_err err;

	out->kind = TRACK_NONE;
	out->at = 0;
	if ((err = store_ticket_get(store, id, t)) ||
	    (err = store_ticket_timeline(store, id, &rows, &n)))
		return err;
	track_facts_from(t, rows, n, &f);
	if ((size_t)t->severity < RK_SEV_COUNT)
		track_next_action(&cfg->escalation[t->severity],
				  cfg->tracking.auto_ack_factor, &f, out);
	store_timeline_free(rows, n);
	return RK_OK;
}

enum rk_err track_ticket_next(struct rk_store *store,
			      const struct rk_config *cfg, const char *id,
			      struct track_action *out)
{
	struct store_ticket t;
	enum rk_err err;

	memset(&t, 0, sizeof(t));
	err = ticket_next(store, cfg, id, &t, out);
	store_ticket_release(&t);
	return err;
}

/* In a transaction: the ticket's due action a, recorded. */
static enum rk_err act(struct rk_store *store, const struct rk_config *cfg,
		       const struct rk_log *log, const struct store_ticket *t,
		       const struct track_action *a, int *next)
{
	const struct rk_escalation_policy *pol = &cfg->escalation[t->severity];
	char why[256], at[RK_TIME_TEXT];

	*next = t->level;
	if (a->kind == TRACK_REMIND) {
		struct store_ticket_change ch = {
			.id = t->id, .to = STORE_TICKET_OPEN,
			.cause = TICKETS_CAUSE_REMINDER, .level = -1,
			.due_now = true, .detail = "no answer: a reminder",
		};
		enum rk_err err;

		if ((err = store_ticket_events_unnotify_all(store, t->id)))
			return err;
		return tickets_transition(store, log, &ch);
	}
	rk_time_format_iso(a->at, at);
	snprintf(why, sizeof(why), "no answer at level %d by %s", t->level, at);
	return tickets_climb(store, log, t,
			     a->kind == TRACK_ESCALATE ? pol->levels : -1,
			     TICKETS_CAUSE_NO_ANSWER, why, 0, next);
}

static enum rk_err follow_one(struct rk_store *store,
			      const struct rk_config *cfg,
			      const struct rk_log *log, const char *id,
			      int64_t now, struct track_stats *stats)
{
	struct store_ticket t;
	struct track_action a;
	int next = -1;
	bool committed = false;
	enum rk_err err;

	memset(&t, 0, sizeof(t));
	if ((err = store_begin(store)))
		return err;
	/* read and decided inside the transaction that acts */
	if ((err = ticket_next(store, cfg, id, &t, &a)))
		goto cleanup;
	if (a.kind == TRACK_NONE || a.at > now)
		goto cleanup;
	if ((err = act(store, cfg, log, &t, &a, &next)) ||
	    (err = store_commit(store)))
		goto cleanup;
	committed = true;
	if (a.kind == TRACK_REMIND) {
		stats->reminders++;
		rk_log_info(log, "ticket %s: no answer; a reminder to %s",
			    t.id, t.contact);
	} else if (next >= 0) {
		stats->escalated++;
		rk_log_warn(log, "ticket %s: no answer at level %d; escalated "
				 "to level %d",
			    t.id, t.level, next);
	} else {
		stats->expired++;
		rk_log_warn(log, "ticket %s: no answer and no level left: "
				 "expired",
			    t.id);
	}
cleanup:
	if (!committed)
		store_rollback(store);
	store_ticket_release(&t);
	return err;
}

enum rk_err track_followups(struct rk_store *store, const struct rk_config *cfg,
			    const struct rk_log *log, int64_t now,
			    struct track_stats *stats)
{
	char (*ids)[32] = NULL;
	size_t n = 0;
	enum rk_err err;

	if ((err = store_tickets_following(store, &ids, &n)))
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		err = follow_one(store, cfg, log, ids[i], now, stats);
		if (err == RK_ERR_EXISTS)
			err = RK_OK; /* moved on meanwhile */
	}
	free(ids);
	return err;
}

enum rk_err track_notice_followup(struct rk_store *store, const char *id,
				  bool *reminder, char **first_msgid,
				  int64_t *first_at)
{
	struct store_timeline_row *rows = NULL;
	size_t n = 0;
	enum rk_err err;

	*reminder = false;
	*first_msgid = NULL;
	if ((err = store_ticket_timeline(store, id, &rows, &n)))
		return err;
	*reminder = n && rows[n - 1].cause &&
		    strcmp(rows[n - 1].cause, TICKETS_CAUSE_REMINDER) == 0;
	store_timeline_free(rows, n);
	return store_ticket_first_notice(store, id, first_msgid, NULL, first_at);
}
