/* Unit tests for the resolver: the local source, chain rules,
 * suppressions, targets, JSON; and a quick measure of warm lookups/s. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "renraku/contacts.h"
#include "renraku/resolve.h"
#include "testutil.h"

static const struct rk_log quiet = {RK_LOG_ERROR, NULL};

struct fixture {
	char *tmp;
	struct rk_store *store;
	struct rk_config cfg;
	struct resolver *r;
};

/* Import a contacts set into a fresh store and build a resolver on it. */
static void import_set(struct fixture *f, struct contacts_set *set)
{
	for (size_t i = 0; i < set->nproblems; i++)
		print_error("%s:%lld: %s\n", set->problems[i].file,
			    set->problems[i].line, set->problems[i].reason);
	assert_int_equal(set->nproblems, 0);
	assert_int_equal(store_contacts_replace(f->store, set->contacts,
						set->ncontacts, set->supps,
						set->nsupps), RK_OK);
	contacts_set_release(set);
	assert_int_equal(resolve_new(&f->r, f->store, &f->cfg, &quiet, false),
			 RK_OK);
}

static void fixture_open(struct fixture *f, const char *rel_dir)
{
	struct contacts_set set;
	char *dir = rk_test_source_path(rel_dir);

	memset(f, 0, sizeof(*f));
	f->tmp = rk_test_tmpdir();
	f->store = rk_test_store(f->tmp, &quiet);
	rk_test_config(&f->cfg);
	/* the local tables only: these tests never reach a registry */
	assert_int_equal(rk_str_set(&f->cfg.resolve.sources, "local"), RK_OK);
	assert_int_equal(contacts_read_dir(dir, rk_now(), &quiet, &set), RK_OK);
	free(dir);
	import_set(f, &set);
}

static void fixture_close(struct fixture *f)
{
	resolve_free(f->r);
	store_close(f->store);
	rk_config_release(&f->cfg);
	rk_test_rmtree(f->tmp);
	free(f->tmp);
}

static struct store_event event(const char *ip, const char *fqdn,
				uint32_t asn, const char *cc, const char *type)
{
	struct store_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.source_ip = (char *)ip;
	ev.source_fqdn = (char *)fqdn;
	ev.source_asn = asn;
	ev.source_cc = (char *)cc;
	ev.type = (char *)(type ? type : "infected-system");
	return ev;
}

static void expect_entry(const struct resolve_chain *chain, size_t i,
			 int level, const char *email, const char *match)
{
	assert_true(i < chain->count);
	assert_int_equal(chain->entry[i].level, level);
	assert_string_equal(chain->entry[i].email, email);
	assert_string_equal(chain->entry[i].source, "local");
	if (match)
		assert_string_equal(chain->entry[i].match, match);
}

/* resolve_event for one event; the chain's first email, NULL if none. */
static void chain_of(struct fixture *f, const char *ip, const char *fqdn,
		     uint32_t asn, const char *cc, struct resolve_chain *chain)
{
	struct store_event ev = event(ip, fqdn, asn, cc, NULL);

	assert_int_equal(resolve_event(f->r, &ev, chain), RK_OK);
}

