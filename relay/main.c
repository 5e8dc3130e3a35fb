/*
 * renraku: incident notification relay for CSIRTs.
 * Global options, config loading and command dispatch.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "renraku/mail.h"

/* Every command and every option a command takes; test_cli_help.sh
 * checks that each long option of the commands appears here. */
static const char usage_text[] =
	"usage: renraku [--config FILE] [--db FILE] [-v|--verbose] [-q|--quiet] COMMAND [ARGS]\n"
	"       renraku --help | --version\n"
	"\n"
	"global options:\n"
	"  --config FILE  configuration (default $RENRAKU_CONFIG, else ./renraku.conf)\n"
	"  --db FILE      database (default [store] path of the configuration)\n"
	"  -v, --verbose  debug messages;  -q, --quiet  warnings and errors only\n"
	"  --help         this text (COMMAND --help: the command's own)\n"
	"  --version      the version\n"
	"  --now TIME     act as of TIME (2026-12-01T10:00:00Z) instead of the\n"
	"                 clock: replays and tests\n"
	"\n"
	"commands:\n"
	"  init        [--gen-key] [--name NAME] [--from ADDR] [--force]\n"
	"              create the config, database and signing key\n"
	"  ingest      [--format auto|intelmq|shadowserver[:TYPE]|arf|iodef|csv:MAPPING]\n"
	"              [--reporter NAME] [--json] FILE...|-\n"
	"  resolve     [--json] [--explain] [--offline] IP|ASN|DOMAIN...\n"
	"  run         [--once] [--now TIME] [--offline] [--interval DURATION] [--json]\n"
	"              resolve, aggregate, follow up (reminders, escalation),\n"
	"              render, sign, deliver\n"
	"  tickets     list [--state S] [--json] | show ID [--json] | show ID --raw\n"
	"              approve ID...|--all-held [--contact ADDR] [--template T]\n"
	"              [--level N] [--cleartext] [--as NAME]\n"
	"              hold ID [--reason TEXT] [--as NAME] | retry ID [--as NAME]\n"
	"  ack         ID|--token TOKEN --status received|resolved|disputed\n"
	"              [--note TEXT] [--as NAME]: the recipient answered\n"
	"  preview     --template T --lang L --events FILE\n"
	"              --template FILE --data DATA.json [--partials DIR] [--escape html|none]\n"
	"  contacts    import [--json] DIR | check [--json] DIR | failing | clear ADDR\n"
	"              stats ADDR|ASN [--json]: how a contact answers\n"
	"  events      list [--state S] [--report ID] [--limit N] [--json]\n"
	"              retry [--state unresolved|failed] [--since DATE]\n"
	"  inbound     [--json] [FILE|-] | list [--unmatched] [--json]\n"
	"              | assign [--as NAME] MSG TICKET\n"
	"              store, classify and apply one inbound message (MTA pipe)\n"
	"  fetch-mail  [--json] take new mail from [inbound] maildir and imap_url\n"
	"  schema      update FILE: check and install a new Shadowserver schema\n"
	"  bootstrap   update: refresh the RDAP bootstrap from [resolve] bootstrap_url\n"
	"  serve       [--offline] [--listen ADDR:PORT] [--interval DURATION]\n"
	"              HTTP API, acknowledgement pages and the scheduler\n"
	"  tokens      add NAME [--scope submit,read,admin] | list [--json]\n"
	"              | revoke NAME|ID: bearer tokens of the HTTP API\n"
	"  stats       [--quarter YYYYQN | --since DATE [--until DATE]] [--lang en|ja]\n"
	"              [--min-notices N] [--json | --csv DIR | --html FILE]\n"
	"              the quarterly report: counts, response, networks, charts\n"
"  demo        [--out DIR] the whole pipeline on bundled samples, offline\n"
	"\n"
	"Every command but init, demo, contacts check and preview --data needs a\n"
	"configuration and a database: create them with 'renraku init'.\n"
	"\n"
	"exit codes: 0 ok, 1 failure, 2 usage, 65 bad input data, 75 try again later\n";

struct command {
	const char *name;
	int (*run)(struct app *app, int argc, char **argv);
};

static const struct command commands[] = {
	{"init", cmd_init},         {"ingest", cmd_ingest},
	{"resolve", cmd_resolve},   {"run", cmd_run},
	{"tickets", cmd_tickets},   {"preview", cmd_preview},
	{"contacts", cmd_contacts}, {"demo", cmd_demo},
	{"events", cmd_events},     {"schema", cmd_schema},
	{"bootstrap", cmd_bootstrap},
	{"ack", cmd_ack},
	{"inbound", cmd_inbound},   {"fetch-mail", cmd_fetch_mail},
	{"tokens", cmd_tokens},     {"serve", cmd_serve},
	{"stats", cmd_stats},
};

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

