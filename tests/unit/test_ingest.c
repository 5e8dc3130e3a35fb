/* Unit tests for relay/ingest: IntelMQ JSON in, events and errors out. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/ingest.h"
#include "testutil.h"

#define T0 "2026-11-20T10:15:00+00:00"
#define T0_EPOCH 1795169700
/* The reference time of every test: ten days after T0. */
#define NOW (T0_EPOCH + 10 * 86400)

struct fixture {
	char *dir;
	struct rk_log log;
	struct rk_config cfg;
	struct rk_store *store;
	struct ingest_options opts;
	struct ingest_result res;
	struct store_event *rows;
	size_t nrows;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = rk_test_tmpdir();
	/* Rejected records log at warn level; keep the test output short. */
	rk_log_init(&f->log, RK_LOG_ERROR);
	f->log.stream = fopen("/dev/null", "w");
	rk_test_config(&f->cfg);
	f->store = rk_test_store(f->dir, &f->log);
	f->opts.format = INGEST_FORMAT_INTELMQ;
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
	if (f->log.stream)
		fclose(f->log.stream);
	rk_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

/* The path of a fixture under tests/fixtures/intelmq (caller frees). */
static char *fixture(const char *name)
{
	const char *dir = getenv("RK_FIXTURES");
	char *sub = NULL, *path = NULL;

	if (dir) {
		assert_int_equal(rk_path_join(dir, "intelmq", &sub), RK_OK);
	} else {
		sub = rk_test_source_path("tests/fixtures/intelmq");
	}
	assert_int_equal(rk_path_join(sub, name, &path), RK_OK);
	free(sub);
	return path;
}

static enum rk_err ingest_fixture(struct fixture *f, const char *name,
				  char **path_out)
{
	char *path = fixture(name);
	enum rk_err err = ingest_file(f->store, &f->cfg, &f->log, &f->opts,
				      path, &f->res);

	if (path_out)
		*path_out = path;
	else
		free(path);
	return err;
}

static enum rk_err ingest_text(struct fixture *f, const char *text)
{
	return ingest_buffer(f->store, &f->cfg, &f->log, &f->opts, "mem",
			     text, strlen(text), &f->res);
}

/* Every event in state new, oldest first, into f->rows. */
static void load_rows(struct fixture *f)
{
	store_events_free(f->rows, f->nrows);
	f->rows = NULL;
	f->nrows = 0;
	assert_int_equal(store_events_new(f->store, 0, 100000, &f->rows,
					  &f->nrows),
			 RK_OK);
}

static const struct store_event *row_by_ip(struct fixture *f, const char *ip)
{
	for (size_t i = 0; i < f->nrows; i++)
		if (f->rows[i].source_ip && strcmp(f->rows[i].source_ip, ip) == 0)
			return &f->rows[i];
	fail_msg("no stored event for %s", ip);
	return NULL;
}

/* A dedup key: SHA-256 in lower-case hex. */
static void assert_dedup_key(const char *key)
{
	assert_non_null(key);
	assert_int_equal(strlen(key), 64);
	assert_int_equal(strspn(key, "0123456789abcdef"), 64);
}

static void assert_error(const struct ingest_result *res, size_t i,
			 long long line, const char *reason)
{
	assert_true(i < res->nerrors);
	assert_int_equal(res->errors[i].line, line);
	assert_string_equal(res->errors[i].reason, reason);
}

static void assert_error_prefix(const struct ingest_result *res, size_t i,
				long long line, const char *prefix)
{
	assert_true(i < res->nerrors);
	assert_int_equal(res->errors[i].line, line);
	if (strncmp(res->errors[i].reason, prefix, strlen(prefix)) != 0)
		fail_msg("reason '%s' does not start with '%s'",
			 res->errors[i].reason, prefix);
}

/* ------------------------------------------------------------ files */

static void test_sample(void **state)
{
	struct fixture *f = *state;
	const struct store_event *ev;
	struct store_event_counts counts;
	json_t *data;

	assert_int_equal(ingest_fixture(f, "sample.jsonl", NULL), RK_OK);
	assert_int_equal(f->res.reports, 1);
	assert_int_equal(f->res.events, 6);
	assert_int_equal(f->res.duplicates, 0);
	assert_int_equal(f->res.rejected, 0);
	assert_int_equal(f->res.nerrors, 0);
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.total, 6);
	assert_int_equal(counts.pending, 6);

	load_rows(f);
	assert_int_equal(f->nrows, 6);
	ev = row_by_ip(f, "192.0.2.10");
	assert_string_equal(ev->state, STORE_EVENT_NEW);
	assert_string_equal(ev->type, "infected-system");
	assert_string_equal(ev->taxonomy, "malicious-code");
	assert_string_equal(ev->identifier, "mirai");
	assert_string_equal(ev->feed_name, "Sinkhole-Events");
	assert_string_equal(ev->source_cc, "JP");
	assert_int_equal(ev->source_asn, 64500);
	assert_int_equal(ev->time_source, T0_EPOCH);
	assert_int_equal(ev->tlp, RK_TLP_GREEN);
	assert_int_equal(ev->severity, RK_SEV_HIGH);
	assert_dedup_key(ev->dedup_key);
	data = json_loads(ev->data, 0, NULL);
	assert_non_null(data);
	assert_int_equal(json_integer_value(json_object_get(data, "source.port")),
			 51234);
	assert_string_equal(json_string_value(json_object_get(data, "time.source")),
			    T0);
	assert_string_equal(json_string_value(json_object_get(data, "tlp")),
			    "GREEN");
	json_decref(data);

	ev = row_by_ip(f, "203.0.113.5");
	assert_string_equal(ev->source_fqdn, "login.bank-example.test");
	assert_string_equal(ev->source_url,
			    "http://login.bank-example.test/verify/index.php");
	assert_int_equal(ev->tlp, RK_TLP_AMBER);
	ev = row_by_ip(f, "2001:db8:10::53");
	assert_int_equal(ev->tlp, RK_TLP_CLEAR); /* WHITE */
	assert_int_equal(ev->severity, RK_SEV_MEDIUM);
	data = json_loads(ev->data, 0, NULL);
	assert_string_equal(
		json_string_value(json_object_get(data, "extra.min_amplification")),
		"31.5");
	json_decref(data);
	ev = row_by_ip(f, "192.0.2.99");
	assert_int_equal(ev->tlp, RK_TLP_RED);
	assert_null(ev->source_cc);
}

