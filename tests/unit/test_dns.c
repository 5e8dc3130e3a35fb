/* Unit tests for the DNS sources' pure parts: reversed names (IPv4
 * octets, IPv6 nibbles) and Team Cymru's origin answer. */
#include <stdio.h>
#include <string.h>

#include "renraku/resolve.h"
#include "testutil.h"

static void test_reverse_name(void **state)
{
	struct rk_addr a;
	char name[160];

	(void)state;
	assert_int_equal(rk_addr_parse("192.0.2.10", &a), RK_OK);
	assert_int_equal(resolve_reverse_name(&a, "abuse-contacts.abusix.zone", name,
					      sizeof(name)), RK_OK);
	assert_string_equal(name, "10.2.0.192.abuse-contacts.abusix.zone");
	assert_int_equal(rk_addr_parse("2001:db8::1", &a), RK_OK);
	assert_int_equal(resolve_reverse_name(&a, "origin6.asn.cymru.com", name,
					      sizeof(name)), RK_OK);
	assert_string_equal(name, "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
				  "8.b.d.0.1.0.0.2.origin6.asn.cymru.com");
	/* an IPv4-mapped address is the IPv4 address */
	assert_int_equal(rk_addr_parse("::ffff:198.51.100.7", &a), RK_OK);
	assert_int_equal(resolve_reverse_name(&a, "z", name, sizeof(name)), RK_OK);
	assert_string_equal(name, "7.100.51.198.z");
	assert_int_equal(resolve_reverse_name(&a, "z", name, 8), RK_ERR_LIMIT);
}

static void test_cymru_parse(void **state)
{
	uint32_t asn;
	char range[48], cc[3];

	(void)state;
	assert_int_equal(resolve_cymru_parse("64500 | 192.0.2.0/24 | JP | apnic | 2010-01-01",
					     &asn, range, sizeof(range), cc), RK_OK);
	assert_int_equal(asn, 64500);
	assert_string_equal(range, "192.0.2.0/24");
	assert_string_equal(cc, "JP");
	/* several origins: the first; lower-case country */
	assert_int_equal(resolve_cymru_parse("64501 64502 | 2001:db8::/32 | de | ripencc |",
					     &asn, range, sizeof(range), cc), RK_OK);
	assert_int_equal(asn, 64501);
	assert_string_equal(range, "2001:db8::/32");
	assert_string_equal(cc, "DE");
	/* no country, a bad prefix: what is good is kept */
	assert_int_equal(resolve_cymru_parse("64503 | 192.0.2.1/24 |  | arin |", &asn,
					     range, sizeof(range), cc), RK_OK);
	assert_int_equal(asn, 64503);
	assert_string_equal(range, "");
	assert_string_equal(cc, "");
	assert_int_equal(resolve_cymru_parse("not | an | answer", &asn, range,
					     sizeof(range), cc), RK_ERR_PARSE);
	assert_int_equal(asn, 0);
	assert_int_equal(resolve_cymru_parse("", &asn, range, sizeof(range), cc),
			 RK_ERR_PARSE);
}

/* A fake enriching source (Cymru's role) and a fake level source that
 * records what each level was asked. */
struct fake {
	uint32_t seen_asn[4];
	char seen_cc[4][3];
	size_t nseen;
};

static enum rk_err fake_enrich(void *self, const struct resolve_query *qs,
			       size_t n, struct resolve_hint *hints)
{
	(void)self;
	for (size_t i = 0; i < n; i++) {
		hints[i].asn = 64500;
		memcpy(hints[i].country, "JP", 3);
		(void)qs;
	}
	return RK_OK;
}

static enum rk_err fake_none(void *self, const struct resolve_query *qs,
			     size_t n, int level, struct resolve_contact *outs,
			     enum rk_err *errs)
{
	(void)self; (void)qs; (void)level; (void)outs;
	for (size_t i = 0; i < n; i++)
		errs[i] = RK_ERR_NOTFOUND;
	return RK_OK;
}

