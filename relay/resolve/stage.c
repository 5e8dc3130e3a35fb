/*
 * The resolve stage: events due for a lookup -> resolved (with a stored
 * chain) | unresolved (tried again later) | withheld | suppressed.
 *
 * Lookups never run inside a write transaction: a batch is read, its
 * distinct subjects are resolved with no transaction open (a network
 * source may take seconds), and only then are the chains and the new
 * event states written, in one short transaction.  A concurrent
 * `renraku ingest` therefore never waits for a registry.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif

#include "private.h"

#define RESOLVE_BATCH 1000
/* With a sink (the run stage: events ticketed in the batch's own
 * transaction) a batch is larger: every commit rewrites the pages of
 * the tickets the batch touched (ticket_events is clustered by ticket),
 * nearly all of them whatever the batch's size, so fewer commits write
 * less.  The outcome is the same: subjects are taken in the order they
 * first appear and the chains stored so far are shared across batches
 * (memo), so chains, tickets and their ids do not depend on the size. */
#define RESOLVE_BATCH_SINK 10000

/* What happens to one event of a batch. */
enum slot_kind { SLOT_LOOKUP, SLOT_WITHHELD, SLOT_SUPPRESSED };

struct slot {
	enum slot_kind kind;
	const char *reason; /* suppression reason, borrowed from resolver */
	size_t subject;     /* index into the batch's subjects */
};

struct subject {
	char *key;               /* "ip|fqdn|asn|cc", owned */
	struct resolve_query q;  /* strings borrowed from the events */
	struct resolve_chain chain;
	enum rk_err err;
	int64_t chain_id;
	/* the chain as stored (resolve_chain_encode), owned; made where
	 * the batch is looked up, for a subject no earlier batch of the
	 * pass had (NULL: the writer encodes it should it need to) */
	char *text;
};

/* The chains this pass stored, by subject: events of one subject in
 * later batches share the row (open addressing, grows). */
struct memo {
	struct {
		char *key; /* owned; NULL = empty */
		int64_t id;
	} *slots;
	size_t cap, used;
};

static uint64_t key_hash(const char *s)
{
	return rk_hash(s, strlen(s));
}

static void memo_release(struct memo *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->slots[i].key);
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

static int64_t memo_get(const struct memo *m, const char *key)
{
	if (!m->cap)
		return 0;
	for (size_t i = key_hash(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->slots[i].key)
			return 0;
		if (strcmp(m->slots[i].key, key) == 0)
			return m->slots[i].id;
	}
}

/* Remember key -> id (key copied).  Out of memory only loses the
 * sharing, never correctness: RK_OK either way but for NOMEM on the
 * table itself. */
static enum rk_err memo_put(struct memo *m, const char *key, int64_t id)
{
	size_t i;

	if ((m->used + 1) * 2 > m->cap) {
		struct memo grown = {NULL, m->cap ? m->cap * 2 : 1024, 0};

		grown.slots = calloc(grown.cap, sizeof(*grown.slots));
		if (!grown.slots)
			return RK_ERR_NOMEM;
		for (size_t k = 0; k < m->cap; k++) {
			if (!m->slots[k].key)
				continue;
			for (i = key_hash(m->slots[k].key) & (grown.cap - 1);
			     grown.slots[i].key; i = (i + 1) & (grown.cap - 1))
				;
			grown.slots[i] = m->slots[k];
			grown.used++;
		}
		free(m->slots);
		*m = grown;
	}
	for (i = key_hash(key) & (m->cap - 1); m->slots[i].key;
	     i = (i + 1) & (m->cap - 1))
		if (strcmp(m->slots[i].key, key) == 0)
			return RK_OK;
	if (!(m->slots[i].key = rk_strdup(key)))
		return RK_ERR_NOMEM;
	m->slots[i].id = id;
	m->used++;
	return RK_OK;
}

