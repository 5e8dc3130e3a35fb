/*
 * The resolver: the configured contact sources in order, the chain rules
 * (levels, repeats skipped) and the suppression rules.
 *
 * Sources come from [resolve] sources, registered by name in
 * known_sources below (one constructor each); network sources are
 * skipped when offline, but for those with a cache (rdap).  The country
 * a source learns at level 0 (RDAP's "country") reaches level 2 when the
 * event had none; an enriching source (cymru) fills in a missing origin
 * AS and country before level 0 is asked.  Suppressions
 * do not depend on the sources: they are loaded from the store once and
 * indexed like the constituency.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

#define RESOLVE_MAX_SOURCES 8

struct supp_rule {
	char *type;   /* NULL = any */
	int64_t until; /* 0 = forever */
	char *reason; /* the rule's reason, or "suppressed by FILE:LINE" */
};

/* Scratch for one level of a batch: the queries still open there. */
struct level_pass {
	size_t *idx;                  /* batch index of each open query */
	struct resolve_query *qs;     /* their queries, in idx order */
	struct resolve_contact *outs;
	enum rk_err *errs;
	bool *found;                  /* per batch index */
	bool *later;                  /* a source could not tell now */
	struct resolve_query *q2;     /* the batch's queries, countries
					 learnt from level 0 and 1 added */
	struct resolve_hint *hints;   /* what an enriching source found */
	char (*cc)[3];                /* countries taken from hints (q2
					 points into these) */
};

struct resolver {
	const struct rk_log *log;
	bool offline;
	struct resolve_source sources[RESOLVE_MAX_SOURCES];
	size_t nsources;
	struct supp_rule *rules;
	size_t nrules;
	struct match_index supp_ix;
	int64_t contacts_gen; /* the contact set the sources loaded */
	struct level_pass scratch; /* resolve_batch's, grown as needed */
	size_t scratch_cap;
	long long lookups[RESOLVE_MAX_SOURCES]; /* queries each source was handed */
};

/* Sources renraku knows by name.  Registration: a source built into this
 * version has its constructor here (one file each under relay/resolve/);
 * NULL means "known name, not built", which is an error when the
 * configuration asks for it online. */
static enum rk_err make_local(struct rk_store *store, const struct rk_config *cfg,
			      const struct rk_log *log, bool offline,
			      struct resolve_source *out)
{
	(void)cfg;
	(void)offline;
	return local_source_new(store, log, out);
}

static const struct {
	const char *name;
	bool network;
	bool cache;       /* answers from its cache when offline */
	source_ctor make; /* NULL = not built into this version */
} known_sources[] = {
	{"local", false, false, make_local},
	{"rdap", true, true, rdap_source_new},
	{"whois", true, false, whois_source_new},
	{"abusix", true, false, abusix_source_new},
	{"cymru", true, false, cymru_source_new},
	{"security.txt", true, false, sectxt_source_new},
};

void resolve_chain_release(struct resolve_chain *chain)
{
	if (!chain)
		return;
	for (size_t i = 0; i < chain->count && i < RESOLVE_MAX_LEVELS; i++)
		resolve_contact_release(&chain->entry[i]);
	free(chain->country);
	memset(chain, 0, sizeof(*chain));
}

void resolve_free(struct resolver *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nsources; i++)
		if (r->sources[i].free)
			r->sources[i].free(r->sources[i].self);
	for (size_t i = 0; i < r->nrules; i++) {
		free(r->rules[i].type);
		free(r->rules[i].reason);
	}
	free(r->rules);
	match_index_release(&r->supp_ix);
	free(r->scratch.idx);
	free(r->scratch.qs);
	free(r->scratch.outs);
	free(r->scratch.errs);
	free(r->scratch.found);
	free(r->scratch.later);
	free(r->scratch.q2);
	free(r->scratch.hints);
	free(r->scratch.cc);
	free(r);
}