static enum rk_err fake_record(void *self, const struct resolve_query *qs,
			       size_t n, int level, struct resolve_contact *outs,
			       enum rk_err *errs)
{
	struct fake *f = self;

	for (size_t i = 0; i < n; i++) {
		errs[i] = RK_ERR_NOTFOUND;
		if (level == 2 && f->nseen < 4) {
			f->seen_asn[f->nseen] = qs[i].asn;
			snprintf(f->seen_cc[f->nseen], 3, "%s", qs[i].country ? qs[i].country : "");
			f->nseen++;
		}
		(void)outs;
	}
	return RK_OK;
}

/* Hints fill what a query lacks and never replace what it has; the
 * chain's country comes from them. */
static void test_enrich(void **state)
{
	static const struct rk_log quiet = {RK_LOG_ERROR, NULL};
	struct rk_config cfg;
	struct resolver *r;
	struct fake rec;
	struct resolve_source enrich = {"cymru", true, fake_none, NULL, NULL, fake_enrich};
	struct resolve_source record = {"record", true, fake_record, NULL, &rec, NULL};
	struct resolve_query qs[2];
	struct resolve_chain chains[2];
	enum rk_err errs[2];

	(void)state;
	memset(&rec, 0, sizeof(rec));
	memset(qs, 0, sizeof(qs));
	rk_test_config(&cfg);
	assert_int_equal(rk_str_set(&cfg.resolve.sources, ""), RK_OK);
	assert_int_equal(resolve_new(&r, NULL, &cfg, &quiet, false), RK_OK);
	assert_int_equal(resolve_add_source(r, &enrich), RK_OK);
	assert_int_equal(resolve_add_source(r, &record), RK_OK);
	assert_int_equal(rk_addr_parse("192.0.2.1", &qs[0].addr), RK_OK);
	qs[0].has_addr = true;
	qs[1] = qs[0];
	qs[1].asn = 64999;
	qs[1].country = "DE";
	assert_int_equal(resolve_batch(r, qs, 2, chains, errs), RK_OK);
	assert_int_equal(rec.nseen, 2);
	assert_int_equal(rec.seen_asn[0], 64500);
	assert_string_equal(rec.seen_cc[0], "JP");
	assert_int_equal(rec.seen_asn[1], 64999);
	assert_string_equal(rec.seen_cc[1], "DE");
	assert_int_equal(errs[0], RK_OK);
	assert_string_equal(chains[0].country, "JP");
	assert_string_equal(chains[1].country, "DE");
	resolve_chain_release(&chains[0]);
	resolve_chain_release(&chains[1]);
	resolve_free(r);
	rk_config_release(&cfg);
}

/* The network fields survive the stored chain's encode and decode. */
static void test_chain_fields(void **state)
{
	struct resolve_chain chain, back;
	struct rk_buf text;
	struct resolve_contact *c = &chain.entry[0];

	(void)state;
	memset(&chain, 0, sizeof(chain));
	chain.count = 1;
	c->email = rk_strdup("security@good.test");
	c->source = rk_strdup("security.txt");
	c->registry = rk_strdup("https://good.test/.well-known/security.txt");
	c->range = rk_strdup("192.0.2.0/24");
	c->country = rk_strdup("JP");
	c->encryption = rk_strdup("https://good.test/key.asc");
	c->detail = rk_strdup("signed, key unknown");
	rk_buf_init(&text, 1u << 20);
	assert_int_equal(resolve_chain_encode(&chain, &text), RK_OK);
	assert_int_equal(resolve_chain_decode(text.data, &back), RK_OK);
	assert_string_equal(back.entry[0].registry, c->registry);
	assert_string_equal(back.entry[0].range, c->range);
	assert_string_equal(back.entry[0].country, "JP");
	assert_string_equal(back.entry[0].encryption, c->encryption);
	assert_string_equal(back.entry[0].detail, c->detail);
	resolve_chain_release(&back);
	resolve_chain_release(&chain);
	rk_buf_release(&text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reverse_name),
		cmocka_unit_test(test_cymru_parse),
		cmocka_unit_test(test_enrich),
		cmocka_unit_test(test_chain_fields),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