static void test_broken_lines(void **state)
{
	struct fixture *f = *state;
	const struct store_event *ev;
	char *path = NULL;
	json_t *data;

	assert_int_equal(ingest_fixture(f, "broken.jsonl", &path), RK_OK);
	assert_int_equal(f->res.reports, 1);
	assert_int_equal(f->res.events, 5);
	assert_int_equal(f->res.duplicates, 1);
	assert_int_equal(f->res.rejected, 8);
	assert_int_equal(f->res.nerrors, 8);
	assert_false(f->res.errors_truncated);
	assert_string_equal(f->res.errors[0].file, path);
	assert_error_prefix(&f->res, 0, 2, "line is not valid JSON: ");
	assert_error(&f->res, 1, 4, "missing time.source");
	assert_error(&f->res, 2, 5, "source.ip: '999.1.1.1' is not an IP address");
	assert_error(&f->res, 3, 6,
		     "classification.type: 'foo' is not an IntelMQ type");
	assert_error(&f->res, 4, 7, "line is not a JSON object");
	assert_error(&f->res, 5, 8, "tlp: 'PURPLE' is not a TLP label");
	assert_error(&f->res, 6, 12, "source.fqdn: contains control characters");
	assert_error(&f->res, 7, 14,
		     "no source.ip, source.fqdn, source.url or source.asn");
	free(path);

	load_rows(f);
	assert_int_equal(f->nrows, 5);
	/* IPv6, TLP:RED, time given in +09:00 */
	ev = row_by_ip(f, "2001:db8::9");
	assert_int_equal(ev->tlp, RK_TLP_RED);
	assert_int_equal(ev->time_source, T0_EPOCH);
	assert_string_equal(ev->type, "c2-server");
	/* WHITE is CLEAR; CR/LF kept in free text; unknown keys to extra. */
	ev = row_by_ip(f, "198.51.100.11");
	assert_int_equal(ev->tlp, RK_TLP_CLEAR);
	assert_int_equal(ev->severity, RK_SEV_MEDIUM);
	data = json_loads(ev->data, 0, NULL);
	assert_non_null(data);
	assert_string_equal(json_string_value(json_object_get(data, "comment")),
			    "line one\r\nline two");
	assert_string_equal(
		json_string_value(json_object_get(data, "extra.honeypot")),
		"kippo");
	assert_null(json_object_get(data, "honeypot"));
	assert_int_equal(json_integer_value(json_object_get(data, "extra.attempts")),
			 3);
	assert_true(json_is_real(json_object_get(data, "extra.ratio")));
	assert_null(json_object_get(data, "extra.extra.ratio"));
	assert_string_equal(json_string_value(json_object_get(data, "tlp")),
			    "CLEAR");
	json_decref(data);
	/* Nested objects flattened; values normalized. */
	ev = row_by_ip(f, "2001:db8::1");
	assert_string_equal(ev->type, "infected-system");
	assert_int_equal(ev->source_asn, 64500);
	assert_string_equal(ev->source_cc, "JP");
	data = json_loads(ev->data, 0, NULL);
	assert_int_equal(json_integer_value(json_object_get(data, "source.port")),
			 443);
	assert_int_equal(json_integer_value(json_object_get(data, "source.asn")),
			 64500);
	json_decref(data);
	/* URL only: domain derived from the host, taxonomy from the type. */
	for (size_t i = 0; i < f->nrows; i++) {
		ev = &f->rows[i];
		if (ev->source_url)
			break;
	}
	assert_non_null(ev->source_url);
	assert_null(ev->source_ip);
	assert_string_equal(ev->source_fqdn, "login.bank-example.test");
	assert_string_equal(ev->taxonomy, "fraud");
	assert_dedup_key(ev->dedup_key);
}

static void test_duplicates_across_runs(void **state)
{
	struct fixture *f = *state;
	struct store_event_counts counts;

	assert_int_equal(ingest_fixture(f, "sample.jsonl", NULL), RK_OK);
	assert_int_equal(ingest_fixture(f, "sample.jsonl", NULL), RK_OK);
	assert_int_equal(f->res.reports, 2);
	assert_int_equal(f->res.events, 6);
	assert_int_equal(f->res.duplicates, 6);
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.total, 6);
}

static void test_array(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ingest_fixture(f, "array.json", NULL), RK_OK);
	assert_int_equal(f->res.reports, 1);
	assert_int_equal(f->res.events, 3);
	assert_int_equal(f->res.rejected, 2);
	assert_error(&f->res, 0, 8, "element is not a JSON object");
	assert_error(&f->res, 1, 9,
		     "classification.type: 'nope' is not an IntelMQ type");
	load_rows(f);
	assert_int_equal(f->nrows, 3);
	row_by_ip(f, "192.0.2.50");
	row_by_ip(f, "192.0.2.51");
	row_by_ip(f, "192.0.2.53");
}

static void test_array_syntax_error(void **state)
{
	struct fixture *f = *state;

	/* One error naming the line; the rest of the array is lost, the
	 * elements before it are kept. */
	assert_int_equal(ingest_fixture(f, "array-broken.json", NULL), RK_OK);
	assert_int_equal(f->res.events, 1);
	assert_int_equal(f->res.rejected, 1);
	assert_error_prefix(&f->res, 0, 2,
			    "element is not valid JSON (line 3): ");
	assert_non_null(strstr(f->res.errors[0].reason,
			       "the rest of the array is skipped"));
	assert_int_equal(ingest_text(f, "[]"), RK_OK);
	assert_int_equal(ingest_text(f, "[{\"a\":1}] x"), RK_OK);
	assert_error(&f->res, 2, 1, "content after the end of the array");
	assert_int_equal(ingest_text(f, "\n[{\"time.source\":\"" T0 "\","
				       "\"classification.type\":\"spam\","
				       "\"source.asn\":1}\n"),
			 RK_OK);
	assert_error(&f->res, 3, 3,
		     "array is not closed: ']' expected at the end of the "
		     "input");
	assert_int_equal(f->res.events, 2);
}

static void test_not_the_format(void **state)
{
	static const char *const files[] = {"garbage.bin", "not-json.csv",
					    "all-bad.jsonl", "latin1.jsonl"};
	struct fixture *f = *state;
	struct store_event_counts counts;

	for (size_t i = 0; i < RK_ARRAY_LEN(files); i++) {
		ingest_result_release(&f->res);
		assert_int_equal(ingest_fixture(f, files[i], NULL),
				 RK_ERR_PARSE);
		assert_int_equal(f->res.reports, 0);
		assert_int_equal(f->res.events, 0);
		assert_true(f->res.nerrors >= 1);
		assert_int_equal(f->res.errors[f->res.nerrors - 1].line, 0);
		assert_int_equal(f->res.rejected, (long long)f->res.nerrors);
	}
	assert_string_equal(f->res.errors[f->res.nerrors - 1].reason,
			    "not UTF-8 text: invalid byte sequence on line 1");
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.total, 0);

	ingest_result_release(&f->res);
	assert_int_equal(ingest_fixture(f, "garbage.bin", NULL), RK_ERR_PARSE);
	assert_error(&f->res, 0, 0, "not text: NUL byte on line 3");
	ingest_result_release(&f->res);
	assert_int_equal(ingest_fixture(f, "all-bad.jsonl", NULL), RK_ERR_PARSE);
	assert_int_equal(f->res.nerrors, 3);
	assert_error_prefix(&f->res, 0, 1, "line is not valid JSON: ");
	assert_error_prefix(&f->res, 1, 3, "line is not valid JSON: ");
	assert_error(&f->res, 2, 0,
		     "not IntelMQ JSON: no record is a JSON object");
	ingest_result_release(&f->res);
	assert_int_equal(ingest_text(f, "[1, \"two\"]"), RK_ERR_PARSE);
	ingest_result_release(&f->res);
	assert_int_equal(ingest_fixture(f, "no-such-file.jsonl", NULL),
			 RK_ERR_NOTFOUND);
	assert_error(&f->res, 0, 0, "cannot open: no such file");
}

