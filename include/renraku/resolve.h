/*
 * Resolve: the contact chain for an event or a target.
 *
 *   level 0  the most specific responsible party
 *   level 1  upstream: the origin AS's contact, when it differs
 *   level 2  the national CSIRT of the resource's country
 *
 * Levels whose address repeats a lower level are skipped.  Sources are
 * pluggable (struct resolve_source), registered by name in resolver.c:
 * `local` (the imported constituency and national CSIRT tables) and
 * `rdap` (registries over HTTPS, answers cached by range), `whois`
 * (port 43, referral chains), `abusix` and `cymru` (DNS TXT) and
 * `security.txt` (RFC 9116 over HTTPS).  Network sources are skipped
 * when offline, but for rdap, which then answers from its cache.  A
 * country (or origin AS) a source names at a lower level is used by the
 * higher levels when the event had none; an enriching source (cymru)
 * fills them in before level 0 is asked.
 *
 * Owns: the in-memory match index of the constituency, the contact
 * sources, and the resolve stage (events new -> resolved | unresolved |
 * withheld | suppressed, chains rows) through relay/store/.  May call:
 * store, core, http (the shared libcurl client); network sources:
 * c-ares.  Called by the pipeline
 * driver, tickets (decoding a stored chain) and the command line
 * (`renraku resolve`).
 */
#ifndef RENRAKU_RESOLVE_H
#define RENRAKU_RESOLVE_H

#include "renraku/config.h"
#include "renraku/store.h"

/* What to resolve: any of the fields may be unset. */
struct resolve_query {
	bool has_addr;
	struct rk_addr addr;
	const char *domain;   /* normalized, NULL = none */
	uint32_t asn;         /* 0 = none */
	const char *country;  /* ISO 3166 alpha-2, NULL = unknown */
};

struct resolve_contact {
	int level;
	char *email;
	char *cc;     /* NULL = none */
	char *org;
	char *lang;   /* NULL = unset */
	char *format; /* NULL = default */
	char *pgp;    /* NULL = none */
	char *source; /* "local", ... */
	char *match;  /* what matched: "192.0.2.0/24", "AS64500", "JP" */
	/* Network sources fill these (NULL / false / 0 when unknown): */
	char *range;    /* what the registry's answer covers: "192.0.2.0/24",
			   "198.51.100.0 - 198.51.100.99", "AS64496-AS64511" */
	char *country;  /* the resource's country from the registry */
	char *registry; /* where the answer came from: the RDAP service
			   that answered (after redirects), a whois server
			   ("whois.ripe.net:43"), the security.txt URL read,
			   the DNS name asked */
	char *irt;      /* a national registry's IRT passed over for the
			   network's own contact (APNIC), NULL = none */
	char *encryption; /* security.txt Encryption: key URL, NULL */
	char *detail;   /* how it was found, for --explain ("signed by
			   FPR", "signed, key unknown"), NULL */
	uint32_t asn;   /* the origin AS the registry named, 0 = none: level
			   1 asks for it when the query had none */
	bool cached;    /* read from the cache, not asked now */
	int64_t fetched_at; /* when the registry answered, 0 = unknown */
};

#define RESOLVE_MAX_LEVELS 3

struct resolve_chain {
	struct resolve_contact entry[RESOLVE_MAX_LEVELS];
	size_t count;   /* entries used, in level order, no repeats */
	char *country;  /* country used for level 2 / language, NULL */
};

void resolve_chain_release(struct resolve_chain *chain);

/* What an enriching source found about a query's subject. */
struct resolve_hint {
	uint32_t asn;     /* origin AS, 0 = unknown */
	char country[3];  /* ISO 3166 alpha-2, "" = unknown */
	char range[48];   /* the routed prefix, "" = unknown */
};

/* A contact source.  lookup answers a batch of queries at one level
 * (0 = responsible party for q, 1 = upstream for q->asn or the hosting
 * network of q->domain, 2 = national CSIRT for q->country): for each
 * i < n, errs[i] is RK_OK with outs[i] filled (caller releases),
 * RK_ERR_NOTFOUND when the source has none, RK_ERR_TEMPFAIL when it
 * cannot tell now (never cached as "no contact"), or another error for
 * that query.  The return value is RK_OK, or an error that stops the
 * whole batch (RK_ERR_NOMEM).
 *
 * The resolver calls lookup with no database transaction open, so a
 * network source may take its time and should run its n lookups
 * concurrently (libcurl multi, c-ares); outs[] and errs[] are the
 * caller's, zeroed, n long. */
