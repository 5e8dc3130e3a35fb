/* Unit tests for the whois answer parser: the registries' real shapes
 * (tests/fixtures/whois/), referrals, limits, hostile lines. */
#include <stdlib.h>
#include <string.h>

#include "renraku/resolve.h"
#include "testutil.h"

static void parse_fixture(const char *name, struct whois_answer *a)
{
	char rel[256], *path, *text;
	size_t len;

	snprintf(rel, sizeof(rel), "tests/fixtures/whois/%s", name);
	path = rk_test_source_path(rel);
	text = rk_test_read(path, &len);
	assert_int_equal(whois_parse(text, len, a), RK_OK);
	free(text);
	free(path);
}

static void parse_text(const char *text, struct whois_answer *a)
{
	assert_int_equal(whois_parse(text, strlen(text), a), RK_OK);
}

static void test_iana_refers(void **state)
{
	struct whois_answer a;

	(void)state;
	parse_fixture("iana-198.51.100.77.txt", &a);
	assert_string_equal(a.referral, "whois.arin.net:43");
	assert_null(a.email);
	whois_answer_release(&a);
}

static void test_ripe_abuse_line(void **state)
{
	struct whois_answer a;

	(void)state;
	parse_fixture("ripe-198.51.100.77.txt", &a);
	assert_string_equal(a.email, "abuse@isp-b.example");
	assert_int_equal(a.email_rank, 0);
	assert_string_equal(a.range, "198.51.100.0/24");
	assert_string_equal(a.country, "DE");
	assert_null(a.referral);
	whois_answer_release(&a);
}

static void test_arin(void **state)
{
	struct whois_answer a;

	(void)state;
	parse_fixture("arin-192.0.2.10.txt", &a);
	assert_string_equal(a.email, "abuse@isp-a.example"); /* not the NOC */
	assert_int_equal(a.email_rank, 1);
	assert_string_equal(a.range, "192.0.2.0/24");
	assert_string_equal(a.country, "US");
	assert_string_equal(a.org, "ISP A Inc.");
	assert_int_equal(a.asn, 64500);
	whois_answer_release(&a);

	parse_fixture("arin-referral-to-ripe.txt", &a);
	assert_string_equal(a.referral, "whois.ripe.net:43");
	assert_string_equal(a.range, "198.51.0.0/16");
	whois_answer_release(&a);
}

/* Several networks, the most specific last: its fields and its
 * ReferralServer win. */
static void test_arin_last_wins(void **state)
{
	struct whois_answer a;

	(void)state;
	parse_fixture("arin-multi-rwhois.txt", &a);
	assert_string_equal(a.referral, "whois.customer-x.example:43");
	assert_string_equal(a.email, "abuse@customer-x.example");
	assert_string_equal(a.range, "192.0.2.0/25");
	assert_string_equal(a.country, "CA");
	assert_int_equal(a.asn, 64500);
	whois_answer_release(&a);

	parse_text("ReferralServer: rwhois://rwhois.big-isp.example:4321/\n", &a);
	assert_string_equal(a.referral, "rwhois.big-isp.example:4321");
	whois_answer_release(&a);
	parse_text("ReferralServer: rwhois://rwhois.big-isp.example\n", &a);
	assert_string_equal(a.referral, "rwhois.big-isp.example:4321");
	whois_answer_release(&a);
	/* a web page is no port-43 referral */
	parse_text("ReferralServer: https://rdap.example/\n", &a);
	assert_null(a.referral);
	whois_answer_release(&a);
	parse_text("ReferralServer: whois://[2001:db8::43]:4343\n", &a);
	assert_string_equal(a.referral, "[2001:db8::43]:4343");
	whois_answer_release(&a);
}

/* JPNIC: ISO-2022-JP decoded; the network names a handle, whose answer
 * has the address. */
static void test_jpnic(void **state)
{
	struct whois_answer a;

	(void)state;
	parse_fixture("jpnic-203.0.113.5.iso2022jp.txt", &a);
	assert_true(a.decoded);
	assert_null(a.email);
	assert_string_equal(a.range, "203.0.113.0/24");
	assert_string_equal(a.handle, "HC123JP");
	assert_string_equal(a.country, "JP");
	assert_string_equal(a.org, "Hosting C Co., Ltd.");
	whois_answer_release(&a);

	parse_fixture("jpnic-HC123JP.iso2022jp.txt", &a);
	assert_true(a.decoded);
	assert_string_equal(a.email, "abuse@hosting-c.example");
	whois_answer_release(&a);
}

