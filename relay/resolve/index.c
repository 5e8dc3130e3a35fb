/* The in-memory match index: longest-prefix match over sorted per-length
 * runs, a hash over domain names walked from the most specific label,
 * a sorted array of AS numbers.  Built once, then read only. */
#include <stdlib.h>
#include <string.h>

#include "private.h"

void match_index_init(struct match_index *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void match_index_release(struct match_index *ix)
{
	for (size_t i = 0; i < ix->ndom; i++)
		free(ix->dom[i].name);
	free(ix->v4);
	free(ix->v6);
	free(ix->asn);
	free(ix->dom);
	free(ix->any);
	free(ix->dom_hash);
	match_index_init(ix);
}


static uint64_t load_be64(const uint8_t *b)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = (v << 8) | b[i];
	return v;
}

static uint32_t v4_key(const struct rk_addr *a)
{
	return (uint32_t)a->bytes[0] << 24 | (uint32_t)a->bytes[1] << 16 |
	       (uint32_t)a->bytes[2] << 8 | a->bytes[3];
}

static uint32_t v4_mask(int len)
{
	return len == 0 ? 0 : 0xffffffffu << (32 - len);
}

/* The 128-bit mask of a prefix length as two halves. */
static void v6_mask(int len, uint64_t *hi, uint64_t *lo)
{
	*hi = len == 0 ? 0 : len >= 64 ? ~(uint64_t)0 : ~(uint64_t)0 << (64 - len);
	*lo = len <= 64 ? 0 : len == 128 ? ~(uint64_t)0 : ~(uint64_t)0 << (128 - len);
}

enum rk_err match_index_add(struct match_index *ix,
			    const struct match_spec *m, uint32_t id)
{
	enum rk_err err = RK_OK;

	switch (m->kind) {
	case MATCH_PREFIX:
		if (m->net.family == 4) {
			if ((err = rk_array_room((void **)&ix->v4, ix->nv4,
					   sizeof(*ix->v4))))
				break;
			ix->v4[ix->nv4++] = (struct idx_v4){
				.net = v4_key(&m->net), .id = id, .len = (uint8_t)m->prefix};
		} else {
			if ((err = rk_array_room((void **)&ix->v6, ix->nv6,
					   sizeof(*ix->v6))))
				break;
			ix->v6[ix->nv6++] = (struct idx_v6){
				.hi = load_be64(m->net.bytes),
				.lo = load_be64(m->net.bytes + 8), .id = id,
				.len = (uint8_t)m->prefix};
		}
		break;
	case MATCH_ASN:
		if ((err = rk_array_room((void **)&ix->asn, ix->nasn,
				   sizeof(*ix->asn))))
			break;
		ix->asn[ix->nasn++] = (struct idx_asn){.asn = m->asn, .id = id};
		break;
	case MATCH_DOMAIN:
	case MATCH_SUBDOMAINS: {
		char *name;

		if ((err = rk_array_room((void **)&ix->dom, ix->ndom,
				   sizeof(*ix->dom))))
			break;
		name = rk_strdup(m->domain);
		if (!name) {
			err = RK_ERR_NOMEM;
			break;
		}
		ix->dom[ix->ndom++] = (struct idx_dom){
			.name = name, .id = id,
			.subdomains_only = m->kind == MATCH_SUBDOMAINS};
		break;
	}
	case MATCH_ANY:
		if ((err = rk_array_room((void **)&ix->any, ix->nany,
				   sizeof(*ix->any))))
			break;
		ix->any[ix->nany++] = id;
		break;
	}
	return err;
}

/* Sort orders: prefix length, then network, then id (so that the first of
 * equal keys is the earliest row). */
