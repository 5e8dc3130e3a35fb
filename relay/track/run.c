/* `renraku run --once`: every stage once, in order.  Each stage picks up
 * whatever an earlier run left, so a crash at any point loses nothing. */
#include <stdlib.h>
#include <string.h>

#include "renraku/deliver.h"
#include "renraku/track.h"

enum rk_err track_run_once(struct rk_store *store,
			   const struct rk_config *cfg,
			   const struct rk_log *log,
			   const struct run_options *opts,
			   struct run_stats *stats)
{
	struct resolver *resolver = NULL;
	struct mail_signer *signer = NULL;
	struct deliver_transport *transport = NULL;
	struct deliver_stats dstats = {0, 0, 0};
	int64_t now = rk_now();
	enum rk_err err, notify_err;

	if ((err = store_runner_lock(store, false)))
		goto cleanup;
	if ((err = resolve_new(&resolver, store, cfg, log, opts->offline)))
		goto cleanup;
	if ((err = track_aggregate(store, cfg, log, resolver, now,
				   &stats->track)))
		goto cleanup;
	/* A notice stage failure (GnuPG down, say) must not keep the
	 * messages already queued from going out: deliver, then report it. */
	notify_err = notify_due_tickets(store, cfg, log, &signer, now,
					&stats->notify);
	if ((err = deliver_open(&transport, cfg->transport.url, cfg, log)))
		goto cleanup;
	err = deliver_pending(store, transport, log,
			      cfg->transport.max_attempts, now, &dstats);
	if (!err)
		err = notify_err;
	stats->sent += dstats.sent;
	stats->deferred += dstats.deferred;
	stats->failed += dstats.failed;
cleanup:
	deliver_close(transport);
	mail_signer_close(signer);
	resolve_free(resolver);
	return err;
}
