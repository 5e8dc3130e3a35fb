/*
 * renraku: incident notification relay for CSIRTs.
 * Global options, config loading and command dispatch.
 */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "renraku/mail.h"

static const char usage_text[] =
	"usage: renraku [--config FILE] [--db FILE] [-v|-q] COMMAND [ARGS]\n"
	"\n"
	"commands:\n"
	"  init        [--gen-key] create the config, database and signing key\n"
	"  ingest      [--format F] [--reporter NAME] [--json] FILE...|-\n"
	"  resolve     [--json] [--offline] IP|ASN|DOMAIN...\n"
	"  run         [--once] [--now TIME] [--offline] [--interval D] [--json]\n"
	"              resolve, aggregate, render, sign, deliver\n"
	"  tickets     list [--state S] [--json] | show ID [--json]\n"
	"              approve ID [--as NAME] | hold ID [--reason TEXT] [--as NAME]\n"
	"              retry ID [--as NAME]\n"
	"  preview     --template T --lang L --events FILE\n"
	"              --template FILE --data DATA.json [--partials DIR] [--escape html|none]\n"
	"  contacts    import DIR | check DIR\n"
	"  events      list [--state S] [--limit N] [--json]\n"
	"              retry [--state unresolved|failed] [--since DATE]\n"
	"  demo        [--out DIR] the whole pipeline on bundled samples, offline\n"
	"\n"
	"exit codes: 0 ok, 1 failure, 2 usage, 65 bad input data, 75 try again later\n";

struct command {
	const char *name;
	int (*run)(struct app *app, int argc, char **argv);
	bool needs_config_file; /* an explicit --config must exist */
};

static const struct command commands[] = {
	{"init", cmd_init, false},
	{"ingest", cmd_ingest, true},
	{"resolve", cmd_resolve, true},
	{"run", cmd_run, true},
	{"tickets", cmd_tickets, true},
	{"preview", cmd_preview, true},
	{"contacts", cmd_contacts, true},
	{"demo", cmd_demo, false},
	{"events", cmd_events, true},
};

static const char *const later_commands[] = {"ack", "inbound", "fetch-mail",
					     "stats", "serve"};

int app_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("renraku: usage: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return RK_EXIT_USAGE;
}

int app_print(const struct rk_buf *doc)
{
	if (fwrite(doc->data, 1, doc->len, stdout) != doc->len ||
	    fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return RK_EXIT_FAILURE;
	return RK_EXIT_OK;
}

enum rk_err app_db_path(const struct app *app, char **out)
{
	if (app->db_arg) {
		*out = rk_strdup(app->db_arg);
		return *out ? RK_OK : RK_ERR_NOMEM;
	}
	return rk_config_path(&app->cfg, app->cfg.store.path, out);
}

enum rk_err app_store(struct app *app, struct rk_store **out)
{
	char *path = NULL;
	enum rk_err err;

	if (!app->store) {
		if ((err = app_db_path(app, &path)))
			return err;
		err = store_open(&app->store, path, app->cfg.store.busy_timeout,
				 &app->log);
		free(path);
		if (err)
			return err;
		store_set_now(app->store, app->now);
	}
	*out = app->store;
	return RK_OK;
}

static int load_config(struct app *app, const struct command *cmd)
{
	const char *path = app->config_arg;
	enum rk_err err;

	if (!path)
		path = getenv("RENRAKU_CONFIG");
	if (!path && access("renraku.conf", F_OK) == 0)
		path = "renraku.conf";
	if (!path)
		return RK_EXIT_OK;
	if (access(path, F_OK) != 0) {
		if (!cmd->needs_config_file)
			return RK_EXIT_OK; /* init creates it */
		rk_log_error(&app->log, "config file '%s' does not exist (create one with 'renraku init')",
			     path);
		return RK_EXIT_FAILURE;
	}
	err = rk_config_load(&app->cfg, path, &app->log);
	if (err)
		return RK_EXIT_FAILURE;
	app->config_path = rk_strdup(path);
	return app->config_path ? RK_EXIT_OK : RK_EXIT_FAILURE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	struct app app;
	const struct command *cmd = NULL;
	int c, rc;

	memset(&app, 0, sizeof(app));
	app.argv0 = argv[0];
	app.now = rk_now(); /* once: every stage below is handed this */
	rk_log_init(&app.log, RK_LOG_INFO);
	/* '+': stop at the command name; its options are its own. */
	while ((c = getopt_long(argc, argv, "+c:d:vqhV", opts, NULL)) != -1) {
		switch (c) {
		case 'c': app.config_arg = optarg; break;
		case 'd': app.db_arg = optarg; break;
		case 'v': app.log.level = RK_LOG_DEBUG; break;
		case 'q': app.log.level = RK_LOG_WARN; break;
		case 'h': fputs(usage_text, stdout); return RK_EXIT_OK;
		case 'V': puts("renraku " RK_VERSION); return RK_EXIT_OK;
		default: fputs(usage_text, stderr); return RK_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		fputs(usage_text, stderr);
		return RK_EXIT_USAGE;
	}
	for (size_t i = 0; i < RK_ARRAY_LEN(commands); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd) {
		for (size_t i = 0; i < RK_ARRAY_LEN(later_commands); i++) {
			if (strcmp(argv[optind], later_commands[i]) == 0) {
				rk_log_error(&app.log, "'%s' is not available in this version of renraku",
					     argv[optind]);
				return RK_EXIT_FAILURE;
			}
		}
		return app_usage("unknown command '%s' (see 'renraku --help')",
				 argv[optind]);
	}
	if (rk_config_defaults(&app.cfg))
		return RK_EXIT_FAILURE;
	rc = load_config(&app, cmd);
	if (rc == RK_EXIT_OK) {
		mail_init();
		argv += optind;
		argc -= optind;
		optind = 0; /* reset getopt for the command's own options */
		rc = cmd->run(&app, argc, argv);
		mail_shutdown();
	}
	store_close(app.store);
	rk_config_release(&app.cfg);
	free(app.config_path);
	return rc;
}
