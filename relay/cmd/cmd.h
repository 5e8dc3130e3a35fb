/* The command-line edge: global options, the application context, and
 * one cmd_<name>() per command (relay/cmd/<name>.c).  Commands return a
 * process exit code (rk_exit_code maps errors at this edge only). */
#ifndef RENRAKU_CMD_H
#define RENRAKU_CMD_H

#include "renraku/config.h"
#include "renraku/core.h"
#include "renraku/store.h"

struct app {
	struct rk_log log;
	struct rk_config cfg;
	const char *config_arg; /* --config as given, NULL = none */
	const char *db_arg;     /* --db as given, NULL = none */
	char *config_path;      /* the config file in use, NULL = defaults */
	struct rk_store *store; /* opened by app_store(), closed by main */
	const char *argv0;      /* how the program was invoked */
	int64_t now;            /* the time this command runs as: the clock
				   read once at start, or `run --now` */
};

/* Open the database (--db, else [store] path relative to the config
 * file) on first call; later calls return the same store. */
enum rk_err app_store(struct app *app, struct rk_store **out);
/* The database path in use (caller frees). */
enum rk_err app_db_path(const struct app *app, char **out);

/* Print "renraku: usage: ..." to stderr; returns RK_EXIT_USAGE. */
int app_usage(const char *fmt, ...) RK_PRINTF(1, 2);

/* Write a JSON/text document to stdout followed by a newline. */
int app_print(const struct rk_buf *doc);

int cmd_init(struct app *app, int argc, char **argv);
int cmd_ingest(struct app *app, int argc, char **argv);
int cmd_resolve(struct app *app, int argc, char **argv);
int cmd_run(struct app *app, int argc, char **argv);
int cmd_tickets(struct app *app, int argc, char **argv);
int cmd_preview(struct app *app, int argc, char **argv);
int cmd_contacts(struct app *app, int argc, char **argv);
int cmd_demo(struct app *app, int argc, char **argv);
int cmd_events(struct app *app, int argc, char **argv);

/* preview --template T --lang L --events FILE: render the notice for the
 * events in FILE (IntelMQ JSON) as the run would (preview_events.c). */
int preview_events(struct app *app, const char *template_name,
		   const char *lang, const char *events_path);

#endif
