/*
 * Unit tests for ingest's fast paths (relay/ingest/intelmq.c: yajl
 * callbacks filling the normalizer's fields; relay/ingest/shadowserver.c
 * and queue.c: rows queued as fields) and their fallbacks: every record
 * is read twice, once with the driver's normalizer handed to the reader
 * (the fast path where it applies) and once without (the JSON object
 * through ingest_normalize, as before the fast paths), and the outcomes
 * must be the same byte for byte: the event (dedup key, data, columns)
 * or the reason.  Also the normalizer's own shortcuts against what they
 * replace: the time text against rk_time_format, canonical IPv4 against
 * rk_addr_format, the remembered categories against rk_config_category.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "renraku/ingest.h"
#include "renraku/limits.h"
#include "testutil.h"

/* 2026-11-21T00:00:00Z */
#define NOW 1795219200

/* What a file became, read one way. */
struct outcome {
	char *text;        /* every event (columns, key, data) and every
			      error (line, reason), and the totals; owned */
	long long fields;  /* records that took the fast path */
	size_t nevents;
	struct store_event *events; /* owned */
};

struct fixture {
	char *dir;
	struct rk_log log;
	struct rk_config cfg;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	f->dir = rk_test_tmpdir();
	rk_log_init(&f->log, RK_LOG_ERROR);
	f->log.stream = fopen("/dev/null", "w");
	rk_test_config(&f->cfg);
	f->cfg.ingest.max_age = 0;
	f->cfg.ingest.shadowserver_schema =
		rk_test_source_path("data/shadowserver/intelmq.json");
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	rk_config_release(&f->cfg);
	if (f->log.stream)
		fclose(f->log.stream);
	rk_test_rmtree(f->dir);
	free(f->dir);
	free(f);
	return 0;
}

static void describe(struct rk_buf *b, const struct store_event *ev)
{
	assert_int_equal(
		rk_buf_addf(b,
			    "event key=%s t=%lld dt=%lld type=%s tax=%s id=%s "
			    "feed=%s ip=%s fqdn=%s url=%s cc=%s asn=%u tlp=%d "
			    "sev=%d cat=%s data=%s\n",
			    ev->dedup_key, (long long)ev->time_source,
			    (long long)ev->dedup_time, ev->type, ev->taxonomy,
			    ev->identifier ? ev->identifier : "-",
			    ev->feed_name ? ev->feed_name : "-",
			    ev->source_ip ? ev->source_ip : "-",
			    ev->source_fqdn ? ev->source_fqdn : "-",
			    ev->source_url ? ev->source_url : "-",
			    ev->source_cc ? ev->source_cc : "-",
			    ev->source_asn, (int)ev->tlp, (int)ev->severity,
			    ev->category ? ev->category : "-", ev->data),
		RK_OK);
}

/* text as the file name (under the fixture's directory) read by format
 * through ingest_file_events, with the readers' fast paths or without
 * (ingest_options.objects). */
static void read_file(struct fixture *f, enum ingest_format format,
		      const char *name, const char *text, bool objects,
		      struct outcome *o)
{
	struct ingest_options opts = {format, NULL, false, NOW};
	struct ingest_result res;
	struct rk_buf b;
	char *path = NULL;
	FILE *fp;

	opts.objects = objects;
	assert_int_equal(rk_path_join(f->dir, name, &path), RK_OK);
	fp = fopen(path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, strlen(text), fp), strlen(text));
	fclose(fp);
	memset(&res, 0, sizeof(res));
	memset(o, 0, sizeof(*o));
	rk_buf_init(&b, 1u << 24);
	assert_int_equal(rk_buf_addf(&b, "rc=%d ",
				     (int)ingest_file_events(&f->cfg, &f->log,
							     &opts, path,
							     &o->events,
							     &o->nevents,
							     &res)),
			 RK_OK);
	for (size_t i = 0; i < o->nevents; i++)
		describe(&b, &o->events[i]);
	for (size_t i = 0; i < res.nerrors; i++)
		assert_int_equal(rk_buf_addf(&b, "error %lld: %s\n",
					     res.errors[i].line,
					     res.errors[i].reason),
				 RK_OK);
	assert_int_equal(rk_buf_addf(&b, "events=%lld dups=%lld rejected=%lld",
				     res.events, res.duplicates, res.rejected),
			 RK_OK);
	o->fields = res.fields;
	o->text = rk_buf_detach(&b, NULL);
	ingest_result_release(&res);
	free(path);
}