struct batch {
	struct slot *slots;
	struct subject *subjects;
	size_t nsubjects;
	size_t *table;           /* open addressing by key: subject + 1,
				    0 = empty */
	size_t tcap;             /* a power of 2, at least twice the events */
};

static void batch_release(struct batch *b)
{
	for (size_t i = 0; i < b->nsubjects; i++) {
		free(b->subjects[i].key);
		free(b->subjects[i].text);
		resolve_chain_release(&b->subjects[i].chain);
	}
	free(b->subjects);
	free(b->slots);
	free(b->table);
	memset(b, 0, sizeof(*b));
}

/* The subject an event is looked up by, as one text key. */
static enum rk_err subject_key(const struct resolve_query *q, char **out)
{
	char addr[RK_ADDR_TEXT] = "";
	struct rk_buf b;
	enum rk_err err;

	if (q->has_addr)
		rk_addr_format(&q->addr, addr);
	rk_buf_init(&b, 1024);
	err = rk_buf_addf(&b, "ip=%s|fqdn=%s|asn=%lu|cc=%s", addr,
			  q->domain ? q->domain : "", (unsigned long)q->asn,
			  q->country ? q->country : "");
	if (!err && !(*out = rk_buf_detach(&b, NULL)))
		err = RK_ERR_NOMEM;
	rk_buf_release(&b);
	return err;
}

/* The subject of key, if the batch has it (*pos: its slot in the
 * table, or the empty slot where it goes). */
static bool find_subject(const struct batch *b, const char *key, size_t *pos)
{
	size_t i = (size_t)key_hash(key) & (b->tcap - 1);

	for (;; i = (i + 1) & (b->tcap - 1)) {
		if (!b->table[i]) {
			*pos = i;
			return false;
		}
		if (strcmp(b->subjects[b->table[i] - 1].key, key) == 0) {
			*pos = i;
			return true;
		}
	}
}

/* Classify the events and collect their distinct subjects. */
static enum rk_err batch_build(struct resolver *r, const struct store_event *ev,
			       size_t n, int64_t now, struct batch *b)
{
	enum rk_err err;

	b->slots = calloc(n, sizeof(*b->slots));
	b->subjects = calloc(n, sizeof(*b->subjects));
	for (b->tcap = 16; b->tcap < 2 * n; b->tcap *= 2)
		;
	b->table = calloc(b->tcap, sizeof(*b->table));
	if (!b->slots || !b->subjects || !b->table)
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		struct resolve_query q;
		char *key = NULL;
		size_t pos;

		if (ev[i].tlp == RK_TLP_RED) {
			b->slots[i].kind = SLOT_WITHHELD;
			continue;
		}
		if (resolve_suppressed(r, &ev[i], now, &b->slots[i].reason)) {
			b->slots[i].kind = SLOT_SUPPRESSED;
			continue;
		}
		resolve_event_query(r, &ev[i], &q);
		if ((err = subject_key(&q, &key)))
			return err;
		if (find_subject(b, key, &pos)) {
			b->slots[i].subject = b->table[pos] - 1;
			free(key);
			continue;
		}
		b->table[pos] = b->nsubjects + 1;
		b->subjects[b->nsubjects].key = key;
		b->subjects[b->nsubjects].q = q;
		b->slots[i].subject = b->nsubjects++;
	}
	return RK_OK;
}

/* Every distinct subject at once: no transaction is open here. */
static enum rk_err batch_lookup(struct resolver *r, struct batch *b)
{
	struct resolve_query *qs;
	struct resolve_chain *chains;
	enum rk_err *errs, err;

	if (b->nsubjects == 0)
		return RK_OK;
	qs = calloc(b->nsubjects, sizeof(*qs));
	chains = calloc(b->nsubjects, sizeof(*chains));
	errs = calloc(b->nsubjects, sizeof(*errs));
	err = qs && chains && errs ? RK_OK : RK_ERR_NOMEM;
	for (size_t i = 0; !err && i < b->nsubjects; i++)
		qs[i] = b->subjects[i].q;
	if (!err)
		err = resolve_batch(r, qs, b->nsubjects, chains, errs);
	for (size_t i = 0; !err && i < b->nsubjects; i++) {
		b->subjects[i].chain = chains[i];
		b->subjects[i].err = errs[i];
	}
	free(qs);
	free(chains);
	free(errs);
	return err;
}