static enum rk_err add_source(struct resolver *r, struct rk_store *store,
			      const struct rk_config *cfg, const char *name)
{
	enum rk_err err;
	size_t k;

	for (k = 0; k < RK_ARRAY_LEN(known_sources); k++)
		if (strcmp(name, known_sources[k].name) == 0)
			break;
	if (k == RK_ARRAY_LEN(known_sources))
		return rk_fail(r->log, RK_ERR_CONFIG,
			       "[resolve] sources: unknown contact source '%s' "
			       "(known: local, rdap, whois, abusix, cymru, security.txt)",
			       name);
	for (size_t i = 0; i < r->nsources; i++) {
		if (strcmp(r->sources[i].name, name) == 0) {
			rk_log_debug(r->log, "[resolve] sources names '%s' twice; "
					     "the second is ignored", name);
			return RK_OK;
		}
	}
	if (known_sources[k].network && r->offline && !known_sources[k].cache) {
		rk_log_debug(r->log, "contact source '%s' skipped: offline", name);
		return RK_OK;
	}
	if (!known_sources[k].make)
		return rk_fail(r->log, RK_ERR_UNSUPPORTED,
			       "[resolve] sources: contact source '%s' is not built "
			       "into this version of renraku", name);
	if (r->nsources == RESOLVE_MAX_SOURCES)
		return rk_fail(r->log, RK_ERR_CONFIG,
			       "[resolve] sources: more than %d sources",
			       RESOLVE_MAX_SOURCES);
	if ((err = known_sources[k].make(store, cfg, r->log, r->offline,
					 &r->sources[r->nsources])))
		return err;
	r->nsources++;
	return RK_OK;
}

/* Split the comma-separated list and add each source. */
static enum rk_err add_sources(struct resolver *r, struct rk_store *store,
			       const struct rk_config *cfg, const char *list)
{
	char name[64];
	const char *p = list ? list : "", *item;
	size_t n;
	enum rk_err err = RK_OK;

	while (!err && rk_list_next(&p, &item, &n)) {
		if (n >= sizeof(name))
			return rk_fail(r->log, RK_ERR_CONFIG,
				       "[resolve] sources: source name too long");
		memcpy(name, item, n);
		name[n] = '\0';
		if (n)
			err = add_source(r, store, cfg, name);
	}
	return err;
}

/* A rule from a row: type (NULL = any) and the reason shown. */
static enum rk_err rule_init(struct supp_rule *rule,
			     const struct store_suppression *row)
{
	struct rk_buf reason;
	enum rk_err err;

	memset(rule, 0, sizeof(*rule));
	rk_buf_init(&reason, 4096);
	if (row->reason && *row->reason)
		err = rk_buf_adds(&reason, row->reason);
	else
		err = rk_buf_addf(&reason, "suppressed by %s",
				  row->source ? row->source : "suppress.csv");
	if (err)
		goto cleanup;
	rule->reason = rk_buf_detach(&reason, NULL);
	rule->until = row->until;
	if (row->type && *row->type && strcmp(row->type, "*") != 0)
		rule->type = rk_strdup(row->type);
	if (!rule->reason || (row->type && *row->type &&
			      strcmp(row->type, "*") != 0 && !rule->type)) {
		free(rule->reason);
		free(rule->type);
		err = RK_ERR_NOMEM;
	}
cleanup:
	rk_buf_release(&reason);
	return err;
}

static enum rk_err load_suppressions(struct resolver *r,
				     struct rk_store *store)
{
	struct store_suppression *rows = NULL;
	size_t n = 0, skipped = 0;
	enum rk_err err;

	if (store && (err = store_suppressions_load(store, &rows, &n)))
		return err;
	r->rules = calloc(n ? n : 1, sizeof(*r->rules));
	if (!r->rules) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	err = RK_OK;
	for (size_t i = 0; i < n && !err; i++) {
		struct match_spec m;
		char why[256];

		err = match_parse(rows[i].match, true, &m, why, sizeof(why));
		if (err == RK_ERR_INVAL) {
			rk_log_debug(r->log, "suppression %s: %s",
				     rows[i].source ? rows[i].source : "?", why);
			skipped++;
			err = RK_OK;
		} else if (!err && !(err = rule_init(&r->rules[r->nrules], &rows[i]))) {
			err = match_index_add(&r->supp_ix, &m, (uint32_t)r->nrules);
			r->nrules++;
		}
		match_release(&m);
	}
	if (skipped)
		rk_log_warn(r->log, "%zu suppression rules cannot be used (re-import the contacts directory)",
			    skipped);
	if (!err)
		err = match_index_build(&r->supp_ix);
cleanup:
	store_suppressions_free(rows, n);
	return err;
}

