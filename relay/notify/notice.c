/* One due ticket -> one rendered, signed, queued notice. */
#include <stdlib.h>
#include <string.h>

#include "renraku/contacts.h"
#include "renraku/mail.h"
#include "renraku/notify.h"
#include "renraku/tickets.h"

struct notice_env {
	struct rk_store *store;
	const struct rk_config *cfg;
	const struct rk_log *log;
	struct mail_signer **signer;
	char *templates_dir;
	char *partials_dir;
	int64_t now;
};

enum rk_err notify_signer_from_config(const struct rk_config *cfg,
				      const struct rk_log *log,
				      struct mail_signer **signer)
{
	char *home = NULL;
	enum rk_err err;

	if (*signer || cfg->gpg.mode == RK_SIGN_NONE)
		return RK_OK;
	if (cfg->gpg.mode == RK_SIGN_INLINE)
		rk_log_warn(log, "[gpg] mode = inline is not supported yet: signing as pgp-mime");
	if ((err = rk_config_path(cfg, cfg->gpg.home, &home)))
		return err;
	err = mail_signer_open(signer, home, cfg->gpg.signer, log);
	free(home);
	if (err) {
		rk_log_error(log, "cannot sign notices with [gpg] home '%s'%s%s%s: %s; "
				  "the tickets due stay due until it is fixed",
			     cfg->gpg.home, cfg->gpg.signer ? " and signer '" : "",
			     cfg->gpg.signer ? cfg->gpg.signer : "",
			     cfg->gpg.signer ? "'" : "", rk_strerror(err));
		if (err != RK_ERR_NOMEM && err != RK_ERR_IO)
			err = RK_ERR_CONFIG;
	}
	return err;
}

static enum rk_err open_signer(struct notice_env *env)
{
	return notify_signer_from_config(env->cfg, env->log, env->signer);
}

/* Move ticket id to `to` for `cause` with the reason kept (held: a
 * person must decide; failed: this ticket's notice cannot be built). */
static enum rk_err set_aside(struct notice_env *env, const char *id,
			     const char *to, const char *cause,
			     const char *reason)
{
	struct store_ticket_change ch = {
		.id = id, .to = to, .cause = cause, .detail = reason,
		.level = -1,
	};
	enum rk_err err = store_begin(env->store);

	if (err)
		return err;
	if ((err = tickets_transition(env->store, env->log, &ch))) {
		store_rollback(env->store);
		return err;
	}
	if (strcmp(to, STORE_TICKET_HELD) == 0)
		rk_log_warn(env->log, "ticket %s held: %s", id, reason);
	else
		rk_log_error(env->log, "ticket %s failed: %s (renraku tickets retry %s)",
			     id, reason, id);
	return store_commit(env->store);
}

static const struct store_chain_entry *
level_entry(const struct store_ticket *t)
{
	for (size_t i = 0; i < t->nchain; i++)
		if (t->chain[i].level == t->level)
			return &t->chain[i];
	return NULL;
}

enum notice_outcome { NOTICE_SKIPPED, NOTICE_BUILT, NOTICE_FAILED };

/* The recipient's own ticket number (an auto-reply gave it, track
 * keeps it) at the end of the subject, so that their ticket system
 * files the notice with that ticket. */
static enum rk_err notice_quote_remote(struct rk_store *store,
				       const char *id, struct rk_buf *subject)
{
	char *remote = NULL;
	enum rk_err err = store_ticket_remote(store, id, &remote);

	if (!err && remote && *remote && !strstr(subject->data, remote) &&
	    !rk_str_has_ctl(remote, false))
		err = rk_buf_addf(subject, " %s", remote);
	free(remote);
	return err;
}

static enum rk_err build_notice(struct notice_env *env,
				const struct store_ticket *t,
				enum notice_outcome *outcome)
{
	const struct rk_config *cfg = env->cfg;
	const struct store_chain_entry *who = level_entry(t);
	struct store_event *events = NULL;
	size_t nevents = 0;
	json_t *ctx = NULL;
	char *path = NULL, *lang = NULL;
	char rnd[17], attach_name[64];
	struct notify_rendered r = {NULL, NULL};
	struct rk_buf tmpl, csv, raw, msgid, rcpt, subject;
	struct mail_message mail;
	struct store_message m;
	int64_t row = 0, *event_ids = NULL;
	json_t **datas = NULL;
	enum rk_err err;

