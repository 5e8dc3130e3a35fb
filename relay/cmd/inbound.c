/*
 * renraku inbound [--json] [FILE|-]          one message (an MTA pipe)
 * renraku inbound list [--unmatched] [--json]
 * renraku inbound assign [--as NAME] MSG TICKET
 *
 * inbound FILE exits 0 for anything it could store (so that the MTA never
 * bounces a message back), 75 when the database was busy or could not
 * be written (the MTA tries again).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/track.h"

static const char inbound_usage[] =
	"inbound [--json] [FILE|-] | inbound list [--unmatched] [--json] | "
	"inbound assign [--as NAME] MSG TICKET";

static const char inbound_help[] =
	"usage: renraku [--config FILE] [--db FILE] inbound [--json] [FILE|-]\n"
	"       renraku inbound list [--unmatched] [--json]\n"
	"       renraku inbound assign [--as NAME] MSG TICKET\n"
	"\n"
	"  inbound [FILE|-]  store one inbound message (FILE, or standard input:\n"
	"                    an MTA pipe), classify it (bounce, delayed,\n"
	"                    auto-reply, reply, malformed), match it to the\n"
	"                    ticket it answers and apply the effect: auto-reply\n"
	"                    -> auto-acknowledged (a remote ticket number kept),\n"
	"                    reply -> acknowledged, bounce -> the address failing\n"
	"                    and the ticket up its chain, delayed -> recorded.\n"
	"                    The same message twice is stored once.  Exit 0 for\n"
	"                    anything stored, 75 when the database is busy.\n"
	"  list              the stored messages; --unmatched: those no ticket\n"
	"                    took, for an operator\n"
	"  assign MSG TICKET attach unmatched message MSG (its number in list) to\n"
	"                    TICKET by hand: its class's effect is applied then\n"
	"\n"
	"  --unmatched  only messages without a ticket\n"
	"  --json       one JSON document on stdout\n"
	"  --as NAME    the operator recorded (default: the user behind sudo,\n"
	"               else the login name)\n"
	"  --help       this text\n"
	"\n"
	"renraku never replies to inbound mail.  [inbound] max_message (10M)\n"
	"bounds what is kept of one message; a longer one is stored truncated.\n";

json_t *inbound_json(const struct store_inbound *in)
{
	char at[RK_TIME_TEXT];
	json_t *o;

	rk_time_format_iso(in->received_at, at);
	o = json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:s?, s:I, s:b, s:s, "
		      "s:s?, s:s?, s:s?, s:s?, s:s?, s:s?}",
		      "id", (json_int_t)in->id, "received_at", at, "source",
		      in->source, "message_id", in->message_id, "from",
		      in->mail_from, "subject", in->subject, "size",
		      (json_int_t)in->size, "truncated", in->truncated, "class",
		      in->class_name, "ticket", in->ticket_id, "matched_by",
		      in->matched_by, "remote_ticket", in->remote_ticket,
		      "failed_recipients", in->failed_rcpts, "status",
		      in->status, "effect", in->effect);
	if (o && in->body)
		json_object_set_new(o, "body", json_string(in->body));
	return o;
}

static json_t *result_json(const struct track_result *r)
{
	return json_pack("{s:I, s:b, s:s, s:s?, s:s?, s:s?}", "inbound",
			 (json_int_t)r->inbound_id, "duplicate", r->duplicate,
			 "class", track_class_name(r->cls), "ticket",
			 r->ticket_id[0] ? r->ticket_id : NULL, "matched_by",
			 r->matched_by[0] ? r->matched_by : NULL, "effect",
			 r->effect[0] ? r->effect : NULL);
}

static void print_result(const struct track_result *r)
{
	if (r->duplicate)
		printf("inbound %lld: stored before, nothing applied again\n",
		       (long long)r->inbound_id);
	else if (r->ticket_id[0])
		printf("inbound %lld: %s for ticket %s (by %s): %s\n",
		       (long long)r->inbound_id, track_class_name(r->cls),
		       r->ticket_id, r->matched_by, r->effect);
	else
		printf("inbound %lld: %s, matches no ticket: kept for an "
		       "operator (renraku inbound list --unmatched)\n",
		       (long long)r->inbound_id, track_class_name(r->cls));
}

static int inbound_one(struct app *app, const char *path, bool json)
{
	struct rk_store *store;
	struct track_result res;
	struct rk_buf b;
	size_t total = 0;
	FILE *f;
	enum rk_err err;
	int rc;

	if ((err = app_store(app, &store)))
		/* the MTA keeps the message and tries again */
		return json ? app_json_error_exit(err, NULL, RK_EXIT_TEMPFAIL)
			    : RK_EXIT_TEMPFAIL;
	f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	if (!f) {
		rk_log_error(&app->log, "inbound: cannot open '%s'", path);
		return json ? app_json_error_exit(RK_ERR_IO, NULL, RK_EXIT_FAILURE)
			    : RK_EXIT_FAILURE;
	}
	rk_buf_init(&b, (size_t)app->cfg.inbound.max_message);
	err = track_read_message(f, app->cfg.inbound.max_message, &b, &total);
	if (f != stdin)
		fclose(f);
	if (!err)
		err = track_inbound(store, &app->cfg, &app->log, b.data, b.len,
				    total, "pipe", &res);
	rk_buf_release(&b);
	if (err) {
		rk_log_error(&app->log, "inbound: the message could not be stored: %s",
			     rk_strerror(err));
		return json ? app_json_error_exit(err, NULL, RK_EXIT_TEMPFAIL)
			    : RK_EXIT_TEMPFAIL;
	}
	if (json)
		return app_print_json(result_json(&res));
	print_result(&res);
	rc = RK_EXIT_OK;
	return rc;
}

