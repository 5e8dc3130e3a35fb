/* renraku demo [--out DIR]: the whole pipeline on the bundled samples,
 * offline, into a maildir.  Builds a throwaway home (config, database,
 * GnuPG key), imports the example contacts, ingests demo/events.jsonl,
 * runs once, and prints a table of the tickets. */
#include <errno.h>
#include <getopt.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cmd.h"
#include "renraku/ingest.h"
#include "renraku/mail.h"
#include "renraku/contacts.h"
#include "renraku/resolve.h"
#include "renraku/notify.h"
#include "renraku/pipeline.h"

#define DEMO_MARKER ".renraku-demo"

static const char demo_help[] =
	"usage: renraku demo [--out DIR]\n"
	"\n"
	"The whole pipeline on the bundled samples, offline: a throwaway home\n"
	"(config, database, GnuPG key) in DIR, the example contacts, the sample\n"
	"events, one run into DIR/maildir, and a table of the tickets.  Needs\n"
	"no configuration; --config and --db are ignored.  Samples, contacts\n"
	"and templates come from the data directory (docs/operations.md).\n"
	"\n"
	"  --out DIR   the demo home (default ./demo-out; a previous demo's is\n"
	"              replaced, any other non-empty directory refused)\n"
	"  --help      this text\n";

extern char **environ;

/* Stop the gpg-agent a throwaway home started. */
static void kill_agent(const char *home)
{
	char *args[] = {"gpgconf", "--homedir", (char *)home, "--kill", "all",
			NULL};
	pid_t pid;
	int status;

	if (posix_spawnp(&pid, "gpgconf", NULL, NULL, args, environ) == 0)
		waitpid(pid, &status, 0);
}

/* Make out a fresh demo directory: a previous demo's is replaced, any
 * other non-empty directory is refused. */
static enum rk_err prepare_out(struct app *app, const char *out)
{
	char *marker = NULL;
	enum rk_err err;

	if ((err = rk_path_join(out, DEMO_MARKER, &marker)))
		return err;
	if (access(marker, F_OK) == 0) {
		rk_rmtree(out);
	} else if (rmdir(out) != 0 && errno != ENOENT) {
		free(marker);
		return rk_fail(&app->log, RK_ERR_EXISTS,
			       "'%s' exists and is not a renraku demo directory: choose another --out",
			       out);
	}
	err = rk_mkdir_p(out, 0755);
	if (!err)
		err = rk_write_file_atomic(marker, "renraku demo\n", 13, 0644);
	free(marker);
	return err;
}

static enum rk_err write_config(const char *out, const char *gpg_home,
				const char *data_dir, char **conf_path)
{
	struct rk_buf text;
	enum rk_err err;

	rk_buf_init(&text, 8192);
	err = rk_buf_addf(&text,
		"# renraku demo configuration (made by 'renraku demo')\n"
		"[relay]\n"
		"name = Example CSIRT\n"
		"from = csirt@csirt.example\n"
		"ticket_prefix = DEMO\n"
		"public_url = https://csirt.example/renraku\n"
		"templates = %s/templates\n"
		"contacts = %s/contacts\n"
		"\n[store]\npath = renraku.db\n"
		"\n[gpg]\nhome = %s\nmode = pgp-mime\n"
		"\n[transport]\nurl = maildir:maildir\n"
		"\n[aggregate]\nwindow = 0\n",
		data_dir, data_dir, gpg_home);
	if (!err)
		err = rk_path_join(out, "renraku.conf", conf_path);
	if (!err)
		err = rk_write_file_atomic(*conf_path, text.data, text.len, 0600);
	rk_buf_release(&text);
	return err;
}

