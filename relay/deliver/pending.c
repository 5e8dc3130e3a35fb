/*
 * Sending what the store has queued, many messages to a session.
 *
 * For each pass: the messages due are read in batches (a cursor on the
 * row id, so that one left for later is not read again); those over the
 * rate limits stay for a later pass; the rest go to the transport as one
 * session.  For each message the transport tries: just before its data
 * goes out the attempt is counted and it is marked "sending"
 * (committed); as soon as the server has answered, every recipient's
 * outcome and the message state that follows are recorded in one
 * transaction.  A crash between the two repeats at most the one message
 * in flight (and counts as one of its attempts), and the transport's key
 * (row id and a hash of the Message-ID) lets the maildir see it has that
 * one already.  A connection failure defers the messages of the session
 * not yet finished without counting the attempt.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "renraku/deliver.h"
#include "renraku/store.h"

#define DELIVER_READ_BATCH 256

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

enum rk_err deliver_policy_from_config(const struct rk_config *cfg,
				       struct deliver_policy *out)
{
	enum rk_err err;

	memset(out, 0, sizeof(*out));
	out->retry = store_retry_attempts(cfg->transport.max_attempts);
	out->retry.initial = cfg->transport.retry_initial;
	if (out->retry.max_delay < out->retry.initial)
		out->retry.max_delay = out->retry.initial;
	out->retry.give_up_after = cfg->transport.give_up_after;
	out->retry.jitter_pct = 20;
	if ((err = rk_random(&out->retry.jitter_seed,
			     sizeof(out->retry.jitter_seed))))
		return err;
	out->rate_per_domain = cfg->transport.rate_per_domain;
	out->rate_total = cfg->transport.rate_total;
	return RK_OK;
}

/* ------------------------------------------------------------ rate limits */

/* Messages per recipient domain in the minute before now, and those this
 * pass adds. */
struct rate_table {
	struct store_domain_count *rows; /* owned, grows */
	size_t n, cap;
	long long total;
	long long per_domain, limit_total; /* 0 = unlimited */
};

static void rate_release(struct rate_table *r)
{
	store_domain_counts_free(r->rows, r->n);
	memset(r, 0, sizeof(*r));
}

static struct store_domain_count *rate_find(struct rate_table *r,
					    const char *domain, size_t len)
{
	for (size_t i = 0; i < r->n; i++)
		if (strlen(r->rows[i].domain) == len &&
		    strncasecmp(r->rows[i].domain, domain, len) == 0)
			return &r->rows[i];
	return NULL;
}

/* The domain of each recipient in a comma-separated list, by callback;
 * false from fn stops.  Returns false when stopped. */
static bool each_domain(const char *rcpts,
			bool (*fn)(void *ud, const char *d, size_t len),
			void *ud)
{
	const char *p = rcpts, *item;
	size_t len;

	while (p && rk_list_next(&p, &item, &len)) {
		const char *at = memchr(item, '@', len);

		if (!at)
			continue;
		at++;
		if (!fn(ud, at, len - (size_t)(at - item)))
			return false;
	}
	return true;
}

static bool domain_has_room(void *ud, const char *d, size_t len)
{
	struct rate_table *r = ud;
	struct store_domain_count *c = rate_find(r, d, len);

	return !c || c->messages < r->per_domain;
}

static bool domain_count_one(void *ud, const char *d, size_t len)
{
	struct rate_table *r = ud;
	struct store_domain_count *c = rate_find(r, d, len);

	if (!c) {
		if (r->n == r->cap) {
			size_t cap = r->cap ? r->cap * 2 : 16;
			struct store_domain_count *grown =
				realloc(r->rows, cap * sizeof(*grown));

			if (!grown)
				return false;
			r->rows = grown;
			r->cap = cap;
		}
		c = &r->rows[r->n];
		if (!(c->domain = rk_strndup(d, len)))
			return false;
		c->messages = 0;
		r->n++;
	}
	/* the same domain twice in one message counts once: it is one
	 * message to that domain (good enough: rare, and errs on the side
	 * of sending less) */
	c->messages++;
	return true;
}

