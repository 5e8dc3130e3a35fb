/* Resolved events -> tickets.  Each event joins the open ticket of its
 * level-0 address and template, or starts one; an event that cannot be
 * ticketed is undone alone and set aside as failed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "renraku/notify.h"
#include "renraku/resolve.h"
#include "renraku/tickets.h"

#define AGGREGATE_BATCH 5000
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

/* The event's chain, read and decoded once per batch (borrowed from the
 * cache; a full cache decodes into *scratch, which the caller releases). */
static enum rk_err decode_chain(struct rk_store *store,
				const struct store_event *ev,
				struct resolve_chain *out)
{
	char *text = NULL;
	enum rk_err err;

	if (ev->chain)
		return resolve_chain_decode(ev->chain, out);
	if ((err = store_chain_text(store, ev->chain_id, &text)))
		return err;
	err = resolve_chain_decode(text, out);
	free(text);
	return err;
}

static enum rk_err cached_chain(struct rk_store *store, struct agg_cache *c,
				const struct store_event *ev,
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
			if ((err = decode_chain(store, ev, &c->chains[k].chain)))
				return err;
			c->chains[k].id = ev->chain_id;
			*out = &c->chains[k].chain;
			return RK_OK;
		}
	}
	if ((err = decode_chain(store, ev, scratch)))
		return err;
	*out = scratch;
	return RK_OK;
}

/* The template a type uses, looked up once per run: *out borrowed from
 * the cache when it has the type, else made (owned: *owned_out = *out,
 * the caller frees it; NULL when borrowed). */