static int inbound_list(struct app *app, bool unmatched, bool json)
{
	struct rk_store *store;
	struct store_inbound *rows = NULL;
	size_t n = 0;
	enum rk_err err;
	json_t *arr;

	if ((err = app_store(app, &store)) ||
	    (err = store_inbound_list(store, unmatched, NULL, &rows, &n)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (json) {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, inbound_json(&rows[i]));
		store_inbound_free(rows, n);
		return app_print_json(json_pack("{s:o}", "inbound", arr));
	}
	if (n == 0)
		rk_log_info(&app->log, "no %sinbound messages",
			    unmatched ? "unmatched " : "");
	else
		printf("%-6s  %-20s  %-10s  %-16s  %s\n", "MSG", "RECEIVED",
		       "CLASS", "TICKET", "FROM / SUBJECT");
	for (size_t i = 0; i < n; i++) {
		char at[RK_TIME_TEXT];

		rk_time_format_iso(rows[i].received_at, at);
		printf("%-6lld  %-20s  %-10s  %-16s  %s / %s\n",
		       (long long)rows[i].id, at, rows[i].class_name,
		       rows[i].ticket_id ? rows[i].ticket_id : "-",
		       rows[i].mail_from ? rows[i].mail_from : "-",
		       rows[i].subject ? rows[i].subject : "-");
	}
	store_inbound_free(rows, n);
	return RK_EXIT_OK;
}

static int inbound_assign(struct app *app, const char *msg,
			  const char *ticket, const char *as, bool json)
{
	const char *actor = operator_name(as);
	struct rk_store *store;
	struct track_result res;
	long long id;
	enum rk_err err;

	if (rk_parse_long(msg, 1, INT64_MAX, &id))
		return app_usage("inbound assign: MSG is the number 'inbound list' shows, not '%s'",
				 msg);
	if (!actor)
		return app_usage("inbound assign: --as NAME is needed (one line of at most 64 bytes)");
	if ((err = app_store(app, &store)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	err = track_assign(store, &app->cfg, &app->log, id, ticket, actor, &res);
	if (err == RK_ERR_NOTFOUND || err == RK_ERR_EXISTS ||
	    err == RK_ERR_TRANSITION)
		return json ? app_json_error_exit(err, NULL, RK_EXIT_DATAERR)
			    : RK_EXIT_DATAERR;
	if (err)
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (json)
		return app_print_json(result_json(&res));
	printf("inbound %lld: %s attached to ticket %s by %s: %s\n",
	       (long long)id, track_class_name(res.cls), ticket, actor,
	       res.effect);
	return RK_EXIT_OK;
}

int cmd_inbound(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"unmatched", no_argument, NULL, 'u'},
		{"as", required_argument, NULL, 'a'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *as = NULL, *sub = NULL;
	bool json = false, unmatched = false;
	int c;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0)
			return app_help(inbound_help);
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'u': unmatched = true; break;
		case 'a': as = optarg; break;
		default: return app_usage("%s", inbound_usage);
		}
	}
	if (optind < argc)
		sub = argv[optind];
	if (sub && strcmp(sub, "list") == 0 && optind + 1 == argc && !as)
		return inbound_list(app, unmatched, json);
	if (sub && strcmp(sub, "assign") == 0 && optind + 3 == argc &&
	    !unmatched)
		return inbound_assign(app, argv[optind + 1], argv[optind + 2],
				      as, json);
	if (optind + 1 < argc || unmatched || as ||
	    (sub && (strcmp(sub, "list") == 0 || strcmp(sub, "assign") == 0)))
		return app_usage("%s", inbound_usage);
	return inbound_one(app, sub ? sub : "-", json);
}
