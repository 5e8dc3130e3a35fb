/* renraku tickets list [--state S] [--json] | show ID [--json] */
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "renraku/notify.h"
#include "renraku/tickets.h"
#include "renraku/track.h"

/* The ticket's timeline as a JSON array (NULL when it cannot be read). */
static json_t *timeline_json(struct rk_store *store, const char *id)
{
	struct store_timeline_row *rows = NULL;
	size_t n = 0;
	json_t *arr;

	if (store_ticket_timeline(store, id, &rows, &n) != RK_OK)
		return NULL;
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		char at[RK_TIME_TEXT];

		rk_time_format_iso(rows[i].at, at);
		json_array_append_new(
			arr, json_pack("{s:s, s:s?, s:s, s:i, s:s, s:s, s:s?, s:s?}",
				       "at", at, "from", rows[i].from_state, "to",
				       rows[i].to_state, "level", rows[i].level,
				       "actor", rows[i].actor, "cause",
				       rows[i].cause, "message_id",
				       rows[i].message_id, "detail",
				       rows[i].detail));
	}
	store_timeline_free(rows, n);
	return arr;
}

/* The ticket's events, oldest first, as a JSON array. */
static json_t *events_json(struct rk_store *store, const char *id)
{
	struct store_event *ev = NULL;
	size_t n = 0;
	json_t *arr;

	if (store_ticket_events(store, id, false, &ev, &n) != RK_OK)
		return NULL;
	arr = json_array();
	for (size_t i = 0; arr && i < n; i++) {
		char at[RK_TIME_TEXT];

		rk_time_format_iso(ev[i].time_source, at);
		json_array_append_new(
			arr, json_pack("{s:I, s:s, s:s, s:s?, s:s?, s:s?}", "id",
				       (json_int_t)ev[i].id, "time", at, "type",
				       ev[i].type, "ip", ev[i].source_ip, "fqdn",
				       ev[i].source_fqdn, "url", ev[i].source_url));
	}
	store_events_free(ev, n);
	return arr;
}

/* One message with its history: attempts, the last reply, and every
 * recipient's outcome. */
static json_t *message_json(struct rk_store *store,
			    const struct store_message *m)
{
	struct store_delivery *dl = NULL;
	size_t ndl = 0;
	json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:s?, s:I, s:s?}",
			      "message_id", m->message_id, "kind", m->kind,
			      "state", m->state, "rcpt", m->rcpt, "location",
			      m->location, "attempts", (json_int_t)m->attempts,
			      "reply", m->reply);
	json_t *arr = json_array();

	if (o && arr && store_message_deliveries(store, m->id, &dl, &ndl) == RK_OK) {
		for (size_t i = 0; i < ndl; i++)
			json_array_append_new(
				arr, json_pack("{s:s, s:s, s:I, s:s?, s:s?}",
					       "rcpt", dl[i].rcpt, "state",
					       dl[i].state, "attempts",
					       (json_int_t)dl[i].attempts,
					       "reply", dl[i].reply,
					       "location", dl[i].location));
		store_deliveries_free(dl, ndl);
	}
	if (o)
		json_object_set_new(o, "deliveries", arr ? arr : json_array());
	else
		json_decref(arr);
	return o;
}

static const char tickets_help[] =
	"usage: renraku [--config FILE] [--db FILE] tickets COMMAND\n"
	"\n"
	"  tickets list [--state S] [--json]   the tickets, newest first, with the\n"
	"                                      next follow-up (remind, escalate,\n"
	"                                      expire) and when\n"
	"  tickets show ID [--json]            one ticket with its chain, messages,\n"
	"                                      timeline and next_action\n"
	"  tickets show ID --raw               the exact message that goes out: as\n"
	"                                      built for review or sent, else built\n"
	"                                      and signed now (not queued)\n"
	"  tickets approve ID... [--cleartext] [--as NAME]\n"
	"                                      release held tickets: each goes out\n"
	"                                      with exactly the events it holds\n"
	"  tickets approve --all-held [--contact ADDR] [--template T] [--level N]\n"
	"                                      release every held ticket matching\n"
	"  tickets hold ID [--reason TEXT] [--as NAME]\n"
	"                                      hold an open ticket for review\n"
	"  tickets retry ID [--as NAME]        put a failed ticket back (after the\n"
	"                                      fix): its notice is built next run\n"
	"\n"
	"  --state S      open, held, notified, failed, acknowledged,\n"
	"                 auto-acknowledged, resolved, disputed or expired\n"
	"  --json         one JSON document; a failure prints {\"error\": ...}\n"
	"  --reason TEXT  why the ticket is held (one line, at most 500 bytes)\n"
	"  --cleartext    also let a TLP:AMBER ticket whose recipient has no\n"
	"                 usable key go out signed but unencrypted (recorded);\n"
	"                 without it approving such a ticket is refused (65)\n"
	"  --raw          print the message bytes (CRLF), nothing else\n"
	"  --as NAME      the operator recorded in the timeline and audit log\n"
	"                 (default: the user behind sudo, else the login name)\n"
	"  --help         this text\n";


