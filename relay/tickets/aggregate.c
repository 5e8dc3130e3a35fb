/* Resolved events -> tickets.  Each event joins the open ticket of its
 * level-0 address and template, or starts one; an event that cannot be
 * ticketed is undone alone and set aside as failed. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "renraku/notify.h"
#include "renraku/resolve.h"
#include "renraku/tickets.h"

#define AGGREGATE_BATCH 1000
#define CHAIN_SLOTS 2048   /* decoded chains kept per batch (power of 2) */
#define TYPE_SLOTS 64      /* template names kept per run */

/* What one run reuses: the chains it decoded (events of one subject
 * share one) and the template each type uses. */
struct agg_cache {
	struct {
		int64_t id;   /* 0 = empty */
		struct resolve_chain chain;
	} chains[CHAIN_SLOTS];
	struct {
		char *type, *tmpl;
	} types[TYPE_SLOTS];
	size_t ntypes;
};

static void cache_chains_clear(struct agg_cache *c)
{
	for (size_t i = 0; i < CHAIN_SLOTS; i++) {
		if (c->chains[i].id)
			resolve_chain_release(&c->chains[i].chain);
		c->chains[i].id = 0;
	}
}

static void cache_release(struct agg_cache *c)
{
	if (!c)
		return;
	cache_chains_clear(c);
	for (size_t i = 0; i < c->ntypes; i++) {
		free(c->types[i].type);
		free(c->types[i].tmpl);
	}
	free(c);
}

/* The event's chain, decoded once per batch (borrowed from the cache;
 * a full cache decodes into *scratch, which the caller releases). */
static enum rk_err cached_chain(struct agg_cache *c, const struct store_event *ev,
				struct resolve_chain *scratch,
				const struct resolve_chain **out)
{
	size_t slot = (size_t)ev->chain_id & (CHAIN_SLOTS - 1);
	enum rk_err err;

	for (size_t probe = 0; ev->chain_id > 0 && probe < 8; probe++) {
		size_t k = (slot + probe) & (CHAIN_SLOTS - 1);

		if (c->chains[k].id == ev->chain_id) {
			*out = &c->chains[k].chain;
			return RK_OK;
		}
		if (c->chains[k].id == 0) {
			if ((err = resolve_chain_decode(ev->chain, &c->chains[k].chain)))
				return err;
			c->chains[k].id = ev->chain_id;
			*out = &c->chains[k].chain;
			return RK_OK;
		}
	}
	if ((err = resolve_chain_decode(ev->chain, scratch)))
		return err;
	*out = scratch;
	return RK_OK;
}

/* The template a type uses, looked up once per run.  Caller frees *out. */
static enum rk_err cached_template(struct agg_cache *c, const char *templates_dir,
				   const char *type, char **out)
{
	enum rk_err err;

	for (size_t i = 0; type && i < c->ntypes; i++)
		if (strcmp(c->types[i].type, type) == 0) {
			*out = rk_strdup(c->types[i].tmpl);
			return *out ? RK_OK : RK_ERR_NOMEM;
		}
	if ((err = notify_template_for_type(templates_dir, type, out)))
		return err;
	if (type && c->ntypes < TYPE_SLOTS) {
		char *t = rk_strdup(type), *m = rk_strdup(*out);

		if (!t || !m) {
			free(t);
			free(m);
			return RK_OK; /* not cached: still correct */
		}
		c->types[c->ntypes].type = t;
		c->types[c->ntypes].tmpl = m;
		c->ntypes++;
	}
	return RK_OK;
}

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
				    struct agg_cache *cache,
				    const char *templates_dir,
				    const struct store_event *ev,
				    int64_t now, struct tickets_stats *stats)
{
	const struct resolve_chain *chain = NULL;
	const struct resolve_contact *first;
	struct resolve_chain scratch;
	struct store_ticket t;
	char *tmpl = NULL, id[32];
	long long count = 0;
	bool found;
	enum rk_err err;

	memset(&t, 0, sizeof(t));
	memset(&scratch, 0, sizeof(scratch));
	if (!ev->chain_contact || !*ev->chain_contact) {
		err = RK_ERR_PARSE;
		goto cleanup;
	}
	if ((err = cached_template(cache, templates_dir, ev->type, &tmpl)))
		goto cleanup;
	if ((err = store_ticket_find_open(store, ev->chain_contact, tmpl,
					  ev->tlp >= RK_TLP_AMBER,
					  cfg->aggregate.max_events, id,
					  &found)))
		goto cleanup;
	if (!found) {
		/* a new ticket takes the whole chain: decoded only now */
		if ((err = cached_chain(cache, ev, &scratch, &chain)))
			goto cleanup;
		if (chain->count == 0 ||
		    !rk_str_ieq(chain->entry[0].email, ev->chain_contact)) {
			err = RK_ERR_PARSE;
			goto cleanup;
		}
		first = &chain->entry[0];
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
			rk_log_error(log, "event %lld: no usable template for '%s' in '%s'",
				     (long long)ev->id, ev->type, templates_dir);
			goto cleanup;
		}
		if ((err = chain_to_ticket(chain, &t)))
			goto cleanup;
		{
			/* an address that bounced before is not used again
			 * until cleared: the ticket starts at the first level
			 * that works (or level 0 when none does) */
			int usable;

			if ((err = tickets_usable_level(store, t.chain, t.nchain,
							t.level, &usable)))
				goto cleanup;
			if (usable > t.level) {
				rk_log_info(log, "event %lld: %s is failing: the "
						 "ticket starts at level %d",
					    (long long)ev->id, t.contact, usable);
				t.level = usable;
			}
		}
		if ((err = store_ticket_create(store, &t)))
			goto cleanup;
		memcpy(id, t.id, sizeof(id));
		struct store_ticket_change ch = {
			.id = id, .to = STORE_TICKET_OPEN,
			.cause = TICKETS_CAUSE_CREATED, .level = t.level,
			.detail = t.contact,
		};
		if ((err = tickets_transition(store, log, &ch)))
			goto cleanup;
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
	resolve_chain_release(&scratch);
	free(tmpl);
	store_ticket_release(&t);
	return err;
}

