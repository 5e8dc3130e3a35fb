/*
 * The range index of cached registry answers: every range split into the
 * CIDR blocks that cover it exactly, each block in an open-addressing
 * hash keyed by (family, length, bits).  A lookup masks the address to
 * each length present, longest first, and probes: the first hit is the
 * most specific cached range.  Unlike index.c (built once, sorted), it
 * grows while a batch is resolved.
 */
#include <stdlib.h>
#include <string.h>

#include "rdap.h"

typedef unsigned __int128 u128;

struct range_slot {
	u128 bits;     /* the block's first address, host bits zero */
	uint32_t id;
	uint8_t family; /* 0 = empty */
	uint8_t len;
};

struct range_index {
	struct range_slot *slots;
	size_t mask;  /* slots - 1, a power of two minus one */
	size_t used;
	uint32_t lens[2][129]; /* blocks per length, [0] = IPv4, [1] = IPv6 */
	uint8_t order[2][129]; /* lengths present, longest first */
	size_t norder[2];
};

static u128 to_u128(const struct rk_addr *a)
{
	u128 v = 0;
	int n = a->family == 4 ? 4 : 16;

	for (int i = 0; i < n; i++)
		v = (v << 8) | a->bytes[i];
	return v;
}

static void from_u128(u128 v, int family, struct rk_addr *a)
{
	int n = family == 4 ? 4 : 16;

	memset(a, 0, sizeof(*a));
	a->family = family;
	for (int i = n - 1; i >= 0; i--) {
		a->bytes[i] = (uint8_t)(v & 0xff);
		v >>= 8;
	}
}

static u128 mask_of(int bits, int len)
{
	if (len == 0)
		return 0;
	return (~(u128)0 << (bits - len)) &
	       (bits == 128 ? ~(u128)0 : (((u128)1 << bits) - 1));
}

static size_t slot_hash(u128 bits, int family, int len)
{
	uint64_t parts[3] = {(uint64_t)(bits >> 64), (uint64_t)bits,
			     (uint64_t)(family * 256 + len)};

	return (size_t)rk_hash(parts, sizeof(parts));
}

enum rk_err range_index_new(struct range_index **out)
{
	struct range_index *ix = calloc(1, sizeof(*ix));

	*out = NULL;
	if (!ix)
		return RK_ERR_NOMEM;
	ix->mask = 63;
	ix->slots = calloc(ix->mask + 1, sizeof(*ix->slots));
	if (!ix->slots) {
		free(ix);
		return RK_ERR_NOMEM;
	}
	*out = ix;
	return RK_OK;
}

void range_index_free(struct range_index *ix)
{
	if (!ix)
		return;
	free(ix->slots);
	free(ix);
}

static struct range_slot *probe(struct range_slot *slots, size_t mask,
				u128 bits, int family, int len)
{
	size_t i = slot_hash(bits, family, len) & mask;

	while (slots[i].family &&
	       !(slots[i].family == family && slots[i].len == len &&
		 slots[i].bits == bits))
		i = (i + 1) & mask;
	return &slots[i];
}

static enum rk_err grow(struct range_index *ix)
{
	size_t nmask = ix->mask * 2 + 1;
	struct range_slot *ns = calloc(nmask + 1, sizeof(*ns));

	if (!ns)
		return RK_ERR_NOMEM;
	for (size_t i = 0; i <= ix->mask; i++)
		if (ix->slots[i].family)
			*probe(ns, nmask, ix->slots[i].bits, ix->slots[i].family,
			       ix->slots[i].len) = ix->slots[i];
	free(ix->slots);
	ix->slots = ns;
	ix->mask = nmask;
	return RK_OK;
}

static void note_len(struct range_index *ix, int fam, int len)
{
	size_t k = 0;

	if (ix->lens[fam][len]++)
		return;
	while (k < ix->norder[fam] && ix->order[fam][k] > len)
		k++;
	memmove(&ix->order[fam][k + 1], &ix->order[fam][k],
		ix->norder[fam] - k);
	ix->order[fam][k] = (uint8_t)len;
	ix->norder[fam]++;
}

static enum rk_err add_block(struct range_index *ix, u128 bits, int family,
			     int len, uint32_t id)
{
	struct range_slot *s;
	enum rk_err err;

	if ((ix->used + 1) * 2 > ix->mask + 1 && (err = grow(ix)))
		return err;
	s = probe(ix->slots, ix->mask, bits, family, len);
	if (!s->family) {
		s->family = (uint8_t)family;
		s->len = (uint8_t)len;
		s->bits = bits;
		ix->used++;
		note_len(ix, family == 4 ? 0 : 1, len);
	}
	s->id = id;
	return RK_OK;
}

enum rk_err range_index_add(struct range_index *ix, const struct rk_addr *start,
			    const struct rk_addr *end, uint32_t id)
{
	int bits = start->family == 4 ? 32 : 128;
	u128 s = to_u128(start), e = to_u128(end);
	enum rk_err err;

	if (start->family != end->family || s > e)
		return RK_ERR_INVAL;
	/* the largest aligned block at s that ends at or before e, again */
	for (;;) {
		int k = 0;

		while (k < bits && ((s >> k) & 1) == 0) {
			u128 size1 = k + 1 >= 128 ? ~(u128)0
						  : ((u128)1 << (k + 1)) - 1;
			u128 last = s + size1;

			if (last < s || last > e)
				break;
			k++;
		}
		if ((err = add_block(ix, s, start->family, bits - k, id)))
			return err;
		if (k == bits)
			return RK_OK; /* the whole space */
		{
			u128 last = s + (((u128)1 << k) - 1);

			if (last >= e)
				return RK_OK;
			s = last + 1;
		}
	}
}

bool range_index_find(const struct range_index *ix, const struct rk_addr *a,
		      uint32_t *id)
{
	int fam = a->family == 4 ? 0 : 1, bits = a->family == 4 ? 32 : 128;
	u128 v = to_u128(a);

	for (size_t k = 0; k < ix->norder[fam]; k++) {
		int len = ix->order[fam][k];
		const struct range_slot *s =
			probe(ix->slots, ix->mask, v & mask_of(bits, len),
			      a->family, len);

		if (s->family) {
			*id = s->id;
			return true;
		}
	}
	return false;
}

int range_common_prefix(const struct rk_addr *start, const struct rk_addr *end)
{
	int bits = start->family == 4 ? 32 : 128;
	u128 diff = to_u128(start) ^ to_u128(end);
	int len = bits;

	while (diff) {
		diff >>= 1;
		len--;
	}
	return len;
}

void range_format(const struct rk_addr *start, const struct rk_addr *end,
		  char *out, size_t outlen)
{
	char a[RK_ADDR_TEXT], b[RK_ADDR_TEXT];
	int bits = start->family == 4 ? 32 : 128;
	int len = range_common_prefix(start, end);
	u128 m = mask_of(bits, len), s = to_u128(start), e = to_u128(end);
	struct rk_addr net;

	rk_addr_format(start, a);
	if ((s & ~m & mask_of(bits, bits)) == 0 &&
	    (e | m) == mask_of(bits, bits)) {
		from_u128(s, start->family, &net);
		rk_addr_format(&net, a);
		snprintf(out, outlen, "%s/%d", a, len);
		return;
	}
	rk_addr_format(end, b);
	snprintf(out, outlen, "%s - %s", a, b);
}
