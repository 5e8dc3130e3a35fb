/*
 * The `rdap` contact source: RDAP (RFC 9082/9083, 7480) over the shared
 * HTTP client, the registry found with the RFC 9224 bootstrap.
 *
 *   level 0  the network's abuse contact (/ip/ADDR), or for a domain the
 *            registrar's abuse contact (/domain/NAME)
 *   level 1  the origin AS's abuse contact (/autnum/N), or for a domain
 *            with an address the network hosting it
 *   level 2  nothing: the national CSIRT comes from the local table, by
 *            the country this source found at level 0
 *
 * Answers are cached by what the registry says they cover (the range of
 * the network, the AS block, the domain) in the store and in memory, so
 * one question serves every address of a network.  A batch is asked in
 * rounds: each round asks, per registry, at most `concurrency` questions
 * whose addresses are not in the same block (the largest network that
 * registry has answered with so far, /16 before any) and not covered by
 * an answer already in; the answers then serve the rest of the batch
 * before the next round asks again.
 *
 * Failures: 404 = this source does not know (the next source is asked;
 * nothing cached); 429 = the registry is left alone until Retry-After
 * (remembered in the store), its queries TEMPFAIL; 5xx, timeouts and
 * refused connections = TEMPFAIL for the registry's queries of this
 * batch.  Only an answer that names nobody is cached as negative.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "private.h"
#include "rdap.h"
#include "renraku/http.h"

#define RDAP_NAME "rdap"
#define RDAP_ACCEPT "application/rdap+json, application/json;q=0.9"
#define RDAP_MAX_REDIRECTS 3
#define RDAP_DEFAULT_BACKOFF 60   /* seconds after a 429 without Retry-After */
#define RDAP_MAX_BACKOFF 86400
#define RDAP_MAX_REGISTRIES 64

/* A cached answer. */
struct rdap_entry {
	int level;
	bool has_range;
	struct rk_addr start, end;
	uint32_t asn, asn_end; /* an AS block (level 1) */
	uint32_t origin_asn;   /* a network's origin AS (level 0), 0 = none */
	char *domain;
	char *email, *cc, *org, *country, *registry, *irt;
	char *range;           /* what it covers, as text (entry_add) */
	char *pack;            /* once added: every string above lives in
				  this one block (a warm lookup copies them
				  from one place), NULL before */
	bool negative;
	bool cached; /* from the store or an earlier batch */
	int64_t fetched_at, expires_at;
};

/* key -> entry id, open addressing; a key is an AS number or a domain's
 * hash (never 0).  Keys may repeat (two domains of one hash): `same`
 * tells the entries apart. */
struct key_map {
	uint64_t *keys;
	uint32_t *ids;
	size_t mask, used;
};

struct rdap_registry {
	char *base;         /* bootstrap base URL, owned */
	int64_t backoff;    /* not asked before this time (429) */
	bool down;          /* no answer this batch (timeout, 5xx) */
	int block[2];       /* prefix length of the widest answer, v4 / v6
			       (/16 and /32 before the first) */
	bool answered[2];   /* block[] was set by an answer */
	double next_slot;   /* monotonic seconds: the rate's next free slot */
};

struct rdap_source {
	struct rk_store *store;
	const struct rk_log *log;
	const struct rk_config *cfg;
	struct rk_http *http; /* made on first use */
	struct bootstrap *bs;
	struct range_index *ix;
	struct rdap_entry *entries;
	size_t nentries;
	struct key_map asns;    /* AS number -> entry */
	struct key_map domains; /* domain -> entry */
	struct rdap_registry regs[RDAP_MAX_REGISTRIES];
	size_t nregs;
	long long requests; /* questions sent (logged) */
	struct resolve_source_counts counts; /* for /metrics */
	struct rdap_job *jobs; /* a batch's, grown as needed */
	size_t jobs_cap;
	bool offline;       /* the cache only */
};

/* One question of a batch. */
struct rdap_job {
	size_t q;            /* index into the batch */
	enum rdap_kind kind; /* RDAP_IP, RDAP_AUTNUM or RDAP_DOMAIN */
	struct rk_addr addr;
	uint32_t asn;
	const char *domain;
	struct rdap_registry *reg;
	bool done;
};

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void key_map_release(struct key_map *m);

static void entry_release(struct rdap_entry *e)
{
	if (e->pack) {
		free(e->pack);
		memset(e, 0, sizeof(*e));
		return;
	}
	free(e->domain);
	free(e->email);
	free(e->cc);
	free(e->org);
	free(e->country);
	free(e->registry);
	free(e->irt);
	free(e->range);
	memset(e, 0, sizeof(*e));
}

