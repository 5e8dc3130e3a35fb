/* One pass of every stage, in order, as of one injected `now`. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "renraku/deliver.h"
#include "renraku/pipeline.h"
#include "renraku/track.h"

const char *pipeline_stage_name(enum pipeline_stage s)
{
	static const char *const names[] = {"resolve", "tickets", "notify",
					    "deliver", "spool", "track"};

	return (size_t)s < RK_ARRAY_LEN(names) ? names[s] : "?";
}

/* Events the resolve stage's writer commits at once (resolve_sink
 * tx_events): five of its batches.  The memory stays that of one batch
 * (a batch's chains are freed once written); what exceeds SQLite's
 * page cache spills into the WAL before the commit.  Measured on a
 * million events in 1,000 tickets (bench/README.md): 22 to 24 commits
 * instead of 100, as fast as 100,000 (16 to 18), and the write lock
 * held 0.8 s at the longest (the debug line says), well inside [store]
 * busy_timeout's default of 5 s for an ingest waiting on it. */
#define RUN_TX_EVENTS 50000

/* The resolve stage's sink: each batch's resolved events are ticketed in
 * the batch's own transaction (tickets_pass). */
static enum rk_err sink_take(void *self, const struct store_event *ev,
			     size_t n)
{
	return tickets_pass_take(self, ev, n);
}

static void sink_committed(void *self)
{
	tickets_pass_committed(self);
}

static void sink_rolled_back(void *self)
{
	tickets_pass_rolled_back(self);
}

/* *pass_err: why the tickets pass could not open (the templates: said
 * once, here; the tickets stage is then not run), else RK_OK. */
static enum rk_err run_resolve(struct rk_store *store,
			       const struct rk_config *cfg,
			       const struct rk_log *log,
			       const struct pipeline_options *opts,
			       struct pipeline_stats *stats,
			       enum rk_err *pass_err)
{
	struct resolver *resolver = NULL;
	struct rk_store *lookups = NULL;
	enum rk_err err;
	size_t i = 0;

	*pass_err = RK_OK;
	/* the lookups on a second connection, on a thread of their own
	 * (resolve_sink.lookup_store); without one (a database in memory)
	 * one batch after the other on this one */
	if (store_open_sibling(store, cfg->store.busy_timeout, &lookups))
		lookups = NULL;
	err = resolve_new(&resolver, lookups ? lookups : store, cfg, log,
			  opts->offline);
	for (; !err && i < opts->nextra_sources; i++)
		err = resolve_add_source(resolver, &opts->extra_sources[i]);
	/* sources not handed over are still ours to free */
	for (; i < opts->nextra_sources; i++)
		if (opts->extra_sources[i].free)
			opts->extra_sources[i].free(opts->extra_sources[i].self);
	if (!err) {
		struct rk_progress bar;
		struct store_event_counts counts;
		struct tickets_pass *pass = NULL;
		struct resolve_sink sink = {NULL, STORE_EVENT_TICKETED,
					    sink_take, sink_committed,
					    sink_rolled_back, lookups,
					    RUN_TX_EVENTS};

		memset(&counts, 0, sizeof(counts));
		/* the bar's total only: counted when a bar is drawn */
		if (opts->progress && (err = store_event_counts(store, &counts)))
			goto done;
		rk_progress_start(&bar, opts->progress, "resolve", "events",
				  counts.pending + counts.unresolved);
		/* resolved events go straight into their tickets; should
		 * the pass not open (the templates), they stay resolved, as
		 * when the tickets stage failed */
		if (!(*pass_err = tickets_pass_open(store, cfg, log, opts->now,
						    &stats->tickets, &pass)))
			sink.self = pass;
		err = resolve_pending_sink(store, resolver, cfg, log,
					   opts->now, &stats->resolve, &bar,
					   pass ? &sink : NULL);
		tickets_pass_close(pass);
		rk_progress_show(&bar, stats->resolve.seen, true);
	}
done:
	resolve_free(resolver);
	store_close(lookups);
	return err;
}

static enum rk_err run_tickets(struct rk_store *store,
			       const struct rk_config *cfg,
			       const struct rk_log *log,
			       const struct pipeline_options *opts,
			       struct pipeline_stats *stats)
{
	struct rk_progress bar;
	struct store_event_counts counts;
	enum rk_err err;

