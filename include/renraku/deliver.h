/*
 * Deliver: hand a built message to a transport.
 *
 * A transport is a struct of function pointers; one file per backend
 * (maildir.c now; smtp.c later).  URL forms:
 *   maildir:/path/to/Maildir   (relative paths are relative to the
 *                               config file's directory)
 *   smtp://host:port           (a later issue)
 *
 * Owns: the state of messages after they are queued (sending, sent,
 * deferred, failed) and one deliveries row per envelope recipient
 * (through relay/store/).  May call: store, core.  Called by the
 * pipeline driver.
 */
#ifndef RENRAKU_DELIVER_H
#define RENRAKU_DELIVER_H

#include "renraku/config.h"

struct deliver_msg {
	const char *key;        /* stable name for this message (e.g. the
				   store row "42"): delivering the same key
				   twice must not make two copies where the
				   transport can tell */
	const char *mail_from;  /* envelope sender */
	const char *const *rcpts; /* envelope recipients of this attempt
				   (on a retry only those still deferred) */
	size_t nrcpts;
	const char *data;       /* the whole message, CRLF line ends */
	size_t len;
	bool retry;             /* an earlier attempt may have delivered it
				   (the run died, or it was deferred): the
				   transport checks before sending again */
};

/* What happened to one recipient, or to the message as a whole. */
enum deliver_status {
	DELIVER_ACCEPTED = 0, /* taken (SMTP 2xx, file written) */
	DELIVER_DEFERRED = 1, /* try again later (SMTP 4xx, I/O trouble) */
	DELIVER_REJECTED = 2  /* never (SMTP 5xx): the recipient bounced */
};

#define DELIVER_REPLY_MAX 512

struct deliver_rcpt_result {
	enum deliver_status status;
	char reply[DELIVER_REPLY_MAX]; /* the server's reply to RCPT TO
					  ("250 2.1.5 ok"), "" = none */
};

/* Filled by send().  deliver_pending hands in rcpts[] with nrcpts ==
 * msg->nrcpts entries, all DELIVER_ACCEPTED and empty, and status
 * DELIVER_ACCEPTED: a transport sets what differs.  SMTP sets each
 * RCPT's outcome in rcpts[i] and the DATA outcome in status / reply;
 * maildir leaves every recipient accepted and puts the file in location.
 * A recipient's outcome is its own when that is not accepted, else the
 * message's (an accepted RCPT whose DATA got 451 is deferred). */
struct deliver_result {
	enum deliver_status status;   /* the message (DATA, the file) */
	char location[4096];          /* where it went (file path, server
					 queue id), "" = none */
	char reply[DELIVER_REPLY_MAX];/* the transport's reply for the message */
	struct deliver_rcpt_result *rcpts; /* borrowed, msg->nrcpts entries,
					      in the order of msg->rcpts */
	size_t nrcpts;
};

struct deliver_transport {
	const char *name;       /* "maildir", "smtp" */
	/* RK_OK: res holds an outcome per recipient and for the message.
	 * An error return is an attempt that never reached the recipients
	 * (connection refused, disk full): RK_ERR_TEMPFAIL defers every
	 * recipient, any other error fails every one (delivery state
	 * failed, not bounced: no server refused them), with res->reply as
	 * the reason either way. */
	enum rk_err (*send)(void *self, const struct deliver_msg *msg,
			    struct deliver_result *res);
	void (*free)(void *self);
	void *self;
};

/* The outcome of recipient i in res: rcpts[i].status when it is not
 * accepted, else res->status (rcpts NULL or i out of range:
 * res->status). */
enum deliver_status deliver_rcpt_status(const struct deliver_result *res,
					size_t i);

/* Open the transport for url (cfg and log borrowed for its lifetime).
 * Unknown schemes: RK_ERR_CONFIG.  Caller frees with deliver_close. */
enum rk_err deliver_open(struct deliver_transport **out, const char *url,
			 const struct rk_config *cfg,
			 const struct rk_log *log);
void deliver_close(struct deliver_transport *t);

/* The maildir backend directly (creates dir/{tmp,new,cur} 0700). */
enum rk_err deliver_maildir_open(struct deliver_transport **out,
				 const char *dir, const struct rk_log *log);

struct rk_store;

struct deliver_stats {
	long long sent;     /* messages now sent (every recipient final, at
			       least one accepted) */
	long long deferred; /* messages with a recipient still deferred */
	long long failed;   /* messages no recipient accepted, or past
			       max_attempts with none accepted */
};

/* Send every queued message (and any left in state sending by a run that
 * died, and deferred ones whose time has come) through t.  Each attempt
 * is counted and the message marked sending in one transaction before the
 * transport is called (a crash counts as an attempt); the outcome of every
 * recipient, and the message state derived from them, is recorded in one
 * transaction after.  A crash repeats at most the message in flight.  A
 * message that has had max_attempts attempts is failed without another
 * (see store_message_attempt). */
enum rk_err deliver_pending(struct rk_store *store, struct deliver_transport *t,
			    const struct rk_log *log, long long max_attempts,
			    int64_t now, struct deliver_stats *stats);

#endif /* RENRAKU_DELIVER_H */
