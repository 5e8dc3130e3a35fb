/*
 * Track: follow a ticket after its first notice is sent.
 *
 *   classify.c  one inbound message, parsed with GMime, classified: a
 *               pure function (bounce, delayed, auto-reply, reply,
 *               malformed; the Message-IDs and ticket tags it refers to,
 *               failed recipients, a remote ticket number)
 *   inbound.c   storing one message and applying its effect to the
 *               ticket it matched, in one transaction; the maildir
 *   imap.c      fetch-mail: an IMAP mailbox read through libcurl
 *
 * Owns: the inbound rows and the IMAP state (through relay/store/), the
 * remote ticket number of a ticket.  May call: store, tickets (every
 * state change goes through tickets_transition(); a permanent bounce is
 * escalated by tickets_escalate_bounced(), as a 5xx is), mail (GMime,
 * initialised by mail_init()).  Called by the pipeline driver and the
 * command line.  renraku never replies to inbound mail.
 */
#ifndef RENRAKU_TRACK_H
#define RENRAKU_TRACK_H

#include <stdio.h>

#include "renraku/config.h"
#include "renraku/store.h"
#include "renraku/tickets.h"

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