	rk_buf_init(&tmpl, RK_MAX_TEMPLATE);
	rk_buf_init(&csv, RK_MAX_ATTACHMENT);
	rk_buf_init(&raw, RK_MAX_MESSAGE);
	rk_buf_init(&msgid, 512);
	rk_buf_init(&rcpt, 8192);
	rk_buf_init(&subject, RK_MAX_SUBJECT + 256);
	memset(&mail, 0, sizeof(mail));
	memset(&m, 0, sizeof(m));
	*outcome = NOTICE_SKIPPED;

	if ((err = store_ticket_events(env->store, t->id, true, &events,
				       &nevents)))
		goto cleanup;
	if (nevents == 0) {
		rk_log_debug(env->log, "ticket %s: no events to notify", t->id);
		goto cleanup;
	}
	/* parse each event once, for the context and the CSV */
	if (!(datas = calloc(nevents, sizeof(*datas)))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < nevents; i++) {
		datas[i] = json_loads(events[i].data ? events[i].data : "{}", 0,
				      NULL);
		if (!json_is_object(datas[i])) {
			json_decref(datas[i]);
			datas[i] = json_object();
		}
		if (!datas[i]) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
	}
	if ((err = notify_ticket_context_parsed(cfg, t, events, datas, nevents,
					 *env->signer ? mail_signer_fpr(*env->signer)
						      : NULL,
					 env->now, &ctx)))
		goto cleanup;
	err = notify_template_path(env->templates_dir, t->template_name,
				   t->lang, &path, &lang);
	if (!err)
		err = rk_buf_read_file(&tmpl, path);
	if (!err)
		err = notify_render_template(tmpl.data, tmpl.len,
					     env->partials_dir, ctx, &r,
					     env->log);
	if (err == RK_ERR_NOMEM || err == RK_ERR_IO)
		goto cleanup;
	if (err) {
		char reason[sizeof(r.error) + 256];

		/* the template, the line and why ("line 31: partial
		 * 'tlp-enn' not found"): what an operator needs to fix it */
		snprintf(reason, sizeof(reason),
			 "template %s/%s cannot be rendered: %s",
			 t->template_name, lang ? lang : t->lang,
			 r.error[0] ? r.error : rk_strerror(err));
		err = set_aside(env, t->id, STORE_TICKET_FAILED,
				TICKETS_CAUSE_FAILED, reason);
		if (!err)
			*outcome = NOTICE_FAILED;
		goto cleanup;
	}
	/* The tag is how replies find the ticket: it must be in the subject
	 * whatever the template says. */
	if ((err = rk_buf_addf(&subject, "[%s #%s]", cfg->relay.ticket_prefix,
			       t->id)))
		goto cleanup;
	if (strstr(r.subject, subject.data)) {
		rk_buf_reset(&subject);
		err = rk_buf_adds(&subject, r.subject);
	} else {
		err = rk_buf_addf(&subject, " %s", r.subject);
	}
	if (err || (err = notice_quote_remote(env->store, t->id, &subject)))
		goto cleanup;
	switch (notify_attach_for(t->format)) {
	case NOTIFY_ATTACH_UNKNOWN:
		/* contacts import refuses such formats; rows from before
		 * that get the default, said aloud */
		rk_log_warn(env->log, "ticket %s: the contact's format '%s' is not produced: sending CSV",
			    t->id, t->format);
		/* fall through */
	case NOTIFY_ATTACH_CSV:
		if ((err = notify_events_csv_parsed(events, datas, nevents,
						    &csv)))
			goto cleanup;
		snprintf(attach_name, sizeof(attach_name), "events-%s.csv",
			 t->id);
		mail.attach_type = "text/csv";
		break;
	case NOTIFY_ATTACH_JSON:
		if ((err = notify_events_json(events, nevents, &csv)))
			goto cleanup;
		snprintf(attach_name, sizeof(attach_name), "events-%s.json",
			 t->id);
		mail.attach_type = "application/json";
		break;
	case NOTIFY_ATTACH_CSV_INLINE:
		break;
	}
	if (mail.attach_type) {
		mail.attach_name = attach_name;
		mail.attach = csv.data;
		mail.attach_len = csv.len;
	}
	if ((err = rk_random_hex(rnd, 8)) ||
	    (err = rk_buf_addf(&msgid, "<%s.%s@%s>", t->id, rnd,
			       rk_config_mail_domain(cfg))) ||
	    /* the envelope is exactly the To and Cc the message carries */
	    (err = mail_envelope(who && who->email ? who->email : t->contact,
				 who ? who->cc : NULL, &rcpt, env->log)))
		goto cleanup;
	mail.from_name = cfg->relay.name;
	mail.from_addr = cfg->relay.from;
	mail.to_name = who && who->org ? who->org : NULL;
	mail.to_addr = who && who->email ? who->email : t->contact;
	mail.cc = who ? who->cc : NULL;
	mail.reply_to = cfg->relay.reply_to ? cfg->relay.reply_to
					    : cfg->relay.from;
	mail.subject = subject.data;
	mail.message_id = msgid.data;
	mail.ticket_id = t->id;
	mail.ack_url = json_string_value(
		json_object_get(json_object_get(ctx, "ticket"), "ack_url"));
	mail.date = env->now;
	mail.body = r.body;
	if ((err = mail_build(*env->signer, &mail, &raw)))
		goto cleanup;
	if (!(event_ids = calloc(nevents, sizeof(*event_ids)))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < nevents; i++)
		event_ids[i] = events[i].id;

