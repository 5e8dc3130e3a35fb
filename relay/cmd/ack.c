/* renraku ack ID|--token TOKEN --status received|resolved|disputed
 *             [--note TEXT] [--as NAME] [--json] */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "renraku/track.h"

static const char ack_help[] =
	"usage: renraku [--config FILE] [--db FILE] ack ID --status STATUS "
	"[--note TEXT] [--as NAME]\n"
	"       renraku ack --token TOKEN --status STATUS [--note TEXT]\n"
	"\n"
	"Record that the recipient of a ticket's notice answered, by the\n"
	"ticket id or by the token of the notice's acknowledgement link\n"
	"([relay] public_url/ack/TOKEN).  After it, no reminder or escalation\n"
	"is sent for the ticket.\n"
	"\n"
	"  --status received   the recipient has it: -> acknowledged\n"
	"  --status resolved   the recipient fixed it: -> resolved\n"
	"  --status disputed   not theirs / a false positive: -> disputed, and\n"
	"                      the ticket's subjects (address, else domain) are\n"
	"                      not notified again for the same type until\n"
	"                      [tracking] dispute_suppress (90d) has passed\n"
	"  --note TEXT         kept in the timeline (one line, at most 500 bytes)\n"
	"  --token TOKEN       the token of the acknowledgement link; an unknown\n"
	"                      token changes nothing (exit 65)\n"
	"  --as NAME           the operator recorded (default: the user behind\n"
	"                      sudo, else the login name)\n"
	"  --json              {\"ticket\": ID, \"state\": STATE}; a failure\n"
	"                      prints {\"error\": ...}\n"
	"  --help              this text\n"
	"\n"
	"Exit: 0 done, 2 usage, 65 no such ticket or token, or the ticket is\n"
	"not in a state it applies to (not notified yet, or closed).\n";

int cmd_ack(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"status", required_argument, NULL, 's'},
		{"note", required_argument, NULL, 'n'},
		{"token", required_argument, NULL, 't'},
		{"as", required_argument, NULL, 'a'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *status_arg = NULL, *note = NULL, *token = NULL, *as = NULL;
	const char *id = NULL, *actor = NULL;
	enum track_ack_status status;
	struct rk_store *store = NULL;
	char ticket[32];
	bool json = false;
	enum rk_err err;
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': status_arg = optarg; break;
		case 'n': note = optarg; break;
		case 't': token = optarg; break;
		case 'a': as = optarg; break;
		case 'j': json = true; break;
		case 'h': return app_help(ack_help);
		default: return app_usage("see 'renraku ack --help'");
		}
	}
	if (optind < argc)
		id = argv[optind++];
	if (optind < argc || (!id == !token))
		return app_usage("ack takes a ticket ID or --token TOKEN (see 'renraku ack --help')");
	if (!status_arg || track_ack_status_parse(status_arg, &status))
		return app_usage("ack: --status is received, resolved or disputed");
	if (note && (rk_str_has_ctl(note, false) || strlen(note) > 500 ||
		     !rk_utf8_valid(note, strlen(note))))
		return app_usage("ack: --note is one line of at most 500 bytes");
	if (id && !(actor = operator_name(as)))
		return app_usage("ack: --as takes a name of one line, at most 64 bytes");
	if ((err = app_config(app)) || (err = app_store(app, &store)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (token)
		err = track_ack_by_token(store, &app->cfg, &app->log, token,
					 status, note, app->now, ticket);
	else
		err = track_ack(store, &app->cfg, &app->log, id, status, note,
				actor, app->now);
	if (err == RK_ERR_TRANSITION)
		rk_log_error(&app->log, "ticket %s cannot be acknowledged now "
					"(not notified yet, or closed)",
			     id ? id : ticket);
	if (err == RK_ERR_TRANSITION || err == RK_ERR_NOTFOUND)
		return json ? app_json_error_exit(err, NULL, RK_EXIT_DATAERR)
			    : RK_EXIT_DATAERR;
	if (err)
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (json)
		return app_print_json(json_pack(
			"{s:s, s:s}", "ticket", id ? id : ticket, "state",
			status == TRACK_ACK_RECEIVED   ? "acknowledged"
			: status == TRACK_ACK_RESOLVED ? "resolved"
						       : "disputed"));
	return RK_EXIT_OK;
}