static enum rk_err import_contacts(struct app *app, struct rk_store *store,
				   const char *dir)
{
	struct contacts_set set;
	enum rk_err err;

	memset(&set, 0, sizeof(set));
	err = contacts_read_dir(dir, app->now, &app->log, &set);
	if (!err && set.nproblems) {
		for (size_t i = 0; i < set.nproblems; i++)
			rk_log_error(&app->log, "%s/%s:%lld: %s", dir,
				     set.problems[i].file, set.problems[i].line,
				     set.problems[i].reason);
		err = RK_ERR_PARSE;
	}
	if (!err)
		err = store_contacts_replace(store, set.contacts, set.ncontacts,
					     set.supps, set.nsupps);
	if (!err)
		printf("contacts: %zu entries, %zu suppression rule%s from %s\n",
		       set.ncontacts, set.nsupps, set.nsupps == 1 ? "" : "s", dir);
	contacts_set_release(&set);
	return err;
}

static enum rk_err ingest_samples(struct app *app, struct rk_store *store,
				  const char *path)
{
	/* The bundled samples are from 2026-11-20: their age ([ingest]
	 * max_age) is judged from the next day, so the demo keeps working. */
	struct ingest_options opts = {INGEST_FORMAT_INTELMQ, "demo", false,
				      1795219200 /* 2026-11-21T00:00:00Z */};
	struct ingest_result res;
	enum rk_err err;

	memset(&res, 0, sizeof(res));
	err = ingest_file(store, &app->cfg, &app->log, &opts, path, &res);
	if (!err)
		printf("ingest: %lld events from %s (%lld duplicate%s, %lld rejected)\n",
		       res.events, path, res.duplicates,
		       res.duplicates == 1 ? "" : "s", res.rejected);
	ingest_result_release(&res);
	return err;
}

static void print_table(struct rk_store *store, const char *out)
{
	struct store_ticket *rows = NULL;
	size_t n = 0, outlen = strlen(out);
	int width = 7;

	if (store_tickets_list(store, NULL, &rows, &n) != RK_OK)
		return;
	for (size_t i = 0; i < n; i++)
		if ((int)strlen(rows[i].contact) > width)
			width = (int)strlen(rows[i].contact);
	printf("\n%-16s  %-*s  %-4s  %6s  %-8s  %s\n", "TICKET", width,
	       "CONTACT", "LANG", "EVENTS", "STATE", "FILE");
	for (size_t i = n; i-- > 0;) {
		struct store_message *msgs = NULL;
		size_t nmsgs = 0;
		const char *file = rows[i].hold_reason ? rows[i].hold_reason : "-";
		char held[512];

		if (rows[i].hold_reason) {
			snprintf(held, sizeof(held), "- (%s)", rows[i].hold_reason);
			file = held;
		}

		if (store_ticket_messages(store, rows[i].id, &msgs, &nmsgs) ==
			    RK_OK &&
		    nmsgs && msgs[nmsgs - 1].location) {
			file = msgs[nmsgs - 1].location;
			if (strncmp(file, out, outlen) == 0 && file[outlen] == '/')
				file += outlen + 1;
		}
		printf("%-16s  %-*s  %-4s  %6lld  %-8s  %s\n", rows[i].id,
		       width, rows[i].contact, rows[i].lang, rows[i].event_count,
		       rows[i].state, file);
		store_messages_free(msgs, nmsgs);
	}
	store_tickets_free(rows, n);
}