static void test_empty_bom_crlf(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(ingest_fixture(f, "empty.jsonl", NULL), RK_OK);
	assert_int_equal(f->res.reports, 1);
	assert_int_equal(f->res.events, 0);
	assert_int_equal(ingest_text(f, " \n\n  \n"), RK_OK);
	assert_int_equal(f->res.reports, 2);
	assert_int_equal(ingest_fixture(f, "bom-crlf.jsonl", NULL), RK_OK);
	assert_int_equal(f->res.reports, 3);
	assert_int_equal(f->res.events, 2);
	assert_int_equal(f->res.rejected, 0);
}

static void test_long_line(void **state)
{
	struct fixture *f = *state;
	struct rk_buf text;
	char *filler;

	rk_buf_init(&text, 4u << 20);
	filler = calloc(1, RK_MAX_JSON_LINE + 1);
	assert_non_null(filler);
	memset(filler, 'x', RK_MAX_JSON_LINE);
	assert_int_equal(rk_buf_addf(&text,
				     "{\"time.source\":\"" T0 "\","
				     "\"classification.type\":\"spam\","
				     "\"source.ip\":\"192.0.2.1\","
				     "\"comment\":\"%s\"}\n",
				     filler),
			 RK_OK);
	assert_int_equal(rk_buf_addf(&text,
				     "{\"time.source\":\"" T0 "\","
				     "\"classification.type\":\"spam\","
				     "\"source.ip\":\"192.0.2.2\"}\n"),
			 RK_OK);
	assert_int_equal(ingest_buffer(f->store, &f->cfg, &f->log, &f->opts,
				       "big", text.data, text.len, &f->res),
			 RK_OK);
	assert_int_equal(f->res.events, 1);
	assert_error(&f->res, 0, 1,
		     "line is longer than RK_MAX_JSON_LINE (1048576 bytes)");

	/* The same as an array element. */
	rk_buf_reset(&text);
	assert_int_equal(rk_buf_addf(&text,
				     "[{\"time.source\":\"" T0 "\","
				     "\"classification.type\":\"spam\","
				     "\"source.ip\":\"192.0.2.3\"},\n"
				     "{\"comment\":\"%s\"}]",
				     filler),
			 RK_OK);
	assert_int_equal(ingest_buffer(f->store, &f->cfg, &f->log, &f->opts,
				       "big", text.data, text.len, &f->res),
			 RK_OK);
	assert_int_equal(f->res.events, 2);
	assert_error(&f->res, 1, 2,
		     "element is longer than RK_MAX_JSON_LINE (1048576 bytes); "
		     "the rest of the array is skipped");
	free(filler);
	rk_buf_release(&text);
}

static void test_errors_truncated(void **state)
{
	struct fixture *f = *state;
	struct rk_buf text, doc;

	rk_buf_init(&text, 1u << 20);
	assert_int_equal(rk_buf_adds(&text,
				     "{\"time.source\":\"" T0 "\","
				     "\"classification.type\":\"spam\","
				     "\"source.ip\":\"192.0.2.1\"}\n"),
			 RK_OK);
	for (int i = 0; i < RK_MAX_ERRORS_LISTED + 5; i++)
		assert_int_equal(rk_buf_adds(&text, "{\"no\":\"time\"}\n"), RK_OK);
	assert_int_equal(ingest_buffer(f->store, &f->cfg, &f->log, &f->opts,
				       "many", text.data, text.len, &f->res),
			 RK_OK);
	assert_int_equal(f->res.events, 1);
	assert_int_equal(f->res.rejected, RK_MAX_ERRORS_LISTED + 5);
	assert_int_equal(f->res.nerrors, RK_MAX_ERRORS_LISTED);
	assert_true(f->res.errors_truncated);
	assert_error(&f->res, RK_MAX_ERRORS_LISTED - 1, RK_MAX_ERRORS_LISTED + 1,
		     "missing time.source");
	rk_buf_init(&doc, 1u << 20);
	assert_int_equal(ingest_result_json(&f->res, &doc), RK_OK);
	assert_non_null(strstr(doc.data, ",\"errors_truncated\":true}"));
	rk_buf_release(&doc);
	rk_buf_release(&text);
}

static void test_batches(void **state)
{
	struct fixture *f = *state;
	struct store_event_counts counts;
	struct rk_buf text;
	const int n = 25000;

	rk_buf_init(&text, 16u << 20);
	for (int i = 0; i < n; i++)
		assert_int_equal(rk_buf_addf(&text,
					     "{\"time.source\":%lld,"
					     "\"classification.type\":\"scanner\","
					     "\"source.ip\":\"10.%d.%d.%d\"}\n",
					     0LL, (i >> 16) & 255, (i >> 8) & 255,
					     i & 255),
				 RK_OK);
	/* time.source must be a string: every line is rejected... */
	assert_int_equal(ingest_buffer(f->store, &f->cfg, &f->log, &f->opts,
				       "batch", text.data, text.len, &f->res),
			 RK_OK);
	assert_int_equal(f->res.events, 0);
	assert_int_equal(f->res.rejected, n);
	ingest_result_release(&f->res);
	/* ...and with a real time each is stored, over several commits. */
	rk_buf_reset(&text);
	for (int i = 0; i < n; i++)
		assert_int_equal(rk_buf_addf(&text,
					     "{\"time.source\":\"" T0 "\","
					     "\"classification.type\":\"scanner\","
					     "\"source.ip\":\"10.%d.%d.%d\"}\n",
					     (i >> 16) & 255, (i >> 8) & 255,
					     i & 255),
				 RK_OK);
	assert_int_equal(ingest_buffer(f->store, &f->cfg, &f->log, &f->opts,
				       "batch", text.data, text.len, &f->res),
			 RK_OK);
	assert_int_equal(f->res.reports, 1);
	assert_int_equal(f->res.events, n);
	assert_int_equal(store_event_counts(f->store, &counts), RK_OK);
	assert_int_equal(counts.total, n);
	rk_buf_release(&text);
}