/* The ticket's next follow-up as {"action": ..., "at": ...}. */
static json_t *next_action_json(struct rk_store *store,
				const struct rk_config *cfg, const char *id)
{
	struct track_action a;
	char at[RK_TIME_TEXT];

	if (track_ticket_next(store, cfg, id, &a) != RK_OK)
		return json_null();
	rk_time_format_iso(a.at, at);
	return json_pack("{s:s, s:s?}", "action", track_action_name(a.kind),
			 "at", a.kind == TRACK_NONE ? NULL : at);
}

/* remote_ticket (null when no auto-reply gave one) and the inbound
 * messages of the ticket, into o. */
static void ticket_inbound_json(struct rk_store *store, const char *id,
				json_t *o)
{
	struct store_inbound *rows = NULL;
	char *remote = NULL;
	size_t n = 0;
	json_t *arr = json_array();

	if (store_ticket_remote(store, id, &remote) == RK_OK)
		json_object_set_new(o, "remote_ticket",
				    remote ? json_string(remote) : json_null());
	free(remote);
	if (store_inbound_list(store, false, id, &rows, &n) == RK_OK)
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, inbound_json(&rows[i]));
	store_inbound_free(rows, n);
	json_object_set_new(o, "inbound", arr);
}

json_t *ticket_json(struct rk_store *store, const struct rk_config *cfg,
		    const struct store_ticket *t, bool full)
{
	struct store_message *msgs = NULL;
	size_t nmsgs = 0;
	json_t *o, *ids = json_array(), *list = json_array();
	char created[RK_TIME_TEXT], due[RK_TIME_TEXT], notified[RK_TIME_TEXT];

	if (store_ticket_messages(store, t->id, &msgs, &nmsgs) != RK_OK) {
		json_decref(ids);
		json_decref(list);
		return NULL;
	}
	rk_time_format_iso(t->created_at, created);
	rk_time_format_iso(t->send_after, due);
	rk_time_format_iso(t->notified_at, notified);
	for (size_t i = 0; i < nmsgs; i++) {
		json_array_append_new(ids, json_string(msgs[i].message_id));
		json_array_append_new(
			list, message_json(store, &msgs[i]));
	}
	store_messages_free(msgs, nmsgs);
	o = json_pack("{s:s, s:s, s:i, s:s, s:s, s:s, s:s, s:s, s:I, s:o}",
		      "id", t->id, "state", t->state, "level", t->level,
		      "contact", t->contact, "template", t->template_name,
		      "lang", t->lang, "tlp", rk_tlp_name(t->tlp), "severity",
		      rk_severity_name(t->severity), "event_count",
		      (json_int_t)t->event_count, "message_ids", ids);
	if (!o) {
		json_decref(list);
		return NULL;
	}
	json_object_set_new(o, "created_at", json_string(created));
	json_object_set_new(o, "next_action", next_action_json(store, cfg, t->id));
	if (t->notified_at)
		json_object_set_new(o, "notified_at", json_string(notified));
	if (t->hold_reason)
		json_object_set_new(o, "hold_reason",
				    json_string(t->hold_reason));
	if (t->approved_by)
		json_object_set_new(o, "approved_by",
				    json_string(t->approved_by));
	if (t->cleartext_by)
		json_object_set_new(o, "cleartext_by",
				    json_string(t->cleartext_by));
	if (full) {
		json_t *chain = json_array();

		json_object_set_new(o, "send_after", json_string(due));
		json_object_set_new(o, "format",
				    json_string(t->format ? t->format : "csv-attach"));
		for (size_t i = 0; i < t->nchain; i++) {
			const struct store_chain_entry *e = &t->chain[i];

			json_array_append_new(
				chain, json_pack("{s:i, s:s, s:s?, s:s?, s:s?}",
						 "level", e->level, "email",
						 e->email, "org", e->org,
						 "lang", e->lang, "source",
						 e->source));
		}
		json_object_set_new(o, "chain", chain);
		json_object_set_new(o, "messages", list);
		json_object_set_new(o, "events", events_json(store, t->id));
		json_object_set_new(o, "timeline", timeline_json(store, t->id));
		ticket_inbound_json(store, t->id, o);
	} else {
		json_decref(list);
	}
	return o;
}

