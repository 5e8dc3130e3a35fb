/*
 * renraku fetch-mail [--json]: one pass over the maildir of [inbound]
 * maildir and the IMAP mailbox of [inbound] imap_url (relay/track/).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/track.h"

static const char fetch_help[] =
	"usage: renraku [--config FILE] [--db FILE] fetch-mail [--json]\n"
	"\n"
	"Take new mail from the maildir of [inbound] maildir (new/ -> cur/) and\n"
	"from the IMAP mailbox of [inbound] imap_url (imap:// or imaps://,\n"
	"user, password_file, mailbox, ca_file): every message after the last\n"
	"UID seen is stored and applied as 'renraku inbound' does, its UID\n"
	"recorded after it is stored, then it is flagged \\Seen or moved to\n"
	"[inbound] imap_done.  Safe to run twice and after a crash: a message\n"
	"stored before is recognised and not applied again.\n"
	"\n"
	"  --json  one JSON document on stdout\n"
	"  --help  this text\n"
	"\n"
	"exit codes: 0 ok, 1 failure, 75 the server or database cannot be\n"
	"reached now\n";

int cmd_fetch_mail(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct track_intake_stats st = {0, 0, 0, 0};
	struct rk_store *store;
	bool json = false;
	enum rk_err err = RK_OK;
	int c;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0)
			return app_help(fetch_help);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'j')
			return app_usage("fetch-mail [--json]");
		json = true;
	}
	if (optind != argc)
		return app_usage("fetch-mail [--json]");
	if ((err = app_store(app, &store)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (!app->cfg.inbound.maildir && !app->cfg.inbound.imap_url) {
		rk_log_error(&app->log, "fetch-mail: neither [inbound] imap_url "
					"nor [inbound] maildir is set");
		return json ? app_json_error_exit(RK_ERR_CONFIG, NULL, RK_EXIT_FAILURE)
			    : RK_EXIT_FAILURE;
	}
	if (app->cfg.inbound.maildir) {
		char *dir = NULL;

		err = rk_config_path(&app->cfg, app->cfg.inbound.maildir, &dir);
		if (!err)
			err = track_maildir(store, &app->cfg, &app->log, dir, &st);
		free(dir);
	}
	if (!err && app->cfg.inbound.imap_url)
		err = track_fetch_mail(store, &app->cfg, &app->log, &st);
	if (json) {
		json_t *doc = json_pack("{s:I, s:I, s:I, s:I}", "seen",
					(json_int_t)st.seen, "stored",
					(json_int_t)st.stored, "duplicates",
					(json_int_t)st.duplicates, "matched",
					(json_int_t)st.matched);

		if (err) {
			json_decref(doc);
			return app_json_error(app, err, NULL);
		}
		return app_print_json(doc);
	}
	if (err)
		return rk_exit_code(err);
	printf("fetch-mail: %lld message%s read, %lld stored, %lld stored before, "
	       "%lld matched a ticket\n",
	       st.seen, st.seen == 1 ? "" : "s", st.stored, st.duplicates,
	       st.matched);
	return RK_EXIT_OK;
}