/* What a source counts in its own state (struct resolve_source.counts):
 * lookups it answered from its cache without asking anyone, and the
 * questions it sent over the network (an RDAP request, a whois
 * connection, a DNS query, a security.txt fetch). */
struct resolve_source_counts {
	long long cache_hits;
	long long remote_queries;
};

struct resolve_source {
	const char *name;
	bool network; /* skipped when offline */
	enum rk_err (*lookup)(void *self, const struct resolve_query *qs,
			      size_t n, int level,
			      struct resolve_contact *outs, enum rk_err *errs);
	void (*free)(void *self);
	void *self;
	/* Optional (NULL = none): what the queries lack, found before level
	 * 0 is asked (Team Cymru: the origin AS and country of an address),
	 * so that levels 1 and 2 can use it.  Called once per batch, with no
	 * transaction open, with every query: it looks at those with an
	 * address and no AS or no country.  hints[] is the caller's, zeroed,
	 * n long; a hint left zero adds nothing, and a hint never replaces
	 * what the query already has.  Returns RK_OK or a batch-wide error (RK_ERR_NOMEM);
	 * a query it cannot help just keeps its zero hint. */
	enum rk_err (*enrich)(void *self, const struct resolve_query *qs,
			      size_t n, struct resolve_hint *hints);
	/* Optional (NULL = counts nothing): the source's counters, in its
	 * self, read by the resolver after each batch. */
	const struct resolve_source_counts *counts;
};

struct resolver;

/* Build a resolver with the configured sources.  store, cfg and log are
 * borrowed for its lifetime.  offline: no network source is used. */
enum rk_err resolve_new(struct resolver **out, struct rk_store *store,
			const struct rk_config *cfg, const struct rk_log *log,
			bool offline);
void resolve_free(struct resolver *r);

/* Add a source after the configured ones (tests, plug-ins); the resolver
 * owns it from now on (its free is called by resolve_free, also when this
 * fails). */
enum rk_err resolve_add_source(struct resolver *r,
			       const struct resolve_source *src);

/* The chains for a batch of queries, each level from the first source
 * that has it, levels repeating a lower level's address skipped.  For
 * each i: errs[i] RK_OK with chains[i] filled (count may be 0: nobody
 * known; caller releases), or RK_ERR_TEMPFAIL (a source could not tell
 * now: try again later), or another per-query error.  Sources are asked
 * once per level for all the queries still open, so a network source
 * sees the whole batch.  Returns RK_OK or a batch-wide error. */
enum rk_err resolve_batch(struct resolver *r, const struct resolve_query *qs,
			  size_t n, struct resolve_chain *chains,
			  enum rk_err *errs);

/* The query for a stored event (IP, domain, AS, country); strings are
 * borrowed from ev. */
void resolve_event_query(const struct resolver *r,
			 const struct store_event *ev,
			 struct resolve_query *q);

/* A chain as text for the store (JSON) and back.  decode fills *out
 * (zeroed first; caller releases) and refuses text it did not write
 * (RK_ERR_PARSE). */
enum rk_err resolve_chain_encode(const struct resolve_chain *chain,
				 struct rk_buf *out);
enum rk_err resolve_chain_decode(const char *text,
				 struct resolve_chain *out);

/* ------------------------------------------------------------ stage */

/* Sources resolve_stats counts (as many as a resolver holds). */
#define RESOLVE_STATS_SOURCES 8

struct resolve_stats {
	long long seen;       /* events looked at */
	long long resolved;   /* got a chain */
	long long unresolved; /* nobody known (retried after negative_ttl) */
	long long later;      /* a source could not tell now: left new */
	long long withheld;   /* TLP:RED: never looked up, never leaves */
	long long suppressed; /* a suppression rule covers them */
	long long subjects;   /* distinct subjects asked */
	long long stale;      /* looked up while the contacts were replaced:
				 left as they were, looked up again */
	long long moved_on;   /* changed by someone else meanwhile (events
				 retry): their outcome is not written */
	/* Per configured source, in order: the resolver's totals so far
	 * (resolve_pending sets them when it returns). */
	struct resolve_source_stats {
		char name[16];
		long long lookups;        /* queries handed to the source */
		long long cache_hits;     /* answered from its cache */
		long long remote_queries; /* questions sent over the network */
	} sources[RESOLVE_STATS_SOURCES];
	size_t nsources;
};

/* The resolve stage: every event due for a lookup (new, and unresolved
 * ones whose retry time has come) in batches.  For each batch: TLP:RED
 * events are withheld and suppressed ones set aside before any lookup;
 * the distinct subjects of the rest are resolved with resolve_batch with
 * no transaction open; then the chains and the events' new states are
 * written in one short transaction.  An unresolved event is tried again
 * at now + [resolve] negative_ttl. */