/* Count one written outcome, or one that found its event moved on (an
 * operator's `events retry` meanwhile). */
static void tally(const struct store_resolve_outcome *o, long long *counter,
		  long long *moved_on)
{
	if (o->applied)
		(*counter)++;
	else
		(*moved_on)++;
}

/* The batch's events written as resolved (sink->state), to the sink:
 * shallow copies of the rows, with their chain's level-0 address. */
static enum rk_err batch_hand_over(const struct batch *b,
				   const struct store_event *ev, size_t n,
				   const struct store_resolve_outcome *out,
				   size_t nout, const struct resolve_sink *sink)
{
	struct store_event *taken;
	size_t ntaken = 0;
	enum rk_err err;

	if (!(taken = calloc(nout ? nout : 1, sizeof(*taken))))
		return RK_ERR_NOMEM;
	for (size_t k = 0; k < nout; k++) {
		size_t i = (size_t)(out[k].seen - ev);
		const struct subject *s;

		if (!out[k].applied || out[k].chain_id <= 0 || i >= n ||
		    b->slots[i].kind != SLOT_LOOKUP)
			continue;
		s = &b->subjects[b->slots[i].subject];
		taken[ntaken] = ev[i]; /* borrowed: never released */
		taken[ntaken].chain_id = out[k].chain_id;
		taken[ntaken].chain = NULL;
		taken[ntaken].chain_contact = s->chain.entry[0].email;
		ntaken++;
	}
	err = ntaken ? sink->take(sink->self, taken, ntaken) : RK_OK;
	free(taken);
	return err;
}

/* In the transaction: each subject's chain once, then every event's
 * outcome in one statement (compare-and-set: only events still as they
 * were read). */
static enum rk_err batch_write(struct rk_store *store, const struct rk_config *cfg,
			       const struct rk_log *log,
			       const struct store_event *ev, size_t n,
			       struct batch *b, struct memo *memo, int64_t now,
			       const struct resolve_sink *sink,
			       struct resolve_stats *stats)
{
	struct store_resolve_outcome *out;
	char (*reasons)[128];
	struct rk_buf text;
	size_t nout = 0;
	enum rk_err err = RK_OK;

