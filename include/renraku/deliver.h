/*
 * Deliver: hand a built message to a transport.
 *
 * A transport is a struct of function pointers; one file per backend
 * (maildir.c now; smtp.c later).  URL forms:
 *   maildir:/path/to/Maildir   (relative paths are relative to the
 *                               config file's directory)
 *   smtp://host:port           (a later issue)
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
	const char *const *rcpts; /* envelope recipients */
	size_t nrcpts;
	const char *data;       /* the whole message, CRLF line ends */
	size_t len;
	bool retry;             /* an earlier attempt may have delivered it
				   (the run died, or it was deferred): the
				   transport checks before sending again */
};

struct deliver_result {
	char location[4096];    /* where it went (file path, server id) */
	char reply[512];        /* the transport's reply text */
};

struct deliver_transport {
	const char *name;       /* "maildir", "smtp" */
	/* RK_OK: delivered.  RK_ERR_TEMPFAIL: try again later.
	 * RK_ERR_TRANSPORT: permanent failure.  res is filled either way. */
	enum rk_err (*send)(void *self, const struct deliver_msg *msg,
			    struct deliver_result *res);
	void (*free)(void *self);
	void *self;
};

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
	long long sent;
	long long deferred;
	long long failed;
};

/* Send every queued message (and any left in state sending by a run that
 * died) through t, recording state sending before and sent / deferred /
 * failed with the transport's reply after, each in its own transaction,
 * so a crash repeats at most the message in flight. */
enum rk_err deliver_pending(struct rk_store *store, struct deliver_transport *t,
			    const struct rk_log *log, int64_t now,
			    struct deliver_stats *stats);

#endif /* RENRAKU_DELIVER_H */