static void rdap_free(void *self)
{
	struct rdap_source *rs = self;

	if (!rs)
		return;
	rk_http_free(rs->http);
	bootstrap_free(rs->bs);
	range_index_free(rs->ix);
	for (size_t i = 0; i < rs->nentries; i++)
		entry_release(&rs->entries[i]);
	free(rs->entries);
	key_map_release(&rs->asns);
	key_map_release(&rs->domains);
	free(rs->jobs);
	for (size_t i = 0; i < rs->nregs; i++)
		free(rs->regs[i].base);
	free(rs);
}

/* ------------------------------------------------------------ keyed maps */

typedef bool (*same_fn)(const struct rdap_source *rs, uint32_t id,
			const void *arg);

static void key_map_release(struct key_map *m)
{
	free(m->keys);
	free(m->ids);
	memset(m, 0, sizeof(*m));
}

static size_t key_slot(const struct rdap_source *rs, const struct key_map *m,
		       uint64_t key, same_fn same, const void *arg)
{
	size_t i = (size_t)rk_hash(&key, sizeof(key)) & m->mask;

	while (m->keys[i] &&
	       !(m->keys[i] == key && (!same || same(rs, m->ids[i], arg))))
		i = (i + 1) & m->mask;
	return i;
}

static enum rk_err key_map_put(const struct rdap_source *rs, struct key_map *m,
			       uint64_t key, uint32_t id, same_fn same,
			       const void *arg)
{
	size_t i;

	if (!m->keys || (m->used + 1) * 2 > m->mask + 1) {
		struct key_map g = {NULL, NULL, m->keys ? m->mask * 2 + 1 : 255, 0};

		g.keys = calloc(g.mask + 1, sizeof(*g.keys));
		g.ids = calloc(g.mask + 1, sizeof(*g.ids));
		if (!g.keys || !g.ids) {
			key_map_release(&g);
			return RK_ERR_NOMEM;
		}
		for (size_t k = 0; m->keys && k <= m->mask; k++) {
			if (!m->keys[k])
				continue;
			/* every old key is distinct as an entry: no `same` */
			i = key_slot(rs, &g, m->keys[k], NULL, NULL);
			while (g.keys[i])
				i = (i + 1) & g.mask;
			g.keys[i] = m->keys[k];
			g.ids[i] = m->ids[k];
			g.used++;
		}
		key_map_release(m);
		*m = g;
	}
	i = key_slot(rs, m, key, same, arg);
	if (!m->keys[i])
		m->used++;
	m->keys[i] = key;
	m->ids[i] = id;
	return RK_OK;
}

static const struct rdap_entry *key_map_get(const struct rdap_source *rs,
					    const struct key_map *m,
					    uint64_t key, same_fn same,
					    const void *arg)
{
	size_t i;

	if (!m->keys || !key)
		return NULL;
	i = key_slot(rs, m, key, same, arg);
	return m->keys[i] ? &rs->entries[m->ids[i]] : NULL;
}

static uint64_t dom_key(const char *d)
{
	uint64_t h = rk_hash(d, strlen(d));

	return h ? h : 1;
}

static bool same_domain(const struct rdap_source *rs, uint32_t id,
			const void *name)
{
	return strcmp(rs->entries[id].domain, name) == 0;
}

static enum rk_err asn_put(struct rdap_source *rs, uint32_t asn, uint32_t id)
{
	return key_map_put(rs, &rs->asns, asn, id, NULL, NULL);
}

static const struct rdap_entry *asn_get(const struct rdap_source *rs,
					uint32_t asn)
{
	return key_map_get(rs, &rs->asns, asn, NULL, NULL);
}

static enum rk_err dom_put(struct rdap_source *rs, const char *name, uint32_t id)
{
	return key_map_put(rs, &rs->domains, dom_key(name), id, same_domain, name);
}

static const struct rdap_entry *dom_get(const struct rdap_source *rs,
					const char *name)
{
	return name ? key_map_get(rs, &rs->domains, dom_key(name), same_domain,
				  name)
		    : NULL;
}

/* ------------------------------------------------------------ the cache */

/* Index entry id by what it covers.  An AS block wider than this many
 * numbers is indexed by the numbers asked only. */
#define RDAP_MAX_ASN_BLOCK 1024

static enum rk_err index_entry(struct rdap_source *rs, uint32_t id)
{
	const struct rdap_entry *e = &rs->entries[id];
	enum rk_err err = RK_OK;

	if (e->has_range)
		err = range_index_add(rs->ix, &e->start, &e->end, id);
	if (!err && e->asn && e->asn_end >= e->asn &&
	    e->asn_end - e->asn < RDAP_MAX_ASN_BLOCK)
		for (uint64_t a = e->asn; !err && a <= e->asn_end; a++)
			err = asn_put(rs, (uint32_t)a, id);
	else if (!err && e->asn)
		err = asn_put(rs, e->asn, id);
	if (!err && e->domain)
		err = dom_put(rs, e->domain, id);
	return err == RK_ERR_INVAL ? RK_OK : err;
}

/* What an entry covers, as the chain shows it. */
static enum rk_err range_text(struct rdap_entry *e)
{
	char range[2 * RK_ADDR_TEXT + 8];