	out = calloc(n ? n : 1, sizeof(*out));
	reasons = calloc(n ? n : 1, sizeof(*reasons));
	if (!out || !reasons) {
		free(out);
		free(reasons);
		return RK_ERR_NOMEM;
	}
	rk_buf_init(&text, 1 << 20);
	for (size_t i = 0; !err && i < b->nsubjects; i++) {
		struct subject *s = &b->subjects[i];

		if (s->err || s->chain.count == 0)
			continue;
		if ((s->chain_id = memo_get(memo, s->key)))
			continue; /* stored by an earlier batch of this pass */
		rk_buf_reset(&text);
		if (!s->text && !(err = resolve_chain_encode(&s->chain, &text)))
			err = text.data ? RK_OK : RK_ERR_NOMEM;
		if (!err &&
		    !(err = store_chain_add(store, s->key, s->chain.entry[0].email,
					    s->text ? s->text : text.data,
					    s->chain.country, &s->chain_id)))
			err = memo_put(memo, s->key, s->chain_id);
	}
	rk_buf_release(&text);
	for (size_t i = 0; !err && i < n; i++) {
		const struct slot *sl = &b->slots[i];
		struct store_resolve_outcome *o = &out[nout];
		const struct subject *s;

		o->seen = &ev[i];
		if (sl->kind == SLOT_WITHHELD) {
			o->state = STORE_EVENT_WITHHELD;
			o->reason = "TLP:RED never leaves the relay";
			nout++;
			continue;
		}
		if (sl->kind == SLOT_SUPPRESSED) {
			o->state = STORE_EVENT_SUPPRESSED;
			o->reason = sl->reason;
			nout++;
			continue;
		}
		s = &b->subjects[sl->subject];
		if (s->err == RK_ERR_TEMPFAIL) {
			rk_log_warn(log, "event %lld: contact lookup failed for now; tried again at the next run",
				    (long long)ev[i].id);
			continue;
		}
		if (s->err || s->chain.count == 0) {
			snprintf(reasons[i], sizeof(reasons[i]), "%s",
				 s->err ? rk_strerror(s->err) : "no contact found");
			rk_log_info(log, "event %lld (%s %s): %s; tried again after %llds",
				    (long long)ev[i].id, ev[i].type,
				    ev[i].source_ip     ? ev[i].source_ip
				    : ev[i].source_fqdn ? ev[i].source_fqdn
							: "-",
				    reasons[i], cfg->resolve.negative_ttl);
			o->state = STORE_EVENT_UNRESOLVED;
			o->reason = reasons[i];
			o->retry_at = now + cfg->resolve.negative_ttl;
			nout++;
			continue;
		}
		o->state = sink ? sink->state : STORE_EVENT_RESOLVED;
		o->chain_id = s->chain_id;
		nout++;
	}
	if (!err)
		err = store_events_resolve_outcomes(store, out, nout);
	if (!err && sink)
		err = batch_hand_over(b, ev, n, out, nout, sink);
	for (size_t i = 0, k = 0; !err && i < n; i++) {
		const struct slot *sl = &b->slots[i];
		const struct subject *s;

		stats->seen++;
		if (k < nout && out[k].seen == &ev[i]) {
			const struct store_resolve_outcome *o = &out[k++];

			if (sl->kind == SLOT_WITHHELD)
				tally(o, &stats->withheld, &stats->moved_on);
			else if (sl->kind == SLOT_SUPPRESSED)
				tally(o, &stats->suppressed, &stats->moved_on);
			else if (o->chain_id > 0)
				tally(o, &stats->resolved, &stats->moved_on);
			else
				tally(o, &stats->unresolved, &stats->moved_on);
			continue;
		}
		s = &b->subjects[sl->subject];
		if (s->err == RK_ERR_TEMPFAIL)
			stats->later++;
	}
	free(out);
	free(reasons);
	return err;
}

/* Inside the write transaction: whether the contact set is still the one
 * the lookups used.  If an import came meanwhile, nothing of the batch
 * is written: its events are looked up again with the new set. */
static enum rk_err contacts_unchanged(struct rk_store *store,
				      const struct resolver *r, bool *same)
{
	int64_t gen = 0;
	enum rk_err err = store_contacts_generation(store, &gen);

	*same = !err && gen == resolver_contacts_generation(r);
	return err;
}

enum rk_err resolve_pending(struct rk_store *store, struct resolver *r,
			    const struct rk_config *cfg,
			    const struct rk_log *log, int64_t now,
			    struct resolve_stats *stats)
{
	return resolve_pending_progress(store, r, cfg, log, now, stats, NULL);
}

enum rk_err resolve_pending_progress(struct rk_store *store,
				     struct resolver *r,
				     const struct rk_config *cfg,
				     const struct rk_log *log, int64_t now,
				     struct resolve_stats *stats,
				     struct rk_progress *p)
{
	return resolve_pending_sink(store, r, cfg, log, now, stats, p, NULL);
}

/* The writer's transaction, which may span several batches (the
 * lookahead's writer: see pending_ahead). */
struct wtx {
	bool open;
	size_t events; /* written in it so far */
};

/* The open transaction ended: committed (ok) or rolled back, and the
 * sink told which.  Nothing open: RK_OK. */