int cmd_demo(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"out", required_argument, NULL, 'o'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct pipeline_options po = {.offline = true};
	struct pipeline_stats stats;
	struct rk_store *store;
	struct rk_buf key;
	char gpg_tmpl[] = "/tmp/rk-demo.XXXXXX";
	char *gpg_home = NULL, *conf = NULL, *keyfile = NULL, *out = NULL;
	char *contacts = NULL, *events = NULL, fpr[41];
	char *data_dir = NULL, *verify = NULL;
	const char *out_arg = "demo-out", *argv0 = app->argv0;
	enum rk_err err;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'h')
			return app_help(demo_help);
		if (c != 'o')
			return app_usage("demo [--out DIR]");
		out_arg = optarg;
	}
	if (optind < argc || !*out_arg)
		return app_usage("demo [--out DIR]");
	rk_buf_init(&key, 1 << 20);
	memset(&stats, 0, sizeof(stats));
	/* The table says what happened; per-message lines only with -v. */
	if (app->log.level == RK_LOG_INFO)
		app->log.level = RK_LOG_WARN;
	if ((err = rk_data_dir(&data_dir)) || (err = prepare_out(app, out_arg)))
		goto cleanup;
	out = realpath(out_arg, NULL);
	gpg_home = mkdtemp(gpg_tmpl);
	if (!out || !gpg_home) {
		err = rk_fail(&app->log, RK_ERR_IO, "cannot set up the demo home: %s",
			      strerror(errno));
		goto cleanup;
	}
	if ((err = write_config(out, gpg_home, data_dir, &conf)))
		goto cleanup;
	rk_config_release(&app->cfg);
	if ((err = rk_config_defaults(&app->cfg)) ||
	    (err = rk_config_load(&app->cfg, conf, &app->log)))
		goto cleanup;
	/* the demo's own home: --config and --db do not apply */
	app->config_loaded = true;
	app->create_db = true;
	app->db_arg = NULL;
	if ((err = app_store(app, &store)))
		goto cleanup;
	printf("demo home: %s (GnuPG home %s, removed at the end)\n", out,
	       gpg_home);

	if ((err = mail_gen_key(gpg_home, app->cfg.relay.name,
				  app->cfg.relay.from, fpr, &app->log)) ||
	    (err = mail_export_key(gpg_home, fpr, &key, &app->log)) ||
	    (err = rk_path_join(out, "signing-key.asc", &keyfile)) ||
	    (err = rk_write_file_atomic(keyfile, key.data, key.len, 0644)))
		goto cleanup;
	printf("signing key: %s (public key in %s/signing-key.asc)\n", fpr,
	       out_arg);

	if ((err = rk_path_join(data_dir, "contacts", &contacts)) ||
	    (err = import_contacts(app, store, contacts)) ||
	    (err = rk_path_join(data_dir, "demo/events.jsonl", &events)) ||
	    (err = ingest_samples(app, store, events)))
		goto cleanup;

	po.now = app->now;
	if ((err = pipeline_run_once(store, &app->cfg, &app->log, &po, &stats)))
		goto cleanup;
	printf("run: %lld events: %lld ticketed, %lld suppressed, %lld withheld "
	       "(TLP:RED), %lld without a contact; %lld tickets; %lld notices "
	       "signed and delivered, %lld held for review\n",
	       stats.resolve.seen, stats.tickets.ticketed,
	       stats.resolve.suppressed, stats.resolve.withheld,
	       stats.resolve.unresolved, stats.tickets.tickets_created,
	       stats.sent, stats.notify.held);
	print_table(store, out);
	printf("\nmessages: %s/maildir/new/ (one file per notice, as sent: CRLF)\n",
	       out_arg);
	/* installed beside the data, or in the source tree */
	if ((err = rk_path_join(data_dir, "verify_mail.py", &verify)))
		goto cleanup;
	if (access(verify, F_OK) != 0) {
		free(verify);
		if ((err = rk_path_join(data_dir, "tests/integration/verify_mail.py",
					&verify)))
			goto cleanup;
	}
	printf("verify:   /usr/bin/python3 %s "
	       "--key %s/signing-key.asc %s/maildir/new/*\n",
	       verify, out_arg, out_arg);
	printf("inspect:  %s --config %s/renraku.conf tickets list\n",
	       argv0 ? argv0 : "renraku", out_arg);
cleanup:
	if (gpg_home) {
		kill_agent(gpg_home);
		rk_rmtree(gpg_home);
	}
	rk_buf_release(&key);
	free(out);
	free(conf);
	free(keyfile);
	free(contacts);
	free(events);
	free(data_dir);
	free(verify);
	if (err)
		rk_log_error(&app->log, "demo failed: %s", rk_strerror(err));
	return rk_exit_code(err);
}
