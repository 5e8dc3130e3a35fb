/*
 * Tickets: resolved events gather into tickets, and every ticket moves
 * through one state machine.
 *
 *   aggregate.c  resolved events -> joined to the open ticket of their
 *                level-0 contact and template (a new ticket waits
 *                [aggregate] window), or failed with a reason
 *   states.c     the ticket states and the one transition table; every
 *                state change goes through tickets_transition(), which
 *                refuses what the table does not allow and writes the
 *                ticket's timeline in the same transaction
 *   decide.c     an operator's decisions: approve, hold, retry
 *
 * Owns: the tickets, ticket_contacts, ticket_events and ticket_timeline
 * rows (through relay/store/).  May call: store, resolve (the stored
 * chain), notify (which template and language a ticket uses).  Called by
 * the pipeline driver, notify (a notice queued, a ticket held or failed)
 * and the command line.
 */
#ifndef RENRAKU_TICKETS_H
#define RENRAKU_TICKETS_H

#include "renraku/config.h"
#include "renraku/store.h"

/* ------------------------------------------------------------ states */

/* Whether state is one of the ticket states (the database's CHECK
 * list: open, held, notified, acknowledged, auto-acknowledged, resolved,
 * disputed, expired, failed). */
bool tickets_state_known(const char *state);
/* The i-th ticket state, NULL past the end (for help and checks). */
const char *tickets_state_at(size_t i);

/* Causes the transition table knows, for callers. */
#define TICKETS_CAUSE_CREATED "created"
#define TICKETS_CAUSE_NOTICE "notice-queued"      /* open -> notified */
#define TICKETS_CAUSE_NEEDS_KEY "needs-key"       /* open -> held */
#define TICKETS_CAUSE_HOLD "hold"                 /* open -> held */
#define TICKETS_CAUSE_REVIEW "review"            /* open -> held: [relay]
						   review, its notice built
						   and waiting */
#define TICKETS_CAUSE_APPROVE "approve"           /* held -> open */
#define TICKETS_CAUSE_CLEARTEXT "approve-cleartext" /* held -> open: a
						   TLP:AMBER ticket may go
						   out unencrypted */
#define TICKETS_CAUSE_FAILED "notice-failed"      /* open -> failed */
#define TICKETS_CAUSE_RETRY "retry"               /* failed -> open */
#define TICKETS_CAUSE_BOUNCE "bounce"             /* notified -> open at the
						     next level, or ->
						     expired when none is
						     left */
#define TICKETS_CAUSE_REMINDER "reminder"   /* notified|auto-acknowledged
						  -> open, same level */
#define TICKETS_CAUSE_NO_ANSWER "no-answer" /* notified|auto-acknowledged
						  -> open at the next level,
						  or -> expired */
#define TICKETS_CAUSE_ACK "ack"             /* -> acknowledged, resolved,
						  disputed */
#define TICKETS_CAUSE_AUTO_REPLY "auto-reply"     /* notified ->
						     auto-acknowledged */
#define TICKETS_CAUSE_REPLY "reply"               /* notified |
						     auto-acknowledged ->
						     acknowledged */
#define TICKETS_CAUSE_DELAYED "delayed"           /* a delayed-delivery
						     DSN: recorded, the
						     state stays */

/* In a transaction.  The one way a ticket changes state: ch->to and
 * ch->cause say what happens; ch->from is filled with the ticket's
 * current state (ch->from NULL with cause "created" records a ticket
 * just made).  A change the transition table does not list is refused
 * with RK_ERR_TRANSITION (logged with the ticket, both states and the
 * cause) and nothing is written; otherwise the state, the timeline row
 * and the audit row are written together (store_ticket_change). */
enum rk_err tickets_transition(struct rk_store *store,
			       const struct rk_log *log,
			       struct store_ticket_change *ch);

/* ------------------------------------------------------------ aggregate */

struct tickets_stats {
	long long events_seen;
	long long ticketed;
	long long failed;          /* events set aside (state failed) */
	long long tickets_created;
};

/* Move every resolved event into a ticket: the open ticket of its
 * level-0 address and template whose TLP class matches (CLEAR/GREEN
 * apart from AMBER), else a new one due at now + [aggregate] window.  A
 * full ticket ([aggregate] max_events) is due at once.  One transaction
 * per batch; an event that cannot be ticketed (a chain that cannot be
 * read, no usable template) is undone alone and set to failed with the
 * reason, and the batch goes on.  A templates directory without
 * default/en.mustache is a configuration error (RK_ERR_CONFIG, nothing
 * changed). */
enum rk_err tickets_aggregate(struct rk_store *store,
			      const struct rk_config *cfg,
			      const struct rk_log *log, int64_t now,
			      struct tickets_stats *stats);