static int tickets_list(struct app *app, struct rk_store *store,
			const char *state, bool json)
{
	struct store_ticket *rows = NULL;
	size_t n = 0;
	enum rk_err err = store_tickets_list(store, state, &rows, &n);
	json_t *arr;

	if (err)
		return json ? app_json_error(app, err, NULL)
			    : (int)rk_exit_code(err);
	if (json) {
		arr = json_array();
		for (size_t i = 0; i < n; i++)
			json_array_append_new(arr, ticket_json(store, &app->cfg,
							       &rows[i], false));
		store_tickets_free(rows, n);
		return app_print_json(arr);
	}
	if (n == 0)
		rk_log_info(&app->log, "no tickets%s%s", state ? " in state " : "",
			    state ? state : "");
	else
		printf("%-16s  %-9s  %-5s  %-4s  %6s  %-18s  %s\n", "TICKET",
		       "STATE", "LEVEL", "LANG", "EVENTS", "TEMPLATE", "CONTACT");
	for (size_t i = 0; i < n; i++) {
		struct track_action a = {TRACK_NONE, 0};
		char at[RK_TIME_TEXT], next[64] = "";

		/* the next follow-up, when one will come by itself */
		if (track_ticket_next(store, &app->cfg, rows[i].id, &a) == RK_OK &&
		    a.kind != TRACK_NONE) {
			rk_time_format_iso(a.at, at);
			snprintf(next, sizeof(next), "  next: %s at %s",
				 track_action_name(a.kind), at);
		}
		printf("%-16s  %-9s  %-5d  %-4s  %6lld  %-18s  %s%s%s%s%s\n",
		       rows[i].id, rows[i].state, rows[i].level, rows[i].lang,
		       rows[i].event_count, rows[i].template_name,
		       rows[i].contact, rows[i].hold_reason ? "  (" : "",
		       rows[i].hold_reason ? rows[i].hold_reason : "",
		       rows[i].hold_reason ? ")" : "", next);
	}
	store_tickets_free(rows, n);
	return RK_EXIT_OK;
}