static enum rk_err wtx_end(struct rk_store *store, struct wtx *tx,
			   const struct resolve_sink *sink, bool ok)
{
	enum rk_err err = RK_OK;

	if (!tx->open)
		return RK_OK;
	tx->open = false;
	tx->events = 0;
	if (ok && (err = store_commit(store)) == RK_OK) {
		if (sink && sink->committed)
			sink->committed(sink->self);
		return RK_OK;
	}
	store_rollback(store);
	if (sink && sink->rolled_back)
		sink->rolled_back(sink->self);
	return err;
}

/* One looked-up batch written into the writer's transaction, which is
 * begun here if none is open (nothing of it if the contact set changed
 * meanwhile: *stop then).  An error rolls the whole transaction back.
 * The contacts are compared once a transaction: it holds the write
 * lock (BEGIN IMMEDIATE), so they cannot change while it is open. */
static enum rk_err batch_commit(struct rk_store *store,
				const struct resolver *r,
				const struct rk_config *cfg,
				const struct rk_log *log,
				const struct store_event *rows, size_t n,
				struct batch *b, struct memo *memo, int64_t now,
				const struct resolve_sink *sink,
				struct resolve_stats *stats, struct wtx *tx,
				bool *stop)
{
	bool same = false;
	enum rk_err err;

	stats->subjects += (long long)b->nsubjects;
	if (!tx->open) {
		if ((err = store_begin(store)))
			return err;
		if ((err = contacts_unchanged(store, r, &same))) {
			store_rollback(store);
			return err;
		}
		if (!same) {
			store_rollback(store);
			stats->stale += (long long)n;
			rk_log_info(log, "the contacts changed while %zu events "
					 "were looked up: they are looked up "
					 "again with the new contacts at the "
					 "next run",
				    n);
			*stop = true;
			return RK_OK;
		}
		tx->open = true;
	}
	/* a failed batch ends the pass, memo and all: no later batch uses
	 * an id it rolled back */
	if ((err = batch_write(store, cfg, log, rows, n, b, memo, now, sink,
			       stats))) {
		wtx_end(store, tx, sink, false);
		return err;
	}
	tx->events += n;
	return RK_OK;
}

/* The batches to look up, in order: the new events, then the unresolved
 * ones due again.  *n == 0: no more. */
struct cursor {
	int64_t after;
	bool unresolved;
	size_t limit;
	/* the subjects whose chain an earlier batch encoded (id 1): the
	 * writer's memo has them unless that batch failed, which ends the
	 * pass */
	struct memo seen;
};

/* The stored text of each subject found that no earlier batch had. */
static enum rk_err batch_encode(struct batch *b, struct memo *seen)
{
	struct rk_buf text;
	enum rk_err err = RK_OK;

	rk_buf_init(&text, 1 << 20);
	for (size_t i = 0; !err && i < b->nsubjects; i++) {
		struct subject *s = &b->subjects[i];

		if (s->err || s->chain.count == 0 || memo_get(seen, s->key))
			continue;
		rk_buf_reset(&text);
		if ((err = resolve_chain_encode(&s->chain, &text)))
			break;
		if (!(s->text = rk_strdup(text.data ? text.data : "")))
			err = RK_ERR_NOMEM;
		else
			err = memo_put(seen, s->key, 1);
	}
	rk_buf_release(&text);
	return err;
}

/* The next batch of the cursor: read and, unless empty, looked up.
 * *phase_end (may be NULL): called once the new events are all read,
 * before the first unresolved one is (the lookahead waits there until
 * every batch before is written, so that the unresolved events are read
 * as one batch after the other reads them). */