	m.ticket_id = (char *)t->id;
	m.direction = "out";
	m.kind = t->level == 0 ? "notice" : "escalation";
	m.message_id = msgid.data;
	m.mail_from = cfg->relay.from;
	m.rcpt = rcpt.data;
	m.subject = subject.data;
	m.state = STORE_MSG_QUEUED;
	m.created_at = env->now;
	m.raw = (unsigned char *)raw.data;
	m.raw_len = raw.len;
	if ((err = store_begin(env->store)))
		goto cleanup;
	struct store_ticket_change ch = {
		.id = t->id, .to = STORE_TICKET_NOTIFIED,
		.cause = TICKETS_CAUSE_NOTICE, .level = -1, .notified = true,
	};
	if ((err = store_message_add(env->store, &m, &row)) ||
	    (ch.message_row = row,
	     err = tickets_transition(env->store, env->log, &ch)) ||
	    (err = store_ticket_events_notified(env->store, t->id, row,
						event_ids, nevents))) {
		store_rollback(env->store);
		if (err == RK_ERR_EXISTS || err == RK_ERR_TRANSITION) {
			/* moved on meanwhile: nothing to do */
			rk_log_debug(env->log, "ticket %s: already notified", t->id);
			err = RK_OK;
		}
		goto cleanup;
	}
	err = store_commit(env->store);
	if (!err)
		*outcome = NOTICE_BUILT;
	if (!err)
		rk_log_info(env->log, "ticket %s: notice %s for %s (%s, %zu events)",
			    t->id, msgid.data, t->contact, lang, nevents);
cleanup:
	for (size_t i = 0; datas && i < nevents; i++)
		json_decref(datas[i]);
	free(datas);
	free(event_ids);
	json_decref(ctx);
	store_events_free(events, nevents);
	notify_rendered_release(&r);
	free(path);
	free(lang);
	rk_buf_release(&tmpl);
	rk_buf_release(&csv);
	rk_buf_release(&raw);
	rk_buf_release(&msgid);
	rk_buf_release(&rcpt);
	rk_buf_release(&subject);
	return err;
}

/* A TLP:AMBER ticket waits for a person: it may go out only encrypted
 * to a key of the recipient, which this version cannot do yet.  The
 * reason names the key the contact's pgp value leads to, or why there
 * is none or it is unusable, so the operator knows what to fix. */