	if (e->has_range)
		range_format(&e->start, &e->end, range, sizeof(range));
	else if (e->asn && e->asn_end > e->asn)
		snprintf(range, sizeof(range), "AS%u-AS%u", e->asn, e->asn_end);
	else if (e->asn)
		snprintf(range, sizeof(range), "AS%u", e->asn);
	else
		snprintf(range, sizeof(range), "%s", e->domain ? e->domain : "");
	free(e->range);
	e->range = rk_strdup(range);
	return e->range ? RK_OK : RK_ERR_NOMEM;
}

/* Move an entry's strings into one block. */
static enum rk_err entry_pack(struct rdap_entry *e)
{
	char **fields[] = {&e->domain, &e->email, &e->cc, &e->org, &e->country,
			   &e->registry, &e->irt, &e->range};
	size_t total = 0, at = 0;
	char *pack;

	for (size_t i = 0; i < RK_ARRAY_LEN(fields); i++)
		if (*fields[i])
			total += strlen(*fields[i]) + 1;
	if (!(pack = malloc(total ? total : 1)))
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < RK_ARRAY_LEN(fields); i++) {
		size_t n;

		if (!*fields[i])
			continue;
		n = strlen(*fields[i]) + 1;
		memcpy(pack + at, *fields[i], n);
		free(*fields[i]);
		*fields[i] = pack + at;
		at += n;
	}
	e->pack = pack;
	return RK_OK;
}

static enum rk_err entry_add(struct rdap_source *rs, struct rdap_entry *e,
			     uint32_t *id)
{
	enum rk_err err;

	if (rs->nentries >= UINT32_MAX - 1)
		return RK_ERR_LIMIT;
	if ((err = range_text(e)) || (err = entry_pack(e)))
		return err;
	if ((err = rk_array_room((void **)&rs->entries, rs->nentries,
				 sizeof(*rs->entries))))
		return err;
	*id = (uint32_t)rs->nentries;
	rs->entries[rs->nentries++] = *e;
	memset(e, 0, sizeof(*e));
	return index_entry(rs, *id);
}

static enum rk_err load_cache(struct rdap_source *rs)
{
	struct store_resolution *rows = NULL;
	size_t n = 0;
	enum rk_err err;

	if (!rs->store)
		return RK_OK;
	if ((err = store_resolutions_load(rs->store, RDAP_NAME,
					  store_now(rs->store), &rows, &n)))
		return err;
	for (size_t i = 0; i < n && !err; i++) {
		struct store_resolution *r = &rows[i];
		struct rdap_entry e = {
			.level = r->level, .has_range = r->has_range,
			.start = r->start, .end = r->end,
			/* a level-0 row keeps the network's origin AS in asn */
			.asn = r->level == 0 ? 0 : r->asn,
			.asn_end = r->level == 0 ? 0 : r->asn_end,
			.origin_asn = r->level == 0 ? r->asn : 0,
			.domain = r->domain,
			.email = r->email, .cc = r->cc, .org = r->org,
			.country = r->country, .registry = r->registry,
			.irt = r->irt, .negative = r->negative, .cached = true,
			.fetched_at = r->fetched_at, .expires_at = r->expires_at};
		uint32_t id;

		/* the strings move to the entry */
		r->domain = r->email = r->cc = r->org = r->country = NULL;
		r->registry = r->irt = NULL;
		err = entry_add(rs, &e, &id);
		entry_release(&e);
	}
	store_resolutions_free(rows, n);
	if (!err)
		rk_log_debug(rs->log, "rdap: %zu cached answers", rs->nentries);
	return err;
}

/* Write the entries from first on to the store, in one short
 * transaction (no network wait inside it). */
static enum rk_err save_entries(struct rdap_source *rs, size_t first)
{
	struct store_resolution *rows;
	size_t n = rs->nentries - first;
	enum rk_err err;

	if (!rs->store || n == 0)
		return RK_OK;
	rows = calloc(n, sizeof(*rows));
	if (!rows)
		return RK_ERR_NOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct rdap_entry *e = &rs->entries[first + i];
		struct store_resolution *r = &rows[i];

		r->level = e->level;
		r->has_range = e->has_range;
		r->start = e->start;
		r->end = e->end;
		r->asn = e->level == 0 ? e->origin_asn : e->asn;
		r->asn_end = e->level == 0 ? 0 : e->asn_end;
		/* borrowed for the write only */
		r->domain = e->domain;
		r->email = e->email;
		r->cc = e->cc;
		r->org = e->org;
		r->country = e->country;
		r->registry = e->registry;
		r->irt = e->irt;
		r->negative = e->negative;
		r->fetched_at = e->fetched_at;
		r->expires_at = e->expires_at;
	}
	err = store_begin(rs->store);
	if (!err && (err = store_resolutions_put(rs->store, RDAP_NAME, rows, n)))
		store_rollback(rs->store);
	else if (!err)
		err = store_commit(rs->store);
	free(rows); /* the strings stay the entries' */
	if (err)
		rk_log_warn(rs->log, "rdap: answers not cached: %s", rk_strerror(err));
	return err == RK_ERR_NOMEM ? err : RK_OK;
}

