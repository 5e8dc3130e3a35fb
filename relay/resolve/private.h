/* Inside the resolve stage: the in-memory match
 * index shared by the local source (contacts) and the resolver
 * (suppressions), and the local source's constructor.  Only files under
 * relay/resolve/ include this. */
#ifndef RENRAKU_RESOLVE_PRIVATE_H
#define RENRAKU_RESOLVE_PRIVATE_H

#include "renraku/match.h"
#include "renraku/resolve.h"

/* ------------------------------------------------------------ index */

struct idx_v4 {
	uint32_t net;
	uint32_t id;
	uint8_t len;
};

struct idx_v6 {
	uint64_t hi, lo;
	uint32_t id;
	uint8_t len;
};

struct idx_asn {
	uint32_t asn;
	uint32_t id;
};

struct idx_dom {
	char *name;    /* owned */
	uint32_t id;
	bool subdomains_only;
};

/* Match expressions mapped to ids (row numbers of the caller), built once
 * and then only read.  Prefixes: one sorted run per prefix length,
 * searched longest first.  Domains: entries sorted by name with an
 * open-addressing hash from name to the first entry of its run. */
struct match_index {
	struct idx_v4 *v4;
	size_t nv4;
	struct idx_v6 *v6;
	size_t nv6;
	struct idx_asn *asn;
	size_t nasn;
	struct idx_dom *dom;
	size_t ndom;
	uint32_t *any;
	size_t nany;

	/* built by match_index_build */
	uint32_t v4_start[34]; /* run of prefix length L: [start[L], start[L+1]) */
	uint32_t v6_start[130];
	uint8_t v4_lens[33];   /* lengths present, longest first */
	size_t nv4_lens;
	uint8_t v6_lens[129];
	size_t nv6_lens;
	uint32_t *dom_hash;    /* slot -> 1 + first entry index, 0 = empty */
	size_t dom_hash_mask;
};

void match_index_init(struct match_index *ix);
void match_index_release(struct match_index *ix);
/* Add before match_index_build. */
enum rk_err match_index_add(struct match_index *ix,
			    const struct match_spec *m, uint32_t id);
enum rk_err match_index_build(struct match_index *ix);

/* How a level-0 match was found, most specific first. */
enum match_how {
	HOW_EXACT_DOMAIN = 0,
	HOW_PARENT_DOMAIN = 1,
	HOW_PREFIX = 2,
	HOW_ASN = 3
};

/* The most specific entry for a domain: the domain itself, else the
 * nearest parent (a *.parent entry before a parent entry at the same
 * level).  Lowest id among equal entries. */
bool match_index_domain(const struct match_index *ix, const char *domain,
			uint32_t *id, enum match_how *how);
/* Longest prefix containing addr. */
bool match_index_addr(const struct match_index *ix, const struct rk_addr *a,
		      uint32_t *id);
bool match_index_asn(const struct match_index *ix, uint32_t asn,
		     uint32_t *id);

/* Every entry covering any subject of q (address, domain, ASN) plus the
 * "*" entries.  visit returns true to stop.  Returns true if stopped. */
typedef bool (*match_visit_fn)(void *arg, uint32_t id);
bool match_index_each(const struct match_index *ix,
		      const struct resolve_query *q, match_visit_fn visit,
		      void *arg);

/* The contacts generation (store_contacts_generation) the resolver's
 * sources and suppressions were loaded at. */
int64_t resolver_contacts_generation(const struct resolver *r);
/* The resolver's per-source counts so far into st->sources (set, not
 * added: a resolver's counts only grow). */
void resolver_source_stats(const struct resolver *r, struct resolve_stats *st);

/* ------------------------------------------------------------ sources */

/* The `local` source: the imported constituency and national CSIRT
 * tables, loaded from the store once (store may be NULL: empty tables).
 * *out is filled; its free releases everything. */
enum rk_err local_source_new(struct rk_store *store, const struct rk_log *log,
			     struct resolve_source *out);

/* A source's constructor (the registration table in resolver.c): store,
 * cfg and log are borrowed for the source's lifetime; *out is filled
 * and its free releases everything.  offline: the source is only made
 * offline when its table entry says it has a cache to answer from, and
 * then it must not use the network (a miss is RK_ERR_NOTFOUND). */
typedef enum rk_err (*source_ctor)(struct rk_store *store,
				   const struct rk_config *cfg,
				   const struct rk_log *log, bool offline,
				   struct resolve_source *out);

/* The `rdap` source (rdap.c): RFC 9224 bootstrap, RDAP over HTTPS, the
 * answers cached by range in the store. */
enum rk_err rdap_source_new(struct rk_store *store, const struct rk_config *cfg,
			    const struct rk_log *log, bool offline,
			    struct resolve_source *out);

/* The other network sources (one file each), source_ctor constructors
 * without a cache (never made offline: offline is always false).
 * RK_ERR_CONFIG names the bad [resolve] key.
 *   whois         port 43, referral chains (whois.c)
 *   abusix/cymru  DNS TXT over c-ares (dns.c)
 *   security.txt  RFC 9116 over rk_http (sectxt.c); store dates Expires */
enum rk_err whois_source_new(struct rk_store *store, const struct rk_config *cfg,
			     const struct rk_log *log, bool offline,
			     struct resolve_source *out);
enum rk_err abusix_source_new(struct rk_store *store, const struct rk_config *cfg,
			      const struct rk_log *log, bool offline,
			      struct resolve_source *out);
enum rk_err cymru_source_new(struct rk_store *store, const struct rk_config *cfg,
			     const struct rk_log *log, bool offline,
			     struct resolve_source *out);
enum rk_err sectxt_source_new(struct rk_store *store, const struct rk_config *cfg,
			      const struct rk_log *log, bool offline,
			      struct resolve_source *out);

/* Fill *out (zeroed first) from a contacts row; strings are copied.
 * source is the source's name. */
enum rk_err resolve_contact_set(struct resolve_contact *out, int level,
				const struct store_contact *row,
				const char *source);
void resolve_contact_release(struct resolve_contact *c);

#endif
