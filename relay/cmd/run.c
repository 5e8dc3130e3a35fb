/* renraku run [--once] [--offline] [--interval SECONDS] [--json] */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "renraku/track.h"

static const char run_help[] =
	"usage: renraku [--config FILE] [--db FILE] run [--once] [--offline] "
	"[--interval DURATION] [--json]\n"
	"\n"
	"Resolve, aggregate, render, sign and deliver; without --once, again\n"
	"every interval until SIGINT or SIGTERM.\n"
	"\n"
	"  --once               one pass, then exit\n"
	"  --offline            only local contact sources (no network)\n"
	"  --interval DURATION  time between passes (default 60s)\n"
	"  --json               statistics as JSON; a failure prints {\"error\": ...}\n"
	"  --help               this text\n";

static void print_stats(const struct run_stats *s, bool json)
{
	const struct track_stats *t = &s->track;
	const struct notify_stats *n = &s->notify;

	if (json) {
		printf("{\"events\":%lld,\"ticketed\":%lld,\"suppressed\":%lld,"
		       "\"withheld\":%lld,\"unresolved\":%lld,"
		       "\"tickets_created\":%lld,\"notices\":%lld,\"held\":%lld,"
		       "\"render_failed\":%lld,\"sent\":%lld,\"deferred\":%lld,"
		       "\"failed\":%lld}\n",
		       t->events_seen, t->ticketed, t->suppressed, t->withheld,
		       t->unresolved, t->tickets_created, n->built, n->held,
		       n->failed, s->sent, s->deferred, s->failed);
		return;
	}
	printf("events: %lld new, %lld ticketed, %lld suppressed, %lld withheld "
	       "(TLP:RED), %lld without a contact\n",
	       t->events_seen, t->ticketed, t->suppressed, t->withheld,
	       t->unresolved);
	printf("tickets: %lld created; notices: %lld built, %lld held for "
	       "review, %lld failed to render\n",
	       t->tickets_created, n->built, n->held, n->failed);
	printf("delivery: %lld sent, %lld deferred, %lld failed\n", s->sent,
	       s->deferred, s->failed);
}

/* Sleep up to `seconds`, returning true early when SIGINT/SIGTERM arrive
 * (they are blocked and taken synchronously: no handler, no global). */
static bool wait_for_stop(const sigset_t *stop, long long seconds)
{
	struct timespec ts = {(time_t)seconds, 0};
	int sig;

	do {
		sig = sigtimedwait(stop, NULL, &ts);
	} while (sig < 0 && errno == EINTR);
	return sig > 0;
}

int cmd_run(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"once", no_argument, NULL, 'o'},
		{"offline", no_argument, NULL, 'n'},
		{"interval", required_argument, NULL, 'i'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct run_options ro = {false};
	struct rk_store *store;
	bool once = false, json = false;
	long long interval = 60;
	sigset_t stop;
	enum rk_err err;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': once = true; break;
		case 'n': ro.offline = true; break;
		case 'j': json = true; break;
		case 'h': return app_help(run_help);
		case 'i':
			if (rk_parse_duration(optarg, &interval) || interval < 1)
				return app_usage("run: --interval takes a duration like 60s or 5m");
			break;
		default:
			return app_usage("run [--once] [--offline] [--interval DURATION] [--json]");
		}
	}
	if (optind < argc)
		return app_usage("run takes no arguments");
	if ((err = app_store(app, &store)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (!once)
		sigprocmask(SIG_BLOCK, &stop, NULL);
	for (;;) {
		struct run_stats stats;

		memset(&stats, 0, sizeof(stats));
		err = track_run_once(store, &app->cfg, &app->log, &ro, &stats);
		/* with --json a failed --once prints the error document only */
		if ((once || stats.track.events_seen || stats.notify.built ||
		     stats.notify.held || stats.sent || stats.deferred ||
		     stats.failed) && !(once && json && err))
			print_stats(&stats, json);
		if (err) {
			rk_log_error(&app->log, "run: %s", rk_strerror(err));
			/* the daemon rides out passing trouble */
			if (once || (err != RK_ERR_TEMPFAIL && err != RK_ERR_BUSY))
				return json ? app_json_error(app, err, NULL)
					    : (int)rk_exit_code(err);
		}
		if (once || wait_for_stop(&stop, interval))
			break;
	}
	return RK_EXIT_OK;
}
