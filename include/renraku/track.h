/*
 * Track: follow a ticket after its first notice is sent.
 *
 * Owns: the acknowledgement records (ack.c: by command and by the
 * link's token, kept only as its SHA-256), reminders and escalation
 * along the contact chain (schedule.c); inbound mail (the inbound
 * issue).  May call: store, tickets (every state change goes through
 * tickets_transition(); climbing the chain through tickets_climb()),
 * core.  Called by the pipeline driver (track_followups, between the
 * tickets and notify stages), notify (a notice's token) and the command
 * line (renraku ack).
 */
#ifndef RENRAKU_TRACK_H
#define RENRAKU_TRACK_H

#include "renraku/config.h"
#include "renraku/store.h"
#include "renraku/tickets.h"

/* ------------------------------------------------------------ ack */

enum track_ack_status {
	TRACK_ACK_RECEIVED, /* -> acknowledged */
	TRACK_ACK_RESOLVED, /* -> resolved */
	TRACK_ACK_DISPUTED, /* -> disputed, and a suppression */
};

/* "received", "resolved", "disputed" -> *out; RK_ERR_INVAL otherwise. */
enum rk_err track_ack_status_parse(const char *s, enum track_ack_status *out);

/* Bytes of a token's randomness (hex doubles it). */
#define TRACK_TOKEN_BYTES 16 /* 128 bits */
#define TRACK_TOKEN_HEX (2 * TRACK_TOKEN_BYTES + 1)

/* A new acknowledgement token: token gets TRACK_TOKEN_BYTES random
 * bytes in hex (core/random.c), hash its SHA-256 in hex (65 bytes). */
enum rk_err track_token_new(char token[TRACK_TOKEN_HEX], char hash[65]);
/* The SHA-256 of token in hex (65 bytes). */
enum rk_err track_token_hash(const char *token, char hash[65]);

/* Its own transaction.  Acknowledge ticket id: received -> acknowledged,
 * resolved -> resolved, disputed -> disputed with note, and for each
 * distinct subject (address, else domain) and type of its events a
 * suppression until now + [tracking] dispute_suppress (source
 * "ack:ID", kept across contacts imports).  actor names who
 * acknowledged (NULL = "ack").  RK_ERR_NOTFOUND: no such ticket;
 * RK_ERR_TRANSITION: the ticket is not in a state it applies to (never
 * notified, or already resolved/disputed/expired). */
enum rk_err track_ack(struct rk_store *store, const struct rk_config *cfg,
		      const struct rk_log *log, const char *id,
		      enum track_ack_status status, const char *note,
		      const char *actor, int64_t now);

/* The same, for the holder of a notice's token (the acknowledgement
 * link; the web page of the service issue calls this): the token's hash
 * must be one renraku stored (compared in constant time); an unknown
 * token changes nothing and returns RK_ERR_NOTFOUND.  ticket_out
 * (32 bytes, may be NULL) gets the ticket acknowledged. */
enum rk_err track_ack_by_token(struct rk_store *store,
			       const struct rk_config *cfg,
			       const struct rk_log *log, const char *token,
			       enum track_ack_status status, const char *note,
			       int64_t now, char *ticket_out);

/* ------------------------------------------------------------ schedule */

enum track_action_kind {
	TRACK_NONE,     /* nothing more will happen by itself */
	TRACK_REMIND,   /* a reminder to the same contact */
	TRACK_ESCALATE, /* a notice to the next level of the chain */
	TRACK_EXPIRE,   /* the chain is exhausted: expired */
};

const char *track_action_name(enum track_action_kind k);

/* What the schedule reads of a ticket, all from stored times. */
struct track_facts {
	const char *state;   /* borrowed */
	int level;           /* current level */
	int top_level;       /* highest level of its chain */
	int64_t level_since; /* first notice at the current level, 0 none */
	bool reminded;       /* a reminder went at the current level */
	bool auto_ack;       /* a ticket system answered at this level */
};

struct track_action {
	enum track_action_kind kind;
	int64_t at; /* when (Unix seconds), 0 with TRACK_NONE */
};

/* The next follow-up of a ticket with facts f under policy pol (its
 * severity's [escalation.SEVERITY]) and an auto-acknowledged clock
 * factor: only notified and auto-acknowledged tickets have one.  From
 * the first notice at the current level: a reminder at remind_after
 * (once per level, when it comes before escalate_after), then at
 * escalate_after the next level when the current one is below
 * pol->levels and the chain has one, else expired.  Auto-acknowledged:
 * both times multiplied by factor.  A policy with neither time: none.
 * Pure: the same facts give the same answer, whenever asked. */
void track_next_action(const struct rk_escalation_policy *pol, long long factor,
		       const struct track_facts *f, struct track_action *out);

/* The facts of ticket t from its timeline rows[0..n). */
void track_facts_from(const struct store_ticket *t,
		      const struct store_timeline_row *rows, size_t n,
		      struct track_facts *f);

/* Ticket id's next action as of the stored data (for tickets show). */
enum rk_err track_ticket_next(struct rk_store *store,
			      const struct rk_config *cfg, const char *id,
			      struct track_action *out);

struct track_stats {
	long long reminders; /* tickets made due for a reminder */
	long long escalated; /* sent to the next level */
	long long expired;   /* chain exhausted */
};

/* The follow-up step of `renraku run`, as of now: every notified or
 * auto-acknowledged ticket whose next action is due (at <= now) gets it,
 * one transaction per ticket that records the action and makes the
 * ticket due: a reminder -> open at the same level with every event to
 * go out again (the notify stage builds it as a reminder); escalation
 * -> tickets_climb (open at the next level); expiry -> expired.  The
 * schedule reads only stored times, so a restart, or running twice,
 * changes nothing. */
enum rk_err track_followups(struct rk_store *store, const struct rk_config *cfg,
			    const struct rk_log *log, int64_t now,
			    struct track_stats *stats);

/* For notify: whether ticket id's notice being built is a reminder
 * (the latest timeline row is a reminder) and the first notice's
 * Message-ID (caller frees, NULL when none) and time. */
enum rk_err track_notice_followup(struct rk_store *store, const char *id,
				  bool *reminder, char **first_msgid,
				  int64_t *first_at);

#endif /* RENRAKU_TRACK_H */