enum rk_err resolve_new(struct resolver **out, struct rk_store *store,
			const struct rk_config *cfg, const struct rk_log *log,
			bool offline)
{
	struct resolver *r = calloc(1, sizeof(*r));
	enum rk_err err;

	*out = NULL;
	if (!r)
		return RK_ERR_NOMEM;
	r->log = log;
	r->offline = offline;
	match_index_init(&r->supp_ix);
	/* read before the contacts: an import after this is seen as newer */
	err = store ? store_contacts_generation(store, &r->contacts_gen) : RK_OK;
	if (!err)
		err = add_sources(r, store, cfg,
				  cfg ? cfg->resolve.sources : "local");
	if (!err)
		err = load_suppressions(r, store);
	if (err) {
		resolve_free(r);
		return err;
	}
	*out = r;
	return RK_OK;
}

static bool email_repeats(const struct resolve_chain *chain,
			  const char *email)
{
	for (size_t i = 0; i < chain->count; i++)
		if (rk_str_ieq(chain->entry[i].email, email))
			return true;
	return false;
}

void resolver_source_stats(const struct resolver *r, struct resolve_stats *st)
{
	st->nsources = 0;
	for (size_t i = 0; i < r->nsources && i < RESOLVE_STATS_SOURCES; i++) {
		struct resolve_source_stats *o = &st->sources[st->nsources++];
		const struct resolve_source *src = &r->sources[i];

		memset(o, 0, sizeof(*o));
		snprintf(o->name, sizeof(o->name), "%s", src->name ? src->name : "?");
		o->lookups = r->lookups[i];
		if (src->counts) {
			o->cache_hits = src->counts->cache_hits;
			o->remote_queries = src->counts->remote_queries;
		}
	}
}

int64_t resolver_contacts_generation(const struct resolver *r)
{
	return r->contacts_gen;
}

enum rk_err resolve_add_source(struct resolver *r,
			       const struct resolve_source *src)
{
	if (r->nsources == RESOLVE_MAX_SOURCES) {
		if (src->free)
			src->free(src->self);
		return rk_fail(r->log, RK_ERR_LIMIT,
			       "more than %d contact sources", RESOLVE_MAX_SOURCES);
	}
	r->sources[r->nsources++] = *src;
	return RK_OK;
}

/* Whether query q asks anything at level. */
static bool level_applies(const struct resolve_query *q, int level)
{
	if (level == 1)
		return q->asn || (q->domain && q->has_addr);
	if (level == 2)
		return q->country != NULL;
	return true;
}

static enum rk_err set_country(const struct resolve_query *q,
			       struct resolve_chain *out)
{
	if (!q->country)
		return RK_OK;
	out->country = rk_strdup(q->country);
	if (!out->country)
		return RK_ERR_NOMEM;
	for (char *p = out->country; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 32);
	return RK_OK;
}


/* Before level 1 a query without an AS number takes the origin AS a
 * registry named at level 0; before level 2 one without a country the
 * country a registry named (strings borrowed from the chain). */
static void learn_from_lower(struct resolve_query *qs, size_t n,
			     const struct resolve_chain *chains, int level)
{
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < chains[i].count; k++) {
			const struct resolve_contact *c = &chains[i].entry[k];

			if (level == 1 && !qs[i].asn && c->asn)
				qs[i].asn = c->asn;
			if (level == 2 && !qs[i].country && c->country)
				qs[i].country = c->country;
		}
	}
}

static enum rk_err run_level(struct resolver *r, const struct resolve_query *qs,
			     size_t n, int level, struct level_pass *lp,
			     struct resolve_chain *chains, enum rk_err *errs)
{
	enum rk_err err = RK_OK;