static void test_design_chain(void **state)
{
	struct fixture f;
	struct resolve_chain chain;

	(void)state;
	fixture_open(&f, "contacts");
	/* 192.0.2.10 in AS64500, JP */
	chain_of(&f, "192.0.2.10", NULL, 64500, "JP", &chain);
	assert_int_equal(chain.count, 3);
	expect_entry(&chain, 0, 0, "noc@isp-a.example", "192.0.2.0/24");
	assert_string_equal(chain.entry[0].org, "ISP A Inc.");
	assert_string_equal(chain.entry[0].cc, "abuse@isp-a.example");
	assert_string_equal(chain.entry[0].lang, "ja");
	assert_string_equal(chain.entry[0].format, "csv-inline");
	expect_entry(&chain, 1, 1, "abuse@isp-a.example", "AS64500");
	assert_string_equal(chain.entry[1].format, "csv-attach");
	expect_entry(&chain, 2, 2, "info@jpcert.or.jp", "JP");
	assert_string_equal(chain.entry[2].org, "JPCERT/CC");
	assert_string_equal(chain.entry[2].lang, "ja");
	assert_string_equal(chain.country, "JP");
	resolve_chain_release(&chain);

	/* IPv6 */
	chain_of(&f, "2001:db8:10::53", NULL, 64500, "JP", &chain);
	assert_int_equal(chain.count, 3);
	expect_entry(&chain, 0, 0, "soc@agency-d.example", "2001:db8:10::/48");
	assert_string_equal(chain.entry[0].lang, "en");
	assert_string_equal(chain.entry[0].format, "csv-attach");
	expect_entry(&chain, 1, 1, "abuse@isp-a.example", "AS64500");
	expect_entry(&chain, 2, 2, "info@jpcert.or.jp", "JP");
	resolve_chain_release(&chain);

	/* a phishing URL on a hosting address: the domain wins; upstream is
	 * the hosting network */
	chain_of(&f, "203.0.113.5", "login.bank-example.test", 64502, "JP", &chain);
	assert_int_equal(chain.count, 3);
	expect_entry(&chain, 0, 0, "csirt@bank-example.test", "bank-example.test");
	assert_null(chain.entry[0].format);
	expect_entry(&chain, 1, 1, "security@hosting-c.example", "203.0.113.0/24");
	expect_entry(&chain, 2, 2, "info@jpcert.or.jp", "JP");
	resolve_chain_release(&chain);
	/* the domain alone: no upstream known */
	chain_of(&f, NULL, "login.bank-example.test", 0, NULL, &chain);
	assert_int_equal(chain.count, 1);
	expect_entry(&chain, 0, 0, "csirt@bank-example.test", "bank-example.test");
	resolve_chain_release(&chain);
	/* a domain on an address outside the constituency: the AS entry */
	chain_of(&f, "198.18.0.1", "www.bank-example.test", 64500, NULL, &chain);
	assert_int_equal(chain.count, 2);
	expect_entry(&chain, 1, 1, "abuse@isp-a.example", "AS64500");
	resolve_chain_release(&chain);

	/* the same address without the domain: the hosting network */
	chain_of(&f, "203.0.113.5", NULL, 64502, NULL, &chain);
	assert_int_equal(chain.count, 1);
	expect_entry(&chain, 0, 0, "security@hosting-c.example", "203.0.113.0/24");
	assert_null(chain.country);
	resolve_chain_release(&chain);

	/* no constituency match, country DE: only level 2, numbered 2 */
	chain_of(&f, "198.51.100.77", NULL, 64501, "DE", &chain);
	assert_int_equal(chain.count, 1);
	expect_entry(&chain, 0, 2, "cert@national-csirt-de.example", "DE");
	assert_string_equal(chain.entry[0].lang, "de");
	resolve_chain_release(&chain);

	/* another address of the /24, no AS or country: level 0 only */
	chain_of(&f, "192.0.2.200", NULL, 0, NULL, &chain);
	assert_int_equal(chain.count, 1);
	expect_entry(&chain, 0, 0, "noc@isp-a.example", NULL);
	resolve_chain_release(&chain);
	/* no address match, but the AS: level 0 is the AS entry, level 1
	 * repeats it and is skipped */
	chain_of(&f, "198.18.0.1", NULL, 64500, "jp", &chain);
	assert_int_equal(chain.count, 2);
	expect_entry(&chain, 0, 0, "abuse@isp-a.example", "AS64500");
	expect_entry(&chain, 1, 2, "info@jpcert.or.jp", "JP");
	assert_string_equal(chain.country, "JP");
	resolve_chain_release(&chain);

	/* nothing known at all */
	chain_of(&f, "198.18.0.1", NULL, 0, NULL, &chain);
	assert_int_equal(chain.count, 0);
	resolve_chain_release(&chain);
	chain_of(&f, "not an address", NULL, 0, "ZZ", &chain);
	assert_int_equal(chain.count, 0);
	resolve_chain_release(&chain);
	fixture_close(&f);
}