/* ------------------------------------------------------------ registries */

static struct rdap_registry *registry_of(struct rdap_source *rs, const char *base)
{
	int64_t until = 0;

	if (!base)
		return NULL;
	for (size_t i = 0; i < rs->nregs; i++)
		if (strcmp(rs->regs[i].base, base) == 0)
			return &rs->regs[i];
	if (rs->nregs == RDAP_MAX_REGISTRIES)
		return NULL;
	rs->regs[rs->nregs].base = rk_strdup(base);
	if (!rs->regs[rs->nregs].base)
		return NULL;
	rs->regs[rs->nregs].block[0] = 16;
	rs->regs[rs->nregs].block[1] = 32;
	if (rs->store &&
	    store_backoff_get(rs->store, base, store_now(rs->store), &until) == RK_OK)
		rs->regs[rs->nregs].backoff = until;
	return &rs->regs[rs->nregs++];
}

static void registry_backoff(struct rdap_source *rs, struct rdap_registry *reg,
			     long long retry_after, long status)
{
	int64_t now = rs->store ? store_now(rs->store) : 0;
	long long wait = retry_after >= 0 ? retry_after : RDAP_DEFAULT_BACKOFF;
	char reason[64];

	if (wait > RDAP_MAX_BACKOFF)
		wait = RDAP_MAX_BACKOFF;
	if (wait < 1)
		wait = 1;
	reg->backoff = now + wait;
	rk_log_warn(rs->log, "rdap: %s answered %ld: not asked again for %llds",
		    reg->base, status, wait);
	snprintf(reason, sizeof(reason), "HTTP %ld", status);
	if (rs->store) {
		enum rk_err err = store_begin(rs->store);

		if (!err && (err = store_backoff_set(rs->store, reg->base,
						     reg->backoff, reason)))
			store_rollback(rs->store);
		else if (!err)
			store_commit(rs->store);
	}
}

static bool registry_waiting(const struct rdap_source *rs,
			     const struct rdap_registry *reg)
{
	int64_t now = rs->store ? store_now(rs->store) : 0;

	return reg->down || (reg->backoff && reg->backoff > now);
}

/* Sleep until the registry's rate allows one more question. */
static void rate_wait(const struct rdap_source *rs, struct rdap_registry *reg)
{
	double rate = rs->cfg ? rs->cfg->resolve.rate : 0, now = mono_now();

	if (rate <= 0)
		return;
	if (reg->next_slot > now) {
		double d = reg->next_slot - now;
		struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};

		nanosleep(&ts, NULL);
		now = reg->next_slot;
	}
	reg->next_slot = (reg->next_slot > now - 1.0 / rate ? reg->next_slot : now) +
			 1.0 / rate;
}

/* ------------------------------------------------------------ answers */

static enum rk_err fill_contact(const struct rdap_entry *e, int level,
				struct resolve_contact *out)
{
	bool ok;

	memset(out, 0, sizeof(*out));
	out->level = level;
	out->cached = e->cached;
	out->fetched_at = e->fetched_at;
	out->asn = e->origin_asn;
	ok = (out->email = rk_strdup(e->email)) &&
	     (out->source = rk_strdup(RDAP_NAME)) &&
	     (out->range = rk_strdup(e->range)) &&
	     (!e->cc || (out->cc = rk_strdup(e->cc))) &&
	     (!e->org || (out->org = rk_strdup(e->org))) &&
	     (!e->country || (out->country = rk_strdup(e->country))) &&
	     (!e->registry || (out->registry = rk_strdup(e->registry))) &&
	     (!e->irt || (out->irt = rk_strdup(e->irt)));
	if (!ok) {
		resolve_contact_release(out);
		return RK_ERR_NOMEM;
	}
	return RK_OK;
}

/* The entry that answers job now, NULL if none. */
static const struct rdap_entry *cached_for(const struct rdap_source *rs,
					   const struct rdap_job *j)
{
	const struct rdap_entry *e = NULL;
	int64_t now = rs->store ? store_now(rs->store) : 0;
	uint32_t id;

	if (j->kind == RDAP_IP && range_index_find(rs->ix, &j->addr, &id))
		e = &rs->entries[id];
	else if (j->kind == RDAP_AUTNUM)
		e = asn_get(rs, j->asn);
	else if (j->kind == RDAP_DOMAIN)
		e = dom_get(rs, j->domain);
	if (e && e->expires_at && e->expires_at <= now)
		return NULL;
	return e;
}

/* The registry's base for an answer's final URL: up to the path element
 * naming the object (".../ip/...", ".../autnum/...", ".../domain/..."). */
