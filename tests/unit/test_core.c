/* Unit tests for relay/core: buffers, parsing, time, addresses, config. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testutil.h"

static void test_buf_limit(void **state)
{
	struct rk_buf b;

	(void)state;
	rk_buf_init(&b, 8);
	assert_string_equal(b.data, "");
	assert_int_equal(rk_buf_adds(&b, "12345678"), RK_OK);
	assert_int_equal(rk_buf_addc(&b, '9'), RK_ERR_LIMIT);
	assert_string_equal(b.data, "12345678");
	rk_buf_reset(&b);
	assert_int_equal(rk_buf_addf(&b, "%d-%s", 42, "x"), RK_OK);
	assert_string_equal(b.data, "42-x");
	rk_buf_release(&b);
}

static void test_parse_numbers(void **state)
{
	long long v;

	(void)state;
	assert_int_equal(rk_parse_long("42", 0, 100, &v), RK_OK);
	assert_int_equal(v, 42);
	assert_int_equal(rk_parse_long("42x", 0, 100, &v), RK_ERR_INVAL);
	assert_int_equal(rk_parse_long("101", 0, 100, &v), RK_ERR_INVAL);
	assert_int_equal(rk_parse_long("", 0, 100, &v), RK_ERR_INVAL);
	assert_int_equal(rk_parse_duration("10m", &v), RK_OK);
	assert_int_equal(v, 600);
	assert_int_equal(rk_parse_duration("0", &v), RK_OK);
	assert_int_equal(v, 0);
	assert_int_equal(rk_parse_duration("7d", &v), RK_OK);
	assert_int_equal(v, 604800);
	assert_int_equal(rk_parse_duration("10 m", &v), RK_ERR_INVAL);
	assert_int_equal(rk_parse_duration("-1s", &v), RK_ERR_INVAL);
}

static void test_time(void **state)
{
	int64_t t;
	char out[RK_TIME_TEXT];

	(void)state;
	assert_int_equal(rk_time_parse("2026-11-20T10:15:00+00:00", &t), RK_OK);
	assert_int_equal(t, 1795169700);
	assert_int_equal(rk_time_parse("2026-11-20T19:15:00+09:00", &t), RK_OK);
	assert_int_equal(t, 1795169700);
	assert_int_equal(rk_time_parse("2026-11-20T10:15:00.123Z", &t), RK_OK);
	assert_int_equal(t, 1795169700);
	assert_int_equal(rk_time_parse("2026-11-20 10:15:00", &t), RK_OK);
	assert_int_equal(t, 1795169700);
	assert_int_equal(rk_time_parse("2026-02-30T00:00:00Z", &t), RK_ERR_INVAL);
	assert_int_equal(rk_time_parse("yesterday", &t), RK_ERR_INVAL);
	/* an offset must not carry the time out of range */
	assert_int_equal(rk_time_parse("9999-12-31T23:59:59-01:00", &t), RK_ERR_INVAL);
	assert_int_equal(rk_time_parse("1970-01-01T00:00:00+05:00", &t), RK_ERR_INVAL);
	rk_time_format(1795169700, 9 * 60, out);
	assert_string_equal(out, "2026-11-20 19:15:00");
	rk_time_format_iso(1795169700, out);
	assert_string_equal(out, "2026-11-20T10:15:00Z");
	rk_time_format_day(1795169700, out);
	assert_string_equal(out, "20261120");
}

static void test_addresses(void **state)
{
	struct rk_addr a, net;
	char text[RK_ADDR_TEXT];
	int prefix;
	uint32_t asn;
	char *d = NULL;

	(void)state;
	assert_int_equal(rk_addr_parse("192.0.2.10", &a), RK_OK);
	assert_int_equal(a.family, 4);
	assert_int_equal(rk_cidr_parse("192.0.2.0/24", &net, &prefix), RK_OK);
	assert_true(rk_addr_in_prefix(&a, &net, prefix));
	assert_int_equal(rk_cidr_parse("192.0.2.1/24", &net, &prefix), RK_ERR_INVAL);
	assert_int_equal(rk_addr_parse("2001:DB8:10::53", &a), RK_OK);
	rk_addr_format(&a, text);
	assert_string_equal(text, "2001:db8:10::53");
	assert_int_equal(rk_cidr_parse("2001:db8:10::/48", &net, &prefix), RK_OK);
	assert_true(rk_addr_in_prefix(&a, &net, prefix));
	assert_int_equal(rk_addr_parse("192.0.2.256", &a), RK_ERR_INVAL);
	assert_int_equal(rk_asn_parse("AS64500", &asn), RK_OK);
	assert_int_equal(asn, 64500);
	assert_int_equal(rk_asn_parse("AS0", &asn), RK_ERR_INVAL);
	assert_int_equal(rk_domain_normalize("Login.Bank-Example.TEST.", &d), RK_OK);
	assert_string_equal(d, "login.bank-example.test");
	free(d);
	assert_int_equal(rk_domain_normalize("例え.テスト", &d), RK_OK);
	assert_string_equal(d, "xn--r8jz45g.xn--zckzah");
	free(d);
	assert_int_equal(rk_domain_normalize("bad..name", &d), RK_ERR_INVAL);
	assert_int_equal(rk_domain_normalize("evil\r\nx.test", &d), RK_ERR_INVAL);
	assert_true(rk_email_valid("abuse@isp-a.example"));
	assert_false(rk_email_valid("abuse@isp-a.example\r\nBcc: x@y.z"));
	assert_false(rk_email_valid("<a@b.c>"));
	assert_false(rk_email_valid("nobody"));
	assert_false(rk_email_valid("a@under_score.example"));
}