static void outcome_release(struct outcome *o)
{
	store_events_free(o->events, o->nevents);
	free(o->text);
	memset(o, 0, sizeof(*o));
}

/* text read both ways gives the same events and reasons; the fast
 * one's outcome (released by the caller) with its count of records
 * that took the fast path. */
static void same_both_ways(struct fixture *f, enum ingest_format format,
			   const char *name, const char *text,
			   struct outcome *fast)
{
	struct outcome slow;

	read_file(f, format, name, text, false, fast);
	read_file(f, format, name, text, true, &slow);
	assert_int_equal(slow.fields, 0);
	if (getenv("RK_TEST_VERBOSE"))
		fprintf(stderr, "%s\n(fast path: %lld)\n%s\n", text,
			fast->fields, fast->text);
	if (strcmp(fast->text, slow.text) != 0) {
		fprintf(stderr, "%s\nfast:\n%s\nobjects:\n%s\n", text,
			fast->text, slow.text);
		fail();
	}
	outcome_release(&slow);
}

/* One IntelMQ line read both ways: the same outcome, the fast path
 * taken (fast) or not; returns the outcome's text (caller frees). */
static char *line_both_ways(struct fixture *f, const char *line, bool fast)
{
	struct outcome o;
	char *text;

	same_both_ways(f, INGEST_FORMAT_INTELMQ, "x.jsonl", line, &o);
	if (o.fields != (fast ? 1 : 0)) {
		fprintf(stderr, "%s: fast path %s\n", line,
			o.fields ? "taken" : "not taken");
		fail();
	}
	text = o.text;
	o.text = NULL;
	outcome_release(&o);
	return text;
}

#define BASE "\"time.source\":\"2026-11-20T10:15:00Z\"," \
	     "\"classification.type\":\"infected-system\"," \
	     "\"source.ip\":\"192.0.2.1\""

static void test_intelmq_fast_path(void **state)
{
	struct fixture *f = *state;
	static const char *const ordinary[] = {
		"{" BASE "}",
		"{" BASE ",\"feed.name\":\"x\",\"extra.n\":1,\"extra.r\":2.5}",
		/* nested objects flatten to the same names */
		"{\"time\":{\"source\":\"2026-11-20T10:15:00Z\"},"
		"\"classification\":{\"type\":\"scanner\"},"
		"\"source\":{\"ip\":\"2001:DB8::1\",\"port\":\"443\","
		"\"geolocation\":{\"cc\":\"jp\"}}}",
		/* escapes yajl decodes as json_loadb does */
		"{" BASE ",\"comment\":\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\u3042\"}",
		"{" BASE ",\"extra.utf8\":\"\xe6\x97\xa5\xe6\x9c\xac\"}",
		/* unknown names under extra., __type dropped, literals */
		"{\"__type\":\"Event\"," BASE ",\"foo\":true,\"bar\":null,"
		"\"baz\":false,\"extra.e\":{}}",
		/* numbers: negative, exponent, -0, the 64-bit edges */
		"{" BASE ",\"extra.a\":-5,\"extra.b\":1e3,\"extra.c\":-0,"
		"\"extra.d\":9223372036854775807,"
		"\"extra.f\":-9223372036854775808,\"extra.g\":0.1}",
		/* white space around and inside */
		"  { " BASE " , \"extra.x\" : \"y\" }  \r",
		/* rejected by the normalizer, from the fast path's fields */
		"{\"time.source\":\"2026-11-20T10:15:00Z\","
		"\"classification.type\":\"nope\",\"source.ip\":\"192.0.2.1\"}",
		"{\"classification.type\":\"scanner\"}",
		"{" BASE ",\"source.asn\":\"AS-x\"}",
		"{\"time.source\":\"yesterday\",\"classification.type\":\"scanner\","
		"\"source.ip\":\"192.0.2.1\"}",
	};
	static const char *const unusual[] = {
		/* arrays are the builder's */
		"{" BASE ",\"extra.list\":[1,\"a\",{\"b\":[]}]}",
		/* duplicate keys: the parser's reason */
		"{" BASE ",\"extra.x\":1,\"extra.x\":2}",
		/* the same flattened name twice: the normalizer's reason */
		"{" BASE ",\"source\":{\"port\":1},\"source.port\":2}",
		"{" BASE ",\"x\":1,\"extra.x\":2}",
		/* surrogate escapes, form feed, vertical tab */
		"{" BASE ",\"comment\":\"\\ud83d\\ude00\"}",
		"{" BASE ",\"comment\":\"\\udc00\"}",
		"{" BASE ",\f\"comment\":\"x\"}",
		"{" BASE ",\"comment\":\"x\"}\v",
		/* keys flatten rejects */
		"{" BASE ",\"\":1}",
		"{" BASE ",\"a\\u0001b\":1}",
		"{" BASE ",\"a\\u0000b\":1}",
		"{" BASE ",\"comment\":\"a\\u0000b\"}",
		/* numbers out of range */
		"{" BASE ",\"extra.big\":9223372036854775808}",
		"{" BASE ",\"extra.neg\":-9223372036854775809}",
		"{" BASE ",\"extra.huge\":1e400}",
		/* not JSON, not an object, trailing content */
		"{" BASE ",}",
		"{" BASE,
		"true",
		"\"text\"",
		"42",
		"{" BASE "} x",
		"{" BASE "}{}",
		"{\"a\":\"\\x\"}",
	};
	char deep[512], *text;
	size_t p = 0;

	for (size_t i = 0; i < RK_ARRAY_LEN(ordinary); i++)
		free(line_both_ways(f, ordinary[i], true));
	for (size_t i = 0; i < RK_ARRAY_LEN(unusual); i++)
		free(line_both_ways(f, unusual[i], false));
	/* deeper than RK_MAX_JSON_DEPTH: flatten's reason */
	p += (size_t)snprintf(deep + p, sizeof(deep) - p, "{" BASE ",\"a\":");
	for (int d = 0; d < RK_MAX_JSON_DEPTH + 1; d++)
		p += (size_t)snprintf(deep + p, sizeof(deep) - p, "{\"a\":");
	p += (size_t)snprintf(deep + p, sizeof(deep) - p, "1");
	for (int d = 0; d < RK_MAX_JSON_DEPTH + 1; d++)
		p += (size_t)snprintf(deep + p, sizeof(deep) - p, "}");
	snprintf(deep + p, sizeof(deep) - p, "}");
	text = line_both_ways(f, deep, false);
	assert_non_null(strstr(text, "RK_MAX_JSON_DEPTH"));
	free(text);
}