static char *answer_base(const char *final_url)
{
	static const char *const marks[] = {"/ip/", "/autnum/", "/domain/",
					    "/entity/"};
	const char *cut = NULL;

	for (size_t i = 0; final_url && i < RK_ARRAY_LEN(marks); i++) {
		const char *p = strstr(final_url, marks[i]);

		if (p && (!cut || p > cut))
			cut = p;
	}
	if (!cut)
		return final_url ? rk_strdup(final_url) : NULL;
	return rk_strndup(final_url, (size_t)(cut - final_url) + 1);
}

static enum rk_err job_url(const struct rdap_job *j, struct rk_buf *url)
{
	char text[RK_ADDR_TEXT];

	rk_buf_reset(url);
	switch (j->kind) {
	case RDAP_IP:
		rk_addr_format(&j->addr, text);
		return rk_buf_addf(url, "%sip/%s", j->reg->base, text);
	case RDAP_AUTNUM:
		return rk_buf_addf(url, "%sautnum/%u", j->reg->base, j->asn);
	case RDAP_DOMAIN:
		return rk_buf_addf(url, "%sdomain/%s", j->reg->base, j->domain);
	default:
		return RK_ERR_INTERNAL;
	}
}

/* Make the cache entry for a walked answer to job j. */
static enum rk_err entry_from(const struct rdap_source *rs,
			      const struct rdap_job *j, struct rdap_answer *a,
			      const char *registry, struct rdap_entry *e)
{
	int64_t now = rs->store ? store_now(rs->store) : 0;
	long long ttl = rs->cfg ? rs->cfg->resolve.ttl : 7 * 86400;
	long long nttl = rs->cfg ? rs->cfg->resolve.negative_ttl : 86400;

	memset(e, 0, sizeof(*e));
	e->level = j->kind == RDAP_AUTNUM ? 1 : 0;
	if (j->kind == RDAP_IP) {
		e->has_range = true;
		/* an answer not covering the question covers the address only */
		if (a->has_range && a->start.family == j->addr.family &&
		    memcmp(a->start.bytes, j->addr.bytes, 16) <= 0 &&
		    memcmp(j->addr.bytes, a->end.bytes, 16) <= 0) {
			e->start = a->start;
			e->end = a->end;
		} else {
			e->start = e->end = j->addr;
		}
	} else if (j->kind == RDAP_AUTNUM) {
		if (a->has_asns && a->asn_start <= j->asn && j->asn <= a->asn_end) {
			e->asn = a->asn_start;
			e->asn_end = a->asn_end;
		} else {
			e->asn = e->asn_end = j->asn;
		}
	} else {
		if (!(e->domain = rk_strdup(j->domain)))
			return RK_ERR_NOMEM;
	}
	e->origin_asn = j->kind == RDAP_IP ? a->origin_asn : 0;
	e->email = a->email;
	e->cc = a->cc;
	e->org = a->org;
	e->country = a->country;
	e->irt = a->irt;
	a->email = a->cc = a->org = a->country = a->irt = NULL;
	e->registry = rk_strdup(registry);
	e->negative = e->email == NULL;
	e->fetched_at = now;
	e->expires_at = now + (e->negative ? nttl : ttl);
	if (e->expires_at <= now)
		e->expires_at = now + 1; /* a TTL of 0: this batch only */
	return registry && !e->registry ? RK_ERR_NOMEM : RK_OK;
}

/* ------------------------------------------------------------ a batch */

struct batch {
	struct rdap_source *rs;
	struct rdap_job *jobs;
	size_t njobs;
	enum rk_err *errs; /* per query */
	struct resolve_contact *outs;
	int level;
};

static enum rk_err http_client(struct rdap_source *rs)
{
	struct rk_http_options opt = {0};
	const struct rk_config *cfg = rs->cfg;

	if (rs->http)
		return RK_OK;
	opt.ca_file = cfg ? cfg->resolve.ca_file : NULL;
	opt.timeout_ms = (cfg ? cfg->resolve.timeout : 10) * 1000;
	opt.connect_timeout_ms = opt.timeout_ms; /* [resolve] timeout covers all */
	opt.max_redirects = RDAP_MAX_REDIRECTS;
	opt.concurrency = (size_t)(cfg ? cfg->resolve.concurrency : 8) * 4;
	opt.per_host = (size_t)(cfg ? cfg->resolve.concurrency : 8);
	return rk_http_new(&rs->http, &opt);
}

/* Answer every open job an entry covers now; true if j was answered. */
static enum rk_err serve_from_cache(struct batch *b, struct rdap_job *j)
{
	const struct rdap_entry *e = cached_for(b->rs, j);

