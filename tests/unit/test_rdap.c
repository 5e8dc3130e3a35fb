/* Unit tests for the RDAP walker, the RFC 9224 bootstrap and the range
 * index (relay/resolve/rdap_walk.c, bootstrap.c, range_index.c). */
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <time.h>

#include "../../relay/resolve/rdap.h"
#include "testutil.h"

static void walk_fixture(const char *name, struct rdap_answer *a)
{
	char rel[256], why[256];
	char *path, *text;
	size_t len;

	snprintf(rel, sizeof(rel), "tests/fixtures/rdap/%s", name);
	path = rk_test_source_path(rel);
	text = rk_test_read(path, &len);
	assert_int_equal(rdap_walk(text, len, a, why, sizeof(why)), RK_OK);
	free(text);
	free(path);
}

static void assert_range(const struct rdap_answer *a, const char *want)
{
	char range[128];

	assert_true(a->has_range);
	range_format(&a->start, &a->end, range, sizeof(range));
	assert_string_equal(range, want);
}

static void test_walk_ripe(void **state)
{
	struct rdap_answer a;

	(void)state;
	/* the abuse entity at top level, its email with {"type":"abuse"} */
	walk_fixture("ripe-ip-abuse.json", &a);
	assert_int_equal(a.kind, RDAP_IP);
	assert_string_equal(a.email, "abuse@isp-b.example");
	assert_string_equal(a.role, "abuse");
	assert_string_equal(a.org, "ISP B Abuse Contact");
	assert_string_equal(a.country, "DE");
	assert_null(a.irt);
	assert_range(&a, "198.51.100.0/24");
	rdap_answer_release(&a);
}

static void test_walk_arin_nested(void **state)
{
	struct rdap_answer a;

	(void)state;
	/* abuse nested under the registrant; the NOC (technical) is not it */
	walk_fixture("arin-ip-nested-abuse.json", &a);
	assert_string_equal(a.email, "abuse@isp-a.example");
	assert_string_equal(a.role, "abuse");
	assert_null(a.country);
	assert_range(&a, "192.0.2.0/24");
	rdap_answer_release(&a);
	/* zero-padded octets; every address of the jCard, whatever its
	 * parameters, the invalid one dropped; abuse before technical at
	 * the same depth */
	walk_fixture("arin-padded-cidr0.json", &a);
	assert_string_equal(a.email, "abuse@padded.example");
	assert_string_equal(a.cc, "soc@padded.example");
	assert_string_equal(a.org, "Padded Abuse");
	assert_range(&a, "192.0.2.128/26");
	rdap_answer_release(&a);
}

static void test_walk_apnic_irt(void **state)
{
	struct rdap_answer a;

	(void)state;
	/* a national registry's IRT as abuse role: the network's own
	 * contact below it is preferred, the IRT kept beside it */
	walk_fixture("apnic-ip-irt-national.json", &a);
	assert_string_equal(a.email, "abuse@hosting-c.example");
	assert_string_equal(a.irt, "hostmaster@nic.ad.jp.example");
	assert_string_equal(a.role, "technical");
	assert_string_equal(a.country, "JP");
	assert_range(&a, "203.0.113.0/24");
	rdap_answer_release(&a);
}

