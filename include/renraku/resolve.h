/*
 * Resolve: the contact chain for an event or a target.
 *
 *   level 0  the most specific responsible party
 *   level 1  upstream: the origin AS's contact, when it differs
 *   level 2  the national CSIRT of the resource's country
 *
 * Levels whose address repeats a lower level are skipped.  Sources are
 * pluggable (struct resolve_source); this issue ships `local` (the
 * imported constituency and national CSIRT tables).  Network sources
 * (rdap, whois, abusix, security.txt) plug in later behind the same
 * interface and are skipped when offline.
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
};

#define RESOLVE_MAX_LEVELS 3

struct resolve_chain {
	struct resolve_contact entry[RESOLVE_MAX_LEVELS];
	size_t count;   /* entries used, in level order, no repeats */
	char *country;  /* country used for level 2 / language, NULL */
};

void resolve_chain_release(struct resolve_chain *chain);

/* A contact source.  lookup fills *out with the best match for q at
 * the given level (0 = responsible party for q, 1 = upstream for q->asn,
 * 2 = national CSIRT for q->country) and returns RK_OK, or
 * RK_ERR_NOTFOUND when it has none, or another error (RK_ERR_TEMPFAIL:
 * try later; never cached as "no contact"). */
struct resolve_source {
	const char *name;
	bool network; /* skipped when offline */
	enum rk_err (*lookup)(void *self, const struct resolve_query *q,
			      int level, struct resolve_contact *out);
	void (*free)(void *self);
	void *self;
};

struct resolver;

/* Build a resolver with the configured sources.  store, cfg and log are
 * borrowed for its lifetime.  offline: no network source is used. */
enum rk_err resolve_new(struct resolver **out, struct rk_store *store,
			const struct rk_config *cfg, const struct rk_log *log,
			bool offline);
void resolve_free(struct resolver *r);

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

#endif /* RENRAKU_RESOLVE_H */