/* ------------------------------------------------------------ one event */

#define INTELMQ_TEST_REASON 256

static enum rk_err event(struct fixture *f, const char *json,
			 struct store_event *ev, char *reason)
{
	return ingest_event_text(&f->cfg, &f->opts, json, strlen(json), ev,
				 reason, INTELMQ_TEST_REASON);
}

static void assert_rejected(struct fixture *f, const char *json,
			    const char *reason)
{
	struct store_event ev;
	char got[INTELMQ_TEST_REASON];

	assert_int_equal(event(f, json, &ev, got), RK_ERR_INVAL);
	assert_string_equal(got, reason);
	assert_null(ev.data);
}

static void test_event_validation(void **state)
{
	struct fixture *f = *state;

#define EV(rest)                                                         \
	"{\"time.source\":\"" T0 "\",\"classification.type\":\"scanner\"," \
	rest "}"
	assert_rejected(f, EV("\"source.ip\":\"192.0.2.1\",\"source.port\":70000"),
			"source.port: 70000 is not a port number");
	assert_rejected(f, EV("\"source.ip\":\"192.0.2.1\",\"destination.port\":\"x\""),
			"destination.port: 'x' is not a port number");
	assert_rejected(f, EV("\"source.asn\":0"),
			"source.asn: 0 is not an AS number");
	assert_rejected(f, EV("\"source.asn\":\"ASX\""),
			"source.asn: 'ASX' is not an AS number");
	assert_rejected(f, EV("\"source.fqdn\":\"-bad-.example\""),
			"source.fqdn: '-bad-.example' is not a domain name");
	assert_rejected(f, EV("\"source.url\":\"www.example.org/x\""),
			"source.url: 'www.example.org/x' has no scheme");
	assert_rejected(f, EV("\"source.url\":\"http://a b/\""),
			"source.url: contains spaces");
	assert_rejected(f, EV("\"source.url\":\"http://a/\\r\\nx\""),
			"source.url: contains control characters");
	assert_rejected(f, EV("\"source.ip\":\"192.0.2.1\\n\""),
			"source.ip: contains control characters");
	assert_rejected(f, EV("\"source.ip\":\"192.0.2.1\","
			      "\"source.geolocation.cc\":\"JPN\""),
			"source.geolocation.cc: 'JPN' is not a two-letter "
			"country code");
	assert_rejected(f, EV("\"source.ip\":3232235777"),
			"source.ip: not a string");
	assert_rejected(f, EV("\"source.ip\":\"192.0.2.1\","
			      "\"source\":{\"ip\":\"192.0.2.2\"}"),
			"duplicate field 'source.ip'");
	assert_rejected(f, EV("\"source.ip\":\"192.0.2.1\",\"x\":1,\"extra.x\":2"),
			"duplicate field 'extra.x'");
	assert_rejected(f, "{\"classification.type\":\"scanner\","
			   "\"time.source\":\"20 Nov 2026\",\"source.asn\":1}",
			"time.source: '20 Nov 2026' is not a timestamp");
	assert_rejected(f, "{\"time.source\":\"" T0 "\",\"source.asn\":1}",
			"missing classification.type");
	assert_rejected(f, "[1]", "event is not a JSON object");
	assert_rejected(f, "{\"a\":1,\"a\":2}",
			"event is not valid JSON: duplicate object key near "
			"'\"a\"'");
	assert_rejected(f, "{\"a\":\"\\u0000\"}",
			"event is not valid JSON: \\u0000 is not allowed "
			"without JSON_ALLOW_NUL near '\"\\u0000\"'");
#undef EV
}

static void test_event_limits(void **state)
{
	struct fixture *f = *state;
	struct rk_buf json;
	char *big;

	rk_buf_init(&json, 4u << 20);
	/* A value longer than RK_MAX_FIELD. */
	big = calloc(1, RK_MAX_FIELD + 2);
	assert_non_null(big);
	memset(big, 'a', RK_MAX_FIELD + 1);
	assert_int_equal(rk_buf_addf(&json,
				     "{\"time.source\":\"" T0 "\","
				     "\"classification.type\":\"spam\","
				     "\"source.asn\":1,\"comment\":\"%s\"}",
				     big),
			 RK_OK);
	assert_rejected(f, json.data,
			"comment: value is longer than RK_MAX_FIELD (65536 "
			"bytes)");
	free(big);
	/* More than RK_MAX_EVENT_FIELDS keys. */
	rk_buf_reset(&json);
	assert_int_equal(rk_buf_adds(&json, "{\"time.source\":\"" T0 "\","
					    "\"classification.type\":\"spam\","
					    "\"source.asn\":1"),
			 RK_OK);
	for (int i = 0; i < RK_MAX_EVENT_FIELDS; i++)
		assert_int_equal(rk_buf_addf(&json, ",\"k%d\":%d", i, i), RK_OK);
	assert_int_equal(rk_buf_addc(&json, '}'), RK_OK);
	assert_rejected(f, json.data,
			"more than RK_MAX_EVENT_FIELDS (512) fields");
	/* Nesting deeper than RK_MAX_JSON_DEPTH, as objects and arrays. */
	for (int arrays = 0; arrays < 2; arrays++) {
		rk_buf_reset(&json);
		assert_int_equal(rk_buf_adds(&json,
					     "{\"time.source\":\"" T0 "\","
					     "\"classification.type\":\"spam\","
					     "\"source.asn\":1,\"deep\":"),
				 RK_OK);
		for (int i = 0; i < RK_MAX_JSON_DEPTH; i++)
			assert_int_equal(rk_buf_adds(&json, arrays ? "[" : "{\"d\":"),
					 RK_OK);
		assert_int_equal(rk_buf_adds(&json, "1"), RK_OK);
		for (int i = 0; i < RK_MAX_JSON_DEPTH; i++)
			assert_int_equal(rk_buf_adds(&json, arrays ? "]" : "}"),
					 RK_OK);
		assert_int_equal(rk_buf_addc(&json, '}'), RK_OK);
		assert_rejected(f, json.data,
				"nesting deeper than RK_MAX_JSON_DEPTH (32)");
	}
	rk_buf_release(&json);
}