static void test_ranks_and_hostile(void **state)
{
	struct whois_answer a;

	(void)state;
	/* an abuse mailbox beats an e-mail before it; the abuse line beats both */
	parse_text("e-mail: noc@x.example\r\nabuse-mailbox: abuse@x.example\r\n"
		   "% Abuse contact for '192.0.2.0 - 192.0.2.63' is 'cert@x.example'\r\n",
		   &a);
	assert_string_equal(a.email, "cert@x.example");
	assert_string_equal(a.range, "192.0.2.0/26");
	whois_answer_release(&a);
	/* no header injection: a CR inside a value ends the address, bad
	 * addresses are not taken */
	parse_text("abuse-mailbox: a@b.example\rBcc: x@y.example\n"
		   "OrgAbuseEmail: not an address\ncountry: Germany\n", &a);
	assert_string_equal(a.email, "a@b.example");
	assert_null(a.country);
	whois_answer_release(&a);
	parse_text("OrgAbuseEmail: not an address\nabuse-mailbox: <x\x01@y>\n", &a);
	assert_null(a.email);
	whois_answer_release(&a);
	/* a range that is not one prefix stays a range */
	parse_text("inetnum: 192.0.2.0 - 192.0.2.200\n", &a);
	assert_string_equal(a.range, "192.0.2.0 - 192.0.2.200");
	whois_answer_release(&a);
	parse_text("inet6num: 2001:db8::/32\norigin: AS64501\n", &a);
	assert_string_equal(a.range, "2001:db8::/32");
	assert_int_equal(a.asn, 64501);
	whois_answer_release(&a);
	/* RWhois */
	parse_text("%rwhois V-1.5 rwhois.isp.example\nnetwork:IP-Network:192.0.2.64/26\n"
		   "network:Org-Name:Customer Y\nnetwork:Abuse-Email:abuse@cust-y.example\n", &a);
	assert_string_equal(a.email, "abuse@cust-y.example");
	assert_string_equal(a.range, "192.0.2.64/26");
	assert_string_equal(a.org, "Customer Y");
	whois_answer_release(&a);
	/* a long organization name is cut at a character, not inside one */
	{
		char text[RK_MAX_ORG * 2 + 16] = "org-name: x";
		size_t k = strlen(text);

		while (k + 3 < sizeof(text) - 2) {
			memcpy(text + k, "\xe6\x97\xa5", 3); /* 日 */
			k += 3;
		}
		text[k++] = '\n';
		assert_int_equal(whois_parse(text, k, &a), RK_OK);
		assert_non_null(a.org);
		assert_true(strlen(a.org) <= RK_MAX_ORG && strlen(a.org) > RK_MAX_ORG - 3);
		whois_answer_release(&a);
	}
	/* domain registries */
	parse_text("   Registrar WHOIS Server: whois.registrar.example\n"
		   "   Registrar Abuse Contact Email: abuse@registrar.example\n", &a);
	assert_string_equal(a.referral, "whois.registrar.example:43");
	assert_string_equal(a.email, "abuse@registrar.example");
	whois_answer_release(&a);
}

static void test_limits(void **state)
{
	struct whois_answer a;
	size_t big = RK_MAX_WHOIS_REPLY + 1;
	char *text = malloc(big);
	char line[RK_MAX_WHOIS_LINE + 64];

	(void)state;
	assert_non_null(text);
	memset(text, 'x', big);
	assert_int_equal(whois_parse(text, big, &a), RK_ERR_LIMIT);
	whois_answer_release(&a);
	/* a line past RK_MAX_WHOIS_LINE is skipped, the next one read */
	memset(line, 'y', sizeof(line));
	memcpy(line, "e-mail: ", 8);
	memcpy(text, line, sizeof(line));
	memcpy(text + sizeof(line), "\nabuse-mailbox: a@b.example\n", 28);
	assert_int_equal(whois_parse(text, sizeof(line) + 28, &a), RK_OK);
	assert_string_equal(a.email, "a@b.example");
	whois_answer_release(&a);
	/* NUL bytes inside a line: the line is skipped */
	assert_int_equal(whois_parse("e-mail: a@b\0.example\n", 21, &a), RK_OK);
	assert_null(a.email);
	whois_answer_release(&a);
	free(text);
}

static void test_query_line(void **state)
{
	char q[300];

	(void)state;
	assert_int_equal(whois_query_line("whois.arin.net", "192.0.2.10", q, sizeof(q)), RK_OK);
	assert_string_equal(q, "n + 192.0.2.10\r\n");
	assert_int_equal(whois_query_line("WHOIS.ARIN.NET", "AS64500", q, sizeof(q)), RK_OK);
	assert_string_equal(q, "a + 64500\r\n");
	assert_int_equal(whois_query_line("whois.ripe.net", "2001:db8::1", q, sizeof(q)), RK_OK);
	assert_string_equal(q, "-r 2001:db8::1\r\n");
	assert_int_equal(whois_query_line("whois.lacnic.net", "2001:db8::1", q, sizeof(q)), RK_OK);
	assert_string_equal(q, "2001:db8::1\r\n");
	assert_int_equal(whois_query_line("whois.nic.ad.jp", "HC123JP", q, sizeof(q)), RK_OK);
	assert_string_equal(q, "HC123JP\r\n");
	assert_int_equal(whois_query_line("x", "a\r\nb", q, sizeof(q)), RK_ERR_INVAL);
	assert_int_equal(whois_query_line("x", "example.com", q, 5), RK_ERR_LIMIT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_iana_refers),
		cmocka_unit_test(test_ripe_abuse_line),
		cmocka_unit_test(test_arin),
		cmocka_unit_test(test_arin_last_wins),
		cmocka_unit_test(test_jpnic),
		cmocka_unit_test(test_ranks_and_hostile),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_query_line),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
