/* Unit tests for the Shadowserver CSV format (relay/ingest/shadowserver.c). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/ingest.h"
#include "testutil.h"

/* Ten days after the rows' time. */
#define NOW (RK_TEST_NOW + 10 * 86400)

struct fixture {
	char *dir;
	struct rk_log log;
	struct rk_config cfg;
	struct rk_store *store;
	struct ingest_options opts;
	struct ingest_result res;
	struct store_event *rows;
	size_t nrows;
	json_t *schema;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	json_error_t jerr;

	assert_non_null(f);
	f->dir = rk_test_tmpdir();
	rk_log_init(&f->log, RK_LOG_ERROR);
	f->log.stream = fopen("/dev/null", "w");
	rk_test_config(&f->cfg);
	f->cfg.ingest.shadowserver_schema =
		rk_test_source_path("data/shadowserver/intelmq.json");
	f->schema = json_load_file(f->cfg.ingest.shadowserver_schema, 0,
				   &jerr);
	assert_non_null(f->schema);
	f->store = rk_test_store(f->dir, &f->log);
	f->opts.format = INGEST_FORMAT_AUTO;
	f->opts.now = NOW;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_events_free(f->rows, f->nrows);
	ingest_result_release(&f->res);
	store_close(f->store);
	rk_config_release(&f->cfg);
	json_decref(f->schema);
	if (f->log.stream)
		fclose(f->log.stream);
	rk_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void load_rows(struct fixture *f)
{
	store_events_free(f->rows, f->nrows);
	f->rows = NULL;
	f->nrows = 0;
	assert_int_equal(store_events_new(f->store, 0, 100000, &f->rows,
					  &f->nrows),
			 RK_OK);
}

static enum rk_err ingest_text(struct fixture *f, const char *name,
			       const char *text)
{
	return ingest_buffer(f->store, &f->cfg, &f->log, &f->opts, name, text,
			     strlen(text), &f->res);
}

static const char *field_of(const struct store_event *ev, const char *name,
			    char *buf, size_t len)
{
	json_t *doc = json_loads(ev->data, 0, NULL), *v;
	const char *out = NULL;

	assert_non_null(doc);
	v = json_object_get(doc, name);
	if (json_is_string(v)) {
		snprintf(buf, len, "%s", json_string_value(v));
		out = buf;
	} else if (json_is_integer(v)) {
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		out = buf;
	} else if (json_is_boolean(v)) {
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
		out = buf;
	}
	json_decref(doc);
	return out;
}

/* ------------------------------------------------------------ samples */

static const char scan_dns[] =
	"timestamp,severity,ip,protocol,port,hostname,tag,asn,geo,region,"
	"city,naics,hostname_source,sector,dns_version,min_amplification,"
	"brand_new_column\n"
	"\"2026-11-21 01:02:03\",high,192.0.2.53,udp,53,ns1.example,"
	"openresolver,64500,JP,TOKYO,CHIYODA,517311,ptr,Communications,"
	"\"dnsmasq-2.85\",28.44,surprise\n"
	"\"2026-11-21 01:04:09\",,192.0.2.54,udp,53,,openresolver,0,JP,,,"
	",,,,31.02,\n"
	"\"2026-11-21 01:05:00\",,192.0.2.55,udp,not-a-port,,openresolver,"
	"64500,JP,,,,,,,1,\n"
	"\"2026-11-21 01:06:00\",,,udp,53,,openresolver,64500,JP,,,,,,,1,\n";

static void test_scan_dns_file(void **state)
{
	struct fixture *f = *state;
	char buf[256];
	const struct store_event *a, *b;

	assert_int_equal(ingest_text(f, "2026-11-21-scan_dns-jp-asn.csv",
				     scan_dns),
			 RK_OK);
	assert_int_equal(f->res.events, 2);
	assert_int_equal(f->res.rejected, 2);
	assert_int_equal(f->res.errors[0].line, 4);
	assert_non_null(strstr(f->res.errors[0].reason,
			       "column 'port': 'not-a-port' is not an "
			       "integer"));
	assert_int_equal(f->res.errors[1].line, 5);
	assert_non_null(strstr(f->res.errors[1].reason,
			       "required column 'ip' is empty"));
	load_rows(f);
	assert_int_equal(f->nrows, 2);
	a = &f->rows[0];
	b = &f->rows[1];
	assert_string_equal(a->source_ip, "192.0.2.53");
	assert_string_equal(a->type, "vulnerable-system");
	assert_string_equal(field_of(a, "classification.identifier", buf,
				     sizeof(buf)),
			    "dns-open-resolver");
	assert_string_equal(field_of(a, "feed.name", buf, sizeof(buf)),
			    "DNS-Open-Resolvers");
	assert_string_equal(field_of(a, "time.source", buf, sizeof(buf)),
			    "2026-11-21T01:02:03+00:00");
	assert_string_equal(field_of(a, "source.port", buf, sizeof(buf)),
			    "53");
	/* A column the schema does not know is kept under extra. */
	assert_string_equal(field_of(a, "extra.brand_new_column", buf,
				     sizeof(buf)),
			    "surprise");
	/* The row's severity column wins; else the report's default. */
	assert_int_equal(a->severity, RK_SEV_HIGH);
	assert_int_equal(b->severity, RK_SEV_MEDIUM);
	/* AS 0 is no AS. */
	assert_null(field_of(b, "source.asn", buf, sizeof(buf)));
	assert_int_equal(a->source_asn, 64500);
}

static void test_missing_required_column(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ingest_text(f, "2026-11-21-scan_dns-jp-asn.csv",
				     "timestamp,port\n\"2026-11-21 01:02:03\","
				     "53\n"),
			 RK_ERR_PARSE);
	assert_int_equal(f->res.nerrors, 1);
	assert_int_equal(f->res.errors[0].line, 0);
	assert_non_null(strstr(f->res.errors[0].reason,
			       "required column 'ip' is missing"));
}