/* More fields than RK_MAX_EVENT_FIELDS: the normalizer's reason, from
 * the builder's object. */
static void test_intelmq_too_many_fields(void **state)
{
	struct fixture *f = *state;
	struct rk_buf b;
	char *text;

	rk_buf_init(&b, 1u << 20);
	assert_int_equal(rk_buf_adds(&b, "{" BASE), RK_OK);
	for (int i = 0; i < RK_MAX_EVENT_FIELDS; i++)
		assert_int_equal(rk_buf_addf(&b, ",\"extra.f%d\":%d", i, i),
				 RK_OK);
	assert_int_equal(rk_buf_adds(&b, "}"), RK_OK);
	text = line_both_ways(f, b.data, false);
	assert_non_null(strstr(text, "RK_MAX_EVENT_FIELDS"));
	free(text);
	rk_buf_release(&b);
}

/* A JSON array of the same records, and lines with bad ones between
 * good ones: the fast path leaves the reader where the builder would. */
static void test_intelmq_array_and_mix(void **state)
{
	struct fixture *f = *state;
	static const char array[] =
		"[\n{" BASE "},\n {" BASE ",\"extra.x\":[1]},\n"
		"{" BASE ",\"extra.y\":\"\\ud83d\\ude00\"} ,{" BASE
		",\"extra.z\":1}\n]\n";
	static const char broken[] = "[{" BASE "},{" BASE ",\"b\":1} {" BASE "}]";
	static const char lines[] =
		"{" BASE "}\n\n{" BASE ",\"a\":1,\"a\":2}\nnot json\n"
		"{" BASE ",\"extra.q\":\"\xc3\xa9\"}\n[]\n{" BASE ",\"b\":2}";
	struct outcome o;

	same_both_ways(f, INGEST_FORMAT_INTELMQ, "x.json", array, &o);
	assert_int_equal(o.nevents, 4);
	assert_int_equal(o.fields, 2);
	outcome_release(&o);
	same_both_ways(f, INGEST_FORMAT_INTELMQ, "x.json", broken, &o);
	assert_int_equal(o.nevents, 2);
	assert_int_equal(o.fields, 2);
	assert_non_null(strstr(o.text, "rejected=1"));
	outcome_release(&o);
	same_both_ways(f, INGEST_FORMAT_INTELMQ, "x.jsonl", lines, &o);
	assert_int_equal(o.nevents, 3);
	assert_int_equal(o.fields, 3);
	assert_non_null(strstr(o.text, "rejected=3"));
	outcome_release(&o);
	/* not UTF-8: the whole file is refused before any record */
	same_both_ways(f, INGEST_FORMAT_INTELMQ, "x.jsonl",
		       "{" BASE ",\"x\":\"\xff\"}", &o);
	assert_int_equal(o.nevents, 0);
	assert_non_null(strstr(o.text, "UTF-8"));
	outcome_release(&o);
}

