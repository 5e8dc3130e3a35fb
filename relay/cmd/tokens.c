/* renraku tokens add NAME --scope S[,S...] | list [--json] | revoke NAME|ID */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/track.h"

static const char tokens_help[] =
	"usage: renraku [--config FILE] [--db FILE] tokens COMMAND\n"
	"\n"
	"Bearer tokens for the HTTP API of 'renraku serve', one or more per\n"
	"reporter.  Only the SHA-256 of a token is stored: add prints it once.\n"
	"\n"
	"  tokens add NAME [--scope S,...]  issue a token to reporter NAME;\n"
	"                                   scopes: submit (POST /v1/reports),\n"
	"                                   read (GET /v1/...), admin (all,\n"
	"                                   and POST /v1/tickets/ID/ack);\n"
	"                                   default submit\n"
	"  tokens list [--json]             every token: id, reporter, scopes,\n"
	"                                   created, revoked, last used\n"
	"  tokens revoke NAME|ID            revoke one token (by id) or every\n"
	"                                   token of reporter NAME\n"
	"\n"
	"  --help                           this text\n"
	"\n"
	"exit codes: 0 ok, 1 failure, 2 usage, 65 nothing to revoke\n";

bool api_scopes_valid(const char *scopes)
{
	const char *p = scopes;

	if (!*p || strlen(p) > 63)
		return false;
	while (*p) {
		size_t n = strcspn(p, ",");

		if (!((n == 6 && strncmp(p, "submit", 6) == 0) ||
		      (n == 4 && strncmp(p, "read", 4) == 0) ||
		      (n == 5 && strncmp(p, "admin", 5) == 0)))
			return false;
		p += n;
		if (*p == ',' && !*++p)
			return false;
	}
	return true;
}

bool api_scopes_allow(const char *scopes, const char *scope)
{
	size_t want = strlen(scope);
	const char *p = scopes;

	while (*p) {
		size_t n = strcspn(p, ",");

		if ((n == want && strncmp(p, scope, n) == 0) ||
		    (n == 5 && strncmp(p, "admin", 5) == 0))
			return true;
		p += n;
		if (*p == ',')
			p++;
	}
	return false;
}

static int tokens_add(struct app *app, struct rk_store *store,
		      const char *name, const char *scopes)
{
	char token[4 + 64 + 1] = "rk_", hash[65];
	int64_t id = 0;
	enum rk_err err;

	if (!*name || strlen(name) > 256 || rk_str_has_ctl(name, false))
		return app_usage("tokens add: NAME is 1 to 256 printable characters");
	if (!api_scopes_valid(scopes))
		return app_usage("tokens add: --scope takes submit, read and "
				 "admin, comma-separated");
	if ((err = rk_random_hex(token + 3, 32)) ||
	    (err = track_token_hash(token, hash)))
		return rk_exit_code(err);
	store_set_now(store, app->now);
	if ((err = store_begin(store)))
		return rk_exit_code(err);
	if ((err = store_api_token_add(store, name, hash, scopes, &id)) ||
	    (err = store_audit(store, operator_name(NULL) ? operator_name(NULL)
							  : "cli",
			       "token-add", name, scopes)) ||
	    (err = store_commit(store))) {
		store_rollback(store);
		return rk_exit_code(err);
	}
	rk_log_info(&app->log, "token %lld for '%s' (%s); it is shown once",
		    (long long)id, name, scopes);
	printf("%s\n", token);
	return fflush(stdout) ? RK_EXIT_FAILURE : RK_EXIT_OK;
}

static int tokens_list(struct app *app, struct rk_store *store, bool json)
{
	struct store_api_token *rows = NULL;
	size_t n = 0;
	enum rk_err err = store_api_tokens_list(store, &rows, &n);
	json_t *arr = json ? json_array() : NULL;

	if (err)
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (!json && n)
		printf("%-5s  %-20s  %-10s  %-20s  %s\n", "ID", "REPORTER",
		       "SCOPES", "CREATED", "STATE");
	for (size_t i = 0; i < n; i++) {
		char created[RK_TIME_TEXT], revoked[RK_TIME_TEXT],
			used[RK_TIME_TEXT];

		rk_time_format_iso(rows[i].created_at, created);
		rk_time_format_iso(rows[i].revoked_at, revoked);
		rk_time_format_iso(rows[i].last_used_at, used);
		if (json)
			json_array_append_new(
				arr, json_pack("{s:I, s:s, s:s, s:s, s:s?, s:s?}",
					       "id", (json_int_t)rows[i].id,
					       "reporter", rows[i].reporter,
					       "scopes", rows[i].scopes,
					       "created_at", created,
					       "revoked_at",
					       rows[i].revoked_at ? revoked : NULL,
					       "last_used_at",
					       rows[i].last_used_at ? used : NULL));
		else
			printf("%-5lld  %-20s  %-10s  %-20s  %s%s\n",
			       (long long)rows[i].id, rows[i].reporter,
			       rows[i].scopes, created,
			       rows[i].revoked_at ? "revoked " : "valid",
			       rows[i].revoked_at ? revoked : "");
	}
	store_api_tokens_free(rows, n);
	if (json)
		return app_print_json(arr);
	if (!n)
		rk_log_info(&app->log, "no API tokens (renraku tokens add NAME)");
	return RK_EXIT_OK;
}

static int tokens_revoke(struct app *app, struct rk_store *store,
			 const char *what)
{
	char *end = NULL;
	long long id = strtoll(what, &end, 10);
	long long count = 0;
	enum rk_err err;

	if (!end || *end || id <= 0)
		id = 0;
	store_set_now(store, app->now);
	if ((err = store_begin(store)))
		return rk_exit_code(err);
	if ((err = store_api_token_revoke(store, id, what, &count)) ||
	    (count && (err = store_audit(store, operator_name(NULL)
						       ? operator_name(NULL)
						       : "cli",
					 "token-revoke", what, NULL))) ||
	    (err = store_commit(store))) {
		store_rollback(store);
		return rk_exit_code(err);
	}
	if (!count) {
		rk_log_error(&app->log, "tokens revoke: no valid token '%s'", what);
		return RK_EXIT_DATAERR;
	}
	rk_log_info(&app->log, "revoked %lld token%s", count, count == 1 ? "" : "s");
	return RK_EXIT_OK;
}

int cmd_tokens(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"scope", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *scopes = "submit";
	struct rk_store *store;
	bool json = false;
	enum rk_err err;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': scopes = optarg; break;
		case 'j': json = true; break;
		case 'h': return app_help(tokens_help);
		default: return app_usage("tokens add NAME [--scope S,...] | list [--json] | revoke NAME|ID");
		}
	}
	if (optind >= argc)
		return app_usage("tokens add NAME [--scope S,...] | list [--json] | revoke NAME|ID");
	if (strcmp(argv[optind], "add") != 0 && strcmp(argv[optind], "list") != 0 &&
	    strcmp(argv[optind], "revoke") != 0)
		return app_usage("tokens: unknown command '%s' (add, list, revoke)",
				 argv[optind]);
	if (strcmp(argv[optind], "list") != 0 && optind + 2 != argc)
		return app_usage("tokens %s takes one NAME", argv[optind]);
	if (strcmp(argv[optind], "list") == 0 && optind + 1 != argc)
		return app_usage("tokens list takes no arguments");
	if ((err = app_store(app, &store)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (strcmp(argv[optind], "add") == 0)
		return tokens_add(app, store, argv[optind + 1], scopes);
	if (strcmp(argv[optind], "list") == 0)
		return tokens_list(app, store, json);
	return tokens_revoke(app, store, argv[optind + 1]);
}
