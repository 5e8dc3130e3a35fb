/*
 * Match expressions, shared by the contacts checks (constituency.csv,
 * suppress.csv) and the resolver's index: an IPv4/IPv6 CIDR prefix or
 * bare address, an AS number (AS64500), a domain and its subdomains
 * (example.test), the subdomains only (*.example.test), or "*" where
 * everything may match.  Part of core: any stage may include it.
 */
#ifndef RENRAKU_MATCH_H
#define RENRAKU_MATCH_H

#include "renraku/core.h"

/* What a `match` column may hold. */
enum match_kind {
	MATCH_PREFIX = 0,     /* IPv4/IPv6 CIDR, or a bare address (host) */
	MATCH_ASN = 1,        /* AS64500 */
	MATCH_DOMAIN = 2,     /* example.test: the domain and its subdomains */
	MATCH_SUBDOMAINS = 3, /* *.example.test: subdomains only */
	MATCH_ANY = 4         /* "*" (suppressions only) */
};

struct match_spec {
	enum match_kind kind;
	struct rk_addr net; /* MATCH_PREFIX */
	int prefix;
	uint32_t asn;       /* MATCH_ASN */
	char *domain;       /* MATCH_DOMAIN / MATCH_SUBDOMAINS: normalized,
			       without "*."; owned */
	char *text;         /* canonical text ("192.0.2.0/24", "AS64500",
			       "*.example.test"); owned */
};

/* Parse a match expression.  allow_any: accept "*".  On RK_ERR_INVAL the
 * reason (without the value's line) is written to why[why_len]; on
 * RK_ERR_NOMEM nothing is.  out is zeroed first; release with
 * match_release in every case. */
enum rk_err match_parse(const char *s, bool allow_any, struct match_spec *out,
			char *why, size_t why_len);
/* Free the strings of m (m itself is the caller's); NULL is allowed. */
void match_release(struct match_spec *m);

/* True when s (normalized) is a domain name renraku accepts as a subject:
 * at least two labels and a top-level label that is not all digits (so a
 * mistyped address is not taken for a name).  s is borrowed. */
bool match_domain_plausible(const char *s);

/* Copy s (borrowed, NULL allowed) into out for quoting in a message:
 * control bytes become \xNN and long text is cut (at a UTF-8 boundary)
 * with "...".  out holds RK_QUOTE bytes. */
#define RK_QUOTE 96
void rk_quote(const char *s, char out[RK_QUOTE]);

#endif /* RENRAKU_MATCH_H */