static void test_walk_fallbacks(void **state)
{
	struct rdap_answer a;
	char why[256];

	(void)state;
	/* cidr0 only, IPv6, administrative as the last resort */
	walk_fixture("cidr0-only-v6.json", &a);
	assert_string_equal(a.email, "admin@v6.example");
	assert_string_equal(a.role, "administrative");
	assert_string_equal(a.country, "DE");
	assert_range(&a, "2001:db8:1000::/36");
	rdap_answer_release(&a);
	/* an abuse entity without a vCard: fetch its own object, do not
	 * fall back to the technical contact */
	walk_fixture("abuse-no-vcard.json", &a);
	assert_null(a.email);
	assert_string_equal(a.fetch_handle, "ABUSE-NOCARD");
	assert_range(&a, "198.51.100.128/25");
	rdap_answer_release(&a);
	walk_fixture("entity-abuse-nocard.json", &a);
	assert_int_equal(a.kind, RDAP_ENTITY);
	assert_string_equal(a.email, "abuse@nocard.example");
	rdap_answer_release(&a);
	/* autnum */
	walk_fixture("autnum-64500.json", &a);
	assert_int_equal(a.kind, RDAP_AUTNUM);
	assert_true(a.has_asns);
	assert_int_equal(a.asn_start, 64500);
	assert_int_equal(a.asn_end, 64500);
	assert_string_equal(a.email, "abuse@transit.example");
	rdap_answer_release(&a);
	/* a domain: the registrar's abuse entity, not the first abuse role */
	walk_fixture("domain-registrar.json", &a);
	assert_int_equal(a.kind, RDAP_DOMAIN);
	assert_string_equal(a.email, "abuse@registrar.example");
	assert_string_equal(a.ldh_name, "evil-shop.example");
	assert_string_equal(a.org, "Example Registrar Inc.");
	rdap_answer_release(&a);
	/* rejections say why */
	assert_int_equal(rdap_walk("{\"errorCode\":429}", 17, &a, why, sizeof(why)),
			 RK_ERR_PARSE);
	assert_string_equal(why, "RDAP error 429");
	assert_int_equal(rdap_walk("<html>", 6, &a, why, sizeof(why)), RK_ERR_PARSE);
	assert_non_null(strstr(why, "not JSON"));
	assert_int_equal(rdap_walk("[]", 2, &a, why, sizeof(why)), RK_ERR_PARSE);
	/* an answer naming nobody is an answer */
	assert_int_equal(rdap_walk("{\"objectClassName\":\"ip network\"}", 32, &a,
				   why, sizeof(why)), RK_OK);
	assert_null(a.email);
	rdap_answer_release(&a);
}

static void test_walk_limits(void **state)
{
	struct rk_buf doc;
	struct rdap_answer a;
	char why[256];

	(void)state;
	/* abuse deeper than RK_MAX_RDAP_DEPTH is not reached */
	rk_buf_init(&doc, 1u << 20);
	assert_int_equal(rk_buf_adds(&doc, "{\"objectClassName\":\"ip network\""), RK_OK);
	for (int i = 0; i < RK_MAX_RDAP_DEPTH + 1; i++)
		assert_int_equal(rk_buf_adds(&doc, ",\"entities\":[{\"roles\":[]"), RK_OK);
	assert_int_equal(rk_buf_adds(&doc, ",\"entities\":[{\"roles\":[\"abuse\"],"
				     "\"vcardArray\":[\"vcard\",[[\"email\",{},\"text\","
				     "\"deep@x.example\"]]]}]"), RK_OK);
	for (int i = 0; i < RK_MAX_RDAP_DEPTH + 1; i++)
		assert_int_equal(rk_buf_adds(&doc, "}]"), RK_OK);
	assert_int_equal(rk_buf_adds(&doc, "}"), RK_OK);
	assert_int_equal(rdap_walk(doc.data, doc.len, &a, why, sizeof(why)), RK_OK);
	assert_null(a.email);
	assert_true(a.entities <= RK_MAX_RDAP_ENTITIES);
	rdap_answer_release(&a);
	/* many entities: the walk stops at RK_MAX_RDAP_ENTITIES */
	rk_buf_reset(&doc);
	assert_int_equal(rk_buf_adds(&doc, "{\"objectClassName\":\"ip network\",\"entities\":["), RK_OK);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(rk_buf_addf(&doc, "%s{\"roles\":[\"technical\"],\"vcardArray\":"
					     "[\"vcard\",[[\"email\",{},\"text\",\"t%d@x.example\"]]]}",
					     i ? "," : "", i), RK_OK);
	assert_int_equal(rk_buf_adds(&doc, "]}"), RK_OK);
	assert_int_equal(rdap_walk(doc.data, doc.len, &a, why, sizeof(why)), RK_OK);
	assert_int_equal(a.entities, RK_MAX_RDAP_ENTITIES);
	assert_string_equal(a.email, "t0@x.example");
	rdap_answer_release(&a);
	rk_buf_release(&doc);
}