/* Whether a message to rcpts may go now; when it may, it is counted. */
static enum rk_err rate_take(struct rate_table *r, const char *rcpts,
			     bool *ok)
{
	*ok = true;
	if (r->limit_total > 0 && r->total >= r->limit_total) {
		*ok = false;
		return RK_OK;
	}
	if (r->per_domain > 0 && !each_domain(rcpts, domain_has_room, r)) {
		*ok = false;
		return RK_OK;
	}
	r->total++;
	if (r->per_domain > 0 && !each_domain(rcpts, domain_count_one, r))
		return RK_ERR_NOMEM;
	return RK_OK;
}

static enum rk_err rate_load(struct rk_store *store,
			     const struct deliver_policy *policy, int64_t now,
			     struct rate_table *r)
{
	enum rk_err err;

	memset(r, 0, sizeof(*r));
	r->per_domain = policy->rate_per_domain;
	r->limit_total = policy->rate_total;
	if (r->per_domain <= 0 && r->limit_total <= 0)
		return RK_OK;
	/* the minute before now: deliveries at now - 59 .. now */
	err = store_recent_deliveries(store, now - 59, &r->rows, &r->n,
				      &r->total);
	r->cap = r->n;
	return err;
}

/* ------------------------------------------------------------ a session */

/* One message of a session and what became of it. */
struct session_item {
	const struct store_message *m;
	struct store_delivery *todo; /* from store_message_attempt */
	size_t ntodo;
	const char **rcpts;          /* the recipients sent to */
	size_t nrcpts;
	struct deliver_rcpt_result *results;
	char key[64];
	bool begun, finished;
};

struct session {
	struct rk_store *store;
	const struct rk_log *log;
	const struct deliver_policy *policy;
	int64_t now;
	struct deliver_stats *stats;
	struct session_item *items;
	struct deliver_msg *msgs;
	struct deliver_result *res;
	size_t n;
};

static void session_release(struct session *s)
{
	for (size_t i = 0; s->items && i < s->n; i++) {
		struct session_item *it = &s->items[i];

		store_deliveries_free(it->todo, it->ntodo);
		free(it->rcpts);
		free(it->results);
	}
	free(s->items);
	free(s->msgs);
	free(s->res);
	s->items = NULL;
	s->msgs = NULL;
	s->res = NULL;
	s->n = 0;
}

/* Whether the policy allows m another attempt at now (the store decides
 * the same way in store_message_attempt). */
static bool retry_left(const struct store_retry *retry,
		       const struct store_message *m, int64_t now)
{
	if (m->attempts >= retry->max_attempts)
		return false;
	return retry->give_up_after <= 0 ||
	       now < m->created_at + retry->give_up_after;
}

static void gave_up(struct session *s, struct session_item *it)
{
	it->finished = true;
	s->stats->failed++;
	rk_log_error(s->log, "failed %s to %s: gave up after %lld attempts",
		     it->m->message_id, it->m->rcpt ? it->m->rcpt : "",
		     it->m->attempts);
}

/* The recipients still to reach of m, before the session: its queued and
 * deferred deliveries (a message with none recorded gets them from its
 * rcpt list at its attempt). */
static enum rk_err item_prepare(struct session *s, struct session_item *it,
				struct deliver_msg *msg,
				struct deliver_result *res)
{
	const struct store_message *m = it->m;
	struct store_delivery *all = NULL;
	size_t nall = 0;
	enum rk_err err;

