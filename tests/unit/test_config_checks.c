/* The config checks this branch adds: an unknown type under [severity]
 * and an unknown source in [resolve] order are errors naming file and
 * line, like every other unknown key. */
#include <stdlib.h>
#include <string.h>

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
	assert_int_equal(load("[resolve]\norder = local, rdap,whois,abusix,security.txt\n",
			      msg, sizeof(msg)), RK_OK);
	assert_int_equal(load("[resolve]\nttl = 1d\norder = local,rpad\n", msg,
			      sizeof(msg)), RK_ERR_CONFIG);
	assert_non_null(strstr(msg, "t.conf:3: [resolve] order: unknown contact "
				    "source 'rpad' (known: local, rdap, whois, "
				    "abusix, cymru, security.txt)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_severity_types),
		cmocka_unit_test(test_resolve_order),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