static void test_event_normalize(void **state)
{
	struct fixture *f = *state;
	struct store_event ev;
	char reason[INTELMQ_TEST_REASON];
	json_t *data;

	/* Defaults from the config: TLP and severity overrides. */
	f->cfg.relay.default_tlp = RK_TLP_AMBER;
	f->cfg.severity = calloc(1, sizeof(*f->cfg.severity));
	assert_non_null(f->cfg.severity);
	f->cfg.severity[0].type = rk_strdup("scanner");
	f->cfg.severity[0].severity = RK_SEV_CRITICAL;
	f->cfg.nseverity = 1;

	assert_int_equal(event(f, "{\"time.source\":\"2026-11-20 19:15:00\","
				  "\"classification.type\":\"Scanner\","
				  "\"source.asn\":\"as64500\","
				  "\"destination.ip\":\"::FFFF:192.0.2.1\","
				  "\"__type\":\"Event\","
				  "\"extra\":{\"tags\":[\"a\",\"b\"]},"
				  "\"feed\":{\"accuracy\":0.1}}",
			       &ev, reason),
			 RK_OK);
	assert_string_equal(ev.type, "scanner");
	assert_string_equal(ev.taxonomy, "information-gathering");
	assert_int_equal(ev.tlp, RK_TLP_AMBER);
	assert_int_equal(ev.severity, RK_SEV_CRITICAL);
	assert_int_equal(ev.source_asn, 64500);
	assert_null(ev.source_ip);
	assert_int_equal(ev.time_source, T0_EPOCH + 9 * 3600);
	assert_dedup_key(ev.dedup_key);
	assert_string_equal(ev.state, STORE_EVENT_NEW);
	assert_string_equal(ev.data,
			    "{\"classification.taxonomy\":\"information-gathering\","
			    "\"classification.type\":\"scanner\","
			    "\"destination.ip\":\"192.0.2.1\","
			    "\"extra.tags\":[\"a\",\"b\"],"
			    "\"feed.accuracy\":0.1,"
			    "\"source.asn\":64500,"
			    "\"time.source\":\"2026-11-20T19:15:00+00:00\","
			    "\"tlp\":\"AMBER\"}");
	data = json_loads(ev.data, 0, NULL);
	assert_non_null(data);
	json_decref(data);
	store_event_release(&ev);

	/* A given taxonomy is kept, even when it does not match the type. */
	assert_int_equal(event(f, "{\"time.source\":\"" T0 "\","
				  "\"classification.type\":\"spam\","
				  "\"classification.taxonomy\":\"other\","
				  "\"source.fqdn\":\"WWW.Example.ORG.\","
				  "\"tlp\":\"amber+strict\"}",
			       &ev, reason),
			 RK_OK);
	assert_string_equal(ev.taxonomy, "other");
	assert_string_equal(ev.source_fqdn, "www.example.org");
	assert_int_equal(ev.tlp, RK_TLP_AMBER_STRICT);
	assert_dedup_key(ev.dedup_key);
	store_event_release(&ev);
}


/* ------------------------------------------------------------ dedup */

/* Ingest text and expect events stored and duplicates counted by this
 * call alone. */
static void expect_counts(struct fixture *f, const char *text,
			  long long events, long long duplicates)
{
	ingest_result_release(&f->res);
	assert_int_equal(ingest_text(f, text), RK_OK);
	assert_int_equal(f->res.rejected, 0);
	assert_int_equal(f->res.events, events);
	assert_int_equal(f->res.duplicates, duplicates);
}

/* (B) An open RDP and an open SMB finding for one address at the same
 * second are two events, not an event and a duplicate. */
static void test_dedup_distinct_findings(void **state)
{
	struct fixture *f = *state;

	expect_counts(f,
		      "{\"time.source\":\"" T0 "\",\"source.ip\":\"198.51.100.7\","
		      "\"source.port\":3389,\"classification.type\":\"vulnerable-system\","
		      "\"classification.identifier\":\"open-rdp\",\"protocol.application\":\"rdp\"}\n"
		      "{\"time.source\":\"" T0 "\",\"source.ip\":\"198.51.100.7\","
		      "\"source.port\":445,\"classification.type\":\"vulnerable-system\","
		      "\"classification.identifier\":\"open-smb\",\"protocol.application\":\"smb\"}\n",
		      2, 0);
	/* One field apart (an extra.* one) is still another finding. */
	expect_counts(f,
		      "{\"time.source\":\"" T0 "\",\"source.ip\":\"198.51.100.7\","
		      "\"classification.type\":\"vulnerable-system\",\"extra.tag\":\"a\"}\n"
		      "{\"time.source\":\"" T0 "\",\"source.ip\":\"198.51.100.7\","
		      "\"classification.type\":\"vulnerable-system\",\"extra.tag\":\"b\"}\n",
		      2, 0);
	/* A string and a number of the same text are not the same value. */
	expect_counts(f,
		      "{\"time.source\":\"" T0 "\",\"source.ip\":\"198.51.100.7\","
		      "\"classification.type\":\"vulnerable-system\",\"extra.n\":1}\n"
		      "{\"time.source\":\"" T0 "\",\"source.ip\":\"198.51.100.7\","
		      "\"classification.type\":\"vulnerable-system\",\"extra.n\":\"1\"}\n",
		      2, 0);
	load_rows(f);
	assert_int_equal(f->nrows, 6);
	assert_string_not_equal(f->rows[0].dedup_key, f->rows[1].dedup_key);
}

/* An exact repeat is a duplicate, even with another time.observation,
 * its keys in another order, nested instead of flat, or values written
 * another way that normalize to the same. */
static void test_dedup_exact_repeat(void **state)
{
	struct fixture *f = *state;

	expect_counts(f,
		      "{\"time.source\":\"" T0 "\",\"time.observation\":\"2026-11-20T11:00:00Z\","
		      "\"source.ip\":\"198.51.100.7\",\"source.port\":3389,"
		      "\"classification.type\":\"vulnerable-system\",\"feed.name\":\"scan\"}\n"
		      "{\"feed.name\":\"scan\",\"classification.type\":\"Vulnerable-System\","
		      "\"source\":{\"port\":\"3389\",\"ip\":\"::ffff:198.51.100.7\"},"
		      "\"time.observation\":\"2026-11-21T08:00:00Z\","
		      "\"time.source\":\"2026-11-20T19:15:00+09:00\"}\n",
		      1, 1);
	/* And in a later run. */
	expect_counts(f,
		      "{\"time.source\":\"" T0 "\",\"source.ip\":\"198.51.100.7\","
		      "\"source.port\":3389,\"classification.type\":\"vulnerable-system\","
		      "\"feed.name\":\"scan\"}\n",
		      0, 1);
}

