/* The command-line edge: global options, the application context, and
 * one cmd_<name>() per command (relay/cmd/<name>.c).  Commands return a
 * process exit code (rk_exit_code maps errors at this edge only). */
#ifndef RENRAKU_CMD_H
#define RENRAKU_CMD_H

#include <jansson.h>

#include "renraku/config.h"
#include "renraku/core.h"
#include "renraku/store.h"

struct app {
	struct rk_log log;
	struct rk_config cfg;
	const char *config_arg; /* --config as given, NULL = none */
	const char *db_arg;     /* --db as given, NULL = none */
	char *config_path;      /* the config file in use, NULL = none yet */
	bool config_loaded;     /* cfg holds config_path's settings */
	bool create_db;         /* app_store may create the database (init) */
	struct rk_store *store; /* opened by app_store(), closed by main */
	const char *argv0;      /* how the program was invoked */
	int64_t now;            /* the time this command runs as: the clock
				   read once at start, or --now */
	bool now_fixed;         /* --now was given: the daemon keeps it */
	char failure[1024];     /* the last error logged (without the
				 * "renraku: error: "), for app_json_error */
	char log_line[1024];    /* the log line being written */
	size_t log_line_len;
};

/* Point app->log at a stream that writes to stderr and keeps the last
 * error line in app->failure (main; the stream is closed by main). */
FILE *app_log_open(struct app *app);

/* Find and load the configuration on first call: --config, else
 * $RENRAKU_CONFIG, else ./renraku.conf.  A missing file is an error that
 * names the path and hints at 'renraku init' (logged, and kept in
 * app->failure). */
enum rk_err app_config(struct app *app);
/* Open the database (--db, else [store] path relative to the config
 * file) on first call; later calls return the same store.  Needs the
 * configuration (app_config); a database file that does not exist is
 * refused unless app->create_db (only init sets it).  *out is borrowed
 * until main closes it. */
enum rk_err app_store(struct app *app, struct rk_store **out);
/* The database path in use (caller frees). */
enum rk_err app_db_path(const struct app *app, char **out);

/* Print "renraku: usage: ..." to stderr; returns RK_EXIT_USAGE. */
int app_usage(const char *fmt, ...) RK_PRINTF(1, 2);
/* Print a command's --help text (borrowed) to stdout; returns
 * RK_EXIT_OK, or RK_EXIT_FAILURE when stdout cannot be written. */
int app_help(const char *text);

/* Print doc (owned: freed) indented to stdout; RK_EXIT_OK, or
 * RK_EXIT_FAILURE when doc is NULL or stdout cannot be written. */
struct json_t;
int app_print_json(struct json_t *doc);
/* Write a JSON/text document to stdout followed by a newline. */
int app_print(const struct rk_buf *doc);

/* With --json, a failure still prints one document on stdout:
 *   {"error":{"code":"db","message":"...","exit":1}}
 * code names err (rk_err_code_name), exit is the process exit code
 * returned, message is what (borrowed; NULL = app->failure, else the
 * error's text).  Returns the exit code. */
int app_json_error(const struct app *app, enum rk_err err, const char *what);
/* The same, added as "error" to the JSON object in doc (a command's
 * partial result, borrowed) and printed; a doc that is not an object
 * is replaced by the error document. */
int app_json_error_doc(const struct app *app, enum rk_err err,
		       const char *what, const struct rk_buf *doc);
/* The same for a usage error (exit 2, code "usage"). */
int app_json_usage(const char *what);
/* The same with an exit code other than rk_exit_code(err) (what is
 * required here). */
int app_json_error_exit(enum rk_err err, const char *what, int exit_code);
/* A short stable name for an error ("db", "busy", "config", ...). */
const char *app_err_code(enum rk_err err);

int cmd_init(struct app *app, int argc, char **argv);
int cmd_ingest(struct app *app, int argc, char **argv);
int cmd_resolve(struct app *app, int argc, char **argv);
int cmd_run(struct app *app, int argc, char **argv);
int cmd_ack(struct app *app, int argc, char **argv);
/* contacts stats ADDR|ASN [--json] (argv[0] = "stats") */
int contacts_stats(struct app *app, int argc, char **argv);
int cmd_tickets(struct app *app, int argc, char **argv);
int cmd_preview(struct app *app, int argc, char **argv);
int cmd_contacts(struct app *app, int argc, char **argv);
int cmd_demo(struct app *app, int argc, char **argv);
int cmd_events(struct app *app, int argc, char **argv);
int cmd_schema(struct app *app, int argc, char **argv);
int cmd_bootstrap(struct app *app, int argc, char **argv);
int cmd_inbound(struct app *app, int argc, char **argv);
int cmd_fetch_mail(struct app *app, int argc, char **argv);
int cmd_tokens(struct app *app, int argc, char **argv);
int cmd_serve(struct app *app, int argc, char **argv);

/* API tokens (tokens.c; hashed with track_token_hash): a scope list
 * ("submit,read") that names only submit, read and admin; whether
 * scopes grant scope (admin grants every scope). */
bool api_scopes_valid(const char *scopes);
bool api_scopes_allow(const char *scopes, const char *scope);

/* One ticket as `tickets show --json` and GET /v1/tickets/ID print it
 * (full: chain, messages, events, timeline); `tickets list --json` and
 * GET /v1/tickets use full = false (tickets.c).  Caller decrefs; NULL
 * when it cannot be read. */
json_t *ticket_json(struct rk_store *store, const struct rk_config *cfg,
		    const struct store_ticket *t, bool full);

int cmd_stats(struct app *app, int argc, char **argv);

/* One inbound message as JSON (inbound.c; for inbound list and tickets
 * show).  Caller owns the result; NULL when out of memory. */
json_t *inbound_json(const struct store_inbound *in);

/* preview --template T --lang L --events FILE: render the notice for the
 * events in FILE (IntelMQ JSON) as the run would (preview_events.c). */
int preview_events(struct app *app, const char *template_name,
		   const char *lang, const char *events_path);

/* Who decides (tickets.c): --as NAME, else the operator behind sudo,
 * else the login name; NULL when none is usable.  Borrowed. */
const char *operator_name(const char *as);

#endif
