/*
 * Track: follow a ticket after its first notice is sent.
 *
 *   ack.c       acknowledgements by command and by the link's token
 *               (kept only as its SHA-256)
 *   schedule.c  reminders and escalation along the contact chain
 *   classify.c  one inbound message, parsed with GMime, classified: a
 *               pure function (bounce, delayed, auto-reply, reply,
 *               malformed; the Message-IDs and ticket tags it refers to,
 *               failed recipients, a remote ticket number)
 *   inbound.c   storing one message and applying its effect to the
 *               ticket it matched, in one transaction; the maildir
 *   imap.c      fetch-mail: an IMAP mailbox read through libcurl
 *
 * Owns: the acknowledgement records, the follow-up schedule, the
 * inbound rows and the IMAP state (through relay/store/), the remote
 * ticket number of a ticket.  May call: store, tickets (every
 * state change goes through tickets_transition(); a permanent bounce is
 * escalated by tickets_escalate_bounced(), as a 5xx is; climbing the
 * chain through tickets_climb()), mail (GMime, initialised by
 * mail_init()), core.  Called by the pipeline driver (track_followups
 * between the tickets and notify stages; the inbound intake after
 * delivery), notify (a notice's token) and the command line (ack,
 * inbound, fetch-mail).  renraku never replies to inbound mail.
 */
#ifndef RENRAKU_TRACK_H
#define RENRAKU_TRACK_H

#include <stdio.h>

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
/* Limits on what one inbound message yields. */
#define TRACK_MAX_MESSAGE (10u << 20) /* default [inbound] max_message */
#define TRACK_MAX_IDS 64      /* Message-IDs / ticket tags kept per list */
#define TRACK_MAX_RCPTS 32    /* failed recipients kept from a bounce */
#define TRACK_MAX_PARTS 128   /* MIME parts walked */
#define TRACK_MAX_DEPTH 8     /* nesting walked */
#define TRACK_MAX_BODY (64u << 10) /* body text kept for the operator */
#define TRACK_MAX_REMOTE 80   /* a remote ticket reference, bytes */
#define TRACK_MAX_TEXT_SCAN (1u << 20) /* text searched in a bounce */

enum track_class {
	TRACK_REPLY,      /* a person answered */
	TRACK_AUTO_REPLY, /* RFC 3834, ticket systems, out of office */
	TRACK_BOUNCE,     /* delivery failed for good */
	TRACK_DELAYED,    /* delivery delayed: recorded only */
	TRACK_MALFORMED,  /* not a message GMime can read */
};

/* "reply", "auto-reply", "bounce", "delayed", "malformed". */
const char *track_class_name(enum track_class c);

struct track_list {
	char **item; /* owned */
	size_t n;
};

/* What one message says (track_classify).  Every string owned, UTF-8,
 * without control characters. */
struct track_mail {
	enum track_class cls;
	const char *why;       /* the rule that decided (static) */
	char *message_id;      /* "<...>", NULL = none */
	char *from;            /* decoded, NULL = none */
	char *subject;         /* decoded (RFC 2047), NULL = none */
	struct track_list refs;      /* In-Reply-To, then References */
	struct track_list tags;      /* ticket ids from the subject tag */
	struct track_list orig_refs; /* Message-IDs of the original inside a bounce */
	struct track_list orig_tags; /* ticket ids in the original's subject */
	struct track_list failed;    /* a bounce's failed recipients */
	char *status;          /* a bounce's status / diagnostic, NULL */
	char *remote_ticket;   /* "[isp.example #88123]", NULL = none */
	char *body;            /* the first text part, at most TRACK_MAX_BODY */
};

/* Classify raw[0..len) (one RFC 5322 message).  prefix is the ticket
 * prefix of [relay] ticket_prefix.  Pure: reads nothing else, writes
 * only *out.  A message GMime cannot read is TRACK_MALFORMED (RK_OK);
 * only RK_ERR_NOMEM comes back as an error.  mail_init() first. */
enum rk_err track_classify(const char *raw, size_t len, const char *prefix,
			   struct track_mail *out);
void track_mail_release(struct track_mail *m);

/* What storing one message did. */
struct track_result {
	int64_t inbound_id;
	bool duplicate;         /* the same bytes were stored before */
	enum track_class cls;
	char ticket_id[32];     /* "" = unmatched */
	char matched_by[32];
	char effect[256];
	bool escalate;          /* a bounce is waiting for the tickets stage */
};

/* Store one inbound message (raw[0..len) of total bytes, at most [inbound] max_message
 * of it kept, truncated flagged) with its class, match it to a ticket
 * and apply the effect, all in one transaction: auto-reply ->
 * auto-acknowledged (remote ticket kept), reply -> acknowledged, bounce
 * -> the failed address's delivery bounced and the address failing
 * (then tickets_escalate_bounced, after commit), delayed -> a timeline
 * row.  The same bytes a second time are recognised (res->duplicate)
 * and nothing is applied.  source: "pipe", "maildir", "imap".  Errors:
 * RK_ERR_BUSY / RK_ERR_DB / RK_ERR_IO when it could not be stored. */
enum rk_err track_inbound(struct rk_store *store, const struct rk_config *cfg,
			  const struct rk_log *log, const char *raw,
			  size_t len, size_t total, const char *source,
			  struct track_result *res);

/* Read a message from f: at most max bytes into b (reset first), *total
 * gets every byte the stream held (more than b->len: truncated). */
enum rk_err track_read_message(FILE *f, long long max, struct rk_buf *b,
			       size_t *total);

/* An operator attaches unmatched message inbound_id to ticket_id: its
 * class's effect is applied then (as track_inbound would have).
 * RK_ERR_NOTFOUND: no such message or ticket; RK_ERR_EXISTS: it is
 * attached already. */
enum rk_err track_assign(struct rk_store *store, const struct rk_config *cfg,
			 const struct rk_log *log, int64_t inbound_id,
			 const char *ticket_id, const char *actor,
			 struct track_result *res);

struct track_intake_stats {
	long long seen;       /* messages read */
	long long stored;     /* new ones stored */
	long long duplicates; /* recognised as stored before */
	long long matched;    /* attached to a ticket */
};

/* Take every message in DIR/new (the maildir of [inbound] maildir):
 * each is stored (track_inbound) and then moved to DIR/cur. */
enum rk_err track_maildir(struct rk_store *store, const struct rk_config *cfg,
			  const struct rk_log *log, const char *dir,
			  struct track_intake_stats *stats);

/* Poll the IMAP mailbox of [inbound] imap_url once (UID based; each new
 * message stored before its UID is recorded; then flagged \Seen or
 * moved to [inbound] imap_done).  RK_ERR_CONFIG: no imap_url, or a
 * password file others can read; RK_ERR_TEMPFAIL: the server cannot be
 * reached or refused. */
enum rk_err track_fetch_mail(struct rk_store *store,
			     const struct rk_config *cfg,
			     const struct rk_log *log,
			     struct track_intake_stats *stats);

#endif /* RENRAKU_TRACK_H */