	if (!e)
		return RK_ERR_NOTFOUND;
	j->done = true;
	if (e->negative) {
		b->errs[j->q] = RK_ERR_NOTFOUND;
		return RK_OK;
	}
	b->errs[j->q] = fill_contact(e, b->level, &b->outs[j->q]);
	return b->errs[j->q] == RK_ERR_NOMEM ? RK_ERR_NOMEM : RK_OK;
}

/* Whether two jobs of one round would likely ask about one network. */
static bool same_block(const struct rdap_job *a, const struct rdap_job *b)
{
	if (a->kind != b->kind || a->reg != b->reg)
		return false;
	if (a->kind == RDAP_AUTNUM)
		return a->asn == b->asn;
	if (a->kind == RDAP_DOMAIN)
		return strcmp(a->domain, b->domain) == 0;
	if (a->addr.family != b->addr.family)
		return false;
	return rk_addr_in_prefix(&b->addr, &a->addr,
				 a->reg->block[a->addr.family == 4 ? 0 : 1]) ||
	       rk_addr_in_prefix(&a->addr, &b->addr,
				 a->reg->block[a->addr.family == 4 ? 0 : 1]);
}

/* The follow-up for an abuse entity without a vCard. */
static enum rk_err fetch_entity(struct batch *b, struct rdap_registry *reg,
				const char *base, const char *handle,
				struct rdap_answer *a)
{
	struct rk_buf url;
	struct rk_http_request req = {.accept = RDAP_ACCEPT,
				      .max_body = RK_MAX_RDAP_JSON};
	struct rk_http_response resp;
	struct rdap_answer ent;
	char why[256];
	enum rk_err err;

	rk_buf_init(&url, RK_MAX_URL);
	if ((err = rk_buf_addf(&url, "%sentity/%s", base, handle)))
		goto cleanup;
	req.url = url.data;
	rate_wait(b->rs, reg);
	b->rs->requests++;
	b->rs->counts.remote_queries++;
	if ((err = rk_http_fetch(b->rs->http, &req, 1, &resp)))
		goto cleanup;
	if (resp.err == RK_OK && resp.status == 200 &&
	    rdap_walk(resp.body, resp.body_len, &ent, why, sizeof(why)) == RK_OK) {
		if (ent.email) {
			free(a->email);
			free(a->cc);
			a->email = ent.email;
			a->cc = ent.cc;
			ent.email = ent.cc = NULL;
			if (!a->org) {
				a->org = ent.org;
				ent.org = NULL;
			}
		}
		rdap_answer_release(&ent);
	} else {
		rk_log_debug(b->rs->log, "rdap: %s: no contact (%s)", url.data,
			     resp.err ? resp.error : "not an entity");
	}
	rk_http_response_release(&resp);
cleanup:
	rk_buf_release(&url);
	return err;
}

/* The outcome of one question. */
static enum rk_err take_answer(struct batch *b, struct rdap_job *j,
			       struct rk_http_response *resp, const char *url)
{
	struct rdap_source *rs = b->rs;
	struct rdap_answer a;
	struct rdap_entry e;
	char why[256], *base = NULL;
	uint32_t id;
	enum rk_err err;

	if (resp->err == RK_ERR_TEMPFAIL ||
	    (resp->err == RK_OK && resp->status >= 500)) {
		rk_log_warn(rs->log, "rdap: %s: %s%s", url,
			    resp->err ? "no answer: " : "server error",
			    resp->err ? resp->error : "");
		j->reg->down = true;
		b->errs[j->q] = RK_ERR_TEMPFAIL;
		j->done = true;
		return RK_OK;
	}
	if (resp->err == RK_OK && resp->status == 429) {
		registry_backoff(rs, j->reg, resp->retry_after, resp->status);
		b->errs[j->q] = RK_ERR_TEMPFAIL;
		j->done = true;
		return RK_OK;
	}
	j->done = true;
	if (resp->err == RK_OK && resp->status == 404 && j->kind == RDAP_DOMAIN &&
	    strchr(j->domain, '.') && strchr(strchr(j->domain, '.') + 1, '.')) {
		/* www.shop.example: the registry knows shop.example; ask for
		 * the parent in the next round */
		j->domain = strchr(j->domain, '.') + 1;
		j->done = false;
		return RK_OK;
	}
	if (resp->err == RK_OK && resp->status == 404) {
		rk_log_debug(rs->log, "rdap: %s: not found (the next source is asked)",
			     url);
		b->errs[j->q] = RK_ERR_NOTFOUND;
		return RK_OK;
	}
	if (resp->err != RK_OK || resp->status != 200) {
		rk_log_warn(rs->log, "rdap: %s: %s", url,
			    resp->err ? resp->error : "unexpected HTTP status");
		b->errs[j->q] = RK_ERR_NOTFOUND;
		return RK_OK;
	}
	err = rdap_walk(resp->body, resp->body_len, &a, why, sizeof(why));
	if (err == RK_ERR_NOMEM)
		return err;
	if (err) {
		rk_log_warn(rs->log, "rdap: %s: answer rejected: %s", url, why);
		b->errs[j->q] = RK_ERR_NOTFOUND;
		return RK_OK;
	}
	if (!(base = answer_base(resp->final_url ? resp->final_url : url))) {
		rdap_answer_release(&a);
		return RK_ERR_NOMEM;
	}
	if (!a.email && a.fetch_handle &&
	    (err = fetch_entity(b, j->reg, base, a.fetch_handle, &a))) {
		free(base);
		rdap_answer_release(&a);
		return err;
	}
	err = entry_from(rs, j, &a, base, &e);
	free(base);
	rdap_answer_release(&a);
	if (!err && j->kind == RDAP_IP && e.start.family) {
		int fam = e.start.family == 4 ? 0 : 1;
		int len = range_common_prefix(&e.start, &e.end);
		int floor = fam == 0 ? 8 : 16;

		if (len < floor)
			len = floor;
		if (!j->reg->answered[fam] || len < j->reg->block[fam])
			j->reg->block[fam] = len;
		j->reg->answered[fam] = true;
	}
	if (!err)
		err = entry_add(rs, &e, &id);
	entry_release(&e);
	if (err)
		return err;
	return serve_from_cache(b, j) == RK_ERR_NOMEM ? RK_ERR_NOMEM : RK_OK;
}

