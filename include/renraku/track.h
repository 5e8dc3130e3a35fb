/*
 * Track: follow events into tickets and tickets through their life.
 *
 *   aggregate.c  new events -> suppressed / withheld / unresolved, or
 *                joined to the open ticket of their level-0 contact and
 *                template (a new ticket waits [aggregate] window)
 *   run.c        `renraku run --once`: every stage once, in order
 *
 * Later issues add inbound mail, acknowledgements, reminders and
 * escalation here.
 */
#ifndef RENRAKU_TRACK_H
#define RENRAKU_TRACK_H

#include "renraku/config.h"
#include "renraku/notify.h"
#include "renraku/resolve.h"
#include "renraku/store.h"

struct track_stats {
	long long events_seen;
	long long ticketed;
	long long suppressed;
	long long withheld;
	long long unresolved;
	long long tickets_created;
};

/* Move every new event on: resolve it, and join it to a ticket or set it
 * aside (suppressed, withheld for TLP:RED, unresolved).  One transaction
 * per batch of events. */
enum rk_err track_aggregate(struct rk_store *store,
			    const struct rk_config *cfg,
			    const struct rk_log *log, struct resolver *resolver,
			    int64_t now, struct track_stats *stats);

struct run_stats {
	struct track_stats track;
	struct notify_stats notify;
	long long sent;
	long long deferred;
	long long failed;
};

struct run_options {
	bool offline;  /* no network contact sources */
};

/* One pass of every stage: aggregate, build notices for due tickets,
 * deliver queued messages.  Picks up whatever an earlier run left. */
enum rk_err track_run_once(struct rk_store *store,
			   const struct rk_config *cfg,
			   const struct rk_log *log,
			   const struct run_options *opts,
			   struct run_stats *stats);

#endif /* RENRAKU_TRACK_H */