static enum rk_err cached_template(struct agg_cache *c, const char *templates_dir,
				   const char *type, const char **out,
				   char **owned_out)
{
	enum rk_err err;

	*owned_out = NULL;
	for (size_t i = 0; type && i < c->ntypes; i++)
		if (strcmp(c->types[i].type, type) == 0) {
			*out = c->types[i].tmpl;
			return RK_OK;
		}
	if ((err = notify_template_for_type(templates_dir, type, owned_out)))
		return err;
	*out = *owned_out;
	if (type && c->ntypes < TYPE_SLOTS) {
		char *t = rk_strdup(type), *m = rk_strdup(*owned_out);

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

/* The severities whose policy sends a follow-up (a bit each). */
static unsigned followup_severities(const struct rk_config *cfg)
{
	unsigned mask = 0;

	for (unsigned i = 0; i < RK_SEV_COUNT; i++)
		if (cfg->escalation[i].remind_after > 0 ||
		    cfg->escalation[i].escalate_after > 0)
			mask |= 1u << i;
	return mask;
}

/* ------------------------------------------------------------ groups
 *
 * The events of a pass are grouped by what picks their ticket: level-0
 * contact, template and TLP class.  A group remembers its ticket (id,
 * events so far, severity), so an event costs no query; the rows are
 * written per batch (store_ticket_add_events, store_events_mark_ticketed).
 * Whenever a group has to ask the store again (first event, ticket full,
 * a followed ticket whose severity left the follow-up mask), the writes
 * still pending are flushed first when they could change the answer, so
 * that every event joins the ticket the one-event-at-a-time rule of
 * store_ticket_find_open / _find_followed gives. */

/* The group table starts at GROUP_SLOTS (a power of 2), doubles when a
 * batch fills 3/4 of it (a batch of 10,000 events can name that many
 * groups), and is emptied and shrunk back after a commit that leaves it
 * over 3/4 of GROUP_SLOTS. */
#define GROUP_SLOTS 4096

struct group {
	char *key;  /* contact \x1f template \x1f class; owned; NULL = empty */
	bool valid; /* slot is the ticket the next event joins */
	bool followed;
	struct store_ticket_slot slot; /* counts include pending events */
};

struct pending {
	char ticket[32];
	int64_t event_id;
	int tlp, severity;
};

struct agg {
	struct rk_store *store;
	const struct rk_config *cfg;
	const struct rk_log *log;
	struct agg_cache *cache;
	const char *templates_dir;
	int64_t now;
	unsigned followup_mask;
	struct tickets_stats *stats;
	struct group *groups; /* gcap slots, owned */
	size_t ngroups, gcap;
	struct pending *pend;
	struct store_ticket_join *joins;
	size_t npend, cap;
	bool foreign; /* a pending ticket that no group's key finds */
	char (*due)[32];
	size_t ndue, capdue;
	/* the events' state is written by the caller (tickets_pass_take:
	 * already 'ticketed' when they come), not marked by flush */
	bool premarked;
	char *templates_owned; /* templates_dir, owned */
	struct rk_buf key;     /* the event's group key, reused */
};

/* Every group's key freed (the slots themselves left as they are). */
static void groups_free_keys(struct agg *a)
{
	for (size_t i = 0; i < a->gcap; i++)
		free(a->groups[i].key);
	a->ngroups = 0;
}

static void groups_clear(struct agg *a)
{
	groups_free_keys(a);
	memset(a->groups, 0, a->gcap * sizeof(*a->groups));
}

/* Twice the slots, every group (and its state) moved over. */
static enum rk_err groups_grow(struct agg *a)
{
	size_t cap = a->gcap * 2;
	struct group *g;

	if (cap < a->gcap || cap > SIZE_MAX / sizeof(*g) ||
	    !(g = calloc(cap, sizeof(*g))))
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < a->gcap; i++) {
		size_t j;

		if (!a->groups[i].key)
			continue;
		j = (size_t)rk_hash(a->groups[i].key,
				    strlen(a->groups[i].key)) & (cap - 1);
		while (g[j].key)
			j = (j + 1) & (cap - 1);
		g[j] = a->groups[i];
	}
	free(a->groups);
	a->groups = g;
	a->gcap = cap;
	return RK_OK;
}

/* The group of key (created empty when new; *is_new tells).  The
 * pointer holds until the next call. */
static enum rk_err group_get(struct agg *a, const char *key,
			     struct group **out, bool *is_new)
{
	size_t mask, i;
	enum rk_err err;

	/* one slot is always empty: the probe below ends */
	if (a->ngroups + 1 > a->gcap / 4 * 3 && (err = groups_grow(a)))
		return err;
	mask = a->gcap - 1;
	i = (size_t)rk_hash(key, strlen(key)) & mask;
	for (;; i = (i + 1) & mask) {
		struct group *g = &a->groups[i];

		if (!g->key) {
			if (!(g->key = rk_strdup(key)))
				return RK_ERR_NOMEM;
			a->ngroups++;
			*out = g;
			*is_new = true;
			return RK_OK;
		}
		if (strcmp(g->key, key) == 0) {
			*out = g;
			*is_new = false;
			return RK_OK;
		}
	}
}

/* Write what is pending: the ticket_events rows and ticket counts in
 * one statement each, the events marked by range, full tickets due. */
static enum rk_err flush(struct agg *a)
{
	long long changed = 0;
	enum rk_err err;

	if (a->npend == 0)
		return RK_OK;
	for (size_t i = 0; i < a->npend; i++) {
		a->joins[i].ticket_id = a->pend[i].ticket;
		a->joins[i].event_id = a->pend[i].event_id;
		a->joins[i].tlp = a->pend[i].tlp;
		a->joins[i].severity = a->pend[i].severity;
	}
	if ((err = store_ticket_add_events(a->store, a->joins, a->npend)))
		return err;
	if (a->premarked)
		goto due;
	/* pending events are in id order, and every resolved event between
	 * the first and the last is pending (the others were set aside) */
	if ((err = store_events_mark_ticketed(a->store, a->pend[0].event_id,
					      a->pend[a->npend - 1].event_id,
					      &changed)))
		return err;
	if (changed != (long long)a->npend)
		return rk_fail(a->log, RK_ERR_DB,
			       "tickets: %lld of %zu events could be marked "
			       "ticketed (changed meanwhile?)",
			       changed, a->npend);
due:
	for (size_t i = 0; i < a->ndue; i++)
		if ((err = store_ticket_due_now(a->store, a->due[i], a->now)))
			return err;
	a->npend = 0;
	a->ndue = 0;
	a->foreign = false;
	return RK_OK;
}

/* Create the ticket ev starts (its chain, template language, usable
 * level), in a savepoint: a fault undoes it alone.  *slot gets it. */
static enum rk_err create_ticket(struct agg *a, const struct store_event *ev,
				 const char *tmpl, struct store_ticket_slot *slot,
				 bool *matches)
{
	const struct resolve_chain *chain = NULL;
	const struct resolve_contact *first;
	struct resolve_chain scratch;
	struct store_ticket t;
	const char *templates_dir = a->templates_dir;
	const struct rk_log *log = a->log;
	enum rk_err err;
	bool in_savepoint = false;

	memset(&t, 0, sizeof(t));
	memset(&scratch, 0, sizeof(scratch));
	/* a new ticket takes the whole chain: decoded only now */
	if ((err = cached_chain(a->store, a->cache, ev, &scratch, &chain)))
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
	t.created_at = a->now;
	t.send_after = a->now + a->cfg->aggregate.window;
	if (!(t.contact = rk_strdup(first->email)) ||
	    (first->format && !(t.format = rk_strdup(first->format))) ||
	    !(t.template_name = rk_strdup(tmpl))) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	err = pick_lang(templates_dir, t.template_name, first,
			chain->country ? chain->country : ev->source_cc,
			&t.lang);
	if (err == RK_ERR_TEMPLATE && strcmp(t.template_name, "default") != 0) {
		rk_log_warn(log, "template '%s' has no usable language file: using 'default'",
			    t.template_name);
		free(t.template_name);
		if (!(t.template_name = rk_strdup("default"))) {
			err = RK_ERR_NOMEM;
			goto cleanup;
		}
		err = pick_lang(templates_dir, t.template_name, first,
				chain->country ? chain->country : ev->source_cc,
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
		/* an address that bounced before is not used again until
		 * cleared: the ticket starts at the first level that works
		 * (or level 0 when none does) */
		int usable;

		if ((err = tickets_usable_level(a->store, t.chain, t.nchain,
						t.level, &usable)))
			goto cleanup;
		if (usable > t.level) {
			rk_log_info(log, "event %lld: %s is failing: the "
					 "ticket starts at level %d",
				    (long long)ev->id, t.contact, usable);
			t.level = usable;
		}
	}
	if ((err = store_savepoint(a->store)))
		goto cleanup;
	in_savepoint = true;
	if ((err = store_ticket_create(a->store, &t)))
		goto cleanup;
	{
		struct store_ticket_change ch = {
			.id = t.id, .to = STORE_TICKET_OPEN,
			.cause = TICKETS_CAUSE_CREATED, .level = t.level,
			.detail = t.contact,
		};

		if ((err = tickets_transition(a->store, log, &ch)))
			goto cleanup;
	}
	err = store_savepoint_release(a->store);
	in_savepoint = false;
	if (err)
		goto cleanup;
	memcpy(slot->id, t.id, sizeof(slot->id));
	slot->event_count = 0;
	slot->severity = (int)t.severity;
	/* the next event of the group finds this ticket only when it was
	 * made with the group's own contact and template */
	*matches = strcmp(t.contact, ev->chain_contact) == 0 &&
		   strcmp(t.template_name, tmpl) == 0;
	a->stats->tickets_created++;
cleanup:
	if (in_savepoint)
		store_savepoint_rollback(a->store);
	resolve_chain_release(&scratch);
	store_ticket_release(&t);
	return err;
}

static enum rk_err pending_room(struct agg *a)
{
	if (a->npend == a->cap) {
		size_t cap = a->cap ? a->cap * 2 : 1024;
		struct pending *p = realloc(a->pend, cap * sizeof(*p));
		struct store_ticket_join *j;

		if (!p)
			return RK_ERR_NOMEM;
		a->pend = p;
		if (!(j = realloc(a->joins, cap * sizeof(*j))))
			return RK_ERR_NOMEM;
		a->joins = j;
		a->cap = cap;
	}
	if (a->ndue == a->capdue) {
		size_t cap = a->capdue ? a->capdue * 2 : 16;
		char(*d)[32] = realloc(a->due, cap * sizeof(*d));

		if (!d)
			return RK_ERR_NOMEM;
		a->due = d;
		a->capdue = cap;
	}
	return RK_OK;
}

/* ev joins its group's ticket (found or made now); the rows are
 * written by the next flush. */
static enum rk_err ticket_for_event(struct agg *a, const struct store_event *ev)
{
	const struct rk_config *cfg = a->cfg;
	bool restricted = ev->tlp >= RK_TLP_AMBER, is_new = false;
	const char *tmpl = NULL;
	char *tmpl_owned = NULL;
	struct group *g;
	/* "contact US template US 0|1", in the pass's buffer (reset here:
	 * no allocation an event) */
	struct rk_buf *key = &a->key;
	struct pending *p;
	enum rk_err err;

	rk_buf_reset(key);
	if (!ev->chain_contact || !*ev->chain_contact) {
		err = RK_ERR_PARSE;
		goto cleanup;
	}
	if ((err = cached_template(a->cache, a->templates_dir, ev->type, &tmpl,
				   &tmpl_owned)) ||
	    (err = rk_buf_adds(key, ev->chain_contact)) ||
	    (err = rk_buf_addc(key, '\x1f')) ||
	    (err = rk_buf_adds(key, tmpl)) ||
	    (err = rk_buf_adds(key, restricted ? "\x1f" "1" : "\x1f" "0")) ||
	    (err = group_get(a, key->data, &g, &is_new)) ||
	    (err = pending_room(a)))
		goto cleanup;
	if (g->valid &&
	    (g->slot.event_count >= cfg->aggregate.max_events ||
	     (g->followed && !((a->followup_mask >> g->slot.severity) & 1))))
		g->valid = false;
	if (!g->valid) {
		bool found = false;

		/* what is pending could change the store's answer: the
		 * group's own events (counts), or a ticket made under
		 * another group's key */
		if ((!is_new || a->foreign) && (err = flush(a)))
			goto cleanup;
		if ((err = store_ticket_find_open_slot(
			     a->store, ev->chain_contact, tmpl, restricted,
			     cfg->aggregate.max_events, &g->slot, &found)))
			goto cleanup;
		g->followed = false;
		/* a notified ticket nobody answered yet: the event goes out
		 * with its reminder or next level (tracking) */
		if (!found) {
			if ((err = store_ticket_find_followed_slot(
				     a->store, ev->chain_contact, tmpl,
				     restricted, cfg->aggregate.max_events,
				     a->followup_mask, &g->slot, &found)))
				goto cleanup;
			g->followed = found;
		}
		g->valid = found;
		if (!found) {
			bool matches = false;

			if ((err = create_ticket(a, ev, tmpl, &g->slot, &matches)))
				goto cleanup;
			g->valid = matches;
			g->followed = false;
			if (!matches)
				a->foreign = true;
		}
	}
	p = &a->pend[a->npend++];
	memcpy(p->ticket, g->slot.id, sizeof(p->ticket));
	p->event_id = ev->id;
	p->tlp = (int)ev->tlp;
	p->severity = (int)ev->severity;
	g->slot.event_count++;
	if ((int)ev->severity > g->slot.severity)
		g->slot.severity = (int)ev->severity;
	/* A full ticket goes out now; the next event starts a new one. */
	if (g->slot.event_count >= cfg->aggregate.max_events)
		memcpy(a->due[a->ndue++], g->slot.id, sizeof(a->due[0]));
	a->stats->ticketed++;
cleanup:
	free(tmpl_owned);
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

static enum rk_err aggregate_event(struct agg *a, const struct store_event *ev)
{
	char reason[256];
	enum rk_err err;

	a->stats->events_seen++;
	err = ticket_for_event(a, ev);
	if (!err || !event_fault(err))
		return err;
	snprintf(reason, sizeof(reason), "cannot be ticketed: %s",
		 err == RK_ERR_PARSE ? "its stored contact chain cannot be read"
		 : err == RK_ERR_TEMPLATE ? "no usable template"
					  : rk_strerror(err));
	a->stats->failed++;
	rk_log_error(a->log, "event %lld (%s): %s; set aside (renraku events retry --state failed)",
		     (long long)ev->id, ev->type, reason);
	return store_event_set_state(a->store, ev->id, STORE_EVENT_FAILED,
				     reason);
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
	return tickets_aggregate_progress(store, cfg, log, now, stats, NULL);
}

/* Set a pass up (templates checked, caches empty). */
static enum rk_err pass_open(struct agg *a, struct rk_store *store,
			     const struct rk_config *cfg,
			     const struct rk_log *log, int64_t now,
			     struct tickets_stats *stats)
{
	enum rk_err err;

	memset(a, 0, sizeof(*a));
	if ((err = rk_config_path(cfg, cfg->relay.templates,
				  &a->templates_owned)))
		return err;
	if ((err = check_templates(log, a->templates_owned)))
		return err;
	a->store = store;
	a->cfg = cfg;
	a->log = log;
	a->templates_dir = a->templates_owned;
	a->now = now;
	a->followup_mask = followup_severities(cfg);
	a->stats = stats;
	if (!(a->cache = calloc(1, sizeof(*a->cache))) ||
	    !(a->groups = calloc(GROUP_SLOTS, sizeof(*a->groups))))
		return RK_ERR_NOMEM;
	a->gcap = GROUP_SLOTS;
	rk_buf_init(&a->key, 4096);
	return RK_OK;
}

static void pass_release(struct agg *a)
{
	if (a->groups)
		groups_free_keys(a);
	free(a->groups);
	free(a->pend);
	free(a->joins);
	free(a->due);
	cache_release(a->cache);
	free(a->templates_owned);
	rk_buf_release(&a->key);
	memset(a, 0, sizeof(*a));
}

/* A batch's events, in the open transaction: each into its ticket, the
 * rows written by the final flush. */
static enum rk_err pass_batch(struct agg *a, const struct store_event *rows,
			      size_t n)
{
	enum rk_err err = RK_OK;

	for (size_t i = 0; !err && i < n; i++)
		err = aggregate_event(a, &rows[i]);
	if (!err)
		err = flush(a);
	cache_chains_clear(a->cache); /* chain ids are per batch's events */
	return err;
}

/* After a committed batch: the groups are emptied when too many. */
static void pass_committed(struct agg *a)
{
	struct group *g;

	if (a->ngroups <= GROUP_SLOTS / 4 * 3)
		return;
	/* nothing pending: they ask again */
	if (a->gcap > GROUP_SLOTS && (g = calloc(GROUP_SLOTS, sizeof(*g)))) {
		groups_free_keys(a);
		free(a->groups);
		a->groups = g;
		a->gcap = GROUP_SLOTS;
		return;
	}
	groups_clear(a);
}

struct tickets_pass {
	struct agg a;
};

enum rk_err tickets_pass_open(struct rk_store *store,
			      const struct rk_config *cfg,
			      const struct rk_log *log, int64_t now,
			      struct tickets_stats *stats,
			      struct tickets_pass **out)
{
	struct tickets_pass *tp = calloc(1, sizeof(*tp));
	enum rk_err err;

	*out = NULL;
	if (!tp)
		return RK_ERR_NOMEM;
	if ((err = pass_open(&tp->a, store, cfg, log, now, stats))) {
		pass_release(&tp->a);
		free(tp);
		return err;
	}
	tp->a.premarked = true;
	*out = tp;
	return RK_OK;
}

enum rk_err tickets_pass_take(struct tickets_pass *tp,
			      const struct store_event *ev, size_t n)
{
	return pass_batch(&tp->a, ev, n);
}

void tickets_pass_committed(struct tickets_pass *tp)
{
	if (tp)
		pass_committed(&tp->a);
}

void tickets_pass_rolled_back(struct tickets_pass *tp)
{
	if (!tp)
		return;
	/* nothing pending survives, and no group may keep a ticket the
	 * rollback took away */
	tp->a.npend = 0;
	tp->a.ndue = 0;
	tp->a.foreign = false;
	groups_clear(&tp->a);
}

void tickets_pass_close(struct tickets_pass *tp)
{
	if (!tp)
		return;
	pass_release(&tp->a);
	free(tp);
}

enum rk_err tickets_aggregate_progress(struct rk_store *store,
				       const struct rk_config *cfg,
				       const struct rk_log *log, int64_t now,
				       struct tickets_stats *stats,
				       struct rk_progress *p)
{
	struct store_event *rows = NULL;
	struct agg a;
	int64_t after = 0;
	size_t n = 0;
	enum rk_err err;

	if ((err = pass_open(&a, store, cfg, log, now, stats)))
		goto cleanup;
	for (;;) {
		/* read in the transaction: every resolved event of the
		 * batch's id range is in the batch (mark by range) */
		if ((err = store_begin(store)))
			break;
		if ((err = store_events_resolved(store, after, AGGREGATE_BATCH,
						 &rows, &n)) ||
		    n == 0) {
			store_rollback(store);
			break;
		}
		after = rows[n - 1].id;
		err = pass_batch(&a, rows, n);
		store_events_free(rows, n);
		rows = NULL;
		if (err) {
			store_rollback(store);
			break;
		}
		if ((err = store_commit(store)))
			break;
		pass_committed(&a);
		rk_progress_show(p, stats->events_seen, false);
	}
cleanup:
	pass_release(&a);
	return err;
}