/* Errors that belong to one event (its data, its template): the event
 * is set aside and the batch goes on.  Anything else (the database,
 * memory) stops the stage. */
static bool event_fault(enum rk_err err)
{
	return err == RK_ERR_TEMPLATE || err == RK_ERR_INVAL ||
	       err == RK_ERR_PARSE || err == RK_ERR_LIMIT ||
	       err == RK_ERR_NOTFOUND;
}

static enum rk_err aggregate_event(struct rk_store *store,
				   const struct rk_config *cfg,
				   const struct rk_log *log,
				   struct agg_cache *cache,
				   const char *templates_dir,
				   const struct store_event *ev, int64_t now,
				   struct tickets_stats *stats)
{
	char reason[256];
	enum rk_err err;

	stats->events_seen++;
	if ((err = store_savepoint(store)))
		return err;
	err = ticket_for_event(store, cfg, log, cache, templates_dir, ev, now,
			       stats);
	if (!err)
		return store_savepoint_release(store);
	if (!event_fault(err)) {
		store_savepoint_rollback(store);
		return err;
	}
	snprintf(reason, sizeof(reason), "cannot be ticketed: %s",
		 err == RK_ERR_PARSE ? "its stored contact chain cannot be read"
		 : err == RK_ERR_TEMPLATE ? "no usable template"
					  : rk_strerror(err));
	if ((err = store_savepoint_rollback(store)))
		return err;
	stats->failed++;
	rk_log_error(log, "event %lld (%s): %s; set aside (renraku events retry --state failed)",
		     (long long)ev->id, ev->type, reason);
	return store_event_set_state(store, ev->id, STORE_EVENT_FAILED, reason);
}

/* The templates directory must at least hold default/en.mustache: its
 * absence is the operator's problem, not every event's. */
static enum rk_err check_templates(const struct rk_log *log, const char *dir)
{
	char *path = NULL, *lang = NULL;
	enum rk_err err = notify_template_path(dir, "default", "en", &path,
					       &lang);

	if (!err && access(path, R_OK) != 0)
		err = RK_ERR_NOTFOUND;
	free(path);
	free(lang);
	if (err == RK_ERR_NOMEM)
		return err;
	if (err)
		return rk_fail(log, RK_ERR_CONFIG,
			       "templates directory '%s' has no readable default/en.mustache "
			       "(check [relay] templates)",
			       dir);
	return RK_OK;
}

enum rk_err tickets_aggregate(struct rk_store *store,
			      const struct rk_config *cfg,
			      const struct rk_log *log, int64_t now,
			      struct tickets_stats *stats)
{
	struct store_event *rows = NULL;
	struct agg_cache *cache = NULL;
	char *templates_dir = NULL;
	int64_t after = 0;
	size_t n = 0;
	enum rk_err err;

	if ((err = rk_config_path(cfg, cfg->relay.templates, &templates_dir)))
		return err;
	if ((err = check_templates(log, templates_dir)))
		goto cleanup;
	if (!(cache = calloc(1, sizeof(*cache)))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (;;) {
		if ((err = store_events_resolved(store, after, AGGREGATE_BATCH,
						 &rows, &n)) ||
		    n == 0)
			break;
		if ((err = store_begin(store))) {
			store_events_free(rows, n);
			break;
		}
		for (size_t i = 0; !err && i < n; i++) {
			after = rows[i].id;
			err = aggregate_event(store, cfg, log, cache,
					      templates_dir, &rows[i], now,
					      stats);
		}
		store_events_free(rows, n);
		rows = NULL;
		cache_chains_clear(cache); /* chain ids are per batch's events */
		if (err) {
			store_rollback(store);
			break;
		}
		if ((err = store_commit(store)))
			break;
	}
cleanup:
	cache_release(cache);
	free(templates_dir);
	return err;
}