/* Ask one round: per registry up to `concurrency` jobs not sharing a
 * block; false when nothing was left to ask. */
static enum rk_err run_round(struct batch *b, bool *asked)
{
	struct rdap_source *rs = b->rs;
	size_t per = (size_t)(rs->cfg ? rs->cfg->resolve.concurrency : 8);
	struct rdap_job **picked = NULL;
	struct rk_http_request *reqs = NULL;
	struct rk_http_response *resps = NULL;
	struct rk_buf *urls = NULL;
	size_t npicked = 0, cap = per * rs->nregs + 1;
	size_t *count = calloc(rs->nregs + 1, sizeof(*count));
	enum rk_err err = RK_OK;

	*asked = false;
	picked = calloc(cap, sizeof(*picked));
	if (!picked || !count) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < b->njobs && npicked < cap; i++) {
		struct rdap_job *j = &b->jobs[i];
		size_t r;
		bool clash = false;

		if (j->done)
			continue;
		if ((err = serve_from_cache(b, j)) != RK_ERR_NOTFOUND) {
			if (err)
				goto cleanup;
			rs->counts.cache_hits++;
			continue;
		}
		err = RK_OK;
		if (registry_waiting(rs, j->reg)) {
			b->errs[j->q] = RK_ERR_TEMPFAIL;
			j->done = true;
			continue;
		}
		r = (size_t)(j->reg - rs->regs);
		if (count[r] >= per)
			continue;
		for (size_t k = 0; k < npicked && !clash; k++)
			clash = same_block(picked[k], j);
		if (clash)
			continue;
		picked[npicked++] = j;
		count[r]++;
	}
	if (npicked == 0)
		goto cleanup;
	if ((err = http_client(rs)))
		goto cleanup;
	reqs = calloc(npicked, sizeof(*reqs));
	resps = calloc(npicked, sizeof(*resps));
	urls = calloc(npicked, sizeof(*urls));
	if (!reqs || !resps || !urls) {
		err = RK_ERR_NOMEM;
		goto cleanup;
	}
	for (size_t k = 0; k < npicked; k++) {
		rk_buf_init(&urls[k], RK_MAX_URL);
		if ((err = job_url(picked[k], &urls[k])))
			goto cleanup;
		reqs[k].url = urls[k].data;
		reqs[k].accept = RDAP_ACCEPT;
		reqs[k].max_body = RK_MAX_RDAP_JSON;
		rate_wait(rs, picked[k]->reg);
	}
	rs->requests += (long long)npicked;
	rs->counts.remote_queries += (long long)npicked;
	*asked = true;
	{
		double t0 = mono_now();

		err = rk_http_fetch(rs->http, reqs, npicked, resps);
		rk_log_debug(rs->log, "rdap: a round of %zu questions: %.3f s",
			     npicked, mono_now() - t0);
	}
	for (size_t k = 0; !err && k < npicked; k++)
		err = take_answer(b, picked[k], &resps[k], urls[k].data);
	for (size_t k = 0; k < npicked; k++)
		rk_http_response_release(&resps[k]);
cleanup:
	for (size_t k = 0; urls && k < npicked; k++)
		rk_buf_release(&urls[k]);
	free(urls);
	free(reqs);
	free(resps);
	free(picked);
	free(count);
	return err;
}

static int job_cmp(const void *pa, const void *pb)
{
	const struct rdap_job *a = pa, *b = pb;

	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->kind == RDAP_IP) {
		if (a->addr.family != b->addr.family)
			return a->addr.family < b->addr.family ? -1 : 1;
		return memcmp(a->addr.bytes, b->addr.bytes, 16);
	}
	if (a->kind == RDAP_AUTNUM)
		return a->asn < b->asn ? -1 : a->asn > b->asn;
	return strcmp(a->domain, b->domain);
}