/* A field in [ingest] dedup_ignore does not tell two events apart. */
static void test_dedup_ignore(void **state)
{
	static const char two[] =
		"{\"time.source\":\"" T0 "\",\"source.ip\":\"198.51.100.7\","
		"\"classification.type\":\"scanner\",\"extra.scan_id\":\"1\",\"raw\":\"eA==\"}\n"
		"{\"time.source\":\"" T0 "\",\"source.ip\":\"198.51.100.7\","
		"\"classification.type\":\"scanner\",\"extra.scan_id\":\"2\",\"raw\":\"eQ==\"}\n";
	static const char conf[] = "[ingest]\ndedup_ignore = extra.scan_id, raw\n";
	struct fixture *f = *state;

	/* The default ignores raw only: scan_id tells them apart. */
	assert_int_equal(f->cfg.ingest.ndedup_ignore, 1);
	assert_string_equal(f->cfg.ingest.dedup_ignore[0], "raw");
	expect_counts(f, two, 2, 0);

	store_close(f->store);
	rk_test_rmtree(f->dir);
	free(f->dir);
	f->dir = rk_test_tmpdir();
	f->store = rk_test_store(f->dir, &f->log);
	assert_int_equal(rk_config_load_buffer(&f->cfg, "t.conf", conf,
					       strlen(conf), &f->log),
			 RK_OK);
	assert_int_equal(f->cfg.ingest.ndedup_ignore, 2);
	expect_counts(f, two, 1, 1);
	/* The first one is kept with its own data. */
	load_rows(f);
	assert_int_equal(f->nrows, 1);
	assert_non_null(strstr(f->rows[0].data, "\"extra.scan_id\":\"1\""));
}

/* time.source in [ingest] dedup_ignore: the same event at two times is
 * one event and a duplicate, also in a later run, although the dedup
 * index leads with dedup_time (schema version 12): dedup_time is 0 when
 * time.source is not hashed. */
static void test_dedup_ignore_time_source(void **state)
{
	static const char two[] =
		"{\"time.source\":\"" T0 "\",\"source.ip\":\"198.51.100.7\","
		"\"classification.type\":\"scanner\"}\n"
		"{\"time.source\":\"2026-11-20T09:00:00Z\",\"source.ip\":\"198.51.100.7\","
		"\"classification.type\":\"scanner\"}\n";
	static const char conf[] = "[ingest]\ndedup_ignore = time.source, raw\n";
	struct fixture *f = *state;

	assert_int_equal(rk_config_load_buffer(&f->cfg, "t.conf", conf,
					       strlen(conf), &f->log),
			 RK_OK);
	expect_counts(f, two, 1, 1);
	expect_counts(f, two, 0, 2);
}

/* ------------------------------------------------------------ addresses */

/* (C) An IPv4-mapped address and a URL whose host is an address both
 * give the IPv4 (or IPv6) address as source.ip. */
static void test_addresses_normalized(void **state)
{
	static const struct {
		const char *fields, *ip, *fqdn;
	} cases[] = {
		{"\"source.ip\":\"::ffff:198.51.100.7\"", "198.51.100.7", NULL},
		{"\"source.ip\":\"::FFFF:C633:6407\"", "198.51.100.7", NULL},
		{"\"source.url\":\"http://198.51.100.7:8080/x\"", "198.51.100.7", NULL},
		{"\"source.url\":\"http://u:p@198.51.100.7/\"", "198.51.100.7", NULL},
		{"\"source.url\":\"http://[2001:db8::1]:8080/\"", "2001:db8::1", NULL},
		{"\"source.url\":\"https://[2001:DB8::1]/a\"", "2001:db8::1", NULL},
		{"\"source.url\":\"http://[::ffff:198.51.100.7]/\"", "198.51.100.7", NULL},
		/* A given source.ip wins over the URL's host. */
		{"\"source.ip\":\"192.0.2.1\",\"source.url\":\"http://198.51.100.7/\"",
		 "192.0.2.1", NULL},
		{"\"source.url\":\"http://WWW.Example.ORG:80/\"", NULL, "www.example.org"},
		{"\"source.url\":\"http://[bad/\"", NULL, NULL},
		{"\"source.url\":\"http://[198.51.100.7]/\"", NULL, NULL},
		/* hosts a browser reads as IPv4 (the WHATWG URL standard) */
		{"\"source.url\":\"http://3221226028/\"", "192.0.2.44", NULL},
		{"\"source.url\":\"http://0xc0.0.2.49/\"", "192.0.2.49", NULL},
		{"\"source.url\":\"http://0300.0250.1.1/\"", "192.168.1.1", NULL},
		{"\"source.url\":\"http://192.0.2.40./x\"", "192.0.2.40", NULL},
		{"\"source.url\":\"http://192.0.513/\"", "192.0.2.1", NULL},
		{"\"source.url\":\"http://256.0.0.1/\"", NULL, NULL},
		{"\"source.url\":\"http://1.2.3.4.5/\"", NULL, NULL},
		{"\"source.url\":\"http://a.0x1g/\"", NULL, "a.0x1g"},
		/* a backslash ends the authority, as in a browser */
		{"\"source.url\":\"http://192.0.2.50\\\\@evil.example/\"", "192.0.2.50", NULL},
		{"\"source.url\":\"http://evil.example\\\\@192.0.2.51/\"", NULL, "evil.example"},
	};
	struct fixture *f = *state;
	char json[512], reason[INTELMQ_TEST_REASON];
	struct store_event ev;
	struct rk_addr a, net;
	int prefix;

	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		snprintf(json, sizeof(json),
			 "{\"time.source\":\"" T0 "\",\"classification.type\":"
			 "\"phishing\",%s}",
			 cases[i].fields);
		assert_int_equal(event(f, json, &ev, reason), RK_OK);
		if (cases[i].ip)
			assert_string_equal(ev.source_ip, cases[i].ip);
		else
			assert_null(ev.source_ip);
		if (cases[i].fqdn)
			assert_string_equal(ev.source_fqdn, cases[i].fqdn);
		else
			assert_null(ev.source_fqdn);
		store_event_release(&ev);
	}
	/* The mapped address matches IPv4 prefixes (rk_addr, net.c). */
	assert_int_equal(rk_addr_parse("::ffff:198.51.100.7", &a), RK_OK);
	assert_int_equal(a.family, 4);
	assert_int_equal(rk_cidr_parse("198.51.100.0/24", &net, &prefix), RK_OK);
	assert_true(rk_addr_in_prefix(&a, &net, prefix));
	assert_int_equal(rk_cidr_parse("::ffff:198.51.100.0/120", &net, &prefix),
			 RK_OK);
	assert_int_equal(net.family, 4);
	assert_int_equal(prefix, 24);
	assert_true(rk_addr_in_prefix(&a, &net, prefix));
	assert_int_equal(rk_cidr_parse("::ffff:198.51.100.0/64", &net, &prefix),
			 RK_ERR_INVAL);
	assert_int_equal(rk_addr_parse("2001:db8::ffff:c633:6407", &a), RK_OK);
	assert_int_equal(a.family, 6);
}

/* ------------------------------------------------------------ time */

/* (D) time.source older than [ingest] max_age or further in the future
 * than max_skew is rejected with the reason; the reference is
 * opts.now, not the clock. */