static int tickets_show(struct app *app, struct rk_store *store,
			const char *id, bool json)
{
	struct store_ticket t;
	json_t *doc;
	enum rk_err err = store_ticket_get(store, id, &t);

	if (err == RK_ERR_NOTFOUND) {
		rk_log_error(&app->log, "no ticket '%s'", id);
		return json ? app_json_error_exit(err, "no such ticket", RK_EXIT_DATAERR)
			    : RK_EXIT_DATAERR;
	}
	if (err)
		return json ? app_json_error(app, err, NULL)
			    : (int)rk_exit_code(err);
	doc = ticket_json(store, &app->cfg, &t, true);
	store_ticket_release(&t);
	if (json)
		return app_print_json(doc);
	if (!doc)
		return RK_EXIT_FAILURE;
	printf("ticket    %s\n", json_string_value(json_object_get(doc, "id")));
	printf("state     %s", json_string_value(json_object_get(doc, "state")));
	if (json_object_get(doc, "hold_reason"))
		printf(" (%s)", json_string_value(json_object_get(doc, "hold_reason")));
	printf("\ncontact   %s (level %lld)\n",
	       json_string_value(json_object_get(doc, "contact")),
	       (long long)json_integer_value(json_object_get(doc, "level")));
	printf("template  %s, %s\n",
	       json_string_value(json_object_get(doc, "template")),
	       json_string_value(json_object_get(doc, "lang")));
	printf("events    %lld, TLP:%s, severity %s\n",
	       (long long)json_integer_value(json_object_get(doc, "event_count")),
	       json_string_value(json_object_get(doc, "tlp")),
	       json_string_value(json_object_get(doc, "severity")));
	printf("created   %s\n", json_string_value(json_object_get(doc, "created_at")));
	if (strcmp(json_string_value(json_object_get(doc, "state")), "open") == 0)
		printf("due       %s (first notice not before)\n",
		       json_string_value(json_object_get(doc, "send_after")));
	if (json_object_get(doc, "approved_by"))
		printf("approved  by %s%s%s\n",
		       json_string_value(json_object_get(doc, "approved_by")),
		       json_object_get(doc, "cleartext_by")
			       ? "; may go out unencrypted, by " : "",
		       json_object_get(doc, "cleartext_by")
			       ? json_string_value(json_object_get(doc, "cleartext_by"))
			       : "");
	{
		json_t *na = json_object_get(doc, "next_action");
		const char *act = json_string_value(json_object_get(na, "action"));

		if (act && strcmp(act, "none") != 0)
			printf("next      %s at %s\n", act,
			       json_string_value(json_object_get(na, "at")));
	}
	{
		json_t *chain = json_object_get(doc, "chain"), *e;
		size_t i;

		json_array_foreach(json_object_get(doc, "events"), i, e)
			printf("event     #%lld %s %s %s\n",
			       (long long)json_integer_value(json_object_get(e, "id")),
			       json_string_value(json_object_get(e, "time")),
			       json_string_value(json_object_get(e, "type")),
			       json_string_value(json_object_get(e, "ip"))
				       ? json_string_value(json_object_get(e, "ip"))
			       : json_string_value(json_object_get(e, "fqdn"))
				       ? json_string_value(json_object_get(e, "fqdn"))
				       : "-");

		json_array_foreach(chain, i, e)
			printf("chain     level %lld: %s (%s)\n",
			       (long long)json_integer_value(json_object_get(e, "level")),
			       json_string_value(json_object_get(e, "email")),
			       json_string_value(json_object_get(e, "org")));
		chain = json_object_get(doc, "messages");
		json_array_foreach(chain, i, e) {
			json_t *d;
			size_t k;

			printf("message   %s %s, %lld attempt%s%s%s\n",
			       json_string_value(json_object_get(e, "message_id")),
			       json_string_value(json_object_get(e, "state")),
			       (long long)json_integer_value(json_object_get(e, "attempts")),
			       json_integer_value(json_object_get(e, "attempts")) == 1 ? "" : "s",
			       json_string_value(json_object_get(e, "reply")) ? ": " : "",
			       json_string_value(json_object_get(e, "reply"))
				       ? json_string_value(json_object_get(e, "reply"))
				       : "");
			json_array_foreach(json_object_get(e, "deliveries"), k, d) {
				const char *where = json_string_value(
					json_object_get(d, "location"));

				if (!where)
					where = json_string_value(json_object_get(d, "reply"));
				printf("  to      %s %s%s%s\n",
				       json_string_value(json_object_get(d, "rcpt")),
				       json_string_value(json_object_get(d, "state")),
				       where ? " " : "", where ? where : "");
			}
		}
		json_array_foreach(json_object_get(doc, "timeline"), i, e) {
			const char *from = json_string_value(json_object_get(e, "from"));
			const char *mid = json_string_value(json_object_get(e, "message_id"));
			const char *detail = json_string_value(json_object_get(e, "detail"));

			printf("timeline  %s  %-9s -> %-9s level %lld  %s by %s%s%s%s%s\n",
			       json_string_value(json_object_get(e, "at")),
			       from ? from : "-",
			       json_string_value(json_object_get(e, "to")),
			       (long long)json_integer_value(json_object_get(e, "level")),
			       json_string_value(json_object_get(e, "cause")),
			       json_string_value(json_object_get(e, "actor")),
			       mid ? "  " : "", mid ? mid : "",
			       detail ? ": " : "", detail ? detail : "");
		}
	}
	json_decref(doc);
	return RK_EXIT_OK;
}

