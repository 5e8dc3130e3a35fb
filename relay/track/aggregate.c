/* New events -> tickets.  Each event is resolved to its contact chain and
 * joins the open ticket of its level-0 address and template, or is set
 * aside: TLP:RED (withheld), suppressed, or with no contact (unresolved). */
#include <stdlib.h>
#include <string.h>

#include "renraku/track.h"

#define AGGREGATE_BATCH 1000

/* The notice language a country gets when its contact names none. */
static const char *country_lang(const char *cc)
{
	static const struct {
		const char *cc, *lang;
	} table[] = {
		{"JP", "ja"}, {"DE", "de"}, {"AT", "de"}, {"FR", "fr"},
		{"KR", "ko"}, {"CN", "zh"}, {"TW", "zh"}, {"ES", "es"},
		{"IT", "it"}, {"NL", "nl"}, {"BR", "pt"}, {"PT", "pt"},
		{"RU", "ru"},
	};

	for (size_t i = 0; cc && i < RK_ARRAY_LEN(table); i++)
		if (rk_str_ieq(cc, table[i].cc))
			return table[i].lang;
	return NULL;
}

/* Language for a notice to `who`: the contact's, else the country's, else
 * English; then whatever the template has (it falls back to en).  When
 * the template has neither, the caller falls back to "default". */
static enum rk_err pick_lang(const char *templates_dir, const char *tmpl,
			     const struct resolve_contact *who,
			     const char *country, char **out)
{
	const char *want = who->lang;
	char *path = NULL;
	enum rk_err err;

	if (!want || !*want)
		want = country_lang(country);
	if (!want)
		want = "en";
	err = notify_template_path(templates_dir, tmpl, want, &path, out);
	free(path);
	return err;
}

static enum rk_err chain_to_ticket(const struct resolve_chain *chain,
				   struct store_ticket *t)
{
	t->chain = calloc(chain->count, sizeof(*t->chain));
	if (!t->chain)
		return RK_ERR_NOMEM;
	t->nchain = chain->count;
	for (size_t i = 0; i < chain->count; i++) {
		const struct resolve_contact *c = &chain->entry[i];
		struct store_chain_entry *e = &t->chain[i];

		e->level = c->level;
		if ((c->email && !(e->email = rk_strdup(c->email))) ||
		    (c->cc && !(e->cc = rk_strdup(c->cc))) ||
		    (c->org && !(e->org = rk_strdup(c->org))) ||
		    (c->lang && !(e->lang = rk_strdup(c->lang))) ||
		    (c->format && !(e->format = rk_strdup(c->format))) ||
		    (c->pgp && !(e->pgp = rk_strdup(c->pgp))) ||
		    (c->source && !(e->source = rk_strdup(c->source))))
			return RK_ERR_NOMEM;
	}
	return RK_OK;
}

/* Join ev to its ticket, creating the ticket when there is none. */
static enum rk_err ticket_for_event(struct rk_store *store,
				    const struct rk_config *cfg,
				    const struct rk_log *log,
				    const char *templates_dir,
				    const struct store_event *ev,
				    const struct resolve_chain *chain,
				    int64_t now, struct track_stats *stats)
{
	const struct resolve_contact *first = &chain->entry[0];
	struct store_ticket t;
	char *tmpl = NULL, id[32];
	long long count = 0;
	bool found;
	enum rk_err err;

	memset(&t, 0, sizeof(t));
	if ((err = notify_template_for_type(templates_dir, ev->type, &tmpl)))
		goto cleanup;
	if ((err = store_ticket_find_open(store, first->email, tmpl,
					  ev->tlp >= RK_TLP_AMBER,
					  cfg->aggregate.max_events, id,
					  &found)))
		goto cleanup;
	if (!found) {
		t.level = first->level;
		t.tlp = ev->tlp;
		t.severity = ev->severity;
		t.created_at = now;
		t.send_after = now + cfg->aggregate.window;
		if (!(t.contact = rk_strdup(first->email)) ||
		    (first->format && !(t.format = rk_strdup(first->format)))) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		t.template_name = tmpl;
		tmpl = NULL;
		err = pick_lang(templates_dir, t.template_name, first,
				chain->country ? chain->country : ev->source_cc,
				&t.lang);
		if (err == RK_ERR_TEMPLATE &&
		    strcmp(t.template_name, "default") != 0) {
			rk_log_warn(log, "template '%s' has no usable language file: using 'default'",
				    t.template_name);
			free(t.template_name);
			if (!(t.template_name = rk_strdup("default"))) {
				err = RK_ERR_NOMEM;
				goto cleanup;
			}
			err = pick_lang(templates_dir, t.template_name, first,
					chain->country ? chain->country
						       : ev->source_cc,
					&t.lang);
		}
		if (err) {
			rk_log_error(log, "no usable template for '%s' in '%s' (not even default/en.mustache)",
				     ev->type, templates_dir);
			goto cleanup;
		}
		if ((err = chain_to_ticket(chain, &t)) ||
		    (err = store_ticket_create(store, &t)))
			goto cleanup;
		memcpy(id, t.id, sizeof(id));
		stats->tickets_created++;
	}
	if ((err = store_ticket_add_event(store, id, ev, &count)) ||
	    (err = store_event_set_state(store, ev->id, STORE_EVENT_TICKETED,
					 NULL)))
		goto cleanup;
	/* A full ticket goes out now; the next event starts a new one. */
	if (count >= cfg->aggregate.max_events &&
	    (err = store_ticket_due_now(store, id, now)))
		goto cleanup;
	stats->ticketed++;
cleanup:
	free(tmpl);
	store_ticket_release(&t);
	return err;
}