	memset(&counts, 0, sizeof(counts));
	if (opts->progress && (err = store_event_counts(store, &counts)))
		return err;
	rk_progress_start(&bar, opts->progress, "tickets", "events",
			  counts.resolved);
	err = tickets_aggregate_progress(store, cfg, log, opts->now,
					 &stats->tickets, &bar);
	rk_progress_show(&bar, stats->tickets.events_seen, true);
	return err;
}

static enum rk_err run_track(struct rk_store *store,
			     const struct rk_config *cfg,
			     const struct rk_log *log,
			     const struct pipeline_options *opts,
			     struct pipeline_stats *stats)
{
	enum rk_err err = RK_OK;

	if (cfg->inbound.maildir) {
		char *dir = NULL;

		err = rk_config_path(cfg, cfg->inbound.maildir, &dir);
		if (!err)
			err = track_maildir(store, cfg, log, dir, &stats->inbound);
		free(dir);
	}
	if (!err && cfg->inbound.imap_url && !opts->offline)
		err = track_fetch_mail(store, cfg, log, &stats->inbound);
	return err;
}

/* A delivery pass's counts added to the run's. */
static void count_delivery(struct pipeline_stats *stats,
			   const struct deliver_stats *d)
{
	stats->sent += d->sent;
	stats->deferred += d->deferred;
	stats->failed += d->failed;
	stats->bounced += d->bounced;
	stats->rate_limited += d->rate_limited;
}

static enum rk_err run_deliver(struct rk_store *store,
			       const struct rk_config *cfg,
			       const struct rk_log *log, int64_t now,
			       struct pipeline_stats *stats)
{
	struct deliver_transport *transport = NULL;
	struct deliver_policy policy;
	struct deliver_stats dstats;
	enum rk_err err;

	memset(&dstats, 0, sizeof(dstats));
	if ((err = deliver_policy_from_config(cfg, &policy)))
		return err;
	if ((err = deliver_open(&transport, cfg->transport.url, cfg, log)))
		return err;
	err = deliver_pending(store, transport, log, &policy, now, &dstats);
	count_delivery(stats, &dstats);
	deliver_close(transport);
	return err;
}

/* ------------------------------------------------------------ delivery
 * alongside the notify stage
 *
 * While the notify stage builds a long run's notices, a thread of its own
 * with a second connection delivers those already committed, a whole
 * session at a time (100 messages by default): the first notices go out
 * while the last are signed, and delivery's waits (fsync, the SMTP
 * server) overlap the stage's CPU.  A shorter run queues fewer and
 * delivers them all afterwards, as before; the delivery stage after
 * notify always runs and sends whatever is left. */
enum { ALONGSIDE_POLL_MS = 100 };

struct alongside {
	pthread_t tid;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;                  /* under mu */
	struct rk_store *store;     /* the sibling connection, owned */
	const struct rk_config *cfg;
	struct deliver_transport *transport; /* owned; opened when first
						needed */
	struct deliver_policy policy;
	const struct rk_log *log;
	int64_t now;
	struct deliver_stats dstats; /* its passes', rate_limited left out */
	enum rk_err err;
};

/* Wait up to ALONGSIDE_POLL_MS for stop; true when stopped. */
static bool alongside_nap(struct alongside *a)
{
	struct timespec until;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_nsec += (long)ALONGSIDE_POLL_MS * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&a->mu);
	while (!a->stop &&
	       pthread_cond_timedwait(&a->cv, &a->mu, &until) != ETIMEDOUT)
		;
	stop = a->stop;
	pthread_mutex_unlock(&a->mu);
	return stop;
}

static void *alongside_main(void *arg)
{
	struct alongside *a = arg;
	size_t session = a->policy.session_max ? a->policy.session_max
					       : DELIVER_SESSION_MAX;

	/* one whole session a pass: the sessions are as many, and as
	 * full, as when the stage after notify sends them all */
	a->policy.pass_max = session;

	while (!alongside_nap(a)) {
		struct deliver_stats d;
		size_t queued = 0;
		enum rk_err err;

		if ((err = store_messages_queued(a->store, session, &queued)) ||
		    queued < session)
			goto next;
		/* a run that never queues a session's worth opens nothing */
		if (!a->transport &&
		    (err = deliver_open(&a->transport, a->cfg->transport.url,
					a->cfg, a->log)))
			goto next;
		memset(&d, 0, sizeof(d));
		err = deliver_pending(a->store, a->transport, a->log, &a->policy,
				      a->now, &d);
		a->dstats.sent += d.sent;
		a->dstats.deferred += d.deferred;
		a->dstats.failed += d.failed;
		a->dstats.bounced += d.bounced;
		a->dstats.sessions += d.sessions;
		/* rate-limited messages stay queued: counted by the
		 * delivery stage after notify, which meets them last */
		if (!err && d.sent + d.deferred + d.failed == 0)
			break; /* what is queued waits for the rate limits */
next:
		if (err) {
			/* said once; the delivery stage after notify
			 * tries again and reports its own */
			a->err = err;
			rk_log_warn(a->log, "deliver: stopped alongside the "
				    "notices: %s", rk_strerror(err));
			break;
		}
	}
	return NULL;
}