int app_help(const char *text)
{
	if (fputs(text, stdout) == EOF || fflush(stdout) != 0)
		return RK_EXIT_FAILURE;
	return RK_EXIT_OK;
}

int app_print(const struct rk_buf *doc)
{
	if (fwrite(doc->data, 1, doc->len, stdout) != doc->len ||
	    fputc('\n', stdout) == EOF || fflush(stdout) != 0)
		return RK_EXIT_FAILURE;
	return RK_EXIT_OK;
}

const char *app_err_code(enum rk_err err)
{
	switch (err) {
	case RK_OK: return "ok";
	case RK_ERR_NOMEM: return "nomem";
	case RK_ERR_IO: return "io";
	case RK_ERR_USAGE: return "usage";
	case RK_ERR_CONFIG: return "config";
	case RK_ERR_PARSE: return "parse";
	case RK_ERR_LIMIT: return "limit";
	case RK_ERR_INVAL: return "invalid";
	case RK_ERR_NOTFOUND: return "not-found";
	case RK_ERR_EXISTS: return "exists";
	case RK_ERR_DB: return "db";
	case RK_ERR_DB_NEWER: return "db-newer";
	case RK_ERR_BUSY: return "busy";
	case RK_ERR_TEMPLATE: return "template";
	case RK_ERR_GPG: return "gpg";
	case RK_ERR_MIME: return "mime";
	case RK_ERR_TRANSPORT: return "transport";
	case RK_ERR_TEMPFAIL: return "tempfail";
	case RK_ERR_INTERNAL: return "internal";
	case RK_ERR_UNSUPPORTED: return "unsupported";
	case RK_ERR_TRANSITION: return "transition";
	}
	return "unknown";
}

static json_t *error_object(const char *code, const char *message,
			    int exit_code)
{
	return json_pack("{s:s, s:s, s:i}", "code", code, "message", message,
			 "exit", exit_code);
}

static int print_json(json_t *doc, int exit_code)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;

	if (text) {
		puts(text);
		fflush(stdout);
	}
	free(text);
	json_decref(doc);
	return exit_code;
}

int app_print_json(json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_INDENT(2)) : NULL;
	int rc = text && puts(text) >= 0 && fflush(stdout) == 0
			 ? RK_EXIT_OK
			 : RK_EXIT_FAILURE;

	free(text);
	json_decref(doc);
	return rc;
}

/* what, or the kept failure, or the error's text: valid UTF-8 */
static const char *error_text(const struct app *app, enum rk_err err,
			      const char *what)
{
	if (!what)
		what = app->failure[0] ? app->failure : rk_strerror(err);
	return rk_utf8_valid(what, strlen(what)) ? what : rk_strerror(err);
}

int app_json_error(const struct app *app, enum rk_err err, const char *what)
{
	int exit_code;

	if (!err)
		err = RK_ERR_INTERNAL;
	exit_code = (int)rk_exit_code(err);
	return print_json(json_pack("{s:o}", "error",
				    error_object(app_err_code(err),
						 error_text(app, err, what),
						 exit_code)),
			  exit_code);
}

int app_json_error_doc(const struct app *app, enum rk_err err,
		       const char *what, const struct rk_buf *doc)
{
	json_t *o = json_loadb(doc->data, doc->len, 0, NULL);
	int exit_code;

	if (!json_is_object(o)) {
		json_decref(o);
		return app_json_error(app, err, what);
	}
	if (!err)
		err = RK_ERR_INTERNAL;
	exit_code = (int)rk_exit_code(err);
	json_object_set_new(o, "error",
			    error_object(app_err_code(err),
					 error_text(app, err, what), exit_code));
	return print_json(o, exit_code);
}

int app_json_error_exit(enum rk_err err, const char *what, int exit_code)
{
	if (!rk_utf8_valid(what, strlen(what)))
		what = rk_strerror(err);
	return print_json(json_pack("{s:o}", "error",
				    error_object(app_err_code(err), what,
						 exit_code)),
			  exit_code);
}

int app_json_usage(const char *what)
{
	if (!rk_utf8_valid(what, strlen(what)))
		what = "bad command line";
	return print_json(json_pack("{s:o}", "error",
				    error_object("usage", what, RK_EXIT_USAGE)),
			  RK_EXIT_USAGE);
}

/* The log stream: everything goes on to stderr as it comes; each error
 * line is kept, so that a --json failure document says what failed. */
