/*
 * Deliver: hand a built message to a transport.
 *
 * A transport is a struct of function pointers; one file per backend
 * (maildir.c, smtp.c).  URL forms:
 *   maildir:/path/to/Maildir   (relative paths are relative to the
 *                               config file's directory)
 *   smtp://host[:port]         libESMTP, port 25 unless given; STARTTLS,
 *                              AUTH, many messages per session
 *                              ([transport] in docs/configuration.md)
 *
 * Owns: the state of messages after they are queued (sending, sent,
 * deferred, failed) and one deliveries row per envelope recipient
 * (through relay/store/).  May call: store, core.  Called by the
 * pipeline driver.
 */
#ifndef RENRAKU_DELIVER_H
#define RENRAKU_DELIVER_H

#include "renraku/config.h"
#include "renraku/store.h"

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
/* Messages a session carries at most when the policy sets none. */
#define DELIVER_SESSION_MAX 100

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

/* What a session transport reports back while it works through a batch
 * (deliver_pending supplies them).  For each message it tries, in order:
 * begin(ctx, i) before the first byte of message i's data goes out (it
 * records the message as sending: after a crash only such a message can
 * have reached the server without its outcome being recorded), then
 * finish(ctx, i, RK_OK or a send()-style error, res) as soon as its
 * outcome is known, before the next message's data.  An error from
 * begin means the message must not be sent; an error from finish stops
 * the session. */
struct deliver_session_ops {
	enum rk_err (*begin)(void *ctx, size_t i);
	enum rk_err (*finish)(void *ctx, size_t i, enum rk_err sent,
			      struct deliver_result *res);
	void *ctx;
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
	/* Optional (NULL: deliver_pending calls send() once per message):
	 * one session carrying msgs[0..n), each with its result res[i]
	 * prepared as for send(), reported through ops.  RK_OK: the session
	 * ran to its end (every message tried has been finished).
	 * RK_ERR_TEMPFAIL: the connection failed (refused, TLS, AUTH, a drop
	 * before the end of DATA); the messages not finished are deferred
	 * without counting against their recipients, with reason[] (at
	 * least DELIVER_REPLY_MAX bytes) saying why.  Other errors: the
	 * same, for a fault of the configuration or the machine. */
	enum rk_err (*send_batch)(void *self, const struct deliver_msg *msgs,
				  size_t n, struct deliver_result *res,
				  const struct deliver_session_ops *ops,
				  char *reason);
};

/* A message a transport must not hand on as it is: true, with *sent,
 * when msg has no recipients (RK_OK: nothing to send, the store says why)
 * or no data (RK_ERR_TRANSPORT, res->reply says so); false when it is to
 * be sent. */
bool deliver_msg_unsendable(const struct deliver_msg *msg,
			    struct deliver_result *res, enum rk_err *sent);

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

/* SMTP options, from [transport] (strings borrowed for the transport's
 * lifetime). */
struct deliver_smtp_options {
	const char *host;          /* DNS name or address, [v6] bracketed */
	const char *port;          /* "25" */
	enum rk_starttls starttls;
	const char *ca_file;       /* NULL = the system CAs */
	const char *user;          /* NULL = no AUTH */
	const char *password_file; /* required with user; refused when
				      group or others may read it */
	const char *helo;          /* name for EHLO, NULL = libESMTP's */
	long long timeout_ms;      /* every SMTP timeout, below the RFC
				      minimums if asked (libESMTP's
				      Timeout_OVERRIDE_RFC2822_MINIMUM) */
};

/* The SMTP backend directly.  Reads the password file now (RK_ERR_CONFIG
 * naming the file when it is missing, empty or readable by group or
 * others) and builds the one TLS context every session uses.  Ignores
 * SIGPIPE for the process. */
enum rk_err deliver_smtp_open(struct deliver_transport **out,
			      const struct deliver_smtp_options *opts,
			      const struct rk_log *log);

struct rk_store;

/* How deliver_pending paces and retries. */
struct deliver_policy {
	struct store_retry retry;
	long long rate_per_domain; /* messages per minute per recipient
				      domain, 0 = unlimited */
	long long rate_total;      /* messages per minute, 0 = unlimited */
	size_t session_max;        /* messages per session, 0 = 100 */
	size_t pass_max;           /* messages a pass takes at most (the
				      oldest first), 0 = all that are due */
};

/* The policy [transport] asks for (retry_initial, give_up_after,
 * max_attempts, rate_per_domain, rate_total), with a random jitter seed
 * and 20 % jitter. */
enum rk_err deliver_policy_from_config(const struct rk_config *cfg,
				       struct deliver_policy *out);

struct deliver_stats {
	long long sent;     /* messages now sent (every recipient final, at
			       least one accepted) */
	long long deferred; /* messages with a recipient still deferred */
	long long failed;   /* messages no recipient accepted, or given up
			       with none accepted */
	long long bounced;  /* recipients refused for good (5xx) */
	long long rate_limited; /* messages due but left for a later pass by
				   rate_per_domain / rate_total */
	long long sessions; /* transport sessions opened */
};

/* Send every queued message (and any left in state sending by a run that
 * died, and deferred ones whose time has come) through t, many to a
 * session when t has send_batch.  Just before a message's data goes out
 * its attempt is counted and it is marked sending, in one transaction
 * (a crash counts as an attempt); the outcome of every recipient, and the
 * message state derived from them, is recorded in one transaction as
 * soon as the server has answered.  A crash repeats at most the message
 * in flight, with its Message-ID.  A connection failure defers the
 * messages of the session not yet finished, uncounted.  Messages over
 * the rate limits in the minute before now stay as they are for a later
 * pass (stats->rate_limited).  A message the retry policy gives up is
 * failed without another attempt (see store_message_attempt). */
enum rk_err deliver_pending(struct rk_store *store, struct deliver_transport *t,
			    const struct rk_log *log,
			    const struct deliver_policy *policy, int64_t now,
			    struct deliver_stats *stats);

#endif /* RENRAKU_DELIVER_H */
