/*
 * The pipeline driver: the one part that knows every stage.  One pass
 * runs, in order, the spool (relay/ingest/: report files dropped into
 * [ingest] spool), resolve (relay/resolve/), ticket aggregation
 * (relay/tickets/), notices (relay/notify/) and delivery
 * (relay/deliver/), with the follow-up step of tracking (relay/track/:
 * reminders, escalation, expiry) between tickets and notices.  Each stage
 * picks up whatever an earlier pass left, so a crash at any point loses
 * nothing, and one failing stage does not keep the others from running:
 * queued messages are delivered even when notices cannot be built.
 *
 * Owns nothing in the database itself.  May call every stage's public
 * header; no stage calls it.  Called by `renraku run` (and the service).
 */
#ifndef RENRAKU_PIPELINE_H
#define RENRAKU_PIPELINE_H

#include "renraku/config.h"
#include "renraku/ingest.h"
#include "renraku/notify.h"
#include "renraku/resolve.h"
#include "renraku/store.h"
#include "renraku/tickets.h"
#include "renraku/track.h"

struct pipeline_options {
	bool offline;   /* no network contact sources */
	int64_t now;    /* the time the pass runs as (the command line's
			   --now, or the clock read once by the caller) */
	/* Extra contact sources after the configured ones (tests); the
	 * pass's resolver owns them.  NULL/0 = none. */
	const struct resolve_source *extra_sources;
	size_t nextra_sources;
	/* A progress bar on stderr per stage (events resolved, events
	 * ticketed, notices); the command line sets it when stderr is a
	 * terminal. */
	bool progress;
};

struct pipeline_stats {
	struct ingest_spool_stats spool;
	struct resolve_stats resolve;
	struct tickets_stats tickets;
	struct notify_stats notify;
	struct track_stats track;  /* reminders, escalations, expiries */
	long long sent;
	long long deferred;
	long long failed;          /* messages */
	long long bounced;         /* recipients refused for good (5xx) */
	long long rate_limited;    /* messages left queued by the rate limits */
	long long escalated;       /* tickets sent up the chain by a bounce */
	long long waiting;         /* tickets still aggregating */
	int64_t first_due;         /* earliest send_after of those, 0 */
	enum rk_err stage_err[6];  /* resolve, tickets, notify, deliver, spool,
				      track */
	struct track_intake_stats inbound; /* the maildir and IMAP mailbox */
};

/* Index of each stage in pipeline_stats.stage_err, and its name. */
enum pipeline_stage {
	PIPELINE_RESOLVE = 0,
	PIPELINE_TICKETS = 1,
	PIPELINE_NOTIFY = 2,
	PIPELINE_DELIVER = 3,
	PIPELINE_SPOOL = 4,
	PIPELINE_TRACK = 5
};
const char *pipeline_stage_name(enum pipeline_stage s);

/* One pass of every stage as of opts->now, under the runner lock (a
 * second runner gets RK_ERR_BUSY and nothing is done).  Every stage runs
 * even when an earlier one failed; the result is the first stage error
 * (each is in stats->stage_err, logged with what it concerns), else
 * RK_OK.  Events and tickets set aside as failed are counted in stats,
 * not returned as errors. */
enum rk_err pipeline_run_once(struct rk_store *store,
			      const struct rk_config *cfg,
			      const struct rk_log *log,
			      const struct pipeline_options *opts,
			      struct pipeline_stats *stats);

#endif /* RENRAKU_PIPELINE_H */