#define SCAN_HEADER \
	"\"timestamp\",\"ip\",\"port\",\"protocol\",\"hostname\",\"tag\"," \
	"\"asn\",\"geo\",\"severity\""
#define SCAN_FILE "2026-11-20-scan_http-test-asn.csv"

/* Shadowserver rows: queued as fields, the same events and reasons as
 * their objects. */
static void test_shadowserver_fields(void **state)
{
	struct fixture *f = *state;
	static const char csv[] =
		SCAN_HEADER ",\"extra_col\"\n"
		"\"2026-11-20 00:00:00\",\"192.0.2.1\",80,\"tcp\",\"h.example\","
		"\"http\",64500,\"JP\",\"high\",\"x\"\n"
		"\"2026-11-20 00:00:01\",\"192.0.2.2\",81,\"tcp\",,,,\"\",,\n"
		"\"2026-11-20 00:00:02\",\"192.0.2.3\",\"eighty\",\"tcp\",,,,,,\n"
		"\"2026-11-20 00:00:03\",\"999.0.2.3\",80,\"tcp\",,,,,,\n"
		"\"2026-11-20 00:00:04\",\"192.0.2.5\",80\n"
		"\"2026-11-20 00:00:05\",\"2001:db8::5\",443,\"tcp\","
		"\"a,b\",\"q\"\"uote CVE-2026-1234\",64501,\"NL\",\"medium\","
		"\"\xc3\xa9\"\n";
	/* a column whose name the normalizer refuses: the object's reason */
	static const char ctl[] =
		SCAN_HEADER ",\"bad\x01name\"\n"
		"\"2026-11-20 00:00:00\",\"192.0.2.1\",80,\"tcp\",,,,,,\"v\"\n";
	/* an unknown column stored under the name a schema field has
	 * (extra.source.naics): objects, not fields (the later replaces) */
	static const char dup[] =
		SCAN_HEADER ",\"naics\",\"source.naics\"\n"
		"\"2026-11-20 00:00:00\",\"192.0.2.1\",80,\"tcp\",,,,,,1,\"b\"\n";
	struct outcome o;

	same_both_ways(f, INGEST_FORMAT_SHADOWSERVER, SCAN_FILE, csv, &o);
	assert_int_equal(o.nevents, 3);
	assert_int_equal(o.fields, 4); /* 3 events, 1 bad address */
	assert_non_null(strstr(o.text, "rejected=3"));
	outcome_release(&o);
	same_both_ways(f, INGEST_FORMAT_SHADOWSERVER, SCAN_FILE, ctl, &o);
	assert_int_equal(o.fields, 0);
	assert_non_null(strstr(o.text, "control characters"));
	outcome_release(&o);
	same_both_ways(f, INGEST_FORMAT_SHADOWSERVER, SCAN_FILE, dup, &o);
	assert_int_equal(o.nevents, 1);
	assert_int_equal(o.fields, 0);
	outcome_release(&o);
}

/* The normalized time against rk_time_format, across the years the
 * arithmetic covers and beyond them. */
static void test_time_text(void **state)
{
	struct fixture *f = *state;
	static const long long times[] = {
		0, 1, -1, 86399, 86400, -86400, -86401, 951782400 /* 2000-02-29 */,
		951868799, 4107542400LL /* 2100-03-01 */, 1795169700,
		-30610224000LL /* 1000-01-01 */, -30610224001LL,
		253402300799LL /* 9999-12-31T23:59:59 */, -62135596800LL,
		-2208988800LL /* 1900-01-01 */, 1582934400, 13569465600LL};

	f->cfg.ingest.max_skew = (long long)1 << 40;
	for (size_t i = 0; i < RK_ARRAY_LEN(times) + 300; i++) {
		long long t = i < RK_ARRAY_LEN(times)
				      ? times[i]
				      : -30610224000LL +
						(long long)(i - RK_ARRAY_LEN(times)) *
							948016460LL;
		char iso[RK_TIME_TEXT], want[RK_TIME_TEXT + 8], line[512];
		char *text;

		rk_time_format_iso(t, iso);
		rk_time_format(t, 0, want);
		want[10] = 'T';
		memcpy(want + 19, "+00:00", 7);
		snprintf(line, sizeof(line),
			 "{\"time.source\":\"%s\",\"classification.type\":"
			 "\"scanner\",\"source.ip\":\"192.0.2.1\"}",
			 iso);
		text = line_both_ways(f, line, true);
		if (strstr(text, "events=1") && !strstr(text, want)) {
			fprintf(stderr, "%lld: want %s in %s\n", t, want,
				text);
			fail();
		}
		free(text);
	}
}