	if ((err = store_message_deliveries(s->store, m->id, &all, &nall)))
		return err;
	if (nall == 0) {
		/* queued before deliveries were recorded per recipient: its
		 * attempt records them, so it begins now */
		bool given_up = false;

		store_deliveries_free(all, 0);
		if ((err = store_message_attempt(s->store, m->id,
						 &s->policy->retry, s->now,
						 &all, &nall, &given_up)))
			return err;
		it->begun = true;
		if (given_up) {
			gave_up(s, it);
			nall = 0; /* nothing to send */
		}
	}
	it->rcpts = calloc(nall ? nall : 1, sizeof(*it->rcpts));
	it->results = calloc(nall ? nall : 1, sizeof(*it->results));
	if (!it->rcpts || !it->results) {
		store_deliveries_free(all, nall);
		return RK_ERR_NOMEM;
	}
	/* the todo rows keep the strings the rcpts point into */
	it->todo = all;
	it->ntodo = nall;
	for (size_t i = 0; i < nall; i++)
		if (strcmp(all[i].state, STORE_DLV_QUEUED) == 0 ||
		    strcmp(all[i].state, STORE_DLV_DEFERRED) == 0)
			it->rcpts[it->nrcpts++] = all[i].rcpt;
	if (!it->begun && !retry_left(&s->policy->retry, m, s->now)) {
		/* past max_attempts or give_up_after: settled now, before any
		 * connection, so that the session never carries it */
		struct store_delivery *none = NULL;
		size_t nnone = 0;
		bool given_up = false;

		err = store_message_attempt(s->store, m->id, &s->policy->retry,
					    s->now, &none, &nnone, &given_up);
		store_deliveries_free(none, nnone);
		if (err)
			return err;
		it->begun = true;
		if (given_up) {
			gave_up(s, it);
			it->nrcpts = 0;
		}
	}
	snprintf(it->key, sizeof(it->key), "%lld-%016llx", (long long)m->id,
		 (unsigned long long)fnv1a64(m->message_id));
	msg->key = it->key;
	msg->mail_from = m->mail_from;
	msg->rcpts = it->rcpts;
	msg->nrcpts = it->nrcpts;
	msg->data = (const char *)m->raw;
	msg->len = m->raw_len;
	/* left "sending" by a run that died, or deferred before */
	msg->retry = m->state && strcmp(m->state, STORE_MSG_QUEUED) != 0;
	memset(res, 0, sizeof(*res));
	res->status = DELIVER_ACCEPTED;
	res->rcpts = it->results;
	res->nrcpts = it->nrcpts;
	for (size_t i = 0; i < it->nrcpts; i++)
		it->results[i].status = DELIVER_ACCEPTED;
	return RK_OK;
}

static enum rk_err session_begin(void *ctx, size_t i)
{
	struct session *s = ctx;
	struct session_item *it;
	struct store_delivery *todo = NULL;
	size_t ntodo = 0;
	bool given_up = false;
	enum rk_err err;

	if (i >= s->n)
		return RK_ERR_INTERNAL;
	it = &s->items[i];
	if (it->finished)
		return RK_ERR_INVAL; /* given up: not to be sent */
	if (it->begun)
		return RK_OK; /* began before the session (legacy rows) */
	err = store_message_attempt(s->store, it->m->id, &s->policy->retry,
				    s->now, &todo, &ntodo, &given_up);
	if (err)
		return err;
	/* the runner lock keeps the deliveries as they were read before the
	 * session; a difference would be a bug */
	if (given_up || ntodo != it->nrcpts) {
		store_deliveries_free(todo, ntodo);
		if (given_up) {
			gave_up(s, it);
			return RK_ERR_INVAL;
		}
		return rk_fail(s->log, RK_ERR_INTERNAL,
			       "message %s: its recipients changed during "
			       "the session", it->m->message_id);
	}
	for (size_t k = 0; k < ntodo; k++)
		if (strcmp(todo[k].rcpt, it->rcpts[k]) != 0) {
			store_deliveries_free(todo, ntodo);
			return rk_fail(s->log, RK_ERR_INTERNAL,
				       "message %s: its recipients changed "
				       "during the session", it->m->message_id);
		}
	store_deliveries_free(todo, ntodo);
	it->begun = true;
	return RK_OK;
}

/* The delivery id of the k-th recipient sent to. */
static int64_t item_delivery_id(const struct session_item *it, size_t k)
{
	for (size_t j = 0; j < it->ntodo; j++)
		if (it->todo[j].rcpt == it->rcpts[k])
			return it->todo[j].id;
	return 0;
}

static enum rk_err session_finish(void *ctx, size_t i, enum rk_err sent,
				  struct deliver_result *res)
{
	struct session *s = ctx;
	struct session_item *it;
	const struct store_message *m;
	struct store_delivery_outcome *outcomes = NULL;
	const char *state = NULL;
	enum rk_err err;