static enum rk_err aggregate_event(struct rk_store *store,
				   const struct rk_config *cfg,
				   const struct rk_log *log,
				   struct resolver *resolver,
				   const char *templates_dir,
				   const struct store_event *ev, int64_t now,
				   struct track_stats *stats)
{
	struct resolve_chain chain;
	const char *reason = NULL;
	enum rk_err err;

	stats->events_seen++;
	if (ev->tlp == RK_TLP_RED) {
		stats->withheld++;
		return store_event_set_state(store, ev->id,
					     STORE_EVENT_WITHHELD,
					     "TLP:RED never leaves the relay");
	}
	if (resolve_suppressed(resolver, ev, now, &reason)) {
		stats->suppressed++;
		return store_event_set_state(store, ev->id,
					     STORE_EVENT_SUPPRESSED, reason);
	}
	memset(&chain, 0, sizeof(chain));
	err = resolve_event(resolver, ev, &chain);
	if (err == RK_ERR_TEMPFAIL) {
		/* Left new: the next run tries again. */
		rk_log_warn(log, "event %lld: contact lookup failed for now",
			    (long long)ev->id);
		return RK_OK;
	}
	if (err == RK_ERR_NOTFOUND || (!err && chain.count == 0)) {
		resolve_chain_release(&chain);
		stats->unresolved++;
		rk_log_info(log, "event %lld (%s %s): no contact found",
			    (long long)ev->id, ev->type,
			    ev->source_ip ? ev->source_ip
			    : ev->source_fqdn ? ev->source_fqdn : "-");
		return store_event_set_state(store, ev->id,
					     STORE_EVENT_UNRESOLVED,
					     "no contact found");
	}
	if (!err)
		err = ticket_for_event(store, cfg, log, templates_dir, ev,
				       &chain, now, stats);
	resolve_chain_release(&chain);
	return err;
}

enum rk_err track_aggregate(struct rk_store *store,
			    const struct rk_config *cfg,
			    const struct rk_log *log, struct resolver *resolver,
			    int64_t now, struct track_stats *stats)
{
	struct store_event *rows = NULL;
	char *templates_dir = NULL;
	int64_t after = 0;
	size_t n = 0;
	enum rk_err err;

	if ((err = rk_config_path(cfg, cfg->relay.templates, &templates_dir)))
		return err;
	for (;;) {
		if ((err = store_events_new(store, after, AGGREGATE_BATCH, &rows,
					    &n)) ||
		    n == 0)
			break;
		if ((err = store_begin(store))) {
			store_events_free(rows, n);
			break;
		}
		for (size_t i = 0; !err && i < n; i++) {
			after = rows[i].id;
			err = aggregate_event(store, cfg, log, resolver,
					      templates_dir, &rows[i], now,
					      stats);
		}
		store_events_free(rows, n);
		rows = NULL;
		if (err) {
			store_rollback(store);
			break;
		}
		if ((err = store_commit(store)))
			break;
	}
	free(templates_dir);
	return err;
}