enum rk_err resolve_pending(struct rk_store *store, struct resolver *r,
			    const struct rk_config *cfg,
			    const struct rk_log *log, int64_t now,
			    struct resolve_stats *stats);
/* resolve_pending drawing progress (events looked at) on p (may be
 * NULL; p->total set by the caller). */
enum rk_err resolve_pending_progress(struct rk_store *store,
				     struct resolver *r,
				     const struct rk_config *cfg,
				     const struct rk_log *log, int64_t now,
				     struct resolve_stats *stats,
				     struct rk_progress *p);

/* Where resolve_pending_sink hands each batch's resolved events, in the
 * batch's write transaction, right after their outcomes are written:
 * the run stage tickets them there (tickets_pass_take), so an event
 * goes from new to ticketed in one write and one commit, and a crash
 * leaves the batch as it was before (new), done again by the next run.
 * All borrowed; take may be NULL (then the sink is ignored). */
struct resolve_sink {
	void *self;
	/* the state a resolved event is written with (e.g.
	 * STORE_EVENT_TICKETED): what take makes of it */
	const char *state;
	/* ev[0..n): the batch's events whose outcome was written (id
	 * order; chain_id and chain_contact set, borrowed for the call).
	 * An error rolls the batch back and ends the pass. */
	enum rk_err (*take)(void *self, const struct store_event *ev,
			    size_t n);
	void (*committed)(void *self);   /* the batch taken is committed */
	void (*rolled_back)(void *self); /* it is rolled back */
	/* The connection the resolver was made on (resolve_new), when it
	 * is a second one to the same database (store_open_sibling), or
	 * NULL.  Given, the next batches are read and looked up on a
	 * thread of their own, on this connection, while the caller's
	 * thread writes the batch before them on store: the lookups and
	 * the writes overlap, with the same rows as one batch after the
	 * other.  Nothing else may use it during the call. */
	struct rk_store *lookup_store;
	/* With lookup_store: the writer keeps its transaction open across
	 * batches until it holds this many events (each commit rewrites
	 * the pages of every ticket it touched, so fewer commits write
	 * less), but commits before it would wait for a lookup, so that a
	 * slow registry never holds the write lock.  0: a transaction a
	 * batch.  A failure rolls back the whole transaction; the next
	 * pass does its events again. */
	size_t tx_events;
};

/* resolve_pending_progress with a sink (NULL: as without). */
enum rk_err resolve_pending_sink(struct rk_store *store, struct resolver *r,
				 const struct rk_config *cfg,
				 const struct rk_log *log, int64_t now,
				 struct resolve_stats *stats,
				 struct rk_progress *p,
				 const struct resolve_sink *sink);

/* The chain for a target given on the command line: an IP address, an
 * AS number ("AS64500") or a domain name. */
enum rk_err resolve_target(struct resolver *r, const char *target,
			   struct resolve_chain *out);

/* The chain for a stored event (IP, else domain, else AS; country from
 * source.geolocation.cc). */
enum rk_err resolve_event(struct resolver *r, const struct store_event *ev,
			  struct resolve_chain *out);

/* True when a suppression rule in force at `now` covers the event; *reason
 * is borrowed from the resolver. */
bool resolve_suppressed(struct resolver *r, const struct store_event *ev,
			int64_t now, const char **reason);

/* Write the chain as `renraku resolve --json` prints it:
 * {"target":..,"chain":[{"level":0,"email":..,"org":..,"source":"local"}]} */
enum rk_err resolve_chain_json(const char *target,
			       const struct resolve_chain *chain,
			       struct rk_buf *out);

/* ------------------------------------------------------------ bootstrap */

struct resolve_bootstrap_result {
	char *dir;         /* the directory written, caller frees */
	size_t entries[4]; /* prefixes (IPv4, IPv6), AS ranges, labels */
};

/* `renraku bootstrap update`: fetch the four RFC 9224 files (ipv4.json,
 * ipv6.json, asn.json, dns.json) from [resolve] bootstrap_url, check
 * every one parses as a bootstrap naming https services, and only then
 * replace the files in [resolve] bootstrap_dir, each atomically.
 * http_resolve: CURLOPT_RESOLVE entries for tests, NULL = none.  Errors:
 * RK_ERR_CONFIG (no bootstrap_dir), RK_ERR_TEMPFAIL (a file could not be
 * fetched), RK_ERR_PARSE (a file is not a bootstrap: nothing replaced),
 * RK_ERR_IO.  res is filled (zeroed first); free res->dir. */