/* What this source asks for query q at level: false when nothing.  The
 * registry (from the bootstrap) is found later, for misses only. */
static bool job_for(const struct resolve_query *q, int level,
		    struct rdap_job *j)
{
	memset(j, 0, sizeof(*j));
	if (level == 0 && q->domain) {
		j->kind = RDAP_DOMAIN;
		j->domain = q->domain;
	} else if ((level == 0 && q->has_addr) ||
		   (level == 1 && q->domain && q->has_addr)) {
		j->kind = RDAP_IP;
		j->addr = q->addr;
	} else if ((level == 1 || (level == 0 && !q->domain && !q->has_addr)) &&
		   q->asn) {
		j->kind = RDAP_AUTNUM;
		j->asn = q->asn;
	} else {
		return false;
	}
	return true;
}

/* The registry that answers for j, false when the bootstrap names none. */
static bool job_registry(struct rdap_source *rs, struct rdap_job *j)
{
	const char *base = j->kind == RDAP_DOMAIN ? bootstrap_domain(rs->bs, j->domain)
			   : j->kind == RDAP_IP   ? bootstrap_addr(rs->bs, &j->addr)
						  : bootstrap_asn(rs->bs, j->asn);

	j->reg = registry_of(rs, base);
	return j->reg != NULL;
}

static enum rk_err rdap_lookup(void *self, const struct resolve_query *qs,
			       size_t n, int level, struct resolve_contact *outs,
			       enum rk_err *errs)
{
	struct rdap_source *rs = self;
	struct batch b = {.rs = rs, .errs = errs, .outs = outs, .level = level};
	size_t first_new = rs->nentries;
	long long asked_before = rs->requests;
	enum rk_err err = RK_OK;
	bool asked = true;

	for (size_t i = 0; i < n; i++)
		errs[i] = RK_ERR_NOTFOUND;
	if (level > 1 || n == 0)
		return RK_OK;
	if (n > rs->jobs_cap) {
		struct rdap_job *grown = realloc(rs->jobs, n * sizeof(*grown));

		if (!grown)
			return RK_ERR_NOMEM;
		rs->jobs = grown;
		rs->jobs_cap = n;
	}
	b.jobs = rs->jobs;
	for (size_t i = 0; i < n; i++) {
		struct rdap_job *j = &b.jobs[b.njobs];

		if (!job_for(&qs[i], level, j))
			continue;
		j->q = i;
		if ((err = serve_from_cache(&b, j)) == RK_ERR_NOTFOUND) {
			err = RK_OK;
			if (!rs->offline && job_registry(rs, j))
				b.njobs++;
		} else if (err) {
			goto cleanup;
		} else {
			rs->counts.cache_hits++;
		}
	}
	for (size_t i = 0; i < rs->nregs; i++)
		rs->regs[i].down = false;
	if (rs->offline)
		goto cleanup; /* the cache only: the rest stay NOTFOUND */
	/* sorted, so that a round's picks spread over the address space
	 * and the answers cover the neighbours of what was asked */
	qsort(b.jobs, b.njobs, sizeof(*b.jobs), job_cmp);
	while (!err && asked)
		err = run_round(&b, &asked);
	if (!err)
		err = save_entries(rs, first_new);
	if (rs->requests > asked_before)
		rk_log_debug(rs->log, "rdap: %lld questions for %zu lookups at level %d",
			     rs->requests - asked_before, n, level);
cleanup:
	return err;
}

enum rk_err rdap_source_new(struct rk_store *store, const struct rk_config *cfg,
			    const struct rk_log *log, bool offline,
			    struct resolve_source *out)
{
	struct rdap_source *rs = calloc(1, sizeof(*rs));
	char *dir = NULL, why[512];
	enum rk_err err;

	memset(out, 0, sizeof(*out));
	if (!rs)
		return RK_ERR_NOMEM;
	rs->store = store;
	rs->cfg = cfg;
	rs->log = log;
	rs->offline = offline;
	if ((err = bootstrap_new(&rs->bs)) || (err = range_index_new(&rs->ix)))
		goto cleanup;
	if ((err = bootstrap_dir(cfg, &dir)))
		goto cleanup;
	if ((err = bootstrap_load(rs->bs, dir, false, why, sizeof(why)))) {
		err = rk_fail(log, RK_ERR_CONFIG, "rdap bootstrap: %s", why);
		goto cleanup;
	}
	if ((err = load_cache(rs)))
		goto cleanup;
	out->name = RDAP_NAME;
	out->network = true;
	out->lookup = rdap_lookup;
	out->free = rdap_free;
	out->self = rs;
	out->counts = &rs->counts;
cleanup:
	free(dir);
	if (err)
		rdap_free(rs);
	return err;
}
