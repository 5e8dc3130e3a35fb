/* renraku run [--once] [--offline] [--interval SECONDS] [--json] */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "renraku/pipeline.h"

static void print_stats(const struct pipeline_stats *s, bool json)
{
	const struct resolve_stats *r = &s->resolve;
	const struct tickets_stats *t = &s->tickets;
	const struct notify_stats *n = &s->notify;
	char due[RK_TIME_TEXT] = "";

	if (s->first_due)
		rk_time_format_iso(s->first_due, due);
	if (json) {
		printf("{\"events\":%lld,\"resolved\":%lld,\"ticketed\":%lld,"
		       "\"suppressed\":%lld,\"withheld\":%lld,\"unresolved\":%lld,"
		       "\"lookup_later\":%lld,\"events_failed\":%lld,"
		       "\"tickets_created\":%lld,\"tickets_waiting\":%lld,"
		       "\"first_due\":%s%s%s,\"notices\":%lld,\"held\":%lld,"
		       "\"tickets_failed\":%lld,\"render_failed\":%lld,"
		       "\"sent\":%lld,\"deferred\":%lld,\"failed\":%lld",
		       r->seen, r->resolved, t->ticketed, r->suppressed,
		       r->withheld, r->unresolved, r->later, t->failed,
		       t->tickets_created, s->waiting, due[0] ? "\"" : "",
		       due[0] ? due : "null", due[0] ? "\"" : "", n->built,
		       n->held, n->failed, n->failed, s->sent, s->deferred,
		       s->failed);
		printf(",\"stages_failed\":[");
		for (size_t i = 0, k = 0; i < RK_ARRAY_LEN(s->stage_err); i++)
			if (s->stage_err[i])
				printf("%s{\"stage\":\"%s\",\"error\":\"%s\"}",
				       k++ ? "," : "",
				       pipeline_stage_name((enum pipeline_stage)i),
				       rk_strerror(s->stage_err[i]));
		printf("]}\n");
		return;
	}
	printf("events: %lld looked up: %lld resolved, %lld suppressed, %lld "
	       "withheld (TLP:RED), %lld without a contact, %lld to look up "
	       "again later\n",
	       r->seen, r->resolved, r->suppressed, r->withheld, r->unresolved,
	       r->later);
	printf("tickets: %lld events ticketed, %lld tickets created, %lld events "
	       "failed\n",
	       t->ticketed, t->tickets_created, t->failed);
	printf("notices: %lld built, %lld held for review, %lld tickets failed\n",
	       n->built, n->held, n->failed);
	if (s->waiting)
		printf("waiting: %lld tickets gather events until their window "
		       "ends; the first is due at %s\n",
		       s->waiting, due);
	printf("delivery: %lld sent, %lld deferred, %lld failed\n", s->sent,
	       s->deferred, s->failed);
	if (t->failed || n->failed)
		printf("failed: %lld events and %lld tickets were set aside "
		       "(renraku events list --state failed; renraku tickets "
		       "list --state failed)\n",
		       t->failed, n->failed);
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
		{"now", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	struct pipeline_options po;
	bool fixed_now = false;
	struct rk_store *store;
	bool once = false, json = false;
	long long interval = 60;
	sigset_t stop;
	enum rk_err err;
	int c;

	memset(&po, 0, sizeof(po));
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': once = true; break;
		case 'n': po.offline = true; break;
		case 't':
			if (rk_time_parse(optarg, &app->now) != RK_OK)
				return app_usage("run: --now takes a time like 2026-12-01T10:00:00Z");
			fixed_now = true;
			break;
		case 'j': json = true; break;
		case 'i':
			if (rk_parse_duration(optarg, &interval) || interval < 1)
				return app_usage("run: --interval takes a duration like 60s or 5m");
			break;
		default:
			return app_usage("run [--once] [--now TIME] [--offline] [--interval DURATION] [--json]");
		}
	}
	if (optind < argc)
		return app_usage("run takes no arguments");
	if ((err = app_store(app, &store)))
		return rk_exit_code(err);
	sigemptyset(&stop);
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	if (!once)
		sigprocmask(SIG_BLOCK, &stop, NULL);
	for (;;) {
		struct pipeline_stats stats;
		bool set_aside;

		memset(&stats, 0, sizeof(stats));
		/* one `now` per pass: the clock, unless --now fixed it */
		if (!fixed_now && !once)
			app->now = rk_now();
		po.now = app->now;
		err = pipeline_run_once(store, &app->cfg, &app->log, &po, &stats);
		set_aside = stats.tickets.failed || stats.notify.failed;
		if (once || stats.resolve.seen || stats.tickets.events_seen ||
		    stats.notify.built || stats.notify.held || set_aside ||
		    stats.sent || stats.deferred || stats.failed)
			print_stats(&stats, json);
		if (err) {
			rk_log_error(&app->log, "run: %s", rk_strerror(err));
			/* the daemon rides out passing trouble and goes on
			 * with what it can do */
			if (once)
				return rk_exit_code(err);
		} else if (once && set_aside) {
			return RK_EXIT_FAILURE;
		}
		if (once || wait_for_stop(&stop, interval))
			break;
	}
	return RK_EXIT_OK;
}
