/*
 * Sending what the store has queued.  For each message: state "sending"
 * (committed), the transport, then "sent" with where it went, "deferred"
 * (temporary failure) or "failed" (permanent), each in its own
 * transaction.  A crash between the two repeats at most the one message in
 * flight, and the transport's key (row id and a hash of the Message-ID)
 * lets the maildir see it has that one already.
 */
#include <stdlib.h>
#include <string.h>

#include "renraku/deliver.h"
#include "renraku/store.h"

#define DELIVER_BATCH 64
#define DELIVER_MAX_RCPTS 1000

/* FNV-1a: not a secret, only to tell two databases' row 42 apart. */
static uint64_t fnv1a64(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (const unsigned char *p = (const unsigned char *)s; p && *p; p++) {
		h ^= *p;
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* Split "a@x, b@y" into trimmed addresses pointing into *copy (caller
 * frees *copy and *list). */
static enum rk_err split_rcpts(const char *rcpt, char **copy,
			       const char ***list, size_t *n)
{
	const char **addrs = NULL, *p, *item;
	size_t count = 0, len;

	*copy = NULL;
	*list = NULL;
	*n = 0;
	if (!rcpt)
		return RK_OK;
	if (!(*copy = rk_strdup(rcpt)))
		return RK_ERR_NOMEM;
	addrs = calloc(DELIVER_MAX_RCPTS, sizeof(*addrs));
	if (!addrs)
		return RK_ERR_NOMEM;
	p = *copy;
	while (rk_list_next(&p, &item, &len)) {
		if (len == 0)
			continue;
		if (count == DELIVER_MAX_RCPTS) {
			free(addrs);
			return RK_ERR_LIMIT;
		}
		((char *)item)[len] = '\0'; /* item points into *copy */
		addrs[count++] = item;
	}
	*list = addrs;
	*n = count;
	return RK_OK;
}

static enum rk_err deliver_one(struct rk_store *store,
			       struct deliver_transport *t,
			       const struct rk_log *log, int64_t now,
			       const struct store_message *m,
			       struct deliver_stats *stats)
{
	struct deliver_result res;
	struct deliver_msg msg;
	const char **rcpts = NULL;
	char *rcpt_copy = NULL, key[64];
	size_t nrcpts = 0;
	const char *state;
	enum rk_err err, sent;

	memset(&res, 0, sizeof(res));
	memset(&msg, 0, sizeof(msg));
	if ((err = store_message_set_state(store, m->id, STORE_MSG_SENDING,
					   NULL, NULL, now)))
		goto cleanup;
	snprintf(key, sizeof(key), "%lld-%016llx", (long long)m->id,
		 (unsigned long long)fnv1a64(m->message_id));
	err = split_rcpts(m->rcpt, &rcpt_copy, &rcpts, &nrcpts);
	if (err == RK_ERR_NOMEM)
		goto cleanup;
	if (err || nrcpts == 0 || !m->raw || m->raw_len == 0) {
		snprintf(res.reply, sizeof(res.reply), "%s",
			 err ? "too many recipients"
			 : nrcpts == 0 ? "no recipients" : "no message data");
		sent = RK_ERR_TRANSPORT;
	} else {
		msg.key = key;
		msg.mail_from = m->mail_from;
		msg.rcpts = rcpts;
		msg.nrcpts = nrcpts;
		msg.data = (const char *)m->raw;
		msg.len = m->raw_len;
		/* left "sending" by a run that died, or deferred before */
		msg.retry = m->state && strcmp(m->state, STORE_MSG_QUEUED) != 0;
		sent = t->send(t->self, &msg, &res);
	}
	if (sent == RK_OK) {
		state = STORE_MSG_SENT;
		stats->sent++;
		rk_log_info(log, "sent %s to %s: %s", m->message_id, m->rcpt,
			    res.location);
	} else if (sent == RK_ERR_TEMPFAIL) {
		state = STORE_MSG_DEFERRED;
		stats->deferred++;
		rk_log_warn(log, "deferred %s to %s: %s", m->message_id,
			    m->rcpt ? m->rcpt : "", res.reply);
	} else {
		state = STORE_MSG_FAILED;
		stats->failed++;
		rk_log_error(log, "failed %s to %s: %s", m->message_id,
			     m->rcpt ? m->rcpt : "", res.reply);
	}
	err = store_message_set_state(store, m->id, state,
				      res.location[0] ? res.location : NULL,
				      res.reply[0] ? res.reply : NULL, now);
cleanup:
	free(rcpts);
	free(rcpt_copy);
	return err;
}

enum rk_err deliver_pending(struct rk_store *store, struct deliver_transport *t,
			    const struct rk_log *log, int64_t now,
			    struct deliver_stats *stats)
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
			err = deliver_one(store, t, log, now, &rows[i], stats);
		store_messages_free(rows, n);
		rows = NULL;
		n = 0;
		if (err)
			break;
	}
	store_messages_free(rows, n);
	return err;
}