	if (i >= s->n || s->items[i].finished)
		return RK_ERR_INTERNAL;
	it = &s->items[i];
	m = it->m;
	if (!it->begun && (err = session_begin(ctx, i))) {
		/* a message the server refused before its data: begun
		 * here; one the policy gave up is finished already */
		return it->finished ? RK_OK : err;
	}
	it->finished = true;
	if (it->nrcpts > 0 &&
	    !(outcomes = calloc(it->nrcpts, sizeof(*outcomes))))
		return RK_ERR_NOMEM; /* left sending: the next run retries */
	for (size_t k = 0; k < it->nrcpts; k++) {
		struct store_delivery_outcome *o = &outcomes[k];

		o->delivery_id = item_delivery_id(it, k);
		if (sent == RK_OK)
			o->state = status_state(deliver_rcpt_status(res, k));
		else if (sent == RK_ERR_TEMPFAIL)
			o->state = STORE_DLV_DEFERRED;
		else
			o->state = STORE_DLV_FAILED;
		o->reply = sent == RK_OK && res->rcpts[k].reply[0]
				   ? res->rcpts[k].reply
				   : res->reply[0] ? res->reply : NULL;
		if (strcmp(o->state, STORE_DLV_SENT) == 0 && res->location[0])
			o->location = res->location;
		if (strcmp(o->state, STORE_DLV_BOUNCED) == 0)
			s->stats->bounced++;
		if (strcmp(o->state, STORE_DLV_SENT) != 0)
			rk_log_warn(s->log, "%s to %s: %s %s", m->message_id,
				    it->rcpts[k], o->state,
				    o->reply ? o->reply : "");
	}
	err = store_message_finish(s->store, m->id, outcomes, it->nrcpts,
				   res->reply[0] ? res->reply : NULL,
				   res->location[0] ? res->location : NULL,
				   &s->policy->retry, s->now, &state);
	free(outcomes);
	if (err)
		return err;
	if (strcmp(state, STORE_MSG_SENT) == 0) {
		s->stats->sent++;
		rk_log_info(s->log, "sent %s to %s: %s", m->message_id,
			    m->rcpt ? m->rcpt : "",
			    res->location[0] ? res->location : res->reply);
	} else if (strcmp(state, STORE_MSG_DEFERRED) == 0) {
		s->stats->deferred++;
		rk_log_warn(s->log, "deferred %s to %s: %s", m->message_id,
			    m->rcpt ? m->rcpt : "", res->reply);
	} else {
		s->stats->failed++;
		rk_log_error(s->log, "failed %s to %s: %s", m->message_id,
			     m->rcpt ? m->rcpt : "",
			     res->reply[0] ? res->reply
					   : "no recipient accepted it");
	}
	return RK_OK;
}

bool deliver_msg_unsendable(const struct deliver_msg *msg,
			    struct deliver_result *res, enum rk_err *sent)
{
	if (msg->nrcpts == 0) {
		*sent = RK_OK;
		return true;
	}
	if (!msg->data || msg->len == 0) {
		snprintf(res->reply, sizeof(res->reply), "no message data");
		*sent = RK_ERR_TRANSPORT;
		return true;
	}
	return false;
}

/* A transport without sessions: one send() per message. */
static enum rk_err send_each(struct deliver_transport *t,
			     const struct deliver_msg *msgs, size_t n,
			     struct deliver_result *res,
			     const struct deliver_session_ops *ops)
{
	enum rk_err err;

	for (size_t i = 0; i < n; i++) {
		enum rk_err sent;

		if (ops->begin(ops->ctx, i))
			continue; /* not to be sent (given up, logged) */
		if (!deliver_msg_unsendable(&msgs[i], &res[i], &sent))
			sent = t->send(t->self, &msgs[i], &res[i]);
		if ((err = ops->finish(ops->ctx, i, sent, &res[i])))
			return err;
	}
	return RK_OK;
}

