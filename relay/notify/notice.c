/* One due ticket -> one rendered, signed, queued notice; the due
 * tickets' notices built and signed on a pool of threads. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "renraku/contacts.h"
#include "renraku/mail.h"
#include "renraku/notify.h"
#include "renraku/tickets.h"
#include "renraku/track.h"

struct notice_env {
	struct rk_store *store;
	const struct rk_config *cfg;
	const struct rk_log *log;
	struct mail_signer **signer;
	char *templates_dir;
	char *partials_dir;
	int64_t now;
	struct rk_buf *preview;  /* set: build only, the bytes appended here */
	bool force_cleartext;    /* preview of what approve --cleartext sends */
	/* notify_due_tickets' main thread: the due tickets, and the spool
	 * that gather takes their events from (gather_events) */
	const struct store_ticket *due; /* borrowed; NULL elsewhere */
	size_t ndue;
	struct store_event_spool *spool; /* owned; NULL = none yet */
	size_t spool_base;               /* due index of its first ticket */
	bool spool_off;                  /* one failed: per ticket from then */
	double t_spool;                  /* seconds spent opening spools */
};

/* Due tickets whose events one spool covers at most: 16 MB while it is
 * built, about 0.7 GB of temporary file for the bench's events. */
#define NOTICE_SPOOL_EVENTS ((size_t)1000000)

enum rk_err notify_signer_from_config(const struct rk_config *cfg,
				      const struct rk_log *log,
				      struct mail_signer **signer)
{
	char *home = NULL;
	enum rk_err err;

	if (*signer || cfg->gpg.mode == RK_SIGN_NONE)
		return RK_OK;
	if ((err = rk_config_path(cfg, cfg->gpg.home, &home)))
		return err;
	err = mail_signer_open(signer, home, cfg->gpg.signer, log);
	free(home);
	if (!err && cfg->gpg.wkd) {
		char *ca = NULL;
		struct mail_wkd_options wkd = {
			.port = (int)cfg->gpg.wkd_port, .resolve = cfg->gpg.wkd_resolve,
		};

		if (cfg->gpg.wkd_ca_file)
			err = rk_config_path(cfg, cfg->gpg.wkd_ca_file, &ca);
		wkd.ca_file = ca;
		if (!err)
			err = mail_signer_wkd(*signer, &wkd);
		free(ca);
		if (err) {
			mail_signer_close(*signer);
			*signer = NULL;
		}
	}
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

/* ------------------------------------------------------------ recipients */

/* Who gets which message.  groups[0]: the recipients with a usable key,
 * one message signed and encrypted to all their keys; groups[1]: those
 * without, one signed message -- unless the ticket must go out
 * encrypted (TLP:AMBER, AMBER+STRICT, or [gpg] encrypt = always, and no
 * approve --cleartext): then they are left out (named in left_out) and,
 * when the ticket's own To address is one of them, the whole ticket is
 * held (hold, why). */
struct notice_group {
	char **addrs; /* borrowed from the plan's list */
	size_t n;
	bool has_to;  /* the ticket's To address is among them */
	struct rk_buf cc, rcpt, raw;
	char *msgid;
};

struct notice_plan {
	struct notice_group groups[2];
	char *list;   /* the envelope, split in place */
	char **addrs;
	size_t naddrs;
	char (*fprs_store)[41];
	char **fprs;
	size_t nfprs;
	bool hold;
	struct rk_buf why, left_out;
};

static void plan_init(struct notice_plan *p)
{
	memset(p, 0, sizeof(*p));
	for (int g = 0; g < 2; g++) {
		rk_buf_init(&p->groups[g].cc, RK_MAX_HEADER_VALUE * 8);
		rk_buf_init(&p->groups[g].rcpt, RK_MAX_HEADER_VALUE * 8);
		rk_buf_init(&p->groups[g].raw, RK_MAX_MESSAGE);
	}
	rk_buf_init(&p->why, 8192);
	rk_buf_init(&p->left_out, 8192);
}

static void plan_release(struct notice_plan *p)
{
	for (int g = 0; g < 2; g++) {
		free(p->groups[g].addrs);
		free(p->groups[g].msgid);
		rk_buf_release(&p->groups[g].cc);
		rk_buf_release(&p->groups[g].rcpt);
		rk_buf_release(&p->groups[g].raw);
	}
	free(p->list);
	free(p->addrs);
	free(p->fprs_store);
	free(p->fprs);
	rk_buf_release(&p->why);
	rk_buf_release(&p->left_out);
	memset(p, 0, sizeof(*p));
}

enum mail_form notify_form_for(const struct rk_config *cfg, const char *format)
{
	if (cfg->gpg.mode == RK_SIGN_INLINE ||
	    (format && strcmp(format, "inline") == 0))
		return MAIL_FORM_INLINE;
	return MAIL_FORM_PGP_MIME;
}

bool notify_must_encrypt(const struct rk_config *cfg,
			 const struct store_ticket *t)
{
	return (t->tlp >= RK_TLP_AMBER || cfg->gpg.encrypt == RK_ENCRYPT_ALWAYS) &&
	       !t->cleartext_by;
}

static enum rk_err group_add(struct notice_group *grp, char *addr, bool is_to)
{
	enum rk_err err = rk_array_room((void **)&grp->addrs, grp->n,
					sizeof(*grp->addrs));