static enum rk_err cursor_next(struct cursor *c, struct rk_store *store,
			       struct resolver *r, int64_t now,
			       struct store_event **rows, size_t *n,
			       struct batch *b,
			       void (*phase_end)(void *), void *self)
{
	enum rk_err err;

	memset(b, 0, sizeof(*b));
	for (;;) {
		if ((err = store_events_to_resolve(store, now, c->unresolved,
						   c->after, c->limit, rows, n)))
			return err;
		if (*n > 0 || c->unresolved)
			break;
		c->unresolved = true;
		c->after = 0;
		if (phase_end)
			phase_end(self);
	}
	if (*n == 0)
		return RK_OK;
	c->after = (*rows)[*n - 1].id;
	if ((err = batch_build(r, *rows, *n, now, b)) ||
	    (err = batch_lookup(r, b)))
		return err;
	return batch_encode(b, &c->seen);
}

/* ------------------------------------------------------------ lookahead
 *
 * With a second connection (sink->lookup_store), one thread reads and
 * looks up batch k+1 while the caller's writes batch k: the two halves
 * of a batch's cost on two cores.  One slot between them (so at most
 * two batches ahead of the writer: one waiting, one being looked up). */
struct ahead_item {
	struct store_event *rows; /* owned */
	size_t n;                 /* 0 with err == RK_OK: the end */
	struct batch b;           /* owned */
	enum rk_err err;
};

struct lookahead {
	struct rk_store *store; /* the lookup connection, borrowed */
	struct resolver *r;
	int64_t now;
	struct cursor cur;
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct ahead_item slot;
	bool full;      /* slot holds an item */
	/* an item the writer is done with, freed by the thread (its
	 * memory came from the thread's arena, and the writer's pace sets
	 * the stage's) */
	struct ahead_item spent;
	bool has_spent;
	bool stop;      /* the writer wants no more */
	size_t handed;  /* items the writer took */
	/* of which the writes are settled: committed or rolled back (the
	 * writer's transaction may span several items) */
	size_t written;
};

static void ahead_wait_written(void *self)
{
	struct lookahead *la = self;

	pthread_mutex_lock(&la->mu);
	while (!la->stop && (la->full || la->written < la->handed))
		pthread_cond_wait(&la->cv, &la->mu);
	pthread_mutex_unlock(&la->mu);
}

static void ahead_item_release(struct ahead_item *it)
{
	batch_release(&it->b);
	store_events_free(it->rows, it->n);
	memset(it, 0, sizeof(*it));
}

/* The thread frees what the writer left it. */
static void ahead_free_spent(struct lookahead *la)
{
	struct ahead_item it;
	bool has;

	pthread_mutex_lock(&la->mu);
	it = la->spent;
	has = la->has_spent;
	la->has_spent = false;
	pthread_mutex_unlock(&la->mu);
	if (has)
		ahead_item_release(&it);
}

static void *ahead_main(void *arg)
{
	struct lookahead *la = arg;

	for (bool last = false; !last;) {
		struct ahead_item it;

		ahead_free_spent(la);
		memset(&it, 0, sizeof(it));
		it.err = cursor_next(&la->cur, la->store, la->r, la->now,
				     &it.rows, &it.n, &it.b, ahead_wait_written,
				     la);
		last = it.err || it.n == 0;
		pthread_mutex_lock(&la->mu);
		while (la->full && !la->stop)
			pthread_cond_wait(&la->cv, &la->mu);
		if (la->stop) {
			pthread_mutex_unlock(&la->mu);
			ahead_item_release(&it);
			break;
		}
		la->slot = it;
		la->full = true;
		pthread_cond_broadcast(&la->cv);
		pthread_mutex_unlock(&la->mu);
	}
	return NULL;
}

/* Whether an item waits in the slot (the writer's side). */
static bool ahead_ready(struct lookahead *la)
{
	bool full;

	pthread_mutex_lock(&la->mu);
	full = la->full;
	pthread_mutex_unlock(&la->mu);
	return full;
}

/* k more of the items taken are settled (ahead_wait_written). */
static void ahead_settle(struct lookahead *la, size_t k)
{
	if (!k)
		return;
	pthread_mutex_lock(&la->mu);
	la->written += k;
	pthread_cond_broadcast(&la->cv);
	pthread_mutex_unlock(&la->mu);
}