static void test_tlp(void **state)
{
	enum rk_tlp tlp;

	(void)state;
	assert_int_equal(rk_tlp_parse("WHITE", &tlp), RK_OK);
	assert_int_equal(tlp, RK_TLP_CLEAR);
	assert_int_equal(rk_tlp_parse("TLP:AMBER+STRICT", &tlp), RK_OK);
	assert_int_equal(tlp, RK_TLP_AMBER_STRICT);
	assert_int_equal(rk_tlp_parse("red", &tlp), RK_OK);
	assert_int_equal(tlp, RK_TLP_RED);
	assert_int_equal(rk_tlp_parse("purple", &tlp), RK_ERR_INVAL);
	assert_int_equal(rk_tlp_parse("TLP: amber", &tlp), RK_OK);
	assert_int_equal(tlp, RK_TLP_AMBER);
	assert_int_equal(rk_tlp_parse(" green\t", &tlp), RK_OK);
	assert_int_equal(tlp, RK_TLP_GREEN);
	assert_int_equal(rk_tlp_parse("Tlp : red", &tlp), RK_ERR_INVAL);
	assert_int_equal(rk_tlp_parse("TLP:", &tlp), RK_ERR_INVAL);
	assert_int_equal(rk_tlp_parse("TLP:AMBER STRICT", &tlp), RK_ERR_INVAL);
	assert_string_equal(rk_tlp_name(RK_TLP_AMBER_STRICT), "AMBER+STRICT");
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(rk_utf8_valid("日本語", strlen("日本語")));
	assert_false(rk_utf8_valid("\xc0\xaf", 2));
	assert_false(rk_utf8_valid("\xed\xa0\x80", 3));
	assert_int_equal(rk_utf8_width("IP アドレス"), 11);
	assert_true(rk_name_safe("infected-system"));
	assert_false(rk_name_safe("../etc"));
	assert_false(rk_name_safe("a/b"));
	assert_false(rk_name_safe(".hidden"));
	assert_int_equal(rk_mkdir_p("", 0700), RK_ERR_INVAL);
}

static void test_clean_line(void **state)
{
	char s1[] = "mirai\r\nBcc: x", s2[] = "a\xc2\x85" "b\xe2\x80\xa8" "c\xe2\x80\xae" "d";
	char s3[] = "日本語\t";

	(void)state;
	assert_string_equal(rk_str_clean_line(s1), "mirai  Bcc: x");
	assert_string_equal(rk_str_clean_line(s2), "a  b   c   d");
	assert_string_equal(rk_str_clean_line(s3), "日本語 ");
}

static char *write_conf(const char *dir, const char *text)
{
	char *path = NULL;

	assert_int_equal(rk_path_join(dir, "renraku.conf", &path), RK_OK);
	assert_int_equal(rk_write_file_atomic(path, text, strlen(text), 0600),
			 RK_OK);
	return path;
}