/* Who decides: --as NAME, else the operator behind sudo, else the
 * login name of the user running the command.  NULL when none is
 * usable. */
const char *operator_name(const char *as)
{
	const char *user = as;
	struct passwd *pw;

	if (!user || !*user)
		user = getenv("SUDO_USER");
	if (!user || !*user) {
		pw = getpwuid(geteuid());
		user = pw ? pw->pw_name : NULL;
	}
	if (!user || !*user || strlen(user) > 64 || rk_str_has_ctl(user, false) ||
	    !rk_utf8_valid(user, strlen(user)))
		return NULL;
	return user;
}

/* May ticket t be approved without --cleartext?  Not when it must go
 * out encrypted, no notice was built for review, and its recipient still
 * has no usable key. */
static int approve_check(struct app *app, struct rk_store *store,
			 struct mail_signer **signer,
			 const struct store_ticket *t, bool cleartext)
{
	struct store_message *msgs = NULL;
	size_t nmsgs = 0;
	struct rk_buf why;
	bool ready = false;
	enum rk_err err;
	int rc = RK_EXIT_OK;

	if (cleartext || strcmp(t->state, STORE_TICKET_HELD) != 0 ||
	    !notify_must_encrypt(&app->cfg, t))
		return RK_EXIT_OK;
	if ((err = store_ticket_messages_raw(store, t->id, STORE_MSG_REVIEW,
					     &msgs, &nmsgs)))
		return rk_exit_code(err);
	store_messages_free(msgs, nmsgs);
	if (nmsgs)
		return RK_EXIT_OK; /* built encrypted for review */
	rk_buf_init(&why, 4096);
	err = notify_key_ready(&app->cfg, &app->log, signer, t, app->now, &ready,
			       &why);
	if (err) {
		rc = rk_exit_code(err);
	} else if (!ready) {
		rk_log_error(&app->log, "ticket %s is TLP:%s and %s: it goes out only "
			     "encrypted; add the recipient's key (contacts import) "
			     "or approve with --cleartext to send it signed only",
			     t->id, rk_tlp_name(t->tlp), why.data);
		rc = RK_EXIT_DATAERR;
	}
	rk_buf_release(&why);
	return rc;
}

static int decide_one(struct app *app, struct rk_store *store,
		      struct mail_signer **signer, const char *what,
		      const char *id, const char *reason, const char *actor,
		      bool cleartext)
{
	enum rk_err err;
	int rc;

	if (strcmp(what, "approve") == 0) {
		struct store_ticket t;

		err = store_ticket_get(store, id, &t);
		if (err == RK_ERR_NOTFOUND) {
			rk_log_error(&app->log, "no ticket '%s'", id);
			return RK_EXIT_DATAERR;
		}
		if (err)
			return rk_exit_code(err);
		rc = approve_check(app, store, signer, &t, cleartext);
		store_ticket_release(&t);
		if (rc)
			return rc;
		err = tickets_approve(store, &app->log, id, actor, cleartext);
	} else if (strcmp(what, "hold") == 0) {
		err = tickets_hold(store, &app->log, id, actor,
				   reason ? reason : "held by an operator");
	} else {
		err = tickets_retry(store, &app->log, id, actor);
	}
	if (err == RK_ERR_TRANSITION) {
		rk_log_error(&app->log, "ticket %s is not %s", id,
			     strcmp(what, "approve") == 0 ? "held"
			     : strcmp(what, "hold") == 0
				     ? "open (only a ticket not yet notified can be held)"
				     : "failed");
		return RK_EXIT_DATAERR;
	}
	if (err == RK_ERR_NOTFOUND)
		return RK_EXIT_DATAERR;
	if (err)
		return rk_exit_code(err);
	if (strcmp(what, "approve") == 0)
		printf("ticket %s approved by %s%s: it goes out at the next run\n", id,
		       actor, cleartext ? " (cleartext allowed)" : "");
	else if (strcmp(what, "hold") == 0)
		printf("ticket %s held by %s until 'renraku tickets approve'\n", id, actor);
	else
		printf("ticket %s back to open by %s: its notice is built at the next run\n",
		       id, actor);
	return RK_EXIT_OK;
}