static int cmp_v4(const void *pa, const void *pb)
{
	const struct idx_v4 *a = pa, *b = pb;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->net != b->net)
		return a->net < b->net ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_v6(const void *pa, const void *pb)
{
	const struct idx_v6 *a = pa, *b = pb;

	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	if (a->hi != b->hi)
		return a->hi < b->hi ? -1 : 1;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_asn(const void *pa, const void *pb)
{
	const struct idx_asn *a = pa, *b = pb;

	if (a->asn != b->asn)
		return a->asn < b->asn ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* By name; within a name, *.name entries first, then by id. */
static int cmp_dom(const void *pa, const void *pb)
{
	const struct idx_dom *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	if (a->subdomains_only != b->subdomains_only)
		return a->subdomains_only ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static int cmp_any(const void *pa, const void *pb)
{
	uint32_t a = *(const uint32_t *)pa, b = *(const uint32_t *)pb;

	return a < b ? -1 : a > b;
}

static uint64_t hash_name(const char *s, size_t n)
{
	return rk_hash(s, n);
}

static enum rk_err build_dom_hash(struct match_index *ix)
{
	size_t slots = 16;

	while (slots < ix->ndom * 2)
		slots *= 2;
	ix->dom_hash = calloc(slots, sizeof(*ix->dom_hash));
	if (!ix->dom_hash)
		return RK_ERR_NOMEM;
	ix->dom_hash_mask = slots - 1;
	for (size_t i = 0; i < ix->ndom; i++) {
		const char *name = ix->dom[i].name;
		size_t slot;

		if (i > 0 && strcmp(ix->dom[i - 1].name, name) == 0)
			continue; /* not the first of its run */
		slot = hash_name(name, strlen(name)) & ix->dom_hash_mask;
		while (ix->dom_hash[slot])
			slot = (slot + 1) & ix->dom_hash_mask;
		ix->dom_hash[slot] = (uint32_t)i + 1;
	}
	return RK_OK;
}

enum rk_err match_index_build(struct match_index *ix)
{
	size_t i;
	int len;

	if (ix->nv4 > UINT32_MAX - 1 || ix->nv6 > UINT32_MAX - 1 ||
	    ix->ndom > UINT32_MAX - 1)
		return RK_ERR_LIMIT;
	/* (qsort of a NULL array is undefined even when empty) */
	if (ix->nv4)
		qsort(ix->v4, ix->nv4, sizeof(*ix->v4), cmp_v4);
	if (ix->nv6)
		qsort(ix->v6, ix->nv6, sizeof(*ix->v6), cmp_v6);
	if (ix->nasn)
		qsort(ix->asn, ix->nasn, sizeof(*ix->asn), cmp_asn);
	if (ix->ndom)
		qsort(ix->dom, ix->ndom, sizeof(*ix->dom), cmp_dom);
	if (ix->nany)
		qsort(ix->any, ix->nany, sizeof(*ix->any), cmp_any);

	/* Run boundaries per prefix length, and the lengths present. */
	for (len = 0, i = 0; len <= 32; len++) {
		ix->v4_start[len] = (uint32_t)i;
		while (i < ix->nv4 && ix->v4[i].len == len)
			i++;
	}
	ix->v4_start[33] = (uint32_t)i;
	ix->nv4_lens = 0;
	for (len = 32; len >= 0; len--)
		if (ix->v4_start[len + 1] > ix->v4_start[len])
			ix->v4_lens[ix->nv4_lens++] = (uint8_t)len;
	for (len = 0, i = 0; len <= 128; len++) {
		ix->v6_start[len] = (uint32_t)i;
		while (i < ix->nv6 && ix->v6[i].len == len)
			i++;
	}
	ix->v6_start[129] = (uint32_t)i;
	ix->nv6_lens = 0;
	for (len = 128; len >= 0; len--)
		if (ix->v6_start[len + 1] > ix->v6_start[len])
			ix->v6_lens[ix->nv6_lens++] = (uint8_t)len;
	return build_dom_hash(ix);
}

/* First entry of the run with this network in [lo, hi), or hi. */
static size_t v4_find(const struct idx_v4 *v, size_t lo, size_t hi,
		      uint32_t net)
{
	size_t end = hi;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].net < net)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < end && v[lo].net == net ? lo : end;
}

static size_t v6_find(const struct idx_v6 *v, size_t lo, size_t hi,
		      uint64_t khi, uint64_t klo)
{
	size_t end = hi;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].hi < khi || (v[mid].hi == khi && v[mid].lo < klo))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < end && v[lo].hi == khi && v[lo].lo == klo ? lo : end;
}

static size_t asn_find(const struct idx_asn *v, size_t n, uint32_t asn)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].asn < asn)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < n && v[lo].asn == asn ? lo : n;
}

/* The first entry named exactly s[0..n), or ix->ndom. */
static size_t dom_find(const struct match_index *ix, const char *s, size_t n)
{
	size_t slot;
	uint32_t e;

	if (!ix->dom_hash)
		return ix->ndom;
	slot = hash_name(s, n) & ix->dom_hash_mask;
	while ((e = ix->dom_hash[slot]) != 0) {
		const char *name = ix->dom[e - 1].name;

		if (strncmp(name, s, n) == 0 && name[n] == '\0')
			return e - 1;
		slot = (slot + 1) & ix->dom_hash_mask;
	}
	return ix->ndom;
}

bool match_index_domain(const struct match_index *ix, const char *domain,
			uint32_t *id, enum match_how *how)
{
	size_t n, i;
	const char *dot;

	if (!domain || !ix->ndom)
		return false;
	n = strlen(domain);
	i = dom_find(ix, domain, n);
	/* The domain itself: a plain entry (after the *. entries of the run). */
	for (; i < ix->ndom && strcmp(ix->dom[i].name, domain) == 0; i++) {
		if (!ix->dom[i].subdomains_only) {
			*id = ix->dom[i].id;
			*how = HOW_EXACT_DOMAIN;
			return true;
		}
	}
	/* Parents, nearest first: *.parent sorts before parent. */
	for (dot = strchr(domain, '.'); dot; dot = strchr(dot + 1, '.')) {
		const char *parent = dot + 1;

		i = dom_find(ix, parent, n - (size_t)(parent - domain));
		if (i < ix->ndom) {
			*id = ix->dom[i].id;
			*how = HOW_PARENT_DOMAIN;
			return true;
		}
	}
	return false;
}