/* The next item, waited for (the writer's side). */
static void ahead_take(struct lookahead *la, struct ahead_item *it)
{
	pthread_mutex_lock(&la->mu);
	while (!la->full)
		pthread_cond_wait(&la->cv, &la->mu);
	*it = la->slot;
	la->full = false;
	la->handed++;
	pthread_cond_broadcast(&la->cv);
	pthread_mutex_unlock(&la->mu);
}

/* The writer is done with the item it took (left to the thread to
 * free, or freed here if the thread has not yet freed the last one);
 * stop: it wants no more. */
static void ahead_done(struct lookahead *la, struct ahead_item *it, bool stop)
{
	bool mine;

	pthread_mutex_lock(&la->mu);
	if (stop)
		la->stop = true;
	mine = la->has_spent || stop;
	if (!mine) {
		la->spent = *it;
		la->has_spent = true;
	}
	pthread_cond_broadcast(&la->cv);
	pthread_mutex_unlock(&la->mu);
	if (mine)
		ahead_item_release(it);
}

static enum rk_err ahead_start(struct lookahead *la, struct rk_store *store,
			       struct resolver *r, int64_t now, size_t limit)
{
	memset(la, 0, sizeof(*la));
	la->store = store;
	la->r = r;
	la->now = now;
	la->cur.limit = limit;
	if (pthread_mutex_init(&la->mu, NULL))
		return RK_ERR_NOMEM;
	if (pthread_cond_init(&la->cv, NULL)) {
		pthread_mutex_destroy(&la->mu);
		return RK_ERR_NOMEM;
	}
	if (pthread_create(&la->tid, NULL, ahead_main, la)) {
		pthread_cond_destroy(&la->cv);
		pthread_mutex_destroy(&la->mu);
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

/* Stop the thread, join it and free what it left in the slot. */
static void ahead_finish(struct lookahead *la)
{
	pthread_mutex_lock(&la->mu);
	la->stop = true;
	pthread_cond_broadcast(&la->cv);
	pthread_mutex_unlock(&la->mu);
	pthread_join(la->tid, NULL);
	if (la->full)
		ahead_item_release(&la->slot);
	if (la->has_spent)
		ahead_item_release(&la->spent);
	pthread_cond_destroy(&la->cv);
	pthread_mutex_destroy(&la->mu);
}

/* The longer of `longest` and the time since *opened (the debug line's
 * longest transaction). */
static double held_longest(const struct timespec *opened, double longest)
{
	struct timespec now;
	double d;

	clock_gettime(CLOCK_MONOTONIC, &now);
	d = rk_seconds_between(opened, &now);
	return d > longest ? d : longest;
}

/* Every batch through the lookahead; the writes here. */
static enum rk_err pending_ahead(struct rk_store *store, struct resolver *r,
				 const struct rk_config *cfg,
				 const struct rk_log *log, int64_t now,
				 struct resolve_stats *stats,
				 struct rk_progress *p,
				 const struct resolve_sink *sink,
				 struct memo *memo, bool *started)
{
	struct lookahead la;
	enum rk_err err = RK_OK;

	if (!(*started = ahead_start(&la, sink->lookup_store, r, now,
				     RESOLVE_BATCH_SINK) == RK_OK)) {
		rk_log_warn(log, "resolve: cannot start the lookup thread; "
				 "one batch after the other");
		return RK_OK;
	}
	double waited = 0; /* seconds the writer had nothing to write */
	struct timespec cpu0, cpu1;
	struct wtx tx = {false, 0};
	size_t intx = 0;   /* items taken since the last settled */
	long long ntx = 0; /* transactions committed */
	double longest = 0; /* seconds the longest of them held the lock */
	struct timespec opened = {0, 0};

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu0);
	for (bool stop = false; !err && !stop;) {
		struct ahead_item it;
		struct timespec t0, t1;

		/* committed before the writer would wait (a slow lookup
		 * never holds the write lock) or once it holds enough */
		if (tx.open &&
		    (tx.events >= sink->tx_events || !ahead_ready(&la))) {
			err = wtx_end(store, &tx, sink, true);
			ntx += !err;
			longest = held_longest(&opened, longest);
			ahead_settle(&la, intx);
			intx = 0;
			if (err)
				break;
		}
		clock_gettime(CLOCK_MONOTONIC, &t0);
		ahead_take(&la, &it);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		waited += rk_seconds_between(&t0, &t1);
		intx++;
		if (!tx.open)
			opened = t1;
		if (!(err = it.err) && it.n > 0)
			err = batch_commit(store, r, cfg, log, it.rows, it.n,
					   &it.b, memo, now, sink, stats, &tx,
					   &stop);
		stop = stop || it.n == 0;
		if (!tx.open) {
			ahead_settle(&la, intx);
			intx = 0;
		}
		ahead_done(&la, &it, err || stop);
		rk_progress_show(p, stats->seen, false);
	}
	/* the batches written before the end, or before a lookup failed */
	if (tx.open) {
		enum rk_err end = wtx_end(store, &tx, sink, true);

		ntx += !end;
		longest = held_longest(&opened, longest);
		if (!err)
			err = end;
	}
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &cpu1);
	ahead_finish(&la);
	memo_release(&la.cur.seen);
	/* which of the two threads set the pace, and the writer's cost */
	rk_log_debug(log, "resolve: the writer waited %.3f s for lookups and "
			  "wrote on %.3f s of CPU, in %lld transactions (the "
			  "longest %.3f s)",
		     waited, rk_seconds_between(&cpu0, &cpu1), ntx, longest);
#ifdef __GLIBC__
	/* what the thread allocated lies in an arena of its own, free now
	 * but kept by glibc: given back, or the later stages' peak comes
	 * on top of it */
	malloc_trim(0);
#endif
	return err;
}