struct held_filter {
	bool all_held;
	const char *contact, *template_name;
	int level; /* -1 = any */
};

static int tickets_decide(struct app *app, struct rk_store *store,
			  const char *what, char **ids, int nids,
			  const char *reason, const char *as, bool cleartext,
			  const struct held_filter *filter)
{
	const char *actor = operator_name(as);
	struct mail_signer *signer = NULL;
	struct store_ticket *held = NULL;
	size_t nheld = 0, matched = 0;
	int rc = RK_EXIT_OK;

	if (as && (!*as || !actor))
		return app_usage("tickets %s: --as takes a name of one line, at most 64 bytes",
				 what);
	if (!actor)
		return app_usage("tickets %s: --as NAME is needed (one line of at most 64 bytes): "
				 "no login name to record", what);
	if (reason && (rk_str_has_ctl(reason, false) || strlen(reason) > 500))
		return app_usage("tickets hold: --reason is one line of at most 500 bytes");
	for (int i = 0; i < nids && (rc == RK_EXIT_OK || nids > 1); i++) {
		int one = decide_one(app, store, &signer, what, ids[i], reason,
				     actor, cleartext);

		if (one && rc == RK_EXIT_OK)
			rc = one;
	}
	if (filter->all_held) {
		enum rk_err err = store_tickets_list(store, STORE_TICKET_HELD,
						     &held, &nheld);

		if (err)
			rc = rk_exit_code(err);
		for (size_t i = 0; !err && i < nheld; i++) {
			const struct store_ticket *t = &held[i];
			int one;

			if ((filter->contact && !rk_str_ieq(filter->contact, t->contact)) ||
			    (filter->template_name &&
			     strcmp(filter->template_name, t->template_name) != 0) ||
			    (filter->level >= 0 && filter->level != t->level))
				continue;
			matched++;
			one = decide_one(app, store, &signer, what, t->id, reason,
					 actor, cleartext);
			if (one && rc == RK_EXIT_OK)
				rc = one;
		}
		if (!err && !matched)
			rk_log_info(&app->log, "no held ticket matches");
		store_tickets_free(held, nheld);
	}
	mail_signer_close(signer);
	return rc;
}

/* tickets show ID --raw */
static int tickets_raw(struct app *app, struct rk_store *store, const char *id)
{
	struct store_ticket t;
	struct store_message *msgs = NULL;
	struct mail_signer *signer = NULL;
	size_t nmsgs = 0;
	struct rk_buf out;
	enum rk_err err = store_ticket_get(store, id, &t);

	if (err == RK_ERR_NOTFOUND) {
		rk_log_error(&app->log, "no ticket '%s'", id);
		return RK_EXIT_DATAERR;
	}
	if (err)
		return rk_exit_code(err);
	rk_buf_init(&out, (size_t)RK_MAX_MESSAGE * 2 + 4096);
	/* what waits for review, else the last notice sent, else built now */
	err = store_ticket_messages_raw(store, id, STORE_MSG_REVIEW, &msgs, &nmsgs);
	if (!err && !nmsgs && strcmp(t.state, STORE_TICKET_OPEN) != 0 &&
	    strcmp(t.state, STORE_TICKET_HELD) != 0 &&
	    strcmp(t.state, STORE_TICKET_FAILED) != 0)
		err = store_ticket_messages_raw(store, id, NULL, &msgs, &nmsgs);
	for (size_t i = 0; !err && i < nmsgs; i++) {
		if (nmsgs > 1)
			err = rk_buf_addf(&out, "%s--- message %zu of %zu: %s to %s ---\n",
					  i ? "\n" : "", i + 1, nmsgs,
					  msgs[i].message_id, msgs[i].rcpt);
		if (!err)
			err = rk_buf_add(&out, msgs[i].raw ? (char *)msgs[i].raw : "",
					 msgs[i].raw_len);
	}
	if (!err && !nmsgs) {
		rk_log_info(&app->log, "ticket %s: built now, not queued (its Date, "
			    "Message-ID, MIME boundaries and signature will differ "
			    "when it is sent)", id);
		err = notify_preview(store, &app->cfg, &app->log, &signer, &t,
				     app->now, &out);
	}
	if (!err && fwrite(out.data, 1, out.len, stdout) != out.len)
		err = RK_ERR_IO;
	mail_signer_close(signer);
	store_messages_free(msgs, nmsgs);
	store_ticket_release(&t);
	rk_buf_release(&out);
	return err ? (int)rk_exit_code(err) : RK_EXIT_OK;
}