enum rk_err resolve_bootstrap_update(const struct rk_config *cfg,
				     const struct rk_log *log,
				     const char *const *http_resolve,
				     struct resolve_bootstrap_result *res);

/* ------------------------------------------------- network sources */

/* What one port-43 whois answer says (RFC 3912 text, any registry's
 * shape: IANA, ARIN, RIPE/APNIC/AFRINIC/LACNIC RPSL, JPNIC in ISO-2022-JP,
 * thin/thick domain registries).  Every string is owned (release with
 * whois_answer_release), printable and on one line. */
struct whois_answer {
	char *email;     /* the best contact address, NULL = none */
	int email_rank;  /* 0 the "% Abuse contact" line, 1 an abuse
			    field, 2 technical, 3 any other e-mail */
	char *referral;  /* next server "host:port" (refer:, ReferralServer:
			    last one wins, whois:// and rwhois://), NULL */
	char *range;     /* network: "192.0.2.0/24" when the range is one
			    prefix, else "A - B", NULL */
	char *country;   /* ISO 3166 alpha-2, upper case, NULL */
	char *org;       /* organization name (UTF-8), NULL */
	char *handle;    /* a contact handle to ask for (JPNIC's answers
			    name the contact, not its address), NULL */
	uint32_t asn;    /* origin AS, 0 = none */
	bool decoded;    /* the answer was ISO-2022-JP, decoded to UTF-8 */
};

/* Parse an answer of len bytes (no NUL needed).  Pure: no I/O.  Longer
 * answers than RK_MAX_WHOIS_REPLY are RK_ERR_LIMIT; lines longer than
 * RK_MAX_WHOIS_LINE are skipped.  *out is zeroed first; caller releases
 * it, also on error. */
enum rk_err whois_parse(const char *data, size_t len,
			struct whois_answer *out);
void whois_answer_release(struct whois_answer *a);

/* The line sent to server host for a subject ("192.0.2.1", "AS64500",
 * "example.com", a handle): ARIN wants "n + ADDR" / "a + N" to list every
 * network in full.  Written into out (NUL-terminated, CRLF included). */
enum rk_err whois_query_line(const char *host, const char *subject,
			     char *out, size_t outlen);

/* The DNS name of addr under zone: IPv4 octets reversed
 * ("10.2.0.192.zone"), IPv6 nibbles reversed.  out holds 80 + zone. */
enum rk_err resolve_reverse_name(const struct rk_addr *addr, const char *zone,
				 char *out, size_t outlen);

/* Team Cymru's origin answer: "64500 | 192.0.2.0/24 | JP | apnic | 2010-01-01"
 * (several ASNs separated by spaces: the first).  Fills asn, the prefix
 * (range, at least 44 bytes) and the country ("" when none; 3 bytes). */
enum rk_err resolve_cymru_parse(const char *txt, uint32_t *asn, char *range,
				size_t rangelen, char country[3]);

/* What a security.txt file (RFC 9116) says.  Owned strings; release with
 * sectxt_release. */
struct sectxt {
	char **contacts;   /* mailto: addresses (the address only), in order */
	size_t ncontacts;
	size_t nother_contacts; /* Contact values that are not mailto: */
	char **encryption; /* Encryption URLs */
	size_t nencryption;
	char **canonical;  /* Canonical URLs */
	size_t ncanonical;
	char *lang;        /* the first Preferred-Languages tag, lower case */
	int64_t expires;   /* Unix seconds, 0 = no Expires field */
	bool is_signed;    /* an OpenPGP cleartext signature wraps it */
	size_t nrejected;  /* lines rejected (bad syntax, too long) */
};

/* Parse file text of len bytes.  Pure.  RK_ERR_LIMIT when larger than
 * RK_MAX_SECURITY_TXT; RK_ERR_PARSE with why filled (a reason) when it
 * is not a usable security.txt (Expires twice or not a date, a broken
 * signature frame, no line at all).  *out is zeroed first; caller
 * releases it, also on error. */
enum rk_err sectxt_parse(const char *data, size_t len, struct sectxt *out,
			 char *why, size_t whylen);
void sectxt_release(struct sectxt *st);

/* Whether a file read from url may be trusted by its own fields at time
 * now: not expired, and url among its Canonical values when it has any.
 * false with why filled otherwise. */
bool sectxt_usable(const struct sectxt *st, const char *url, int64_t now,
		   char *why, size_t whylen);

#endif /* RENRAKU_RESOLVE_H */
