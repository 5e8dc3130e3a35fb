/* Unit tests for the DNS sources' pure parts: reversed names (IPv4
 * octets, IPv6 nibbles) and Team Cymru's origin answer. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reverse_name),
		cmocka_unit_test(test_cymru_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