static void test_specificity(void **state)
{
	struct fixture f;
	struct resolve_chain chain;
	static const struct {
		const char *ip, *fqdn, *email;
	} cases[] = {
		/* longest prefix wins: /32 > /24 > /16 */
		{"198.51.100.77", NULL, "host@customer-b.example"},
		{"198.51.100.5", NULL, "small@customer-b.example"},
		{"198.51.7.1", NULL, "big@isp-b.example"},
		{"2001:db8:1::1", NULL, "v6small@customer-b.example"},
		{"2001:db8:ffff::1", NULL, "v6@isp-b.example"},
		/* *.domain only covers subdomains; at the same parent it wins
		 * over the plain domain entry */
		{NULL, "www.shop.example", "wild@shop.example"},
		{NULL, "a.b.shop.example", "wild@shop.example"},
		{NULL, "shop.example", "apex@shop.example"},
		{NULL, "x.cdn.example", "only-sub@cdn.example"},
		{NULL, "cdn.example", NULL},
		{NULL, "notshop.example", NULL},
		/* exact beats parent, and a domain beats any prefix */
		{"198.51.100.77", "secure.example", "keyed@secure.example"},
		{"198.51.100.77", "www.secure.example", "keyed@secure.example"},
		{"198.51.100.77", "unknown.example", "host@customer-b.example"},
		{NULL, "xn--r8jz45g.xn--zckzah", "soc@agency-j.example"},
	};

	(void)state;
	fixture_open(&f, "tests/fixtures/contacts/good");
	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		chain_of(&f, cases[i].ip, cases[i].fqdn, 0, NULL, &chain);
		if (!cases[i].email) {
			assert_int_equal(chain.count, 0);
		} else {
			assert_true(chain.count >= 1);
			assert_int_equal(chain.entry[0].level, 0);
			if (strcmp(chain.entry[0].email, cases[i].email) != 0)
				fail_msg("%s %s: got %s, want %s",
					 cases[i].ip ? cases[i].ip : "-",
					 cases[i].fqdn ? cases[i].fqdn : "-",
					 chain.entry[0].email, cases[i].email);
		}
		resolve_chain_release(&chain);
	}
	/* a domain on a hosting address, no AS: upstream is the host */
	chain_of(&f, "198.51.100.77", "www.secure.example", 0, NULL, &chain);
	assert_int_equal(chain.count, 2);
	expect_entry(&chain, 0, 0, "keyed@secure.example", "secure.example");
	expect_entry(&chain, 1, 1, "host@customer-b.example", "198.51.100.77");
	resolve_chain_release(&chain);
	/* repeats: level 1 (AS64510) and level 2 (FR) give the same
	 * address as level 0 and are skipped */
	chain_of(&f, "203.0.113.9", NULL, 64510, "FR", &chain);
	assert_int_equal(chain.count, 1);
	expect_entry(&chain, 0, 0, "same@isp-c.example", "203.0.113.0/24");
	resolve_chain_release(&chain);
	/* a level repeating level 0 is skipped, the next one is kept */
	chain_of(&f, "203.0.113.9", NULL, 64510, "DE", &chain);
	assert_int_equal(chain.count, 2);
	expect_entry(&chain, 1, 2, "cert@national-csirt-de.example", "DE");
	resolve_chain_release(&chain);
	fixture_close(&f);
}

static void test_suppressed(void **state)
{
	struct fixture f;
	struct store_event ev;
	const char *reason = NULL;
	int64_t before, last_second, after;

	(void)state;
	assert_int_equal(rk_time_parse("2026-11-20T10:00:00Z", &before), RK_OK);
	assert_int_equal(rk_time_parse("2027-01-31T23:59:59Z", &last_second), RK_OK);
	assert_int_equal(rk_time_parse("2027-02-01T00:00:00Z", &after), RK_OK);
	fixture_open(&f, "contacts");
	ev = event("198.51.100.53", NULL, 64501, "JP", "vulnerable-system");
	assert_true(resolve_suppressed(f.r, &ev, before, &reason));
	assert_string_equal(reason, "research resolver operated with consent");
	assert_true(resolve_suppressed(f.r, &ev, last_second, &reason));
	assert_false(resolve_suppressed(f.r, &ev, after, &reason));
	assert_null(reason);
	ev.type = (char *)"scanner";
	assert_false(resolve_suppressed(f.r, &ev, before, &reason));
	ev = event("198.51.100.54", NULL, 64501, "JP", "vulnerable-system");
	assert_false(resolve_suppressed(f.r, &ev, before, &reason));
	fixture_close(&f);

	fixture_open(&f, "tests/fixtures/contacts/good");
	/* until in the past: no longer applies */
	ev = event("192.0.2.99", NULL, 0, NULL, "infected-system");
	assert_false(resolve_suppressed(f.r, &ev, before, &reason));
	/* *.domain and a type */
	ev = event("198.51.100.1", "www.shop.example", 0, NULL, "phishing");
	assert_true(resolve_suppressed(f.r, &ev, before, &reason));
	assert_string_equal(reason, "brand owner handles phishing itself");
	ev = event(NULL, "shop.example", 0, NULL, "phishing");
	assert_false(resolve_suppressed(f.r, &ev, before, NULL));
	ev = event(NULL, "www.shop.example", 0, NULL, "malware-distribution");
	assert_false(resolve_suppressed(f.r, &ev, before, NULL));
	/* an AS, any type, no reason given */
	ev = event("203.0.113.9", NULL, 64510, NULL, "scanner");
	assert_true(resolve_suppressed(f.r, &ev, before, &reason));
	assert_string_equal(reason, "suppressed by suppress.csv:5");
	fixture_close(&f);
}