/* Start delivering alongside; false (and nothing started) when the
 * database cannot have a second connection (in memory) or a thread
 * cannot be had. */
static bool alongside_start(struct rk_store *store, const struct rk_config *cfg,
			    const struct rk_log *log, int64_t now,
			    struct alongside *a)
{
	memset(a, 0, sizeof(*a));
	a->log = log;
	a->cfg = cfg;
	a->now = now;
	if (deliver_policy_from_config(cfg, &a->policy) ||
	    store_open_sibling(store, cfg->store.busy_timeout, &a->store))
		return false;
	store_set_now(a->store, now);
	if (pthread_mutex_init(&a->mu, NULL)) {
		store_close(a->store);
		return false;
	}
	if (pthread_cond_init(&a->cv, NULL)) {
		pthread_mutex_destroy(&a->mu);
		store_close(a->store);
		return false;
	}
	if (pthread_create(&a->tid, NULL, alongside_main, a)) {
		pthread_cond_destroy(&a->cv);
		pthread_mutex_destroy(&a->mu);
		store_close(a->store);
		return false;
	}
	return true;
}

/* Stop (what it is sending finishes first), join, count what it did
 * into stats; its error, when it stopped on one, returned. */
static enum rk_err alongside_stop(struct alongside *a,
				  struct pipeline_stats *stats)
{
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->tid, NULL);
	pthread_cond_destroy(&a->cv);
	pthread_mutex_destroy(&a->mu);
	deliver_close(a->transport);
	store_close(a->store);
	count_delivery(stats, &a->dstats);
	if (a->dstats.sessions)
		rk_log_debug(a->log, "deliver: %lld messages alongside the "
			     "notices (%lld sessions)", a->dstats.sent,
			     a->dstats.sessions);
	return a->err;
}

/* Seconds on the monotonic clock (how long a stage took: for the debug
 * log, never for what a stage decides). */
static double elapsed_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return rk_seconds_between(t0, &t1);
}

/* The process's CPU seconds so far (user + system of every thread):
 * beside the wall time in the debug log, it stays meaningful when other
 * jobs share the machine. */
static double cpu_now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

enum rk_err pipeline_run_once(struct rk_store *store,
			      const struct rk_config *cfg,
			      const struct rk_log *log,
			      const struct pipeline_options *opts,
			      struct pipeline_stats *stats)
{
	struct mail_signer *signer = NULL;
	struct timespec t0;
	double cpu0;
	enum rk_err err, first = RK_OK, pass_err = RK_OK, along_err = RK_OK;