static void test_config(void **state)
{
	struct rk_config cfg;
	struct rk_log quiet = {RK_LOG_ERROR, NULL};
	char *dir = rk_test_tmpdir(), *path, *db = NULL;

	(void)state;
	path = write_conf(dir,
			  "[relay]\nname = Example CSIRT\nfrom = csirt@example.org\n"
			  "ticket_prefix = EX\n[aggregate]\nwindow = 0\n"
			  "[severity]\nscanner = high\n[escalation.high]\nlevels = 1\n");
	rk_test_config(&cfg);
	assert_int_equal(rk_config_load(&cfg, path, &quiet), RK_OK);
	assert_string_equal(cfg.relay.name, "Example CSIRT");
	assert_int_equal(cfg.aggregate.window, 0);
	assert_int_equal(rk_config_severity(&cfg, "scanner"), RK_SEV_HIGH);
	assert_int_equal(rk_config_severity(&cfg, "infected-system"), RK_SEV_HIGH);
	assert_int_equal(cfg.escalation[RK_SEV_HIGH].levels, 1);
	assert_string_equal(rk_config_mail_domain(&cfg), "example.org");
	assert_int_equal(rk_config_path(&cfg, cfg.store.path, &db), RK_OK);
	assert_non_null(strstr(db, "/renraku.db"));
	free(db);
	rk_config_release(&cfg);
	free(path);

	path = write_conf(dir, "[relay]\nname = x\n\n[relay]\nbogus = 1\n");
	rk_test_config(&cfg);
	assert_int_equal(rk_config_load(&cfg, path, &quiet), RK_ERR_CONFIG);
	rk_config_release(&cfg);
	free(path);

	/* incident categories: the default table, ICS identifiers, and
	 * [categories] overrides checked at load */
	assert_string_equal(rk_category_default("phishing", NULL), "phishing-site");
	assert_string_equal(rk_category_default("scanner", "scan-ssh"), "scan");
	assert_string_equal(rk_category_default("vulnerable-system", "open-modbus"), "ics");
	assert_string_equal(rk_category_default("vulnerable-system", "firefox"), "other");
	assert_string_equal(rk_category_default("infected-system", "mirai"), "other");
	assert_string_equal(rk_category_default("ddos", NULL), "dos");
	assert_string_equal(rk_category_label("scan", "ja"), "スキャン");
	path = write_conf(dir, "[categories]\ninfected-system = targeted-attack\n");
	rk_test_config(&cfg);
	assert_int_equal(rk_config_load(&cfg, path, &quiet), RK_OK);
	assert_string_equal(rk_config_category(&cfg, "infected-system", NULL),
			    "targeted-attack");
	assert_string_equal(rk_config_category(&cfg, "phishing", NULL), "phishing-site");
	rk_config_release(&cfg);
	free(path);
	path = write_conf(dir, "[categories]\ninfected-system = apt\n");
	rk_test_config(&cfg);
	assert_int_equal(rk_config_load(&cfg, path, &quiet), RK_ERR_CONFIG);
	rk_config_release(&cfg);
	free(path);
	path = write_conf(dir, "[categories]\ninfected-systems = scan\n");
	rk_test_config(&cfg);
	assert_int_equal(rk_config_load(&cfg, path, &quiet), RK_ERR_CONFIG);
	rk_config_release(&cfg);
	free(path);

	/* [relay] public_url goes into every notice: checked at load */
	{
		static const struct {
			const char *url;
			enum rk_err want;
		} urls[] = {
			{"https://csirt.example.org/renraku", RK_OK},
			{"http://csirt.example.org:8080", RK_OK},
			{"https://[2001:db8::1]:8443/r", RK_OK},
			{"https://192.0.2.1/", RK_OK},
			{"ftp://csirt.example.org/", RK_ERR_CONFIG},
			{"https://", RK_ERR_CONFIG},
			{"https://csirt.example.org/a b", RK_ERR_CONFIG},
			{"csirt.example.org", RK_ERR_CONFIG},
			{"https://csirt.example.org:99999/", RK_ERR_CONFIG},
			{"https://csirt.example.org:0/", RK_ERR_CONFIG},
			{"https://csirt.example.org:/", RK_ERR_CONFIG},
			{"https://user:secret@csirt.example.org/", RK_ERR_CONFIG},
			{"https://csirt.exa_mple.org/", RK_ERR_CONFIG},
			{"https://[zz::1]/", RK_ERR_CONFIG},
			{"https://csirt.example.org/<x>", RK_ERR_CONFIG},
		};
		char text[512];

		for (size_t i = 0; i < RK_ARRAY_LEN(urls); i++) {
			snprintf(text, sizeof(text), "[relay]\npublic_url = %s\n",
				 urls[i].url);
			path = write_conf(dir, text);
			rk_test_config(&cfg);
			if (rk_config_load(&cfg, path, &quiet) != urls[i].want)
				fail_msg("public_url '%s'", urls[i].url);
			rk_config_release(&cfg);
			free(path);
		}
	}

	/* IDN sender domains are kept as A-labels (they go into headers) */
	path = write_conf(dir, "[relay]\nfrom = csirt@例え.jp\n");
	rk_test_config(&cfg);
	assert_int_equal(rk_config_load(&cfg, path, &quiet), RK_OK);
	assert_string_equal(cfg.relay.from, "csirt@xn--r8jz45g.jp");
	rk_config_release(&cfg);
	free(path);

	/* not UTF-8 */
	path = write_conf(dir, "[relay]\nname = \xff\xfe\n");
	rk_test_config(&cfg);
	assert_int_equal(rk_config_load(&cfg, path, &quiet), RK_ERR_CONFIG);
	rk_config_release(&cfg);
	free(path);

	/* a line inih would split is refused, not misread */
	{
		char text[400];

		memset(text, 'A', sizeof(text));
		memcpy(text, "[relay]\nname = ", 15);
		memcpy(text + 300, " public_url = https://evil.example/\n", 37);
		text[337] = '\0';
		path = write_conf(dir, text);
	}
	rk_test_config(&cfg);
	assert_int_equal(rk_config_load(&cfg, path, &quiet), RK_ERR_CONFIG);
	assert_null(cfg.relay.public_url);
	rk_config_release(&cfg);
	free(path);

	path = write_conf(dir, "[aggregate]\nwindow = soon\n");
	rk_test_config(&cfg);
	assert_int_equal(rk_config_load(&cfg, path, &quiet), RK_ERR_CONFIG);
	rk_config_release(&cfg);
	free(path);
	rk_test_rmtree(dir);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_limit),
		cmocka_unit_test(test_parse_numbers),
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_tlp),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_clean_line),
		cmocka_unit_test(test_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