	if (err)
		return err;
	if (grp->n && (err = rk_buf_addf(&grp->cc, "%s%s",
					 grp->n > 1 ? "," : "", addr)))
		return err;
	grp->addrs[grp->n++] = addr;
	grp->has_to = grp->has_to || is_to;
	return RK_OK;
}

static enum rk_err plan_recipients(struct notice_env *env,
				   const struct store_ticket *t,
				   const struct store_chain_entry *who,
				   const char *envelope, struct notice_plan *p)
{
	const struct rk_config *cfg = env->cfg;
	struct mail_signer *signer = *env->signer;
	bool must = !env->force_cleartext && notify_must_encrypt(cfg, t);
	bool may = signer && cfg->gpg.encrypt != RK_ENCRYPT_NEVER;
	struct rk_buf why;
	enum rk_err err = RK_OK;

	rk_buf_init(&why, 4096);
	if (!(p->list = rk_strdup(envelope)))
		return RK_ERR_NOMEM;
	for (char *a = p->list; *a;) {
		char *comma = strchr(a, ',');

		if (comma)
			*comma = '\0';
		if ((err = rk_array_room((void **)&p->addrs, p->naddrs,
					 sizeof(*p->addrs))))
			goto cleanup;
		p->addrs[p->naddrs++] = a;
		if (!comma)
			break;
		a = comma + 1;
	}
	if (!(p->fprs_store = calloc(p->naddrs + 1, sizeof(*p->fprs_store))) ||
	    !(p->fprs = calloc(p->naddrs + 1, sizeof(*p->fprs)))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < p->naddrs && !err; i++) {
		char *fpr = p->fprs_store[i];
		bool is_to = i == 0;

		rk_buf_reset(&why);
		if (!may) {
			err = rk_buf_adds(&why, signer ? "[gpg] encrypt = never"
						       : "[gpg] mode = none");
		} else {
			err = mail_recipient_key(signer, p->addrs[i],
						 is_to && who ? who->pgp : NULL,
						 env->now, fpr, &why);
		}
		if (err)
			break;
		if (*fpr) {
			p->fprs[p->nfprs++] = fpr;
			err = group_add(&p->groups[0], p->addrs[i], is_to);
			continue;
		}
		/* a key that is there but unusable is the operator's to
		 * fix: said aloud; no key at all is the common case */
		if (may && strncmp(why.data, "key ", 4) == 0)
			rk_log_warn(env->log, "ticket %s: not encrypting to %s: %s",
				    t->id, p->addrs[i], why.data);
		else
			rk_log_debug(env->log, "ticket %s: no key for %s: %s", t->id,
				     p->addrs[i], why.data);
		if (!must) {
			err = group_add(&p->groups[1], p->addrs[i], is_to);
			continue;
		}
		if (is_to) {
			p->hold = true;
			err = rk_buf_addf(&p->why, "no usable key for %s (%s)",
					  p->addrs[i], why.data);
		} else {
			err = rk_buf_addf(&p->left_out, "%s%s (no usable key: %s)",
					  p->left_out.len ? "; " : "left out, TLP "
							  "allows them no clear text: ",
					  p->addrs[i], why.data);
		}
	}
	if (!err && p->left_out.len && !p->hold)
		rk_log_warn(env->log, "ticket %s: %s", t->id, p->left_out.data);
cleanup:
	rk_buf_release(&why);
	return err;
}

static enum rk_err hold_restricted(struct notice_env *env,
				   const struct store_ticket *t,
				   const char *why);

enum notice_outcome { NOTICE_SKIPPED, NOTICE_BUILT, NOTICE_FAILED,
		      NOTICE_HELD };

/* What tracking adds to a notice (track.h): its own acknowledgement
 * link, and for a follow-up the first notice it refers to. */
struct notice_followup {
	bool reminder;
	char *first_msgid; /* owned, NULL = this is the first */
	int64_t first_at;
	char token[TRACK_TOKEN_HEX]; /* "" = no link (no public_url) */
	char token_hash[65];         /* "" = no link */
};

/*
 * A notice is made in three steps, so that the middle one, where the
 * time goes (rendering, MIME, GnuPG), can run on any thread:
 *
 *   gather   (the store's thread) reads what the notice needs: the
 *            ticket's events, who may get what (key lookups), the
 *            follow-up, the recipient's own ticket number; decides a
 *            hold or a set-aside; writes nothing
 *   compose  (any thread, never the store) parses the events, makes the
 *            context, renders the template, builds, signs and encrypts
 *            the messages with the signer it is handed
 *   commit   (the store's thread, in ticket order) writes the outcome:
 *            the set-aside or the hold, or the messages, the ticket's
 *            change, the events carried and the token in one
 *            transaction (or, for a preview, the bytes)
 */
enum notice_step {
	STEP_DONE,     /* nothing to write: err and outcome say all */
	STEP_ONLY_RED, /* commit sets it failed: only TLP:RED events */
	STEP_HOLD,     /* commit holds it: plan.why */
	STEP_COMPOSE,  /* compose, then commit */
};

struct notice_job {
	struct store_ticket view; /* the ticket; its pointers borrowed */
	const struct store_chain_entry *who; /* into view's chain */
	enum notice_step step;
	enum rk_err err;          /* of gather or compose */
	enum notice_outcome outcome;
	/* gather */
	struct store_event *events; /* NULL once a pool worker composed */
	size_t nevents;
	struct notice_plan plan;
	struct notice_followup fu;
	char *remote;             /* the recipient's ticket number, owned */
	struct mail_keyset *keys; /* plan.fprs' keys, for any thread */
	int64_t *event_ids;
	/* compose */
	bool render_failed;       /* the template cannot be rendered: reason */
	char reason[sizeof(((struct notify_rendered *)0)->error) + 256];
	char *lang;
	struct rk_buf subject;
	/* the pool: set by the worker that composed it */
	bool composed;
};

static void job_init(struct notice_job *job)
{
	memset(job, 0, sizeof(*job));
	plan_init(&job->plan);
	rk_buf_init(&job->subject, RK_MAX_SUBJECT + 256);
}

static void job_release(struct notice_job *job)
{
	plan_release(&job->plan);
	free(job->fu.first_msgid);
	store_events_free(job->events, job->nevents);
	free(job->remote);
	mail_keyset_free(job->keys);
	free(job->event_ids);
	free(job->lang);
	rk_buf_release(&job->subject);
	memset(job, 0, sizeof(*job));
}

/* gather: the follow-up (store) and a fresh acknowledgement token (its
 * hash kept for the transaction that queues the notice). */
static enum rk_err followup_read(struct notice_env *env,
				 struct notice_job *job)
{
	struct notice_followup *fu = &job->fu;
	enum rk_err err;

	if ((err = track_notice_followup(env->store, job->view.id,
					 &fu->reminder, &fu->first_msgid,
					 &fu->first_at)))
		return err;
	if (env->cfg->relay.public_url)
		err = track_token_new(fu->token, fu->token_hash);
	return err;
}

/* compose: ctx gets ticket.ack_url with the token and "followup":
 * reminder, first_sent (UTC) when a notice went before. */
static enum rk_err followup_context(const struct notice_env *env,
				    struct notice_followup *fu, json_t *ctx)
{
	const char *base = env->cfg->relay.public_url;
	json_t *ticket = json_object_get(ctx, "ticket");
	json_t *f;
	char when[RK_TIME_TEXT];
	enum rk_err err;