/* An IPv4 address kept as it came is what rk_addr_format writes. */
static void test_ipv4_text(void **state)
{
	struct fixture *f = *state;
	static const char *const addrs[] = {
		"192.0.2.1", "0.0.0.0", "255.255.255.255", "10.0.0.10",
		"01.2.3.4", "1.2.3.04", "00.0.0.0", "1.2.3", "1.2.3.4.5",
		"256.1.1.1", "1.2.3.400", "1..2.3", "1.2.3.4 ", " 1.2.3.4",
		"::ffff:192.0.2.1", "2001:DB8::1", "2001:db8:0:0:0:0:0:1",
		"0x1.2.3.4", "1.2.3.1234", "99.99.99.99"};

	for (size_t i = 0; i < RK_ARRAY_LEN(addrs); i++) {
		char line[512], addr[RK_ADDR_TEXT], want[256], *text;
		struct rk_addr a;

		snprintf(line, sizeof(line),
			 "{\"time.source\":\"2026-11-20T10:15:00Z\","
			 "\"classification.type\":\"scanner\","
			 "\"source.ip\":\"%s\"}",
			 addrs[i]);
		text = line_both_ways(f, line, true);
		if (rk_addr_parse(addrs[i], &a)) {
			assert_non_null(strstr(text, "is not an IP address"));
		} else {
			rk_addr_format(&a, addr);
			snprintf(want, sizeof(want), " ip=%s ", addr);
			if (!strstr(text, want)) {
				fprintf(stderr, "%s: want%sin %s\n", addrs[i],
					want, text);
				fail();
			}
		}
		free(text);
	}
}

/* Categories remembered per (type, identifier) are rk_config_category's,
 * whatever the order the events come in. */
static void test_categories(void **state)
{
	struct fixture *f = *state;
	static const char *const types[] = {"scanner", "infected-system",
					    "vulnerable-system", "phishing"};
	static const char *const ids[] = {NULL, "open-modbus", "scada-x",
					  "open-memcached", "", "mirai",
					  "a-very-long-identifier-beyond-the-"
					  "memo-of-sixty-four-bytes-modbus-x"};
	struct rk_buf lines, want;
	struct outcome o;

	rk_buf_init(&lines, 1u << 20);
	rk_buf_init(&want, 1u << 20);
	for (int round = 0; round < 3; round++) {
		for (size_t t = 0; t < RK_ARRAY_LEN(types); t++) {
			for (size_t i = 0; i < RK_ARRAY_LEN(ids); i++) {
				assert_int_equal(
					rk_buf_addf(&lines,
						    "{\"time.source\":\"2026-11-20T10:15:00Z\","
						    "\"source.ip\":\"192.0.2.%d\","
						    "\"classification.type\":\"%s\"%s%s%s}\n",
						    round, types[t],
						    ids[i] ? ",\"classification.identifier\":\"" : "",
						    ids[i] ? ids[i] : "", ids[i] ? "\"" : ""),
					RK_OK);
				assert_int_equal(
					rk_buf_addf(&want, "%s|",
						    rk_config_category(&f->cfg, types[t],
								       ids[i])),
					RK_OK);
			}
		}
	}
	same_both_ways(f, INGEST_FORMAT_INTELMQ, "x.jsonl", lines.data, &o);
	assert_int_equal(o.nevents, 3 * RK_ARRAY_LEN(types) * RK_ARRAY_LEN(ids));
	{
		const char *w = want.data;

		for (size_t k = 0; k < o.nevents; k++) {
			const char *bar = strchr(w, '|');
			char one[128];

			snprintf(one, sizeof(one), "%.*s", (int)(bar - w), w);
			assert_string_equal(one, o.events[k].category);
			w = bar + 1;
		}
	}
	outcome_release(&o);
	rk_buf_release(&lines);
	rk_buf_release(&want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_intelmq_fast_path, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_intelmq_too_many_fields,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_intelmq_array_and_mix,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_shadowserver_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_time_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipv4_text, setup, teardown),
		cmocka_unit_test_setup_teardown(test_categories, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