	memset(lp->found, 0, n * sizeof(*lp->found));
	memset(lp->later, 0, n * sizeof(*lp->later));
	for (size_t s = 0; s < r->nsources; s++) {
		size_t m = 0;

		for (size_t i = 0; i < n; i++)
			if (!errs[i] && !lp->found[i] && level_applies(&qs[i], level)) {
				lp->idx[m] = i;
				lp->qs[m++] = qs[i];
			}
		if (m == 0)
			break;
		memset(lp->outs, 0, m * sizeof(*lp->outs));
		memset(lp->errs, 0, m * sizeof(*lp->errs));
		r->lookups[s] += (long long)m;
		err = r->sources[s].lookup(r->sources[s].self, lp->qs, m, level,
					   lp->outs, lp->errs);
		for (size_t k = 0; k < m; k++) {
			size_t i = lp->idx[k];
			struct resolve_contact *c = &lp->outs[k];

			if (err || lp->errs[k] != RK_OK) {
				/* the next source may know; "later" wins over
				 * "nobody" only when no source answers */
				if (!err && lp->errs[k] == RK_ERR_TEMPFAIL)
					lp->later[i] = true;
				else if (!err && lp->errs[k] != RK_ERR_NOTFOUND)
					errs[i] = lp->errs[k];
				resolve_contact_release(c);
				continue;
			}
			lp->found[i] = true;
			c->level = level;
			if (!c->email || email_repeats(&chains[i], c->email) ||
			    chains[i].count == RESOLVE_MAX_LEVELS) {
				resolve_contact_release(c);
				continue;
			}
			chains[i].entry[chains[i].count++] = *c;
			memset(c, 0, sizeof(*c));
		}
		if (err)
			return err;
	}
	for (size_t i = 0; i < n; i++)
		if (!errs[i] && !lp->found[i] && lp->later[i])
			errs[i] = RK_ERR_TEMPFAIL;
	return RK_OK;
}

/* Make the resolver's scratch hold a batch of n (grows, kept between
 * batches: the stage's batches of 1,000 pay no allocation after the
 * first). */
static enum rk_err scratch_room(struct resolver *r, size_t n)
{
	struct level_pass *lp = &r->scratch;
	void *p;

	if (n <= r->scratch_cap)
		return RK_OK;
#define GROW(field)                                                   \
	do {                                                          \
		p = realloc(lp->field, n * sizeof(*lp->field));       \
		if (!p)                                               \
			return RK_ERR_NOMEM;                          \
		lp->field = p;                                        \
	} while (0)
	GROW(idx);
	GROW(qs);
	GROW(outs);
	GROW(errs);
	GROW(found);
	GROW(later);
	GROW(q2);
	GROW(hints);
	GROW(cc);
#undef GROW
	r->scratch_cap = n;
	return RK_OK;
}

/* The queries as the enriching sources complete them: a query of qs[]
 * without an AS or country takes it from the hints (a country is copied
 * into cc[], which qs[] then points into).  Before level 0, so that
 * levels 1 and 2 can use it; without enriching sources nothing changes. */
static enum rk_err enrich_queries(struct resolver *r, struct resolve_query *qs,
				  size_t n, struct resolve_hint *hints,
				  char (*cc)[3])
{
	enum rk_err err;

	for (size_t s = 0; s < r->nsources; s++) {
		if (!r->sources[s].enrich)
			continue;
		memset(hints, 0, n * sizeof(*hints));
		if ((err = r->sources[s].enrich(r->sources[s].self, qs, n, hints)))
			return err;
		for (size_t i = 0; i < n; i++) {
			if (!qs[i].asn && hints[i].asn)
				qs[i].asn = hints[i].asn;
			if (!qs[i].country && hints[i].country[0] &&
			    hints[i].country[1] && !hints[i].country[2]) {
				memcpy(cc[i], hints[i].country, 3);
				qs[i].country = cc[i];
			}
		}
	}
	return RK_OK;
}

enum rk_err resolve_batch(struct resolver *r, const struct resolve_query *qs,
			  size_t n, struct resolve_chain *chains,
			  enum rk_err *errs)
{
	struct level_pass *lp = &r->scratch;
	enum rk_err err;