/* bootstrap_parse over a C string (len SIZE_MAX: up to its NUL) */
#define bootstrap_parse(b, w, text, len, h, why, n)                        \
	bootstrap_parse((b), (w), (text),                                     \
			(len) == SIZE_MAX ? strlen(text) : (size_t)(len), (h), \
			(why), (n))

static void test_bootstrap(void **state)
{
	struct bootstrap *bs = NULL;
	struct rk_addr a;
	char why[256];
	char *dir = rk_test_source_path("data/rdap");

	(void)state;
	assert_int_equal(bootstrap_new(&bs), RK_OK);
	assert_int_equal(bootstrap_load(bs, dir, false, why, sizeof(why)), RK_OK);
	assert_int_equal(rk_addr_parse("193.0.6.139", &a), RK_OK);
	assert_string_equal(bootstrap_addr(bs, &a), "https://rdap.db.ripe.net/");
	assert_int_equal(rk_addr_parse("203.0.113.5", &a), RK_OK);
	assert_string_equal(bootstrap_addr(bs, &a), "https://rdap.apnic.net/");
	/* https chosen over the http URL of the same service */
	assert_int_equal(rk_addr_parse("41.1.1.1", &a), RK_OK);
	assert_string_equal(bootstrap_addr(bs, &a), "https://rdap.afrinic.net/rdap/");
	assert_int_equal(rk_addr_parse("2001:4200::1", &a), RK_OK);
	assert_string_equal(bootstrap_addr(bs, &a), "https://rdap.afrinic.net/rdap/");
	assert_int_equal(rk_addr_parse("2a00::1", &a), RK_OK);
	assert_string_equal(bootstrap_addr(bs, &a), "https://rdap.db.ripe.net/");
	assert_int_equal(rk_addr_parse("10.0.0.1", &a), RK_OK);
	assert_null(bootstrap_addr(bs, &a)); /* private space: nobody */
	assert_string_equal(bootstrap_asn(bs, 37000), "https://rdap.afrinic.net/rdap/");
	assert_null(bootstrap_asn(bs, 4294967295u));
	/* services with http:// URLs only are left out */
	assert_null(bootstrap_domain(bs, "www.example.kg"));
	assert_string_equal(bootstrap_domain(bs, "shop.example.tw"),
			    "https://ccrdap.twnic.tw/tw/");
	bootstrap_free(bs);
	free(dir);

	/* longest prefix wins; a service's URL gets its trailing slash */
	assert_int_equal(bootstrap_new(&bs), RK_OK);
	assert_int_equal(bootstrap_parse(bs, BOOTSTRAP_IPV4,
		"{\"version\":\"1.0\",\"services\":["
		"[[\"192.0.0.0/8\"],[\"https://wide.test/rdap\"]],"
		"[[\"192.0.2.0/24\"],[\"https://narrow.test/\"]]]}", SIZE_MAX, false,
		why, sizeof(why)), RK_OK);
	assert_int_equal(rk_addr_parse("192.0.2.9", &a), RK_OK);
	assert_string_equal(bootstrap_addr(bs, &a), "https://narrow.test/");
	assert_int_equal(rk_addr_parse("192.0.3.9", &a), RK_OK);
	assert_string_equal(bootstrap_addr(bs, &a), "https://wide.test/rdap/");
	assert_int_equal(bootstrap_parse(bs, BOOTSTRAP_IPV4,
		"{\"version\":\"1.0\",\"services\":[[[\"not a prefix\"],[\"https://x.test/\"]]]}",
		SIZE_MAX, false, why, sizeof(why)), RK_ERR_PARSE);
	assert_non_null(strstr(why, "not a prefix"));
	assert_int_equal(bootstrap_parse(bs, BOOTSTRAP_ASN, "{\"services\":[]}",
					 SIZE_MAX, false, why, sizeof(why)), RK_ERR_PARSE);
	bootstrap_free(bs);
}

