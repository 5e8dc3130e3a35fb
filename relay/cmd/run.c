/* renraku run [--once] [--now TIME] [--offline] [--interval DURATION] [--json] */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "renraku/pipeline.h"

static const char run_help[] =
	"usage: renraku [--config FILE] [--db FILE] run [--once] [--now TIME] "
	"[--offline] [--interval DURATION] [--json]\n"
	"\n"
	"Resolve, aggregate, render, sign and deliver; without --once, again\n"
	"every interval until SIGINT or SIGTERM.\n"
	"\n"
	"  --once               one pass, then exit\n"
	"  --now TIME           run every stage as of TIME (2026-12-01T10:00:00Z):\n"
	"                       replays and tests; the clock is not read\n"
	"  --offline            only local contact sources (no network)\n"
	"  --interval DURATION  time between passes (default 60s)\n"
	"  --json               statistics as JSON; a failure prints {\"error\": ...}\n"
	"  --help               this text\n"
	"\n"
	"When stderr is a terminal, each stage draws a progress bar there\n"
	"(events resolved, events ticketed, notices) with rate and time left.\n";

/* The statistics as the JSON document `run --json` prints (NULL when
 * out of memory; caller decrefs). */
static json_t *stats_json(const struct pipeline_stats *s)
{
	const struct resolve_stats *r = &s->resolve;
	const struct tickets_stats *t = &s->tickets;
	const struct notify_stats *n = &s->notify;
	char due[RK_TIME_TEXT] = "";
	json_t *doc, *failed = json_array();

	if (s->first_due)
		rk_time_format_iso(s->first_due, due);
	for (size_t i = 0; failed && i < RK_ARRAY_LEN(s->stage_err); i++)
		if (s->stage_err[i])
			json_array_append_new(
				failed,
				json_pack("{s:s, s:s}", "stage",
					  pipeline_stage_name((enum pipeline_stage)i),
					  "error", rk_strerror(s->stage_err[i])));
	doc = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I,"
			" s:I, s:I, s:I, s:I, s:I, s:I, s:I}",
			"events", (json_int_t)r->seen,
			"resolved", (json_int_t)r->resolved,
			"ticketed", (json_int_t)t->ticketed,
			"suppressed", (json_int_t)r->suppressed,
			"withheld", (json_int_t)r->withheld,
			"unresolved", (json_int_t)r->unresolved,
			"lookup_later", (json_int_t)r->later,
			"events_failed", (json_int_t)t->failed,
			"tickets_created", (json_int_t)t->tickets_created,
			"tickets_waiting", (json_int_t)s->waiting,
			"notices", (json_int_t)n->built,
			"held", (json_int_t)n->held,
			"tickets_failed", (json_int_t)n->failed,
			"render_failed", (json_int_t)n->failed,
			"sent", (json_int_t)s->sent,
			"deferred", (json_int_t)s->deferred,
			"failed", (json_int_t)s->failed);
	if (!doc || !failed) {
		json_decref(doc);
		json_decref(failed);
		return NULL;
	}
	json_object_set_new(doc, "bounced", json_integer(s->bounced));
	json_object_set_new(doc, "escalated", json_integer(s->escalated));
	json_object_set_new(doc, "followups",
			    json_pack("{s:I, s:I, s:I}", "reminders",
				      (json_int_t)s->track.reminders,
				      "escalated",
				      (json_int_t)s->track.escalated,
				      "expired", (json_int_t)s->track.expired));
	json_object_set_new(doc, "rate_limited", json_integer(s->rate_limited));
	json_object_set_new(doc, "inbound",
			    json_pack("{s:I, s:I, s:I, s:I}", "seen",
				      (json_int_t)s->inbound.seen, "stored",
				      (json_int_t)s->inbound.stored, "duplicates",
				      (json_int_t)s->inbound.duplicates, "matched",
				      (json_int_t)s->inbound.matched));
	json_object_set_new(doc, "first_due", due[0] ? json_string(due) : json_null());
	json_object_set_new(doc, "stages_failed", failed);
	json_object_set_new(doc, "spool",
			    json_pack("{s:I, s:I, s:I, s:I, s:I}", "files",
				      (json_int_t)s->spool.files, "failed",
				      (json_int_t)s->spool.failed, "events",
				      (json_int_t)s->spool.events, "duplicates",
				      (json_int_t)s->spool.duplicates, "rejected",
				      (json_int_t)s->spool.rejected));
	return doc;
}