static void test_type_from_option_and_legacy_name(void **state)
{
	struct fixture *f = *state;
	char buf[64];
	static const char row[] =
		"timestamp,src_ip,src_port,protocol,application\n"
		"\"2026-11-21 05:00:01\",192.0.2.77,40022,tcp,ssh\n";

	/* No type in the name: --format shadowserver:TYPE, and the legacy
	 * name maps to the report's file_name. */
	f->opts.format = INGEST_FORMAT_SHADOWSERVER;
	f->opts.format_arg = "event_honeypot_brute_force";
	assert_int_equal(ingest_text(f, "upload.csv", row), RK_OK);
	f->opts.format_arg = "event4_honeypot_brute_force";
	assert_int_equal(ingest_text(f, "upload2.csv", row), RK_OK);
	assert_int_equal(f->res.events, 1);
	assert_int_equal(f->res.duplicates, 1);
	load_rows(f);
	assert_string_equal(f->rows[0].type, "brute-force");
	assert_int_equal(f->rows[0].severity, RK_SEV_CRITICAL);
	assert_string_equal(field_of(&f->rows[0], "classification.identifier",
				     buf, sizeof(buf)),
			    "ssh");
	f->opts.format_arg = "no_such_report";
	assert_int_equal(ingest_text(f, "upload3.csv", row), RK_ERR_PARSE);
	assert_non_null(strstr(f->res.errors[f->res.nerrors - 1].reason,
			       "unknown Shadowserver report type "
			       "'no_such_report'"));
	f->opts.format_arg = NULL;
	assert_int_equal(ingest_text(f, "upload4.csv", row), RK_ERR_PARSE);
	assert_non_null(strstr(f->res.errors[f->res.nerrors - 1].reason,
			       "no report type in the file name"));
}

/* ------------------------------------------------------------ all types */

/* A plausible cell for a column by its conversion and field. */
static const char *value_for(const char *key, const char *column,
			     const char *conv, int n)
{
	(void)n;
	if (strcmp(conv, "add_UTC_to_timestamp") == 0 ||
	    strcmp(conv, "convert_date_utc") == 0 ||
	    strcmp(conv, "convert_date") == 0)
		return "2026-11-21 01:02:03";
	if (strcmp(conv, "validate_ip") == 0)
		return strstr(key, "destination") ? "198.51.100.9"
						  : "192.0.2.10";
	if (strcmp(conv, "validate_network") == 0)
		return "192.0.2.0/24";
	if (strcmp(conv, "convert_int") == 0 ||
	    strcmp(conv, "invalidate_zero") == 0)
		return strstr(key, "asn") ? "64500" : "80";
	if (strcmp(conv, "convert_float") == 0)
		return "1.5";
	if (strcmp(conv, "convert_bool") == 0)
		return "true";
	if (strcmp(conv, "validate_fqdn") == 0)
		return "host.example.net";
	if (strcmp(conv, "extract_cve_from_tag") == 0 ||
	    strcmp(column, "tag") == 0)
		return "cve-2021-26855;tag1";
	if (strcmp(conv, "convert_http_host_and_url") == 0)
		return "/index.html";
	if (strstr(key, "geolocation.cc"))
		return "JP";
	if (strcmp(key, "source.url") == 0 ||
	    strcmp(key, "destination.url") == 0)
		return "http://host.example.net/x";
	if (strcmp(key, "source.fqdn") == 0 ||
	    strcmp(key, "destination.fqdn") == 0 ||
	    strstr(key, "reverse_dns"))
		return "host.example.net";
	if (strcmp(key, "severity") == 0)
		return "high";
	/* who a report without an address names: the victim's mail
	 * address, its website, the name a sample looked up */
	if (strcmp(column, "email") == 0)
		return "victim@example.net";
	if (strcmp(column, "website") == 0)
		return "www.example.net";
	if (strcmp(column, "request") == 0)
		return "c2.example.net";
	if (strstr(key, ".ip") || strstr(column, "ip") == column)
		return "192.0.2.11";
	if (strstr(key, "port"))
		return "443";
	return "x";
}