enum rk_err resolve_pending_sink(struct rk_store *store, struct resolver *r,
				 const struct rk_config *cfg,
				 const struct rk_log *log, int64_t now,
				 struct resolve_stats *stats,
				 struct rk_progress *p,
				 const struct resolve_sink *sink)
{
	struct memo memo = {NULL, 0, 0};
	struct cursor cur = {0, false, sink ? RESOLVE_BATCH_SINK : RESOLVE_BATCH,
			     {NULL, 0, 0}};
	bool ahead = false;
	enum rk_err err;

	if (sink && !sink->take)
		sink = NULL;
	/* with a sink, the batches write only references they made
	 * (store_check_references); back on when the pass ends */
	if (sink && (err = store_check_references(store, false)))
		return err;
	if (sink && sink->lookup_store && sink->lookup_store != store)
		err = pending_ahead(store, r, cfg, log, now, stats, p, sink,
				    &memo, &ahead);
	if (!ahead) {
		for (bool stop = false; !stop;) {
			struct store_event *rows = NULL;
			size_t n = 0;
			struct batch b;

			err = cursor_next(&cur, store, r, now, &rows, &n, &b,
					  NULL, NULL);
			if (!err && n > 0) {
				struct wtx tx = {false, 0};

				/* each batch in its own transaction: the
				 * lookups happen between them, on this thread */
				err = batch_commit(store, r, cfg, log, rows, n,
						   &b, &memo, now, sink, stats,
						   &tx, &stop);
				if (!err)
					err = wtx_end(store, &tx, sink, true);
			}
			stop = stop || err || n == 0;
			batch_release(&b);
			store_events_free(rows, n);
			rk_progress_show(p, stats->seen, false);
		}
	}
	memo_release(&memo);
	memo_release(&cur.seen);
	if (sink) {
		enum rk_err on = store_check_references(store, true);

		if (!err)
			err = on;
	}
	resolver_source_stats(r, stats);
	return err;
}