	if (base && json_is_object(ticket)) {
		struct rk_buf url;
		size_t ul = strlen(base);

		rk_buf_init(&url, 4096);
		err = rk_buf_addf(&url, "%s%sack/%s", base,
				  ul && base[ul - 1] == '/' ? "" : "/", fu->token);
		if (!err && json_object_set_new(ticket, "ack_url",
						json_string(url.data)))
			err = RK_ERR_NOMEM;
		rk_buf_release(&url);
		if (err)
			return err;
	} else {
		fu->token_hash[0] = '\0'; /* no link: no token stored */
	}
	rk_time_format(fu->first_at, 0, when);
	f = json_pack("{s:b}", "reminder", fu->reminder ? 1 : 0);
	if (f && fu->first_msgid)
		json_object_set_new(f, "first_sent", json_string(when));
	if (!f || json_object_set_new(ctx, "followup", f))
		return RK_ERR_NOMEM;
	return RK_OK;
}

/* The recipient's own ticket number (an auto-reply gave it, track
 * keeps it) at the end of the subject, so that their ticket system
 * files the notice with that ticket. */
static enum rk_err notice_quote_remote(const char *remote,
				       struct rk_buf *subject)
{
	if (remote && *remote && !strstr(subject->data, remote) &&
	    !rk_str_has_ctl(remote, false))
		return rk_buf_addf(subject, " %s", remote);
	return RK_OK;
}

/* gather: the unnotified events of ticket t, due[i] of env's due
 * tickets (i >= env->ndue: not one of them).  A due ticket's come from
 * the spool, opened for it and the tickets after it when it covers none
 * (one pass over the events in file order for all of them, instead of
 * two random page reads an event); when a spool cannot be made, each
 * ticket's are read on their own, as they are for any other ticket. */
static enum rk_err gather_events(struct notice_env *env,
				 const struct store_ticket *t, size_t i,
				 struct store_event **rows, size_t *n)
{
	enum rk_err err;

	if (i < env->ndue && env->ndue > 1 && !env->spool_off) {
		if (env->spool &&
		    (i < env->spool_base ||
		     i - env->spool_base >= store_event_spool_count(env->spool))) {
			store_event_spool_close(env->spool);
			env->spool = NULL;
		}
		if (!env->spool) {
			struct timespec a, b;
			double took;

			clock_gettime(CLOCK_MONOTONIC, &a);
			err = store_event_spool_open(env->store, env->due + i,
						     env->ndue - i,
						     NOTICE_SPOOL_EVENTS,
						     &env->spool);
			clock_gettime(CLOCK_MONOTONIC, &b);
			took = (double)(b.tv_sec - a.tv_sec) +
			       (double)(b.tv_nsec - a.tv_nsec) / 1e9;
			env->t_spool += took;
			if (err == RK_ERR_NOMEM)
				return err;
			if (err) {
				rk_log_warn(env->log, "notify: the events of the "
					    "remaining %zu due tickets are read a "
					    "ticket at a time: %s",
					    env->ndue - i, rk_strerror(err));
				env->spool_off = true;
			} else {
				env->spool_base = i;
				rk_log_debug(env->log, "notify: the events of %zu "
					     "tickets spooled in %.3f s",
					     store_event_spool_count(env->spool),
					     took);
			}
		}
		if (env->spool) {
			err = store_event_spool_take(env->spool,
						     i - env->spool_base, t->id,
						     rows, n);
			if (err == RK_OK || err == RK_ERR_NOMEM)
				return err;
			if (err != RK_ERR_NOTFOUND) {
				/* the temporary file failed (logged): the
				 * database still has every event */
				rk_log_warn(env->log, "notify: the events of the "
					    "remaining due tickets are read a "
					    "ticket at a time");
				store_event_spool_close(env->spool);
				env->spool = NULL;
				env->spool_off = true;
			}
		}
	}
	return store_ticket_events(env->store, t->id, true, rows, n);
}

/* Step 1, on the store's thread: everything the notice needs from the
 * store and the keyring, into job (job_init'ed); nothing is written.
 * due_index: the ticket's place among env->due (SIZE_MAX: none). */
static void notice_gather(struct notice_env *env,
			  const struct store_ticket *ticket, size_t due_index,
			  struct notice_job *job)
{
	const struct rk_config *cfg = env->cfg;
	const struct store_ticket *t = &job->view;
	struct store_event *events;
	struct rk_buf rcpt;
	size_t red = 0, nevents;
	enum rk_err err;

	job->view = *ticket;
	if (cfg->gpg.mode == RK_SIGN_INLINE) {
		/* every notice inline: the CSV goes into the body */
		job->view.format = (char *)"inline";
	}
	job->who = level_entry(t);
	job->step = STEP_DONE;
	job->outcome = NOTICE_SKIPPED;
	rk_buf_init(&rcpt, 8192);

	if ((err = gather_events(env, t, due_index, &job->events,
				 &job->nevents)))
		goto done;
	events = job->events;
	nevents = job->nevents;
	/* TLP:RED never leaves the relay: resolve withholds such events, and
	 * should one have reached a ticket it is left out here as well */
	for (size_t i = 0, keep = 0; i < nevents; i++) {
		if (events[i].tlp == RK_TLP_RED) {
			red++;
			rk_log_error(env->log, "ticket %s: event %lld is TLP:RED: "
				     "left out of the notice", t->id,
				     (long long)events[i].id);
			store_event_release(&events[i]);
		} else if (keep++ != i) {
			events[keep - 1] = events[i];
			memset(&events[i], 0, sizeof(events[i]));
		}
		if (i + 1 == nevents)
			job->nevents = nevents = keep;
	}
	if (nevents == 0 && red && !env->preview) {
		job->step = STEP_ONLY_RED;
		goto done;
	}
	if (nevents == 0) {
		rk_log_debug(env->log, "ticket %s: no events to notify", t->id);
		goto done;
	}
	/* who may get what, before anything is rendered: a ticket held
	 * for a key needs no notice yet */
	/* the envelope is exactly the To and Cc the message carries */
	if ((err = mail_envelope(job->who && job->who->email ? job->who->email
							     : t->contact,
				 job->who ? job->who->cc : NULL, &rcpt,
				 env->log)))
		goto done;
	if ((err = plan_recipients(env, t, job->who, rcpt.data, &job->plan)))
		goto done;
	if (job->plan.hold && env->preview) {
		rk_log_warn(env->log, "ticket %s: %s; showing what approve "
			    "--cleartext would send", t->id, job->plan.why.data);
		plan_release(&job->plan);
		plan_init(&job->plan);
		env->force_cleartext = true;
		err = plan_recipients(env, t, job->who, rcpt.data, &job->plan);
		env->force_cleartext = false;
		if (err)
			goto done;
	}
	if (job->plan.hold) {
		job->step = STEP_HOLD;
		goto done;
	}
	if ((err = followup_read(env, job)) ||
	    (err = store_ticket_remote(env->store, t->id, &job->remote)))
		goto done;
	if (*env->signer && job->plan.nfprs &&
	    (err = mail_keyset_take(*env->signer,
				    (const char *const *)job->plan.fprs,
				    job->plan.nfprs, &job->keys)))
		goto done;
	if (!(job->event_ids = calloc(nevents, sizeof(*job->event_ids)))) {
		err = RK_ERR_NOMEM;
		goto done;
	}
	for (size_t i = 0; i < nevents; i++)
		job->event_ids[i] = events[i].id;
	job->step = STEP_COMPOSE;
done:
	job->err = err;
	rk_buf_release(&rcpt);
}

/* Step 2, on any thread, without the store: the messages of job (a
 * STEP_COMPOSE one), signed by signer (NULL: [gpg] mode = none); fpr is
 * the relay's key the context names. */
static enum rk_err notice_compose(const struct notice_env *env,
				  struct mail_signer *signer, const char *fpr,
				  struct notice_job *job)
{
	const struct rk_config *cfg = env->cfg;
	const struct store_ticket *t = &job->view;
	const struct store_chain_entry *who = job->who;
	const struct store_event *events = job->events;
	size_t nevents = job->nevents;
	struct notice_plan *plan = &job->plan;
	struct notice_followup *fu = &job->fu;
	struct rk_buf *subject = &job->subject;
	json_t *ctx = NULL;
	struct notify_fieldset fields;
	char *path = NULL;
	char rnd[17], attach_name[64];
	struct notify_rendered r = {NULL, NULL, ""};
	struct rk_buf tmpl, csv, msgid;
	struct mail_message mail;
	const char *mark;
	enum rk_err err;

