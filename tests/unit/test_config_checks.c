/* The config checks this branch adds: an unknown type under [severity]
 * and an unknown source in [resolve] order are errors naming file and
 * line, like every other unknown key. */
#include <stdlib.h>
#include <string.h>

#include "renraku/limits.h"
#include "testutil.h"

/* Load text as "t.conf"; returns the error and the logged message. */
static enum rk_err load(const char *text, char *msg, size_t msg_len)
{
	struct rk_config cfg;
	struct rk_log log = {RK_LOG_ERROR, NULL};
	enum rk_err err;
	FILE *f = tmpfile();
	size_t n;

	assert_non_null(f);
	log.stream = f;
	assert_int_equal(rk_config_defaults(&cfg), RK_OK);
	err = rk_config_load_buffer(&cfg, "t.conf", text, strlen(text), &log);
	rk_config_release(&cfg);
	rewind(f);
	n = fread(msg, 1, msg_len - 1, f);
	msg[n] = '\0';
	fclose(f);
	return err;
}

static void test_severity_types(void **state)
{
	char msg[1024];

	(void)state;
	assert_int_equal(load("[severity]\nscanner = high\nVulnerable-System = low\n",
			      msg, sizeof(msg)), RK_OK);
	assert_int_equal(load("[relay]\nname = x\n\n[severity]\nscanner = high\n"
			      "vulnerable-systems = low\n", msg, sizeof(msg)),
			 RK_ERR_CONFIG);
	assert_non_null(strstr(msg, "t.conf:6: [severity] 'vulnerable-systems' is "
				    "not an IntelMQ classification type"));
}

static void test_resolve_order(void **state)
{
	char msg[1024];

	(void)state;
	/* order: the deprecated name of sources, still read */
	assert_int_equal(load("[resolve]\norder = local, rdap,whois,abusix,security.txt\n",
			      msg, sizeof(msg)), RK_OK);
	assert_int_equal(load("[resolve]\nttl = 1d\norder = local,rpad\n", msg,
			      sizeof(msg)), RK_ERR_CONFIG);
	assert_non_null(strstr(msg, "t.conf:3: [resolve] order: unknown contact "
				    "source 'rpad' (known: local, rdap, whois, "
				    "abusix, cymru, security.txt)"));
	assert_int_equal(load("[resolve]\nsources = local, rdap, cymru\n"
			      "bootstrap_dir = rdap\n"
			      "bootstrap_url = https://127.0.0.1:8443/rdap/\n"
			      "whois_server = 127.0.0.1:4343\n"
			      "dns_server = [::1]:5353\nca_file = ca.pem\n"
			      "timeout = 5s\nconcurrency = 16\nrate = 2.5\n",
			      msg, sizeof(msg)), RK_OK);
	assert_int_equal(load("[resolve]\n\nsources = local, whoise\n", msg,
			      sizeof(msg)), RK_ERR_CONFIG);
	assert_non_null(strstr(msg, "t.conf:3: [resolve] sources: unknown contact "
				    "source 'whoise'"));
	assert_int_equal(load("[resolve]\nbootstrap_url = http://example.test/\n",
			      msg, sizeof(msg)), RK_ERR_CONFIG);
	assert_non_null(strstr(msg, "t.conf:2: [resolve] bootstrap_url: "));
	assert_int_equal(load("[resolve]\nwhois_server = host:0\n", msg,
			      sizeof(msg)), RK_ERR_CONFIG);
	assert_non_null(strstr(msg, "t.conf:2: [resolve] whois_server: "));
	assert_int_equal(load("[resolve]\nrate = fast\n", msg, sizeof(msg)),
			 RK_ERR_CONFIG);
	assert_non_null(strstr(msg, "requests per second"));
	/* the keys they replace are gone */
	assert_int_equal(load("[resolve]\nbootstrap = x\n", msg, sizeof(msg)),
			 RK_ERR_CONFIG);
}

/* [resolve] whois_map adds up over repeated lines; security_txt_url and
 * the network sources' names are read beside h-rdap's keys. */
static void test_resolve_whois_keys(void **state)
{
	static const char text[] =
		"[resolve]\nsources = local, whois, abusix, cymru, security.txt\n"
		"whois_server = 127.0.0.1\n"
		"whois_map = whois.ripe.net=127.0.0.1:4343\n"
		"whois_map = rwhois.example:4321=127.0.0.1:4344\n"
		"dns_server = 127.0.0.1:5353\n"
		"security_txt_url = https://127.0.0.1:8443/{host}/security.txt\n";
	struct rk_config cfg;
	struct rk_log quiet = {RK_LOG_ERROR, NULL};

	(void)state;
	quiet.stream = fopen("/dev/null", "w");
	assert_non_null(quiet.stream);
	assert_int_equal(rk_config_defaults(&cfg), RK_OK);
	assert_string_equal(cfg.resolve.sources, "local, rdap");
	assert_null(cfg.resolve.whois_map);
	assert_null(cfg.resolve.security_txt_url);
	assert_int_equal(rk_config_load_buffer(&cfg, "t.conf", text, strlen(text),
					       &quiet), RK_OK);
	assert_string_equal(cfg.resolve.sources,
			    "local, whois, abusix, cymru, security.txt");
	assert_string_equal(cfg.resolve.whois_server, "127.0.0.1");
	assert_string_equal(cfg.resolve.whois_map,
			    "whois.ripe.net=127.0.0.1:4343, "
			    "rwhois.example:4321=127.0.0.1:4344");
	assert_string_equal(cfg.resolve.dns_server, "127.0.0.1:5353");
	assert_string_equal(cfg.resolve.security_txt_url,
			    "https://127.0.0.1:8443/{host}/security.txt");
	rk_config_release(&cfg);
	fclose(quiet.stream);
}