static void add_range(struct range_index *ix, const char *s, const char *e,
		      uint32_t id)
{
	struct rk_addr a, b;

	assert_int_equal(rk_addr_parse(s, &a), RK_OK);
	assert_int_equal(rk_addr_parse(e, &b), RK_OK);
	assert_int_equal(range_index_add(ix, &a, &b, id), RK_OK);
}

static long find(const struct range_index *ix, const char *s)
{
	struct rk_addr a;
	uint32_t id;

	assert_int_equal(rk_addr_parse(s, &a), RK_OK);
	return range_index_find(ix, &a, &id) ? (long)id : -1;
}

static void test_range_index(void **state)
{
	struct range_index *ix = NULL;
	struct rk_addr a, b;
	char text[128];
	double t0;
	long hits = 0;
	struct timespec ts;

	(void)state;
	assert_int_equal(range_index_new(&ix), RK_OK);
	add_range(ix, "198.51.0.0", "198.51.255.255", 1);
	add_range(ix, "198.51.100.0", "198.51.100.99", 2); /* not one block */
	add_range(ix, "2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", 3);
	add_range(ix, "::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 4);
	assert_int_equal(find(ix, "198.51.100.0"), 2);
	assert_int_equal(find(ix, "198.51.100.99"), 2);
	assert_int_equal(find(ix, "198.51.100.100"), 1);
	assert_int_equal(find(ix, "198.51.7.7"), 1);
	assert_int_equal(find(ix, "198.52.0.0"), -1);
	assert_int_equal(find(ix, "2001:db8:5::1"), 3);
	assert_int_equal(find(ix, "2001:db9::1"), 4);
	assert_int_equal(rk_addr_parse("198.51.100.0", &a), RK_OK);
	assert_int_equal(rk_addr_parse("198.51.100.99", &b), RK_OK);
	range_format(&a, &b, text, sizeof(text));
	assert_string_equal(text, "198.51.100.0 - 198.51.100.99");
	assert_int_equal(rk_addr_parse("198.51.100.255", &b), RK_OK);
	range_format(&a, &b, text, sizeof(text));
	assert_string_equal(text, "198.51.100.0/24");
	assert_int_equal(range_index_add(ix, &b, &a, 9), RK_ERR_INVAL);
	/* many /24s, looked up warm */
	for (uint32_t i = 0; i < 5000; i++) {
		struct rk_addr s = {4, {10, (uint8_t)(i >> 8), (uint8_t)i, 0}};
		struct rk_addr e = {4, {10, (uint8_t)(i >> 8), (uint8_t)i, 255}};

		assert_int_equal(range_index_add(ix, &s, &e, 100 + i), RK_OK);
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	t0 = (double)ts.tv_sec + ts.tv_nsec / 1e9;
	for (uint32_t i = 0; i < 1000000; i++) {
		struct rk_addr q = {4, {10, (uint8_t)((i % 5000) >> 8),
					(uint8_t)(i % 5000), (uint8_t)(i * 7)}};
		uint32_t id;

		hits += range_index_find(ix, &q, &id) && id == 100 + i % 5000;
	}
	clock_gettime(CLOCK_MONOTONIC, &ts);
	print_message("range index: 1000000 lookups in %.3f s\n",
		      (double)ts.tv_sec + ts.tv_nsec / 1e9 - t0);
	assert_int_equal(hits, 1000000);
	range_index_free(ix);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walk_ripe),
		cmocka_unit_test(test_walk_arin_nested),
		cmocka_unit_test(test_walk_apnic_irt),
		cmocka_unit_test(test_walk_fallbacks),
		cmocka_unit_test(test_walk_limits),
		cmocka_unit_test(test_bootstrap),
		cmocka_unit_test(test_range_index),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