static void test_targets(void **state)
{
	struct fixture f;
	struct resolve_chain chain;
	static const char *const bad[] = {"", "not a target!", "192.0.2.300",
					  "AS0", "AS4294967296", "localhost",
					  "192.0.2.0/24", "a..b.example"};

	(void)state;
	fixture_open(&f, "contacts");
	assert_int_equal(resolve_target(f.r, "192.0.2.10", &chain), RK_OK);
	assert_int_equal(chain.count, 1);
	expect_entry(&chain, 0, 0, "noc@isp-a.example", "192.0.2.0/24");
	resolve_chain_release(&chain);
	assert_int_equal(resolve_target(f.r, "as64500", &chain), RK_OK);
	assert_int_equal(chain.count, 1);
	expect_entry(&chain, 0, 0, "abuse@isp-a.example", "AS64500");
	resolve_chain_release(&chain);
	assert_int_equal(resolve_target(f.r, "Login.Bank-Example.TEST.", &chain), RK_OK);
	expect_entry(&chain, 0, 0, "csirt@bank-example.test", "bank-example.test");
	resolve_chain_release(&chain);
	assert_int_equal(resolve_target(f.r, "2001:DB8:10::1", &chain), RK_OK);
	expect_entry(&chain, 0, 0, "soc@agency-d.example", NULL);
	resolve_chain_release(&chain);
	assert_int_equal(resolve_target(f.r, "198.18.0.1", &chain), RK_OK);
	assert_int_equal(chain.count, 0);
	resolve_chain_release(&chain);
	for (size_t i = 0; i < RK_ARRAY_LEN(bad); i++) {
		if (resolve_target(f.r, bad[i], &chain) != RK_ERR_INVAL)
			fail_msg("target '%s' was accepted", bad[i]);
		assert_int_equal(chain.count, 0);
	}
	fixture_close(&f);
}

static void test_json(void **state)
{
	struct fixture f;
	struct resolve_chain chain;
	struct rk_buf out;
	json_t *doc, *list, *first;
	json_error_t jerr;

	(void)state;
	fixture_open(&f, "contacts");
	chain_of(&f, "192.0.2.10", NULL, 64500, "JP", &chain);
	rk_buf_init(&out, 1u << 20);
	assert_int_equal(resolve_chain_json("192.0.2.10", &chain, &out), RK_OK);
	doc = json_loads(out.data, 0, &jerr);
	assert_non_null(doc);
	assert_string_equal(json_string_value(json_object_get(doc, "target")),
			    "192.0.2.10");
	list = json_object_get(doc, "chain");
	assert_int_equal(json_array_size(list), 3);
	first = json_array_get(list, 0);
	assert_int_equal(json_integer_value(json_object_get(first, "level")), 0);
	assert_string_equal(json_string_value(json_object_get(first, "email")),
			    "noc@isp-a.example");
	assert_string_equal(json_string_value(json_object_get(first, "org")),
			    "ISP A Inc.");
	assert_string_equal(json_string_value(json_object_get(first, "source")),
			    "local");
	assert_string_equal(json_string_value(json_object_get(first, "match")),
			    "192.0.2.0/24");
	assert_int_equal(json_integer_value(json_object_get(json_array_get(list, 2),
							    "level")), 2);
	json_decref(doc);
	resolve_chain_release(&chain);

	/* an empty chain */
	rk_buf_reset(&out);
	memset(&chain, 0, sizeof(chain));
	assert_int_equal(resolve_chain_json("198.18.0.1", &chain, &out), RK_OK);
	assert_string_equal(out.data, "{\"target\":\"198.18.0.1\",\"chain\":[]}");
	rk_buf_release(&out);
	fixture_close(&f);
}