/* [ingest] max_file, max_line, max_field, max_evidence: sizes with k,
 * M, G, within their bounds. */
static void test_ingest_limits(void **state)
{
	struct rk_config cfg;
	struct rk_log quiet = {RK_LOG_ERROR, NULL};
	char msg[1024];
	static const char text[] = "[ingest]\nmax_file = 2k\nmax_line = 1M\n"
				   "max_field = 65536\nmax_evidence = 4KiB\n";

	(void)state;
	quiet.stream = fopen("/dev/null", "w");
	assert_int_equal(rk_config_defaults(&cfg), RK_OK);
	assert_int_equal(cfg.ingest.max_file, RK_MAX_REPORT);
	assert_int_equal(cfg.ingest.max_line, RK_MAX_JSON_LINE);
	assert_int_equal(cfg.ingest.max_field, RK_MAX_FIELD);
	assert_int_equal(cfg.ingest.max_evidence, RK_MAX_EVIDENCE);
	assert_int_equal(rk_config_load_buffer(&cfg, "t.conf", text,
					       strlen(text), &quiet),
			 RK_OK);
	assert_int_equal(cfg.ingest.max_file, 2048);
	assert_int_equal(cfg.ingest.max_line, 1 << 20);
	assert_int_equal(cfg.ingest.max_field, 65536);
	assert_int_equal(cfg.ingest.max_evidence, 4096);
	rk_config_release(&cfg);
	fclose(quiet.stream);
	assert_int_equal(load("[ingest]\n\nmax_line = 2G\n", msg, sizeof(msg)),
			 RK_ERR_CONFIG);
	assert_non_null(strstr(msg, "t.conf:3: [ingest] max_line: '2G' is not "
				    "a size from 1024 to 67108864 bytes"));
	assert_int_equal(load("[ingest]\nmax_field = 12q\n", msg, sizeof(msg)),
			 RK_ERR_CONFIG);
	assert_non_null(strstr(msg, "t.conf:2: [ingest] max_field: '12q'"));
	assert_int_equal(load("[ingest]\nmax_evidence = 10\n", msg, sizeof(msg)),
			 RK_ERR_CONFIG);
	assert_int_equal(load("[ingest]\nmax_file = 5GiB\n", msg, sizeof(msg)),
			 RK_ERR_CONFIG);
	assert_int_equal(load("[ingest]\ncsv_mappings = maps\n", msg,
			      sizeof(msg)),
			 RK_OK);
}

/* [gpg] encrypt, wkd and [relay] review: values, defaults and errors. */
static void test_encrypt_review_keys(void **state)
{
	static const struct {
		const char *text;
		enum rk_encrypt want;
	} values[] = {
		{"when-key", RK_ENCRYPT_WHEN_KEY}, {"always", RK_ENCRYPT_ALWAYS},
		{"never", RK_ENCRYPT_NEVER}, {"yes", RK_ENCRYPT_WHEN_KEY},
		{"no", RK_ENCRYPT_NEVER},
	};
	struct rk_config cfg;
	struct rk_log log = {RK_LOG_ERROR, NULL};
	char text[256], msg[1024];

	(void)state;
	log.stream = tmpfile();
	assert_non_null(log.stream);
	assert_int_equal(rk_config_defaults(&cfg), RK_OK);
	assert_int_equal(cfg.gpg.encrypt, RK_ENCRYPT_WHEN_KEY);
	assert_false(cfg.relay.review);
	assert_false(cfg.gpg.wkd);
	assert_int_equal(cfg.gpg.wkd_port, 443);
	for (size_t i = 0; i < RK_ARRAY_LEN(values); i++) {
		snprintf(text, sizeof(text), "[gpg]\nencrypt = %s\n[relay]\nreview = on\n"
			 "[gpg]\nwkd = yes\nwkd_port = 8443\n", values[i].text);
		assert_int_equal(rk_config_load_buffer(&cfg, "t.conf", text,
						       strlen(text), &log), RK_OK);
		assert_int_equal(cfg.gpg.encrypt, values[i].want);
		assert_true(cfg.relay.review);
		assert_true(cfg.gpg.wkd);
		assert_int_equal(cfg.gpg.wkd_port, 8443);
	}
	rk_config_release(&cfg);
	fclose(log.stream);
	assert_int_equal(load("[gpg]\nencrypt = sometimes\n", msg, sizeof(msg)),
			 RK_ERR_CONFIG);
	assert_non_null(strstr(msg, "t.conf:2: [gpg] encrypt: 'sometimes' is not "
				    "when-key, always or never"));
	assert_int_equal(load("[gpg]\nwkd_port = 0\n", msg, sizeof(msg)),
			 RK_ERR_CONFIG);
	assert_int_equal(load("[relay]\nreview = maybe\n", msg, sizeof(msg)),
			 RK_ERR_CONFIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_severity_types),
		cmocka_unit_test(test_resolve_order),
		cmocka_unit_test(test_resolve_whois_keys),
		cmocka_unit_test(test_ingest_limits),
		cmocka_unit_test(test_encrypt_review_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
