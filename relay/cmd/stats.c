/* renraku stats [--since DATE] [--until DATE] [--quarter YYYYQN]
 *               [--lang en|ja] [--min-notices N]
 *               [--json | --csv DIR | --html FILE] */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/stats.h"

static const char stats_help[] =
	"usage: renraku [--config FILE] [--db FILE] [--now TIME] stats\n"
	"       [--quarter YYYYQN | --since DATE [--until DATE]] [--lang en|ja]\n"
	"       [--min-notices N] [--json | --csv DIR | --html FILE]\n"
	"\n"
	"A report of what renraku handled, in the style of JPCERT/CC's\n"
	"quarterly incident reports: reports received (by format and reporter),\n"
	"events, incidents (tickets) and coordinations (notices sent) by month\n"
	"and by category, with the change from the previous period; delivery\n"
	"(sent, deferred, bounced, tickets whose first notice bounced);\n"
	"response (acknowledged, auto-acknowledged, disputed, expired, the\n"
	"acknowledgement rate, median and 90th percentile time to the first\n"
	"human answer, escalations by level); the least and the most\n"
	"responsive networks (contact addresses and origin ASes); suppressed\n"
	"and withheld (TLP:RED) events.  Every output comes from one\n"
	"computation.  Times are UTC.\n"
	"\n"
	"  --quarter YYYYQN  that quarter (2026Q4 = 2026-10-01 .. 2027-01-01);\n"
	"                    default the quarter holding now (--now respected)\n"
	"  --since DATE      the period starts at DATE (included)\n"
	"  --until DATE      and ends before DATE (default now)\n"
	"  --lang en|ja      labels in English (default) or Japanese\n"
	"  --min-notices N   notices a network needs to rank (default 5)\n"
	"  --json            one JSON document on stdout\n"
	"  --csv DIR         one CSV file per table into DIR\n"
	"  --html FILE       one self-contained page with SVG charts\n"
	"  --help            this text\n"
	"\n"
	"Exit: 0 done, 1 the database could not be read, 2 usage.\n";

int cmd_stats(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"since", required_argument, NULL, 's'},
		{"until", required_argument, NULL, 'u'},
		{"quarter", required_argument, NULL, 'q'},
		{"lang", required_argument, NULL, 'l'},
		{"min-notices", required_argument, NULL, 'm'},
		{"json", no_argument, NULL, 'j'},
		{"csv", required_argument, NULL, 'c'},
		{"html", required_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *since_arg = NULL, *until_arg = NULL, *quarter = NULL;
	const char *lang = "en", *csv_dir = NULL, *html_file = NULL;
	long long min_notices = 5;
	int64_t since = 0, until = 0;
	struct stats_report r;
	struct rk_store *store = NULL;
	bool json = false;
	enum rk_err err;
	int outputs, c, rc = RK_EXIT_OK;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': since_arg = optarg; break;
		case 'u': until_arg = optarg; break;
		case 'q': quarter = optarg; break;
		case 'l': lang = optarg; break;
		case 'm':
			if (rk_parse_long(optarg, 1, 1000000, &min_notices))
				return app_usage("stats: --min-notices takes a number from 1");
			break;
		case 'j': json = true; break;
		case 'c': csv_dir = optarg; break;
		case 'H': html_file = optarg; break;
		case 'h': return app_help(stats_help);
		default: return app_usage("see 'renraku stats --help'");
		}
	}
	outputs = json + (csv_dir != NULL) + (html_file != NULL);
	if (optind < argc || outputs > 1)
		return app_usage("stats takes one of --json, --csv DIR, --html FILE "
				 "(see 'renraku stats --help')");
	if (strcmp(lang, "en") != 0 && strcmp(lang, "ja") != 0)
		return app_usage("stats: --lang is en or ja");
	if (quarter && (since_arg || until_arg))
		return app_usage("stats: --quarter or --since/--until, not both");
	if (quarter) {
		if (stats_quarter_parse(quarter, &since, &until))
			return app_usage("stats: --quarter takes a quarter like 2026Q4");
	} else if (since_arg || until_arg) {
		if (!since_arg)
			return app_usage("stats: --until needs --since");
		if (rk_time_parse(since_arg, &since))
			return app_usage("stats: --since takes a date like 2026-10-01");
		until = app->now + 1;
		if (until_arg && rk_time_parse(until_arg, &until))
			return app_usage("stats: --until takes a date like 2027-01-01");
		if (since >= until)
			return app_usage("stats: --since must come before --until");
	} else {
		stats_quarter_of(app->now, &since, &until);
	}
	if ((err = app_store(app, &store)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	err = stats_compute(store, since, until, lang, min_notices, &r);
	if (err == RK_ERR_INVAL)
		return app_usage("stats: the period is longer than %d months",
				 STATS_MAX_MONTHS);
	if (err)
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (json) {
		rc = app_print_json(stats_to_json(&r));
	} else if (csv_dir) {
		if ((err = stats_write_csv(&r, csv_dir))) {
			rk_log_error(&app->log, "stats: cannot write CSV files into '%s'",
				     csv_dir);
			rc = (int)rk_exit_code(err);
		}
	} else {
		struct rk_buf b;

		rk_buf_init(&b, 256u << 20);
		err = html_file ? stats_write_html(&r, &b) : stats_write_text(&r, &b);
		if (!err && html_file) {
			FILE *f = fopen(html_file, "w");
			bool ok = f && fwrite(b.data, 1, b.len, f) == b.len;

			if (f && fclose(f) != 0)
				ok = false;
			if (!ok) {
				rk_log_error(&app->log, "stats: cannot write '%s'", html_file);
				rc = RK_EXIT_FAILURE;
			}
		} else if (!err) {
			if (fwrite(b.data, 1, b.len, stdout) != b.len || fflush(stdout))
				rc = RK_EXIT_FAILURE;
		} else {
			rc = (int)rk_exit_code(err);
		}
		rk_buf_release(&b);
	}
	stats_report_release(&r);
	return rc;
}