static void test_order(void **state)
{
	struct fixture f;
	struct resolver *r = NULL;
	struct resolve_chain chain;

	(void)state;
	fixture_open(&f, "contacts");
	/* network sources are skipped offline, whether built or not */
	assert_int_equal(rk_str_set(&f.cfg.resolve.sources, " rdap, local ,whois,abusix"), RK_OK);
	assert_int_equal(resolve_new(&r, f.store, &f.cfg, &quiet, true), RK_OK);
	assert_int_equal(resolve_target(r, "192.0.2.10", &chain), RK_OK);
	assert_int_equal(chain.count, 1);
	resolve_chain_release(&chain);
	resolve_free(r);
	/* no local source: no contacts, suppressions still apply */
	assert_int_equal(rk_str_set(&f.cfg.resolve.sources, "rdap"), RK_OK);
	assert_int_equal(resolve_new(&r, f.store, &f.cfg, &quiet, true), RK_OK);
	assert_int_equal(resolve_target(r, "192.0.2.10", &chain), RK_OK);
	assert_int_equal(chain.count, 0);
	resolve_chain_release(&chain);
	{
		struct store_event ev = event("198.51.100.53", NULL, 0, NULL,
					      "vulnerable-system");

		assert_true(resolve_suppressed(r, &ev, 0, NULL));
	}
	resolve_free(r);
	/* a misspelt source is a configuration error */
	assert_int_equal(rk_str_set(&f.cfg.resolve.sources, "local,rpad"), RK_OK);
	assert_int_equal(resolve_new(&r, f.store, &f.cfg, &quiet, false),
			 RK_ERR_CONFIG);
	assert_null(r);
	/* no store: empty tables */
	assert_int_equal(rk_str_set(&f.cfg.resolve.sources, "local"), RK_OK);
	assert_int_equal(resolve_new(&r, NULL, &f.cfg, &quiet, false), RK_OK);
	assert_int_equal(resolve_target(r, "192.0.2.10", &chain), RK_OK);
	assert_int_equal(chain.count, 0);
	resolve_chain_release(&chain);
	resolve_free(r);
	fixture_close(&f);
}

/* ------------------------------------------------------------ speed */

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#if defined(__SANITIZE_ADDRESS__)
#define RK_SLOW_BUILD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RK_SLOW_BUILD 1
#endif
#endif

/* A constituency of a few thousand rows and 1,000,000 warm resolve_event
 * calls on a mix of events (prefix, domain, AS, country, misses).  Prints
 * the rate; asserts nothing about it. */