/* A failed `run --once --json`: one document, the statistics with the
 * error beside them.  Returns the exit code. */
static int print_stats_error(const struct app *app,
			     const struct pipeline_stats *s, enum rk_err err)
{
	json_t *doc = stats_json(s);
	char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	struct rk_buf buf;
	int rc;

	json_decref(doc);
	if (!text)
		return app_json_error(app, err, NULL);
	rk_buf_init(&buf, strlen(text) + 1);
	rc = rk_buf_adds(&buf, text) ? app_json_error(app, err, NULL)
				     : app_json_error_doc(app, err, NULL, &buf);
	rk_buf_release(&buf);
	free(text);
	return rc;
}

static void print_stats(const struct pipeline_stats *s, bool json)
{
	const struct resolve_stats *r = &s->resolve;
	const struct tickets_stats *t = &s->tickets;
	const struct notify_stats *n = &s->notify;
	char due[RK_TIME_TEXT] = "";

	if (s->first_due)
		rk_time_format_iso(s->first_due, due);
	if (json) {
		json_t *doc = stats_json(s);
		char *text = doc ? json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER)
				 : NULL;

		if (text)
			puts(text);
		free(text);
		json_decref(doc);
		return;
	}
	if (s->spool.files || s->spool.failed)
		printf("spool: %lld files ingested (%lld events, %lld duplicates, "
		       "%lld rejected), %lld failed (see failed/*.error)\n",
		       s->spool.files, s->spool.events, s->spool.duplicates,
		       s->spool.rejected, s->spool.failed);
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
	if (s->bounced || s->escalated)
		printf("bounces: %lld recipients refused for good (marked "
		       "failing), %lld tickets sent up their chain\n",
		       s->bounced, s->escalated);
	if (s->track.reminders || s->track.escalated || s->track.expired)
		printf("follow-ups: %lld reminders, %lld tickets sent to the "
		       "next level, %lld expired (nobody answered)\n",
		       s->track.reminders, s->track.escalated,
		       s->track.expired);
	if (s->inbound.seen)
		printf("inbound: %lld messages read, %lld stored, %lld matched a "
		       "ticket, %lld stored before\n",
		       s->inbound.seen, s->inbound.stored, s->inbound.matched,
		       s->inbound.duplicates);
	if (s->rate_limited)
		printf("rate limits: %lld messages left queued ([transport] "
		       "rate_per_domain / rate_total); later runs send them\n",
		       s->rate_limited);
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
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pipeline_options po;
	bool fixed_now = app->now_fixed;
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
		case 'h': return app_help(run_help);
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
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
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
		po.progress = isatty(STDERR_FILENO) == 1;
		err = pipeline_run_once(store, &app->cfg, &app->log, &po, &stats);
		set_aside = stats.tickets.failed || stats.notify.failed;
		/* with --json a failed --once prints one document: the
		 * statistics with the error beside them */
		if ((once || stats.spool.files || stats.spool.failed ||
		     stats.resolve.seen || stats.tickets.events_seen ||
		     stats.notify.built || stats.notify.held || set_aside ||
		     stats.sent || stats.deferred || stats.failed ||
		     stats.rate_limited || stats.escalated ||
		     stats.track.reminders || stats.track.escalated ||
		     stats.track.expired) &&
		    !(once && json && err))
			print_stats(&stats, json);
		if (err) {
			rk_log_error(&app->log, "run: %s", rk_strerror(err));
			/* the daemon rides out passing trouble and goes on
			 * with what it can do */
			if (once && json)
				return print_stats_error(app, &stats, err);
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