int cmd_tickets(struct app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"state", required_argument, NULL, 's'},
		{"reason", required_argument, NULL, 'r'},
		{"as", required_argument, NULL, 'a'},
		{"cleartext", no_argument, NULL, 'c'},
		{"all-held", no_argument, NULL, 'A'},
		{"contact", required_argument, NULL, 'C'},
		{"template", required_argument, NULL, 'T'},
		{"level", required_argument, NULL, 'L'},
		{"raw", no_argument, NULL, 'R'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static const char usage[] =
		"tickets list [--state S] [--json] | show ID [--json] | "
		"approve ID...|--all-held [--contact A] [--template T] [--level N] "
		"[--cleartext] [--as NAME] | show ID --raw | "
		"hold ID [--reason TEXT] [--as NAME] | "
		"retry ID [--as NAME]";
	const char *reason = NULL, *as = NULL;
	struct rk_store *store;
	const char *state = NULL, *sub;
	bool json = false, cleartext = false, raw = false;
	struct held_filter filter = {false, NULL, NULL, -1};
	long long level;
	enum rk_err err;
	int c;

	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strcmp(argv[i], "--help") == 0)
			return app_help(tickets_help);
	if (argc < 2)
		return app_usage("%s", usage);
	sub = argv[1];
	argv++;
	argc--;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 's': state = optarg; break;
		case 'r': reason = optarg; break;
		case 'a': as = optarg; break;
		case 'c': cleartext = true; break;
		case 'A': filter.all_held = true; break;
		case 'C': filter.contact = optarg; break;
		case 'T': filter.template_name = optarg; break;
		case 'L':
			if (rk_parse_long(optarg, 0, 2, &level))
				return app_usage("tickets approve: --level is 0, 1 or 2");
			filter.level = (int)level;
			break;
		case 'R': raw = true; break;
		default: return app_usage("%s", usage);
		}
	}
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 &&
	    strcmp(sub, "approve") != 0 && strcmp(sub, "hold") != 0 &&
	    strcmp(sub, "retry") != 0)
		return app_usage("unknown 'tickets' command '%s' (%s)", sub, usage);
	if (state && !tickets_state_known(state)) {
		app_usage("tickets list: unknown state '%s' (open, held, notified, "
			  "failed, acknowledged, auto-acknowledged, resolved, "
			  "disputed, expired)",
			  state);
		return json ? app_json_usage("unknown ticket state") : RK_EXIT_USAGE;
	}
	if ((err = app_store(app, &store)))
		return json ? app_json_error(app, err, NULL) : (int)rk_exit_code(err);
	if (strcmp(sub, "list") == 0 && optind == argc)
		return tickets_list(app, store, state, json);
	if ((cleartext || filter.all_held || filter.contact ||
	     filter.template_name || filter.level >= 0) &&
	    strcmp(sub, "approve") != 0)
		return app_usage("--cleartext, --all-held and its filters are for "
				 "'tickets approve'");
	if ((filter.contact || filter.template_name || filter.level >= 0) &&
	    !filter.all_held)
		return app_usage("tickets approve: --contact, --template and --level "
				 "filter --all-held");
	if (raw && (strcmp(sub, "show") != 0 || json))
		return app_usage("--raw is for 'tickets show ID' (without --json)");
	if (strcmp(sub, "show") == 0 && optind + 1 == argc && !state)
		return raw ? tickets_raw(app, store, argv[optind])
			   : tickets_show(app, store, argv[optind], json);
	if (strcmp(sub, "approve") == 0 && !state && !json &&
	    (optind < argc || filter.all_held))
		return tickets_decide(app, store, sub, argv + optind, argc - optind,
				      NULL, as, cleartext, &filter);
	if ((strcmp(sub, "hold") == 0 || strcmp(sub, "retry") == 0) &&
	    optind + 1 == argc && !state && !json)
		return tickets_decide(app, store, sub, argv + optind, 1, reason, as,
				      false, &filter);
	return app_usage("%s", usage);
}
