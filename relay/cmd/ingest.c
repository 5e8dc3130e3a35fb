/* renraku ingest [--format F] [--reporter NAME] [--json] FILE...|- */
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "renraku/ingest.h"

#define INGEST_USAGE \
	"ingest [--format F] [--reporter NAME] [--json] FILE...|-"

static const char ingest_help[] =
	"usage: renraku [--config FILE] [--db FILE] " INGEST_USAGE "\n"
	"\n"
	"Read reports into the database; each accepted event is normalized,\n"
	"deduplicated and stored.  '-' reads standard input.\n"
	"\n"
	"  --format F       auto (default: from the content and file name),\n"
	"                   intelmq, shadowserver, shadowserver:TYPE, arf\n"
	"                   (xarf is the same: ARF, X-ARF 0.2, XARF v4 mail),\n"
	"                   iodef (IODEF v2 XML, RFC 7970; also 1.0), or\n"
	"                   csv:MAPPING (generic CSV read with the mapping\n"
	"                   file MAPPING; auto takes csv only by [ingest]\n"
	"                   csv_mappings: CSV cannot be told by content)\n"
	"  --reporter NAME  who sent the report (1 to 256 printable characters)\n"
	"  --json           one JSON document on stdout (also on failure)\n"
	"  --help           this text\n"
	"\n"
	"A file of 8 MB or more gets a progress bar on stderr when stderr is\n"
	"a terminal (bytes read / file size, events/s, time left).\n"
	"\n"
	"exit codes: 0 ok (rejected records are listed), 1 failure, 2 usage,\n"
	"65 a file that is not its format or over a limit, 75 database busy\n";

static const char *plural(long long n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static int print_summary(const struct ingest_result *res)
{
	struct rk_buf line;
	int rc;

	rk_buf_init(&line, 512);
	if (rk_buf_addf(&line,
			"ingested %lld %s from %lld %s (%lld %s, %lld rejected)",
			res->events, plural(res->events, "event", "events"),
			res->reports, plural(res->reports, "report", "reports"),
			res->duplicates,
			plural(res->duplicates, "duplicate", "duplicates"),
			res->rejected)) {
		rk_buf_release(&line);
		return RK_EXIT_FAILURE;
	}
	rc = app_print(&line);
	rk_buf_release(&line);
	return rc;
}

int cmd_ingest(struct app *app, int argc, char **argv)
{
	static const struct option long_opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"reporter", required_argument, NULL, 'r'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct ingest_options opts = {INGEST_FORMAT_AUTO, NULL, false, 0};
	struct ingest_result res;
	struct rk_store *store = NULL;
	struct rk_buf doc;
	bool json = false;
	enum rk_err err, failure = RK_OK;
	bool bad_data = false;
	int c, rc = RK_EXIT_OK;

	memset(&res, 0, sizeof(res));
	rk_buf_init(&doc, 64u << 20);
	while ((c = getopt_long(argc, argv, "f:r:jh", long_opts, NULL)) != -1) {
		switch (c) {
		case 'f': {
			/* NAME or NAME:ARG (shadowserver:scan_dns). */
			char *colon = strchr(optarg, ':');

			if (colon) {
				*colon = '\0';
				opts.format_arg = colon + 1;
			}
			if (colon && strcmp(optarg, "csv") == 0) {
				if (!*opts.format_arg)
					return app_usage("ingest: --format "
							 "csv:MAPPING wants "
							 "the mapping file");
			} else if (colon &&
				   (strcmp(optarg, "shadowserver") != 0 ||
				    !rk_name_safe(opts.format_arg))) {
				return app_usage("ingest: --format %s:%s: only "
						 "shadowserver (a report type, "
						 "shadowserver:TYPE) and csv (a "
						 "mapping file, csv:MAPPING) "
						 "take an argument",
						 optarg, colon + 1);
			} else if (!colon && strcmp(optarg, "csv") == 0) {
				return app_usage("ingest: --format csv needs "
						 "its mapping file: "
						 "--format csv:MAPPING (see "
						 "docs/ingest.md)");
			}
			/* "xarf" names the same reader as "arf". */
			if (!ingest_format_lookup(strcmp(optarg, "xarf") == 0
							  ? "arf"
							  : optarg,
						  &opts.format)) {
				struct rk_buf known;

				rk_buf_init(&known, 1024);
				if (ingest_format_names(&known))
					rc = app_usage("ingest: unknown format "
						       "'%s'",
						       optarg);
				else
					rc = app_usage("ingest: unknown format "
						       "'%s' (known: %s)",
						       optarg, known.data);
				rk_buf_release(&known);
				return rc;
			}
			break;
		}
		case 'r':
			if (!*optarg || rk_str_has_ctl(optarg, false) ||
			    strlen(optarg) > 256)
				return app_usage("ingest: --reporter wants a "
						 "name of 1 to 256 printable "
						 "characters");
			opts.reporter = optarg;
			break;
		case 'j': json = true; break;
		case 'h': return app_help(ingest_help);
		default: return app_usage("%s", INGEST_USAGE);
		}
	}
	if (optind >= argc)
		return app_usage("ingest: no input (give FILE... or - for "
				 "standard input)\n       %s",
				 INGEST_USAGE);
	opts.progress = isatty(STDERR_FILENO) == 1;
	/* One reference time for every file of the run. */
	opts.now = app->now; /* the clock read once, or --now */
	if ((err = app_store(app, &store))) {
		rc = json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
		goto cleanup;
	}

	/* every file in one bulk-insert run (the page cache and the
	 * checkpoint thread carry over); each file still commits its own */
	if ((err = store_ingest_start(store))) {
		rc = json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
		goto cleanup;
	}
	for (int i = optind; i < argc; i++) {
		err = ingest_file(store, &app->cfg, &app->log, &opts, argv[i],
				  &res);
		if (err == RK_ERR_PARSE || err == RK_ERR_LIMIT)
			bad_data = true;
		else if (err && !failure)
			failure = err;
	}
	store_ingest_end(store);

	if (json) {
		if (ingest_result_json(&res, &doc)) {
			rc = RK_EXIT_FAILURE;
			goto cleanup;
		}
		/* a failure beside the counts: the document says what */
		rc = failure ? app_json_error_doc(app, failure, NULL, &doc)
			     : app_print(&doc);
		if (failure)
			goto cleanup;
	} else {
		rc = print_summary(&res);
	}
	if (rc != RK_EXIT_OK)
		goto cleanup;
	if (failure)
		rc = rk_exit_code(failure) == RK_EXIT_TEMPFAIL ? RK_EXIT_TEMPFAIL
							       : RK_EXIT_FAILURE;
	else if (bad_data)
		rc = RK_EXIT_DATAERR;
cleanup:
	rk_buf_release(&doc);
	ingest_result_release(&res);
	return rc;
}