	if ((err = store_runner_lock(store, false))) {
		for (size_t i = 0; i < opts->nextra_sources; i++)
			if (opts->extra_sources[i].free)
				opts->extra_sources[i].free(opts->extra_sources[i].self);
		return err;
	}
	store_set_now(store, opts->now);
	if ((err = store_tune_for_batches(store)))
		rk_log_warn(log, "run: %s (the pass goes on with the defaults)",
			    rk_strerror(err));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stats->stage_err[PIPELINE_SPOOL] =
		ingest_spool(store, cfg, log, opts->now, &stats->spool);
	if (cfg->ingest.spool)
		rk_log_debug(log, "spool: %lld files in %.3f s",
			     stats->spool.files + stats->spool.failed,
			     elapsed_since(&t0));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cpu0 = cpu_now();
	stats->stage_err[PIPELINE_RESOLVE] =
		run_resolve(store, cfg, log, opts, stats, &pass_err);
	rk_log_debug(log, "resolve: %lld events in %.3f s (%.3f s CPU)",
		     stats->resolve.seen, elapsed_since(&t0), cpu_now() - cpu0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cpu0 = cpu_now();
	/* what the resolve stage left resolved (all of it when its
	 * tickets pass did not open, events of an older version's run) */
	stats->stage_err[PIPELINE_TICKETS] =
		pass_err ? pass_err : run_tickets(store, cfg, log, opts, stats);
	rk_log_debug(log, "tickets: %lld events in %.3f s (%.3f s CPU)",
		     stats->tickets.events_seen, elapsed_since(&t0),
		     cpu_now() - cpu0);
	/* follow-ups of tickets nobody answered: made due here, built by
	 * the notify stage below in this pass */
	err = track_followups(store, cfg, log, opts->now, &stats->track);
	if (err && !stats->stage_err[PIPELINE_TICKETS])
		stats->stage_err[PIPELINE_TICKETS] = err;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	cpu0 = cpu_now();
	/* The signer is checked every pass, before any notice: when it
	 * cannot sign, no ticket is touched and queued mail still goes. */
	stats->stage_err[PIPELINE_NOTIFY] =
		notify_signer_from_config(cfg, log, &signer);
	if (!stats->stage_err[PIPELINE_NOTIFY] && signer && opts->offline)
		mail_signer_wkd(signer, NULL); /* no WKD lookups either */
	if (!stats->stage_err[PIPELINE_NOTIFY]) {
		/* the notify stage reports no progress of its own: the bar
		 * shows its start and its end */
		struct rk_progress bar;
		struct alongside a;
		bool along = alongside_start(store, cfg, log, opts->now, &a);

		rk_progress_start(&bar, opts->progress, "notices", "notices",
				  0);
		rk_progress_show(&bar, 0, false);
		stats->stage_err[PIPELINE_NOTIFY] = notify_due_tickets(
			store, cfg, log, &signer, opts->now, &stats->notify);
		rk_progress_show(&bar, stats->notify.built, true);
		if (along)
			along_err = alongside_stop(&a, stats);
	}
	mail_signer_close(signer);
	signer = NULL;
	rk_log_debug(log, "notify: %lld notices in %.3f s (%.3f s CPU)",
		     stats->notify.built, elapsed_since(&t0), cpu_now() - cpu0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stats->stage_err[PIPELINE_DELIVER] =
		run_deliver(store, cfg, log, opts->now, stats);
	/* what stopped delivery alongside (a server that refused every
	 * connection deferred its messages: the stage after finds none) */
	if (!stats->stage_err[PIPELINE_DELIVER])
		stats->stage_err[PIPELINE_DELIVER] = along_err;
	rk_log_debug(log, "deliver: %lld messages in %.3f s", stats->sent,
		     elapsed_since(&t0));
	/* Inbound mail after delivery: bounces, auto-replies and replies
	 * move their tickets before the follow-up stages look at them. */
	clock_gettime(CLOCK_MONOTONIC, &t0);
	stats->stage_err[PIPELINE_TRACK] = run_track(store, cfg, log, opts,
						     stats);
	rk_log_debug(log, "track: %lld messages in %.3f s",
		     stats->inbound.seen, elapsed_since(&t0));
	/* A notice refused for good goes up the chain at once: the tickets
	 * stage moves them, and the next level's notices are built and sent
	 * in this pass. */
	for (int round = 0; round < 3; round++) { /* at most 3 levels */
		struct tickets_bounce_stats b = {0, 0};

		err = tickets_escalate_bounced(store, log, opts->now, &b);
		if (err && !stats->stage_err[PIPELINE_TICKETS])
			stats->stage_err[PIPELINE_TICKETS] = err;
		stats->escalated += b.escalated;
		if (err || b.escalated == 0)
			break;
		err = notify_signer_from_config(cfg, log, &signer);
		if (!err)
			err = notify_due_tickets(store, cfg, log, &signer,
						 opts->now, &stats->notify);
		mail_signer_close(signer);
		signer = NULL;
		if (err && !stats->stage_err[PIPELINE_NOTIFY])
			stats->stage_err[PIPELINE_NOTIFY] = err;
		err = run_deliver(store, cfg, log, opts->now, stats);
		if (err && !stats->stage_err[PIPELINE_DELIVER])
			stats->stage_err[PIPELINE_DELIVER] = err;
	}
	for (size_t i = 0; i < RK_ARRAY_LEN(stats->stage_err); i++) {
		if (stats->stage_err[i] && !first)
			first = stats->stage_err[i];
		if (stats->stage_err[i])
			rk_log_error(log, "run: the %s stage failed: %s",
				     pipeline_stage_name((enum pipeline_stage)i),
				     rk_strerror(stats->stage_err[i]));
	}
	if ((err = store_tickets_waiting(store, opts->now, &stats->waiting,
					 &stats->first_due)) && !first)
		first = err;
	return first;
}