static ssize_t log_write(void *cookie, const char *data, size_t len)
{
	static const char prefix[] = "renraku: error: ";
	struct app *app = cookie;

	if (fwrite(data, 1, len, stderr) != len)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (app->log_line_len + 1 < sizeof(app->log_line))
				app->log_line[app->log_line_len++] = data[i];
			continue;
		}
		app->log_line[app->log_line_len] = '\0';
		if (strncmp(app->log_line, prefix, sizeof(prefix) - 1) == 0)
			snprintf(app->failure, sizeof(app->failure), "%s",
				 app->log_line + sizeof(prefix) - 1);
		app->log_line_len = 0;
	}
	fflush(stderr);
	return (ssize_t)len;
}

FILE *app_log_open(struct app *app)
{
	cookie_io_functions_t io = {.write = log_write};
	FILE *f = fopencookie(app, "w", io);

	if (f)
		app->log.stream = f;
	return f;
}

/* Log a failure (app->failure keeps it through the log stream). */
static enum rk_err app_fail(struct app *app, enum rk_err err,
			    const char *fmt, ...) RK_PRINTF(3, 4);
static enum rk_err app_fail(struct app *app, enum rk_err err,
			    const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	rk_log_error(&app->log, "%s", text);
	return err;
}

enum rk_err app_db_path(const struct app *app, char **out)
{
	if (app->db_arg) {
		*out = rk_strdup(app->db_arg);
		return *out ? RK_OK : RK_ERR_NOMEM;
	}
	return rk_config_path(&app->cfg, app->cfg.store.path, out);
}

enum rk_err app_config(struct app *app)
{
	const char *path = app->config_arg, *how = "--config";
	enum rk_err err;

	if (app->config_loaded)
		return RK_OK;
	if (!path || !*path) {
		path = getenv("RENRAKU_CONFIG");
		how = "$RENRAKU_CONFIG";
	}
	if (!path || !*path) {
		if (access("renraku.conf", F_OK) != 0)
			return app_fail(app, RK_ERR_CONFIG,
					"no configuration: no --config FILE, no "
					"$RENRAKU_CONFIG and no ./renraku.conf "
					"(create one with 'renraku init')");
		path = "renraku.conf";
		how = NULL;
	}
	if (access(path, F_OK) != 0)
		return app_fail(app, RK_ERR_CONFIG,
				"config file '%s'%s%s%s does not exist (create it "
				"with 'renraku --config %s init')",
				path, how ? " (from " : "", how ? how : "",
				how ? ")" : "", path);
	/* rk_config_load logs FILE:LINE itself */
	err = rk_config_load(&app->cfg, path, &app->log);
	if (err)
		return err;
	free(app->config_path);
	if (!(app->config_path = rk_strdup(path)))
		return RK_ERR_NOMEM;
	app->config_loaded = true;
	return RK_OK;
}

enum rk_err app_store(struct app *app, struct rk_store **out)
{
	char *path = NULL;
	enum rk_err err;

	if (!app->store) {
		if ((err = app_config(app)) || (err = app_db_path(app, &path)))
			return err;
		if (!app->create_db && access(path, F_OK) != 0) {
			if (app->db_arg)
				err = app_fail(app, RK_ERR_NOTFOUND,
					       "database '%s' (--db) does not exist "
					       "(create it with 'renraku --db %s init')",
					       path, path);
			else
				err = app_fail(app, RK_ERR_NOTFOUND,
					       "database '%s' ([store] path in '%s') "
					       "does not exist (create it with "
					       "'renraku --config %s init')",
					       path, app->config_path,
					       app->config_path);
			free(path);
			return err;
		}
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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"config", required_argument, NULL, 'c'},
		{"db", required_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{"quiet", no_argument, NULL, 'q'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{"now", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	struct app app;
	const struct command *cmd = NULL;
	FILE *log_stream;
	int c, rc;

	store_library_init();
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
		case 'h': return app_help(usage_text);
		case 'V': puts("renraku " RK_VERSION); return RK_EXIT_OK;
		case 'n':
			if (rk_time_parse(optarg, &app.now) != RK_OK)
				return app_usage("--now takes a time like 2026-12-01T10:00:00Z");
			app.now_fixed = true;
			break;
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
		return app_usage("unknown command '%s' (see 'renraku --help')",
				 argv[optind]);
	}
	if (rk_config_defaults(&app.cfg))
		return RK_EXIT_FAILURE;
	log_stream = app_log_open(&app); /* NULL: plain stderr */
	/* The configuration is loaded by the command when it needs one
	 * (app_config, app_store): --help and contacts check work without. */
	mail_init();
	argv += optind;
	argc -= optind;
	optind = 0; /* reset getopt for the command's own options */
	rc = cmd->run(&app, argc, argv);
	mail_shutdown();
	store_close(app.store);
	rk_config_release(&app.cfg);
	free(app.config_path);
	if (log_stream)
		fclose(log_stream);
	return rc;
}