/* Deliver rows[0..n) in one session. */
static enum rk_err run_session(struct rk_store *store,
			       struct deliver_transport *t,
			       const struct rk_log *log,
			       const struct deliver_policy *policy,
			       int64_t now, const struct store_message *rows,
			       size_t n, struct deliver_stats *stats)
{
	struct session s = {store, log, policy, now, stats, NULL, NULL, NULL,
			    0};
	struct deliver_session_ops ops = {session_begin, session_finish, &s};
	char reason[DELIVER_REPLY_MAX];
	enum rk_err err = RK_OK, sent;

	reason[0] = '\0';
	s.items = calloc(n, sizeof(*s.items));
	s.msgs = calloc(n, sizeof(*s.msgs));
	s.res = calloc(n, sizeof(*s.res));
	if (!s.items || !s.msgs || !s.res) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < n; i++) {
		s.items[i].m = &rows[i];
		s.n = i + 1;
		if ((err = item_prepare(&s, &s.items[i], &s.msgs[i],
					&s.res[i])))
			goto cleanup;
	}
	stats->sessions++;
	if (t->send_batch)
		sent = t->send_batch(t->self, s.msgs, n, s.res, &ops, reason);
	else
		sent = send_each(t, s.msgs, n, s.res, &ops);
	if (sent != RK_OK && !reason[0])
		snprintf(reason, sizeof(reason), "%s", rk_strerror(sent));
	if (sent != RK_OK)
		rk_log_error(log, "%s: %s", t->name, reason);
	/* What the session did not finish: the connection failed, or the
	 * session stopped.  Those it began (their data went out, no answer
	 * came) and, after a connection failure, those it never reached
	 * wait for the next try, uncounted. */
	for (size_t i = 0; i < n; i++) {
		struct session_item *it = &s.items[i];
		struct store_retry once = policy->retry;
		int64_t next;
		enum rk_err e;

		if (it->finished || (!it->begun && sent != RK_ERR_TEMPFAIL))
			continue;
		/* the first retry delay, with its jitter */
		once.jitter_seed ^= (uint64_t)it->m->id;
		next = now + once.initial +
		       (once.jitter_pct
				? (int64_t)(once.jitter_seed % 1000) *
					  once.initial *
					  (int64_t)once.jitter_pct / 100000
				: 0);
		e = store_message_requeue(store, it->m->id, next,
					  reason[0] ? reason : NULL);
		if (e && !err)
			err = e;
		stats->deferred++;
	}
	if (!err && sent != RK_OK && sent != RK_ERR_TEMPFAIL)
		err = sent;
	if (!err && sent == RK_ERR_TEMPFAIL)
		err = RK_ERR_TEMPFAIL;
cleanup:
	session_release(&s);
	return err;
}

enum rk_err deliver_pending(struct rk_store *store, struct deliver_transport *t,
			    const struct rk_log *log,
			    const struct deliver_policy *policy, int64_t now,
			    struct deliver_stats *stats)
{
	struct store_message *rows = NULL, *pick = NULL;
	struct rate_table rate;
	size_t n = 0, session_max = policy->session_max
					    ? policy->session_max
					    : DELIVER_SESSION_MAX;
	int64_t after = 0;
	size_t taken = 0; /* messages picked so far (policy->pass_max) */
	bool full = false;
	enum rk_err err, first = RK_OK;

	if ((err = rate_load(store, policy, now, &rate)))
		return err;
	if (!(pick = calloc(DELIVER_READ_BATCH, sizeof(*pick)))) {
		rate_release(&rate);
		return RK_ERR_NOMEM;
	}
	for (;;) {
		size_t npick = 0;

		/* with pass_max, no more rows (and their raw bytes) in
		 * memory than the pass may take */
		size_t want = DELIVER_READ_BATCH;

		if (policy->pass_max && policy->pass_max - taken < want)
			want = policy->pass_max - taken;
		if ((err = store_messages_pending_after(store, now, after,
							want, &rows, &n)))
			break;
		if (n == 0)
			break;
		after = rows[n - 1].id;
		for (size_t i = 0; i < n && !err; i++) {
			bool ok;

			if (policy->pass_max &&
			    taken + npick >= policy->pass_max) {
				full = true; /* the rest for a later pass */
				break;
			}

			if ((err = rate_take(&rate, rows[i].rcpt, &ok)))
				break;
			if (!ok) {
				stats->rate_limited++;
				continue;
			}
			pick[npick++] = rows[i];
			memset(&rows[i], 0, sizeof(rows[i]));
		}
		/* sessions of at most session_max messages */
		for (size_t at = 0; !err && at < npick; at += session_max) {
			size_t len = npick - at < session_max ? npick - at
							       : session_max;

			err = run_session(store, t, log, policy, now,
					  &pick[at], len, stats);
			if (err == RK_ERR_TEMPFAIL) {
				/* the server is unreachable: the rest of
				 * the pass would fare the same; they wait
				 * for the next pass */
				first = err;
				break;
			}
		}
		for (size_t i = 0; i < npick; i++)
			store_message_release(&pick[i]);
		store_messages_free(rows, n);
		rows = NULL;
		n = 0;
		taken += npick;
		if (err || full)
			break;
	}
	store_messages_free(rows, n);
	free(pick);
	rate_release(&rate);
	if (stats->rate_limited)
		rk_log_info(log, "deliver: %lld messages left queued by the rate "
				 "limits ([transport] rate_per_domain = %lld, "
				 "rate_total = %lld per minute)",
			    stats->rate_limited, policy->rate_per_domain,
			    policy->rate_total);
	return err ? err : first;
}
