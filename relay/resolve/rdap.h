/* Inside the resolve stage: the RDAP answer walker, the RFC 9224
 * bootstrap and the range index of cached answers.  Only files under
 * relay/resolve/ include this. */
#ifndef RENRAKU_RESOLVE_RDAP_H
#define RENRAKU_RESOLVE_RDAP_H

#include <stdbool.h>
#include <stdint.h>

#include "renraku/config.h"
#include "renraku/core.h"

/* ------------------------------------------------------------ walker */

enum rdap_kind {
	RDAP_OTHER = 0,
	RDAP_IP = 1,     /* "ip network" */
	RDAP_AUTNUM = 2, /* "autnum" */
	RDAP_DOMAIN = 3, /* "domain" */
	RDAP_ENTITY = 4  /* "entity" */
};

/* What one RDAP answer says about its object.  Strings owned. */
struct rdap_answer {
	enum rdap_kind kind;
	char *email;      /* the contact chosen, NULL = none */
	char *cc;         /* its other addresses, ", "-separated, NULL = none */
	char *org;        /* the entity's fn (else the registrant's), NULL */
	const char *role; /* static: "abuse", "technical", "administrative" */
	char *irt;        /* a national registry's IRT passed over for the
			     network's own contact (APNIC rule), NULL */
	char *fetch_handle; /* the abuse entity has no vCard: ask
			       /entity/HANDLE (email is then NULL) */
	char *country;    /* two letters, upper case, NULL */
	char *name;       /* the object's name (network name), NULL */
	char *ldh_name;   /* a domain's ldhName (lower case), NULL */
	bool has_range;   /* ip network: start..end */
	struct rk_addr start, end;
	uint32_t origin_asn; /* ip network: the origin AS when the registry
				says (ARIN's arin_originas0), 0 = none */
	bool has_asns;    /* autnum: asn_start..asn_end */
	uint32_t asn_start, asn_end;
	size_t entities;  /* entities walked */
};

void rdap_answer_release(struct rdap_answer *a);

/* Walk one RDAP answer (RFC 9083): the abuse contact (the shallowest
 * entity with role abuse that has an e-mail address; for a domain the
 * registrar's abuse entity first; else technical, then administrative),
 * every e-mail address of the chosen entity's jCard whatever its
 * parameters, the range (startAddress/endAddress, else cidr0_cidrs;
 * zero-padded IPv4 octets read as decimal), the AS range and the
 * country.  Pure: reads nothing but text.  Limits: RK_MAX_RDAP_JSON,
 * RK_MAX_RDAP_DEPTH, RK_MAX_RDAP_ENTITIES, RK_MAX_RDAP_EMAILS.
 * RK_OK with *out filled (zeroed first; caller releases) even when no
 * contact is named; RK_ERR_PARSE (not JSON, not an object, an RDAP error
 * document) or RK_ERR_LIMIT with why set. */
enum rk_err rdap_walk(const char *text, size_t len, struct rdap_answer *out,
		      char *why, size_t whylen);

/* ------------------------------------------------------------ bootstrap */

enum bootstrap_file {
	BOOTSTRAP_IPV4 = 0,
	BOOTSTRAP_IPV6 = 1,
	BOOTSTRAP_ASN = 2,
	BOOTSTRAP_DNS = 3
};
#define BOOTSTRAP_FILES 4
extern const char *const bootstrap_file_names[BOOTSTRAP_FILES];

struct bootstrap;

/* Parse one RFC 9224 file's text into b (the kind given by which); the
 * file replaces what b held for that kind.  RK_ERR_PARSE / RK_ERR_LIMIT
 * with why set.  Services whose URLs are all non-https are kept only when
 * allow_http. */
enum rk_err bootstrap_new(struct bootstrap **out);
void bootstrap_free(struct bootstrap *b);
enum rk_err bootstrap_parse(struct bootstrap *b, enum bootstrap_file which,
			    const char *text, size_t len, bool allow_http,
			    char *why, size_t whylen);
/* Read the four files from dir.  A missing file leaves its kind empty; a
 * bad one fails (why names it). */
enum rk_err bootstrap_load(struct bootstrap *b, const char *dir,
			   bool allow_http, char *why, size_t whylen);

/* The directory the bootstrap is read from (caller frees): [resolve]
 * bootstrap_dir (relative to the config file), else the bundled copy,
 * <data dir>/rdap (data/rdap in a source tree). */
enum rk_err bootstrap_dir(const struct rk_config *cfg, char **out);

/* The base URL (ends in '/', borrowed from b) of the registry for an
 * address (longest prefix), an AS number (range) or a domain (longest
 * label suffix); NULL when the bootstrap names none. */
const char *bootstrap_addr(const struct bootstrap *b, const struct rk_addr *a);
const char *bootstrap_asn(const struct bootstrap *b, uint32_t asn);
const char *bootstrap_domain(const struct bootstrap *b, const char *domain);

/* ------------------------------------------------------------ ranges */

/* Address ranges mapped to ids, looked up by the most specific range
 * holding an address.  A range is split into the CIDR blocks that cover
 * it exactly, each kept in a hash by (family, length, bits); a lookup
 * probes the lengths present, longest first.  Grows while used (the
 * constituency's index.c is built once, sorted). */
struct range_index;

enum rk_err range_index_new(struct range_index **out);
void range_index_free(struct range_index *ix);
/* Map start..end (same family, start <= end) to id; a later add of an
 * overlapping block of the same length replaces the earlier id. */
enum rk_err range_index_add(struct range_index *ix, const struct rk_addr *start,
			    const struct rk_addr *end, uint32_t id);
bool range_index_find(const struct range_index *ix, const struct rk_addr *a,
		      uint32_t *id);
/* The longest prefix length whose block holds both start and end. */
int range_common_prefix(const struct rk_addr *start, const struct rk_addr *end);
/* "192.0.2.0/24" when start..end is one block, else "start - end". */
void range_format(const struct rk_addr *start, const struct rk_addr *end,
		  char *out, size_t outlen);

#endif