static enum rk_err hold_restricted(struct notice_env *env,
				   const struct store_ticket *t)
{
	const struct store_chain_entry *who = level_entry(t);
	char *contacts_dir = NULL;
	struct rk_buf reason;
	enum rk_err err;

	rk_buf_init(&reason, 2048);
	err = rk_buf_addf(&reason,
			  "TLP:%s goes out only encrypted to a key of the "
			  "recipient (not available in this version): ",
			  rk_tlp_name(t->tlp));
	if (!err && env->cfg->relay.contacts)
		err = rk_config_path(env->cfg, env->cfg->relay.contacts,
				     &contacts_dir);
	if (!err) {
		size_t before = reason.len;

		err = contacts_key_explain(contacts_dir, who ? who->pgp : NULL,
					   env->now, env->log, &reason, NULL);
		if (err && err != RK_ERR_NOMEM) {
			/* the check could not run: say so, hold anyway */
			reason.len = before;
			reason.data[before] = '\0';
			err = rk_buf_adds(&reason, "its key could not be checked");
		}
	}
	if (!err)
		err = set_aside(env, t->id, STORE_TICKET_HELD,
				TICKETS_CAUSE_NEEDS_KEY, reason.data);
	free(contacts_dir);
	rk_buf_release(&reason);
	return err;
}

/* Errors that are the operator's (GnuPG home, signer, files, memory,
 * the database): no ticket is to blame, so none is set aside; they stay
 * due and the stage stops with the error. */
static bool operator_fault(enum rk_err err)
{
	return err == RK_ERR_GPG || err == RK_ERR_NOMEM || err == RK_ERR_DB ||
	       err == RK_ERR_BUSY || err == RK_ERR_IO ||
	       err == RK_ERR_TEMPFAIL || err == RK_ERR_CONFIG ||
	       err == RK_ERR_TRANSITION || err == RK_ERR_INTERNAL;
}

enum rk_err notify_due_tickets(struct rk_store *store,
			       const struct rk_config *cfg,
			       const struct rk_log *log,
			       struct mail_signer **signer, int64_t now,
			       struct notify_stats *stats)
{
	struct notice_env env = {store, cfg, log, signer, NULL, NULL, now};
	struct store_ticket *due = NULL;
	size_t ndue = 0;
	bool need_signer = false;
	enum rk_err err;

	if ((err = rk_config_path(cfg, cfg->relay.templates,
				  &env.templates_dir)) ||
	    (err = rk_path_join(env.templates_dir, "_partials",
				&env.partials_dir)) ||
	    (err = store_tickets_due(store, now, &due, &ndue)))
		goto cleanup;
	for (size_t i = 0; i < ndue && !need_signer; i++)
		need_signer = !(due[i].tlp >= RK_TLP_AMBER && !due[i].approved_by);
	/* The signer is the operator's: when it cannot be opened, say so
	 * and leave every ticket due for the run after the fix. */
	if (need_signer && (err = open_signer(&env)))
		goto cleanup;
	for (size_t i = 0; i < ndue; i++) {
		const struct store_ticket *t = &due[i];
		enum notice_outcome outcome;

		if (t->tlp >= RK_TLP_AMBER && !t->approved_by) {
			if ((err = hold_restricted(&env, t)))
				goto cleanup;
			stats->held++;
			continue;
		}
		err = build_notice(&env, t, &outcome);
		if (err && operator_fault(err)) {
			rk_log_error(log, "ticket %s: %s; it stays due", t->id,
				     rk_strerror(err));
			goto cleanup; /* the next tickets would fail alike */
		}
		if (err) {
			/* Something in this ticket's data (a limit, a value
			 * no header may carry): retrying cannot help, so the
			 * ticket is set aside for an operator. */
			char reason[256];

			snprintf(reason, sizeof(reason),
				 "the notice cannot be built: %s",
				 rk_strerror(err));
			if ((err = set_aside(&env, t->id, STORE_TICKET_FAILED,
					     TICKETS_CAUSE_FAILED, reason)))
				goto cleanup;
			stats->failed++;
			continue;
		}
		if (outcome == NOTICE_BUILT)
			stats->built++;
		else if (outcome == NOTICE_FAILED)
			stats->failed++;
	}
cleanup:
	store_tickets_free(due, ndue);
	free(env.templates_dir);
	free(env.partials_dir);
	return err;
}