/* tickets_aggregate drawing progress (events seen) on p (may be NULL;
 * p->total set by the caller). */
enum rk_err tickets_aggregate_progress(struct rk_store *store,
				       const struct rk_config *cfg,
				       const struct rk_log *log, int64_t now,
				       struct tickets_stats *stats,
				       struct rk_progress *p);

/* The same rule, fed by the caller, batch by batch, inside the caller's
 * transactions (the run stage's resolve batches: resolve_sink).  The
 * events handed over are already in state 'ticketed' in the open
 * transaction; a pass writes their ticket_events rows and the tickets'
 * counts (one statement each a flush), and sets an event that cannot be
 * ticketed to failed, as tickets_aggregate does.
 *
 * tickets_pass_open: *out is the caller's, freed with
 * tickets_pass_close (NULL is a no-op).  store, cfg, log and stats are
 * borrowed and must outlive the pass. */
struct tickets_pass;
enum rk_err tickets_pass_open(struct rk_store *store,
			      const struct rk_config *cfg,
			      const struct rk_log *log, int64_t now,
			      struct tickets_stats *stats,
			      struct tickets_pass **out);
/* ev[0..n) in id order, each with chain_id and chain_contact set
 * (borrowed for the call).  In the caller's transaction; on an error
 * the caller rolls back and calls tickets_pass_rolled_back. */
enum rk_err tickets_pass_take(struct tickets_pass *tp,
			      const struct store_event *ev, size_t n);
/* After the caller's commit / rollback of a batch taken. */
void tickets_pass_committed(struct tickets_pass *tp);
void tickets_pass_rolled_back(struct tickets_pass *tp);
void tickets_pass_close(struct tickets_pass *tp);

/* ------------------------------------------------------------ bounces */

/* The first level of chain[0..n) at or above min_level whose address is
 * not failing (store_address_failing): *level gets it, or -1 when every
 * such level's address is failing. */
enum rk_err tickets_usable_level(struct rk_store *store,
				 const struct store_chain_entry *chain,
				 size_t n, int min_level, int *level);

/* In a transaction.  Send ticket t (notified or auto-acknowledged, at
 * level t->level) up its chain: to the first level above t->level and
 * at most max_level whose address is not failing (-> open at that level,
 * due now; the events the notice of message_row carried, or every event
 * when message_row is 0, go out again with the new notice), else ->
 * expired.  cause is TICKETS_CAUSE_BOUNCE or TICKETS_CAUSE_NO_ANSWER;
 * why (borrowed) starts the timeline's detail.  *next gets the new
 * level, -1 when the ticket expired.  The one way a ticket climbs: a
 * bounce and the follow-up schedule both use it. */
enum rk_err tickets_climb(struct rk_store *store, const struct rk_log *log,
			  const struct store_ticket *t, int max_level,
			  const char *cause, const char *why,
			  int64_t message_row, int *next);

struct tickets_bounce_stats {
	long long escalated; /* tickets sent up their chain */
	long long expired;   /* tickets whose chain had no address left */
};

/* For every notified ticket whose latest notice bounced (SMTP 5xx) at
 * the address of its current level: the ticket moves at once to the
 * next level of its chain whose address is not failing (notified ->
 * open, level raised, due now; the events the bounced notice carried go
 * out again with the new notice), or expires when no level is left; both
 * recorded in the timeline with cause "bounce" and the server's reply.
 * One transaction per ticket. */
enum rk_err tickets_escalate_bounced(struct rk_store *store,
				     const struct rk_log *log, int64_t now,
				     struct tickets_bounce_stats *stats);

/* ------------------------------------------------------------ decide */

/* An operator's decisions; each takes its own transaction and is
 * recorded under actor in the timeline and the audit log.
 *   approve: held -> open, due now, approved_by = actor.  The approval
 *            covers exactly the events the ticket holds: no later event
 *            joins an approved ticket.  A notice built for review goes
 *            out exactly as built.  cleartext: the operator also lets
 *            a TLP:AMBER ticket go out signed but unencrypted to
 *            recipients without a key (cleartext_by = actor, cause
 *            approve-cleartext); without it such a ticket is only ever
 *            sent encrypted.
 *   hold:    open -> held with reason.
 *   retry:   failed -> open, due now.
 * RK_ERR_NOTFOUND: no such ticket; RK_ERR_TRANSITION: not in a state the
 * decision applies to. */
enum rk_err tickets_approve(struct rk_store *store, const struct rk_log *log,
			    const char *id, const char *actor, bool cleartext);
enum rk_err tickets_hold(struct rk_store *store, const struct rk_log *log,
			 const char *id, const char *actor, const char *reason);
enum rk_err tickets_retry(struct rk_store *store, const struct rk_log *log,
			  const char *id, const char *actor);

#endif /* RENRAKU_TICKETS_H */