static void add_cell(struct rk_buf *b, const char *text, bool first)
{
	assert_int_equal(rk_buf_addf(b, "%s\"%s\"", first ? "" : ",", text),
			 RK_OK);
}

static void test_every_report_type(void **state)
{
	struct fixture *f = *state;
	const char *key;
	json_t *report;
	size_t types = 0, with_event = 0;

	json_object_foreach(f->schema, key, report) {
		struct rk_buf head, row, text;
		json_t *lists[2] = {json_object_get(report, "required_fields"),
				    json_object_get(report, "optional_fields")};
		json_t *seen = json_object(), *consts, *v;
		const char *ckey;
		char name[256], buf[256];
		int n = 0;
		long long before = f->res.events + f->res.duplicates;

		if (key[0] == '_') {
			json_decref(seen);
			continue;
		}
		types++;
		rk_buf_init(&head, 1 << 20);
		rk_buf_init(&row, 1 << 20);
		rk_buf_init(&text, 1 << 21);
		for (int l = 0; l < 2; l++) {
			size_t i;
			json_t *item;

			json_array_foreach(lists[l], i, item) {
				const char *fkey = json_string_value(
					json_array_get(item, 0));
				const char *col = json_string_value(
					json_array_get(item, 1));
				const char *conv =
					json_array_size(item) > 2
						? json_string_value(
							  json_array_get(item, 2))
						: "";

				if (json_object_get(seen, col))
					continue;
				json_object_set_new(seen, col, json_true());
				add_cell(&head, col, n == 0);
				add_cell(&row, value_for(fkey, col, conv, n),
					 n == 0);
				n++;
			}
		}
		assert_int_equal(rk_buf_addf(&text, "%s\n%s\n", head.data,
					     row.data),
				 RK_OK);
		snprintf(name, sizeof(name), "2026-11-21-%s-test-asn.csv",
			 json_string_value(json_object_get(report,
							   "file_name")));
		if (ingest_buffer(f->store, &f->cfg, &f->log, &f->opts, name,
				  text.data, text.len, &f->res) != RK_OK)
			fail_msg("report %s: file rejected: %s", key,
				 f->res.errors[f->res.nerrors - 1].reason);
		if (f->res.events + f->res.duplicates != before + 1)
			fail_msg("report %s: no event (%s)", key,
				 f->res.nerrors
					 ? f->res.errors[f->res.nerrors - 1]
						   .reason
					 : "no error listed");
		with_event++;
		/* The newest event carries the constant fields. */
		store_events_free(f->rows, f->nrows);
		f->rows = NULL;
		f->nrows = 0;
		assert_int_equal(store_events_new(f->store, 0, 1000000,
						  &f->rows, &f->nrows),
				 RK_OK);
		consts = json_object_get(report, "constant_fields");
		json_object_foreach(consts, ckey, v) {
			const char *got = field_of(&f->rows[f->nrows - 1],
						   ckey, buf, sizeof(buf));

			if (strncmp(ckey, "classification.", 15) != 0)
				continue;
			if (!got || strcmp(got, json_string_value(v)) != 0)
				fail_msg("report %s: %s is %s, want %s", key,
					 ckey, got ? got : "(none)",
					 json_string_value(v));
		}
		rk_buf_release(&head);
		rk_buf_release(&row);
		rk_buf_release(&text);
		json_decref(seen);
	}
	assert_int_equal(types, 170);
	/* every one, compromised_account, ransomware_victim and
	 * sandbox_dns (no address column: their subject column) too */
	assert_int_equal(with_event, 170);
}

/* ------------------------------------------------------------ schema */

static void test_schema_check(void **state)
{
	struct fixture *f = *state;
	char reason[320];
	size_t n = 0;
	char *text = json_dumps(f->schema, JSON_COMPACT);
	static const char bad_conv[] =
		"{\"x\":{\"file_name\":\"x\",\"feed_name\":\"X\","
		"\"constant_fields\":{},\"required_fields\":[[\"source.ip\","
		"\"ip\",\"no_such_conversion\"]],\"optional_fields\":[]}}";

	assert_non_null(text);
	assert_int_equal(ingest_shadowserver_schema_check(text, strlen(text),
							  &n, reason,
							  sizeof(reason)),
			 RK_OK);
	assert_int_equal(n, 170);
	free(text);
	assert_int_equal(ingest_shadowserver_schema_check(bad_conv,
							  strlen(bad_conv),
							  NULL, reason,
							  sizeof(reason)),
			 RK_ERR_PARSE);
	assert_non_null(strstr(reason, "unknown conversion "
				       "'no_such_conversion'"));
	assert_int_equal(ingest_shadowserver_schema_check("[1]", 3, NULL,
							  reason,
							  sizeof(reason)),
			 RK_ERR_PARSE);
	assert_int_equal(ingest_shadowserver_schema_check("{}", 2, NULL,
							  reason,
							  sizeof(reason)),
			 RK_ERR_PARSE);
	assert_non_null(strstr(reason, "no report"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_scan_dns_file, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_missing_required_column,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_type_from_option_and_legacy_name, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_report_type, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_schema_check, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