bool match_index_addr(const struct match_index *ix, const struct rk_addr *a,
		      uint32_t *id)
{
	if (a->family == 4) {
		uint32_t key = v4_key(a);

		for (size_t l = 0; l < ix->nv4_lens; l++) {
			int len = ix->v4_lens[l];
			size_t lo = ix->v4_start[len], hi = ix->v4_start[len + 1];
			size_t at = v4_find(ix->v4, lo, hi, key & v4_mask(len));

			if (at < hi) {
				*id = ix->v4[at].id;
				return true;
			}
		}
	} else {
		uint64_t khi = load_be64(a->bytes), klo = load_be64(a->bytes + 8);

		for (size_t l = 0; l < ix->nv6_lens; l++) {
			int len = ix->v6_lens[l];
			size_t lo = ix->v6_start[len], hi = ix->v6_start[len + 1];
			uint64_t mhi, mlo;
			size_t at;

			v6_mask(len, &mhi, &mlo);
			at = v6_find(ix->v6, lo, hi, khi & mhi, klo & mlo);
			if (at < hi) {
				*id = ix->v6[at].id;
				return true;
			}
		}
	}
	return false;
}

bool match_index_asn(const struct match_index *ix, uint32_t asn,
		     uint32_t *id)
{
	size_t at = asn_find(ix->asn, ix->nasn, asn);

	if (at == ix->nasn)
		return false;
	*id = ix->asn[at].id;
	return true;
}

static bool each_addr(const struct match_index *ix, const struct rk_addr *a,
		      match_visit_fn visit, void *arg)
{
	if (a->family == 4) {
		uint32_t key = v4_key(a);

		for (size_t l = 0; l < ix->nv4_lens; l++) {
			int len = ix->v4_lens[l];
			size_t hi = ix->v4_start[len + 1];
			uint32_t net = key & v4_mask(len);

			for (size_t at = v4_find(ix->v4, ix->v4_start[len], hi, net);
			     at < hi && ix->v4[at].net == net; at++)
				if (visit(arg, ix->v4[at].id))
					return true;
		}
	} else {
		uint64_t khi = load_be64(a->bytes), klo = load_be64(a->bytes + 8);

		for (size_t l = 0; l < ix->nv6_lens; l++) {
			int len = ix->v6_lens[l];
			size_t hi = ix->v6_start[len + 1];
			uint64_t mhi, mlo;

			v6_mask(len, &mhi, &mlo);
			for (size_t at = v6_find(ix->v6, ix->v6_start[len], hi,
						 khi & mhi, klo & mlo);
			     at < hi && ix->v6[at].hi == (khi & mhi) &&
			     ix->v6[at].lo == (klo & mlo);
			     at++)
				if (visit(arg, ix->v6[at].id))
					return true;
		}
	}
	return false;
}

static bool each_domain(const struct match_index *ix, const char *domain,
			match_visit_fn visit, void *arg)
{
	size_t n = strlen(domain), i;
	const char *dot;

	for (i = dom_find(ix, domain, n);
	     i < ix->ndom && strcmp(ix->dom[i].name, domain) == 0; i++)
		if (!ix->dom[i].subdomains_only && visit(arg, ix->dom[i].id))
			return true;
	for (dot = strchr(domain, '.'); dot; dot = strchr(dot + 1, '.')) {
		const char *parent = dot + 1;

		for (i = dom_find(ix, parent, n - (size_t)(parent - domain));
		     i < ix->ndom && strcmp(ix->dom[i].name, parent) == 0; i++)
			if (visit(arg, ix->dom[i].id))
				return true;
	}
	return false;
}

bool match_index_each(const struct match_index *ix,
		      const struct resolve_query *q, match_visit_fn visit,
		      void *arg)
{
	for (size_t i = 0; i < ix->nany; i++)
		if (visit(arg, ix->any[i]))
			return true;
	if (q->has_addr && each_addr(ix, &q->addr, visit, arg))
		return true;
	if (q->domain && ix->ndom && each_domain(ix, q->domain, visit, arg))
		return true;
	if (q->asn) {
		for (size_t at = asn_find(ix->asn, ix->nasn, q->asn);
		     at < ix->nasn && ix->asn[at].asn == q->asn; at++)
			if (visit(arg, ix->asn[at].id))
				return true;
	}
	return false;
}