static void test_lookup_rate(void **state)
{
	enum { NEVENTS = 1024 };
#ifdef RK_SLOW_BUILD
	const long lookups = 100000;
#else
	const long lookups = 1000000;
#endif
	static const char *const countries[] = {"JP", "DE", "FR", "US", "GB",
						"KR", NULL, "ZZ"};
	struct fixture f;
	struct contacts_set set;
	struct rk_buf csv, national;
	struct store_event *events;
	char (*ips)[RK_ADDR_TEXT], (*names)[64];
	size_t rows = 0, levels = 0, suppressed = 0;
	double t0, t_chain, t_supp;

	(void)state;
	memset(&f, 0, sizeof(f));
	f.tmp = rk_test_tmpdir();
	f.store = rk_test_store(f.tmp, &quiet);
	rk_test_config(&f.cfg);
	assert_int_equal(rk_str_set(&f.cfg.resolve.sources, "local"), RK_OK);
	rk_buf_init(&csv, 8u << 20);
	rk_buf_init(&national, 1u << 20);
	assert_int_equal(rk_buf_adds(&csv, "org,match,email,lang\n"), RK_OK);
	for (int i = 0; i < 2000; i++, rows++) /* /24s in 10.0.0.0/8 */
		assert_int_equal(rk_buf_addf(&csv, "Net %d,10.%d.%d.0/24,noc%d@net%d.example,en\n",
					     i, i / 200, i % 200, i, i), RK_OK);
	for (int i = 0; i < 200; i++, rows++) /* covering /16s */
		assert_int_equal(rk_buf_addf(&csv, "Big %d,10.%d.0.0/16,big%d@big.example,en\n",
					     i, i, i), RK_OK);
	for (int i = 0; i < 500; i++, rows++)
		assert_int_equal(rk_buf_addf(&csv, "V6 %d,2001:db8:%x::/48,v6-%d@v6.example,en\n",
					     i, i, i), RK_OK);
	for (int i = 0; i < 1000; i++, rows++)
		assert_int_equal(rk_buf_addf(&csv, "AS %d,AS%d,as%d@as.example,en\n",
					     i, 64000 + i, i), RK_OK);
	for (int i = 0; i < 1000; i++, rows++)
		assert_int_equal(rk_buf_addf(&csv, "Dom %d,%sdomain%d.example,d%d@dom.example,ja\n",
					     i, i % 2 ? "*." : "", i, i), RK_OK);
	assert_int_equal(rk_buf_adds(&national, "country,team,email,lang\n"
						"JP,JP team,jp@cert.example,ja\n"
						"DE,DE team,de@cert.example,de\n"
						"FR,FR team,fr@cert.example,fr\n"
						"US,US team,us@cert.example,en\n"), RK_OK);
	memset(&set, 0, sizeof(set));
	t0 = seconds();
	assert_int_equal(contacts_parse("constituency", NULL, csv.data, csv.len, &set), RK_OK);
	assert_int_equal(contacts_parse("national-csirts", NULL, national.data,
					national.len, &set), RK_OK);
	assert_int_equal(contacts_parse("suppress", NULL,
					"match,type\n10.1.0.0/16,scanner\n*.domain7.example,\n",
					strlen("match,type\n10.1.0.0/16,scanner\n*.domain7.example,\n"),
					&set), RK_OK);
	print_message("parsed %zu constituency rows in %.3f s\n", rows, seconds() - t0);
	assert_int_equal(set.ncontacts, rows + 4);
	import_set(&f, &set);

	events = calloc(NEVENTS, sizeof(*events));
	ips = calloc(NEVENTS, sizeof(*ips));
	names = calloc(NEVENTS, sizeof(*names));
	assert_non_null(events);
	assert_non_null(ips);
	assert_non_null(names);
	for (int i = 0; i < NEVENTS; i++) {
		unsigned x = (unsigned)i * 2654435761u;

		switch (i % 4) {
		case 0:
		case 1: snprintf(ips[i], sizeof(ips[i]), "10.%u.%u.%u", x % 12, (x >> 8) % 256, (x >> 16) % 256); break;
		case 2: snprintf(ips[i], sizeof(ips[i]), "2001:db8:%x::%x", x % 600, x % 65536); break;
		default: snprintf(ips[i], sizeof(ips[i]), "198.18.%u.%u", x % 256, (x >> 8) % 256); break;
		}
		events[i] = event(ips[i], NULL, 64000 + x % 1200,
				  countries[x % RK_ARRAY_LEN(countries)],
				  i % 3 ? "infected-system" : "scanner");
		if (i % 8 == 3) {
			snprintf(names[i], sizeof(names[i]), "www.domain%u.example", x % 1100);
			events[i].source_fqdn = names[i];
		}
	}
	t0 = seconds();
	for (long n = 0; n < lookups; n++) {
		struct resolve_chain chain;

		if (resolve_event(f.r, &events[n % NEVENTS], &chain) != RK_OK)
			fail();
		levels += chain.count;
		resolve_chain_release(&chain);
	}
	t_chain = seconds() - t0;
	t0 = seconds();
	for (long n = 0; n < lookups; n++)
		suppressed += resolve_suppressed(f.r, &events[n % NEVENTS], 0, NULL);
	t_supp = seconds() - t0;
	print_message("local source, %zu rows: %ld resolve_event calls in %.3f s = "
		      "%.0f lookups/s (%.2f levels each)%s\n",
		      rows, lookups, t_chain, (double)lookups / t_chain,
		      (double)levels / (double)lookups,
#ifdef RK_SLOW_BUILD
		      " [sanitizer build]"
#else
		      ""
#endif
	);
	print_message("suppression check: %ld calls in %.3f s = %.0f checks/s (%zu suppressed)\n",
		      lookups, t_supp, (double)lookups / t_supp, suppressed);
	assert_true(levels > 0);
	assert_true(suppressed > 0);
	free(events);
	free(ips);
	free(names);
	rk_buf_release(&csv);
	rk_buf_release(&national);
	fixture_close(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_design_chain),
		cmocka_unit_test(test_specificity),
		cmocka_unit_test(test_suppressed),
		cmocka_unit_test(test_targets),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_lookup_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
