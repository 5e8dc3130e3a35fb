/*
 * Sending what the store has queued.  For each message: the attempt is
 * counted and the message marked "sending" (committed), the transport
 * is called with the recipients still to reach, then every recipient's
 * outcome and the message state that follows are recorded in one
 * transaction.  A crash between the two repeats at most the one message
 * in flight (and counts as one of its attempts), and the transport's key
 * (row id and a hash of the Message-ID) lets the maildir see it has that
 * one already.
 */
#include <stdlib.h>
#include <string.h>

#include "renraku/deliver.h"
#include "renraku/store.h"

#define DELIVER_BATCH 64

/* FNV-1a: not a secret, only to tell two databases' row 42 apart. */
static uint64_t fnv1a64(const char *s)
{
	return s ? rk_hash(s, strlen(s)) : rk_hash("", 0);
}

static const char *status_state(enum deliver_status st)
{
	switch (st) {
	case DELIVER_ACCEPTED:
		return STORE_DLV_SENT;
	case DELIVER_DEFERRED:
		return STORE_DLV_DEFERRED;
	case DELIVER_REJECTED:
		return STORE_DLV_BOUNCED;
	}
	return STORE_DLV_FAILED;
}

static enum rk_err deliver_one(struct rk_store *store,
			       struct deliver_transport *t,
			       const struct rk_log *log,
			       long long max_attempts, int64_t now,
			       const struct store_message *m,
			       struct deliver_stats *stats)
{
	struct deliver_result res;
	struct deliver_msg msg;
	struct store_delivery *todo = NULL;
	struct deliver_rcpt_result *results = NULL;
	struct store_delivery_outcome *outcomes = NULL;
	const char **rcpts = NULL;
	size_t ntodo = 0;
	char key[64];
	const char *state = NULL;
	bool gave_up = false;
	enum rk_err err, sent;

	memset(&res, 0, sizeof(res));
	memset(&msg, 0, sizeof(msg));
	if ((err = store_message_attempt(store, m->id, max_attempts, now,
					 &todo, &ntodo, &gave_up)))
		goto cleanup;
	if (gave_up) {
		stats->failed++;
		rk_log_error(log, "failed %s to %s: gave up after %lld attempts",
			     m->message_id, m->rcpt ? m->rcpt : "",
			     m->attempts);
		goto cleanup;
	}
	if (ntodo > 0) {
		rcpts = calloc(ntodo, sizeof(*rcpts));
		results = calloc(ntodo, sizeof(*results));
		outcomes = calloc(ntodo, sizeof(*outcomes));
		if (!rcpts || !results || !outcomes) {
			err = RK_ERR_NOMEM;
			goto cleanup; /* left sending: the next run retries */
		}
	}
	for (size_t i = 0; i < ntodo; i++) {
		rcpts[i] = todo[i].rcpt;
		results[i].status = DELIVER_ACCEPTED;
	}
	snprintf(key, sizeof(key), "%lld-%016llx", (long long)m->id,
		 (unsigned long long)fnv1a64(m->message_id));
	res.status = DELIVER_ACCEPTED;
	res.rcpts = results;
	res.nrcpts = ntodo;
	if (ntodo == 0) {
		sent = RK_OK; /* nothing to send: the store says why */
	} else if (!m->raw || m->raw_len == 0) {
		snprintf(res.reply, sizeof(res.reply), "no message data");
		sent = RK_ERR_TRANSPORT;
	} else {
		msg.key = key;
		msg.mail_from = m->mail_from;
		msg.rcpts = rcpts;
		msg.nrcpts = ntodo;
		msg.data = (const char *)m->raw;
		msg.len = m->raw_len;
		/* left "sending" by a run that died, or deferred before */
		msg.retry = m->state && strcmp(m->state, STORE_MSG_QUEUED) != 0;
		sent = t->send(t->self, &msg, &res);
	}
	for (size_t i = 0; i < ntodo; i++) {
		struct store_delivery_outcome *o = &outcomes[i];

		o->delivery_id = todo[i].id;
		if (sent == RK_OK)
			o->state = status_state(deliver_rcpt_status(&res, i));
		else if (sent == RK_ERR_TEMPFAIL)
			o->state = STORE_DLV_DEFERRED;
		else
			o->state = STORE_DLV_FAILED;
		o->reply = sent == RK_OK && results[i].reply[0]
				   ? results[i].reply
				   : res.reply[0] ? res.reply : NULL;
		if (strcmp(o->state, STORE_DLV_SENT) == 0 && res.location[0])
			o->location = res.location;
		if (strcmp(o->state, STORE_DLV_SENT) != 0)
			rk_log_warn(log, "%s to %s: %s %s", m->message_id,
				    todo[i].rcpt, o->state,
				    o->reply ? o->reply : "");
	}
	err = store_message_finish(store, m->id, outcomes, ntodo,
				   res.reply[0] ? res.reply : NULL,
				   res.location[0] ? res.location : NULL,
				   max_attempts, now, &state);
	if (err)
		goto cleanup;
	if (strcmp(state, STORE_MSG_SENT) == 0) {
		stats->sent++;
		rk_log_info(log, "sent %s to %s: %s", m->message_id,
			    m->rcpt ? m->rcpt : "",
			    res.location[0] ? res.location : res.reply);
	} else if (strcmp(state, STORE_MSG_DEFERRED) == 0) {
		stats->deferred++;
		rk_log_warn(log, "deferred %s to %s: %s", m->message_id,
			    m->rcpt ? m->rcpt : "", res.reply);
	} else {
		stats->failed++;
		rk_log_error(log, "failed %s to %s: %s", m->message_id,
			     m->rcpt ? m->rcpt : "",
			     res.reply[0] ? res.reply : "no recipient accepted it");
	}
cleanup:
	free(rcpts);
	free(results);
	free(outcomes);
	store_deliveries_free(todo, ntodo);
	return err;
}

enum rk_err deliver_pending(struct rk_store *store, struct deliver_transport *t,
			    const struct rk_log *log, long long max_attempts,
			    int64_t now, struct deliver_stats *stats)
{
	struct store_message *rows = NULL;
	size_t n = 0;
	enum rk_err err;

	for (;;) {
		if ((err = store_messages_pending(store, now, DELIVER_BATCH,
						  &rows, &n)))
			break;
		if (n == 0)
			break;
		for (size_t i = 0; i < n && !err; i++)
			err = deliver_one(store, t, log, max_attempts, now,
					  &rows[i], stats);
		store_messages_free(rows, n);
		rows = NULL;
		n = 0;
		if (err)
			break;
	}
	store_messages_free(rows, n);
	return err;
}