	rk_buf_init(&tmpl, RK_MAX_TEMPLATE);
	rk_buf_init(&csv, RK_MAX_ATTACHMENT);
	rk_buf_init(&msgid, 512);
	memset(&mail, 0, sizeof(mail));
	notify_fieldset_init(&fields);

	/* each event's data read once, for the context and the CSV */
	if ((err = notify_fieldset_read(&fields, events, nevents)))
		goto cleanup;
	if ((err = notify_ticket_context_fields(cfg, t, events, &fields,
						nevents, fpr, env->now, &ctx)) ||
	    (err = followup_context(env, fu, ctx)))
		goto cleanup;
	err = notify_template_path(env->templates_dir, t->template_name,
				   t->lang, &path, &job->lang);
	if (!err)
		err = rk_buf_read_file(&tmpl, path);
	if (!err)
		err = notify_render_template(tmpl.data, tmpl.len,
					     env->partials_dir, ctx, &r,
					     env->log);
	if (err == RK_ERR_NOMEM || err == RK_ERR_IO)
		goto cleanup;
	if (err) {
		/* the template, the line and why ("line 31: partial
		 * 'tlp-enn' not found"): what an operator needs to fix it */
		snprintf(job->reason, sizeof(job->reason),
			 "template %s/%s cannot be rendered: %s",
			 t->template_name, job->lang ? job->lang : t->lang,
			 r.error[0] ? r.error : rk_strerror(err));
		job->render_failed = true;
		err = RK_OK;
		goto cleanup;
	}
	/* The tag is how replies find the ticket: it must be in the subject
	 * whatever the template says. */
	if ((err = rk_buf_addf(subject, "[%s #%s]", cfg->relay.ticket_prefix,
			       t->id)))
		goto cleanup;
	/* a reminder says so first, in the notice's language */
	mark = !fu->reminder ? ""
	       : job->lang && strcmp(job->lang, "ja") == 0 ? "【再送】"
							   : "Reminder: ";
	if (strstr(r.subject, subject->data)) {
		rk_buf_reset(subject);
		err = rk_buf_addf(subject, "%s%s", mark, r.subject);
	} else {
		err = rk_buf_addf(subject, " %s%s", mark, r.subject);
	}
	if (err || (err = notice_quote_remote(job->remote, subject)))
		goto cleanup;
	switch (notify_attach_for(t->format)) {
	case NOTIFY_ATTACH_UNKNOWN:
		/* contacts import refuses such formats; rows from before
		 * that get the default, said aloud */
		rk_log_warn(env->log, "ticket %s: the contact's format '%s' is not produced: sending CSV",
			    t->id, t->format);
		/* fall through */
	case NOTIFY_ATTACH_CSV:
		if ((err = notify_events_csv_fields(events, &fields, nevents,
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
	mail.from_name = cfg->relay.name;
	mail.from_addr = cfg->relay.from;
	mail.reply_to = cfg->relay.reply_to ? cfg->relay.reply_to
					    : cfg->relay.from;
	mail.subject = subject->data;
	mail.ticket_id = t->id;
	mail.ack_url = json_string_value(
		json_object_get(json_object_get(ctx, "ticket"), "ack_url"));
	mail.in_reply_to = fu->first_msgid;
	mail.references = fu->first_msgid;
	mail.date = env->now;
	mail.body = r.body;
	mail.tlp = rk_tlp_name(t->tlp);
	for (int g = 0; g < 2; g++) {
		struct notice_group *grp = &plan->groups[g];
		struct mail_crypt crypt = {
			.form = notify_form_for(cfg, t->format),
			.encrypt_to = g == 0 ? (const char *const *)plan->fprs : NULL,
			.nencrypt_to = g == 0 ? plan->nfprs : 0,
			.keys = g == 0 ? job->keys : NULL,
		};

		if (!grp->n)
			continue;
		rk_buf_reset(&msgid);
		rk_buf_reset(&grp->raw);
		if ((err = rk_random_hex(rnd, 8)) ||
		    (err = rk_buf_addf(&msgid, "<%s.%s@%s>", t->id, rnd,
				       rk_config_mail_domain(cfg))) ||
		    !(grp->msgid = rk_strdup(msgid.data))) {
			err = err ? err : RK_ERR_NOMEM;
			goto cleanup;
		}
		mail.message_id = grp->msgid;
		mail.to_addr = grp->addrs[0];
		mail.to_name = who && who->org && grp->has_to ? who->org : NULL;
		mail.cc = grp->cc.len ? grp->cc.data : NULL;
		if ((err = mail_build_crypt(signer, &mail,
					    signer ? &crypt : NULL,
					    &grp->raw)) ||
		    (err = mail_envelope(mail.to_addr, mail.cc, &grp->rcpt,
					 env->log)))
			goto cleanup;
	}
cleanup:
	notify_fieldset_release(&fields);
	json_decref(ctx);
	notify_rendered_release(&r);
	free(path);
	rk_buf_release(&tmpl);
	rk_buf_release(&csv);
	rk_buf_release(&msgid);
	return err;
}

/* Step 3, on the store's thread, in ticket order: the outcome of job
 * into the store (or the preview); job->outcome says what it was. */
static enum rk_err notice_commit(struct notice_env *env,
				 struct notice_job *job)
{
	const struct rk_config *cfg = env->cfg;
	const struct store_ticket *t = &job->view;
	struct notice_plan *plan = &job->plan;
	struct notice_followup *fu = &job->fu;
	struct store_message m;
	int64_t row = 0;
	bool review;
	enum rk_err err;

	if (job->err)
		return job->err;
	switch (job->step) {
	case STEP_DONE:
		return RK_OK;
	case STEP_ONLY_RED:
		err = set_aside(env, t->id, STORE_TICKET_FAILED, TICKETS_CAUSE_FAILED,
				"only TLP:RED events: nothing of it may leave the relay");
		if (!err)
			job->outcome = NOTICE_FAILED;
		return err;
	case STEP_HOLD:
		err = hold_restricted(env, t, plan->why.data);
		if (!err)
			job->outcome = NOTICE_HELD;
		return err;
	case STEP_COMPOSE:
		break;
	}
	if (job->render_failed) {
		err = set_aside(env, t->id, STORE_TICKET_FAILED,
				TICKETS_CAUSE_FAILED, job->reason);
		if (!err)
			job->outcome = NOTICE_FAILED;
		return err;
	}
	if (env->preview) {
		int shown = 0, total = !!plan->groups[0].n + !!plan->groups[1].n;

		err = RK_OK;
		for (int g = 0; g < 2 && !err; g++) {
			if (!plan->groups[g].n)
				continue;
			if (total > 1)
				err = rk_buf_addf(env->preview, "%s--- message %d of %d: "
						  "%s to %s ---\n", shown ? "\n" : "",
						  shown + 1, total, plan->groups[g].msgid,
						  plan->groups[g].rcpt.data);
			shown++;
			if (!err)
				err = rk_buf_add(env->preview, plan->groups[g].raw.data,
						 plan->groups[g].raw.len);
		}
		if (!err)
			job->outcome = NOTICE_BUILT;
		return err;
	}
	review = cfg->relay.review && !t->approved_by;
	if ((err = store_begin(env->store)))
		return err;
	for (int g = 0; g < 2 && !err; g++) {
		struct notice_group *grp = &plan->groups[g];
		int64_t one = 0;

		if (!grp->n)
			continue;
		memset(&m, 0, sizeof(m));
		m.ticket_id = (char *)t->id;
		m.direction = "out";
		m.kind = fu->reminder ? "reminder"
			 : t->level == 0 ? "notice" : "escalation";
		m.message_id = grp->msgid;
		m.mail_from = cfg->relay.from;
		m.rcpt = grp->rcpt.data;
		m.subject = job->subject.data;
		m.state = STORE_MSG_QUEUED;
		m.created_at = env->now;
		m.raw = (unsigned char *)grp->raw.data;
		m.raw_len = grp->raw.len;
		err = store_message_add(env->store, &m, &one);
		if (!err && review)
			err = store_message_to_review(env->store, one);
		if (!row)
			row = one;
	}
	struct store_ticket_change ch = {
		.id = t->id,
		.to = review ? STORE_TICKET_HELD : STORE_TICKET_NOTIFIED,
		.cause = review ? TICKETS_CAUSE_REVIEW : TICKETS_CAUSE_NOTICE,
		.level = -1, .notified = !review, .message_row = row,
		.detail = review ? "review: [relay] review = on; the notice is "
				   "built and waits for 'renraku tickets approve'"
				 : plan->left_out.len ? plan->left_out.data : NULL,
	};
	if (err ||
	    (err = tickets_transition(env->store, env->log, &ch)) ||
	    (err = store_ticket_events_mark(env->store, t->id, row,
					    job->event_ids, job->nevents)) ||
	    (fu->token_hash[0] &&
	     (err = store_ack_token_add(env->store, fu->token_hash, t->id,
					t->level,
					plan->groups[0].n ? plan->groups[0].msgid
							  : plan->groups[1].msgid)))) {
		store_rollback(env->store);
		if (err == RK_ERR_EXISTS || err == RK_ERR_TRANSITION) {
			/* moved on meanwhile: nothing to do */
			rk_log_debug(env->log, "ticket %s: already notified", t->id);
			err = RK_OK;
		}
		return err;
	}
	err = store_commit(env->store);
	if (!err)
		job->outcome = review ? NOTICE_HELD : NOTICE_BUILT;
	if (!err && review)
		rk_log_info(env->log, "ticket %s held for review: renraku tickets "
			    "show %s --raw; renraku tickets approve %s", t->id,
			    t->id, t->id);
	else if (!err)
		rk_log_info(env->log, "ticket %s: notice %s for %s (%s, %zu events%s%s)",
			    t->id, plan->groups[0].n ? plan->groups[0].msgid
						     : plan->groups[1].msgid,
			    t->contact, job->lang, job->nevents,
			    plan->groups[0].n ? ", encrypted" : "",
			    plan->groups[0].n && plan->groups[1].n
				    ? ", and a signed copy for those without a key"
				    : "");
	return err;
}

/* One ticket's notice, start to end, on the calling thread. */
static enum rk_err build_notice(struct notice_env *env,
				const struct store_ticket *t,
				enum notice_outcome *outcome)
{
	struct notice_job job;
	enum rk_err err;

	job_init(&job);
	notice_gather(env, t, SIZE_MAX, &job);
	if (!job.err && job.step == STEP_COMPOSE)
		job.err = notice_compose(env, *env->signer,
					 *env->signer ? mail_signer_fpr(*env->signer)
						      : NULL,
					 &job);
	err = notice_commit(env, &job);
	*outcome = job.outcome;
	job_release(&job);
	return err;
}

/* A ticket that may go out only encrypted (TLP:AMBER, or [gpg] encrypt
 * = always) whose recipient has no usable key waits for a person.  The
 * reason names what the key lookup found and the key the contact's pgp
 * value leads to in the contacts directory, so the operator knows what
 * to fix; or they release it in clear with approve --cleartext. */
static enum rk_err hold_restricted(struct notice_env *env,
				   const struct store_ticket *t,
				   const char *why)
{
	const struct store_chain_entry *who = level_entry(t);
	char *contacts_dir = NULL;
	struct rk_buf reason;
	enum rk_err err;

	rk_buf_init(&reason, 4096);
	if (t->tlp >= RK_TLP_AMBER)
		err = rk_buf_addf(&reason, "TLP:%s goes out only encrypted to a "
				  "key of the recipient: %s; ",
				  rk_tlp_name(t->tlp), why);
	else
		err = rk_buf_addf(&reason, "[gpg] encrypt = always: %s; ", why);
	if (!err && env->cfg->relay.contacts && who && who->pgp)
		err = rk_config_path(env->cfg, env->cfg->relay.contacts,
				     &contacts_dir);
	if (!err && contacts_dir) {
		size_t before = reason.len;

		err = contacts_key_explain(contacts_dir, who->pgp, env->now,
					   env->log, &reason, NULL);
		if (err && err != RK_ERR_NOMEM) {
			/* the check could not run: say so, hold anyway */
			reason.len = before;
			reason.data[before] = '\0';
			err = rk_buf_adds(&reason, "its key could not be checked");
		}
		if (!err)
			err = rk_buf_adds(&reason, "; ");
	}
	if (!err)
		err = rk_buf_adds(&reason, "approve with --cleartext to send it "
					   "signed only");
	if (err == RK_ERR_LIMIT)
		err = RK_OK; /* a long reason is cut, the ticket still held */
	if (!err)
		err = set_aside(env, t->id, STORE_TICKET_HELD,
				TICKETS_CAUSE_NEEDS_KEY, reason.data);
	free(contacts_dir);
	rk_buf_release(&reason);
	return err;
}

/* An approved ticket whose notice was built for review: its messages go
 * to the queue exactly as the reviewer saw them.  *done tells whether
 * there were any. */
static enum rk_err release_reviewed(struct notice_env *env,
				    const struct store_ticket *t, bool *done)
{
	int64_t row = 0;
	size_t n = 0;
	enum rk_err err;

	*done = false;
	if ((err = store_begin(env->store)))
		return err;
	if ((err = store_ticket_release_review(env->store, t->id, &row, &n)))
		goto fail;
	if (n) {
		struct store_ticket_change ch = {
			.id = t->id, .to = STORE_TICKET_NOTIFIED,
			.cause = TICKETS_CAUSE_NOTICE, .level = -1,
			.notified = true, .message_row = row,
			.actor = t->approved_by,
		};

		if ((err = tickets_transition(env->store, env->log, &ch)))
			goto fail;
	}
	if ((err = store_commit(env->store)))
		return err;
	*done = n > 0;
	if (n)
		rk_log_info(env->log, "ticket %s: %zu reviewed message%s queued as "
			    "approved by %s", t->id, n, n == 1 ? "" : "s",
			    t->approved_by);
	return RK_OK;
fail:
	store_rollback(env->store);
	return err;
}

/* ------------------------------------------------------------ the pool */

/*
 * notify_due_tickets with [gpg] threads > 1: the main thread gathers the
 * next tickets (at most `window` ahead of the oldest not yet committed)
 * and commits them in ticket order; the workers compose, each with a
 * signer (GPGME context) of its own on the same GnuPG home and key, so
 * that their gpg processes talk to the one gpg-agent at the same time.
 * A job is handed over under the mutex and nobody else touches it
 * until it is marked composed; the store never leaves the main thread.
 */
struct notice_pool;

struct notice_worker {
	pthread_t tid;
	bool started;
	struct mail_signer *signer; /* owned; NULL with [gpg] mode = none */
	struct notice_pool *pool;
};

struct notice_pool {
	pthread_mutex_t mu;
	pthread_cond_t work;         /* a job was queued, or stop */
	pthread_cond_t done;         /* a job was composed */
	struct notice_job **queue;   /* ring of `window` jobs to compose */
	size_t window, qhead, qlen;
	bool stop;
	const struct notice_env *env;
	const char *fpr;
	struct notice_worker *workers;
	size_t nworkers;
};

static void *pool_worker(void *arg)
{
	struct notice_worker *w = arg;
	struct notice_pool *p = w->pool;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct notice_job *job;

		while (!p->stop && p->qlen == 0)
			pthread_cond_wait(&p->work, &p->mu);
		if (p->stop)
			break;
		job = p->queue[p->qhead];
		p->qhead = (p->qhead + 1) % p->window;
		p->qlen--;
		pthread_mutex_unlock(&p->mu);
		if (!job->err && job->step == STEP_COMPOSE)
			job->err = notice_compose(p->env, w->signer, p->fpr, job);
		/* the events were compose's: freed here, not on the commit
		 * thread, whose pace sets the stage's (commit needs only
		 * event_ids and nevents) */
		store_events_free(job->events, job->nevents);
		job->events = NULL;
		pthread_mutex_lock(&p->mu);
		job->composed = true;
		pthread_cond_broadcast(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void pool_push(struct notice_pool *p, struct notice_job *job)
{
	pthread_mutex_lock(&p->mu);
	p->queue[(p->qhead + p->qlen) % p->window] = job;
	p->qlen++;
	pthread_cond_signal(&p->work);
	pthread_mutex_unlock(&p->mu);
}

static void pool_wait(struct notice_pool *p, struct notice_job *job)
{
	pthread_mutex_lock(&p->mu);
	while (!job->composed)
		pthread_cond_wait(&p->done, &p->mu);
	pthread_mutex_unlock(&p->mu);
}

/* Stop and join the workers (what they compose now is finished, what is
 * queued is left), close their signers, free the pool. */
static void pool_stop(struct notice_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->mu);
	for (size_t i = 0; i < p->nworkers; i++) {
		if (p->workers[i].started)
			pthread_join(p->workers[i].tid, NULL);
		mail_signer_close(p->workers[i].signer);
	}
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->work);
	pthread_mutex_destroy(&p->mu);
	free(p->workers);
	free(p->queue);
	free(p);
}

/* n workers, each with its own signer for the key of *env->signer. */
static enum rk_err pool_start(const struct notice_env *env, size_t n,
			      size_t window, struct notice_pool **out)
{
	struct notice_pool *p;
	enum rk_err err = RK_OK;

	*out = NULL;
	if (!(p = calloc(1, sizeof(*p))))
		return RK_ERR_NOMEM;
	if (pthread_mutex_init(&p->mu, NULL)) {
		free(p);
		return RK_ERR_NOMEM;
	}
	if (pthread_cond_init(&p->work, NULL)) {
		pthread_mutex_destroy(&p->mu);
		free(p);
		return RK_ERR_NOMEM;
	}
	if (pthread_cond_init(&p->done, NULL)) {
		pthread_cond_destroy(&p->work);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return RK_ERR_NOMEM;
	}
	p->env = env;
	p->window = window;
	p->fpr = *env->signer ? mail_signer_fpr(*env->signer) : NULL;
	if (!(p->queue = calloc(window, sizeof(*p->queue))) ||
	    !(p->workers = calloc(n, sizeof(*p->workers)))) {
		err = RK_ERR_NOMEM;
		goto fail;
	}
	p->nworkers = n;
	for (size_t i = 0; i < n; i++) {
		p->workers[i].pool = p;
		/* the same key as the main signer, without listing it again */
		if (*env->signer &&
		    (err = mail_signer_clone(*env->signer, &p->workers[i].signer)))
			goto fail;
		/* its gpg runs forked from a small process, not this one
		 * (when the helper is not installed: in process) */
		if (p->workers[i].signer)
			(void)mail_signer_spawn_helper(p->workers[i].signer);
	}
	/* jansson seeds its hash function on first use: done here (a no-op
	 * when already seeded), before any thread may race for it */
	json_object_seed(0);
	for (size_t i = 0; i < n; i++) {
		if (pthread_create(&p->workers[i].tid, NULL, pool_worker,
				   &p->workers[i])) {
			err = rk_fail(env->log, RK_ERR_NOMEM,
				      "cannot start notice thread %zu of %zu", i + 1, n);
			goto fail;
		}
		p->workers[i].started = true;
	}
	*out = p;
	return RK_OK;
fail:
	pool_stop(p);
	return err;
}

/* Seconds on the monotonic clock since *t0, and *t0 moved to now: the
 * debug line's split of the stage (not the clock of record). */
static double lap(struct timespec *t0)
{
	struct timespec t1;
	double d;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	d = rk_seconds_between(t0, &t1);
	*t0 = t1;
	return d;
}

/* [gpg] threads, 0 = the number of online cores. */
static size_t notice_threads(const struct rk_config *cfg)
{
	long n = cfg->gpg.threads;

	if (n <= 0)
		n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 64 ? 64 : (size_t)n;
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

/* What the loop does with a committed notice's result. */
static enum rk_err account(struct notice_env *env,
			   const struct store_ticket *t, enum rk_err err,
			   enum notice_outcome outcome,
			   struct notify_stats *stats)
{
	if (err && operator_fault(err)) {
		rk_log_error(env->log, "ticket %s: %s; it stays due", t->id,
			     rk_strerror(err));
		return err; /* the next tickets would fail alike */
	}
	if (err) {
		/* Something in this ticket's data (a limit, a value
		 * no header may carry): retrying cannot help, so the
		 * ticket is set aside for an operator. */
		char reason[256];

		snprintf(reason, sizeof(reason),
			 "the notice cannot be built: %s", rk_strerror(err));
		if ((err = set_aside(env, t->id, STORE_TICKET_FAILED,
				     TICKETS_CAUSE_FAILED, reason)))
			return err;
		stats->failed++;
		return RK_OK;
	}
	if (outcome == NOTICE_BUILT)
		stats->built++;
	else if (outcome == NOTICE_HELD)
		stats->held++;
	else if (outcome == NOTICE_FAILED)
		stats->failed++;
	return RK_OK;
}

/* ------------------------------------------------------------ commits */

/*
 * With a pool, the commits run on a thread of their own with a second
 * connection to the same database (store_open_sibling): while it writes
 * notice n (and SQLite writes its WAL), the main thread gathers notice
 * n + 1 on its own connection.  It commits strictly in ticket order, the
 * jobs the main thread gathered, each once composed; the first error it
 * cannot set aside stops it, and the main thread with it.  Everything it
 * shares with the main thread is under the pool's mutex.
 */
struct committer {
	pthread_t tid;
	bool started;
	struct notice_env env;      /* the main one's, with its own store */
	struct notice_pool *pool;
	struct notice_job *jobs;    /* the window, shared with the main thread */
	size_t window;
	size_t gi, ci;              /* gathered, committed (under pool->mu) */
	bool done;                  /* nothing more will be gathered */
	enum rk_err err;            /* the error that stopped it */
	struct notify_stats *stats; /* its writes under pool->mu's order */
	pthread_cond_t gathered, committed;
	double t_commit;
};

static void *committer_run(void *arg)
{
	struct committer *c = arg;
	struct notice_pool *p = c->pool;
	struct timespec t0;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct notice_job *job;
		enum rk_err err;

		while (c->ci == c->gi && !c->done)
			pthread_cond_wait(&c->gathered, &p->mu);
		if (c->ci == c->gi)
			break;
		job = &c->jobs[c->ci % c->window];
		while (!job->composed)
			pthread_cond_wait(&p->done, &p->mu);
		pthread_mutex_unlock(&p->mu);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		err = notice_commit(&c->env, job);
		c->t_commit += lap(&t0);
		err = account(&c->env, &job->view, err, job->outcome, c->stats);
		job_release(job);
		pthread_mutex_lock(&p->mu);
		c->ci++;
		if (err)
			c->err = err;
		pthread_cond_broadcast(&c->committed);
		if (err)
			break;
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

/* notify_due_tickets' loop with a pool and a committer: the main thread
 * gathers (and releases approved tickets once nothing is in flight). */
static enum rk_err drive_committer(struct notice_env *env,
				   struct notice_pool *pool,
				   struct committer *c,
				   const struct store_ticket *due, size_t ndue,
				   double *t_gather, double *t_wait)
{
	size_t gi = 0;
	struct timespec t0;
	enum rk_err err = RK_OK;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (gi < ndue) {
		const struct store_ticket *t = &due[gi];
		bool approved = t->approved_by != NULL;
		struct notice_job *job;

		lap(&t0);
		pthread_mutex_lock(&pool->mu);
		/* room in the window; an approved ticket's reviewed messages
		 * go out in ticket order: what is in flight commits first */
		while (!c->err &&
		       (gi - c->ci >= c->window || (approved && c->ci < gi)))
			pthread_cond_wait(&c->committed, &pool->mu);
		err = c->err;
		pthread_mutex_unlock(&pool->mu);
		*t_wait += lap(&t0);
		if (err)
			return RK_OK; /* the committer's, returned by the caller */
		if (approved) {
			bool released;

			/* nothing in flight: the committer waits, idle */
			if ((err = release_reviewed(env, t, &released)))
				return err;
			if (released) {
				pthread_mutex_lock(&pool->mu);
				c->stats->built++;
				gi++;
				c->gi = c->ci = gi;
				pthread_mutex_unlock(&pool->mu);
				continue;
			}
		}
		job = &c->jobs[gi % c->window];
		job_init(job);
		notice_gather(env, t, gi, job);
		*t_gather += lap(&t0);
		gi++;
		pthread_mutex_lock(&pool->mu);
		c->gi = gi;
		pthread_cond_signal(&c->gathered);
		pthread_mutex_unlock(&pool->mu);
		pool_push(pool, job);
	}
	return RK_OK;
}

enum rk_err notify_due_tickets(struct rk_store *store,
			       const struct rk_config *cfg,
			       const struct rk_log *log,
			       struct mail_signer **signer, int64_t now,
			       struct notify_stats *stats)
{
	struct notice_env env = {store, cfg, log, signer, NULL, NULL, now, NULL,
				 false};
	struct store_ticket *due = NULL;
	struct notice_pool *pool = NULL;
	struct notice_job *jobs = NULL;
	struct rk_store *cstore = NULL;
	size_t ndue = 0, nthreads, window = 1, gi = 0, ci = 0;
	const char *fpr;
	/* where the main thread's time goes (debug line) */
	double t_gather = 0, t_compose = 0, t_wait = 0, t_commit = 0;
	struct timespec t0;
	enum rk_err err;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if ((err = rk_config_path(cfg, cfg->relay.templates,
				  &env.templates_dir)) ||
	    (err = rk_path_join(env.templates_dir, "_partials",
				&env.partials_dir)) ||
	    (err = store_tickets_due(store, now, &due, &ndue)))
		goto cleanup;
	if (ndue == 0)
		goto cleanup;
	env.due = due;
	env.ndue = ndue;
	/* The signer is the operator's: when it cannot be opened, say so
	 * and leave every ticket due for the run after the fix. */
	if ((err = open_signer(&env)))
		goto cleanup;
	fpr = *signer ? mail_signer_fpr(*signer) : NULL;
	nthreads = notice_threads(cfg);
	if (nthreads > ndue)
		nthreads = ndue;
	/* a pool even for one thread: then one notice is signed at a time,
	 * as without, while this thread gathers the next and the commit
	 * thread writes the last (a single ticket: no pool) */
	if (ndue > 1) {
		window = 2 * nthreads;
		if ((err = pool_start(&env, nthreads, window, &pool)))
			goto cleanup;
		rk_log_debug(log, "notify: %zu tickets due, %zu threads", ndue,
			     nthreads);
	}
	if (!(jobs = calloc(window, sizeof(*jobs)))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	/* with a pool, the commits on a thread of their own when the
	 * database can have a second connection (not one in memory) */
	if (pool && store_open_sibling(store, cfg->store.busy_timeout,
				       &cstore) == RK_OK) {
		struct committer c = {
			.env = env, .pool = pool, .jobs = jobs, .window = window,
			.stats = stats,
		};
		enum rk_err cerr;

		c.env.store = cstore;
		if (pthread_cond_init(&c.gathered, NULL)) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		if (pthread_cond_init(&c.committed, NULL)) {
			pthread_cond_destroy(&c.gathered);
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		if (pthread_create(&c.tid, NULL, committer_run, &c)) {
			err = rk_fail(log, RK_ERR_NOMEM, "cannot start the commit thread");
		} else {
			err = drive_committer(&env, pool, &c, due, ndue, &t_gather,
					      &t_wait);
			pthread_mutex_lock(&pool->mu);
			c.done = true;
			pthread_cond_signal(&c.gathered);
			pthread_mutex_unlock(&pool->mu);
			pthread_join(c.tid, NULL);
		}
		/* the committer's error came first (in ticket order) */
		cerr = c.err;
		err = cerr ? cerr : err;
		gi = c.gi;
		ci = c.ci;
		t_commit = c.t_commit;
		pthread_cond_destroy(&c.committed);
		pthread_cond_destroy(&c.gathered);
		goto cleanup;
	}
	while (ci < ndue) {
		struct notice_job *job;

		/* gather ahead, at most `window` tickets in flight */
		while (gi < ndue && gi - ci < window) {
			const struct store_ticket *t = &due[gi];

			if (t->approved_by) {
				bool released;

				/* its reviewed messages go out in ticket
				 * order: what is in flight commits first */
				if (ci < gi)
					break;
				if ((err = release_reviewed(&env, t, &released)))
					goto cleanup;
				if (released) {
					stats->built++;
					gi++;
					ci++;
					continue;
				}
			}
			job = &jobs[gi % window];
			job_init(job);
			lap(&t0);
			notice_gather(&env, t, gi, job);
			t_gather += lap(&t0);
			gi++;
			if (pool) {
				pool_push(pool, job);
			} else {
				if (!job->err && job->step == STEP_COMPOSE)
					job->err = notice_compose(&env, *signer, fpr,
								  job);
				job->composed = true;
				t_compose += lap(&t0);
			}
		}
		if (ci == gi)
			continue; /* a released ticket: gather on */
		job = &jobs[ci % window];
		lap(&t0);
		if (pool)
			pool_wait(pool, job);
		t_wait += lap(&t0);
		err = notice_commit(&env, job);
		t_commit += lap(&t0);
		err = account(&env, &job->view, err, job->outcome, stats);
		job_release(job);
		ci++;
		if (err)
			goto cleanup;
	}
cleanup:
	if (ndue)
		rk_log_debug(log, "notify: %zu tickets: gather %.3f s, compose %.3f s "
			     "(main thread; gather %.3f s spooling events), waiting "
			     "for the pool %.3f s, commit %.3f s", ci, t_gather,
			     t_compose, env.t_spool, t_wait, t_commit);
	pool_stop(pool);
	store_event_spool_close(env.spool);
	/* what was gathered and not committed: nothing of it was written */
	for (; jobs && ci < gi; ci++)
		job_release(&jobs[ci % window]);
	free(jobs);
	store_close(cstore);
	store_tickets_free(due, ndue);
	free(env.templates_dir);
	free(env.partials_dir);
	return err;
}

enum rk_err notify_preview(struct rk_store *store, const struct rk_config *cfg,
			   const struct rk_log *log,
			   struct mail_signer **signer,
			   const struct store_ticket *t, int64_t now,
			   struct rk_buf *out)
{
	struct notice_env env = {store, cfg, log, signer, NULL, NULL, now, out,
				 false};
	enum notice_outcome outcome = NOTICE_SKIPPED;
	enum rk_err err;

	if ((err = rk_config_path(cfg, cfg->relay.templates,
				  &env.templates_dir)) ||
	    (err = rk_path_join(env.templates_dir, "_partials",
				&env.partials_dir)) ||
	    (err = open_signer(&env)))
		goto cleanup;
	err = build_notice(&env, t, &outcome);
	if (!err && outcome != NOTICE_BUILT)
		err = rk_fail(log, RK_ERR_NOTFOUND, "ticket %s: no notice to build "
			      "(no events left to notify, or its template "
			      "failed)", t->id);
cleanup:
	free(env.templates_dir);
	free(env.partials_dir);
	return err;
}

enum rk_err notify_key_ready(const struct rk_config *cfg,
			     const struct rk_log *log,
			     struct mail_signer **signer,
			     const struct store_ticket *t, int64_t now,
			     bool *ready, struct rk_buf *why)
{
	const struct store_chain_entry *who = level_entry(t);
	char fpr[41];
	enum rk_err err;

	*ready = false;
	if (cfg->gpg.mode == RK_SIGN_NONE || cfg->gpg.encrypt == RK_ENCRYPT_NEVER)
		return rk_buf_adds(why, cfg->gpg.mode == RK_SIGN_NONE
					 ? "[gpg] mode = none" : "[gpg] encrypt = never");
	if ((err = notify_signer_from_config(cfg, log, signer)))
		return err;
	err = mail_recipient_key(*signer, who && who->email ? who->email
							    : t->contact,
				 who ? who->pgp : NULL, now, fpr, why);
	*ready = !err && fpr[0];
	return err;
}