static void test_time_limits(void **state)
{
	static const char conf[] = "[ingest]\nmax_age = 30d\nmax_skew = 2h\n";
	struct fixture *f = *state;
	struct store_event ev;
	char reason[INTELMQ_TEST_REASON];

	assert_int_equal(f->cfg.ingest.max_age, 365 * 86400);
	assert_int_equal(f->cfg.ingest.max_skew, 86400);
	assert_rejected(f, "{\"time.source\":\"1970-01-01T00:00:00Z\","
			   "\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.1\"}",
			"time.source: '1970-01-01T00:00:00Z' is older than "
			"[ingest] max_age (365d)");
	assert_rejected(f, "{\"time.source\":\"9999-12-31T23:59:59Z\","
			   "\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.1\"}",
			"time.source: '9999-12-31T23:59:59Z' is more than "
			"[ingest] max_skew (1d) in the future");
	/* Exactly at the limits is fine: now - 365d and now + 1d. */
	assert_int_equal(event(f, "{\"time.source\":\"2025-11-30T10:15:00Z\","
				  "\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.1\"}",
			       &ev, reason),
			 RK_OK);
	assert_int_equal(ev.time_source, NOW - 365 * 86400);
	store_event_release(&ev);
	assert_int_equal(event(f, "{\"time.source\":\"2026-12-01T10:15:00Z\","
				  "\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.1\"}",
			       &ev, reason),
			 RK_OK);
	store_event_release(&ev);
	assert_rejected(f, "{\"time.source\":\"2026-12-01T10:15:01Z\","
			   "\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.1\"}",
			"time.source: '2026-12-01T10:15:01Z' is more than "
			"[ingest] max_skew (1d) in the future");

	/* The injected time is what counts: in 1970, 1970 is recent. */
	f->opts.now = 3600;
	assert_int_equal(event(f, "{\"time.source\":\"1970-01-01T00:00:00Z\","
				  "\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.1\"}",
			       &ev, reason),
			 RK_OK);
	store_event_release(&ev);
	f->opts.now = NOW;

	/* Configured limits, through ingest_buffer with file:line. */
	assert_int_equal(rk_config_load_buffer(&f->cfg, "t.conf", conf,
					       strlen(conf), &f->log),
			 RK_OK);
	assert_int_equal(ingest_text(f, "{\"time.source\":\"" T0 "\","
					"\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.1\"}\n"
					"{\"time.source\":\"2026-10-01T00:00:00Z\","
					"\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.2\"}\n"
					"{\"time.source\":\"2026-11-30T13:00:00Z\","
					"\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.3\"}\n"),
			 RK_OK);
	assert_int_equal(f->res.events, 1);
	assert_int_equal(f->res.rejected, 2);
	assert_error(&f->res, 0, 2,
		     "time.source: '2026-10-01T00:00:00Z' is older than "
		     "[ingest] max_age (30d)");
	assert_error(&f->res, 1, 3,
		     "time.source: '2026-11-30T13:00:00Z' is more than "
		     "[ingest] max_skew (2h) in the future");
	/* max_age = 0: no limit on age. */
	f->cfg.ingest.max_age = 0;
	assert_int_equal(event(f, "{\"time.source\":\"1970-01-01T00:00:00Z\","
				  "\"classification.type\":\"scanner\",\"source.ip\":\"192.0.2.1\"}",
			       &ev, reason),
			 RK_OK);
	store_event_release(&ev);
}

/* ------------------------------------------------------------ TLP */

/* (E) The label and its prefix are case-insensitive. */
static void test_tlp_case(void **state)
{
	static const struct {
		const char *label;
		enum rk_tlp tlp;
	} cases[] = {
		{"Tlp:AMBER", RK_TLP_AMBER}, {"tLp:green", RK_TLP_GREEN},
		{"TLP:RED", RK_TLP_RED},     {"tlp:clear", RK_TLP_CLEAR},
		{"TlP:Amber+Strict", RK_TLP_AMBER_STRICT},
		{"white", RK_TLP_CLEAR},
	};
	struct fixture *f = *state;
	char json[256], reason[INTELMQ_TEST_REASON];
	struct store_event ev;
	enum rk_tlp tlp;

	for (size_t i = 0; i < RK_ARRAY_LEN(cases); i++) {
		assert_int_equal(rk_tlp_parse(cases[i].label, &tlp), RK_OK);
		assert_int_equal(tlp, cases[i].tlp);
		snprintf(json, sizeof(json),
			 "{\"time.source\":\"" T0 "\",\"classification.type\":"
			 "\"scanner\",\"source.ip\":\"192.0.2.1\",\"tlp\":\"%s\"}",
			 cases[i].label);
		assert_int_equal(event(f, json, &ev, reason), RK_OK);
		assert_int_equal(ev.tlp, cases[i].tlp);
		store_event_release(&ev);
	}
	assert_int_equal(rk_tlp_parse("TLPAMBER", &tlp), RK_ERR_INVAL);
	assert_int_equal(rk_tlp_parse("TLP:", &tlp), RK_ERR_INVAL);
	assert_int_equal(rk_tlp_parse("TL", &tlp), RK_ERR_INVAL);
	assert_rejected(f, "{\"time.source\":\"" T0 "\",\"classification.type\":"
			   "\"scanner\",\"source.ip\":\"192.0.2.1\",\"tlp\":\"tlp-amber\"}",
			"tlp: 'tlp-amber' is not a TLP label");
}

/* ------------------------------------------------------------ config */

static void test_ingest_config(void **state)
{
	struct fixture *f = *state;
	static const char *const bad[] = {
		"[ingest]\ndedup_ignore = raw, bad name\n",
		"[ingest]\ndedup_ignore = raw,,feed.name\n",
		"[ingest]\nmax_age = forever\n",
		"[ingest]\nmax_skew = -1d\n",
		"[ingest]\nnope = 1\n",
	};
	static const char none[] = "[ingest]\ndedup_ignore =\n";

	for (size_t i = 0; i < RK_ARRAY_LEN(bad); i++)
		assert_int_equal(rk_config_load_buffer(&f->cfg, "t.conf", bad[i],
						       strlen(bad[i]), &f->log),
				 RK_ERR_CONFIG);
	/* A bad list leaves the one before. */
	assert_int_equal(f->cfg.ingest.ndedup_ignore, 1);
	assert_int_equal(rk_config_load_buffer(&f->cfg, "t.conf", none,
					       strlen(none), &f->log),
			 RK_OK);
	assert_int_equal(f->cfg.ingest.ndedup_ignore, 0);
}

/* ------------------------------------------------------------ formats */

/* --format names and auto detection: the same result as asking for
 * intelmq, a byte order mark included. */