	memset(chains, 0, n * sizeof(*chains));
	memset(errs, 0, n * sizeof(*errs));
	if (n == 0)
		return RK_OK;
	if ((err = scratch_room(r, n)))
		return err;
	memcpy(lp->q2, qs, n * sizeof(*qs));
	err = enrich_queries(r, lp->q2, n, lp->hints, lp->cc);
	for (int level = 0; !err && level < RESOLVE_MAX_LEVELS; level++) {
		if (level > 0)
			learn_from_lower(lp->q2, n, chains, level);
		err = run_level(r, lp->q2, n, level, lp, chains, errs);
	}
	for (size_t i = 0; !err && i < n; i++)
		if (!errs[i])
			err = set_country(&lp->q2[i], &chains[i]);
	for (size_t i = 0; i < n; i++)
		if (err || errs[i])
			resolve_chain_release(&chains[i]);
	return err;
}

/* One query: the batch of one. */
static enum rk_err build_chain(struct resolver *r,
			       const struct resolve_query *q,
			       struct resolve_chain *out)
{
	enum rk_err qerr, err = resolve_batch(r, q, 1, out, &qerr);

	return err ? err : qerr;
}

static bool is_asn_text(const char *s)
{
	if (!((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's')) ||
	    !s[2])
		return false;
	return strspn(s + 2, "0123456789") == strlen(s + 2);
}

enum rk_err resolve_target(struct resolver *r, const char *target,
			   struct resolve_chain *out)
{
	struct resolve_query q;
	char *domain = NULL;
	enum rk_err err;

	memset(out, 0, sizeof(*out));
	memset(&q, 0, sizeof(q));
	if (!target || !*target)
		return rk_fail(r->log, RK_ERR_INVAL, "empty target");
	if (rk_addr_parse(target, &q.addr) == RK_OK) {
		q.has_addr = true;
	} else if (is_asn_text(target)) {
		if (rk_asn_parse(target, &q.asn))
			return rk_fail(r->log, RK_ERR_INVAL,
				       "'%s' is not a valid AS number (AS1 to AS4294967295)",
				       target);
	} else {
		err = strlen(target) > RK_MAX_DOMAIN + 1
			      ? RK_ERR_INVAL
			      : rk_domain_normalize(target, &domain);
		if (err == RK_ERR_NOMEM)
			return err;
		if (err || !match_domain_plausible(domain)) {
			free(domain);
			return rk_fail(r->log, RK_ERR_INVAL,
				       "'%s' is not an IP address, AS number (like "
				       "AS64500) or domain name", target);
		}
		q.domain = domain;
	}
	err = build_chain(r, &q, out);
	free(domain);
	return err;
}

void resolve_event_query(const struct resolver *r,
			 const struct store_event *ev,
			 struct resolve_query *q)
{
	memset(q, 0, sizeof(*q));
	if (ev->source_ip && *ev->source_ip) {
		if (rk_addr_parse(ev->source_ip, &q->addr) == RK_OK)
			q->has_addr = true;
		else
			rk_log_debug(r->log, "event %lld: source.ip '%s' is not an address",
				     (long long)ev->id, ev->source_ip);
	}
	if (ev->source_fqdn && *ev->source_fqdn)
		q->domain = ev->source_fqdn;
	q->asn = ev->source_asn;
	if (ev->source_cc && *ev->source_cc)
		q->country = ev->source_cc;
}

enum rk_err resolve_event(struct resolver *r, const struct store_event *ev,
			  struct resolve_chain *out)
{
	struct resolve_query q;

	resolve_event_query(r, ev, &q);
	return build_chain(r, &q, out);
}

struct supp_search {
	const struct resolver *r;
	const char *type;
	int64_t now;
	const char *reason;
};

static bool supp_visit(void *arg, uint32_t id)
{
	struct supp_search *s = arg;
	const struct supp_rule *rule = &s->r->rules[id];

	if (rule->type && (!s->type || strcmp(rule->type, s->type) != 0))
		return false;
	if (rule->until && rule->until < s->now)
		return false;
	s->reason = rule->reason;
	return true;
}

bool resolve_suppressed(struct resolver *r, const struct store_event *ev,
			int64_t now, const char **reason)
{
	struct resolve_query q;
	struct supp_search s = {r, ev->type, now, NULL};

	if (reason)
		*reason = NULL;
	if (!r->nrules)
		return false;
	resolve_event_query(r, ev, &q);
	if (!match_index_each(&r->supp_ix, &q, supp_visit, &s))
		return false;
	if (reason)
		*reason = s.reason;
	return true;
}