static void test_formats(void **state)
{
	struct fixture *f = *state;
	struct rk_buf names;
	enum ingest_format fmt;
	struct store_event *events = NULL;
	size_t n = 0;
	char *path;

	assert_true(ingest_format_lookup("intelmq", &fmt));
	assert_int_equal(fmt, INGEST_FORMAT_INTELMQ);
	assert_true(ingest_format_lookup("auto", &fmt));
	assert_int_equal(fmt, INGEST_FORMAT_AUTO);
	assert_true(ingest_format_lookup("csv", &fmt));
	assert_int_equal(fmt, INGEST_FORMAT_CSV);
	assert_true(ingest_format_lookup("iodef", &fmt));
	assert_int_equal(fmt, INGEST_FORMAT_IODEF);
	assert_false(ingest_format_lookup("yaml", &fmt));
	rk_buf_init(&names, 256);
	assert_int_equal(ingest_format_names(&names), RK_OK);
	/* Other formats follow intelmq (arf, ...). */
	assert_int_equal(strncmp(names.data, "auto, intelmq", 13), 0);
	rk_buf_release(&names);

	f->opts.format = INGEST_FORMAT_AUTO;
	assert_int_equal(ingest_text(f, "\xef\xbb\xbf[{\"time.source\":\"" T0 "\","
					"\"classification.type\":\"scanner\","
					"\"source.ip\":\"192.0.2.1\"}]"),
			 RK_OK);
	assert_int_equal(f->res.events, 1);

	/* The events a preview reads: same reader, same normalizer, same
	 * rejections, no store. */
	ingest_result_release(&f->res);
	path = fixture("broken.jsonl");
	assert_int_equal(ingest_file_events(&f->cfg, &f->log, &f->opts, path,
					    &events, &n, &f->res),
			 RK_OK);
	assert_int_equal(n, 6); /* five events and one repeat, kept */
	assert_int_equal(f->res.rejected, 8);
	assert_int_equal(f->res.errors[2].line, 5);
	assert_string_equal(f->res.errors[2].reason,
			    "source.ip: '999.1.1.1' is not an IP address");
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(events[i].id, (int64_t)i + 1);
		assert_dedup_key(events[i].dedup_key);
	}
	store_events_free(events, n);
	events = NULL;
	free(path);
	ingest_result_release(&f->res);
	path = fixture("bom-crlf.jsonl");
	assert_int_equal(ingest_file_events(&f->cfg, &f->log, &f->opts, path,
					    &events, &n, &f->res),
			 RK_OK);
	assert_int_equal(n, 2);
	assert_int_equal(f->res.rejected, 0);
	store_events_free(events, n);
	free(path);
}

static void test_result_json(void **state)
{
	struct ingest_error errors[1] = {
		{"feed \"x\".jsonl", 3, "missing time.source"},
	};
	struct ingest_result res = {1, 5, 1, 1, errors, 1, false};
	struct rk_buf doc;

	(void)state;
	rk_buf_init(&doc, 4096);
	assert_int_equal(ingest_result_json(&res, &doc), RK_OK);
	assert_string_equal(doc.data,
			    "{\"reports\":1,\"events\":5,\"duplicates\":1,"
			    "\"rejected\":1,\"errors\":[{\"file\":\"feed "
			    "\\\"x\\\".jsonl\",\"line\":3,\"reason\":\"missing "
			    "time.source\"}],\"files\":[]}");
	rk_buf_release(&doc);
	res.nerrors = 0;
	res.errors_truncated = true;
	assert_int_equal(ingest_result_json(&res, &doc), RK_OK);
	assert_string_equal(doc.data,
			    "{\"reports\":1,\"events\":5,\"duplicates\":1,"
			    "\"rejected\":1,\"errors\":[],\"files\":[],"
			    "\"errors_truncated\":true}");
	rk_buf_release(&doc);
}

/* ingest_format_real writes what snprintf "%.15g" / "%.17g" writes (the
 * stored data and the dedup key depend on it byte for byte): random bit
 * patterns, random decimals of the shapes feeds carry (coordinates,
 * percentages, scores), and the edges of its exact range. */
static void check_real(double d)
{
	char want[64], got[64];

	for (int prec = 15; prec <= 17; prec += 2) {
		size_t len = ingest_format_real(got, d, prec);

		snprintf(want, sizeof(want), "%.*g", prec, d);
		if (len != strlen(want) || strcmp(got, want) != 0)
			fail_msg("%.*g: got '%s'", prec, d, got);
	}
}

static void test_format_real(void **state)
{
	static const double edges[] = {
		0.0, -0.0, 1e-4, 9.9999999999999991e-5, 1e15, 999999999999999.9,
		99999999999999.99, 0.1, 0.5, 1.5, 2.5, 100.0, 72.056, -61.187,
		1e300, -1e-300, 5e-324, 123456789012345.6, 0.30000000000000004,
		9.5, 0.00012345678901234567, 4503599627370496.0};
	uint64_t seed = 0x9e3779b97f4a7c15ull;

	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++)
		check_real(edges[i]);
	for (long i = 0; i < 2000000; i++) {
		uint64_t z, bits;
		double d;

		seed += 0x9e3779b97f4a7c15ull; /* splitmix64 */
		z = seed;
		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
		z ^= z >> 31;
		switch (i % 4) {
		case 0: /* any finite double in the exact range's neighbourhood */
			bits = (z & 0x800fffffffffffffull) |
			       ((uint64_t)(1010 + (z >> 52) % 70) << 52);
			memcpy(&d, &bits, sizeof(d));
			break;
		case 1: /* coordinates with 3 to 6 decimals */
			d = (double)(int64_t)(z % 360000000) /
				    (double)(1000ll << (i % 3)) - 180.0;
			break;
		case 2: /* decimals of few digits */
			d = (double)(z % 100000) / 100.0;
			break;
		default: /* integers, large and small */
			d = (double)(int64_t)(z % 2000000000000000ull) -
			    1e15;
			break;
		}
		check_real(d);
	}
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_sample),
		T(test_broken_lines),
		T(test_duplicates_across_runs),
		T(test_array),
		T(test_array_syntax_error),
		T(test_not_the_format),
		T(test_empty_bom_crlf),
		T(test_long_line),
		T(test_errors_truncated),
		T(test_batches),
		T(test_event_validation),
		T(test_event_limits),
		T(test_event_normalize),
		T(test_dedup_distinct_findings),
		T(test_dedup_exact_repeat),
		T(test_dedup_ignore),
		T(test_dedup_ignore_time_source),
		T(test_addresses_normalized),
		T(test_time_limits),
		T(test_tlp_case),
		T(test_ingest_config),
		T(test_formats),
		cmocka_unit_test(test_result_json),
		cmocka_unit_test(test_format_real),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
